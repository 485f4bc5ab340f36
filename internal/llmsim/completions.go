package llmsim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

const maxBodyBytes = 32 << 20

// handleCompletions decodes and records a request, then lets the script or
// the simulation answer it.
func (s *Server) handleCompletions(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, readErr := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxBodyBytes))
	req, decodeErr := decodeRequest(body)
	req.Body, req.Header, req.Received = body, r.Header.Clone(), start
	if s.opts.DisableRecording {
		s.rec.begin(nil)
	} else {
		s.rec.begin(&req)
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stopRelease := context.AfterFunc(s.stopCtx, cancel)
	defer stopRelease()

	id := "chatcmpl-sim-" + strconv.FormatUint(s.seq.Add(1), 10)
	w := newStreamWriter(ctx, rw, id, req.Model, start.Unix())
	sum := Summary{Model: req.Model, Stream: req.Stream}
	defer func() {
		sum.Status, sum.Duration = w.status, time.Since(start)
		sum.Cancelled = !w.terminal && !w.hijacked && (w.err != nil || r.Context().Err() != nil)
		if sum.Tokens == 0 {
			sum.Tokens = w.content
		}
		if fn := s.onFinish.Load(); fn != nil {
			(*fn)(sum)
		}
		s.rec.end(sum.Cancelled) // last, so WaitIdle implies every OnFinish ran
	}()

	script := s.script.Load()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(readErr, &tooBig):
		writeAPIError(w, http.StatusRequestEntityTooLarge, "request body too large")
	case readErr != nil:
		writeAPIError(w, http.StatusBadRequest, "cannot read the request body: "+readErr.Error())
	case script != nil:
		sum.Scripted = true
		if decodeErr != nil {
			writeAPIError(w, http.StatusBadRequest, decodeErr.Error())
			return
		}
		(*script)(req, w)
	case decodeErr != nil:
		writeAPIError(w, http.StatusBadRequest, decodeErr.Error())
	case req.Model == "":
		writeAPIError(w, http.StatusBadRequest, "model is required")
	default:
		_, opts, err := ParseModel(req.Model, s.opts)
		if err != nil {
			writeAPIError(w, http.StatusBadRequest, err.Error())
			return
		}
		p := opts.plan()
		sum.Fault = p.fault
		if req.Stream {
			streamReply(w, &req, p)
		} else {
			sum.Tokens = completeReply(w, &req, p)
		}
	}
}

package realtime

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/eventbus"
	"github.com/chatd/chatd/internal/app"
	"github.com/chatd/chatd/internal/ports/fakes"
)

const fuzzSessionID = "00000000-0000-7000-8000-000000000001"

// fuzzSocket is a socket already closing: every frame or close it would
// write stops before melody (socket.send and closeWith check closing
// first), so no connection is needed and the read path runs whole.
func fuzzSocket(userID string) *socket {
	s := &socket{userID: userID, sessionID: fuzzSessionID, lastSeq: -1, limit: 64}
	s.closing.Store(true)
	return s
}

// FuzzInboundFrame runs any text frame through Hub.onMessage, as melody's
// read loop does, on a socket that is a member of a live room (fed by the
// real event bus, snapshots from a Generator over fakes): typing and resume
// reach the room's pump. It must never panic or block.
//
// What onMessage answers cannot be observed: socket.ws is a concrete
// *melody.Session whose zero value panics, so the socket is one already
// closing and its replies are dropped before melody.
func FuzzInboundFrame(f *testing.F) {
	for _, frame := range []string{
		`{"type":"ping"}`,
		`{"type":"typing.start"}`,
		`{"type":"typing.stop","data":{}}`,
		`{"type":"resume","data":{"last_seq":0}}`,
		`{"type":"resume","data":{"last_seq":3}}`,
		`{"type":"resume","data":{"last_seq":-1}}`,
		`{"type":"resume","data":{"last_seq":"1"}}`,
		`{"type":"resume","data":{"last_seq":1.5}}`,
		`{"type":"resume","data":{"last_seq":9223372036854775807}}`,
		`{"type":"resume","data":{"last_seq":9223372036854775808}}`,
		`{"type":"resume","data":null}`,
		`{"type":"resume","data":[]}`,
		`{"type":"resume"}`,
		`{"type":""}`,
		`{"TYPE":"ping"}`,
		`{"type":"ping","type":"resume"}`,
		`{"type":"` + strings.Repeat("é", 30) + `"}`,
		`{"type":"` + strings.Repeat("x", 1000) + `"}`,
		`{"type":"\u0000"}`,
		`{"type":"\ud800"}`,
		`{"type":"ping"} trailing`,
		`[]`, `null`, `"ping"`, `{}`, ``,
		"\xff\xfe",
		`{"type":"typing.start","data":` + strings.Repeat("[", 5000) + `}`,
	} {
		f.Add([]byte(frame))
	}

	store := fakes.NewStore()
	bus := eventbus.New(eventbus.Config{}, time.Now)
	clock := fakes.NewClock(time.Time{})
	gen := app.NewGenerator(fakes.NewChatModel(), store.Messages(), store.Sessions(), bus, &eventbus.Control{}, fakes.NewRateLimiter(), fakes.NewGenerationSlots(),
		store.Stats(), fakes.NewIDs(), clock, slog.New(slog.NewTextHandler(io.Discard, nil)), app.GenerationConfig{})
	hub := NewHub(Config{}, fakes.NewTokenIssuer(clock.Now), app.NewAccess(store.Sessions(), bus, clock, app.GenerationConfig{}), gen, bus, eventbus.SoleProcessPresence{},
		prometheus.NewRegistry(), zap.NewNop())
	anchor := fuzzSocket("anchor")
	hub.rooms.join(fuzzSessionID, anchor, -1)
	f.Cleanup(func() {
		hub.rooms.leave(anchor)
		hub.rooms.wg.Wait()
	})

	f.Fuzz(func(t *testing.T, msg []byte) {
		// The parse onMessage does, on its own.
		var frame inboundFrame
		if err := json.Unmarshal(msg, &frame); err == nil && frame.Type == "resume" {
			var d resumeData
			_ = json.Unmarshal(frame.Data, &d)
		}
		if n := len(truncate(frame.Type, 40)); n > 40 {
			t.Fatalf("truncated type is %d bytes", n)
		}

		// And onMessage itself, on a member of the room.
		sock := fuzzSocket("fuzzer")
		hub.rooms.join(fuzzSessionID, sock, -1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			hub.onMessage(sock, msg)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("onMessage blocked on %q", msg)
		}
		hub.rooms.leave(sock)
	})
}

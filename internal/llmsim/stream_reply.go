package llmsim

import "net/http"

// streamReply plays a plan as an SSE stream.
func streamReply(w *StreamWriter, req *Request, p plan) {
	if code, ok := p.fault.status(); ok {
		writeAPIError(w, code, faultMessage(code))
		return
	}
	w.Open()
	if !waitFirstToken(w, p.ttft, p.keepAlive) {
		return
	}
	pace := newPacer(w.Context(), p.interval)
	defer pace.stop()

	if p.reasoning {
		for _, r := range reasoningChunks {
			if !pace.next() {
				return
			}
			w.reasoningIn(p.reasoningField, r)
		}
	}
	tokens, finish := replyFor(req, p)
	faultAt := -1
	if p.fault.midStream() {
		faultAt = min(p.stallAfter, len(tokens))
	}
	for i, tok := range tokens {
		if i == faultAt {
			break
		}
		if !pace.next() {
			return
		}
		w.Chunk(tok)
		if w.Err() != nil {
			return
		}
	}
	if faultAt >= 0 {
		if pace.next() {
			streamFault(w, p.fault)
		}
		return
	}
	w.Finish(finish)
	if req.IncludeUsage() {
		w.Usage(PromptTokens(req.Messages), w.content+w.reasoning)
	}
	w.Done()
}

// streamFault ends a stream the way the fault says.
func streamFault(w *StreamWriter, f Fault) {
	switch f {
	case FaultErrorChunk:
		w.ErrorChunk(http.StatusBadGateway, faultMessage(http.StatusBadGateway))
		w.Done()
	case FaultEOF:
		w.terminal = true // the handler returns: the body ends without [DONE]
	case FaultStall:
		<-w.Context().Done()
	case FaultReset:
		w.ResetConnection()
	}
}

// replyFor is the tokens to send and the finish_reason, honouring max_tokens.
func replyFor(req *Request, p plan) ([]string, string) {
	tokens := ReplyTokens(req.LastUserMessage(), p.tokens)
	if req.MaxTokens > 0 && req.MaxTokens < len(tokens) {
		return tokens[:req.MaxTokens], "length"
	}
	return tokens, "stop"
}

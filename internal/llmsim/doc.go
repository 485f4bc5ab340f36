// Package llmsim is a small OpenAI-compatible chat-completions server used by
// `make demo`, by chatd's end-to-end tests (as the scripted upstream) and by
// benchmarks. It is a tool: chatd never offers it as a provider.
//
// Routes (only under /v1, like Ollama):
//
//	POST /v1/chat/completions  streaming (SSE) when "stream": true, else one chat.completion object
//	GET  /v1/models            {"object":"list","data":[{"id":"sim-small",...},{"id":"sim-large",...}]}
//
// # The reply
//
// The reply is deterministic: [ReplyTokens] returns the exact content deltas
// and [ExpectedReply] their concatenation. It quotes the first words of the
// last user message, then continues with a fixed paragraph about chatd (cycled
// when more tokens are asked for). A request's max_tokens (or
// max_completion_tokens) below the reply length cuts it, with finish_reason
// "length". With reasoning on, the chunks of [ReasoningChunks] arrive as
// delta.reasoning (or delta.reasoning_content) before any content. The usage
// reports prompt_tokens = [PromptTokens] and completion_tokens = content
// chunks + reasoning chunks sent.
//
// Stream layout: every chunk is `data: {json}` + a blank line, flushed at
// once. The role "assistant" rides on the first delta; the last content delta
// is followed by a chunk with an empty delta and the finish_reason, then a
// usage chunk ("choices": []) when stream_options.include_usage is set, then
// `data: [DONE]`. Response headers are flushed as soon as the request is
// accepted, so time to first token is spent on an open stream, filled with
// ": OPENROUTER PROCESSING" comments when KeepAlive is set.
//
// # Directives in the model name
//
// One running simulator serves many behaviours: the request's model may carry
// directives after '+', each overriding [Options] for that request only:
//
//	sim-small+fault=eof+tokens=50+ttft=100ms+tps=200+stall_after=3+reasoning
//
//	tokens=N            reply length in tokens (0 = empty reply)
//	ttft=DURATION       time to first token (Go duration: 0, 250ms, 2s)
//	tps=N               tokens per second, fractional allowed (0 = as fast as possible)
//	fault=F             500 | 429 | 503 | any 4xx/5xx status | error-chunk | eof | stall | reset | none
//	stall_after=N       content tokens sent before a mid-stream fault (0 = at once)
//	reasoning[=BOOL]    send the reasoning chunks first
//	reasoning_field=F   reasoning (default) | reasoning_content; implies reasoning
//	keepalive=DURATION  comment interval while waiting for the first token (0 = none)
//
// Keys are case-insensitive and '-' may replace '_'. An unknown key or a bad
// value is answered with HTTP 400, so a typo in a test fails loudly. The part
// before the first '+' is the model name; any name is accepted. Answers
// repeat the requested model string unchanged.
//
// # Faults
//
//   - a status (500, 429, 503, ...): that HTTP status with an OpenAI-style JSON
//     error before any streaming; 429 and 503 carry "Retry-After: 1".
//   - error-chunk: after StallAfter tokens, an OpenRouter-style chunk with a
//     top-level {"error":{"code":502,"message":...}} and finish_reason "error",
//     followed by [DONE] (so a client that ignores the error would wrongly see
//     a clean end). Non-streaming: HTTP 200 whose body is that error object.
//   - eof: after StallAfter tokens the response ends cleanly at the HTTP level,
//     without finish_reason and without [DONE].
//   - stall: after StallAfter tokens nothing more is sent; the handler holds
//     the connection until the client goes away (or the Server closes).
//   - reset: after StallAfter tokens the TCP connection is hijacked and reset
//     (SO_LINGER 0, so the peer reads ECONNRESET).
//
// # Tests
//
// Tests usually run httptest.NewServer(sim.Handler()) and close the Server
// before the httptest server, so stalled handlers are released. [Server.Script]
// replaces the built-in behaviour by a function that writes the response with
// a [StreamWriter]. [Server.Requests] records every completion request with
// its headers and raw body; [Server.Active], [Server.Cancelled],
// [Server.WaitIdle] and [Server.WaitCancelled] observe cancellation.
package llmsim

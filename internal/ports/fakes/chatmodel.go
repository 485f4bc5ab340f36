package fakes

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

var _ ports.ChatModel = (*ChatModel)(nil)

// StreamFunc scripts one ChatModel.Stream call.
type StreamFunc func(ctx context.Context, req ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error)

// CompleteFunc scripts one ChatModel.Complete call.
type CompleteFunc func(ctx context.Context, req ports.CompletionRequest) (string, error)

// ChatModel is a scripted model: each call takes the next script queued
// with OnStream/OnComplete, or the default one when the queue is empty. By
// default a call fails as an unreachable provider would, so a call a test did
// not expect is visible. Every request is recorded.
type ChatModel struct {
	mu              sync.Mutex
	streams         []StreamFunc
	completes       []CompleteFunc
	defaultStream   StreamFunc
	defaultComplete CompleteFunc
	models          map[domain.Provider][]ports.ModelInfo
	modelsErr       error
	streamReqs      []ports.CompletionRequest
	completeReqs    []ports.CompletionRequest
}

// ErrUnscripted is what a call without a script fails with.
var ErrUnscripted = domain.Unavailable("provider-unreachable", "the fake model has no script for this call", nil)

// NewChatModel returns a model with no scripts.
func NewChatModel() *ChatModel {
	return &ChatModel{models: map[domain.Provider][]ports.ModelInfo{}}
}

// OnStream queues scripts for the next Stream calls, in order.
func (m *ChatModel) OnStream(fns ...StreamFunc) {
	m.mu.Lock()
	m.streams = append(m.streams, fns...)
	m.mu.Unlock()
}

// SetDefaultStream answers Stream calls once the queue is empty.
func (m *ChatModel) SetDefaultStream(fn StreamFunc) {
	m.mu.Lock()
	m.defaultStream = fn
	m.mu.Unlock()
}

// OnComplete queues scripts for the next Complete calls, in order.
func (m *ChatModel) OnComplete(fns ...CompleteFunc) {
	m.mu.Lock()
	m.completes = append(m.completes, fns...)
	m.mu.Unlock()
}

// SetDefaultComplete answers Complete calls once the queue is empty.
func (m *ChatModel) SetDefaultComplete(fn CompleteFunc) {
	m.mu.Lock()
	m.defaultComplete = fn
	m.mu.Unlock()
}

// SetModels sets what Models answers for a provider; err fails every call.
func (m *ChatModel) SetModels(p domain.Provider, list []ports.ModelInfo, err error) {
	m.mu.Lock()
	m.models[p] = slices.Clone(list)
	m.modelsErr = err
	m.mu.Unlock()
}

// Stream runs the next stream script.
func (m *ChatModel) Stream(ctx context.Context, req ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
	m.mu.Lock()
	m.streamReqs = append(m.streamReqs, cloneRequest(req))
	fn := m.defaultStream
	if len(m.streams) > 0 {
		fn, m.streams = m.streams[0], m.streams[1:]
	}
	m.mu.Unlock()
	if fn == nil {
		return ports.Completion{}, ErrUnscripted
	}
	return fn(ctx, req, onDelta)
}

// Complete runs the next complete script.
func (m *ChatModel) Complete(ctx context.Context, req ports.CompletionRequest) (string, error) {
	m.mu.Lock()
	m.completeReqs = append(m.completeReqs, cloneRequest(req))
	fn := m.defaultComplete
	if len(m.completes) > 0 {
		fn, m.completes = m.completes[0], m.completes[1:]
	}
	m.mu.Unlock()
	if fn == nil {
		return "", ErrUnscripted
	}
	return fn(ctx, req)
}

// Models answers what SetModels said.
func (m *ChatModel) Models(_ context.Context, p domain.Provider) ([]ports.ModelInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.modelsErr != nil {
		return nil, m.modelsErr
	}
	return slices.Clone(m.models[p]), nil
}

// StreamRequests lists the requests Stream received, in order.
func (m *ChatModel) StreamRequests() []ports.CompletionRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.streamReqs)
}

// CompleteRequests lists the requests Complete received, in order.
func (m *ChatModel) CompleteRequests() []ports.CompletionRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.completeReqs)
}

func cloneRequest(r ports.CompletionRequest) ports.CompletionRequest {
	r.FallbackModels = slices.Clone(r.FallbackModels)
	r.Messages = slices.Clone(r.Messages)
	r.Stop = slices.Clone(r.Stop)
	r.Temperature, r.TopP, r.MaxTokens = clonePtr(r.Temperature), clonePtr(r.TopP), clonePtr(r.MaxTokens)
	return r
}

// Reply scripts a stream that sends each piece of text as a delta and then
// finishes with c. Like the real adapter it stops when ctx ends (answering
// the context's cause) or when onDelta fails (answering that error).
func Reply(c ports.Completion, pieces ...string) StreamFunc {
	deltas := make([]ports.Delta, len(pieces))
	for i, p := range pieces {
		deltas[i] = ports.Delta{Content: p}
	}
	return Deltas(c, nil, deltas...)
}

// Deltas scripts a stream of the given deltas that ends with c when err is
// nil, else with err after the deltas (a stream broken mid-way).
func Deltas(c ports.Completion, err error, deltas ...ports.Delta) StreamFunc {
	return func(ctx context.Context, _ ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
		for _, d := range deltas {
			if ctx.Err() != nil {
				return ports.Completion{}, context.Cause(ctx)
			}
			if err := onDelta(d); err != nil {
				return ports.Completion{}, err
			}
		}
		if err != nil {
			return ports.Completion{}, err
		}
		return c, nil
	}
}

// Fail scripts a stream that fails before any text.
func Fail(err error) StreamFunc { return Deltas(ports.Completion{}, err) }

// Stop is a finished completion: finish reason "stop", the given model and
// token counts.
func Stop(model string, promptTokens, completionTokens int) ports.Completion {
	return ports.Completion{FinishReason: "stop", Model: model,
		Usage: ports.Usage{PromptTokens: promptTokens, CompletionTokens: completionTokens}}
}

// Stepper is a stream a test drives one step at a time: the stream waits
// for each delta, and for its end, until the test sends them, or until its
// context ends. Use one Stepper for one Stream call.
type Stepper struct {
	once    sync.Once
	started chan struct{}
	done    chan struct{}
	steps   chan stepperStep
	mu      sync.Mutex
	req     ports.CompletionRequest
	ctxErr  error
}

type stepperStep struct {
	delta *ports.Delta
	c     ports.Completion
	err   error
	ack   chan struct{}
}

// ErrStreamEnded is what Stepper's methods answer once its stream returned.
var ErrStreamEnded = errors.New("fakes: the stepped stream already returned")

// NewStepper returns a stepper waiting for its Stream call.
func NewStepper() *Stepper {
	return &Stepper{started: make(chan struct{}), done: make(chan struct{}), steps: make(chan stepperStep)}
}

// Stream is the StreamFunc to queue on a ChatModel.
func (s *Stepper) Stream(ctx context.Context, req ports.CompletionRequest, onDelta func(ports.Delta) error) (ports.Completion, error) {
	first := false
	s.once.Do(func() { first = true })
	if !first {
		return ports.Completion{}, errors.New("fakes: a Stepper serves one Stream call")
	}
	s.mu.Lock()
	s.req = cloneRequest(req)
	s.mu.Unlock()
	close(s.started)
	defer close(s.done)
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.ctxErr = context.Cause(ctx)
			s.mu.Unlock()
			return ports.Completion{}, context.Cause(ctx)
		case st := <-s.steps:
			if st.delta == nil {
				close(st.ack)
				return st.c, st.err
			}
			err := onDelta(*st.delta)
			close(st.ack)
			if err != nil {
				return ports.Completion{}, err
			}
		}
	}
}

// Started is closed once Stream was called.
func (s *Stepper) Started() <-chan struct{} { return s.started }

// Done is closed once Stream returned.
func (s *Stepper) Done() <-chan struct{} { return s.done }

// Request is what Stream was called with.
func (s *Stepper) Request() ports.CompletionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.req
}

// CancelCause is the cause of the context that ended the stream, if one did.
func (s *Stepper) CancelCause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctxErr
}

// Send delivers d and returns after onDelta handled it, or ErrStreamEnded.
func (s *Stepper) Send(d ports.Delta) error { return s.step(stepperStep{delta: &d}) }

// Text delivers a content delta, as Send.
func (s *Stepper) Text(text string) error { return s.Send(ports.Delta{Content: text}) }

// Finish ends the stream with c, as a provider that finished the reply.
func (s *Stepper) Finish(c ports.Completion) error { return s.step(stepperStep{c: c}) }

// Fail ends the stream with err, as a provider that broke mid-way.
func (s *Stepper) Fail(err error) error { return s.step(stepperStep{err: err}) }

func (s *Stepper) step(st stepperStep) error {
	st.ack = make(chan struct{})
	select {
	case s.steps <- st:
	case <-s.done:
		return ErrStreamEnded
	}
	<-st.ack
	return nil
}

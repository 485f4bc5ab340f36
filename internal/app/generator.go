package app

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Why a generation's context was cancelled, told apart when it ends.
var (
	errCancelledByUser = errors.New("cancelled by a participant")
	errShutdown        = errors.New("server shutting down")
	errSessionDeleted  = errors.New("session deleted")
	errMessageDeleted  = errors.New("message deleted")
	errLeaseLost       = errors.New("another process took the reply over")
	errTurnNotStored   = errors.New("the turn was not stored")
	errStalePrompt     = errors.New("the turn was stored under another parent than the early call assumed")
)

// Generator owns every reply for the life of the process, independent of
// the requests that asked for them: it admits them (limits and slots),
// starts them, flushes their text to storage, cancels them, and on shutdown
// lets them finish within the timeout before storing the rest as interrupted.
type Generator struct {
	model    ports.ChatModel
	messages ports.MessageRepository
	sessions ports.SessionRepository
	events   ports.SessionEvents
	announce *Announcer
	control  ports.ReplyControl
	limiter  ports.RateLimiter
	slots    ports.GenerationSlots
	usage    ports.UsageReader
	ids      ports.IDs
	clock    ports.Clock
	log      *slog.Logger
	cfg      GenerationConfig

	// owner names this process in the leases of the replies it generates.
	owner string

	sessionLocks [sessionLockStripes]sync.Mutex
	branches     *branchCache

	mu       sync.Mutex
	runs     map[string]*run    // by reply id
	held     map[*slot]struct{} // slots reserved and not yet freed
	stopping bool
	wg       sync.WaitGroup

	// root is cancelled when the drain gives up; every run derives from it.
	root       context.Context
	cancelRoot context.CancelCauseFunc
	flusherOff chan struct{}
	flusherEnd chan struct{}
}

// NewGenerator builds the generator; Start and Stop are its lifecycle.
func NewGenerator(model ports.ChatModel, messages ports.MessageRepository, sessions ports.SessionRepository,
	events ports.SessionEvents, control ports.ReplyControl, limiter ports.RateLimiter,
	slots ports.GenerationSlots, usage ports.UsageReader, ids ports.IDs, clock ports.Clock,
	log *slog.Logger, cfg GenerationConfig,
) *Generator {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	root, cancel := context.WithCancelCause(context.Background())
	return &Generator{
		model: model, messages: messages, sessions: sessions, events: events, announce: NewAnnouncer(events, log), control: control,
		limiter: limiter, slots: slots, usage: usage,
		ids: ids, clock: clock, log: log.With("component", "generator"), cfg: cfg, owner: ids.NewID(),
		runs: map[string]*run{}, held: map[*slot]struct{}{}, branches: newBranchCache(),
		root: root, cancelRoot: cancel,
		flusherOff: make(chan struct{}), flusherEnd: make(chan struct{}),
	}
}

// Start repairs replies left generating by processes that died, then starts
// the upkeep loop. It runs before the server accepts requests. Among
// several processes it never touches a reply whose process is alive (that
// one holds a live lease); a sole process knows every unfinished reply is
// left over, whatever its lease says.
func (g *Generator) Start(ctx context.Context) error {
	lapsedBy := g.clock.Now()
	if g.cfg.SoleProcess {
		lapsedBy = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if err := g.repairLapsed(ctx, lapsedBy); err != nil {
		return err
	}
	g.control.HandleCancels(g.cancelRequested)
	go g.upkeepLoop()
	return nil
}

// Stop refuses new generations, lets running ones finish within the
// shutdown timeout, then cancels the rest, which store themselves as
// interrupted with their text.
func (g *Generator) Stop(ctx context.Context) error {
	g.mu.Lock()
	g.stopping = true
	running := len(g.runs)
	g.mu.Unlock()
	if running > 0 {
		g.log.Info("waiting for running replies", "count", running, "timeout", g.cfg.ShutdownTimeout)
	}
	drained := make(chan struct{})
	go func() { g.wg.Wait(); close(drained) }()

	grace := time.NewTimer(g.cfg.ShutdownTimeout)
	defer grace.Stop()
	select {
	case <-drained:
	case <-grace.C:
		g.cancelRoot(errShutdown)
	case <-ctx.Done():
		g.cancelRoot(errShutdown)
	}
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	close(g.flusherOff)
	<-g.flusherEnd
	return err
}

// start runs the job in the background and commits it at once (see
// launch and commit).
func (g *Generator) start(job generationJob, s *slot, created ...*domain.ChatMessage) {
	g.commit(g.launch(job, s, nil), created...)
}

// launch runs the job in the background, holding its slot until the run
// (and the naming of an untitled session) is over. The run may call the
// model at once, but it stores and announces nothing until commit says the
// turn is stored, or drops everything when abandon says it never will be.
func (g *Generator) launch(job generationJob, s *slot, early *earlyPrompt) *run {
	ctx, cancel := g.runContext(job.origin)
	r := &run{job: job, reply: job.reply, slot: s, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		stored: make(chan struct{}), early: early}
	go func() {
		defer s.done()
		final := g.generate(r)
		g.forget(job.reply.ID())
		cancel(nil)
		close(r.done)
		if job.nameAfter && final.Status == domain.StatusCompleted {
			// Naming is extra work: the user's slot is already free, but
			// Stop still waits for it.
			g.nameSession(r, final)
		}
	}()
	return r
}

// runContext carries the values of the request that started a run (its
// trace) without its deadline or cancellation; the run ends when it is
// cancelled itself or when the drain gives up on the root.
func (g *Generator) runContext(origin context.Context) (context.Context, context.CancelCauseFunc) {
	if origin == nil {
		origin = context.Background()
	}
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(origin))
	stop := context.AfterFunc(g.root, func() { cancel(context.Cause(g.root)) })
	return ctx, func(cause error) {
		stop()
		cancel(cause)
	}
}

// commit announces the turn's new messages and lets the run store and
// announce. Announcing and registering happen under the session's lock, so
// a snapshot sees either neither or both.
func (g *Generator) commit(r *run, created ...*domain.ChatMessage) {
	g.inSession(r.job.reply.SessionID(), func() {
		for _, m := range created {
			if m != nil {
				if seq := g.announce.announce(r.ctx, domain.MessageEvent(domain.EventMessageCreated, m)); seq > 0 {
					r.createdSeqs = append(r.createdSeqs, seq)
				}
			}
		}
		g.mu.Lock()
		g.runs[r.job.reply.ID()] = r
		g.mu.Unlock()
	})
	close(r.stored)
}

// abandon drops a launched run whose turn was not stored: its model call
// is cancelled, and it stores and announces nothing.
func (r *run) abandon() {
	r.cancel(errTurnNotStored)
	close(r.stored)
}

// cancelSession stops every reply of a deleted session; their ends are not
// stored, since the session and its messages are gone.
func (g *Generator) cancelSession(sessionID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.runs {
		if r.job.reply.SessionID() == sessionID {
			r.cancel(errSessionDeleted)
		}
	}
}

// dropDeleted stops the replies among deleted messages and announces the
// delete, under the session's lock: a reply that had not published its end
// yet never will, so subscribers see nothing of a message after its delete.
func (g *Generator) dropDeleted(sessionID string, deleted domain.DeletedMessages) {
	g.inSession(sessionID, func() {
		g.mu.Lock()
		for _, id := range deleted.DeletedIDs {
			if r := g.runs[id]; r != nil {
				r.cancel(errMessageDeleted)
			}
		}
		g.mu.Unlock()
		g.announce.PublishFinal(context.Background(), domain.SessionEvent{Type: domain.EventMessageDeleted, SessionID: sessionID, Deleted: &deleted})
	})
}

// forget drops a run from the map; once it has published its end, a
// snapshot must no longer list it as streaming.
func (g *Generator) forget(replyID string) {
	g.mu.Lock()
	delete(g.runs, replyID)
	g.mu.Unlock()
}

// remoteCancelWait is how long a cancel waits for another process to stop
// its reply before storing the cancellation itself.
const remoteCancelWait = 2 * time.Second

// cancelElsewhere asks the process that generates the reply to stop it, and
// returns the reply once stored final, or nil when it is still unfinished
// after remoteCancelWait.
func (g *Generator) cancelElsewhere(ctx context.Context, replyID string) (*domain.ChatMessage, error) {
	if err := g.control.RequestCancel(ctx, replyID); err != nil {
		return nil, domain.Unavailable("cancel-unavailable", "the cancel could not be sent; try again shortly", err)
	}
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	deadline := time.NewTimer(remoteCancelWait)
	defer deadline.Stop()
	for {
		select {
		case <-poll.C:
		case <-deadline.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		m, err := g.messages.Get(ctx, replyID)
		if err != nil || m.Status().IsFinal() {
			return m, err
		}
	}
}

// cancelRequested stops the reply if it generates here: a participant asked
// for it on whichever process they reached.
func (g *Generator) cancelRequested(replyID string) {
	g.mu.Lock()
	r := g.runs[replyID]
	g.mu.Unlock()
	if r != nil {
		r.cancel(errCancelledByUser)
	}
}

// cancel stops a running generation and waits until it has stored itself.
// It reports false when the reply is not generating in this process.
func (g *Generator) cancel(ctx context.Context, replyID string) bool {
	g.mu.Lock()
	r := g.runs[replyID]
	g.mu.Unlock()
	if r == nil {
		return false
	}
	r.cancel(errCancelledByUser)
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	return true
}

// sessionLocks are striped by session id: what must be atomic per session
// (append text + publish its delta; publish the end + forget the run) never
// waits on other sessions' work.
const sessionLockStripes = 64

func (g *Generator) inSession(sessionID string, fn func()) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(sessionID))
	mu := &g.sessionLocks[h.Sum32()%sessionLockStripes]
	mu.Lock()
	defer mu.Unlock()
	fn()
}

func (g *Generator) flushAll() {
	g.mu.Lock()
	runs := make([]*run, 0, len(g.runs))
	for _, r := range g.runs {
		runs = append(runs, r)
	}
	g.mu.Unlock()
	for _, r := range runs {
		g.flushRun(r)
	}
}

// flushRun stores a run's progress unless it has already stored its end;
// the run's save lock keeps a late progress write from overwriting the end.
func (g *Generator) flushRun(r *run) {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	if r.finished {
		return
	}
	snap, deltas, dirty := r.progress(g.clock.Now())
	if !dirty {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), g.cfg.FlushInterval)
	defer cancel()
	err := g.messages.SaveReply(ctx, domain.RehydrateMessage(snap), g.owner, deltas)
	switch {
	case domain.IsKind(err, domain.ErrNotFound):
		// Deleted with its session or its branch: nothing left to keep.
	case lostLease(err):
		// Another process repaired it while this one could not renew:
		// what it stored and announced stands.
		r.cancel(errLeaseLost)
	case err != nil:
		g.log.WarnContext(r.ctx, "flush reply progress", "message_id", snap.ID, "error", err)
		r.markDirty()
	}
}

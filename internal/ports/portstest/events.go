package portstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// ReplayWindow is how many events the implementations given to the suite
// must keep per session for replay: the suite checks both sides of the edge.
const ReplayWindow = 16

// wait bounds every wait for an event; generous, so a loaded CI machine
// does not fail a correct implementation.
const wait = 15 * time.Second

// RunSessionEvents runs every single-instance case, each on a fresh
// instance from open (an empty backend, closed by t.Cleanup, whose replay
// window holds ReplayWindow events).
func RunSessionEvents(t *testing.T, open func(t *testing.T) (ports.SessionEvents, ports.ReplyControl)) {
	for _, c := range eventCases {
		t.Run(c.name, func(t *testing.T) {
			ev, ctl := open(t)
			c.run(newFixture(t, ev, ev, ctl, ctl))
		})
	}
}

// RunSessionEventsShared runs the single-instance cases with events
// published on one instance and read on the other, then the cases that need
// both instances at once. open returns two instances on one fresh backend,
// as two processes of the service would see it.
func RunSessionEventsShared(t *testing.T, open func(t *testing.T) (a, b ports.SessionEvents, ca, cb ports.ReplyControl)) {
	for _, c := range eventCases {
		t.Run("across/"+c.name, func(t *testing.T) {
			a, b, ca, cb := open(t)
			c.run(newFixture(t, a, b, ca, cb))
		})
	}
	for _, c := range sharedCases {
		t.Run("shared/"+c.name, func(t *testing.T) {
			a, b, ca, cb := open(t)
			c.run(newFixture(t, a, b, ca, cb))
		})
	}
}

type eventCase struct {
	name string
	run  func(f *fixture)
}

// fixture publishes on pub and reads on sub, which are one instance in
// RunSessionEvents and two in RunSessionEventsShared.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	pub     ports.SessionEvents
	sub     ports.SessionEvents
	pubCtl  ports.ReplyControl
	subCtl  ports.ReplyControl
	session string // the case's own session; more come from newSession
}

func newFixture(t *testing.T, pub, sub ports.SessionEvents, pubCtl, subCtl ports.ReplyControl) *fixture {
	f := &fixture{t: t, ctx: t.Context(), pub: pub, sub: sub, pubCtl: pubCtl, subCtl: subCtl}
	f.session = f.newSession()
	return f
}

// newSession names a session no other case uses, so cases stay apart even
// when an implementation shares its backend between them.
func (f *fixture) newSession() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		f.t.Fatalf("random session id: %v", err)
	}
	return "sess-" + hex.EncodeToString(b[:])
}

func delta(sessionID string, i int) domain.SessionEvent {
	return domain.SessionEvent{Type: domain.EventMessageDelta, SessionID: sessionID,
		Delta: &domain.MessageDelta{MessageID: "m1", Delta: "token " + strconv.Itoa(i), Index: i}}
}

// publish publishes e on pub and checks that only the seq changed.
func (f *fixture) publish(e domain.SessionEvent) domain.SessionEvent {
	f.t.Helper()
	got, err := f.pub.Publish(f.ctx, e)
	if err != nil {
		f.t.Fatalf("Publish: %v", err)
	}
	want := e
	want.Seq = got.Seq
	if got.Seq <= 0 || !reflect.DeepEqual(got, want) {
		f.t.Fatalf("Publish returned %+v for %+v: want the same event with a positive seq", got, e)
	}
	return got
}

// publishRun publishes n deltas on session and checks each seq is the one
// after the previous.
func (f *fixture) publishRun(session string, n int) []domain.SessionEvent {
	f.t.Helper()
	out := make([]domain.SessionEvent, 0, n)
	for i := range n {
		e := f.publish(delta(session, i))
		if len(out) > 0 && e.Seq != out[len(out)-1].Seq+1 {
			f.t.Fatalf("seq %d after %d: every Publish must add exactly one", e.Seq, out[len(out)-1].Seq)
		}
		out = append(out, e)
	}
	return out
}

func (f *fixture) subscribe(session string, afterSeq int64, buffer int) (ports.Subscription, ports.Resume) {
	f.t.Helper()
	s, res, err := f.sub.Subscribe(f.ctx, session, afterSeq, buffer)
	if err != nil {
		f.t.Fatalf("Subscribe(%s, %d): %v", session, afterSeq, err)
	}
	f.t.Cleanup(s.Close)
	return s, res
}

func (f *fixture) replay(session string, afterSeq int64) ports.Resume {
	f.t.Helper()
	res, err := f.sub.Replay(f.ctx, session, afterSeq)
	if err != nil {
		f.t.Fatalf("Replay(%s, %d): %v", session, afterSeq, err)
	}
	return res
}

func (f *fixture) lastSeq(session string) int64 {
	f.t.Helper()
	seq, err := f.sub.LastSeq(f.ctx, session)
	if err != nil {
		f.t.Fatalf("LastSeq(%s): %v", session, err)
	}
	return seq
}

// next waits for s's next event and fails if s ends first.
func (f *fixture) next(s ports.Subscription) domain.SessionEvent {
	f.t.Helper()
	select {
	case e, ok := <-s.Events():
		if !ok {
			f.t.Fatalf("the subscription ended (err %v) while an event was expected", s.Err())
		}
		return e
	case <-time.After(wait):
		f.t.Fatalf("no event within %s", wait)
	}
	return domain.SessionEvent{}
}

// expect checks that s delivers exactly want next, in order.
func (f *fixture) expect(s ports.Subscription, want []domain.SessionEvent) {
	f.t.Helper()
	for i, w := range want {
		if got := f.next(s); !reflect.DeepEqual(got, w) {
			f.t.Fatalf("event %d of %d: got %+v, want %+v", i, len(want), got, w)
		}
	}
}

// drainToEnd reads s until its channel is closed and returns what it read.
func (f *fixture) drainToEnd(s ports.Subscription) []domain.SessionEvent {
	f.t.Helper()
	var got []domain.SessionEvent
	deadline := time.After(wait)
	for {
		select {
		case e, ok := <-s.Events():
			if !ok {
				return got
			}
			got = append(got, e)
		case <-deadline:
			f.t.Fatalf("the subscription did not end within %s (read %d events)", wait, len(got))
		}
	}
}

func seqsOf(events []domain.SessionEvent) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

func (f *fixture) checkResume(what string, res ports.Resume, complete bool, last int64, backlog []domain.SessionEvent) {
	f.t.Helper()
	if res.Complete != complete || res.LastSeq != last || len(res.Backlog) != len(backlog) ||
		(len(backlog) > 0 && !reflect.DeepEqual(res.Backlog, backlog)) {
		f.t.Fatalf("%s: got complete=%v last=%d backlog %v; want complete=%v last=%d backlog %v",
			what, res.Complete, res.LastSeq, seqsOf(res.Backlog), complete, last, seqsOf(backlog))
	}
}

// recorder collects cancel requests as a ReplyControl handler sees them.
type recorder struct{ ids chan string }

func newRecorder() *recorder { return &recorder{ids: make(chan string, 16)} }

func (r *recorder) handle(replyID string) { r.ids <- replyID }

func (f *fixture) expectCancel(r *recorder, who, want string) {
	f.t.Helper()
	select {
	case got := <-r.ids:
		if got != want {
			f.t.Fatalf("%s handled a cancel of %q, want %q", who, got, want)
		}
	case <-time.After(wait):
		f.t.Fatalf("%s got no cancel request for %q within %s", who, want, wait)
	}
}

var eventCases = []eventCase{
	{"a new session's LastSeq is the seq just before its first event", func(f *fixture) {
		last := f.lastSeq(f.session)
		if e := f.publish(delta(f.session, 0)); e.Seq != last+1 {
			f.t.Fatalf("first event has seq %d after LastSeq %d: a client told %d would see a gap", e.Seq, last, last)
		}
	}},

	{"Recent gives the window's events oldest first, ending at the last seq", func(f *fixture) {
		events, last, err := f.sub.Recent(f.ctx, f.session)
		if err != nil || len(events) != 0 || last != f.lastSeq(f.session) {
			f.t.Fatalf("Recent of a new session: %d events, last %d, %v", len(events), last, err)
		}
		published := f.publishRun(f.session, ReplayWindow+5)
		events, last, err = f.sub.Recent(f.ctx, f.session)
		if err != nil {
			f.t.Fatalf("Recent: %v", err)
		}
		newest := published[len(published)-1]
		if last != newest.Seq || len(events) == 0 || len(events) > ReplayWindow {
			f.t.Fatalf("Recent: %d events, last %d; want 1..%d events up to %d", len(events), last, ReplayWindow, newest.Seq)
		}
		want := published[len(published)-len(events):]
		if !reflect.DeepEqual(events, want) {
			f.t.Fatalf("Recent gave seqs %v, want %v", seqsOf(events), seqsOf(want))
		}
	}},

	{"each Publish adds one to the seq and subscribers get every event in order", func(f *fixture) {
		first := f.publish(delta(f.session, 0))
		s, res := f.subscribe(f.session, -1, 64)
		f.checkResume("Subscribe from now", res, true, first.Seq, nil)
		events := f.publishRun(f.session, 20)
		if events[0].Seq != first.Seq+1 {
			f.t.Fatalf("seq %d after %d", events[0].Seq, first.Seq)
		}
		f.expect(s, events)
		if last := f.lastSeq(f.session); last != events[len(events)-1].Seq {
			f.t.Fatalf("LastSeq %d, want %d", last, events[len(events)-1].Seq)
		}
	}},

	{"a subscriber that came before a session's first event gets it", func(f *fixture) {
		s, res := f.subscribe(f.session, -1, 8)
		f.checkResume("Subscribe to a new session", res, true, res.LastSeq, nil)
		e := f.publish(delta(f.session, 0))
		if e.Seq <= res.LastSeq {
			f.t.Fatalf("the first event has seq %d, not after the subscription's LastSeq %d", e.Seq, res.LastSeq)
		}
		f.expect(s, []domain.SessionEvent{e})
	}},

	{"subscribing from now gets only later events", func(f *fixture) {
		before := f.publishRun(f.session, 3)
		s, res := f.subscribe(f.session, -1, 8)
		f.checkResume("Subscribe from now", res, true, before[2].Seq, nil)
		after := f.publish(delta(f.session, 3))
		f.expect(s, []domain.SessionEvent{after})
	}},

	{"resuming after seq N gives exactly N+1 to the last, then live events", func(f *fixture) {
		events := f.publishRun(f.session, 6)
		last := events[5].Seq
		s, res := f.subscribe(f.session, events[1].Seq, 16)
		f.checkResume("Subscribe after the second event", res, true, last, events[2:])
		live := f.publish(delta(f.session, 6))
		f.expect(s, []domain.SessionEvent{live}) // no backlog event again
		f.checkResume("Replay after the second event", f.replay(f.session, events[1].Seq), true, live.Seq, append(events[2:6:6], live))
		f.checkResume("Replay at the head", f.replay(f.session, live.Seq), true, live.Seq, nil)
		f.checkResume("Replay from now", f.replay(f.session, -1), true, live.Seq, nil)
	}},

	{"resuming before the window asks for a snapshot, at the window's edge it does not", func(f *fixture) {
		events := f.publishRun(f.session, ReplayWindow+4)
		last := events[len(events)-1].Seq
		f.checkResume("Replay of the whole window", f.replay(f.session, last-ReplayWindow), true, last, events[len(events)-ReplayWindow:])
		f.checkResume("Replay from before the window", f.replay(f.session, last-ReplayWindow-1), false, last, nil)
		f.checkResume("Replay of the first event", f.replay(f.session, events[0].Seq), false, last, nil)
		s, res := f.subscribe(f.session, last-ReplayWindow-1, 8)
		f.checkResume("Subscribe from before the window", res, false, last, nil)
		live := f.publish(delta(f.session, len(events)))
		f.expect(s, []domain.SessionEvent{live})
	}},

	{"a seq from the future asks for a snapshot", func(f *fixture) {
		events := f.publishRun(f.session, 2)
		last := events[1].Seq
		f.checkResume("Replay after the next seq", f.replay(f.session, last+1), false, last, nil)
		f.checkResume("Replay far ahead", f.replay(f.session, last+1_000_000), false, last, nil)
		s, res := f.subscribe(f.session, last+1, 8)
		f.checkResume("Subscribe from the future", res, false, last, nil)
		live := f.publish(delta(f.session, 2))
		f.expect(s, []domain.SessionEvent{live})
	}},

	{"signals reach subscribers without a seq, take none and are not replayed", func(f *fixture) {
		first := f.publish(delta(f.session, 0))
		s, _ := f.subscribe(f.session, -1, 8)
		typing := domain.SessionEvent{Type: domain.EventTyping, SessionID: f.session, Seq: 99,
			Typing: &domain.TypingSignal{UserID: "u1", IsTyping: true}}
		presence := domain.SessionEvent{Type: domain.EventPresence, SessionID: f.session,
			Presence: &domain.PresenceSignal{UserID: "u2", Online: true}}
		for _, sig := range []domain.SessionEvent{typing, presence} {
			if err := f.pub.Signal(f.ctx, sig); err != nil {
				f.t.Fatalf("Signal: %v", err)
			}
			want := sig
			want.Seq = 0
			f.expect(s, []domain.SessionEvent{want})
		}
		if last := f.lastSeq(f.session); last != first.Seq {
			f.t.Fatalf("LastSeq %d after signals, want %d", last, first.Seq)
		}
		next := f.publish(delta(f.session, 1))
		if next.Seq != first.Seq+1 {
			f.t.Fatalf("seq %d after signals, want %d", next.Seq, first.Seq+1)
		}
		f.expect(s, []domain.SessionEvent{next})
		f.checkResume("Replay across signals", f.replay(f.session, first.Seq), true, next.Seq, []domain.SessionEvent{next})
	}},

	{"Close ends the session's subscriptions after the events published before it", func(f *fixture) {
		other := f.newSession()
		s1, _ := f.subscribe(f.session, -1, 16)
		s2, _ := f.subscribe(f.session, -1, 16)
		keep, _ := f.subscribe(other, -1, 16)
		events := f.publishRun(f.session, 2)
		deleted := f.publish(domain.SessionEvent{Type: domain.EventSessionDeleted, SessionID: f.session,
			Session: &domain.SessionSnapshot{ID: f.session, Title: "gone"}})
		if err := f.pub.Close(f.ctx, f.session); err != nil {
			f.t.Fatalf("Close: %v", err)
		}
		want := append(events, deleted)
		for i, s := range []ports.Subscription{s1, s2} {
			if got := f.drainToEnd(s); !reflect.DeepEqual(got, want) {
				f.t.Fatalf("subscriber %d read %v before the end, want %v", i, seqsOf(got), seqsOf(want))
			}
			if err := s.Err(); err != nil {
				f.t.Fatalf("subscriber %d ended with %v, want nil after Close", i, err)
			}
		}
		e := f.publish(delta(other, 0))
		f.expect(keep, []domain.SessionEvent{e})
	}},

	{"a subscriber whose buffer overflows is ended as slow, never skipped", func(f *fixture) {
		const buffer = 2
		f.publish(delta(f.session, 0))
		slow, _ := f.subscribe(f.session, -1, buffer)
		fast, _ := f.subscribe(f.session, -1, 32)
		events := f.publishRun(f.session, 8)
		f.expect(fast, events) // every event went by the slow one too
		got := f.drainToEnd(slow)
		if !reflect.DeepEqual(got, events[:buffer]) {
			f.t.Fatalf("the slow subscriber read %v, want the first %d of %v", seqsOf(got), buffer, seqsOf(events))
		}
		if err := slow.Err(); !errors.Is(err, ports.ErrSlowConsumer) {
			f.t.Fatalf("the slow subscriber ended with %v, want ErrSlowConsumer", err)
		}
		slow.Close()
		if err := slow.Err(); !errors.Is(err, ports.ErrSlowConsumer) {
			f.t.Fatalf("Close after the end changed Err to %v", err)
		}
		more := f.publish(delta(f.session, 8))
		f.expect(fast, []domain.SessionEvent{more})
	}},

	{"Subscription.Close ends it with no error and can be called again", func(f *fixture) {
		closed, _ := f.subscribe(f.session, -1, 8)
		open, _ := f.subscribe(f.session, -1, 8)
		closed.Close()
		closed.Close()
		if got := f.drainToEnd(closed); len(got) != 0 {
			f.t.Fatalf("a subscription closed before any event read %v", seqsOf(got))
		}
		if err := closed.Err(); err != nil {
			f.t.Fatalf("Err after Close: %v", err)
		}
		e := f.publish(delta(f.session, 0))
		f.expect(open, []domain.SessionEvent{e})
		closed.Close()
		open.Close()
		open.Close()
		if got := f.drainToEnd(open); len(got) != 0 || open.Err() != nil {
			f.t.Fatalf("after Close: read %v, err %v", seqsOf(got), open.Err())
		}
	}},

	{"sessions are independent", func(f *fixture) {
		other := f.newSession()
		a0 := f.publish(delta(f.session, 0))
		s, _ := f.subscribe(f.session, -1, 8)
		f.publishRun(other, 3)
		a1 := f.publish(delta(f.session, 1))
		if a1.Seq != a0.Seq+1 {
			f.t.Fatalf("another session's events moved this session's seq: %d after %d", a1.Seq, a0.Seq)
		}
		f.expect(s, []domain.SessionEvent{a1})
		f.checkResume("Replay of one session", f.replay(f.session, a0.Seq), true, a1.Seq, []domain.SessionEvent{a1})
		if err := f.pub.Close(f.ctx, other); err != nil {
			f.t.Fatalf("Close(other): %v", err)
		}
		a2 := f.publish(delta(f.session, 2))
		f.expect(s, []domain.SessionEvent{a2})
	}},

	{"concurrent publishers get distinct, gap-free seqs", func(f *fixture) {
		const publishers, each = 4, 25
		first := f.publish(delta(f.session, 0))
		s, _ := f.subscribe(f.session, -1, publishers*each+8)
		bySeq := f.publishConcurrently(f.session, []ports.SessionEvents{f.pub}, publishers, each)
		want := checkGapFree(f, bySeq, first.Seq, publishers*each)
		f.expect(s, want)
	}},

	{"subscribers joining mid-stream get backlog and live events without gap or repeat", func(f *fixture) {
		f.joinMidStream(f.pub)
	}},

	{"RequestCancel reaches the cancel handler", func(f *fixture) {
		r := newRecorder()
		f.subCtl.HandleCancels(r.handle)
		if err := f.pubCtl.RequestCancel(f.ctx, "reply-1"); err != nil {
			f.t.Fatalf("RequestCancel: %v", err)
		}
		f.expectCancel(r, "the handler", "reply-1")
	}},
}

var sharedCases = []eventCase{
	{"publishers on both instances share one seq", func(f *fixture) {
		onA, _ := f.subscribeOn(f.pub, f.session, 32)
		onB, _ := f.subscribe(f.session, -1, 32)
		var events []domain.SessionEvent
		for i := range 10 {
			on := f.pub
			if i%2 == 1 {
				on = f.sub
			}
			e, err := on.Publish(f.ctx, delta(f.session, i))
			if err != nil {
				f.t.Fatalf("Publish: %v", err)
			}
			if len(events) > 0 && e.Seq != events[len(events)-1].Seq+1 {
				f.t.Fatalf("seq %d after %d from the other instance", e.Seq, events[len(events)-1].Seq)
			}
			events = append(events, e)
		}
		f.expect(onA, events)
		f.expect(onB, events)
	}},

	{"concurrent publishers on both instances get distinct, gap-free seqs", func(f *fixture) {
		const publishers, each = 3, 30 // per instance
		first := f.publish(delta(f.session, 0))
		onA, _ := f.subscribeOn(f.pub, f.session, 2*publishers*each+8)
		onB, _ := f.subscribe(f.session, -1, 2*publishers*each+8)
		bySeq := f.publishConcurrently(f.session, []ports.SessionEvents{f.pub, f.sub}, publishers, each)
		want := checkGapFree(f, bySeq, first.Seq, 2*publishers*each)
		f.expect(onA, want)
		f.expect(onB, want)
	}},

	{"Close on one instance ends the subscriptions on both", func(f *fixture) {
		onA, _ := f.subscribeOn(f.pub, f.session, 8)
		onB, _ := f.subscribe(f.session, -1, 8)
		e, err := f.sub.Publish(f.ctx, delta(f.session, 0))
		if err != nil {
			f.t.Fatalf("Publish: %v", err)
		}
		if err := f.pub.Close(f.ctx, f.session); err != nil {
			f.t.Fatalf("Close: %v", err)
		}
		for name, s := range map[string]ports.Subscription{"a": onA, "b": onB} {
			if got := f.drainToEnd(s); !reflect.DeepEqual(got, []domain.SessionEvent{e}) || s.Err() != nil {
				f.t.Fatalf("on %s: read %v, ended with %v; want [%d] then nil", name, seqsOf(got), s.Err(), e.Seq)
			}
		}
	}},

	{"a cancel request reaches every instance", func(f *fixture) {
		ra, rb := newRecorder(), newRecorder()
		f.pubCtl.HandleCancels(ra.handle)
		f.subCtl.HandleCancels(rb.handle)
		for _, req := range []struct {
			ctl ports.ReplyControl
			id  string
		}{{f.pubCtl, "from-a"}, {f.subCtl, "from-b"}} {
			if err := req.ctl.RequestCancel(f.ctx, req.id); err != nil {
				f.t.Fatalf("RequestCancel: %v", err)
			}
			f.expectCancel(ra, "instance a", req.id)
			f.expectCancel(rb, "instance b", req.id)
		}
	}},
}

func (f *fixture) subscribeOn(on ports.SessionEvents, session string, buffer int) (ports.Subscription, ports.Resume) {
	f.t.Helper()
	s, res, err := on.Subscribe(f.ctx, session, -1, buffer)
	if err != nil {
		f.t.Fatalf("Subscribe: %v", err)
	}
	f.t.Cleanup(s.Close)
	return s, res
}

// publishConcurrently runs publishers goroutines on each instance, each
// publishing `each` deltas, and returns what Publish returned, by seq.
func (f *fixture) publishConcurrently(session string, on []ports.SessionEvents, publishers, each int) map[int64]domain.SessionEvent {
	f.t.Helper()
	var (
		mu    sync.Mutex
		bySeq = map[int64]domain.SessionEvent{}
		wg    sync.WaitGroup
		errs  = make(chan error, len(on)*publishers)
		start = make(chan struct{})
	)
	for k, instance := range on {
		for p := range publishers {
			wg.Go(func() {
				<-start
				for i := range each {
					e, err := instance.Publish(f.ctx, delta(session, (k*publishers+p)*each+i))
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					dup, seen := bySeq[e.Seq]
					bySeq[e.Seq] = e
					mu.Unlock()
					if seen {
						errs <- fmt.Errorf("seq %d given twice (%q and %q)", e.Seq, dup.Delta.Delta, e.Delta.Delta)
						return
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		f.t.Fatalf("concurrent Publish: %v", err)
	}
	return bySeq
}

// checkGapFree checks that bySeq holds exactly after+1..after+n and returns
// its events in seq order.
func checkGapFree(f *fixture, bySeq map[int64]domain.SessionEvent, after int64, n int) []domain.SessionEvent {
	f.t.Helper()
	out := make([]domain.SessionEvent, 0, n)
	for seq := after + 1; seq <= after+int64(n); seq++ {
		e, ok := bySeq[seq]
		if !ok {
			f.t.Fatalf("no event got seq %d: seqs after %d are not gap-free", seq, after)
		}
		out = append(out, e)
	}
	if len(bySeq) != n {
		f.t.Fatalf("%d seqs for %d events", len(bySeq), n)
	}
	return out
}

// joinMidStream publishes a stream of events on `on` while subscribers join
// on f.sub, some from now and some a few events back, and checks that each
// one's backlog and live events meet with no gap and no repeat.
func (f *fixture) joinMidStream(on ports.SessionEvents) {
	const total, joiners = 240, 6
	first := f.publish(delta(f.session, 0))
	progress := make(chan struct{}, joiners)
	published := make(chan []domain.SessionEvent, 1)
	failed := make(chan error, 1)
	go func() {
		events := make([]domain.SessionEvent, 0, total)
		for i := range total {
			e, err := on.Publish(f.ctx, delta(f.session, i+1))
			if err != nil {
				failed <- err
				return
			}
			events = append(events, e)
			if (i+1)%(total/(joiners+1)) == 0 && len(progress) < cap(progress) {
				progress <- struct{}{}
			}
		}
		published <- events
	}()

	type joiner struct {
		after int64
		sub   ports.Subscription
		res   ports.Resume
	}
	var joined []joiner
	for j := range joiners {
		select {
		case <-progress:
		case err := <-failed:
			f.t.Fatalf("Publish: %v", err)
		case <-time.After(wait):
			f.t.Fatal("the publisher made no progress")
		}
		after := int64(-1)
		if j%2 == 1 {
			after = max(first.Seq, f.lastSeq(f.session)-3)
		}
		s, res := f.subscribe(f.session, after, total+8)
		joined = append(joined, joiner{after, s, res})
	}
	var events []domain.SessionEvent
	select {
	case events = <-published:
	case err := <-failed:
		f.t.Fatalf("Publish: %v", err)
	case <-time.After(4 * wait):
		f.t.Fatal("the publisher did not finish")
	}
	for i, e := range events {
		if e.Seq != first.Seq+int64(i)+1 {
			f.t.Fatalf("event %d has seq %d, want %d", i, e.Seq, first.Seq+int64(i)+1)
		}
	}
	for _, j := range joined {
		from := j.res.LastSeq // what the subscriber holds before its live events
		if j.after >= 0 && j.res.Complete {
			want := events[j.after-first.Seq : j.res.LastSeq-first.Seq]
			if !slices.Equal(seqsOf(j.res.Backlog), seqsOf(want)) {
				f.t.Fatalf("Subscribe after %d: backlog %v, want %v", j.after, seqsOf(j.res.Backlog), seqsOf(want))
			}
		}
		if from < first.Seq || from > events[len(events)-1].Seq {
			f.t.Fatalf("Subscribe reported LastSeq %d outside the stream %d..%d", from, first.Seq, events[len(events)-1].Seq)
		}
		f.expect(j.sub, events[from-first.Seq:])
	}
}

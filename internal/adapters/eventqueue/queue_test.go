package eventqueue

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatd/chatd/internal/domain"
)

func ev(seq int64) domain.SessionEvent { return domain.SessionEvent{Seq: seq} }

func drain(t *testing.T, q *Queue) []int64 {
	t.Helper()
	var got []int64
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-q.C():
			if !ok {
				return got
			}
			got = append(got, e.Seq)
		case <-timeout:
			t.Fatalf("C was not closed; got %v", got)
		}
	}
}

// A backlog past the channel keeps its order, and End closes C after it.
func TestQueueKeepsOrderPastTheChannel(t *testing.T) {
	defer goleak.VerifyNone(t)
	q := New(1000)
	for i := int64(1); i <= 500; i++ {
		if !q.Push(ev(i)) {
			t.Fatalf("push %d refused below max", i)
		}
	}
	q.End(nil)
	q.Push(ev(501)) // after End: ignored
	got := drain(t, q)
	if len(got) != 500 {
		t.Fatalf("got %d events, want 500", len(got))
	}
	for i, s := range got {
		if s != int64(i+1) {
			t.Fatalf("event %d has seq %d: order lost", i, s)
		}
	}
}

// Push refuses once max events are held, and takes more once read.
func TestQueueRefusesPastMax(t *testing.T) {
	defer goleak.VerifyNone(t)
	q := New(100)
	t.Cleanup(q.Abandon) // no pump outlives a failed check
	for i := int64(1); i <= 100; i++ {
		if !q.Push(ev(i)) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.Push(ev(101)) {
		t.Fatal("push past max accepted")
	}
	<-q.C()
	// The pump may count the event it is moving twice for an instant:
	// room shows up as soon as it has moved it.
	deadline := time.Now().Add(5 * time.Second)
	for !q.Push(ev(101)) {
		if time.Now().After(deadline) {
			q.Abandon()
			t.Fatal("push refused after a read made room")
		}
		time.Sleep(time.Millisecond)
	}
	q.Abandon()
	drain(t, q) // closed without waiting for a reader of the rest
}

// Abandon lets the pump go while events are pending and nobody reads.
func TestQueueAbandonWithPendingEvents(t *testing.T) {
	defer goleak.VerifyNone(t)
	q := New(1000)
	for i := int64(1); i <= 300; i++ {
		q.Push(ev(i))
	}
	q.Abandon()
	q.Abandon()
	drain(t, q)
}

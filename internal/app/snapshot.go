package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Snapshot tells where a session stands: the seq of its newest event and
// the replies generating then, each with exactly the text its delta events
// up to that seq carry, so a client can apply the events after lastSeq
// without missing or doubling text. It is built from what every process
// sees, wherever the replies generate: their stored text, which holds
// their first N deltas (stored only once announced), then the deltas the
// replay window holds from index N on.
//
// Storage is read before the window: whatever it holds was announced
// before the window's newest event, so the two meet without a hole. The
// replies this process generates are taken from their runs instead, under
// the session's lock (where their deltas are published), so a window too
// small to hold their deltas since the last flush loses nothing of them.
func (g *Generator) Snapshot(ctx context.Context, sessionID string) (lastSeq int64, streaming []domain.MessageSnapshot, err error) {
	stored, err := g.messages.Generating(ctx, sessionID)
	if err != nil {
		return 0, nil, err
	}
	var window []domain.SessionEvent
	g.inSession(sessionID, func() {
		if window, lastSeq, err = g.events.Recent(ctx, sessionID); err != nil {
			return
		}
		stored = g.withLocalRuns(sessionID, stored)
	})
	if err != nil {
		return 0, nil, err
	}
	return lastSeq, replayOnto(stored, window), nil
}

// withLocalRuns replaces the stored state of the session's replies that
// generate here by their runs' text and delta count. The caller holds the
// session's lock.
func (g *Generator) withLocalRuns(sessionID string, stored []ports.GeneratingReply) []ports.GeneratingReply {
	g.mu.Lock()
	local := map[string]*run{}
	for id, r := range g.runs {
		if r.job.reply.SessionID() == sessionID {
			local[id] = r
		}
	}
	g.mu.Unlock()
	for i, s := range stored {
		if r := local[s.Message.ID()]; r != nil {
			stored[i] = r.asGenerating()
			delete(local, s.Message.ID())
		}
	}
	for _, r := range local {
		stored = append(stored, r.asGenerating())
	}
	return stored
}

// building is one generating reply's text as the snapshot rebuilds it.
type building struct {
	snap domain.MessageSnapshot
	text []byte
	next int // the index of the next delta the text needs
}

// replayOnto applies the window's events to the stored replies: deltas
// extend them, a reply created in the window joins them, one that ended or
// was deleted in the window leaves them. A delta past a hole (the window
// lost deltas the stored text does not hold) leaves that reply's text as it
// stood before the hole: the reply's final event brings the whole text.
func replayOnto(stored []ports.GeneratingReply, window []domain.SessionEvent) []domain.MessageSnapshot {
	byID := make(map[string]*building, len(stored))
	order := make([]string, 0, len(stored))
	add := func(snap domain.MessageSnapshot, next int) {
		byID[snap.ID] = &building{snap: snap, text: []byte(snap.Content), next: next}
		order = append(order, snap.ID)
	}
	for _, r := range stored {
		add(r.Message.Snapshot(), r.Deltas)
	}
	ended := map[string]bool{}
	for _, e := range window {
		switch {
		case e.Type == domain.EventMessageDelta && e.Delta != nil:
			if b := byID[e.Delta.MessageID]; b != nil && e.Delta.Index == b.next {
				b.text = append(b.text, e.Delta.Delta...)
				b.next++
				if b.snap.Status == domain.StatusPending {
					b.snap.Status = domain.StatusStreaming
				}
			}
		case e.Type == domain.EventMessageDeleted && e.Deleted != nil:
			for _, id := range e.Deleted.DeletedIDs {
				ended[id] = true
			}
		case e.Message == nil:
		case e.Message.Status.IsFinal() && e.Type != domain.EventMessageCreated:
			ended[e.Message.ID] = true
		case e.Type == domain.EventMessageCreated && e.Message.Role == domain.RoleAssistant && byID[e.Message.ID] == nil:
			add(*e.Message, 0)
		}
	}
	out := make([]domain.MessageSnapshot, 0, len(order))
	for _, id := range order {
		if b := byID[id]; !ended[id] {
			b.snap.Content = string(b.text)
			out = append(out, b.snap)
		}
	}
	return out
}

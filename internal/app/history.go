package app

import (
	"context"
	"time"

	"github.com/chatd/chatd/internal/domain"
)

// branchSeqTimeout bounds reading the session's newest seq before a prompt's
// history: the seq only decides whether the branch cache may answer, so a
// slow broker costs a storage read, not the reply's first token.
const branchSeqTimeout = 100 * time.Millisecond

// promptHistory is what a model call's prompt was built from.
type promptHistory struct {
	messages []*domain.ChatMessage // oldest first, ending with the turn answered
	toRoot   bool                  // messages begin at the branch's first message
	readAt   sessionSeq            // read before the messages
}

// sessionSeq is a session's newest seq at some moment, when the broker told it.
type sessionSeq struct {
	seq   int64
	known bool
}

// newestSeq reads the session's newest seq, within branchSeqTimeout.
func (g *Generator) newestSeq(ctx context.Context, sessionID string) sessionSeq {
	ctx, cancel := context.WithTimeout(ctx, branchSeqTimeout)
	defer cancel()
	seq, err := g.events.LastSeq(ctx, sessionID)
	return sessionSeq{seq: seq, known: err == nil}
}

// readBranch returns the n messages of the branch up to and including
// tipID (none for a nil tip), oldest first: from the branch cache when the
// session is still at the seq a reply ending at tipID was generated here
// up to, else from storage. at is the session's seq read before.
func (g *Generator) readBranch(ctx context.Context, sessionID string, tipID *string, n int, at sessionSeq) (promptHistory, error) {
	h := promptHistory{readAt: at}
	if tipID == nil {
		h.toRoot = true
		return h, nil
	}
	if at.known {
		if msgs, ok := g.branches.get(sessionID, *tipID, at.seq, n, g.clock.Now()); ok {
			h.messages, h.toRoot = msgs, len(msgs) < n
			return h, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	msgs, err := g.messages.Ancestors(ctx, *tipID, n)
	if err != nil {
		return promptHistory{}, err
	}
	h.messages, h.toRoot = msgs, len(msgs) < n
	return h, nil
}

// earlyHistory is the prompt's history for a call made before the turn is
// stored: the n-1 messages up to the parent the turn expects, then its
// user message. The session's seq was read before the turn was stored:
// read after, the turn's own created events would already hide the
// branch cached at the parent.
func (g *Generator) earlyHistory(r *run, e *earlyPrompt, n int) (promptHistory, error) {
	h, err := g.readBranch(r.ctx, e.msg.SessionID(), e.parent, n-1, e.seenSeq)
	if err != nil {
		return promptHistory{}, err
	}
	h.messages = append(h.messages, e.msg)
	return h, nil
}

// rememberBranch keeps the run's history and its stored end, announced at
// endSeq, as the branch cache's entry for the session, when every event
// since the history was read was the run's own: its turn's created
// messages, its deltas and its end. Another event in between may have
// changed a message of the history.
func (g *Generator) rememberBranch(r *run, final domain.MessageSnapshot, endSeq int64) {
	p := r.prompt
	if !p.readAt.known || endSeq <= p.readAt.seq {
		return
	}
	own := int64(r.deltaCount()) + 1
	for _, seq := range r.createdSeqs {
		if seq > p.readAt.seq {
			own++
		}
	}
	if endSeq-p.readAt.seq != own {
		return
	}
	msgs := make([]*domain.ChatMessage, 0, len(p.messages)+1)
	msgs = append(append(msgs, p.messages...), domain.RehydrateMessage(final))
	g.branches.put(final.SessionID, cachedBranch{tipID: final.ID, seq: endSeq, storedAt: g.clock.Now(),
		messages: msgs, toRoot: p.toRoot})
}

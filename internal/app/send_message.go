package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// SendMessageCmd posts a message, optionally asking for a reply. Placement
// says where it goes: after the session's current message, or under a
// parent the client named ("edit and resend" names the edited message's
// parent, which starts a new branch).
type SendMessageCmd struct {
	SessionID      string
	Placement      domain.Placement
	Content        string
	Role           domain.MessageRole
	ProcessLLM     bool
	Provider       *domain.Provider
	Model          *string
	IdempotencyKey string
}

// SendResult is what a post created. Replayed is true when an earlier post
// with the same Idempotency-Key created it.
type SendResult struct {
	Message  *domain.ChatMessage
	Reply    *domain.ChatMessage
	Replayed bool
}

// SendMessage stores a posted message. The message is committed before
// anything else happens, so a 2xx always means it is stored.
type SendMessage struct {
	access      *Access
	messages    ports.MessageRepository
	idempotency ports.IdempotencyRepository
	gen         *Generator
	events      *Announcer
	ids         ports.IDs
	clock       ports.Clock
	limits      Limits
}

// NewSendMessage builds the use case.
func NewSendMessage(access *Access, messages ports.MessageRepository, idempotency ports.IdempotencyRepository,
	gen *Generator, events *Announcer, ids ports.IDs, clock ports.Clock, limits Limits,
) *SendMessage {
	return &SendMessage{access: access, messages: messages, idempotency: idempotency, gen: gen, events: events,
		ids: ids, clock: clock, limits: limits}
}

// Handle stores the message, or answers what an earlier identical keyed post created.
func (h *SendMessage) Handle(ctx context.Context, caller Caller, cmd SendMessageCmd) (SendResult, error) {
	session, p, err := h.access.Session(ctx, caller, cmd.SessionID)
	if err != nil {
		return SendResult{}, err
	}
	if err := p.MayPost(); err != nil {
		return SendResult{}, err
	}
	if cmd.IdempotencyKey != "" {
		if err := domain.CheckIdempotencyKey(cmd.IdempotencyKey); err != nil {
			return SendResult{}, err
		}
		if res, found, err := h.replay(ctx, caller, cmd); found || err != nil {
			return res, err
		}
	}
	// The parent is known only inside the transaction that stores the turn.
	msg, err := domain.NewPostedMessage(h.ids.NewID(), cmd.SessionID, caller.UserID, nil, cmd.Role,
		cmd.Content, h.limits.MaxMessageChars, session, h.clock.Now())
	if err != nil {
		return SendResult{}, err
	}
	turn := ports.NewTurn{Message: msg, Placement: cmd.Placement}
	var pending *PendingReply
	if cmd.ProcessLLM {
		if pending, err = h.gen.admit(ctx, caller, session, targetOf(session, cmd.Provider, cmd.Model)); err != nil {
			return SendResult{}, err
		}
		turn.Reply, turn.Lease = pending.Placeholder(), pending.Lease()
		if cmd.IdempotencyKey == "" && !cmd.Placement.Explicit() {
			// The model call overlaps the commit; its deltas wait for it.
			// Only for a post after the session's current message, a
			// parent known to be the session's: an explicit parent is
			// checked by the store, and a refused post must reach no
			// model. Nor for a keyed post, which may be a retry racing its
			// original: the loser would have spent a (paid) call.
			pending.CallEarly(msg, session.CurrentMessageID())
		}
	}
	if cmd.IdempotencyKey != "" {
		turn.Idempotency = &domain.IdempotencyRecord{
			UserID: caller.UserID, Key: cmd.IdempotencyKey, RequestHash: requestHash(cmd),
			UserMessageID: msg.ID(), CreatedAt: h.clock.Now().UTC(),
		}
		if turn.Reply != nil {
			replyID := turn.Reply.ID()
			turn.Idempotency.AssistantMessageID = &replyID
		}
	}
	if err := h.messages.CreateTurn(ctx, turn); err != nil {
		if pending != nil {
			pending.Abandon()
		}
		if de, ok := domain.AsError(err); ok && de.Code == "idempotency-key-exists" {
			// A concurrent retry won the race: answer what it created.
			res, _, rerr := h.replay(ctx, caller, cmd)
			return res, rerr
		}
		return SendResult{}, err
	}
	res := SendResult{Message: msg}
	if pending == nil {
		h.events.Publish(ctx, domain.MessageEvent(domain.EventMessageCreated, msg))
		return res, nil
	}
	// The run owns the placeholder from now on; answer a copy.
	res.Reply = pending.Placeholder().Clone()
	pending.Start(msg)
	return res, nil
}

// replay answers the messages a keyed post created, if the key was used.
func (h *SendMessage) replay(ctx context.Context, caller Caller, cmd SendMessageCmd) (SendResult, bool, error) {
	rec, err := h.idempotency.Get(ctx, caller.UserID, cmd.IdempotencyKey)
	if domain.IsKind(err, domain.ErrNotFound) {
		return SendResult{}, false, nil
	}
	if err != nil {
		return SendResult{}, true, err
	}
	if err := rec.Matches(requestHash(cmd)); err != nil {
		return SendResult{}, true, err
	}
	res := SendResult{Replayed: true}
	if res.Message, err = h.messages.Get(ctx, rec.UserMessageID); err != nil {
		return SendResult{}, true, err
	}
	if rec.AssistantMessageID != nil {
		if res.Reply, err = h.messages.Get(ctx, *rec.AssistantMessageID); err != nil {
			return SendResult{}, true, err
		}
	}
	return res, true, nil
}

// requestHash fingerprints everything that makes two posts the same request.
func requestHash(cmd SendMessageCmd) string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	field(cmd.SessionID)
	switch {
	case !cmd.Placement.Explicit():
		field("current")
	case cmd.Placement.ParentID() == nil:
		field("root")
	default:
		field(*cmd.Placement.ParentID())
	}
	field(string(cmd.Role))
	field(cmd.Content)
	field(strconv.FormatBool(cmd.ProcessLLM))
	if cmd.Provider != nil {
		field(string(*cmd.Provider))
	} else {
		field("-")
	}
	if cmd.Model != nil {
		field(*cmd.Model)
	} else {
		field("-")
	}
	return hex.EncodeToString(h.Sum(nil))
}

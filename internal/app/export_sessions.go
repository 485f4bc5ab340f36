package app

import (
	"context"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// ExportSink receives an export as it is read: a session, its messages in
// time order (every branch), the end of the session.
type ExportSink interface {
	BeginSession(s *domain.ChatSession) error
	Message(m *domain.ChatMessage) error
	EndSession() error
}

// ExportSessions reads sessions out for export, streaming from storage.
type ExportSessions struct {
	access *Access
	reader ports.ExportReader
}

// NewExportSessions builds the use case.
func NewExportSessions(access *Access, reader ports.ExportReader) *ExportSessions {
	return &ExportSessions{access: access, reader: reader}
}

// Session exports one session to any participant who may read it; others
// get NotFound, before anything reaches the sink.
func (h *ExportSessions) Session(ctx context.Context, caller Caller, sessionID string, sink ExportSink) error {
	s, _, err := h.access.Session(ctx, caller, sessionID)
	if err != nil {
		return err
	}
	return h.one(ctx, s, sink)
}

// Owned exports every session the caller owns (not those they only take
// part in), oldest first.
func (h *ExportSessions) Owned(ctx context.Context, caller Caller, sink ExportSink) error {
	return h.reader.OwnedSessions(ctx, caller.UserID, func(s *domain.ChatSession) error {
		return h.one(ctx, s, sink)
	})
}

func (h *ExportSessions) one(ctx context.Context, s *domain.ChatSession, sink ExportSink) error {
	if err := sink.BeginSession(s); err != nil {
		return err
	}
	if err := h.reader.SessionMessages(ctx, s.ID(), sink.Message); err != nil {
		return err
	}
	return sink.EndSession()
}

// Branch returns a session the caller may read and its current branch,
// first message first. It reads the session twice: parent links first
// (small), then only the branch's messages, so a session with many
// branches is never held whole.
func (h *ExportSessions) Branch(ctx context.Context, caller Caller, sessionID string) (*domain.ChatSession, []*domain.ChatMessage, error) {
	s, _, err := h.access.Session(ctx, caller, sessionID)
	if err != nil {
		return nil, nil, err
	}
	cur := s.CurrentMessageID()
	if cur == nil {
		return s, []*domain.ChatMessage{}, nil
	}
	parents := map[string]*string{}
	if err := h.reader.SessionMessages(ctx, s.ID(), func(m *domain.ChatMessage) error {
		parents[m.ID()] = m.ParentID()
		return nil
	}); err != nil {
		return nil, nil, err
	}
	// The path from the current message up to its first message; a parent
	// link that leads nowhere (or loops) ends it.
	var path []string
	at := map[string]int{}
	for id := cur; id != nil; id = parents[*id] {
		if _, known := parents[*id]; !known {
			break
		}
		if _, seen := at[*id]; seen {
			break
		}
		at[*id] = len(path)
		path = append(path, *id)
	}
	branch := make([]*domain.ChatMessage, len(path))
	err = h.reader.SessionMessages(ctx, s.ID(), func(m *domain.ChatMessage) error {
		if i, ok := at[m.ID()]; ok {
			// path runs from the current message up: fill it from the end.
			branch[len(path)-1-i] = m
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// A message deleted between the two reads leaves a hole: close it.
	out := branch[:0]
	for _, m := range branch {
		if m != nil {
			out = append(out, m)
		}
	}
	return s, out, nil
}

package fakes

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Store is the in-memory database behind the fake repositories. Its zero
// value is not usable; call NewStore.
type Store struct {
	mu           sync.Mutex
	users        map[string]*domain.User
	sessions     map[string]domain.SessionSnapshot
	participants map[string]map[string]domain.Participant // session id -> user id
	messages     map[string]domain.MessageSnapshot
	leases       map[string]ports.ReplyLease // by reply id, while it generates
	deltas       map[string]int              // by reply id: delta events its stored text holds
	idempotency  map[idempotencyKey]domain.IdempotencyRecord
	tokens       map[string]domain.RefreshToken

	hookMu sync.Mutex
	fault  func(op string) error
	calls  map[string]int
}

type idempotencyKey struct{ userID, key string }

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		users:        map[string]*domain.User{},
		sessions:     map[string]domain.SessionSnapshot{},
		participants: map[string]map[string]domain.Participant{},
		messages:     map[string]domain.MessageSnapshot{},
		leases:       map[string]ports.ReplyLease{},
		deltas:       map[string]int{},
		idempotency:  map[idempotencyKey]domain.IdempotencyRecord{},
		tokens:       map[string]domain.RefreshToken{},
		calls:        map[string]int{},
	}
}

// Users, Sessions, Messages, Idempotency, RefreshTokens and Stats are the
// store seen through each port.
func (s *Store) Users() *UserRepo                 { return &UserRepo{s: s} }
func (s *Store) Sessions() *SessionRepo           { return &SessionRepo{s: s} }
func (s *Store) Messages() *MessageRepo           { return &MessageRepo{s: s} }
func (s *Store) Idempotency() *IdempotencyRepo    { return &IdempotencyRepo{s: s} }
func (s *Store) RefreshTokens() *RefreshTokenRepo { return &RefreshTokenRepo{s: s} }
func (s *Store) Stats() *StatsRepo                { return &StatsRepo{s: s} }

// SetFault makes every repository call first ask fn, with the operation's
// name ("messages.Save", "sessions.Update", ...): a non-nil answer is
// returned as that call's error and nothing changes. nil removes the fault.
// fn runs without the store's lock and may block (a database that hangs).
func (s *Store) SetFault(fn func(op string) error) {
	s.hookMu.Lock()
	s.fault = fn
	s.hookMu.Unlock()
}

// Calls tells how many times the operation was called, faults included.
func (s *Store) Calls(op string) int {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	return s.calls[op]
}

// enter counts the call, applies a fault and the context, then takes the
// store's lock: on a nil error the caller holds it and must unlock.
func (s *Store) enter(ctx context.Context, op string) error {
	s.hookMu.Lock()
	s.calls[op]++
	fault := s.fault
	s.hookMu.Unlock()
	if fault != nil {
		if err := fault(op); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	s.mu.Lock()
	return nil
}

// Storage keeps times in UTC at millisecond precision (dbTime in the real
// adapter); the fake does the same so tests cannot depend on more.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneSettings(s domain.Settings) domain.Settings {
	return domain.Settings{
		SystemPrompt: clonePtr(s.SystemPrompt), Temperature: clonePtr(s.Temperature), TopP: clonePtr(s.TopP),
		MaxTokens: clonePtr(s.MaxTokens), MaxContextMessages: clonePtr(s.MaxContextMessages),
		Stop: slices.Clone(s.Stop), FallbackModels: slices.Clone(s.FallbackModels),
	}
}

// storedSession is what the sessions table keeps of a session.
func storedSession(s domain.SessionSnapshot) domain.SessionSnapshot {
	s.Settings = cloneSettings(s.Settings)
	s.CreatedAt, s.UpdatedAt = dbTime(s.CreatedAt), dbTime(s.UpdatedAt)
	s.LastMessageAt = dbTimePtr(s.LastMessageAt)
	s.CurrentMessageID = clonePtr(s.CurrentMessageID)
	return s
}

func sessionOut(s domain.SessionSnapshot) *domain.ChatSession {
	return domain.RehydrateSession(storedSession(s))
}

// storedMessage is what the messages table keeps of a message: metadata as
// JSON decodes it (numbers become float64), times at storage precision.
func storedMessage(m domain.MessageSnapshot) (domain.MessageSnapshot, error) {
	if err := checkMessage(m); err != nil {
		return domain.MessageSnapshot{}, err
	}
	meta, err := jsonRoundTrip(m.Metadata)
	if err != nil {
		return domain.MessageSnapshot{}, fmt.Errorf("encode message metadata: %w", err)
	}
	m.Metadata = meta
	m.ParentID, m.ResponseTimeMs = clonePtr(m.ParentID), clonePtr(m.ResponseTimeMs)
	m.TokensUsed, m.ErrorMessage = clonePtr(m.TokensUsed), clonePtr(m.ErrorMessage)
	m.CreatedAt, m.UpdatedAt = dbTime(m.CreatedAt), dbTime(m.UpdatedAt)
	return m, nil
}

func messageOut(m domain.MessageSnapshot) *domain.ChatMessage {
	out, err := storedMessage(m)
	if err != nil {
		// Only valid rows are stored, so reading one back cannot fail.
		panic("fakes: stored message no longer valid: " + err.Error())
	}
	return domain.RehydrateMessage(out)
}

func jsonRoundTrip(meta map[string]any) (map[string]any, error) {
	if meta == nil {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkMessage applies the table's CHECK constraints and what PostgreSQL
// refuses in text columns (NUL, invalid UTF-8), so a row the real database
// would reject is rejected here too.
func checkMessage(m domain.MessageSnapshot) error {
	switch m.Role {
	case domain.RoleUser, domain.RoleAssistant, domain.RoleSystem:
	default:
		return fmt.Errorf("check constraint: message role %q", m.Role)
	}
	switch m.Status {
	case domain.StatusPending, domain.StatusStreaming, domain.StatusCompleted, domain.StatusFailed,
		domain.StatusCancelled, domain.StatusInterrupted:
	default:
		return fmt.Errorf("check constraint: message status %q", m.Status)
	}
	if _, err := domain.ParseProvider(string(m.Provider)); err != nil {
		return fmt.Errorf("check constraint: message provider %q", m.Provider)
	}
	if m.ResponseTimeMs != nil && *m.ResponseTimeMs < 0 {
		return fmt.Errorf("check constraint: response_time_ms %d < 0", *m.ResponseTimeMs)
	}
	if m.TokensUsed != nil && *m.TokensUsed <= 0 {
		return fmt.Errorf("check constraint: tokens_used %d <= 0", *m.TokensUsed)
	}
	texts := []string{m.Content, m.Model}
	if m.ErrorMessage != nil {
		texts = append(texts, *m.ErrorMessage)
	}
	for _, t := range texts {
		if err := checkStoredText(t); err != nil {
			return err
		}
	}
	return nil
}

func checkStoredText(t string) error {
	if !utf8.ValidString(t) {
		return fmt.Errorf("invalid byte sequence for encoding UTF8")
	}
	if strings.IndexByte(t, 0) >= 0 {
		return fmt.Errorf("invalid byte sequence for encoding UTF8: 0x00")
	}
	return nil
}

func isCanonicalID(id string) bool {
	_, ok := domain.ParseID(id)
	return ok
}

// pageOf applies a page the way the real adapter does: a size of zero or
// less means everything.
func pageOf[T any](all []T, number, size int) []T {
	if size <= 0 {
		return all
	}
	off := max(0, (number-1)*size)
	if off >= len(all) {
		return []T{}
	}
	return all[off:min(len(all), off+size)]
}

// Snapshot helpers for tests that look at stored state directly.

// Message returns the stored message, or nil.
func (s *Store) Message(id string) *domain.ChatMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return nil
	}
	return messageOut(m)
}

// MessageCount is how many messages are stored, all sessions together.
func (s *Store) MessageCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages)
}

// SessionMessages lists a session's stored messages oldest first.
func (s *Store) SessionMessages(sessionID string) []*domain.ChatMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*domain.ChatMessage{}
	for _, m := range s.sortedMessagesLocked(sessionID) {
		out = append(out, messageOut(m))
	}
	return out
}

// PutMessage stores a message as it is, outside any use case: a row left
// behind by an earlier process, for instance. Its session must exist.
func (s *Store) PutMessage(m *domain.ChatMessage) error {
	snap, err := storedMessage(m.Snapshot())
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[snap.SessionID]; !ok {
		return domain.NotFound("session")
	}
	s.messages[snap.ID] = snap
	return nil
}

// sortedMessagesLocked lists a session's messages by creation time, id
// breaking ties, as the real adapter orders them.
func (s *Store) sortedMessagesLocked(sessionID string) []domain.MessageSnapshot {
	var out []domain.MessageSnapshot
	for _, m := range s.messages {
		if m.SessionID == sessionID {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b domain.MessageSnapshot) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

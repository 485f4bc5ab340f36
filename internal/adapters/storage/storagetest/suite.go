package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// Run is the storage contract: every rule the ports promise, checked through
// the ports only, against a fresh database from open for each test. Both
// dialects run it unchanged, so parity is tested, not assumed.
func Run(t *testing.T, open func(t *testing.T) *storage.DB) {
	groups := []struct {
		name  string
		tests map[string]func(t *testing.T, f *fixture)
	}{
		{"users", userTests},
		{"sessions", sessionTests},
		{"participants", participantTests},
		{"messages", messageTests},
		{"leases", leaseTests},
		{"tree", treeTests},
		{"search", searchTests},
		{"idempotency", idempotencyTests},
		{"transfer", transferTests},
		{"tokens", tokenTests},
		{"stats", statsTests},
		{"concurrency", concurrencyTests},
		{"failures", failureTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, name := range sortedKeys(g.tests) {
				test := g.tests[name]
				t.Run(name, func(t *testing.T) {
					test(t, newFixture(t, open(t)))
				})
			}
		})
	}
}

// fixture reaches the database through the ports, as the core does.
type fixture struct {
	db       *storage.DB
	users    ports.UserRepository
	sessions ports.SessionRepository
	messages ports.MessageRepository
	idem     ports.IdempotencyRepository
	tokens   ports.RefreshTokenRepository
	stats    ports.StatsReader
	health   ports.HealthChecker
	ctx      context.Context
	// now starts at a time with nanoseconds, to show they are truncated.
	now time.Time
}

func newFixture(t *testing.T, db *storage.DB) *fixture {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &fixture{
		db: db, users: storage.NewUserRepo(db), sessions: storage.NewSessionRepo(db),
		messages: storage.NewMessageRepo(db), idem: storage.NewIdempotencyRepo(db),
		tokens: storage.NewRefreshTokenRepo(db), stats: storage.NewStatsRepo(db), health: db,
		ctx: ctx, now: time.Date(2026, 11, 25, 14, 38, 27, 742_123_456, time.UTC),
	}
}

// tick advances the fixture's clock by d and returns the new time.
func (f *fixture) tick(d time.Duration) time.Time {
	f.now = f.now.Add(d)
	return f.now
}

func newID() string { return uuid.NewString() }

func (f *fixture) user(t *testing.T, email string) *domain.User {
	t.Helper()
	u, err := domain.NewUser(newID(), email, "User "+email, "hash-of-"+email, domain.UserRoleUser, f.tick(time.Second))
	must(t, err)
	must(t, f.users.Create(f.ctx, u))
	return u
}

type sessionOpt func(*domain.NewSessionParams)

func withProvider(p domain.Provider, model string) sessionOpt {
	return func(sp *domain.NewSessionParams) { sp.Provider, sp.Model = p, model }
}

func (f *fixture) session(t *testing.T, owner *domain.User, title string, opts ...sessionOpt) *domain.ChatSession {
	t.Helper()
	p := domain.NewSessionParams{
		ID: newID(), OwnerID: owner.ID(), Title: title, Provider: domain.ProviderLocal, Model: "llama3.2",
		Now: f.tick(time.Second),
	}
	for _, o := range opts {
		o(&p)
	}
	s, err := domain.NewChatSession(p)
	must(t, err)
	must(t, f.sessions.Create(f.ctx, s))
	return s
}

// post stores a user message and, when reply is set, its pending reply.
func (f *fixture) post(t *testing.T, s *domain.ChatSession, author *domain.User, content string, reply bool) (*domain.ChatMessage, *domain.ChatMessage) {
	t.Helper()
	m, err := domain.NewPostedMessage(newID(), s.ID(), author.ID(), nil, domain.RoleUser, content,
		domain.DefaultMaxMessageChars, s, f.tick(time.Second))
	must(t, err)
	turn := ports.NewTurn{Message: m}
	if reply {
		id := m.ID()
		turn.Reply, err = domain.NewReplyPlaceholder(newID(), s.ID(), author.ID(), &id, s.Provider(), s.Model(), f.tick(time.Millisecond))
		must(t, err)
	}
	must(t, f.messages.CreateTurn(f.ctx, turn))
	return m, turn.Reply
}

// stored rebuilds what storage keeps of a message: times in UTC at
// millisecond precision and metadata as JSON decodes it.
func stored(s domain.MessageSnapshot) domain.MessageSnapshot {
	s.CreatedAt = ms(s.CreatedAt)
	s.UpdatedAt = ms(s.UpdatedAt)
	s.Metadata = jsonRoundTrip(s.Metadata)
	return s
}

func storedSession(s domain.SessionSnapshot) domain.SessionSnapshot {
	s.CreatedAt = ms(s.CreatedAt)
	s.UpdatedAt = ms(s.UpdatedAt)
	if s.LastMessageAt != nil {
		v := ms(*s.LastMessageAt)
		s.LastMessageAt = &v
	}
	return s
}

func storedUser(u *domain.User) *domain.User {
	return domain.RehydrateUser(u.ID(), u.Email(), u.DisplayName(), u.PasswordHash(), u.Role(), ms(u.CreatedAt()))
}

func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func msPtr(t time.Time) *time.Time {
	v := ms(t)
	return &v
}

func jsonRoundTrip(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got: %s\nwant: %s", what, show(got), show(want))
	}
}

func show(v any) string {
	if b, err := json.Marshal(v); err == nil && string(b) != "{}" {
		return string(b)
	}
	return fmt.Sprintf("%+v", v)
}

// wantErr checks the kind and code of a domain error.
func wantErr(t *testing.T, err error, kind domain.ErrorKind, code string) {
	t.Helper()
	de, ok := domain.AsError(err)
	if !ok {
		t.Fatalf("want %s error %q, got %v", kind, code, err)
	}
	if de.Kind != kind || (code != "" && de.Code != code) {
		t.Fatalf("want %s error %q, got %s %q (%v)", kind, code, de.Kind, de.Code, err)
	}
}

func ptr[T any](v T) *T { return &v }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

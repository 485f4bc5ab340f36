package storagetest

import (
	"testing"
	"time"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

// say stores one message with the given accounting fields.
func (f *fixture) say(t *testing.T, s *domain.ChatSession, author *domain.User, role domain.MessageRole, provider domain.Provider, model string, tokens, responseMs *int) {
	t.Helper()
	at := f.tick(time.Second)
	m := domain.RehydrateMessage(domain.MessageSnapshot{
		ID: newID(), SessionID: s.ID(), UserID: author.ID(), Role: role, Content: "x", Provider: provider, Model: model,
		TokensUsed: tokens, ResponseTimeMs: responseMs, Status: domain.StatusCompleted, CreatedAt: at, UpdatedAt: at,
	})
	must(t, f.messages.CreateTurn(f.ctx, ports.NewTurn{Message: m}))
}

func roles(user, assistant, system int) map[domain.MessageRole]int {
	return map[domain.MessageRole]int{domain.RoleUser: user, domain.RoleAssistant: assistant, domain.RoleSystem: system}
}

var statsTests = map[string]func(t *testing.T, f *fixture){
	"empty database": func(t *testing.T, f *fixture) {
		for _, who := range []*string{nil, ptr(newID()), ptr("not-a-uuid")} {
			st, err := f.stats.Stats(f.ctx, who)
			must(t, err)
			if len(st.ByModel) != 0 {
				t.Fatalf("by model = %+v, want none", st.ByModel)
			}
			st.ByModel = nil
			equal(t, "stats", st, domain.Stats{MessagesByRole: roles(0, 0, 0)})
		}
	},
	"per owner and for everyone": func(t *testing.T, f *fixture) {
		alice := f.user(t, "alice@example.com")
		bob := f.user(t, "bob@example.com")
		local, router := domain.ProviderLocal, domain.ProviderOpenRouter

		s1 := f.session(t, alice, "local")
		must(t, f.sessions.AddParticipant(f.ctx, domain.Participant{SessionID: s1.ID(), UserID: bob.ID(), Role: domain.ParticipantMember, CreatedAt: f.now}))
		f.say(t, s1, alice, domain.RoleUser, local, "llama3.2", nil, nil)
		f.say(t, s1, alice, domain.RoleAssistant, local, "llama3.2", ptr(100), ptr(1000))
		f.say(t, s1, bob, domain.RoleUser, local, "llama3.2", nil, nil) // bob's message in alice's session counts for alice
		f.say(t, s1, bob, domain.RoleAssistant, local, "llama3.2", ptr(50), ptr(3000))
		f.say(t, s1, alice, domain.RoleSystem, local, "llama3.2", nil, nil)

		s2 := f.session(t, alice, "router", withProvider(router, "openai/gpt-4o"))
		_, err := f.sessions.Update(f.ctx, s2.ID(), func(s *domain.ChatSession) error {
			return s.Apply(domain.SessionPatch{IsActive: ptr(false)}, f.now)
		})
		must(t, err)
		f.say(t, s2, alice, domain.RoleUser, router, "openai/gpt-4o", nil, nil)
		f.say(t, s2, alice, domain.RoleAssistant, router, "openai/gpt-4o", ptr(10), ptr(500))
		f.say(t, s2, alice, domain.RoleAssistant, router, "anthropic/claude", nil, nil) // failed fallback: no tokens, no timing

		s3 := f.session(t, bob, "bob's", withProvider(local, "zeta"))
		f.say(t, s3, bob, domain.RoleUser, local, "zeta", nil, nil)
		f.say(t, s3, bob, domain.RoleAssistant, local, "alpha", ptr(7), ptr(100))

		got, err := f.stats.Stats(f.ctx, ptr(alice.ID()))
		must(t, err)
		equal(t, "alice", got, domain.Stats{
			TotalSessions: 2, ActiveSessions: 1, TotalMessages: 8, MessagesByRole: roles(3, 4, 1),
			TotalTokens: 160, AvgResponseTimeMs: 1500,
			ByModel: []domain.ModelStats{
				{Provider: local, Model: "llama3.2", Messages: 5, Tokens: 150, AvgResponseTimeMs: 2000},
				{Provider: router, Model: "openai/gpt-4o", Messages: 2, Tokens: 10, AvgResponseTimeMs: 500},
				{Provider: router, Model: "anthropic/claude", Messages: 1, Tokens: 0, AvgResponseTimeMs: 0},
			},
		})

		got, err = f.stats.Stats(f.ctx, ptr(bob.ID()))
		must(t, err)
		equal(t, "bob", got, domain.Stats{
			TotalSessions: 1, ActiveSessions: 1, TotalMessages: 2, MessagesByRole: roles(1, 1, 0),
			TotalTokens: 7, AvgResponseTimeMs: 100,
			ByModel: []domain.ModelStats{ // equal counts: by model name
				{Provider: local, Model: "alpha", Messages: 1, Tokens: 7, AvgResponseTimeMs: 100},
				{Provider: local, Model: "zeta", Messages: 1, Tokens: 0, AvgResponseTimeMs: 0},
			},
		})

		got, err = f.stats.Stats(f.ctx, nil)
		must(t, err)
		equal(t, "everyone", got, domain.Stats{
			TotalSessions: 3, ActiveSessions: 2, TotalMessages: 10, MessagesByRole: roles(4, 5, 1),
			TotalTokens: 167, AvgResponseTimeMs: 1150,
			ByModel: []domain.ModelStats{
				{Provider: local, Model: "llama3.2", Messages: 5, Tokens: 150, AvgResponseTimeMs: 2000},
				{Provider: router, Model: "openai/gpt-4o", Messages: 2, Tokens: 10, AvgResponseTimeMs: 500},
				{Provider: local, Model: "alpha", Messages: 1, Tokens: 7, AvgResponseTimeMs: 100},
				{Provider: router, Model: "anthropic/claude", Messages: 1, Tokens: 0, AvgResponseTimeMs: 0},
				{Provider: local, Model: "zeta", Messages: 1, Tokens: 0, AvgResponseTimeMs: 0},
			},
		})
	},
	"averages are exact fractions": func(t *testing.T, f *fixture) {
		u := f.user(t, "u@example.com")
		s := f.session(t, u, "avg")
		for _, ms := range []int{1, 2, 2} {
			f.say(t, s, u, domain.RoleAssistant, domain.ProviderLocal, "llama3.2", ptr(1), ptr(ms))
		}
		got, err := f.stats.Stats(f.ctx, ptr(u.ID()))
		must(t, err)
		equal(t, "avg", got.AvgResponseTimeMs, 5.0/3.0)
		equal(t, "avg by model", got.ByModel[0].AvgResponseTimeMs, 5.0/3.0)
	},
}

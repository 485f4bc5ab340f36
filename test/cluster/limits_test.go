package cluster

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConcurrencyLimitAcrossProcesses: with CHAT_MAX_CONCURRENT_GENERATIONS=1
// a user whose reply is generating on A is refused a second one on B and on
// C exactly as on A (429 problem+json with Retry-After, nothing stored), and
// once the first reply is over the slot is free on every process.
func TestConcurrencyLimitAcrossProcesses(t *testing.T) {
	c := newCluster(t, map[string]string{"CHAT_MAX_CONCURRENT_GENERATIONS": "1"}, "A", "B", "C")
	a, b, cc := c.proc("A"), c.proc("B"), c.proc("C")
	u := newUser(t, a, "dora")
	// The model waits a minute before its first token: the reply holds the
	// user's only slot until the test cancels it.
	sid := u.newSession(a, "sim-small+tokens=5+ttft=60s")
	first := u.post(a, sid, "hold the only slot")
	c.up.mustCallFor("hold the only slot", 30*time.Second)

	var refused []string
	wronglyAccepted := map[string]*chatd{} // reply id -> the process that started it
	for _, p := range []*chatd{a, b, cc} {
		content := "one too many on " + p.name
		res, ans, err := u.tryPost(p, sid, content)
		if err != nil {
			t.Fatalf("second post on %s: %v", p.name, err)
		}
		if ans.status != http.StatusTooManyRequests {
			where := "on the process generating the first reply: is the setting applied?"
			if p != a {
				where = "while the user's only slot is taken on A: the limit must hold for the whole service, not per process"
			}
			t.Errorf("a second generation on %s was answered %d; want 429 %s", p.name, ans.status, where)
			if res.Reply != nil {
				wronglyAccepted[res.Reply.ID] = p
			}
			continue
		}
		refused = append(refused, content)
		if ct := ans.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("the 429 on %s has content type %q, want application/problem+json", p.name, ct)
		}
		if ans.header.Get("Retry-After") == "" {
			t.Errorf("the 429 on %s has no Retry-After", p.name)
		}
	}
	// Limits are checked before anything is stored.
	for _, m := range u.messages(b, sid) {
		for _, content := range refused {
			if m.Content == content {
				t.Errorf("the refused post %q was stored all the same (message %s)", content, m.ID)
			}
		}
	}
	// Replies that should not have started would hold slots of their own:
	// cancel them (where they run), so that what follows is about the
	// first reply's slot.
	for id, p := range wronglyAccepted {
		u.do(p, http.MethodPost, "/api/v1/chat/messages/"+id+"/cancel", nil).expect(t, http.StatusOK)
		u.waitFinished(p, sid, id, 15*time.Second)
	}

	u.do(a, http.MethodPost, "/api/v1/chat/messages/"+first.Reply.ID+"/cancel", nil).expect(t, http.StatusOK)
	u.waitFinished(a, sid, first.Reply.ID, 15*time.Second)
	// The slot is free again, whichever process the next post reaches.
	for _, p := range []*chatd{b, cc} {
		var last *answer
		if _, err := eventually(10*time.Second, func() (bool, string) {
			ans, err := u.try(p, http.MethodPost, "/api/v1/chat/sessions/"+sid+"/messages", map[string]any{
				"content": "the slot is free on " + p.name, "llm_model": simModel(3, 0),
			})
			if err != nil {
				return false, err.Error()
			}
			last = ans
			return ans.status == http.StatusCreated, ans.String()
		}); err != nil {
			t.Errorf("after the first reply was cancelled and stored, a post on %s is still refused: %v", p.name, err)
			continue
		}
		var created posted
		last.decode(t, &created)
		if created.Reply == nil {
			t.Fatalf("the post on %s started no reply", p.name)
		}
		u.waitFinished(p, sid, created.Reply.ID, 30*time.Second)
	}
}

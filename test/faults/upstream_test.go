package faults

import (
	"net/url"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/chatd/chatd/internal/llmsim"
	"github.com/chatd/chatd/test/harness"
)

// toxicRig is chatd whose LOCAL provider is llmsim behind an in-process
// toxiproxy: chatd -> proxy -> llmsim, all on loopback.
type toxicRig struct {
	srv   *harness.Server
	sim   *llmsim.Server
	proxy *toxiproxy.Proxy
	c     *harness.Client
}

// startToxicRig starts the three; toxics (toxiproxy's JSON) are in place
// before the first connection. idle, when set, is CHAT_LLM_IDLE_TIMEOUT.
func startToxicRig(t *testing.T, idle time.Duration, toxics ...string) *toxicRig {
	t.Helper()
	up := harness.StartUpstream(t, llmsim.Options{})
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	proxy := toxiproxy.NewProxy(api, "llm", "127.0.0.1:0", u.Host)
	for _, tox := range toxics {
		if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(tox)); err != nil {
			t.Fatalf("toxic %s: %v", tox, err)
		}
	}
	if err := proxy.Start(); err != nil {
		t.Fatalf("start toxiproxy: %v", err)
	}
	t.Cleanup(proxy.Stop) // after chatd stops, before llmsim closes
	r := startRig(t, idle, "http://"+proxy.Listen+"/v1")
	r.sim, r.proxy = up.Server, proxy
	return r
}

// startRig starts chatd with its LOCAL provider at baseURL.
func startRig(t *testing.T, idle time.Duration, baseURL string) *toxicRig {
	t.Helper()
	cfg := harness.DefaultConfig(t, harness.SQLite)
	cfg.LocalBaseURL = baseURL
	if idle > 0 {
		cfg.LLMIdleTimeout = idle
	}
	srv := harness.Start(t, cfg)
	return &toxicRig{srv: srv, c: srv.NewUser(t)}
}

// add puts a toxic on the live connections (and later ones).
func (r *toxicRig) add(t *testing.T, tox string) {
	t.Helper()
	if _, err := r.proxy.Toxics.AddToxicJson(strings.NewReader(tox)); err != nil {
		t.Fatalf("toxic %s: %v", tox, err)
	}
}

// turn posts prompt in a new session for llmModel and returns the session
// and the 201's messages.
func (r *toxicRig) turn(t *testing.T, llmModel, prompt string) (string, sendResult) {
	t.Helper()
	sid := newSession(t, r.c, llmModel)
	return sid, post(t, r.c, sid, prompt, true)
}

// settle waits for the reply's end and checks what every fault must
// keep: the user message stored, the reply ended (never left streaming)
// with a prefix of what llmsim sent.
func (r *toxicRig) settle(t *testing.T, sid string, res sendResult, prompt string, tokens int) message {
	t.Helper()
	reply := awaitFinal(t, r.c, sid, res.Reply.ID, 30*time.Second)
	ms := listMessages(t, r.c, sid)
	checkUserStored(t, ms, res.User)
	checkEnded(t, reply, prompt, tokens)
	if len(ms) != 2 {
		t.Fatalf("session holds %d messages, want the post and its reply: %v", len(ms), ms)
	}
	return reply
}

// failedWith expects a failed reply that kept some text and whose sentence contains want.
func failedWith(t *testing.T, reply message, prompt string, tokens int, want string) {
	t.Helper()
	full := llmsim.ExpectedReply(prompt, tokens)
	if reply.Status != "failed" || reply.ErrorMessage == nil || !strings.Contains(*reply.ErrorMessage, want) {
		t.Fatalf("reply = %v, want failed with %q", reply, want)
	}
	if reply.Content == "" || len(reply.Content) >= len(full) {
		t.Fatalf("failed reply kept %d of %d bytes, want the partial text: %v", len(reply.Content), len(full), reply)
	}
}

// idleTimeout is CHAT_LLM_IDLE_TIMEOUT in the drip tests: short, yet
// long enough that a busy shared machine does not trip it on its own.
const idleTimeout = 3 * time.Second

// Upstream TCP faults between chatd and the model. Mid-stream faults are
// added once some text is stored, so they hit a reply that is streaming.
func TestUpstreamTCPFaults(t *testing.T) {
	// A reply that streams for 6 s: long enough to break in the middle.
	const slowTokens = 60
	slow := func() string { return model("tokens=60", "tps=10") }

	t.Run("latency", func(t *testing.T) {
		t.Parallel()
		r := startToxicRig(t, 0,
			`{"name":"latency","type":"latency","stream":"downstream","attributes":{"latency":300}}`,
			`{"name":"latency_up","type":"latency","stream":"upstream","attributes":{"latency":100}}`)
		prompt := "Answer through a slow network"
		sid, res := r.turn(t, model("tokens=20"), prompt)
		reply := r.settle(t, sid, res, prompt, 20)
		if reply.Status != "completed" {
			t.Fatalf("reply = %v, want completed", reply)
		}
		if reply.ResponseTimeMS == nil || *reply.ResponseTimeMS < 300 {
			t.Fatalf("response_time_ms = %v through 400 ms of latency: was the toxic in the path?", reply.ResponseTimeMS)
		}
	})

	t.Run("slow drip below the idle timeout", func(t *testing.T) {
		t.Parallel()
		// Each event drips in 16-byte pieces 25 ms apart (about half a
		// second per event), and llmsim sends one a second: the stream is
		// never silent for long, but always for less than the idle timeout.
		r := startToxicRig(t, idleTimeout,
			`{"name":"drip","type":"slicer","stream":"downstream","attributes":{"average_size":16,"size_variation":0,"delay":25000}}`)
		prompt := "Drip the answer slowly"
		llmModel := model("tokens=5", "tps=1")
		sid, res := r.turn(t, llmModel, prompt)
		reply := r.settle(t, sid, res, prompt, 5)
		if reply.Status != "completed" {
			t.Fatalf("reply = %v, want completed", reply)
		}
		if n := replyRequests(r.sim, llmModel); n != 1 {
			t.Fatalf("%d upstream requests, want 1", n)
		}
	})

	t.Run("slow drip above the idle timeout", func(t *testing.T) {
		t.Parallel()
		r := startToxicRig(t, idleTimeout)
		prompt := "Start well, then drip"
		sid, res := r.turn(t, slow(), prompt)
		awaitText(t, r.c, sid, res.Reply.ID)
		// From now on one byte every 10 s: the stream is alive but slower than the idle timeout.
		r.add(t, `{"name":"drip","type":"slicer","stream":"downstream","attributes":{"average_size":1,"size_variation":0,"delay":10000000}}`)
		reply := r.settle(t, sid, res, prompt, slowTokens)
		failedWith(t, reply, prompt, slowTokens, "stopped sending for 3s")
	})

	t.Run("reset mid-stream", func(t *testing.T) {
		t.Parallel()
		// toxiproxy sets SO_LINGER 0 on a connection only when a reset_peer
		// toxic is present as it opens: this one never fires (toxicity 0).
		r := startToxicRig(t, 0,
			`{"name":"linger","type":"reset_peer","stream":"downstream","toxicity":0,"attributes":{"timeout":0}}`)
		prompt := "Start well, then reset"
		sid, res := r.turn(t, slow(), prompt)
		awaitText(t, r.c, sid, res.Reply.ID)
		r.add(t, `{"name":"reset","type":"reset_peer","stream":"downstream","attributes":{"timeout":0}}`)
		reply := r.settle(t, sid, res, prompt, slowTokens)
		failedWith(t, reply, prompt, slowTokens, "broke before the reply was finished")
	})

	t.Run("truncation mid-stream", func(t *testing.T) {
		t.Parallel()
		r := startToxicRig(t, 0)
		prompt := "Start well, then get cut"
		sid, res := r.turn(t, slow(), prompt)
		awaitText(t, r.c, sid, res.Reply.ID)
		// 100 more bytes, then the connection closes cleanly: inside an event, before [DONE].
		r.add(t, `{"name":"cut","type":"limit_data","stream":"downstream","attributes":{"bytes":100}}`)
		reply := r.settle(t, sid, res, prompt, slowTokens)
		// Cut inside a chunk, the body is broken; cut between chunks, the stream just lacks [DONE].
		failedWith(t, reply, prompt, slowTokens, "finished")
	})
}

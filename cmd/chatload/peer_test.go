package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// fakeCentrifugo speaks as much of Centrifugo v6's JSON client protocol and
// server API as the peer scenarios use: connect, subscribe, pushes several
// to a WebSocket message, a ping after each subscribe (which must be
// answered), /api/batch and /api/publish with an API key.
type fakeCentrifugo struct {
	t      *testing.T
	key    string
	mu     sync.Mutex
	subs   map[string][]*fakeConn
	pongs  int
	dropAt int // when > 0, the subscribers miss the publication with this index (0-based)
	pubs   int
}

type fakeConn struct {
	mu   sync.Mutex
	conn *websocket.Conn
}

func (f *fakeCentrifugo) write(c *fakeConn, lines [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.WriteMessage(websocket.TextMessage, bytes.Join(lines, []byte("\n")))
}

func (f *fakeCentrifugo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/connection/websocket":
		f.serveWS(w, r)
	case "/api/batch", "/api/publish":
		f.serveAPI(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeCentrifugo) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &fakeConn{conn: conn}
	defer conn.Close()
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var replies [][]byte
		subscribed := false
		for _, line := range bytes.Split(msg, []byte("\n")) {
			if string(bytes.TrimSpace(line)) == "{}" {
				f.mu.Lock()
				f.pongs++
				f.mu.Unlock()
				continue
			}
			var cmd struct {
				ID        uint32           `json:"id"`
				Connect   *json.RawMessage `json:"connect"`
				Subscribe *struct {
					Channel string `json:"channel"`
				} `json:"subscribe"`
			}
			if err := json.Unmarshal(line, &cmd); err != nil {
				f.t.Errorf("fake centrifugo: bad command %q", line)
				return
			}
			switch {
			case cmd.Connect != nil:
				replies = append(replies, fmt.Appendf(nil, `{"id":%d,"connect":{"client":"c","version":"6.9.1","ping":25,"pong":true}}`, cmd.ID))
			case cmd.Subscribe != nil && strings.HasPrefix(cmd.Subscribe.Channel, "bench:"):
				f.mu.Lock()
				f.subs[cmd.Subscribe.Channel] = append(f.subs[cmd.Subscribe.Channel], c)
				f.mu.Unlock()
				replies = append(replies, fmt.Appendf(nil, `{"id":%d,"subscribe":{}}`, cmd.ID))
				subscribed = true
			case cmd.Subscribe != nil:
				replies = append(replies, fmt.Appendf(nil, `{"id":%d,"error":{"code":103,"message":"permission denied"}}`, cmd.ID))
			}
		}
		if len(replies) > 0 {
			f.write(c, replies)
		}
		if subscribed {
			f.write(c, [][]byte{[]byte("{}")}) // a ping
		}
	}
}

func (f *fakeCentrifugo) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != f.key {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	type publish struct {
		Channel string          `json:"channel"`
		Data    json.RawMessage `json:"data"`
	}
	var pubs []publish
	if r.URL.Path == "/api/publish" {
		var p publish
		_ = json.Unmarshal(body, &p)
		pubs = append(pubs, p)
	} else {
		var b struct {
			Commands []struct {
				Publish *publish `json:"publish"`
			} `json:"commands"`
		}
		_ = json.Unmarshal(body, &b)
		for _, c := range b.Commands {
			pubs = append(pubs, *c.Publish)
		}
	}
	// All of a request's pushes to a subscriber in one WebSocket message.
	f.mu.Lock()
	byChannel := map[string][][]byte{}
	for _, p := range pubs {
		if f.dropAt <= 0 || f.pubs != f.dropAt {
			byChannel[p.Channel] = append(byChannel[p.Channel],
				fmt.Appendf(nil, `{"push":{"channel":%q,"pub":{"data":%s}}}`, p.Channel, p.Data))
		}
		f.pubs++
	}
	subs := map[string][]*fakeConn{}
	for ch := range byChannel {
		subs[ch] = append([]*fakeConn(nil), f.subs[ch]...)
	}
	f.mu.Unlock()
	for ch, lines := range byChannel {
		for _, c := range subs[ch] {
			f.write(c, lines)
		}
	}
	if r.URL.Path == "/api/publish" {
		_, _ = w.Write([]byte(`{}`))
		return
	}
	replies := make([]string, len(pubs))
	for i := range replies {
		replies[i] = `{"publish":{}}`
	}
	_, _ = fmt.Fprintf(w, `{"replies":[%s]}`, strings.Join(replies, ","))
}

func startFakeCentrifugo(t *testing.T) (*fakeCentrifugo, string) {
	f := &fakeCentrifugo{t: t, key: "k", subs: map[string][]*fakeConn{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func TestPeerScenariosAgainstAFakeCentrifugo(t *testing.T) {
	f, url := startFakeCentrifugo(t)
	summary := filepath.Join(t.TempDir(), "results.md")
	common := []string{"-centrifugo", url, "-api-key", "k", "-pid", fmt.Sprint(os.Getpid()), "-summary", summary, "-q", "-timeout", "30s"}
	for _, args := range [][]string{
		{"peer-fanout", "-subs", "5", "-pubs", "250", "-batch", "100"},
		{"peer-fanout", "-label", "peer-fanout-single", "-subs", "3", "-pubs", "20", "-batch", "1"},
		{"peer-idle", "-n", "20", "-channels", "3", "-settle", "50ms"},
	} {
		t.Run(args[0], func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append(args, common...), &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
		})
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| peer-fanout | subscribers with every publication, in order (exact text, indexes, seqs) | 5 of 5 |",
		"| peer-fanout | tokens delivered per second (all subscribers) |",
		"| peer-fanout-single | subscribers with every publication, in order (exact text, indexes, seqs) | 3 of 3 |",
		"| peer-idle | RSS per idle socket |", "| peer-idle | sockets still open after the idle period | 20 of 20 |",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("summary lacks %q:\n%s", want, b)
		}
	}
	f.mu.Lock()
	pongs := f.pongs
	f.mu.Unlock()
	if pongs < 28 {
		t.Errorf("%d pings answered, want one per socket (28)", pongs)
	}
}

func TestPeerFanoutCatchesALostPublication(t *testing.T) {
	f, url := startFakeCentrifugo(t)
	f.dropAt = 7
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"peer-fanout", "-centrifugo", url, "-api-key", "k", "-subs", "2", "-pubs", "30",
		"-batch", "10", "-q", "-timeout", "30s"}, &stdout, &stderr)
	if code != exitLoss || !strings.Contains(stdout.String(), "0 of 2") {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitLoss, stdout.String(), stderr.String())
	}
}

func TestPeerSubscribeRefusedIsAnError(t *testing.T) {
	_, url := startFakeCentrifugo(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"peer-fanout", "-centrifugo", url, "-api-key", "k", "-channel", "private",
		"-subs", "1", "-pubs", "3", "-q", "-timeout", "10s"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "permission denied") {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
}

func TestPublishBodiesKeepOrderAndSize(t *testing.T) {
	frames := replyFrames(peerSessionID, peerMessageID, []string{"a ", "\"quoted\" ", "end"})
	if len(frames) != 4 {
		t.Fatalf("%d frames", len(frames))
	}
	var p frameParser
	var got []string
	for _, f := range frames {
		if err := p.parse(f, func(fr *frame) error {
			got = append(got, fmt.Sprintf("%s/%d/%d/%s%s", fr.typ, fr.seq, fr.index, fr.delta, fr.content))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"message.delta/1/0/a ", "message.delta/2/1/\"quoted\" ", "message.delta/3/2/end", "message.completed/4/0/a \"quoted\" end"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	method, bodies := publishBodies("bench:x", frames, 3)
	if method != "batch" || len(bodies) != 2 || !json.Valid(bodies[0]) || !json.Valid(bodies[1]) {
		t.Fatalf("%s %d %s", method, len(bodies), bodies)
	}
	method, bodies = publishBodies("bench:x", frames, 1)
	if method != "publish" || len(bodies) != 4 || !json.Valid(bodies[3]) {
		t.Fatalf("%s %d", method, len(bodies))
	}
}

package redisbus

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/internal/adapters/redistest"
)

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// redisServer is a redis-server of the test's own, which it may stop and
// start: the shared one is never restarted. It keeps nothing on disk, so a
// restart loses every key, as a crash of a broker without persistence does.
type redisServer struct {
	t    *testing.T
	bin  string
	port int
	url  string
	dir  string
	cmd  *exec.Cmd
	logs bytes.Buffer
}

func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(redistest.EnvRequireRedis) == "1" {
			t.Fatalf("no redis-server to restart but %s=1: %v", redistest.EnvRequireRedis, err)
		}
		t.Skipf("no redis-server to restart (%v)", err)
	}
	port := freePort(t)
	s := &redisServer{t: t, bin: bin, port: port, url: "redis://127.0.0.1:" + strconv.Itoa(port) + "/0", dir: t.TempDir()}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) start() {
	s.t.Helper()
	// Not the test's context: that ends before the cleanups that still
	// use the server; stop kills it.
	cmd := exec.CommandContext(context.Background(), s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	cmd.Stdout, cmd.Stderr = &s.logs, &s.logs
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	opts, _ := redis.ParseURL(s.url)
	opts.MaxRetries = -1
	client := redis.NewClient(opts)
	defer func() { _ = client.Close() }()
	eventually(s.t, "the private redis-server answers", func() bool {
		return client.Ping(context.Background()).Err() == nil
	})
}

// stop kills the server, as a crash would.
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// proxy stands between one bus and Redis, to break that bus's connections
// only: cut closes them and refuses new ones until heal; freezePubSub makes
// the pub/sub ones swallow everything without closing, as a connection
// whose peer vanished without a reset does.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	url    string

	mu       sync.Mutex
	pairs    map[*proxyPair]struct{}
	refusing bool
	wg       sync.WaitGroup
}

type proxyPair struct {
	client, server net.Conn
	pubsub         atomic.Bool // the client subscribed on it
	frozen         atomic.Bool
}

// startProxy proxies to the Redis of redisURL and returns the URL to reach
// it through the proxy.
func startProxy(t *testing.T, redisURL string) *proxy {
	t.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: u.Host, pairs: map[*proxyPair]struct{}{}}
	u.Host = ln.Addr().String()
	p.url = u.String()
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refusing := p.refusing
		p.mu.Unlock()
		if refusing {
			_ = c.Close()
			continue
		}
		s, err := new(net.Dialer).DialContext(context.Background(), "tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		pair := &proxyPair{client: c, server: s}
		p.mu.Lock()
		p.pairs[pair] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pump(pair, c, s, true) })
		p.wg.Go(func() { p.pump(pair, s, c, false) })
	}
}

func (p *proxy) pump(pair *proxyPair, from, to net.Conn, fromClient bool) {
	defer func() {
		_ = pair.client.Close()
		_ = pair.server.Close()
		p.mu.Lock()
		delete(p.pairs, pair)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 && fromClient && bytes.Contains(bytes.ToLower(buf[:n]), []byte("subscribe")) {
			pair.pubsub.Store(true)
		}
		if n > 0 && !pair.frozen.Load() {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // either side hung up, or the test closed them
		}
	}
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pair := range p.pairs {
		_ = pair.client.Close()
		_ = pair.server.Close()
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	p.refusing = true
	p.mu.Unlock()
	p.closeAll()
}

func (p *proxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing = false
}

// freezePubSub black-holes the pub/sub connections there are now and
// returns how many.
func (p *proxy) freezePubSub() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for pair := range p.pairs {
		if pair.pubsub.Load() {
			pair.frozen.Store(true)
			n++
		}
	}
	return n
}

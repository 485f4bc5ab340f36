package storage_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/adapters/storage"
	"github.com/chatd/chatd/internal/adapters/storage/storagetest"
	"github.com/chatd/chatd/internal/domain"
)

// A frozen PostgreSQL (SIGSTOP, a silent network) keeps its sockets open and
// answers nothing. Requests must still fail within their deadline with
// storage-unavailable, and the pool must recover when the server does.
func TestFrozenPostgresAnswersWithinDeadline(t *testing.T) {
	direct := storagetest.FreshPostgresURL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFreezableProxy(t, u.Host)
	u.Host = proxy.addr()

	ctx := context.Background()
	db, err := storage.Open(ctx, storage.Config{URL: u.String()}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	users := storage.NewUserRepo(db)
	sessions := storage.NewSessionRepo(db)
	membership := func(ctx context.Context) error {
		_, _, err := sessions.Membership(ctx, "01a23d13-e948-7e30-b6e1-121c967d104c", "3f0c7d52-8a44-4c55-9d7e-0d1f6f3e2a10")
		return err
	}
	// Prepared before the freeze, so the frozen call runs a statement the
	// connection already holds (the path a busy server takes).
	if err := membership(ctx); !domain.IsKind(err, domain.ErrNotFound) {
		t.Fatalf("membership before the freeze: want not found, got %v", err)
	}

	proxy.freeze()
	// In order: the prepared read first, while the pool still holds the
	// connection its statement was prepared on.
	for _, probe := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"prepared read", membership},
		{"ping", db.Ping},
		{"read", func(ctx context.Context) error {
			_, err := users.GetByEmail(ctx, "a@example.com")
			return err
		}},
		{"write", func(ctx context.Context) error {
			u, err := domain.NewUser("3f0c7d52-8a44-4c55-9d7e-0d1f6f3e2a10", "a@example.com", "A", "h", domain.UserRoleUser, time.Now())
			if err != nil {
				return err
			}
			return users.Create(ctx, u)
		}},
	} {
		// Twice: the second call needs a new connection, whose handshake hangs too.
		for range 2 {
			cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			start := time.Now()
			err := probe.call(cctx)
			cancel()
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("%s took %v against a frozen server", probe.name, took)
			}
			if !domain.IsKind(err, domain.ErrUnavailable) {
				t.Fatalf("%s: want storage-unavailable, got %v", probe.name, err)
			}
		}
	}

	proxy.thaw()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.Ping(rctx); err != nil {
		t.Fatalf("no recovery after the server came back: %v", err)
	}
	if _, err := users.GetByEmail(rctx, "a@example.com"); err != nil && !domain.IsKind(err, domain.ErrNotFound) {
		t.Fatalf("read after recovery: %v", err)
	}
}

// freezableProxy forwards TCP to a server; frozen, it accepts connections and
// reads bytes but forwards nothing, as a stopped process behind a live kernel would.
type freezableProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	frozen bool
	thawed chan struct{}
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newFreezableProxy(t *testing.T, target string) *freezableProxy {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezableProxy{ln: ln, target: target, thawed: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *freezableProxy) addr() string { return p.ln.Addr().String() }

func (p *freezableProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(s, c) })
		p.wg.Go(func() { p.pipe(c, s) })
	}
}

func (p *freezableProxy) pipe(dst, src net.Conn) {
	defer func() { _ = dst.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.waitThawed()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = src.Close()
			}
			return
		}
	}
}

func (p *freezableProxy) waitThawed() {
	p.mu.Lock()
	frozen, ch := p.frozen, p.thawed
	p.mu.Unlock()
	if frozen {
		<-ch
	}
}

func (p *freezableProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.frozen {
		p.frozen, p.thawed = true, make(chan struct{})
	}
}

func (p *freezableProxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		p.frozen = false
		close(p.thawed)
	}
}

func (p *freezableProxy) close() {
	p.thaw()
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

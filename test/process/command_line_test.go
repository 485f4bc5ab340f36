package process

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/test/harness"
)

// readmeSetting is one row of the README's settings table.
type readmeSetting struct {
	env string
	def string // the first code span of the default column; "" when none
}

// readmeSettings parses the table of the README's "Settings" section.
func readmeSettings(t *testing.T) []readmeSetting {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	row := regexp.MustCompile("^\\|\\s*`(CHAT_[A-Z0-9_]+)`\\s*\\|([^|]*)\\|")
	code := regexp.MustCompile("`([^`]*)`")
	var out []readmeSetting
	inSection := false
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inSection = strings.TrimSpace(strings.TrimPrefix(line, "## ")) == "Settings"
			continue
		}
		if !inSection {
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil {
			s := readmeSetting{env: m[1]}
			def := strings.TrimSpace(m[2])
			if c := code.FindStringSubmatch(def); c != nil && strings.HasPrefix(def, "`") {
				s.def = c[1]
			} else if strings.HasPrefix(def, "empty") {
				s.def = "(empty)"
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatal("the README has no settings table under \"## Settings\"")
	}
	return out
}

// helpSettings parses `chatd --help`: each setting's variable and default.
func helpSettings(t *testing.T, help string) map[string]string {
	t.Helper()
	head := regexp.MustCompile(`^\s+--([a-z0-9-]+) / (CHAT_[A-Z0-9_]+)\s*$`)
	def := regexp.MustCompile(`\(default (.*?)\)(;|$)`)
	out := map[string]string{}
	lines := strings.Split(help, "\n")
	for i, line := range lines {
		m := head.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if want := strings.ToLower(strings.ReplaceAll(m[2], "_", "-")); m[1] != want {
			t.Errorf("--help pairs --%s with %s; the flag should be --%s", m[1], m[2], want)
		}
		out[m[2]] = ""
		if i+1 < len(lines) {
			if d := def.FindStringSubmatch(lines[i+1]); d != nil {
				out[m[2]] = d[1]
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no settings found in --help:\n%s", help)
	}
	return out
}

func TestCommandLine(t *testing.T) {
	t.Run("--help lists every setting of the README, and the README every setting of --help", func(t *testing.T) {
		d := newDeployment(t, "")
		p, code := d.run("chatd --help", "", nil, "--help")
		if code != 0 {
			t.Fatalf("chatd --help exited %d, want 0", code)
		}
		help := helpSettings(t, p.stdout.String())
		readme := readmeSettings(t)
		inReadme := map[string]bool{}
		for _, s := range readme {
			inReadme[s.env] = true
			got, ok := help[s.env]
			if !ok {
				t.Errorf("the README documents %s, but chatd --help does not list it", s.env)
				continue
			}
			if s.def != "" && got != s.def {
				t.Errorf("%s: the README says the default is %q, chatd --help says %q", s.env, s.def, got)
			}
		}
		var undocumented []string
		for env := range help {
			if !inReadme[env] {
				undocumented = append(undocumented, env)
			}
		}
		sort.Strings(undocumented)
		if len(undocumented) > 0 {
			t.Errorf("chatd --help lists %d settings that README.md's Settings table does not document "+
				"(CONTRACT.md: \"each is documented in the README and chatd --help\"): %s",
				len(undocumented), strings.Join(undocumented, ", "))
		}
	})

	t.Run("a bad value exits 2 naming the variable", func(t *testing.T) {
		d := newDeployment(t, "")
		for _, c := range []struct {
			name  string
			env   map[string]string
			args  []string
			named []string
		}{
			{name: "CHAT_RATE_LIMIT_API=abc", env: map[string]string{"CHAT_RATE_LIMIT_API": "abc"}, named: []string{"CHAT_RATE_LIMIT_API"}},
			{name: "CHAT_LOG_LEVEL=loud", env: map[string]string{"CHAT_LOG_LEVEL": "loud"}, named: []string{"CHAT_LOG_LEVEL"}},
			{name: "both at once", env: map[string]string{"CHAT_RATE_LIMIT_API": "abc", "CHAT_LOG_LEVEL": "loud"},
				named: []string{"CHAT_RATE_LIMIT_API", "CHAT_LOG_LEVEL"}},
			{name: "--chat-log-level=loud", args: []string{"--chat-log-level=loud"}, named: []string{"CHAT_LOG_LEVEL"}},
			{name: "CHAT_SHUTDOWN_TIMEOUT=soon", env: map[string]string{"CHAT_SHUTDOWN_TIMEOUT": "soon"}, named: []string{"CHAT_SHUTDOWN_TIMEOUT"}},
		} {
			env := map[string]string{"CHAT_HTTP_ADDR": harness.FreeAddr(t)} // should it start anyway, not on :8000
			for k, v := range c.env {
				env[k] = v
			}
			p, code := d.run("chatd "+c.name, "", env, c.args...)
			if code != 2 {
				t.Errorf("%s: exit code %d, want 2; stderr: %s", c.name, code, p.stderr.String())
				continue
			}
			for _, v := range c.named {
				if !strings.Contains(p.stderr.String(), v) {
					t.Errorf("%s: stderr does not name %s: %q", c.name, v, p.stderr.String())
				}
			}
		}
	})

	t.Run("a JWT secret under 32 bytes refuses to start", func(t *testing.T) {
		d := newDeployment(t, "")
		const weak = "short-key!" // 10 bytes
		p, code := d.run("chatd with a weak key", "", map[string]string{"CHAT_JWT_SECRET": weak, "CHAT_HTTP_ADDR": harness.FreeAddr(t)})
		if code == 0 {
			t.Fatal("chatd started with a 10-byte CHAT_JWT_SECRET")
		}
		if !strings.Contains(p.stderr.String(), "CHAT_JWT_SECRET") {
			t.Errorf("stderr does not name CHAT_JWT_SECRET: %q", p.stderr.String())
		}
		if strings.Contains(p.stderr.String()+p.stdout.String(), weak) {
			t.Errorf("the output prints the key itself: %q", p.stderr.String())
		}
	})

	t.Run("a flag wins over its variable", func(t *testing.T) {
		d := newDeployment(t, "")
		// The variable names a port that is taken: if it won, the start would fail.
		taken, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = taken.Close() }()
		for attempt := 1; ; attempt++ {
			addr := harness.FreeAddr(t)
			p := d.spawn("chatd --chat-http-addr", "", map[string]string{"CHAT_HTTP_ADDR": taken.Addr().String()},
				"--chat-http-addr", addr, "serve")
			p.addr, p.URL = addr, "http://"+addr
			err := p.waitHealthy(30 * time.Second)
			if err == nil {
				p.stop(20 * time.Second)
				return
			}
			// Someone else may have taken the free port meanwhile; a
			// failure naming the variable's port means the variable won.
			if attempt < 3 && strings.Contains(p.stderr.String(), addr) {
				continue
			}
			t.Fatalf("chatd did not serve on the flag's address %s: %v", addr, err)
		}
	})

	t.Run("without a JWT secret on SQLite one is generated beside the database and kept", func(t *testing.T) {
		d := newDeployment(t, "")
		delete(d.env, "CHAT_JWT_SECRET")
		p := d.start("chatd", nil)
		secretPath := filepath.Join(d.dir, "jwt_secret")
		info, err := os.Stat(secretPath)
		if err != nil {
			t.Fatalf("no generated secret beside the database: %v", err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("the generated secret is readable by others: %v", perm)
		}
		first, _ := os.ReadFile(secretPath)
		if len(strings.TrimSpace(string(first))) < 32 {
			t.Fatalf("the generated secret has %d bytes, want at least 32", len(strings.TrimSpace(string(first))))
		}
		if strings.Contains(p.stderr.String(), strings.TrimSpace(string(first))) {
			t.Error("the log holds the generated secret")
		}
		a := newAPI(t, p)
		a.register(uniqueEmail("secret"), "correct horse battery")
		a.do(http.MethodGet, "/api/v1/auth/me", nil).expect(t, http.StatusOK)
		p.stop(20 * time.Second)

		p2 := d.start("chatd after restart", nil)
		again, _ := os.ReadFile(secretPath)
		if string(again) != string(first) {
			t.Fatal("the restart replaced the generated secret")
		}
		b := a.on(p2)
		b.do(http.MethodGet, "/api/v1/auth/me", nil).expect(t, http.StatusOK) // the access token from before the restart
		b.keep(b.do(http.MethodPost, "/api/v1/auth/refresh", map[string]any{"refresh_token": b.refreshToken}).expect(t, http.StatusOK))
		b.do(http.MethodGet, "/api/v1/auth/me", nil).expect(t, http.StatusOK)
		p2.stop(20 * time.Second)
	})

	t.Run("migrate status, down, up", func(t *testing.T) {
		names := migrationNames(t)
		d := newDeployment(t, "")
		d.start("chatd", nil).stop(20 * time.Second)

		status := func(want string) {
			t.Helper()
			p, code := d.run("chatd migrate status", "", nil, "migrate", "status")
			if code != 0 {
				t.Fatalf("migrate status exited %d", code)
			}
			lines := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
			for _, n := range names {
				i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, n+" ") })
				if i < 0 || !strings.HasPrefix(lines[i], n+" "+want) {
					t.Fatalf("migrate status does not show %s %s:\n%s", n, want, p.stdout.String())
				}
			}
		}
		status("applied")

		p, code := d.run("chatd migrate down", "", nil, "migrate", "down")
		if code != 0 {
			t.Fatalf("migrate down exited %d", code)
		}
		for _, n := range names {
			if !strings.Contains(p.stdout.String(), n) {
				t.Errorf("migrate down does not name %s: %q", n, p.stdout.String())
			}
		}
		status("pending")

		p, code = d.run("chatd migrate up", "", nil, "migrate", "up")
		if code != 0 {
			t.Fatalf("migrate up exited %d", code)
		}
		for _, n := range names {
			if !strings.Contains(p.stdout.String(), n) {
				t.Errorf("migrate up does not name %s: %q", n, p.stdout.String())
			}
		}
		status("applied")

		if _, code := d.run("chatd migrate sideways", "", nil, "migrate", "sideways"); code == 0 {
			t.Error("migrate with an unknown command exited 0")
		}
	})

	t.Run("healthcheck exits 0 for a ready server and 1 when none answers", func(t *testing.T) {
		d := newDeployment(t, "")
		if _, code := d.run("chatd healthcheck, nothing serving", "", map[string]string{"CHAT_HTTP_ADDR": harness.FreeAddr(t)},
			"healthcheck"); code != 1 {
			t.Fatalf("healthcheck with nothing listening exited %d, want 1", code)
		}
		srv := d.start("chatd", nil)
		if p, code := d.run("chatd healthcheck", "", map[string]string{"CHAT_HTTP_ADDR": srv.addr}, "healthcheck"); code != 0 {
			t.Fatalf("healthcheck of a ready server exited %d: %s", code, p.stderr.String())
		}
		srv.stop(20 * time.Second)
	})
	t.Run("user create makes the first admin", func(t *testing.T) {
		d := newDeployment(t, "")
		const email, password = "admin@example.com", "admin-password-42"
		p, code := d.run("chatd user create", password+"\n", nil,
			"user", "create", "--email", email, "--password-stdin", "--admin")
		if code != 0 {
			t.Fatalf("user create exited %d", code)
		}
		if out := p.stdout.String() + p.stderr.String(); strings.Contains(out, password) {
			t.Errorf("user create printed the password: %q", out)
		}
		if !strings.Contains(p.stdout.String(), email) {
			t.Errorf("user create does not confirm the account: %q", p.stdout.String())
		}

		srv := d.start("chatd", nil)
		admin := newAPI(t, srv)
		if role := admin.login(email, password).User.Role; role != "admin" {
			t.Fatalf("the created user has role %q, want admin", role)
		}
		admin.do(http.MethodGet, "/api/v1/chat/stats?scope=all", nil).expect(t, http.StatusOK)
		user := newAPI(t, srv)
		if role := user.register(uniqueEmail("plain"), "correct horse battery").User.Role; role != "user" {
			t.Fatalf("a registered user has role %q", role)
		}
		user.do(http.MethodGet, "/api/v1/chat/stats?scope=all", nil).expect(t, http.StatusForbidden)
		user.do(http.MethodGet, "/api/v1/chat/stats", nil).expect(t, http.StatusOK)
		srv.stop(20 * time.Second)

		p, code = d.run("chatd user create again", password+"\n", nil,
			"user", "create", "--email", email, "--password-stdin")
		if code == 0 {
			t.Error("user create with a taken email exited 0")
		} else if !strings.Contains(p.stderr.String(), "exists") && !strings.Contains(p.stderr.String(), "taken") {
			t.Errorf("user create with a taken email: unclear message %q", p.stderr.String())
		}
	})

	t.Run("user create with a short password fails clearly", func(t *testing.T) {
		d := newDeployment(t, "")
		p, code := d.run("chatd user create short", "short\n", nil,
			"user", "create", "--email", "short@example.com", "--password-stdin")
		if code == 0 {
			t.Fatal("user create with a 5-character password exited 0")
		}
		msg := p.stderr.String()
		if !strings.Contains(msg, "password") || !strings.Contains(msg, "8") {
			t.Errorf("the message does not say the password is too short: %q", msg)
		}
		if _, code := d.run("chatd user create without --password-stdin", "", nil,
			"user", "create", "--email", "short@example.com"); code == 0 {
			t.Error("user create without --password-stdin exited 0")
		}
	})
}

// migrationNames are the SQLite migrations shipped, as `migrate status` names them.
func migrationNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "migrations", "sqlite", "*.up.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no SQLite migrations found: %v", err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".up.sql"))
	}
	return names
}

// TestATakenPortFailsFast: a second chatd on the same address exits at once,
// non-zero, naming the address; the first one keeps serving.
func TestATakenPortFailsFast(t *testing.T) {
	first := newDeployment(t, "").start("chatd", nil)
	second := newDeployment(t, "")
	started := time.Now()
	p, code := second.run("second chatd", "", map[string]string{"CHAT_HTTP_ADDR": first.addr})
	took := time.Since(started)
	if code == 0 {
		t.Fatal("a second chatd on a taken address exited 0")
	}
	if took > 10*time.Second {
		t.Errorf("the second chatd took %v to give up", took)
	}
	if !strings.Contains(p.stderr.String(), first.addr) {
		t.Errorf("stderr does not name the address %s: %q", first.addr, p.stderr.String())
	}
	t.Logf("exit %d after %v", code, took.Round(time.Millisecond))
	if err := first.waitHealthy(5 * time.Second); err != nil {
		t.Fatalf("the first chatd: %v", err)
	}
	first.stop(20 * time.Second)
}

package faults

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	// Registers the "postgres" driver the checks query with.
	_ "github.com/lib/pq"

	"github.com/chatd/chatd/test/harness"
)

// pgServer is a PostgreSQL server of the test's own: initdb into a temporary
// folder, started on a spare loopback port, torn down when the test ends.
// The fault tests stop and freeze it; they never touch the shared server.
type pgServer struct {
	t       testing.TB
	bin     string // folder of initdb, pg_ctl and postgres
	runuser string // runuser binary when we are root ("" otherwise)
	dir     string // data, log and socket, owned by postgres
	port    int
	// URL is chatd's database on this server.
	URL string
}

// skipWithoutPostgres skips (or fails, with CHAT_TEST_REQUIRE_POSTGRES=1).
func skipWithoutPostgres(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CHAT_TEST_REQUIRE_POSTGRES") == "1" {
		t.Fatalf("CHAT_TEST_REQUIRE_POSTGRES=1 but %s", msg)
	}
	t.Skipf("%s; the PostgreSQL fault tests need a local PostgreSQL installation", msg)
}

// postgresBin finds a folder holding initdb, pg_ctl and postgres: the newest
// /usr/lib/postgresql/<version>/bin, else the PATH.
func postgresBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		ok := true
		for _, tool := range []string{"initdb", "pg_ctl", "postgres"} {
			if st, err := os.Stat(filepath.Join(d, tool)); err != nil || st.IsDir() {
				ok = false
			}
		}
		if ok {
			return d
		}
	}
	return ""
}

// startPostgres creates, starts and registers the teardown of a private server.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		skipWithoutPostgres(t, "no initdb/pg_ctl/postgres under /usr/lib/postgresql/*/bin or on the PATH")
	}
	p := &pgServer{t: t, bin: bin}
	dir, err := os.MkdirTemp("", "chatd-faults-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run its tools as postgres.
		if p.runuser, err = exec.LookPath("runuser"); err != nil {
			_ = os.RemoveAll(dir)
			skipWithoutPostgres(t, "running as root without runuser(1) to switch to the postgres user")
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			_ = os.RemoveAll(dir)
			skipWithoutPostgres(t, "running as root and there is no postgres OS user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			_ = os.RemoveAll(dir)
			t.Fatalf("give %s to postgres: %v", dir, err)
		}
	}
	t.Cleanup(p.teardown)

	if out, err := p.run(60*time.Second, "initdb", "-D", p.data(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	_, port, _ := net.SplitHostPort(harness.FreeAddr(t))
	p.port, _ = strconv.Atoi(port)
	p.start()

	admin := p.open("postgres")
	defer func() { _ = admin.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE chatd"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	p.URL = p.dsn("chatd")
	return p
}

func (p *pgServer) data() string { return filepath.Join(p.dir, "data") }

func (p *pgServer) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// open connects to db on this server directly, for the tests' own checks.
func (p *pgServer) open(db string) *sql.DB {
	p.t.Helper()
	conn, err := sql.Open("postgres", p.dsn(db))
	if err != nil {
		p.t.Fatal(err)
	}
	return conn
}

// run runs one of the server's tools, as postgres when we are root.
func (p *pgServer) run(timeout time.Duration, tool string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	path := filepath.Join(p.bin, tool)
	var cmd *exec.Cmd
	if p.runuser != "" {
		cmd = exec.CommandContext(ctx, p.runuser, append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// start starts the server (again) on its port and waits until it accepts connections.
func (p *pgServer) start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off",
		p.port, p.dir)
	if out, err := p.run(60*time.Second, "pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "log"),
		"-w", "-t", "50", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, log)
	}
}

// stop shuts the server down (mode fast: sessions are terminated at once).
func (p *pgServer) stop() {
	p.t.Helper()
	if out, err := p.run(60*time.Second, "pg_ctl", "-D", p.data(), "-m", "fast", "-w", "-t", "50", "stop"); err != nil {
		p.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// processes are the postmaster and its children (backends and helpers).
func (p *pgServer) processes() []int {
	pm := p.postmaster()
	if pm == 0 {
		return nil
	}
	return append([]int{pm}, childrenOf(pm)...)
}

// postmaster is the server's main pid (0 when it is not running).
func (p *pgServer) postmaster() int {
	b, err := os.ReadFile(filepath.Join(p.data(), "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// freeze stops every process of the server with SIGSTOP: the sockets stay
// open and the kernel still accepts connections, but nothing answers.
func (p *pgServer) freeze() {
	p.t.Helper()
	pm := p.postmaster()
	if pm == 0 {
		p.t.Fatal("freeze: postgres is not running")
	}
	// The postmaster first, so that it forks no child we would miss.
	if err := syscall.Kill(pm, syscall.SIGSTOP); err != nil {
		p.t.Fatalf("SIGSTOP postmaster %d: %v", pm, err)
	}
	kids := childrenOf(pm)
	for _, pid := range kids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
			p.t.Fatalf("SIGSTOP %d: %v", pid, err)
		}
	}
	p.t.Logf("froze postgres: postmaster %d and %d children", pm, len(kids))
}

// thaw resumes every process of the server.
func (p *pgServer) thaw() {
	for _, pid := range p.processes() {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
}

// teardown thaws and stops the server (immediate, then SIGKILL) and removes its folder.
func (p *pgServer) teardown() {
	p.thaw()
	if pm := p.postmaster(); pm != 0 {
		if out, err := p.run(30*time.Second, "pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "-t", "20", "stop"); err != nil {
			p.t.Logf("pg_ctl stop -m immediate: %v\n%s; killing the processes", err, out)
			for _, pid := range p.processes() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			// The children exit once the postmaster is gone; give them a moment.
			until(5*time.Second, func() bool { return syscall.Kill(pm, 0) != nil })
		}
	}
	if err := os.RemoveAll(p.dir); err != nil {
		p.t.Logf("remove %s: %v", p.dir, err)
	}
}

// childrenOf lists the processes whose parent is ppid, from /proc.
func childrenOf(ppid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) >= 2 {
			if parent, _ := strconv.Atoi(fields[1]); parent == ppid {
				out = append(out, pid)
			}
		}
	}
	return out
}

package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestChatdFlagTakesOneURLOrSeveral(t *testing.T) {
	parse := func(args ...string) ([]string, error) {
		var c commonFlags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(&bytes.Buffer{})
		c.register(fs)
		err := fs.Parse(args)
		return c.chatdArg.urls, err
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"http://127.0.0.1:8000"}},
		{[]string{"-chatd", "http://127.0.0.1:8110/"}, []string{"http://127.0.0.1:8110"}},
		{[]string{"-chatd", "http://a:1, http://b:2/,,http://c:3"}, []string{"http://a:1", "http://b:2", "http://c:3"}},
		{[]string{"-chatd", "http://a:1", "-chatd", "https://b:2,http://c:3"}, []string{"http://a:1", "https://b:2", "http://c:3"}},
	} {
		got, err := parse(tc.args...)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q %v, want %q", tc.args, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", " , ", "127.0.0.1:8000", "ws://a:1", "http://", "http://a:1,ftp://b"} {
		if got, err := parse("-chatd", bad); err == nil {
			t.Errorf("%q accepted: %q", bad, got)
		}
	}
}

func TestPidFlagTakesOneOrSeveral(t *testing.T) {
	var l pidList
	if err := l.Set("12, 34"); err != nil {
		t.Fatal(err)
	}
	if err := l.Set("56"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.pids, []int{12, 34, 56}) || l.String() != "12,34,56" {
		t.Fatalf("%v %q", l.pids, l.String())
	}
	var zero pidList
	if err := zero.Set("0"); err != nil || len(zero.pids) != 0 {
		t.Fatalf("0: %v %v", zero.pids, err)
	}
	if err := zero.Set("x"); err == nil {
		t.Fatal("a non-number accepted")
	}
}

func TestOnlyTheSpreadScenariosTakeSeveralURLs(t *testing.T) {
	two := []string{"-chatd", "http://127.0.0.1:1,http://127.0.0.1:2"}
	e := &env{stderr: &bytes.Buffer{}}
	if err := e.parse(flag.NewFlagSet("t", flag.ContinueOnError), two); err == nil || !strings.Contains(err.Error(), "one -chatd URL") {
		t.Fatalf("a one-process scenario took two URLs: %v", err)
	}
	e = &env{stderr: &bytes.Buffer{}, spread: true}
	if err := e.parse(flag.NewFlagSet("t", flag.ContinueOnError), append(two, "-pid", "10,20")); err != nil {
		t.Fatal(err)
	}
	e.close()
	if e.common.chatd != "http://127.0.0.1:1" || len(e.common.chatds) != 2 || e.common.pid != 10 || !slices.Equal(e.common.pids, []int{10, 20}) {
		t.Fatalf("chatd %q chatds %q pid %d pids %v", e.common.chatd, e.common.chatds, e.common.pid, e.common.pids)
	}
	e = &env{stderr: &bytes.Buffer{}, spread: true}
	if err := e.parse(flag.NewFlagSet("t", flag.ContinueOnError), append(two, "-pid", "10,20,30")); err == nil {
		t.Fatal("three pids for two URLs accepted")
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), append([]string{"streams"}, two...), &out, &errOut); code != exitUsage {
		t.Fatalf("streams with two URLs: exit %d", code)
	}
}

func TestSubscribersAreSpreadRoundRobinFromThePostingProcess(t *testing.T) {
	got := make([]int, 7)
	for i := range got {
		got[i] = procOf(i, 3)
	}
	if !slices.Equal(got, []int{0, 1, 2, 0, 1, 2, 0}) {
		t.Fatalf("procOf: %v", got)
	}
	if procOf(5, 1) != 0 || procOf(5, 0) != 0 {
		t.Fatal("one process")
	}
	for _, tc := range []struct {
		n, procs int
		want     []int
	}{{1000, 1, []int{1000}}, {1000, 2, []int{500, 500}}, {1000, 3, []int{334, 333, 333}}, {2, 3, []int{1, 1, 0}}} {
		if c := spreadCounts(tc.n, tc.procs); !slices.Equal(c, tc.want) {
			t.Errorf("spreadCounts(%d, %d) = %v, want %v", tc.n, tc.procs, c, tc.want)
		}
	}
	if groupOf(0) != groupSame || groupOf(1) != groupOther || groupOf(2) != groupOther {
		t.Fatal("groupOf")
	}
}

func TestLatencyGroupsSplitSameAndOtherProcess(t *testing.T) {
	start := time.Unix(100, 0)
	at := func(ms ...int) []time.Time {
		ts := make([]time.Time, len(ms))
		for i, m := range ms {
			ts[i] = start.Add(time.Duration(m) * time.Millisecond)
		}
		return ts
	}
	var l latencyGroups
	// Three posts: on the posting process the subscribers get the first delta
	// after 1-3 ms, on the others 4-9 ms.
	l.addPost(start, [groups][]time.Time{at(1, 2), at(4, 5, 6)})
	l.addPost(start, [groups][]time.Time{at(2, 3), at(5, 7)})
	l.addPost(start, [groups][]time.Time{at(1, 1), at(9, 4)})
	l.addPost(start, [groups][]time.Time{at(2)}) // one process only: no other group
	ms := time.Millisecond
	same, other := l.everyDist(groupSame), l.everyDist(groupOther)
	if same.n() != 7 || other.n() != 7 {
		t.Fatalf("samples %d %d", same.n(), other.n())
	}
	if same.q(.5) != 2*ms || same.q(.99) != 3*ms || other.q(.5) != 5*ms || other.q(.99) != 9*ms {
		t.Fatalf("same p50 %s p99 %s, other p50 %s p99 %s", same.q(.5), same.q(.99), other.q(.5), other.q(.99))
	}
	lastSame, lastOther := l.lastDist(groupSame), l.lastDist(groupOther)
	if !slices.Equal(lastSame.s, []time.Duration{1 * ms, 2 * ms, 2 * ms, 3 * ms}) ||
		!slices.Equal(lastOther.s, []time.Duration{6 * ms, 7 * ms, 9 * ms}) {
		t.Fatalf("last: %v %v", lastSame.s, lastOther.s)
	}
	if d, ok := added(same, other, .5); !ok || d != 3*ms {
		t.Fatalf("added p50 %s %v", d, ok)
	}
	if d, ok := added(same, other, .99); !ok || d != 6*ms {
		t.Fatalf("added p99 %s %v", d, ok)
	}
	if _, ok := added(same, newDist(nil), .5); ok {
		t.Fatal("added without another process")
	}

	var res result
	reportGroups(&res, &l, []int{2, 2, 1})
	var b bytes.Buffer
	res.print(&b)
	for _, want := range []string{"every subscriber on the posting process (2)", "every subscriber on the other processes (3)",
		"added by another process (other - posting, every subscriber), p50 / p99  +3.000 ms / +6.000 ms"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestSpreadScenariosRunOverSeveralURLs gives fanout and fanout-latency the
// same chatd twice: the spreading, the per-process rows and the groups run
// end to end (both "processes" are one here, so nothing crosses a broker).
func TestSpreadScenariosRunOverSeveralURLs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chatd")
	}
	chatdURL, simURL := startChatd(t)
	summary := filepath.Join(t.TempDir(), "results.md")
	pid := fmt.Sprint(os.Getpid())
	common := []string{"-chatd", chatdURL + "," + chatdURL, "-llmsim", simURL, "-pid", pid + "," + pid, "-summary", summary,
		"-q", "-timeout", "60s"}
	for _, args := range [][]string{
		{"fanout", "-subs", "5", "-tokens", "100"},
		{"fanout-latency", "-subs", "5", "-n", "5", "-warmup", "1"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append(args, common...), &stdout, &stderr); code != exitOK {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", args[0], code, stdout.String(), stderr.String())
		}
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| fanout | subscribers with the exact text, in order | 5 of 5 |",
		"| fanout | process 2 of 2: subscribers whole; POST -> first / last delta | 2 of 2 whole; ",
		"| fanout | chatd CPU, 2 processes (avg over the phase) |",
		"| fanout-latency | POST -> first delta, every subscriber on the posting process (3) | p50 ",
		"| fanout-latency | POST -> first delta, every subscriber on the other processes (2) | p50 ",
		"| fanout-latency | added by another process (other - posting, every subscriber), p50 / p99 |",
		"| fanout-latency | posts seen whole by every subscriber | 6 of 6 |",
		"| fanout-latency | subscribers whose every event had the next seq | 5 of 5 |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("summary lacks %q:\n%s", want, b)
		}
	}
}

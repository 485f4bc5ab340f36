package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// urlList is the -chatd flag: one chatd root URL or several processes of one
// service, comma-separated and/or repeated (-chatd A,B or -chatd A -chatd B).
// The first Set replaces the default.
type urlList struct {
	urls []string
	set  bool
}

func (l *urlList) String() string { return strings.Join(l.urls, ",") }

func (l *urlList) Set(v string) error {
	if !l.set {
		l.urls, l.set = nil, true
	}
	added := 0
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimRight(strings.TrimSpace(part), "/")
		if part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil {
			return fmt.Errorf("chatd URL %q: %w", part, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("chatd URL %q: want http://host:port or https://host:port", part)
		}
		l.urls = append(l.urls, part)
		added++
	}
	if added == 0 {
		return errors.New("no chatd URL")
	}
	return nil
}

// pidList is the -pid flag: one process id, or one per -chatd URL
// (comma-separated and/or repeated); 0 alone means none.
type pidList struct {
	pids []int
	set  bool
}

func (l *pidList) String() string {
	s := make([]string, len(l.pids))
	for i, p := range l.pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

func (l *pidList) Set(v string) error {
	if !l.set {
		l.pids, l.set = nil, true
	}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := strconv.Atoi(part)
		if err != nil || p < 0 {
			return fmt.Errorf("process id %q: not a number", part)
		}
		if p > 0 {
			l.pids = append(l.pids, p)
		}
	}
	return nil
}

// procOf is the process (index into the -chatd URLs) that subscriber i is
// spread to: round-robin, so subscriber 0 is on the first process, the one
// that is posted to.
func procOf(i, procs int) int {
	if procs <= 1 {
		return 0
	}
	return i % procs
}

// spreadCounts is how many of n subscribers each of procs processes gets.
func spreadCounts(n, procs int) []int {
	procs = max(procs, 1)
	c := make([]int, procs)
	for i := range n {
		c[procOf(i, procs)]++
	}
	return c
}

// Subscriber groups of fanout-latency: on the process the POST went to, or
// on another one.
const (
	groupSame  = 0
	groupOther = 1
	groups     = 2
)

var groupNames = [groups]string{"on the posting process", "on the other processes"}

func groupOf(proc int) int {
	if proc == 0 {
		return groupSame
	}
	return groupOther
}

// latencyGroups collects POST -> first delta per subscriber group over the
// measured posts: every subscriber's own first delta (pooled), and the last
// subscriber of the group to get it, per post.
type latencyGroups struct {
	every [groups][]time.Duration
	last  [groups][]time.Duration
}

// addPost records one post: firsts[g] holds the first-delta times of the
// group's subscribers (a group with none is skipped).
func (l *latencyGroups) addPost(start time.Time, firsts [groups][]time.Time) {
	for g, ts := range firsts {
		if len(ts) == 0 {
			continue
		}
		var last time.Duration
		for _, t := range ts {
			d := t.Sub(start)
			l.every[g] = append(l.every[g], d)
			last = max(last, d)
		}
		l.last[g] = append(l.last[g], last)
	}
}

func (l *latencyGroups) everyDist(g int) dist { return newDist(l.every[g]) }
func (l *latencyGroups) lastDist(g int) dist  { return newDist(l.last[g]) }

// added is what crossing to another process adds at quantile q: the other
// group's figure minus the same process's, matched by percentile; ok is false
// when a group has no sample.
func added(same, other dist, q float64) (d time.Duration, ok bool) {
	if same.n() == 0 || other.n() == 0 {
		return 0, false
	}
	return other.q(q) - same.q(q), true
}

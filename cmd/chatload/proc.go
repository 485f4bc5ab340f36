package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on
// every Linux this runs on).
const clockTicks = 100

// procStat is one reading of /proc/<pid>.
type procStat struct {
	at      time.Time
	rss     int64 // bytes
	hwm     int64 // peak RSS, bytes
	threads int
	cpu     time.Duration // user + system
}

// readProc reads a process's RSS, peak RSS, threads and CPU time.
func readProc(pid int) (procStat, error) {
	st := procStat{at: time.Now()}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(l, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			st.rss = n << 10
		case "VmHWM":
			st.hwm = n << 10
		case "Threads":
			st.threads = int(n)
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// Fields after the command (which may hold spaces) start at state (3).
	rest := stat[bytes.LastIndexByte(stat, ')')+2:]
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return st, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	st.cpu = time.Duration(utime+stime) * time.Second / clockTicks
	return st, nil
}

// cpuPercent is the CPU used between two readings, in percent of one core.
func cpuPercent(a, b procStat) float64 {
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return 0
	}
	return 100 * float64(b.cpu-a.cpu) / float64(wall)
}

// sampler watches a process while a phase runs: CPU over the phase and the
// highest RSS seen.
type sampler struct {
	pid     int
	start   procStat
	end     procStat
	peakRSS int64
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	err     error
}

// startSampler begins sampling pid every interval; pid 0 samples nothing.
func startSampler(pid int, interval time.Duration) *sampler {
	s := &sampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	if pid == 0 {
		close(s.done)
		return s
	}
	s.start, s.err = readProc(pid)
	s.peakRSS = s.start.rss
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				if st, err := readProc(pid); err == nil {
					s.mu.Lock()
					s.peakRSS = max(s.peakRSS, st.rss)
					s.mu.Unlock()
				}
			}
		}
	}()
	return s
}

// finish stops sampling and takes the last reading.
func (s *sampler) finish() {
	if s.pid == 0 {
		return
	}
	close(s.stop)
	<-s.done
	var err error
	s.end, err = readProc(s.pid)
	if s.err == nil {
		s.err = err
	}
	s.peakRSS = max(s.peakRSS, s.end.rss)
}

func (s *sampler) ok() bool { return s.pid != 0 && s.err == nil }

// report adds the process's CPU and RSS to a result.
func (s *sampler) report(r *result, who string) {
	if !s.ok() {
		return
	}
	r.add(who+" CPU (avg over the phase)", fmt.Sprintf("%.0f%% of one core", cpuPercent(s.start, s.end)))
	r.add(who+" RSS peak (start -> peak)", fmt.Sprintf("%s -> %s", mib(s.start.rss), mib(s.peakRSS)))
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// serverMetrics reads chosen series from chatd's /metrics (unlabelled ones,
// or the sum over labels).
func serverMetrics(ctx context.Context, client *http.Client, base string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	return out, sc.Err()
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	st, err := readProc(os.Getpid())
	if err != nil {
		return 0
	}
	return st.cpu
}

// samplers watch every chatd process of a service during a phase.
type samplers []*sampler

// startSamplers samples each pid; none (or only 0) samples nothing.
func startSamplers(pids []int, interval time.Duration) samplers {
	if len(pids) == 0 {
		return samplers{startSampler(0, interval)}
	}
	ss := make(samplers, len(pids))
	for i, p := range pids {
		ss[i] = startSampler(p, interval)
	}
	return ss
}

func (ss samplers) finish() {
	for _, s := range ss {
		s.finish()
	}
}

// report adds the processes' CPU and RSS to a result: as one process does
// when there is one, else the sum of the CPU and each process's share.
func (ss samplers) report(r *result, who string) {
	if len(ss) == 1 {
		ss[0].report(r, who)
		return
	}
	var total float64
	cpu := make([]string, 0, len(ss))
	rss := make([]string, 0, len(ss))
	for _, s := range ss {
		if !s.ok() {
			cpu = append(cpu, "?")
			rss = append(rss, "?")
			continue
		}
		c := cpuPercent(s.start, s.end)
		total += c
		cpu = append(cpu, fmt.Sprintf("%.0f", c))
		rss = append(rss, fmt.Sprintf("%s -> %s", mib(s.start.rss), mib(s.peakRSS)))
	}
	r.add(fmt.Sprintf("%s CPU, %d processes (avg over the phase)", who, len(ss)),
		fmt.Sprintf("%.0f%% of one core (%s)", total, strings.Join(cpu, " + ")))
	r.add(who+" RSS peak per process (start -> peak)", strings.Join(rss, "; "))
}

// sumMetrics is serverMetrics summed over every chatd process (a process
// that does not answer is left out).
func sumMetrics(ctx context.Context, client *http.Client, bases []string) map[string]float64 {
	out := map[string]float64{}
	for _, b := range bases {
		m, err := serverMetrics(ctx, client, b)
		if err != nil {
			continue
		}
		for k, v := range m {
			out[k] += v
		}
	}
	return out
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/internal/llmsim"
)

// burstSteps are what each burst client does, in order.
var burstSteps = []string{"register", "create session", "post"}

// runBurst starts N clients at once, each of which registers, creates a
// session and posts a message (process_llm on, llmsim answering at once),
// and reports how many of each step failed, with which status and problem
// type, and how long it took until every client had finished.
func runBurst(ctx context.Context, e *env, args []string) (*result, error) {
	fs := flag.NewFlagSet("chatload burst", flag.ContinueOnError)
	n := fs.Int("n", 2000, "clients, all started at once")
	tokens := fs.Int("tokens", 5, "tokens in each reply (llmsim, no delay)")
	wait := fs.Bool("wait", false, "post with ?wait=true: the post answers 200 with the finished reply, checked against the expected text; "+
		"such a post is a stream, not bound by chatd's request deadline (default: the plain post, 201 once the turn is stored, "+
		"bound by the deadline like the other two steps)")
	registerFirst := fs.Bool("register-first", false, "register the users before the burst, 4 at a time and off the clock "+
		"(password hashing is deliberately slow): the burst is then create session + post")
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if *n < 1 || *tokens < 1 {
		return nil, errors.New("-n and -tokens must be at least 1")
	}
	if err := checkOpenFiles(*n); err != nil {
		return nil, err
	}
	ctx, cancel := e.withTimeout(ctx)
	defer cancel()
	res := &result{scenario: e.label("burst"), params: fmt.Sprintf("n=%d tokens=%d wait=%t register-first=%t", *n, *tokens, *wait, *registerFirst)}
	model := simModel(*tokens, 0, 0)
	firstStep := 0
	var pre []user
	if *registerFirst {
		e.progress("burst: registering %d users first", *n)
		var err error
		if pre, err = e.api.registerUsers(ctx, e.runID, e.common.password, *n); err != nil {
			return nil, fmt.Errorf("register: %w", err)
		}
		firstStep = 1
	}

	type outcome struct {
		failedAt int // index in burstSteps, -1: all done
		why      string
		took     [3]time.Duration
		wrong    string // the reply arrived but differs from the expected one
		end      time.Time
	}
	outcomes := make([]outcome, *n)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range *n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			o := &outcomes[i]
			o.failedAt = -1
			ready.Done()
			<-start
			content := fmt.Sprintf("burst %d of load run %s", i, e.runID)
			var u user
			if pre != nil {
				u = pre[i]
			}
			var sessionID string
			steps := []func() error{
				func() (err error) {
					u, err = e.api.register(ctx, fmt.Sprintf("burst-%s-%d@example.com", e.runID, i), e.common.password)
					return err
				},
				func() (err error) {
					sessionID, err = e.api.createSession(ctx, u.token, e.common.provider, model)
					return err
				},
				func() error {
					got, err := burstPost(ctx, e.api, u.token, sessionID, content, *wait)
					if err == nil && *wait {
						if want := llmsim.ExpectedReply(content, *tokens); got != want {
							o.wrong = fmt.Sprintf("client %d: the reply is %q, want %q", i, got, want)
						}
					}
					return err
				},
			}
			for k, step := range steps {
				if k < firstStep {
					continue
				}
				t := time.Now()
				err := step()
				o.took[k] = time.Since(t)
				if err != nil {
					o.failedAt, o.why = k, failureKind(err)
					break
				}
			}
			o.end = time.Now()
		}()
	}
	ready.Wait()
	e.progress("burst: %d clients register, create a session and post, all at once", *n)
	sampler := startSampler(e.common.pid, 250*time.Millisecond)
	e.common.prof.cpu(e.label("burst"))
	selfStart, wallStart := selfCPU(), time.Now()
	close(start)
	done.Wait()
	selfEnd, wall := selfCPU(), time.Since(wallStart)
	sampler.finish()
	e.common.prof.heap(e.label("burst"))

	var (
		whole, wrong int
		failures     = make([]map[string]int, len(burstSteps))
		took         = make([][]time.Duration, len(burstSteps))
		lastOK       time.Time
		wrongs       []string
	)
	for k := range failures {
		failures[k] = map[string]int{}
	}
	for _, o := range outcomes {
		for k := firstStep; k < len(burstSteps); k++ {
			if o.failedAt >= 0 && k > o.failedAt {
				break
			}
			if k == o.failedAt {
				failures[k][o.why]++
				break
			}
			took[k] = append(took[k], o.took[k])
		}
		if o.failedAt < 0 {
			whole++
			if o.end.After(lastOK) {
				lastOK = o.end
			}
		}
		if o.wrong != "" {
			wrong++
			if len(wrongs) < 5 {
				wrongs = append(wrongs, o.wrong)
			}
		}
	}
	failed := *n - whole
	what := "clients that registered, created a session and posted"
	if *registerFirst {
		what = "clients that created a session and posted (registered before)"
	}
	res.judge(what, fmt.Sprintf("%d of %d (%d failed)", whole, *n, failed),
		"all (0 failures)", failed == 0)
	for k, step := range burstSteps[firstStep:] {
		res.add(step+": failed", describeFailures(failures[firstStep+k]))
	}
	for k, step := range burstSteps[firstStep:] {
		res.add(step+": time of the successful ones", newDist(took[firstStep+k]).quantiles())
	}
	res.add("time until every client finished", wall.Round(time.Millisecond).String())
	if !lastOK.IsZero() {
		res.add("time until the last success", lastOK.Sub(wallStart).Round(time.Millisecond).String())
	}
	if *wait {
		posted := len(took[2])
		res.judge("replies completed with the expected text", fmt.Sprintf("%d of %d posted", posted-wrong, posted), "all", wrong == 0)
	}
	sampler.report(res, "chatd")
	res.add("chatload CPU (avg over the phase)", fmt.Sprintf("%.0f%% of one core", 100*float64(selfEnd-selfStart)/float64(wall)))
	for _, w := range wrongs {
		res.note("%s", w)
	}
	if failed > 0 {
		res.note("a failed step ends its client: the steps after it are not tried")
	}
	res.lossFailures = wrong
	return res, nil
}

// burstPost posts content and returns the reply's text when wait is set
// (?wait=true answers 200 with the finished reply), else "" after the 201.
func burstPost(ctx context.Context, a *api, token, sessionID, content string, wait bool) (string, error) {
	path := "/api/v1/chat/sessions/" + sessionID + "/messages"
	body := map[string]any{"content": content, "process_llm": true}
	if !wait {
		var out postResult
		return "", a.do(ctx, http.MethodPost, path, token, body, &out, http.StatusCreated)
	}
	var out struct {
		AssistantMessage *struct {
			Status  string `json:"status"`
			Content string `json:"content"`
		} `json:"assistant_message"`
	}
	if err := a.do(ctx, http.MethodPost, path+"?wait=true", token, body, &out, http.StatusOK); err != nil {
		return "", err
	}
	if out.AssistantMessage == nil {
		return "", errors.New("no assistant_message in the answer")
	}
	if out.AssistantMessage.Status != "completed" {
		return out.AssistantMessage.Content, fmt.Errorf("reply status %q", out.AssistantMessage.Status)
	}
	return out.AssistantMessage.Content, nil
}

// failureKind names a failed request for the tally: the status and the
// problem type chatd answered with, or the transport error.
func failureKind(err error) string {
	var se *statusError
	if errors.As(err, &se) {
		var p struct {
			Type string `json:"type"`
		}
		if json.Unmarshal([]byte(se.body), &p) == nil && p.Type != "" {
			return fmt.Sprintf("%d %s", se.status, p.Type)
		}
		return fmt.Sprintf("%d (no problem body)", se.status)
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Op + ": " + ue.Err.Error() // without the URL
	}
	if len(msg) > 100 {
		msg = msg[:100] + "..."
	}
	return "error: " + msg
}

// describeFailures renders a tally, the most frequent first: "0", or
// "12: 503 urn:chatd:problem:request-timeout x10; error: EOF x2".
func describeFailures(tally map[string]int) string {
	total := 0
	kinds := make([]string, 0, len(tally))
	for k, c := range tally {
		total += c
		kinds = append(kinds, k)
	}
	if total == 0 {
		return "0"
	}
	sort.Slice(kinds, func(i, j int) bool {
		if tally[kinds[i]] != tally[kinds[j]] {
			return tally[kinds[i]] > tally[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s x%d", k, tally[k])
	}
	return fmt.Sprintf("%d: %s", total, strings.Join(parts, "; "))
}

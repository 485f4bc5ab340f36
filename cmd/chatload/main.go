// Command chatload drives a running chatd over real HTTP, SSE and WebSocket
// on loopback and measures what BENCHMARKS.md reports. It starts nothing
// except, when asked, an in-process llmsim; it registers its own users and
// creates its own sessions, and every scenario stops by itself (bounded
// counts and a -timeout).
//
//	chatload first-delta      POST -> first message.delta over SSE, and the same client calling llmsim directly
//	chatload streams          N concurrent replies over SSE: zero loss, gaps between tokens, server CPU/RSS
//	chatload idle-sockets     K idle WebSockets: server memory per socket
//	chatload fanout           S WebSocket subscribers of one session, one long reply: tokens delivered per second
//	chatload fanout-latency   S subscribers of one session: POST -> first delta at the last subscriber
//	chatload burst            N clients at once, each registering, creating a session and posting: failures by step
//	chatload rest             HTTP load on one route (a page of messages, or creating sessions): req/s and latency
//	chatload peer-fanout      fanout against Centrifugo (the peer of issue 10): the same reply, the same measure
//	chatload peer-idle        idle-sockets against Centrifugo: its RSS per idle subscribed socket
//
// fanout and fanout-latency also take several chatd processes of one service
// (-chatd URL1,URL2,... or -chatd repeated; CHAT_BROKER_URL set on each):
// the subscribers are spread round-robin over them, every POST goes to the
// first, and fanout-latency reports the subscribers on the posting process
// and on the others apart (scripts/cluster-bench.sh runs them).
//
// Exit status: 0 when every check held, 1 when a zero-loss check failed
// (a lost, doubled or reordered token, a reply that did not complete, a
// socket closed as slow), 2 on a usage or setup error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `chatload: load scenarios against a running chatd (see BENCHMARKS.md).

Usage: chatload <scenario> [flags]

Scenarios:
  first-delta      time from POST to the first message.delta at an SSE subscriber, minus llmsim called directly
  streams          many concurrent replies over SSE: lost/reordered tokens, gaps between tokens, server CPU and RSS
  idle-sockets     many idle WebSockets: server memory per socket
  fanout           many WebSocket subscribers of one session and one long reply: tokens delivered per second
  fanout-latency   subscribers of one session: POST -> first delta at the last of them
  burst            N clients at once, each registering, creating a session and posting: failures by step and status
  rest             HTTP load at C connections on one route (-route messages: a page of 50 messages; -route sessions:
                   POST /chat/sessions): requests per second, latency quantiles, non-2xx answers
  peer-fanout      fanout against Centrifugo v6 (-centrifugo URL -api-key KEY; -pid is Centrifugo's): the same reply's
                   frames published through its server API, the same measure and checks
  peer-idle        idle-sockets against Centrifugo v6: RSS per idle subscribed socket (-pid Centrifugo's process id)

fanout and fanout-latency take several processes of one service: -chatd URL1,URL2,... (or -chatd
repeated) spreads the subscribers round-robin over them and posts to the first.

Run "chatload <scenario> -h" for a scenario's flags.
`

// Exit statuses.
const (
	exitOK    = 0
	exitLoss  = 1
	exitUsage = 2
)

type scenario struct {
	name string
	run  func(ctx context.Context, env *env, args []string) (*result, error)
}

var scenarios = []scenario{
	{"first-delta", runFirstDelta},
	{"streams", runStreams},
	{"idle-sockets", runIdleSockets},
	{"fanout", runFanout},
	{"fanout-latency", runFanoutLatency},
	{"burst", runBurst},
	{"rest", runRest},
	{"peer-fanout", runPeerFanout},
	{"peer-idle", runPeerIdle},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var sc *scenario
	for i := range scenarios {
		if scenarios[i].name == args[0] {
			sc = &scenarios[i]
		}
	}
	if sc == nil {
		fmt.Fprintf(stderr, "chatload: unknown scenario %q\n\n%s", args[0], usage)
		return exitUsage
	}
	e := &env{stdout: stdout, stderr: stderr}
	res, err := sc.run(ctx, e, args[1:])
	defer e.close()
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatload %s: %v\n", sc.name, err)
		if res != nil && res.lossFailures > 0 {
			return exitLoss
		}
		return exitUsage
	}
	res.print(stdout)
	if err := res.appendSummary(e.common.summary); err != nil {
		fmt.Fprintf(stderr, "chatload: write summary: %v\n", err)
	}
	if res.lossFailures > 0 {
		fmt.Fprintf(stderr, "chatload %s: ZERO-LOSS CHECK FAILED (%d failures)\n", sc.name, res.lossFailures)
		return exitLoss
	}
	return exitOK
}

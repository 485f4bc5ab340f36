package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/uptrace/bun"
)

// maxGroup bounds how many write transactions share one commit.
const maxGroup = 128

// errStorageClosed answers writes that arrive after Close.
var errStorageClosed = errors.New("storage is closed")

// groupCommit runs SQLite's write transactions in groups: the writers that
// queue while one commit is under way share the next one, each in its own
// savepoint. With synchronous=full a commit costs an fsync, and pages that
// several transactions change are written once per group, so a burst of
// writers pays for a few commits instead of one each. A writer alone runs
// as before, in a transaction of its own, without waiting for company.
//
// A transaction's work is kept apart from the others': when its function
// fails or panics, its savepoint is rolled back and the rest go on. Its
// answer comes after the group's commit, so success still means stored.
type groupCommit struct {
	db       *bun.DB // the write pool, one connection
	requests chan *writeRequest
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

type writeRequest struct {
	ctx    context.Context
	fn     func(ctx context.Context, tx bun.Tx) error
	answer chan error
}

// panicked carries a transaction function's panic back to its caller.
type panicked struct{ value any }

func (p panicked) Error() string { return fmt.Sprintf("panic in write transaction: %v", p.value) }

func newGroupCommit(db *bun.DB) *groupCommit {
	g := &groupCommit{db: db, requests: make(chan *writeRequest), quit: make(chan struct{}), done: make(chan struct{})}
	go g.loop()
	return g
}

// run runs fn in a write transaction, committed in a group, and returns once
// that commit is over. ctx bounds the wait for a place in a group; once fn
// has started it runs to its end (an interrupted SQLite statement would roll
// back the whole group's transaction).
func (g *groupCommit) run(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	req := &writeRequest{ctx: ctx, fn: fn, answer: make(chan error, 1)}
	select {
	case g.requests <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.quit:
		return errStorageClosed
	}
	err := <-req.answer
	var p panicked
	if errors.As(err, &p) {
		panic(p.value)
	}
	return err
}

// stop lets the group under way finish, then refuses new writes.
func (g *groupCommit) stop() {
	g.stopOnce.Do(func() { close(g.quit) })
	<-g.done
}

func (g *groupCommit) loop() {
	defer close(g.done)
	group := make([]*writeRequest, 0, maxGroup)
	for {
		select {
		case first := <-g.requests:
			group = append(group[:0], first)
		case <-g.quit:
			return
		}
		// Whoever is already waiting joins; nobody waits to be joined.
	gather:
		for len(group) < maxGroup {
			select {
			case req := <-g.requests:
				group = append(group, req)
			default:
				break gather
			}
		}
		g.commit(group)
		clear(group)
	}
}

// commit runs the group's live requests in one transaction and answers each.
func (g *groupCommit) commit(group []*writeRequest) {
	live := group[:0:0]
	for _, req := range group {
		if err := req.ctx.Err(); err != nil {
			req.answer <- err
			continue
		}
		live = append(live, req)
	}
	if len(live) == 0 {
		return
	}
	// The group's own statements must not be cut short by one member's
	// deadline: BEGIN and COMMIT run without cancellation, with the first
	// member's values (its trace).
	tx, err := g.db.BeginTx(context.WithoutCancel(live[0].ctx), nil)
	if err != nil {
		for _, req := range live {
			req.answer <- err
		}
		return
	}
	results := make([]error, len(live))
	if len(live) == 1 {
		results[0] = runGuarded(live[0], tx)
		if results[0] != nil {
			_ = tx.Rollback()
			live[0].answer <- results[0]
			return
		}
	} else {
		for i, req := range live {
			results[i] = runInSavepoint(req, tx)
		}
	}
	if err := tx.Commit(); err != nil {
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
	for i, req := range live {
		req.answer <- results[i]
	}
}

// runInSavepoint runs one member's function in a savepoint of the group's
// transaction and undoes exactly its work when it fails. Members run one
// after another, each savepoint released before the next, so one name
// serves them all (bun's nested transactions draw a random one each).
func runInSavepoint(req *writeRequest, tx bun.Tx) error {
	ctx := context.Background()
	if _, err := tx.ExecContext(ctx, "SAVEPOINT member"); err != nil {
		return err
	}
	if err := runGuarded(req, tx); err != nil {
		// Rolled back to, then released: nothing of it stays.
		_, undo := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT member")
		_, release := tx.ExecContext(ctx, "RELEASE SAVEPOINT member")
		return errors.Join(err, undo, release)
	}
	_, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT member")
	return err
}

// runGuarded runs the function with its caller's values but without its
// cancellation, and turns a panic into an answer for the caller.
func runGuarded(req *writeRequest, tx bun.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicked{value: v}
		}
	}()
	return req.fn(context.WithoutCancel(req.ctx), tx)
}

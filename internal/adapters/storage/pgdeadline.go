package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// lib/pq answers a cancelled context by sending the server a cancel request
// and then keeps waiting for the server to reply. A frozen server (SIGSTOP,
// a network path that drops packets without a reset) never replies, so the
// caller would hang far past its deadline instead of getting a 503.
//
// deadlineConnector closes that gap without touching lib/pq: it remembers the
// socket of each connection it opens, and while any call with a context is
// running on that connection, the end of the context sets the socket's
// deadline to the past. The blocked read fails at once, lib/pq gives the
// connection up, and the caller gets its error within its deadline. A
// connection whose deadline fired is never reused.

// pastDeadline makes every pending and later read or write on a socket fail.
var pastDeadline = time.Unix(1, 0)

// cancelRequestTimeout bounds a cancel request's connection.
const cancelRequestTimeout = 10 * time.Second

// tcpKeepAlive notices peers that vanished (host down) between queries.
const tcpKeepAlive = 30 * time.Second

type deadlineConnector struct{ dsn string }

func (c deadlineConnector) Driver() driver.Driver { return &pq.Driver{} }

func (c deadlineConnector) Connect(ctx context.Context) (driver.Conn, error) {
	pc, err := pq.NewConnector(c.dsn)
	if err != nil {
		return nil, err
	}
	d := &socketDialer{}
	pc.Dialer(d)

	// The startup handshake can hang on a frozen server too.
	var expired atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		expired.Store(true)
		d.expire()
	})
	cn, err := pc.Connect(ctx)
	if !stop() || expired.Load() {
		if err == nil { // on error lib/pq returns a typed nil connection
			_ = cn.Close()
		}
		return nil, errors.Join(ctx.Err(), err)
	}
	if err != nil {
		return nil, err
	}
	sock := d.settle()
	full, ok := cn.(pqConn)
	if !ok || sock == nil {
		// Not what this lib/pq version is known to return: use it unguarded
		// rather than break the connection.
		return cn, nil
	}
	return &deadlineConn{pqConn: full, sock: sock}, nil
}

// socketDialer records the socket of the connection being opened. lib/pq may
// dial several hosts in turn during Connect (the last one wins); after
// Connect it dials only for cancel requests, which must not be recorded.
type socketDialer struct {
	mu       sync.Mutex
	sock     net.Conn
	settled  bool
	expiring bool
}

func (d *socketDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d *socketDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d *socketDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	nd := net.Dialer{KeepAlive: tcpKeepAlive}
	c, err := nd.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.settled {
		// A cancel request, which lib/pq sends from a goroutine of its own
		// and reads until the server hangs up: bound it, or a frozen server
		// keeps the goroutine and its socket forever.
		_ = c.SetDeadline(time.Now().Add(cancelRequestTimeout))
		return c, nil
	}
	d.sock = c
	if d.expiring {
		_ = c.SetDeadline(pastDeadline)
	}
	return c, nil
}

func (d *socketDialer) expire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expiring = true
	if d.sock != nil {
		_ = d.sock.SetDeadline(pastDeadline)
	}
}

func (d *socketDialer) settle() net.Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settled = true
	return d.sock
}

// pqConn is the set of driver interfaces lib/pq's connection implements.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.NamedValueChecker
	driver.SessionResetter
	driver.Validator
}

type deadlineConn struct {
	pqConn
	sock    net.Conn
	expired atomic.Bool
}

// guard arms the socket deadline for the life of one call; release disarms
// it and, if it already fired, condemns the connection.
func (c *deadlineConn) guard(ctx context.Context) (release func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	stop := context.AfterFunc(ctx, func() {
		c.expired.Store(true)
		_ = c.sock.SetDeadline(pastDeadline)
	})
	// Once: a second stop() would report false and condemn a healthy connection.
	return sync.OnceFunc(func() {
		if !stop() {
			c.expired.Store(true)
		}
	})
}

func (c *deadlineConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *deadlineConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	// The transaction's context covers COMMIT and ROLLBACK as well.
	release := c.guard(ctx)
	tx, err := c.pqConn.BeginTx(ctx, opts)
	if err != nil {
		release()
		return nil, err
	}
	return &deadlineTx{tx: tx, release: release}, nil
}

func (c *deadlineConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	release := c.guard(ctx)
	defer release()
	st, err := c.pqConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	// A prepared statement runs on this connection's socket too, later and
	// with contexts of its own: each run needs the guard.
	if full, ok := st.(pqStmt); ok {
		return &deadlineStmt{pqStmt: full, conn: c}, nil
	}
	return st, nil
}

func (c *deadlineConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	release := c.guard(ctx)
	defer release()
	return c.pqConn.ExecContext(ctx, query, args)
}

func (c *deadlineConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	release := c.guard(ctx)
	rows, err := c.pqConn.QueryContext(ctx, query, args)
	return guardRows(rows, err, release)
}

// guardRows keeps a query's guard until its rows are closed: rows are read
// after QueryContext returns.
func guardRows(rows driver.Rows, err error, release func()) (driver.Rows, error) {
	if err != nil {
		release()
		return nil, err
	}
	if full, ok := rows.(pqRows); ok {
		return &deadlineRows{pqRows: full, release: release}, nil
	}
	return &plainDeadlineRows{Rows: rows, release: release}, nil
}

func (c *deadlineConn) Ping(ctx context.Context) error {
	release := c.guard(ctx)
	defer release()
	return c.pqConn.Ping(ctx)
}

func (c *deadlineConn) ResetSession(ctx context.Context) error {
	if c.expired.Load() {
		return driver.ErrBadConn
	}
	return c.pqConn.ResetSession(ctx)
}

func (c *deadlineConn) IsValid() bool {
	return !c.expired.Load() && c.pqConn.IsValid()
}

// pqStmt is the set of driver interfaces lib/pq's prepared statement implements.
type pqStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// deadlineStmt guards each run of a prepared statement. lib/pq's statement
// answers a cancelled context by sending a cancel request and then waits for
// the server to acknowledge it, which a frozen server never does; so the
// statement gets the context without its cancellation, and the guard alone
// ends a run that outlives its context.
type deadlineStmt struct {
	pqStmt
	conn *deadlineConn
}

func (s *deadlineStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	release := s.conn.guard(ctx)
	defer release()
	return s.pqStmt.ExecContext(context.WithoutCancel(ctx), args)
}

func (s *deadlineStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	release := s.conn.guard(ctx)
	rows, err := s.pqStmt.QueryContext(context.WithoutCancel(ctx), args)
	return guardRows(rows, err, release)
}

type deadlineTx struct {
	tx      driver.Tx
	release func()
}

func (t *deadlineTx) Commit() error {
	defer t.release()
	return t.tx.Commit()
}

func (t *deadlineTx) Rollback() error {
	defer t.release()
	return t.tx.Rollback()
}

// pqRows is the set of driver interfaces lib/pq's rows implement.
type pqRows interface {
	driver.Rows
	driver.RowsNextResultSet
	driver.RowsColumnTypeScanType
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypePrecisionScale
}

type deadlineRows struct {
	pqRows
	release func()
}

func (r *deadlineRows) Close() error {
	defer r.release()
	return r.pqRows.Close()
}

type plainDeadlineRows struct {
	driver.Rows
	release func()
}

func (r *plainDeadlineRows) Close() error {
	defer r.release()
	return r.Rows.Close()
}

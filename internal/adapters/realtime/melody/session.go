package melody

import (
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Session wrapper around websocket connections.
type Session struct {
	Request    *http.Request
	Keys       map[string]interface{}
	conn       *websocket.Conn
	output     chan *envelope
	outputDone chan struct{}
	melody     *Melody
	open       bool
	rwmutex    *sync.RWMutex
	writing    atomic.Bool // a writePump is running
	pinger     *time.Timer
}

func (s *Session) writeMessage(message *envelope) {
	if s.closed() {
		s.melody.errorHandler(s, ErrWriteClosed)
		return
	}

	select {
	case s.output <- message:
		s.startWriter()
	default:
		s.melody.errorHandler(s, ErrMessageBufferFull)
	}
}

// startWriter starts a writePump unless one is running. (Patch: upstream
// runs one writePump for the session's whole life; an idle session here
// holds no writer goroutine.)
func (s *Session) startWriter() {
	// Load first: while a writer runs (a stream), no locked instruction.
	if !s.writing.Load() && s.writing.CompareAndSwap(false, true) {
		go s.writePump()
	}
}

func (s *Session) writeRaw(message *envelope) error {
	if s.closed() {
		return ErrWriteClosed
	}

	s.conn.SetWriteDeadline(time.Now().Add(s.melody.Config.WriteWait))
	err := s.conn.WriteMessage(message.t, message.msg)

	if err != nil {
		return err
	}

	return nil
}

func (s *Session) closed() bool {
	s.rwmutex.RLock()
	defer s.rwmutex.RUnlock()

	return !s.open
}

func (s *Session) close() {
	s.rwmutex.Lock()
	open := s.open
	s.open = false
	s.rwmutex.Unlock()
	if open {
		s.conn.Close()
		close(s.outputDone)
		if s.pinger != nil {
			s.pinger.Stop()
		}
	}
}

// startPinging pings the peer every PingPeriod from a timer rather than from
// the writer, which may not be running. WriteControl may be called
// concurrently with the writer.
func (s *Session) startPinging() {
	// Armed only once s.pinger is set: the callback reads it.
	s.pinger = time.AfterFunc(time.Duration(math.MaxInt64), s.ping)
	s.pinger.Reset(s.melody.Config.PingPeriod)
}

func (s *Session) ping() {
	if s.closed() {
		return
	}
	_ = s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.melody.Config.WriteWait))
	s.pinger.Reset(s.melody.Config.PingPeriod)
}

// writerLinger is how long a writePump waits for more messages before it
// ends (between one and two of them): a session streaming a reply keeps its
// writer, an idle one lets it go.
const writerLinger = time.Second

// writePump writes the queued messages; it ends when the session closes,
// a write fails, or nothing was queued for a whole writerLinger. (The timer
// is not reset per message: that cost a tenth of a 1000-socket fan-out.)
func (s *Session) writePump() {
	linger := time.NewTimer(writerLinger)
	defer linger.Stop()

	wrote := false // since the timer last fired
	for {
		select {
		case msg := <-s.output:
			if !s.send(msg) {
				s.close()
				return
			}
			wrote = true
		case <-s.outputDone:
			s.close()
			return
		case <-linger.C:
			if !wrote {
				s.writing.Store(false)
				// A message queued before the Store saw a running writer
				// and started none: take it, unless a new writer already has.
				if len(s.output) == 0 || !s.writing.CompareAndSwap(false, true) {
					return
				}
			}
			wrote = false
			linger.Reset(writerLinger)
		}
	}
}

// send writes one message; false ends the writer (an error, or the close
// frame written).
func (s *Session) send(msg *envelope) bool {
	if err := s.writeRaw(msg); err != nil {
		s.melody.errorHandler(s, err)
		return false
	}
	switch msg.t {
	case websocket.CloseMessage:
		return false
	case websocket.TextMessage:
		s.melody.messageSentHandler(s, msg.msg)
	case websocket.BinaryMessage:
		s.melody.messageSentHandlerBinary(s, msg.msg)
	}
	return true
}

func (s *Session) readPump() {
	s.conn.SetReadLimit(s.melody.Config.MaxMessageSize)
	s.conn.SetReadDeadline(time.Now().Add(s.melody.Config.PongWait))

	s.conn.SetPongHandler(func(string) error {
		s.conn.SetReadDeadline(time.Now().Add(s.melody.Config.PongWait))
		s.melody.pongHandler(s)
		return nil
	})

	if s.melody.closeHandler != nil {
		s.conn.SetCloseHandler(func(code int, text string) error {
			return s.melody.closeHandler(s, code, text)
		})
	}

	for {
		t, message, err := s.conn.ReadMessage()

		if err != nil {
			s.melody.errorHandler(s, err)
			break
		}

		if t == websocket.TextMessage {
			s.melody.messageHandler(s, message)
		}

		if t == websocket.BinaryMessage {
			s.melody.messageHandlerBinary(s, message)
		}
	}
}

// Write writes message to session.
func (s *Session) Write(msg []byte) error {
	if s.closed() {
		return ErrSessionClosed
	}

	s.writeMessage(&envelope{t: websocket.TextMessage, msg: msg})

	return nil
}

// WriteBinary writes a binary message to session.
func (s *Session) WriteBinary(msg []byte) error {
	if s.closed() {
		return ErrSessionClosed
	}

	s.writeMessage(&envelope{t: websocket.BinaryMessage, msg: msg})

	return nil
}

// Close closes session.
func (s *Session) Close() error {
	if s.closed() {
		return ErrSessionClosed
	}

	s.writeMessage(&envelope{t: websocket.CloseMessage, msg: []byte{}})

	return nil
}

// CloseWithMsg closes the session with the provided payload.
// Use the FormatCloseMessage function to format a proper close message payload.
func (s *Session) CloseWithMsg(msg []byte) error {
	if s.closed() {
		return ErrSessionClosed
	}

	s.writeMessage(&envelope{t: websocket.CloseMessage, msg: msg})

	return nil
}

// Set is used to store a new key/value pair exclusively for this session.
// It also lazy initializes s.Keys if it was not used previously.
func (s *Session) Set(key string, value interface{}) {
	s.rwmutex.Lock()
	defer s.rwmutex.Unlock()

	if s.Keys == nil {
		s.Keys = make(map[string]interface{})
	}

	s.Keys[key] = value
}

// Get returns the value for the given key, ie: (value, true).
// If the value does not exists it returns (nil, false)
func (s *Session) Get(key string) (value interface{}, exists bool) {
	s.rwmutex.RLock()
	defer s.rwmutex.RUnlock()

	if s.Keys != nil {
		value, exists = s.Keys[key]
	}

	return
}

// MustGet returns the value for the given key if it exists, otherwise it panics.
func (s *Session) MustGet(key string) interface{} {
	if value, exists := s.Get(key); exists {
		return value
	}

	panic("Key \"" + key + "\" does not exist")
}

// UnSet will delete the key and has no return value
func (s *Session) UnSet(key string) {
	s.rwmutex.Lock()
	defer s.rwmutex.Unlock()
	if s.Keys != nil {
		delete(s.Keys, key)
	}
}

// IsClosed returns the status of the connection.
func (s *Session) IsClosed() bool {
	return s.closed()
}

// LocalAddr returns the local addr of the connection.
func (s *Session) LocalAddr() net.Addr {
	return s.conn.LocalAddr()
}

// RemoteAddr returns the remote addr of the connection.
func (s *Session) RemoteAddr() net.Addr {
	return s.conn.RemoteAddr()
}

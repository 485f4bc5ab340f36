package llm

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxEventBytes caps one event (and one line). A chunk is a few hundred
// bytes; 8 MiB leaves room for a huge reasoning block or an inline image
// while keeping a broken or hostile upstream from growing our memory without
// bound.
const maxEventBytes = 8 << 20

// sseBufferSize is the read buffer; longer lines are assembled beside it.
const sseBufferSize = 32 << 10

var errEventTooLarge = errors.New("server-sent event over the size limit")

var utf8BOM = []byte("\xEF\xBB\xBF")

// sseReader splits a text/event-stream into the data of its events, as the
// WHATWG spec says, minus what OpenAI-compatible servers never use:
//   - lines end with \n, optionally preceded by \r; a line has any length up
//     to the cap (no bufio.Scanner and its 64 KiB limit);
//   - a line starting with ':' is a comment (OpenRouter's keep-alive);
//   - "data:" with or without one following space; several data lines of
//     one event are joined with \n; other fields (event, id, retry) are
//     ignored;
//   - a blank line ends an event; an event without data is no event.
//
// One deliberate leniency: at EOF, an event whose lines were all complete is
// delivered even if the closing blank line never came, so that a server
// writing "data: ...\n" and closing loses no final chunk. A partial last
// line is dropped.
//
// The reader never allocates per event once its buffers have grown.
type sseReader struct {
	br    *bufio.Reader
	long  []byte // assembles a line longer than the read buffer
	data  []byte // data of the event being read; returned to the caller
	max   int
	first bool // no line read yet: strip a byte-order mark
	err   error
}

func newSSEReader(r io.Reader, maxEvent int) *sseReader {
	return &sseReader{br: bufio.NewReaderSize(r, sseBufferSize), max: maxEvent, first: true}
}

// next returns the data of the next event, valid until the following call.
// At the end of the stream it returns io.EOF; any other error is a read
// failure or errEventTooLarge. Errors are sticky.
func (s *sseReader) next() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	s.data = s.data[:0]
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			s.err = err
			if errors.Is(err, io.EOF) && hasData {
				return s.data, nil
			}
			return nil, err
		}
		if s.first {
			s.first = false
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(line) == 0 {
			if hasData {
				return s.data, nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		if string(field) != "data" {
			continue
		}
		if hasData {
			s.data = append(s.data, '\n')
		}
		if len(s.data)+len(value) > s.max {
			s.err = errEventTooLarge
			return nil, s.err
		}
		s.data = append(s.data, value...)
		hasData = true
	}
}

// readLine returns the next complete line without its terminator. The slice
// is valid until the next read. A partial line at EOF is dropped (io.EOF).
func (s *sseReader) readLine() ([]byte, error) {
	frag, err := s.br.ReadSlice('\n')
	if err == nil && len(frag) <= s.max+2 { // +2: the terminator
		return trimEOL(frag), nil
	}
	// The line is longer than the buffer, or the stream ended or broke.
	s.long = s.long[:0]
	for {
		if len(s.long)+len(frag) > s.max+2 {
			return nil, errEventTooLarge
		}
		s.long = append(s.long, frag...)
		if err == nil {
			return trimEOL(s.long), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		frag, err = s.br.ReadSlice('\n')
	}
}

func trimEOL(line []byte) []byte {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// sseReader reads Server-Sent Events without allocating per event: the
// slices it returns stay valid until the next call.
type sseReader struct {
	br   *bufio.Reader
	line []byte // a line longer than the buffer, assembled
	name []byte
	data []byte
	id   []byte
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{br: bufio.NewReaderSize(r, 32<<10)}
}

// readLine returns the next line without its end of line.
func (s *sseReader) readLine() ([]byte, error) {
	l, err := s.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		s.line = append(s.line[:0], l...)
		for errors.Is(err, bufio.ErrBufferFull) {
			l, err = s.br.ReadSlice('\n')
			s.line = append(s.line, l...)
		}
		l = s.line
	}
	if err != nil && (!errors.Is(err, io.EOF) || len(l) == 0) {
		return nil, err
	}
	l = bytes.TrimSuffix(l, []byte("\n"))
	l = bytes.TrimSuffix(l, []byte("\r"))
	return l, nil
}

// next returns the next event's name (empty: "message") and data; comments
// are skipped. io.EOF ends the stream.
func (s *sseReader) next() (name, data []byte, err error) {
	s.name, s.data, s.id = s.name[:0], s.data[:0], s.id[:0]
	seen := false
	for {
		l, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && seen {
				return s.name, s.data, nil
			}
			return nil, nil, err
		}
		if len(l) == 0 {
			if seen {
				return s.name, s.data, nil
			}
			continue
		}
		if l[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(l, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			s.name = append(s.name[:0], value...)
			seen = true
		case "data":
			if len(s.data) > 0 {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
			seen = true
		case "id":
			s.id = append(s.id[:0], value...)
			seen = true
		}
	}
}

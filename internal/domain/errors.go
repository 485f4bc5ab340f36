// Package domain holds chatd's entities and the rules they enforce. It imports
// only the standard library.
package domain

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind classifies failures so that every edge (HTTP, WebSocket, CLI) can
// answer them the same way without knowing where they came from.
type ErrorKind uint8

const (
	ErrInvalid ErrorKind = iota + 1
	ErrNotFound
	ErrForbidden
	ErrConflict
	ErrUnauthenticated
	ErrRateLimited
	ErrUnavailable
)

func (k ErrorKind) String() string {
	switch k {
	case ErrInvalid:
		return "invalid"
	case ErrNotFound:
		return "not-found"
	case ErrForbidden:
		return "forbidden"
	case ErrConflict:
		return "conflict"
	case ErrUnauthenticated:
		return "unauthenticated"
	case ErrRateLimited:
		return "rate-limited"
	case ErrUnavailable:
		return "unavailable"
	}
	return "unknown"
}

// FieldError names one invalid input field.
type FieldError struct {
	Field   string
	Message string
}

// Error is the one error type the core returns for failures a caller should
// see. Code is a stable machine-readable slug; Detail a human sentence.
type Error struct {
	Kind       ErrorKind
	Code       string
	Detail     string
	Fields     []FieldError
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	msg := e.Kind.String() + ": " + e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// AsError returns the domain error inside err, if any.
func AsError(err error) (*Error, bool) {
	var de *Error
	ok := errors.As(err, &de)
	return de, ok
}

// KindOf returns the kind of err, or zero when err carries none.
func KindOf(err error) ErrorKind {
	if de, ok := AsError(err); ok {
		return de.Kind
	}
	return 0
}

// IsKind reports whether err is a domain error of kind k.
func IsKind(err error, k ErrorKind) bool { return KindOf(err) == k }

// Invalid reports input that is well formed but breaks a rule.
func Invalid(code, detail string, fields ...FieldError) *Error {
	return &Error{Kind: ErrInvalid, Code: code, Detail: detail, Fields: fields}
}

// InvalidField reports a single invalid field.
func InvalidField(field, message string) *Error {
	return &Error{
		Kind:   ErrInvalid,
		Code:   "invalid-field",
		Detail: fmt.Sprintf("%s %s", field, message),
		Fields: []FieldError{{Field: field, Message: message}},
	}
}

// NotFound reports something that does not exist or that the caller may not see.
func NotFound(what string) *Error {
	return &Error{Kind: ErrNotFound, Code: what + "-not-found", Detail: what + " not found"}
}

// Forbidden reports an authenticated caller who may not do this.
func Forbidden(code, detail string) *Error {
	return &Error{Kind: ErrForbidden, Code: code, Detail: detail}
}

// Conflict reports a clash with existing state.
func Conflict(code, detail string) *Error {
	return &Error{Kind: ErrConflict, Code: code, Detail: detail}
}

// Unauthenticated reports a missing or bad credential.
func Unauthenticated(code, detail string) *Error {
	return &Error{Kind: ErrUnauthenticated, Code: code, Detail: detail}
}

// RateLimited reports a caller over a limit; retryAfter says when to come back.
func RateLimited(code, detail string, retryAfter time.Duration) *Error {
	return &Error{Kind: ErrRateLimited, Code: code, Detail: detail, RetryAfter: retryAfter}
}

// Unavailable reports a dependency (database, provider) that cannot serve now.
func Unavailable(code, detail string, cause error) *Error {
	return &Error{Kind: ErrUnavailable, Code: code, Detail: detail, Err: cause}
}

package storage

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chatd/chatd/internal/domain"
)

// errUnavailable is what a caller sees when the database itself fails
// (refused, frozen, timed out, disk full): the HTTP edge answers 503 and the
// client may retry.
func errUnavailable(cause error) *domain.Error {
	return domain.Unavailable("storage-unavailable", "the database is not answering; try again shortly", cause)
}

// wrap names the operation and classifies err. Domain errors (not found,
// conflicts, errors from a caller's update function) pass as they are.
// Errors caused by the statement itself (a broken constraint, bad SQL) are
// bugs, not outages, and stay plain so they answer 500 and get fixed.
// Everything else is the database failing and becomes storage-unavailable.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := domain.AsError(err); ok || isStatementError(err) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w", op, errUnavailable(err))
}

// isStatementError reports errors that retrying cannot fix because the
// statement or its data is wrong.
func isStatementError(err error) bool {
	if isJSONError(err) {
		return true
	}
	if pqErr := pq.As(err); pqErr != nil {
		switch pqErr.Code.Class() {
		case "21", // cardinality violation
			"22", // data exception
			"23", // integrity constraint violation
			"42", // syntax error or access rule violation
			"0A", // feature not supported
			"44": // WITH CHECK OPTION violation
			return true
		}
		return false
	}
	if code, ok := sqliteCode(err); ok {
		switch code & 0xff {
		case sqlite3.SQLITE_ERROR, sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH,
			sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE, sqlite3.SQLITE_MISUSE:
			return true
		}
	}
	return false
}

func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	return 0, false
}

// isUniqueViolation covers unique indexes and primary keys on both dialects.
func isUniqueViolation(err error) bool {
	if pq.As(err, pqerror.UniqueViolation) != nil {
		return true
	}
	code, ok := sqliteCode(err)
	return ok && (code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// isForeignKeyViolation reports a row that points at a missing parent, e.g.
// a message for a session deleted a moment earlier.
func isForeignKeyViolation(err error) bool {
	if pq.As(err, pqerror.ForeignKeyViolation) != nil {
		return true
	}
	code, ok := sqliteCode(err)
	return ok && code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// isJSONError reports a value that cannot be encoded (NaN) or a stored value
// that cannot be decoded: a data problem, not an outage.
func isJSONError(err error) bool {
	var (
		syntax      *json.SyntaxError
		unmarshal   *json.UnmarshalTypeError
		unsupported *json.UnsupportedValueError
		badType     *json.UnsupportedTypeError
	)
	return errors.As(err, &syntax) || errors.As(err, &unmarshal) || errors.As(err, &unsupported) || errors.As(err, &badType)
}

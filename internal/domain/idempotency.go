package domain

import "time"

// IdempotencyRecord remembers what a keyed post created, so a retry with the
// same key and body answers the same messages and creates nothing.
type IdempotencyRecord struct {
	UserID             string
	Key                string
	RequestHash        string
	UserMessageID      string
	AssistantMessageID *string
	CreatedAt          time.Time
}

// MaxIdempotencyKeyLen bounds a client's key.
const MaxIdempotencyKeyLen = 255

// CheckIdempotencyKey validates a client-chosen key.
func CheckIdempotencyKey(key string) error {
	if err := checkText("Idempotency-Key", key, 1, MaxIdempotencyKeyLen); err != nil {
		return err
	}
	return nil
}

// Matches reports whether a retry carries the same request as the first use.
func (r IdempotencyRecord) Matches(requestHash string) error {
	if r.RequestHash != requestHash {
		return Conflict("idempotency-key-reused", "this Idempotency-Key was used with a different request")
	}
	return nil
}

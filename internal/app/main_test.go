package app_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain proves that the use cases leave no goroutine behind: every
// generation, flusher and title call the Generator starts has ended once
// Stop returned.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

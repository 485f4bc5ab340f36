package fakes

import (
	"testing"

	"github.com/chatd/chatd/internal/ports"
	"github.com/chatd/chatd/internal/ports/limitstest"
)

// The fake slots stand in for the real ones in use-case tests, so they
// keep the same contract.
func TestGenerationSlotsContract(t *testing.T) {
	limitstest.RunGenerationSlots(t, func(*testing.T) ports.GenerationSlots { return NewGenerationSlots() })
}

package fakes

import (
	"fmt"
	"sync"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.IDs = (*IDs)(nil)

// IDs makes canonical lower-case UUIDs (version 7 layout, like the real
// ones) from a counter: deterministic, and increasing in text order, so ids
// sort by creation as UUIDv7 ids do.
type IDs struct {
	mu sync.Mutex
	n  uint64
}

// NewIDs returns a generator whose first id ends in ...0001.
func NewIDs() *IDs { return &IDs{} }

// NewID returns the next id.
func (g *IDs) NewID() string {
	g.mu.Lock()
	g.n++
	n := g.n
	g.mu.Unlock()
	return fmt.Sprintf("00000000-0000-7000-8000-%012x", n)
}

// Issued tells how many ids were made.
func (g *IDs) Issued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int(g.n)
}

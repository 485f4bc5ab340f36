package system

import (
	"github.com/google/uuid"

	"github.com/chatd/chatd/internal/ports"
)

var _ ports.IDs = (*IDs)(nil)

// IDs makes UUIDv7 ids: time-ordered, so ids sort by creation time and
// B-tree indexes on them stay append-mostly.
type IDs struct{}

// NewIDs returns the id generator.
func NewIDs() *IDs { return &IDs{} }

// NewID returns a new UUIDv7 in canonical lower-case form. uuid.NewV7 fails
// only if the OS random source does, which the supported systems document
// never happens (crypto/rand.Read itself crashes the process then); the port
// has no error to return, so the panic is the honest outcome.
func (*IDs) NewID() string { return uuid.Must(uuid.NewV7()).String() }

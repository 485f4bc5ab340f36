package ports

import "time"

// Clock tells the time; tests freeze it.
type Clock interface {
	Now() time.Time
}

// IDs makes new entity ids in canonical UUID form.
type IDs interface {
	NewID() string
}

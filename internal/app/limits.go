package app

// Limits are the deployment's bounds on what a caller may send.
type Limits struct {
	MaxMessageChars int
}

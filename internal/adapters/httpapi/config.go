package httpapi

import "time"

// Config is the HTTP edge's share of the settings.
type Config struct {
	Addr           string
	CORSOrigins    []string
	MaxBodyBytes   int64
	RateLimitAPI   int // requests per user per minute
	RateLimitAuth  int // register/login/refresh attempts per address (and login per account) per minute
	Version        string
	DrainDelay     time.Duration // how long /health/ready answers 503 before the listener closes
	RequestTimeout time.Duration // deadline of a request that is not a stream
	TrustedProxies []string      // proxies whose X-Forwarded-For names the client (empty: none)
	MaxImportBytes int64         // the import route's body limit, instead of MaxBodyBytes
}

package realtime

import "testing"

// A browser page may open a socket when chatd served it (the page at /,
// with CHAT_CORS_ORIGINS empty) or its origin is allowed; other origins may
// not, whatever their Host trick.
func TestOriginAllowed(t *testing.T) {
	h := &Hub{cfg: Config{AllowedOrigins: []string{"https://app.example"}}}
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"", "chat.example:8000", true},
		{"http://chat.example:8000", "chat.example:8000", true},
		{"https://CHAT.example", "chat.example", true},
		{"https://app.example", "chat.example", true},
		{"https://evil.example", "chat.example", false},
		{"http://chat.example:8001", "chat.example:8000", false},
		{"null", "chat.example", false},
		{"ws://chat.example", "chat.example", false},
		{"http://chat.example.evil.example", "chat.example", false},
	} {
		if got := h.originAllowed(tc.origin, tc.host); got != tc.want {
			t.Errorf("origin %q to host %q: allowed %v, want %v", tc.origin, tc.host, got, tc.want)
		}
	}
}

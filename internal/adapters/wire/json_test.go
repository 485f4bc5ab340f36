package wire

import (
	"encoding/json"
	"testing"
	"time"
)

// Timestamps are RFC 3339 in UTC with exactly three fractional digits,
// whatever the zone and precision they come with.
func TestTimestampJSON(t *testing.T) {
	at := time.Date(2026, 12, 3, 15, 4, 5, 123456789, time.FixedZone("x", 2*3600))
	b, err := json.Marshal(struct {
		At   Timestamp  `json:"at"`
		Opt  *Timestamp `json:"opt"`
		None *Timestamp `json:"none"`
	}{At: Timestamp(at), Opt: optionalTimestamp(&at)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"at":"2026-12-03T13:04:05.123Z","opt":"2026-12-03T13:04:05.123Z","none":null}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}

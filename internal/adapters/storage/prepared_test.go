package storage

import "testing"

func TestNumberedPlaceholders(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                              "SELECT 1",
		"WHERE a = ? AND b = ?":                 "WHERE a = $1 AND b = $2",
		"WITH p AS (SELECT ?) SELECT ? LIMIT ?": "WITH p AS (SELECT $1) SELECT $2 LIMIT $3",
		"?":                                     "$1",
	} {
		if got := numberedPlaceholders(in); got != want {
			t.Errorf("numberedPlaceholders(%q) = %q, want %q", in, got, want)
		}
	}
}

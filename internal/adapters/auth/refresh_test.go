package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"
)

func TestNewRefresh(t *testing.T) {
	iss := newIssuer(t)
	tok, hash, err := iss.NewRefresh()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q: %d bytes, %v", tok, len(raw), err)
	}
	sum := sha256.Sum256([]byte(tok))
	if hash != hex.EncodeToString(sum[:]) || iss.HashRefresh(tok) != hash {
		t.Errorf("hash = %q, HashRefresh = %q", hash, iss.HashRefresh(tok))
	}
	tok2, hash2, _ := iss.NewRefresh()
	if tok2 == tok || hash2 == hash {
		t.Error("two refresh tokens are equal")
	}
	if iss.RefreshTTL() != 30*24*time.Hour {
		t.Errorf("RefreshTTL = %v", iss.RefreshTTL())
	}
}

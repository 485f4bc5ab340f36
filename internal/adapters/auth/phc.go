package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Upper bounds on parameters read back from storage, so that a corrupt or
// planted hash cannot make one login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	maxSaltLen   = 64
	maxKeyLen    = 128
)

// ErrMalformedHash reports a stored password hash this package cannot read.
var ErrMalformedHash = errors.New("malformed argon2id hash")

// b64 is the PHC string format's encoding: standard alphabet, no padding.
// Strict refuses non-zero trailing bits, so one hash has one spelling.
var b64 = base64.RawStdEncoding.Strict()

// phcHash is one argon2id hash in PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
type phcHash struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

func (h phcHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parsePHC reads an argon2id PHC string strictly: exact field order, our
// version only, bounded parameters. Anything else is ErrMalformedHash.
func parsePHC(s string) (phcHash, error) {
	var h phcHash
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return h, fmt.Errorf("%w: want m,t,p parameters", ErrMalformedHash)
	}
	m, err1 := parseParam(params[0], "m", 32)
	t, err2 := parseParam(params[1], "t", 32)
	p, err3 := parseParam(params[2], "p", 8)
	if err1 != nil || err2 != nil || err3 != nil {
		return h, fmt.Errorf("%w: bad parameters %q", ErrMalformedHash, parts[3])
	}
	h.params = Argon2Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p)}
	if h.salt, err1 = b64.DecodeString(parts[4]); err1 != nil {
		return h, fmt.Errorf("%w: bad salt encoding", ErrMalformedHash)
	}
	if h.key, err1 = b64.DecodeString(parts[5]); err1 != nil {
		return h, fmt.Errorf("%w: bad key encoding", ErrMalformedHash)
	}
	h.params.SaltLen, h.params.KeyLen = uint32(len(h.salt)), uint32(len(h.key))
	if err := h.params.validate(); err != nil || m > maxMemoryKiB || t > maxTime ||
		len(h.salt) > maxSaltLen || len(h.key) > maxKeyLen {
		return h, fmt.Errorf("%w: parameters out of range", ErrMalformedHash)
	}
	return h, nil
}

// parseParam reads "name=<decimal>" with no sign, spaces or leading zeros, so one hash has one spelling.
func parseParam(s, name string, bits int) (uint64, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("want %s=<n>", name)
	}
	return strconv.ParseUint(v, 10, bits)
}

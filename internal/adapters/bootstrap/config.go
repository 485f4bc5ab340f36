// Package bootstrap is chatd's composition root: it loads the configuration,
// picks the adapters and builds the fx graph that cmd/chatd and the tests share.
package bootstrap

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Version is chatd's release, set at build time with -ldflags.
var Version = "0.1.0"

// Config is every setting, typed and validated once at start.
type Config struct {
	HTTPAddr          string
	DatabaseURL       string
	SQLiteSynchronous string // full or normal
	JWTSecret         string
	AccessTokenTTL    time.Duration
	RefreshTokenTTL   time.Duration
	LocalBaseURL      string
	OpenRouterBaseURL string
	OpenRouterAPIKey  string
	LocalAPIKey       string
	OpenRouterReferer string
	OpenRouterTitle   string

	LLMConnectTimeout           time.Duration
	LocalFirstTokenTimeout      time.Duration
	OpenRouterFirstTokenTimeout time.Duration
	LLMIdleTimeout              time.Duration
	LLMTotalTimeout             time.Duration
	LLMMaxRetries               int
	MaxTokensCeiling            int
	ContextMessages             int
	TitleModel                  string
	ReplayEvents                int
	ReplayAge                   time.Duration
	BrokerURL                   string
	WSMaxFrameBytes             int64
	WSSendBuffer                int

	CORSOrigins              []string
	TrustedProxies           []string
	LogLevel                 string
	LogFormat                string
	RateLimitAPI             int
	RateLimitLLM             int
	RateLimitAuth            int
	MaxConcurrentGenerations int
	UserDailyTokens          int
	MaxBodyBytes             int64
	MaxImportBytes           int64
	MaxMessageChars          int
	ShutdownTimeout          time.Duration
	DrainDelay               time.Duration
	RequestTimeout           time.Duration

	// OpenTelemetry, under the standard OTEL_* names. The protocols are read
	// only to refuse one chatd cannot speak.
	OTelSDKDisabled    bool
	OTelTracesExporter string
	OTelServiceName    string
	OTLPEndpoint       string
	OTLPTracesEndpoint string
	OTLPProtocol       string
	OTLPTracesProtocol string
}

// ErrHelp is returned by Load when the command line asked for help.
var ErrHelp = flag.ErrHelp

// Load reads every setting from the environment and the command line (a flag
// wins over its variable), validates them all, and reports every bad value at
// once. It returns the arguments left after the flags.
func Load(args []string, getenv func(string) string) (Config, []string, error) {
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	// The caller prints the error once; the flag package would print it too.
	fs.SetOutput(io.Discard)
	values := make(map[string]*string, len(settings))
	for _, s := range settings {
		values[s.env] = fs.String(s.Flag(), "", s.help)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var cfg Config
	var problems []string
	for _, s := range settings {
		raw, err := resolve(s, given[s.Flag()], *values[s.env], getenv)
		if err == nil {
			err = s.apply(&cfg, raw)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", s.env, err))
		}
	}
	if len(problems) > 0 {
		return Config{}, nil, errors.New("invalid configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return cfg, fs.Args(), nil
}

// resolve picks the flag, else the variable, else <VAR>_FILE for secrets,
// else the default.
func resolve(s setting, flagGiven bool, flagValue string, getenv func(string) string) (string, error) {
	if flagGiven {
		return flagValue, nil
	}
	if v := getenv(s.env); v != "" {
		return v, nil
	}
	if s.secret {
		if path := getenv(s.env + "_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("read %s_FILE: %w", s.env, err)
			}
			return strings.TrimSpace(string(b)), nil
		}
	}
	return s.def, nil
}

// IsSQLite reports whether the database is the embedded default.
func (c Config) IsSQLite() bool { return strings.HasPrefix(c.DatabaseURL, "sqlite://") }

// ResolveJWTSecret makes sure a secret of at least 32 bytes exists. In SQLite
// dev mode with none given, one is generated once and kept beside the
// database file, so tokens survive restarts. With PostgreSQL it is required.
func (c *Config) ResolveJWTSecret() error {
	if c.JWTSecret != "" {
		if len(c.JWTSecret) < 32 {
			return fmt.Errorf("CHAT_JWT_SECRET must be at least 32 bytes, got %d", len(c.JWTSecret))
		}
		return nil
	}
	if !c.IsSQLite() {
		return errors.New("CHAT_JWT_SECRET is required with PostgreSQL (at least 32 random bytes, e.g. `openssl rand -hex 32`)")
	}
	dbPath := strings.TrimPrefix(c.DatabaseURL, "sqlite://")
	dbPath, _, _ = strings.Cut(dbPath, "?")
	path := filepath.Join(filepath.Dir(dbPath), "jwt_secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		c.JWTSecret = strings.TrimSpace(string(b))
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return fmt.Errorf("generate jwt secret: %w", err)
	}
	secret := hex.EncodeToString(key[:])
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("store generated jwt secret: %w", err)
	}
	c.JWTSecret = secret
	return nil
}

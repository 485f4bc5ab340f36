package bootstrap

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// env is a fake environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func load(t *testing.T, args []string, e env) Config {
	t.Helper()
	cfg, _, err := Load(args, e.get)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

// devConfig is the default configuration with its SQLite file in a
// temporary directory.
func devConfig(t *testing.T) Config {
	t.Helper()
	cfg := load(t, nil, env{"CHAT_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "chat.db")})
	if err := cfg.ResolveJWTSecret(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The whole graph resolves: a constructor whose dependency nobody provides
// fails here, in go test, not at a deployment's start.
func TestGraphIsComplete(t *testing.T) {
	cfg := devConfig(t)
	if err := fx.ValidateApp(Options(cfg, zap.NewNop())); err != nil {
		t.Fatalf("serving graph: %v", err)
	}
	if err := fx.ValidateApp(CoreOptions(cfg, zap.NewNop())); err != nil {
		t.Fatalf("core graph: %v", err)
	}
	// The check has teeth: a dependency nobody provides is reported.
	type unprovided struct{}
	err := fx.ValidateApp(Options(cfg, zap.NewNop()), fx.Invoke(func(unprovided) {}))
	if err == nil || !strings.Contains(err.Error(), "missing type") {
		t.Fatalf("a missing provider validated: %v", err)
	}
}

func TestLoadDefaults(t *testing.T) {
	cfg, rest, err := Load(nil, env{}.get)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Fatalf("arguments left: %q", rest)
	}
	for name, got := range map[string]any{
		"HTTPAddr":                 cfg.HTTPAddr == "127.0.0.1:8000",
		"DatabaseURL":              cfg.DatabaseURL == "sqlite://./data/chat.db",
		"JWTSecret":                cfg.JWTSecret == "",
		"AccessTokenTTL":           cfg.AccessTokenTTL == 15*time.Minute,
		"RefreshTokenTTL":          cfg.RefreshTokenTTL == 720*time.Hour,
		"LocalBaseURL":             cfg.LocalBaseURL == "http://127.0.0.1:11434/v1",
		"OpenRouterBaseURL":        cfg.OpenRouterBaseURL == "https://openrouter.ai/api/v1",
		"OpenRouterAPIKey":         cfg.OpenRouterAPIKey == "",
		"CORSOrigins":              len(cfg.CORSOrigins) == 0,
		"LogLevel":                 cfg.LogLevel == "info",
		"LogFormat":                cfg.LogFormat == "json",
		"MaxConcurrentGenerations": cfg.MaxConcurrentGenerations == 4,
		"RateLimitLLM":             cfg.RateLimitLLM == 30,
		"MaxBodyBytes":             cfg.MaxBodyBytes == 1<<20,
		"MaxMessageChars":          cfg.MaxMessageChars == 32000,
		"ShutdownTimeout":          cfg.ShutdownTimeout == 15*time.Second,
		"WSMaxFrameBytes":          cfg.WSMaxFrameBytes == 64<<10,
		"ContextMessages":          cfg.ContextMessages == 50,
		"MaxTokensCeiling":         cfg.MaxTokensCeiling == 8192,
	} {
		if got != true {
			t.Errorf("default %s is wrong", name)
		}
	}
	if !cfg.IsSQLite() {
		t.Error("the default database is not SQLite")
	}
	// Every default passes its own validation (Load did not fail), and each
	// setting's default is what the table says: applying it alone gives the
	// same field.
	for _, s := range settings {
		var one Config
		if err := s.apply(&one, s.def); err != nil {
			t.Errorf("%s: default %q refused: %v", s.env, s.def, err)
		}
	}
}

func TestLoadFlagWinsOverEnvironment(t *testing.T) {
	e := env{"CHAT_HTTP_ADDR": "0.0.0.0:9000", "CHAT_LOG_LEVEL": "debug", "CHAT_SHUTDOWN_TIMEOUT": "30s"}
	cfg, rest, err := Load([]string{"--chat-http-addr", "127.0.0.1:7000", "-chat-shutdown-timeout=2s", "serve", "--chat-log-level=warn"}, e.get)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:7000" || cfg.ShutdownTimeout != 2*time.Second {
		t.Fatalf("flags lost: %q %v", cfg.HTTPAddr, cfg.ShutdownTimeout)
	}
	if cfg.LogLevel != "debug" {
		t.Fatalf("environment lost: log level %q", cfg.LogLevel)
	}
	if !reflect.DeepEqual(rest, []string{"serve", "--chat-log-level=warn"}) {
		t.Fatalf("arguments left %q", rest)
	}
	// A flag given empty still wins, and is validated.
	if _, _, err := Load([]string{"--chat-http-addr="}, e.get); err == nil || !strings.Contains(err.Error(), "CHAT_HTTP_ADDR") {
		t.Fatalf("an empty flag: %v", err)
	}
}

func TestLoadCommandLineErrors(t *testing.T) {
	if _, _, err := Load([]string{"--help"}, env{}.get); !errors.Is(err, ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	if _, _, err := Load([]string{"--no-such-flag"}, env{}.get); err == nil {
		t.Fatal("an unknown flag was accepted")
	}
}

func TestLoadSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := strings.Repeat("s", 40)
	cfg := load(t, nil, env{
		"CHAT_JWT_SECRET_FILE":         write("jwt", "\n"+secret+"\n"),
		"CHAT_OPENROUTER_API_KEY_FILE": write("or", "sk-or-file"),
		"CHAT_HTTP_ADDR_FILE":          write("addr", "10.0.0.1:1"), // not a secret: no _FILE
	})
	if cfg.JWTSecret != secret || cfg.OpenRouterAPIKey != "sk-or-file" || cfg.HTTPAddr != "127.0.0.1:8000" {
		t.Fatalf("secret %q, key %q, addr %q", cfg.JWTSecret, cfg.OpenRouterAPIKey, cfg.HTTPAddr)
	}
	// The variable wins over its file, and a flag over both.
	cfg = load(t, nil, env{"CHAT_OPENROUTER_API_KEY": "sk-or-env", "CHAT_OPENROUTER_API_KEY_FILE": write("or2", "sk-or-file")})
	if cfg.OpenRouterAPIKey != "sk-or-env" {
		t.Fatalf("key %q", cfg.OpenRouterAPIKey)
	}
	cfg = load(t, []string{"--chat-openrouter-api-key=sk-or-flag"}, env{"CHAT_OPENROUTER_API_KEY": "sk-or-env"})
	if cfg.OpenRouterAPIKey != "sk-or-flag" {
		t.Fatalf("key %q", cfg.OpenRouterAPIKey)
	}
	// An unreadable file is a configuration error that names the variable
	// but not the secret.
	_, _, err := Load(nil, env{"CHAT_JWT_SECRET_FILE": filepath.Join(dir, "missing")}.get)
	if err == nil || !strings.Contains(err.Error(), "CHAT_JWT_SECRET_FILE") {
		t.Fatalf("missing secret file: %v", err)
	}
}

// Every bad value is reported in one error, each with its variable.
func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	bad := env{
		"CHAT_ACCESS_TOKEN_TTL":           "forever",
		"CHAT_REFRESH_TOKEN_TTL":          "-1h",
		"CHAT_LOCAL_BASE_URL":             "ftp://example.com",
		"CHAT_OPENROUTER_BASE_URL":        "/relative",
		"CHAT_LLM_MAX_RETRIES":            "-1",
		"CHAT_CONTEXT_MESSAGES":           "0",
		"CHAT_WS_MAX_FRAME_BYTES":         "1e6",
		"CHAT_CORS_ORIGINS":               "*",
		"CHAT_LOG_LEVEL":                  "verbose",
		"CHAT_LOG_FORMAT":                 "xml",
		"CHAT_MAX_CONCURRENT_GENERATIONS": "none",
		"CHAT_MAX_BODY_BYTES":             "0",
		"CHAT_SHUTDOWN_TIMEOUT":           "15",
	}
	_, _, err := Load(nil, bad.get)
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for k := range bad {
		if !strings.Contains(err.Error(), k+":") {
			t.Errorf("%s not reported in:\n%v", k, err)
		}
	}
	if n := strings.Count(err.Error(), "\n  "); n != len(bad) {
		t.Errorf("%d problems reported, want %d", n, len(bad))
	}
}

func TestCORSOrigins(t *testing.T) {
	cfg := load(t, nil, env{"CHAT_CORS_ORIGINS": " https://app.example.com, ,http://localhost:5173 "})
	if !reflect.DeepEqual(cfg.CORSOrigins, []string{"https://app.example.com", "http://localhost:5173"}) {
		t.Fatalf("origins %q", cfg.CORSOrigins)
	}
	for _, v := range []string{"*", "https://a.example.com,*", "app.example.com", "https://app.example.com/", "https://app.example.com/path", "https://"} {
		_, _, err := Load(nil, env{"CHAT_CORS_ORIGINS": v}.get)
		if err == nil || !strings.Contains(err.Error(), "CHAT_CORS_ORIGINS") {
			t.Errorf("origins %q accepted: %v", v, err)
		}
	}
}

func TestResolveJWTSecretGeneratesOnceAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	url := "sqlite://" + filepath.Join(dir, "chat.db") + "?_pragma=busy_timeout(5000)"
	first := Config{DatabaseURL: url}
	if err := first.ResolveJWTSecret(); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(first.JWTSecret) {
		t.Fatalf("generated secret %q", first.JWTSecret)
	}
	info, err := os.Stat(filepath.Join(dir, "jwt_secret"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v", info.Mode().Perm())
	}
	second := Config{DatabaseURL: url}
	if err := second.ResolveJWTSecret(); err != nil {
		t.Fatal(err)
	}
	if second.JWTSecret != first.JWTSecret {
		t.Fatal("the secret changed across restarts")
	}
}

func TestResolveJWTSecretRules(t *testing.T) {
	sqlite := "sqlite://" + filepath.Join(t.TempDir(), "chat.db")
	for name, tc := range map[string]struct {
		cfg Config
		ok  bool
	}{
		"short secret":            {Config{DatabaseURL: sqlite, JWTSecret: strings.Repeat("k", 31)}, false},
		"32 bytes":                {Config{DatabaseURL: sqlite, JWTSecret: strings.Repeat("k", 32)}, true},
		"postgres without secret": {Config{DatabaseURL: "postgres://u@h:5432/db?sslmode=disable"}, false},
		"postgres, short secret":  {Config{DatabaseURL: "postgres://u@h:5432/db", JWTSecret: "short"}, false},
		"postgres with secret":    {Config{DatabaseURL: "postgres://u@h:5432/db", JWTSecret: strings.Repeat("k", 32)}, true},
	} {
		before := tc.cfg.JWTSecret
		err := tc.cfg.ResolveJWTSecret()
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", name, err, tc.ok)
		}
		if tc.cfg.JWTSecret != before {
			t.Errorf("%s: a given secret was replaced", name)
		}
		if err != nil && before != "" && strings.Contains(err.Error(), before) {
			t.Errorf("%s: the error prints the secret", name)
		}
	}
	// A given secret never writes a file.
	if _, err := os.Stat(filepath.Join(filepath.Dir(strings.TrimPrefix(sqlite, "sqlite://")), "jwt_secret")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a secret file was written: %v", err)
	}
}

// --help lists every setting: its flag, variable, default and meaning, and
// for secrets the _FILE variant. The table covers every Config field.
func TestUsageMentionsEverySetting(t *testing.T) {
	usage := Usage()
	for _, s := range settings {
		for _, want := range []string{"--" + s.Flag() + " / " + s.env, s.help} {
			if !strings.Contains(usage, want) {
				t.Errorf("usage lacks %q", want)
			}
		}
		if s.def != "" && !strings.Contains(usage, "(default "+s.def+")") {
			t.Errorf("usage lacks the default of %s", s.env)
		}
		if s.secret != strings.Contains(usage, s.env+"_FILE") {
			t.Errorf("%s: secret %v, usage mentions _FILE %v", s.env, s.secret, !s.secret)
		}
	}
	if n, m := reflect.TypeFor[Config]().NumField(), len(settings); n != m {
		t.Errorf("Config has %d fields and %d settings: a field without a setting cannot be configured", n, m)
	}
}

package llm

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/chatd/chatd/internal/domain"
	"github.com/chatd/chatd/internal/ports"
)

func TestConfigDefaults(t *testing.T) {
	c, err := NewClient(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := c.cfg
	if cfg.Local.BaseURL != DefaultLocalBaseURL || cfg.OpenRouter.BaseURL != DefaultOpenRouterBaseURL ||
		cfg.Local.FirstTokenTimeout != 120*time.Second || cfg.OpenRouter.FirstTokenTimeout != 30*time.Second ||
		cfg.ConnectTimeout != 5*time.Second || cfg.IdleTimeout != 30*time.Second || cfg.TotalTimeout != 10*time.Minute ||
		cfg.MaxRetries != 2 || cfg.RetryBaseDelay != 250*time.Millisecond || cfg.ModelsCacheTTL != 5*time.Minute {
		t.Errorf("defaults = %s", cfg)
	}
	if c.local.host != "127.0.0.1:11434" || c.router.host != "openrouter.ai" {
		t.Errorf("hosts = %s, %s", c.local.host, c.router.host)
	}
	if c.http.Timeout != 0 {
		t.Error("http.Client.Timeout would cut streams")
	}
}

func TestConfigRejects(t *testing.T) {
	for name, cfg := range map[string]Config{
		"relative URL":     {Local: ProviderConfig{BaseURL: "localhost:11434"}},
		"ftp":              {OpenRouter: ProviderConfig{BaseURL: "ftp://x/v1"}},
		"credentials":      {OpenRouter: ProviderConfig{BaseURL: "https://user:" + testKey + "@x/v1"}},
		"negative timeout": {IdleTimeout: -time.Second},
		"negative first":   {Local: ProviderConfig{FirstTokenTimeout: -1}},
	} {
		_, err := NewClient(cfg, nil)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), testKey) {
			t.Errorf("%s: error shows the key: %v", name, err)
		}
	}
}

func TestConfigTrimsSlash(t *testing.T) {
	c, err := NewClient(Config{Local: ProviderConfig{BaseURL: "http://h:1/v1/"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.local.base != "http://h:1/v1" {
		t.Errorf("base = %q", c.local.base)
	}
}

func TestConfigRedacts(t *testing.T) {
	cfg := Config{OpenRouter: ProviderConfig{APIKey: testKey}, Local: ProviderConfig{APIKey: "local-secret"}}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", cfg.OpenRouter)} {
		if strings.Contains(s, testKey) || strings.Contains(s, "local-secret") {
			t.Errorf("printed a key: %s", s)
		}
	}
}

func TestModule(t *testing.T) {
	closed := make(chan struct{}, 8)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeAnswer(w, ollamaModels)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	defer srv.Close()

	cfg := Config{Local: ProviderConfig{BaseURL: srv.URL + "/v1"}}
	opts := fx.Options(Module, fx.Supply(cfg), fx.Supply(zap.NewNop()))
	if err := fx.ValidateApp(opts, fx.Invoke(func(ports.ChatModel) {})); err != nil {
		t.Fatalf("ValidateApp: %v", err)
	}
	var model ports.ChatModel
	app := fx.New(fx.NopLogger, opts, fx.Populate(&model))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := model.(*Client); !ok {
		t.Errorf("ChatModel is %T", model)
	}
	if _, err := model.Models(ctx, domain.ProviderLocal); err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed: // the stop hook closed the pooled connection
	case <-time.After(2 * time.Second):
		t.Error("the idle connection outlived the app")
	}

	bad := fx.New(fx.NopLogger, Module, fx.Supply(Config{Local: ProviderConfig{BaseURL: "nope"}}), fx.Supply(zap.NewNop()), fx.Populate(&model))
	if bad.Err() == nil {
		t.Error("module started with a bad base URL")
	}
}

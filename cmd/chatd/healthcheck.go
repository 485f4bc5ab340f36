package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/chatd/chatd/internal/adapters/bootstrap"
)

// healthcheckTimeout bounds the probe: a container runtime kills a check
// that hangs, and a process that does not answer in 3 s is not ready.
const healthcheckTimeout = 3 * time.Second

// healthcheck runs `chatd healthcheck`: it asks the chatd serving on
// CHAT_HTTP_ADDR whether it is ready, for container images without a shell
// or curl. It fails while the process drains, as the load balancer sees it.
func healthcheck(cfg bootstrap.Config) error {
	host, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("CHAT_HTTP_ADDR %q: %w", cfg.HTTPAddr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1" // listening on every address: ask on loopback
	}
	url := "http://" + net.JoinHostPort(host, port) + "/api/v1/health/ready"
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not answering: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %s", url, res.Status)
	}
	return nil
}

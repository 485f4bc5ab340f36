# chatd — `make help` lists the targets.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# The PostgreSQL legs of the tests run when this is set; on a machine with a
# local server it is found by itself.
CHAT_TEST_POSTGRES_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable')
export CHAT_TEST_POSTGRES_URL

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## start chatd on SQLite at 127.0.0.1:8000 (data in ./data)
	CHAT_LOG_FORMAT=$${CHAT_LOG_FORMAT:-console} go run ./cmd/chatd serve

.PHONY: demo
demo: ## llmsim (a fake OpenAI-compatible model) + chatd, then one streamed reply in this terminal
	@./scripts/demo.sh

.PHONY: llmsim
llmsim: ## run llmsim alone on 127.0.0.1:11434, where chatd's LOCAL provider looks by default
	go run ./cmd/llmsim

.PHONY: build
build: ## build bin/chatd and bin/llmsim
	CGO_ENABLED=0 go build -o bin/chatd ./cmd/chatd
	CGO_ENABLED=0 go build -o bin/llmsim ./cmd/llmsim

# -race also turns on checkptr, which checks every unsafe pointer conversion.
# modernc.org/sqlite is C translated to Go and converts pointers in nearly
# every statement it executes: checkptr there costs two thirds of SQLite's
# time under -race (100 stored turns: 2.0 s with it, 0.7 s without) and
# cannot find anything in our code. The race detector itself stays on.
RACE_GCFLAGS := -gcflags=modernc.org/...=-d=checkptr=0

.PHONY: test
test: ## run every test with the race detector (PostgreSQL legs when a server is found)
	@if [ -n "$$CHAT_TEST_POSTGRES_URL" ]; then echo "PostgreSQL tests: on"; else echo "PostgreSQL tests: skipped (no server at 127.0.0.1:5432; set CHAT_TEST_POSTGRES_URL)"; fi
	go test -race -count=1 $(RACE_GCFLAGS) ./...
	@# Our patched melody is a module of its own, outside ./... (its PATCH.md
	@# says why two upstream tests are skipped).
	cd internal/adapters/realtime/melody && go test -race -count=1 -skip '^(TestBroadcast|TestClose)$$' .

.PHONY: lint
lint: ## golangci-lint, including the depguard rules that keep the hexagon
	$(GOLANGCI_LINT) run ./...

.PHONY: fmt
fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet
	go vet ./...

.PHONY: check
check: ## fmt check, vet, lint and test: run before every commit
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	go vet ./...
	$(MAKE) lint
	$(MAKE) test

.PHONY: migrate
migrate: ## apply pending migrations to CHAT_DATABASE_URL (default ./data/chat.db)
	go run ./cmd/chatd migrate up

.PHONY: bench
bench: ## micro-benchmarks, then the load scenarios against real processes (see BENCHMARKS.md)
	go test -run '^$$' -bench . -benchmem ./...
	./scripts/bench.sh

.PHONY: bench-cluster
bench-cluster: ## 1, 2 and 3 chatd processes on PostgreSQL + a private Redis (issue 9; BENCH_QUICK=1 for a smoke run)
	./scripts/cluster-bench.sh

.PHONY: bench-quick
bench-quick: ## the load scenarios at small sizes (about three minutes)
	BENCH_QUICK=1 ./scripts/bench.sh

#!/usr/bin/env bash
# Checks the deployment files on a machine without Docker:
#   deploy/check.sh            check with the tools found
#   deploy/check.sh --install  first `go install` Caddy (through the Go module
#                              proxy) into $DEPLOY_CHECK_BIN if it is missing
# Prints PASS, FAIL or SKIP per check (SKIP: its tool is missing) and exits 1
# when any check failed. It changes nothing in the repository.
#
# Environment: CHATD_BIN (a built chatd for the systemd check; otherwise one is
# built), CADDY (a caddy binary), DEPLOY_CHECK_BIN (where --install puts
# tools, default /tmp/chatd-deploy-check/bin).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
tools=${DEPLOY_CHECK_BIN:-/tmp/chatd-deploy-check/bin}
install=0
[ "${1:-}" = "--install" ] && install=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
pass() { printf 'PASS %s\n' "$1"; }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; failures=$((failures + 1)); }
skip() { printf 'SKIP %s: %s\n' "$1" "$2"; }
# indent prints a tool's output under its check line.
indent() { sed 's/^/     | /'; }

# The drain budget the files must agree on: chatd gives itself
# CHAT_DRAIN_DELAY + CHAT_SHUTDOWN_TIMEOUT + 10 s to stop (cmd/chatd/serve.go),
# so whatever kills it (systemd, Docker) must wait longer.
seconds() { # 15s, 2m, 1m30s -> seconds
	python3 - "$1" <<'EOF'
import re, sys
total = 0
for n, unit in re.findall(r'(\d+)(ms|s|m|h)', sys.argv[1]):
    total += int(n) * {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600}[unit]
print(total)
EOF
}

# ---- files ------------------------------------------------------------------
for f in Dockerfile compose.yaml Caddyfile chatd.service README.md; do
	if [ -s "$here/$f" ]; then pass "file deploy/$f"; else fail "file deploy/$f" "missing or empty"; fi
done

# ---- systemd unit -------------------------------------------------------------
unit="$here/chatd.service"
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify" "systemd-analyze not installed"
else
	# verify insists that ExecStart's binary exists: point it at a real chatd.
	bin=${CHATD_BIN:-}
	how="CHATD_BIN"
	if [ -z "$bin" ] && command -v go >/dev/null; then
		how="built from the working tree"
		if ! (cd "$repo" && CGO_ENABLED=0 go build -o "$work/chatd" ./cmd/chatd) >"$work/build.log" 2>&1; then
			# Others may be mid-edit; the committed tree is the next best binary.
			how="built from git HEAD (the working tree does not build)"
			mkdir -p "$work/head"
			if (cd "$repo" && git archive HEAD | tar -x -C "$work/head") 2>>"$work/build.log" &&
				(cd "$work/head" && CGO_ENABLED=0 go build -o "$work/chatd" ./cmd/chatd) >>"$work/build.log" 2>&1; then
				:
			else
				how=""
			fi
		fi
		[ -n "$how" ] && bin="$work/chatd"
	fi
	if [ -z "$bin" ]; then
		how="stand-in /bin/true (no chatd could be built: directives are checked, not the binary)"
		bin=/bin/true
	fi
	mkdir -p "$work/unit"
	sed "s#^ExecStart=/usr/local/bin/chatd#ExecStart=$bin#" "$unit" >"$work/unit/chatd.service"
	# verify exits 0 on unknown keys and bad values (it only warns), so any
	# output at all is a failure.
	if out=$(systemd-analyze verify "$work/unit/chatd.service" 2>&1) && [ -z "$out" ]; then
		pass "systemd-analyze verify chatd.service (ExecStart: $how)"
	else
		fail "systemd-analyze verify chatd.service" "see below (ExecStart: $how)"
		printf '%s\n' "$out" | indent
	fi
	# Exposure is in tenths: 20 = 2.0, the top of systemd's "OK" band.
	if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
		out=$(systemd-analyze security --offline=true --threshold=20 --no-pager "$work/unit/chatd.service" 2>&1)
		rc=$?
		score=$(printf '%s\n' "$out" | grep -o 'exposure level for .*' | head -1)
		if [ $rc -eq 0 ]; then pass "systemd-analyze security: ${score:-?} (at most 2.0)"; else fail "systemd-analyze security" "${score:-no score}; above 2.0"; fi
	else
		skip "systemd-analyze security" "this systemd has no --offline (needs 252+)"
	fi
fi

# The directives the unit promises, present and with the values that matter.
missing=""
for d in 'DynamicUser=yes' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
	'PrivateDevices=yes' 'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes' \
	'RestrictAddressFamilies=' 'SystemCallFilter=@system-service' 'CapabilityBoundingSet=' \
	'StateDirectory=chatd' 'EnvironmentFile=' 'KillSignal=SIGTERM' 'Restart=on-failure' 'TimeoutStopSec='; do
	grep -q "^$d" "$unit" || missing="$missing $d"
done
if [ -z "$missing" ]; then pass "chatd.service hardening directives"; else fail "chatd.service hardening directives" "missing:$missing"; fi

if command -v python3 >/dev/null; then
	drain=$(sed -n 's/^Environment=CHAT_DRAIN_DELAY=//p' "$unit")
	shutdown=$(sed -n 's/^Environment=CHAT_SHUTDOWN_TIMEOUT=//p' "$unit")
	stop=$(sed -n 's/^TimeoutStopSec=//p' "$unit")
	need=$(python3 -c "print($(seconds "${drain:-1s}") + $(seconds "${shutdown:-15s}") + 10)")
	if python3 -c "import sys; sys.exit(0 if $(seconds "$stop") > $need else 1)"; then
		pass "chatd.service TimeoutStopSec=$stop above drain $drain + shutdown $shutdown + 10s"
	else
		fail "chatd.service TimeoutStopSec" "$stop is not above ${need}s"
	fi
fi

# ---- load balancer ------------------------------------------------------------
caddy=${CADDY:-$(command -v caddy || true)}
[ -z "$caddy" ] && [ -x "$tools/caddy" ] && caddy="$tools/caddy"
if [ -z "$caddy" ] && [ $install -eq 1 ] && command -v go >/dev/null; then
	echo "installing caddy into $tools (go install, may take a few minutes)"
	mkdir -p "$tools"
	if GOBIN="$tools" go install github.com/caddyserver/caddy/v2/cmd/caddy@latest >"$work/caddy-install.log" 2>&1; then
		caddy="$tools/caddy"
	else
		indent <"$work/caddy-install.log" | tail -5
	fi
fi
if [ -z "$caddy" ]; then
	skip "caddy validate" "caddy not found (run with --install, set CADDY, or apt-get install caddy)"
else
	# validate adapts and provisions the config; health checks against the
	# compose host names fail harmlessly here.
	if out=$("$caddy" validate --config "$here/Caddyfile" --adapter caddyfile 2>&1); then
		pass "caddy validate deploy/Caddyfile"
	else
		fail "caddy validate deploy/Caddyfile" "see below"
		printf '%s\n' "$out" | grep -v '"level":"info"' | indent
	fi
	if "$caddy" fmt "$here/Caddyfile" 2>/dev/null | diff -q "$here/Caddyfile" - >/dev/null; then
		pass "caddy fmt: deploy/Caddyfile is formatted"
	else
		fail "caddy fmt" "deploy/Caddyfile is not formatted (caddy fmt --overwrite deploy/Caddyfile)"
	fi
fi
# The path Caddy polls must be chatd's readiness route.
route_file="$repo/internal/adapters/httpapi/routes_health.go"
if grep -q '^[[:space:]]*health_uri /api/v1/health/ready$' "$here/Caddyfile" &&
	{ [ ! -f "$route_file" ] || grep -q 'GET("/health/ready"' "$route_file"; }; then
	pass "Caddyfile polls /api/v1/health/ready"
else
	fail "Caddyfile health_uri" "not /api/v1/health/ready, or chatd no longer serves that route"
fi

# ---- compose ------------------------------------------------------------------
if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
	if out=$(cd "$here" && POSTGRES_PASSWORD=check CHAT_JWT_SECRET=check docker compose -f compose.yaml config --quiet 2>&1); then
		pass "docker compose config"
	else
		fail "docker compose config" "see below"
		printf '%s\n' "$out" | indent
	fi
else
	skip "docker compose config" "docker compose not available (the YAML checks below still run)"
fi
if ! command -v python3 >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
	skip "compose.yaml YAML parse" "python3 with PyYAML not available"
else
	if out=$(python3 - "$here/compose.yaml" 2>&1 <<'EOF'
import re, sys, yaml

def seconds(v):
    return sum(int(n) * {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600}[u]
               for n, u in re.findall(r'(\d+)(ms|s|m|h)', str(v)))

doc = yaml.safe_load(open(sys.argv[1]))  # merge keys (<<) are resolved here
svc = doc['services']
problems = []
want = {'postgres', 'redis', 'migrate', 'chatd-1', 'chatd-2', 'chatd-3', 'caddy'}
if not want <= set(svc):
    problems.append('services missing: %s' % sorted(want - set(svc)))
for name, s in svc.items():
    image = str(s.get('image', ''))
    if image.endswith(':latest') or (image and ':' not in image.split('/')[-1]):
        problems.append('%s: image %r has no pinned tag' % (name, image))
secrets = set()
for name in ('chatd-1', 'chatd-2', 'chatd-3'):
    s = svc.get(name, {})
    env = s.get('environment', {})
    if not str(env.get('CHAT_BROKER_URL', '')).startswith('redis://redis:'):
        problems.append(name + ': CHAT_BROKER_URL is not the redis service')
    if not str(env.get('CHAT_DATABASE_URL', '')).startswith('postgres://'):
        problems.append(name + ': CHAT_DATABASE_URL is not PostgreSQL')
    secrets.add((env.get('CHAT_JWT_SECRET'), env.get('CHAT_JWT_SECRET_FILE')))
    deps = s.get('depends_on', {})
    if deps.get('migrate', {}).get('condition') != 'service_completed_successfully':
        problems.append(name + ': does not wait for migrate to complete')
    budget = seconds(env.get('CHAT_DRAIN_DELAY', '1s')) + seconds(env.get('CHAT_SHUTDOWN_TIMEOUT', '15s')) + 10
    if seconds(s.get('stop_grace_period', '10s')) <= budget:
        problems.append('%s: stop_grace_period %s not above %ss' % (name, s.get('stop_grace_period'), budget))
if len(secrets) != 1:
    problems.append('chatd-1..3 do not share one JWT secret')
if svc.get('migrate', {}).get('command') != ['migrate', 'up']:
    problems.append('migrate does not run `migrate up`')
if 'appendonly' not in ' '.join(map(str, svc.get('redis', {}).get('command', []))):
    problems.append('redis runs without appendonly')
if not str(svc.get('postgres', {}).get('image', '')).startswith('postgres:17'):
    problems.append('postgres is not postgres:17')
for name in ('postgres', 'redis', 'caddy'):
    if 'healthcheck' not in svc.get(name, {}):
        problems.append(name + ': no healthcheck')
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
	); then
		pass "compose.yaml parses; services, broker, shared secret, migrate-once, stop_grace_period, pinned tags"
	else
		fail "compose.yaml" "see below"
		printf '%s\n' "$out" | indent
	fi
fi

# ---- Dockerfile (hadolint-like basics) --------------------------------------------
df="$here/Dockerfile"
if command -v hadolint >/dev/null; then
	if out=$(hadolint "$df" 2>&1); then pass "hadolint"; else fail "hadolint" "see below"; printf '%s\n' "$out" | indent; fi
else
	skip "hadolint" "not installed (grep checks below)"
fi
last_user=$(grep -E '^USER ' "$df" | tail -1 | awk '{print $2}')
case "$last_user" in
'' | root | 0 | 0:* | root:*) fail "Dockerfile USER" "the final USER is '${last_user:-unset}', not a non-root user" ;;
*) pass "Dockerfile runs as USER $last_user" ;;
esac
bad_from=$(grep -E '^FROM ' "$df" | awk '{print $2}' | grep -v -E '^\$\{?[A-Z_]+' | grep -E ':latest$|^[^:]+$' || true)
if grep -qi ':latest' "$df" || [ -n "$bad_from" ]; then
	fail "Dockerfile base images" "untagged or :latest: ${bad_from:-:latest mentioned}"
else
	pass "Dockerfile base images are tagged (no :latest)"
fi
for want in 'CGO_ENABLED=0' '-trimpath' '-s -w' '^STOPSIGNAL SIGTERM' '^EXPOSE 8000' '^HEALTHCHECK' '^VOLUME' \
	'type=cache,target=/go/pkg/mod' 'distroless/static'; do
	if grep -q -e "$want" "$df"; then pass "Dockerfile has $want"; else fail "Dockerfile" "no $want"; fi
done

# ---- this script --------------------------------------------------------------------
if command -v shellcheck >/dev/null; then
	if out=$(shellcheck "$here/check.sh" 2>&1); then pass "shellcheck check.sh"; else fail "shellcheck check.sh" "see below"; printf '%s\n' "$out" | indent; fi
else
	skip "shellcheck check.sh" "shellcheck not installed"
fi
if bash -n "$here/check.sh"; then pass "bash -n check.sh"; else fail "bash -n check.sh" "syntax error"; fi

echo
if [ $failures -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all checks passed (SKIP lines were not run)"

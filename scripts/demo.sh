#!/usr/bin/env bash
# make demo: start llmsim and chatd side by side (fresh data in a temp dir),
# register a user, create a session and stream one reply over SSE.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
sim_port=${DEMO_SIM_PORT:-11435}
chat_port=${DEMO_CHAT_PORT:-8010}
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/chatd" ./cmd/chatd
go build -o "$work/llmsim" ./cmd/llmsim

"$work/llmsim" --addr "127.0.0.1:$sim_port" --ttft 400ms --tps 25 2>"$work/llmsim.log" &
CHAT_HTTP_ADDR="127.0.0.1:$chat_port" \
CHAT_DATABASE_URL="sqlite://$work/chat.db" \
CHAT_LOCAL_BASE_URL="http://127.0.0.1:$sim_port/v1" \
CHAT_LOG_LEVEL=warn \
  "$work/chatd" 2>"$work/chatd.log" &

base="http://127.0.0.1:$chat_port/api/v1"
for _ in $(seq 1 50); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done

token=$(curl -sf "$base/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"demo@example.com","password":"demo password","display_name":"Demo"}' \
  | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
session=$(curl -sf "$base/chat/sessions" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"llm_provider":"LOCAL","llm_model":"sim-small"}' | sed -E 's/^\{"id":"([^"]+)".*/\1/')

echo "chatd on 127.0.0.1:$chat_port, llmsim on 127.0.0.1:$sim_port; session $session"
echo "Q: Tell me about chatd."
printf 'A: '
curl -sfN "$base/chat/sessions/$session/messages" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -H 'Accept: text/event-stream' \
  -d '{"content":"Tell me about chatd."}' \
  | while IFS= read -r line; do
      case "$line" in
        data:*'"type":"message.delta"'*)
          printf '%s' "$(printf '%s' "$line" | sed -E 's/.*"delta":"(([^"\\]|\\.)*)".*/\1/' | sed 's/\\n/\n/g; s/\\"/"/g')" ;;
      esac
    done
echo
echo
# The session is named from the first exchange, just after the reply ends.
for _ in $(seq 1 50); do
  curl -sf "$base/chat/sessions/$session" -H "Authorization: Bearer $token" | grep -q '"title":""' || break
  sleep 0.1
done
reply=$(curl -sf "$base/chat/sessions/$session/messages?order=desc&page_size=1" -H "Authorization: Bearer $token")
echo "stored reply: $(printf '%s' "$reply" | grep -o '"status":"[a-z]*"' | head -n1), $(printf '%s' "$reply" | grep -o '"tokens_used":[0-9a-z]*' | head -n1)"
echo "session title: $(curl -sf "$base/chat/sessions/$session" -H "Authorization: Bearer $token" | grep -o '"title":"[^"]*"')"

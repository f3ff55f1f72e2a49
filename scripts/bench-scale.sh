#!/usr/bin/env bash
# Measures how Warden's AS rate holds as the realm grows, and its latency
# below saturation:
#   1. AS peak rate with a realm of SMALL users, load spread over all of them;
#   2. p50/p99 at 80% of that peak (rate-limited load);
#   3. AS peak rate with a realm of LARGE users, load spread over all of them
#      (after a warm-up long enough for the principal cache to fill).
# Server pinned to CPU 0, load generator to CPU 1, as in bench-vs-mit.sh.
#
# Usage: scripts/bench-scale.sh [SMALL] [LARGE] [DURATION]  (defaults 1000 100000 10s)
set -euo pipefail

SMALL=${1:-1000}
LARGE=${2:-100000}
DURATION=${3:-10s}
REALM=SCALE.TEST
PW='bench password 1'
PORT=18090
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cpu_client=1
[ "$(nproc)" -ge 2 ] || cpu_client=0

(cd "$root" && go build -o "$work/warden" ./cmd/warden)
W="$work/warden"
echo "$PW" >"$work/pw"

realm() { # $1 = users; prints the import summary
  rm -rf "$work/d"
  "$W" init --realm $REALM --data "$work/d" --kdc-addr 127.0.0.1:$PORT >/dev/null
  { echo "name,password"; for i in $(seq 0 $(($1 - 1))); do echo "bench$i,$PW"; done; } >"$work/users.csv"
  "$W" user import "$work/users.csv" --enctypes aes256-cts-hmac-sha1-96 --data "$work/d" 2>/dev/null
}

load() { # $1 = users, $2 = warm-up, $3 = extra flags; prints the bench line
  taskset -c 0 "$W" serve --data "$work/d" 2>/dev/null &
  local pid=$!
  sleep 1
  taskset -c $cpu_client "$W" bench as --kdc 127.0.0.1:$PORT --realm $REALM --users "$1" \
    --password-file "$work/pw" --duration "$DURATION" --warmup "$2" $3 2>/dev/null
  kill $pid
  wait $pid 2>/dev/null || true
}

rate() { awk '{for(i=1;i<=NF;i++) if($i=="req/s,") print int($(i-1))}'; }

echo "== realm of $SMALL users: $(realm "$SMALL")"
small=$(load "$SMALL" 2s "")
echo "peak:        $small"
peak=$(echo "$small" | rate)
eighty=$((peak * 8 / 10))
echo "80% ($eighty/s): $(load "$SMALL" 2s "--rate $eighty")"

echo "== realm of $LARGE users: $(realm "$LARGE")"
large=$(load "$LARGE" 20s "")
echo "peak:        $large"
big=$(echo "$large" | rate)
awk -v s="$peak" -v l="$big" -v S="$SMALL" -v L="$LARGE" 'BEGIN {
  printf "AS rate with %d users is %.1f%% of the rate with %d users\n", L, 100*l/s, S }'

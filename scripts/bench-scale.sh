#!/usr/bin/env bash
# Measures how Warden's AS cost holds as the realm grows, and its latency
# below saturation:
#   1. AS and TGS peak rate with a realm of SMALL users;
#   2. p50/p99 at 80% of each peak (rate-limited load, 8 clients: with
#      more, the load generator's own scheduling on its single core shows
#      up in the tail);
#   3. AS peak rate with a realm of LARGE users, load spread over all of
#      them so that every request finds a cold principal.
# For each peak run the script also reads the server's own CPU time and
# request count from its /metrics and prints the server CPU per request:
# with many users the generator (which decrypts every reply on one core)
# can become the bottleneck, and CPU per request is what compares the
# server across realm sizes.
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
HTTPS=18443
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
  "$W" service add HTTP/bench.scale.test --data "$work/d" >/dev/null
}

# scrape prints the server's CPU seconds and requests answered so far.
scrape() {
  curl -sk https://127.0.0.1:$HTTPS/metrics | awk '/^process_cpu_seconds_total/ {c=$2}
    /^warden_kdc_requests_total/ {n+=$2} END {print c, n}'
}

load() { # $1 = users, $2 = as|tgs, $3 = extra flags; prints the bench line and server CPU per request
  taskset -c 0 "$W" serve --data "$work/d" --https-addr 127.0.0.1:$HTTPS 2>/dev/null &
  local pid=$! a b prev=0 n
  sleep 1
  # The generator first derives every user's key (long for many users);
  # it runs unpinned for that and is pinned once the load starts.
  "$W" bench "$2" --service HTTP/bench.scale.test --kdc 127.0.0.1:$PORT --realm $REALM --users "$1" \
    --password-file "$work/pw" --duration "$DURATION" --warmup 5s $3 >"$work/bench.out" 2>/dev/null &
  local bp=$!
  while :; do
    sleep 1
    n=$(scrape | awk '{print int($2)}')
    [ $((n - prev)) -gt 3000 ] && break
    prev=$n
  done
  taskset -a -p -c $cpu_client $bp >/dev/null
  sleep 6
  a=$(scrape)
  sleep 3
  b=$(scrape)
  wait $bp
  kill $pid
  wait $pid 2>/dev/null || true
  echo "$(tail -1 "$work/bench.out"); server $(echo "$a $b" | awk '{printf "%.1f µs CPU/request", ($3-$1)/($4-$2)*1e6}')"
}

rate() { awk '{for(i=1;i<=NF;i++) if($i=="req/s,") print int($(i-1))}'; }

echo "== realm of $SMALL users: $(realm "$SMALL")"
small=$(load "$SMALL" as "")
echo "AS peak:        $small"
peak=$(echo "$small" | rate)
echo "AS at 80% ($((peak * 8 / 10))/s): $(load "$SMALL" as "--workers 8 --rate $((peak * 8 / 10))")"
tgs=$(load "$SMALL" tgs "")
echo "TGS peak:       $tgs"
tpeak=$(echo "$tgs" | rate)
echo "TGS at 80% ($((tpeak * 8 / 10))/s): $(load "$SMALL" tgs "--workers 8 --rate $((tpeak * 8 / 10))")"

echo "== realm of $LARGE users: $(realm "$LARGE")"
large=$(load "$LARGE" as "")
echo "AS peak:        $large"
echo "$small" "|" "$large" | awk -v S="$SMALL" -v L="$LARGE" -F'|' '{
  split($1, a, " "); split($2, b, " ")
  for (i in a) if (a[i] == "req/s,") rs = a[i-1]; for (i in a) if (a[i] == "µs") cs = a[i-1]
  for (i in b) if (b[i] == "req/s,") rl = b[i-1]; for (i in b) if (b[i] == "µs") cl = b[i-1]
  printf "with %d users: %.1f%% of the rate and %.1f%% of the server CPU per request with %d users\n", L, 100*rl/rs, 100*cl/cs, S }'

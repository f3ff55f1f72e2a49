#!/usr/bin/env bash
# What the PAC costs a served AS exchange: the AS peak rate and the
# server CPU per request for the usual logon (a TGT, which always carries
# the user's PAC) against the one AS exchange that issues no PAC at all (a
# ticket for a service, asked for with PA-PAC-REQUEST false), same realm,
# same users, over UDP. Server pinned to CPU 0, load generator to CPU 1,
# as in bench-vs-mit.sh; the in-engine figures are
# go test -bench '^BenchmarkHandleAS$' ./krb5/kdc.
#
# Usage: scripts/bench-pac.sh [USERS] [DURATION] [ROUNDS]  (defaults 1000 10s 3)
set -euo pipefail

USERS=${1:-1000}
DURATION=${2:-10s}
ROUNDS=${3:-3}
REALM=PAC.TEST
PW='bench password 1'
PORT=18190
HTTPS=18543
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
  "$W" service add HTTP/bench.pac.test --data "$work/d" >/dev/null
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
  "$W" bench "$2" --service HTTP/bench.pac.test --kdc 127.0.0.1:$PORT --realm $REALM --users "$1" \
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


echo "== realm of $USERS users: $(realm "$USERS")"
for r in $(seq "$ROUNDS"); do
  with=$(load "$USERS" as "")
  without=$(load "$USERS" as "--as-service HTTP/bench.pac.test --no-pac")
  echo "round $r: TGT with PAC:          $with"
  echo "round $r: service ticket, no PAC: $without"
  echo "$with" "|" "$without" | awk -F'|' '{
    split($1, a, " "); split($2, b, " ")
    for (i in a) if (a[i] == "req/s,") rw = a[i-1]; for (i in a) if (a[i] == "µs") cw = a[i-1]
    for (i in b) if (b[i] == "req/s,") rn = b[i-1]; for (i in b) if (b[i] == "µs") cn = b[i-1]
    printf "round %d: with the PAC, %.1f%% of the rate and %.1f%% more server CPU per request\n", NR, 100*rw/rn, 100*(cw-cn)/cn }' | sed "s/round 1:/round $r:/"
done

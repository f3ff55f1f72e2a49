# shellcheck shell=bash
# Shared by the served-KDC benchmarks (bench-scale.sh, bench-pac.sh):
# builds warden into a temporary directory, makes a realm of N users,
# runs warden serve pinned to CPU 0 and the load generator pinned to
# CPU 1 (as bench-vs-mit.sh), and reads the server's own CPU time and
# request count from its /metrics and the generator's CPU time from
# /proc: a generator near a full core per request interval is the
# bottleneck, not the server.
#
# The caller sets REALM, PORT, HTTPS (the metrics port), SERVICE (an
# HTTP/... service added to the realm) and DURATION, then sources this
# file.

PW='bench password 1'
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
trap 'kill -CONT $(jobs -p) 2>/dev/null; kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cpu_client=1
[ "$(nproc)" -ge 2 ] || cpu_client=0

(cd "$root" && go build -o "$work/warden" ./cmd/warden)
W="$work/warden"
echo "$PW" >"$work/pw"

# WARMUP is how many seconds of load precede the measurement (default 5).
# A principal's first logon after the server starts costs more than the
# next ones (its key schedules, its TGT PAC template), so a realm of many
# users needs a warm-up that covers every user at least once.
WARMUP=${WARMUP:-5}

# DATA is the realm's data directory that realm makes and load serves;
# a caller comparing two realms sets it before each call.
DATA=$work/d

realm() { # $1 = users; makes a realm in $DATA and prints the import summary
  rm -rf "$DATA"
  "$W" init --realm "$REALM" --data "$DATA" --kdc-addr 127.0.0.1:"$PORT" >/dev/null
  { echo "name,password"; for i in $(seq 0 $(($1 - 1))); do echo "bench$i,$PW"; done; } >"$work/users.csv"
  "$W" user import "$work/users.csv" --enctypes aes256-cts-hmac-sha1-96 --data "$DATA" 2>/dev/null
  "$W" service add "$SERVICE" --data "$DATA" >/dev/null
}

# scrape prints the server's CPU seconds and requests answered so far;
# $1 is its metrics port (default $HTTPS).
scrape() {
  curl -sk https://127.0.0.1:"${1:-$HTTPS}"/metrics | awk '/^process_cpu_seconds_total/ {c=$2}
    /^warden_kdc_requests_total/ {n+=$2} END {print c, n}'
}

load() { # $1 = users, $2 = as|tgs, $3 = extra flags; prints the bench line and server CPU per request
  taskset -c 0 "$W" serve --data "$DATA" --https-addr 127.0.0.1:"$HTTPS" 2>/dev/null &
  local pid=$! a b prev=0 n
  sleep 1
  # The generator first derives every user's key (long for many users);
  # it runs unpinned for that and is pinned once the load starts.
  # shellcheck disable=SC2086 # $3 is a list of flags
  "$W" bench "$2" --service "$SERVICE" --kdc 127.0.0.1:"$PORT" --realm "$REALM" --users "$1" \
    --password-file "$work/pw" --duration "$DURATION" --warmup "${WARMUP}s" $3 >"$work/bench.out" 2>/dev/null &
  local bp=$!
  while :; do
    sleep 1
    n=$(scrape | awk '{print int($2)}')
    [ $((n - prev)) -gt 3000 ] && break
    prev=$n
  done
  taskset -a -p -c $cpu_client $bp >/dev/null
  sleep $((WARMUP + 1))
  a="$(scrape) $(cputicks $bp)"
  sleep 3
  b="$(scrape) $(cputicks $bp)"
  wait $bp
  kill $pid
  wait $pid 2>/dev/null || true
  echo "$(tail -1 "$work/bench.out"); server $(echo "$a $b" | awk -v hz="$(getconf CLK_TCK)" '{
    printf "%.1f µs CPU/request (generator %.1f µs)", ($4-$1)/($5-$2)*1e6, ($6-$3)/hz/($5-$2)*1e6 }')"
}

# cputicks prints the user+system CPU clock ticks process $1 has used.
cputicks() { awk '{print $14 + $15}' /proc/"$1"/stat; }

# rate reads a load line on stdin and prints its requests per second.
rate() { awk '{for(i=1;i<=NF;i++) if($i=="req/s,") print int($(i-1))}'; }

# figures prints a load line's requests per second and server µs of CPU
# per request, for comparing two runs.
figures() {
  awk '{for(i=1;i<=NF;i++) { if($i=="req/s,") r=$(i-1); if($i=="µs" && c=="") c=$(i-1) } print r, c}' <<<"$1"
}

#!/usr/bin/env bash
# Measures how Warden's AS cost holds as the realm grows, and its latency
# below saturation:
#   1. AS and TGS peak rate with a realm of SMALL users;
#   2. p50/p99 at 80% of each peak (rate-limited load, 8 clients: with
#      more, the load generator's own scheduling on its single core shows
#      up in the tail);
#   3. the AS rate with a realm of LARGE users against the SMALL realm's,
#      load spread at random over all users, so that a request finds its
#      principal cold in the CPU caches. This VM's speed drifts by more
#      than 10% over minutes, so the two realms are served side by side
#      (both servers pinned to CPU 0, each with its own load generator
#      pinned to CPU 1) and the generators take turns (SIGSTOP/SIGCONT) in
#      ROUNDS pairs of SEGMENT-second segments; a segment's rate and the
#      server's CPU per request are read from that server's /metrics.
#      Each realm first gets a warm-up of 20 s alone, in which nearly
#      every user logs on (a first logon costs more: the principal is
#      loaded from the DB). The figures are the two realms' totals over
#      all their segments and the median of the pairs' ratios.
# Steps 1 and 2 also read the server's own CPU per request from its
# /metrics: the generator decrypts every reply on one core and can
# become the bottleneck, and CPU per request compares the server alone.
# Server pinned to CPU 0, load generator to CPU 1, as in bench-vs-mit.sh.
#
# Usage: scripts/bench-scale.sh [SMALL] [LARGE] [DURATION] [ROUNDS] [SEGMENT]
#        (defaults 1000 100000 10s 30 4: with 10 pairs, one pair slowed
#        on one side by a neighbour of the VM moved a run's figure by 3 points)
set -euo pipefail

SMALL=${1:-1000}
LARGE=${2:-100000}
DURATION=${3:-10s}
ROUNDS=${4:-30}
SEGMENT=${5:-4}
REALM=SCALE.TEST
PORT=18090
HTTPS=18443
SERVICE=HTTP/bench.scale.test
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"

DATA=$work/small
echo "== realm of $SMALL users: $(realm "$SMALL")"
small=$(load "$SMALL" as "")
echo "AS peak:        $small"
peak=$(echo "$small" | rate)
echo "AS at 80% ($((peak * 8 / 10))/s): $(load "$SMALL" as "--workers 8 --rate $((peak * 8 / 10))")"
tgs=$(load "$SMALL" tgs "")
echo "TGS peak:       $tgs"
tpeak=$(echo "$tgs" | rate)
echo "TGS at 80% ($((tpeak * 8 / 10))/s): $(load "$SMALL" tgs "--workers 8 --rate $((tpeak * 8 / 10))")"

DATA=$work/large
echo "== realm of $LARGE users: $(realm "$LARGE")"

# Both realms served at once; index 0 is the small one, 1 the large one.
users=("$SMALL" "$LARGE")
data=("$work/small" "$work/large")
srv=() gen=()
for i in 0 1; do
  taskset -c 0 "$W" serve --data "${data[$i]}" --kdc-addr 127.0.0.1:$((PORT + i)) \
    --https-addr 127.0.0.1:$((HTTPS + i)) 2>/dev/null &
  srv[i]=$!
done
sleep 1
for i in 0 1; do
  "$W" bench as --service "$SERVICE" --kdc 127.0.0.1:$((PORT + i)) --realm "$REALM" --users "${users[$i]}" \
    --password-file "$work/pw" --duration 24h --warmup 0s >"$work/gen$i.out" 2>&1 &
  gen[i]=$!
done
# A generator first derives its users' keys (unpinned); it is pinned and
# stopped once its load reaches the server.
for i in 0 1; do
  # The increase, not the count: the generator's key derivation sends
  # a request per user too, and has run meanwhile.
  prev=$(scrape $((HTTPS + i)) | awk '{print int($2)}')
  while :; do
    sleep 1
    n=$(scrape $((HTTPS + i)) | awk '{print int($2)}')
    [ $((n - prev)) -gt 3000 ] && break
    prev=$n
  done
  taskset -a -p -c "$cpu_client" "${gen[$i]}" >/dev/null
  kill -STOP "${gen[$i]}"
done
for i in 0 1; do
  kill -CONT "${gen[$i]}"
  sleep 20
  kill -STOP "${gen[$i]}"
done

: >"$work/segments"
for r in $(seq "$ROUNDS"); do
  for i in 0 1; do
    kill -CONT "${gen[$i]}"
    sleep 1 # the generator's timed-out requests are retried
    a="$(scrape $((HTTPS + i))) $(cputicks "${gen[$i]}") $(date +%s.%N)"
    sleep "$SEGMENT"
    b="$(scrape $((HTTPS + i))) $(cputicks "${gen[$i]}") $(date +%s.%N)"
    kill -STOP "${gen[$i]}"
    echo "$r $i $a $b" >>"$work/segments"
  done
done
kill -CONT "${gen[0]}" "${gen[1]}"
kill "${gen[0]}" "${gen[1]}" "${srv[0]}" "${srv[1]}" 2>/dev/null || true
wait "${gen[0]}" "${gen[1]}" "${srv[0]}" "${srv[1]}" 2>/dev/null || true

# Per segment: requests per second, server µs of CPU per request,
# generator µs of CPU per request.
awk -v hz="$(getconf CLK_TCK)" -v S="$SMALL" -v L="$LARGE" '
  # $1 round, $2 realm (0 small, 1 large), then at the start and the end
  # of the segment: server CPU seconds, requests, generator ticks, time.
  { n = $8 - $4; rate[$1, $2] = n / ($10 - $6); cpu[$1, $2] = ($7 - $3) / n * 1e6
    gcpu[$1, $2] = ($9 - $5) / hz / n * 1e6
    tn[$2] += n; tt[$2] += $10 - $6; tc[$2] += $7 - $3; rounds = $1 }
  END {
    for (r = 1; r <= rounds; r++) {
      printf "round %d: %d users %.0f/s (server %.1f µs, generator %.1f µs per request); %d users %.0f/s (%.1f µs, %.1f µs): %.1f%%\n",
        r, S, rate[r, 0], cpu[r, 0], gcpu[r, 0], L, rate[r, 1], cpu[r, 1], gcpu[r, 1], 100 * rate[r, 1] / rate[r, 0]
      ratio[r] = 100 * rate[r, 1] / rate[r, 0]
    }
    # median of the pair ratios (insertion sort; rounds is small)
    for (i = 2; i <= rounds; i++) { v = ratio[i]; for (j = i - 1; j >= 1 && ratio[j] > v; j--) ratio[j + 1] = ratio[j]; ratio[j + 1] = v }
    med = rounds % 2 ? ratio[(rounds + 1) / 2] : (ratio[rounds / 2] + ratio[rounds / 2 + 1]) / 2
    printf "total: %d users %.0f/s at %.1f µs of server CPU per request; %d users %.0f/s at %.1f µs\n",
      S, tn[0] / tt[0], tc[0] / tn[0] * 1e6, L, tn[1] / tt[1], tc[1] / tn[1] * 1e6
    printf "with %d users: %.1f%% of the rate with %d users (median of %d pairs %.1f%%), %.1f%% of the server CPU per request\n",
      L, 100 * (tn[1] / tt[1]) / (tn[0] / tt[0]), S, rounds, med, 100 * (tc[1] / tn[1]) / (tc[0] / tn[0])
  }' "$work/segments"

#!/usr/bin/env bash
# Measures how Warden's AS cost holds as the realm grows, and its latency
# below saturation:
#   1. AS and TGS peak rate with a realm of SMALL users;
#   2. p50/p99 at 80% of each peak (rate-limited load, 8 clients: with
#      more, the load generator's own scheduling on its single core shows
#      up in the tail);
#   3. AS peak rate with a realm of LARGE users, load spread over all of
#      them so that every request finds its principal cold in the CPU
#      caches (after a warm-up of 20 s, in both realms, that has every
#      user log on at least once: a first logon costs more), against the
#      SMALL realm's, in ROUNDS interleaved pairs: this VM's speed drifts
#      by more than 10% over minutes, so each pair is compared on its
#      own, and the median pair ratio is the figure.
# For each peak run the script also reads the server's own CPU time and
# request count from its /metrics and prints the server CPU per request:
# with many users the generator (which decrypts every reply on one core)
# can become the bottleneck, and CPU per request is what compares the
# server across realm sizes.
# Server pinned to CPU 0, load generator to CPU 1, as in bench-vs-mit.sh.
#
# Usage: scripts/bench-scale.sh [SMALL] [LARGE] [DURATION] [ROUNDS]  (defaults 1000 100000 10s 3)
set -euo pipefail

SMALL=${1:-1000}
LARGE=${2:-100000}
DURATION=${3:-10s}
ROUNDS=${4:-3}
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
# Steady state: every user logs on at least once before the measurement
# in both realms (the first sweep over the large realm's users takes
# about 10 s on this VM).
WARMUP=20
ratios=()
for r in $(seq "$ROUNDS"); do
  DATA=$work/small
  small=$(load "$SMALL" as "")
  DATA=$work/large
  large=$(load "$LARGE" as "")
  echo "round $r: $SMALL users: $small"
  echo "round $r: $LARGE users: $large"
  read -r rs cs <<<"$(figures "$small")"
  read -r rl cl <<<"$(figures "$large")"
  ratios+=("$(awk -v rs="$rs" -v rl="$rl" 'BEGIN { printf "%.1f", 100*rl/rs }')")
  awk -v r="$r" -v S="$SMALL" -v L="$LARGE" -v rs="$rs" -v cs="$cs" -v rl="$rl" -v cl="$cl" 'BEGIN {
    printf "round %d: with %d users, %.1f%% of the rate and %.1f%% of the server CPU per request with %d users\n", r, L, 100*rl/rs, 100*cl/cs, S }'
done
printf '%s\n' "${ratios[@]}" | sort -n | awk -v L="$LARGE" -v S="$SMALL" '{ v[NR] = $1 } END {
  printf "median over %d rounds: with %d users, %s%% of the rate with %d users\n", NR, L, v[int((NR + 1) / 2)], S }'

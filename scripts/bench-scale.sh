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
PORT=18090
HTTPS=18443
SERVICE=HTTP/bench.scale.test
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"

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
read -r rs cs <<<"$(figures "$small")"
read -r rl cl <<<"$(figures "$large")"
awk -v S="$SMALL" -v L="$LARGE" -v rs="$rs" -v cs="$cs" -v rl="$rl" -v cl="$cl" 'BEGIN {
  printf "with %d users: %.1f%% of the rate and %.1f%% of the server CPU per request with %d users\n", L, 100*rl/rs, 100*cl/cs, S }'

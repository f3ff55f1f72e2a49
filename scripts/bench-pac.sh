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
PORT=18190
HTTPS=18543
SERVICE=HTTP/bench.pac.test
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"

echo "== realm of $USERS users: $(realm "$USERS")"
for r in $(seq "$ROUNDS"); do
  with=$(load "$USERS" as "")
  without=$(load "$USERS" as "--as-service $SERVICE --no-pac")
  echo "round $r: TGT with PAC:          $with"
  echo "round $r: service ticket, no PAC: $without"
  read -r rw cw <<<"$(figures "$with")"
  read -r rn cn <<<"$(figures "$without")"
  awk -v r="$r" -v rw="$rw" -v cw="$cw" -v rn="$rn" -v cn="$cn" 'BEGIN {
    printf "round %d: with the PAC, %.1f%% of the rate and %.1f%% more server CPU per request\n", r, 100*rw/rn, 100*(cw-cn)/cn }'
done

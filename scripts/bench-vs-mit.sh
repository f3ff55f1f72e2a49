#!/usr/bin/env bash
# Runs the same AS and TGS load against Warden and against MIT krb5kdc on
# this machine and prints both rates and their ratio.
#
# Both realms hold the same USERS users (bench0..), AES-256 keys only, and
# pre-authentication required. Each server is pinned to CPU 0 and the load
# generator (warden bench) to CPU 1. MIT runs twice: as installed (it writes
# lockout/last-success data on every AS) and with those writes off
# (disable_last_success/disable_lockout), its fastest configuration.
#
# Usage: scripts/bench-vs-mit.sh [USERS] [DURATION]   (defaults 10000, 10s)
set -euo pipefail

USERS=${1:-10000}
DURATION=${2:-10s}
REALM=BENCH.TEST
PW='bench password 1'
WPORT=18088
MPORT=18089
SERVICE=HTTP/bench.test
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

for b in krb5kdc kdb5_util kadmin.local taskset; do
  command -v "$b" >/dev/null || PATH=$PATH:/usr/sbin
  command -v "$b" >/dev/null || { echo "missing $b (run make deps)"; exit 1; }
done
cpu_server=0
cpu_client=1
[ "$(nproc)" -ge 2 ] || cpu_client=0

echo "== building warden"
(cd "$root" && go build -o "$work/warden" ./cmd/warden)
W="$work/warden"
echo "$PW" >"$work/pw"

echo "== warden realm with $USERS users"
"$W" init --realm $REALM --data "$work/w" --kdc-addr 127.0.0.1:$WPORT >/dev/null
{
  echo "name,password"
  for i in $(seq 0 $((USERS - 1))); do echo "bench$i,$PW"; done
} >"$work/users.csv"
"$W" user import "$work/users.csv" --enctypes aes256-cts-hmac-sha1-96 --data "$work/w" 2>/dev/null
"$W" service add $SERVICE --data "$work/w" >/dev/null

echo "== MIT realm with $USERS users"
mkdir -p "$work/m"
cat >"$work/m/kdc.conf" <<EOF
[kdcdefaults]
 kdc_ports = $MPORT
 kdc_tcp_ports = $MPORT
[realms]
 $REALM = {
  database_name = $work/m/principal
  key_stash_file = $work/m/stash
  supported_enctypes = aes256-cts-hmac-sha1-96:normal
  master_key_type = aes256-cts-hmac-sha1-96
  acl_file = $work/m/kadm5.acl
 }
[dbmodules]
 $REALM = {
  database_name = $work/m/principal
  DISABLE
 }
EOF
cat >"$work/krb5.conf" <<EOF
[libdefaults]
 default_realm = $REALM
[realms]
 $REALM = {
  kdc = 127.0.0.1:$MPORT
 }
EOF
export KRB5_CONFIG=$work/krb5.conf
mitconf() { # $1 = "fast" to turn off lockout and last-success writes
  if [ "$1" = fast ]; then
    sed "s|  DISABLE|  disable_last_success = true\n  disable_lockout = true|" "$work/m/kdc.conf.in" >"$work/m/kdc.conf"
  else
    sed "/  DISABLE/d" "$work/m/kdc.conf.in" >"$work/m/kdc.conf"
  fi
}
cp "$work/m/kdc.conf" "$work/m/kdc.conf.in"
mitconf default
export KRB5_KDC_PROFILE=$work/m/kdc.conf
touch "$work/m/kadm5.acl"
kdb5_util create -s -r $REALM -P 'master key' >/dev/null
{
  for i in $(seq 0 $((USERS - 1))); do echo "addprinc +requires_preauth -pw \"$PW\" bench$i"; done
  echo "addprinc -randkey $SERVICE"
} | kadmin.local -r $REALM >/dev/null 2>&1

run_load() { # $1 label, $2 port
  local out
  for op in as tgs; do
    out=$(taskset -c $cpu_client "$W" bench $op --kdc 127.0.0.1:$2 --realm $REALM --users "$USERS" \
      --password-file "$work/pw" --service $SERVICE --duration "$DURATION" 2>/dev/null)
    echo "$1 $out"
    echo "$out" | awk -v l="$1" -v op=$op '{for(i=1;i<=NF;i++) if($i=="req/s,") print l, op, $(i-1)}' >>"$work/rates"
  done
}

echo "== load (server on CPU $cpu_server, generator on CPU $cpu_client, $DURATION each)"
taskset -c $cpu_server "$W" serve --data "$work/w" 2>/dev/null &
wpid=$!
sleep 1
run_load warden $WPORT
kill $wpid; wait $wpid 2>/dev/null || true

for mode in default fast; do
  mitconf $mode
  taskset -c $cpu_server krb5kdc -n -r $REALM 2>/dev/null &
  mpid=$!
  sleep 1
  run_load "mit-$mode" $MPORT
  kill $mpid; wait $mpid 2>/dev/null || true
done

echo "== ratios (warden / MIT fastest configuration)"
awk '{r[$1" "$2]=$3} END {
  split("as tgs", ops, " ")
  for (i in ops) { op=ops[i]; w=r["warden " op]; f=r["mit-fast " op]; d=r["mit-default " op]; m=(f>d? f : d);
    printf "%s: warden %.0f/s; MIT %.0f/s with lockout writes off, %.0f/s default; ratio to the faster MIT %.2fx\n", op, w, f, d, (m>0? w/m : 0) }
}' "$work/rates"

#!/usr/bin/env bash
# Installs what Warden's tests need on a fresh Debian machine: the real
# Kerberos peers the interop tests talk to, the Go modules, and staticcheck.
# Idempotent: packages already present are not reinstalled.
set -euo pipefail

# Heimdal's client package conflicts with krb5-user, so its libraries come
# from apt and its binaries (kinit.heimdal, klist.heimdal, ...) are unpacked
# into /opt/heimdal, where internal/testkit finds them.
heimdal_libs=(libasn1-8-heimdal libgssapi3-heimdal libhcrypto5-heimdal libhdb9-heimdal
  libheimntlm0-heimdal libhx509-5-heimdal libkadm5clnt7-heimdal libkadm5srv8-heimdal
  libkafs0-heimdal libkrb5-26-heimdal libotp0-heimdal libroken19-heimdal libsl0-heimdal libedit2)
apt_pkgs=(krb5-user krb5-kdc krb5-admin-server krb5-pkinit krb5-gss-samples curl python3-gssapi python3-requests python3-requests-kerberos
  samba-testsuite openssl python3-ntlm-auth python3-requests-ntlm gss-ntlmssp "${heimdal_libs[@]}")
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# gss-ntlmssp registers NTLM with MIT's GSS-API for every program; the
# NTLM fallback test enables it for curl alone (GSS_MECH_CONFIG), so the
# other tests see MIT's SPNEGO as shipped.
if [ -e /etc/gss/mech.d/mech.ntlmssp.conf ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo mkdir -p /etc/gss/disabled
  $sudo mv /etc/gss/mech.d/mech.ntlmssp.conf /etc/gss/disabled/
fi

if [ ! -x /opt/heimdal/usr/bin/kinit.heimdal ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: unpacking heimdal-clients into /opt/heimdal"
  tmp=$(mktemp -d)
  chmod 777 "$tmp"
  (cd "$tmp" && apt-get download heimdal-clients >/dev/null 2>&1 || { $sudo apt-get update -qq && apt-get download heimdal-clients >/dev/null; })
  $sudo mkdir -p /opt/heimdal
  $sudo dpkg-deb -x "$tmp"/heimdal-clients_*.deb /opt/heimdal
  rm -rf "$tmp"
fi

go mod download
if ! command -v staticcheck >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
  echo "install-deps: installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi

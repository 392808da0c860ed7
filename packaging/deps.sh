#!/bin/sh
# Installs the Debian packages sipkeep needs to build and test, only when missing.
# Usage: packaging/deps.sh build|check|e2e|pkg
# Idempotent and quiet when everything is present, so `make` may call it every time.
set -eu

want=build
[ $# -gt 0 ] && want=$1

build_pkgs="gcc make pkg-config libssl-dev libyaml-dev libnetfilter-queue-dev"
check_pkgs="$build_pkgs clang libclang-rt-14-dev libcmocka-dev"
# pkg: make deb and make packaging-check (Debian package, lintian, the systemd
# unit, man pages, lint and an ash run of the OpenWrt init script).
pkg_pkgs="$build_pkgs dpkg-dev debhelper fakeroot lintian adduser systemd man-db groff-base shellcheck busybox"
e2e_pkgs="$check_pkgs kamailio kamailio-outbound-modules kamailio-tls-modules sip-tester baresip-core iproute2 iptables openssl tcpdump procps conntrack jq valgrind python3-prometheus-client"

case "$want" in
    build) pkgs=$build_pkgs ;;
    check) pkgs=$check_pkgs ;;
    e2e) pkgs=$e2e_pkgs ;;
    pkg) pkgs=$pkg_pkgs ;;
    *) echo "deps.sh: unknown set '$want' (build|check|e2e|pkg)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
    # dpkg-query is the ground truth; pkg-config alone misses tools like clang.
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: missing Debian packages:$missing" >&2
    echo "deps.sh: run as root, or: sudo apt-get install -y$missing" >&2
    exit 1
fi

echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2

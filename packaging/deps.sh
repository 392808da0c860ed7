#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the Debian packages sipkeep needs to build and test, only when missing.
# Usage: packaging/deps.sh build|check|e2e|pkg|cross
# Idempotent and quiet when everything is present, so `make` may call it every time.
set -eu

want=build
[ $# -gt 0 ] && want=$1

build_pkgs="gcc make pkg-config libssl-dev libyaml-dev libnetfilter-queue-dev libc-ares-dev"
check_pkgs="$build_pkgs clang libclang-rt-14-dev libcmocka-dev"
# pkg: make deb and make packaging-check (Debian package, lintian, the systemd
# unit, man pages, lint and an ash run of the OpenWrt init script).
pkg_pkgs="$build_pkgs dpkg-dev debhelper fakeroot lintian adduser systemd man-db groff-base shellcheck busybox"
# cross: make cross (tests/cross.sh): Debian's cross compilers with their libc
# (libc6-dev-*-cross: only recommended, so --no-install-recommends would leave
# it out), qemu-user and musl-gcc.  The target libraries are not installed:
# tests/cross.sh unpacks their .debs into build/cross/<arch>/sysroot; this
# only adds the foreign architectures to dpkg so apt-get download finds them.
cross_pkgs="$build_pkgs clang dpkg-dev file gcc-arm-linux-gnueabihf libc6-dev-armhf-cross gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user musl-tools linux-libc-dev"
# conntrack: the lab's checks and sipkeep's flush on a WAN change (transparent mode).
e2e_pkgs="$check_pkgs kamailio kamailio-outbound-modules kamailio-tls-modules sip-tester baresip-core iproute2 iptables openssl tcpdump procps conntrack jq valgrind strace python3-prometheus-client dnsmasq-base"

case "$want" in
    build) pkgs=$build_pkgs ;;
    check) pkgs=$check_pkgs ;;
    e2e) pkgs=$e2e_pkgs ;;
    pkg) pkgs=$pkg_pkgs ;;
    cross) pkgs=$cross_pkgs ;;
    *) echo "deps.sh: unknown set '$want' (build|check|e2e|pkg|cross)" >&2; exit 2 ;;
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

# cross: apt-get download needs the foreign architectures' package lists.
need_update=""
if [ "$want" = cross ]; then
    for a in armhf s390x; do
        if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
            [ "$(id -u)" = 0 ] || { echo "deps.sh: run as root: dpkg --add-architecture $a" >&2; exit 1; }
            dpkg --add-architecture "$a"
            need_update=1
        fi
    done
    if [ -n "$need_update" ] && [ -z "$missing" ]; then
        apt-get update -qq >&2
    fi
fi

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

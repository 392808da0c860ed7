#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make cross (part of make check): sipkeep on the targets of home routers.
#   armhf (32-bit ARM, glibc) and s390x (big-endian, 64-bit; the big-endian
#   target Debian ships whole): the daemon and every unit test built with
#   Debian's cross compilers, the unit tests (and the daemon's
#   --check-config of the example config) run under qemu-user.
#   musl (OpenWrt's libc): every file of src/ compiled to an object.
#   opt: every file of src/ -Werror clean with gcc and clang at -O1/-O2/-Os.
# Usage: tests/cross.sh [BUILD]   (default build; output under BUILD/cross)
#
# The target libraries are not installed: their .debs are fetched with
# apt-get download (cached in BUILD/cross/debs/<arch>) and unpacked into
# BUILD/cross/<arch>/sysroot, so the machine's package set does not change
# and multiarch version skew between amd64 and the target does not matter.
# packaging/deps.sh cross installs the compilers and qemu-user and adds the
# two architectures to dpkg (needed by apt-get download).
#
# Unit tests run without sanitizers (ASan under qemu-user is unreliable).
# Skipped, by name, only those that need what qemu-user does not emulate
# (SKIP below); any other failure fails the run.
set -eu

BUILD=${1:-build}
JOBS=${CROSS_JOBS:-2}
top=$(pwd)
case "$BUILD" in /*) out=$BUILD/cross ;; *) out=$top/$BUILD/cross ;; esac

# name:reason, one per line.
SKIP="test_nfq_queue:qemu-user refuses socket(PF_NETLINK, NETLINK_NETFILTER) (EPROTONOSUPPORT)
test_tproxy_send:qemu-user's setsockopt does not know IP_TRANSPARENT (ENOPROTOOPT)"

# What the build links comes from the Makefile (PKGS) and packaging/deps.sh
# (the lib*-dev packages of its build set), so a new library needs no edit
# here: the target gets those -dev packages, libcmocka-dev and libc6, and
# every library they depend on (deps_of, to a fixed point).
LIBS_PC=$(sed -n 's/^PKGS *:= *//p' Makefile)
DEV_PKGS="$(sed -n 's/^build_pkgs="\(.*\)"$/\1/p' packaging/deps.sh | tr ' ' '\n' |
    grep '^lib.*-dev$' | tr '\n' ' ')"
if [ -z "$LIBS_PC" ] || [ -z "$DEV_PKGS" ]; then
    echo "cross: no PKGS in Makefile or no build_pkgs in packaging/deps.sh" >&2
    exit 1
fi

say() { echo "cross: $*"; }
now() { date +%s; }

skip_reason() {
    echo "$SKIP" | while IFS=: read -r n r; do
        [ "$n" = "$1" ] && { echo "$r"; break; }
    done
}

# The library packages a Depends field names (first alternative, no
# versions); reads DEPENDS from stdin.
lib_deps() {
    tr ',' '\n' | sed 's/|.*//; s/(.*//; s/:any//; s/[[:space:]]//g' | grep '^lib' || true
}

# have_deb DIR PACKAGE ARCH: a .deb of it is cached.
have_deb() {
    for f in "$1/$2_"*"_$3.deb" "$1/$2_"*_all.deb; do
        [ -e "$f" ] && return 0
    done
    return 1
}

# sysroot ARCH: download (once, cached) and unpack (when a .deb changed).
sysroot() {
    debs=$out/debs/$1 sr=$out/$1/sysroot
    mkdir -p "$debs"
    set_=" libc6 libcmocka-dev $DEV_PKGS "
    while :; do
        for d in "$debs"/*.deb; do
            [ -e "$d" ] || continue
            for p in $(dpkg-deb -f "$d" Depends | lib_deps); do
                case "$set_" in *" $p "*) ;; *) set_="$set_$p " ;; esac
            done
        done
        want=""
        for p in $set_; do
            have_deb "$debs" "$p" "$1" || want="$want $p:$1"
        done
        [ -n "$want" ] || break
        say "$1: apt-get download$want"
        # A second try after apt-get update: the lists may be older than
        # the mirror, or predate dpkg --add-architecture.
        # shellcheck disable=SC2086
        (cd "$debs" && apt-get download -q=2 -o APT::Sandbox::User=root $want) ||
            { [ "$(id -u)" = 0 ] && apt-get update -qq &&
              (cd "$debs" && apt-get download -q=2 -o APT::Sandbox::User=root $want); } || {
            echo "cross: apt-get download failed; run: sh packaging/deps.sh cross" >&2
            exit 1
        }
    done
    if [ ! -f "$sr/.unpacked" ] || [ -n "$(find "$debs" -newer "$sr/.unpacked" -name '*.deb')" ]; then
        rm -rf "$sr"
        mkdir -p "$sr"
        for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$sr"; done
        touch "$sr/.unpacked"
    fi
}

# arch ARCH TRIPLET QEMU CFLAGS: build, run, print the summary line.
arch() {
    a=$1 tri=$2 qemu=$3 opt=$4 lfs=$6
    sr=$out/$a/sysroot b=$out/$a/build
    t0=$(now)
    sysroot "$a"
    # shellcheck disable=SC2086
    pc_libs=$(PKG_CONFIG_SYSROOT_DIR=$sr \
        PKG_CONFIG_LIBDIR=$sr/usr/lib/$tri/pkgconfig:$sr/usr/share/pkgconfig \
        pkg-config --libs $LIBS_PC)
    pkg_cflags="-isystem $sr/usr/include/$tri -isystem $sr/usr/include"
    pkg_libs="-L$sr/usr/lib/$tri $pc_libs -Wl,-rpath-link,$sr/usr/lib/$tri:$sr/lib/$tri"
    bins=""
    for s in tests/unit/test_*.c; do
        n=${s#tests/unit/}
        bins="$bins $b/tests/${n%.c}"
    done
    t1=$(now)
    # make rebuilds on changed files, not on changed flags: a build dir made
    # with other flags starts over.
    flags="$tri-gcc $opt $lfs $pkg_cflags $pkg_libs"
    if [ "$(cat "$b/.flags" 2>/dev/null)" != "$flags" ]; then
        rm -rf "$b"
        mkdir -p "$b"
        echo "$flags" >"$b/.flags"
    fi
    # The Makefile's own rules: the daemon from $(BUILD)/obj at opt, the unit
    # tests from $(BUILD)/san with SAN emptied (-O1, no sanitizers).
    # shellcheck disable=SC2086
    make -s -k -j"$JOBS" BUILD="$b" CC="$tri-gcc" SAN= CFLAGS="$opt" LFS64="$lfs" \
        PKG_CFLAGS="$pkg_cflags" PKG_LIBS="$pkg_libs" "$b/sipkeep" $bins ||
        { echo "cross $a: build FAILED" >&2; return 1; }
    file "$b/sipkeep" | grep -q "$5" || { echo "cross: $b/sipkeep is not $5" >&2; return 1; }
    # The daemon itself, once: it starts and validates the example config.
    QEMU_LD_PREFIX=$sr "$qemu" "$b/sipkeep" --check-config -c config/sipkeep.yaml >/dev/null ||
        { echo "cross $a: sipkeep --check-config -c config/sipkeep.yaml FAILED" >&2; return 1; }
    t2=$(now)
    passed=0 failed=0 skipped=0 cases=0 skipnames="" failnames="" inner=""
    mkdir -p "$b/logs"
    for t in $bins; do
        n=$(basename "$t")
        r=$(skip_reason "$n")
        if [ -n "$r" ]; then
            say "$a: SKIP $n: $r"
            skipped=$((skipped + 1))
            skipnames="$skipnames${skipnames:+; }$n: $r"
            continue
        fi
        if QEMU_LD_PREFIX=$sr timeout 300 "$qemu" "$t" >"$b/logs/$n.log" 2>&1; then
            passed=$((passed + 1))
            c=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$b/logs/$n.log" | tail -n1)
            cases=$((cases + ${c:-0}))
            # A case that skip()s itself (a precondition the host lacks, as
            # in make unit) is not hidden: named in the summary.
            inner="$inner$(sed -n 's/^\[  SKIPPED \] \(test_[A-Za-z0-9_]*\) *$/\1/p' \
                "$b/logs/$n.log" | sort -u | sed "s|^| $n/|" | tr -d '\n')"
        else
            failed=$((failed + 1))
            failnames="$failnames $n"
            say "$a: FAILED $n (under $qemu; $b/logs/$n.log):"
            grep -E '^\[ *(ERROR|LINE|FAILED) *\]' "$b/logs/$n.log" | head -n 20 ||
                tail -n 20 "$b/logs/$n.log"
        fi
    done
    t3=$(now)
    echo "cross $a ($lfs): unit $passed passed ($cases cases), $skipped skipped (${skipnames:-none}), $failed failed${failnames:+:$failnames}${inner:+; cases that skipped themselves:$inner}; time: sysroot $((t1 - t0)) s, build $((t2 - t1)) s, tests $((t3 - t2)) s"
    [ "$failed" -eq 0 ]
}

# musl: every src file to an object with musl-gcc.  musl-gcc sees only
# musl's headers, so the non-libc headers sipkeep needs come from two
# directories of links to the host's: the kernel's uapi headers, and what the
# library -dev packages (DEV_PKGS and the -dev packages they depend on)
# install under /usr/include, which need only standard C.  /usr/include
# itself (glibc's headers) is never on the path.
musl() {
    t0=$(now)
    inc=$out/musl/include incarch=$out/musl/include-arch
    ma=$(gcc -dumpmachine)
    rm -rf "$inc" "$incarch"
    mkdir -p "$inc" "$incarch"
    ln -sfn /usr/include/linux "$inc/linux"
    ln -sfn /usr/include/asm-generic "$inc/asm-generic"
    ln -sfn "/usr/include/$ma/asm" "$inc/asm"
    devs=" $DEV_PKGS " todo=$DEV_PKGS
    while [ -n "$todo" ]; do
        next=""
        for p in $todo; do
            for d in $(dpkg-query -W -f='${Depends}' "$p" | lib_deps | grep -- '-dev$'); do
                case "$devs" in *" $d "*) ;; *) devs="$devs$d " next="$next $d" ;; esac
            done
        done
        todo=$next
    done
    # shellcheck disable=SC2086
    dpkg -L $devs | sed -n "s|^/usr/include/$ma/\([^/][^/]*\).*|$incarch \1 /usr/include/$ma|p
        s|^/usr/include/\([^/][^/]*\).*|$inc \1 /usr/include|p" | sort -u |
    while read -r dir name from; do
        [ "$name" = "$ma" ] || ln -sfn "$from/$name" "$dir/$name"
    done
    objs=$(find src -name '*.c' | sort | sed "s|^|$out/musl/obj/|; s|\.c\$|.o|")
    n=$(echo "$objs" | wc -l)
    # shellcheck disable=SC2086
    make -s -j"$JOBS" BUILD="$out/musl" CC=musl-gcc CFLAGS=-Os \
        PKG_CFLAGS="-isystem $incarch -isystem $inc" $objs ||
        { echo "cross musl: compile FAILED" >&2; return 1; }
    echo "cross musl: $n of $n src files compiled (musl-gcc -Os -Werror, objects only); time: $(($(now) - t0)) s"
}

# -Werror at every optimisation level a packager may pick (OpenWrt: -Os),
# with both compilers: the warnings gcc and clang find depend on it.  The
# cross builds above already ran gcc at -Os (armhf), -O2 (s390x) and -O1
# (the unit-test objects); here the host's gcc and clang, src objects only.
opt() {
    t0=$(now)
    objs=$(find src -name '*.c' | sort | sed 's|^|obj/|; s|\.c$|.o|')
    n=$(echo "$objs" | wc -l) bad=""
    for cc in gcc clang; do
        for o in -O1 -O2 -Os; do
            b=$out/opt/$cc$o
            # shellcheck disable=SC2046
            make -s -k -j"$JOBS" BUILD="$b" CC=$cc CFLAGS="$o" $(echo "$objs" | sed "s|^|$b/|") ||
                bad="$bad $cc$o"
        done
    done
    [ -z "$bad" ] || { echo "cross opt: -Werror FAILED at:$bad" >&2; return 1; }
    echo "cross opt: $n of $n src files -Werror clean with gcc and clang at -O1, -O2, -Os; time: $(($(now) - t0)) s"
}

start=$(now)
rc=0
# Both with the Makefile's large-file and 64-bit time_t flags, including
# armhf, whose Debian 12 libraries still have a 32-bit time_t: no struct
# with a time_t crosses a library boundary in sipkeep (resolve.c drives
# c-ares' timeouts with ares_process_fd on a tick, not ares_timeout).
LFS64=$(sed -n 's/^LFS64 *:= *//p' Makefile)
[ -n "$LFS64" ] || { echo "cross: no LFS64 in the Makefile" >&2; exit 1; }
arch armhf arm-linux-gnueabihf qemu-arm -Os "ARM, EABI5" "$LFS64" || rc=1
arch s390x s390x-linux-gnu qemu-s390x -O2 "IBM S/390" "$LFS64" || rc=1
musl || rc=1
opt || rc=1
echo "cross: total $(($(now) - start)) s on $(nproc) cores (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$rc" -eq 0 ] || { echo "cross: FAILED" >&2; exit 1; }

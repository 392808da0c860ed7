#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# sipkeep end-to-end tests: runs every tests/e2e/t_*.sh in name order, each in a
# lab of its own (network namespaces, Kamailio, sipp, baresip: see lib.sh).
# Usage: tests/e2e/run.sh [SIPKEEP_BINARY]     (as root)
#   The binary is handed to the scenarios as $SIPKEEP (absolute path).
#   E2E_ONLY=PATTERN     run only scenarios whose name contains PATTERN
#   E2E_SCENARIO_TIMEOUT seconds one scenario may take (default 300)
#   E2E_VERBOSE=1        print every scenario's log, not only a failed one's
#   E2E_ARTIFACTS=DIR    keep each lab's configs, logs and traces under DIR
#   E2E_SKIP="t_a t_b"   skip these scenarios (exact names; printed as SKIP)
#   E2E_SAN=1            the binary is an ASan+UBSan build: each scenario gets a
#                        report directory (SK_SAN_DIR, ASAN_OPTIONS/UBSAN_OPTIONS
#                        log_path there, halt on the first error, leak check at
#                        exit); any report in it fails the scenario, whatever
#                        the daemon's exit status (sk_stop checks it too)
# Prints "PASS t_name (Ns)" or "FAIL t_name (Ns)" per scenario, then
# "e2e: N passed, M failed"; exits non-zero if any failed.
# POSIX sh on purpose: the Makefile runs it with sh.
set -u

here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${E2E_SCENARIO_TIMEOUT:-300}

if [ $# -gt 0 ] && [ -n "$1" ]; then
    case "$1" in
        /*) SIPKEEP=$1 ;;
        *) SIPKEEP=$(pwd)/$1 ;;
    esac
    [ -x "$SIPKEEP" ] || echo "e2e: warning: $SIPKEEP is not an executable file" >&2
    export SIPKEEP
fi

if [ "$(id -u)" != 0 ]; then
    echo "e2e: must run as root (network namespaces, iptables)" >&2
    echo "e2e: 0 passed, 1 failed"
    exit 1
fi

logs=$(mktemp -d "/tmp/skt-$$.e2e-logs.XXXXXX") || exit 1
child=
cleanup() {
    rm -rf -- "$logs"
}
on_signal() {
    # The scenario runs under timeout(1), in a process group of its own: forward.
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    echo "e2e: interrupted"
    cleanup
    exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

passed=0
failed=0
for t in "$here"/t_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    case "$name" in
        *"${E2E_ONLY:-}"*) ;;
        *) continue ;;
    esac
    case " ${E2E_SKIP:-} " in
        *" $name "*) echo "SKIP $name"; continue ;;
    esac
    log=$logs/$name.log
    if [ "${E2E_SAN:-0}" = 1 ]; then
        # World-writable: t_21's daemon reports as the user it switched to.
        SK_SAN_DIR=$logs/$name.san
        mkdir -m 1777 "$SK_SAN_DIR" && chmod 1777 "$SK_SAN_DIR"
        export SK_SAN_DIR
        export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$SK_SAN_DIR/asan"
        export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$SK_SAN_DIR/ubsan"
    fi
    start=$(date +%s)
    timeout -k 10 "$timeout_s" bash "$t" >"$log" 2>&1 </dev/null &
    child=$!
    rc=0
    wait "$child" || rc=$?
    child=
    if [ "${E2E_SAN:-0}" = 1 ] && [ -n "$(ls -A "$SK_SAN_DIR")" ]; then
        # Also a daemon the scenario never stopped with sk_stop, or a CLI run.
        for f in "$SK_SAN_DIR"/*; do
            echo "=== sanitizer report $f" >>"$log"
            head -n 80 "$f" >>"$log"
        done
        [ "$rc" -ne 0 ] || rc=1
    fi
    secs=$(( $(date +%s) - start ))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $name (${secs}s)"
        [ -z "${E2E_VERBOSE:-}" ] || sed 's/^/    /' "$log"
    else
        failed=$((failed + 1))
        echo "FAIL $name (${secs}s)"
        [ "$rc" -ne 124 ] || echo "    (killed after ${timeout_s}s)"
        sed 's/^/    /' "$log"
    fi
done

if [ $((passed + failed)) -eq 0 ]; then
    echo "e2e: no scenario matched" >&2
    failed=1
fi
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

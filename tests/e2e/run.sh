#!/bin/sh
# sipkeep end-to-end tests: runs every tests/e2e/t_*.sh in name order, each in a
# lab of its own (network namespaces, Kamailio, sipp, baresip: see lib.sh).
# Usage: tests/e2e/run.sh [SIPKEEP_BINARY]     (as root)
#   The binary is handed to the scenarios as $SIPKEEP (absolute path).
#   E2E_ONLY=PATTERN     run only scenarios whose name contains PATTERN
#   E2E_SCENARIO_TIMEOUT seconds one scenario may take (default 300)
#   E2E_VERBOSE=1        print every scenario's log, not only a failed one's
#   E2E_ARTIFACTS=DIR    keep each lab's configs, logs and traces under DIR
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
    log=$logs/$name.log
    start=$(date +%s)
    timeout -k 10 "$timeout_s" bash "$t" >"$log" 2>&1 </dev/null &
    child=$!
    rc=0
    wait "$child" || rc=$?
    child=
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

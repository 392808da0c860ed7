#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# sipkeep end-to-end tests: runs every tests/e2e/t_*.sh, each in a lab of its
# own (network namespaces, Kamailio, sipp, baresip: see lib.sh), up to
# E2E_JOBS of them at a time.
# Usage: tests/e2e/run.sh [SIPKEEP_BINARY]     (as root)
#   The binary is handed to the scenarios as $SIPKEEP (absolute path).
#   E2E_JOBS=N           scenarios run side by side (default 4; 1: one after
#                        the other).  Most of a scenario's time is waiting
#                        (timers, NAT expiry), and every lab is named after its
#                        scenario's PID, so labs do not share names, addresses,
#                        iptables rules or temp dirs.  A scenario with a line
#                        "# e2e: alone" (it changes the host: t_30 installs the
#                        .deb) runs first, with nothing beside it.
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
# Prints "PASS t_name (Ns)" or "FAIL t_name (Ns)" per scenario as it ends (a
# failed one's log after it), then the wall time and, last, "e2e: N passed, M
# failed"; exits non-zero if any failed.  SIGINT/SIGTERM stop every running scenario.
# POSIX sh on purpose: the Makefile runs it with sh.
set -u

here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${E2E_SCENARIO_TIMEOUT:-300}
jobs=${E2E_JOBS:-4}
case "$jobs" in
    '' | *[!0-9]* | 0)
        echo "e2e: E2E_JOBS must be a positive number, not '$jobs'" >&2
        echo "e2e: 0 passed, 1 failed"
        exit 1 ;;
esac

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
# The scenarios running now: "PID:NAME:START" words (PID: timeout(1) around
# the scenario, which leads a process group of its own).
running=
nrunning=0
cleanup() {
    rm -rf -- "$logs"
}
on_signal() {
    trap '' INT TERM
    # timeout(1) passes the SIGTERM on to its scenario, whose trap tears its lab down.
    for r in $running; do
        kill -TERM "${r%%:*}" 2>/dev/null
    done
    for r in $running; do
        wait "${r%%:*}" 2>/dev/null
    done
    echo "e2e: interrupted"
    cleanup
    exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

passed=0
failed=0
t_begin=$(date +%s)

# start T NAME: run scenario file T in the background (timeout(1) around it).
start() {
    log=$logs/$2.log
    if [ "${E2E_SAN:-0}" = 1 ]; then
        # World-writable: t_21's daemon reports as the user it switched to.
        san=$logs/$2.san
        mkdir -m 1777 "$san" && chmod 1777 "$san"
        SK_SAN_DIR=$san \
        ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$san/asan" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$san/ubsan" \
            timeout -k 10 "$timeout_s" bash "$1" >"$log" 2>&1 </dev/null &
    else
        timeout -k 10 "$timeout_s" bash "$1" >"$log" 2>&1 </dev/null &
    fi
    running="$running $!:$2:$(date +%s)"
    nrunning=$((nrunning + 1))
}

# finish PID NAME START: collect that scenario's status, print its result.
finish() {
    rc=0
    wait "$1" || rc=$?
    log=$logs/$2.log
    san=$logs/$2.san
    if [ "${E2E_SAN:-0}" = 1 ] && [ -n "$(ls -A "$san")" ]; then
        # Also a daemon the scenario never stopped with sk_stop, or a CLI run.
        for f in "$san"/*; do
            echo "=== sanitizer report $f" >>"$log"
            head -n 80 "$f" >>"$log"
        done
        [ "$rc" -ne 0 ] || rc=1
    fi
    secs=$(( $(date +%s) - $3 ))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $2 (${secs}s)"
        [ -z "${E2E_VERBOSE:-}" ] || sed 's/^/    /' "$log"
    else
        failed=$((failed + 1))
        echo "FAIL $2 (${secs}s)"
        [ "$rc" -ne 124 ] || echo "    (killed after ${timeout_s}s)"
        sed 's/^/    /' "$log"
    fi
}

# reap: finish every scenario that ended; if none had, sleep a second first
# (POSIX sh has no wait for any one child).  The foreground sleep also lets
# the shell reap ended children, so that kill -0 stops seeing them.
reap() {
    for pass in 1 2; do
        still=
        ended=0
        for r in $running; do
            pid=${r%%:*}
            if kill -0 "$pid" 2>/dev/null; then
                still="$still $r"
            else
                rest=${r#*:}
                finish "$pid" "${rest%%:*}" "${rest#*:}"
                ended=$((ended + 1))
            fi
        done
        running=$still
        nrunning=$((nrunning - ended))
        [ "$ended" -eq 0 ] || return 0
        [ "$pass" -eq 2 ] || sleep 1
    done
}

# The scenarios to run, in name order, "# e2e: alone" ones first.
alone=
shared=
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
    if grep -q '^# e2e: alone' "$t"; then
        alone="$alone $t"
    else
        shared="$shared $t"
    fi
done

for t in $alone; do
    start "$t" "$(basename "$t" .sh)"
    while [ "$nrunning" -gt 0 ]; do reap; done
done
for t in $shared; do
    while [ "$nrunning" -ge "$jobs" ]; do reap; done
    start "$t" "$(basename "$t" .sh)"
done
while [ "$nrunning" -gt 0 ]; do reap; done

if [ $((passed + failed)) -eq 0 ]; then
    echo "e2e: no scenario matched" >&2
    failed=1
fi
echo "e2e: $(( $(date +%s) - t_begin ))s wall time, E2E_JOBS=$jobs"
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

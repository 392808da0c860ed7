#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make demo` works and leaves nothing behind.  Runs tests/demo/demo.sh with the
# built sipkeep to the end, then again interrupted by SIGINT to its process group
# (what Ctrl-C in a terminal does) once its lab is up.  The complete run must
# exit 0 and tell the call answered with sipkeep and failing without; the
# interrupted one must exit 130.  After each: no skt-<demo pid>-* namespace or
# /etc/netns entry, no /tmp/skt-<demo pid>.* dir, no process the demo started
# (each carries a marker in its environment; orphaned kamailio/sipp/sipkeep/
# tcpdump in a deleted namespace are looked for too), and the host's iptables
# rules and links are unchanged.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

DEMO=$(cd "$E2E_DIR/../demo" && pwd)/demo.sh
OUT_DIR=$(mktemp -d "/tmp/skt-$$.demo-out.XXXXXX")
HOST_NETNS=$(readlink /proc/self/ns/net)
DEMO_PID=
MARK=

_t40_exit() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$DEMO_PID" ]] && kill -0 "$DEMO_PID" 2>/dev/null; then
        # The demo cleans up on SIGINT or SIGTERM; give it the time it needs.
        kill -INT -- "-$DEMO_PID" 2>/dev/null || true
        wait_for "! kill -0 $DEMO_PID" 30 "the demo to clean up after SIGINT" || {
            kill -TERM "$DEMO_PID" 2>/dev/null || true
            wait_for "! kill -0 $DEMO_PID" 30 "the demo to clean up after SIGTERM" ||
                kill -KILL -- "-$DEMO_PID" 2>/dev/null || true
        }
    fi
    rm -rf -- "$OUT_DIR"
    exit "$rc"
}
trap _t40_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

_host_iptables() {
    { iptables-save 2>/dev/null || true; } | sed -E '/^#/d; s/\[[0-9]+:[0-9]+\]//g'
}

_host_links() {
    ip -o link show | awk -F': ' '{ print $2 }' | sort
}

# kamailio/sipp/sipkeep/tcpdump processes (PIDs) that exist now.
_lab_tool_pids() {
    pgrep -x 'kamailio|sipp|sipkeep|tcpdump' 2>/dev/null | sort || true
}

# Processes carrying MARK (the demo's environment), one "PID COMM CMDLINE" a line.
_marked() {
    local p
    for p in /proc/[0-9]*; do
        grep -qzx "DEMO_TEST_MARK=$MARK" "$p/environ" 2>/dev/null || continue
        printf '%s %s %s\n' "${p#/proc/}" "$(cat "$p/comm" 2>/dev/null)" \
            "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-120)"
    done
}

# leftovers ID BEFORE_PIDS: everything demo run ID left behind, one item a line.
leftovers() {
    local id=$1 before=$2 p ns
    ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^skt-$id-" | sed 's/^/namespace /' || true
    for p in "/etc/netns/skt-$id-"* "/tmp/skt-$id."*; do
        [[ ! -e "$p" ]] || echo "path $p"
    done
    _marked | sed 's/^/process /'
    # A lab tool that is new, not in the host's namespace and not in a named one
    # (another lab's): it lives on in a namespace the demo deleted.
    for p in $(comm -13 <(printf '%s\n' "$before") <(_lab_tool_pids)); do
        ns=$(readlink "/proc/$p/ns/net" 2>/dev/null) || continue
        [[ "$ns" != "$HOST_NETNS" ]] || continue
        [[ -z "$(ip netns identify "$p" 2>/dev/null)" ]] || continue
        echo "orphan $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"
    done
}

# start_demo NAME: start the demo in a session of its own (so that a signal can
# go to its process group, as from a terminal), output to $OUT_DIR/NAME.txt.
# A background command of a script starts with SIGINT ignored, which bash could
# not trap: env restores the default, as a terminal's foreground job has it.
start_demo() {
    MARK=$(cat /proc/sys/kernel/random/uuid)
    DEMO_TEST_MARK=$MARK env --default-signal=INT setsid bash "$DEMO" "$SIPKEEP" \
        >"$OUT_DIR/$1.txt" 2>&1 </dev/null &
    DEMO_PID=$!
}

# finish_demo NAME TIMEOUT: wait for the demo to end; sets DEMO_RC; shows its output.
DEMO_RC=
finish_demo() {
    local name=$1 t=$2
    wait_for "! kill -0 $DEMO_PID" "$t" "the demo ($name) to end" || die "the demo ($name) did not end within ${t}s"
    DEMO_RC=0
    wait "$DEMO_PID" || DEMO_RC=$?
    log_step "demo ($name) exited with $DEMO_RC; its output:"
    sed 's/^/    | /' "$OUT_DIR/$name.txt"
    # Its lab carries its PID: make sure we check the right names.
    grep -q "skt-$DEMO_PID-lan" "$OUT_DIR/$name.txt" ||
        die "the demo's lab is not named after PID $DEMO_PID (setsid forked?)"
}

# check_clean NAME: nothing of demo run NAME remains.
check_clean() {
    local name=$1 left
    wait_for "[[ -z \"\$(leftovers $DEMO_PID '$tools_before')\" ]]" 10 "demo ($name) leftovers to vanish" || {
        left=$(leftovers "$DEMO_PID" "$tools_before")
        die "the demo ($name) left behind: $left"
    }
    [[ "$(_host_iptables)" == "$ipt_before" ]] ||
        die "the demo ($name) changed the host's iptables: $(diff <(echo "$ipt_before") <(_host_iptables) || true)"
    [[ "$(_host_links)" == "$links_before" ]] ||
        die "the demo ($name) changed the host's links: $(diff <(echo "$links_before") <(_host_links) || true)"
    log_step "demo ($name): no namespace, process, file, iptables rule or link left behind"
}

[[ -x "${SIPKEEP:-}" ]] || die "SIPKEEP is not set to the sipkeep binary"
ipt_before=$(_host_iptables)
links_before=$(_host_links)
tools_before=$(_lab_tool_pids)

# 1. The whole demo.
t0=$(date +%s)
start_demo full
finish_demo full 280
log_step "the demo took $(( $(date +%s) - t0 )) s"
[[ $DEMO_RC -eq 0 ]] || die "the demo failed (exit $DEMO_RC)"
grep -q '✔ The call was answered by phone 1001 through sipkeep' "$OUT_DIR/full.txt" ||
    die "the demo did not show the call answered through sipkeep"
grep -Eq '✘ The call to phone 1002 failed \((480|408)' "$OUT_DIR/full.txt" ||
    die "the demo did not show the call failing without sipkeep"
grep -q '^\[[0-9][0-9]:[0-9][0-9]\] 6/6 sipkeep status' "$OUT_DIR/full.txt" ||
    die "the demo did not reach its status step"
grep -q 'Clean: namespaces' "$OUT_DIR/full.txt" || die "the demo did not confirm its cleanup"
check_clean full

# 2. Ctrl-C while the lab runs (sipkeep, Kamailio, the capture; mid-silence).
start_demo sigint
wait_for "grep -q '3/6 Silence' '$OUT_DIR/sigint.txt'" 60 "the demo's silence step" ||
    die "the demo did not reach its silence step: $(cat "$OUT_DIR/sigint.txt")"
marked=$(_marked)
awk '$2 == "kamailio" { k = 1 } $2 == "sipkeep" { s = 1 } END { exit !(k && s) }' <<<"$marked" ||
    die "the environment marker does not find the demo's processes: $marked"
log_step "demo running with $(wc -l <<<"$marked") marked processes; SIGINT to its process group"
kill -INT -- "-$DEMO_PID"
finish_demo sigint 30
[[ $DEMO_RC -eq 130 ]] || die "the interrupted demo exited with $DEMO_RC, not 130"
grep -q 'Interrupted (SIGINT)' "$OUT_DIR/sigint.txt" || die "the demo did not say it was interrupted"
grep -q 'Clean: namespaces' "$OUT_DIR/sigint.txt" || die "the interrupted demo did not confirm its cleanup"
if grep -q 'DEMO FAILED' "$OUT_DIR/sigint.txt"; then
    die "the interrupted demo reported a failure"
fi
check_clean sigint

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario: systemd's notify protocol (issue 13 item 4), with a datagram
# socket the test owns standing in for systemd (sdnotify/notify_rx.py: it
# logs each message with the sender's pid and uid from SCM_CREDENTIALS).
# sipkeep runs as `nobody` with NOTIFY_SOCKET set and WATCHDOG_USEC=2000000.
#  1. READY=1 comes once, from the daemon's own pid as the dropped user; at
#     that moment (the daemon frozen by SIGSTOP the instant READY=1 arrives)
#     the control socket exists and an OPTIONS sent to the listen socket is
#     answered after SIGCONT: the listen socket was open before READY=1.
#     STATUS= says flows up 0/0, bindings 0.
#  2. WATCHDOG=1 at least every second (half of WATCHDOG_USEC; gaps measured).
#  3. A phone registers: STATUS= follows (flows up 1/1, bindings 1).
#  4. SIGSTOP: no WATCHDOG=1 while the loop cannot run; after SIGCONT they
#     come again.
#  5. SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1.
#  6. SIGTERM: STOPPING=1, a clean exit.
#  7. The order itself, syscall by syscall: started again under strace, the
#     daemon binds the listen socket and the control socket and drops to
#     `nobody` (setresuid) before the sendto() of READY=1.  (The SIGSTOP of
#     step 1 comes a moment after the send, so on its own it shows the
#     sockets answer when READY=1 arrives; the trace shows they were open
#     before it was sent.)
# Markers ("MARK=...") the test sends into the same socket order the log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1080
RUN_AS=nobody
# At least every second, as the issue asks: half of WATCHDOG_USEC is 1.000 s
# and the loop's timer fires at or just after its due time.  Measured gaps
# on an idle machine are 1.000-1.003 s; the bound leaves room for a loaded
# 2-core CI machine, the count below keeps the rate honest.
WD_MAX_GAP=1.2

lab_up
kam_start registrar
kam_start edge
chmod 0711 "$LAB_DIR"          # the unprivileged daemon reaches its files and the socket
uid=$(id -u "$RUN_AS")
NOTIFY=$LAB_DIR/notify.sock
NLOG=$LAB_DIR/notify.log
: >"$NLOG"

# mark NAME: a MARK=NAME datagram into the notify socket, logged in order.
mark() {
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(("MARK=" + sys.argv[2]).encode(), sys.argv[1])' "$NOTIFY" "$1"
}
# between A B: the log lines after MARK=A and before MARK=B (B empty: to the end).
between() {
    awk -v a="MARK=$1" -v b="${2:+MARK=$2}" '
        $NF == a { on = 1; next }
        b != "" && $NF == b { on = 0 }
        on' "$NLOG"
}
# daemon_msgs: the lines the daemon sent (its pid).
daemon_msgs() {
    awk -v p="pid=$dpid" '$2 == p' "$NLOG"
}

START_LOG=$LAB_DIR/notify_rx.out start_in_ns "$NS_LAN" python3 "$E2E_DIR/sdnotify/notify_rx.py" \
    "$NOTIFY" "$NLOG" "$ROUTER_LAN_IP" 5060 "$LAN_UA_IP" "$LAB_DIR/run/sipkeep.sock"
wait_for '[[ -S "$NOTIFY" ]] && grep -q "rx listening" "$NLOG"' 10 "the notify receiver" ||
    die "the receiver did not start: $(cat "$LAB_DIR/notify_rx.out")"

SK_USER=$RUN_AS sk_config "$LAB_DIR/sipkeep.yaml"
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=2000000 sk_start "$LAB_DIR/sipkeep.yaml"
dpid=$(sk_daemon_pid) || die "no sipkeep process"

log_step "1. READY=1 after the sockets are open and privileges dropped"
wait_for 'grep -q "rx options_" "$NLOG"' 10 "READY=1 and the OPTIONS probe" ||
    die "no READY=1 / probe: $(cat "$NLOG"; cat "$LAB_DIR/notify_rx.out")"
sed 's/^/    /' "$NLOG"
ready=$(grep -m1 ' READY=1' "$NLOG")
[[ "$ready" == *" pid=$dpid uid=$uid "* ]] ||
    die "READY=1 not from the daemon (pid $dpid) as $RUN_AS (uid $uid): $ready"
[[ "$ready" == *"READY=1 | STATUS=flows up 0/0, bindings 0" ]] || die "READY=1 without the STATUS: $ready"
grep -q "rx stopped uids=$uid $uid $uid $uid ctl_exists=1" "$NLOG" ||
    die "at READY=1 the daemon was not yet $RUN_AS everywhere or had no control socket: $(grep 'rx stopped' "$NLOG")"
grep -Eq 'rx options_reply=SIP/2.0 [0-9]{3} ' "$NLOG" ||
    die "the listen socket did not answer the OPTIONS sent at READY=1: $(grep 'rx options' "$NLOG")"
# READY=1 is the first message: nothing before it claimed readiness.
[[ $(daemon_msgs | head -n 1) == "$ready" ]] || die "a message before READY=1: $(daemon_msgs | head -n 1)"
sk_log_has 'event=sd_notify_ready watchdog_ms=1000' || die "no sd_notify_ready watchdog_ms=1000 line"
log_step "READY=1 from pid $dpid uid $uid; listen socket answered: $(grep -o 'options_reply=.*' "$NLOG")"

log_step "2. WATCHDOG=1 at least every second"
mark wd_start
idle 5
mark wd_end
gaps=$(between wd_start wd_end | awk -v p="pid=$dpid" '$2 == p && $NF == "WATCHDOG=1" {
    if (n++) { g = $1 - last; if (g > max) max = g } last = $1 }
    END { printf "%d %.3f\n", n, max }')
read -r n_wd max_gap <<<"$gaps"
log_step "$n_wd WATCHDOG=1 in 5 s, largest gap ${max_gap}s"
(( n_wd >= 4 )) || die "only $n_wd WATCHDOG=1 in 5 s"
awk -v g="$max_gap" -v m="$WD_MAX_GAP" 'BEGIN { exit !(g <= m) }' ||
    die "a gap of ${max_gap}s between WATCHDOG=1 (bound ${WD_MAX_GAP}s)"
# Every message comes from the main pid (the unit says NotifyAccess=main).
others=$(grep -v -e ' rx ' -e ' MARK=' -e " pid=$dpid " "$NLOG" || true)
[[ -z "$others" ]] || die "messages from another pid: $others"

log_step "3. a phone registers: STATUS= follows the flows"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
wait_for 'grep -q "STATUS=flows up 1/1, bindings 1$" "$NLOG"' 12 "STATUS=flows up 1/1" ||
    die "no STATUS with the active flow: $(grep STATUS "$NLOG")"
log_step "$(grep -o 'STATUS=.*' "$NLOG" | tail -n 1)"

log_step "4. a stopped loop sends no WATCHDOG=1"
kill -STOP "$dpid"
wait_for '[[ $(awk "{print \$3}" /proc/$dpid/stat) == T ]]' 5 "the daemon to stop" || die "SIGSTOP did not stop it"
mark frozen
idle 3
mark thawing
kill -CONT "$dpid"
n_frozen=$(between frozen thawing | grep -c 'WATCHDOG=1' || true)
(( n_frozen == 0 )) || die "$n_frozen WATCHDOG=1 while the daemon was stopped"
wait_for '[[ $(between thawing | grep -c "WATCHDOG=1") -ge 2 ]]' 5 "WATCHDOG=1 again after SIGCONT" ||
    die "no WATCHDOG=1 after SIGCONT: $(between thawing)"
log_step "none in 3 s stopped; after SIGCONT: $(between thawing | grep -c 'WATCHDOG=1')"

log_step "5. SIGHUP: RELOADING=1 then READY=1"
mark hup
kill -HUP "$dpid"
wait_for '[[ -n "$(between hup | grep " READY=1")" ]]' 10 "READY=1 after the reload" ||
    die "no READY=1 after SIGHUP: $(between hup)"
seq=$(between hup | grep -v WATCHDOG | grep -Eo '(RELOADING=1 \| MONOTONIC_USEC=[0-9]+|READY=1)' | tr '\n' ';')
[[ "$seq" =~ ^RELOADING=1\ \|\ MONOTONIC_USEC=[0-9]+\;READY=1\; ]] || die "not RELOADING=1 then READY=1: $seq"
sk_log_has 'event=reloaded ' || die "no reload logged"
log_step "$seq"

log_step "6. SIGTERM: STOPPING=1"
mark term
sk_stop
wait_for '[[ -n "$(between term | grep "pid=$dpid .*STOPPING=1$")" ]]' 5 "STOPPING=1" ||
    die "no STOPPING=1 at SIGTERM: $(between term)"
log_step "STOPPING=1 from pid $dpid; clean exit"

log_step "7. the order under strace: sockets bound, privileges dropped, then READY=1"
command -v strace >/dev/null || die "missing tool 'strace' (sh packaging/deps.sh e2e installs it)"
ST=$LAB_DIR/strace.txt
# shellcheck disable=SC2034 # read by the wait_for condition below
n_ready=$(grep -c ' READY=1' "$NLOG")
# LeakSanitizer cannot run under ptrace (make e2e-asan): no leak check for
# this traced run; the untraced one above had it.
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0" \
    NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=2000000 START_LOG=$LAB_DIR/sipkeep-strace.log \
    start_in_ns "$NS_ROUTER" strace -f -qq -o "$ST" -e trace=bind,setresuid,setresuid32,sendto \
    "$SIPKEEP" -c "$LAB_DIR/sipkeep.yaml"
spid=$LAST_PID
wait_for '[[ $(grep -c " READY=1" "$NLOG") -gt $n_ready ]]' 20 "READY=1 from the traced daemon" ||
    die "no READY=1 under strace: $(tail -n 5 "$LAB_DIR/sipkeep-strace.log")"
tracer=$(pgrep -P "$spid") && tdpid=$(pgrep -P "$tracer") || die "no traced sipkeep process"
kill -TERM "$tdpid"     # the daemon, not strace (which would detach and leave it running)
wait_for "! kill -0 $spid" 15 "the traced daemon to exit" || die "the traced daemon did not exit"
# line_of ERE: the first line of the trace matching ERE (0: none).
line_of() {
    local n
    n=$(grep -En -m1 -- "$1" "$ST" | cut -d: -f1)
    echo "${n:-0}"
}
l_listen=$(line_of "bind\(.*sin_port=htons\(5060\), sin_addr=inet_addr\(\"$ROUTER_LAN_IP\"\)\}, [0-9]+\) += 0")
l_ctl=$(line_of "bind\(.*sun_path=\"$SK_CTL\"\}, [0-9]+\) += 0")
l_drop=$(line_of "setresuid\($uid, $uid, $uid\) += 0")
l_ready=$(line_of 'sendto\(.*"READY=1')
log_step "trace lines: bind listen $l_listen, bind control $l_ctl, setresuid($uid) $l_drop, sendto READY=1 $l_ready"
(( l_listen > 0 && l_ctl > 0 && l_drop > 0 && l_ready > 0 )) || die "a step missing from the trace: $(cat "$ST")"
(( l_listen < l_ready && l_ctl < l_ready && l_drop < l_ready )) ||
    die "READY=1 was sent before the sockets were bound or privileges dropped: $(cat "$ST")"
log_step "READY=1 sent after both binds and the drop to uid $uid"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sipkeep soak with faults (make soak DURATION=600; make check runs 120 s).
#
# In the e2e lab (tests/e2e/lib.sh): SOAK_USERS legacy phones (one sipp UDP
# socket in lan playing them all, users from an injection file) register
# through one sipkeep in proxy mode with two TCP outbound proxies, the edge's
# 5060 (reg-id 1) and its second path on 5070 (reg-id 2), and refresh their
# registrations every SOAK_REFRESH seconds.  The far caller in wan places
# SOAK_RATE calls/s, round robin over the phones (INVITE, 200, ACK, 0.5 s,
# BYE, 200), for DURATION seconds, each call's start and outcome logged.
# Meanwhile a fault schedule drawn from SOAK_SEED (printed, with each window)
# injects, one after another with quiet gaps between: loss and delay on the
# router's wan0 (tc netem; loss only by iptables where the kernel has no
# netem), a TCP reset of every flow to one edge port (ss -K in the router),
# a restart of the edge proxy, a flush of the NAT's conntrack table, a
# SIGHUP to sipkeep, and ~10 % malformed datagrams among the LAN's traffic
# to sipkeep.  Each window is the fault plus a recovery margin derived from
# the configuration (soak_lib.sh: soak_margin), printed at the start.
#
# At the end it prints calls placed, answered, completed and failed, each
# failure with its start time and the window it fell in, the phones'
# REGISTER refreshes likewise, the flows sipkeep recovered, its RSS and open
# file descriptors at the start (after a warm-up) and at the end.  Both
# samples are taken when every flow is active (bounded wait), so the number
# of sockets is the same by construction unless one leaked.
# Exits non-zero on any loss outside every window, RSS growth over 5 %, a
# file descriptor count that differs, flows that do not all recover, or
# sipkeep not stopping cleanly.
#
# Usage: tests/soak/soak.sh SIPKEEP_BINARY [DURATION_S]   (root; default 600)
# Knobs: SOAK_SEED (5626), SOAK_RATE (calls/s, 3), SOAK_USERS (50),
#        SOAK_LOG_LEVEL (info), SOAK_KEEP=DIR (keep the lab dir there).
# shellcheck disable=SC2034  # lab variables (lib.sh's API) and knobs read by soak_lib.sh
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 SIPKEEP_BINARY [DURATION_S]" >&2; exit 2; }
case "$1" in
    /*) SIPKEEP=$1 ;;
    *) SIPKEEP=$(pwd)/$1 ;;
esac
export SIPKEEP
DURATION=${2:-600}
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 60 ]] || { echo "soak: DURATION must be >= 60 s" >&2; exit 2; }

SOAK_DIR=$(cd "$(dirname "$0")" && pwd)
# Every background process is bounded: the soak, its warm-up and wind-down.
LAB_MAX_SECONDS=$((DURATION + 300))
E2E_ARTIFACTS=${SOAK_KEEP:-}
# shellcheck source=../e2e/lib.sh
. "$SOAK_DIR/../e2e/lib.sh"
# shellcheck source=../e2e/sk_lib.sh
. "$SOAK_DIR/../e2e/sk_lib.sh"
# shellcheck source=soak_lib.sh
. "$SOAK_DIR/soak_lib.sh"

SOAK_SEED=${SOAK_SEED:-5626}
SOAK_RATE=${SOAK_RATE:-3}
SOAK_USERS=${SOAK_USERS:-50}
SOAK_REFRESH=120            # each phone re-registers every 120 s (sipkeep grants 300)
# The lab's Flow-Timer, shortened from 20 s so that a flow the NAT forgot is
# noticed sooner and the windows leave quiet time in a 2-minute run.
FLOW_TIMER=10
EDGE_TCP_LIFETIME=$((FLOW_TIMER + 10))
SOAK_PONG_TIMEOUT=3         # keepalive.pong_timeout
SOAK_BASE_TIME=1            # recovery.base_time_all_failed and _not_failed
SOAK_MAX_TIME=4             # recovery.max_time
SOAK_REG_RTT=2              # a new flow's connect + REGISTER + 200 (well under 1 s here)
SOAK_PRE=2                  # a call placed this long before a fault is still in progress
SOAK_GAP_MIN=3              # quiet time between windows
SOAK_GAP_MAX=6
SOAK_LOSS_PCT=10
SOAK_DELAY_MS=100
SOAK_JITTER_MS=20
# Datagrams a phone sends sipkeep per call: 180, 200, the BYE's 200; plus
# the refreshes.  Malformed ones at a ninth of that make ~10 % of the total.
SOAK_MALFORMED_RATE=$(awk -v r="$SOAK_RATE" -v u="$SOAK_USERS" -v f="$SOAK_REFRESH" \
    'BEGIN { printf "%.2f", (3 * r + u / f) / 9 }')

FLOW1_PROXY="sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp"
FLOW2_PROXY="sip:$EDGE_IP:$EDGE_TCP2_PORT;transport=tcp"
UA_CTL_PORT=8888            # sipp control ports (UDP, each in its namespace)
UAC_CTL_PORT=8889

users_csv() { # users_csv FILE: the phones' injection file, 2001..
    local i
    { echo SEQUENTIAL; for ((i = 1; i <= SOAK_USERS; i++)); do echo "$((2000 + i));"; done; } >"$1"
}

# ua_register_once: every phone registers once (a one-shot sipp); 0 when all got 200.
ua_register_once() {
    run_bounded 60 "$NS_LAN" sipp -sf "$SOAK_DIR/sipp/ua_register.xml" -inf "$LAB_DIR/users.csv" \
        -t u1 -i "$LAN_UA_IP" -p "$LAN_UA_PORT" -m "$SOAK_USERS" -r 25 \
        -key domain "$SIP_DOMAIN" -key expires 3600 -nostdin -recv_timeout 10000 \
        -trace_err -error_file "$LAB_DIR/ua-first.err" "$ROUTER_LAN_IP:5060" >"$LAB_DIR/ua-first.log" 2>&1
}

# ua_start: the phones from now on: one REGISTER every SOAK_REFRESH/SOAK_USERS
# seconds (each phone every SOAK_REFRESH s), and the same socket answers
# every INVITE sipkeep relays (-oocsf).
UA_PID=
ua_start() {
    START_LOG=$LAB_DIR/ua.log start_in_ns "$NS_LAN" sipp -sf "$SOAK_DIR/sipp/ua_register.xml" \
        -oocsf "$E2E_DIR/sipp/ua_answer.xml" -inf "$LAB_DIR/users.csv" \
        -t u1 -i "$LAN_UA_IP" -p "$LAN_UA_PORT" -mp 16000 -cp "$UA_CTL_PORT" \
        -r 1 -rp $((SOAK_REFRESH * 1000 / SOAK_USERS)) \
        -key domain "$SIP_DOMAIN" -key expires 3600 -nostdin -recv_timeout 10000 \
        -trace_logs -log_file "$LAB_DIR/ua-reg.log" -trace_err -error_file "$LAB_DIR/ua.err" \
        "$ROUTER_LAN_IP:5060"
    UA_PID=$LAST_PID
}

# uac_start TAG [CALLS]: the far caller, SOAK_RATE calls/s round robin over
# the phones; CALLS calls (default: until told to quit, uac_quit).
UAC_PID=
uac_start() {
    local tag=$1 calls=${2:-}
    START_LOG=$LAB_DIR/uac-$tag.log start_in_ns "$NS_WAN" sipp -sf "$SOAK_DIR/sipp/uac_call.xml" \
        -inf "$LAB_DIR/users.csv" -t u1 -i "$WAN_UAC_IP" -p "$WAN_UAC_PORT" -mp 26000 \
        -cp "$UAC_CTL_PORT" -r "$SOAK_RATE" ${calls:+-m "$calls"} -key domain "$SIP_DOMAIN" \
        -nostdin -recv_timeout 45000 \
        -trace_logs -log_file "$LAB_DIR/uac-$tag-calls.log" -trace_err -error_file "$LAB_DIR/uac-$tag.err" \
        "$EDGE_IP:$EDGE_UDP_PORT"
    UAC_PID=$LAST_PID
}

# uac_quit: the far caller places no new call, ends those in progress and exits.
uac_quit() {
    ns_exec "$NS_WAN" bash -c "printf q >/dev/udp/127.0.0.1/$UAC_CTL_PORT"
}

# all_flows_up TIMEOUT: wait until every phone's two flows are active.
all_flows_up() {
    # shellcheck disable=SC2016  # evaluated by wait_for
    wait_for '[[ "$(soak_active_flows)" == $((2 * SOAK_USERS)) ]]' "$1" "all $((2 * SOAK_USERS)) flows active"
}

# ------------------------------------------------------------------ setup

lab_up
soak_netem_probe
# The lab's registrar (Kamailio's README.outbound) unregisters a contact by
# its ruid when a branch to it fails with 430.  usrloc keeps a contact's ruid
# when the same instance and reg-id register again, so the 430 for a call
# that went to the *old* flow (the edge answers it after its 5 s fr_timer)
# removes the binding sipkeep has meanwhile renewed on a new flow, and the
# phone gets 404s until its next refresh (up to SOAK_REFRESH s): a registrar
# race after the fault, not a loss sipkeep can prevent or see.  The soak
# runs that registrar without the unregister (the next flow is still tried);
# SOAK_STOCK_REGISTRAR=1 keeps it.
if [[ -z "${SOAK_STOCK_REGISTRAR:-}" ]]; then
    # shellcheck disable=SC2016  # Kamailio's variables, matched literally
    grep -vF 'unregister("location", "$tu", "$T_reply_ruid");' "$E2E_DIR/kamailio/registrar.cfg" \
        >"$LAB_DIR/registrar-soak.cfg"
    [[ $(wc -l <"$LAB_DIR/registrar-soak.cfg") -eq $(( $(wc -l <"$E2E_DIR/kamailio/registrar.cfg") - 1 )) ]] ||
        die "the lab registrar's unregister-on-430 line was not found"
    KAM_CFG_registrar=$LAB_DIR/registrar-soak.cfg
fi
kam_start registrar
kam_start edge
SK_ALLOW="$LAN_NET" SK_LOG_LEVEL=${SOAK_LOG_LEVEL:-info} \
    SK_EXTRA_SERVICE="    keepalive: { pong_timeout: $SOAK_PONG_TIMEOUT }
    recovery: { base_time_all_failed: $SOAK_BASE_TIME, base_time_not_failed: $SOAK_BASE_TIME, max_time: $SOAK_MAX_TIME }" \
    sk_config "$LAB_DIR/sipkeep.yaml" "$FLOW1_PROXY" "$FLOW2_PROXY"
sk_start "$LAB_DIR/sipkeep.yaml"

log_step "soak: ${DURATION}s, seed $SOAK_SEED, $SOAK_USERS phones, $SOAK_RATE calls/s, each phone refreshes every ${SOAK_REFRESH}s"
log_step "config: Flow-Timer ${FLOW_TIMER}s, pong_timeout ${SOAK_PONG_TIMEOUT}s, recovery base ${SOAK_BASE_TIME}s max ${SOAK_MAX_TIME}s;" \
    "assumed flow connect+REGISTER ${SOAK_REG_RTT}s; a call is in progress ${SOAK_PRE}s"
log_step "recovery margins after a fault: tcp_reset/edge_restart/sighup $(soak_margin tcp_reset)s (max_time + REGISTER)," \
    "nat_flush $(soak_margin nat_flush)s (Flow-Timer + pong_timeout + max_time + REGISTER)," \
    "netem $(soak_margin netem)s (pong_timeout + max_time + REGISTER), malformed 0s; windows start ${SOAK_PRE}s before the fault"
[[ "$SOAK_NETEM" == tc ]] ||
    log_step "note: this kernel has no netem qdisc: the loss window drops ${SOAK_LOSS_PCT} % by iptables (statistic), without delay"

users_csv "$LAB_DIR/users.csv"
ua_register_once || die "the phones' first REGISTERs failed (see ua-first.log)"
all_flows_up 30 || die "not every flow came up: $("$SIPKEEP" status -s "$SK_CTL" | tail -n 5)"
ua_start
log_step "$SOAK_USERS phones registered through sipkeep, $((2 * SOAK_USERS)) flows active"

# Warm-up: one call to each phone, so that every lazily allocated structure
# is in use before the baseline.
uac_start warmup "$SOAK_USERS"
wait_for "! kill -0 $UAC_PID" $((SOAK_USERS / SOAK_RATE + 60)) "the warm-up calls" || die "warm-up calls did not end"
warm_ok=$(grep -c '^ok ' "$LAB_DIR/uac-warmup-calls.log" || true)
[[ "$warm_ok" -eq "$SOAK_USERS" ]] || die "warm-up: only $warm_ok of $SOAK_USERS calls completed"
all_flows_up 30 || die "flows not all active after the warm-up"
rss0=$(sk_rss_kib)
fd0=$(soak_fd_count)
rec0=$(soak_metric sipkeep_flow_recoveries_total)
log_step "warm-up: $warm_ok calls completed; sipkeep RSS ${rss0} KiB, ${fd0} open fds (all flows active)"

# ------------------------------------------------------------------ soak

soak_schedule "$SOAK_SEED" "$DURATION" >"$LAB_DIR/schedule"
[[ -s "$LAB_DIR/schedule" ]] || die "the schedule is empty"
log_step "fault schedule (seed $SOAK_SEED; seconds from the soak's start, if each fault lasts as planned):"
while read -r i kind gap len margin param ps pe; do
    printf '    window %2d  %-12s +%4ds .. +%4ds  (quiet %ds before; fault %ds%s; margin %ds)\n' \
        "$i" "$kind" "$ps" "$pe" "$gap" "$len" "$([[ $param == - ]] || echo ", port $param")" "$margin"
done <"$LAB_DIR/schedule"

SOAK_T0=$(now_s)
uac_start soak
log_step "soak started: the far caller places $SOAK_RATE calls/s"
: >"$LAB_DIR/windows"
prev_end=$SOAK_T0
while read -r i kind gap len margin param _; do
    ws=$(awk -v p="$prev_end" -v g="$gap" 'BEGIN { printf "%.3f", p + g }')
    sleep_until "$ws"
    ws=$(now_s)
    sleep_until "$(awk -v w="$ws" -v p="$SOAK_PRE" 'BEGIN { printf "%.3f", w + p }')"
    fs=$(now_s)
    # In this shell, not in $(...): a restarted edge must stay known to lib.sh.
    soak_fault "$kind" "$param" "$len" >"$LAB_DIR/fault.out"
    what=$(<"$LAB_DIR/fault.out")
    fe=$(now_s)
    prev_end=$(awk -v e="$fe" -v m="$margin" 'BEGIN { printf "%.3f", e + m }')
    echo "$i $kind $ws $fs $fe $prev_end" >>"$LAB_DIR/windows"
    log_step "window $i ($kind): $what; window until +$(awk -v e="$prev_end" -v t="$SOAK_T0" 'BEGIN { printf "%.1f", e - t }')s; sipkeep RSS $(sk_rss_kib) KiB"
done <"$LAB_DIR/schedule"
# A quiet tail: the last window's margin, then at least SOAK_GAP_MIN.
sleep_until "$(awk -v p="$prev_end" -v g="$SOAK_GAP_MIN" -v t="$SOAK_T0" -v d="$DURATION" \
    'BEGIN { e = p + g; if (t + d > e) e = t + d; printf "%.3f", e }')"
uac_quit
wait_for "! kill -0 $UAC_PID" 60 "the last calls to end" || die "the far caller did not stop"
log_step "the far caller stopped after $(awk -v t="$SOAK_T0" -v n="$(now_s)" 'BEGIN { printf "%.0f", n - t }')s"

# ------------------------------------------------------------------ results

sk_daemon_pid >/dev/null || die "sipkeep is gone: $(tail -n 20 "$SK_LOG")"
flows_ok=yes
all_flows_up 60 || flows_ok=no
rss1=$(sk_rss_kib)
fd1=$(soak_fd_count)
rec1=$(soak_metric sipkeep_flow_recoveries_total)
reg_cutoff=$(awk -v n="$(now_s)" 'BEGIN { printf "%.3f", n - 11 }')   # -recv_timeout 10 s
stop_pid "$UA_PID" 3
"$SIPKEEP" status --json -s "$SK_CTL" >"$LAB_DIR/status-end.json" || true
"$SIPKEEP" metrics -s "$SK_CTL" >"$LAB_DIR/metrics-end.txt" || true

log_step "results (seed $SOAK_SEED, ${DURATION}s, windows as they happened):"
soak_report "$LAB_DIR/windows" "$LAB_DIR/uac-soak-calls.log" "$LAB_DIR/uac-soak.err" \
    "$LAB_DIR/ua-reg.log" "$reg_cutoff" >"$LAB_DIR/report.txt"
sed 's/^/    /' "$LAB_DIR/report.txt"
rss_pct=$(awk -v a="$rss0" -v b="$rss1" 'BEGIN { printf "%.1f", 100 * (b - a) / a }')
printf '    flows recovered (sipkeep_flow_recoveries_total): %d during the soak; keep-alives lost: %s; registrations failed: %s\n' \
    $((rec1 - rec0)) "$(awk '$1 == "sipkeep_keepalives_lost_total" { print $2 }' "$LAB_DIR/metrics-end.txt")" \
    "$(awk '$1 == "sipkeep_registrations_total{result=\"failed\"}" { print $2 }' "$LAB_DIR/metrics-end.txt")"
printf '    all %d flows active at the end: %s\n' $((2 * SOAK_USERS)) "$flows_ok"
printf '    sipkeep RSS: %d KiB at the start, %d KiB at the end (%s %%, limit 5 %%)\n' "$rss0" "$rss1" "$rss_pct"
printf '    sipkeep open fds: %d at the start, %d at the end (both with all flows active)\n' "$fd0" "$fd1"

sk_stop
verdict=0
# sipp keeps its rate (it catches up after a slow moment): far fewer calls
# than RATE x DURATION means the far caller itself broke down.
if (( SOAK_PLACED * 10 < SOAK_RATE * DURATION * 8 )); then
    log_step "FAIL: only $SOAK_PLACED calls placed, expected about $((SOAK_RATE * DURATION))"; verdict=1
fi
if (( SOAK_UNEXPLAINED > 0 )); then
    log_step "FAIL: $SOAK_UNEXPLAINED loss(es) outside every fault window"; verdict=1
fi
if awk -v p="$rss_pct" 'BEGIN { exit !(p > 5) }'; then
    log_step "FAIL: RSS grew by $rss_pct %"; verdict=1
fi
if [[ "$fd0" != "$fd1" ]]; then
    log_step "FAIL: open fds $fd0 -> $fd1"; verdict=1
fi
if [[ "$flows_ok" != yes ]]; then
    log_step "FAIL: not every flow recovered"; verdict=1
fi
[[ $verdict -ne 0 ]] || log_step "PASS: soak ${DURATION}s, seed $SOAK_SEED"
exit "$verdict"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario (issue 12 item 6): the router's WAN address changes (a PPPoE
# reconnect or a new DHCP lease) while a legacy phone is registered through
# sipkeep over a TCP flow from that address.  With the netlink watch
# (recovery.watch_wan, the default) sipkeep notices within 1 s (the flow's
# local address is gone), forms the flow again from the new address and
# registers again, and an inbound call reaches the phone within 3 s of the
# change.  With watch_wan: false the same change is noticed only by the
# keep-alives: a keep-alive interval (the edge's Flow-Timer) plus the pong
# timeout.  Both figures are printed.  With the watch, a route change that
# takes the edge to another local address of the router is acted on as fast.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1091
WAN_IP2=198.51.100.2
WAN_IP3=198.51.100.3
WAN_IP4=198.51.100.4
PONG_TIMEOUT=5

# ms since the epoch of the first sipkeep log line matching ERE after line
# FROM (the log's own timestamps: 2026-12-07T15:20:01.123Z ...), or "".
log_ms_after() {
    local from=$1 ere=$2 ts
    ts=$(tail -n +"$((from + 1))" "$SK_LOG" | grep -E -m 1 -- "$ere" | cut -d' ' -f1) || true
    [[ -n "$ts" ]] || return 0
    date -u -d "${ts%Z}" +%s%3N
}

log_lines() {
    wc -l <"$SK_LOG"
}

registrations() {
    grep -c 'event=registered .*reg_id=1 ' "$SK_LOG" || true
}

ms_to_s() {
    awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'
}

# recovered LABEL REASON NEW_IP: after a change at $t0 (ms; sipkeep's log
# from line $from, $regs registrations before): sipkeep failed the flow for
# REASON, registered again from NEW_IP, and a call to the phone (answering,
# started before) completed; prints the figures, fails beyond 1 s to notice
# or 3 s to the completed call.
recovered() {
    local label=$1 reason=$2 ip=$3 t_call t_notice t_reg
    wait_for '[[ $(registrations) -gt '"$regs"' ]]' 10 "registration on a new flow" ||
        die "$label: sipkeep did not register again: $(tail -n 20 "$SK_LOG")"
    sipp_uac_call "$USER_AOR" 10 || die "$label: the call failed (INVITE final $SIPP_UAC_STATUS)"
    t_call=$(date +%s%3N)
    sipp_ua_answer_wait 10 || die "$label: the phone did not complete the call"
    t_notice=$(log_ms_after "$from" "event=wan_change_flow_failed .*reason=\"$reason\"")
    t_reg=$(log_ms_after "$from" 'event=registered .*reg_id=1 ')
    [[ -n "$t_notice" && -n "$t_reg" ]] ||
        die "$label: sipkeep's log lacks the events: $(tail -n +"$from" "$SK_LOG" | head -n 30)"
    wait_for "sk_flow_from $ip" 5 "the flow from $ip" || die "$label: the new flow is not from $ip"
    log_step "$label: noticed $(ms_to_s $((t_notice - t0))) s after the change, registered" \
        "again from $ip at $(ms_to_s $((t_reg - t0))) s, inbound call completed (answered," \
        "0.5 s, BYE 200) at $(ms_to_s $((t_call - t0))) s"
    (( t_notice - t0 <= 1000 )) || die "$label: noticed after more than 1 s"
    (( t_call - t0 <= 3000 )) || die "$label: the inbound call completed more than 3 s after the change"
}

lab_up
kam_start registrar
kam_start edge

# ---- 1. with the watch (the default) ----
SK_EXTRA_SERVICE="    keepalive: { pong_timeout: $PONG_TIMEOUT }" \
    sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
wait_for "sk_flow_from $ROUTER_WAN_IP" 5 "the flow from $ROUTER_WAN_IP" || die "no flow from $ROUTER_WAN_IP"
path1=$(kam_location | grep -Eo "Path: <sip:[^@]+@$EDGE_IP;lr;ob>" | head -n 1)
# a first pong: the flow works, as a flow in service does
sk_wait_log 'event=flow_working' $((FLOW_TIMER + PONG_TIMEOUT)) || die "the flow never got a pong"
log_step "registered over a working TCP flow from $ROUTER_WAN_IP ($path1)"
sipp_ua_answer_start 1 "$USER_AOR"

from=$(log_lines)
regs=$(registrations)
log_step "WAN address $ROUTER_WAN_IP -> $WAN_IP2"
t0=$(wan_change "$ROUTER_WAN_IP" "$WAN_IP2")
recovered "WATCH ON, address changed" 'local address gone' "$WAN_IP2"
path2=$(kam_location | grep -Eo "Path: <sip:[^@]+@$EDGE_IP;lr;ob>" | head -n 1)
[[ -n "$path2" && "$path2" != "$path1" ]] || die "the binding still points at the old flow: $(kam_location)"

# ---- 1b. the route changes, the address stays: the edge is now reached
# from another address of the router (a second uplink taking the route) ----
sipp_ua_answer_start 1 "$USER_AOR"
from=$(log_lines)
regs=$(registrations)
log_step "route to the edge now from $WAN_IP4 ($WAN_IP2 stays)"
t0=$(date +%s%3N)
ns_exec "$NS_ROUTER" ip addr add "$WAN_IP4/32" dev "$ROUTER_WAN_IF"
ns_exec "$NS_ROUTER" ip route add "$EDGE_IP/32" dev "$ROUTER_WAN_IF" src "$WAN_IP4"
recovered "WATCH ON, route changed" 'the route to the edge leaves from another address' "$WAN_IP4"
ns_exec "$NS_ROUTER" ip route del "$EDGE_IP/32"
sk_stop

# ---- 2. without the watch: the keep-alives notice it ----
SK_EXTRA_SERVICE="    keepalive: { pong_timeout: $PONG_TIMEOUT }
    recovery: { watch_wan: false }" \
    sk_config "$LAB_DIR/sipkeep-nowatch.yaml"
sk_start "$LAB_DIR/sipkeep-nowatch.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
wait_for "sk_flow_from $WAN_IP2" 5 "the flow from $WAN_IP2" || die "no flow from $WAN_IP2"
sk_wait_log 'event=flow_working' $((FLOW_TIMER + PONG_TIMEOUT)) || die "the flow never got a pong"
from=$(log_lines)
regs=$(registrations)
log_step "WAN address $WAN_IP2 -> $WAN_IP3 (watch_wan: false)"
t0=$(wan_change "$WAN_IP2" "$WAN_IP3")
bound=$((FLOW_TIMER + PONG_TIMEOUT + 15))
if wait_for '[[ $(registrations) -gt '"$regs"' ]]' "$bound" "registration after the keep-alives noticed"; then
    t_down=$(log_ms_after "$from" 'event=flow_down reg_id=1 ')
    t_reg=$(log_ms_after "$from" 'event=registered .*reg_id=1 ')
    log_step "WATCH OFF: noticed $(ms_to_s $((t_down - t0))) s after the change (keep-alive" \
        "interval, Flow-Timer $FLOW_TIMER s, + pong_timeout $PONG_TIMEOUT s), registered again at" \
        "$(ms_to_s $((t_reg - t0))) s"
    (( t_down - t0 > 1000 )) || die "without the watch the change was noticed at once: is it off?"
    ! sk_log_has 'event=wan_change_flow_failed' || die "watch_wan: false still acted on the change"
else
    log_step "WATCH OFF: not noticed within ${bound} s of the change"
fi
sk_stop

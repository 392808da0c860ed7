#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_91's WAN address change, against the strict edge, with whole call flows
# (issue 12 item 6 x issue 11).  t_91 checks only a call in that the far side
# ends, through the lab edge, which strips any preloaded Route and routes
# generously.  Here the edge runs edge.cfg with STRICT_ROUTE (callflow_lib.sh's
# cf_edge_strict): a preloaded Route naming another host gets 403, in-dialog
# requests pass only by loose_route, and its Record-Route's flow token names
# the connection a dialog began on.  The phone (sipp, preloading its outbound
# proxy sipkeep as Route) registers through sipkeep over TCP; the call-flow
# matrix (cf_matrix: phone calls out / is called x phone / far side hangs up)
# must complete from the first WAN address, and again once the address has
# changed twice (a PPPoE reconnect, sipkeep's netlink watch forming the flow
# again from the new address): each dialog record-routed by the edge on the
# flow's side (CF_FLOW_EDGE), the flow from the new address.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

WAN_IP2=198.51.100.2
WAN_IP3=198.51.100.3

# new_wan_address OLD NEW: change the router's WAN address, wait for sipkeep
# to register again on a flow from NEW; WAN_MS: the ms it took.
WAN_MS=
new_wan_address() {
    local old=$1 new=$2 regs t0
    regs=$(sk_registrations)
    t0=$(wan_change "$old" "$new")
    wait_for "[[ \$(sk_registrations) -gt $regs ]] && sk_flow_from $new" 10 \
        "registration on a flow from $new" ||
        die "no registration from $new after the change: $(tail -n 20 "$SK_LOG")"
    WAN_MS=$(( $(date +%s%3N) - t0 ))
}

T0=$(date +%s)
lab_up
kam_start registrar
cf_edge_strict
kam_start edge
cf_preload_refused || die "the strict edge did not refuse a preloaded foreign Route"
log_step "strict edge: a preloaded Route naming another host -> 403, naming the edge -> not 403"

sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep failed"
wait_for "sk_flow_from $ROUTER_WAN_IP" 5 "the flow from $ROUTER_WAN_IP" || die "no flow from $ROUTER_WAN_IP"
CF_FLOW_EDGE=$EDGE_IP cf_matrix "strict edge, WAN $ROUTER_WAN_IP"

new_wan_address "$ROUTER_WAN_IP" "$WAN_IP2"
ms=$WAN_MS
sk_log_has 'event=wan_change_flow_failed ' || die "sipkeep did not act on the WAN change"
log_step "WAN $ROUTER_WAN_IP -> $WAN_IP2: registered again from $WAN_IP2 after $ms ms"
CF_FLOW_EDGE=$EDGE_IP cf_matrix "strict edge, after WAN change to $WAN_IP2"

new_wan_address "$WAN_IP2" "$WAN_IP3"
ms2=$WAN_MS
log_step "WAN $WAN_IP2 -> $WAN_IP3: registered again from $WAN_IP3 after $ms2 ms"
CF_FLOW_EDGE=$EDGE_IP cf_matrix "strict edge, after WAN change to $WAN_IP3"

sk_stop
cf_report "12 calls through the strict edge: from the first WAN address and after two changes (registered again after $ms, $ms2 ms), in $(( $(date +%s) - T0 )) s"

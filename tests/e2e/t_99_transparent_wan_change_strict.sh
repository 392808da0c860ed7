#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_95's WAN address change in TRANSPARENT mode, against the strict edge, with
# whole call flows (issue 12 item 6 x issue 11).  t_95 checks only a call in
# that the far side ends, through the lab edge.  Here the phone is baresip as
# a plain legacy UDP phone whose outbound proxy is the provider's edge
# ($EDGE_IP:$EDGE_UDP_PORT), preloaded as Route; it never hears of sipkeep,
# which intercepts its SIP (NFQUEUE), registers it over a TCP flow and
# Record-Routes its dialogs with the intercepted destination and its skf
# token (as t_71).  The edge is strict (callflow_lib.sh cf_edge_strict: a
# preloaded Route naming another host gets 403; in-dialog requests pass only
# by loose_route).  The four cells (lib.sh baresip_cell: phone calls out /
# is called x phone / far side hangs up) from the first WAN address, and
# again after the address changed (a PPPoE reconnect: sipkeep's netlink
# watch forms the flow again from the new address and flushes the phone's
# conntrack entries); each time sipkeep relayed the phone's ACKs and BYEs
# (they did not slip past it through the NAT).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/tmode_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

USER_AOR=1099
SK_READY_EVENT=intercepting
WAN_IP2=198.51.100.2
# sipkeep's Record-Route in transparent mode: the intercepted destination.
SK_RR_ERE="^Route: *<sip:${EDGE_IP//./\\.}:$EDGE_UDP_PORT;([^>]*;)?lr;([^>]*;)?skf=[0-9]+\\.[0-9a-f]{16}[;>]"

# cells LABEL: baresip's four cells; sipkeep must have relayed the phone's
# ACKs (2 calls out) and BYEs (2 hang-ups) of them.
cells() {
    local c acks byes a0 b0
    a0=$(relayed_count 'method=ACK')
    b0=$(relayed_count 'method=BYE')
    log_step "$1: baresip's cells"
    for c in "out phone" "out far" "in phone" "in far"; do
        # shellcheck disable=SC2086  # two words: direction, who hangs up
        baresip_cell $c "$USER_AOR" "$SK_RR_ERE" || true
    done
    acks=$(( $(relayed_count 'method=ACK') - a0 ))
    byes=$(( $(relayed_count 'method=BYE') - b0 ))
    log_step "$1: sipkeep relayed $acks ACKs and $byes BYEs of the phone (want at least 2 and 2)"
    [[ "$acks" -ge 2 && "$byes" -ge 2 ]] ||
        BARESIP_CELLS_FAILED+=("$1: sipkeep relayed $acks ACKs and $byes BYEs of the phone: in-dialog requests bypassed it")
}

# relayed_count ERE: how many ua_request_relayed lines of sipkeep match ERE.
relayed_count() {
    grep -c "event=ua_request_relayed $1 " "$SK_LOG" || true
}

T0=$(date +%s)
lab_up
kam_start registrar
cf_edge_strict
kam_start edge
cf_preload_refused || die "the strict edge did not refuse a preloaded foreign Route with 403"
log_step "strict edge: a preloaded Route naming another host -> 403, naming the edge -> not 403"
tmode_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"

baresip_legacy_start "$USER_AOR" "$EDGE_IP:$EDGE_UDP_PORT"
wait_for "kam_location_has $USER_AOR" 15 "baresip's binding at the registrar" ||
    die "baresip did not register: $(kam_location)"
tmode_via_sipkeep "$USER_AOR"
grep -Eq "^Route: *<sip:$EDGE_IP:$EDGE_UDP_PORT;lr>" "$LAB_DIR/baresip.log" ||
    die "baresip did not preload a Route to the edge (the scenario's premise)"
wait_for "sk_flow_from $ROUTER_WAN_IP" 5 "the flow from $ROUTER_WAN_IP" || die "no flow from $ROUTER_WAN_IP"
log_step "baresip registered through sipkeep (intercepted), flow from $ROUTER_WAN_IP"
cells "transparent, strict edge, WAN $ROUTER_WAN_IP"

regs=$(sk_registrations)
t0=$(wan_change "$ROUTER_WAN_IP" "$WAN_IP2")
wait_for "[[ \$(sk_registrations) -gt $regs ]] && sk_flow_from $WAN_IP2 && ! sk_flow_from $ROUTER_WAN_IP" 10 \
    "registration on a flow from $WAN_IP2" || die "no registration from $WAN_IP2: $(tail -n 20 "$SK_LOG")"
ms=$(( $(date +%s%3N) - t0 ))
sk_wait_log 'event=conntrack_flushed' 2 || die "sipkeep did not flush the phone's conntrack entries"
log_step "WAN $ROUTER_WAN_IP -> $WAN_IP2: registered again from $WAN_IP2 after $ms ms"
cells "transparent, strict edge, after WAN change to $WAN_IP2"

baresip_stop
sk_stop
[[ ${#BARESIP_CELLS_FAILED[@]} -eq 0 ]] ||
    die "${#BARESIP_CELLS_FAILED[@]} failure(s): $(printf '[%s] ' "${BARESIP_CELLS_FAILED[@]}")"
log_step "t_99: 8 cells in transparent mode through the strict edge, before and after a WAN change (registered again after $ms ms), in $(( $(date +%s) - T0 )) s"

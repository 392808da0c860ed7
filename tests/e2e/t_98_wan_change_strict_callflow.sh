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
# flow's side (CF_FLOW_EDGE), the flow from the new address.  Beside it a
# real phone: baresip as a plain legacy UDP phone (lib.sh
# baresip_legacy_start; its outbound proxy sipkeep, preloaded as Route),
# registered through sipkeep on its own binding and flow; its four cells
# (lib.sh baresip_cell) at each stage as well.  Then the same over a UDP flow
# (sipkeep restarted with a UDP outbound proxy): the matrix before and after
# a change.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

WAN_IP2=198.51.100.2
WAN_IP3=198.51.100.3
BARESIP_USER=1098

# new_wan_address OLD NEW [PHONES [udp]]: change the router's WAN address,
# wait for sipkeep to register the PHONES (default 2) again on flows from NEW
# (TCP, or udp); WAN_MS: the ms it took.
WAN_MS=
new_wan_address() {
    local old=$1 new=$2 n=${3:-2} proto=${4:-tcp} regs t0
    regs=$(sk_registrations)
    t0=$(wan_change "$old" "$new")
    wait_for "[[ \$(sk_registrations) -ge $((regs + n)) ]] && sk_flow_from $new $proto && ! sk_flow_from $old $proto" 10 \
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
baresip_legacy_start "$BARESIP_USER" "$ROUTER_LAN_IP:5060"
wait_for "kam_location_has $BARESIP_USER 'Reg-Id: 1$'" 15 "baresip's binding (reg-id 1) at the registrar" ||
    die "baresip did not register through sipkeep: $(kam_location)"
wait_for "sk_flow_from $ROUTER_WAN_IP" 5 "the flow from $ROUTER_WAN_IP" || die "no flow from $ROUTER_WAN_IP"
cf_both_phones "strict edge, WAN $ROUTER_WAN_IP" "$EDGE_IP" "$BARESIP_USER"

new_wan_address "$ROUTER_WAN_IP" "$WAN_IP2"
ms=$WAN_MS
sk_log_has 'event=wan_change_flow_failed ' || die "sipkeep did not act on the WAN change"
log_step "WAN $ROUTER_WAN_IP -> $WAN_IP2: registered again from $WAN_IP2 after $ms ms"
cf_both_phones "strict edge, after WAN change to $WAN_IP2" "$EDGE_IP" "$BARESIP_USER"

new_wan_address "$WAN_IP2" "$WAN_IP3"
ms2=$WAN_MS
log_step "WAN $WAN_IP2 -> $WAN_IP3: registered again from $WAN_IP3 after $ms2 ms"
cf_both_phones "strict edge, after WAN change to $WAN_IP3" "$EDGE_IP" "$BARESIP_USER"

baresip_stop
sk_stop

# ---- a UDP flow (a connected UDP socket through the NAT, STUN keep-alives):
# the phone alone (-> CF_FLOW_EDGE: the edge records no transport towards a
# UDP flow)
mv "$SK_LOG" "$LAB_DIR/sipkeep-tcp.log"
sk_config "$LAB_DIR/sipkeep-udp.yaml" "sip:$EDGE_IP:$EDGE_UDP_PORT;transport=udp"
sk_start "$LAB_DIR/sipkeep-udp.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep (UDP flow) failed"
wait_for "sk_flow_from $WAN_IP3 udp" 5 "the UDP flow from $WAN_IP3" || die "no UDP flow from $WAN_IP3"
cf_matrix "strict edge, UDP flow, WAN $WAN_IP3"
new_wan_address "$WAN_IP3" "$WAN_IP2" 1 udp
ms3=$WAN_MS
log_step "WAN $WAN_IP3 -> $WAN_IP2: registered again over UDP from $WAN_IP2 after $ms3 ms"
cf_matrix "strict edge, UDP flow, after WAN change to $WAN_IP2"
CF_LABEL="strict edge, UDP flow, after WAN change to $WAN_IP2" cf_dialog_cell || true
sk_stop

for c in "${BARESIP_CELLS_FAILED[@]}"; do
    CF_FAILED+=("baresip: $c")
done
cf_report "35 calls through the strict edge: TCP flows, 12 sipp phone + 3 re-INVITE/INFO dialogs + 12 baresip, from the first WAN address and after two changes (both phones registered again after $ms, $ms2 ms); UDP flow, 8 sipp phone + 1 dialog, before and after a change (registered again after $ms3 ms); in $(( $(date +%s) - T0 )) s"

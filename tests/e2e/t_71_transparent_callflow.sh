#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 11: the call-flow matrix's basic cells in TRANSPARENT mode over one TCP
# flow.  The phone is baresip as a plain legacy UDP phone configured with the
# provider's edge ($EDGE_IP:$EDGE_UDP_PORT) as its outbound proxy, which it
# preloads as a Route; it never hears of sipkeep.  sipkeep on the router takes
# its SIP from the NFQUEUE (UDP to the edge only), registers it over a TCP
# flow and Record-Routes every dialog with the intercepted destination (the
# edge's address and port, with its skf flow token), so the phone, following
# its route set (RFC 3261 §12.2.1.1), sends its ACKs and BYEs over UDP to that
# address, where the rules intercept them again.  The edge is the strict one
# (callflow_lib.sh cf_edge_strict: "403 Preload Route denied" for a preloaded
# Route naming another host, as OpenSIPS's default script).
# Cells: phone calls out (sip:far@sip.test, a sipp UAS in wan), phone hangs
# up / far side hangs up; far side calls in, phone hangs up / far side hangs
# up.  Each cell: the call is answered, the hang-up's BYE reaches the other
# side and is answered 200 there, and the phone's requests in the dialog carry
# sipkeep's Record-Route as top Route.  Throughout, the phone sent SIP only
# over UDP to the edge's address, never TCP, and sipkeep relayed every ACK
# and BYE the phone sent (its log).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/tmode_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

USER_AOR=1071
SK_READY_EVENT=intercepting
T0=$(date +%s)
# sipkeep's Record-Route in transparent mode: the intercepted destination.
SK_RR_ERE="^Route: *<sip:${EDGE_IP//./\\.}:$EDGE_UDP_PORT;([^>]*;)?lr;([^>]*;)?skf=[0-9]+\\.[0-9a-f]{16}[;>]"

lab_up
kam_start registrar
cf_edge_strict
kam_start edge
cf_preload_refused || die "the strict edge did not refuse a preloaded foreign Route with 403"
log_step "strict edge (edge.cfg with STRICT_ROUTE): a preloaded Route naming another host gets 403 Preload Route denied"
tmode_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
tmode_capture_start "$NS_LAN" eth0 "src host $LAN_UA_IP and (tcp or (udp and src port $BARESIP_SIP_PORT))"

log_step "baresip (plain legacy UDP phone, outbound=sip:$EDGE_IP:$EDGE_UDP_PORT) registers, intercepted"
baresip_legacy_start "$USER_AOR" "$EDGE_IP:$EDGE_UDP_PORT"
wait_for "kam_location_has $USER_AOR" 15 "baresip's binding at the registrar" ||
    die "baresip did not register: $(kam_location)"
tmode_via_sipkeep "$USER_AOR"
grep -Eq "^Route: *<sip:$EDGE_IP:$EDGE_UDP_PORT;lr>" "$LAB_DIR/baresip.log" ||
    die "baresip did not preload a Route to the edge (the scenario's premise)"
log_step "registered through sipkeep (instance-id, reg-id 1); baresip preloads Route: <sip:$EDGE_IP:$EDGE_UDP_PORT;lr>"

for c in "out phone" "out far" "in phone" "in far"; do
    # shellcheck disable=SC2086  # two words: direction, who hangs up
    baresip_cell $c "$USER_AOR" "$SK_RR_ERE" || true
done

tmode_capture_stop
bad=$(awk '$2 == "IP" && $5 != "'"$EDGE_IP.$EDGE_UDP_PORT"':"' "$TMODE_CAP" | head -n 5)
[[ -z "$bad" ]] || BARESIP_CELLS_FAILED+=("the phone sent SIP elsewhere than the intercepted edge address: $bad")
n=$(grep -c ' IP ' "$TMODE_CAP" || true)
log_step "the phone sent $n packets, all UDP to $EDGE_IP:$EDGE_UDP_PORT: $([[ -z "$bad" ]] && echo yes || echo NO)"
# The UDP to the edge's address was sipkeep's to relay (else it would have
# reached the edge straight through the NAT): the phone's ACKs (2 calls out)
# and BYEs (2 hang-ups) went through its NFQUEUE and out on the flow.
acks=$(grep -c 'event=ua_request_relayed method=ACK ' "$SK_LOG" || true)
byes=$(grep -c 'event=ua_request_relayed method=BYE ' "$SK_LOG" || true)
log_step "sipkeep relayed $acks ACKs and $byes BYEs from the phone (want at least 2 and 2)"
[[ "$acks" -ge 2 && "$byes" -ge 2 ]] ||
    BARESIP_CELLS_FAILED+=("sipkeep relayed $acks ACKs and $byes BYEs of the phone, not at least 2 and 2: in-dialog requests bypassed it")
[[ ${#BARESIP_CELLS_FAILED[@]} -eq 0 ]] ||
    die "${#BARESIP_CELLS_FAILED[@]} failure(s): $(printf '[%s] ' "${BARESIP_CELLS_FAILED[@]}")"
baresip_stop
sk_stop
log_step "t_71: 4 cells in transparent mode over TCP passed in $(( $(date +%s) - T0 )) s"

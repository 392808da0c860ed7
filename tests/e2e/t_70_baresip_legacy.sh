#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 11: baresip as a PLAIN legacy UDP phone behind sipkeep (proxy mode):
# no sipnat=outbound, its account's outbound= names sipkeep, so every request
# it sends preloads "Route: <sip:192.168.77.1:5060;lr>" (RFC 3261 §8.1.2), as
# PJSIP phones and Asterisk's outbound_proxy do.  sipkeep registers it over an
# RFC 5626 TCP flow.  The edge is the strict one (callflow_lib.sh
# cf_edge_strict: edge.cfg with STRICT_ROUTE), which answers an initial request
# whose top Route names another host "403 Preload Route denied", as OpenSIPS's
# default script does; checked first with a direct OPTIONS.
# After 45 s idle (NAT: UDP 10 s, TCP 30 s) the basic cells (lib.sh
# baresip_cell), the first being the call after idle:
#  - the far side calls, baresip answers (auto-answer), the far side hangs up;
#  - baresip calls sip:far@sip.test (a sipp UAS in wan, which the registrar
#    routes to) and hangs up (cons /hangup);
#  - baresip calls, the far side hangs up;
#  - the far side calls, baresip hangs up.
# Each cell: the call is answered (and ACKed at the far side), the hang-up's
# BYE reaches the other side and is answered 200 there, and baresip's ACK and
# BYE had sipkeep's Record-Route (LAN address, ;lr, skf token) as top Route.
# Throughout, baresip sent SIP only to sipkeep (192.168.77.1:5060, UDP): it
# followed its route set, whose first hop is sipkeep, never the edge's
# Record-Route (which names TCP), and it opened no TCP connection.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

USER_AOR=1070
IDLE=45
T0=$(date +%s)
# sipkeep's Record-Route in proxy mode: its LAN address, ;lr, the skf flow token.
SK_RR_ERE="^Route: *<sip:${ROUTER_LAN_IP//./\\.}:5060;([^>]*;)?lr;([^>]*;)?skf=[0-9]+\\.[0-9a-f]{16}[;>]"

lab_up
kam_start registrar
cf_edge_strict
kam_start edge
cf_preload_refused || die "the strict edge did not refuse a preloaded foreign Route with 403 (or refused its own)"
log_step "strict edge (edge.cfg with STRICT_ROUTE): a preloaded Route naming another host gets 403 Preload Route denied"
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
# Everything baresip sends: SIP from its UDP port, and any TCP it would open.
phone_cap=$LAB_DIR/phone-sent.txt
START_LOG=$phone_cap start_in_ns "$NS_LAN" tcpdump -i eth0 -n -l -U \
    "src host $LAN_UA_IP and (tcp or (udp and src port $BARESIP_SIP_PORT))"
cap_pid=$LAST_PID
wait_for "grep -q 'listening on' '$phone_cap'" 10 "tcpdump on the LAN" || die "tcpdump did not start"

log_step "baresip (plain legacy UDP phone, outbound=sip:$ROUTER_LAN_IP:5060) registers"
baresip_legacy_start "$USER_AOR" "$ROUTER_LAN_IP:5060"
wait_for "kam_location_has $USER_AOR" 15 "baresip's binding at the registrar" ||
    die "baresip did not register through sipkeep: $(kam_location)"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1 (not through sipkeep?): $(kam_location)"
grep -Eq "^Route: *<sip:$ROUTER_LAN_IP:5060;lr>" "$LAB_DIR/baresip.log" ||
    die "baresip did not preload a Route to sipkeep (the scenario's premise)"
log_step "registered through sipkeep (reg-id 1, TCP flow); baresip preloads Route: <sip:$ROUTER_LAN_IP:5060;lr>"

log_step "idle ${IDLE}s (NAT udp ${NAT_UDP_TIMEOUT}s, tcp ${NAT_TCP_ESTABLISHED_TIMEOUT}s)"
idle "$IDLE"

# The first cell is the call after idle.
for c in "in far" "out phone" "out far" "in phone"; do
    # shellcheck disable=SC2086  # two words: direction, who hangs up
    baresip_cell $c "$USER_AOR" "$SK_RR_ERE" || true
done

stop_pid "$cap_pid" 3
bad=$(awk '$2 == "IP" && $5 != "'"$ROUTER_LAN_IP"'.5060:"' "$phone_cap" | head -n 5)
[[ -z "$bad" ]] || BARESIP_CELLS_FAILED+=("baresip sent SIP past sipkeep: $bad")
n=$(grep -c ' IP ' "$phone_cap" || true)
log_step "baresip sent $n packets, all UDP to sipkeep ($ROUTER_LAN_IP:5060): $([[ -z "$bad" ]] && echo yes || echo NO)"
[[ ${#BARESIP_CELLS_FAILED[@]} -eq 0 ]] ||
    die "${#BARESIP_CELLS_FAILED[@]} failure(s): $(printf '[%s] ' "${BARESIP_CELLS_FAILED[@]}")"

baresip_stop
sk_stop
log_step "t_70: 4 cells with baresip as a legacy phone passed in $(( $(date +%s) - T0 )) s"

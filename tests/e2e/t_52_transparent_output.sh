#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Transparent mode for a PBX on sipkeep's own host (transparent.output: true):
# the legacy UA (sipp) runs in the router namespace next to sipkeep and sends
# its UDP SIP straight to the provider's edge ($EDGE_IP:$EDGE_UDP_PORT).  The
# OUTPUT chain queues it; sipkeep registers it over an RFC 5626 TCP flow
# (instance-id, reg-id 1), an inbound call reaches it and completes, and every
# UDP packet the UA receives (over lo) comes from the edge's address and port.
# After SIGTERM the rules (OUTPUT jump included) are gone and the UA's
# traffic goes to the edge directly again (fail-open).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/tmode_lib.sh"

USER_AOR=1052
SK_READY_EVENT=intercepting
# The UA: a local process on the router, bound to the router's LAN address.
SIPP_UA_NS=$NS_ROUTER
SIPP_UA_IP=$ROUTER_LAN_IP
SIPP_UA_PORT=5060

# jumps TABLE CHAIN: jumps to SIPKEEP in the router's TABLE CHAIN.
jumps() {
    tmode_jumps "$1" "$2"
}

lab_up
kam_start registrar
kam_start edge
mkdir -p "$LAB_DIR/sipkeep-state"
TMODE_OUTPUT=true SK_ALLOW=$ROUTER_LAN_IP/32 tmode_config "$LAB_DIR/sipkeep.yaml"
tmode_rules_have "$LAB_DIR/sipkeep.yaml" line "iptables -w -t mangle -I OUTPUT -p udp -j SIPKEEP"
sk_start "$LAB_DIR/sipkeep.yaml"
[[ "$(jumps mangle OUTPUT)" == 1 && "$(jumps mangle PREROUTING)" == 1 ]] ||
    die "expected one OUTPUT and one PREROUTING jump: $(ns_exec "$NS_ROUTER" iptables -t mangle -S)"

tmode_capture_start "$NS_ROUTER" lo "udp and dst host $SIPP_UA_IP and dst port $SIPP_UA_PORT"

log_step "local UA $SIPP_UA_IP registers DIRECTLY to the edge $EDGE_IP:$EDGE_UDP_PORT"
sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" "$USER_AOR" 3600 || die "REGISTER failed"
tmode_via_sipkeep "$USER_AOR"
log_step "location table: $USER_AOR with instance-id and reg-id 1: OUTPUT traffic went through sipkeep"

sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call did not reach the UA (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call"
log_step "inbound call to the local UA answered and completed"

tmode_capture_stop
tmode_capture_all_from_edge

sk_stop
[[ "$(jumps mangle OUTPUT)$(jumps mangle PREROUTING)$(jumps raw OUTPUT)" == 000 ]] ||
    die "jumps left after SIGTERM: $(ns_exec "$NS_ROUTER" iptables -t mangle -S)"
! ns_exec "$NS_ROUTER" iptables -w -t mangle -S | grep -q SIPKEEP ||
    die "SIPKEEP chain left after SIGTERM"
tmode_direct_after_stop 1053
log_step "after SIGTERM: no rules, the local UA registers directly (fail-open)"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario: 439 First Hop Lacks Outbound Support (RFC 5626 §4.2.1, §6, §11.6;
# issue 4, item 4).  The edge's TCP listener on 5070 acts here
# (kamailio/edge-no-outbound.cfg) as a first hop without outbound support: it
# adds a plain Path (;received, no ;ob), so the registrar answers a REGISTER
# with reg-id arriving there 439.
#  1. One outbound proxy, that one: with the default policy (outbound_fallback
#     on) sipkeep registers the binding again without +sip.instance and
#     reg-id; the registrar stores a plain binding, keep-alives hold its
#     connection open past the edge's and the NAT's idle timeouts, and an
#     inbound call succeeds over it.
#  2. Two outbound proxies, 5060 (a real outbound edge, reg-id 1) and 5070:
#     flow 1 registers with outbound; flow 2 does not register the same
#     Contact plain, which would overwrite flow 1's binding at the registrar
#     (a plain binding is matched by its URI, RFC 3261 §10.3): the registrar
#     holds reg-id 1 only, and an inbound call succeeds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1020      # part 1
USER2_AOR=1021     # part 2
FLOW1_PROXY="sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp"
FLOW2_PROXY="sip:$EDGE_IP:$EDGE_TCP2_PORT;transport=tcp"
KA_INTERVAL=10     # keepalive.interval: the plain flow gets no Flow-Timer

contacts() { # contacts USER: USER's contacts at the registrar (ul.dump block)
    kam_location 2>/dev/null | _ul_aor_block "$1"
}

# The edge's TCP connections from the NAT to its port 5070 (flow 2's).
flow2_conns() {
    kam_tcp_conns 2>/dev/null | grep -c "$EDGE_TCP2_PORT" || true
}

call_ok() { # call_ok USER WHAT
    sipp_ua_answer_start 1 "$1"
    sipp_uac_call "$1" 20 || die "the call $2 failed (INVITE final $SIPP_UAC_STATUS)"
    sipp_ua_answer_wait 15 || die "the UA did not complete the call $2"
}

# shellcheck disable=SC2034 # lab variable, read by kam_start
KAM_CFG_edge=edge-no-outbound.cfg
lab_up
kam_start registrar
kam_start edge

log_step "part 1: the only outbound proxy lacks outbound"
SK_EXTRA_SERVICE="    keepalive: { interval: $KA_INTERVAL }"
sk_config "$LAB_DIR/sipkeep-1.yaml" "$FLOW2_PROXY"
sk_start "$LAB_DIR/sipkeep-1.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
sk_log_has 'event=outbound_unsupported_first_hop .*reg_id=1 .*registering this flow without reg-id' ||
    die "sipkeep did not fall back after the 439: $(tail -n 20 "$SK_LOG")"
sk_log_has 'event=registered .*reg_id=1 .*outbound=no' ||
    die "the flow was not registered without outbound: $(tail -n 10 "$SK_LOG")"
wait_for "[[ \$(contacts $USER_AOR | grep -c 'Contact:') -eq 1 ]]" 10 "the binding at the registrar" ||
    die "the registrar lacks the binding: $(kam_location)"
contacts "$USER_AOR" | grep -Eq 'Reg-Id: [1-9]' && die "a reg-id was registered: $(contacts "$USER_AOR")"
contacts "$USER_AOR" | grep -q 'Instance: <urn' && die "an instance-id was registered: $(contacts "$USER_AOR")"
contacts "$USER_AOR" | grep -Eq "Path: <sip:$EDGE_IP;lr;received=" ||
    die "not the plain first hop's binding: $(contacts "$USER_AOR")"
log_step "registered without reg-id through the first hop that lacks outbound"

idle_s=$((EDGE_TCP_LIFETIME + 10))
log_step "idle ${idle_s}s (edge connection lifetime ${EDGE_TCP_LIFETIME}s, NAT ${NAT_TCP_ESTABLISHED_TIMEOUT}s): keep-alives every ${KA_INTERVAL}s hold the connection"
ka_watch_start "$EDGE_TCP2_PORT"
idle "$idle_s"
ka_watch_stop
log_step "keep-alives: $KA_PINGS pings, $KA_PONGS pongs, intervals: $KA_INTERVALS"
(( KA_PINGS >= 3 )) || die "only $KA_PINGS keep-alives in ${idle_s}s"
sk_log_has 'event=flow_down ' && die "the flow failed: $(grep 'event=flow_down' "$SK_LOG")"
[[ $(flow2_conns) -ge 1 ]] || die "the edge closed the connection: $(kam_tcp_conns)"
call_ok "$USER_AOR" "over the plain flow"
log_step "inbound call answered over the flow registered without outbound"
sk_stop

log_step "part 2: two outbound proxies, the second lacks outbound"
SK_EXTRA_SERVICE="    keepalive: { interval: $KA_INTERVAL }"
sk_config "$LAB_DIR/sipkeep-2.yaml" "$FLOW1_PROXY" "$FLOW2_PROXY"
sk_start "$LAB_DIR/sipkeep-2.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER2_AOR" 3600 || die "REGISTER through sipkeep failed"
sk_wait_log 'event=outbound_unsupported_first_hop .*reg_id=2 .*while reg-id 1 registers it with outbound' 10 ||
    die "flow 2's 439 was not handled: $(grep 'reg_id=2' "$SK_LOG" | tail -n 10)"
sk_log_has 'event=registered .*reg_id=1 .*outbound=yes' || die "flow 1 did not register with outbound"
sk_log_has 'event=registered .*reg_id=2 ' && die "flow 2 registered the Contact: $(grep 'reg_id=2' "$SK_LOG")"
contacts "$USER2_AOR" | grep -q 'Reg-Id: 1$' || die "flow 1's binding has no reg-id 1: $(contacts "$USER2_AOR")"
[[ $(contacts "$USER2_AOR" | grep -c 'Contact:') -eq 1 ]] ||
    die "the registrar holds other bindings: $(contacts "$USER2_AOR")"
contacts "$USER2_AOR" | grep -q ';ob>' || die "flow 1's binding lost its outbound Path: $(contacts "$USER2_AOR")"
log_step "flow 1 registered with reg-id 1; flow 2 left it alone"
call_ok "$USER2_AOR" "with flow 1 registered"
sk_stop

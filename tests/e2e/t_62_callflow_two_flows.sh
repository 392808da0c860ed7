#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 11, call-flow matrix with two flows: reg-id 1 TCP and reg-id 2 UDP
# (STUN keep-alives), both to the edge and both working.  Calls in are sent
# by the registrar over reg-id 2 (the far side's INVITE carries
# "X-Lab-Reg-Id: 2": the lab registrar then sends it to that contact's Path,
# as it does when that flow registered first; registrar.cfg route[LAB_REG_ID]),
# so the dialog is on reg-id 2 while reg-id 1 works: the phone's BYE must
# leave on reg-id 2 (sipkeep's debug line "ua_request_relayed method=BYE ...
# reg_id=2"; issue 11 saw it leave on the first working flow and come back
# to the phone) and reach the far side.  Calls out leave on the flow sipkeep
# picks; their ACK and BYE must leave on that same flow.  One more call in is
# steered to reg-id 1 (the phone hangs up: its BYE must leave on reg-id 1).
# {phone calls out, far side calls in} x {phone hangs up, far side hangs up},
# lab edge, then the strict edge (edge.cfg with STRICT_ROUTE: 403 Preload Route
# denied for a preloaded Route naming another host, as OpenSIPS's default
# script; proven first with a direct OPTIONS).  After the matrix, reg-id 1 is
# still registered and sipkeep never saw a flow fail.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

# The NAT forgets UDP after 10 s: Flow-Timer 8 keeps the UDP flow's mapping
# (STUN every 6.4-8 s), as in t_16.  Read by kam_start (edge.cfg).
# shellcheck disable=SC2034
FLOW_TIMER=8
CF_CHECK_FLOWS=1
CF_REG_ID=2

reg_ids() {
    kam_location 2>/dev/null | _ul_aor_block "$CF_PHONE" | grep -Eo 'Reg-Id: [0-9]+' | sort | tr '\n' ' '
}
both_flows() {
    # shellcheck disable=SC2016  # evaluated by wait_for
    wait_for '[[ "$(reg_ids)" == "Reg-Id: 1 Reg-Id: 2 " ]]' 10 "reg-id 1 and 2 at the registrar" ||
        die "the registrar lacks a flow: $(reg_ids)"
    sk_log_has 'event=registered .*reg_id=1 ' || die "sipkeep did not register reg-id 1"
    sk_log_has 'event=registered .*reg_id=2 ' || die "sipkeep did not register reg-id 2"
}
no_flow_failed() {
    ! sk_log_has 'event=flow_down ' || die "a flow failed during the calls: $(grep 'event=flow_down' "$SK_LOG" | head -n 3)"
    [[ "$(reg_ids)" == "Reg-Id: 1 Reg-Id: 2 " ]] || die "a binding is gone at the registrar: $(reg_ids)"
}

T0=$(date +%s)
lab_up
kam_start registrar
kam_start edge
sk_config "$LAB_DIR/sipkeep.yaml" "sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp" "sip:$EDGE_IP:$EDGE_UDP_PORT;transport=udp"
sk_start "$LAB_DIR/sipkeep.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep failed"
both_flows
log_step "registered: reg-id 1 over TCP, reg-id 2 over UDP; calls in are steered to reg-id $CF_REG_ID"

cf_matrix "two flows, lab edge"
CF_REG_ID=1 CF_LABEL="two flows, lab edge, call in steered to reg-id 1" cf_cell in phone || true
grep -q "INVITE sip:$CF_PHONE@$SIP_DOMAIN -> reg-id 2" "$LAB_DIR/registrar.log" ||
    die "the registrar did not steer the calls in to reg-id 2"
no_flow_failed
cf_strict_edge_restart "$LAB_DIR/sipkeep.yaml"
both_flows
cf_matrix "two flows, strict edge"
CF_REG_ID=1 CF_LABEL="two flows, strict edge, call in steered to reg-id 1" cf_cell in phone || true
no_flow_failed
sk_stop
cf_report "10 calls with two flows (dialogs in on reg-id 2), lab and strict edge, in $(( $(date +%s) - T0 )) s"

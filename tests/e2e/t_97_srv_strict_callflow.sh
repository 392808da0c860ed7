#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_93's NAPTR/SRV failover and failback, against strict edges, with whole
# call flows (issue 12 x issue 11).  t_93 checks only a call in that the far
# side ends, through the lab edge, which strips any preloaded Route and routes
# generously: a Route naming the wrong edge, or an in-dialog request that
# misses the flow's edge, would pass there.  Here both edges (A, SRV prio 10,
# and B, prio 20) run edge.cfg with STRICT_ROUTE (callflow_lib.sh's
# cf_edge_strict; dns_lib.sh's edge A takes the same variant): a preloaded
# Route naming another host gets 403, in-dialog requests pass only by
# loose_route.  The phone (sipp, preloading its outbound proxy sipkeep as
# Route) registers through sipkeep, whose outbound proxy is just sip:sip.test.
# At each stage the call-flow matrix (cf_matrix: phone calls out / is called
# x phone / far side hangs up) must complete, and each dialog must have been
# record-routed by the edge the flow goes to (CF_FLOW_EDGE).  Beside it a
# real phone, baresip as a plain legacy UDP phone (lib.sh
# baresip_legacy_start, preloading sipkeep as Route) on its own binding: its
# four cells (lib.sh baresip_cell) at each stage too (it does not register
# again at stage 3: its flow stays on B, two bindings on two edges).
#  1. flow to edge A;
#  2. edge A killed: the flow fails over to edge B;
#  3. edge A back (after its 30 s failed mark): the phone's re-REGISTER moves
#     the flow back to A (failback).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"
. "$(dirname "$0")/dns_lib.sh"

# A flow is working (RFC 5626 §4.5) after its first pong; only then is its
# edge's death not a failed attempt and the first retry immediate.  Flow-Timer
# 8: the first ping within 6.4-8 s.  Read by kam_start.
# shellcheck disable=SC2034
FLOW_TIMER=8
BARESIP_USER=1097

# flow_on IP [USER]: the phone's (USER's, default the sipp phone's) flow goes
# to IP (sipkeep status) and the registrar's binding's Path names that edge.
flow_on() {
    local user=${2:-$CF_PHONE}
    [[ "$(sk_flow_target "$user")" == "$1:$EDGE_TCP_PORT "* ]] &&
        kam_location_has "$user" "Path: <sip:[^>]*@${1//./\\.};lr;ob>"
}


T0=$(date +%s)
lab_up
srv_lab_up
kam_start registrar
cf_edge_strict
kam_start edge
edge_a_start
cf_preload_refused || die "strict edge B did not refuse a preloaded foreign Route"
EDGE_IP=$EDGE_A_IP cf_preload_refused || die "strict edge A did not refuse a preloaded foreign Route"
log_step "both edges strict: a preloaded Route naming another host -> 403, naming the edge -> not 403"

sk_config "$LAB_DIR/sipkeep.yaml" "sip:$SIP_DOMAIN"
sk_start "$LAB_DIR/sipkeep.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep failed"
baresip_legacy_start "$BARESIP_USER" "$ROUTER_LAN_IP:5060"
wait_for "kam_location_has $BARESIP_USER 'Reg-Id: 1$'" 15 "baresip's binding (reg-id 1) at the registrar" ||
    die "baresip did not register through sipkeep: $(kam_location)"

# ---- 1. the priority-10 edge
wait_for "flow_on $EDGE_A_IP && flow_on $EDGE_A_IP $BARESIP_USER" 5 "both flows on edge A" ||
    die "the flows are not on edge A: $(sk_flow_target "$CF_PHONE"), $(sk_flow_target "$BARESIP_USER"); $(kam_location)"
log_step "flow: $(sk_flow_target "$CF_PHONE")"
cf_both_phones "SRV prio 10, strict edge A" "$EDGE_A_IP" "$BARESIP_USER"

# ---- 2. failover: edge A dies once the flow works
# shellcheck disable=SC2016  # evaluated by wait_for
wait_for '[[ $(sk_event_count flow_working) -ge 2 ]]' $((FLOW_TIMER + 4)) "both flows working" ||
    die "the flows never got a pong: $(grep 'event=flow_working' "$SK_LOG")"
t_kill=$(date +%s%N)
stop_pid "$EDGE_A_PID" 2
EDGE_A_PID=
log_step "edge A killed"
wait_for "flow_on $EDGE_IP && flow_on $EDGE_IP $BARESIP_USER" 10 "both flows re-registered through edge B" ||
    die "no failover to edge B: $(sk_flow_target "$CF_PHONE"), $(sk_flow_target "$BARESIP_USER"); $(kam_location)"
FAILOVER_MS=$(( ($(date +%s%N) - t_kill) / 1000000 ))
log_step "failover: flow $(sk_flow_target "$CF_PHONE"), ${FAILOVER_MS} ms after the kill"
cf_both_phones "after failover, strict edge B" "$EDGE_IP" "$BARESIP_USER"

# ---- 3. failback: edge A back; the phone's next REGISTER moves the flow
edge_a_start
since_kill=$(( ($(date +%s%N) - t_kill) / 1000000000 ))
(( since_kill >= 31 )) || idle $(( 31 - since_kill )) # A's failed mark (30 s)
downs=$(sk_event_count flow_down)
sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "the phone's re-REGISTER failed"
wait_for "flow_on $EDGE_A_IP" 10 "the flow registered through edge A again" ||
    die "no failback to edge A: $(sk_flow_target "$CF_PHONE"); $(grep 'event=flow_failback' "$SK_LOG" | tail -n 3)"
sk_log_has 'event=flow_failback reg_id=1 ' || die "no flow_failback in sipkeep's log"
(( $(sk_event_count flow_down) == downs )) || die "a flow failed during the failback"
log_step "failback: flow $(sk_flow_target "$CF_PHONE"); baresip's (no REGISTER since): $(sk_flow_target "$BARESIP_USER")"
cf_both_phones "after failback, strict edge A (baresip: B)" "$EDGE_A_IP" "$BARESIP_USER"

baresip_stop
sk_stop
for c in "${BARESIP_CELLS_FAILED[@]}"; do
    CF_FAILED+=("baresip: $c")
done
cf_report "27 calls (12 sipp phone, 3 re-INVITE/INFO dialogs, 12 baresip) through strict edges: SRV edge A, after failover to B (${FAILOVER_MS} ms), after failback to A, in $(( $(date +%s) - T0 )) s"

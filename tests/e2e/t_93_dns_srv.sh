#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 12 items 1-3: a provider published only by NAPTR/SRV, failover, DNS
# outage.  dnsmasq in the wan namespace (198.51.100.53) serves sip.test:
# NAPTR SIP+D2T -> _sip._tcp.sip.test, SRV prio 10 -> edge-a.sip.test
# (198.51.100.12, a second Kamailio edge started here from edge.cfg) and
# prio 20 -> edge-b.sip.test (the lab's edge, 198.51.100.10), their A
# records, and no A record for sip.test itself.  The router namespace
# resolves through it (/etc/netns/NS/resolv.conf).  sipkeep's outbound
# proxy is just "sip:sip.test".
#  1. A phone registers through sipkeep; the flow goes to edge A (status
#     shows the target and "naptr+srv prio 10"); a call in completes.
#  2. Edge A dies: the flow re-forms to edge B within seconds and a call in
#     completes (the figure: seconds from the kill to the answered call).
#  3. DNS queries are dropped (records' TTL 5 s lapsed): a second phone
#     registers at once from the cached records (the refresh times out in
#     the background, dns_stale), calls in complete; then dnsmasq stops: a
#     call on the existing flow and a third phone the same; no flow fails.
#  4. Edge A restarted: the phone's next re-registration moves its flow
#     back to A (failback, connection first), one reg-id 1 binding stays at
#     the registrar, a call in completes, no flow fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
# dnsmasq's provider (sip.test by NAPTR/SRV) and edge A: DNS_IP, EDGE_A_IP
. "$(dirname "$0")/dns_lib.sh"

# A flow is "working" (RFC 5626 §4.5) once a keep-alive was answered; only
# then is the death of its edge not a failed attempt, and its first retry
# immediate.  Flow-Timer 8: the first ping within 6.4-8 s.  Read by kam_start.
# shellcheck disable=SC2034
FLOW_TIMER=8
PHONE=1001
PHONE2=1002
PHONE3=1003
LAN_UA3_IP=192.168.77.12

sk_cli() {
    timeout 15 "$SIPKEEP" "$@"
}

# call_in USER: the far side calls USER through the lab edge; the phone
# (sipp at SIPP_UA_IP) answers.
call_in() {
    sipp_ua_answer_start 1 "$1"
    sipp_uac_call "$1" 20 || { sipp_ua_answer_stop; return 1; }
    sipp_ua_answer_wait 10 || return 1
}

T0=$(date +%s)
lab_up
srv_lab_up
kam_start registrar
kam_start edge
edge_a_start

SK_ALLOW="192.168.77.0/24"
sk_config "$LAB_DIR/sipkeep.yaml" "sip:$SIP_DOMAIN"
sk_start "$LAB_DIR/sipkeep.yaml"

# ---- 1. registered through the priority-10 edge
sipp_ua_register "$ROUTER_LAN_IP:5060" "$PHONE" 3600 || die "REGISTER through sipkeep failed"
tgt=$(sk_flow_target "$PHONE")
log_step "flow target: $tgt"
[[ "$tgt" == "$EDGE_A_IP:$EDGE_TCP_PORT naptr+srv prio 10 "* ]] ||
    die "the flow does not go to the priority-10 edge: $tgt"
sk_cli status -s "$SK_CTL" | grep -q -- "-> $EDGE_A_IP:$EDGE_TCP_PORT (naptr+srv prio 10" ||
    die "status table lacks the target line: $(sk_cli status -s "$SK_CTL")"
kam_location_has "$PHONE" "Reg-Id: 1$" || die "no reg-id 1 binding: $(kam_location)"
call_in "$PHONE" || die "call in through edge A failed"
grep -q "$EDGE_A_IP" "$LAB_DIR/edge-a.log" || true

# ---- 2. edge A dies (once the flow works: a pong came back)
sk_wait_log 'event=flow_working reg_id=1 ' 12 || die "the flow never got a pong"
t_kill=$(date +%s%N)
stop_pid "$EDGE_A_PID" 2
EDGE_A_PID=
log_step "edge A killed"
# shellcheck disable=SC2016  # evaluated by wait_for
wait_for '[[ "$(sk_flow_target "$PHONE")" == "$EDGE_IP:$EDGE_TCP_PORT "* ]] &&
    sk_log_has "event=registered .*reg_id=1 " && [[ $(grep -c "event=registered .*reg_id=1 " "$SK_LOG") -ge 2 ]]' \
    10 "the flow re-registered through edge B" || die "no failover to edge B: $(sk_flow_target "$PHONE")"
t_reg=$(date +%s%N)
tgt=$(sk_flow_target "$PHONE")
[[ "$tgt" == *"prio 20"* ]] || die "edge B's target reason: $tgt"
call_in "$PHONE" || die "call in after the failover failed"
t_call=$(date +%s%N)
FAILOVER_REG_MS=$(( (t_reg - t_kill) / 1000000 ))
FAILOVER_CALL_MS=$(( (t_call - t_kill) / 1000000 ))
log_step "failover: re-registered through edge B ${FAILOVER_REG_MS} ms after the kill, call in done after ${FAILOVER_CALL_MS} ms"
(( FAILOVER_CALL_MS < 10000 )) || die "failover took ${FAILOVER_CALL_MS} ms"

# ---- 3. DNS goes silent (queries dropped), then away (dnsmasq stopped)
downs_before=$(sk_event_count flow_down)
ns_exec "$NS_ROUTER" iptables -I OUTPUT -d "$DNS_IP" -p udp --dport 53 -j DROP
log_step "DNS queries from the router dropped; waiting for the cached records' TTL (5 s) to lapse"
idle 6
t0=$(date +%s%N)
SIPP_UA_IP=$LAN_UA2_IP sipp_ua_register "$ROUTER_LAN_IP:5060" "$PHONE2" 3600 ||
    die "a new phone did not register while DNS was silent"
REG_SILENT_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
tgt2=$(sk_flow_target "$PHONE2")
log_step "new phone registered in ${REG_SILENT_MS} ms while DNS was silent; its flow: $tgt2"
[[ "$tgt2" == "$EDGE_IP:$EDGE_TCP_PORT "* ]] || die "the new phone's flow: $tgt2"
# the expired records' refresh waits for c-ares' timeouts (2 x 2 s per
# query) in the background: a resolver that blocked the loop would hold
# this REGISTER as long
(( REG_SILENT_MS < 1000 )) || die "the REGISTER took ${REG_SILENT_MS} ms while DNS was silent"
call_in "$PHONE" || die "call in while DNS was silent failed"
SIPP_UA_IP=$LAN_UA2_IP call_in "$PHONE2" || die "call in to the new phone failed"
sk_wait_log 'event=dns_stale name=sip.test ' 15 || die "no dns_stale while DNS was silent"
# keep-alives kept their schedule: the flow's last pong is younger than a
# Flow-Timer (pings every 6.4-8 s) plus the pong's way
pong_age=$(sk_cli metrics -s "$SK_CTL" |
    awk '$1 == "sipkeep_service_pong_age_max_seconds{service=\"lab\",reg_id=\"1\"}" { print $2 }')
log_step "DNS silent: last pong ${pong_age:-none} s ago"
awk -v a="${pong_age:-99}" -v t="$FLOW_TIMER" 'BEGIN { exit !(a < t + 2) }' ||
    die "keep-alives stalled while DNS was silent: last pong ${pong_age:-none} s ago"

ns_exec "$NS_ROUTER" iptables -D OUTPUT -d "$DNS_IP" -p udp --dport 53 -j DROP
stop_pid "$DNSMASQ_PID" 2
DNSMASQ_PID=
log_step "dnsmasq stopped"
ip -n "$NS_LAN" addr add "$LAN_UA3_IP/$LAN_PREFIX" dev eth0
call_in "$PHONE" || die "call in with DNS stopped failed"
SIPP_UA_IP=$LAN_UA3_IP sipp_ua_register "$ROUTER_LAN_IP:5060" "$PHONE3" 3600 ||
    die "a new phone did not register with DNS stopped"
SIPP_UA_IP=$LAN_UA3_IP call_in "$PHONE3" || die "call in to the third phone failed"
downs_after=$(sk_event_count flow_down)
(( downs_after == downs_before )) ||
    die "a flow failed during the DNS outage: $(grep 'event=flow_down' "$SK_LOG" | tail -n 3)"

# ---- 4. edge A is back (DNS still stopped: the cached answer): at the
# phone's next re-registration its flow returns to A, the connection to A
# made before B's is closed (failback); the registrar keeps one binding
# for reg-id 1 (the REGISTER through A replaced B's) and a call in
# reaches the phone through A.  The other phones stay on B.
edge_a_start
log_step "edge A restarted"
since_kill=$(( ($(date +%s%N) - t_kill) / 1000000000 ))
(( since_kill >= 31 )) || idle $(( 31 - since_kill )) # A's failed mark (30 s)
downs_before=$(sk_event_count flow_down)
t_fb=$(date +%s%N)
sipp_ua_register "$ROUTER_LAN_IP:5060" "$PHONE" 3600 || die "the phone's re-REGISTER failed"
# shellcheck disable=SC2016  # evaluated by wait_for
wait_for '[[ "$(sk_flow_target "$PHONE")" == "$EDGE_A_IP:$EDGE_TCP_PORT "* ]] &&
    kam_location_has "$PHONE" "$EDGE_A_IP"' 10 "the flow registered through edge A again" ||
    die "no failback to edge A: $(sk_flow_target "$PHONE"); $(grep 'event=flow_failback' "$SK_LOG" | tail -n 3)"
FAILBACK_MS=$(( ($(date +%s%N) - t_fb) / 1000000 ))
sk_log_has 'event=flow_failback_trying reg_id=1 ' || die "no flow_failback_trying in the log"
sk_log_has 'event=flow_failback reg_id=1 ' || die "no flow_failback in the log"
[[ "$(sk_flow_target "$PHONE2")" == "$EDGE_IP:$EDGE_TCP_PORT "* ]] || die "phone 2 moved: $(sk_flow_target "$PHONE2")"
regids=$(kam_location 2>/dev/null | _ul_aor_block "$PHONE" | grep -c 'Reg-Id: 1$' || true)
(( regids == 1 )) || die "the registrar holds $regids bindings with reg-id 1: $(kam_location)"
call_in "$PHONE" || die "call in after the failback failed"
downs_after=$(sk_event_count flow_down)
(( downs_after == downs_before )) ||
    die "a flow failed during the failback: $(grep 'event=flow_down' "$SK_LOG" | tail -n 3)"
log_step "failback: the phone's flow registered through edge A ${FAILBACK_MS} ms after its re-REGISTER, no flow down"
sk_stop
log_step "t_93_dns_srv: NAPTR/SRV registration via the prio-10 edge; failover ${FAILOVER_CALL_MS} ms from the kill to the answered call (re-registered at ${FAILOVER_REG_MS} ms); DNS silent: a new phone registered in ${REG_SILENT_MS} ms from the cache, calls completed, last pong ${pong_age} s ago, no flow failed; DNS stopped: the same; edge A back: failback at the re-registration in ${FAILBACK_MS} ms, no flow down; $(( $(date +%s) - T0 )) s"

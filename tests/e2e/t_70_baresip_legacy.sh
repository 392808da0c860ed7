#!/usr/bin/env bash
# Issue 11: baresip as a PLAIN legacy UDP phone behind sipkeep (proxy mode):
# no sipnat=outbound, its account's outbound= names sipkeep, so every request
# it sends preloads "Route: <sip:192.168.77.1:5060;lr>" (RFC 3261 §8.1.2), as
# PJSIP phones and Asterisk's outbound_proxy do.  sipkeep registers it over an
# RFC 5626 TCP flow.  The edge is the strict one (callflow_lib.sh
# cf_edge_strict: edge.cfg with STRICT_ROUTE), which answers an initial request
# whose top Route names another host "403 Preload Route denied", as OpenSIPS's
# default script does; checked first with a direct OPTIONS.
#  1. after 45 s idle (NAT: UDP 10 s, TCP 30 s) the far side calls it; baresip
#     answers; the far side hangs up and its BYE is answered 200;
#  2. baresip calls the far side (sip:far@sip.test: a sipp UAS in wan, which
#     the registrar routes to); the far side answers; baresip hangs up (cons
#     /hangup) and the far side receives that BYE and answers it 200; baresip
#     sees the 200 for its BYE;
#  3. throughout, baresip sent SIP only to sipkeep (192.168.77.1:5060, UDP):
#     its in-dialog requests followed a route set whose first hop is sipkeep's
#     Record-Route, never the edge's (which names TCP), and it opened no TCP.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

USER_AOR=1070
IDLE=45
T0=$(date +%s)

lab_up
kam_start registrar
cf_edge_strict
kam_start edge
cf_preload_refused || die "the strict edge did not refuse a preloaded foreign Route with 403 (or refused its own)"
log_step "strict edge (edge.cfg with STRICT_ROUTE): a preloaded Route naming another host gets 403 Preload Route denied"
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
# Everything baresip sends: SIP from its UDP port, and any TCP it would open.
tmode_cap=$LAB_DIR/phone-sent.txt
START_LOG=$tmode_cap start_in_ns "$NS_LAN" tcpdump -i eth0 -n -l -U \
    "src host $LAN_UA_IP and (tcp or (udp and src port $BARESIP_SIP_PORT))"
cap_pid=$LAST_PID
wait_for "grep -q 'listening on' '$tmode_cap'" 10 "tcpdump on the LAN" || die "tcpdump did not start"

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

log_step "1. the far side calls $USER_AOR, baresip answers, the far side hangs up"
sipp_uac_call "$USER_AOR" 20 || die "inbound call failed (INVITE final $SIPP_UAC_STATUS)"
grep -q 'Call established' "$LAB_DIR/baresip.log" || die "baresip did not report the call established"

log_step "2. baresip calls sip:far@$SIP_DOMAIN, then hangs up"
sipp_uas_start "$NS_WAN" "$WAN_UAC_IP:$WAN_UAC_PORT" far ua_answer.xml
baresip_cmd "/dial sip:far@$SIP_DOMAIN"
wait_for "sipp_uas_got ACK" 15 "the far side to get baresip's ACK" ||
    die "the call out did not complete (far side got INVITE: $(sipp_ua_invites_seen); baresip: $(grep -E 'SIP/2.0 [0-9]{3}' "$LAB_DIR/baresip.log" | tail -n 3 | tr '\n' ' '))"
log_step "call out answered and ACKed at the far side"
sleep 1
mark=$(baresip_log_mark)
baresip_cmd "/hangup"
rc=0
sipp_ua_answer_wait 15 || rc=$?
sipp_uas_got BYE || die "the far side never received baresip's BYE (sipp rc $rc)"
sipp_uas_got BYE 200 || die "the far side did not answer the BYE 200"
[[ $rc -eq 0 ]] || die "the far side's call did not complete (sipp rc $rc)"
wait_for "baresip_got 200 BYE $mark" 5 "baresip to get 200 for its BYE" ||
    die "baresip got no 200 for its BYE"
log_step "baresip hung up: the far side got the BYE and answered 200, baresip got the 200"

stop_pid "$cap_pid" 3
bad=$(awk '$2 == "IP" && $5 != "'"$ROUTER_LAN_IP"'.5060:"' "$tmode_cap" | head -n 5)
[[ -z "$bad" ]] || die "baresip sent SIP past sipkeep (its route set's first hop is not sipkeep): $bad"
n=$(grep -c ' IP ' "$tmode_cap" || true)
[[ "$n" -ge 6 ]] || die "capture saw only $n packets from baresip"
log_step "all $n packets baresip sent went to sipkeep ($ROUTER_LAN_IP:5060 UDP); no TCP"

baresip_stop
sk_stop
log_step "t_70 done in $(( $(date +%s) - T0 )) s"

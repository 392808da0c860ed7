#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario: a UDP flow with STUN keep-alives (RFC 5626 §4.4.2, §8).  sipkeep's
# outbound proxy is the edge's UDP port; the edge is an RFC 5626 edge with
# Kamailio's stun module, and its REGISTER 2xx is the explicit indication
# (Require: outbound, Path ;ob) that STUN keep-alives may be sent.  The NAT
# forgets UDP after 10 s, so the edge's Flow-Timer is 8 s here: sipkeep sends a
# STUN Binding request every 6.4-8 s (80-100 %, §4.4), never a CRLF (§4.4.1).
# After 60 s idle a call from the internet reaches the legacy UA.  Then the
# router's conntrack table is flushed and the NAT maps sipkeep's socket to a
# new port (an SNAT rule with --random into a port range for its traffic, as
# a NAT reboot would): the next STUN response carries a new XOR-MAPPED-ADDRESS,
# sipkeep fails the flow (§4.4.2), re-registers at once over a new socket, the
# registrar's binding carries the new flow, and the next call succeeds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1016
IDLE=60
FLOW_TIMER=8   # below the NAT's 10 s: read by kam_start (edge.cfg)
PROXY="sip:$EDGE_IP:$EDGE_UDP_PORT;transport=udp"
SNAT_PORTS=40000-49999

_STUN_PID=
_STUN_LOG=
# stun_watch_start: record, on the router's wan0, STUN Binding requests to
# the edge, STUN Binding success responses from it, and tiny (<= 4 bytes)
# datagrams to it (a CRLF keep-alive would be one) on udp port 5060.
stun_watch_start() {
    local stun='udp[12:4] = 0x2112a442'
    local filter="udp and host $EDGE_IP and port $EDGE_UDP_PORT and"
    filter+=" ((udp[8:2] = 0x0001 and $stun) or (udp[8:2] = 0x0101 and $stun) or udp[4:2] <= 12)"
    _STUN_LOG=$LAB_DIR/stun-$((++_SIPP_SEQ)).log
    START_LOG=$_STUN_LOG start_in_ns "$NS_ROUTER" \
        tcpdump -i "$ROUTER_WAN_IF" -n -l -tt -U -Z root "$filter"
    _STUN_PID=$LAST_PID
    wait_for "grep -q 'listening on' '$_STUN_LOG'" 10 "tcpdump to listen" ||
        die "tcpdump did not start"
}

# stun_watch_stop: sets STUN_REQ_TIMES, STUN_REQS, STUN_RESPS, TINY (counts)
# and STUN_INTERVALS (seconds between requests).
stun_watch_stop() {
    sleep 0.3
    stop_pid "$_STUN_PID" 3
    _STUN_PID=
    # "<epoch> IP <src>.<port> > <dst>.<port>: UDP, length N"
    STUN_REQ_TIMES=$(awk -v e="$EDGE_IP" '$2 == "IP" && index($5, e ".") == 1 && $NF > 4 { printf "%s ", $1 }' "$_STUN_LOG")
    STUN_REQS=$(wc -w <<<"$STUN_REQ_TIMES")
    STUN_RESPS=$(awk -v e="$EDGE_IP" '$2 == "IP" && index($3, e ".") == 1 { n++ } END { print n + 0 }' "$_STUN_LOG")
    TINY=$(awk -v e="$EDGE_IP" '$2 == "IP" && index($5, e ".") == 1 && $NF <= 4 { n++ } END { print n + 0 }' "$_STUN_LOG")
    STUN_INTERVALS=$(awk '{ for (i = 2; i <= NF; i++) printf "%.1f ", $i - $(i - 1) }' <<<"$STUN_REQ_TIMES")
}

# The router's NAT mapping of sipkeep's socket: the reply tuple's port.
mapped_port() {
    nat_mappings udp | awk -v e="$EDGE_IP" '
        /dport=5060/ && index($0, "dst=" e " ") { for (i = 1; i <= NF; i++) if ($i ~ /^dport=/) p = $i }
        END { sub(/^dport=/, "", p); print p }'
}

# The address sipkeep's last STUN response mapped its flow to.
stun_addr() {
    grep -Eo 'event=stun_mapped addr=[^ ]+' "$SK_LOG" | tail -n 1 | cut -d= -f3
}

# The Path (flow token) of the UA's binding at the registrar.
binding_path() {
    kam_location 2>/dev/null | _ul_aor_block "$USER_AOR" | grep -Eo 'Path: .*' | head -n 1
}

lab_up
# sipkeep's own UDP to the edge leaves through a random port of a range: after
# a conntrack flush the NAT picks another, so the rebinding is a real one.
ns_exec "$NS_ROUTER" iptables -t nat -I POSTROUTING -o "$ROUTER_WAN_IF" -p udp \
    -s "$ROUTER_WAN_IP" -d "$EDGE_IP" --dport "$EDGE_UDP_PORT" \
    -j SNAT --to-source "$ROUTER_WAN_IP:$SNAT_PORTS" --random
kam_start registrar
kam_start edge
sk_config "$LAB_DIR/sipkeep.yaml" "$PROXY"
sk_start "$LAB_DIR/sipkeep.yaml"
stun_watch_start

log_step "legacy UA registers through sipkeep (flow: UDP to $EDGE_IP:$EDGE_UDP_PORT)"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
kam_location_has "$USER_AOR" "Instance: <urn:uuid:[0-9a-f-]{36}>$" ||
    die "binding lacks +sip.instance: $(kam_location)"
sk_log_has "event=registered .*reg_id=1 .*flow_timer=$FLOW_TIMER" ||
    die "sipkeep did not see Flow-Timer $FLOW_TIMER: $(grep 'event=registered' "$SK_LOG")"
sk_log_has 'event=udp_keepalive .*kind=stun' || die "sipkeep did not choose STUN keep-alives"
sk_wait_log 'event=stun_mapped ' 5 || die "no STUN response with a mapped address"
sk_wait_log 'event=flow_working reg_id=1 ' 5 || die "the flow did not become working (§4.5)"
path1=$(binding_path)
port1=$(mapped_port)
addr1=$(stun_addr)
[[ "$addr1" == "$ROUTER_WAN_IP:$port1" ]] || die "STUN mapped $addr1, the NAT has port $port1"
log_step "registered over UDP; binding $path1; STUN mapped address $addr1"

log_step "idle ${IDLE}s (NAT udp ${NAT_UDP_TIMEOUT}s, Flow-Timer $FLOW_TIMER)"
idle "$IDLE"
stun_watch_stop
log_step "on the wire: $STUN_REQS STUN requests, $STUN_RESPS responses, $TINY tiny datagrams; intervals: $STUN_INTERVALS"
[[ "$TINY" -eq 0 ]] || die "a CRLF (or other tiny datagram) went to the edge over UDP (RFC 5626 §4.4.1)"
[[ "$STUN_REQS" -ge $((IDLE / FLOW_TIMER)) ]] || die "too few STUN keep-alives in ${IDLE}s"
[[ "$STUN_RESPS" -ge $((STUN_REQS - 1)) ]] || die "the edge did not answer the STUN requests"
for iv in $STUN_INTERVALS; do
    awk -v iv="$iv" -v ft="$FLOW_TIMER" 'BEGIN { exit !(iv >= 0.8 * ft - 0.5 && iv <= ft + 0.2) }' ||
        die "STUN keep-alive interval ${iv}s outside 80-100 % of Flow-Timer ${FLOW_TIMER}s"
done
sk_log_has 'event=flow_down' && die "the flow failed while idle: $(grep 'event=flow_down' "$SK_LOG")"

log_step "call from the internet to $USER_AOR after idle"
sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call did not reach the UA (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call"
log_step "call answered by the legacy UA over the UDP flow"

regs=$(grep -c 'event=registered ' "$SK_LOG")
# A flush maps to a random port of 10,000: flush again in the unlikely case
# that it drew the old one.
for try in 1 2 3; do
    log_step "flushing the router's conntrack table (NAT rebinding), try $try"
    ns_exec "$NS_ROUTER" conntrack -F 2>/dev/null
    if sk_wait_log 'event=stun_mapped_changed' $((FLOW_TIMER + 4)); then
        break
    fi
    [[ "$(mapped_port)" == "$port1" ]] || die "the NAT port changed ($port1 -> $(mapped_port)) but sipkeep did not notice"
done
sk_log_has 'event=stun_mapped_changed' || die "no mapped-address change after 3 flushes"
log_step "sipkeep: $(grep -Eo 'event=stun_mapped_changed .*' "$SK_LOG" | head -n 1)"
sk_wait_log 'event=flow_down reg_id=1 .*NAT rebound' 5 || die "the rebinding did not fail the flow"
wait_for "[[ \$(grep -c 'event=registered ' '$SK_LOG') -gt $regs ]]" 10 "re-registration" ||
    die "sipkeep did not re-register after the rebinding"
wait_for '[[ -n "$(binding_path)" && "$(binding_path)" != "$path1" ]]' 10 "a new flow at the registrar" ||
    die "the registrar's binding still has the old flow: $(binding_path)"
sk_wait_log 'event=flow_working reg_id=1 ' 5 || die "the new flow did not become working"
addr2=$(stun_addr)
log_step "re-registered: binding $(binding_path); STUN mapped address $addr2 (was $addr1)"
[[ "$addr2" != "$addr1" ]] || die "the new flow has the old mapped address"

log_step "call from the internet to $USER_AOR after the rebinding"
sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call after the rebinding failed (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call after the rebinding"
log_step "call answered after the NAT rebinding"

sk_stop
log_step "sipkeep stopped cleanly"

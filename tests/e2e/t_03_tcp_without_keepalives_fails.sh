#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Lab check: the NAT really forgets an idle TCP mapping.  An RFC 5626 UA that
# sends no keep-alives (sipp) registers over TCP through the NAT; a call right away
# reaches it over the flow (positive control); after 45 s idle (NAT tcp established
# timeout 30 s) the same call fails and the UA sees no INVITE, although the edge
# still holds the TCP connection and the registrar the binding: only the NAT
# forgot.  This is why sipkeep's keep-alives matter on TCP/TLS flows too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

USER_AOR=1004
IDLE=45
# The edge must not close the idle connection itself: the NAT alone is on trial.
# shellcheck disable=SC2034  # read by kam_start
EDGE_TCP_LIFETIME=3600

lab_up
kam_start registrar
kam_start edge

log_step "outbound UA without keep-alives registers over TCP"
sipp_ob_ua_start "$USER_AOR"
wait_for "kam_location_has $USER_AOR 'Reg-Id: 1$'" 10 "the UA's binding" || die "the UA did not register"
kam_location_has "$USER_AOR" "Path: <sip:[^@;>]+@$EDGE_IP;lr;ob>" ||
    die "the binding's Path lacks the edge's flow token: $(kam_location)"
grep -q '^Flow-Timer: *20' "$_SIPP_UAS_TRACE" || die "the REGISTER 2xx carried no Flow-Timer: 20"

log_step "positive control: call right away over the fresh flow"
sipp_uac_call "$USER_AOR" 20 || die "positive control: the call did not complete (INVITE final $SIPP_UAC_STATUS)"
mapping=$(nat_mappings tcp | grep -F "src=$LAN_UA_IP " | grep -F "dport=$EDGE_TCP_PORT " || true)
[[ "$mapping" == *ESTABLISHED* ]] || die "no established TCP NAT mapping for the flow: ${mapping:-none}"
nat_port=$(grep -o 'dport=[0-9]*' <<<"$mapping" | tail -n 1)
nat_port=${nat_port#dport=}
log_step "NAT mapping: $mapping"

log_step "idle ${IDLE}s (NAT tcp established timeout ${NAT_TCP_ESTABLISHED_TIMEOUT}s, no keep-alives)"
idle "$IDLE"

mapping=$(nat_mappings tcp | grep -F "src=$LAN_UA_IP " || true)
[[ -z "$mapping" ]] || die "the NAT still maps the flow after ${IDLE}s idle: $mapping"
kam_tcp_conns | grep -q "src_port: $nat_port$" ||
    die "the edge closed the connection itself: the NAT is not what is tested ($(kam_tcp_conns))"
kam_location_has "$USER_AOR" || die "the registrar dropped the binding during idle"
log_step "NAT mapping gone; the edge still holds the connection from $ROUTER_WAN_IP:$nat_port"

log_step "the same call after idle must not reach the UA"
seen_before=$(sipp_ua_invites_seen)
if sipp_uac_call "$USER_AOR" 30; then
    die "the call reached the UA through a forgotten NAT mapping"
fi
case "$SIPP_UAC_STATUS" in
    [3-6][0-9][0-9] | none) ;;
    *) die "unexpected INVITE outcome after idle: $SIPP_UAC_STATUS" ;;
esac
sipp_ua_answer_stop
seen=$(( $(sipp_ua_invites_seen) - seen_before ))
[[ "$seen" -eq 0 ]] || die "the UA saw $seen INVITE(s) after idle"
log_step "call failed with $SIPP_UAC_STATUS, the UA saw no INVITE: the NAT forgot the flow"

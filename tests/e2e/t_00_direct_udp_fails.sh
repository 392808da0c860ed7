#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Baseline without sipkeep: a legacy UDP phone behind the NAT registers directly
# with the edge proxy.  While its NAT binding lives, a call reaches it (positive
# control: the lab routes calls to a legacy UA at all); after 45 s idle the NAT
# (udp timeout 10 s) has forgotten the binding and the same call cannot reach it,
# although the registrar still holds the binding.  This is the problem sipkeep solves.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

USER_AOR=1001
IDLE=45

lab_up
kam_start registrar
kam_start edge

log_step "legacy UA registers directly with the edge over UDP (one socket, expires 3600)"
sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" "$USER_AOR" 3600 || die "REGISTER was not accepted"
kam_location_has "$USER_AOR" "Path: <sip:$EDGE_IP;lr;received=sip:$ROUTER_WAN_IP:[0-9]+>" ||
    die "location table lacks the binding with the edge's Path;received: $(kam_location)"
if kam_location_has "$USER_AOR" "Instance: <|Reg-Id: [1-9]"; then
    die "a legacy registration must carry no instance-id/reg-id"
fi
log_step "location table holds $USER_AOR via the NAT address $ROUTER_WAN_IP"

log_step "positive control: call right away, while the NAT binding lives"
sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "positive control: the call did not complete (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 10 || die "positive control: the UA did not complete the call (answer, ACK, BYE)"
mapping=$(nat_mappings udp | grep -F "src=$LAN_UA_IP " | grep -F "sport=$LAN_UA_PORT " || true)
[[ -n "$mapping" ]] || die "no NAT mapping for the UA after the call: traffic did not pass the NAT?"
log_step "NAT mapping: $mapping"

log_step "idle ${IDLE}s (NAT udp timeout ${NAT_UDP_TIMEOUT}s)"
idle "$IDLE"

mapping=$(nat_mappings udp | grep -F "src=$LAN_UA_IP " || true)
[[ -z "$mapping" ]] || die "the NAT still maps the UA after ${IDLE}s idle: $mapping"
kam_location_has "$USER_AOR" || die "the registrar dropped the binding during idle"
log_step "NAT mapping gone, registrar binding still there"

log_step "the same call after idle must not reach the UA"
sipp_ua_answer_start 1 "$USER_AOR"
if sipp_uac_call "$USER_AOR" 30; then
    die "the call reached the UA through an expired NAT binding"
fi
case "$SIPP_UAC_STATUS" in
    [3-6][0-9][0-9] | none) ;;
    *) die "unexpected INVITE outcome after idle: $SIPP_UAC_STATUS" ;;
esac
sipp_ua_answer_stop
seen=$(sipp_ua_invites_seen)
[[ "$seen" -eq 0 ]] || die "the UA saw $seen INVITE(s) after idle"
log_step "call failed with $SIPP_UAC_STATUS, the UA saw no INVITE: baseline confirmed"

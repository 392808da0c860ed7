#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Requests relayed from a TCP flow to a UDP phone are retransmitted by sipkeep
# (RFC 3261 §17.1.1.2 Timer A): the edge sent the INVITE over a reliable
# transport and will not resend it, so a datagram lost on the LAN would
# otherwise lose the call.  The phone's host drops the first INVITE sipkeep
# sends to it; the call must still be answered and completed, and the phone
# must have seen exactly one INVITE (the retransmission).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1022
lab_up
kam_start registrar
kam_start edge
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "no outbound binding: $(kam_location)"

# Dropped on arrival in the phone's namespace: a silent loss on the LAN (a
# DROP in the router's OUTPUT would fail sipkeep's send with EPERM instead).
ns_exec "$NS_LAN" iptables -I INPUT -p udp -d "$LAN_UA_IP" -m string \
    --string "INVITE sip:" --algo bm -m statistic --mode nth --every 1000000 --packet 0 -j DROP
log_step "the LAN loses the first INVITE sent to the phone"

sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call failed (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the phone did not complete the call"

dropped=$(ns_exec "$NS_LAN" iptables -vnxL INPUT | awk '/DROP/ && /INVITE/ {print $1}')
[[ "$dropped" == 1 ]] || die "expected exactly 1 dropped INVITE, the rule counted '${dropped:-none}'"
seen=$(sipp_ua_invites_seen)
[[ "$seen" == 1 ]] || die "the phone saw $seen INVITEs, expected 1 (the retransmission)"
log_step "first INVITE dropped, the retransmission answered, call completed"
sk_stop

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 1, the headline: a legacy UDP phone uses sipkeep (proxy mode, on the
# router) as its outbound proxy.  sipkeep registers it with the edge over an
# RFC 5626 TCP flow (instance-id, reg-id 1) and keeps that flow alive with CRLF
# keep-alives.  After 45 s idle, far longer than the NAT's UDP (10 s) and TCP
# (30 s) timeouts, a call from the internet reaches the phone and completes.
# t_00 shows the same call failing without sipkeep.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1001
IDLE=45

lab_up
kam_start registrar
kam_start edge
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
ka_watch_start "$EDGE_TCP_PORT"

log_step "legacy UA registers through sipkeep (UDP to $ROUTER_LAN_IP, expires 3600)"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$USER_AOR" "Instance: <urn:uuid:[0-9a-f-]{36}>$" ||
    die "binding lacks +sip.instance: $(kam_location)"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
kam_location_has "$USER_AOR" "Path: <sip:[^@;>]+@$EDGE_IP;lr;ob>" ||
    die "binding's Path lacks the edge's flow token: $(kam_location)"
sk_log_has 'event=registered .*reg_id=1 .*outbound=yes flow_timer=20' ||
    die "sipkeep did not see outbound in force with Flow-Timer 20"
uuid1=$(grep -Eo 'urn:uuid:[0-9a-f-]{36}' "$LAB_DIR/sipkeep-state/instance-ids" | head -n 1)
[[ -n "$uuid1" ]] || die "no instance-id persisted under state_dir"
kam_location_has "$USER_AOR" "Instance: <$uuid1>$" || die "registered instance-id differs from the persisted one"
log_step "location table: $USER_AOR with $uuid1, reg-id 1, over sipkeep's TCP flow"

log_step "idle ${IDLE}s (NAT udp ${NAT_UDP_TIMEOUT}s, tcp ${NAT_TCP_ESTABLISHED_TIMEOUT}s; Flow-Timer $FLOW_TIMER)"
idle "$IDLE"
ka_watch_stop
log_step "keep-alives seen on the wire: $KA_PINGS pings, $KA_PONGS pongs, intervals: $KA_INTERVALS"
[[ "$KA_PINGS" -ge 2 ]] || die "expected at least 2 keep-alives in ${IDLE}s with Flow-Timer $FLOW_TIMER"
[[ "$KA_PONGS" -ge $((KA_PINGS - 1)) ]] || die "the edge did not pong the keep-alives"
for iv in $KA_INTERVALS; do
    # §4.4: each interval 80-100 % of Flow-Timer (a little slack for capture timing).
    awk -v iv="$iv" -v ft="$FLOW_TIMER" 'BEGIN { exit !(iv >= 0.8 * ft - 0.5 && iv <= ft + 0.2) }' ||
        die "keep-alive interval ${iv}s outside 80-100 % of Flow-Timer ${FLOW_TIMER}s"
done
if nat_mappings udp | grep -qF "src=$LAN_UA_IP "; then
    log_step "note: the UA's LAN-side UDP still maps (it talks to the router only, not NATed)"
fi

log_step "call from the internet to $USER_AOR after idle"
sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call did not reach the UA through sipkeep (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call (answer, ACK, BYE)"
log_step "call answered by the legacy UA and completed with BYE"

sk_stop
log_step "sipkeep stopped cleanly"

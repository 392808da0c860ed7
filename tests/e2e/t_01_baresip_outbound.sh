#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Reference without sipkeep: baresip, a native RFC 5626 client, behind the same NAT
# registers with the edge over TCP (instance-id, reg-id 1, flow token in Path,
# Flow-Timer 20) and keeps its flow alive with CRLF keep-alives; after 45 s idle
# (longer than the NAT's 30 s TCP timeout) a call from the WAN still reaches it over
# that same flow and is answered.  Validates the lab's outbound deployment and
# prints the keep-alive figures sipkeep will be compared with.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

USER_AOR=1002
IDLE=45

lab_up
kam_start registrar
kam_start edge
ka_watch_start "$EDGE_TCP_PORT"

log_step "baresip registers with the edge over TCP (sipnat=outbound)"
baresip_start "$USER_AOR" tcp
t0=$(date +%s%N)
wait_for "kam_location_has $USER_AOR" 15 "baresip's binding in the location table" ||
    die "baresip did not register"
log_step "registered in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

kam_location_has "$USER_AOR" "Instance: <urn:uuid:$BARESIP_UUID>$" ||
    die "binding lacks +sip.instance <urn:uuid:$BARESIP_UUID>: $(kam_location)"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
kam_location_has "$USER_AOR" "Path: <sip:[^@;>]+@$EDGE_IP;lr;ob>" ||
    die "binding's Path lacks the edge's flow token and ;ob: $(kam_location)"
grep -q '^Flow-Timer: *20' "$LAB_DIR/baresip.log" || die "the REGISTER 2xx carried no Flow-Timer: 20"
grep -Eq '^Require: *outbound' "$LAB_DIR/baresip.log" || die "the REGISTER 2xx carried no Require: outbound"
path_before=$(kam_location | _ul_aor_block "$USER_AOR" | grep 'Path:')
mapping=$(nat_mappings tcp | grep -F "src=$LAN_UA_IP " | grep -F "dport=$EDGE_TCP_PORT " || true)
[[ -n "$mapping" ]] || die "no TCP NAT mapping for baresip's flow"
sport_before=$(grep -o 'sport=[0-9]*' <<<"$mapping" | head -n 1)
log_step "flow: $mapping"

log_step "idle ${IDLE}s (NAT tcp established timeout ${NAT_TCP_ESTABLISHED_TIMEOUT}s, Flow-Timer $FLOW_TIMER s)"
idle "$IDLE"
ka_watch_stop
log_step "keep-alives: $KA_PINGS pings (CRLFCRLF), $KA_PONGS pongs (CRLF); intervals (s): ${KA_INTERVALS:-none}"
[[ "$KA_PINGS" -ge 2 ]] || die "expected at least 2 keep-alives in ${IDLE}s with Flow-Timer $FLOW_TIMER"
[[ "$KA_PONGS" -ge $((KA_PINGS - 1)) ]] || die "the edge did not pong the keep-alives"

mapping=$(nat_mappings tcp | grep -F "src=$LAN_UA_IP " | grep -F "dport=$EDGE_TCP_PORT " || true)
[[ "$(grep -o 'sport=[0-9]*' <<<"$mapping" | head -n 1)" == "$sport_before" ]] ||
    die "the flow was not kept (NAT mapping now: ${mapping:-none})"
[[ "$(kam_location | _ul_aor_block "$USER_AOR" | grep 'Path:')" == "$path_before" ]] ||
    die "the binding changed during idle: $(kam_location)"
log_step "same flow after idle ($sport_before), same binding"

log_step "call from the WAN after idle"
sipp_uac_call "$USER_AOR" 20 || die "the call did not reach baresip (INVITE final $SIPP_UAC_STATUS)"
grep -q 'Call established' "$LAB_DIR/baresip.log" || die "baresip did not report the call established"
log_step "baresip answered over its kept flow"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 2: the headline over TLS.  sipkeep's flow to the edge is TLS, the
# edge's certificate (edge.test) signed by the lab CA given as tls.ca_file;
# after 45 s idle an inbound call reaches the legacy UA over that flow.
# Then, against the port whose certificate is for another host name, sipkeep
# must make no flow: a clear verification error in its log, a 503 to the
# phone, and no binding at the registrar.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1011
IDLE=45

lab_up
kam_start registrar
kam_start edge
# sipkeep connects by name: edge.test (and nothing else) resolves in the router.
ns_hosts "$NS_ROUTER" "$EDGE_IP $EDGE_TLS_NAME"
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, verify: true }" \
    sk_config "$LAB_DIR/sipkeep.yaml" "sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT"
sk_start "$LAB_DIR/sipkeep.yaml"

sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep over TLS failed"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
kam_location_has "$USER_AOR" "Instance: <urn:uuid:[0-9a-f-]{36}>$" || die "binding lacks the instance-id"
sk_log_has "event=flow_connected reg_id=1 proxy=sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT" ||
    die "no TLS flow in sipkeep's log"
sk_log_has 'event=registered .*outbound=yes flow_timer=20' || die "outbound not in force over TLS"
log_step "registered over TLS (certificate $EDGE_TLS_NAME verified against the lab CA)"

log_step "idle ${IDLE}s"
idle "$IDLE"
pongs=$(grep -c 'event=flow_working' "$SK_LOG" || true)
[[ "$pongs" -ge 1 ]] || die "no keep-alive was answered over TLS"
if sk_log_has 'event=flow_down'; then
    die "the TLS flow failed during idle: $(grep 'event=flow_down' "$SK_LOG")"
fi
sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call over the TLS flow failed (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call over TLS"
log_step "inbound call over the TLS flow answered and completed"
sk_stop

log_step "second run: the edge presents a certificate for $EDGE_TLS_WRONG_NAME"
kam_stop registrar
kam_start registrar
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, verify: true }" \
    sk_config "$LAB_DIR/sipkeep-wrong.yaml" "sips:$EDGE_TLS_NAME:$EDGE_TLS_WRONG_NAME_PORT"
mv "$SK_LOG" "$LAB_DIR/sipkeep-first.log"
sk_start "$LAB_DIR/sipkeep-wrong.yaml"
if sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600; then
    die "the phone got a 200 through a flow whose certificate does not match"
fi
sk_wait_log "event=flow_down reg_id=1 .*certificate verify failed: hostname mismatch \\(expected $EDGE_TLS_NAME\\)" 10 ||
    die "no clear certificate error in sipkeep's log: $(tail -n 5 "$SK_LOG")"
sk_log_has 'event=register_answered_locally status=503' || die "the phone was not told (503)"
sk_log_has 'event=flow_connected' && die "sipkeep reported a flow despite the bad certificate"
sk_log_has 'event=registered' && die "sipkeep registered over an unverified flow"
kam_location_has "$USER_AOR" && die "a binding reached the registrar: $(kam_location)"
log_step "no flow, phone answered 503, log: $(grep -o 'reason="certificate[^"]*"' "$SK_LOG" | head -n 1)"
sk_stop

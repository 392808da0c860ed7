#!/usr/bin/env bash
# probe (not committed): a dialog spanning a WAN change, strict edge
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"
lab_up
kam_start registrar
[[ -n "${PROBE_LAB:-}" ]] || cf_edge_strict
kam_start edge
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER failed"
wait_for "sk_flow_from $ROUTER_WAN_IP" 5 "flow"
# out, phone hangs up after the change
cf_uas_start "$NS_WAN" "$WAN_UAC_IP" ua_answer.xml far
( cf_phone_uac probe_ph_long.xml far 20 ; echo "phone rc $?" ) &
bg=$!
sleep 2
regs=$(sk_registrations)
wan_change "$ROUTER_WAN_IP" 198.51.100.2 >/dev/null
wait_for "[[ \$(sk_registrations) -gt $regs ]]" 10 "rereg"
log_step "re-registered"
wait $bg || true
cf_uas_wait 10 && log_step "far UAS completed" || log_step "far UAS did not complete"
ls -t $LAB_DIR/sipp-cfph-probe*.msg | head -1 | xargs grep -E '^(SIP/2.0|BYE|ACK|INVITE) ' 
log_step "far side saw: $(grep -E '^(SIP/2.0|BYE|ACK|INVITE) ' $CF_UAS_MSG | tr '\n' '|')"
# in, far hangs up after the change
cf_uas_start "$NS_LAN" "$LAN_UA_IP" ua_answer.xml "$CF_PHONE"
( cf_far_uac probe_far_long.xml "$CF_PHONE" 20; echo "far rc $?" ) &
bg=$!
sleep 2
regs=$(sk_registrations)
wan_change 198.51.100.2 198.51.100.3 >/dev/null
wait_for "[[ \$(sk_registrations) -gt $regs ]]" 10 "rereg"
wait $bg || true
cf_uas_wait 10 && log_step "phone UAS completed" || log_step "phone UAS did not complete"
ls -t $LAB_DIR/sipp-cffar-probe*.msg | head -1 | xargs grep -E '^(SIP/2.0|BYE|ACK|INVITE) '
log_step "phone saw: $(grep -E '^(SIP/2.0|BYE|ACK|INVITE) ' $CF_UAS_MSG | tr '\n' '|')"
grep -E 'BYE|430|flow' $LAB_DIR/edge.log | tail -20
grep -E 'method=BYE|dialog_flow' $SK_LOG | tail
sk_stop

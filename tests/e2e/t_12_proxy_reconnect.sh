#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 3: the edge proxy restarts, killing sipkeep's TCP flow from the wan
# side.  sipkeep notices (connection closed), reconnects (RFC 5626 §4.5: the
# first retry after a working flow dies is immediate; later ones back off),
# re-registers with the same instance-id and reg-id on the new flow without any
# help from the legacy UA, and the next inbound call reaches the UA.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1002

lab_up
kam_start registrar
kam_start edge
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"

sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
uuid=$(grep -Eo 'urn:uuid:[0-9a-f-]{36}' "$LAB_DIR/sipkeep-state/instance-ids" | head -n 1)
path1=$(kam_location | grep -Eo "Path: <sip:[^@]+@$EDGE_IP;lr;ob>" | head -n 1)
log_step "registered over the first flow ($path1)"

log_step "restarting the edge proxy: every TCP flow to it dies"
kam_restart edge
sk_wait_log 'event=flow_down reg_id=1' 15 || die "sipkeep did not notice the dead flow"
log_step "sipkeep saw the flow fail; waiting for recovery and re-registration"
wait_for '[[ $(sk_registrations) -ge 2 ]]' 90 "re-registration on a new flow" ||
    die "sipkeep did not re-register: $(tail -n 20 "$SK_LOG")"
path2=$(kam_location | grep -Eo "Path: <sip:[^@]+@$EDGE_IP;lr;ob>" | head -n 1)
[[ -n "$path2" && "$path2" != "$path1" ]] || die "the binding still points at the old flow: $(kam_location)"
kam_location_has "$USER_AOR" "Instance: <$uuid>$" || die "instance-id changed across recovery: $(kam_location)"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "reg-id changed across recovery"
log_step "re-registered on a new flow ($path2), same instance-id and reg-id"

sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call after recovery failed (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call after recovery"
log_step "inbound call after recovery answered and completed"
sk_stop

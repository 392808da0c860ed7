#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario: multiple flows (RFC 5626 §4.2.1, §3.3) and their recovery (§4.5).
# sipkeep has two outbound proxies: the edge's TCP listeners on 5060 (reg-id 1)
# and 5070 (reg-id 2), two paths to the same registrar.  The legacy UA's binding
# registers once per flow (own Call-ID each, same instance-id).  Then flow 1's
# packets are dropped in the router: sipkeep notices the missing pong, inbound
# calls keep arriving over flow 2 (the registrar tries the next flow of the
# instance on the edge's 430, README.outbound), and once the drop is lifted
# flow 1 is recovered after the back-off (recovery: shortened to seconds here;
# the defaults stay the RFC's) and the registrar holds both reg-ids again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1005
FLOW1_PROXY="sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp"
FLOW2_PROXY="sip:$EDGE_IP:$EDGE_TCP2_PORT;transport=tcp"

registrations() { # registrations() REG_ID: how many 2xx sipkeep got on that flow
    grep -c "event=registered .*reg_id=$1 " "$SK_LOG" || true
}

# The dump lines of the UA's contacts: one "Reg-Id: N" line per contact.
reg_ids() {
    kam_location 2>/dev/null | _ul_aor_block "$USER_AOR" | grep -Eo 'Reg-Id: [0-9]+' | sort | tr '\n' ' '
}

flow1_drop() { # flow1_drop -I|-D: insert or delete the rules that cut flow 1
    ns_exec "$NS_ROUTER" iptables "$1" OUTPUT -p tcp -d "$EDGE_IP" --dport "$EDGE_TCP_PORT" -j DROP
    ns_exec "$NS_ROUTER" iptables "$1" INPUT -p tcp -s "$EDGE_IP" --sport "$EDGE_TCP_PORT" -j DROP
}

# The edge keeps an idle connection for 120 s (lib.sh: 30 s): the dead flow 1
# stays in its table through the outage, so an INVITE the registrar sends
# there (it may pick either flow first) times out into the edge's 430
# (fr_timer 5 s) and the registrar moves on to the instance's next flow.  (Once the edge has closed it, the
# relay towards the flow token's address need not end in a 430, and this lab's
# registrar tries the next flow only on 403, 430 or a timeout.)
# shellcheck disable=SC2034 # a lab variable, read by kam_start
EDGE_TCP_LIFETIME=120
lab_up
kam_start registrar
kam_start edge
SK_EXTRA_SERVICE="    recovery: { base_time_all_failed: 2, base_time_not_failed: 2, max_time: 8 }"
sk_config "$LAB_DIR/sipkeep.yaml" "$FLOW1_PROXY" "$FLOW2_PROXY"
sk_start "$LAB_DIR/sipkeep.yaml"

log_step "legacy UA registers through sipkeep: one REGISTER per flow"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
wait_for '[[ "$(reg_ids)" == "Reg-Id: 1 Reg-Id: 2 " ]]' 10 "reg-id 1 and 2 at the registrar" ||
    die "the registrar lacks a flow: $(kam_location)"
uuid=$(grep -Eo 'urn:uuid:[0-9a-f-]{36}' "$LAB_DIR/sipkeep-state/instance-ids" | head -n 1)
[[ $(kam_location | _ul_aor_block "$USER_AOR" | grep -c "Instance: <$uuid>") -eq 2 ]] ||
    die "both flows must carry the binding's instance-id $uuid: $(kam_location)"
[[ $(kam_location | _ul_aor_block "$USER_AOR" | grep -Eo 'Call-ID: .*' | sort -u | wc -l) -eq 2 ]] ||
    die "each flow's REGISTER must have its own Call-ID: $(kam_location)"
sk_log_has "event=flow_connected reg_id=2 proxy=sip:$EDGE_IP:$EDGE_TCP2_PORT" ||
    die "flow 2 did not go to the second listener"
log_step "registered: reg-id 1 ($FLOW1_PROXY) and reg-id 2 ($FLOW2_PROXY), one instance, two Call-IDs"

sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call with both flows up failed (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the first call"

log_step "dropping flow 1's packets in the router (tcp $EDGE_IP:$EDGE_TCP_PORT both ways)"
flow1_drop -I
# Flow-Timer 20: a ping within 20 s, its pong missing 10 s later.
sk_wait_log 'event=flow_down reg_id=1 ' 40 || die "sipkeep did not notice flow 1 failing"
regs1=$(registrations 1)
log_step "flow 1 is down; calling while it recovers"
sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 25 || die "the call during flow 1's outage failed (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call during the outage"
# Flow 1's packets are dropped and it has not re-registered, so the INVITE came
# over flow 2.
[[ $(registrations 1) -eq $regs1 ]] || die "flow 1 re-registered through the DROP rules?"
sk_log_has 'event=flow_down reg_id=2 ' && die "flow 2 failed too: $(grep 'reg_id=2' "$SK_LOG" | tail -n 5)"
log_step "inbound call answered over flow 2 during flow 1's outage"

log_step "lifting the drop: flow 1 must recover after the back-off"
flow1_drop -D
wait_for "[[ \$(registrations 1) -gt $regs1 ]]" 60 "flow 1 re-registered" ||
    die "flow 1 did not recover: $(grep 'reg_id=1' "$SK_LOG" | tail -n 10)"
wait_for '[[ "$(reg_ids)" == "Reg-Id: 1 Reg-Id: 2 " ]]' 10 "reg-id 1 and 2 at the registrar again" ||
    die "the registrar does not hold both flows again: $(kam_location)"
grep -E 'event=flow_down reg_id=1 ' "$SK_LOG" | grep -Eq 'retry_in_ms=[1-9]' ||
    die "flow 1's retries never backed off"
log_step "flow 1 recovered after $(grep -c 'event=flow_down reg_id=1 ' "$SK_LOG") failure(s); the registrar holds reg-id 1 and 2 again"

sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call after recovery failed (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call after recovery"
sk_stop

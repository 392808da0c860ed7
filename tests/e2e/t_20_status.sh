#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Operations: `sipkeep status`, `sipkeep status --json` and `sipkeep metrics`
# against the running daemon, over its control socket (a file under $LAB_DIR,
# so the CLI runs from the host while sipkeep runs in the router namespace).
# A legacy UA registers through sipkeep; status then shows its AOR and an
# active flow with reg-id 1, the JSON parses and carries the documented
# fields, and the metrics count the registration and, after one Flow-Timer
# round, a keep-alive and its round-trip time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1001

# Bounded: the CLI gives up after 10 s on its own; this is the outer bound.
sk_cli() {
    timeout 15 "$SIPKEEP" "$@"
}

# metric_ge NAME MIN: the metric exists and is >= MIN.
metric_ge() {
    local v
    v=$(sk_metric "$1")
    [[ -n "$v" ]] && (( v >= $2 ))
}

lab_up
kam_start registrar
kam_start edge
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"

[[ -S "$SK_CTL" ]] || die "no control socket at $SK_CTL"
mode=$(stat -c %a "$SK_CTL")
[[ "$mode" == 660 ]] || die "control socket mode is $mode, not 660"

log_step "status before any UA: no bindings"
out=$(sk_cli status -c "$LAB_DIR/sipkeep.yaml") || die "sipkeep status failed"
grep -q '^no bindings$' <<<"$out" || die "unexpected status without UAs: $out"

sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"

log_step "sipkeep status (table)"
out=$(sk_cli status -s "$SK_CTL") || die "sipkeep status failed"
printf '%s\n' "$out" | sed 's/^/    /'
grep -Eq "^sip:$USER_AOR@$SIP_DOMAIN  from $LAN_UA_IP:$LAN_UA_PORT  service lab" <<<"$out" ||
    die "status lacks the UA's binding"
grep -Eq '^ +1 +active ' <<<"$out" || die "status lacks an active flow with reg-id 1"
grep -Eq '^total: 1 binding, 1 flow \(.*1 active' <<<"$out" || die "status totals wrong"

log_step "sipkeep status --json"
json=$(sk_cli status --json -s "$SK_CTL") || die "sipkeep status --json failed"
jq -e . >/dev/null <<<"$json" || die "status --json is not valid JSON: $json"
if command -v python3 >/dev/null; then
    python3 -m json.tool >/dev/null <<<"$json" || die "python3 rejects the status JSON"
fi
jq_true() {
    jq -e "$1" >/dev/null <<<"$json" || die "status JSON fails $1: $json"
}
jq_true '.bindings | length == 1'
jq_true ".bindings[0].aor == \"sip:$USER_AOR@$SIP_DOMAIN\""
jq_true ".bindings[0].ua == \"$LAN_UA_IP:$LAN_UA_PORT\""
jq_true '.bindings[0].instance | test("^urn:uuid:[0-9a-f-]{36}$")'
jq_true '.bindings[0].expires_in_s > 0'
jq_true '.bindings[0].flows[0].reg_id == 1'
jq_true '.bindings[0].flows[0].state == "active"'
jq_true '.bindings[0].flows[0].transport == "tcp"'
jq_true ".bindings[0].flows[0].flow_timer_s == $FLOW_TIMER"
jq_true '.bindings[0].flows[0].failures == 0'
jq_true '.bindings[0].flows[0].retry_in_s == null'
jq_true '.totals.bindings == 1 and .totals.flows_by_state.active == 1'
uuid=$(jq -r '.bindings[0].instance' <<<"$json")
grep -qF "$uuid" "$LAB_DIR/sipkeep-state/instance-ids" ||
    die "status instance $uuid is not the persisted one"
kam_location_has "$USER_AOR" "Instance: <$uuid>$" || die "status instance differs from the registrar's"

log_step "sipkeep metrics"
metric_ge 'sipkeep_registrations_total{result="ok"}' 1 || die "no successful registration counted"
metric_ge 'sipkeep_bindings' 1 || die "sipkeep_bindings is not 1"
metric_ge 'sipkeep_flows{state="active"}' 1 || die "no active flow in the metrics"
metric_ge 'sipkeep_messages_total{direction="in",side="ua"}' 1 || die "no UA message counted"
metric_ge 'sipkeep_messages_total{direction="out",side="flow"}' 1 || die "no flow message counted"
sk_cli metrics -s "$SK_CTL" | grep -q '^# TYPE sipkeep_keepalives_sent_total counter$' ||
    die "metrics lack the TYPE line of sipkeep_keepalives_sent_total"

log_step "waiting for one keep-alive round (Flow-Timer $FLOW_TIMER s)"
wait_for "metric_ge sipkeep_keepalives_sent_total 1" $((FLOW_TIMER + 5)) "a keep-alive counted" ||
    die "no keep-alive counted within $((FLOW_TIMER + 5)) s"
wait_for "sk_cli status --json -s '$SK_CTL' | jq -e '.bindings[0].flows[0].rtt_ms >= 0'" 5 \
    "a keep-alive RTT in status" || die "status shows no keep-alive RTT after a pong"
[[ "$(sk_metric sipkeep_keepalives_lost_total)" == 0 ]] || die "a keep-alive was lost"
log_step "keep-alive RTT in status: $(sk_cli status --json -s "$SK_CTL" | jq '.bindings[0].flows[0].rtt_ms') ms"
sk_cli metrics -s "$SK_CTL" | grep -v '^#' | sed 's/^/    /'

log_step "stop: the socket goes, and the CLI says so"
sk_stop
[[ ! -e "$SK_CTL" ]] || die "control socket left behind after stop"
rc=0
err=$(sk_cli status -s "$SK_CTL" 2>&1) || rc=$?
[[ $rc -eq 1 ]] || die "status without a daemon exited $rc, not 1"
grep -q 'is sipkeep running' <<<"$err" || die "unhelpful error without a daemon: $err"
log_step "status, status --json and metrics work; socket removed at exit"

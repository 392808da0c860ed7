#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario: restart and reload (issue 4 item 6).
#  1. A legacy UDP phone registers through sipkeep (TCP flow, reg-id 1); sipkeep
#     stores the registration in state_dir (the REGISTER without credentials).
#  2. SIGTERM, start again: before the phone sends anything (its registration
#     is far from expiry), sipkeep registers the binding again on a new flow,
#     same instance-id and reg-id; an inbound call reaches the phone.
#  3. SIGHUP with the same config: no reconnect (the same TCP connection).
#  4. SIGHUP with the service changed: its binding is de-registered, then
#     registered again at once from the stored state on a new flow.
#  5. SIGHUP with the service removed: the binding is de-registered (the
#     registrar's location drops it) and the flow closes.
#  6. SIGHUP with a broken config: sipkeep keeps running on the old one and
#     logs FILE:LINE:COL.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1017

# The local port of sipkeep's newest flow connection (from its log).
flow_port() {
    grep -Eo 'event=flow_connected reg_id=1 .*local=[0-9.]+:[0-9]+' "$SK_LOG" | tail -n 1 |
        grep -Eo '[0-9]+$'
}
# Does the edge hold a TCP connection from the router at that port?
edge_has_conn() {
    kam_tcp_conns 2>/dev/null | awk -v ip="$ROUTER_WAN_IP" -v port="$1" '
        $1 == "src_ip:" { sip = $2 }
        $1 == "src_port:" && sip == ip && $2 == port { found = 1 }
        END { exit !found }' 
}
# The Path (flow token) of the UA's binding at the registrar.
cur_path() {
    kam_location 2>/dev/null | _ul_aor_block "$USER_AOR" | grep -Eo "Path: <sip:[^@]+@$EDGE_IP;lr;ob>" | head -n 1
}
sk_hup() {
    local pid
    pid=$(sk_daemon_pid) || die "no sipkeep process"
    kill -HUP "$pid"
}
count() {
    grep -c -- "$1" "$SK_LOG" || true
}

lab_up
CFG=$LAB_DIR/sipkeep.yaml
kam_start registrar
kam_start edge
sk_config "$CFG"
sk_start "$CFG"

log_step "1. legacy UA registers through sipkeep (expires 3600, granted 300)"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
uuid=$(grep -Eo 'urn:uuid:[0-9a-f-]{36}' "$LAB_DIR/sipkeep-state/instance-ids" | head -n 1)
path1=$(kam_location | grep -Eo "Path: <sip:[^@]+@$EDGE_IP;lr;ob>" | head -n 1)
[[ -n "$uuid" && -n "$path1" ]] || die "no instance-id or Path: $(kam_location)"
state=$LAB_DIR/sipkeep-state/registrations
# Written by the batched flush (a few seconds) or at the latest at exit.
sk_stop
[[ -s "$state" ]] || die "no stored registrations in $state"
grep -q "^inst $uuid$" "$state" || die "stored record lacks the instance-id: $(head -n 12 "$state")"
grep -Eqi '^(proxy-)?authorization *:' "$state" && die "credentials stored in $state"
log_step "stopped; $state holds the binding ($(grep -c '^rec$' "$state") record, $(stat -c %s "$state") bytes, no credentials)"

log_step "2. restart: sipkeep registers the binding again without the UA"
sk_start "$CFG"
sk_wait_log 'event=registration_restored .*aor=sip:'"$USER_AOR"'@' 10 ||
    die "no restore: $(grep -E 'regstate|restor' "$SK_LOG")"
sk_wait_log 'event=registered .*reg_id=1 .*aor=sip:'"$USER_AOR"'@' 15 ||
    die "the restored binding did not register: $(tail -n 20 "$SK_LOG")"
path2=$(kam_location | grep -Eo "Path: <sip:[^@]+@$EDGE_IP;lr;ob>" | head -n 1)
[[ -n "$path2" && "$path2" != "$path1" ]] || die "the binding still points at the old flow: $(kam_location)"
kam_location_has "$USER_AOR" "Instance: <$uuid>$" || die "instance-id changed across restart: $(kam_location)"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "reg-id changed across restart: $(kam_location)"
# §6: same instance-id and reg-id replace the old binding, none is left over.
[[ $(kam_location | _ul_aor_block "$USER_AOR" | grep -c 'Contact:') -eq 1 ]] ||
    die "more than one binding for $USER_AOR: $(kam_location)"
# The UA (sipp, one REGISTER and gone) has sent nothing since: this
# registration is sipkeep's own, from the stored state.
log_step "re-registered on a new flow ($path2), same instance-id and reg-id, before any UA refresh"

sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call after the restart failed (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call after the restart"
log_step "inbound call after the restart answered and completed"

# The UA's refresh now arrives: it finds the restored binding (same flow).
connects=$(count 'event=flow_connecting')
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "the UA's refresh failed"
[[ $(count 'event=flow_connecting') -eq $connects ]] || die "the refresh opened a new flow"
out=$(timeout 15 "$SIPKEEP" status -s "$SK_CTL") || die "sipkeep status failed"
grep -Eq '^total: 1 binding, 1 flow' <<<"$out" || die "the refresh made a second binding: $out"
log_step "the UA's refresh matched the restored binding (1 binding, no new flow)"

log_step "3. SIGHUP, config unchanged: no reconnect"
port=$(flow_port)
[[ -n "$port" ]] || die "no flow_connected line"
edge_has_conn "$port" || die "the edge has no connection from port $port: $(kam_tcp_conns)"
connects=$(count 'event=flow_connecting')
sk_hup
sk_wait_log 'event=reloaded ' 10 || die "no reload logged: $(tail -n 5 "$SK_LOG")"
sk_log_has 'event=bindings_reloaded kept=1 retired=0' || die "the binding was not kept: $(grep bindings_reloaded "$SK_LOG")"
[[ $(count 'event=flow_connecting') -eq $connects ]] || die "the flow reconnected on reload"
edge_has_conn "$port" || die "the connection from port $port is gone after reload: $(kam_tcp_conns)"
kam_location_has "$USER_AOR" "Path: <sip:[^@]+@$EDGE_IP;lr;ob>" || die "binding lost on reload"
log_step "same connection (local port $port), binding kept"

log_step "4. SIGHUP, service changed: de-registered, then registered again from the stored state"
path3=$(cur_path)
restores=$(count 'event=registration_restored')
printf '    keepalive: { interval: 30 }\n' >>"$CFG"
sk_hup
sk_wait_log 'event=binding_retired .*reason="service changed"' 10 || die "the changed service's binding was kept"
wait_for '[[ $(count event=registration_restored) -gt $restores ]]' 10 "the binding restored under the new settings" ||
    die "no re-registration after the change: $(tail -n 20 "$SK_LOG")"
wait_for "! edge_has_conn $port" 10 "the old flow to close" || die "old flow still open: $(kam_tcp_conns)"
wait_for '[[ -n "$(cur_path)" && "$(cur_path)" != "$path3" ]]' 10 "the registrar to hold the new flow" ||
    die "location not updated: $(kam_location)"
kam_location_has "$USER_AOR" "Instance: <$uuid>$" || die "instance-id changed on reload: $(kam_location)"
port=$(flow_port)
edge_has_conn "$port" || die "no new flow from port $port: $(kam_tcp_conns)"
log_step "re-registered on a new flow (local port $port), same instance-id, without the UA"

log_step "5. SIGHUP, service removed: de-registered, flow closed"
sed -i -e 's/^  - name: lab$/  - name: other/' -e "s/^    domain: $SIP_DOMAIN\$/    domain: other.invalid/" "$CFG"
"$SIPKEEP" --check-config -c "$CFG" >/dev/null || die "the edited config is invalid"
sk_hup
sk_wait_log 'event=binding_retired .*reason="service removed"' 10 || die "the binding was not retired"
wait_for "! kam_location_has $USER_AOR" 10 "the registrar to drop the binding" ||
    die "still in the location table: $(kam_location)"
wait_for "! edge_has_conn $port" 10 "the flow to close" || die "flow still open: $(kam_tcp_conns)"
log_step "de-registered upstream (location empty for $USER_AOR) and the flow closed"
# The configs replaced by the reloads are freed once no retired binding
# points into them (under ASan, e2e-asan: any later use would be reported);
# the live one serves the next REGISTER: no service for that domain now.
sk_wait_log 'event=configs_released count=[1-9]' 10 || die "replaced configs never released"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 && die "REGISTER accepted for a removed service"
grep -q '^SIP/2.0 404' "$(ls -t "$LAB_DIR"/sipp-reg-*.msg | head -n 1)" || die "no 404 for the removed service"

log_step "6. SIGHUP, broken config: kept running"
printf 'mode: proxi\n' >>"$CFG"
sk_hup
sk_wait_log 'event=reload_failed err=".*sipkeep.yaml:[0-9]+:[0-9]+: ' 10 ||
    die "no reload_failed with FILE:LINE:COL: $(tail -n 5 "$SK_LOG")"
kill -0 "$(sk_daemon_pid)" || die "sipkeep died on a broken config"
log_step "$(grep -o 'event=reload_failed.*' "$SK_LOG" | tail -n 1)"
sk_stop
log_step "sipkeep stopped cleanly"

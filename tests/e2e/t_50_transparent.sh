#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Transparent mode: the legacy UA is configured with the provider's edge
# ($EDGE_IP:$EDGE_UDP_PORT) and never with sipkeep.  sipkeep on the router takes
# its SIP from an NFQUEUE, registers it over an RFC 5626 TCP flow (instance-id,
# reg-id 1: a direct UDP registration has neither), answers from the edge's
# address, and after 45 s idle (NAT UDP timeout 10 s) an inbound call completes.
# Then fail-open: after SIGTERM the rules are gone and the UA registers
# directly; after SIGKILL the stale rules stay but --queue-bypass lets traffic
# through; the next start replaces the stale rules.
# sipkeep runs as an unprivileged user (nobody) keeping only CAP_NET_ADMIN and
# CAP_NET_RAW: its spoofed answers and the rule removal at exit (iptables as a
# child with those two as ambient capabilities) work after the drop.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/tmode_lib.sh"

USER_AOR=1001
IDLE=45
RUN_AS=nobody
SK_READY_EVENT=intercepting

# status_field PID KEY: the value of KEY: in /proc/PID/status.
status_field() {
    awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# Jumps to SIPKEEP in the router's mangle table.
jumps() {
    tmode_jumps mangle
}

lab_up
kam_start registrar
kam_start edge
mkdir -p "$LAB_DIR/sipkeep-state"
# $LAB_DIR is mktemp's 0700: let the unprivileged daemon reach its state dir
# and control socket below it (traverse only), as in t_21.
chmod 0711 "$LAB_DIR"
SK_USER=$RUN_AS tmode_config "$LAB_DIR/sipkeep.yaml"
tmode_rules_have "$LAB_DIR/sipkeep.yaml" part \
    "-d $EDGE_IP/32 --dport $EDGE_UDP_PORT -j NFQUEUE --queue-num 0 --queue-bypass"
sk_start "$LAB_DIR/sipkeep.yaml"
[[ "$(jumps)" == 1 ]] || die "expected one jump to SIPKEEP, got $(jumps)"
sk_wait_log "event=privileges_dropped user=$RUN_AS uid=$(id -u "$RUN_AS") .*caps=net_admin,net_raw" 5 ||
    die "no drop to $RUN_AS keeping net_admin,net_raw: $(grep -E 'privileges|start_failed' "$SK_LOG")"
pid=$(sk_daemon_pid) || die "cannot find the sipkeep process under $SK_PID"
[[ "$(status_field "$pid" Uid)" == "$(id -u "$RUN_AS")" ]] || die "sipkeep does not run as $RUN_AS"
[[ "$(status_field "$pid" CapEff)" == 0000000000003000 ]] ||
    die "CapEff $(status_field "$pid" CapEff), not net_admin,net_raw only"
[[ "$(status_field "$pid" CapAmb)$(status_field "$pid" CapInh)" == 00000000000000000000000000000000 ]] ||
    die "the daemon itself has ambient/inheritable capabilities"
! sk_log_has 'event=firewall_cleanup_unavailable' || die "sipkeep says it cannot remove its rules"
log_step "runs as $RUN_AS with CapEff net_admin,net_raw only; rule removal at exit available"

tmode_capture_start "$NS_LAN" eth0 "udp and dst host $LAN_UA_IP"

log_step "legacy UA registers DIRECTLY to the edge $EDGE_IP:$EDGE_UDP_PORT"
sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" "$USER_AOR" 3600 || die "REGISTER failed"
tmode_via_sipkeep "$USER_AOR"
log_step "location table: $USER_AOR with instance-id and reg-id 1: it went through sipkeep"

log_step "idle ${IDLE}s (NAT udp ${NAT_UDP_TIMEOUT}s)"
idle "$IDLE"
sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call did not reach the UA (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call"
log_step "inbound call after idle answered and completed"

tmode_capture_stop
tmode_capture_all_from_edge

sk_stop
[[ "$(jumps)" == 0 ]] || die "rules left after SIGTERM: $(ns_exec "$NS_ROUTER" iptables -t mangle -S)"
if ! sk_log_has 'event=firewall_removed' || sk_log_has 'event=firewall_cleanup_failed'; then
    die "sipkeep ($RUN_AS) did not remove its rules itself: $(grep -E 'firewall' "$SK_LOG")"
fi
! ns_exec "$NS_ROUTER" iptables -w -t raw -S | grep -q SIPKEEP || die "raw SIPKEEP rules left after SIGTERM"
! ns_exec "$NS_ROUTER" iptables -w -t mangle -S | grep -q SIPKEEP ||
    die "SIPKEEP chain left after SIGTERM"
tmode_direct_after_stop 1002
log_step "after SIGTERM: no rules, UA registers directly (fail-open)"

sk_start "$LAB_DIR/sipkeep.yaml"
kill -KILL "$(sk_daemon_pid)"
wait_for "! kill -0 $SK_PID" 10 "sipkeep to die" || die "sipkeep survived SIGKILL"
SK_PID=
[[ "$(jumps)" == 1 ]] || die "expected the stale jump after SIGKILL, got $(jumps)"
sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" 1003 3600 || die "REGISTER with stale rules failed"
! kam_location_has 1003 "Reg-Id: [1-9]" || die "1003 has a reg-id without sipkeep"
log_step "after SIGKILL: stale rules, traffic flows (--queue-bypass)"

: >"$LAB_DIR/sipkeep.log"
sk_start "$LAB_DIR/sipkeep.yaml"
[[ "$(jumps)" == 1 ]] || die "expected exactly one jump after restart, got $(jumps)"
raw_jumps=$(tmode_jumps raw OUTPUT)
[[ "$raw_jumps" == 1 ]] || die "expected exactly one raw OUTPUT jump after restart, got $raw_jumps"
sk_stop
[[ "$(jumps)" == 0 ]] || die "rules left after the last stop"
log_step "restart cleaned the stale rules; stop removed them"

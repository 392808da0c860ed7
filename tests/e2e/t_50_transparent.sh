#!/usr/bin/env bash
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

USER_AOR=1001
IDLE=45
RUN_AS=nobody
SK_READY_EVENT=intercepting

t_config() {
    SK_CTL=$LAB_DIR/run/sipkeep.sock
    cat >"$1" <<YAML
mode: transparent
state_dir: $LAB_DIR/sipkeep-state
control_socket: $SK_CTL
user: $RUN_AS
log: { level: debug, target: stderr }
transparent:
  interfaces: [$ROUTER_LAN_IF]
ua:
  allow: ["$LAN_UA_IP/32"]
services:
  - name: lab
    domain: $SIP_DOMAIN
    outbound_proxies: ["sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp"]
YAML
}

# status_field PID KEY: the value of KEY: in /proc/PID/status.
status_field() {
    awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# Jumps to SIPKEEP in the router's mangle table.
jumps() {
    ns_exec "$NS_ROUTER" iptables -w -t mangle -S | grep -c -- '-j SIPKEEP$' || true
}

lab_up
kam_start registrar
kam_start edge
mkdir -p "$LAB_DIR/sipkeep-state"
# $LAB_DIR is mktemp's 0700: let the unprivileged daemon reach its state dir
# and control socket below it (traverse only), as in t_21.
chmod 0711 "$LAB_DIR"
t_config "$LAB_DIR/sipkeep.yaml"
"$SIPKEEP" --print-firewall -c "$LAB_DIR/sipkeep.yaml" >"$LAB_DIR/rules.txt" ||
    die "--print-firewall failed"
grep -q -- "-d $EDGE_IP/32 --dport $EDGE_UDP_PORT -j NFQUEUE --queue-num 0 --queue-bypass" \
    "$LAB_DIR/rules.txt" || die "unexpected rules: $(cat "$LAB_DIR/rules.txt")"
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

CAP=$LAB_DIR/lan-udp.txt
START_LOG=$CAP start_in_ns "$NS_LAN" tcpdump -i eth0 -n -l -U "udp and dst host $LAN_UA_IP"
CAP_PID=$LAST_PID
wait_for "grep -q 'listening on' '$CAP'" 10 "tcpdump in lan" || die "tcpdump did not start"

log_step "legacy UA registers DIRECTLY to the edge $EDGE_IP:$EDGE_UDP_PORT"
sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" "$USER_AOR" 3600 || die "REGISTER failed"
kam_location_has "$USER_AOR" "Instance: <urn:uuid:[0-9a-f-]{36}>$" ||
    die "binding lacks +sip.instance (not through sipkeep?): $(kam_location)"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
log_step "location table: $USER_AOR with instance-id and reg-id 1: it went through sipkeep"

log_step "idle ${IDLE}s (NAT udp ${NAT_UDP_TIMEOUT}s)"
idle "$IDLE"
sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call did not reach the UA (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call"
log_step "inbound call after idle answered and completed"

sleep 0.3 # the last packet in flight to the capture
stop_pid "$CAP_PID" 3
pkts=$(grep -c ' IP ' "$CAP" || true)
others=$(grep ' IP ' "$CAP" | awk -v e="$EDGE_IP.$EDGE_UDP_PORT" '$3 != e' | head -n 5)
[[ "$pkts" -ge 4 ]] || die "capture saw only $pkts UDP packets to the UA"
[[ -z "$others" ]] || die "the UA received packets not from the edge: $others"
log_step "capture: all $pkts UDP packets the UA received came from $EDGE_IP:$EDGE_UDP_PORT"

sk_stop
[[ "$(jumps)" == 0 ]] || die "rules left after SIGTERM: $(ns_exec "$NS_ROUTER" iptables -t mangle -S)"
if ! sk_log_has 'event=firewall_removed' || sk_log_has 'event=firewall_cleanup_failed'; then
    die "sipkeep ($RUN_AS) did not remove its rules itself: $(grep -E 'firewall' "$SK_LOG")"
fi
! ns_exec "$NS_ROUTER" iptables -w -t raw -S | grep -q SIPKEEP || die "raw SIPKEEP rules left after SIGTERM"
! ns_exec "$NS_ROUTER" iptables -w -t mangle -S | grep -q SIPKEEP ||
    die "SIPKEEP chain left after SIGTERM"
sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" 1002 3600 || die "direct REGISTER after stop failed"
kam_location_has 1002 || die "no binding for 1002"
! kam_location_has 1002 "Reg-Id: [1-9]" || die "1002 went through sipkeep after its stop"
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
raw_jumps=$(ns_exec "$NS_ROUTER" iptables -w -t raw -S OUTPUT | grep -c -- '-j SIPKEEP$' || true)
[[ "$raw_jumps" == 1 ]] || die "expected exactly one raw OUTPUT jump after restart, got $raw_jumps"
sk_stop
[[ "$(jumps)" == 0 ]] || die "rules left after the last stop"
log_step "restart cleaned the stale rules; stop removed them"

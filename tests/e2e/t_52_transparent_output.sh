#!/usr/bin/env bash
# Transparent mode for a PBX on sipkeep's own host (transparent.output: true):
# the legacy UA (sipp) runs in the router namespace next to sipkeep and sends
# its UDP SIP straight to the provider's edge ($EDGE_IP:$EDGE_UDP_PORT).  The
# OUTPUT chain queues it; sipkeep registers it over an RFC 5626 TCP flow
# (instance-id, reg-id 1), an inbound call reaches it and completes, and every
# UDP packet the UA receives (over lo) comes from the edge's address and port.
# After SIGTERM the rules (OUTPUT jump included) are gone and the UA's
# traffic goes to the edge directly again (fail-open).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1052
SK_READY_EVENT=intercepting
# The UA: a local process on the router, bound to the router's LAN address.
SIPP_UA_NS=$NS_ROUTER
SIPP_UA_IP=$ROUTER_LAN_IP
SIPP_UA_PORT=5060

t_config() {
    SK_CTL=$LAB_DIR/run/sipkeep.sock
    cat >"$1" <<YAML
mode: transparent
state_dir: $LAB_DIR/sipkeep-state
control_socket: $SK_CTL
user: root
log: { level: debug, target: stderr }
transparent:
  interfaces: [$ROUTER_LAN_IF]
  output: true
ua:
  allow: ["$ROUTER_LAN_IP/32"]
services:
  - name: lab
    domain: $SIP_DOMAIN
    outbound_proxies: ["sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp"]
YAML
}

# jumps TABLE CHAIN: jumps to SIPKEEP in the router's TABLE CHAIN.
jumps() {
    ns_exec "$NS_ROUTER" iptables -w -t "$1" -S "$2" | grep -c -- '-j SIPKEEP$' || true
}

lab_up
kam_start registrar
kam_start edge
mkdir -p "$LAB_DIR/sipkeep-state"
t_config "$LAB_DIR/sipkeep.yaml"
"$SIPKEEP" --print-firewall -c "$LAB_DIR/sipkeep.yaml" >"$LAB_DIR/rules.txt" ||
    die "--print-firewall failed"
grep -qx -- "iptables -w -t mangle -I OUTPUT -p udp -j SIPKEEP" "$LAB_DIR/rules.txt" ||
    die "no OUTPUT jump in the rules: $(cat "$LAB_DIR/rules.txt")"
sk_start "$LAB_DIR/sipkeep.yaml"
[[ "$(jumps mangle OUTPUT)" == 1 && "$(jumps mangle PREROUTING)" == 1 ]] ||
    die "expected one OUTPUT and one PREROUTING jump: $(ns_exec "$NS_ROUTER" iptables -t mangle -S)"

CAP=$LAB_DIR/lo-udp.txt
START_LOG=$CAP start_in_ns "$NS_ROUTER" tcpdump -i lo -n -l -U \
    "udp and dst host $SIPP_UA_IP and dst port $SIPP_UA_PORT"
CAP_PID=$LAST_PID
wait_for "grep -q 'listening on' '$CAP'" 10 "tcpdump on the router's lo" || die "tcpdump did not start"

log_step "local UA $SIPP_UA_IP registers DIRECTLY to the edge $EDGE_IP:$EDGE_UDP_PORT"
sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" "$USER_AOR" 3600 || die "REGISTER failed"
kam_location_has "$USER_AOR" "Instance: <urn:uuid:[0-9a-f-]{36}>$" ||
    die "binding lacks +sip.instance (not through sipkeep?): $(kam_location)"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
log_step "location table: $USER_AOR with instance-id and reg-id 1: OUTPUT traffic went through sipkeep"

sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 20 || die "the call did not reach the UA (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 15 || die "the UA did not complete the call"
log_step "inbound call to the local UA answered and completed"

sleep 0.3 # the last packet in flight to the capture
stop_pid "$CAP_PID" 3
pkts=$(grep -c ' IP ' "$CAP" || true)
others=$(grep ' IP ' "$CAP" | awk -v e="$EDGE_IP.$EDGE_UDP_PORT" '$3 != e' | head -n 5)
[[ "$pkts" -ge 4 ]] || die "capture saw only $pkts UDP packets to the UA"
[[ -z "$others" ]] || die "the UA received packets not from the edge: $others"
log_step "capture: all $pkts UDP packets the UA received came from $EDGE_IP:$EDGE_UDP_PORT"

sk_stop
[[ "$(jumps mangle OUTPUT)$(jumps mangle PREROUTING)$(jumps raw OUTPUT)" == 000 ]] ||
    die "jumps left after SIGTERM: $(ns_exec "$NS_ROUTER" iptables -t mangle -S)"
! ns_exec "$NS_ROUTER" iptables -w -t mangle -S | grep -q SIPKEEP ||
    die "SIPKEEP chain left after SIGTERM"
sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" 1053 3600 || die "direct REGISTER after stop failed"
kam_location_has 1053 || die "no binding for 1053"
! kam_location_has 1053 "Reg-Id: [1-9]" || die "1053 went through sipkeep after its stop"
log_step "after SIGTERM: no rules, the local UA registers directly (fail-open)"

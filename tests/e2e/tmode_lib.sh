# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# sipkeep in transparent mode in the e2e lab: its config, the firewall rules
# it prints and installs, and the checks the transparent scenarios (t_50,
# t_51, t_52) and tests/bench/nfq_bench.sh share.  Source after lib.sh and
# sk_lib.sh.
#
# API: tmode_config FILE, tmode_rules_have CONFIG HOW PATTERN,
# tmode_jumps TABLE [CHAIN], tmode_capture_start NS IFACE FILTER [TCPDUMP_ARG...],
# tmode_capture_stop, tmode_capture_all_from_edge, tmode_via_sipkeep AOR,
# tmode_direct_after_stop AOR; TMODE_CAP, TMODE_CAP_PID.

TMODE_CAP=
TMODE_CAP_PID=

# tmode_config FILE: transparent-mode config intercepting the router's LAN
# interface; the flow is TCP to the edge.  The same knobs as sk_config:
# SK_USER (root), SK_LOG_LEVEL (debug), SK_ALLOW (the one allowed UA,
# $LAN_UA_IP/32), SK_EXTRA_SERVICE (YAML lines, indented 4, appended to the
# service, e.g. intercept:); and TMODE_OUTPUT=true to intercept the router's
# own OUTPUT too (a PBX on sipkeep's host).  Sets SK_CTL.
tmode_config() {
    SK_CTL=$LAB_DIR/run/sipkeep.sock
    {
        echo "mode: transparent"
        echo "state_dir: $LAB_DIR/sipkeep-state"
        echo "control_socket: $SK_CTL"
        echo "user: ${SK_USER:-root}"
        echo "log: { level: ${SK_LOG_LEVEL:-debug}, target: stderr }"
        echo "transparent:"
        echo "  interfaces: [$ROUTER_LAN_IF]"
        [[ "${TMODE_OUTPUT:-false}" != true ]] || echo "  output: true"
        echo "ua:"
        echo "  allow: [\"${SK_ALLOW:-$LAN_UA_IP/32}\"]"
        echo "services:"
        echo "  - name: lab"
        echo "    domain: $SIP_DOMAIN"
        echo "    outbound_proxies: [\"sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp\"]"
        [[ -z "${SK_EXTRA_SERVICE:-}" ]] || printf '%s\n' "$SK_EXTRA_SERVICE"
    } >"$1"
}

# tmode_rules_have CONFIG HOW PATTERN: the rules `sipkeep --print-firewall`
# gives for CONFIG (kept in $LAB_DIR/rules.txt) have a line that contains
# PATTERN (HOW=part) or is PATTERN (HOW=line), fixed strings; dies otherwise.
tmode_rules_have() {
    local rules=$LAB_DIR/rules.txt opt=-qF
    "$SIPKEEP" --print-firewall -c "$1" >"$rules" || die "--print-firewall failed"
    [[ "$2" != line ]] || opt=-qxF
    grep "$opt" -- "$3" "$rules" || die "no rule ${3@Q} in: $(cat "$rules")"
}

# tmode_jumps TABLE [CHAIN]: how many jumps to SIPKEEP the router's TABLE
# (CHAIN, or every chain) holds.
tmode_jumps() {
    ns_exec "$NS_ROUTER" iptables -w -t "$1" -S ${2:+"$2"} | grep -c -- '-j SIPKEEP$' || true
}

# tmode_capture_start NS IFACE FILTER [TCPDUMP_ARG...]: tcpdump on IFACE in NS
# with the pcap FILTER (extra arguments before it, e.g. -x), one line a
# packet into TMODE_CAP ($LAB_DIR/capture.txt); waits until it listens.
tmode_capture_start() {
    local ns=$1 ifc=$2 filter=$3
    shift 3
    TMODE_CAP=$LAB_DIR/capture.txt
    START_LOG=$TMODE_CAP start_in_ns "$ns" tcpdump -i "$ifc" -n -l -U "$@" "$filter"
    TMODE_CAP_PID=$LAST_PID
    wait_for "grep -q 'listening on' '$TMODE_CAP'" 10 "tcpdump on $ifc in $ns" ||
        die "tcpdump did not start"
}

# tmode_capture_stop: ends the capture once what is in flight has arrived.
tmode_capture_stop() {
    sleep 0.3 # the last packet in flight to the capture
    stop_pid "$TMODE_CAP_PID" 3
}

# tmode_capture_all_from_edge: the (stopped) capture of what the UA received
# saw at least 4 UDP packets, every one from $EDGE_IP:$EDGE_UDP_PORT: sipkeep
# answered in the edge's name.  Dies otherwise.
tmode_capture_all_from_edge() {
    local pkts others
    pkts=$(grep -c ' IP ' "$TMODE_CAP" || true)
    others=$(grep ' IP ' "$TMODE_CAP" | awk -v e="$EDGE_IP.$EDGE_UDP_PORT" '$3 != e' | head -n 5)
    [[ "$pkts" -ge 4 ]] || die "capture saw only $pkts UDP packets to the UA"
    [[ -z "$others" ]] || die "the UA received packets not from the edge: $others"
    log_step "capture: all $pkts UDP packets the UA received came from $EDGE_IP:$EDGE_UDP_PORT"
}

# tmode_via_sipkeep AOR: AOR's binding at the registrar has an instance-id and
# reg-id 1 (RFC 5626 §4.2): it went through sipkeep, which a direct UDP
# registration would not.  Dies otherwise.
tmode_via_sipkeep() {
    kam_location_has "$1" "Instance: <urn:uuid:[0-9a-f-]{36}>$" ||
        die "binding lacks +sip.instance (not through sipkeep?): $(kam_location)"
    kam_location_has "$1" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
}

# tmode_direct_after_stop AOR: with sipkeep stopped, the UA registers AOR
# straight to the edge and its binding has no reg-id: nothing intercepted it
# (fail-open).  Dies otherwise.
tmode_direct_after_stop() {
    sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" "$1" 3600 || die "direct REGISTER after stop failed"
    kam_location_has "$1" || die "no binding for $1"
    ! kam_location_has "$1" "Reg-Id: [1-9]" || die "$1 went through sipkeep after its stop"
}

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 12 item 5, the DS-Lite case: the WAN side is IPv6-only (lib.sh
# lab_wan6: edge fd00:5::10, registrar fd00:5::11, far side fd00:5::20, the
# router's wan0 fd00:5::1, no IPv4 on that link), the phone (sipp, UDP) is
# IPv4 on the LAN and has no way to the WAN but sipkeep.  sipkeep's flow is
# TCP to sip:[fd00:5::10]:5060;transport=tcp (reg-id 1) and TLS to
# sips:edge.test:5061 (reg-id 2), a name with only an IPv6 address.
# Checks: the phone registers through sipkeep (200), the registrar holds
# reg-id 1 and 2 bindings, a Path names the edge's IPv6 address, and both
# flows are IPv6 connections from the router's wan0 address (the TLS one
# verified against edge.test); after 45 s idle (the
# edge closes a TCP connection idle for 30 s: tcp_connection_lifetime; the
# router's IPv6 firewall drops what it no longer tracks) the far side calls
# the phone (answered, BYE answered 200) on the same connection, held by
# sipkeep's CRLF keep-alives; then the phone calls out to sip:far@sip.test.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

IDLE=45
T0=$(date +%s)
command -v ip6tables >/dev/null || die "missing tool 'ip6tables'"
lab_wan6
lab_up
ns_exec "$NS_ROUTER" ip -4 addr show dev "$ROUTER_WAN_IF" | grep -q inet &&
    die "the router's wan0 still has an IPv4 address"
kam_start registrar
kam_start edge
# reg-id 2: TLS to the edge by name; the router's hosts file gives the name
# only an IPv6 address (its AAAA), and the certificate names edge.test.
ns_hosts "$NS_ROUTER" "$EDGE_IP6 $EDGE_TLS_NAME"
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, verify: true }" \
    sk_config "$LAB_DIR/sipkeep.yaml" "sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp" \
    "sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT"
sk_start "$LAB_DIR/sipkeep.yaml"

sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$CF_PHONE" "Reg-Id: 1$" || die "no reg-id 1 binding: $(kam_location)"
wait_for "kam_location_has $CF_PHONE 'Reg-Id: 2$'" 10 "the reg-id 2 (TLS) binding" ||
    die "no reg-id 2 binding: $(kam_location)"
kam_location_has "$CF_PHONE" 'Path: <sip:[^>]*\[fd00:5::10\]' ||
    die "the binding's Path does not name the edge's IPv6 address: $(kam_location)"
flow_conn() {
    ns_exec "$NS_ROUTER" ss -Htn state established "dst $EDGE_IP:$EDGE_TCP_PORT" |
        awk '{ print $3 }'
}
conn=$(flow_conn)
[[ "$conn" == "[$ROUTER_WAN_IP]:"* && $(wc -l <<<"$conn") -eq 1 ]] ||
    die "expected one IPv6 flow from [$ROUTER_WAN_IP] to the edge, got: ${conn:-none}"
sk_log_has "event=flow_connected reg_id=1 proxy=sip:\\[fd00:5::10\\]:$EDGE_TCP_PORT;transport=tcp local=\\[fd00:5::1\\]:" ||
    die "sipkeep did not log its flow over IPv6"
tls=$(ns_exec "$NS_ROUTER" ss -Htn state established "dst $EDGE_IP:$EDGE_TLS_PORT" | awk '{ print $3 }')
[[ "$tls" == "[$ROUTER_WAN_IP]:"* ]] || die "no IPv6 TLS flow to the edge: ${tls:-none}"
sk_log_has "event=flow_connected reg_id=2 proxy=sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT local=\\[fd00:5::1\\]:" ||
    die "sipkeep did not log its TLS flow over IPv6"
log_step "registered over IPv6: TCP flow $conn -> $EDGE_IP:$EDGE_TCP_PORT, TLS flow $tls -> $EDGE_TLS_NAME:$EDGE_TLS_PORT"

log_step "idle ${IDLE} s (edge tcp_connection_lifetime ${EDGE_TCP_LIFETIME} s, router conntrack tcp ${NAT_TCP_ESTABLISHED_TIMEOUT} s)"
idle "$IDLE"
[[ "$(flow_conn)" == "$conn" ]] || die "the flow's connection changed while idle: $(flow_conn) (was $conn)"

# shellcheck disable=SC2034  # CF_LABEL is read by cf_cell
CF_LABEL="IPv6 uplink, after ${IDLE} s idle"
cf_cell in far || true
[[ "$(flow_conn)" == "$conn" ]] || die "the call in did not use the same flow: $(flow_conn) (was $conn)"
# shellcheck disable=SC2034
CF_LABEL="IPv6 uplink"
cf_cell out phone || true
sk_stop
cf_report "IPv4 phone over an IPv6-only uplink: registered, called after ${IDLE} s idle, called out, in $(( $(date +%s) - T0 )) s"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 12 item 5, Happy Eyeballs (RFC 8305 style): a dual-stack WAN (lib.sh
# lab_wan6 dual: the IPv4 lab plus fd00:5::/64), the edge's name edge.test
# has both addresses (the router's hosts file: fd00:5::10 and 198.51.100.10),
# and the router drops every IPv6 packet to the edge: a blackhole (no RST,
# no ICMP), as a broken IPv6 path at a provider is.  sipkeep's TCP flow to
# sip:edge.test:5060;transport=tcp tries IPv6 first and IPv4 250 ms later.
# Checks: the first attempt goes to [fd00:5::10], the IPv4 one starts 250 ms
# later, the flow is connected over IPv4 within a second of its first
# attempt (the figure is printed), the phone registers, and a call to it
# completes.  Without the race the flow would wait for the IPv6 connect
# to time out.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

command -v ip6tables >/dev/null || die "missing tool 'ip6tables'"
lab_wan6 dual
lab_up
ns_exec "$NS_ROUTER" ip6tables -I OUTPUT -d "$EDGE_IP6" -j DROP
kam_start registrar
kam_start edge
ns_hosts "$NS_ROUTER" "$EDGE_IP6 $EDGE_TLS_NAME" "$EDGE_IP $EDGE_TLS_NAME"
sk_config "$LAB_DIR/sipkeep.yaml" "sip:$EDGE_TLS_NAME:$EDGE_TCP_PORT;transport=tcp"
sk_start "$LAB_DIR/sipkeep.yaml"

sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$CF_PHONE" "Reg-Id: 1$" || die "no reg-id 1 binding: $(kam_location)"
# log_ms ERE: the time of sipkeep's first log line matching ERE, in ms
# (its timestamps: 2026-12-07T15:16:40.527Z, UTC); fails when there is none.
log_ms() {
    local ts
    ts=$(grep -E -m1 -- "$1" "$SK_LOG" | awk '{ print $1 }')
    [[ -n "$ts" ]] && date -u -d "${ts%Z}" +%s%3N
}
t_first=$(log_ms "event=flow_connecting reg_id=1 .*addr=\\[$EDGE_IP6\\]:$EDGE_TCP_PORT ") ||
    die "the flow's first attempt was not to [$EDGE_IP6]: $(grep -E 'event=flow_' "$SK_LOG" | head -n 3)"
t_he=$(log_ms "event=flow_happy_eyeballs reg_id=1 .*addr=$EDGE_IP:$EDGE_TCP_PORT after_ms=2[5-9][0-9]($| )") ||
    die "no IPv4 attempt 250 ms after the first"
t_up=$(log_ms "event=flow_connected reg_id=1 .*local=$ROUTER_WAN_IP:") || die "the flow never connected over IPv4"
sk_log_has "event=flow_connected reg_id=1 .*local=\\[" && die "a flow connected over IPv6 through the blackhole"
log_step "IPv6 tried first; IPv4 started after $((t_he - t_first)) ms; flow up over IPv4 $((t_up - t_first)) ms after the first attempt"
(( t_up - t_first < 1000 )) || die "the flow took $((t_up - t_first)) ms to come up (over 1 s)"

# shellcheck disable=SC2034  # CF_LABEL is read by cf_cell
CF_LABEL="dual stack, IPv6 blackholed"
cf_cell in far || true
sk_stop
cf_report "flow over IPv4 $((t_up - t_first)) ms after its first (IPv6) attempt; registered; called"

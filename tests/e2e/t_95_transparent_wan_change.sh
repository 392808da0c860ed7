#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario (issue 12 item 6, transparent mode): the router's conntrack
# entries of the phone's SIP toward the provider pin the WAN address they
# were made with; on a WAN change sipkeep (transparent, run as nobody with
# CAP_NET_ADMIN and CAP_NET_RAW) deletes them with `conntrack -D` helpers.
# The phone registers through sipkeep (intercepted), then holds a TCP
# connection to the edge's SIP port and sends a datagram the queue passes
# (not SIP) from its SIP port to the edge's: two confirmed entries, NATed to
# the WAN address.
#  1. The WAN address changes (delete, add: a PPPoE reconnect): the entries
#     pinned to the old address are gone within 1 s, sipkeep logged its
#     flush, and an inbound call reaches the phone.  (With MASQUERADE the
#     kernel also drops the entries of a deleted address: this part shows
#     the flush runs and harms nothing.)
#  2. The route to the edge moves to another address, the old one stays
#     (the kernel drops nothing): the phone's entries toward the edge's SIP
#     port are gone within 1 s, deleted by sipkeep (its count), while the
#     phone's entry toward another port of the edge (not intercepted) and
#     sipkeep's own flow stay; an inbound call reaches the phone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/tmode_lib.sh"

USER_AOR=1095
RUN_AS=nobody
SK_READY_EVENT=intercepting
WAN_IP2=198.51.100.2
WAN_IP4=198.51.100.4
OTHER_PORT=5999 # a port of the edge sipkeep does not intercept
TCP_PID=

registrations() {
    grep -c 'event=registered .*reg_id=1 ' "$SK_LOG" || true
}

# phone_udp DPORT: the phone sends one datagram that is not SIP from its SIP
# port to the edge's DPORT; the queue passes it, the router NATs it.
phone_udp() {
    ns_exec "$NS_LAN" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.sendto(b"not sip\n", (sys.argv[3], int(sys.argv[4])))' \
        "$LAN_UA_IP" "$LAN_UA_PORT" "$EDGE_IP" "$1"
}

# phone_tcp: the phone holds a TCP connection to the edge's SIP port (rules
# intercept UDP only: it goes through the NAT).
phone_tcp() {
    stop_pid "$TCP_PID" 1
    START_LOG=$LAB_DIR/phone-tcp.log start_in_ns "$NS_LAN" python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print("connected", flush=True)
time.sleep(120)' "$EDGE_IP" "$EDGE_TCP_PORT"
    TCP_PID=$LAST_PID
    wait_for "grep -q connected '$LAB_DIR/phone-tcp.log'" 5 "the phone's TCP connection" ||
        die "the phone could not connect to $EDGE_IP:$EDGE_TCP_PORT"
}

# entries PROTO DPORT ADDR: the router's conntrack entries from the phone to
# the edge's DPORT whose replies go to ADDR (NATed to ADDR).
entries() {
    ns_exec "$NS_ROUTER" conntrack -L -p "$1" -s "$LAN_UA_IP" -d "$EDGE_IP" --dport "$2" \
        -q "$3" 2>/dev/null | grep -c '^' || true
}

phone_entries() {
    echo $(($(entries udp "$EDGE_UDP_PORT" "$1") + $(entries tcp "$EDGE_TCP_PORT" "$1")))
}

# make_entries ADDR: the phone's UDP and TCP entries toward the edge's SIP
# port, NATed to ADDR (the WAN address now).
make_entries() {
    phone_udp "$EDGE_UDP_PORT"
    phone_tcp
    wait_for "[[ \$(phone_entries $1) -ge 2 ]]" 5 "the phone's entries NATed to $1" ||
        die "no phone entries to $EDGE_IP NATed to $1: $(ns_exec "$NS_ROUTER" conntrack -L 2>&1)"
}

# gone_within ADDR T0: ms from T0 until no phone entry toward the edge's SIP
# port is NATed to ADDR any more (checked every 50 ms, up to 3 s); dies
# beyond 1 s.
gone_within() {
    local addr=$1 t0=$2 now
    while :; do
        now=$(date +%s%3N)
        [[ $(phone_entries "$addr") -eq 0 ]] && break
        (( now - t0 <= 3000 )) || die "the phone's entries NATed to $addr still there after 3 s:" \
            "$(ns_exec "$NS_ROUTER" conntrack -L 2>&1 | grep "$EDGE_IP")"
        sleep 0.05
    done
    (( now - t0 <= 1000 )) || die "the phone's entries NATed to $addr went only after $((now - t0)) ms"
    echo $((now - t0))
}

# flushed_after FROM: sipkeep's conntrack_flushed line after log line FROM
# (waits up to 2 s); prints it.
flushed_after() {
    local line
    wait_for "tail -n +$(($1 + 1)) '$SK_LOG' | grep -q 'event=conntrack_fl'" 2 "the flush's log line" ||
        die "sipkeep logged no flush: $(tail -n +"$(($1 + 1))" "$SK_LOG" | head -n 30)"
    line=$(tail -n +"$(($1 + 1))" "$SK_LOG" | grep -m 1 'event=conntrack_fl')
    [[ "$line" == *event=conntrack_flushed* ]] || die "the flush failed: $line"
    echo "${line#*event=}"
}

# call_in LABEL: sipkeep registered again; an inbound call (the phone's
# answerer started before) completes.
call_in() {
    wait_for '[[ $(registrations) -gt '"$regs"' ]]' 10 "registration on a new flow" ||
        die "$1: sipkeep did not register again: $(tail -n 20 "$SK_LOG")"
    sipp_uac_call "$USER_AOR" 10 || die "$1: the call failed (INVITE final $SIPP_UAC_STATUS)"
    sipp_ua_answer_wait 10 || die "$1: the phone did not complete the call"
}

lab_up
kam_start registrar
kam_start edge
mkdir -p "$LAB_DIR/sipkeep-state"
chmod 0711 "$LAB_DIR" # the unprivileged daemon reaches its state dir (as t_50)
SK_USER=$RUN_AS SK_EXTRA_SERVICE="    keepalive: { pong_timeout: 5 }" \
    tmode_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
sk_wait_log "event=privileges_dropped user=$RUN_AS .*caps=net_admin,net_raw" 5 ||
    die "no drop to $RUN_AS keeping net_admin,net_raw"
sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" "$USER_AOR" 3600 || die "REGISTER failed"
tmode_via_sipkeep "$USER_AOR"
wait_for "sk_flow_from $ROUTER_WAN_IP" 5 "the flow from $ROUTER_WAN_IP" || die "no flow from $ROUTER_WAN_IP"
log_step "phone registered through sipkeep (intercepted) over a TCP flow from $ROUTER_WAN_IP"

# ---- 1. the WAN address changes ----
make_entries "$ROUTER_WAN_IP"
log_step "phone's entries toward $EDGE_IP:$EDGE_UDP_PORT NATed to $ROUTER_WAN_IP: udp" \
    "$(entries udp "$EDGE_UDP_PORT" "$ROUTER_WAN_IP") tcp $(entries tcp "$EDGE_TCP_PORT" "$ROUTER_WAN_IP")"
sipp_ua_answer_start 1 "$USER_AOR"
from=$(wc -l <"$SK_LOG")
regs=$(registrations)
t0=$(wan_change "$ROUTER_WAN_IP" "$WAN_IP2")
ms=$(gone_within "$ROUTER_WAN_IP" "$t0")
flushed=$(flushed_after "$from")
call_in "address change"
log_step "WAN address $ROUTER_WAN_IP -> $WAN_IP2: entries pinned to $ROUTER_WAN_IP gone after" \
    "$ms ms; sipkeep: $flushed; inbound call completed"

# ---- 2. the route to the edge moves to another address ----
wait_for "sk_flow_from $WAN_IP2" 5 "the flow from $WAN_IP2" || die "no flow from $WAN_IP2"
make_entries "$WAN_IP2"
phone_udp "$OTHER_PORT"
[[ $(entries udp "$OTHER_PORT" "$WAN_IP2") -eq 1 ]] || die "no phone entry toward port $OTHER_PORT"
sipp_ua_answer_start 1 "$USER_AOR"
from=$(wc -l <"$SK_LOG")
regs=$(registrations)
t0=$(date +%s%3N)
ns_exec "$NS_ROUTER" ip addr add "$WAN_IP4/32" dev "$ROUTER_WAN_IF"
ns_exec "$NS_ROUTER" ip route add "$EDGE_IP/32" dev "$ROUTER_WAN_IF" src "$WAN_IP4"
ms=$(gone_within "$WAN_IP2" "$t0")
flushed=$(flushed_after "$from")
deleted=$(sed -n 's/.*deleted=\([0-9]*\).*/\1/p' <<<"$flushed")
(( deleted >= 2 )) || die "sipkeep deleted $deleted entries, not the phone's 2: $flushed"
[[ $(entries udp "$OTHER_PORT" "$WAN_IP2") -eq 1 ]] ||
    die "the phone's entry toward port $OTHER_PORT (not intercepted) went too"
call_in "route change"
sk_flow_from "$WAN_IP4" || die "sipkeep's flow is not from $WAN_IP4"
log_step "route to $EDGE_IP now from $WAN_IP4: the phone's entries pinned to $WAN_IP2 gone after" \
    "$ms ms; sipkeep: $flushed; entry toward port $OTHER_PORT kept; inbound call completed"
ns_exec "$NS_ROUTER" ip route del "$EDGE_IP/32"
stop_pid "$TCP_PID" 1
sk_stop

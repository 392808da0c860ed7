#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Transparent mode passes what it does not take, unchanged: with sipkeep
# reading the queue, (1) non-SIP UDP from the allowed UA to the edge's
# $EDGE_IP:$EDGE_UDP_PORT and (2) SIP from a LAN host outside ua.allow
# ($LAN_UA2_IP) to it go through the NFQUEUE rule (its packet counter moves)
# and arrive in wan with the same payload bytes (tcpdump on the edge's side
# of the wire).  (3) As a control, SIP from the allowed UA to the same
# address is taken: sipkeep answers it (403: not registered through it) and
# it never reaches wan as UDP.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/tmode_lib.sh"

SK_READY_EVENT=intercepting

# queued: packets the router's NFQUEUE rule for the edge has matched so far.
queued() {
    ns_exec "$NS_ROUTER" iptables -w -t mangle -L SIPKEEP -v -x -n |
        awk -v d="$EDGE_IP" '/NFQUEUE/ && $0 ~ d { print $1 }'
}

# send_from SRC_IP FILE: FILE's bytes as one UDP datagram from the lan host
# SRC_IP to the edge (the route's preferred source picks SRC_IP).
send_from() {
    ns_exec "$NS_LAN" ip route replace "$WAN_NET" via "$ROUTER_LAN_IP" src "$1"
    # shellcheck disable=SC2016  # expanded by the inner bash
    ns_exec "$NS_LAN" bash -c 'cat "$1" >"/dev/udp/$2/$3"' _ "$2" "$EDGE_IP" "$EDGE_UDP_PORT"
    ns_exec "$NS_LAN" ip route replace "$WAN_NET" via "$ROUTER_LAN_IP" src "$LAN_UA_IP"
}

# hex FILE: its bytes as lowercase hex.
hex() {
    od -An -v -tx1 "$1" | tr -d ' \n'
}

# payloads_from: the UDP payload (hex) of each datagram captured in wan, one
# per line (tcpdump -x: the IPv4 header, 20 bytes without options, then the
# 8-byte UDP header).
payloads_from() {
    awk '
        / IP / { if (hx != "") print hx; hx = ""; take = ($0 ~ (" > " ip)) }
        /^\t0x/ { if (take) for (i = 2; i <= NF; i++) hx = hx $i }
        END { if (hx != "") print hx }' ip="$EDGE_IP.$EDGE_UDP_PORT:" "$TMODE_CAP" |
        while read -r h; do
            [[ "${h:0:2}" == 45 ]] || continue
            # the NAT rewrote the source: match on the payload only
            echo "${h:56}"
        done
}

lab_up
kam_start registrar
kam_start edge
mkdir -p "$LAB_DIR/sipkeep-state"
tmode_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"

tmode_capture_start "$NS_WAN" eth0 "udp and dst host $EDGE_IP and dst port $EDGE_UDP_PORT" -x

NOT_SIP=$LAB_DIR/not-sip.bin
printf '\x00\x01\xfe\xffNOT SIP: binary to port 5060\r\n\r\n' >"$NOT_SIP"
OTHER_SIP=$LAB_DIR/other-sip.txt
printf '%s\r\n' "OPTIONS sip:$EDGE_IP SIP/2.0" \
    "Via: SIP/2.0/UDP $LAN_UA2_IP:5070;branch=z9hG4bK-t51-other;rport" \
    "From: <sip:other@$SIP_DOMAIN>;tag=t51" "To: <sip:$EDGE_IP>" \
    "Call-ID: t51-other@$LAN_UA2_IP" "CSeq: 1 OPTIONS" "Max-Forwards: 70" \
    "Content-Length: 0" "" >"$OTHER_SIP"
OWN_SIP=$LAB_DIR/own-sip.txt
sed -e "s/$LAN_UA2_IP/$LAN_UA_IP/g" -e 's/t51-other/t51-own/g' "$OTHER_SIP" >"$OWN_SIP"

q0=$(queued)
send_from "$LAN_UA_IP" "$NOT_SIP"
send_from "$LAN_UA2_IP" "$OTHER_SIP"
send_from "$LAN_UA_IP" "$OWN_SIP"
wait_for "[[ \$(queued) -ge $((q0 + 3)) ]]" 5 "the three datagrams in the queue" ||
    die "the NFQUEUE rule matched $(( $(queued) - q0 )) of 3 datagrams"
want_a=$(hex "$NOT_SIP")
want_b=$(hex "$OTHER_SIP")
# (grep on a here-string: grep -q in a pipe would SIGPIPE payloads_from)
wait_for "grep -qx '$want_b' <<<\"\$(payloads_from)\"" 5 "the other host's SIP in wan" ||
    die "SIP from $LAN_UA2_IP (not in ua.allow) did not reach wan unchanged: $(payloads_from)"
grep -qx "$want_a" <<<"$(payloads_from)" ||
    die "non-SIP UDP from $LAN_UA_IP did not reach wan unchanged: $(payloads_from)"
log_step "non-SIP UDP and SIP from outside ua.allow went through the queue and reached wan byte for byte"

# The control: the allowed UA's OPTIONS was taken, not passed: sipkeep itself
# refuses it (the UA has not registered through it).
sk_wait_log 'event=request_refused method=OPTIONS status=403' 5 ||
    die "sipkeep did not take the allowed UA's OPTIONS"
tmode_capture_stop
! grep -qx "$(hex "$OWN_SIP")" <<<"$(payloads_from)" || die "the allowed UA's SIP was passed, not taken"
[[ "$(payloads_from | wc -l)" -eq 2 ]] ||
    die "wan saw $(payloads_from | wc -l) datagrams to the edge, expected 2"
log_step "control: the allowed UA's SIP was taken by sipkeep, wan saw only the 2 passed datagrams"

sk_stop

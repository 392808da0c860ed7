#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sipkeep soak: malformed datagrams from the LAN to sipkeep, RATE per second
# for SECONDS, cycling through the kinds t_14_proxy_malformed_burst.sh sends
# (random bytes, truncated SIP, an oversized INVITE, a lying Content-Length,
# a response with a negative Content-Length).  Each from a fresh source port
# of this host (bash's /dev/udp); dd makes each one a single write, so a
# single datagram.  Runs inside the lan namespace (soak.sh starts it there).
# Usage: malformed.sh RATE SECONDS DEST_IP DEST_PORT DOMAIN
set -u
rate=$1 secs=$2 ip=$3 port=$4 domain=$5
big=$(head -c 20000 /dev/zero | tr '\0' 'A')
gap=$(awk -v r="$rate" 'BEGIN { printf "%.3f", 1 / r }')
end=$(( $(date +%s%N) + secs * 1000000000 ))
i=0
while (( $(date +%s%N) < end )); do
    case $((i % 5)) in
        0) head -c 200 /dev/urandom ;;
        1) printf 'REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.77.10;bra' "$domain" ;;
        2) printf 'INVITE sip:x@%s SIP/2.0\r\n%s\r\n\r\n' "$domain" "$big" ;;
        3) printf 'OPTIONS sip:x@%s SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.77.10:5099;branch=z9hG4bKsoak%d\r\nFrom: <sip:x@%s>;tag=1\r\nTo: <sip:x@%s>\r\nCall-ID: soak%d@b\r\nCSeq: 1 OPTIONS\r\nContent-Length: 99999\r\n\r\nshort' \
            "$domain" "$i" "$domain" "$domain" "$i" ;;
        4) printf 'SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n' ;;
    esac | dd bs=65000 count=1 iflag=fullblock status=none >"/dev/udp/$ip/$port" 2>/dev/null || true
    i=$((i + 1))
    sleep "$gap"
done
echo "sent $i malformed datagrams in ${secs}s"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Where a first REGISTER's time goes: compare.sh's first-REGISTER pass (its
# lab, phones, rate and middleboxes), with the edge's side captured too
# (tcpdump in the wan namespace: TCP to the edge, UDP between the edge and
# the registrar), then per phone, from the two captures (reg_phases.py):
#   in->SYN          the phone's REGISTER in, the flow's SYN out (sipkeep)
#   SYNACK->REG up   connected, the REGISTER sent upstream (sipkeep: the
#                    instance-id batch, the loop)
#   edge in->fwd     REGISTER at the edge, forwarded to the registrar
#   registrar        the registrar's answer time
#   edge 200 relay   the registrar's 200 at the edge, the edge's 200 out on
#                    the phone's connection
#   200->phone       the edge's 200 in, the phone's 200 out
# as median / p90 / p99 / max, the slowest 1 %'s mean of each, and the means
# by arrival time (REG_PHASES_BUCKET seconds).  sipkeep runs with
# slowsync.c's shim at 0 ms, which only logs each fsync/fdatasync and its
# duration; the Udp RcvbufErrors of the router's and the wan namespace over
# the pass are printed.
# Diagnosis only: no figure of make bench comes from here.
#
# Usage: tests/bench/reg_phases.sh SIPKEEP_BINARY   (as root, under the bench
#        lock; about 30 s)
# Knobs: compare.sh's COMPARE_UAS, COMPARE_RATE, COMPARE_KAM_SHM;
#        REG_PHASES_VARIANTS ("kamailio sipkeep"), REG_PHASES_OUT (a new
#        directory under /tmp: the captures, the sync log, the tables),
#        REG_PHASES_BUCKET (0.05 s).
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 SIPKEEP_BINARY" >&2; exit 2; }
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
COMPARE_LIB_ONLY=1
# shellcheck source=tests/bench/compare.sh
. "$BENCH_DIR/compare.sh" "$1"
VARIANTS=${REG_PHASES_VARIANTS:-kamailio sipkeep}
OUT=${REG_PHASES_OUT:-$(mktemp -d /tmp/reg-phases.XXXXXX)}
mkdir -p "$OUT"

lab_up
scale_setup
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$LAB_DIR/slowsync.so" "$BENCH_DIR/slowsync.c" ||
    die "cannot build the sync-logging shim"
for v in $VARIANTS; do
    kam_fresh
    users "$LAB_DIR/$v.csv" "${v}u" 0 $(( COMPARE_UAS - 1 ))
    case "$v" in
        kamailio) obproxy_start ;;
        sipkeep)
            rm -rf "$LAB_DIR/sipkeep-state" "$OUT/syncs.log"
            SK_LOG_LEVEL=info bench_config "$LAB_DIR/sipkeep.yaml"
            SK_WRAP="env LD_PRELOAD=$LAB_DIR/slowsync.so SLOWSYNC_MS=0 SLOWSYNC_LOG=$OUT/syncs.log" \
                sk_start "$LAB_DIR/sipkeep.yaml" ;;
        *) die "REG_PHASES_VARIANTS: kamailio or sipkeep, not '$v'" ;;
    esac
    START_LOG=$OUT/$v-wan.log start_in_ns "$NS_WAN" tcpdump -i any -n -U -s 0 -B 65536 \
        -w "$OUT/$v-wan.pcap" "tcp port $EDGE_TCP_PORT or (udp and host $REGISTRAR_IP)"
    cap=$LAST_PID
    wait_for "grep -q 'listening on' '$OUT/$v-wan.log'" 10 "tcpdump to listen" ||
        die "tcpdump did not start: $(cat "$OUT/$v-wan.log")"
    d0=$(udp_drops "$NS_ROUTER") w0=$(udp_drops "$NS_WAN")
    reg_pass "$v-reg" "$ROUTER_LAN_IP:5060" "$LAB_DIR/$v.csv" 1 "$COMPARE_UAS" "$COMPARE_RATE" ||
        log_step "WARNING: some REGISTERs failed (see $v-reg/)"
    sleep 0.3   # the last packets
    stop_pid "$cap" 3
    cp "$LAB_DIR/$v-reg/phone.pcap" "$OUT/$v-lan.pcap"
    read -r n med p99 _ < <(rtt_stats "$LAB_DIR/$v-reg/rtt.csv")
    {
        echo "== $v: $n answered, first REGISTER median $(ms "$med") / p99 $(ms "$p99") ms," \
            "$(reg_rate "$v-reg")/s; UDP datagrams dropped for a full receive queue:" \
            "$(( $(udp_drops "$NS_ROUTER") - d0 )) in the router, $(( $(udp_drops "$NS_WAN") - w0 ))" \
            "at the edge and registrar"
        [[ "$v" != sipkeep ]] || awk '$3 ~ /\/instance-ids(\.tmp)?$/ { print $2 }' "$OUT/syncs.log" |
            sort -n | awk '{ v[NR] = $1 } END { if (!NR) exit; p = int(NR * 0.99); if (p < 1) p = 1
                printf "instance-ids syncs: %d, ms median %.2f / p99 %.2f / max %.2f\n",
                    NR, v[int((NR + 1) / 2)], v[p], v[NR] }'
        python3 "$BENCH_DIR/reg_phases.py" "$OUT/$v-lan.pcap" "$OUT/$v-wan.pcap" "$EDGE_IP" \
            "$REGISTRAR_IP" "${REG_PHASES_BUCKET:-0.05}"
    } | tee -a "$OUT/phases.txt"
    case "$v" in
        kamailio) stop_pid "$OBP_PID" 10; OBP_PID= ;;
        sipkeep) sk_problems "$SK_LOG"; sk_bench_stop sipkeep-phases ;;
    esac
done
echo "captures and tables in $OUT"

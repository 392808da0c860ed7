#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Edge restart under many flows (issue 14 item 2, recovery pacing), in the
# scale bench lab (tests/bench/scale.sh): RESTART_N phones register through one
# sipkeep, each its own flow to the lab's Kamailio edge; once all are active the
# edge is stopped (SIGTERM: it closes every connection) and started again at
# once.  Every flow was working, so RFC 5626 §4.5 row 0 retries it at once;
# sipkeep paces those retries per edge address (recovery.connect_rate, default
# 200/s, burst 20).  Per transport (TCP, TLS) and mode:
#   paced     the defaults;
#   unpaced   recovery.connect_rate: 0, the behaviour before issue 14 (every
#             flow's retry at once; those refused while the edge is still
#             down back off 30-60 s, §4.5 row 1).
# Prints per run: flows active again / N, seconds from the stop until all N
# flows are active (registered) again, the edge's new connections (SYNs counted
# on the edge's side, a capture in its namespace): in all, and the peak per
# second and per 100 ms; sipkeep's CPU seconds from the stop to the end; for
# TLS the handshakes sipkeep made meanwhile, resumed / full (sipkeep metrics:
# a restarted Kamailio has new ticket keys and refuses the old sessions, but
# the first flows back make full handshakes whose tickets the later flows
# resume).
# Figures only, never asserts on speed; exits 1 only when the lab cannot be set
# up or sipkeep dies.
#
# Usage: tests/bench/edge_restart.sh SIPKEEP_BINARY   (as root; make bench runs it
#        through tests/bench/run.sh; BENCH_EDGE_RESTART=0 skips it)
# Knobs: RESTART_N (10000), RESTART_TRANSPORTS ("tcp tls"), RESTART_MODES
#        ("paced unpaced"), RESTART_WAIT (240 s at most for the flows to come
#        back), SCALE_TCP_RATE / SCALE_TLS_RATE (first REGISTERs per second,
#        scale.sh's), BENCH_KEEP=DIR.  About 2 minutes per run at 10,000 on 2
#        cores (registering 10,000 TLS flows alone takes 40 s at 250/s).
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 SIPKEEP_BINARY" >&2; exit 2; }
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
RESTART_N=${RESTART_N:-10000}
RESTART_TRANSPORTS=${RESTART_TRANSPORTS:-tcp tls}
RESTART_MODES=${RESTART_MODES:-paced unpaced}
RESTART_WAIT=${RESTART_WAIT:-240}
SCALE_LIB_ONLY=1
# shellcheck source=tests/bench/scale.sh
. "$BENCH_DIR/scale.sh" "$1" "$RESTART_N"

declare -A ACTIVE SECS SECS95 SYNS PEAK_S PEAK_100 CPU HS_RES HS_FULL

# syn_cap_start PCAP PORT / syn_cap_stop: new connections to the edge, seen in
# its own namespace (SYN without ACK: every connect attempt, refused ones too).
SYN_CAP_PID=
syn_cap_start() {
    START_LOG=$1.log start_in_ns "$NS_WAN" tcpdump -i any -n -U -s 96 -B 16384 -Z root -w "$1" \
        "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst host $EDGE_IP and dst port $2"
    SYN_CAP_PID=$LAST_PID
    wait_for "grep -q 'listening on' '$1.log'" 10 "tcpdump in wan" ||
        die "tcpdump did not start: $(cat "$1.log")"
}
syn_cap_stop() {
    sleep 0.3
    stop_pid "$SYN_CAP_PID" 3
    SYN_CAP_PID=
}

# syn_stats PCAP: "total peak-per-second peak-per-100ms" (windows aligned on the
# first SYN).
syn_stats() {
    tcpdump -r "$1" -n -tt 2>/dev/null | awk '
        { t = $1 + 0; if (!n++) t0 = t; s[int(t - t0)]++; d[int((t - t0) * 10)]++ }
        END { for (k in s) if (s[k] > ps) ps = s[k]; for (k in d) if (d[k] > pd) pd = d[k]
              printf "%d %d %d\n", n, ps, pd }'
}

# tls_hs resumed|false: sipkeep's TLS handshakes so far (0 without metrics).
tls_hs() {
    local v
    v=$(metric_now sipkeep_tls_handshakes_total "resumed=\"$1\"")
    [[ "$v" == n/a || -z "$v" ]] && v=0
    echo "$v"
}

# restart_run tcp|tls paced|unpaced
restart_run() {
    local tr=$1 mode=$2 name=$1-$2 rate proxy port extra='' csv c0 c1 t0 t1 t95= a seen_down=0
    local h0r h0f
    if [[ "$tr" == tls ]]; then
        rate=$SCALE_TLS_RATE proxy="sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT" port=$EDGE_TLS_PORT
        extra="    tls: { ca_file: $CA_FILE, verify: true }"
    else
        rate=$SCALE_TCP_RATE proxy="sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp" port=$EDGE_TCP_PORT
    fi
    if [[ "$mode" == unpaced ]]; then
        extra="${extra:+$extra
}    recovery: { connect_rate: 0 }"
    fi
    log_step "== $name: $RESTART_N phones over $tr flows, then the edge restarts ($mode)"
    kam_fresh "$tr"
    rm -rf "$LAB_DIR/sipkeep-state"
    csv=$LAB_DIR/$name.csv
    users "$csv" "r${tr}${mode:0:1}u" 0 $(( RESTART_N - 1 ))
    SK_LOG_LEVEL=info SK_EXTRA_SERVICE=$extra bench_config "$LAB_DIR/$name.yaml" "$proxy"
    sk_start "$LAB_DIR/$name.yaml"
    reg_pass "$name-reg" "$ROUTER_LAN_IP:5060" "$csv" 1 "$RESTART_N" "$rate" ||
        log_step "WARNING: some REGISTERs failed (see $name-reg/)"
    wait_flows "$RESTART_N" 120
    sk_alive "$RESTART_N registrations"
    # §4.5: a flow is working once a keep-alive was answered after its
    # registration (the first ping comes at 80-100 % of the Flow-Timer); only
    # a working flow's death is retried at once (row 0), which is the storm.
    log_step "$name: waiting $(( FLOW_TIMER + 3 )) s for every flow's first pong"
    sleep $(( FLOW_TIMER + 3 ))

    syn_cap_start "$LAB_DIR/$name-syn.pcap" "$port"
    h0r=$(tls_hs true); h0f=$(tls_hs false)
    c0=$(cpu_ticks); t0=$(date +%s%N)
    kam_stop edge
    if [[ "$tr" == tls ]]; then
        scale_kam_start edge -A ONE_TCP_WORKER
    else
        scale_kam_start edge
    fi
    log_step "$name: edge back after $(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
    # Until every flow is active again (having seen them go down first).
    t1=
    while (( ($(date +%s%N) - t0) / 1000000000 < RESTART_WAIT )); do
        a=$(metric_now sipkeep_flows 'state="active"')
        [[ "$a" == n/a ]] && a=0
        (( a < RESTART_N )) && seen_down=1
        if [[ -z "$t95" ]] && (( seen_down && a * 100 >= RESTART_N * 95 )); then t95=$(date +%s%N); fi
        if (( seen_down && a >= RESTART_N )); then t1=$(date +%s%N); break; fi
        sleep 0.25
    done
    c1=$(cpu_ticks)
    sk_alive "the edge restart"
    syn_cap_stop
    ACTIVE[$name]=$(metric_now sipkeep_flows 'state="active"')
    if [[ -n "$t1" ]]; then
        SECS[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    else
        SECS[$name]=">$RESTART_WAIT"
    fi
    SECS95[$name]=$(awk -v a="$t0" -v b="${t95:-0}" 'BEGIN { if (b > 0) printf "%.1f", (b - a) / 1e9; else print "-" }')
    read -r "SYNS[$name]" "PEAK_S[$name]" "PEAK_100[$name]" < <(syn_stats "$LAB_DIR/$name-syn.pcap")
    rm -f "$LAB_DIR/$name-syn.pcap"
    CPU[$name]=$(awk -v c=$(( c1 - c0 )) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", c / hz }')
    if [[ "$tr" == tls ]]; then
        HS_RES[$name]=$(( $(tls_hs true) - h0r ))
        HS_FULL[$name]=$(( $(tls_hs false) - h0f ))
    else
        HS_RES[$name]=- HS_FULL[$name]=-
    fi
    log_step "$name: ${ACTIVE[$name]}/$RESTART_N active after ${SECS[$name]} s (95 % after ${SECS95[$name]} s), SYNs ${SYNS[$name]} (peak ${PEAK_S[$name]}/s, ${PEAK_100[$name]}/100 ms), CPU ${CPU[$name]} s"
    # (|| true: its grep | head may die of SIGPIPE under pipefail when the
    # log has many warnings, which must not end the run)
    sk_problems "$SK_LOG" || true
    sk_bench_stop "sipkeep-$name"
}

lab_up
ns_hosts "$NS_ROUTER" "$EDGE_IP $EDGE_TLS_NAME"
scale_setup
for tr in $RESTART_TRANSPORTS; do
    for mode in $RESTART_MODES; do
        restart_run "$tr" "$mode"
    done
done

echo
echo "edge restart under $RESTART_N flows ($(nproc) cores, $("$SIPKEEP" --version 2>/dev/null | head -n 1), Kamailio $(kamailio -v 2>/dev/null | awk 'NR == 1 { print $3 }'))"
echo "  the edge stopped (closing every flow) and started again at once; back: seconds from the stop until all flows are"
echo "  registered again (95%: until 95 % were; the rest are mostly retries refused while the edge was down, which wait"
echo "  the 30-60 s of RFC 5626 §4.5 row 1); SYNs: new connections the edge saw (refused ones too), peak per second / per 100 ms;"
echo "  CPU: sipkeep's, from the stop until all were back; TLS handshakes by sipkeep meanwhile, resumed / full"
echo "  paced: recovery.connect_rate 200/s, connect_burst 20 (defaults); unpaced: connect_rate 0"
printf '%-4s %-8s %13s %7s %7s %7s %7s %8s %7s %15s\n' flow mode active 95%-s back-s SYNs "peak/s" "peak/.1s" "CPU-s" "TLS res/full"
for tr in $RESTART_TRANSPORTS; do
    for mode in $RESTART_MODES; do
        n=$tr-$mode
        printf '%-4s %-8s %13s %7s %7s %7s %7s %8s %7s %15s\n' "$tr" "$mode" "${ACTIVE[$n]}/$RESTART_N" \
            "${SECS95[$n]}" "${SECS[$n]}" "${SYNS[$n]}" "${PEAK_S[$n]}" "${PEAK_100[$n]}" "${CPU[$n]}" \
            "${HS_RES[$n]} / ${HS_FULL[$n]}"
    done
done

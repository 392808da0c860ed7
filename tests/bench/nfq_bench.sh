#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sipkeep transparent-mode benchmark (NFQUEUE path), in the e2e lab
# (tests/e2e/lib.sh), with proxy_bench.sh's helpers (reg_pass, rtt_stats...).
# Prints figures only; nothing here passes or fails on speed.  It exits 1 only
# when the lab cannot be set up or the traffic it measures fails outright.
#
# Usage: tests/bench/nfq_bench.sh SIPKEEP_BINARY   (as root; about 30 s;
#        make bench runs it through tests/bench/run.sh)
#
#  1. REGISTER latency on the phones' wire (lan eth0, tcpdump), NFQ_BENCH_UAS
#     phones at NFQ_BENCH_RATE/s, a first REGISTER (sipkeep opens the phone's
#     TCP flow) and a refresh (over that flow) each: directly to the edge over
#     UDP (no sipkeep), through sipkeep in proxy mode (phones send to
#     $ROUTER_LAN_IP:5060), and through sipkeep in transparent mode (phones
#     send to the edge, the router's NFQUEUE hands them to sipkeep).
#     "transparent - proxy" is what the queue path adds per REGISTER.
#  2. Packets sipkeep takes from the queue, on one core: a flood of
#     NFQ_BENCH_PKTS SIP OPTIONS (each its own branch and Call-ID) from lan
#     through the router to an intercepted address that routes nowhere
#     (blackhole in the router, so nothing downstream adds load), sent as
#     fast as one socket goes:
#       pass  from $LAN_UA2_IP, outside ua.allow: parsed, verdict ACCEPT;
#       take  from the allowed phone: verdict DROP, the router handles it
#             (a 403, no registration through sipkeep) and answers from the
#             intercepted address (IP_TRANSPARENT socket).
#     "read" is sipkeep's own count (event=intercept_counts at its stop);
#     what it did not read was accepted by the kernel past a full queue or
#     socket buffer (fail-open).  Per core = read / sipkeep's CPU time (utime
#     + stime: the recv and verdict syscalls included).
#
# Knobs: NFQ_BENCH_UAS (200), NFQ_BENCH_RATE (100 /s), NFQ_BENCH_PKTS (100000),
# BENCH_KEEP=DIR (copy the lab dir there).
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 SIPKEEP_BINARY" >&2; exit 2; }
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
LAB_MAX_SECONDS=${LAB_MAX_SECONDS:-300}
BENCH_LIB_ONLY=1
# shellcheck source=proxy_bench.sh
. "$BENCH_DIR/proxy_bench.sh" "$1"
# shellcheck source=../e2e/tmode_lib.sh
. "$BENCH_DIR/../e2e/tmode_lib.sh"

NFQ_BENCH_UAS=${NFQ_BENCH_UAS:-200}
NFQ_BENCH_RATE=${NFQ_BENCH_RATE:-100}
NFQ_BENCH_PKTS=${NFQ_BENCH_PKTS:-100000}
SINK_IP=198.51.100.99   # intercepted, blackholed in the router
CLK_TCK=$(getconf CLK_TCK)

# tr_config FILE: transparent mode for the phone, also intercepting the sink.
tr_config() {
    SK_LOG_LEVEL=info SK_ALLOW=$PHONE_IP/32 SK_EXTRA_SERVICE="    intercept: [\"$SINK_IP:5060\"]" \
        tmode_config "$1"
}

# cpu_ticks: sipkeep's utime + stime, in clock ticks.
cpu_ticks() {
    local pid
    pid=$(sk_daemon_pid) || die "sipkeep is not running"
    # comm is "(sipkeep)": no spaces, so fields 14 and 15 are utime and stime
    awk '{ print $14 + $15 }' "/proc/$pid/stat"
}

# flood SRC_IP: NFQ_BENCH_PKTS OPTIONS from SRC_IP to the sink, then
# wait until the queue has drained (sipkeep's CPU time stops moving).  Sets
# FLOOD_OUT (the tool's "sent N in S s") and FLOOD_CPU (seconds).
FLOOD_OUT=
FLOOD_CPU=
flood() {
    local src=$1 c0 c1
    sed -e "s/@SRC@/$src/g" "$LAB_DIR/options.tmpl" >"$LAB_DIR/options-$src.tmpl"
    c0=$(cpu_ticks)
    FLOOD_OUT=$(ns_exec "$NS_LAN" "$LAB_DIR/nfq_flood" "$src" "$SINK_IP" 5060 \
        "$NFQ_BENCH_PKTS" "$LAB_DIR/options-$src.tmpl") || die "the flood tool failed: $FLOOD_OUT"
    c1=-1
    while [[ "$c1" != "$(cpu_ticks)" ]]; do
        c1=$(cpu_ticks)
        sleep 0.3
    done
    FLOOD_CPU=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
}

# flood_line NAME LOG KEY: one result line; sipkeep's own count of the packets
# it read (KEY=taken|passed of its event=intercept_counts line at the stop,
# in LOG), the rest of the sent ones were accepted unseen (fail-open).
flood_line() {
    local name=$1 log=$2 key=$3 seen sent
    seen=$(grep -o "event=intercept_counts .*" "$log" | tail -n 1 | grep -o "$key=[0-9]*" | cut -d= -f2)
    sent=$(awk '{ print $2 }' <<<"$FLOOD_OUT")
    printf '%-5s %s; sipkeep read %s (%s), fail-open past a full queue %d; CPU %s s -> %s packets/s on one core\n' \
        "$name" "$FLOOD_OUT" "${seen:-?}" "$key" $(( sent - ${seen:-0} )) "$FLOOD_CPU" \
        "$(awk -v n="${seen:-0}" -v c="$FLOOD_CPU" 'BEGIN { if (c > 0) printf "%.0f", n / c; else print "n/a" }')"
}

# lat NAME: "median/p99 ms (n)" of a reg_pass.
lat() {
    local n med p99
    read -r n med p99 _ < <(rtt_stats "$LAB_DIR/$1/rtt.csv")
    if [[ "$n" == 0 ]]; then echo "n/a"; return; fi
    awk -v m="$med" -v p="$p99" -v n="$n" 'BEGIN { printf "%.3f / %.3f ms (%d)", m / 1000, p / 1000, n }'
}
med_us() {
    rtt_stats "$LAB_DIR/$1/rtt.csv" | awk '{ print $2 }'
}
added() { # NAME_A NAME_B: median A - median B in ms
    awk -v a="$(med_us "$1")" -v b="$(med_us "$2")" \
        'BEGIN { if (a == "-" || b == "-") print "n/a"; else printf "%+.3f ms", (a - b) / 1000 }'
}

N=$NFQ_BENCH_UAS
R=$NFQ_BENCH_RATE
lab_up
bench_kam_start registrar
bench_kam_start edge
bench_setup
cc -std=c11 -D_GNU_SOURCE -O2 -o "$LAB_DIR/nfq_flood" "$BENCH_DIR/nfq_bench.c" ||
    die "cannot build the flood tool"
ns_exec "$NS_ROUTER" ip route add blackhole "$SINK_IP/32"
printf '%s\r\n' "OPTIONS sip:sink@$SINK_IP SIP/2.0" \
    "Via: SIP/2.0/UDP @SRC@:5099;branch=z9hG4bK-nfq-########;rport" \
    "From: <sip:bench@$SIP_DOMAIN>;tag=f########" "To: <sip:sink@$SINK_IP>" \
    "Call-ID: nfq-########@bench" "CSeq: 1 OPTIONS" "Max-Forwards: 70" \
    "Content-Length: 0" "" >"$LAB_DIR/options.tmpl"
users "$LAB_DIR/direct.csv" d 1 "$N"
users "$LAB_DIR/proxy.csv" p 1 "$N"
users "$LAB_DIR/tr.csv" t 1 "$N"

# 1. REGISTER latency: direct, proxy mode, transparent mode.
reg_pass direct-first "$EDGE_IP:$EDGE_UDP_PORT" "$LAB_DIR/direct.csv" 1 "$N" "$R" ||
    die "direct REGISTERs failed (see direct-first/)"
reg_pass direct-refresh "$EDGE_IP:$EDGE_UDP_PORT" "$LAB_DIR/direct.csv" 2 "$N" "$R" ||
    die "direct REGISTER refreshes failed"

SK_LOG_LEVEL=info bench_config "$LAB_DIR/proxy.yaml"
sk_start "$LAB_DIR/proxy.yaml"
reg_pass proxy-first "$ROUTER_LAN_IP:5060" "$LAB_DIR/proxy.csv" 1 "$N" "$R" ||
    log_step "WARNING: some first REGISTERs in proxy mode failed"
reg_pass proxy-refresh "$ROUTER_LAN_IP:5060" "$LAB_DIR/proxy.csv" 2 "$N" "$R" ||
    log_step "WARNING: some refreshes in proxy mode failed"
sk_bench_stop sipkeep-proxy

tr_config "$LAB_DIR/transparent.yaml"
SK_READY_EVENT=intercepting sk_start "$LAB_DIR/transparent.yaml"
reg_pass tr-first "$EDGE_IP:$EDGE_UDP_PORT" "$LAB_DIR/tr.csv" 1 "$N" "$R" ||
    log_step "WARNING: some first REGISTERs in transparent mode failed"
reg_pass tr-refresh "$EDGE_IP:$EDGE_UDP_PORT" "$LAB_DIR/tr.csv" 2 "$N" "$R" ||
    log_step "WARNING: some refreshes in transparent mode failed"
# the phones went through sipkeep, not directly: it registered them upstream
tr_regs=$(registered_count)
[[ "$tr_regs" -gt 0 ]] || die "transparent mode registered no phone (intercepted nothing?)"
log_step "transparent mode: sipkeep registered phones upstream (log: $tr_regs so far)"

# 2. The queue on one core: pass (this sipkeep took only REGISTERs so far),
# then take with a fresh sipkeep, so that its counters are the flood's.
flood "$LAN_UA2_IP"
sk_alive "the pass flood"
sk_problems "$SK_LOG"
sk_bench_stop sipkeep-transparent
pass_line=$(flood_line pass "$LAB_DIR/sipkeep-transparent.log" passed)
SK_READY_EVENT=intercepting sk_start "$LAB_DIR/transparent.yaml"
flood "$PHONE_IP"
sk_alive "the take flood"
sk_problems "$SK_LOG"
sk_bench_stop sipkeep-take
take_line=$(flood_line take "$LAB_DIR/sipkeep-take.log" taken)

echo "== transparent mode (NFQUEUE), $N phones at $R REGISTER/s; median / p99 (answered)"
printf '%-28s %-34s %s\n' "REGISTER" "first (opens the flow)" "refresh (over the flow)"
printf '%-28s %-34s %s\n' "direct to the edge (UDP)" "$(lat direct-first)" "$(lat direct-refresh)"
printf '%-28s %-34s %s\n' "proxy mode" "$(lat proxy-first)" "$(lat proxy-refresh)"
printf '%-28s %-34s %s\n' "transparent mode" "$(lat tr-first)" "$(lat tr-refresh)"
printf '%-28s %-34s %s\n' "transparent - proxy" "$(added tr-first proxy-first)" \
    "$(added tr-refresh proxy-refresh)"
echo "== the queue: $NFQ_BENCH_PKTS SIP OPTIONS, one socket in lan, as fast as it sends"
echo "$pass_line"
echo "$take_line"

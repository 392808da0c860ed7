#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sipkeep scale benchmark, in the e2e lab (tests/e2e/lib.sh): N legacy UAs
# register through one sipkeep to the lab's Kamailio edge + registrar, each UA
# its own binding and its own RFC 5626 flow, over TCP and over TLS, for every N
# given (default 100 1000 10000).  Prints one table row per transport and N.
# Figures only: nothing here passes or fails on speed; it exits 1 only when the
# lab cannot be set up or the traffic fails outright.
#
# Usage: tests/bench/scale.sh SIPKEEP_BINARY [N...]   (as root; make bench runs it
#        through tests/bench/run.sh; about 7 minutes for 100 1000 10000)
#
# Per transport and N, with a fresh sipkeep (log level info, empty state_dir) and
# a fresh edge + registrar (edge: kamailio/edge-bench.cfg, the e2e edge sized
# for 15,000 connections, SCALE_KAM_SHM MiB of shared memory):
#  1. N phones (sipp, one UDP socket in lan, an injection file of N users; see
#     proxy_bench.sh reg_pass) send their first REGISTER to sipkeep at
#     SCALE_TCP_RATE / SCALE_TLS_RATE per second: each opens a flow (connect,
#     TLS handshake, REGISTER with +sip.instance/reg-id, 200).  reg/s is the
#     rate the 200s came back at over the whole pass (answered / (last 200 -
#     first REGISTER)); "reg ms" is the phones' REGISTER -> 200 time on the wire.
#  2. Steady state: once all N flows are up, SCALE_IDLE seconds with nothing but
#     keep-alives (the edge's Flow-Timer, 20 s in the lab: a ping every 16-20 s
#     per flow, RFC 5626 §4.4.1): sipkeep's CPU (utime + stime from /proc) over
#     the window, in seconds and in % of one core, and keep-alives/s (sipkeep's
#     own counter, `sipkeep metrics`).
#  3. RSS (VmRSS) at steady state and per flow: (RSS_N - RSS_0) / N, RSS_0 being
#     sipkeep with no phone.
#  4. In-dialog latency with the N flows held: the far caller (wan) calls phone
#     0 and sends SCALE_INFOS INFOs in SCALE_INFO_CALLS dialogs at once, each
#     INFO SCALE_INFO_GAP_MS after the 200 of the one before (about 1,000 INFO
#     transactions/s in all); caller-side RTT on the wire, median and p99, minus
#     the same run with the phone registered directly at the edge (UDP through
#     the NAT, no sipkeep), measured once at the start: "added" (two runs a
#     minute apart on a shared 2-core machine: noisy, it can come out negative).
#  5. sipkeep's own time per INFO transaction, TCP flows only: a capture in the
#     router of both its sides (flow in -> phone out, phone in -> flow out),
#     free of the rest of the path's noise (own_rtts).
# For TLS the edge runs one TCP/TLS worker (kamailio/edge-bench.cfg: Kamailio 5.6.3
# with OpenSSL 3 crashes with two under this load), so TLS registrations/s and the
# latency with 10,000 TLS flows are bounded by the edge as much as by sipkeep.
# The edge and sipkeep are given literal IP addresses for TCP (no getaddrinfo in
# the event loop); TLS connects by name (edge.test, from the router's
# /etc/hosts, as t_11 does), so each TLS flow_start resolves it: a file lookup.
#
# Knobs: SCALE_TRANSPORTS ("tcp tls"), SCALE_TCP_RATE (500 /s), SCALE_TLS_RATE
# (250 /s), SCALE_IDLE (40 s), SCALE_INFOS (5000), SCALE_INFO_CALLS (6),
# SCALE_INFO_GAP_MS (3), SCALE_KAM_SHM (2048 MiB), BENCH_KEEP=DIR (keep the lab dir).
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 SIPKEEP_BINARY [N...]" >&2; exit 2; }
case "$1" in
    /*) SIPKEEP=$1 ;;
    *) SIPKEEP=$(pwd)/$1 ;;
esac
shift
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(100 1000 10000)

SCALE_TRANSPORTS=${SCALE_TRANSPORTS:-tcp tls}
SCALE_TCP_RATE=${SCALE_TCP_RATE:-500}
SCALE_TLS_RATE=${SCALE_TLS_RATE:-250}
SCALE_IDLE=${SCALE_IDLE:-40}
SCALE_INFOS=${SCALE_INFOS:-5000}
SCALE_INFO_CALLS=${SCALE_INFO_CALLS:-6}
SCALE_INFO_GAP_MS=${SCALE_INFO_GAP_MS:-3}
SCALE_KAM_SHM=${SCALE_KAM_SHM:-2048}

# One socket per flow in sipkeep and in the edge, for the largest N: raise the
# limits before anything starts (Kamailio and sipkeep inherit them).
max_n=0
for n in "${SIZES[@]}"; do (( n > max_n )) && max_n=$n; done
# Raising the hard limit needs CAP_SYS_RESOURCE (a container may lack it: then the
# hard limit it has must do; kamailio/edge-bench.cfg asks for 19,500).
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < max_n + 512 || $(ulimit -n) < 19500 )); then
    echo "scale bench: ulimit -n is $(ulimit -n): cannot hold $max_n flows" >&2
    exit 1
fi

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
LAB_MAX_SECONDS=${LAB_MAX_SECONDS:-1800}
# proxy_bench.sh's helpers (reg_pass, info_run, rtt_stats, sk_metrics, ...) and,
# through it, lib.sh and sk_lib.sh.
# shellcheck disable=SC2034 # read by proxy_bench.sh
BENCH_INFOS=$SCALE_INFOS BENCH_INFO_CALLS=$SCALE_INFO_CALLS BENCH_INFO_GAP_MS=$SCALE_INFO_GAP_MS
# shellcheck disable=SC2034 # read by proxy_bench.sh
BENCH_LIB_ONLY=1
# shellcheck source=tests/bench/proxy_bench.sh
. "$BENCH_DIR/proxy_bench.sh" "$SIPKEEP"

CLK_TCK=$(getconf CLK_TCK)

# scale_kam_start edge|registrar [KAMAILIO_ARG...]: Kamailio in wan with SCALE_KAM_SHM MiB of shared
# memory (10,000 TLS connections take well over 1 GiB in the edge); the edge
# runs kamailio/edge-bench.cfg around the e2e edge.cfg.
scale_kam_start() {
    local which=$1 cfg=$LAB_DIR/$1.cfg rundir=$LAB_DIR/$1.run ip port
    shift
    mkdir -p "$rundir"
    if [[ "$which" == edge ]]; then
        ip=$EDGE_IP port=$EDGE_UDP_PORT
        _kam_render edge.cfg "$LAB_DIR/edge-base.cfg"
        _kam_render edge-bench.cfg "$cfg"
        _kam_render edge-tls.cfg "$LAB_DIR/edge-tls.cfg"
    else
        ip=$REGISTRAR_IP port=$REGISTRAR_PORT
        _kam_render registrar.cfg "$cfg"
    fi
    ns_exec "$NS_WAN" kamailio -c -f "$cfg" "$@" >"$LAB_DIR/$which.check.log" 2>&1 ||
        { cat "$LAB_DIR/$which.check.log"; die "kamailio $which: config check failed"; }
    START_LOG=$LAB_DIR/$which.log start_in_ns "$NS_WAN" \
        kamailio -DD -E -f "$cfg" -P "$rundir/kamailio.pid" -Y "$rundir" -w "$rundir" \
        -m "$SCALE_KAM_SHM" -M 16 "$@"
    # shellcheck disable=SC2004  # an associative array: the key is $which's value
    _KAM_PID[$which]=$LAST_PID
    wait_for "kam_cmd $which core.version && _ns_listens $NS_WAN udp $ip:$port &&
        _ns_listens $NS_WAN tcp $ip:$port" 20 "kamailio $which up" ||
        die "kamailio $which did not start (see $which.log)"
}

# kam_fresh [tls]: a new registrar and edge (for TLS runs with one TCP/TLS
# worker: see kamailio/edge-bench.cfg), once the old ones have let go of
# their ports.
wan_kamailios() {
    local p
    for p in $(ip netns pids "$NS_WAN" 2>/dev/null); do
        [[ "$(cat "/proc/$p/comm" 2>/dev/null)" != kamailio ]] || echo "$p"
    done
}
kam_fresh() {
    kam_stop
    # shellcheck disable=SC2016  # wait_for evaluates it
    wait_for '[[ -z "$(wan_kamailios)" ]]' 30 "the old Kamailios to be gone" ||
        die "the old Kamailios are still there: $(wan_kamailios | tr '\n' ' ')"
    scale_kam_start registrar
    if [[ "${1:-}" == tls ]]; then
        scale_kam_start edge -A ONE_TCP_WORKER
    else
        scale_kam_start edge
    fi
}

# cpu_ticks: utime + stime of this lab's sipkeep, in clock ticks.
cpu_ticks() {
    local pid
    pid=$(sk_daemon_pid) || die "sipkeep is not running"
    # comm (field 2) has no spaces here; utime and stime are fields 14 and 15.
    awk '{ print $14 + $15 }' "/proc/$pid/stat"
}

# user_ticks: utime alone (field 14), to split the steady CPU into sipkeep's
# own code and the kernel's (sending a keep-alive through the lab's veth pairs
# runs much of the peer's network stack on sipkeep's time).
user_ticks() {
    local pid
    pid=$(sk_daemon_pid) || die "sipkeep is not running"
    awk '{ print $14 }' "/proc/$pid/stat"
}

# metric_now NAME [LABELS]: one of sipkeep's metrics now ("n/a" without them).
metric_now() {
    local m=$LAB_DIR/metrics-now.txt
    sk_metrics "$m" || { echo n/a; return; }
    metric "$m" "$@"
}

# wait_flows N SECONDS: until sipkeep reports N active flows.
wait_flows() {
    local n=$1 secs=$2
    wait_for "_active=\$(metric_now sipkeep_flows 'state=\"active\"'); [[ \$_active == $n ]]" "$secs" \
        "$n active flows" || log_step "WARNING: $(metric_now sipkeep_flows 'state="active"') of $n flows active"
}

# reg_rate NAME: answered REGISTERs per second over the pass (NAME/rtt.csv:
# t_ms of each request from the first, rtt_ms).
reg_rate() {
    awk -F';' '$2 ~ /^[0-9.]+$/ { n++; e = $1 + $2; if (e > end) end = e }
        END { if (n && end > 0) printf "%.0f\n", n * 1000 / end; else print "-" }' "$LAB_DIR/$1/rtt.csv"
}

# span_rate CSV: requests per second over the file's requests (t_ms;rtt_ms
# lines in the order of their answers: first and last sent, not first and
# last line).
span_rate() {
    awk -F';' '$2 ~ /^[0-9.]+$/ { if (!n++ || $1 < t0) t0 = $1; if ($1 > t1) t1 = $1 }
        END { if (n > 1 && t1 > t0) printf "%.0f\n", (n - 1) * 1000 / (t1 - t0); else print "-" }' "$1"
}

# scale_setup: proxy_bench.sh's bench_setup, then a pause between the caller's
# ACK and its first INFO: the edge's and the registrar's workers may reorder
# two requests sent back to back, and sipp's UAS drops a dialog whose INFO
# arrives before the ACK (a benchmark artefact, not a loss).
scale_setup() {
    bench_setup
    sed -i 's|^  <label id="1"/>|  <pause milliseconds="100"/>\n  <label id="1"/>|' "$SIPP_SCN/info_uac.xml"
    grep -q '<pause milliseconds="100"/>' "$SIPP_SCN/info_uac.xml" || die "info_uac.xml: no label 1 to pause before"
}

# own_cap_start PCAP / own_cap_stop: a capture in the router of both of
# sipkeep's sides, the flow (TCP to the edge) and the phone (UDP), while an
# INFO run goes on; own_rtts PCAP OUT then writes, per INFO transaction, the
# time sipkeep itself took (INFO in from the flow -> out to the phone, plus
# 200 in from the phone -> out on the flow) as "0;ms" lines (rtt_stats' input).
# Free of the noise of the rest of the path; plain TCP flows only (TLS hides
# Call-ID and CSeq on the flow side).
OWN_CAP_PID=
own_cap_start() {
    local pcap=$1
    START_LOG=$pcap.log start_in_ns "$NS_ROUTER" tcpdump -i any -n -U --immediate-mode -s 0 -B 16384 \
        -Z root -w "$pcap" "(tcp and host $EDGE_IP and port $EDGE_TCP_PORT) or (udp and host $PHONE_IP and port $PHONE_PORT)"
    OWN_CAP_PID=$LAST_PID
    wait_for "grep -q 'listening on' '$pcap.log'" 10 "tcpdump in the router" ||
        die "tcpdump did not start: $(cat "$pcap.log")"
}
own_cap_stop() {
    sleep 0.3
    stop_pid "$OWN_CAP_PID" 3
    OWN_CAP_PID=
}
own_rtts() {
    tcpdump -r "$1" -n -tt -A -s 0 2>/dev/null | tr -d '\r' | awk -v edge="$EDGE_IP." -v out="$2" '
        function note() {
            if (kind == "" || cid == "" || cseq !~ / INFO$/) return
            k = cid "|" cseq
            if (kind == "req" && index(src, edge) == 1 && !(k in rin)) rin[k] = ts
            if (kind == "req" && index(src, edge) != 1 && !(k in rout)) rout[k] = ts
            if (kind == "resp" && index(dst, edge) != 1 && !(k in ain)) ain[k] = ts
            if (kind == "resp" && index(dst, edge) == 1 && !(k in aout)) aout[k] = ts
            kind = ""
        }
        / IP [0-9]/ && $1 ~ /^[0-9]+\.[0-9]+$/ {
            note(); ts = $1; kind = ""
            for (i = 2; i <= NF; i++) if ($i == "IP") { src = $(i + 1); dst = $(i + 3); break }
            next
        }
        /INFO sip:/ { note(); kind = "req"; cid = ""; cseq = "" }
        /SIP\/2\.0 200 / { note(); kind = "resp"; cid = ""; cseq = "" }
        /^Call-ID:/ { v = $0; sub(/^Call-ID: */, "", v); cid = v }
        /^CSeq:/ { v = $0; sub(/^CSeq: */, "", v); cseq = v; note() }
        END {
            for (k in rin) if ((k in rout) && (k in ain) && (k in aout))
                printf "0;%.3f\n", ((rout[k] - rin[k]) + (aout[k] - ain[k])) * 1000 > out
        }'
}

# One row per run, printed at the end.
ROWS=()
DIRECT_MED=- DIRECT_P99=- DIRECT_RATE=-

# scale_run tcp|tls N: one measurement (see the header).
scale_run() {
    local tr=$1 n=$2 name=$1-$2 rate proxy extra='' csv rss0 rssn c0 c1 k0 k1 t0 t1
    local reg_med reg_p99 info_med info_p99 info_rate active
    if [[ "$tr" == tls ]]; then
        rate=$SCALE_TLS_RATE proxy="sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT"
        extra="    tls: { ca_file: $CA_FILE, verify: true }"
    else
        rate=$SCALE_TCP_RATE proxy="sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp"
    fi
    log_step "== $name: $n phones over $tr flows at $rate REGISTER/s"
    kam_fresh "$tr"
    rm -rf "$LAB_DIR/sipkeep-state"
    csv=$LAB_DIR/$name.csv
    users "$csv" "${tr}u" 0 $(( n - 1 ))
    SK_LOG_LEVEL=info SK_EXTRA_SERVICE=$extra bench_config "$LAB_DIR/$name.yaml" "$proxy"
    sk_start "$LAB_DIR/$name.yaml"
    rss0=$(rss_kib)
    local r0 r1
    r0=$(cpu_ticks)
    reg_pass "$name-reg" "$ROUTER_LAN_IP:5060" "$csv" 1 "$n" "$rate" ||
        log_step "WARNING: some REGISTERs failed (see $name-reg/)"
    wait_flows "$n" 120
    sk_alive "$n registrations"
    r1=$(cpu_ticks)
    read -r _ reg_med reg_p99 _ < <(rtt_stats "$LAB_DIR/$name-reg/rtt.csv")

    # Steady state: keep-alives only.
    # The metrics reads stay outside the CPU window: rendering the page for N
    # flows is work of its own (measured once here: mc0..mc1), not keep-alives.
    local mc0 mc1
    mc0=$(cpu_ticks); k0=$(metric_now sipkeep_keepalives_sent_total); mc1=$(cpu_ticks)
    local u0 u1
    c0=$(cpu_ticks); u0=$(user_ticks); t0=$(date +%s%N)
    sleep "$SCALE_IDLE"
    c1=$(cpu_ticks); u1=$(user_ticks); t1=$(date +%s%N)
    k1=$(metric_now sipkeep_keepalives_sent_total)
    log_step "$name: one \`sipkeep metrics\` with $n flows costs sipkeep $(( (mc1 - mc0) * 1000 / CLK_TCK )) ms of CPU"
    rssn=$(rss_kib)
    active=$(metric_now sipkeep_flows 'state="active"')
    local secs cpu_s cpu_pct ka_s per_flow
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    cpu_s=$(awk -v c=$(( c1 - c0 )) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", c / hz }')
    cpu_pct=$(awk -v c="$cpu_s" -v s="$secs" 'BEGIN { printf "%.2f", 100 * c / s }')
    if [[ "$k0" == n/a || "$k1" == n/a ]]; then ka_s=-; else
        ka_s=$(awk -v a="$k0" -v b="$k1" -v s="$secs" 'BEGIN { printf "%.0f", (b - a) / s }')
    fi
    per_flow=$(awk -v a="$rssn" -v b="$rss0" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }')
    log_step "$name steady: RSS $rss0 -> $rssn KiB ($per_flow KiB/flow), CPU ${cpu_s}s (user $(awk -v c=$(( u1 - u0 )) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", c / hz }')s) in ${secs}s (${cpu_pct} %), $ka_s keep-alives/s, $active flows active"

    [[ "$tr" != tcp ]] || own_cap_start "$LAB_DIR/$name-own.pcap"
    info_run "$name-info" "${tr}u0000" || log_step "WARNING: the INFO run failed (see $name-info/)"
    local own_med=- own_p99=- own_n=0
    if [[ "$tr" == tcp ]]; then
        own_cap_stop
        own_rtts "$LAB_DIR/$name-own.pcap" "$LAB_DIR/$name-own.csv"
        read -r own_n own_med own_p99 _ < <(rtt_stats "$LAB_DIR/$name-own.csv")
        rm -f "$LAB_DIR/$name-own.pcap"
        log_step "$name: sipkeep's own time per INFO transaction (both ways) over $own_n: median $(ms "$own_med") ms, p99 $(ms "$own_p99") ms"
    fi
    read -r _ info_med info_p99 _ < <(rtt_stats "$LAB_DIR/$name-info/rtt.csv")
    info_rate=$(span_rate "$LAB_DIR/$name-info/rtt.csv")
    sk_problems "$SK_LOG"
    sk_bench_stop "sipkeep-$name"

    ROWS+=("$(printf '%-4s %6d %6s %6s %7s %7s %7s %8s %8s %6s %6s %5s %6s %8s %8s %8s %8s %6s %6s' \
        "$tr" "$n" "$active" "$(reg_rate "$name-reg")" \
        "$(awk -v c=$(( r1 - r0 )) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", c / hz }')" \
        "$(ms "$reg_med")" "$(ms "$reg_p99")" \
        "$(awk -v k="$rssn" 'BEGIN { printf "%.1f", k / 1024 }')" "$per_flow" \
        "$cpu_s" "$cpu_pct" "$ka_s" "$info_rate" "$(ms "$info_med")" "$(ms "$info_p99")" \
        "$(delta "$info_med" "$DIRECT_MED")" "$(delta "$info_p99" "$DIRECT_P99")" \
        "$(ms "$own_med")" "$(ms "$own_p99")")")
}

ms() {  # µs -> ms with µs precision
    if [[ "$1" == - ]]; then echo "-"; else awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'; fi
}
delta() {  # µs a - b -> ms, signed
    if [[ "$1" == - || "$2" == - ]]; then echo "-"; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", (a - b) / 1000 }'; fi
}

# compare.sh sources this file for its helpers only.
[[ -z "${SCALE_LIB_ONLY:-}" ]] || return 0

lab_up
ns_hosts "$NS_ROUTER" "$EDGE_IP $EDGE_TLS_NAME"
scale_setup
kam_fresh

# The floor: the same INFO run to a phone registered directly at the edge.
users "$LAB_DIR/dinfo.csv" dinfo 0 0
reg_pass direct-info-reg "$EDGE_IP:$EDGE_UDP_PORT" "$LAB_DIR/dinfo.csv" 1 1 1 ||
    die "direct REGISTER of the INFO phone failed"
# (Should an INFO go unanswered, times are taken over those answered, and the
# run says how many were.)
info_run direct-info dinfo0000 || log_step "WARNING: the direct INFO run had failures (see direct-info/)"
read -r _ DIRECT_MED DIRECT_P99 _ < <(rtt_stats "$LAB_DIR/direct-info/rtt.csv")
DIRECT_RATE=$(span_rate "$LAB_DIR/direct-info/rtt.csv")

for tr in $SCALE_TRANSPORTS; do
    for n in "${SIZES[@]}"; do
        scale_run "$tr" "$n"
    done
done

echo
echo "scale bench ($(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $("$SIPKEEP" --version 2>/dev/null | head -n 1); Kamailio $(kamailio -v 2>/dev/null | awk 'NR == 1 { print $3 }'))"
echo "  reg/s: first REGISTERs answered per second (offered: TCP $SCALE_TCP_RATE/s, TLS $SCALE_TLS_RATE/s); reg-CPU: sipkeep's CPU seconds for them all; reg ms: REGISTER -> 200 at the phone, median / p99"
echo "  steady: ${SCALE_IDLE}s of keep-alives only (Flow-Timer $FLOW_TIMER s); CPU of sipkeep over it; RSS at its end, per flow = (RSS - RSS with no phone) / N"
echo "  INFO: $SCALE_INFO_CALLS dialogs, ${SCALE_INFO_GAP_MS} ms between an INFO's 200 and the next; caller-side RTT ms; added = minus the direct floor ($(ms "$DIRECT_MED") / $(ms "$DIRECT_P99") ms at $DIRECT_RATE/s)"
printf '%-4s %6s %6s %6s %7s %7s %7s %8s %8s %6s %6s %5s %6s %8s %8s %8s %8s %6s %6s\n' \
    flow N active reg/s reg-CPU reg-med reg-p99 RSS-MiB KiB/flow "CPU-s" "CPU-%" "ka/s" "INFO/s" info-med info-p99 add-med add-p99 sk-med sk-p99
for r in "${ROWS[@]}"; do
    echo "$r"
done
echo "  sk-med, sk-p99: sipkeep's own time per INFO transaction (INFO flow -> phone plus 200 phone -> flow), from a capture in the router; TCP flows only"
echo "targets: 10,000 TLS flows < 350 MiB; < 8 KiB per TCP flow, < 32 KiB per TLS flow; steady CPU < 5 % of a core; added p99 < 1 ms at 1,000 msg/s"

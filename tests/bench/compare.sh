#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sipkeep peer comparison, in the e2e lab: the same legacy-UA traffic (sipp,
# N phones registering over UDP from one socket, then ~1,000 in-dialog INFO
# transactions/s to one of them) three ways, against the same Kamailio edge +
# registrar (fresh for each):
#   direct    the phones register with the edge themselves, UDP through the
#             NAT: no middlebox, the floor;
#   kamailio  Kamailio on the router as a plain local outbound proxy
#             (tests/e2e/kamailio/outbound-proxy-bench.cfg: stateful, Path +
#             Record-Route, every phone over one TCP connection to the edge):
#             the usual do-it-yourself answer;
#   sipkeep   sipkeep on the router, one RFC 5626 TCP flow per phone.
# Prints throughput (REGISTERs answered per second: the phones' first ones,
# which through sipkeep each open a flow, then a refresh of each), REGISTER and INFO times
# (median / p99 on the wire), the time the middlebox adds to an INFO, its
# memory (PSS summed over its processes, so Kamailio's shared memory counts
# once; RSS too) and CPU seconds over the run; then the ratios sipkeep/Kamailio
# and sipkeep/direct.  Figures only: it exits 1 only when the lab cannot be set
# up or the traffic fails outright.
#
# Usage: tests/bench/compare.sh SIPKEEP_BINARY   (as root; about 1 minute;
#        make bench runs it through tests/bench/run.sh)
# Knobs: COMPARE_UAS (5000), COMPARE_RATE (4000 REGISTER/s offered),
# COMPARE_KAM_SHM (256 MiB for the local Kamailio), and
# scale.sh's SCALE_INFOS, SCALE_INFO_CALLS, SCALE_INFO_GAP_MS; BENCH_KEEP=DIR.
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 SIPKEEP_BINARY" >&2; exit 2; }
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
COMPARE_UAS=${COMPARE_UAS:-5000}
COMPARE_RATE=${COMPARE_RATE:-4000}
# The local Kamailio's shared memory (MiB): its default, 64, runs out at 1,000
# INFO transactions/s ("could not allocate shared memory" in tm: each
# transaction waits 5 s after its 200), as proxy_bench.sh found for the edge.
COMPARE_KAM_SHM=${COMPARE_KAM_SHM:-256}
SCALE_LIB_ONLY=1
# shellcheck source=tests/bench/scale.sh
. "$BENCH_DIR/scale.sh" "$1" "$COMPARE_UAS"

OBP_PID=
# obproxy_start: Kamailio as the local outbound proxy in the router namespace.
obproxy_start() {
    local cfg=$LAB_DIR/obproxy.cfg rundir=$LAB_DIR/obproxy.run
    mkdir -p "$rundir"
    sed -e "s|%ROUTER_LAN_IP%|$ROUTER_LAN_IP|g" -e "s|%ROUTER_WAN_IP%|$ROUTER_WAN_IP|g" \
        -e "s|%EDGE_IP%|$EDGE_IP|g" -e "s|%EDGE_TCP_PORT%|$EDGE_TCP_PORT|g" \
        -e "s|%LAB_DIR%|$LAB_DIR|g" -e "s|%LAN_PREFIX3%|${LAN_UA_IP%.*}|g" \
        "$E2E_DIR/kamailio/outbound-proxy-bench.cfg" >"$cfg"
    ! grep -q '%[A-Z_0-9]*%' "$cfg" || die "unrendered placeholder in $cfg"
    ns_exec "$NS_ROUTER" kamailio -c -f "$cfg" >"$LAB_DIR/obproxy.check.log" 2>&1 ||
        { cat "$LAB_DIR/obproxy.check.log"; die "kamailio obproxy: config check failed"; }
    START_LOG=$LAB_DIR/obproxy.log start_in_ns "$NS_ROUTER" \
        kamailio -DD -E -f "$cfg" -P "$rundir/kamailio.pid" -Y "$rundir" -w "$rundir" \
        -m "$COMPARE_KAM_SHM"
    OBP_PID=$LAST_PID
    wait_for "_ns_listens $NS_ROUTER udp $ROUTER_LAN_IP:5060" 20 "the outbound proxy up" ||
        die "kamailio obproxy did not start (see obproxy.log)"
    log_step "kamailio as local outbound proxy up (pid $OBP_PID)"
}

# box_pids sipkeep|kamailio: the middlebox's processes in the router namespace.
box_pids() {
    local p
    for p in $(ip netns pids "$NS_ROUTER" 2>/dev/null); do
        [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == "$1" ]] && echo "$p"
    done
    return 0
}

# box_mem sipkeep|kamailio: "PSS_KIB RSS_KIB" summed over its processes.
box_mem() {
    local p pss=0 rss=0 a b
    for p in $(box_pids "$1"); do
        a=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        b=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        pss=$(( pss + ${a:-0} )) rss=$(( rss + ${b:-0} ))
    done
    echo "$pss $rss"
}

# box_cpu sipkeep|kamailio: utime + stime of its processes, in clock ticks.
box_cpu() {
    local p t=0 c
    for p in $(box_pids "$1"); do
        c=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$(( t + c ))
    done
    echo "$t"
}

# udp_drops NS: datagrams namespace NS dropped for a full receive queue
# (Udp RcvbufErrors): a process that lost the CPU for longer than its
# socket's queue lasts.  In the router: the middlebox's, each such REGISTER
# answered only after the phone's retransmission 500 ms later; in wan: the
# edge's and the registrar's (REGISTERs and 200s between them go over UDP,
# retransmitted by the edge's tm after 500 ms).
udp_drops() {
    # shellcheck disable=SC2016  # awk's fields
    ns_exec "$1" awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $6 }' /proc/net/snmp
}

declare -A REG_RATE REG_MED REG_P99 REF_RATE REF_MED REF_P99 INFO_RATE INFO_MED INFO_P99 PSS RSS CPU
# Passes whose traffic failed: their figures print as "-" (a pass with
# lost REGISTERs counts the phones' retransmissions and answers to them, and
# once gave 7,000/s "answered" with sub-ms times), and they are named
# under the table.
FAILED=()

# compare_run direct|kamailio|sipkeep
compare_run() {
    local v=$1 target=$ROUTER_LAN_IP:5060 csv=$LAB_DIR/$1.csv comm='' c0=0 c1=0 pss rss d0 w0
    log_step "== $v: $COMPARE_UAS phones, $COMPARE_RATE REGISTER/s offered"
    kam_fresh
    users "$csv" "${v}u" 0 $(( COMPARE_UAS - 1 ))
    case "$v" in
        direct) target=$EDGE_IP:$EDGE_UDP_PORT ;;
        kamailio) obproxy_start; comm=kamailio ;;
        sipkeep)
            rm -rf "$LAB_DIR/sipkeep-state"
            SK_LOG_LEVEL=info bench_config "$LAB_DIR/sipkeep.yaml"
            sk_start "$LAB_DIR/sipkeep.yaml"
            comm=sipkeep ;;
    esac
    [[ -z "$comm" ]] || c0=$(box_cpu "$comm")
    d0=$(udp_drops "$NS_ROUTER") w0=$(udp_drops "$NS_WAN")
    local reg_ok=1 ref_ok=1 info_ok=1
    reg_pass "$v-reg" "$target" "$csv" 1 "$COMPARE_UAS" "$COMPARE_RATE" ||
        { reg_ok=0; log_step "WARNING: some REGISTERs failed (see $v-reg/)"; }
    log_step "$v-reg: UDP datagrams dropped for a full receive queue: $(( $(udp_drops "$NS_ROUTER") - d0 ))" \
        "in the router, $(( $(udp_drops "$NS_WAN") - w0 )) at the edge and registrar"
    [[ "$v" != sipkeep ]] || wait_flows "$COMPARE_UAS" 60
    # The same phones again (CSeq 2): the steady state, over the flows
    # (sipkeep) or the connection (Kamailio) already there.
    reg_pass "$v-refresh" "$target" "$csv" 2 "$COMPARE_UAS" "$COMPARE_RATE" ||
        { ref_ok=0; log_step "WARNING: some refresh REGISTERs failed (see $v-refresh/)"; }
    info_run "$v-info" "${v}u0000" ||
        { info_ok=0; log_step "WARNING: the INFO run failed (see $v-info/)"; }
    read -r _ "REG_MED[$v]" "REG_P99[$v]" _ < <(rtt_stats "$LAB_DIR/$v-reg/rtt.csv")
    read -r _ "REF_MED[$v]" "REF_P99[$v]" _ < <(rtt_stats "$LAB_DIR/$v-refresh/rtt.csv")
    REF_RATE[$v]=$(reg_rate "$v-refresh")
    read -r _ "INFO_MED[$v]" "INFO_P99[$v]" _ < <(rtt_stats "$LAB_DIR/$v-info/rtt.csv")
    REG_RATE[$v]=$(reg_rate "$v-reg")
    INFO_RATE[$v]=$(span_rate "$LAB_DIR/$v-info/rtt.csv")
    (( reg_ok )) || { REG_RATE[$v]=- REG_MED[$v]=- REG_P99[$v]=-; FAILED+=("$v first REGISTERs"); }
    (( ref_ok )) || { REF_RATE[$v]=- REF_MED[$v]=- REF_P99[$v]=-; FAILED+=("$v refresh"); }
    (( info_ok )) || { INFO_RATE[$v]=- INFO_MED[$v]=- INFO_P99[$v]=-; FAILED+=("$v INFO"); }
    PSS[$v]=- RSS[$v]=- CPU[$v]=-
    if [[ -n "$comm" ]]; then
        c1=$(box_cpu "$comm")
        read -r pss rss < <(box_mem "$comm")
        PSS[$v]=$pss RSS[$v]=$rss
        CPU[$v]=$(awk -v c=$(( c1 - c0 )) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", c / hz }')
    fi
    case "$v" in
        kamailio) stop_pid "$OBP_PID" 10; OBP_PID= ;;
        sipkeep) sk_problems "$SK_LOG"; sk_bench_stop sipkeep-compare ;;
    esac
}

ratio() {  # a / b, two decimals, or "-"
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}
mib() {
    if [[ "$1" == - ]]; then echo -; else awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; fi
}

# tests/bench/reg_phases.sh uses the helpers above.
[[ -z "${COMPARE_LIB_ONLY:-}" ]] || return 0
lab_up
scale_setup
for v in direct kamailio sipkeep; do
    compare_run "$v"
done

echo
echo "peer comparison ($(nproc) cores, Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $("$SIPKEEP" --version 2>/dev/null | head -n 1), Kamailio $(kamailio -v 2>/dev/null | awk 'NR == 1 { print $3 }'))"
echo "  $COMPARE_UAS phones from one UDP socket, $COMPARE_RATE REGISTER/s offered; INFO: $SCALE_INFO_CALLS dialogs, ${SCALE_INFO_GAP_MS} ms gaps; times in ms on the wire, median / p99"
echo "  memory: PSS (RSS) of the middlebox's processes at the end (Kamailio: shared memory counted once in PSS); CPU: its seconds over the run"
printf '%-9s %7s %19s %7s %19s %7s %17s %17s %15s %7s\n' middlebox first/s "first REGISTER ms" \
    refr/s "refresh ms" INFO/s "INFO ms" "INFO added ms" "memory MiB" "CPU s"
for v in direct kamailio sipkeep; do
    printf '%-9s %7s %19s %7s %19s %7s %17s %17s %15s %7s\n' "$v" "${REG_RATE[$v]}" \
        "$(ms "${REG_MED[$v]}") / $(ms "${REG_P99[$v]}")" "${REF_RATE[$v]}" \
        "$(ms "${REF_MED[$v]}") / $(ms "${REF_P99[$v]}")" "${INFO_RATE[$v]}" \
        "$(ms "${INFO_MED[$v]}") / $(ms "${INFO_P99[$v]}")" \
        "$(delta "${INFO_MED[$v]}" "${INFO_MED[direct]}") / $(delta "${INFO_P99[$v]}" "${INFO_P99[direct]}")" \
        "$(mib "${PSS[$v]}") ($(mib "${RSS[$v]}"))" "${CPU[$v]}"
done
if [[ ${#FAILED[@]} -gt 0 ]]; then
    printf -v failed '%s, ' "${FAILED[@]}"
    echo "  FAILED, so shown as \"-\" (see the WARNINGs above): ${failed%, }"
fi
added() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else print a - b }'; }
printf 'ratios    sipkeep/kamailio: throughput first %s, refresh %s, INFO added median %s / p99 %s, memory (PSS) %s, CPU %s\n' \
    "$(ratio "${REG_RATE[sipkeep]}" "${REG_RATE[kamailio]}")" "$(ratio "${REF_RATE[sipkeep]}" "${REF_RATE[kamailio]}")" \
    "$(ratio "$(added "${INFO_MED[sipkeep]}" "${INFO_MED[direct]}")" "$(added "${INFO_MED[kamailio]}" "${INFO_MED[direct]}")")" \
    "$(ratio "$(added "${INFO_P99[sipkeep]}" "${INFO_P99[direct]}")" "$(added "${INFO_P99[kamailio]}" "${INFO_P99[direct]}")")" \
    "$(ratio "${PSS[sipkeep]}" "${PSS[kamailio]}")" "$(ratio "${CPU[sipkeep]}" "${CPU[kamailio]}")"
printf '          sipkeep/direct:   throughput first %s, refresh %s, REGISTER median first %s, refresh %s, INFO median %s / p99 %s\n' \
    "$(ratio "${REG_RATE[sipkeep]}" "${REG_RATE[direct]}")" "$(ratio "${REF_RATE[sipkeep]}" "${REF_RATE[direct]}")" \
    "$(ratio "${REG_MED[sipkeep]}" "${REG_MED[direct]}")" "$(ratio "${REF_MED[sipkeep]}" "${REF_MED[direct]}")" \
    "$(ratio "${INFO_MED[sipkeep]}" "${INFO_MED[direct]}")" "$(ratio "${INFO_P99[sipkeep]}" "${INFO_P99[direct]}")"

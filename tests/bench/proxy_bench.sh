#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sipkeep proxy-mode benchmark, in the e2e lab (tests/e2e/lib.sh: network
# namespaces lan/router/wan, a NAT, Kamailio edge proxy + registrar, sipp).
# Prints figures only; nothing here passes or fails on speed.  It exits 1 only
# when the lab cannot be set up or the traffic it measures fails outright.
#
# Usage: tests/bench/proxy_bench.sh SIPKEEP_BINARY   (as root; about 1 minute;
#        make bench runs it through tests/bench/run.sh)
#
# sipkeep runs in the router (proxy mode, log level info, flows to the edge).
#  1. REGISTER latency seen by the phones: one sipp UAC in lan, one UDP socket
#     playing BENCH_UAS-1 phones (injection file: AOR and Contact user per
#     phone), BENCH_REG_RATE REGISTERs/s, two passes:
#       first    each phone's first REGISTER; through sipkeep it opens the
#                phone's TCP flow (connect + REGISTER + 200);
#       refresh  the same phones again (CSeq 2, same Call-ID); through sipkeep
#                over the existing flows: sipkeep's steady-state cost;
#       restart  through sipkeep only, after a restart of sipkeep (CSeq 3): a
#                flow is opened again, but the phones' instance-ids are known
#                (no write of the instance-id store, which a new phone costs).
#     Both passes once directly to the edge over UDP through the NAT (no
#     sipkeep; other phones) and once through sipkeep ($ROUTER_LAN_IP:5060).
#  2. In-dialog latency: the far caller (wan) calls a phone, BENCH_INFO_CALLS
#     dialogs at once, and sends BENCH_INFOS INFOs in all, each dialog one after
#     the other (the next INFO when the last one's 200 is in, after
#     BENCH_INFO_GAP_MS); the phone (sipp UAS in lan) answers each with 200.
#     Once with the phone registered through sipkeep (INFOs over its flow),
#     once registered directly (edge -> NAT -> phone; registered just before,
#     and the INFOs keep the NAT mapping alive).
#  3. sipkeep's VmRSS with no phone, 1 phone, and BENCH_UAS phones, each its own
#     binding and its own TCP flow (one phone, then BENCH_UAS-1 more: those of 1);
#     per flow = (RSS_N - RSS_1) / (N - 1).  Flows are counted at the edge
#     (ESTABLISHED TCP connections from the NAT) and by `sipkeep metrics`
#     (bindings, flows per state, upstream REGISTERs, keep-alives) when the
#     binary has it, else by its log (event=registered, suppressed ones included).
#  4. The same with BENCH_TLS_UAS phones over TLS flows (sips:edge.test, the lab
#     CA), a fresh sipkeep.  BENCH_TLS_UAS=0 skips it.
#
# Times are taken on the wire (tcpdump, microsecond timestamps): REGISTER -> final
# response on the phones' side (lan eth0), INFO -> 200 on the caller's side (wan
# lo); sipp's own clock ticks in jiffies (4 ms here).  Median and p99 are
# nearest-rank; "added" is the difference of the medians (of the p99s).
# The lab's Kamailios get BENCH_KAM_SHM MiB of shared memory (see bench_kam_start).
#
# Knobs (environment): BENCH_UAS (1000), BENCH_REG_RATE (200 /s), BENCH_INFOS
# (1000), BENCH_INFO_CALLS (2), BENCH_INFO_GAP_MS (0), BENCH_TLS_UAS (100),
# BENCH_TLS_RATE (50 /s), BENCH_KAM_SHM (256), BENCH_KEEP=DIR (copy the lab
# dir, with every log, capture and sipp file, there).
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 SIPKEEP_BINARY" >&2; exit 2; }
case "$1" in
    /*) SIPKEEP=$1 ;;
    *) SIPKEEP=$(pwd)/$1 ;;
esac
export SIPKEEP

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
LAB_MAX_SECONDS=${LAB_MAX_SECONDS:-540}
E2E_ARTIFACTS=${BENCH_KEEP:-}
# shellcheck source=../e2e/lib.sh
. "$BENCH_DIR/../e2e/lib.sh"
# shellcheck source=../e2e/sk_lib.sh
. "$BENCH_DIR/../e2e/sk_lib.sh"

BENCH_UAS=${BENCH_UAS:-1000}
BENCH_REG_RATE=${BENCH_REG_RATE:-200}
BENCH_INFOS=${BENCH_INFOS:-1000}
BENCH_INFO_CALLS=${BENCH_INFO_CALLS:-2}
BENCH_INFO_GAP_MS=${BENCH_INFO_GAP_MS:-0}
BENCH_TLS_UAS=${BENCH_TLS_UAS:-100}
BENCH_TLS_RATE=${BENCH_TLS_RATE:-50}

# One socket per flow in sipkeep and in the edge: raise the descriptor limit
# before anything starts (Kamailio and sipkeep inherit it); when the hard limit
# is too low for BENCH_UAS flows, measure with fewer.
if (( $(ulimit -n) < 8192 )); then
    ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
if (( $(ulimit -n) < BENCH_UAS + 200 )); then
    echo "proxy bench: ulimit -n is $(ulimit -n) (hard limit): BENCH_UAS lowered from $BENCH_UAS to $(( $(ulimit -n) - 200 ))"
    BENCH_UAS=$(( $(ulimit -n) - 200 ))
fi
(( BENCH_UAS >= 2 )) || { echo "proxy bench: BENCH_UAS must be at least 2" >&2; exit 1; }

PHONE_IP=$LAN_UA_IP
PHONE_PORT=$LAN_UA_PORT
SIPP_SCN=            # set by bench_setup: rendered scenarios in $LAB_DIR

# ------------------------------------------------------------------ helpers

# run_logged SECONDS NS LOG CMD...: lib.sh's run_bounded with CMD's output in LOG.
# (Redirecting run_bounded itself would send the lab's trap messages, which run
# while it waits, to LOG as well.)
run_logged() {
    local secs=$1 ns=$2 log=$3 rc=0 pid
    shift 3
    timeout -k 5 "$secs" ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
    pid=$!
    _LAB_PIDS+=("$pid")
    wait "$pid" || rc=$?
    return "$rc"
}

# sk_daemon_pid: the PID of the sipkeep process inside this lab's router
# namespace (pgrep -x would also see another lab's sipkeep).
sk_daemon_pid() {
    local p
    for p in $(ip netns pids "$NS_ROUTER" 2>/dev/null); do
        if [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == sipkeep ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# rss_kib: VmRSS of this lab's sipkeep, in KiB.
rss_kib() {
    local pid
    pid=$(sk_daemon_pid) || die "sipkeep is not running"
    awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"
}

# fds_of_sipkeep: open file descriptors of this lab's sipkeep.
fds_of_sipkeep() {
    local pid
    pid=$(sk_daemon_pid) || { echo 0; return; }
    find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# edge_conns PORT: ESTABLISHED TCP connections from the NAT's address to the edge's PORT,
# as the edge's namespace sees them.
edge_conns() {
    ns_exec "$NS_WAN" ss -Htn state established "( sport = :$1 )" dst "$ROUTER_WAN_IP" |
        grep -c . || true
}

# registered_count: event=registered in sipkeep's log so far, lines plus the
# counts of its "event=log_suppressed name=registered" lines (sipkeep rate-limits
# repetitive info lines; a window still open is not counted yet).
registered_count() {
    awk '/ event=registered / { n++ }
        / event=log_suppressed / && / name=registered / {
            for (i = 1; i <= NF; i++) if ($i ~ /^count=/) { sub(/^count=/, "", $i); n += $i }
        }
        END { print n + 0 }' "$SK_LOG" 2>/dev/null || echo 0
}

# sk_metrics FILE: sipkeep's Prometheus metrics (sipkeep metrics, over the control
# socket sk_config configured) into FILE; returns 1 when this sipkeep has none.
sk_metrics() {
    : >"$1"
    [[ -n "${SK_CTL:-}" ]] || return 1
    timeout 5 "$SIPKEEP" metrics -s "$SK_CTL" >"$1" 2>/dev/null || { : >"$1"; return 1; }
}

# metric FILE NAME [LABELS]: value of metric NAME (with exactly LABELS, e.g.
# 'state="active"') in FILE, or "n/a".
metric() {
    local v
    v=$(awk -v n="$2" -v l="${3:-}" '
        $1 == (l == "" ? n : n "{" l "}") { print $2; found = 1; exit }
        END { if (!found) exit 1 }' "$1" 2>/dev/null) || v=n/a
    echo "$v"
}

# users FILE PREFIX FROM TO: a SEQUENTIAL sipp injection file of phones PREFIXnnnn.
users() {
    local file=$1 prefix=$2 from=$3 to=$4 i
    {
        echo SEQUENTIAL
        for (( i = from; i <= to; i++ )); do
            printf '%s%04d;\n' "$prefix" "$i"
        done
    } >"$file"
}

# rtt_stats CSV...: "N MEDIAN_US P99_US MEAN_US" over cap_rtts files
# (t_ms;rtt_ms;method); "0 - - -" when empty.
rtt_stats() {
    awk -F';' '$2 ~ /^[0-9.]+$/ { printf "%.0f\n", $2 * 1000 }' "$@" | sort -n |
        awk '{ v[NR] = $1; s += $1 }
            END {
                if (NR == 0) { print "0 - - -"; exit }
                m = int((NR + 1) / 2); p = int(NR * 0.99); if (p < NR * 0.99) p++
                printf "%d %d %d %.0f\n", NR, v[m], v[p], s / NR
            }'
}

# rtt_rate CSV: requests per second over the file's time span (t_ms column).
rtt_rate() {
    awk -F';' '$2 ~ /^[0-9.]+$/ { if (!n++) t0 = $1; t1 = $1 }
        END { if (n > 1 && t1 > t0) printf "%.0f\n", (n - 1) * 1000 / (t1 - t0); else print "-" }' "$1"
}

# cap_start NS IF PCAP FILTER: capture (tcpdump, microsecond timestamps) in the
# background; cap_stop ends it.  sipp's own clock ticks in whole jiffies (4 ms
# here), so response times are taken on the wire instead.
_CAP_PID=
cap_start() {
    local ns=$1 ifc=$2 pcap=$3 filter=$4
    [[ -z "$_CAP_PID" ]] || die "cap_start: a capture is running"
    START_LOG=$pcap.log start_in_ns "$ns" tcpdump -i "$ifc" -n -U --immediate-mode -s 0 -B 8192 -Z root -w "$pcap" "$filter"
    _CAP_PID=$LAST_PID
    wait_for "grep -q 'listening on' '$pcap.log'" 10 "tcpdump to listen" ||
        die "tcpdump did not start: $(cat "$pcap.log")"
}
cap_stop() {
    sleep 0.3   # the last packets
    stop_pid "$_CAP_PID" 3
    _CAP_PID=
}

# cap_rtts PCAP CLIENT OUT: pair every request CLIENT (ADDR.PORT) sent with the first
# final response it received (same Call-ID, CSeq number and method; the first
# transmission of the request counts) and write "t_ms;rtt_ms;method" lines to OUT
# (t_ms: when the request left, from the capture's start; microsecond resolution).
# Prints the number of requests sent and left unanswered ("SENT UNANSWERED").
cap_rtts() {
    local pcap=$1 client=$2 out=$3
    : >"$out"
    tcpdump -r "$pcap" -n -tt -A -s 0 2>/dev/null | tr -d '\r' | awk -v c="$client" -v out="$out" '
        function flush() {
            if (ts == "" || cseq == "" || cid == "") return
            key = cid "|" cseq
            if (src == c && !isresp && cseq !~ / ACK$/) {
                if (!(key in sent)) { sent[key] = ts; nsent++; split(cseq, cs, " "); meth[key] = cs[2] }
            } else if (dst == c && isresp && code >= 200 && (key in sent) && !(key in done)) {
                done[key] = 1
                if (t0 == "") t0 = sent[key]
                printf "%.3f;%.3f;%s\n", (sent[key] - t0) * 1000, (ts - sent[key]) * 1000, meth[key] > out
            }
        }
        /^[0-9]+\.[0-9]+ IP / {
            flush()
            ts = $1; src = $3; dst = $5; sub(/:$/, "", dst)
            isresp = 0; code = 0; cseq = ""; cid = ""
            next
        }
        match($0, /SIP\/2\.0 [0-9][0-9][0-9] /) && cseq == "" && cid == "" {
            isresp = 1; code = substr($0, RSTART + 8, 3) + 0
        }
        /^CSeq:/ { v = $0; sub(/^CSeq: */, "", v); cseq = v }
        /^Call-ID:/ { v = $0; sub(/^Call-ID: */, "", v); cid = v }
        END {
            flush()
            for (k in sent) if (!(k in done)) lost++
            printf "%d %d\n", nsent, lost
        }'
}

# reg_pass NAME TARGET CSV CSEQ CALLS RATE: one sipp process in lan (the phones'
# socket $PHONE_IP:$PHONE_PORT) sends CALLS REGISTERs (expires 3600, CSeq CSEQ)
# for the phones of injection file CSV, at RATE per second, to TARGET.  The
# phone-side capture gives $LAB_DIR/NAME/rtt.csv.  Returns sipp's status.
reg_pass() {
    local name=$1 target=$2 csv=$3 cseq=$4 calls=$5 rate=$6 rc=0 d sent lost
    d=$LAB_DIR/$name
    mkdir -p "$d"
    cap_start "$NS_LAN" eth0 "$d/phone.pcap" "udp and host $PHONE_IP and port $PHONE_PORT"
    run_logged $(( calls / rate + 40 )) "$NS_LAN" "$d/sipp.log" sipp -sf "$SIPP_SCN/register.xml" \
        -inf "$csv" -t u1 -i "$PHONE_IP" -p "$PHONE_PORT" \
        -m "$calls" -r "$rate" -rp 1000 -l 1000 \
        -key domain "$SIP_DOMAIN" -key expires 3600 -key regcseq "$cseq" \
        -cid_str "$name-%u@bench" -nostdin -timeout $(( calls / rate + 30 ))s \
        -recv_timeout 10000 -trace_err -error_file "$d/err.log" \
        "$target" || rc=$?
    cap_stop
    read -r sent lost < <(cap_rtts "$d/phone.pcap" "$PHONE_IP.$PHONE_PORT" "$d/rtt.csv")
    log_step "$name: $calls phones, $sent REGISTERs on the wire, $((sent - lost)) answered (sipp rc $rc)"
    return "$rc"
}

# bench_kam_start edge|registrar: lib.sh's kam_start with more shared memory
# (BENCH_KAM_SHM MiB, default 256, instead of 64): at 1,000 in-dialog requests/s
# each proxy holds some 10,000 transactions in their wait state (5 s), which
# does not fit in 64 MiB ("could not allocate shared memory", then 500s).
BENCH_KAM_SHM=${BENCH_KAM_SHM:-256}
# The edge's TLS phase with one TCP/TLS worker (see kamailio/edge.cfg).
declare -A ONE_TCP_WORKER_ARG=([edge]="-A ONE_TCP_WORKER")
bench_kam_start() {
    local which=$1 cfg rundir ip port
    case "$which" in
        edge) ip=$EDGE_IP; port=$EDGE_UDP_PORT ;;
        registrar) ip=$REGISTRAR_IP; port=$REGISTRAR_PORT ;;
        *) die "bench_kam_start: edge or registrar, not '$which'" ;;
    esac
    cfg=$LAB_DIR/$which.cfg
    rundir=$LAB_DIR/$which.run
    mkdir -p "$rundir"
    _kam_render "$which.cfg" "$cfg"
    [[ "$which" != edge ]] || _kam_render edge-tls.cfg "$LAB_DIR/edge-tls.cfg"
    ns_exec "$NS_WAN" kamailio -c -f "$cfg" >"$LAB_DIR/$which.check.log" 2>&1 ||
        { cat "$LAB_DIR/$which.check.log"; die "kamailio $which: config check failed"; }
    START_LOG=$LAB_DIR/$which.log start_in_ns "$NS_WAN" \
        kamailio -DD -E -f "$cfg" -P "$rundir/kamailio.pid" -Y "$rundir" -w "$rundir" \
        -m "$BENCH_KAM_SHM" -M 8 ${ONE_TCP_WORKER_ARG[$which]:-}
    _KAM_PID[$which]=$LAST_PID
    wait_for "kam_cmd $which core.version && _ns_listens $NS_WAN udp $ip:$port &&
        _ns_listens $NS_WAN tcp $ip:$port" 15 \
        "kamailio $which up" || die "kamailio $which did not start (see $which.log)"
    log_step "kamailio $which up (pid $LAST_PID, shm ${BENCH_KAM_SHM} MiB)"
}

# bench_config FILE [PROXY_URI...]: sk_config's lab config; sipkeep runs as root
# here (a version with a `user:` key, default an unprivileged user, gets
# `user: root` when it accepts it).
bench_config() {
    local file=$1
    sk_config "$@"
    if ! grep -q '^user:' "$file"; then
        cp "$file" "$file.try"
        echo "user: root" >>"$file.try"
        if "$SIPKEEP" --check-config -c "$file.try" >/dev/null 2>&1; then
            mv "$file.try" "$file"
        else
            rm -f "$file.try"
        fi
    fi
}

# sk_bench_stop NAME: SIGTERM sipkeep, report how long it took and keep its log as NAME.log.
SK_STOP_SECONDS=
sk_bench_stop() {
    local name=$1 t0 t1
    t0=$(date +%s%N)
    stop_pid "$SK_PID" 30
    t1=$(date +%s%N)
    SK_STOP_SECONDS=$(awk -v d=$(( (t1 - t0) / 1000000 )) 'BEGIN { printf "%.1f", d / 1000 }')
    SK_PID=
    if sk_log_has 'event=stopped'; then
        log_step "sipkeep stopped cleanly in ${SK_STOP_SECONDS}s"
    else
        log_step "WARNING: sipkeep did not log a clean stop (took ${SK_STOP_SECONDS}s): $(tail -n 3 "$SK_LOG")"
    fi
    mv "$SK_LOG" "$LAB_DIR/$name.log"
}

# sk_problems LOG: count warn/error lines and print the first few.
sk_problems() {
    local log=$1 n
    # privileges_kept: the lab runs sipkeep as root on purpose.
    n=$(grep -E 'level=(warn|error)' "$log" 2>/dev/null | grep -vc 'event=privileges_kept' || true)
    if [[ "$n" -gt 0 ]]; then
        log_step "sipkeep logged $n warning/error lines, first ones:"
        grep -E 'level=(warn|error)' "$log" | grep -v 'event=privileges_kept' | head -n 5 | sed 's/^/    /'
    fi
}

bench_setup() {
    SIPP_SCN=$LAB_DIR/bench-sipp
    mkdir -p "$SIPP_SCN"
    cp "$BENCH_DIR/sipp/register.xml" "$BENCH_DIR/sipp/info_uas.xml" "$SIPP_SCN/"
    local gap=(-e "s/%GAP%/$BENCH_INFO_GAP_MS/")
    [[ "$BENCH_INFO_GAP_MS" -gt 0 ]] || gap=(-e '/%GAP%/d')
    sed -e "s/%COUNT%/$(( BENCH_INFOS / BENCH_INFO_CALLS ))/" "${gap[@]}" \
        "$BENCH_DIR/sipp/info_uac.xml" >"$SIPP_SCN/info_uac.xml"
}

# info_run NAME USER: call USER from the far caller and time BENCH_INFOS INFOs in the
# dialog; the phone (sipp UAS, lan, $PHONE_IP:$PHONE_PORT) answers.  The
# caller-side capture (wan namespace, lo: caller and edge share it) gives
# $LAB_DIR/NAME/rtt.csv (INFO lines only).
info_run() {
    local name=$1 user=$2 d rc=0 uas_pid sent lost
    d=$LAB_DIR/$name
    mkdir -p "$d"
    START_LOG=$d/phone.log start_in_ns "$NS_LAN" sipp -sf "$SIPP_SCN/info_uas.xml" \
        -t u1 -m "$BENCH_INFO_CALLS" -i "$PHONE_IP" -p "$PHONE_PORT" -s "$user" -mp 16000 \
        -nostdin -timer_resol 1 \
        -trace_err -error_file "$d/phone-err.log"
    uas_pid=$LAST_PID
    wait_for "_ns_listens $NS_LAN udp $PHONE_IP:$PHONE_PORT" 10 "phone listening" ||
        die "the phone (sipp UAS) did not start: $(tail -n 5 "$d/phone.log")"
    cap_start "$NS_WAN" lo "$d/caller.pcap" "udp and host $WAN_UAC_IP and port $WAN_UAC_PORT"
    run_logged 120 "$NS_WAN" "$d/caller.log" sipp -sf "$SIPP_SCN/info_uac.xml" -t u1 \
        -m "$BENCH_INFO_CALLS" -l "$BENCH_INFO_CALLS" -r 100 -rp 1000 \
        -i "$WAN_UAC_IP" -p "$WAN_UAC_PORT" -mp 26000 -key ruri "sip:$user@$SIP_DOMAIN" \
        -base_cseq 2 -nostdin -timer_resol 1 -timeout 100s -recv_timeout 10000 \
        -trace_err -error_file "$d/caller-err.log" \
        "$EDGE_IP:$EDGE_UDP_PORT" || rc=$?
    cap_stop
    wait_for "! kill -0 $uas_pid" 10 "the phone to finish" || stop_pid "$uas_pid" 3
    read -r sent lost < <(cap_rtts "$d/caller.pcap" "$WAN_UAC_IP.$WAN_UAC_PORT" "$d/all.csv")
    grep ';INFO$' "$d/all.csv" >"$d/rtt.csv" || true
    log_step "$name: $(grep -c . "$d/rtt.csv")/$(( BENCH_INFOS / BENCH_INFO_CALLS * BENCH_INFO_CALLS )) INFOs answered; $sent requests on the wire, $lost unanswered (caller sipp rc $rc)"
    [[ $rc -eq 0 ]] || { tail -n 20 "$d/caller-err.log" 2>/dev/null; return 1; }
}

# ------------------------------------------------------------------- the run

# sk_alive WHAT: die with sipkeep's last log lines when it is no longer running.
sk_alive() {
    sk_daemon_pid >/dev/null ||
        die "sipkeep is gone after $1; its log ends with: $(tail -n 20 "$SK_LOG")"
}

# flow_state PORT: one line on the flows (sets FLOW_LINE): the edge's ESTABLISHED
# TCP connections from the NAT on PORT, sipkeep's metrics when it has them
# (`sipkeep metrics` over its control socket), else its log, and its fds.
FLOW_LINE=
flow_state() {
    local port=$1 m=$LAB_DIR/metrics.txt
    FLOW_LINE="edge conns $(edge_conns "$port")"
    if sk_metrics "$m"; then
        FLOW_LINE+=" | bindings $(metric "$m" sipkeep_bindings)"
        FLOW_LINE+=", flows active $(metric "$m" sipkeep_flows 'state="active"')"
        FLOW_LINE+=" (connecting $(metric "$m" sipkeep_flows 'state="connecting"')"
        FLOW_LINE+=", registering $(metric "$m" sipkeep_flows 'state="registering"')"
        FLOW_LINE+=", backoff $(metric "$m" sipkeep_flows 'state="backoff"'))"
        FLOW_LINE+=" | upstream REGISTER 2xx $(metric "$m" sipkeep_registrations_total 'result="ok"')"
        FLOW_LINE+=", failed $(metric "$m" sipkeep_registrations_total 'result="failed"')"
        FLOW_LINE+=" | keep-alives sent $(metric "$m" sipkeep_keepalives_sent_total)"
        FLOW_LINE+=", lost $(metric "$m" sipkeep_keepalives_lost_total)"
    else
        FLOW_LINE+=" | log: event=registered $(registered_count)"
    fi
    FLOW_LINE+=" | flow_down $(grep -c 'event=flow_down' "$SK_LOG" || true) | fds $(fds_of_sipkeep)"
}

# scale.sh and compare.sh source this file for its helpers only.
[[ -z "${BENCH_LIB_ONLY:-}" ]] || return 0

N=$BENCH_UAS
lab_up
bench_kam_start registrar
bench_kam_start edge
bench_setup
users "$LAB_DIR/direct.csv" d 1 $(( N - 1 ))
users "$LAB_DIR/solo.csv" p 0 0
users "$LAB_DIR/bulk.csv" p 1 $(( N - 1 ))

SK_LOG_LEVEL=info bench_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
rss0=$(rss_kib)
log_step "sipkeep RSS with no phone: $rss0 KiB"

# 1a. Without sipkeep: first registrations, then refreshes, to the edge over UDP
# through the NAT.
reg_pass direct-first "$EDGE_IP:$EDGE_UDP_PORT" "$LAB_DIR/direct.csv" 1 $(( N - 1 )) "$BENCH_REG_RATE" ||
    die "direct REGISTERs failed (see direct-first/)"
reg_pass direct-refresh "$EDGE_IP:$EDGE_UDP_PORT" "$LAB_DIR/direct.csv" 2 $(( N - 1 )) "$BENCH_REG_RATE" ||
    die "direct REGISTER refreshes failed (see direct-refresh/)"

# 3a. One phone through sipkeep: one binding, one TCP flow.
reg_pass sk-solo "$ROUTER_LAN_IP:5060" "$LAB_DIR/solo.csv" 1 1 1 || die "REGISTER through sipkeep failed"
sleep 1
sk_alive "the first REGISTER"
rss1=$(rss_kib)
log_step "sipkeep RSS with 1 phone (1 TCP flow): $rss1 KiB"

# 1b + 3b. N-1 more phones through sipkeep: each first REGISTER opens a flow.
reg_pass sk-first "$ROUTER_LAN_IP:5060" "$LAB_DIR/bulk.csv" 1 $(( N - 1 )) "$BENCH_REG_RATE" ||
    log_step "WARNING: some first REGISTERs through sipkeep failed (see sk-first/)"
sleep 2
sk_alive "$N phones registered"
rssn_first=$(rss_kib)
flow_state "$EDGE_TCP_PORT"
log_step "sipkeep RSS with $N phones: $rssn_first KiB; $FLOW_LINE"

# 1c. A refresh of each of those phones (CSeq 2) over its existing flow.
reg_pass sk-refresh "$ROUTER_LAN_IP:5060" "$LAB_DIR/bulk.csv" 2 $(( N - 1 )) "$BENCH_REG_RATE" ||
    log_step "WARNING: some refresh REGISTERs through sipkeep failed (see sk-refresh/)"
sleep 2
sk_alive "the refreshes"
rssn=$(rss_kib)
flow_state "$EDGE_TCP_PORT"
flows_line=$FLOW_LINE
log_step "after the refreshes: RSS $rssn KiB; $FLOW_LINE"
sk_problems "$SK_LOG"

# 2. In-dialog INFO: to phone p0000 through sipkeep (its flow), then to a phone
# registered directly just before its call (the NAT forgets UDP after
# ${NAT_UDP_TIMEOUT}s; the INFOs keep the mapping alive).
info_run info-sk p0000 || die "the in-dialog INFO run through sipkeep failed"
sk_alive "the in-dialog INFOs"
users "$LAB_DIR/dinfo.csv" dinfo 0 0
reg_pass direct-info-reg "$EDGE_IP:$EDGE_UDP_PORT" "$LAB_DIR/dinfo.csv" 1 1 1 ||
    die "direct REGISTER of the INFO phone failed"
info_run info-direct dinfo0000 || die "the direct in-dialog INFO run failed"

sk_alive "the whole TCP run"
flow_state "$EDGE_TCP_PORT"
flows_end_line=$FLOW_LINE
log_step "end of the TCP run: $FLOW_LINE"
sk_problems "$SK_LOG"
sk_bench_stop sipkeep-tcp
stop_tcp_s=$SK_STOP_SECONDS

# 1d. sipkeep restarted (same state_dir: it knows every phone's instance-id):
# the phones' next REGISTER (CSeq 3) opens a flow again, without the first
# registration's write of the instance-id store (rewrite + fsync + rename).
sk_start "$LAB_DIR/sipkeep.yaml"
reg_pass sk-restart "$ROUTER_LAN_IP:5060" "$LAB_DIR/bulk.csv" 3 $(( N - 1 )) "$BENCH_REG_RATE" ||
    log_step "WARNING: some REGISTERs after the restart failed (see sk-restart/)"
sleep 1
sk_alive "the REGISTERs after a restart"
flow_state "$EDGE_TCP_PORT"
log_step "after the restart: $FLOW_LINE"
sk_problems "$SK_LOG"
sk_bench_stop sipkeep-tcp-restart

# 4. TLS flows, with a fresh sipkeep.
if (( BENCH_TLS_UAS >= 2 )); then
    T=$BENCH_TLS_UAS
    users "$LAB_DIR/tls-solo.csv" t 0 0
    users "$LAB_DIR/tls-bulk.csv" t 1 $(( T - 1 ))
    ns_hosts "$NS_ROUTER" "$EDGE_IP $EDGE_TLS_NAME"
    SK_LOG_LEVEL=info SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, verify: true }" \
        bench_config "$LAB_DIR/sipkeep-tls.yaml" "sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT"
    # Fresh: without it sipkeep would restore the TCP phases' 1,000 stored
    # registrations at start and the TLS figures would count their flows.
    rm -rf "$LAB_DIR/sipkeep-state"
    sk_start "$LAB_DIR/sipkeep-tls.yaml"
    reg_pass tls-solo "$ROUTER_LAN_IP:5060" "$LAB_DIR/tls-solo.csv" 1 1 1 || die "REGISTER over TLS failed"
    sleep 1
    sk_alive "the first REGISTER over TLS"
    tls_rss1=$(rss_kib)
    reg_pass tls-first "$ROUTER_LAN_IP:5060" "$LAB_DIR/tls-bulk.csv" 1 $(( T - 1 )) "$BENCH_TLS_RATE" ||
        log_step "WARNING: some REGISTERs over TLS failed (see tls-first/)"
    reg_pass tls-refresh "$ROUTER_LAN_IP:5060" "$LAB_DIR/tls-bulk.csv" 2 $(( T - 1 )) "$BENCH_TLS_RATE" ||
        log_step "WARNING: some refresh REGISTERs over TLS failed (see tls-refresh/)"
    sleep 2
    sk_alive "$T phones over TLS"
    tls_rssn=$(rss_kib)
    flow_state "$EDGE_TLS_PORT"
    tls_flows_line=$FLOW_LINE
    log_step "TLS: RSS with 1 phone $tls_rss1 KiB, with $T phones $tls_rssn KiB; $FLOW_LINE"
    sk_problems "$SK_LOG"
    sk_bench_stop sipkeep-tls
fi

# ------------------------------------------------------------------ summary

# lat NAME: sets LAT_N, LAT_MED, LAT_P99 (µs) from NAME/rtt.csv.
lat() {
    read -r LAT_N LAT_MED LAT_P99 _ < <(rtt_stats "$LAB_DIR/$1/rtt.csv")
}
ms() {  # µs -> ms with µs precision
    if [[ "$1" == - ]]; then echo "-"; else awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'; fi
}
delta() {  # µs a - b -> ms, signed
    if [[ "$1" == - || "$2" == - ]]; then echo "-"; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", (a - b) / 1000 }'; fi
}
per() {  # (a - b) / n, one decimal
    awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (a - b) / n }'
}

lat direct-first; df_n=$LAT_N df_m=$LAT_MED df_p=$LAT_P99
lat direct-refresh; dr_n=$LAT_N dr_m=$LAT_MED dr_p=$LAT_P99
lat sk-first; sf_n=$LAT_N sf_m=$LAT_MED sf_p=$LAT_P99
lat sk-refresh; sr_n=$LAT_N sr_m=$LAT_MED sr_p=$LAT_P99
lat sk-restart; sx_n=$LAT_N sx_m=$LAT_MED sx_p=$LAT_P99
lat info-direct; id_n=$LAT_N id_m=$LAT_MED id_p=$LAT_P99
lat info-sk; is_n=$LAT_N is_m=$LAT_MED is_p=$LAT_P99
id_rate=$(rtt_rate "$LAB_DIR/info-direct/rtt.csv")
is_rate=$(rtt_rate "$LAB_DIR/info-sk/rtt.csv")

echo
echo "proxy bench ($(nproc) cores, Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), $("$SIPKEEP" --version 2>/dev/null | head -n 1); sipkeep log level info; times in ms, taken on the wire, median / p99)"
printf 'REGISTER latency       %d phones from one UDP socket, %d REGISTER/s; added = difference of the medians / of the p99s\n' \
    $(( N - 1 )) "$BENCH_REG_RATE"
printf '  direct (UDP via NAT) first   %s / %s (n=%s) | refresh %s / %s (n=%s)\n' \
    "$(ms "$df_m")" "$(ms "$df_p")" "$df_n" "$(ms "$dr_m")" "$(ms "$dr_p")" "$dr_n"
printf '  via sipkeep (TCP)    first   %s / %s (n=%s) | refresh %s / %s (n=%s)\n' \
    "$(ms "$sf_m")" "$(ms "$sf_p")" "$sf_n" "$(ms "$sr_m")" "$(ms "$sr_p")" "$sr_n"
printf '  added by sipkeep     first  %s / %s (new phone: instance-id store write + TCP connect) | refresh %s / %s (steady state)\n' \
    "$(delta "$sf_m" "$df_m")" "$(delta "$sf_p" "$df_p")" "$(delta "$sr_m" "$dr_m")" "$(delta "$sr_p" "$dr_p")"
printf '  after a restart      first  %s / %s (n=%s), added %s / %s (known phone: TCP connect, no store write)\n' \
    "$(ms "$sx_m")" "$(ms "$sx_p")" "$sx_n" "$(delta "$sx_m" "$dr_m")" "$(delta "$sx_p" "$dr_p")"
printf 'in-dialog INFO         %d dialogs back to back, caller-side RTT\n' "$BENCH_INFO_CALLS"
printf '  direct (UDP via NAT)         %s / %s (n=%s) at %s msg/s\n' "$(ms "$id_m")" "$(ms "$id_p")" "$id_n" "$id_rate"
printf '  via sipkeep (TCP flow)       %s / %s (n=%s) at %s msg/s\n' "$(ms "$is_m")" "$(ms "$is_p")" "$is_n" "$is_rate"
printf '  added by sipkeep            %s / %s\n' "$(delta "$is_m" "$id_m")" "$(delta "$is_p" "$id_p")"
printf 'RSS (TCP flows)        no UA %s KiB | 1 UA %s KiB | %d UAs %s KiB (%s KiB before the refreshes) | per flow %s KiB (target < 8 KiB)\n' \
    "$rss0" "$rss1" "$N" "$rssn" "$rssn_first" "$(per "$rssn" "$rss1" $(( N - 1 )))"
printf '  flows                after the refreshes: %s\n' "$flows_line"
printf '                       end of the TCP run:  %s | exit on SIGTERM %ss\n' "$flows_end_line" "$stop_tcp_s"
if (( BENCH_TLS_UAS >= 2 )); then
    lat tls-first; tf_m=$LAT_MED tf_p=$LAT_P99
    lat tls-refresh; tr_m=$LAT_MED tr_p=$LAT_P99
    printf 'RSS (TLS flows)        1 UA %s KiB | %d UAs %s KiB | per flow %s KiB (target < 32 KiB)\n' \
        "$tls_rss1" "$BENCH_TLS_UAS" "$tls_rssn" "$(per "$tls_rssn" "$tls_rss1" $(( BENCH_TLS_UAS - 1 )))"
    printf '  flows                %s\n' "$tls_flows_line"
    printf '  REGISTER over TLS    first  %s / %s (TLS handshake + REGISTER) | refresh %s / %s (%d/s)\n' \
        "$(ms "$tf_m")" "$(ms "$tf_p")" "$(ms "$tr_m")" "$(ms "$tr_p")" "$BENCH_TLS_RATE"
fi

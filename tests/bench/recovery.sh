#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sipkeep recovery timeline benchmark, in the e2e lab (tests/e2e/lib.sh).
# Prints figures only; nothing here passes or fails on speed.  Exits 1 only when
# the lab cannot be set up.
#
# Usage: tests/bench/recovery.sh SIPKEEP_BINARY   (as root; about 4 minutes;
#        make bench runs it through tests/bench/run.sh)
#   RECOVERY_FLOWS="TCP TLS UDP"  the sipkeep rows to measure (default all three;
#                                 "none": only the baresip comparison)
#   RECOVERY_BARESIP=0            skip the baresip comparison (below)
#
# For each flow transport (TCP, TLS, UDP) a fresh sipkeep with one outbound
# proxy registers a legacy UA (sipp); then the flow dies silently: the packets
# coming back from the edge are dropped in the router (iptables INPUT), a
# fault sipkeep can only notice by its keep-alives (a missing CRLF pong on TCP/TLS, STUN
# retransmissions running out on UDP).  As soon as sipkeep reports the flow
# down the drop is lifted, and the timeline is taken from the fault:
#   detect    sipkeep's event=flow_down (its log's timestamp)
#   connect   event=flow_connected of the new flow
#   register  event=registered on it (the registrar holds the binding again)
#   call      an inbound call (far caller -> edge -> registrar -> flow -> UA)
#             that succeeds: calls are attempted one after the other from the
#             re-registration on; the figure is the start of the first one
#             that was answered and completed.
# The Flow-Timer and keep-alive settings are shortened (printed with the table)
# so that a run takes minutes; the recovery: base times are sipkeep's defaults
# (the first retry after a working flow dies is immediate, RFC 5626 §4.5).
#
# Then the comparison the issue asks for (issue 7, item 2): baresip, a native
# RFC 5626 client, in the lan namespace behind the same NAT, registered over
# TCP with the same edge (same Flow-Timer) and the same fault: the edge's
# packets to baresip's flow dropped in the router, in the same direction
# (edge -> client); baresip's flow is routed through the router, so the drop is
# in FORWARD, not INPUT.  Its timeline: detect = baresip's "reg: ... Register:"
# error line (timestamped by polling its log), register = a new binding (a new
# flow token in the registrar's Path), call = as above.  baresip's recovery is
# its own defaults (libre 1.1: keep-alive pong timeout 10 s, then the
# registration retried after failwait(1) = 60 s x random 0.5-1.0, i.e. 30-60 s).
# sipkeep's row of that table is measured again (row CMP) with its default
# pong_timeout, 10 s, the same detection rule as libre's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench_lib.sh
. "$here/bench_lib.sh"
bench_sipkeep "$1"

# Shortened for the benchmark: Flow-Timer in the edge's 2xx (sipkeep pings at
# 80-100 % of it), sipkeep's pong timeout.
FLOW_TIMER=10
# shellcheck disable=SC2034 # a lab variable, read by kam_start
EDGE_TCP_LIFETIME=120
PONG_TIMEOUT=5
USER_AOR=1030
declare -A ROW=()
DETAILS=

# detail NAME T0: sipkeep's flow and registration events from the fault on,
# with their offsets (what the row's figures are made of).
detail() {
    local line t
    echo "  $1 events (seconds from the fault):"
    grep -E 'event=(flow_|registered|register_|stun_|keepalive)' "$SK_LOG" | while IFS= read -r line; do
        t=$(date -d "${line%% *}" +%s%3N 2>/dev/null) || continue
        (( t >= $2 )) || continue
        printf '  %7s %s\n' "+$(secs "$2" "$t")" "$(cut -c1-150 <<<"${line#* level=* }")"
    done | head -n 14
}

# drop -I|-D PROTO PORT: cut (or restore) sipkeep's flow to the edge.  Only
# what comes back from the edge is dropped (INPUT): an OUTPUT drop would fail
# sipkeep's own sends at once (EPERM), which it rightly takes as a transport
# error; a path that silently loses packets is found by keep-alives only.
drop() {
    ns_exec "$NS_ROUTER" iptables "$1" INPUT -p "$2" -s "$EDGE_IP" --sport "$3" -j DROP
}

# measure NAME PROTO PORT PROXY [EXTRA_SERVICE]: one row of the table.
measure() {
    local name=$1 proto=$2 port=$3 proxy=$4 extra=${5:-} t0 td tc tr tcall
    local cfg=$LAB_DIR/sipkeep-$name.yaml
    # shellcheck disable=SC2034 # read by sk_config
    SK_EXTRA_SERVICE="    keepalive: { pong_timeout: $PONG_TIMEOUT }${extra:+
$extra}"
    SK_LOG_LEVEL=info sk_config "$cfg" "$proxy"
    if ! "$SIPKEEP" --check-config -c "$cfg" >"$LAB_DIR/check-$name.log" 2>&1; then
        ROW[$name]="n/a (${name,,} flows not supported by this build)"
        log_step "$name: sipkeep --check-config rejects it: $(head -c 200 "$LAB_DIR/check-$name.log")"
        return 0
    fi
    # sk_start, but a start refused (a transport this build lacks) is a row,
    # not the end of the benchmark.
    SK_LOG=$LAB_DIR/sipkeep.log
    START_LOG=$SK_LOG start_in_ns "$NS_ROUTER" "$SIPKEEP" -c "$cfg"
    SK_PID=$LAST_PID
    wait_for "sk_log_has 'event=(listening|start_failed)'" 10 "sipkeep ready" ||
        die "sipkeep did not start: $(tail -n 20 "$SK_LOG")"
    if sk_log_has 'event=start_failed'; then
        log_step "$name: sipkeep refused to start: $(grep -o 'err=.*' "$SK_LOG" | head -n 1)"
        stop_pid "$SK_PID" 5
        SK_PID=
        if sk_log_has 'not supported'; then
            ROW[$name]="n/a (${name,,} flows not supported by this build)"
        else
            ROW[$name]="n/a (sipkeep refused the config)"
        fi
        return 0
    fi
    if ! sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 >/dev/null ||
        ! wait_for "sk_log_has 'event=flow_working reg_id=1 '" 30 "the $name flow working"; then
        ROW[$name]="n/a (the $name flow did not register or work)"
        log_step "$name: no working flow; sipkeep's log ends with:"
        tail -n 8 "$SK_LOG"
        sk_stop || true
        return 0
    fi
    log_step "$name: flow working; dropping its packets"
    t0=$(ms_now)
    drop -I "$proto" "$port"
    if ! wait_for "ev_ms 'event=flow_down reg_id=1 ' $t0" 120 "$name flow down"; then
        drop -D "$proto" "$port"
        ROW[$name]="n/a (the fault was not detected within 120 s)"
        sk_stop || true
        return 0
    fi
    drop -D "$proto" "$port"
    td=$(ev_ms 'event=flow_down reg_id=1 ' "$t0")
    wait_for "ev_ms 'event=registered .*reg_id=1 ' $td" 120 "$name re-registered" || true
    tc=$(ev_ms 'event=flow_connected reg_id=1 ' "$td" || echo "")
    tr=$(ev_ms 'event=registered .*reg_id=1 ' "$td" || echo "")
    CALL_OK_MS=
    [[ -z "$tr" ]] || call_until_ok 60 || true
    tcall=$CALL_OK_MS
    ROW[$name]=$(printf '%-9s %-9s %-9s %-9s' "$(secs "$t0" "$td")" "$(secs "$t0" "$tc")" \
        "$(secs "$t0" "$tr")" "$(secs "$t0" "$tcall")")
    local label=$name
    [[ "$name" != CMP ]] || label="TCP, pong_timeout 10 s (the comparison's sipkeep row)"
    DETAILS+=$(detail "$label" "$t0")$'\n'
    sk_stop
}

# --------------------------------------------------- baresip (native client)

BARESIP_AOR=1031
# log_poll FILE OFFSET ERE END_S: polls FILE (from byte OFFSET on) every 0.1 s
# until a line matches ERE; prints the epoch ms it was first seen.
log_poll() {
    local end=$(( $(date +%s) + $4 ))
    while (( $(date +%s) < end )); do
        if tail -c +"$(( $2 + 1 ))" "$1" 2>/dev/null | grep -Eq -- "$3"; then
            ms_now
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# path_poll USER OLD_PATH END_S: polls the registrar every 0.2 s until USER's
# binding has a Path other than OLD_PATH (a new flow token: a new flow);
# prints the epoch ms it was first seen.
path_poll() {
    local end=$(( $(date +%s) + $3 )) p
    while (( $(date +%s) < end )); do
        p=$(kam_location 2>/dev/null | _ul_aor_block "$1" | grep 'Path:' || true)
        if [[ -n "$p" && "$p" != "$2" ]]; then
            ms_now
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# bdrop -I|-D: cut (or restore) what the edge sends to baresip's TCP flow, in
# the router's FORWARD chain (after the NAT has rewritten it to the UA).
bdrop() {
    ns_exec "$NS_ROUTER" iptables "$1" FORWARD -p tcp -s "$EDGE_IP" --sport "$EDGE_TCP_PORT" \
        -d "$LAN_UA_IP" -j DROP
}

# measure_baresip: the "baresip native (TCP)" row.
measure_baresip() {
    local t0 td tr tcall off path_before blog=$LAB_DIR/baresip.log
    baresip_start "$BARESIP_AOR" tcp
    if ! wait_for "kam_location_has $BARESIP_AOR 'Path:'" 20 "baresip registered"; then
        ROW[baresip]="n/a (baresip did not register)"
        baresip_stop
        return 0
    fi
    path_before=$(kam_location | _ul_aor_block "$BARESIP_AOR" | grep 'Path:')
    # One keep-alive round first, as sipkeep's flow_working: the flow is in use.
    idle 3
    log_step "baresip: registered ($(tr -s '\t ' ' ' <<<"$path_before")); dropping the edge's packets to it"
    off=$(stat -c %s "$blog")
    t0=$(ms_now)
    bdrop -I
    td=$(log_poll "$blog" "$off" 'reg: .*Register: ' 120 || echo "")
    bdrop -D
    tr=$(path_poll "$BARESIP_AOR" "$path_before" 150 || echo "")
    CALL_OK_MS=
    [[ -z "$tr" ]] || call_until_ok_baresip 60 || true
    tcall=$CALL_OK_MS
    ROW[baresip]=$(printf '%-9s %-9s %-9s %-9s' "$(secs "$t0" "$td")" "-" \
        "$(secs "$t0" "$tr")" "$(secs "$t0" "$tcall")")
    DETAILS+="  baresip log from the fault on (reg: lines):"$'\n'
    DETAILS+=$(tail -c +"$(( off + 1 ))" "$blog" | grep -E '^reg: |Register|[0-9]{3} OK' |
        head -n 8 | sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^/    /')$'\n'
    baresip_stop
}

# call_until_ok_baresip DEADLINE_S: call_until_ok for baresip (it auto-answers).
call_until_ok_baresip() {
    local end=$(( $(date +%s) + $1 )) t
    CALL_OK_MS=
    while (( $(date +%s) < end )); do
        t=$(ms_now)
        if sipp_uac_call "$BARESIP_AOR" 8; then
            CALL_OK_MS=$t
            return 0
        fi
        sleep 0.5
    done
    return 1
}

lab_up >/dev/null
kam_start registrar >/dev/null
kam_start edge >/dev/null
ns_hosts "$NS_ROUTER" "$EDGE_IP $EDGE_TLS_NAME"

FLOWS=${RECOVERY_FLOWS:-TCP TLS UDP}
[[ " $FLOWS " != *" TCP "* ]] ||
    measure TCP tcp "$EDGE_TCP_PORT" "sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp"
[[ " $FLOWS " != *" TLS "* ]] || measure TLS tcp "$EDGE_TLS_PORT" \
    "sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT" "    tls: { ca_file: $CA_FILE, verify: true }"
[[ " $FLOWS " != *" UDP "* ]] ||
    measure UDP udp "$EDGE_UDP_PORT" "sip:$EDGE_IP:$EDGE_UDP_PORT;transport=udp"
if [[ "${RECOVERY_BARESIP:-1}" != 0 ]]; then
    # sipkeep's side of the comparison with its default pong_timeout, 10 s,
    # which is also libre's fixed TCP keep-alive timeout: the same detection rule.
    PONG_TIMEOUT=10 measure CMP tcp "$EDGE_TCP_PORT" "sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp"
    measure_baresip
fi

echo "recovery timeline: seconds from the fault (the edge's packets to sipkeep dropped in the router)"
echo "config: Flow-Timer $FLOW_TIMER s (edge), keepalive.pong_timeout $PONG_TIMEOUT s," \
    "recovery: defaults (base_time_all_failed 30 s, base_time_not_failed 90 s, max_time 1800 s;" \
    "first retry after a working flow dies immediate), NAT udp timeout ${NAT_UDP_TIMEOUT} s"
printf '%-5s %-9s %-9s %-9s %-9s\n' flow detect connect register call
for name in $FLOWS; do
    [[ -n "${ROW[$name]:-}" ]] || continue
    printf '%-5s %s\n' "$name" "${ROW[$name]}"
done
printf '%s' "$DETAILS"
if [[ "${RECOVERY_BARESIP:-1}" == 0 ]]; then
    echo "baresip comparison: skipped (RECOVERY_BARESIP=0)"
    exit 0
fi
echo
echo "recovery comparison, same edge, same NAT, same fault (the edge's packets to the client's flow" \
    "dropped in the router until the client notices): seconds from the fault"
echo "config: Flow-Timer $FLOW_TIMER s (edge) for both, keep-alive pings at 80-100 % of it;" \
    "sipkeep: keepalive.pong_timeout 10 s (its default), recovery: defaults (first retry after a" \
    "working flow dies immediate, RFC 5626 §4.5); baresip 1.0.0 / libre 1.1.0 defaults (fixed):" \
    "pong timeout 10 s, then re-REGISTER after failwait(1) = 60 s x random 0.5-1.0 (30-60 s);" \
    "baresip's connect is not logged (\"-\"): it opens the new connection with the REGISTER"
printf '%-32s %-9s %-9s %-9s %-9s\n' client detect connect register call
printf '%-32s %s\n' "sipkeep+sipp legacy UA (TCP)" "${ROW[CMP]}"
printf '%-32s %s\n' "baresip native (TCP)" "${ROW[baresip]}"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Field recovery benchmark (issue 12, make bench): two faults a provider's
# customers meet, each timed with the issue's feature and without it, in
# the e2e lab (tests/e2e/lib.sh; the NAPTR/SRV provider of dns_lib.sh).
# Prints figures only; nothing here passes or fails on speed.  Exits 1 only
# when the lab cannot be set up.
#
# Usage: tests/bench/field.sh SIPKEEP_BINARY   (as root; about 5
#        minutes; make bench runs it through tests/bench/run.sh)
#   FIELD_RUNS=3              runs of each case (the table shows the median)
#   FIELD_CASES="srv literal watch nowatch"   the cases to run
#   FIELD_RESTART_AFTER=10    seconds the literal edge stays dead
#
# Each run starts a fresh sipkeep (same state_dir, so the same instance-id:
# the registrar replaces the binding), registers a legacy UA (sipp) over one
# TCP flow, waits until the flow works (a pong came back: its death is then
# retried at once, RFC 5626 §4.5), then makes the fault at T0 and times, from
# T0: detect (sipkeep's flow_down or wan_change_flow_failed), register (its
# next event=registered), call (the start of the first inbound call - far
# caller -> edge -> registrar -> flow -> UA - answered and completed; calls
# are tried one after the other from the registration on, as recovery.sh).
#
#  srv      outbound proxy "sip:sip.test", published only by NAPTR/SRV: edge
#           A (prio 10) and edge B (prio 20).  The flow is on edge A; edge A's
#           Kamailio is killed (SIGTERM): the flow fails over to edge B.
#  literal  without failover: before RFC 3263 an outbound_proxies entry named
#           one address, so the same edge A as a literal address
#           (sip:EDGE_A;transport=tcp).  Edge A is killed the same way and
#           started again FIELD_RESTART_AFTER s later (an edge that never
#           comes back gives no call at all); sipkeep reaches it again at the
#           end of its §4.5 back-off (the immediate retry was refused).
#  watch    the router's WAN address changes (deleted, a new one added: a
#           PPPoE reconnect) under a flow to the lab's edge;
#           recovery.watch_wan: true (the default).
#  nowatch  the same with recovery.watch_wan: false: the keep-alives notice
#           it (keep-alive interval, 80-100 % of the Flow-Timer, plus
#           keepalive.pong_timeout; both shortened here so runs stay short).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench_lib.sh
. "$here/bench_lib.sh"
bench_sipkeep "$1"
# shellcheck source=../e2e/dns_lib.sh
. "$here/../e2e/dns_lib.sh"

# Shortened for the benchmark, as recovery.sh: Flow-Timer in the edges' 2xx
# (sipkeep pings at 80-100 % of it), sipkeep's pong timeout.
FLOW_TIMER=10
# shellcheck disable=SC2034 # a lab variable, read by kam_start
EDGE_TCP_LIFETIME=120
PONG_TIMEOUT=5
USER_AOR=1095
RUNS=${FIELD_RUNS:-3}
CASES=${FIELD_CASES:-srv literal watch nowatch}
RESTART_AFTER=${FIELD_RESTART_AFTER:-10}
WAN_IPS=("$ROUTER_WAN_IP" 198.51.100.2)   # the router's WAN address, alternately
WAN_CUR=0
declare -A RES=() VIA=()

DOWN_ERE='event=(flow_down reg_id=1 |wan_change_flow_failed )'

# The faults (T0 is taken just before each).
fault_srv() {
    stop_pid "$EDGE_A_PID" 2
    EDGE_A_PID=
}
fault_literal() {
    fault_srv
    idle "$RESTART_AFTER"
    edge_a_start >/dev/null
}
fault_wan() {
    local old=${WAN_IPS[$WAN_CUR]}
    WAN_CUR=$(( 1 - WAN_CUR ))
    ns_exec "$NS_ROUTER" ip addr del "$old/$WAN_PREFIX" dev "$ROUTER_WAN_IF"
    ns_exec "$NS_ROUTER" ip addr add "${WAN_IPS[$WAN_CUR]}/$WAN_PREFIX" dev "$ROUTER_WAN_IF"
}

# run_case NAME PROXY FAULT BOUND_S [EXTRA_SERVICE]: one run; appends
# "detect register call" (seconds from T0) to RES[NAME] and where the flow
# connected (run $i + 1) to VIA[NAME].
run_case() {
    local name=$1 proxy=$2 fault=$3 bound=$4 t0 td tr addr
    local cfg=$LAB_DIR/sipkeep-$name.yaml
    # shellcheck disable=SC2034 # read by sk_config
    SK_EXTRA_SERVICE="    keepalive: { pong_timeout: $PONG_TIMEOUT }${5:+
$5}"
    SK_LOG_LEVEL=info sk_config "$cfg" "$proxy"
    sk_start "$cfg" >/dev/null
    if ! sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 >/dev/null ||
        ! wait_for "sk_log_has 'event=flow_working reg_id=1 '" $(( FLOW_TIMER + PONG_TIMEOUT + 5 )) \
            "the flow working"; then
        log_step "$name: no working flow; sipkeep's log ends with:"
        tail -n 8 "$SK_LOG"
        RES[$name]+="fail fail fail;"
        sk_stop
        return 0
    fi
    t0=$(ms_now)
    "$fault"
    wait_for "ev_ms 'event=registered .*reg_id=1 ' $t0" "$bound" "$name: registered again" || true
    td=$(ev_ms "$DOWN_ERE" "$t0" || echo "")
    tr=$(ev_ms 'event=registered .*reg_id=1 ' "$t0" || echo "")
    CALL_OK_MS=
    [[ -z "$tr" ]] || call_until_ok 30 || true
    # where the flow connected, each attempt of the run (the last one
    # registered), and the back-off each flow_down announced
    addr=$(grep -o 'event=flow_connecting reg_id=1 .* addr=[^ ]*' "$SK_LOG" |
        sed 's/.* addr=//' | paste -sd' ' || true)
    addr="${addr// / -> } (retry_in_ms: $(grep -o 'event=flow_down reg_id=1 .*retry_in_ms=[0-9]*' \
        "$SK_LOG" | sed 's/.*=//' | paste -sd' ' || true))"
    RES[$name]+="$(secs "$t0" "$td") $(secs "$t0" "$tr") $(secs "$t0" "$CALL_OK_MS");"
    VIA[$name]+=$'\n'"    run $(( i + 1 )): $addr"
    log_step "$name run: detect $(secs "$t0" "$td") register $(secs "$t0" "$tr")" \
        "call $(secs "$t0" "$CALL_OK_MS"); flow to $addr"
    sk_stop
}

# row NAME LABEL: the table's line: median of each column, then each run's call.
row() {
    local col runs vals=() med=() r
    IFS=';' read -r -a runs <<<"${RES[$1]:-}"
    for col in 1 2 3; do
        vals=()
        for r in "${runs[@]}"; do
            vals+=("$(cut -d' ' -f"$col" <<<"$r")")
        done
        med+=("$(median "${vals[@]}")")
    done
    # vals: the call column's, each run's
    printf '%-58s %-7s %-8s %-7s %s\n' "$2" "${med[@]}" "${vals[*]}"
}

lab_up >/dev/null
srv_lab_up >/dev/null
kam_start registrar >/dev/null
kam_start edge >/dev/null
edge_a_start >/dev/null
WATCH_OFF="    recovery: { watch_wan: false }"
for (( i = 0; i < RUNS; i++ )); do
    for c in $CASES; do
        case $c in
        srv)
            [[ -n "$EDGE_A_PID" ]] || edge_a_start >/dev/null
            run_case srv "sip:$SIP_DOMAIN" fault_srv 30 ;;
        literal)
            [[ -n "$EDGE_A_PID" ]] || edge_a_start >/dev/null
            run_case literal "sip:$EDGE_A_IP:$EDGE_TCP_PORT;transport=tcp" fault_literal 120 ;;
        watch)
            run_case watch "sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp" fault_wan 15 ;;
        nowatch)
            run_case nowatch "sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp" fault_wan \
                $(( FLOW_TIMER + PONG_TIMEOUT + 15 )) "$WATCH_OFF" ;;
        *) die "FIELD_CASES: srv literal watch nowatch, not '$c'" ;;
        esac
    done
done

echo "field recovery: seconds from the fault to sipkeep noticing it, to the phone registered" \
    "again, to the start of the first inbound call that was answered and completed;" \
    "median of $RUNS run(s) (each run's call figure last)"
echo "config: one TCP flow, Flow-Timer $FLOW_TIMER s (edges), keepalive.pong_timeout $PONG_TIMEOUT s," \
    "recovery: defaults (first retry after a working flow dies immediate, then" \
    "base_time_all_failed 30 s x 2^n x 0.5-1.0)"
printf '%-58s %-7s %-8s %-7s %s\n' "fault" detect register call "calls (runs)"
[[ -z "${RES[srv]:-}" ]] ||
    row srv "edge dies; sip:$SIP_DOMAIN by NAPTR/SRV (failover)"
[[ -z "${RES[literal]:-}" ]] ||
    row literal "edge dies; its literal address, back after ${RESTART_AFTER} s"
[[ -z "${RES[watch]:-}" ]] ||
    row watch "WAN address changes; watch_wan: true (netlink)"
[[ -z "${RES[nowatch]:-}" ]] ||
    row nowatch "WAN address changes; watch_wan: false (keep-alives)"
for c in srv literal watch nowatch; do
    [[ -z "${VIA[$c]:-}" ]] || echo "  $c: the flow's connects, first to last:${VIA[$c]}"
done
echo "  (srv: edge A $EDGE_A_IP prio 10 killed, edge B $EDGE_IP prio 20 takes over; literal:" \
    "edge A only, an edge that never comes back gives no call at all; the WAN cases: the" \
    "router's address ${WAN_IPS[0]} <-> ${WAN_IPS[1]}, the flow to $EDGE_IP)"

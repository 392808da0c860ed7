#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make demo`: sipkeep's main job, narrated for a newcomer, in a throw-away lab.
#
#   bash tests/demo/demo.sh [SIPKEEP_BINARY]      (as root; default build/sipkeep)
#
# It builds the e2e lab (tests/e2e/lib.sh: network namespaces skt-<pid>-*, a NAT
# that forgets idle UDP after 10 s and idle TCP after 30 s, Kamailio as the
# provider's RFC 5626 edge proxy and registrar), then shows, with timestamps:
#   1. the lab;  2. phone 1001 (legacy, UDP only) registering through sipkeep,
#   which registers upstream as an RFC 5626 client over a TCP flow;  3. silence
#   longer than both NAT timeouts while sipkeep's keep-alives hold the flow (live,
#   from a capture on the router and from sipkeep's log);  4. a call from the
#   internet that phone 1001 answers;  5. phone 1002, the same kind of phone
#   without sipkeep, registering directly: after the same silence its call fails;
#   6. `sipkeep status` (or, when this build has no status command, the
#   registrar's view).
# Everything it starts is removed on exit, on failure and on Ctrl-C (SIGINT/TERM).
# Exit status: 0 when the call succeeded with sipkeep and failed without it.
#
# Knobs: DEMO_IDLE (seconds of silence, default 45; keep it above the NAT's
# 30 s TCP timeout to make the point), DEMO_VERBOSE=1 (also print the lab's own
# log lines), E2E_ARTIFACTS=DIR (keep the lab's logs there, see lib.sh).
set -euo pipefail

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$DEMO_DIR/../.." && pwd)
SIPKEEP=${1:-${SIPKEEP:-$ROOT/build/sipkeep}}
[[ "$SIPKEEP" == /* ]] || SIPKEEP=$PWD/$SIPKEEP
IDLE=${DEMO_IDLE:-45}
if ! [[ "$IDLE" =~ ^[0-9]+$ ]] || (( IDLE < 12 || IDLE > 600 )); then
    echo "DEMO_IDLE must be 12-600 seconds (the NAT forgets UDP after 10 s), not '$IDLE'" >&2
    exit 2
fi
# Every lab process is bounded: a demo that hangs cannot outlive this.
LAB_MAX_SECONDS=${LAB_MAX_SECONDS:-$((2 * IDLE + 120))}

# shellcheck source=SCRIPTDIR/../e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
# shellcheck source=SCRIPTDIR/../e2e/sk_lib.sh
. "$ROOT/tests/e2e/sk_lib.sh"

PHONE1=1001                 # with sipkeep, at $LAN_UA_IP
PHONE2=1002                 # without sipkeep, at $LAN_UA2_IP
DEMO_T0=$(date +%s%N)
DEMO_INTERRUPTED=
_TICK_PID=
_BAR_SHOWN=
_KA_CAP=                    # tcpdump's output: keep-alives on the wire
_KA_SHOWN=0                 # keep-alives narrated so far
_SK_SHOWN=0                 # sipkeep log lines narrated so far

# ---------------------------------------------------------------- narration

_clock() {
    local s=$(( ($(date +%s%N) - DEMO_T0) / 1000000000 ))
    printf '%02d:%02d' $((s / 60)) $((s % 60))
}

# The progress bar (terminals only) is redrawn in place; erase it before any line.
_bar_clear() {
    if [[ -n "$_BAR_SHOWN" ]]; then
        printf '\r\033[K'
        _BAR_SHOWN=
    fi
}

_bar() {
    local done=$1 total=$2 width=30 fill
    [[ -t 1 ]] || return 0
    fill=$(( done * width / total ))
    printf '\r        [%-*s] %2d/%d s of silence' "$width" "$(printf '%*s' "$fill" '' | tr ' ' '#')" \
        "$done" "$total"
    _BAR_SHOWN=1
}

# say MSG: a timestamped narration line.  detail MSG: an indented line under it.
say() {
    _bar_clear
    printf '[%s] %s\n' "$(_clock)" "$*"
}
detail() {
    _bar_clear
    printf '        %s\n' "$*"
}

# The lab's own log lines (lib.sh, sk_lib.sh) go to a file in the lab dir, shown
# on failure; DEMO_VERBOSE=1 prints them too.
log_step() {
    if [[ -n "${LAB_DIR:-}" && -d "$LAB_DIR" ]]; then
        printf '[%s] %s\n' "$(_clock)" "$*" >>"$LAB_DIR/demo-lab.log"
    fi
    if [[ -n "${DEMO_VERBOSE:-}" ]]; then
        detail "(lab) $*"
    fi
}

# die MSG: say clearly what went wrong, then exit (the trap shows logs, cleans up).
die() {
    say "✘ DEMO FAILED: $*"
    exit 1
}

# A tick: half a second, interruptible by Ctrl-C (a foreground sleep is not).
_tick() {
    sleep 0.5 &
    _TICK_PID=$!
    wait "$_TICK_PID" || true
    _TICK_PID=
}

# ------------------------------------------------------------- cleanup

_demo_exit() {
    local rc=$? ns left dir=${LAB_DIR:-}
    trap '' INT TERM    # a second Ctrl-C must not cut the cleanup short
    trap - EXIT
    _bar_clear
    [[ -z "$_TICK_PID" ]] || kill "$_TICK_PID" 2>/dev/null || true
    if [[ $rc -ne 0 && -z "$DEMO_INTERRUPTED" && -n "$dir" && -d "$dir" ]]; then
        _show_failure_logs
    fi
    if [[ -n "$dir" ]]; then
        say "Cleaning up: stopping the lab's processes, deleting its namespaces and files"
    fi
    lab_down
    if [[ -n "$dir" ]]; then
        left=""
        for ns in "$NS_LAN" "$NS_ROUTER" "$NS_WAN"; do
            ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns" && left+=" $ns"
        done
        [[ ! -e "$dir" ]] || left+=" $dir"
        if [[ -z "$left" ]]; then
            say "Clean: namespaces skt-$LAB_ID-*, their processes and $dir are gone."
        else
            say "✘ cleanup left:$left"
            rc=1
        fi
    fi
    exit "$rc"
}

_demo_signal() {
    DEMO_INTERRUPTED=1
    _bar_clear
    say "Interrupted (SIG$1)."
    exit $(( 128 + $2 ))
}

_show_failure_logs() {
    local f
    say "What the lab saw (last lines of each log):"
    for f in "$LAB_DIR/sipkeep.log" "$LAB_DIR/demo-lab.log"; do
        [[ -s "$f" ]] || continue
        detail "----- ${f##*/}"
        tail -n 15 "$f" | sed 's/^/        /'
    done
    detail "-----  (E2E_ARTIFACTS=/some/dir keeps all the lab's logs; DEMO_VERBOSE=1 prints more)"
}

# --------------------------------------------------------- live watching

# Start a capture of RFC 5626 CRLF keep-alives between the router and the edge
# (pings CRLFCRLF out, pongs CRLF back; same filter as lib.sh's ka_watch_start).
_ka_capture_start() {
    local hl='((tcp[12:1] & 0xf0) >> 2)'
    local plen="(ip[2:2] - ((ip[0] & 0x0f) << 2) - $hl)"
    local filter="tcp and host $EDGE_IP and port $EDGE_TCP_PORT and"
    filter+=" (($plen = 4 and tcp[$hl:4] = 0x0d0a0d0a) or ($plen = 2 and tcp[$hl:2] = 0x0d0a))"
    _KA_CAP=$LAB_DIR/keepalives.log
    START_LOG=$_KA_CAP start_in_ns "$NS_ROUTER" \
        tcpdump -i "$ROUTER_WAN_IF" -n -l -tt -U -Z root "$filter"
    wait_for "grep -q 'listening on' '$_KA_CAP'" 10 "tcpdump to listen" ||
        die "could not capture on the router (tcpdump did not start)"
}

# Print "PING_EPOCH PONG_EPOCH|-" per keep-alive captured so far.
_ka_list() {
    awk -v e="$EDGE_IP" '
        $2 == "IP" && index($5, e ".") == 1 && $NF == 4 { n++; ping[n] = $1; next }
        $2 == "IP" && index($3, e ".") == 1 && $NF == 2 && n > 0 && !(n in pong) { pong[n] = $1 }
        END { for (i = 1; i <= n; i++) print ping[i], ((i in pong) ? pong[i] : "-") }' "$_KA_CAP"
}

# Seconds left on the router's conntrack entry of sipkeep's TCP flow.
_flow_ct_left() {
    nat_mappings tcp | awk -v s="src=$ROUTER_WAN_IP" -v d="dst=$EDGE_IP" \
        '$4 == "ESTABLISHED" && $5 == s && $6 == d && !done { print $3; done = 1 }'
}

# Narrate keep-alives not told yet; SINCE is the epoch (s.ns) the silence began.
_ka_narrate() {
    local since=$1 i=0 ping pong now what left
    now=$(date +%s.%N)
    while read -r ping pong; do
        i=$((i + 1))
        (( i > _KA_SHOWN )) || continue
        if [[ "$pong" == - ]] && awk -v p="$ping" -v n="$now" 'BEGIN { exit !(n - p < 2) }'; then
            break   # its pong may still be on its way: tell it next tick
        fi
        what=$(awk -v p="$ping" -v q="$pong" -v s="$since" -v u="$PHONE1" 'BEGIN {
            if (p >= s) printf "+%.1f s  ", p - s
            printf "keep-alive on phone %s'"'"'s flow: sipkeep → edge ping (CRLFCRLF)", u
            if (q == "-") printf ", NO pong"; else printf ", pong (CRLF) after %.2f ms", (q - p) * 1000 }')
        left=$(_flow_ct_left || true)
        say "$what${left:+; NAT entry of the flow back at $left s}"
        _KA_SHOWN=$i
    done < <(_ka_list)
}

# What a sipkeep event means, for a newcomer.
_sk_explain() {
    case "$1" in
        *event=listening*) echo "waiting for phones on the LAN" ;;
        *event=instid_created*) echo "a new phone: sipkeep gives it a permanent RFC 5626 instance-id" ;;
        *event=flow_connecting*) echo "opening one TCP flow to the provider's edge (reg-id 1)" ;;
        *event=registered*outbound=yes*) echo "the provider uses the flow for this phone's calls; it asks for a keep-alive every 20 s (Flow-Timer)" ;;
        *event=flow_working*) echo "the edge answered the first keep-alive: the flow is verified" ;;
        *event=flow_down*) echo "the flow broke: sipkeep reconnects and registers again" ;;
        *event=privileges_kept*) echo "the lab runs sipkeep as root; an installed sipkeep drops to its own user" ;;
        *) ;;
    esac
}

# Print sipkeep's log lines (info and above) not shown yet.
_sk_narrate() {
    local line n=0 why
    [[ -n "${SK_LOG:-}" && -f "$SK_LOG" ]] || return 0
    while IFS= read -r line; do
        n=$((n + 1))
        [[ "$line" != *" level=debug "* ]] || continue
        line=${line#* }                  # the timestamp: the narration has its own
        line=${line#level=info }
        why=$(_sk_explain "$line")
        detail "sipkeep: $line${why:+  ← $why}"
    done < <(tail -n +$((_SK_SHOWN + 1)) "$SK_LOG")
    _SK_SHOWN=$((_SK_SHOWN + n))
}

# The NAT's UDP mapping of a LAN address as "PUBLIC_PORT SECONDS_LEFT" (none: empty).
_udp_mapping() {
    nat_mappings udp | awk -v s="src=$1" '
        $4 == s && !done { for (i = 5; i <= NF; i++) if ($i ~ /^dport=/) p = substr($i, 7); print p, $3; done = 1 }'
}

# silence SECONDS [LAN_IP]: nobody sends anything for SECONDS; narrate live what
# happens meanwhile: keep-alives, sipkeep's log, the NAT timeouts passing, and the
# NAT forgetting LAN_IP's UDP mapping (when given).
silence() {
    local secs=$1 watch_ip=${2:-} since t0 el=0 told_udp='' told_tcp='' mapped=yes left
    since=$(date +%s.%N)
    t0=$(date +%s%N)
    while (( el < secs )); do
        _ka_narrate "$since"
        _sk_narrate
        if [[ -n "$watch_ip" && -n "$mapped" && -z "$(_udp_mapping "$watch_ip")" ]]; then
            mapped=
            say "$(awk -v s="$since" -v n="$(date +%s.%N)" 'BEGIN { printf "+%.1f s", n - s }')  the NAT forgot the mapping of phone $PHONE2 ($watch_ip): calls to it have nowhere to go"
        fi
        if (( el >= NAT_UDP_TIMEOUT )) && [[ -z "$told_udp" ]]; then
            told_udp=1
            [[ -n "$watch_ip" ]] || say "+$NAT_UDP_TIMEOUT s  the NAT's UDP timeout has passed; phone $PHONE1 does not care: it only talks to sipkeep on the LAN"
        fi
        if (( el >= NAT_TCP_ESTABLISHED_TIMEOUT )) && [[ -z "$told_tcp" && -z "$watch_ip" ]]; then
            told_tcp=1
            left=$(_flow_ct_left || true)
            say "+$NAT_TCP_ESTABLISHED_TIMEOUT s  the NAT's TCP timeout has passed too; sipkeep's flow is still mapped (${left:-?} s left): the keep-alives refresh it"
        fi
        _bar "$el" "$secs"
        _tick
        el=$(( ($(date +%s%N) - t0) / 1000000000 ))
    done
    _ka_narrate "$since"
    _sk_narrate
    _bar_clear
}

# ------------------------------------------------------------------ status

# sipkeep status, if this build has it; the registrar's view otherwise.
show_status() {
    local out rc=0
    out=$(ns_exec "$NS_ROUTER" timeout 5 "$SIPKEEP" status -c "$LAB_DIR/sipkeep.yaml" 2>&1) || rc=$?
    if [[ $rc -eq 0 && -n "$out" && "$out" != usage:* ]]; then
        detail "\$ sipkeep status -c sipkeep.yaml"
        printf '%s\n' "$out" | sed 's/^./        &/'
        return 0
    fi
    detail "(this sipkeep build has no 'status' command yet: $(head -n 1 <<<"$out"))"
    detail "Instead, the provider's registrar (kamcmd ul.dump), which sipkeep keeps registered:"
    kam_location 2>/dev/null | awk '
        $1 == "AoR:" { aor = $2 }
        $1 == "Address:" { print "        AoR " aor }
        $1 ~ /^(Address|Expires|Path|Instance|Reg-Id):$/ { $1 = $1; print "            " $0 }' || true
}

# _sk_config_add FILE KEY VALUE: append the top-level "KEY: VALUE" to FILE unless
# FILE has KEY already or this sipkeep rejects it.
_sk_config_add() {
    local file=$1 key=$2 value=$3
    ! grep -q "^$key:" "$file" || return 0
    cp "$file" "$file.before"
    echo "$key: $value" >>"$file"
    "$SIPKEEP" --check-config -c "$file" >/dev/null 2>&1 || cp "$file.before" "$file"
    rm -f -- "$file.before"
}

# -------------------------------------------------------------------- steps

step1_lab() {
    say "1/6 Building the lab (network namespaces skt-$LAB_ID-lan, -router, -wan):"
    # Box-drawing characters are 3 bytes each and printf pads bytes: pad ASCII only.
    detail "$(printf '%-26s' "phone $PHONE1  $LAN_UA_IP")─┐$(printf '%32s' '')┌─ edge proxy $EDGE_IP (Kamailio, RFC 5626)"
    detail "$(printf '%-26s' "phone $PHONE2  $LAN_UA2_IP")─┴─ NAT router $(printf '%19s' '' | sed 's/ /─/g')┼─ registrar  $REGISTRAR_IP (Kamailio)"
    detail "$(printf '%30s%-30s' '' "$ROUTER_LAN_IP | $ROUTER_WAN_IP")└─ a caller   $WAN_UAC_IP (sipp)"
    detail "$(printf '%30s' '')with sipkeep on udp:$ROUTER_LAN_IP:5060"
    detail "Like a cheap home router, the NAT forgets idle UDP after $NAT_UDP_TIMEOUT s and idle TCP after ${NAT_TCP_ESTABLISHED_TIMEOUT} s."
    [[ -x "$SIPKEEP" ]] || die "no sipkeep binary at $SIPKEEP (run: make)"
    lab_up
    trap _demo_exit EXIT
    trap '_demo_signal INT 2' INT
    trap '_demo_signal TERM 15' TERM
    kam_start registrar
    kam_start edge
    SK_LOG_LEVEL=info sk_config "$LAB_DIR/sipkeep.yaml"
    # The status command's socket in the lab dir, and no privilege drop (the demo
    # creates no system user): if this build knows the keys and sk_config did
    # not already write them.
    _sk_config_add "$LAB_DIR/sipkeep.yaml" control_socket "$LAB_DIR/sipkeep.sock"
    _sk_config_add "$LAB_DIR/sipkeep.yaml" user root
    _ka_capture_start
    sk_start "$LAB_DIR/sipkeep.yaml"
    say "    Ready: the provider runs, sipkeep runs on the router ($("$SIPKEEP" --version 2>/dev/null | head -n 1))."
    _sk_narrate
}

step2_register() {
    local uuid
    say "2/6 Phone $PHONE1 registers the old way: plain UDP, with sipkeep ($ROUTER_LAN_IP) as its outbound proxy."
    sipp_ua_register "$ROUTER_LAN_IP:5060" "$PHONE1" 3600 ||
        die "phone $PHONE1 could not register through sipkeep"
    detail "phone $PHONE1 ← 200 OK"
    _sk_narrate
    kam_location_has "$PHONE1" "Reg-Id: 1$" || die "the registrar holds no RFC 5626 binding (reg-id 1) for $PHONE1"
    uuid=$(kam_location | grep -Eo 'urn:uuid:[0-9a-f-]{36}' | head -n 1 || true)
    detail "The registrar now holds $PHONE1 as an RFC 5626 client: instance-id ${uuid:-?}, reg-id 1,"
    detail "reachable through sipkeep's TCP flow (Path with the edge's flow token). The phone was not changed."
}

step3_silence() {
    say "3/6 Silence for $IDLE s. Nobody sends anything, except sipkeep: it keeps its TCP flow alive"
    detail "with RFC 5626 keep-alives every 16-20 s (80-100 % of the Flow-Timer). Live, from the router:"
    silence "$IDLE"
}

step4_call() {
    say "4/6 A call from the internet: $WAN_UAC_IP calls sip:$PHONE1@$SIP_DOMAIN after $IDLE s of silence."
    detail "caller → edge → registrar → edge → sipkeep's TCP flow → sipkeep → phone $PHONE1 (UDP)"
    sipp_ua_answer_start 1 "$PHONE1"
    sipp_uac_call "$PHONE1" 20 ||
        die "the call did not reach phone $PHONE1 through sipkeep (INVITE final $SIPP_UAC_STATUS): that is a bug"
    sipp_ua_answer_wait 15 || die "phone $PHONE1 did not complete the call (answer, ACK, BYE)"
    _sk_narrate
    say "✔ The call was answered by phone $PHONE1 through sipkeep (180, 200 OK, ACK, then BYE): it works."
}

step5_without() {
    local m reason seen
    say "5/6 The same without sipkeep: phone $PHONE2 ($LAN_UA2_IP, same kind of phone) registers directly"
    detail "with the provider's edge over UDP, as it would behind any NAT."
    SIPP_UA_IP=$LAN_UA2_IP sipp_ua_register "$EDGE_IP:$EDGE_UDP_PORT" "$PHONE2" 3600 ||
        die "phone $PHONE2 could not register with the edge"
    m=$(_udp_mapping "$LAN_UA2_IP")
    m=${m:-? ?}
    detail "phone $PHONE2 ← 200 OK; the registrar points at the NAT's public side $ROUTER_WAN_IP:${m%% *}"
    detail "(NAT mapping $LAN_UA2_IP:$LAN_UA_PORT ↔ $ROUTER_WAN_IP:${m%% *}, ${m##* } s left unless traffic refreshes it)"
    SIPP_UA_IP=$LAN_UA2_IP sipp_ua_answer_start 1 "$PHONE2"
    if sipp_uac_call "$PHONE2" 20 && sipp_ua_answer_wait 10; then
        detail "A call right away is answered: while the NAT remembers, direct UDP works."
    else
        die "control call to phone $PHONE2 right after registering failed (INVITE final $SIPP_UAC_STATUS): the lab is broken"
    fi
    say "    Silence for $IDLE s again (sipkeep goes on keeping phone $PHONE1's flow meanwhile):"
    silence "$IDLE" "$LAN_UA2_IP"
    kam_location_has "$PHONE2" || die "the registrar dropped phone $PHONE2's binding"
    say "    The caller calls sip:$PHONE2@$SIP_DOMAIN; the registrar still sends it to $ROUTER_WAN_IP:${m%% *}."
    SIPP_UA_IP=$LAN_UA2_IP sipp_ua_answer_start 1 "$PHONE2"
    if sipp_uac_call "$PHONE2" 30; then
        die "the call reached phone $PHONE2 without sipkeep: the NAT did not forget (lab problem)"
    fi
    sipp_ua_answer_stop
    seen=$(sipp_ua_invites_seen)
    case "$SIPP_UAC_STATUS" in
        480) reason="480 Temporarily Unavailable" ;;
        408) reason="408 Request Timeout" ;;
        none) reason="no answer at all" ;;
        *) reason=$SIPP_UAC_STATUS ;;
    esac
    if [[ "$seen" -eq 0 ]]; then
        say "✘ The call to phone $PHONE2 failed ($reason): the NAT dropped the INVITE, it never reached the phone."
    else
        say "✘ The call to phone $PHONE2 failed ($reason), although $seen INVITE(s) reached it."
    fi
}

step6_status() {
    local up
    up=$(( ($(date +%s%N) - DEMO_T0) / 1000000000 ))
    say "6/6 sipkeep status, after about $up s of running:"
    show_status
    sk_stop
    _sk_narrate
}

main() {
    printf 'sipkeep demo: why a legacy SIP phone behind a NAT misses calls, and how sipkeep fixes it.\n'
    printf 'About 2 minutes. Everything runs in throw-away network namespaces and is removed\n'
    printf 'at the end, also on Ctrl-C.\n\n'
    [[ $(id -u) -eq 0 ]] || { echo "The demo needs root (network namespaces): sudo make demo" >&2; exit 1; }
    step1_lab
    step2_register
    step3_silence
    step4_call
    step5_without
    step6_status
    say "Done. With sipkeep, phone $PHONE1 got its call after $IDLE s of silence ✔; without it, phone $PHONE2 did not ✘."
}

main "$@"

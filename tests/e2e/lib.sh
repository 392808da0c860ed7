# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # the variables are the lab's API, used by scenarios
# sipkeep end-to-end lab: network namespaces, a NAT that forgets, Kamailio as an
# RFC 5626 edge proxy + registrar, sipp as the legacy UA and as the far caller,
# baresip as the reference RFC 5626 client.  Source it from a bash scenario:
#
#     . "$(dirname "$0")/lib.sh"
#     lab_up; kam_start registrar; kam_start edge; ...
#
# Topology (one lab per scenario; names carry the scenario's PID: skt-<pid>-*):
#
#   skt-<pid>-lan               skt-<pid>-router                  skt-<pid>-wan
#  +------------------+        +-------------------------+       +-------------------------------+
#  | legacy UA (sipp, |        | sipkeep (proxy mode,    |       | edge proxy (Kamailio)         |
#  |  UDP only) or    |  eth0  |  later) + MASQUERADE    |  eth0 |  198.51.100.10 udp/tcp 5060,  |
#  |  baresip         |--------|lan0               wan0 |-------|  tls 5061 (edge.test cert),   |
#  | 192.168.77.10    |  veth  | 192.168.77.1            | veth  |  5062 (wrong.test), 5063      |
#  | 192.168.77.11    |        |          198.51.100.1   |       |  (edge.test, untrusted CA),   |
#  |                  |        |                         |       |  tcp 5070 (a second path)     |
#  +------------------+        | conntrack: udp 10 s,    |       | registrar (Kamailio)          |
#   route 198.51.100.0/24      |  tcp established 30 s,  |       |  198.51.100.11 udp/tcp 5060   |
#   via 192.168.77.1           |  tcp_loose=0, INVALID   |       | far caller (sipp UAC)         |
#   (no default route          |  dropped, NEW from wan0 |       |  198.51.100.20 udp 5060       |
#    anywhere)                 |  dropped: a NAT that    |       |                               |
#                              |  really forgets         |       |                               |
#                              +-------------------------+       +-------------------------------+
#
# Traffic never leaves these namespaces: the veths are created inside them and no
# namespace has a default route.  Everything the lab starts (namespaces, processes,
# the temp dir $LAB_DIR with configs, certificates and logs) is removed by
# lab_down, which lab_up installs as the EXIT/INT/TERM trap.  Namespaces left by a
# killed run (owner PID gone) are removed by the next lab_up.
#
# Kamailio (tests/e2e/kamailio/, rendered into $LAB_DIR by kam_start): the edge
# (edge.cfg + edge-tls.cfg) is README.outbound's edge proxy: outbound, path, rr,
# stun, flow tokens in Path (;ob) and Record-Route, Flow-Timer 20 added to REGISTER
# 2xx that carry Require: outbound, tcp_connection_lifetime $EDGE_TCP_LIFETIME.  The
# registrar (registrar.cfg) is README.outbound's registrar: outbound_mode 1,
# use_path 1, usrloc in memory, received_avp for REGISTERs that reach it directly.
# Each runs in the wan namespace with its own pid file, runtime dir, log
# ($LAB_DIR/edge.log, registrar.log) and ctl socket ($LAB_DIR/edge.ctl,
# registrar.ctl):  kamcmd -s unix:$LAB_DIR/registrar.ctl ul.dump  (= kam_location).
#
# Calls: the far caller sends INVITE sip:USER@sip.test to the edge over UDP; the edge
# forwards it to the registrar, which looks the AOR up and sends it back to the edge
# with the Path as Route; the edge relays it over the flow (flow token) or, for a
# legacy UDP registration, to the NAT address it recorded (Path ;received=).
#
# Environment knobs: LAB_MAX_SECONDS (hard bound on every background process,
# default 600), E2E_ARTIFACTS (a directory: lab_down copies $LAB_DIR there before
# removing it), E2E_PCAP=1 (tcpdump on the router's wan0 into $LAB_DIR/wan.pcap),
# LAB_VERBOSE=1 (log every lab command).  A scenario may change a lab variable
# (e.g. EDGE_TCP_LIFETIME) after sourcing this file and before kam_start, and
# pick a variant Kamailio config: KAM_CFG_registrar=registrar-auth.cfg.
#
# API (each function has a comment where it is defined):
#   log_step MSG | die MSG | wait_for COND TIMEOUT [WHAT] | idle SECONDS
#   lab_up | lab_down | lab_wan6 (before lab_up: IPv6-only WAN) | ns_exec NS CMD...
#   start_in_ns NS CMD... (sets LAST_PID)
#   stop_pid PID [GRACE] | run_bounded SECONDS NS CMD...
#   kam_start edge|registrar | kam_stop [edge|registrar] | kam_restart edge|registrar
#   kam_cmd edge|registrar RPC... | kam_location | kam_location_has USER [ERE]
#   kam_tcp_conns
#   sipp_ua_register TARGET USER [EXPIRES] | sipp_ua_answer_start [CALLS] [USER]
#   sipp_ua_answer_wait TIMEOUT | sipp_ua_answer_stop | sipp_ua_invites_seen
#   sipp_ob_ua_start USER [TARGET] | sipp_uac_call AOR [TIMEOUT] (sets SIPP_UAC_STATUS)
#   baresip_start USER tcp|tls|udp [ACCOUNT_PARAMS] (sets BARESIP_UUID) | baresip_stop
#   ka_watch_start [PORT] | ka_watch_stop (sets KA_PINGS KA_PONGS KA_INTERVALS)
#   baresip_legacy_start USER PROXY | baresip_cmd LINE | baresip_log_mark
#   baresip_got STATUS METHOD [MARK] | baresip_got_request METHOD [MARK]
#   sipp_uas_start NS IP:PORT USER SCENARIO | sipp_uas_got METHOD [STATUS]
#   far_call_start AOR SCENARIO | far_call_answered | far_call_wait | far_call_got
#   baresip_top_route METHOD MARK ERE | baresip_cell out|in phone|far USER RR_ERE
#   stun_mapped NS IP PORT | nat_mappings [udp|tcp] | wan_change OLD NEW

if [[ -n "${_SKT_LIB_LOADED:-}" ]]; then
    return 0
fi
_SKT_LIB_LOADED=1
export LC_ALL=C   # stable number formats and tool output to parse

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------- addressing
LAB_ID=$$
NS_LAN=skt-$LAB_ID-lan
NS_ROUTER=skt-$LAB_ID-router
NS_WAN=skt-$LAB_ID-wan

LAN_NET=192.168.77.0/24
LAN_PREFIX=24
LAN_UA_IP=192.168.77.10         # the legacy UA (sipp) / baresip
LAN_UA2_IP=192.168.77.11        # a second LAN host, for multi-UA scenarios
LAN_UA_PORT=5060
ROUTER_LAN_IP=192.168.77.1      # sipkeep's proxy address (the UA's outbound proxy)
ROUTER_LAN_IF=lan0
ROUTER_WAN_IF=wan0

WAN_NET=198.51.100.0/24         # TEST-NET-2
WAN_PREFIX=24
ROUTER_WAN_IP=198.51.100.1      # the NAT's public address
EDGE_IP=198.51.100.10
EDGE_UDP_PORT=5060
EDGE_TCP_PORT=5060
EDGE_TCP2_PORT=5070              # a second TCP listener: a second edge path (reg-id 2)
EDGE_TLS_PORT=5061              # certificate edge.test, signed by $CA_FILE
EDGE_TLS_WRONG_NAME_PORT=5062   # certificate wrong.test, signed by $CA_FILE
EDGE_TLS_UNTRUSTED_PORT=5063    # certificate edge.test, signed by an unknown CA
EDGE_TLS_NAME=edge.test
EDGE_TLS_WRONG_NAME=wrong.test
REGISTRAR_IP=198.51.100.11
REGISTRAR_PORT=5060             # udp and tcp
WAN_UAC_IP=198.51.100.20        # the far caller (sipp UAC)
WAN_UAC_PORT=5060
WAN_UAC_HOST=$WAN_UAC_IP        # the far caller as a SIP URI host (bracketed on IPv6)

SIP_DOMAIN=sip.test             # AOR domain: sip:USER@sip.test
FLOW_TIMER=20                   # Flow-Timer the edge puts in REGISTER 2xx
EDGE_TCP_LIFETIME=$((FLOW_TIMER + 10))
EDGE_FLOW_TOKEN_SECRET=sipkeep-e2e-flow-token-secret
NAT_UDP_TIMEOUT=10              # conntrack udp (and udp stream) timeout, seconds
NAT_TCP_ESTABLISHED_TIMEOUT=30  # conntrack tcp established timeout, seconds

LAB_MAX_SECONDS=${LAB_MAX_SECONDS:-600}

# Set by lab_up (empty before): the run's temp dir and the TLS material in it.
LAB_DIR=
CA_FILE=            # CA that signed the edge.test and wrong.test certificates
CA_KEY=
UNTRUSTED_CA_FILE=  # CA that signed the certificate on $EDGE_TLS_UNTRUSTED_PORT
EDGE_CERT=
EDGE_KEY=

_LAB_T0=$(date +%s%N)
_LAB_PIDS=()        # every background process start_in_ns started
declare -A _KAM_PID=()
_SIPP_UAS_PID=
_SIPP_UAS_TRACE=
_BARESIP_PID=
_LAB_UP=

# ------------------------------------------------------------------- logging

# log_step MSG...: one timestamped line (wall clock and seconds since start) on stdout.
log_step() {
    local now
    now=$(date +%s%N)
    printf '[%s +%6.1fs] %s\n' "$(date +%T)" \
        "$(( (now - _LAB_T0) / 1000000 ))e-3" "$*"
}

# die MSG...: log MSG as a failure and exit 1 (the trap tears the lab down).
die() {
    log_step "FAIL: $*"
    exit 1
}

_lab_run() {
    if [[ -n "${LAB_VERBOSE:-}" ]]; then
        log_step "+ $*"
    fi
    "$@"
}

# wait_for COND TIMEOUT [WHAT]: evaluate the shell condition COND every 0.2 s (TIMEOUT: whole seconds)
# until it succeeds (return 0) or TIMEOUT seconds pass (return 1, logged).
wait_for() {
    local cond=$1 timeout=$2 what=${3:-$1}
    local deadline=$(( $(date +%s%N) + timeout * 1000000000 ))
    while :; do
        if eval "$cond" >/dev/null 2>&1; then
            return 0
        fi
        if (( $(date +%s%N) >= deadline )); then
            log_step "timed out after ${timeout}s waiting for: $what"
            return 1
        fi
        sleep 0.2
    done
}

# --------------------------------------------------------------- processes

# ns_exec NS CMD...: run CMD inside namespace NS (foreground).
ns_exec() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# start_in_ns NS CMD...: start CMD in the background inside NS, bounded by
# LAB_MAX_SECONDS, stdout+stderr to $START_LOG (default $LAB_DIR/bg-N.log).
# Sets LAST_PID (do not call it in $(...): the PID must be tracked by this shell).
# lab_down stops every process started so.
LAST_PID=
start_in_ns() {
    local ns=$1
    shift
    local log=${START_LOG:-$LAB_DIR/bg-${#_LAB_PIDS[@]}.log}
    if [[ -n "${LAB_VERBOSE:-}" ]]; then
        log_step "+ [$ns] $* > $log"
    fi
    # timeout(1) passes a SIGTERM on and SIGKILLs LAB_KILL_AFTER seconds later
    # (default 5; make e2e-asan/e2e-valgrind give the leak check at exit more).
    timeout -k "${LAB_KILL_AFTER:-5}" "$LAB_MAX_SECONDS" ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
    LAST_PID=$!
    _LAB_PIDS+=("$LAST_PID")
}

# stop_pid PID [GRACE]: SIGTERM, wait up to GRACE seconds (default 5), then
# SIGKILL to PID and its process group (start_in_ns/run_bounded start each command
# under timeout(1), which leads a group of its own).  Safe on a PID that ended.
stop_pid() {
    local pid=$1 grace=${2:-5} i
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for (( i = 0; i < grace * 10; i++ )); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# run_bounded SECONDS NS CMD...: run CMD in NS in the foreground, killed after
# SECONDS, yet interruptible (Ctrl-C reaches the trap at once).  Returns CMD's
# status (124 on timeout).  Output goes to the caller's stdout/stderr.
run_bounded() {
    local secs=$1 ns=$2 rc=0
    shift 2
    if [[ -n "${LAB_VERBOSE:-}" ]]; then
        log_step "+ [$ns] $*"
    fi
    timeout -k 5 "$secs" ip netns exec "$ns" "$@" </dev/null &
    local pid=$!
    _LAB_PIDS+=("$pid")
    wait "$pid" || rc=$?
    return "$rc"
}

# idle SECONDS: sleep, interruptibly.  Only for idle time a scenario is about.
idle() {
    sleep "$1" &
    local pid=$!
    _LAB_PIDS+=("$pid")
    wait "$pid"
}

# -------------------------------------------------------------- lab up/down

# Remove skt-* namespaces and /tmp/skt-* dirs whose owner PID no longer runs.
_lab_clean_stale() {
    local ns pid dir
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        [[ "$ns" == skt-* ]] || continue
        pid=${ns#skt-}
        pid=${pid%%-*}
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            continue
        fi
        log_step "removing stale namespace $ns"
        _ns_kill_all "$ns"
        ip netns del "$ns" 2>/dev/null || true
        rm -rf -- "/etc/netns/$ns"
    done
    for dir in /etc/netns/skt-*; do
        [[ -d "$dir" ]] || continue
        ns=${dir#/etc/netns/}
        ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns" || rm -rf -- "$dir"
    done
    for dir in /tmp/skt-*; do
        [[ -d "$dir" ]] || continue
        pid=${dir#/tmp/skt-}
        pid=${pid%%.*}
        if [[ "$pid" =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null; then
            rm -rf -- "$dir"
        fi
    done
}

# Kill (by PID) every process still inside namespace NS.
_ns_kill_all() {
    local ns=$1 pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n "$pids" ]] || return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    sleep 0.3
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [[ -z "$pids" ]] || kill -KILL $pids 2>/dev/null || true
}

_lab_trap_exit() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$_LAB_UP" && $rc -ne 0 ]]; then
        _lab_dump_logs
    fi
    lab_down
    exit "$rc"
}

_lab_trap_signal() {
    log_step "interrupted by SIG$1"
    exit $(( 128 + $2 ))
}

# lab_up: create the three namespaces, links, NAT and TLS material; install the
# cleanup trap.  Kamailio is not started: use kam_start.
lab_up() {
    trap _lab_trap_exit EXIT
    trap '_lab_trap_signal INT 2' INT
    trap '_lab_trap_signal TERM 15' TERM
    [[ $(id -u) -eq 0 ]] || die "the e2e lab needs root (network namespaces)"
    local tool
    for tool in ip iptables sysctl conntrack tcpdump openssl kamailio kamcmd sipp baresip ss timeout; do
        command -v "$tool" >/dev/null || die "missing tool '$tool' (sh packaging/deps.sh e2e installs the lab's packages)"
    done
    _lab_clean_stale
    LAB_DIR=$(mktemp -d "/tmp/skt-$LAB_ID.XXXXXX")
    _LAB_UP=1
    log_step "lab up: $NS_LAN $NS_ROUTER $NS_WAN, dir $LAB_DIR"
    _lab_netns
    _lab_nat
    _lab_certs
    if [[ -n "${E2E_PCAP:-}" ]]; then
        START_LOG=$LAB_DIR/tcpdump.log start_in_ns "$NS_ROUTER" \
            tcpdump -i "$ROUTER_WAN_IF" -n -U -s 0 -Z root -w "$LAB_DIR/wan.pcap"
    fi
}

_lab_netns() {
    local ns
    for ns in "$NS_LAN" "$NS_ROUTER" "$NS_WAN"; do
        _lab_run ip netns add "$ns"
        _lab_run ip -n "$ns" link set lo up
        ns_exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ns_exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    done
    # Both veth ends are created inside the namespaces: nothing touches the host's.
    _lab_run ip -n "$NS_LAN" link add eth0 type veth peer name "$ROUTER_LAN_IF" netns "$NS_ROUTER"
    _lab_run ip -n "$NS_ROUTER" link add "$ROUTER_WAN_IF" type veth peer name eth0 netns "$NS_WAN"
    _lab_run ip -n "$NS_LAN" addr add "$LAN_UA_IP/$LAN_PREFIX" dev eth0
    _lab_run ip -n "$NS_LAN" addr add "$LAN_UA2_IP/$LAN_PREFIX" dev eth0
    _lab_run ip -n "$NS_ROUTER" addr add "$ROUTER_LAN_IP/$LAN_PREFIX" dev "$ROUTER_LAN_IF"
    _lab_run ip -n "$NS_ROUTER" addr add "$ROUTER_WAN_IP/$WAN_PREFIX" dev "$ROUTER_WAN_IF"
    _lab_run ip -n "$NS_WAN" addr add "$EDGE_IP/$WAN_PREFIX" dev eth0
    _lab_run ip -n "$NS_WAN" addr add "$REGISTRAR_IP/$WAN_PREFIX" dev eth0
    _lab_run ip -n "$NS_WAN" addr add "$WAN_UAC_IP/$WAN_PREFIX" dev eth0
    _lab_run ip -n "$NS_LAN" link set eth0 up
    _lab_run ip -n "$NS_ROUTER" link set "$ROUTER_LAN_IF" up
    _lab_run ip -n "$NS_ROUTER" link set "$ROUTER_WAN_IF" up
    _lab_run ip -n "$NS_WAN" link set eth0 up
    # The LAN reaches the WAN only through the router; the WAN needs no route back
    # (the NAT's address is on its link).  No default route anywhere.
    _lab_run ip -n "$NS_LAN" route add "$WAN_NET" via "$ROUTER_LAN_IP"
    [[ -z "${_LAB_WAN6:-}" ]] || _lab_wan6_addrs
}

_lab_nat() {
    local r=(ip netns exec "$NS_ROUTER")
    _lab_run "${r[@]}" sysctl -qw net.ipv4.ip_forward=1
    _lab_run "${r[@]}" iptables -t nat -A POSTROUTING -o "$ROUTER_WAN_IF" -j MASQUERADE
    # A NAT that forgets: with tcp_loose=0 a segment of an expired connection is
    # INVALID (not silently re-adopted) and dropped, in the forward path and for
    # the router's own connections (sipkeep's flows) alike.
    _lab_run "${r[@]}" iptables -A FORWARD -m conntrack --ctstate INVALID -j DROP
    _lab_run "${r[@]}" iptables -A INPUT ! -i lo -m conntrack --ctstate INVALID -j DROP
    _lab_run "${r[@]}" iptables -A OUTPUT ! -o lo -m conntrack --ctstate INVALID -j DROP
    # Like a home router's firewall: nothing unsolicited from the WAN, so a UDP
    # mapping (the router's own too) is gone once its conntrack entry expired.
    _lab_run "${r[@]}" iptables -A FORWARD -i "$ROUTER_WAN_IF" -m conntrack --ctstate NEW -j DROP
    _lab_run "${r[@]}" iptables -A INPUT -i "$ROUTER_WAN_IF" -m conntrack --ctstate NEW -j DROP
    # Conntrack sysctls exist in the namespace once a conntrack rule is in: set them now.
    _lab_run "${r[@]}" sysctl -qw \
        net.netfilter.nf_conntrack_udp_timeout="$NAT_UDP_TIMEOUT" \
        net.netfilter.nf_conntrack_udp_timeout_stream="$NAT_UDP_TIMEOUT" \
        net.netfilter.nf_conntrack_tcp_loose=0 \
        net.netfilter.nf_conntrack_tcp_timeout_established="$NAT_TCP_ESTABLISHED_TIMEOUT"
    [[ $("${r[@]}" sysctl -n net.netfilter.nf_conntrack_udp_timeout) == "$NAT_UDP_TIMEOUT" ]] ||
        die "could not set the NAT's udp timeout"
}

# Test CA, edge.test and wrong.test certificates from it, and edge.test from an
# unknown CA.  EC P-256 keys: quick to generate.
_lab_certs() {
    local d=$LAB_DIR/tls
    mkdir -p "$d"
    CA_FILE=$d/ca.pem
    CA_KEY=$d/ca.key
    UNTRUSTED_CA_FILE=$d/untrusted-ca.pem
    EDGE_CERT=$d/edge.pem
    EDGE_KEY=$d/edge.key
    _cert_ca "$d/ca" "sipkeep e2e test CA"
    _cert_ca "$d/untrusted-ca" "sipkeep e2e untrusted CA"
    _cert_leaf "$d/edge" "$EDGE_TLS_NAME" "$d/ca"
    _cert_leaf "$d/wrong" "$EDGE_TLS_WRONG_NAME" "$d/ca"
    _cert_leaf "$d/untrusted-edge" "$EDGE_TLS_NAME" "$d/untrusted-ca"
}

_cert_ca() {
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$LAB_DIR/openssl.log" ||
        die "openssl: cannot make CA $2"
}

_cert_leaf() {
    local out=$1 name=$2 ca=$3
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$out.key" -out "$out.csr" -subj "/CN=$name" 2>>"$LAB_DIR/openssl.log" ||
        die "openssl: cannot make a key for $name"
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' \
        "$name" >"$out.ext"
    openssl x509 -req -in "$out.csr" -CA "$ca.pem" -CAkey "$ca.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days 2 -extfile "$out.ext" -out "$out.pem" 2>>"$LAB_DIR/openssl.log" ||
        die "openssl: cannot sign $name"
}

# Print the tail of the lab's logs (called on failure, before cleanup): Kamailio,
# baresip, tcpdump, and sipp's unexpected messages (its screen logs say less).
_lab_dump_logs() {
    local f
    [[ -n "$LAB_DIR" && -d "$LAB_DIR" ]] || return 0
    for f in "$LAB_DIR"/*.log "$LAB_DIR"/*.err; do
        [[ -s "$f" ]] || continue
        case "${f##*/}" in
            openssl.log | *.check.log | sipp-*.log) continue ;;
        esac
        printf -- '----- %s (last 40 lines) -----\n' "${f##*/}"
        tail -n 40 "$f"
    done
    printf -- '----- end of logs -----\n'
}

# lab_down: stop everything the lab started, delete the namespaces and $LAB_DIR.
# Idempotent; installed as the EXIT trap by lab_up.
lab_down() {
    local ns i
    [[ -z "$_LAB_UP" ]] || log_step "lab down"
    # Newest first: clients end (and unregister) while the servers still run.
    for (( i = ${#_LAB_PIDS[@]} - 1; i >= 0; i-- )); do
        stop_pid "${_LAB_PIDS[i]}" 3
    done
    _LAB_PIDS=()
    for ns in "$NS_LAN" "$NS_ROUTER" "$NS_WAN"; do
        ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns" || continue
        _ns_kill_all "$ns"
        ip netns del "$ns" 2>/dev/null || true
    done
    for ns in "$NS_LAN" "$NS_ROUTER" "$NS_WAN"; do
        rm -rf -- "/etc/netns/$ns"
    done
    if [[ -n "$LAB_DIR" && -d "$LAB_DIR" ]]; then
        if [[ -n "${E2E_ARTIFACTS:-}" ]] && mkdir -p "$E2E_ARTIFACTS"; then
            cp -a "$LAB_DIR" "$E2E_ARTIFACTS/$(basename "$0" .sh)-$LAB_ID" 2>/dev/null || true
        fi
        rm -rf -- "$LAB_DIR"
    fi
    LAB_DIR=
    _LAB_UP=
}

# ------------------------------------------- IPv6-only WAN (DS-Lite variant)

# lab_wan6: call before lab_up.  The WAN side becomes IPv6-only (ULA
# fd00:5::/64, no IPv4 there): the router's wan0 fd00:5::1, the edge
# fd00:5::10, the registrar fd00:5::11, the far caller fd00:5::20.  The LAN
# stays IPv4 (a phone behind a DS-Lite line: only sipkeep on the router
# speaks IPv6).  The router's IPv6 firewall forgets as its IPv4 NAT does:
# nothing unsolicited from wan0, INVALID dropped (the conntrack timeouts are
# the shared sysctls _lab_nat sets).  EDGE_IP and REGISTRAR_IP become SIP
# hosts in brackets (Kamailio listen=, sipp targets, sipkeep URIs);
# WAN_UAC_IP stays a bare address (sipp -i), WAN_UAC_HOST is its bracketed
# form.  Tools that filter on EDGE_IP (ka_watch_*) do not work in this variant.
# lab_wan6 dual: the WAN link keeps its IPv4 lab and gets these IPv6
# addresses as well (EDGE_IP6 ...); the lab's variables stay IPv4.
WAN6_NET=fd00:5::/64
ROUTER_WAN_IP6=fd00:5::1
EDGE_IP6=fd00:5::10
REGISTRAR_IP6=fd00:5::11
WAN_UAC_IP6=fd00:5::20
lab_wan6() {
    _LAB_WAN6=${1:-only}
}

# Replaces the WAN link's IPv4 addresses by lab_wan6's and switches the
# lab's WAN variables to them (called by _lab_netns, which made the IPv4 lab).
_lab_wan6_addrs() {
    local ns dev a
    for ns in "$NS_ROUTER:$ROUTER_WAN_IF" "$NS_WAN:eth0"; do
        dev=${ns#*:}
        ns=${ns%%:*}
        ns_exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
            "net.ipv6.conf.$dev.disable_ipv6=0" net.ipv6.conf.lo.disable_ipv6=0
        [[ $_LAB_WAN6 == dual ]] || _lab_run ip -n "$ns" -4 addr flush dev "$dev"
    done
    # nodad: usable at once, no duplicate address detection on a two-host link
    _lab_run ip -n "$NS_ROUTER" addr add "$ROUTER_WAN_IP6/64" dev "$ROUTER_WAN_IF" nodad
    for a in "$EDGE_IP6" "$REGISTRAR_IP6" "$WAN_UAC_IP6"; do
        _lab_run ip -n "$NS_WAN" addr add "$a/64" dev eth0 nodad
    done
    if [[ $_LAB_WAN6 != dual ]]; then
        WAN_NET=$WAN6_NET
        WAN_PREFIX=64
        ROUTER_WAN_IP=$ROUTER_WAN_IP6
        EDGE_IP=[$EDGE_IP6]
        REGISTRAR_IP=[$REGISTRAR_IP6]
        WAN_UAC_IP=$WAN_UAC_IP6
        WAN_UAC_HOST=[$WAN_UAC_IP]
    fi
    local r=(ip netns exec "$NS_ROUTER")
    _lab_run "${r[@]}" ip6tables -A INPUT ! -i lo -m conntrack --ctstate INVALID -j DROP
    _lab_run "${r[@]}" ip6tables -A OUTPUT ! -o lo -m conntrack --ctstate INVALID -j DROP
    _lab_run "${r[@]}" ip6tables -A INPUT -i "$ROUTER_WAN_IF" -p ipv6-icmp -j ACCEPT
    _lab_run "${r[@]}" ip6tables -A INPUT -i "$ROUTER_WAN_IF" -m conntrack --ctstate NEW -j DROP
}

# --------------------------------------------------------------- Kamailio

# Render tests/e2e/kamailio/NAME.cfg (or the file at an absolute path) into $LAB_DIR,
# replacing %VAR% by the lab's values.
_kam_render() {
    local src=$1 dst=$2 v
    [[ "$src" == /* ]] || src=$E2E_DIR/kamailio/$src   # an absolute path: a generated variant
    local vars=(EDGE_IP EDGE_UDP_PORT EDGE_TCP_PORT EDGE_TCP2_PORT EDGE_TLS_PORT EDGE_TLS_WRONG_NAME_PORT
        EDGE_TLS_UNTRUSTED_PORT REGISTRAR_IP REGISTRAR_PORT SIP_DOMAIN FLOW_TIMER
        EDGE_TCP_LIFETIME EDGE_FLOW_TOKEN_SECRET LAB_DIR WAN_UAC_HOST WAN_UAC_PORT)
    local args=()
    for v in "${vars[@]}"; do
        args+=(-e "s|%$v%|${!v}|g")
    done
    sed "${args[@]}" "$src" >"$dst"
    if grep -q '%[A-Z_]*%' "$dst"; then
        die "unrendered placeholder in $dst: $(grep -o '%[A-Z_]*%' "$dst" | head -n 1)"
    fi
}

# kam_cmd edge|registrar RPC [ARGS...]: a kamcmd RPC on that instance's ctl socket.
kam_cmd() {
    local which=$1
    shift
    timeout 5 kamcmd -s "unix:$LAB_DIR/$which.ctl" "$@"
}

# kam_start edge|registrar: start that Kamailio in the wan namespace (foreground
# mode, own pid file, runtime dir and ctl socket $LAB_DIR/NAME.ctl; log
# $LAB_DIR/NAME.log) and wait until it answers on its ctl socket and listens.
kam_start() {
    local which=$1 cfg rundir ip port
    case "$which" in
        edge) ip=$EDGE_IP; port=$EDGE_UDP_PORT ;;
        registrar) ip=$REGISTRAR_IP; port=$REGISTRAR_PORT ;;
        *) die "kam_start: edge or registrar, not '$which'" ;;
    esac
    [[ -z "${_KAM_PID[$which]:-}" ]] || die "kam_start: $which already running"
    cfg=$LAB_DIR/$which.cfg
    rundir=$LAB_DIR/$which.run
    mkdir -p "$rundir"
    # KAM_CFG_edge / KAM_CFG_registrar: a variant config under kamailio/ instead
    # (e.g. registrar-auth.cfg); set by a scenario before kam_start.
    local variant=KAM_CFG_$which
    _kam_render "${!variant:-$which.cfg}" "$cfg"
    if [[ "$which" == edge ]]; then
        _kam_render edge-tls.cfg "$LAB_DIR/edge-tls.cfg"
    fi
    ns_exec "$NS_WAN" kamailio -c -f "$cfg" >"$LAB_DIR/$which.check.log" 2>&1 ||
        { cat "$LAB_DIR/$which.check.log"; die "kamailio $which: config check failed"; }
    START_LOG=$LAB_DIR/$which.log start_in_ns "$NS_WAN" \
        kamailio -DD -E -f "$cfg" -P "$rundir/kamailio.pid" -Y "$rundir" -w "$rundir" -m 64 -M 8
    _KAM_PID[$which]=$LAST_PID
    wait_for "kam_cmd $which core.version && _ns_listens $NS_WAN udp $ip:$port &&
        _ns_listens $NS_WAN tcp $ip:$port" 15 \
        "kamailio $which up" || die "kamailio $which did not start (see $which.log)"
    log_step "kamailio $which up (pid $LAST_PID)"
}

# _ns_listens NS udp|tcp ADDR:PORT: is a socket listening there?
_ns_listens() {
    local flag=-lnu
    [[ "$2" == tcp ]] && flag=-lnt
    ns_exec "$1" ss -H "$flag" "src $3" | grep -q .
}

# kam_stop [edge|registrar]: stop that Kamailio (both without argument).
kam_stop() {
    local which list=("$@")
    [[ ${#list[@]} -gt 0 ]] || list=(edge registrar)
    for which in "${list[@]}"; do
        [[ -n "${_KAM_PID[$which]:-}" ]] || continue
        stop_pid "${_KAM_PID[$which]}" 10
        unset "_KAM_PID[$which]"
        log_step "kamailio $which stopped"
    done
}

# kam_restart edge|registrar: stop and start it again (its TCP/TLS flows die).
kam_restart() {
    kam_stop "$1"
    kam_start "$1"
}

# kam_tcp_conns: print the edge's TCP/TLS connections (kamcmd core.tcp_list).
kam_tcp_conns() {
    kam_cmd edge core.tcp_list
}

# kam_location: print the registrar's location table (kamcmd ul.dump).
kam_location() {
    kam_cmd registrar ul.dump
}

# kam_location_has USER [PATTERN]: does the location table hold a binding for
# AOR USER (whose dump also matches the extended regexp PATTERN, if given)?
kam_location_has() {
    local user=$1 pattern=${2:-} dump
    dump=$(kam_location 2>/dev/null | _ul_aor_block "$user") || return 1
    grep -q 'Contact:' <<<"$dump" || return 1
    [[ -z "$pattern" ]] || grep -Eq -- "$pattern" <<<"$dump"
}

# Print the ul.dump lines that belong to AOR USER (from its "AoR:" line to the next).
_ul_aor_block() {
    awk -v aor="$1" '
        tolower($1) == "aor:" { inside = ($2 == aor) }
        inside { print; found = 1 }
        END { exit !found }'
}

# ------------------------------------------------------------------ sipp

_SIPP_DIR=$E2E_DIR/sipp

# sipp_ua_register TARGET USER [EXPIRES]: the legacy UA (sipp, UDP, one socket on
# ${SIPP_UA_IP:-$LAN_UA_IP}:${SIPP_UA_PORT:-$LAN_UA_PORT} in the lan namespace,
# or in ${SIPP_UA_NS}: e.g. $NS_ROUTER for a PBX on sipkeep's own host)
# sends one REGISTER for sip:USER@$SIP_DOMAIN with Contact <sip:USER@its address>
# to TARGET (ip[:port]) and waits for 200.  Returns 0 on 200 OK.
sipp_ua_register() {
    local target=$1 user=$2 expires=${3:-3600} rc=0
    local ip=${SIPP_UA_IP:-$LAN_UA_IP} port=${SIPP_UA_PORT:-$LAN_UA_PORT}
    local tag=reg-$user-$((++_SIPP_SEQ))
    run_bounded 20 "${SIPP_UA_NS:-$NS_LAN}" sipp -sf "$_SIPP_DIR/ua_register.xml" -t u1 -m 1 \
        -i "$ip" -p "$port" -s "$user" -key domain "$SIP_DOMAIN" -key expires "$expires" \
        -nostdin -timeout 15s -timeout_error -recv_timeout 10000 \
        -trace_msg -message_file "$LAB_DIR/sipp-$tag.msg" \
        -trace_err -error_file "$LAB_DIR/sipp-$tag.err" \
        "$target" >"$LAB_DIR/sipp-$tag.log" 2>&1 || rc=$?
    log_step "legacy UA $user REGISTER to $target (expires $expires): $(_sipp_last_status "$LAB_DIR/sipp-$tag.msg") (sipp rc $rc)"
    [[ "$rc" -ne 0 ]] || _sipp_reg_settle "$LAB_DIR/sipp-$tag.msg"
    return "$rc"
}
_SIPP_SEQ=0

# _sipp_reg_settle MSG_TRACE: a phone that sent its REGISTER again before the
# answer came gets the answer once more for each copy (RFC 3261 §17.2.2), and
# the next sipp on the phone's port (sipp_ua_answer_start) would take such a
# late 200 for a call of its own and abort (seen under valgrind, where a TLS
# handshake outlasts the phone's 500 ms).  A real phone's transaction layer
# absorbs it.  So when sipp sent copies and sipkeep logs at debug level
# (sk_lib.sh's default), wait until sipkeep has dealt with each copy: it logs
# ua_register_retransmission after the answer is sent.
_sipp_reg_settle() {
    local msg=$1 copies cid
    [[ -n "${SK_LOG:-}" && -f "${SK_LOG:-}" ]] || return 0
    copies=$(grep -c '^REGISTER sip:' "$msg" 2>/dev/null || true)
    (( copies > 1 )) || return 0
    cid=$(grep -m 1 -i '^Call-ID:' "$msg" | cut -d: -f2- | tr -d ' \r')
    wait_for "(( \$(_sk_register_retx_logged '$cid') >= $(( copies - 1 )) ))" 10 \
        "sipkeep to deal with the phone's $(( copies - 1 )) resent REGISTER(s)" &&
        log_step "the phone sent its REGISTER $copies times; sipkeep dealt with every copy"
}
_sk_register_retx_logged() {
    grep -F "call_id=\"$1\"" "$SK_LOG" 2>/dev/null | grep -c 'event=ua_register_retransmission' || true
}

# Status code of the last response in a sipp message trace ("none" if none).
_sipp_last_status() {
    local s
    s=$(grep -Eo '^SIP/2\.0 [0-9]{3}' "$1" 2>/dev/null | tail -n 1 | cut -d' ' -f2)
    echo "${s:-none}"
}

# sipp_ua_answer_start [CALLS] [USER]: the legacy UA (same address as
# sipp_ua_register) waits in the background for CALLS (default 1) INVITEs and
# answers each: 180, 200 with SDP, ACK, then the caller's BYE.
sipp_ua_answer_start() {
    local calls=${1:-1} user=${2:-ua}
    local ip=${SIPP_UA_IP:-$LAN_UA_IP} port=${SIPP_UA_PORT:-$LAN_UA_PORT}
    local tag=uas-$((++_SIPP_SEQ))
    [[ -z "$_SIPP_UAS_PID" ]] || die "sipp_ua_answer_start: one is already running"
    _SIPP_UAS_TRACE=$LAB_DIR/sipp-$tag.msg
    : >"$_SIPP_UAS_TRACE"
    START_LOG=$LAB_DIR/sipp-$tag.log start_in_ns "${SIPP_UA_NS:-$NS_LAN}" \
        sipp -sf "$_SIPP_DIR/ua_answer.xml" -t u1 -m "$calls" -i "$ip" -p "$port" -s "$user" \
        -mp 16000 -nostdin -trace_msg -message_file "$_SIPP_UAS_TRACE" \
        -trace_err -error_file "$LAB_DIR/sipp-$tag.err"
    _SIPP_UAS_PID=$LAST_PID
    wait_for "_ns_listens ${SIPP_UA_NS:-$NS_LAN} udp $ip:$port" 10 "legacy UA listening on $ip:$port" ||
        die "legacy UA (sipp UAS) did not start"
}

# sipp_ua_answer_wait TIMEOUT: wait for the answering UA to finish its CALLS;
# returns sipp's status (0: every call answered and ended with BYE), 124 on timeout.
sipp_ua_answer_wait() {
    local t=$1 rc=0
    [[ -n "$_SIPP_UAS_PID" ]] || die "sipp_ua_answer_wait: none running"
    wait_for "! kill -0 $_SIPP_UAS_PID" "$t" "legacy UA to finish its calls" || {
        sipp_ua_answer_stop
        return 124
    }
    wait "$_SIPP_UAS_PID" || rc=$?
    _SIPP_UAS_PID=
    return "$rc"
}

# sipp_ua_answer_stop: stop the answering UA (whatever it is doing).
sipp_ua_answer_stop() {
    [[ -n "$_SIPP_UAS_PID" ]] || return 0
    stop_pid "$_SIPP_UAS_PID" 3
    _SIPP_UAS_PID=
}

# sipp_ua_invites_seen: how many INVITEs (retransmissions included) reached the
# answering UA started last.
sipp_ua_invites_seen() {
    grep -c '^INVITE ' "$_SIPP_UAS_TRACE" 2>/dev/null || true
}

# sipp_ob_ua_start USER [TARGET]: an RFC 5626 UA over TCP that never sends
# keep-alives (sipp, in lan on the same address as the legacy UA): it registers
# sip:USER@$SIP_DOMAIN with Supported: outbound, +sip.instance ($SIPP_OB_UUID) and
# reg-id 1 to TARGET (default the edge's TCP port), holds that connection and
# answers INVITEs arriving over it.  Runs until sipp_ua_answer_stop;
# sipp_ua_invites_seen counts the INVITEs it got.
SIPP_OB_UUID=
sipp_ob_ua_start() {
    local user=$1 target=${2:-$EDGE_IP:$EDGE_TCP_PORT}
    local ip=${SIPP_UA_IP:-$LAN_UA_IP} port=${SIPP_UA_PORT:-$LAN_UA_PORT}
    local tag=obua-$((++_SIPP_SEQ))
    [[ -z "$_SIPP_UAS_PID" ]] || die "sipp_ob_ua_start: a UA is already running"
    SIPP_OB_UUID=$(cat /proc/sys/kernel/random/uuid)
    _SIPP_UAS_TRACE=$LAB_DIR/sipp-$tag.msg
    : >"$_SIPP_UAS_TRACE"
    # -l 1 and a pause of -d: the REGISTER "call" holds the flow and no second
    # one starts; INVITEs are out-of-call messages, answered by -oocsf.
    START_LOG=$LAB_DIR/sipp-$tag.log start_in_ns "$NS_LAN" \
        sipp -sf "$_SIPP_DIR/ua_outbound_tcp.xml" -oocsf "$_SIPP_DIR/ua_answer.xml" \
        -t t1 -m 1 -l 1 -d $((LAB_MAX_SECONDS * 1000)) -i "$ip" -p "$port" -s "$user" \
        -key domain "$SIP_DOMAIN" -key expires 3600 -key instance "$SIPP_OB_UUID" \
        -mp 16000 -nostdin -trace_msg -message_file "$_SIPP_UAS_TRACE" \
        -trace_err -error_file "$LAB_DIR/sipp-$tag.err" "$target"
    _SIPP_UAS_PID=$LAST_PID
}

# sipp_uac_call AOR [TIMEOUT]: the far caller in wan (sipp, UDP) calls AOR
# (USER or sip:USER@domain) through the edge proxy: INVITE, ACK, 0.5 s, BYE.
# Returns 0 when the call was answered and the BYE got 200, 1 otherwise.
# Logs the INVITE's final status; sets SIPP_UAC_STATUS to it ("none" on timeout).
SIPP_UAC_STATUS=
sipp_uac_call() {
    local aor=$1 secs=${2:-40} rc=0 tag=uac-$((++_SIPP_SEQ))
    [[ "$aor" == sip:* ]] || aor=sip:$aor@$SIP_DOMAIN
    local msg=$LAB_DIR/sipp-$tag.msg
    run_bounded $((secs + 5)) "$NS_WAN" sipp -sf "$_SIPP_DIR/uac_call.xml" -t u1 -m 1 \
        -i "$WAN_UAC_IP" -p "$WAN_UAC_PORT" -mp 26000 -key ruri "$aor" \
        -nostdin -timeout "${secs}s" -timeout_error -recv_timeout $((secs * 1000)) \
        -trace_msg -message_file "$msg" -trace_err -error_file "$LAB_DIR/sipp-$tag.err" \
        "$EDGE_IP:$EDGE_UDP_PORT" >"$LAB_DIR/sipp-$tag.log" 2>&1 || rc=$?
    SIPP_UAC_STATUS=$(_sipp_invite_final "$msg")
    local bye_ok=no
    if grep -Eq '^CSeq: *2 BYE' "$msg" && _sipp_bye_answered "$msg"; then
        bye_ok=yes
    fi
    log_step "call to $aor: INVITE final $SIPP_UAC_STATUS, BYE answered: $bye_ok (sipp rc $rc)"
    [[ $rc -eq 0 && $bye_ok == yes ]]
}

# Final status of the INVITE in a sipp trace: the last >=200 response with CSeq INVITE.
_sipp_invite_final() {
    awk '
        /^SIP\/2\.0 [0-9][0-9][0-9]/ { code = $2 }
        /^CSeq: *[0-9]+ INVITE/ && code >= 200 { final = code }
        /^$/ { code = 0 }
        END { print (final ? final : "none") }' "$1" 2>/dev/null
}

# Did a 200 for the BYE arrive?
_sipp_bye_answered() {
    awk '
        /^SIP\/2\.0 [0-9][0-9][0-9]/ { code = $2 }
        /^CSeq: *[0-9]+ BYE/ && code == 200 { ok = 1 }
        /^$/ { code = 0 }
        END { exit !ok }' "$1"
}

# --------------------------------------------------------------- baresip

# baresip_start USER TRANSPORT [EXTRA_ACCOUNT_PARAMS (";name=value...")]: baresip in lan as an
# RFC 5626 client (sipnat=outbound) for sip:USER@$SIP_DOMAIN, outbound proxy the
# edge over TRANSPORT (tcp|tls|udp), auto-answer, no audio device (ausine source,
# aufile player into $LAB_DIR).  Config dir $LAB_DIR/baresip, log baresip.log.
# Sets BARESIP_UUID (its instance-id uuid).
BARESIP_UUID=
baresip_start() {
    local user=$1 transport=$2 extra=${3:-} d=$LAB_DIR/baresip ob
    case "$transport" in
        tcp) ob="sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp" ;;
        tls) ob="sip:$EDGE_IP:$EDGE_TLS_PORT;transport=tls" ;;
        udp) ob="sip:$EDGE_IP:$EDGE_UDP_PORT;transport=udp" ;;
        *) die "baresip_start: transport tcp|tls|udp" ;;
    esac
    [[ -z "$_BARESIP_PID" ]] || die "baresip_start: already running"
    mkdir -p "$d"
    BARESIP_UUID=$(cat /proc/sys/kernel/random/uuid)
    printf '%s' "$BARESIP_UUID" >"$d/uuid"   # no trailing newline: it would be in the instance-id
    sed -e "s|%LAN_UA_IP%|$LAN_UA_IP|g" -e "s|%CA_FILE%|$CA_FILE|g" \
        -e "s|%LAB_DIR%|$LAB_DIR|g" "$E2E_DIR/baresip/config" >"$d/config"
    printf '<sip:%s@%s;transport=%s>;sipnat=outbound;outbound="%s";regint=3600;answermode=auto;audio_codecs=pcmu%s\n' \
        "$user" "$SIP_DOMAIN" "$transport" "$ob" "$extra" >"$d/accounts"
    : >"$d/contacts"
    START_LOG=$LAB_DIR/baresip.log start_in_ns "$NS_LAN" baresip -f "$d" -v -s
    _BARESIP_PID=$LAST_PID
}

# baresip_stop: stop baresip.
baresip_stop() {
    [[ -n "$_BARESIP_PID" ]] || return 0
    stop_pid "$_BARESIP_PID" 5
    _BARESIP_PID=
}

# ------------------------------------------------------------ keep-alives

# ka_watch_start [PORT]: record the RFC 5626 CRLF keep-alives on TCP between the
# NAT and the edge's PORT (default $EDGE_TCP_PORT), seen on the router's wan0:
# pings (CRLFCRLF towards the edge) and pongs (CRLF back).  Plain TCP only: TLS
# keep-alives are encrypted.  Use ka_watch_stop to read the result.
_KA_PID=
_KA_LOG=
ka_watch_start() {
    local port=${1:-$EDGE_TCP_PORT}
    local hl='((tcp[12:1] & 0xf0) >> 2)'
    local plen="(ip[2:2] - ((ip[0] & 0x0f) << 2) - $hl)"
    local filter="tcp and host $EDGE_IP and port $port and"
    filter+=" (($plen = 4 and tcp[$hl:4] = 0x0d0a0d0a) or ($plen = 2 and tcp[$hl:2] = 0x0d0a))"
    [[ -z "$_KA_PID" ]] || die "ka_watch_start: already watching"
    _KA_LOG=$LAB_DIR/keepalives-$((++_SIPP_SEQ)).log
    START_LOG=$_KA_LOG start_in_ns "$NS_ROUTER" \
        tcpdump -i "$ROUTER_WAN_IF" -n -l -tt -U -Z root "$filter"
    _KA_PID=$LAST_PID
    wait_for "grep -q 'listening on' '$_KA_LOG'" 10 "tcpdump to listen" ||
        die "tcpdump did not start (see ${_KA_LOG##*/})"
}

# ka_watch_stop: stop watching; sets KA_PINGS and KA_PONGS (counts), KA_PING_TIMES
# (epoch seconds, space separated) and KA_INTERVALS (seconds between pings).
KA_PINGS=0
KA_PONGS=0
KA_PING_TIMES=
KA_INTERVALS=
ka_watch_stop() {
    [[ -n "$_KA_PID" ]] || die "ka_watch_stop: not watching"
    sleep 0.3   # let a pong in flight behind the last ping be printed
    stop_pid "$_KA_PID" 3
    _KA_PID=
    # "<epoch> IP <src>.<port> > <dst>.<port>: Flags [P.], ..., length N"
    KA_PING_TIMES=$(awk -v e="$EDGE_IP" '$2 == "IP" && index($5, e ".") == 1 && $NF == 4 { printf "%s ", $1 }' "$_KA_LOG")
    KA_PINGS=$(wc -w <<<"$KA_PING_TIMES")
    KA_PONGS=$(awk -v e="$EDGE_IP" '$2 == "IP" && index($3, e ".") == 1 && $NF == 2 { n++ } END { print n + 0 }' "$_KA_LOG")
    KA_INTERVALS=$(awk '{ for (i = 2; i <= NF; i++) printf "%.1f ", $i - $(i - 1) }' <<<"$KA_PING_TIMES")
}

# ------------------------------------------------------------------ STUN

# stun_mapped NS IP PORT: send one STUN Binding request (RFC 5389) over UDP from
# namespace NS to IP:PORT and print the XOR-MAPPED-ADDRESS of the success
# response as ADDR:PORT.  Returns 1 on no answer (2 s) or no such attribute.
stun_mapped() {
    local ns=$1 ip=$2 port=$3 hex i type len
    # bash's /dev/udp gives a connected UDP socket; no STUN client needed.
    # shellcheck disable=SC2016  # $1 $2 are the inner bash's arguments
    hex=$(run_bounded 5 "$ns" bash -c 'exec 3<>"/dev/udp/$1/$2" &&
        printf "\x00\x01\x00\x00\x21\x12\xa4\x42sipkeep-e2e!" >&3 &&
        timeout 2 head -c 64 <&3 | od -An -v -tx1' _ "$ip" "$port") || return 1
    local -a b
    read -r -a b <<<"$(tr -s ' \n' ' ' <<<"$hex")"
    [[ ${#b[@]} -ge 20 && "${b[0]}${b[1]}" == 0101 ]] || return 1
    for (( i = 20; i + 4 <= ${#b[@]}; i += 4 + (len + 3) / 4 * 4 )); do
        type=${b[i]}${b[i+1]}
        len=$(( 16#${b[i+2]}${b[i+3]} ))
        if [[ "$type" == 0020 && "${b[i+5]}" == 01 ]]; then
            printf '%d.%d.%d.%d:%d\n' $(( 16#${b[i+8]} ^ 0x21 )) $(( 16#${b[i+9]} ^ 0x12 )) \
                $(( 16#${b[i+10]} ^ 0xa4 )) $(( 16#${b[i+11]} ^ 0x42 )) \
                $(( 16#${b[i+6]}${b[i+7]} ^ 0x2112 ))
            return 0
        fi
    done
    return 1
}

# ------------------------------------------------------------------ NAT

# ns_hosts NS "ADDR NAME..."...: an /etc/hosts for namespace NS only (ip netns
# exec bind-mounts /etc/netns/NS/hosts over /etc/hosts); removed by lab_down.
ns_hosts() {
    local ns=$1
    shift
    mkdir -p "/etc/netns/$ns"
    printf '%s\n' "127.0.0.1 localhost" "$@" >"/etc/netns/$ns/hosts"
}

# wan_change OLD NEW: the router's WAN address OLD goes and NEW comes, as a
# PPPoE reconnect or a new DHCP lease does (delete, then add; the connected
# route goes and comes with them).  Prints the ms timestamp of the change.
wan_change() {
    local old=$1 new=$2 t0
    t0=$(date +%s%3N)
    ns_exec "$NS_ROUTER" ip addr del "$old/$WAN_PREFIX" dev "$ROUTER_WAN_IF"
    ns_exec "$NS_ROUTER" ip addr add "$new/$WAN_PREFIX" dev "$ROUTER_WAN_IF"
    echo "$t0"
}

# nat_mappings [udp|tcp]: the router's conntrack table (NAT mappings) for that protocol.
nat_mappings() {
    local proto=${1:-}
    ns_exec "$NS_ROUTER" conntrack -L ${proto:+-p "$proto"} 2>/dev/null
}

# ------------------------------------------ phones that call (issue 11, t_70-t_72)

# baresip_legacy_start USER PROXY [EXTRA_ACCOUNT_PARAMS]: baresip in lan as a
# PLAIN legacy UDP phone (baresip/config-legacy; no sipnat=outbound) for
# sip:USER@$SIP_DOMAIN on $LAN_UA_IP:$BARESIP_SIP_PORT with
# outbound="sip:PROXY" (PROXY = ADDR:PORT), which baresip preloads as
# "Route: <sip:PROXY;lr>" (RFC 3261 §8.1.2); auto-answer, aubridge audio, SIP
# trace in $LAB_DIR/baresip.log.  Commands: baresip_cmd; stop: baresip_stop.
BARESIP_SIP_PORT=5080
BARESIP_CONS=$LAN_UA_IP:5555
baresip_legacy_start() {
    local user=$1 proxy=$2 extra=${3:-} d=$LAB_DIR/baresip
    [[ -z "$_BARESIP_PID" ]] || die "baresip_legacy_start: already running"
    mkdir -p "$d"
    sed -e "s|%LAN_UA_IP%|$LAN_UA_IP|g" -e "s|%SIP_PORT%|$BARESIP_SIP_PORT|g" \
        -e "s|%CONS%|$BARESIP_CONS|g" "$E2E_DIR/baresip/config-legacy" >"$d/config"
    printf '<sip:%s@%s>;outbound="sip:%s";regint=3600;answermode=auto;audio_codecs=pcmu%s\n' \
        "$user" "$SIP_DOMAIN" "$proxy" "$extra" >"$d/accounts"
    : >"$d/contacts"
    # stdbuf: its SIP trace reaches the log as it happens (the checks read it).
    START_LOG=$LAB_DIR/baresip.log start_in_ns "$NS_LAN" stdbuf -oL baresip -f "$d" -v -s
    _BARESIP_PID=$LAST_PID
    wait_for "_ns_listens $NS_LAN udp $BARESIP_CONS" 10 "baresip's cons UI" ||
        die "baresip did not start (see baresip.log)"
}

# baresip_cmd LINE: one command to baresip's cons UI over UDP, e.g.
# "/dial sip:far@$SIP_DOMAIN" or "/hangup".
baresip_cmd() {
    log_step "baresip <- $1"
    # shellcheck disable=SC2016  # $1 $2 are the inner bash's arguments
    run_bounded 5 "$NS_LAN" bash -c 'printf "%s\n" "$1" >"/dev/udp/${2%:*}/${2##*:}"' \
        _ "$1" "$BARESIP_CONS"
}

# baresip_log_mark: the number of lines in baresip's log now (for baresip_got).
baresip_log_mark() {
    wc -l <"$LAB_DIR/baresip.log"
}

# baresip_got STATUS METHOD [AFTER_LINE]: baresip's SIP trace (-s) shows a
# STATUS response to a METHOD request RECEIVED by baresip (not one it sent),
# after line AFTER_LINE of its log (baresip_log_mark; default 0).
baresip_got() {
    awk -v s="$1" -v m="$2" -v after="${3:-0}" -v me="$LAN_UA_IP:" '
        NR <= after { next }
        match($0, /(UDP|TCP|TLS) [0-9.]+:[0-9]+ -> [0-9.]+:[0-9]+/) {
            split(substr($0, RSTART, RLENGTH), d, " "); inbound = (index(d[4], me) == 1); code = 0; next }
        /^SIP\/2\.0 [0-9][0-9][0-9]/ { code = $2 }
        inbound && $0 ~ ("^CSeq: *[0-9]+ " m "\r?$") && code == s { ok = 1 }
        END { exit !ok }' "$LAB_DIR/baresip.log"
}

# baresip_got_request METHOD [AFTER_LINE]: baresip RECEIVED a METHOD request
# after line AFTER_LINE of its log.
baresip_got_request() {
    awk -v m="$1" -v after="${2:-0}" -v me="$LAN_UA_IP:" '
        NR <= after { next }
        match($0, /(UDP|TCP|TLS) [0-9.]+:[0-9]+ -> [0-9.]+:[0-9]+/) {
            split(substr($0, RSTART, RLENGTH), d, " "); inbound = (index(d[4], me) == 1); first = 1; next }
        first && NF { first = 0; if (inbound && $1 == m && $2 ~ /^sips?:/) ok = 1 }
        END { exit !ok }' "$LAB_DIR/baresip.log"
}

# sipp_uas_start NS IP:PORT USER SCENARIO: a sipp UAS on IP:PORT in NS runs
# sipp/SCENARIO once (e.g. ua_answer.xml: answer, wait for the caller's BYE;
# t7x_uas_bye.xml: answer, then hang up itself).  The same handle as
# sipp_ua_answer_start: sipp_ua_answer_wait, sipp_ua_answer_stop,
# sipp_ua_invites_seen, sipp_uas_got METHOD.  The far side for calls out:
# sipp_uas_start "$NS_WAN" "$WAN_UAC_IP:$WAN_UAC_PORT" far SCENARIO
# (registrar.cfg routes sip:far@$SIP_DOMAIN there).
sipp_uas_start() {
    local ns=$1 ip=${2%:*} port=${2##*:} user=$3 sf=$4 tag=uas-$((++_SIPP_SEQ))
    [[ -z "$_SIPP_UAS_PID" ]] || die "sipp_uas_start: a UAS is already running"
    _SIPP_UAS_TRACE=$LAB_DIR/sipp-$tag.msg
    : >"$_SIPP_UAS_TRACE"
    START_LOG=$LAB_DIR/sipp-$tag.log start_in_ns "$ns" \
        sipp -sf "$_SIPP_DIR/$sf" -t u1 -m 1 -i "$ip" -p "$port" -s "$user" \
        -mp 16000 -nostdin -trace_msg -message_file "$_SIPP_UAS_TRACE" \
        -trace_err -error_file "$LAB_DIR/sipp-$tag.err"
    _SIPP_UAS_PID=$LAST_PID
    wait_for "_ns_listens $ns udp $ip:$port" 10 "sipp UAS listening on $ip:$port" ||
        die "sipp UAS ($sf) did not start"
}

# sipp_uas_got METHOD [STATUS]: the UAS started last received a METHOD request
# (and, with STATUS, answered some METHOD with STATUS).
sipp_uas_got() {
    grep -q "^$1 " "$_SIPP_UAS_TRACE" || return 1
    [[ -z "${2:-}" ]] || awk -v m="$1" -v s="$2" '
        /^SIP\/2\.0 [0-9][0-9][0-9]/ { code = $2 }
        $0 ~ ("^CSeq: *[0-9]+ " m "\r?$") && code == s { ok = 1 }
        /^\r?$/ { code = 0 }
        END { exit !ok }' "$_SIPP_UAS_TRACE"
}

# far_call_start AOR SCENARIO [TIMEOUT]: the far caller (sipp UAC in wan, UDP,
# $WAN_UAC_IP:$WAN_UAC_PORT) calls AOR (USER or sip:USER@domain) through the
# edge in the background with sipp/SCENARIO (t7x_uac_call.xml: the far side
# hangs up; t7x_uac_wait_bye.xml: the phone does).  far_call_wait collects it.
_FAR_PID=
_FAR_MSG=
far_call_start() {
    local aor=$1 sf=$2 secs=${3:-40} tag=uac-$((++_SIPP_SEQ))
    [[ "$aor" == sip:* ]] || aor=sip:$aor@$SIP_DOMAIN
    [[ -z "$_FAR_PID" ]] || die "far_call_start: a call is already running"
    _FAR_MSG=$LAB_DIR/sipp-$tag.msg
    : >"$_FAR_MSG"
    START_LOG=$LAB_DIR/sipp-$tag.log start_in_ns "$NS_WAN" \
        sipp -sf "$_SIPP_DIR/$sf" -t u1 -m 1 -i "$WAN_UAC_IP" -p "$WAN_UAC_PORT" -mp 26000 \
        -key ruri "$aor" -nostdin -timeout "${secs}s" -timeout_error \
        -recv_timeout $((secs * 1000)) -trace_msg -message_file "$_FAR_MSG" \
        -trace_err -error_file "$LAB_DIR/sipp-$tag.err" "$EDGE_IP:$EDGE_UDP_PORT"
    _FAR_PID=$LAST_PID
}

# far_call_answered TIMEOUT: wait until the far caller's INVITE got a 2xx.
far_call_answered() {
    wait_for "[[ \$(_sipp_invite_final '$_FAR_MSG') == 2* ]]" "$1" "the far caller's INVITE answered"
}

# far_call_wait TIMEOUT: wait for the far caller to end; returns sipp's status
# (0: the scenario completed), 124 on timeout.  Sets SIPP_UAC_STATUS (INVITE final).
far_call_wait() {
    local rc=0
    [[ -n "$_FAR_PID" ]] || die "far_call_wait: no call running"
    if wait_for "! kill -0 $_FAR_PID" "$1" "the far caller to finish"; then
        wait "$_FAR_PID" || rc=$?
    else
        stop_pid "$_FAR_PID" 3
        rc=124
    fi
    _FAR_PID=
    SIPP_UAC_STATUS=$(_sipp_invite_final "$_FAR_MSG")
    return "$rc"
}

# far_call_got METHOD: the far caller's call received a METHOD request.
far_call_got() {
    grep -q "^$1 " "$_FAR_MSG"
}

# baresip_top_route METHOD MARK ERE: every METHOD request baresip sent after
# line MARK of its log (baresip_log_mark) had a top Route matching ERE, and
# there was at least one.  baresip_top_routes METHOD MARK prints those Routes.
baresip_top_route() {
    local tops
    tops=$(baresip_top_routes "$1" "$2")
    [[ -n "$tops" ]] && ! grep -Evq -- "$3" <<<"$tops"
}
baresip_top_routes() {
    awk -v m="$1" -v after="$2" -v me="$LAN_UA_IP:" '
        NR <= after { next }
        match($0, /(UDP|TCP|TLS) [0-9.]+:[0-9]+ -> [0-9.]+:[0-9]+/) {
            split(substr($0, RSTART, RLENGTH), d, " "); out = (index(d[2], me) == 1); req = 0; first = 1; next }
        out && first { first = 0; req = ($1 == m); next }
        out && req && /^Route:/ { print; req = 0 }' "$LAB_DIR/baresip.log"
}

# baresip_cell out|in phone|far USER RR_ERE: one basic cell of the call-flow
# matrix with baresip (baresip_legacy_start, AOR user USER) as the phone.
# out: baresip calls sip:far@$SIP_DOMAIN (sipp UAS in wan, which the
# registrar routes to); in: the far side calls USER through the edge.
# phone|far: who hangs up (the phone: baresip_cmd /hangup).  Asserts: the call
# is answered (and ACKed at the far side), the hang-up's BYE reaches the other
# side and is answered 200 there, and baresip's ACK and BYE had a top Route
# matching RR_ERE (sipkeep's Record-Route: baresip follows its route set).
# On failure logs why, appends to BARESIP_CELLS_FAILED and returns 1.
BARESIP_CELLS_FAILED=()
baresip_cell() {
    local dir=$1 hup=$2 user=$3 rr=$4 t0 mark rc=0 name="call $1, $2 hangs up"
    t0=$(date +%s%N)
    mark=$(baresip_log_mark)
    log_step "cell: $name"
    case "$dir/$hup" in
        out/phone) sipp_uas_start "$NS_WAN" "$WAN_UAC_IP:$WAN_UAC_PORT" far ua_answer.xml ;;
        out/far) sipp_uas_start "$NS_WAN" "$WAN_UAC_IP:$WAN_UAC_PORT" far t7x_uas_bye.xml ;;
        in/phone) far_call_start "$user" t7x_uac_wait_bye.xml 15 ;;
        in/far) far_call_start "$user" t7x_uac_call.xml 15 ;;
        *) die "baresip_cell: out|in phone|far" ;;
    esac
    if [[ $dir == out ]]; then
        baresip_cmd "/dial sip:far@$SIP_DOMAIN"
        wait_for "sipp_uas_got ACK" 10 "the far side to get the phone's ACK" ||
            _bcell_fail "$name: not answered and ACKed at the far side" || return 1
        [[ $hup == far ]] || { sleep 0.5; baresip_cmd "/hangup"; }
        sipp_ua_answer_wait 10 || rc=$?
        [[ $rc -eq 0 ]] || _bcell_fail "$name: the far side's sipp rc $rc" || return 1
        wait_for "baresip_top_route ACK $mark '$rr'" 3 "baresip's ACK with sipkeep's Record-Route as top Route" ||
            _bcell_fail "$name: the phone's ACK did not follow sipkeep's Record-Route (top Route: $(baresip_top_routes ACK "$mark"))" || return 1
    elif [[ $hup == phone ]]; then
        far_call_answered 10 || { far_call_wait 1 || true; _bcell_fail "$name: the phone did not answer" || return 1; }
        sleep 0.5
        baresip_cmd "/hangup"
        far_call_wait 10 || rc=$?
    else
        far_call_wait 15 || rc=$?
    fi
    [[ $dir == out || $rc -eq 0 ]] ||
        _bcell_fail "$name: the far caller's sipp rc $rc (INVITE final $SIPP_UAC_STATUS)" || return 1
    if [[ $hup == phone ]]; then
        if [[ $dir == out ]]; then
            sipp_uas_got BYE 200 || _bcell_fail "$name: the far side did not get and answer the BYE" || return 1
        else
            far_call_got BYE || _bcell_fail "$name: the far side did not get the BYE" || return 1
        fi
        wait_for "baresip_got 200 BYE $mark" 5 "baresip to get 200 for its BYE" ||
            _bcell_fail "$name: the phone got no 200 for its BYE" || return 1
        wait_for "baresip_top_route BYE $mark '$rr'" 3 "baresip's BYE with sipkeep's Record-Route as top Route" ||
            _bcell_fail "$name: the phone's BYE did not follow sipkeep's Record-Route (top Route: $(baresip_top_routes BYE "$mark"))" || return 1
    else
        wait_for "baresip_got_request BYE $mark" 5 "the far side's BYE at the phone" ||
            _bcell_fail "$name: the phone never got the far side's BYE" || return 1
    fi
    log_step "ok: $name ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
}

_bcell_fail() {
    log_step "CELL FAILED: $*"
    BARESIP_CELLS_FAILED+=("$*")
    sipp_ua_answer_stop
    return 1
}

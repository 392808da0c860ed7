# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# sipkeep in the e2e lab: write its config, start it in the router namespace,
# watch its log.  Source after lib.sh.  Needs $SIPKEEP (the binary; run.sh sets it).
#
# API: sk_config FILE [PROXY_URI...] (writes a proxy-mode config), sk_start FILE,
# sk_stop, sk_log_has ERE, sk_wait_log ERE TIMEOUT, sk_rss_kib, sk_daemon_pid,
# sk_event_count NAME, sk_registrations [REG_ID], sk_metric NAME, sk_flow_target USER,
# sk_flow_from IP [udp], SK_PID, SK_LOG, SK_CTL (the control socket of the config
# sk_config wrote).

SK_PID=
SK_LOG=
# The control socket every lab config uses (sipkeep status -s "$SK_CTL"); a
# path under $LAB_DIR, so that the lab never touches /run/sipkeep; in a
# directory of its own, which sipkeep creates, as /run/sipkeep would be.
SK_CTL=

# sk_config FILE [PROXY_URI...]: proxy-mode config for the lab.  The phone at
# $LAN_UA_IP is the only one allowed (SK_ALLOW overrides); the default flow is
# TCP to the edge.  SK_EXTRA_SERVICE (YAML lines, indented 4) is appended to the
# service, e.g. a tls: block.
sk_config() {
    local file=$1
    shift
    local proxies=("$@")
    SK_CTL=$LAB_DIR/run/sipkeep.sock
    [[ ${#proxies[@]} -gt 0 ]] || proxies=("sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp")
    {
        echo "mode: proxy"
        echo "listen: [\"udp:$ROUTER_LAN_IP:5060\"]"
        echo "state_dir: $LAB_DIR/sipkeep-state"
        echo "control_socket: $SK_CTL"
        # This is a test lab: sipkeep runs as root there unless a scenario
        # asks for a user (SK_USER; t_21 tests the privilege drop itself).
        echo "user: ${SK_USER:-root}"
        echo "log: { level: ${SK_LOG_LEVEL:-debug}, target: stderr }"
        echo "ua:"
        echo "  allow: [\"${SK_ALLOW:-$LAN_UA_IP/32}\"]"
        echo "  register_expires: 300"
        echo "services:"
        echo "  - name: lab"
        echo "    domain: $SIP_DOMAIN"
        echo "    outbound_proxies:"
        local p
        for p in "${proxies[@]}"; do
            echo "      - \"$p\""
        done
        [[ -z "${SK_EXTRA_SERVICE:-}" ]] || printf '%s\n' "$SK_EXTRA_SERVICE"
    } >"$file"
}

# sk_start FILE: check the config, start sipkeep in the router and wait until
# it listens (or logs SK_READY_EVENT, e.g. intercepting in transparent mode).
sk_start() {
    local file=$1
    [[ -x "${SIPKEEP:-}" ]] || die "SIPKEEP is not set to the sipkeep binary"
    "$SIPKEEP" --check-config -c "$file" >/dev/null || die "sipkeep rejected its config $file"
    SK_LOG=$LAB_DIR/sipkeep.log
    # SK_WRAP (word-split): a command put in front of the daemon, e.g. valgrind
    # (make e2e-valgrind); SK_START_TIMEOUT seconds to get ready (default 10).
    # shellcheck disable=SC2086
    START_LOG=$SK_LOG start_in_ns "$NS_ROUTER" ${SK_WRAP:-} "$SIPKEEP" -c "$file"
    SK_PID=$LAST_PID
    wait_for "sk_log_has 'event=${SK_READY_EVENT:-listening}'" "${SK_START_TIMEOUT:-10}" "sipkeep ready" ||
        die "sipkeep did not start: $(tail -n 20 "$SK_LOG")"
    log_step "sipkeep started (pid $SK_PID), config $file"
}

# sk_stop: SIGTERM and wait (SK_STOP_GRACE seconds, default 10); fails when
# sipkeep did not exit cleanly: no event=stopped, a non-zero status (valgrind's
# --error-exitcode, a sanitizer's exit code) or a sanitizer report in
# $SK_SAN_DIR (run.sh's E2E_SAN=1: ASan/UBSan log_path; a report is a failure
# even when the daemon exits 0 after it).
sk_stop() {
    [[ -n "$SK_PID" ]] || return 0
    local pid=$SK_PID rc=0 i daemon
    # SIGTERM to the daemon itself, not to timeout(1) around it: timeout would
    # follow it with a SIGCONT, which can stall LeakSanitizer's stop-the-world
    # check at exit (seen in make e2e-asan).  timeout then exits with the
    # daemon's status.
    daemon=$(sk_daemon_pid || true)
    SK_PID=
    kill -TERM "${daemon:-$pid}" 2>/dev/null || true
    for (( i = 0; i < ${SK_STOP_GRACE:-10} * 10; i++ )); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { stop_pid "$pid" 1; die "sipkeep did not exit within ${SK_STOP_GRACE:-10}s of SIGTERM"; }
    wait "$pid" 2>/dev/null || rc=$?
    sk_san_check
    (( rc == 0 )) || die "sipkeep exited with status $rc: $(grep -E '^==[0-9]+==' "$SK_LOG" | tail -n 40; tail -n 5 "$SK_LOG")"
    sk_log_has 'event=stopped' || die "sipkeep did not log a clean stop"
}

# sk_san_check: dies when a sanitizer report (ASan, UBSan, LSan) is in $SK_SAN_DIR.
sk_san_check() {
    [[ -n "${SK_SAN_DIR:-}" && -d "$SK_SAN_DIR" ]] || return 0
    local f
    for f in "$SK_SAN_DIR"/*; do
        [[ -s "$f" ]] || continue
        die "sanitizer report $f: $(head -n 60 "$f")"
    done
}

sk_log_has() {
    grep -Eq -- "$1" "$SK_LOG"
}

# sk_event_count NAME: how many NAME events sipkeep had, written or counted
# by its log rate limit (event=log_suppressed name=NAME count=N lines; they
# are all out once sipkeep has stopped).
sk_event_count() {
    awk -v ev="event=$1" -v nm="name=$1" '
        { for (i = 1; i <= NF; i++) if ($i == ev) n++ }
        / event=log_suppressed / {
            hit = 0
            for (i = 1; i <= NF; i++) {
                if ($i == nm) hit = 1
                if (hit && $i ~ /^count=/) { n += substr($i, 7); hit = 0 }
            }
        }
        END { print n + 0 }' "$SK_LOG"
}

# sk_registrations [REG_ID]: how many 2xx to its own REGISTERs sipkeep got on
# the flows with that reg-id (default 1).
sk_registrations() {
    grep -c "event=registered .*reg_id=${1:-1} " "$SK_LOG" || true
}

# sk_metric NAME_WITH_LABELS: its value in `sipkeep metrics`, over the control
# socket (empty if absent).  Bounded: the CLI gives up after 10 s on its own.
sk_metric() {
    timeout 15 "$SIPKEEP" metrics -s "$SK_CTL" | awk -v m="$1" '$1 == m { print $2 }'
}

# sk_flow_target USER: the first flow of sip:USER@$SIP_DOMAIN's binding, its
# target and why ("198.51.100.12:5060 naptr+srv prio 10 ..."), from
# sipkeep status --json.
sk_flow_target() {
    timeout 15 "$SIPKEEP" status --json -s "$SK_CTL" |
        jq -r --arg aor "sip:$1@$SIP_DOMAIN" \
            '.bindings[] | select(.aor == $aor) | .flows[0] | "\(.target) \(.target_why)"'
}

# sk_flow_from IP [udp]: is a TCP connection of the router to the edge's TCP
# port (sipkeep's flow) established from its address IP?  With udp: a UDP
# socket connected to the edge's UDP port (a UDP flow) bound to IP.
sk_flow_from() {
    local flags=-Htn port=$EDGE_TCP_PORT
    [[ "${2:-tcp}" != udp ]] || { flags=-Hun; port=$EDGE_UDP_PORT; }
    ns_exec "$NS_ROUTER" ss "$flags" state established "( dport = :$port )" |
        grep -q "$1:"
}

# sk_wait_log ERE TIMEOUT: wait until sipkeep's log matches ERE.
sk_wait_log() {
    wait_for "sk_log_has '$1'" "$2" "sipkeep log line /$1/"
}

# sk_daemon_pid: the pid of the sipkeep process itself (start_in_ns puts
# timeout(1) around it; ip netns exec execs it, so it is timeout's only child).
# By parent, not by name: the binary may be build/sipkeep-asan, or SK_WRAP's.
sk_daemon_pid() {
    pgrep -P "$SK_PID"
}

# sk_rss_kib: sipkeep's resident set size in KiB (VmRSS of the daemon itself,
# not of the timeout/ip-netns wrappers start_in_ns puts around it).
sk_rss_kib() {
    local pid
    # Its own child, not the newest sipkeep on the machine (another lab's).
    pid=$(sk_daemon_pid) || return 1
    awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"
}

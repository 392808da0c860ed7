# shellcheck shell=bash
# sipkeep in the e2e lab: write its config, start it in the router namespace,
# watch its log.  Source after lib.sh.  Needs $SIPKEEP (the binary; run.sh sets it).
#
# API: sk_config FILE [PROXY_URI...] (writes a proxy-mode config), sk_start FILE,
# sk_stop, sk_log_has ERE, sk_wait_log ERE TIMEOUT, sk_rss_kib, SK_PID, SK_LOG.

SK_PID=
SK_LOG=

# sk_config FILE [PROXY_URI...]: proxy-mode config for the lab.  The phone at
# $LAN_UA_IP is the only one allowed (SK_ALLOW overrides); the default flow is
# TCP to the edge.  SK_EXTRA_SERVICE (YAML lines, indented 4) is appended to the
# service, e.g. a tls: block.
sk_config() {
    local file=$1
    shift
    local proxies=("$@")
    [[ ${#proxies[@]} -gt 0 ]] || proxies=("sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp")
    {
        echo "mode: proxy"
        echo "listen: [\"udp:$ROUTER_LAN_IP:5060\"]"
        echo "state_dir: $LAB_DIR/sipkeep-state"
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
# it listens.
sk_start() {
    local file=$1
    [[ -x "${SIPKEEP:-}" ]] || die "SIPKEEP is not set to the sipkeep binary"
    "$SIPKEEP" --check-config -c "$file" >/dev/null || die "sipkeep rejected its config $file"
    SK_LOG=$LAB_DIR/sipkeep.log
    START_LOG=$SK_LOG start_in_ns "$NS_ROUTER" "$SIPKEEP" -c "$file"
    SK_PID=$LAST_PID
    wait_for "sk_log_has 'event=listening'" 10 "sipkeep listening" ||
        die "sipkeep did not start: $(tail -n 20 "$SK_LOG")"
    log_step "sipkeep started (pid $SK_PID), config $file"
}

# sk_stop: SIGTERM and wait; fails when sipkeep did not exit cleanly.
sk_stop() {
    [[ -n "$SK_PID" ]] || return 0
    stop_pid "$SK_PID" 10
    SK_PID=
    sk_log_has 'event=stopped' || die "sipkeep did not log a clean stop"
}

sk_log_has() {
    grep -Eq -- "$1" "$SK_LOG"
}

# sk_wait_log ERE TIMEOUT: wait until sipkeep's log matches ERE.
sk_wait_log() {
    wait_for "sk_log_has '$1'" "$2" "sipkeep log line /$1/"
}

# sk_rss_kib: sipkeep's resident set size in KiB (VmRSS of the daemon itself,
# not of the timeout/ip-netns wrappers start_in_ns puts around it).
sk_rss_kib() {
    local pid
    pid=$(pgrep -x -n sipkeep) || return 1
    awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"
}

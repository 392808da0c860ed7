#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario: metrics over HTTP (issue 13 item 5).  sipkeep runs with
# metrics.listen on the router namespace's loopback (127.0.0.1:9580).
#  1. A phone registers; GET /metrics answers 200 with the Prometheus text
#     format, which a real Prometheus parser reads (Debian's
#     python3-prometheus-client, text_string_to_metric_families): the
#     binding and its active flow are there, and the page has the same
#     samples as `sipkeep metrics` over the control socket.  HEAD gives the
#     headers only, another path 404; the LAN cannot reach the port.
#  2. 200 hostile requests (metrics_http/http_probe.py abuse): 100 garbage
#     (each gets a 4xx/505), 50 oversized heads (431), 50 slow clients at
#     once that never end their head (16 held and closed by the daemon at
#     its 5 s deadline, 34 refused 503).
#  3. The daemon still serves /metrics, its descriptors are back where they
#     were and its RSS is flat (bound below).
#  4. SIGHUP with another metrics.listen: logged as needing a restart, the
#     old address still serves.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1081
M_ADDR=127.0.0.1
M_PORT=9580
# The limits of ctl/httpmetrics.h (the control socket's defaults).
MAX_CLIENTS=16
TIMEOUT_S=5
# RSS may grow by at most this much over the 200 requests.  What the
# metrics server may hold at its peak is 16 connections of ~4.2 KiB (the
# 4 KiB head buffer) plus their answers, about 130 KiB, which malloc keeps
# for reuse once they are freed; a leak of one head buffer per request
# would be 200 x 4 KiB = 800 KiB, so 256 KiB tells the two apart.
RSS_MAX_GROWTH_KIB=256
# Debian's python3 (python3-prometheus-client is a Debian package; a python3
# earlier on PATH, e.g. pyenv's, would not see it).
PY=/usr/bin/python3
PROBE=$E2E_DIR/metrics_http/http_probe.py

probe() {
    run_bounded 60 "$NS_ROUTER" "$PY" "$PROBE" "$@"
}

$PY -c 'import prometheus_client.parser' 2>/dev/null ||
    die "python3-prometheus-client is missing (packaging/deps.sh e2e installs it)"

lab_up
kam_start registrar
kam_start edge
sk_config "$LAB_DIR/sipkeep.yaml"
echo "metrics: { listen: \"$M_ADDR:$M_PORT\" }" >>"$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
sk_log_has "event=metrics_listening listen=$M_ADDR:$M_PORT" || die "no metrics_listening line"
dpid=$(sk_daemon_pid) || die "no sipkeep process"

log_step "1. a phone registers; /metrics parses with prometheus_client"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
probe scrape "$M_ADDR" "$M_PORT" >"$LAB_DIR/http.samples" ||
    die "the scrape failed: $(cat "$LAB_DIR/http.samples")"
sed 's/^/    /' "$LAB_DIR/http.samples"
grep -qx 'sipkeep_bindings{} 1.0' "$LAB_DIR/http.samples" || die "not 1 binding"
grep -qx 'sipkeep_flows{state="active"} 1.0' "$LAB_DIR/http.samples" || die "not 1 active flow"
grep -qx 'sipkeep_registrations_total{result="ok"} [1-9][0-9]*\.0' "$LAB_DIR/http.samples" ||
    die "no successful registration counted"
# Per service and reg-id (sk_config's service is "lab", one proxy).
grep -qx 'sipkeep_service_bindings{service="lab",state="registered"} 1.0' "$LAB_DIR/http.samples" ||
    die "the service's binding is not counted as registered"
grep -qx 'sipkeep_service_flows{reg_id="1",service="lab",state="active"} 1.0' "$LAB_DIR/http.samples" ||
    die "no active flow for lab, reg-id 1"
grep -q '^sipkeep_flow_recoveries_by_cause_total{cause="keepalive"} ' "$LAB_DIR/http.samples" ||
    die "no recoveries by cause"
# The same samples as over the control socket (counters may have moved:
# names and labels are compared).
timeout 15 "$SIPKEEP" metrics -s "$SK_CTL" >"$LAB_DIR/ctl.page" || die "sipkeep metrics failed"
"$PY" "$PROBE" samples "$LAB_DIR/ctl.page" >"$LAB_DIR/ctl.samples" || die "the control socket's page does not parse"
diff <(awk '{print $1}' "$LAB_DIR/ctl.samples") <(awk '{print $1}' "$LAB_DIR/http.samples") ||
    die "the HTTP page and \`sipkeep metrics\` have different samples"
log_step "same $(grep -c . "$LAB_DIR/http.samples") lines as sipkeep metrics ($(tail -n 1 "$LAB_DIR/http.samples"))"
probe head "$M_ADDR" "$M_PORT" || die "HEAD /metrics"
probe notfound "$M_ADDR" "$M_PORT" || die "GET /nope"
# Bound to the router's loopback: not reachable from the LAN.
if run_bounded 10 "$NS_LAN" "$PY" -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)' "$ROUTER_LAN_IP" "$M_PORT" 2>/dev/null; then
    die "the metrics port answers on the LAN address"
fi

fds0=$(ls "/proc/$dpid/fd" | wc -l)
rss0=$(sk_rss_kib)
log_step "before: RSS ${rss0} KiB, $fds0 descriptors"

log_step "2. 200 hostile requests: garbage, oversized, slow"
probe abuse "$M_ADDR" "$M_PORT" "$MAX_CLIENTS" "$TIMEOUT_S" || die "the abuse run found a wrong answer"

log_step "3. still serving, descriptors and RSS flat"
probe scrape "$M_ADDR" "$M_PORT" >"$LAB_DIR/http2.samples" ||
    die "no /metrics after the abuse: $(cat "$LAB_DIR/http2.samples")"
grep -qx 'sipkeep_flows{state="active"} 1.0' "$LAB_DIR/http2.samples" || die "the flow is gone"
kill -0 "$dpid" || die "sipkeep died"
wait_for '[[ $(ls /proc/'"$dpid"'/fd | wc -l) -eq '"$fds0"' ]]' 5 "descriptors back to $fds0" ||
    die "descriptors: $fds0 before, $(ls "/proc/$dpid/fd" | wc -l) after"
rss1=$(sk_rss_kib)
if [[ -n "${SK_SAN_DIR:-}${SK_WRAP:-}" ]]; then
    # ASan keeps freed memory in its quarantine (MBs), valgrind's RSS is
    # its own: RSS says nothing there; the leak check at exit (sk_stop:
    # LeakSanitizer, valgrind's error exit code) finds leaks instead.
    log_step "after: RSS ${rss1} KiB (+$(( rss1 - rss0 )) KiB): bound not applied under a sanitizer or valgrind; their leak check at exit applies"
else
    log_step "after: RSS ${rss1} KiB (+$(( rss1 - rss0 )) KiB, bound +$RSS_MAX_GROWTH_KIB), $fds0 descriptors"
    (( rss1 - rss0 <= RSS_MAX_GROWTH_KIB )) || die "RSS grew from $rss0 to $rss1 KiB"
fi
log_step "4. a reload with another metrics.listen keeps the socket (restart needed)"
sed -i "s/^metrics: .*/metrics: { listen: \"$M_ADDR:$(( M_PORT + 1 ))\" }/" "$LAB_DIR/sipkeep.yaml"
kill -HUP "$dpid"
sk_wait_log 'event=reload_needs_restart key=metrics.listen' 10 || die "no reload_needs_restart for metrics.listen"
probe scrape "$M_ADDR" "$M_PORT" >/dev/null || die "no /metrics on the old address after the reload"
# The flood was logged at debug, nothing at warn or above from the server.
! grep -E 'level=(warn|error) ' "$SK_LOG" | grep -Eq 'event=(ctl_|metrics_http)' ||
    die "warnings from the metrics server: $(grep -E 'level=(warn|error) ' "$SK_LOG" | tail -n 5)"
sk_stop

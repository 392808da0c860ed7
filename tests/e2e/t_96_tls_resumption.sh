#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TLS session resumption to the edge (issue 14 item 3) against Kamailio's tls
# module: the first TLS flow makes a full handshake; its connection is then
# killed from the router's side (ss -K: the edge keeps running, so its ticket
# keys are the same) once a keep-alive was answered (a working flow: its
# retry is immediate, RFC 5626 §4.5), and the flow's reconnect resumes the session that edge
# gave (log resumed=1, sipkeep_tls_handshakes_total{resumed="true"}), verified
# for the same name, and the phone is registered again on the new flow.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1096

# The two samples of sipkeep_tls_handshakes_total, on one line.
handshakes() {
    echo "full $(sk_metric 'sipkeep_tls_handshakes_total{resumed="false"}')," \
         "resumed $(sk_metric 'sipkeep_tls_handshakes_total{resumed="true"}')"
}

lab_up
kam_start registrar
kam_start edge
ns_hosts "$NS_ROUTER" "$EDGE_IP $EDGE_TLS_NAME"
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, verify: true }" \
    sk_config "$LAB_DIR/sipkeep.yaml" "sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT"
sk_start "$LAB_DIR/sipkeep.yaml"

sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep over TLS failed"
sk_log_has 'event=stream_connected .*tls=1 resumed=0' || die "the first TLS handshake is not in the log"
[[ "$(sk_metric 'sipkeep_tls_handshakes_total{resumed="false"}')" == 1 ]] ||
    die "handshakes: $(handshakes)"
log_step "registered over a full TLS handshake"

# A flow that worked (a keep-alive answered, §4.5) is retried at once when it dies.
sk_wait_log 'event=flow_working reg_id=1' 30 || die "no keep-alive answered over TLS"
log_step "killing the flow's connection from the router's side (the edge keeps running)"
ns_exec "$NS_ROUTER" ss -K dst "$EDGE_IP" dport = ":$EDGE_TLS_PORT" >/dev/null ||
    die "ss -K failed (kernel without INET_DIAG_DESTROY?)"
sk_wait_log 'event=flow_down reg_id=1' 15 || die "sipkeep did not notice the killed connection"
wait_for '[[ $(sk_registrations) -ge 2 ]]' 30 "re-registration on a new flow" ||
    die "sipkeep did not re-register: $(tail -n 20 "$SK_LOG")"
sk_log_has 'event=stream_connected .*tls=1 resumed=1' ||
    die "the reconnect did not resume: $(grep 'event=stream_connected' "$SK_LOG")"
[[ "$(sk_metric 'sipkeep_tls_handshakes_total{resumed="true"}')" -ge 1 ]] ||
    die "handshakes: $(handshakes)"
log_step "re-registered over a resumed handshake (handshakes: $(handshakes))"
sk_stop

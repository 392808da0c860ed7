#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario: one short life of the daemon, every main path once, for the leak
# and memory-error runs (make e2e-valgrind runs it under valgrind; make
# e2e-asan under ASan+UBSan like every scenario).  Two flows per binding, one
# TCP and one TLS (reg-id 1 and 2, RFC 5626 §4.2.1); the legacy UA registers,
# receives a call, de-registers (expires 0: sipkeep removes the upstream
# bindings and closes both flows), registers again and sipkeep is stopped with
# SIGTERM while its flows are up.  sk_stop fails on a non-zero exit status
# (valgrind --error-exitcode) and on a sanitizer report.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1016

reg_ids() { # the Reg-Id lines of the UA's contacts at the registrar
    kam_location 2>/dev/null | _ul_aor_block "$USER_AOR" | grep -Eo 'Reg-Id: [0-9]+' | sort | tr '\n' ' '
}

lab_up
kam_start registrar
kam_start edge
ns_hosts "$NS_ROUTER" "$EDGE_IP $EDGE_TLS_NAME"
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, verify: true }" \
    sk_config "$LAB_DIR/sipkeep.yaml" "sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp" \
    "sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT"
sk_start "$LAB_DIR/sipkeep.yaml"

sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
wait_for '[[ "$(reg_ids)" == "Reg-Id: 1 Reg-Id: 2 " ]]' 20 "reg-id 1 (TCP) and 2 (TLS) at the registrar" ||
    die "the registrar does not hold both flows: $(kam_location)"

sipp_ua_answer_start 1 "$USER_AOR"
sipp_uac_call "$USER_AOR" 30 || die "the inbound call failed (INVITE final $SIPP_UAC_STATUS)"
sipp_ua_answer_wait 20 || die "the UA did not complete the call"

sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 0 || die "the de-REGISTER through sipkeep failed"
wait_for '[[ -z "$(reg_ids)" ]]' 20 "the bindings to go" || die "bindings left: $(kam_location)"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "the second REGISTER failed"
wait_for '[[ "$(reg_ids)" == "Reg-Id: 1 Reg-Id: 2 " ]]' 20 "both flows again" ||
    die "the registrar does not hold both flows again: $(kam_location)"
"$SIPKEEP" status -s "$SK_CTL" >"$LAB_DIR/status.txt" 2>&1 || die "sipkeep status failed: $(cat "$LAB_DIR/status.txt")"

sk_stop
log_step "sipkeep ran register, call, de-register, register, status and SIGTERM and exited clean"

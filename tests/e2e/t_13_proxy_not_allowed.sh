#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario 4: sipkeep is never an open relay.  A phone outside ua.allow sends a
# REGISTER and an OPTIONS: neither is answered nor forwarded, and sipkeep logs
# why.  An allowed phone on the same LAN is served normally (control).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

lab_up
kam_start registrar
kam_start edge
SK_ALLOW="$LAN_UA_IP/32" sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"

log_step "phone at $LAN_UA2_IP (not in ua.allow) registers through sipkeep"
if SIPP_UA_IP=$LAN_UA2_IP sipp_ua_register "$ROUTER_LAN_IP:5060" 2001 3600; then
    die "a phone outside ua.allow got its REGISTER answered"
fi
sk_log_has "event=ua_denied src=$LAN_UA2_IP:" || die "sipkeep did not log the refused phone"
kam_location_has 2001 && die "the refused phone's binding reached the registrar: $(kam_location)"
if grep -q 'event=flow_connecting' "$SK_LOG"; then
    die "sipkeep opened a flow for a refused phone"
fi
log_step "refused: no answer, no flow, no binding; logged as ua_denied"

log_step "control: the allowed phone at $LAN_UA_IP is served"
sipp_ua_register "$ROUTER_LAN_IP:5060" 2002 3600 || die "the allowed phone was not served"
kam_location_has 2002 "Reg-Id: 1$" || die "the allowed phone's binding is missing: $(kam_location)"
sk_stop

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 11, call-flow matrix over one TCP flow (reg-id 1).  The legacy phone
# (sipp, UDP) registers through sipkeep and preloads Route: <sip:SIPKEEP;lr>
# on the requests it starts (RFC 3261 §8.1.2, as baresip, PJSIP phones and
# Asterisk do); in-dialog it follows the route set (RFC 3261 §12.2.1.1).
# Matrix: {phone calls out, far side calls in} x {phone hangs up, far side
# hangs up}, first against the lab edge (Kamailio, strips a preloaded Route),
# then against a strict edge: edge.cfg rendered with STRICT_ROUTE (callflow_lib.sh
# cf_edge_strict), which, as OpenSIPS's default script, answers an initial
# request whose top Route names another host "403 Preload Route denied" and
# lets in-dialog requests through only by loose_route (else 404).  Before the
# calls, a direct OPTIONS with Route: <sip:192.0.2.99;lr> must get that 403
# from the strict edge, so the strict cells cannot pass vacuously.
# Each cell asserts: both sipp scenarios complete (the hang-up's BYE answered
# 200 by the other side), sipkeep's Record-Route (LAN address, ;lr, skf flow
# token) reached the phone, and the phone's ACK/BYE carried it as top Route.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

T0=$(date +%s)
lab_up
kam_start registrar
kam_start edge
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$CF_PHONE" "Reg-Id: 1$" || die "no reg-id 1 binding: $(kam_location)"

cf_matrix "TCP, lab edge"

cf_strict_edge_restart "$LAB_DIR/sipkeep.yaml"
cf_matrix "TCP, strict edge"
sk_stop
cf_report "8 calls over one TCP flow, lab and strict edge, in $(( $(date +%s) - T0 )) s"

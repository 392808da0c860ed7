#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 11, call-flow matrix over one TLS flow (reg-id 1, the edge's
# certificate edge.test verified against the lab CA).  As t_60: the legacy
# phone preloads Route: <sip:SIPKEEP;lr> and follows the route set;
# {phone calls out, far side calls in} x {phone hangs up, far side hangs up},
# against the lab edge, then against the strict edge (edge.cfg with
# STRICT_ROUTE: an initial request whose top Route names another host gets
# "403 Preload Route denied", as with OpenSIPS's default script; shown first
# with a direct OPTIONS, so the strict cells cannot pass vacuously).  Each cell:
# both sipp scenarios complete (BYE answered 200), sipkeep's Record-Route
# (skf flow token) reached the phone, the phone's ACK/BYE carried it on top.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

T0=$(date +%s)
lab_up
kam_start registrar
kam_start edge
ns_hosts "$NS_ROUTER" "$EDGE_IP $EDGE_TLS_NAME"
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, verify: true }" \
    sk_config "$LAB_DIR/sipkeep.yaml" "sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT"
sk_start "$LAB_DIR/sipkeep.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep failed"
sk_log_has "event=flow_connected reg_id=1 proxy=sips:$EDGE_TLS_NAME:$EDGE_TLS_PORT" || die "no TLS flow"
kam_location_has "$CF_PHONE" "Reg-Id: 1$" || die "no reg-id 1 binding: $(kam_location)"

cf_matrix "TLS, lab edge"
cf_strict_edge_restart "$LAB_DIR/sipkeep.yaml"
cf_matrix "TLS, strict edge"
sk_stop
cf_report "8 calls over one TLS flow, lab and strict edge, in $(( $(date +%s) - T0 )) s"

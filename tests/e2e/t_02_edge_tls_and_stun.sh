#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Lab check: the edge's TLS ports present the certificates sipkeep's TLS tests rely
# on, checked with openssl from the LAN through the NAT against the lab CA and the
# host name edge.test: port 5061 verifies, 5062 (wrong.test) fails the host-name
# check, 5063 (edge.test from an unknown CA) fails the chain.  The edge answers
# STUN on its UDP port with the NAT's address (RFC 5626 §4.4.2 keep-alives).  Then
# baresip registers over TLS as an RFC 5626 client and a call reaches it over that
# flow.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

USER_AOR=1003

lab_up
kam_start registrar
kam_start edge

# tls_check PORT: verify the edge's certificate on PORT for $EDGE_TLS_NAME; prints
# openssl's verdict, returns its status.
tls_check() {
    local out rc=0
    out=$(run_bounded 10 "$NS_LAN" openssl s_client -connect "$EDGE_IP:$1" -CAfile "$CA_FILE" \
        -verify_hostname "$EDGE_TLS_NAME" -verify_return_error -brief 2>&1) || rc=$?
    grep -E 'Peer certificate|verify error|CONNECTION ESTABLISHED' <<<"$out" | tr '\n' ' '
    return "$rc"
}

verdict=$(tls_check "$EDGE_TLS_PORT") || die "port $EDGE_TLS_PORT must verify as $EDGE_TLS_NAME: $verdict"
log_step "port $EDGE_TLS_PORT: $verdict"
if verdict=$(tls_check "$EDGE_TLS_WRONG_NAME_PORT"); then
    die "port $EDGE_TLS_WRONG_NAME_PORT must fail the host-name check: $verdict"
fi
[[ "$verdict" == *"hostname mismatch"* ]] || die "port $EDGE_TLS_WRONG_NAME_PORT failed otherwise: $verdict"
log_step "port $EDGE_TLS_WRONG_NAME_PORT: $verdict"
if verdict=$(tls_check "$EDGE_TLS_UNTRUSTED_PORT"); then
    die "port $EDGE_TLS_UNTRUSTED_PORT must fail the chain check: $verdict"
fi
[[ "$verdict" == *"unable to get local issuer certificate"* ]] ||
    die "port $EDGE_TLS_UNTRUSTED_PORT failed otherwise: $verdict"
log_step "port $EDGE_TLS_UNTRUSTED_PORT: $verdict"

mapped=$(stun_mapped "$NS_LAN" "$EDGE_IP" "$EDGE_UDP_PORT") || die "the edge did not answer a STUN Binding request"
[[ "$mapped" == "$ROUTER_WAN_IP":* ]] || die "STUN mapped address $mapped is not the NAT's"
log_step "STUN on $EDGE_IP:$EDGE_UDP_PORT from the LAN: mapped to $mapped"

log_step "baresip registers with the edge over TLS"
baresip_start "$USER_AOR" tls
wait_for "kam_location_has $USER_AOR 'Reg-Id: 1$'" 15 "baresip's binding" || die "baresip did not register over TLS"
kam_location_has "$USER_AOR" "Address: .*;transport=tls" || die "the binding is not over TLS: $(kam_location)"
kam_location_has "$USER_AOR" "Path: <sip:[^@;>]+@$EDGE_IP;lr;ob>" ||
    die "the binding's Path lacks the edge's flow token: $(kam_location)"
kam_location_has "$USER_AOR" "Instance: <urn:uuid:$BARESIP_UUID>$" || die "binding lacks the instance-id"
sipp_uac_call "$USER_AOR" 20 || die "the call did not reach baresip over TLS (INVITE final $SIPP_UAC_STATUS)"
log_step "baresip answered over its TLS flow"

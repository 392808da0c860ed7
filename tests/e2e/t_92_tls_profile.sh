#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 12 item 4, TLS as providers require it, against Kamailio's tls module.
#
# The edge gets three more TLS ports (a variant of edge.cfg and a TLS profile
# file of this scenario's own; the edge logs the SNI of every REGISTER that
# comes over TLS, from $tls_peer_server_name):
#   5071  certificate naming only the SIP domain ($SIP_DOMAIN), no client
#         certificate asked for;
#   5072  the same, and it requires a client certificate from the lab CA
#         (verify_certificate + require_certificate);
#   5073  the domain certificate, TLS 1.2 only.
#
# 1. Name apart from address.  Until RFC 3263 lookups land (Q1), "another
#    name or address than the domain" is made with what exists: flow 1 goes
#    to the edge's address literal, flow 2 to edge-a.test, a name that only
#    the router namespace resolves (/etc/netns hosts, as an SRV target would
#    be), both with tls.server_name: sip.test.  Both verify the certificate
#    against sip.test, both register, and the edge saw SNI sip.test on both
#    (never the address, never edge-a.test).  status/metrics show the
#    certificate's notAfter and, the lab's certificates living 2 days,
#    sipkeep warns about the expiry at the handshake.  Without server_name
#    the same flow to edge-a.test fails verification (expected edge-a.test).
#    Then with RFC 3263 (Q1's resolver): sips:sip.test, whose only DNS
#    record is SRV _sips._tcp.sip.test -> edge-srv.test:5071 (dnsmasq in the
#    WAN namespace, the router's /etc/netns resolv.conf), no server_name:
#    verified against sip.test, never edge-srv.test, and SNI sip.test.
# 2. Client certificate.  sipkeep runs as nobody with cert_file/key_file
#    root-owned 0600 (read before the privilege drop): it registers on 5072;
#    a SIGHUP (as nobody, the files unreadable now) keeps them and reloads.
#    Without them the edge refuses and sipkeep logs why; a missing key_file
#    stops the start with FILE:LINE:COL.
# 3. min_version "1.3" against the 1.2-only port: no flow, a protocol
#    version failure in the log; the default (1.2) registers there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1092
PORT_DOMAIN=5071
PORT_CLIENT=5072
PORT_TLS12=5073
ALIAS=edge-a.test    # a name of the edge that is not the SIP domain
SRV_TARGET=edge-srv.test  # the SRV target name of $SIP_DOMAIN (DNS only)
DNS_IP=198.51.100.53

sk_cli() {
    timeout 15 "$SIPKEEP" "$@"
}

# edge_profile: the edge's variant config and its TLS profiles.
edge_profile() {
    local d=$LAB_DIR/tls
    _cert_leaf "$d/domain" "$SIP_DOMAIN" "$d/ca"
    _cert_leaf "$d/client" "sipkeep-client.test" "$d/ca"
    sed -e "s|^listen=tls:%EDGE_IP%:%EDGE_TLS_UNTRUSTED_PORT%.*|&\\
listen=tls:%EDGE_IP%:$PORT_DOMAIN\\
listen=tls:%EDGE_IP%:$PORT_CLIENT\\
listen=tls:%EDGE_IP%:$PORT_TLS12|" \
        -e "s|%LAB_DIR%/edge-tls.cfg|%LAB_DIR%/edge-tls-profile.cfg|" \
        -e "s|^\\(\\s*\\)if (is_method(\"REGISTER\")) {|&\\
\\1\\tif (proto == TLS) xlog(\"L_NOTICE\", \"sk_tls_register sni=\$tls_peer_server_name port=\$Rp\\\\n\");|" \
        "$E2E_DIR/kamailio/edge.cfg" >"$LAB_DIR/edge-profile.cfg"
    grep -q "listen=tls:%EDGE_IP%:$PORT_TLS12" "$LAB_DIR/edge-profile.cfg" &&
        grep -q 'sk_tls_register' "$LAB_DIR/edge-profile.cfg" &&
        grep -q 'edge-tls-profile.cfg' "$LAB_DIR/edge-profile.cfg" ||
        die "edge.cfg changed: the variant for this scenario could not be made"
    {
        tls_profile server:default "TLSv1.2+" no "$EDGE_CERT" "$EDGE_KEY"
        tls_profile "server:$EDGE_IP:$EDGE_TLS_PORT" "TLSv1.2+" no "$EDGE_CERT" "$EDGE_KEY"
        tls_profile "server:$EDGE_IP:$PORT_DOMAIN" "TLSv1.2+" no "$d/domain.pem" "$d/domain.key"
        tls_profile "server:$EDGE_IP:$PORT_CLIENT" "TLSv1.2+" yes "$d/domain.pem" "$d/domain.key"
        tls_profile "server:$EDGE_IP:$PORT_TLS12" "TLSv1.2" no "$d/domain.pem" "$d/domain.key"
        tls_profile client:default "TLSv1.2+" no
    } >"$LAB_DIR/edge-tls-profile.cfg"
}

# tls_profile NAME METHOD REQUIRE_CLIENT_CERT [CERT KEY]: one Kamailio TLS
# profile; REQUIRE_CLIENT_CERT yes: a client certificate from $CA_FILE.
tls_profile() {
    printf '[%s]\nmethod = %s\nverify_certificate = %s\nrequire_certificate = %s\n' "$1" "$2" "$3" "$3"
    [[ "$3" == no ]] || printf 'ca_list = %s\n' "$CA_FILE"
    [[ $# -lt 5 ]] || printf 'certificate = %s\nprivate_key = %s\n' "$4" "$5"
    printf '\n'
}

# edge_snis PORT: the SNIs the edge logged for REGISTERs on PORT, one a line.
edge_snis() {
    grep -o "sk_tls_register sni=[^ ]* port=$1\$" "$LAB_DIR/edge.log" | sed 's/^sk_tls_register sni=//; s/ port=.*//' | sort -u
}

# fresh_registrar: no binding left from a previous run.
fresh_registrar() {
    kam_stop registrar
    kam_start registrar
}

# run_sk NAME PROXY... : sipkeep with SK_EXTRA_SERVICE, its log kept as NAME.log.
run_sk() {
    local name=$1
    shift
    sk_config "$LAB_DIR/$name.yaml" "$@"
    [[ -z "$SK_LOG" || ! -e "$SK_LOG" ]] || mv "$SK_LOG" "$LAB_DIR/sipkeep-before-$name.log"
    sk_start "$LAB_DIR/$name.yaml"
}

lab_up
edge_profile
kam_start registrar
KAM_CFG_edge=$LAB_DIR/edge-profile.cfg kam_start edge
_ns_listens "$NS_WAN" tcp "$EDGE_IP:$PORT_TLS12" || die "the edge does not listen on its extra TLS ports"
ns_hosts "$NS_ROUTER" "$EDGE_IP $ALIAS"
not_after=$(date -u -d "$(openssl x509 -enddate -noout -in "$LAB_DIR/tls/domain.pem" | cut -d= -f2)" +%s)

log_step "1. a certificate for $SIP_DOMAIN only, reached by address and by $ALIAS, tls.server_name: $SIP_DOMAIN"
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, server_name: $SIP_DOMAIN }" \
    run_sk name "sips:$EDGE_IP:$PORT_DOMAIN" "sips:$ALIAS:$PORT_DOMAIN"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
wait_for "kam_location_has $USER_AOR 'Reg-Id: 2$' && kam_location_has $USER_AOR 'Reg-Id: 1$'" 10 \
    "both flows registered" || die "not both flows at the registrar: $(kam_location)"
sk_log_has "event=flow_connected reg_id=1 proxy=sips:$EDGE_IP:$PORT_DOMAIN" || die "flow 1 (address) did not connect"
sk_log_has "event=flow_connected reg_id=2 proxy=sips:$ALIAS:$PORT_DOMAIN" || die "flow 2 ($ALIAS) did not connect"
sk_log_has "event=flow_connecting reg_id=2 proxy=sips:$ALIAS:$PORT_DOMAIN addr=$EDGE_IP:$PORT_DOMAIN" ||
    die "flow 2 did not go to $ALIAS's address"
snis=$(edge_snis "$PORT_DOMAIN")
[[ "$snis" == "$SIP_DOMAIN" ]] || die "the edge saw SNI '$snis', not only $SIP_DOMAIN"
[[ $(grep -c "sk_tls_register sni=$SIP_DOMAIN port=$PORT_DOMAIN\$" "$LAB_DIR/edge.log") -ge 2 ]] ||
    die "fewer than two REGISTERs with SNI $SIP_DOMAIN: $(grep sk_tls_register "$LAB_DIR/edge.log")"
log_step "both flows verified $SIP_DOMAIN; the edge saw SNI: $snis (from $(grep -c "port=$PORT_DOMAIN\$" "$LAB_DIR/edge.log") REGISTERs)"

json=$(sk_cli status --json -s "$SK_CTL") || die "sipkeep status --json failed"
jq -e ".bindings[0].flows | length == 2 and all(.peer_cert_expiry == $not_after)" >/dev/null <<<"$json" ||
    die "status lacks the certificate's notAfter $not_after: $json"
table=$(sk_cli status -s "$SK_CTL") || die "sipkeep status failed"
grep -q "certificate until $(date -u -d "@$not_after" +%Y-%m-%dT%H:%M:%SZ)" <<<"$table" ||
    die "the status table lacks the certificate's expiry: $table"
for r in 1 2; do
    v=$(sk_cli metrics -s "$SK_CTL" |
        awk -v m="sipkeep_service_peer_cert_expiry_timestamp_seconds{service=\"lab\",reg_id=\"$r\"}" '$1 == m { print $2 }')
    [[ "$v" == "$not_after" ]] || die "metric for reg-id $r is '$v', not $not_after"
done
# Once per edge (address and server name) and day, not per flow: both flows
# reach the same edge for the same name, so whichever handshook first warns.
# The lab's certificate ends 2 days after it was made: days_left (whole days
# left, rounded down) is 2 when the handshake falls in that same second.
sk_log_has "event=tls_cert_expiring reg_id=[12] proxy=sips:($EDGE_IP|edge-a\.test):$PORT_DOMAIN server_name=$SIP_DOMAIN not_after=.* days_left=[012]\$" ||
    die "no expiry warning for a certificate that ends in 2 days: $(grep tls_cert "$SK_LOG")"
[[ $(grep -c 'event=tls_cert_expiring' "$SK_LOG") == 1 ]] ||
    die "the expiry warning is not once per edge: $(grep tls_cert "$SK_LOG")"
log_step "status, metrics and the 14-day warning carry notAfter $not_after"
sk_stop

log_step "1b. the same without tls.server_name: $ALIAS is not in the certificate"
fresh_registrar
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE }" run_sk noname "sips:$ALIAS:$PORT_DOMAIN"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 && die "registered through a certificate that does not name $ALIAS"
sk_wait_log "event=flow_down reg_id=1 .*certificate verify failed: hostname mismatch \\(expected $ALIAS\\)" 10 ||
    die "no hostname mismatch for $ALIAS: $(grep flow_down "$SK_LOG" | tail -n 2)"
sk_stop

log_step "1c. RFC 3263: sips:$SIP_DOMAIN, whose only record is SRV _sips._tcp -> $SRV_TARGET:$PORT_DOMAIN"
# dnsmasq on an address of its own in the WAN; only the router resolves
# through it (/etc/netns/NS/resolv.conf, removed with the namespace).
_lab_run ip -n "$NS_WAN" addr add "$DNS_IP/$WAN_PREFIX" dev eth0
START_LOG=$LAB_DIR/dnsmasq.log start_in_ns "$NS_WAN" dnsmasq --no-daemon --no-resolv --no-hosts \
    --pid-file= --listen-address="$DNS_IP" --bind-interfaces --log-queries --log-facility=- \
    --srv-host="_sips._tcp.$SIP_DOMAIN,$SRV_TARGET,$PORT_DOMAIN,10,10" \
    --host-record="$SRV_TARGET,$EDGE_IP"
printf 'nameserver %s\n' "$DNS_IP" >"/etc/netns/$NS_ROUTER/resolv.conf"
wait_for "_ns_listens $NS_WAN udp $DNS_IP:53" 10 "dnsmasq listening" ||
    die "dnsmasq did not start: $(tail -n 5 "$LAB_DIR/dnsmasq.log")"
fresh_registrar
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE }" run_sk srv "sips:$SIP_DOMAIN"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through the SRV target failed"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "no binding through the SRV target: $(kam_location)"
sk_log_has "event=flow_connecting reg_id=1 proxy=sips:$SIP_DOMAIN addr=$EDGE_IP:$PORT_DOMAIN" ||
    die "the flow did not go to the SRV target: $(grep flow_connecting "$SK_LOG")"
grep -q "query\[SRV\] _sips._tcp.$SIP_DOMAIN" "$LAB_DIR/dnsmasq.log" || die "sipkeep did not ask for the SRV record"
[[ "$(edge_snis "$PORT_DOMAIN")" == "$SIP_DOMAIN" ]] || die "SNI via the SRV target: $(edge_snis "$PORT_DOMAIN")"
log_step "verified $SIP_DOMAIN on $SRV_TARGET ($EDGE_IP:$PORT_DOMAIN), SNI $SIP_DOMAIN; status: $(sk_cli status --json -s "$SK_CTL" | jq -c '.bindings[0].flows[0] | del(.proxy)')"
sk_stop

log_step "2. an edge that requires a client certificate; sipkeep as nobody, key 0600 root"
chmod 0711 "$LAB_DIR"
install -m 0600 -o root -g root "$LAB_DIR/tls/client.key" "$LAB_DIR/client-key.pem"
install -m 0600 -o root -g root "$LAB_DIR/tls/client.pem" "$LAB_DIR/client-cert.pem"
fresh_registrar
SK_USER=nobody SK_EXTRA_SERVICE="    tls:
      ca_file: $CA_FILE
      server_name: $SIP_DOMAIN
      cert_file: $LAB_DIR/client-cert.pem
      key_file: $LAB_DIR/client-key.pem" run_sk client "sips:$EDGE_IP:$PORT_CLIENT"
sk_wait_log "event=privileges_dropped user=nobody " 5 || die "sipkeep did not drop to nobody"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER with a client certificate failed"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "no binding via the client-certificate port: $(kam_location)"
[[ "$(edge_snis "$PORT_CLIENT")" == "$SIP_DOMAIN" ]] || die "SNI on $PORT_CLIENT: $(edge_snis "$PORT_CLIENT")"
grep -q "BEGIN\|PRIVATE" "$SK_LOG" && die "key material in sipkeep's log"
log_step "registered with the client certificate (key read as root, daemon runs as nobody)"
# A reload (as nobody) cannot read the root-only files again: unchanged, the
# context read at start stays and the reload goes through.
kill -HUP "$(sk_daemon_pid)"
sk_wait_log 'event=reloaded ' 5 || die "the reload failed: $(grep -E 'reload|tls_client' "$SK_LOG")"
sk_log_has 'event=tls_client_cert_kept service=lab err=".*cannot read: Permission denied"' ||
    die "no tls_client_cert_kept line: $(grep -E 'reload|tls_client' "$SK_LOG")"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER after the reload failed"
log_step "SIGHUP as nobody: $(grep -o 'event=tls_client_cert_kept.*' "$SK_LOG")"
sk_stop

fresh_registrar
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, server_name: $SIP_DOMAIN }" run_sk noclient "sips:$EDGE_IP:$PORT_CLIENT"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 && die "registered without the client certificate the edge requires"
sk_wait_log "event=flow_down reg_id=1 .*the edge wants a client certificate and none is configured: tls.cert_file, tls.key_file" 10 ||
    die "no clear line about the missing client certificate: $(grep flow_down "$SK_LOG" | tail -n 2)"
kam_location_has "$USER_AOR" && die "a binding reached the registrar without a client certificate"
log_step "refused without it: $(grep -o 'event=flow_down reg_id=1 [^"]*"[^"]*"' "$SK_LOG" | head -n 1)"
sk_stop

log_step "2b. a key_file that does not exist: start refused, pointing at the key"
SK_EXTRA_SERVICE="    tls:
      ca_file: $CA_FILE
      cert_file: $LAB_DIR/client-cert.pem
      key_file: $LAB_DIR/nonexistent.key" sk_config "$LAB_DIR/nokey.yaml" "sips:$EDGE_IP:$PORT_CLIENT"
"$SIPKEEP" --check-config -c "$LAB_DIR/nokey.yaml" >/dev/null || die "--check-config refused nokey.yaml"
line=$(grep -n 'key_file:' "$LAB_DIR/nokey.yaml" | cut -d: -f1)
rc=0
run_bounded 10 "$NS_ROUTER" "$SIPKEEP" -c "$LAB_DIR/nokey.yaml" >"$LAB_DIR/nokey.log" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || die "sipkeep exited $rc with a missing key: $(cat "$LAB_DIR/nokey.log")"
grep -q "event=start_failed step=router err=\"$LAB_DIR/nokey.yaml:$line:17: services\\[0\\].tls.key_file $LAB_DIR/nonexistent.key: cannot read: No such file or directory\"" \
    "$LAB_DIR/nokey.log" || die "no FILE:LINE:COL error for the key: $(cat "$LAB_DIR/nokey.log")"
log_step "refused: $(grep -o 'err=.*' "$LAB_DIR/nokey.log")"

log_step "3. min_version 1.3 against a TLS 1.2-only edge port"
fresh_registrar
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, server_name: $SIP_DOMAIN, min_version: \"1.3\" }" \
    run_sk tls13 "sips:$EDGE_IP:$PORT_TLS12"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 && die "registered below min_version 1.3"
sk_wait_log "event=flow_down reg_id=1 .*TLS handshake failed: .*protocol version" 10 ||
    die "no protocol version failure: $(grep flow_down "$SK_LOG" | tail -n 2)"
sk_stop
fresh_registrar
SK_EXTRA_SERVICE="    tls: { ca_file: $CA_FILE, server_name: $SIP_DOMAIN }" run_sk tls12 "sips:$EDGE_IP:$PORT_TLS12"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "the default minimum (1.2) did not register on the 1.2 port"
log_step "min_version 1.3 refused a 1.2-only edge; the default 1.2 registers there"
sk_stop

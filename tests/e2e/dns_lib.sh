# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # the variables are the lab's API
# A provider published by NAPTR/SRV in the e2e lab (issue 12): dnsmasq in the
# wan namespace on $DNS_IP serving sip.test (NAPTR SIP+D2T -> _sip._tcp, SRV
# prio 10 -> edge-a.sip.test = $EDGE_A_IP, a second Kamailio edge from
# edge.cfg; prio 20 -> edge-b.sip.test = the lab's edge, $EDGE_IP; their A
# records; no A record for sip.test itself, TTL 5 s), the router namespace
# resolving through it.  Source after lib.sh; used by t_93_dns_srv.sh and
# tests/bench/field.sh.
#
# API: srv_lab_up (after lab_up: addresses, the router's resolv.conf,
# dnsmasq), dns_start, edge_a_start (sets EDGE_A_PID; stop it with stop_pid).

DNS_IP=198.51.100.53
EDGE_A_IP=198.51.100.12
DNSMASQ_PID=
EDGE_A_PID=

# A second edge from edge.cfg (or the lab edge's variant, KAM_CFG_edge: e.g.
# callflow_lib.sh's cf_edge_strict makes both edges strict), on EDGE_A_IP,
# with its own ctl socket, TLS config and run dir (kam_start knows one edge
# only).
edge_a_start() {
    local rundir=$LAB_DIR/edge-a.run cfg=$LAB_DIR/edge-a.cfg
    mkdir -p "$rundir"
    # EDGE_IP for these two calls only (bash: a function's prefix assignment)
    EDGE_IP=$EDGE_A_IP _kam_render "${KAM_CFG_edge:-edge.cfg}" "$cfg.tmp"
    EDGE_IP=$EDGE_A_IP _kam_render edge-tls.cfg "$LAB_DIR/edge-a-tls.cfg"
    sed -e "s|$LAB_DIR/edge.ctl|$LAB_DIR/edge-a.ctl|" \
        -e "s|$LAB_DIR/edge-tls.cfg|$LAB_DIR/edge-a-tls.cfg|" "$cfg.tmp" >"$cfg"
    ns_exec "$NS_WAN" kamailio -c -f "$cfg" >"$LAB_DIR/edge-a.check.log" 2>&1 ||
        { cat "$LAB_DIR/edge-a.check.log"; die "kamailio edge A: config check failed"; }
    START_LOG=$LAB_DIR/edge-a.log start_in_ns "$NS_WAN" \
        kamailio -DD -E -f "$cfg" -P "$rundir/kamailio.pid" -Y "$rundir" -w "$rundir" -m 64 -M 8
    EDGE_A_PID=$LAST_PID
    wait_for "_ns_listens $NS_WAN tcp $EDGE_A_IP:$EDGE_TCP_PORT" 15 "edge A up" ||
        die "kamailio edge A did not start (see edge-a.log)"
    log_step "kamailio edge A up on $EDGE_A_IP (pid $EDGE_A_PID)"
}

dns_start() {
    START_LOG=$LAB_DIR/dnsmasq.log start_in_ns "$NS_WAN" \
        dnsmasq -k -C /dev/null --user=root --pid-file="$LAB_DIR/dnsmasq.pid" --no-resolv --no-hosts \
        --bind-interfaces --listen-address="$DNS_IP" --port=53 \
        --local="/$SIP_DOMAIN/" --local-ttl=5 --log-queries --log-facility=- \
        --naptr-record="$SIP_DOMAIN,10,10,S,SIP+D2T,,_sip._tcp.$SIP_DOMAIN" \
        --srv-host="_sip._tcp.$SIP_DOMAIN,edge-a.$SIP_DOMAIN,$EDGE_TCP_PORT,10,0" \
        --srv-host="_sip._tcp.$SIP_DOMAIN,edge-b.$SIP_DOMAIN,$EDGE_TCP_PORT,20,0" \
        --host-record="edge-a.$SIP_DOMAIN,$EDGE_A_IP" \
        --host-record="edge-b.$SIP_DOMAIN,$EDGE_IP"
    DNSMASQ_PID=$LAST_PID
    wait_for "_ns_listens $NS_WAN udp $DNS_IP:53" 10 "dnsmasq up" || die "dnsmasq did not start"
    log_step "dnsmasq up on $DNS_IP (pid $DNSMASQ_PID)"
}

# srv_lab_up: edge A's and the DNS server's addresses in wan, the router
# resolving through dnsmasq (/etc/netns/NS/resolv.conf, removed with the
# namespace), dnsmasq started and checked: edge-a resolves, sip.test has no
# address record.
srv_lab_up() {
    local a
    for a in "$EDGE_A_IP" "$DNS_IP"; do
        ip -n "$NS_WAN" addr add "$a/$WAN_PREFIX" dev eth0
    done
    mkdir -p "/etc/netns/$NS_ROUTER"
    echo "nameserver $DNS_IP" >"/etc/netns/$NS_ROUTER/resolv.conf"
    dns_start
    ns_exec "$NS_ROUTER" getent hosts "edge-a.$SIP_DOMAIN" >/dev/null ||
        die "the router namespace does not resolve through dnsmasq"
    ! ns_exec "$NS_ROUTER" getent ahosts "$SIP_DOMAIN" >/dev/null ||
        die "$SIP_DOMAIN has an address record: the scenario needs none"
}

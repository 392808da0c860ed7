#!/usr/bin/env bash
# Issue 11: the call-flow matrix's basic cells in TRANSPARENT mode over one TCP
# flow.  The phone is baresip as a plain legacy UDP phone configured with the
# provider's edge ($EDGE_IP:$EDGE_UDP_PORT) as its outbound proxy, which it
# preloads as a Route; it never hears of sipkeep.  sipkeep on the router takes
# its SIP from the NFQUEUE (UDP to the edge only), registers it over a TCP
# flow and Record-Routes every dialog with the intercepted destination (the
# edge's address and port, with its skf flow token), so the phone, following
# its route set (RFC 3261 §12.2.1.1), sends its ACKs and BYEs over UDP to that
# address, where the rules intercept them again.  The edge is the strict one
# (callflow_lib.sh cf_edge_strict: "403 Preload Route denied" for a preloaded
# Route naming another host, as OpenSIPS's default script).
# Cells: phone calls out (sip:far@sip.test, a sipp UAS in wan), phone hangs
# up / far side hangs up; far side calls in, phone hangs up / far side hangs
# up.  Each cell: the call is answered, the hang-up's BYE reaches the other
# side and is answered 200 there, and the phone's requests in the dialog carry
# sipkeep's Record-Route as top Route.  Throughout, the phone sent SIP only
# over UDP to the edge's address (all of it intercepted), never TCP.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/tmode_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

USER_AOR=1071
SK_READY_EVENT=intercepting
T0=$(date +%s)
# sipkeep's Record-Route in transparent mode: the intercepted destination.
SK_RR_ERE="^Route: *<sip:${EDGE_IP//./\\.}:$EDGE_UDP_PORT;([^>]*;)?lr;([^>]*;)?skf=[0-9]+\\.[0-9a-f]{16}[;>]"

# top_route_ok METHOD MARK: every METHOD baresip sent after log line MARK had
# sipkeep's Record-Route as its top Route (and there was one).
top_route_ok() {
    local tops
    tops=$(awk -v m="$1" -v after="$2" -v me="$LAN_UA_IP:" '
        NR <= after { next }
        /^(UDP|TCP|TLS) [^ ]+ -> [^ ]+/ { out = (index($2, me) == 1); req = 0; first = 1; next }
        out && first { first = 0; req = ($1 == m) ; next }
        out && req && /^Route:/ { print; req = 0 }' "$LAB_DIR/baresip.log")
    [[ -n "$tops" ]] || { log_step "no $1 from baresip"; return 1; }
    ! grep -Evq -- "$SK_RR_ERE" <<<"$tops" || { log_step "$1 top Route: $tops"; return 1; }
}

# cell out|in phone|far
FAILED=()
cell() {
    local dir=$1 hup=$2 t0 mark rc=0 name="call $1, $2 hangs up"
    t0=$(date +%s%N)
    mark=$(baresip_log_mark)
    log_step "cell: $name"
    case "$dir" in
        out)
            if [[ $hup == phone ]]; then
                sipp_uas_start "$NS_WAN" "$WAN_UAC_IP:$WAN_UAC_PORT" far ua_answer.xml
            else
                sipp_uas_start "$NS_WAN" "$WAN_UAC_IP:$WAN_UAC_PORT" far t7x_uas_bye.xml
            fi
            baresip_cmd "/dial sip:far@$SIP_DOMAIN"
            wait_for "sipp_uas_got ACK" 10 "the far side to get the phone's ACK" ||
                { cell_fail "$name: not answered and ACKed at the far side"; return 1; }
            if [[ $hup == phone ]]; then
                sleep 0.5
                baresip_cmd "/hangup"
            fi
            sipp_ua_answer_wait 10 || rc=$?
            [[ $rc -eq 0 ]] || { cell_fail "$name: far side's sipp rc $rc"; return 1; }
            top_route_ok ACK "$mark" || { cell_fail "$name: the phone's ACK did not follow sipkeep's Record-Route"; return 1; }
            ;;
        in)
            if [[ $hup == phone ]]; then
                far_call_start "$USER_AOR" t7x_uac_wait_bye.xml 15
                far_call_answered 10 || { cell_fail "$name: the phone did not answer"; far_call_wait 1 || true; return 1; }
                sleep 0.5
                baresip_cmd "/hangup"
                far_call_wait 10 || rc=$?
            else
                sipp_uac_call "$USER_AOR" 15 || rc=$?
            fi
            [[ $rc -eq 0 ]] || { cell_fail "$name: far caller's sipp rc $rc (INVITE final $SIPP_UAC_STATUS)"; return 1; }
            ;;
    esac
    if [[ $hup == phone ]]; then
        if [[ $dir == out ]]; then
            sipp_uas_got BYE 200 || { cell_fail "$name: the far side did not get and answer the BYE"; return 1; }
        else
            far_call_got BYE || { cell_fail "$name: the far side did not get the BYE"; return 1; }
        fi
        wait_for "baresip_got 200 BYE $mark" 5 "baresip to get 200 for its BYE" ||
            { cell_fail "$name: the phone got no 200 for its BYE"; return 1; }
        top_route_ok BYE "$mark" || { cell_fail "$name: the phone's BYE did not follow sipkeep's Record-Route"; return 1; }
    else
        wait_for "baresip_got_request BYE $mark" 5 "the far side's BYE at the phone" ||
            { cell_fail "$name: the phone never got the far side's BYE"; return 1; }
    fi
    log_step "ok: $name ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
}
cell_fail() {
    log_step "CELL FAILED: $*"
    FAILED+=("$1")
    sipp_ua_answer_stop
}

lab_up
kam_start registrar
cf_edge_strict
kam_start edge
cf_preload_refused || die "the strict edge did not refuse a preloaded foreign Route with 403"
tmode_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
tmode_capture_start "$NS_LAN" eth0 "src host $LAN_UA_IP and (tcp or (udp and src port $BARESIP_SIP_PORT))"

log_step "baresip (plain legacy UDP phone, outbound=sip:$EDGE_IP:$EDGE_UDP_PORT) registers, intercepted"
baresip_legacy_start "$USER_AOR" "$EDGE_IP:$EDGE_UDP_PORT"
wait_for "kam_location_has $USER_AOR" 15 "baresip's binding at the registrar" ||
    die "baresip did not register: $(kam_location)"
tmode_via_sipkeep "$USER_AOR"
grep -Eq "^Route: *<sip:$EDGE_IP:$EDGE_UDP_PORT;lr>" "$LAB_DIR/baresip.log" ||
    die "baresip did not preload a Route to the edge (the scenario's premise)"
log_step "registered through sipkeep (instance-id, reg-id 1); baresip preloads Route: <sip:$EDGE_IP:$EDGE_UDP_PORT;lr>"

cell out phone || true
cell out far || true
cell in phone || true
cell in far || true

tmode_capture_stop
bad=$(awk '$2 == "IP" && $5 != "'"$EDGE_IP.$EDGE_UDP_PORT"':"' "$TMODE_CAP" | head -n 5)
[[ -z "$bad" ]] || FAILED+=("the phone sent SIP elsewhere than the intercepted edge address: $bad")
n=$(grep -c ' IP ' "$TMODE_CAP" || true)
log_step "the phone sent $n packets, all UDP to $EDGE_IP:$EDGE_UDP_PORT: $([[ -z "$bad" ]] && echo yes || echo NO)"
[[ ${#FAILED[@]} -eq 0 ]] || die "${#FAILED[@]} failure(s): $(printf '[%s] ' "${FAILED[@]}")"
baresip_stop
sk_stop
log_step "t_71: 4 cells in transparent mode over TCP passed in $(( $(date +%s) - T0 )) s"

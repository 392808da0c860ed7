#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC2016  # cf_check evaluates its conditions
# Issue 11, the rest of a phone's call flows, over one TCP flow against the
# strict edge (edge.cfg with STRICT_ROUTE: an initial request whose top Route
# names another host gets "403 Preload Route denied", as with OpenSIPS's
# default script; shown first with a direct OPTIONS).  The legacy phone
# (sipp, UDP) preloads Route: <sip:SIPKEEP;lr> and follows the route set.
#  - CANCEL before answer, from the phone: INVITE, 180, CANCEL; 200 for the
#    CANCEL and 487 for the INVITE reach the phone, its ACK completes; the far
#    side sees CANCEL and the ACK of its 487.  And from the far side (a call
#    in): the phone gets the CANCEL, answers 200 and 487, gets the ACK.
#  - 486 Busy from the far side, ACKed.  The first 486 towards the phone is
#    dropped at the phone's host (iptables in lan) and the phone does not retransmit its INVITE (sipp
#    -nr): it gets the 486 only by sipkeep's Timer G retransmission (RFC 3261
#    §17.2.1; a non-2xx final from a reliable flow to a UDP phone), and its
#    ACK stops them (exactly one 486 reaches it).
#  - One dialog with re-INVITEs from each side (hold a=sendonly, resume) and an
#    INFO from the phone, then the phone's BYE: both scenarios complete and every
#    in-dialog request of the phone carried sipkeep's Record-Route as top Route.
#  - A request the phone addresses to sipkeep itself (Request-URI and preloaded
#    Route both sipkeep's LAN address): an OPTIONS "ping" is answered 200 by
#    sipkeep (Supported: outbound), a MESSAGE 404; neither is forwarded.
#  - An in-dialog BYE whose top Route is sipkeep's with a forged flow token
#    (skf=1.0123456789abcdef) is refused 403 and not forwarded.
#  - SUBSCRIBE/NOTIFY (message-summary): the phone subscribes at the far side,
#    which answers 200 and NOTIFYs (active); the phone answers 200, then ends the
#    subscription in the dialog (Expires: 0) and gets the terminating NOTIFY.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"
. "$(dirname "$0")/callflow_lib.sh"

T0=$(date +%s)
lab_up
kam_start registrar
cf_edge_strict
kam_start edge
cf_preload_refused || die "the strict edge did not answer a preloaded foreign Route 403 (or refused its own name)"
log_step "strict edge: OPTIONS with Route <sip:192.0.2.99;lr> -> 403 Preload Route denied; Route naming the edge -> not 403"
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep failed"

# ---- requests to sipkeep itself (RFC 3261 §16.4: its Route popped, nothing left)
name="OPTIONS ping to sipkeep"
log_from=$(wc -l <"$SK_LOG")
cf_phone_uac ph_options_sipkeep.xml "$CF_FAR" 5 || true
cf_check "$name" 'grep -q "^SIP/2.0 200" "$CF_UAC_MSG"' "no 200: $(_sipp_last_status "$CF_UAC_MSG")" &&
    cf_check "$name" 'grep -Eiq "^Supported:.*outbound" "$CF_UAC_MSG"' "sipkeep's 200 lacks Supported: outbound" &&
    cf_check "$name" '! grep -qi "^Server: kamailio" "$CF_UAC_MSG"' "the OPTIONS was forwarded upstream (Kamailio answered)" &&
    cf_check "$name" '! tail -n +$((log_from + 1)) "$SK_LOG" | grep -q "event=ua_request_relayed method=OPTIONS"' "sipkeep relayed it upstream" &&
    log_step "ok: $name (answered 200 by sipkeep, Supported: outbound, not forwarded)"
name="MESSAGE to sipkeep"
cf_phone_uac ph_message_sipkeep.xml "$CF_FAR" 5 || true
cf_check "$name" 'grep -q "^SIP/2.0 404" "$CF_UAC_MSG"' "not 404: $(_sipp_last_status "$CF_UAC_MSG")" &&
    cf_check "$name" '! tail -n +$((log_from + 1)) "$SK_LOG" | grep -q "event=ua_request_relayed method=MESSAGE"' "sipkeep relayed it upstream" &&
    log_step "ok: $name (404 from sipkeep, not forwarded)"

name="forged flow token"
log_from=$(wc -l <"$SK_LOG")
cf_phone_uac ph_forged_token.xml "$CF_FAR" 5 || true
cf_check "$name" 'grep -q "^SIP/2.0 403" "$CF_UAC_MSG"' "not 403: $(_sipp_last_status "$CF_UAC_MSG")" &&
    cf_check "$name" '! tail -n +$((log_from + 1)) "$SK_LOG" | grep -q "event=ua_request_relayed method=BYE"' "sipkeep relayed it upstream" &&
    log_step "ok: $name (an in-dialog BYE with skf=1.0123456789abcdef: 403, not forwarded)"

# ---- CANCEL before answer, from the phone
name="CANCEL of a call out"
if cf_phone_far "$name" ph_cancel.xml uas_ring_cancel.xml; then
    cf_check "$name" 'grep -q "^SIP/2.0 487" "$CF_UAC_MSG"' "no 487 reached the phone" &&
        cf_check "$name" '[[ $(cf_received "$CF_UAS_MSG" CANCEL) -ge 1 ]]' "the far side never got the CANCEL" &&
        log_step "ok: $name (phone: 200 for CANCEL, 487, ACK; far side: CANCEL, ACK)"
fi

# ---- CANCEL before answer, from the far side
name="CANCEL of a call in"
cf_uas_start "$NS_LAN" "$LAN_UA_IP" uas_ring_cancel.xml "$CF_PHONE"
t0=$(date +%s%N)
cf_far_uac far_cancel.xml "$CF_PHONE" 10 || true
uas_rc=0
cf_uas_wait 5 || uas_rc=$?
log_step "$name: far side sipp rc $CF_UAC_RC, phone sipp rc $uas_rc, $(( ($(date +%s%N) - t0) / 1000000 )) ms"
cf_check "$name" '[[ $CF_UAC_RC -eq 0 ]]' "the far side's scenario failed: $(_cf_err "$CF_UAC_MSG")" &&
    cf_check "$name" '[[ $uas_rc -eq 0 ]]' "the phone's scenario failed: $(_cf_err "$CF_UAS_MSG")" &&
    cf_check "$name" '[[ $(cf_received "$CF_UAS_MSG" CANCEL) -ge 1 ]]' "the phone never got the CANCEL" &&
    cf_check "$name" 'grep -q "^SIP/2.0 487" "$CF_UAC_MSG"' "no 487 reached the far side" &&
    log_step "ok: $name (phone: CANCEL answered 200, 487 ACKed; far side: 200, 487)"

# ---- 486 Busy, ACKed; the first 486 to the phone is lost on the LAN
# (dropped at the phone's host, after sipkeep sent it).
name="486 Busy, first 486 lost"
drop486=(INPUT -p udp -s "$ROUTER_LAN_IP" -d "$LAN_UA_IP" -m string --algo bm --string "SIP/2.0 486" -j DROP)
ns_exec "$NS_LAN" iptables -I "${drop486[@]}"
# Lift the drop once it has eaten one 486 (polled in the background).
drop486_count() {
    ns_exec "$NS_LAN" iptables -nvxL INPUT | awk '/STRING match/ && /486/ { print $1; exit }'
}
(
    for _ in $(seq 1 200); do
        [[ "$(drop486_count)" -ge 1 ]] 2>/dev/null && break
        sleep 0.05
    done
    drop486_count >"$LAB_DIR/drop486.count"
    ns_exec "$NS_LAN" iptables -D "${drop486[@]}"
) &
lifter=$!
_LAB_PIDS+=("$lifter")
if cf_phone_far "$name" ph_busy.xml uas_busy.xml -nr; then
    wait "$lifter" 2>/dev/null || true
    n486=$(grep -c '^SIP/2.0 486' "$CF_UAC_MSG" || true)
    ninv=$(grep -c '^INVITE sip:' "$CF_UAC_MSG" || true)
    cf_check "$name" '[[ "$(cat "$LAB_DIR/drop486.count" 2>/dev/null)" -ge 1 ]]' "no 486 was dropped on the LAN: the test proves nothing" &&
        cf_check "$name" '[[ $ninv -eq 1 ]]' "the phone sent $ninv INVITEs (sipp -nr: one)" &&
        cf_check "$name" '[[ $n486 -eq 1 ]]' "the phone got $n486 486s (one expected: Timer G stops on its ACK)" &&
        log_step "ok: $name (the 486 reached the phone by retransmission, its ACK stopped them; the far side got its ACK)"
fi
wait "$lifter" 2>/dev/null || true
ns_exec "$NS_LAN" iptables -D "${drop486[@]}" 2>/dev/null || true

# ---- re-INVITE hold/resume from each side, INFO, BYE
cf_dialog_cell || true

# ---- SUBSCRIBE/NOTIFY message-summary
name="SUBSCRIBE/NOTIFY message-summary"
if cf_phone_far "$name" ph_subscribe.xml far_notify.xml; then
    cf_check "$name" '[[ $(cf_received "$CF_UAC_MSG" NOTIFY "Voice-Message: 2/8") -eq 1 ]]' "the NOTIFY body did not reach the phone" &&
        cf_check "$name" '[[ $(cf_received "$CF_UAC_MSG" NOTIFY "Subscription-State: terminated") -eq 1 ]]' "the terminating NOTIFY did not reach the phone" &&
        cf_check "$name" '[[ $(cf_received "$CF_UAS_MSG" SUBSCRIBE "Expires: 0") -eq 1 ]]' "the phone's un-SUBSCRIBE did not reach the far side" &&
        cf_check "$name" 'cf_sipkeep_rr "$CF_UAC_MSG"' "no Record-Route of sipkeep in the SUBSCRIBE's 200" &&
        cf_check "$name" 'cf_top_route_is_sipkeep "$CF_UAC_MSG" SUBSCRIBE' "the phone's un-SUBSCRIBE did not have sipkeep's Record-Route as top Route" &&
        log_step "ok: $name"
fi

sk_stop
cf_report "OPTIONS/MESSAGE to sipkeep, forged token, CANCEL both ways, 486 with Timer G, re-INVITEs both ways and INFO, SUBSCRIBE/NOTIFY, in $(( $(date +%s) - T0 )) s"

# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Call flows through sipkeep in the e2e lab (issue 11): the legacy phone (sipp,
# UDP, in lan, registered through sipkeep) calls out with its outbound proxy
# preloaded as Route (RFC 3261 §8.1.2), or is called by the far side (sipp in
# wan at $WAN_UAC_IP:$WAN_UAC_PORT, through the edge); either side hangs up.
# Calls out reach the far side because the registrar routes user "far" to
# $WAN_UAC_IP (registrar.cfg).  Source after lib.sh and sk_lib.sh.
#
# API: cf_edge_strict (the next kam_start edge runs edge.cfg with STRICT_ROUTE),
# cf_edge_lab (back to the lab edge), cf_uas_start NS IP SCENARIO USER [SIPP_ARG...],
# cf_uas_wait SECS, cf_uas_stop, cf_phone_uac SCENARIO CALLEE [SECS] [SIPP_ARG...],
# cf_far_uac SCENARIO AOR [SECS] [SIPP_ARG...], cf_cell out|in phone|far,
# cf_preload_refused, cf_strict_edge_restart CONFIG, cf_matrix LABEL,
# cf_phone_far NAME PHONE_SCENARIO FAR_SCENARIO, cf_check NAME COND MESSAGE,
# cf_report WHAT, cf_sipkeep_rr FILE, cf_top_route_is_sipkeep FILE METHOD,
# cf_received FILE METHOD [ERE], cf_flow_edge_rr FILE IP, cf_dialog_cell,
# cf_both_phones LABEL EDGE_IP BARESIP_USER;
# CF_PHONE (the phone's AOR user), CF_REG_ID (calls in: the reg-id the lab
# registrar is told to use, 0 none),
# CF_CHECK_FLOWS (1: check the flow of each in-dialog request), CF_FLOW_EDGE
# (an edge's IP: the dialog must have been record-routed by that edge on the
# flow's side, i.e. the flow went to it), CF_FAILED,
# CF_UAS_MSG, CF_UAC_MSG (sipp traces).

CF_PHONE=${CF_PHONE:-1060}
CF_FAR=far
CF_UAS_PID=
CF_UAS_MSG=
CF_UAC_MSG=
CF_UAC_RC=0
# sipkeep's Record-Route entry (issue 11, design decision 2): its LAN address
# with ;lr and the flow token skf=<reg-id>.<16 hex>.
CF_SK_RR_ERE="<sip:${ROUTER_LAN_IP//./\\.}:5060;([^>]*;)?lr;([^>]*;)?skf=[0-9]+\\.[0-9a-f]{16}[;>]"

# cf_edge_strict: the next kam_start edge renders edge.cfg with
# "#!define STRICT_ROUTE": an edge that refuses a preloaded Route naming another
# host with 403 Preload Route denied, as OpenSIPS's default script does (see
# edge.cfg).  cf_edge_lab: back to the lab's edge (strips such a Route).
cf_edge_strict() {
    local f=$LAB_DIR/edge-strict.src.cfg
    { echo '#!KAMAILIO'; echo '#!define STRICT_ROUTE'; grep -v '^#!KAMAILIO' "$E2E_DIR/kamailio/edge.cfg"; } >"$f"
    # shellcheck disable=SC2034  # read by kam_start
    KAM_CFG_edge=$f
}
cf_edge_lab() {
    unset KAM_CFG_edge
}

# cf_uas_start NS IP SCENARIO USER [SIPP_ARG...]: a sipp UAS (UDP, port 5060)
# in NS on IP waits in the background for one call of SCENARIO (a file under
# sipp/); its trace is CF_UAS_MSG.  For the phone: NS_LAN, LAN_UA_IP, user
# $CF_PHONE (the address it registered); for the far side: NS_WAN, WAN_UAC_IP.
cf_uas_start() {
    local ns=$1 ip=$2 sf=$3 user=$4 tag
    shift 4
    tag=cfuas-${sf%.xml}-$((++_SIPP_SEQ))
    [[ -z "$CF_UAS_PID" ]] || die "cf_uas_start: one is already running"
    CF_UAS_MSG=$LAB_DIR/sipp-$tag.msg
    : >"$CF_UAS_MSG"
    START_LOG=$LAB_DIR/sipp-$tag.log start_in_ns "$ns" \
        sipp -sf "$_SIPP_DIR/$sf" -t u1 -m 1 -i "$ip" -p 5060 -s "$user" \
        -key domain "$SIP_DOMAIN" -mp 36000 -nostdin -timeout 30s -timeout_error \
        -trace_msg -message_file "$CF_UAS_MSG" -trace_err -error_file "$LAB_DIR/sipp-$tag.err" "$@"
    CF_UAS_PID=$LAST_PID
    wait_for "_ns_listens $ns udp $ip:5060" 10 "sipp UAS on $ip:5060" || die "sipp UAS did not start"
}

# cf_uas_wait SECS: wait for the UAS to end its call; returns sipp's status
# (0: the scenario completed), 124 when it was still running after SECS.
cf_uas_wait() {
    local rc=0
    [[ -n "$CF_UAS_PID" ]] || die "cf_uas_wait: no UAS"
    if ! wait_for "! kill -0 $CF_UAS_PID" "$1" "sipp UAS to finish"; then
        cf_uas_stop
        return 124
    fi
    wait "$CF_UAS_PID" || rc=$?
    CF_UAS_PID=
    return "$rc"
}

cf_uas_stop() {
    [[ -n "$CF_UAS_PID" ]] || return 0
    stop_pid "$CF_UAS_PID" 3
    CF_UAS_PID=
}

# cf_phone_uac SCENARIO CALLEE [SECS] [SIPP_ARG...]: the phone (sipp in lan on
# $LAN_UA_IP:5060, the address it registered) runs one call of SCENARIO towards
# sipkeep ($ROUTER_LAN_IP:5060) in the foreground; trace CF_UAC_MSG; returns
# sipp's status (also in CF_UAC_RC).
cf_phone_uac() {
    local sf=$1 callee=$2 secs=${3:-20} tag
    shift 3 2>/dev/null || shift $#
    tag=cfph-${sf%.xml}-$((++_SIPP_SEQ))
    CF_UAC_MSG=$LAB_DIR/sipp-$tag.msg
    CF_UAC_RC=0
    run_bounded $((secs + 5)) "$NS_LAN" sipp -sf "$_SIPP_DIR/$sf" -t u1 -m 1 \
        -i "$LAN_UA_IP" -p "$LAN_UA_PORT" -s "$callee" -key me "$CF_PHONE" -key domain "$SIP_DOMAIN" \
        -mp 16000 -nostdin -timeout "${secs}s" -timeout_error \
        -trace_msg -message_file "$CF_UAC_MSG" -trace_err -error_file "$LAB_DIR/sipp-$tag.err" \
        "$@" "$ROUTER_LAN_IP:5060" >"$LAB_DIR/sipp-$tag.log" 2>&1 || CF_UAC_RC=$?
    return "$CF_UAC_RC"
}

# cf_far_uac SCENARIO AOR [SECS] [SIPP_ARG...]: the far side (sipp in wan on
# $WAN_UAC_IP:$WAN_UAC_PORT) runs one call of SCENARIO to AOR (-key ruri) through
# the edge's UDP port, in the foreground; like cf_phone_uac.
cf_far_uac() {
    local sf=$1 aor=$2 secs=${3:-20} tag
    shift 3 2>/dev/null || shift $#
    [[ "$aor" == sip:* ]] || aor=sip:$aor@$SIP_DOMAIN
    tag=cffar-${sf%.xml}-$((++_SIPP_SEQ))
    CF_UAC_MSG=$LAB_DIR/sipp-$tag.msg
    CF_UAC_RC=0
    run_bounded $((secs + 5)) "$NS_WAN" sipp -sf "$_SIPP_DIR/$sf" -t u1 -m 1 \
        -i "$WAN_UAC_IP" -p "$WAN_UAC_PORT" -mp 26000 -key ruri "$aor" -key domain "$SIP_DOMAIN" -key reg_id "${CF_REG_ID:-0}" \
        -nostdin -timeout "${secs}s" -timeout_error \
        -trace_msg -message_file "$CF_UAC_MSG" -trace_err -error_file "$LAB_DIR/sipp-$tag.err" \
        "$@" "$EDGE_IP:$EDGE_UDP_PORT" >"$LAB_DIR/sipp-$tag.log" 2>&1 || CF_UAC_RC=$?
    return "$CF_UAC_RC"
}

# cf_received FILE METHOD [ERE]: how many METHOD requests the side of sipp trace
# FILE received (whose text, headers and body, matches ERE if given).
cf_received() {
    awk -v m="$2" -v re="${3:-}" '
        function flush() {
            if (req && (re == "" || text ~ re)) n++
            req = 0
        }
        { sub(/\r$/, "") }
        /^----------------------------------------------- / { flush(); first = 1; next }
        first && / message sent / { rcvd = 0; next }
        first && / message received / { rcvd = 1; next }
        first && NF { first = 0; req = (rcvd && $1 == m && $2 ~ /^sips?:/); text = ""; next }
        req { text = text $0 "\n" }
        END { flush(); print n + 0 }' "$1"
}

# cf_sipkeep_rr FILE: did a message in sipp trace FILE carry sipkeep's
# Record-Route entry (its LAN address, ;lr, the skf flow token)?
cf_sipkeep_rr() {
    grep -Ei '^(Record-Route|rr):' "$1" 2>/dev/null | grep -Eq -- "$CF_SK_RR_ERE"
}

# cf_flow_edge_rr FILE IP: in sipp trace FILE (the phone's side), did the
# dialog's Record-Route carry the flow-side entry of the edge at IP (an edge
# records a flow token and the transport, <sip:TOKEN@IP;transport=tcp|tls;..>,
# where it relays to or from a flow) and no such entry of another host?  Tells
# which edge the flow that carried the dialog went to.
cf_flow_edge_rr() {
    local hosts
    hosts=$(grep -Ei '^(record-route|rr):' "$1" | grep -Eo '<sip:[^@>]+@[^;>]+;transport=(tcp|tls)[;>]' |
        sed -E 's/^<sip:[^@]+@([^;]+);.*/\1/' | sort -u)
    [[ "$hosts" == "$2" ]]
}

# cf_top_route_is_sipkeep FILE METHOD: in sipp trace FILE, did every in-dialog
# METHOD request the side sent (To with a tag) have sipkeep's Record-Route
# entry as its top Route (the route set of a phone that follows RFC 3261
# §12.2.1.1)?  At least one such request.
cf_top_route_is_sipkeep() {
    local tops
    # A trace entry: a dashed line with the time, "UDP message sent (N bytes):"
    # (or received), an empty line, the message with CRLF line ends.
    tops=$(awk -v m="$2" '
        function flush() {
            if (req && tagged) print (top == "" ? "none" : top)
            req = 0
        }
        { sub(/\r$/, "") }
        /^----------------------------------------------- / { flush(); first = 1; next }
        first && / message sent / { sent = 1; next }
        first && / message received / { sent = 0; next }
        first && NF { first = 0; req = (sent && $1 == m && $2 ~ /^sips?:/); top = ""; tagged = 0; next }
        req && $0 == "" { flush(); next }
        req && tolower($0) ~ /^route:/ && top == "" { top = $0; sub(/^[^:]*: */, "", top) }
        req && tolower($0) ~ /^(to|t):/ && $0 ~ /;tag=/ { tagged = 1 }
        END { flush() }' "$1")
    [[ -n "$tops" ]] || return 1
    ! grep -Evq -- "^$CF_SK_RR_ERE" <<<"$tops"
}

# cf_preload_refused: prove the edge refuses a preloaded foreign Route: the far
# side sends an OPTIONS to the edge with Route: <sip:192.0.2.99;lr> (another
# host) and must get 403 Preload Route denied; an OPTIONS whose Route names the
# edge itself must get an answer other than 403 (the registrar's 404 for the
# unknown user "probe").  The lab edge strips both Routes: it fails the first.
cf_preload_refused() {
    local secs=10 msg
    msg=$LAB_DIR/sipp-cf-preload-$((++_SIPP_SEQ)).msg
    run_bounded $((secs + 5)) "$NS_WAN" sipp -sf "$_SIPP_DIR/far_options_route.xml" -t u1 -m 1 \
        -i "$WAN_UAC_IP" -p "$WAN_UAC_PORT" -key route "sip:192.0.2.99;lr" -key domain "$SIP_DOMAIN" \
        -nostdin -timeout "${secs}s" -trace_msg -message_file "$msg" \
        "$EDGE_IP:$EDGE_UDP_PORT" >/dev/null 2>&1 || true
    grep -q '^SIP/2.0 403 Preload Route denied' "$msg" || return 1
    msg=$LAB_DIR/sipp-cf-preload-$((++_SIPP_SEQ)).msg
    run_bounded $((secs + 5)) "$NS_WAN" sipp -sf "$_SIPP_DIR/far_options_route.xml" -t u1 -m 1 \
        -i "$WAN_UAC_IP" -p "$WAN_UAC_PORT" -key route "sip:$EDGE_IP;lr" -key domain "$SIP_DOMAIN" \
        -nostdin -timeout "${secs}s" -trace_msg -message_file "$msg" \
        "$EDGE_IP:$EDGE_UDP_PORT" >/dev/null 2>&1 || true
    grep -Eq '^SIP/2.0 [0-9]{3}' "$msg" && ! grep -q '^SIP/2.0 403' "$msg"
}

# cf_cell out|in phone|far: one call of the matrix.  out: the phone calls the
# far side (preloaded Route to sipkeep); in: the far side calls the phone.
# phone|far: who hangs up.  Both sipp scenarios must complete (the hang-up's
# BYE answered 200 at its sender); the phone's side of the dialog must carry
# sipkeep's Record-Route, and the phone's in-dialog requests leave with it as
# top Route.  Logs the outcome and the time taken; on failure logs why, adds
# the cell to CF_FAILED and returns 1 (the matrix goes on: cf_report dies).
CF_FAILED=()
cf_cell() {
    local dir=$1 hup=$2 t0 uas_rc=0 name="${CF_LABEL:+$CF_LABEL: }call $1, $2 hangs up" log_from=0
    t0=$(date +%s%N)
    [[ -z "${SK_LOG:-}" || ! -f "$SK_LOG" ]] || log_from=$(wc -l <"$SK_LOG")
    case "$dir/$hup" in
        out/phone)
            cf_uas_start "$NS_WAN" "$WAN_UAC_IP" ua_answer.xml "$CF_FAR"
            cf_phone_uac ph_call.xml "$CF_FAR" 10 || true ;;
        out/far)
            cf_uas_start "$NS_WAN" "$WAN_UAC_IP" uas_answer_bye.xml "$CF_FAR"
            cf_phone_uac ph_call_wait_bye.xml "$CF_FAR" 10 || true ;;
        in/phone)
            cf_uas_start "$NS_LAN" "$LAN_UA_IP" uas_answer_bye.xml "$CF_PHONE"
            cf_far_uac far_call_wait_bye.xml "$CF_PHONE" 10 || true ;;
        in/far)
            cf_uas_start "$NS_LAN" "$LAN_UA_IP" ua_answer.xml "$CF_PHONE"
            cf_far_uac far_call.xml "$CF_PHONE" 10 || true ;;
        *) die "cf_cell: out|in phone|far" ;;
    esac
    cf_uas_wait 5 || uas_rc=$?
    local uac=$CF_UAC_MSG uas=$CF_UAS_MSG phone_msg far_msg
    if [[ $dir == out ]]; then phone_msg=$uac far_msg=$uas; else phone_msg=$uas far_msg=$uac; fi
    log_step "$name: caller sipp rc $CF_UAC_RC, callee sipp rc $uas_rc, INVITE final $(_sipp_invite_final "$uac"), $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    if ! _cf_cell_check "$name" "$dir" "$hup" "$uac" "$uas" "$phone_msg" "$far_msg" "$uas_rc" ||
        { [[ -n "${CF_CHECK_FLOWS:-}" ]] && ! _cf_flow_check "$name" "$dir" "$hup" "$log_from"; }; then
        CF_FAILED+=("$name")
        return 1
    fi
    log_step "ok: $name"
}

_cf_fail() {
    log_step "CELL FAILED: $*"
    return 1
}

# _cf_err FILE.msg: the first lines of that sipp run's error file, on one line.
_cf_err() {
    head -c 600 "${1%.msg}.err" 2>/dev/null | tr '\n' ' ' || true
}

_cf_cell_check() {
    local name=$1 dir=$2 hup=$3 uac=$4 uas=$5 phone_msg=$6 far_msg=$7 uas_rc=$8
    [[ $CF_UAC_RC -eq 0 ]] || _cf_fail "$name: the caller's scenario failed: $(_cf_err "$uac")" || return 1
    [[ $uas_rc -eq 0 ]] || _cf_fail "$name: the callee's scenario failed: $(_cf_err "$uas")" || return 1
    if [[ $hup == phone ]]; then
        _sipp_bye_answered "$phone_msg" || _cf_fail "$name: the phone's BYE was not answered 200" || return 1
        grep -q '^BYE sip:' "$far_msg" || _cf_fail "$name: the far side never got the BYE" || return 1
    else
        _sipp_bye_answered "$far_msg" || _cf_fail "$name: the far side's BYE was not answered 200" || return 1
        grep -q '^BYE sip:' "$phone_msg" || _cf_fail "$name: the phone never got the BYE" || return 1
    fi
    cf_sipkeep_rr "$phone_msg" || _cf_fail "$name: no Record-Route of sipkeep reached the phone:" \
        "$(grep -Ei '^record-route:' "$phone_msg" | head -n 1)" || return 1
    if [[ -n "${CF_FLOW_EDGE:-}" ]]; then
        cf_flow_edge_rr "$phone_msg" "$CF_FLOW_EDGE" ||
            _cf_fail "$name: the dialog's route set lacks edge $CF_FLOW_EDGE's flow-side entry or names another's:" \
                "$(grep -Ei '^(record-route|rr):' "$phone_msg" | tail -n 1)" || return 1
    fi
    if [[ $dir == out ]]; then
        cf_top_route_is_sipkeep "$phone_msg" ACK ||
            _cf_fail "$name: the phone's ACK did not have sipkeep's Record-Route as top Route" || return 1
    fi
    if [[ $hup == phone ]]; then
        cf_top_route_is_sipkeep "$phone_msg" BYE ||
            _cf_fail "$name: the phone's BYE did not have sipkeep's Record-Route as top Route" || return 1
    fi
    return 0
}

# _cf_flow_check NAME DIR HUP LOG_FROM (CF_CHECK_FLOWS=1, several flows): the
# phone's in-dialog requests of this cell (sipkeep's debug lines
# "ua_request_relayed method=M ... reg_id=N" after line LOG_FROM) all left on
# the dialog's flow: for a call in, the reg-id the registrar was told to use
# (CF_REG_ID); for a call out, the reg-id its INVITE left on.  A cell where the
# phone sends none (call in, far side hangs up) has nothing to check here.
_cf_flow_check() {
    local name=$1 dir=$2 hup=$3 from=$4 lines want got
    lines=$(tail -n +"$((from + 1))" "$SK_LOG" | grep -E 'event=ua_request_relayed ' || true)
    if [[ $dir == out ]]; then
        want=$(grep -E 'method=INVITE ' <<<"$lines" | grep -Eo 'reg_id=[0-9]+' | head -n 1)
        want=${want#reg_id=}
        [[ -n "$want" ]] || _cf_fail "$name: no ua_request_relayed line for the phone's INVITE in sipkeep's log" || return 1
    else
        want=${CF_REG_ID:-}
        [[ -n "$want" ]] || return 0
    fi
    got=$(grep -Ev 'method=(INVITE|REGISTER) ' <<<"$lines" | grep -Eo 'method=[A-Z]+ .*reg_id=[0-9]+' |
        sed -E 's/ .*reg_id=/@/' | tr '\n' ' ')
    if [[ $dir == out || $hup == phone ]]; then
        [[ -n "$got" ]] || _cf_fail "$name: no in-dialog request of the phone in sipkeep's log (ua_request_relayed)" || return 1
    fi
    if [[ -n "$got" ]] && grep -Eqv "@$want\$" <<<"$(tr ' ' '\n' <<<"$got" | grep .)"; then
        _cf_fail "$name: the phone's in-dialog requests left on other flows than the dialog's reg-id $want: $got" || return 1
    fi
    log_step "$name: dialog on reg-id $want; phone's in-dialog requests relayed: ${got:-none}"
}

# cf_phone_far NAME PHONE_SCENARIO FAR_SCENARIO [PHONE_SIPP_ARG...]: the far
# side (sipp UAS in wan) waits for FAR_SCENARIO, the phone runs PHONE_SCENARIO
# towards sipkeep (callee "far"); both must complete.  Logs the outcome and
# time; on failure logs why, adds NAME to CF_FAILED and returns 1.  The traces
# stay in CF_UAC_MSG (phone) and CF_UAS_MSG (far side).
cf_phone_far() {
    local name=$1 psf=$2 fsf=$3 t0 uas_rc=0
    shift 3
    t0=$(date +%s%N)
    cf_uas_start "$NS_WAN" "$WAN_UAC_IP" "$fsf" "$CF_FAR"
    cf_phone_uac "$psf" "$CF_FAR" 10 "$@" || true
    cf_uas_wait 5 || uas_rc=$?
    log_step "$name: phone sipp rc $CF_UAC_RC, far side sipp rc $uas_rc, $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    if [[ $CF_UAC_RC -ne 0 ]]; then
        _cf_fail "$name: the phone's scenario failed: $(_cf_err "$CF_UAC_MSG")" || true
    elif [[ $uas_rc -ne 0 ]]; then
        _cf_fail "$name: the far side's scenario failed: $(_cf_err "$CF_UAS_MSG")" || true
    else
        return 0
    fi
    CF_FAILED+=("$name")
    return 1
}

# cf_check NAME COND MESSAGE: evaluate shell condition COND; when it fails, log
# NAME: MESSAGE as a failed check and add NAME to CF_FAILED (returns 1).
cf_check() {
    if eval "$2"; then
        return 0
    fi
    _cf_fail "$1: $3" || true
    CF_FAILED+=("$1")
    return 1
}

# cf_dialog_cell: one dialog with re-INVITEs from each side (hold a=sendonly,
# resume), an INFO from the phone (DTMF 5), then the phone's BYE
# (ph_dialog.xml, far_dialog.xml): both complete, the holds, the resume and
# the INFO reach the other side, and sipkeep's Record-Route reached the phone
# and was the top Route of its re-INVITEs and INFO.  Named after CF_LABEL if
# set; on failure logs why, adds it to CF_FAILED and returns 1.
cf_dialog_cell() {
    local name="${CF_LABEL:+$CF_LABEL: }re-INVITEs both ways, INFO, BYE"
    # shellcheck disable=SC2016  # cf_check evaluates its conditions
    cf_phone_far "$name" ph_dialog.xml far_dialog.xml &&
        cf_check "$name" 'cf_sipkeep_rr "$CF_UAC_MSG"' "no Record-Route of sipkeep reached the phone" &&
        cf_check "$name" 'cf_top_route_is_sipkeep "$CF_UAC_MSG" INVITE' "a re-INVITE of the phone did not have sipkeep's Record-Route as top Route" &&
        cf_check "$name" 'cf_top_route_is_sipkeep "$CF_UAC_MSG" INFO' "the phone's INFO did not have sipkeep's Record-Route as top Route" &&
        cf_check "$name" '[[ $(cf_received "$CF_UAS_MSG" INVITE "a=sendonly") -eq 1 ]]' "the phone's hold (a=sendonly) did not reach the far side" &&
        cf_check "$name" '[[ $(cf_received "$CF_UAC_MSG" INVITE "a=sendonly") -eq 1 ]]' "the far side's hold (a=sendonly) did not reach the phone" &&
        cf_check "$name" '[[ $(cf_received "$CF_UAC_MSG" INVITE "a=sendrecv") -eq 1 ]]' "the far side's resume did not reach the phone" &&
        cf_check "$name" '[[ $(cf_received "$CF_UAS_MSG" INFO "Signal=5") -eq 1 ]]' "the phone's INFO (DTMF 5) did not reach the far side" &&
        log_step "ok: $name"
}

# cf_matrix LABEL: the four cells (out/in x phone/far hangs up), each logged.
cf_matrix() {
    local CF_LABEL=$1 cell
    for cell in "out phone" "out far" "in phone" "in far"; do
        # shellcheck disable=SC2086
        cf_cell $cell || true
    done
}

# cf_strict_edge_restart CONFIG: stop sipkeep (its log kept as
# sipkeep-<n>.log), restart the registrar (an empty location table) and the
# edge as the strict edge, prove the edge refuses a preloaded foreign Route
# (cf_preload_refused), start sipkeep with CONFIG again and register the phone
# through it.
cf_strict_edge_restart() {
    sk_stop
    mv "$SK_LOG" "$LAB_DIR/sipkeep-$((++_SIPP_SEQ)).log"
    kam_stop edge registrar
    kam_start registrar
    cf_edge_strict
    kam_start edge
    cf_preload_refused || die "the strict edge did not answer a preloaded foreign Route 403 (or refused its own name)"
    log_step "strict edge: OPTIONS with Route <sip:192.0.2.99;lr> -> 403 Preload Route denied; Route naming the edge -> not 403"
    sk_start "$1"
    sipp_ua_register "$ROUTER_LAN_IP:5060" "$CF_PHONE" 3600 || die "REGISTER through sipkeep (strict edge) failed"
}

# cf_report WHAT: dies listing the failed cells, if any; else logs WHAT.
cf_report() {
    if [[ ${#CF_FAILED[@]} -gt 0 ]]; then
        die "${#CF_FAILED[@]} cell(s) failed: $(printf '[%s] ' "${CF_FAILED[@]}")"
    fi
    log_step "all cells passed: $*"
}

# cf_both_phones LABEL EDGE_IP BARESIP_USER: the call-flow matrix with the sipp
# phone (its dialogs record-routed by EDGE_IP's flow side, CF_FLOW_EDGE), one
# dialog with re-INVITEs both ways and an INFO (cf_dialog_cell), then
# baresip's four cells (baresip preloads sipkeep as its Route).  Failures are
# recorded in CF_FAILED, as cf_matrix does; returns 0.
cf_both_phones() {
    local c
    CF_FLOW_EDGE=$2 cf_matrix "$1"
    CF_LABEL=$1 cf_dialog_cell || true
    log_step "$1: baresip's cells"
    for c in "out phone" "out far" "in phone" "in far"; do
        # shellcheck disable=SC2086  # two words: direction, who hangs up
        baresip_cell $c "$3" "^Route: *$CF_SK_RR_ERE" || true
    done
}

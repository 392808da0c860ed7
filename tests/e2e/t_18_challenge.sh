#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario: a registrar that demands digest authentication for REGISTER
# (kamailio/registrar-auth.cfg: one plaintext password, nonces valid 30 s) and
# sipkeep's re-registration after a flow recovery (issue 4, item 5).
#
# Two legacy UAs (sipp, answering the 401 themselves) register through sipkeep:
#   1018 with `credentials` configured in sipkeep for its AOR,
#   1019 without.
# The edge is restarted twice, killing every flow (sipkeep re-registers each
# binding on its new flow at once, replaying the UA's last REGISTER):
#   1. while the UA's nonce is fresh: both replays are accepted as they are;
#   2. once it is stale: 1018's replay is challenged (stale=true) and sipkeep
#      answers with digest itself, without ever logging the password; 1019's is
#      challenged too and, with no credentials, sipkeep waits for the UA: its
#      next REGISTER (answering the challenge itself) completes it.
# Each step is checked in Kamailio's location table (a new Path: a new flow)
# and in sipkeep's log, and by an inbound call.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

CRED_AOR=1018      # credentials configured
BARE_AOR=1019      # no credentials
PASSWORD=sipkeep-e2e-digest-pw   # kamailio/registrar-auth.cfg's
NONCE_EXPIRE=30                  # ditto (modparam auth nonce_expire)

# ua_register_auth USER: the legacy UA registers USER, answering a 401 with
# digest (sipp -au/-ap).  Returns 0 on a final 200.
ua_register_auth() {
    local user=$1 rc=0 tag=regauth-$1-$((++_SIPP_SEQ))
    run_bounded 20 "$NS_LAN" sipp -sf "$E2E_DIR/sipp/ua_register_auth.xml" -t u1 -m 1 \
        -i "$LAN_UA_IP" -p "$LAN_UA_PORT" -s "$user" -au "$user" -ap "$PASSWORD" \
        -key domain "$SIP_DOMAIN" -key expires 3600 \
        -nostdin -timeout 15s -timeout_error -recv_timeout 10000 \
        -trace_msg -message_file "$LAB_DIR/sipp-$tag.msg" \
        -trace_err -error_file "$LAB_DIR/sipp-$tag.err" \
        "$ROUTER_LAN_IP:5060" >"$LAB_DIR/sipp-$tag.log" 2>&1 || rc=$?
    log_step "legacy UA $user REGISTER with digest: $(_sipp_last_status "$LAB_DIR/sipp-$tag.msg") (sipp rc $rc)"
    [[ $rc -eq 0 ]] && grep -q '^Authorization: Digest' "$LAB_DIR/sipp-$tag.msg"
}

registrations() { # registrations USER: 2xx sipkeep got for that AOR
    grep -c "event=registered .*aor=sip:$1@$SIP_DOMAIN " "$SK_LOG" || true
}

path_of() { # path_of USER: the Path of USER's binding at the registrar
    kam_location 2>/dev/null | _ul_aor_block "$1" | grep -Eo "Path: <[^>]*>" | head -n 1
}

call_ok() { # call_ok USER: an inbound call to USER is answered and completed
    sipp_ua_answer_start 1 "$1"
    sipp_uac_call "$1" 20 || die "the call to $1 failed (INVITE final $SIPP_UAC_STATUS)"
    sipp_ua_answer_wait 15 || die "the UA $1 did not complete the call"
}

# shellcheck disable=SC2034 # lab variable, read by kam_start
KAM_CFG_registrar=registrar-auth.cfg
lab_up
kam_start registrar
kam_start edge
printf '%s\n' "$PASSWORD" >"$LAB_DIR/1018.pw"
chmod 600 "$LAB_DIR/1018.pw"
SK_EXTRA_SERVICE="    recovery: { base_time_all_failed: 2, base_time_not_failed: 2, max_time: 8 }
    credentials:
      - aor: \"sip:$CRED_AOR@$SIP_DOMAIN\"
        username: \"$CRED_AOR\"
        password_file: $LAB_DIR/1018.pw
        realm: $SIP_DOMAIN"
sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"

log_step "both UAs register through sipkeep, answering the registrar's 401 themselves"
t_nonce=$(date +%s)
ua_register_auth "$CRED_AOR" || die "UA $CRED_AOR could not register"
ua_register_auth "$BARE_AOR" || die "UA $BARE_AOR could not register"
for u in "$CRED_AOR" "$BARE_AOR"; do
    kam_location_has "$u" "Reg-Id: 1$" || die "no outbound binding for $u: $(kam_location)"
done
cred_path=$(path_of "$CRED_AOR")
bare_path=$(path_of "$BARE_AOR")

log_step "phase 1: edge restart while the UAs' nonces are fresh (< ${NONCE_EXPIRE}s)"
cred_regs=$(registrations "$CRED_AOR")
bare_regs=$(registrations "$BARE_AOR")
kam_restart edge
wait_for "[[ \$(registrations $CRED_AOR) -gt $cred_regs && \$(registrations $BARE_AOR) -gt $bare_regs ]]" \
    20 "both bindings re-registered" || die "no re-registration after the restart: $(tail -n 20 "$SK_LOG")"
(( $(date +%s) - t_nonce < NONCE_EXPIRE )) ||
    die "phase 1 took longer than the nonce lifetime: the machine is too slow for this check"
sk_log_has 'event=reregister_(authenticating|challenged)' &&
    die "a fresh nonce was challenged: $(grep -E 'event=reregister_' "$SK_LOG")"
wait_for "[[ \"\$(path_of $CRED_AOR)\" != \"$cred_path\" && \"\$(path_of $BARE_AOR)\" != \"$bare_path\" ]]" 5 \
    "new Paths at the registrar" || die "the registrar still has the old flows: $(kam_location)"
log_step "both re-registered with the UA's own Authorization replayed"

# The nonces are stale once NONCE_EXPIRE seconds have passed since they were issued.
left=$(( t_nonce + NONCE_EXPIRE + 2 - $(date +%s) ))
if (( left > 0 )); then
    log_step "waiting ${left}s for the UAs' nonces to go stale"
    idle "$left"
fi

log_step "phase 2: edge restart with stale nonces"
cred_path=$(path_of "$CRED_AOR")
bare_path=$(path_of "$BARE_AOR")
cred_regs=$(registrations "$CRED_AOR")
bare_regs=$(registrations "$BARE_AOR")
kam_restart edge
# (a) credentials: sipkeep answers the stale-nonce challenge itself.
sk_wait_log "event=reregister_authenticating .*aor=sip:$CRED_AOR@$SIP_DOMAIN username=$CRED_AOR " 20 ||
    die "sipkeep did not answer the challenge for $CRED_AOR: $(tail -n 20 "$SK_LOG")"
wait_for "[[ \$(registrations $CRED_AOR) -gt $cred_regs ]]" 15 "$CRED_AOR re-registered with digest" ||
    die "$CRED_AOR was not re-registered: $(grep -E "aor=sip:$CRED_AOR@" "$SK_LOG" | tail -n 10)"
wait_for "[[ \"\$(path_of $CRED_AOR)\" != \"$cred_path\" ]]" 5 "a new Path for $CRED_AOR" ||
    die "the registrar still has $CRED_AOR's old flow: $(kam_location)"
kam_location_has "$CRED_AOR" "Reg-Id: 1$" || die "$CRED_AOR lost its reg-id: $(kam_location)"
grep -qF -- "$PASSWORD" "$SK_LOG" && die "the password appears in sipkeep's log"
log_step "(a) $CRED_AOR re-registered by sipkeep's own digest answer; the password is not in its log"
call_ok "$CRED_AOR"

# (b) no credentials: sipkeep waits for the UA's next REGISTER.
sk_wait_log "event=reregister_challenged .*aor=sip:$BARE_AOR@$SIP_DOMAIN " 20 ||
    die "sipkeep did not report $BARE_AOR's challenge: $(tail -n 20 "$SK_LOG")"
[[ $(registrations "$BARE_AOR") -eq $bare_regs ]] || die "$BARE_AOR re-registered with a stale nonce?"
[[ "$(path_of "$BARE_AOR")" == "$bare_path" ]] || die "$BARE_AOR's binding changed without the UA"
log_step "(b) $BARE_AOR challenged, sipkeep waits for the UA; the UA refreshes now"
ua_register_auth "$BARE_AOR" || die "UA $BARE_AOR could not register again"
[[ $(registrations "$BARE_AOR") -gt $bare_regs ]] || die "no registration for $BARE_AOR in sipkeep's log"
wait_for "[[ \"\$(path_of $BARE_AOR)\" != \"$bare_path\" ]]" 5 "a new Path for $BARE_AOR" ||
    die "the registrar still has $BARE_AOR's old flow: $(kam_location)"
kam_location_has "$BARE_AOR" "Reg-Id: 1$" || die "$BARE_AOR lost its reg-id: $(kam_location)"
log_step "(b) the UA's REGISTER completed $BARE_AOR's re-registration"
call_ok "$BARE_AOR"

grep -qF -- "$PASSWORD" "$SK_LOG" && die "the password appears in sipkeep's log"
sk_stop

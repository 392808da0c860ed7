#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 11: phones that move, behind sipkeep (proxy mode, two TCP flows to the
# edge: reg-id 1 on port 5060, reg-id 2 on 5070).
#  1. A phone (sipp, AOR 1721) sends its REGISTER from port 5070 but names port
#     5080 in its Contact and listens there: the far side's call reaches it on
#     5080 (RFC 3261 §16.5-16.6: the Request-URI is the registered Contact),
#     and its answers from 5080 are relayed (either address of the binding).
#  2. A phone (AOR 1722) registers from 5060, then re-registers from 5062 (new
#     Contact, as after a reboot): state_dir/instance-ids keeps ONE line for it
#     with the same instance-id, the registrar shows exactly one binding per
#     reg-id, both with the new Contact (the new Contact under the same
#     +sip.instance and reg-ids replaced the old ones, RFC 5626 §6), and the
#     next call reaches port 5062.
#  3. A phone (AOR 1723, from $LAN_UA2_IP) registers once and disappears.
#     ua.register_expires is 60 s (its minimum), so sipkeep grants it 60 s;
#     the registrar here grants the upstream binding an hour (Kamailio's
#     min_expires 3600, in a variant of registrar.cfg rendered by this test),
#     so only a de-registration by sipkeep (Expires: 0 when the binding
#     lapses, on both flows) removes it within the test: it must be gone from
#     the location table within 15 s after the 60 s lapse.  Runs while 1 and 2 run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

T0=$(date +%s)
P_CONTACT=1721     # 1: sends from one port, listens on another
P_MOVES=1722       # 2: re-registers from a new port
P_GONE=1723        # 3: disappears
LAPSE=60           # ua.register_expires (the least sipkeep accepts)
UPSTREAM=3600      # what the registrar variant grants at least

# aor_block USER: the registrar's location entries of AOR USER.
aor_block() {
    kam_location | _ul_aor_block "$1" || true
}

# fail MSG: log a failed check and note it (the other parts still run).
FAILED=()
fail() {
    log_step "FAILED: $*"
    FAILED+=("$*")
    sipp_ua_answer_stop
    return 1
}

# 1: sends from port 5070, Contact and listening port 5080.
part1() {
    log_step "1. phone $P_CONTACT registers from port 5070 with Contact port 5080"
    tag=reg-$P_CONTACT-$((++_SIPP_SEQ))
    run_bounded 20 "$NS_LAN" sipp -sf "$_SIPP_DIR/t7x_register_contact.xml" -t u1 -m 1 \
        -i "$LAN_UA_IP" -p 5070 -s "$P_CONTACT" -key domain "$SIP_DOMAIN" -key expires 3600 \
        -key cport 5080 -nostdin -timeout 15s -timeout_error -recv_timeout 10000 \
        -trace_msg -message_file "$LAB_DIR/sipp-$tag.msg" \
        "$ROUTER_LAN_IP:5060" >"$LAB_DIR/sipp-$tag.log" 2>&1 || fail "REGISTER of $P_CONTACT failed: $(_sipp_last_status "$LAB_DIR/sipp-$tag.msg")" || return 1
    kam_location_has "$P_CONTACT" "Address: sip:$P_CONTACT@${LAN_UA_IP//./\\.}:5080(;|$)" ||
        fail "the registrar does not have Contact port 5080 for $P_CONTACT: $(aor_block "$P_CONTACT")" || return 1
    sipp_uas_start "$NS_LAN" "$LAN_UA_IP:5080" "$P_CONTACT" ua_answer.xml
    sipp_uac_call "$P_CONTACT" 15 || fail "the call to $P_CONTACT failed (INVITE final $SIPP_UAC_STATUS; INVITEs at port 5080: $(sipp_ua_invites_seen))" || return 1
    sipp_ua_answer_wait 10 || fail "the phone on port 5080 did not complete the call" || return 1
    sipp_uas_got INVITE || fail "the INVITE did not reach port 5080" || return 1
    log_step "the call reached the Contact port 5080 and completed"
}

# moved_ok UUID: the registrar holds exactly two bindings for $P_MOVES, one
# with reg-id 1 and one with reg-id 2, both at port 5062 with instance UUID.
moved_ok() {
    local block
    block=$(aor_block "$P_MOVES")
    [[ "$(grep -c 'Address:' <<<"$block")" == 2 ]] &&
        [[ "$(grep -Ec 'Reg-Id: 1$' <<<"$block")" == 1 ]] &&
        [[ "$(grep -Ec 'Reg-Id: 2$' <<<"$block")" == 1 ]] &&
        [[ "$(grep -Ec "Address: sip:$P_MOVES@${LAN_UA_IP//./\\.}:5062(;|$)" <<<"$block")" == 2 ]] &&
        [[ "$(grep -c "Instance: <$1>" <<<"$block")" == 2 ]]
}

# 2: re-registers from a new port.
part2() {
    log_step "2. phone $P_MOVES registers from port 5060, then from 5062"
    SIPP_UA_PORT=5060 sipp_ua_register "$ROUTER_LAN_IP:5060" "$P_MOVES" 3600 || fail "first REGISTER of $P_MOVES failed" || return 1
    ids=$LAB_DIR/sipkeep-state/instance-ids
    key=" sip:$P_MOVES@$SIP_DOMAIN|"
    uuid1=$(grep -F -- "$key" "$ids" | awk '{ print $1 }')
    [[ "$uuid1" == urn:uuid:* ]] || fail "no instance-id for $P_MOVES in $ids: $(cat "$ids")" || return 1
    wait_for "kam_location_has $P_MOVES 'Reg-Id: 2$'" 5 "$P_MOVES registered on both flows" ||
        fail "$P_MOVES not registered on reg-id 2: $(aor_block "$P_MOVES")" || return 1
    kam_location_has "$P_MOVES" "Address: sip:$P_MOVES@${LAN_UA_IP//./\\.}:5060(;|$)" ||
        fail "first binding of $P_MOVES not at port 5060: $(aor_block "$P_MOVES")" || return 1
    SIPP_UA_PORT=5062 sipp_ua_register "$ROUTER_LAN_IP:5060" "$P_MOVES" 3600 || fail "REGISTER of $P_MOVES from its new port failed" || return 1
    lines=$(grep -cF -- "$key" "$ids" || true)
    [[ "$lines" == 1 ]] || fail "instance-ids has $lines lines for $P_MOVES (want 1): $(cat "$ids")" || return 1
    [[ "$(grep -F -- "$key" "$ids" | awk '{ print $1 }')" == "$uuid1" ]] || fail "the instance-id of $P_MOVES changed: $(cat "$ids")" || return 1
    wait_for "moved_ok $uuid1" 5 "one binding per reg-id for $P_MOVES, at port 5062" ||
        fail "the registrar does not have exactly one binding per reg-id (1, 2) for $P_MOVES, each with the new Contact (port 5062) and $uuid1: $(aor_block "$P_MOVES")" || return 1
    log_step "one instance-id line ($uuid1); at the registrar one binding per reg-id (1, 2), both at port 5062"
    sipp_uas_start "$NS_LAN" "$LAN_UA_IP:5062" "$P_MOVES" ua_answer.xml
    sipp_uac_call "$P_MOVES" 15 || fail "the call to $P_MOVES failed (INVITE final $SIPP_UAC_STATUS; INVITEs at port 5062: $(sipp_ua_invites_seen))" || return 1
    sipp_ua_answer_wait 10 || fail "the phone on port 5062 did not complete the call" || return 1
    sipp_uas_got INVITE || fail "the INVITE did not reach port 5062" || return 1
    log_step "the next call reached the new port 5062"
}

# 3 (continued): the lapsed binding is de-registered upstream.
part3() {
    log_step "3. waiting for $P_GONE's binding to lapse ($LAPSE s after its REGISTER) and be de-registered"
    left=$(( t_gone + LAPSE + 15 - $(date +%s) ))
    wait_for "! kam_location_has $P_GONE" "$left" "$P_GONE gone from the registrar" ||
        fail "$P_GONE is still registered upstream $(( $(date +%s) - t_gone )) s after its REGISTER (granted $LAPSE s): $(aor_block "$P_GONE")" || return 1
    gone_after=$(( $(date +%s) - t_gone ))
    [[ $gone_after -ge $((LAPSE - 2)) ]] || fail "$P_GONE was removed upstream after only $gone_after s, before its $LAPSE s lapsed" || return 1
    log_step "$P_GONE de-registered upstream $gone_after s after its REGISTER (upstream expiry was $up_exp s)"
}

lab_up
# Registrar variant: a binding lives at least $UPSTREAM s upstream, whatever
# sipkeep asks for (Kamailio raises a shorter Expires to min_expires).
sed "/modparam(\"registrar\", \"outbound_mode\", 1)/a modparam(\"registrar\", \"min_expires\", $UPSTREAM)" \
    "$E2E_DIR/kamailio/registrar.cfg" >"$LAB_DIR/registrar-long.cfg"
grep -q "\"min_expires\", $UPSTREAM" "$LAB_DIR/registrar-long.cfg" || die "could not render the registrar variant"
# shellcheck disable=SC2034  # read by kam_start (lib.sh)
KAM_CFG_registrar=$LAB_DIR/registrar-long.cfg
kam_start registrar
kam_start edge
SK_ALLOW=$LAN_NET sk_config "$LAB_DIR/sipkeep.yaml" "sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp" \
    "sip:$EDGE_IP:$EDGE_TCP2_PORT;transport=tcp"
sed -i "s/^  register_expires: .*/  register_expires: $LAPSE/" "$LAB_DIR/sipkeep.yaml"
grep -q "^  register_expires: $LAPSE$" "$LAB_DIR/sipkeep.yaml" || die "could not set ua.register_expires"
sk_start "$LAB_DIR/sipkeep.yaml"

# --- 3 (first: its binding lapses while 1 and 2 run)
log_step "3. phone $P_GONE registers from $LAN_UA2_IP (asks 3600 s), then disappears"
SIPP_UA_IP=$LAN_UA2_IP sipp_ua_register "$ROUTER_LAN_IP:5060" "$P_GONE" 3600 || die "REGISTER of $P_GONE failed"
t_gone=$(date +%s)
kam_location_has "$P_GONE" "Reg-Id: 1$" || die "$P_GONE not registered upstream: $(kam_location)"
wait_for "kam_location_has $P_GONE 'Reg-Id: 2$'" 5 "$P_GONE registered on both flows" ||
    die "$P_GONE not registered on reg-id 2: $(aor_block "$P_GONE")"
up_exp=$(aor_block "$P_GONE" | awk '$1 == "Expires:" { print $2; exit }')
[[ "$up_exp" =~ ^[0-9]+$ && "$up_exp" -gt $((LAPSE * 2)) ]] ||
    die "upstream expiry of $P_GONE is '$up_exp', not the registrar's long one (the test could not tell a de-registration from expiry)"
log_step "granted $LAPSE s by sipkeep; upstream binding expires in $up_exp s"

part1 || true
part2 || true
part3 || true
[[ ${#FAILED[@]} -eq 0 ]] || die "${#FAILED[@]} part(s) failed: $(printf '[%s] ' "${FAILED[@]}")"

sk_stop
log_step "t_72 done in $(( $(date +%s) - T0 )) s"

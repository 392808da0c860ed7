#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Scenario: started as root, sipkeep opens its sockets, then runs as the
# configured user with no capability left (proxy mode), and still serves
# phones: the flows it opens after the drop register as usual.  Without a
# way to drop (the user does not exist, including the default `sipkeep` on a
# machine without it) it refuses to start and says why; `user: root` is the
# explicit way to stay root.
#
# The unprivileged user is `nobody`: it exists everywhere, so the test
# creates no account that a killed run could leave behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1021
RUN_AS=nobody

# status_field PID KEY: the value fields of KEY: in /proc/PID/status.
status_field() {
    awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ +/, ""); print }' "/proc/$1/status"
}

# expect_refusal FILE ERE: sipkeep (root) must exit 1 at start with ERE in its log.
expect_refusal() {
    local file=$1 ere=$2 out=$LAB_DIR/refused.log rc=0
    "$SIPKEEP" --check-config -c "$file" >/dev/null || die "the config $file itself is invalid"
    run_bounded 10 "$NS_ROUTER" "$SIPKEEP" -c "$file" >"$out" 2>&1 || rc=$?
    [[ $rc -eq 1 ]] || die "sipkeep exited $rc instead of refusing to start: $(cat "$out")"
    grep -Eq -- "$ere" "$out" || die "sipkeep's refusal lacks /$ere/: $(cat "$out")"
    grep -q 'event=listening' "$out" && die "sipkeep opened its sockets before refusing"
    log_step "refused: $(grep -o 'err=.*' "$out")"
}

lab_up
kam_start registrar
kam_start edge
# $LAB_DIR is mktemp's 0700: let the unprivileged daemon reach its state dir
# and control socket below it (traverse only, no listing).
chmod 0711 "$LAB_DIR"
uid=$(id -u "$RUN_AS")
gid=$(id -g "$RUN_AS")

log_step "a user that does not exist: sipkeep refuses to start"
missing=sk-e2e-missing-$$
SK_USER=$missing sk_config "$LAB_DIR/missing.yaml"
expect_refusal "$LAB_DIR/missing.yaml" \
    "event=start_failed step=user user=$missing err=\"user '$missing' does not exist: .*\`user: root\`"

log_step "user: omitted means the default, sipkeep"
sk_config "$LAB_DIR/default.yaml"
sed -i '/^user:/d' "$LAB_DIR/default.yaml"
if getent passwd sipkeep >/dev/null; then
    sk_start "$LAB_DIR/default.yaml"
    sk_wait_log "event=privileges_dropped user=sipkeep uid=$(id -u sipkeep) " 5 ||
        die "sipkeep did not switch to the default user sipkeep"
    sk_stop
else
    expect_refusal "$LAB_DIR/default.yaml" \
        "event=start_failed step=user user=sipkeep err=\"user 'sipkeep' does not exist"
fi

log_step "user: $RUN_AS: sockets first, then the drop"
SK_USER=$RUN_AS sk_config "$LAB_DIR/sipkeep.yaml"
sk_start "$LAB_DIR/sipkeep.yaml"
sk_wait_log "event=privileges_dropped user=$RUN_AS uid=$uid gid=$gid caps=none\$" 5 ||
    die "no privileges_dropped line: $(grep -E 'privileges|start_failed' "$SK_LOG")"
sk_log_has 'event=started version=.* mode=proxy services=1 flows_per_ua=1 listen=udp:' ||
    die "the started line lacks mode/services/flows_per_ua/listen"
pid=$(sk_daemon_pid) || die "cannot find the sipkeep process under $SK_PID"
log_step "/proc/$pid/status: Uid $(status_field "$pid" Uid), CapEff $(status_field "$pid" CapEff), CapBnd $(status_field "$pid" CapBnd)"
[[ "$(status_field "$pid" Uid)" == "$uid $uid $uid $uid" ]] || die "Uid is not $uid everywhere"
[[ "$(status_field "$pid" Gid)" == "$gid $gid $gid $gid" ]] || die "Gid is not $gid everywhere"
[[ -z "$(status_field "$pid" Groups)" ]] || die "supplementary groups left: $(status_field "$pid" Groups)"
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
    [[ "$(status_field "$pid" "$cap")" == 0000000000000000 ]] ||
        die "$cap is $(status_field "$pid" "$cap"), not empty, in proxy mode"
done
[[ "$(status_field "$pid" NoNewPrivs)" == 1 ]] || die "no_new_privs is not set"

log_step "legacy UA registers through the unprivileged sipkeep"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed after the drop"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
drop_line=$(grep -n 'event=privileges_dropped' "$SK_LOG" | cut -d: -f1)
flow_line=$(grep -n 'event=flow_connecting' "$SK_LOG" | head -n 1 | cut -d: -f1)
[[ -n "$flow_line" && "$flow_line" -gt "$drop_line" ]] || die "the flow was not opened after the drop"
state=$LAB_DIR/sipkeep-state
[[ "$(stat -c %u "$state/instance-ids")" == "$uid" ]] ||
    die "instance-ids was not written by the unprivileged daemon"
log_step "registered; flow opened and instance-id written as $RUN_AS (uid $uid)"
"$SIPKEEP" status -s "$SK_CTL" >"$LAB_DIR/status.txt" ||
    die "sipkeep status failed after the drop: $(cat "$LAB_DIR/status.txt")"
sk_stop
[[ ! -e "$SK_CTL" ]] || die "the unprivileged daemon could not remove its control socket"
sk_log_has 'event=ctl_socket_not_removed' && die "sipkeep failed to remove its control socket"

log_step "user: root keeps root, explicitly"
SK_USER=root sk_config "$LAB_DIR/root.yaml"
sk_start "$LAB_DIR/root.yaml"
sk_wait_log 'level=warn event=privileges_kept user=root uid=0 reason="user: root"' 5 ||
    die "no privileges_kept line for user: root"
pid=$(sk_daemon_pid) || die "cannot find the sipkeep process under $SK_PID"
[[ "$(status_field "$pid" Uid)" == "0 0 0 0" ]] || die "user: root did not keep root"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep (root) failed"
sk_stop
log_step "user: root runs as root"

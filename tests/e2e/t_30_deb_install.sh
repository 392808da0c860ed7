#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck source-path=SCRIPTDIR
# Scenario 30, the Debian package: install build/sipkeep_*.deb (built by
# `make deb`, which `make e2e` runs first), check where its files went and the
# system user it creates, edit the packaged /etc/sipkeep/sipkeep.yaml for the
# lab as an admin would, run the packaged /usr/sbin/sipkeep with it in the
# lab's router the way the systemd unit does (user sipkeep, no capabilities,
# no new privileges, state in /var/lib/sipkeep), register a legacy UA through
# it (reg-id 1 at the registrar), then purge the package.
#
# The machine is left as it was: the package is purged (also on failure), and
# the sipkeep user and group, which the package keeps on purge as Debian
# recommends for system accounts (README.Debian), are removed when this
# scenario created them.  It refuses to run where the sipkeep package is
# already installed, rather than purge someone's installation.
# e2e: alone (run.sh runs it with no other scenario: it installs a package on
# the host and creates the sipkeep user, which t_21 looks for)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sk_lib.sh"

USER_AOR=1030
TOP=$(cd "$E2E_DIR/../.." && pwd)

DEB=${SIPKEEP_DEB:-}
if [[ -z "$DEB" ]]; then
    for f in "$TOP"/build/sipkeep_*.deb; do
        [[ -f "$f" ]] && DEB=$f
    done
fi
[[ -n "$DEB" && -f "$DEB" ]] || die "no build/sipkeep_*.deb: run make deb (make e2e does)"
if dpkg-query -W -f='${Status}' sipkeep 2>/dev/null | grep -q 'install ok installed'; then
    die "the sipkeep package is already installed on this machine; this scenario would purge it"
fi

USER_EXISTED=
GROUP_EXISTED=
getent passwd sipkeep >/dev/null && USER_EXISTED=1
getent group sipkeep >/dev/null && GROUP_EXISTED=1
INSTALLED=

# Undo what the scenario did to the machine; the lab's own trap runs after.
pkg_cleanup() {
    if [[ -n "$INSTALLED" ]]; then
        [[ -z "$SK_PID" ]] || stop_pid "$SK_PID" 5
        SK_PID=
        dpkg --purge sipkeep >"$LAB_DIR/dpkg-purge.log" 2>&1 ||
            log_step "dpkg --purge sipkeep failed: $(tail -n 5 "$LAB_DIR/dpkg-purge.log")"
        INSTALLED=
    fi
    if [[ -z "$USER_EXISTED" ]] && getent passwd sipkeep >/dev/null; then
        deluser --system --quiet sipkeep >/dev/null 2>&1 || log_step "cannot remove user sipkeep"
    fi
    if [[ -z "$GROUP_EXISTED" ]] && getent group sipkeep >/dev/null; then
        delgroup --system --quiet sipkeep >/dev/null 2>&1 || log_step "cannot remove group sipkeep"
    fi
}

on_exit() {
    local rc=$?
    set +e # errexit would end the trap at the first failure, lab still up
    pkg_cleanup
    (exit "$rc")
    _lab_trap_exit # takes rc from $?, tears the lab down, exits with rc
}

lab_up
trap on_exit EXIT
kam_start registrar
kam_start edge

log_step "install $(basename "$DEB")"
INSTALLED=1
if ! dpkg -i "$DEB" >"$LAB_DIR/dpkg-install.log" 2>&1; then
    # Only when a dependency is missing (make deb's build dependencies pull
    # them all in, so normally never): let apt complete the installation.
    DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq --no-install-recommends \
        >>"$LAB_DIR/dpkg-install.log" 2>&1 || die "cannot install $DEB: $(tail -n 20 "$LAB_DIR/dpkg-install.log")"
fi
pkg_version=$(dpkg-query -W -f='${Version}' sipkeep)

log_step "files, conffile, unit, man pages, user"
[[ -x /usr/sbin/sipkeep ]] || die "no /usr/sbin/sipkeep"
/usr/sbin/sipkeep --version | grep -qx "sipkeep $pkg_version" ||
    die "/usr/sbin/sipkeep --version says '$(/usr/sbin/sipkeep --version)', package $pkg_version"
dpkg-query -W -f='${Conffiles}\n' sipkeep | grep -q '^ /etc/sipkeep/sipkeep.yaml ' ||
    die "/etc/sipkeep/sipkeep.yaml is not a conffile: $(dpkg-query -W -f='${Conffiles}' sipkeep)"
[[ -f /lib/systemd/system/sipkeep.service ]] || die "no systemd unit"
grep -qx 'ExecStart=/usr/sbin/sipkeep -c /etc/sipkeep/sipkeep.yaml' /lib/systemd/system/sipkeep.service ||
    die "the unit does not start /usr/sbin/sipkeep -c /etc/sipkeep/sipkeep.yaml"
[[ ! -e /etc/systemd/system/multi-user.target.wants/sipkeep.service ]] ||
    die "the unit was enabled on install (it must wait for the admin's config)"
# Minimal images may tell dpkg not to install man pages (path-exclude): then
# look for them in the package instead.
if grep -Eqs '^path-exclude[= ]+/usr/share/man' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/*; then
    listing=$(dpkg-deb -c "$DEB")
    for page in /usr/share/man/man8/sipkeep.8.gz /usr/share/man/man5/sipkeep.yaml.5.gz; do
        grep -q " \.$page\$" <<<"$listing" || die "no $page in the package"
    done
else
    for page in /usr/share/man/man8/sipkeep.8.gz /usr/share/man/man5/sipkeep.yaml.5.gz; do
        [[ -f "$page" ]] || die "no $page"
    done
    [[ "$(man -w sipkeep.yaml 2>/dev/null)" == /usr/share/man/man5/sipkeep.yaml.5.gz ]] ||
        die "man does not find sipkeep.yaml(5)"
fi
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd sipkeep) || die "no user sipkeep"
[[ "$uid" -lt 1000 && "$home" == /var/lib/sipkeep && "$shell" == */nologin ]] ||
    die "user sipkeep is not a system user (uid $uid, home $home, shell $shell)"
[[ "$(stat -c %U:%G /var/lib/sipkeep)" == sipkeep:sipkeep ]] ||
    die "/var/lib/sipkeep is owned by $(stat -c %U:%G /var/lib/sipkeep)"
/usr/sbin/sipkeep --check-config -c /etc/sipkeep/sipkeep.yaml >/dev/null ||
    die "the shipped /etc/sipkeep/sipkeep.yaml does not pass --check-config"
log_step "package $pkg_version: binary, conffile, unit (disabled), man pages, user uid $uid"

# The shipped example, edited for the lab as an admin would (sk_config's
# values): the router's LAN address, the lab UA only, the lab domain, one TCP
# flow to the edge.  state_dir stays /var/lib/sipkeep.  Each edit must hit, or
# the result still names example.net.
conf=/etc/sipkeep/sipkeep.yaml
sed -i -e "s|\"udp:0\.0\.0\.0:5060\"|\"udp:$ROUTER_LAN_IP:5060\"|" \
    -e "s|level: info |level: debug |" \
    -e "s|\"192\.168\.0\.0/16\"|\"$LAN_UA_IP/32\"|" \
    -e "s|domain: sip\.example\.net|domain: $SIP_DOMAIN|" \
    -e "s|\"sip:edge1\.example\.net:5060;transport=tcp\"|\"sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp\"|" \
    -e '/"sips:edge2\.example\.net:5061"/d' \
    "$conf"
# Commented examples (e.g. the credentials block) may name example.net.
if grep -Ev '^[[:space:]]*#' "$conf" | grep -Eq 'example\.net|0\.0\.0\.0|192\.168\.0\.0'; then
    die "the shipped config changed shape; adapt this scenario: $(grep -En 'example\.net|0\.0\.0\.0|192\.168\.0\.0' "$conf" | grep -Ev '^[0-9]+:[[:space:]]*#')"
fi
grep -qx 'state_dir: /var/lib/sipkeep' "$conf" || die "the shipped state_dir is not /var/lib/sipkeep"

# What sipkeep.service does, without systemd: User=sipkeep, empty capability
# sets, NoNewPrivileges=yes.
SIPKEEP=$LAB_DIR/sipkeep-as-unit
cat >"$SIPKEEP" <<'EOF'
#!/bin/sh
exec setpriv --reuid=sipkeep --regid=sipkeep --init-groups --inh-caps=-all \
    --ambient-caps=-all --bounding-set=-all --no-new-privs /usr/sbin/sipkeep "$@"
EOF
chmod 0755 "$SIPKEEP"
sk_start "$conf"
pid=$(pgrep -x -P "$SK_PID" sipkeep) || die "no sipkeep process under $SK_PID"
[[ "$(stat -c %U "/proc/$pid")" == sipkeep ]] || die "sipkeep runs as $(stat -c %U "/proc/$pid")"
grep -Eq '^CapEff:[[:space:]]+0+$' "/proc/$pid/status" || die "sipkeep has capabilities: $(grep Cap "/proc/$pid/status")"

log_step "legacy UA registers through the packaged sipkeep (user sipkeep, no capabilities)"
sipp_ua_register "$ROUTER_LAN_IP:5060" "$USER_AOR" 3600 || die "REGISTER through sipkeep failed"
kam_location_has "$USER_AOR" "Reg-Id: 1$" || die "binding lacks reg-id 1: $(kam_location)"
sk_log_has 'event=registered .*reg_id=1 .*outbound=yes' || die "sipkeep did not log the outbound registration"
uuid=$(grep -Eo 'urn:uuid:[0-9a-f-]{36}' /var/lib/sipkeep/instance-ids | head -n 1) ||
    die "no instance-id persisted in /var/lib/sipkeep"
kam_location_has "$USER_AOR" "Instance: <$uuid>$" || die "binding lacks instance $uuid: $(kam_location)"
[[ "$(stat -c %U /var/lib/sipkeep/instance-ids)" == sipkeep ]] || die "instance-ids not written by sipkeep"
log_step "location table: $USER_AOR with $uuid, reg-id 1, registered by /usr/sbin/sipkeep"
# The control socket in the package's /run/sipkeep (tmpfiles.d), as root.
/usr/sbin/sipkeep status >"$LAB_DIR/status.txt" 2>&1 || die "sipkeep status failed: $(cat "$LAB_DIR/status.txt")"
grep -q "$USER_AOR" "$LAB_DIR/status.txt" || die "sipkeep status does not show $USER_AOR: $(cat "$LAB_DIR/status.txt")"
log_step "sipkeep status over /run/sipkeep/sipkeep.sock shows the binding"
sk_stop

log_step "purge"
dpkg --purge sipkeep >"$LAB_DIR/dpkg-purge.log" 2>&1 || die "dpkg --purge failed: $(tail -n 20 "$LAB_DIR/dpkg-purge.log")"
INSTALLED=
for gone in /usr/sbin/sipkeep /etc/sipkeep /var/lib/sipkeep /run/sipkeep /usr/share/doc/sipkeep \
    /lib/systemd/system/sipkeep.service /usr/share/man/man8/sipkeep.8.gz; do
    [[ ! -e "$gone" ]] || die "$gone is still there after purge"
done
if compgen -G '/var/lib/systemd/deb-systemd-helper-*/*sipkeep*' >/dev/null; then
    die "deb-systemd-helper state left: $(compgen -G '/var/lib/systemd/deb-systemd-helper-*/*sipkeep*')"
fi
getent passwd sipkeep >/dev/null || die "purge removed the sipkeep user (README.Debian says it stays)"
pkg_cleanup
! getent passwd sipkeep >/dev/null || [[ -n "$USER_EXISTED" ]] || die "user sipkeep left behind"
log_step "purged: files, conffile and state gone; user removed by this scenario"

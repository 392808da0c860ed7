#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make packaging-check: checks what packaging/ ships, after `make deb`.
#   versions     Makefile, debian/changelog, OpenWrt PKG_VERSION, man pages agree
#   man          man --warnings prints nothing for both pages; sipkeep.yaml(5)
#                names every key of README.md's configuration table
#   config       the example config passes the packaged binary's --check-config
#   lintian      no error on build/sipkeep_*.changes (the .deb and its dbgsym)
#   licence      GPL-2.0-or-later everywhere: COPYING is GPL-2's text,
#                debian/copyright (DEP-5, also as packaged) and the OpenWrt
#                Makefile say so
#   systemd      systemd-analyze verify prints nothing for the packaged unit
#   openwrt-make the OpenWrt Makefile's Prepare/Compile/install recipes, run
#                with a stand-in SDK (host compiler, host libraries)
#   openwrt-init the procd init script: sh -n, busybox ash -n, shellcheck, and
#                start_service/reload_service under ash with procd stand-ins
#   shell-lint   shellcheck on the maintainer scripts and the packaging and
#                e2e scripts
# Prints PASS/FAIL per check and "packaging: N passed, M failed"; exits
# non-zero if any failed.  Run from the top of the tree, as root or not.
set -u

tmp=$(mktemp -d /tmp/sipkeep-pkgcheck.XXXXXX) || exit 1
trap 'rm -rf -- "$tmp"' EXIT
trap 'exit 130' INT TERM
passed=0
failed=0

run_check() {
    name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        passed=$((passed + 1))
        echo "PASS $name"
        [ ! -s "$tmp/out" ] || sed 's/^/    /' "$tmp/out"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/    /' "$tmp/out"
    fi
}

version=$(sed -n 's/^VERSION *:= *//p' Makefile)
changes=
deb=
for f in build/sipkeep_*.changes; do [ ! -f "$f" ] || changes=$f; done
for f in build/sipkeep_*.deb; do [ ! -f "$f" ] || deb=$f; done
root=$tmp/root        # the .deb, unpacked
if [ -n "$deb" ]; then
    dpkg-deb -x "$deb" "$root"
fi
bin=$root/usr/sbin/sipkeep

check_versions() {
    deb_v=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
    owrt_v=$(sed -n 's/^PKG_VERSION:=//p' packaging/openwrt/Makefile)
    rc=0
    for v in "$deb_v" "$owrt_v"; do
        [ "$v" = "$version" ] || { echo "version $v differs from the Makefile's $version"; rc=1; }
    done
    for m in packaging/man/*.[0-9]; do
        grep -q "^\.TH .*\"sipkeep $version\"" "$m" || { echo "$m: .TH does not say sipkeep $version"; rc=1; }
    done
    [ -z "$deb" ] || "$bin" --version | grep -qx "sipkeep $version" ||
        { echo "the packaged binary is not version $version"; rc=1; }
    echo "version $version"
    return $rc
}

check_man() {
    rc=0
    for m in packaging/man/sipkeep.8 packaging/man/sipkeep.yaml.5; do
        man --warnings -l "$m" >/dev/null 2>"$tmp/man.err" || rc=1
        if [ -s "$tmp/man.err" ]; then
            echo "$m:"
            cat "$tmp/man.err"
            rc=1
        fi
    done
    # Every key of the README table (first column, `key`), in the page's
    # text with roff's \- unescaped.
    sed 's/\\-/-/g' packaging/man/sipkeep.yaml.5 >"$tmp/yaml5.txt"
    # shellcheck disable=SC2016 # backquotes of Markdown, not of the shell
    keys=$(awk '/^## / { inside = ($0 == "## Configuration") } inside' README.md |
        sed -n 's/^| `\([^`]*\)` |.*/\1/p')
    [ -n "$keys" ] || { echo "no configuration table found in README.md"; return 1; }
    for k in $keys; do
        grep -qF -- ".B $k" "$tmp/yaml5.txt" ||
            { echo "sipkeep.yaml.5 lacks README key $k"; rc=1; }
    done
    echo "$(echo "$keys" | wc -w) README keys documented"
    return $rc
}

check_config() {
    [ -x "$bin" ] || { echo "no packaged binary (make deb)"; return 1; }
    "$bin" --check-config -c "$root/etc/sipkeep/sipkeep.yaml" || return 1
    # The OpenWrt package rewrites these lines, its init script reads them.
    for k in state_dir control_socket; do
        grep -q "^$k: " config/sipkeep.yaml || { echo "no '$k: ' line"; return 1; }
    done
}

check_lintian() {
    [ -n "$changes" ] || { echo "no build/sipkeep_*.changes (make deb)"; return 1; }
    # Info tags shown, only errors fail; lintian warns that it runs as root.
    lintian --fail-on error --display-info "$changes" >"$tmp/lintian.raw" 2>&1
    status=$?
    grep -v 'running with root privileges' "$tmp/lintian.raw" >"$tmp/lintian.out"
    cat "$tmp/lintian.out"
    echo "lintian: $(grep -c '^E:' "$tmp/lintian.out") errors, $(grep -c '^W:' "$tmp/lintian.out") warnings"
    return "$status"
}

check_licence() {
    rc=0
    cmp -s COPYING /usr/share/common-licenses/GPL-2 ||
        { echo "COPYING is not /usr/share/common-licenses/GPL-2"; rc=1; }
    cr=packaging/debian/copyright
    head -n 1 "$cr" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
        { echo "$cr is not DEP-5"; rc=1; }
    [ "$(sed -n 's/^License: //p' "$cr" | sort -u)" = "GPL-2+" ] ||
        { echo "$cr: a License other than GPL-2+"; rc=1; }
    grep -q "^ version 2 can be found in the file \`/usr/share/common-licenses/GPL-2'\.$" "$cr" ||
        { echo "$cr does not point at /usr/share/common-licenses/GPL-2"; rc=1; }
    if [ -n "$deb" ]; then
        cmp -s "$cr" "$root/usr/share/doc/sipkeep/copyright" ||
            { echo "the .deb's copyright is not $cr"; rc=1; }
    fi
    for want in 'PKG_LICENSE:=GPL-2.0-or-later' 'PKG_LICENSE_FILES:=COPYING'; do
        grep -qxF "$want" packaging/openwrt/Makefile ||
            { echo "the OpenWrt Makefile lacks $want"; rc=1; }
    done
    # Every file under src/ says its licence in its first lines (SPDX).
    for f in $(find src -type f | sort); do
        head -n 3 "$f" | grep -q 'SPDX-License-Identifier: GPL-2.0-or-later' ||
            { echo "$f: no SPDX-License-Identifier: GPL-2.0-or-later line"; rc=1; }
    done
    for f in LICENSE LICENSE.md LICENSE.txt LICENCE COPYING.md; do
        [ ! -e "$f" ] || { echo "$f beside COPYING"; rc=1; }
    done
    [ "$rc" -ne 0 ] || echo "GPL-2.0-or-later"
    return $rc
}

# verify needs ExecStart's binary and the Documentation= man pages to exist:
# a copy of the packaged unit runs the packaged binary, man looks in the
# package.
check_systemd() {
    unit=$root/lib/systemd/system/sipkeep.service
    [ -f "$unit" ] || { echo "the .deb has no unit"; return 1; }
    sed "s|/usr/sbin/sipkeep|$bin|g" "$unit" >"$tmp/sipkeep.service"
    MANPATH=$root/usr/share/man systemd-analyze verify "$tmp/sipkeep.service" 2>"$tmp/verify.err" ||
        { cat "$tmp/verify.err"; return 1; }
    if [ -s "$tmp/verify.err" ]; then
        cat "$tmp/verify.err"
        return 1
    fi
    MANPATH=$root/usr/share/man systemd-analyze security --offline=yes "$tmp/sipkeep.service" 2>&1 |
        grep 'Overall exposure'
}

# A stand-in for the SDK's rules.mk and package.mk: enough to run the
# package's Build/Prepare, Build/Compile and Package/sipkeep/install.
check_openwrt_make() {
    sdk=$tmp/sdk
    mkdir -p "$sdk/include" "$sdk/staging/usr/lib"
    ln -s "$(pkg-config --variable pcfiledir openssl)" "$sdk/staging/usr/lib/pkgconfig"
    # shellcheck disable=SC2016 # a make variable
    echo 'INCLUDE_DIR:=$(TOPDIR)/include' >"$sdk/rules.mk"
    cat >"$sdk/include/package.mk" <<'EOF'
PKG_BUILD_DIR:=$(TOPDIR)/build/$(PKG_NAME)-$(PKG_VERSION)
STAGING_DIR:=$(TOPDIR)/staging
CP:=cp -fpR
SED:=sed -i -e
INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_DATA:=install -m0644
MAKE_VARS:=CFLAGS="-O2 -g" LDFLAGS=""
MAKE_FLAGS:=CC="cc"
PKG_JOBS:=-j2
define BuildPackage
stub-build:
	$$(Build/Prepare)
	$$(Build/Compile)
	$$(call Package/$(1)/install,$$(TOPDIR)/ipkg)
endef
EOF
    make -s -C packaging/openwrt TOPDIR="$sdk" stub-build >"$tmp/owrt.log" 2>&1 ||
        { tail -n 20 "$tmp/owrt.log"; return 1; }
    ipkg=$sdk/ipkg
    rc=0
    for f in usr/sbin/sipkeep etc/init.d/sipkeep; do
        [ -x "$ipkg/$f" ] || { echo "$f missing or not executable"; rc=1; }
    done
    grep -qx 'state_dir: /etc/sipkeep/state' "$ipkg/etc/sipkeep/sipkeep.yaml" ||
        { echo "the OpenWrt config's state_dir is not on flash"; rc=1; }
    grep -qx 'control_socket: /var/run/sipkeep/sipkeep.sock' "$ipkg/etc/sipkeep/sipkeep.yaml" ||
        { echo "the OpenWrt config's control_socket is not under /var/run"; rc=1; }
    grep -qx /etc/sipkeep/state/ "$ipkg/lib/upgrade/keep.d/sipkeep" || { echo "keep.d"; rc=1; }
    "$ipkg/usr/sbin/sipkeep" --check-config -c "$ipkg/etc/sipkeep/sipkeep.yaml" || rc=1
    return $rc
}

# Runs the init script's functions under BusyBox ash (OpenWrt's shell) with
# procd's helpers (and logger, chown, start) replaced by functions that record
# their arguments, one call per line, in $tmp/init.calls.
owrt_init_run() {
    # $1: config file, $2: function to call
    cat >"$tmp/procd-stub.sh" <<'EOF'
rec() { echo "$*" | sed 's/ *$//' >>"$calls"; }
for f in procd_open_instance procd_set_param procd_add_jail procd_add_jail_mount \
         procd_add_jail_mount_rw procd_close_instance procd_add_interface_trigger \
         logger chown start; do
    eval "$f() { rec $f \"\$@\"; }"
done
EOF
    calls=$tmp/init.calls busybox sh -c '. "$0"; . "$1"; CONF=$2; PROG=$3; $4' \
        "$tmp/procd-stub.sh" packaging/openwrt/files/sipkeep.init "$1" "$bin" "$2"
}

check_openwrt_init() {
    init=packaging/openwrt/files/sipkeep.init
    sh -n "$init" && busybox sh -n "$init" && shellcheck "$init" || return 1
    [ -x "$bin" ] || { echo "no packaged binary (make deb)"; return 1; }
    rc=0
    conf=$tmp/owrt.yaml
    # As shipped (example service): no instance, a log line.
    sed -e "s|^state_dir:.*|state_dir: $tmp/owrt-state|" \
        -e "s|^control_socket:.*|control_socket: \"$tmp/owrt-run/sipkeep.sock\"  # quoted|" \
        config/sipkeep.yaml >"$conf"
    rm -f "$tmp/init.calls"
    owrt_init_run "$conf" start_service
    if grep -q '^procd_open_instance' "$tmp/init.calls" ||
        ! grep -q '^logger .*not started' "$tmp/init.calls"; then
        echo "started with the example service:"; cat "$tmp/init.calls"; rc=1
    fi
    # Configured: the instance procd would get.
    sed -i 's/sip\.example\.net/sip.lab.test/' "$conf"
    rm -f "$tmp/init.calls"
    owrt_init_run "$conf" start_service
    for want in "procd_set_param command $bin -c $conf" "procd_set_param file $conf" \
        "procd_set_param respawn 3600 5 5" "procd_set_param user sipkeep" \
        "procd_add_jail sipkeep log" "procd_add_jail_mount_rw $tmp/owrt-state $tmp/owrt-run" \
        "chown sipkeep:sipkeep $tmp/owrt-state" "chown sipkeep:sipkeep $tmp/owrt-run" \
        "procd_close_instance"; do
        grep -qxF -- "$want" "$tmp/init.calls" || { echo "start_service: no '$want'"; rc=1; }
    done
    for d in "$tmp/owrt-state" "$tmp/owrt-run"; do
        [ -d "$d" ] || { echo "$d not created"; rc=1; }
    done
    # reload: a broken file is refused (and logged), a valid one restarts.
    rm -f "$tmp/init.calls"
    owrt_init_run "$conf" reload_service || { echo "reload refused a valid config"; rc=1; }
    grep -qx start "$tmp/init.calls" || { echo "reload did not call start"; rc=1; }
    echo 'mode: proxi' >>"$conf"
    rm -f "$tmp/init.calls"
    if owrt_init_run "$conf" reload_service || grep -qx start "$tmp/init.calls"; then
        echo "reload went ahead with a broken config"; rc=1
    fi
    grep -q '^logger .*mode' "$tmp/init.calls" || { echo "reload did not log the config error"; rc=1; }
    return $rc
}

check_shellcheck() {
    shellcheck -s sh packaging/debian/postinst packaging/debian/postrm packaging/debian/prerm \
        packaging/deb.sh packaging/check.sh packaging/deps.sh &&
        shellcheck -x tests/e2e/t_30_deb_install.sh
}

run_check versions check_versions
run_check man check_man
run_check config check_config
run_check lintian check_lintian
run_check licence check_licence
run_check systemd check_systemd
run_check openwrt-make check_openwrt_make
run_check openwrt-init check_openwrt_init
run_check shell-lint check_shellcheck
echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

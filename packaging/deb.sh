#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the Debian binary package build/sipkeep_VERSION_ARCH.deb.
# Usage: packaging/deb.sh      (from the top of the tree; `make deb` runs it)
#
# The top of the tree holds no debian/ directory (it lives in
# packaging/debian/), so the package is built in a copy: build/deb-src/ gets
# what the build needs plus packaging/debian/ as debian/, and
# dpkg-buildpackage writes the .deb, .buildinfo and .changes next to it, in
# build/.  The copy is removed after a successful build (its build/*.d files
# would otherwise be picked up by the top Makefile's -include); after a failed
# one it stays for inspection, with the full log in build/deb-build.log.
set -eu

out=$(pwd)/build
src=$out/deb-src
log=$out/deb-build.log

[ -f packaging/debian/control ] || { echo "deb.sh: run from the top of the tree" >&2; exit 2; }
mkdir -p "$out"
rm -rf -- "$src"
rm -f -- "$out"/sipkeep_*.deb "$out"/sipkeep-dbgsym_*.deb \
    "$out"/sipkeep_*.buildinfo "$out"/sipkeep_*.changes
mkdir -p "$src"
# Only the build inputs: not build/ (recursion), .git or the tests, which
# the package build does not run (see debian/rules).
cp -a src config packaging Makefile README.md "$src/"
cp -a packaging/debian "$src/debian"

if ! (cd "$src" && dpkg-buildpackage -us -uc -b -Jauto) >"$log" 2>&1; then
    echo "deb.sh: dpkg-buildpackage failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
fi
rm -rf -- "$src"
for deb in "$out"/sipkeep_*.deb; do
    echo "deb: ${deb#"$(pwd)/"} ($(( $(stat -c %s "$deb") / 1024 )) KiB)"
done

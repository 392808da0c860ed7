#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every unit-test binary given, prints each one's CMocka output, and a
# closing summary line "unit: N passed, M failed" (binaries, not cases: each
# binary prints its own case counts above it).  Exits non-zero on any failure.
passed=0
failed=0
for t in "$@"; do
    if "$t"; then
        passed=$((passed + 1))
    else
        echo "FAILED: $t" >&2
        failed=$((failed + 1))
    fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzz smoke: runs each libFuzzer binary for SECONDS against its committed
# seed corpus (tests/fuzz/corpus/NAME), writing new inputs to a scratch dir
# so the committed corpus stays as reviewed.  Any crash, leak or timeout
# fails the run; the reproducer is kept under build/fuzz/artifacts/.
# Usage: run-fuzz.sh SECONDS BINARY...
set -u
secs=$1
shift
passed=0
failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    name=${name#fuzz_}
    seeds=tests/fuzz/corpus/$name
    scratch=$(mktemp -d)
    art=build/fuzz/artifacts/$name/
    mkdir -p "$art"
    echo "fuzz $name: ${secs}s"
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art" "$scratch" "$seeds" \
        >"build/fuzz/$name.log" 2>&1; then
        grep -E '^stat::number_of_executed_units' "build/fuzz/$name.log" || true
        passed=$((passed + 1))
    else
        tail -n 40 "build/fuzz/$name.log" >&2
        echo "FAILED: fuzz $name (reproducer in $art)" >&2
        failed=$((failed + 1))
    fi
    rm -rf "$scratch"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

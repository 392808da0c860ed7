#!/bin/sh
# make bench: runs every benchmark binary and prints the daemon's stripped
# size.  Figures only; nothing here passes or fails on speed.
# Usage: run.sh SIPKEEP_BINARY BENCH_BINARY...
set -eu
daemon=$1
shift
echo "== sipkeep benchmarks on $(uname -m), $(nproc) cores, $(date -u +%Y-%m-%d)"
for b in "$@"; do
    echo "-- $(basename "$b")"
    "$b"
done
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
strip -o "$tmp" "$daemon"
size=$(stat -c %s "$tmp")
echo "-- binary"
echo "build/sipkeep stripped: $size bytes ($((size / 1024)) KiB; target < 300 KiB)"

#!/bin/sh
# make bench: runs every benchmark binary, prints the daemon's stripped size,
# then the proxy-mode benchmark in the e2e lab (proxy_bench.sh: latency added
# by sipkeep, RSS per flow; about a minute, needs root and the lab's packages).
# Figures only; nothing here passes or fails on speed.
# Usage: run.sh SIPKEEP_BINARY BENCH_BINARY...
#   BENCH_PROXY=0   skip the proxy-mode benchmark
set -eu
here=$(cd "$(dirname "$0")" && pwd)
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

echo "-- proxy mode (tests/bench/proxy_bench.sh)"
if [ "${BENCH_PROXY:-1}" = 0 ]; then
    echo "skipped (BENCH_PROXY=0)"
elif [ "$(id -u)" != 0 ]; then
    echo "skipped: the e2e lab needs root (network namespaces)"
else
    # The lab's packages (Kamailio, sipp, tcpdump...): installed when missing.
    sh "$here/../../packaging/deps.sh" e2e
    # Bounded: about a minute here; it cleans up on the TERM of timeout(1).
    timeout -k 15 600 bash "$here/proxy_bench.sh" "$daemon"
fi

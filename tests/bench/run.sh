#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: runs every benchmark binary, prints the daemon's stripped size,
# then the proxy-mode benchmark in the e2e lab (proxy_bench.sh: latency added
# by sipkeep, RSS per flow; about a minute, needs root and the lab's packages)
# and the transparent-mode one (nfq_bench.sh: the NFQUEUE path; half a minute).
# Figures only; nothing here passes or fails on speed.
# Then tests/bench/scale.sh, compare.sh, storm.sh and field.sh
# (below).
# Usage: run.sh SIPKEEP_BINARY BENCH_BINARY...
#   BENCH_PROXY=0   skip the proxy-mode benchmark
#   BENCH_NFQ=0     skip the transparent-mode (NFQUEUE) benchmark
#   BENCH_RECOVERY=0  skip the recovery timeline (recovery.sh, ~4 minutes)
#   RECOVERY_BARESIP=0  keep the timeline, skip its baresip comparison (~2 min)
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

# Scale (100, 1,000, 10,000 phones over TCP and TLS flows; about 8 minutes)
# and the comparison with Kamailio as a local outbound proxy and with no
# middlebox (about a minute), and the first-REGISTER storm with a slowed
# disk, group commit of instance-ids against one sync per phone (storm.sh,
# about a minute), and the field recovery: an edge's death with NAPTR/SRV
# failover and a WAN address change with the netlink watch, each beside the
# figure without (field.sh, about 5 minutes; FIELD_RUNS=N runs of each case,
# default 3), and an edge restart under 10,000 TCP and TLS flows, with recovery
# pacing and without (edge_restart.sh, about 10 minutes; RESTART_N=2000 for
# fewer flows).  BENCH_SCALE=0 / BENCH_COMPARE=0 / BENCH_STORM=0 / BENCH_FIELD=0
# / BENCH_EDGE_RESTART=0 skip them; BENCH_SCALE_SIZES="100 1000" picks the sizes.
for b in scale compare storm field edge_restart; do
    echo "-- $b (tests/bench/$b.sh)"
    var=BENCH_$(echo "$b" | tr '[:lower:]' '[:upper:]')
    if [ "$(eval echo "\${$var:-1}")" = 0 ]; then
        echo "skipped ($var=0)"
    elif [ "$(id -u)" != 0 ]; then
        echo "skipped: the e2e lab needs root (network namespaces)"
    elif [ "$b" = scale ]; then
        # shellcheck disable=SC2086  # the sizes are words
        timeout -k 15 1800 bash "$here/scale.sh" "$daemon" ${BENCH_SCALE_SIZES:-} ||
            echo "scale.sh failed (status $?)"
    elif [ "$b" = edge_restart ]; then
        timeout -k 15 1800 bash "$here/$b.sh" "$daemon" || echo "$b.sh failed (status $?)"
    else
        timeout -k 15 600 bash "$here/$b.sh" "$daemon" || echo "$b.sh failed (status $?)"
    fi
done

echo "-- transparent mode, NFQUEUE path (tests/bench/nfq_bench.sh)"
if [ "${BENCH_NFQ:-1}" = 0 ]; then
    echo "skipped (BENCH_NFQ=0)"
elif [ "$(id -u)" != 0 ]; then
    echo "skipped: the e2e lab needs root (network namespaces)"
else
    sh "$here/../../packaging/deps.sh" e2e
    # Bounded: about half a minute here.
    timeout -k 15 300 bash "$here/nfq_bench.sh" "$daemon"
fi

echo "-- recovery timeline, TCP/TLS/UDP flows, and vs baresip (tests/bench/recovery.sh)"
if [ "${BENCH_RECOVERY:-1}" = 0 ]; then
    echo "skipped (BENCH_RECOVERY=0)"
elif [ "$(id -u)" != 0 ]; then
    echo "skipped: the e2e lab needs root (network namespaces)"
else
    sh "$here/../../packaging/deps.sh" e2e
    # Bounded: about four minutes here (UDP's STUN detection alone is ~40 s,
    # baresip waits 30-60 s before it registers again).
    timeout -k 15 900 bash "$here/recovery.sh" "$daemon" || echo "recovery.sh failed (status $?)"
fi

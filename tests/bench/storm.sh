#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# First-REGISTER storm on a slow disk (issue 14 item 1), in the e2e lab:
# STORM_UAS new phones (sipp, one UDP socket, each its own AOR) send their
# first REGISTER to sipkeep at STORM_RATE per second, against the lab's
# Kamailio edge + registrar over TCP flows, with every fsync/fdatasync of
# sipkeep slowed to at least STORM_SYNC_MS (tests/bench/slowsync.c, an
# LD_PRELOAD shim: the real sync, then a sleep; see there why not dm-delay
# or FUSE).  Twice, each with a fresh sipkeep, empty state_dir and fresh
# Kamailios:
#   batched   today's group commit: the new phones of one loop iteration
#             share one fdatasync of instance-ids, run on the store's worker
#             thread while the loop goes on (the phones that arrive
#             meanwhile form the next batch) once syncs take 2 ms or more,
#             on the loop before that (the first batch; a fast disk);
#   each      SIPKEEP_BENCH_INSTID_SYNC_EACH=1: one fdatasync per phone,
#             on the loop thread, the behaviour before issue 14.
# Prints per run: phones answered 200 and flows active at the end, first
# REGISTERs answered per second, REGISTER -> 200 at the phone (median / p99),
# the number of instance-ids syncs, phones per sync, and how long one sync
# took (median / max): in "each" the event loop waits that long, in
# "batched" only the worker thread does (syncs of 2 ms or more).
# Figures only: it exits 1 only when the lab cannot be set up.
#
# Usage: tests/bench/storm.sh SIPKEEP_BINARY   (as root; about a minute;
#        make bench runs it through tests/bench/run.sh; BENCH_STORM=0 skips)
# Knobs: STORM_UAS (1000), STORM_RATE (1000 /s), STORM_SYNC_MS (10),
#        STORM_MODES ("batched each"), BENCH_KEEP=DIR.
set -euo pipefail

[[ $# -ge 1 ]] || { echo "usage: $0 SIPKEEP_BINARY" >&2; exit 2; }
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
STORM_UAS=${STORM_UAS:-1000}
STORM_RATE=${STORM_RATE:-1000}
STORM_SYNC_MS=${STORM_SYNC_MS:-10}
STORM_MODES=${STORM_MODES:-batched each}
SCALE_LIB_ONLY=1
# shellcheck source=tests/bench/scale.sh
. "$BENCH_DIR/scale.sh" "$1" "$STORM_UAS"

SHIM=$LAB_DIR/slowsync.so

declare -A OK ACTIVE RATE MED P99 SYNCS PER_SYNC SYNC_MED SYNC_MAX CPU

# storm_run batched|each
storm_run() {
    local v=$1 csv=$LAB_DIR/storm.csv synclog=$LAB_DIR/$1-syncs.log wrap c0 c1 n
    log_step "== $v: $STORM_UAS new phones at $STORM_RATE/s, syncs slowed by $STORM_SYNC_MS ms"
    kam_fresh
    rm -rf "$LAB_DIR/sipkeep-state" "$synclog"
    users "$csv" "storm$v" 0 $(( STORM_UAS - 1 ))
    SK_LOG_LEVEL=info bench_config "$LAB_DIR/storm-$v.yaml" "sip:$EDGE_IP:$EDGE_TCP_PORT;transport=tcp"
    wrap="env LD_PRELOAD=$SHIM SLOWSYNC_MS=$STORM_SYNC_MS SLOWSYNC_LOG=$synclog"
    [[ "$v" != each ]] || wrap="$wrap SIPKEEP_BENCH_INSTID_SYNC_EACH=1"
    SK_WRAP=$wrap sk_start "$LAB_DIR/storm-$v.yaml"
    c0=$(cpu_ticks)
    reg_pass "storm-$v" "$ROUTER_LAN_IP:5060" "$csv" 1 "$STORM_UAS" "$STORM_RATE" ||
        log_step "WARNING: some REGISTERs failed (see storm-$v/)"
    wait_flows "$STORM_UAS" 60
    c1=$(cpu_ticks)
    read -r n "MED[$v]" "P99[$v]" _ < <(rtt_stats "$LAB_DIR/storm-$v/rtt.csv")
    OK[$v]=$n
    ACTIVE[$v]=$(metric_now sipkeep_flows 'state="active"')
    RATE[$v]=$(reg_rate "storm-$v")
    CPU[$v]=$(awk -v c=$(( c1 - c0 )) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", c / hz }')
    # instance-ids syncs: appends (fdatasync of the file) and the first
    # creation (fsync of instance-ids.tmp, then of the directory).
    read -r "SYNCS[$v]" "SYNC_MED[$v]" "SYNC_MAX[$v]" < <(
        awk '$3 ~ /\/instance-ids(\.tmp)?$/ { print $2 }' "$synclog" 2>/dev/null | sort -n |
            awk '{ v[NR] = $1 } END { if (NR == 0) { print "0 - -"; exit }
                 printf "%d %.1f %.1f\n", NR, v[int((NR + 1) / 2)], v[NR] }')
    PER_SYNC[$v]=$(awk -v a="${OK[$v]}" -v b="${SYNCS[$v]}" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')
    sk_problems "$SK_LOG"
    sk_bench_stop "sipkeep-storm-$v"
}

lab_up
scale_setup
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" "$BENCH_DIR/slowsync.c" ||
    die "cannot build the slow-sync shim"
for v in $STORM_MODES; do
    storm_run "$v"
done

echo
echo "first-REGISTER storm on a slow disk ($(nproc) cores, $("$SIPKEEP" --version 2>/dev/null | head -n 1), Kamailio $(kamailio -v 2>/dev/null | awk 'NR == 1 { print $3 }'))"
echo "  $STORM_UAS new phones from one UDP socket at $STORM_RATE REGISTER/s offered, TCP flows; every fsync/fdatasync of sipkeep"
echo "  slowed by $STORM_SYNC_MS ms (LD_PRELOAD tests/bench/slowsync.c); REGISTER -> 200 ms at the phone, median / p99;"
echo "  syncs: of instance-ids, each took 'sync ms' (median / max): batched, on the instid worker thread when slow, else on the loop; 'each' on the loop"
printf '%-8s %6s %6s %7s %19s %6s %10s %17s %7s\n' instid "200s" active first/s "first REGISTER ms" syncs phones/sync "sync ms" "CPU s"
for v in $STORM_MODES; do
    printf '%-8s %6s %6s %7s %19s %6s %10s %17s %7s\n' "$v" "${OK[$v]}" "${ACTIVE[$v]}" "${RATE[$v]}" \
        "$(ms "${MED[$v]}") / $(ms "${P99[$v]}")" "${SYNCS[$v]}" "${PER_SYNC[$v]}" \
        "${SYNC_MED[$v]} / ${SYNC_MAX[$v]}" "${CPU[$v]}"
done

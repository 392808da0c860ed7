# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The e2e-lab benchmarks' prologue and timing helpers (recovery.sh,
# field.sh): sources tests/e2e/lib.sh and sk_lib.sh.  Figures only: nothing
# here passes or fails on speed.
#
# API: bench_sipkeep BINARY (sets and exports SIPKEEP, an absolute path)
#      ms_now | ev_ms ERE T0_MS | secs FROM_MS TO_MS | median VALUES...
#      call_until_ok DEADLINE_S [USER] (sets CALL_OK_MS)

# shellcheck source=../e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
# shellcheck source=../e2e/sk_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/sk_lib.sh"

bench_sipkeep() {
    SIPKEEP=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
    export SIPKEEP
}

ms_now() { date +%s%3N; }

# ev_ms ERE T0: epoch ms of sipkeep's first log line matching ERE stamped at or
# after T0 (epoch ms); fails when there is none.
ev_ms() {
    local line t
    while IFS= read -r line; do
        t=$(date -d "${line%% *}" +%s%3N 2>/dev/null) || continue
        if (( t >= $2 )); then
            echo "$t"
            return 0
        fi
    done < <(grep -E -- "$1" "$SK_LOG")
    return 1
}

secs() { # secs FROM_MS TO_MS: seconds with one decimal ("fail" without TO_MS)
    [[ -n "$2" ]] || { echo fail; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'
}

# median VALUES...: the middle value (the lower middle of an even count),
# "fail" counting as larger than any figure; "-" without values.
median() {
    (( $# > 0 )) || { echo -; return; }
    printf '%s\n' "$@" | sed 's/^fail$/inf/' | sort -g | sed -n "$(( ($# + 1) / 2 ))p" |
        sed 's/^inf$/fail/'
}

# call_until_ok DEADLINE_S [USER]: inbound calls to USER (default $USER_AOR)
# one after the other until one is answered and completed; sets CALL_OK_MS to
# the epoch ms at which that one started (empty if none did).  Not in $(...):
# the lab tracks its processes.
CALL_OK_MS=
call_until_ok() {
    local end=$(( $(date +%s) + $1 )) user=${2:-$USER_AOR} t
    CALL_OK_MS=
    while (( $(date +%s) < end )); do
        t=$(ms_now)
        sipp_ua_answer_start 1 "$user"
        if sipp_uac_call "$user" 8 && sipp_ua_answer_wait 10; then
            # shellcheck disable=SC2034 # the result, read by the caller
            CALL_OK_MS=$t
            return 0
        fi
        sipp_ua_answer_stop
    done
    return 1
}

# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # SOAK_* results and settings are soak.sh's
# sipkeep soak: the fault schedule, the faults, sipkeep's figures and the
# final accounting.  Sourced by soak.sh after tests/e2e/lib.sh and sk_lib.sh.
#
# API: soak_schedule SEED DURATION (prints the plan), soak_fault KIND PARAM DUR,
# soak_netem_probe, soak_metric NAME, soak_active_flows, soak_fd_count,
# soak_report (prints the accounting, returns the number of unexplained losses).
#
# Times are epoch seconds with milliseconds (now_s).  A fault *window* is
# [fault start - SOAK_PRE, fault end + the kind's recovery margin]: a call
# placed up to SOAK_PRE seconds before a fault is still in progress when it
# hits (a call lasts about 1 s: INVITE, 200, ACK, 0.5 s, BYE, 200).

now_s() {
    local t
    t=$(date +%s%N)
    printf '%d.%03d\n' $((t / 1000000000)) $((t / 1000000 % 1000))
}

# sleep_until EPOCH_S: idle until then (at once if it has passed).
sleep_until() {
    local d
    d=$(awk -v t="$1" -v n="$(now_s)" 'BEGIN { d = t - n; printf "%.3f", (d > 0 ? d : 0) }')
    [[ "$d" == 0.000 ]] || idle "$d"
}

# soak_margin KIND: the recovery margin after a fault of KIND, in seconds,
# from the lab's configuration (SOAK_* values, printed by soak.sh):
#  - a fault the flows notice at once (their TCP connection is reset or
#    closed): the wait before the next attempt, at most recovery.max_time
#    (RFC 5626 §4.5: a random 50-100 % of min(max_time, base x 2^n); the
#    first retry after a working flow dies is immediate), plus the new
#    flow's connect + REGISTER round trip (SOAK_REG_RTT);
#  - a fault the flows notice only by a missing pong (the NAT forgot them):
#    the next keep-alive is due within Flow-Timer (§4.4.1), its pong is
#    missed pong_timeout later, then as above;
#  - loss and delay: a flow whose pong a lost segment delays past
#    pong_timeout is failed at most pong_timeout after the window, then
#    as above;
#  - a SIGHUP: as a loud fault (a reload may reopen flows);
#  - malformed datagrams: nothing to recover, no margin.
soak_margin() {
    local loud=$((SOAK_MAX_TIME + SOAK_REG_RTT))
    case "$1" in
        tcp_reset | edge_restart | sighup) echo "$loud" ;;
        nat_flush) echo $((FLOW_TIMER + SOAK_PONG_TIMEOUT + loud)) ;;
        netem) echo $((SOAK_PONG_TIMEOUT + loud)) ;;
        malformed) echo 0 ;;
        *) die "soak_margin: unknown fault $1" ;;
    esac
}

# soak_schedule SEED DURATION: the plan, one line per window:
#   INDEX KIND GAP DURATION MARGIN PARAM PLANNED_START PLANNED_END
# (seconds; GAP is the quiet time before the window, after the previous
# window's end; PLANNED_* are window bounds from the start of the soak if
# every fault lasts its DURATION).  The kinds come in a seeded random order,
# each once per round; the windows are laid out one after another until the
# next would end later than DURATION minus a quiet tail.  Deterministic for a
# seed (awk's srand/rand).
soak_schedule() {
    local seed=$1 dur=$2 k specs=""
    # KIND:MIN_DURATION:MAX_DURATION (edge_restart: an estimate, it lasts
    # as long as Kamailio takes to stop and start).
    for k in netem:6:8 tcp_reset:0:0 edge_restart:3:3 nat_flush:0:0 sighup:0:0 malformed:8:10; do
        specs+="$k:$(soak_margin "${k%%:*}") "
    done
    awk -v seed="$seed" -v d="$dur" -v pre="$SOAK_PRE" -v gmin="$SOAK_GAP_MIN" \
        -v gmax="$SOAK_GAP_MAX" -v specs="$specs" -v p1="$EDGE_TCP_PORT" -v p2="$EDGE_TCP2_PORT" '
        function shuffle(   i, j, t) {
            for (i = n; i > 1; i--) { j = 1 + int(rand() * i); t = perm[i]; perm[i] = perm[j]; perm[j] = t }
            p = 1
        }
        BEGIN {
            srand(seed)
            n = split(specs, S, " ")
            for (i = 1; i <= n; i++) perm[i] = i
            shuffle()
            c = 0
            while (1) {
                if (p > n) shuffle()
                split(S[perm[p++]], f, ":")
                kind = f[1]
                len = f[2] + int(rand() * (f[3] - f[2] + 1))
                margin = f[4]
                gap = gmin + int(rand() * (gmax - gmin + 1))
                ws = c + gap
                we = ws + pre + len + margin
                if (we + gmin > d) break
                param = "-"
                if (kind == "tcp_reset") param = (rand() < 0.5 ? p1 : p2)
                printf "%d %s %d %d %d %s %d %d\n", ++idx, kind, gap, len, margin, param, ws, we
                c = we
            }
        }'
}

# soak_netem_probe: can this kernel do tc netem?  Sets SOAK_NETEM=tc or
# iptables (loss only, by the statistic match; netem absent, e.g. a kernel
# built without sch_netem).
SOAK_NETEM=
soak_netem_probe() {
    if ns_exec "$NS_ROUTER" tc qdisc add dev "$ROUTER_WAN_IF" root netem delay 1ms 2>/dev/null; then
        ns_exec "$NS_ROUTER" tc qdisc del dev "$ROUTER_WAN_IF" root
        SOAK_NETEM=tc
    else
        SOAK_NETEM=iptables
    fi
}

# Loss (and delay, with netem) on everything the router sends on wan0:
# sipkeep's flows towards the edge (pings, REGISTERs, replies).
_soak_netem() { # _soak_netem on|off
    local r=(ns_exec "$NS_ROUTER") op=-I
    if [[ "$SOAK_NETEM" == tc ]]; then
        if [[ "$1" == on ]]; then
            "${r[@]}" tc qdisc add dev "$ROUTER_WAN_IF" root netem \
                loss "$SOAK_LOSS_PCT%" delay "${SOAK_DELAY_MS}ms" "${SOAK_JITTER_MS}ms"
        else
            "${r[@]}" tc qdisc del dev "$ROUTER_WAN_IF" root
        fi
        return
    fi
    [[ "$1" == on ]] || op=-D
    local p
    p=$(awk -v l="$SOAK_LOSS_PCT" 'BEGIN { printf "%.2f", l / 100 }')
    "${r[@]}" iptables "$op" OUTPUT -o "$ROUTER_WAN_IF" -m statistic --mode random --probability "$p" -j DROP
    "${r[@]}" iptables "$op" FORWARD -o "$ROUTER_WAN_IF" -m statistic --mode random --probability "$p" -j DROP
}

# soak_metric NAME: one value of `sipkeep metrics` (NAME with its labels, as printed).
soak_metric() {
    "$SIPKEEP" metrics -s "$SK_CTL" 2>/dev/null | awk -v m="$1" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'
}

# soak_active_flows: how many flows sipkeep reports active.
soak_active_flows() {
    "$SIPKEEP" status --json -s "$SK_CTL" 2>/dev/null | jq -r '.totals.flows_by_state.active'
}

# soak_fd_count: sipkeep's open file descriptors.
soak_fd_count() {
    local pid
    pid=$(sk_daemon_pid) || return 1
    find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l
}

# soak_fault KIND PARAM DURATION: inject the fault, hold it DURATION seconds,
# lift it; prints one line saying what was done.
soak_fault() {
    local kind=$1 param=$2 dur=$3 out
    case "$kind" in
        netem)
            _soak_netem on
            idle "$dur"
            _soak_netem off
            echo "loss $SOAK_LOSS_PCT %$([[ $SOAK_NETEM == tc ]] && echo ", delay ${SOAK_DELAY_MS}±${SOAK_JITTER_MS} ms") on router $ROUTER_WAN_IF for ${dur}s ($SOAK_NETEM)"
            ;;
        tcp_reset)
            out=$(ns_exec "$NS_ROUTER" ss -K -t -H state established dst "$EDGE_IP" dport = ":$param")
            if [[ -n "$out" ]]; then
                echo "reset $(grep -c . <<<"$out") TCP flows to $EDGE_IP:$param (ss -K in the router)"
                return
            fi
            # A kernel without SOCK_DESTROY (CONFIG_INET_DIAG_DESTROY): reset
            # each flow as it next sends (a keep-alive within Flow-Timer).
            local rule=(OUTPUT -p tcp -d "$EDGE_IP" --dport "$param" -j REJECT --reject-with tcp-reset)
            ns_exec "$NS_ROUTER" iptables -I "${rule[@]}"
            idle $((FLOW_TIMER + 1))
            ns_exec "$NS_ROUTER" iptables -D "${rule[@]}"
            echo "reset the TCP flows to $EDGE_IP:$param for $((FLOW_TIMER + 1))s (iptables REJECT tcp-reset; no ss -K here)"
            ;;
        edge_restart)
            kam_restart edge >/dev/null
            echo "edge proxy restarted"
            ;;
        nat_flush)
            out=$(ns_exec "$NS_ROUTER" conntrack -F 2>&1 || true)
            echo "conntrack -F in the router: ${out##*: }"
            ;;
        sighup)
            kill -HUP "$(sk_daemon_pid)"
            echo "SIGHUP to sipkeep"
            ;;
        malformed)
            local in0 pe0 in1 pe1
            in0=$(soak_metric 'sipkeep_messages_total{direction="in",side="ua"}')
            pe0=$(soak_metric sipkeep_parse_errors_total)
            START_LOG=$LAB_DIR/malformed-$SECONDS.log start_in_ns "$NS_LAN" \
                bash "$SOAK_DIR/malformed.sh" "$SOAK_MALFORMED_RATE" "$dur" "$ROUTER_LAN_IP" 5060 "$SIP_DOMAIN"
            wait "$LAST_PID" || true
            in1=$(soak_metric 'sipkeep_messages_total{direction="in",side="ua"}')
            pe1=$(soak_metric sipkeep_parse_errors_total)
            echo "$((pe1 - pe0)) malformed of $((in1 - in0)) datagrams from the LAN in ${dur}s" \
                "($(awk -v a=$((pe1 - pe0)) -v b=$((in1 - in0)) 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }') %)"
            ;;
        *) die "soak_fault: unknown fault $kind" ;;
    esac
}

# soak_report WINDOWS CALL_LOG CALL_ERRORS REG_LOG REG_CUTOFF: the accounting.
# WINDOWS: "INDEX KIND WINDOW_START FAULT_START FAULT_END WINDOW_END" lines;
# CALL_LOG, REG_LOG: the sipp <log> files (uac_call.xml, ua_register.xml);
# CALL_ERRORS: the far caller's -trace_err file (why a call failed);
# REG_CUTOFF: REGISTERs started after this time were still in flight when
# the phones stopped, and are not counted.  Prints calls placed, answered,
# failed (each failure with its start, phone, reason and window), the same
# for the phones' REGISTER refreshes, and failures per window.  Sets
# SOAK_UNEXPLAINED (losses outside every window) and SOAK_PLACED.
SOAK_UNEXPLAINED=0
SOAK_PLACED=0
soak_report() {
    local windows=$1 calls=$2 errs=$3 regs=$4 cutoff=$5 out
    out=$(awk -v t0="$SOAK_T0" -v cutoff="$cutoff" -v errfile="$errs" '
        function when(s, us) { return int(s) + int(us) / 1000000 }
        function hms(t) { t = int(t) % 86400; return sprintf("%02d:%02d:%02d", int(t / 3600), int(t / 60) % 60, t % 60) }
        # Times are UTC (awk has no time zone functions everywhere: mawk).
        function window_of(t,   i) {
            for (i = 1; i <= nw; i++) if (t >= ws[i] && t <= we[i]) return i
            return 0
        }
        function reason(cid,   line, r) {
            r = ""
            while ((getline line < errfile) > 0) {
                if (r == "" && index(line, cid)) r = line
            }
            close(errfile)
            if (r == "") return "no answer"
            if (match(r, /received .SIP\/2\.0 [0-9]+[^'\'']*/)) return substr(r, RSTART + 10, RLENGTH - 10)
            if (match(r, /[Tt]imeout[^,.]*/)) return substr(r, RSTART, RLENGTH)
            return substr(r, 1, 100)
        }
        FILENAME == ARGV[1] { nw++; id[nw] = $1; kind[nw] = $2; ws[nw] = $3; we[nw] = $6; next }
        FILENAME == ARGV[2] && $1 == "start" { placed++; if ($2 + 0 > maxc) maxc = $2 + 0; t[$2] = when($5, $6); user[$2] = $3; cid[$2] = $4; next }
        FILENAME == ARGV[2] && $1 == "answered" { answered[$2] = 1; nans++; next }
        FILENAME == ARGV[2] && $1 == "ok" { ok[$2] = 1; nok++; next }
        FILENAME == ARGV[3] && $1 == "rstart" { if ($2 + 0 > maxr) maxr = $2 + 0; rt[$2] = when($5, $6); ruser[$2] = $3; next }
        FILENAME == ARGV[3] && $1 == "rok" { rok[$2] = 1; next }
        END {
            for (c in t) {
                if (c in ok) continue
                w = window_of(t[c])
                if (w) { inwin[w]++; explained++ } else unexplained++
                line[c] = sprintf("  call %5d to %s at +%.1fs (%s): %s; %s", c, user[c], t[c] - t0,
                    hms(t[c]), (c in answered) ? "answered, BYE failed" : reason(cid[c]),
                    w ? sprintf("window %d (%s)", id[w], kind[w]) : "OUTSIDE every window: unexplained")
            }
            rplaced = 0; rfailed = 0; rinflight = 0
            for (c in rt) {
                if (c in rok) { rplaced++; continue }
                if (rt[c] > cutoff) { rinflight++; continue }
                rplaced++; rfailed++
                w = window_of(rt[c])
                if (w) { rinwin[w]++; explained++ } else unexplained++
                rline[c] = sprintf("  REGISTER %5d of %s at +%.1fs (%s): no 200; %s", c, ruser[c],
                    rt[c] - t0, hms(rt[c]),
                    w ? sprintf("window %d (%s)", id[w], kind[w]) : "OUTSIDE every window: unexplained")
            }
            printf "calls placed %d, answered %d, completed %d, failed %d\n", placed, nans, nok, placed - nok
            for (i = 1; i <= maxc; i++) if (i in line) print line[i]
            printf "phone REGISTER refreshes: %d, failed %d (%d still in flight at the end, not counted)\n",
                rplaced, rfailed, rinflight
            for (i = 1; i <= maxr; i++) if (i in rline) print rline[i]
            print "failures per window:"
            for (i = 1; i <= nw; i++)
                printf "  window %2d %-12s +%6.1fs .. +%6.1fs: %d call(s), %d REGISTER(s)\n", id[i], kind[i],
                    ws[i] - t0, we[i] - t0, inwin[i], rinwin[i]
            printf "losses explained by a window: %d, unexplained: %d\n", explained, unexplained
            printf "@@ %d %d\n", unexplained + 0, placed + 0
        }' "$windows" "$calls" "$regs")
    grep -v '^@@' <<<"$out"
    read -r _ SOAK_UNEXPLAINED SOAK_PLACED < <(grep '^@@' <<<"$out")
}

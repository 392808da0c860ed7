/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stats.h - the daemon's counters, exported by `sipkeep metrics`.
 *
 * One struct sk_stats lives in main.c's daemon context and is handed down
 * by pointer (router_env, regagent_env, flow_params, listen_open); any of
 * those pointers may be NULL (unit tests), so modules count through
 * SK_STAT_INC, which skips a NULL.  Plain uint64 fields: the daemon is
 * single-threaded, and a 64-bit counter does not wrap in practice.
 *
 * What each counter means (the metric name is in brackets):
 */
#ifndef SIPKEEP_CORE_STATS_H
#define SIPKEEP_CORE_STATS_H

#include <stdint.h>

/* What failed a flow first since it last worked, for the recoveries by
 * cause (a flow reports it, core only names the slots). */
enum sk_down_cause {
    SK_DOWN_CONNECTION, /* the connection could not be made or was lost */
    SK_DOWN_KEEPALIVE,  /* no pong / keep-alive failed (UDP: any failure while ACTIVE) */
    SK_DOWN_REGISTER,   /* the REGISTER failed or timed out */
    SK_DOWN_OTHER,      /* 430 Flow Failed, a send or memory failure */
    SK_DOWN_NCAUSES
};

struct sk_stats {
    /* A 2xx to one of sipkeep's own upstream REGISTERs (de-registrations
     * included) [sipkeep_registrations_total{result="ok"}]. */
    uint64_t reg_ok;
    /* An upstream REGISTER that failed: a final response >= 300 other than
     * a 401/407 challenge (that one is the phone's to answer), or no final
     * response in 32 s [sipkeep_registrations_total{result="failed"}]. */
    uint64_t reg_failed;
    /* CRLF keep-alive pings written to a flow [sipkeep_keepalives_sent_total]. */
    uint64_t ka_sent;
    /* Pings whose pong did not come back in time, each failing its flow
     * (RFC 5626 §4.4.1) [sipkeep_keepalives_lost_total]. */
    uint64_t ka_lost;
    /* A flow that had failed and works again (§4.5 success after at least
     * one failure) [sipkeep_flow_recoveries_total]. */
    uint64_t flow_recoveries;
    /* The same by what had failed the flow first, indexed by enum
     * sk_down_cause [sipkeep_flow_recoveries_by_cause_total{cause}]. */
    uint64_t flow_recoveries_by_cause[SK_DOWN_NCAUSES];
    /* SIP messages: datagrams from / to phones, and messages read from /
     * written to flows (keep-alives not included)
     * [sipkeep_messages_total{direction, side}]. */
    uint64_t msg_ua_in;
    uint64_t msg_ua_out;
    uint64_t msg_flow_in;
    uint64_t msg_flow_out;
    /* Messages dropped as unparsable: from a phone or a flow, and phone
     * datagrams over the size limit [sipkeep_parse_errors_total]. */
    uint64_t parse_errors;
    /* Messages refused by policy: a source outside ua.allow (dropped), a
     * REGISTER for a domain no service has (404), a request from a phone
     * without a registration (403) [sipkeep_policy_drops_total]. */
    uint64_t policy_drops;
    /* TLS handshakes completed on flows (Happy Eyeballs partners and
     * failback connections included), and those that resumed the edge's
     * cached session (RFC 8446 §2.2) [sipkeep_tls_handshakes_total{resumed}]. */
    uint64_t tls_handshakes;
    uint64_t tls_resumed;
};

/* Counts one event in a stats struct that may be NULL. */
#define SK_STAT_INC(stats, field)   \
    do {                            \
        if (stats)                  \
            (stats)->field++;       \
    } while (0)

#endif

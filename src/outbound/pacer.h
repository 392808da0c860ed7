/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pacer.h - recovery pacing (issue 14): a connection rate per edge
 * address, so that the flows that lost one edge together (it restarted,
 * a link dropped) do not all come back in the same instant.  RFC 5626 §4.5
 * row 0 makes the first retry after the death of a working flow immediate;
 * with 10,000 flows on one edge that is 10,000 TCP/TLS handshakes and
 * REGISTERs at once (the avalanche draft-schott-sip-avors describes).
 *
 * One pacer per daemon (the regagent's), shared by every flow.  For each
 * edge address (family, address and port) it keeps a token bucket in its
 * virtual-schedule form (GCRA): `burst` connections go at once, the rest
 * get slots 1/rate apart, each jittered inside its own slot, never before
 * it.  A lone failure therefore reconnects at once, as before.  A server's
 * Retry-After (a 503 from that edge) holds every later slot at that
 * address until it has passed (pacer_hold); the registration agent holds
 * the REGISTERs of working flows to that address by it too.  The entry
 * also remembers what was said about the edge (pacer_note_once), so that a
 * fact of the edge, e.g. its certificate expiring, is logged once per edge
 * and not once per flow.
 *
 * Only retries are paced (flow.c asks for a slot when the flow has failed
 * since it last worked); a new phone's first flow is not, so a storm of
 * first REGISTERs is not slowed.  Times are the loop's milliseconds.  Not
 * thread-safe (one loop).  Entries of edges whose schedule, hold and notes
 * all lie in the past are reused, so the table stays as small as the set
 * of edges being recovered (or noted) at once. */
#ifndef SIPKEEP_OUTBOUND_PACER_H
#define SIPKEEP_OUTBOUND_PACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* The rate and burst come from recovery.connect_rate and
 * recovery.connect_burst (config.h says why 200/s and 20). */

struct pacer;

/* Returns 0 or -ENOMEM. */
int pacer_new(struct pacer **out);
/* NULL is fine. */
void pacer_free(struct pacer *p);

/* Reserves the next connection slot to addr at now_ms for a bucket of
 * rate connections per second (0: no pacing, returns 0) and burst
 * capacity burst (0 counts as 1), and returns how many ms from now the
 * connection may start (0: at once).  A delayed slot is jittered by a
 * uniform share r of one slot's length (rand.h: 0 gives the slot's start)
 * and rounded up, so a connection never starts before its slot.  A hold
 * (pacer_hold) in force moves the slot past its end.  Without memory for
 * a new edge's entry: 0 (the connection is not held back). */
uint64_t pacer_reserve(struct pacer *p, const struct sockaddr *addr, unsigned rate,
                       unsigned burst, uint64_t now_ms, uint32_t r);

/* The edge at addr asked at now_ms for a pause (Retry-After) until
 * until_ms: no slot at addr starts before then (a later hold extends it,
 * an earlier one changes nothing).  Without memory: ignored (each flow
 * still honours its own Retry-After). */
void pacer_hold(struct pacer *p, const struct sockaddr *addr, uint64_t now_ms,
                uint64_t until_ms);

/* The end of the hold at addr when it lies after now_ms, else 0.  A flow
 * whose slot comes while a newer hold is in force asks again. */
uint64_t pacer_held_until(const struct pacer *p, const struct sockaddr *addr,
                          uint64_t now_ms);

/* The length of the hold at addr as the edge asked for it when it was set
 * or last extended (until_ms - now_ms of that pacer_hold), 0: none.  The
 * span over which the REGISTERs that fell due during it are spread after
 * it, so they leave at about the rate they fell due. */
uint64_t pacer_hold_len(const struct pacer *p, const struct sockaddr *addr);

/* Whether `what` (a NUL-terminated key, e.g. the TLS server name) is new
 * at addr or was last noted period_ms or more before now_ms: then it is
 * noted as of now_ms and true is returned, else false.  For a warning
 * about the edge that each of its flows would otherwise repeat.  Without
 * memory (or p NULL): true (a repeated warning rather than a lost one). */
bool pacer_note_once(struct pacer *p, const struct sockaddr *addr, const char *what,
                     uint64_t now_ms, uint64_t period_ms);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regstate.h - the registrations sipkeep made for its legacy UAs, kept in
 * state_dir so that a restarted sipkeep can register them again upstream
 * before each UA's next refresh arrives (issue 4 item 6).
 *
 * One record per binding, keyed by AOR + the UA's current Contact URI (a
 * phone that moves gets its old record deleted and a new one; records of
 * one phone under several URIs, written before issue 11 keyed bindings by
 * AOR + Contact host, restore as one binding, the rest dropped): the service, the UA's address (source, and our address it
 * sent to), the instance-id, the UA's Contact element, the UA's last
 * REGISTER as it sent it WITHOUT secrets (Authorization and
 * Proxy-Authorization are removed before it is stored: neither the store
 * nor the file is a credential store), and the wall-clock time the UA's
 * own registration lapses.  A restart re-registers a binding only while
 * that time is ahead.  The REGISTER is the binding's own buffer, shared
 * (core/rcbuf.h), when it holds no credentials: each phone's REGISTER is
 * in memory once (issue 14 item 4: 10,000 phones kept two copies).
 *
 * Storage: STATE_DIR/registrations, written as a whole (tmp file, fsync,
 * rename, fsync of the directory; mode 0600), so a crash leaves the old or
 * the new file.  Writes are batched: regstate_put/regstate_del only mark
 * the store dirty and arm one flush timer (REGSTATE_FLUSH_MS); a refresh
 * that changes nothing material (only Via/CSeq/Call-ID/Contact lines of the
 * REGISTER, or an expiry that moved less than half the granted interval)
 * does not even do that, and one that only moves the expiry further waits
 * for REGSTATE_LAZY_FLUSH_MS.  So 10,000 UAs refreshing never cost an
 * fsync each, and at most one rewrite a minute (about 6 MB for 10,000
 * bindings).  The owner flushes once more at clean exit (regstate_flush).
 *
 * File format (text; every field on its own line, in this order; the
 * REGISTER length-prefixed because it holds CRLFs):
 *
 *   sipkeep-regstate 2
 *   rec
 *   svc NAME
 *   src ADDR:PORT          ([v6]:port for IPv6)
 *   local ADDR:PORT
 *   exp UNIX-SECONDS
 *   inst urn:uuid:...
 *   aor URI
 *   curi URI
 *   contact CONTACT-ELEMENT
 *   reg LENGTH
 *   <LENGTH bytes>
 *   end
 *   ... more records
 *
 * Version 2 (issue 14) stores the UA's REGISTER; version 1, still loaded,
 * stored the upstream REGISTER sipkeep made from it.  Either is a REGISTER
 * of the AOR whose Via, Contact, Route, Call-ID and CSeq a restore
 * rebuilds, so both restore the same way (regagent_restore.c).  A sipkeep
 * older than version 2 ignores a version-2 file (its phones register again
 * at their next refresh).
 *
 * The file is untrusted input: it is parsed with hard limits and any
 * problem makes the whole file ignored (reported with its line), never a
 * crash.  One thread (the event loop); no locking.
 */
#ifndef SIPKEEP_STATE_REGSTATE_H
#define SIPKEEP_STATE_REGSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/loop.h"
#include "core/rcbuf.h"

#define REGSTATE_FILE "registrations"
/* The first line of the file this code writes, and of the older form it
 * still loads. */
#define REGSTATE_MAGIC "sipkeep-regstate 2"
#define REGSTATE_MAGIC_V1 "sipkeep-regstate 1"
/* Largest file accepted on load (-EFBIG otherwise). */
#define REGSTATE_FILE_MAX (64L * 1024 * 1024)
/* Most records kept; more are refused (-ENOSPC). */
#define REGSTATE_MAX_RECORDS 100000
/* Longest one-line field value (service, address, URIs, Contact). */
#define REGSTATE_FIELD_MAX 1024
/* Longest stored REGISTER. */
#define REGSTATE_REG_MAX 16384
/* Delay between the first change and the write that carries it. */
#define REGSTATE_FLUSH_MS 5000u
/* The same when only expiries moved (by more than half the interval). */
#define REGSTATE_LAZY_FLUSH_MS 60000u

/* One binding's record.  In records handed out by the store, the strings
 * belong to the store and live until the record is replaced or deleted. */
struct regstate_rec {
    const char *service;            /* cfg_service name */
    union sockaddr_ip ua_src;       /* the UA (AF_INET or AF_INET6) */
    union sockaddr_ip ua_local;     /* our address the UA sent to */
    int64_t expires_at;             /* Unix seconds the UA's registration lapses */
    const char *instance;           /* "urn:uuid:..." */
    const char *aor;                /* To URI as the UA wrote it (key) */
    const char *contact_uri;        /* the UA's Contact URI (key) */
    const char *contact;            /* the UA's Contact element */
    const char *reg;                /* the UA's REGISTER, no credentials */
    size_t reg_len;
    /* regstate_put: when set, the REGISTER is this buffer's bytes (reg and
     * reg_len are ignored) and the store keeps a reference to it, not a
     * copy, unless it holds credentials (then a copy without them).  In
     * records handed out: the store's buffer of reg. */
    struct rcbuf *reg_buf;
};

struct regstate;

/* Opens the store of state_dir (which must exist) and loads its file.  A
 * missing file gives an empty store.  A file that cannot be read or parsed
 * is reported (log_warn with the reason and line) and ignored: the store
 * starts empty and the next flush replaces it.  loop (may be NULL: no
 * timer, the caller flushes) runs the batched flush.
 * Returns 0 and *out, or -EINVAL (no state_dir) / -ENOMEM. */
int regstate_open(struct regstate **out, const char *state_dir, struct loop *loop);

/* Frees the store without writing (call regstate_flush first to keep
 * pending changes).  NULL is a no-op. */
void regstate_free(struct regstate *s);

/* Inserts or replaces the record of (r->aor, r->contact_uri); every string
 * is copied, the REGISTER too unless r->reg_buf is shared (above).
 * Authorization and Proxy-Authorization header lines are removed from
 * r->reg before it is stored.  granted_s: the interval the UA
 * was granted, only to decide whether a later expiry is worth a write.
 * Returns 0, -EINVAL (a field empty, too long or holding a control
 * character; an address that is not IPv4/IPv6), -ENOSPC, -ENOMEM; on error
 * the store is unchanged. */
int regstate_put(struct regstate *s, const struct regstate_rec *r, uint32_t granted_s);

/* The record of (aor, contact_uri), or NULL. */
const struct regstate_rec *regstate_get(const struct regstate *s, const char *aor,
                                        const char *contact_uri);

/* Moves the expiry of an existing record (a refresh); no-op when absent. */
void regstate_set_expiry(struct regstate *s, const char *aor, const char *contact_uri,
                         int64_t expires_at, uint32_t granted_s);

/* Removes the record of (aor, contact_uri); no-op when absent. */
void regstate_del(struct regstate *s, const char *aor, const char *contact_uri);

/* Iterates: prev NULL gives the first record, NULL means no more.  The
 * store must not change during a walk. */
const struct regstate_rec *regstate_next(const struct regstate *s,
                                         const struct regstate_rec *prev);

size_t regstate_count(const struct regstate *s);

/* Writes the file now if anything changed since the last write.  Returns 0
 * or -errno of the failed write/fsync/rename (the store stays dirty). */
int regstate_flush(struct regstate *s);

/* Parses a whole file image buf[0..len) and calls cb for each record (its
 * strings valid during the call; cb returns 0 to go on, else the parse
 * stops with that value).  Returns 0, the callback's value, or -EBADMSG
 * / -EFBIG with "line N: reason" in err (errsz > 0).  Exposed for the
 * fuzz target and tests. */
int regstate_parse(const char *buf, size_t len,
                   int (*cb)(const struct regstate_rec *r, void *arg), void *arg,
                   char *err, size_t errsz);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rroute.h - Route, Record-Route and the flow token of a dialog, and where
 * a request to a phone goes.
 *
 * Route (RFC 3261 §16.4): every request sipkeep relays, from a phone or
 * from a flow, loses the top Route values that name sipkeep: its listen
 * addresses or the local address the phone sent to (ua->local; in
 * transparent mode the intercepted destination), with or without port,
 * ";lr", transport, and any Route URI carrying our Record-Route parameter
 * "skf".  Only the top contiguous values go, and nothing after a value
 * with "skf": sipkeep puts one Record-Route into a dialog, so whatever
 * follows it is another proxy's (e.g. the edge's, which in transparent
 * mode may have the very address the phone sends to).
 *
 * Record-Route (RFC 3261 §16.6 item 4; RFC 5626 §5.3): on dialog-forming
 * requests sipkeep adds "<sip:LOCAL;lr;skf=TOKEN>", LOCAL being where the
 * phone reaches it over UDP (ua->local), so the phone's in-dialog requests
 * come back to sipkeep whatever transport the edge's Record-Route names.
 * TOKEN = "<reg-id>.<16 hex>": the reg-id of the flow the dialog uses and
 * a truncated HMAC-SHA256 keyed with the binding's instance-id (persisted,
 * never shown to the phone) over the reg-id and the phone's IP address.
 * It is checked statelessly on the phone's in-dialog requests: a phone
 * cannot make a token for another phone (other key) nor for another IP.
 *
 * Requests to the phone (RFC 3261 §16.5, §16.6): to the Request-URI (the
 * Contact the phone registered) when its host is a numeric IP equal to the
 * phone's source IP, or inside ua.allow while the phone is not behind
 * another NAT (its REGISTER's Via names the address it came from), and it
 * is reachable over UDP; otherwise to the phone's source address.
 *
 * Everything here reads untrusted bytes with bounded lengths; only the NAT
 * check allocates (a parsed message, freed before it returns).
 */
#ifndef SIPKEEP_PROXY_RROUTE_H
#define SIPKEEP_PROXY_RROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config/config.h"
#include "core/addr.h"
#include "core/slice.h"
#include "sip/msg.h"

/* Our Record-Route URI parameter carrying the token. */
#define RROUTE_PARAM "skf"
/* "<reg-id>.<16 hex>" and a NUL (reg-id: 1..CFG_MAX_OUTBOUND_PROXIES). */
#define RROUTE_TOKEN_MAX 32
/* A Record-Route value: "<sip:[v6%scope]:65535;lr;skf=TOKEN>" and a NUL. */
#define RROUTE_RR_MAX (ADDR_STR_MAX + RROUTE_TOKEN_MAX + 24)

/* Writes the token for flow reg_id (1..CFG_MAX_OUTBOUND_PROXIES) of the
 * binding whose instance-id is key, for the phone at IP phone (port
 * ignored; AF_INET or AF_INET6), NUL-terminated, into out.  Returns 0,
 * -EINVAL (bad arguments, another family), -ENOSPC, -EIO (HMAC failed). */
int rroute_token(const char *key, unsigned reg_id, const struct sockaddr *phone, char *out,
                 size_t outsz);

/* Checks token (as written in the URI) against key and the phone's IP.
 * Returns 0 and *reg_id, -EBADMSG (not "<reg-id>.<16 hex>" with reg-id in
 * 1..CFG_MAX_OUTBOUND_PROXIES), -EACCES (the MAC does not verify: forged,
 * or made for another phone), -EINVAL, -EIO.  The MAC is compared in
 * constant time. */
int rroute_verify(const char *key, struct slice token, const struct sockaddr *phone,
                  unsigned *reg_id);

/* Writes our Record-Route value "<sip:LOCAL;lr;skf=TOKEN>" for local (the
 * address the phone sends to, port included).  Returns 0, -EINVAL,
 * -ENOSPC. */
int rroute_rr_value(const struct sockaddr *local, const char *token, char *out, size_t outsz);

/* Whether request m forms a dialog in the sense of RFC 5626 §4.3 (its
 * Contact gets "ob"): INVITE, SUBSCRIBE or REFER without a To tag. */
bool rroute_dialog_forming(const struct sipmsg *m);

/* Whether sipkeep Record-Routes m (a request): INVITE, SUBSCRIBE, REFER
 * and NOTIFY without a To tag (dialog-forming), and every NOTIFY: the
 * first NOTIFY of a subscription can create the dialog at the subscriber
 * (RFC 6665 §4.1.2.4) though it carries a To tag, it cannot be told apart
 * statelessly, and a Record-Route in a mid-dialog request is ignored
 * (RFC 3261 §12.2.1.2, §12.2.2). */
bool rroute_wants_rr(const struct sipmsg *m);

/* Whether URI text uri (sip/sips) has a host that names sipkeep: a listen
 * address of cfg, or, when with_local, ua_local's address; the URI's port,
 * when present, must equal that address's port.  Parameters are ignored. */
bool rroute_uri_names_us(const struct cfg *cfg, const struct sockaddr *ua_local,
                         bool with_local, struct slice uri);

/* What rroute_pop() found. */
struct rroute_popped {
    unsigned removed;    /* Route values removed */
    bool left;           /* Route values remain after them */
    struct slice token;  /* skf of the first removed value carrying one,
                          * pointing into m; SLICE_NULL when none */
};

/* Records in ed (for m) the removal of the top Route values naming
 * sipkeep (see above; ua_local is the address the phone sent to, or for a
 * request from a flow the binding's).  A header line losing only some of
 * its values is replaced by the rest, a slice of m: no buffer needed.
 * Returns 0 and *out, or -ENOSPC (no room for the edit), -EINVAL. */
int rroute_pop(struct sipmsg_edits *ed, const struct sipmsg *m, const struct cfg *cfg,
               const struct sockaddr *ua_local, struct rroute_popped *out);

/* Where a request with Request-URI ruri goes to reach the phone whose
 * datagrams come from src: *dst = the URI's IP and port (5060 when
 * absent) when the URI asks for no transport but UDP and its host is a
 * numeric IP (of src's family) equal to src's, or inside ua.allow with the
 * phone not behind another NAT: the top Via of reg (the phone's REGISTER
 * as it sent it; SLICE_NULL: unknown, not checked) has src's IP as its
 * sent-by (RFC 3261 §18.2.1: a Via that does not match the source is one
 * a NAT rewrote, so a private Contact behind it is out of reach); else
 * *dst = *src.  Returns true when the Request-URI was used. */
bool rroute_ua_target(const struct cfg *cfg, const union sockaddr_ip *src, struct slice ruri,
                      struct slice reg, union sockaddr_ip *dst);

/* Whether the response source from may speak for the phone at src whose
 * registered Contact is contact (may be NULL; reg as above): the same IP
 * as src (any port), or exactly the address rroute_ua_target() gives for
 * contact. */
bool rroute_from_phone(const struct cfg *cfg, const union sockaddr_ip *src,
                       const char *contact, struct slice reg, const struct sockaddr *from);

#endif

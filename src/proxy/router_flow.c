/* SPDX-License-Identifier: GPL-2.0-or-later */
/* router_flow.c - the service -> phone direction of the router (see
 * router.h, router_int.h): requests from a flow relayed to the phone
 * (with UDP retransmission from a reliable flow), responses from a flow
 * relayed back to the phone, and the transaction table's senders that
 * retransmit to a phone or send sipkeep's own CANCEL/ACK on a flow. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "outbound/regagent.h"
#include "proxy/router_int.h"
#include "proxy/rroute.h"
#include "proxy/txn.h"
#include "sip/msg.h"

/* §16.6 item 10, §17.1.1.2, §17.1.2.2: a stateful proxy forwarding over
 * UDP retransmits.  Only for requests that came on a reliable flow: on a
 * UDP flow the edge retransmits itself, and each copy is relayed as is.
 * No ACK: nothing answers it. */
static void start_retx(struct router *r, struct binding *b, unsigned idx,
                       const struct sipmsg *m, const char *branch, const char *buf, size_t len)
{
    struct sockaddr_storage local;
    const char *tp;
    char key[TXN_BRANCH_MAX];
    int err;

    if (slice_eq(m->method, SLICE_LIT("ACK")) || binding_flow_via(b, idx, &local, &tp) < 0 ||
        strcmp(tp, "UDP") == 0)
        return;
    err = router_retx_key(slice_cstr(branch), m->method, key, sizeof(key));
    if (!err)
        err = txn_put_retx(r->txns, key, slice_eq(m->method, SLICE_LIT("INVITE")),
                           binding_id(b), buf, len);
    if (err < 0)
        log_warn("relay_retx_failed", "binding=%" PRIu32 " err=\"%s\"", binding_id(b),
                 strerror(-err));
}

/* txn_retx_send_fn: a retransmission to the UA of binding id, if it is
 * still there (its ingress may be gone with it). */
int router_retx_send_ua(uint32_t id, const char *buf, size_t len, void *arg)
{
    struct router *r = arg;
    struct binding *b = binding_by_id(r->ra, id);
    const char *sp1, *sp2;
    struct ua_addr to;

    if (!b)
        return -ESRCH;
    /* the same target as the first copy: the Request-URI of buf's start
     * line ("METHOD SP Request-URI SP SIP/2.0", which we serialised) */
    to = *binding_ua(b);
    sp1 = memchr(buf, ' ', len);
    sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - buf)) : NULL;
    if (sp2)
        rroute_ua_target(r->env.cfg, &binding_ua(b)->src,
                         (struct slice){ sp1 + 1, (size_t)(sp2 - sp1 - 1) }, router_ua_register(b),
                         &to.src);
    r->env.send_ua(&to, buf, len, r->env.arg);
    return 0;
}

static int flow_request_edits(struct sipmsg_edits *ed, const struct sipmsg *m, const char *via,
                              char *mf, size_t mfsz)
{
    int err = router_decrement_max_forwards(ed, m, mf, mfsz);

    if (!err)
        err = sipmsg_edit_add(ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"), slice_cstr(via));
    return err;
}

void router_flow_request(struct router *r, struct binding *b, unsigned idx,
                         const struct sipmsg *m)
{
    const struct ua_addr *ua = binding_ua(b);
    struct sipvia_top top;
    struct sipmsg_edits ed;
    struct rroute_popped pop;
    struct ua_addr to = *ua;
    char via[200], mf[8], host[ADDR_STR_MAX], ours[TXN_BRANCH_MAX], rr[RROUTE_RR_MAX], *buf;
    char tag[32];
    size_t n;
    int err;

    if (sipvia_top(m, &top) < 0)
        return;
    snprintf(tag, sizeof(tag), INBOUND_TAG "%" PRIu32 ".%u.", binding_id(b), idx);
    sipvia_branch(ours, sizeof(ours), tag,
                  router_hash64(r->secret, slice_present(top.branch) ? top.branch : top.elem,
                                NULL, 0));
    snprintf(via, sizeof(via), "SIP/2.0/UDP %s;rport;branch=%s",
             addr_format((const struct sockaddr *)&ua->local, true, host, sizeof(host)), ours);
    sipmsg_edits_init(&ed, m, 0);
    /* §16.4: our Record-Route comes back as the last Route of the far
     * side's route set */
    err = rroute_pop(&ed, m, r->env.cfg, (const struct sockaddr *)&ua->local, &pop);
    if (!err)
        err = flow_request_edits(&ed, m, via, mf, sizeof(mf));
    if (err == -ELOOP) {
        struct router_flow_dst fd = { b, idx };
        router_reply_with(m, 483, "Max-Forwards reached 0", router_send_on_flow, &fd);
        return;
    }
    if (!err)
        err = router_add_record_route(&ed, m, b, idx, rr, sizeof(rr));
    /* §16.5-16.6: to the Request-URI (the registered Contact) when that
     * is the phone, else where its REGISTER came from */
    rroute_ua_target(r->env.cfg, &ua->src, m->ruri, router_ua_register(b), &to.src);
    buf = err ? NULL : malloc(ROUTER_MSG_MAX);
    if (!err)
        err = buf ? sipmsg_serialize(m, &ed, buf, ROUTER_MSG_MAX, &n) : -ENOMEM;
    if (!err) {
        r->env.send_ua(&to, buf, n, r->env.arg);
        start_retx(r, b, idx, m, ours, buf, n);
    }
    free(buf);
    if (err < 0)
        log_warn("flow_request_dropped", "binding=%" PRIu32 " err=\"%s\"", binding_id(b),
                 strerror(-err));
    else
        log_debug("flow_request_relayed", "method=%.*s binding=%" PRIu32, (int)m->method.n,
                  m->method.p, binding_id(b));
}

/* txn_senders.to_flow: sipkeep's own CANCEL or ACK of an INVITE. */
int router_txn_send_flow(uint32_t id, unsigned idx, const char *buf, size_t len, void *arg)
{
    struct router *r = arg;
    struct binding *b = binding_by_id(r->ra, id);

    return b ? binding_flow_send(b, idx, buf, len) : -ESRCH;
}

/* flow_response's sender: the copy sent to the UA is also the one Timer G
 * retransmits (txn_response_relayed). */
struct rsp_dst {
    struct router_ua_dst ua;
    struct slice branch;
};

static int send_rsp_to_ua(void *ctx, const char *buf, size_t len)
{
    struct rsp_dst *d = ctx;

    router_send_to_ua(&d->ua, buf, len);
    txn_response_relayed(d->ua.r->txns, d->branch, buf, len);
    return 0;
}

void router_flow_response(struct router *r, const struct sipmsg *m)
{
    struct sipvia_top top;
    const struct txn *t;
    struct sipmsg_edits ed;
    struct rsp_dst dst;
    int err = 0;

    if (sipvia_top(m, &top) < 0 || !(t = txn_get(r->txns, top.branch))) {
        log_info("flow_response_dropped", "status=%u reason=\"no transaction\"", m->status);
        return;
    }
    /* Timer C, and what sipkeep answers or ACKs itself (txn.h) */
    if (!txn_response_in(r->txns, top.branch, m)) {
        log_debug("flow_response_absorbed", "status=%u", m->status);
        return;
    }
    dst = (struct rsp_dst){ { r, &t->ua }, top.branch };
    sipmsg_edits_init(&ed, m, 0);
    sipmsg_edit_remove_all(&ed, SIPMSG_HDR_VIA);
    /* Adds at the same place come out in the order made: first Via first. */
    for (unsigned i = 0; i < t->nvias && !err; i++)
        err = sipmsg_edit_add(&ed, SIPMSG_POS_TOP, 0, SLICE_LIT("Via"), t->vias[i]);
    if (!err)
        err = router_send_edited(m, &ed, send_rsp_to_ua, &dst);
    if (err < 0)
        log_warn("flow_response_dropped", "status=%u err=\"%s\"", m->status, strerror(-err));
}

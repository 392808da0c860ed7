/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nfqi.c - NFQUEUE glue for transparent mode (see nfqi.h). */
#include "intercept/nfqi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <libnfnetlink/libnfnetlink.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "core/log.h"

/* Room for the largest packet taken plus headers, in one recv. */
#define NFQI_BUF (PKT_MAX_PAYLOAD + 4096u)
/* Socket receive buffer for queued packets: the default (~200 KiB, some
 * 300 SIP datagrams) overflows in a burst, and every packet whose message
 * does not fit is accepted unseen (fail-open), i.e. may reach the provider
 * directly.  2 MiB holds a queue's worth (1024) of full-size datagrams;
 * set with SO_RCVBUFFORCE (CAP_NET_ADMIN), so net.core.rmem_max does not cap it. */
#define NFQI_RCVBUF (2u * 1024 * 1024)

struct nfqi {
    struct loop *loop;
    struct loop_fd lfd; /* the loop callback gets &q->lfd */
    struct nfq_handle *h;
    struct nfq_q_handle *qh;
    pkt_wanted_fn wanted;
    nfqi_take_fn take;
    void *arg;
    struct nfqi_counts counts;
    char buf[NFQI_BUF];
};

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *m, struct nfq_data *nfa,
                     void *data)
{
    struct nfqi *q = data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    unsigned char *p = NULL;
    int n = nfq_get_payload(nfa, &p);
    struct pkt_udp4 pk;
    enum pkt_reason why = PKT_TRUNCATED;
    enum pkt_verdict v = PKT_ACCEPT;

    (void)m;
    if (!ph)
        return 0;
    if (n > 0)
        v = pkt_decide(p, (size_t)n, q->wanted, q->arg, &pk, &why);
    if (v == PKT_ACCEPT && why != PKT_NOT_SIP && why != PKT_UNWANTED)
        log_warn("nfq_pass", "reason=%s len=%d", pkt_reason_str(why), n);
    /* Verdict first: the take callback may send (and so run) for a while. */
    if (nfq_set_verdict(qh, ntohl(ph->packet_id), v == PKT_TAKE ? NF_DROP : NF_ACCEPT,
                        0, NULL) < 0)
        q->counts.errors++;
    if (v == PKT_TAKE) {
        q->counts.taken++;
        q->take(&pk, q->arg);
    } else {
        q->counts.accepted++;
    }
    return 0;
}

static void on_readable(struct loop_fd *h, unsigned events)
{
    struct nfqi *q = (struct nfqi *)((char *)h - offsetof(struct nfqi, lfd));
    int fd = nfq_fd(q->h);

    (void)events;
    for (int i = 0; i < 64; i++) { /* bounded: let other work run */
        ssize_t n = recv(fd, q->buf, sizeof(q->buf), MSG_DONTWAIT);
        if (n < 0 && errno == ENOBUFS) {
            /* kernel dropped notifications; those packets were accepted
             * (fail-open) or will be */
            log_warn("nfq_overrun", "reason=\"socket buffer full\"");
            continue;
        }
        if (n <= 0)
            return;
        nfq_handle_packet(q->h, q->buf, (int)n);
    }
}

static int bind_queue(struct nfqi *q, uint16_t queue)
{
    q->h = nfq_open();
    if (!q->h)
        return errno ? -errno : -ENOMEM;
    q->qh = nfq_create_queue(q->h, queue, on_packet, q);
    if (!q->qh)
        return errno ? -errno : -EBUSY;
    if (nfq_set_mode(q->qh, NFQNL_COPY_PACKET, NFQI_BUF) < 0)
        return errno ? -errno : -EINVAL;
    (void)nfnl_rcvbufsiz(nfq_nfnlh(q->h), NFQI_RCVBUF); /* best effort */
    /* fail-open when the queue is full; older kernels lack it: not fatal */
    (void)nfq_set_queue_flags(q->qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
    return 0;
}

static void teardown(struct nfqi *q)
{
    if (q->qh)
        nfq_destroy_queue(q->qh);
    if (q->h)
        nfq_close(q->h);
    free(q);
}

int nfqi_open(struct nfqi **out, struct loop *l, uint16_t queue, pkt_wanted_fn wanted,
              nfqi_take_fn take, void *arg)
{
    struct nfqi *q = calloc(1, sizeof(*q));
    int rc;

    if (!q)
        return -ENOMEM;
    *q = (struct nfqi){.loop = l, .wanted = wanted, .take = take, .arg = arg};
    errno = 0;
    rc = bind_queue(q, queue);
    if (rc == 0) {
        loop_fd_init(&q->lfd, on_readable);
        rc = loop_fd_add(l, &q->lfd, nfq_fd(q->h), LOOP_READ);
    }
    if (rc < 0) {
        teardown(q);
        return rc;
    }
    *out = q;
    return 0;
}

void nfqi_free(struct nfqi *q)
{
    if (!q)
        return;
    loop_fd_del(q->loop, &q->lfd);
    teardown(q);
}

void nfqi_counts(const struct nfqi *q, struct nfqi_counts *out)
{
    *out = q->counts;
}

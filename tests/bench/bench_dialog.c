/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_dialog.c - the memory a call costs sipkeep (issue 11): 10,000
 * INVITE transactions from phones, each as the router keeps it (the
 * phone's Via stack and what a CANCEL or 408 of sipkeep's needs of the
 * INVITE as sent), then answered 200 and left until their transactions
 * end.  The dialog itself holds nothing in sipkeep: the flow it uses rides
 * in sipkeep's Record-Route token (proxy/rroute.h).  Prints the bytes per
 * ringing call, per answered call within 64*T1 of its 200, and per
 * established dialog after that, as measured by txn_bytes() (malloc
 * overhead not counted).  Time is a clock this program moves.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "proxy/txn.h"
#include "proxy/txn_int.h"
#include "sip/msg.h"

#define CALLS 10000u

static uint64_t now_ms;

static uint64_t bench_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}

/* A typical INVITE as sipkeep sends it upstream (our Via, one Route). */
static int invite_as_sent(char *buf, size_t bufsz, unsigned i)
{
    return snprintf(buf, bufsz,
                    "INVITE sip:+4930123456@sip.example.net SIP/2.0\r\n"
                    "Via: SIP/2.0/TCP 198.51.100.1:40000;rport;branch=z9hG4bKu%016x\r\n"
                    "Max-Forwards: 69\r\n"
                    "Route: <sip:edge.example.net;lr;transport=tcp>\r\n"
                    "Record-Route: <sip:192.168.1.1:5060;lr;skf=1.0123456789abcdef>\r\n"
                    "From: \"2001\" <sip:2001@sip.example.net>;tag=%08x\r\n"
                    "To: <sip:+4930123456@sip.example.net>\r\n"
                    "Call-ID: %08x-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
                    "CSeq: 102 INVITE\r\n"
                    "Contact: <sip:2001@192.168.1.20:5060;ob>\r\n"
                    "Content-Length: 0\r\n\r\n",
                    i, i, i);
}

static int answer(struct txn_table *t, unsigned i)
{
    char buf[1024], branch[40];
    struct sipmsg *m = malloc(sizeof(*m));
    int n = snprintf(buf, sizeof(buf),
                     "SIP/2.0 200 OK\r\n"
                     "Via: SIP/2.0/TCP 198.51.100.1:40000;rport;branch=z9hG4bKu%016x\r\n"
                     "From: \"2001\" <sip:2001@sip.example.net>;tag=%08x\r\n"
                     "To: <sip:+4930123456@sip.example.net>;tag=far%08x\r\n"
                     "Call-ID: %08x-2a3d-4e5f-8a9b-0c1d2e3f4a5b@192.168.1.20\r\n"
                     "CSeq: 102 INVITE\r\n"
                     "Content-Length: 0\r\n\r\n",
                     i, i, i, i);
    int err = m ? sipmsg_parse(m, buf, (size_t)n, 0) : -1;

    snprintf(branch, sizeof(branch), "z9hG4bKu%016x", i);
    if (!err)
        txn_response_in(t, slice_cstr(branch), m);
    free(m);
    return err;
}

int main(void)
{
    struct loop_clock clk = { bench_now, NULL };
    /* Two Vias, as a phone behind a PBX or with rport filled in. */
    const struct slice vias[2] = {
        SLICE_LIT("SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-524287-1---a1b2c3d4;rport=5060"),
        SLICE_LIT("SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-inner-0001"),
    };
    struct ua_addr ua = { .src.sa.sa_family = AF_INET };
    struct txn_table *t;
    struct loop *l;
    size_t ringing, answered, established;

    now_ms = 1000000;
    if (loop_new(&l, &clk) < 0 || txn_table_new(&t, l) < 0)
        return 1;
    for (unsigned i = 0; i < CALLS; i++) {
        char branch[40], inv[1024];
        int n = invite_as_sent(inv, sizeof(inv), i);

        snprintf(branch, sizeof(branch), "z9hG4bKu%016x", i);
        if (txn_put(t, branch, true, &ua, 1, vias, 2) < 0 ||
            txn_invite_sent(t, 0, inv, (size_t)n) < 0)
            return 1;
    }
    ringing = txn_bytes(t);
    for (unsigned i = 0; i < CALLS; i++)
        if (answer(t, i) < 0)
            return 1;
    answered = txn_bytes(t);
    now_ms += 32000 + 1; /* 64*T1 after the 200s: their transactions end */
    loop_run_timers(l);
    established = txn_bytes(t);
    printf("dialog memory (%u calls, 2 phone Vias): ringing %zu B/call | answered, "
           "first 32 s %zu B/call | established dialog %zu B/call (%zu entries left; "
           "the flow rides in the Record-Route token)\n",
           CALLS, ringing / CALLS, answered / CALLS, established / CALLS, txn_count(t));
    txn_table_free(t);
    loop_free(l);
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regagent_fixture.h - what the registration agent's tests share
 * (test_regagent.c, test_regagent_life.c, test_regagent_flows.c): the
 * fixture on edge_fixture.h with what env.flow_msg was given, reading the
 * edge's messages, and the legacy UA's REGISTERs and their answers.
 * Functions are static inline: each test file uses only part of them. */
#ifndef SIPKEEP_TESTS_REGAGENT_FIXTURE_H
#define SIPKEEP_TESTS_REGAGENT_FIXTURE_H

#include <ctype.h>
#include <stdint.h>

/* No test here sends the UA more than a few messages; a lower bound than
 * fake_edge.h's default catches a runaway sooner. */
#define UA_SINK_MAX 32
/* what env.flow_msg was given */
#define FX_EXTRA_MEMBERS \
    int nflow;           \
    struct binding *flow_b; \
    unsigned flow_idx;   \
    bool flow_is_req;    \
    char flow_first[128];
#include "edge_fixture.h"

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "outbound/regagent.h"
#include "sip/msg.h"
#include "state/instid.h"
#include "state/instid_int.h"

/* ---- fixture (the rest is in edge_fixture.h) ---- */

static inline void cap_flow_msg(struct binding *b, unsigned idx, const struct sipmsg *m, void *arg)
{
    struct fx *f = arg;
    size_t n = m->start_line.n < sizeof(f->flow_first) ? m->start_line.n
                                                        : sizeof(f->flow_first) - 1;

    f->nflow++;
    f->flow_b = b;
    f->flow_idx = idx;
    f->flow_is_req = m->is_request;
    memcpy(f->flow_first, m->start_line.p, n);
    f->flow_first[n] = '\0';
}

static inline void agent_start(struct fx *f)
{
    fx_agent_start(f, cap_flow_msg, NULL);
}

static inline void agent_stop(struct fx *f)
{
    fx_agent_stop(f);
}

static inline int fx_setup_n(void **state, int nlisten)
{
    struct fx *f = fx_new("test_regagent", nlisten, "192.168.1.10", "192.168.1.1");

    edge_load_cfg(&f->edge, f->dir.state, &f->cfg);
    agent_start(f);
    *state = f;
    return 0;
}

static inline int fx_setup(void **state)
{
    return fx_setup_n(state, 1);
}

static inline int fx_teardown(void **state)
{
    struct fx *f = *state;

    agent_stop(f);
    fx_free(f);
    return 0;
}

/* ---- reading messages (NUL-terminated text; the rest is in fake_edge.h) ---- */

/* The instance URN inside a Contact value, checked for RFC 4122 form. */
static inline void instance_of(const char *contact, char *out, size_t outsz)
{
    const char *p = strstr(contact, ";+sip.instance=\"<");
    const char *e;

    if (!p)
        fail_msg("no +sip.instance in Contact %s", contact);
    p += strlen(";+sip.instance=\"<");
    e = strstr(p, ">\"");
    assert_non_null(e);
    assert_int_equal(e - p, 45);
    assert_true((size_t)(e - p) < outsz);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    assert_memory_equal(out, "urn:uuid:", 9);
    for (int i = 9; i < 45; i++) {
        if (i == 17 || i == 22 || i == 27 || i == 32)
            assert_int_equal(out[i], '-');
        else
            assert_true(isxdigit((unsigned char)out[i]) && !isupper((unsigned char)out[i]));
    }
}

/* ---- the legacy UA ---- */

#define UA_CONTACT "<sip:alice@192.168.1.10:5060>"
/* A REGISTER as a legacy phone sends it over UDP (no Content-Length). */
static inline char *mk_register(unsigned cseq, const char *contact, const char *extra)
{
    char *out = malloc(4096);
    int n = snprintf(out, 4096,
                     "REGISTER sip:example.net SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKua%u;rport\r\n"
                     "Route: <sip:192.168.1.1:5060;lr>\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.net>;tag=uatag1\r\n"
                     "To: <sip:alice@example.net>\r\n"
                     "Call-ID: ua-call-1\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "Contact: %s\r\n"
                     "Expires: 3600\r\n"
                     "User-Agent: LegacyPhone/1.0\r\n"
                     "%s"
                     "\r\n",
                     cseq, cseq, contact, extra ? extra : "");

    assert_non_null(out);
    assert_true(n < 4096);
    return out;
}

static inline void ua_send_register(struct fx *f, const char *text)
{
    struct sipmsg *m = malloc(sizeof(*m));

    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, text, strlen(text), 0), 0);
    regagent_register(f->ra, &f->cfg->services[0], m, &f->ua);
    free(m);
}

/* Cuts ";expires=N" out of a Contact value (the registrar states its own). */
static inline void strip_expires(char *contact)
{
    char *p = strstr(contact, ";expires=");

    if (p) {
        char *e = p + strlen(";expires=");
        while (*e >= '0' && *e <= '9')
            e++;
        memmove(p, e, strlen(e) + 1);
    }
}

/* The 200 a registrar with outbound gives our REGISTER req. */
static inline char *ok_for(const char *req, unsigned expires)
{
    char contact[2048], extra[4096];

    hdr_must(req, "Contact", contact, sizeof(contact));
    strip_expires(contact);
    snprintf(extra, sizeof(extra),
             "Require: outbound\r\n"
             "Flow-Timer: 20\r\n"
             "Path: <sip:edge-token@127.0.0.1;lr;ob>\r\n"
             "Supported: outbound, path\r\n"
             "Contact: %s;expires=%u\r\n"
             "Contact: <sip:alice@198.51.100.7:5060>;expires=1800\r\n",
             contact, expires);
    return mk_response(req, "200 OK", extra);
}

struct reg_state {
    int ci;                 /* connection of the flow */
    char call_id[256];      /* upstream Call-ID */
    char instance[64];
    char branch[128];
};

/* UA REGISTER CSeq 7 -> upstream -> 200 -> UA; fills st. */
static inline void register_ok(struct fx *f, struct reg_state *st)
{
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *ok, contact[2048], via[512];
    int nua = f->to_ua.n;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &st->ci);
    hdr_must(up, "Call-ID", st->call_id, sizeof(st->call_id));
    hdr_must(up, "Contact", contact, sizeof(contact));
    instance_of(contact, st->instance, sizeof(st->instance));
    hdr_must(up, "Via", via, sizeof(via));
    assert_true(param_of(via, "branch", st->branch, sizeof(st->branch)));
    ok = ok_for(up, 3600);
    edge_send(&f->edge, st->ci, ok);
    ua_wait(&f->edge, &f->to_ua, nua + 1);
    assert_memory_equal(f->to_ua.msg[nua], "SIP/2.0 200 OK\r\n", 16);
    free(ok);
    free(up);
    free(reg);
}

#define CHALLENGE "Digest realm=\"example.net\", nonce=\"4b1f, 9a\", algorithm=MD5, qop=\"auth\""

static inline bool cond_nflow(void *ctx, const void *arg)
{
    const struct fx *f = ctx;

    return f->nflow >= *(const int *)arg;
}

#endif

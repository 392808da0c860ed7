/* SPDX-License-Identifier: GPL-2.0-or-later */
/* edge_fixture.h - the fixture shared by the tests that play the world
 * around sipkeep with fake_edge.h (test_regagent*.c through
 * regagent_fixture.h, test_reg_retry.c, test_regagent_state.c,
 * test_router*.c through router_fixture.h): a fake clock, a throw-away state
 * directory, an event loop, the edge proxy's listeners, the legacy UA's
 * addresses and what the code under test sent to that UA; plus starting
 * and stopping a registration agent on it.
 *
 * A test adds its own members to struct fx by defining FX_EXTRA_MEMBERS
 * (a list of member declarations) before including this header; it may
 * also set UA_SINK_MAX (see fake_edge.h).  Functions are static inline for
 * the same reason as in fake_edge.h: each test_*.c is compiled alone and
 * uses only part of them. */
#ifndef SIPKEEP_TESTS_EDGE_FIXTURE_H
#define SIPKEEP_TESTS_EDGE_FIXTURE_H

#include "fake_edge.h"

#include <openssl/ssl.h>

#include "config/config.h"
#include "core/loop.h"
#include "outbound/regagent.h"
#include "sip/msg.h"
#include "state/instid.h"

struct fx {
    struct loop *loop;
    uint64_t now;            /* the loop's clock (fake_now) */
    struct test_dir dir;
    struct cfg *cfg;         /* loaded by the test; freed by fx_free */
    struct instid_store *ids;
    SSL_CTX *tls[CFG_MAX_SERVICES]; /* env.tls of the agent: all NULL (TCP) */
    struct regagent *ra;     /* fx_agent_start .. fx_agent_stop */
    struct ua_addr ua;       /* the legacy UA, inside ua.allow */
    struct fake_edge edge;
    struct ua_sink to_ua;    /* what env.send_ua was given */
#ifdef FX_EXTRA_MEMBERS
    FX_EXTRA_MEMBERS
#endif
};

/* env.send_ua (agent and router): arg is the struct fx. */
static inline void fx_send_ua(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    ua_sink_add(&((struct fx *)arg)->to_ua, ua, buf, len);
}

/* env.flow_msg for tests that look at no message arriving on a flow. */
static inline void fx_flow_msg_ignore(struct binding *b, unsigned idx, const struct sipmsg *m,
                                      void *arg)
{
    (void)b;
    (void)idx;
    (void)m;
    (void)arg;
}

/* A fixture with a fresh state directory under /tmp named after the test
 * (name), a loop on the fake clock (at 1000000 ms), nlisten edge listeners
 * and the UA at ua_ip:5060 talking to local_ip:5060.  No config is loaded
 * and no agent started yet.  Failures fail the test. */
static inline struct fx *fx_new(const char *name, int nlisten, const char *ua_ip,
                                const char *local_ip)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct loop_clock clk;

    assert_non_null(f);
    clk = (struct loop_clock){ fake_now, &f->now };
    f->now = 1000000;
    test_dir_make(&f->dir, name);
    assert_int_equal(loop_new(&f->loop, &clk), 0);
    edge_open(&f->edge, f->loop, nlisten);
    set_in(&f->ua.src, ua_ip, 5060);
    set_in(&f->ua.local, local_ip, 5060);
    return f;
}

/* Frees what fx_new made, the config and the instance-id store; the agent
 * (fx_agent_stop) or router must be gone already. */
static inline void fx_free(struct fx *f)
{
    instid_store_free(f->ids);
    edge_close(&f->edge);
    ua_sink_free(&f->to_ua);
    loop_free(f->loop);
    cfg_free(f->cfg);
    test_dir_remove(&f->dir);
    free(f);
}

/* Opens the instance-id store in the state directory and starts an agent
 * on f->cfg (loaded already) with flow_msg and stored registrations st
 * (may be NULL: none kept). */
static inline void fx_agent_start(struct fx *f,
                                  void (*flow_msg)(struct binding *b, unsigned idx,
                                                   const struct sipmsg *m, void *arg),
                                  struct regstate *st)
{
    struct regagent_env env = {
        .loop = f->loop, .cfg = f->cfg, .tls = f->tls, .send_ua = fx_send_ua,
        .flow_msg = flow_msg, .arg = f, .state = st,
    };

    assert_int_equal(instid_store_open(&f->ids, f->dir.state), 0);
    env.ids = f->ids;
    assert_int_equal(regagent_new(&f->ra, &env), 0);
}

/* Frees the agent and closes the instance-id store (both may be absent). */
static inline void fx_agent_stop(struct fx *f)
{
    regagent_free(f->ra);
    f->ra = NULL;
    instid_store_free(f->ids);
    f->ids = NULL;
}

/* The legacy phone of these tests: alice@example.net at 192.168.1.10:5060. */
#define FX_UA_CONTACT "<sip:alice@192.168.1.10:5060>"

/* Its REGISTER (CSeq cseq, Expires 3600, extra CRLF-terminated header
 * lines or NULL) as it sends it over UDP; malloc'd, NUL-terminated. */
static inline char *fx_ua_register_text(unsigned cseq, const char *extra)
{
    char *out = malloc(4096);
    int n;

    assert_non_null(out);
    n = snprintf(out, 4096,
                 "REGISTER sip:example.net SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKua%u;rport\r\n"
                 "Max-Forwards: 70\r\n"
                 "From: <sip:alice@example.net>;tag=uatag1\r\n"
                 "To: <sip:alice@example.net>\r\n"
                 "Call-ID: ua-call-1\r\n"
                 "CSeq: %u REGISTER\r\n"
                 "Contact: " FX_UA_CONTACT "\r\n"
                 "Expires: 3600\r\n"
                 "%s"
                 "\r\n",
                 cseq, cseq, extra ? extra : "");
    assert_true(n < 4096);
    return out;
}

/* The phone sends text (a REGISTER) to the agent for service 0. */
static inline void fx_ua_send(struct fx *f, const char *text)
{
    struct sipmsg *m = malloc(sizeof(*m));

    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, text, strlen(text), 0), 0);
    regagent_register(f->ra, &f->cfg->services[0], m, &f->ua);
    free(m);
}

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the error responses the registration agent answers itself
 * (reg_retry.c): 423 Interval Too Brief (RFC 3261 §10.2.8), 439 First Hop
 * Lacks Outbound Support (RFC 5626 §11.6), and challenges to sipkeep's own
 * re-registration after a flow recovered: digest with configured
 * credentials (never logging the password), else waiting for the UA.
 *
 * Same world as test_regagent.c (fake_edge.h: a TCP "edge" on 127.0.0.1
 * read between loop iterations, a fake clock, bounded waits). */
#include <fcntl.h>
#include <stdint.h>

#define UA_SINK_MAX 32
#include "edge_fixture.h"

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "outbound/regagent.h"
#include "sip/digest.h"
#include "sip/digest_int.h"
#include "sip/msg.h"
#include "state/instid.h"

#define PASSWORD "s3cret-Pa55"

/* Loads the config (with svc_extra) and starts an agent on it. */
static void agent_start(struct fx *f, const char *svc_extra)
{
    edge_load_cfg_extra(&f->edge, f->dir.state, svc_extra, &f->cfg);
    fx_agent_start(f, fx_flow_msg_ignore, NULL);
}

/* nlisten edge listeners: one outbound proxy (and flow) each. */
static int fx_setup_n(void **state, int nlisten)
{
    *state = fx_new("test_reg_retry", nlisten, "192.168.1.10", "192.168.1.1");
    return 0;
}

static int fx_setup(void **state)
{
    return fx_setup_n(state, 1);
}

static int fx_setup2(void **state)
{
    return fx_setup_n(state, 2);
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    fx_agent_stop(f);
    fx_free(f);
    return 0;
}

#define UA_CONTACT "<sip:alice@192.168.1.10:5060>"

static char *mk_register(unsigned cseq, const char *extra)
{
    char *out = malloc(4096);
    int n = snprintf(out, 4096,
                     "REGISTER sip:example.net SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKua%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.net>;tag=uatag1\r\n"
                     "To: <sip:alice@example.net>\r\n"
                     "Call-ID: ua-call-1\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "Contact: " UA_CONTACT "\r\n"
                     "Expires: 3600\r\n"
                     "%s"
                     "\r\n",
                     cseq, cseq, extra ? extra : "");

    assert_non_null(out);
    assert_true(n < 4096);
    return out;
}

static void ua_send_register(struct fx *f, unsigned cseq, const char *extra)
{
    char *text = mk_register(cseq, extra);
    struct sipmsg *m = malloc(sizeof(*m));

    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, text, strlen(text), 0), 0);
    regagent_register(f->ra, &f->cfg->services[0], m, &f->ua);
    free(m);
    free(text);
}

/* A 200 for req granting its Contact 3600 s; with Require: outbound when
 * outbound. */
static void send_ok(struct fx *f, int ci, const char *req, bool outbound)
{
    char contact[2048], extra[4096], *ok;

    hdr_must(req, "Contact", contact, sizeof(contact));
    snprintf(extra, sizeof(extra), "%sContact: %s;expires=3600\r\n",
             outbound ? "Require: outbound\r\nFlow-Timer: 20\r\n" : "", contact);
    ok = mk_response(req, "200 OK", extra);
    edge_send(&f->edge, ci, ok);
    free(ok);
}

static void send_rsp(struct fx *f, int ci, const char *req, const char *status,
                     const char *extra)
{
    char *r = mk_response(req, status, extra);

    edge_send(&f->edge, ci, r);
    free(r);
}

static void expect_cseq(const char *req, const char *want)
{
    char v[256];

    hdr_must(req, "CSeq", v, sizeof(v));
    assert_string_equal(v, want);
}

/* The value of auth-param name in a credentials value (quotes removed). */
static void auth_param(const char *v, const char *name, char *out, size_t outsz)
{
    char key[64];
    const char *p;
    size_t n;

    snprintf(key, sizeof(key), "%s=", name);
    for (p = strstr(v, key); p && p != v && p[-1] != ' '; p = strstr(p + 1, key))
        ;
    if (!p)
        fail_msg("no %s in %s", name, v);
    p += strlen(key);
    if (*p == '"') {
        p++;
        n = strcspn(p, "\"");
    } else {
        n = strcspn(p, ", ");
    }
    assert_true(n < outsz);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* The UA registers (CSeq 7, extra headers), answered 200 with outbound. */
static int register_ok(struct fx *f, const char *extra)
{
    char *up;
    int ci, nua = f->to_ua.n;

    ua_send_register(f, 7, extra);
    up = edge_wait_msg(&f->edge, &ci);
    send_ok(f, ci, up, true);
    ua_wait(&f->edge, &f->to_ua, nua + 1);
    free(up);
    return ci;
}

/* The edge drops connection ci; the clock jumps to each next timer until
 * sipkeep has connected again (§4.5: at once after a working flow died). */
static char *recover(struct fx *f, int ci, int *ci2)
{
    int want = f->edge.nconns + 1;

    edge_drop(&f->edge, ci);
    for (int i = 0; i < 50 && f->edge.nconns < want; i++) {
        int64_t t = loop_next_timeout(f->loop);
        if (t > 0)
            f->now += (uint64_t)t;
        assert_int_equal(loop_run_once(f->loop, PUMP_WAIT_MS), 0);
        edge_poll(&f->edge);
    }
    assert_true(f->edge.nconns >= want);
    return edge_wait_msg(&f->edge, ci2);
}

/* ---- 423 ---- */

static void test_interval_too_brief(void **state)
{
    struct fx *f = *state;
    char *up, *up2, v[2048];
    const char *rsp;
    int ci, ci2;

    agent_start(f, "");
    ua_send_register(f, 7, NULL);
    up = edge_wait_msg(&f->edge, &ci);
    send_rsp(f, ci, up, "423 Interval Too Brief", "Min-Expires: 7200\r\n");
    up2 = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    expect_cseq(up2, "2 REGISTER");
    hdr_must(up2, "Contact", v, sizeof(v));
    assert_non_null(strstr(v, ";expires=7200"));
    assert_int_equal(f->to_ua.n, 0); /* the UA is answered once, with the 200 */
    send_ok(f, ci, up2, true);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    assert_memory_equal(rsp, "SIP/2.0 200 OK\r\n", 16);
    free(up2);
    /* a second 423 asking no more than was sent is the UA's to see */
    ua_send_register(f, 8, NULL);
    up2 = edge_wait_msg(&f->edge, &ci2);
    hdr_must(up2, "Contact", v, sizeof(v));
    assert_non_null(strstr(v, ";expires=7200")); /* the minimum sticks */
    send_rsp(f, ci, up2, "423 Interval Too Brief", "Min-Expires: 7200\r\n");
    rsp = ua_wait(&f->edge, &f->to_ua, 2);
    assert_memory_equal(rsp, "SIP/2.0 423 Interval Too Brief\r\n", 32);
    free(up2);
    free(up);
}

/* ---- 439 ---- */

static void test_first_hop_lacks_outbound(void **state)
{
    struct fx *f = *state;
    char *up, *up2, v[2048];
    const char *rsp;
    int ci, ci2;

    agent_start(f, "");
    ua_send_register(f, 7, NULL);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_non_null(strstr(v, ";reg-id=1"));
    send_rsp(f, ci, up, "439 First Hop Lacks Outbound Support", NULL);
    up2 = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    expect_cseq(up2, "2 REGISTER");
    hdr_must(up2, "Contact", v, sizeof(v));
    assert_null(strstr(v, "reg-id"));
    assert_null(strstr(v, "+sip.instance"));
    /* "without using the outbound mechanism" (§4.2.1): no option tag */
    hdr_must(up2, "Supported", v, sizeof(v));
    assert_string_equal(v, "path");
    assert_int_equal(f->to_ua.n, 0);
    send_ok(f, ci, up2, false);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    assert_memory_equal(rsp, "SIP/2.0 200 OK\r\n", 16);
    /* keep-alives go on without pongs, and the connection stays: 250 s in
     * 5 s steps (two ping intervals of 95-120 s and their pong timeouts),
     * within the binding's 300 s */
    for (int i = 0; i < 50; i++) {
        f->now += 5000;
        assert_int_equal(loop_run_once(f->loop, PUMP_WAIT_MS), 0);
        edge_poll(&f->edge);
    }
    assert_false(f->edge.conns[ci].closed);
    assert_non_null(strstr(f->edge.conns[ci].buf, "\r\n\r\n"));
    assert_int_equal(f->edge.nconns, 1);
    assert_int_equal(binding_count(f->ra), 1);
    assert_int_equal(flow_state(binding_flow(binding_next(f->ra, NULL), 0)), FLOW_ACTIVE);
    free(up2);
    free(up);
}

/* Kamailio's stock script answers a failed save() twice: the 439, then a
 * stateless 500 for the same request.  The 500 arrives after the fallback
 * REGISTER went out: it answers no pending REGISTER, so it neither reaches
 * the UA through the agent nor fails the flow; the UA gets the fallback's
 * 200. */
static void test_439_then_stray_500(void **state)
{
    struct fx *f = *state;
    char *up, *up2;
    const char *rsp;
    int ci, ci2;

    agent_start(f, "");
    ua_send_register(f, 7, NULL);
    up = edge_wait_msg(&f->edge, &ci);
    send_rsp(f, ci, up, "439 First Hop Lacks Outbound Support", NULL);
    up2 = edge_wait_msg(&f->edge, &ci2);
    send_rsp(f, ci, up, "500 Server Internal Error", NULL);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 0);
    assert_false(f->edge.conns[ci].closed);
    send_ok(f, ci, up2, false);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    assert_memory_equal(rsp, "SIP/2.0 200 OK\r\n", 16);
    free(up2);
    free(up);
}

/* A registrar that answers the fallback REGISTER with Require: outbound and
 * a Flow-Timer all the same (Kamailio does for any Supported: outbound):
 * that flow has no outbound in force, so missing pongs do not fail it. */
static void test_439_fallback_ignores_require_outbound(void **state)
{
    struct fx *f = *state;
    char *up, *up2;
    int ci, ci2;

    agent_start(f, "");
    ua_send_register(f, 7, NULL);
    up = edge_wait_msg(&f->edge, &ci);
    send_rsp(f, ci, up, "439 First Hop Lacks Outbound Support", NULL);
    up2 = edge_wait_msg(&f->edge, &ci2);
    send_ok(f, ci, up2, true);
    ua_wait(&f->edge, &f->to_ua, 1);
    /* 200 s in 5 s steps: pings at the 95-120 s default (the Flow-Timer
     * of a non-outbound registration is ignored), none answered */
    for (int i = 0; i < 40; i++) {
        f->now += 5000;
        assert_int_equal(loop_run_once(f->loop, PUMP_WAIT_MS), 0);
        edge_poll(&f->edge);
    }
    assert_non_null(strstr(f->edge.conns[ci].buf, "\r\n\r\n"));
    assert_false(f->edge.conns[ci].closed);
    assert_int_equal(f->edge.nconns, 1);
    assert_int_equal(flow_state(binding_flow(binding_next(f->ra, NULL), 0)), FLOW_ACTIVE);
    free(up2);
    free(up);
}

/* The Contact's reg-id in an upstream REGISTER (0 for none). */
static unsigned regid_of(const char *req)
{
    char v[2048];
    const char *p;

    hdr_must(req, "Contact", v, sizeof(v));
    p = strstr(v, ";reg-id=");
    return p ? (unsigned)strtoul(p + 8, NULL, 10) : 0;
}

/* Two flows, the second's first hop lacks outbound: while flow 1 registers
 * the Contact with outbound, flow 2 must not register it plain (the
 * registrar would match that by URI and overwrite flow 1's binding, RFC
 * 3261 §10.3): the 439 fails flow 2 and its retry, after the back-off,
 * tries outbound again.  The UA gets flow 1's 200. */
static void test_439_second_flow_keeps_first_outbound(void **state)
{
    struct fx *f = *state;
    char *a, *b, *r1, *r2, *again;
    const char *rsp;
    int ca, cb, c1, c2, c3;

    agent_start(f, "");
    ua_send_register(f, 7, NULL);
    a = edge_wait_msg(&f->edge, &ca);
    b = edge_wait_msg(&f->edge, &cb);
    r1 = regid_of(a) == 1 ? a : b;
    r2 = regid_of(a) == 1 ? b : a;
    c1 = r1 == a ? ca : cb;
    c2 = r1 == a ? cb : ca;
    assert_int_equal(regid_of(r2), 2);
    /* the 439 arrives while flow 1's REGISTER is still pending */
    send_rsp(f, c2, r2, "439 First Hop Lacks Outbound Support", NULL);
    assert_true(edge_wait_closed(&f->edge, c2));
    assert_int_equal(f->to_ua.n, 0);
    /* (no Require: outbound, so that flow 1 needs no pongs from this edge
     * and stays up all along) */
    send_ok(f, c1, r1, false);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    assert_memory_equal(rsp, "SIP/2.0 200 OK\r\n", 16);
    /* the back-off, then flow 2 tries outbound again on a new connection */
    for (int i = 0; i < 400 && f->edge.nconns < 3; i++) {
        f->now += 1000;
        assert_int_equal(loop_run_once(f->loop, PUMP_WAIT_MS), 0);
        edge_poll(&f->edge);
    }
    assert_int_equal(f->edge.nconns, 3);
    again = edge_wait_msg(&f->edge, &c3);
    assert_int_equal(c3, 2);
    assert_int_equal(regid_of(again), 2);
    assert_int_equal(f->edge.conns[c3].listener, f->edge.conns[c2].listener);
    assert_false(f->edge.conns[c1].closed);
    free(again);
    free(a);
    free(b);
}

/* Local policy outbound_fallback: false: the 439 fails the flow and, with
 * one flow, reaches the UA. */
static void test_439_policy_off(void **state)
{
    struct fx *f = *state;
    char *up;
    const char *rsp;
    int ci;

    agent_start(f, "    outbound_fallback: false\n");
    ua_send_register(f, 7, NULL);
    up = edge_wait_msg(&f->edge, &ci);
    send_rsp(f, ci, up, "439 First Hop Lacks Outbound Support", NULL);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    assert_memory_equal(rsp, "SIP/2.0 439 ", 12);
    assert_true(edge_wait_closed(&f->edge, ci));
    free(up);
}

/* ---- re-registration with credentials ---- */

static void write_password(struct fx *f, char *path, size_t pathsz)
{
    int fd;

    snprintf(path, pathsz, "%s/alice.pw", f->dir.root);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, PASSWORD "\n", sizeof(PASSWORD)), (ssize_t)sizeof(PASSWORD));
    close(fd);
}

/* Checks the Authorization of req against challenge chal and nc. */
static void check_digest(const char *req, const char *chal, const char *nc)
{
    char v[2048], p[256], cnonce[128], resp[65];
    struct digest_challenge c;

    assert_int_equal(hdr_count(req, "Authorization"), 1);
    hdr_must(req, "Authorization", v, sizeof(v));
    assert_null(strstr(v, PASSWORD));
    assert_memory_equal(v, "Digest ", 7);
    auth_param(v, "username", p, sizeof(p));
    assert_string_equal(p, "alice");
    auth_param(v, "realm", p, sizeof(p));
    assert_string_equal(p, "example.net");
    auth_param(v, "nonce", p, sizeof(p));
    assert_string_equal(p, "n0nce-1");
    auth_param(v, "uri", p, sizeof(p));
    assert_string_equal(p, "sip:example.net");
    auth_param(v, "qop", p, sizeof(p));
    assert_string_equal(p, "auth");
    auth_param(v, "nc", p, sizeof(p));
    assert_string_equal(p, nc);
    auth_param(v, "algorithm", p, sizeof(p));
    assert_string_equal(p, "SHA-256");
    auth_param(v, "opaque", p, sizeof(p));
    assert_string_equal(p, "op1");
    auth_param(v, "cnonce", cnonce, sizeof(cnonce));
    assert_true(strlen(cnonce) >= 8);
    /* the digest itself (the algorithm is checked against published
     * vectors in test_digest.c) */
    assert_int_equal(digest_parse_challenge(&c, slice_cstr(chal)), 0);
    assert_int_equal(digest_response_hex(DIGEST_SHA256, false, "alice", "example.net",
                                         PASSWORD, "REGISTER", "sip:example.net", "n0nce-1",
                                         (uint32_t)strtoul(nc, NULL, 16), cnonce, "auth",
                                         resp), 0);
    auth_param(v, "response", p, sizeof(p));
    assert_string_equal(p, resp);
}

#define CHAL "Digest realm=\"example.net\", nonce=\"n0nce-1\", algorithm=SHA-256, " \
             "qop=\"auth\", opaque=\"op1\""

static void test_reregister_with_credentials(void **state)
{
    struct fx *f = *state;
    char path[256], extra[512], *up, *up2, *up3, *logbuf;
    int ci, ci2, saved;
    FILE *lf;
    long len;

    write_password(f, path, sizeof(path));
    snprintf(extra, sizeof(extra),
             "    credentials:\n"
             "      - {aor: \"sip:alice@example.net\", username: alice, password_file: %s}\n",
             path);
    agent_start(f, extra);
    ci = register_ok(f, "Authorization: Digest username=\"alice\", realm=\"example.net\", "
                        "nonce=\"old\", uri=\"sip:example.net\", response=\"00\"\r\n");
    /* every log line of the recovery, at debug level, goes to a file */
    fflush(stderr);
    saved = dup(2);
    lf = tmpfile();
    assert_non_null(lf);
    dup2(fileno(lf), 2);
    log_setup(LOG_LVL_DEBUG, LOG_TARGET_STDERR, "test");

    up = recover(f, ci, &ci2);
    expect_cseq(up, "2 REGISTER");
    send_rsp(f, ci2, up, "401 Unauthorized", "WWW-Authenticate: " CHAL "\r\n");
    up2 = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, ci2);
    expect_cseq(up2, "3 REGISTER");
    check_digest(up2, CHAL, "00000001");
    /* challenged again with the same nonce: the next nonce-count */
    send_rsp(f, ci2, up2, "401 Unauthorized", "WWW-Authenticate: " CHAL "\r\n");
    up3 = edge_wait_msg(&f->edge, &ci);
    expect_cseq(up3, "4 REGISTER");
    check_digest(up3, CHAL, "00000002");
    send_ok(f, ci2, up3, true);
    edge_settle(&f->edge);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    assert_int_equal(f->to_ua.n, 1); /* the UA saw nothing of it */
    assert_int_equal(flow_state(binding_flow(binding_next(f->ra, NULL), 0)), FLOW_ACTIVE);
    len = ftell(lf);
    assert_true(len > 0);
    logbuf = calloc(1, (size_t)len + 1);
    rewind(lf);
    assert_int_equal(fread(logbuf, 1, (size_t)len, lf), (size_t)len);
    fclose(lf);
    assert_non_null(strstr(logbuf, "event=reregister_authenticating"));
    assert_null(strstr(logbuf, PASSWORD));
    free(logbuf);
    free(up3);
    free(up2);
    free(up);
}

/* Without credentials: the re-registration carries the UA's last
 * Authorization; challenged, sipkeep waits (no loop) until the UA's next
 * REGISTER, which goes out at once on the same connection: a challenge is
 * no flow failure (issue 11 item 6), the flow is kept, its registration
 * timeout stopped meanwhile. */
static void test_reregister_waits_for_ua(void **state)
{
    struct fx *f = *state;
    char *up, *up2, v[2048];
    const char *rsp;
    int ci, ci2, ci3, n;

    agent_start(f, "");
    ci = register_ok(f, "Authorization: Digest username=\"alice\", nonce=\"old\"\r\n");
    up = recover(f, ci, &ci2);
    hdr_must(up, "Authorization", v, sizeof(v));
    assert_string_equal(v, "Digest username=\"alice\", nonce=\"old\"");
    send_rsp(f, ci2, up, "401 Unauthorized", "WWW-Authenticate: " CHAL "\r\n");
    n = f->edge.nconns;
    f->now += 120000; /* far beyond Timer F (32 s) */
    edge_settle(&f->edge);
    assert_false(f->edge.conns[ci2].closed); /* kept, */
    assert_int_equal(f->edge.nconns, n);
    assert_false(edge_has_msg(&f->edge));     /* no new attempt by itself... */
    assert_int_equal(f->to_ua.n, 1);
    ua_send_register(f, 8, "Authorization: Digest username=\"alice\", nonce=\"new\"\r\n");
    up2 = edge_wait_msg(&f->edge, &ci3);      /* ...but at once for the UA */
    assert_int_equal(ci3, ci2);
    hdr_must(up2, "Authorization", v, sizeof(v));
    assert_string_equal(v, "Digest username=\"alice\", nonce=\"new\"");
    send_rsp(f, ci3, up2, "401 Unauthorized", "WWW-Authenticate: " CHAL "\r\n");
    rsp = ua_wait(&f->edge, &f->to_ua, 2); /* the UA's own challenge */
    assert_memory_equal(rsp, "SIP/2.0 401 Unauthorized\r\n", 26);
    assert_false(f->edge.conns[ci3].closed);
    free(up2);
    free(up);
}

/* Issue 11 item 4 with a 439 flow: its plain binding is matched by Contact
 * URI, so when the phone comes back on a new port the old Contact is
 * removed first (expires=0, still without reg-id), then the new one goes. */
static void test_439_moved_contact_deregisters_old(void **state)
{
    struct fx *f = *state;
    char *up, *up2, *reg, *up3, *up4, v[2048];
    struct sipmsg *m = malloc(sizeof(*m));
    int ci, ci2;

    agent_start(f, "");
    ua_send_register(f, 7, NULL);
    up = edge_wait_msg(&f->edge, &ci);
    send_rsp(f, ci, up, "439 First Hop Lacks Outbound Support", NULL);
    up2 = edge_wait_msg(&f->edge, &ci2);
    send_ok(f, ci, up2, false);
    ua_wait(&f->edge, &f->to_ua, 1);

    reg = mk_register(1, NULL);
    memcpy(strstr(reg, "192.168.1.10:5060>"), "192.168.1.10:5072>", 18);
    memcpy(strstr(reg, "ua-call-1"), "ua-call-2", 9);
    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, reg, strlen(reg), 0), 0);
    regagent_register(f->ra, &f->cfg->services[0], m, &f->ua);
    up3 = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    expect_cseq(up3, "3 REGISTER");
    hdr_must(up3, "Contact", v, sizeof(v));
    assert_string_equal(v, UA_CONTACT ";expires=0");
    up4 = edge_wait_msg(&f->edge, &ci2);
    expect_cseq(up4, "4 REGISTER");
    hdr_must(up4, "Contact", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@192.168.1.10:5072>;expires=300");
    send_ok(f, ci, up4, false);
    assert_memory_equal(ua_wait(&f->edge, &f->to_ua, 2), "SIP/2.0 200 OK\r\n", 16);
    free(m);
    free(up4);
    free(up3);
    free(reg);
    free(up2);
    free(up);
}

/* Issue 11 item 6 with credentials over two flows: both challenge the UA's
 * REGISTER; flow 1's challenge is the UA's (its connection held, not
 * failed), flow 2's sipkeep answers itself with digest; flow 2's 200 is the
 * UA's answer at once, and the UA's own credentials later go to flow 1
 * only. */
#define CHAL2 "Digest realm=\"example.net\", nonce=\"n0nce-2\", algorithm=SHA-256, " \
              "qop=\"auth\", opaque=\"op2\""

static void test_two_flows_credentials(void **state)
{
    struct fx *f = *state;
    char path[256], extra[512], *up[2] = { NULL }, *up2, *up3[2] = { NULL }, v[2048];
    int ci[2], c;

    write_password(f, path, sizeof(path));
    snprintf(extra, sizeof(extra),
             "    credentials:\n"
             "      - {aor: \"sip:alice@example.net\", username: alice, password_file: %s}\n",
             path);
    agent_start(f, extra);
    ua_send_register(f, 7, NULL);
    for (int i = 0; i < 2; i++) {
        char *m = edge_wait_msg(&f->edge, &c);

        up[f->edge.conns[c].listener] = m;
        ci[f->edge.conns[c].listener] = c;
    }
    send_rsp(f, ci[0], up[0], "401 Unauthorized", "WWW-Authenticate: " CHAL2 "\r\n");
    edge_settle(&f->edge);
    send_rsp(f, ci[1], up[1], "401 Unauthorized", "WWW-Authenticate: " CHAL "\r\n");
    up2 = edge_wait_msg(&f->edge, &c);
    assert_int_equal(c, ci[1]); /* sipkeep's digest on flow 2 */
    expect_cseq(up2, "2 REGISTER");
    check_digest(up2, CHAL, "00000001");
    assert_int_equal(f->to_ua.n, 0);
    send_ok(f, ci[1], up2, true);
    assert_memory_equal(ua_wait(&f->edge, &f->to_ua, 1), "SIP/2.0 200 OK\r\n", 16);
    f->now += 60000; /* flow 1 is held, not failed by Timer F */
    edge_settle(&f->edge);
    assert_false(f->edge.conns[ci[0]].closed);
    assert_int_equal(f->edge.nconns, 2);

    /* the UA's next REGISTER answers flow 1's challenge: only flow 1 gets it */
    ua_send_register(f, 8, "Authorization: Digest username=\"alice\", realm=\"example.net\", "
                           "nonce=\"n0nce-2\", uri=\"sip:example.net\", response=\"00\", "
                           "qop=auth, nc=00000001, cnonce=\"ab\"\r\n");
    for (int i = 0; i < 2; i++) {
        char *m = edge_wait_msg(&f->edge, &c);

        up3[f->edge.conns[c].listener] = m;
    }
    hdr_must(up3[0], "Authorization", v, sizeof(v));
    assert_non_null(strstr(v, "nonce=\"n0nce-2\""));
    assert_int_equal(hdr_count(up3[1], "Authorization"), 0);
    for (int i = 0; i < 2; i++) {
        free(up[i]);
        free(up3[i]);
    }
    free(up2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_interval_too_brief),
        T(test_first_hop_lacks_outbound),
        T(test_439_fallback_ignores_require_outbound),
        T(test_439_then_stray_500),
        T(test_439_policy_off),
        T(test_439_moved_contact_deregisters_old),
        cmocka_unit_test_setup_teardown(test_439_second_flow_keeps_first_outbound, fx_setup2,
                                        fx_teardown),
        T(test_reregister_with_credentials),
        T(test_reregister_waits_for_ua),
        cmocka_unit_test_setup_teardown(test_two_flows_credentials, fx_setup2, fx_teardown),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("reg_retry", tests, NULL, NULL);
}

/* Unit tests for the registration agent (RFC 5626 §4.1, §4.2): REGISTER
 * rewriting towards the edge proxy, mapping of the answers back to the
 * legacy UA, CSeq/Call-ID spaces, challenges, instance-id persistence,
 * de-registration and requests arriving on a flow.
 *
 * The edge proxy / registrar is played by the test (fake_edge.h): a
 * listening TCP socket on 127.0.0.1 whose connections are read without
 * blocking between iterations of the event loop (fake clock, so no timer
 * runs unless due at "now"; every wait is bounded by an iteration count). */
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

static void cap_flow_msg(struct binding *b, unsigned idx, const struct sipmsg *m, void *arg)
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

static void agent_start(struct fx *f)
{
    fx_agent_start(f, cap_flow_msg, NULL);
}

static void agent_stop(struct fx *f)
{
    fx_agent_stop(f);
}

static int fx_setup_n(void **state, int nlisten)
{
    struct fx *f = fx_new("test_regagent", nlisten, "192.168.1.10", "192.168.1.1");

    edge_load_cfg(&f->edge, f->dir.state, &f->cfg);
    agent_start(f);
    *state = f;
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

static int fx_setup4(void **state)
{
    return fx_setup_n(state, 4);
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    agent_stop(f);
    fx_free(f);
    return 0;
}

/* ---- reading messages (NUL-terminated text; the rest is in fake_edge.h) ---- */

/* The instance URN inside a Contact value, checked for RFC 4122 form. */
static void instance_of(const char *contact, char *out, size_t outsz)
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
#define UA_VIA(cseq) "SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKua" #cseq ";rport"

/* A REGISTER as a legacy phone sends it over UDP (no Content-Length). */
static char *mk_register(unsigned cseq, const char *contact, const char *extra)
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

static void ua_send_register(struct fx *f, const char *text)
{
    struct sipmsg *m = malloc(sizeof(*m));

    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, text, strlen(text), 0), 0);
    regagent_register(f->ra, &f->cfg->services[0], m, &f->ua);
    free(m);
}

/* Cuts ";expires=N" out of a Contact value (the registrar states its own). */
static void strip_expires(char *contact)
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
static char *ok_for(const char *req, unsigned expires)
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
static void register_ok(struct fx *f, struct reg_state *st)
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

/* ---- 1. upstream REGISTER (§4.2.1, §5.1) ---- */

static void test_upstream_register(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up;
    char sl[256], v[2048], vias[4][256], branch[128], expect[128], inst[64];
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    int ci;
    const char *hend;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(f->edge.nconns, 1);

    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "REGISTER sip:example.net SIP/2.0");
    /* exactly one Via, ours: TCP from the flow's own local address */
    assert_int_equal(via_list(up, vias, 4), 1);
    assert_int_equal(getpeername(f->edge.conns[ci].fd, (struct sockaddr *)&peer, &pl), 0);
    snprintf(expect, sizeof(expect), "SIP/2.0/TCP 127.0.0.1:%u;", ntohs(peer.sin_port));
    assert_memory_equal(vias[0], expect, strlen(expect));
    assert_true(param_of(vias[0], "branch", branch, sizeof(branch)));
    assert_memory_equal(branch, "z9hG4bK", 7);
    assert_true(strlen(branch) > 7);
    assert_null(strstr(up, "z9hG4bKua7"));
    assert_null(strstr(up, "192.168.1.10:5060;branch"));
    /* its own Call-ID and CSeq space */
    hdr_must(up, "Call-ID", v, sizeof(v));
    assert_string_not_equal(v, "ua-call-1");
    assert_true(strlen(v) > 8);
    assert_int_equal(hdr_count(up, "Call-ID"), 1);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 REGISTER");
    assert_int_equal(hdr_count(up, "CSeq"), 1);
    /* Contact: the UA's URI with the instance-id and reg-id */
    assert_int_equal(hdr_count(up, "Contact"), 1);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, UA_CONTACT ";", strlen(UA_CONTACT) + 1);
    instance_of(v, inst, sizeof(inst));
    assert_true(param_of(v, "reg-id", expect, sizeof(expect)));
    assert_string_equal(expect, "1");
    /* the UA asked for 3600 s; upstream asks for what the UA is granted
     * (ua.register_expires, 300 s): sipkeep refreshes no longer than that */
    assert_true(param_of(v, "expires", expect, sizeof(expect)));
    assert_string_equal(expect, "300");
    hdr_must(up, "Supported", v, sizeof(v));
    assert_string_equal(v, "outbound, path");
    /* the UA's Route towards sipkeep is not for the edge */
    assert_int_equal(hdr_count(up, "Route"), 0);
    /* everything else kept */
    hdr_must(up, "From", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@example.net>;tag=uatag1");
    hdr_must(up, "To", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@example.net>");
    hdr_must(up, "Expires", v, sizeof(v));
    assert_string_equal(v, "300");
    hdr_must(up, "User-Agent", v, sizeof(v));
    assert_string_equal(v, "LegacyPhone/1.0");
    /* a stream needs Content-Length (RFC 3261 §18.3); the UA sent none */
    assert_int_equal(hdr_count(up, "Content-Length"), 1);
    hdr_must(up, "Content-Length", v, sizeof(v));
    assert_string_equal(v, "0");
    hend = strstr(up, "\r\n\r\n");
    assert_int_equal((size_t)(hend + 4 - up), strlen(up));
    /* nothing answered yet */
    assert_int_equal(f->to_ua.n, 0);
    assert_int_equal(binding_count(f->ra), 1);
    free(up);
    free(reg);
}

/* ---- 2. the answer for the UA ---- */

static void test_response_mapping(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *ok;
    char sl[256], v[2048], vias[4][256];
    const char *rsp;
    int ci;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[0], (struct sockaddr *)&f->ua.src));

    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    assert_int_equal(via_list(rsp, vias, 4), 1);
    assert_string_equal(vias[0], UA_VIA(7));
    hdr_must(rsp, "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "7 REGISTER");
    /* only its own Contact, with the clamped expiry (ua.register_expires) */
    assert_int_equal(hdr_count(rsp, "Contact"), 1);
    hdr_must(rsp, "Contact", v, sizeof(v));
    assert_string_equal(v, UA_CONTACT ";expires=300");
    assert_int_equal(hdr_count(rsp, "Require"), 0);
    assert_int_equal(hdr_count(rsp, "Flow-Timer"), 0);
    assert_int_equal(hdr_count(rsp, "Path"), 0);
    assert_null(strstr(rsp, "+sip.instance"));
    assert_null(strstr(rsp, "reg-id"));
    hdr_must(rsp, "To", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@example.net>;tag=srvtag1");
    assert_int_equal(binding_count(f->ra), 1);
    free(ok);
    free(up);
    free(reg);
}

/* The registrar grants less than ua.register_expires: the UA gets that. */
static void test_response_grant_below_clamp(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *ok;
    char v[2048];
    const char *rsp;
    int ci;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    ok = ok_for(up, 120);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    hdr_must(rsp, "Contact", v, sizeof(v));
    assert_string_equal(v, UA_CONTACT ";expires=120");
    free(ok);
    free(up);
    free(reg);
}

/* ---- 3. CSeq mapping, retransmissions ---- */

static void test_cseq_mapping(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *reg8 = mk_register(8, UA_CONTACT, NULL), *up, *ok, v[2048], branch[128];
    const char *rsp;
    char *first;
    int ci;

    register_ok(f, &st);
    ua_send_register(f, reg8);
    /* a retransmission before the answer is absorbed */
    ua_send_register(f, reg8);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, st.ci);
    assert_int_equal(f->edge.nconns, 1);
    hdr_must(up, "Call-ID", v, sizeof(v));
    assert_string_equal(v, st.call_id);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");
    hdr_must(up, "Via", v, sizeof(v));
    assert_true(param_of(v, "branch", branch, sizeof(branch)));
    assert_string_not_equal(branch, st.branch); /* a new transaction */
    hdr_must(up, "Contact", v, sizeof(v));
    assert_non_null(strstr(v, st.instance));
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge)); /* one REGISTER only */
    assert_int_equal(f->to_ua.n, 1);

    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 2);
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    hdr_must(rsp, "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    first = strdup(rsp);

    /* the UA did not get it and retransmits: the same answer, nothing upstream */
    ua_send_register(f, reg8);
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_int_equal(f->to_ua.n, 3);
    assert_string_equal(f->to_ua.msg[2], first);
    free(first);
    free(ok);
    free(up);
    free(reg8);
}

/* ---- 4. challenges ---- */

#define CHALLENGE "Digest realm=\"example.net\", nonce=\"4b1f, 9a\", algorithm=MD5, qop=\"auth\""
#define CREDENTIALS "Digest username=\"alice\", realm=\"example.net\", nonce=\"4b1f, 9a\", " \
                    "uri=\"sip:example.net\", response=\"0123456789abcdef0123456789abcdef\", " \
                    "algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\""

static void test_challenge_passthrough(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL);
    char *reg8 = mk_register(8, UA_CONTACT, "Authorization: " CREDENTIALS "\r\n");
    char *up, *up2, *rsp401, *ok, v[2048], cid[256], vias[4][256], sl[256];
    const char *rsp;
    int ci, ci2;

    ua_send_register(f, reg7);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Call-ID", cid, sizeof(cid));
    rsp401 = mk_response(up, "401 Unauthorized", "WWW-Authenticate: " CHALLENGE "\r\n");
    edge_send(&f->edge, ci, rsp401);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 401 Unauthorized");
    hdr_must(rsp, "WWW-Authenticate", v, sizeof(v));
    assert_string_equal(v, CHALLENGE);
    assert_int_equal(via_list(rsp, vias, 4), 1);
    assert_string_equal(vias[0], UA_VIA(7));
    hdr_must(rsp, "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "7 REGISTER");
    assert_null(strstr(rsp, cid));

    /* the retry goes out on the same connection, next upstream CSeq */
    ua_send_register(f, reg8);
    up2 = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    assert_int_equal(f->edge.nconns, 1);
    assert_false(f->edge.conns[ci].closed);
    hdr_must(up2, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");
    hdr_must(up2, "Call-ID", v, sizeof(v));
    assert_string_equal(v, cid);
    hdr_must(up2, "Authorization", v, sizeof(v));
    assert_string_equal(v, CREDENTIALS);
    assert_int_equal(hdr_count(up2, "Via"), 1);

    ok = ok_for(up2, 3600);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 2);
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    assert_int_equal(via_list(rsp, vias, 4), 1);
    assert_string_equal(vias[0], UA_VIA(8));
    free(ok);
    free(up2);
    free(rsp401);
    free(up);
    free(reg8);
    free(reg7);
}

/* ---- 5. instance-ids (§4.1) ---- */

static void test_instance_persistence(void **state)
{
    struct fx *f = *state;
    struct reg_state st1, st2;
    char *reg, *up, contact[2048], inst_b[64];
    int ci;

    register_ok(f, &st1);
    /* restart: new store and agent on the same state_dir */
    agent_stop(f);
    assert_true(edge_wait_closed(&f->edge, st1.ci));
    agent_start(f);
    register_ok(f, &st2);
    assert_int_not_equal(st2.ci, st1.ci);
    assert_string_equal(st2.instance, st1.instance);
    /* a new Call-ID after the restart is fine; the instance must not change */

    /* another phone: another instance-id */
    reg = mk_register(3, "<sip:alice@192.168.1.11:5060>", NULL);
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_not_equal(ci, st2.ci);
    hdr_must(up, "Contact", contact, sizeof(contact));
    assert_memory_equal(contact, "<sip:alice@192.168.1.11:5060>;", 30);
    instance_of(contact, inst_b, sizeof(inst_b));
    assert_string_not_equal(inst_b, st1.instance);
    assert_int_equal(binding_count(f->ra), 2);
    free(up);
    free(reg);
}

/* ---- 6. de-registration ---- */

static void deregister(struct fx *f, const char *contact, const char *extra)
{
    struct reg_state st;
    char *reg, *up, *ok, v[2048], inst[64], sl[256];
    const char *rsp;
    int ci;

    register_ok(f, &st);
    assert_int_equal(binding_count(f->ra), 1);
    reg = mk_register(8, contact, extra);
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, st.ci);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");
    assert_int_equal(hdr_count(up, "Contact"), 1);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, UA_CONTACT ";", strlen(UA_CONTACT) + 1);
    assert_non_null(strstr(v, ";expires=0"));
    assert_null(strstr(v, ";expires=3600"));
    instance_of(v, inst, sizeof(inst));
    assert_string_equal(inst, st.instance);
    assert_non_null(strstr(v, ";reg-id=1"));
    ok = mk_response(up, "200 OK", "Require: outbound\r\n");
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 2);
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    /* the binding goes away and its flow with it */
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
    assert_null(binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL));
    free(ok);
    free(up);
    free(reg);
}

static void test_deregister_param(void **state)
{
    deregister(*state, UA_CONTACT ";expires=0", NULL);
}

static void test_deregister_header(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *reg, *up, *ok, v[2048];
    int ci;

    register_ok(f, &st);
    /* Expires: 0 as a second Expires would be a bad message; build by hand */
    reg = mk_register(8, UA_CONTACT, NULL);
    memcpy(strstr(reg, "Expires: 3600"), "Expires:    0", 13);
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_non_null(strstr(v, ";expires=0"));
    assert_non_null(strstr(v, st.instance));
    ok = mk_response(up, "200 OK", NULL);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, 2);
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
    free(ok);
    free(up);
    free(reg);
}

/* ---- 7. requests on the flow ---- */

static bool cond_nflow(void *ctx, const void *arg)
{
    const struct fx *f = ctx;

    return f->nflow >= *(const int *)arg;
}

static void test_flow_request(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char invite[2048], stray[1024];
    struct binding *b;
    int one = 1, two = 2;

    register_ok(f, &st);
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, slice_cstr("sip:alice@example.net"));
    assert_non_null(b);
    assert_ptr_equal(binding_by_id(f->ra, binding_id(b)), b);
    snprintf(invite, sizeof(invite),
             "INVITE sip:alice@192.168.1.10:5060;ob SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge1\r\n"
             "Max-Forwards: 69\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: inv-1@example.net\r\n"
             "CSeq: 1 INVITE\r\n"
             "Contact: <sip:bob@203.0.113.9>\r\n"
             "Content-Length: 0\r\n\r\n",
             f->edge.port[0]);
    edge_send(&f->edge, st.ci, invite);
    assert_true(edge_pump(&f->edge, cond_nflow, f, &one));
    assert_ptr_equal(f->flow_b, b);
    assert_int_equal(f->flow_idx, 0);
    assert_true(f->flow_is_req);
    assert_string_equal(f->flow_first, "INVITE sip:alice@192.168.1.10:5060;ob SIP/2.0\r\n");

    /* a response that answers none of our REGISTERs goes there too */
    snprintf(stray, sizeof(stray),
             "SIP/2.0 200 OK\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:1;branch=%s\r\n" /* the old REGISTER's */
             "From: <sip:alice@example.net>;tag=uatag1\r\n"
             "To: <sip:alice@example.net>;tag=x\r\n"
             "Call-ID: %s\r\n"
             "CSeq: 1 REGISTER\r\n"
             "Content-Length: 0\r\n\r\n",
             st.branch, st.call_id);
    edge_send(&f->edge, st.ci, stray);
    assert_true(edge_pump(&f->edge, cond_nflow, f, &two));
    assert_false(f->flow_is_req);
    assert_ptr_equal(f->flow_b, b);
    /* neither reached the UA through the agent */
    assert_int_equal(f->to_ua.n, 1);
}

/* ---- more: several flows, third-party, Contact: *, queries ---- */

static void test_two_flows(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up[2], *ok;
    char c0[2048], c1[2048], id0[16], id1[16], i0[64], i1[64], cid0[256], cid1[256];
    int ci[2];

    ua_send_register(f, reg);
    up[0] = edge_wait_msg(&f->edge, &ci[0]);
    up[1] = edge_wait_msg(&f->edge, &ci[1]);
    assert_int_equal(f->edge.nconns, 2);
    assert_int_not_equal(f->edge.conns[ci[0]].listener, f->edge.conns[ci[1]].listener);
    if (f->edge.conns[ci[0]].listener == 1) { /* order by reg-id */
        char *t = up[0];
        int tc = ci[0];
        up[0] = up[1], up[1] = t, ci[0] = ci[1], ci[1] = tc;
    }
    hdr_must(up[0], "Contact", c0, sizeof(c0));
    hdr_must(up[1], "Contact", c1, sizeof(c1));
    assert_true(param_of(c0, "reg-id", id0, sizeof(id0)));
    assert_true(param_of(c1, "reg-id", id1, sizeof(id1)));
    assert_string_equal(id0, "1");
    assert_string_equal(id1, "2");
    instance_of(c0, i0, sizeof(i0));
    instance_of(c1, i1, sizeof(i1));
    assert_string_equal(i0, i1);
    hdr_must(up[0], "Call-ID", cid0, sizeof(cid0));
    hdr_must(up[1], "Call-ID", cid1, sizeof(cid1));
    assert_string_not_equal(cid0, cid1);

    /* the UA gets one answer, not two */
    ok = ok_for(up[1], 3600);
    edge_send(&f->edge, ci[1], ok);
    free(ok);
    ua_wait(&f->edge, &f->to_ua, 1);
    ok = ok_for(up[0], 3600);
    edge_send(&f->edge, ci[0], ok);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    free(ok);
    free(up[0]);
    free(up[1]);
    free(reg);
}

/* services[].flows: 3 flows through one proxy, reg-id 1..3, each its own
 * connection (the proxy is a literal: all three to the same edge). */
static void test_flows_key(void **state)
{
    struct fx *f = fx_new("test_regagent", 1, "192.168.1.10", "192.168.1.1");
    char *reg = mk_register(7, UA_CONTACT, NULL), *up;
    char c[2048], id[16];
    bool seen[4] = { false };
    int ci;

    (void)state;
    edge_load_cfg_extra(&f->edge, f->dir.state, "    flows: 3\n", &f->cfg);
    agent_start(f);
    ua_send_register(f, reg);
    for (int i = 0; i < 3; i++) {
        up = edge_wait_msg(&f->edge, &ci);
        hdr_must(up, "Contact", c, sizeof(c));
        assert_true(param_of(c, "reg-id", id, sizeof(id)));
        assert_true(id[0] >= '1' && id[0] <= '3' && id[1] == '\0');
        seen[id[0] - '0'] = true;
        free(up);
    }
    assert_true(seen[1] && seen[2] && seen[3]);
    assert_int_equal(f->edge.nconns, 3);
    free(reg);
    agent_stop(f);
    fx_free(f);
}

static void test_third_party(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, v[2048];
    int ci;

    memcpy(strstr(reg, "From: <sip:alice@"), "From: <sip:carol@", 17);
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_string_equal(v, UA_CONTACT ";expires=300"); /* §4.2.3: neither id */
    free(up);
    free(reg);
}

static void test_contact_star(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *reg = mk_register(8, "*", NULL), *up, *ok, v[2048], sl[256];
    const char *rsp;
    int ci;

    register_ok(f, &st);
    memcpy(strstr(reg, "Expires: 3600"), "Expires:    0", 13);
    ua_send_register(f, reg);
    rsp = ua_wait(&f->edge, &f->to_ua, 2); /* answered at once */
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, UA_CONTACT ";", strlen(UA_CONTACT) + 1);
    assert_non_null(strstr(v, ";expires=0"));
    assert_non_null(strstr(v, st.instance));
    ok = mk_response(up, "200 OK", NULL);
    edge_send(&f->edge, ci, ok);
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
    assert_int_equal(f->to_ua.n, 2);
    free(ok);
    free(up);
    free(reg);
}

static void test_deregister_unknown_and_query(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT ";expires=0", NULL), sl[256];
    char *query = mk_register(9, UA_CONTACT, NULL);
    char *c = strstr(query, "Contact: ");

    ua_send_register(f, reg);
    ua_wait(&f->edge, &f->to_ua, 1);
    start_line(f->to_ua.msg[0], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    /* a query (no Contact) is answered without a binding */
    memmove(c, strstr(c, "\r\n") + 2, strlen(strstr(c, "\r\n") + 2) + 1);
    ua_send_register(f, query);
    ua_wait(&f->edge, &f->to_ua, 2);
    start_line(f->to_ua.msg[1], sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 0);
    assert_int_equal(binding_count(f->ra), 0);
    free(query);
    free(reg);
}


/* A UA behind another hop (several Via lines and elements): the whole
 * stack comes back in order. */
static void test_response_via_stack(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *ok, vias[6][256];
    char *at = strstr(reg, "Route:");
    char *full = malloc(8192);
    const char *rsp;
    int ci;

    assert_non_null(full);
    snprintf(full, 8192, "%.*sVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKin1, "
             "SIP/2.0/TCP 10.0.0.6;branch=z9hG4bKin2\r\n"
             "Via: SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKin3\r\n%s",
             (int)(at - reg), reg, at);
    ua_send_register(f, full);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(via_list(up, vias, 6), 1);
    assert_null(strstr(up, "z9hG4bKin"));
    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    assert_int_equal(via_list(rsp, vias, 6), 4);
    assert_string_equal(vias[0], UA_VIA(7));
    assert_string_equal(vias[1], "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKin1");
    assert_string_equal(vias[2], "SIP/2.0/TCP 10.0.0.6;branch=z9hG4bKin2");
    assert_string_equal(vias[3], "SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKin3");
    free(ok);
    free(up);
    free(full);
    free(reg);
}

/* Upstream failure (not a challenge) with one flow: passed to the UA. */
static void test_failure_passthrough(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *rsp403, sl[256], v[256];
    const char *rsp;
    int ci;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    rsp403 = mk_response(up, "403 Forbidden", NULL);
    edge_send(&f->edge, ci, rsp403);
    rsp = ua_wait(&f->edge, &f->to_ua, 1);
    start_line(rsp, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 403 Forbidden");
    hdr_must(rsp, "CSeq", v, sizeof(v));
    assert_string_equal(v, "7 REGISTER");
    hdr_must(rsp, "Call-ID", v, sizeof(v));
    assert_string_equal(v, "ua-call-1");
    /* a failed registration fails the flow (§4.5) */
    assert_true(edge_wait_closed(&f->edge, ci));
    free(rsp403);
    free(up);
    free(reg);
}

/* A phone that stops refreshing is dropped when the expiry it was granted
 * (clamped to ua.register_expires) runs out, not the registrar's. */
static void test_binding_lapses(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL), *reg8 = mk_register(8, UA_CONTACT, NULL);
    char *up, *ok, v[2048], contact[2048], extra[2200];
    int ci, ci2;

    ua_send_register(f, reg7);
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", contact, sizeof(contact));
    strip_expires(contact);
    /* no outbound: keep-alives without pongs, so jumping the clock is safe */
    snprintf(extra, sizeof(extra), "Contact: %s;expires=3600\r\n", contact);
    ok = mk_response(up, "200 OK", extra);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, 1);
    hdr_must(f->to_ua.msg[0], "Contact", v, sizeof(v));
    assert_string_equal(v, UA_CONTACT ";expires=300");
    free(ok);
    free(up);

    f->now += 200000;
    edge_settle(&f->edge);
    assert_int_equal(binding_count(f->ra), 1);
    ua_send_register(f, reg8); /* refresh at 200 s */
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    ok = mk_response(up, "200 OK", extra);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, 2);
    f->now += 200000; /* 400 s: past the first grant, within the refreshed one */
    edge_settle(&f->edge);
    assert_int_equal(binding_count(f->ra), 1);
    assert_false(f->edge.conns[ci].closed);
    free(ok);
    free(up);
    f->now += 100001; /* 500 s + 1 ms: the refresh's 300 s are over */
    /* issue 11: the lapsed binding is de-registered upstream (same
     * instance-id and reg-id, expires=0), then freed on the answer */
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, UA_CONTACT ";", strlen(UA_CONTACT) + 1);
    assert_non_null(strstr(v, ";expires=0"));
    assert_non_null(strstr(v, ";reg-id=1"));
    assert_non_null(strstr(v, ";+sip.instance="));
    hdr_must(up, "Expires", v, sizeof(v));
    assert_string_equal(v, "0");
    assert_null(binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL));
    ok = mk_response(up, "200 OK", NULL);
    edge_send(&f->edge, ci, ok);
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
    assert_int_equal(f->to_ua.n, 2); /* the UA hears nothing of it */
    free(ok);
    free(up);
    free(reg8);
    free(reg7);
}

/* A lapse with no answer to the de-registration: freed after
 * RA_RELOAD_DEREG_MS all the same; with no flow up, at once. */
static void test_lapse_unanswered(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *up;
    int ci;

    register_ok(f, &st);
    f->now += 300001;
    up = edge_wait_msg(&f->edge, &ci);
    assert_non_null(strstr(up, ";expires=0"));
    free(up);
    assert_int_equal(binding_count(f->ra), 1);
    f->now += RA_RELOAD_DEREG_MS - 2;
    edge_settle(&f->edge);
    assert_int_equal(binding_count(f->ra), 1);
    f->now += 2;
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(binding_count(f->ra), 0);
}

/* Issue 11 item 4: the phone reboots onto a new port with a new rinstance.
 * Same AOR and host: the same binding, instance-id, reg-id, Call-ID and
 * flow; the new Contact goes upstream (the registrar replaces the old one,
 * RFC 5626 §6) and the UA's responses go to its new address. */
static void test_reregister_new_port(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *reg, *up, *ok, v[2048], inst[64];
    const char *rsp;
    struct binding *b;
    int ci;

    register_ok(f, &st);
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_non_null(b);
    set_in(&f->ua.src, "192.168.1.10", 5072);
    reg = mk_register(1, "<sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp>", NULL);
    memcpy(strstr(reg, "ua-call-1"), "ua-call-2", 9); /* a new Call-ID after the reboot */
    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, st.ci);                /* the same flow */
    assert_int_equal(f->edge.nconns, 1);
    hdr_must(up, "Call-ID", v, sizeof(v));
    assert_string_equal(v, st.call_id);         /* the flow's Call-ID, */
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");       /* its next CSeq */
    assert_int_equal(hdr_count(up, "Contact"), 1);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_memory_equal(v, "<sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp>;",
                        strlen("<sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp>;"));
    instance_of(v, inst, sizeof(inst));
    assert_string_equal(inst, st.instance);
    assert_non_null(strstr(v, ";reg-id=1"));
    assert_non_null(strstr(v, ";expires=300"));
    ok = ok_for(up, 300);
    edge_send(&f->edge, ci, ok);
    rsp = ua_wait(&f->edge, &f->to_ua, 2);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[1], (struct sockaddr *)&f->ua.src));
    hdr_must(rsp, "Contact", v, sizeof(v));
    assert_string_equal(v, "<sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp>"
                           ";expires=300");
    assert_int_equal(binding_count(f->ra), 1);
    assert_ptr_equal(binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL), b);
    assert_string_equal(binding_contact(b),
                        "sip:alice@192.168.1.10:5072;rinstance=9f8e;transport=udp");
    assert_string_equal(binding_instance(b), st.instance);
    /* one line in instance-ids: the phone is one instance */
    assert_int_equal(instid_count(f->ids), 1);
    /* a late de-registration of the old Contact leaves the binding alone */
    free(reg);
    reg = mk_register(9, UA_CONTACT ";expires=0", NULL);
    ua_send_register(f, reg);
    rsp = ua_wait(&f->edge, &f->to_ua, 3);
    start_line(rsp, v, sizeof(v));
    assert_string_equal(v, "SIP/2.0 200 OK");
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_int_equal(binding_count(f->ra), 1);
    free(ok);
    free(up);
    free(reg);
}

/* §4.5: a dead flow is formed again and sipkeep registers over it with the
 * same Call-ID, the next CSeq, instance-id and reg-id; the UA is not
 * bothered. */
static void test_flow_recovery(void **state)
{
    struct fx *f = *state;
    struct reg_state st;
    char *up, *ok, v[2048], inst[64], branch[128];
    int ci;
    bool again = false;
    uint64_t t0;

    register_ok(f, &st);
    t0 = f->now;
    edge_drop(&f->edge, st.ci);
    edge_settle(&f->edge);
    /* jump the clock to each next timer: the §4.5 wait (30-60 s here) */
    for (int i = 0; i < 50 && !again; i++) {
        int64_t t = loop_next_timeout(f->loop);
        if (t > 0)
            f->now += (uint64_t)t;
        assert_int_equal(loop_run_once(f->loop, PUMP_WAIT_MS), 0);
        edge_poll(&f->edge);
        again = f->edge.nconns >= 2;
    }
    assert_true(f->now - t0 <= 60000);
    assert_true(again);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, 1);
    hdr_must(up, "Call-ID", v, sizeof(v));
    assert_string_equal(v, st.call_id);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");
    hdr_must(up, "Contact", v, sizeof(v));
    instance_of(v, inst, sizeof(inst));
    assert_string_equal(inst, st.instance);
    assert_non_null(strstr(v, ";reg-id=1"));
    assert_int_equal(hdr_count(up, "Via"), 1);
    hdr_must(up, "Via", v, sizeof(v));
    assert_true(param_of(v, "branch", branch, sizeof(branch)));
    assert_string_not_equal(branch, st.branch);
    ok = ok_for(up, 3600);
    edge_send(&f->edge, ci, ok);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    assert_int_equal(binding_count(f->ra), 1);
    free(ok);
    free(up);
}

/* §4.2.1 with four proxies: one flow each (reg-id = position), each
 * REGISTER with its own Call-ID, one instance-id; a request arriving on
 * any flow is handed on with that flow's index. */
static void test_four_flows(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up[4] = { NULL }, *ok, invite[1024];
    char c[2048], id[16], inst[4][64], cid[4][256];
    int ci[4], one = 1;
    struct binding *b;
    unsigned idx = 99;

    ua_send_register(f, reg);
    for (int i = 0; i < 4; i++) {
        int k, conn;
        char *m = edge_wait_msg(&f->edge, &conn);

        k = f->edge.conns[conn].listener;
        assert_null(up[k]); /* one REGISTER per proxy */
        up[k] = m;
        ci[k] = conn;
        hdr_must(m, "Contact", c, sizeof(c));
        assert_true(param_of(c, "reg-id", id, sizeof(id)));
        assert_int_equal(atoi(id), k + 1);
        instance_of(c, inst[k], sizeof(inst[k]));
        hdr_must(m, "Call-ID", cid[k], sizeof(cid[k]));
    }
    assert_int_equal(f->edge.nconns, 4);
    for (int i = 1; i < 4; i++) {
        assert_string_equal(inst[i], inst[0]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(cid[i], cid[j]);
    }
    for (int i = 0; i < 4; i++) {
        ok = ok_for(up[i], 3600);
        edge_send(&f->edge, ci[i], ok);
        free(ok);
        free(up[i]);
    }
    ua_wait(&f->edge, &f->to_ua, 1);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);

    snprintf(invite, sizeof(invite),
             "INVITE sip:alice@192.168.1.10:5060;ob SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge4\r\n"
             "Max-Forwards: 69\r\n"
             "From: <sip:bob@example.net>;tag=b1\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: inv-4@example.net\r\n"
             "CSeq: 1 INVITE\r\n"
             "Content-Length: 0\r\n\r\n",
             f->edge.port[3]);
    edge_send(&f->edge, ci[3], invite);
    assert_true(edge_pump(&f->edge, cond_nflow, f, &one));
    assert_true(f->flow_is_req);
    assert_int_equal(f->flow_idx, 3);

    /* §4.3: the UA's requests go on a working flow, else on any that is up */
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_non_null(b);
    assert_int_equal(binding_pick_flow(b, &idx), 0);
    assert_int_equal(idx, 0); /* none works yet (no pong): the first up */
    edge_drop(&f->edge, ci[0]);
    edge_drop(&f->edge, ci[1]);
    edge_settle(&f->edge); /* flows 1 and 2 back off (30-60 s) */
    assert_int_equal(flow_state(binding_flow(b, 0)), FLOW_BACKOFF);
    assert_int_equal(flow_state(binding_flow(b, 1)), FLOW_BACKOFF);
    assert_int_equal(binding_pick_flow(b, &idx), 0);
    assert_int_equal(idx, 2);
    edge_send(&f->edge, ci[3], "\r\n"); /* a pong: flow 4 works */
    for (int i = 0; i < 50 && !flow_working(binding_flow(b, 3)); i++)
        edge_settle(&f->edge);
    assert_true(flow_working(binding_flow(b, 3)));
    assert_int_equal(binding_pick_flow(b, &idx), 0);
    assert_int_equal(idx, 3);
    free(reg);
}

/* RFC 3261 §21.5.4: a 503's Retry-After: 0 retries at once (same Call-ID,
 * next CSeq); a longer one holds the next attempt back that long. */
static void test_retry_after(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, *rsp, v[256];
    int ci, ci2;
    uint64_t t0;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    rsp = mk_response(up, "503 Service Unavailable", "Retry-After: 0\r\n");
    edge_send(&f->edge, ci, rsp);
    free(rsp);
    free(up);
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_true(edge_wait_conns(&f->edge, 2)); /* the clock has not moved */
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, 1);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");

    rsp = mk_response(up, "503 Service Unavailable",
                      "Retry-After: 240 (maintenance);duration=60\r\n");
    edge_send(&f->edge, ci2, rsp);
    free(rsp);
    free(up);
    assert_true(edge_wait_closed(&f->edge, ci2));
    t0 = f->now; /* the back-off alone would be 60-120 s (row 2) */
    f->now = t0 + 239999;
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 2);
    f->now = t0 + 240000;
    assert_true(edge_wait_conns(&f->edge, 3));
    free(reg);
}

/* ---- issue 11 items 5 and 6: back-off, several flows, refresh errors ---- */

/* The UA's REGISTER on each of two flows, indexed by reg-id - 1. */
static void wait_two(struct fx *f, char *up[2], int ci[2])
{
    for (int i = 0; i < 2; i++) {
        int c;
        char *m = edge_wait_msg(&f->edge, &c);
        int k = f->edge.conns[c].listener;

        assert_null(up[k]);
        up[k] = m;
        ci[k] = c;
    }
}

static void start_line_is(const char *msg, const char *want)
{
    char sl[256];

    start_line(msg, sl, sizeof(sl));
    assert_string_equal(sl, want);
}

/* Item 5: a REGISTER while the only flow backs off is answered 503 at once
 * with Retry-After = the remaining back-off (rounded up). */
static void test_503_during_backoff(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL), *reg8 = mk_register(8, UA_CONTACT, NULL);
    char *reg9 = mk_register(9, UA_CONTACT, NULL), *up, *rsp, v[64];
    const char *ua;
    struct binding *b;
    struct flow_info fi;
    int ci;
    unsigned want;

    ua_send_register(f, reg7);
    up = edge_wait_msg(&f->edge, &ci);
    rsp = mk_response(up, "403 Forbidden", NULL);
    edge_send(&f->edge, ci, rsp);
    ua_wait(&f->edge, &f->to_ua, 1);
    assert_true(edge_wait_closed(&f->edge, ci));
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_non_null(b);
    flow_get_info(binding_flow(b, 0), &fi);
    assert_int_equal(fi.state, FLOW_BACKOFF);
    assert_true(fi.retry_in_ms >= 30000 && fi.retry_in_ms <= 60000);

    f->now += 10500;
    edge_settle(&f->edge);
    flow_get_info(binding_flow(b, 0), &fi);
    want = (unsigned)((fi.retry_in_ms + 999) / 1000);
    ua_send_register(f, reg8);
    ua = ua_wait(&f->edge, &f->to_ua, 2);
    start_line_is(ua, "SIP/2.0 503 Service Unavailable");
    hdr_must(ua, "Retry-After", v, sizeof(v));
    assert_int_equal((unsigned)atoi(v), want);
    assert_true(want >= 19 && want <= 50);
    hdr_must(ua, "CSeq", v, sizeof(v));
    assert_string_equal(v, "8 REGISTER");
    assert_int_equal(f->edge.nconns, 1); /* nothing tried upstream */

    /* a second later: one second less */
    f->now += 1000;
    edge_settle(&f->edge);
    ua_send_register(f, reg9);
    ua = ua_wait(&f->edge, &f->to_ua, 3);
    hdr_must(ua, "Retry-After", v, sizeof(v));
    assert_int_equal((unsigned)atoi(v), want - 1);
    assert_int_equal(binding_retry_after_s(b), want - 1);
    free(rsp);
    free(up);
    free(reg9);
    free(reg8);
    free(reg7);
}

/* Item 6: flow 1 challenges, flow 2 accepts: the phone gets the 200, not
 * the challenge, and flow 1 is not torn down. */
static void test_two_flows_2xx_beats_challenge(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up[2] = { NULL }, *rsp, *ok;
    int ci[2];

    ua_send_register(f, reg);
    wait_two(f, up, ci);
    rsp = mk_response(up[0], "401 Unauthorized", "WWW-Authenticate: " CHALLENGE "\r\n");
    edge_send(&f->edge, ci[0], rsp);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 0); /* waits for flow 2 */
    ok = ok_for(up[1], 3600);
    edge_send(&f->edge, ci[1], ok);
    start_line_is(ua_wait(&f->edge, &f->to_ua, 1), "SIP/2.0 200 OK");
    f->now += 60000; /* past Timer F: the challenged flow is held, not failed */
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    assert_false(f->edge.conns[ci[0]].closed);
    assert_int_equal(f->edge.nconns, 2);
    free(ok);
    free(rsp);
    free(up[0]);
    free(up[1]);
    free(reg);
}

#define CHAL_N1 "Digest realm=\"example.net\", nonce=\"n1\", algorithm=MD5, qop=\"auth\""
#define CHAL_N2 "Digest realm=\"example.net\", nonce=\"n2\", algorithm=MD5, qop=\"auth\""
#define CRED_N1 "Digest username=\"alice\", realm=\"example.net\", nonce=\"n1\", " \
                "uri=\"sip:example.net\", response=\"0123456789abcdef0123456789abcdef\", " \
                "algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\""

/* Item 6, digest over two flows without configured credentials: both
 * challenge; the phone gets one challenge (flow 1's, once both answered);
 * its answer goes to flow 1 only, flow 2 gets the REGISTER without it; flow
 * 2's new challenge is no failure (its connection stays) and the phone gets
 * flow 1's 200. */
static void test_digest_two_flows(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL);
    char *reg8 = mk_register(8, UA_CONTACT, "Authorization: " CRED_N1 "\r\n");
    char *up[2] = { NULL }, *up2[2] = { NULL }, *r0, *r1, *r2, *ok, v[512];
    const char *ua;
    int ci[2], ci2[2];

    ua_send_register(f, reg7);
    wait_two(f, up, ci);
    r0 = mk_response(up[0], "401 Unauthorized", "WWW-Authenticate: " CHAL_N1 "\r\n");
    r1 = mk_response(up[1], "401 Unauthorized", "WWW-Authenticate: " CHAL_N2 "\r\n");
    edge_send(&f->edge, ci[0], r0);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 0);
    edge_send(&f->edge, ci[1], r1);
    ua = ua_wait(&f->edge, &f->to_ua, 1);
    start_line_is(ua, "SIP/2.0 401 Unauthorized");
    hdr_must(ua, "WWW-Authenticate", v, sizeof(v));
    assert_string_equal(v, CHAL_N1);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);

    ua_send_register(f, reg8);
    wait_two(f, up2, ci2);
    assert_int_equal(ci2[0], ci[0]); /* the same connections */
    assert_int_equal(ci2[1], ci[1]);
    hdr_must(up2[0], "Authorization", v, sizeof(v));
    assert_string_equal(v, CRED_N1);
    assert_int_equal(hdr_count(up2[1], "Authorization"), 0);
    assert_null(strstr(up2[1], "n1"));
    r2 = mk_response(up2[1], "401 Unauthorized", "WWW-Authenticate: " CHAL_N2 "\r\n");
    edge_send(&f->edge, ci2[1], r2);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    ok = ok_for(up2[0], 3600);
    edge_send(&f->edge, ci2[0], ok);
    start_line_is(ua_wait(&f->edge, &f->to_ua, 2), "SIP/2.0 200 OK");
    f->now += 60000;
    edge_settle(&f->edge);
    assert_false(f->edge.conns[ci[1]].closed); /* flow 2's challenge failed nothing */
    assert_int_equal(f->edge.nconns, 2);
    assert_int_equal(f->to_ua.n, 2);
    free(ok);
    free(r2);
    free(r1);
    free(r0);
    for (int i = 0; i < 2; i++) {
        free(up[i]);
        free(up2[i]);
    }
    free(reg8);
    free(reg7);
}

/* A registrar answering without outbound (no pongs expected, so the clock
 * may jump): the plain 200 for our REGISTER req. */
static char *plain_ok_for(const char *req)
{
    char contact[2048], extra[2200];

    hdr_must(req, "Contact", contact, sizeof(contact));
    strip_expires(contact);
    snprintf(extra, sizeof(extra), "Contact: %s;expires=300\r\n", contact);
    return mk_response(req, "200 OK", extra);
}

/* Item 6, RFC 5626 §4.2.2: a refresh answered 503 (Retry-After 20), then
 * 500 (no Retry-After): the flow and its connection stay, the REGISTER goes
 * again on it after 20 s, then after the §4.5 wait (60-120 s, the second
 * error in a row); a 2xx ends
 * it.  The phone got the 503 itself (its Retry-After kept). */
static void test_refresh_error_keeps_flow(void **state)
{
    struct fx *f = *state;
    char *reg7 = mk_register(7, UA_CONTACT, NULL), *reg8 = mk_register(8, UA_CONTACT, NULL);
    char *up, *rsp, v[128];
    const char *ua;
    struct binding *b;
    int ci, ci2;
    uint64_t t0;
    bool again = false;

    ua_send_register(f, reg7);
    up = edge_wait_msg(&f->edge, &ci);
    rsp = plain_ok_for(up);
    edge_send(&f->edge, ci, rsp);
    ua_wait(&f->edge, &f->to_ua, 1);
    free(rsp);
    free(up);
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_true(flow_working(binding_flow(b, 0)));

    ua_send_register(f, reg8);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    rsp = mk_response(up, "503 Service Unavailable", "Retry-After: 20\r\n");
    edge_send(&f->edge, ci, rsp);
    ua = ua_wait(&f->edge, &f->to_ua, 2);
    start_line_is(ua, "SIP/2.0 503 Service Unavailable");
    hdr_must(ua, "Retry-After", v, sizeof(v));
    assert_string_equal(v, "20");
    free(rsp);
    free(up);
    t0 = f->now;
    f->now = t0 + 19999;
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_false(f->edge.conns[ci].closed);
    assert_int_equal(flow_state(binding_flow(b, 0)), FLOW_ACTIVE);
    assert_true(flow_working(binding_flow(b, 0)));
    f->now = t0 + 20000;
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci); /* on the same connection */
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "3 REGISTER");
    rsp = mk_response(up, "500 Server Internal Error", NULL);
    edge_send(&f->edge, ci, rsp);
    free(rsp);
    free(up);
    edge_settle(&f->edge);
    t0 = f->now; /* the second error in a row: §4.5 row 2, 60-120 s */
    f->now = t0 + 59999;
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    for (int i = 0; i < 61 && !again; i++) {
        f->now += 1000;
        edge_settle(&f->edge);
        again = edge_has_msg(&f->edge);
    }
    assert_true(again);
    assert_true(f->now - t0 <= 120000);
    up = edge_wait_msg(&f->edge, &ci2);
    assert_int_equal(ci2, ci);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "4 REGISTER");
    rsp = plain_ok_for(up);
    edge_send(&f->edge, ci, rsp);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 2); /* the UA had its answer */
    assert_int_equal(f->edge.nconns, 1);
    assert_int_equal(flow_state(binding_flow(b, 0)), FLOW_ACTIVE);
    free(rsp);
    free(up);
    free(reg8);
    free(reg7);
}

/* Item 5: the only flow dies while the UA waits: the UA gets sipkeep's 503
 * at once, with Retry-After = the back-off before the next attempt. */
static void test_503_flow_down_retry_after(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up, v[64];
    const char *ua;
    struct flow_info fi;
    struct binding *b;
    int ci;

    ua_send_register(f, reg);
    up = edge_wait_msg(&f->edge, &ci);
    edge_drop(&f->edge, ci);
    ua = ua_wait(&f->edge, &f->to_ua, 1);
    start_line_is(ua, "SIP/2.0 503 Service Unavailable");
    b = binding_find_ua(f->ra, (struct sockaddr *)&f->ua.src, SLICE_NULL);
    assert_non_null(b);
    flow_get_info(binding_flow(b, 0), &fi);
    assert_int_equal(fi.state, FLOW_BACKOFF);
    hdr_must(ua, "Retry-After", v, sizeof(v));
    assert_int_equal((unsigned)atoi(v), (unsigned)((fi.retry_in_ms + 999) / 1000));
    assert_true(atoi(v) >= 30 && atoi(v) <= 60);
    free(up);
    free(reg);
}

/* Item 6, bounded: flow 1 challenges, flow 2 (connected, its registrar
 * silent) never answers: the UA gets the challenge after RA_BEST_WAIT_MS,
 * not after flow 2's 32 s Timer F, by which time the UA itself gives up. */
static void test_best_answer_bounded_wait(void **state)
{
    struct fx *f = *state;
    char *reg = mk_register(7, UA_CONTACT, NULL), *up[2] = { NULL }, *rsp;
    int ci[2];
    uint64_t t0;

    ua_send_register(f, reg);
    wait_two(f, up, ci);
    rsp = mk_response(up[0], "401 Unauthorized", "WWW-Authenticate: " CHALLENGE "\r\n");
    edge_send(&f->edge, ci[0], rsp);
    edge_settle(&f->edge);
    t0 = f->now;
    f->now = t0 + RA_BEST_WAIT_MS - 1;
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 0);
    f->now = t0 + RA_BEST_WAIT_MS;
    start_line_is(ua_wait(&f->edge, &f->to_ua, 1), "SIP/2.0 401 Unauthorized");
    /* flow 2's late 200 answers nobody (the UA has its answer) */
    free(rsp);
    rsp = ok_for(up[1], 3600);
    edge_send(&f->edge, ci[1], rsp);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1);
    free(rsp);
    free(up[0]);
    free(up[1]);
    free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_upstream_register),
        T(test_response_mapping),
        T(test_response_grant_below_clamp),
        T(test_cseq_mapping),
        T(test_challenge_passthrough),
        T(test_instance_persistence),
        T(test_deregister_param),
        T(test_deregister_header),
        T(test_flow_request),
        cmocka_unit_test_setup_teardown(test_two_flows, fx_setup2, fx_teardown),
        cmocka_unit_test(test_flows_key),
        T(test_third_party),
        T(test_contact_star),
        T(test_deregister_unknown_and_query),
        T(test_response_via_stack),
        T(test_failure_passthrough),
        T(test_binding_lapses),
        T(test_lapse_unanswered),
        T(test_reregister_new_port),
        T(test_flow_recovery),
        cmocka_unit_test_setup_teardown(test_four_flows, fx_setup4, fx_teardown),
        T(test_retry_after),
        T(test_503_during_backoff),
        T(test_503_flow_down_retry_after),
        cmocka_unit_test_setup_teardown(test_two_flows_2xx_beats_challenge, fx_setup2,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_digest_two_flows, fx_setup2, fx_teardown),
        cmocka_unit_test_setup_teardown(test_best_answer_bounded_wait, fx_setup2, fx_teardown),
        T(test_refresh_error_keeps_flow),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("regagent", tests, NULL, NULL);
}

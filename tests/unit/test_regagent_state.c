/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the registration agent across a restart and a reload
 * (issue 4 item 6): bindings re-registered from the stored state (same
 * instance-id and reg-id, new Call-ID, CSeq 1, no credentials) and matched
 * by the UA's next refresh; expired or unusable records dropped; and the
 * reload diff: unchanged services keep their bindings and connections
 * (re-pointed to the new cfg, the old one freed at once: ASan proves no
 * dangling pointer), removed and changed ones are de-registered (Expires:
 * 0) and closed, on the answer or after a bounded wait (fake clock), added
 * ones serve new REGISTERs. */
#include <stdint.h>
#include <time.h>

#define UA_SINK_MAX 32
#define FX_EXTRA_MEMBERS struct regstate *st;
#include "edge_fixture.h"

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "outbound/regagent.h"
#include "sip/msg.h"
#include "state/instid.h"
#include "state/regstate.h"

#include "tmpfiles.h"

static int ingress_token;

/* Services keep, gone and chg (all on edge port 0); variant 2: keep
 * unchanged, gone removed, chg moved to port 1, new added. */
static int add_service(char *buf, size_t sz, int n, const char *name, unsigned port)
{
    n += snprintf(buf + n, sz - (size_t)n,
                  "  - name: %s\n    domain: %s.net\n"
                  "    outbound_proxies: [\"sip:127.0.0.1:%u;transport=tcp\"]\n",
                  name, name, port);
    assert_true((size_t)n < sz);
    return n;
}

static struct cfg *load_cfg(const struct fx *f, int variant)
{
    char yaml[4096], err[256];
    struct cfg *c;
    unsigned p0 = f->edge.port[0], p1 = f->edge.port[1];
    int n = snprintf(yaml, sizeof(yaml),
                     "state_dir: %s\nlog:\n  level: error\n"
                     "ua:\n  allow: [\"127.0.0.0/8\"]\n  register_expires: 300\n"
                     "services:\n", f->dir.state);

    n = add_service(yaml, sizeof(yaml), n, "keep", p0);
    if (variant == 1)
        n = add_service(yaml, sizeof(yaml), n, "gone", p0);
    n = add_service(yaml, sizeof(yaml), n, "chg", variant == 1 ? p0 : p1);
    if (variant == 2)
        n = add_service(yaml, sizeof(yaml), n, "new", p0);
    if (cfg_load_buffer("t.yaml", yaml, (size_t)n, &c, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
    return c;
}

static void agent_start(struct fx *f)
{
    assert_int_equal(regstate_open(&f->st, f->dir.state, f->loop), 0);
    fx_agent_start(f, fx_flow_msg_ignore, f->st);
}

/* As main.c at exit: the bindings go, their records are written. */
static void agent_stop(struct fx *f)
{
    fx_agent_stop(f);
    assert_int_equal(regstate_flush(f->st), 0);
    regstate_free(f->st);
    f->st = NULL;
}

static int fx_setup(void **state)
{
    struct fx *f = fx_new("test_regagent_state", 2, "192.168.1.10", "192.168.1.1");

    assert_int_equal(mkdir(f->dir.state, 0700), 0);
    f->cfg = load_cfg(f, 1);
    f->ua.ingress = &ingress_token;
    agent_start(f);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    if (f->ra)
        agent_stop(f);
    fx_free(f);
    return 0;
}

static const struct cfg_service *svc_of(const struct cfg *c, const char *name)
{
    for (size_t i = 0; i < c->n_services; i++) {
        if (strcmp(c->services[i].name, name) == 0)
            return &c->services[i];
    }
    fail_msg("no service %s", name);
    return NULL;
}

/* A legacy UA's REGISTER for user@domain, with credentials. */
static void ua_register(struct fx *f, const char *svc, const char *user, const char *domain,
                        unsigned cseq)
{
    char text[2048];
    struct sipmsg *m = malloc(sizeof(*m));

    snprintf(text, sizeof(text),
             "REGISTER sip:%s SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bKua%s%u;rport\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:%s@%s>;tag=uatag1\r\n"
             "To: <sip:%s@%s>\r\n"
             "Call-ID: ua-call-%s\r\n"
             "CSeq: %u REGISTER\r\n"
             "Contact: <sip:%s@192.168.1.10:5060>\r\n"
             "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"abc\", "
             "uri=\"sip:%s\", response=\"00112233445566778899aabbccddeeff\"\r\n"
             "Expires: 3600\r\n"
             "User-Agent: LegacyPhone/1.0\r\n"
             "\r\n",
             domain, user, cseq, user, domain, user, domain, user, cseq, user, user, domain,
             domain);
    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, text, strlen(text), 0), 0);
    regagent_register(f->ra, svc_of(f->cfg, svc), m, &f->ua);
    free(m);
}

/* The registrar's 200 for our REGISTER req (outbound in force). */
static void answer_ok(struct fx *f, int ci, const char *req)
{
    char contact[2048], extra[2600], *ok;

    hdr_must(req, "Contact", contact, sizeof(contact));
    snprintf(extra, sizeof(extra), "Require: outbound\r\nContact: %s;expires=%s\r\n", contact,
             strstr(contact, "expires=0") ? "0" : "3600");
    ok = mk_response(req, "200 OK", extra);
    edge_send(&f->edge, ci, ok);
    free(ok);
}

/* UA REGISTER -> upstream (returned, with its connection) -> 200 -> UA. */
static char *register_ok(struct fx *f, const char *svc, const char *user, const char *domain,
                         unsigned cseq, int *ci)
{
    int nua = f->to_ua.n;
    char *up;

    ua_register(f, svc, user, domain, cseq);
    up = edge_wait_msg(&f->edge, ci);
    answer_ok(f, *ci, up);
    ua_wait(&f->edge, &f->to_ua, nua + 1);
    assert_memory_equal(f->to_ua.msg[nua], "SIP/2.0 200 OK\r\n", 16);
    return up;
}

static const struct binding *binding_of(const struct fx *f, const char *aor)
{
    for (const struct binding *b = binding_next(f->ra, NULL); b; b = binding_next(f->ra, b)) {
        if (strcmp(binding_aor(b), aor) == 0)
            return b;
    }
    return NULL;
}

static void *ingress_ok(const struct sockaddr_storage *local, void *arg)
{
    (void)local;
    (void)arg;
    return &ingress_token;
}

static void *ingress_none(const struct sockaddr_storage *local, void *arg)
{
    (void)local;
    (void)arg;
    return NULL;
}

/* up is a restored binding's first REGISTER upstream: the stored
 * instance-id inst with reg-id 1, a new CSeq, no credentials, our one Via
 * and Supported, the phone's other headers. */
static void assert_restored_register(const char *up, const char *inst)
{
    char v[256];

    assert_true(param_of(strstr(up, "Contact:"), "+sip.instance", v, sizeof(v)));
    assert_string_equal(v, inst);
    assert_non_null(strstr(up, ";reg-id=1"));
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "1 REGISTER");
    assert_null(strstr(up, "Authorization"));
    assert_int_equal(hdr_count(up, "Supported"), 1);
    assert_int_equal(hdr_count(up, "Via"), 1);
    assert_non_null(strstr(up, "User-Agent: LegacyPhone/1.0\r\n"));
}

/* ---- restart ---- */

static void test_restore(void **state)
{
    struct fx *f = *state;
    char inst1[128], cid1[128], cid2[128], v[256];
    int ci, ci2, nconns;
    char *up = register_ok(f, "keep", "alice", "keep.net", 7, &ci), *up2;
    const struct regstate_rec *r;

    assert_true(param_of(strstr(up, "Contact:"), "+sip.instance", inst1, sizeof(inst1)));
    hdr_must(up, "Call-ID", cid1, sizeof(cid1));
    assert_non_null(strstr(up, "Authorization:")); /* the UA's, passed upstream */
    r = regstate_get(f->st, "sip:alice@keep.net", "sip:alice@192.168.1.10:5060");
    assert_non_null(r);
    assert_true(r->expires_at >= (int64_t)time(NULL) + 299); /* granted 300 to the UA */
    assert_null(strstr(r->reg, "Authorization"));
    free(up);
    agent_stop(f);
    edge_wait_closed(&f->edge, ci);

    /* "Restart": a new agent over the same state_dir; the UA stays silent. */
    nconns = f->edge.nconns;
    agent_start(f);
    assert_int_equal(regagent_restore(f->ra, (int64_t)time(NULL), ingress_ok, NULL), 1);
    assert_int_equal(binding_count(f->ra), 1);
    up2 = edge_wait_msg(&f->edge, &ci2);
    assert_true(ci2 >= nconns); /* a new flow */
    assert_restored_register(up2, inst1);
    hdr_must(up2, "Call-ID", cid2, sizeof(cid2));
    assert_string_not_equal(cid1, cid2);
    answer_ok(f, ci2, up2);
    edge_settle(&f->edge);
    assert_int_equal(f->to_ua.n, 1); /* nothing for the UA: it asked nothing */
    free(up2);

    /* The UA's refresh finds the restored binding: same flow, no new one. */
    nconns = f->edge.nconns;
    up = register_ok(f, "keep", "alice", "keep.net", 8, &ci);
    assert_int_equal(ci, ci2);
    assert_int_equal(f->edge.nconns, nconns);
    assert_int_equal(binding_count(f->ra), 1);
    hdr_must(up, "CSeq", v, sizeof(v));
    assert_string_equal(v, "2 REGISTER");
    free(up);
}

/* The record keeps the phone's own REGISTER, shared with the binding
 * (issue 14 item 4); a file of version 1 kept the upstream REGISTER
 * instead, and restores the same way. */
static void test_restore_v1_file(void **state)
{
    struct fx *f = *state;
    char inst1[128], path[600], *text, *cut, *file;
    int ci, ci2;
    char *up = register_ok(f, "keep", "alice", "keep.net", 7, &ci), *up2;
    const struct regstate_rec *r;
    size_t len;

    r = regstate_get(f->st, "sip:alice@keep.net", "sip:alice@192.168.1.10:5060");
    assert_non_null(r);
    /* the phone's (its Via, its CSeq), without its credentials */
    assert_non_null(strstr(r->reg, "Via: SIP/2.0/UDP 192.168.1.10:5060;"));
    assert_non_null(strstr(r->reg, "CSeq: 7 REGISTER\r\n"));
    assert_null(strstr(r->reg, "Authorization"));
    assert_true(param_of(strstr(up, "Contact:"), "+sip.instance", inst1, sizeof(inst1)));
    agent_stop(f);
    edge_wait_closed(&f->edge, ci);

    /* The same record as a version-1 file: the upstream REGISTER as sent
     * (the store drops its Authorization on load all the same). */
    snprintf(path, sizeof(path), "%s/%s", f->dir.state, REGSTATE_FILE);
    text = slurp(path, &len);
    assert_memory_equal(text, "sipkeep-regstate 2\n", 19);
    cut = strstr(text, "\nreg ");
    assert_non_null(cut);
    cut[1] = '\0';
    text[17] = '1';
    len = strlen(text) + strlen(up) + 64;
    file = malloc(len);
    assert_non_null(file);
    snprintf(file, len, "%sreg %zu\n%s\nend\n", text, strlen(up), up);
    spit(path, file, strlen(file));
    free(file);
    free(text);
    free(up);

    agent_start(f);
    assert_int_equal(regstate_count(f->st), 1);
    assert_int_equal(regagent_restore(f->ra, (int64_t)time(NULL), ingress_ok, NULL), 1);
    up2 = edge_wait_msg(&f->edge, &ci2);
    assert_restored_register(up2, inst1);
    answer_ok(f, ci2, up2);
    edge_settle(&f->edge);
    free(up2);
}

/* The restored REGISTER fails (403: the flow backs off 30-60 s); the UA's
 * own REGISTER does not wait for that back-off: the flow starts again at
 * once and the UA gets its answer. */
static void test_restore_failed_then_ua(void **state)
{
    struct fx *f = *state;
    int ci, nconns;
    char *up = register_ok(f, "keep", "alice", "keep.net", 7, &ci), *rsp;

    free(up);
    agent_stop(f);
    agent_start(f);
    assert_int_equal(regagent_restore(f->ra, (int64_t)time(NULL), ingress_ok, NULL), 1);
    up = edge_wait_msg(&f->edge, &ci);
    rsp = mk_response(up, "403 Forbidden", NULL);
    edge_send(&f->edge, ci, rsp);
    free(rsp);
    free(up);
    assert_true(edge_wait_closed(&f->edge, ci));
    nconns = f->edge.nconns;
    up = register_ok(f, "keep", "alice", "keep.net", 8, &ci); /* no clock moved */
    assert_true(ci >= nconns);
    assert_int_equal(binding_count(f->ra), 1);
    free(up);
}

static void test_restore_drops(void **state)
{
    struct fx *f = *state;
    int ci;
    char *up = register_ok(f, "keep", "alice", "keep.net", 7, &ci);
    int64_t exp;

    free(up);
    up = register_ok(f, "chg", "carol", "chg.net", 7, &ci);
    free(up);
    exp = regstate_get(f->st, "sip:alice@keep.net", "sip:alice@192.168.1.10:5060")->expires_at;
    agent_stop(f);

    /* No listener for the UA's address: dropped from the store. */
    agent_start(f);
    assert_int_equal(regagent_restore(f->ra, exp - 10, ingress_none, NULL), 0);
    assert_int_equal(regstate_count(f->st), 0);
    agent_stop(f);
    edge_settle(&f->edge);
}

static void test_restore_expired(void **state)
{
    struct fx *f = *state;
    int ci;
    char *up = register_ok(f, "keep", "alice", "keep.net", 7, &ci);
    int64_t exp;
    int nconns;

    free(up);
    exp = regstate_get(f->st, "sip:alice@keep.net", "sip:alice@192.168.1.10:5060")->expires_at;
    agent_stop(f);
    nconns = f->edge.nconns;
    /* The UA's registration lapsed while sipkeep was down: nothing sent. */
    agent_start(f);
    assert_int_equal(regagent_restore(f->ra, exp, ingress_ok, NULL), 0);
    assert_int_equal(binding_count(f->ra), 0);
    assert_int_equal(regstate_count(f->st), 0);
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, nconns);
}

static void test_restore_service_gone(void **state)
{
    struct fx *f = *state;
    int ci;
    char *up = register_ok(f, "gone", "bob", "gone.net", 7, &ci);
    struct cfg *c2 = load_cfg(f, 2);

    free(up);
    agent_stop(f);
    cfg_free(f->cfg);
    f->cfg = c2;
    agent_start(f);
    assert_int_equal(regagent_restore(f->ra, (int64_t)time(NULL), ingress_ok, NULL), 0);
    assert_int_equal(regstate_count(f->st), 0);
}

/* Issue 11: state written before the "aor|host" key.  The phone came
 * back on another port once, so instance-ids holds two old-form lines for
 * it (the newer last) and registrations two records.  After the restart
 * one binding is restored, with the newest instance-id and Contact; the
 * superseded record goes. */
#define OLD_U1 "urn:uuid:00000001-0000-4000-8000-000000000001"
#define OLD_U3 "urn:uuid:00000003-0000-4000-8000-000000000003"

static void put_old_record(struct fx *f, const char *curi, const char *inst)
{
    char reg[1024], contact[256];
    struct regstate_rec r;

    snprintf(contact, sizeof(contact), "<%s>", curi);
    snprintf(reg, sizeof(reg),
             "REGISTER sip:keep.net SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKold\r\n"
             "From: <sip:alice@keep.net>;tag=uatag1\r\n"
             "To: <sip:alice@keep.net>\r\n"
             "Call-ID: old@sipkeep\r\nCSeq: 3 REGISTER\r\n"
             "Contact: %s;+sip.instance=\"<%s>\";reg-id=1\r\n"
             "Expires: 300\r\nContent-Length: 0\r\n\r\n", contact, inst);
    r = (struct regstate_rec){ .service = "keep", .ua_src = f->ua.src, .ua_local = f->ua.local,
                               .expires_at = (int64_t)time(NULL) + 200, .instance = inst,
                               .aor = "sip:alice@keep.net", .contact_uri = curi,
                               .contact = contact, .reg = reg, .reg_len = strlen(reg) };
    assert_int_equal(regstate_put(f->st, &r, 300), 0);
}

static void test_restore_old_keys(void **state)
{
    struct fx *f = *state;
    char path[600], *up, v[512];
    const struct binding *b;
    FILE *fp;
    int ci;

    put_old_record(f, "sip:alice@192.168.1.10:5060", OLD_U1);
    put_old_record(f, "sip:alice@192.168.1.10:5062;rinstance=ab", OLD_U3);
    agent_stop(f);
    snprintf(path, sizeof(path), "%s/instance-ids", f->dir.state);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s sip:alice@keep.net|sip:alice@192.168.1.10:5060\n"
                "%s sip:alice@keep.net|sip:alice@192.168.1.10:5062;rinstance=ab\n",
            OLD_U1, OLD_U3);
    assert_int_equal(fclose(fp), 0);

    agent_start(f);
    assert_int_equal(regstate_count(f->st), 2);
    assert_int_equal(regagent_restore(f->ra, (int64_t)time(NULL), ingress_ok, NULL), 1);
    assert_int_equal(binding_count(f->ra), 1);
    b = binding_of(f, "sip:alice@keep.net");
    assert_non_null(b);
    assert_string_equal(binding_instance(b), OLD_U3);
    assert_string_equal(binding_contact(b), "sip:alice@192.168.1.10:5062;rinstance=ab");
    assert_int_equal(regstate_count(f->st), 1);
    assert_non_null(regstate_get(f->st, "sip:alice@keep.net",
                                 "sip:alice@192.168.1.10:5062;rinstance=ab"));
    up = edge_wait_msg(&f->edge, &ci);
    hdr_must(up, "Contact", v, sizeof(v));
    assert_non_null(strstr(v, OLD_U3));
    assert_non_null(strstr(v, "<sip:alice@192.168.1.10:5062;rinstance=ab>"));
    free(up);
}

/* ---- reload ---- */

static void test_reload_diff(void **state)
{
    struct fx *f = *state;
    int ck, cg, cc, cn, ci, nconns;
    char *up;
    struct cfg *old = f->cfg, *c2 = load_cfg(f, 2);
    const struct binding *keep;
    bool saw_g = false, saw_c = false;

    /* As main.c at start (nothing stored yet): restore knows the ingress. */
    assert_int_equal(regagent_restore(f->ra, (int64_t)time(NULL), ingress_ok, NULL), 0);
    free(register_ok(f, "keep", "alice", "keep.net", 7, &ck));
    free(register_ok(f, "gone", "bob", "gone.net", 7, &cg));
    free(register_ok(f, "chg", "carol", "chg.net", 7, &cc));
    assert_int_equal(binding_count(f->ra), 3);
    nconns = f->edge.nconns;

    regagent_reload(f->ra, c2);
    assert_int_equal(regagent_retired(f->ra), 2);
    /* Unchanged: the same binding and flow, now pointing into c2. */
    keep = binding_of(f, "sip:alice@keep.net");
    assert_non_null(keep);
    assert_ptr_equal(binding_service(keep), svc_of(c2, "keep"));
    assert_ptr_equal(flow_proxy(binding_flow(keep, 0)), &svc_of(c2, "keep")->outbound_proxies[0]);
    /* Removed and changed: Expires: 0 on their flows (RFC 3261 §10.2.2). */
    for (int i = 0; i < 2; i++) {
        up = edge_wait_msg(&f->edge, &ci);
        assert_non_null(strstr(up, "expires=0"));
        assert_true(ci == cg || ci == cc);
        saw_g |= ci == cg;
        saw_c |= ci == cc;
        answer_ok(f, ci, up);
        free(up);
    }
    assert_true(saw_g && saw_c);
    assert_true(edge_wait_closed(&f->edge, cg));
    assert_true(edge_wait_closed(&f->edge, cc));
    assert_int_equal(regagent_retired(f->ra), 0);
    assert_false(f->edge.conns[ck].closed);
    /* Changed: once its old binding is gone, registered again at once
     * from its record, under the new settings (a flow to port 1). */
    up = edge_wait_msg(&f->edge, &cn);
    assert_int_equal(f->edge.conns[cn].listener, 1);
    assert_non_null(strstr(up, "To: <sip:carol@chg.net>"));
    assert_null(strstr(up, "expires=0"));
    answer_ok(f, cn, up);
    free(up);
    assert_int_equal(binding_count(f->ra), 2);
    assert_int_equal(f->edge.nconns, nconns + 1); /* keep: no reconnect */
    /* The removed service's record is gone; the changed one's stays. */
    assert_null(regstate_get(f->st, "sip:bob@gone.net", "sip:bob@192.168.1.10:5060"));
    assert_non_null(regstate_get(f->st, "sip:carol@chg.net", "sip:carol@192.168.1.10:5060"));

    /* Nothing refers to the old cfg any more. */
    cfg_free(old);
    f->cfg = c2;
    up = register_ok(f, "keep", "alice", "keep.net", 8, &ci);
    assert_int_equal(ci, ck);
    free(up);
    /* The UA's next REGISTER refreshes that binding on its new flow. */
    up = register_ok(f, "chg", "carol", "chg.net", 8, &ci);
    assert_int_equal(ci, cn);
    free(up);
    /* Added: serves new REGISTERs. */
    up = register_ok(f, "new", "dave", "new.net", 1, &cn);
    free(up);
    assert_int_equal(binding_count(f->ra), 3);
}

/* No answer to the de-registration: freed after RA_RELOAD_DEREG_MS. */
static void test_reload_bounded_wait(void **state)
{
    struct fx *f = *state;
    int cg, ci;
    struct cfg *old = f->cfg, *c2 = load_cfg(f, 2);
    char *up;

    free(register_ok(f, "gone", "bob", "gone.net", 7, &cg));
    regagent_reload(f->ra, c2);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, cg);
    assert_non_null(strstr(up, "expires=0"));
    free(up);
    edge_settle(&f->edge);
    assert_int_equal(regagent_retired(f->ra), 1);
    f->now += RA_RELOAD_DEREG_MS - 1;
    edge_settle(&f->edge);
    assert_int_equal(regagent_retired(f->ra), 1);
    f->now += 1;
    edge_settle(&f->edge);
    assert_int_equal(regagent_retired(f->ra), 0);
    assert_int_equal(binding_count(f->ra), 0);
    assert_true(edge_wait_closed(&f->edge, cg));
    cfg_free(old);
    f->cfg = c2;
}

/* Every key of a service counts: a change in any one is a changed service. */
static void test_service_equal(void **state)
{
    static const char *const extras[] = {
        "    keepalive: { interval: 30 }\n",
        "    keepalive: { pong_timeout: 5 }\n",
        "    recovery: { max_time: 600 }\n",
        "    tls: { verify: false }\n",
        "    outbound_fallback: false\n",
        "    credentials:\n      - { aor: \"sip:a@x.net\", username: a, password_file: /p }\n",
    };
    const char *head = "state_dir: /tmp/x\nua: { allow: [\"127.0.0.0/8\"] }\nservices:\n"
                       "  - name: s\n    domain: x.net\n"
                       "    outbound_proxies: [\"sip:127.0.0.1:5060;transport=tcp\"]\n";
    char yaml[1024], err[256];
    struct cfg *base, *again, *other;

    (void)state;
    assert_int_equal(cfg_load_buffer("a", head, strlen(head), &base, err, sizeof(err)), 0);
    assert_int_equal(cfg_load_buffer("b", head, strlen(head), &again, err, sizeof(err)), 0);
    assert_true(cfg_service_equal(&base->services[0], &again->services[0]));
    for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
        int n = snprintf(yaml, sizeof(yaml), "%s%s", head, extras[i]);
        if (cfg_load_buffer("c", yaml, (size_t)n, &other, err, sizeof(err)) != 0)
            fail_msg("%s: %s", extras[i], err);
        assert_false(cfg_service_equal(&base->services[0], &other->services[0]));
        cfg_free(other);
    }
    cfg_free(base);
    cfg_free(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restore, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_v1_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_failed_then_ua, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_drops, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_expired, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_service_gone, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore_old_keys, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reload_diff, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reload_bounded_wait, fx_setup, fx_teardown),
        cmocka_unit_test(test_service_equal),
    };

    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test_regagent_state");
    return cmocka_run_group_tests(tests, NULL, NULL);
}

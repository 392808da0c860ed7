/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_oom.c - the out-of-memory pass (libre's habit): linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * (Makefile: make oom), so every allocation sipkeep's own code makes goes
 * through the wrappers below, which fail the Nth one.  For N = 0, 1, 2, ...
 * until the operation runs with no failure injected, each operation must
 * fail cleanly and leave nothing behind:
 *
 *   - cfg_load_buffer of a realistic configuration: -ENOMEM, *out
 *     untouched, a message;
 *   - router_new (TLS contexts, transaction table, agent): -ENOMEM, *out
 *     untouched, a message;
 *   - a phone's REGISTER through the router and the registration agent to
 *     two flows (the fake edge answers 200) and back, the registration
 *     stored (regstate): the phone is answered with the 200 or an error or
 *     not at all, and afterwards (no failure injected) its next REGISTER
 *     goes through, is answered 200 and stored;
 *   - a registered phone's INVITE out (the edge answers 180, 200) and an
 *     INVITE from the edge to the phone (the phone answers 200): whatever
 *     the failure did to the call, the next call goes through (after the
 *     phone registered again, where the failure cost the flow);
 *   - a restart: regstate_open loading the stored registration (-ENOMEM,
 *     or the whole file loaded), router_restore; the phone's next REGISTER
 *     works and is stored;
 *   - a reload that changes the phone's service (router_reload: -ENOMEM
 *     with nothing changed, or the binding retired and freed); the phone
 *     registers again;
 *   - the instance-id store: open (loading and migrating a file), assign a
 *     new id (persisted), look up a known one: -ENOMEM with *out untouched
 *     or nothing remembered and the file unchanged; a retry works.
 *
 * Each N runs twice: only the Nth allocation fails ("once"), and every
 * allocation from the Nth on fails ("sticky", so the error paths' own
 * allocations fail too).  After each N, LeakSanitizer looks for leaks
 * (__lsan_do_recoverable_leak_check) and the test fails naming the
 * operation, the mode and N; LeakSanitizer runs again at exit.
 *
 * Allocations made inside shared libraries (libyaml, OpenSSL, libc's own)
 * are not wrapped (--wrap works on the objects linked here), and those the
 * test itself makes are not counted (oom_pause). */
#include <fcntl.h>
#include <sanitizer/lsan_interface.h>
#include <stdint.h>
#include <time.h>

#include "fake_edge.h"

#include "config/config.h"
#include "core/addr.h"
#include "core/log.h"
#include "core/loop.h"
#include "outbound/binding.h"
#include "proxy/router.h"
#include "state/instid.h"
#include "state/instid_int.h"
#include "state/regstate.h"

/* ---- the wrappers ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static struct {
    bool armed;    /* counting (false: the test's own allocations) */
    bool sticky;   /* every allocation from `at` on fails */
    long at;       /* index of the first failing allocation */
    long seen;     /* allocations counted since oom_arm */
    long failed;   /* failures injected since oom_arm */
} oom;

static bool oom_fail(void)
{
    long i;

    if (!oom.armed)
        return false;
    i = oom.seen++;
    if (i == oom.at || (oom.sticky && i > oom.at)) {
        oom.failed++;
        errno = ENOMEM;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    return oom_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return oom_fail() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return oom_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return oom_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return oom_fail() ? NULL : __real_strndup(s, n);
}

static void oom_arm(long at, bool sticky)
{
    oom = (__typeof__(oom)){ .armed = true, .sticky = sticky, .at = at };
}

static void oom_disarm(void)
{
    oom.armed = false;
}

/* The test's own allocations in the middle of an operation are not
 * counted: pause, then resume with what pause returned. */
static bool oom_pause(void)
{
    bool was = oom.armed;

    oom.armed = false;
    return was;
}

static void oom_resume(bool was)
{
    oom.armed = was;
}

/* ---- the loop over N ---- */

/* One operation under test.  setup and teardown run unarmed; run runs
 * armed and returns its result; check looks at the state after run (armed
 * or not, nothing counted) given whether a failure was injected. */
struct oom_op {
    const char *name;
    void (*setup)(void **ctx);
    int (*run)(void *ctx);
    void (*check)(void *ctx, int rc, bool failed);
    void (*teardown)(void *ctx);
};

#define OOM_MAX_N 100000

static void oom_loop(const struct oom_op *op, bool sticky)
{
    long n;

    for (n = 0; n < OOM_MAX_N; n++) {
        void *ctx = NULL;
        bool failed;
        int rc;

        op->setup(&ctx);
        oom_arm(n, sticky);
        rc = op->run(ctx);
        oom_disarm();
        failed = oom.failed > 0;
        op->check(ctx, rc, failed);
        op->teardown(ctx);
        if (__lsan_do_recoverable_leak_check())
            fail_msg("oom: %s (%s): leak when allocation %ld failed", op->name,
                     sticky ? "sticky" : "once", n);
        if (!failed)
            break;
    }
    assert_true(n < OOM_MAX_N);
    print_message("oom: %s (%s): %ld allocations, each failed in turn\n", op->name,
                  sticky ? "sticky" : "once", n);
}

/* A test: the operation in *state, each failure mode in turn. */
static void test_oom(void **state)
{
    const struct oom_op *op = *state;

    oom_loop(op, false);
    oom_loop(op, true);
}

/* ---- config loading ---- */

static const char cfg_yaml[] =
    "mode: proxy\n"
    "listen:\n  - \"udp:0.0.0.0:5060\"\n  - \"udp:[::]:5062\"\n"
    "state_dir: /var/lib/sipkeep\n"
    "control_socket: /run/sipkeep/sipkeep.sock\n"
    "log:\n  level: error\n  target: stderr\n"
    "ua:\n  allow:\n    - \"192.168.0.0/16\"\n    - \"10.1.2.0/24\"\n"
    "    - \"fd00::/8\"\n    - \"127.0.0.1\"\n  register_expires: 300\n"
    "services:\n"
    "  - name: provider\n    domain: sip.example.net\n"
    "    outbound_proxies:\n"
    "      - \"sip:edge1.example.net:5060;transport=tcp\"\n"
    "      - \"sips:edge2.example.net:5061\"\n"
    "      - \"sip:192.0.2.7;transport=udp\"\n"
    "    tls:\n      ca_file: /etc/ssl/certs/ca-certificates.crt\n      verify: true\n"
    "    keepalive:\n      interval: auto\n      pong_timeout: 10\n      udp: auto\n"
    "    recovery:\n      base_time_all_failed: 30\n      base_time_not_failed: 90\n"
    "      max_time: 1800\n"
    "    outbound_fallback: true\n"
    "  - name: second\n    domain: voip.example.org\n"
    "    outbound_proxies:\n"
    "      - \"sip:203.0.113.5:5070;transport=tcp\"\n"
    "      - \"sip:203.0.113.6:5070;transport=tcp\"\n"
    "    intercept: [\"198.51.100.7:5080\"]\n"
    "transparent:\n  queue: 0\n  interfaces: [lan0, \"wg+\"]\n  manage_firewall: true\n"
    "  output: false\n  mark: 21321\n";

struct cfg_ctx {
    struct cfg *cfg;
    char err[256];
};

static void cfg_setup(void **ctx)
{
    struct cfg_ctx *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    c->cfg = (struct cfg *)c; /* must stay untouched on failure */
    *ctx = c;
}

static int cfg_run(void *ctx)
{
    struct cfg_ctx *c = ctx;

    return cfg_load_buffer("oom.yaml", cfg_yaml, sizeof(cfg_yaml) - 1, &c->cfg, c->err,
                           sizeof(c->err));
}

static void cfg_check(void *ctx, int rc, bool failed)
{
    struct cfg_ctx *c = ctx;

    if (!failed) {
        if (rc != 0)
            fail_msg("config: %s", c->err);
        assert_int_equal(c->cfg->n_services, 2);
        assert_int_equal(c->cfg->services[0].n_outbound_proxies, 3);
        return;
    }
    if (rc != -ENOMEM)
        fail_msg("cfg_load_buffer: %d (%s), expected -ENOMEM", rc, c->err);
    assert_ptr_equal(c->cfg, (struct cfg *)c);
    assert_true(c->err[0] != '\0');
}

static void cfg_teardown(void *ctx)
{
    struct cfg_ctx *c = ctx;

    if (c->cfg != (struct cfg *)c)
        cfg_free(c->cfg);
    free(c);
}

static const struct oom_op op_config = {
    "cfg_load_buffer", cfg_setup, cfg_run, cfg_check, cfg_teardown
};

/* ---- router_new, and a REGISTER through it ---- */

#define FX_EXTRA_MEMBERS struct router *r; struct regstate *st; int ci; struct cfg *ncfg;
#include "edge_fixture.h"

/* env.send_ua: the sink's copy is the test's. */
static void oom_send_ua(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    bool was = oom_pause();

    fx_send_ua(ua, buf, len, arg);
    oom_resume(was);
}

/* The fixture of test_router.c with two flows; with tls the config gets a
 * TLS service too (router_new makes its TLS context: only
 * test_oom_router_new's, as loading the CA bundle is slow under ASan). */
static void rt_load_cfg(struct fx *f, const char *svc_extra, bool tls, struct cfg **out)
{
    char extra[512];

    snprintf(extra, sizeof(extra), "%s", svc_extra);
    if (tls)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
                 "  - name: tls\n    domain: tls.example.org\n"
                 "    outbound_proxies: [\"sips:127.0.0.1:%u\"]\n"
                 "    tls: {ca_file: /etc/ssl/certs/ca-certificates.crt, verify: true}\n",
                 f->edge.port[0]);
    edge_load_cfg_extra(&f->edge, f->dir.state, extra, out);
}

static struct fx *rt_fixture(bool tls)
{
    struct fx *f = fx_new("test_oom", 2, "127.0.0.10", "127.0.0.1");

    rt_load_cfg(f, "", tls, &f->cfg);
    assert_int_equal(instid_store_open(&f->ids, f->dir.state), 0);
    return f;
}

static int rt_new(struct fx *f, char *err, size_t errsz)
{
    struct router_env env = { .loop = f->loop, .cfg = f->cfg, .ids = f->ids,
                              .send_ua = oom_send_ua, .arg = f, .state = f->st };

    return router_new(&f->r, &env, err, errsz);
}

struct rn_ctx {
    struct fx *f;
    char err[256];
};

static void rn_setup(void **ctx)
{
    struct rn_ctx *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    c->f = rt_fixture(true);
    c->f->r = (struct router *)c; /* must stay untouched on failure */
    *ctx = c;
}

static int rn_run(void *ctx)
{
    struct rn_ctx *c = ctx;

    return rt_new(c->f, c->err, sizeof(c->err));
}

static void rn_check(void *ctx, int rc, bool failed)
{
    struct rn_ctx *c = ctx;

    if (!failed) {
        if (rc != 0)
            fail_msg("router_new: %s", c->err);
        return;
    }
    if (rc != -ENOMEM)
        fail_msg("router_new: %d (%s), expected -ENOMEM", rc, c->err);
    assert_ptr_equal(c->f->r, (struct router *)c);
    assert_true(c->err[0] != '\0');
    c->f->r = NULL;
}

static void rn_teardown(void *ctx)
{
    struct rn_ctx *c = ctx;

    router_free(c->f->r);
    fx_free(c->f);
    free(c);
}

static const struct oom_op op_router_new = {
    "router_new", rn_setup, rn_run, rn_check, rn_teardown
};

static char *mk_register(unsigned cseq)
{
    char *out = malloc(2048);
    int n = snprintf(out, 2048,
                     "REGISTER sip:example.net SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKreg%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.net>;tag=uatag1\r\n"
                     "To: <sip:alice@example.net>\r\n"
                     "Call-ID: ua-call-1\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "Contact: <sip:alice@127.0.0.10:5060>\r\n"
                     "Expires: 3600\r\n"
                     "Content-Length: 0\r\n"
                     "\r\n",
                     cseq, cseq);

    assert_non_null(out);
    assert_true(n < 2048);
    return out;
}

/* Runs the loop (counted when armed) and polls the edge (not counted) at
 * most iters times, until the UA has more than nua messages. */
static void rt_pump(struct fx *f, int nua, int iters)
{
    for (int i = 0; i < iters && f->to_ua.n <= nua; i++) {
        bool was = oom_pause();

        edge_poll(&f->edge);
        oom_resume(was);
        if (edge_has_msg(&f->edge))
            return;
        assert_int_equal(loop_run_once(f->loop, 1), 0);
    }
}

/* The edge answers every request it has received (the test's work: not
 * counted): a REGISTER 200 with outbound, an INVITE 180 then 200, an ACK
 * nothing, anything else 200.  Returns how many messages it read. */
static int rt_answer_all(struct fx *f)
{
    bool was = oom_pause();
    int n = 0;

    edge_poll(&f->edge);
    while (edge_has_msg(&f->edge)) {
        int ci;
        char *up = edge_wait_msg(&f->edge, &ci), contact[2048], extra[4096], *ok = NULL;

        n++;
        if (strncmp(up, "REGISTER ", 9) == 0) {
            f->ci = ci; /* the flow INVITEs to the phone take */
            hdr_must(up, "Contact", contact, sizeof(contact));
            snprintf(extra, sizeof(extra), "Require: outbound\r\nFlow-Timer: 20\r\n"
                     "Path: <sip:tok@127.0.0.1;lr;ob>\r\nContact: %s;expires=3600\r\n",
                     contact);
            ok = mk_response(up, "200 OK", extra);
        } else if (strncmp(up, "INVITE ", 7) == 0) {
            char *ring = mk_response(up, "180 Ringing", "Contact: <sip:bob@203.0.113.9>\r\n");

            edge_send(&f->edge, ci, ring);
            free(ring);
            ok = mk_response(up, "200 OK", "Contact: <sip:bob@203.0.113.9>\r\n");
        } else if (strncmp(up, "ACK ", 4) != 0 && strncmp(up, "SIP/2.0 ", 8) != 0) {
            ok = mk_response(up, "200 OK", NULL);
        }
        if (ok)
            edge_send(&f->edge, ci, ok);
        free(ok);
        free(up);
    }
    oom_resume(was);
    return n;
}

/* The status of the first final response the UA got from message nua on,
 * 0 for none. */
static int ua_final(const struct fx *f, int nua)
{
    for (int i = nua; i < f->to_ua.n; i++) {
        int st = strncmp(f->to_ua.msg[i], "SIP/2.0 ", 8) == 0 ? atoi(f->to_ua.msg[i] + 8) : 0;

        if (st >= 200)
            return st;
    }
    return 0;
}

/* The phone sends text (the test's copy; freed here) and the loop runs,
 * the edge answering, until the phone has a final response or the loop
 * settles: returns its status, 0 for none. */
static int rt_send(struct fx *f, char *text)
{
    int nua = f->to_ua.n;
    bool was;

    router_from_ua(f->r, text, strlen(text), &f->ua);
    for (int round = 0; round < 20 && !ua_final(f, nua); round++) {
        rt_pump(f, f->to_ua.n, 40);
        if (rt_answer_all(f) == 0 && !ua_final(f, nua)) {
            /* nothing in flight: let a flow's back-off or the best-answer
             * wait run out (fake clock) */
            f->now += 5000;
        }
    }
    was = oom_pause();
    free(text);
    oom_resume(was);
    return ua_final(f, nua);
}

static int rt_register(struct fx *f, unsigned cseq)
{
    bool was = oom_pause();
    char *reg = mk_register(cseq);

    oom_resume(was);
    return rt_send(f, reg);
}

/* The phone registers (200), its next REGISTERs going out once the flows
 * are back (503 while they back off).  Not counted when unarmed. */
static int rt_register_until_ok(struct fx *f, unsigned cseq)
{
    int status;

    for (unsigned i = 0; i < 4 && (status = rt_register(f, cseq + i)) == 503; i++) {
        f->now += 120000;
        rt_pump(f, f->to_ua.n, 10);
        rt_answer_all(f);
    }
    return status;
}

static void reg_setup(void **ctx)
{
    struct fx *f = rt_fixture(false);
    char err[256];

    assert_int_equal(regstate_open(&f->st, f->dir.state, f->loop), 0);
    if (rt_new(f, err, sizeof(err)) != 0)
        fail_msg("router_new: %s", err);
    *ctx = f;
}

static int reg_run(void *ctx)
{
    return rt_register(ctx, 1);
}

static void reg_check(void *ctx, int status, bool failed)
{
    struct fx *f = ctx;

    if (!failed) {
        assert_int_equal(status, 200);
        assert_int_equal(binding_count(router_agent(f->r)), 1);
        assert_int_equal(regstate_count(f->st), 1);
        return;
    }
    /* 200 (the failure hit something that recovered), an error or none */
    if (status != 0 && status != 200 && status < 400)
        fail_msg("REGISTER answered %d under a failed allocation", status);
    /* whatever the failure left, the phone's next REGISTERs work: at once,
     * or (503 while the flows are in back-off) once the back-off is over */
    status = rt_register_until_ok(f, 2);
    if (status != 200)
        fail_msg("the REGISTER after allocation %ld failed was answered %d, not 200", oom.at,
                 status);
    assert_int_equal(binding_count(router_agent(f->r)), 1);
    assert_int_equal(regstate_count(f->st), 1); /* stored, at the latest by the retry */
}

static void reg_teardown(void *ctx)
{
    struct fx *f = ctx;

    router_free(f->r);
    cfg_free(f->ncfg);
    if (f->st)
        assert_int_equal(regstate_flush(f->st), 0);
    regstate_free(f->st);
    fx_free(f);
}

static const struct oom_op op_register = {
    "REGISTER", reg_setup, reg_run, reg_check, reg_teardown
};

/* ---- INVITEs through the router, both ways ---- */

/* A registered phone (not counted). */
static void call_setup(void **ctx)
{
    struct fx *f;

    reg_setup(ctx);
    f = *ctx;
    assert_int_equal(rt_register(f, 1), 200);
}

static char *mk_invite(unsigned k)
{
    char *out = malloc(2048);
    int n = snprintf(out, 2048,
                     "INVITE sip:bob@example.net SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKinv%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: \"Alice\" <sip:alice@example.net>;tag=a%u\r\n"
                     "To: <sip:bob@example.net>\r\n"
                     "Call-ID: call-%u@127.0.0.10\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "Contact: <sip:alice@127.0.0.10:5060>\r\n"
                     "Content-Length: 0\r\n\r\n",
                     k, k, k);

    assert_non_null(out);
    assert_true(n < 2048);
    return out;
}

static int call_out(struct fx *f, unsigned k)
{
    bool was = oom_pause();
    char *inv = mk_invite(k);

    oom_resume(was);
    return rt_send(f, inv);
}

static int call_out_run(void *ctx)
{
    return call_out(ctx, 1);
}

/* Whatever a failure left, the phone can call again: at once, or once
 * its registration is back. */
static void call_recover(struct fx *f, int (*call)(struct fx *f, unsigned k))
{
    int status = 0;

    for (unsigned k = 2; k < 5 && (status = call(f, k)) != 200; k++) {
        f->now += 120000;
        rt_pump(f, f->to_ua.n, 10);
        rt_answer_all(f);
        assert_int_equal(rt_register_until_ok(f, 10 * k), 200);
    }
    if (status != 200)
        fail_msg("the call after allocation %ld failed ended %d, not 200", oom.at, status);
}

static void call_out_check(void *ctx, int status, bool failed)
{
    struct fx *f = ctx;

    if (!failed) {
        assert_int_equal(status, 200);
        return;
    }
    if (status != 0 && status != 200 && status < 400)
        fail_msg("INVITE answered %d under a failed allocation", status);
    call_recover(f, call_out);
}

static const struct oom_op op_call_out = {
    "INVITE from the phone", call_setup, call_out_run, call_out_check, reg_teardown
};

/* The edge sends an INVITE on the phone's flow; the phone answers 200.
 * Returns 200 when that 200 reached the edge, 0 when the phone's answer
 * did not, -1 when the INVITE did not reach the phone. */
static int call_in(struct fx *f, unsigned k)
{
    bool was = oom_pause();
    char inv[2048], *ok;
    int nua = f->to_ua.n, ci = f->ci, got = 0;

    snprintf(inv, sizeof(inv),
             "INVITE sip:alice@127.0.0.10:5060;ob SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKedge%u\r\n"
             "Max-Forwards: 68\r\n"
             "Record-Route: <sip:tok@127.0.0.1;lr>\r\n"
             "From: <sip:bob@example.net>;tag=b%u\r\n"
             "To: <sip:alice@example.net>\r\n"
             "Call-ID: in-%u@example.net\r\n"
             "CSeq: 1 INVITE\r\n"
             "Contact: <sip:bob@203.0.113.9>\r\n"
             "Content-Length: 0\r\n\r\n",
             f->edge.port[f->edge.conns[ci].listener], k, k, k);
    edge_poll(&f->edge); /* notices a flow sipkeep closed */
    if (f->edge.conns[ci].fd < 0 || f->edge.conns[ci].closed) {
        oom_resume(was);
        return -1;
    }
    edge_send(&f->edge, ci, inv);
    oom_resume(was);
    for (int i = 0; i < 200 && f->to_ua.n == nua; i++)
        assert_int_equal(loop_run_once(f->loop, 1), 0);
    for (int i = nua; i < f->to_ua.n; i++)
        got |= strncmp(f->to_ua.msg[i], "INVITE ", 7) == 0;
    if (!got)
        return -1;
    was = oom_pause();
    ok = mk_response(f->to_ua.msg[f->to_ua.n - 1], "200 OK",
                     "Contact: <sip:alice@127.0.0.10:5060>\r\n");
    oom_resume(was);
    router_from_ua(f->r, ok, strlen(ok), &f->ua);
    was = oom_pause();
    free(ok);
    oom_resume(was);
    for (int i = 0; i < 200; i++) {
        bool msg;

        was = oom_pause();
        edge_poll(&f->edge);
        msg = edge_has_msg(&f->edge);
        if (msg) {
            char *up = edge_wait_msg(&f->edge, &ci);
            int st = strncmp(up, "SIP/2.0 200 ", 12) == 0 ? 200 : 0;

            free(up);
            oom_resume(was);
            return st;
        }
        oom_resume(was);
        assert_int_equal(loop_run_once(f->loop, 1), 0);
    }
    return 0;
}

static int call_in_run(void *ctx)
{
    return call_in(ctx, 1);
}

static void call_in_check(void *ctx, int status, bool failed)
{
    if (!failed) {
        assert_int_equal(status, 200);
        return;
    }
    call_recover(ctx, call_in);
}

static const struct oom_op op_call_in = {
    "INVITE to the phone", call_setup, call_in_run, call_in_check, reg_teardown
};

/* ---- a restart: the stored registration loaded and registered again ---- */

static void *rs_ingress(const struct sockaddr_storage *local, void *arg)
{
    (void)local;
    return arg; /* any non-NULL handle: send_ua does not look at it */
}

/* The first life (not counted): the phone registered and stored, then the
 * router and the store gone as at a stop. */
static void rs_setup(void **ctx)
{
    struct fx *f;

    call_setup(ctx);
    f = *ctx;
    assert_int_equal(regstate_count(f->st), 1);
    router_free(f->r);
    f->r = NULL;
    assert_int_equal(regstate_flush(f->st), 0);
    regstate_free(f->st);
    f->st = (struct regstate *)f; /* must stay untouched on failure */
}

/* The second life: the store opened (its file loaded), a router on it (not
 * counted: test_oom_router_new's), router_restore and the loop until the
 * edge has answered the REGISTERs.  Returns regstate_open's error or how
 * many bindings were restored. */
static size_t rs_loaded; /* records regstate_open loaded */

static int rs_run(void *ctx)
{
    struct fx *f = ctx;
    char err[256];
    bool was;
    size_t n;
    int rc = regstate_open(&f->st, f->dir.state, f->loop);

    if (rc < 0)
        return rc;
    was = oom_pause();
    rs_loaded = regstate_count(f->st);
    if (rt_new(f, err, sizeof(err)) != 0)
        fail_msg("router_new: %s", err);
    oom_resume(was);
    n = router_restore(f->r, (int64_t)time(NULL), rs_ingress, f);
    for (int round = 0; round < 4; round++) {
        rt_pump(f, f->to_ua.n, 40);
        rt_answer_all(f);
    }
    return (int)n;
}

static void rs_check(void *ctx, int rc, bool failed)
{
    struct fx *f = ctx;

    if (rc < 0) {
        assert_true(failed);
        if (rc != -ENOMEM)
            fail_msg("regstate_open: %d, expected -ENOMEM", rc);
        assert_ptr_equal(f->st, (struct regstate *)f);
        f->st = NULL;
        return;
    }
    /* opened: the file was loaded whole, never silently dropped */
    if (rs_loaded != 1)
        fail_msg("regstate_open loaded %zu records (1 stored) with allocation %ld failed (%s)",
                 rs_loaded, oom.at, oom.sticky ? "sticky" : "once");
    if (!failed) {
        assert_int_equal(rc, 1);
        assert_int_equal(binding_count(router_agent(f->r)), 1);
        assert_int_equal(regstate_count(f->st), 1);
        return;
    }
    /* restored or not (then dropped from the store, logged), the phone's
     * next REGISTER works and is stored */
    assert_true(rc == 0 || rc == 1);
    if (rt_register_until_ok(f, 2) != 200)
        fail_msg("the REGISTER after allocation %ld failed was not answered 200", oom.at);
    assert_int_equal(binding_count(router_agent(f->r)), 1);
    assert_int_equal(regstate_count(f->st), 1);
}

static const struct oom_op op_restart = {
    "restart (regstate_open, router_restore)", rs_setup, rs_run, rs_check, reg_teardown
};

/* ---- a reload that changes the phone's service ---- */

/* A registered phone and the next configuration (its service's keepalive
 * changed: the binding is retired), not counted. */
static void rl_setup(void **ctx)
{
    struct fx *f;

    call_setup(ctx);
    f = *ctx;
    rt_load_cfg(f, "    keepalive:\n      pong_timeout: 5\n", false, &f->ncfg);
}

/* router_reload, then the loop (the edge answering the de-registration)
 * past RA_RELOAD_DEREG_MS.  Returns router_reload's result. */
static size_t rl_retired; /* bindings the reload retired */

static int rl_run(void *ctx)
{
    struct fx *f = ctx;
    char err[256] = "";
    int rc = router_reload(f->r, f->ncfg, err, sizeof(err));

    if (rc < 0 && rc != -ENOMEM)
        fail_msg("router_reload: %d (%s), expected -ENOMEM", rc, err);
    rl_retired = router_retired(f->r);
    for (int round = 0; round < 4; round++) {
        rt_pump(f, f->to_ua.n, 40);
        rt_answer_all(f);
        f->now += RA_RELOAD_DEREG_MS;
    }
    rt_pump(f, f->to_ua.n, 10);
    return rc;
}

static void rl_check(void *ctx, int rc, bool failed)
{
    struct fx *f = ctx;

    if (rc < 0) {
        /* nothing changed: the binding kept, none retired */
        assert_true(failed);
        assert_int_equal(router_retired(f->r), 0);
        assert_int_equal(binding_count(router_agent(f->r)), 1);
    } else {
        if (!failed)
            assert_int_equal(rl_retired, 1);
        assert_int_equal(router_retired(f->r), 0); /* freed, the old cfg free to go */
    }
    /* either way the phone registers (again) */
    if (rt_register_until_ok(f, 2) != 200)
        fail_msg("the REGISTER after the reload (allocation %ld failed) was not answered 200",
                 oom.at);
    assert_int_equal(binding_count(router_agent(f->r)), 1);
}

static const struct oom_op op_reload = {
    "reload (router_reload, a service changed)", rl_setup, rl_run, rl_check, reg_teardown
};

/* ---- the instance-id store ---- */

/* Three phones, the middle one under an old-form key (migrated on load,
 * then the file is rewritten). */
static const char ids_file[] =
    "# sipkeep instance-ids\n"
    "urn:uuid:f81d4fae-7dec-41d0-a765-00a0c91e6bf6 sip:alice@example.net|192.168.1.10\n"
    "urn:uuid:0e1c5a64-2b9e-4c55-9d0a-3f6f1d6e2a01 sip:bob@example.net|sip:bob@192.168.1.11:5060;rinstance=1\n"
    "urn:uuid:7d3c0a2e-6f4b-4a1d-8e2f-5b9c8d7e6f10 sip:carol@example.net|192.168.1.12\n";

struct id_ctx {
    struct test_dir dir;
    char path[512];
    struct instid_store *s;
    char before[4096]; /* the file before instid_get */
    const char *urn;
    int step;          /* 1 open failed, 2 get of the new key failed, 3 all ran */
};

static void read_file(const char *path, char *buf, size_t sz)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, sz - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    close(fd);
}

static void id_setup(void **ctx)
{
    struct id_ctx *c = calloc(1, sizeof(*c));
    int fd;

    assert_non_null(c);
    test_dir_make(&c->dir, "test_oom_ids");
    assert_int_equal(mkdir(c->dir.state, 0700), 0);
    snprintf(c->path, sizeof(c->path), "%s/instance-ids", c->dir.state);
    fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, ids_file, sizeof(ids_file) - 1), (ssize_t)sizeof(ids_file) - 1);
    close(fd);
    c->s = (struct instid_store *)c; /* must stay untouched on failure */
    *ctx = c;
}

static int id_run(void *ctx)
{
    struct id_ctx *c = ctx;
    const char *known;
    bool created = true;
    int rc;

    c->step = 1;
    rc = instid_store_open(&c->s, c->dir.state);
    if (rc < 0)
        return rc;
    c->step = 2;
    {
        bool was = oom_pause(); /* the test's read is not counted */

        read_file(c->path, c->before, sizeof(c->before));
        oom_resume(was);
    }
    rc = instid_get(c->s, slice_cstr("sip:dave@example.net|192.168.1.13"), &c->urn,
                    &created);
    if (rc < 0)
        return rc;
    assert_true(created);
    c->step = 3;
    rc = instid_get(c->s, slice_cstr("sip:bob@example.net|192.168.1.11"), &known,
                    &created);
    assert_int_equal(rc, 0);
    assert_false(created);
    assert_string_equal(known, "urn:uuid:0e1c5a64-2b9e-4c55-9d0a-3f6f1d6e2a01");
    return 0;
}

static void id_check(void *ctx, int rc, bool failed)
{
    struct id_ctx *c = ctx;
    char after[4096];
    const char *urn;
    struct instid_store *s2;

    if (c->step == 1) {
        assert_true(failed);
        if (rc != -ENOMEM)
            fail_msg("instid_store_open: %d, expected -ENOMEM", rc);
        assert_ptr_equal(c->s, (struct instid_store *)c);
        c->s = NULL;
        return;
    }
    if (c->step == 2) {
        assert_true(failed);
        if (rc != -ENOMEM)
            fail_msg("instid_get: %d, expected -ENOMEM", rc);
        /* nothing remembered, nothing written; a retry mints and persists */
        assert_int_equal(instid_count(c->s), 3);
        read_file(c->path, after, sizeof(after));
        assert_string_equal(after, c->before);
        assert_int_equal(instid_get(c->s, slice_cstr("sip:dave@example.net|192.168.1.13"),
                                    &c->urn, NULL), 0);
    }
    if (c->step == 3)
        assert_int_equal(rc, 0);
    assert_int_equal(instid_count(c->s), 4);
    /* persisted: a second store reads the same ids */
    assert_int_equal(instid_store_open(&s2, c->dir.state), 0);
    assert_int_equal(instid_count(s2), 4);
    assert_int_equal(instid_get(s2, slice_cstr("sip:dave@example.net|192.168.1.13"), &urn,
                                NULL), 0);
    assert_string_equal(urn, c->urn);
    instid_store_free(s2);
}

static void id_teardown(void *ctx)
{
    struct id_ctx *c = ctx;

    instid_store_free(c->s);
    test_dir_remove(&c->dir);
    free(c);
}

static const struct oom_op op_instid = {
    "instid", id_setup, id_run, id_check, id_teardown
};

int main(void)
{
    const struct CMUnitTest tests[] = {
        { "test_oom_config", test_oom, NULL, NULL, (void *)&op_config },
        { "test_oom_router_new", test_oom, NULL, NULL, (void *)&op_router_new },
        { "test_oom_register", test_oom, NULL, NULL, (void *)&op_register },
        { "test_oom_call_out", test_oom, NULL, NULL, (void *)&op_call_out },
        { "test_oom_call_in", test_oom, NULL, NULL, (void *)&op_call_in },
        { "test_oom_restart", test_oom, NULL, NULL, (void *)&op_restart },
        { "test_oom_reload", test_oom, NULL, NULL, (void *)&op_reload },
        { "test_oom_instid", test_oom, NULL, NULL, (void *)&op_instid },
    };

    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test_oom");
    if (getenv("OOM_ONLY")) /* e.g. OOM_ONLY=test_oom_register */
        cmocka_set_test_filter(getenv("OOM_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}

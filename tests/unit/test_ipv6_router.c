/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv6 through the router (issue 12 item 5), with the edge proxy played by
 * the test (fake_edge.h) on [::1]:
 * - the DS-Lite shape: an IPv4 phone registered over a TCP flow to an
 *   IPv6 edge; our Via upstream names the flow's local address in
 *   brackets; the edge's INVITE reaches the phone with our IPv4 Via and
 *   Record-Route, the phone's answers go back on the IPv6 flow; a call out;
 * - a phone on IPv6 (ua.allow "::1/128", listener [::1]:5060): the
 *   Record-Route names [::1]:5060, the phone's BYE that routes through it
 *   has it popped and its token verified; a phone outside ua.allow's IPv6
 *   entries opens no flow;
 * - that phone's stored registration across a restart: its IPv6 source
 *   and local address kept, re-registered on a new flow, and the next
 *   INVITE reaches it from the listener its local address names.
 * Fake clock; every wait is bounded by an iteration count. */
#include <stdint.h>
#include <time.h>

#define FX_EXTRA_MEMBERS struct router *r;
#include "edge_fixture.h"

#include "config/config.h"
#include "core/addr.h"
#include "proxy/router.h"
#include "proxy/router_int.h"
#include "state/regstate.h"

/* Where the router sent the phone's last message from (ua_addr.local and
 * the ingress handle). */
static union sockaddr_ip last_local;
static void *last_ingress;
static int ingress_token;

static void send_ua(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    last_local = ua->local;
    last_ingress = ua->ingress;
    fx_send_ua(ua, buf, len, arg);
}

/* ss: a sockaddr_storage or a union sockaddr_ip (a sockaddr_in6 is written). */
static void set_in6(void *ss, const char *ip, unsigned port)
{
    struct sockaddr_in6 *sin6 = ss;

    memset(sin6, 0, sizeof(*sin6));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
}

/* A listening TCP socket on [::1], ephemeral port. */
static int edge_listen_tcp6(unsigned *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(struct sockaddr_in6);
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    set_in6(&ss, "::1", 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, sl), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
    *port = addr_port((struct sockaddr *)&ss);
    return fd;
}

static void new_router(struct fx *f, struct regstate *st)
{
    struct router_env env = { .loop = f->loop, .cfg = f->cfg, .ids = f->ids,
                              .send_ua = send_ua, .arg = f, .state = st };
    char err[256] = "";

    if (router_new(&f->r, &env, err, sizeof(err)) != 0)
        fail_msg("router_new: %s", err);
}

static int fx_setup(void **state)
{
    struct fx *f = fx_new("test_ipv6_router", 1, "127.0.0.10", "127.0.0.1");
    char yaml[1024], err[256] = "";
    int n;

    /* the edge listens on [::1] instead of 127.0.0.1 */
    close(f->edge.lfd[0]);
    f->edge.lfd[0] = edge_listen_tcp6(&f->edge.port[0]);
    n = snprintf(yaml, sizeof(yaml),
                 "state_dir: %s\n"
                 "listen: [\"udp:127.0.0.1:5060\", \"udp:[::1]:5060\"]\n"
                 "log:\n  level: error\n"
                 "ua:\n  allow: [\"127.0.0.0/8\", \"::1/128\"]\n  register_expires: 300\n"
                 "services:\n"
                 "  - name: svc\n"
                 "    domain: example.net\n"
                 "    outbound_proxies:\n"
                 "      - \"sip:[::1]:%u;transport=tcp\"\n",
                 f->dir.state, f->edge.port[0]);
    assert_true(n > 0 && (size_t)n < sizeof(yaml));
    if (cfg_load_buffer("t.yaml", yaml, (size_t)n, &f->cfg, err, sizeof(err)) != 0)
        fail_msg("config: %s", err);
    assert_int_equal(instid_store_open(&f->ids, f->dir.state), 0);
    new_router(f, NULL);
    f->ua.ingress = &ingress_token;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    router_free(f->r);
    fx_free(f);
    return 0;
}

/* host is what the phone writes in Via/Contact: "127.0.0.10" or "[::1]". */
static char *mk_register(const char *host, unsigned port)
{
    char *out = malloc(4096);
    int n = snprintf(out, 4096,
                     "REGISTER sip:example.net SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bKreg1;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.net>;tag=uatag1\r\n"
                     "To: <sip:alice@example.net>\r\n"
                     "Call-ID: ua-call-1\r\n"
                     "CSeq: 1 REGISTER\r\n"
                     "Contact: <sip:alice@%s:%u>\r\n"
                     "Expires: 3600\r\n"
                     "Content-Length: 0\r\n\r\n",
                     host, port, host, port);

    assert_true(n > 0 && n < 4096);
    return out;
}

/* The phone at ua registers; returns the flow's connection at the edge.
 * Checks the upstream REGISTER's Via: ours only, the IPv6 flow's local
 * address in brackets. */
static int register_ok(struct fx *f, const struct ua_addr *ua, const char *host, unsigned port)
{
    char *reg = mk_register(host, port), *up, *ok, contact[2048], extra[4096], vias[4][256];
    char want[128];
    struct sockaddr_storage local;
    socklen_t sl = sizeof(local);
    int ci, nua = f->to_ua.n;

    router_from_ua(f->r, reg, strlen(reg), ua);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(via_list(up, vias, 4), 1);
    /* the edge's view of the connection is the flow's local address */
    assert_int_equal(getpeername(f->edge.conns[ci].fd, (struct sockaddr *)&local, &sl), 0);
    assert_int_equal(local.ss_family, AF_INET6);
    snprintf(want, sizeof(want), "SIP/2.0/TCP [::1]:%u;rport;branch=z9hG4bK",
             addr_port((struct sockaddr *)&local));
    if (strncmp(vias[0], want, strlen(want)) != 0)
        fail_msg("upstream Via '%s', expected '%s...'", vias[0], want);
    hdr_must(up, "Contact", contact, sizeof(contact));
    snprintf(want, sizeof(want), "<sip:alice@%s:%u>;", host, port);
    assert_memory_equal(contact, want, strlen(want));
    assert_non_null(strstr(contact, ";reg-id=1"));
    snprintf(extra, sizeof(extra), "Require: outbound\r\nFlow-Timer: 20\r\n"
             "Path: <sip:tok@[::1];lr;ob>\r\nContact: %s;expires=3600\r\n", contact);
    ok = mk_response(up, "200 OK", extra);
    edge_send(&f->edge, ci, ok);
    ua_wait(&f->edge, &f->to_ua, nua + 1);
    assert_memory_equal(f->to_ua.msg[nua], "SIP/2.0 200 OK\r\n", 16);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[nua], (struct sockaddr *)&ua->src));
    assert_int_equal(router_bindings(f->r), 1);
    free(ok);
    free(up);
    free(reg);
    return ci;
}

/* A request from the edge on connection ci. */
static void edge_req(struct fx *f, int ci, const char *method, const char *ruri,
                     const char *extra, const char *to_tag, const char *branch)
{
    char msg[4096];
    int n = snprintf(msg, sizeof(msg),
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/TCP [::1]:%u;branch=%s\r\n"
                     "Max-Forwards: 69\r\n"
                     "%s"
                     "From: <sip:bob@example.net>;tag=b1\r\n"
                     "To: <sip:alice@example.net>%s%s\r\n"
                     "Call-ID: in-%s@example.net\r\n"
                     "CSeq: 1 %s\r\n"
                     "Contact: <sip:bob@[2001:db8::9]>\r\n"
                     "Content-Length: 0\r\n\r\n",
                     method, ruri, f->edge.port[0], branch, extra, to_tag ? ";tag=" : "",
                     to_tag ? to_tag : "", branch, method);

    assert_true(n > 0 && (size_t)n < sizeof(msg));
    edge_send(&f->edge, ci, msg);
}

/* Our Record-Route for reg-id 1 naming local ("127.0.0.1:5060",
 * "[::1]:5060"): <sip:LOCAL;lr;skf=1.<16 hex>>. */
static void assert_our_rr(const char *rr, const char *local)
{
    char want[96];

    snprintf(want, sizeof(want), "<sip:%s;lr;skf=1.", local);
    if (strncmp(rr, want, strlen(want)) != 0 || strlen(rr) != strlen(want) + 16 + 1 ||
        rr[strlen(rr) - 1] != '>')
        fail_msg("Record-Route '%s', expected %s<16 hex>>", rr, want);
}

/* The DS-Lite shape: IPv4 phone, IPv6 flow, both call directions. */
static void test_v4_phone_v6_flow(void **state)
{
    struct fx *f = *state;
    int ci = register_ok(f, &f->ua, "127.0.0.10", 5060), k;
    char sl[256], vias[8][256], rr[512], *r200, *up, *inv, want[128];
    const char *m;

    edge_req(f, ci, "INVITE", "sip:alice@127.0.0.10:5060;ob",
             "Record-Route: <sip:tok@[::1];lr;ob>\r\n", NULL, "z9hG4bKe1");
    m = ua_wait(&f->edge, &f->to_ua, 2);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[1], (struct sockaddr *)&f->ua.src));
    start_line(m, sl, sizeof(sl));
    assert_string_equal(sl, "INVITE sip:alice@127.0.0.10:5060;ob SIP/2.0");
    assert_int_equal(via_list(m, vias, 8), 2);
    assert_memory_equal(vias[0], "SIP/2.0/UDP 127.0.0.1:5060;", 27);
    snprintf(want, sizeof(want), "SIP/2.0/TCP [::1]:%u;branch=z9hG4bKe1", f->edge.port[0]);
    assert_string_equal(vias[1], want);
    assert_true(hdr_get(m, "Record-Route", 0, rr, sizeof(rr)));
    assert_our_rr(rr, "127.0.0.1:5060");
    assert_true(hdr_get(m, "Record-Route", 1, rr, sizeof(rr)));
    assert_string_equal(rr, "<sip:tok@[::1];lr;ob>");

    /* the phone's 200 goes back on the IPv6 flow without our Via */
    r200 = mk_response(m, "200 OK", "Contact: <sip:alice@127.0.0.10:5060>\r\n");
    router_from_ua(f->r, r200, strlen(r200), &f->ua);
    up = edge_wait_msg(&f->edge, &k);
    assert_int_equal(k, ci);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "SIP/2.0 200 OK");
    assert_int_equal(via_list(up, vias, 8), 1);
    assert_string_equal(vias[0], want);
    free(up);
    free(r200);

    /* a call out: on the flow, our bracketed Via, our IPv4 Record-Route */
    inv = strdup("INVITE sip:bob@example.net SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 127.0.0.10:5060;branch=z9hG4bKout1;rport\r\n"
                 "Max-Forwards: 70\r\n"
                 "From: <sip:alice@example.net>;tag=a1\r\n"
                 "To: <sip:bob@example.net>\r\n"
                 "Call-ID: out-1@127.0.0.10\r\n"
                 "CSeq: 1 INVITE\r\n"
                 "Contact: <sip:alice@127.0.0.10:5060>\r\n"
                 "Content-Length: 0\r\n\r\n");
    assert_non_null(inv);
    router_from_ua(f->r, inv, strlen(inv), &f->ua);
    up = edge_wait_msg(&f->edge, &k);
    assert_int_equal(k, ci);
    assert_int_equal(via_list(up, vias, 8), 1);
    assert_memory_equal(vias[0], "SIP/2.0/TCP [::1]:", 18);
    hdr_must(up, "Record-Route", rr, sizeof(rr));
    assert_our_rr(rr, "127.0.0.1:5060");
    free(up);
    free(inv);
}

/* A phone on IPv6: its Record-Route, its in-dialog request through it. */
static void test_v6_phone(void **state)
{
    struct fx *f = *state;
    struct ua_addr ua6 = { .ingress = f->ua.ingress };
    int ci, k;
    char sl[256], rr[512], req[2048], route[600], vias[4][256];
    const char *m;
    char *up;

    set_in6(&ua6.src, "::1", 5062);
    set_in6(&ua6.local, "::1", 5060);
    ci = register_ok(f, &ua6, "[::1]", 5062);

    edge_req(f, ci, "INVITE", "sip:alice@[::1]:5062;ob", "", NULL, "z9hG4bKe6");
    m = ua_wait(&f->edge, &f->to_ua, 2);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[1], (struct sockaddr *)&ua6.src));
    start_line(m, sl, sizeof(sl));
    assert_string_equal(sl, "INVITE sip:alice@[::1]:5062;ob SIP/2.0");
    assert_int_equal(via_list(m, vias, 4), 2);
    assert_memory_equal(vias[0], "SIP/2.0/UDP [::1]:5060;", 23);
    hdr_must(m, "Record-Route", rr, sizeof(rr));
    assert_our_rr(rr, "[::1]:5060");
    snprintf(route, sizeof(route), "Route: %s\r\n", rr);

    /* the phone's BYE routed through us: our Route popped (token checked
     * against its IPv6 source), out on the flow */
    snprintf(req, sizeof(req),
             "BYE sip:bob@[2001:db8::9] SIP/2.0\r\n"
             "Via: SIP/2.0/UDP [::1]:5062;branch=z9hG4bKbye6;rport\r\n"
             "%s"
             "Max-Forwards: 70\r\n"
             "From: <sip:alice@example.net>;tag=a1\r\n"
             "To: <sip:bob@example.net>;tag=b1\r\n"
             "Call-ID: in-z9hG4bKe6@example.net\r\n"
             "CSeq: 2 BYE\r\n"
             "Content-Length: 0\r\n\r\n",
             route);
    router_from_ua(f->r, req, strlen(req), &ua6);
    up = edge_wait_msg(&f->edge, &k);
    assert_int_equal(k, ci);
    start_line(up, sl, sizeof(sl));
    assert_string_equal(sl, "BYE sip:bob@[2001:db8::9] SIP/2.0");
    assert_int_equal(hdr_count(up, "Route"), 0);
    free(up);
}

/* ua.allow's IPv6 entries hold: another IPv6 phone opens nothing. */
static void test_v6_phone_not_allowed(void **state)
{
    struct fx *f = *state;
    struct ua_addr out = { .ingress = f->ua.ingress };
    char *reg = mk_register("[2001:db8::5]", 5060);

    set_in6(&out.src, "2001:db8::5", 5060);
    set_in6(&out.local, "::1", 5060);
    router_from_ua(f->r, reg, strlen(reg), &out);
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 0);
    assert_int_equal(f->to_ua.n, 0);
    assert_int_equal(router_bindings(f->r), 0);
    free(reg);
}

static void *ingress_v6(const struct sockaddr_storage *local, void *arg)
{
    (void)arg;
    return local->ss_family == AF_INET6 ? &ingress_token : NULL;
}

static void test_v6_phone_restart(void **state)
{
    struct fx *f = *state;
    struct ua_addr ua6 = { .ingress = &ingress_token };
    const struct regstate_rec *r;
    struct regstate *st;
    char *up, contact[512], vias[4][256], rr[512];
    const char *m;
    int ci, nua;

    router_free(f->r);
    assert_int_equal(regstate_open(&st, f->dir.state, f->loop), 0);
    new_router(f, st);
    set_in6(&ua6.src, "::1", 5062);
    set_in6(&ua6.local, "::1", 5060);
    ci = register_ok(f, &ua6, "[::1]", 5062);
    r = regstate_get(st, "sip:alice@example.net", "sip:alice@[::1]:5062");
    assert_non_null(r);
    assert_true(addr_equal((const struct sockaddr *)&r->ua_src, (struct sockaddr *)&ua6.src));
    assert_true(addr_equal((const struct sockaddr *)&r->ua_local, (struct sockaddr *)&ua6.local));

    /* restart: the bindings go with their records kept, a new router reads them */
    router_free(f->r);
    f->r = NULL;
    assert_int_equal(regstate_flush(st), 0);
    regstate_free(st);
    assert_true(edge_wait_closed(&f->edge, ci));
    assert_int_equal(regstate_open(&st, f->dir.state, f->loop), 0);
    new_router(f, st);
    assert_int_equal(router_restore(f->r, (int64_t)time(NULL), ingress_v6, NULL), 1);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(via_list(up, vias, 4), 1);
    assert_memory_equal(vias[0], "SIP/2.0/TCP [::1]:", 18);
    hdr_must(up, "Contact", contact, sizeof(contact));
    assert_memory_equal(contact, "<sip:alice@[::1]:5062>;", 23);
    free(up);

    /* a call in reaches the phone at its stored IPv6 address, from the
     * listener of its stored local address, with that in our Record-Route */
    nua = f->to_ua.n;
    last_ingress = NULL;
    edge_req(f, ci, "INVITE", "sip:alice@[::1]:5062;ob", "", NULL, "z9hG4bKr6");
    m = ua_wait(&f->edge, &f->to_ua, nua + 1);
    assert_true(addr_equal((struct sockaddr *)&f->to_ua.dst[nua], (struct sockaddr *)&ua6.src));
    assert_true(addr_equal((struct sockaddr *)&last_local, (struct sockaddr *)&ua6.local));
    assert_ptr_equal(last_ingress, &ingress_token);
    hdr_must(m, "Record-Route", rr, sizeof(rr));
    assert_our_rr(rr, "[::1]:5060");
    router_free(f->r);
    f->r = NULL;
    regstate_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_v4_phone_v6_flow, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_v6_phone, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_v6_phone_not_allowed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_v6_phone_restart, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

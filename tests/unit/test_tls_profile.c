/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the TLS profile's configuration (issue 12 item 4): the
 * tls: keys server_name, cert_file, key_file and min_version, the name
 * each outbound proxy's certificate is verified against (cfg_proxy.tls_name:
 * the URI's host as configured, RFC 5922 §4, or tls.server_name), reload
 * equality, the errors the router's TLS context gives at start for client
 * certificate files, pointing at FILE:LINE:COL of the key, and a reload
 * that can no longer read unchanged files keeping the context.  The
 * handshakes themselves are in test_stream_tls.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "proxy/router.h"
#include "stream_fixture.h"

#define UA "ua:\n  allow: [\"10.0.0.0/8\"]\n"
/* Line 7 is the tls: mapping; its keys follow on lines 8.. */
#define SVC_TLS                                                                \
    "services:\n"                                                              \
    "  - name: p\n"                                                            \
    "    domain: sip.example.net\n"                                            \
    "    outbound_proxies: [\"sips:192.0.2.1\", \"sip:edge2.example.net;transport=tls\"]\n" \
    "    tls:\n"

static struct cfg *load_ok(const char *yaml)
{
    struct cfg *cfg = NULL;
    char err[512] = "";

    if (cfg_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)) != 0)
        fail_msg("unexpected error: %s", err);
    return cfg;
}

static void check_err(const char *yaml, const char *want)
{
    struct cfg *cfg = NULL;
    char err[512] = "";

    assert_int_equal(cfg_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)),
                     -EINVAL);
    assert_null(cfg);
    assert_string_equal(err, want);
}

static void test_defaults(void **state)
{
    struct cfg *cfg = load_ok(UA SVC_TLS "      verify: true\n");
    const struct cfg_service *s = &cfg->services[0];

    (void)state;
    assert_null(s->tls.server_name);
    assert_null(s->tls.cert_file);
    assert_null(s->tls.key_file);
    assert_null(s->tls.cert_file_at);
    assert_int_equal(s->tls.min_version, CFG_TLS_1_2);
    /* The configured host, literal or name, never a resolved target. */
    assert_string_equal(s->outbound_proxies[0].tls_name, "192.0.2.1");
    assert_string_equal(s->outbound_proxies[1].tls_name, "edge2.example.net");
    cfg_free(cfg);
}

static void test_keys_set(void **state)
{
    struct cfg *cfg = load_ok(UA SVC_TLS
                              "      server_name: sip.example.net\n"
                              "      cert_file: /etc/sipkeep/client.pem\n"
                              "      key_file: /etc/sipkeep/client.key\n"
                              "      min_version: \"1.3\"\n");
    const struct cfg_service *s = &cfg->services[0];

    (void)state;
    assert_string_equal(s->tls.server_name, "sip.example.net");
    assert_string_equal(s->outbound_proxies[0].tls_name, "sip.example.net");
    assert_string_equal(s->outbound_proxies[1].tls_name, "sip.example.net");
    assert_string_equal(s->tls.cert_file, "/etc/sipkeep/client.pem");
    assert_string_equal(s->tls.key_file, "/etc/sipkeep/client.key");
    assert_string_equal(s->tls.cert_file_at, "t.yaml:9:18");
    assert_string_equal(s->tls.key_file_at, "t.yaml:10:17");
    assert_int_equal(s->tls.min_version, CFG_TLS_1_3);
    cfg_free(cfg);
    cfg = load_ok(UA SVC_TLS "      min_version: 1.2\n"); /* a YAML number works too */
    assert_int_equal(cfg->services[0].tls.min_version, CFG_TLS_1_2);
    cfg_free(cfg);
}

static void test_bad_values(void **state)
{
    (void)state;
    check_err(UA SVC_TLS "      min_version: \"1.1\"\n",
              "t.yaml:8:20: services[0].tls.min_version must be 1.2 or 1.3 (got '1.1')");
    check_err(UA SVC_TLS "      server_name: \"sip example\"\n",
              "t.yaml:8:20: services[0].tls.server_name must be a domain name such as "
              "sip.example.net (got 'sip example')");
    check_err(UA SVC_TLS "      key_file: client.key\n",
              "t.yaml:8:17: services[0].tls.key_file must be an absolute path (got "
              "'client.key')");
}

/* A kept binding's flows keep their connection only when nothing of TLS
 * changed: each new key takes part in the reload comparison. */
static void test_reload_equality(void **state)
{
    static const char *const variants[] = {
        "      server_name: other.example.net\n",
        "      cert_file: /c.pem\n      key_file: /k.pem\n",
        "      cert_file: /c.pem\n      key_file: /k2.pem\n",
        "      min_version: \"1.3\"\n",
    };
    struct cfg *base = load_ok(UA SVC_TLS "      cert_file: /c.pem\n      key_file: /k.pem\n");
    struct cfg *same = load_ok(UA SVC_TLS "      cert_file: /c.pem\n      key_file: /k.pem\n");

    (void)state;
    assert_true(cfg_service_equal(&base->services[0], &same->services[0]));
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        char yaml[1024];
        struct cfg *c;

        snprintf(yaml, sizeof(yaml), "%s%s%s", UA, SVC_TLS, variants[i]);
        c = load_ok(yaml);
        assert_true(i == 1 || !cfg_service_equal(&base->services[0], &c->services[0]));
        assert_true(i != 1 || cfg_service_equal(&base->services[0], &c->services[0]));
        cfg_free(c);
    }
    cfg_free(base);
    cfg_free(same);
}

/* ---- the router's TLS context at start: errors point at the key ---- */

static void noop_send(const struct ua_addr *ua, const char *buf, size_t len, void *arg)
{
    (void)ua; (void)buf; (void)len; (void)arg;
}

/* router_new on yaml; returns its result with the message in err. */
static int router_with(const char *yaml, char *err, size_t errsz)
{
    struct cfg *cfg = load_ok(yaml);
    struct loop *l = NULL;
    struct router *r = NULL;
    struct router_env env = { .cfg = cfg, .send_ua = noop_send };
    int rc;

    assert_int_equal(loop_new(&l, NULL), 0);
    env.loop = l;
    err[0] = '\0';
    rc = router_new(&r, &env, err, errsz);
    router_free(r);
    loop_free(l);
    cfg_free(cfg);
    return rc;
}

struct pem_files {
    char cert[64], key[64], other[64];
};

/* A client certificate from the test PKI (stream_fixture.h), its key and
 * another key, as PEM files. */
static void make_files(struct pem_files *pf)
{
    struct pki *p = pki_new();
    EVP_PKEY *k = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
    X509 *x;

    assert_non_null(k);
    assert_non_null(other);
    x = make_leaf(p, k, "client.test", true, NULL);
    tmp_pem(pf->cert, sizeof(pf->cert), x, NULL, NULL);
    tmp_pem(pf->key, sizeof(pf->key), NULL, k, NULL);
    tmp_pem(pf->other, sizeof(pf->other), NULL, other, NULL);
    X509_free(x);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
    pki_free(p);
}

static void test_router_client_cert_errors(void **state)
{
    struct pem_files pf;
    char yaml[1024], err[512], want[512];

    (void)state;
    make_files(&pf);
    /* Both files good: the context is made. */
    snprintf(yaml, sizeof(yaml), UA SVC_TLS "      verify: false\n      cert_file: %s\n"
             "      key_file: %s\n", pf.cert, pf.key);
    assert_int_equal(router_with(yaml, err, sizeof(err)), 0);
    /* A missing key: its line and column, the file and the reason. */
    snprintf(yaml, sizeof(yaml), UA SVC_TLS "      verify: false\n      cert_file: %s\n"
             "      key_file: /nonexistent/client.key\n", pf.cert);
    assert_int_equal(router_with(yaml, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "t.yaml:10:17: services[0].tls.key_file /nonexistent/client.key: "
                             "cannot read: No such file or directory");
    /* A missing certificate. */
    snprintf(yaml, sizeof(yaml), UA SVC_TLS "      verify: false\n"
             "      cert_file: /nonexistent/client.pem\n      key_file: %s\n", pf.key);
    assert_int_equal(router_with(yaml, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "t.yaml:9:18: services[0].tls.cert_file /nonexistent/client.pem: "
                             "cannot read: No such file or directory");
    /* Not the certificate's key: pointed at the key. */
    snprintf(yaml, sizeof(yaml), UA SVC_TLS "      verify: false\n      cert_file: %s\n"
             "      key_file: %s\n", pf.cert, pf.other);
    assert_int_equal(router_with(yaml, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "t.yaml:10:17: services[0].tls.key_file %s is not the private "
             "key of cert_file %s", pf.other, pf.cert);
    assert_string_equal(err, want);
    /* One without the other: pointed at the one given. */
    snprintf(yaml, sizeof(yaml), UA SVC_TLS "      verify: false\n      key_file: %s\n", pf.key);
    assert_int_equal(router_with(yaml, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "t.yaml:9:17: services[0].tls.key_file is given without "
                             "cert_file: a client certificate needs both");
    /* The key's bytes never reach a message (a key given as certificate). */
    snprintf(yaml, sizeof(yaml), UA SVC_TLS "      verify: false\n      cert_file: %s\n"
             "      key_file: %s\n", pf.key, pf.key);
    assert_int_equal(router_with(yaml, err, sizeof(err)), -EINVAL);
    assert_null(strstr(err, "PRIVATE"));
    assert_non_null(strstr(err, "t.yaml:9:18: services[0].tls.cert_file "));
    unlink(pf.cert);
    unlink(pf.key);
    unlink(pf.other);
}

/* A reload re-reads the client certificate files; one it cannot read whose
 * settings did not change (a root-only key after the privilege drop; here
 * the key is gone) keeps the context read at start.  Changed settings with
 * an unreadable file fail the reload, pointing at the key. */
static void test_reload_keeps_unreadable_client_cert(void **state)
{
    struct pem_files pf;
    char yaml[1024], yaml13[1100], err[512] = "";
    struct cfg *boot, *same, *changed;
    struct loop *l = NULL;
    struct router *r = NULL;
    struct router_env env = { .send_ua = noop_send };

    (void)state;
    make_files(&pf);
    snprintf(yaml, sizeof(yaml), UA SVC_TLS "      verify: false\n      cert_file: %s\n"
             "      key_file: %s\n", pf.cert, pf.key);
    snprintf(yaml13, sizeof(yaml13), "%s      min_version: \"1.3\"\n", yaml);
    boot = load_ok(yaml);
    same = load_ok(yaml);
    changed = load_ok(yaml13);
    assert_int_equal(loop_new(&l, NULL), 0);
    env.loop = l;
    env.cfg = boot;
    assert_int_equal(router_new(&r, &env, err, sizeof(err)), 0);
    unlink(pf.key);
    assert_int_equal(router_reload(r, changed, err, sizeof(err)), -EINVAL);
    assert_string_equal(err + strlen(err) - strlen("cannot read: No such file or directory"),
                        "cannot read: No such file or directory");
    assert_non_null(strstr(err, "t.yaml:10:17: services[0].tls.key_file "));
    assert_int_equal(router_reload(r, same, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    router_free(r);
    loop_free(l);
    cfg_free(boot);
    cfg_free(same);
    cfg_free(changed);
    unlink(pf.cert);
    unlink(pf.other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_keys_set),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_reload_equality),
        cmocka_unit_test(test_router_client_cert_errors),
        cmocka_unit_test(test_reload_keeps_unreadable_client_cert),
    };

    log_setup(LOG_LVL_WARN, LOG_TARGET_STDERR, "test_tls_profile");
    return cmocka_run_group_tests_name("tls_profile", tests, NULL, NULL);
}

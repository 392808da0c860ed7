/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the stored registrations (regstate.h): round trip through
 * the file, credentials never stored, batched writes (dirty set + one
 * timer, nothing for a refresh that changes nothing material), expiry
 * updates, and damaged files reported and ignored without a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "state/regstate.h"
#include "state/regstate_int.h"

#include "tmpfiles.h"

struct fx {
    char dir[64];
    char file[128];
    uint64_t now;
    struct loop *loop;
};

static uint64_t fake_now(void *ctx)
{
    return *(const uint64_t *)ctx;
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct loop_clock clk = { fake_now, NULL };

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_regstate-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->file, sizeof(f->file), "%s/%s", f->dir, REGSTATE_FILE);
    f->now = 1000;
    clk.ctx = &f->now;
    assert_int_equal(loop_new(&f->loop, &clk), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    tmpfiles_rm_tree(f->dir);
    loop_free(f->loop);
    free(f);
    return 0;
}

#define REG_FMT                                                                    \
    "REGISTER sip:example.net SIP/2.0\r\n"                                         \
    "Via: SIP/2.0/TCP 10.0.0.1:40000;rport;branch=z9hG4bK%s\r\n"                   \
    "From: <sip:alice@example.net>;tag=t1\r\n"                                     \
    "To: <sip:alice@example.net>\r\n"                                              \
    "Call-ID: c1@sipkeep\r\n"                                                      \
    "CSeq: %u REGISTER\r\n"                                                        \
    "Authorization: Digest username=\"alice\", realm=\"example.net\", nonce=\"n\",\r\n" \
    "  uri=\"sip:example.net\", response=\"0123456789abcdef0123456789abcdef\"\r\n"  \
    "Contact: <sip:alice@192.168.1.10:5060>;+sip.instance=\"<urn:uuid:x>\";reg-id=1\r\n" \
    "proxy-authorization : Digest username=\"alice\", response=\"feedface\"\r\n"     \
    "User-Agent: %s\r\n"                                                           \
    "Expires: 3600\r\n"                                                            \
    "Supported: outbound, path\r\n"                                                \
    "Content-Length: 0\r\n"                                                        \
    "\r\n"

static char reg_buf[2048];

static const char *mk_reg(const char *branch, unsigned cseq, const char *ua)
{
    int n = snprintf(reg_buf, sizeof(reg_buf), REG_FMT, branch, cseq, ua);

    assert_true(n > 0 && (size_t)n < sizeof(reg_buf));
    return reg_buf;
}

static struct regstate_rec mk_rec(const char *aor, const char *curi, const char *reg,
                                  int64_t exp)
{
    struct regstate_rec r = {
        .service = "svc", .instance = "urn:uuid:0d2c5f0e-8f0b-4c59-a1c7-7c8f5b0e2a11",
        .aor = aor, .contact_uri = curi, .contact = "<sip:alice@192.168.1.10:5060>",
        .reg = reg, .reg_len = strlen(reg), .expires_at = exp,
    };
    struct sockaddr_in *s = (struct sockaddr_in *)&r.ua_src;
    struct sockaddr_in6 *l = (struct sockaddr_in6 *)&r.ua_local;

    s->sin_family = AF_INET;
    s->sin_port = htons(5060);
    inet_pton(AF_INET, "192.168.1.10", &s->sin_addr);
    l->sin6_family = AF_INET6;
    l->sin6_port = htons(5062);
    inet_pton(AF_INET6, "fd00::1", &l->sin6_addr);
    return r;
}

/* ---- round trip, secrets ---- */

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    struct regstate *s;
    struct regstate_rec r = mk_rec("sip:alice@example.net", "sip:alice@192.168.1.10:5060",
                                   mk_reg("a", 1, "Phone/1"), 1700000300);
    const struct regstate_rec *g;
    struct stat st;
    char *text;

    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    assert_int_equal(regstate_count(s), 0);
    assert_int_equal(regstate_put(s, &r, 300), 0);
    r.aor = "sip:bob@example.net";
    r.contact_uri = "sip:bob@192.168.1.11:5060";
    assert_int_equal(regstate_put(s, &r, 300), 0);
    assert_true(regstate_dirty(s));
    assert_int_equal(regstate_flush(s), 0);
    assert_false(regstate_dirty(s));
    regstate_free(s);

    assert_int_equal(stat(f->file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(access(f->file, F_OK), 0);
    assert_int_not_equal(access(f->file + 0, R_OK), -1);

    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    assert_int_equal(regstate_count(s), 2);
    g = regstate_get(s, "sip:alice@example.net", "sip:alice@192.168.1.10:5060");
    assert_non_null(g);
    assert_string_equal(g->service, "svc");
    assert_string_equal(g->instance, "urn:uuid:0d2c5f0e-8f0b-4c59-a1c7-7c8f5b0e2a11");
    assert_string_equal(g->contact, "<sip:alice@192.168.1.10:5060>");
    assert_int_equal(g->expires_at, 1700000300);
    assert_int_equal(g->ua_src.sa.sa_family, AF_INET);
    assert_int_equal(ntohs(((const struct sockaddr_in *)&g->ua_src)->sin_port), 5060);
    assert_int_equal(g->ua_local.sa.sa_family, AF_INET6);
    assert_int_equal(ntohs(((const struct sockaddr_in6 *)&g->ua_local)->sin6_port), 5062);
    assert_non_null(strstr(g->reg, "User-Agent: Phone/1\r\n"));
    assert_non_null(strstr(g->reg, "Contact: <sip:alice@192.168.1.10:5060>"));
    assert_non_null(strstr(g->reg, "\r\n\r\n"));
    assert_int_equal(g->reg_len, strlen(g->reg));
    assert_null(regstate_get(s, "sip:carol@example.net", "sip:carol@x"));
    regstate_free(s);

    text = slurp(f->file, NULL);
    assert_memory_equal(text, "sipkeep-regstate 2\n", 19);
    free(text);
}

/* The REGISTER a binding keeps (core/rcbuf.h): shared by its record, not
 * copied, while it holds no credentials; a copy without them when it
 * does.  A later put lets go of the old buffer. */
static void test_shared_register(void **state)
{
    struct fx *f = *state;
    struct regstate *s;
    const char *plain = "REGISTER sip:example.net SIP/2.0\r\n"
                        "From: <sip:alice@example.net>;tag=t1\r\n"
                        "To: <sip:alice@example.net>\r\n"
                        "Call-ID: c1\r\nCSeq: 1 REGISTER\r\n\r\n";
    struct rcbuf *b1 = rcbuf_new(plain, strlen(plain)), *b2;
    const char *with = mk_reg("a", 1, "Phone/1");
    struct regstate_rec r = mk_rec("sip:alice@example.net", "sip:alice@192.168.1.10:5060",
                                   "ignored", 1700000300);
    const struct regstate_rec *g;

    b2 = rcbuf_new(with, strlen(with));
    assert_non_null(b1);
    assert_non_null(b2);
    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    r.reg_buf = b1;
    assert_int_equal(regstate_put(s, &r, 300), 0);
    g = regstate_get(s, r.aor, r.contact_uri);
    assert_ptr_equal(g->reg, b1->p);
    assert_int_equal(g->reg_len, strlen(plain));
    assert_int_equal(b1->refs, 2);

    r.reg_buf = b2;
    assert_int_equal(regstate_put(s, &r, 300), 0);
    assert_int_equal(b1->refs, 1);
    assert_int_equal(b2->refs, 1);
    g = regstate_get(s, r.aor, r.contact_uri);
    assert_ptr_not_equal(g->reg, b2->p);
    assert_null(strcasestr(g->reg, "authorization"));
    assert_non_null(strstr(g->reg, "User-Agent: Phone/1\r\n"));

    /* The owner may go first: the record keeps the bytes alive (ASan). */
    r.reg_buf = b1;
    assert_int_equal(regstate_put(s, &r, 300), 0);
    rcbuf_unref(b1);
    rcbuf_unref(b2);
    assert_int_equal(regstate_flush(s), 0);
    regstate_free(s);
    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    g = regstate_get(s, r.aor, r.contact_uri);
    assert_non_null(g);
    assert_memory_equal(g->reg, plain, strlen(plain));
    regstate_free(s);
}

/* A file written before issue 14 (version 1, the upstream REGISTER) still
 * loads; the next write is version 2. */
static void test_load_v1(void **state)
{
    struct fx *f = *state;
    struct regstate *s;
    const char *reg = "REGISTER sip:example.net SIP/2.0\r\n"
                      "Via: SIP/2.0/TCP 10.0.0.1:40000;rport;branch=z9hG4bKa\r\n"
                      "From: <sip:alice@example.net>;tag=t1\r\n"
                      "To: <sip:alice@example.net>\r\n"
                      "Call-ID: c1@sipkeep\r\nCSeq: 4 REGISTER\r\n"
                      "Contact: <sip:alice@192.168.1.10:5060>;+sip.instance=\"<urn:uuid:x>\""
                      ";reg-id=1;expires=300\r\n"
                      "Supported: outbound, path\r\nContent-Length: 0\r\n\r\n";
    char file[2048], *text;
    const struct regstate_rec *g;
    int n = snprintf(file, sizeof(file),
                     "sipkeep-regstate 1\nrec\nsvc svc\nsrc 192.168.1.10:5060\n"
                     "local [fd00::1]:5062\nexp 1700000300\ninst urn:uuid:x\n"
                     "aor sip:alice@example.net\ncuri sip:alice@192.168.1.10:5060\n"
                     "contact <sip:alice@192.168.1.10:5060>\nreg %zu\n%s\nend\n",
                     strlen(reg), reg);

    assert_true(n > 0 && (size_t)n < sizeof(file));
    spit(f->file, file, (size_t)n);
    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    assert_int_equal(regstate_count(s), 1);
    g = regstate_get(s, "sip:alice@example.net", "sip:alice@192.168.1.10:5060");
    assert_non_null(g);
    assert_int_equal(g->expires_at, 1700000300);
    assert_int_equal(g->reg_len, strlen(reg));
    assert_memory_equal(g->reg, reg, strlen(reg));
    regstate_del(s, "sip:nobody@example.net", "sip:x"); /* absent: nothing to write */
    assert_false(regstate_dirty(s));
    regstate_set_expiry(s, g->aor, g->contact_uri, 1700000300 + 200, 300);
    assert_int_equal(regstate_flush(s), 0);
    regstate_free(s);
    text = slurp(f->file, NULL);
    assert_memory_equal(text, "sipkeep-regstate 2\n", 19);
    assert_non_null(strstr(text, "exp 1700000500\n"));
    free(text);
}

static void test_secrets_stripped(void **state)
{
    struct fx *f = *state;
    struct regstate *s;
    struct regstate_rec r = mk_rec("sip:alice@example.net", "sip:alice@192.168.1.10:5060",
                                   mk_reg("a", 1, "Phone/1"), 1700000300);
    const struct regstate_rec *g;
    char *text;

    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    assert_int_equal(regstate_put(s, &r, 300), 0);
    g = regstate_get(s, r.aor, r.contact_uri);
    /* In memory already: the folded Authorization line and the lower-case
     * "proxy-authorization :" are gone with their continuation. */
    assert_null(strcasestr(g->reg, "authorization"));
    assert_null(strstr(g->reg, "response="));
    assert_null(strstr(g->reg, "uri=\"sip:example.net\""));
    assert_non_null(strstr(g->reg, "Expires: 3600\r\n"));
    assert_int_equal(regstate_flush(s), 0);
    regstate_free(s);
    text = slurp(f->file, NULL);
    assert_null(strcasestr(text, "authorization"));
    assert_null(strstr(text, "0123456789abcdef"));
    assert_null(strstr(text, "feedface"));
    free(text);
}

static void test_put_rejects(void **state)
{
    struct fx *f = *state;
    struct regstate *s;
    struct regstate_rec r = mk_rec("sip:alice@example.net", "sip:alice@192.168.1.10:5060",
                                   mk_reg("a", 1, "Phone/1"), 1);

    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    r.contact = "<sip:alice@x>\r\nInjected: 1";
    assert_int_equal(regstate_put(s, &r, 300), -EINVAL);
    r.contact = "";
    assert_int_equal(regstate_put(s, &r, 300), -EINVAL);
    r.contact = "<sip:a@b>";
    r.ua_src.sa.sa_family = AF_UNIX;
    assert_int_equal(regstate_put(s, &r, 300), -EINVAL);
    r = mk_rec("sip:a@b", "sip:a@c", "x", 1);
    r.reg_len = REGSTATE_REG_MAX + 1;
    assert_int_equal(regstate_put(s, &r, 300), -EINVAL);
    assert_int_equal(regstate_count(s), 0);
    assert_false(regstate_dirty(s));
    regstate_free(s);
}

/* ---- batching and expiry ---- */

static void run_due(struct fx *f, uint64_t ms)
{
    f->now += ms;
    loop_run_timers(f->loop);
}

static void test_batched_flush(void **state)
{
    struct fx *f = *state;
    struct regstate *s;
    struct regstate_rec r = mk_rec("sip:alice@example.net", "sip:alice@192.168.1.10:5060",
                                   mk_reg("a", 1, "Phone/1"), 100000);
    struct stat st1, st2;

    assert_int_equal(regstate_open(&s, f->dir, f->loop), 0);
    assert_int_equal(regstate_put(s, &r, 300), 0);
    assert_true(regstate_dirty(s));
    run_due(f, REGSTATE_FLUSH_MS - 1);
    assert_int_equal(access(f->file, F_OK), -1); /* not yet: one write per batch */
    run_due(f, 1);
    assert_int_equal(stat(f->file, &st1), 0);
    assert_false(regstate_dirty(s));

    /* A refresh: new branch, CSeq, expiry a little later: nothing to write. */
    r = mk_rec(r.aor, r.contact_uri, mk_reg("b", 2, "Phone/1"), 100000 + 100);
    assert_int_equal(regstate_put(s, &r, 300), 0);
    regstate_set_expiry(s, r.aor, r.contact_uri, 100000 + 140, 300);
    assert_false(regstate_dirty(s));
    assert_int_equal(regstate_get(s, r.aor, r.contact_uri)->expires_at, 100140);
    run_due(f, REGSTATE_FLUSH_MS);
    assert_int_equal(stat(f->file, &st2), 0);
    assert_int_equal(st1.st_ino, st2.st_ino); /* not replaced */

    /* Expiry moved by more than half the interval: written, lazily. */
    regstate_set_expiry(s, r.aor, r.contact_uri, 100000 + 151, 300);
    assert_true(regstate_dirty(s));
    run_due(f, REGSTATE_FLUSH_MS);
    assert_true(regstate_dirty(s));
    run_due(f, REGSTATE_LAZY_FLUSH_MS - REGSTATE_FLUSH_MS);
    assert_false(regstate_dirty(s));

    /* A header that matters changed: written within REGSTATE_FLUSH_MS, even
     * with a lazy flush pending. */
    regstate_set_expiry(s, r.aor, r.contact_uri, 100000 + 400, 300);
    r = mk_rec(r.aor, r.contact_uri, mk_reg("c", 3, "Phone/2"), 100400);
    assert_int_equal(regstate_put(s, &r, 300), 0);
    assert_true(regstate_dirty(s));
    run_due(f, REGSTATE_FLUSH_MS);
    assert_false(regstate_dirty(s));
    r = mk_rec(r.aor, r.contact_uri, mk_reg("d", 4, "Phone/3"), 100400);
    assert_int_equal(regstate_put(s, &r, 300), 0);
    assert_true(regstate_dirty(s));

    /* Deleting is a change too; the final flush carries it. */
    regstate_del(s, r.aor, r.contact_uri);
    regstate_del(s, r.aor, r.contact_uri); /* absent: no-op */
    assert_int_equal(regstate_count(s), 0);
    assert_int_equal(regstate_flush(s), 0);
    regstate_free(s);
    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    assert_int_equal(regstate_count(s), 0);
    regstate_free(s);
}

/* ---- damaged files ---- */

static int count_cb(const struct regstate_rec *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
    return 0;
}

static char *valid_file(struct fx *f, size_t *len)
{
    struct regstate *s;
    struct regstate_rec r = mk_rec("sip:alice@example.net", "sip:alice@192.168.1.10:5060",
                                   mk_reg("a", 1, "Phone/1"), 1700000300);

    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    assert_int_equal(regstate_put(s, &r, 300), 0);
    r.aor = "sip:bob@example.net";
    assert_int_equal(regstate_put(s, &r, 300), 0);
    assert_int_equal(regstate_flush(s), 0);
    regstate_free(s);
    return slurp(f->file, len);
}

static void test_truncated_files(void **state)
{
    struct fx *f = *state;
    size_t len;
    char *text = valid_file(f, &len), err[128];
    int n = 0;

    assert_int_equal(regstate_parse(text, len, count_cb, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    /* Every prefix that cuts a record is refused as a whole, never read
     * past its end (ASan) and never crashes; the store starts empty. */
    for (size_t cut = 0; cut < len; cut++) {
        struct regstate *s;
        char *copy = malloc(cut ? cut : 1);

        memcpy(copy, text, cut);
        n = 0;
        int rc = regstate_parse(copy, cut, count_cb, &n, err, sizeof(err));
        /* A cut right after the magic line or a complete record is a
         * valid shorter file. */
        if (rc == 0)
            assert_true(cut == 19 || (cut > 19 && memcmp(text + cut - 4, "end\n", 4) == 0));
        else
            assert_int_equal(rc, -EBADMSG);
        if (cut % 37 == 0) {
            spit(f->file, copy, cut);
            assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
            assert_int_equal(regstate_count(s), rc == 0 ? (size_t)n : 0);
            regstate_free(s);
        }
        free(copy);
    }
    free(text);
}

static void expect_bad(const char *text, const char *why)
{
    char err[128] = "";
    int n = 0;

    assert_int_equal(regstate_parse(text, strlen(text), count_cb, &n, err, sizeof(err)),
                     -EBADMSG);
    if (!strstr(err, why))
        fail_msg("error \"%s\" lacks \"%s\"", err, why);
}

#define HEAD "sipkeep-regstate 1\nrec\nsvc s\nsrc 1.2.3.4:5060\nlocal [fd00::1]:5060\n"
#define MID "inst urn:uuid:x\naor sip:a@b\ncuri sip:a@c\ncontact <sip:a@c>\n"

static void test_corrupt_files(void **state)
{
    struct fx *f = *state;
    struct regstate *s;
    char big[REGSTATE_FIELD_MAX + 200];

    expect_bad("", "line 1: truncated");
    expect_bad("sipkeep-regstate 3\n", "line 1: not a sipkeep registrations file");
    expect_bad("sipkeep-regstate 20\n", "line 1: not a sipkeep registrations file");
    expect_bad(HEAD "exp 12x\n" MID "reg 1\nx\nend\n", "line 6: bad expiry");
    expect_bad(HEAD "exp -5\n" MID "reg 1\nx\nend\n", "line 6: bad expiry");
    expect_bad("sipkeep-regstate 1\nrec\nsvc s\nsrc 1.2.3.400:5060\nlocal 1.2.3.4:5060\n"
               "exp 1\n" MID "reg 1\nx\nend\n", "bad address");
    expect_bad("sipkeep-regstate 1\nrec\nsvc s\nsrc [::1:5060\nlocal 1.2.3.4:5060\n"
               "exp 1\n" MID "reg 1\nx\nend\n", "bad address");
    expect_bad("sipkeep-regstate 1\nrec\nsvc s\nsrc 1.2.3.4:0\nlocal 1.2.3.4:5060\n"
               "exp 1\n" MID "reg 1\nx\nend\n", "bad address");
    expect_bad(HEAD "exp 1\n" MID "reg 99999999\nx\nend\n", "bad REGISTER length");
    expect_bad(HEAD "exp 1\n" MID "reg 50\nx\nend\n", "REGISTER truncated");
    expect_bad(HEAD "exp 1\n" MID "reg 1\nxy\nend\n", "REGISTER truncated");
    expect_bad(HEAD "exp 1\n" MID "reg 1\nx\nfin\n", "expected 'end'");
    expect_bad(HEAD "exp 1\ninst urn:uuid:x\naor sip:a@b\n" "contact <sip:a@c>\n",
               "expected 'curi VALUE'");
    expect_bad(HEAD "exp 1\n" "inst urn\x01:x\n", "bad inst value");
    expect_bad("sipkeep-regstate 1\ngarbage\n", "line 2: expected 'rec'");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "sipkeep-regstate 1\nrec\nsvc ", 27);
    expect_bad(big, "line 3: line too long");

    /* A record twice, a file that is not regular: ignored as a whole. */
    {
        const char *dup = HEAD "exp 1\n" MID "reg 1\nx\nend\n"
                          "rec\nsvc s\nsrc 1.2.3.4:5060\nlocal [fd00::1]:5060\n"
                          "exp 1\n" MID "reg 1\nx\nend\n";
        int n = 0;
        char err[64];

        assert_int_equal(regstate_parse(dup, strlen(dup), count_cb, &n, err, sizeof(err)), 0);
        assert_int_equal(n, 2);
        spit(f->file, dup, strlen(dup));
        assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
        assert_int_equal(regstate_count(s), 0);
        regstate_free(s);
    }
    assert_int_equal(unlink(f->file), 0);
    assert_int_equal(mkdir(f->file, 0700), 0);
    assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
    assert_int_equal(regstate_count(s), 0);
    regstate_free(s);
    assert_int_equal(rmdir(f->file), 0);

    /* Larger than REGSTATE_FILE_MAX (sparse): refused before reading. */
    {
        int fd = open(f->file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, REGSTATE_FILE_MAX + 1), 0);
        close(fd);
        assert_int_equal(regstate_open(&s, f->dir, NULL), 0);
        assert_int_equal(regstate_count(s), 0);
        regstate_free(s);
    }
}

static void test_addr_parse(void **state)
{
    union sockaddr_ip ss;

    (void)state;
    assert_int_equal(regstate_addr_parse("10.0.0.1:1", 10, &ss), 0);
    assert_int_equal(ss.sa.sa_family, AF_INET);
    assert_int_equal(regstate_addr_parse("[2001:db8::1]:65535", 19, &ss), 0);
    assert_int_equal(ss.sa.sa_family, AF_INET6);
    assert_int_equal(regstate_addr_parse("10.0.0.1:65536", 14, &ss), -EINVAL);
    assert_int_equal(regstate_addr_parse("10.0.0.1", 8, &ss), -EINVAL);
    assert_int_equal(regstate_addr_parse("[2001:db8::1]5060", 17, &ss), -EINVAL);
    assert_int_equal(regstate_addr_parse("host:5060", 9, &ss), -EINVAL);
    assert_int_equal(regstate_addr_parse(":5060", 5, &ss), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_shared_register, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_load_v1, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_secrets_stripped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_put_rejects, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_batched_flush, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_files, fx_setup, fx_teardown),
        cmocka_unit_test(test_addr_parse),
    };

    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test_regstate");
    return cmocka_run_group_tests(tests, NULL, NULL);
}

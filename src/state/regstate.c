/* SPDX-License-Identifier: GPL-2.0-or-later */
/* regstate.c - the stored registrations; see regstate.h.  The parser of the
 * file is in regstate_parse.c. */
#include "state/regstate.h"
#include "state/regstate_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/hash.h"
#include "core/log.h"
#include "sip/sipchar.h"
#include "state/statefile.h"

#define BUCKETS 16384u
#define TMP_SUFFIX ".tmp"

struct entry {
    struct regstate_rec rec; /* first: the record handed out is the entry */
    struct entry *next;
    uint64_t hash;
    int64_t disk_expires;    /* rec.expires_at as last written or loaded */
    char *mem;               /* every string of rec but reg, one block */
    struct rcbuf *reg;       /* rec.reg: shared with its binding, or our copy */
};

struct regstate {
    char *path, *tmp_path, *dir;
    struct loop *loop;
    struct loop_timer flush_timer;
    bool dirty;
    size_t count;
    struct entry *buckets[BUCKETS];
};

/* ---- records in memory ---- */

static uint64_t key_hash(const char *aor, const char *curi)
{
    uint64_t h = hash_fnv64(HASH_FNV64_INIT, aor, strlen(aor));

    h = hash_fnv64(h, "|", 1);
    return hash_fnv64(h, curi, strlen(curi));
}

static struct entry **find_slot(struct regstate *s, const char *aor, const char *curi)
{
    uint64_t h = key_hash(aor, curi);
    struct entry **pp = &s->buckets[h % BUCKETS];

    while (*pp && ((*pp)->hash != h || strcmp((*pp)->rec.aor, aor) != 0 ||
                   strcmp((*pp)->rec.contact_uri, curi) != 0))
        pp = &(*pp)->next;
    return pp;
}

static bool text_ok(const char *v)
{
    size_t n = v ? strnlen(v, REGSTATE_FIELD_MAX + 1) : 0;

    if (n == 0 || n > REGSTATE_FIELD_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return false;
    }
    return true;
}

static bool addr_ok(const union sockaddr_ip *a)
{
    return a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6;
}

/* The header name of a header line (up to ':'), or an empty slice. */
static bool line_is(const char *p, size_t n, const char *name)
{
    size_t nl = strlen(name), i = nl;

    if (n < nl + 1 || strncasecmp(p, name, nl) != 0)
        return false;
    while (i < n && sipchar_is_wsp(p[i]))
        i++;
    return i < n && p[i] == ':';
}

static bool is_secret(const char *p, size_t n)
{
    return line_is(p, n, "Authorization") || line_is(p, n, "Proxy-Authorization");
}

/* Lines that change on every refresh or are rebuilt anyway on restore
 * (RFC 3261 §7.3.3 compact forms included). */
static bool is_volatile(const char *p, size_t n)
{
    static const char *const names[] = { "Via", "v", "CSeq", "Call-ID", "i", "Contact", "m" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (line_is(p, n, names[i]))
            return true;
    }
    return false;
}

/* Calls fn for each header line of msg (its CRLF/LF excluded, with folded
 * continuation lines as part of it), then once for the rest (the empty
 * line and body) with is_body true.  Stops early when fn returns false. */
static void each_line(const char *msg, size_t len, void *arg,
                      bool (*fn)(const char *p, size_t n, size_t full, bool is_body, void *arg))
{
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(msg + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - msg) + 1 : len, full;

        if (end - pos <= 2 && (msg[pos] == '\r' || msg[pos] == '\n')) {
            fn(msg + pos, len - pos, len - pos, true, arg);
            return;
        }
        /* Obsolete line folding (RFC 3261 §7.3.1): continuation lines. */
        while (end < len && sipchar_is_wsp(msg[end])) {
            nl = memchr(msg + end, '\n', len - end);
            end = nl ? (size_t)(nl - msg) + 1 : len;
        }
        full = end - pos;
        if (!fn(msg + pos, full, full, false, arg))
            return;
        pos = end;
    }
}

struct strip_ctx {
    char *out;
    size_t n;
};

static bool strip_line(const char *p, size_t n, size_t full, bool is_body, void *arg)
{
    struct strip_ctx *c = arg;

    if (is_body || !is_secret(p, n)) {
        memcpy(c->out + c->n, p, full);
        c->n += full;
    }
    return true;
}

/* The message without credential lines, into out (len + 1 bytes). */
static size_t strip_secrets(const char *msg, size_t len, char *out)
{
    struct strip_ctx c = { out, 0 };

    each_line(msg, len, &c, strip_line);
    out[c.n] = '\0';
    return c.n;
}

static bool find_secret(const char *p, size_t n, size_t full, bool is_body, void *arg)
{
    (void)full;
    if (!is_body && is_secret(p, n))
        *(bool *)arg = true;
    return !*(bool *)arg;
}

static bool has_secrets(const char *msg, size_t len)
{
    bool found = false;

    each_line(msg, len, &found, find_secret);
    return found;
}

/* The REGISTER a record keeps: the owner's buffer itself when it holds no
 * credentials (no second copy of each phone's REGISTER, issue 14 item 4),
 * else a copy without them.  NULL: ENOMEM. */
static struct rcbuf *reg_keep(struct rcbuf *shared, const char *msg, size_t len)
{
    struct rcbuf *b;
    char *tmp;
    size_t n;

    if (shared && !has_secrets(msg, len))
        return rcbuf_ref(shared);
    tmp = malloc(len + 1);
    if (!tmp)
        return NULL;
    n = strip_secrets(msg, len, tmp);
    b = rcbuf_new(tmp, n);
    free(tmp);
    return b;
}

struct cmp_ctx {
    const char *other;
    size_t on, pos;
    bool differ;
};

/* Next non-volatile line of the other message, as a (p, n) pair. */
static bool next_kept(struct cmp_ctx *c, const char **p, size_t *n)
{
    while (c->pos < c->on) {
        const char *nl = memchr(c->other + c->pos, '\n', c->on - c->pos);
        size_t end = nl ? (size_t)(nl - c->other) + 1 : c->on;

        *p = c->other + c->pos;
        *n = end - c->pos;
        if (*n <= 2 && (**p == '\r' || **p == '\n')) {
            *n = c->on - c->pos;
            c->pos = c->on;
            return true;
        }
        c->pos = end;
        if (!is_volatile(*p, *n))
            return true;
    }
    return false;
}

static bool cmp_line(const char *p, size_t n, size_t full, bool is_body, void *arg)
{
    struct cmp_ctx *c = arg;
    const char *q;
    size_t qn;

    (void)is_body;
    if (!is_body && is_volatile(p, n))
        return true;
    if (!next_kept(c, &q, &qn) || qn != full || memcmp(p, q, full) != 0)
        c->differ = true;
    return !c->differ;
}

/* Whether a and b differ in more than the lines rebuilt on restore.
 * (Folded lines compare as separate lines in b: a fold is just a
 * difference, which costs one more write at worst.) */
static bool reg_material_change(const char *a, size_t an, const char *b, size_t bn)
{
    struct cmp_ctx c = { b, bn, 0, false };
    const char *q;
    size_t qn;

    each_line(a, an, &c, cmp_line);
    return c.differ || next_kept(&c, &q, &qn);
}

/* Arms the flush within delay_ms (never postponing an earlier one). */
static void mark_dirty_within(struct regstate *s, uint64_t delay_ms)
{
    s->dirty = true;
    if (!s->loop || (loop_timer_armed(&s->flush_timer) &&
                     s->flush_timer.due_ms <= loop_now(s->loop) + delay_ms))
        return;
    if (loop_timer_set(s->loop, &s->flush_timer, delay_ms) < 0)
        log_warn("regstate_timer_failed", "reason=\"no memory; written at exit\"");
}

static void mark_dirty(struct regstate *s)
{
    mark_dirty_within(s, REGSTATE_FLUSH_MS);
}

/* Only an expiry moved: what is on disk is merely older, so it can wait. */
static void mark_stale(struct regstate *s)
{
    mark_dirty_within(s, REGSTATE_LAZY_FLUSH_MS);
}

static void entry_free(struct entry *e)
{
    if (e) {
        free(e->mem);
        rcbuf_unref(e->reg);
        free(e);
    }
}

/* A copy of r's strings in one block and its REGISTER (reg_keep).  NULL:
 * ENOMEM. */
static struct entry *entry_new(const struct regstate_rec *r)
{
    const char *strs[] = { r->service, r->instance, r->aor, r->contact_uri, r->contact };
    size_t total = 0, pos = 0;
    struct entry *e = calloc(1, sizeof(*e));
    const char **dst[5];

    if (!e)
        return NULL;
    /* after the check: &e->rec.x of a NULL e is undefined (UBSan) */
    dst[0] = &e->rec.service;
    dst[1] = &e->rec.instance;
    dst[2] = &e->rec.aor;
    dst[3] = &e->rec.contact_uri;
    dst[4] = &e->rec.contact;
    for (size_t i = 0; i < 5; i++)
        total += strlen(strs[i]) + 1;
    e->mem = malloc(total);
    e->reg = e->mem ? reg_keep(r->reg_buf, r->reg, r->reg_len) : NULL;
    if (!e->reg) {
        free(e->mem);
        free(e);
        return NULL;
    }
    e->rec = *r;
    for (size_t i = 0; i < 5; i++) {
        size_t n = strlen(strs[i]) + 1;
        memcpy(e->mem + pos, strs[i], n);
        *dst[i] = e->mem + pos;
        pos += n;
    }
    e->rec.reg = e->reg->p;
    e->rec.reg_len = e->reg->len;
    e->rec.reg_buf = e->reg;
    e->hash = key_hash(r->aor, r->contact_uri);
    return e;
}

static bool rec_valid(const struct regstate_rec *r)
{
    return text_ok(r->service) && text_ok(r->instance) && text_ok(r->aor) &&
           text_ok(r->contact_uri) && text_ok(r->contact) && addr_ok(&r->ua_src) &&
           addr_ok(&r->ua_local) && r->reg && r->reg_len > 0 &&
           r->reg_len <= REGSTATE_REG_MAX && memchr(r->reg, '\0', r->reg_len) == NULL;
}

/* An expiry moved by less than half the interval is not worth a write:
 * at worst a restart sees the UA lapse that much early and waits for its
 * REGISTER, as without the store. */
static bool expiry_moved(int64_t disk, int64_t now_exp, uint32_t granted_s)
{
    return now_exp - disk >= (int64_t)granted_s / 2 + 1 || now_exp < disk;
}

/* Whether the new record n differs from the old one o in more than its
 * expiry. */
static bool material(const struct entry *o, const struct entry *n)
{
    if (strcmp(o->rec.service, n->rec.service) || strcmp(o->rec.instance, n->rec.instance) ||
        strcmp(o->rec.contact, n->rec.contact) ||
        !addr_equal((const struct sockaddr *)&o->rec.ua_src,
                    (const struct sockaddr *)&n->rec.ua_src) ||
        !addr_equal((const struct sockaddr *)&o->rec.ua_local,
                    (const struct sockaddr *)&n->rec.ua_local))
        return true;
    return reg_material_change(o->rec.reg, o->rec.reg_len, n->rec.reg, n->rec.reg_len);
}

int regstate_put(struct regstate *s, const struct regstate_rec *rec, uint32_t granted_s)
{
    struct regstate_rec shared = *rec, *r = &shared;
    struct entry **pp, *e;

    if (r->reg_buf) {
        r->reg = r->reg_buf->p;
        r->reg_len = r->reg_buf->len;
    }
    if (!rec_valid(r))
        return -EINVAL;
    pp = find_slot(s, r->aor, r->contact_uri);
    if (!*pp && s->count >= REGSTATE_MAX_RECORDS)
        return -ENOSPC;
    e = entry_new(r);
    if (!e)
        return -ENOMEM;
    if (*pp) {
        e->disk_expires = (*pp)->disk_expires;
        if (material(*pp, e))
            mark_dirty(s);
        else if (expiry_moved(e->disk_expires, e->rec.expires_at, granted_s))
            mark_stale(s);
        e->next = (*pp)->next;
        entry_free(*pp);
    } else {
        e->disk_expires = 0; /* never written: any expiry is news */
        s->count++;
        mark_dirty(s);
    }
    *pp = e;
    return 0;
}

const struct regstate_rec *regstate_get(const struct regstate *s, const char *aor,
                                        const char *contact_uri)
{
    struct entry *e = *find_slot((struct regstate *)s, aor, contact_uri);

    return e ? &e->rec : NULL;
}

void regstate_set_expiry(struct regstate *s, const char *aor, const char *contact_uri,
                         int64_t expires_at, uint32_t granted_s)
{
    struct entry *e = *find_slot(s, aor, contact_uri);

    if (!e)
        return;
    e->rec.expires_at = expires_at;
    if (expiry_moved(e->disk_expires, expires_at, granted_s))
        mark_stale(s);
}

void regstate_del(struct regstate *s, const char *aor, const char *contact_uri)
{
    struct entry **pp = find_slot(s, aor, contact_uri), *e = *pp;

    if (!e)
        return;
    *pp = e->next;
    entry_free(e);
    s->count--;
    mark_dirty(s);
}

const struct regstate_rec *regstate_next(const struct regstate *s,
                                         const struct regstate_rec *prev)
{
    const struct entry *e = (const struct entry *)prev;
    size_t b = 0;

    if (e && e->next)
        return &e->next->rec;
    if (e)
        b = e->hash % BUCKETS + 1;
    for (; b < BUCKETS; b++) {
        if (s->buckets[b])
            return &s->buckets[b]->rec;
    }
    return NULL;
}

size_t regstate_count(const struct regstate *s)
{
    return s->count;
}

bool regstate_dirty(const struct regstate *s)
{
    return s->dirty;
}

/* ---- writing ---- */

struct wbuf {
    char *p;
    size_t n, cap;
    int err;
};

static void wb_put(struct wbuf *w, const char *p, size_t n)
{
    if (w->err)
        return;
    if (w->n + n > w->cap) {
        size_t cap = (w->cap ? w->cap * 2 : 65536) + n;
        char *np = realloc(w->p, cap);
        if (!np) {
            w->err = -ENOMEM;
            return;
        }
        w->p = np;
        w->cap = cap;
    }
    memcpy(w->p + w->n, p, n);
    w->n += n;
}

static void wb_field(struct wbuf *w, const char *name, const char *v)
{
    wb_put(w, name, strlen(name));
    wb_put(w, " ", 1);
    wb_put(w, v, strlen(v));
    wb_put(w, "\n", 1);
}

static void wb_record(struct wbuf *w, const struct regstate_rec *r)
{
    char a[ADDR_STR_MAX], l[ADDR_STR_MAX], num[32];

    wb_put(w, "rec\n", 4);
    wb_field(w, "svc", r->service);
    wb_field(w, "src", addr_format((const struct sockaddr *)&r->ua_src, true, a, sizeof(a)));
    wb_field(w, "local",
             addr_format((const struct sockaddr *)&r->ua_local, true, l, sizeof(l)));
    snprintf(num, sizeof(num), "%" PRId64, r->expires_at < 0 ? 0 : r->expires_at);
    wb_field(w, "exp", num);
    wb_field(w, "inst", r->instance);
    wb_field(w, "aor", r->aor);
    wb_field(w, "curi", r->contact_uri);
    wb_field(w, "contact", r->contact);
    snprintf(num, sizeof(num), "%zu", r->reg_len);
    wb_field(w, "reg", num);
    wb_put(w, r->reg, r->reg_len);
    wb_put(w, "\nend\n", 5);
}

int regstate_flush(struct regstate *s)
{
    struct wbuf w = { 0 };
    int rc;

    if (!s->dirty)
        return 0;
    wb_put(&w, REGSTATE_MAGIC "\n", sizeof(REGSTATE_MAGIC));
    for (const struct regstate_rec *r = regstate_next(s, NULL); r; r = regstate_next(s, r))
        wb_record(&w, r);
    rc = w.err ? w.err : statefile_replace(s->tmp_path, s->path, s->dir, w.p, w.n);
    log_debug("regstate_written", "records=%zu bytes=%zu err=%d", s->count, w.n, rc);
    free(w.p);
    if (rc < 0)
        return rc;
    s->dirty = false;
    for (size_t b = 0; b < BUCKETS; b++) {
        for (struct entry *e = s->buckets[b]; e; e = e->next)
            e->disk_expires = e->rec.expires_at;
    }
    return 0;
}

static void on_flush(struct loop_timer *t)
{
    struct regstate *s = container_of(t, struct regstate, flush_timer);
    int rc = regstate_flush(s);

    if (rc < 0) {
        log_warn("regstate_write_failed", "path=%s err=\"%s\"", s->path, strerror(-rc));
        loop_timer_set(s->loop, &s->flush_timer, REGSTATE_FLUSH_MS);
    }
}

/* ---- loading ---- */

static int load_rec(const struct regstate_rec *r, void *arg)
{
    struct regstate *s = arg;
    struct entry **pp, *e;

    if (!rec_valid(r))
        return -EBADMSG;
    pp = find_slot(s, r->aor, r->contact_uri);
    if (*pp)
        return -EEXIST;
    e = entry_new(r);
    if (!e)
        return -ENOMEM;
    e->disk_expires = r->expires_at;
    *pp = e;
    s->count++;
    return 0;
}

static void clear(struct regstate *s)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        while (s->buckets[b]) {
            struct entry *e = s->buckets[b];
            s->buckets[b] = e->next;
            entry_free(e);
        }
    }
    s->count = 0;
}

/* Returns 0, or -ENOMEM with nothing kept; any other problem with the
 * file is logged and the store starts empty.  (Out of memory must not
 * read as a bad file: that would drop every stored registration at the
 * next write.) */
static int load(struct regstate *s)
{
    char *buf = NULL, err[160] = "";
    size_t len = 0;
    int rc = statefile_read(s->path, REGSTATE_FILE_MAX, STATEFILE_NOFOLLOW | STATEFILE_REGULAR,
                            &buf, &len);

    if (rc == -ENOENT)
        return 0;
    if (!rc)
        rc = regstate_parse(buf, len, load_rec, s, err, sizeof(err));
    free(buf);
    if (rc == 0) {
        log_info("regstate_loaded", "path=%s records=%zu", s->path, s->count);
        return 0;
    }
    clear(s);
    if (rc == -ENOMEM)
        return rc;
    log_warn("regstate_ignored", "path=%s err=\"%s\" action=\"starting without stored "
             "registrations; the file is replaced at the next write\"", s->path,
             err[0] ? err : rc == -EEXIST ? "a binding appears twice" : strerror(-rc));
    return 0;
}

static char *join(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, suffix);
    return p;
}

int regstate_open(struct regstate **out, const char *state_dir, struct loop *loop)
{
    struct regstate *s;

    if (!state_dir || !state_dir[0])
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->path = join(state_dir, REGSTATE_FILE, "");
    s->tmp_path = join(state_dir, REGSTATE_FILE, TMP_SUFFIX);
    s->dir = strdup(state_dir);
    s->loop = loop;
    loop_timer_init(&s->flush_timer, on_flush);
    if (!s->path || !s->tmp_path || !s->dir || load(s) < 0) {
        regstate_free(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

void regstate_free(struct regstate *s)
{
    if (!s)
        return;
    if (s->loop)
        loop_timer_cancel(s->loop, &s->flush_timer);
    clear(s);
    free(s->path);
    free(s->tmp_path);
    free(s->dir);
    free(s);
}

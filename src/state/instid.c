/* SPDX-License-Identifier: GPL-2.0-or-later */
/* instid.c - persistent RFC 5626 instance-ids; see instid.h.
 *
 * Entries are allocated one by one so the URN pointers handed out never
 * move.  Two open-addressing hash tables (by key, by URN) index the entry
 * array; both hold entry index + 1, 0 meaning an empty slot, and are kept at
 * most half full so probes stay short for 10,000+ UAs.
 *
 * New UAs append their lines to the file (one write, then ONE fdatasync
 * for all the UAs of a batch, on the worker thread: instid_commit_start):
 * O(1) per UA.  Rewriting the whole file for each one made the first
 * registration of 10,000 phones O(N^2) (tests/bench/scale.sh: 1 MB written
 * and fsynced per phone at the end, REGISTER p99 above 2 s).  The file is
 * rewritten whole (tmp + rename) only when it has to be: when it does not
 * exist yet, when loading skipped lines (they are dropped then, as
 * instid.h promises), and after a failed append that could not be undone.
 *
 * The worker: while the event loop sat in fdatasync nothing else moved
 * (keep-alive pongs, relayed calls, the next phones); on this VM's disk a
 * batch's sync held the loop for 16% of a 4,000/s storm
 * (tests/bench/compare.sh), on a 10 ms disk for 86% (tests/bench/storm.sh).
 * So the loop thread builds a batch's bytes and hands them over; the
 * worker writes and syncs them and posts the batch back.  One batch at a
 * time: appends stay in order, and the loop decides when the next starts.
 */
#include "state/instid.h"
#include "state/instid_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/log.h"
#include "sip/sipchar.h"
#include "sip/uri.h"
#include "state/statefile.h"

#define FILE_NAME "instance-ids"
#define TMP_SUFFIX ".tmp"
#define URN_PREFIX "urn:uuid:"
#define URN_PREFIX_LEN (sizeof(URN_PREFIX) - 1)
#define LOAD_WARN_MAX 10 /* per-line warnings before we only count */

static const char file_header[] =
    "# sipkeep RFC 5626 instance-ids, one '<urn:uuid> <ua-key>' per line; "
    "ids must never change: do not edit while sipkeep runs\n";

struct instid_entry {
    char urn[INSTID_URN_LEN + 1];
    size_t key_len;
    char key[]; /* NUL-terminated for logging */
};

/* The file as its writer sees it.  Owned by whichever thread holds the
 * current batch: the worker from instid_commit_start until the store's
 * thread has collected the batch, that thread otherwise (the hand-over
 * goes through instid_worker.mu, so each sees what the other wrote). */
struct instid_disk {
    const char *dir, *path, *tmp_path; /* the store's: never change after open */
    int fd;       /* O_APPEND descriptor of path, -1 until the first append */
    off_t size;   /* path's length while fd is open: where a failed append is cut */
    bool rewrite; /* the next batch rewrites the whole file instead */
};

/* One batch on its way to the disk: the bytes to write, owned by the
 * batch (built on the store's thread: the worker never reads entries),
 * and the disk's answer. */
struct instid_batch {
    uint64_t seq;
    bool whole;   /* bytes are the whole file (replace it), else lines to append */
    char *bytes;
    size_t len;
    int rc;       /* 0 or -errno of the write/sync/rename */
    uint64_t took_us; /* how long the disk's part took */
};

/* The thread that writes and syncs batches (issue 14: a sync blocks for
 * milliseconds, tens on a router's flash; the event loop must not). */
struct instid_worker {
    int efd;           /* eventfd: written once per finished batch */
    bool started;      /* tid runs; instid_store_free joins it */
    bool no_thread;    /* none could be started: batches are written inline */
    enum instid_sync_how how; /* instid_sync_how (tests); adaptive by default */
    uint64_t ewma_us;  /* recent batches' disk time, 0 before the first */
    uint64_t limit_us; /* INSTID_INLINE_SYNC_US (instid_sync_limit: tests) */
    bool locks_ready;  /* mu and cv initialised */
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Under mu: */
    struct instid_batch *todo; /* handed over, not taken yet */
    struct instid_batch *done; /* finished, not collected yet */
    bool stop;
};

struct instid_store {
    char *dir;
    char *path;     /* dir/instance-ids */
    char *tmp_path; /* dir/instance-ids.tmp: same directory, so rename is atomic */
    struct instid_entry **ents;
    size_t n, cap;
    uint32_t *by_key; /* 2 * cap slots */
    uint32_t *by_urn;
    size_t mask;
    uint64_t seed; /* per store, so bucket positions are not predictable */
    struct instid_disk disk;
    struct instid_worker w;
    size_t migrated; /* old-form lines (aor|contact-uri) rewritten on load */
    bool reindex;    /* a migrated line replaced an entry's URN while loading */
    /* Group commit (issue 14): ents[0 .. durable) are on disk, the rest
     * were minted since.  While busy, ents[durable .. busy_end) are batch
     * number seq, being written; the ids after them (and all of the tail
     * when not busy) go in the next batch, number seq + 1. */
    size_t durable;
    size_t busy_end;
    bool busy;
    uint64_t seq; /* the last batch started */
};

/* Per-load bookkeeping for warnings. */
struct load_ctx {
    const char *path;
    unsigned long lineno;
    unsigned long skipped;
    bool torn; /* the last line had no '\n' */
};

/* ---- validation ---- */

static bool key_valid(struct slice k)
{
    if (!k.p || k.n == 0 || k.n > INSTID_KEY_MAX)
        return false;
    for (size_t i = 0; i < k.n; i++) {
        unsigned char c = (unsigned char)k.p[i];
        if (c < 0x21 || c > 0x7e) /* the file format splits on whitespace */
            return false;
    }
    return true;
}

/* RFC 4122 §3 syntax: "urn:uuid:" 8-4-4-4-12 hex digits.  Hex and the
 * prefix are case-insensitive on input, and any version is accepted: an id
 * carried over from elsewhere must be kept, not replaced. */
static bool urn_valid(struct slice u)
{
    if (u.n != INSTID_URN_LEN || strncasecmp(u.p, URN_PREFIX, URN_PREFIX_LEN) != 0)
        return false;
    for (size_t i = URN_PREFIX_LEN; i < u.n; i++) {
        size_t pos = i - URN_PREFIX_LEN;
        bool dash = pos == 8 || pos == 13 || pos == 18 || pos == 23;
        if (dash ? u.p[i] != '-' : !sipchar_is_hex(u.p[i]))
            return false;
    }
    return true;
}

/* ---- hash tables ---- */

/* FNV-1a, seeded, with a final avalanche so the low bits used for the
 * bucket depend on every byte.  fold lowercases ASCII (URN lookups: two
 * URNs differing only in hex case are the same UUID, RFC 4122 §3). */
static uint64_t hash_slice(uint64_t seed, struct slice s, bool fold)
{
    uint64_t h = (fold ? hash_fnv64_ci : hash_fnv64)(HASH_FNV64_INIT ^ seed, s.p, s.n);

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static bool entry_matches(const struct instid_entry *e, struct slice want, bool by_urn)
{
    if (by_urn)
        return slice_eq_ci(slice_cstr(e->urn), want);
    return slice_eq((struct slice){ e->key, e->key_len }, want);
}

/* Returns the slot holding the entry matching want, or the empty slot where
 * it would go.  The table is never full (at most half), so this ends. */
static size_t table_find(const struct instid_store *s, const uint32_t *tab,
                         struct slice want, bool by_urn)
{
    size_t i = (size_t)hash_slice(s->seed, want, by_urn) & s->mask;

    for (;; i = (i + 1) & s->mask) {
        if (tab[i] == 0 || entry_matches(s->ents[tab[i] - 1], want, by_urn))
            return i;
    }
}

/* The index in ents of the entry matching want, or SIZE_MAX. */
static size_t lookup_idx(const struct instid_store *s, struct slice want, bool by_urn)
{
    const uint32_t *tab = by_urn ? s->by_urn : s->by_key;

    if (s->n == 0)
        return SIZE_MAX;
    uint32_t v = tab[table_find(s, tab, want, by_urn)];
    return v ? v - 1 : SIZE_MAX;
}

static const struct instid_entry *lookup(const struct instid_store *s,
                                         struct slice want, bool by_urn)
{
    size_t i = lookup_idx(s, want, by_urn);

    return i == SIZE_MAX ? NULL : s->ents[i];
}

/* Indexes ents[idx] in both tables; capacity was reserved beforehand. */
static void table_put(struct instid_store *s, size_t idx)
{
    const struct instid_entry *e = s->ents[idx];
    struct slice key = { e->key, e->key_len };

    s->by_key[table_find(s, s->by_key, key, false)] = (uint32_t)idx + 1;
    s->by_urn[table_find(s, s->by_urn, slice_cstr(e->urn), true)] = (uint32_t)idx + 1;
}

/* Makes room for one more entry.  Any failure leaves the store usable as it
 * was (a grown array with the old tables is still consistent), so the
 * insert that follows a success cannot fail. */
static int store_reserve(struct instid_store *s)
{
    if (s->n < s->cap)
        return 0;
    size_t cap = s->cap ? s->cap * 2 : 64;
    struct instid_entry **ents = realloc(s->ents, cap * sizeof(*ents));
    if (!ents)
        return -ENOMEM;
    s->ents = ents;
    uint32_t *bk = calloc(cap * 2, sizeof(*bk));
    uint32_t *bu = calloc(cap * 2, sizeof(*bu));
    if (!bk || !bu) {
        free(bk);
        free(bu);
        return -ENOMEM;
    }
    free(s->by_key);
    free(s->by_urn);
    s->by_key = bk;
    s->by_urn = bu;
    s->mask = cap * 2 - 1;
    s->cap = cap;
    for (size_t i = 0; i < s->n; i++)
        table_put(s, i);
    return 0;
}

static void store_insert(struct instid_store *s, struct instid_entry *e)
{
    s->ents[s->n] = e;
    table_put(s, s->n);
    s->n++;
}

static struct instid_entry *entry_new(struct slice urn, struct slice key)
{
    struct instid_entry *e = malloc(sizeof(*e) + key.n + 1);

    if (!e)
        return NULL;
    memcpy(e->urn, urn.p, urn.n); /* urn.n is INSTID_URN_LEN, or 0 to fill later */
    e->urn[urn.n] = '\0';
    memcpy(e->key, key.p, key.n);
    e->key[key.n] = '\0';
    e->key_len = key.n;
    return e;
}

/* ---- UUIDs ---- */

static int random_bytes(void *buf, size_t n)
{
    ssize_t r;

    /* n <= 256: getrandom() returns all of it or fails. */
    do {
        r = getrandom(buf, n, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    return (size_t)r == n ? 0 : -EIO;
}

/* A version-4 (random) UUID URN, RFC 4122 §4.4, lowercase per §3. */
static int make_urn(char out[INSTID_URN_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t pos = URN_PREFIX_LEN;
    int rc = random_bytes(b, sizeof(b));

    if (rc)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10xx */
    memcpy(out, URN_PREFIX, URN_PREFIX_LEN);
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[pos++] = '-';
        out[pos++] = hex[b[i] >> 4];
        out[pos++] = hex[b[i] & 15];
    }
    out[pos] = '\0';
    return 0;
}

/* A URN no other UA has.  122 random bits never collide in practice; the
 * check is cheap insurance for "distinct UAs get distinct ids". */
static int fresh_urn(const struct instid_store *s, char out[INSTID_URN_LEN + 1])
{
    for (int tries = 0; tries < 4; tries++) {
        int rc = make_urn(out);
        if (rc)
            return rc;
        if (!lookup(s, slice_cstr(out), true))
            return 0;
    }
    return -EAGAIN;
}

/* ---- writing: batches and the worker ---- */

/* A line of the file: "<urn> <key>\n". */
static size_t line_len(const struct instid_entry *e)
{
    return INSTID_URN_LEN + 1 + e->key_len + 1;
}

static char *put_line(char *p, const struct instid_entry *e)
{
    memcpy(p, e->urn, INSTID_URN_LEN);
    p[INSTID_URN_LEN] = ' ';
    memcpy(p + INSTID_URN_LEN + 1, e->key, e->key_len);
    p[INSTID_URN_LEN + 1 + e->key_len] = '\n';
    return p + line_len(e);
}

static void batch_free(struct instid_batch *b)
{
    if (b)
        free(b->bytes);
    free(b);
}

/* The bytes that make ents[durable .. n) durable, built on the store's
 * thread so that the worker never reads the entries: their lines, or
 * (whole) the header and every entry, the file's new contents.  NULL
 * without memory. */
static struct instid_batch *batch_build(const struct instid_store *s, bool whole)
{
    struct instid_batch *b = calloc(1, sizeof(*b));
    size_t from = whole ? 0 : s->durable, len = whole ? sizeof(file_header) - 1 : 0;
    char *p;

    for (size_t i = from; i < s->n; i++)
        len += line_len(s->ents[i]);
    if (b)
        b->bytes = malloc(len);
    if (!b || !b->bytes) {
        batch_free(b);
        return NULL;
    }
    b->whole = whole;
    b->len = len;
    p = b->bytes;
    if (whole) {
        memcpy(p, file_header, sizeof(file_header) - 1);
        p += sizeof(file_header) - 1;
    }
    for (size_t i = from; i < s->n; i++)
        p = put_line(p, s->ents[i]);
    return b;
}

/* The append descriptor, opened on first use; its size is where a failed
 * append is cut back to. */
static int disk_open(struct instid_disk *d)
{
    struct stat st;

    if (d->fd >= 0)
        return 0;
    int fd = open(d->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    d->fd = fd;
    d->size = st.st_size;
    return 0;
}

static void disk_close(struct instid_disk *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

/* Appends a batch's lines with one write and makes them durable with ONE
 * fdatasync: the group commit.  On failure the file is cut back to its old
 * length, so that no partial line is left for the next append to run
 * into; if even that fails, the next batch rewrites the file. */
static int disk_append(struct instid_disk *d, const struct instid_batch *b)
{
    int rc = disk_open(d);

    if (rc != 0)
        return rc;
    rc = statefile_write_all(d->fd, b->bytes, b->len);
    if (rc == 0 && fdatasync(d->fd) != 0)
        rc = -errno;
    if (rc == 0) {
        d->size += (off_t)b->len;
        return 0;
    }
    if (ftruncate(d->fd, d->size) != 0 || fdatasync(d->fd) != 0)
        d->rewrite = true;
    return rc;
}

/* Real elapsed time, for how long the disk took: measured on whichever
 * thread syncs, so not the loop's (possibly fake) clock. */
static uint64_t mono_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* Does the disk's part of batch b (it owns d meanwhile) and records the
 * result in b->rc.  A whole file replaces the old one (tmp + fsync +
 * rename + fsync of the directory): a crash leaves either.  If only that
 * directory sync fails, the new file is already in place although the
 * batch's ids are forgotten: a restart adopts them, the next rewrite drops
 * them; they were never handed out either way. */
static void disk_run(struct instid_disk *d, struct instid_batch *b)
{
    uint64_t t0 = mono_us();

    if (!b->whole) {
        b->rc = disk_append(d, b);
    } else {
        b->rc = statefile_replace(d->tmp_path, d->path, d->dir, b->bytes, b->len);
        if (b->rc == 0) {
            disk_close(d); /* it was the replaced file's */
            d->rewrite = false;
        }
    }
    b->took_us = mono_us() - t0;
}

static void worker_signal(struct instid_worker *w)
{
    uint64_t one = 1;

    /* An eventfd's counter cannot overflow at one batch at a time. */
    if (write(w->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        return;
}

/* The worker thread: takes the batch handed over, writes and syncs it,
 * leaves it in done and signals efd; until told to stop, after finishing
 * the batch it holds.  It touches only w (under w->mu) and the disk
 * (owned while it holds a batch), never the entries. */
static void *worker_main(void *arg)
{
    struct instid_store *s = arg;
    struct instid_worker *w = &s->w;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        struct instid_batch *b;

        while (!w->todo && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->todo)
            break;
        b = w->todo;
        w->todo = NULL;
        pthread_mutex_unlock(&w->mu);
        disk_run(&s->disk, b);
        pthread_mutex_lock(&w->mu);
        w->done = b;
        worker_signal(w);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Starts the worker with every signal blocked: they belong to the event
 * loop's signalfd. */
static int worker_start(struct instid_store *s)
{
    sigset_t all, old;
    int rc;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->w.tid, NULL, worker_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    s->w.started = true;
    return 0;
}

/* Whether the next batch is written on the store's own thread.  A sync
 * that takes under INSTID_INLINE_SYNC_US costs the loop less than the
 * hand-over, which needs two thread wake-ups, each of which can wait
 * milliseconds for a CPU on a busy 2-core box: compare.sh's 4,000/s storm
 * on this VM (syncs 0.3-0.5 ms) had the phones' REGISTER -> SYN p99 at
 * 5.3 ms syncing inline and 16-22 ms through the worker, and storm.sh
 * without slowing (1,000/s) p99 3-9 ms inline, 9-21 ms with the first
 * batch on the worker and the rest inline (a second thread in the process
 * at all showed 10 ms stalls of the loop we did not explain).  So the
 * first batch is synced here, and the worker is started only once the
 * recent syncs are slow (a router's flash, tens of ms): the loop waits
 * for one slow sync, the next ones go to the worker. */
static bool sync_here(const struct instid_worker *w)
{
    if (w->no_thread || w->how == INSTID_SYNC_INLINE)
        return true;
    return w->how == INSTID_SYNC_ADAPTIVE && w->ewma_us < w->limit_us;
}

/* Gives b to the worker (started on the first batch it gets), or runs the
 * disk's part here and now (sync_here).  Either way the result is
 * collected through efd. */
static void batch_hand_over(struct instid_store *s, struct instid_batch *b)
{
    struct instid_worker *w = &s->w;
    bool here = sync_here(w);

    if (!here && !w->started) {
        int rc = worker_start(s);

        if (rc < 0) {
            log_warn("instid_worker_failed", "err=\"%s\" action=\"syncing instance-ids "
                     "on the event loop\"", strerror(-rc));
            w->no_thread = here = true;
        }
    }
    if (here)
        disk_run(&s->disk, b);
    pthread_mutex_lock(&w->mu);
    if (here) {
        w->done = b;
        worker_signal(w);
    } else {
        w->todo = b;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

/* Stops the worker after the batch it holds, if any. */
static void worker_stop(struct instid_store *s)
{
    struct instid_worker *w = &s->w;

    if (!w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->tid, NULL);
    w->started = false;
}

/* ---- keys ---- */

int instid_ua_key(struct slice aor, struct slice contact_uri, char *out, size_t outsz,
                  size_t *outlen)
{
    struct sipuri u;
    size_t n;

    if (sipuri_parse(&u, contact_uri) < 0)
        return -EINVAL;
    n = aor.n + 1 + u.host.n;
    if (n > INSTID_KEY_MAX || n >= outsz)
        return -ENAMETOOLONG;
    memcpy(out, aor.p, aor.n);
    out[aor.n] = '|';
    /* Host names are case-insensitive (RFC 3261 §19.1.4); so is IPv6 hex. */
    for (size_t i = 0; i < u.host.n; i++) {
        char c = u.host.p[i];
        out[aor.n + 1 + i] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
    }
    out[n] = '\0';
    *outlen = n;
    return 0;
}

/* A key in the form before issue 11, "aor|contact-uri" (the whole Contact
 * URI, port and parameters included), made into today's "aor|host" in buf
 * (*key then points there).  Returns whether it was one.  The separator is
 * the first '|' followed by a sip: or sips: URI. */
static bool migrate_key(struct slice *key, char *buf, size_t bufsz)
{
    for (size_t i = 0; i < key->n; i++) {
        struct slice rest = { key->p + i + 1, key->n - i - 1 };
        size_t n;

        if (key->p[i] != '|')
            continue;
        if (!(rest.n > 4 && strncasecmp(rest.p, "sip:", 4) == 0) &&
            !(rest.n > 5 && strncasecmp(rest.p, "sips:", 5) == 0))
            continue;
        if (instid_ua_key((struct slice){ key->p, i }, rest, buf, bufsz, &n) < 0)
            return false;
        *key = (struct slice){ buf, n };
        return true;
    }
    return false;
}

/* Both tables again from the entries (after migrated lines changed URNs). */
static void tables_rebuild(struct instid_store *s)
{
    memset(s->by_key, 0, (s->mask + 1) * sizeof(*s->by_key));
    memset(s->by_urn, 0, (s->mask + 1) * sizeof(*s->by_urn));
    for (size_t i = 0; i < s->n; i++)
        table_put(s, i);
}

/* ---- loading ---- */

static void load_skip(struct load_ctx *lc, const char *reason)
{
    if (lc->skipped++ < LOAD_WARN_MAX)
        log_warn("instid_line_skipped", "at=%s:%lu reason=%s", lc->path, lc->lineno,
                 reason);
}

/* Splits "<urn> <key>"; returns NULL, or why the line is unusable. */
static const char *parse_line(struct slice line, struct slice *urn, struct slice *key)
{
    size_t i = 0;

    while (i < line.n && line.p[i] != ' ' && line.p[i] != '\t')
        i++;
    *urn = (struct slice){ line.p, i };
    while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t'))
        i++;
    *key = (struct slice){ line.p + i, line.n - i };
    if (!urn_valid(*urn))
        return "bad_urn";
    if (!key_valid(*key))
        return "bad_key";
    return NULL;
}

/* Adds one line's entry, or skips it.  Only -ENOMEM is fatal. */
static int load_line(struct instid_store *s, struct load_ctx *lc, struct slice line)
{
    struct slice urn, key;
    char newkey[INSTID_KEY_MAX + 1];
    const char *why;

    line = slice_trim(line); /* also tolerates CRLF from a hand edit */
    if (line.n == 0 || line.p[0] == '#')
        return 0;
    why = parse_line(line, &urn, &key);
    if (!why && migrate_key(&key, newkey, sizeof(newkey))) {
        struct instid_entry *had = (struct instid_entry *)lookup(s, key, false);

        s->migrated++;
        /* Several Contacts of one phone (new ports, new rinstance) each got
         * a line; the last one is the id the registrar knows now. */
        if (had && !lookup(s, urn, true)) {
            memcpy(had->urn, urn.p, INSTID_URN_LEN);
            s->reindex = true;
            return 0;
        }
    }
    if (!why && lookup(s, key, false))
        why = "duplicate_key"; /* the first line wins */
    if (!why && lookup(s, urn, true))
        why = "duplicate_urn"; /* two UAs must never share an id */
    if (!why && s->n >= INSTID_MAX_ENTRIES)
        why = "too_many_entries";
    if (why) {
        load_skip(lc, why);
        return 0;
    }
    int rc = store_reserve(s);
    struct instid_entry *e = rc ? NULL : entry_new(urn, key);
    if (!e)
        return -ENOMEM;
    store_insert(s, e);
    return 0;
}

/* Lines end at '\n'; NUL bytes are kept and later rejected as controls.
 * A line longer than INSTID_LINE_MAX is skipped; lc.torn tells whether the
 * last one ends at end of file without its '\n'. */
static int load_lines(struct instid_store *s, const char *buf, size_t len)
{
    struct load_ctx lc = { s->path, 0, 0, false };
    int rc = 0;

    for (size_t off = 0; off < len && rc == 0;) {
        const char *p = buf + off, *nl = memchr(p, '\n', len - off);
        size_t n = nl ? (size_t)(nl - p) : len - off;

        off += n + (nl != NULL);
        lc.torn = !nl;
        lc.lineno++;
        if (n > INSTID_LINE_MAX)
            load_skip(&lc, "line_too_long");
        else
            rc = load_line(s, &lc, (struct slice){ p, n });
    }
    if (lc.skipped > LOAD_WARN_MAX)
        log_warn("instid_lines_skipped", "file=%s skipped=%lu", s->path, lc.skipped);
    /* Dropped lines go at the next write.  A last line without '\n' (a hand
     * edit, or an append cut short by a crash: its id was never handed out,
     * since the fdatasync did not return) is kept when valid, but the next
     * append would join it: rewrite instead. */
    if (lc.skipped > 0 || lc.torn || s->migrated > 0)
        s->disk.rewrite = true;
    if (s->reindex && s->n > 0)
        tables_rebuild(s);
    s->durable = s->n;
    return rc < 0 ? rc : 0;
}

static int store_load(struct instid_store *s)
{
    char *buf;
    size_t len;
    /* A regular file of sane size: every entry is kept in RAM. */
    int rc = statefile_read(s->path, INSTID_FILE_MAX, STATEFILE_REGULAR, &buf, &len);

    if (rc == -ENOENT) {
        s->disk.rewrite = true; /* the first write creates it, header first */
        return 0;
    }
    if (rc == 0)
        rc = load_lines(s, buf, len);
    free(buf);
    if (rc != 0) {
        log_error("instid_load_failed", "file=%s err=%s", s->path, strerror(-rc));
        return rc;
    }
    log_info("instid_loaded", "file=%s count=%zu", s->path, s->n);
    /* Old-form keys are rewritten once, now, not at the next new phone:
     * a downgrade-free file as soon as this version has run. */
    if (s->migrated > 0) {
        struct instid_batch *b = batch_build(s, true);
        int err = -ENOMEM;

        if (b)
            disk_run(&s->disk, b); /* no worker yet: this thread's */
        if (b)
            err = b->rc;
        batch_free(b);
        log_info("instid_migrated", "file=%s lines=%zu kept=%zu written=%s%s%s", s->path,
                 s->migrated, s->n, err == 0 ? "yes" : "no", err == 0 ? "" : " err=",
                 err == 0 ? "" : strerror(-err));
    }
    return 0;
}

/* ---- open / free ---- */

/* Creates the state directory 0700 (it will hold per-UA identities). */
static int ensure_dir(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    if (stat(dir, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int store_init(struct instid_store *s, const char *state_dir)
{
    s->dir = strdup(state_dir);
    s->path = path_join(state_dir, FILE_NAME);
    s->tmp_path = path_join(state_dir, FILE_NAME TMP_SUFFIX);
    if (!s->dir || !s->path || !s->tmp_path)
        return -ENOMEM;
    s->disk.dir = s->dir;
    s->disk.path = s->path;
    s->disk.tmp_path = s->tmp_path;
    s->w.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->w.efd < 0)
        return -errno;
    int rc = pthread_mutex_init(&s->w.mu, NULL);
    if (rc != 0)
        return -rc;
    rc = pthread_cond_init(&s->w.cv, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&s->w.mu);
        return -rc;
    }
    s->w.locks_ready = true;
    rc = random_bytes(&s->seed, sizeof(s->seed));
    if (rc == 0)
        rc = ensure_dir(state_dir);
    if (rc == 0)
        rc = store_load(s);
    return rc;
}

int instid_store_open(struct instid_store **out, const char *state_dir)
{
    struct instid_store *s;
    int rc;

    if (!state_dir || !*state_dir)
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->disk.fd = -1;
    s->w.efd = -1;
    s->w.limit_us = INSTID_INLINE_SYNC_US;
    rc = store_init(s, state_dir);
    if (rc != 0) {
        instid_store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void instid_store_free(struct instid_store *s)
{
    if (!s)
        return;
    /* A batch in flight is finished first: its ids are on disk then, but
     * nobody was told (no REGISTER went out), as after a crash right
     * after the sync. */
    worker_stop(s);
    batch_free(s->w.todo);
    batch_free(s->w.done);
    if (s->w.locks_ready) {
        pthread_cond_destroy(&s->w.cv);
        pthread_mutex_destroy(&s->w.mu);
    }
    if (s->w.efd >= 0)
        close(s->w.efd);
    disk_close(&s->disk);
    for (size_t i = 0; i < s->n; i++)
        free(s->ents[i]);
    free(s->ents);
    free(s->by_key);
    free(s->by_urn);
    free(s->dir);
    free(s->path);
    free(s->tmp_path);
    free(s);
}

size_t instid_count(const struct instid_store *s)
{
    return s->n;
}

size_t instid_pending(const struct instid_store *s)
{
    return s->n - s->durable;
}

/* ---- lookup / create ---- */

/* Mints a new entry and remembers it as pending (not on disk yet). */
static int create_entry(struct instid_store *s, struct slice key,
                        const struct instid_entry **out)
{
    struct instid_entry *e;
    int rc;

    if (s->n >= INSTID_MAX_ENTRIES)
        return -ENOSPC;
    rc = store_reserve(s);
    if (rc)
        return rc;
    e = entry_new(SLICE_LIT(""), key);
    if (!e)
        return -ENOMEM;
    rc = fresh_urn(s, e->urn);
    if (rc != 0) {
        free(e);
        return rc;
    }
    store_insert(s, e);
    *out = e;
    return 0;
}

int instid_get_batched(struct instid_store *s, struct slice ua_key, const char **urn_out,
                       uint64_t *batch)
{
    const struct instid_entry *e;
    size_t idx;
    int rc;

    if (!key_valid(ua_key))
        return -EINVAL;
    idx = lookup_idx(s, ua_key, false);
    if (idx == SIZE_MAX) {
        rc = create_entry(s, ua_key, &e);
        if (rc != 0) {
            log_error("instid_create_failed", "file=%s err=%s", s->path, strerror(-rc));
            return rc;
        }
        idx = s->n - 1;
    }
    *urn_out = s->ents[idx]->urn;
    /* ents[durable .. busy_end) are the batch in flight (number seq), the
     * rest of the tail the next one (see struct instid_store). */
    if (idx < s->durable)
        *batch = 0;
    else
        *batch = s->busy && idx < s->busy_end ? s->seq : s->seq + 1;
    return 0;
}

/* Forgets ents[from .. to) (their URNs were never handed on), keeping the
 * order of the others. */
static void drop_range(struct instid_store *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        free(s->ents[i]);
    memmove(&s->ents[from], &s->ents[to], (s->n - to) * sizeof(*s->ents));
    s->n -= to - from;
    if (s->cap > 0)
        tables_rebuild(s);
}

/* The batch of ents[durable .. n), built; NULL (the batch forgotten,
 * logged) without memory. */
static struct instid_batch *batch_begin(struct instid_store *s)
{
    /* Nothing is in flight: the disk is this thread's to read. */
    struct instid_batch *b = batch_build(s, s->disk.rewrite);

    s->seq++;
    if (!b) {
        log_error("instid_create_failed", "file=%s err=%s phones=%zu", s->path,
                  strerror(ENOMEM), s->n - s->durable);
        drop_range(s, s->durable, s->n);
        return NULL;
    }
    b->seq = s->seq;
    s->busy_end = s->n;
    return b;
}

/* The disk's answer to b, the batch ents[durable .. busy_end): durable, or
 * forgotten with the file as it was.  Frees b; returns its result. */
static int batch_end(struct instid_store *s, struct instid_batch *b)
{
    int rc = b->rc;

    /* half of the newest: a disk that stays slow (a router's flash, tens
     * of ms) is past the limit at once; one spike on a fast one is soon
     * forgotten */
    s->w.ewma_us = s->w.ewma_us ? (s->w.ewma_us + b->took_us) / 2 : b->took_us + 1;
    if (rc != 0) {
        log_error("instid_create_failed", "file=%s err=%s phones=%zu", s->path,
                  strerror(-rc), s->busy_end - s->durable);
        drop_range(s, s->durable, s->busy_end);
    } else {
        for (size_t i = s->durable; i < s->busy_end; i++)
            log_info("instid_created", "urn=%s key=%s", s->ents[i]->urn, s->ents[i]->key);
        s->durable = s->busy_end;
    }
    batch_free(b);
    return rc;
}

int instid_commit_start(struct instid_store *s, uint64_t *batch)
{
    struct instid_batch *b;

    *batch = 0;
    if (s->busy || s->n == s->durable)
        return 0;
    b = batch_begin(s);
    *batch = s->seq;
    if (!b)
        return -ENOMEM;
    s->busy = true;
    batch_hand_over(s, b);
    return 0;
}

int instid_commit_fd(const struct instid_store *s)
{
    return s->w.efd;
}

int instid_commit_collect(struct instid_store *s, uint64_t *batch)
{
    struct instid_batch *b;
    uint64_t count;

    /* Reset the eventfd first: a batch finishing after this read sets it
     * again, so none is missed. */
    if (read(s->w.efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        return -errno;
    pthread_mutex_lock(&s->w.mu);
    b = s->w.done;
    s->w.done = NULL;
    pthread_mutex_unlock(&s->w.mu);
    if (!b)
        return -EAGAIN;
    *batch = b->seq;
    s->busy = false;
    return batch_end(s, b);
}

/* instid_get's commit: every pending id, on this thread, now. */
static int commit_now(struct instid_store *s)
{
    struct instid_batch *b;

    if (s->n == s->durable)
        return 0;
    b = batch_begin(s);
    if (!b)
        return -ENOMEM;
    disk_run(&s->disk, b);
    return batch_end(s, b);
}

int instid_get(struct instid_store *s, struct slice ua_key, const char **urn_out,
               bool *created)
{
    size_t before = s->n;
    uint64_t batch;
    int rc;

    if (s->busy)
        return -EBUSY;
    rc = instid_get_batched(s, ua_key, urn_out, &batch);
    if (rc == 0 && batch != 0)
        rc = commit_now(s);
    if (rc == 0 && created)
        *created = s->n > before;
    return rc;
}

void instid_sync_how(struct instid_store *s, enum instid_sync_how how)
{
    s->w.how = how;
}

void instid_sync_limit(struct instid_store *s, uint64_t us)
{
    s->w.limit_us = us;
}

bool instid_next_sync_here(const struct instid_store *s)
{
    return sync_here(&s->w);
}

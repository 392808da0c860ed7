/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the instance-id store's group commit (issue 14 item 1):
 * instid_get_batched mints without writing, instid_commit_start hands every
 * pending id to the worker thread as one batch (appended in minting order,
 * one fdatasync), instid_commit_collect takes the result back; ids minted
 * while a batch is on the disk form the next batch; a failed batch is
 * forgotten and leaves the file as it was, the next batch unharmed; a
 * store freed with ids pending (a crash before the sync) never had them,
 * one freed with a batch on the disk finishes it first.
 *
 * fdatasync and fsync are fake_sync.h's: counted, failed on demand, held
 * at a gate while the test does something in the middle.  The test waits
 * for a batch on the store's descriptor (poll), never by sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "state/instid.h"
#include "state/instid_int.h"

#include "fake_sync.h"
#include "tmpfiles.h"

struct fixture {
    char root[64];
    char dir[128];
    char file[160];
    struct instid_store *s;
};

/* A store whose file exists with one phone (k0), so batches append;
 * opened afresh, so its first batch is number 1. */
static int fx_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    const char *urn;

    if (!fx)
        return -1;
    snprintf(fx->root, sizeof(fx->root), "/tmp/test_instid_batch-XXXXXX");
    if (!mkdtemp(fx->root)) {
        free(fx);
        return -1;
    }
    snprintf(fx->dir, sizeof(fx->dir), "%s/state", fx->root);
    snprintf(fx->file, sizeof(fx->file), "%s/instance-ids", fx->dir);
    if (instid_store_open(&fx->s, fx->dir) != 0 ||
        instid_get(fx->s, slice_cstr("k0"), &urn, NULL) != 0)
        return -1;
    instid_store_free(fx->s);
    if (instid_store_open(&fx->s, fx->dir) != 0)
        return -1;
    /* the gate needs the sync on another thread than the test's */
    instid_sync_how(fx->s, INSTID_SYNC_WORKER);
    fake_sync_reset();
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fixture *fx = *state;

    fake_sync_reset();
    instid_store_free(fx->s);
    tmpfiles_rm_tree(fx->root);
    free(fx);
    return 0;
}

static char *read_text(const char *path)
{
    char *buf = calloc(1, 65536);
    FILE *f = fopen(path, "r");

    assert_non_null(buf);
    assert_non_null(f);
    buf[fread(buf, 1, 65535, f)] = '\0';
    fclose(f);
    return buf;
}

/* Waits (10 s at most) for a batch to finish and collects it: its result,
 * and its number in *batch. */
static int collect(struct fixture *fx, uint64_t *batch)
{
    struct pollfd p = { .fd = instid_commit_fd(fx->s), .events = POLLIN };

    assert_int_equal(poll(&p, 1, 10000), 1);
    return instid_commit_collect(fx->s, batch);
}

/* Mints key: pending, in batch want. */
static const char *mint(struct fixture *fx, const char *key, uint64_t want)
{
    const char *urn;
    uint64_t batch;

    assert_int_equal(instid_get_batched(fx->s, slice_cstr(key), &urn, &batch), 0);
    assert_int_equal(batch, want);
    return urn;
}

/* Three new keys: pending in batch 1, nothing written; asked again, the
 * same URN; one batch, one fdatasync on the worker, lines in minting
 * order.  Then nothing is pending: nothing starts. */
static void test_commit_one_sync_in_order(void **state)
{
    struct fixture *fx = *state;
    const char *keys[] = { "k1", "k2", "k3" }, *urn[3];
    char *before = read_text(fx->file), *after, want[1024];
    uint64_t batch;

    for (int i = 0; i < 3; i++)
        urn[i] = mint(fx, keys[i], 1);
    assert_ptr_equal(mint(fx, "k2", 1), urn[1]);
    mint(fx, "k0", 0);
    assert_int_equal(instid_pending(fx->s), 3);
    assert_int_equal(instid_count(fx->s), 4);
    assert_int_equal(fake_syncs, 0);
    after = read_text(fx->file);
    assert_string_equal(after, before);
    free(after);

    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(batch, 1);
    assert_int_equal(collect(fx, &batch), 0);
    assert_int_equal(batch, 1);
    assert_int_equal(fake_syncs, 1);
    assert_int_equal(instid_pending(fx->s), 0);
    snprintf(want, sizeof(want), "%s%s k1\n%s k2\n%s k3\n", before, urn[0], urn[1], urn[2]);
    after = read_text(fx->file);
    assert_string_equal(after, want);
    free(after);
    assert_ptr_equal(mint(fx, "k3", 0), urn[2]);
    /* nothing pending: no batch, no sync, nothing to collect */
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(batch, 0);
    assert_int_equal(instid_commit_collect(fx->s, &batch), -EAGAIN);
    assert_int_equal(fake_syncs, 1);
    free(before);
}

/* The pipeline: while batch 1 (k1) is held in its sync, k2 is minted: it
 * goes in batch 2, which cannot start before batch 1 is collected, and
 * the synchronous path refuses meanwhile.  Batch 1 puts only k1 on disk;
 * batch 2 appends k2 after it. */
static void test_next_batch_while_in_flight(void **state)
{
    struct fixture *fx = *state;
    char *before = read_text(fx->file), *after, want[1024];
    const char *k1, *k2, *urn;
    uint64_t batch;

    fake_sync_gate_arm();
    k1 = mint(fx, "k1", 1);
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(batch, 1);
    fake_sync_gate_wait(); /* batch 1 is in its fdatasync */

    k2 = mint(fx, "k2", 2);
    assert_ptr_equal(mint(fx, "k1", 1), k1);
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(batch, 0); /* one batch on the disk at a time */
    assert_int_equal(instid_get(fx->s, slice_cstr("k9"), &urn, NULL), -EBUSY);
    assert_int_equal(instid_pending(fx->s), 2);

    fake_sync_gate_open();
    assert_int_equal(collect(fx, &batch), 0);
    assert_int_equal(batch, 1);
    snprintf(want, sizeof(want), "%s%s k1\n", before, k1);
    after = read_text(fx->file);
    assert_string_equal(after, want);
    free(after);
    mint(fx, "k1", 0);
    assert_ptr_equal(mint(fx, "k2", 2), k2);

    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(batch, 2);
    fake_sync_gate_wait();
    fake_sync_gate_open();
    assert_int_equal(collect(fx, &batch), 0);
    assert_int_equal(batch, 2);
    snprintf(want, sizeof(want), "%s%s k1\n%s k2\n", before, k1, k2);
    after = read_text(fx->file);
    assert_string_equal(after, want);
    free(after);
    assert_int_equal(fake_syncs, 2);
    assert_int_equal(instid_pending(fx->s), 0);
    free(before);
}

/* Batch 1 (k1, k2) fails while k3 waits for batch 2: k1 and k2 are
 * forgotten, the file cut back to what it was; k3 keeps its id and batch
 * 2 puts it on disk; a reopened store has exactly k0 and k3, and k1 asked
 * again gets a fresh id. */
static void test_commit_failure_forgets_batch(void **state)
{
    struct fixture *fx = *state;
    const char *k0, *k1, *k3, *urn;
    char *before = read_text(fx->file), *after, keep[INSTID_URN_LEN + 1], gone[INSTID_URN_LEN + 1];
    uint64_t batch;

    k0 = mint(fx, "k0", 0);
    k1 = mint(fx, "k1", 1);
    snprintf(gone, sizeof(gone), "%s", k1);
    mint(fx, "k2", 1);
    fake_sync_gate_arm();
    fake_sync_fail = 1;
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    fake_sync_gate_wait(); /* the sync that fails */
    k3 = mint(fx, "k3", 2);
    snprintf(keep, sizeof(keep), "%s", k3);
    fake_sync_gate_open();
    fake_sync_gate_wait(); /* the one after cutting the file back */
    fake_sync_gate_open();
    assert_int_equal(collect(fx, &batch), -EIO);
    assert_int_equal(batch, 1);
    assert_int_equal(instid_pending(fx->s), 1);
    assert_int_equal(instid_count(fx->s), 2);
    after = read_text(fx->file);
    assert_string_equal(after, before);
    free(after);
    /* the known phone is untouched, k3 still waits with its id */
    assert_ptr_equal(mint(fx, "k0", 0), k0);
    assert_string_equal(mint(fx, "k3", 2), keep);

    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(batch, 2);
    fake_sync_gate_wait();
    fake_sync_gate_open();
    assert_int_equal(collect(fx, &batch), 0);
    assert_int_equal(batch, 2);
    assert_int_equal(fake_syncs, 3);
    fake_sync_reset(); /* instid_get syncs on this thread */
    instid_store_free(fx->s);
    fx->s = NULL;
    assert_int_equal(instid_store_open(&fx->s, fx->dir), 0);
    instid_sync_how(fx->s, INSTID_SYNC_WORKER);
    assert_int_equal(instid_count(fx->s), 2);
    assert_int_equal(instid_get(fx->s, slice_cstr("k3"), &urn, NULL), 0);
    assert_string_equal(urn, keep);
    assert_int_equal(instid_get(fx->s, slice_cstr("k1"), &urn, NULL), 0);
    assert_string_not_equal(urn, gone);
    free(before);
}

/* A crash with ids pending: the store goes without a batch started; the
 * file and a reopened store know nothing of them. */
static void test_crash_before_commit(void **state)
{
    struct fixture *fx = *state;
    char *before = read_text(fx->file), *after;

    mint(fx, "k1", 1);
    instid_store_free(fx->s);
    fx->s = NULL;
    assert_int_equal(fake_syncs, 0);
    after = read_text(fx->file);
    assert_string_equal(after, before);
    free(after);
    assert_int_equal(instid_store_open(&fx->s, fx->dir), 0);
    assert_int_equal(instid_count(fx->s), 1);
    free(before);
}

/* The store freed (the daemon stopping) with a batch on the disk and one
 * more id pending: the free waits for the batch, whose id is then on disk
 * (and never collected: nobody was given it); the pending one is not. */
static void test_free_finishes_batch_in_flight(void **state)
{
    struct fixture *fx = *state;
    char *before = read_text(fx->file), *after, want[1024];
    uint64_t batch;

    snprintf(want, sizeof(want), "%s%s k1\n", before, mint(fx, "k1", 1));
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    mint(fx, "k2", 2);
    instid_store_free(fx->s);
    fx->s = NULL;
    assert_int_equal(fake_syncs, 1);
    after = read_text(fx->file);
    assert_string_equal(after, want);
    free(after);
    assert_int_equal(instid_store_open(&fx->s, fx->dir), 0);
    assert_int_equal(instid_count(fx->s), 2);
    free(before);
}

/* Without the worker (a fast disk, or the fall-back when no thread can be
 * started): the sync runs inside instid_commit_start, and the batch is
 * still collected from the descriptor, only then on disk for the caller. */
static void test_inline_sync(void **state)
{
    struct fixture *fx = *state;
    const char *k1;
    uint64_t batch;

    instid_sync_how(fx->s, INSTID_SYNC_INLINE);
    k1 = mint(fx, "k1", 1);
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(fake_syncs, 1);
    assert_ptr_equal(mint(fx, "k1", 1), k1); /* not collected yet */
    mint(fx, "k2", 2);
    assert_int_equal(collect(fx, &batch), 0);
    assert_int_equal(batch, 1);
    mint(fx, "k1", 0);
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(batch, 2);
    assert_int_equal(collect(fx, &batch), 0);
    assert_int_equal(batch, 2);
    assert_int_equal(fake_syncs, 2);
    assert_int_equal(instid_pending(fx->s), 0);
}

/* Adaptive: the first batch is synced inline (nothing known of the disk:
 * done before instid_commit_start returns); while the syncs take less
 * than the limit (here: one no sync reaches) the next ones are too; a
 * limit the recent syncs exceed (here: 1 us) sends the next one to the
 * worker (the gate would never open if it ran on this thread). */
static void test_adaptive(void **state)
{
    struct fixture *fx = *state;
    uint64_t batch;

    instid_sync_how(fx->s, INSTID_SYNC_ADAPTIVE);
    instid_sync_limit(fx->s, 60u * 1000 * 1000);
    assert_true(instid_next_sync_here(fx->s));
    mint(fx, "k1", 1);
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(fake_syncs, 1); /* done before it returned */
    assert_int_equal(collect(fx, &batch), 0);
    assert_true(instid_next_sync_here(fx->s));
    mint(fx, "k2", 2);
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    assert_int_equal(fake_syncs, 2);
    assert_int_equal(collect(fx, &batch), 0);
    assert_int_equal(batch, 2);

    instid_sync_limit(fx->s, 1);
    assert_false(instid_next_sync_here(fx->s));
    fake_sync_gate_arm();
    mint(fx, "k3", 3);
    assert_int_equal(instid_commit_start(fx->s, &batch), 0);
    fake_sync_gate_wait();
    fake_sync_gate_open();
    assert_int_equal(collect(fx, &batch), 0);
    assert_int_equal(batch, 3);
    assert_int_equal(fake_syncs, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_commit_one_sync_in_order),
        T(test_next_batch_while_in_flight),
        T(test_commit_failure_forgets_batch),
        T(test_crash_before_commit),
        T(test_free_finishes_batch_in_flight),
        T(test_inline_sync),
        T(test_adaptive),
#undef T
    };

    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("instid_batch", tests, NULL, NULL);
}

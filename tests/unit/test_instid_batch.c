/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the instance-id store's group commit (issue 14 item 1):
 * instid_get_batched mints without writing, instid_commit appends every
 * pending id in minting order with one fdatasync, a failed commit forgets
 * them all and leaves the file as it was, a store freed with ids pending
 * (a crash before the sync) never had them.
 *
 * fdatasync and fsync are fake_sync.h's: counted, failed on demand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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

/* A store whose file exists with one phone (k0), so commits append. */
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
    fake_sync_reset();
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fixture *fx = *state;

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

/* Three new keys: pending, nothing written; asked again, the same URN,
 * still pending; one commit, one fdatasync, lines in minting order. */
static void test_commit_one_sync_in_order(void **state)
{
    struct fixture *fx = *state;
    const char *keys[] = { "k1", "k2", "k3" }, *urn[3], *again;
    char *before = read_text(fx->file), *after, want[1024];
    bool pending;

    for (int i = 0; i < 3; i++) {
        assert_int_equal(instid_get_batched(fx->s, slice_cstr(keys[i]), &urn[i], &pending), 0);
        assert_true(pending);
    }
    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k2"), &again, &pending), 0);
    assert_true(pending);
    assert_ptr_equal(again, urn[1]);
    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k0"), &again, &pending), 0);
    assert_false(pending);
    assert_int_equal(instid_pending(fx->s), 3);
    assert_int_equal(instid_count(fx->s), 4);
    assert_int_equal(fake_syncs, 0);
    after = read_text(fx->file);
    assert_string_equal(after, before);
    free(after);

    assert_int_equal(instid_commit(fx->s), 0);
    assert_int_equal(fake_syncs, 1);
    assert_int_equal(instid_pending(fx->s), 0);
    snprintf(want, sizeof(want), "%s%s k1\n%s k2\n%s k3\n", before, urn[0], urn[1], urn[2]);
    after = read_text(fx->file);
    assert_string_equal(after, want);
    free(after);
    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k3"), &again, &pending), 0);
    assert_false(pending);
    assert_ptr_equal(again, urn[2]);
    /* nothing pending: no sync */
    assert_int_equal(instid_commit(fx->s), 0);
    assert_int_equal(fake_syncs, 1);
    free(before);
}

/* The sync fails: every pending id is forgotten, the file cut back to what
 * it was; the next commit of the same keys (fresh ids) succeeds, and a
 * reopened store has exactly what was committed. */
static void test_commit_failure_forgets_batch(void **state)
{
    struct fixture *fx = *state;
    const char *urn, *k0, *k1;
    char *before = read_text(fx->file), *after, keep[INSTID_URN_LEN + 1];
    bool pending;

    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k0"), &k0, &pending), 0);
    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k1"), &urn, &pending), 0);
    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k2"), &urn, &pending), 0);
    fake_sync_fail = 1;
    assert_int_equal(instid_commit(fx->s), -EIO);
    assert_int_equal(instid_pending(fx->s), 0);
    assert_int_equal(instid_count(fx->s), 1);
    after = read_text(fx->file);
    assert_string_equal(after, before);
    free(after);
    /* the known phone is untouched */
    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k0"), &urn, &pending), 0);
    assert_false(pending);
    assert_ptr_equal(urn, k0);

    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k1"), &k1, &pending), 0);
    assert_true(pending);
    snprintf(keep, sizeof(keep), "%s", k1);
    assert_int_equal(instid_commit(fx->s), 0);
    instid_store_free(fx->s);
    fx->s = NULL;
    assert_int_equal(instid_store_open(&fx->s, fx->dir), 0);
    assert_int_equal(instid_count(fx->s), 2);
    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k1"), &urn, &pending), 0);
    assert_false(pending);
    assert_string_equal(urn, keep);
    free(before);
}

/* A crash with ids pending: the store goes without a commit; the file and
 * a reopened store know nothing of them. */
static void test_crash_before_commit(void **state)
{
    struct fixture *fx = *state;
    const char *urn;
    char *before = read_text(fx->file), *after;
    bool pending;

    assert_int_equal(instid_get_batched(fx->s, slice_cstr("k1"), &urn, &pending), 0);
    assert_true(pending);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_commit_one_sync_in_order),
        T(test_commit_failure_forgets_batch),
        T(test_crash_before_commit),
#undef T
    };

    log_setup(LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("instid_batch", tests, NULL, NULL);
}

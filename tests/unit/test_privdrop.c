/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the privilege drop: the capabilities each mode keeps, the
 * decision for root / non-root / `user: root`, clear errors for a missing
 * user, handing over only directories of sipkeep's own, and (as root, in a
 * forked child) a real drop that cannot be undone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/privdrop.h"

/* ---- capability sets ---- */

static void test_caps_per_mode(void **state)
{
    (void)state;
    assert_true(PRIVDROP_CAP_NET_ADMIN == PRIVDROP_CAP(CAP_NET_ADMIN));
    assert_true(PRIVDROP_CAP_NET_RAW == PRIVDROP_CAP(CAP_NET_RAW));
    assert_true(privdrop_caps_for_mode(PRIVDROP_MODE_PROXY) == 0);
    assert_true(privdrop_caps_for_mode(PRIVDROP_MODE_TRANSPARENT) ==
                (PRIVDROP_CAP(CAP_NET_ADMIN) | PRIVDROP_CAP(CAP_NET_RAW)));
}

static void test_caps_format(void **state)
{
    char buf[64], tiny[6];

    (void)state;
    assert_string_equal(privdrop_caps_format(0, buf, sizeof(buf)), "none");
    assert_string_equal(privdrop_caps_format(privdrop_caps_for_mode(PRIVDROP_MODE_TRANSPARENT),
                                             buf, sizeof(buf)), "net_admin,net_raw");
    assert_string_equal(privdrop_caps_format(PRIVDROP_CAP(40) | PRIVDROP_CAP(10), buf,
                                             sizeof(buf)), "net_bind_service,cap_40");
    privdrop_caps_format(PRIVDROP_CAP_NET_ADMIN, tiny, sizeof(tiny));
    assert_string_equal(tiny, "net_a"); /* truncated, terminated */
}

/* ---- the plan ---- */

static void test_plan_not_root(void **state)
{
    struct privdrop_plan p;
    char err[256];

    (void)state;
    assert_int_equal(privdrop_plan(&p, 4242, "sipkeep", 0, err, sizeof(err)), 0);
    assert_int_equal(p.action, PRIVDROP_NOT_ROOT);
    assert_int_equal(p.uid, 4242);
    assert_int_equal(p.gid, getegid());
    assert_string_equal(err, "");
    /* a uid without a passwd entry is named by its number */
    assert_string_equal(p.user, getpwuid(4242) ? getpwuid(4242)->pw_name : "4242");
}

static void test_plan_root_stays_only_when_written(void **state)
{
    struct privdrop_plan p;
    char err[256];

    (void)state;
    assert_int_equal(privdrop_plan(&p, 0, "root", PRIVDROP_CAP_NET_RAW, err, sizeof(err)), 0);
    assert_int_equal(p.action, PRIVDROP_STAY_ROOT);
    assert_string_equal(p.user, "root");
    assert_int_equal(p.uid, 0);
}

static void test_plan_switch_resolves_user(void **state)
{
    struct passwd *pw = getpwnam("nobody");
    struct privdrop_plan p;
    char err[256];

    (void)state;
    if (!pw)
        skip();
    assert_int_equal(privdrop_plan(&p, 0, "nobody", PRIVDROP_CAP_NET_ADMIN, err,
                                   sizeof(err)), 0);
    assert_int_equal(p.action, PRIVDROP_SWITCH);
    assert_string_equal(p.user, "nobody");
    assert_int_equal(p.uid, pw->pw_uid);
    assert_int_equal(p.gid, pw->pw_gid);
    assert_true(p.caps == PRIVDROP_CAP_NET_ADMIN);
}

static void test_plan_missing_user(void **state)
{
    struct privdrop_plan p = { .uid = 77 };
    char err[256];

    (void)state;
    assert_int_equal(privdrop_plan(&p, 0, "sk-no-such-user-x9", 0, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "user 'sk-no-such-user-x9' does not exist"));
    assert_non_null(strstr(err, "useradd --system --no-create-home sk-no-such-user-x9"));
    assert_non_null(strstr(err, "`user: root`"));
    assert_int_equal(p.uid, 77); /* untouched */
    /* not root: the configured user is not even looked up */
    assert_int_equal(privdrop_plan(&p, 1000, "sk-no-such-user-x9", 0, err, sizeof(err)), 0);
}

static void test_plan_bad_arguments(void **state)
{
    struct privdrop_plan p = { .uid = 77 };
    char err[256], long_name[PRIVDROP_USER_MAX + 2];

    (void)state;
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(privdrop_plan(&p, 0, "", 0, err, sizeof(err)), -EINVAL);
    assert_int_equal(privdrop_plan(&p, 0, NULL, 0, err, sizeof(err)), -EINVAL);
    assert_int_equal(privdrop_plan(&p, 0, long_name, 0, err, sizeof(err)), -EINVAL);
    assert_int_equal(privdrop_plan(NULL, 0, "root", 0, err, sizeof(err)), -EINVAL);
    assert_int_equal(p.uid, 77);
}

/* ---- hand over ---- */

struct tree {
    char dir[64];
    char path[160];
};

static const char *at(struct tree *t, const char *name)
{
    snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
    return t->path;
}

static void touch(struct tree *t, const char *name)
{
    int fd = open(at(t, name), O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    close(fd);
}

static int tree_setup(void **state)
{
    struct tree *t = calloc(1, sizeof(*t));

    snprintf(t->dir, sizeof(t->dir), "/tmp/sk-privdrop-XXXXXX");
    if (!mkdtemp(t->dir))
        return -1;
    *state = t;
    return 0;
}

static int tree_teardown(void **state)
{
    struct tree *t = *state;
    static const char *const names[] = { "instance-ids", "instance-ids.tmp", "other",
                                         "sub", "link", "sk.sock" };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        remove(at(t, names[i]));
    rmdir(t->dir);
    free(t);
    return 0;
}

static uid_t owner(struct tree *t, const char *name)
{
    struct stat st;

    assert_int_equal(lstat(name ? at(t, name) : t->dir, &st), 0);
    return st.st_uid;
}

static const char *const state_names[] = { "instance-ids", "instance-ids.tmp", NULL };

/* As root the owner really changes; otherwise chowning to ourselves still
 * runs every check. */
static uid_t target_uid(void)
{
    return geteuid() == 0 ? 65534 : geteuid();
}

static void test_hand_over_own_dir(void **state)
{
    struct tree *t = *state;
    gid_t gid = geteuid() == 0 ? 65534 : getegid();

    (void)state;
    assert_int_equal(privdrop_hand_over(t->dir, state_names, target_uid(), gid), 0);
    assert_int_equal(owner(t, NULL), target_uid()); /* empty: still the directory */
    touch(t, "instance-ids");
    assert_int_equal(privdrop_hand_over(t->dir, state_names, target_uid(), gid), 0);
    assert_int_equal(owner(t, NULL), target_uid());
    assert_int_equal(owner(t, "instance-ids"), target_uid());
}

static void test_hand_over_refuses_shared_dir(void **state)
{
    struct tree *t = *state;
    uid_t before = owner(t, NULL);

    touch(t, "instance-ids");
    touch(t, "other");
    assert_int_equal(privdrop_hand_over(t->dir, state_names, target_uid(), getegid()),
                     -ENOTEMPTY);
    assert_int_equal(owner(t, NULL), before);
    assert_int_equal(owner(t, "instance-ids"), before);
    remove(at(t, "other"));
    /* a named entry that is not a file is not ours either */
    assert_int_equal(mkdir(at(t, "instance-ids.tmp"), 0700), 0);
    assert_int_equal(privdrop_hand_over(t->dir, state_names, target_uid(), getegid()),
                     -ENOTEMPTY);
    rmdir(at(t, "instance-ids.tmp"));
    assert_int_equal(symlink("/etc/passwd", at(t, "instance-ids.tmp")), 0);
    assert_int_equal(privdrop_hand_over(t->dir, state_names, target_uid(), getegid()),
                     -ENOTEMPTY);
    remove(at(t, "instance-ids.tmp"));
    assert_int_equal(privdrop_hand_over(at(t, "missing"), state_names, 0, 0), -ENOENT);
    assert_int_equal(privdrop_hand_over("", state_names, 0, 0), -EINVAL);
}

/* readdir as privdrop.c sees it: the Makefile links this test with
 * -Wl,--wrap=readdir,--wrap=readdir64 (a 32-bit glibc build with
 * _FILE_OFFSET_BITS=64 calls readdir64).  After readdir_ok_calls more
 * entries (-1: never) it fails with readdir_errno, as a real one does on
 * EIO or on a 32-bit build without large-file support (EOVERFLOW). */
static int readdir_ok_calls = -1;
static int readdir_errno;

struct dirent *__real_readdir(DIR *d);
struct dirent *__wrap_readdir(DIR *d);
struct dirent *__real_readdir64(DIR *d);
struct dirent *__wrap_readdir64(DIR *d);

static bool readdir_fails_now(void)
{
    if (readdir_ok_calls < 0)
        return false;
    if (readdir_ok_calls > 0) {
        readdir_ok_calls--;
        return false;
    }
    errno = readdir_errno;
    return true;
}

struct dirent *__wrap_readdir(DIR *d)
{
    return readdir_fails_now() ? NULL : __real_readdir(d);
}

struct dirent *__wrap_readdir64(DIR *d)
{
    return readdir_fails_now() ? NULL : __real_readdir64(d);
}

/* A directory that cannot be read to its end may hold anything: an error
 * of readdir (NULL with errno set) refuses, it is not the end. */
static void test_hand_over_refuses_on_readdir_error(void **state)
{
    struct tree *t = *state;
    uid_t before = owner(t, NULL);
    static const int errs[] = { EIO, EOVERFLOW };

    touch(t, "instance-ids");
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        for (int ok = 0; ok < 4; ok++) { /* the first call .. the one that ends */
            readdir_ok_calls = ok;
            readdir_errno = errs[i];
            assert_int_equal(privdrop_hand_over(t->dir, state_names, target_uid(), getegid()),
                             -errs[i]);
            readdir_ok_calls = -1;
            assert_int_equal(owner(t, NULL), before);
            assert_int_equal(owner(t, "instance-ids"), before);
        }
    }
    /* the wrapper really is in the way: without a failure it hands over */
    assert_int_equal(privdrop_hand_over(t->dir, state_names, target_uid(), getegid()), 0);
    assert_int_equal(owner(t, NULL), target_uid());
}

static void test_hand_over_socket(void **state)
{
    struct tree *t = *state;
    const char *const names[] = { "sk.sock", NULL };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", at(t, "sk.sock"));
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(privdrop_hand_over(t->dir, names, target_uid(), getegid()), 0);
    assert_int_equal(owner(t, "sk.sock"), target_uid());
    close(fd);
}

/* ---- a real drop, in a child (root only) ---- */

/* Reads "Key:\t<hex>" from /proc/self/status. */
static uint64_t status_hex(const char *key)
{
    char line[256];
    uint64_t v = UINT64_MAX;
    size_t n = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            v = strtoull(line + n + 1, NULL, 16);
    if (f)
        fclose(f);
    return v;
}

/* Child side: 0 when everything holds, else the number of the failed check. */
static int check_dropped(const struct privdrop_plan *p, uint64_t want_bnd)
{
    uid_t r, e, s;

    if (privdrop_apply(p, NULL) != 0)
        return 1;
    if (getresuid(&r, &e, &s) != 0 || r != p->uid || e != p->uid || s != p->uid)
        return 2;
    if (getegid() != p->gid || getgroups(0, NULL) != 0)
        return 3;
    if (status_hex("CapEff") != p->caps || status_hex("CapPrm") != p->caps ||
        status_hex("CapInh") != 0 || status_hex("CapAmb") != 0)
        return 4;
    if (status_hex("CapBnd") != want_bnd)
        return 5;
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
        return 6;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return 7;
    return 0;
}

/* Runs fn(arg) in a child and returns its exit status. */
static int in_child(int (*fn)(const void *), const void *arg)
{
    int st = -1;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int child_switch(const void *arg)
{
    const struct privdrop_plan *p = arg;

    return check_dropped(p, p->caps);
}

static void plan_nobody(struct privdrop_plan *p, enum privdrop_mode mode)
{
    char err[256];

    if (geteuid() != 0 || !getpwnam("nobody") ||
        prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1)
        skip(); /* needs root with CAP_SETPCAP, as the daemon when started by root */
    assert_int_equal(privdrop_plan(p, 0, "nobody", privdrop_caps_for_mode(mode), err,
                                   sizeof(err)), 0);
}

static void test_apply_proxy_drops_everything(void **state)
{
    struct privdrop_plan p;

    (void)state;
    plan_nobody(&p, PRIVDROP_MODE_PROXY);
    assert_int_equal(in_child(child_switch, &p), 0);
}

static void test_apply_transparent_keeps_net_caps(void **state)
{
    struct privdrop_plan p;

    (void)state;
    plan_nobody(&p, PRIVDROP_MODE_TRANSPARENT);
    assert_true(p.caps != 0);
    assert_int_equal(in_child(child_switch, &p), 0);
}

/* A non-root process started with capabilities keeps only the mode's. */
static int child_not_root(const void *arg)
{
    const struct privdrop_plan *sw = arg;
    struct privdrop_plan p;
    char err[64];

    (void)err;
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setresgid(sw->gid, sw->gid, sw->gid) ||
        setresuid(sw->uid, sw->uid, sw->uid) != 0)
        return 10;
    if (status_hex("CapPrm") == 0)
        return 11; /* the set-up did not keep any capability */
    if (privdrop_plan(&p, geteuid(), "sipkeep", 0, err, sizeof(err)) != 0 ||
        p.action != PRIVDROP_NOT_ROOT || privdrop_apply(&p, NULL) != 0)
        return 12;
    return status_hex("CapPrm") == 0 && status_hex("CapEff") == 0 ? 0 : 13;
}

static void test_apply_not_root_sheds_caps(void **state)
{
    struct privdrop_plan p;

    (void)state;
    plan_nobody(&p, PRIVDROP_MODE_PROXY);
    assert_int_equal(in_child(child_not_root, &p), 0);
}

static void test_apply_stay_root_changes_nothing(void **state)
{
    struct privdrop_plan p = { .action = PRIVDROP_STAY_ROOT };
    uid_t before = geteuid();
    uint64_t eff = status_hex("CapEff");

    (void)state;
    assert_int_equal(privdrop_apply(&p, NULL), 0);
    assert_int_equal(geteuid(), before);
    assert_true(status_hex("CapEff") == eff);
    assert_int_equal(privdrop_apply(NULL, NULL), -EINVAL);
}

/* ---- a helper run with the daemon's capabilities (iptables at exit) ---- */

/* CapEff of a program the dropped process execs: grep reads its own
 * /proc/self/status.  pass: call privdrop_pass_caps(caps) before the exec.
 * Returns the value, or UINT64_MAX when the child failed. */
static uint64_t exec_cap_eff(bool pass, uint64_t caps)
{
    char out[128] = "";
    int pfd[2], st = -1;
    ssize_t n;
    pid_t pid;

    if (pipe(pfd) < 0)
        return UINT64_MAX;
    pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        if (pass && privdrop_pass_caps(caps) != 0)
            _exit(126);
        execl("/bin/grep", "grep", "^CapEff:", "/proc/self/status", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    n = pid < 0 ? -1 : read(pfd[0], out, sizeof(out) - 1);
    close(pfd[0]);
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        n <= 8)
        return UINT64_MAX;
    out[n] = '\0';
    return strtoull(out + 8, NULL, 16);
}

static int child_pass_caps(const void *arg)
{
    const struct privdrop_plan *p = arg;

    if (privdrop_apply(p, NULL) != 0)
        return 1;
    /* the problem: a plain exec as the user loses every capability */
    if (exec_cap_eff(false, 0) != 0)
        return 2;
    /* the fix: the helper runs with exactly the daemon's capabilities */
    if (exec_cap_eff(true, p->caps) != p->caps)
        return 3;
    /* ... and the daemon's own inheritable and ambient sets stay empty */
    if (status_hex("CapInh") != 0 || status_hex("CapAmb") != 0 ||
        status_hex("CapEff") != p->caps)
        return 4;
    /* nothing the daemon does not hold can be passed on */
    if (privdrop_pass_caps(PRIVDROP_CAP(21)) != -EPERM) /* CAP_SYS_ADMIN */
        return 5;
    return 0;
}

static void test_pass_caps_to_helper(void **state)
{
    struct privdrop_plan p;

    (void)state;
    plan_nobody(&p, PRIVDROP_MODE_TRANSPARENT);
    assert_int_equal(in_child(child_pass_caps, &p), 0);
    /* as root there is nothing to pass: root's exec keeps its capabilities */
    assert_int_equal(privdrop_pass_caps(p.caps), 0);
    assert_true(status_hex("CapAmb") == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps_per_mode),
        cmocka_unit_test(test_caps_format),
        cmocka_unit_test(test_plan_not_root),
        cmocka_unit_test(test_plan_root_stays_only_when_written),
        cmocka_unit_test(test_plan_switch_resolves_user),
        cmocka_unit_test(test_plan_missing_user),
        cmocka_unit_test(test_plan_bad_arguments),
        cmocka_unit_test_setup_teardown(test_hand_over_own_dir, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_hand_over_refuses_shared_dir, tree_setup,
                                        tree_teardown),
        cmocka_unit_test_setup_teardown(test_hand_over_refuses_on_readdir_error, tree_setup,
                                        tree_teardown),
        cmocka_unit_test_setup_teardown(test_hand_over_socket, tree_setup, tree_teardown),
        cmocka_unit_test(test_apply_proxy_drops_everything),
        cmocka_unit_test(test_apply_transparent_keeps_net_caps),
        cmocka_unit_test(test_apply_not_root_sheds_caps),
        cmocka_unit_test(test_apply_stay_root_changes_nothing),
        cmocka_unit_test(test_pass_caps_to_helper),
    };
    return cmocka_run_group_tests_name("privdrop", tests, NULL, NULL);
}

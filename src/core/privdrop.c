/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privdrop.c - see privdrop.h. */
#include "core/privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PW_BUF_MAX (1024 * 1024) /* getpwnam_r buffer: grows up to this */

uint64_t privdrop_caps_for_mode(enum privdrop_mode mode)
{
    return mode == PRIVDROP_MODE_TRANSPARENT ? PRIVDROP_CAP_NET_ADMIN | PRIVDROP_CAP_NET_RAW : 0;
}

static const char *cap_name(unsigned n)
{
    switch (n) {
    case 10: return "net_bind_service";
    case 12: return "net_admin";
    case 13: return "net_raw";
    default: return NULL;
    }
}

const char *privdrop_caps_format(uint64_t caps, char *buf, size_t sz)
{
    size_t pos = 0;

    if (!sz)
        return buf;
    buf[0] = '\0';
    if (!caps) {
        snprintf(buf, sz, "none");
        return buf;
    }
    for (unsigned n = 0; n < 64 && pos < sz; n++) {
        const char *name = cap_name(n);
        int w;

        if (!(caps & PRIVDROP_CAP(n)))
            continue;
        w = name ? snprintf(buf + pos, sz - pos, "%s%s", pos ? "," : "", name)
                 : snprintf(buf + pos, sz - pos, "%scap_%u", pos ? "," : "", n);
        pos += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

/* ---- plan ---- */

/* getpwnam_r with a buffer that grows on ERANGE.  Returns 0 with *pw
 * filled (its strings in *bufp, which the caller frees), -ENOENT, -errno. */
static int lookup_user(const char *user, struct passwd *pw, char **bufp)
{
    size_t cap = 1024;

    for (;;) {
        struct passwd *res = NULL;
        char *buf = malloc(cap);
        int rc;

        if (!buf)
            return -ENOMEM;
        rc = getpwnam_r(user, pw, buf, cap, &res);
        if (rc == ERANGE && cap < PW_BUF_MAX) {
            free(buf);
            cap *= 2;
            continue;
        }
        if (rc == 0 && res) {
            *bufp = buf;
            return 0;
        }
        free(buf);
        /* "Not found" comes back as 0 or, from some NSS modules, as one of
         * these (getpwnam_r(3)). */
        if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
            return -ENOENT;
        return -rc;
    }
}

/* The current user's name, or its uid in decimal. */
static void current_name(uid_t uid, char *out, size_t sz)
{
    struct passwd pw, *res = NULL;
    char buf[1024];

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
        strlen(pw.pw_name) < sz)
        snprintf(out, sz, "%s", pw.pw_name);
    else
        snprintf(out, sz, "%lu", (unsigned long)uid);
}

static int plan_switch(struct privdrop_plan *p, const char *user, char *err, size_t errsz)
{
    struct passwd pw;
    char *buf = NULL;
    int rc = lookup_user(user, &pw, &buf);

    if (rc == -ENOENT) {
        snprintf(err, errsz, "user '%s' does not exist: create it (e.g. useradd --system "
                 "--no-create-home %s) or write `user: root` to run as root", user, user);
        return rc;
    }
    if (rc < 0) {
        snprintf(err, errsz, "cannot look up user '%s': %s", user, strerror(-rc));
        return rc;
    }
    if (pw.pw_uid == 0) {
        snprintf(err, errsz, "user '%s' has uid 0, so switching to it would drop nothing; "
                 "write `user: root` to run as root", user);
        free(buf);
        return -EINVAL;
    }
    p->uid = pw.pw_uid;
    p->gid = pw.pw_gid;
    free(buf);
    return 0;
}

int privdrop_plan(struct privdrop_plan *out, uid_t euid, const char *user, uint64_t caps,
                  char *err, size_t errsz)
{
    struct privdrop_plan p = { .caps = caps };
    int rc;

    if (errsz)
        err[0] = '\0';
    if (!out || !user || !user[0] || strlen(user) > PRIVDROP_USER_MAX) {
        snprintf(err, errsz, "user must be 1 to %d characters", PRIVDROP_USER_MAX);
        return -EINVAL;
    }
    if (euid != 0) {
        p.action = PRIVDROP_NOT_ROOT;
        p.uid = euid;
        p.gid = getegid();
        current_name(euid, p.user, sizeof(p.user));
    } else if (strcmp(user, "root") == 0) {
        p.action = PRIVDROP_STAY_ROOT;
        snprintf(p.user, sizeof(p.user), "root");
    } else {
        rc = plan_switch(&p, user, err, errsz);
        if (rc < 0)
            return rc;
        p.action = PRIVDROP_SWITCH;
        snprintf(p.user, sizeof(p.user), "%s", user);
    }
    *out = p;
    return 0;
}

/* ---- hand over ---- */

static bool name_listed(const char *name, const char *const *names)
{
    for (size_t i = 0; names && names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* 0 when every entry of the directory dfd is named in names and is a
 * regular file or a socket; -ENOTEMPTY otherwise; -errno when the
 * directory cannot be read to its end. */
static int only_own_entries(int dfd, const char *const *names)
{
    int fd = dup(dfd);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    struct dirent *e;
    int rc = 0;

    if (!dir) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    while (rc == 0) {
        struct stat st;

        /* NULL is both the end and an error (EOVERFLOW on a 32-bit build
         * without large-file support, EIO): only errno tells them apart,
         * and an unread entry may be someone else's, so an error refuses. */
        errno = 0;
        e = readdir(dir);
        if (!e) {
            rc = errno ? -errno : 0;
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!name_listed(e->d_name, names))
            rc = -ENOTEMPTY;
        else if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            rc = errno == ENOENT ? 0 : -errno;
        else if (!S_ISREG(st.st_mode) && !S_ISSOCK(st.st_mode))
            rc = -ENOTEMPTY;
    }
    closedir(dir);
    return rc;
}

static int chown_entries(int dfd, const char *const *names, uid_t uid, gid_t gid)
{
    for (size_t i = 0; names && names[i]; i++) {
        if (fchownat(dfd, names[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
            return -errno;
    }
    return fchown(dfd, uid, gid) < 0 ? -errno : 0;
}

int privdrop_hand_over(const char *dir, const char *const *names, uid_t uid, gid_t gid)
{
    int dfd, rc;

    if (!dir || !dir[0])
        return -EINVAL;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    rc = only_own_entries(dfd, names);
    if (rc == 0)
        rc = chown_entries(dfd, names, uid, gid);
    close(dfd);
    return rc;
}

/* ---- apply ---- */

struct caps3 {
    struct __user_cap_header_struct hdr;
    struct __user_cap_data_struct data[2]; /* version 3: 64 bits in two words */
};

static int caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
    struct caps3 c = { .hdr = { _LINUX_CAPABILITY_VERSION_3, 0 } };

    if (syscall(SYS_capget, &c.hdr, c.data) < 0)
        return -errno;
    *eff = c.data[0].effective | (uint64_t)c.data[1].effective << 32;
    *prm = c.data[0].permitted | (uint64_t)c.data[1].permitted << 32;
    *inh = c.data[0].inheritable | (uint64_t)c.data[1].inheritable << 32;
    return 0;
}

/* Permitted = effective = caps, inheritable = none. */
static int caps_set(uint64_t caps)
{
    struct caps3 c = { .hdr = { _LINUX_CAPABILITY_VERSION_3, 0 } };

    c.data[0].effective = c.data[0].permitted = (uint32_t)caps;
    c.data[1].effective = c.data[1].permitted = (uint32_t)(caps >> 32);
    return syscall(SYS_capset, &c.hdr, c.data) < 0 ? -errno : 0;
}

/* Every capability outside keep leaves the bounding set, so that not even
 * an exec of a file with capabilities could bring it back.  Needs
 * CAP_SETPCAP; without it the set stays and *kept tells. */
static int drop_bounding(uint64_t keep, bool *kept)
{
    *kept = false;
    for (unsigned n = 0; n < 64; n++) {
        if (keep & PRIVDROP_CAP(n))
            continue;
        if (prctl(PR_CAPBSET_READ, n, 0, 0, 0) < 0)
            break; /* EINVAL: past the kernel's last capability */
        if (prctl(PR_CAPBSET_DROP, n, 0, 0, 0) == 0)
            continue;
        if (errno != EPERM)
            return -errno;
        *kept = true;
        return 0;
    }
    return 0;
}

/* Ambient capabilities would survive an exec; there is none to keep.
 * Kernels before 4.3 know no ambient set (EINVAL): nothing to clear. */
static int clear_ambient(void)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    return 0;
}

static int switch_ids(const struct privdrop_plan *p)
{
    if (prctl(PR_SET_KEEPCAPS, p->caps ? 1 : 0, 0, 0, 0) < 0)
        return -errno;
    if (setgroups(0, NULL) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
        setresuid(p->uid, p->uid, p->uid) < 0)
        return -errno;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

/* The drop must be irreversible: no id is 0 any more, the capabilities are
 * exactly the kept ones, and asking for root back fails. */
static int verify(const struct privdrop_plan *p)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;
    uint64_t eff, prm, inh;
    int rc = caps_get(&eff, &prm, &inh);

    if (rc < 0)
        return rc;
    if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
        return -errno;
    if (r != p->uid || e != p->uid || s != p->uid || rg != p->gid || eg != p->gid ||
        sg != p->gid || eff != p->caps || prm != p->caps || inh != 0)
        return -EPERM;
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
        return -EPERM;
    return 0;
}

static int apply_switch(const struct privdrop_plan *p, bool *bounding_kept)
{
    int rc = drop_bounding(p->caps, bounding_kept);

    if (rc == 0)
        rc = switch_ids(p);
    if (rc == 0)
        rc = caps_set(p->caps);
    if (rc == 0)
        rc = clear_ambient();
    if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        rc = -errno;
    return rc < 0 ? rc : verify(p);
}

/* Not root, but maybe started with capabilities (a service manager's
 * AmbientCapabilities, file capabilities): keep only the mode's. */
static int apply_not_root(const struct privdrop_plan *p)
{
    uint64_t eff, prm, inh;
    int rc = caps_get(&eff, &prm, &inh);

    if (rc < 0)
        return rc;
    if ((prm & ~p->caps) == 0 && eff == prm && inh == 0)
        return clear_ambient();
    rc = caps_set(prm & p->caps);
    return rc < 0 ? rc : clear_ambient();
}

int privdrop_apply(const struct privdrop_plan *plan, bool *bounding_kept)
{
    bool kept = false;
    int rc = 0;

    if (!plan)
        return -EINVAL;
    if (plan->action == PRIVDROP_SWITCH)
        rc = apply_switch(plan, &kept);
    else if (plan->action == PRIVDROP_NOT_ROOT)
        rc = apply_not_root(plan);
    if (bounding_kept)
        *bounding_kept = kept;
    return rc;
}

/* ---- helpers run with the daemon's capabilities ---- */

int privdrop_pass_caps(uint64_t caps)
{
    struct caps3 c = { .hdr = { _LINUX_CAPABILITY_VERSION_3, 0 } };
    uint64_t inh;

    if (geteuid() == 0)
        return 0;
    if (syscall(SYS_capget, &c.hdr, c.data) < 0)
        return -errno;
    if (caps & ~(c.data[0].permitted | (uint64_t)c.data[1].permitted << 32))
        return -EPERM;
    inh = c.data[0].inheritable | (uint64_t)c.data[1].inheritable << 32 | caps;
    c.data[0].inheritable = (uint32_t)inh;
    c.data[1].inheritable = (uint32_t)(inh >> 32);
    if (syscall(SYS_capset, &c.hdr, c.data) < 0)
        return -errno;
    for (unsigned n = 0; n < 64; n++)
        if ((caps & PRIVDROP_CAP(n)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n, 0, 0) < 0)
            return -errno;
    return 0;
}

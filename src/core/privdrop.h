/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privdrop.h - start as root, run as an unprivileged user.
 *
 * sipkeep needs root only to open what it opens at start (LAN sockets, maybe
 * on ports < 1024, NFQUEUE in transparent mode, the control socket under
 * /run).  Everything it does later (flows to the provider, instance-id
 * writes, control clients) works unprivileged.  So main.c does, in order:
 *
 *   privdrop_plan()      before anything is opened: resolves `user:` and
 *                        fails fast when there is no way to drop
 *   ...open every socket, the state dir, the control socket...
 *   privdrop_hand_over() chowns the state dir and the control socket's
 *                        directory to the user (only directories that hold
 *                        nothing but sipkeep's own files)
 *   privdrop_apply()     bounding set, groups, gid, uid, kept capabilities;
 *                        then proves that root cannot come back
 *
 * Plain syscalls (capget/capset, prctl), no libcap.  Nothing here keeps
 * state: a plan is a value the caller owns.
 */
#ifndef SIPKEEP_CORE_PRIVDROP_H
#define SIPKEEP_CORE_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A capability set: bit n is capability number n (linux/capability.h). */
#define PRIVDROP_CAP(n) (UINT64_C(1) << (n))
#define PRIVDROP_CAP_NET_ADMIN PRIVDROP_CAP(12)
#define PRIVDROP_CAP_NET_RAW PRIVDROP_CAP(13)

/* Longest user name accepted (useradd's limit).  core sits below config
 * (src/DESIGN.md, "Layers"), so this is a value of its own; main.c asserts
 * that the configuration's `user:` limit fits in it. */
#define PRIVDROP_USER_MAX 32

/* The daemon's mode as far as privileges go; the caller maps its
 * configuration onto it. */
enum privdrop_mode { PRIVDROP_MODE_PROXY, PRIVDROP_MODE_TRANSPARENT };

/* The capabilities the daemon keeps after the drop in mode: none in proxy
 * mode (its sockets are bound before the drop, whatever their port);
 * CAP_NET_ADMIN | CAP_NET_RAW in transparent mode (NFQUEUE verdicts and
 * raw re-injection go on for the daemon's whole life). */
uint64_t privdrop_caps_for_mode(enum privdrop_mode mode);

/* Writes caps as "none" or a comma-separated list of lowercase names
 * without "cap_" ("net_admin,net_raw"; unnamed ones as "cap_N") into buf
 * (truncated, always NUL-terminated when sz > 0).  Returns buf. */
const char *privdrop_caps_format(uint64_t caps, char *buf, size_t sz);

enum privdrop_action {
    PRIVDROP_SWITCH,    /* running as root: switch to the user */
    PRIVDROP_STAY_ROOT, /* running as root and `user: root` was written */
    PRIVDROP_NOT_ROOT,  /* not root: nothing to switch, capabilities beyond
                           the mode's are still given up */
};

struct privdrop_plan {
    enum privdrop_action action;
    char user[PRIVDROP_USER_MAX + 1]; /* who the daemon runs as afterwards
                                         (for NOT_ROOT: the current user's
                                         name, or its uid in decimal) */
    uid_t uid;                        /* afterwards */
    gid_t gid;                        /* afterwards (primary group only) */
    uint64_t caps;                    /* kept afterwards */
};

/* Decides what a process with effective uid euid, configured with user,
 * does; caps is privdrop_caps_for_mode(mode).  Only the SWITCH case looks
 * user up (getpwnam_r).  Returns 0 and fills *out, or, with *out untouched
 * and err holding one sentence for the operator (when errsz > 0):
 *   -ENOENT  euid is 0 and user does not exist (the message names it and
 *            says how to create it or to write `user: root`);
 *   -EINVAL  user is NULL, empty or longer than PRIVDROP_USER_MAX, or names
 *            another account with uid 0 (dropping to it would change
 *            nothing);
 *   -errno   the user database could not be read (e.g. -EIO, -ENOMEM). */
int privdrop_plan(struct privdrop_plan *out, uid_t euid, const char *user, uint64_t caps,
                  char *err, size_t errsz);

/* Gives dir to uid:gid so that the unprivileged daemon can keep writing in
 * it: dir itself and those of its entries named in names (NULL-terminated;
 * regular files and sockets, never followed through symlinks).  Only a
 * directory dedicated to sipkeep is changed: when dir holds any other entry,
 * or a named entry of another type, nothing is changed and -ENOTEMPTY is
 * returned.  Otherwise returns 0, or -errno of open/readdir/fstatat/fchown (some
 * entries may then be chowned already; the caller does not start). */
int privdrop_hand_over(const char *dir, const char *const *names, uid_t uid, gid_t gid);

/* Carries out plan (see enum privdrop_action).  For SWITCH: drops every
 * capability outside plan->caps from the bounding set (skipped, and
 * *bounding_kept set, when the process may not: no CAP_SETPCAP), clears
 * supplementary groups, sets real/effective/saved gid then uid, keeps
 * exactly plan->caps permitted and effective, clears ambient and
 * inheritable capabilities, sets no_new_privs, then verifies: every uid and
 * gid is the target's, the capabilities are exactly plan->caps, and
 * setuid(0)/setgid(0) fail.  For NOT_ROOT only the capabilities are reduced
 * (to plan->caps and what the process already has).  STAY_ROOT does nothing.
 * bounding_kept may be NULL.
 * Returns 0, or -errno of the failing call (-EPERM when the verification
 * finds a way back to root); the process may then be half switched and must
 * not go on. */
int privdrop_apply(const struct privdrop_plan *plan, bool *bounding_kept);

/* For a child between fork and execve of a helper program (iptables) that
 * must act with the daemon's own capabilities although the daemon runs as
 * an unprivileged user: an execve by a non-root uid of a file without
 * capabilities clears the permitted set unless the capability is ambient
 * (capabilities(7), "Transformation of capabilities during execve").  So
 * each capability of caps that the process holds in its permitted set is
 * raised in the inheritable and then the ambient set (the kernel's rule for
 * ambient: permitted and inheritable).  The helper gets nothing the daemon
 * lacks; the daemon itself never calls this, so its own inheritable and
 * ambient sets stay empty (privdrop_apply).  With euid 0 it does nothing:
 * root's execve gets its capabilities anyway.  Only syscalls, no
 * allocation: safe after fork.  Returns 0, -EPERM when a capability of caps
 * is not permitted, or -errno of capset/prctl (-EINVAL: a kernel without
 * ambient capabilities, before 4.3); a failure may leave the inheritable set
 * raised, which is why only a child that then exits calls it. */
int privdrop_pass_caps(uint64_t caps);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slowsync.c - an LD_PRELOAD shim that makes the disk slow to sync, for the
 * instance-id storm benchmark (tests/bench/storm.sh, issue 14 item 1).
 *
 * fdatasync(2) and fsync(2) do the real sync, then sleep SLOWSYNC_MS
 * milliseconds (default 10): a router's flash, where one sync costs tens of
 * milliseconds.  Chosen over dm-delay (needs a block device and the
 * device-mapper target in the kernel, which a container may lack) and a
 * FUSE mount (needs /dev/fuse): the daemon runs its real code path, only
 * the time a sync takes is changed, and the thread that calls it blocks
 * exactly as it would on a slow device.  Each call is logged to
 * SLOWSYNC_LOG (when set) as "CALL MS PATH": its whole duration and the
 * file it synced, so the benchmark counts the instance-ids syncs and how
 * long each held the event loop.
 *
 * Build: cc -shared -fPIC -O2 -o slowsync.so slowsync.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;
static long delay_ms = 10;

/* Before main: sipkeep may drop its privileges later. */
__attribute__((constructor)) static void slowsync_init(void)
{
    const char *ms = getenv("SLOWSYNC_MS"), *path = getenv("SLOWSYNC_LOG");

    if (ms && *ms)
        delay_ms = strtol(ms, NULL, 10);
    if (path && *path)
        log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static int slow(int fd, long nr, const char *what)
{
    double t0 = now_ms();
    int rc = (int)syscall(nr, fd), err = errno;
    struct timespec d = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };

    while (nanosleep(&d, &d) != 0 && errno == EINTR)
        ;
    if (log_fd >= 0) {
        char link[64], path[512];
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, path, sizeof(path) - 1);
        path[n > 0 ? n : 0] = '\0';
        dprintf(log_fd, "%s %.3f %s\n", what, now_ms() - t0, path);
    }
    errno = err;
    return rc;
}

int fdatasync(int fd)
{
    return slow(fd, SYS_fdatasync, "fdatasync");
}

int fsync(int fd)
{
    return slow(fd, SYS_fsync, "fsync");
}

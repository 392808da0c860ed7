/* SPDX-License-Identifier: GPL-2.0-or-later */
/* statefile.c - crash-safe whole-file replacement, bounded whole-file
 * reading (see statefile.h). */
#include "state/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int statefile_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int statefile_begin(const char *tmp_path)
{
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

    return fd < 0 ? -errno : fd;
}

/* Without this the rename itself may be lost on power failure. */
static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    /* EINVAL: the filesystem cannot sync directories; nothing more to do. */
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = -errno;
    close(fd);
    return rc;
}

int statefile_commit(int fd, int write_err, const char *tmp_path, const char *path,
                     const char *dir)
{
    int rc = write_err;

    if (rc == 0 && fchmod(fd, 0600) != 0)
        rc = -errno;
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp_path, path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp_path);
        return rc;
    }
    return fsync_dir(dir);
}

int statefile_replace(const char *tmp_path, const char *path, const char *dir,
                      const void *buf, size_t len)
{
    int fd = statefile_begin(tmp_path);

    if (fd < 0)
        return fd;
    return statefile_commit(fd, statefile_write_all(fd, buf, len), tmp_path, path, dir);
}

/* Reads fd to its end into a buffer grown as needed; hint: the expected
 * size.  One byte more than max is room enough to tell "too large". */
static int read_fd(int fd, size_t max, size_t hint, char **out, size_t *len)
{
    size_t cap = (hint < 4096 ? 4096 : hint + 2), n = 0;
    char *buf;

    if (cap > max + 2)
        cap = max + 2;
    buf = malloc(cap);
    while (buf) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return -e;
        }
        if (r == 0) {
            buf[n] = '\0';
            *out = buf;
            *len = n;
            return 0;
        }
        n += (size_t)r;
        if (n > max) {
            free(buf);
            return -EFBIG;
        }
        if (n == cap - 1) { /* n <= max, so cap < max + 2: it can grow */
            size_t ncap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
            char *nb = realloc(buf, ncap);

            if (!nb)
                free(buf);
            buf = nb;
            cap = ncap;
        }
    }
    return -ENOMEM;
}

int statefile_read(const char *path, size_t max, unsigned flags, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (flags & STATEFILE_NOFOLLOW ? O_NOFOLLOW : 0));
    struct stat st;
    int rc;

    *buf = NULL;
    *len = 0;
    if (max > SIZE_MAX / 2) /* read_fd's max + 2 must not wrap */
        max = SIZE_MAX / 2;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0)
        rc = -errno;
    else if (S_ISDIR(st.st_mode))
        rc = -EISDIR;
    else if (!S_ISREG(st.st_mode) && (flags & STATEFILE_REGULAR))
        rc = -EINVAL;
    /* A regular file's size says at once what reading would find. */
    else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
        rc = -EFBIG;
    else
        rc = read_fd(fd, max, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, buf, len);
    close(fd);
    return rc;
}

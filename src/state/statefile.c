/* statefile.c - crash-safe whole-file replacement (see statefile.h). */
#include "state/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* statefile.h - crash-safe whole-file replacement for the files sipkeep
 * keeps in state_dir (instance-ids, stored registrations), and the one
 * bounded whole-file reader (those files and the configuration).
 *
 * A file is replaced by writing a temporary file in the same directory,
 * syncing it, renaming it over the old one and syncing the directory: after
 * a crash or power failure either the old or the new file is there, never a
 * mix.  Files are created 0600: they hold per-phone identities.
 */
#ifndef SIPKEEP_STATE_STATEFILE_H
#define SIPKEEP_STATE_STATEFILE_H

#include <stddef.h>

/* Writes all n bytes to fd, retrying on EINTR and short writes.  Returns 0
 * or -errno. */
int statefile_write_all(int fd, const void *p, size_t n);

/* Opens tmp_path for writing, truncated, mode 0600, not following a
 * symlink.  Returns the descriptor or -errno. */
int statefile_begin(const char *tmp_path);

/* Finishes a replacement started with statefile_begin(): unless write_err
 * (the first error the caller met while writing, or 0) is set, forces
 * mode 0600 (a stale temporary file may have another), syncs and closes fd,
 * renames tmp_path to path and syncs dir.  fd is always closed.  On any
 * failure before the rename the temporary file is removed and path is left
 * as it was; returns write_err or -errno.  A failure of the final
 * directory sync is returned although the new file is already in place. */
int statefile_commit(int fd, int write_err, const char *tmp_path, const char *path,
                     const char *dir);

/* Both steps for contents already in memory. */
int statefile_replace(const char *tmp_path, const char *path, const char *dir,
                      const void *buf, size_t len);

#define STATEFILE_NOFOLLOW 1u /* refuse a symbolic link (open: -ELOOP) */
#define STATEFILE_REGULAR 2u  /* refuse anything but a regular file: -EINVAL */

/* Reads all of path, at most max bytes, into a new buffer *buf (caller
 * frees; NUL-terminated after its *len bytes, which may hold NULs).
 * Non-regular files (a pipe) are read to their end unless flags has
 * STATEFILE_REGULAR.  Returns 0, -EISDIR, -EINVAL (see flags), -EFBIG (more
 * than max bytes), -ENOMEM or the -errno of open/read (-ENOENT when it is
 * missing); then *buf is NULL and *len 0. */
int statefile_read(const char *path, size_t max, unsigned flags, char **buf, size_t *len);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* instid.h - persistent RFC 5626 instance-ids for the legacy UAs we serve.
 *
 * RFC 5626 §4.1: a UA that registers with SIP Outbound carries a
 * "+sip.instance" Contact parameter that identifies the device, is created
 * once and never changes, and SHOULD be a UUID URN (RFC 4122).  The legacy
 * phones behind sipkeep have none, so sipkeep mints one per UA and must hand
 * out the very same string after every restart: registrars compare it
 * case-sensitively, and a changed id leaves stale flows bound to the old one.
 *
 * Storage: the text file STATE_DIR/instance-ids, one UA per line
 *
 *   urn:uuid:f81d4fae-7dec-41d0-a765-00a0c91e6bf6 sip:alice@example.net|192.168.1.10
 *
 * (lines starting with '#' are comments).  The registration agent's key is
 * the AOR and the host of the phone's Contact (instid_ua_key): a phone that
 * comes back on a new port or with a new rinstance is the same instance
 * (RFC 5626 §4.1, §6).  Files from before that (key "aor|contact-uri", the
 * whole Contact URI) are migrated on load: each old-form key becomes
 * "aor|host", and of several lines that give the same new key the LAST
 * one's instance-id is kept (lines are appended as phones appear, so it is
 * the one the registrar knows now); the file is then rewritten once.  The file is written only when a
 * new UA appears, never on lookups, since routers keep it on flash: new
 * UAs' lines are appended and the file fdatasync'ed.  Group commit (issue
 * 14): instid_get_batched() mints ids without writing; instid_commit_start()
 * hands every id minted since the last batch to the store's worker thread
 * as one batch, appended with ONE fdatasync, so 1,000 phones arriving
 * together cost a few syncs, not 1,000 (on a router's flash one costs tens
 * of milliseconds), and the caller's thread (the event loop) does not wait
 * for a slow disk (on a fast one, syncs under INSTID_INLINE_SYNC_US, it
 * syncs itself: cheaper than waking a thread).  Ids minted while a batch is being written form the next
 * batch, started once the caller has collected the first
 * (instid_commit_collect): a pipeline of one batch on the disk and one
 * filling up.
 * It is replaced whole and atomically (tmp file, fsync, rename, fsync of the
 * directory), mode 0600, when it is first created, when loading skipped
 * lines or found a last line without '\n', and after a failed append that
 * could not be cut back.
 *
 * Threads: a store is used from one thread (the event loop), which calls
 * every function here.  Its worker thread (started at the first batch
 * that goes to it, once syncs prove slow; joined by instid_store_free)
 * only writes and syncs the bytes of the batch it was handed and never
 * touches the entries; the hand-over and the result go through a mutex
 * and an eventfd.
 */
#ifndef SIPKEEP_STATE_INSTID_H
#define SIPKEEP_STATE_INSTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"

/* Length of "urn:uuid:" + 36-character UUID, without the NUL. */
#define INSTID_URN_LEN 45
/* Longest accepted ua-key, in bytes. */
#define INSTID_KEY_MAX 400
/* Lines longer than this (without the '\n') are skipped when loading. */
#define INSTID_LINE_MAX 512
/* Most UAs a store holds; further new keys get -ENOSPC. */
#define INSTID_MAX_ENTRIES 100000
/* A larger file is refused (-EFBIG): we never write one that big
 * (INSTID_MAX_ENTRIES full-length lines are about 45 MB). */
#define INSTID_FILE_MAX (64L * 1024 * 1024)
/* A batch is written and synced on the calling thread while recent
 * batches took less than this (microseconds; the first batch too), on the
 * worker thread otherwise (instid_commit_start). */
#define INSTID_INLINE_SYNC_US 2000u

struct instid_store;

/* Opens the store kept in state_dir, creating that directory (mode 0700,
 * the last path component only) if it is missing, and loads
 * state_dir/instance-ids if it exists.  A missing file gives an empty store
 * and is not created until the first new UA.  Unusable lines (bad URN, bad
 * key, longer than INSTID_LINE_MAX, a key or URN already seen, beyond
 * INSTID_MAX_ENTRIES) are skipped with a log_warn naming file:line; they are
 * dropped from the file at its next rewrite.  URNs are kept byte for byte
 * as read, whatever their hex case.
 *
 * Returns 0 and sets *out (free with instid_store_free), or -errno with *out
 * untouched: -EINVAL (state_dir NULL or empty), -ENOTDIR (state_dir or a
 * parent is not a directory), -EACCES, -EISDIR / -EINVAL (instance-ids is
 * not a regular file), -EFBIG (file larger than INSTID_FILE_MAX), -EIO,
 * -ENOMEM, or a getrandom(2) / mkdir(2) error. */
int instid_store_open(struct instid_store **out, const char *state_dir);

/* Frees the store and every URN string it handed out.  NULL is a no-op. */
void instid_store_free(struct instid_store *s);

/* Returns in *urn_out the instance-id of the UA named by ua_key.  A known
 * key gives its stored URN and touches nothing on disk.  An unknown key
 * gets a fresh random version-4 UUID URN (lowercase hex, RFC 4122 §4.4),
 * which is persisted before it is returned.
 *
 * ua_key is an opaque name chosen by the caller, 1..INSTID_KEY_MAX bytes of
 * visible ASCII (0x21..0x7e: no whitespace, controls or non-ASCII bytes;
 * percent-encode anything else).  It is copied; compared byte for byte.
 *
 * *urn_out points into the store (NUL-terminated, INSTID_URN_LEN bytes) and
 * stays valid until instid_store_free.  *created (created may be NULL) tells
 * whether the id was minted by this call.
 *
 * Returns 0, or -errno with nothing remembered (a retry mints and persists
 * a new id): -EINVAL (bad key), -ENOSPC (INSTID_MAX_ENTRIES reached),
 * -ENOMEM, -EBUSY (a batch of instid_commit_start is not collected yet:
 * this synchronous path and the batched one are not mixed), or the error
 * of the failed write/fsync/rename.  Writing the file blocks the calling
 * thread for the duration of an fsync (it commits every pending id too);
 * getrandom(2) may block once at early boot until the kernel's entropy
 * pool is initialised. */
int instid_get(struct instid_store *s, struct slice ua_key, const char **urn_out,
               bool *created);

/* instid_get without the write: a known key gives its URN, an unknown one
 * a fresh URN, pending.  *batch is 0 when the URN is on disk, else the
 * number of the batch that will put it there: the one in flight, or the
 * next (instid_commit_start).  Until that batch is collected with success
 * the caller must not hand the URN to anyone (no REGISTER upstream), and
 * must forget it if the batch fails.  Arguments, *urn_out's lifetime (as
 * long as the store, or until its batch fails) and errors as instid_get
 * (never -EBUSY); never blocks on the disk. */
int instid_get_batched(struct instid_store *s, struct slice ua_key, const char **urn_out,
                       uint64_t *batch);

/* Starts the next batch: every pending id not in the batch in flight, in
 * the order they were minted, goes to the worker thread, which appends
 * their lines (or rewrites the whole file, as instid_get would) and
 * fdatasyncs once.  Returns 0 with *batch its number (> 0), or 0 with
 * *batch 0 when nothing is pending or a batch is in flight (the ids wait
 * for the next, which the caller starts after collecting that one).
 * -ENOMEM: the batch could not be built; its ids (number *batch) are
 * forgotten as if it had failed.  The bytes are built on the calling
 * thread.  The write and sync run here, before this returns, while the
 * recent batches took less than INSTID_INLINE_SYNC_US (a fast disk: the
 * hand-over between threads would cost more than the sync itself; the
 * first batch too), or when no thread could be started (logged once);
 * otherwise on the worker, not blocking the caller.  Either way the
 * result is collected as below. */
int instid_commit_start(struct instid_store *s, uint64_t *batch);

/* A descriptor (eventfd, the store's) that becomes readable when a batch
 * has finished: then call instid_commit_collect.  Valid from open to
 * instid_store_free. */
int instid_commit_fd(const struct instid_store *s);

/* Collects the finished batch: 0 with *batch its number, its ids now on
 * disk; or the -errno of its failed write/fsync/rename (or the eventfd's
 * read) with *batch its number, its ids forgotten (their URN pointers
 * invalid) and the file as before; or -EAGAIN when no batch has finished
 * (*batch untouched). */
int instid_commit_collect(struct instid_store *s, uint64_t *batch);

/* The registration agent's ua-key of a phone: aor "|" the host of
 * contact_uri, lowercased, without port or URI parameters.  Writes it
 * NUL-terminated to out and its length to *outlen.  Returns 0, -EINVAL
 * (contact_uri is not a sip/sips URI) or -ENAMETOOLONG (longer than
 * INSTID_KEY_MAX or outsz - 1). */
int instid_ua_key(struct slice aor, struct slice contact_uri, char *out, size_t outsz,
                  size_t *outlen);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* loop.h - the event loop: epoll for descriptors, a binary heap of timers,
 * and an injectable monotonic clock.
 *
 * Handles (struct loop_fd, struct loop_timer) are embedded in the object
 * that owns them and recovered with container_of(), so the loop never
 * allocates per event (the timer heap grows by doubling, then stays).
 * An idle loop sleeps in epoll_wait() until its next timer: no polling.
 *
 * Callbacks may free the object that embeds the handle, provided they first
 * cancel its timers and remove its descriptors (loop_fd_del / loop_timer_cancel);
 * they may re-arm their own timer.  All times are milliseconds.
 */
#ifndef SIPKEEP_CORE_LOOP_H
#define SIPKEEP_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif

/* A monotonic millisecond clock.  Unit tests pass a fake one. */
struct loop_clock {
    uint64_t (*now_ms)(void *ctx);
    void *ctx;
};

/* Interest and readiness flags. */
enum {
    LOOP_READ = 1u << 0,
    LOOP_WRITE = 1u << 1,
    LOOP_ERROR = 1u << 2, /* error or hang-up: reported even when not asked */
};

struct loop;
struct loop_fd;
struct loop_timer;

typedef void (*loop_fd_cb)(struct loop_fd *h, unsigned events);
typedef void (*loop_timer_cb)(struct loop_timer *t);

struct loop_fd {
    int fd;             /* -1 when not registered */
    unsigned events;
    loop_fd_cb cb;
};

struct loop_timer {
    uint64_t due_ms;
    uint64_t seq;       /* tie-break: equal due times fire in arming order */
    size_t heap_idx;    /* SIZE_MAX when not armed */
    loop_timer_cb cb;
};

/* Creates a loop.  clock NULL means CLOCK_MONOTONIC.  The clock struct is
 * copied.  Returns 0 and *out, or -errno (epoll_create1 failure, -ENOMEM). */
int loop_new(struct loop **out, const struct loop_clock *clock);
/* Frees the loop; registered descriptors are not closed (their owners do). */
void loop_free(struct loop *l);

/* The loop clock's current time in ms. */
uint64_t loop_now(const struct loop *l);

/* Prepares a handle (fd = -1, not registered). */
void loop_fd_init(struct loop_fd *h, loop_fd_cb cb);
/* Registers a non-blocking descriptor for LOOP_READ/LOOP_WRITE events. */
int loop_fd_add(struct loop *l, struct loop_fd *h, int fd, unsigned events);
/* Changes the interest set of a registered handle. */
int loop_fd_mod(struct loop *l, struct loop_fd *h, unsigned events);
/* Unregisters (safe on an unregistered handle); does not close the fd.
 * Safe inside any callback: events already collected for it are dropped. */
void loop_fd_del(struct loop *l, struct loop_fd *h);

/* Prepares a timer (not armed). */
void loop_timer_init(struct loop_timer *t, loop_timer_cb cb);
/* Arms (or re-arms) t to fire delay_ms from now.  -ENOMEM when the heap
 * cannot grow; the timer's previous state is then kept. */
int loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t delay_ms);
/* Disarms t (no-op if not armed). */
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);
/* Milliseconds until the earliest timer, 0 if one is due, -1 if none. */
int64_t loop_next_timeout(const struct loop *l);

/* Fires every timer due at the current clock time, earliest first; timers
 * armed by callbacks for "now" fire in the same pass.  Returns the count. */
size_t loop_run_timers(struct loop *l);
/* One iteration: waits for descriptors at most until the next timer (and
 * at most max_wait_ms when >= 0), dispatches them, then due timers.
 * Returns 0, or -errno from epoll_wait (EINTR is not an error). */
int loop_run_once(struct loop *l, int max_wait_ms);
/* Runs until loop_stop(). Returns 0 or the first hard error. */
int loop_run(struct loop *l);
/* Makes loop_run() return after the current iteration. */
void loop_stop(struct loop *l);

#endif

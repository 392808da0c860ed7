/* SPDX-License-Identifier: GPL-2.0-or-later */
/* loop.c - epoll + timer heap; see loop.h. */
#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64

struct loop {
    int epfd;
    struct loop_clock clock;
    struct loop_timer **heap;
    size_t nheap, capheap;
    uint64_t next_seq;
    bool stop;
    /* Events collected by the current epoll_wait, so that loop_fd_del can
     * drop those pending for a handle deleted by an earlier callback. */
    struct epoll_event events[LOOP_MAX_EVENTS];
    int nevents;
};

static uint64_t monotonic_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int loop_new(struct loop **out, const struct loop_clock *clock)
{
    struct loop *l = calloc(1, sizeof(*l));

    if (!l)
        return -ENOMEM;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        int err = -errno;
        free(l);
        return err;
    }
    l->clock = clock ? *clock : (struct loop_clock){ monotonic_ms, NULL };
    *out = l;
    return 0;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    close(l->epfd);
    free(l->heap);
    free(l);
}

uint64_t loop_now(const struct loop *l)
{
    return l->clock.now_ms(l->clock.ctx);
}

/* ---- descriptors ---- */

static uint32_t to_epoll(unsigned events)
{
    return ((events & LOOP_READ) ? EPOLLIN : 0u) |
           ((events & LOOP_WRITE) ? EPOLLOUT : 0u);
}

static unsigned from_epoll(uint32_t ev)
{
    return ((ev & EPOLLIN) ? LOOP_READ : 0u) |
           ((ev & EPOLLOUT) ? LOOP_WRITE : 0u) |
           ((ev & (EPOLLERR | EPOLLHUP)) ? LOOP_ERROR : 0u);
}

void loop_fd_init(struct loop_fd *h, loop_fd_cb cb)
{
    h->fd = -1;
    h->events = 0;
    h->cb = cb;
}

int loop_fd_add(struct loop *l, struct loop_fd *h, int fd, unsigned events)
{
    struct epoll_event ev = { .events = to_epoll(events), .data.ptr = h };

    if (fd < 0 || h->fd >= 0)
        return -EINVAL;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    h->fd = fd;
    h->events = events;
    return 0;
}

int loop_fd_mod(struct loop *l, struct loop_fd *h, unsigned events)
{
    struct epoll_event ev = { .events = to_epoll(events), .data.ptr = h };

    if (h->fd < 0)
        return -EINVAL;
    if (events == h->events)
        return 0;
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
        return -errno;
    h->events = events;
    return 0;
}

void loop_fd_del(struct loop *l, struct loop_fd *h)
{
    if (h->fd < 0)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
    for (int i = 0; i < l->nevents; i++) {
        if (l->events[i].data.ptr == h)
            l->events[i].data.ptr = NULL;
    }
    h->fd = -1;
    h->events = 0;
}

/* ---- timers: a binary min-heap ordered by (due_ms, seq) ---- */

static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_place(struct loop *l, size_t i, struct loop_timer *t)
{
    l->heap[i] = t;
    t->heap_idx = i;
}

static void heap_sift_up(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, l->heap[parent]))
            break;
        heap_place(l, i, l->heap[parent]);
        i = parent;
    }
    heap_place(l, i, t);
}

static void heap_sift_down(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];

    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= l->nheap)
            break;
        if (child + 1 < l->nheap && timer_before(l->heap[child + 1], l->heap[child]))
            child++;
        if (!timer_before(l->heap[child], t))
            break;
        heap_place(l, i, l->heap[child]);
        i = child;
    }
    heap_place(l, i, t);
}

static int heap_reserve(struct loop *l)
{
    size_t cap;
    struct loop_timer **grown;

    if (l->nheap < l->capheap)
        return 0;
    cap = l->capheap ? l->capheap * 2 : 16;
    grown = realloc(l->heap, cap * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    l->heap = grown;
    l->capheap = cap;
    return 0;
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb cb)
{
    t->due_ms = 0;
    t->seq = 0;
    t->heap_idx = SIZE_MAX;
    t->cb = cb;
}

bool loop_timer_armed(const struct loop_timer *t)
{
    return t->heap_idx != SIZE_MAX;
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
    size_t i = t->heap_idx;
    struct loop_timer *last;

    if (i == SIZE_MAX)
        return;
    t->heap_idx = SIZE_MAX;
    last = l->heap[--l->nheap];
    if (last == t)
        return;
    heap_place(l, i, last);
    heap_sift_down(l, i);
    heap_sift_up(l, last->heap_idx);
}

int loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t delay_ms)
{
    if (!loop_timer_armed(t) && heap_reserve(l) < 0)
        return -ENOMEM;
    loop_timer_cancel(l, t);
    t->due_ms = loop_now(l) + delay_ms;
    t->seq = l->next_seq++;
    l->heap[l->nheap] = t;
    t->heap_idx = l->nheap++;
    heap_sift_up(l, t->heap_idx);
    return 0;
}

int64_t loop_next_timeout(const struct loop *l)
{
    uint64_t now;

    if (l->nheap == 0)
        return -1;
    now = loop_now(l);
    return l->heap[0]->due_ms <= now ? 0 : (int64_t)(l->heap[0]->due_ms - now);
}

size_t loop_run_timers(struct loop *l)
{
    size_t fired = 0;
    uint64_t now = loop_now(l);

    while (l->nheap > 0 && l->heap[0]->due_ms <= now) {
        struct loop_timer *t = l->heap[0];
        loop_timer_cancel(l, t);
        fired++;
        t->cb(t);
    }
    return fired;
}

/* ---- running ---- */

static int wait_ms(const struct loop *l, int max_wait_ms)
{
    int64_t next = loop_next_timeout(l);

    if (next > INT32_MAX)
        next = INT32_MAX;
    if (max_wait_ms >= 0 && (next < 0 || next > max_wait_ms))
        next = max_wait_ms;
    return (int)next;
}

int loop_run_once(struct loop *l, int max_wait_ms)
{
    int n = epoll_wait(l->epfd, l->events, LOOP_MAX_EVENTS, wait_ms(l, max_wait_ms));

    if (n < 0) {
        if (errno != EINTR)
            return -errno;
        n = 0;
    }
    l->nevents = n;
    for (int i = 0; i < n; i++) {
        struct loop_fd *h = l->events[i].data.ptr;
        if (h)
            h->cb(h, from_epoll(l->events[i].events));
    }
    l->nevents = 0;
    loop_run_timers(l);
    return 0;
}

int loop_run(struct loop *l)
{
    l->stop = false;
    while (!l->stop) {
        int err = loop_run_once(l, -1);
        if (err < 0)
            return err;
    }
    return 0;
}

void loop_stop(struct loop *l)
{
    l->stop = true;
}

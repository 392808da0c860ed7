/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nfq_bench.c - the UDP flood of tests/bench/nfq_bench.sh (not a bench_*
 * binary of its own: the script compiles it and runs it in the lab's lan
 * namespace).
 *
 * Usage: nfq_bench SRC_IP DST_IP DST_PORT COUNT TEMPLATE
 * Sends COUNT datagrams from SRC_IP (any port) to DST_IP:DST_PORT, as fast
 * as the socket takes them.  Each is TEMPLATE's content with every
 * "########" replaced by the datagram's number (8 digits), so that SIP
 * requests differ in branch and Call-ID (no retransmission shortcut).
 * Prints "sent N in S s".  Exit status 1 on a setup error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MARK "########"
#define MAX_DGRAM 2048

static int read_template(const char *path, char *buf, size_t sz, size_t *len)
{
    FILE *f = fopen(path, "rb");

    if (!f)
        return -errno;
    *len = fread(buf, 1, sz, f);
    fclose(f);
    return *len > 0 && *len < sz ? 0 : -EINVAL;
}

/* Writes the template's MARKs as n, in place (same length). */
static void number(char *buf, size_t len, const char *tmpl, unsigned long n)
{
    char digits[9];

    snprintf(digits, sizeof(digits), "%08lu", n % 100000000ul);
    memcpy(buf, tmpl, len);
    for (char *p = buf; (p = memmem(p, len - (size_t)(p - buf), MARK, 8)) != NULL; p += 8)
        memcpy(p, digits, 8);
}

static int open_socket(const char *src, const char *dst, const char *port)
{
    struct sockaddr_in s = { .sin_family = AF_INET }, d = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    d.sin_port = htons((unsigned short)atoi(port));
    if (fd < 0 || inet_pton(AF_INET, src, &s.sin_addr) != 1 ||
        inet_pton(AF_INET, dst, &d.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0 ||
        connect(fd, (struct sockaddr *)&d, sizeof(d)) < 0) {
        perror("nfq_bench: socket");
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    char tmpl[MAX_DGRAM], buf[MAX_DGRAM];
    size_t len = 0;
    unsigned long count, sent = 0;
    struct timespec t0, t1;
    int fd;

    if (argc != 6) {
        fprintf(stderr, "usage: nfq_bench SRC_IP DST_IP DST_PORT COUNT TEMPLATE\n");
        return 1;
    }
    count = strtoul(argv[4], NULL, 10);
    if (read_template(argv[5], tmpl, sizeof(tmpl), &len) < 0) {
        fprintf(stderr, "nfq_bench: cannot read %s (1..%d bytes)\n", argv[5], MAX_DGRAM - 1);
        return 1;
    }
    fd = open_socket(argv[1], argv[2], argv[3]);
    if (fd < 0)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < count; i++) {
        number(buf, len, tmpl, i);
        /* ECONNREFUSED: an ICMP error for an earlier datagram; go on */
        if (send(fd, buf, len, 0) == (ssize_t)len)
            sent++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("sent %lu in %.3f s\n", sent,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    close(fd);
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* addr.c - see addr.h. */
#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

const char *addr_format(const struct sockaddr *sa, bool with_port, char *buf, size_t bufsz)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = addr_port(sa);

    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
    if (sa->sa_family == AF_INET6)
        snprintf(buf, bufsz, with_port ? "[%s]:%u" : "[%s]", ip, port);
    else
        snprintf(buf, bufsz, with_port ? "%s:%u" : "%s", ip, port);
    return buf;
}

unsigned addr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

bool addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    return addr_port(a) == addr_port(b) && addr_same_host(a, b);
}

bool addr_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
    return false;
}

socklen_t addr_len(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return sizeof(struct sockaddr_in);
    if (sa->sa_family == AF_INET6)
        return sizeof(struct sockaddr_in6);
    return 0;
}

void addr_ip_set(union sockaddr_ip *out, const struct sockaddr *sa)
{
    memset(out, 0, sizeof(*out));
    memcpy(out, sa, addr_len(sa));
}

void addr_ip_storage(struct sockaddr_storage *out, const union sockaddr_ip *ip)
{
    memset(out, 0, sizeof(*out));
    memcpy(out, ip, sizeof(*ip));
}

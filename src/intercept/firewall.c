/* SPDX-License-Identifier: GPL-2.0-or-later */
/* firewall.c - iptables rule text for transparent mode (see firewall.h). */
#include "intercept/firewall.h"
#include "intercept/firewall_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define IPT "iptables -w -t " FIREWALL_TABLE " "
#define IPT_RAW "iptables -w -t " FIREWALL_TABLE_RAW " "

/* Appending writer: the first overflow sticks. */
struct wbuf {
    char *buf;
    size_t sz, len;
    bool full;
};

__attribute__((format(printf, 2, 3)))
static void wb_printf(struct wbuf *w, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (w->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(w->buf + w->len, w->sz - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->sz - w->len)
        w->full = true;
    else
        w->len += (size_t)n;
}

static int wb_end(const struct wbuf *w)
{
    return w->full ? -ENOSPC : (int)w->len;
}

bool firewall_iface_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > 15)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' || c == '-' ||
              (c == '+' && i == n - 1))) /* iptables' wildcard: "+" is any interface */
            return false;
    }
    return name[0] != '-'; /* would read as an option */
}

static int spec_check(const struct firewall_spec *s)
{
    if (s->mark == 0 || s->n_dsts == 0)
        return -EINVAL;
    for (size_t i = 0; i < s->n_ifaces; i++)
        if (!firewall_iface_ok(s->ifaces[i]))
            return -EINVAL;
    for (size_t i = 0; i < s->n_dsts; i++)
        if (s->dsts[i].sin_family != AF_INET || s->dsts[i].sin_port == 0)
            return -EINVAL;
    return 0;
}

int firewall_install_text(const struct firewall_spec *s, char *buf, size_t sz)
{
    struct wbuf w = {buf, sz, 0, sz == 0};
    char a[INET_ADDRSTRLEN];

    if (spec_check(s) < 0)
        return -EINVAL;
    if (sz)
        buf[0] = '\0';
    wb_printf(&w, IPT "-N " FIREWALL_CHAIN "\n");
    wb_printf(&w, IPT "-A " FIREWALL_CHAIN " -m mark --mark 0x%x -j RETURN\n", (unsigned)s->mark);
    for (size_t i = 0; i < s->n_dsts; i++) {
        inet_ntop(AF_INET, &s->dsts[i].sin_addr, a, sizeof(a));
        wb_printf(&w, IPT "-A " FIREWALL_CHAIN " -p udp -d %s/32 --dport %u -j NFQUEUE "
                  "--queue-num %u --queue-bypass\n", a,
                  (unsigned)ntohs(s->dsts[i].sin_port), (unsigned)s->queue);
    }
    for (size_t i = 0; i < s->n_ifaces; i++)
        wb_printf(&w, IPT "-I PREROUTING -i %s -p udp -j " FIREWALL_CHAIN "\n", s->ifaces[i]);
    if (s->local)
        wb_printf(&w, IPT "-I OUTPUT -p udp -j " FIREWALL_CHAIN "\n");
    wb_printf(&w, IPT_RAW "-N " FIREWALL_CHAIN "\n");
    wb_printf(&w, IPT_RAW "-A " FIREWALL_CHAIN " -m mark --mark 0x%x -j CT --notrack\n",
              (unsigned)s->mark);
    wb_printf(&w, IPT_RAW "-I OUTPUT -p udp -j " FIREWALL_CHAIN "\n");
    return wb_end(&w);
}

int firewall_chain_cleanup_text(char *buf, size_t sz)
{
    return firewall_chain_cleanup_text_in(FIREWALL_TABLE, buf, sz);
}

int firewall_chain_cleanup_text_in(const char *table, char *buf, size_t sz)
{
    struct wbuf w = {buf, sz, 0, sz == 0};

    wb_printf(&w, "iptables -w -t %s -F " FIREWALL_CHAIN "\n"
                  "iptables -w -t %s -X " FIREWALL_CHAIN "\n", table, table);
    return wb_end(&w);
}

int firewall_jump_delete(const char *line, char *buf, size_t sz)
{
    return firewall_jump_delete_in(FIREWALL_TABLE, line, buf, sz);
}

int firewall_jump_delete_in(const char *table, const char *line, char *buf, size_t sz)
{
    static const char jump[] = " -j " FIREWALL_CHAIN;
    size_t n = strcspn(line, "\r\n"), jl = sizeof(jump) - 1;
    struct wbuf w = {buf, sz, 0, sz == 0};

    if (n < 3 + jl || strncmp(line, "-A ", 3) != 0)
        return 0;
    /* ours only if the jump target is exactly FIREWALL_CHAIN, at the end */
    if (memcmp(line + n - jl, jump, jl) != 0)
        return 0;
    wb_printf(&w, "iptables -w -t %s -D %.*s\n", table, (int)(n - 3), line + 3);
    return wb_end(&w);
}

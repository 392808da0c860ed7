/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.c - reading the file, freeing, and the lookups used at run time.
 * Parsing and validation are in config_parse.c and config_validate.c. */
#include "config/config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/statefile.h"

static int cannot_open(const char *path, int e, char *err, size_t errsz)
{
    if (err && errsz)
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(e));
    return -e;
}

/* Symbolic links and pipes (`-c <(...)`) are fine for the configuration. */
static int read_file(const char *path, char **buf, size_t *len, char *err,
                     size_t errsz)
{
    int rc = statefile_read(path, CFG_MAX_FILE_SIZE, 0, buf, len);

    if (rc == -EFBIG) {
        if (err && errsz)
            snprintf(err, errsz, "%s: file too large (max %d bytes)", path,
                     CFG_MAX_FILE_SIZE);
        return -EINVAL;
    }
    return rc ? cannot_open(path, -rc, err, errsz) : 0;
}

int cfg_load_file(const char *path, struct cfg **out, char *err, size_t errsz)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;

    if (err && errsz)
        err[0] = '\0';
    if (!path || !out) {
        if (err && errsz)
            snprintf(err, errsz, "cfg_load_file: invalid argument");
        return -EINVAL;
    }
    rc = read_file(path, &buf, &len, err, errsz);
    if (rc)
        return rc;
    rc = cfg_load_buffer(path, buf, len, out, err, errsz);
    free(buf);
    return rc;
}

static void free_service(struct cfg_service *s)
{
    for (size_t i = 0; i < s->n_outbound_proxies; i++) {
        free(s->outbound_proxies[i].uri);
        free(s->outbound_proxies[i].host);
    }
    free(s->outbound_proxies);
    for (size_t i = 0; i < s->n_credentials; i++) {
        free(s->credentials[i].aor);
        free(s->credentials[i].username);
        free(s->credentials[i].password_file);
        free(s->credentials[i].realm);
    }
    free(s->credentials);
    free(s->intercept);
    free(s->name);
    free(s->domain);
    free(s->tls.ca_file);
    free(s->tls.server_name);
    free(s->tls.cert_file);
    free(s->tls.key_file);
    free(s->tls.cert_file_at);
    free(s->tls.key_file_at);
}

void cfg_free(struct cfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_listen; i++)
        free(cfg->listen[i].text);
    free(cfg->listen);
    free(cfg->state_dir);
    free(cfg->control_socket);
    free(cfg->user);
    free(cfg->ua.allow);
    for (size_t i = 0; i < cfg->n_services; i++)
        free_service(&cfg->services[i]);
    free(cfg->services);
    for (size_t i = 0; i < cfg->transparent.n_interfaces; i++)
        free(cfg->transparent.interfaces[i]);
    free(cfg->transparent.interfaces);
    free(cfg->metrics.listen.text);
    free(cfg);
}

const struct cfg_service *cfg_service_for_domain(const struct cfg *cfg,
                                                 struct slice domain)
{
    if (!cfg || !domain.p)
        return NULL;
    for (size_t i = 0; i < cfg->n_services; i++) {
        if (slice_eq_ci_str(domain, cfg->services[i].domain))
            return &cfg->services[i];
    }
    return NULL;
}

const struct cfg_service *cfg_service_named(const struct cfg *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_services; i++) {
        if (strcmp(cfg->services[i].name, name) == 0)
            return &cfg->services[i];
    }
    return NULL;
}

/* The first prefix bits of a and net are equal. */
static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    uint8_t mask = (uint8_t)(0xff00u >> rest);

    if (memcmp(a, net, full) != 0)
        return false;
    return rest == 0 || (a[full] & mask) == net[full];
}

static bool in_allow(const struct cfg *cfg, int family, const uint8_t *a)
{
    for (size_t i = 0; i < cfg->ua.n_allow; i++) {
        const struct cfg_cidr *n = &cfg->ua.allow[i];

        if (n->family == family && prefix_match(a, n->addr, n->prefix))
            return true;
    }
    return false;
}

bool cfg_ua_allowed(const struct cfg *cfg, const struct sockaddr *sa)
{
    if (!cfg || !sa)
        return false;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;

        memcpy(&sin, sa, sizeof(sin));
        return in_allow(cfg, AF_INET, (const uint8_t *)&sin.sin_addr);
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        const uint8_t *b;

        memcpy(&sin6, sa, sizeof(sin6));
        b = sin6.sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr) && in_allow(cfg, AF_INET, b + 12))
            return true;
        return in_allow(cfg, AF_INET6, b);
    }
    return false;
}

const char *cfg_transport_name(enum cfg_transport t)
{
    switch (t) {
    case CFG_TRANSPORT_UDP:
        return "udp";
    case CFG_TRANSPORT_TCP:
        return "tcp";
    case CFG_TRANSPORT_TLS:
        return "tls";
    }
    return "?";
}

size_t cfg_service_nflows(const struct cfg_service *svc)
{
    return svc->flows ? svc->flows : svc->n_outbound_proxies;
}

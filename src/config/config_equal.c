/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config_equal.c - comparing services of two configs (SIGHUP reload: an
 * unchanged service keeps its bindings and flows); see config.h. */
#include <string.h>

#include "config/config.h"

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool proxy_eq(const struct cfg_proxy *a, const struct cfg_proxy *b)
{
    return str_eq(a->uri, b->uri) && a->sips == b->sips && str_eq(a->host, b->host) &&
           a->host_family == b->host_family && a->port == b->port &&
           a->port_explicit == b->port_explicit && a->transport == b->transport;
}

static bool cred_eq(const struct cfg_credential *a, const struct cfg_credential *b)
{
    return str_eq(a->aor, b->aor) && str_eq(a->username, b->username) &&
           str_eq(a->password_file, b->password_file) && str_eq(a->realm, b->realm);
}

static bool intercept_eq(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
           a->sin_addr.s_addr == b->sin_addr.s_addr;
}

bool cfg_service_equal(const struct cfg_service *a, const struct cfg_service *b)
{
    if (!str_eq(a->name, b->name) || !str_eq(a->domain, b->domain) ||
        a->n_outbound_proxies != b->n_outbound_proxies || a->flows != b->flows ||
        !str_eq(a->tls.ca_file, b->tls.ca_file) ||
        a->tls.verify != b->tls.verify || !str_eq(a->tls.server_name, b->tls.server_name) ||
        !str_eq(a->tls.cert_file, b->tls.cert_file) || !str_eq(a->tls.key_file, b->tls.key_file) ||
        a->tls.min_version != b->tls.min_version || a->keepalive.interval != b->keepalive.interval ||
        a->keepalive.pong_timeout != b->keepalive.pong_timeout ||
        a->keepalive.udp != b->keepalive.udp ||
        a->keepalive.udp != b->keepalive.udp ||
        a->recovery.base_time_all_failed != b->recovery.base_time_all_failed ||
        a->recovery.base_time_not_failed != b->recovery.base_time_not_failed ||
        a->recovery.max_time != b->recovery.max_time ||
        a->recovery.connect_rate != b->recovery.connect_rate ||
        a->recovery.connect_burst != b->recovery.connect_burst ||
        a->n_credentials != b->n_credentials || a->outbound_fallback != b->outbound_fallback ||
        a->n_intercept != b->n_intercept)
        return false;
    for (size_t i = 0; i < a->n_outbound_proxies; i++) {
        if (!proxy_eq(&a->outbound_proxies[i], &b->outbound_proxies[i]))
            return false;
    }
    for (size_t i = 0; i < a->n_credentials; i++) {
        if (!cred_eq(&a->credentials[i], &b->credentials[i]))
            return false;
    }
    for (size_t i = 0; i < a->n_intercept; i++) {
        if (!intercept_eq(&a->intercept[i], &b->intercept[i]))
            return false;
    }
    return true;
}

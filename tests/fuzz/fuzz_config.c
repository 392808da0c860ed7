/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target for the configuration loader: any bytes must give either a
 * cfg (which is then exercised and freed) or -EINVAL/-ENOMEM with a
 * "NAME:..." message, never a crash or a leak. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches what a caller would, so ASan sees every pointer used. */
static void exercise(const struct cfg *cfg)
{
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
    size_t total = 0;

    for (size_t i = 0; i < cfg->n_services; i++) {
        const struct cfg_service *s = &cfg->services[i];

        if (cfg_service_for_domain(cfg, slice_cstr(s->domain)) != s)
            abort(); /* domains are unique */
        for (size_t j = 0; j < s->n_outbound_proxies; j++)
            total += strlen(s->outbound_proxies[j].uri) + strlen(s->outbound_proxies[j].host);
        total += strlen(s->name) + strlen(s->tls.ca_file);
    }
    for (size_t i = 0; i < cfg->n_listen; i++)
        total += strlen(cfg->listen[i].text);
    (void)cfg_ua_allowed(cfg, (const struct sockaddr *)&sin6);
    if (total == 0 || cfg->n_services == 0 || cfg->ua.n_allow == 0 || cfg->n_listen == 0)
        abort(); /* required non-empty lists */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg *cfg = NULL;
    char err[256];
    int rc = cfg_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, err, sizeof(err));

    if (rc == 0) {
        exercise(cfg);
        cfg_free(cfg);
    } else if ((rc != -EINVAL && rc != -ENOMEM) || cfg != NULL ||
               strncmp(err, "fuzz.yaml:", 10) != 0) {
        abort();
    }
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target for proxy/rroute.c on what a phone or the far side sends:
 * the input is a SIP message; if it parses, sipkeep's Route values are
 * popped (RFC 3261 §16.4) and the result must serialise and parse again
 * with no more Route values than before; a token found is verified (it
 * must never verify: the key is secret); the Request-URI is checked as a
 * name of sipkeep and as a target for the phone.  Never a crash, an
 * overread or a leak. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "config/config.h"
#include "proxy/rroute.h"
#include "sip/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static const struct cfg *fuzz_cfg(void)
{
    static struct cfg *cfg;
    static const char yaml[] =
        "listen:\n  - \"udp:192.168.1.1:5060\"\n  - \"udp:[fd00::1]:5070\"\n"
        "state_dir: /tmp/fuzz_rroute\n"
        "ua:\n  allow:\n    - \"192.168.1.0/24\"\n"
        "services:\n  - name: svc\n    domain: example.net\n"
        "    outbound_proxies:\n      - \"sip:127.0.0.1:5060;transport=tcp\"\n";
    char err[256];

    if (!cfg)
        CHECK(cfg_load_buffer("f.yaml", yaml, sizeof(yaml) - 1, &cfg, err, sizeof(err)) == 0);
    return cfg;
}

static unsigned count_routes(const struct sipmsg *m)
{
    struct sipmsg_valit it;
    struct slice v;
    unsigned n = 0;

    sipmsg_valit_init(&it, m, SIPMSG_HDR_ROUTE);
    while (sipmsg_valit_next(&it, &v, NULL))
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct cfg *cfg = fuzz_cfg();
    struct sipmsg *m = malloc(sizeof(*m)), *m2 = malloc(sizeof(*m2));
    char *out = malloc(size + 64);
    struct sipmsg_edits ed;
    struct rroute_popped p;
    struct sockaddr_storage local;
    union sockaddr_ip src, dst;
    struct sockaddr_in *sin = (struct sockaddr_in *)&local;
    unsigned reg_id = 0, before;
    size_t n;

    CHECK(m && m2 && out);
    memset(&local, 0, sizeof(local));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(5060);
    sin->sin_addr.s_addr = htonl(0xc0a80101); /* 192.168.1.1 */
    addr_ip_set(&src, (const struct sockaddr *)&local);
    src.in.sin_addr.s_addr = htonl(0xc0a80114);
    if (sipmsg_parse(m, (const char *)data, size, 0) == 0 && m->is_request) {
        before = count_routes(m);
        sipmsg_edits_init(&ed, m, 0);
        if (rroute_pop(&ed, m, cfg, (const struct sockaddr *)&local, &p) == 0) {
            CHECK(p.removed <= before);
            CHECK(p.left == (p.removed < before));
            /* removing can only shorten the message */
            CHECK(sipmsg_serialize(m, &ed, out, size + 64, &n) == 0);
            CHECK(sipmsg_parse(m2, out, n, 0) == 0);
            CHECK(count_routes(m2) == before - p.removed);
            if (slice_present(p.token))
                CHECK(rroute_verify("urn:uuid:fuzz", p.token, (const struct sockaddr *)&src,
                                    &reg_id) < 0);
        }
        (void)rroute_wants_rr(m);
        (void)rroute_uri_names_us(cfg, (const struct sockaddr *)&local, true, m->ruri);
        /* the message also plays the phone's REGISTER (its Via: NAT check) */
        if (rroute_ua_target(cfg, &src, m->ruri, (struct slice){ (const char *)data, size }, &dst))
            CHECK(dst.sa.sa_family == AF_INET);
        else
            CHECK(memcmp(&dst, &src, sizeof(src)) == 0);
    }
    free(out);
    free(m2);
    free(m);
    return 0;
}

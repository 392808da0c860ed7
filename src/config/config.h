/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.h - sipkeep.yaml -> an immutable struct cfg.
 *
 *   char err[256];
 *   struct cfg *cfg;
 *   int rc = cfg_load_file("/etc/sipkeep/sipkeep.yaml", &cfg, err, sizeof(err));
 *   if (rc) { fprintf(stderr, "%s\n", err); exit(1); }
 *   ...
 *   cfg_free(cfg);
 *
 * The whole file is read, checked against the schema and turned into plain
 * structs in one go; the first problem stops the load and is reported as
 * "FILE:LINE:COL: message" (1-based, pointing at the offending key or value;
 * for a missing key, at the mapping that should hold it).  Nothing partial
 * is ever returned, so a reload can parse into a new cfg and keep the old
 * one when that fails.
 *
 * A loaded cfg is never modified: pass it around as `const struct cfg *`.
 * Every string and array in it is owned by it and freed by cfg_free().
 * The keys, their types and defaults are listed in config/sipkeep.yaml.
 */
#ifndef SIPKEEP_CONFIG_CONFIG_H
#define SIPKEEP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/slice.h"

/* Schema limits (each key's own range is in config/sipkeep.yaml). */
#define CFG_MAX_OUTBOUND_PROXIES 8 /* flows per service: reg-id 1..8 */
#define CFG_MAX_SERVICES 64
#define CFG_MAX_CREDENTIALS 1024 /* credentials: entries per service */
#define CFG_MAX_LISTEN 16
#define CFG_MAX_ALLOW 256
#define CFG_SERVICE_NAME_MAX 32
#define CFG_MAX_FILE_SIZE (1024 * 1024) /* cfg_load_file refuses larger files */
#define CFG_KEEPALIVE_AUTO 0u           /* keepalive.interval: "auto" */
#define CFG_DEFAULT_CONTROL_SOCKET "/run/sipkeep/sipkeep.sock"
#define CFG_USER_MAX 32                 /* user: longest name (useradd's limit) */

enum cfg_mode { CFG_MODE_PROXY, CFG_MODE_TRANSPARENT };
enum cfg_transport { CFG_TRANSPORT_UDP, CFG_TRANSPORT_TCP, CFG_TRANSPORT_TLS };

/* A LAN socket legacy UAs send SIP to ("udp:ADDR:PORT"). */
struct cfg_listen {
    enum cfg_transport transport; /* always UDP for now */
    struct sockaddr_storage addr; /* sockaddr_in or sockaddr_in6, port set */
    socklen_t addrlen;
    char *text;                   /* as written in the file */
};

/* A source network allowed to use sipkeep. */
struct cfg_cidr {
    int family;         /* AF_INET or AF_INET6 */
    uint8_t addr[16];   /* network order; first 4 bytes for AF_INET */
    unsigned prefix;    /* 0..32 or 0..128; host bits of addr are zero */
};

/* An edge proxy of a service: one RFC 5626 flow each. */
struct cfg_proxy {
    char *uri;                    /* as written, e.g. "sip:edge1.example.net;lr" */
    bool sips;                    /* scheme was sips: */
    char *host;                   /* name or address, IPv6 without brackets */
    int host_family;              /* 0 for a name, AF_INET or AF_INET6 for a literal */
    uint16_t port;                /* as written, else 5061 for TLS, 5060 otherwise */
    bool port_explicit;           /* false: RFC 3263 SRV lookup may apply */
    enum cfg_transport transport; /* transport= param; sips => TLS; default UDP */
    const char *tls_name;         /* TLS: the name the certificate is verified
                                     against and sent as SNI: the service's
                                     tls.server_name, else host as configured
                                     (RFC 5922 §4), never a resolved target.
                                     Points into the cfg (not owned). */
};

/* tls.min_version */
enum cfg_tls_version { CFG_TLS_1_2, CFG_TLS_1_3 };

struct cfg_tls {
    char *ca_file;     /* absolute path of the CA bundle */
    bool verify;       /* verify the edge proxy's certificate */
    char *server_name; /* verify against / send as SNI instead of the URI's
                          host; NULL: the host of each outbound proxy URI */
    char *cert_file;   /* client certificate chain (PEM), NULL: none */
    char *key_file;    /* its private key (PEM), NULL: none; read at start
                          (before the privilege drop), never logged */
    enum cfg_tls_version min_version;
    char *cert_file_at; /* "FILE:LINE:COL" of the cert_file/key_file values,
                           for errors found when the files are read; */
    char *key_file_at;  /* NULL when the key is not given */
};

/* keepalive.udp: how a UDP flow keeps its NAT binding open. */
enum cfg_udp_keepalive {
    CFG_UDP_KA_AUTO, /* STUN when the first hop says it supports it, else SIP */
    CFG_UDP_KA_STUN, /* always STUN (an explicit indication, RFC 5626 §4.4) */
    CFG_UDP_KA_SIP,  /* never STUN: OPTIONS to the outbound proxy */
};

/* Compared by cfg_service_equal (config_equal.c): keep it in step. */
struct cfg_keepalive {
    unsigned interval;     /* seconds between keep-alives without a Flow-Timer,
                              CFG_KEEPALIVE_AUTO = auto */
    unsigned pong_timeout; /* seconds to wait for a pong (RFC 5626 §4.4.1) */
    enum cfg_udp_keepalive udp; /* UDP flows: STUN or SIP keep-alives */
};

/* RFC 5626 §4.5 flow recovery back-off, seconds (defaults: the RFC's). */
struct cfg_recovery {
    unsigned base_time_all_failed; /* base while no flow of the binding works */
    unsigned base_time_not_failed; /* base while another flow works */
    unsigned max_time;             /* upper bound of the wait */
    bool watch_wan;                /* check the flows at once on an address or
                                      route change (outbound/wanwatch.h) */
    /* Pacing of retries per edge address (outbound/pacer.h), 0: none.  The
     * default 200/s re-forms 10,000 flows in 50 s ("within about a
     * minute", issue 14) and keeps an edge at 200 new TLS handshakes/s,
     * a fraction of one core (a full server handshake costs ~0.5-1 ms of
     * CPU), leaving room for its other clients; a burst of 20 (100 ms of
     * the rate) lets a lone failure, or a handful, reconnect at once. */
    unsigned connect_rate;         /* new connections per second per edge */
    unsigned connect_burst;        /* of which this many at once */
};

/* Credentials sipkeep answers a registrar's challenge with when it
 * re-registers on its own (flow recovery), for one AOR of a service.  The
 * password stays in password_file (read at each use, so it never sits in
 * the parsed config, can be rotated without a reload, and must be
 * readable by the account sipkeep runs as). */
struct cfg_credential {
    char *aor;           /* "sip:user@domain" as the UA's To header has it */
    char *username;      /* digest username */
    char *password_file; /* absolute path; its first line is the password */
    char *realm;         /* only challenges of this realm; NULL: any */
};

/* Keep cfg_service_equal (config_equal.c) in step with the fields. */
struct cfg_service {
    char *name;   /* [A-Za-z0-9_-]{1,32}, unique */
    char *domain; /* unique (case-insensitively) */
    struct cfg_proxy *outbound_proxies; /* flow i (reg-id i+1) goes through
                                           entry i mod n_outbound_proxies */
    size_t n_outbound_proxies;          /* 1..CFG_MAX_OUTBOUND_PROXIES */
    unsigned flows;                     /* 1..CFG_MAX_OUTBOUND_PROXIES; 0 (not
                                           given): one per outbound proxy */
    struct cfg_tls tls;
    struct cfg_keepalive keepalive;
    struct cfg_recovery recovery;
    struct cfg_credential *credentials; /* 0..CFG_MAX_CREDENTIALS */
    size_t n_credentials;
    bool outbound_fallback; /* on 439, register that flow without reg-id
                               (RFC 5626 §11.6) instead of failing it */
    struct sockaddr_in *intercept; /* transparent mode: extra IPv4 address:port
                                      the phones send this service's SIP to */
    size_t n_intercept;
};

/* How many flows (reg-ids 1..N) a binding of svc has: services[].flows,
 * or one per outbound_proxies entry. */
size_t cfg_service_nflows(const struct cfg_service *svc);

#define CFG_IFACE_MAX 15 /* transparent.interfaces: IFNAMSIZ - 1 */

/* mode: transparent (see src/intercept/firewall.h). */
struct cfg_transparent {
    unsigned queue;        /* NFQUEUE number, 0..65535 */
    char **interfaces;     /* LAN interfaces; none: every interface */
    size_t n_interfaces;
    bool manage_firewall;  /* install the iptables rules at start, remove at exit */
    bool output;           /* also intercept locally generated traffic (OUTPUT) */
    unsigned mark;         /* SO_MARK of sipkeep's own packets, non-zero */
};

struct cfg_log {
    enum log_level level;
    enum log_target target;
};

struct cfg_ua {
    struct cfg_cidr *allow;    /* never empty: sipkeep is not an open relay */
    size_t n_allow;
    unsigned register_expires; /* seconds, the most sipkeep grants a legacy UA */
};

/* metrics: the metrics page over HTTP (ctl/httpmetrics.h). */
struct cfg_metrics {
    struct cfg_listen listen; /* "ADDR:PORT", never an unspecified address;
                                 listen.text NULL: off (the default) */
};

struct cfg {
    enum cfg_mode mode;
    struct cfg_listen *listen; /* 1..CFG_MAX_LISTEN entries */
    size_t n_listen;
    char *state_dir;           /* absolute path */
    struct cfg_log log;
    struct cfg_ua ua;
    struct cfg_service *services; /* 1..CFG_MAX_SERVICES entries */
    size_t n_services;
    char *control_socket;      /* absolute path of the status/metrics socket
                                  (fits a sockaddr_un) */
    char *user;                /* account to run as when started as root
                                  ([A-Za-z0-9._-], 1..CFG_USER_MAX, not
                                  starting with '-'); "root" keeps root */
    struct cfg_transparent transparent;
    struct cfg_metrics metrics;
};

/* Parses and validates the YAML in data[0..len) (need not be NUL-terminated);
 * name is used in error messages only (NULL gives "<config>").
 * On success returns 0 and sets *out to a new cfg (free with cfg_free()).
 * On failure *out is untouched, nothing is leaked, and, when errsz > 0, err
 * holds one NUL-terminated line "NAME:LINE:COL: message" (truncated to errsz).
 * Returns -EINVAL for any problem in the configuration (or a NULL out / data
 * with len > 0), -ENOMEM when out of memory. */
int cfg_load_buffer(const char *name, const char *data, size_t len,
                    struct cfg **out, char *err, size_t errsz);

/* Reads the file at path (at most CFG_MAX_FILE_SIZE bytes) and loads it as
 * cfg_load_buffer() does, with path as the name in messages.
 * When the file cannot be read returns -errno (e.g. -ENOENT, -EACCES,
 * -EISDIR) with err "PATH: cannot open: <strerror>"; a file that is too
 * large gives -EINVAL.  Other results as for cfg_load_buffer(). */
int cfg_load_file(const char *path, struct cfg **out, char *err, size_t errsz);

/* Frees cfg and everything it owns.  NULL is a no-op. */
void cfg_free(struct cfg *cfg);

/* The service whose domain equals domain, ASCII case-insensitively, or NULL.
 * The result points into cfg. */
const struct cfg_service *cfg_service_for_domain(const struct cfg *cfg,
                                                 struct slice domain);
/* The service called name (exact, as the config spells it), or NULL.  The
 * result points into cfg. */
const struct cfg_service *cfg_service_named(const struct cfg *cfg, const char *name);

/* True when the source address sa (AF_INET or AF_INET6, port ignored) lies in
 * one of ua.allow.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches the
 * IPv4 networks as a.b.c.d (and IPv6 networks as itself).  Any other family,
 * or NULL, is not allowed. */
bool cfg_ua_allowed(const struct cfg *cfg, const struct sockaddr *sa);

/* Whether two services (of two loaded configs) are the same in every key
 * (config_equal.c; a new cfg_service field must be compared there too):
 * a SIGHUP reload keeps the bindings and flows of such a service. */
bool cfg_service_equal(const struct cfg_service *a, const struct cfg_service *b);

/* "udp", "tcp" or "tls" (for logs and status); "?" for a bad value. */
const char *cfg_transport_name(enum cfg_transport t);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* firewall_run.c - executes firewall.h's rule text with iptables. */
#include "intercept/firewall.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/privdrop.h"

#define FIREWALL_MAX_ARGS 32
#define FIREWALL_TEXT 8192
#define FIREWALL_HELPER_CAPS (PRIVDROP_CAP_NET_ADMIN | PRIVDROP_CAP_NET_RAW)
#define FIREWALL_STATUS_NO_CAPS 126 /* the child could not get FIREWALL_HELPER_CAPS */

/* Runs one space-separated command line (no shell); its stdout goes to
 * out_fd when >= 0, else to /dev/null.  Returns the exit status, or -errno. */
static int run_line(const char *line, int out_fd)
{
    char copy[512], *argv[FIREWALL_MAX_ARGS + 1], *save = NULL;
    size_t argc = 0;
    int st;
    pid_t pid;

    if (snprintf(copy, sizeof(copy), "%s", line) >= (int)sizeof(copy))
        return -E2BIG;
    for (char *t = strtok_r(copy, " \n", &save); t && argc < FIREWALL_MAX_ARGS;
         t = strtok_r(NULL, " \n", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    if (argc == 0)
        return 0;
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY | O_CLOEXEC);

        dup2(out_fd >= 0 ? out_fd : dn, 1);
        dup2(dn, 2);
        /* After the drop to `user:` iptables would run without
         * CAP_NET_ADMIN and could not remove the rules at exit: hand it
         * the daemon's own two capabilities (nothing more) as ambient. */
        if (privdrop_pass_caps(FIREWALL_HELPER_CAPS) < 0)
            _exit(FIREWALL_STATUS_NO_CAPS);
        execvp(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Runs each line of text; stops at the first failure (logged). */
static int run_text(const char *text)
{
    char line[512];

    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        int rc;

        if (n >= sizeof(line))
            return -E2BIG;
        memcpy(line, p, n);
        line[n] = '\0';
        rc = run_line(line, -1);
        if (rc != 0) {
            log_error("firewall_failed", "cmd=\"%s\" status=%d", line, rc);
            return rc < 0 ? rc : -EIO;
        }
        p += n + (p[n] == '\n');
    }
    return 0;
}

/* `iptables -S chain` output into buf (NUL-terminated).  Returns the
 * iptables exit status or -errno. */
static int list_chain(const char *table, const char *chain, char *buf, size_t sz)
{
    char cmd[128];
    FILE *tmp = tmpfile();
    size_t n;
    int rc;

    if (!tmp)
        return -errno;
    snprintf(cmd, sizeof(cmd), "iptables -w -t %s -S %s", table, chain);
    rc = run_line(cmd, fileno(tmp));
    rewind(tmp);
    n = fread(buf, 1, sz - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return rc;
}

static int delete_jumps(const char *table, const char *chain)
{
    char *text = malloc(FIREWALL_TEXT), del[512];
    int rc = -ENOMEM;

    if (text)
        rc = list_chain(table, chain, text, FIREWALL_TEXT);
    for (char *save = NULL, *l = rc == 0 ? strtok_r(text, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        int n = firewall_jump_delete_in(table, l, del, sizeof(del));
        if (n > 0 && (rc = run_text(del)) != 0)
            break;
    }
    free(text);
    return rc > 0 ? -EIO : rc;
}

/* Flushes and deletes FIREWALL_CHAIN of table if it exists (-S on it succeeds). */
static int delete_chain(const char *table, char *scratch)
{
    char text[256];

    if (list_chain(table, FIREWALL_CHAIN, scratch, FIREWALL_TEXT) != 0 ||
        firewall_chain_cleanup_text_in(table, text, sizeof(text)) <= 0)
        return 0;
    return run_text(text);
}

int firewall_cleanup(void)
{
    char *scratch = malloc(FIREWALL_TEXT);
    int rc = scratch ? 0 : -ENOMEM;

    if (rc == 0)
        rc = delete_jumps(FIREWALL_TABLE, "PREROUTING");
    if (rc == 0)
        rc = delete_jumps(FIREWALL_TABLE, "OUTPUT");
    if (rc == 0)
        rc = delete_jumps(FIREWALL_TABLE_RAW, "OUTPUT");
    if (rc == 0)
        rc = delete_chain(FIREWALL_TABLE, scratch);
    if (rc == 0)
        rc = delete_chain(FIREWALL_TABLE_RAW, scratch);
    free(scratch);
    return rc;
}

int firewall_install(const struct firewall_spec *s)
{
    char *text = malloc(FIREWALL_TEXT);
    int rc = text ? firewall_install_text(s, text, FIREWALL_TEXT) : -ENOMEM;

    if (rc >= 0)
        rc = firewall_cleanup();
    if (rc == 0) {
        rc = run_text(text);
        if (rc != 0)
            (void)firewall_cleanup();
    }
    free(text);
    return rc > 0 ? -EIO : rc;
}

int firewall_probe(void)
{
    char *text = malloc(FIREWALL_TEXT);
    int rc = text ? list_chain(FIREWALL_TABLE, FIREWALL_CHAIN, text, FIREWALL_TEXT) : -ENOMEM;

    free(text);
    return rc > 0 ? -EIO : rc;
}

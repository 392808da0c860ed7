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

#define FW_MAX_ARGS 32
#define FW_TEXT 8192
#define FW_HELPER_CAPS (PRIVDROP_CAP_NET_ADMIN | PRIVDROP_CAP_NET_RAW)
#define FW_STATUS_NO_CAPS 126 /* the child could not get FW_HELPER_CAPS */

/* Runs one space-separated command line (no shell); its stdout goes to
 * out_fd when >= 0, else to /dev/null.  Returns the exit status, or -errno. */
static int run_line(const char *line, int out_fd)
{
    char copy[512], *argv[FW_MAX_ARGS + 1], *save = NULL;
    size_t argc = 0;
    int st;
    pid_t pid;

    if (snprintf(copy, sizeof(copy), "%s", line) >= (int)sizeof(copy))
        return -E2BIG;
    for (char *t = strtok_r(copy, " \n", &save); t && argc < FW_MAX_ARGS;
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
        if (privdrop_pass_caps(FW_HELPER_CAPS) < 0)
            _exit(FW_STATUS_NO_CAPS);
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
    char *text = malloc(FW_TEXT), del[512];
    int rc = -ENOMEM;

    if (text)
        rc = list_chain(table, chain, text, FW_TEXT);
    for (char *save = NULL, *l = rc == 0 ? strtok_r(text, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        int n = fw_jump_delete_in(table, l, del, sizeof(del));
        if (n > 0 && (rc = run_text(del)) != 0)
            break;
    }
    free(text);
    return rc > 0 ? -EIO : rc;
}

/* Flushes and deletes FW_CHAIN of table if it exists (-S on it succeeds). */
static int delete_chain(const char *table, char *scratch)
{
    char text[256];

    if (list_chain(table, FW_CHAIN, scratch, FW_TEXT) != 0 ||
        fw_chain_cleanup_text_in(table, text, sizeof(text)) <= 0)
        return 0;
    return run_text(text);
}

int fw_cleanup(void)
{
    char *scratch = malloc(FW_TEXT);
    int rc = scratch ? 0 : -ENOMEM;

    if (rc == 0)
        rc = delete_jumps(FW_TABLE, "PREROUTING");
    if (rc == 0)
        rc = delete_jumps(FW_TABLE, "OUTPUT");
    if (rc == 0)
        rc = delete_jumps(FW_TABLE_RAW, "OUTPUT");
    if (rc == 0)
        rc = delete_chain(FW_TABLE, scratch);
    if (rc == 0)
        rc = delete_chain(FW_TABLE_RAW, scratch);
    free(scratch);
    return rc;
}

int fw_install(const struct fw_spec *s)
{
    char *text = malloc(FW_TEXT);
    int rc = text ? fw_install_text(s, text, FW_TEXT) : -ENOMEM;

    if (rc >= 0)
        rc = fw_cleanup();
    if (rc == 0) {
        rc = run_text(text);
        if (rc != 0)
            (void)fw_cleanup();
    }
    free(text);
    return rc > 0 ? -EIO : rc;
}

int fw_probe(void)
{
    char *text = malloc(FW_TEXT);
    int rc = text ? list_chain(FW_TABLE, FW_CHAIN, text, FW_TEXT) : -ENOMEM;

    free(text);
    return rc > 0 ? -EIO : rc;
}

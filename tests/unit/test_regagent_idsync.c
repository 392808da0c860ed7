/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the group commit of new instance-ids (issue 14 item 1):
 * the new phones of one loop iteration are appended to instance-ids and
 * synced with one fdatasync, on the instid worker thread, and only then do
 * their REGISTERs go upstream; phones arriving while a batch is on the
 * disk form the next batch and wait for it.
 *
 * fdatasync and fsync are fake_sync.h's: counted, made to fail on demand,
 * and held at a gate where the test looks at the world at the moment of
 * the sync (the crash point: nothing may have gone upstream yet) or sends
 * more phones while a batch is in flight.  The edge is fake_edge.h's, the
 * clock fake: the batch starts from a 0 ms timer, so in the first loop
 * iteration, with no time passing; its end reaches the loop through the
 * store's descriptor.
 *
 * A new phone's flows connect while its batch is on the disk (the sync
 * hides behind the connect and TLS handshake, or the other way round), but
 * not a byte goes on them before the batch is done. */
#include <ctype.h>
#include <poll.h>
#include <stdint.h>

#include "edge_fixture.h"
#include "fake_sync.h"

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "outbound/binding.h"
#include "outbound/flow.h"
#include "outbound/regagent.h"
#include "sip/msg.h"
#include "state/instid.h"
#include "state/instid_int.h"

/* Bytes the edge received on all its connections. */
static size_t edge_bytes(struct fake_edge *e)
{
    size_t n = 0;

    edge_poll(e);
    for (int i = 0; i < e->nconns; i++)
        n += e->conns[i].n;
    return n;
}

/* Bindings whose first flow is in state st. */
static int flows_in(const struct fx *f, enum flow_state st)
{
    int n = 0;

    for (const struct binding *b = binding_next(f->ra, NULL); b; b = binding_next(f->ra, b))
        n += flow_state(binding_flow(b, 0)) == st;
    return n;
}

static bool cond_registering(void *ctx, const void *arg)
{
    return flows_in(ctx, FLOW_REGISTERING) >= *(const int *)arg;
}

static bool cond_none_pending(void *ctx, const void *arg)
{
    (void)arg;
    return instid_pending(((const struct fx *)ctx)->ids) == 0;
}

/* Pumps the loop until n flows are connected and their on_ready has run
 * (flow.c enters REGISTERING just before it calls on_ready). */
static void wait_connected(struct fx *f, int n)
{
    assert_true(edge_pump(&f->edge, cond_registering, f, &n));
}

/* ---- fixture ---- */

/* The agent, its store pinned to the worker thread: the gate holds a
 * sync there while this thread looks (a fast disk would sync inline). */
static void agent_start(struct fx *f)
{
    fx_agent_start(f, fx_flow_msg_ignore, NULL);
    instid_sync_how(f->ids, INSTID_SYNC_WORKER);
}

static int fx_setup(void **state)
{
    struct fx *f = fx_new("test_regagent_idsync", 1, "192.168.1.10", "192.168.1.1");

    edge_load_cfg(&f->edge, f->dir.state, &f->cfg);
    agent_start(f);
    fake_sync_reset();
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    fake_sync_reset();
    fx_agent_stop(f);
    fx_free(f);
    return 0;
}

/* ---- phones ---- */

/* Phone user's REGISTER (its own AOR, so its own instance-id key). */
static char *mk_register(const char *user, unsigned cseq)
{
    char *out = malloc(4096);
    int n = snprintf(out, 4096,
                     "REGISTER sip:example.net SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK%s%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:%s@example.net>;tag=t%s\r\n"
                     "To: <sip:%s@example.net>\r\n"
                     "Call-ID: call-%s\r\n"
                     "CSeq: %u REGISTER\r\n"
                     "Contact: <sip:%s@192.168.1.10:5060>\r\n"
                     "Expires: 3600\r\n"
                     "\r\n",
                     user, cseq, user, user, user, user, cseq, user);

    assert_non_null(out);
    assert_true(n < 4096);
    return out;
}

static void ua_send(struct fx *f, const char *user, unsigned cseq)
{
    char *text = mk_register(user, cseq);
    struct sipmsg *m = malloc(sizeof(*m));

    assert_non_null(m);
    assert_int_equal(sipmsg_parse(m, text, strlen(text), 0), 0);
    regagent_register(f->ra, &f->cfg->services[0], m, &f->ua);
    free(m);
    free(text);
}

/* The instance-id in an upstream REGISTER's Contact. */
static void instance_of(const char *msg, char out[64])
{
    char contact[2048];
    const char *p, *e;

    hdr_must(msg, "Contact", contact, sizeof(contact));
    p = strstr(contact, "+sip.instance=\"<");
    assert_non_null(p);
    p += strlen("+sip.instance=\"<");
    e = strchr(p, '>');
    assert_non_null(e);
    assert_int_equal(e - p, INSTID_URN_LEN);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

/* The user part of the To of msg ("sip:USER@"). */
static void to_user(const char *msg, char *out, size_t outsz)
{
    char to[512];
    const char *p, *e;

    hdr_must(msg, "To", to, sizeof(to));
    p = strstr(to, "sip:");
    assert_non_null(p);
    p += 4;
    e = strchr(p, '@');
    assert_non_null(e);
    assert_true((size_t)(e - p) < outsz);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

/* instance-ids as it is on disk now (malloc'd, "" when missing). */
static char *ids_file(const struct fx *f)
{
    char path[512], *buf = calloc(1, 65536);
    FILE *fp;

    assert_non_null(buf);
    snprintf(path, sizeof(path), "%s/instance-ids", f->dir.state);
    fp = fopen(path, "r");
    if (fp) {
        size_t n = fread(buf, 1, 65535, fp);
        buf[n] = '\0';
        fclose(fp);
    }
    return buf;
}

/* Index of the line "urn sip:user@example.net|192.168.1.10" in the file
 * (0-based, comments counted), or -1. */
static int line_of(const char *file, const char *urn, const char *user)
{
    char want[256];
    int idx = 0;

    snprintf(want, sizeof(want), "%s sip:%s@example.net|192.168.1.10\n", urn, user);
    for (const char *p = file; *p; idx++) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, want, strlen(want)) == 0)
            return idx;
        if (!nl)
            break;
        p = nl + 1;
    }
    return -1;
}

/* The phone known before each test's batch: instance-ids exists and the
 * next commit is an append (one fdatasync), not a first creation. */
static void known_phone(struct fx *f, char urn[64])
{
    const char *u;

    assert_int_equal(instid_get(f->ids, slice_cstr("sip:zed@example.net|192.168.1.10"), &u,
                                NULL), 0);
    snprintf(urn, 64, "%s", u);
    fake_syncs = 0;
}

/* The next n REGISTERs the edge receives: each one's instance-id is in
 * the file at the moment the edge first sees it. */
static void expect_on_disk_upstream(struct fx *f, int n)
{
    for (int i = 0; i < n; i++) {
        char *up, *file, urn[64], who[32];
        int ci;

        up = edge_wait_msg(&f->edge, &ci);
        instance_of(up, urn);
        to_user(up, who, sizeof(who));
        file = ids_file(f);
        assert_true(line_of(file, urn, who) > 0);
        free(file);
        free(up);
    }
}

/* The edge answers the next REGISTER it receives with a 200. */
static void answer_next_ok(struct fx *f)
{
    int ci;
    char *up = edge_wait_msg(&f->edge, &ci);
    char *ok = mk_response(up, "200 OK", "Require: outbound\r\nExpires: 300\r\n");

    edge_send(&f->edge, ci, ok);
    free(ok);
    free(up);
}

/* The next REGISTER upstream is who's, and its id is on line `line` of
 * the file as the edge sees it; the edge answers it 200.  Returns the
 * connection it came on. */
static int register_answered(struct fx *f, const char *who, int line)
{
    char *up, *file, urn[64], user[32];
    int ci;

    up = edge_wait_msg(&f->edge, &ci);
    instance_of(up, urn);
    to_user(up, user, sizeof(user));
    assert_string_equal(user, who);
    file = ids_file(f);
    assert_int_equal(line_of(file, urn, who), line);
    free(file);
    file = mk_response(up, "200 OK", "Require: outbound\r\nExpires: 300\r\n");
    edge_send(&f->edge, ci, file);
    free(file);
    free(up);
    return ci;
}

static int count_status(const struct ua_sink *s, const char *status_line)
{
    int n = 0;

    for (int i = 0; i < s->n; i++)
        n += strncmp(s->msg[i], status_line, strlen(status_line)) == 0;
    return n;
}

/* ---- tests ---- */

static const char *const users[] = { "alice", "bob", "carol", "dave", "erin" };
#define NUSERS 5

/* Five new phones in one loop iteration: no write while they wait, then
 * ONE fdatasync for all five, during which their flows connect and send
 * nothing; their lines in arrival order, and only then their REGISTERs
 * upstream, in that order, each carrying the id its line holds; each phone
 * gets its 200. */
static void test_batch_one_sync_in_order(void **state)
{
    struct fx *f = *state;
    char zed[64], *before, *file;
    int line[NUSERS];

    known_phone(f, zed);
    before = ids_file(f);
    for (int i = 0; i < NUSERS; i++)
        ua_send(f, users[i], 1);
    /* held: minted, not written, nothing upstream */
    assert_int_equal(instid_pending(f->ids), NUSERS);
    assert_int_equal(fake_syncs, 0);
    file = ids_file(f);
    assert_string_equal(file, before);
    free(file);
    assert_int_equal(edge_bytes(&f->edge), 0);
    assert_int_equal(f->to_ua.n, 0);

    fake_sync_gate_arm();
    assert_int_equal(loop_run_once(f->loop, 0), 0); /* the batch starts */
    fake_sync_gate_wait();
    /* at the sync: every phone's flow connects, and not a byte goes */
    wait_connected(f, NUSERS);
    assert_int_equal(f->edge.nconns, NUSERS);
    edge_settle(&f->edge);
    assert_int_equal(edge_bytes(&f->edge), 0);
    assert_int_equal(fake_syncs, 1);
    fake_sync_gate_open();
    assert_true(edge_pump(&f->edge, cond_none_pending, f, NULL));
    assert_int_equal(instid_pending(f->ids), 0);
    assert_int_equal(instid_count(f->ids), NUSERS + 1);

    file = ids_file(f);
    for (int i = 0; i < NUSERS; i++) {
        char *up, urn[64], who[32];
        int ci;

        up = edge_wait_msg(&f->edge, &ci);
        instance_of(up, urn);
        to_user(up, who, sizeof(who));
        /* connections were opened in arrival order */
        assert_string_equal(who, users[ci]);
        line[ci] = line_of(file, urn, who);
        assert_true(line[ci] > 0);
        char *ok = mk_response(up, "200 OK", "Require: outbound\r\nExpires: 300\r\n");
        edge_send(&f->edge, ci, ok);
        free(ok);
        free(up);
    }
    /* lines appended in arrival order, right after the known phone's */
    assert_int_equal(line_of(file, zed, "zed"), 1);
    for (int i = 0; i < NUSERS; i++)
        assert_int_equal(line[i], 2 + i);
    free(file);
    free(before);
    ua_wait(&f->edge, &f->to_ua, NUSERS);
    assert_int_equal(count_status(&f->to_ua, "SIP/2.0 200 OK"), NUSERS);
    assert_int_equal(fake_syncs, 1);
}

/* The crash point: the process dies with ids pending (before the sync).
 * Nothing went upstream and the file holds none of them; after the
 * restart the phones register as new ones, each id on disk by the time
 * the edge sees its REGISTER. */
static void test_crash_before_sync(void **state)
{
    struct fx *f = *state;
    char zed[64], *before, *file;

    known_phone(f, zed);
    before = ids_file(f);
    ua_send(f, "alice", 1);
    ua_send(f, "bob", 1);
    assert_int_equal(instid_pending(f->ids), 2);
    /* "crash": the agent and the store go without another loop turn */
    fx_agent_stop(f);
    assert_int_equal(edge_bytes(&f->edge), 0);
    file = ids_file(f);
    assert_string_equal(file, before);
    free(file);
    assert_int_equal(fake_syncs, 0);

    agent_start(f);
    assert_int_equal(instid_count(f->ids), 1);
    ua_send(f, "alice", 2);
    ua_send(f, "bob", 2);
    expect_on_disk_upstream(f, 2);
    assert_int_equal(fake_syncs, 1);
    free(before);
}

/* The batch's sync fails: both of its phones get the 500 a failed write
 * always gave, their ids are forgotten and nothing of them goes upstream
 * or to disk; the phone registered before keeps its flow and refreshes
 * over it, and the next new phone (and a retry of a failed one) register
 * with the next, good, sync. */
static void test_sync_error_fails_batch_only(void **state)
{
    struct fx *f = *state;
    char zed[64], *before, *file, *up, who[32];
    int ci, nua;

    known_phone(f, zed);
    /* alice, registered first */
    ua_send(f, "alice", 1);
    answer_next_ok(f);
    ua_wait(&f->edge, &f->to_ua, 1);
    assert_int_equal(fake_syncs, 1);
    before = ids_file(f);

    fake_sync_fail = 1;
    ua_send(f, "bob", 1);
    ua_send(f, "carol", 1);
    nua = f->to_ua.n;
    ua_wait(&f->edge, &f->to_ua, nua + 2);
    assert_int_equal(count_status(&f->to_ua, "SIP/2.0 500 "), 2);
    assert_int_equal(fake_syncs, 3); /* the failed one, and the one after cutting back */
    assert_int_equal(instid_pending(f->ids), 0);
    assert_int_equal(instid_count(f->ids), 2);
    file = ids_file(f);
    assert_string_equal(file, before);
    free(file);
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    /* bob's and carol's flows (if they connected before the failure)
     * are gone: only alice's connection stays */
    for (int i = 1; i < f->edge.nconns; i++)
        assert_true(edge_wait_closed(&f->edge, i));
    assert_int_equal(binding_count(f->ra), 1);

    /* alice untouched: her refresh goes over her flow */
    ua_send(f, "alice", 2);
    up = edge_wait_msg(&f->edge, &ci);
    assert_int_equal(ci, 0);
    to_user(up, who, sizeof(who));
    assert_string_equal(who, "alice");
    free(up);

    /* bob again and dave: the next batch */
    ua_send(f, "bob", 2);
    ua_send(f, "dave", 1);
    expect_on_disk_upstream(f, 2);
    assert_int_equal(instid_count(f->ids), 4);
    free(before);
}

/* A phone retransmits its REGISTER while its id is pending: the same
 * binding, one id, one REGISTER upstream, one answer. */
static void test_retransmission_while_pending(void **state)
{
    struct fx *f = *state;
    char zed[64];

    known_phone(f, zed);
    ua_send(f, "alice", 1);
    ua_send(f, "alice", 1);
    ua_send(f, "alice", 1);
    assert_int_equal(instid_pending(f->ids), 1);
    assert_int_equal(f->to_ua.n, 0);
    answer_next_ok(f);
    ua_wait(&f->edge, &f->to_ua, 1);
    edge_settle(&f->edge);
    assert_int_equal(f->edge.nconns, 1);
    assert_false(edge_has_msg(&f->edge));
    assert_int_equal(f->to_ua.n, 1);
    assert_int_equal(fake_syncs, 1);
}

/* The other crash point: the process stops while a batch is on the disk.
 * The stop waits for that sync: alice's id is then on disk, although
 * nothing of her went upstream; after the restart she registers with that
 * very id, which needs no sync, and bob, only pending at the crash, as a
 * new phone. */
static void test_crash_during_sync(void **state)
{
    struct fx *f = *state;
    char zed[64], *file, *up, urn[64], who[32];
    int ci, line;

    known_phone(f, zed);
    fake_sync_gate_arm();
    ua_send(f, "alice", 1);
    assert_int_equal(loop_run_once(f->loop, 0), 0); /* alice's batch starts */
    fake_sync_gate_wait();
    ua_send(f, "bob", 1);
    fake_sync_gate_open();
    /* "crash": the agent goes without another loop turn, the store waits
     * for the sync in flight */
    fx_agent_stop(f);
    assert_int_equal(fake_syncs, 1);
    assert_int_equal(edge_bytes(&f->edge), 0);
    file = ids_file(f);
    line = -1;
    for (const char *p = file; (p = strstr(p, "urn:uuid:")) != NULL; p++)
        line++; /* zed's line, then alice's */
    assert_int_equal(line, 1);
    assert_null(strstr(file, "sip:bob@"));

    fake_sync_reset();
    agent_start(f);
    assert_int_equal(instid_count(f->ids), 2);
    ua_send(f, "alice", 2);
    up = edge_wait_msg(&f->edge, &ci);
    instance_of(up, urn);
    to_user(up, who, sizeof(who));
    assert_string_equal(who, "alice");
    assert_int_equal(line_of(file, urn, "alice"), 2);
    assert_int_equal(fake_syncs, 0);
    free(up);
    free(file);
    ua_send(f, "bob", 2);
    expect_on_disk_upstream(f, 1);
    assert_int_equal(fake_syncs, 1);
}

/* The pipeline: bob arrives while alice's batch is in its sync.  He is
 * not in it (no line of his was written with hers): when it ends, alice's
 * REGISTER goes upstream and bob's batch starts; until that one has synced
 * bob's flow is connected but carries nothing; then his REGISTER goes, id
 * on disk.  Two syncs, two 200s. */
static void test_arrivals_during_sync_wait_next_batch(void **state)
{
    struct fx *f = *state;
    char zed[64], *file;

    known_phone(f, zed);
    fake_sync_gate_arm();
    ua_send(f, "alice", 1);
    assert_int_equal(loop_run_once(f->loop, 0), 0); /* batch 1: alice */
    fake_sync_gate_wait();
    ua_send(f, "bob", 1);
    edge_settle(&f->edge); /* the loop runs on; bob's timer starts nothing */
    assert_int_equal(fake_syncs, 1);
    assert_int_equal(instid_pending(f->ids), 2);
    assert_int_equal(edge_bytes(&f->edge), 0);
    file = ids_file(f);
    assert_non_null(strstr(file, "sip:alice@"));
    assert_null(strstr(file, "sip:bob@"));
    free(file);

    fake_sync_gate_open(); /* batch 1 done: alice goes, batch 2 (bob) starts */
    register_answered(f, "alice", 2);
    fake_sync_gate_wait(); /* batch 2 is in its sync */
    ua_wait(&f->edge, &f->to_ua, 1);
    wait_connected(f, 1); /* bob's flow: connected, nothing sent */
    assert_int_equal(f->edge.nconns, 2);
    edge_settle(&f->edge);
    assert_false(edge_has_msg(&f->edge));
    assert_int_equal(f->edge.conns[1].n, 0);
    assert_int_equal(instid_pending(f->ids), 1);

    fake_sync_gate_open();
    assert_int_equal(register_answered(f, "bob", 3), 1);
    ua_wait(&f->edge, &f->to_ua, 2);
    assert_int_equal(count_status(&f->to_ua, "SIP/2.0 200 OK"), 2);
    assert_int_equal(fake_syncs, 2);
}

/* on_ready before the batch is on disk: the flow is connected and its
 * owner told so while the sync runs (five seconds of a very slow flash on
 * the fake clock), and nothing goes on it, nor may a request of the phone
 * take it; the REGISTER goes on that same connection when the batch is
 * done, its id on disk. */
static void test_ready_before_disk_sends_nothing(void **state)
{
    struct fx *f = *state;
    char zed[64];
    unsigned idx;

    known_phone(f, zed);
    fake_sync_gate_arm();
    ua_send(f, "alice", 1);
    assert_int_equal(loop_run_once(f->loop, 0), 0); /* the batch starts */
    fake_sync_gate_wait();
    wait_connected(f, 1);
    assert_int_equal(f->edge.nconns, 1);
    f->now += 5000;
    edge_settle(&f->edge);
    assert_int_equal(edge_bytes(&f->edge), 0);
    assert_int_equal(f->to_ua.n, 0);
    assert_int_equal(flows_in(f, FLOW_REGISTERING), 1);
    assert_int_equal(binding_pick_flow(binding_next(f->ra, NULL), &idx), -ENOTCONN);

    fake_sync_gate_open(); /* on disk: the REGISTER goes now */
    assert_int_equal(register_answered(f, "alice", 2), 0);
    assert_int_equal(f->edge.nconns, 1);
    ua_wait(&f->edge, &f->to_ua, 1);
    assert_int_equal(count_status(&f->to_ua, "SIP/2.0 200 OK"), 1);
    assert_int_equal(binding_pick_flow(binding_next(f->ra, NULL), &idx), 0);
    assert_int_equal(fake_syncs, 1);
}

/* A batch fails after its phones' flows connected: each phone gets its
 * 500, each connection is closed without a byte sent on it, and the
 * bindings are gone. */
static void test_failed_batch_closes_connected_flows(void **state)
{
    struct fx *f = *state;
    char zed[64];

    known_phone(f, zed);
    fake_sync_gate_arm();
    fake_sync_fail = 1;
    ua_send(f, "bob", 1);
    ua_send(f, "carol", 1);
    assert_int_equal(loop_run_once(f->loop, 0), 0); /* the batch starts */
    fake_sync_gate_wait();
    wait_connected(f, 2);
    assert_int_equal(f->edge.nconns, 2);
    fake_gate_on = false; /* the sync that cuts the file back runs freely */
    fake_sync_gate_open(); /* the batch's sync fails */
    ua_wait(&f->edge, &f->to_ua, 2);
    assert_int_equal(count_status(&f->to_ua, "SIP/2.0 500 "), 2);
    assert_true(edge_wait_closed(&f->edge, 0));
    assert_true(edge_wait_closed(&f->edge, 1));
    assert_int_equal(edge_bytes(&f->edge), 0);
    assert_int_equal(binding_count(f->ra), 0);
    assert_int_equal(instid_pending(f->ids), 0);
    assert_int_equal(instid_count(f->ids), 1);
}

/* A batch synced on the loop (a fast disk) is collected at once: a phone
 * whose flow connected in the batch's loop iteration has its REGISTER
 * sent in that iteration, not one later (when the store's eventfd would
 * wake the loop).  The handshake is done before the loop runs (the edge's
 * listener is readable), so that iteration sees the connect complete and
 * then runs the batch's timer (timers last). */
static void test_inline_batch_registers_same_iteration(void **state)
{
    struct fx *f = *state;
    struct pollfd pfd;
    char zed[64];

    known_phone(f, zed);
    instid_sync_how(f->ids, INSTID_SYNC_INLINE);
    ua_send(f, "alice", 1); /* the flow connects at once */
    pfd = (struct pollfd){ .fd = f->edge.lfd[0], .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    assert_int_equal(edge_bytes(&f->edge), 0);
    assert_int_equal(loop_run_once(f->loop, 0), 0);
    assert_int_equal(fake_syncs, 1);
    edge_poll(&f->edge);
    assert_true(edge_has_msg(&f->edge));
    expect_on_disk_upstream(f, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_batch_one_sync_in_order),
        T(test_crash_before_sync),
        T(test_crash_during_sync),
        T(test_arrivals_during_sync_wait_next_batch),
        T(test_sync_error_fails_batch_only),
        T(test_retransmission_while_pending),
        T(test_ready_before_disk_sends_nothing),
        T(test_failed_batch_closes_connected_flows),
        T(test_inline_batch_registers_same_iteration),
#undef T
    };

    log_setup(getenv("TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR, LOG_TARGET_STDERR, "test");
    return cmocka_run_group_tests_name("regagent_idsync", tests, NULL, NULL);
}

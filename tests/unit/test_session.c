/*
 * Sessions end to end on a virtual clock: two sessions, relay-only (--ice-policy relay), each
 * with its own TURN server written here (no authentication, UDP), DTLS and SCTP over the relayed
 * pair. The tests break the TURN servers or a peer mid-call and check how each session ends.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/addr.h"
#include "core/buf.h"
#include "core/exitcode.h"
#include "core/log.h"
#include "dtls/cert.h"
#include "ice/stun.h"
#include "sdp/negotiate.h"
#include "session.h"

/*
 * GnuTLS times DTLS retransmissions with its own clock; its test hook (exported, private) hands
 * it the virtual one, as in test_dtls.c. Without the hook a lost flight would wait in real time.
 */
extern void _gnutls_global_set_gettime_function(void (*fn)(struct timespec *))
    __attribute__((weak));
static uint64_t vnow;

static void virt_gettime(struct timespec *ts)
{
        ts->tv_sec = (time_t)(vnow / 1000000);
        ts->tv_nsec = (long)(vnow % 1000000) * 1000;
}

#define S      1000000ull
#define MS     1000ull
#define LAT_US (10 * MS) /* one way, every hop */
#define MAXPKT 4096

static struct addr mk(const char *s)
{
        struct addr a;
        assert_int_equal(addr_from_string(&a, s), 0);
        return a;
}

/* ---- TURN servers ---- */

struct fsrv {
        struct addr addr, relayed;
        bool alive;     /* false: killed, drops everything */
        bool allocated; /* a restart forgets it */
        struct {
                uint16_t num;
                struct addr peer;
        } ch[8];
        int nch;
        unsigned n_refresh;
};

enum dest { TO_SERVER, TO_CLIENT, TO_RELAY };

struct pkt {
        uint64_t at;
        enum dest dest;
        int i;            /* server or client index */
        struct addr from; /* TO_RELAY: the sending relayed address */
        uint8_t *d;
        size_t n;
};

struct evs {
        bool secure, dc_ready;
        uint64_t dc_ready_at;
        bool failed;
        int exit_code;
        char message[512];
        uint64_t failed_at;
        unsigned relay_failed;
        uint16_t dc;
        bool dc_open;
        unsigned dc_messages;
};

struct world {
        uint64_t now;
        uint64_t applied_at; /* both descriptions applied (world_up) */
        struct fsrv srv[2];
        struct session *s[2];
        struct cert *cert[2];
        bool dead[2]; /* the peer process is gone: nothing runs, nothing is delivered */
        struct evs ev[2];
        struct pkt *q;
        size_t nq;
        bool traffic; /* each side sends a data channel message every 20 ms */
        uint64_t next_traffic;
        struct buf tmp;
};

static void enqueue(struct world *w, enum dest dest, int i, const struct addr *from,
                    const uint8_t *d, size_t n)
{
        assert_true(w->nq < MAXPKT);
        struct pkt *p = &w->q[w->nq++];
        p->at = w->now + LAT_US;
        p->dest = dest;
        p->i = i;
        if (from)
                p->from = *from;
        p->d = malloc(n);
        assert_non_null(p->d);
        memcpy(p->d, d, n);
        p->n = n;
}

static void srv_reply(struct world *w, int i, const struct stun_msg *req, bool ok, uint16_t code)
{
        struct fsrv *f = &w->srv[i];
        struct stun_builder b;
        buf_reset(&w->tmp);
        stun_build_begin(&b, &w->tmp, req->method, ok ? STUN_CLASS_SUCCESS : STUN_CLASS_ERROR,
                         req->txid);
        if (!ok) {
                stun_build_error_code(&b, code, NULL);
        } else if (req->method == STUN_METHOD_ALLOCATE) {
                struct addr mapped = mk(i == 0 ? "192.0.2.10:40000" : "192.0.2.20:40000");
                stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &f->relayed);
                stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
                stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
        } else if (req->method == STUN_METHOD_REFRESH) {
                stun_build_u32(&b, STUN_ATTR_LIFETIME, req->has_lifetime ? req->lifetime : 600);
        }
        assert_int_equal(stun_build_fingerprint(&b), 0);
        enqueue(w, TO_CLIENT, i, NULL, w->tmp.data, w->tmp.len);
}

/* Data a client relays to `peer`: to the server owning that relayed address. */
static void srv_forward(struct world *w, int i, const struct addr *peer, const uint8_t *d, size_t n)
{
        for (int j = 0; j < 2; j++)
                if (addr_equal(&w->srv[j].relayed, peer))
                        enqueue(w, TO_RELAY, j, &w->srv[i].relayed, d, n);
}

static void srv_from_client(struct world *w, int i, const uint8_t *d, size_t n)
{
        struct fsrv *f = &w->srv[i];
        if (!f->alive)
                return;
        if (n >= 4 && d[0] >= 0x40 && d[0] <= 0x4F) {
                struct stun_channel_data cd;
                assert_int_equal(stun_channel_data_parse(&cd, d, n, false, NULL), 0);
                for (int k = 0; k < f->nch && f->allocated; k++)
                        if (f->ch[k].num == cd.channel)
                                srv_forward(w, i, &f->ch[k].peer, cd.data, cd.len);
                return;
        }
        struct stun_msg m;
        assert_int_equal(stun_msg_parse(&m, d, n), 0);
        if (m.cls == STUN_CLASS_INDICATION) {
                assert_int_equal(m.method, STUN_METHOD_SEND);
                if (f->allocated)
                        srv_forward(w, i, &m.xor_peer[0], m.data.data, m.data.len);
                return;
        }
        assert_int_equal(m.cls, STUN_CLASS_REQUEST);
        switch (m.method) {
        case STUN_METHOD_ALLOCATE:
                f->allocated = true;
                srv_reply(w, i, &m, true, 0);
                break;
        case STUN_METHOD_REFRESH:
                f->n_refresh++;
                srv_reply(w, i, &m, f->allocated, STUN_ERR_ALLOCATION_MISMATCH);
                if (m.has_lifetime && m.lifetime == 0)
                        f->allocated = false;
                break;
        case STUN_METHOD_CREATE_PERMISSION:
                srv_reply(w, i, &m, f->allocated, STUN_ERR_ALLOCATION_MISMATCH);
                break;
        case STUN_METHOD_CHANNEL_BIND:
                if (f->allocated) {
                        assert_true(f->nch < 8);
                        f->ch[f->nch].num = m.channel_number;
                        f->ch[f->nch].peer = m.xor_peer[0];
                        f->nch++;
                }
                srv_reply(w, i, &m, f->allocated, STUN_ERR_ALLOCATION_MISMATCH);
                break;
        default:
                fail_msg("unexpected TURN request 0x%x", m.method);
        }
}

/* Data that arrived at server i's relayed address from `from`. */
static void srv_from_relay(struct world *w, int i, const struct addr *from, const uint8_t *d,
                           size_t n)
{
        struct fsrv *f = &w->srv[i];
        if (!f->alive || !f->allocated)
                return;
        buf_reset(&w->tmp);
        for (int k = 0; k < f->nch; k++) {
                if (addr_equal(&f->ch[k].peer, from)) {
                        assert_int_equal(
                            stun_channel_data_build(&w->tmp, f->ch[k].num, d, n, false), 0);
                        enqueue(w, TO_CLIENT, i, NULL, w->tmp.data, w->tmp.len);
                        return;
                }
        }
        uint8_t txid[STUN_TXID_SIZE] = {7, 7, 7};
        struct stun_builder b;
        stun_build_begin(&b, &w->tmp, STUN_METHOD_DATA, STUN_CLASS_INDICATION, txid);
        stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, from);
        assert_int_equal(stun_build_attr(&b, STUN_ATTR_DATA, d, n), 0);
        enqueue(w, TO_CLIENT, i, NULL, w->tmp.data, w->tmp.len);
}

/* ---- the world ---- */

static void drain(struct world *w, int i)
{
        struct session_output o;
        while (session_poll_output(w->s[i], &o) == 1) {
                if (o.kind == SESSION_OUT_TRANSMIT) {
                        /* Relay-only: everything goes to the TURN server. */
                        if (o.base == SESSION_TURN_BASE)
                                enqueue(w, TO_SERVER, i, NULL, o.data, o.len);
                        continue;
                }
                struct evs *e = &w->ev[i];
                switch (o.event) {
                case SESSION_EV_SECURE:
                        e->secure = true;
                        break;
                case SESSION_EV_DC_READY:
                        e->dc_ready = true;
                        e->dc_ready_at = w->now;
                        break;
                case SESSION_EV_FAILED:
                        assert_false(e->failed); /* one failure, one line */
                        e->failed = true;
                        e->exit_code = o.exit_code;
                        e->failed_at = w->now;
                        snprintf(e->message, sizeof(e->message), "%s", o.message);
                        break;
                case SESSION_EV_RELAY_FAILED:
                        e->relay_failed++;
                        break;
                case SESSION_EV_DC_MESSAGE:
                        e->dc_messages++;
                        break;
                default:
                        break;
                }
        }
}

static void deliver(struct world *w, const struct pkt *p)
{
        switch (p->dest) {
        case TO_SERVER:
                srv_from_client(w, p->i, p->d, p->n);
                break;
        case TO_RELAY:
                srv_from_relay(w, p->i, &p->from, p->d, p->n);
                break;
        case TO_CLIENT:
                if (!w->dead[p->i]) {
                        session_handle_turn_input(w->s[p->i], w->now, 0, p->d, p->n);
                        drain(w, p->i);
                }
                break;
        }
}

static void traffic(struct world *w)
{
        static const uint8_t msg[200];
        for (int i = 0; i < 2; i++) {
                struct evs *e = &w->ev[i];
                if (w->dead[i] || e->failed || !e->dc_ready)
                        continue;
                if (!e->dc_open) {
                        struct dc_options opt = {0};
                        assert_int_equal(
                            session_dc_open(w->s[i], w->now, i ? "b" : "a", &opt, &e->dc), 0);
                        e->dc_open = true;
                }
                session_dc_send(w->s[i], w->now, e->dc, true, msg, sizeof(msg));
                drain(w, i);
        }
}

/* Runs the clock to `until`, or until both live sessions failed. */
static void run(struct world *w, uint64_t until)
{
        for (long iter = 0; iter < 10000000; iter++) {
                /* Everything due now, in order. */
                bool any = true;
                while (any) {
                        any = false;
                        for (size_t k = 0; k < w->nq; k++) {
                                if (w->q[k].at > w->now)
                                        continue;
                                /* In order: DTLS would drop a Finished ahead of its CCS. */
                                struct pkt p = w->q[k];
                                memmove(&w->q[k], &w->q[k + 1], (w->nq - k - 1) * sizeof(p));
                                w->nq--;
                                deliver(w, &p);
                                free(p.d);
                                any = true;
                                break;
                        }
                }
                for (int i = 0; i < 2; i++) {
                        if (w->dead[i])
                                continue;
                        if (session_next_deadline(w->s[i]) <= w->now)
                                session_handle_timeout(w->s[i], w->now);
                        drain(w, i);
                }
                if (w->traffic && w->now >= w->next_traffic) {
                        traffic(w);
                        w->next_traffic = w->now + 20 * MS;
                }
                if ((w->dead[0] || w->ev[0].failed) && (w->dead[1] || w->ev[1].failed))
                        return;
                uint64_t t = until;
                for (size_t k = 0; k < w->nq; k++)
                        if (w->q[k].at < t)
                                t = w->q[k].at;
                for (int i = 0; i < 2; i++) {
                        uint64_t d = w->dead[i] ? UINT64_MAX : session_next_deadline(w->s[i]);
                        if (d < t)
                                t = d;
                }
                if (w->traffic && w->next_traffic < t)
                        t = w->next_traffic;
                if (t >= until && w->now >= until)
                        return;
                /* A deadline that stays in the past moves the clock by 1 ms, not 0. */
                w->now = t > w->now ? t : w->now + MS;
                if (w->now > until)
                        w->now = until;
                vnow = w->now;
        }
        fail_msg("the world never went quiet");
}

static void local_desc(struct world *w, int i, struct sdp_candidate *c, size_t n, char *fp,
                       struct sdp_local *l)
{
        memset(l, 0, sizeof(*l));
        l->ice_ufrag = i == 0 ? "ufrA" : "ufrB";
        l->ice_pwd = i == 0 ? "passwordofpeeraaaaaaaaaa" : "passwordofpeerbbbbbbbbbb";
        l->fingerprint_algo = "sha-256";
        assert_int_equal(cert_fingerprint(w->cert[i], "sha-256", fp, CERT_FINGERPRINT_MAX), 0);
        l->fingerprint = fp;
        l->session_id = 1000 + (uint64_t)i;
        l->candidates = c;
        l->n_candidates = n;
        l->end_of_candidates = true;
        l->data = true;
}

/* Two relay-only sessions, connected, DTLS and SCTP up, data flowing both ways. */
static void world_up(struct world *w)
{
        memset(w, 0, sizeof(*w));
        w->q = calloc(MAXPKT, sizeof(*w->q));
        assert_non_null(w->q);
        buf_init(&w->tmp);
        w->now = 1000 * S;
        vnow = w->now;
        const char *srv[2] = {"203.0.113.1:3478", "203.0.113.2:3478"};
        const char *rel[2] = {"203.0.113.1:50000", "203.0.113.2:50000"};
        for (int i = 0; i < 2; i++) {
                w->srv[i].addr = mk(srv[i]);
                w->srv[i].relayed = mk(rel[i]);
                w->srv[i].alive = true;
                assert_int_equal(cert_generate(&w->cert[i]), 0);
                struct session_config cfg = {
                    .controlling = i == 0,
                    .ice_ufrag = i == 0 ? "ufrA" : "ufrB",
                    .ice_pwd = i == 0 ? "passwordofpeeraaaaaaaaaa" : "passwordofpeerbbbbbbbbbb",
                    .policy = ICE_POLICY_RELAY,
                    .cert = w->cert[i],
                };
                assert_int_equal(session_new(&cfg, &w->s[i]), 0);
                struct turn_config tc = {.server = w->srv[i].addr, .transport = TURN_TRANSPORT_UDP};
                assert_int_equal(session_add_turn(w->s[i], &tc), 0);
                assert_int_equal(session_gather(w->s[i], w->now), 0);
                drain(w, i);
        }
        run(w, w->now + 2 * S);
        struct sdp_candidate cand[2][8];
        int n[2];
        char fp[2][CERT_FINGERPRINT_MAX];
        struct sdp_local l[2];
        for (int i = 0; i < 2; i++) {
                assert_true(session_gathering_done(w->s[i]));
                n[i] = session_local_candidates(w->s[i], cand[i], 8);
                assert_int_equal(n[i], 1); /* the relayed one */
                local_desc(w, i, cand[i], (size_t)n[i], fp[i], &l[i]);
        }
        struct sdp *offer = NULL, *answer = NULL;
        struct sdp_error err;
        assert_int_equal(sdp_create_offer(&l[0], &offer), 0);
        assert_int_equal(sdp_create_answer(offer, &l[1], &answer, &err), 0);
        char msg[256];
        assert_int_equal(session_apply(w->s[0], w->now, offer, answer, msg, sizeof(msg)), 0);
        assert_int_equal(session_apply(w->s[1], w->now, answer, offer, msg, sizeof(msg)), 0);
        sdp_free(offer);
        sdp_free(answer);
        for (int i = 0; i < 2; i++)
                drain(w, i);
        w->applied_at = w->now;
        run(w, w->now + 10 * S);
        for (int i = 0; i < 2; i++) {
                assert_true(w->ev[i].secure);
                assert_true(w->ev[i].dc_ready);
                assert_false(w->ev[i].failed);
                struct ice_pair_stats ps;
                assert_int_equal(session_selected_stats(w->s[i], &ps), 0);
                assert_int_equal(ps.local.base, SESSION_RELAY_BASE);
        }
        w->traffic = true;
        w->next_traffic = w->now;
        run(w, w->now + 10 * S);
        for (int i = 0; i < 2; i++) {
                assert_false(w->ev[i].failed);
                assert_true(w->ev[i].dc_messages > 400); /* 50 a second */
        }
}

static void report(const struct world *w, uint64_t fault)
{
        for (int i = 0; i < 2; i++) {
                if (!w->ev[i].failed)
                        print_message("peer %d: %s\n", i, w->dead[i] ? "killed" : "running");
                else
                        print_message("peer %d: exit %d %.2f s after the fault (Refresh requests "
                                      "on its server: %u): %s\n",
                                      i, w->ev[i].exit_code,
                                      (double)(w->ev[i].failed_at - fault) / 1e6,
                                      w->srv[i].n_refresh, w->ev[i].message);
        }
}

static void world_free(struct world *w)
{
        for (int i = 0; i < 2; i++) {
                session_free(w->s[i]);
                cert_free(w->cert[i]);
        }
        for (size_t k = 0; k < w->nq; k++)
                free(w->q[k].d);
        free(w->q);
        buf_free(&w->tmp);
}

/* ---- tests ---- */

/* Server 0 restarts mid-call: peer 0 learns it from the check within seconds, exit 14. */
static void test_turn_restart_mid_call(void **state)
{
        (void)state;
        struct world w;
        world_up(&w);
        unsigned refreshes = w.srv[0].n_refresh;
        uint64_t fault = w.now;
        w.srv[0].allocated = false;
        w.srv[0].nch = 0;
        run(&w, fault + 60 * S);
        report(&w, fault);
        struct evs *e = &w.ev[0];
        assert_true(e->failed);
        assert_int_equal(e->exit_code, EXIT_TURN);
        assert_string_equal(e->message, "TURN server 203.0.113.1:3478 lost our allocation "
                                        "(437 Allocation Mismatch): it restarted");
        /*
         * 3 s of silence and a consent check waiting 1 s (checks every 4 to 6 s), then one round
         * trip: 3 to 7 s.
         */
        assert_in_range(e->failed_at - fault, 3 * S, 7 * S + 100 * MS);
        assert_int_equal(w.srv[0].n_refresh, refreshes + 1);
        assert_int_equal(e->relay_failed, 0); /* the failure of the session says it all */
        /* Peer 1's own server is fine (it answers its checks): consent decides there. */
        e = &w.ev[1];
        assert_true(e->failed);
        assert_int_equal(e->exit_code, EXIT_ICE_FAILED);
        assert_string_equal(e->message, "peer unreachable: consent expired");
        assert_in_range(e->failed_at - fault, 24 * S, 31 * S); /* from the last answer */
        assert_in_range(w.srv[1].n_refresh, 1, 5);
        world_free(&w);
}

/* Server 0 killed mid-call: no answer to the check, exit 14 within 6 s. */
static void test_turn_killed_mid_call(void **state)
{
        (void)state;
        struct world w;
        world_up(&w);
        uint64_t fault = w.now;
        w.srv[0].alive = false;
        run(&w, fault + 60 * S);
        report(&w, fault);
        struct evs *e = &w.ev[0];
        assert_true(e->failed);
        assert_int_equal(e->exit_code, EXIT_TURN);
        assert_non_null(strstr(e->message, "TURN server 203.0.113.1:3478 stopped answering"));
        /* The same, and the 3 s budget of the check: 6 to 10 s. */
        assert_in_range(e->failed_at - fault, 6 * S, 10 * S + 100 * MS);
        e = &w.ev[1];
        assert_true(e->failed);
        assert_int_equal(e->exit_code, EXIT_ICE_FAILED);
        world_free(&w);
}

/* The peer goes away, both TURN servers are fine: no TURN failure, consent decides (exit 10). */
static void test_peer_gone_turn_fine(void **state)
{
        (void)state;
        struct world w;
        world_up(&w);
        unsigned refreshes = w.srv[0].n_refresh;
        uint64_t fault = w.now;
        w.dead[1] = true;
        run(&w, fault + 60 * S);
        report(&w, fault);
        struct evs *e = &w.ev[0];
        assert_true(e->failed);
        assert_int_equal(e->exit_code, EXIT_ICE_FAILED);
        assert_string_equal(e->message, "peer unreachable: consent expired");
        assert_in_range(e->failed_at - fault, 24 * S, 31 * S); /* from the last answer */
        assert_int_equal(e->relay_failed, 0);
        /* The server was checked, after 3, 6, 12 s of silence: a few refreshes, all answered. */
        assert_in_range(w.srv[0].n_refresh - refreshes, 2, 4);
        assert_true(w.srv[0].allocated);
        world_free(&w);
}

/*
 * Set-up round trips, counted on the virtual clock (processing takes no time here): 30 ms each
 * way through the two relays, so one round trip is 60 ms, after the permissions for the peer's
 * relayed address, one round trip to each session's own server (20 ms). Both peers check at
 * once (1 round trip), DTLS starts on the valid pair without waiting for the nomination (2
 * more), the server sends its INIT right behind its Finished (2 more, less the half trip of
 * the Finished): the offerer's association is up 4.5 round trips after the permissions, the
 * answerer's half a trip earlier. Waiting for the nomination made it 5.
 */
static void test_setup_round_trips(void **state)
{
        (void)state;
        struct world w;
        world_up(&w);
        double rtt = 6.0 * LAT_US, start = (double)(w.applied_at + 2 * LAT_US);
        double off = ((double)w.ev[0].dc_ready_at - start) / rtt;
        double ans = ((double)w.ev[1].dc_ready_at - start) / rtt;
        print_message("data channel ready after %.2f (offerer) and %.2f (answerer) round trips\n",
                      off, ans);
        assert_true(off <= 4.5 + 0.01);
        assert_true(ans <= 4.0 + 0.01);
        world_free(&w);
}

/* A healthy call, idle (consent checks, SCTP heartbeats): the servers are never checked. */
static void test_idle_call_not_checked(void **state)
{
        (void)state;
        struct world w;
        world_up(&w);
        w.traffic = false;
        unsigned r0 = w.srv[0].n_refresh, r1 = w.srv[1].n_refresh;
        run(&w, w.now + 300 * S);
        assert_false(w.ev[0].failed);
        assert_false(w.ev[1].failed);
        assert_int_equal(w.srv[0].n_refresh, r0);
        assert_int_equal(w.srv[1].n_refresh, r1);
        world_free(&w);
}

int main(void)
{
        /* TEST_SESSION_DEBUG=1: the sessions' debug log on stderr. */
        log_set_level(getenv("TEST_SESSION_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
        if (_gnutls_global_set_gettime_function)
                _gnutls_global_set_gettime_function(virt_gettime);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_turn_restart_mid_call),
            cmocka_unit_test(test_turn_killed_mid_call),
            cmocka_unit_test(test_peer_gone_turn_fine),
            cmocka_unit_test(test_setup_round_trips),
            cmocka_unit_test(test_idle_call_not_checked),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

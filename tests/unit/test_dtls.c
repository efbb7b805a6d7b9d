/*
 * Two DTLS endpoints in one process over an in-memory link that can drop, duplicate and reorder
 * whole batches of datagrams, on a virtual clock.
 *
 * GnuTLS times retransmissions with its own clock. Its test hook
 * _gnutls_global_set_gettime_function (exported, private) lets the tests hand it the virtual
 * clock so that seconds of retransmission timers pass instantly. Where the hook is missing the
 * harness sleeps for real instead, with short timers so the suite still takes a few seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dtls/dtls.h"
#include "dtls/srtp.h"

extern void _gnutls_global_set_gettime_function(void (*fn)(struct timespec *))
    __attribute__((weak));

static uint64_t vnow = 1700000000ULL * 1000000ULL;
static bool virtual_gnutls;

static void virt_gettime(struct timespec *ts)
{
        ts->tv_sec = (time_t)(vnow / 1000000);
        ts->tv_nsec = (long)(vnow % 1000000) * 1000;
}

static void advance_to(uint64_t t)
{
        if (t <= vnow)
                return;
        if (!virtual_gnutls) {
                uint64_t us = t - vnow;
                struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
                nanosleep(&ts, NULL);
        }
        vnow = t;
}

static struct cert *cert_c, *cert_s, *cert_m;
static char fp_c[CERT_FINGERPRINT_MAX], fp_s[CERT_FINGERPRINT_MAX], fp_m[CERT_FINGERPRINT_MAX];

struct side {
        struct dtls *d;
        int connected;
        int closed;
        int failed;
        int data_count;
        int error;
        char reason[2 * CERT_FINGERPRINT_MAX + 128];
        struct dtls_srtp_keys keys;
        char cipher[64];
        uint8_t last_data[2048];
        size_t last_len;
        size_t transmitted;
        size_t max_datagram;
        int batches; /* non-empty sets of datagrams sent, roughly one per flight */
};

struct net {
        struct side side[2];      /* 0 client, 1 server */
        unsigned drop_batches[2]; /* bit n: lose the n-th batch this side sends */
        bool duplicate;
        bool reorder;
        bool black_hole; /* nothing reaches anyone */
        int dropped;
};

static struct dtls_config config(enum dtls_role role)
{
        struct dtls_config cfg = {.role = role, .srtp = true};
        cfg.cert = role == DTLS_ROLE_CLIENT ? cert_c : cert_s;
        cfg.peer_fingerprint_alg = "sha-256";
        cfg.peer_fingerprint = role == DTLS_ROLE_CLIENT ? fp_s : fp_c;
        if (!virtual_gnutls)
                cfg.retransmit_ms = 50;
        return cfg;
}

static void net_init(struct net *n, const struct dtls_config *cc, const struct dtls_config *sc)
{
        memset(n, 0, sizeof(*n));
        assert_int_equal(dtls_new(cc, &n->side[0].d), 0);
        assert_int_equal(dtls_new(sc, &n->side[1].d), 0);
}

static void net_free(struct net *n)
{
        dtls_free(n->side[0].d);
        dtls_free(n->side[1].d);
}

#define MAX_BATCH 64

/* Drains one side, applies the link's impairments and delivers; returns datagrams delivered. */
static int pump_side(struct net *n, int i)
{
        struct side *s = &n->side[i];
        struct side *peer = &n->side[1 - i];
        uint8_t *batch[MAX_BATCH];
        size_t lens[MAX_BATCH];
        int count = 0;
        struct dtls_output o;
        while (dtls_poll_output(s->d, &o) == 1) {
                switch (o.kind) {
                case DTLS_OUTPUT_TRANSMIT:
                        assert_true(o.len > 0 && o.len <= DTLS_DEFAULT_MTU);
                        assert_true(count < MAX_BATCH);
                        batch[count] = malloc(o.len);
                        memcpy(batch[count], o.data, o.len);
                        lens[count++] = o.len;
                        s->transmitted++;
                        if (o.len > s->max_datagram)
                                s->max_datagram = o.len;
                        break;
                case DTLS_OUTPUT_CONNECTED:
                        s->connected++;
                        s->keys = o.keys;
                        memcpy(s->cipher, o.cipher, sizeof(s->cipher));
                        break;
                case DTLS_OUTPUT_DATA:
                        s->data_count++;
                        assert_true(o.len <= sizeof(s->last_data));
                        memcpy(s->last_data, o.data, o.len);
                        s->last_len = o.len;
                        break;
                case DTLS_OUTPUT_CLOSED:
                        s->closed++;
                        break;
                case DTLS_OUTPUT_FAILED:
                        s->failed++;
                        s->error = o.error;
                        memcpy(s->reason, o.reason, sizeof(s->reason));
                        break;
                }
        }
        if (count == 0)
                return 0;
        bool drop = n->black_hole || (s->batches < 32 && (n->drop_batches[i] >> s->batches) & 1);
        s->batches++;
        int delivered = 0;
        for (int k = 0; k < count; k++) {
                int idx = n->reorder ? count - 1 - k : k;
                if (drop) {
                        n->dropped++;
                } else {
                        for (int copy = 0; copy < (n->duplicate ? 2 : 1); copy++)
                                assert_int_equal(
                                    dtls_handle_input(peer->d, vnow, batch[idx], lens[idx]), 0);
                        delivered++;
                }
        }
        for (int k = 0; k < count; k++)
                free(batch[k]);
        return delivered;
}

static uint64_t min_deadline(struct net *n)
{
        uint64_t a = dtls_next_deadline(n->side[0].d), b = dtls_next_deadline(n->side[1].d);
        return a < b ? a : b;
}

/* Runs the link until quiet and nobody has a timer pending, or until limit_us of virtual time. */
static void run(struct net *n, uint64_t limit_us)
{
        uint64_t end = vnow + limit_us;
        for (int guard = 0; guard < 10000; guard++) {
                int moved = pump_side(n, 0) + pump_side(n, 1);
                if (moved)
                        continue;
                bool done = (n->side[0].connected || n->side[0].failed || n->side[0].closed) &&
                            (n->side[1].connected || n->side[1].failed || n->side[1].closed);
                uint64_t t = min_deadline(n);
                if (done || t == UINT64_MAX || t > end)
                        return;
                advance_to(t);
                dtls_handle_timeout(n->side[0].d, vnow);
                dtls_handle_timeout(n->side[1].d, vnow);
        }
        fail_msg("link did not settle");
}

static void start(struct net *n)
{
        assert_int_equal(dtls_start(n->side[1].d, vnow), 0);
        assert_int_equal(dtls_start(n->side[0].d, vnow), 0);
}

static bool keys_nonzero(const uint8_t *k, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if (k[i])
                        return true;
        return false;
}

static void assert_connected_pair(struct net *n)
{
        struct side *c = &n->side[0], *s = &n->side[1];
        assert_int_equal(c->failed, 0);
        assert_int_equal(s->failed, 0);
        assert_int_equal(c->connected, 1);
        assert_int_equal(s->connected, 1);
        assert_true(dtls_is_connected(c->d) && dtls_is_connected(s->d));
        /* One exporter, two views: what the client sends with is what the server receives with. */
        assert_int_equal(c->keys.profile, DTLS_SRTP_AES128_CM_SHA1_80);
        assert_memory_equal(&c->keys, &s->keys, sizeof(c->keys));
        assert_true(keys_nonzero(c->keys.client_key, DTLS_SRTP_KEY_LEN));
        assert_true(keys_nonzero(c->keys.server_salt, DTLS_SRTP_SALT_LEN));
        assert_memory_not_equal(c->keys.client_key, c->keys.server_key, DTLS_SRTP_KEY_LEN);
}

static void test_clean_handshake(void **state)
{
        (void)state;
        struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
        struct net n;
        net_init(&n, &cc, &sc);
        uint64_t t0 = vnow;
        start(&n);
        run(&n, 60 * 1000000ULL);
        assert_connected_pair(&n);
        assert_int_equal(vnow, t0); /* a clean link needs no retransmission timer */
        assert_string_equal(n.side[0].cipher, "ECDHE_ECDSA_AES_128_GCM_SHA256");
        assert_string_equal(n.side[1].cipher, n.side[0].cipher);
        assert_int_equal(dtls_next_deadline(n.side[0].d), UINT64_MAX);
        assert_int_equal(dtls_next_deadline(n.side[1].d), UINT64_MAX);

        /* Each side keys SRTP from its own view: what one protects, the other opens. */
        struct srtp_ctx *sc_c, *sc_s;
        assert_int_equal(srtp_ctx_new(&n.side[0].keys, DTLS_ROLE_CLIENT, &sc_c), 0);
        assert_int_equal(srtp_ctx_new(&n.side[1].keys, DTLS_ROLE_SERVER, &sc_s), 0);
        struct srtp_ctx *from[2] = {sc_c, sc_s}, *to[2] = {sc_s, sc_c};
        for (int dir = 0; dir < 2; dir++) {
                uint8_t pkt[64] = {0x80, 96, 0, 1, 0, 0, 0, 1, 0xab, 0xcd, 0xef, (uint8_t)dir};
                size_t len = 40;
                assert_int_equal(srtp_ctx_protect_rtp(from[dir], pkt, &len, sizeof(pkt)), 0);
                assert_int_equal(srtp_ctx_unprotect_rtp(to[dir], pkt, &len), 0);
                assert_int_equal(len, 40);
        }
        srtp_ctx_free(sc_c);
        srtp_ctx_free(sc_s);
        net_free(&n);
}

/*
 * The client's certificate flight shares datagrams up to its ChangeCipherSpec: ClientHello,
 * Certificate + ClientKeyExchange + CertificateVerify, ChangeCipherSpec, Finished. The server
 * keeps GnuTLS's one message per datagram (test_lossy_link shows why).
 */
static void test_client_flight_shares_datagrams(void **state)
{
        (void)state;
        unsigned mtus[] = {DTLS_DEFAULT_MTU, 400};
        for (size_t i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++) {
                struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
                cc.mtu = sc.mtu = mtus[i];
                struct net n;
                net_init(&n, &cc, &sc);
                start(&n);
                run(&n, 60 * 1000000ULL);
                assert_connected_pair(&n);
                print_message("MTU %u: client %zu datagrams (largest %zu), server %zu\n", mtus[i],
                              n.side[0].transmitted, n.side[0].max_datagram, n.side[1].transmitted);
                assert_true(n.side[0].max_datagram <= mtus[i]);
                assert_true(n.side[1].max_datagram <= mtus[i]);
                if (mtus[i] == DTLS_DEFAULT_MTU)
                        assert_int_equal(n.side[0].transmitted, 4);
                else
                        assert_true(n.side[0].transmitted > 4); /* 400 bytes hold less */
                assert_int_equal(n.side[1].transmitted, 7);
                net_free(&n);
        }
}

/* The warm-up handshake completes with one certificate on both sides, and may run again. */
static void test_lib_prepare(void **state)
{
        (void)state;
        assert_int_equal(dtls_lib_prepare(NULL), -EINVAL);
        assert_int_equal(dtls_lib_prepare(cert_c), 0);
        assert_int_equal(dtls_lib_prepare(cert_s), 0);
        /* A real handshake after it is unaffected. */
        struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
        struct net n;
        net_init(&n, &cc, &sc);
        start(&n);
        run(&n, 60 * 1000000ULL);
        assert_connected_pair(&n);
        net_free(&n);
}

/* The certificate check must not depend on the digest: SDP may carry any of the five. */
static void test_fingerprint_algorithms(void **state)
{
        (void)state;
        static const char *const algs[] = {"sha-1", "sha-224", "sha-256", "sha-384", "SHA-512"};
        for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
                char fc[CERT_FINGERPRINT_MAX], fs[CERT_FINGERPRINT_MAX];
                assert_int_equal(cert_fingerprint(cert_c, algs[i], fc, sizeof(fc)), 0);
                assert_int_equal(cert_fingerprint(cert_s, algs[i], fs, sizeof(fs)), 0);
                /* SDP hex may come in lowercase. */
                for (char *p = fc; *p; p++)
                        if (*p >= 'A' && *p <= 'F')
                                *p = (char)(*p - 'A' + 'a');
                struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
                cc.peer_fingerprint_alg = sc.peer_fingerprint_alg = algs[i];
                cc.peer_fingerprint = fs;
                sc.peer_fingerprint = fc;
                struct net n;
                net_init(&n, &cc, &sc);
                start(&n);
                run(&n, 60 * 1000000ULL);
                assert_connected_pair(&n);
                net_free(&n);
        }
        struct dtls_config bad = config(DTLS_ROLE_CLIENT);
        bad.peer_fingerprint_alg = "md5";
        struct dtls *d = (struct dtls *)&bad; /* overwritten with NULL on failure */
        assert_int_equal(dtls_new(&bad, &d), -ENOTSUP);
        assert_null(d);
        bad = config(DTLS_ROLE_CLIENT);
        bad.peer_fingerprint = NULL; /* alg without value */
        assert_int_equal(dtls_new(&bad, &d), -EINVAL);
        bad = config(DTLS_ROLE_CLIENT);
        bad.cert = NULL;
        assert_int_equal(dtls_new(&bad, &d), -EINVAL);
        dtls_free(NULL);
}

/* Chromium offers ECDHE-ECDSA-AES128-GCM-SHA256 first; a client offering only that works. */
static void test_chromium_cipher(void **state)
{
        (void)state;
        struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
        cc.priority = "NONE:+VERS-DTLS1.2:+ECDHE-ECDSA:+AES-128-GCM:+AEAD:+SIGN-ECDSA-SHA256:"
                      "+GROUP-X25519:+GROUP-SECP256R1:+CTYPE-X509:+COMP-NULL";
        struct net n;
        net_init(&n, &cc, &sc);
        start(&n);
        run(&n, 60 * 1000000ULL);
        assert_connected_pair(&n);
        assert_string_equal(n.side[1].cipher, "ECDHE_ECDSA_AES_128_GCM_SHA256");
        net_free(&n);

        /* The other way round: we as client against a server that allows only that suite. */
        cc = config(DTLS_ROLE_CLIENT);
        sc = config(DTLS_ROLE_SERVER);
        sc.priority = "NONE:+VERS-DTLS1.2:+ECDHE-ECDSA:+AES-128-GCM:+AEAD:+SIGN-ALL:+GROUP-ALL:"
                      "+CTYPE-X509:+COMP-NULL";
        net_init(&n, &cc, &sc);
        start(&n);
        run(&n, 60 * 1000000ULL);
        assert_connected_pair(&n);
        net_free(&n);
}

/* Without use_srtp on one side the connection stands and reports no profile. */
static void test_no_srtp(void **state)
{
        (void)state;
        struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
        cc.srtp = false;
        struct net n;
        net_init(&n, &cc, &sc);
        start(&n);
        run(&n, 60 * 1000000ULL);
        assert_int_equal(n.side[0].connected, 1);
        assert_int_equal(n.side[1].connected, 1);
        assert_int_equal(n.side[0].keys.profile, DTLS_SRTP_NONE);
        assert_int_equal(n.side[1].keys.profile, DTLS_SRTP_NONE);
        net_free(&n);
}

/*
 * Losing any one flight, in either direction, is repaired by retransmission; so are several
 * at once, with every datagram duplicated and each batch reversed.
 */
static void test_lossy_link(void **state)
{
        (void)state;
        struct {
                unsigned drop_client, drop_server;
                bool duplicate, reorder;
        } cases[] = {
            {1, 0, false, false}, /* ClientHello */
            {0, 1, false, false}, /* ServerHello .. ServerHelloDone */
            {2, 0, false, false}, /* client Certificate .. Finished */
            {0, 2, false, false}, /* server CCS, Finished: repaired from the finished server */
            {3, 3, false, false}, /* two flights each way */
            {0, 0, true, false},  {0, 0, false, true}, {5, 2, true, true},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
                struct net n;
                net_init(&n, &cc, &sc);
                n.drop_batches[0] = cases[i].drop_client;
                n.drop_batches[1] = cases[i].drop_server;
                n.duplicate = cases[i].duplicate;
                n.reorder = cases[i].reorder;
                uint64_t t0 = vnow;
                start(&n);
                run(&n, 60 * 1000000ULL);
                print_message("case %zu: %d dropped, %.1f s\n", i, n.dropped,
                              (double)(vnow - t0) / 1e6);
                assert_connected_pair(&n);
                if (cases[i].drop_client || cases[i].drop_server) {
                        assert_true(n.dropped > 0);
                        assert_true(vnow > t0); /* only the retransmission timer could repair it */
                }
                /* Data flows after a repaired handshake. */
                assert_int_equal(dtls_send(n.side[0].d, "ping", 4), 0);
                n.drop_batches[0] = n.drop_batches[1] = 0;
                run(&n, 1000000);
                assert_true(n.side[1].data_count >= 1);
                assert_memory_equal(n.side[1].last_data, "ping", 4);
                net_free(&n);
        }
}

/*
 * The first retransmission follows dtls_set_retransmit_ms(): the server's lost final flight
 * (it is connected and sends media; the client cannot decrypt yet) is repaired after 100 ms
 * when the session sets two ICE round trips, after GnuTLS's second by default. Both sides need
 * it: a finished GnuTLS server answers the client's resent flight only once its own timeout
 * has passed since its final flight (the client alone at 100 ms: 1.5 s, the 4th resend).
 */
static void test_retransmit_ms(void **state)
{
        (void)state;
        assert_int_equal(dtls_set_retransmit_ms(NULL, 100), -EINVAL);
        unsigned settings[] = {0, 100};
        for (size_t i = 0; i < 2; i++) {
                struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
                struct net n;
                net_init(&n, &cc, &sc);
                assert_int_equal(dtls_set_retransmit_ms(n.side[0].d, 0), -EINVAL);
                for (int k = 0; k < 2 && settings[i]; k++)
                        assert_int_equal(dtls_set_retransmit_ms(n.side[k].d, settings[i]), 0);
                n.drop_batches[1] = 2; /* the server's ChangeCipherSpec and Finished */
                uint64_t t0 = vnow;
                start(&n);
                run(&n, 60 * 1000000ULL);
                assert_connected_pair(&n);
                double s = (double)(vnow - t0) / 1e6;
                print_message("first retransmission %u ms: connected after %.3f s\n",
                              settings[i] ? settings[i] : DTLS_DEFAULT_RETRANSMIT_MS, s);
                assert_true(n.dropped > 0);
                if (settings[i])
                        assert_true(s >= 0.1 && s < 0.3);
                else
                        assert_true(s >= 1.0);
                net_free(&n);
        }
}

static void test_data_and_close(void **state)
{
        (void)state;
        struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
        struct net n;
        net_init(&n, &cc, &sc);
        assert_int_equal(dtls_send(n.side[0].d, "early", 5), -ENOTCONN);
        start(&n);
        run(&n, 60 * 1000000ULL);
        assert_connected_pair(&n);

        assert_int_equal(dtls_send(n.side[0].d, "hello", 5), 0);
        run(&n, 0);
        assert_int_equal(n.side[1].data_count, 1);
        assert_int_equal(n.side[1].last_len, 5);
        assert_memory_equal(n.side[1].last_data, "hello", 5);

        size_t max = dtls_max_payload(n.side[1].d);
        assert_true(max > 1100 && max < DTLS_DEFAULT_MTU);
        uint8_t big[1500];
        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (uint8_t)i;
        assert_int_equal(dtls_send(n.side[1].d, big, max), 0);
        assert_int_equal(dtls_send(n.side[1].d, big, max + 1), -EMSGSIZE);
        run(&n, 0);
        assert_int_equal(n.side[0].data_count, 1);
        assert_int_equal(n.side[0].last_len, max);
        assert_memory_equal(n.side[0].last_data, big, max);

        assert_int_equal(dtls_close(n.side[0].d), 0);
        assert_int_equal(dtls_send(n.side[0].d, "x", 1), -EPIPE);
        run(&n, 0);
        assert_int_equal(n.side[1].closed, 1);
        assert_int_equal(n.side[1].failed, 0);
        assert_int_equal(n.side[0].closed, 0); /* our own close is not an event */
        assert_false(dtls_is_connected(n.side[1].d));
        assert_int_equal(dtls_send(n.side[1].d, "x", 1), -EPIPE);
        assert_int_equal(dtls_close(n.side[0].d), 0); /* twice is harmless */
        net_free(&n);
}

/* A man in the middle presents its own certificate: refused, nothing decrypted is delivered. */
static void test_mitm_fingerprint(void **state)
{
        (void)state;
        /* The server expects the client's fingerprint but "the client" is mallory. */
        struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
        cc.cert = cert_m;
        struct net n;
        net_init(&n, &cc, &sc);
        start(&n);
        run(&n, 60 * 1000000ULL);
        struct side *s = &n.side[1];
        assert_int_equal(s->connected, 0);
        assert_int_equal(s->failed, 1);
        assert_int_equal(s->error, -EKEYREJECTED);
        assert_non_null(strstr(s->reason, fp_c)); /* expected */
        assert_non_null(strstr(s->reason, fp_m)); /* received */
        /* Mallory never gets a Finished from us, and learns why from the alert. */
        assert_int_equal(n.side[0].connected, 0);
        assert_int_equal(n.side[0].failed, 1);
        assert_int_equal(n.side[0].error, -ECONNABORTED);
        assert_int_equal(s->data_count, 0);
        assert_int_equal(dtls_send(s->d, "x", 1), -EPIPE);
        net_free(&n);

        /* The client side of the same check: the server is not who the SDP said. */
        cc = config(DTLS_ROLE_CLIENT);
        sc = config(DTLS_ROLE_SERVER);
        sc.cert = cert_m;
        net_init(&n, &cc, &sc);
        start(&n);
        run(&n, 60 * 1000000ULL);
        assert_int_equal(n.side[0].failed, 1);
        assert_int_equal(n.side[0].error, -EKEYREJECTED);
        assert_int_equal(n.side[0].connected, 0);
        assert_int_equal(n.side[1].connected, 0);
        net_free(&n);
}

/*
 * The answer with the fingerprint may arrive after the handshake. Data that comes first is held
 * and delivered only once it matches; with a wrong one, none of it is ever delivered.
 */
static void test_late_fingerprint(void **state)
{
        (void)state;
        for (int wrong = 0; wrong < 2; wrong++) {
                struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
                sc.peer_fingerprint_alg = sc.peer_fingerprint = NULL;
                if (wrong)
                        cc.cert = cert_m;
                struct net n;
                net_init(&n, &cc, &sc);
                start(&n);
                run(&n, 5 * 1000000ULL); /* short of the 30 s wait for the fingerprint */
                assert_int_equal(n.side[0].connected, 1);
                assert_int_equal(n.side[1].connected, 0);
                assert_int_equal(n.side[1].failed, 0);
                assert_int_equal(dtls_send(n.side[1].d, "x", 1), -ENOTCONN);
                /* Keep the records so they can be offered again once the peer is refused. */
                uint8_t rec[3][256];
                size_t rec_len[3];
                for (int k = 0; k < 3; k++) {
                        assert_int_equal(dtls_send(n.side[0].d, "secret", 6), 0);
                        struct dtls_output o;
                        assert_int_equal(dtls_poll_output(n.side[0].d, &o), 1);
                        assert_int_equal(o.kind, DTLS_OUTPUT_TRANSMIT);
                        assert_true(o.len <= sizeof(rec[k]));
                        memcpy(rec[k], o.data, o.len);
                        rec_len[k] = o.len;
                        assert_int_equal(dtls_handle_input(n.side[1].d, vnow, rec[k], rec_len[k]),
                                         0);
                }
                run(&n, 0);
                assert_int_equal(n.side[1].data_count, 0);
                assert_int_equal(dtls_set_peer_fingerprint(n.side[1].d, "sha-256", fp_c), 0);
                run(&n, 0);
                if (wrong) {
                        assert_int_equal(n.side[1].failed, 1);
                        assert_int_equal(n.side[1].error, -EKEYREJECTED);
                        assert_int_equal(n.side[1].data_count, 0);
                        assert_int_equal(n.side[1].connected, 0);
                        /* The impostor learns from the alert; its records offered again stay
                         * unread. */
                        assert_int_equal(n.side[0].failed, 1);
                        assert_int_equal(n.side[0].error, -ECONNABORTED);
                        for (int k = 0; k < 3; k++)
                                assert_int_equal(
                                    dtls_handle_input(n.side[1].d, vnow, rec[k], rec_len[k]), 0);
                        run(&n, 0);
                        assert_int_equal(n.side[1].data_count, 0);
                } else {
                        assert_int_equal(n.side[1].connected, 1);
                        assert_int_equal(n.side[1].data_count, 3);
                        assert_memory_equal(n.side[1].last_data, "secret", 6);
                        assert_memory_equal(&n.side[0].keys, &n.side[1].keys,
                                            sizeof(n.side[0].keys));
                }
                net_free(&n);
        }

        /* A fingerprint that never comes ends in a timeout, not in a silent half-open state. */
        struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
        sc.peer_fingerprint_alg = sc.peer_fingerprint = NULL;
        sc.handshake_timeout_ms = 2000;
        struct net n;
        net_init(&n, &cc, &sc);
        start(&n);
        run(&n, 10 * 1000000ULL);
        assert_int_equal(n.side[1].failed, 1);
        assert_int_equal(n.side[1].error, -ETIMEDOUT);
        net_free(&n);
}

static void test_handshake_timeout(void **state)
{
        (void)state;
        for (int role = 0; role < 2; role++) {
                struct dtls_config cc = config(DTLS_ROLE_CLIENT), sc = config(DTLS_ROLE_SERVER);
                cc.handshake_timeout_ms = sc.handshake_timeout_ms = 1500;
                struct net n;
                net_init(&n, &cc, &sc);
                n.black_hole = true;
                uint64_t t0 = vnow;
                start(&n);
                run(&n, 60 * 1000000ULL);
                for (int i = 0; i < 2; i++) {
                        assert_int_equal(n.side[i].failed, 1);
                        assert_int_equal(n.side[i].error, -ETIMEDOUT);
                        assert_non_null(strstr(n.side[i].reason, "DTLS handshake timed out"));
                        assert_int_equal(n.side[i].connected, 0);
                        assert_int_equal(dtls_next_deadline(n.side[i].d), UINT64_MAX);
                }
                assert_int_equal(vnow - t0, 1500 * 1000);
                /* The client tried again before giving up. */
                assert_true(n.side[0].transmitted >= 2);
                assert_int_equal(n.side[1].transmitted, 0);
                net_free(&n);
                (void)role;
        }
}

static void feed_garbage(struct dtls *d, uint32_t seed, int count)
{
        uint8_t pkt[1500];
        for (int i = 0; i < count; i++) {
                seed = seed * 1103515245u + 12345u;
                size_t len = (seed >> 8) % sizeof(pkt);
                for (size_t k = 0; k < len; k++) {
                        seed = seed * 1103515245u + 12345u;
                        pkt[k] = (uint8_t)(seed >> 16);
                }
                if (len > 13 && (i & 1)) {
                        /* A plausible DTLS 1.2 record header makes GnuTLS parse further. */
                        pkt[0] = (uint8_t)(20 + i % 4);
                        pkt[1] = 0xfe;
                        pkt[2] = 0xfd;
                        pkt[11] = (uint8_t)((len - 13) >> 8);
                        pkt[12] = (uint8_t)(len - 13);
                }
                assert_int_equal(dtls_handle_input(d, vnow, pkt, len), 0);
        }
}

static void drain(struct dtls *d, int *data, int *failed)
{
        struct dtls_output o;
        while (dtls_poll_output(d, &o) == 1) {
                if (o.kind == DTLS_OUTPUT_DATA)
                        (*data)++;
                if (o.kind == DTLS_OUTPUT_FAILED)
                        (*failed)++;
        }
}

static void test_malformed_input(void **state)
{
        (void)state;
        /* A server awaiting a handshake. */
        struct dtls_config sc = config(DTLS_ROLE_SERVER);
        struct dtls *s;
        assert_int_equal(dtls_new(&sc, &s), 0);
        assert_int_equal(dtls_handle_input(s, vnow, NULL, 0), 0);
        assert_int_equal(dtls_handle_input(s, vnow, NULL, 5), -EINVAL);
        int data = 0, failed = 0;
        feed_garbage(s, 1, 500);
        drain(s, &data, &failed);
        assert_int_equal(data, 0);
        dtls_free(s);

        /* Every truncation of a real ClientHello. */
        struct dtls_config cc = config(DTLS_ROLE_CLIENT);
        struct dtls *c;
        assert_int_equal(dtls_new(&cc, &c), 0);
        assert_int_equal(dtls_start(c, vnow), 0);
        struct dtls_output o;
        assert_int_equal(dtls_poll_output(c, &o), 1);
        assert_int_equal(o.kind, DTLS_OUTPUT_TRANSMIT);
        uint8_t hello[DTLS_DEFAULT_MTU];
        size_t hello_len = o.len;
        memcpy(hello, o.data, o.len);
        assert_int_equal(hello[0], 22); /* handshake record */
        for (size_t len = 0; len < hello_len; len++) {
                assert_int_equal(dtls_new(&sc, &s), 0);
                uint8_t *exact = malloc(len ? len : 1);
                memcpy(exact, hello, len);
                assert_int_equal(dtls_handle_input(s, vnow, exact, len), 0);
                free(exact);
                data = failed = 0;
                drain(s, &data, &failed);
                assert_int_equal(data, 0);
                dtls_free(s);
        }
        dtls_free(c);

        /* Connected endpoints drop garbage and keep working. */
        struct net n;
        struct dtls_config cc2 = config(DTLS_ROLE_CLIENT), sc2 = config(DTLS_ROLE_SERVER);
        net_init(&n, &cc2, &sc2);
        start(&n);
        run(&n, 60 * 1000000ULL);
        assert_connected_pair(&n);
        feed_garbage(n.side[1].d, 7, 300);
        feed_garbage(n.side[0].d, 9, 300);
        run(&n, 0);
        assert_int_equal(n.side[0].failed + n.side[1].failed, 0);
        assert_int_equal(n.side[0].data_count + n.side[1].data_count, 0);
        assert_int_equal(dtls_send(n.side[0].d, "still here", 10), 0);
        run(&n, 0);
        assert_int_equal(n.side[1].data_count, 1);
        assert_memory_equal(n.side[1].last_data, "still here", 10);
        net_free(&n);
}

static int setup(void **state)
{
        (void)state;
        if (_gnutls_global_set_gettime_function) {
                _gnutls_global_set_gettime_function(virt_gettime);
                virtual_gnutls = true;
        } else {
                fprintf(stderr,
                        "GnuTLS has no time hook: retransmission tests wait in real time\n");
        }
        if (cert_generate(&cert_c) < 0 || cert_generate(&cert_s) < 0 || cert_generate(&cert_m) < 0)
                return -1;
        if (cert_fingerprint(cert_c, "sha-256", fp_c, sizeof(fp_c)) < 0 ||
            cert_fingerprint(cert_s, "sha-256", fp_s, sizeof(fp_s)) < 0 ||
            cert_fingerprint(cert_m, "sha-256", fp_m, sizeof(fp_m)) < 0)
                return -1;
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        cert_free(cert_c);
        cert_free(cert_s);
        cert_free(cert_m);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_clean_handshake),
            cmocka_unit_test(test_client_flight_shares_datagrams),
            cmocka_unit_test(test_lib_prepare),
            cmocka_unit_test(test_fingerprint_algorithms),
            cmocka_unit_test(test_chromium_cipher),
            cmocka_unit_test(test_no_srtp),
            cmocka_unit_test(test_lossy_link),
            cmocka_unit_test(test_retransmit_ms),
            cmocka_unit_test(test_data_and_close),
            cmocka_unit_test(test_mitm_fingerprint),
            cmocka_unit_test(test_late_fingerprint),
            cmocka_unit_test(test_handshake_timeout),
            cmocka_unit_test(test_malformed_input),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

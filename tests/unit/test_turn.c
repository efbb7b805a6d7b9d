/*
 * TURN client against a fake server written here: the fake checks what a real server checks
 * (long-term credentials, nonces, permissions and channel lifetimes on a virtual clock) and keeps
 * counters the tests assert on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/addr.h"
#include "core/buf.h"
#include "core/log.h"
#include "ice/stun.h"
#include "ice/turn.h"

#define S 1000000ull

static struct addr mk(const char *s)
{
        struct addr a;
        assert_int_equal(addr_from_string(&a, s), 0);
        return a;
}

/* ---- the fake server ---- */

struct fake_perm {
        struct addr ip;
        uint64_t expires;
};

struct fake_chan {
        uint16_t num;
        struct addr peer;
        uint64_t expires;
};

struct dgram {
        uint8_t *d;
        size_t n;
};

struct fake {
        const char *user, *pass, *realm;
        char nonce[32];
        unsigned nonce_gen;
        uint8_t key[16];
        bool stream;

        /* Behaviour knobs. */
        unsigned stale_next;    /* answer the next N authenticated requests with 438 */
        uint16_t bad_cred_code; /* 401 (default) or 441 for a wrong MESSAGE-INTEGRITY */
        uint32_t max_lifetime;
        bool corrupt_mi; /* sign successes with a wrong key */
        bool silent;
        bool has_forbidden;
        struct addr forbidden_ip;

        /* State, checked against the virtual clock. */
        bool allocated;
        uint64_t alloc_expires;
        bool alloc_expired_seen;
        struct fake_perm perms[16];
        size_t nperms;
        struct fake_chan chans[16];
        size_t nchans;

        /* Counters and records. */
        unsigned n_alloc, n_refresh, n_perm, n_chan, n_send, n_cd, n_401, n_438, n_bad_cred;
        unsigned n_dropped_no_perm, n_dropped_no_chan;
        uint64_t refresh_times[64];
        unsigned n_refresh_times;
        uint64_t perm_times[64];
        unsigned n_perm_times;
        uint64_t chan_times[64];
        unsigned n_chan_times;
        uint32_t last_refresh_lifetime;
        bool first_alloc_had_username;
        struct addr last_peer;
        uint8_t last_data[2048];
        size_t last_len;

        struct buf tmp;
        struct dgram out[64];
        size_t nout;
};

static const struct addr *srv_addr(void)
{
        static struct addr a;
        a = mk("127.0.0.1:3478");
        return &a;
}

static void fake_init(struct fake *f, bool stream)
{
        memset(f, 0, sizeof(*f));
        f->user = "alice";
        f->pass = "secret";
        f->realm = "rtcpeer.test";
        f->stream = stream;
        f->bad_cred_code = 401;
        f->max_lifetime = 3600;
        snprintf(f->nonce, sizeof(f->nonce), "nonce-%u", f->nonce_gen);
        assert_int_equal(stun_long_term_key(f->user, f->realm, f->pass, f->key), 0);
        buf_init(&f->tmp);
}

static void fake_free(struct fake *f)
{
        for (size_t i = 0; i < f->nout; i++)
                free(f->out[i].d);
        buf_free(&f->tmp);
}

static void fake_push(struct fake *f, const uint8_t *d, size_t n)
{
        assert_true(f->nout < 64);
        f->out[f->nout].d = malloc(n);
        memcpy(f->out[f->nout].d, d, n);
        f->out[f->nout].n = n;
        f->nout++;
}

static void reply_begin(struct fake *f, struct stun_builder *b, const struct stun_msg *req,
                        enum stun_class cls)
{
        buf_reset(&f->tmp);
        stun_build_begin(b, &f->tmp, req->method, cls, req->txid);
}

static void reply_end(struct fake *f, struct stun_builder *b, bool sign)
{
        if (sign) {
                uint8_t wrong[16] = {1};
                stun_build_integrity(b, f->corrupt_mi ? wrong : f->key, 16);
        }
        assert_int_equal(stun_build_fingerprint(b), 0);
        fake_push(f, f->tmp.data, f->tmp.len);
}

static void reply_error(struct fake *f, const struct stun_msg *req, uint16_t code, bool auth_attrs,
                        bool sign)
{
        struct stun_builder b;
        reply_begin(f, &b, req, STUN_CLASS_ERROR);
        stun_build_error_code(&b, code, NULL);
        if (auth_attrs) {
                stun_build_str(&b, STUN_ATTR_REALM, f->realm);
                stun_build_str(&b, STUN_ATTR_NONCE, f->nonce);
        }
        reply_end(f, &b, sign);
}

static struct fake_perm *fake_find_perm(struct fake *f, const struct addr *a)
{
        for (size_t i = 0; i < f->nperms; i++)
                if (addr_equal_ip(&f->perms[i].ip, a))
                        return &f->perms[i];
        return NULL;
}

static void fake_install_perm(struct fake *f, uint64_t now, const struct addr *a)
{
        struct fake_perm *p = fake_find_perm(f, a);
        if (!p) {
                assert_true(f->nperms < 16);
                p = &f->perms[f->nperms++];
                p->ip = *a;
        }
        p->expires = now + 300 * S;
}

static struct fake_chan *fake_find_chan(struct fake *f, uint16_t num)
{
        for (size_t i = 0; i < f->nchans; i++)
                if (f->chans[i].num == num)
                        return &f->chans[i];
        return NULL;
}

static void record(struct fake *f, const struct addr *peer, const uint8_t *d, size_t n)
{
        f->last_peer = *peer;
        assert_true(n <= sizeof(f->last_data));
        memcpy(f->last_data, d, n);
        f->last_len = n;
}

static void fake_request(struct fake *f, uint64_t now, const struct stun_msg *m, const uint8_t *raw)
{
        if (m->method == STUN_METHOD_ALLOCATE && !m->has_integrity)
                f->first_alloc_had_username = f->first_alloc_had_username || m->has_username;
        if (!m->has_integrity) {
                f->n_401++;
                reply_error(f, m, 401, true, false);
                return;
        }
        bool cred_ok = m->has_username && stun_bytes_eq(m->username, f->user) && m->has_realm &&
                       stun_bytes_eq(m->realm, f->realm) &&
                       stun_msg_check_integrity(m, raw, f->key, 16) == 0;
        if (!cred_ok) {
                f->n_bad_cred++;
                reply_error(f, m, f->bad_cred_code, f->bad_cred_code == 401, false);
                return;
        }
        if (!m->has_nonce || !stun_bytes_eq(m->nonce, f->nonce) || f->stale_next) {
                if (f->stale_next)
                        f->stale_next--;
                f->nonce_gen++;
                snprintf(f->nonce, sizeof(f->nonce), "nonce-%u", f->nonce_gen);
                f->n_438++;
                reply_error(f, m, 438, true, false);
                return;
        }
        struct stun_builder b;
        switch (m->method) {
        case STUN_METHOD_ALLOCATE: {
                f->n_alloc++;
                if (f->allocated) {
                        reply_error(f, m, 437, false, true);
                        return;
                }
                assert_true(m->has_requested_transport);
                assert_int_equal(m->requested_transport, STUN_TRANSPORT_UDP);
                uint32_t lt = m->has_lifetime && m->lifetime < f->max_lifetime ? m->lifetime
                                                                               : f->max_lifetime;
                f->allocated = true;
                f->alloc_expires = now + lt * S;
                struct addr relayed = mk("198.51.100.7:49152");
                struct addr mapped = mk("203.0.113.5:40000");
                reply_begin(f, &b, m, STUN_CLASS_SUCCESS);
                stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed);
                stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
                stun_build_u32(&b, STUN_ATTR_LIFETIME, lt);
                reply_end(f, &b, true);
                return;
        }
        case STUN_METHOD_REFRESH: {
                f->n_refresh++;
                if (f->n_refresh_times < 64)
                        f->refresh_times[f->n_refresh_times++] = now;
                if (!f->allocated) {
                        reply_error(f, m, 437, false, true);
                        return;
                }
                uint32_t lt = m->has_lifetime ? m->lifetime : 600;
                if (lt > f->max_lifetime)
                        lt = f->max_lifetime;
                f->last_refresh_lifetime = lt;
                if (lt == 0)
                        f->allocated = false;
                else
                        f->alloc_expires = now + lt * S;
                reply_begin(f, &b, m, STUN_CLASS_SUCCESS);
                stun_build_u32(&b, STUN_ATTR_LIFETIME, lt);
                reply_end(f, &b, true);
                return;
        }
        case STUN_METHOD_CREATE_PERMISSION:
                f->n_perm++;
                if (f->n_perm_times < 64)
                        f->perm_times[f->n_perm_times++] = now;
                assert_true(f->allocated);
                assert_true(m->xor_peer_count >= 1);
                if (f->has_forbidden && addr_equal_ip(&m->xor_peer[0], &f->forbidden_ip)) {
                        reply_error(f, m, 403, false, true);
                        return;
                }
                fake_install_perm(f, now, &m->xor_peer[0]);
                reply_begin(f, &b, m, STUN_CLASS_SUCCESS);
                reply_end(f, &b, true);
                return;
        case STUN_METHOD_CHANNEL_BIND: {
                f->n_chan++;
                if (f->n_chan_times < 64)
                        f->chan_times[f->n_chan_times++] = now;
                assert_true(m->has_channel_number && m->xor_peer_count == 1);
                assert_true(m->channel_number >= 0x4000 && m->channel_number <= 0x4FFF);
                struct fake_chan *ch = fake_find_chan(f, m->channel_number);
                if (!ch) {
                        assert_true(f->nchans < 16);
                        ch = &f->chans[f->nchans++];
                        ch->num = m->channel_number;
                        ch->peer = m->xor_peer[0];
                }
                assert_true(addr_equal(&ch->peer, &m->xor_peer[0]));
                ch->expires = now + 600 * S;
                fake_install_perm(f, now, &m->xor_peer[0]);
                reply_begin(f, &b, m, STUN_CLASS_SUCCESS);
                reply_end(f, &b, true);
                return;
        }
        default:
                fail_msg("unexpected request method 0x%x", m->method);
        }
}

static void fake_input(struct fake *f, uint64_t now, const uint8_t *d, size_t n)
{
        if (f->silent)
                return;
        if (n >= 4 && d[0] >= 0x40 && d[0] <= 0x4F) {
                struct stun_channel_data cd;
                size_t fl = 0;
                assert_int_equal(stun_channel_data_parse(&cd, d, n, f->stream, &fl), 0);
                if (f->stream)
                        assert_int_equal(fl, n); /* padded, one frame per transmit */
                struct fake_chan *ch = fake_find_chan(f, cd.channel);
                if (!ch || ch->expires < now) {
                        f->n_dropped_no_chan++;
                        return;
                }
                f->n_cd++;
                record(f, &ch->peer, cd.data, cd.len);
                return;
        }
        struct stun_msg m;
        assert_int_equal(stun_msg_parse(&m, d, n), 0);
        assert_true(m.has_fingerprint || m.cls == STUN_CLASS_INDICATION);
        if (m.has_fingerprint)
                assert_int_equal(stun_msg_check_fingerprint(&m, d), 0);
        if (m.cls == STUN_CLASS_INDICATION) {
                assert_int_equal(m.method, STUN_METHOD_SEND);
                assert_true(m.has_data && m.xor_peer_count == 1);
                struct fake_perm *p = fake_find_perm(f, &m.xor_peer[0]);
                if (!p || p->expires < now) {
                        f->n_dropped_no_perm++;
                        return;
                }
                f->n_send++;
                record(f, &m.xor_peer[0], m.data.data, m.data.len);
                return;
        }
        assert_int_equal(m.cls, STUN_CLASS_REQUEST);
        fake_request(f, now, &m, d);
}

/* A peer sends to the relayed address: ChannelData if bound, else a Data indication. */
static void fake_from_peer(struct fake *f, const struct addr *peer, const uint8_t *d, size_t n,
                           bool force_indication)
{
        buf_reset(&f->tmp);
        for (size_t i = 0; i < f->nchans && !force_indication; i++) {
                if (addr_equal(&f->chans[i].peer, peer)) {
                        assert_int_equal(
                            stun_channel_data_build(&f->tmp, f->chans[i].num, d, n, f->stream), 0);
                        fake_push(f, f->tmp.data, f->tmp.len);
                        return;
                }
        }
        uint8_t txid[12] = {9, 9, 9};
        struct stun_builder b;
        stun_build_begin(&b, &f->tmp, STUN_METHOD_DATA, STUN_CLASS_INDICATION, txid);
        stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
        assert_int_equal(stun_build_attr(&b, STUN_ATTR_DATA, d, n), 0);
        fake_push(f, f->tmp.data, f->tmp.len);
}

/* ---- harness: client + fake + virtual clock ---- */

struct ev {
        enum turn_output_kind kind;
        struct addr peer, relayed, mapped;
        uint16_t channel;
        uint32_t lifetime;
        int error;
        uint16_t stun_error;
        char reason[256];
        uint8_t data[2048];
        size_t len;
        uint64_t at;
};

enum chunking {
        CHUNK_WHOLE,
        CHUNK_BYTES,
        CHUNK_RANDOM,
};

struct h {
        struct turn_client *c;
        struct fake f;
        uint64_t now;
        struct ev ev[128];
        size_t nev;
        enum chunking chunking;
        uint32_t seed;
        unsigned n_tx;
        bool stream;
        /* Long exchanges: DATA events are counted, not recorded. */
        bool count_data;
        unsigned n_data;
        uint64_t next_check; /* call_until: the next consent check */
};

static uint32_t lcg(uint32_t *s)
{
        *s = *s * 1103515245u + 12345u;
        return *s >> 8;
}

static void h_init(struct h *h, enum turn_transport tr, const char *password)
{
        memset(h, 0, sizeof(*h));
        h->stream = tr != TURN_TRANSPORT_UDP;
        fake_init(&h->f, h->stream);
        struct turn_config cfg = {
            .server = *srv_addr(),
            .transport = tr,
            .username = "alice",
            .password = password,
            .software = "rtcpeer test",
        };
        h->c = turn_client_new(&cfg);
        assert_non_null(h->c);
        h->now = 1000 * S;
        h->seed = 12345;
}

static void h_free(struct h *h)
{
        turn_client_free(h->c);
        fake_free(&h->f);
}

static void h_deliver(struct h *h)
{
        if (!h->stream) {
                for (size_t i = 0; i < h->f.nout; i++) {
                        assert_int_equal(
                            turn_client_handle_datagram(h->c, h->now, h->f.out[i].d, h->f.out[i].n),
                            0);
                        free(h->f.out[i].d);
                }
                h->f.nout = 0;
                return;
        }
        struct buf all = BUF_INIT;
        for (size_t i = 0; i < h->f.nout; i++) {
                buf_append(&all, h->f.out[i].d, h->f.out[i].n);
                free(h->f.out[i].d);
        }
        h->f.nout = 0;
        size_t pos = 0;
        while (pos < all.len) {
                size_t n = all.len - pos;
                if (h->chunking == CHUNK_BYTES)
                        n = 1;
                else if (h->chunking == CHUNK_RANDOM && n > 1)
                        n = 1 + lcg(&h->seed) % n;
                assert_int_equal(turn_client_handle_stream(h->c, h->now, all.data + pos, n), 0);
                pos += n;
        }
        buf_free(&all);
}

static void h_run(struct h *h)
{
        for (int iter = 0; iter < 1000; iter++) {
                bool moved = false;
                struct turn_output o;
                while (turn_client_poll_output(h->c, &o) == 1) {
                        moved = true;
                        if (o.kind == TURN_OUT_TRANSMIT) {
                                h->n_tx++;
                                assert_true(addr_equal(&o.dst, srv_addr()));
                                fake_input(&h->f, h->now, o.data, o.len);
                                continue;
                        }
                        if (o.kind == TURN_OUT_DATA && h->count_data) {
                                h->n_data++;
                                continue;
                        }
                        assert_true(h->nev < 128);
                        struct ev *e = &h->ev[h->nev++];
                        memset(e, 0, sizeof(*e));
                        e->kind = o.kind;
                        e->peer = o.peer;
                        e->relayed = o.relayed;
                        e->mapped = o.mapped;
                        e->channel = o.channel;
                        e->lifetime = o.lifetime_s;
                        e->error = o.error;
                        e->stun_error = o.stun_error;
                        e->at = h->now;
                        if (o.reason)
                                snprintf(e->reason, sizeof(e->reason), "%s", o.reason);
                        if (o.kind == TURN_OUT_DATA) {
                                assert_true(o.len <= sizeof(e->data));
                                memcpy(e->data, o.data, o.len);
                                e->len = o.len;
                        }
                }
                if (h->f.nout) {
                        moved = true;
                        h_deliver(h);
                }
                if (!moved)
                        return;
        }
        fail_msg("client and fake server never went quiet");
}

static void fake_check_expiry(struct h *h)
{
        if (h->f.allocated && h->now > h->f.alloc_expires)
                h->f.alloc_expired_seen = true;
}

/* Runs the virtual clock to `until`, firing every deadline on the way. */
static void h_advance(struct h *h, uint64_t until)
{
        for (int iter = 0; iter < 100000; iter++) {
                fake_check_expiry(h);
                uint64_t d = turn_client_next_deadline(h->c);
                if (d > until) {
                        h->now = until;
                        fake_check_expiry(h);
                        return;
                }
                if (d > h->now)
                        h->now = d;
                turn_client_handle_timeout(h->c, h->now);
                h_run(h);
        }
        fail_msg("deadline loop did not advance");
}

static struct ev *find_ev(struct h *h, enum turn_output_kind kind, size_t nth)
{
        for (size_t i = 0; i < h->nev; i++)
                if (h->ev[i].kind == kind && nth-- == 0)
                        return &h->ev[i];
        return NULL;
}

static size_t count_ev(struct h *h, enum turn_output_kind kind)
{
        size_t n = 0;
        for (size_t i = 0; i < h->nev; i++)
                n += h->ev[i].kind == kind;
        return n;
}

static void h_allocate(struct h *h)
{
        assert_int_equal(turn_client_start(h->c, h->now), 0);
        h_run(h);
        struct ev *e = find_ev(h, TURN_OUT_ALLOCATED, 0);
        assert_non_null(e);
}

/* ---- tests ---- */

static void test_allocate_long_term_credentials(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        assert_false(turn_client_is_allocated(h.c));
        h_allocate(&h);
        assert_int_equal(h.f.n_401, 1); /* first Allocate had no credentials */
        assert_false(h.f.first_alloc_had_username);
        assert_int_equal(h.f.n_alloc, 1); /* the second one passed the fake's integrity check */
        struct ev *e = find_ev(&h, TURN_OUT_ALLOCATED, 0);
        struct addr relayed = mk("198.51.100.7:49152"), mapped = mk("203.0.113.5:40000");
        assert_true(addr_equal(&e->relayed, &relayed));
        assert_true(addr_equal(&e->mapped, &mapped));
        assert_int_equal(e->lifetime, 600);
        assert_true(turn_client_is_allocated(h.c));
        struct addr got;
        assert_int_equal(turn_client_relayed_address(h.c, &got), 0);
        assert_true(addr_equal(&got, &relayed));
        assert_int_equal(turn_client_start(h.c, h.now), -EALREADY);
        h_free(&h);
}

static void test_stale_nonce_retry(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h.f.stale_next = 2;
        h_allocate(&h);
        assert_int_equal(h.f.n_438, 2);
        assert_int_equal(h.f.n_alloc, 1);
        /* A nonce that expires later is renewed on the refresh too. */
        h.f.stale_next = 1;
        h_advance(&h, h.now + 541 * S);
        assert_int_equal(h.f.n_438, 3);
        assert_int_equal(h.f.n_refresh, 1);
        assert_int_equal(count_ev(&h, TURN_OUT_FAILED), 0);
        assert_false(h.f.alloc_expired_seen);
        h_free(&h);
}

static void test_stale_nonce_bounded(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h.f.stale_next = 1000;
        assert_int_equal(turn_client_start(h.c, h.now), 0);
        h_run(&h);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_int_equal(e->stun_error, 438);
        assert_non_null(strstr(e->reason, "refused the allocation: 438 Stale Nonce"));
        /* unauthenticated + authenticated + the bounded retries */
        assert_int_equal(h.n_tx, 2 + TURN_MAX_NONCE_RETRIES);
        assert_false(turn_client_is_allocated(h.c));
        assert_int_equal(turn_client_next_deadline(h.c), UINT64_MAX);
        h_free(&h);
}

static void test_wrong_password_401(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "not-the-password");
        assert_int_equal(turn_client_start(h.c, h.now), 0);
        h_run(&h);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_int_equal(e->error, -EACCES);
        assert_int_equal(e->stun_error, 401);
        assert_non_null(strstr(e->reason, "TURN server 127.0.0.1:3478 refused the allocation: "
                                          "401 Unauthorized"));
        assert_non_null(strstr(e->reason, "\"alice\""));
        assert_int_equal(h.f.n_bad_cred, 1);
        assert_int_equal(count_ev(&h, TURN_OUT_ALLOCATED), 0);
        assert_int_equal(turn_client_send(h.c, h.now, srv_addr(), (const uint8_t *)"x", 1),
                         -ENOTCONN);
        h_free(&h);
}

static void test_wrong_password_441(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "not-the-password");
        h.f.bad_cred_code = 441;
        assert_int_equal(turn_client_start(h.c, h.now), 0);
        h_run(&h);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_string_equal(
            e->reason, "TURN server 127.0.0.1:3478 refused the allocation: 441 Wrong Credentials");
        assert_int_equal(e->error, -EACCES);
        h_free(&h);
}

static void test_refresh_timing(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        uint64_t t0 = h.now;
        h_allocate(&h);
        assert_int_equal(turn_client_next_deadline(h.c), t0 + 540 * S);
        h_advance(&h, t0 + 3 * 3600 * S);
        assert_int_equal(count_ev(&h, TURN_OUT_FAILED), 0);
        assert_false(h.f.alloc_expired_seen);
        /* 10800 s / 540 s = 20 refreshes, each exactly 540 s after the previous success. */
        assert_int_equal(h.f.n_refresh, 20);
        for (unsigned i = 0; i < h.f.n_refresh_times; i++)
                assert_int_equal(h.f.refresh_times[i], t0 + (i + 1) * 540 * S);
        assert_int_equal(h.f.last_refresh_lifetime, 600);
        h_free(&h);

        /* A server granting only 100 s: refresh at half the lifetime. */
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h.f.max_lifetime = 100;
        t0 = h.now;
        h_allocate(&h);
        assert_int_equal(find_ev(&h, TURN_OUT_ALLOCATED, 0)->lifetime, 100);
        h_advance(&h, t0 + 1000 * S);
        assert_int_equal(h.f.n_refresh, 20);
        assert_int_equal(h.f.refresh_times[0], t0 + 50 * S);
        assert_false(h.f.alloc_expired_seen);
        h_free(&h);
}

static void test_refresh_mismatch_fails(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h_allocate(&h);
        h.f.allocated = false; /* the server restarted and forgot us */
        h_advance(&h, h.now + 600 * S);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_int_equal(e->stun_error, 437);
        assert_non_null(strstr(e->reason, "no longer has the allocation"));
        assert_false(turn_client_is_allocated(h.c));
        h_free(&h);
}

static void test_permission_and_send_indication(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h_allocate(&h);
        uint64_t t0 = h.now;
        struct addr peer = mk("192.0.2.10:5000");
        /* The first send creates the permission; the data waits for it, in order. */
        assert_int_equal(turn_client_send(h.c, h.now, &peer, (const uint8_t *)"one", 3), 0);
        assert_int_equal(turn_client_send(h.c, h.now, &peer, (const uint8_t *)"two", 3), 0);
        assert_int_equal(h.f.n_perm, 0); /* nothing reached the server yet */
        h_run(&h);
        assert_int_equal(h.f.n_perm, 1);
        assert_int_equal(h.f.n_send, 2);
        assert_int_equal(h.f.n_dropped_no_perm, 0);
        assert_memory_equal(h.f.last_data, "two", 3);
        assert_true(addr_equal(&h.f.last_peer, &peer));
        struct ev *e = find_ev(&h, TURN_OUT_PERMISSION_OK, 0);
        assert_non_null(e);
        assert_true(addr_equal_ip(&e->peer, &peer));

        /* Now direct: another port on the same IP needs no new permission. */
        struct addr peer2 = mk("192.0.2.10:6000");
        assert_int_equal(turn_client_send(h.c, h.now, &peer2, (const uint8_t *)"three", 5), 0);
        h_run(&h);
        assert_int_equal(h.f.n_perm, 1);
        assert_int_equal(h.f.n_send, 3);

        /* Data indication from it reaches the application. */
        fake_from_peer(&h.f, &peer, (const uint8_t *)"hello", 5, false);
        h_run(&h);
        e = find_ev(&h, TURN_OUT_DATA, 0);
        assert_non_null(e);
        assert_true(addr_equal(&e->peer, &peer));
        assert_int_equal(e->channel, 0);
        assert_int_equal(e->len, 5);
        assert_memory_equal(e->data, "hello", 5);

        /* Permissions are refreshed every 240 s and never lapse on the server. */
        for (int i = 1; i <= 5; i++) {
                h_advance(&h, t0 + (uint64_t)i * 290 * S);
                assert_int_equal(turn_client_send(h.c, h.now, &peer, (const uint8_t *)"x", 1), 0);
                h_run(&h);
        }
        assert_int_equal(h.f.n_dropped_no_perm, 0);
        assert_int_equal(h.f.n_send, 8);
        assert_int_equal(h.f.perm_times[1], t0 + 240 * S);
        assert_int_equal(h.f.perm_times[2], t0 + 480 * S);
        assert_int_equal(count_ev(&h, TURN_OUT_PERMISSION_OK), 1); /* refreshes are silent */
        h_free(&h);
}

static void test_unpermitted_and_malformed_input(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h_allocate(&h);
        struct addr peer = mk("192.0.2.10:5000"), stranger = mk("192.0.2.99:5000");
        assert_int_equal(turn_client_create_permission(h.c, h.now, &peer), 0);
        h_run(&h);
        size_t before = h.nev;
        fake_from_peer(&h.f, &stranger, (const uint8_t *)"spam", 4, false);
        h_run(&h);
        assert_int_equal(h.nev, before);

        /* ChannelData on a channel never bound. */
        uint8_t cd[] = {0x40, 0x05, 0x00, 0x02, 'h', 'i', 0, 0};
        assert_int_equal(turn_client_handle_datagram(h.c, h.now, cd, sizeof(cd)), 0);
        /* Truncated ChannelData, garbage, truncated STUN, a stray response. */
        uint8_t shortcd[] = {0x40, 0x00, 0x00, 0x09, 'x'};
        assert_int_equal(turn_client_handle_datagram(h.c, h.now, shortcd, sizeof(shortcd)), 0);
        uint8_t junk[] = {0xff, 0x00, 0x12, 0x34};
        assert_int_equal(turn_client_handle_datagram(h.c, h.now, junk, sizeof(junk)), 0);
        assert_int_equal(turn_client_handle_datagram(h.c, h.now, junk, 0), 0);
        struct stun_msg fake_req;
        memset(&fake_req, 0, sizeof(fake_req));
        fake_req.method = STUN_METHOD_REFRESH;
        memset(fake_req.txid, 0x55, 12);
        reply_error(&h.f, &fake_req, 437, false, true);
        h_run(&h);
        assert_int_equal(h.nev, before);

        /* Random bytes and mutations of a real Data indication never crash or leak. */
        fake_from_peer(&h.f, &peer, (const uint8_t *)"payload!", 8, true);
        struct dgram good = h.f.out[--h.f.nout];
        uint32_t seed = 7;
        uint8_t buf[256];
        for (int i = 0; i < 20000; i++) {
                size_t n = good.n;
                memcpy(buf, good.d, n);
                unsigned flips = 1 + lcg(&seed) % 4;
                for (unsigned k = 0; k < flips; k++)
                        buf[lcg(&seed) % n] ^= (uint8_t)(1u << (lcg(&seed) % 8));
                if (lcg(&seed) % 4 == 0)
                        n = lcg(&seed) % n;
                if (i % 5 == 0)
                        for (size_t k = 0; k < n; k++)
                                buf[k] = (uint8_t)lcg(&seed);
                turn_client_handle_datagram(h.c, h.now, buf, n);
                struct turn_output o;
                while (turn_client_poll_output(h.c, &o) == 1)
                        if (o.kind == TURN_OUT_DATA)
                                assert_true(o.len <= n);
        }
        free(good.d);
        assert_true(turn_client_is_allocated(h.c));
        h_free(&h);
}

static void test_permission_forbidden(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h_allocate(&h);
        struct addr bad = mk("10.9.9.9:1234");
        h.f.has_forbidden = true;
        h.f.forbidden_ip = bad;
        assert_int_equal(turn_client_send(h.c, h.now, &bad, (const uint8_t *)"q", 1), 0);
        h_run(&h);
        struct ev *e = find_ev(&h, TURN_OUT_PERMISSION_FAILED, 0);
        assert_non_null(e);
        assert_int_equal(e->stun_error, 403);
        assert_int_equal(e->error, -EPERM);
        assert_non_null(strstr(e->reason, "10.9.9.9"));
        assert_non_null(strstr(e->reason, "403"));
        assert_int_equal(h.f.n_send, 0);
        assert_int_equal(turn_client_send(h.c, h.now, &bad, (const uint8_t *)"q", 1), -EACCES);
        /* The allocation itself is fine, and asking again is allowed. */
        assert_true(turn_client_is_allocated(h.c));
        h.f.has_forbidden = false;
        assert_int_equal(turn_client_create_permission(h.c, h.now, &bad), 0);
        h_run(&h);
        assert_non_null(find_ev(&h, TURN_OUT_PERMISSION_OK, 0));
        assert_int_equal(turn_client_send(h.c, h.now, &bad, (const uint8_t *)"q", 1), 0);
        h_run(&h);
        assert_int_equal(h.f.n_send, 1);
        h_free(&h);
}

static void channel_flow(struct h *h)
{
        h_allocate(h);
        uint64_t t0 = h->now;
        struct addr peer = mk("192.0.2.20:7000");
        /* Before the binding completes, data goes as a (queued) Send indication. */
        uint16_t ch = 0;
        assert_int_equal(turn_client_bind_channel(h->c, h->now, &peer, &ch), 0);
        assert_int_equal(ch, 0x4000);
        assert_int_equal(turn_client_send(h->c, h->now, &peer, (const uint8_t *)"early", 5), 0);
        h_run(h);
        assert_int_equal(h->f.n_chan, 1);
        struct ev *e = find_ev(h, TURN_OUT_CHANNEL_OK, 0);
        assert_non_null(e);
        assert_int_equal(e->channel, 0x4000);
        assert_true(addr_equal(&e->peer, &peer));
        assert_int_equal(h->f.n_send + h->f.n_cd, 1);

        /* Once bound: ChannelData, with odd lengths to exercise stream padding. */
        for (size_t n = 0; n < 9; n++) {
                uint8_t d[16];
                memset(d, (int)('a' + n), n);
                assert_int_equal(turn_client_send(h->c, h->now, &peer, d, n), 0);
                h_run(h);
                assert_int_equal(h->f.last_len, n);
                assert_memory_equal(h->f.last_data, d, n);
        }
        assert_int_equal(h->f.n_cd, 9 + (h->f.n_send == 0));

        /* And back: ChannelData from the peer. */
        for (size_t n = 1; n < 8; n++) {
                uint8_t d[16];
                memset(d, (int)('A' + n), n);
                fake_from_peer(&h->f, &peer, d, n, false);
                fake_from_peer(&h->f, &peer, d, n, true); /* servers may also use indications */
        }
        h_run(h);
        assert_int_equal(count_ev(h, TURN_OUT_DATA), 14);
        for (size_t i = 0; i < 14; i++) {
                e = find_ev(h, TURN_OUT_DATA, i);
                size_t n = 1 + i / 2;
                assert_int_equal(e->len, n);
                assert_int_equal(e->data[0], 'A' + n);
                assert_true(addr_equal(&e->peer, &peer));
                assert_int_equal(e->channel, i % 2 == 0 ? 0x4000 : 0);
        }

        /* Channel refresh at 540 s keeps the binding; its permission is refreshed too. */
        h_advance(h, t0 + 1200 * S);
        assert_int_equal(h->f.n_chan, 3);
        assert_int_equal(h->f.chan_times[1], t0 + 540 * S);
        assert_int_equal(h->f.chan_times[2], t0 + 1080 * S);
        assert_true(h->f.n_perm >= 4);
        assert_int_equal(turn_client_send(h->c, h->now, &peer, (const uint8_t *)"late", 4), 0);
        h_run(h);
        assert_int_equal(h->f.n_dropped_no_chan, 0);
        assert_memory_equal(h->f.last_data, "late", 4);
        assert_int_equal(count_ev(h, TURN_OUT_CHANNEL_OK), 1);
        assert_int_equal(count_ev(h, TURN_OUT_FAILED), 0);
        assert_false(h->f.alloc_expired_seen);

        /* A second peer gets the next channel number. */
        struct addr peer2 = mk("192.0.2.21:7000");
        assert_int_equal(turn_client_bind_channel(h->c, h->now, &peer2, &ch), 0);
        assert_int_equal(ch, 0x4001);
        assert_int_equal(turn_client_bind_channel(h->c, h->now, &peer, &ch), 0);
        assert_int_equal(ch, 0x4000);
        h_run(h);
        assert_int_equal(count_ev(h, TURN_OUT_CHANNEL_OK), 2);

        /* Release. */
        assert_int_equal(turn_client_close(h->c, h->now), 0);
        h_run(h);
        assert_int_equal(h->f.last_refresh_lifetime, 0);
        assert_false(h->f.allocated);
        assert_non_null(find_ev(h, TURN_OUT_CLOSED, 0));
        assert_int_equal(turn_client_next_deadline(h->c), UINT64_MAX);
        assert_int_equal(turn_client_close(h->c, h->now), -EALREADY);
}

static void test_channel_udp(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        channel_flow(&h);
        h_free(&h);
}

static void test_stream_whole(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_TCP, "secret");
        h.chunking = CHUNK_WHOLE;
        channel_flow(&h);
        h_free(&h);
}

static void test_stream_byte_by_byte(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_TCP, "secret");
        h.chunking = CHUNK_BYTES;
        channel_flow(&h);
        h_free(&h);
}

static void test_stream_random_chunks(void **state)
{
        (void)state;
        for (uint32_t seed = 1; seed <= 20; seed++) {
                struct h h;
                h_init(&h, TURN_TRANSPORT_TLS, "secret");
                h.chunking = CHUNK_RANDOM;
                h.seed = seed;
                channel_flow(&h);
                h_free(&h);
        }
}

static void test_stream_garbage_fails(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_TCP, "secret");
        h_allocate(&h);
        /* Half a frame, then bytes that start neither STUN nor ChannelData. */
        uint8_t half[] = {0x40, 0x00, 0x00};
        assert_int_equal(turn_client_handle_stream(h.c, h.now, half, sizeof(half)), 0);
        assert_true(turn_client_is_allocated(h.c));
        uint8_t rest[] = {0x01, 'x', 0, 0, 0, 0x99, 0x99, 0x99, 0x99};
        assert_int_equal(turn_client_handle_stream(h.c, h.now, rest, 5), 0);
        assert_int_equal(turn_client_handle_stream(h.c, h.now, rest + 5, 4), -EPROTO);
        h_run(&h);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_int_equal(e->error, -EPROTO);
        assert_non_null(strstr(e->reason, "neither STUN nor ChannelData"));
        /* Further input is ignored. */
        assert_int_equal(turn_client_handle_stream(h.c, h.now, rest, sizeof(rest)), 0);
        h_free(&h);
}

static void test_stream_closed(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_TCP, "secret");
        h_allocate(&h);
        assert_int_equal(turn_client_handle_stream_closed(h.c, h.now), 0);
        h_run(&h);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_int_equal(e->error, -ECONNRESET);
        assert_string_equal(e->reason, "TURN server 127.0.0.1:3478 closed the connection");
        assert_false(turn_client_is_allocated(h.c));
        assert_int_equal(turn_client_next_deadline(h.c), UINT64_MAX);
        h_free(&h);

        /* While releasing, the server hanging up completes the close. */
        h_init(&h, TURN_TRANSPORT_TCP, "secret");
        h_allocate(&h);
        h.f.silent = true;
        assert_int_equal(turn_client_close(h.c, h.now), 0);
        h_run(&h);
        assert_int_equal(count_ev(&h, TURN_OUT_CLOSED), 0);
        assert_int_equal(turn_client_handle_stream_closed(h.c, h.now), 0);
        h_run(&h);
        assert_non_null(find_ev(&h, TURN_OUT_CLOSED, 0));
        assert_int_equal(count_ev(&h, TURN_OUT_FAILED), 0);
        h_free(&h);
}

static void test_timeout_no_server(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h.f.silent = true;
        uint64_t t0 = h.now;
        assert_int_equal(turn_client_start(h.c, h.now), 0);
        h_advance(&h, t0 + 100 * S);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_int_equal(e->at, t0 + 39500000ull);
        assert_int_equal(e->error, -ETIMEDOUT);
        assert_string_equal(e->reason, "no response from TURN server 127.0.0.1:3478 after 39.5 s");
        assert_int_equal(h.n_tx, 7); /* Rc transmissions */
        assert_int_equal(turn_client_next_deadline(h.c), UINT64_MAX);
        h_free(&h);

        /* On a stream: one transmission, same overall timeout. */
        h_init(&h, TURN_TRANSPORT_TCP, "secret");
        h.f.silent = true;
        t0 = h.now;
        assert_int_equal(turn_client_start(h.c, h.now), 0);
        h_advance(&h, t0 + 100 * S);
        e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_int_equal(e->at, t0 + 39500000ull);
        assert_int_equal(h.n_tx, 1);
        h_free(&h);
}

static void test_forged_success_dropped(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h.f.corrupt_mi = true;
        uint64_t t0 = h.now;
        assert_int_equal(turn_client_start(h.c, h.now), 0);
        h_run(&h);
        /* The success carried a wrong MESSAGE-INTEGRITY: not believed. */
        assert_int_equal(count_ev(&h, TURN_OUT_ALLOCATED), 0);
        h.f.silent = true;
        h_advance(&h, t0 + 100 * S);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_non_null(strstr(e->reason, "no response from TURN server 127.0.0.1:3478"));
        assert_non_null(strstr(e->reason, "wrong MESSAGE-INTEGRITY"));
        h_free(&h);
}

/* ---- watching the server of a call ---- */

/* The server restarts: it forgets the allocation, its channels and permissions, its nonce. */
static void fake_restart(struct fake *f)
{
        f->allocated = false;
        f->nchans = 0;
        f->nperms = 0;
        f->nonce_gen += 100;
        snprintf(f->nonce, sizeof(f->nonce), "nonce-%u", f->nonce_gen);
}

/* An allocation with a channel to `peer`, carrying a call: watched. Checks start at once. */
static void watch_setup(struct h *h, enum turn_transport tr, const struct addr *peer)
{
        h_init(h, tr, "secret");
        h->count_data = true;
        h_allocate(h);
        assert_int_equal(turn_client_bind_channel(h->c, h->now, peer, NULL), 0);
        h_run(h);
        assert_non_null(find_ev(h, TURN_OUT_CHANNEL_OK, 0));
        turn_client_set_watched(h->c, true);
        h->next_check = h->now;
}

static void send_check(struct h *h, const struct addr *peer, enum stun_class cls)
{
        uint8_t txid[STUN_TXID_SIZE] = {1, 2, 3};
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, cls, txid);
        assert_int_equal(stun_build_fingerprint(&sb), 0);
        if (cls == STUN_CLASS_REQUEST)
                assert_int_equal(turn_client_send(h->c, h->now, peer, b.data, b.len), 0);
        else
                fake_from_peer(&h->f, peer, b.data, b.len, false);
        buf_free(&b);
        h_run(h);
}

/*
 * A call through the relay until `until` (or a failure): every 20 ms the client sends media to
 * the peer, every 5 s a consent check (a STUN request); while `peer_answers` (and the server
 * relays) the peer sends media back and answers the checks.
 */
static void call_until(struct h *h, const struct addr *peer, uint64_t until, bool peer_answers)
{
        while (h->now < until && !find_ev(h, TURN_OUT_FAILED, 0)) {
                h_advance(h, h->now + S / 50);
                if (find_ev(h, TURN_OUT_FAILED, 0))
                        break;
                bool relays = peer_answers && h->f.allocated && !h->f.silent;
                assert_int_equal(turn_client_send(h->c, h->now, peer, (const uint8_t *)"rtp", 3),
                                 0);
                h_run(h);
                if (h->now >= h->next_check) {
                        h->next_check += 5 * S;
                        send_check(h, peer, STUN_CLASS_REQUEST);
                        if (relays)
                                send_check(h, peer, STUN_CLASS_SUCCESS);
                }
                if (relays) {
                        fake_from_peer(&h->f, peer, (const uint8_t *)"rtcp", 4, false);
                        h_run(h);
                }
        }
}

static void test_watch_allocation_lost(void **state)
{
        (void)state;
        struct addr peer = mk("192.0.2.40:5000");
        enum turn_transport trs[] = {TURN_TRANSPORT_UDP, TURN_TRANSPORT_TCP};
        for (size_t i = 0; i < 2; i++) {
                struct h h;
                watch_setup(&h, trs[i], &peer);
                /* A healthy call: the server is never checked out of turn. */
                call_until(&h, &peer, h.next_check + 20 * S - S / 5, true);
                assert_int_equal(h.f.n_refresh, 0);
                assert_true(h.n_data > 900);
                /* The server restarts 0.2 s before a check; nothing comes back any more. */
                uint64_t fault = h.now;
                fake_restart(&h.f);
                call_until(&h, &peer, fault + 30 * S, true);
                struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
                assert_non_null(e);
                /* Checked after 3 s of silence; the answer (438 then 437) comes at once. */
                assert_in_range(e->at - fault, 3 * S, 3 * S + S / 10);
                assert_int_equal(e->stun_error, 437);
                assert_int_equal(e->error, -ENOENT);
                assert_string_equal(e->reason, "TURN server 127.0.0.1:3478 lost our allocation "
                                               "(437 Allocation Mismatch): it restarted");
                assert_int_equal(h.f.n_refresh, 1);
                assert_false(turn_client_is_allocated(h.c));
                assert_int_equal(turn_client_next_deadline(h.c), UINT64_MAX);
                h_free(&h);
        }

        /* The fault just after a check was answered: the next check, 1 s unanswered, decides. */
        struct h h;
        watch_setup(&h, TURN_TRANSPORT_UDP, &peer);
        call_until(&h, &peer, h.next_check + 10 * S - 4 * S, true);
        uint64_t fault = h.now;
        fake_restart(&h.f);
        call_until(&h, &peer, fault + 30 * S, true);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_in_range(e->at - fault, 5 * S, 5 * S + S / 10);
        assert_int_equal(e->stun_error, 437);
        h_free(&h);
}

static void test_watch_server_silent(void **state)
{
        (void)state;
        struct addr peer = mk("192.0.2.40:5000");
        enum turn_transport trs[] = {TURN_TRANSPORT_UDP, TURN_TRANSPORT_TCP};
        for (size_t i = 0; i < 2; i++) {
                struct h h;
                watch_setup(&h, trs[i], &peer);
                call_until(&h, &peer, h.next_check + 5 * S - S / 5, true);
                uint64_t fault = h.now;
                unsigned tx_before = h.n_tx;
                h.f.silent = true; /* killed */
                call_until(&h, &peer, fault + 30 * S, true);
                struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
                assert_non_null(e);
                /* 3 s of silence, then a refresh given up after TURN_PROBE_BUDGET_MS. */
                assert_in_range(e->at - fault, 6 * S, 6 * S + S / 10);
                assert_int_equal(e->error, -ETIMEDOUT);
                assert_int_equal(e->stun_error, 0);
                assert_non_null(strstr(e->reason,
                                       "TURN server 127.0.0.1:3478 stopped answering: nothing from "
                                       "it for 6.0 s, and no answer to a refresh within 3.0 s"));
                /* UDP: the refresh went out 3 times; TCP: once. The rest was media and checks. */
                unsigned sent = (unsigned)((e->at - fault) / (S / 50)) + 2;
                assert_in_range(h.n_tx - tx_before - sent, i == 0 ? 2 : 0, i == 0 ? 4 : 2);
                h_free(&h);
        }

        /* A scheduled refresh already waiting for the dead server is replaced by the check. */
        struct h h;
        watch_setup(&h, TURN_TRANSPORT_UDP, &peer);
        uint64_t t0 = h.now;
        h.f.silent = true;
        h_advance(&h, t0 + 541 * S); /* the refresh is out, retransmitting for 39.5 s */
        assert_int_equal(count_ev(&h, TURN_OUT_FAILED), 0);
        uint64_t fault = h.now;
        h.next_check = h.now;
        call_until(&h, &peer, fault + 30 * S, false);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        /* Nothing heard for 541 s already: checked 1 s after the first unanswered check. */
        assert_in_range(e->at - fault, 4 * S, 4 * S + S / 10);
        assert_non_null(strstr(e->reason, "stopped answering"));
        h_free(&h);
}

static void test_watch_peer_silent(void **state)
{
        (void)state;
        struct addr peer = mk("192.0.2.40:5000");
        struct h h;
        watch_setup(&h, TURN_TRANSPORT_UDP, &peer);
        call_until(&h, &peer, h.next_check + 5 * S - S / 5, true);
        /* The peer goes away; the server is fine and answers every check. */
        uint64_t fault = h.now;
        call_until(&h, &peer, fault + 60 * S, false);
        assert_int_equal(count_ev(&h, TURN_OUT_FAILED), 0);
        assert_true(turn_client_is_allocated(h.c));
        /*
         * Checked after 3 s of silence, then 6, 12, 24 s after the previous answer (a consent
         * check is always waiting by then): at 3, 9, 21 and 45 s.
         */
        assert_int_equal(h.f.n_refresh, 4);
        uint64_t want[] = {3 * S, 9 * S, 21 * S, 45 * S};
        for (int k = 0; k < 4; k++)
                assert_in_range(h.f.refresh_times[k] - fault, want[k], want[k] + S / 10);
        /* The peer is back: the next silence is checked after 3 s again. */
        call_until(&h, &peer, h.next_check + 5 * S - S / 5, true);
        unsigned n = h.f.n_refresh;
        fault = h.now;
        fake_restart(&h.f);
        call_until(&h, &peer, fault + 30 * S, true);
        struct ev *e = find_ev(&h, TURN_OUT_FAILED, 0);
        assert_non_null(e);
        assert_in_range(e->at - fault, 3 * S, 3 * S + S / 10);
        assert_int_equal(e->stun_error, 437);
        assert_int_equal(h.f.n_refresh, n + 1);
        h_free(&h);
}

static void test_watch_off(void **state)
{
        (void)state;
        struct addr peer = mk("192.0.2.40:5000");
        /* Not watched (the call goes elsewhere): a dead server waits for the scheduled refresh. */
        struct h h;
        watch_setup(&h, TURN_TRANSPORT_UDP, &peer);
        turn_client_set_watched(h.c, false);
        uint64_t fault = h.now;
        h.f.silent = true;
        call_until(&h, &peer, fault + 60 * S, false);
        assert_int_equal(count_ev(&h, TURN_OUT_FAILED), 0);
        assert_int_equal(h.f.n_refresh, 0);
        h_free(&h);

        /* Watched, but nothing goes out (an idle allocation): silence alone is no reason. */
        watch_setup(&h, TURN_TRANSPORT_UDP, &peer);
        fault = h.now;
        h.f.silent = true;
        h_advance(&h, fault + 60 * S);
        assert_int_equal(count_ev(&h, TURN_OUT_FAILED), 0);
        assert_int_equal(h.n_tx, 3); /* the Allocates and the ChannelBind, nothing since */
        h_free(&h);

        /* Media one way only, answered checks, long silences: no reason either. */
        watch_setup(&h, TURN_TRANSPORT_UDP, &peer);
        for (int k = 0; k < 20; k++) {
                h_advance(&h, h.now + 5 * S);
                for (int m = 0; m < 10; m++)
                        assert_int_equal(
                            turn_client_send(h.c, h.now, &peer, (const uint8_t *)"rtp", 3), 0);
                send_check(&h, &peer, STUN_CLASS_REQUEST);
                send_check(&h, &peer, STUN_CLASS_SUCCESS);
        }
        assert_int_equal(h.f.n_refresh, 0);
        h_free(&h);
}

static void test_config_and_arguments(void **state)
{
        (void)state;
        struct turn_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        assert_null(turn_client_new(&cfg)); /* no server */
        assert_null(turn_client_new(NULL));
        cfg.server = *srv_addr();
        cfg.password = "p"; /* password without user */
        assert_null(turn_client_new(&cfg));
        cfg.username = "u";
        cfg.family = ADDR_FAMILY_IPV6;
        struct turn_client *c = turn_client_new(&cfg);
        assert_non_null(c);
        struct addr peer = mk("192.0.2.1:1");
        assert_int_equal(turn_client_send(c, 0, &peer, (const uint8_t *)"x", 1), -ENOTCONN);
        assert_int_equal(turn_client_create_permission(c, 0, &peer), -ENOTCONN);
        assert_int_equal(turn_client_bind_channel(c, 0, &peer, NULL), -ENOTCONN);
        assert_int_equal(turn_client_send(c, 0, NULL, NULL, 0), -EINVAL);
        assert_int_equal(turn_client_next_deadline(c), UINT64_MAX);
        /* The IPv6 request is in the Allocate. */
        assert_int_equal(turn_client_start(c, 0), 0);
        struct turn_output o;
        assert_int_equal(turn_client_poll_output(c, &o), 1);
        assert_int_equal(o.kind, TURN_OUT_TRANSMIT);
        struct stun_msg m;
        assert_int_equal(stun_msg_parse(&m, o.data, o.len), 0);
        assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
        assert_true(m.has_requested_family);
        assert_int_equal(m.requested_family, 2);
        assert_true(m.has_lifetime);
        assert_int_equal(m.lifetime, 600);
        assert_false(m.has_integrity);
        assert_int_equal(turn_client_poll_output(c, &o), 0);
        assert_int_equal(turn_client_next_deadline(c), 500000);
        /* Closing before the allocation exists ends at once. */
        assert_int_equal(turn_client_close(c, 1), 0);
        assert_int_equal(turn_client_poll_output(c, &o), 1);
        assert_int_equal(o.kind, TURN_OUT_CLOSED);
        assert_int_equal(turn_client_next_deadline(c), UINT64_MAX);
        turn_client_free(c);
        turn_client_free(NULL);
}

static void test_queue_bound(void **state)
{
        (void)state;
        struct h h;
        h_init(&h, TURN_TRANSPORT_UDP, "secret");
        h_allocate(&h);
        struct addr peer = mk("192.0.2.30:1");
        for (unsigned i = 0; i < TURN_MAX_QUEUED_PER_PEER; i++)
                assert_int_equal(turn_client_send(h.c, h.now, &peer, (const uint8_t *)"z", 1), 0);
        assert_int_equal(turn_client_send(h.c, h.now, &peer, (const uint8_t *)"z", 1), -ENOBUFS);
        h_run(&h);
        assert_int_equal(h.f.n_send, TURN_MAX_QUEUED_PER_PEER);
        h_free(&h);
}

int main(void)
{
        log_set_level(LOG_LEVEL_ERROR);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_allocate_long_term_credentials),
            cmocka_unit_test(test_stale_nonce_retry),
            cmocka_unit_test(test_stale_nonce_bounded),
            cmocka_unit_test(test_wrong_password_401),
            cmocka_unit_test(test_wrong_password_441),
            cmocka_unit_test(test_refresh_timing),
            cmocka_unit_test(test_refresh_mismatch_fails),
            cmocka_unit_test(test_permission_and_send_indication),
            cmocka_unit_test(test_unpermitted_and_malformed_input),
            cmocka_unit_test(test_permission_forbidden),
            cmocka_unit_test(test_channel_udp),
            cmocka_unit_test(test_stream_whole),
            cmocka_unit_test(test_stream_byte_by_byte),
            cmocka_unit_test(test_stream_random_chunks),
            cmocka_unit_test(test_stream_garbage_fails),
            cmocka_unit_test(test_stream_closed),
            cmocka_unit_test(test_timeout_no_server),
            cmocka_unit_test(test_forged_success_dropped),
            cmocka_unit_test(test_config_and_arguments),
            cmocka_unit_test(test_queue_bound),
            cmocka_unit_test(test_watch_allocation_lost),
            cmocka_unit_test(test_watch_server_silent),
            cmocka_unit_test(test_watch_peer_silent),
            cmocka_unit_test(test_watch_off),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "ice/turn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "ice/stun.h"
#include "ice/stun_txn.h"

#define US_PER_S 1000000ull
/* Largest payload that still fits a Send indication with an IPv6 peer in 16 bits of length. */
#define TURN_MAX_DATA (0xFFFFu - 64u)
#define REASON_MAX    256

enum turn_state {
        ST_IDLE,
        ST_ALLOCATING,
        ST_ALLOCATED,
        ST_CLOSING,
        ST_CLOSED,
        ST_FAILED,
};

enum req_kind {
        REQ_ALLOCATE,
        REQ_REFRESH,
        REQ_PERMISSION,
        REQ_CHANNEL,
};

/* What the client needs to rebuild a request after 438 and to act on its answer. */
struct turn_req {
        uint8_t txid[STUN_TXID_SIZE];
        enum req_kind kind;
        struct addr peer;
        uint16_t channel;
        uint32_t lifetime; /* REFRESH: 0 releases the allocation */
        unsigned retries;
        bool authenticated;
        bool probe;          /* REFRESH: a check of a silent server, on a short budget */
        uint64_t started_us; /* first request of the chain, for the timeout message */
};

enum peer_state {
        PEER_PENDING,
        PEER_OK,
        PEER_FAILED,
};

struct turn_perm {
        struct addr ip; /* port 0: permissions are per IP address */
        enum peer_state state;
        bool inflight;
        uint64_t refresh_at;
};

struct turn_chan {
        struct addr peer;
        uint16_t number;
        enum peer_state state;
        bool inflight;
        uint64_t refresh_at;
};

struct queued {
        struct addr peer;
        uint8_t *data;
        size_t len;
};

struct out_item {
        struct turn_output o;
        uint8_t *owned;
        char reason[REASON_MAX];
};

struct turn_client {
        struct addr server;
        char server_str[ADDR_STRLEN];
        bool stream;
        char *username, *password, *software;
        enum addr_family family;
        uint32_t lifetime_req;
        enum turn_state state;

        /* Long-term credential state learnt from the server's 401/438. */
        char realm[STUN_MAX_TEXT + 1];
        size_t realm_len;
        uint8_t nonce[STUN_MAX_TEXT];
        size_t nonce_len;
        uint8_t pw_algs[4 * STUN_MAX_PASSWORD_ALG + 64];
        size_t pw_algs_len;
        bool has_pw_algs;
        uint8_t key[STUN_SHA256_KEY_SIZE];
        size_t keylen;
        bool have_key;

        struct addr relayed, mapped;
        uint32_t lifetime;
        uint64_t refresh_at;
        bool refresh_inflight;
        unsigned bad_integrity; /* responses dropped for a wrong MESSAGE-INTEGRITY */

        /* Watching the server while the allocation carries the call (turn_client_set_watched). */
        bool watched;
        bool probe_inflight;
        unsigned probes_answered; /* since data from a peer last came: backs the checks off */
        uint64_t last_heard_us;   /* a response, or data from a peer, came from the server */
        uint64_t unanswered_us;   /* first STUN request relayed to a peer since; 0 = none */

        struct stun_txn_table *txns;
        struct turn_req *reqs;
        size_t nreqs, reqs_cap;
        struct turn_perm *perms;
        size_t nperms, perms_cap;
        struct turn_chan *chans;
        size_t nchans, chans_cap;
        struct queued *queue;
        size_t nqueue, queue_cap;

        struct out_item *outs;
        size_t out_head, nouts, outs_cap;
        struct out_item cur; /* the item last returned by poll_output; owns its bytes */

        struct buf rx;      /* stream reassembly */
        struct buf scratch; /* message building */
};

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
        if (need <= *cap)
                return 0;
        size_t n = *cap ? *cap * 2 : 8;
        while (n < need)
                n *= 2;
        void *p = realloc(*v, n * size);
        if (!p)
                return -ENOMEM;
        *v = p;
        *cap = n;
        return 0;
}

static char *dup_or_null(const char *s, bool *ok)
{
        if (!s)
                return NULL;
        char *d = strdup(s);
        if (!d)
                *ok = false;
        return d;
}

static void wipe_free(char *s)
{
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

/* Server-supplied text goes into our one-line messages: keep it short and printable. */
static void sanitize(char *dst, size_t cap, const uint8_t *src, size_t len)
{
        size_t n = len < cap - 1 ? len : cap - 1;
        for (size_t i = 0; i < n; i++)
                dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
        dst[n] = '\0';
}

static uint64_t add_s(uint64_t now, uint64_t us)
{
        return now > UINT64_MAX - us ? UINT64_MAX : now + us;
}

/* ---- outputs ---- */

static struct out_item *out_push(struct turn_client *c, enum turn_output_kind kind)
{
        /* Data can be dropped like any datagram; control events must not be. */
        if ((kind == TURN_OUT_TRANSMIT || kind == TURN_OUT_DATA) &&
            c->nouts - c->out_head >= TURN_MAX_OUTPUTS) {
                log_debug("turn", "output queue full, dropping a packet");
                return NULL;
        }
        if (c->out_head == c->nouts) {
                c->out_head = 0;
                c->nouts = 0;
        } else if (c->out_head > 64 && c->out_head * 2 > c->nouts) {
                memmove(c->outs, c->outs + c->out_head,
                        (c->nouts - c->out_head) * sizeof(*c->outs));
                c->nouts -= c->out_head;
                c->out_head = 0;
        }
        if (grow((void **)&c->outs, &c->outs_cap, c->nouts + 1, sizeof(*c->outs)) < 0)
                return NULL;
        struct out_item *it = &c->outs[c->nouts++];
        memset(it, 0, sizeof(*it));
        it->o.kind = kind;
        return it;
}

static int out_bytes(struct out_item *it, const uint8_t *data, size_t len)
{
        it->owned = malloc(len ? len : 1);
        if (!it->owned)
                return -ENOMEM;
        if (len)
                memcpy(it->owned, data, len);
        it->o.len = len;
        return 0;
}

static void emit_transmit(struct turn_client *c, const uint8_t *data, size_t len)
{
        struct out_item *it = out_push(c, TURN_OUT_TRANSMIT);
        if (!it)
                return;
        it->o.dst = c->server;
        if (out_bytes(it, data, len) < 0)
                c->nouts--;
}

static void emit_data(struct turn_client *c, const struct addr *peer, uint16_t channel,
                      const uint8_t *data, size_t len)
{
        struct out_item *it = out_push(c, TURN_OUT_DATA);
        if (!it)
                return;
        it->o.peer = *peer;
        it->o.channel = channel;
        if (out_bytes(it, data, len) < 0)
                c->nouts--;
}

__attribute__((format(printf, 7, 8))) static void
emit_failure(struct turn_client *c, enum turn_output_kind kind, const struct addr *peer,
             uint16_t channel, int error, uint16_t stun_error, const char *fmt, ...)
{
        struct out_item *it = out_push(c, kind);
        if (!it)
                return;
        if (peer)
                it->o.peer = *peer;
        it->o.channel = channel;
        it->o.error = error;
        it->o.stun_error = stun_error;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
        va_end(ap);
        log_debug("turn", "%s", it->reason);
}

static void emit_simple(struct turn_client *c, enum turn_output_kind kind, const struct addr *peer,
                        uint16_t channel)
{
        struct out_item *it = out_push(c, kind);
        if (!it)
                return;
        if (peer)
                it->o.peer = *peer;
        it->o.channel = channel;
}

/* ---- watching the server ---- */

/* Something came from the server: a response, or (peer_data) what a peer sent through it. */
static void heard(struct turn_client *c, uint64_t now, bool peer_data)
{
        c->last_heard_us = now;
        c->unanswered_us = 0;
        if (peer_data)
                c->probes_answered = 0;
}

static bool is_stun_request(const uint8_t *data, size_t len)
{
        /* The class bits (RFC 8489 §5) are 0x0110 of the message type; 00 is a request. */
        return stun_is_message(data, len) && (data[1] & 0x10) == 0 && (data[0] & 0x01) == 0;
}

/* When the watched server has been silent long enough to be checked; UINT64_MAX: not yet. */
static uint64_t probe_due(const struct turn_client *c)
{
        if (!c->watched || c->state != ST_ALLOCATED || c->probe_inflight || !c->unanswered_us)
                return UINT64_MAX;
        uint64_t silence = (uint64_t)TURN_PROBE_SILENCE_MS * 1000u << c->probes_answered;
        uint64_t a = add_s(c->last_heard_us, silence);
        uint64_t b = add_s(c->unanswered_us, (uint64_t)TURN_PROBE_UNANSWERED_MS * 1000u);
        return a > b ? a : b;
}

/* ---- tables ---- */

static struct turn_req *find_req(struct turn_client *c, const uint8_t *txid)
{
        for (size_t i = 0; i < c->nreqs; i++)
                if (memcmp(c->reqs[i].txid, txid, STUN_TXID_SIZE) == 0)
                        return &c->reqs[i];
        return NULL;
}

static void remove_req(struct turn_client *c, struct turn_req *r)
{
        size_t i = (size_t)(r - c->reqs);
        memmove(&c->reqs[i], &c->reqs[i + 1], (c->nreqs - i - 1) * sizeof(*r));
        c->nreqs--;
}

static struct turn_perm *find_perm(struct turn_client *c, const struct addr *peer)
{
        for (size_t i = 0; i < c->nperms; i++)
                if (addr_equal_ip(&c->perms[i].ip, peer))
                        return &c->perms[i];
        return NULL;
}

static struct turn_perm *add_perm(struct turn_client *c, const struct addr *peer)
{
        if (c->nperms >= TURN_MAX_PEERS ||
            grow((void **)&c->perms, &c->perms_cap, c->nperms + 1, sizeof(*c->perms)) < 0)
                return NULL;
        struct turn_perm *p = &c->perms[c->nperms++];
        memset(p, 0, sizeof(*p));
        p->ip = *peer;
        p->ip.port = 0;
        p->state = PEER_PENDING;
        p->refresh_at = UINT64_MAX;
        return p;
}

static struct turn_chan *find_chan_peer(struct turn_client *c, const struct addr *peer)
{
        for (size_t i = 0; i < c->nchans; i++)
                if (addr_equal(&c->chans[i].peer, peer))
                        return &c->chans[i];
        return NULL;
}

static struct turn_chan *find_chan_number(struct turn_client *c, uint16_t number)
{
        /* Numbers are handed out in order and never reused, so the index is the number. */
        size_t i = (size_t)number - TURN_CHANNEL_MIN;
        if (number < TURN_CHANNEL_MIN || i >= c->nchans)
                return NULL;
        return &c->chans[i];
}

static void drop_queue(struct turn_client *c, const struct addr *ip)
{
        size_t k = 0;
        for (size_t i = 0; i < c->nqueue; i++) {
                if (!ip || addr_equal_ip(&c->queue[i].peer, ip))
                        free(c->queue[i].data);
                else
                        c->queue[k++] = c->queue[i];
        }
        c->nqueue = k;
}

/* ---- requests ---- */

static const uint16_t req_methods[] = {
    [REQ_ALLOCATE] = STUN_METHOD_ALLOCATE,
    [REQ_REFRESH] = STUN_METHOD_REFRESH,
    [REQ_PERMISSION] = STUN_METHOD_CREATE_PERMISSION,
    [REQ_CHANNEL] = STUN_METHOD_CHANNEL_BIND,
};

static int build_request(struct turn_client *c, const struct turn_req *r, struct buf *out)
{
        struct stun_builder b;
        buf_reset(out);
        stun_build_begin(&b, out, req_methods[r->kind], STUN_CLASS_REQUEST, r->txid);
        switch (r->kind) {
        case REQ_ALLOCATE:
                stun_build_requested_transport(&b, STUN_TRANSPORT_UDP);
                /* Only for IPv6: an RFC 5766 server would answer 420 to this attribute. */
                if (c->family == ADDR_FAMILY_IPV6)
                        stun_build_requested_family(&b, ADDR_FAMILY_IPV6);
                stun_build_u32(&b, STUN_ATTR_LIFETIME, c->lifetime_req);
                break;
        case REQ_REFRESH:
                stun_build_u32(&b, STUN_ATTR_LIFETIME, r->lifetime);
                break;
        case REQ_PERMISSION:
                stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &r->peer);
                break;
        case REQ_CHANNEL:
                stun_build_channel_number(&b, r->channel);
                stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &r->peer);
                break;
        }
        if (c->software)
                stun_build_str(&b, STUN_ATTR_SOFTWARE, c->software);
        if (r->authenticated) {
                stun_build_str(&b, STUN_ATTR_USERNAME, c->username);
                stun_build_attr(&b, STUN_ATTR_REALM, c->realm, c->realm_len);
                stun_build_attr(&b, STUN_ATTR_NONCE, c->nonce, c->nonce_len);
                if (c->has_pw_algs) {
                        /* RFC 8489 §9.2.4: echo the server's list and name our choice. */
                        stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, c->pw_algs,
                                        c->pw_algs_len);
                        stun_build_password_algorithm(&b, STUN_PASSWORD_ALG_MD5);
                }
                stun_build_integrity(&b, c->key, c->keylen);
        }
        return stun_build_fingerprint(&b);
}

static int start_request(struct turn_client *c, uint64_t now, enum req_kind kind,
                         const struct addr *peer, uint16_t channel, uint32_t lifetime,
                         unsigned retries, uint64_t started_us, bool probe)
{
        struct turn_req r;
        memset(&r, 0, sizeof(r));
        r.kind = kind;
        if (peer)
                r.peer = *peer;
        r.channel = channel;
        r.lifetime = lifetime;
        r.retries = retries;
        r.authenticated = c->have_key;
        r.probe = probe;
        r.started_us = started_us;
        int rc = stun_txid_generate(r.txid);
        if (rc == 0)
                rc = grow((void **)&c->reqs, &c->reqs_cap, c->nreqs + 1, sizeof(*c->reqs));
        if (rc == 0)
                rc = build_request(c, &r, &c->scratch);
        if (rc < 0)
                return rc;
        struct stun_txn_config cfg = {.reliable = c->stream};
        if (probe) {
                /* 0, 0.5 and 1.5 s, then 1.5 s more: TURN_PROBE_BUDGET_MS in all. */
                cfg.rto_us = 500000u;
                cfg.rc = 3;
                cfg.rm = 3;
                cfg.ti_us = (uint64_t)TURN_PROBE_BUDGET_MS * 1000u;
        }
        rc = stun_txn_start(c->txns, now, c->scratch.data, c->scratch.len, &c->server, 0, &cfg);
        if (rc < 0)
                return rc;
        c->reqs[c->nreqs++] = r;
        if (kind == REQ_REFRESH)
                c->refresh_inflight = true;
        if (probe)
                c->probe_inflight = true;
        return 0;
}

/* Checks a silent server now: a Refresh on a short budget, replacing a scheduled one. */
static int start_probe(struct turn_client *c, uint64_t now)
{
        for (size_t i = 0; i < c->nreqs; i++) {
                if (c->reqs[i].kind == REQ_REFRESH) {
                        /* Its retransmissions go on for 39.5 s: too slow to tell anything. */
                        stun_txn_cancel(c->txns, c->reqs[i].txid);
                        remove_req(c, &c->reqs[i]);
                        c->refresh_inflight = false;
                        break;
                }
        }
        log_debug("turn", "nothing from TURN server %s for %.1f s: checking the allocation",
                  c->server_str, (double)(now - c->last_heard_us) / 1e6);
        return start_request(c, now, REQ_REFRESH, NULL, 0, c->lifetime_req, 0, now, true);
}

static void cancel_all(struct turn_client *c)
{
        for (size_t i = 0; i < c->nreqs; i++)
                stun_txn_cancel(c->txns, c->reqs[i].txid);
        c->nreqs = 0;
        c->refresh_inflight = false;
        c->probe_inflight = false;
        drop_queue(c, NULL);
}

__attribute__((format(printf, 4, 5))) static void fail(struct turn_client *c, int error,
                                                       uint16_t stun_error, const char *fmt, ...)
{
        cancel_all(c);
        c->state = ST_FAILED;
        struct out_item *it = out_push(c, TURN_OUT_FAILED);
        if (!it)
                return;
        it->o.error = error;
        it->o.stun_error = stun_error;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
        va_end(ap);
        /* The event carries the reason; the shell prints it once. */
        log_debug("turn", "%s", it->reason);
}

static void set_closed(struct turn_client *c)
{
        cancel_all(c);
        c->state = ST_CLOSED;
        emit_simple(c, TURN_OUT_CLOSED, NULL, 0);
}

static int start_permission(struct turn_client *c, uint64_t now, struct turn_perm *p)
{
        int rc = start_request(c, now, REQ_PERMISSION, &p->ip, 0, 0, 0, now, false);
        if (rc == 0)
                p->inflight = true;
        return rc;
}

static int start_channel(struct turn_client *c, uint64_t now, struct turn_chan *ch)
{
        int rc = start_request(c, now, REQ_CHANNEL, &ch->peer, ch->number, 0, 0, now, false);
        if (rc == 0)
                ch->inflight = true;
        return rc;
}

static uint64_t alloc_refresh_delay(uint32_t lifetime)
{
        /* A minute of margin, or half of a short lifetime. */
        if (lifetime > 120)
                return (uint64_t)(lifetime - 60) * US_PER_S;
        return (uint64_t)lifetime * US_PER_S / 2;
}

/* ---- sending to peers ---- */

static void send_to_peer(struct turn_client *c, const struct addr *peer, const uint8_t *data,
                         size_t len)
{
        struct turn_chan *ch = find_chan_peer(c, peer);
        buf_reset(&c->scratch);
        if (ch && ch->state == PEER_OK) {
                if (stun_channel_data_build(&c->scratch, ch->number, data, len, c->stream) < 0)
                        return;
        } else {
                uint8_t txid[STUN_TXID_SIZE];
                struct stun_builder b;
                if (stun_txid_generate(txid) < 0)
                        return;
                stun_build_begin(&b, &c->scratch, STUN_METHOD_SEND, STUN_CLASS_INDICATION, txid);
                stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
                if (stun_build_attr(&b, STUN_ATTR_DATA, data, len) < 0)
                        return;
        }
        emit_transmit(c, c->scratch.data, c->scratch.len);
}

static void flush_queue(struct turn_client *c, const struct addr *ip)
{
        size_t k = 0;
        for (size_t i = 0; i < c->nqueue; i++) {
                struct queued *q = &c->queue[i];
                if (addr_equal_ip(&q->peer, ip)) {
                        send_to_peer(c, &q->peer, q->data, q->len);
                        free(q->data);
                } else {
                        c->queue[k++] = *q;
                }
        }
        c->nqueue = k;
}

static void permission_ok(struct turn_client *c, uint64_t now, struct turn_perm *p)
{
        bool was_ok = p->state == PEER_OK;
        p->state = PEER_OK;
        p->refresh_at = add_s(now, (uint64_t)TURN_PERMISSION_REFRESH_S * US_PER_S);
        if (!was_ok) {
                emit_simple(c, TURN_OUT_PERMISSION_OK, &p->ip, 0);
                flush_queue(c, &p->ip);
        }
}

/* ---- responses ---- */

static int stun_error_to_errno(uint16_t code)
{
        switch (code) {
        case STUN_ERR_UNAUTHORIZED:
        case STUN_ERR_WRONG_CREDENTIALS:
        case STUN_ERR_STALE_NONCE:
                return -EACCES;
        case STUN_ERR_FORBIDDEN:
                return -EPERM;
        case STUN_ERR_ALLOCATION_MISMATCH:
                return -EADDRINUSE;
        case STUN_ERR_ADDRESS_FAMILY_NOT_SUPPORTED:
        case STUN_ERR_PEER_ADDRESS_FAMILY_MISMATCH:
                return -EAFNOSUPPORT;
        case STUN_ERR_ALLOCATION_QUOTA_REACHED:
        case STUN_ERR_INSUFFICIENT_CAPACITY:
                return -EBUSY;
        default:
                return -ECONNREFUSED;
        }
}

/* Takes REALM, NONCE (and PASSWORD-ALGORITHMS) from a 401 or 438 and derives the key. */
static int take_credentials(struct turn_client *c, const struct stun_msg *m, const char **why)
{
        if (!m->has_nonce || m->nonce.len > sizeof(c->nonce)) {
                *why = "without a usable NONCE";
                return -EPROTO;
        }
        if (m->has_realm) {
                if (m->realm.len >= sizeof(c->realm) || memchr(m->realm.data, 0, m->realm.len)) {
                        *why = "with an unusable REALM";
                        return -EPROTO;
                }
                memcpy(c->realm, m->realm.data, m->realm.len);
                c->realm[m->realm.len] = '\0';
                c->realm_len = m->realm.len;
        } else if (!c->have_key) {
                *why = "without a REALM";
                return -EPROTO;
        }
        memcpy(c->nonce, m->nonce.data, m->nonce.len);
        c->nonce_len = m->nonce.len;
        c->has_pw_algs = false;
        if (m->has_password_algorithms) {
                bool md5 = false;
                for (size_t i = 0; i < m->password_algorithms_count; i++)
                        md5 = md5 || m->password_algorithms[i] == STUN_PASSWORD_ALG_MD5;
                if (!md5 || m->password_algorithms_raw.len > sizeof(c->pw_algs)) {
                        *why = "offering no password algorithm this client supports (MD5)";
                        return -EPROTONOSUPPORT;
                }
                memcpy(c->pw_algs, m->password_algorithms_raw.data, m->password_algorithms_raw.len);
                c->pw_algs_len = m->password_algorithms_raw.len;
                c->has_pw_algs = true;
        }
        if (!c->username) {
                *why = "asking for credentials, and none are configured";
                return -EACCES;
        }
        /* The realm may have changed (a 438 can carry a new one): always recompute. */
        int rc = stun_long_term_key(c->username, c->realm, c->password ? c->password : "", c->key);
        if (rc < 0) {
                *why = "(key derivation failed)";
                return rc;
        }
        c->keylen = STUN_MD5_KEY_SIZE;
        c->have_key = true;
        return 0;
}

/*
 * 401 and 438 tell the client to ask again with (new) credentials. Returns true when a new
 * request went out and the answer needs nothing else.
 */
static bool retry_with_credentials(struct turn_client *c, uint64_t now, const struct turn_req *r,
                                   const struct stun_msg *m, uint16_t code)
{
        bool retry;
        if (code == STUN_ERR_UNAUTHORIZED && !r->authenticated)
                retry = true;
        else if (code == STUN_ERR_STALE_NONCE)
                retry = r->authenticated && r->retries < TURN_MAX_NONCE_RETRIES;
        else if (code == STUN_ERR_UNAUTHORIZED && r->kind != REQ_ALLOCATE)
                /* Some servers answer an expired nonce with 401: retry if the nonce changed. */
                retry = r->retries < TURN_MAX_NONCE_RETRIES && m->has_nonce &&
                        (m->nonce.len != c->nonce_len ||
                         memcmp(m->nonce.data, c->nonce, c->nonce_len) != 0);
        else
                retry = false;
        if (!retry)
                return false;
        const char *why = "";
        int rc = take_credentials(c, m, &why);
        if (rc < 0) {
                fail(c, rc, code, "TURN server %s answered %u %s", c->server_str, code, why);
                return true;
        }
        unsigned retries = r->authenticated ? r->retries + 1 : r->retries;
        log_debug("turn", "%s: %u, asking again with %s", stun_method_name(req_methods[r->kind]),
                  code, code == STUN_ERR_STALE_NONCE ? "a new nonce" : "credentials");
        rc = start_request(c, now, r->kind, &r->peer, r->channel, r->lifetime, retries,
                           r->started_us, r->probe);
        if (rc < 0) {
                fail(c, rc, 0, "TURN client could not build a request: %s", strerror(-rc));
                return true;
        }
        return true;
}

static void on_allocate_success(struct turn_client *c, uint64_t now, const struct stun_msg *m)
{
        if (!m->has_xor_relayed) {
                fail(c, -EPROTO, 0,
                     "TURN server %s accepted the allocation without a relayed address",
                     c->server_str);
                return;
        }
        c->relayed = m->xor_relayed;
        if (m->has_xor_mapped)
                c->mapped = m->xor_mapped;
        c->lifetime = m->has_lifetime && m->lifetime ? m->lifetime : c->lifetime_req;
        c->refresh_at = add_s(now, alloc_refresh_delay(c->lifetime));
        c->state = ST_ALLOCATED;
        char rel[ADDR_STRLEN] = "?";
        addr_to_string(&c->relayed, rel, sizeof(rel));
        log_debug("turn", "allocated %s on %s for %u s", rel, c->server_str, c->lifetime);
        struct out_item *it = out_push(c, TURN_OUT_ALLOCATED);
        if (!it)
                return;
        it->o.relayed = c->relayed;
        it->o.mapped = c->mapped;
        it->o.lifetime_s = c->lifetime;
}

static void on_permission_failure(struct turn_client *c, const struct addr *ip, int error,
                                  uint16_t code, const char *what)
{
        struct turn_perm *p = find_perm(c, ip);
        if (!p)
                return;
        p->state = PEER_FAILED;
        p->inflight = false;
        p->refresh_at = UINT64_MAX;
        drop_queue(c, ip);
        char peer[ADDR_STRLEN] = "?";
        addr_ip_to_string(ip, peer, sizeof(peer));
        emit_failure(c, TURN_OUT_PERMISSION_FAILED, ip, 0, error, code,
                     "TURN server %s: no permission for peer %s: %s", c->server_str, peer, what);
}

static void on_channel_failure(struct turn_client *c, struct turn_chan *ch, int error,
                               uint16_t code, const char *what)
{
        ch->state = PEER_FAILED;
        ch->inflight = false;
        ch->refresh_at = UINT64_MAX;
        char peer[ADDR_STRLEN] = "?";
        addr_to_string(&ch->peer, peer, sizeof(peer));
        emit_failure(c, TURN_OUT_CHANNEL_FAILED, &ch->peer, ch->number, error, code,
                     "TURN server %s: channel 0x%04x to %s failed: %s", c->server_str, ch->number,
                     peer, what);
}

static void on_error_response(struct turn_client *c, uint64_t now, const struct turn_req *r,
                              const struct stun_msg *m)
{
        uint16_t code = m->has_error ? m->error_code : STUN_ERR_SERVER_ERROR;
        if ((code == STUN_ERR_UNAUTHORIZED || code == STUN_ERR_STALE_NONCE) &&
            retry_with_credentials(c, now, r, m, code))
                return;

        char text[96];
        if (m->has_error && m->error_reason.len)
                sanitize(text, sizeof(text), m->error_reason.data, m->error_reason.len);
        else
                snprintf(text, sizeof(text), "%s", stun_error_reason(code));
        char what[160];
        snprintf(what, sizeof(what), "%u %s", code, text);
        int err = stun_error_to_errno(code);

        switch (r->kind) {
        case REQ_ALLOCATE:
                if (code == STUN_ERR_UNAUTHORIZED)
                        fail(
                            c, err, code,
                            "TURN server %s refused the allocation: %s (wrong username or password "
                            "for user \"%s\" in realm \"%s\"?)",
                            c->server_str, what, c->username ? c->username : "", c->realm);
                else
                        fail(c, err, code, "TURN server %s refused the allocation: %s",
                             c->server_str, what);
                break;
        case REQ_REFRESH:
                c->refresh_inflight = false;
                c->probe_inflight = false;
                if (c->state == ST_CLOSING)
                        set_closed(c); /* 437 included: the allocation is gone either way */
                else if (code == STUN_ERR_ALLOCATION_MISMATCH && r->probe)
                        /* It answers, so it runs: a server that forgot us has restarted. */
                        fail(c, -ENOENT, code,
                             "TURN server %s lost our allocation (%u %s): it restarted",
                             c->server_str, code, stun_error_reason(code));
                else if (code == STUN_ERR_ALLOCATION_MISMATCH)
                        fail(c, -ENOENT, code, "TURN server %s no longer has the allocation: %s",
                             c->server_str, what);
                else
                        fail(c, err, code, "TURN server %s refused to refresh the allocation: %s",
                             c->server_str, what);
                break;
        case REQ_PERMISSION:
                on_permission_failure(c, &r->peer, err, code, what);
                break;
        case REQ_CHANNEL: {
                struct turn_chan *ch = find_chan_number(c, r->channel);
                if (ch)
                        on_channel_failure(c, ch, err, code, what);
                break;
        }
        }
}

static void on_success(struct turn_client *c, uint64_t now, const struct turn_req *r,
                       const struct stun_msg *m)
{
        switch (r->kind) {
        case REQ_ALLOCATE:
                if (c->state == ST_ALLOCATING)
                        on_allocate_success(c, now, m);
                break;
        case REQ_REFRESH:
                c->refresh_inflight = false;
                c->probe_inflight = false;
                if (c->state == ST_CLOSING) {
                        set_closed(c);
                } else if (c->state == ST_ALLOCATED) {
                        if (m->has_lifetime && m->lifetime)
                                c->lifetime = m->lifetime;
                        c->refresh_at = add_s(now, alloc_refresh_delay(c->lifetime));
                        log_debug("turn", "allocation refreshed for %u s", c->lifetime);
                        if (r->probe) {
                                /* The server is fine: the silence is the peer's (ICE decides). */
                                if (c->probes_answered < TURN_PROBE_BACKOFF_MAX)
                                        c->probes_answered++;
                                log_debug("turn",
                                          "TURN server %s answered the check after %.1f s: the "
                                          "allocation is there",
                                          c->server_str, (double)(now - r->started_us) / 1e6);
                        }
                }
                break;
        case REQ_PERMISSION: {
                struct turn_perm *p = find_perm(c, &r->peer);
                if (p) {
                        p->inflight = false;
                        permission_ok(c, now, p);
                }
                break;
        }
        case REQ_CHANNEL: {
                struct turn_chan *ch = find_chan_number(c, r->channel);
                if (!ch)
                        break;
                bool was_ok = ch->state == PEER_OK;
                ch->state = PEER_OK;
                ch->inflight = false;
                ch->refresh_at = add_s(now, (uint64_t)TURN_CHANNEL_REFRESH_S * US_PER_S);
                /* A binding installs a permission too; track it so it is refreshed and used. */
                struct turn_perm *p = find_perm(c, &ch->peer);
                if (!p)
                        p = add_perm(c, &ch->peer);
                if (p)
                        permission_ok(c, now, p);
                if (!was_ok)
                        emit_simple(c, TURN_OUT_CHANNEL_OK, &ch->peer, ch->number);
                break;
        }
        }
}

static void handle_response(struct turn_client *c, uint64_t now, const struct stun_msg *m,
                            const uint8_t *raw)
{
        struct turn_req *found = find_req(c, m->txid);
        if (!found) {
                log_debug("turn", "dropping a stray %s response", stun_method_name(m->method));
                return;
        }
        uint16_t code = m->cls == STUN_CLASS_ERROR && m->has_error ? m->error_code : 0;
        /*
         * Once credentials were used, a success (or an error other than the ones that hand out
         * credentials) must prove it knows the key; anything else could be forged off-path.
         */
        if (found->authenticated && code != STUN_ERR_UNAUTHORIZED && code != STUN_ERR_STALE_NONCE &&
            code != STUN_ERR_BAD_REQUEST &&
            (m->cls == STUN_CLASS_SUCCESS || m->has_integrity || m->has_integrity_sha256)) {
                int rc = stun_msg_check_integrity(m, raw, c->key, c->keylen);
                if (rc < 0) {
                        c->bad_integrity++;
                        log_debug("turn", "dropping a %s response with %s MESSAGE-INTEGRITY",
                                  stun_method_name(m->method), rc == -ENOENT ? "no" : "a wrong");
                        return;
                }
        }
        if (stun_txn_match_response(c->txns, now, m->txid, NULL) < 0)
                return;
        heard(c, now, false);
        struct turn_req r = *found;
        remove_req(c, found);
        if (m->cls == STUN_CLASS_SUCCESS)
                on_success(c, now, &r, m);
        else
                on_error_response(c, now, &r, m);
}

static void handle_data_indication(struct turn_client *c, uint64_t now, const struct stun_msg *m)
{
        if (!m->has_data || m->xor_peer_count < 1) {
                log_debug("turn", "dropping a Data indication without peer or data");
                return;
        }
        const struct addr *peer = &m->xor_peer[0];
        struct turn_perm *p = find_perm(c, peer);
        if (!p || p->state == PEER_FAILED) {
                log_debug("turn", "dropping data from a peer without permission");
                return;
        }
        heard(c, now, true);
        emit_data(c, peer, 0, m->data.data, m->data.len);
}

static void handle_frame(struct turn_client *c, uint64_t now, const uint8_t *data, size_t len)
{
        if (len >= 4 && data[0] >= 0x40 && data[0] <= 0x4F) {
                struct stun_channel_data cd;
                if (stun_channel_data_parse(&cd, data, len, c->stream, NULL) < 0) {
                        log_debug("turn", "dropping malformed ChannelData");
                        return;
                }
                struct turn_chan *ch = find_chan_number(c, cd.channel);
                /* A pending binding counts: the server may send before its answer arrives. */
                if (!ch || (ch->state != PEER_OK && !ch->inflight)) {
                        log_debug("turn", "dropping ChannelData on unknown channel 0x%04x",
                                  cd.channel);
                        return;
                }
                if (c->state == ST_ALLOCATED) {
                        heard(c, now, true);
                        emit_data(c, &ch->peer, ch->number, cd.data, cd.len);
                }
                return;
        }
        struct stun_msg m;
        if (!stun_is_message(data, len) || stun_msg_parse(&m, data, len) < 0) {
                log_debug("turn", "dropping %zu bytes that are neither STUN nor ChannelData", len);
                return;
        }
        if (m.has_fingerprint && stun_msg_check_fingerprint(&m, data) < 0) {
                log_debug("turn", "dropping a STUN message with a wrong FINGERPRINT");
                return;
        }
        switch (m.cls) {
        case STUN_CLASS_SUCCESS:
        case STUN_CLASS_ERROR:
                handle_response(c, now, &m, data);
                break;
        case STUN_CLASS_INDICATION:
                if (m.method == STUN_METHOD_DATA && c->state == ST_ALLOCATED)
                        handle_data_indication(c, now, &m);
                break;
        default:
                log_debug("turn", "ignoring a %s request from the server",
                          stun_method_name(m.method));
                break;
        }
}

/* ---- timers ---- */

static void on_request_timeout(struct turn_client *c, uint64_t now, const uint8_t *txid)
{
        struct turn_req *found = find_req(c, txid);
        if (!found)
                return;
        struct turn_req r = *found;
        remove_req(c, found);
        double secs = (double)(now - r.started_us) / 1e6;
        char note[128] = "";
        if (c->bad_integrity)
                snprintf(note, sizeof(note),
                         " (%u responses with a wrong MESSAGE-INTEGRITY were dropped: wrong "
                         "password?)",
                         c->bad_integrity);
        switch (r.kind) {
        case REQ_ALLOCATE:
                fail(c, -ETIMEDOUT, 0, "no response from TURN server %s after %.1f s%s",
                     c->server_str, secs, note);
                break;
        case REQ_REFRESH:
                c->refresh_inflight = false;
                c->probe_inflight = false;
                if (c->state == ST_CLOSING)
                        set_closed(c);
                else if (r.probe)
                        fail(c, -ETIMEDOUT, 0,
                             "TURN server %s stopped answering: nothing from it for %.1f s, and no "
                             "answer to a refresh within %.1f s%s",
                             c->server_str, (double)(now - c->last_heard_us) / 1e6, secs, note);
                else
                        fail(c, -ETIMEDOUT, 0,
                             "TURN server %s did not answer the allocation refresh after %.1f s%s",
                             c->server_str, secs, note);
                break;
        case REQ_PERMISSION:
                on_permission_failure(c, &r.peer, -ETIMEDOUT, 0, "no response");
                break;
        case REQ_CHANNEL: {
                struct turn_chan *ch = find_chan_number(c, r.channel);
                if (ch)
                        on_channel_failure(c, ch, -ETIMEDOUT, 0, "no response");
                break;
        }
        }
}

/* Moves the transaction table's sends and timeouts into the client's outputs. */
static void pump(struct turn_client *c, uint64_t now)
{
        struct stun_txn_output o;
        while (stun_txn_poll_output(c->txns, &o) == 1) {
                if (o.kind == STUN_TXN_OUT_SEND)
                        emit_transmit(c, o.data, o.len);
                else
                        on_request_timeout(c, now, o.txid);
        }
}

/* ---- public API ---- */

struct turn_client *turn_client_new(const struct turn_config *cfg)
{
        if (!cfg || addr_family(&cfg->server) == ADDR_FAMILY_NONE || cfg->server.port == 0 ||
            (cfg->password && !cfg->username) ||
            (cfg->username && strlen(cfg->username) > STUN_MAX_USERNAME) ||
            (cfg->software && strlen(cfg->software) > STUN_MAX_TEXT) ||
            (cfg->family != ADDR_FAMILY_NONE && cfg->family != ADDR_FAMILY_IPV4 &&
             cfg->family != ADDR_FAMILY_IPV6) ||
            cfg->transport > TURN_TRANSPORT_TLS)
                return NULL;
        struct turn_client *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        bool ok = true;
        c->server = cfg->server;
        if (addr_to_string(&c->server, c->server_str, sizeof(c->server_str)) < 0)
                snprintf(c->server_str, sizeof(c->server_str), "?");
        c->stream = cfg->transport != TURN_TRANSPORT_UDP;
        c->username = dup_or_null(cfg->username, &ok);
        c->password = dup_or_null(cfg->password, &ok);
        c->software = dup_or_null(cfg->software, &ok);
        c->family = cfg->family;
        c->lifetime_req = cfg->lifetime_s ? cfg->lifetime_s : TURN_DEFAULT_LIFETIME_S;
        c->refresh_at = UINT64_MAX;
        c->txns = stun_txn_new();
        buf_init(&c->rx);
        buf_init(&c->scratch);
        if (!ok || !c->txns) {
                turn_client_free(c);
                return NULL;
        }
        return c;
}

void turn_client_free(struct turn_client *c)
{
        if (!c)
                return;
        drop_queue(c, NULL);
        free(c->queue);
        for (size_t i = c->out_head; i < c->nouts; i++)
                free(c->outs[i].owned);
        free(c->outs);
        free(c->cur.owned);
        free(c->reqs);
        free(c->perms);
        free(c->chans);
        stun_txn_free(c->txns);
        buf_free(&c->rx);
        buf_free(&c->scratch);
        free(c->username);
        wipe_free(c->password);
        free(c->software);
        explicit_bzero(c->key, sizeof(c->key));
        free(c);
}

int turn_client_start(struct turn_client *c, uint64_t now_us)
{
        if (!c)
                return -EINVAL;
        if (c->state != ST_IDLE)
                return -EALREADY;
        int rc = start_request(c, now_us, REQ_ALLOCATE, NULL, 0, 0, 0, now_us, false);
        if (rc < 0)
                return rc;
        c->state = ST_ALLOCATING;
        pump(c, now_us);
        return 0;
}

int turn_client_close(struct turn_client *c, uint64_t now_us)
{
        if (!c)
                return -EINVAL;
        if (c->state == ST_CLOSING || c->state == ST_CLOSED)
                return -EALREADY;
        if (c->state != ST_ALLOCATED) {
                /* Nothing to release (an Allocate in flight is abandoned and expires there). */
                set_closed(c);
                return 0;
        }
        cancel_all(c);
        c->state = ST_CLOSING;
        int rc = start_request(c, now_us, REQ_REFRESH, NULL, 0, 0, 0, now_us, false);
        if (rc < 0) {
                set_closed(c);
                return rc;
        }
        pump(c, now_us);
        return 0;
}

int turn_client_handle_datagram(struct turn_client *c, uint64_t now_us, const uint8_t *data,
                                size_t len)
{
        if (!c || (!data && len))
                return -EINVAL;
        if (c->state != ST_ALLOCATING && c->state != ST_ALLOCATED && c->state != ST_CLOSING)
                return 0;
        handle_frame(c, now_us, data, len);
        pump(c, now_us);
        return 0;
}

int turn_client_handle_stream(struct turn_client *c, uint64_t now_us, const uint8_t *data,
                              size_t len)
{
        if (!c || (!data && len))
                return -EINVAL;
        if (c->state != ST_ALLOCATING && c->state != ST_ALLOCATED && c->state != ST_CLOSING)
                return 0;
        int rc = buf_append(&c->rx, data, len);
        if (rc < 0)
                return rc;
        while (c->rx.len > 0) {
                size_t frame = 0;
                rc = stun_stream_frame_len(c->rx.data, c->rx.len, &frame);
                if (rc == -EAGAIN || (rc == 0 && frame > c->rx.len))
                        break;
                if (rc < 0) {
                        buf_reset(&c->rx);
                        fail(c, -EPROTO, 0,
                             "TURN server %s sent bytes that are neither STUN nor ChannelData on "
                             "the "
                             "stream",
                             c->server_str);
                        return -EPROTO;
                }
                handle_frame(c, now_us, c->rx.data, frame);
                buf_consume(&c->rx, frame);
                if (c->state == ST_FAILED || c->state == ST_CLOSED) {
                        buf_reset(&c->rx);
                        break;
                }
        }
        pump(c, now_us);
        return 0;
}

int turn_client_handle_stream_closed(struct turn_client *c, uint64_t now_us)
{
        if (!c)
                return -EINVAL;
        buf_reset(&c->rx);
        if (c->state == ST_CLOSING)
                set_closed(c);
        else if (c->state == ST_ALLOCATING || c->state == ST_ALLOCATED)
                fail(c, -ECONNRESET, 0, "TURN server %s closed the connection", c->server_str);
        pump(c, now_us);
        return 0;
}

static bool valid_peer(const struct addr *peer)
{
        return peer && addr_family(peer) != ADDR_FAMILY_NONE;
}

int turn_client_create_permission(struct turn_client *c, uint64_t now_us, const struct addr *peer)
{
        if (!c || !valid_peer(peer))
                return -EINVAL;
        if (c->state != ST_ALLOCATED)
                return -ENOTCONN;
        struct turn_perm *p = find_perm(c, peer);
        if (p && (p->state != PEER_FAILED || p->inflight))
                return 0;
        if (!p) {
                p = add_perm(c, peer);
                if (!p)
                        return -ENOSPC;
        }
        p->state = PEER_PENDING;
        int rc = start_permission(c, now_us, p);
        pump(c, now_us);
        return rc;
}

int turn_client_bind_channel(struct turn_client *c, uint64_t now_us, const struct addr *peer,
                             uint16_t *channel)
{
        if (!c || !valid_peer(peer))
                return -EINVAL;
        if (c->state != ST_ALLOCATED)
                return -ENOTCONN;
        struct turn_chan *ch = find_chan_peer(c, peer);
        if (!ch) {
                if (c->nchans >= TURN_CHANNEL_MAX - TURN_CHANNEL_MIN + 1 ||
                    grow((void **)&c->chans, &c->chans_cap, c->nchans + 1, sizeof(*c->chans)) < 0)
                        return -ENOSPC;
                ch = &c->chans[c->nchans];
                memset(ch, 0, sizeof(*ch));
                ch->peer = *peer;
                ch->number = (uint16_t)(TURN_CHANNEL_MIN + c->nchans);
                ch->state = PEER_PENDING;
                ch->refresh_at = UINT64_MAX;
                c->nchans++;
        } else if (ch->state != PEER_FAILED || ch->inflight) {
                if (channel)
                        *channel = ch->number;
                return 0;
        }
        /* A failed binding is asked again with the same number: the server may still know it. */
        ch->state = PEER_PENDING;
        if (channel)
                *channel = ch->number;
        int rc = start_channel(c, now_us, ch);
        pump(c, now_us);
        return rc;
}

int turn_client_send(struct turn_client *c, uint64_t now_us, const struct addr *peer,
                     const uint8_t *data, size_t len)
{
        if (!c || !valid_peer(peer) || (!data && len))
                return -EINVAL;
        if (c->state != ST_ALLOCATED)
                return -ENOTCONN;
        if (len > TURN_MAX_DATA)
                return -EMSGSIZE;
        struct turn_chan *ch = find_chan_peer(c, peer);
        struct turn_perm *p = find_perm(c, peer);
        if (!(ch && ch->state == PEER_OK) && p && p->state == PEER_FAILED)
                return -EACCES;
        /*
         * A STUN request to a peer (an ICE check or consent check) expects an answer through the
         * server; other data may well go one way only.
         */
        if (!c->unanswered_us && is_stun_request(data, len))
                c->unanswered_us = now_us;
        if ((ch && ch->state == PEER_OK) || (p && p->state == PEER_OK)) {
                send_to_peer(c, peer, data, len);
                return 0;
        }
        size_t queued_for_peer = 0;
        for (size_t i = 0; i < c->nqueue; i++)
                queued_for_peer += addr_equal_ip(&c->queue[i].peer, peer);
        if (queued_for_peer >= TURN_MAX_QUEUED_PER_PEER)
                return -ENOBUFS;
        if (!p) {
                p = add_perm(c, peer);
                if (!p)
                        return -ENOSPC;
                int rc = start_permission(c, now_us, p);
                if (rc < 0) {
                        c->nperms--;
                        return rc;
                }
        }
        int rc = grow((void **)&c->queue, &c->queue_cap, c->nqueue + 1, sizeof(*c->queue));
        struct queued q = {.peer = *peer, .len = len, .data = malloc(len ? len : 1)};
        if (rc < 0 || !q.data) {
                free(q.data);
                pump(c, now_us);
                return -ENOMEM;
        }
        if (len)
                memcpy(q.data, data, len);
        c->queue[c->nqueue++] = q;
        pump(c, now_us);
        return 0;
}

int turn_client_poll_output(struct turn_client *c, struct turn_output *out)
{
        if (!c || !out)
                return -EINVAL;
        free(c->cur.owned);
        c->cur.owned = NULL;
        if (c->out_head == c->nouts)
                return 0;
        c->cur = c->outs[c->out_head++];
        *out = c->cur.o;
        out->data = c->cur.owned;
        out->reason = c->cur.reason[0] ? c->cur.reason : NULL;
        return 1;
}

uint64_t turn_client_next_deadline(const struct turn_client *c)
{
        if (!c)
                return UINT64_MAX;
        uint64_t d = stun_txn_next_deadline(c->txns);
        if (c->state != ST_ALLOCATED)
                return d;
        if (!c->refresh_inflight && c->refresh_at < d)
                d = c->refresh_at;
        if (probe_due(c) < d)
                d = probe_due(c);
        for (size_t i = 0; i < c->nperms; i++)
                if (c->perms[i].state == PEER_OK && !c->perms[i].inflight &&
                    c->perms[i].refresh_at < d)
                        d = c->perms[i].refresh_at;
        for (size_t i = 0; i < c->nchans; i++)
                if (c->chans[i].state == PEER_OK && !c->chans[i].inflight &&
                    c->chans[i].refresh_at < d)
                        d = c->chans[i].refresh_at;
        return d;
}

void turn_client_handle_timeout(struct turn_client *c, uint64_t now_us)
{
        if (!c)
                return;
        stun_txn_handle_timeout(c->txns, now_us);
        pump(c, now_us);
        if (c->state != ST_ALLOCATED)
                return;
        int rc = 0;
        if (probe_due(c) <= now_us)
                rc = start_probe(c, now_us);
        else if (!c->refresh_inflight && c->refresh_at <= now_us)
                rc = start_request(c, now_us, REQ_REFRESH, NULL, 0, c->lifetime_req, 0, now_us,
                                   false);
        for (size_t i = 0; rc == 0 && i < c->nperms; i++) {
                struct turn_perm *p = &c->perms[i];
                if (p->state == PEER_OK && !p->inflight && p->refresh_at <= now_us)
                        rc = start_permission(c, now_us, p);
        }
        for (size_t i = 0; rc == 0 && i < c->nchans; i++) {
                struct turn_chan *ch = &c->chans[i];
                if (ch->state == PEER_OK && !ch->inflight && ch->refresh_at <= now_us)
                        rc = start_channel(c, now_us, ch);
        }
        if (rc < 0)
                fail(c, rc, 0, "TURN client could not build a refresh: %s", strerror(-rc));
        pump(c, now_us);
}

void turn_client_set_watched(struct turn_client *c, bool watched)
{
        if (!c || c->watched == watched)
                return;
        c->watched = watched;
        c->probes_answered = 0;
        c->unanswered_us = 0;
}

int turn_client_relayed_address(const struct turn_client *c, struct addr *out)
{
        if (!c || !out)
                return -EINVAL;
        if (c->state != ST_ALLOCATED)
                return -ENOTCONN;
        *out = c->relayed;
        return 0;
}

bool turn_client_is_allocated(const struct turn_client *c)
{
        return c && c->state == ST_ALLOCATED;
}

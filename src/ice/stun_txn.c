#include "ice/stun_txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct stun_txn {
        uint8_t txid[STUN_TXID_SIZE];
        uint64_t tag;
        struct addr dst;
        uint8_t *msg;
        size_t len;
        bool reliable;
        unsigned rc, rm;
        uint64_t rto_initial, rto_max, interval;
        unsigned sent;
        uint64_t deadline;
        uint64_t first_sent_us;
        bool send_pending; /* a transmission waits in the output queue */
        bool timed_out;    /* waits to be reported, then removed */
};

/* Kept in start order, so outputs come out in a stable, testable order. */
struct stun_txn_table {
        struct stun_txn *v;
        size_t n, cap;
};

static uint64_t add_sat(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
        return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

struct stun_txn_table *stun_txn_new(void)
{
        return calloc(1, sizeof(struct stun_txn_table));
}

void stun_txn_free(struct stun_txn_table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++)
                free(t->v[i].msg);
        free(t->v);
        free(t);
}

static struct stun_txn *find(const struct stun_txn_table *t, const uint8_t *txid)
{
        for (size_t i = 0; i < t->n; i++)
                if (memcmp(t->v[i].txid, txid, STUN_TXID_SIZE) == 0)
                        return &t->v[i];
        return NULL;
}

static void remove_at(struct stun_txn_table *t, size_t i)
{
        free(t->v[i].msg);
        memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(t->v[0]));
        t->n--;
}

int stun_txn_start(struct stun_txn_table *t, uint64_t now_us, const uint8_t *msg, size_t len,
                   const struct addr *dst, uint64_t tag, const struct stun_txn_config *cfg)
{
        static const struct stun_txn_config defaults;
        if (!t || !msg || !stun_is_message(msg, len) || (msg[0] & 0x01) != 0 ||
            (msg[1] & 0x10) != 0)
                return -EINVAL; /* class bits (0x0100, 0x0010) must say request */
        if (!cfg)
                cfg = &defaults;
        const uint8_t *txid = msg + 8;
        if (find(t, txid))
                return -EEXIST;
        if (t->n >= STUN_TXN_MAX)
                return -ENOSPC;
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 8;
                struct stun_txn *v = realloc(t->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                t->v = v;
                t->cap = cap;
        }
        struct stun_txn x;
        memset(&x, 0, sizeof(x));
        x.msg = malloc(len);
        if (!x.msg)
                return -ENOMEM;
        memcpy(x.msg, msg, len);
        x.len = len;
        memcpy(x.txid, txid, STUN_TXID_SIZE);
        x.tag = tag;
        if (dst)
                x.dst = *dst;
        x.reliable = cfg->reliable;
        x.rc = cfg->rc ? cfg->rc : STUN_TXN_DEFAULT_RC;
        x.rm = cfg->rm ? cfg->rm : STUN_TXN_DEFAULT_RM;
        x.rto_initial = cfg->rto_us ? cfg->rto_us : STUN_TXN_DEFAULT_RTO_US;
        x.rto_max = cfg->rto_max_us;
        if (x.rto_max && x.rto_initial > x.rto_max)
                x.rto_initial = x.rto_max;
        x.interval = x.rto_initial;
        x.sent = 1;
        x.first_sent_us = now_us;
        x.send_pending = true;
        if (x.reliable)
                x.deadline = add_sat(now_us, cfg->ti_us ? cfg->ti_us : STUN_TXN_DEFAULT_TI_US);
        else if (x.sent < x.rc)
                x.deadline = add_sat(now_us, x.interval);
        else
                x.deadline = add_sat(now_us, mul_sat(x.rm, x.rto_initial));
        t->v[t->n++] = x;
        return 0;
}

int stun_txn_poll_output(struct stun_txn_table *t, struct stun_txn_output *out)
{
        if (!t || !out)
                return -EINVAL;
        for (size_t i = 0; i < t->n; i++) {
                struct stun_txn *x = &t->v[i];
                if (!x->send_pending)
                        continue;
                x->send_pending = false;
                memset(out, 0, sizeof(*out));
                out->kind = STUN_TXN_OUT_SEND;
                memcpy(out->txid, x->txid, STUN_TXID_SIZE);
                out->tag = x->tag;
                out->dst = x->dst;
                out->data = x->msg;
                out->len = x->len;
                out->transmission = x->sent;
                return 1;
        }
        for (size_t i = 0; i < t->n; i++) {
                struct stun_txn *x = &t->v[i];
                if (!x->timed_out)
                        continue;
                memset(out, 0, sizeof(*out));
                out->kind = STUN_TXN_OUT_TIMEOUT;
                memcpy(out->txid, x->txid, STUN_TXID_SIZE);
                out->tag = x->tag;
                out->dst = x->dst;
                out->transmission = x->sent;
                remove_at(t, i);
                return 1;
        }
        return 0;
}

uint64_t stun_txn_next_deadline(const struct stun_txn_table *t)
{
        uint64_t d = UINT64_MAX;
        if (!t)
                return d;
        for (size_t i = 0; i < t->n; i++)
                if (!t->v[i].timed_out && t->v[i].deadline < d)
                        d = t->v[i].deadline;
        return d;
}

void stun_txn_handle_timeout(struct stun_txn_table *t, uint64_t now_us)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++) {
                struct stun_txn *x = &t->v[i];
                if (x->timed_out || x->deadline > now_us)
                        continue;
                if (x->reliable || x->sent >= x->rc) {
                        x->timed_out = true;
                        x->send_pending = false;
                        continue;
                }
                /* Timers restart from the actual send time, as a real timer firing late would. */
                x->sent++;
                x->send_pending = true;
                if (x->sent < x->rc) {
                        x->interval = mul_sat(x->interval, 2);
                        if (x->rto_max && x->interval > x->rto_max)
                                x->interval = x->rto_max;
                        x->deadline = add_sat(now_us, x->interval);
                } else {
                        x->deadline = add_sat(now_us, mul_sat(x->rm, x->rto_initial));
                }
        }
}

int stun_txn_match_response(struct stun_txn_table *t, uint64_t now_us,
                            const uint8_t txid[STUN_TXID_SIZE], struct stun_txn_match *match)
{
        if (!t || !txid)
                return -EINVAL;
        struct stun_txn *x = find(t, txid);
        /* A timed-out transaction already reported its end; a late answer is stray. */
        if (!x || x->timed_out)
                return -ENOENT;
        if (match) {
                memset(match, 0, sizeof(*match));
                match->tag = x->tag;
                match->dst = x->dst;
                match->transmissions = x->sent;
                match->first_sent_us = x->first_sent_us;
                if (x->sent == 1 && now_us >= x->first_sent_us) {
                        match->rtt_valid = true;
                        match->rtt_us = now_us - x->first_sent_us;
                }
        }
        remove_at(t, (size_t)(x - t->v));
        return 0;
}

int stun_txn_cancel(struct stun_txn_table *t, const uint8_t txid[STUN_TXID_SIZE])
{
        if (!t || !txid)
                return -EINVAL;
        struct stun_txn *x = find(t, txid);
        if (!x)
                return -ENOENT;
        remove_at(t, (size_t)(x - t->v));
        return 0;
}

bool stun_txn_pending(const struct stun_txn_table *t, const uint8_t txid[STUN_TXID_SIZE])
{
        const struct stun_txn *x = t && txid ? find(t, txid) : NULL;
        return x && !x->timed_out;
}

size_t stun_txn_count(const struct stun_txn_table *t)
{
        return t ? t->n : 0;
}

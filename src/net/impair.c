#include "net/impair.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

#define DEFAULT_LIMIT_NO_RATE (4u << 20)
#define MIN_LIMIT_RATE        (64u << 10)
#define MAX_TIME_US           3600000000.0 /* one hour */
#define MAX_RATE_BPS          1e12         /* 1000gbit; keeps the link arithmetic in 64 bits */
#define ERR_ITEM_MAX          48           /* characters of a bad item quoted in a message */

/* ---- parsing ---- */

enum value_kind { VALUE_PROB, VALUE_TIME, VALUE_RATE, VALUE_SIZE };

struct unit {
        const char *name;
        double scale;
};

static const struct unit time_units[] = {{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {NULL, 0}};
static const struct unit rate_units[] = {
    {"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {NULL, 0}};
static const struct unit size_units[] = {{"b", 1},    {"kb", 1e3},        {"kib", 1024},
                                         {"mb", 1e6}, {"mib", 1048576.0}, {NULL, 0}};

static const struct key {
        const char *name;
        enum value_kind kind;
} keys[] = {
    {"loss", VALUE_PROB},  {"duplicate", VALUE_PROB}, {"reorder", VALUE_PROB},
    {"delay", VALUE_TIME}, {"jitter", VALUE_TIME},    {"rate", VALUE_RATE},
    {"limit", VALUE_SIZE},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int parse_fail(char *err, size_t errlen, const char *item, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "ITEM: reason", the item cut short so the line stays one line. */
static int parse_fail(char *err, size_t errlen, const char *item, size_t n, const char *fmt, ...)
{
        if (!err || !errlen)
                return -EINVAL;
        int w = snprintf(err, errlen, "%.*s%s: ", (int)(n > ERR_ITEM_MAX ? ERR_ITEM_MAX : n), item,
                         n > ERR_ITEM_MAX ? "..." : "");
        if (w >= 0 && (size_t)w < errlen) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err + w, errlen - (size_t)w, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* Digits with at most one '.', at least one digit; no sign, exponent or locale. */
static size_t scan_decimal(const char *s, size_t n, double *v)
{
        size_t i = 0, digits = 0;
        double x = 0, frac = 0.1;
        bool dot = false;
        for (; i < n; i++) {
                if (s[i] >= '0' && s[i] <= '9') {
                        if (dot) {
                                x += (s[i] - '0') * frac;
                                frac /= 10;
                        } else {
                                x = x * 10 + (s[i] - '0');
                        }
                        digits++;
                } else if (s[i] == '.' && !dot) {
                        dot = true;
                } else {
                        break;
                }
        }
        *v = x;
        return digits ? i : 0;
}

static const char *unit_list(enum value_kind kind)
{
        switch (kind) {
        case VALUE_TIME:
                return "us, ms or s";
        case VALUE_RATE:
                return "bit, kbit, mbit or gbit";
        default:
                return "b, kb, kib, mb or mib";
        }
}

/* Parses the value of one item into *v (a probability, microseconds, bits/s or bytes). */
static int parse_value(enum value_kind kind, const char *item, size_t n, const char *val, size_t vn,
                       double *v, char *err, size_t errlen)
{
        if (!vn)
                return parse_fail(err, errlen, item, n, "missing value");
        if (val[0] == '-')
                return parse_fail(err, errlen, item, n, "must not be negative");
        double x;
        size_t used = scan_decimal(val, vn, &x);
        if (!used)
                return parse_fail(err, errlen, item, n, "not a number");
        const char *suf = val + used;
        size_t sn = vn - used;
        if (kind == VALUE_PROB) {
                if (sn == 1 && suf[0] == '%') {
                        if (x > 100)
                                return parse_fail(err, errlen, item, n, "must be at most 100%%");
                        *v = x / 100;
                        return 0;
                }
                if (sn)
                        return parse_fail(err, errlen, item, n,
                                          "bad value (a percentage like 5%% or a fraction like "
                                          "0.05)");
                if (x > 1)
                        return parse_fail(err, errlen, item, n,
                                          "a fraction must be at most 1 (write %.*s%% for a "
                                          "percentage)",
                                          (int)vn, val);
                *v = x;
                return 0;
        }
        const struct unit *units = kind == VALUE_TIME   ? time_units
                                   : kind == VALUE_RATE ? rate_units
                                                        : size_units;
        double scale = 0;
        if (!sn) {
                /* Zero is zero in any unit; a bare size is bytes. */
                if (x != 0 && kind != VALUE_SIZE)
                        return parse_fail(err, errlen, item, n, "missing unit (%s)",
                                          unit_list(kind));
                scale = 1;
        }
        for (const struct unit *u = units; sn && u->name; u++)
                if (strlen(u->name) == sn && strncasecmp(u->name, suf, sn) == 0)
                        scale = u->scale;
        if (scale == 0)
                return parse_fail(err, errlen, item, n, "unknown unit \"%.*s\" (%s)",
                                  (int)(sn > 16 ? 16 : sn), suf, unit_list(kind));
        double r = round(x * scale);
        if (kind == VALUE_TIME && r > MAX_TIME_US)
                return parse_fail(err, errlen, item, n, "too large (at most 3600s)");
        if (kind == VALUE_RATE && r > MAX_RATE_BPS)
                return parse_fail(err, errlen, item, n, "too large (at most 1000gbit)");
        if (kind == VALUE_RATE && r == 0 && x != 0)
                return parse_fail(err, errlen, item, n, "too small (at least 1bit)");
        if (kind == VALUE_SIZE && r > IMPAIR_MAX_HELD_BYTES)
                return parse_fail(err, errlen, item, n, "too large (at most 64mib)");
        *v = r;
        return 0;
}

int impair_parse(const char *spec, struct impair_config *out, char *err, size_t errlen)
{
        struct impair_config c = {0};
        bool seen[NKEYS] = {false};
        if (err && errlen)
                err[0] = 0;
        if (!spec || !*spec) {
                *out = c;
                return 0;
        }
        const char *p = spec;
        for (;;) {
                size_t n = strcspn(p, ",");
                if (!n)
                        return parse_fail(err, errlen, spec, strlen(spec),
                                          "empty item (two commas, or one at an end)");
                const char *eq = memchr(p, '=', n);
                if (!eq)
                        return parse_fail(err, errlen, p, n, "expected KEY=VALUE");
                size_t kn = (size_t)(eq - p), k = 0;
                while (k < NKEYS && !(strlen(keys[k].name) == kn && !strncmp(keys[k].name, p, kn)))
                        k++;
                if (k == NKEYS)
                        return parse_fail(err, errlen, p, n,
                                          "unknown item (known: loss, duplicate, reorder, delay, "
                                          "jitter, rate, limit)");
                if (seen[k])
                        return parse_fail(err, errlen, p, n, "%s given twice", keys[k].name);
                seen[k] = true;
                double v = 0;
                int rc = parse_value(keys[k].kind, p, n, eq + 1, n - kn - 1, &v, err, errlen);
                if (rc < 0)
                        return rc;
                switch (k) {
                case 0:
                        c.loss = v;
                        break;
                case 1:
                        c.duplicate = v;
                        break;
                case 2:
                        c.reorder = v;
                        break;
                case 3:
                        c.delay_us = (uint64_t)v;
                        break;
                case 4:
                        c.jitter_us = (uint64_t)v;
                        break;
                case 5:
                        c.rate_bps = (uint64_t)v;
                        break;
                default:
                        c.queue_limit_bytes = (size_t)v;
                        break;
                }
                if (!p[n])
                        break;
                p += n + 1;
        }
        *out = c;
        return 0;
}

bool impair_active(const struct impair_config *c)
{
        return c->loss > 0 || c->reorder > 0 || c->duplicate > 0 || c->delay_us || c->jitter_us ||
               c->rate_bps;
}

/* ---- the stage ---- */

struct impair_pkt {
        uint64_t release; /* when it is due */
        uint64_t order;   /* arrival order, to break ties so equal times keep FIFO order */
        int base;
        struct addr addr;
        size_t len;
        uint8_t data[];
};

struct impair {
        struct impair_config cfg;
        size_t limit;
        uint64_t rng;
        /* Min-heap on (release, order): reordered datagrams jump ahead of later due times. */
        struct impair_pkt **heap;
        size_t n, cap;
        size_t held_bytes;
        uint64_t order;
        /* The rate link is busy until link_us + link_rem / rate_bps, kept exact (no drift). */
        uint64_t link_us, link_rem;
        uint64_t last_release; /* of the latest in-order datagram; later ones never leave earlier */
        struct impair_pkt *popped;
        bool warned_nomem;
        struct impair_stats st;
};

/* splitmix64: small, fast, good enough statistics, and the same sequence everywhere. */
static uint64_t rng_next(struct impair *im)
{
        uint64_t z = (im->rng += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static bool chance(struct impair *im, double p)
{
        return (double)(rng_next(im) >> 11) * 0x1p-53 < p;
}

static double clamp_prob(double p)
{
        return p > 0 ? (p < 1 ? p : 1) : 0; /* NaN fails p > 0 and becomes 0 */
}

struct impair *impair_new(const struct impair_config *cfg, uint64_t seed)
{
        struct impair *im = calloc(1, sizeof(*im));
        if (!im)
                return NULL;
        im->cfg = *cfg;
        im->cfg.loss = clamp_prob(cfg->loss);
        im->cfg.reorder = clamp_prob(cfg->reorder);
        im->cfg.duplicate = clamp_prob(cfg->duplicate);
        if (im->cfg.rate_bps > (uint64_t)MAX_RATE_BPS)
                im->cfg.rate_bps = (uint64_t)MAX_RATE_BPS;
        if (im->cfg.delay_us > (uint64_t)MAX_TIME_US)
                im->cfg.delay_us = (uint64_t)MAX_TIME_US;
        if (im->cfg.jitter_us > (uint64_t)MAX_TIME_US)
                im->cfg.jitter_us = (uint64_t)MAX_TIME_US;
        size_t limit = cfg->queue_limit_bytes;
        if (!limit && im->cfg.rate_bps) {
                uint64_t l = im->cfg.rate_bps / 80; /* 100 ms at the rate, in bytes */
                limit = l < MIN_LIMIT_RATE          ? MIN_LIMIT_RATE
                        : l > IMPAIR_MAX_HELD_BYTES ? IMPAIR_MAX_HELD_BYTES
                                                    : (size_t)l;
        } else if (!limit) {
                limit = DEFAULT_LIMIT_NO_RATE;
        }
        im->limit = limit > IMPAIR_MAX_HELD_BYTES ? IMPAIR_MAX_HELD_BYTES : limit;
        im->rng = seed;
        log_debug("net",
                  "impair: loss %.3f duplicate %.3f reorder %.3f delay %llu us jitter %llu us "
                  "rate %llu bit/s limit %zu bytes",
                  im->cfg.loss, im->cfg.duplicate, im->cfg.reorder,
                  (unsigned long long)im->cfg.delay_us, (unsigned long long)im->cfg.jitter_us,
                  (unsigned long long)im->cfg.rate_bps, im->limit);
        return im;
}

void impair_free(struct impair *im)
{
        if (!im)
                return;
        for (size_t i = 0; i < im->n; i++)
                free(im->heap[i]);
        free(im->heap);
        free(im->popped);
        free(im);
}

static bool pkt_before(const struct impair_pkt *a, const struct impair_pkt *b)
{
        return a->release < b->release || (a->release == b->release && a->order < b->order);
}

static int heap_push(struct impair *im, struct impair_pkt *p)
{
        if (im->n == im->cap) {
                size_t cap = im->cap ? im->cap * 2 : 64;
                struct impair_pkt **h = realloc(im->heap, cap * sizeof(*h));
                if (!h)
                        return -ENOMEM;
                im->heap = h;
                im->cap = cap;
        }
        size_t i = im->n++;
        while (i > 0) {
                size_t up = (i - 1) / 2;
                if (!pkt_before(p, im->heap[up]))
                        break;
                im->heap[i] = im->heap[up];
                i = up;
        }
        im->heap[i] = p;
        return 0;
}

static struct impair_pkt *heap_pop(struct impair *im)
{
        struct impair_pkt *top = im->heap[0], *last = im->heap[--im->n];
        size_t i = 0;
        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= im->n)
                        break;
                if (c + 1 < im->n && pkt_before(im->heap[c + 1], im->heap[c]))
                        c++;
                if (!pkt_before(im->heap[c], last))
                        break;
                im->heap[i] = im->heap[c];
                i = c;
        }
        if (im->n)
                im->heap[i] = last;
        return top;
}

/* Bytes still waiting for or on the rate link at `now` (the part of a datagram not yet sent). */
static uint64_t link_backlog(const struct impair *im, uint64_t now)
{
        if (im->link_us < now)
                return 0;
        uint64_t diff = im->link_us - now, rate = im->cfg.rate_bps;
        /* rate <= 1e12 and link_rem < rate, so below this nothing overflows. */
        if (diff > (UINT64_MAX / 2) / rate)
                return UINT64_MAX;
        return (diff * rate + im->link_rem + 7999999) / 8000000;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* One copy through the link and the delay. Returns 0 when queued, 1 when dropped. */
static int enqueue(struct impair *im, uint64_t now, const uint8_t *data, size_t len, int base,
                   const struct addr *addr)
{
        if (im->n >= IMPAIR_MAX_PACKETS || im->held_bytes + len > IMPAIR_MAX_HELD_BYTES)
                goto drop;
        uint64_t sent = now;
        if (im->cfg.rate_bps) {
                if (im->link_us < now) {
                        im->link_us = now;
                        im->link_rem = 0;
                }
                if (len > im->limit || link_backlog(im, now) > im->limit - len)
                        goto drop;
        } else if (im->held_bytes + len > im->limit) {
                goto drop;
        }
        struct impair_pkt *p = malloc(sizeof(*p) + len);
        if (!p) {
                if (!im->warned_nomem)
                        log_warn("net", "impair: out of memory, dropping datagrams");
                im->warned_nomem = true;
                goto drop;
        }
        if (im->cfg.rate_bps) {
                /* Serialization: len*8 bits at rate_bps, in units of 1/rate_bps microseconds. */
                uint64_t total = im->link_rem + (uint64_t)len * 8000000;
                im->link_us += total / im->cfg.rate_bps;
                im->link_rem = total % im->cfg.rate_bps;
                sent = im->link_us + (im->link_rem != 0);
        }
        uint64_t release = sent;
        bool delayed = im->cfg.delay_us || im->cfg.jitter_us;
        if (delayed && im->cfg.reorder > 0 && chance(im, im->cfg.reorder)) {
                /* Skips the delay line; it overtakes whatever in-order datagram is due later. */
                if (im->last_release > release)
                        im->st.reordered++;
        } else {
                uint64_t d = im->cfg.delay_us;
                if (im->cfg.jitter_us) {
                        uint64_t j = im->cfg.jitter_us;
                        uint64_t r = rng_next(im) % (2 * j + 1); /* 0..2j, i.e. -j..+j */
                        d = sat_add(d, r);
                        d = d > j ? d - j : 0;
                }
                release = sat_add(sent, d);
                if (release < im->last_release)
                        release = im->last_release;
                im->last_release = release;
        }
        p->release = release;
        p->order = im->order++;
        p->base = base;
        if (addr)
                p->addr = *addr;
        else
                addr_clear(&p->addr);
        p->len = len;
        if (len)
                memcpy(p->data, data, len);
        if (heap_push(im, p) < 0) {
                free(p);
                goto drop;
        }
        im->held_bytes += len;
        return 0;
drop:
        im->st.dropped_queue++;
        return 1;
}

int impair_push(struct impair *im, uint64_t now, const uint8_t *data, size_t len, int base,
                const struct addr *addr)
{
        if (len > IMPAIR_MAX_DATAGRAM)
                return -EMSGSIZE;
        im->st.packets_in++;
        if (im->cfg.loss > 0 && chance(im, im->cfg.loss)) {
                im->st.dropped_loss++;
                return 1;
        }
        int copies = 1;
        if (im->cfg.duplicate > 0 && chance(im, im->cfg.duplicate)) {
                copies = 2;
                im->st.duplicated++;
        }
        int dropped = 0;
        for (int i = 0; i < copies; i++)
                dropped += enqueue(im, now, data, len, base, addr);
        return dropped == copies ? 1 : 0;
}

int impair_pop(struct impair *im, uint64_t now, struct impair_packet *out)
{
        free(im->popped);
        im->popped = NULL;
        if (!im->n || im->heap[0]->release > now)
                return 0;
        struct impair_pkt *p = heap_pop(im);
        im->held_bytes -= p->len;
        im->popped = p;
        im->st.packets_out++;
        out->data = p->data;
        out->len = p->len;
        out->base = p->base;
        out->addr = p->addr;
        return 1;
}

uint64_t impair_next_deadline(const struct impair *im)
{
        return im->n ? im->heap[0]->release : UINT64_MAX;
}

void impair_get_stats(const struct impair *im, struct impair_stats *st)
{
        *st = im->st;
}

#include "ice/mdns.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define DNS_HEADER_SIZE 12
#define DNS_CLASS_IN    1
#define DNS_QU_BIT      0x8000u /* in a question's class: unicast response wanted */
#define DNS_FLUSH_BIT   0x8000u /* in a record's class: cache-flush */
#define DNS_FLAG_QR     0x8000u
/* Smallest question (root name + type + class) and record (+ TTL + RDLENGTH). */
#define DNS_MIN_QUESTION 5u
#define DNS_MIN_RECORD   11u

#define MDNS_FIRST_RETRY_US 1000000u

static const uint8_t mdns_group_v4[4] = {224, 0, 0, 251};
static const uint8_t mdns_group_v6[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};

/* ---- codec ---- */

int mdns_name_encode(const char *name, uint8_t out[MDNS_NAME_WIRE_MAX], size_t *len)
{
        if (!name || !out || !len || !name[0])
                return -EINVAL;
        size_t n = 0;
        size_t i = 0;
        while (name[i]) {
                size_t l = 0;
                while (name[i + l] && name[i + l] != '.')
                        l++;
                /* The final zero byte must still fit after this label. */
                if (l == 0 || l > 63 || n + 1 + l + 1 > MDNS_NAME_WIRE_MAX)
                        return -EINVAL;
                out[n++] = (uint8_t)l;
                for (size_t k = 0; k < l; k++) {
                        unsigned char c = (unsigned char)name[i + k];
                        if (c <= 0x20 || c == 0x7f)
                                return -EINVAL;
                        out[n++] = c;
                }
                i += l;
                if (name[i] == '.')
                        i++;
        }
        out[n++] = 0;
        *len = n;
        return 0;
}

static uint8_t ascii_lower(uint8_t c)
{
        return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

bool mdns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
        if (!a || !b || alen != blen)
                return false;
        /* Length bytes are below 'A' (at most 63), so lowering them is harmless. */
        for (size_t i = 0; i < alen; i++)
                if (ascii_lower(a[i]) != ascii_lower(b[i]))
                        return false;
        return true;
}

int mdns_query_build(struct buf *out, const char *name, bool qu)
{
        uint8_t wire[MDNS_NAME_WIRE_MAX];
        size_t wlen;
        if (!out || mdns_name_encode(name, wire, &wlen) < 0)
                return -EINVAL;
        uint16_t qclass = (uint16_t)(DNS_CLASS_IN | (qu ? DNS_QU_BIT : 0));
        size_t mark = out->len;
        int rc = buf_reserve(out, DNS_HEADER_SIZE + wlen + 10);
        /* id, flags, QDCOUNT 2, ANCOUNT, NSCOUNT, ARCOUNT */
        static const uint8_t header[DNS_HEADER_SIZE] = {0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0};
        if (rc == 0)
                rc = buf_append(out, header, sizeof(header));
        if (rc == 0)
                rc = buf_append(out, wire, wlen);
        if (rc == 0)
                rc = buf_append_u16be(out, MDNS_TYPE_A);
        if (rc == 0)
                rc = buf_append_u16be(out, qclass);
        /* The second question names the first one's name by pointer (offset 12). */
        if (rc == 0)
                rc = buf_append_u16be(out, 0xC000 | DNS_HEADER_SIZE);
        if (rc == 0)
                rc = buf_append_u16be(out, MDNS_TYPE_AAAA);
        if (rc == 0)
                rc = buf_append_u16be(out, qclass);
        if (rc < 0)
                out->len = mark;
        return rc;
}

/*
 * Reads the name at r's position into out, uncompressed. r must read the whole message (offsets
 * are absolute) and ends after the name as it sits in place, i.e. after its first pointer.
 *
 * Loops are impossible because every pointer must land before the labels that led to it: the
 * start of the current run of labels strictly decreases at each jump.
 */
static int read_name(struct buf_rd *r, uint8_t out[MDNS_NAME_WIRE_MAX], size_t *outlen)
{
        struct buf_rd cur = *r;
        size_t run_start = r->pos;
        bool jumped = false;
        size_t n = 0;
        for (;;) {
                uint8_t l = buf_rd_u8(&cur);
                if (!buf_rd_ok(&cur))
                        return -EBADMSG;
                if (l == 0)
                        break;
                if ((l & 0xC0) == 0xC0) {
                        size_t target = ((size_t)(l & 0x3F) << 8) | buf_rd_u8(&cur);
                        if (!buf_rd_ok(&cur) || target < DNS_HEADER_SIZE || target >= run_start)
                                return -EBADMSG;
                        if (!jumped)
                                *r = cur;
                        jumped = true;
                        buf_rd_init(&cur, r->data, r->len);
                        buf_rd_skip(&cur, target);
                        run_start = target;
                        continue;
                }
                /* 0x40 and 0x80 prefixes are the obsolete extended label types: a label > 63. */
                if (l & 0xC0)
                        return -EBADMSG;
                if (n + 1 + l + 1 > MDNS_NAME_WIRE_MAX)
                        return -EBADMSG;
                out[n++] = l;
                if (buf_rd_copy(&cur, out + n, l) < 0)
                        return -EBADMSG;
                n += l;
        }
        out[n++] = 0;
        if (!jumped)
                *r = cur;
        *outlen = n;
        return 0;
}

int mdns_response_parse(struct mdns_response *resp, const uint8_t *data, size_t len)
{
        if (!resp || (!data && len))
                return -EINVAL;
        memset(resp, 0, sizeof(*resp));
        struct buf_rd r;
        buf_rd_init(&r, data, len);
        resp->id = buf_rd_u16be(&r);
        resp->flags = buf_rd_u16be(&r);
        size_t qd = buf_rd_u16be(&r);
        size_t an = buf_rd_u16be(&r);
        size_t ns = buf_rd_u16be(&r);
        size_t ar = buf_rd_u16be(&r);
        if (!buf_rd_ok(&r))
                return -EBADMSG;
        /* RFC 6762 §18.3, §18.11: queries and messages with an opcode or rcode are ignored. */
        if (!(resp->flags & DNS_FLAG_QR) || (resp->flags & 0x7800) || (resp->flags & 0x000F))
                return -ENOMSG;
        /* Refuse counts the datagram cannot hold before spending time on them. */
        if (qd * DNS_MIN_QUESTION + (an + ns + ar) * DNS_MIN_RECORD > buf_rd_remaining(&r))
                return -EBADMSG;

        uint8_t name[MDNS_NAME_WIRE_MAX];
        size_t nlen;
        for (size_t i = 0; i < qd; i++) {
                if (read_name(&r, name, &nlen) < 0)
                        return -EBADMSG;
                buf_rd_skip(&r, 4); /* type, class */
                if (!buf_rd_ok(&r))
                        return -EBADMSG;
        }
        for (size_t i = 0; i < an + ns + ar; i++) {
                if (read_name(&r, name, &nlen) < 0)
                        return -EBADMSG;
                uint16_t type = buf_rd_u16be(&r);
                uint16_t cls = buf_rd_u16be(&r);
                uint32_t ttl = buf_rd_u32be(&r);
                uint16_t rdlen = buf_rd_u16be(&r);
                struct buf_rd rd = buf_rd_sub(&r, rdlen);
                if (!buf_rd_ok(&r))
                        return -EBADMSG;
                if ((cls & ~DNS_FLUSH_BIT) != DNS_CLASS_IN ||
                    (type != MDNS_TYPE_A && type != MDNS_TYPE_AAAA))
                        continue;
                uint8_t ip[16];
                size_t iplen = type == MDNS_TYPE_A ? 4 : 16;
                if (rdlen != iplen || buf_rd_copy(&rd, ip, iplen) < 0)
                        return -EBADMSG;
                if (resp->addr_count < MDNS_MAX_ADDR_RECORDS) {
                        struct mdns_record *rec = &resp->rec[resp->addr_count];
                        memcpy(rec->name, name, nlen);
                        rec->name_len = nlen;
                        rec->type = type;
                        rec->cache_flush = (cls & DNS_FLUSH_BIT) != 0;
                        rec->ttl = ttl;
                        rec->additional = i >= an;
                        if (type == MDNS_TYPE_A)
                                addr_set_ipv4(&rec->addr, ip, 0);
                        else
                                addr_set_ipv6(&rec->addr, ip, 0);
                }
                resp->addr_count++;
        }
        return 0;
}

/* ---- resolver ---- */

struct mdns_pending {
        char name[MDNS_NAME_TEXT_MAX];
        uint8_t wire[MDNS_NAME_WIRE_MAX];
        size_t wire_len;
        uint64_t tag;
        uint64_t started;
        uint64_t next_send; /* UINT64_MAX once no retry fits before fail_at */
        uint64_t fail_at;
        unsigned sends;
};

struct mdns_resolver {
        struct mdns_config cfg;
        struct mdns_pending pending[MDNS_MAX_PENDING];
        size_t n;
        /* Outputs wait here, oldest at head, until the caller polls them. */
        struct mdns_output *q;
        size_t qhead, qlen, qcap;
};

struct mdns_resolver *mdns_resolver_new(const struct mdns_config *cfg)
{
        struct mdns_resolver *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        if (cfg)
                r->cfg = *cfg;
        if (!r->cfg.timeout_us)
                r->cfg.timeout_us = MDNS_DEFAULT_TIMEOUT_US;
        return r;
}

void mdns_resolver_free(struct mdns_resolver *r)
{
        if (!r)
                return;
        free(r->q);
        free(r);
}

static struct mdns_output *queue_push(struct mdns_resolver *r)
{
        if (r->qhead == r->qlen)
                r->qhead = r->qlen = 0;
        if (r->qlen == r->qcap) {
                size_t cap = r->qcap ? r->qcap * 2 : 8;
                struct mdns_output *q = realloc(r->q, cap * sizeof(*q));
                if (!q) {
                        log_warn("ice", "mdns: out of memory, output dropped");
                        return NULL;
                }
                r->q = q;
                r->qcap = cap;
        }
        struct mdns_output *o = &r->q[r->qlen++];
        memset(o, 0, sizeof(*o));
        return o;
}

static void push_query(struct mdns_resolver *r, const struct mdns_pending *p, bool v6)
{
        struct buf b = BUF_INIT;
        if (mdns_query_build(&b, p->name, r->cfg.qu) < 0 || b.len > MDNS_QUERY_MAX) {
                buf_free(&b);
                return;
        }
        struct mdns_output *o = queue_push(r);
        if (o) {
                o->kind = MDNS_OUT_SEND_QUERY;
                if (v6) {
                        addr_set_ipv6(&o->to, mdns_group_v6, MDNS_PORT);
                        o->to.scope_id = r->cfg.ipv6_scope;
                } else {
                        addr_set_ipv4(&o->to, mdns_group_v4, MDNS_PORT);
                }
                memcpy(o->data, b.data, b.len);
                o->len = b.len;
                o->tag = p->tag;
                memcpy(o->name, p->name, sizeof(o->name));
        }
        buf_free(&b);
}

/* Sends at 0, 1 s, 2 s, 4 s... from the start: the 1 s then doubling of RFC 6762 §5.2. */
static void send_and_schedule(struct mdns_resolver *r, struct mdns_pending *p, uint64_t now)
{
        if (!r->cfg.no_ipv4)
                push_query(r, p, false);
        if (r->cfg.ipv6)
                push_query(r, p, true);
        /* Skips the slots a late caller missed instead of sending a burst. */
        for (;;) {
                unsigned shift = p->sends++;
                if (shift > 40) {
                        p->next_send = UINT64_MAX;
                        break;
                }
                uint64_t off = (uint64_t)MDNS_FIRST_RETRY_US << shift;
                p->next_send = p->started > UINT64_MAX - off ? UINT64_MAX : p->started + off;
                if (p->next_send > now)
                        break;
        }
        if (p->next_send >= p->fail_at)
                p->next_send = UINT64_MAX;
}

static bool name_is_sane(const char *name)
{
        size_t len = strnlen(name, MDNS_NAME_TEXT_MAX);
        if (len >= MDNS_NAME_TEXT_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
                if (!ok)
                        return false;
        }
        if (len > 0 && name[len - 1] == '.')
                len--;
        /* At least one label, then ".local". */
        static const char suffix[] = ".local";
        size_t sl = sizeof(suffix) - 1;
        if (len <= sl)
                return false;
        for (size_t i = 0; i < sl; i++)
                if (ascii_lower((uint8_t)name[len - sl + i]) != (uint8_t)suffix[i])
                        return false;
        return true;
}

int mdns_resolve(struct mdns_resolver *r, uint64_t now_us, const char *name, uint64_t tag)
{
        if (!r || !name || !name_is_sane(name) || (r->cfg.no_ipv4 && !r->cfg.ipv6))
                return -EINVAL;
        if (r->n >= MDNS_MAX_PENDING)
                return -ENOSPC;
        struct mdns_pending *p = &r->pending[r->n];
        memset(p, 0, sizeof(*p));
        if (mdns_name_encode(name, p->wire, &p->wire_len) < 0)
                return -EINVAL; /* empty or over-long label */
        snprintf(p->name, sizeof(p->name), "%s", name);
        p->tag = tag;
        p->started = now_us;
        p->fail_at =
            now_us > UINT64_MAX - r->cfg.timeout_us ? UINT64_MAX : now_us + r->cfg.timeout_us;
        r->n++;
        send_and_schedule(r, p, now_us);
        log_debug("ice", "mdns: resolving %s", p->name);
        return 0;
}

static void remove_at(struct mdns_resolver *r, size_t i)
{
        /* Keeps start order, so outputs come in a stable order. */
        memmove(&r->pending[i], &r->pending[i + 1], (r->n - i - 1) * sizeof(r->pending[0]));
        r->n--;
}

int mdns_cancel(struct mdns_resolver *r, uint64_t tag)
{
        if (!r)
                return -EINVAL;
        int rc = -ENOENT;
        for (size_t i = r->n; i-- > 0;) {
                if (r->pending[i].tag == tag) {
                        remove_at(r, i);
                        rc = 0;
                }
        }
        return rc;
}

static const struct mdns_record *find_answer(const struct mdns_response *resp,
                                             const struct mdns_pending *p)
{
        size_t n =
            resp->addr_count < MDNS_MAX_ADDR_RECORDS ? resp->addr_count : MDNS_MAX_ADDR_RECORDS;
        /* Packet order puts the answer section before the authority and additional ones. */
        for (size_t i = 0; i < n; i++) {
                const struct mdns_record *rec = &resp->rec[i];
                if (rec->ttl != 0 &&
                    mdns_name_equal(rec->name, rec->name_len, p->wire, p->wire_len))
                        return rec;
        }
        return NULL;
}

int mdns_handle_input(struct mdns_resolver *r, uint64_t now_us, const uint8_t *data, size_t len)
{
        (void)now_us;
        if (!r || (!data && len))
                return -EINVAL;
        struct mdns_response *resp = malloc(sizeof(*resp));
        if (!resp)
                return -ENOMEM;
        int rc = mdns_response_parse(resp, data, len);
        if (rc < 0) {
                log_debug("ice", "mdns: ignoring a %zu-byte datagram (%s)", len,
                          rc == -ENOMSG ? "not a response" : "malformed");
                free(resp);
                return rc;
        }
        rc = -ENOENT;
        for (size_t i = 0; i < r->n;) {
                struct mdns_pending *p = &r->pending[i];
                const struct mdns_record *rec = find_answer(resp, p);
                if (!rec) {
                        i++;
                        continue;
                }
                struct mdns_output *o = queue_push(r);
                if (o) {
                        o->kind = MDNS_OUT_RESOLVED;
                        o->tag = p->tag;
                        memcpy(o->name, p->name, sizeof(o->name));
                        o->addr = rec->addr;
                        if (addr_is_link_local(&o->addr) && o->addr.family == ADDR_FAMILY_IPV6)
                                o->addr.scope_id = r->cfg.ipv6_scope;
                        char ip[ADDR_STRLEN];
                        if (addr_ip_to_string(&o->addr, ip, sizeof(ip)) == 0)
                                log_debug("ice", "mdns: %s is %s", p->name, ip);
                }
                remove_at(r, i);
                rc = 0;
        }
        free(resp);
        return rc;
}

int mdns_poll_output(struct mdns_resolver *r, struct mdns_output *out)
{
        if (!r || !out)
                return -EINVAL;
        if (r->qhead == r->qlen)
                return 0;
        *out = r->q[r->qhead++];
        return 1;
}

uint64_t mdns_next_deadline(const struct mdns_resolver *r)
{
        uint64_t d = UINT64_MAX;
        if (!r)
                return d;
        for (size_t i = 0; i < r->n; i++) {
                const struct mdns_pending *p = &r->pending[i];
                if (p->next_send < d)
                        d = p->next_send;
                if (p->fail_at < d)
                        d = p->fail_at;
        }
        return d;
}

static void format_timeout(char *dst, size_t len, uint64_t us)
{
        if (us % 1000000u == 0)
                snprintf(dst, len, "no answer from mDNS after %" PRIu64 " s", us / 1000000u);
        else
                snprintf(dst, len, "no answer from mDNS after %" PRIu64 " ms", us / 1000u);
}

void mdns_handle_timeout(struct mdns_resolver *r, uint64_t now_us)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n;) {
                struct mdns_pending *p = &r->pending[i];
                if (now_us >= p->fail_at) {
                        struct mdns_output *o = queue_push(r);
                        if (o) {
                                o->kind = MDNS_OUT_FAILED;
                                o->tag = p->tag;
                                memcpy(o->name, p->name, sizeof(o->name));
                                format_timeout(o->reason, sizeof(o->reason), r->cfg.timeout_us);
                        }
                        log_debug("ice", "mdns: no answer for %s", p->name);
                        remove_at(r, i);
                        continue;
                }
                if (now_us >= p->next_send)
                        send_and_schedule(r, p, now_us);
                i++;
        }
}

size_t mdns_pending_count(const struct mdns_resolver *r)
{
        return r ? r->n : 0;
}

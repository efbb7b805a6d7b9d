#include "sctp/sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <usrsctp.h>

#include "core/log.h"
#include "sctp/datachannel.h"
#include "sctp/sctp_priv.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

/*
 * usrsctp handles the stack's own timers but does not say when the next one is due, so we tick:
 * every 10 ms while anything happened in the last two seconds or data is unacknowledged, every
 * second otherwise (only heartbeats, 30 s apart, can then be due).
 */
#define SCTP_TICK_US               10000
#define SCTP_IDLE_TICK_US          1000000
#define SCTP_IDLE_AFTER_US         2000000
#define SCTP_READ_CHUNK            65536
#define SCTP_MIN_MTU               512
#define SCTP_COMMON_HEADER_LEN     12
#define SCTP_DATA_CHUNK_HEADER_LEN 16
#define SCTP_CLOCK_REBASE_US       1000000
#define SCTP_RTO_INITIAL_MS        1000
/* Above the peer's delayed-SACK timer (200 ms in usrsctp and Chromium's dcSCTP), as dcSCTP. */
#define SCTP_RTO_MIN_MS 220
/*
 * Our delayed-SACK timer (usrsctp's default is 200 ms). Every second packet is still acknowledged
 * at once; the timer only matters when a single packet is outstanding, which is the rule for a
 * sender held to a small window by loss: then every acknowledgement waited 200 ms.
 */
#define SCTP_SACK_DELAY_MS 20
#define SCTP_SACK_FREQ     2
#define SCTP_RTO_MAX_MS    10000
/* Chunk and parameter types the glue looks at (RFC 4960, RFC 6525). */
#define SCTP_CHUNK_SACK              3
#define SCTP_CHUNK_RECONFIG          130
#define SCTP_PARAM_OUT_SSN_RESET_REQ 13
/*
 * How long we hold a stream reset request back while our cumulative TSN does not move, and how
 * many such packets (see sctp_input).
 */
#define SCTP_RESET_HOLD_MAX_US 5000000
#define SCTP_RESET_HOLD_MAX    8
/*
 * How often we ask usrsctp for a heartbeat, to give it an RTT sample, while partially reliable
 * data is in flight (sctp_probe_rtt): quickly while its RTO is above the minimum (a bad
 * estimate takes some 30 samples to wash out), for at most that many probes (a long path keeps
 * its RTO above the minimum for good), slowly otherwise.
 */
#define SCTP_RTT_PROBE_FAST_US 50000
#define SCTP_RTT_PROBE_SLOW_US 500000
#define SCTP_RTT_PROBES_FAST   40
/* usrsctp refuses sends beyond this many chunks per association; the default 512 is small. */
#define SCTP_MAX_CHUNKS_ON_QUEUE 8192

/*
 * Bytes held by the association's send queues. usrsctp implements this read-only option of the
 * BSD stack it derives from but leaves it out of usrsctp.h.
 */
#ifndef SCTP_GET_SNDBUF_USE
#define SCTP_GET_SNDBUF_USE 0x00001101
#endif
struct sctp_sndbuf_use {
        sctp_assoc_t assoc_id;
        uint32_t total_sndbuf;
        uint32_t total_recv_buf;
};

/* The process-wide side of usrsctp: one stack, one clock, every association we made. */
static struct {
        bool inited;
        unsigned refs;
        bool clock_set;
        bool crc_hw;       /* the CPU has the CRC32C instruction (SSE 4.2) */
        uint64_t clock_us; /* now_us that corresponds to the time usrsctp has been given */
        struct sctp_assoc *list;
} g_sctp;

static void sctp_drain(struct sctp_assoc *a);

uint64_t sctp_now(void)
{
        return g_sctp.clock_us;
}

__attribute__((format(printf, 1, 2))) static void sctp_debug_printf(const char *fmt, ...)
{
        if (!log_enabled(LOG_LEVEL_TRACE, "sctp"))
                return;
        char line[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = '\0';
        log_trace("sctp", "usrsctp: %s", line);
}

struct sctp_item *sctp_assoc_push(struct sctp_assoc *a, enum sctp_output_kind kind, size_t extra)
{
        struct sctp_item *it = malloc(sizeof(*it) + extra);
        if (!it) {
                log_error("sctp", "out of memory queueing an output");
                return NULL;
        }
        memset(it, 0, sizeof(*it));
        it->kind = kind;
        if (a->q_tail)
                a->q_tail->next = it;
        else
                a->q_head = it;
        a->q_tail = it;
        return it;
}

/*
 * One trace line per SCTP packet with its chunks (type, TSNs, SACK gaps), to see what the stack
 * does on the wire, which the DTLS encryption hides from packet captures.
 */
static void sctp_trace_packet(const char *dir, const uint8_t *p, size_t n)
{
        if (!log_enabled(LOG_LEVEL_TRACE, "sctp"))
                return;
        struct buf line = BUF_INIT;
        struct buf_rd r;
        buf_rd_init(&r, p, n);
        buf_rd_skip(&r, SCTP_COMMON_HEADER_LEN);
        while (buf_rd_ok(&r) && buf_rd_remaining(&r) >= 4) {
                uint8_t type = buf_rd_u8(&r), flags = buf_rd_u8(&r);
                uint16_t clen = buf_rd_u16be(&r);
                if (clen < 4)
                        break;
                struct buf_rd c = buf_rd_sub(&r, clen - 4u);
                buf_rd_skip(&r, (4u - clen % 4u) % 4u);
                switch (type) {
                case 0: { /* DATA */
                        uint32_t tsn = buf_rd_u32be(&c);
                        uint16_t sid = buf_rd_u16be(&c);
                        buf_printf(&line, " DATA(tsn %u sid %u%s len %u)", tsn, sid,
                                   (flags & 4) ? " U" : "", clen - 16u);
                        break;
                }
                case 3: { /* SACK */
                        uint32_t cum = buf_rd_u32be(&c), rwnd = buf_rd_u32be(&c);
                        uint16_t gaps = buf_rd_u16be(&c), dups = buf_rd_u16be(&c);
                        buf_printf(&line, " SACK(cum %u rwnd %u gaps %u dups %u)", cum, rwnd, gaps,
                                   dups);
                        break;
                }
                case 6: { /* ABORT: the first error cause says why */
                        uint16_t cause = buf_rd_u16be(&c), cl = buf_rd_u16be(&c);
                        size_t tl = cl >= 4 ? cl - 4u : 0;
                        if (tl > buf_rd_remaining(&c))
                                tl = buf_rd_remaining(&c);
                        const uint8_t *t = buf_rd_bytes(&c, tl);
                        buf_printf(&line, " ABORT(cause %u", cause);
                        /* Protocol violations carry text naming the check that failed. */
                        for (size_t i = 0; t && cause == 13 && i < tl; i++)
                                buf_printf(&line, "%c", t[i] >= 32 && t[i] < 127 ? t[i] : '.');
                        buf_printf(&line, ")");
                        break;
                }
                case 192: /* FORWARD-TSN */
                        buf_printf(&line, " FWD-TSN(%u)", buf_rd_u32be(&c));
                        break;
                default:
                        buf_printf(&line, " chunk%u(%u)", type, clen);
                        break;
                }
        }
        buf_terminate(&line);
        log_trace("sctp", "%.3f %s %zu:%s", (double)g_sctp.clock_us / 1000.0, dir, n,
                  line.data ? (const char *)line.data : "");
        buf_free(&line);
}

static bool sctp_tsn_gt(uint32_t a, uint32_t b)
{
        return a != b && (uint32_t)(a - b) < 0x80000000u;
}

/* Notes the cumulative TSN of a SACK we send: every TSN up to it is ours. */
static void sctp_note_sack(struct sctp_assoc *a, const uint8_t *p, size_t n)
{
        struct buf_rd r;
        buf_rd_init(&r, p, n);
        buf_rd_skip(&r, SCTP_COMMON_HEADER_LEN);
        while (buf_rd_ok(&r) && buf_rd_remaining(&r) >= 8) {
                uint8_t type = buf_rd_u8(&r);
                buf_rd_skip(&r, 1);
                uint16_t clen = buf_rd_u16be(&r);
                if (clen < 4)
                        return;
                if (type == SCTP_CHUNK_SACK) {
                        uint32_t cum = buf_rd_u32be(&r);
                        if (buf_rd_ok(&r)) {
                                if (!a->sack_cum_valid || cum != a->sack_cum)
                                        a->sack_cum_moved = g_sctp.clock_us;
                                a->sack_cum = cum;
                                a->sack_cum_valid = true;
                        }
                        return;
                }
                buf_rd_skip(&r, (clen - 4u + 3u) & ~3u);
        }
}

/*
 * The TSN an incoming RE-CONFIG chunk makes usrsctp wait for: the largest "sender's last
 * assigned TSN" of its Outgoing SSN Reset Requests that we have not acknowledged yet.
 */
static bool sctp_reset_ahead(const struct sctp_assoc *a, struct buf_rd c, uint32_t *tsn)
{
        bool ahead = false;
        while (buf_rd_ok(&c) && buf_rd_remaining(&c) >= 4) {
                uint16_t type = buf_rd_u16be(&c), plen = buf_rd_u16be(&c);
                if (plen < 4)
                        break;
                struct buf_rd prm = buf_rd_sub(&c, plen - 4u);
                buf_rd_skip(&c, (4u - plen % 4u) % 4u);
                if (type != SCTP_PARAM_OUT_SSN_RESET_REQ)
                        continue;
                buf_rd_skip(&prm, 8); /* request and response sequence numbers */
                uint32_t last = buf_rd_u32be(&prm);
                if (!buf_rd_ok(&prm) || !sctp_tsn_gt(last, a->sack_cum))
                        continue;
                if (!ahead || sctp_tsn_gt(last, *tsn))
                        *tsn = last;
                ahead = true;
        }
        return ahead;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t sctp_crc32c_hw(const uint8_t *p, size_t n)
{
        uint64_t c = 0xffffffffu;
        for (; n >= 8; p += 8, n -= 8) {
                uint64_t v;
                memcpy(&v, p, 8);
                c = _mm_crc32_u64(c, v);
        }
        uint32_t c32 = (uint32_t)c;
        for (; n > 0; p++, n--)
                c32 = _mm_crc32_u8(c32, *p);
        return ~c32;
}
#endif

/*
 * The SCTP checksum as usrsctp_crc32c computes it (already in the byte order the header holds
 * on this little-endian machine), with the CPU's CRC32C instruction when it has one: the
 * library's byte-table loop cost 8-9 % of each side's CPU in a bulk transfer.
 */
uint32_t sctp_crc32c(const void *p, size_t n)
{
#if defined(__x86_64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (g_sctp.crc_hw)
                return sctp_crc32c_hw(p, n);
#endif
        return usrsctp_crc32c((void *)(uintptr_t)p, n);
}

static void sctp_set_checksum(uint8_t *pkt, size_t len)
{
        memset(pkt + 8, 0, 4);
        uint32_t crc = sctp_crc32c(pkt, len);
        memcpy(pkt + 8, &crc, 4);
}

/*
 * Hands a received packet to usrsctp, except for a stream reset request that is ahead of our
 * cumulative TSN. usrsctp (0.9.5 and later) must defer such a request until the missing TSNs
 * arrive (RFC 6525 section 5.2.2), and queues the data that arrives meanwhile; when it then
 * performs the reset it files that queue as ordered data, unordered messages included: their
 * stream sequence number (always 0 for unordered data) looks like a duplicate, and it aborts
 * the association ("Queue to str MID: 0 duplicate") or loses the messages. Unordered channels
 * with gaps (loss, or partial reliability) hit this whenever a channel is closed. So we keep
 * the RE-CONFIG chunks of such a packet back, pass the rest on at once, and release them once
 * a SACK of ours covers the TSN they name; to the peer it looks like a slow network.
 */
static void sctp_input(struct sctp_assoc *a, uint64_t now_us, const uint8_t *p, size_t n)
{
        uint32_t wait_tsn = 0;
        bool hold = false, bad = false;
        size_t kept = 0;
        struct buf_rd r;
        buf_rd_init(&r, p, n);
        buf_rd_skip(&r, SCTP_COMMON_HEADER_LEN);
        while (a->sack_cum_valid && buf_rd_ok(&r) && buf_rd_remaining(&r) >= 4) {
                uint8_t type = buf_rd_u8(&r);
                buf_rd_skip(&r, 1);
                uint16_t clen = buf_rd_u16be(&r);
                if (clen < 4) {
                        bad = true;
                        break;
                }
                struct buf_rd c = buf_rd_sub(&r, clen - 4u);
                buf_rd_skip(&r, (4u - clen % 4u) % 4u);
                if (type != SCTP_CHUNK_RECONFIG)
                        continue;
                uint32_t t = 0;
                if (buf_rd_ok(&c) && sctp_reset_ahead(a, c, &t)) {
                        if (!hold || sctp_tsn_gt(t, wait_tsn))
                                wait_tsn = t;
                        hold = true;
                }
                kept += ((size_t)clen + 3u) & ~(size_t)3u;
        }
        /* Malformed packets go to usrsctp untouched: it judges them. */
        if (!hold || bad || !buf_rd_ok(&r) || a->n_held >= SCTP_RESET_HOLD_MAX) {
                usrsctp_conninput(a, p, n, 0);
                return;
        }
        /* Split the packet: RE-CONFIG chunks into the held one, the others go in now. */
        struct sctp_held *h = malloc(sizeof(*h) + SCTP_COMMON_HEADER_LEN + kept);
        uint8_t *rest = malloc(n);
        if (!h || !rest) {
                free(h);
                free(rest);
                usrsctp_conninput(a, p, n, 0);
                return;
        }
        memcpy(h->data, p, SCTP_COMMON_HEADER_LEN);
        memcpy(rest, p, SCTP_COMMON_HEADER_LEN);
        size_t hl = SCTP_COMMON_HEADER_LEN, rl = SCTP_COMMON_HEADER_LEN;
        size_t off = SCTP_COMMON_HEADER_LEN;
        while (off + 4 <= n) {
                size_t clen = (size_t)p[off + 2] << 8 | p[off + 3];
                size_t span = (clen + 3u) & ~(size_t)3u;
                if (span > n - off)
                        span = n - off; /* the last chunk may omit its padding */
                if (p[off] == SCTP_CHUNK_RECONFIG) {
                        memcpy(h->data + hl, p + off, span);
                        hl += span;
                } else {
                        memcpy(rest + rl, p + off, span);
                        rl += span;
                }
                off += span;
        }
        if (rl > SCTP_COMMON_HEADER_LEN) {
                sctp_set_checksum(rest, rl);
                usrsctp_conninput(a, rest, rl, 0);
        }
        free(rest);
        /* The peer retransmits a request until answered: keep one copy of each. */
        for (struct sctp_held *x = a->held; x; x = x->next) {
                if (x->len == hl && memcmp(x->data, h->data, hl) == 0) {
                        free(h);
                        return;
                }
        }
        sctp_set_checksum(h->data, hl);
        h->next = NULL;
        h->tsn = wait_tsn;
        h->since = now_us;
        h->len = hl;
        struct sctp_held **pp = &a->held;
        while (*pp)
                pp = &(*pp)->next;
        *pp = h;
        a->n_held++;
        log_debug("sctp", "holding a stream reset request until TSN %u arrives (have %u)", wait_tsn,
                  a->sack_cum);
}

/* Releases held reset requests once our SACKs cover them, or when they have waited too long. */
static void sctp_release_held(struct sctp_assoc *a, uint64_t now_us)
{
        while (a->held) {
                struct sctp_held *h = a->held;
                bool ready = !sctp_tsn_gt(h->tsn, a->sack_cum);
                /*
                 * Releasing early risks the very abort the hold avoids, so we wait as long as
                 * the data keeps coming (a slow sender under loss, whose FORWARD-TSN will close
                 * the gap) and give up only on a peer that stopped filling it.
                 */
                uint64_t since = h->since > a->sack_cum_moved ? h->since : a->sack_cum_moved;
                if (!ready && now_us - since < SCTP_RESET_HOLD_MAX_US)
                        return;
                if (!ready)
                        log_debug("sctp",
                                  "TSN %u still missing, nothing new for %u s: releasing the "
                                  "stream reset request anyway",
                                  h->tsn, SCTP_RESET_HOLD_MAX_US / 1000000);
                a->held = h->next;
                a->n_held--;
                usrsctp_conninput(a, h->data, h->len, 0);
                free(h);
        }
}

/* The stack's packet output: runs inside usrsctp calls, so it only queues (design.md). */
static int sctp_conn_output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df)
{
        (void)tos;
        (void)set_df;
        struct sctp_assoc *a = addr;
        if (!a || a->freeing)
                return 0;
        struct sctp_item *it = sctp_assoc_push(a, SCTP_OUTPUT_TRANSMIT, length);
        if (!it)
                return ENOBUFS; /* usrsctp treats the packet as lost and retransmits */
        memcpy(it->data, buffer, length);
        it->len = length;
        /* usrsctp leaves the checksum to us (crc32c offload, see sctp_global_init). */
        if (length >= SCTP_COMMON_HEADER_LEN)
                sctp_set_checksum(it->data, length);
        a->activity = true;
        sctp_trace_packet("tx", buffer, length);
        sctp_note_sack(a, buffer, length);
#ifdef SCTP_CRC_SELFCHECK
        {
                uint8_t tmp[2048];
                if (length <= sizeof(tmp)) {
                        memcpy(tmp, buffer, length);
                        sctp_set_checksum(tmp, length);
                        if (memcmp(tmp, buffer, length) != 0)
                                log_error("sctp", "CRC SELFCHECK MISMATCH");
                }
        }
#endif
        return 0;
}

static void sctp_global_init(void)
{
        if (g_sctp.inited)
                return;
        /*
         * Port 0: no UDP encapsulation; packets only leave through sctp_conn_output. Even in this
         * mode usrsctp starts its iterator thread, which inherits our signal mask: block every
         * signal around the start so that none (the shell's SIGINT) is ever delivered there.
         */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        usrsctp_init_nothreads(0, sctp_conn_output, sctp_debug_printf);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        /* ECN marks cannot cross DTLS, and a single DTLS path needs no address reconfiguration
         * (ASCONF), which is what SCTP-AUTH would protect; DTLS authenticates everything. */
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        usrsctp_sysctl_set_sctp_asconf_enable(0);
        usrsctp_sysctl_set_sctp_auth_enable(0);
        /* PR-SCTP for partially reliable channels, RE-CONFIG for closing them. */
        usrsctp_sysctl_set_sctp_pr_enable(1);
        usrsctp_sysctl_set_sctp_reconfig_enable(1);
        usrsctp_sysctl_set_sctp_max_chunks_on_queue(SCTP_MAX_CHUNKS_ON_QUEUE);
        /*
         * "Offload" the CRC32c: usrsctp neither checks it on input, where DTLS has already
         * authenticated every byte of the record (the reasoning of RFC 9653), nor computes it
         * on output, where sctp_conn_output does, faster, for peers that check it.
         */
        usrsctp_enable_crc32c_offload();
#if defined(__x86_64__)
        g_sctp.crc_hw = __builtin_cpu_supports("sse4.2");
#endif
        g_sctp.inited = true;
}

/* Moves one association's packets to the other; counts the events that matter to a warm-up. */
static int prepare_pump(struct sctp_assoc *from, struct sctp_assoc *to, int *up, int *msgs)
{
        struct sctp_output o;
        int moved = 0;
        while (sctp_assoc_poll_output(from, &o) == 1) {
                if (o.kind == SCTP_OUTPUT_TRANSMIT) {
                        sctp_assoc_handle_input(to, 0, o.data, o.len);
                        moved++;
                } else if (o.kind == SCTP_OUTPUT_ASSOC_UP) {
                        (*up)++;
                } else if (o.kind == SCTP_OUTPUT_CHANNEL_MESSAGE) {
                        (*msgs)++;
                }
        }
        return moved;
}

/*
 * Starts usrsctp, then runs two associations in memory through the handshake, a channel open
 * and one message: the first association of a process cost 0.1-0.2 ms more in connect alone
 * (usrsctp's allocations and code still cold), right between DTLS and SCTP on both sides.
 */
void sctp_lib_prepare(void)
{
        sctp_global_init();
        if (g_sctp.refs > 0)
                return; /* a real association runs: its clock must not be disturbed */
        struct sctp_config ca = {.dtls_client = true}, cb = {0};
        struct sctp_assoc *a = NULL, *b = NULL;
        int up = 0, msgs = 0;
        int level = log_get_level();
        log_set_level(LOG_LEVEL_WARN); /* its debug lines would read as the real ones */
        if (sctp_assoc_new(&ca, &a) == 0 && sctp_assoc_new(&cb, &b) == 0) {
                uint16_t id;
                sctp_assoc_start(a, 0);
                sctp_assoc_start(b, 0);
                for (int i = 0; i < 16 && up < 2; i++)
                        if (prepare_pump(a, b, &up, &msgs) + prepare_pump(b, a, &up, &msgs) == 0)
                                break;
                if (up == 2 && sctp_channel_open(a, "warm", "", NULL, &id) == 0 &&
                    sctp_channel_send(a, id, true, "warm", 4) == 0)
                        for (int i = 0; i < 16 && msgs < 1; i++)
                                if (prepare_pump(a, b, &up, &msgs) +
                                        prepare_pump(b, a, &up, &msgs) ==
                                    0)
                                        break;
        }
        sctp_assoc_free(a);
        sctp_assoc_free(b);
        log_set_level(level);
        if (up != 2 || msgs != 1)
                log_debug("sctp", "the warm-up association did not complete");
}

/* Gives usrsctp the time elapsed since it was last told, in whole milliseconds. */
static void sctp_clock_advance(uint64_t now_us)
{
        if (!g_sctp.clock_set) {
                g_sctp.clock_us = now_us;
                g_sctp.clock_set = true;
                return;
        }
        if (now_us <= g_sctp.clock_us) {
                /* A clock far behind ours was restarted (a new virtual clock): follow it. */
                if (g_sctp.clock_us - now_us > SCTP_CLOCK_REBASE_US)
                        g_sctp.clock_us = now_us;
                return;
        }
        uint64_t ms = (now_us - g_sctp.clock_us) / 1000;
        if (ms == 0)
                return;
        g_sctp.clock_us += ms * 1000;
        while (ms > 0) {
                uint32_t step = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
                usrsctp_handle_timers(step);
                ms -= step;
        }
        /* Timers may have produced events for any association, not only the caller's. */
        for (struct sctp_assoc *x = g_sctp.list; x; x = x->next_global)
                sctp_drain(x);
}

static void sctp_fail(struct sctp_assoc *a, int error, const char *reason)
{
        if (a->state == SCTP_ST_DEAD)
                return;
        a->state = SCTP_ST_DEAD;
        a->next_tick = UINT64_MAX;
        if (error) {
                log_warn("sctp", "association failed: %s", reason);
                size_t n = strlen(reason);
                struct sctp_item *it = sctp_assoc_push(a, SCTP_OUTPUT_ASSOC_FAILED, n + 1);
                if (it) {
                        it->error = error;
                        memcpy(it->data, reason, n + 1);
                }
        } else {
                log_info("sctp", "association shut down");
                sctp_assoc_push(a, SCTP_OUTPUT_ASSOC_DOWN, 0);
        }
        sctp_channel_on_assoc_end(a);
}

static void sctp_on_assoc_change(struct sctp_assoc *a, const uint8_t *p, size_t n)
{
        struct sctp_assoc_change sac;
        if (n < sizeof(sac))
                return;
        memcpy(&sac, p, sizeof(sac));
        switch (sac.sac_state) {
        case SCTP_COMM_UP: {
                if (a->state != SCTP_ST_CONNECTING && a->state != SCTP_ST_IDLE)
                        return;
                uint16_t s = sac.sac_outbound_streams < sac.sac_inbound_streams
                                 ? sac.sac_outbound_streams
                                 : sac.sac_inbound_streams;
                a->streams = s < SCTP_MAX_STREAMS ? s : SCTP_MAX_STREAMS;
                a->state = SCTP_ST_UP;
                log_debug("sctp", "association up: %u streams out, %u in", sac.sac_outbound_streams,
                          sac.sac_inbound_streams);
                sctp_assoc_push(a, SCTP_OUTPUT_ASSOC_UP, 0);
                break;
        }
        case SCTP_COMM_LOST:
                /* usrsctp attaches the peer's ABORT chunk when there was one. */
                if (sac.sac_length > sizeof(sac))
                        sctp_fail(a, -ECONNRESET, "the peer aborted the SCTP association");
                else
                        sctp_fail(a, -ETIMEDOUT, "the SCTP peer stopped responding");
                break;
        case SCTP_CANT_STR_ASSOC:
                sctp_fail(a, -ECONNREFUSED, "the SCTP association could not be established");
                break;
        case SCTP_SHUTDOWN_COMP:
                sctp_fail(a, 0, NULL);
                break;
        case SCTP_RESTART:
                log_warn("sctp", "the peer restarted the association");
                break;
        default:
                break;
        }
}

static void sctp_on_notification(struct sctp_assoc *a, const uint8_t *p, size_t n)
{
        struct sctp_tlv hdr;
        if (n < sizeof(hdr))
                return;
        memcpy(&hdr, p, sizeof(hdr));
        if (hdr.sn_length < n)
                n = hdr.sn_length;
        switch (hdr.sn_type) {
        case SCTP_ASSOC_CHANGE:
                sctp_on_assoc_change(a, p, n);
                break;
        case SCTP_STREAM_RESET_EVENT: {
                size_t head = offsetof(struct sctp_stream_reset_event, strreset_stream_list);
                if (n < head)
                        return;
                size_t count = (n - head) / sizeof(uint16_t);
                uint16_t sids[64];
                size_t done = 0;
                /* An empty list means every stream (RFC 6525 section 4.1). */
                if (count == 0)
                        sctp_channel_on_reset(a, hdr.sn_flags, NULL, 0);
                while (done < count) {
                        size_t k = count - done < 64 ? count - done : 64;
                        memcpy(sids, p + head + done * sizeof(uint16_t), k * sizeof(uint16_t));
                        sctp_channel_on_reset(a, hdr.sn_flags, sids, k);
                        done += k;
                }
                break;
        }
        case SCTP_SENDER_DRY_EVENT:
                sctp_channel_on_send_buffer_empty(a);
                break;
        case SCTP_REMOTE_ERROR:
                log_warn("sctp", "the peer reported an SCTP error");
                break;
        case SCTP_SHUTDOWN_EVENT:
                log_debug("sctp", "the peer started a shutdown");
                break;
        case SCTP_PARTIAL_DELIVERY_EVENT:
                /* A partially delivered message was abandoned: forget its first part. */
                log_debug("sctp", "partial delivery aborted");
                a->rx_in_msg = false;
                buf_reset(&a->rx_msg);
                break;
        default:
                break;
        }
}

static void sctp_on_data(struct sctp_assoc *a, const struct sctp_rcvinfo *info, bool have_info,
                         const uint8_t *p, size_t n, bool eor)
{
        if (!a->rx_in_msg) {
                if (!have_info) {
                        log_warn("sctp", "received data without stream information; dropped");
                        a->rx_discard = true;
                } else {
                        a->rx_discard = false;
                        a->rx_sid = info->rcv_sid;
                        a->rx_ppid = ntohl(info->rcv_ppid);
                }
                a->rx_in_msg = true;
                buf_reset(&a->rx_msg);
                if (eor && !a->rx_discard && n <= a->cfg.receive_limit) {
                        /* The common case: a whole message in one read, no copy. */
                        a->rx_in_msg = false;
                        sctp_channel_on_message(a, a->rx_sid, a->rx_ppid, p, n);
                        return;
                }
        }
        if (!a->rx_discard) {
                if (a->rx_msg.len + n > a->cfg.receive_limit) {
                        log_warn("sctp",
                                 "dropping a message over our limit of %zu bytes on stream %u",
                                 a->cfg.receive_limit, a->rx_sid);
                        a->rx_discard = true;
                        buf_free(&a->rx_msg);
                } else if (buf_append(&a->rx_msg, p, n) < 0) {
                        log_error("sctp", "out of memory reassembling a message; dropped");
                        a->rx_discard = true;
                        buf_free(&a->rx_msg);
                }
        }
        if (eor) {
                a->rx_in_msg = false;
                if (!a->rx_discard)
                        sctp_channel_on_message(a, a->rx_sid, a->rx_ppid, a->rx_msg.data,
                                                a->rx_msg.len);
                buf_reset(&a->rx_msg);
        }
}

/* Reads everything usrsctp has for us: messages and notifications, until it would block. */
static void sctp_drain(struct sctp_assoc *a)
{
        if (a->draining || !a->sock || a->freeing)
                return;
        a->draining = true;
        while (!a->rx_paused) {
                struct sctp_rcvinfo info;
                socklen_t infolen = sizeof(info);
                unsigned infotype = 0;
                int flags = 0;
                struct sockaddr_conn from;
                socklen_t fromlen = sizeof(from);
                ssize_t n =
                    usrsctp_recvv(a->sock, a->rdbuf, SCTP_READ_CHUNK, (struct sockaddr *)&from,
                                  &fromlen, &info, &infolen, &infotype, &flags);
                if (n < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)
                                log_debug("sctp", "recv: %s", strerror(errno));
                        break;
                }
                if (n == 0) {
                        /* End of stream: the peer shut down. usrsctp stops notifications once
                         * the socket cannot receive, so no SHUTDOWN_COMP follows on this side. */
                        if (a->state == SCTP_ST_UP)
                                sctp_fail(a, 0, NULL);
                        break;
                }
                a->activity = true;
                bool eor = (flags & MSG_EOR) != 0;
                if (flags & MSG_NOTIFICATION) {
                        if (buf_append(&a->rx_notif, a->rdbuf, (size_t)n) < 0) {
                                buf_reset(&a->rx_notif);
                                continue;
                        }
                        if (eor) {
                                sctp_on_notification(a, a->rx_notif.data, a->rx_notif.len);
                                buf_reset(&a->rx_notif);
                        }
                        continue;
                }
                bool have_info = infotype == SCTP_RECVV_RCVINFO && infolen >= sizeof(info);
                sctp_on_data(a, &info, have_info, a->rdbuf, (size_t)n, eor);
        }
        a->draining = false;
}

static void sctp_schedule(struct sctp_assoc *a, uint64_t now_us)
{
        if (a->state == SCTP_ST_DEAD || a->state == SCTP_ST_IDLE) {
                a->next_tick = UINT64_MAX;
                return;
        }
        if (a->activity) {
                a->last_activity = now_us;
                a->activity = false;
        }
        bool busy = now_us - a->last_activity < SCTP_IDLE_AFTER_US || a->held || a->resets_queued ||
                    (a->state == SCTP_ST_UP && sctp_assoc_total_buffered(a) > 0);
        a->next_tick = now_us + (busy ? SCTP_TICK_US : SCTP_IDLE_TICK_US);
        a->idle_tick = !busy;
}

/* New work while ticking slowly: ask for a timeout now, which goes back to the fast tick. */
static void sctp_wake(struct sctp_assoc *a)
{
        a->activity = true;
        if (a->idle_tick) {
                a->idle_tick = false;
                a->next_tick = 0;
        }
}

static int sctp_setopt(struct sctp_assoc *a, int level, int name, const void *v, socklen_t len,
                       const char *what)
{
        if (usrsctp_setsockopt(a->sock, level, name, v, len) < 0) {
                int e = errno;
                log_error("sctp", "setting %s: %s", what, strerror(e));
                return -EIO;
        }
        return 0;
}

static int sctp_configure_socket(struct sctp_assoc *a)
{
        int rc = 0;
        if (usrsctp_set_non_blocking(a->sock, 1) < 0) {
                log_error("sctp", "making the socket non-blocking: %s", strerror(errno));
                return -EIO;
        }
        /* Closing aborts at once: the caller drops our output queue along with us. */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        rc |= sctp_setopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), "SO_LINGER");
        int sndbuf = (int)a->cfg.send_buffer, rcvbuf = (int)a->cfg.receive_buffer;
        rc |= sctp_setopt(a, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf), "SO_SNDBUF");
        rc |= sctp_setopt(a, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf), "SO_RCVBUF");
        int on = 1, off = 0;
        rc |= sctp_setopt(a, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on), "SCTP_NODELAY");
        rc |= sctp_setopt(a, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on), "SCTP_RECVRCVINFO");
        /* Level 0: a partially delivered message is never interleaved with another. */
        rc |= sctp_setopt(a, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &off, sizeof(off),
                          "SCTP_FRAGMENT_INTERLEAVE");
        struct sctp_assoc_value av = {.assoc_id = SCTP_FUTURE_ASSOC,
                                      .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
        rc |= sctp_setopt(a, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof(av),
                          "SCTP_ENABLE_STREAM_RESET");
        struct sctp_initmsg init = {.sinit_num_ostreams = SCTP_MAX_STREAMS,
                                    .sinit_max_instreams = SCTP_MAX_STREAMS};
        rc |= sctp_setopt(a, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init), "SCTP_INITMSG");
        struct sctp_rtoinfo rto = {.srto_assoc_id = SCTP_FUTURE_ASSOC,
                                   .srto_initial = SCTP_RTO_INITIAL_MS,
                                   .srto_max = SCTP_RTO_MAX_MS,
                                   .srto_min = SCTP_RTO_MIN_MS};
        rc |= sctp_setopt(a, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof(rto), "SCTP_RTOINFO");
        struct sctp_sack_info sack = {.sack_assoc_id = SCTP_FUTURE_ASSOC,
                                      .sack_delay = SCTP_SACK_DELAY_MS,
                                      .sack_freq = SCTP_SACK_FREQ};
        rc |= sctp_setopt(a, IPPROTO_SCTP, SCTP_DELAYED_SACK, &sack, sizeof(sack),
                          "SCTP_DELAYED_SACK");
        static const uint16_t events[] = {SCTP_ASSOC_CHANGE,     SCTP_STREAM_RESET_EVENT,
                                          SCTP_SENDER_DRY_EVENT, SCTP_REMOTE_ERROR,
                                          SCTP_SHUTDOWN_EVENT,   SCTP_PARTIAL_DELIVERY_EVENT};
        for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
                struct sctp_event ev = {
                    .se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = events[i], .se_on = 1};
                rc |= sctp_setopt(a, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev), "SCTP_EVENT");
        }
        return rc ? -EIO : 0;
}

static struct sockaddr_conn sctp_sconn(struct sctp_assoc *a, uint16_t port)
{
        struct sockaddr_conn s;
        memset(&s, 0, sizeof(s));
        s.sconn_family = AF_CONN;
        s.sconn_port = htons(port);
        s.sconn_addr = a;
        return s;
}

int sctp_assoc_new(const struct sctp_config *cfg, struct sctp_assoc **out)
{
        if (!cfg || !out)
                return -EINVAL;
        *out = NULL;
        if ((cfg->mtu && (cfg->mtu < SCTP_MIN_MTU || cfg->mtu > 65535)) ||
            cfg->send_buffer > INT32_MAX || cfg->receive_buffer > INT32_MAX)
                return -EINVAL;
        struct sctp_assoc *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->cfg = *cfg;
        struct sctp_config *c = &a->cfg;
        if (!c->local_port)
                c->local_port = SCTP_DEFAULT_PORT;
        if (!c->remote_port)
                c->remote_port = SCTP_DEFAULT_PORT;
        if (!c->peer_max_message_size)
                c->peer_max_message_size = SCTP_DEFAULT_MAX_MESSAGE_SIZE;
        if (!c->receive_limit)
                c->receive_limit = SCTP_DEFAULT_RECEIVE_LIMIT;
        if (!c->mtu)
                c->mtu = SCTP_DEFAULT_MTU;
        if (!c->send_buffer)
                c->send_buffer = SCTP_DEFAULT_BUFFER;
        if (!c->receive_buffer)
                c->receive_buffer = SCTP_DEFAULT_BUFFER;
        if (!c->buffered_low)
                c->buffered_low = SCTP_DEFAULT_BUFFERED_LOW;
        /* A non-blocking send of more than the whole send buffer can never succeed. */
        a->send_limit =
            c->peer_max_message_size < c->send_buffer ? c->peer_max_message_size : c->send_buffer;
        a->next_tick = UINT64_MAX;
        a->rdbuf = malloc(SCTP_READ_CHUNK);
        if (!a->rdbuf) {
                free(a);
                return -ENOMEM;
        }

        sctp_global_init();
        if (g_sctp.refs == 0)
                g_sctp.clock_set = false; /* a new run may use a new (test) clock */
        g_sctp.refs++;
        a->next_global = g_sctp.list;
        g_sctp.list = a;
        usrsctp_register_address(a);

        a->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
        if (!a->sock) {
                log_error("sctp", "creating the SCTP socket: %s", strerror(errno));
                sctp_assoc_free(a);
                return -EIO;
        }
        int rc = sctp_configure_socket(a);
        if (rc < 0) {
                sctp_assoc_free(a);
                return rc;
        }
        struct sockaddr_conn local = sctp_sconn(a, c->local_port);
        if (usrsctp_bind(a->sock, (struct sockaddr *)&local, sizeof(local)) < 0) {
                log_error("sctp", "binding SCTP port %u: %s", c->local_port, strerror(errno));
                sctp_assoc_free(a);
                return -EIO;
        }
        *out = a;
        return 0;
}

void sctp_assoc_free(struct sctp_assoc *a)
{
        if (!a)
                return;
        a->freeing = true;
        if (a->sock)
                usrsctp_close(a->sock);
        usrsctp_deregister_address(a);
        for (struct sctp_assoc **p = &g_sctp.list; *p; p = &(*p)->next_global) {
                if (*p == a) {
                        *p = a->next_global;
                        break;
                }
        }
        g_sctp.refs--;
        sctp_channel_free_all(a);
        while (a->held) {
                struct sctp_held *h = a->held;
                a->held = h->next;
                free(h);
        }
        free(a->q_polled);
        while (a->q_head) {
                struct sctp_item *it = a->q_head;
                a->q_head = it->next;
                free(it);
        }
        buf_free(&a->rx_msg);
        buf_free(&a->rx_notif);
        free(a->rdbuf);
        free(a);
}

int sctp_assoc_set_mtu(struct sctp_assoc *a, unsigned mtu)
{
        if (!a || mtu < SCTP_MIN_MTU || mtu > 65535)
                return -EINVAL;
        if (a->state != SCTP_ST_IDLE)
                return -EALREADY;
        a->cfg.mtu = mtu;
        return 0;
}

int sctp_assoc_start(struct sctp_assoc *a, uint64_t now_us)
{
        if (!a)
                return -EINVAL;
        if (a->state != SCTP_ST_IDLE)
                return 0;
        sctp_clock_advance(now_us);
        struct sockaddr_conn remote = sctp_sconn(a, a->cfg.remote_port);
        a->state = SCTP_ST_CONNECTING;
        a->activity = true;
        if (usrsctp_connect(a->sock, (struct sockaddr *)&remote, sizeof(remote)) < 0 &&
            errno != EINPROGRESS) {
                char reason[96];
                snprintf(reason, sizeof(reason), "SCTP connect to port %u: %s", a->cfg.remote_port,
                         strerror(errno));
                sctp_fail(a, -EIO, reason);
                return -EIO;
        }
        /* Our packets ride in DTLS records of bounded size: fix the path MTU, no discovery. */
        struct sctp_paddrparams pp;
        memset(&pp, 0, sizeof(pp));
        memcpy(&pp.spp_address, &remote, sizeof(remote));
        pp.spp_flags = SPP_PMTUD_DISABLE;
        /* usrsctp leaves the 12-byte common header out of an AF_CONN path's MTU. */
        pp.spp_pathmtu = a->cfg.mtu - SCTP_COMMON_HEADER_LEN;
        sctp_setopt(a, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp),
                    "SCTP_PEER_ADDR_PARAMS");
        log_debug("sctp", "connecting port %u to port %u", a->cfg.local_port, a->cfg.remote_port);
        sctp_drain(a);
        sctp_schedule(a, now_us);
        return 0;
}

int sctp_assoc_handle_input(struct sctp_assoc *a, uint64_t now_us, const void *data, size_t len)
{
        if (!a || (!data && len))
                return -EINVAL;
        if (a->state == SCTP_ST_IDLE)
                sctp_assoc_start(a, now_us);
        if (len == 0)
                return 0;
        /* Input still goes in once we reported the end: the peer may be finishing a SHUTDOWN
         * handshake whose last packets usrsctp must answer. */
        sctp_clock_advance(now_us);
        a->activity = true;
        sctp_trace_packet("rx", data, len);
        /* usrsctp copies the packet; the ECN bits are unknown under DTLS. */
        sctp_input(a, now_us, data, len);
        sctp_release_held(a, now_us);
        sctp_drain(a);
        if (a->state == SCTP_ST_UP)
                sctp_channel_on_tick(a);
        sctp_schedule(a, now_us);
        return 0;
}

int sctp_assoc_poll_output(struct sctp_assoc *a, struct sctp_output *out)
{
        free(a->q_polled);
        a->q_polled = a->q_head;
        if (!a->q_polled)
                return 0;
        struct sctp_item *it = a->q_polled;
        a->q_head = it->next;
        if (!a->q_head)
                a->q_tail = NULL;
        memset(out, 0, sizeof(*out));
        out->kind = it->kind;
        out->id = it->id;
        switch (it->kind) {
        case SCTP_OUTPUT_TRANSMIT:
        case SCTP_OUTPUT_CHANNEL_MESSAGE:
                out->data = it->data;
                out->len = it->len;
                out->binary = it->binary;
                break;
        case SCTP_OUTPUT_CHANNEL_OPEN:
                out->label = (const char *)it->data;
                out->label_len = it->label_len;
                out->protocol = (const char *)it->data + it->label_len + 1;
                out->protocol_len = it->protocol_len;
                out->options = it->options;
                break;
        case SCTP_OUTPUT_ASSOC_FAILED:
                out->error = it->error;
                snprintf(out->reason, sizeof(out->reason), "%s", (const char *)it->data);
                break;
        default:
                break;
        }
        return 1;
}

uint64_t sctp_assoc_next_deadline(const struct sctp_assoc *a)
{
        return a->next_tick;
}

/*
 * A trace line a second with the sender's state (congestion window, RTT and RTO, chunks in
 * flight and queued, the peer's window) and the process-wide counters of T3 timeouts, fast
 * retransmissions, stream reset timeouts and heartbeats: what explains a stalled or slow
 * association.
 */
static void sctp_log_status(struct sctp_assoc *a, uint64_t now_us)
{
        if (a->state != SCTP_ST_UP || !log_enabled(LOG_LEVEL_TRACE, "sctp") ||
            now_us - a->status_logged < 1000000)
                return;
        a->status_logged = now_us;
        struct sctp_status st;
        memset(&st, 0, sizeof(st));
        socklen_t len = sizeof(st);
        if (usrsctp_getsockopt(a->sock, IPPROTO_SCTP, SCTP_STATUS, &st, &len) < 0)
                return;
        struct sctpstat s;
        memset(&s, 0, sizeof(s));
        usrsctp_get_stat(&s);
        log_trace("sctp",
                  "status: cwnd %u srtt %u ms rto %u ms unacked %u pending %u peer rwnd %u "
                  "sndbuf %zu held %u; t3 %u fr %u rtx %u strrst-timeouts %u hb %u/%u",
                  st.sstat_primary.spinfo_cwnd, st.sstat_primary.spinfo_srtt,
                  st.sstat_primary.spinfo_rto, st.sstat_unackdata, st.sstat_penddata, st.sstat_rwnd,
                  sctp_assoc_total_buffered(a), a->n_held, s.sctps_timodata,
                  s.sctps_sendfastretrans, s.sctps_sendretransdata, s.sctps_timostrmrst,
                  s.sctps_recvheartbeatack, s.sctps_sendheartbeat);
}

uint32_t sctp_assoc_rto_ms(struct sctp_assoc *a)
{
        struct sctp_status st;
        memset(&st, 0, sizeof(st));
        socklen_t len = sizeof(st);
        if (a->state != SCTP_ST_UP ||
            usrsctp_getsockopt(a->sock, IPPROTO_SCTP, SCTP_STATUS, &st, &len) < 0)
                return 0;
        return st.sstat_primary.spinfo_rto;
}

/*
 * usrsctp 0.9.5 times one DATA chunk per round trip for its RTT estimate and stops for good
 * when PR-SCTP abandons that chunk: it never rearms the measurement (rto_needed), so the
 * estimate freezes. That is harmless while it is right, but the handshake can make it wrong:
 * the INIT-ACK's sample runs from the association's first INIT even when that INIT was lost
 * and resent a second later, so one lost handshake packet left SRTT near a second and the RTO
 * at 3.2 s for the life of the association. Under loss a small window often cannot gather the
 * three reports a fast retransmit needs, so the sender sat out whole RTOs and its rate
 * collapsed (tests/netns/data-loss.sh). Heartbeats still give samples (the HEARTBEAT-ACK
 * echoes its send time), so while partially reliable data is in flight we ask for one on
 * demand now and then.
 */
static void sctp_probe_rtt(struct sctp_assoc *a, uint64_t now_us)
{
        if (a->state != SCTP_ST_UP || !a->pr_sent)
                return;
        struct sctp_status st;
        memset(&st, 0, sizeof(st));
        socklen_t len = sizeof(st);
        if (usrsctp_getsockopt(a->sock, IPPROTO_SCTP, SCTP_STATUS, &st, &len) < 0 ||
            st.sstat_unackdata == 0)
                return;
        bool fast =
            st.sstat_primary.spinfo_rto > SCTP_RTO_MIN_MS && a->rtt_probes < SCTP_RTT_PROBES_FAST;
        if (now_us - a->rtt_probed < (fast ? SCTP_RTT_PROBE_FAST_US : SCTP_RTT_PROBE_SLOW_US))
                return;
        a->rtt_probed = now_us;
        a->rtt_probes++;
        struct sockaddr_conn remote = sctp_sconn(a, a->cfg.remote_port);
        struct sctp_paddrparams pp;
        memset(&pp, 0, sizeof(pp));
        memcpy(&pp.spp_address, &remote, sizeof(remote));
        pp.spp_flags = SPP_HB_DEMAND;
        if (usrsctp_setsockopt(a->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp)) < 0)
                log_debug("sctp", "asking for a heartbeat: %s", strerror(errno));
}

void sctp_assoc_handle_timeout(struct sctp_assoc *a, uint64_t now_us)
{
        if (a->state == SCTP_ST_IDLE || a->state == SCTP_ST_DEAD)
                return;
        sctp_clock_advance(now_us);
        sctp_release_held(a, now_us);
        sctp_drain(a);
        if (a->state == SCTP_ST_UP)
                sctp_channel_on_tick(a);
        sctp_probe_rtt(a, now_us);
        sctp_log_status(a, now_us);
        sctp_schedule(a, now_us);
}

size_t sctp_assoc_total_buffered(struct sctp_assoc *a)
{
        if (a->state != SCTP_ST_UP)
                return 0;
        struct sctp_sndbuf_use use;
        memset(&use, 0, sizeof(use));
        socklen_t len = sizeof(use);
        if (usrsctp_getsockopt(a->sock, IPPROTO_SCTP, SCTP_GET_SNDBUF_USE, &use, &len) < 0)
                return 0;
        return use.total_sndbuf;
}

size_t sctp_assoc_buffered(struct sctp_assoc *a, int id)
{
        size_t total = sctp_assoc_total_buffered(a);
        if (id < 0)
                return total;
        if (id >= SCTP_MAX_STREAMS || !a->ch[id])
                return 0;
        if (total == 0) {
                sctp_channel_on_send_buffer_empty(a);
                return 0;
        }
        uint64_t mine = a->ch[id]->sent_since_empty;
        return mine < total ? (size_t)mine : total;
}

void sctp_assoc_set_receive_paused(struct sctp_assoc *a, bool paused)
{
        if (a->rx_paused == paused)
                return;
        a->rx_paused = paused;
        /* Reading again reopens our window: usrsctp queues a window update as we read. */
        if (!paused)
                sctp_drain(a);
}

int sctp_assoc_shutdown(struct sctp_assoc *a)
{
        if (!a)
                return -EINVAL;
        if (a->state != SCTP_ST_UP)
                return -ENOTCONN;
        if (usrsctp_shutdown(a->sock, SHUT_WR) < 0)
                return -errno;
        return 0;
}

size_t sctp_assoc_max_unfragmented(const struct sctp_assoc *a)
{
        return a->cfg.mtu - SCTP_COMMON_HEADER_LEN - SCTP_DATA_CHUNK_HEADER_LEN;
}

bool sctp_assoc_is_up(const struct sctp_assoc *a)
{
        return a && a->state == SCTP_ST_UP;
}

size_t sctp_assoc_max_message_size(const struct sctp_assoc *a)
{
        return a->send_limit;
}

int sctp_assoc_send_raw(struct sctp_assoc *a, uint16_t sid, uint32_t ppid, bool unordered,
                        const struct dc_options *pr, const void *data, size_t len)
{
        if (a->state != SCTP_ST_UP)
                return -ENOTCONN;
        struct sctp_sendv_spa spa;
        memset(&spa, 0, sizeof(spa));
        spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
        spa.sendv_sndinfo.snd_sid = sid;
        spa.sendv_sndinfo.snd_flags = unordered ? SCTP_UNORDERED : 0;
        spa.sendv_sndinfo.snd_ppid = htonl(ppid);
        if (pr && pr->reliability != DC_RELIABLE) {
                a->pr_sent = true;
                spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
                spa.sendv_prinfo.pr_policy =
                    pr->reliability == DC_MAX_RETRANSMITS ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
                spa.sendv_prinfo.pr_value = pr->reliability_param;
        }
        ssize_t n =
            usrsctp_sendv(a->sock, data, len, NULL, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0);
        if (n < 0) {
                int e = errno;
                if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
                        return -EAGAIN;
                log_debug("sctp", "send on stream %u: %s", sid, strerror(e));
                return e ? -e : -EIO;
        }
        /* usrsctp's retransmission timers run on our ticks. */
        sctp_wake(a);
        /* Without SCTP_EXPLICIT_EOR a non-blocking send is all or nothing. */
        return (size_t)n == len ? 0 : -EIO;
}

int sctp_assoc_reset_stream(struct sctp_assoc *a, uint16_t sid)
{
        if (a->state != SCTP_ST_UP)
                return -ENOTCONN;
        size_t sz = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
        struct sctp_reset_streams *srs = calloc(1, sz);
        if (!srs)
                return -ENOMEM;
        srs->srs_assoc_id = SCTP_ALL_ASSOC;
        srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
        srs->srs_number_streams = 1;
        srs->srs_stream_list[0] = sid;
        int rc = usrsctp_setsockopt(a->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, (socklen_t)sz);
        int e = errno;
        free(srs);
        if (rc < 0)
                return e == EWOULDBLOCK ? -EAGAIN : -e;
        sctp_wake(a);
        return 0;
}

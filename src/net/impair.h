/*
 * Network impairment, for tests and for rehearsing a bad network: a sans-IO stage the shell puts
 * on the datagrams it sends and receives (--impair SPEC). Modelled on Linux netem.
 *
 * SPEC is a comma-separated list of KEY=VALUE items, each key at most once, no spaces:
 *   loss=P        drop each datagram with probability P (independent draws).
 *   duplicate=P   deliver each datagram that was not lost twice with probability P; the copy
 *                 takes its own trip through the link (it uses bandwidth, gets its own jitter).
 *   delay=TIME    one-way delay added to every datagram.
 *   jitter=TIME   adds a uniform random amount in [-TIME, +TIME] to the delay (the sum is never
 *                 below 0). Jitter alone never reorders: a datagram leaves no earlier than the
 *                 one before it.
 *   reorder=P     with probability P a datagram skips the delay and jitter and leaves as soon as
 *                 the link lets it, overtaking those still delayed; it has an effect only with a
 *                 delay or jitter (as netem).
 *   rate=RATE     a bottleneck link: a datagram occupies the link for len*8/RATE seconds, in
 *                 arrival order, before the delay starts. Datagrams that would make the queue
 *                 in front of the link exceed the limit are dropped (tail drop).
 *   limit=SIZE    that queue limit. Default with a rate: 100 ms worth of the rate, at least
 *                 64 KiB; without a rate it bounds all datagrams held back by the delay
 *                 (default 4 MiB). At most 64 MiB.
 * P is a percentage with "%" (5%, 0.5%) or a fraction without it (0.05), from 0 to 100% (1).
 * TIME is a decimal number with a unit: us, ms or s (30ms, 1.5s), at most 3600s; 0 needs no
 * unit.
 * RATE is a decimal number with a unit in bits per second: bit, kbit, mbit or gbit (decimal
 * multiples: 2mbit = 2000000 bits/s), at most 1000gbit; 0 means no rate limit.
 * SIZE is a decimal number of bytes, optionally with a unit: b, kb (1000), kib (1024),
 * mb (1000000) or mib (1048576), at most 64mib; 0 means the default.
 * Numbers are plain decimals (no sign or exponent); units are case-insensitive (2Mbit).
 * Example: loss=5%,delay=30ms,jitter=10ms,reorder=1%,rate=2mbit
 *
 * Order of the stages for a datagram: loss, duplication, the rate link and its queue, then delay
 * with jitter (or reorder). Random draws come from a PRNG seeded by the caller, so a run with
 * the same seed, times and datagrams behaves the same. Memory is bounded: at most
 * IMPAIR_MAX_PACKETS datagrams and 64 MiB are held; beyond that datagrams are dropped as queue
 * drops.
 */
#ifndef RTCPEER_NET_IMPAIR_H
#define RTCPEER_NET_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define IMPAIR_MAX_DATAGRAM   65535
#define IMPAIR_MAX_PACKETS    65536
#define IMPAIR_MAX_HELD_BYTES (64u << 20)

struct impair_config {
        double loss, reorder, duplicate; /* probabilities, 0..1 */
        uint64_t delay_us, jitter_us;
        uint64_t rate_bps;        /* 0: no rate limit */
        size_t queue_limit_bytes; /* 0: default (see above) */
};

/*
 * Parses SPEC (NULL or "" gives a config with nothing impaired). Returns 0 and fills out, or
 * -EINVAL with a one-line message naming the bad item in err (err may be NULL) and out
 * untouched.
 */
int impair_parse(const char *spec, struct impair_config *out, char *err, size_t errlen);
/* True when the config impairs anything, i.e. the shell needs to put the stage in the path. */
bool impair_active(const struct impair_config *c);

struct impair;

/*
 * Values out of the ranges impair_parse accepts are clamped to them. The seed fixes every random
 * draw. Returns NULL when out of memory.
 */
struct impair *impair_new(const struct impair_config *cfg, uint64_t seed);
/* Frees held datagrams too. NULL allowed. */
void impair_free(struct impair *im);
/*
 * Offers one datagram at time `now` (microseconds). It is copied and queued (returns 0) or
 * dropped (returns 1: lost, or the queue is full and no copy was queued). base/addr are carried
 * along for the caller (socket index and peer address; addr may be NULL). -EMSGSIZE when len >
 * IMPAIR_MAX_DATAGRAM.
 */
int impair_push(struct impair *im, uint64_t now, const uint8_t *data, size_t len, int base,
                const struct addr *addr);

struct impair_packet {
        const uint8_t *data;
        size_t len;
        int base;
        struct addr addr;
};

/*
 * Returns 1 with the next datagram that is due at `now` (data valid until the next impair_pop
 * or impair_free), 0 when none is due yet. Call until it returns 0.
 */
int impair_pop(struct impair *im, uint64_t now, struct impair_packet *out);
/* Time the next datagram is due, for the event loop's timer; UINT64_MAX when none is held. */
uint64_t impair_next_deadline(const struct impair *im);

struct impair_stats {
        uint64_t packets_in;    /* offered to impair_push */
        uint64_t dropped_loss;  /* dropped by loss= */
        uint64_t dropped_queue; /* tail drops: queue limit or memory bound */
        uint64_t duplicated;    /* extra copies made by duplicate= (a copy may be a queue drop) */
        uint64_t reordered;     /* sent ahead of at least one earlier datagram by reorder= */
        uint64_t packets_out;   /* returned by impair_pop */
};

void impair_get_stats(const struct impair *im, struct impair_stats *st);

#endif

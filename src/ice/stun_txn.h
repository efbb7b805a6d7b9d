/*
 * STUN client transactions (RFC 8489 §6.2), sans-IO. The table keeps a copy of each request and,
 * driven by the caller's clock, says when to (re)send it and when it has timed out. Everything
 * comes out through stun_txn_poll_output(); nothing is called back.
 *
 * Unreliable transports: sends at 0, RTO, 3 RTO, 7 RTO... (the interval doubles), Rc sends in
 * all, then a timeout Rm * RTO after the last one. With the defaults (RTO 500 ms, Rc 7, Rm 16):
 * 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s and a timeout at 39.5 s. Reliable transports: one send and
 * a timeout after Ti (39.5 s).
 */
#ifndef RTCPEER_ICE_STUN_TXN_H
#define RTCPEER_ICE_STUN_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "ice/stun.h"

#define STUN_TXN_DEFAULT_RTO_US 500000u
#define STUN_TXN_DEFAULT_RC     7u
#define STUN_TXN_DEFAULT_RM     16u
#define STUN_TXN_DEFAULT_TI_US  39500000u
/* Bound on concurrent transactions, so a runaway caller fails instead of eating memory. */
#define STUN_TXN_MAX 4096u

/* Zero fields take the defaults above. */
struct stun_txn_config {
        uint64_t rto_us;     /* initial retransmission timeout (ICE passes its computed RTO) */
        uint64_t rto_max_us; /* cap for the doubled interval; 0 = no cap */
        unsigned rc;         /* transmissions in all */
        unsigned rm;         /* final wait after the last transmission, in initial RTOs */
        uint64_t ti_us;      /* timeout on reliable transports */
        bool reliable;       /* TCP/TLS: send once, no retransmissions */
};

enum stun_txn_output_kind {
        STUN_TXN_OUT_SEND = 1, /* send data to dst */
        STUN_TXN_OUT_TIMEOUT,  /* no response came; the transaction is gone */
};

struct stun_txn_output {
        enum stun_txn_output_kind kind;
        uint8_t txid[STUN_TXID_SIZE];
        uint64_t tag; /* the caller's value given at start */
        struct addr dst;
        /* SEND only: the request bytes, valid until the next call on the table. */
        const uint8_t *data;
        size_t len;
        unsigned transmission; /* SEND: 1 for the first, 2 for the first retransmission... */
};

struct stun_txn_match {
        uint64_t tag;
        struct addr dst;
        unsigned transmissions;
        /* Round-trip time, only when the request went out once (Karn: otherwise it is ambiguous).
         */
        bool rtt_valid;
        uint64_t rtt_us;
        uint64_t first_sent_us; /* when the request first went out */
};

struct stun_txn_table;

struct stun_txn_table *stun_txn_new(void);
void stun_txn_free(struct stun_txn_table *t);
/*
 * Starts a transaction for the request in msg (copied; its transaction id is the key) to dst.
 * The first transmission is queued at once. cfg NULL means defaults. Returns 0, -EINVAL (not a
 * STUN request), -EEXIST (transaction id in use), -ENOSPC or -ENOMEM.
 */
int stun_txn_start(struct stun_txn_table *t, uint64_t now_us, const uint8_t *msg, size_t len,
                   const struct addr *dst, uint64_t tag, const struct stun_txn_config *cfg);
/* 1 = *out filled, 0 = nothing queued. */
int stun_txn_poll_output(struct stun_txn_table *t, struct stun_txn_output *out);
/* Earliest time handle_timeout has work, UINT64_MAX when idle. */
uint64_t stun_txn_next_deadline(const struct stun_txn_table *t);
void stun_txn_handle_timeout(struct stun_txn_table *t, uint64_t now_us);
/*
 * A response (success or error) with this transaction id arrived: ends the transaction and fills
 * *match (may be NULL). Returns 0, or -ENOENT when no transaction has that id (a stray or late
 * response, to be dropped).
 */
int stun_txn_match_response(struct stun_txn_table *t, uint64_t now_us,
                            const uint8_t txid[STUN_TXID_SIZE], struct stun_txn_match *match);
/* Forgets a transaction without an event. Returns 0 or -ENOENT. */
int stun_txn_cancel(struct stun_txn_table *t, const uint8_t txid[STUN_TXID_SIZE]);
bool stun_txn_pending(const struct stun_txn_table *t, const uint8_t txid[STUN_TXID_SIZE]);
size_t stun_txn_count(const struct stun_txn_table *t);

#endif

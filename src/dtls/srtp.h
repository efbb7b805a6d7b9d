/*
 * SRTP and SRTCP protection with libsrtp2, keyed from the DTLS-SRTP exporter (RFC 5764).
 * The DTLS client sends with the client key and salt and receives with the server's; the
 * server the other way round.
 *
 * Profiles: AES128_CM_HMAC_SHA1_80 and _32, the only ones GnuTLS 3.7 (Debian 12) negotiates;
 * it has no SRTP_AEAD_AES_128_GCM although libsrtp2 could run it. With _32 the SRTCP tag stays
 * 80 bits (RFC 5764 section 4.1.2).
 */
#ifndef RTCPEER_DTLS_SRTP_H
#define RTCPEER_DTLS_SRTP_H

#include <stddef.h>
#include <stdint.h>

#include "dtls/dtls.h"

/* Bytes to keep free after a packet for protection to append to (SRTCP: 4 + 10). */
#define SRTP_CTX_MAX_TRAILER 16

struct srtp_ctx_stats {
        uint64_t rtp_protected;
        uint64_t rtcp_protected;
        uint64_t rtp_unprotected;
        uint64_t rtcp_unprotected;
        uint64_t rejected_replay; /* seen before, or older than the replay window */
        uint64_t rejected_auth;   /* authentication tag did not verify */
        uint64_t rejected_other;  /* malformed or too short */
};

struct srtp_ctx;

/* -EINVAL for DTLS_SRTP_NONE or an unknown profile, -EIO if libsrtp2 refuses. */
/*
 * Initializes libsrtp2 (Debian builds it on NSS, whose start-up takes ~50 ms). The shell calls
 * it before signaling so that this cost is not paid between the handshake and the first packet;
 * srtp_ctx_new does it on its own otherwise.
 */
int srtp_lib_prepare(void);
int srtp_ctx_new(const struct dtls_srtp_keys *keys, enum dtls_role role, struct srtp_ctx **out);
void srtp_ctx_free(struct srtp_ctx *c);

/*
 * In place: pkt holds *len bytes in a buffer of cap bytes; on success *len grows by the
 * trailer. -ENOSPC when cap lacks room, -EINVAL for a packet too short to be RTP/RTCP,
 * -EIO when libsrtp2 refuses.
 */
int srtp_ctx_protect_rtp(struct srtp_ctx *c, uint8_t *pkt, size_t *len, size_t cap);
int srtp_ctx_protect_rtcp(struct srtp_ctx *c, uint8_t *pkt, size_t *len, size_t cap);

/*
 * In place, for received packets: on success *len shrinks to the plain packet. Rejections are
 * counted: -EALREADY replay, -EBADMSG authentication failure, -EINVAL anything else.
 */
int srtp_ctx_unprotect_rtp(struct srtp_ctx *c, uint8_t *pkt, size_t *len);
int srtp_ctx_unprotect_rtcp(struct srtp_ctx *c, uint8_t *pkt, size_t *len);

void srtp_ctx_get_stats(const struct srtp_ctx *c, struct srtp_ctx_stats *out);

#endif

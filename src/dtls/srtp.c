#include "dtls/srtp.h"

#include <errno.h>
#include <limits.h>
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"

#define SRTP_RTP_HEADER_MIN  12
#define SRTP_RTCP_HEADER_MIN 8
#define SRTP_RTCP_TRAILER    (4 + 10) /* E flag and index, then an 80-bit tag */

struct srtp_ctx {
        srtp_t tx;
        srtp_t rx;
        size_t rtp_tag_len;
        struct srtp_ctx_stats stats;
};

/* libsrtp2 keeps process-wide state; the network loop is single-threaded, so a flag suffices. */
static bool srtp_lib_ready;

static int make_session(srtp_t *out, enum dtls_srtp_profile profile, srtp_ssrc_type_t dir,
                        const uint8_t *key, const uint8_t *salt);

static int lib_init(void)
{
        if (srtp_lib_ready)
                return 0;
        if (srtp_init() != srtp_err_status_ok)
                return -EIO;
        srtp_lib_ready = true;
        /*
         * libsrtp2's NSS back end opens an NSS context per cipher and shuts it down with the
         * cipher, and NSS unloads libsoftokn3, libsqlite3 and libfreeblpriv3 when the last
         * context goes: the first srtp_create after srtp_init loads them again and seeds NSS's
         * random generator (about 10 ms), which on the DTLS server delayed its last handshake
         * flight. One session kept for the life of the process keeps NSS loaded.
         */
        static const uint8_t zero[DTLS_SRTP_KEY_LEN + DTLS_SRTP_SALT_LEN];
        static srtp_t keep_nss_loaded;
        if (!keep_nss_loaded)
                make_session(&keep_nss_loaded, DTLS_SRTP_AES128_CM_SHA1_80, ssrc_any_outbound, zero,
                             zero + DTLS_SRTP_KEY_LEN);
        return 0;
}

int srtp_lib_prepare(void)
{
        return lib_init();
}

static int make_session(srtp_t *out, enum dtls_srtp_profile profile, srtp_ssrc_type_t dir,
                        const uint8_t *key, const uint8_t *salt)
{
        uint8_t master[DTLS_SRTP_KEY_LEN + DTLS_SRTP_SALT_LEN];
        memcpy(master, key, DTLS_SRTP_KEY_LEN);
        memcpy(master + DTLS_SRTP_KEY_LEN, salt, DTLS_SRTP_SALT_LEN);

        srtp_policy_t p;
        memset(&p, 0, sizeof(p));
        if (profile == DTLS_SRTP_AES128_CM_SHA1_80)
                srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
        else
                srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
        p.ssrc.type = dir;
        p.key = master;
        p.window_size = 0; /* libsrtp2's default replay window */
        /* NACK answered without RTX resends the same sequence number: let it out again. */
        p.allow_repeat_tx = 1;
        p.next = NULL;
        srtp_err_status_t st = srtp_create(out, &p);
        /* libsrtp2 derived its session keys; the master copy on the stack is no longer needed. */
        memset(master, 0, sizeof(master));
        return st == srtp_err_status_ok ? 0 : -EIO;
}

void srtp_ctx_free(struct srtp_ctx *c)
{
        if (!c)
                return;
        if (c->tx)
                srtp_dealloc(c->tx);
        if (c->rx)
                srtp_dealloc(c->rx);
        free(c);
}

int srtp_ctx_new(const struct dtls_srtp_keys *keys, enum dtls_role role, struct srtp_ctx **out)
{
        *out = NULL;
        if (!keys || (keys->profile != DTLS_SRTP_AES128_CM_SHA1_80 &&
                      keys->profile != DTLS_SRTP_AES128_CM_SHA1_32))
                return -EINVAL;
        if (role != DTLS_ROLE_CLIENT && role != DTLS_ROLE_SERVER)
                return -EINVAL;
        int rc = lib_init();
        if (rc < 0)
                return rc;
        struct srtp_ctx *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->rtp_tag_len = keys->profile == DTLS_SRTP_AES128_CM_SHA1_80 ? 10 : 4;
        bool client = role == DTLS_ROLE_CLIENT;
        rc = make_session(&c->tx, keys->profile, ssrc_any_outbound,
                          client ? keys->client_key : keys->server_key,
                          client ? keys->client_salt : keys->server_salt);
        if (rc == 0)
                rc = make_session(&c->rx, keys->profile, ssrc_any_inbound,
                                  client ? keys->server_key : keys->client_key,
                                  client ? keys->server_salt : keys->client_salt);
        if (rc < 0) {
                srtp_ctx_free(c);
                return rc;
        }
        *out = c;
        return 0;
}

/* Counts a rejection by its cause and turns libsrtp2's status into our error code. */
static int reject(struct srtp_ctx *c, srtp_err_status_t st)
{
        switch (st) {
        case srtp_err_status_replay_fail:
        case srtp_err_status_replay_old:
                c->stats.rejected_replay++;
                return -EALREADY;
        case srtp_err_status_auth_fail:
                c->stats.rejected_auth++;
                return -EBADMSG;
        default:
                c->stats.rejected_other++;
                return -EINVAL;
        }
}

/*
 * The fixed header, CSRCs and extension must fit before the tag; libsrtp2 checks this too, but
 * our own check makes "malformed" a counted, reported reason instead of a library detail.
 */
static bool rtp_header_fits(const uint8_t *pkt, size_t len, size_t tag_len)
{
        if (len < SRTP_RTP_HEADER_MIN + tag_len)
                return false;
        struct buf_rd r;
        buf_rd_init(&r, pkt, len - tag_len);
        uint8_t b0 = buf_rd_u8(&r);
        buf_rd_skip(&r, SRTP_RTP_HEADER_MIN - 1);
        buf_rd_skip(&r, (size_t)(b0 & 0x0f) * 4);
        if (b0 & 0x10) {
                buf_rd_skip(&r, 2);
                uint16_t words = buf_rd_u16be(&r);
                buf_rd_skip(&r, (size_t)words * 4);
        }
        return (b0 >> 6) == 2 && buf_rd_ok(&r);
}

static bool rtcp_header_fits(const uint8_t *pkt, size_t len, size_t trailer)
{
        if (len < SRTP_RTCP_HEADER_MIN + trailer)
                return false;
        struct buf_rd r;
        buf_rd_init(&r, pkt, len);
        return (buf_rd_u8(&r) >> 6) == 2 && buf_rd_ok(&r);
}

int srtp_ctx_protect_rtp(struct srtp_ctx *c, uint8_t *pkt, size_t *len, size_t cap)
{
        if (!c || !pkt || !len || *len < SRTP_RTP_HEADER_MIN || *len > INT_MAX - 64)
                return -EINVAL;
        if (cap < *len + c->rtp_tag_len)
                return -ENOSPC;
        int n = (int)*len;
        srtp_err_status_t st = srtp_protect(c->tx, pkt, &n);
        if (st != srtp_err_status_ok) {
                log_debug("dtls", "srtp_protect failed: %d", (int)st);
                return -EIO;
        }
        *len = (size_t)n;
        c->stats.rtp_protected++;
        return 0;
}

int srtp_ctx_protect_rtcp(struct srtp_ctx *c, uint8_t *pkt, size_t *len, size_t cap)
{
        if (!c || !pkt || !len || *len < SRTP_RTCP_HEADER_MIN || *len > INT_MAX - 64)
                return -EINVAL;
        if (cap < *len + SRTP_RTCP_TRAILER)
                return -ENOSPC;
        int n = (int)*len;
        srtp_err_status_t st = srtp_protect_rtcp(c->tx, pkt, &n);
        if (st != srtp_err_status_ok) {
                log_debug("dtls", "srtp_protect_rtcp failed: %d", (int)st);
                return -EIO;
        }
        *len = (size_t)n;
        c->stats.rtcp_protected++;
        return 0;
}

int srtp_ctx_unprotect_rtp(struct srtp_ctx *c, uint8_t *pkt, size_t *len)
{
        if (!c || !pkt || !len)
                return -EINVAL;
        if (*len > INT_MAX || !rtp_header_fits(pkt, *len, c->rtp_tag_len))
                return reject(c, srtp_err_status_bad_param);
        int n = (int)*len;
        srtp_err_status_t st = srtp_unprotect(c->rx, pkt, &n);
        if (st != srtp_err_status_ok)
                return reject(c, st);
        *len = (size_t)n;
        c->stats.rtp_unprotected++;
        return 0;
}

int srtp_ctx_unprotect_rtcp(struct srtp_ctx *c, uint8_t *pkt, size_t *len)
{
        if (!c || !pkt || !len)
                return -EINVAL;
        if (*len > INT_MAX || !rtcp_header_fits(pkt, *len, SRTP_RTCP_TRAILER))
                return reject(c, srtp_err_status_bad_param);
        int n = (int)*len;
        srtp_err_status_t st = srtp_unprotect_rtcp(c->rx, pkt, &n);
        if (st != srtp_err_status_ok)
                return reject(c, st);
        *len = (size_t)n;
        c->stats.rtcp_unprotected++;
        return 0;
}

void srtp_ctx_get_stats(const struct srtp_ctx *c, struct srtp_ctx_stats *out)
{
        *out = c->stats;
}

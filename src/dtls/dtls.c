#include "dtls/dtls.h"

#include <errno.h>
#include <stdarg.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

/*
 * ECDHE only, AES-128-GCM first (what browsers prefer and the cheapest), CBC kept for older
 * stacks. ECDHE-RSA matters only when we are the client of a peer with an RSA certificate.
 * X25519 first, as browsers order it: its key exchange costs less than P-256's (which stays,
 * the curve of our certificates).
 */
#define DTLS_PRIORITY                                                                              \
        "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM:" \
        "+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CBC:+AES-256-CBC:-GROUP-ALL:+GROUP-X25519:"      \
        "+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:%SERVER_PRECEDENCE"

/* Chromium lists CM_80 first; the AEAD_AES_128_GCM profile is missing from GnuTLS 3.7. */
#define DTLS_SRTP_PROFILES "SRTP_AES128_CM_HMAC_SHA1_80:SRTP_AES128_CM_HMAC_SHA1_32"

/* The record content type of ChangeCipherSpec (RFC 5246 section 6.2.1). */
#define DTLS_CONTENT_CHANGE_CIPHER_SPEC 20

/* Bounds on what a peer can make us hold before the caller drains the queues. */
#define DTLS_MAX_QUEUED_INPUT 256
#define DTLS_MAX_PENDING_DATA (64 * 1024)
/* A DTLS record body is at most 2^14 bytes plus expansion; a datagram cannot exceed 64 KiB. */
#define DTLS_RECORD_BUF 65536
/* Records one drive may process; only a GnuTLS that stops consuming input would reach it. */
#define DTLS_MAX_ITERATIONS 4096

enum dtls_state {
        DTLS_ST_IDLE,      /* before dtls_start */
        DTLS_ST_HANDSHAKE, /* flights in progress */
        DTLS_ST_AWAIT_FP,  /* handshake done, the expected fingerprint not known yet */
        DTLS_ST_CONNECTED, /* verified: data flows */
        DTLS_ST_CLOSED,    /* close_notify sent or received */
        DTLS_ST_FAILED,    /* reported once, then inert */
};

struct dtls_item {
        struct dtls_item *next;
        enum dtls_output_kind kind;
        size_t len;
        size_t cap; /* bytes data[] can hold: a handshake datagram takes more records */
        uint8_t data[];
};

struct dtls_queue {
        struct dtls_item *head;
        struct dtls_item *tail;
        size_t count;
        size_t bytes;
};

struct dtls {
        gnutls_session_t s;
        gnutls_certificate_credentials_t cred;
        enum dtls_state state;
        enum dtls_role role;
        bool srtp;
        unsigned mtu;
        bool ccs_sent;
        unsigned timeout_ms;
        uint64_t start_us;
        uint64_t retransmit_at;
        char fp_alg[16];
        char fp[CERT_FINGERPRINT_MAX + 1];
        bool fp_rejected; /* set by the verify callback so the failure keeps its real cause */

        struct dtls_queue in;      /* received datagrams GnuTLS has not pulled yet */
        struct dtls_queue out;     /* outputs for the caller */
        struct dtls_queue pending; /* decrypted data held until the fingerprint is checked */
        struct dtls_item *polled;  /* the item whose data the last dtls_output points at */

        struct dtls_srtp_keys keys;
        char cipher[64];
        int error;
        char reason[sizeof(((struct dtls_output *)0)->reason)];
        uint8_t *rbuf;
};

static struct dtls_item *item_new_cap(enum dtls_output_kind kind, const void *data, size_t len,
                                      size_t cap)
{
        if (cap < len)
                cap = len;
        struct dtls_item *it = malloc(sizeof(*it) + cap);
        if (!it)
                return NULL;
        it->next = NULL;
        it->kind = kind;
        it->len = len;
        it->cap = cap;
        if (len)
                memcpy(it->data, data, len);
        return it;
}

static struct dtls_item *item_new(enum dtls_output_kind kind, const void *data, size_t len)
{
        return item_new_cap(kind, data, len, len);
}

static void queue_push(struct dtls_queue *q, struct dtls_item *it)
{
        if (q->tail)
                q->tail->next = it;
        else
                q->head = it;
        q->tail = it;
        q->count++;
        q->bytes += it->len;
}

static struct dtls_item *queue_pop(struct dtls_queue *q)
{
        struct dtls_item *it = q->head;
        if (!it)
                return NULL;
        q->head = it->next;
        if (!q->head)
                q->tail = NULL;
        q->count--;
        q->bytes -= it->len;
        it->next = NULL;
        return it;
}

static void queue_clear(struct dtls_queue *q)
{
        struct dtls_item *it;
        while ((it = queue_pop(q)))
                free(it);
}

static int emit(struct dtls *d, enum dtls_output_kind kind, const void *data, size_t len)
{
        struct dtls_item *it = item_new(kind, data, len);
        if (!it)
                return -ENOMEM;
        queue_push(&d->out, it);
        return 0;
}

/* Reports the failure once; the endpoint keeps no further state machine running. */
static void fail(struct dtls *d, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct dtls *d, int error, const char *fmt, ...)
{
        if (d->state == DTLS_ST_FAILED)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
        va_end(ap);
        d->error = error;
        d->state = DTLS_ST_FAILED;
        queue_clear(&d->in);
        queue_clear(&d->pending);
        /* The caller reports the failure to the user; here it is only traced. */
        log_debug("dtls", "failed: %s", d->reason);
        /* Without memory to queue the event the caller would never learn; it sees the state. */
        (void)emit(d, DTLS_OUTPUT_FAILED, NULL, 0);
}

/*
 * GnuTLS transport: writes become TRANSMIT outputs, reads come from the input queue.
 *
 * GnuTLS writes each handshake message as a datagram of its own. As the client we send the
 * records of our certificate flight up to the ChangeCipherSpec in shared datagrams up to the
 * MTU, as browsers do (RFC 6347 section 4.1.1): one datagram instead of three, so one send
 * and one wake-up of the server, and a flight lost only with its one datagram. The
 * ChangeCipherSpec and Finished keep datagrams of their own, and so does everything a server
 * sends: a GnuTLS peer that already finished its handshake answers a resent flight only when
 * the ChangeCipherSpec leads its datagram, and a GnuTLS client took a duplicated or resent
 * server flight in one datagram for a retransmission request and stalled for a second
 * (tests/unit/test_dtls.c, test_lossy_link).
 */
static ssize_t push_cb(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
        struct dtls *d = ptr;
        const uint8_t *rec = data;
        if (len >= 1 && rec[0] == DTLS_CONTENT_CHANGE_CIPHER_SPEC)
                d->ccs_sent = true;
        bool share = d->role == DTLS_ROLE_CLIENT && d->state == DTLS_ST_HANDSHAKE && !d->ccs_sent;
        struct dtls_item *t = d->out.tail;
        if (share && t && t->kind == DTLS_OUTPUT_TRANSMIT && len <= t->cap - t->len) {
                memcpy(t->data + t->len, data, len);
                t->len += len;
                d->out.bytes += len;
                return (ssize_t)len;
        }
        struct dtls_item *it = item_new_cap(DTLS_OUTPUT_TRANSMIT, data, len, share ? d->mtu : len);
        if (!it) {
                gnutls_transport_set_errno(d->s, ENOMEM);
                return -1;
        }
        queue_push(&d->out, it);
        return (ssize_t)len;
}

static ssize_t pull_cb(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
        struct dtls *d = ptr;
        struct dtls_item *it = queue_pop(&d->in);
        if (!it) {
                gnutls_transport_set_errno(d->s, EAGAIN);
                return -1;
        }
        /* A datagram larger than GnuTLS's buffer is truncated, as recvmsg would do. */
        size_t n = it->len < len ? it->len : len;
        memcpy(data, it->data, n);
        free(it);
        return (ssize_t)n;
}

/* Never waits: "is a datagram ready" is all GnuTLS may ask of a sans-IO transport. */
static int pull_timeout_cb(gnutls_transport_ptr_t ptr, unsigned int ms)
{
        (void)ms;
        struct dtls *d = ptr;
        return d->in.count > 0 ? 1 : 0;
}

/* 0 when the DER certificate hashes to the expected fingerprint; fills reason otherwise. */
static int check_fingerprint(struct dtls *d, const gnutls_datum_t *der)
{
        char got[CERT_FINGERPRINT_MAX + 1];
        int rc = cert_fingerprint_der(der->data, der->size, d->fp_alg, got, sizeof(got));
        if (rc < 0) {
                snprintf(d->reason, sizeof(d->reason), "cannot hash the peer certificate with %s",
                         d->fp_alg);
                return -EKEYREJECTED;
        }
        if (strcasecmp(got, d->fp) != 0) {
                snprintf(d->reason, sizeof(d->reason),
                         "peer certificate fingerprint mismatch: expected %s %s, received %s",
                         d->fp_alg, d->fp, got);
                return -EKEYREJECTED;
        }
        return 0;
}

static const gnutls_datum_t *peer_cert(struct dtls *d)
{
        unsigned n = 0;
        const gnutls_datum_t *certs = gnutls_certificate_get_peers(d->s, &n);
        return certs && n > 0 ? &certs[0] : NULL;
}

/*
 * Runs inside the handshake when the peer's Certificate arrives, so a mismatch aborts before our
 * Finished and no key ever protects data for an impostor.
 */
static int verify_cb(gnutls_session_t s)
{
        struct dtls *d = gnutls_session_get_ptr(s);
        const gnutls_datum_t *der = peer_cert(d);
        if (!der) {
                snprintf(d->reason, sizeof(d->reason), "peer sent no certificate");
                d->fp_rejected = true;
                return -1;
        }
        if (!d->fp[0])
                return 0; /* checked when dtls_set_peer_fingerprint supplies it */
        if (check_fingerprint(d, der) < 0) {
                d->fp_rejected = true;
                return -1;
        }
        return 0;
}

static void fail_gnutls(struct dtls *d, int rc, const char *what)
{
        if (d->fp_rejected) {
                char reason[sizeof(d->reason)];
                memcpy(reason, d->reason, sizeof(reason));
                (void)gnutls_alert_send(d->s, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
                fail(d, -EKEYREJECTED, "%s", reason);
        } else if (rc == GNUTLS_E_TIMEDOUT) {
                fail(d, -ETIMEDOUT, "DTLS handshake timed out after %u ms", d->timeout_ms);
        } else if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
                fail(d, -ECONNABORTED, "DTLS peer sent fatal alert: %s",
                     gnutls_alert_get_name(gnutls_alert_get(d->s)));
        } else {
                (void)gnutls_alert_send_appropriate(d->s, rc);
                fail(d, -EPROTO, "DTLS %s failed: %s", what, gnutls_strerror(rc));
        }
}

static int read_keys(struct dtls *d)
{
        memset(&d->keys, 0, sizeof(d->keys));
        gnutls_srtp_profile_t profile = 0;
        if (d->srtp && gnutls_srtp_get_selected_profile(d->s, &profile) == 0) {
                uint8_t km[2 * (DTLS_SRTP_KEY_LEN + DTLS_SRTP_SALT_LEN)];
                gnutls_datum_t ck, cs, sk, ss;
                int rc = gnutls_srtp_get_keys(d->s, km, sizeof(km), &ck, &cs, &sk, &ss);
                if (rc < 0 || ck.size != DTLS_SRTP_KEY_LEN || sk.size != DTLS_SRTP_KEY_LEN ||
                    cs.size != DTLS_SRTP_SALT_LEN || ss.size != DTLS_SRTP_SALT_LEN)
                        return -EPROTO;
                memcpy(d->keys.client_key, ck.data, DTLS_SRTP_KEY_LEN);
                memcpy(d->keys.server_key, sk.data, DTLS_SRTP_KEY_LEN);
                memcpy(d->keys.client_salt, cs.data, DTLS_SRTP_SALT_LEN);
                memcpy(d->keys.server_salt, ss.data, DTLS_SRTP_SALT_LEN);
                d->keys.profile = (enum dtls_srtp_profile)profile;
        }
        const char *name = gnutls_cipher_suite_get_name(
            gnutls_kx_get(d->s), gnutls_cipher_get(d->s), gnutls_mac_get(d->s));
        snprintf(d->cipher, sizeof(d->cipher), "%s", name ? name : "unknown");
        return 0;
}

/* The peer is verified: report the keys and release what arrived meanwhile. */
static void become_connected(struct dtls *d)
{
        if (read_keys(d) < 0) {
                fail(d, -EPROTO, "DTLS-SRTP keying material could not be exported");
                return;
        }
        d->state = DTLS_ST_CONNECTED;
        log_debug("dtls", "connected as %s, %s, srtp profile %d",
                  d->role == DTLS_ROLE_CLIENT ? "client" : "server", d->cipher, d->keys.profile);
        if (emit(d, DTLS_OUTPUT_CONNECTED, NULL, 0) < 0) {
                fail(d, -ENOMEM, "out of memory");
                return;
        }
        struct dtls_item *it;
        while ((it = queue_pop(&d->pending)))
                queue_push(&d->out, it);
}

/* The handshake finished; authentication is ours to finish. */
static void handshake_done(struct dtls *d)
{
        const gnutls_datum_t *der = peer_cert(d);
        if (!der) {
                (void)gnutls_alert_send(d->s, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
                fail(d, -EKEYREJECTED, "peer sent no certificate");
                return;
        }
        if (!d->fp[0]) {
                d->state = DTLS_ST_AWAIT_FP;
                log_debug("dtls", "handshake done, waiting for the peer's fingerprint");
                return;
        }
        /* The callback already checked; checking again costs a hash and guards its wiring. */
        if (check_fingerprint(d, der) < 0) {
                char reason[sizeof(d->reason)];
                memcpy(reason, d->reason, sizeof(reason));
                (void)gnutls_alert_send(d->s, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
                fail(d, -EKEYREJECTED, "%s", reason);
                return;
        }
        become_connected(d);
}

static void deliver(struct dtls *d, const uint8_t *data, size_t len)
{
        if (d->state == DTLS_ST_CONNECTED) {
                if (emit(d, DTLS_OUTPUT_DATA, data, len) < 0)
                        fail(d, -ENOMEM, "out of memory");
                return;
        }
        if (d->pending.bytes + len > DTLS_MAX_PENDING_DATA) {
                log_debug("dtls", "dropping %zu bytes received before the fingerprint", len);
                return;
        }
        struct dtls_item *it = item_new(DTLS_OUTPUT_DATA, data, len);
        if (it)
                queue_push(&d->pending, it);
}

static void read_records(struct dtls *d)
{
        for (int i = 0; i < DTLS_MAX_ITERATIONS; i++) {
                if (d->state != DTLS_ST_CONNECTED && d->state != DTLS_ST_AWAIT_FP)
                        return;
                ssize_t n = gnutls_record_recv(d->s, d->rbuf, DTLS_RECORD_BUF);
                if (n > 0) {
                        deliver(d, d->rbuf, (size_t)n);
                } else if (n == 0) {
                        log_debug("dtls", "peer sent close_notify");
                        d->state = DTLS_ST_CLOSED;
                        queue_clear(&d->in);
                        queue_clear(&d->pending);
                        (void)emit(d, DTLS_OUTPUT_CLOSED, NULL, 0);
                        return;
                } else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
                        return;
                } else if (n == GNUTLS_E_REHANDSHAKE) {
                        /* WebRTC never renegotiates; refusing keeps the verified keys in place. */
                        (void)gnutls_alert_send(d->s, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
                } else if (gnutls_error_is_fatal((int)n)) {
                        fail_gnutls(d, (int)n, "record layer");
                        return;
                }
        }
}

static void arm_retransmit(struct dtls *d, uint64_t now_us)
{
        /* GnuTLS's own clock decides; asking it each time keeps the two clocks from drifting. */
        unsigned ms = gnutls_dtls_get_timeout(d->s);
        d->retransmit_at = now_us + (uint64_t)(ms ? ms : 1) * 1000;
}

static void drive(struct dtls *d, uint64_t now_us)
{
        for (int i = 0; i < DTLS_MAX_ITERATIONS && d->state == DTLS_ST_HANDSHAKE; i++) {
                int rc = gnutls_handshake(d->s);
                if (rc == GNUTLS_E_SUCCESS) {
                        handshake_done(d);
                } else if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
                        arm_retransmit(d, now_us);
                        return;
                } else if (gnutls_error_is_fatal(rc) || d->fp_rejected) {
                        fail_gnutls(d, rc, "handshake");
                        return;
                }
        }
        read_records(d);
}

static int set_fingerprint(struct dtls *d, const char *alg, const char *fp)
{
        char probe[CERT_FINGERPRINT_MAX + 1];
        if (!alg || !fp || strlen(alg) >= sizeof(d->fp_alg) || strlen(fp) >= sizeof(d->fp) ||
            !fp[0])
                return -EINVAL;
        /* Hashing anything with the algorithm rejects names we cannot compute up front. */
        int rc = cert_fingerprint_der("", 0, alg, probe, sizeof(probe));
        if (rc < 0)
                return rc;
        snprintf(d->fp_alg, sizeof(d->fp_alg), "%s", alg);
        snprintf(d->fp, sizeof(d->fp), "%s", fp);
        return 0;
}

void dtls_free(struct dtls *d)
{
        if (!d)
                return;
        if (d->s)
                gnutls_deinit(d->s);
        if (d->cred)
                gnutls_certificate_free_credentials(d->cred);
        queue_clear(&d->in);
        queue_clear(&d->out);
        queue_clear(&d->pending);
        free(d->polled);
        free(d->rbuf);
        free(d);
}

int dtls_new(const struct dtls_config *cfg, struct dtls **out)
{
        *out = NULL;
        if (!cfg || !cfg->cert ||
            (cfg->role != DTLS_ROLE_CLIENT && cfg->role != DTLS_ROLE_SERVER) ||
            (!cfg->peer_fingerprint_alg != !cfg->peer_fingerprint))
                return -EINVAL;
        struct dtls *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->role = cfg->role;
        d->srtp = cfg->srtp;
        d->timeout_ms = cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms
                                                  : DTLS_DEFAULT_HANDSHAKE_TIMEOUT_MS;
        d->retransmit_at = UINT64_MAX;
        int rc = 0;
        if (cfg->peer_fingerprint &&
            (rc = set_fingerprint(d, cfg->peer_fingerprint_alg, cfg->peer_fingerprint)) < 0)
                goto fail;
        rc = -ENOMEM;
        d->rbuf = malloc(DTLS_RECORD_BUF);
        if (!d->rbuf)
                goto fail;

        rc = -EIO;
        gnutls_x509_crt_t crt = cert_x509(cfg->cert);
        if (gnutls_certificate_allocate_credentials(&d->cred) < 0)
                goto fail;
        /*
         * GnuTLS proves that the key fits the certificate with a signature and its verification
         * (0.4 ms, before the first connectivity check could go out). Ours are made together,
         * or loaded and matched by cert_load_pem, once per process.
         */
        gnutls_certificate_set_flags(d->cred, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
        if (gnutls_certificate_set_x509_key(d->cred, &crt, 1, cert_privkey(cfg->cert)) < 0)
                goto fail;
        unsigned flags = GNUTLS_DATAGRAM | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS |
                         (cfg->role == DTLS_ROLE_CLIENT ? GNUTLS_CLIENT : GNUTLS_SERVER);
        if (gnutls_init(&d->s, flags) < 0)
                goto fail;
        const char *err = NULL;
        if (gnutls_priority_set_direct(d->s, cfg->priority ? cfg->priority : DTLS_PRIORITY, &err) <
            0) {
                log_error("dtls", "bad priority string near '%s'", err ? err : "?");
                rc = -EINVAL;
                goto fail;
        }
        if (gnutls_credentials_set(d->s, GNUTLS_CRD_CERTIFICATE, d->cred) < 0)
                goto fail;
        if (cfg->srtp && gnutls_srtp_set_profile_direct(d->s, DTLS_SRTP_PROFILES, &err) < 0)
                goto fail;
        if (cfg->role == DTLS_ROLE_SERVER)
                gnutls_certificate_server_set_request(d->s, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_ptr(d->s, d);
        gnutls_session_set_verify_function(d->s, verify_cb);
        gnutls_transport_set_ptr(d->s, d);
        gnutls_transport_set_push_function(d->s, push_cb);
        gnutls_transport_set_pull_function(d->s, pull_cb);
        gnutls_transport_set_pull_timeout_function(d->s, pull_timeout_cb);
        d->mtu = cfg->mtu ? cfg->mtu : DTLS_DEFAULT_MTU;
        gnutls_dtls_set_mtu(d->s, d->mtu);
        gnutls_dtls_set_timeouts(
            d->s, cfg->retransmit_ms ? cfg->retransmit_ms : DTLS_DEFAULT_RETRANSMIT_MS,
            d->timeout_ms);
        *out = d;
        return 0;
fail:
        dtls_free(d);
        return rc;
}

int dtls_start(struct dtls *d, uint64_t now_us)
{
        if (!d)
                return -EINVAL;
        if (d->state != DTLS_ST_IDLE)
                return 0;
        d->state = DTLS_ST_HANDSHAKE;
        d->start_us = now_us;
        log_debug("dtls", "starting handshake as %s",
                  d->role == DTLS_ROLE_CLIENT ? "client" : "server");
        drive(d, now_us);
        return 0;
}

int dtls_set_retransmit_ms(struct dtls *d, unsigned ms)
{
        if (!d || !ms)
                return -EINVAL;
        gnutls_dtls_set_timeouts(d->s, ms, d->timeout_ms);
        return 0;
}

int dtls_set_peer_fingerprint(struct dtls *d, const char *alg, const char *fingerprint)
{
        if (!d)
                return -EINVAL;
        int rc = set_fingerprint(d, alg, fingerprint);
        if (rc < 0)
                return rc;
        if (d->state != DTLS_ST_AWAIT_FP && d->state != DTLS_ST_CONNECTED)
                return 0;
        const gnutls_datum_t *der = peer_cert(d);
        if (!der || check_fingerprint(d, der) < 0) {
                char reason[sizeof(d->reason)];
                memcpy(reason, d->reason, sizeof(reason));
                (void)gnutls_alert_send(d->s, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
                fail(d, -EKEYREJECTED, "%s", der ? reason : "peer sent no certificate");
                return 0;
        }
        if (d->state == DTLS_ST_AWAIT_FP)
                become_connected(d);
        return 0;
}

int dtls_handle_input(struct dtls *d, uint64_t now_us, const void *data, size_t len)
{
        if (!d || (!data && len))
                return -EINVAL;
        if (d->state == DTLS_ST_IDLE)
                dtls_start(d, now_us);
        if (d->state != DTLS_ST_HANDSHAKE && d->state != DTLS_ST_AWAIT_FP &&
            d->state != DTLS_ST_CONNECTED)
                return 0;
        if (len == 0)
                return 0;
        if (d->in.count >= DTLS_MAX_QUEUED_INPUT)
                return 0;
        struct dtls_item *it = item_new(DTLS_OUTPUT_DATA, data, len);
        if (!it)
                return -ENOMEM;
        queue_push(&d->in, it);
        drive(d, now_us);
        return 0;
}

int dtls_poll_output(struct dtls *d, struct dtls_output *out)
{
        free(d->polled);
        d->polled = queue_pop(&d->out);
        if (!d->polled)
                return 0;
        struct dtls_item *it = d->polled;
        out->kind = it->kind;
        out->data = it->len ? it->data : NULL;
        out->len = it->len;
        out->error = 0;
        out->reason[0] = '\0';
        out->cipher[0] = '\0';
        memset(&out->keys, 0, sizeof(out->keys));
        if (it->kind == DTLS_OUTPUT_CONNECTED) {
                out->keys = d->keys;
                snprintf(out->cipher, sizeof(out->cipher), "%s", d->cipher);
        } else if (it->kind == DTLS_OUTPUT_FAILED) {
                out->error = d->error;
                snprintf(out->reason, sizeof(out->reason), "%s", d->reason);
        }
        return 1;
}

uint64_t dtls_next_deadline(const struct dtls *d)
{
        if (d->state == DTLS_ST_HANDSHAKE) {
                uint64_t end = d->start_us + (uint64_t)d->timeout_ms * 1000;
                return d->retransmit_at < end ? d->retransmit_at : end;
        }
        if (d->state == DTLS_ST_AWAIT_FP)
                return d->start_us + (uint64_t)d->timeout_ms * 1000;
        return UINT64_MAX;
}

void dtls_handle_timeout(struct dtls *d, uint64_t now_us)
{
        if (d->state != DTLS_ST_HANDSHAKE && d->state != DTLS_ST_AWAIT_FP)
                return;
        if (now_us >= d->start_us + (uint64_t)d->timeout_ms * 1000) {
                if (d->state == DTLS_ST_HANDSHAKE)
                        fail(d, -ETIMEDOUT, "DTLS handshake timed out after %u ms", d->timeout_ms);
                else
                        fail(d, -ETIMEDOUT,
                             "peer fingerprint not known %u ms after the handshake "
                             "started",
                             d->timeout_ms);
                return;
        }
        if (d->state == DTLS_ST_HANDSHAKE && now_us >= d->retransmit_at)
                drive(d, now_us); /* GnuTLS retransmits the flight if its timer agrees */
}

int dtls_send(struct dtls *d, const void *data, size_t len)
{
        if (!d || !data || !len)
                return -EINVAL;
        if (d->state == DTLS_ST_CLOSED || d->state == DTLS_ST_FAILED)
                return -EPIPE;
        if (d->state != DTLS_ST_CONNECTED)
                return -ENOTCONN;
        ssize_t n = gnutls_record_send(d->s, data, len);
        if (n == GNUTLS_E_LARGE_PACKET)
                return -EMSGSIZE;
        if (n < 0) {
                if (gnutls_error_is_fatal((int)n))
                        fail_gnutls(d, (int)n, "send");
                return n == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EIO;
        }
        return 0;
}

size_t dtls_max_payload(const struct dtls *d)
{
        return gnutls_dtls_get_data_mtu(d->s);
}

int dtls_close(struct dtls *d)
{
        if (!d)
                return -EINVAL;
        if (d->state == DTLS_ST_CONNECTED || d->state == DTLS_ST_AWAIT_FP)
                (void)gnutls_bye(d->s, GNUTLS_SHUT_WR); /* queues close_notify; never waits */
        if (d->state != DTLS_ST_FAILED)
                d->state = DTLS_ST_CLOSED;
        queue_clear(&d->in);
        queue_clear(&d->pending);
        return 0;
}

bool dtls_is_connected(const struct dtls *d)
{
        return d && d->state == DTLS_ST_CONNECTED;
}

/* Moves one side's datagrams to the other; counts CONNECTED and DATA, notes FAILED. */
static int prepare_pump(struct dtls *from, struct dtls *to, int *events, bool *failed)
{
        struct dtls_output o;
        int moved = 0;
        while (dtls_poll_output(from, &o) == 1) {
                if (o.kind == DTLS_OUTPUT_TRANSMIT) {
                        dtls_handle_input(to, 0, o.data, o.len);
                        moved++;
                } else if (o.kind == DTLS_OUTPUT_CONNECTED || o.kind == DTLS_OUTPUT_DATA) {
                        (*events)++;
                } else if (o.kind == DTLS_OUTPUT_FAILED) {
                        *failed = true;
                }
        }
        return moved;
}

int dtls_lib_prepare(const struct cert *cert)
{
        char fp[CERT_FINGERPRINT_MAX];
        if (!cert || cert_fingerprint(cert, "sha-256", fp, sizeof(fp)) < 0)
                return -EINVAL;
        struct dtls_config cc = {.role = DTLS_ROLE_CLIENT,
                                 .cert = cert,
                                 .srtp = true,
                                 .peer_fingerprint_alg = "sha-256",
                                 .peer_fingerprint = fp};
        struct dtls_config sc = cc;
        sc.role = DTLS_ROLE_SERVER;
        struct dtls *c = NULL, *s = NULL;
        int rc = dtls_new(&cc, &c);
        if (rc == 0)
                rc = dtls_new(&sc, &s);
        /* Its debug lines would read as the real handshake's. */
        int level = log_get_level();
        log_set_level(LOG_LEVEL_WARN);
        int events = 0;
        bool failed = false;
        if (rc == 0) {
                dtls_start(s, 0);
                dtls_start(c, 0);
                for (int i = 0; i < 16 && !failed && events < 2; i++)
                        if (prepare_pump(c, s, &events, &failed) +
                                prepare_pump(s, c, &events, &failed) ==
                            0)
                                break;
                if (events == 2 && dtls_send(c, "warm", 4) == 0 && dtls_send(s, "warm", 4) == 0)
                        for (int i = 0; i < 4; i++)
                                if (prepare_pump(c, s, &events, &failed) +
                                        prepare_pump(s, c, &events, &failed) ==
                                    0)
                                        break;
        }
        log_set_level(level);
        dtls_free(c);
        dtls_free(s);
        if (rc < 0)
                return rc;
        return events == 4 && !failed ? 0 : -EPROTO;
}

/*
 * A DTLS 1.2 endpoint over GnuTLS, sans-IO: received datagrams and the time go in, datagrams to
 * send, events and the next deadline come out. GnuTLS is non-blocking and its transport
 * callbacks only move bytes between its record layer and our queues.
 *
 * Peer authentication is the WebRTC kind (RFC 8827): no CA, the peer's self-signed certificate
 * must hash to the fingerprint from its SDP. Until that check passes nothing decrypted is
 * delivered.
 *
 * GnuTLS times its retransmissions with its own clock, not with now_us. The module copes by
 * asking GnuTLS how long it still wants to wait every time it sets a deadline, so a deadline that
 * fires early only re-arms; the total handshake timeout is ours and uses now_us alone.
 */
#ifndef RTCPEER_DTLS_DTLS_H
#define RTCPEER_DTLS_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtls/cert.h"

#define DTLS_DEFAULT_MTU                  1200
#define DTLS_DEFAULT_RETRANSMIT_MS        1000
#define DTLS_DEFAULT_HANDSHAKE_TIMEOUT_MS 30000

/* SRTP key and salt lengths of the AES128_CM profiles (RFC 5764 section 4.1.2). */
#define DTLS_SRTP_KEY_LEN  16
#define DTLS_SRTP_SALT_LEN 14

enum dtls_role {
        DTLS_ROLE_CLIENT, /* a=setup:active: sends the ClientHello */
        DTLS_ROLE_SERVER, /* a=setup:passive */
};

/*
 * DTLS-SRTP protection profiles, numbered as in the IANA registry. GnuTLS 3.7 (Debian 12)
 * negotiates only these two: SRTP_AEAD_AES_128_GCM (0x0007) is not available through it.
 */
enum dtls_srtp_profile {
        DTLS_SRTP_NONE = 0,
        DTLS_SRTP_AES128_CM_SHA1_80 = 0x0001,
        DTLS_SRTP_AES128_CM_SHA1_32 = 0x0002,
};

struct dtls_config {
        enum dtls_role role;
        const struct cert *cert; /* ours; must outlive the endpoint */
        /*
         * The peer's fingerprint from its SDP, e.g. "sha-256" and "AB:CD:...". Both NULL means
         * "not known yet": the handshake may run, but nothing is reported as connected until
         * dtls_set_peer_fingerprint() supplies it and it matches.
         */
        const char *peer_fingerprint_alg;
        const char *peer_fingerprint;
        bool srtp;                     /* offer or accept use_srtp with the two CM profiles */
        unsigned mtu;                  /* 0: DTLS_DEFAULT_MTU */
        unsigned retransmit_ms;        /* 0: DTLS_DEFAULT_RETRANSMIT_MS (first flight timeout) */
        unsigned handshake_timeout_ms; /* 0: DTLS_DEFAULT_HANDSHAKE_TIMEOUT_MS */
        const char *priority;          /* NULL: our browser-compatible default; for interop tests */
};

/* What CONNECTED reports: the negotiated profile and the RFC 5764 keying material. */
struct dtls_srtp_keys {
        enum dtls_srtp_profile profile; /* DTLS_SRTP_NONE when the peer did not negotiate SRTP */
        uint8_t client_key[DTLS_SRTP_KEY_LEN];
        uint8_t server_key[DTLS_SRTP_KEY_LEN];
        uint8_t client_salt[DTLS_SRTP_SALT_LEN];
        uint8_t server_salt[DTLS_SRTP_SALT_LEN];
};

enum dtls_output_kind {
        DTLS_OUTPUT_TRANSMIT,  /* data/len: one datagram for the peer */
        DTLS_OUTPUT_CONNECTED, /* handshake done and the peer's fingerprint verified: keys, cipher
                                */
        DTLS_OUTPUT_DATA,      /* data/len: one decrypted application record */
        DTLS_OUTPUT_CLOSED,    /* the peer sent close_notify */
        DTLS_OUTPUT_FAILED,    /* error and reason; the endpoint is dead */
};

/*
 * FAILED error codes:
 *   -EKEYREJECTED  the peer's certificate does not match the expected fingerprint (or it sent
 *                  none); reason names both fingerprints
 *   -ETIMEDOUT     the handshake did not finish within handshake_timeout_ms
 *   -ECONNABORTED  the peer sent a fatal alert; reason names it
 *   -EPROTO        any other handshake or record failure
 */
struct dtls_output {
        enum dtls_output_kind kind;
        const uint8_t *data; /* TRANSMIT, DATA: valid until the next poll or dtls_free */
        size_t len;
        struct dtls_srtp_keys keys; /* CONNECTED */
        char cipher[64];            /* CONNECTED: e.g. "ECDHE_ECDSA_AES_128_GCM_SHA256" */
        int error;                  /* FAILED */
        char reason[2 * CERT_FINGERPRINT_MAX + 128]; /* FAILED: one line for the user */
};

struct dtls;

int dtls_new(const struct dtls_config *cfg, struct dtls **out);
void dtls_free(struct dtls *d);

/* Starts the handshake clock; the client queues its ClientHello. Input also starts it. */
int dtls_start(struct dtls *d, uint64_t now_us);

/*
 * Replaces the first retransmission timeout (dtls_config.retransmit_ms; each further one
 * doubles), e.g. from a round trip measured by ICE once it is known. Takes effect for the
 * flights sent after it; the handshake timeout is unchanged. Returns 0 or -EINVAL (ms 0).
 */
int dtls_set_retransmit_ms(struct dtls *d, unsigned ms);

/* Supplies or replaces the expected fingerprint (the answer may arrive after the handshake). */
int dtls_set_peer_fingerprint(struct dtls *d, const char *alg, const char *fingerprint);

/*
 * One received datagram (first byte 20..63, see demux.h). Returns 0, also for input that is
 * dropped as garbage; -EINVAL for bad arguments. Failures are reported as FAILED outputs.
 */
int dtls_handle_input(struct dtls *d, uint64_t now_us, const void *data, size_t len);

/* 1 and *out filled, or 0 when nothing is queued. */
int dtls_poll_output(struct dtls *d, struct dtls_output *out);

/* When dtls_handle_timeout wants to run next; UINT64_MAX when idle. */
uint64_t dtls_next_deadline(const struct dtls *d);
void dtls_handle_timeout(struct dtls *d, uint64_t now_us);

/*
 * Encrypts one application record (a datagram of its own). -ENOTCONN before CONNECTED,
 * -EPIPE after close or failure, -EMSGSIZE if it does not fit the MTU.
 */
int dtls_send(struct dtls *d, const void *data, size_t len);

/* Largest dtls_send payload under the MTU (valid once connected). */
size_t dtls_max_payload(const struct dtls *d);

/* Queues close_notify when connected; afterwards the endpoint sends and delivers nothing. */
int dtls_close(struct dtls *d);

bool dtls_is_connected(const struct dtls *d);

/*
 * Runs one handshake in memory, `cert` on both sides, and one record each way. The first
 * handshake of a process costs 1-5 ms more than the next (code and tables still cold, symbols
 * still unbound): the shell pays that while it waits for the peer's description, not in the
 * middle of the real handshake. Returns 0, or a negative errno when it could not complete.
 */
int dtls_lib_prepare(const struct cert *cert);

#endif

/*
 * The DTLS identity: an ECDSA P-256 key and a self-signed certificate, generated with GnuTLS
 * for each run. Its fingerprint goes into the SDP so the peer can verify the handshake.
 */
#ifndef RTCPEER_DTLS_CERT_H
#define RTCPEER_DTLS_CERT_H

#include <stddef.h>

struct cert;

/* Longest fingerprint text: sha-512 is 64 bytes as "AB:" triples. */
#define CERT_FINGERPRINT_MAX (64 * 3)

int cert_generate(struct cert **out);
void cert_free(struct cert *c);

/*
 * Writes the fingerprint of the certificate as uppercase hex pairs joined by ':' into out.
 * alg is the SDP hash name: "sha-1", "sha-224", "sha-256", "sha-384" or "sha-512".
 */
int cert_fingerprint(const struct cert *c, const char *alg, char *out, size_t outlen);

/* The same, for a DER certificate received from a peer. */
int cert_fingerprint_der(const void *der, size_t len, const char *alg, char *out, size_t outlen);

/* The GnuTLS handles, for the DTLS layer: gnutls_x509_crt_t and gnutls_x509_privkey_t. */
void *cert_x509(const struct cert *c);
void *cert_privkey(const struct cert *c);

#endif

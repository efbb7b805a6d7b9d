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
/* The same with a chosen validity, for identities kept across runs. */
int cert_generate_days(unsigned days, struct cert **out);

/*
 * An identity file: the private key and the certificate, PEM, in one file created with mode
 * 0600 (an existing file is not overwritten: -EEXIST).
 */
int cert_save_pem(const struct cert *c, const char *path);
/*
 * Loads an identity file. -ENOENT/-EACCES as the file system says, -EBADMSG when it does not
 * hold one ECDSA or RSA key and a certificate of that key (msg says which), -EPERM when group or
 * others may read it (a key anyone can read is no identity).
 */
int cert_load_pem(const char *path, struct cert **out, char *msg, size_t msglen);
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

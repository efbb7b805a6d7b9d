#include "dtls/cert.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/rand.h"

struct cert {
        gnutls_x509_crt_t crt;
        gnutls_x509_privkey_t key;
};

void cert_free(struct cert *c)
{
        if (!c)
                return;
        if (c->crt)
                gnutls_x509_crt_deinit(c->crt);
        if (c->key)
                gnutls_x509_privkey_deinit(c->key);
        free(c);
}

int cert_generate(struct cert **out)
{
        return cert_generate_days(30, out);
}

int cert_generate_days(unsigned days, struct cert **out)
{
        *out = NULL;
        struct cert *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        int rc = -EIO;
        uint8_t serial[16];
        if (gnutls_x509_privkey_init(&c->key) < 0 ||
            gnutls_x509_privkey_generate(c->key, GNUTLS_PK_ECDSA,
                                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
                goto fail;
        if (gnutls_x509_crt_init(&c->crt) < 0)
                goto fail;
        if (rand_bytes(serial, sizeof(serial)) < 0)
                goto fail;
        serial[0] &= 0x7f; /* a positive INTEGER */
        time_t now = time(NULL);
        /* Backdated a day so that a peer with a slightly slow clock accepts it. */
        if (gnutls_x509_crt_set_version(c->crt, 3) < 0 ||
            gnutls_x509_crt_set_serial(c->crt, serial, sizeof(serial)) < 0 ||
            gnutls_x509_crt_set_activation_time(c->crt, now - 86400) < 0 ||
            gnutls_x509_crt_set_expiration_time(c->crt, now + (time_t)days * 86400) < 0 ||
            gnutls_x509_crt_set_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0, "rtcpeer", 7) <
                0 ||
            gnutls_x509_crt_set_key(c->crt, c->key) < 0 ||
            gnutls_x509_crt_sign2(c->crt, c->crt, c->key, GNUTLS_DIG_SHA256, 0) < 0)
                goto fail;
        *out = c;
        return 0;
fail:
        cert_free(c);
        return rc;
}

static int alg_from_name(const char *alg, gnutls_digest_algorithm_t *dig)
{
        static const struct {
                const char *name;
                gnutls_digest_algorithm_t dig;
        } algs[] = {
            {"sha-1", GNUTLS_DIG_SHA1},     {"sha-224", GNUTLS_DIG_SHA224},
            {"sha-256", GNUTLS_DIG_SHA256}, {"sha-384", GNUTLS_DIG_SHA384},
            {"sha-512", GNUTLS_DIG_SHA512},
        };
        for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
                if (strcasecmp(alg, algs[i].name) == 0) {
                        *dig = algs[i].dig;
                        return 0;
                }
        }
        return -ENOTSUP;
}

int cert_fingerprint_der(const void *der, size_t len, const char *alg, char *out, size_t outlen)
{
        gnutls_digest_algorithm_t dig;
        int rc = alg_from_name(alg, &dig);
        if (rc < 0)
                return rc;
        uint8_t hash[64];
        size_t hlen = gnutls_hash_get_len(dig);
        if (hlen > sizeof(hash) || outlen < hlen * 3)
                return -ENOSPC;
        if (gnutls_hash_fast(dig, der, len, hash) < 0)
                return -EIO;
        for (size_t i = 0; i < hlen; i++)
                snprintf(out + i * 3, 4, "%02X%s", hash[i], i + 1 < hlen ? ":" : "");
        return 0;
}

int cert_fingerprint(const struct cert *c, const char *alg, char *out, size_t outlen)
{
        gnutls_datum_t der = {NULL, 0};
        if (gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER, &der) < 0)
                return -EIO;
        int rc = cert_fingerprint_der(der.data, der.size, alg, out, outlen);
        gnutls_free(der.data);
        return rc;
}

void *cert_x509(const struct cert *c)
{
        return c->crt;
}

void *cert_privkey(const struct cert *c)
{
        return c->key;
}

int cert_save_pem(const struct cert *c, const char *path)
{
        gnutls_datum_t key = {NULL, 0}, crt = {NULL, 0};
        int rc = -EIO;
        if (gnutls_x509_privkey_export2(c->key, GNUTLS_X509_FMT_PEM, &key) < 0 ||
            gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &crt) < 0)
                goto out;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
                rc = -errno;
                goto out;
        }
        rc = 0;
        const gnutls_datum_t *parts[2] = {&key, &crt};
        for (int i = 0; i < 2 && rc == 0; i++) {
                size_t done = 0;
                while (done < parts[i]->size) {
                        ssize_t n = write(fd, parts[i]->data + done, parts[i]->size - done);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                rc = -errno;
                                break;
                        }
                        done += (size_t)n;
                }
        }
        if (close(fd) < 0 && rc == 0)
                rc = -errno;
        if (rc < 0)
                unlink(path);
out:
        if (key.data)
                gnutls_memset(key.data, 0, key.size);
        gnutls_free(key.data);
        gnutls_free(crt.data);
        return rc;
}

int cert_load_pem(const char *path, struct cert **out, char *msg, size_t msglen)
{
        *out = NULL;
        snprintf(msg, msglen, "%s", "");
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 1024 * 1024) {
                close(fd);
                snprintf(msg, msglen, "not a regular file of at most 1 MiB");
                return -EBADMSG;
        }
        if (st.st_mode & 077) {
                close(fd);
                snprintf(msg, msglen, "readable by others (mode %03o): chmod 600 it",
                         (unsigned)(st.st_mode & 0777));
                return -EPERM;
        }
        gnutls_datum_t data = {gnutls_malloc((size_t)st.st_size + 1), 0};
        if (!data.data) {
                close(fd);
                return -ENOMEM;
        }
        while (data.size < (unsigned)st.st_size) {
                ssize_t n = read(fd, data.data + data.size, (size_t)st.st_size - data.size);
                if (n <= 0)
                        break;
                data.size += (unsigned)n;
        }
        close(fd);
        struct cert *c = calloc(1, sizeof(*c));
        int rc = -EBADMSG;
        if (!c) {
                rc = -ENOMEM;
                goto out;
        }
        if (gnutls_x509_privkey_init(&c->key) < 0 || gnutls_x509_crt_init(&c->crt) < 0) {
                rc = -ENOMEM;
                goto out;
        }
        if (gnutls_x509_privkey_import(c->key, &data, GNUTLS_X509_FMT_PEM) < 0) {
                snprintf(msg, msglen, "no PEM private key in it");
                goto out;
        }
        if (gnutls_x509_crt_import(c->crt, &data, GNUTLS_X509_FMT_PEM) < 0) {
                snprintf(msg, msglen, "no PEM certificate in it");
                goto out;
        }
        /* The certificate must be the key's own, or the handshake would fail in a confusing way. */
        uint8_t kid[64], cid[64];
        size_t klen = sizeof(kid), clen = sizeof(cid);
        if (gnutls_x509_privkey_get_key_id(c->key, 0, kid, &klen) < 0 ||
            gnutls_x509_crt_get_key_id(c->crt, 0, cid, &clen) < 0 || klen != clen ||
            memcmp(kid, cid, klen) != 0) {
                snprintf(msg, msglen, "the certificate is not for the private key in it");
                goto out;
        }
        *out = c;
        c = NULL;
        rc = 0;
out:
        gnutls_memset(data.data, 0, data.size);
        gnutls_free(data.data);
        cert_free(c);
        return rc;
}

#include "core/rand.h"

#include <errno.h>
#include <gnutls/crypto.h>

int rand_bytes(void *dst, size_t len)
{
        return gnutls_rnd(GNUTLS_RND_NONCE, dst, len) == 0 ? 0 : -EIO;
}

uint64_t rand_u64(void)
{
        uint64_t v = 0;
        rand_bytes(&v, sizeof(v));
        return v;
}

uint32_t rand_u32(void)
{
        uint32_t v = 0;
        rand_bytes(&v, sizeof(v));
        return v;
}

int rand_ice_string(char *dst, size_t len)
{
        static const char set[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        uint8_t raw[256];
        if (len > sizeof(raw))
                return -EINVAL;
        int rc = rand_bytes(raw, len);
        if (rc < 0)
                return rc;
        for (size_t i = 0; i < len; i++)
                dst[i] = set[raw[i] & 63];
        dst[len] = 0;
        return 0;
}

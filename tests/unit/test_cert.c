#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "dtls/cert.h"

static void test_generate_and_fingerprint(void **state)
{
        (void)state;
        struct cert *a, *b;
        assert_int_equal(cert_generate(&a), 0);
        assert_int_equal(cert_generate(&b), 0);
        char fa[CERT_FINGERPRINT_MAX], fb[CERT_FINGERPRINT_MAX];
        assert_int_equal(cert_fingerprint(a, "sha-256", fa, sizeof(fa)), 0);
        assert_int_equal(cert_fingerprint(b, "sha-256", fb, sizeof(fb)), 0);
        assert_int_equal(strlen(fa), 32 * 3 - 1);
        for (size_t i = 0; i < strlen(fa); i++) {
                if (i % 3 == 2)
                        assert_int_equal(fa[i], ':');
                else
                        assert_non_null(strchr("0123456789ABCDEF", fa[i]));
        }
        /* A fresh key and certificate every time. */
        assert_string_not_equal(fa, fb);
        char f1[CERT_FINGERPRINT_MAX], f512[CERT_FINGERPRINT_MAX];
        assert_int_equal(cert_fingerprint(a, "sha-1", f1, sizeof(f1)), 0);
        assert_int_equal(strlen(f1), 20 * 3 - 1);
        assert_int_equal(cert_fingerprint(a, "SHA-512", f512, sizeof(f512)), 0);
        assert_int_equal(strlen(f512), 64 * 3 - 1);
        assert_int_equal(cert_fingerprint(a, "md5", f1, sizeof(f1)), -ENOTSUP);
        assert_int_equal(cert_fingerprint(a, "sha-256", f1, 10), -ENOSPC);
        cert_free(a);
        cert_free(b);
        cert_free(NULL);
}

/* The known SHA-256 of a fixed input proves the hex formatting and the hash choice. */
static void test_fingerprint_known_value(void **state)
{
        (void)state;
        char out[CERT_FINGERPRINT_MAX];
        assert_int_equal(cert_fingerprint_der("abc", 3, "sha-256", out, sizeof(out)), 0);
        assert_string_equal(out, "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:"
                                 "17:7A:9C:B4:10:FF:61:F2:00:15:AD");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_generate_and_fingerprint),
            cmocka_unit_test(test_fingerprint_known_value),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/addr.h"

static void roundtrip(const char *in, const char *expect)
{
        struct addr a;
        char s[ADDR_STRLEN];
        assert_int_equal(addr_from_string(&a, in), 0);
        assert_int_equal(addr_to_string(&a, s, sizeof(s)), 0);
        assert_string_equal(s, expect);
}

static void test_parse_print(void **state)
{
        (void)state;
        roundtrip("192.0.2.1:3478", "192.0.2.1:3478");
        roundtrip("192.0.2.1", "192.0.2.1:0");
        roundtrip("0.0.0.0:0", "0.0.0.0:0");
        roundtrip("255.255.255.255:65535", "255.255.255.255:65535");
        roundtrip("[::1]:5000", "[::1]:5000");
        roundtrip("::1", "[::1]:0");
        roundtrip("[2001:DB8::1]", "[2001:db8::1]:0");
        roundtrip("2001:db8:1234:5678:11:2233:4455:6677",
                  "[2001:db8:1234:5678:11:2233:4455:6677]:0");
        roundtrip("[fe80::1%3]:9", "[fe80::1%3]:9");
        roundtrip("fe80::1%4294967295", "[fe80::1%4294967295]:0");
        roundtrip("[::ffff:192.0.2.1]:1", "[::ffff:192.0.2.1]:1");

        struct addr a;
        assert_int_equal(addr_from_string(&a, "10.1.2.3:40000"), 0);
        assert_int_equal(addr_family(&a), ADDR_FAMILY_IPV4);
        assert_int_equal(a.port, 40000);
        assert_memory_equal(a.ip, ((uint8_t[]){10, 1, 2, 3}), 4);
        assert_int_equal(addr_from_string(&a, "[fe80::2%7]:1"), 0);
        assert_int_equal(addr_family(&a), ADDR_FAMILY_IPV6);
        assert_int_equal(a.scope_id, 7);

        char ip[ADDR_STRLEN];
        assert_int_equal(addr_ip_to_string(&a, ip, sizeof(ip)), 0);
        assert_string_equal(ip, "fe80::2%7");
        assert_int_equal(addr_from_ip_port(&a, "198.51.100.7", 3478), 0);
        assert_int_equal(addr_to_string(&a, ip, sizeof(ip)), 0);
        assert_string_equal(ip, "198.51.100.7:3478");
        assert_int_equal(addr_from_ip_port(&a, "2001:db8::9", 1), 0);
        assert_int_equal(addr_to_string(&a, ip, sizeof(ip)), 0);
        assert_string_equal(ip, "[2001:db8::9]:1");
}

static void test_parse_bad(void **state)
{
        (void)state;
        static const char *bad[] = {
            "",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.4:",
            "1.2.3.4:65536",
            "1.2.3.4:-1",
            "1.2.3.4:+5",
            "1.2.3.4: 5",
            "1.2.3.4:5x",
            "1.2.3.4:99999999999",
            "1.2.3.4%1",
            "[1.2.3.4]:5",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[::1]:70000",
            "::1:",
            ":::",
            "fe80::1%",
            "fe80::1%eth0",
            "fe80::1%4294967296",
            "[fe80::1%-1]:5",
            "example.org:3478",
            "[]:1",
            "2001:db8::1::2",
            "1.2.3.4:5:6",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct addr a;
                addr_from_string(&a, "9.9.9.9:9");
                if (addr_from_string(&a, bad[i]) != -EINVAL)
                        fail_msg("accepted \"%s\"", bad[i]);
                /* A failed parse leaves the previous value. */
                assert_int_equal(a.port, 9);
        }
        struct addr a;
        assert_int_equal(addr_from_string(NULL, "1.2.3.4"), -EINVAL);
        assert_int_equal(addr_from_string(&a, NULL), -EINVAL);
        assert_int_equal(addr_from_ip_port(&a, "1.2.3.4:5", 5), -EINVAL);
        assert_int_equal(addr_from_ip_port(&a, "[::1]", 5), -EINVAL);
}

static void test_to_string_bounds(void **state)
{
        (void)state;
        struct addr a;
        char s[ADDR_STRLEN];
        addr_clear(&a);
        assert_int_equal(addr_to_string(&a, s, sizeof(s)), -EINVAL);
        assert_int_equal(addr_family(&a), ADDR_FAMILY_NONE);
        assert_int_equal(addr_from_string(&a, "192.0.2.1:3478"), 0);
        assert_int_equal(addr_to_string(&a, s, 14), -ENOSPC);
        assert_int_equal(addr_to_string(&a, s, 15), 0);
        /* The longest form fits ADDR_STRLEN. */
        assert_int_equal(
            addr_from_string(&a,
                             "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295]:65535"),
            0);
        assert_int_equal(addr_to_string(&a, s, sizeof(s)), 0);
}

static void test_equal(void **state)
{
        (void)state;
        struct addr a, b;
        addr_from_string(&a, "192.0.2.1:1000");
        addr_from_string(&b, "192.0.2.1:1001");
        assert_false(addr_equal(&a, &b));
        assert_true(addr_equal_ip(&a, &b));
        b.port = 1000;
        assert_true(addr_equal(&a, &b));
        addr_from_string(&b, "[::ffff:192.0.2.1]:1000");
        assert_false(addr_equal_ip(&a, &b));
        addr_from_string(&a, "[fe80::1%1]:5");
        addr_from_string(&b, "[fe80::1%2]:5");
        assert_false(addr_equal(&a, &b));
        addr_from_string(&b, "[fe80::1%1]:5");
        assert_true(addr_equal(&a, &b));
}

static void test_classify(void **state)
{
        (void)state;
        struct addr a;
        addr_from_string(&a, "127.0.0.2");
        assert_true(addr_is_loopback(&a));
        addr_from_string(&a, "::1");
        assert_true(addr_is_loopback(&a));
        addr_from_string(&a, "::");
        assert_true(addr_is_unspecified(&a));
        assert_false(addr_is_loopback(&a));
        addr_from_string(&a, "0.0.0.0");
        assert_true(addr_is_unspecified(&a));
        addr_from_string(&a, "169.254.3.4");
        assert_true(addr_is_link_local(&a));
        addr_from_string(&a, "fe80::1");
        assert_true(addr_is_link_local(&a));
        addr_from_string(&a, "fec0::1");
        assert_false(addr_is_link_local(&a));
        addr_from_string(&a, "192.0.2.1");
        assert_false(addr_is_loopback(&a) || addr_is_link_local(&a) || addr_is_unspecified(&a));
        addr_clear(&a);
        assert_false(addr_is_unspecified(&a));
}

static void test_sockaddr(void **state)
{
        (void)state;
        struct addr a, b;
        struct sockaddr_storage ss;
        addr_from_string(&a, "192.0.2.1:3478");
        int len = addr_to_sockaddr(&a, &ss);
        assert_int_equal(len, sizeof(struct sockaddr_in));
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        assert_int_equal(sin->sin_family, AF_INET);
        assert_int_equal(ntohs(sin->sin_port), 3478);
        assert_int_equal(addr_from_sockaddr(&b, (struct sockaddr *)&ss, (size_t)len), 0);
        assert_true(addr_equal(&a, &b));

        addr_from_string(&a, "[fe80::1%2]:9");
        len = addr_to_sockaddr(&a, &ss);
        assert_int_equal(len, sizeof(struct sockaddr_in6));
        assert_int_equal(((struct sockaddr_in6 *)&ss)->sin6_scope_id, 2);
        assert_int_equal(addr_from_sockaddr(&b, (struct sockaddr *)&ss, (size_t)len), 0);
        assert_true(addr_equal(&a, &b));
        assert_int_equal(addr_from_sockaddr(&b, (struct sockaddr *)&ss, 8), -EINVAL);

        addr_clear(&a);
        assert_int_equal(addr_to_sockaddr(&a, &ss), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_print),      cmocka_unit_test(test_parse_bad),
            cmocka_unit_test(test_to_string_bounds), cmocka_unit_test(test_equal),
            cmocka_unit_test(test_classify),         cmocka_unit_test(test_sockaddr),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

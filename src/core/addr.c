#include "core/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void addr_clear(struct addr *a)
{
        memset(a, 0, sizeof(*a));
}

void addr_set_ipv4(struct addr *a, const uint8_t ip[4], uint16_t port)
{
        addr_clear(a);
        a->family = ADDR_FAMILY_IPV4;
        a->port = port;
        memcpy(a->ip, ip, 4);
}

void addr_set_ipv6(struct addr *a, const uint8_t ip[16], uint16_t port)
{
        addr_clear(a);
        a->family = ADDR_FAMILY_IPV6;
        a->port = port;
        memcpy(a->ip, ip, 16);
}

/* Strict decimal: digits only, no sign or blanks, value <= max. */
static int parse_uint(const char *s, size_t len, uint32_t max, uint32_t *out)
{
        if (len == 0 || len > 10)
                return -EINVAL;
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (v > max)
                return -EINVAL;
        *out = (uint32_t)v;
        return 0;
}

/* host is len bytes, not NUL-terminated; v6_only when it came from inside brackets. */
static int parse_host(struct addr *a, const char *host, size_t len, bool v6_only)
{
        char tmp[64];
        if (len == 0 || len >= sizeof(tmp))
                return -EINVAL;
        memcpy(tmp, host, len);
        tmp[len] = 0;

        uint32_t scope = 0;
        char *pct = strchr(tmp, '%');
        if (pct) {
                if (parse_uint(pct + 1, strlen(pct + 1), UINT32_MAX, &scope) < 0)
                        return -EINVAL;
                *pct = 0;
        }
        uint8_t ip[16];
        if (!v6_only && !pct && inet_pton(AF_INET, tmp, ip) == 1) {
                addr_set_ipv4(a, ip, 0);
                return 0;
        }
        if (inet_pton(AF_INET6, tmp, ip) == 1) {
                addr_set_ipv6(a, ip, 0);
                a->scope_id = scope;
                return 0;
        }
        return -EINVAL;
}

int addr_from_string(struct addr *a, const char *s)
{
        if (!a || !s)
                return -EINVAL;
        struct addr tmp;
        size_t len = strlen(s);
        const char *port = NULL;
        int rc;

        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end)
                        return -EINVAL;
                rc = parse_host(&tmp, s + 1, (size_t)(end - s - 1), true);
                if (rc < 0)
                        return rc;
                if (end[1] == ':')
                        port = end + 2;
                else if (end[1] != 0)
                        return -EINVAL;
        } else {
                const char *colon = strchr(s, ':');
                if (colon && !strchr(colon + 1, ':')) {
                        /* One colon: IPv4 with a port. Bare IPv6 has at least two. */
                        rc = parse_host(&tmp, s, (size_t)(colon - s), false);
                        if (rc < 0 || tmp.family != ADDR_FAMILY_IPV4)
                                return -EINVAL;
                        port = colon + 1;
                } else {
                        rc = parse_host(&tmp, s, len, false);
                        if (rc < 0)
                                return rc;
                }
        }
        if (port) {
                uint32_t p;
                if (parse_uint(port, strlen(port), 65535, &p) < 0)
                        return -EINVAL;
                tmp.port = (uint16_t)p;
        }
        *a = tmp;
        return 0;
}

int addr_from_ip_port(struct addr *a, const char *ip, uint16_t port)
{
        if (!a || !ip)
                return -EINVAL;
        struct addr tmp;
        int rc = parse_host(&tmp, ip, strlen(ip), false);
        if (rc < 0)
                return rc;
        tmp.port = port;
        *a = tmp;
        return 0;
}

int addr_ip_to_string(const struct addr *a, char *dst, size_t len)
{
        char ip[INET6_ADDRSTRLEN];
        if (!a || !dst)
                return -EINVAL;
        int af = a->family == ADDR_FAMILY_IPV4   ? AF_INET
                 : a->family == ADDR_FAMILY_IPV6 ? AF_INET6
                                                 : 0;
        if (!af || !inet_ntop(af, a->ip, ip, sizeof(ip)))
                return -EINVAL;
        int n;
        if (af == AF_INET6 && a->scope_id)
                n = snprintf(dst, len, "%s%%%u", ip, (unsigned)a->scope_id);
        else
                n = snprintf(dst, len, "%s", ip);
        return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int addr_to_string(const struct addr *a, char *dst, size_t len)
{
        char ip[ADDR_STRLEN];
        int rc = addr_ip_to_string(a, ip, sizeof(ip));
        if (rc < 0)
                return rc;
        int n;
        if (a->family == ADDR_FAMILY_IPV6)
                n = snprintf(dst, len, "[%s]:%u", ip, (unsigned)a->port);
        else
                n = snprintf(dst, len, "%s:%u", ip, (unsigned)a->port);
        return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

enum addr_family addr_family(const struct addr *a)
{
        if (!a || (a->family != ADDR_FAMILY_IPV4 && a->family != ADDR_FAMILY_IPV6))
                return ADDR_FAMILY_NONE;
        return (enum addr_family)a->family;
}

static size_t ip_len(const struct addr *a)
{
        return a->family == ADDR_FAMILY_IPV4 ? 4 : a->family == ADDR_FAMILY_IPV6 ? 16 : 0;
}

bool addr_equal_ip(const struct addr *a, const struct addr *b)
{
        return a->family == b->family && a->scope_id == b->scope_id &&
               memcmp(a->ip, b->ip, ip_len(a)) == 0;
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
        return addr_equal_ip(a, b) && a->port == b->port;
}

bool addr_is_unspecified(const struct addr *a)
{
        static const uint8_t zero[16];
        size_t n = ip_len(a);
        return n && memcmp(a->ip, zero, n) == 0;
}

bool addr_is_loopback(const struct addr *a)
{
        static const uint8_t v6_loop[16] = {[15] = 1};
        if (a->family == ADDR_FAMILY_IPV4)
                return a->ip[0] == 127;
        if (a->family == ADDR_FAMILY_IPV6)
                return memcmp(a->ip, v6_loop, 16) == 0;
        return false;
}

bool addr_is_link_local(const struct addr *a)
{
        if (a->family == ADDR_FAMILY_IPV4)
                return a->ip[0] == 169 && a->ip[1] == 254;
        if (a->family == ADDR_FAMILY_IPV6)
                return a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80;
        return false;
}

int addr_to_sockaddr(const struct addr *a, struct sockaddr_storage *ss)
{
        if (!a || !ss)
                return -EINVAL;
        memset(ss, 0, sizeof(*ss));
        if (a->family == ADDR_FAMILY_IPV4) {
                struct sockaddr_in *sin = (struct sockaddr_in *)ss;
                sin->sin_family = AF_INET;
                sin->sin_port = htons(a->port);
                memcpy(&sin->sin_addr, a->ip, 4);
                return (int)sizeof(*sin);
        }
        if (a->family == ADDR_FAMILY_IPV6) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(a->port);
                sin6->sin6_scope_id = a->scope_id;
                memcpy(&sin6->sin6_addr, a->ip, 16);
                return (int)sizeof(*sin6);
        }
        return -EINVAL;
}

int addr_from_sockaddr(struct addr *a, const struct sockaddr *sa, size_t salen)
{
        if (!a || !sa)
                return -EINVAL;
        if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
                struct sockaddr_in sin;
                memcpy(&sin, sa, sizeof(sin));
                addr_set_ipv4(a, (const uint8_t *)&sin.sin_addr, ntohs(sin.sin_port));
                return 0;
        }
        if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
                struct sockaddr_in6 sin6;
                memcpy(&sin6, sa, sizeof(sin6));
                addr_set_ipv6(a, (const uint8_t *)&sin6.sin6_addr, ntohs(sin6.sin6_port));
                a->scope_id = sin6.sin6_scope_id;
                return 0;
        }
        return -EINVAL;
}

/*
 * Transport address: an IPv4 or IPv6 address with a UDP/TCP port. A compact value type (no
 * sockaddr inside) so protocol code can copy and compare it freely; the shell converts to and from
 * sockaddr at the socket boundary.
 */
#ifndef RTCPEER_CORE_ADDR_H
#define RTCPEER_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct sockaddr_storage;

/* Values match the STUN address family codes, which saves a translation table there. */
enum addr_family {
        ADDR_FAMILY_NONE = 0,
        ADDR_FAMILY_IPV4 = 1,
        ADDR_FAMILY_IPV6 = 2,
};

struct addr {
        uint8_t family;    /* enum addr_family */
        uint16_t port;     /* host byte order */
        uint32_t scope_id; /* IPv6 interface index for link-local addresses, else 0 */
        uint8_t ip[16];    /* network byte order; IPv4 uses the first 4 bytes, the rest stay 0 */
};

/* "[v6%scope]:port" plus NUL fits. */
#define ADDR_STRLEN 64

void addr_clear(struct addr *a);
void addr_set_ipv4(struct addr *a, const uint8_t ip[4], uint16_t port);
void addr_set_ipv6(struct addr *a, const uint8_t ip[16], uint16_t port);
/*
 * Parses "1.2.3.4", "1.2.3.4:5000", "::1", "[::1]", "[fe80::1%3]:5000". A scope is numeric only
 * (an interface name would need a system lookup). Returns 0 or -EINVAL.
 */
int addr_from_string(struct addr *a, const char *s);
/* Parses a bare address ("1.2.3.4" or "fe80::1%2") and a separate port, as SDP carries them. */
int addr_from_ip_port(struct addr *a, const char *ip, uint16_t port);
/* Writes "1.2.3.4:5000" or "[::1]:5000". Returns 0, -EINVAL (unset address) or -ENOSPC. */
int addr_to_string(const struct addr *a, char *dst, size_t len);
/* Writes the address without port or brackets ("::1", "fe80::1%2"). */
int addr_ip_to_string(const struct addr *a, char *dst, size_t len);
enum addr_family addr_family(const struct addr *a);
/* Same family, address, scope and port. */
bool addr_equal(const struct addr *a, const struct addr *b);
/* Same family, address and scope; the port is not compared. */
bool addr_equal_ip(const struct addr *a, const struct addr *b);
bool addr_is_unspecified(const struct addr *a);
bool addr_is_loopback(const struct addr *a);
bool addr_is_link_local(const struct addr *a);
/* Fills ss; returns the sockaddr length to pass to the socket call, or -EINVAL. */
int addr_to_sockaddr(const struct addr *a, struct sockaddr_storage *ss);
int addr_from_sockaddr(struct addr *a, const struct sockaddr *sa, size_t salen);

#endif

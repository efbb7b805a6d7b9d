/*
 * Host candidate gathering for the shell: one UDP socket bound on each usable local address,
 * so that the ports announced in the SDP are real and stay reserved for the session.
 */
#ifndef RTCPEER_NET_HOSTADDR_H
#define RTCPEER_NET_HOSTADDR_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NET_MAX_HOST_ADDRS 16

struct net_host_addr {
        struct sockaddr_storage ss; /* bound address, with the port the kernel chose */
        socklen_t sslen;
        int fd; /* non-blocking UDP socket, close-on-exec */
        char ifname[IF_NAMESIZE];
        char ip[64]; /* numeric address, no scope */
        uint16_t port;
        bool ipv6;
        bool loopback;
};

/*
 * Binds a UDP socket on every address of every interface that is up, skipping IPv6
 * link-local addresses. Loopback addresses are used only when nothing else is, so a machine
 * (or a network namespace) without a network still gets a working candidate.
 * Returns the number of addresses (>= 1) or a negative code (-ENETUNREACH when none).
 */
int net_gather_host(struct net_host_addr *out, size_t max);
void net_close_host(struct net_host_addr *addrs, size_t n);

#endif

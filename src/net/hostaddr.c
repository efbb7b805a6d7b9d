#include "net/hostaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static bool usable(const struct ifaddrs *ifa, bool want_loopback)
{
        if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP))
                return false;
        int fam = ifa->ifa_addr->sa_family;
        if (fam != AF_INET && fam != AF_INET6)
                return false;
        bool lo = (ifa->ifa_flags & IFF_LOOPBACK) != 0;
        if (lo != want_loopback)
                return false;
        if (fam == AF_INET6) {
                const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ifa->ifa_addr;
                if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) || IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
                        return false;
        }
        return true;
}

static int bind_one(const struct ifaddrs *ifa, struct net_host_addr *h)
{
        int fam = ifa->ifa_addr->sa_family;
        memset(h, 0, sizeof(*h));
        h->fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (h->fd < 0)
                return -errno;
        socklen_t len = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        memcpy(&h->ss, ifa->ifa_addr, len);
        if (fam == AF_INET6) {
                int on = 1;
                setsockopt(h->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
                ((struct sockaddr_in6 *)&h->ss)->sin6_port = 0;
        } else {
                ((struct sockaddr_in *)&h->ss)->sin_port = 0;
        }
        /*
         * SCTP keeps up to a megabyte in flight; the kernel's default receive buffer (about 200
         * KB) would drop bursts of it and force retransmissions. Root may exceed rmem_max.
         */
        int bufsize = 4 * 1024 * 1024;
        if (setsockopt(h->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
                setsockopt(h->fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
        if (setsockopt(h->fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof(bufsize)) < 0)
                setsockopt(h->fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
        if (bind(h->fd, (struct sockaddr *)&h->ss, len) < 0 ||
            getsockname(h->fd, (struct sockaddr *)&h->ss, &len) < 0) {
                int e = -errno;
                close(h->fd);
                h->fd = -1;
                return e;
        }
        h->sslen = len;
        h->ipv6 = fam == AF_INET6;
        h->loopback = (ifa->ifa_flags & IFF_LOOPBACK) != 0;
        snprintf(h->ifname, sizeof(h->ifname), "%s", ifa->ifa_name);
        if (h->ipv6) {
                const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&h->ss;
                inet_ntop(AF_INET6, &s6->sin6_addr, h->ip, sizeof(h->ip));
                h->port = ntohs(s6->sin6_port);
        } else {
                const struct sockaddr_in *s4 = (const struct sockaddr_in *)&h->ss;
                inet_ntop(AF_INET, &s4->sin_addr, h->ip, sizeof(h->ip));
                h->port = ntohs(s4->sin_port);
        }
        return 0;
}

int net_gather_host(struct net_host_addr *out, size_t max)
{
        struct ifaddrs *list;
        if (getifaddrs(&list) < 0)
                return -errno;
        size_t n = 0;
        for (int pass = 0; pass < 2 && n == 0; pass++) {
                for (struct ifaddrs *ifa = list; ifa && n < max; ifa = ifa->ifa_next) {
                        if (!usable(ifa, pass == 1))
                                continue;
                        int rc = bind_one(ifa, &out[n]);
                        if (rc < 0) {
                                log_warn("net", "cannot bind UDP on %s: %s", ifa->ifa_name,
                                         strerror(-rc));
                                continue;
                        }
                        log_debug("net", "host address %s%%%s port %u", out[n].ip, out[n].ifname,
                                  out[n].port);
                        n++;
                }
        }
        freeifaddrs(list);
        return n ? (int)n : -ENETUNREACH;
}

void net_close_host(struct net_host_addr *addrs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (addrs[i].fd >= 0)
                        close(addrs[i].fd);
                addrs[i].fd = -1;
        }
}

#include "net/udp.h"

#include <errno.h>
#include <sys/socket.h>

int net_udp_send(int fd, const struct addr *to, const uint8_t *data, size_t len)
{
        struct sockaddr_storage ss;
        int sl = addr_to_sockaddr(to, &ss);
        if (sl < 0)
                return sl;
        for (;;) {
                ssize_t n =
                    sendto(fd, data, len, MSG_NOSIGNAL, (struct sockaddr *)&ss, (socklen_t)sl);
                if (n >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

ssize_t net_udp_recv(int fd, struct addr *from, uint8_t *buf, size_t cap)
{
        struct sockaddr_storage ss;
        for (;;) {
                socklen_t sl = sizeof(ss);
                ssize_t n = recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&ss, &sl);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                /* A datagram larger than the buffer is cut: drop it rather than parse half. */
                if ((size_t)n > cap)
                        return -EMSGSIZE;
                if (addr_from_sockaddr(from, (struct sockaddr *)&ss, sl) < 0)
                        return -EAFNOSUPPORT;
                return n;
        }
}

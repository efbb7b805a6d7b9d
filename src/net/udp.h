/* UDP datagrams between the shell's sockets and the sans-IO core's struct addr. */
#ifndef RTCPEER_NET_UDP_H
#define RTCPEER_NET_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/addr.h"

/* Returns 0, or a negative code; a full socket buffer drops the datagram (-EAGAIN), as UDP may. */
int net_udp_send(int fd, const struct addr *to, const uint8_t *data, size_t len);
/* Returns the datagram length, -EAGAIN when none is waiting, or another negative code. */
ssize_t net_udp_recv(int fd, struct addr *from, uint8_t *buf, size_t cap);

#endif

/*
 * A non-blocking TCP or TLS (GnuTLS) client connection for the shell, used for TURN over TCP
 * and TLS. Writes are queued while connecting or when the socket is full; the caller polls the
 * descriptor for net_stream_events() and calls net_stream_io() when it is ready.
 */
#ifndef RTCPEER_NET_STREAM_H
#define RTCPEER_NET_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/addr.h"

struct net_stream;

/*
 * Starts connecting to `to`. With tls, the server certificate is verified against the system
 * trust store (or ca_file when given) and `hostname`. Returns 0 or a negative code.
 */
int net_stream_open(const struct addr *to, bool tls, const char *hostname, const char *ca_file,
                    struct net_stream **out);
void net_stream_free(struct net_stream *s);
int net_stream_fd(const struct net_stream *s);
/* The epoll events the stream waits for now. */
uint32_t net_stream_events(const struct net_stream *s);
/* Queues bytes for the server. */
int net_stream_write(struct net_stream *s, const uint8_t *data, size_t len);
/*
 * Makes progress after the descriptor was ready: finishes connecting and the TLS handshake,
 * writes what is queued, and reads what arrived into buf. Returns the number of bytes read
 * (0 if none yet), or a negative code when the connection failed or ended (-ECONNRESET for an
 * orderly close); err then holds one line saying why.
 */
ssize_t net_stream_io(struct net_stream *s, uint8_t *buf, size_t cap, char *err, size_t errlen);

/* Waits up to timeout_ms for the queued bytes to leave (at exit, so a goodbye is not lost). */
void net_stream_drain(struct net_stream *s, int timeout_ms);

#endif

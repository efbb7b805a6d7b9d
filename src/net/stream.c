#include "net/stream.h"

#include <errno.h>
#include <poll.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"

enum stream_state { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN };

struct net_stream {
        int fd;
        bool tls;
        enum stream_state state;
        gnutls_session_t session;
        gnutls_certificate_credentials_t creds;
        char hostname[256];
        struct buf out;
        size_t tls_pending; /* bytes given to gnutls_record_send that returned E_AGAIN */
};

int net_stream_open(const struct addr *to, bool tls, const char *hostname, const char *ca_file,
                    struct net_stream **out)
{
        *out = NULL;
        struct sockaddr_storage ss;
        int sl = addr_to_sockaddr(to, &ss);
        if (sl < 0)
                return sl;
        struct net_stream *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->tls = tls;
        snprintf(s->hostname, sizeof(s->hostname), "%s", hostname ? hostname : "");
        s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0) {
                free(s);
                return -errno;
        }
        if (connect(s->fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0 && errno != EINPROGRESS) {
                int e = -errno;
                net_stream_free(s);
                return e;
        }
        s->state = ST_CONNECTING;
        if (tls) {
                int rc = gnutls_certificate_allocate_credentials(&s->creds);
                if (rc == 0)
                        rc = ca_file ? gnutls_certificate_set_x509_trust_file(s->creds, ca_file,
                                                                              GNUTLS_X509_FMT_PEM)
                                     : gnutls_certificate_set_x509_system_trust(s->creds);
                if (rc < 0) {
                        net_stream_free(s);
                        return -EINVAL;
                }
                if (gnutls_init(&s->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0 ||
                    gnutls_set_default_priority(s->session) < 0 ||
                    gnutls_credentials_set(s->session, GNUTLS_CRD_CERTIFICATE, s->creds) < 0) {
                        net_stream_free(s);
                        return -ENOMEM;
                }
                if (s->hostname[0]) {
                        struct addr tmp;
                        /* SNI is for names only; an address literal is verified without it. */
                        if (addr_from_string(&tmp, s->hostname) < 0)
                                gnutls_server_name_set(s->session, GNUTLS_NAME_DNS, s->hostname,
                                                       strlen(s->hostname));
                        gnutls_session_set_verify_cert(s->session, s->hostname, 0);
                } else {
                        gnutls_session_set_verify_cert(s->session, NULL, 0);
                }
                gnutls_transport_set_int(s->session, s->fd);
        }
        *out = s;
        return 0;
}

void net_stream_free(struct net_stream *s)
{
        if (!s)
                return;
        if (s->session)
                gnutls_deinit(s->session);
        if (s->creds)
                gnutls_certificate_free_credentials(s->creds);
        if (s->fd >= 0)
                close(s->fd);
        buf_free(&s->out);
        free(s);
}

int net_stream_fd(const struct net_stream *s)
{
        return s->fd;
}

uint32_t net_stream_events(const struct net_stream *s)
{
        if (s->state == ST_CONNECTING)
                return EPOLLOUT;
        if (s->state == ST_HANDSHAKE)
                return gnutls_record_get_direction(s->session) ? EPOLLOUT : EPOLLIN;
        return EPOLLIN | (s->out.len ? EPOLLOUT : 0);
}

int net_stream_write(struct net_stream *s, const uint8_t *data, size_t len)
{
        return buf_append(&s->out, data, len);
}

static ssize_t fail(char *err, size_t errlen, int code, const char *what)
{
        snprintf(err, errlen, "%s", what);
        return code;
}

static ssize_t flush_out(struct net_stream *s, char *err, size_t errlen)
{
        while (s->out.len) {
                ssize_t n;
                if (s->tls) {
                        size_t len = s->tls_pending ? s->tls_pending : s->out.len;
                        if (len > 16384)
                                len = 16384;
                        n = gnutls_record_send(s->session, s->out.data, len);
                        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
                                s->tls_pending = len; /* must be retried with the same data */
                                return 0;
                        }
                        s->tls_pending = 0;
                        if (n < 0)
                                return fail(err, errlen, -EIO, gnutls_strerror((int)n));
                } else {
                        n = send(s->fd, s->out.data, s->out.len, MSG_NOSIGNAL);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        return 0;
                                return fail(err, errlen, -errno, strerror(errno));
                        }
                }
                buf_consume(&s->out, (size_t)n);
        }
        return 0;
}

ssize_t net_stream_io(struct net_stream *s, uint8_t *buf, size_t cap, char *err, size_t errlen)
{
        if (s->state == ST_CONNECTING) {
                int soerr = 0;
                socklen_t sl = sizeof(soerr);
                if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                        soerr = errno;
                if (soerr == EINPROGRESS || soerr == EALREADY)
                        return 0;
                if (soerr)
                        return fail(err, errlen, -soerr, strerror(soerr));
                s->state = s->tls ? ST_HANDSHAKE : ST_OPEN;
        }
        if (s->state == ST_HANDSHAKE) {
                int rc = gnutls_handshake(s->session);
                if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
                        return 0;
                if (rc < 0) {
                        char what[384];
                        if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
                                snprintf(what, sizeof(what),
                                         "TLS: the server certificate does not verify for \"%s\"",
                                         s->hostname);
                        else
                                snprintf(what, sizeof(what), "TLS handshake failed: %s",
                                         gnutls_strerror(rc));
                        return fail(err, errlen, -EPROTO, what);
                }
                s->state = ST_OPEN;
        }
        ssize_t rc = flush_out(s, err, errlen);
        if (rc < 0)
                return rc;
        ssize_t n;
        if (s->tls) {
                n = gnutls_record_recv(s->session, buf, cap);
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                        return 0;
                if (n == 0)
                        return fail(err, errlen, -ECONNRESET, "the server closed the connection");
                if (n < 0)
                        return fail(err, errlen, -EIO, gnutls_strerror((int)n));
                return n;
        }
        n = recv(s->fd, buf, cap, 0);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                return fail(err, errlen, -errno, strerror(errno));
        }
        if (n == 0)
                return fail(err, errlen, -ECONNRESET, "the server closed the connection");
        return n;
}

void net_stream_drain(struct net_stream *s, int timeout_ms)
{
        uint8_t sink[4096];
        char err[64];
        for (int waited = 0; s->out.len && s->state == ST_OPEN && waited < timeout_ms;
             waited += 20) {
                struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
                if (poll(&pfd, 1, 20) < 0)
                        return;
                if (net_stream_io(s, sink, sizeof(sink), err, sizeof(err)) < 0)
                        return;
        }
}

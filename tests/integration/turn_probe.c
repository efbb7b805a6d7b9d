/*
 * turn_probe: runs the sans-IO TURN client against a real server over real sockets. This file is
 * the shell: it owns the sockets (UDP, TCP, or TLS through GnuTLS), the clock and the poll loop,
 * plus a plain UDP echo socket playing the peer.
 *
 *   turn_probe SERVER_IP:PORT udp|tcp|tls USER PASSWORD [CA_FILE]
 *
 * Steps: allocate; create a permission for the echo socket and send through the relay with a Send
 * indication, expect the echo back as a Data indication; bind a channel and do the same with
 * ChannelData; release the allocation. Prints "ok - ..." per step on stdout. With
 * TURN_PROBE_HOLD_S=N in the environment it first keeps the allocation N seconds, echoing a packet
 * every 250 ms that must all come back: against a server granting a short lifetime and expiring
 * nonces, that proves refreshes and stale-nonce retries work.
 * Exit codes: 0 all steps passed; 2 the client reported FAILED (its reason on stderr, prefixed
 * "FAILED: "); 1 anything else (a step timed out, a socket error, a wrong echo).
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/clock.h"
#include "core/log.h"
#include "ice/turn.h"

#define OVERALL_TIMEOUT_US (20 * CLOCK_US_PER_SEC)
#define TLS_HOSTNAME       "localhost"

struct conn {
        int fd;
        enum turn_transport tr;
        gnutls_session_t tls;
        gnutls_certificate_credentials_t cred;
        bool closed; /* the stream ended; no more reads */
};

enum step {
        STEP_ALLOCATE,
        STEP_INDICATION,
        STEP_BIND,
        STEP_CHANNEL,
        STEP_CHANNEL_BIG,
        STEP_HOLD,
        STEP_CLOSE,
        STEP_DONE,
};

static const char *step_names[] = {
    "allocation",
    "echo through a Send/Data indication",
    "channel bind",
    "echo over ChannelData",
    "large echo over ChannelData",
    "hold",
    "release",
    "done",
};

static __attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "turn_probe: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(1);
}

static void set_nonblocking(int fd)
{
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
                die("fcntl: %s", strerror(errno));
}

static void wait_fd(int fd, short events, int ms)
{
        struct pollfd p = {.fd = fd, .events = events};
        if (poll(&p, 1, ms) <= 0)
                die("socket not ready after %d ms", ms);
}

static void conn_open(struct conn *c, const struct addr *srv, enum turn_transport tr,
                      const char *ca)
{
        struct sockaddr_storage ss;
        int sl = addr_to_sockaddr(srv, &ss);
        if (sl < 0)
                die("bad server address");
        c->tr = tr;
        c->fd = socket(ss.ss_family, tr == TURN_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM, 0);
        if (c->fd < 0)
                die("socket: %s", strerror(errno));
        set_nonblocking(c->fd);
        if (connect(c->fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
                if (errno != EINPROGRESS)
                        die("connect: %s", strerror(errno));
                wait_fd(c->fd, POLLOUT, 5000);
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err)
                        die("connect: %s", strerror(err));
        }
        if (tr != TURN_TRANSPORT_TLS)
                return;
        if (!ca)
                die("TLS needs a CA file");
        int rc = gnutls_certificate_allocate_credentials(&c->cred);
        if (rc == 0 &&
            gnutls_certificate_set_x509_trust_file(c->cred, ca, GNUTLS_X509_FMT_PEM) <= 0)
                die("cannot load CA file %s", ca);
        if (rc == 0)
                rc = gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
        if (rc == 0)
                rc = gnutls_set_default_priority(c->tls);
        if (rc == 0)
                rc = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
        if (rc == 0)
                rc = gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, TLS_HOSTNAME,
                                            strlen(TLS_HOSTNAME));
        if (rc < 0)
                die("gnutls setup: %s", gnutls_strerror(rc));
        /* A real check: the certificate must chain to the test's CA and name the host. */
        gnutls_session_set_verify_cert(c->tls, TLS_HOSTNAME, 0);
        gnutls_transport_set_int(c->tls, c->fd);
        uint64_t until = clock_now_us() + 5 * CLOCK_US_PER_SEC;
        do {
                rc = gnutls_handshake(c->tls);
                if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
                        if (clock_now_us() > until)
                                die("TLS handshake timed out");
                        wait_fd(c->fd, gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN,
                                5000);
                }
        } while (rc < 0 && !gnutls_error_is_fatal(rc));
        if (rc < 0)
                die("TLS handshake: %s", gnutls_strerror(rc));
        printf("ok - TLS handshake, server certificate verified for %s\n", TLS_HOSTNAME);
}

static void conn_send(struct conn *c, const uint8_t *d, size_t n)
{
        if (c->tr == TURN_TRANSPORT_UDP) {
                if (send(c->fd, d, n, 0) < 0 && errno != EAGAIN)
                        fprintf(stderr, "turn_probe: send: %s\n", strerror(errno));
                return;
        }
        size_t off = 0;
        while (off < n) {
                ssize_t w;
                if (c->tls) {
                        w = gnutls_record_send(c->tls, d + off, n - off);
                        if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
                                wait_fd(c->fd, POLLOUT, 5000);
                                continue;
                        }
                        if (w < 0)
                                die("TLS send: %s", gnutls_strerror((int)w));
                } else {
                        w = send(c->fd, d + off, n - off, MSG_NOSIGNAL);
                        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                                wait_fd(c->fd, POLLOUT, 5000);
                                continue;
                        }
                        if (w < 0)
                                die("TCP send: %s", strerror(errno));
                }
                off += (size_t)w;
        }
}

/*
 * Reads what is there and feeds the client. A stream that ends (EOF, reset, TLS error) is told
 * to the client, which decides what it means (FAILED, or the end of a close); then c->closed.
 */
static void conn_read(struct conn *c, struct turn_client *tc)
{
        uint8_t buf[65536];
        for (;;) {
                ssize_t r;
                if (c->tls) {
                        r = gnutls_record_recv(c->tls, buf, sizeof(buf));
                        if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                                return;
                        if (r < 0) {
                                fprintf(stderr, "turn_probe: TLS receive: %s\n",
                                        gnutls_strerror((int)r));
                                r = 0;
                        }
                } else {
                        r = recv(c->fd, buf, sizeof(buf), 0);
                        if (r < 0 && (errno == EAGAIN || errno == EINTR))
                                return;
                        if (r < 0 && c->tr == TURN_TRANSPORT_UDP) {
                                /* ICMP port unreachable: the server is not there; the client times
                                 * out. */
                                if (errno == ECONNREFUSED)
                                        continue;
                                die("receive: %s", strerror(errno));
                        }
                        if (r < 0) {
                                fprintf(stderr, "turn_probe: receive: %s\n", strerror(errno));
                                r = 0;
                        }
                }
                if (r == 0 && c->tr != TURN_TRANSPORT_UDP) {
                        turn_client_handle_stream_closed(tc, clock_now_us());
                        c->closed = true;
                        return;
                }
                uint64_t now = clock_now_us();
                if (c->tr == TURN_TRANSPORT_UDP)
                        turn_client_handle_datagram(tc, now, buf, (size_t)r);
                else
                        turn_client_handle_stream(tc, now, buf, (size_t)r);
        }
}

static void conn_close(struct conn *c)
{
        if (c->tls) {
                gnutls_bye(c->tls, GNUTLS_SHUT_WR);
                gnutls_deinit(c->tls);
        }
        if (c->cred)
                gnutls_certificate_free_credentials(c->cred);
        close(c->fd);
}

static int echo_open(struct addr *bound)
{
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof(sin);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
            getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
                die("echo socket: %s", strerror(errno));
        set_nonblocking(fd);
        addr_from_sockaddr(bound, (struct sockaddr *)&sin, sl);
        return fd;
}

struct probe {
        struct turn_client *tc;
        struct conn conn;
        int echo_fd;
        struct addr echo, relayed;
        enum step step;
        unsigned echoes; /* packets the echo socket bounced */
        uint8_t big[1201];
        uint64_t hold_us, hold_until, next_ping;
        unsigned pings, pongs;
        uint32_t lifetime_s;
};

static void send_or_die(struct probe *p, const void *d, size_t n)
{
        int rc = turn_client_send(p->tc, clock_now_us(), &p->echo, d, n);
        if (rc < 0)
                die("turn_client_send: %s", strerror(-rc));
}

static void start_close(struct probe *p, uint64_t now)
{
        p->step = STEP_CLOSE;
        int rc = turn_client_close(p->tc, now);
        if (rc < 0)
                die("turn_client_close: %s", strerror(-rc));
}

/* The hold step: one numbered ping per 250 ms over the channel; every one must come back. */
static void hold_tick(struct probe *p, uint64_t now)
{
        if (p->step != STEP_HOLD)
                return;
        if (now >= p->hold_until) {
                if (p->pongs + 1 < p->pings)
                        die("hold: only %u of %u pings came back", p->pongs, p->pings);
                printf(
                    "ok - held the allocation %.1f s (granted lifetime %u s), %u/%u pings echoed\n",
                    (double)p->hold_us / 1e6, p->lifetime_s, p->pongs, p->pings);
                start_close(p, now);
                return;
        }
        if (now >= p->next_ping) {
                char msg[32];
                int n = snprintf(msg, sizeof(msg), "ping-%u", p->pings++);
                send_or_die(p, msg, (size_t)n);
                p->next_ping = now + 250000;
        }
}

static void echo_read(struct probe *p)
{
        uint8_t buf[65536];
        for (;;) {
                struct sockaddr_storage from;
                socklen_t fl = sizeof(from);
                ssize_t r =
                    recvfrom(p->echo_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
                if (r < 0)
                        return;
                struct addr src;
                addr_from_sockaddr(&src, (struct sockaddr *)&from, fl);
                if (!addr_equal(&src, &p->relayed)) {
                        char s[ADDR_STRLEN];
                        addr_to_string(&src, s, sizeof(s));
                        die("echo peer got a packet from %s, not from the relayed address", s);
                }
                sendto(p->echo_fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
                p->echoes++;
        }
}

static bool payload_is(const struct turn_output *o, const void *want, size_t n)
{
        return o->len == n && memcmp(o->data, want, n) == 0;
}

static void on_output(struct probe *p, const struct turn_output *o)
{
        uint64_t now = clock_now_us();
        char a[ADDR_STRLEN], b[ADDR_STRLEN];
        switch (o->kind) {
        case TURN_OUT_TRANSMIT:
                conn_send(&p->conn, o->data, o->len);
                return;
        case TURN_OUT_FAILED:
                fprintf(stderr, "FAILED: %s\n", o->reason ? o->reason : "(no reason)");
                exit(2);
        case TURN_OUT_ALLOCATED:
                if (p->step != STEP_ALLOCATE)
                        die("ALLOCATED twice");
                p->relayed = o->relayed;
                p->lifetime_s = o->lifetime_s;
                addr_to_string(&o->relayed, a, sizeof(a));
                addr_to_string(&o->mapped, b, sizeof(b));
                printf("ok - allocated relayed %s mapped %s lifetime %u s\n", a, b, o->lifetime_s);
                p->step = STEP_INDICATION;
                /* No explicit permission: sending to a new peer installs one first. */
                send_or_die(p, "via-indication", 14);
                return;
        case TURN_OUT_PERMISSION_OK:
                addr_ip_to_string(&o->peer, a, sizeof(a));
                printf("ok - permission for %s\n", a);
                return;
        case TURN_OUT_PERMISSION_FAILED:
        case TURN_OUT_CHANNEL_FAILED:
                die("%s", o->reason ? o->reason : "permission/channel failed");
        case TURN_OUT_CHANNEL_OK:
                if (p->step != STEP_BIND)
                        die("unexpected CHANNEL_OK");
                printf("ok - channel 0x%04x bound\n", o->channel);
                p->step = STEP_CHANNEL;
                send_or_die(p, "via-channel", 11); /* odd length: padded on streams */
                return;
        case TURN_OUT_DATA:
                if (!addr_equal(&o->peer, &p->echo))
                        die("data from an unexpected peer");
                if (p->step == STEP_INDICATION && o->channel == 0 &&
                    payload_is(o, "via-indication", 14)) {
                        printf("ok - echo through Send and Data indications\n");
                        p->step = STEP_BIND;
                        uint16_t ch;
                        int rc = turn_client_bind_channel(p->tc, now, &p->echo, &ch);
                        if (rc < 0)
                                die("turn_client_bind_channel: %s", strerror(-rc));
                } else if (p->step == STEP_CHANNEL && o->channel != 0 &&
                           payload_is(o, "via-channel", 11)) {
                        printf("ok - echo over ChannelData (channel 0x%04x)\n", o->channel);
                        p->step = STEP_CHANNEL_BIG;
                        send_or_die(p, p->big, sizeof(p->big));
                } else if (p->step == STEP_CHANNEL_BIG && o->channel != 0 &&
                           payload_is(o, p->big, sizeof(p->big))) {
                        printf("ok - %zu-byte echo over ChannelData\n", sizeof(p->big));
                        if (p->hold_us) {
                                p->step = STEP_HOLD;
                                p->hold_until = now + p->hold_us;
                                p->next_ping = now;
                        } else {
                                start_close(p, now);
                        }
                } else if (p->step == STEP_HOLD && o->channel != 0 && o->len > 5 &&
                           memcmp(o->data, "ping-", 5) == 0) {
                        p->pongs++;
                } else {
                        die("unexpected data (%zu bytes, channel 0x%04x) in step: %s", o->len,
                            o->channel, step_names[p->step]);
                }
                return;
        case TURN_OUT_CLOSED:
                if (p->step != STEP_CLOSE)
                        die("CLOSED before the release step");
                printf("ok - allocation released\n");
                p->step = STEP_DONE;
                return;
        }
}

int main(int argc, char **argv)
{
        if (argc < 5 || argc > 6) {
                fprintf(stderr, "usage: %s SERVER_IP:PORT udp|tcp|tls USER PASSWORD [CA_FILE]\n",
                        argv[0]);
                return 1;
        }
        setvbuf(stdout, NULL, _IOLBF, 0); /* keep step lines in order with stderr */
        if (getenv("TURN_PROBE_DEBUG"))
                log_set_level(LOG_LEVEL_DEBUG);
        struct probe p;
        memset(&p, 0, sizeof(p));
        const char *hold = getenv("TURN_PROBE_HOLD_S");
        if (hold)
                p.hold_us = strtoull(hold, NULL, 10) * CLOCK_US_PER_SEC;
        if (p.hold_us > OVERALL_TIMEOUT_US / 2)
                die("TURN_PROBE_HOLD_S too long");
        for (size_t i = 0; i < sizeof(p.big); i++)
                p.big[i] = (uint8_t)(i * 7 + 3);
        struct turn_config cfg = {
            .username = argv[3],
            .password = argv[4],
            .software = "rtcpeer turn_probe",
        };
        if (addr_from_string(&cfg.server, argv[1]) < 0 || cfg.server.port == 0)
                die("bad server address %s", argv[1]);
        if (strcmp(argv[2], "udp") == 0)
                cfg.transport = TURN_TRANSPORT_UDP;
        else if (strcmp(argv[2], "tcp") == 0)
                cfg.transport = TURN_TRANSPORT_TCP;
        else if (strcmp(argv[2], "tls") == 0)
                cfg.transport = TURN_TRANSPORT_TLS;
        else
                die("transport must be udp, tcp or tls");

        conn_open(&p.conn, &cfg.server, cfg.transport, argc == 6 ? argv[5] : NULL);
        p.echo_fd = echo_open(&p.echo);
        p.tc = turn_client_new(&cfg);
        if (!p.tc)
                die("turn_client_new failed");
        uint64_t start = clock_now_us();
        if (turn_client_start(p.tc, start) < 0)
                die("turn_client_start failed");

        while (p.step != STEP_DONE) {
                struct turn_output o;
                while (turn_client_poll_output(p.tc, &o) == 1)
                        on_output(&p, &o);
                if (p.step == STEP_DONE)
                        break;
                uint64_t now = clock_now_us();
                if (now - start > OVERALL_TIMEOUT_US)
                        die("step \"%s\" did not finish within %llu s", step_names[p.step],
                            (unsigned long long)(OVERALL_TIMEOUT_US / CLOCK_US_PER_SEC));
                uint64_t wake = turn_client_next_deadline(p.tc);
                if (p.step == STEP_HOLD && p.next_ping < wake)
                        wake = p.next_ping;
                if (wake > start + OVERALL_TIMEOUT_US)
                        wake = start + OVERALL_TIMEOUT_US;
                int ms = wake > now ? (int)((wake - now + 999) / 1000) : 0;
                /* GnuTLS may hold decrypted bytes the socket no longer shows. */
                if (!p.conn.closed && p.conn.tls && gnutls_record_check_pending(p.conn.tls))
                        ms = 0;
                struct pollfd fds[2] = {{.fd = p.conn.closed ? -1 : p.conn.fd, .events = POLLIN},
                                        {.fd = p.echo_fd, .events = POLLIN}};
                if (poll(fds, 2, ms) < 0 && errno != EINTR)
                        die("poll: %s", strerror(errno));
                if (!p.conn.closed &&
                    (fds[0].revents || (p.conn.tls && gnutls_record_check_pending(p.conn.tls))))
                        conn_read(&p.conn, p.tc);
                if (fds[1].revents)
                        echo_read(&p);
                now = clock_now_us();
                if (turn_client_next_deadline(p.tc) <= now)
                        turn_client_handle_timeout(p.tc, now);
                hold_tick(&p, now);
        }
        printf("ok - %u packets bounced by the echo peer, %.2f s in all\n", p.echoes,
               (double)(clock_now_us() - start) / 1e6);
        turn_client_free(p.tc);
        conn_close(&p.conn);
        close(p.echo_fd);
        return 0;
}

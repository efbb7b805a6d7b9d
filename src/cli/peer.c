/*
 * One peer: gathers local parameters (host candidates, ICE credentials, certificate), runs the
 * offer/answer exchange over the signaling I/O, and maps every failure to one line and an exit
 * code.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/datapipe.h"
#include "sctp/sctp.h"
#include "cli/expect.h"
#include "cli/mediapipe.h"
#include "cli/stats.h"
#include "cli/sigio.h"
#include "core/clock.h"
#include "core/exitcode.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/rand.h"
#include "dtls/cert.h"
#include "dtls/dtls.h"
#include "dtls/srtp.h"
#include "ice/mdns.h"
#include "net/hostaddr.h"
#include "net/impair.h"
#include "net/stream.h"
#include "net/udp.h"
#include "sdp/negotiate.h"
#include "sdp/sdp.h"
#include "cli/mediarecv.h"
#include "media/termview.h"
#include "rtp/gcc.h"
#include "rtp/rtp_receiver.h"
#include "rtp/rtp_sender.h"
#include "session.h"
#include "signal/page.h"
#include "signal/whip_client.h"
#include "signal/whip_server.h"

#define PEER_MAX_CANDIDATES 32
#define PEER_MAX_GOODBYE    4
#define GOODBYE_REPEAT_US   (50 * 1000)
#define GOODBYE_REPEATS     2
/* After DTLS, how long to wait for the peer's SCTP before calling the session established. */
#define ESTABLISH_GRACE_US (2 * CLOCK_US_PER_SEC)
/* Longest wait for server-reflexive candidates before the description is written anyway. */
#define GATHER_TIMEOUT_US (5 * CLOCK_US_PER_SEC)

struct peer {
        const struct cli_opts *opts;
        uint64_t deadline;
        struct net_host_addr hosts[NET_MAX_HOST_ADDRS];
        size_t n_hosts;
        struct sdp_candidate cands[PEER_MAX_CANDIDATES];
        size_t n_cands;
        struct cert *cert;
        struct session *session;
        struct loop *loop;
        int timer;
        int exit_code;
        bool established;
        bool closing;
        bool interrupted; /* SIGINT/SIGTERM before the session started */
        /* The datagrams of our hang-up (close_notify), sent again before we exit. */
        struct goodbye {
                struct session_output out;
                uint8_t data[512];
        } goodbye[4];
        int n_goodbye;
        int goodbye_sends;
        bool lingering;
        int establish_timer;
        uint64_t applied_at;
        struct host_ctx {
                struct peer *peer;
                int base;
        } hctx[NET_MAX_HOST_ADDRS];
        /* Connections to TURN servers: index k is SESSION_TURN_BASE + k in the session. */
        struct turn_conn {
                struct peer *peer;
                int index;
                int udp_fd;                /* UDP: a socket connected to the server */
                struct net_stream *stream; /* TCP, TLS */
                char uri[300];
                bool failed;
        } turn[CLI_MAX_SERVERS];
        int n_turn;
        int n_turn_failed;
        struct datapipe *pipe;   /* --data */
        struct mediapipe *media; /* --video, --audio */
        struct mediarecv *recv;  /* --video-out, --audio-out, --record-*, --preview */
        /* --impair: one stage for what we send, one for what we receive. */
        struct impair *impair_tx, *impair_rx;
        int impair_timer;
        FILE *stats_out; /* --stats */
        int stats_timer;
        int status_timer; /* the live status line (stderr on a terminal) */
        /* framesPerSecond in --stats: frame counters at the previous line. */
        struct {
                uint64_t at, frames_out, frames_in;
        } fps_prev;
        struct status_prev {
                uint64_t at, bytes_sent, bytes_received, got, frames_in, frames_out;
                int64_t lost;
        } status_prev;
        /* --expect, --summary: when each stage of the call was reached; the final stats line. */
        struct setup_times setup;
        struct buf final_stats;
        const char *ice_state;
        const char *dtls_state;
        char dtls_cipher[64];
        const char *srtp_cipher;
        const char *relay_protocol[CLI_MAX_SERVERS];
        /* Remote candidates named "<uuid>.local" (browsers hide their addresses so). */
        struct mdns_resolver *mdns;
        int mdns_fd;
        struct sdp_candidate mdns_cands[PEER_MAX_CANDIDATES];
        size_t n_mdns;
        char turn_error[512];
        char fingerprint[CERT_FINGERPRINT_MAX];
        char ufrag[9];
        char pwd[25];
        char cname[17];
        struct sdp_local local;
        struct sigio_in in;
        /* --listen: the HTTP server and the offer it accepted; --connect: the client. */
        struct whip_server *whip_srv;
        struct whip_client *whip_cli;
        struct sdp *whip_offer, *whip_answer;
        bool whip_deleted;
};

/* "stun:host[:port]" → an address (the shell resolves names; the core sees numbers only). */
int cli_resolve_server(const char *uri, const char *scheme, struct addr *out)
{
        size_t sl = strlen(scheme);
        if (strncmp(uri, scheme, sl) != 0 || uri[sl] != ':')
                return -EINVAL;
        char host[256];
        const char *hp = uri + sl + 1, *port = "3478";
        if (*hp == '[') {
                const char *close = strchr(hp, ']');
                if (!close || (size_t)(close - hp - 1) >= sizeof(host))
                        return -EINVAL;
                memcpy(host, hp + 1, (size_t)(close - hp - 1));
                host[close - hp - 1] = 0;
                if (close[1] == ':')
                        port = close + 2;
                else if (close[1])
                        return -EINVAL;
        } else {
                const char *colon = strrchr(hp, ':');
                size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);
                if (hl == 0 || hl >= sizeof(host))
                        return -EINVAL;
                memcpy(host, hp, hl);
                host[hl] = 0;
                if (colon)
                        port = colon + 1;
        }
        char *end;
        long pn = strtol(port, &end, 10);
        if (!*port || *end || pn < 1 || pn > 65535)
                return -EINVAL;
        struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG};
        struct addrinfo *res;
        if (getaddrinfo(host, port, &hints, &res) != 0)
                return -EHOSTUNREACH;
        int rc = addr_from_sockaddr(out, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
        return rc;
}

/*
 * "turn:USER:PASS@HOST[:PORT][?transport=udp|tcp]" or "turns:USER:PASS@HOST[:PORT]" (TLS).
 * The credentials go in the URI so that one option says everything about a server.
 */
struct turn_uri {
        enum turn_transport transport;
        char user[128];
        char pass[128];
        char host[256];
        char port[8];
};

static int parse_turn_uri(const char *uri, struct turn_uri *u)
{
        memset(u, 0, sizeof(*u));
        const char *rest;
        if (strncmp(uri, "turn:", 5) == 0) {
                u->transport = TURN_TRANSPORT_UDP;
                rest = uri + 5;
                snprintf(u->port, sizeof(u->port), "3478");
        } else if (strncmp(uri, "turns:", 6) == 0) {
                u->transport = TURN_TRANSPORT_TLS;
                rest = uri + 6;
                snprintf(u->port, sizeof(u->port), "5349");
        } else {
                return -EINVAL;
        }
        const char *at = strrchr(rest, '@');
        if (!at)
                return -EINVAL;
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (!colon || colon == rest || (size_t)(colon - rest) >= sizeof(u->user) ||
            (size_t)(at - colon - 1) >= sizeof(u->pass))
                return -EINVAL;
        memcpy(u->user, rest, (size_t)(colon - rest));
        memcpy(u->pass, colon + 1, (size_t)(at - colon - 1));
        char hostport[300];
        snprintf(hostport, sizeof(hostport), "%s", at + 1);
        char *q = strchr(hostport, '?');
        if (q) {
                *q++ = 0;
                if (strcmp(q, "transport=tcp") == 0 && u->transport == TURN_TRANSPORT_UDP)
                        u->transport = TURN_TRANSPORT_TCP;
                else if (strcmp(q, "transport=udp") != 0 || u->transport != TURN_TRANSPORT_UDP)
                        if (!(strcmp(q, "transport=tcp") == 0 &&
                              u->transport == TURN_TRANSPORT_TLS))
                                return -EINVAL;
        }
        char *hp = hostport, *port = NULL;
        if (*hp == '[') {
                char *close = strchr(hp, ']');
                if (!close)
                        return -EINVAL;
                *close = 0;
                hp++;
                if (close[1] == ':')
                        port = close + 2;
                else if (close[1])
                        return -EINVAL;
        } else {
                char *c = strrchr(hp, ':');
                if (c) {
                        *c = 0;
                        port = c + 1;
                }
        }
        if (!*hp || strlen(hp) >= sizeof(u->host))
                return -EINVAL;
        snprintf(u->host, sizeof(u->host), "%s", hp);
        if (port) {
                char *end;
                long pn = strtol(port, &end, 10);
                if (!*port || *end || pn < 1 || pn > 65535)
                        return -EINVAL;
                snprintf(u->port, sizeof(u->port), "%ld", pn);
        }
        return 0;
}

static void turn_failed(struct peer *p, int k, const char *why);
static void flush(struct peer *p);
static void arm(struct peer *p);
static void impair_run(struct peer *p);
static void impair_send(struct peer *p);
static void impair_arm(struct peer *p);
static void resolve_mdns(struct peer *p, const struct sdp_candidate *c);
static void on_signal(struct loop *loop, int signo, void *arg);

static void on_turn_udp(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)events;
        struct turn_conn *t = arg;
        uint8_t buf[65536];
        for (int i = 0; i < 64; i++) {
                ssize_t n = recv(fd, buf, sizeof(buf), 0);
                if (n < 0)
                        break; /* EAGAIN, or an ICMP error: the client's timers decide */
                session_handle_turn_input(t->peer->session, clock_now_us(), t->index, buf,
                                          (size_t)n);
                flush(t->peer);
        }
}

static void on_turn_stream(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)fd;
        (void)events;
        struct turn_conn *t = arg;
        uint8_t buf[16384];
        char err[256] = "";
        for (;;) {
                ssize_t n = net_stream_io(t->stream, buf, sizeof(buf), err, sizeof(err));
                if (n < 0) {
                        loop_del_fd(loop, net_stream_fd(t->stream));
                        turn_failed(t->peer, t->index, err);
                        session_turn_closed(t->peer->session, clock_now_us(), t->index);
                        flush(t->peer);
                        return;
                }
                if (n == 0)
                        break;
                session_handle_turn_input(t->peer->session, clock_now_us(), t->index, buf,
                                          (size_t)n);
        }
        loop_mod_fd(loop, net_stream_fd(t->stream), net_stream_events(t->stream));
        flush(t->peer);
}

static int open_turn(struct peer *p, const char *uri)
{
        struct turn_uri u;
        if (parse_turn_uri(uri, &u) < 0) {
                log_error(NULL,
                          "--turn %s: not a turn:USER:PASS@HOST[:PORT][?transport=udp|tcp] or "
                          "turns:USER:PASS@HOST[:PORT] URI",
                          uri);
                return EXIT_USAGE;
        }
        int socktype = u.transport == TURN_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM;
        struct addrinfo hints = {.ai_socktype = socktype, .ai_flags = AI_ADDRCONFIG};
        struct addrinfo *res;
        struct addr server;
        if (getaddrinfo(u.host, u.port, &hints, &res) != 0) {
                log_error(NULL, "TURN server %s: cannot resolve the host name", u.host);
                return EXIT_TURN;
        }
        int rc = addr_from_sockaddr(&server, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
        if (rc < 0)
                return EXIT_TURN;
        struct turn_conn *t = &p->turn[p->n_turn];
        p->relay_protocol[p->n_turn] = u.transport == TURN_TRANSPORT_UDP   ? "udp"
                                       : u.transport == TURN_TRANSPORT_TCP ? "tcp"
                                                                           : "tls";
        memset(t, 0, sizeof(*t));
        t->peer = p;
        t->udp_fd = -1;
        snprintf(t->uri, sizeof(t->uri), "%s:%s", u.host, u.port);
        if (u.transport == TURN_TRANSPORT_UDP) {
                struct sockaddr_storage ss;
                int sl = addr_to_sockaddr(&server, &ss);
                t->udp_fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (t->udp_fd < 0 ||
                    connect(t->udp_fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
                        log_error(NULL, "TURN server %s: %s", t->uri, strerror(errno));
                        return EXIT_TURN;
                }
                loop_add_fd(p->loop, t->udp_fd, EPOLLIN, on_turn_udp, t);
        } else {
                rc = net_stream_open(&server, u.transport == TURN_TRANSPORT_TLS, u.host,
                                     p->opts->turn_ca, &t->stream);
                if (rc < 0) {
                        log_error(NULL, "TURN server %s: %s", t->uri,
                                  rc == -EINVAL ? "cannot load the TLS trust anchors"
                                                : strerror(-rc));
                        return EXIT_TURN;
                }
                loop_add_fd(p->loop, net_stream_fd(t->stream), net_stream_events(t->stream),
                            on_turn_stream, t);
        }
        struct turn_config tc = {
            .server = server,
            .transport = u.transport,
            .username = u.user,
            .password = u.pass,
            .software = "rtcpeer " RTCPEER_VERSION,
        };
        t->index = session_add_turn(p->session, &tc);
        explicit_bzero(u.pass, sizeof(u.pass));
        if (t->index < 0) {
                log_error(NULL, "TURN server %s: %s", t->uri, strerror(-t->index));
                return EXIT_TURN;
        }
        log_debug("turn", "TURN server %s over %s", t->uri,
                  u.transport == TURN_TRANSPORT_UDP   ? "UDP"
                  : u.transport == TURN_TRANSPORT_TCP ? "TCP"
                                                      : "TLS");
        p->n_turn++;
        return 0;
}

static void media_after(void *arg)
{
        struct peer *p = arg;
        expect_note_sent(&p->setup, clock_now_us(), p->session);
        flush(p);
        arm(p);
}

static void media_failed(void *arg, const char *msg)
{
        struct peer *p = arg;
        log_error(NULL, "%s", msg);
        session_close(p->session, clock_now_us());
        p->exit_code = EXIT_DEVICE;
        p->closing = true;
        flush(p);
}

static int prepare_local(struct peer *p)
{
        if (p->opts->stats) {
                p->stats_out =
                    strcmp(p->opts->stats, "-") == 0 ? stdout : fopen(p->opts->stats, "w");
                if (!p->stats_out) {
                        log_error(NULL, "--stats %s: %s", p->opts->stats, strerror(errno));
                        return EXIT_USAGE;
                }
        }
        int n = net_gather_host(p->hosts, NET_MAX_HOST_ADDRS);
        if (n < 0) {
                log_error(NULL, "no usable network address for a host candidate: %s", strerror(-n));
                return EXIT_FAILURE_INTERNAL;
        }
        p->n_hosts = (size_t)n;
        int rc;
        /* Pay for libsrtp2's start-up now rather than in the middle of the handshake. */
        if (srtp_lib_prepare() < 0)
                log_warn("srtp", "cannot initialize libsrtp2");
        /* And for usrsctp's, which the session would pay right after DTLS connects. */
        sctp_lib_prepare();
        if (p->opts->identity) {
                char msg[160];
                rc = cert_load_pem(p->opts->identity, &p->cert, msg, sizeof(msg));
                if (rc < 0) {
                        log_error(NULL, "--identity %s: %s", p->opts->identity,
                                  msg[0] ? msg : strerror(-rc));
                        return EXIT_USAGE;
                }
        } else if ((rc = cert_generate(&p->cert)) < 0) {
                log_error(NULL, "cannot create the DTLS certificate: %s", strerror(-rc));
                return EXIT_FAILURE_INTERNAL;
        }
        if ((rc = cert_fingerprint(p->cert, "sha-256", p->fingerprint, sizeof(p->fingerprint))) <
            0) {
                log_error(NULL, "cannot create the DTLS certificate: %s", strerror(-rc));
                return EXIT_FAILURE_INTERNAL;
        }
        /* And for GnuTLS's first handshake, 1-5 ms slower than the next (see dtls.h). */
        if (dtls_lib_prepare(p->cert) < 0)
                log_debug("dtls", "the warm-up handshake did not complete");
        /* RFC 8839: ufrag of at least 4 and password of at least 22 ice-chars. */
        if (rand_ice_string(p->ufrag, sizeof(p->ufrag) - 1) < 0 ||
            rand_ice_string(p->pwd, sizeof(p->pwd) - 1) < 0 ||
            rand_ice_string(p->cname, sizeof(p->cname) - 1) < 0) {
                log_error(NULL, "no randomness available for ICE credentials");
                return EXIT_FAILURE_INTERNAL;
        }
        uint32_t ssrc[3];
        for (int i = 0; i < 3; i++)
                while (!(ssrc[i] = rand_u32()))
                        ;
        struct timespec rt, mt;
        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &mt);
        /* NTP counts from 1900; RTCP sender reports map the monotonic clock onto it. */
        uint64_t ntp_us =
            ((uint64_t)rt.tv_sec + 2208988800ULL) * CLOCK_US_PER_SEC + (uint64_t)rt.tv_nsec / 1000;
        uint64_t mono_us = (uint64_t)mt.tv_sec * CLOCK_US_PER_SEC + (uint64_t)mt.tv_nsec / 1000;
        struct session_config sc = {
            .cname = p->cname,
            .ssrc = {p->opts->audio ? ssrc[0] : 0, p->opts->video ? ssrc[1] : 0},
            .rtx_ssrc = p->opts->video ? ssrc[2] : 0,
            .bitrate = {p->opts->audio_kbps * 1000,
                        (p->opts->video_kbps ? p->opts->video_kbps : 1000) * 1000},
            .ntp_offset_us = ntp_us - mono_us,
            /* JSEP: the offerer starts as the controlling agent; conflicts resolve by 487. */
            .controlling = p->opts->role == CLI_OFFER,
            .ice_ufrag = p->ufrag,
            .ice_pwd = p->pwd,
            .policy = p->opts->relay_only ? ICE_POLICY_RELAY : ICE_POLICY_ALL,
            .cert = p->cert,
        };
        if ((rc = session_new(&sc, &p->session)) < 0) {
                log_error(NULL, "cannot create the ICE agent: %s", strerror(-rc));
                return EXIT_FAILURE_INTERNAL;
        }
        for (size_t i = 0; i < p->n_hosts; i++) {
                struct addr a;
                if (addr_from_sockaddr(&a, (struct sockaddr *)&p->hosts[i].ss, p->hosts[i].sslen) <
                        0 ||
                    session_add_host(p->session, (int)i, &a) < 0)
                        log_warn("ice", "cannot use host address %s", p->hosts[i].ip);
        }
        for (int i = 0; i < p->opts->n_stun; i++) {
                struct addr a;
                rc = cli_resolve_server(p->opts->stun[i], "stun", &a);
                if (rc < 0) {
                        log_error(NULL, "--stun %s: %s", p->opts->stun[i],
                                  rc == -EINVAL ? "not a stun:host[:port] URI"
                                                : "cannot resolve the host name");
                        return rc == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_INTERNAL;
                }
                session_add_stun_server(p->session, &a);
        }

        p->loop = loop_new();
        if (!p->loop)
                return EXIT_FAILURE_INTERNAL;
        loop_add_signal(p->loop, SIGINT, on_signal, p);
        loop_add_signal(p->loop, SIGTERM, on_signal, p);
        for (int i = 0; i < p->opts->n_turn; i++) {
                rc = open_turn(p, p->opts->turn[i]);
                if (rc)
                        return rc;
        }

        struct sdp_local *l = &p->local;
        memset(l, 0, sizeof(*l));
        l->ice_ufrag = p->ufrag;
        l->ice_pwd = p->pwd;
        l->fingerprint_algo = "sha-256";
        l->fingerprint = p->fingerprint;
        l->session_id = rand_u64() >> 2; /* JSEP: fits in 62 bits */
        l->end_of_candidates = true;
        l->cname = p->cname;
        /* The data section is always negotiated; media capabilities arrive with their features. */
        l->data = true;
        /* RTCPEER_FEEDBACK=twcc|ccfb narrows the congestion feedback offered: a test aid. */
        const char *fb = getenv("RTCPEER_FEEDBACK");
        l->feedback = !fb                       ? SDP_FEEDBACK_BOTH
                      : strcmp(fb, "ccfb") == 0 ? SDP_FEEDBACK_CCFB
                      : strcmp(fb, "twcc") == 0 || strcmp(fb, "transport-cc") == 0
                          ? SDP_FEEDBACK_TWCC
                          : SDP_FEEDBACK_BOTH;
        /* Each kind of media goes the ways the options ask for: a source sends, an output receives.
         */
        const struct cli_opts *o = p->opts;
        bool recv_audio = o->audio_out || o->record_audio;
        bool recv_video = o->video_out || o->record_video || o->preview;
        if (o->audio || recv_audio) {
                l->audio = !o->audio    ? SDP_DIR_RECVONLY
                           : recv_audio ? SDP_DIR_SENDRECV
                                        : SDP_DIR_SENDONLY;
                l->audio_ssrc = ssrc[0];
        }
        if (o->video || recv_video) {
                l->video = !o->video    ? SDP_DIR_RECVONLY
                           : recv_video ? SDP_DIR_SENDRECV
                                        : SDP_DIR_SENDONLY;
                l->video_ssrc = ssrc[1];
                l->video_rtx_ssrc = ssrc[2];
        }
        if (recv_audio || recv_video) {
                struct mediarecv_config rc_cfg = {
                    .video_out = o->video_out,
                    .record_video = o->record_video,
                    .audio_out = o->audio_out,
                    .record_audio = o->record_audio,
                    .preview = o->preview,
                    .fps = o->fps,
                    .failed = media_failed,
                    .arg = p,
                };
                char err[300];
                rc = mediarecv_open(&rc_cfg, p->loop, &p->recv, err, sizeof(err));
                if (rc < 0) {
                        log_error(NULL, "%s", err);
                        return rc == -ENOMEM ? EXIT_FAILURE_INTERNAL : EXIT_DEVICE;
                }
                log_info("media", "%s", mediarecv_describe(p->recv));
        }
        if (impair_active(&o->impair)) {
                p->impair_tx = impair_new(&o->impair, rand_u64());
                p->impair_rx = impair_new(&o->impair, rand_u64());
                if (!p->impair_tx || !p->impair_rx)
                        return EXIT_FAILURE_INTERNAL;
                log_info("net", "impairing both directions: %s", o->impair_spec);
        }
        l->stream_id = p->cname;
        if (p->opts->audio || p->opts->video) {
                struct mediapipe_config mc = {
                    .video = p->opts->video,
                    .audio = p->opts->audio,
                    .width = p->opts->width,
                    .height = p->opts->height,
                    .fps = p->opts->fps,
                    .video_kbps = p->opts->video_kbps,
                    .audio_bps = p->opts->audio_kbps * 1000,
                    .fec = p->opts->audio_fec,
                    .dtx = p->opts->audio_dtx,
                    .after = media_after,
                    .failed = media_failed,
                    .arg = p,
                };
                char err[300];
                rc = mediapipe_open(&mc, p->loop, &p->media, err, sizeof(err));
                if (rc < 0) {
                        log_error(NULL, "%s", err);
                        return rc == -ENOMEM ? EXIT_FAILURE_INTERNAL : EXIT_DEVICE;
                }
                log_info("media", "%s", mediapipe_describe(p->media));
        }
        return 0;
}

static int read_failure(int rc, const char *what, const struct cli_opts *o)
{
        switch (rc) {
        case -ETIMEDOUT:
                log_error(NULL, "no %s within %g s (--timeout)", what, o->timeout_s);
                return EXIT_SIGNAL_TIMEOUT;
        case -ENODATA:
                log_error(NULL, "the input ended before an %s arrived", what);
                return EXIT_NO_DESCRIPTION;
        case -EINTR:
                log_error(NULL, "interrupted while waiting for the %s", what);
                return EXIT_INTERRUPTED;
        case -E2BIG:
                log_error(NULL, "the %s is larger than %d bytes", what, FRAME_MAX_TEXT);
                return EXIT_BAD_SDP;
        case -EBADMSG:
                log_error(NULL, "the %s is a damaged compact token (incomplete or not base64url)",
                          what);
                return EXIT_BAD_SDP;
        default:
                /* sigio already named the file and the reason */
                return EXIT_FAILURE_INTERNAL;
        }
}

/* Reads and parses the peer's description; *out is set on success. */
static int receive(struct peer *p, const char *what, struct sdp **out)
{
        struct frame_reader fr;
        frame_reader_init(&fr);
        p->in.spec = p->opts->signal_in;
        int rc = sigio_read(&p->in, p->deadline, what, &fr);
        if (rc < 0) {
                frame_reader_free(&fr);
                return read_failure(rc, what, p->opts);
        }
        size_t len;
        const char *text = frame_reader_text(&fr, &len);
        struct sdp_error err = {0};
        rc = sdp_parse(text, len, out, &err);
        frame_reader_free(&fr);
        if (rc == -ENOMEM) {
                log_error(NULL, "out of memory while parsing the %s", what);
                return EXIT_FAILURE_INTERNAL;
        }
        if (rc < 0) {
                if (err.line > 0)
                        log_error(NULL, "%s line %d: %s", what, err.line, err.msg);
                else
                        log_error(NULL, "%s: %s", what, err.msg);
                return EXIT_BAD_SDP;
        }
        return 0;
}

static int send_description(struct peer *p, const struct sdp *s, const char *what)
{
        struct buf text = BUF_INIT;
        int rc = sdp_write(s, &text);
        if (rc == 0)
                rc = sigio_write(p->opts->signal_out, (const char *)text.data, text.len,
                                 p->opts->compact, p->deadline);
        buf_free(&text);
        if (rc < 0) {
                const char *where = p->opts->signal_out ? p->opts->signal_out : "stdout";
                if (rc == -ETIMEDOUT) {
                        log_error(NULL, "nobody read the %s from %s within %g s (--timeout)", what,
                                  where, p->opts->timeout_s);
                        return EXIT_SIGNAL_TIMEOUT;
                }
                log_error(NULL, "cannot write the %s to %s: %s", what, where, strerror(-rc));
                return EXIT_FAILURE_INTERNAL;
        }
        return 0;
}

static const char *cand_type_name(enum sdp_cand_type t)
{
        switch (t) {
        case SDP_CAND_HOST:
                return "host";
        case SDP_CAND_SRFLX:
                return "srflx";
        case SDP_CAND_PRFLX:
                return "prflx";
        case SDP_CAND_RELAY:
                return "relay";
        }
        return "?";
}

static void stop(struct peer *p, int code)
{
        p->exit_code = code;
        loop_stop(p->loop, code);
}

static void on_duration(struct loop *loop, void *arg)
{
        (void)loop;
        struct peer *p = arg;
        log_info(NULL, "--duration reached: hanging up");
        session_close(p->session, clock_now_us());
        p->exit_code = EXIT_OK;
        p->closing = true;
        flush(p);
}

/* Both sides have finished the handshake: start --duration and say so. */
static void establish(struct peer *p)
{
        if (p->established)
                return;
        uint64_t now = clock_now_us();
        if (p->establish_timer > 0)
                loop_cancel_timer(p->loop, p->establish_timer);
        p->establish_timer = 0;
        p->established = true;
        p->setup.established = now;
        log_info(NULL, "session established in %.1f ms", (double)(now - p->applied_at) / 1000.0);
        if (p->opts->duration_s > 0)
                loop_add_timer(p->loop,
                               now + (uint64_t)(p->opts->duration_s * (double)CLOCK_US_PER_SEC),
                               on_duration, p);
}

static void on_establish_grace(struct loop *loop, void *arg)
{
        (void)loop;
        struct peer *p = arg;
        p->establish_timer = 0;
        establish(p);
        flush(p);
}

static void handle_event(struct peer *p, const struct session_output *o)
{
        uint64_t now = clock_now_us();
        double ms = p->applied_at ? (double)(now - p->applied_at) / 1000.0 : 0;
        char la[ADDR_STRLEN] = "?", ra[ADDR_STRLEN] = "?";
        expect_note_event(&p->setup, now, o, p->pipe != NULL);
        switch (o->event) {
        case SESSION_EV_GATHERING_DONE:
                break;
        case SESSION_EV_ICE_STATE:
                p->ice_state = ice_state_name(o->ice_state);
                /* connected/completed are reported with the selected pair */
                if (o->ice_state == ICE_STATE_CHECKING || o->ice_state == ICE_STATE_DISCONNECTED)
                        log_info("ice", "ICE %s", ice_state_name(o->ice_state));
                else
                        log_debug("ice", "ICE %s", ice_state_name(o->ice_state));
                break;
        case SESSION_EV_SELECTED_PAIR:
                addr_to_string(&o->local.addr, la, sizeof(la));
                addr_to_string(&o->remote.addr, ra, sizeof(ra));
                log_info("ice", "ICE connected in %.1f ms: %s %s <-> %s %s", ms,
                         cand_type_name(o->local.type), la, cand_type_name(o->remote.type), ra);
                break;
        case SESSION_EV_SECURE:
                p->dtls_state = "connected";
                snprintf(p->dtls_cipher, sizeof(p->dtls_cipher), "%s", o->cipher);
                p->srtp_cipher = o->srtp_profile == 1   ? "AES_CM_128_HMAC_SHA1_80"
                                 : o->srtp_profile == 2 ? "AES_CM_128_HMAC_SHA1_32"
                                                        : NULL;
                log_info("dtls", "DTLS connected in %.1f ms (%s, SRTP profile %s)", ms, o->cipher,
                         o->srtp_profile == 1   ? "AES128_CM_HMAC_SHA1_80"
                         : o->srtp_profile == 2 ? "AES128_CM_HMAC_SHA1_32"
                                                : "none");
                /*
                 * The DTLS server is done as soon as it sends its last flight, which may still
                 * be lost: the session counts as established once the peer's SCTP association
                 * answers (proof that the handshake finished on both sides), or after a grace
                 * period for peers that run no SCTP.
                 */
                p->establish_timer =
                    loop_add_timer(p->loop, now + ESTABLISH_GRACE_US, on_establish_grace, p);
                break;
        case SESSION_EV_PEER_CLOSED:
                p->dtls_state = "closed";
                log_info(NULL, "the peer hung up");
                if (p->pipe && !datapipe_done(p->pipe)) {
                        if (datapipe_delivered(p->pipe)) {
                                datapipe_report(p->pipe, false);
                                stop(p, EXIT_OK);
                                break;
                        }
                        /* Hanging up before both directions finished breaks the transfer. */
                        datapipe_report(p->pipe, true);
                        stop(p, EXIT_DATA_INCOMPLETE);
                        break;
                }
                stop(p, EXIT_OK);
                break;
        case SESSION_EV_FAILED:
                if (o->exit_code == EXIT_DTLS_FAILED || o->exit_code == EXIT_FINGERPRINT)
                        p->dtls_state = "failed";
                if (p->pipe) {
                        /* One line: why the session broke and how much of the data made it. */
                        char figures[200];
                        datapipe_figures(p->pipe, figures, sizeof(figures));
                        log_error(NULL, "%s (%s)", o->message, figures);
                } else {
                        log_error(NULL, "%s", o->message);
                }
                stop(p, o->exit_code);
                break;
        case SESSION_EV_DC_READY:
                establish(p);
                /* fall through */
        case SESSION_EV_DC_OPEN:
        case SESSION_EV_DC_MESSAGE:
        case SESSION_EV_DC_CLOSED:
        case SESSION_EV_DC_BUFFERED_LOW:
                if (p->pipe) {
                        if (datapipe_event(p->pipe, o) == 1 && !p->closing) {
                                datapipe_report(p->pipe, false);
                                log_info(NULL, "both directions are finished: hanging up");
                                session_close(p->session, now);
                                p->exit_code = EXIT_OK;
                                p->closing = true;
                        }
                } else if (o->event == SESSION_EV_DC_OPEN) {
                        log_info("data",
                                 "the peer opened data channel \"%s\" (its messages are "
                                 "dropped without --data)",
                                 o->dc_label);
                }
                break;
        case SESSION_EV_RELAY_READY:
                addr_to_string(&o->local.addr, la, sizeof(la));
                log_info("turn", "TURN relay %s allocated on %s", la, p->turn[o->base].uri);
                break;
        case SESSION_EV_RELAY_FAILED:
                turn_failed(p, o->base, o->message);
                break;
        case SESSION_EV_MEDIA_READY:
                if (p->media) {
                        log_info("media", "SRTP keyed: sending media");
                        mediapipe_start(p->media, p->session);
                }
                if (p->recv) {
                        for (int k = 0; k < 2; k++)
                                if (mediarecv_wants(p->recv, (enum session_media)k) &&
                                    !session_receives(p->session, (enum session_media)k))
                                        log_warn("media", "the peer does not send %s",
                                                 k == SESSION_AUDIO ? "audio" : "video");
                        mediarecv_start(p->recv, p->session);
                }
                break;
        case SESSION_EV_MEDIA_FRAME:
                if (p->recv)
                        mediarecv_frame(p->recv, now, o);
                expect_note_decoded(&p->setup, now, p->recv);
                break;
        case SESSION_EV_KEYFRAME_REQUEST:
                if (p->media)
                        mediapipe_keyframe(p->media);
                break;
        case SESSION_EV_BITRATE:
                if (p->media)
                        mediapipe_set_bitrate(p->media, (enum session_media)o->media,
                                              o->bitrate_bps, o->loss_percent);
                log_debug("bwe", "%s: %u kbit/s (loss %u%%)",
                          o->media == SESSION_AUDIO ? "audio" : "video", o->bitrate_bps / 1000,
                          o->loss_percent);
                break;
        case SESSION_EV_REMOTE_MDNS:
                resolve_mdns(p, &o->candidate);
                break;
        }
}

static void turn_failed(struct peer *p, int k, const char *why)
{
        if (k < 0 || k >= p->n_turn || p->turn[k].failed)
                return;
        p->turn[k].failed = true;
        p->n_turn_failed++;
        snprintf(p->turn_error, sizeof(p->turn_error), "%s", why);
        log_warn("turn", "%s", why);
        /* Before the session is up, losing the only relays of a relay-only call ends it. */
        if (p->opts->relay_only && p->n_turn_failed == p->n_turn && p->applied_at &&
            !p->established) {
                log_error(NULL, "every TURN server failed and --ice-policy is relay: %s", why);
                stop(p, EXIT_TURN);
        }
}

static void send_turn(struct peer *p, int k, const struct session_output *o)
{
        if (k < 0 || k >= p->n_turn || p->turn[k].failed)
                return;
        struct turn_conn *t = &p->turn[k];
        if (t->udp_fd >= 0) {
                if (send(t->udp_fd, o->data, o->len, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
                        log_debug("turn", "send to %s failed: %s", t->uri, strerror(errno));
                return;
        }
        net_stream_write(t->stream, o->data, o->len);
        loop_mod_fd(p->loop, net_stream_fd(t->stream), net_stream_events(t->stream));
}

static void on_goodbye(struct loop *loop, void *arg)
{
        struct peer *p = arg;
        for (int i = 0; i < p->n_goodbye; i++) {
                const struct session_output *o = &p->goodbye[i].out;
                if (o->base >= SESSION_TURN_BASE)
                        send_turn(p, o->base - SESSION_TURN_BASE, o);
                else if (o->base >= 0 && (size_t)o->base < p->n_hosts)
                        net_udp_send(p->hosts[o->base].fd, &o->dest, o->data, o->len);
        }
        if (++p->goodbye_sends < GOODBYE_REPEATS && p->n_goodbye)
                loop_add_timer(loop, clock_now_us() + GOODBYE_REPEAT_US, on_goodbye, p);
        else
                stop(p, p->exit_code);
}

static void flush(struct peer *p)
{
        struct session_output o;
        bool pipe_polled = false;
again:
        while (session_poll_output(p->session, &o) == 1) {
                if (o.kind == SESSION_OUT_TRANSMIT && p->closing && !p->lingering &&
                    p->n_goodbye < PEER_MAX_GOODBYE && o.len <= sizeof(p->goodbye[0].data)) {
                        struct goodbye *g = &p->goodbye[p->n_goodbye++];
                        g->out = o;
                        memcpy(g->data, o.data, o.len);
                        g->out.data = g->data;
                }
                if (o.kind == SESSION_OUT_TRANSMIT && o.base >= SESSION_TURN_BASE) {
                        send_turn(p, o.base - SESSION_TURN_BASE, &o);
                } else if (o.kind == SESSION_OUT_TRANSMIT) {
                        if (o.base < 0 || (size_t)o.base >= p->n_hosts)
                                continue;
                        if (p->impair_tx && !p->closing) {
                                impair_push(p->impair_tx, clock_now_us(), o.data, o.len, o.base,
                                            &o.dest);
                                continue;
                        }
                        int rc = net_udp_send(p->hosts[o.base].fd, &o.dest, o.data, o.len);
                        if (rc < 0 && rc != -EAGAIN)
                                log_debug("net", "send from %s failed: %s", p->hosts[o.base].ip,
                                          strerror(-rc));
                } else {
                        handle_event(p, &o);
                }
        }
        if (p->pipe && !p->closing && !pipe_polled) {
                /* What the pipe sends now leaves in this pass, not at the next wake-up. */
                pipe_polled = true;
                datapipe_poll(p->pipe);
                goto again;
        }
        if (p->impair_tx)
                impair_send(p);
        if (p->closing && !p->lingering) {
                /* Repeat the goodbye a little later: one lost close_notify would otherwise
                 * leave the peer waiting 30 s for consent to expire. */
                p->lingering = true;
                loop_add_timer(p->loop, clock_now_us() + GOODBYE_REPEAT_US, on_goodbye, p);
        }
}

static void on_session_timer(struct loop *loop, void *arg);

/* Sends queries and applies answers of the mDNS resolver. */
static void mdns_flush(struct peer *p)
{
        struct mdns_output o;
        while (mdns_poll_output(p->mdns, &o) == 1) {
                char name[ADDR_STRLEN];
                switch (o.kind) {
                case MDNS_OUT_SEND_QUERY:
                        net_udp_send(p->mdns_fd, &o.to, o.data, o.len);
                        break;
                case MDNS_OUT_RESOLVED:
                        if (o.tag < p->n_mdns) {
                                addr_ip_to_string(&o.addr, name, sizeof(name));
                                log_debug("ice", "%s is %s", o.name, name);
                                session_add_resolved_candidate(p->session, &p->mdns_cands[o.tag],
                                                               &o.addr);
                        }
                        break;
                case MDNS_OUT_FAILED:
                        log_info("ice", "remote candidate %s skipped: %s", o.name, o.reason);
                        break;
                }
        }
}

static void on_mdns(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)events;
        struct peer *p = arg;
        uint8_t buf[9000];
        for (int i = 0; i < 16; i++) {
                struct addr from;
                ssize_t n = net_udp_recv(fd, &from, buf, sizeof(buf));
                if (n < 0)
                        break;
                /* Responders answer a one-shot query from port 5353 (RFC 6762 6.7). */
                if (from.port == 5353)
                        mdns_handle_input(p->mdns, clock_now_us(), buf, (size_t)n);
        }
        mdns_flush(p);
        flush(p);
        arm(p);
}

/* Starts an mDNS lookup for a remote candidate's ".local" name. */
static void resolve_mdns(struct peer *p, const struct sdp_candidate *c)
{
        if (p->n_mdns == PEER_MAX_CANDIDATES)
                return;
        if (!p->mdns) {
                p->mdns = mdns_resolver_new(NULL);
                p->mdns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (!p->mdns || p->mdns_fd < 0) {
                        log_info("ice", "remote candidate %s skipped: no mDNS resolver (%s)",
                                 c->address, strerror(errno));
                        return;
                }
                /* RFC 6762 11: link-local scope; TTL 255 lets responders check the source. */
                int ttl = 255;
                setsockopt(p->mdns_fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
                loop_add_fd(p->loop, p->mdns_fd, EPOLLIN, on_mdns, p);
        }
        p->mdns_cands[p->n_mdns] = *c;
        if (mdns_resolve(p->mdns, clock_now_us(), c->address, p->n_mdns) < 0) {
                log_info("ice", "remote candidate %s skipped: not a usable mDNS name", c->address);
                return;
        }
        p->n_mdns++;
        mdns_flush(p);
}

/* Moves what the impairment stages hold past its due time on, and wakes up for the rest. */
static void on_impair(struct loop *loop, void *arg)
{
        (void)loop;
        struct peer *p = arg;
        p->impair_timer = 0;
        impair_run(p);
        arm(p);
}

/* Sends what the send stage releases now (flush calls it: it never re-enters the session). */
static void impair_send(struct peer *p)
{
        uint64_t now = clock_now_us();
        struct impair_packet ip;
        while (impair_pop(p->impair_tx, now, &ip) == 1)
                if (ip.base >= 0 && (size_t)ip.base < p->n_hosts)
                        net_udp_send(p->hosts[ip.base].fd, &ip.addr, ip.data, ip.len);
        impair_arm(p);
}

static void impair_run(struct peer *p)
{
        uint64_t now = clock_now_us();
        struct impair_packet ip;
        while (p->impair_rx && impair_pop(p->impair_rx, now, &ip) == 1) {
                session_handle_datagram(p->session, now, ip.base, &ip.addr, ip.data, ip.len);
                flush(p);
        }
        if (p->impair_tx)
                impair_send(p);
        impair_arm(p);
}

static void impair_arm(struct peer *p)
{
        uint64_t d = CLOCK_NEVER;
        if (p->closing && p->lingering)
                return;
        if (p->impair_rx && impair_next_deadline(p->impair_rx) < d)
                d = impair_next_deadline(p->impair_rx);
        if (p->impair_tx && impair_next_deadline(p->impair_tx) < d)
                d = impair_next_deadline(p->impair_tx);
        /* Moved rather than re-created, like the session timer (see arm()). */
        if (p->impair_timer > 0 && d != CLOCK_NEVER &&
            loop_reschedule_timer(p->loop, p->impair_timer, d) == 0)
                return;
        if (p->impair_timer > 0)
                loop_cancel_timer(p->loop, p->impair_timer);
        p->impair_timer = d != CLOCK_NEVER ? loop_add_timer(p->loop, d, on_impair, p) : 0;
}

static void arm(struct peer *p)
{
        uint64_t d = session_next_deadline(p->session);
        if (p->mdns && mdns_next_deadline(p->mdns) < d)
                d = mdns_next_deadline(p->mdns);
        /* Moved, not re-created: every media frame re-arms it, and a new timer would wait behind
         * an encoder that is always overdue (consent and TURN checks starved under load). */
        if (p->timer > 0 && d != CLOCK_NEVER && loop_reschedule_timer(p->loop, p->timer, d) == 0)
                return;
        if (p->timer > 0)
                loop_cancel_timer(p->loop, p->timer);
        p->timer = 0;
        if (d != CLOCK_NEVER)
                p->timer = loop_add_timer(p->loop, d, on_session_timer, p);
}

static void on_session_timer(struct loop *loop, void *arg)
{
        (void)loop;
        struct peer *p = arg;
        p->timer = 0;
        uint64_t now = clock_now_us();
        session_handle_timeout(p->session, now);
        if (p->mdns && mdns_next_deadline(p->mdns) <= now) {
                mdns_handle_timeout(p->mdns, now);
                mdns_flush(p);
        }
        flush(p);
        arm(p);
}

static void on_udp(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)events;
        struct host_ctx *h = arg;
        struct peer *p = h->peer;
        uint8_t buf[65536];
        for (int i = 0; i < 64; i++) {
                struct addr from;
                ssize_t n = net_udp_recv(fd, &from, buf, sizeof(buf));
                if (n == -EAGAIN)
                        break;
                if (n < 0)
                        continue;
                if (p->impair_rx) {
                        impair_push(p->impair_rx, clock_now_us(), buf, (size_t)n, h->base, &from);
                        continue;
                }
                session_handle_datagram(p->session, clock_now_us(), h->base, &from, buf, (size_t)n);
                flush(p);
        }
        if (p->impair_rx)
                impair_run(p);
        arm(p);
}

static void on_gather_timeout(struct loop *loop, void *arg)
{
        (void)arg;
        loop_stop(loop, 0);
}

static void on_gather_check(struct loop *loop, void *arg)
{
        struct peer *p = arg;
        if (session_gathering_done(p->session))
                loop_stop(loop, 0);
        else
                loop_add_timer(loop, clock_now_us() + 20000, on_gather_check, p);
}

/* Gathers local candidates (host now, srflx from --stun) and puts them into the description. */
static int gather(struct peer *p)
{
        for (size_t i = 0; i < p->n_hosts; i++) {
                p->hctx[i].peer = p;
                p->hctx[i].base = (int)i;
                if (loop_add_fd(p->loop, p->hosts[i].fd, EPOLLIN, on_udp, &p->hctx[i]) < 0)
                        return EXIT_FAILURE_INTERNAL;
        }
        uint64_t now = clock_now_us();
        p->setup.gather_start = now;
        session_gather(p->session, now);
        flush(p);
        if (!session_gathering_done(p->session)) {
                int t = loop_add_timer(p->loop, now + GATHER_TIMEOUT_US, on_gather_timeout, p);
                loop_add_timer(p->loop, now, on_gather_check, p);
                arm(p);
                loop_run(p->loop);
                loop_cancel_timer(p->loop, t);
                if (p->interrupted)
                        return EXIT_INTERRUPTED;
                if (!session_gathering_done(p->session))
                        log_warn("ice", "candidate gathering still incomplete after %d s: going on",
                                 (int)(GATHER_TIMEOUT_US / CLOCK_US_PER_SEC));
        }
        int n = session_local_candidates(p->session, p->cands, PEER_MAX_CANDIDATES);
        if (n < 0)
                return EXIT_FAILURE_INTERNAL;
        p->n_cands = (size_t)n < PEER_MAX_CANDIDATES ? (size_t)n : PEER_MAX_CANDIDATES;
        p->local.candidates = p->cands;
        p->local.n_candidates = p->n_cands;
        if (p->n_cands == 0) {
                if (p->n_turn_failed) {
                        log_error(NULL, "no local candidate to offer: %s", p->turn_error);
                        return EXIT_TURN;
                }
                if (p->n_turn) {
                        log_error(
                            NULL,
                            "no local candidate to offer: no answer from the TURN server%s within "
                            "%d s",
                            p->n_turn > 1 ? "s" : "", (int)(GATHER_TIMEOUT_US / CLOCK_US_PER_SEC));
                        return EXIT_TURN;
                }
                log_error(NULL, "no local candidate to offer%s",
                          p->opts->relay_only ? " (--ice-policy relay needs a TURN server)" : "");
                return EXIT_ICE_FAILED;
        }
        return 0;
}

static void on_signal(struct loop *loop, int signo, void *arg)
{
        (void)loop;
        struct peer *p = arg;
        if (!p->applied_at) {
                /* Still gathering: nothing to hang up yet. */
                log_info(NULL, "%s", signo == SIGINT ? "interrupted" : "terminated");
                p->interrupted = true;
                stop(p, EXIT_INTERRUPTED);
                return;
        }
        log_info(NULL, "%s: hanging up", signo == SIGINT ? "interrupted" : "terminated");
        session_close(p->session, clock_now_us());
        /* Ending an established session on request is success; ending before it is not. */
        p->exit_code = p->established ? EXIT_OK : EXIT_INTERRUPTED;
        p->closing = true;
        flush(p);
}

/*
 * Standard input that carried the peer's description stays open for as long as the peer (or
 * the person pasting) is there: its end, once the session is established, is a hang-up. An end
 * before that is ignored, so that `cat offer | rtcpeer answer` still connects.
 */
static void on_stdin(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)events;
        struct peer *p = arg;
        uint8_t buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
                return; /* without --data, what follows the description is not used */
        loop_del_fd(loop, fd);
        if (!p->established)
                return;
        log_info(NULL, "end of input: hanging up");
        session_close(p->session, clock_now_us());
        p->exit_code = EXIT_OK;
        p->closing = true;
        flush(p);
}

static void write_stats(struct peer *p, bool final)
{
        struct stats_snapshot st = {
            .ice_state = p->ice_state ? p->ice_state : "new",
            /* Our own hang-up sent close_notify: the transport is closed from then on. */
            .dtls_state = p->closing && p->dtls_state && strcmp(p->dtls_state, "connected") == 0
                              ? "closed"
                          : p->dtls_state ? p->dtls_state
                                          : "new",
            .dtls_role = session_dtls_role(p->session),
            .dtls_cipher = p->dtls_cipher[0] ? p->dtls_cipher : NULL,
            .srtp_cipher = p->srtp_cipher,
        };
        struct timeval tv;
        gettimeofday(&tv, NULL);
        st.timestamp_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
        st.have_pair = session_selected_stats(p->session, &st.pair) == 0;
        st.have_bwe = session_bwe_stats(p->session, &st.bwe) == 0;
        st.data_budget_bps = session_dc_budget_bps(p->session);
        if (st.have_pair && st.pair.local.base >= SESSION_RELAY_BASE &&
            st.pair.local.base - SESSION_RELAY_BASE < p->n_turn)
                st.local_relay_protocol =
                    p->relay_protocol[st.pair.local.base - SESSION_RELAY_BASE];
        for (int k = 0; k < 2; k++) {
                struct stats_outbound *m = &st.outbound[st.n_outbound];
                if (session_media_stats(p->session, (enum session_media)k, &m->rtp) < 0)
                        continue;
                m->kind = k == SESSION_AUDIO ? "audio" : "video";
                m->clock_rate = k == SESSION_AUDIO ? 48000 : 90000;
                m->ssrc = session_media_ssrc(p->session, (enum session_media)k);
                m->target_bps = session_media_target(p->session, (enum session_media)k);
                if (k == SESSION_VIDEO && p->media)
                        mediapipe_video_size(p->media, &m->frame_width, &m->frame_height);
                st.n_outbound++;
        }
        for (int k = 0; k < 2; k++) {
                struct stats_inbound *m = &st.inbound[st.n_inbound];
                if (session_recv_stats(p->session, (enum session_media)k, &m->rtp) < 0)
                        continue;
                m->kind = k == SESSION_AUDIO ? "audio" : "video";
                m->clock_rate = k == SESSION_AUDIO ? 48000 : 90000;
                if (p->recv) {
                        m->have_media = true;
                        mediarecv_get_stats(p->recv, &m->media);
                }
                st.n_inbound++;
        }
        /* framesPerSecond: frames sent and decoded since the previous line. */
        uint64_t now_us = clock_now_us();
        double dt = p->fps_prev.at ? (double)(now_us - p->fps_prev.at) / 1e6 : 0;
        uint64_t fo = 0, fi = 0;
        for (int i = 0; i < st.n_outbound; i++) {
                if (strcmp(st.outbound[i].kind, "video") != 0)
                        continue;
                fo = st.outbound[i].rtp.frames_sent;
                if (dt > 0.2)
                        st.outbound[i].fps = (double)(fo - p->fps_prev.frames_out) / dt;
        }
        for (int i = 0; i < st.n_inbound; i++) {
                if (strcmp(st.inbound[i].kind, "video") != 0 || !st.inbound[i].have_media)
                        continue;
                fi = st.inbound[i].media.frames_decoded;
                if (dt > 0.2)
                        st.inbound[i].fps = (double)(fi - p->fps_prev.frames_in) / dt;
        }
        if (dt == 0 || dt > 0.2) {
                p->fps_prev.at = now_us;
                p->fps_prev.frames_out = fo;
                p->fps_prev.frames_in = fi;
        }
        struct session_dc_stats dcs[8];
        int n = session_dc_stats(p->session, dcs, 8);
        for (int i = 0; i < n && i < 8; i++) {
                struct stats_channel *c = &st.channels[st.n_channels++];
                c->id = dcs[i].id;
                snprintf(c->label, sizeof(c->label), "%s", dcs[i].label);
                c->state = dcs[i].open ? "open" : "closed";
                c->messages_sent = dcs[i].messages_sent;
                c->bytes_sent = dcs[i].bytes_sent;
                c->messages_received = dcs[i].messages_received;
                c->bytes_received = dcs[i].bytes_received;
        }
        struct buf b = BUF_INIT;
        if (stats_format(&st, final, &b) == 0 && p->stats_out) {
                fwrite(b.data, 1, b.len, p->stats_out);
                fflush(p->stats_out);
        }
        if (final)
                buf_append(&p->final_stats, b.data, b.len);
        buf_free(&b);
}

/*
 * The live status line on a terminal: where the call goes, how fast, how well. Rates are over
 * the last second.
 */
static void on_status_timer(struct loop *loop, void *arg)
{
        struct peer *p = arg;
        uint64_t now = clock_now_us();
        p->status_timer = loop_add_timer(loop, now + CLOCK_US_PER_SEC, on_status_timer, p);
        struct status_prev *v = &p->status_prev;
        double dt = v->at ? (double)(now - v->at) / 1e6 : 0;
        struct buf b = BUF_INIT;
        buf_printf(&b, "rtcpeer: ICE %s", p->ice_state ? p->ice_state : "new");
        struct ice_pair_stats ps;
        uint64_t sent = 0, recvd = 0;
        if (session_selected_stats(p->session, &ps) == 0) {
                const char *lt = cand_type_name(ps.local.type),
                           *rt = cand_type_name(ps.remote.type);
                buf_printf(&b, " %s<->%s", lt, rt);
                /* ICE's own round trip, else the one sender reports give. */
                struct rtp_sender_stats rs;
                uint64_t rtt = ps.rtt_valid ? ps.rtt_us : 0;
                for (int k = 0; k < 2 && !rtt; k++)
                        if (session_media_stats(p->session, (enum session_media)k, &rs) == 0 &&
                            rs.rtt_valid)
                                rtt = rs.rtt_us;
                if (rtt)
                        buf_printf(&b, ", RTT %.1f ms", (double)rtt / 1000.0);
                sent = ps.bytes_sent;
                recvd = ps.bytes_received;
                if (dt > 0)
                        buf_printf(&b, ", out %.0f kbit/s, in %.0f kbit/s",
                                   (double)(sent - v->bytes_sent) * 8 / 1000 / dt,
                                   (double)(recvd - v->bytes_received) * 8 / 1000 / dt);
        }
        /* What congestion control lets us send. */
        struct gcc_stats bwe;
        if (session_bwe_stats(p->session, &bwe) == 0)
                buf_printf(&b, ", bwe %u kbit/s", bwe.target_bps / 1000);
        /* Loss of what we receive over the last second; frame rates both ways. */
        uint64_t got = 0, frames_in = 0, frames_out = 0;
        int64_t lost = 0;
        bool have_in = false;
        for (int k = 0; k < 2; k++) {
                struct rtp_receiver_stats rs;
                if (session_recv_stats(p->session, (enum session_media)k, &rs) == 0) {
                        have_in = true;
                        got += rs.packets_received;
                        lost += rs.packets_lost;
                        if (k == SESSION_VIDEO)
                                frames_in = rs.frames_received;
                }
        }
        struct rtp_sender_stats ss;
        if (session_media_stats(p->session, SESSION_VIDEO, &ss) == 0)
                frames_out = ss.frames_sent;
        if (have_in && dt > 0) {
                int64_t dl = lost - v->lost;
                uint64_t dg = got - v->got;
                double pct = dg + (uint64_t)(dl > 0 ? dl : 0)
                                 ? 100.0 * (double)(dl > 0 ? dl : 0) /
                                       (double)(dg + (uint64_t)(dl > 0 ? dl : 0))
                                 : 0;
                buf_printf(&b, ", loss %.1f%%", pct);
        }
        if (dt > 0 && (frames_out || frames_in)) {
                buf_printf(&b, ", fps");
                if (frames_out)
                        buf_printf(&b, " out %.0f", (double)(frames_out - v->frames_out) / dt);
                if (frames_in)
                        buf_printf(&b, " in %.0f", (double)(frames_in - v->frames_in) / dt);
        }
        *v = (struct status_prev){.at = now,
                                  .bytes_sent = sent,
                                  .bytes_received = recvd,
                                  .got = got,
                                  .lost = lost,
                                  .frames_in = frames_in,
                                  .frames_out = frames_out};
        /* One line: cut to the terminal's width so that it never wraps. */
        unsigned cols = 0, rows = 0;
        if (termview_size(STDERR_FILENO, &cols, &rows) == 0 && cols > 1 && b.len >= cols)
                b.len = cols - 1;
        if (buf_terminate(&b) == 0)
                log_status((const char *)b.data);
        buf_free(&b);
}

static void on_stats_timer(struct loop *loop, void *arg)
{
        struct peer *p = arg;
        write_stats(p, false);
        p->stats_timer = loop_add_timer(loop, clock_now_us() + CLOCK_US_PER_SEC, on_stats_timer, p);
}

/* The data pipe sent from its own callback: send what the session queued and re-arm. */
static void on_pipe_kick(void *arg)
{
        struct peer *p = arg;
        flush(p);
        arm(p);
}

/* Runs the connection after signaling: ICE, then DTLS, until hang-up or failure. */
static int run_session(struct peer *p, const struct sdp *local, const struct sdp *remote)
{
        char msg[256] = "";
        uint64_t now = clock_now_us();
        p->applied_at = now;
        p->dtls_state = "connecting";
        if (p->stats_out)
                p->stats_timer = loop_add_timer(p->loop, now + CLOCK_US_PER_SEC, on_stats_timer, p);
        /* --data draws its own progress line instead. */
        if (isatty(STDERR_FILENO) && log_get_level() >= LOG_LEVEL_INFO && !p->opts->data &&
            !(p->recv && mediarecv_preview_fd(p->recv) == STDERR_FILENO))
                p->status_timer =
                    loop_add_timer(p->loop, now + CLOCK_US_PER_SEC, on_status_timer, p);
        int rc = session_apply(p->session, now, local, remote, msg, sizeof(msg));
        if (rc < 0) {
                log_error(NULL, "%s", msg);
                return rc == -ENOTSUP ? EXIT_INCOMPATIBLE : EXIT_BAD_SDP;
        }
        bool stdin_signaling = !p->opts->signal_in || strcmp(p->opts->signal_in, "-") == 0;
        if (p->opts->data) {
                struct datapipe_config dc = {
                    .label = p->opts->label ? p->opts->label : "rtcpeer",
                    .options = p->opts->dc_options,
                    .progress = isatty(STDERR_FILENO) && log_get_level() >= LOG_LEVEL_INFO,
                    .kick = on_pipe_kick,
                    .kick_arg = p,
                    .applied_us = p->applied_at,
                };
                if (datapipe_new(&dc, p->loop, p->session, &p->in.leftover, &p->pipe) < 0)
                        return EXIT_FAILURE_INTERNAL;
        } else if (stdin_signaling && p->in.fd == STDIN_FILENO && !p->in.regular) {
                loop_add_fd(p->loop, STDIN_FILENO, EPOLLIN, on_stdin, p);
        }
        p->exit_code = EXIT_OK;
        flush(p);
        arm(p);
        if (!p->closing && p->exit_code == EXIT_OK)
                loop_run(p->loop);
        return p->exit_code;
}

static void report(const struct sdp *s)
{
        struct buf d = BUF_INIT;
        if (sdp_describe(s, &d) == 0 && buf_terminate(&d) == 0)
                log_info("sdp", "negotiated: %s", (const char *)d.data);
        buf_free(&d);
}

static int run_offer(struct peer *p)
{
        struct sdp *offer = NULL, *answer = NULL;
        int rc = gather(p);
        if (rc)
                return rc;
        rc = sdp_create_offer(&p->local, &offer);
        if (rc < 0) {
                log_error(NULL, "cannot create the offer: %s", strerror(-rc));
                return EXIT_FAILURE_INTERNAL;
        }
        rc = send_description(p, offer, "offer");
        if (rc == 0)
                rc = receive(p, "answer", &answer);
        if (rc == 0) {
                struct sdp_error err = {0};
                int crc = sdp_check_answer(offer, answer, &err);
                if (crc < 0) {
                        if (err.line > 0)
                                log_error(NULL, "answer line %d: %s", err.line, err.msg);
                        else
                                log_error(NULL, "answer: %s", err.msg);
                        rc = crc == -ENOTSUP ? EXIT_INCOMPATIBLE : EXIT_BAD_SDP;
                } else {
                        report(answer);
                        rc = run_session(p, offer, answer);
                }
        }
        sdp_free(offer);
        sdp_free(answer);
        return rc;
}

static int run_answer(struct peer *p)
{
        struct sdp *offer = NULL, *answer = NULL;
        int rc = receive(p, "offer", &offer);
        if (rc == 0)
                rc = gather(p);
        if (rc == 0) {
                struct sdp_error err = {0};
                int arc = sdp_create_answer(offer, &p->local, &answer, &err);
                if (arc == -ENOMEM) {
                        log_error(NULL, "out of memory while answering");
                        rc = EXIT_FAILURE_INTERNAL;
                } else if (arc < 0) {
                        if (err.line > 0)
                                log_error(NULL, "offer line %d: %s", err.line, err.msg);
                        else
                                log_error(NULL, "offer: %s", err.msg);
                        rc = arc == -ENOTSUP ? EXIT_INCOMPATIBLE : EXIT_BAD_SDP;
                }
        }
        if (rc == 0)
                rc = send_description(p, answer, "answer");
        if (rc == 0) {
                report(answer);
                rc = run_session(p, answer, offer);
        }
        sdp_free(offer);
        sdp_free(answer);
        return rc;
}

/* --listen: a WHIP POST with an offer. Answers it at once: our candidates are gathered. */
static int whip_on_offer(void *arg, const char *text, size_t len, struct buf *out, char *why,
                         size_t whylen)
{
        struct peer *p = arg;
        if (p->whip_offer) {
                snprintf(why, whylen, "a session is already in progress");
                return 409;
        }
        struct sdp *offer = NULL, *answer = NULL;
        struct sdp_error err = {0};
        int rc = sdp_parse(text, len, &offer, &err);
        if (rc == -ENOMEM) {
                snprintf(why, whylen, "out of memory");
                return 503;
        }
        if (rc < 0) {
                if (err.line > 0)
                        snprintf(why, whylen, "offer line %d: %s", err.line, err.msg);
                else
                        snprintf(why, whylen, "offer: %s", err.msg);
                log_warn("signal", "refused a WHIP offer: %s", why);
                return 400;
        }
        rc = sdp_create_answer(offer, &p->local, &answer, &err);
        if (rc < 0) {
                sdp_free(offer);
                if (rc == -ENOMEM) {
                        snprintf(why, whylen, "out of memory");
                        return 503;
                }
                if (err.line > 0)
                        snprintf(why, whylen, "offer line %d: %s", err.line, err.msg);
                else
                        snprintf(why, whylen, "offer: %s", err.msg);
                log_warn("signal", "refused a WHIP offer: %s", why);
                /* Well-formed but nothing we can accept: 422, as for any unusable content. */
                return rc == -ENOTSUP ? 422 : 400;
        }
        if (sdp_write(answer, out) < 0) {
                sdp_free(offer);
                sdp_free(answer);
                snprintf(why, whylen, "out of memory");
                return 503;
        }
        p->whip_offer = offer;
        p->whip_answer = answer;
        /* run_listen goes on with the session; the reply is sent by the loop meanwhile. */
        loop_stop(p->loop, 0);
        return 201;
}

/* --listen: trickled candidates (RFC 8840 fragment) for the running session. */
static int whip_on_patch(void *arg, const char *frag, size_t len, char *why, size_t whylen)
{
        struct peer *p = arg;
        if (!p->whip_offer || !p->applied_at) {
                snprintf(why, whylen, "no session to add candidates to");
                return 409;
        }
        const char *ufrag = sdp_media_ice_ufrag(p->whip_offer, &p->whip_offer->media[0]);
        int added = 0, bad = 0;
        const char *end = frag + len;
        for (const char *line = frag; line < end;) {
                const char *nl = memchr(line, '\n', (size_t)(end - line));
                size_t n = (size_t)((nl ? nl : end) - line);
                const char *next = nl ? nl + 1 : end;
                if (n > 0 && line[n - 1] == '\r')
                        n--;
                char buf[1024];
                if (n >= sizeof(buf)) {
                        snprintf(why, whylen, "a line of %zu bytes is too long", n);
                        return 400;
                }
                memcpy(buf, line, n);
                buf[n] = 0;
                line = next;
                if (strncmp(buf, "a=ice-ufrag:", 12) == 0) {
                        /* New credentials mean an ICE restart, which we do not do. */
                        if (ufrag && strcmp(buf + 12, ufrag) != 0) {
                                snprintf(why, whylen,
                                         "ICE restart (new ice-ufrag %.40s) is not supported",
                                         buf + 12);
                                return 422;
                        }
                } else if (strncmp(buf, "a=candidate:", 12) == 0) {
                        struct sdp_candidate c;
                        if (sdp_candidate_parse(buf + 12, &c) < 0) {
                                bad++;
                                continue;
                        }
                        if (c.component == 1 && session_add_remote_candidate(p->session, &c) == 0)
                                added++;
                }
        }
        if (bad) {
                snprintf(why, whylen, "%d malformed candidate line%s", bad, bad > 1 ? "s" : "");
                return 400;
        }
        log_info("signal", "trickled: %d candidate%s", added, added == 1 ? "" : "s");
        flush(p);
        arm(p);
        return 204;
}

/* --listen: DELETE on our resource is the WHIP client's hang-up. */
static void whip_on_delete(void *arg)
{
        struct peer *p = arg;
        p->whip_deleted = true;
        if (!p->applied_at || p->closing)
                return;
        log_info(NULL, "the WHIP client hung up (DELETE)");
        session_close(p->session, clock_now_us());
        p->exit_code = EXIT_OK;
        p->closing = true;
        flush(p);
}

static void on_listen_timeout(struct loop *loop, void *arg)
{
        (void)loop;
        struct peer *p = arg;
        stop(p, EXIT_SIGNAL_TIMEOUT);
}

static int run_listen(struct peer *p)
{
        const struct cli_opts *o = p->opts;
        int rc = gather(p);
        if (rc)
                return rc;
        struct whip_server_config cfg = {
            .listen = o->listen,
            .token = o->token,
            .tls_cert = o->tls_cert,
            .tls_key = o->tls_key,
            .page = whip_page,
            .page_len = (size_t)whip_page_len,
            .on_offer = whip_on_offer,
            .on_patch = whip_on_patch,
            .on_delete = whip_on_delete,
            .arg = p,
        };
        char err[300] = "";
        rc = whip_server_new(&cfg, p->loop, &p->whip_srv, err, sizeof(err));
        if (rc < 0) {
                log_error(NULL, "%s", err[0] ? err : strerror(-rc));
                return rc == -ENOMEM                                     ? EXIT_FAILURE_INTERNAL
                       : rc == -EINVAL || rc == -ENOENT || rc == -EACCES ? EXIT_USAGE
                                                                         : EXIT_SIGNALING;
        }
        if (whip_server_public(p->whip_srv) && !o->token)
                log_warn(NULL,
                         "--listen %s is reachable from other hosts and no --token is set: "
                         "anyone who can reach it can call us",
                         o->listen);
        log_info(NULL, "listening for a WHIP offer at %s", whip_server_url(p->whip_srv));
        int t = loop_add_timer(p->loop, p->deadline, on_listen_timeout, p);
        p->exit_code = EXIT_OK;
        arm(p);
        rc = loop_run(p->loop);
        loop_cancel_timer(p->loop, t);
        if (p->interrupted)
                return EXIT_INTERRUPTED;
        if (!p->whip_answer) {
                if (p->exit_code == EXIT_SIGNAL_TIMEOUT || rc == EXIT_SIGNAL_TIMEOUT) {
                        log_error(NULL, "no WHIP offer within %g s (--timeout)", o->timeout_s);
                        return EXIT_SIGNAL_TIMEOUT;
                }
                return p->exit_code ? p->exit_code : EXIT_FAILURE_INTERNAL;
        }
        report(p->whip_answer);
        return run_session(p, p->whip_answer, p->whip_offer);
}

static int client_failure(struct peer *p, int rc, const char *err)
{
        if (rc == -EINTR && p->interrupted)
                return EXIT_INTERRUPTED;
        if (rc == -EINTR)
                return p->exit_code ? p->exit_code : EXIT_FAILURE_INTERNAL;
        log_error(NULL, "%s", err[0] ? err : strerror(-rc));
        if (rc == -ETIMEDOUT)
                return EXIT_SIGNAL_TIMEOUT;
        if (rc == -ENOMEM)
                return EXIT_FAILURE_INTERNAL;
        return EXIT_SIGNALING;
}

/* --connect: POST our offer to a WHIP (offer) or WHEP (answer) endpoint; DELETE at the end. */
static int run_connect(struct peer *p)
{
        const struct cli_opts *o = p->opts;
        struct whip_client_config cfg = {
            .url = o->connect,
            .token = o->token,
            .ca_file = o->connect_ca,
        };
        char err[600] = "";
        int rc = whip_client_new(&cfg, p->loop, &p->whip_cli, err, sizeof(err));
        if (rc < 0) {
                log_error(NULL, "--connect %s: %s", o->connect, err[0] ? err : strerror(-rc));
                return rc == -ENOMEM ? EXIT_FAILURE_INTERNAL : EXIT_USAGE;
        }
        rc = gather(p);
        if (rc)
                return rc;
        struct sdp *offer = NULL, *answer = NULL;
        struct buf text = BUF_INIT, reply = BUF_INIT;
        rc = sdp_create_offer(&p->local, &offer);
        if (rc == 0)
                rc = sdp_write(offer, &text);
        if (rc < 0) {
                log_error(NULL, "cannot create the offer: %s", strerror(-rc));
                sdp_free(offer);
                buf_free(&text);
                return EXIT_FAILURE_INTERNAL;
        }
        log_info("signal", "sending our offer to %s", o->connect);
        p->exit_code = EXIT_OK;
        rc = whip_client_post(p->whip_cli, (const char *)text.data, text.len, p->deadline, &reply,
                              err, sizeof(err));
        buf_free(&text);
        if (rc < 0) {
                rc = client_failure(p, rc, err);
                goto out;
        }
        struct sdp_error serr = {0};
        rc = sdp_parse((const char *)reply.data, reply.len, &answer, &serr);
        if (rc == 0)
                rc = sdp_check_answer(offer, answer, &serr);
        if (rc < 0) {
                if (serr.line > 0)
                        log_error(NULL, "answer from %s line %d: %s", o->connect, serr.line,
                                  serr.msg);
                else
                        log_error(NULL, "answer from %s: %s", o->connect, serr.msg);
                rc = rc == -ENOMEM    ? EXIT_FAILURE_INTERNAL
                     : rc == -ENOTSUP ? EXIT_INCOMPATIBLE
                                      : EXIT_BAD_SDP;
        } else {
                report(answer);
                rc = run_session(p, offer, answer);
        }
        /* Ends the session at the server as well; it may have gone already (it hung up). */
        if (whip_client_resource(p->whip_cli)) {
                err[0] = 0;
                int drc = whip_client_delete(p->whip_cli, clock_now_us() + 2 * CLOCK_US_PER_SEC,
                                             err, sizeof(err));
                if (drc < 0)
                        log_info("signal", "DELETE %s: %s", whip_client_resource(p->whip_cli),
                                 err[0] ? err : strerror(-drc));
        }
out:
        buf_free(&reply);
        sdp_free(offer);
        sdp_free(answer);
        return rc;
}

int cli_run_peer(const struct cli_opts *opts)
{
        struct peer *p = calloc(1, sizeof(*p));
        if (!p) {
                log_error(NULL, "out of memory");
                return EXIT_FAILURE_INTERNAL;
        }
        p->opts = opts;
        p->in.fd = -1;
        p->mdns_fd = -1;
        p->deadline = clock_now_us() + (uint64_t)(opts->timeout_s * (double)CLOCK_US_PER_SEC);
        int rc = prepare_local(p);
        if (rc == 0)
                rc = opts->listen              ? run_listen(p)
                     : opts->connect           ? run_connect(p)
                     : opts->role == CLI_OFFER ? run_offer(p)
                                               : run_answer(p);
        sigio_in_close(&p->in);
        p->setup.ended = clock_now_us();
        if ((opts->n_expect || opts->summary) && !p->stats_out && p->session && p->applied_at)
                write_stats(p, true);
        if (p->stats_out) {
                if (p->session && p->applied_at)
                        write_stats(p, true);
                if (p->stats_out != stdout)
                        fclose(p->stats_out);
        }
        if (p->recv) {
                char err[300] = "";
                if (mediarecv_finish(p->recv, err, sizeof(err)) < 0) {
                        log_error(NULL, "%s", err);
                        if (rc == EXIT_OK)
                                rc = EXIT_DEVICE;
                }
        }
        if (opts->n_expect || opts->summary) {
                p->setup.applied = p->applied_at;
                rc = expect_finish(opts, rc, &p->setup, &p->final_stats);
        }
        buf_free(&p->final_stats);
        whip_server_free(p->whip_srv);
        whip_client_free(p->whip_cli);
        sdp_free(p->whip_offer);
        sdp_free(p->whip_answer);
        datapipe_free(p->pipe);
        mediapipe_free(p->media);
        mediarecv_free(p->recv);
        impair_free(p->impair_tx);
        impair_free(p->impair_rx);
        session_free(p->session);
        mdns_resolver_free(p->mdns);
        if (p->mdns_fd >= 0)
                close(p->mdns_fd);
        for (int i = 0; i < p->n_turn; i++) {
                if (p->turn[i].udp_fd >= 0)
                        close(p->turn[i].udp_fd);
                if (p->turn[i].stream)
                        net_stream_drain(p->turn[i].stream, 500);
                net_stream_free(p->turn[i].stream);
        }
        if (p->status_timer)
                log_status(NULL);
        loop_free(p->loop);
        net_close_host(p->hosts, p->n_hosts);
        cert_free(p->cert);
        free(p);
        return rc;
}

int cli_make_identity(const char *path)
{
        struct cert *c;
        char fp[CERT_FINGERPRINT_MAX];
        int rc = cert_generate_days(3650, &c);
        if (rc < 0) {
                log_error(NULL, "cannot create a key: %s", strerror(-rc));
                return EXIT_FAILURE_INTERNAL;
        }
        rc = cert_save_pem(c, path);
        if (rc == 0)
                rc = cert_fingerprint(c, "sha-256", fp, sizeof(fp));
        cert_free(c);
        if (rc == -EEXIST) {
                log_error(NULL, "%s exists: not overwriting an identity", path);
                return EXIT_USAGE;
        }
        if (rc < 0) {
                log_error(NULL, "cannot write %s: %s", path, strerror(-rc));
                return EXIT_FAILURE_INTERNAL;
        }
        printf("sha-256 %s\n", fp);
        return EXIT_OK;
}

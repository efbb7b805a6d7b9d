/*
 * The WHIP client against a scripted HTTP server that lives on the same loop: every request the
 * client makes is answered (or not) from inside loop_run, the way the client's own callbacks run.
 * The HTTPS cases use a forked child with GnuTLS, since a TLS handshake is easier blocking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "signal/whip_client.h"

/* Generous: the machine running the suite may be busy with sanitizer builds. */
#define DEADLINE_US (20 * CLOCK_US_PER_SEC)
#define MAX_SCRIPT  8
#define MAX_REQS    8
#define MAX_CONNS   8

enum resp_mode {
        RESP_NOW = 0,
        RESP_HANG,    /* read the request, never answer */
        RESP_DELAYED, /* answered when the test calls srv_release() */
};

struct srv_req {
        char method[16];
        char path[256];
        struct buf headers; /* the raw header block, NUL-terminated */
        struct buf body;
};

struct conn {
        bool used;
        int fd;
        struct buf in;
        struct buf out;
        bool requested;
};

struct srv {
        struct loop *loop;
        int lfd;
        unsigned port;
        struct buf script[MAX_SCRIPT];
        enum resp_mode mode[MAX_SCRIPT];
        int nscript, next;
        bool repeat_last; /* answer every further request like the last entry */
        struct srv_req reqs[MAX_REQS];
        int nreqs;
        struct conn conns[MAX_CONNS];
        struct conn *held; /* RESP_DELAYED: waiting for srv_release */
        struct buf held_resp;
};

static struct srv S;

static void conn_close(struct conn *c)
{
        loop_del_fd(S.loop, c->fd);
        close(c->fd);
        buf_free(&c->in);
        buf_free(&c->out);
        if (S.held == c)
                S.held = NULL;
        memset(c, 0, sizeof(*c));
}

static void conn_flush(struct conn *c)
{
        while (c->out.len) {
                ssize_t n = write(c->fd, c->out.data, c->out.len);
                if (n < 0) {
                        if (errno == EAGAIN) {
                                loop_mod_fd(S.loop, c->fd, EPOLLIN | EPOLLOUT);
                                return;
                        }
                        conn_close(c);
                        return;
                }
                buf_consume(&c->out, (size_t)n);
        }
        /* Every response says Connection: close, and the request was read in full (no RST). */
        conn_close(c);
}

static const char *find_header(const struct buf *headers, const char *name)
{
        static char value[1024];
        const char *p = (const char *)headers->data;
        size_t nlen = strlen(name);
        while (p && *p) {
                if (!strncasecmp(p, name, nlen) && p[nlen] == ':') {
                        p += nlen + 1;
                        while (*p == ' ')
                                p++;
                        size_t n = strcspn(p, "\r\n");
                        if (n >= sizeof(value))
                                n = sizeof(value) - 1;
                        memcpy(value, p, n);
                        value[n] = '\0';
                        return value;
                }
                p = strstr(p, "\r\n");
                if (p)
                        p += 2;
        }
        return NULL;
}

/* A complete request in c->in: recorded, and answered by the script. */
static void conn_request(struct conn *c, size_t hdr_end, size_t body_len)
{
        assert_true(S.nreqs < MAX_REQS);
        struct srv_req *r = &S.reqs[S.nreqs++];
        const char *in = (const char *)c->in.data;
        assert_int_equal(sscanf(in, "%15s %255s", r->method, r->path), 2);
        buf_init(&r->headers);
        buf_init(&r->body);
        buf_append(&r->headers, in, hdr_end);
        buf_terminate(&r->headers);
        buf_append(&r->body, in + hdr_end, body_len);
        buf_terminate(&r->body);
        c->requested = true;

        int i = S.next < S.nscript ? S.next++ : (S.repeat_last ? S.nscript - 1 : -1);
        assert_true(i >= 0);
        if (S.mode[i] == RESP_HANG)
                return;
        if (S.mode[i] == RESP_DELAYED) {
                S.held = c;
                buf_reset(&S.held_resp);
                buf_append(&S.held_resp, S.script[i].data, S.script[i].len);
                return;
        }
        buf_append(&c->out, S.script[i].data, S.script[i].len);
        conn_flush(c);
}

static void on_conn(struct loop *l, int fd, uint32_t events, void *arg)
{
        (void)l;
        (void)fd;
        struct conn *c = arg;
        if (events & EPOLLOUT) {
                conn_flush(c);
                return;
        }
        char tmp[4096];
        ssize_t n = read(c->fd, tmp, sizeof(tmp));
        if (n <= 0) {
                conn_close(c); /* the client gave up (timeout, abort) */
                return;
        }
        if (c->requested)
                return;
        buf_append(&c->in, tmp, (size_t)n);
        buf_terminate(&c->in);
        const char *end = strstr((const char *)c->in.data, "\r\n\r\n");
        if (!end)
                return;
        size_t hdr_end = (size_t)(end - (const char *)c->in.data) + 4;
        struct buf h = BUF_INIT;
        buf_append(&h, c->in.data, hdr_end);
        buf_terminate(&h);
        const char *cl = find_header(&h, "Content-Length");
        buf_free(&h);
        size_t body_len = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
        if (c->in.len >= hdr_end + body_len)
                conn_request(c, hdr_end, body_len);
}

static void on_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
        (void)events;
        (void)arg;
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return;
        for (int i = 0; i < MAX_CONNS; i++) {
                if (!S.conns[i].used) {
                        struct conn *c = &S.conns[i];
                        c->used = true;
                        c->fd = cfd;
                        buf_init(&c->in);
                        buf_init(&c->out);
                        assert_int_equal(loop_add_fd(l, cfd, EPOLLIN, on_conn, c), 0);
                        return;
                }
        }
        close(cfd);
}

static int listen_local(unsigned *port, bool do_listen)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        socklen_t alen = sizeof(a);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
        if (do_listen)
                assert_int_equal(listen(fd, 16), 0);
        *port = ntohs(a.sin_port);
        return fd;
}

static int setup(void **state)
{
        (void)state;
        memset(&S, 0, sizeof(S));
        S.loop = loop_new();
        assert_non_null(S.loop);
        S.lfd = listen_local(&S.port, true);
        assert_int_equal(loop_add_fd(S.loop, S.lfd, EPOLLIN, on_accept, NULL), 0);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        for (int i = 0; i < MAX_CONNS; i++)
                if (S.conns[i].used)
                        conn_close(&S.conns[i]);
        loop_del_fd(S.loop, S.lfd);
        close(S.lfd);
        for (int i = 0; i < MAX_SCRIPT; i++)
                buf_free(&S.script[i]);
        for (int i = 0; i < MAX_REQS; i++) {
                buf_free(&S.reqs[i].headers);
                buf_free(&S.reqs[i].body);
        }
        buf_free(&S.held_resp);
        loop_free(S.loop);
        return 0;
}

/* Queues a response: status line, extra header lines (each ending in \r\n) and a body. */
static void script_add(enum resp_mode mode, const char *status, const char *headers,
                       const char *body)
{
        assert_true(S.nscript < MAX_SCRIPT);
        struct buf *b = &S.script[S.nscript];
        S.mode[S.nscript++] = mode;
        buf_printf(b, "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   status ? status : "200 OK", headers ? headers : "", body ? strlen(body) : 0,
                   body ? body : "");
}

static void srv_release(void)
{
        assert_non_null(S.held);
        struct conn *c = S.held;
        S.held = NULL;
        buf_append(&c->out, S.held_resp.data, S.held_resp.len);
        conn_flush(c);
}

static char *url_for(const char *path)
{
        static char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", S.port, path);
        return url;
}

static struct whip_client *client_for(const char *path, const char *token)
{
        struct whip_client_config cfg = {.url = url_for(path), .token = token};
        struct whip_client *c = NULL;
        char err[256];
        assert_int_equal(whip_client_new(&cfg, S.loop, &c, err, sizeof(err)), 0);
        assert_non_null(c);
        return c;
}

static const char OFFER[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
static const char ANSWER[] = "v=0\r\no=- 2 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";

static int post(struct whip_client *c, struct buf *answer, char *err, size_t errlen)
{
        return whip_client_post(c, OFFER, strlen(OFFER), clock_now_us() + DEADLINE_US, answer, err,
                                errlen);
}

static void test_created_relative_location_then_delete(void **state)
{
        (void)state;
        script_add(RESP_NOW, "201 Created",
                   "Content-Type: application/sdp\r\nLocation: sessions/1\r\nETag: \"e1\"\r\n",
                   ANSWER);
        script_add(RESP_NOW, "200 OK", NULL, NULL);
        struct whip_client *c = client_for("/whip/endpoint", "s3cret");
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), 0);
        assert_int_equal(answer.len, strlen(ANSWER));
        assert_memory_equal(answer.data, ANSWER, answer.len);
        /* Resolved against the endpoint's URL, as RFC 3986 relative references are. */
        char want[512];
        snprintf(want, sizeof(want), "http://127.0.0.1:%u/whip/sessions/1", S.port);
        assert_string_equal(whip_client_resource(c), want);
        assert_string_equal(whip_client_etag(c), "\"e1\"");

        struct srv_req *r = &S.reqs[0];
        assert_string_equal(r->method, "POST");
        assert_string_equal(r->path, "/whip/endpoint");
        assert_string_equal(find_header(&r->headers, "Content-Type"), "application/sdp");
        assert_string_equal(find_header(&r->headers, "Authorization"), "Bearer s3cret");
        assert_string_equal(find_header(&r->headers, "User-Agent"), "rtcpeer/" RTCPEER_VERSION);
        assert_string_equal((const char *)r->body.data, OFFER);

        assert_int_equal(whip_client_delete(c, clock_now_us() + DEADLINE_US, err, sizeof(err)), 0);
        assert_int_equal(S.nreqs, 2);
        r = &S.reqs[1];
        assert_string_equal(r->method, "DELETE");
        assert_string_equal(r->path, "/whip/sessions/1");
        assert_string_equal(find_header(&r->headers, "Authorization"), "Bearer s3cret");
        assert_int_equal(r->body.len, 0);
        assert_null(whip_client_resource(c));
        /* Nothing left to end: no request. */
        assert_int_equal(whip_client_delete(c, clock_now_us() + DEADLINE_US, err, sizeof(err)), 0);
        assert_int_equal(S.nreqs, 2);
        buf_free(&answer);
        whip_client_free(c);
}

static void test_absolute_location_and_patch(void **state)
{
        (void)state;
        char hdrs[256];
        snprintf(hdrs, sizeof(hdrs),
                 "Content-Type: application/sdp\r\nLocation: http://127.0.0.1:%u/res/xyz\r\n"
                 "ETag: W/\"abc\"\r\n",
                 S.port);
        script_add(RESP_NOW, "201 Created", hdrs, ANSWER);
        script_add(RESP_NOW, "204 No Content", NULL, NULL);
        script_add(RESP_NOW, "405 Method Not Allowed", NULL, NULL);
        struct whip_client *c = client_for("/whip", NULL);
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), 0);
        char want[512];
        snprintf(want, sizeof(want), "http://127.0.0.1:%u/res/xyz", S.port);
        assert_string_equal(whip_client_resource(c), want);
        assert_null(find_header(&S.reqs[0].headers, "Authorization"));

        static const char frag[] = "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef01234567\r\n"
                                   "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
                                   "a=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host\r\n";
        assert_int_equal(whip_client_patch(c, frag, strlen(frag), clock_now_us() + DEADLINE_US, err,
                                           sizeof(err)),
                         0);
        struct srv_req *r = &S.reqs[1];
        assert_string_equal(r->method, "PATCH");
        assert_string_equal(r->path, "/res/xyz");
        assert_string_equal(find_header(&r->headers, "Content-Type"),
                            "application/trickle-ice-sdpfrag");
        assert_string_equal(find_header(&r->headers, "If-Match"), "W/\"abc\"");
        assert_string_equal((const char *)r->body.data, frag);

        /* A server without trickle support says so with 405. */
        assert_int_equal(whip_client_patch(c, frag, strlen(frag), clock_now_us() + DEADLINE_US, err,
                                           sizeof(err)),
                         -EOPNOTSUPP);
        assert_non_null(strstr(err, "405 Method Not Allowed"));
        buf_free(&answer);
        whip_client_free(c);
}

static void test_unauthorized(void **state)
{
        (void)state;
        script_add(RESP_NOW, "401 Unauthorized", "WWW-Authenticate: Bearer\r\n", "go away\n");
        struct whip_client *c = client_for("/whip", "wrong-token");
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), -EACCES);
        char want[512];
        snprintf(want, sizeof(want), "%s refused the token (401 Unauthorized)", url_for("/whip"));
        assert_string_equal(err, want);
        assert_null(strstr(err, "wrong-token"));
        assert_int_equal(answer.len, 0);
        assert_null(whip_client_resource(c));
        buf_free(&answer);
        whip_client_free(c);
}

static void test_bad_request_quotes_body(void **state)
{
        (void)state;
        script_add(RESP_NOW, "400 Bad Request", "Content-Type: text/plain\r\n",
                   "\nbad SDP line 3\nsecond line\n");
        script_add(RESP_NOW, "415 Unsupported Media Type", NULL, NULL);
        struct whip_client *c = client_for("/whip", NULL);
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), -EPROTO);
        assert_non_null(strstr(err, url_for("/whip")));
        assert_non_null(strstr(err, "400 Bad Request"));
        assert_non_null(strstr(err, "bad SDP line 3"));
        assert_null(strstr(err, "second"));
        assert_null(strchr(err, '\n'));

        assert_int_equal(post(c, &answer, err, sizeof(err)), -EPROTO);
        assert_non_null(strstr(err, "415 Unsupported Media Type"));
        assert_int_equal(answer.len, 0);
        buf_free(&answer);
        whip_client_free(c);
}

static void test_created_but_unusable(void **state)
{
        (void)state;
        script_add(RESP_NOW, "201 Created", "Content-Type: application/sdp\r\nLocation: /r/1\r\n",
                   NULL);
        script_add(RESP_NOW, "201 Created", "Content-Type: text/plain\r\nLocation: /r/1\r\n",
                   ANSWER);
        /* No Location: a success with a warning, and DELETE becomes a no-op. */
        script_add(RESP_NOW, "201 Created", "Content-Type: application/sdp; charset=utf-8\r\n",
                   ANSWER);
        script_add(RESP_NOW, "200 OK", "Content-Type: application/sdp\r\n", ANSWER);
        struct whip_client *c = client_for("/whip", NULL);
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "without an SDP answer"));
        assert_int_equal(post(c, &answer, err, sizeof(err)), -EBADMSG);
        assert_non_null(strstr(err, "text/plain"));
        assert_int_equal(answer.len, 0);
        assert_null(whip_client_resource(c));

        assert_int_equal(post(c, &answer, err, sizeof(err)), 0);
        assert_memory_equal(answer.data, ANSWER, strlen(ANSWER));
        assert_null(whip_client_resource(c));
        assert_int_equal(whip_client_delete(c, clock_now_us() + DEADLINE_US, err, sizeof(err)), 0);
        assert_int_equal(S.nreqs, 3);
        assert_int_equal(
            whip_client_patch(c, "x", 1, clock_now_us() + DEADLINE_US, err, sizeof(err)), -ENOENT);

        buf_reset(&answer);
        assert_int_equal(post(c, &answer, err, sizeof(err)), -EPROTO);
        assert_non_null(strstr(err, "200 OK instead of 201 Created"));
        buf_free(&answer);
        whip_client_free(c);
}

static void test_no_answer_times_out(void **state)
{
        (void)state;
        script_add(RESP_HANG, NULL, NULL, NULL);
        struct whip_client *c = client_for("/whip", NULL);
        struct buf answer = BUF_INIT;
        char err[256] = "";
        uint64_t start = clock_now_us();
        uint64_t deadline = start + 2 * CLOCK_US_PER_SEC;
        assert_int_equal(
            whip_client_post(c, OFFER, strlen(OFFER), deadline, &answer, err, sizeof(err)),
            -ETIMEDOUT);
        uint64_t end = clock_now_us();
        /* Not before the deadline; the upper bound only catches a hang. */
        assert_true(end + 1000 >= deadline);
        assert_true(end < deadline + 30 * CLOCK_US_PER_SEC);
        char want[512];
        snprintf(want, sizeof(want), "no answer from %s within 2 s", url_for("/whip"));
        assert_string_equal(err, want);
        assert_int_equal(S.nreqs, 1);

        /* A deadline already past fails at once. */
        assert_int_equal(
            whip_client_post(c, OFFER, strlen(OFFER), start, &answer, err, sizeof(err)),
            -ETIMEDOUT);
        buf_free(&answer);
        whip_client_free(c);
}

static void test_connection_refused(void **state)
{
        (void)state;
        /* Bound but not listening: the port stays ours and refuses connections. */
        unsigned port;
        int fd = listen_local(&port, false);
        char url[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/whip", port);
        struct whip_client_config cfg = {.url = url};
        struct whip_client *c = NULL;
        char err[256] = "";
        assert_int_equal(whip_client_new(&cfg, S.loop, &c, err, sizeof(err)), 0);
        struct buf answer = BUF_INIT;
        assert_int_equal(post(c, &answer, err, sizeof(err)), -ECONNREFUSED);
        char want[512];
        snprintf(want, sizeof(want), "cannot connect to %s: Connection refused", url);
        assert_string_equal(err, want);
        buf_free(&answer);
        whip_client_free(c);
        close(fd);
}

static void test_redirect_followed(void **state)
{
        (void)state;
        script_add(RESP_NOW, "307 Temporary Redirect", "Location: /b/whip2\r\n", NULL);
        script_add(RESP_NOW, "201 Created",
                   "Content-Type: application/sdp\r\nLocation: res/1\r\nETag: \"x\"\r\n", ANSWER);
        struct whip_client *c = client_for("/a/whip", "tok");
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), 0);
        assert_int_equal(S.nreqs, 2);
        assert_string_equal(S.reqs[1].method, "POST");
        assert_string_equal(S.reqs[1].path, "/b/whip2");
        assert_string_equal((const char *)S.reqs[1].body.data, OFFER);
        /* Same origin: the token goes along. */
        assert_string_equal(find_header(&S.reqs[1].headers, "Authorization"), "Bearer tok");
        /* The base of a relative Location is the URL that answered 201. */
        char want[512];
        snprintf(want, sizeof(want), "http://127.0.0.1:%u/b/res/1", S.port);
        assert_string_equal(whip_client_resource(c), want);
        buf_free(&answer);
        whip_client_free(c);
}

static void test_redirect_loop_refused(void **state)
{
        (void)state;
        script_add(RESP_NOW, "307 Temporary Redirect", "Location: /whip\r\n", NULL);
        S.repeat_last = true;
        struct whip_client *c = client_for("/whip", NULL);
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), -EPROTO);
        assert_non_null(strstr(err, "redirected more than 5 times"));
        assert_int_equal(S.nreqs, WHIP_CLIENT_MAX_REDIRECTS + 1);
        buf_free(&answer);
        whip_client_free(c);
}

static void test_body_too_big(void **state)
{
        (void)state;
        size_t n = WHIP_CLIENT_MAX_BODY + 1000;
        char *big = malloc(n + 1);
        assert_non_null(big);
        memset(big, 'a', n);
        big[n] = '\0';
        script_add(RESP_NOW, "201 Created", "Content-Type: application/sdp\r\n", big);
        /* Without a length the limit is found while reading. */
        assert_true(S.nscript < MAX_SCRIPT);
        buf_printf(&S.script[S.nscript],
                   "HTTP/1.0 201 Created\r\nContent-Type: application/sdp\r\n"
                   "Connection: close\r\n\r\n%s",
                   big);
        S.mode[S.nscript++] = RESP_NOW;
        free(big);
        struct whip_client *c = client_for("/whip", NULL);
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), -E2BIG);
        assert_non_null(strstr(err, "256 KiB"));
        assert_int_equal(post(c, &answer, err, sizeof(err)), -E2BIG);
        assert_int_equal(answer.len, 0);
        buf_free(&answer);
        whip_client_free(c);
}

struct tick {
        int fired;
        bool release;
        int stop_code;
};

static void on_tick(struct loop *l, void *arg)
{
        struct tick *t = arg;
        t->fired++;
        if (t->release)
                srv_release();
        if (t->stop_code)
                loop_stop(l, t->stop_code);
}

static void test_other_timers_run_during_post(void **state)
{
        (void)state;
        /* The answer only comes from the test's own timer: the post must let it fire. */
        script_add(RESP_DELAYED, "201 Created",
                   "Content-Type: application/sdp\r\nLocation: /r/1\r\n", ANSWER);
        struct whip_client *c = client_for("/whip", NULL);
        struct tick t = {.release = true};
        assert_true(loop_add_timer(S.loop, clock_now_us() + 200000, on_tick, &t) > 0);
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), 0);
        assert_int_equal(t.fired, 1);
        assert_memory_equal(answer.data, ANSWER, strlen(ANSWER));
        buf_free(&answer);
        whip_client_free(c);
}

static void test_interrupted_by_other_stop(void **state)
{
        (void)state;
        script_add(RESP_HANG, NULL, NULL, NULL);
        script_add(RESP_NOW, "201 Created", "Content-Type: application/sdp\r\nLocation: /r/2\r\n",
                   ANSWER);
        struct whip_client *c = client_for("/whip", NULL);
        struct tick t = {.stop_code = 42};
        assert_true(loop_add_timer(S.loop, clock_now_us() + 200000, on_tick, &t) > 0);
        struct buf answer = BUF_INIT;
        char err[256] = "";
        assert_int_equal(post(c, &answer, err, sizeof(err)), -EINTR);
        assert_int_equal(t.fired, 1);
        assert_int_equal(whip_client_interrupt_code(c), 42);
        assert_non_null(strstr(err, url_for("/whip")));
        /* The abandoned transfer left nothing behind: the next one works. */
        assert_int_equal(post(c, &answer, err, sizeof(err)), 0);
        assert_int_equal(S.nreqs, 2);
        assert_non_null(strstr(whip_client_resource(c), "/r/2"));
        buf_free(&answer);
        whip_client_free(c);
}

static void test_token_not_logged(void **state)
{
        (void)state;
        script_add(RESP_NOW, "201 Created",
                   "Content-Type: application/sdp\r\nLocation: /r/1\r\nETag: \"t\"\r\n", ANSWER);
        script_add(RESP_NOW, "401 Unauthorized", NULL, "token topsecret-42 expired\n");
        char path[] = "/tmp/test_whip_log_XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        /* The most talkative setting: curl's whole conversation goes to stderr. */
        int saved = dup(2);
        assert_int_equal(dup2(fd, 2), 2);
        int level = log_get_level();
        log_set_level(LOG_LEVEL_TRACE);
        struct whip_client *c = client_for("/whip", "topsecret-42");
        struct buf answer = BUF_INIT;
        char err[256] = "";
        int rc1 = post(c, &answer, err, sizeof(err));
        int rc2 = whip_client_patch(c, "a=end-of-candidates\r\n", 21, clock_now_us() + DEADLINE_US,
                                    err, sizeof(err));
        log_set_level(level);
        dup2(saved, 2);
        close(saved);
        assert_int_equal(rc1, 0);
        assert_int_equal(rc2, -EACCES);
        /* Only the server's own body may repeat it. */
        assert_true(strstr(err, "topsecret-42") == NULL);
        char log[65536];
        ssize_t n = pread(fd, log, sizeof(log) - 1, 0);
        assert_true(n > 0);
        log[n] = '\0';
        close(fd);
        unlink(path);
        assert_non_null(strstr(log, "Authorization: (hidden)"));
        assert_non_null(strstr(log, "POST /whip"));
        assert_null(strstr(log, "topsecret-42"));
        assert_string_equal(find_header(&S.reqs[1].headers, "Authorization"),
                            "Bearer topsecret-42");
        buf_free(&answer);
        whip_client_free(c);
}

static void test_bad_config(void **state)
{
        (void)state;
        static const char *const bad[] = {"ftp://example.com/whip", "example.com/whip", "http://",
                                          "", "file:///tmp/x"};
        char err[256];
        struct whip_client *c = (struct whip_client *)1;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct whip_client_config cfg = {.url = bad[i]};
                err[0] = '\0';
                assert_int_equal(whip_client_new(&cfg, S.loop, &c, err, sizeof(err)), -EINVAL);
                assert_null(c);
                assert_true(err[0] != '\0');
        }
        struct whip_client_config cfg = {.url = "https://example.com/whip", .token = "a\r\nX: y"};
        assert_int_equal(whip_client_new(&cfg, S.loop, &c, err, sizeof(err)), -EINVAL);
        cfg = (struct whip_client_config){.url = "https://example.com/whip",
                                          .ca_file = "/nonexistent/ca.pem"};
        assert_int_equal(whip_client_new(&cfg, S.loop, &c, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "/nonexistent/ca.pem"));
        whip_client_free(NULL);
        assert_null(whip_client_resource(NULL));
}

/* --- HTTPS: a forked GnuTLS server with a certificate for 127.0.0.1 ----------------------- */

static char ca_path[] = "/tmp/test_whip_ca_XXXXXX";
static gnutls_x509_crt_t tls_crt;
static gnutls_x509_privkey_t tls_key;

static void make_cert(void)
{
        assert_int_equal(gnutls_x509_privkey_init(&tls_key), 0);
        assert_int_equal(
            gnutls_x509_privkey_generate(tls_key, GNUTLS_PK_ECDSA,
                                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
            0);
        assert_int_equal(gnutls_x509_crt_init(&tls_crt), 0);
        gnutls_x509_crt_set_version(tls_crt, 3);
        unsigned char serial[] = {1, 2, 3, 4};
        gnutls_x509_crt_set_serial(tls_crt, serial, sizeof(serial));
        time_t now = time(NULL);
        gnutls_x509_crt_set_activation_time(tls_crt, now - 3600);
        gnutls_x509_crt_set_expiration_time(tls_crt, now + 86400);
        gnutls_x509_crt_set_dn_by_oid(tls_crt, GNUTLS_OID_X520_COMMON_NAME, 0, "127.0.0.1", 9);
        gnutls_x509_crt_set_key(tls_crt, tls_key);
        gnutls_x509_crt_set_basic_constraints(tls_crt, 1, -1);
        gnutls_x509_crt_set_key_usage(tls_crt,
                                      GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN);
        unsigned char ip[4] = {127, 0, 0, 1};
        assert_int_equal(gnutls_x509_crt_set_subject_alt_name(tls_crt, GNUTLS_SAN_IPADDRESS, ip,
                                                              sizeof(ip), GNUTLS_FSAN_SET),
                         0);
        assert_int_equal(gnutls_x509_crt_sign2(tls_crt, tls_crt, tls_key, GNUTLS_DIG_SHA256, 0), 0);
        gnutls_datum_t pem;
        assert_int_equal(gnutls_x509_crt_export2(tls_crt, GNUTLS_X509_FMT_PEM, &pem), 0);
        int fd = mkstemp(ca_path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, pem.data, pem.size), (ssize_t)pem.size);
        close(fd);
        gnutls_free(pem.data);
}

/* The child: one connection, one response, then exit. Never returns into cmocka. */
static void tls_child(int lfd)
{
        gnutls_certificate_credentials_t cred;
        gnutls_session_t s;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
                _exit(1);
        gnutls_certificate_allocate_credentials(&cred);
        gnutls_certificate_set_x509_key(cred, &tls_crt, 1, tls_key);
        gnutls_init(&s, GNUTLS_SERVER);
        gnutls_set_default_priority(s);
        gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
        gnutls_transport_set_int(s, fd);
        int rc;
        do {
                rc = gnutls_handshake(s);
        } while (rc < 0 && !gnutls_error_is_fatal(rc));
        if (rc < 0)
                _exit(0); /* the untrusted case: the client hangs up */
        char req[8192];
        size_t got = 0;
        for (;;) {
                ssize_t n = gnutls_record_recv(s, req + got, sizeof(req) - 1 - got);
                if (n <= 0)
                        _exit(1);
                got += (size_t)n;
                req[got] = '\0';
                char *end = strstr(req, "\r\n\r\n");
                const char *cl = strcasestr(req, "Content-Length:");
                if (end && cl && got >= (size_t)(end + 4 - req) + strtoul(cl + 15, NULL, 10))
                        break;
        }
        char resp[512];
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\n"
                         "Location: /tls/1\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         strlen(ANSWER), ANSWER);
        gnutls_record_send(s, resp, (size_t)n);
        gnutls_bye(s, GNUTLS_SHUT_WR);
        _exit(0);
}

static void run_tls(const char *ca_file, int want_rc, char *err, size_t errlen)
{
        unsigned port;
        int lfd = listen_local(&port, true);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* Blocking in the child; the alarm ends it if the parent never connects. */
                alarm(60);
                fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK);
                tls_child(lfd);
        }
        close(lfd);
        char url[128];
        snprintf(url, sizeof(url), "https://127.0.0.1:%u/whip", port);
        struct whip_client_config cfg = {.url = url, .ca_file = ca_file};
        struct whip_client *c = NULL;
        assert_int_equal(whip_client_new(&cfg, S.loop, &c, err, errlen), 0);
        struct buf answer = BUF_INIT;
        assert_int_equal(post(c, &answer, err, errlen), want_rc);
        if (want_rc == 0) {
                assert_memory_equal(answer.data, ANSWER, strlen(ANSWER));
                char want[128];
                snprintf(want, sizeof(want), "https://127.0.0.1:%u/tls/1", port);
                assert_string_equal(whip_client_resource(c), want);
        }
        buf_free(&answer);
        whip_client_free(c);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_https(void **state)
{
        (void)state;
        make_cert();
        char err[512] = "";
        /* The system store does not know our certificate. */
        run_tls(NULL, -EPROTO, err, sizeof(err));
        assert_non_null(strstr(err, "not trusted"));
        assert_non_null(strstr(err, "https://127.0.0.1:"));
        /* With it as the trust anchor the answer comes through. */
        run_tls(ca_path, 0, err, sizeof(err));
        unlink(ca_path);
        gnutls_x509_crt_deinit(tls_crt);
        gnutls_x509_privkey_deinit(tls_key);
}

int main(void)
{
        /* A proxy from the environment would stand between us and 127.0.0.1. */
        static const char *const proxies[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
                                              "all_proxy", "ALL_PROXY"};
        for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
                unsetenv(proxies[i]);
        signal(SIGPIPE, SIG_IGN);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_created_relative_location_then_delete, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_absolute_location_and_patch, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unauthorized, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bad_request_quotes_body, setup, teardown),
            cmocka_unit_test_setup_teardown(test_created_but_unusable, setup, teardown),
            cmocka_unit_test_setup_teardown(test_no_answer_times_out, setup, teardown),
            cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_redirect_followed, setup, teardown),
            cmocka_unit_test_setup_teardown(test_redirect_loop_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_body_too_big, setup, teardown),
            cmocka_unit_test_setup_teardown(test_other_timers_run_during_post, setup, teardown),
            cmocka_unit_test_setup_teardown(test_interrupted_by_other_stop, setup, teardown),
            cmocka_unit_test_setup_teardown(test_token_not_logged, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
            cmocka_unit_test_setup_teardown(test_https, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

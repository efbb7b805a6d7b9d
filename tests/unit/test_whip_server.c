/*
 * The WHIP server against real HTTP: each request is a /usr/bin/curl child while the test runs
 * the loop. The loop has nothing else to do (it wakes for the server and for SIGCHLD only), so
 * a response that waited for libmicrohttpd's next timeout instead of going out at once would
 * show. Skipped (77) without curl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "dtls/cert.h"
#include "signal/page.h"
#include "signal/whip_server.h"

#define CURL "/usr/bin/curl"
/* Far beyond any load: only a hung request gets there. */
#define REQUEST_DEADLINE_US (60 * CLOCK_US_PER_SEC)

static const char OFFER[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                            "a=x-binary:\xc3\xa9\x01\r\n";
static const char ANSWER[] = "v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\ns=answer\r\nt=0 0\r\n";
static const char FRAG[] = "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\nm=audio 9 "
                           "UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 1 1.2.3.4 5 typ "
                           "host\r\n";

struct t {
        struct loop *loop;
        struct whip_server *srv;
        char dir[64];
        pid_t child;
        int child_status;
        bool child_done;
        bool timed_out;
        /* The stub callbacks. */
        int offers, patches, deletes;
        struct buf last_offer, last_patch;
        int offer_status;
        int patch_status;
        bool free_on_delete;
};

struct resp {
        int status;
        char headers[8192]; /* the last header block curl saw */
        struct buf body;
};

static int stub_offer(void *arg, const char *sdp, size_t len, struct buf *answer, char *why,
                      size_t whylen)
{
        struct t *t = arg;
        t->offers++;
        buf_reset(&t->last_offer);
        buf_append(&t->last_offer, sdp, len);
        assert_int_equal(sdp[len], '\0');
        if (t->offer_status != 201) {
                snprintf(why, whylen, "offer refused by the stub");
                return t->offer_status;
        }
        buf_append_str(answer, ANSWER);
        return 201;
}

static int stub_patch(void *arg, const char *frag, size_t len, char *why, size_t whylen)
{
        struct t *t = arg;
        t->patches++;
        buf_reset(&t->last_patch);
        buf_append(&t->last_patch, frag, len);
        if (t->patch_status != 204)
                snprintf(why, whylen, "bad fragment");
        return t->patch_status;
}

static void stub_delete(void *arg)
{
        struct t *t = arg;
        t->deletes++;
        /* A caller may well tear the server down from here; that must be safe. */
        if (t->free_on_delete) {
                whip_server_free(t->srv);
                t->srv = NULL;
        }
}

static void on_sigchld(struct loop *loop, int signo, void *arg)
{
        (void)signo;
        struct t *t = arg;
        if (t->child > 0 && waitpid(t->child, &t->child_status, WNOHANG) == t->child) {
                t->child_done = true;
                loop_stop(loop, 0);
        }
}

static void on_deadline(struct loop *loop, void *arg)
{
        struct t *t = arg;
        t->timed_out = true;
        loop_stop(loop, 0);
}

static int setup(void **state)
{
        struct t *t = calloc(1, sizeof(*t));
        assert_non_null(t);
        t->loop = loop_new();
        assert_non_null(t->loop);
        /* Before any fork: the signal is blocked from here on and read from the loop. */
        assert_int_equal(loop_add_signal(t->loop, SIGCHLD, on_sigchld, t), 0);
        snprintf(t->dir, sizeof(t->dir), "/tmp/test_whip_XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        t->offer_status = 201;
        t->patch_status = 204;
        *state = t;
        return 0;
}

static void rm_dir(const char *dir)
{
        static const char *const names[] = {"req", "body", "hdr", "cert.pem"};
        char p[128];
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
                unlink(p);
        }
        rmdir(dir);
}

static int teardown(void **state)
{
        struct t *t = *state;
        whip_server_free(t->srv);
        loop_free(t->loop);
        buf_free(&t->last_offer);
        buf_free(&t->last_patch);
        rm_dir(t->dir);
        free(t);
        return 0;
}

static void start(struct t *t, const char *listen, const char *token)
{
        struct whip_server_config cfg = {
            .listen = listen,
            .token = token,
            .page = whip_page,
            .page_len = whip_page_len,
            .on_offer = stub_offer,
            .on_patch = stub_patch,
            .on_delete = stub_delete,
            .arg = t,
        };
        char err[256] = "";
        int rc = whip_server_new(&cfg, t->loop, &t->srv, err, sizeof(err));
        if (rc < 0)
                fail_msg("whip_server_new: %s", err);
}

static void write_file(const char *path, const void *data, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
}

static void read_file(const char *path, struct buf *out)
{
        buf_reset(out);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        char chunk[4096];
        ssize_t n;
        while ((n = read(fd, chunk, sizeof(chunk))) > 0)
                buf_append(out, chunk, (size_t)n);
        close(fd);
        buf_terminate(out);
}

/* Runs the loop until the child exits; fails the test if it takes past the deadline. */
static void wait_child(struct t *t)
{
        t->timed_out = false;
        int id = loop_add_timer(t->loop, clock_now_us() + REQUEST_DEADLINE_US, on_deadline, t);
        assert_true(id > 0);
        while (!t->child_done && !t->timed_out)
                loop_run(t->loop);
        loop_cancel_timer(t->loop, id);
        if (t->timed_out) {
                kill(t->child, SIGKILL);
                waitpid(t->child, NULL, 0);
                fail_msg("curl did not finish");
        }
}

/*
 * One request through curl. path is appended to the server's origin; body NULL sends none.
 * extra: more curl arguments, NULL-terminated.
 */
static void http(struct t *t, struct resp *r, const char *method, const char *path,
                 const char *ctype, const void *body, size_t blen, const char *const *extra)
{
        char url[512], req[128], out[128], hdr[128], ct[160];
        const char *base = whip_server_url(t->srv);
        const char *slash = strstr(base, "://");
        slash = strchr(slash + 3, '/');
        snprintf(url, sizeof(url), "%.*s%s", (int)(slash - base), base, path);
        snprintf(req, sizeof(req), "%s/req", t->dir);
        snprintf(out, sizeof(out), "%s/body", t->dir);
        snprintf(hdr, sizeof(hdr), "%s/hdr", t->dir);
        unlink(out);
        unlink(hdr);
        const char *argv[48];
        size_t n = 0;
        const char *fixed[] = {CURL, "-q", "-sS", "-k", "--noproxy", "*",       "--max-time", "60",
                               "-o", out,  "-D",  hdr,  "-H",        "Expect:", "--http1.1"};
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                argv[n++] = fixed[i];
        if (strcmp(method, "HEAD") == 0) {
                argv[n++] = "-I";
        } else {
                argv[n++] = "-X";
                argv[n++] = method;
        }
        if (body) {
                write_file(req, body, blen);
                snprintf(req, sizeof(req), "@%s/req", t->dir);
                argv[n++] = "--data-binary";
                argv[n++] = req;
        }
        if (ctype) {
                snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
                argv[n++] = "-H";
                argv[n++] = ct;
        }
        for (size_t i = 0; extra && extra[i] && n < 46; i++)
                argv[n++] = extra[i];
        argv[n++] = url;
        argv[n] = NULL;

        t->child_done = false;
        t->child = fork();
        assert_true(t->child >= 0);
        if (t->child == 0) {
                sigset_t all;
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                execv(CURL, (char *const *)argv);
                _exit(127);
        }
        wait_child(t);
        t->child = 0;
        assert_true(WIFEXITED(t->child_status));
        assert_int_equal(WEXITSTATUS(t->child_status), 0);

        struct buf h = BUF_INIT;
        read_file(hdr, &h);
        assert_non_null(h.data);
        /* The last block: a 100 Continue comes first when the client asked for it. */
        const char *last = (const char *)h.data, *p = last;
        while ((p = strstr(p, "\r\nHTTP/")) != NULL)
                last = p = p + 2;
        snprintf(r->headers, sizeof(r->headers), "%s", last);
        r->status = 0;
        sscanf(last, "HTTP/%*s %d", &r->status);
        buf_free(&h);
        read_file(out, &r->body);
}

/* The value of a response header, or NULL. */
static const char *header(struct resp *r, const char *name, char *val, size_t vlen)
{
        size_t nl = strlen(name);
        for (const char *line = strstr(r->headers, "\r\n"); line; line = strstr(line, "\r\n")) {
                line += 2;
                if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
                        const char *v = line + nl + 1;
                        v += strspn(v, " ");
                        size_t len = strcspn(v, "\r\n");
                        snprintf(val, vlen, "%.*s", (int)len, v);
                        return val;
                }
        }
        return NULL;
}

static void assert_header(struct resp *r, const char *name, const char *want)
{
        char v[256];
        if (!header(r, name, v, sizeof(v)))
                fail_msg("no %s header in:\n%s", name, r->headers);
        assert_string_equal(v, want);
}

static void assert_error_body(struct resp *r, int status, const char *line)
{
        if (r->status != status)
                fail_msg("status %d, not %d: %s", r->status, status,
                         r->body.data ? (char *)r->body.data : "");
        char v[256];
        assert_non_null(header(r, "Content-Type", v, sizeof(v)));
        assert_true(strncmp(v, "text/plain", 10) == 0);
        assert_non_null(r->body.data);
        if (line)
                assert_string_equal((char *)r->body.data, line);
        /* One line that says why. */
        assert_true(r->body.len > 1);
        assert_int_equal(r->body.data[r->body.len - 1], '\n');
        assert_null(memchr(r->body.data, '\n', r->body.len - 1));
}

static void test_page_and_refusals(void **state)
{
        struct t *t = *state;
        start(t, "127.0.0.1:0", NULL);
        char url[64];
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/whip", whip_server_port(t->srv));
        assert_string_equal(whip_server_url(t->srv), url);
        assert_false(whip_server_public(t->srv));
        struct resp r = {0};

        http(t, &r, "GET", "/", NULL, NULL, 0, NULL);
        assert_int_equal(r.status, 200);
        assert_header(&r, "Content-Type", "text/html; charset=utf-8");
        assert_true(whip_page_len > 0);
        assert_int_equal(r.body.len, whip_page_len);
        assert_memory_equal(r.body.data, whip_page, whip_page_len);
        assert_int_equal(strlen(whip_page), whip_page_len);

        http(t, &r, "HEAD", "/", NULL, NULL, 0, NULL);
        assert_int_equal(r.status, 200);

        http(t, &r, "GET", "/favicon.ico", NULL, NULL, 0, NULL);
        assert_error_body(&r, 404, "no such resource: /favicon.ico\n");
        http(t, &r, "POST", "/whip/", "application/sdp", OFFER, sizeof(OFFER) - 1, NULL);
        assert_int_equal(r.status, 404);
        http(t, &r, "DELETE", "/whip/0123456789abcdef", NULL, NULL, 0, NULL);
        assert_error_body(&r, 404, "no session at /whip/0123456789abcdef\n");
        /* Escapes are decoded; control characters never reach a log line or a body. */
        http(t, &r, "GET", "/a%1b%5b2Jb", NULL, NULL, 0, NULL);
        assert_error_body(&r, 404, "no such resource: /a?[2Jb\n");

        http(t, &r, "PUT", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, NULL);
        assert_error_body(&r, 405, NULL);
        assert_header(&r, "Allow", "OPTIONS, POST");
        http(t, &r, "GET", "/whip", NULL, NULL, 0, NULL);
        assert_error_body(&r, 405, NULL);
        http(t, &r, "BREW", "/", NULL, NULL, 0, NULL);
        assert_error_body(&r, 405, NULL);
        assert_header(&r, "Allow", "GET, HEAD, OPTIONS, POST");

        http(t, &r, "OPTIONS", "/whip", NULL, NULL, 0, NULL);
        assert_int_equal(r.status, 204);
        assert_header(&r, "Accept-Post", "application/sdp");
        assert_header(&r, "Allow", "OPTIONS, POST");
        assert_header(&r, "Access-Control-Allow-Origin", "*");
        assert_header(&r, "Access-Control-Allow-Methods", "OPTIONS, POST");
        assert_header(&r, "Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match");
        char v[256];
        assert_non_null(header(&r, "Access-Control-Expose-Headers", v, sizeof(v)));
        assert_non_null(strstr(v, "Location"));
        assert_non_null(strstr(v, "ETag"));
        http(t, &r, "OPTIONS", "/", NULL, NULL, 0, NULL);
        assert_int_equal(r.status, 204);
        assert_header(&r, "Accept-Post", "application/sdp");

        http(t, &r, "POST", "/whip", "text/plain", OFFER, sizeof(OFFER) - 1, NULL);
        assert_error_body(&r, 415, "Content-Type must be application/sdp, got text/plain\n");
        http(t, &r, "POST", "/whip", "application/x-www-form-urlencoded", OFFER, sizeof(OFFER) - 1,
             NULL);
        assert_int_equal(r.status, 415);

        /* Too large: drained and refused; refused before the body when the client waits for
         * 100 Continue; chunked without a length is caught while it arrives. */
        size_t big = WHIP_SERVER_MAX_BODY + 1;
        char *blob = malloc(big);
        assert_non_null(blob);
        memset(blob, 'a', big);
        http(t, &r, "POST", "/whip", "application/sdp", blob, big, NULL);
        assert_error_body(&r, 413, "the body is larger than 65536 bytes\n");
        const char *expect[] = {"-H", "Expect: 100-continue", NULL};
        http(t, &r, "POST", "/whip", "application/sdp", blob, big, expect);
        assert_error_body(&r, 413, NULL);
        const char *chunked[] = {"-H", "Transfer-Encoding: chunked", NULL};
        http(t, &r, "POST", "/", "application/sdp", blob, big, chunked);
        assert_error_body(&r, 413, NULL);
        free(blob);

        assert_int_equal(t->offers, 0);
        /* The limit itself is fine; and / is the endpoint too. */
        http(t, &r, "POST", "/", "application/sdp; charset=utf-8", OFFER, sizeof(OFFER) - 1,
             chunked);
        assert_int_equal(r.status, 201);
        assert_int_equal(t->offers, 1);
        assert_int_equal(t->last_offer.len, sizeof(OFFER) - 1);
        assert_memory_equal(t->last_offer.data, OFFER, sizeof(OFFER) - 1);
        buf_free(&r.body);
}

static void test_session(void **state)
{
        struct t *t = *state;
        start(t, "127.0.0.1:0", "s3cret-token");
        struct resp r = {0};
        const char *tok[] = {"-H", "Authorization: Bearer s3cret-token", NULL};
        const char *bad[] = {"-H", "Authorization: Bearer s3cret-tokem", NULL};
        const char *lower[] = {"-H", "authorization: bearer   s3cret-token ", NULL};

        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, NULL);
        assert_error_body(&r, 401, NULL);
        assert_header(&r, "WWW-Authenticate", "Bearer");
        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, bad);
        assert_error_body(&r, 401, "wrong token in Authorization\n");
        assert_header(&r, "WWW-Authenticate", "Bearer");
        /* The token is checked before the content type. */
        http(t, &r, "POST", "/whip", "text/plain", OFFER, sizeof(OFFER) - 1, NULL);
        assert_int_equal(r.status, 401);
        assert_int_equal(t->offers, 0);

        /* A refused offer leaves the endpoint free for another try. */
        t->offer_status = 400;
        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, tok);
        assert_error_body(&r, 400, "offer refused by the stub\n");
        assert_int_equal(t->offers, 1);
        t->offer_status = 201;

        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, lower);
        assert_int_equal(r.status, 201);
        assert_int_equal(t->offers, 2);
        assert_int_equal(t->last_offer.len, sizeof(OFFER) - 1);
        assert_memory_equal(t->last_offer.data, OFFER, sizeof(OFFER) - 1);
        assert_int_equal(r.body.len, strlen(ANSWER));
        assert_memory_equal(r.body.data, ANSWER, strlen(ANSWER));
        assert_header(&r, "Content-Type", "application/sdp");
        assert_header(&r, "Access-Control-Allow-Origin", "*");
        char loc[256], etag[256];
        assert_non_null(header(&r, "Location", loc, sizeof(loc)));
        assert_int_equal(strlen(loc), strlen("/whip/") + 16);
        assert_memory_equal(loc, "/whip/", 6);
        assert_int_equal(strspn(loc + 6, "0123456789abcdef"), 16);
        assert_non_null(header(&r, "ETag", etag, sizeof(etag)));
        assert_true(strlen(etag) > 2 && etag[0] == '"' && etag[strlen(etag) - 1] == '"');

        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, tok);
        assert_error_body(&r, 409, "a session is already in progress\n");
        assert_int_equal(t->offers, 2);

        http(t, &r, "PATCH", loc, "application/trickle-ice-sdpfrag", FRAG, sizeof(FRAG) - 1, tok);
        assert_int_equal(r.status, 204);
        assert_int_equal(t->patches, 1);
        assert_int_equal(t->last_patch.len, sizeof(FRAG) - 1);
        assert_memory_equal(t->last_patch.data, FRAG, sizeof(FRAG) - 1);
        t->patch_status = 400;
        http(t, &r, "PATCH", loc, "application/trickle-ice-sdpfrag", FRAG, sizeof(FRAG) - 1, tok);
        assert_error_body(&r, 400, "bad fragment\n");
        t->patch_status = 204;
        http(t, &r, "PATCH", loc, "application/sdp", FRAG, sizeof(FRAG) - 1, tok);
        assert_error_body(&r, 415,
                          "Content-Type must be application/trickle-ice-sdpfrag, got "
                          "application/sdp\n");
        http(t, &r, "PATCH", loc, "application/trickle-ice-sdpfrag", FRAG, sizeof(FRAG) - 1, bad);
        assert_int_equal(r.status, 401);
        assert_int_equal(t->patches, 2);

        http(t, &r, "GET", loc, NULL, NULL, 0, tok);
        assert_error_body(&r, 405, NULL);
        assert_header(&r, "Allow", "OPTIONS, PATCH, DELETE");
        http(t, &r, "OPTIONS", loc, NULL, NULL, 0, NULL);
        assert_int_equal(r.status, 204);
        assert_header(&r, "Access-Control-Allow-Methods", "OPTIONS, PATCH, DELETE");
        http(t, &r, "DELETE", "/whip/0123456789abcdef", NULL, NULL, 0, tok);
        assert_int_equal(r.status, 404);
        http(t, &r, "DELETE", loc, NULL, NULL, 0, bad);
        assert_int_equal(r.status, 401);
        assert_int_equal(t->deletes, 0);

        http(t, &r, "DELETE", loc, NULL, NULL, 0, tok);
        assert_int_equal(r.status, 200);
        assert_int_equal(t->deletes, 1);
        http(t, &r, "DELETE", loc, NULL, NULL, 0, tok);
        assert_int_equal(r.status, 404);
        http(t, &r, "PATCH", loc, "application/trickle-ice-sdpfrag", FRAG, sizeof(FRAG) - 1, tok);
        assert_int_equal(r.status, 404);
        assert_int_equal(t->deletes, 1);

        /* After the hang-up the endpoint takes a new offer, under a new resource. */
        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, tok);
        assert_int_equal(r.status, 201);
        char loc2[256];
        assert_non_null(header(&r, "Location", loc2, sizeof(loc2)));
        assert_string_not_equal(loc, loc2);

        /* Freeing the server from on_delete is safe, and the 200 still goes out. */
        t->free_on_delete = true;
        http(t, &r, "DELETE", loc2, NULL, NULL, 0, tok);
        assert_int_equal(r.status, 200);
        assert_int_equal(t->deletes, 2);
        assert_null(t->srv);
        buf_free(&r.body);
}

/* Bytes that are not HTTP get an error or a closed connection, never a crash. */
static void on_raw(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)events;
        struct buf *got = arg;
        char chunk[4096];
        ssize_t n;
        while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
                buf_append(got, chunk, (size_t)n);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                loop_stop(loop, 1);
}

static void raw_exchange(struct t *t, const char *src_ip, const void *data, size_t len,
                         struct buf *got)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        if (src_ip) {
                inet_pton(AF_INET, src_ip, &sa.sin_addr);
                assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        }
        sa.sin_port = htons(whip_server_port(t->srv));
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        buf_reset(got);
        assert_int_equal(loop_add_fd(t->loop, fd, EPOLLIN, on_raw, got), 0);
        t->timed_out = false;
        int id = loop_add_timer(t->loop, clock_now_us() + REQUEST_DEADLINE_US, on_deadline, t);
        loop_run(t->loop);
        loop_cancel_timer(t->loop, id);
        assert_false(t->timed_out);
        loop_del_fd(t->loop, fd);
        close(fd);
        buf_terminate(got);
}

/* A connection from 127.0.0.<host> that sends nothing; -1 if that address is not usable. */
static int open_idle(struct t *t, int host)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        char ip[32];
        snprintf(ip, sizeof(ip), "127.0.0.%d", host);
        inet_pton(AF_INET, ip, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        sa.sin_port = htons(whip_server_port(t->srv));
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Lets the server work for a while (no assertion on what it got done). */
static void run_for(struct t *t, uint64_t us)
{
        t->timed_out = false;
        loop_add_timer(t->loop, clock_now_us() + us, on_deadline, t);
        while (!t->timed_out)
                loop_run(t->loop);
}

static void test_hostile_clients(void **state)
{
        struct t *t = *state;
        start(t, "127.0.0.1:0", NULL);
        struct buf got = BUF_INIT;
        static const char garbage[] =
            "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n";
        raw_exchange(t, NULL, garbage, sizeof(garbage) - 1, &got);
        static const char nul[] = "GET /\0x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        raw_exchange(t, NULL, nul, sizeof(nul) - 1, &got);
        static const char neg[] = "POST /whip HTTP/1.1\r\nHost: a\r\nContent-Type: application/sdp"
                                  "\r\nContent-Length: -5\r\nConnection: close\r\n\r\n";
        raw_exchange(t, NULL, neg, sizeof(neg) - 1, &got);
        assert_non_null(got.data);
        assert_true(strncmp((char *)got.data, "HTTP/1.1 4", 10) == 0);
        /* Headers beyond the connection's memory. */
        struct buf huge = BUF_INIT;
        buf_append_str(&huge, "GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 2000; i++)
                buf_printf(&huge, "X-Filler-%d: %040d\r\n", i, i);
        buf_append_str(&huge, "\r\n");
        raw_exchange(t, NULL, huge.data, huge.len, &got);
        buf_free(&huge);
        assert_int_equal(t->offers, 0);

        /*
         * A crowd of idle connections (slowloris) from another address: the per-address limit
         * turns most away at once, and the server still answers everyone else.
         */
        int idle[100];
        size_t nidle = 0;
        for (size_t i = 0; i < 100; i++) {
                int fd = open_idle(t, 2);
                if (fd < 0)
                        break;
                send(fd, "POST /whip HTTP/1.1\r\nHost: x\r\n", 30, MSG_NOSIGNAL);
                idle[nidle++] = fd;
        }
        struct resp r = {0};
        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, NULL);
        assert_int_equal(r.status, 201);
        http(t, &r, "GET", "/", NULL, NULL, 0, NULL);
        assert_int_equal(r.status, 200);
        for (size_t i = 0; i < nidle; i++)
                close(idle[i]);

        /*
         * More idle connections than the server takes in all (from five addresses): at its limit
         * libmicrohttpd stops listening, and must start again once they are gone.
         */
        nidle = 0;
        for (int a = 3; a < 8; a++) {
                for (int k = 0; k < 16; k++) {
                        int fd = open_idle(t, a);
                        if (fd >= 0)
                                idle[nidle++] = fd;
                }
        }
        run_for(t, 500 * 1000);
        for (size_t i = 0; i < nidle; i++)
                close(idle[i]);
        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, NULL);
        assert_int_equal(r.status, 409);
        buf_free(&r.body);
        buf_free(&got);
}

static void test_tls(void **state)
{
        struct t *t = *state;
        struct cert *c;
        assert_int_equal(cert_generate(&c), 0);
        char pem[128];
        snprintf(pem, sizeof(pem), "%s/cert.pem", t->dir);
        assert_int_equal(cert_save_pem(c, pem), 0);
        cert_free(c);
        struct whip_server_config cfg = {
            .listen = "127.0.0.1:0",
            .tls_cert = pem,
            .tls_key = pem,
            .on_offer = stub_offer,
            .arg = t,
        };
        char err[256] = "";
        int rc = whip_server_new(&cfg, t->loop, &t->srv, err, sizeof(err));
        if (rc < 0)
                fail_msg("whip_server_new: %s", err);
        assert_true(strncmp(whip_server_url(t->srv), "https://127.0.0.1:", 18) == 0);
        struct resp r = {0};
        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, NULL);
        assert_int_equal(r.status, 201);
        assert_memory_equal(r.body.data, ANSWER, strlen(ANSWER));
        /* No page configured, no trickle handler. */
        http(t, &r, "GET", "/", NULL, NULL, 0, NULL);
        assert_int_equal(r.status, 404);
        http(t, &r, "OPTIONS", "/whip", NULL, NULL, 0, NULL);
        assert_int_equal(r.status, 204);
        http(t, &r, "POST", "/whip", "application/sdp", OFFER, sizeof(OFFER) - 1, NULL);
        assert_int_equal(r.status, 409);
        buf_free(&r.body);
}

static int count_fds(void)
{
        int n = 0;
        char p[64];
        for (int fd = 0; fd < 1024; fd++) {
                snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
                n += access(p, F_OK) == 0;
        }
        return n;
}

static void test_config_errors(void **state)
{
        struct t *t = *state;
        int fds = count_fds();
        struct whip_server *s = NULL;
        char err[256];
        struct whip_server_config cfg = {.on_offer = stub_offer, .arg = t};
        static const char *const bad[] = {"::1:8080", "abc",        "70000",       ":8080",
                                          "[::1]",    "127.0.0.1:", "1.2.3.4:80x", ""};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cfg.listen = bad[i];
                err[0] = '\0';
                assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), -EINVAL);
                assert_null(s);
                assert_true(strncmp(err, "--listen ", 9) == 0);
        }

        cfg.listen = "127.0.0.1:0";
        assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), 0);
        char taken[64], want[160];
        snprintf(taken, sizeof(taken), "127.0.0.1:%u", whip_server_port(s));
        cfg.listen = taken;
        struct whip_server *s2 = NULL;
        assert_int_equal(whip_server_new(&cfg, t->loop, &s2, err, sizeof(err)), -EADDRINUSE);
        snprintf(want, sizeof(want), "--listen %s: %s", taken, strerror(EADDRINUSE));
        assert_string_equal(err, want);
        whip_server_free(s);
        /* The port is free again once the server is gone. */
        assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), 0);
        whip_server_free(s);
        whip_server_free(NULL);

        cfg.listen = "0.0.0.0:0";
        assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), 0);
        assert_true(whip_server_public(s));
        snprintf(want, sizeof(want), "http://127.0.0.1:%u/whip", whip_server_port(s));
        assert_string_equal(whip_server_url(s), want);
        whip_server_free(s);

        cfg.listen = "localhost:0";
        assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), 0);
        assert_false(whip_server_public(s));
        snprintf(want, sizeof(want), "http://localhost:%u/whip", whip_server_port(s));
        assert_string_equal(whip_server_url(s), want);
        whip_server_free(s);

        cfg.listen = "[::1]:0";
        if (whip_server_new(&cfg, t->loop, &s, err, sizeof(err)) == 0) {
                assert_false(whip_server_public(s));
                snprintf(want, sizeof(want), "http://[::1]:%u/whip", whip_server_port(s));
                assert_string_equal(whip_server_url(s), want);
                t->srv = s;
                struct resp r = {0};
                http(t, &r, "GET", "/", NULL, NULL, 0, NULL);
                assert_int_equal(r.status, 404);
                buf_free(&r.body);
                whip_server_free(s);
                t->srv = NULL;
        } else {
                print_message("no IPv6 loopback here: %s\n", err);
        }

        cfg.listen = NULL;
        cfg.tls_cert = "/nonexistent/cert.pem";
        assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "--tls-cert and --tls-key go together");
        cfg.tls_key = "/nonexistent/key.pem";
        assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), -ENOENT);
        assert_string_equal(err, "--tls-cert /nonexistent/cert.pem: No such file or directory");
        char notpem[128];
        snprintf(notpem, sizeof(notpem), "%s/req", t->dir);
        write_file(notpem, "hello", 5);
        cfg.tls_cert = cfg.tls_key = notpem;
        assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), -EINVAL);
        assert_null(s);
        assert_string_equal(strrchr(err, ':'), ": not a PEM file");
        /* PEM that GnuTLS rejects: libmicrohttpd fails after the socket was made. */
        static const char junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        write_file(notpem, junk, sizeof(junk) - 1);
        assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), -EINVAL);
        assert_null(s);
        assert_true(strncmp(err, "HTTP server did not start", 25) == 0);
        cfg.tls_cert = cfg.tls_key = NULL;
        cfg.on_offer = NULL;
        assert_int_equal(whip_server_new(&cfg, t->loop, &s, err, sizeof(err)), -EINVAL);
        /* Every socket and descriptor went back, on success and on failure. */
        assert_int_equal(count_fds(), fds);
}

int main(void)
{
        if (access(CURL, X_OK) != 0) {
                printf("SKIP: %s is missing\n", CURL);
                return 77;
        }
        if (getenv("WHIP_TEST_DEBUG"))
                log_set_level(LOG_LEVEL_DEBUG);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_page_and_refusals, setup, teardown),
            cmocka_unit_test_setup_teardown(test_session, setup, teardown),
            cmocka_unit_test_setup_teardown(test_hostile_clients, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

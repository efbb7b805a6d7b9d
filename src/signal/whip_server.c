#include "signal/whip_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/rand.h"

/*
 * Limits that keep a flood of connections (or slowloris) from starving the loop or the memory
 * while a session is in progress: the session itself needs no HTTP after the answer.
 */
#define CONN_LIMIT        64
#define CONN_PER_IP_LIMIT 16
#define CONN_TIMEOUT_S    10
#define CONN_MEMORY_LIMIT (32 * 1024)
/*
 * The body of a refused request is read and dropped up to this size, so that the client gets
 * its answer on a clean connection; beyond it the connection is dropped instead.
 */
#define DRAIN_MAX   (1024 * 1024)
#define PEM_MAX     (1024 * 1024)
#define WHY_MAX     256
#define ENDPOINT    "/whip"
#define CORS_EXPOSE "Location, ETag, Accept-Post, Link"

enum req_kind {
        REQ_REJECT, /* status and why are set; the body is drained */
        REQ_PAGE,
        REQ_OPTIONS, /* CORS preflight or capability query; allow says for what */
        REQ_OFFER,
        REQ_PATCH,
        REQ_DELETE,
};

struct whip_server_req {
        enum req_kind kind;
        unsigned status;
        char why[WHY_MAX];
        const char *allow; /* Allow header for 405 and OPTIONS */
        bool www_auth;     /* 401: add WWW-Authenticate */
        bool responded;
        bool deleted;    /* a DELETE was answered: on_delete once it went out */
        struct buf body; /* REQ_OFFER and REQ_PATCH only */
        size_t seen;     /* body bytes received, kept or dropped */
};

struct whip_server {
        struct loop *loop;
        struct MHD_Daemon *mhd;
        int epfd;
        int timer;
        int (*on_offer)(void *, const char *, size_t, struct buf *, char *, size_t);
        int (*on_patch)(void *, const char *, size_t, char *, size_t);
        void (*on_delete)(void *);
        void *arg;
        char *token;
        size_t token_len;
        char *page;
        size_t page_len;
        char *tls_cert;
        char *tls_key;
        char url[320];
        uint16_t port;
        bool public;
        bool session;
        char session_id[17];
        char etag[19]; /* "\"" 16 hex "\"" */
        /* During whip_server_new: the first message from libmicrohttpd, for the error line. */
        char mhd_msg[160];
        bool starting;
        bool warned_limit;
        unsigned conns;    /* connections after the last run */
        int in_run;        /* nesting of MHD_run: whip_server_free waits for it */
        bool free_pending; /* whip_server_free was called from a callback */
        bool stopping;     /* MHD_stop_daemon is running: no more callbacks */
};

static const char *const allow_endpoint = "OPTIONS, POST";
static const char *const allow_root_page = "GET, HEAD, OPTIONS, POST";
static const char *const allow_resource = "OPTIONS, PATCH, DELETE";

/* Copies untrusted text for a log line or a reason: printable ASCII only, bounded. */
static void clean(char *dst, size_t n, const char *src)
{
        size_t i = 0;
        for (; src && src[i] && i + 1 < n; i++) {
                unsigned char ch = (unsigned char)src[i];
                dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
        }
        dst[i] = '\0';
        if (src && src[i] && n > 4)
                memcpy(dst + n - 4, "...", 4);
}

static void req_reject(struct whip_server_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void req_reject(struct whip_server_req *r, unsigned status, const char *fmt, ...)
{
        r->kind = REQ_REJECT;
        r->status = status;
        buf_free(&r->body);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, sizeof(r->why), fmt, ap);
        va_end(ap);
}

/* Case-insensitive media type match that ignores parameters (";charset=...") and blanks. */
static bool media_type_is(const char *value, const char *want)
{
        if (!value)
                return false;
        value += strspn(value, " \t");
        size_t n = strlen(want);
        if (strncasecmp(value, want, n) != 0)
                return false;
        value += n;
        value += strspn(value, " \t");
        return *value == '\0' || *value == ';';
}

/* Compares in time that depends only on the expected token's length, not on the guess. */
static bool token_equal(const char *given, size_t given_len, const char *want, size_t want_len)
{
        unsigned char diff = given_len != want_len;
        for (size_t i = 0; i < want_len; i++)
                diff |= (unsigned char)(i < given_len ? given[i] : 0) ^ (unsigned char)want[i];
        return diff == 0;
}

/* "Bearer <token>": the scheme is case-insensitive (RFC 9110), the token is not. */
static bool auth_ok(const struct whip_server *s, const char *value)
{
        if (!value)
                return false;
        value += strspn(value, " \t");
        if (strncasecmp(value, "Bearer", 6) != 0 || (value[6] != ' ' && value[6] != '\t'))
                return false;
        value += 6;
        value += strspn(value, " \t");
        size_t len = strlen(value);
        while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
                len--;
        return token_equal(value, len, s->token, s->token_len);
}

static void add_header(struct MHD_Response *resp, const char *name, const char *value)
{
        if (MHD_add_response_header(resp, name, value) != MHD_YES)
                log_warn("http", "could not add header %s to a response", name);
}

/* Queues a response and logs the request line. body is copied. */
static enum MHD_Result reply(struct whip_server_req *r, struct MHD_Connection *c,
                             const char *method, const char *url, unsigned status,
                             const char *ctype, const void *body, size_t len,
                             const char *const *hdrs)
{
        r->responded = true;
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
        if (!resp) {
                log_warn("http", "%s: out of memory for the response", method);
                return MHD_NO;
        }
        if (ctype)
                add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
        /* A page served from elsewhere (or a file://) may use the API: WHIP players do. */
        add_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        add_header(resp, "Access-Control-Expose-Headers", CORS_EXPOSE);
        add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        for (size_t i = 0; hdrs && hdrs[i]; i += 2)
                add_header(resp, hdrs[i], hdrs[i + 1]);
        enum MHD_Result rc = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        char u[96];
        clean(u, sizeof(u), url);
        if (rc != MHD_YES)
                log_warn("http", "%s %s: could not queue the %u response", method, u, status);
        else
                log_debug("http", "%s %s -> %u", method, u, status);
        return rc;
}

/* A text/plain body of one line naming why. */
static enum MHD_Result reply_error(struct whip_server_req *r, struct MHD_Connection *c,
                                   const char *method, const char *url, unsigned status,
                                   const char *why)
{
        char line[WHY_MAX + 2];
        clean(line, sizeof(line) - 1, why && *why ? why : "request refused");
        size_t n = strlen(line);
        line[n++] = '\n';
        const char *hdrs[5];
        size_t h = 0;
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED && r->allow) {
                hdrs[h++] = MHD_HTTP_HEADER_ALLOW;
                hdrs[h++] = r->allow;
        }
        if (r->www_auth) {
                hdrs[h++] = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
                hdrs[h++] = "Bearer";
        }
        hdrs[h] = NULL;
        return reply(r, c, method, url, status, "text/plain; charset=utf-8", line, n, hdrs);
}

/*
 * Picks what to do with a request from its line and headers, before any body is read: the
 * token is checked here so that nothing is stored for a client that has none.
 */
static void classify(struct whip_server *s, struct MHD_Connection *c, const char *url,
                     const char *method, struct whip_server_req *r)
{
        char u[96];
        clean(u, sizeof(u), url);
        bool root = strcmp(url, "/") == 0;
        bool endpoint = root || strcmp(url, ENDPOINT) == 0;
        const char *id = NULL;
        if (strncmp(url, ENDPOINT "/", sizeof(ENDPOINT)) == 0) {
                id = url + sizeof(ENDPOINT);
                if (!*id || strchr(id, '/'))
                        id = NULL;
        }
        if (!endpoint && !id) {
                req_reject(r, MHD_HTTP_NOT_FOUND, "no such resource: %s", u);
                return;
        }
        r->allow = id ? allow_resource : root && s->page ? allow_root_page : allow_endpoint;
        if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0) {
                r->kind = REQ_OPTIONS;
                return;
        }
        if (root && (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
                     strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)) {
                if (s->page)
                        r->kind = REQ_PAGE;
                else
                        req_reject(r, MHD_HTTP_NOT_FOUND, "no page here: POST offers to %s",
                                   ENDPOINT);
                return;
        }
        bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
        bool patch = strcmp(method, MHD_HTTP_METHOD_PATCH) == 0;
        bool del = strcmp(method, MHD_HTTP_METHOD_DELETE) == 0;
        if (endpoint && !post) {
                req_reject(r, MHD_HTTP_METHOD_NOT_ALLOWED,
                           "%s is the WHIP endpoint: POST an SDP offer (application/sdp)", u);
                return;
        }
        if (id && !patch && !del) {
                req_reject(r, MHD_HTTP_METHOD_NOT_ALLOWED,
                           "a WHIP session takes PATCH (candidates) and DELETE (hang up)");
                return;
        }
        if (s->token) {
                const char *auth =
                    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
                if (!auth_ok(s, auth)) {
                        r->www_auth = true;
                        req_reject(r, MHD_HTTP_UNAUTHORIZED,
                                   auth ? "wrong token in Authorization"
                                        : "Authorization: Bearer <token> required");
                        return;
                }
        }
        if (id && (!s->session || strcmp(id, s->session_id) != 0)) {
                req_reject(r, MHD_HTTP_NOT_FOUND, "no session at %s", u);
                return;
        }
        if (del) {
                r->kind = REQ_DELETE;
                return;
        }
        if (patch && !s->on_patch) {
                r->allow = "OPTIONS, DELETE";
                req_reject(r, MHD_HTTP_METHOD_NOT_ALLOWED, "trickle ICE is not supported here");
                return;
        }
        if (post && s->session) {
                req_reject(r, MHD_HTTP_CONFLICT, "a session is already in progress");
                return;
        }
        const char *want = post ? "application/sdp" : "application/trickle-ice-sdpfrag";
        const char *ctype =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!media_type_is(ctype, want)) {
                char got[96];
                clean(got, sizeof(got), ctype);
                req_reject(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be %s, got %s",
                           want, ctype ? got : "none");
                return;
        }
        const char *clen =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (clen && strtoull(clen, NULL, 10) > WHIP_SERVER_MAX_BODY) {
                req_reject(r, MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than %d bytes",
                           WHIP_SERVER_MAX_BODY);
                return;
        }
        r->kind = post ? REQ_OFFER : REQ_PATCH;
}

/*
 * A refusal normally waits for the end of the body so that the client reads it on a clean
 * connection. A client that waits for "100 Continue" has sent no body yet, and one that
 * announces a huge body is not worth reading: those get the answer now, and libmicrohttpd closes
 * the connection after it.
 */
static bool refuse_now(struct MHD_Connection *c)
{
        const char *expect =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        if (expect && strcasecmp(expect, "100-continue") == 0)
                return true;
        const char *clen =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        return clen && strtoull(clen, NULL, 10) > DRAIN_MAX;
}

static void random_hex(char *dst, size_t nbytes)
{
        uint8_t raw[16];
        if (nbytes > sizeof(raw))
                nbytes = sizeof(raw);
        if (rand_bytes(raw, nbytes) < 0)
                log_warn("http", "no randomness for a session id");
        for (size_t i = 0; i < nbytes; i++)
                sprintf(dst + 2 * i, "%02x", raw[i]);
}

static enum MHD_Result finish_offer(struct whip_server *s, struct MHD_Connection *c,
                                    const char *method, const char *url, struct whip_server_req *r)
{
        if (s->free_pending)
                return reply_error(r, c, method, url, MHD_HTTP_SERVICE_UNAVAILABLE,
                                   "shutting down");
        /* Another POST may have won while this body was arriving. */
        if (s->session)
                return reply_error(r, c, method, url, MHD_HTTP_CONFLICT,
                                   "a session is already in progress");
        if (buf_terminate(&r->body) < 0)
                return reply_error(r, c, method, url, MHD_HTTP_SERVICE_UNAVAILABLE,
                                   "out of memory");
        struct buf answer = BUF_INIT;
        char why[WHY_MAX] = "";
        int status = s->on_offer(s->arg, r->body.data ? (const char *)r->body.data : "",
                                 r->body.len, &answer, why, sizeof(why));
        enum MHD_Result rc;
        if (status == MHD_HTTP_CREATED && answer.len) {
                random_hex(s->session_id, 8);
                s->etag[0] = '"';
                random_hex(s->etag + 1, 8);
                s->etag[17] = '"';
                s->etag[18] = '\0';
                s->session = true;
                char location[sizeof(ENDPOINT) + sizeof(s->session_id)];
                snprintf(location, sizeof(location), "%s/%s", ENDPOINT, s->session_id);
                const char *hdrs[] = {MHD_HTTP_HEADER_LOCATION, location, MHD_HTTP_HEADER_ETAG,
                                      s->etag, NULL};
                rc = reply(r, c, method, url, MHD_HTTP_CREATED, "application/sdp", answer.data,
                           answer.len, hdrs);
        } else {
                if (status == MHD_HTTP_CREATED || status < 400 || status > 599) {
                        log_warn("http", "the offer handler returned %d%s; answering 500", status,
                                 status == MHD_HTTP_CREATED ? " without an answer" : "");
                        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                        if (!*why)
                                snprintf(why, sizeof(why), "internal error");
                }
                rc = reply_error(r, c, method, url, (unsigned)status, *why ? why : "offer refused");
        }
        buf_free(&answer);
        return rc;
}

static enum MHD_Result finish_patch(struct whip_server *s, struct MHD_Connection *c,
                                    const char *method, const char *url, struct whip_server_req *r)
{
        if (!s->session || s->free_pending)
                return reply_error(r, c, method, url, MHD_HTTP_NOT_FOUND, "the session has ended");
        if (buf_terminate(&r->body) < 0)
                return reply_error(r, c, method, url, MHD_HTTP_SERVICE_UNAVAILABLE,
                                   "out of memory");
        char why[WHY_MAX] = "";
        int status = s->on_patch(s->arg, r->body.data ? (const char *)r->body.data : "",
                                 r->body.len, why, sizeof(why));
        if (status >= 200 && status < 300)
                return reply(r, c, method, url, MHD_HTTP_NO_CONTENT, NULL, NULL, 0, NULL);
        if (status < 400 || status > 599) {
                log_warn("http", "the candidate handler returned %d; answering 500", status);
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
        return reply_error(r, c, method, url, (unsigned)status, *why ? why : "candidates refused");
}

/* Called once all of the body (if any) has arrived. */
static enum MHD_Result finish(struct whip_server *s, struct MHD_Connection *c, const char *method,
                              const char *url, struct whip_server_req *r)
{
        switch (r->kind) {
        case REQ_REJECT:
                return reply_error(r, c, method, url, r->status, r->why);
        case REQ_PAGE: {
                const char *hdrs[] = {"X-Content-Type-Options", "nosniff", NULL};
                return reply(r, c, method, url, MHD_HTTP_OK, "text/html; charset=utf-8", s->page,
                             s->page_len, hdrs);
        }
        case REQ_OPTIONS: {
                const char *hdrs[] = {MHD_HTTP_HEADER_ALLOW,
                                      r->allow,
                                      "Access-Control-Allow-Methods",
                                      r->allow,
                                      "Access-Control-Allow-Headers",
                                      "Authorization, Content-Type, If-Match",
                                      "Access-Control-Max-Age",
                                      "86400",
                                      r->allow == allow_resource ? NULL : "Accept-Post",
                                      "application/sdp",
                                      NULL};
                return reply(r, c, method, url, MHD_HTTP_NO_CONTENT, NULL, NULL, 0, hdrs);
        }
        case REQ_OFFER:
                return finish_offer(s, c, method, url, r);
        case REQ_PATCH:
                return finish_patch(s, c, method, url, r);
        case REQ_DELETE:
                if (!s->session)
                        return reply_error(r, c, method, url, MHD_HTTP_NOT_FOUND,
                                           "the session has ended");
                s->session = false;
                /* on_delete runs from on_completed, once the 200 has gone out. */
                r->deleted = true;
                return reply(r, c, method, url, MHD_HTTP_OK, NULL, NULL, 0, NULL);
        }
        return MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
        (void)version;
        struct whip_server *s = cls;
        struct whip_server_req *r = *con_cls;
        if (!r) {
                r = calloc(1, sizeof(*r));
                if (!r) {
                        log_warn("http", "out of memory for a request; dropping the connection");
                        return MHD_NO;
                }
                *con_cls = r;
                classify(s, c, url, method, r);
                if (r->kind == REQ_REJECT && refuse_now(c))
                        return finish(s, c, method, url, r);
                return MHD_YES;
        }
        if (r->responded) {
                *size = 0;
                return MHD_YES;
        }
        if (*size) {
                size_t n = *size;
                *size = 0;
                r->seen = r->seen + n < r->seen ? SIZE_MAX : r->seen + n;
                if (r->kind == REQ_OFFER || r->kind == REQ_PATCH) {
                        if (r->seen > WHIP_SERVER_MAX_BODY)
                                req_reject(r, MHD_HTTP_CONTENT_TOO_LARGE,
                                           "the body is larger than %d bytes",
                                           WHIP_SERVER_MAX_BODY);
                        else if (buf_append(&r->body, data, n) < 0)
                                req_reject(r, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
                } else if (r->seen > DRAIN_MAX) {
                        char u[96];
                        clean(u, sizeof(u), url);
                        log_debug("http", "%s %s: dropping a connection that sent over %d bytes",
                                  method, u, DRAIN_MAX);
                        return MHD_NO;
                }
                return MHD_YES;
        }
        return finish(s, c, method, url, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        (void)c;
        struct whip_server *s = cls;
        struct whip_server_req *r = *con_cls;
        if (!r)
                return;
        *con_cls = NULL;
        bool deleted = r->deleted;
        if (!r->responded && toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
                log_debug("http", "a request ended without an answer (code %d)", (int)toe);
        buf_free(&r->body);
        free(r);
        /* The client may have gone before reading the 200: it hung up all the same. */
        if (deleted && !s->stopping && !s->free_pending && s->on_delete)
                s->on_delete(s->arg);
}

/*
 * libmicrohttpd's own messages: while starting they explain a failure, later they are about
 * single connections (a client that went away, a bad TLS handshake) and only worth a debug line.
 */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        struct whip_server *s = cls;
        char msg[160];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == '.'))
                msg[--n] = '\0';
        /* The first message names the cause; later ones only say what failed because of it. */
        if (s->starting && !*s->mhd_msg)
                snprintf(s->mhd_msg, sizeof(s->mhd_msg), "%s", msg);
        /* Worth one warning: from now on clients are being turned away. */
        if (!s->warned_limit && strstr(msg, "reached connection limit")) {
                s->warned_limit = true;
                log_warn("http",
                         "too many HTTP connections (%d, or %d from one address): "
                         "turning new ones away",
                         CONN_LIMIT, CONN_PER_IP_LIMIT);
        }
        log_debug("http", "libmicrohttpd: %s", msg);
}

static void on_timer(struct loop *loop, void *arg);

static void destroy(struct whip_server *s)
{
        if (s->timer > 0)
                loop_cancel_timer(s->loop, s->timer);
        if (s->mhd) {
                if (s->epfd >= 0)
                        loop_del_fd(s->loop, s->epfd);
                s->stopping = true;
                MHD_stop_daemon(s->mhd);
        }
        free(s->token);
        free(s->page);
        /* Either file may hold the private key (one PEM with both is common). */
        char *pem[] = {s->tls_cert, s->tls_key};
        for (int i = 0; i < 2; i++) {
                if (pem[i]) {
                        explicit_bzero(pem[i], strlen(pem[i]));
                        free(pem[i]);
                }
        }
        free(s);
}

static unsigned connection_count(struct whip_server *s)
{
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        return info ? info->num_connections : 0;
}

/*
 * Asks libmicrohttpd when it next needs to run even without socket activity. One case it does
 * not report: at the connection limit it takes the listening socket out of its epoll set and puts
 * it back only at the start of a later run, so after connections closed it must run once more
 * or queued clients would wait for an event that never comes.
 */
static void rearm(struct whip_server *s)
{
        if (s->timer > 0)
                loop_cancel_timer(s->loop, s->timer);
        s->timer = 0;
        unsigned conns = connection_count(s);
        bool fewer = conns < s->conns;
        s->conns = conns;
        MHD_UNSIGNED_LONG_LONG ms = 0;
        if (!fewer && MHD_get_timeout(s->mhd, &ms) != MHD_YES)
                return;
        if (ms > 3600 * 1000)
                ms = 3600 * 1000;
        int id = loop_add_timer(s->loop, clock_now_us() + ms * 1000, on_timer, s);
        if (id < 0)
                log_warn("http", "no timer for the HTTP server: %s", strerror(-id));
        else
                s->timer = id;
}

static void run(struct whip_server *s)
{
        s->in_run++;
        MHD_run(s->mhd);
        s->in_run--;
        if (s->free_pending && !s->in_run) {
                destroy(s);
                return;
        }
        rearm(s);
}

static void on_timer(struct loop *loop, void *arg)
{
        (void)loop;
        struct whip_server *s = arg;
        s->timer = 0;
        run(s);
}

static void on_fd(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)fd;
        (void)events;
        run(arg);
}

/* Reads a PEM file whole, NUL-terminated (libmicrohttpd takes the text). */
static int read_pem(const char *opt, const char *path, char **out, char *err, size_t errlen)
{
        *out = NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                int e = errno;
                snprintf(err, errlen, "%s %s: %s", opt, path, strerror(e));
                return -e;
        }
        struct buf b = BUF_INIT;
        int rc = 0;
        for (;;) {
                if (b.len > PEM_MAX) {
                        rc = -EFBIG;
                        snprintf(err, errlen, "%s %s: larger than %d bytes", opt, path, PEM_MAX);
                        break;
                }
                if ((rc = buf_reserve(&b, 4096)) < 0) {
                        snprintf(err, errlen, "%s %s: %s", opt, path, strerror(-rc));
                        break;
                }
                ssize_t n = read(fd, b.data + b.len, b.cap - b.len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        rc = -errno;
                        snprintf(err, errlen, "%s %s: %s", opt, path, strerror(errno));
                        break;
                }
                if (n == 0)
                        break;
                b.len += (size_t)n;
        }
        close(fd);
        if (rc == 0 && (rc = buf_terminate(&b)) < 0)
                snprintf(err, errlen, "%s %s: %s", opt, path, strerror(-rc));
        if (rc == 0 && !strstr((const char *)b.data, "-----BEGIN ")) {
                rc = -EINVAL;
                snprintf(err, errlen, "%s %s: not a PEM file", opt, path);
        }
        if (rc < 0) {
                if (b.data)
                        explicit_bzero(b.data, b.cap);
                buf_free(&b);
                return rc;
        }
        *out = (char *)b.data;
        return 0;
}

static bool sockaddr_loopback(const struct sockaddr_storage *ss)
{
        if (ss->ss_family == AF_INET) {
                const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
                return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
        }
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
                return s6->sin6_addr.s6_addr[12] == 127;
        return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
}

static bool sockaddr_wildcard(const struct sockaddr_storage *ss)
{
        if (ss->ss_family == AF_INET)
                return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/*
 * Splits "[ADDR:]PORT" into host and port. IPv6 needs brackets: "::1:8080" would be ambiguous.
 */
static int parse_listen(const char *spec, char *host, size_t hostlen, char *port, char *err,
                        size_t errlen)
{
        const char *p;
        size_t hl = 0;
        if (spec[0] == '[') {
                const char *end = strchr(spec, ']');
                if (!end || end[1] != ':') {
                        snprintf(err, errlen, "--listen %s: expected [IPV6]:PORT", spec);
                        return -EINVAL;
                }
                hl = (size_t)(end - spec - 1);
                memcpy(host, spec + 1, hl < hostlen ? hl : 0);
                p = end + 2;
        } else {
                const char *colon = strrchr(spec, ':');
                if (colon && strchr(spec, ':') != colon) {
                        snprintf(err, errlen,
                                 "--listen %s: put an IPv6 address in brackets, as in [::1]:8080",
                                 spec);
                        return -EINVAL;
                }
                if (colon) {
                        hl = (size_t)(colon - spec);
                        memcpy(host, spec, hl < hostlen ? hl : 0);
                        p = colon + 1;
                        if (hl == 0) {
                                snprintf(err, errlen,
                                         "--listen %s: no address before the port (0.0.0.0%s for "
                                         "every interface, %s for loopback)",
                                         spec, spec, spec + 1);
                                return -EINVAL;
                        }
                } else {
                        hl = strlen("127.0.0.1");
                        memcpy(host, "127.0.0.1", hl + 1);
                        p = spec;
                }
        }
        if (hl == 0 || hl >= hostlen) {
                snprintf(err, errlen, "--listen %s: bad address", spec);
                return -EINVAL;
        }
        host[hl] = '\0';
        size_t pl = strspn(p, "0123456789");
        if (pl == 0 || p[pl] || pl > 5 || strtoul(p, NULL, 10) > 65535) {
                snprintf(err, errlen, "--listen %s: expected [ADDR:]PORT with PORT 0 to 65535",
                         spec);
                return -EINVAL;
        }
        memcpy(port, p, pl + 1);
        return 0;
}

/* Resolves, binds and listens; fills the bound address. Returns the socket or a negative code. */
static int open_listener(const char *spec, const char *host, const char *port,
                         struct sockaddr_storage *bound, char *err, size_t errlen)
{
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        int gai = getaddrinfo(host, port, &hints, &res);
        if (gai != 0) {
                snprintf(err, errlen, "--listen %s: cannot resolve %s: %s", spec, host,
                         gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
                return gai == EAI_NONAME ? -ENOENT : -EINVAL;
        }
        int fd = -1, first_err = 0;
        for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
                if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
                        continue;
                fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        first_err = first_err ? first_err : errno;
                        continue;
                }
                int on = 1;
                /* A restart right after a session must not wait out TIME_WAIT. */
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
                socklen_t len = sizeof(*bound);
                if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, CONN_LIMIT) < 0 ||
                    getsockname(fd, (struct sockaddr *)bound, &len) < 0) {
                        first_err = first_err ? first_err : errno;
                        close(fd);
                        fd = -1;
                }
        }
        freeaddrinfo(res);
        if (fd < 0) {
                if (!first_err)
                        first_err = EAFNOSUPPORT;
                snprintf(err, errlen, "--listen %s: %s", spec, strerror(first_err));
                return -first_err;
        }
        return fd;
}

static void make_url(struct whip_server *s, const char *host, const struct sockaddr_storage *ss)
{
        char ip[INET6_ADDRSTRLEN] = "";
        const char *scheme = s->tls_cert ? "https" : "http";
        unsigned char probe[sizeof(struct in6_addr)];
        bool literal =
            inet_pton(AF_INET, host, probe) == 1 || inet_pton(AF_INET6, host, probe) == 1;
        /* A name stays a name (a TLS certificate names it); a wildcard is reached locally. */
        if (!literal && !strchr(host, '%')) {
                snprintf(s->url, sizeof(s->url), "%s://%s:%u%s", scheme, host, s->port, ENDPOINT);
                return;
        }
        bool v6 = ss->ss_family == AF_INET6;
        if (sockaddr_wildcard(ss))
                snprintf(ip, sizeof(ip), "%s", v6 ? "::1" : "127.0.0.1");
        else if (v6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
        else
                inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
        snprintf(s->url, sizeof(s->url), "%s://%s%s%s:%u%s", scheme, v6 ? "[" : "", ip,
                 v6 ? "]" : "", s->port, ENDPOINT);
}

static int start_daemon(struct whip_server *s, int fd, bool v6, char *err, size_t errlen)
{
        unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
        if (v6)
                flags |= MHD_USE_IPv6;
        struct MHD_OptionItem tls[] = {
            {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
            {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
            {MHD_OPTION_END, 0, NULL},
        };
        if (s->tls_cert) {
                flags |= MHD_USE_TLS;
        } else {
                tls[0].option = MHD_OPTION_END;
        }
        s->starting = true;
        s->mhd = MHD_start_daemon(
            /* The logger first, or libmicrohttpd prints its option errors itself. */
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
            MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)CONN_PER_IP_LIMIT,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_LIMIT,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
        s->starting = false;
        if (!s->mhd) {
                snprintf(err, errlen, "HTTP server did not start%s%s%s",
                         s->tls_cert ? " (check --tls-cert and --tls-key)" : "",
                         *s->mhd_msg ? ": " : "", s->mhd_msg);
                return -EINVAL;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        s->epfd = info ? info->epoll_fd : -1;
        if (s->epfd < 0) {
                snprintf(err, errlen, "HTTP server: libmicrohttpd has no epoll descriptor");
                return -ENOTSUP;
        }
        int rc = loop_add_fd(s->loop, s->epfd, EPOLLIN, on_fd, s);
        if (rc < 0) {
                s->epfd = -1;
                snprintf(err, errlen, "HTTP server: %s", strerror(-rc));
                return rc;
        }
        rearm(s);
        return 0;
}

int whip_server_new(const struct whip_server_config *cfg, struct loop *loop,
                    struct whip_server **out, char *err, size_t errlen)
{
        char scratch[8];
        if (!err || !errlen) {
                err = scratch;
                errlen = sizeof(scratch);
        }
        *err = '\0';
        if (out)
                *out = NULL;
        if (!cfg || !loop || !out || !cfg->on_offer) {
                snprintf(err, errlen, "HTTP server: no offer handler");
                return -EINVAL;
        }
        if (!cfg->tls_cert != !cfg->tls_key) {
                snprintf(err, errlen, "--tls-cert and --tls-key go together");
                return -EINVAL;
        }
        if (cfg->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
                snprintf(err, errlen, "--tls-cert: libmicrohttpd was built without TLS");
                return -ENOTSUP;
        }
        if (cfg->token && !*cfg->token) {
                snprintf(err, errlen, "--token: the token is empty");
                return -EINVAL;
        }
        struct whip_server *s = calloc(1, sizeof(*s));
        if (!s) {
                snprintf(err, errlen, "HTTP server: %s", strerror(ENOMEM));
                return -ENOMEM;
        }
        s->loop = loop;
        s->epfd = -1;
        s->on_offer = cfg->on_offer;
        s->on_patch = cfg->on_patch;
        s->on_delete = cfg->on_delete;
        s->arg = cfg->arg;
        int rc = 0;
        if (cfg->token) {
                s->token = strdup(cfg->token);
                s->token_len = strlen(cfg->token);
                rc = s->token ? 0 : -ENOMEM;
        }
        if (rc == 0 && cfg->page) {
                /* One more byte so that an empty page is still "a page". */
                s->page = malloc(cfg->page_len + 1);
                if (s->page) {
                        memcpy(s->page, cfg->page, cfg->page_len);
                        s->page_len = cfg->page_len;
                } else {
                        rc = -ENOMEM;
                }
        }
        if (rc < 0) {
                snprintf(err, errlen, "HTTP server: %s", strerror(-rc));
                destroy(s);
                return rc;
        }
        if (cfg->tls_cert &&
            ((rc = read_pem("--tls-cert", cfg->tls_cert, &s->tls_cert, err, errlen)) < 0 ||
             (rc = read_pem("--tls-key", cfg->tls_key, &s->tls_key, err, errlen)) < 0)) {
                destroy(s);
                return rc;
        }
        const char *spec = cfg->listen ? cfg->listen : "127.0.0.1:0";
        char host[256], port[8];
        rc = parse_listen(spec, host, sizeof(host), port, err, errlen);
        struct sockaddr_storage bound = {0};
        int fd = rc < 0 ? rc : open_listener(spec, host, port, &bound, err, errlen);
        if (fd < 0) {
                destroy(s);
                return fd;
        }
        bool v6 = bound.ss_family == AF_INET6;
        s->port = ntohs(v6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                           : ((struct sockaddr_in *)&bound)->sin_port);
        s->public = !sockaddr_loopback(&bound);
        make_url(s, host, &bound);
        rc = start_daemon(s, fd, v6, err, errlen);
        if (rc < 0) {
                /*
                 * Not closed here: libmicrohttpd (0.9.75) closes the socket it was given also
                 * when it fails to start, and a second close could hit a reused descriptor.
                 */
                destroy(s);
                return rc;
        }
        log_debug("http", "serving WHIP at %s", s->url);
        *out = s;
        return 0;
}

const char *whip_server_url(const struct whip_server *s)
{
        return s->url;
}

uint16_t whip_server_port(const struct whip_server *s)
{
        return s->port;
}

bool whip_server_public(const struct whip_server *s)
{
        return s->public;
}

void whip_server_free(struct whip_server *s)
{
        if (!s)
                return;
        /* From a callback: libmicrohttpd is still on the stack; run() finishes the job. */
        if (s->in_run) {
                s->free_pending = true;
                return;
        }
        destroy(s);
}

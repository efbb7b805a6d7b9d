#include "signal/whip_client.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/clock.h"
#include "core/log.h"

/* The code our own completion gives loop_stop; the flags in whip_req tell it apart. */
#define WHIP_LOOP_CODE 0x5748 /* "WH" */
/* Longest slice of a server's text (reason phrase, first body line) quoted in a message. */
#define WHIP_QUOTE_MAX 200

enum whip_method {
        WHIP_POST,
        WHIP_PATCH,
        WHIP_DELETE,
};

/* The state of the one request in flight. */
struct whip_req {
        CURL *easy;
        bool done;      /* curl finished the transfer (result says how) */
        bool timed_out; /* our deadline timer fired first */
        CURLcode result;
        int deadline_timer;
        struct buf body;
        bool too_big;
        /* Headers of the latest response: a redirect or a 100 Continue starts them over. */
        char *location;
        char *etag;
        char *content_type;
        char reason[64];
        char errbuf[CURL_ERROR_SIZE];
};

struct whip_client {
        struct loop *loop;
        char *url;         /* as configured */
        char *display_url; /* the same without user and password, for messages */
        char *token;
        char *ca_file;
        CURLM *multi;
        int curl_timer; /* the loop timer standing for curl's single timeout, 0 when none */
        bool active;    /* one of the calls below is inside loop_run */
        bool freeing;
        int interrupt_code;
        char *resource;
        char *display_resource;
        char *etag;
        struct whip_req req;
};

static bool curl_ready;

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
        if (!err || !errlen)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

static int ensure_curl(void)
{
        /* Once per process and never cleaned up: GnuTLS underneath is shared with DTLS. */
        if (curl_ready)
                return 0;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        curl_ready = true;
        return 0;
}

/*
 * Copies untrusted text (a reason phrase, a body line) into dst for a one-line message: up to
 * the first line end, control characters (C0, DEL and the UTF-8 encoded C1 range, which some
 * terminals obey) replaced by '?'.
 */
static void quote_line(char *dst, size_t dstlen, const char *src, size_t len)
{
        size_t o = 0;
        /* Servers often start an explanation with a blank line or indentation. */
        while (len && isspace((unsigned char)*src)) {
                src++;
                len--;
        }
        for (size_t i = 0; i < len && o + 1 < dstlen && o < WHIP_QUOTE_MAX; i++) {
                unsigned char ch = (unsigned char)src[i];
                if (ch == '\r' || ch == '\n')
                        break;
                if (ch == 0xc2 && i + 1 < len && (unsigned char)src[i + 1] >= 0x80 &&
                    (unsigned char)src[i + 1] < 0xa0) {
                        dst[o++] = '?';
                        i++;
                        continue;
                }
                dst[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
        }
        while (o && dst[o - 1] == ' ')
                o--;
        if (dstlen)
                dst[o] = '\0';
}

static const char *status_phrase(long status, const char *server)
{
        /* Our own words first: HTTP/2 has no reason phrase and servers' phrases vary. */
        switch (status) {
        case 200:
                return "OK";
        case 201:
                return "Created";
        case 204:
                return "No Content";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 406:
                return "Not Acceptable";
        case 409:
                return "Conflict";
        case 410:
                return "Gone";
        case 412:
                return "Precondition Failed";
        case 413:
                return "Content Too Large";
        case 415:
                return "Unsupported Media Type";
        case 422:
                return "Unprocessable Content";
        case 428:
                return "Precondition Required";
        case 429:
                return "Too Many Requests";
        case 500:
                return "Internal Server Error";
        case 501:
                return "Not Implemented";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        case 504:
                return "Gateway Timeout";
        default:
                return server;
        }
}

/* The URL without user and password, which must not end up in logs; a copy of url if unparsable. */
static char *make_display_url(const char *url)
{
        CURLU *u = curl_url();
        char *s = NULL, *out = NULL;
        if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
                out = strdup(s);
        else
                out = strdup(url);
        curl_free(s);
        curl_url_cleanup(u);
        return out;
}

/* Checks an http(s) URL with a host; on failure a reason in why. */
static int check_url(const char *url, char *why, size_t whylen)
{
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL;
        int rc = 0;
        if (!u)
                return -ENOMEM;
        CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
        if (uc != CURLUE_OK) {
                snprintf(why, whylen, "%s", curl_url_strerror(uc));
                rc = -EINVAL;
        } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
                   (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
                snprintf(why, whylen, "the scheme must be http:// or https://");
                rc = -EINVAL;
        } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
                snprintf(why, whylen, "no host");
                rc = -EINVAL;
        }
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
        return rc;
}

/* RFC 9725 section 4.2: a relative Location is resolved against the URL that answered. */
static char *resolve_location(const char *base, const char *location)
{
        CURLU *u = curl_url();
        char *s = NULL, *out = NULL;
        if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
                char why[8];
                if (check_url(s, why, sizeof(why)) == 0)
                        out = strdup(s);
        }
        curl_free(s);
        curl_url_cleanup(u);
        return out;
}

/* --- curl's sockets and timer on our loop ------------------------------------------------- */

static void check_done(struct whip_client *c)
{
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(c->multi, &left))) {
                if (msg->msg != CURLMSG_DONE || msg->easy_handle != c->req.easy)
                        continue;
                c->req.done = true;
                c->req.result = msg->data.result;
                if (c->active)
                        loop_stop(c->loop, WHIP_LOOP_CODE);
        }
}

static void on_curl_fd(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        struct whip_client *c = arg;
        int flags = 0, running;
        if (events & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (events & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(c->multi, fd, flags, &running);
        check_done(c);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
        (void)easy;
        struct whip_client *c = userp;
        if (what == CURL_POLL_REMOVE) {
                loop_del_fd(c->loop, s);
                curl_multi_assign(c->multi, s, NULL);
                return 0;
        }
        uint32_t events = 0;
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        int rc;
        if (socketp) {
                rc = loop_mod_fd(c->loop, s, events);
                if (rc == 0)
                        return 0;
                /* epoll forgot it: the descriptor was closed and reused behind our back. */
        }
        /* Drop any stale entry under this number first, for the same reason. */
        loop_del_fd(c->loop, s);
        rc = loop_add_fd(c->loop, s, events, on_curl_fd, c);
        if (rc < 0) {
                log_error("signal", "cannot watch an HTTP socket: %s", strerror(-rc));
                return -1;
        }
        /* Any non-NULL pointer: it only marks the socket as registered. */
        curl_multi_assign(c->multi, s, c);
        return 0;
}

static int on_curl_close(void *clientp, curl_socket_t s)
{
        struct whip_client *c = clientp;
        /* The loop must not keep an entry whose number the next socket() hands out again. */
        loop_del_fd(c->loop, s);
        return close(s);
}

static void on_curl_timer_fire(struct loop *loop, void *arg)
{
        (void)loop;
        struct whip_client *c = arg;
        int running;
        c->curl_timer = 0;
        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(c);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *clientp)
{
        (void)multi;
        struct whip_client *c = clientp;
        if (c->curl_timer) {
                loop_cancel_timer(c->loop, c->curl_timer);
                c->curl_timer = 0;
        }
        if (timeout_ms < 0 || c->freeing)
                return 0;
        /* A zero timeout must not act from inside curl: the loop fires it on its next pass. */
        int id = loop_add_timer(c->loop, clock_now_us() + (uint64_t)timeout_ms * 1000,
                                on_curl_timer_fire, c);
        if (id < 0)
                return -1;
        c->curl_timer = id;
        return 0;
}

static void on_deadline(struct loop *loop, void *arg)
{
        struct whip_client *c = arg;
        c->req.deadline_timer = 0;
        c->req.timed_out = true;
        loop_stop(loop, WHIP_LOOP_CODE);
}

/* --- one transfer -------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
        struct whip_client *c = arg;
        size_t n = size * nmemb;
        if (c->req.body.len + n > WHIP_CLIENT_MAX_BODY) {
                c->req.too_big = true;
                return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
        }
        return buf_append(&c->req.body, data, n) == 0 ? n : 0;
}

static void replace(char **slot, const char *v, size_t len)
{
        free(*slot);
        *slot = strndup(v, len);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
        struct whip_client *c = arg;
        struct whip_req *r = &c->req;
        size_t n = size * nmemb, len = n;
        while (len && (data[len - 1] == '\r' || data[len - 1] == '\n'))
                len--;
        if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
                /* A new response (after a redirect or 100 Continue): forget the last one's. */
                free(r->location);
                free(r->etag);
                free(r->content_type);
                r->location = r->etag = r->content_type = NULL;
                r->reason[0] = '\0';
                buf_reset(&r->body);
                /* "HTTP/1.1 404 Not Found": the phrase follows the second space. */
                const char *sp = memchr(data, ' ', len);
                const char *sp2 = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - data)) : NULL;
                if (sp2)
                        quote_line(r->reason, sizeof(r->reason), sp2 + 1,
                                   len - (size_t)(sp2 + 1 - data));
                return n;
        }
        const char *colon = memchr(data, ':', len);
        if (!colon)
                return n;
        size_t nlen = (size_t)(colon - data);
        const char *v = colon + 1, *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        char **slot = NULL;
        if (nlen == 8 && !strncasecmp(data, "location", 8))
                slot = &r->location;
        else if (nlen == 4 && !strncasecmp(data, "etag", 4))
                slot = &r->etag;
        else if (nlen == 12 && !strncasecmp(data, "content-type", 12))
                slot = &r->content_type;
        if (slot)
                replace(slot, v, (size_t)(end - v));
        return n;
}

/* At trace level, curl's conversation line by line, with the token blanked out. */
static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *arg)
{
        (void)easy;
        (void)arg;
        const char *dir;
        switch (type) {
        case CURLINFO_TEXT:
                dir = "*";
                break;
        case CURLINFO_HEADER_IN:
                dir = "<";
                break;
        case CURLINFO_HEADER_OUT:
                dir = ">";
                break;
        default:
                return 0; /* bodies: the SDP is logged elsewhere */
        }
        while (size) {
                const char *nl = memchr(data, '\n', size);
                size_t len = nl ? (size_t)(nl - data) + 1 : size;
                size_t show = len;
                while (show && (data[show - 1] == '\n' || data[show - 1] == '\r'))
                        show--;
                if (show >= 14 && !strncasecmp(data, "authorization:", 14))
                        log_trace("signal", "%s Authorization: (hidden)", dir);
                else if (show)
                        log_trace("signal", "%s %.*s", dir, (int)show, data);
                data += len;
                size -= len;
        }
        return 0;
}

static void req_reset(struct whip_req *r)
{
        if (r->easy)
                curl_easy_cleanup(r->easy);
        buf_free(&r->body);
        free(r->location);
        free(r->etag);
        free(r->content_type);
        memset(r, 0, sizeof(*r));
        buf_init(&r->body);
}

/* Maps a failed transfer to our code and message. */
static int transfer_error(struct whip_client *c, const char *url, unsigned secs, char *err,
                          size_t errlen)
{
        struct whip_req *r = &c->req;
        const char *text = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result);
        /* curl's text can quote the server (a certificate's name): one clean line of it. */
        char detail[WHIP_QUOTE_MAX + 1];
        quote_line(detail, sizeof(detail), text, strlen(text));
        long oserr = 0;
        switch (r->result) {
        case CURLE_COULDNT_CONNECT:
                curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oserr);
                if (oserr)
                        set_err(err, errlen, "cannot connect to %s: %s", url, strerror((int)oserr));
                else
                        set_err(err, errlen, "cannot connect to %s: %s", url, detail);
                if (oserr == EHOSTUNREACH || oserr == ENETUNREACH)
                        return -EHOSTUNREACH;
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                set_err(err, errlen, "cannot connect to %s: %s", url, detail);
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                set_err(err, errlen, "no answer from %s within %u s", url, secs);
                return -ETIMEDOUT;
        case CURLE_PEER_FAILED_VERIFICATION:
                set_err(err, errlen, "TLS certificate of %s is not trusted%s: %s", url,
                        c->ca_file ? " by the CA file" : "", detail);
                return -EPROTO;
        case CURLE_SSL_CACERT_BADFILE:
                set_err(err, errlen, "cannot use the CA file for %s: %s", url, detail);
                return -EPROTO;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ENGINE_INITFAILED:
                set_err(err, errlen, "TLS with %s failed: %s", url, detail);
                return -EPROTO;
        case CURLE_TOO_MANY_REDIRECTS:
                set_err(err, errlen, "%s redirected more than %d times", url,
                        WHIP_CLIENT_MAX_REDIRECTS);
                return -EPROTO;
        case CURLE_UNSUPPORTED_PROTOCOL:
                set_err(err, errlen, "%s redirected to a URL that is not http or https: %s", url,
                        detail);
                return -EPROTO;
        case CURLE_FILESIZE_EXCEEDED:
                set_err(err, errlen, "the response from %s exceeds %u KiB", url,
                        WHIP_CLIENT_MAX_BODY / 1024);
                return -E2BIG;
        case CURLE_WRITE_ERROR:
                if (r->too_big) {
                        set_err(err, errlen, "the response from %s exceeds %u KiB", url,
                                WHIP_CLIENT_MAX_BODY / 1024);
                        return -E2BIG;
                }
                set_err(err, errlen, "out of memory reading the response from %s", url);
                return -ENOMEM;
        case CURLE_OUT_OF_MEMORY:
                set_err(err, errlen, "out of memory talking to %s", url);
                return -ENOMEM;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                set_err(err, errlen, "%s closed the connection: %s", url, detail);
                return -ECONNRESET;
        default:
                set_err(err, errlen, "request to %s failed: %s", url, detail);
                return -EPROTO;
        }
}

static int add_header(struct curl_slist **list, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends one formatted header line; curl_slist_append copies it. */
static int add_header(struct curl_slist **list, const char *fmt, ...)
{
        struct buf line = BUF_INIT;
        va_list ap;
        va_start(ap, fmt);
        int rc = buf_vprintf(&line, fmt, ap);
        va_end(ap);
        if (rc == 0)
                rc = buf_terminate(&line);
        struct curl_slist *t = rc == 0 ? curl_slist_append(*list, (const char *)line.data) : NULL;
        /* The token was in there. */
        if (line.data)
                explicit_bzero(line.data, line.len);
        buf_free(&line);
        if (!t)
                return -ENOMEM;
        *list = t;
        return 0;
}

/*
 * Runs one request to completion (any HTTP status) on the loop. Returns 0 with *status set, or
 * a negative code with the message in err. The response stays in c->req for the caller.
 */
static int perform(struct whip_client *c, enum whip_method m, const char *url, const char *display,
                   const char *ctype, const char *data, size_t len, uint64_t deadline_us,
                   long *status, char *err, size_t errlen)
{
        static const char *const names[] = {"POST", "PATCH", "DELETE"};
        if (c->active) {
                set_err(err, errlen, "a request to %s is already running", c->display_url);
                return -EBUSY;
        }
        req_reset(&c->req);
        uint64_t now = clock_now_us();
        uint64_t left_us = deadline_us > now ? deadline_us - now : 0;
        unsigned secs = (unsigned)((left_us + CLOCK_US_PER_SEC - 1) / CLOCK_US_PER_SEC);
        if (!left_us) {
                set_err(err, errlen, "no answer from %s within %u s", display, secs);
                return -ETIMEDOUT;
        }
        long left_ms = (long)((left_us + 999) / 1000);

        struct whip_req *r = &c->req;
        struct curl_slist *hdrs = NULL;
        int rc = 0;
        r->easy = curl_easy_init();
        if (!r->easy) {
                rc = -ENOMEM;
                goto out;
        }
        CURL *e = r->easy;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "rtcpeer/" RTCPEER_VERSION);
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)WHIP_CLIENT_MAX_REDIRECTS);
        /* A 301 or 302 in front of a WHIP endpoint means "POST there", not "GET there". */
        curl_easy_setopt(e, CURLOPT_POSTREDIR, (long)(CURL_REDIR_POST_301 | CURL_REDIR_POST_302));
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, left_ms);
        /* A backstop only: our deadline timer normally ends the wait first. */
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left_ms + 1000);
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)WHIP_CLIENT_MAX_BODY);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
        curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_curl_close);
        curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
        if (c->ca_file)
                curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
        if (log_enabled(LOG_LEVEL_TRACE, "signal")) {
                curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
                curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
        }
        if (m == WHIP_PATCH)
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PATCH");
        else if (m == WHIP_DELETE)
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        if (m != WHIP_DELETE) {
                curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
                /* Not copied: data outlives the transfer, which ends before we return. */
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, len ? data : "");
        }

        if (ctype)
                rc = add_header(&hdrs, "Content-Type: %s", ctype);
        if (rc == 0 && m == WHIP_POST)
                rc = add_header(&hdrs, "Accept: application/sdp");
        /* curl would otherwise wait for 100 Continue before sending a large offer. */
        if (rc == 0)
                rc = add_header(&hdrs, "Expect:");
        if (rc == 0 && c->token)
                rc = add_header(&hdrs, "Authorization: Bearer %s", c->token);
        if (rc == 0 && m == WHIP_PATCH && c->etag)
                rc = add_header(&hdrs, "If-Match: %s", c->etag);
        if (rc < 0)
                goto out;
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);

        if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
                rc = -ENOMEM;
                goto out;
        }
        r->deadline_timer = loop_add_timer(c->loop, deadline_us, on_deadline, c);
        if (r->deadline_timer < 0) {
                rc = r->deadline_timer;
                r->deadline_timer = 0;
                curl_multi_remove_handle(c->multi, e);
                goto out;
        }
        log_debug("signal", "%s %s (%zu bytes)", names[m], display, len);
        c->active = true;
        int code = loop_run(c->loop);
        c->active = false;
        if (r->deadline_timer) {
                loop_cancel_timer(c->loop, r->deadline_timer);
                r->deadline_timer = 0;
        }
        if (!r->done) {
                /* Timed out or interrupted: removing the handle aborts the transfer. */
                curl_multi_remove_handle(c->multi, e);
                if (r->timed_out) {
                        set_err(err, errlen, "no answer from %s within %u s", display, secs);
                        rc = -ETIMEDOUT;
                } else {
                        c->interrupt_code = code;
                        set_err(err, errlen, "interrupted while waiting for %s", display);
                        rc = -EINTR;
                }
                goto out;
        }
        curl_multi_remove_handle(c->multi, e);
        if (r->result != CURLE_OK) {
                rc = transfer_error(c, display, secs, err, errlen);
                goto out;
        }
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
        log_debug("signal", "%s %s: %ld %s", names[m], display, *status,
                  status_phrase(*status, r->reason));
out:
        if (rc == -ENOMEM && err && !err[0])
                set_err(err, errlen, "out of memory talking to %s", display);
        curl_slist_free_all(hdrs);
        return rc;
}

/* The message for a status the caller did not expect. */
static int http_error(struct whip_client *c, const char *url, long status, char *err, size_t errlen)
{
        struct whip_req *r = &c->req;
        const char *phrase = status_phrase(status, r->reason);
        const char *sep = phrase[0] ? " " : "";
        char first[WHIP_QUOTE_MAX + 1];
        quote_line(first, sizeof(first), (const char *)r->body.data, r->body.len);
        if (status == 401 || status == 403) {
                if (c->token)
                        set_err(err, errlen, "%s refused the token (%ld%s%s)", url, status, sep,
                                phrase);
                else
                        set_err(err, errlen, "%s requires a token (%ld%s%s)", url, status, sep,
                                phrase);
                return -EACCES;
        }
        if (first[0])
                set_err(err, errlen, "%s answered %ld%s%s: %s", url, status, sep, phrase, first);
        else
                set_err(err, errlen, "%s answered %ld%s%s", url, status, sep, phrase);
        return -EPROTO;
}

/* "application/sdp; charset=utf-8" is application/sdp. */
static bool media_type_is(const char *ctype, const char *want)
{
        if (!ctype)
                return false;
        size_t n = strcspn(ctype, "; \t");
        return n == strlen(want) && !strncasecmp(ctype, want, n);
}

static int set_resource(struct whip_client *c, char *resource)
{
        free(c->resource);
        free(c->display_resource);
        c->resource = resource;
        c->display_resource = NULL;
        if (resource) {
                c->display_resource = make_display_url(resource);
                if (!c->display_resource)
                        return -ENOMEM;
        }
        return 0;
}

static int set_etag(struct whip_client *c, const char *etag)
{
        free(c->etag);
        c->etag = NULL;
        if (etag && etag[0]) {
                c->etag = strdup(etag);
                if (!c->etag)
                        return -ENOMEM;
        }
        return 0;
}

int whip_client_new(const struct whip_client_config *cfg, struct loop *loop,
                    struct whip_client **out, char *err, size_t errlen)
{
        char why[128];
        if (err && errlen)
                err[0] = '\0';
        if (!out)
                return -EINVAL;
        *out = NULL;
        if (!cfg || !loop || !cfg->url || !cfg->url[0]) {
                set_err(err, errlen, "no WHIP/WHEP URL given");
                return -EINVAL;
        }
        int rc = ensure_curl();
        if (rc < 0) {
                set_err(err, errlen, "cannot initialize libcurl");
                return rc;
        }
        rc = check_url(cfg->url, why, sizeof(why));
        if (rc < 0) {
                set_err(err, errlen, "invalid URL %s: %s", cfg->url, why);
                return rc;
        }
        if (cfg->token) {
                /* It goes into a header line: a CR or LF would inject headers. */
                bool bad = !cfg->token[0];
                for (const char *p = cfg->token; *p; p++)
                        if ((unsigned char)*p < 0x20 || *p == 0x7f)
                                bad = true;
                if (bad) {
                        set_err(err, errlen, "the bearer token is empty or has control characters");
                        return -EINVAL;
                }
        }
        if (cfg->ca_file && access(cfg->ca_file, R_OK) < 0) {
                rc = -errno;
                set_err(err, errlen, "cannot read the CA file %s: %s", cfg->ca_file, strerror(-rc));
                return rc;
        }

        struct whip_client *c = calloc(1, sizeof(*c));
        if (!c)
                goto nomem;
        c->loop = loop;
        buf_init(&c->req.body);
        c->url = strdup(cfg->url);
        c->display_url = make_display_url(cfg->url);
        c->token = cfg->token ? strdup(cfg->token) : NULL;
        c->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
        c->multi = curl_multi_init();
        if (!c->url || !c->display_url || (cfg->token && !c->token) ||
            (cfg->ca_file && !c->ca_file) || !c->multi)
                goto nomem;
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        *out = c;
        return 0;
nomem:
        whip_client_free(c);
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
}

int whip_client_post(struct whip_client *c, const char *offer, size_t len, uint64_t deadline_us,
                     struct buf *answer, char *err, size_t errlen)
{
        if (err && errlen)
                err[0] = '\0';
        if (!c || (!offer && len) || !answer) {
                set_err(err, errlen, "invalid arguments");
                return -EINVAL;
        }
        long status = 0;
        const char *url = c->display_url;
        int rc = perform(c, WHIP_POST, c->url, url, "application/sdp", offer, len, deadline_us,
                         &status, err, errlen);
        struct whip_req *r = &c->req;
        if (rc < 0)
                goto out;
        if (status != 201) {
                rc = http_error(c, url, status, err, errlen);
                if (rc == -EPROTO && status >= 200 && status < 300)
                        set_err(err, errlen, "%s answered %ld %s instead of 201 Created", url,
                                status, status_phrase(status, r->reason));
                goto out;
        }
        if (!r->body.len) {
                set_err(err, errlen, "%s answered 201 Created without an SDP answer", url);
                rc = -EBADMSG;
                goto out;
        }
        if (!media_type_is(r->content_type, "application/sdp")) {
                char ct[64];
                quote_line(ct, sizeof(ct), r->content_type ? r->content_type : "",
                           r->content_type ? strlen(r->content_type) : 0);
                if (ct[0])
                        set_err(err, errlen,
                                "%s answered with Content-Type %s instead of application/sdp", url,
                                ct);
                else
                        set_err(err, errlen, "%s answered without Content-Type application/sdp",
                                url);
                rc = -EBADMSG;
                goto out;
        }

        char *resource = NULL;
        if (r->location) {
                /* The base is the URL that answered, after any redirect. */
                char *base = NULL;
                curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &base);
                resource = resolve_location(base ? base : c->url, r->location);
                if (!resource) {
                        char loc[WHIP_QUOTE_MAX + 1];
                        quote_line(loc, sizeof(loc), r->location, strlen(r->location));
                        log_warn("signal",
                                 "%s sent an unusable Location (%s): the session cannot be "
                                 "ended with DELETE",
                                 url, loc);
                }
        } else {
                log_warn("signal", "%s sent no Location: the session cannot be ended with DELETE",
                         url);
        }
        if (set_resource(c, resource) < 0 || set_etag(c, r->etag) < 0 ||
            buf_append(answer, r->body.data, r->body.len) < 0 || buf_terminate(answer) < 0) {
                set_err(err, errlen, "out of memory");
                rc = -ENOMEM;
                goto out;
        }
        if (c->resource)
                log_debug("signal", "session resource %s", c->display_resource);
out:
        req_reset(r);
        return rc;
}

int whip_client_patch(struct whip_client *c, const char *frag, size_t len, uint64_t deadline_us,
                      char *err, size_t errlen)
{
        if (err && errlen)
                err[0] = '\0';
        if (!c || (!frag && len)) {
                set_err(err, errlen, "invalid arguments");
                return -EINVAL;
        }
        if (!c->resource) {
                set_err(err, errlen, "%s gave no session resource to send candidates to",
                        c->display_url);
                return -ENOENT;
        }
        long status = 0;
        const char *url = c->display_resource;
        int rc = perform(c, WHIP_PATCH, c->resource, url, "application/trickle-ice-sdpfrag", frag,
                         len, deadline_us, &status, err, errlen);
        if (rc < 0)
                goto out;
        if (status >= 200 && status < 300) {
                /* An ICE restart gives the resource a new ETag (RFC 9725 section 4.3.2). */
                if (c->req.etag && set_etag(c, c->req.etag) < 0) {
                        set_err(err, errlen, "out of memory");
                        rc = -ENOMEM;
                }
                goto out;
        }
        rc = http_error(c, url, status, err, errlen);
        if (status == 405 || status == 501) {
                set_err(err, errlen, "%s does not accept trickled candidates (%ld %s)", url, status,
                        status_phrase(status, c->req.reason));
                rc = -EOPNOTSUPP;
        }
out:
        req_reset(&c->req);
        return rc;
}

int whip_client_delete(struct whip_client *c, uint64_t deadline_us, char *err, size_t errlen)
{
        if (err && errlen)
                err[0] = '\0';
        if (!c)
                return -EINVAL;
        if (!c->resource)
                return 0;
        long status = 0;
        const char *url = c->display_resource;
        int rc = perform(c, WHIP_DELETE, c->resource, url, NULL, NULL, 0, deadline_us, &status, err,
                         errlen);
        if (rc < 0)
                goto out;
        if ((status >= 200 && status < 300) || status == 404 || status == 410) {
                if (status >= 300)
                        log_info("signal", "%s was already gone (%ld)", url, status);
                set_resource(c, NULL);
                set_etag(c, NULL);
                goto out;
        }
        rc = http_error(c, url, status, err, errlen);
out:
        req_reset(&c->req);
        return rc;
}

const char *whip_client_resource(const struct whip_client *c)
{
        return c ? c->resource : NULL;
}

const char *whip_client_etag(const struct whip_client *c)
{
        return c ? c->etag : NULL;
}

int whip_client_interrupt_code(const struct whip_client *c)
{
        return c ? c->interrupt_code : 0;
}

void whip_client_free(struct whip_client *c)
{
        if (!c)
                return;
        c->freeing = true;
        req_reset(&c->req);
        /* Closes the cached connections through on_curl_close, which takes them off the loop. */
        if (c->multi)
                curl_multi_cleanup(c->multi);
        if (c->curl_timer)
                loop_cancel_timer(c->loop, c->curl_timer);
        free(c->url);
        free(c->display_url);
        if (c->token) {
                /* Not left behind in freed memory. */
                explicit_bzero(c->token, strlen(c->token));
                free(c->token);
        }
        free(c->ca_file);
        free(c->resource);
        free(c->display_resource);
        free(c->etag);
        free(c);
}

/*
 * The HTTP side of WHIP (RFC 9725): an endpoint that takes one SDP offer by POST and answers it,
 * and the session resource it creates, which takes trickled candidates (PATCH) and the hang-up
 * (DELETE). libmicrohttpd does the HTTP; it runs inside our epoll loop, without threads.
 *
 * The endpoint is POST /whip (or POST /); GET / serves the page given in the config. One session
 * per process: once an offer was answered, further offers get 409 until the DELETE.
 */
#ifndef RTCPEER_SIGNAL_WHIP_SERVER_H
#define RTCPEER_SIGNAL_WHIP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct loop;
struct whip_server;

/* Largest offer or candidate fragment accepted, in bytes (413 beyond). */
#define WHIP_SERVER_MAX_BODY (64 * 1024)

struct whip_server_config {
        /*
         * "[ADDR:]PORT" as given to --listen: ADDR is IPv4, [IPv6] or a host name, 127.0.0.1
         * when left out; PORT 0 picks a free port. NULL is "127.0.0.1:0".
         */
        const char *listen;
        /* NULL: no Authorization needed; else "Authorization: Bearer <token>" is required. */
        const char *token;
        /* PEM files, both or neither: HTTPS through libmicrohttpd's GnuTLS. */
        const char *tls_cert;
        const char *tls_key;
        /* Body of GET / (text/html; charset=utf-8), copied; NULL: GET / is 404. */
        const char *page;
        size_t page_len;
        /*
         * A complete POSTed offer (Content-Type application/sdp); sdp is NUL-terminated after
         * len bytes. Returns an HTTP status: 201 with the answer appended to `answer`, or 4xx/5xx
         * with a one-line reason in why. Required.
         */
        int (*on_offer)(void *arg, const char *sdp, size_t len, struct buf *answer, char *why,
                        size_t whylen);
        /*
         * PATCH application/trickle-ice-sdpfrag on the session resource (NUL-terminated after
         * len). Returns 204 or 4xx with why. NULL: PATCH gets 405 (no trickle ICE).
         */
        int (*on_patch)(void *arg, const char *frag, size_t len, char *why, size_t whylen);
        /* DELETE on the session resource: the peer hung up. Called once the 200 went out. */
        void (*on_delete)(void *arg);
        void *arg;
};

/*
 * Binds and starts serving on loop. On failure returns a negative code and a one-line reason in
 * err ("--listen 127.0.0.1:80: Permission denied"). The callbacks run from the loop; they may
 * call whip_server_free (the teardown then waits until libmicrohttpd has returned). Free the
 * server before the loop.
 */
int whip_server_new(const struct whip_server_config *cfg, struct loop *loop,
                    struct whip_server **out, char *err, size_t errlen);
/*
 * Where to POST: "http://127.0.0.1:8080/whip" (https with TLS, the actual port when 0 was
 * asked, the host name when one was given, loopback for a wildcard address such as 0.0.0.0).
 */
const char *whip_server_url(const struct whip_server *s);
uint16_t whip_server_port(const struct whip_server *s);
/* True when the bind address is not a loopback address (the caller warns if there is no token). */
bool whip_server_public(const struct whip_server *s);
void whip_server_free(struct whip_server *s);

#endif

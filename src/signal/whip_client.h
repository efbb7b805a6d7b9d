/*
 * The HTTP client half of WHIP (RFC 9725) and WHEP: POST the offer, receive the answer and the
 * resource URL, PATCH trickled candidates to that resource, DELETE it to hang up.
 *
 * libcurl does the HTTP and TLS through its multi interface, driven by our own epoll loop: curl's
 * sockets become loop descriptors and its timeout one loop timer, so no thread is started and
 * nothing blocks. Each call below runs the caller's loop (loop_run) until its own request ends or
 * its deadline passes and returns with the loop stopped; other callbacks on the same loop keep
 * running meanwhile. If one of them calls loop_stop, the request is abandoned and the call returns
 * -EINTR (whip_client_interrupt_code then tells the code given to loop_stop).
 *
 * The calls block the caller in this way, so they must not be made from inside a callback of the
 * same loop (loop_run does not nest: the inner run's stop would end the outer one too).
 *
 * The client keeps curl's connections between calls (a PATCH reuses the POST's connection), so
 * free it before the loop it was created with.
 */
#ifndef RTCPEER_SIGNAL_WHIP_CLIENT_H
#define RTCPEER_SIGNAL_WHIP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"

/* Responses (answers and error bodies) larger than this fail with -E2BIG. */
#define WHIP_CLIENT_MAX_BODY (256u * 1024u)
/* RFC 9725 lets servers redirect the POST (307); longer chains are refused. */
#define WHIP_CLIENT_MAX_REDIRECTS 5

struct whip_client;

struct whip_client_config {
        const char *url;     /* http:// or https:// endpoint URL given to --connect */
        const char *token;   /* NULL or the bearer token: "Authorization: Bearer <token>" */
        const char *ca_file; /* NULL: system trust store; else PEM trust anchors for https */
};

/*
 * Validates the URL (scheme http or https, a host) and copies the configuration. Returns 0,
 * -EINVAL (bad URL or token), -ENOENT/-EACCES (ca_file unreadable) or -ENOMEM, with a reason in
 * err on failure. The loop must outlive the client.
 */
int whip_client_new(const struct whip_client_config *cfg, struct loop *loop,
                    struct whip_client **out, char *err, size_t errlen);

/*
 * POSTs the offer (Content-Type: application/sdp) and runs the loop until the answer arrives or
 * deadline_us (absolute clock_now_us() time) passes. On 201 Created returns 0 with the answer
 * appended to `answer` (NUL-terminated beyond len) and remembers the Location, resolved against
 * the request URL, and the ETag. Errors return a negative code with one line in err naming the
 * URL:
 *   -ECONNREFUSED, -EHOSTUNREACH  no connection (refused; unreachable or unresolvable host)
 *   -ETIMEDOUT                    no answer before the deadline
 *   -EACCES                       401 or 403: the token was refused (or one is needed)
 *   -EPROTO                       another HTTP status (quoting the first line of the body),
 *                                 too many redirects, a TLS failure (untrusted certificate...)
 *   -EBADMSG                      201 without a body or not application/sdp (a 201 without a
 *                                 Location only warns: DELETE is then impossible)
 *   -E2BIG                        the response body exceeds WHIP_CLIENT_MAX_BODY
 *   -ECONNRESET                   the server closed the connection without a response
 *   -EINTR                        someone else stopped the loop first
 *   -EBUSY                        another request of this client is running
 */
int whip_client_post(struct whip_client *c, const char *offer, size_t len, uint64_t deadline_us,
                     struct buf *answer, char *err, size_t errlen);

/*
 * PATCHes a trickle-ice-sdpfrag (RFC 8840) to the resource, with If-Match: <ETag> when one is
 * known, and remembers a new ETag if the server sends one. Returns 0 on any 2xx, -ENOENT when
 * there is no resource, -EOPNOTSUPP on 405 or 501 (the server does not take trickled
 * candidates) and otherwise the codes of whip_client_post.
 */
int whip_client_patch(struct whip_client *c, const char *frag, size_t len, uint64_t deadline_us,
                      char *err, size_t errlen);

/*
 * DELETEs the resource, ending the session at the server. Returns 0 on 2xx (and on 404/410: the
 * resource is already gone) and then forgets the resource; a no-op returning 0 when no resource
 * is known; otherwise the codes of whip_client_post.
 */
int whip_client_delete(struct whip_client *c, uint64_t deadline_us, char *err, size_t errlen);

/* The resource URL after a successful POST, or NULL. */
const char *whip_client_resource(const struct whip_client *c);
/* The ETag the server gave the resource, or NULL. */
const char *whip_client_etag(const struct whip_client *c);
/* After -EINTR: the code the other callback gave loop_stop (loop_run's return value). */
int whip_client_interrupt_code(const struct whip_client *c);

void whip_client_free(struct whip_client *c);

#endif

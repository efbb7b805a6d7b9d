/*
 * One peer: gathers local parameters (host candidates, ICE credentials, certificate), runs the
 * offer/answer exchange over the signaling I/O, and maps every failure to one line and an exit
 * code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli/cli.h"
#include "cli/sigio.h"
#include "core/clock.h"
#include "core/exitcode.h"
#include "core/log.h"
#include "core/rand.h"
#include "dtls/cert.h"
#include "net/hostaddr.h"
#include "sdp/negotiate.h"
#include "sdp/sdp.h"

struct peer {
	const struct cli_opts *opts;
	uint64_t deadline;
	struct net_host_addr hosts[NET_MAX_HOST_ADDRS];
	size_t n_hosts;
	struct sdp_candidate cands[NET_MAX_HOST_ADDRS];
	struct cert *cert;
	char fingerprint[CERT_FINGERPRINT_MAX];
	char ufrag[9];
	char pwd[25];
	char cname[17];
	struct sdp_local local;
	struct sigio_in in;
};

/* RFC 8445 5.1.2: host type preference 126; IPv6 ahead of IPv4 (RFC 8421), then gather order. */
static uint32_t host_priority(const struct net_host_addr *h, size_t index)
{
	uint32_t local_pref = (h->ipv6 ? 60000u : 50000u) - (uint32_t)index;
	return (126u << 24) | (local_pref << 8) | (256u - 1u);
}

static int gather(struct peer *p)
{
	int n = net_gather_host(p->hosts, NET_MAX_HOST_ADDRS);
	if (n < 0) {
		log_error(NULL, "no usable network address for a host candidate: %s", strerror(-n));
		return EXIT_FAILURE_INTERNAL;
	}
	p->n_hosts = (size_t)n;
	for (size_t i = 0; i < p->n_hosts; i++) {
		struct sdp_candidate *c = &p->cands[i];
		const struct net_host_addr *h = &p->hosts[i];
		memset(c, 0, sizeof(*c));
		/* Same type, base address and protocol give the same foundation (RFC 8445 5.1.1.3). */
		char key[96];
		int kl = snprintf(key, sizeof(key), "host udp %s", h->ip);
		uLong crc = crc32(0, (const Bytef *)key, (uInt)kl);
		snprintf(c->foundation, sizeof(c->foundation), "%lu", (unsigned long)crc);
		c->component = 1;
		snprintf(c->transport, sizeof(c->transport), "udp");
		c->priority = host_priority(h, i);
		snprintf(c->address, sizeof(c->address), "%s", h->ip);
		c->port = h->port;
		c->type = SDP_CAND_HOST;
		snprintf(c->ext, sizeof(c->ext), "generation 0");
	}
	return 0;
}

static int prepare_local(struct peer *p)
{
	int rc = gather(p);
	if (rc)
		return rc;
	if ((rc = cert_generate(&p->cert)) < 0 ||
	    (rc = cert_fingerprint(p->cert, "sha-256", p->fingerprint, sizeof(p->fingerprint))) <
		    0) {
		log_error(NULL, "cannot create the DTLS certificate: %s", strerror(-rc));
		return EXIT_FAILURE_INTERNAL;
	}
	/* RFC 8839: ufrag of at least 4 and password of at least 22 ice-chars. */
	if (rand_ice_string(p->ufrag, sizeof(p->ufrag) - 1) < 0 ||
	    rand_ice_string(p->pwd, sizeof(p->pwd) - 1) < 0 ||
	    rand_ice_string(p->cname, sizeof(p->cname) - 1) < 0) {
		log_error(NULL, "no randomness available for ICE credentials");
		return EXIT_FAILURE_INTERNAL;
	}
	struct sdp_local *l = &p->local;
	memset(l, 0, sizeof(*l));
	l->ice_ufrag = p->ufrag;
	l->ice_pwd = p->pwd;
	l->fingerprint_algo = "sha-256";
	l->fingerprint = p->fingerprint;
	l->session_id = rand_u64() >> 2; /* JSEP: fits in 62 bits */
	l->candidates = p->cands;
	l->n_candidates = p->n_hosts;
	l->end_of_candidates = true;
	l->cname = p->cname;
	/* The data section is always negotiated; media capabilities arrive with their features. */
	l->data = true;
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

static void report(const struct sdp *s)
{
	struct buf d = BUF_INIT;
	if (sdp_describe(s, &d) == 0 && buf_terminate(&d) == 0)
		log_info("sdp", "negotiated: %s", (const char *)d.data);
	buf_free(&d);
	log_info(NULL, "signaling complete; this version ends the session here");
}

static int run_offer(struct peer *p)
{
	struct sdp *offer = NULL, *answer = NULL;
	int rc = sdp_create_offer(&p->local, &offer);
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
	if (rc == 0)
		report(answer);
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
	p->deadline = clock_now_us() + (uint64_t)(opts->timeout_s * (double)CLOCK_US_PER_SEC);
	int rc = prepare_local(p);
	if (rc == 0)
		rc = opts->role == CLI_OFFER ? run_offer(p) : run_answer(p);
	sigio_in_close(&p->in);
	net_close_host(p->hosts, p->n_hosts);
	cert_free(p->cert);
	free(p);
	return rc;
}

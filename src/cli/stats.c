#include "cli/stats.h"

#include <inttypes.h>
#include <string.h>

static const char *cand_type(enum sdp_cand_type t)
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
        return "host";
}

/* JSON string escaping for the few free-form values (labels). */
static void json_str(struct buf *b, const char *s)
{
        buf_append_u8(b, '"');
        for (; s && *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        buf_printf(b, "\\%c", c);
                else if (c < 0x20)
                        buf_printf(b, "\\u%04x", c);
                else
                        buf_append_u8(b, c);
        }
        buf_append_u8(b, '"');
}

static void candidate(struct buf *b, const char *id, const char *type,
                      const struct ice_candidate_info *c, const char *relay_protocol, uint64_t ts)
{
        char ip[ADDR_STRLEN] = "";
        addr_ip_to_string(&c->addr, ip, sizeof(ip));
        buf_printf(b,
                   ",{\"id\":\"%s\",\"type\":\"%s\",\"timestamp\":%" PRIu64
                   ",\"transportId\":\"T0\",\"address\":\"%s\",\"port\":%u,\"protocol\":\"udp\","
                   "\"candidateType\":\"%s\",\"priority\":%" PRIu32,
                   id, type, ts, ip, c->addr.port, cand_type(c->type), c->priority);
        if (relay_protocol && c->type == SDP_CAND_RELAY)
                buf_printf(b, ",\"relayProtocol\":\"%s\"", relay_protocol);
        buf_append_str(b, "}");
}

int stats_format(const struct stats_snapshot *st, bool final, struct buf *b)
{
        uint64_t ts = st->timestamp_ms;
        buf_printf(b, "{\"timestamp\":%" PRIu64 ",", ts);
        if (final)
                buf_append_str(b, "\"final\":true,");
        buf_append_str(b, "\"stats\":[");
        buf_printf(b,
                   "{\"id\":\"T0\",\"type\":\"transport\",\"timestamp\":%" PRIu64
                   ",\"iceState\":\"%s\",\"dtlsState\":\"%s\"",
                   ts, st->ice_state ? st->ice_state : "new",
                   st->dtls_state ? st->dtls_state : "new");
        if (st->dtls_role)
                buf_printf(b, ",\"dtlsRole\":\"%s\"", st->dtls_role);
        if (st->dtls_cipher)
                buf_printf(b, ",\"dtlsCipher\":\"%s\"", st->dtls_cipher);
        if (st->srtp_cipher)
                buf_printf(b, ",\"srtpCipher\":\"%s\"", st->srtp_cipher);
        if (st->have_pair) {
                const struct ice_pair_stats *p = &st->pair;
                buf_printf(b,
                           ",\"selectedCandidatePairId\":\"CP0\",\"bytesSent\":%" PRIu64
                           ",\"bytesReceived\":%" PRIu64 ",\"packetsSent\":%" PRIu64
                           ",\"packetsReceived\":%" PRIu64 "}",
                           p->bytes_sent, p->bytes_received, p->packets_sent, p->packets_received);
                buf_printf(
                    b,
                    ",{\"id\":\"CP0\",\"type\":\"candidate-pair\",\"timestamp\":%" PRIu64
                    ",\"transportId\":\"T0\",\"localCandidateId\":\"LC0\","
                    "\"remoteCandidateId\":\"RC0\",\"state\":\"succeeded\",\"nominated\":true,"
                    "\"bytesSent\":%" PRIu64 ",\"bytesReceived\":%" PRIu64
                    ",\"packetsSent\":%" PRIu64 ",\"packetsReceived\":%" PRIu64
                    ",\"requestsSent\":%" PRIu64 ",\"responsesReceived\":%" PRIu64
                    ",\"requestsReceived\":%" PRIu64 ",\"responsesSent\":%" PRIu64
                    ",\"consentRequestsSent\":%" PRIu64,
                    ts, p->bytes_sent, p->bytes_received, p->packets_sent, p->packets_received,
                    p->requests_sent, p->responses_received, p->requests_received,
                    p->responses_sent, p->consent_requests_sent);
                if (p->rtt_valid)
                        buf_printf(b, ",\"currentRoundTripTime\":%.6f", (double)p->rtt_us / 1e6);
                buf_append_str(b, "}");
                candidate(b, "LC0", "local-candidate", &p->local, st->local_relay_protocol, ts);
                candidate(b, "RC0", "remote-candidate", &p->remote, NULL, ts);
        } else {
                buf_append_str(b, "}");
        }
        for (int i = 0; i < st->n_outbound; i++) {
                const struct stats_outbound *m = &st->outbound[i];
                const struct rtp_sender_stats *r = &m->rtp;
                buf_printf(b,
                           ",{\"id\":\"OT%s\",\"type\":\"outbound-rtp\",\"timestamp\":%" PRIu64
                           ",\"kind\":\"%s\",\"ssrc\":%" PRIu32 ",\"transportId\":\"T0\","
                           "\"packetsSent\":%" PRIu64 ",\"bytesSent\":%" PRIu64
                           ",\"headerBytesSent\":%" PRIu64 ",\"retransmittedPacketsSent\":%" PRIu64
                           ",\"retransmittedBytesSent\":%" PRIu64 ",\"nackCount\":%" PRIu64
                           ",\"pliCount\":%" PRIu64 ",\"firCount\":%" PRIu64,
                           m->kind, ts, m->kind, m->ssrc, r->packets_sent, r->bytes_sent,
                           r->header_bytes_sent, r->retransmitted_packets_sent,
                           r->retransmitted_bytes_sent, r->nack_count, r->pli_count, r->fir_count);
                if (strcmp(m->kind, "video") == 0)
                        buf_printf(b, ",\"framesEncoded\":%" PRIu64 ",\"framesSent\":%" PRIu64,
                                   r->frames_sent, r->frames_sent);
                buf_append_str(b, "}");
                if (r->have_report) {
                        buf_printf(b,
                                   ",{\"id\":\"RI%s\",\"type\":\"remote-inbound-rtp\","
                                   "\"timestamp\":%" PRIu64 ",\"kind\":\"%s\",\"ssrc\":%" PRIu32
                                   ",\"localId\":\"OT%s\",\"fractionLost\":%.4f,"
                                   "\"packetsLost\":%" PRId32 ",\"jitter\":%.6f",
                                   m->kind, ts, m->kind, m->ssrc, m->kind,
                                   (double)r->fraction_lost / 256.0, r->packets_lost,
                                   m->clock_rate ? (double)r->jitter / m->clock_rate : 0.0);
                        if (r->rtt_valid)
                                buf_printf(b, ",\"roundTripTime\":%.6f", (double)r->rtt_us / 1e6);
                        buf_append_str(b, "}");
                }
        }
        for (int i = 0; i < st->n_channels; i++) {
                const struct stats_channel *c = &st->channels[i];
                buf_printf(b,
                           ",{\"id\":\"DC%u\",\"type\":\"data-channel\",\"timestamp\":%" PRIu64
                           ",\"label\":",
                           c->id, ts);
                json_str(b, c->label);
                buf_printf(
                    b,
                    ",\"dataChannelIdentifier\":%u,\"state\":\"%s\",\"messagesSent\":%" PRIu64
                    ",\"bytesSent\":%" PRIu64 ",\"messagesReceived\":%" PRIu64
                    ",\"bytesReceived\":%" PRIu64 "}",
                    c->id, c->state, c->messages_sent, c->bytes_sent, c->messages_received,
                    c->bytes_received);
        }
        return buf_append_str(b, "]}\n");
}

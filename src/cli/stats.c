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
                if (st->have_bwe)
                        buf_printf(b,
                                   ",\"availableOutgoingBitrate\":%" PRIu32
                                   ",\"rtcpeerBweDelayBitrate\":%" PRIu32
                                   ",\"rtcpeerBweLossBitrate\":%" PRIu32
                                   ",\"rtcpeerBweAckedBitrate\":%" PRIu32
                                   ",\"rtcpeerBweDataBitrate\":%" PRIu32
                                   ",\"rtcpeerDataBudgetBitrate\":%" PRIu32
                                   ",\"rtcpeerBweState\":\"%s\",\"rtcpeerBweTrend\":%.6f"
                                   ",\"rtcpeerBweLoss\":%.4f,\"rtcpeerBweFeedback\":\"%s\"",
                                   st->bwe.target_bps, st->bwe.delay_bps, st->bwe.loss_bps,
                                   st->bwe.acked_bps, st->bwe.other_bps, st->data_budget_bps,
                                   st->bwe.state > 0   ? "overuse"
                                   : st->bwe.state < 0 ? "underuse"
                                                       : "normal",
                                   st->bwe.trend, st->bwe.loss_ratio,
                                   st->bwe.feedback == GCC_FEEDBACK_TWCC   ? "transport-cc"
                                   : st->bwe.feedback == GCC_FEEDBACK_CCFB ? "ccfb"
                                                                           : "none");
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
                if (m->target_bps)
                        buf_printf(b, ",\"targetBitrate\":%" PRIu32, m->target_bps);
                if (strcmp(m->kind, "video") == 0)
                        buf_printf(b, ",\"framesPerSecond\":%.1f", m->fps);
                if (m->frame_width)
                        buf_printf(b, ",\"frameWidth\":%u,\"frameHeight\":%u", m->frame_width,
                                   m->frame_height);
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
        for (int i = 0; i < st->n_inbound; i++) {
                const struct stats_inbound *m = &st->inbound[i];
                const struct rtp_receiver_stats *r = &m->rtp;
                buf_printf(b,
                           ",{\"id\":\"IT%s\",\"type\":\"inbound-rtp\",\"timestamp\":%" PRIu64
                           ",\"kind\":\"%s\",\"ssrc\":%" PRIu32 ",\"transportId\":\"T0\","
                           "\"packetsReceived\":%" PRIu64 ",\"bytesReceived\":%" PRIu64
                           ",\"headerBytesReceived\":%" PRIu64 ",\"packetsLost\":%" PRId64
                           ",\"packetsDiscarded\":%" PRIu64 ",\"jitter\":%.6f"
                           ",\"retransmittedPacketsReceived\":%" PRIu64 ",\"nackCount\":%" PRIu64
                           ",\"pliCount\":%" PRIu64 ",\"firCount\":%" PRIu64
                           ",\"jitterBufferDelay\":%.6f,\"jitterBufferEmittedCount\":%" PRIu64
                           ",\"rtcpeerTargetDelay\":%.6f,\"rtcpeerPacketsDuplicated\":%" PRIu64
                           ",\"rtcpeerNackRequested\":%" PRIu64,
                           m->kind, ts, m->kind, r->ssrc, r->packets_received, r->bytes_received,
                           r->header_bytes_received, r->packets_lost, r->packets_discarded,
                           r->jitter_s, r->retransmitted_packets_received, r->nack_count,
                           r->pli_count, r->fir_count, r->jitter_buffer_delay_s,
                           r->jitter_buffer_emitted_count, (double)r->target_delay_us / 1e6,
                           r->packets_duplicated, r->nack_requested);
                const struct mediarecv_stats *d = &m->media;
                if (strcmp(m->kind, "video") == 0) {
                        buf_printf(b, ",\"framesReceived\":%" PRIu64 ",\"framesDropped\":%" PRIu64,
                                   r->frames_received, r->frames_dropped);
                        if (m->have_media)
                                buf_printf(
                                    b,
                                    ",\"framesDecoded\":%" PRIu64 ",\"keyFramesDecoded\":%" PRIu64
                                    ",\"frameWidth\":%u,\"frameHeight\":%u,\"framesPerSecond\":%.1f"
                                    ",\"freezeCount\":%" PRIu64 ",\"totalFreezesDuration\":%.3f"
                                    ",\"rtcpeerDecodeErrors\":%" PRIu64
                                    ",\"rtcpeerFramesWritten\":%" PRIu64,
                                    d->frames_decoded, d->key_frames_decoded, d->frame_width,
                                    d->frame_height, m->fps, d->freeze_count,
                                    d->total_freezes_duration_s, d->decode_errors,
                                    d->frames_written);
                        if (m->have_media && d->g2g_frames)
                                buf_printf(b,
                                           ",\"rtcpeerGlassToGlassMedianMs\":%.0f"
                                           ",\"rtcpeerGlassToGlassP95Ms\":%.0f",
                                           d->g2g_median_ms, d->g2g_p95_ms);
                } else if (m->have_media) {
                        buf_printf(
                            b,
                            ",\"totalSamplesReceived\":%" PRIu64 ",\"concealedSamples\":%" PRIu64
                            ",\"concealmentEvents\":%" PRIu64 ",\"fecPacketsReceived\":%" PRIu64,
                            d->total_samples_received, d->concealed_samples, d->concealment_events,
                            d->fec_packets_used);
                        if (d->have_sink)
                                buf_printf(b,
                                           ",\"rtcpeerPlayoutDelay\":%.6f"
                                           ",\"rtcpeerPlayoutUnderruns\":%" PRIu64,
                                           (double)d->sink_delay_us / 1e6, d->sink_underruns);
                }
                if (m->have_media && d->sync_valid)
                        buf_printf(b, ",\"rtcpeerSyncOffsetMs\":%.1f", d->sync_offset_ms);
                buf_append_str(b, "}");
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

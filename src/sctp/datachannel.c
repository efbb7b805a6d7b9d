#include "sctp/datachannel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "core/log.h"
#include "sctp/dcep.h"
#include "sctp/sctp_priv.h"

/*
 * Chromium queues the messages of a channel the peer opened until its page has taken the
 * channel, and drops that queue if the channel closes first (SctpDataChannel delivers queued
 * messages only in the open state). The page takes the channel a while after Chromium sent the
 * ACK, so the reset of a channel we opened waits for the ACK and then this long...
 */
#define DC_RESET_AFTER_ACK_US 500000
/* ...or, from a peer that never acknowledges, this long after sctp_channel_close. */
#define DC_RESET_ACK_WAIT_US 3000000

static uint8_t dc_channel_type(const struct dc_options *o)
{
        uint8_t t = DCEP_CHANNEL_RELIABLE;
        if (o->reliability == DC_MAX_RETRANSMITS)
                t = DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT;
        else if (o->reliability == DC_MAX_LIFETIME)
                t = DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED;
        return o->unordered ? (uint8_t)(t | DCEP_CHANNEL_UNORDERED_BIT) : t;
}

static struct dc_options dc_options_from_open(const struct dcep_open *op)
{
        struct dc_options o = {0};
        o.unordered = (op->channel_type & DCEP_CHANNEL_UNORDERED_BIT) != 0;
        switch (op->channel_type & (uint8_t)~DCEP_CHANNEL_UNORDERED_BIT) {
        case DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT:
                o.reliability = DC_MAX_RETRANSMITS;
                o.reliability_param = op->reliability_param;
                break;
        case DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED:
                o.reliability = DC_MAX_LIFETIME;
                o.reliability_param = op->reliability_param;
                break;
        default:
                o.reliability = DC_RELIABLE;
                break;
        }
        o.priority = op->priority;
        return o;
}

static struct sctp_channel *dc_lookup(const struct sctp_assoc *a, uint16_t id)
{
        return id < SCTP_MAX_STREAMS ? a->ch[id] : NULL;
}

static struct sctp_channel *dc_create(struct sctp_assoc *a, uint16_t sid,
                                      const struct dc_options *o, bool local)
{
        struct sctp_channel *ch = calloc(1, sizeof(*ch));
        if (!ch)
                return NULL;
        ch->state = SCTP_CH_OPEN;
        ch->options = *o;
        ch->local = local;
        ch->acked = !local;
        ch->low_threshold = a->cfg.buffered_low;
        buf_init(&ch->partial);
        a->ch[sid] = ch;
        if (sid >= a->ch_end)
                a->ch_end = sid + 1u;
        return ch;
}

static void dc_release(struct sctp_assoc *a, uint16_t sid)
{
        struct sctp_channel *ch = a->ch[sid];
        if (!ch)
                return;
        buf_free(&ch->partial);
        free(ch);
        a->ch[sid] = NULL;
        while (a->ch_end > 0 && !a->ch[a->ch_end - 1])
                a->ch_end--;
}

static void dc_report_closed(struct sctp_assoc *a, uint16_t sid, struct sctp_channel *ch)
{
        if (ch->state == SCTP_CH_CLOSED)
                return;
        ch->state = SCTP_CH_CLOSED;
        struct sctp_item *it = sctp_assoc_push(a, SCTP_OUTPUT_CHANNEL_CLOSED, 0);
        if (it)
                it->id = sid;
}

/*
 * Both directions reset: the channel is closed on both sides (the peer reports it once the
 * answer to its last reset request arrives, which is what completed ours) and the id is free.
 */
static void dc_finish_if_done(struct sctp_assoc *a, uint16_t sid)
{
        struct sctp_channel *ch = a->ch[sid];
        if (ch && ch->in_reset_done && ch->out_reset_done) {
                log_debug("sctp", "channel %u: both directions reset, id free", sid);
                dc_report_closed(a, sid, ch);
                dc_release(a, sid);
        }
}

static bool dc_reset_may_go(const struct sctp_channel *ch)
{
        /* The peer closed its side first, or opened the channel itself: it has the channel. */
        if (ch->in_reset_done || !ch->local)
                return true;
        uint64_t now = sctp_now();
        if (ch->acked)
                return now < ch->acked_us || now - ch->acked_us >= DC_RESET_AFTER_ACK_US;
        return now < ch->closed_us || now - ch->closed_us >= DC_RESET_ACK_WAIT_US;
}

static void dc_try_reset(struct sctp_assoc *a, uint16_t sid, struct sctp_channel *ch)
{
        if (!ch->reset_wanted || ch->reset_accepted || !dc_reset_may_go(ch))
                return;
        int rc = sctp_assoc_reset_stream(a, sid);
        if (rc == 0) {
                ch->reset_accepted = true;
                return;
        }
        if (rc == -EAGAIN || rc == -EALREADY || rc == -EBUSY)
                return; /* another reset is in flight: retried on the next tick */
        log_warn("sctp", "channel %u: resetting the outgoing stream failed (%s)", sid,
                 strerror(-rc));
        ch->reset_accepted = true;
        ch->out_reset_done = true;
}

static int dc_send_ack(struct sctp_assoc *a, uint16_t sid, struct sctp_channel *ch)
{
        static const uint8_t ack = DCEP_MSG_ACK;
        int rc = sctp_assoc_send_raw(a, sid, DCEP_PPID_CONTROL, false, NULL, &ack, 1);
        ch->ack_pending = rc == -EAGAIN;
        if (rc < 0 && rc != -EAGAIN)
                log_warn("sctp", "channel %u: sending DATA_CHANNEL_ACK failed (%s)", sid,
                         strerror(-rc));
        return rc;
}

int sctp_channel_open(struct sctp_assoc *a, const char *label, const char *protocol,
                      const struct dc_options *opt, uint16_t *id)
{
        if (!a || !id)
                return -EINVAL;
        if (a->state != SCTP_ST_UP)
                return -ENOTCONN;
        struct dc_options o = opt ? *opt : (struct dc_options){0};
        if (o.reliability != DC_RELIABLE && o.reliability != DC_MAX_RETRANSMITS &&
            o.reliability != DC_MAX_LIFETIME)
                return -EINVAL;
        if (o.reliability == DC_RELIABLE)
                o.reliability_param = 0;
        if (!o.priority)
                o.priority = DCEP_PRIORITY_NORMAL;
        label = label ? label : "";
        protocol = protocol ? protocol : "";
        struct dcep_open op = {
            .channel_type = dc_channel_type(&o),
            .priority = o.priority,
            .reliability_param = o.reliability_param,
            .label = (const uint8_t *)label,
            .label_len = strlen(label),
            .protocol = (const uint8_t *)protocol,
            .protocol_len = strlen(protocol),
        };
        struct buf msg = BUF_INIT;
        int rc = dcep_build_open(&msg, &op);
        if (rc < 0) {
                buf_free(&msg);
                return rc;
        }
        /* RFC 8832 section 6: the DTLS client takes even ids, the server odd ones. */
        unsigned sid = a->cfg.dtls_client ? 0 : 1;
        while (sid < a->streams && a->ch[sid])
                sid += 2;
        if (sid >= a->streams) {
                buf_free(&msg);
                return -ENOSPC;
        }
        /* DCEP messages are always reliable and ordered. */
        rc = sctp_assoc_send_raw(a, (uint16_t)sid, DCEP_PPID_CONTROL, false, NULL, msg.data,
                                 msg.len);
        buf_free(&msg);
        if (rc < 0)
                return rc;
        if (!dc_create(a, (uint16_t)sid, &o, true)) {
                /* The OPEN is out; without state we can only close the stream again. */
                sctp_assoc_reset_stream(a, (uint16_t)sid);
                return -ENOMEM;
        }
        *id = (uint16_t)sid;
        log_debug("sctp", "channel %u opened by us (type 0x%02x)", sid, op.channel_type);
        return 0;
}

int sctp_channel_send(struct sctp_assoc *a, uint16_t id, bool binary, const void *data, size_t len)
{
        if (!a || (!data && len))
                return -EINVAL;
        if (a->state != SCTP_ST_UP)
                return -ENOTCONN;
        struct sctp_channel *ch = dc_lookup(a, id);
        if (!ch)
                return -ENOENT;
        if (ch->state != SCTP_CH_OPEN)
                return -EPIPE;
        if (len > a->send_limit)
                return -EMSGSIZE;
        if (ch->ack_pending && dc_send_ack(a, id, ch) < 0) {
                ch->low_armed = true;
                return -EAGAIN;
        }
        /* RFC 8831 section 6.6: an empty message travels as one zero byte with its own PPID. */
        static const uint8_t zero = 0;
        uint32_t ppid;
        if (len == 0) {
                ppid = binary ? DCEP_PPID_BINARY_EMPTY : DCEP_PPID_STRING_EMPTY;
                data = &zero;
                len = 1;
        } else {
                ppid = binary ? DCEP_PPID_BINARY : DCEP_PPID_STRING;
        }
        /* Until the ACK, unordered messages could overtake the OPEN: send them ordered. */
        bool unordered = ch->options.unordered && ch->acked;
        int rc = sctp_assoc_send_raw(a, id, ppid, unordered, &ch->options, data, len);
        if (rc == -EAGAIN) {
                ch->low_armed = true;
                return rc;
        }
        if (rc < 0)
                return rc;
        ch->sent_since_empty += len;
        if (!ch->low_armed && ch->sent_since_empty > ch->low_threshold &&
            sctp_assoc_buffered(a, id) > ch->low_threshold)
                ch->low_armed = true;
        return 0;
}

int sctp_channel_close(struct sctp_assoc *a, uint16_t id)
{
        if (!a)
                return -EINVAL;
        struct sctp_channel *ch = dc_lookup(a, id);
        if (!ch)
                return -ENOENT;
        if (ch->state != SCTP_CH_OPEN)
                return 0;
        log_debug("sctp", "channel %u: closing", id);
        ch->state = SCTP_CH_CLOSING;
        ch->reset_wanted = true;
        ch->closed_us = sctp_now();
        dc_try_reset(a, id, ch);
        a->resets_queued = a->resets_queued || !ch->reset_accepted;
        return 0;
}

int sctp_channel_set_buffered_low(struct sctp_assoc *a, uint16_t id, size_t threshold)
{
        struct sctp_channel *ch = a ? dc_lookup(a, id) : NULL;
        if (!ch)
                return -ENOENT;
        ch->low_threshold = threshold;
        return 0;
}

bool sctp_channel_is_open(const struct sctp_assoc *a, uint16_t id)
{
        const struct sctp_channel *ch = a ? dc_lookup(a, id) : NULL;
        return ch && ch->state == SCTP_CH_OPEN && a->state == SCTP_ST_UP;
}

bool sctp_channel_peer_finished(const struct sctp_assoc *a, uint16_t id)
{
        const struct sctp_channel *ch = a ? dc_lookup(a, id) : NULL;
        return ch && ch->in_reset_done;
}

bool sctp_channel_sent_all(struct sctp_assoc *a, uint16_t id)
{
        struct sctp_channel *ch = a ? dc_lookup(a, id) : NULL;
        if (!ch || !ch->reset_wanted)
                return false;
        return ch->out_reset_done ||
               (ch->reset_accepted && a->state == SCTP_ST_UP && sctp_assoc_total_buffered(a) == 0);
}

static void dc_deliver(struct sctp_assoc *a, uint16_t sid, bool binary, const uint8_t *p, size_t n)
{
        struct sctp_item *it = sctp_assoc_push(a, SCTP_OUTPUT_CHANNEL_MESSAGE, n);
        if (!it)
                return;
        it->id = sid;
        it->binary = binary;
        it->len = n;
        if (n)
                memcpy(it->data, p, n);
}

static void dc_announce(struct sctp_assoc *a, uint16_t sid, const struct dcep_open *op,
                        const struct dc_options *o)
{
        size_t n = op->label_len + 1 + op->protocol_len + 1;
        struct sctp_item *it = sctp_assoc_push(a, SCTP_OUTPUT_CHANNEL_OPEN, n);
        if (!it)
                return;
        it->id = sid;
        it->options = *o;
        it->label_len = op->label_len;
        it->protocol_len = op->protocol_len;
        if (op->label_len)
                memcpy(it->data, op->label, op->label_len);
        it->data[op->label_len] = 0;
        if (op->protocol_len)
                memcpy(it->data + op->label_len + 1, op->protocol, op->protocol_len);
        it->data[n - 1] = 0;
}

static void dc_on_open(struct sctp_assoc *a, uint16_t sid, const struct dcep_open *op)
{
        if (sid >= a->streams) {
                log_warn("sctp", "DATA_CHANNEL_OPEN on stream %u beyond the %u negotiated; ignored",
                         sid, a->streams);
                return;
        }
        bool stale_out_reset = false;
        struct sctp_channel *old = a->ch[sid];
        if (old && old->in_reset_done && old->reset_accepted) {
                /*
                 * The peer frees an id once both directions are reset, so it may reopen it
                 * while the answer to our reset is still on its way (or lost and being
                 * retransmitted): the old channel is over, its CLOSED already reported.
                 */
                log_debug("sctp", "channel %u reopened by the peer before our reset completed",
                          sid);
                stale_out_reset = !old->out_reset_done;
                dc_report_closed(a, sid, old);
                dc_release(a, sid);
        } else if (old) {
                log_warn("sctp", "DATA_CHANNEL_OPEN on stream %u, which is in use; ignored", sid);
                return;
        }
        if ((sid & 1) == (a->cfg.dtls_client ? 0u : 1u))
                log_debug("sctp", "the peer opened channel %u with our parity; accepted", sid);
        struct dc_options o = dc_options_from_open(op);
        struct sctp_channel *ch = dc_create(a, sid, &o, false);
        if (!ch) {
                log_error("sctp", "out of memory accepting channel %u", sid);
                return;
        }
        ch->stale_out_reset = stale_out_reset;
        dc_send_ack(a, sid, ch);
        log_debug("sctp", "channel %u opened by the peer (type 0x%02x, label %zu bytes)", sid,
                  op->channel_type, op->label_len);
        dc_announce(a, sid, op, &o);
}

static void dc_on_control(struct sctp_assoc *a, uint16_t sid, const uint8_t *p, size_t n)
{
        struct dcep_msg m;
        int rc = dcep_parse(&m, p, n);
        if (rc < 0) {
                log_warn("sctp", "malformed DCEP message (%zu bytes) on stream %u; ignored", n,
                         sid);
                return;
        }
        if (m.type == DCEP_MSG_OPEN) {
                dc_on_open(a, sid, &m.open);
                return;
        }
        struct sctp_channel *ch = dc_lookup(a, sid);
        if (ch && ch->local && !ch->acked) {
                ch->acked = true;
                ch->acked_us = sctp_now();
                log_debug("sctp", "channel %u acknowledged", sid);
        } else {
                log_debug("sctp", "unexpected DATA_CHANNEL_ACK on stream %u; ignored", sid);
        }
}

void sctp_channel_on_message(struct sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *data,
                             size_t len)
{
        enum dcep_payload kind = dcep_payload_of_ppid(ppid);
        if (kind == DCEP_PAYLOAD_CONTROL) {
                dc_on_control(a, sid, data, len);
                return;
        }
        if (kind == DCEP_PAYLOAD_UNKNOWN) {
                log_warn("sctp", "message with unknown PPID %u on stream %u; dropped", ppid, sid);
                return;
        }
        struct sctp_channel *ch = dc_lookup(a, sid);
        if (!ch || ch->in_reset_done) {
                log_warn("sctp", "message on stream %u without an open channel; dropped", sid);
                return;
        }
        /* RFC 8832 section 6: a message from the peer implies the ACK we may not have yet. */
        if (ch->local && !ch->acked) {
                ch->acked = true;
                ch->acked_us = sctp_now();
        }
        switch (kind) {
        case DCEP_PAYLOAD_STRING_PARTIAL:
        case DCEP_PAYLOAD_BINARY_PARTIAL:
                /* Deprecated fragments of one larger message, which ends with PPID 51/53. */
                if (!ch->partial_overflow && (ch->partial.len + len > a->cfg.receive_limit ||
                                              buf_append(&ch->partial, data, len) < 0)) {
                        log_warn("sctp", "channel %u: fragmented message over %zu bytes; dropped",
                                 sid, a->cfg.receive_limit);
                        ch->partial_overflow = true;
                        buf_free(&ch->partial);
                }
                return;
        case DCEP_PAYLOAD_STRING:
        case DCEP_PAYLOAD_BINARY: {
                bool binary = kind == DCEP_PAYLOAD_BINARY;
                if (ch->partial_overflow) {
                        ch->partial_overflow = false;
                        return;
                }
                if (ch->partial.len == 0) {
                        dc_deliver(a, sid, binary, data, len);
                        return;
                }
                if (ch->partial.len + len > a->cfg.receive_limit ||
                    buf_append(&ch->partial, data, len) < 0)
                        log_warn("sctp", "channel %u: fragmented message over %zu bytes; dropped",
                                 sid, a->cfg.receive_limit);
                else
                        dc_deliver(a, sid, binary, ch->partial.data, ch->partial.len);
                buf_free(&ch->partial);
                return;
        }
        case DCEP_PAYLOAD_STRING_EMPTY:
        case DCEP_PAYLOAD_BINARY_EMPTY:
                dc_deliver(a, sid, kind == DCEP_PAYLOAD_BINARY_EMPTY, NULL, 0);
                return;
        default:
                return;
        }
}

static void dc_on_reset_one(struct sctp_assoc *a, uint16_t flags, uint16_t sid)
{
        struct sctp_channel *ch = dc_lookup(a, sid);
        if (!ch)
                return;
        bool failed = (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) != 0;
        if ((flags & SCTP_STREAM_RESET_OUTGOING_SSN) && ch->stale_out_reset) {
                ch->stale_out_reset = false; /* the previous channel's reset, done at last */
        } else if (flags & SCTP_STREAM_RESET_OUTGOING_SSN) {
                if (failed)
                        log_warn("sctp", "channel %u: the peer refused to reset the stream", sid);
                ch->out_reset_done = true;
        }
        if ((flags & SCTP_STREAM_RESET_INCOMING_SSN) && !failed) {
                ch->in_reset_done = true;
                buf_free(&ch->partial);
                /* RFC 8831 section 6.7: the peer closed; reset our side in answer. */
                if (ch->state == SCTP_CH_OPEN) {
                        log_debug("sctp", "channel %u: closed by the peer", sid);
                        ch->state = SCTP_CH_CLOSING;
                        ch->reset_wanted = true;
                }
                /* Also when our close waited for the ACK or the grace after it. */
                dc_try_reset(a, sid, ch);
                a->resets_queued = a->resets_queued || (ch->reset_wanted && !ch->reset_accepted);
        }
        dc_finish_if_done(a, sid);
}

void sctp_channel_on_reset(struct sctp_assoc *a, uint16_t flags, const uint16_t *sids, size_t n)
{
        if (!sids) {
                for (unsigned sid = 0; sid < a->ch_end; sid++)
                        dc_on_reset_one(a, flags, (uint16_t)sid);
                return;
        }
        for (size_t i = 0; i < n; i++)
                dc_on_reset_one(a, flags, sids[i]);
}

void sctp_channel_on_send_buffer_empty(struct sctp_assoc *a)
{
        for (unsigned sid = 0; sid < a->ch_end; sid++)
                if (a->ch[sid])
                        a->ch[sid]->sent_since_empty = 0;
}

void sctp_channel_on_tick(struct sctp_assoc *a)
{
        bool have_total = false;
        size_t total = 0;
        a->resets_queued = false;
        for (unsigned sid = 0; sid < a->ch_end; sid++) {
                struct sctp_channel *ch = a->ch[sid];
                if (!ch)
                        continue;
                if (ch->ack_pending)
                        dc_send_ack(a, (uint16_t)sid, ch);
                if (ch->reset_wanted && !ch->reset_accepted) {
                        dc_try_reset(a, (uint16_t)sid, ch);
                        a->resets_queued = a->resets_queued || !ch->reset_accepted;
                }
                if (!ch->low_armed || ch->state != SCTP_CH_OPEN)
                        continue;
                if (!have_total) {
                        total = sctp_assoc_total_buffered(a);
                        have_total = true;
                        if (total == 0)
                                sctp_channel_on_send_buffer_empty(a);
                }
                size_t mine = ch->sent_since_empty < total ? (size_t)ch->sent_since_empty : total;
                if (mine <= ch->low_threshold) {
                        ch->low_armed = false;
                        struct sctp_item *it = sctp_assoc_push(a, SCTP_OUTPUT_BUFFERED_LOW, 0);
                        if (it)
                                it->id = (uint16_t)sid;
                }
        }
}

void sctp_channel_on_assoc_end(struct sctp_assoc *a)
{
        for (unsigned sid = 0; sid < a->ch_end; sid++) {
                struct sctp_channel *ch = a->ch[sid];
                if (!ch)
                        continue;
                dc_report_closed(a, (uint16_t)sid, ch);
                dc_release(a, (uint16_t)sid);
        }
}

void sctp_channel_free_all(struct sctp_assoc *a)
{
        for (unsigned sid = 0; sid < a->ch_end; sid++)
                dc_release(a, (uint16_t)sid);
}

#include "cli/mediarecv.h"

#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "media/alsasink.h"
#include "media/ivf.h"
#include "media/merr.h"
#include "media/opusdec.h"
#include "media/pcm.h"
#include "media/picture.h"
#include "media/termview.h"
#include "media/testpattern.h"
#include "media/vp8dec.h"
#include "media/wavout.h"
#include "media/y4mout.h"
#include "rtp/opus.h"

/* Decoded audio is stereo, as "opus/48000/2" promises; a mono sender decodes to two equal sides. */
#define RECV_CHANNELS 2
/* The preview redraws a few times a second: enough to see the call, cheap for the terminal. */
#define PREVIEW_INTERVAL_US (200 * 1000)
/* The device's descriptors drive playback; a slow timer covers a PCM whose poll says little. */
#define SINK_SERVICE_US (20 * 1000)
/* Often enough that a jump of one track's playout delay (loss seen: NACK time added) is
 * matched by the other within a quarter second. */
#define SYNC_INTERVAL_US (250 * 1000)
/* Misalignment below this is left alone: it is within what people notice (ITU-R BT.1359). */
#define SYNC_DEADBAND_US  (10 * 1000)
#define SYNC_MAX_DELAY_US CLOCK_US_PER_SEC
#define G2G_MAX_MS        2000

struct mediarecv {
        struct mediarecv_config cfg;
        struct loop *loop;
        struct session *session;
        struct vp8dec *vdec;
        struct opusdec *adec;
        struct y4mout *y4m;
        struct ivf_writer *ivf;
        struct wavout *wav;
        struct alsasink *sink;
        int sink_timer, sync_timer;
        int sink_fds[ALSASINK_MAX_FDS];
        int n_sink_fds;
        bool want[2];
        bool need_keyframe;
        bool failed;
        /* --preview */
        int preview_fd;
        uint64_t next_preview;
        bool preview_started;
        struct buf preview;
        /* Freezes (W3C): an inter-frame gap above max(3 x average, average + 150 ms). */
        uint64_t last_frame_us;
        /* IVF timestamps: the RTP ones unwrapped, from 0. */
        bool have_ts;
        uint32_t last_ts;
        uint64_t pts;
        double avg_gap_us;
        /*
         * Lip sync: per track, the smallest (play time - capture time) seen since the last check.
         * The smallest, because a video frame that waited for a retransmission plays late once;
         * the playout schedule is what the other track must match.
         */
        bool sync_have[2];
        int64_t sync_off[2];
        uint64_t sync_delay[2];
        /*
         * Glass to glass: rtcpeer's test pattern carries the sender's capture time on
         * CLOCK_MONOTONIC, which is our clock too when both peers run on one machine. Measured
         * while the pictures read as test patterns; given up after 30 that do not.
         */
        bool g2g_off;
        unsigned g2g_misses;
        uint32_t g2g_hist[G2G_MAX_MS + 1];
        uint64_t g2g_n;
        struct mediarecv_stats st;
        char describe[512];
        int16_t pcm[OPUS_MAX_PACKET_SAMPLES * RECV_CHANNELS];
};

static void fail(struct mediarecv *m, const char *msg)
{
        if (m->failed)
                return;
        m->failed = true;
        if (m->cfg.failed)
                m->cfg.failed(m->cfg.arg, msg);
}

static void sink_stop(struct mediarecv *m)
{
        if (m->sink_timer > 0)
                loop_cancel_timer(m->loop, m->sink_timer);
        m->sink_timer = 0;
        for (int i = 0; i < m->n_sink_fds; i++)
                loop_del_fd(m->loop, m->sink_fds[i]);
        m->n_sink_fds = 0;
}

static bool service_sink(struct mediarecv *m)
{
        int rc = alsasink_service(m->sink, clock_now_us());
        if (rc < 0 && rc != -EAGAIN) {
                char msg[400];
                snprintf(msg, sizeof(msg), "audio output %s failed: %s", m->cfg.audio_out,
                         alsasink_error(m->sink) ? alsasink_error(m->sink) : strerror(-rc));
                sink_stop(m);
                fail(m, msg);
                return false;
        }
        return true;
}

static void on_sink_fd(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)fd;
        (void)events;
        service_sink(arg);
}

static void on_sink(struct loop *loop, void *arg)
{
        struct mediarecv *m = arg;
        m->sink_timer = 0;
        if (service_sink(m))
                m->sink_timer = loop_add_timer(loop, clock_now_us() + SINK_SERVICE_US, on_sink, m);
}

/*
 * Compares when each track plays what was captured at the same instant and delays the one that
 * is early. Both offsets use the same two clocks (ours and the sender's), so their difference
 * is free of the unknown offset between them.
 */
static void on_sync(struct loop *loop, void *arg)
{
        struct mediarecv *m = arg;
        uint64_t now = clock_now_us();
        m->sync_timer = loop_add_timer(loop, now + SYNC_INTERVAL_US, on_sync, m);
        /* Both tracks must have played in this interval: a paused one says nothing. */
        bool have = m->session && m->sync_have[SESSION_AUDIO] && m->sync_have[SESSION_VIDEO];
        int64_t d = m->sync_off[SESSION_VIDEO] - m->sync_off[SESSION_AUDIO];
        m->sync_have[SESSION_AUDIO] = m->sync_have[SESSION_VIDEO] = false;
        if (!have)
                return;
        m->st.sync_valid = true;
        m->st.sync_offset_ms = (double)d / 1000.0;
        if (d > -SYNC_DEADBAND_US && d < SYNC_DEADBAND_US)
                return;
        /* Positive: video plays later than the audio captured with it. */
        if (d > 0)
                m->sync_delay[SESSION_AUDIO] += (uint64_t)d;
        else
                m->sync_delay[SESSION_VIDEO] += (uint64_t)-d;
        uint64_t common = m->sync_delay[0] < m->sync_delay[1] ? m->sync_delay[0] : m->sync_delay[1];
        for (int k = 0; k < 2; k++) {
                m->sync_delay[k] -= common;
                if (m->sync_delay[k] > SYNC_MAX_DELAY_US)
                        m->sync_delay[k] = SYNC_MAX_DELAY_US;
                session_set_sync_delay(m->session, (enum session_media)k, m->sync_delay[k]);
        }
        m->st.audio_sync_delay_us = m->sync_delay[SESSION_AUDIO];
        m->st.video_sync_delay_us = m->sync_delay[SESSION_VIDEO];
        log_debug("media",
                  "lip sync: video %+.1f ms against audio; delays audio %.1f ms, video %.1f ms",
                  (double)d / 1000.0, (double)m->sync_delay[SESSION_AUDIO] / 1000.0,
                  (double)m->sync_delay[SESSION_VIDEO] / 1000.0);
}

static int open_outputs(struct mediarecv *m, struct merr *e)
{
        const struct mediarecv_config *c = &m->cfg;
        int rc = 0;
        if (m->want[SESSION_VIDEO] && (c->video_out || c->preview)) {
                rc = vp8dec_new(&m->vdec, e);
                if (rc < 0)
                        return rc;
        }
        if (c->video_out) {
                rc = y4mout_new(c->video_out, c->fps ? c->fps : 30, 1, &m->y4m, e);
                if (rc < 0)
                        return rc;
        }
        if (c->record_video) {
                rc = ivf_writer_new(c->record_video, 0, 0, &m->ivf, e);
                if (rc < 0)
                        return rc;
        }
        if (m->want[SESSION_AUDIO]) {
                rc = opusdec_new(RECV_CHANNELS, &m->adec, e);
                if (rc < 0)
                        return rc;
        }
        if (c->audio_out) {
                rc = alsasink_open(c->audio_out, PCM_RATE, RECV_CHANNELS, &m->sink, e);
                if (rc < 0)
                        return rc;
        }
        if (c->record_audio) {
                rc = wavout_new(c->record_audio, PCM_RATE, RECV_CHANNELS, &m->wav, e);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

int mediarecv_open(const struct mediarecv_config *cfg, struct loop *loop, struct mediarecv **out,
                   char *err, size_t errlen)
{
        *out = NULL;
        struct mediarecv *m = calloc(1, sizeof(*m));
        if (!m) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        m->cfg = *cfg;
        m->loop = loop;
        m->preview_fd = -1;
        m->want[SESSION_VIDEO] = cfg->video_out || cfg->record_video || cfg->preview;
        m->want[SESSION_AUDIO] = cfg->audio_out || cfg->record_audio;
        if (cfg->preview) {
                /* Stdout when it is a terminal and not already carrying a stream, else stderr. */
                bool stdout_taken = (cfg->video_out && strcmp(cfg->video_out, "-") == 0) ||
                                    (cfg->record_video && strcmp(cfg->record_video, "-") == 0) ||
                                    (cfg->record_audio && strcmp(cfg->record_audio, "-") == 0);
                if (!stdout_taken && isatty(STDOUT_FILENO))
                        m->preview_fd = STDOUT_FILENO;
                else if (isatty(STDERR_FILENO))
                        m->preview_fd = STDERR_FILENO;
                else
                        log_warn("media", "--preview: neither stdout nor stderr is a terminal; "
                                          "no preview is drawn");
        }
        struct merr e = {{0}};
        int rc = open_outputs(m, &e);
        if (rc < 0) {
                snprintf(err, errlen, "%s", e.msg[0] ? e.msg : strerror(-rc));
                mediarecv_free(m);
                return rc;
        }
        struct buf d = BUF_INIT;
        if (cfg->video_out)
                buf_printf(&d, "%svideo to %s (Y4M)", d.len ? ", " : "",
                           strcmp(cfg->video_out, "-") == 0 ? "stdout" : cfg->video_out);
        if (cfg->record_video)
                buf_printf(&d, "%sVP8 recorded to %s (IVF)", d.len ? ", " : "", cfg->record_video);
        if (cfg->preview && m->preview_fd >= 0)
                buf_printf(&d, "%spreview on %s", d.len ? ", " : "",
                           m->preview_fd == STDOUT_FILENO ? "stdout" : "stderr");
        if (cfg->audio_out)
                buf_printf(&d, "%saudio played on ALSA %s", d.len ? ", " : "", cfg->audio_out);
        if (cfg->record_audio)
                buf_printf(&d, "%saudio recorded to %s (WAV)", d.len ? ", " : "",
                           cfg->record_audio);
        snprintf(m->describe, sizeof(m->describe), "receiving: %.*s", (int)d.len,
                 d.data ? (const char *)d.data : "");
        buf_free(&d);
        *out = m;
        return 0;
}

void mediarecv_free(struct mediarecv *m)
{
        if (!m)
                return;
        if (m->sink)
                sink_stop(m);
        if (m->sync_timer > 0)
                loop_cancel_timer(m->loop, m->sync_timer);
        if (m->preview_started && m->preview_fd >= 0) {
                static const char restore[] = "\x1b[0m\x1b[?25h\n";
                ssize_t w = write(m->preview_fd, restore, sizeof(restore) - 1);
                (void)w;
        }
        vp8dec_free(m->vdec);
        opusdec_free(m->adec);
        y4mout_free(m->y4m);
        ivf_writer_free(m->ivf);
        wavout_free(m->wav);
        alsasink_free(m->sink);
        buf_free(&m->preview);
        free(m);
}

bool mediarecv_wants(const struct mediarecv *m, enum session_media media)
{
        return m && (int)media >= 0 && media <= SESSION_VIDEO && m->want[media];
}

void mediarecv_start(struct mediarecv *m, struct session *session)
{
        m->session = session;
        uint64_t now = clock_now_us();
        if (m->sink && m->sink_timer <= 0) {
                struct pollfd fds[ALSASINK_MAX_FDS];
                int n = alsasink_pollfds(m->sink, fds, ALSASINK_MAX_FDS);
                for (int i = 0; i < n; i++)
                        if (loop_add_fd(m->loop, fds[i].fd, (uint32_t)fds[i].events, on_sink_fd,
                                        m) == 0)
                                m->sink_fds[m->n_sink_fds++] = fds[i].fd;
                m->sink_timer = loop_add_timer(m->loop, now + SINK_SERVICE_US, on_sink, m);
        }
        if (m->want[SESSION_AUDIO] && m->want[SESSION_VIDEO] && m->sync_timer <= 0)
                m->sync_timer = loop_add_timer(m->loop, now + SYNC_INTERVAL_US, on_sync, m);
}

static void note_played(struct mediarecv *m, enum session_media k, uint64_t now, uint32_t rtp_ts,
                        uint64_t extra_us)
{
        uint64_t ntp;
        if (!m->session || session_remote_ntp(m->session, k, rtp_ts, &ntp) < 0)
                return;
        /* Both clocks in µs; only differences between the tracks matter, so wrapping is fine. */
        int64_t off = (int64_t)(now + extra_us - ntp);
        if (!m->sync_have[k] || off < m->sync_off[k])
                m->sync_off[k] = off;
        m->sync_have[k] = true;
}

static void preview(struct mediarecv *m, uint64_t now, const struct picture *pic)
{
        if (m->preview_fd < 0 || now < m->next_preview)
                return;
        m->next_preview = now + PREVIEW_INTERVAL_US;
        unsigned cols, rows;
        if (termview_size(m->preview_fd, &cols, &rows) < 0)
                return;
        if (rows > 1)
                rows--; /* the last line stays free for the log */
        m->preview.len = 0;
        if (!m->preview_started) {
                /* Clear once and hide the cursor; mediarecv_free puts it back. */
                buf_append_str(&m->preview, "\x1b[2J\x1b[?25l");
                m->preview_started = true;
        }
        if (termview_render(pic, cols, rows, &m->preview) < 0)
                return;
        size_t off = 0;
        while (off < m->preview.len) {
                ssize_t w = write(m->preview_fd, m->preview.data + off, m->preview.len - off);
                if (w <= 0)
                        break; /* a full terminal drops this picture; the next one redraws */
                off += (size_t)w;
        }
}

static void glass_to_glass(struct mediarecv *m, uint64_t now, const struct picture *pic)
{
        uint64_t seq, cap;
        if (m->g2g_off)
                return;
        if (testpattern_read(pic, &seq, &cap) < 0 || cap > now ||
            now - cap > 10 * CLOCK_US_PER_SEC) {
                if (++m->g2g_misses >= 30 && m->g2g_n == 0)
                        m->g2g_off = true;
                return;
        }
        uint64_t ms = (now - cap + 500) / 1000;
        m->g2g_hist[ms > G2G_MAX_MS ? G2G_MAX_MS : ms]++;
        m->g2g_n++;
}

static double g2g_quantile(const struct mediarecv *m, double q)
{
        uint64_t want = (uint64_t)(q * (double)m->g2g_n), seen = 0;
        for (unsigned ms = 0; ms <= G2G_MAX_MS; ms++) {
                seen += m->g2g_hist[ms];
                if (seen > want)
                        return ms;
        }
        return G2G_MAX_MS;
}

static void video_frame(struct mediarecv *m, uint64_t now, const struct session_output *o)
{
        struct merr e = {{0}};
        if (o->lost) {
                m->need_keyframe = true;
                return;
        }
        if (!m->have_ts) {
                m->have_ts = true;
                m->last_ts = o->rtp_ts;
        }
        int32_t step = (int32_t)(o->rtp_ts - m->last_ts);
        if (step > 0)
                m->pts += (uint64_t)step;
        m->last_ts = o->rtp_ts;
        if (m->ivf && ivf_writer_write(m->ivf, o->data, o->len, m->pts, &e) < 0) {
                fail(m, e.msg);
                return;
        }
        if (!m->vdec)
                return;
        if (m->need_keyframe && !o->keyframe)
                return;
        struct picture pic;
        int rc = vp8dec_decode(m->vdec, o->data, o->len, &pic);
        if (rc < 0) {
                m->st.decode_errors++;
                m->need_keyframe = true;
                session_request_keyframe(m->session, now, SESSION_VIDEO);
                return;
        }
        m->need_keyframe = false;
        if (rc == 0)
                return;
        m->st.frames_decoded++;
        if (o->keyframe)
                m->st.key_frames_decoded++;
        m->st.frame_width = pic.width;
        m->st.frame_height = pic.height;
        if (m->last_frame_us) {
                double gap = (double)(now - m->last_frame_us);
                double avg = m->avg_gap_us > 0 ? m->avg_gap_us : gap;
                double limit = 3 * avg > avg + 150000 ? 3 * avg : avg + 150000;
                if (m->st.frames_decoded > 5 && gap > limit) {
                        m->st.freeze_count++;
                        m->st.total_freezes_duration_s += gap / 1e6;
                }
                m->avg_gap_us = avg + (gap - avg) / 30;
        }
        m->last_frame_us = now;
        if (m->y4m) {
                rc = y4mout_write(m->y4m, &pic, &e);
                if (rc < 0) {
                        fail(m, e.msg);
                        return;
                }
                m->st.frames_written++;
        }
        glass_to_glass(m, now, &pic);
        preview(m, now, &pic);
        note_played(m, SESSION_VIDEO, now, o->rtp_ts, 0);
}

static void audio_out(struct mediarecv *m, const int16_t *pcm, size_t samples)
{
        struct merr e = {{0}};
        m->st.total_samples_received += samples;
        if (m->sink)
                alsasink_write(m->sink, pcm, samples);
        if (m->wav && wavout_write(m->wav, pcm, samples, &e) < 0)
                fail(m, e.msg);
}

static void audio_frame(struct mediarecv *m, uint64_t now, const struct session_output *o)
{
        int n;
        if (o->lost) {
                /*
                 * The packet after the gap may carry this one's audio as in-band FEC; else the
                 * decoder conceals 20 ms at a time.
                 */
                m->st.concealment_events++;
                uint32_t want = o->samples ? o->samples : PCM_FRAME_SAMPLES;
                log_debug("media", "audio packet lost: %s",
                          !o->data ? "the next one is not here yet"
                          : opusdec_packet_has_fec(o->data, o->len) == 1
                              ? "recovered from the next one's FEC"
                              : "the next one carries no FEC");
                if (o->data && o->len && opusdec_packet_has_fec(o->data, o->len) == 1 &&
                    want <= PCM_FRAME_SAMPLES) {
                        n = opusdec_decode_fec(m->adec, o->data, o->len, m->pcm,
                                               OPUS_MAX_PACKET_SAMPLES);
                        if (n > 0) {
                                m->st.fec_packets_used++;
                                audio_out(m, m->pcm, (size_t)n);
                                return;
                        }
                }
                for (uint32_t done = 0; done < want; done += PCM_FRAME_SAMPLES) {
                        n = opusdec_decode(m->adec, NULL, 0, m->pcm, OPUS_MAX_PACKET_SAMPLES);
                        if (n <= 0)
                                break;
                        m->st.concealed_samples += (uint64_t)n;
                        audio_out(m, m->pcm, (size_t)n);
                }
                return;
        }
        n = opusdec_decode(m->adec, o->data, o->len, m->pcm, OPUS_MAX_PACKET_SAMPLES);
        if (n <= 0) {
                m->st.decode_errors++;
                return;
        }
        audio_out(m, m->pcm, (size_t)n);
        note_played(m, SESSION_AUDIO, now, o->rtp_ts, m->sink ? alsasink_delay_us(m->sink) : 0);
}

void mediarecv_frame(struct mediarecv *m, uint64_t now, const struct session_output *o)
{
        if (!m || m->failed)
                return;
        if (o->media == SESSION_VIDEO && m->want[SESSION_VIDEO])
                video_frame(m, now, o);
        else if (o->media == SESSION_AUDIO && m->adec)
                audio_frame(m, now, o);
}

void mediarecv_get_stats(const struct mediarecv *m, struct mediarecv_stats *out)
{
        *out = m->st;
        if (m->g2g_n) {
                out->g2g_frames = m->g2g_n;
                out->g2g_median_ms = g2g_quantile(m, 0.5);
                out->g2g_p95_ms = g2g_quantile(m, 0.95);
        }
        if (m->sink) {
                struct alsasink_stats s;
                alsasink_get_stats(m->sink, &s);
                out->have_sink = true;
                out->sink_underruns = s.underruns;
                out->sink_dropped_frames = s.frames_dropped;
                out->sink_delay_us = alsasink_delay_us(m->sink);
        }
}

int mediarecv_finish(struct mediarecv *m, char *err, size_t errlen)
{
        if (!m)
                return 0;
        struct merr e = {{0}};
        int rc = 0;
        if (m->ivf && (rc = ivf_writer_close(m->ivf, &e)) < 0)
                snprintf(err, errlen, "%s", e.msg);
        if (m->wav) {
                int r = wavout_close(m->wav, &e);
                if (r < 0 && rc == 0) {
                        rc = r;
                        snprintf(err, errlen, "%s", e.msg);
                }
        }
        return rc;
}

const char *mediarecv_describe(const struct mediarecv *m)
{
        return m->describe;
}

int mediarecv_preview_fd(const struct mediarecv *m)
{
        return m->preview_fd;
}

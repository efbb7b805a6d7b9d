#include "media/alsasrc.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "media/alsacommon.h"

#define BUFFER_FRAMES (PCM_FRAME_SAMPLES * 8) /* 160 ms of slack for a busy loop */

struct alsasrc {
        snd_pcm_t *pcm;
        char *name;
        unsigned channels, dev_channels;
        struct pollfd fds[ALSASRC_MAX_FDS];
        unsigned nfds;
        int self_paced, tfd;
        uint64_t start_us, frames_read; /* self-paced clock */
        int16_t dev_buf[PCM_FRAME_SAMPLES * 8];
        unsigned fill; /* frames of the current frame already read */
        int16_t out_buf[PCM_FRAME_SAMPLES * PCM_MAX_CHANNELS];
        struct pcm_frame frame;
        uint64_t seq;
        unsigned overruns;
};

static int configure(struct alsasrc *s, struct merr *err)
{
        snd_pcm_hw_params_t *hw;
        snd_pcm_sw_params_t *sw;
        snd_pcm_hw_params_alloca(&hw);
        snd_pcm_sw_params_alloca(&sw);
        int rc;
        if ((rc = snd_pcm_hw_params_any(s->pcm, hw)) < 0)
                return alsacommon_fail(err, rc, s->name, "no configuration");
        if ((rc = snd_pcm_hw_params_set_access(s->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0)
                return alsacommon_fail(err, rc, s->name, "interleaved access not supported");
        if ((rc = snd_pcm_hw_params_set_format(s->pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0)
                return alsacommon_fail(err, rc, s->name,
                                       "S16_LE not supported (try plughw: or default)");
        unsigned ch = s->channels;
        if (snd_pcm_hw_params_set_channels(s->pcm, hw, ch) < 0) {
                ch = s->channels == 1 ? 2 : 1; /* convert the other count ourselves */
                if ((rc = snd_pcm_hw_params_set_channels(s->pcm, hw, ch)) < 0)
                        return alsacommon_fail(err, rc, s->name, "neither mono nor stereo capture");
        }
        s->dev_channels = ch;
        unsigned rate = PCM_RATE;
        snd_pcm_hw_params_set_rate_resample(s->pcm, hw, 1);
        if ((rc = snd_pcm_hw_params_set_rate_near(s->pcm, hw, &rate, NULL)) < 0)
                return alsacommon_fail(err, rc, s->name, "cannot set the rate");
        if (rate != PCM_RATE)
                return merr_set(err, -ENOTSUP,
                                "audio device %s: runs at %u Hz, 48000 Hz needed (try plughw:)",
                                s->name, rate);
        snd_pcm_uframes_t period = PCM_FRAME_SAMPLES, buffer = BUFFER_FRAMES;
        snd_pcm_hw_params_set_period_size_near(s->pcm, hw, &period, NULL);
        snd_pcm_hw_params_set_buffer_size_near(s->pcm, hw, &buffer);
        if ((rc = snd_pcm_hw_params(s->pcm, hw)) < 0)
                return alsacommon_fail(err, rc, s->name, "hardware parameters refused");
        snd_pcm_hw_params_get_period_size(hw, &period, NULL);
        snd_pcm_hw_params_get_buffer_size(hw, &buffer);
        if (buffer < PCM_FRAME_SAMPLES)
                return merr_set(err, -ENOTSUP,
                                "audio device %s: buffer of %lu frames is under 20 ms", s->name,
                                (unsigned long)buffer);
        if ((rc = snd_pcm_sw_params_current(s->pcm, sw)) < 0 ||
            (rc = snd_pcm_sw_params_set_avail_min(s->pcm, sw, PCM_FRAME_SAMPLES)) < 0 ||
            (rc = snd_pcm_sw_params_set_start_threshold(s->pcm, sw, buffer * 2)) < 0 ||
            (rc = snd_pcm_sw_params(s->pcm, sw)) < 0)
                return alsacommon_fail(err, rc, s->name, "software parameters refused");
        log_debug("media", "%s: %u ch, period %lu, buffer %lu frames", s->name, ch,
                  (unsigned long)period, (unsigned long)buffer);
        return 0;
}

static int setup_polling(struct alsasrc *s, struct merr *err)
{
        snd_pcm_type_t t = snd_pcm_type(s->pcm);
        s->self_paced = t == SND_PCM_TYPE_FILE || t == SND_PCM_TYPE_NULL;
        if (s->self_paced) {
                s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
                if (s->tfd < 0)
                        return merr_set(err, -errno, "audio device %s: timerfd: %s", s->name,
                                        strerror(errno));
                struct itimerspec its = {.it_interval.tv_nsec = PCM_FRAME_MS * 1000000L,
                                         .it_value.tv_nsec = PCM_FRAME_MS * 1000000L};
                timerfd_settime(s->tfd, 0, &its, NULL);
                s->fds[0] = (struct pollfd){.fd = s->tfd, .events = POLLIN};
                s->nfds = 1;
                return 0;
        }
        int n = snd_pcm_poll_descriptors_count(s->pcm);
        if (n <= 0 || n > ALSASRC_MAX_FDS)
                return merr_set(err, -ENOTSUP, "audio device %s: %d poll descriptors", s->name, n);
        n = snd_pcm_poll_descriptors(s->pcm, s->fds, (unsigned)n);
        if (n <= 0)
                return alsacommon_fail(err, n ? n : -EIO, s->name, "no poll descriptors");
        s->nfds = (unsigned)n;
        return 0;
}

int alsasrc_new(const struct alsasrc_config *cfg, struct alsasrc **out, struct merr *err)
{
        *out = NULL;
        alsacommon_route_log();
        struct alsasrc *s = calloc(1, sizeof(*s));
        if (!s || !(s->name = strdup(cfg->pcm))) {
                free(s);
                return merr_set(err, -ENOMEM, "audio device %s: out of memory", cfg->pcm);
        }
        s->tfd = -1;
        s->channels = cfg->channels == 2 ? 2 : 1;
        int rc = snd_pcm_open(&s->pcm, cfg->pcm, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
        if (rc < 0) {
                s->pcm = NULL;
                alsacommon_fail(err, rc, cfg->pcm, NULL);
                goto out;
        }
        if ((rc = configure(s, err)) < 0 || (rc = setup_polling(s, err)) < 0)
                goto out;
        if ((rc = snd_pcm_prepare(s->pcm)) < 0 || (rc = snd_pcm_start(s->pcm)) < 0) {
                alsacommon_fail(err, rc, s->name, "cannot start capture");
                goto out;
        }
        s->start_us = clock_now_us();
        s->frame.samples = s->out_buf;
        s->frame.channels = s->channels;
        log_info("media", "audio: %s, 48000 Hz, %u channel(s)%s", s->name, s->dev_channels,
                 s->self_paced ? ", paced by rtcpeer (file/null PCM)" : "");
out:
        if (rc < 0) {
                alsasrc_free(s);
                return rc;
        }
        *out = s;
        return 0;
}

void alsasrc_free(struct alsasrc *s)
{
        if (!s)
                return;
        if (s->pcm)
                snd_pcm_close(s->pcm);
        if (s->tfd >= 0)
                close(s->tfd);
        free(s->name);
        free(s);
}

int alsasrc_pollfds(const struct alsasrc *s, struct pollfd *fds, unsigned max)
{
        unsigned n = s->nfds < max ? s->nfds : max;
        memcpy(fds, s->fds, n * sizeof(*fds));
        return (int)n;
}

int alsasrc_self_paced(const struct alsasrc *s)
{
        return s->self_paced;
}

unsigned alsasrc_overruns(const struct alsasrc *s)
{
        return s->overruns;
}

static int recover(struct alsasrc *s, int rc, struct merr *err)
{
        if (rc == -EPIPE || rc == -ESTRPIPE) {
                s->overruns++;
                log_warn("media", "audio device %s: overrun, audio lost (%u so far)", s->name,
                         s->overruns);
                if ((rc = snd_pcm_prepare(s->pcm)) < 0 || (rc = snd_pcm_start(s->pcm)) < 0)
                        return alsacommon_fail(err, rc, s->name, "cannot restart after overrun");
                s->fill = 0;
                return 0;
        }
        return alsacommon_fail(err, rc, s->name, "capture failed");
}

static void convert_channels(struct alsasrc *s)
{
        const int16_t *in = s->dev_buf;
        if (s->dev_channels == s->channels) {
                memcpy(s->out_buf, in, sizeof(int16_t) * PCM_FRAME_SAMPLES * s->channels);
        } else if (s->channels == 1) {
                for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++)
                        s->out_buf[i] = (int16_t)((in[2 * i] + in[2 * i + 1]) / 2);
        } else {
                for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++)
                        s->out_buf[2 * i] = s->out_buf[2 * i + 1] = in[i];
        }
}

int alsasrc_read(struct alsasrc *s, uint64_t now_us, const struct pcm_frame **out, struct merr *err)
{
        if (s->self_paced) {
                uint64_t ticks;
                if (read(s->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                        return merr_set(err, -errno, "audio device %s: timer: %s", s->name,
                                        strerror(errno));
                if (now_us < s->start_us)
                        return 0;
                uint64_t due = (now_us - s->start_us) * PCM_RATE / 1000000ULL;
                if (due < s->frames_read + PCM_FRAME_SAMPLES)
                        return 0;
                snd_pcm_sframes_t n = snd_pcm_readi(s->pcm, s->dev_buf, PCM_FRAME_SAMPLES);
                if (n < 0)
                        return alsacommon_fail(err, (int)n, s->name, "capture failed");
                if (n != PCM_FRAME_SAMPLES)
                        return merr_set(err, -EIO, "audio device %s: short read", s->name);
                s->frame.capture_us = s->start_us + s->frames_read * 1000000ULL / PCM_RATE;
                s->frames_read += PCM_FRAME_SAMPLES;
        } else {
                /* Translating revents is what re-arms plugins that poll on timers. */
                struct pollfd fds[ALSASRC_MAX_FDS];
                unsigned short revents = 0;
                memcpy(fds, s->fds, s->nfds * sizeof(*fds));
                if (poll(fds, s->nfds, 0) > 0)
                        snd_pcm_poll_descriptors_revents(s->pcm, fds, s->nfds, &revents);
                snd_pcm_sframes_t avail = snd_pcm_avail_update(s->pcm);
                if (avail < 0)
                        return recover(s, (int)avail, err);
                if (s->fill + (unsigned)avail < PCM_FRAME_SAMPLES)
                        return 0;
                if (s->fill == 0)
                        s->frame.capture_us = now_us - (uint64_t)avail * 1000000ULL / PCM_RATE;
                while (s->fill < PCM_FRAME_SAMPLES) {
                        snd_pcm_sframes_t n =
                            snd_pcm_readi(s->pcm, s->dev_buf + s->fill * s->dev_channels,
                                          PCM_FRAME_SAMPLES - s->fill);
                        if (n == -EAGAIN)
                                return 0;
                        if (n < 0)
                                return recover(s, (int)n, err);
                        s->fill += (unsigned)n;
                }
                s->fill = 0;
        }
        convert_channels(s);
        s->frame.seq = s->seq++;
        *out = &s->frame;
        return 1;
}

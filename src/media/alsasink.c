#include "media/alsasink.h"

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

#define PERIOD_US      10000
#define DEVICE_PERIODS 3        /* what the device is kept filled with */
#define STEP_US        10000    /* target change per underrun or calm spell */
#define CALM_US        10000000 /* no underrun for this long shrinks the target */
#define DROP_MARGIN_US 40000    /* above target + this, queued audio is dropped */

enum state {
        BUFFERING, /* silence until the queue reaches the target */
        PLAYING,
};

struct alsasink {
        snd_pcm_t *pcm;
        char *name;
        unsigned rate, channels, dev_channels;
        snd_pcm_uframes_t period, buffer, fill; /* fill: frames kept in the device */
        struct pollfd fds[ALSASINK_MAX_FDS];
        unsigned nfds;
        int self_paced, tfd;
        int clock_running; /* self-paced: an emulated device clock */
        uint64_t clock_start_us, clock_written;
        int16_t *ring; /* queued audio in the device's channel count */
        size_t ring_cap, ring_head, ring_len;
        int16_t *silence; /* fill frames of zeros */
        enum state state;
        int fed, calm_set;
        uint64_t last_feed_us, calm_since_us;
        unsigned min_target_us, max_target_us;
        struct alsasink_stats st;
        int failed;
        struct merr err;
};

static uint64_t frames_to_us(const struct alsasink *s, uint64_t frames)
{
        return frames * CLOCK_US_PER_SEC / s->rate;
}

static uint64_t us_to_frames(const struct alsasink *s, uint64_t us)
{
        return us * s->rate / CLOCK_US_PER_SEC;
}

static int configure(struct alsasink *s, struct merr *err)
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
                ch = s->channels == 1 ? 2 : 1; /* convert to the other count ourselves */
                if ((rc = snd_pcm_hw_params_set_channels(s->pcm, hw, ch)) < 0)
                        return alsacommon_fail(err, rc, s->name,
                                               "neither mono nor stereo playback");
        }
        s->dev_channels = ch;
        unsigned rate = s->rate;
        snd_pcm_hw_params_set_rate_resample(s->pcm, hw, 1);
        if ((rc = snd_pcm_hw_params_set_rate_near(s->pcm, hw, &rate, NULL)) < 0)
                return alsacommon_fail(err, rc, s->name, "cannot set the rate");
        if (rate != s->rate)
                return merr_set(err, -ENOTSUP,
                                "audio device %s: runs at %u Hz, %u Hz needed (try plughw:)",
                                s->name, rate, s->rate);
        snd_pcm_uframes_t period = us_to_frames(s, PERIOD_US), buffer = period * DEVICE_PERIODS;
        snd_pcm_hw_params_set_period_size_near(s->pcm, hw, &period, NULL);
        snd_pcm_hw_params_set_buffer_size_near(s->pcm, hw, &buffer);
        if ((rc = snd_pcm_hw_params(s->pcm, hw)) < 0)
                return alsacommon_fail(err, rc, s->name, "hardware parameters refused");
        snd_pcm_hw_params_get_period_size(hw, &period, NULL);
        snd_pcm_hw_params_get_buffer_size(hw, &buffer);
        if (!period || buffer < period)
                return merr_set(err, -ENOTSUP, "audio device %s: period %lu, buffer %lu frames",
                                s->name, (unsigned long)period, (unsigned long)buffer);
        s->period = period;
        s->buffer = buffer;
        /*
         * A device that insists on a big buffer is still kept only DEVICE_PERIODS full; the
         * wakeup threshold is set so that its descriptor fires when a period of that is free.
         */
        s->fill = buffer < period * DEVICE_PERIODS ? buffer : period * DEVICE_PERIODS;
        if ((rc = snd_pcm_sw_params_current(s->pcm, sw)) < 0 ||
            (rc = snd_pcm_sw_params_set_avail_min(s->pcm, sw, buffer - s->fill + period)) < 0 ||
            (rc = snd_pcm_sw_params_set_start_threshold(s->pcm, sw, s->fill)) < 0 ||
            (rc = snd_pcm_sw_params(s->pcm, sw)) < 0)
                return alsacommon_fail(err, rc, s->name, "software parameters refused");
        log_debug("media", "%s: %u ch, period %lu, buffer %lu, kept %lu frames", s->name, ch,
                  (unsigned long)period, (unsigned long)buffer, (unsigned long)s->fill);
        return 0;
}

/* Self-paced: a tick every period, the first after `first_ns`. */
static void arm_timer(struct alsasink *s, long first_ns)
{
        uint64_t period_us = frames_to_us(s, s->period);
        struct timespec period = {.tv_sec = (time_t)(period_us / CLOCK_US_PER_SEC),
                                  .tv_nsec = (long)(period_us % CLOCK_US_PER_SEC * 1000)};
        struct itimerspec its = {.it_interval = period, .it_value = period};
        if (first_ns)
                its.it_value = (struct timespec){.tv_nsec = first_ns};
        timerfd_settime(s->tfd, 0, &its, NULL);
}

static int setup_polling(struct alsasink *s, struct merr *err)
{
        snd_pcm_type_t t = snd_pcm_type(s->pcm);
        s->self_paced = t == SND_PCM_TYPE_FILE || t == SND_PCM_TYPE_NULL;
        if (s->self_paced) {
                s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
                if (s->tfd < 0)
                        return merr_set(err, -errno, "audio device %s: timerfd: %s", s->name,
                                        strerror(errno));
                arm_timer(s, 1); /* at once for the first fill */
                s->fds[0] = (struct pollfd){.fd = s->tfd, .events = POLLIN};
                s->nfds = 1;
                return 0;
        }
        int n = snd_pcm_poll_descriptors_count(s->pcm);
        if (n <= 0 || n > ALSASINK_MAX_FDS)
                return merr_set(err, -ENOTSUP, "audio device %s: %d poll descriptors", s->name, n);
        n = snd_pcm_poll_descriptors(s->pcm, s->fds, (unsigned)n);
        if (n <= 0)
                return alsacommon_fail(err, n ? n : -EIO, s->name, "no poll descriptors");
        s->nfds = (unsigned)n;
        return 0;
}

int alsasink_open(const char *pcm_name, unsigned rate, unsigned channels, struct alsasink **out,
                  struct merr *err)
{
        *out = NULL;
        alsacommon_route_log();
        if (rate < 8000 || rate > 192000 || channels < 1 || channels > 2)
                return merr_set(err, -EINVAL,
                                "audio device %s: %u Hz with %u channels (8000..192000 Hz, mono "
                                "or stereo)",
                                pcm_name, rate, channels);
        struct alsasink *s = calloc(1, sizeof(*s));
        if (!s || !(s->name = strdup(pcm_name))) {
                free(s);
                return merr_set(err, -ENOMEM, "audio device %s: out of memory", pcm_name);
        }
        s->tfd = -1;
        s->rate = rate;
        s->channels = channels;
        int rc = snd_pcm_open(&s->pcm, pcm_name, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
        if (rc < 0) {
                s->pcm = NULL;
                alsacommon_fail(err, rc, pcm_name, NULL);
                goto out;
        }
        if ((rc = configure(s, err)) < 0 || (rc = setup_polling(s, err)) < 0)
                goto out;
        if ((rc = snd_pcm_prepare(s->pcm)) < 0) {
                alsacommon_fail(err, rc, s->name, "cannot prepare playback");
                goto out;
        }
        s->ring_cap = us_to_frames(s, ALSASINK_QUEUE_US);
        s->ring = malloc(s->ring_cap * s->dev_channels * sizeof(int16_t));
        s->silence = calloc(s->fill * s->dev_channels, sizeof(int16_t));
        if (!s->ring || !s->silence) {
                rc = merr_set(err, -ENOMEM, "audio device %s: out of memory", s->name);
                goto out;
        }
        /* The target covers at least the device's own share and two periods of queue. */
        uint64_t floor_us = frames_to_us(s, s->fill + 2 * s->period);
        s->min_target_us =
            (unsigned)(floor_us > ALSASINK_TARGET_US ? floor_us : ALSASINK_TARGET_US);
        s->max_target_us =
            s->min_target_us > ALSASINK_TARGET_MAX_US ? s->min_target_us : ALSASINK_TARGET_MAX_US;
        s->st.target_us = s->min_target_us;
        log_info("media", "audio out: %s, %u Hz, %u channel(s), %u ms latency target%s", s->name,
                 rate, s->dev_channels, s->st.target_us / 1000,
                 s->self_paced ? ", paced by rtcpeer (file/null PCM)" : "");
out:
        if (rc < 0) {
                alsasink_free(s);
                return rc;
        }
        *out = s;
        return 0;
}

void alsasink_free(struct alsasink *s)
{
        if (!s)
                return;
        if (s->pcm) {
                snd_pcm_drop(s->pcm);
                snd_pcm_close(s->pcm);
        }
        if (s->tfd >= 0)
                close(s->tfd);
        free(s->ring);
        free(s->silence);
        free(s->name);
        free(s);
}

int alsasink_pollfds(const struct alsasink *s, struct pollfd *fds, unsigned max)
{
        unsigned n = s->nfds < max ? s->nfds : max;
        memcpy(fds, s->fds, n * sizeof(*fds));
        return (int)n;
}

int alsasink_self_paced(const struct alsasink *s)
{
        return s->self_paced;
}

static void ring_drop(struct alsasink *s, size_t frames)
{
        s->ring_head = (s->ring_head + frames) % s->ring_cap;
        s->ring_len -= frames;
        s->st.frames_dropped += frames;
}

int alsasink_write(struct alsasink *s, const int16_t *pcm, size_t frames)
{
        if (!frames)
                return 0;
        if (!pcm)
                return -EINVAL;
        if (frames > s->ring_cap) { /* only the newest second can be kept */
                s->st.frames_dropped += frames - s->ring_cap;
                pcm += (frames - s->ring_cap) * s->channels;
                frames = s->ring_cap;
        }
        if (s->ring_len + frames > s->ring_cap)
                ring_drop(s, s->ring_len + frames - s->ring_cap);
        size_t tail = (s->ring_head + s->ring_len) % s->ring_cap;
        while (frames) {
                size_t n = frames < s->ring_cap - tail ? frames : s->ring_cap - tail;
                int16_t *dst = s->ring + tail * s->dev_channels;
                if (s->channels == s->dev_channels)
                        memcpy(dst, pcm, n * s->channels * sizeof(*pcm));
                else if (s->dev_channels == 2)
                        for (size_t i = 0; i < n; i++)
                                dst[2 * i] = dst[2 * i + 1] = pcm[i];
                else
                        for (size_t i = 0; i < n; i++)
                                dst[i] = (int16_t)((pcm[2 * i] + pcm[2 * i + 1]) / 2);
                pcm += n * s->channels;
                frames -= n;
                s->ring_len += n;
                tail = (tail + n) % s->ring_cap;
        }
        s->fed = 1;
        return 0;
}

/* Frames in the device not yet heard. */
static uint64_t device_delay(const struct alsasink *s, uint64_t now)
{
        if (s->self_paced) {
                if (!s->clock_running || now < s->clock_start_us)
                        return s->clock_written;
                uint64_t played = us_to_frames(s, now - s->clock_start_us);
                return played < s->clock_written ? s->clock_written - played : 0;
        }
        snd_pcm_sframes_t d;
        return snd_pcm_delay(s->pcm, &d) == 0 && d > 0 ? (uint64_t)d : 0;
}

/* Frames the device can take now to reach its fill level, or a negative code (-EPIPE: xrun). */
static snd_pcm_sframes_t device_space(struct alsasink *s, uint64_t now)
{
        if (s->self_paced) {
                if (!s->clock_running) {
                        s->clock_running = 1;
                        s->clock_start_us = now;
                        s->clock_written = 0;
                        arm_timer(s, 0); /* ticks in step with the clock from now on */
                }
                uint64_t played =
                    now > s->clock_start_us ? us_to_frames(s, now - s->clock_start_us) : 0;
                if (played > s->clock_written)
                        return -EPIPE; /* the emulated device ran dry */
                uint64_t in_device = s->clock_written - played;
                return in_device < s->fill ? (snd_pcm_sframes_t)(s->fill - in_device) : 0;
        }
        snd_pcm_sframes_t avail = snd_pcm_avail_update(s->pcm);
        if (avail < 0)
                return avail;
        snd_pcm_sframes_t spare = (snd_pcm_sframes_t)(s->buffer - s->fill);
        return avail > spare ? avail - spare : 0;
}

/* Frames written, 0 when the device is full, or a negative code. */
static snd_pcm_sframes_t device_write(struct alsasink *s, const int16_t *pcm, size_t frames)
{
        snd_pcm_sframes_t n = snd_pcm_writei(s->pcm, pcm, frames);
        if (n == -EAGAIN)
                return 0;
        if (n > 0)
                s->clock_written += (uint64_t)n;
        return n;
}

static void underrun(struct alsasink *s, uint64_t now)
{
        s->st.underruns++;
        s->state = BUFFERING;
        s->calm_since_us = now;
        unsigned old = s->st.target_us;
        if (s->st.target_us + STEP_US <= s->max_target_us)
                s->st.target_us += STEP_US;
        log_debug("media", "audio device %s: queue ran dry (%u underruns), target %u -> %u ms",
                  s->name, s->st.underruns, old / 1000, s->st.target_us / 1000);
}

/* Writes up to `space` frames: queued audio when playing, silence when buffering or dry. */
static int fill_device(struct alsasink *s, uint64_t now, size_t space)
{
        uint64_t delay = device_delay(s, now), target = us_to_frames(s, s->st.target_us);
        while (space) {
                if (s->state == BUFFERING && s->ring_len &&
                    (delay + s->ring_len >= target || now >= s->last_feed_us + s->st.target_us))
                        s->state = PLAYING; /* enough queued, or no more is coming */
                if (s->state == PLAYING && !s->ring_len)
                        underrun(s, now);
                const int16_t *src = s->silence;
                size_t n = space < s->fill ? space : s->fill;
                if (s->state == PLAYING) {
                        src = s->ring + s->ring_head * s->dev_channels;
                        size_t seg = s->ring_cap - s->ring_head;
                        n = n < s->ring_len ? n : s->ring_len;
                        n = n < seg ? n : seg;
                }
                snd_pcm_sframes_t done = device_write(s, src, n);
                if (done < 0)
                        return (int)done;
                if (s->state == PLAYING) {
                        s->ring_head = (s->ring_head + (size_t)done) % s->ring_cap;
                        s->ring_len -= (size_t)done;
                        s->st.frames_played += (uint64_t)done;
                } else {
                        s->st.silence_frames += (uint64_t)done;
                }
                delay += (uint64_t)done;
                space -= (size_t)done;
                if ((size_t)done < n)
                        break; /* the device is full after all */
        }
        return 0;
}

static int recover(struct alsasink *s, int rc)
{
        if (rc != -EPIPE && rc != -ESTRPIPE)
                return alsacommon_fail(&s->err, rc, s->name, "playback failed");
        s->st.xruns++;
        log_warn("media",
                 "audio device %s: underrun, playback was not serviced in time (%u so far)",
                 s->name, s->st.xruns);
        s->clock_running = 0;
        if ((rc = snd_pcm_prepare(s->pcm)) < 0)
                return alsacommon_fail(&s->err, rc, s->name, "cannot restart after underrun");
        return 0;
}

/* Translating revents is what re-arms plugins that poll on timers; a timerfd is just drained. */
static void ack_wakeup(struct alsasink *s)
{
        if (s->self_paced) {
                uint64_t ticks;
                if (read(s->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                        log_debug("media", "audio device %s: timer: %s", s->name, strerror(errno));
                return;
        }
        struct pollfd fds[ALSASINK_MAX_FDS];
        unsigned short revents = 0;
        memcpy(fds, s->fds, s->nfds * sizeof(*fds));
        if (poll(fds, s->nfds, 0) > 0)
                snd_pcm_poll_descriptors_revents(s->pcm, fds, s->nfds, &revents);
}

/* Drops queued audio well above the target, before it goes into the device. */
static void drop_excess(struct alsasink *s, uint64_t now)
{
        uint64_t latency = device_delay(s, now) + s->ring_len;
        uint64_t target = us_to_frames(s, s->st.target_us);
        if (latency <= target + us_to_frames(s, DROP_MARGIN_US))
                return;
        size_t drop = latency - target < s->ring_len ? (size_t)(latency - target) : s->ring_len;
        ring_drop(s, drop);
        log_debug("media", "audio device %s: %zu frames over the %u ms target dropped", s->name,
                  drop, s->st.target_us / 1000);
}

/*
 * After a calm spell the target shrinks, and the latency with it: at most one step of queued
 * audio goes at a time, a skip too short to notice every 10 s.
 */
static void calm_step(struct alsasink *s, uint64_t now)
{
        s->calm_since_us = now;
        if (s->st.target_us < s->min_target_us + STEP_US)
                return;
        s->st.target_us -= STEP_US;
        uint64_t latency = device_delay(s, now) + s->ring_len;
        uint64_t target = us_to_frames(s, s->st.target_us);
        if (latency <= target + us_to_frames(s, STEP_US / 2))
                return;
        uint64_t drop = latency - target;
        drop = drop < us_to_frames(s, STEP_US) ? drop : us_to_frames(s, STEP_US);
        ring_drop(s, drop < s->ring_len ? (size_t)drop : s->ring_len);
}

int alsasink_service(struct alsasink *s, uint64_t now)
{
        if (s->failed)
                return s->failed;
        ack_wakeup(s);
        if (!s->calm_set) {
                s->calm_set = 1;
                s->calm_since_us = now;
        }
        if (s->fed) {
                s->fed = 0;
                s->last_feed_us = now;
        }
        int rc = 0;
        /* A second round refills the device after recovering from an underrun. */
        for (int round = 0; round < 2; round++) {
                snd_pcm_sframes_t space = device_space(s, now);
                if (space >= 0) {
                        drop_excess(s, now);
                        /* Less than half a period: an early call; the wakeup comes later. */
                        if ((snd_pcm_uframes_t)space < s->period / 2)
                                break;
                }
                rc = space < 0 ? (int)space : fill_device(s, now, (size_t)space);
                if (rc == 0)
                        break;
                if ((rc = recover(s, rc)) < 0)
                        break;
        }
        if (rc < 0) {
                s->failed = rc;
                return rc;
        }
        if (now >= s->calm_since_us + CALM_US)
                calm_step(s, now);
        return 0;
}

uint64_t alsasink_delay_us(const struct alsasink *s)
{
        return frames_to_us(s, device_delay(s, clock_now_us()) + s->ring_len);
}

void alsasink_get_stats(const struct alsasink *s, struct alsasink_stats *st)
{
        *st = s->st;
}

const char *alsasink_error(const struct alsasink *s)
{
        return s->err.msg;
}

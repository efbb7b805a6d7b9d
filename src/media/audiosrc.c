#include "media/audiosrc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "media/alsasrc.h"
#include "media/wav.h"

#define DEFAULT_TONE_HZ 440.0
#define TONE_AMPLITUDE  9830.0 /* -10 dBFS */
#define FRAME_US        (PCM_FRAME_MS * 1000ULL)
/* A loop this many frames late skips ahead, as a sound card overruns, instead of bursting. */
#define MAX_LATE_FRAMES 5

struct audiosrc {
        enum audiosrc_kind kind;
        unsigned channels;
        double tone_hz, phase;
        struct wav_reader *wav;
        struct alsasrc *alsa;
        uint64_t start_us, n; /* frame clock of the timer-driven sources */
        int started, failed;
        int16_t buf[PCM_FRAME_SAMPLES * PCM_MAX_CHANNELS];
        int16_t wav_buf[PCM_FRAME_SAMPLES * PCM_MAX_CHANNELS];
        struct pcm_frame frame;
        struct merr err;
};

static int parse_tone(const char *spec, double *hz, struct merr *err)
{
        *hz = DEFAULT_TONE_HZ;
        if (strcmp(spec, "test") == 0)
                return 0;
        char *end;
        double f = strtod(spec + 5, &end);
        if (end == spec + 5 || *end || !(f >= 1 && f <= 20000))
                return merr_set(err, -EINVAL,
                                "bad test audio source '%s' (expected test:FREQUENCY, 1 to "
                                "20000 Hz)",
                                spec);
        *hz = f;
        return 0;
}

int audiosrc_new(const struct audiosrc_config *cfg, struct audiosrc **out, struct merr *err)
{
        *out = NULL;
        if (!cfg->spec || !*cfg->spec)
                return merr_set(err, -EINVAL, "no audio source given");
        if (cfg->channels > 2)
                return merr_set(err, -EINVAL, "%u audio channels: mono or stereo only",
                                cfg->channels);
        struct audiosrc *s = calloc(1, sizeof(*s));
        if (!s)
                return merr_set(err, -ENOMEM, "out of memory");
        s->channels = cfg->channels ? cfg->channels : 1;
        struct stat st;
        int rc;
        if (strcmp(cfg->spec, "test") == 0 || strncmp(cfg->spec, "test:", 5) == 0) {
                s->kind = AUDIOSRC_TEST;
                rc = parse_tone(cfg->spec, &s->tone_hz, err);
                if (rc == 0)
                        log_info("media", "audio: test tone %.6g Hz", s->tone_hz);
        } else if (stat(cfg->spec, &st) == 0 && S_ISREG(st.st_mode)) {
                s->kind = AUDIOSRC_WAV;
                rc = wav_reader_new(cfg->spec, &s->wav, err);
                if (rc == 0) {
                        if (!cfg->channels)
                                s->channels = wav_reader_channels(s->wav);
                        log_info("media", "audio: %s, %u channel(s), looped", cfg->spec,
                                 wav_reader_channels(s->wav));
                }
        } else {
                s->kind = AUDIOSRC_ALSA;
                struct alsasrc_config ac = {.pcm = cfg->spec, .channels = s->channels};
                rc = alsasrc_new(&ac, &s->alsa, err);
        }
        if (rc < 0) {
                audiosrc_free(s);
                return rc;
        }
        s->frame.samples = s->buf;
        s->frame.channels = s->channels;
        *out = s;
        return 0;
}

void audiosrc_free(struct audiosrc *s)
{
        if (!s)
                return;
        wav_reader_free(s->wav);
        alsasrc_free(s->alsa);
        free(s);
}

enum audiosrc_kind audiosrc_kind(const struct audiosrc *s)
{
        return s->kind;
}

unsigned audiosrc_channels(const struct audiosrc *s)
{
        return s->channels;
}

int audiosrc_pollfds(const struct audiosrc *s, struct pollfd *fds, unsigned max)
{
        return s->alsa ? alsasrc_pollfds(s->alsa, fds, max) : 0;
}

uint64_t audiosrc_next_deadline(const struct audiosrc *s)
{
        if (s->alsa || s->failed)
                return UINT64_MAX;
        return s->started ? s->start_us + s->n * FRAME_US : 0;
}

static void make_tone(struct audiosrc *s)
{
        double step = 2 * M_PI * s->tone_hz / PCM_RATE;
        for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++) {
                int16_t v = (int16_t)lrint(TONE_AMPLITUDE * sin(s->phase));
                for (unsigned c = 0; c < s->channels; c++)
                        s->buf[i * s->channels + c] = v;
                s->phase += step;
        }
        s->phase = fmod(s->phase, 2 * M_PI); /* keep precision over hours */
}

static int make_wav(struct audiosrc *s)
{
        unsigned fc = wav_reader_channels(s->wav);
        int rc = wav_reader_read(s->wav, fc == s->channels ? s->buf : s->wav_buf, PCM_FRAME_SAMPLES,
                                 &s->err);
        if (rc < 0 || fc == s->channels)
                return rc;
        for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++) {
                if (s->channels == 1)
                        s->buf[i] = (int16_t)((s->wav_buf[2 * i] + s->wav_buf[2 * i + 1]) / 2);
                else
                        s->buf[2 * i] = s->buf[2 * i + 1] = s->wav_buf[i];
        }
        return 0;
}

int audiosrc_read(struct audiosrc *s, uint64_t now_us, const struct pcm_frame **out)
{
        if (s->failed)
                return s->failed;
        int rc;
        if (s->alsa) {
                rc = alsasrc_read(s->alsa, now_us, out, &s->err);
                if (rc < 0)
                        s->failed = rc;
                return rc;
        }
        if (!s->started) {
                s->started = 1;
                s->start_us = now_us;
        }
        uint64_t due = s->start_us + s->n * FRAME_US;
        if (now_us < due)
                return 0;
        if (now_us >= due + MAX_LATE_FRAMES * FRAME_US)
                s->n = (now_us - s->start_us) / FRAME_US; /* skip what the stall lost */
        if (s->wav) {
                if ((rc = make_wav(s)) < 0) {
                        s->failed = rc;
                        return rc;
                }
        } else {
                make_tone(s);
        }
        s->frame.capture_us = s->start_us + s->n * FRAME_US;
        s->frame.seq = s->n++;
        *out = &s->frame;
        return 1;
}

const char *audiosrc_error(const struct audiosrc *s)
{
        return s->err.msg;
}

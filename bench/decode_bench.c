/*
 * The reference for the receive side: what the codecs alone cost to decode what rtcpeer
 * receives. Every VP8 frame of an IVF file (rtcpeer answer --record-video) goes through libvpx
 * (src/media/vp8dec), and SECONDS of a 440 Hz tone, Opus-encoded at 32 kbit/s mono before any
 * timing starts, through libopus (src/media/opusdec, decoded to stereo as rtcpeer does).
 * Optionally the decoded pictures are written as Y4M (src/media/y4mout) and the audio as WAV
 * (src/media/wavout), e.g. to /dev/null, as `rtcpeer answer --video-out --record-audio` does.
 *
 *   decode_bench [--paced] [--y4m FILE] [--wav FILE] IVF [SECONDS]
 *
 * SECONDS of Opus default to the IVF's duration. Without --paced the frames are decoded back to
 * back, all video then all audio, best of 2 passes (fresh decoders each). With --paced they are
 * decoded as a live receiver gets them: VP8 frame i at its IVF timestamp and Opus packet m at
 * m x 20 ms after the start, in time order, sleeping (clock_nanosleep, TIMER_ABSTIME) until
 * each is due, so the run takes the media's duration in wall time; a late frame is decoded at
 * once (the number more than 5 ms behind is reported). libvpx's cost depends on pacing (cold
 * caches between frames; see encode_bench --paced in bench/README.md).
 *
 * Output: one JSON line on stdout. cpu_s is getrusage (user + system) of the process over the
 * decoding (the sleeps and wake-ups included when paced; reading the IVF and encoding the Opus
 * packets excluded); vp8_cpu_s, y4m_cpu_s, opus_cpu_s and wav_cpu_s are the process CPU
 * (CLOCK_PROCESS_CPUTIME_ID) inside each step; *_per_min are normalised to one minute of media
 * (the longer of the video and the audio). Exit 0; 1 on a decode or I/O failure; 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/log.h"
#include "media/audiosrc.h"
#include "media/ivf.h"
#include "media/opusdec.h"
#include "media/opusenc.h"
#include "media/pcm.h"
#include "media/picture.h"
#include "media/vp8dec.h"
#include "media/wavout.h"
#include "media/y4mout.h"

#define RECV_CHANNELS 2 /* rtcpeer decodes Opus to stereo ("opus/48000/2") */
#define LATE_NS       5000000u
#define MAX_SAMPLES   5760 /* 120 ms, the most one Opus packet holds */

struct vframe {
        const uint8_t *data;
        size_t len;
        uint64_t due_ns; /* from the first frame, from the IVF timestamp */
};

struct apacket {
        uint8_t data[OPUSENC_MAX_PACKET];
        size_t len;
};

struct media {
        uint8_t *file;
        struct vframe *v;
        size_t nv;
        unsigned width, height;
        double video_s;
        struct apacket *a;
        size_t na;
};

struct totals {
        double cpu, ru, wall;
        double vp8, y4m, opus, wav;
        unsigned long frames_out, samples_out, decode_errors, late;
        double max_late_ms;
};

static double cpu_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double rusage_cpu(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
}

static uint64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static _Noreturn void die(const char *fmt, const char *what)
{
        fprintf(stderr, "decode_bench: ");
        fprintf(stderr, fmt, what);
        fputc('\n', stderr);
        exit(1);
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const uint8_t *p)
{
        return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Reads the whole IVF file and indexes its frames (src/media/ivf.h has a writer only). */
static void read_ivf(const char *path, struct media *m)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                die("%s: cannot open", path);
        size_t cap = 1 << 20, len = 0;
        uint8_t *buf = malloc(cap);
        for (size_t n; buf && (n = fread(buf + len, 1, cap - len, f)) > 0;) {
                len += n;
                if (len == cap) {
                        uint8_t *nb = realloc(buf, cap *= 2);
                        if (!nb)
                                free(buf);
                        buf = nb;
                }
        }
        if (!buf || ferror(f))
                die("%s: read failed", path);
        fclose(f);
        if (len < IVF_HEADER_LEN || memcmp(buf, "DKIF", 4) || memcmp(buf + 8, "VP80", 4))
                die("%s: not a VP8 IVF file", path);
        size_t hlen = le16(buf + 6);
        uint32_t rate = le32(buf + 16), scale = le32(buf + 20);
        if (hlen < IVF_HEADER_LEN || hlen > len || rate == 0 || scale == 0)
                die("%s: bad IVF header", path);
        m->width = le16(buf + 12);
        m->height = le16(buf + 14);
        size_t capf = 1024;
        m->v = malloc(capf * sizeof(*m->v));
        uint64_t pts0 = 0, last = 0;
        for (size_t off = hlen; off + IVF_FRAME_HEADER_LEN <= len;) {
                size_t flen = le32(buf + off);
                uint64_t pts = le32(buf + off + 4) | (uint64_t)le32(buf + off + 8) << 32;
                off += IVF_FRAME_HEADER_LEN;
                if (flen > len - off)
                        break; /* a file cut short: keep the whole frames */
                if (m->nv == capf) {
                        struct vframe *nv = realloc(m->v, (capf *= 2) * sizeof(*m->v));
                        if (!nv)
                                free(m->v);
                        m->v = nv;
                }
                if (!m->v)
                        die("%s: out of memory", path);
                if (m->nv == 0)
                        pts0 = pts;
                uint64_t rel = pts > pts0 ? pts - pts0 : 0;
                m->v[m->nv++] = (struct vframe){
                    .data = buf + off,
                    .len = flen,
                    .due_ns = (uint64_t)((double)rel * scale / rate * 1e9),
                };
                last = rel;
                off += flen;
        }
        if (m->nv == 0)
                die("%s: no frames", path);
        /* The duration: up to the last frame, plus one average frame interval. */
        double span = (double)last * scale / rate;
        m->video_s = m->nv > 1 ? span * (double)m->nv / (double)(m->nv - 1) : 1.0 / 30;
        m->file = buf;
}

/* SECONDS of rtcpeer's test tone (audiosrc "test:440"), Opus mono at 32 kbit/s as it sends. */
static void encode_opus(double seconds, struct media *m)
{
        struct merr err = {{0}};
        struct audiosrc_config ac = {.spec = "test:440"};
        struct opusenc_config oc = {.channels = 1, .complexity = -1};
        struct audiosrc *src;
        struct opusenc *enc;
        if (audiosrc_new(&ac, &src, &err) || opusenc_new(&oc, &enc, &err))
                die("opus: %s", err.msg);
        m->na = (size_t)(seconds * 1000 / PCM_FRAME_MS + 0.5);
        m->a = calloc(m->na ? m->na : 1, sizeof(*m->a));
        if (!m->a)
                die("%s", "out of memory");
        uint64_t now = 1000000;
        for (size_t n = 0; n < m->na; n++) {
                const struct pcm_frame *f;
                struct opusenc_packet pkt;
                now = audiosrc_next_deadline(src) > now ? audiosrc_next_deadline(src) : now;
                if (audiosrc_read(src, now, &f) != 1 || opusenc_encode(enc, f, &pkt) != 1 ||
                    pkt.len > OPUSENC_MAX_PACKET)
                        die("%s", "opus: encoding the tone failed");
                memcpy(m->a[n].data, pkt.data, pkt.len);
                m->a[n].len = pkt.len;
        }
        opusenc_free(enc);
        audiosrc_free(src);
}

struct decoders {
        struct vp8dec *vdec;
        struct opusdec *adec;
        struct y4mout *y4m;
        struct wavout *wav;
        int16_t pcm[MAX_SAMPLES * RECV_CHANNELS];
};

static void open_decoders(struct decoders *d, const char *y4m, const char *wav)
{
        struct merr err = {{0}};
        memset(d, 0, sizeof(*d));
        if (vp8dec_new(&d->vdec, &err) || opusdec_new(RECV_CHANNELS, &d->adec, &err) ||
            (y4m && y4mout_new(y4m, 30, 1, &d->y4m, &err)) ||
            (wav && wavout_new(wav, PCM_RATE, RECV_CHANNELS, &d->wav, &err)))
                die("%s", err.msg);
}

static void close_decoders(struct decoders *d)
{
        struct merr err = {{0}};
        if (d->wav && wavout_close(d->wav, &err) < 0)
                die("%s", err.msg);
        vp8dec_free(d->vdec);
        opusdec_free(d->adec);
        y4mout_free(d->y4m);
}

static void video_step(struct decoders *d, const struct vframe *f, struct totals *t)
{
        struct picture pic;
        double c0 = cpu_now();
        int rc = vp8dec_decode(d->vdec, f->data, f->len, &pic);
        double c1 = cpu_now();
        t->vp8 += c1 - c0;
        if (rc < 0) {
                t->decode_errors++;
                return;
        }
        if (rc == 0)
                return;
        t->frames_out++;
        if (d->y4m) {
                struct merr err = {{0}};
                if (y4mout_write(d->y4m, &pic, &err) < 0)
                        die("%s", err.msg);
                t->y4m += cpu_now() - c1;
        }
}

static void audio_step(struct decoders *d, const struct apacket *p, struct totals *t)
{
        double c0 = cpu_now();
        int n = opusdec_decode(d->adec, p->data, p->len, d->pcm, MAX_SAMPLES);
        double c1 = cpu_now();
        t->opus += c1 - c0;
        if (n <= 0) {
                t->decode_errors++;
                return;
        }
        t->samples_out += (unsigned long)n;
        if (d->wav) {
                struct merr err = {{0}};
                if (wavout_write(d->wav, d->pcm, (size_t)n, &err) < 0)
                        die("%s", err.msg);
                t->wav += cpu_now() - c1;
        }
}

/* All video, then all audio, as fast as possible. */
static void back_to_back(const struct media *m, const char *y4m, const char *wav, struct totals *t)
{
        struct decoders d;
        open_decoders(&d, y4m, wav);
        memset(t, 0, sizeof(*t));
        double c0 = cpu_now(), r0 = rusage_cpu();
        uint64_t w0 = mono_ns();
        for (size_t i = 0; i < m->nv; i++)
                video_step(&d, &m->v[i], t);
        for (size_t i = 0; i < m->na; i++)
                audio_step(&d, &m->a[i], t);
        t->cpu = cpu_now() - c0;
        t->ru = rusage_cpu() - r0;
        t->wall = (double)(mono_ns() - w0) / 1e9;
        close_decoders(&d);
}

/* Each frame at its real-time instant, video and audio interleaved in time order. */
static void paced(const struct media *m, const char *y4m, const char *wav, struct totals *t)
{
        struct decoders d;
        open_decoders(&d, y4m, wav);
        memset(t, 0, sizeof(*t));
        size_t vn = 0, an = 0;
        double c0 = cpu_now(), r0 = rusage_cpu();
        const uint64_t start = mono_ns() + 1000000; /* first frames 1 ms from now */
        while (vn < m->nv || an < m->na) {
                uint64_t vdue = vn < m->nv ? start + m->v[vn].due_ns : UINT64_MAX;
                uint64_t adue =
                    an < m->na ? start + (uint64_t)an * PCM_FRAME_MS * 1000000u : UINT64_MAX;
                int video = vdue <= adue;
                uint64_t due = video ? vdue : adue;
                struct timespec ts = {.tv_sec = (time_t)(due / 1000000000u),
                                      .tv_nsec = (long)(due % 1000000000u)};
                int rc;
                while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR)
                        ;
                if (rc)
                        die("%s", "clock_nanosleep failed");
                uint64_t now = mono_ns();
                if (now > due + LATE_NS) {
                        t->late++;
                        if ((double)(now - due) / 1e6 > t->max_late_ms)
                                t->max_late_ms = (double)(now - due) / 1e6;
                }
                if (video)
                        video_step(&d, &m->v[vn++], t);
                else
                        audio_step(&d, &m->a[an++], t);
        }
        t->cpu = cpu_now() - c0;
        t->ru = rusage_cpu() - r0;
        t->wall = (double)(mono_ns() - start) / 1e9;
        close_decoders(&d);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_string(const char *s)
{
        putchar('"');
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        printf("\\%c", c);
                else if (c < 0x20)
                        printf("\\u%04x", c);
                else
                        putchar(c);
        }
        putchar('"');
}

static void usage(const char *argv0)
{
        fprintf(stderr, "usage: %s [--paced] [--y4m FILE] [--wav FILE] IVF [SECONDS]\n", argv0);
        exit(2);
}

int main(int argc, char **argv)
{
        const char *y4m = NULL, *wav = NULL, *ivf = NULL;
        double seconds = 0;
        int pace = 0, i = 1;
        for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
                if (!strcmp(argv[i], "--paced"))
                        pace = 1;
                else if (!strcmp(argv[i], "--y4m") && i + 1 < argc)
                        y4m = argv[++i];
                else if (!strcmp(argv[i], "--wav") && i + 1 < argc)
                        wav = argv[++i];
                else
                        usage(argv[0]);
        }
        if (argc - i < 1 || argc - i > 2)
                usage(argv[0]);
        ivf = argv[i];
        if (argc - i == 2) {
                char *end;
                errno = 0;
                seconds = strtod(argv[i + 1], &end);
                if (errno || *end || end == argv[i + 1] || !(seconds > 0) || seconds > 86400)
                        usage(argv[0]);
        }

        log_set_level(LOG_LEVEL_WARN); /* the tone source announces itself at info level */
        struct media m = {0};
        read_ivf(ivf, &m);
        if (seconds == 0)
                seconds = m.video_s;
        encode_opus(seconds, &m);
        double media_s = m.video_s > seconds ? m.video_s : seconds;

        struct totals t;
        if (pace) {
                paced(&m, y4m, wav, &t);
        } else {
                /* Best of 2, as encode_bench: keeps other load out of the figure. */
                struct totals t2;
                back_to_back(&m, y4m, wav, &t);
                back_to_back(&m, y4m, wav, &t2);
                if (t2.ru < t.ru)
                        t = t2;
        }
        const double k = 60 / media_s;
        printf("{\"bench\":\"decode\",\"mode\":\"%s\",\"ivf\":", pace ? "paced" : "back_to_back");
        json_string(ivf);
        printf(",\"width\":%u,\"height\":%u,"
               "\"video_frames\":%zu,\"video_s\":%.3f,\"frames_decoded\":%lu,\"audio_packets\":%zu,"
               "\"audio_s\":%.3f,\"audio_samples\":%lu,\"decode_errors\":%lu,\"y4m\":%s,"
               "\"wav\":%s,\"media_s\":%.3f,\"cpu_s\":%.3f,\"clock_cpu_s\":%.3f,\"wall_s\":%.3f,"
               "\"vp8_cpu_s\":%.3f,\"y4m_cpu_s\":%.3f,\"opus_cpu_s\":%.3f,\"wav_cpu_s\":%.3f,"
               "\"cpu_s_per_min\":%.3f,\"vp8_s_per_min\":%.3f,\"y4m_s_per_min\":%.3f,"
               "\"opus_s_per_min\":%.3f,\"wav_s_per_min\":%.3f,\"late_frames\":%lu,"
               "\"max_late_ms\":%.1f}\n",
               m.width, m.height, m.nv, m.video_s, t.frames_out, m.na, seconds, t.samples_out,
               t.decode_errors, y4m ? "true" : "false", wav ? "true" : "false", media_s, t.ru,
               t.cpu, t.wall, t.vp8, t.y4m, t.opus, t.wav, t.ru * k, t.vp8 * k, t.y4m * k,
               t.opus * k, t.wav * k, t.late, t.max_late_ms);
        free(m.a);
        free(m.v);
        free(m.file);
        return t.decode_errors ? 1 : 0;
}

/*
 * mediacheck: measures what a receiving rtcpeer wrote, for the integration tests. Prints one
 * JSON object line on stdout; the scripts compare its numbers.
 *
 *   mediacheck video FILE.y4m
 *     Reads the frame number and capture time the sender drew into each picture (testpattern).
 *     {"frames": pictures in the file (complete ones), "readable": pictures whose numbers read,
 *      "unreadable", "first"/"last": frame numbers of the first and last readable picture,
 *      "unique": distinct frame numbers, "duplicates": readable - unique, "out_of_order":
 *      pictures with a lower number than one before them, "missing": numbers absent between the
 *      lowest and the highest (last-first+1-unique when in order), "max_gap_ms": largest
 *      capture-time step between consecutive readable pictures (a freeze measure),
 *      "width", "height"}. With nothing readable, first/last/missing/max_gap_ms are 0.
 *   mediacheck audio FILE.wav
 *   mediacheck raw FILE.raw RATE CHANNELS      (raw S16_LE interleaved, as ALSA's file PCM writes)
 *     {"frames": samples per channel, "seconds", "rate", "channels", "rms_dbfs": RMS over all
 *      samples relative to full scale (a full-scale sine reads -3.01; silence -120),
 *      "peak_hz": dominant frequency between 50 and 8000 Hz in the longest stretch of sound (up
 *      to 1 s of it; 0 when there is none), "silent_ratio": fraction of 10 ms blocks below
 *      -50 dBFS}.
 *   mediacheck selftest DIR
 *     Writes known files into DIR, analyses them with the code above, exits 0 when the figures
 *     come out right.
 * Exit status: 0 done, 1 a file that cannot be read (one line on stderr), 2 usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "media/merr.h"
#include "media/pcm.h"
#include "media/picture.h"
#include "media/testpattern.h"
#include "media/wav.h"
#include "media/y4m.h"

#define EXIT_FILE  1
#define EXIT_USAGE 2

#define SILENCE_DBFS   -50.0
#define FLOOR_DBFS     -120.0
#define PEAK_MIN_HZ    50.0
#define PEAK_MAX_HZ    8000.0
#define PEAK_SEGMENTS  10 /* 100 ms segments in the analysed stretch: up to 1 s */
#define FINE_POINTS    201
#define MAX_CHANNELS   8
#define READ_FRAMES    4800
#define NOT_A_TEST_SEQ UINT64_MAX /* selftest: a picture without digits */

/* ---- video ---- */

struct video_result {
        uint64_t frames, readable, unreadable, first, last, unique, duplicates, out_of_order;
        uint64_t missing;
        double max_gap_ms;
        unsigned width, height;
};

/*
 * Counts the complete frames, because the reader loops at the end of the file instead of saying
 * where it is. A frame cut short by a writer that was killed is not counted.
 */
static int y4m_count_frames(const char *path, size_t frame_bytes, uint64_t *count, struct merr *err)
{
        *count = 0;
        FILE *f = fopen(path, "rb");
        if (!f)
                return merr_set(err, -errno, "%s: %s", path, strerror(errno));
        struct stat st;
        char line[512];
        int rc = 0;
        if (fstat(fileno(f), &st) < 0) {
                rc = merr_set(err, -errno, "%s: %s", path, strerror(errno));
                goto out;
        }
        if (!fgets(line, sizeof(line), f)) {
                rc = merr_set(err, -EIO, "%s: no header line", path);
                goto out;
        }
        for (;;) {
                if (!fgets(line, sizeof(line), f) || strncmp(line, "FRAME", 5) != 0 ||
                    !strchr(line, '\n'))
                        break;
                long pos = ftell(f);
                if (pos < 0 || (uint64_t)pos + frame_bytes > (uint64_t)st.st_size ||
                    fseek(f, (long)frame_bytes, SEEK_CUR) < 0)
                        break;
                (*count)++;
        }
        if (ferror(f))
                rc = merr_set(err, -EIO, "%s: read error", path);
out:
        fclose(f);
        return rc;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static int analyse_video(const char *path, struct video_result *res, struct merr *err)
{
        memset(res, 0, sizeof(*res));
        struct y4m_reader *r = NULL;
        struct picture pic = {0};
        uint64_t *seqs = NULL, *sorted = NULL;
        int rc = y4m_reader_new(path, &r, err);
        if (rc < 0)
                return rc;
        res->width = y4m_reader_width(r);
        res->height = y4m_reader_height(r);
        size_t cw = (res->width + 1) / 2, ch = (res->height + 1) / 2;
        size_t frame_bytes = (size_t)res->width * res->height + 2 * cw * ch;
        if ((rc = y4m_count_frames(path, frame_bytes, &res->frames, err)) < 0)
                goto out;
        seqs = malloc((res->frames ? res->frames : 1) * sizeof(*seqs));
        sorted = malloc((res->frames ? res->frames : 1) * sizeof(*sorted));
        if (!seqs || !sorted) {
                rc = merr_set(err, -ENOMEM, "%s: out of memory", path);
                goto out;
        }
        uint64_t max_seq = 0, prev_t = 0;
        for (uint64_t i = 0; i < res->frames; i++) {
                if ((rc = y4m_reader_read(r, &pic, err)) < 0)
                        goto out;
                uint64_t seq, t;
                if (testpattern_read(&pic, &seq, &t) < 0) {
                        res->unreadable++;
                        continue;
                }
                if (res->readable) {
                        if (seq < max_seq)
                                res->out_of_order++;
                        /* Only forward steps: an earlier picture shown late is not a freeze. */
                        if (t > prev_t && (double)(t - prev_t) / 1000 > res->max_gap_ms)
                                res->max_gap_ms = (double)(t - prev_t) / 1000;
                } else {
                        res->first = seq;
                }
                if (!res->readable || seq > max_seq)
                        max_seq = seq;
                prev_t = t;
                res->last = seq;
                seqs[res->readable++] = seq;
        }
        if (res->readable) {
                memcpy(sorted, seqs, res->readable * sizeof(*sorted));
                qsort(sorted, res->readable, sizeof(*sorted), cmp_u64);
                res->unique = 1;
                for (uint64_t i = 1; i < res->readable; i++)
                        res->unique += sorted[i] != sorted[i - 1];
                res->duplicates = res->readable - res->unique;
                res->missing = sorted[res->readable - 1] - sorted[0] + 1 - res->unique;
        }
        rc = 0;
out:
        free(seqs);
        free(sorted);
        picture_release(&pic);
        y4m_reader_free(r);
        return rc;
}

static void print_video(const struct video_result *v)
{
        printf("{\"frames\":%" PRIu64 ",\"readable\":%" PRIu64 ",\"unreadable\":%" PRIu64
               ",\"first\":%" PRIu64 ",\"last\":%" PRIu64 ",\"unique\":%" PRIu64
               ",\"duplicates\":%" PRIu64 ",\"out_of_order\":%" PRIu64 ",\"missing\":%" PRIu64
               ",\"max_gap_ms\":%.3f,\"width\":%u,\"height\":%u}\n",
               v->frames, v->readable, v->unreadable, v->first, v->last, v->unique, v->duplicates,
               v->out_of_order, v->missing, v->max_gap_ms, v->width, v->height);
        fflush(stdout);
}

/* ---- audio ---- */

struct audio_result {
        uint64_t frames;
        unsigned rate, channels;
        double seconds, rms_dbfs, peak_hz, silent_ratio;
};

/* A WAV (through the media reader) or raw S16_LE file, read front to back, more than once. */
struct pcm_in {
        const char *path;
        bool is_wav;
        unsigned rate, channels;
        uint64_t frames;
        struct wav_reader *wav;
        FILE *raw;
};

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * The WAV reader loops and does not tell its length, so the length comes from the chunks here,
 * sized as the reader sizes them (a streamed WAV's 0 or ~0 data size means "to the end").
 */
static int wav_count_frames(struct pcm_in *in, struct merr *err)
{
        FILE *f = fopen(in->path, "rb");
        if (!f)
                return merr_set(err, -errno, "%s: %s", in->path, strerror(errno));
        uint8_t h[12];
        int rc = 0;
        if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4)) {
                rc = merr_set(err, -EINVAL, "%s: not a WAV file", in->path);
                goto out;
        }
        for (;;) {
                uint8_t c[8];
                if (fread(c, 1, 8, f) != 8) {
                        rc = merr_set(err, -EINVAL, "%s: no data chunk", in->path);
                        goto out;
                }
                uint32_t size = le32(c + 4);
                if (memcmp(c, "fmt ", 4) == 0) {
                        uint8_t fmt[16];
                        if (size < 16 || fread(fmt, 1, 16, f) != 16 ||
                            fseek(f, (long)(size - 16 + (size & 1)), SEEK_CUR) < 0) {
                                rc = merr_set(err, -EINVAL, "%s: bad fmt chunk", in->path);
                                goto out;
                        }
                        in->channels = le16(fmt + 2);
                        in->rate = le32(fmt + 4);
                        if (!in->rate) {
                                rc = merr_set(err, -EINVAL, "%s: bad fmt chunk", in->path);
                                goto out;
                        }
                } else if (memcmp(c, "data", 4) == 0) {
                        if (!in->channels || in->channels > MAX_CHANNELS) {
                                rc = merr_set(err, -EINVAL, "%s: no usable fmt chunk before data",
                                              in->path);
                                goto out;
                        }
                        long start = ftell(f);
                        if (start < 0 || fseek(f, 0, SEEK_END) < 0 || ftell(f) < start) {
                                rc = merr_set(err, -EIO, "%s: seek failed", in->path);
                                goto out;
                        }
                        uint64_t avail = (uint64_t)(ftell(f) - start);
                        uint64_t bytes = size == 0 || size > avail ? avail : size;
                        in->frames = bytes / (2 * in->channels);
                        goto out;
                } else if (fseek(f, (long)(size + (size & 1)), SEEK_CUR) < 0) {
                        rc = merr_set(err, -EINVAL, "%s: truncated", in->path);
                        goto out;
                }
        }
out:
        fclose(f);
        return rc;
}

static void pcm_close(struct pcm_in *in)
{
        wav_reader_free(in->wav);
        in->wav = NULL;
        if (in->raw)
                fclose(in->raw);
        in->raw = NULL;
}

/* (Re)starts reading at the first sample. */
static int pcm_rewind(struct pcm_in *in, struct merr *err)
{
        pcm_close(in);
        if (!in->frames)
                return 0;
        if (in->is_wav)
                return wav_reader_new(in->path, &in->wav, err);
        if (!(in->raw = fopen(in->path, "rb")))
                return merr_set(err, -errno, "%s: %s", in->path, strerror(errno));
        return 0;
}

static int pcm_read(struct pcm_in *in, int16_t *dst, size_t frames, struct merr *err)
{
        if (in->is_wav)
                return wav_reader_read(in->wav, dst, frames, err);
        uint8_t raw[READ_FRAMES * MAX_CHANNELS * 2];
        size_t n = frames * in->channels;
        if (n > sizeof(raw) / 2 || fread(raw, 2, n, in->raw) != n)
                return merr_set(err, -EIO, "%s: read error", in->path);
        for (size_t i = 0; i < n; i++)
                dst[i] = (int16_t)le16(raw + 2 * i);
        return 0;
}

static double to_dbfs(double rms)
{
        double db = rms > 0 ? 20 * log10(rms / 32768.0) : FLOOR_DBFS;
        return db < FLOOR_DBFS ? FLOOR_DBFS : db;
}

/* Power of x at angular frequency w (radians per sample); any w, not only DFT bins. */
static double goertzel(const double *x, size_t n, double w)
{
        double c = 2 * cos(w), s1 = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) {
                double s = x[i] + c * s1 - s2;
                s2 = s1;
                s1 = s;
        }
        return s1 * s1 + s2 * s2 - c * s1 * s2;
}

static void hann(const double *x, double *out, size_t n)
{
        for (size_t i = 0; i < n; i++)
                out[i] =
                    x[i] * (n > 1 ? 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)(n - 1)) : 1);
}

/*
 * Dominant frequency of x (n samples, a whole number of seg-sample segments): a coarse scan at
 * half-bin steps summed over the segments, then a fine scan over the whole stretch around the
 * winner, with a parabola through the top three points. Returns 0 on allocation failure.
 */
static double peak_frequency(const double *x, size_t n, size_t seg, unsigned rate)
{
        double fmax = 0.45 * rate < PEAK_MAX_HZ ? 0.45 * rate : PEAK_MAX_HZ;
        double step = (double)rate / (double)seg / 2;
        size_t nf = (size_t)((fmax - PEAK_MIN_HZ) / step) + 1, nseg = n / seg;
        double *power = calloc(nf, sizeof(*power)), *buf = malloc(n * sizeof(*buf));
        double result = 0;
        if (!power || !buf || fmax <= PEAK_MIN_HZ)
                goto out;
        for (size_t s = 0; s < nseg; s++) {
                hann(x + s * seg, buf, seg);
                for (size_t k = 0; k < nf; k++)
                        power[k] += goertzel(buf, seg, 2 * M_PI * (PEAK_MIN_HZ + k * step) / rate);
        }
        size_t best = 0;
        for (size_t k = 1; k < nf; k++)
                if (power[k] > power[best])
                        best = k;
        double coarse = PEAK_MIN_HZ + best * step;
        /* Fine: FINE_POINTS steps across +-2 coarse steps, over the whole stretch. */
        hann(x, buf, n);
        double lo = coarse - 2 * step, fine[FINE_POINTS];
        size_t top = 0;
        for (size_t i = 0; i < FINE_POINTS; i++) {
                double f = lo + 4 * step * (double)i / (FINE_POINTS - 1);
                fine[i] = f > 0 ? goertzel(buf, n, 2 * M_PI * f / rate) : 0;
                if (fine[i] > fine[top])
                        top = i;
        }
        double fstep = 4 * step / (FINE_POINTS - 1);
        result = lo + fstep * (double)top;
        /* A parabola through the log power of the top and its neighbours: the peak between. */
        if (top > 0 && top + 1 < FINE_POINTS && fine[top - 1] > 0 && fine[top + 1] > 0) {
                double a = log(fine[top - 1]), b = log(fine[top]), c = log(fine[top + 1]);
                double den = a - 2 * b + c;
                if (den < 0)
                        result += 0.5 * (a - c) / den * fstep;
        }
out:
        free(power);
        free(buf);
        return result;
}

static int analyse_pcm(struct pcm_in *in, struct audio_result *res, struct merr *err)
{
        memset(res, 0, sizeof(*res));
        res->rate = in->rate;
        res->channels = in->channels;
        res->frames = in->frames;
        res->seconds = (double)in->frames / in->rate;
        res->rms_dbfs = FLOOR_DBFS;
        res->silent_ratio = 1;
        if (!in->frames)
                return 0;
        int16_t *s = malloc(READ_FRAMES * MAX_CHANNELS * sizeof(*s));
        size_t block = in->rate / 100 ? in->rate / 100 : 1, seg = in->rate / 10 ? in->rate / 10 : 1;
        size_t nseg = (size_t)(in->frames / seg);
        uint8_t *loud = calloc(nseg ? nseg : 1, 1);
        double *win = NULL;
        int rc;
        if (!s || !loud) {
                rc = merr_set(err, -ENOMEM, "%s: out of memory", in->path);
                goto out;
        }
        /* Pass 1: level, silent blocks, and which 100 ms segments carry sound. */
        double total = 0, block_sq = 0, seg_sq = 0;
        double silent_sq = pow(10, SILENCE_DBFS / 10) * 32768.0 * 32768.0; /* mean square */
        uint64_t blocks = 0, silent = 0;
        size_t in_block = 0, in_seg = 0, seg_i = 0;
        if ((rc = pcm_rewind(in, err)) < 0)
                goto out;
        for (uint64_t done = 0; done < in->frames;) {
                size_t n =
                    in->frames - done < READ_FRAMES ? (size_t)(in->frames - done) : READ_FRAMES;
                if ((rc = pcm_read(in, s, n, err)) < 0)
                        goto out;
                for (size_t i = 0; i < n; i++) {
                        double mono = 0;
                        for (unsigned c = 0; c < in->channels; c++) {
                                double v = s[i * in->channels + c];
                                block_sq += v * v;
                                mono += v;
                        }
                        mono /= in->channels;
                        seg_sq += mono * mono;
                        if (++in_block == block) {
                                total += block_sq;
                                silent += block_sq / ((double)block * in->channels) < silent_sq;
                                blocks++;
                                block_sq = 0;
                                in_block = 0;
                        }
                        if (++in_seg == seg) {
                                loud[seg_i++] = seg_sq / (double)seg >= silent_sq;
                                seg_sq = 0;
                                in_seg = 0;
                        }
                }
                done += n;
        }
        if (in_block) {
                total += block_sq;
                silent += block_sq / ((double)in_block * in->channels) < silent_sq;
                blocks++;
        }
        res->rms_dbfs = to_dbfs(sqrt(total / ((double)in->frames * in->channels)));
        res->silent_ratio = (double)silent / (double)blocks;

        /* The middle second of the longest run of loud segments: a steady stretch of sound. */
        size_t run_start = 0, run_len = 0;
        for (size_t i = 0; i < nseg;) {
                size_t j = i;
                while (j < nseg && loud[j])
                        j++;
                if (j - i > run_len) {
                        run_start = i;
                        run_len = j - i;
                }
                i = j + 1;
        }
        if (!run_len)
                goto done;
        size_t take = run_len < PEAK_SEGMENTS ? run_len : PEAK_SEGMENTS;
        uint64_t from = (uint64_t)(run_start + (run_len - take) / 2) * seg;
        size_t wn = take * seg;
        if (!(win = malloc(wn * sizeof(*win)))) {
                rc = merr_set(err, -ENOMEM, "%s: out of memory", in->path);
                goto out;
        }
        /* Pass 2: that stretch, mixed to mono. */
        if ((rc = pcm_rewind(in, err)) < 0)
                goto out;
        for (uint64_t done = 0; done < from + wn;) {
                size_t n =
                    from + wn - done < READ_FRAMES ? (size_t)(from + wn - done) : READ_FRAMES;
                if ((rc = pcm_read(in, s, n, err)) < 0)
                        goto out;
                for (size_t i = 0; i < n; i++) {
                        if (done + i < from)
                                continue;
                        double mono = 0;
                        for (unsigned c = 0; c < in->channels; c++)
                                mono += s[i * in->channels + c];
                        win[done + i - from] = mono / in->channels;
                }
                done += n;
        }
        res->peak_hz = peak_frequency(win, wn, seg, in->rate);
done:
        rc = 0;
out:
        pcm_close(in);
        free(win);
        free(loud);
        free(s);
        return rc;
}

static int analyse_wav(const char *path, struct audio_result *res, struct merr *err)
{
        struct pcm_in in = {.path = path, .is_wav = true};
        int rc = wav_count_frames(&in, err);
        if (rc < 0)
                return rc;
        /* The reader takes what the media layer takes; let it judge the format. */
        if (in.frames && (rc = pcm_rewind(&in, err)) < 0)
                return rc;
        pcm_close(&in);
        return analyse_pcm(&in, res, err);
}

static int analyse_raw(const char *path, unsigned rate, unsigned channels, struct audio_result *res,
                       struct merr *err)
{
        struct pcm_in in = {.path = path, .rate = rate, .channels = channels};
        struct stat st;
        if (stat(path, &st) < 0)
                return merr_set(err, -errno, "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return merr_set(err, -EINVAL, "%s: not a regular file", path);
        in.frames = (uint64_t)st.st_size / (2 * channels);
        return analyse_pcm(&in, res, err);
}

static void print_audio(const struct audio_result *a)
{
        printf("{\"frames\":%" PRIu64 ",\"seconds\":%.3f,\"rate\":%u,\"channels\":%u,"
               "\"rms_dbfs\":%.2f,\"peak_hz\":%.1f,\"silent_ratio\":%.4f}\n",
               a->frames, a->seconds, a->rate, a->channels, a->rms_dbfs, a->peak_hz,
               a->silent_ratio);
        fflush(stdout);
}

/* ---- selftest: known files in, known figures out ---- */

static int write_plane(FILE *f, const uint8_t *p, unsigned stride, unsigned w, unsigned h)
{
        for (unsigned y = 0; y < h; y++)
                if (fwrite(p + (size_t)stride * y, 1, w, f) != w)
                        return -EIO;
        return 0;
}

/* seqs[i] == NOT_A_TEST_SEQ writes a black picture without digits. */
static int write_y4m(const char *path, unsigned w, unsigned h, const uint64_t *seqs, size_t n)
{
        FILE *f = fopen(path, "wb");
        if (!f)
                return -errno;
        struct picture p = {0};
        int rc = picture_alloc(&p, w, h);
        if (rc == 0 && fprintf(f, "YUV4MPEG2 W%u H%u F30:1 Ip A1:1 C420jpeg\n", w, h) < 0)
                rc = -EIO;
        unsigned cw = picture_chroma_width(&p), ch = picture_chroma_height(&p);
        for (size_t i = 0; rc == 0 && i < n; i++) {
                if (seqs[i] == NOT_A_TEST_SEQ) {
                        memset(p.plane[0], 16, (size_t)p.stride[0] * h);
                        memset(p.plane[1], 128, (size_t)p.stride[1] * ch);
                        memset(p.plane[2], 128, (size_t)p.stride[2] * ch);
                } else {
                        /* 30 fps capture times, from an arbitrary clock start. */
                        testpattern_draw(&p, seqs[i], 5000000 + seqs[i] * 1000000 / 30);
                }
                if (fputs("FRAME\n", f) < 0 || write_plane(f, p.plane[0], p.stride[0], w, h) ||
                    write_plane(f, p.plane[1], p.stride[1], cw, ch) ||
                    write_plane(f, p.plane[2], p.stride[2], cw, ch))
                        rc = -EIO;
        }
        picture_release(&p);
        if (fclose(f) != 0 && rc == 0)
                rc = -EIO;
        return rc;
}

static void put_le(uint8_t *p, uint32_t v, int bytes)
{
        for (int i = 0; i < bytes; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * Writes frames of a tone at hz (amplitude half of full scale), silent before silent_frames;
 * a 44-byte WAV header first when wav is set.
 */
static int write_tone(const char *path, bool wav, unsigned rate, unsigned channels, double hz,
                      uint64_t frames, uint64_t silent_frames)
{
        FILE *f = fopen(path, "wb");
        if (!f)
                return -errno;
        int rc = 0;
        uint32_t data = (uint32_t)(frames * channels * 2);
        if (wav) {
                uint8_t h[44];
                memcpy(h, "RIFF", 4);
                put_le(h + 4, 36 + data, 4);
                memcpy(h + 8, "WAVEfmt ", 8);
                put_le(h + 16, 16, 4);
                put_le(h + 20, 1, 2); /* PCM */
                put_le(h + 22, channels, 2);
                put_le(h + 24, rate, 4);
                put_le(h + 28, rate * channels * 2, 4);
                put_le(h + 32, channels * 2, 2);
                put_le(h + 34, 16, 2);
                memcpy(h + 36, "data", 4);
                put_le(h + 40, data, 4);
                if (fwrite(h, 1, sizeof(h), f) != sizeof(h))
                        rc = -EIO;
        }
        for (uint64_t i = 0; rc == 0 && i < frames; i++) {
                double v = i < silent_frames ? 0 : 16384 * sin(2 * M_PI * hz * (double)i / rate);
                uint8_t b[2];
                put_le(b, (uint32_t)(uint16_t)(int16_t)lround(v), 2);
                for (unsigned c = 0; c < channels; c++)
                        if (fwrite(b, 1, 2, f) != 2)
                                rc = -EIO;
        }
        if (fclose(f) != 0 && rc == 0)
                rc = -EIO;
        return rc;
}

static int failures;

static void expect(bool cond, const char *what, double got)
{
        if (!cond) {
                fprintf(stderr, "mediacheck selftest: %s (got %g)\n", what, got);
                failures++;
        }
}

static int selftest(const char *dir)
{
        char path[4096];
        struct merr err = {{0}};
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "mediacheck: %s: %s\n", dir, strerror(errno));
                return EXIT_FILE;
        }

        /* 30 frames at 640x480 with frame 10 missing. */
        uint64_t seqs[30];
        size_t n = 0;
        for (uint64_t i = 0; i < 30; i++)
                if (i != 10)
                        seqs[n++] = i;
        snprintf(path, sizeof(path), "%s/selftest.y4m", dir);
        struct video_result v;
        if (write_y4m(path, 640, 480, seqs, n) < 0 || analyse_video(path, &v, &err) < 0) {
                fprintf(stderr, "mediacheck selftest: %s: %s\n", path, err.msg);
                return EXIT_FILE;
        }
        print_video(&v);
        expect(v.frames == 29 && v.readable == 29 && v.unreadable == 0, "29 readable frames",
               (double)v.readable);
        expect(v.unique == 29 && v.duplicates == 0, "29 unique", (double)v.unique);
        expect(v.missing == 1, "1 missing", (double)v.missing);
        expect(v.first == 0 && v.last == 29, "frames 0 to 29", (double)v.last);
        expect(v.out_of_order == 0, "in order", (double)v.out_of_order);
        expect(fabs(v.max_gap_ms - 2000.0 / 30) < 0.01, "gap of two frames", v.max_gap_ms);
        expect(v.width == 640 && v.height == 480, "640x480", v.width);

        /* Out of order, a duplicate, a picture without digits, and a cut-off last frame. */
        const uint64_t mixed[] = {0, 1, 2, 4, 3, 3, 5, NOT_A_TEST_SEQ, 6};
        snprintf(path, sizeof(path), "%s/selftest-mixed.y4m", dir);
        FILE *f = NULL;
        if (write_y4m(path, 320, 240, mixed, sizeof(mixed) / sizeof(mixed[0])) < 0 ||
            !(f = fopen(path, "ab")) || fputs("FRAME\npartial", f) < 0 || fclose(f) != 0 ||
            analyse_video(path, &v, &err) < 0) {
                fprintf(stderr, "mediacheck selftest: %s: %s\n", path, err.msg);
                return EXIT_FILE;
        }
        print_video(&v);
        expect(v.frames == 9 && v.readable == 8 && v.unreadable == 1, "8 of 9 readable",
               (double)v.readable);
        expect(v.unique == 7 && v.duplicates == 1, "7 unique, 1 duplicate", (double)v.unique);
        expect(v.out_of_order == 2, "2 out of order", (double)v.out_of_order);
        expect(v.missing == 0 && v.first == 0 && v.last == 6, "none missing", (double)v.missing);

        /* 1 s of 440 Hz, mono WAV. */
        snprintf(path, sizeof(path), "%s/selftest.wav", dir);
        struct audio_result a;
        if (write_tone(path, true, PCM_RATE, 1, 440, PCM_RATE, 0) < 0 ||
            analyse_wav(path, &a, &err) < 0) {
                fprintf(stderr, "mediacheck selftest: %s: %s\n", path, err.msg);
                return EXIT_FILE;
        }
        print_audio(&a);
        expect(a.frames == PCM_RATE && fabs(a.seconds - 1) < 1e-9, "1 s", a.seconds);
        expect(fabs(a.peak_hz - 440) <= 2, "peak at 440 Hz", a.peak_hz);
        expect(fabs(a.rms_dbfs - 20 * log10(0.5 / sqrt(2))) < 0.1, "level -9.03 dBFS", a.rms_dbfs);
        expect(a.silent_ratio == 0, "no silence", a.silent_ratio);

        /* Raw stereo at another rate: 0.5 s of silence, then 1.5 s of 1234 Hz. */
        snprintf(path, sizeof(path), "%s/selftest.raw", dir);
        if (write_tone(path, false, 16000, 2, 1234, 32000, 8000) < 0 ||
            analyse_raw(path, 16000, 2, &a, &err) < 0) {
                fprintf(stderr, "mediacheck selftest: %s: %s\n", path, err.msg);
                return EXIT_FILE;
        }
        print_audio(&a);
        expect(a.frames == 32000 && fabs(a.seconds - 2) < 1e-9, "2 s", a.seconds);
        expect(fabs(a.peak_hz - 1234) <= 2, "peak at 1234 Hz", a.peak_hz);
        expect(fabs(a.silent_ratio - 0.25) < 1e-9, "a quarter silent", a.silent_ratio);

        if (failures)
                return EXIT_FILE;
        fprintf(stderr, "mediacheck selftest: ok\n");
        return 0;
}

/* ---- main ---- */

static int usage(void)
{
        fprintf(stderr, "usage: mediacheck video FILE.y4m\n"
                        "       mediacheck audio FILE.wav\n"
                        "       mediacheck raw FILE.raw RATE CHANNELS\n"
                        "       mediacheck selftest DIR\n");
        return EXIT_USAGE;
}

static bool parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
                return false;
        *out = (unsigned)v;
        return true;
}

int main(int argc, char **argv)
{
        struct merr err = {{0}};
        int rc;
        if (argc == 3 && strcmp(argv[1], "video") == 0) {
                struct video_result v;
                if ((rc = analyse_video(argv[2], &v, &err)) == 0)
                        print_video(&v);
        } else if (argc == 3 && strcmp(argv[1], "audio") == 0) {
                struct audio_result a;
                if ((rc = analyse_wav(argv[2], &a, &err)) == 0)
                        print_audio(&a);
        } else if (argc == 5 && strcmp(argv[1], "raw") == 0) {
                unsigned rate, channels;
                if (!parse_uint(argv[3], 1000, 768000, &rate) ||
                    !parse_uint(argv[4], 1, MAX_CHANNELS, &channels)) {
                        fprintf(stderr, "mediacheck: raw wants RATE (1000..768000) and CHANNELS "
                                        "(1..8)\n");
                        return EXIT_USAGE;
                }
                struct audio_result a;
                if ((rc = analyse_raw(argv[2], rate, channels, &a, &err)) == 0)
                        print_audio(&a);
        } else if (argc == 3 && strcmp(argv[1], "selftest") == 0) {
                return selftest(argv[2]);
        } else {
                return usage();
        }
        if (rc < 0) {
                fprintf(stderr, "mediacheck: %s\n", err.msg[0] ? err.msg : strerror(-rc));
                return EXIT_FILE;
        }
        return 0;
}

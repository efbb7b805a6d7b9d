#include "media/videosrc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "media/testpattern.h"
#include "media/v4l2src.h"
#include "media/y4m.h"

#define DEFAULT_WIDTH  640
#define DEFAULT_HEIGHT 480
#define DEFAULT_FPS    30
/* A loop that falls this many frames behind skips ahead instead of bursting frames out. */
#define MAX_LATE_FRAMES 3

/* Frame clock of the timer-driven sources: frame n is due at start + n / rate. */
struct pace {
        uint64_t start_us, n;
        unsigned num, den;
        int started;
};

struct videosrc {
        struct videosrc_info info;
        struct pace pace;
        struct picture pic;
        struct y4m_reader *y4m;
        struct v4l2src *cam;
        uint64_t delivered;
        int failed;
        struct merr err;
};

static uint64_t pace_due(const struct pace *p, uint64_t n)
{
        return p->start_us + n * 1000000ULL * p->den / p->num;
}

/* Returns 1 when a frame is due at now (and claims it, its index in *index), else 0. */
static int pace_take(struct pace *p, uint64_t now_us, uint64_t *index)
{
        if (!p->started) {
                p->started = 1;
                p->start_us = now_us;
                p->n = 0;
        }
        if (now_us < pace_due(p, p->n))
                return 0;
        if (now_us >= pace_due(p, p->n + MAX_LATE_FRAMES)) {
                /* The loop stalled: skip to the frame due now, as a camera drops frames. */
                uint64_t behind = (now_us - p->start_us) * p->num / (1000000ULL * p->den);
                p->n = behind > p->n ? behind : p->n;
        }
        *index = p->n++;
        return 1;
}

/* "test", "test:WxH", "test:WxH@FPS", "test:@FPS". */
static int parse_test_spec(const char *spec, unsigned *w, unsigned *h, unsigned *fps,
                           struct merr *err)
{
        if (strcmp(spec, "test") == 0)
                return 0;
        const char *p = spec + 5;
        char *end;
        if (!*p)
                goto bad;
        if (*p != '@') {
                unsigned long a = strtoul(p, &end, 10);
                if (end == p || (*end != 'x' && *end != 'X'))
                        goto bad;
                p = end + 1;
                unsigned long b = strtoul(p, &end, 10);
                if (end == p || a < 16 || b < 16 || a > 8192 || b > 8192)
                        goto bad;
                *w = (unsigned)a;
                *h = (unsigned)b;
                p = end;
        }
        if (*p == '@') {
                unsigned long f = strtoul(p + 1, &end, 10);
                if (end == p + 1 || f < 1 || f > 240)
                        goto bad;
                *fps = (unsigned)f;
                p = end;
        }
        if (*p == 0)
                return 0;
bad:
        return merr_set(err, -EINVAL, "bad test video source '%s' (expected test:WIDTHxHEIGHT@FPS)",
                        spec);
}

static int open_test(struct videosrc *s, const struct videosrc_config *cfg, struct merr *err)
{
        unsigned w = cfg->width ? cfg->width : DEFAULT_WIDTH;
        unsigned h = cfg->height ? cfg->height : DEFAULT_HEIGHT;
        unsigned fps = cfg->fps ? cfg->fps : DEFAULT_FPS;
        int rc = parse_test_spec(cfg->spec, &w, &h, &fps, err);
        if (rc < 0)
                return rc;
        if ((rc = picture_alloc(&s->pic, w, h)) < 0)
                return merr_set(err, rc, "test video source: out of memory");
        s->info = (struct videosrc_info){
            .kind = VIDEOSRC_TEST, .width = w, .height = h, .fps_num = fps, .fps_den = 1};
        log_info("media", "video: test pattern %ux%u@%u", w, h, fps);
        return 0;
}

static int open_y4m(struct videosrc *s, const struct videosrc_config *cfg, struct merr *err)
{
        int rc = y4m_reader_new(cfg->spec, &s->y4m, err);
        if (rc < 0)
                return rc;
        s->info.kind = VIDEOSRC_Y4M;
        s->info.width = y4m_reader_width(s->y4m);
        s->info.height = y4m_reader_height(s->y4m);
        y4m_reader_rate(s->y4m, &s->info.fps_num, &s->info.fps_den);
        if (cfg->width && (cfg->width != s->info.width || cfg->height != s->info.height))
                log_warn("media", "%s: the file is %ux%u; --video-size is ignored", cfg->spec,
                         s->info.width, s->info.height);
        log_info("media", "video: %s %ux%u at %u/%u fps, looped", cfg->spec, s->info.width,
                 s->info.height, s->info.fps_num, s->info.fps_den);
        return 0;
}

static int open_camera(struct videosrc *s, const struct videosrc_config *cfg, struct merr *err)
{
        struct v4l2src_config vc = {.path = cfg->spec,
                                    .width = cfg->width,
                                    .height = cfg->height,
                                    .fps = cfg->fps,
                                    .fourcc = cfg->fourcc};
        int rc = v4l2src_new(&vc, &s->cam, err);
        if (rc < 0)
                return rc;
        const struct v4l2src_mode *m = v4l2src_current_mode(s->cam);
        s->info = (struct videosrc_info){.kind = VIDEOSRC_V4L2,
                                         .width = m->width,
                                         .height = m->height,
                                         .fps_num = m->fps_num,
                                         .fps_den = m->fps_den,
                                         .fourcc = m->fourcc};
        return 0;
}

int videosrc_new(const struct videosrc_config *cfg, struct videosrc **out, struct merr *err)
{
        *out = NULL;
        if (!cfg->spec || !*cfg->spec)
                return merr_set(err, -EINVAL, "no video source given");
        struct videosrc *s = calloc(1, sizeof(*s));
        if (!s)
                return merr_set(err, -ENOMEM, "out of memory");
        struct stat st;
        int rc;
        if (strcmp(cfg->spec, "test") == 0 || strncmp(cfg->spec, "test:", 5) == 0)
                rc = open_test(s, cfg, err);
        else if (stat(cfg->spec, &st) == 0 && S_ISREG(st.st_mode))
                rc = open_y4m(s, cfg, err); /* a regular file can only be a video file */
        else
                rc = open_camera(s, cfg, err);
        if (rc < 0) {
                videosrc_free(s);
                return rc;
        }
        s->pace.num = s->info.fps_num ? s->info.fps_num : DEFAULT_FPS;
        s->pace.den = s->info.fps_num ? s->info.fps_den : 1;
        *out = s;
        return 0;
}

void videosrc_free(struct videosrc *s)
{
        if (!s)
                return;
        y4m_reader_free(s->y4m);
        v4l2src_free(s->cam);
        picture_release(&s->pic);
        free(s);
}

int videosrc_fd(const struct videosrc *s)
{
        return s->cam ? v4l2src_fd(s->cam) : -1;
}

uint64_t videosrc_next_deadline(const struct videosrc *s)
{
        if (s->failed)
                return UINT64_MAX;
        if (s->cam)
                return v4l2src_deadline(s->cam);
        return s->pace.started ? pace_due(&s->pace, s->pace.n) : 0;
}

int videosrc_read(struct videosrc *s, uint64_t now_us, const struct picture **out)
{
        if (s->failed)
                return s->failed;
        int rc;
        uint64_t index;
        if (s->cam) {
                rc = v4l2src_read(s->cam, now_us, out, &s->err);
        } else if (!pace_take(&s->pace, now_us, &index)) {
                rc = 0;
        } else if (s->y4m) {
                rc = y4m_reader_read(s->y4m, &s->pic, &s->err);
                s->pic.seq = s->delivered;
                rc = rc < 0 ? rc : 1;
        } else {
                s->pic.seq = index;
                testpattern_draw(&s->pic, index, now_us);
                rc = 1;
        }
        if (rc < 0) {
                s->failed = rc;
                return rc;
        }
        if (rc == 1 && !s->cam) {
                s->pic.capture_us = now_us;
                *out = &s->pic;
        }
        if (rc == 1)
                s->delivered++;
        return rc;
}

const char *videosrc_error(const struct videosrc *s)
{
        return s->err.msg;
}

const struct videosrc_info *videosrc_get_info(const struct videosrc *s)
{
        return &s->info;
}

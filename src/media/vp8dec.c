#include "media/vp8dec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include "core/log.h"

struct vp8dec {
        vpx_codec_ctx_t ctx;
};

int vp8dec_new(struct vp8dec **out, struct merr *err)
{
        *out = NULL;
        struct vp8dec *d = calloc(1, sizeof(*d));
        if (!d)
                return merr_set(err, -ENOMEM, "vp8: out of memory");
        vpx_codec_dec_cfg_t cfg = {.threads = 1};
        vpx_codec_err_t rc = vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
        if (rc) {
                free(d);
                return merr_set(err, -EINVAL, "vp8: decoder init failed: %s",
                                vpx_codec_err_to_string(rc));
        }
        *out = d;
        return 0;
}

void vp8dec_free(struct vp8dec *d)
{
        if (!d)
                return;
        vpx_codec_destroy(&d->ctx);
        free(d);
}

int vp8dec_decode(struct vp8dec *d, const uint8_t *data, size_t len, struct picture *out)
{
        if (!data || !len || len > UINT32_MAX)
                return -EINVAL;
        vpx_codec_err_t rc = vpx_codec_decode(&d->ctx, data, (unsigned)len, NULL, 0);
        if (rc) {
                log_debug("media", "vp8: decode failed: %s", vpx_codec_err_to_string(rc));
                return -EBADMSG;
        }
        vpx_codec_iter_t iter = NULL;
        vpx_image_t *img = vpx_codec_get_frame(&d->ctx, &iter);
        if (!img)
                return 0;
        if (img->fmt != VPX_IMG_FMT_I420)
                return -EBADMSG;
        memset(out, 0, sizeof(*out));
        out->width = img->d_w;
        out->height = img->d_h;
        for (int i = 0; i < 3; i++) {
                out->plane[i] = img->planes[i];
                out->stride[i] = (unsigned)img->stride[i];
        }
        return 1;
}

#include "media/alsacommon.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* alsa-lib prints its own lines on stderr; ours name the PCM instead, so its go to debug. */
static void alsa_log(const char *file, int line, const char *function, int err, const char *fmt,
                     ...)
{
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_debug("media", "alsa %s:%d (%s): %s%s%s", file, line, function, msg, err ? ": " : "",
                  err ? snd_strerror(err) : "");
}

/* alsa-lib says ENOENT both for an unknown name and for a file a known PCM needs. */
static int pcm_defined(const char *name)
{
        char base[128];
        snprintf(base, sizeof(base), "%s", name);
        base[strcspn(base, ":")] = 0;
        snd_config_t *pcms, *node;
        return snd_config_update() >= 0 && snd_config_search(snd_config, "pcm", &pcms) >= 0 &&
               snd_config_search(pcms, base, &node) >= 0;
}

int alsacommon_fail(struct merr *err, int rc, const char *name, const char *what)
{
        if (rc == -ENOENT && !what && !pcm_defined(name))
                return merr_set(err, rc, "audio device %s: no such PCM", name);
        if (!what)
                what = "cannot open";
        if (rc == -EBUSY)
                return merr_set(err, rc, "audio device %s: busy (in use by another program)", name);
        return merr_set(err, rc, "audio device %s: %s: %s", name, what, snd_strerror(rc));
}

void alsacommon_route_log(void)
{
        static bool routed;
        if (!routed) {
                routed = true;
                snd_lib_error_set_handler(alsa_log);
        }
}

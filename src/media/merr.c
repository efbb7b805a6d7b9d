#include "media/merr.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/log.h"

int merr_set(struct merr *e, int code, const char *fmt, ...)
{
        char tmp[MERR_MSG_MAX];
        char *dst = e ? e->msg : tmp;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(dst, MERR_MSG_MAX, fmt, ap);
        va_end(ap);
        log_debug("media", "%s", dst);
        return code;
}

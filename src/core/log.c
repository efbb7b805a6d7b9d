#include "core/log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"

static bool g_timestamps;
static int g_level = LOG_LEVEL_INFO;
static char g_categories[256];
static char g_status[512]; /* the live status line on a terminal, "" when none is shown */

void log_set_level(int level)
{
        if (level < LOG_LEVEL_ERROR)
                level = LOG_LEVEL_ERROR;
        if (level > LOG_LEVEL_TRACE)
                level = LOG_LEVEL_TRACE;
        g_level = level;
}

int log_get_level(void)
{
        return g_level;
}

int log_set_categories(const char *list)
{
        if (!list || !*list || strcmp(list, "all") == 0) {
                g_categories[0] = 0;
                return 0;
        }
        snprintf(g_categories, sizeof(g_categories), ",%s,", list);
        return 0;
}

void log_set_timestamps(bool on)
{
        g_timestamps = on;
}

bool log_enabled(int level, const char *category)
{
        if (level > g_level)
                return false;
        /* Errors and warnings always show; the category filter narrows the chatty levels. */
        if (level <= LOG_LEVEL_WARN || !g_categories[0] || !category)
                return true;
        char key[40];
        snprintf(key, sizeof(key), ",%s,", category);
        return strstr(g_categories, key) != NULL;
}

void log_msg(int level, const char *category, const char *fmt, ...)
{
        if (!log_enabled(level, category))
                return;
        static const char *const names[] = {"error", "warning", "info", "debug", "trace"};
        char line[2048], stamp[32] = "";
        int n;
        if (g_timestamps) {
                uint64_t t = clock_now_us();
                snprintf(stamp, sizeof(stamp), "%llu.%03llu ", (unsigned long long)(t / 1000),
                         (unsigned long long)(t % 1000));
        }
        if (level <= LOG_LEVEL_WARN || g_level >= LOG_LEVEL_DEBUG)
                n = snprintf(line, sizeof(line), "rtcpeer: %s%s%s%s: ", stamp,
                             category ? category : "", category ? " " : "", names[level]);
        else
                n = snprintf(line, sizeof(line), "rtcpeer: %s", stamp);
        va_list ap;
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < sizeof(line))
                vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
        /* A log line goes above the live status line, which is then drawn again below it. */
        if (g_status[0])
                fprintf(stderr, "\r\x1b[K%s\n%s", line, g_status);
        else
                fprintf(stderr, "%s\n", line);
}

void log_status(const char *text)
{
        if (!text || !text[0]) {
                if (g_status[0])
                        fputs("\r\x1b[K", stderr);
                g_status[0] = 0;
                fflush(stderr);
                return;
        }
        snprintf(g_status, sizeof(g_status), "%s", text);
        fprintf(stderr, "\r\x1b[K%s", g_status);
        fflush(stderr);
}

/*
 * Logging to stderr with per-module categories. stdout carries SDP and data only, so nothing here
 * ever writes to it. Level comes from -v/-q, categories from RTCPEER_LOG=ice,dtls,...
 */
#ifndef RTCPEER_CORE_LOG_H
#define RTCPEER_CORE_LOG_H

#include <stdbool.h>

enum log_level {
        LOG_LEVEL_ERROR = 0,
        LOG_LEVEL_WARN = 1,
        LOG_LEVEL_INFO = 2,
        LOG_LEVEL_DEBUG = 3,
        LOG_LEVEL_TRACE = 4,
};

void log_set_level(int level);
int log_get_level(void);
/* Comma-separated category list; NULL or "" or "all" enables every category. Returns 0. */
int log_set_categories(const char *list);
bool log_enabled(int level, const char *category);
/* Each line starts with the monotonic clock in ms (RTCPEER_LOG_TIME=1): peers on one machine
 * can be lined up, and a handshake's steps timed. */
void log_set_timestamps(bool on);
void log_msg(int level, const char *category, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The live status line (stderr on a terminal only: the caller checks): drawn in place without
 * a newline; log lines print above it. NULL or "" removes it.
 */
void log_status(const char *text);

#define log_error(cat, ...) log_msg(LOG_LEVEL_ERROR, cat, __VA_ARGS__)
#define log_warn(cat, ...)  log_msg(LOG_LEVEL_WARN, cat, __VA_ARGS__)
#define log_info(cat, ...)  log_msg(LOG_LEVEL_INFO, cat, __VA_ARGS__)
#define log_debug(cat, ...) log_msg(LOG_LEVEL_DEBUG, cat, __VA_ARGS__)
#define log_trace(cat, ...) log_msg(LOG_LEVEL_TRACE, cat, __VA_ARGS__)

#endif

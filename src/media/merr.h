/*
 * Error text of the media layer: one line that names the device or file, for the CLI to print.
 * Functions still return negative errno-style codes; the text only says which object and why.
 */
#ifndef RTCPEER_MEDIA_MERR_H
#define RTCPEER_MEDIA_MERR_H

#define MERR_MSG_MAX 256

struct merr {
        char msg[MERR_MSG_MAX];
};

/* Formats into e (NULL allowed: the text then only goes to the debug log). Returns code. */
int merr_set(struct merr *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

/*
 * What the ALSA capture and playback modules share: alsa-lib's own messages routed to our debug
 * log, and one-line errors that name the PCM.
 */
#ifndef RTCPEER_MEDIA_ALSACOMMON_H
#define RTCPEER_MEDIA_ALSACOMMON_H

#include "media/merr.h"

/* Sends alsa-lib's stderr messages to the debug log (once per process). */
void alsacommon_route_log(void);
/*
 * Sets err for a failure of PCM `name`: `what` says which step failed; NULL means opening, where
 * an unknown name is told apart from a known PCM that failed. Returns rc.
 */
int alsacommon_fail(struct merr *err, int rc, const char *name, const char *what);

#endif

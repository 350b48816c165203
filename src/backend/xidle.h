/*
 * xidle.h -- how long a session has had no keyboard or pointer input: its
 * X server's idle time, shared by the back-ends (RDMS_SessionDetail.IdleTime).
 *
 * Neither server keeps it: xrdp-sesadmin's idle fields are never filled in
 * (backends.md §4) and X2Go records only connects and suspends.  The X
 * server does: every input event, whether xrdp's xorgxrdp or Xvnc injects
 * it or nxagent forwards it, resets the time the MIT-SCREEN-SAVER extension
 * reports.  xprintidle (Debian's package of that name) prints it; it runs
 * as the session's user, so root never talks X to a server the user owns.
 */
#ifndef RDMS_BACKEND_XIDLE_H
#define RDMS_BACKEND_XIDLE_H

#include <stdint.h>

#include "backend.h"

#define RDMS_XPRINTIDLE "/usr/bin/xprintidle"

/*
 * Seconds since the last input on S's display (s->display), asked as its
 * user (s->uid) with XAUTHORITY (NULL: ~/.Xauthority); RDMS_IDLE_UNKNOWN
 * when it cannot be told (no display, no xprintidle, no answer within a
 * second).
 */
uint32_t rdms_x_idle(const rdms_session *s, const char *xauthority);

/* xprintidle's output (milliseconds, one line) as seconds; false when it is not that. */
bool rdms_x_idle_parse(const char *out, uint32_t *seconds);

#endif

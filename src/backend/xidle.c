/*
 * xidle.c -- a session's idle time from its X server (xidle.h).
 */
#include "xidle.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "userexec.h"
#include "../common/log.h"

/* An X client can hang in connection setup here (backends.md P10): bounded. */
#define XIDLE_TIMEOUT_MS 1000

bool rdms_x_idle_parse(const char *out, uint32_t *seconds)
{
	unsigned long long ms;
	char *end;

	if (*out < '0' || *out > '9')
		return false;
	errno = 0;
	ms = strtoull(out, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno != 0 || *end != '\0' || ms / 1000 >= RDMS_IDLE_UNKNOWN)
		return false;
	*seconds = (uint32_t)(ms / 1000);
	return true;
}

uint32_t rdms_x_idle(const rdms_session *s, const char *xauthority)
{
	char display[32], xauth[2 * PATH_MAX], out[64];
	char *argv[] = { "/usr/bin/env", display, xauth, RDMS_XPRINTIDLE, NULL };
	rdms_error err = { 0 };
	rdms_user u;
	uint32_t seconds = RDMS_IDLE_UNKNOWN;
	int status = 0;

	if (s->display < 0 || access(RDMS_XPRINTIDLE, X_OK) != 0 ||
	    rdms_user_lookup(s->uid, &u, &err) != WBEM_S_NO_ERROR)
		return RDMS_IDLE_UNKNOWN;
	snprintf(display, sizeof display, "DISPLAY=:%d", s->display);
	if ((size_t)snprintf(xauth, sizeof xauth, "XAUTHORITY=%s%s",
	                     xauthority != NULL ? xauthority : u.home,
	                     xauthority != NULL ? "" : "/.Xauthority") >= sizeof xauth)
		status = -1;
	if (status != 0)
		log_debug("idle time of session %u: its XAUTHORITY is too long", (unsigned)s->id);
	else if (rdms_user_run(&u, argv, XIDLE_TIMEOUT_MS, &status, out, sizeof out, &err) !=
	    WBEM_S_NO_ERROR)
		log_debug("idle time of session %u: %s", (unsigned)s->id, err.message);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	         !rdms_x_idle_parse(out, &seconds))
		log_debug("idle time of session %u: xprintidle said '%s'", (unsigned)s->id, out);
	rdms_user_free(&u);
	return seconds;
}

/*
 * x2go_watch.h -- where an X2Go session's changes show first, for rdmsd's
 * session watch (src/events/watch.c).
 *
 * nxagent writes its state file (RUNNING, SUSPENDED, ...) the moment a
 * client attaches or goes; X2Go's session database follows later (a
 * suspend) or not at all (a client attaching after a start or a resume
 * changes no row), so the watch follows each session's directory too.
 */
#ifndef RDMS_BACKEND_X2GO_WATCH_H
#define RDMS_BACKEND_X2GO_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "../../config/config.h"
#include "../backend.h"

/* The state file's name in that directory. */
#define RDMS_X2GO_STATE_FILE "state"

/*
 * The directory of X2Go session S (x2go_tmpdir/.x2go-USER/C-SESSION, the
 * session named by its agent's command line) into OUT.  False when S's
 * agent cannot be read or OUT is too small.
 */
bool rdms_x2go_session_dir(const rdms_config *cfg, const rdms_session *s, char *out,
                           size_t size);

#endif

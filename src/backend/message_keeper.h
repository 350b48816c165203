/*
 * message_keeper.h -- between rdms_message_show (userexec.c) and the
 * program that keeps a SendMessage dialog, rdms-msgwait
 * (message_keeper.c).
 *
 * The dialog outlives the call that opened it, so a process must stay to
 * time it out, and (with MessageWait) to say how it ended.  That process is
 * a program of its own, not a fork of rdmsd or rdms: `ps` shows
 * "rdms-msgwait session=ID user=NAME display=:N", not a second rdmsd, and
 * it may use the back-ends (which allocate) to follow the session: the
 * dialog's timeout counts only while the session is connected, so a
 * message sent to a disconnected session is there when its user comes
 * back (as Windows shows it at reconnect).
 *
 * The caller writes one keeper_handoff into a pipe that becomes the
 * keeper's standard input, and reads keeper_report records from the pipe
 * on KEEPER_REPORT_FD: first one that says whether the dialog is up
 * (RUNNING) or why not; later, when the dialog has ended, one that says
 * how (CLOSED, TIMED_OUT, SESSION_ENDED).  Both programs come from one
 * build; the handoff carries the version and the config's layout.
 */
#ifndef RDMS_BACKEND_MESSAGE_KEEPER_H
#define RDMS_BACKEND_MESSAGE_KEEPER_H

#include <limits.h>
#include <stdint.h>

#include "../config/config.h"
#include "message.h"

#define KEEPER_PROGRAM_NAME "rdms-msgwait"
/*
 * The dialog: gxmessage, xmessage's GTK clone (same options, so -title,
 * -center and the message on stdin stay as they were).  xmessage draws
 * with core X fonts and shows UTF-8 as mojibake; gxmessage shows any
 * UTF-8 (-encoding UTF-8, whatever the locale), wraps long lines, and its
 * text can be selected and copied.  zenity and yad would do too, but read
 * their text as Pango markup (a '<' in a message breaks it) and zenity
 * pulls in a web engine.
 */
#define RDMS_MESSAGE_DIALOG "/usr/bin/gxmessage"
#define KEEPER_MAGIC        "rdmsmsg"
#define KEEPER_REPORT_FD    3
/* How long the keeper watches the dialog start before it reports RUNNING. */
#define KEEPER_EARLY_EXIT_MS 500

typedef struct keeper_handoff {
	char        magic[8];
	char        version[32];
	uint32_t    size;              /* sizeof (keeper_handoff) */
	uint64_t    config_layout;     /* rdms_config_layout() */
	rdms_config cfg;
	char        backend[16];       /* the session's back-end, by name */
	uint32_t    session_id;
	uint32_t    uid;               /* the session's account */
	int32_t     server_pid;        /* its X server: the session is the same while this is */
	int32_t     display;
	int32_t     env_pid;           /* a process of the session, for its locale */
	uint32_t    timeout_s;         /* connected seconds the dialog stays */
	char        xauthority[PATH_MAX];   /* "" : ~/.Xauthority */
	char        title[RDMS_MESSAGE_MAX_TITLE + 1];
	char        text[RDMS_MESSAGE_MAX_TEXT + 1];
} keeper_handoff;

enum keeper_report_kind {
	KEEPER_RUNNING = 1,    /* the dialog is up */
	KEEPER_EXEC_FAILED,    /* value: errno of exec or of becoming the user */
	KEEPER_EXITED,         /* value: wait status; it ended at once (no display?) */
	KEEPER_FAILED,         /* value: errno; fork, pipe, or a bad handoff (EINVAL) */
	KEEPER_CLOSED,         /* value: wait status; the user closed it */
	KEEPER_TIMED_OUT,      /* value: the timeout in seconds */
	KEEPER_SESSION_ENDED,  /* the session ended with the dialog still open */
};

typedef struct keeper_report {
	int32_t kind;          /* enum keeper_report_kind */
	int32_t value;
} keeper_report;

#endif

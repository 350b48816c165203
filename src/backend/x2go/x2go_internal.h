/*
 * x2go_internal.h -- the pieces of the X2Go 4.1 back-end, shared by its
 * files, backend.c (which lists the object), the unit tests and the
 * benchmark.
 *
 * X2Go keeps a session database (x2go.md §3): one row per session, written
 * by its Perl scripts, with the agent's pid, the session name, the display,
 * the user and the client's address.  Its status column lags behind the
 * truth, which is the state file nxagent writes into the session directory
 * (§7.4).  So:
 *
 *   x2go_db.c      the rows: read-only SQLite (the default database), or
 *                  the output of x2golistsessions_root where the database
 *                  is not SQLite (PostgreSQL); one validator for both
 *   x2go_state.c   the state file, and the agent's /proc entry: alive,
 *                  owned by the row's user, its -name is the row's session
 *   x2go.c         the rdms_backend object: available() and enumerate()
 *   x2go_actions.c Disconnect (suspend), Logoff (terminate), SendMessage
 *
 * SessionId is the x2goagent pid: stable across suspend and resume, and
 * unique beside xrdp's sesman pids (same pid namespace).
 */
#ifndef RDMS_BACKEND_X2GO_INTERNAL_H
#define RDMS_BACKEND_X2GO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../backend.h"

extern const rdms_backend rdms_backend_x2go;

/* ---- session rows (x2go_db.c) ------------------------------------------- */

typedef struct x2go_row {
	pid_t agent_pid;           /* 0: NULL in the database (the session is starting) */
	char  session[256];        /* session_id, e.g. user-50-1795596872_stDtwm_dp24 */
	int   display;             /* N of :N */
	char  user[256];           /* uname */
	char  client[64];          /* the client's IP address; "" when unknown */
	char  status;              /* R running, S suspended, F finished, T terminate request */
} x2go_row;

typedef struct x2go_rows {
	x2go_row *v;
	size_t    n, cap;
} x2go_rows;

void x2go_rows_free(x2go_rows *r);

/* The fields a row is made of, as text (NULL for an SQL NULL). */
enum { X2GO_F_PID, X2GO_F_SESSION, X2GO_F_DISPLAY, X2GO_F_USER, X2GO_F_CLIENT,
       X2GO_F_STATUS, X2GO_NFIELDS };

/*
 * Checks and converts one row.  Rejected (WBEM_E_FAILED, naming the field):
 * a session name that is empty, too long or has characters outside
 * [A-Za-z0-9._@-] (it becomes a path), a user name with '/' or control
 * characters, a display or pid that is not a plain decimal in range, a
 * status other than R, S, F, T.  A client address that is not one is
 * dropped (""), not a reason to hide the session.
 */
uint32_t x2go_row_parse(const char *const f[X2GO_NFIELDS], x2go_row *r,
                        rdms_error *err);

/* The backend= line of X2Go's /etc/x2go/x2gosql/sql into BUF; "sqlite" when the file is missing. */
uint32_t x2go_sql_backend(const char *path, char *buf, size_t size, rdms_error *err);

/*
 * Reads every row of the sessions table of the SQLite database PATH,
 * read-only, waiting at most BUSY_MS for a writer's lock.  A missing file
 * is no rows.  WBEM_E_NOT_SUPPORTED when the table is not the one X2Go 4.1
 * makes (the caller then asks x2golistsessions_root); rows that do not
 * parse are left out (logged at debug level, never their cookie).
 */
uint32_t x2go_db_read(const char *path, int busy_ms, x2go_rows *out, rdms_error *err);

/*
 * Parses the output of x2golistsessions_root: 16 '|'-separated fields a
 * line (x2go.md §4).  Lines that do not parse are left out; the error of
 * the last one is in ERR when ERR_COUNT counts them (may be NULL).
 */
uint32_t x2go_list_parse(const char *text, x2go_rows *out, size_t *bad,
                         rdms_error *err);

/* Runs x2golistsessions_root (as root, with a time limit) and parses its output. */
uint32_t x2go_list_run(x2go_rows *out, rdms_error *err);

#define X2GO_DB_BUSY_MS 2000
#define X2GO_LISTSESSIONS_ROOT "/usr/sbin/x2golistsessions_root"

/* ---- state files and agents (x2go_state.c) ------------------------------ */

enum x2go_state {
	X2GO_STARTING, X2GO_RUNNING, X2GO_SUSPENDING, X2GO_SUSPENDED,
	X2GO_RESUMING, X2GO_TERMINATING, X2GO_TERMINATED,
};

/* "RUNNING", ... */
const char *x2go_state_name(enum x2go_state st);
/* The text of a state file (LEN bytes; trailing blanks and newlines allowed). */
uint32_t x2go_state_parse(const char *text, size_t len, enum x2go_state *st,
                          rdms_error *err);
/*
 * Reads TMP/.x2go-USER/C-SESSION/state: a regular file (no symlink, FIFO
 * or device: the directory is the user's) owned by UID or root.
 */
uint32_t x2go_state_read(const char *tmp, const char *user, const char *session,
                         uid_t uid, enum x2go_state *st, rdms_error *err);
/* The WTS ConnectState of ST; false for a session that is ending (not listed). */
bool x2go_state_wts(enum x2go_state st, uint32_t *wts);

/* What /proc says about an agent. */
typedef struct x2go_agent {
	uid_t uid;
	char  session[256];        /* from -name X2GO-<session> */
	int   display;             /* from :N; -1 when absent */
	char  xauth[256];          /* the -auth file; "" when absent or not absolute */
} x2go_agent;

/*
 * When session SESSION (a session name, USER-DISPLAY-EPOCH_st...) began:
 * the Unix time in its name, which unlike the database's local times has no
 * time-zone doubt (x2go.md §4); 0 when the name holds none.
 */
int64_t x2go_session_epoch(const char *session);

/* Reads the x2goagent PID under ROOT; WBEM_E_NOT_FOUND when it is gone or is no X2Go agent. */
uint32_t x2go_agent_read(const char *root, pid_t pid, x2go_agent *a, rdms_error *err);
/* The same from a cmdline (LEN bytes, NUL-separated). */
uint32_t x2go_agent_parse_cmdline(const char *cmdline, size_t len, x2go_agent *a,
                                  rdms_error *err);

/*
 * Appends to OUT the sessions of ROWS that are live: status R or S, an
 * agent pid, the agent alive as the row's user and named after the row, a
 * state file saying it is not ending.  Used by enumerate; separate so the
 * benchmark can time it.
 */
uint32_t x2go_sessions_from_rows(const rdms_config *cfg, const x2go_rows *rows,
                                 rdms_session_list *out, rdms_error *err);

/* ---- actions (x2go_actions.c) ------------------------------------------- */

uint32_t x2go_disconnect(const rdms_config *cfg, const rdms_session *s, rdms_error *err);
uint32_t x2go_logoff(const rdms_config *cfg, const rdms_session *s, rdms_error *err);
uint32_t x2go_send_message(const rdms_config *cfg, const rdms_session *s,
                           const char *title, const char *message,
                           const rdms_message_options *opt, rdms_error *err);

#define X2GO_SUSPEND_SESSION   "/usr/bin/x2gosuspend-session"
#define X2GO_TERMINATE_SESSION "/usr/bin/x2goterminate-session"

#endif

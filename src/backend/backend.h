/*
 * backend.h -- the small interface every session back-end implements.
 *
 * A back-end finds the real remote-desktop sessions of one server (xrdp,
 * later X2Go, TigerVNC, xrdp 0.10) and acts on them.  It speaks in
 * rdms_session records, not CIM: the provider (src/ops) turns a session into
 * a Win32_VirtualDesktopSession instance.  Actions are given a session that
 * the caller has just re-enumerated, never one from an older listing, so a
 * recycled pid is not acted on.
 *
 * Every action returns WBEM_S_NO_ERROR only when it has confirmed the effect
 * on the real system; otherwise a WBEM_E_* code and a message in ERR.
 */
#ifndef RDMS_BACKEND_H
#define RDMS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../cim/wbem.h"
#include "../config/config.h"
#include "message.h"

/* WTS_CONNECTSTATE_CLASS values used for ConnectState. */
enum wts_connect_state {
	WTS_ACTIVE = 0, WTS_CONNECTED = 1, WTS_CONNECT_QUERY = 2, WTS_SHADOW = 3,
	WTS_DISCONNECTED = 4, WTS_IDLE = 5, WTS_LISTEN = 6, WTS_RESET = 7,
	WTS_DOWN = 8, WTS_INIT = 9,
};

/* "Active", "Disconnected", ... for a WTS state; "Unknown" otherwise. */
const char *wts_state_name(uint32_t state);

struct rdms_backend;

typedef struct rdms_session {
	uint32_t id;               /* SessionId: stable for the session's life */
	uint32_t connect_state;    /* enum wts_connect_state */
	uid_t    uid;              /* the session's Unix account */
	char     user[256];        /* account name as the system knows it */
	char     client[256];      /* ClientMachineName; "" while disconnected */
	const struct rdms_backend *backend;

	/* what quser shows beside the class (RDMS_SessionDetail) */
	int64_t  logon_time;       /* when the session began, Unix seconds; 0 when unknown */
	char     client_addr[48];  /* the client's IP address; "" while disconnected or unknown */

	/* back-end details: shown by `rdms list`, used by the actions */
	char     kind[16];         /* "Xorg", "Xvnc", ... */
	int      display;          /* X display number, -1 when unknown */
	pid_t    server_pid;       /* the X server */
	pid_t    wm_pid;           /* the session's window manager / start script */
	pid_t    conn_pid;         /* the server process serving the client; 0 when none */
} rdms_session;

typedef struct rdms_session_list {
	rdms_session *items;
	size_t        count;
	size_t        cap;
} rdms_session_list;

/* Appends a zeroed session and returns it, or NULL on allocation failure. */
rdms_session *rdms_session_list_add(rdms_session_list *l);
void rdms_session_list_free(rdms_session_list *l);

/* RDMS_SessionDetail.IdleTime of a session whose idle time is unknown. */
#define RDMS_IDLE_UNKNOWN UINT32_MAX

/*
 * Called with each session of a walk (rdms_backend_each); S is valid for the
 * call only.  Returns 0 to go on, or a WBEM_E_* code (ERR filled) to stop.
 */
typedef uint32_t (*rdms_session_fn)(void *ctx, const rdms_session *s, rdms_error *err);

typedef struct rdms_backend {
	const char *name;          /* "xrdp" */
	/* True when this server is installed/running here (a missing one is not an error). */
	bool     (*available)(const rdms_config *cfg);
	/* Appends the back-end's current sessions to OUT. */
	uint32_t (*enumerate)(const rdms_config *cfg, rdms_session_list *out,
	                      rdms_error *err);
	/* Drops the client, keeps the session (WBEM_E_INVALID_OPERATION when not connected). */
	uint32_t (*disconnect)(const rdms_config *cfg, const rdms_session *s,
	                       rdms_error *err);
	/* Ends the session and its processes. */
	uint32_t (*logoff)(const rdms_config *cfg, const rdms_session *s,
	                   rdms_error *err);
	/*
	 * Shows a dialog on the session's display as its user; fire-and-forget
	 * unless OPT (may be NULL: the defaults) asks to wait (message.h).
	 */
	uint32_t (*send_message)(const rdms_config *cfg, const rdms_session *s,
	                         const char *title, const char *message,
	                         const rdms_message_options *opt, rdms_error *err);
	/*
	 * Optional: fills OUT with the current session ID, read as freshly as
	 * enumerate would; WBEM_E_NOT_FOUND when this back-end has none.  A Get
	 * or a method call then costs one look-up instead of copying every
	 * session (NULL: the operation layer enumerates and searches).
	 */
	uint32_t (*find)(const rdms_config *cfg, uint32_t id, rdms_session *out,
	                 rdms_error *err);
	/*
	 * Optional: hands FN each current session, in enumerate's order, as
	 * freshly as enumerate would, without building a list (10,000 sessions
	 * are 6 MB as a list).  NULL: rdms_backend_each enumerates into a list.
	 */
	uint32_t (*each)(const rdms_config *cfg, rdms_session_fn fn, void *ctx,
	                 rdms_error *err);
	/*
	 * Optional: whether the server runs now (its sessions can be reached);
	 * when not, WHY (SIZE bytes) says what is missing, e.g. "xrdp-sesman is
	 * not running".  NULL: taken as running whenever it is available.
	 */
	bool     (*running)(const rdms_config *cfg, char *why, size_t size);
	/*
	 * Optional: the seconds since the last keyboard or pointer input of
	 * each of the N sessions S (all of this back-end, as enumerated) into
	 * IDLE, RDMS_IDLE_UNKNOWN where it cannot be told.  Costly (it asks each
	 * session's X server), so only RDMS_SessionDetail calls it.  NULL:
	 * every idle time is unknown.
	 */
	void     (*idle)(const rdms_config *cfg, const rdms_session *s, size_t n,
	                 uint32_t *idle);
} rdms_backend;

/*
 * Every current session of back-end B to FN, in enumerate's order: B's
 * each hook when it has one, else a fresh enumeration walked in order.  A
 * nonzero return of FN (a WBEM_E_* code, ERR filled) stops the walk and is
 * returned.
 */
uint32_t rdms_backend_each(const rdms_backend *b, const rdms_config *cfg, rdms_session_fn fn,
                           void *ctx, rdms_error *err);

/*
 * Session ID of back-end B into OUT: B's find hook when it has one, else a
 * search of a fresh enumeration.  WBEM_E_NOT_FOUND when B has no such session.
 */
uint32_t rdms_backend_lookup(const rdms_backend *b, const rdms_config *cfg, uint32_t id,
                             rdms_session *out, rdms_error *err);

/*
 * The back-ends compiled in, in the order they are tried (X(name) for each:
 * backend_table.c and backend_names.c make their tables from this list).
 */
#define RDMS_BACKEND_LIST(X) X(xrdp) X(x2go) X(fixture)

/*
 * The back-ends compiled in, NULL-terminated.  Where they run (rdmsd's
 * privileged process, the CLI's direct mode, the message keeper) these are
 * the back-ends themselves (backend_table.c); in the processes that only
 * name them -- rdmsd-net, rdmsd-broker, rdmsd-pam, rdmsd-ntlm -- each is a
 * name whose hooks refuse (backend_names.c), so none of their code, nor
 * what it links (SQLite, for X2Go's session database), is in those
 * processes.
 */
extern const rdms_backend *const rdms_backends[];

/* The back-end named NAME, or NULL. */
const rdms_backend *rdms_backend_find(const char *name);

#endif

/*
 * xrdp_internal.h -- the pieces of the xrdp 0.9 back-end, shared by its
 * files, backend.c (which lists the object) and the unit tests.
 *
 * sesman 0.9 tells nothing useful about its sessions (backends.md §1, §4),
 * so the back-end reads them from the system:
 *
 *   xrdp_scan.c    the process table: the sesman session processes (their
 *                  pids are the SessionIds), each one's X server, WM and
 *                  chansrv, the display and the user; the xrdp listener
 *                  and its per-connection children
 *   xrdp_state.c   /proc/net/unix (Xorg: a connected xrdp_display_N) and
 *                  /proc/net/tcp{,6} (Xvnc: ESTABLISHED on 5900+N) give the
 *                  ConnectState; socket inodes, a sock_diag peer query and
 *                  the children's fds give the serving xrdp process and the
 *                  client's address
 *   xrdp_client.c  the client's computer name, from the tail of xrdp's log
 *   xrdp_actions.c Disconnect, Logoff, SendMessage
 *   xrdp.c         the rdms_backend object and enumerate
 *
 * Every path starts at cfg->proc_root or cfg->xrdp_sockdir, so the unit
 * tests run the same code on fixture trees.  Reading /proc (../proc.c) and
 * running programs as the session's user (../userexec.c: the SendMessage
 * dialog) are shared with the other back-ends.
 */
#ifndef RDMS_BACKEND_XRDP_INTERNAL_H
#define RDMS_BACKEND_XRDP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../backend.h"
#include "../proc.h"
#include "../userexec.h"

extern const rdms_backend rdms_backend_xrdp;

/* ---- the process table (xrdp_scan.c) ------------------------------------ */

typedef struct xrdp_proc {
	pid_t pid;
	pid_t ppid;
	char  state;        /* R, S, D, Z, X, ... from /proc/PID/stat */
	char  comm[32];
} xrdp_proc;

typedef struct xrdp_proctab {
	xrdp_proc *v;
	size_t     n, cap;
} xrdp_proctab;

/*
 * Parses the text of /proc/PID/stat: "pid (comm) state ppid ...".  The
 * comm may hold spaces and parentheses, so it ends at the LAST ')'.
 */
uint32_t xrdp_parse_stat(const char *text, xrdp_proc *p, rdms_error *err);
/* The value of "-rfbport P" in CMDLINE, or -1. */
int xrdp_cmdline_rfbport(const char *cmdline, size_t len);

/* Reads every process under ROOT (a /proc); vanished ones are skipped. */
uint32_t xrdp_proctab_read(const char *root, xrdp_proctab *t, rdms_error *err);
void xrdp_proctab_free(xrdp_proctab *t);
const xrdp_proc *xrdp_proctab_get(const xrdp_proctab *t, pid_t pid);
/* True for a "main" process named COMM: its parent has another name. */
bool xrdp_proc_is_main(const xrdp_proctab *t, const xrdp_proc *p, const char *comm);

/*
 * xrdp's log file as rdms_xrdp_log_path finds it, with the process table T
 * already read (NULL: none).
 */
void xrdp_log_path(const rdms_config *cfg, const xrdp_proctab *t, char *out, size_t size);
/*
 * LogFile of [Logging] in the xrdp ini INI, under /var/log unless absolute,
 * into OUT; WBEM_E_NOT_FOUND (and /var/log/xrdp.log) when it has none.
 */
uint32_t xrdp_ini_logfile(const char *ini, char *out, size_t size);

/* True when PID's parent is PPID and its comm is COMM (NULL: any). */
bool xrdp_pid_matches(const char *root, pid_t pid, pid_t ppid, const char *comm);

/*
 * True when PID may be a session: a live root process named xrdp-sesman (a
 * find checks it before reading the whole process table).
 */
bool xrdp_is_session_process(const char *root, pid_t pid);

/*
 * Fills OUT with the sesman sessions found in T: id, uid, user, kind,
 * display, server_pid, wm_pid; with ONLY not 0, session ONLY alone (a find:
 * no other session's files are read).  Sessions without a live X server
 * (starting or ending) are left out.  The state fields are left for
 * xrdp_state.c.
 */
uint32_t xrdp_scan_sessions(const char *root, const xrdp_proctab *t, uint32_t only,
                            rdms_session_list *out, rdms_error *err);

/* ---- sockets (xrdp_state.c) --------------------------------------------- */

typedef struct xrdp_unix_ent {
	unsigned long inode;
	unsigned      flags;      /* 0x10000 = listening (__SO_ACCEPTCON) */
	unsigned      type;       /* 1 stream, 2 dgram, 5 seqpacket */
	unsigned      st;         /* 1 unconnected, 3 connected */
	char          path[256];  /* "" for unnamed sockets */
} xrdp_unix_ent;

/* One line of /proc/net/unix (not the header). */
uint32_t xrdp_parse_unix_line(const char *line, xrdp_unix_ent *e, rdms_error *err);

/* TCP states as /proc/net/tcp and TCP_INFO give them; CLOSE_WAIT: the peer has gone. */
enum { XRDP_TCP_ESTABLISHED = 0x01, XRDP_TCP_CLOSE_WAIT = 0x08, XRDP_TCP_LISTEN = 0x0A };

typedef struct xrdp_tcp_ent {
	char          laddr[48];  /* printable; v4-mapped v6 shown as v4 */
	unsigned      lport;
	char          raddr[48];
	unsigned      rport;
	unsigned      st;
	unsigned long inode;
} xrdp_tcp_ent;

/* One line of /proc/net/tcp (V6 false) or /proc/net/tcp6 (not the header). */
uint32_t xrdp_parse_tcp_line(const char *line, bool v6, xrdp_tcp_ent *e,
                             rdms_error *err);

typedef struct xrdp_tcp_table {
	xrdp_tcp_ent *v;
	size_t        n, cap;
} xrdp_tcp_table;

/* Both tables under ROOT/net (tcp6 may be absent); malformed lines skipped. */
uint32_t xrdp_tcp_read(const char *root, xrdp_tcp_table *t, rdms_error *err);
void xrdp_tcp_free(xrdp_tcp_table *t);

/* The client end of a session's RDP connection, as its xrdp child sees it. */
typedef struct xrdp_conn {
	char     addr[48];    /* "" when unknown */
	unsigned port;
} xrdp_conn;

/*
 * Fills connect_state and conn_pid of every session in L[FIRST..], and
 * CONNS[i - FIRST] with the client address of session i: the ConnectState
 * detectors of backends.md §3.3.
 */
uint32_t xrdp_state_fill(const rdms_config *cfg, const xrdp_proctab *t,
                         rdms_session_list *l, size_t first, xrdp_conn *conns,
                         rdms_error *err);

/* True when session S (display, kind) has an xrdp connection attached now. */
bool xrdp_session_attached(const rdms_config *cfg, const rdms_session *s);

/* ---- the xrdp log (xrdp_client.c) --------------------------------------- */

typedef struct xrdp_log_name {
	char     addr[48];
	unsigned port;
	char     name[64];
} xrdp_log_name;

typedef struct xrdp_log_peer {        /* lib_mod_log_peer (Xorg back-end) */
	pid_t    xrdp_pid;
	pid_t    x_pid;
	char     addr[48];
	unsigned port;
} xrdp_log_peer;

typedef struct xrdp_log_info {
	xrdp_log_name *names;
	size_t         nnames, capnames;
	xrdp_log_peer *peers;
	size_t         npeers, cappeers;
} xrdp_log_info;

/*
 * Scans xrdp log text.  Connections ("connection received from A port P")
 * are paired in order with the "Connected client computer name: X" lines
 * that follow them, since xrdp 0.9 does not put a pid on its log lines;
 * a name more than a minute after its connection pairs with nothing.
 */
uint32_t xrdp_log_scan(const char *text, size_t len, xrdp_log_info *out,
                       rdms_error *err);
void xrdp_log_free(xrdp_log_info *li);
/* The last name logged for the connection from ADDR:PORT, or NULL. */
const char *xrdp_log_name_for(const xrdp_log_info *li, const char *addr,
                              unsigned port);
/* Reads the last MAX bytes of PATH (from a line start) and scans them. */
uint32_t xrdp_log_read(const char *path, size_t max, xrdp_log_info *out,
                       rdms_error *err);

/* How much of the log enumerate reads. */
#define XRDP_LOG_TAIL (256 * 1024)

/*
 * Sets s->client of the connected sessions in L[FIRST..]: the logged
 * computer name of the connection CONNS[i - FIRST], else its address.  For
 * an Xorg session whose xrdp child the sockets did not reveal, the log's
 * lib_mod_log_peer line supplies it (checked against the process table T).
 */
void xrdp_client_fill(const rdms_config *cfg, const xrdp_proctab *t,
                      rdms_session_list *l, size_t first, xrdp_conn *conns);

/* ---- actions (xrdp_actions.c) ------------------------------------------- */

uint32_t xrdp_disconnect(const rdms_config *cfg, const rdms_session *s,
                         rdms_error *err);
uint32_t xrdp_logoff(const rdms_config *cfg, const rdms_session *s,
                     rdms_error *err);
uint32_t xrdp_send_message(const rdms_config *cfg, const rdms_session *s,
                           const char *title, const char *message,
                           const rdms_message_options *opt, rdms_error *err);

#endif

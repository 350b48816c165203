/*
 * xrdp_scan.c -- the sessions of xrdp 0.9, read from the process table.
 *
 * sesman forks one process per session and that pid is the SessionId it
 * reports (backends.md §3.3).  So a session is a root process named
 * xrdp-sesman with an X server among its children (Xorg or Xvnc, whose
 * ":N" argument is the display); its other children are xrdp-chansrv and
 * the window manager (startwm.sh exec'd into the WM; its pid is not
 * predictable).  The user is the real uid of the X server.
 *
 * Its parent is normally the main sesman, but not always: when sesman is
 * stopped or restarted its sessions live on as children of PID 1 (P8), and
 * those are the sessions an admin most needs to see and log off.  So the
 * parent is not part of the test; a main sesman never has an X server
 * child, and the session process must be root's (sesman's session process
 * stays root to close PAM), so no user can pass a process of their own off
 * as a session.
 *
 * One pass over ROOT reads every /proc/PID/stat (pid, comm, state, ppid):
 * about 3 us a process, and the whole tree is then known without a second
 * look.  Processes that vanish during the pass are skipped, not errors.
 */
#include "xrdp_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/array.h"
#include "../../common/strutil.h"

uint32_t xrdp_parse_stat(const char *text, xrdp_proc *p, rdms_error *err)
{
	const char *open, *close;
	char *end;
	long pid, ppid;
	size_t n;

	memset(p, 0, sizeof *p);    /* defined on a failure too: pid 0 is no process */
	errno = 0;
	pid = strtol(text, &end, 10);
	if (end == text || errno != 0 || pid <= 0 || pid > INT_MAX || *end != ' ')
		return rdms_fail(err, WBEM_E_FAILED, "stat: bad pid at column 1");
	open = end + 1;
	if (*open != '(')
		return rdms_fail(err, WBEM_E_FAILED, "stat: expected '(' at column %zu",
		    (size_t)(open - text) + 1);
	close = strrchr(open, ')');
	if (close == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "stat: no ')' after the command name");
	n = (size_t)(close - open - 1);
	if (n >= sizeof p->comm)
		n = sizeof p->comm - 1;
	if (close[1] != ' ' || close[2] == '\0' || close[3] != ' ')
		return rdms_fail(err, WBEM_E_FAILED, "stat: no state after the command name");
	errno = 0;
	ppid = strtol(close + 4, &end, 10);
	if (end == close + 4 || errno != 0 || ppid < 0 || ppid > INT_MAX)
		return rdms_fail(err, WBEM_E_FAILED, "stat: bad parent pid at column %zu",
		    (size_t)(close + 4 - text) + 1);
	p->pid = (pid_t)pid;
	p->ppid = (pid_t)ppid;
	p->state = close[2];
	memcpy(p->comm, open + 1, n);
	p->comm[n] = '\0';
	return WBEM_S_NO_ERROR;
}

static int rfbport_arg(const char *arg, const char *next)
{
	if (next != NULL && strcmp(arg, "-rfbport") == 0)
		return rdms_decimal_u16(next);
	return -1;
}

int xrdp_cmdline_rfbport(const char *cmdline, size_t len)
{
	return rdms_cmdline_find(cmdline, len, rfbport_arg);
}

static bool read_stat(const char *root, pid_t pid, xrdp_proc *p)
{
	char buf[1024];

	return rdms_proc_read(root, pid, "stat", buf, sizeof buf) > 0 &&
	    xrdp_parse_stat(buf, p, NULL) == WBEM_S_NO_ERROR && p->pid == pid;
}

bool xrdp_pid_matches(const char *root, pid_t pid, pid_t ppid, const char *comm)
{
	xrdp_proc p;

	return pid > 0 && read_stat(root, pid, &p) && p.ppid == ppid &&
	    p.state != 'Z' && p.state != 'X' && (comm == NULL || strcmp(p.comm, comm) == 0);
}

void xrdp_proctab_free(xrdp_proctab *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

static xrdp_proc *proctab_add(xrdp_proctab *t)
{
	if (!array_reserve(&t->v, t->n, &t->cap, sizeof *t->v, 256))
		return NULL;
	return &t->v[t->n++];
}

uint32_t xrdp_proctab_read(const char *root, xrdp_proctab *t, rdms_error *err)
{
	DIR *d = opendir(root);
	struct dirent *de;
	xrdp_proc p;

	if (d == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "cannot read %s: %s", root, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		xrdp_proc *slot;
		char *end;
		long pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		errno = 0;
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || errno != 0 || pid <= 0 || pid > INT_MAX)
			continue;
		if (!read_stat(root, (pid_t)pid, &p))
			continue;      /* gone meanwhile */
		if ((slot = proctab_add(t)) == NULL) {
			closedir(d);
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory reading %s", root);
		}
		*slot = p;
	}
	closedir(d);
	return WBEM_S_NO_ERROR;
}

const xrdp_proc *xrdp_proctab_get(const xrdp_proctab *t, pid_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].pid == pid)
			return &t->v[i];
	return NULL;
}

bool xrdp_proc_is_main(const xrdp_proctab *t, const xrdp_proc *p, const char *comm)
{
	const xrdp_proc *parent;

	if (strcmp(p->comm, comm) != 0 || p->state == 'Z' || p->state == 'X')
		return false;
	parent = xrdp_proctab_get(t, p->ppid);
	return parent == NULL || strcmp(parent->comm, comm) != 0;
}

/* A candidate session process: live, named xrdp-sesman, running as root.
 * session_children then requires its X server. */
static bool is_session(const char *root, const xrdp_proc *p)
{
	char buf[1024], state;
	uid_t uid;

	if (strcmp(p->comm, "xrdp-sesman") != 0 || p->state == 'Z' || p->state == 'X')
		return false;
	return rdms_proc_read(root, p->pid, "status", buf, sizeof buf) > 0 &&
	    rdms_proc_parse_status(buf, &state, &uid, NULL) == WBEM_S_NO_ERROR && uid == 0;
}

bool xrdp_is_session_process(const char *root, pid_t pid)
{
	xrdp_proc p;

	return pid > 0 && read_stat(root, pid, &p) && is_session(root, &p);
}

/* The account name of UID, or the number when it has none. */
static void user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res != NULL)
		str_copy(buf, size, pw.pw_name);
	else
		snprintf(buf, size, "%lu", (unsigned long)uid);
}

/* Fills S from the children of session process SID; false without an X server. */
static bool session_children(const char *root, const xrdp_proctab *t, pid_t sid,
                             rdms_session *s)
{
	char buf[4096], state;
	ssize_t len;

	s->server_pid = s->wm_pid = 0;
	for (size_t i = 0; i < t->n; i++) {
		const xrdp_proc *c = &t->v[i];

		if (c->ppid != sid || c->state == 'Z' || c->state == 'X')
			continue;
		if (strcmp(c->comm, "Xorg") == 0 || strcmp(c->comm, "Xvnc") == 0) {
			if (s->server_pid == 0) {
				s->server_pid = c->pid;
				str_copy(s->kind, sizeof s->kind, c->comm);
			}
		} else if (strcmp(c->comm, "xrdp-chansrv") != 0 && s->wm_pid == 0) {
			s->wm_pid = c->pid;
		}
	}
	if (s->server_pid == 0)
		return false;
	len = rdms_proc_read(root, s->server_pid, "cmdline", buf, sizeof buf);
	s->display = len > 0 ? rdms_cmdline_display(buf, (size_t)len) : -1;
	if (s->display < 0)
		return false;
	if (rdms_proc_read(root, s->server_pid, "status", buf, sizeof buf) <= 0 ||
	    rdms_proc_parse_status(buf, &state, &s->uid, NULL) != WBEM_S_NO_ERROR ||
	    state == 'Z')
		return false;
	return true;
}

uint32_t xrdp_scan_sessions(const char *root, const xrdp_proctab *t, uint32_t only,
                            rdms_session_list *out, rdms_error *err)
{
	for (size_t i = 0; i < t->n; i++) {
		const xrdp_proc *p = &t->v[i];
		rdms_session tmp, *s;

		if ((only != 0 && (uint32_t)p->pid != only) || !is_session(root, p))
			continue;
		memset(&tmp, 0, sizeof tmp);
		if (!session_children(root, t, p->pid, &tmp))
			continue;    /* starting or ending: no X server to act on */
		tmp.id = (uint32_t)p->pid;
		tmp.connect_state = WTS_DISCONNECTED;
		user_name(tmp.uid, tmp.user, sizeof tmp.user);
		tmp.backend = &rdms_backend_xrdp;
		if ((s = rdms_session_list_add(out)) == NULL)
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory listing sessions");
		*s = tmp;
	}
	return WBEM_S_NO_ERROR;
}

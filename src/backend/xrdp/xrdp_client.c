/*
 * xrdp_client.c -- ClientMachineName: the name the RDP client gave, which
 * xrdp 0.9 only writes to its log (backends.md §3.3):
 *
 *   [20261125-09:50:26] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 59790
 *   [20261125-09:50:26] [INFO ] Connected client computer name: E2ECLIENT1
 *   [20261125-09:50:27] [INFO ] lib_mod_log_peer: xrdp_pid=6722 connected to
 *       X11rdp_pid=6737 X11rdp_uid=1001 X11rdp_gid=1001 client_ip=127.0.0.1 client_port=59790
 *
 * The lines carry no pid, and two handshakes at the same moment interleave,
 * so names are paired with connections in order: the first name after a
 * connection belongs to the oldest connection still waiting for one.  A
 * session's connection is known by its client address and port (from the
 * serving xrdp child's socket), so the pairing is looked up by ADDR:PORT;
 * ports are reused, hence the LAST pairing for a port wins.  When the log
 * has nothing for a connection the client's address stands in.
 *
 * Only the tail of the log is read (XRDP_LOG_TAIL bytes), and only when a
 * session is connected, so enumerate stays cheap however old the log is.
 */
#include "xrdp_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../common/array.h"
#include "../../common/file_read.h"
#include "../../common/strutil.h"
#include "../../common/utf8.h"

/* A name logged more than this long after its connection pairs with nothing. */
#define PAIR_WINDOW_S 60

void xrdp_log_free(xrdp_log_info *li)
{
	free(li->names);
	free(li->peers);
	memset(li, 0, sizeof *li);
}

/* "[20261125-09:50:26]" at the start of LINE -> seconds, or -1.  Parsed by
 * position: xrdp writes the stamp with fixed widths. */
static long long line_time(const char *line)
{
	struct tm tm;
	int y, mo, d, h, mi, s;
	const char *p = line;

	if (!str_take_char(&p, '[') || !str_take_digits(&p, 4, &y) ||
	    !str_take_digits(&p, 2, &mo) || !str_take_digits(&p, 2, &d) ||
	    !str_take_char(&p, '-') || !str_take_digits(&p, 2, &h) || !str_take_char(&p, ':') ||
	    !str_take_digits(&p, 2, &mi) || !str_take_char(&p, ':') || !str_take_digits(&p, 2, &s))
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (long long)timegm(&tm);
}

/* Copies the address token at P; "::ffff:1.2.3.4" becomes "1.2.3.4". */
static bool take_addr(const char *p, size_t n, char *buf, size_t size)
{
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)p[i]) && p[i] != '.' && p[i] != ':')
			return false;
	if (n > 7 && strncasecmp(p, "::ffff:", 7) == 0 && memchr(p + 7, '.', n - 7) != NULL) {
		p += 7;
		n -= 7;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

static bool take_uint(const char *p, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*p))
		return false;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || v > max || (*end != '\0' && *end != ' ' && *end != '\r' && *end != '\n'))
		return false;
	*out = (unsigned)v;
	return true;
}

/* Pending connections, oldest first. */
typedef struct pending {
	char      addr[48];
	unsigned  port;
	long long when;
} pending;

typedef struct scan {
	xrdp_log_info *out;
	pending       *q;
	size_t         head, n, cap;
	bool           oom;
} scan;

static void on_connection(scan *sc, const char *p, long long when)
{
	/* "... connection received from ADDR port PORT" */
	const char *sp = strstr(p, " port ");
	pending c;

	if (sp == NULL || !take_addr(p, (size_t)(sp - p), c.addr, sizeof c.addr) ||
	    !take_uint(sp + 6, 65535, &c.port))
		return;
	c.when = when;
	if (!array_reserve(&sc->q, sc->n, &sc->cap, sizeof *sc->q, 32)) {
		sc->oom = true;
		return;
	}
	sc->q[sc->n++] = c;
}

static void on_name(scan *sc, const char *p, long long when)
{
	xrdp_log_name *nm;
	size_t len = strcspn(p, "\r\n");
	const pending *c;

	while (sc->head < sc->n && when >= 0 && sc->q[sc->head].when >= 0 &&
	    when - sc->q[sc->head].when > PAIR_WINDOW_S)
		sc->head++;           /* a connection that never sent a name */
	if (sc->head == sc->n)
		return;
	c = &sc->q[sc->head++];
	while (len > 0 && p[len - 1] == ' ')
		len--;
	if (len == 0)
		return;
	if (!array_reserve(&sc->out->names, sc->out->nnames, &sc->out->capnames,
	                   sizeof *sc->out->names, 32)) {
		sc->oom = true;
		return;
	}
	nm = &sc->out->names[sc->out->nnames++];
	str_copy(nm->addr, sizeof nm->addr, c->addr);
	nm->port = c->port;
	if (len >= sizeof nm->name)
		len = utf8_cut(p, sizeof nm->name - 1);   /* not inside a character */
	for (size_t i = 0; i < len; i++)    /* a log is not trusted text */
		nm->name[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	nm->name[len] = '\0';
}

/* Finds "KEY=" in P and returns the value's start, or NULL. */
static const char *field(const char *p, const char *key)
{
	const char *f = strstr(p, key);

	return f != NULL ? f + strlen(key) : NULL;
}

static void on_peer(scan *sc, const char *p)
{
	const char *xp = field(p, "xrdp_pid="), *xs = field(p, "X11rdp_pid=");
	const char *ip = field(p, "client_ip="), *cp = field(p, "client_port=");
	xrdp_log_peer pe;
	unsigned a, b;

	if (xp == NULL || xs == NULL || ip == NULL || cp == NULL)
		return;
	if (!take_uint(xp, 0x7fffffff, &a) || !take_uint(xs, 0x7fffffff, &b) || a == 0 || b == 0 ||
	    !take_addr(ip, strcspn(ip, " \r\n"), pe.addr, sizeof pe.addr))
		return;
	if (!take_uint(cp, 65535, &pe.port))
		return;
	pe.xrdp_pid = (pid_t)a;
	pe.x_pid = (pid_t)b;
	if (!array_reserve(&sc->out->peers, sc->out->npeers, &sc->out->cappeers,
	                   sizeof *sc->out->peers, 16)) {
		sc->oom = true;
		return;
	}
	sc->out->peers[sc->out->npeers++] = pe;
}

static void scan_line(scan *sc, const char *line)
{
	static const char conn[] = "connection received from ";
	static const char name[] = "Connected client computer name: ";
	long long when = line_time(line);
	const char *p;

	if ((p = strstr(line, conn)) != NULL)
		on_connection(sc, p + sizeof conn - 1, when);
	else if ((p = strstr(line, name)) != NULL)
		on_name(sc, p + sizeof name - 1, when);
	else if (strstr(line, "lib_mod_log_peer: ") != NULL)
		on_peer(sc, line);
}

uint32_t xrdp_log_scan(const char *text, size_t len, xrdp_log_info *out,
                       rdms_error *err)
{
	scan sc = { .out = out };
	char line[1024];
	size_t pos = 0;

	while (pos < len && !sc.oom) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - text - pos) : len - pos;

		/* over-long lines are not ours; NULs make the rest of a line invisible */
		if (n < sizeof line) {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			scan_line(&sc, line);
		}
		pos += n + 1;
	}
	free(sc.q);
	if (sc.oom)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory scanning the xrdp log");
	return WBEM_S_NO_ERROR;
}

const char *xrdp_log_name_for(const xrdp_log_info *li, const char *addr,
                              unsigned port)
{
	for (size_t i = li->nnames; i-- > 0;)
		if (li->names[i].port == port && strcmp(li->names[i].addr, addr) == 0)
			return li->names[i].name;
	return NULL;
}

uint32_t xrdp_log_read(const char *path, size_t max, xrdp_log_info *out,
                       rdms_error *err)
{
	struct stat st;
	off_t start = 0;
	size_t len, skip = 0;
	char *buf;
	uint32_t rc;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return rdms_fail(err, WBEM_E_FAILED, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rdms_fail(err, WBEM_E_FAILED, "%s is not a regular file", path);
	}
	if ((size_t)st.st_size > max)
		start = st.st_size - (off_t)max;
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory reading %s", path);
	}
	len = fd_read_upto(fd, buf, max, start);
	close(fd);
	if (start > 0) {        /* begin at a whole line */
		const char *nl = memchr(buf, '\n', len);

		skip = nl != NULL ? (size_t)(nl - buf) + 1 : len;
	}
	rc = xrdp_log_scan(buf + skip, len - skip, out, err);
	free(buf);
	return rc;
}

/* The xrdp child that lib_mod_log_peer says serves X server XPID, if still so. */
static const xrdp_log_peer *logged_peer(const xrdp_proctab *t, const xrdp_log_info *li,
                                        pid_t xpid)
{
	for (size_t i = li->npeers; i-- > 0;) {
		const xrdp_log_peer *pe = &li->peers[i];
		const xrdp_proc *c, *parent;

		if (pe->x_pid != xpid)
			continue;
		c = xrdp_proctab_get(t, pe->xrdp_pid);
		parent = c != NULL ? xrdp_proctab_get(t, c->ppid) : NULL;
		if (c == NULL || parent == NULL || strcmp(c->comm, "xrdp") != 0 ||
		    c->state == 'Z' || !xrdp_proc_is_main(t, parent, "xrdp"))
			return NULL;    /* the latest link is stale: trust nothing older */
		return pe;
	}
	return NULL;
}

void xrdp_client_fill(const rdms_config *cfg, const xrdp_proctab *t,
                      rdms_session_list *l, size_t first, xrdp_conn *conns)
{
	xrdp_log_info li = { 0 };
	char log_path[PATH_MAX];
	bool any = false, have_log;

	for (size_t i = first; i < l->count; i++) {
		l->items[i].client[0] = '\0';
		l->items[i].client_addr[0] = '\0';
		any |= l->items[i].connect_state == WTS_ACTIVE;
	}
	if (!any)
		return;
	xrdp_log_path(cfg, t, log_path, sizeof log_path);
	have_log = xrdp_log_read(log_path, XRDP_LOG_TAIL, &li, NULL) == WBEM_S_NO_ERROR;
	for (size_t i = first; i < l->count; i++) {
		rdms_session *s = &l->items[i];
		xrdp_conn *c = &conns[i - first];
		const char *name;

		if (s->connect_state != WTS_ACTIVE)
			continue;
		if (have_log && s->conn_pid == 0 && strcmp(s->kind, "Xorg") == 0) {
			const xrdp_log_peer *pe = logged_peer(t, &li, s->server_pid);

			if (pe != NULL) {
				s->conn_pid = pe->xrdp_pid;
				str_copy(c->addr, sizeof c->addr, pe->addr);
				c->port = pe->port;
			}
		}
		if (c->addr[0] == '\0')
			continue;
		str_copy(s->client_addr, sizeof s->client_addr, c->addr);
		name = have_log ? xrdp_log_name_for(&li, c->addr, c->port) : NULL;
		str_copy(s->client, sizeof s->client, name != NULL ? name : c->addr);
	}
	xrdp_log_free(&li);
}

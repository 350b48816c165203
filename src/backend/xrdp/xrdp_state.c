/*
 * xrdp_state.c -- is an xrdp connection attached to a session, which xrdp
 * process serves it, and where is its client?  (backends.md §3.3)
 *
 * Xorg back-end: xorgxrdp listens on SOCKDIR/xrdp_display_N.  While an
 * xrdp connection process is attached, /proc/net/unix holds a second,
 * connected (St 03) entry with that path: Xorg's end of the connection.
 * The other end belongs to the xrdp child; /proc/net/unix does not name
 * peers, so one sock_diag request (UNIX_DIAG_PEER) for that inode gives
 * the peer inode, and the xrdp children's fds tell whose it is.
 *
 * Xvnc back-end: an ESTABLISHED TCP socket with local port 5900+N (or the
 * -rfbport given) in /proc/net/tcp or tcp6 (P9).  Its remote port is the
 * local port of xrdp's end, whose inode again names the xrdp child.
 *
 * The client's address is the peer of the xrdp child's socket on a port
 * the main xrdp process listens on.  Only the main xrdp's children are
 * looked at, so the fd scan costs a few dozen readlinks, not the whole
 * system's.
 */
#include "xrdp_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../common/array.h"
#include "../../common/file_read.h"
#include "../../common/strutil.h"

/* ---- parsers ------------------------------------------------------------ */

/* Reads a hex number of at most MAXDIG digits ending at a char in ENDS. */
static const char *hex_field(const char *p, int maxdig, const char *ends,
                             unsigned long *out)
{
	unsigned long v = 0;
	int n = 0;

	for (; isxdigit((unsigned char)*p); p++, n++) {
		if (n == maxdig)
			return NULL;
		v = v * 16 + (unsigned long)(isdigit((unsigned char)*p) ? *p - '0' :
		    (tolower((unsigned char)*p) - 'a' + 10));
	}
	if (n == 0 || strchr(ends, *p) == NULL || *p == '\0')
		return NULL;
	*out = v;
	return p;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

uint32_t xrdp_parse_unix_line(const char *line, xrdp_unix_ent *e, rdms_error *err)
{
	static const char *const what[] = { "refcount", "protocol", "flags", "type", "state" };
	static const int digits[] = { 8, 8, 8, 4, 2 };
	unsigned long v[5], ino;
	const char *p = skip_blanks(line);
	char *end;
	size_t n;

	e->st = 0;      /* no state until the line parses: callers test it first */
	if ((p = hex_field(p, 16, ":", &ino)) == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "net/unix: bad slot address at column 1");
	p++;
	for (int i = 0; i < 5; i++) {
		const char *start = skip_blanks(p);

		if ((p = hex_field(start, digits[i], " \t", &v[i])) == NULL)
			return rdms_fail(err, WBEM_E_FAILED, "net/unix: bad %s at column %zu",
			    what[i], (size_t)(start - line) + 1);
	}
	p = skip_blanks(p);
	errno = 0;
	ino = strtoul(p, &end, 10);
	if (end == p || errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
		return rdms_fail(err, WBEM_E_FAILED, "net/unix: bad inode at column %zu",
		    (size_t)(p - line) + 1);
	p = *end == ' ' ? end + 1 : end;
	n = strcspn(p, "\n");
	if (n >= sizeof e->path)
		return rdms_fail(err, WBEM_E_FAILED, "net/unix: path longer than %zu bytes",
		    sizeof e->path - 1);
	e->inode = ino;
	e->flags = (unsigned)v[2];
	e->type = (unsigned)v[3];
	e->st = (unsigned)v[4];
	memcpy(e->path, p, n);
	e->path[n] = '\0';
	return WBEM_S_NO_ERROR;
}

/* "0100007F:0D3D" (v4) or 32 hex digits ":" port (v6) -> printable + port. */
static const char *tcp_addr(const char *p, bool v6, char *buf, size_t size,
                            unsigned *port)
{
	unsigned long w[4], pt;
	struct in6_addr a6;
	struct in_addr a4;

	p = skip_blanks(p);
	if (v6) {
		for (int i = 0; i < 4; i++) {
			char grp[9];

			for (int k = 0; k < 8; k++) {
				if (!isxdigit((unsigned char)p[k]))
					return NULL;
				grp[k] = p[k];
			}
			grp[8] = '\0';
			w[i] = strtoul(grp, NULL, 16);
			p += 8;
		}
		if (*p != ':')
			return NULL;
		for (int i = 0; i < 4; i++)
			a6.s6_addr32[i] = (uint32_t)w[i];    /* the kernel prints host-order words */
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			a4.s_addr = a6.s6_addr32[3];
			inet_ntop(AF_INET, &a4, buf, (socklen_t)size);
		} else {
			inet_ntop(AF_INET6, &a6, buf, (socklen_t)size);
		}
	} else {
		if ((p = hex_field(p, 8, ":", &w[0])) == NULL)
			return NULL;
		a4.s_addr = (uint32_t)w[0];
		inet_ntop(AF_INET, &a4, buf, (socklen_t)size);
	}
	if ((p = hex_field(p + 1, 4, " \t", &pt)) == NULL)
		return NULL;
	*port = (unsigned)pt;
	return p;
}

uint32_t xrdp_parse_tcp_line(const char *line, bool v6, xrdp_tcp_ent *e,
                             rdms_error *err)
{
	const char *p = skip_blanks(line), *q;
	unsigned long st, ino;
	char *end;

	e->st = 0;      /* no TCP state until the line parses: callers test it first */
	errno = 0;
	(void)strtoul(p, &end, 10);
	if (end == p || *end != ':')
		return rdms_fail(err, WBEM_E_FAILED, "net/tcp: bad slot number at column %zu",
		    (size_t)(p - line) + 1);
	q = end + 1;
	if ((p = tcp_addr(q, v6, e->laddr, sizeof e->laddr, &e->lport)) == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "net/tcp: bad local address at column %zu",
		    (size_t)(skip_blanks(q) - line) + 1);
	q = p;
	if ((p = tcp_addr(q, v6, e->raddr, sizeof e->raddr, &e->rport)) == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "net/tcp: bad remote address at column %zu",
		    (size_t)(skip_blanks(q) - line) + 1);
	q = skip_blanks(p);
	if ((p = hex_field(q, 2, " \t", &st)) == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "net/tcp: bad state at column %zu",
		    (size_t)(q - line) + 1);
	/* skip tx:rx, tr:when, retrnsmt, uid, timeout; then the inode */
	for (int i = 0; i < 5; i++) {
		p = skip_blanks(p);
		if (*p == '\0' || *p == '\n')
			return rdms_fail(err, WBEM_E_FAILED, "net/tcp: line ends before the inode");
		p += strcspn(p, " \t\n");
	}
	p = skip_blanks(p);
	errno = 0;
	ino = strtoul(p, &end, 10);
	if (end == p || errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
		return rdms_fail(err, WBEM_E_FAILED, "net/tcp: bad inode at column %zu",
		    (size_t)(p - line) + 1);
	e->st = (unsigned)st;
	e->inode = ino;
	return WBEM_S_NO_ERROR;
}

/* ---- tables ------------------------------------------------------------- */

/* Reads all of PATH into a new buffer (caller frees); NULL when unreadable. */
static char *read_all(const char *path, size_t *lenp)
{
	size_t cap = 16384, len = 0;
	size_t want, got;
	char *buf = malloc(cap), *nb;
	int fd;

	if (buf == NULL)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if ((nb = realloc(buf, cap * 2)) == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		want = cap - 1 - len;
		got = fd_read_upto(fd, buf + len, want, -1);
		len += got;
		if (got < want)
			break;      /* the end of the file, or an error */
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

void xrdp_tcp_free(xrdp_tcp_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

static bool tcp_add(xrdp_tcp_table *t, const xrdp_tcp_ent *e)
{
	if (!array_reserve(&t->v, t->n, &t->cap, sizeof *t->v, 64))
		return false;
	t->v[t->n++] = *e;
	return true;
}

static uint32_t tcp_read_one(const char *path, bool v6, xrdp_tcp_table *t,
                             rdms_error *err)
{
	size_t len;
	char *buf = read_all(path, &len), *line, *save = NULL;
	xrdp_tcp_ent e;

	if (buf == NULL)
		return WBEM_S_NO_ERROR;     /* no IPv6, say */
	(void)strtok_r(buf, "\n", &save);     /* skips the header */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		if (xrdp_parse_tcp_line(line, v6, &e, NULL) != WBEM_S_NO_ERROR)
			continue;
		if (e.st != XRDP_TCP_ESTABLISHED && e.st != XRDP_TCP_LISTEN &&
		    e.st != XRDP_TCP_CLOSE_WAIT)
			continue;
		if (!tcp_add(t, &e)) {
			free(buf);
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory reading %s", path);
		}
	}
	free(buf);
	return WBEM_S_NO_ERROR;
}

uint32_t xrdp_tcp_read(const char *root, xrdp_tcp_table *t, rdms_error *err)
{
	char path[PATH_MAX];
	uint32_t rc;

	snprintf(path, sizeof path, "%s/net/tcp", root);
	if ((rc = tcp_read_one(path, false, t, err)) != WBEM_S_NO_ERROR)
		return rc;
	snprintf(path, sizeof path, "%s/net/tcp6", root);
	return tcp_read_one(path, true, t, err);
}

/* Calls FN(ent, ctx) for each parsable line of ROOT/net/unix; false if unreadable. */
static bool unix_each(const char *root, void (*fn)(const xrdp_unix_ent *, void *),
                      void *ctx)
{
	char path[PATH_MAX], *buf, *line, *save = NULL;
	xrdp_unix_ent e;
	size_t len;

	snprintf(path, sizeof path, "%s/net/unix", root);
	if ((buf = read_all(path, &len)) == NULL)
		return false;
	(void)strtok_r(buf, "\n", &save);     /* skips the header */
	while ((line = strtok_r(NULL, "\n", &save)) != NULL)
		if (xrdp_parse_unix_line(line, &e, NULL) == WBEM_S_NO_ERROR)
			fn(&e, ctx);
	free(buf);
	return true;
}

/* ---- which process owns a socket ---------------------------------------- */

typedef struct fd_owner {
	pid_t          pid;
	unsigned long *inodes;
	size_t         n, cap;
} fd_owner;

static bool owner_add(fd_owner *o, unsigned long ino)
{
	if (!array_reserve(&o->inodes, o->n, &o->cap, sizeof *o->inodes, 16))
		return false;
	o->inodes[o->n++] = ino;
	return true;
}

/* The socket inodes among ROOT/PID/fd. */
static void fd_sockets(const char *root, fd_owner *o)
{
	char path[PATH_MAX], link[64];
	struct dirent *de;
	DIR *d;
	int dfd;

	snprintf(path, sizeof path, "%s/%d/fd", root, (int)o->pid);
	if ((d = opendir(path)) == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		ssize_t n = readlinkat(dfd, de->d_name, link, sizeof link - 1);
		unsigned long ino;

		if (n <= 8 || strncmp(link, "socket:[", 8) != 0)
			continue;
		link[n] = '\0';
		ino = strtoul(link + 8, NULL, 10);
		if (!owner_add(o, ino))
			break;
	}
	closedir(d);
}

static bool owns(const fd_owner *o, unsigned long ino)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->inodes[i] == ino)
			return true;
	return false;
}

/* An AF_INET/AF_INET6 address as tcp_addr prints it (v4-mapped as v4). */
static void sockaddr_text(const struct sockaddr_storage *ss, char *buf, size_t size,
                          unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)size);
		*port = ntohs(a->sin_port);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		struct in_addr a4;

		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			memcpy(&a4, &a->sin6_addr.s6_addr[12], sizeof a4);
			inet_ntop(AF_INET, &a4, buf, (socklen_t)size);
		} else {
			inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)size);
		}
		*port = ntohs(a->sin6_port);
	}
}

/*
 * The fast route, for root on the live system: a copy of each of the xrdp
 * process's descriptors (pidfd_getfd, Linux 5.6) tells its inode and, for
 * TCP, both addresses, with no walk of the kernel's whole TCP hash -- which
 * is what reading /proc/net/tcp costs (5 ms each, tcp and tcp6, on a large
 * host).  The copies are closed at once; holding one for microseconds does
 * nothing to xrdp.  Returns false when the route is closed (not root, an
 * old kernel, a seccomp policy): the caller then reads the tables.
 */
static bool fd_sockets_pidfd(const char *root, fd_owner *o, xrdp_tcp_table *tt)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int pfd;
	bool ok = true;

	if ((pfd = (int)pidfd_open(o->pid, 0)) < 0)
		return errno == ESRCH;      /* gone: nothing to see, not a failure */
	snprintf(path, sizeof path, "%s/%d/fd", root, (int)o->pid);
	if ((d = opendir(path)) == NULL) {
		close(pfd);
		return errno == ENOENT;
	}
	while (ok && (de = readdir(d)) != NULL) {
		struct sockaddr_storage la, ra;
		socklen_t ll = sizeof la, rl = sizeof ra, ol = sizeof(int);
		int fd, dom = 0, proto = 0, listening = 0;
		xrdp_tcp_ent e;
		struct stat st;
		char *end;
		long target;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		errno = 0;
		target = strtol(de->d_name, &end, 10);
		if (*end != '\0' || errno != 0 || target > INT_MAX)
			continue;
		if ((fd = pidfd_getfd(pfd, (int)target, 0)) < 0) {
			ok = errno == EBADF;        /* closed meanwhile */
			continue;
		}
		if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
			close(fd);
			continue;
		}
		ok = owner_add(o, (unsigned long)st.st_ino);
		getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &ol);
		ol = sizeof(int);
		getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &ol);
		ol = sizeof(int);
		getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol);
		memset(&e, 0, sizeof e);
		/* the analyzer cannot see getsockname/getpeername fill these */
		memset(&la, 0, sizeof la);
		memset(&ra, 0, sizeof ra);
		if ((dom == AF_INET || dom == AF_INET6) && proto == IPPROTO_TCP &&
		    getsockname(fd, (struct sockaddr *)&la, &ll) == 0 &&
		    (listening || getpeername(fd, (struct sockaddr *)&ra, &rl) == 0)) {
			struct tcp_info ti;
			socklen_t tl = sizeof ti;

			sockaddr_text(&la, e.laddr, sizeof e.laddr, &e.lport);
			if (!listening)
				sockaddr_text(&ra, e.raddr, sizeof e.raddr, &e.rport);
			memset(&ti, 0, sizeof ti);
			/* the client gone while xrdp has not noticed yet: CLOSE_WAIT */
			e.st = listening ? XRDP_TCP_LISTEN :
			       getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
			       ti.tcpi_state == TCP_CLOSE_WAIT ? XRDP_TCP_CLOSE_WAIT : XRDP_TCP_ESTABLISHED;
			e.inode = (unsigned long)st.st_ino;
			ok = ok && tcp_add(tt, &e);
		}
		close(fd);
	}
	closedir(d);
	close(pfd);
	return ok;
}

/* The peer of unix socket INO from sock_diag, or 0.  NLFD: a NETLINK_SOCK_DIAG socket. */
/*
 * The inode of the peer of Unix socket INO, by sock_diag; 0 when unknown.
 * *RELEASED is set when the kernel names a peer that has no inode any
 * more: the other end was closed (its process ended) and this end has not
 * been closed yet.
 */
static unsigned long unix_peer(int nlfd, unsigned long ino, bool *released)
{
	struct {
		struct nlmsghdr    nlh;
		struct unix_diag_req req;
	} msg;
	union {
		char            buf[1024];
		struct nlmsghdr align;
	} rsp;
	struct nlmsghdr *h = &rsp.align;
	struct rtattr *a;
	ssize_t n;
	int len;

	memset(&msg, 0, sizeof msg);
	msg.nlh.nlmsg_len = sizeof msg;
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.req.sdiag_family = AF_UNIX;
	msg.req.udiag_states = ~0u;
	msg.req.udiag_ino = (uint32_t)ino;
	msg.req.udiag_show = UDIAG_SHOW_PEER;
	msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (send(nlfd, &msg, sizeof msg, 0) != (ssize_t)sizeof msg)
		return 0;
	do
		n = recv(nlfd, rsp.buf, sizeof rsp.buf, 0);
	while (n < 0 && errno == EINTR);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct unix_diag_msg)) ||
	    !NLMSG_OK(h, (unsigned)n) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return 0;
	len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(struct unix_diag_msg));
	a = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct unix_diag_msg)));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
			uint32_t peer;

			memcpy(&peer, RTA_DATA(a), sizeof peer);
			*released = peer == 0;
			return peer;
		}
	return 0;
}

static int diag_socket(void)
{
	struct timeval tv = { 0, 200000 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

/* ---- the detectors ------------------------------------------------------ */

/* Per session, what the detectors found. */
typedef struct found {
	unsigned long x_inode;     /* Xorg's end (Xorg) */
	unsigned long xrdp_inode;  /* xrdp's end (Xvnc) */
	unsigned      vnc_port;
} found;

struct unix_ctx {
	const rdms_config *cfg;
	rdms_session_list *l;
	size_t             first;
	found             *f;
	size_t             plen;     /* strlen(sockdir "/xrdp_display_") */
	char               prefix[300];
};

static void unix_match(const xrdp_unix_ent *e, void *vctx)
{
	struct unix_ctx *c = vctx;
	const char *num;
	char *end;
	long n;

	if (e->st != 3 || strncmp(e->path, c->prefix, c->plen) != 0)
		return;
	num = e->path + c->plen;
	n = strtol(num, &end, 10);
	if (end == num || *end != '\0' || n < 0)
		return;
	for (size_t i = c->first; i < c->l->count; i++) {
		rdms_session *s = &c->l->items[i];

		if (s->display == n && strcmp(s->kind, "Xorg") == 0) {
			s->connect_state = WTS_ACTIVE;
			c->f[i - c->first].x_inode = e->inode;
		}
	}
}

static unsigned vnc_port(const rdms_config *cfg, const rdms_session *s)
{
	char buf[4096];
	ssize_t len = rdms_proc_read(cfg->proc_root, s->server_pid, "cmdline", buf, sizeof buf);
	int p = len > 0 ? xrdp_cmdline_rfbport(buf, (size_t)len) : -1;

	return p > 0 ? (unsigned)p : 5900u + (unsigned)s->display;
}

/* Xvnc: ESTABLISHED on the VNC port; xrdp's end is the mirror entry, or
 * the entry itself when it is the connecting side. */
static void tcp_match(const xrdp_tcp_table *tt, rdms_session *s, found *f)
{
	for (size_t k = 0; k < tt->n; k++) {
		const xrdp_tcp_ent *e = &tt->v[k];

		if (e->st != XRDP_TCP_ESTABLISHED)
			continue;
		if (e->rport == f->vnc_port && e->lport != f->vnc_port) {
			/* xrdp's end (all the pidfd route sees) */
			s->connect_state = WTS_ACTIVE;
			f->xrdp_inode = e->inode;
			return;
		}
		if (e->lport != f->vnc_port)
			continue;
		s->connect_state = WTS_ACTIVE;
		for (size_t j = 0; j < tt->n; j++) {
			const xrdp_tcp_ent *m = &tt->v[j];

			if (m->st == XRDP_TCP_ESTABLISHED && m->lport == e->rport &&
			    m->rport == e->lport && strcmp(m->laddr, e->raddr) == 0)
				f->xrdp_inode = m->inode;
		}
		return;
	}
}

/* The main xrdp processes and their children, with their socket inodes. */
typedef struct owners {
	fd_owner *v;
	size_t    n;
	size_t    nmain;     /* v[0..nmain) are main processes */
} owners;

static void owners_free(owners *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].inodes);
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

/*
 * Reads the xrdp processes' sockets.  With TT non-NULL it tries the pidfd
 * route and fills TT with their TCP sockets; *FAST tells whether it could.
 */
static uint32_t owners_read(const char *root, const xrdp_proctab *t, owners *o,
                            xrdp_tcp_table *tt, bool *fast, rdms_error *err)
{
	size_t cap = 0;

	*fast = tt != NULL;

	memset(o, 0, sizeof *o);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < t->n; i++) {
			const xrdp_proc *p = &t->v[i];
			const xrdp_proc *parent = xrdp_proctab_get(t, p->ppid);
			bool is_main = xrdp_proc_is_main(t, p, "xrdp");
			bool is_child = !is_main && strcmp(p->comm, "xrdp") == 0 && p->state != 'Z' &&
			    parent != NULL && xrdp_proc_is_main(t, parent, "xrdp");

			if (pass == 0 ? !is_main : !is_child)
				continue;
			if (!array_reserve(&o->v, o->n, &cap, sizeof *o->v, 8))
				return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
			memset(&o->v[o->n], 0, sizeof o->v[o->n]);
			o->v[o->n].pid = p->pid;
			if (*fast && !fd_sockets_pidfd(root, &o->v[o->n], tt))
				*fast = false;
			if (!*fast)
				fd_sockets(root, &o->v[o->n]);
			o->n++;
		}
		if (pass == 0)
			o->nmain = o->n;
	}
	return WBEM_S_NO_ERROR;
}

/* The xrdp child owning socket INO, or NULL. */
static const fd_owner *child_owning(const owners *o, unsigned long ino)
{
	for (size_t i = o->nmain; ino != 0 && i < o->n; i++)
		if (owns(&o->v[i], ino))
			return &o->v[i];
	return NULL;
}

/* True when a main xrdp process listens on PORT (3389 when none is known). */
static bool listen_port(const owners *o, const xrdp_tcp_table *tt, unsigned port)
{
	bool any = false;

	for (size_t k = 0; k < tt->n; k++) {
		if (tt->v[k].st != XRDP_TCP_LISTEN)
			continue;
		for (size_t i = 0; i < o->nmain; i++) {
			if (owns(&o->v[i], tt->v[k].inode)) {
				any = true;
				if (tt->v[k].lport == port)
					return true;
			}
		}
	}
	return !any && port == 3389;
}

/*
 * The client end of child C's RDP connection; false when the client has
 * gone (its connection is in CLOSE_WAIT: the client closed it and xrdp,
 * which takes about 2 s to notice, has not yet).
 */
static bool client_addr(const owners *o, const xrdp_tcp_table *tt, const fd_owner *c,
                        xrdp_conn *conn)
{
	bool gone = false;

	for (size_t k = 0; k < tt->n; k++) {
		const xrdp_tcp_ent *e = &tt->v[k];

		if (!owns(c, e->inode) || !listen_port(o, tt, e->lport))
			continue;
		if (e->st == XRDP_TCP_ESTABLISHED) {
			str_copy(conn->addr, sizeof conn->addr, e->raddr);
			conn->port = e->rport;
			return true;
		}
		gone |= e->st == XRDP_TCP_CLOSE_WAIT;
	}
	return !gone;
}

/* For the attached sessions: the serving xrdp child and the client's address. */
static void find_owners(const owners *o, const xrdp_tcp_table *tt, rdms_session_list *l,
                        size_t first, const found *f, xrdp_conn *conns)
{
	int nlfd = -1;
	for (size_t i = first; i < l->count; i++) {
		rdms_session *s = &l->items[i];
		const found *fi = &f[i - first];
		unsigned long ino = fi->xrdp_inode;
		bool released = false;
		const fd_owner *c;

		if (s->connect_state != WTS_ACTIVE)
			continue;
		if (fi->x_inode != 0) {
			if (nlfd < 0)
				nlfd = diag_socket();
			ino = nlfd >= 0 ? unix_peer(nlfd, fi->x_inode, &released) : 0;
		}
		if ((c = child_owning(o, ino)) == NULL) {
			/*
			 * The X server's end of the connection outlives the xrdp child
			 * that held the other end (its client left) by about 2 s: a
			 * released peer, or one no live child holds, is no client.
			 */
			if (released || (ino != 0 && fi->x_inode != 0))
				s->connect_state = WTS_DISCONNECTED;
			continue;
		}
		if (!client_addr(o, tt, c, &conns[i - first])) {
			/* the client left: disconnected, whatever xrdp still holds */
			s->connect_state = WTS_DISCONNECTED;
			continue;
		}
		s->conn_pid = c->pid;
	}
	if (nlfd >= 0)
		close(nlfd);
}

uint32_t xrdp_state_fill(const rdms_config *cfg, const xrdp_proctab *t,
                         rdms_session_list *l, size_t first, xrdp_conn *conns,
                         rdms_error *err)
{
	size_t n = l->count - first;
	struct unix_ctx uc;
	xrdp_tcp_table tt = { 0 };
	bool any_xorg = false, any_active = false, fast = false;
	bool live = strcmp(cfg->proc_root, "/proc") == 0;
	owners o = { 0 };
	found *f;
	uint32_t rc = WBEM_S_NO_ERROR;

	if (n == 0)
		return WBEM_S_NO_ERROR;
	if ((f = calloc(n, sizeof *f)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	for (size_t i = first; i < l->count; i++) {
		l->items[i].connect_state = WTS_DISCONNECTED;
		l->items[i].conn_pid = 0;
		memset(&conns[i - first], 0, sizeof conns[i - first]);
		if (strcmp(l->items[i].kind, "Xorg") == 0)
			any_xorg = true;
		else
			f[i - first].vnc_port = vnc_port(cfg, &l->items[i]);
	}
	if (any_xorg) {
		memset(&uc, 0, sizeof uc);
		uc.cfg = cfg;
		uc.l = l;
		uc.first = first;
		uc.f = f;
		snprintf(uc.prefix, sizeof uc.prefix, "%s/xrdp_display_", cfg->xrdp_sockdir);
		uc.plen = strlen(uc.prefix);
		unix_each(cfg->proc_root, unix_match, &uc);
	}
	/*
	 * The TCP view serves the Xvnc state and every client address: the
	 * xrdp processes' own sockets when pidfd_getfd works (only on the real
	 * /proc), else the system's tables.
	 */
	if ((rc = owners_read(cfg->proc_root, t, &o, live ? &tt : NULL, &fast, err)) !=
	    WBEM_S_NO_ERROR)
		goto out;
	if (!fast) {
		tt.n = 0;
		if ((rc = xrdp_tcp_read(cfg->proc_root, &tt, err)) != WBEM_S_NO_ERROR)
			goto out;
	}
	for (size_t i = first; i < l->count; i++) {
		if (f[i - first].vnc_port != 0)
			tcp_match(&tt, &l->items[i], &f[i - first]);
		any_active |= l->items[i].connect_state == WTS_ACTIVE;
	}
	if (any_active)
		find_owners(&o, &tt, l, first, f, conns);
out:
	owners_free(&o);
	xrdp_tcp_free(&tt);
	free(f);
	return rc;
}

struct attached_ctx {
	char path[300];
	bool found;
};

static void attached_match(const xrdp_unix_ent *e, void *vctx)
{
	struct attached_ctx *c = vctx;

	if (e->st == 3 && strcmp(e->path, c->path) == 0)
		c->found = true;
}

bool xrdp_session_attached(const rdms_config *cfg, const rdms_session *s)
{
	xrdp_tcp_table tt = { 0 };
	found f = { 0 };
	rdms_session copy = *s;

	if (strcmp(s->kind, "Xorg") == 0) {
		struct attached_ctx c = { .found = false };

		snprintf(c.path, sizeof c.path, "%s/xrdp_display_%d", cfg->xrdp_sockdir, s->display);
		return unix_each(cfg->proc_root, attached_match, &c) && c.found;
	}
	f.vnc_port = vnc_port(cfg, s);
	copy.connect_state = WTS_DISCONNECTED;
	if (xrdp_tcp_read(cfg->proc_root, &tt, NULL) == WBEM_S_NO_ERROR)
		tcp_match(&tt, &copy, &f);
	xrdp_tcp_free(&tt);
	return copy.connect_state == WTS_ACTIVE;
}

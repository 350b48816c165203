/*
 * listen.c -- listening sockets (listen.h).
 *
 * The daemon opens its sockets itself rather than letting libmicrohttpd do
 * it: the errors can then name the listener and the address, they happen
 * in the privileged process before the network process starts, and the
 * sockets survive a restart of the network process on SIGHUP.
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/strutil.h"

/*
 * As long a queue as the kernel allows (it caps this at net.core.somaxconn,
 * 4096 by default): with 128, a thousand clients connecting at once had
 * hundreds of handshakes dropped and retried a second later (bench/soak.sh).
 */
#define BACKLOG SOMAXCONN

void sockaddr_host(const struct sockaddr *sa, char *buf, size_t size)
{
	const void *addr = NULL;
	int family = sa != NULL ? sa->sa_family : AF_UNSPEC;

	if (family == AF_INET) {
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		/* IPv4 clients of a dual-stack socket read better as IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			addr = &a6->s6_addr[12];
		} else {
			addr = a6;
		}
	}
	if (addr == NULL || inet_ntop(family, addr, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "%s", family == AF_UNIX ? "unix" : "unknown");
}

void sockaddr_text(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	bool v6;
	unsigned port;

	sockaddr_host(sa, host, sizeof host);
	if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		snprintf(buf, size, "%s", host);
		return;
	}
	v6 = strchr(host, ':') != NULL;
	port = ntohs(sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
	                                      : ((const struct sockaddr_in6 *)sa)->sin6_port);
	snprintf(buf, size, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* Socket, options, bind and listen for one resolved address. */
static int open_bound(const struct addrinfo *ai, int *err_no)
{
	int one = 1, zero = 0;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	                ai->ai_protocol);

	if (fd < 0) {
		*err_no = errno;
		return -1;
	}
	/* Restarts must not wait for TIME_WAIT connections of the last run. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* "::" serves IPv4 too, whatever net.ipv6.bindv6only says. */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, BACKLOG) != 0) {
		*err_no = errno;
		close(fd);
		return -1;
	}
	return fd;
}

int listen_tcp(const char *address, int port, bool *loopback, rdms_error *err)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char service[16], where[300];
	const char *host = address[0] != '\0' ? address : NULL;
	int fd = -1, err_no = 0, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof service, "%d", port);
	snprintf(where, sizeof where, "%s%s%s:%d", host != NULL && strchr(host, ':') ? "[" : "",
	         host != NULL ? host : "*", host != NULL && strchr(host, ':') ? "]" : "", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "%s: %s", where, gai_strerror(rc));
		return -1;
	}
	/* For "every address" getaddrinfo lists IPv6 "::" first where it exists. */
	for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = open_bound(ai, &err_no);
		if (fd >= 0)
			*loopback = is_loopback(ai->ai_addr);
	}
	freeaddrinfo(res);
	if (fd < 0)
		rdms_fail(err, WBEM_E_FAILED, "%s: %s", where,
		          err_no == EADDRINUSE ? "address already in use (is rdmsd already running?)"
		                               : strerror(err_no));
	return fd;
}

/* Creates the directory of PATH (one level, mode 0755) when missing. */
static bool make_socket_dir(const char *path, rdms_error *err)
{
	char dir[PATH_MAX];
	char *slash;

	if (!str_copy(dir, sizeof dir, path)) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "socket path too long: %s", path);
		return false;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return true;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0 || errno == EEXIST)
		return true;
	rdms_fail(err, WBEM_E_FAILED, "cannot create %s: %s", dir, strerror(errno));
	return false;
}

/* Removes a leftover socket at PATH; fails when a server still answers. */
static bool clear_stale(const char *path, const struct sockaddr_un *sun,
                        rdms_error *err)
{
	struct stat sb;
	int probe;

	if (lstat(path, &sb) != 0)
		return true;
	if (!S_ISSOCK(sb.st_mode)) {
		rdms_fail(err, WBEM_E_FAILED, "%s exists and is not a socket", path);
		return false;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (const struct sockaddr *)sun, sizeof *sun) == 0) {
		close(probe);
		rdms_fail(err, WBEM_E_FAILED, "%s: another server is listening on it "
		          "(is rdmsd already running?)", path);
		return false;
	}
	if (probe >= 0)
		close(probe);
	if (unlink(path) != 0) {
		rdms_fail(err, WBEM_E_FAILED, "cannot remove stale %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

int listen_unix(const char *path, rdms_error *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (!str_copy(sun.sun_path, sizeof sun.sun_path, path)) {
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "socket path longer than %zu bytes: %s",
		          sizeof sun.sun_path - 1, path);
		return -1;
	}
	if (!make_socket_dir(path, err) || !clear_stale(path, &sun, err))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Anyone may connect: the peer's uid, not the file mode, decides. */
	if (bind(fd, (const struct sockaddr *)&sun, sizeof sun) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, BACKLOG) != 0) {
		rdms_fail(err, WBEM_E_FAILED, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- the listeners of the config ------------------------------------------ */

const listen_kind_info listen_kinds[LISTEN_KINDS] = {
	[LISTEN_HTTP]         = { "HTTP", "wsman", false, true },
	[LISTEN_HTTPS]        = { "HTTPS", "wsman", true, false },
	[LISTEN_CIMXML_HTTP]  = { "CIM-XML HTTP", "cimxml", false, true },
	[LISTEN_CIMXML_HTTPS] = { "CIM-XML HTTPS", "cimxml", true, false },
	[LISTEN_UNIX]         = { "Unix socket", NULL, false, false },
};

void listen_set_init(listen_set *set)
{
	memset(set, 0, sizeof *set);
	for (int k = 0; k < LISTEN_KINDS; k++)
		set->s[k].fd = -1;
}

/* The address and port CFG wants for listener KIND; false when off. */
static bool wanted(const rdms_config *cfg, enum listen_kind kind, const char **address,
                   int *port)
{
	*address = listen_kinds[kind].tls ? cfg->https_listen_address : cfg->listen_address;
	switch (kind) {
	case LISTEN_HTTP:         *port = cfg->http_port; break;
	case LISTEN_HTTPS:        *port = cfg->https_port; break;
	case LISTEN_CIMXML_HTTP:  *port = cfg->cimxml_http_port; break;
	case LISTEN_CIMXML_HTTPS: *port = cfg->cimxml_https_port; break;
	default:
		*address = cfg->socket_path;
		*port = 0;
		return cfg->socket_path[0] != '\0';
	}
	return *port > 0;
}

static void close_socket(listen_socket *s, enum listen_kind kind)
{
	if (s->fd < 0)
		return;
	close(s->fd);
	if (kind == LISTEN_UNIX)
		unlink(s->address);
	s->fd = -1;
	s->address[0] = '\0';
	s->port = 0;
}

/* Makes socket KIND of SET match CFG; keeps the old socket if a new one fails. */
static uint32_t bind_one(listen_set *set, enum listen_kind kind, const rdms_config *cfg,
                         rdms_error *err)
{
	listen_socket *s = &set->s[kind];
	const char *address;
	int port, fd;
	bool loopback = false;

	if (!wanted(cfg, kind, &address, &port)) {
		close_socket(s, kind);
		return WBEM_S_NO_ERROR;
	}
	if (s->fd < 0 || strcmp(s->address, address) != 0 || s->port != port) {
		fd = kind == LISTEN_UNIX ? listen_unix(address, err)
		                         : listen_tcp(address, port, &loopback, err);
		if (fd < 0) {
			/* Prefix the listener: "HTTPS *:5986: address already in use". */
			char msg[sizeof err->message];

			if (err != NULL) {
				str_copy(msg, sizeof msg, err->message);
				rdms_fail(err, err->code, "%s %s", listen_kinds[kind].name, msg);
			}
			return WBEM_E_FAILED;
		}
		close_socket(s, kind);
		s->fd = fd;
		s->loopback = loopback;
		str_copy(s->address, sizeof s->address, address);
		s->port = port;
	}
	if (listen_kinds[kind].plain_tcp && !s->loopback && !cfg->allow_remote_http) {
		close_socket(s, kind);
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER,
		                 "%s: refusing plain HTTP on non-loopback address '%s': passwords "
		                 "would cross the network in clear; use HTTPS, a loopback "
		                 "listen_address, port 0, or allow_remote_http = true",
		                 listen_kinds[kind].name, address);
	}
	return WBEM_S_NO_ERROR;
}

uint32_t listen_set_bind(listen_set *set, const rdms_config *cfg, rdms_error *err)
{
	uint32_t first = WBEM_S_NO_ERROR;
	rdms_error e = { 0 };

	for (int k = 0; k < LISTEN_KINDS; k++) {
		uint32_t rc = bind_one(set, (enum listen_kind)k, cfg, &e);

		if (rc != 0 && first == 0) {
			first = rc;
			if (err != NULL)
				*err = e;
		} else if (rc != 0) {
			log_warn("%s", e.message);
		}
	}
	return first;
}

void listen_set_close(listen_set *set)
{
	for (int k = 0; k < LISTEN_KINDS; k++)
		close_socket(&set->s[k], (enum listen_kind)k);
}

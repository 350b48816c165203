/*
 * rdmsd.c -- the rdms daemon: Win32_VirtualDesktopSession over
 * WS-Management and CIM-XML, on HTTP (loopback), HTTPS and a local Unix
 * socket.
 *
 * The pieces, in the order a request meets them:
 *   transport (src/transport)  listeners, TLS, Basic/PAM, SO_PEERCRED,
 *                              admin check (src/auth)
 *   wsman     (src/wsman)      POST /wsman: SOAP in, SOAP out
 *   cimxml    (src/cimxml)     POST /cimom: CIM-XML in and out
 *   ops       (src/ops)        the operation layer; method calls go to the
 *                              audit hook
 *   privsep   (src/privsep)    back-ends, PAM and audit behind a narrow IPC
 *   audit     (src/audit)      SQLite, committed before the reply
 *
 * Two processes (privsep.h).  rdmsd starts as root, reads the config,
 * opens the listening sockets and loads the TLS key, then forks the
 * network process ("net"), which drops to the `rdms` user for good and
 * serves everything above the privsep line.  The first process stays root
 * as "priv": it runs PAM, the session back-ends and the audit database for
 * net, and otherwise only supervises:
 *   - SIGHUP reloads: a config that loads replaces the old one, net is
 *     stopped (requests in progress finish), sockets whose address changed
 *     are reopened, and a new net starts with the new config.  Connections
 *     that arrive meanwhile wait in the listen queue.
 *   - SIGTERM and SIGINT stop net, then priv.
 *   - net exiting on its own stops priv with status 1, so a supervisor
 *     (systemd) restarts the pair; net gets SIGTERM when priv dies.
 * Sockets are opened before the daemon forks, so a port in use or a bad
 * config is reported on the terminal with a non-zero exit; the starting
 * process also waits until net is serving (or has failed).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "../audit/audit.h"
#include "../auth/authz.h"
#include "../auth/pam_auth.h"
#include "../cimxml/cimxml.h"
#include "../common/log.h"
#include "../common/strutil.h"
#include "../config/config.h"
#include "../ops/ops.h"
#include "../privsep/privsep.h"
#include "../transport/http.h"
#include "../wsman/wsman.h"

#ifndef RDMS_VERSION
#define RDMS_VERSION "unknown"
#endif

#define PAM_CACHE_TTL_S   60
#define PAM_FAIL_DELAY_MS 1500
#define AUTHZ_TTL_S       10
#define SOAP_TYPE         "application/soap+xml;charset=UTF-8"
#define CIMXML_TYPE       "application/xml; charset=\"utf-8\""
#define NET_STOP_MS       10000   /* then SIGKILL */

struct options {
	const char *config;      /* NULL: the default, which may be missing */
	const char *pid_file;
	bool        foreground;
	bool        debug;
};

struct rdmsd {
	struct options  opt;
	rdms_config     cfg;
	transport      *transport;   /* sockets: bound by priv, served by net */
	int             log_pipe[2]; /* daemon mode: stderr lines for syslog */

	/* priv: root */
	priv_user       user;        /* who net becomes */
	rdms_provider   backends;    /* the real session back-ends */
	rdms_audit_db  *audit;
	pam_auth       *pam;         /* PAM itself: pam_auth_verify */
	priv_env        env;
	priv_server    *priv;
	pid_t           net_pid;
	int             net_pidfd;

	/* net: the rdms user */
	priv_client    *client;
	rdms_provider   provider;    /* the proxy back-end and audit hook */
	wsman_service  *wsman;
	pam_auth       *cache;       /* verified credentials; misses go to priv */
	authz          *authz;
};

/* ---- options and config ------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: rdmsd [--config FILE] [--foreground] [--debug] [--pid-file FILE]\n"
	        "             [--help] [--version]\n"
	        "  -c, --config FILE    configuration (default " RDMS_DEFAULT_CONFIG ")\n"
	        "  -f, --foreground     stay in the foreground, log to stderr\n"
	        "  -d, --debug          log every request\n"
	        "  -p, --pid-file FILE  write the daemon's pid to FILE\n"
	        "  -h, --help           this text\n"
	        "  -V, --version        the version\n");
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:fdp:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'f': o->foreground = true; break;
		case 'd': o->debug = true; break;
		case 'p': o->pid_file = optarg; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("rdmsd %s\n", RDMS_VERSION); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rdmsd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
}

/* Reads the config into CFG; false (with ERR) when it is unusable. */
static bool load_config(const struct options *o, rdms_config *cfg, rdms_error *err)
{
	rdms_config_defaults(cfg);
	return rdms_config_load(cfg, o->config != NULL ? o->config : RDMS_DEFAULT_CONFIG,
	                        o->config != NULL, err) == WBEM_S_NO_ERROR;
}

/* ---- the protocol endpoints --------------------------------------------- */

/*
 * The handlers take the daemon, not the service, as context: a reload
 * replaces the services while the transport (stopped meanwhile) keeps its
 * endpoint table.
 */
static void serve_wsman(void *ctx, const rdms_caller *who, const http_request *req,
                        http_reply *out)
{
	struct rdmsd *d = ctx;
	wsman_reply wr = { 0 };

	wsman_handle(d->wsman, who, req->body, req->len, &wr);
	out->status = wr.http_status;
	out->body = wr.body;
	out->len = wr.len;
	out->content_type = SOAP_TYPE;
}

static void serve_cimxml(void *ctx, const rdms_caller *who, const http_request *req,
                         http_reply *out)
{
	struct rdmsd *d = ctx;
	cimxml_request cr = {
		.cim_operation = http_header(req, "CIMOperation"),
		.cim_method = http_header(req, "CIMMethod"),
		.cim_object = http_header(req, "CIMObject"),
		.content_type = http_header(req, "Content-Type"),
		.body = req->body,
		.len = req->len,
	};
	cimxml_reply rep = { 0 };

	cimxml_handle(&d->provider, &d->cfg, who, &cr, &rep);
	out->status = rep.http_status;
	out->body = rep.body;
	out->len = rep.len;
	out->content_type = rep.body != NULL ? CIMXML_TYPE : NULL;
	/* DSP0200: every answer says it is a MethodResponse. */
	out->extra[0].name = "CIMOperation";
	out->extra[0].value = "MethodResponse";
	out->extra[1].name = rep.cim_error != NULL ? "CIMError" : NULL;
	out->extra[1].value = rep.cim_error;
}

static struct rdmsd daemon_state;

static const http_endpoint endpoints[] = {
	{ .path = "/wsman", .protocol = "wsman", .anonymous = wsman_is_identify,
	  .handle = serve_wsman, .ctx = &daemon_state },
	{ .path = "/cimom", .protocol = "cimxml", .anonymous = NULL,
	  .handle = serve_cimxml, .ctx = &daemon_state },
};

/* ---- net: the unprivileged process ------------------------------------- */

/* Builds net's services on the proxies to priv and starts serving. */
static bool services_up(struct rdmsd *d, const int fds[PRIV_CHANNELS], rdms_error *err)
{
	transport_env env;

	d->client = priv_client_new(fds, d->backends.backends, d->backends.nbackends);
	d->cache = pam_auth_new(d->cfg.pam_service, PAM_CACHE_TTL_S, PAM_FAIL_DELAY_MS);
	d->authz = authz_new(AUTHZ_TTL_S);
	if (d->client == NULL || d->cache == NULL || d->authz == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return false;
	}
	pam_auth_set_verifier(d->cache, priv_proxy_verify, d->client);
	priv_proxy_provider(&d->provider, &d->cfg, d->client);
	/* Reads share a snapshot of priv's sessions (session_cache.h). */
	if (d->cfg.session_cache_ms > 0 &&
	    (d->provider.cache = rdms_session_cache_new(&d->cfg, d->provider.backends,
	                                                d->provider.nbackends)) == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return false;
	}
	d->wsman = wsman_service_new(&d->provider, &d->cfg);
	if (d->wsman == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "cannot create the WS-Management service");
		return false;
	}
	env = (transport_env){ .cfg = &d->cfg, .pam = d->cache, .authz = d->authz };
	return transport_start(d->transport, &env, err) == WBEM_S_NO_ERROR;
}

/* Waits for SIGTERM or SIGINT (SIGHUP is priv's: it restarts net). */
static void net_wait(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	while (sigwait(&set, &sig) != 0)
		;
}

/*
 * The network process, right after fork: drop privileges, serve, tell
 * priv through READY_FD, serve until told to stop.  Never returns.
 */
static _Noreturn void net_main(struct rdmsd *d, const int fds[PRIV_CHANNELS], int ready_fd)
{
	int keep[PRIV_CHANNELS + 2];
	size_t n = 0;
	rdms_error err = { 0 };

	for (int i = 0; i < PRIV_CHANNELS; i++)
		keep[n++] = fds[i];
	keep[n++] = ready_fd;
	keep[n++] = d->log_pipe[1];
	if (priv_drop(&d->user, keep, n, getppid(), &err) != WBEM_S_NO_ERROR)
		fatal("network process: %s", err.message);
	/* libxml2's global state, before any thread can parse. */
	xmlInitParser();
	if (!services_up(d, fds, &err))
		fatal("%s", err.message);
	log_info("network process %ld serving as uid %u", (long)getpid(), (unsigned)getuid());
	/* From here on, errors go where priv's go (syslog in daemon mode). */
	if (d->log_pipe[1] >= 0) {
		dup2(d->log_pipe[1], STDERR_FILENO);
		close(d->log_pipe[1]);
	}
	if (write(ready_fd, "R", 1) != 1)
		fatal("cannot tell the privileged process that serving started");
	close(ready_fd);

	net_wait();
	transport_stop(d->transport);
	wsman_service_free(d->wsman);
	rdms_session_cache_free(d->provider.cache);
	xmlCleanupParser();
	/* The sockets are priv's to close (and the Unix socket's file to remove). */
	exit(0);
}

/* ---- priv: the privileged process --------------------------------------- */

/* Opens the audit database and the PAM checker that CFG names. */
static bool open_state(struct rdmsd *d, rdms_error *err)
{
	d->audit = rdms_audit_open(d->cfg.audit_db, err);
	if (d->audit == NULL)
		return false;
	d->pam = pam_auth_new(d->cfg.pam_service, 0, 0);
	if (d->pam == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return false;
	}
	return true;
}

/*
 * Switches to FRESH's audit database and PAM service where they changed;
 * one that cannot be opened is kept, and FRESH is corrected to say so.
 */
static void swap_state(struct rdmsd *d, rdms_config *fresh)
{
	rdms_error err = { 0 };

	if (strcmp(fresh->audit_db, d->cfg.audit_db) != 0) {
		rdms_audit_db *a = rdms_audit_open(fresh->audit_db, &err);

		if (a != NULL) {
			rdms_audit_close(d->audit);
			d->audit = a;
		} else {
			log_warn("reload: %s; still auditing to %s", err.message, d->cfg.audit_db);
			str_copy(fresh->audit_db, sizeof fresh->audit_db, d->cfg.audit_db);
		}
	}
	if (strcmp(fresh->pam_service, d->cfg.pam_service) != 0) {
		pam_auth *pa = pam_auth_new(fresh->pam_service, 0, 0);

		if (pa != NULL) {
			pam_auth_free(d->pam);
			d->pam = pa;
		} else {
			str_copy(fresh->pam_service, sizeof fresh->pam_service, d->cfg.pam_service);
		}
	}
}

static void net_stop(struct rdmsd *d);

/*
 * Forks net with the current config and serves it; returns once net is
 * serving, false (with ERR) when it could not start.
 */
static bool net_start(struct rdmsd *d, rdms_error *err)
{
	priv_channels ch;
	int ready[2];
	char c;
	pid_t pid;
	bool ok;

	rdms_provider_init(&d->backends, &d->cfg);
	if (d->backends.nbackends == 0)
		log_warn("no session back-end is available (backends = %s)", d->cfg.backends);
	if (!priv_channels_open(&ch, err))
		return false;
	if (pipe2(ready, O_CLOEXEC) != 0) {
		priv_channels_close(ch.priv);
		priv_channels_close(ch.net);
		rdms_fail(err, WBEM_E_FAILED, "pipe: %s", strerror(errno));
		return false;
	}
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		priv_channels_close(ch.priv);
		net_main(d, ch.net, ready[1]);
	}
	close(ready[1]);
	priv_channels_close(ch.net);
	if (pid < 0) {
		close(ready[0]);
		priv_channels_close(ch.priv);
		rdms_fail(err, WBEM_E_FAILED, "fork: %s", strerror(errno));
		return false;
	}
	d->net_pid = pid;
	d->net_pidfd = pidfd_open(pid, 0);
	if (d->net_pidfd < 0)
		rdms_fail(err, WBEM_E_FAILED, "pidfd_open: %s", strerror(errno));
	d->env = (priv_env){ .provider = &d->backends, .audit = d->audit, .pam = d->pam };
	d->priv = priv_server_start(ch.priv, &d->env, err);
	ok = d->priv != NULL && d->net_pidfd >= 0;
	/* net writes one byte once it serves, or exits (end of file) */
	if (ok && (read(ready[0], &c, 1) != 1 || c != 'R'))
		ok = rdms_fail(err, WBEM_E_FAILED, "the network process did not start") == 0;
	close(ready[0]);
	if (!ok)
		net_stop(d);
	return ok;
}

/* Stops net (SIGTERM, after NET_STOP_MS SIGKILL) and the channels' threads. */
static void net_stop(struct rdmsd *d)
{
	struct pollfd pf = { d->net_pidfd, POLLIN, 0 };
	int status;

	if (d->net_pid > 0) {
		kill(d->net_pid, SIGTERM);
		if (d->net_pidfd >= 0 && poll(&pf, 1, NET_STOP_MS) == 0) {
			log_warn("network process %ld does not stop; killing it", (long)d->net_pid);
			kill(d->net_pid, SIGKILL);
		}
		while (waitpid(d->net_pid, &status, 0) < 0 && errno == EINTR)
			;
		d->net_pid = 0;
	}
	if (d->net_pidfd >= 0)
		close(d->net_pidfd);
	d->net_pidfd = -1;
	priv_server_stop(d->priv);
	d->priv = NULL;
}

/*
 * SIGHUP: a config that does not load changes nothing.  Otherwise net
 * stops, the new config replaces the old, sockets whose address changed
 * are reopened, and a new net starts.  False when it could not.
 */
static bool reload(struct rdmsd *d)
{
	rdms_config fresh;
	rdms_error err = { 0 };

	if (!load_config(&d->opt, &fresh, &err)) {
		log_warn("reload: %s; keeping the running config", err.message);
		return true;
	}
	net_stop(d);
	swap_state(d, &fresh);
	d->cfg = fresh;
	if (transport_bind(d->transport, &d->cfg, &err) != 0)
		log_warn("reload: %s", err.message);
	rdms_error_clear(&err);
	if (!net_start(d, &err)) {
		log_warn("reload: %s", err.message);
		return false;
	}
	log_info("configuration reloaded");
	return true;
}

/* ---- process ------------------------------------------------------------ */

/*
 * glibc's malloc tuned for a daemon that answers mostly small requests and
 * now and then an enumeration of thousands of sessions (megabytes of
 * instances and reply text, freed right after):
 *  - a fixed mmap threshold: blocks of 128 KiB and more (session lists,
 *    reply buffers) are mmap'ed and go back to the system when freed;
 *    the default threshold grows after each such free, until the next big
 *    reply stays in the heap for good;
 *  - two arenas instead of 8 per core: every connection has its thread,
 *    and each arena keeps the memory it once held.
 * Together they keep RSS near its idle size after an enumeration.
 */
static void tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024);
	mallopt(M_ARENA_MAX, 2);
}

/* Copies stderr lines to syslog once the daemon has left the terminal. */
static void *syslog_pump(void *arg)
{
	FILE *in = fdopen((int)(intptr_t)arg, "r");
	char line[2048];

	if (in == NULL)
		return NULL;
	while (fgets(line, sizeof line, in) != NULL) {
		size_t n = strlen(line);
		int prio = LOG_NOTICE;

		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (strstr(line, ": fatal: ") != NULL)
			prio = LOG_CRIT;
		else if (strstr(line, ": debug: ") != NULL)
			prio = LOG_DEBUG;
		syslog(prio, "%s", line);
	}
	fclose(in);
	return NULL;
}

/*
 * From now on priv's stderr goes to syslog through D's log pipe (made
 * before net was forked, so net's later stderr goes there too).
 */
static void stderr_to_syslog(struct rdmsd *d)
{
	pthread_t th;

	openlog("rdmsd", LOG_PID, LOG_DAEMON);
	if (pthread_create(&th, NULL, syslog_pump, (void *)(intptr_t)d->log_pipe[0]) != 0)
		return;
	pthread_detach(th);
	dup2(d->log_pipe[1], STDERR_FILENO);
}

/*
 * Double fork.  The original process waits for one byte on a pipe: the
 * daemon writes it once it serves, and a daemon that fails first just
 * exits, so the caller of `rdmsd` sees the failure in the exit status.
 * Returns the pipe's write end, to be passed to report_ready().
 */
static int daemonize(void)
{
	int p[2], fd;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) != 0)
		fatal("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		waitpid(pid, NULL, 0);
		exit(read(p[0], &c, 1) == 1 && c == 'R' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		fatal("setsid: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		fatal("chdir /: %s", strerror(errno));
	umask(022);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	return p[1];
}

static void report_ready(struct rdmsd *d, int fd)
{
	if (fd < 0)
		return;
	stderr_to_syslog(d);
	if (write(fd, "R", 1) != 1)
		log_warn("cannot tell the starting process that rdmsd is ready");
	close(fd);
}

static void write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		log_warn("pid file %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

/* Blocks the signals the main thread waits for, in every later thread. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * priv's main loop: signals (as a signalfd) and net's exit (its pidfd).
 * Returns the exit status: 0 when told to stop, 1 when net ended or could
 * not be restarted.
 */
static int supervise(struct rdmsd *d, const sigset_t *set)
{
	int sfd = signalfd(-1, set, SFD_CLOEXEC);

	if (sfd < 0)
		fatal("signalfd: %s", strerror(errno));
	for (;;) {
		struct pollfd pf[2] = { { sfd, POLLIN, 0 }, { d->net_pidfd, POLLIN, 0 } };
		struct signalfd_siginfo si;
		int status = 0;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll: %s", strerror(errno));
		}
		if (pf[1].revents != 0) {
			while (waitpid(d->net_pid, &status, 0) < 0 && errno == EINTR)
				;
			d->net_pid = 0;
			log_warn("network process %s %d; stopping",
			         WIFSIGNALED(status) ? "killed by signal" : "exited with status",
			         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			break;
		}
		if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
			continue;
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading %s",
			         d->opt.config != NULL ? d->opt.config : RDMS_DEFAULT_CONFIG);
			if (reload(d))
				continue;
			break;
		}
		log_info("%s: stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
		close(sfd);
		return 0;
	}
	close(sfd);
	return 1;
}

int main(int argc, char **argv)
{
	struct rdmsd *const d = &daemon_state;
	rdms_error err = { 0 };
	sigset_t set;
	int ready_fd = -1, status;

	parse_options(argc, argv, &d->opt);
	tune_malloc();
	log_init("rdmsd", d->opt.debug);
	d->log_pipe[0] = d->log_pipe[1] = -1;
	d->net_pidfd = -1;
	if (!load_config(&d->opt, &d->cfg, &err))
		fatal("%s", err.message);
	d->transport = transport_new(endpoints, sizeof endpoints / sizeof endpoints[0]);
	if (d->transport == NULL)
		fatal("out of memory");
	if (transport_bind(d->transport, &d->cfg, &err) != 0)
		fatal("%s", err.message);
	if (priv_user_get(&d->user, &err) != WBEM_S_NO_ERROR)
		fatal("%s", err.message);
	if (!d->user.drop)
		log_warn("not started as root: nothing to separate, the network process keeps uid %u",
		         (unsigned)d->user.uid);
	if (!d->opt.foreground) {
		ready_fd = daemonize();
		if (pipe2(d->log_pipe, O_CLOEXEC) != 0)
			fatal("pipe: %s", strerror(errno));
	}
	block_signals(&set);
	if (!open_state(d, &err) || !net_start(d, &err))
		fatal("%s", err.message);
	if (d->opt.pid_file != NULL)
		write_pid_file(d->opt.pid_file);
	log_info("rdmsd %s ready", RDMS_VERSION);
	report_ready(d, ready_fd);

	status = supervise(d, &set);

	net_stop(d);
	transport_free(d->transport);
	rdms_audit_close(d->audit);
	pam_auth_free(d->pam);
	if (d->opt.pid_file != NULL)
		unlink(d->opt.pid_file);
	log_info("stopped");
	return status;
}

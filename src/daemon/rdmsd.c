/*
 * rdmsd.c -- the rdms daemon: Win32_VirtualDesktopSession over
 * WS-Management and CIM-XML, on HTTP (loopback), HTTPS and a local Unix
 * socket.
 *
 * The pieces, in the order a request meets them (all in rdmsd-net up to
 * privsep; the rest here):
 *   transport (src/transport)  listeners, TLS, Basic/PAM, SO_PEERCRED,
 *                              admin check (src/auth)
 *   wsman     (src/wsman)      POST /wsman: SOAP in, SOAP out
 *   cimxml    (src/cimxml)     POST /cimom: CIM-XML in and out
 *   ops       (src/ops)        the operation layer; method calls go to the
 *                              audit hook
 *   privsep   (src/privsep)    back-ends, PAM and audit behind a narrow IPC
 *   audit     (src/audit)      SQLite, committed before the reply
 *
 * Two processes (privsep.h), two programs.  rdmsd starts as root, reads
 * the config and opens the listening sockets, then starts the network
 * process ("net", the program rdmsd-net: rdmsd_net.c, handed what it needs
 * by handoff.h), which loads the TLS key, drops to the `rdms` user for
 * good and serves everything above the privsep line.  This process stays
 * root as "priv": it runs PAM, the session back-ends and the audit
 * database for net, and otherwise only supervises.  It is linked without
 * the HTTP, TLS and XML libraries: none of that code runs as root.
 *
 *   - SIGHUP reloads: a config that loads replaces the old one, net is
 *     stopped (requests in progress finish), sockets whose address changed
 *     are reopened, and a new net starts with the new config.  Connections
 *     that arrive meanwhile wait in the listen queue.  A net that cannot
 *     start on the new config (a bad TLS certificate, say) is started
 *     again on the old one.
 *   - SIGTERM and SIGINT stop net, then priv.
 *   - net exiting on its own stops priv with status 1, so a supervisor
 *     (systemd) restarts the pair; net gets SIGTERM when priv dies.
 * Sockets are opened before net starts, so a port in use or a bad config
 * is reported on the terminal with a non-zero exit; the starting process
 * also waits until net is serving (or has failed: net's stderr says why).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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

#include "../audit/audit.h"
#include "events_run.h"
#include "../common/child_signals.h"
#include "../common/log.h"
#include "../common/program_path.h"
#include "../common/strutil.h"
#include "../common/thread_name.h"
#include "../config/config.h"
#include "../ops/provider.h"
#include "../privsep/ntlm_relay.h"
#include "../privsep/pam_relay.h"
#include "../privsep/privsep.h"
#include "../transport/listen.h"
#include "handoff.h"
#include "malloc_tune.h"

#ifndef RDMS_VERSION
#define RDMS_VERSION "unknown"
#endif

#define NET_STOP_MS       10000   /* then SIGKILL */
#define BACKEND_WATCH_MS  5000    /* how often a change of the back-ends' state is looked for */
/*
 * The network process: a host's, or a fleet broker's (which has the
 * broker's code and libraries a host does without; net_broker.h), and
 * where `make install` puts them (meson.build defines them).
 */
#define NET_PROGRAM_NAME     "rdmsd-net"
#define BROKER_PROGRAM_NAME  "rdmsd-broker"
#ifndef RDMS_NET_PROGRAM
#define RDMS_NET_PROGRAM     "/usr/local/libexec/rdms/" NET_PROGRAM_NAME
#endif
/* One Negotiate/NTLM handshake's process (ntlm_relay.h), found likewise. */
#define NTLM_PROGRAM_NAME    "rdmsd-ntlm"
#ifndef RDMS_NTLM_PROGRAM
#define RDMS_NTLM_PROGRAM    "/usr/local/libexec/rdms/" NTLM_PROGRAM_NAME
#endif
/* One PAM password check's process (pam_relay.h), found likewise. */
#define PAM_PROGRAM_NAME     "rdmsd-pam"
#ifndef RDMS_PAM_PROGRAM
#define RDMS_PAM_PROGRAM     "/usr/local/libexec/rdms/" PAM_PROGRAM_NAME
#endif
#ifndef RDMS_BROKER_PROGRAM
#define RDMS_BROKER_PROGRAM  "/usr/local/libexec/rdms/" BROKER_PROGRAM_NAME
#endif

struct options {
	const char *config;      /* NULL: the default, which may be missing */
	const char *pid_file;
	bool        foreground;
	bool        debug;
};

struct rdmsd {
	struct options  opt;
	rdms_config     cfg;
	listen_set      sockets;     /* bound here, served by net */
	int             log_pipe[2]; /* daemon mode: stderr lines for syslog */
	char            net_program[PATH_MAX];
	char            ntlm_program[PATH_MAX];   /* "": none found, Negotiate is off */
	char            pam_program[PATH_MAX];    /* rdmsd-pam: every password check */
	ntlm_relay     *ntlm;        /* Negotiate/NTLM handshakes; NULL: off */

	priv_user       user;        /* who net becomes */
	rdms_provider   backends;    /* the real session back-ends */
	rdms_audit_db  *audit;
	rdmsd_events   *events;      /* the change feed, its rescans and hooks */
	pam_relay      *pam;         /* PAM itself, in rdmsd-pam */
	priv_env        env;
	priv_server    *priv;
	pid_t           net_pid;
	int             net_pidfd;
	/* the back-ends' state last logged (rdms_provider_report) */
	rdms_backend_status status[RDMS_MAX_BACKENDS];
	size_t          nstatus;
};

/* priv performed a Disconnect or Logoff: the session watch rescans soon. */
static void events_acted(void *ctx)
{
	rdmsd_events_hint(((struct rdmsd *)ctx)->events);
}

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

static struct rdmsd daemon_state;

/* ---- the network process ------------------------------------------------ */

/*
 * The network program of the role (rdmsd-net, or rdmsd-broker): looked up
 * once, at start, as the role changes only then.
 */
static bool find_net_program(struct rdmsd *d, const char *name, const char *installed)
{
	return program_path(d->net_program, sizeof d->net_program, name, installed);
}

/* What net is started with: the current config, sockets and channels. */
static void make_handoff(const struct rdmsd *d, const int channels[PRIV_CHANNELS],
                         int ready_fd, net_handoff *h)
{
	memset(h, 0, sizeof *h);
	net_handoff_seal(h);
	h->debug = d->opt.debug;
	h->user = d->user;
	h->cfg = d->cfg;
	h->sockets = d->sockets;
	for (int i = 0; i < PRIV_CHANNELS; i++)
		h->channels[i] = channels[i];
	h->ready_fd = ready_fd;
	h->log_fd = d->log_pipe[1];
	for (size_t i = 0; i < d->backends.nbackends && i < HANDOFF_BACKENDS; i++) {
		str_copy(h->backends[i], sizeof h->backends[i], d->backends.backends[i]->name);
		h->nbackends++;
	}
}

/*
 * In the forked child: hands H over through the pipe PIPE_FD and becomes
 * rdmsd-net, whose one argument ARG names the pipe's read end.  Only
 * async-signal-safe calls (priv has threads).  Never returns.
 */
static _Noreturn void exec_net(const char *program, const net_handoff *h, const int pipe_fd[2],
                               char *arg)
{
	static const char failed[] = "rdmsd: cannot start the network process " NET_PROGRAM_NAME "\n";
	int fds[PRIV_CHANNELS + 2 + LISTEN_KINDS];
	size_t n = net_handoff_fds(h, fds, sizeof fds / sizeof fds[0]);
	char *argv[] = { NET_PROGRAM_NAME, arg, NULL };
	ssize_t ignored;

	if (!net_handoff_send(pipe_fd[1], h))
		goto fail;
	close(pipe_fd[1]);
	/* What net keeps across exec; everything else is close-on-exec. */
	for (size_t i = 0; i < n; i++)
		if (fcntl(fds[i], F_SETFD, 0) != 0)
			goto fail;
	if (fcntl(pipe_fd[0], F_SETFD, 0) != 0)
		goto fail;
	child_default_signals();   /* net blocks what it takes by signalfd itself */
	execv(program, argv);
fail:
	ignored = write(STDERR_FILENO, failed, sizeof failed - 1);
	(void)ignored;
	_exit(127);
}

/* ---- priv: the privileged process --------------------------------------- */

/* Opens the audit database and the PAM checker that CFG names. */
static bool open_state(struct rdmsd *d, rdms_error *err)
{
	d->audit = rdms_audit_open(d->cfg.audit_db, err);
	if (d->audit == NULL)
		return false;
	d->pam = pam_relay_new(d->pam_program, d->cfg.pam_service, PAM_RELAY_TIMEOUT_MS);
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
		pam_relay *pa = pam_relay_new(d->pam_program, fresh->pam_service,
		                              PAM_RELAY_TIMEOUT_MS);

		if (pa != NULL) {
			pam_relay_free(d->pam);
			d->pam = pa;
		} else {
			str_copy(fresh->pam_service, sizeof fresh->pam_service, d->cfg.pam_service);
		}
	}
}

static void net_stop(struct rdmsd *d);

/*
 * A broker's session directory is its network process's to write, in a
 * directory it may share with the audit database (the default: both in
 * /var/lib/rdms).  So the directory is not given away: it keeps its owner,
 * its group becomes the network process's with write access and the
 * sticky bit, so that account can make the database and SQLite's -wal and
 * -shm beside it but can remove or rename nothing it does not own (the
 * audit database stays root's).  Database files that already exist (made
 * by `rdms fleet db init` as root, say) are given to that account.
 */
static bool prepare_store(struct rdmsd *d, rdms_error *err)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char dir[sizeof d->cfg.store_path], path[sizeof d->cfg.store_path + 16];
	struct stat st;
	char *slash;

	str_copy(dir, sizeof dir, d->cfg.store_path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return rdms_fail(err, WBEM_E_INVALID_PARAMETER, "store_path %s must be an absolute "
		                 "path in a directory", d->cfg.store_path) == 0;
	*slash = '\0';
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return rdms_fail(err, WBEM_E_FAILED, "%s: %s", dir, strerror(errno)) == 0;
	if (!d->user.drop)
		return true;
	if (stat(dir, &st) != 0 || chown(dir, (uid_t)-1, d->user.gid) != 0 ||
	    chmod(dir, (st.st_mode & 07777) | S_ISVTX | S_IRWXG) != 0)
		return rdms_fail(err, WBEM_E_FAILED, "%s: %s", dir, strerror(errno)) == 0;
	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		snprintf(path, sizeof path, "%s%s", d->cfg.store_path, suffix[i]);
		if (chown(path, d->user.uid, d->user.gid) != 0 && errno != ENOENT)
			return rdms_fail(err, WBEM_E_FAILED, "chown %s: %s", path, strerror(errno)) == 0;
	}
	return true;
}

/*
 * Forks net with the current config and serves it; returns once net is
 * serving, false (with ERR) when it could not start.
 */
static bool net_start(struct rdmsd *d, rdms_error *err)
{
	priv_channels ch;
	net_handoff h;
	int ready[2], hand[2];
	char c, arg[16];
	pid_t pid;
	bool ok;

	rdms_provider_init(&d->backends, &d->cfg);
	d->backends.audit_read = rdms_audit_read;
	d->backends.audit_read_ctx = &d->cfg;
	d->nstatus = 0;
	rdms_provider_report(&d->backends, d->status, &d->nstatus);
	if (d->backends.nbackends == 0 && !rdms_config_is_broker(&d->cfg))
		log_warn("no session back-end is available (backends = %s)", d->cfg.backends);
	if (rdms_config_is_broker(&d->cfg) && !prepare_store(d, err))
		return false;
	if (!priv_channels_open(&ch, err))
		return false;
	if (pipe2(ready, O_CLOEXEC) != 0) {
		priv_channels_close(ch.priv);
		priv_channels_close(ch.net);
		return rdms_fail(err, WBEM_E_FAILED, "pipe: %s", strerror(errno)) == 0;
	}
	if (pipe2(hand, O_CLOEXEC) != 0) {
		close(ready[0]);
		close(ready[1]);
		priv_channels_close(ch.priv);
		priv_channels_close(ch.net);
		return rdms_fail(err, WBEM_E_FAILED, "pipe: %s", strerror(errno)) == 0;
	}
	make_handoff(d, ch.net, ready[1], &h);
	snprintf(arg, sizeof arg, "%d", hand[0]);   /* before fork: the child may not */
	pid = fork();
	if (pid == 0)
		exec_net(d->net_program, &h, hand, arg);
	close(hand[0]);
	close(hand[1]);
	close(ready[1]);
	priv_channels_close(ch.net);
	explicit_bzero(&h, sizeof h);
	if (pid < 0) {
		close(ready[0]);
		priv_channels_close(ch.priv);
		return rdms_fail(err, WBEM_E_FAILED, "fork: %s", strerror(errno)) == 0;
	}
	d->net_pid = pid;
	d->net_pidfd = pidfd_open(pid, 0);
	if (d->net_pidfd < 0)
		rdms_fail(err, WBEM_E_FAILED, "pidfd_open: %s", strerror(errno));
	/* Negotiate/NTLM: each handshake in an rdmsd-ntlm of its own (ntlm_relay.h) */
	d->ntlm = NULL;
	if (d->cfg.ntlm_users[0] != '\0' && d->ntlm_program[0] != '\0' &&
	    (d->ntlm = ntlm_relay_new(d->ntlm_program, d->cfg.ntlm_users)) == NULL)
		log_warn("out of memory: Negotiate/NTLM is off");
	d->env = (priv_env){ .provider = &d->backends, .audit = d->audit, .pam = d->pam,
	                     .ntlm = d->ntlm,
	                     .acted = events_acted, .acted_ctx = d,
	                     .feed = d->events != NULL ? rdmsd_events_feed(d->events) : NULL };
	d->priv = priv_server_start(ch.priv, &d->env, err);
	ok = d->priv != NULL && d->net_pidfd >= 0;
	/* net writes one byte once it serves, or exits (end of file) */
	if (ok && (read(ready[0], &c, 1) != 1 || c != 'R'))
		ok = rdms_fail(err, WBEM_E_FAILED, "the network process did not start") == 0;
	close(ready[0]);
	/* the session events follow the back-ends this config serves */
	if (ok && d->events != NULL &&
	    !rdmsd_events_start(d->events, &d->cfg, d->backends.backends, d->backends.nbackends,
	                        d->audit, err))
		ok = false;
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
	ntlm_relay_free(d->ntlm);
	d->ntlm = NULL;
	rdmsd_events_stop(d->events);
}

/*
 * SIGHUP: a config that does not load changes nothing.  Otherwise net
 * stops, the new config replaces the old, sockets whose address changed
 * are reopened, and a new net starts.  False when it could not.
 */
/* Reopens the sockets whose address changed in d->cfg and starts net on it. */
static bool rebind_and_start(struct rdmsd *d, rdms_error *err)
{
	rdms_error e = { 0 };

	if (listen_set_bind(&d->sockets, &d->cfg, &e) != 0)
		log_warn("reload: %s", e.message);
	return net_start(d, err);
}

static bool reload(struct rdmsd *d)
{
	rdms_config fresh, old = d->cfg;
	rdms_error err = { 0 };

	if (!load_config(&d->opt, &fresh, &err)) {
		log_warn("reload: %s; keeping the running config", err.message);
		return true;
	}
	if (rdms_config_is_broker(&fresh) != rdms_config_is_broker(&d->cfg)) {
		log_warn("reload: role changes from %s to %s only at a restart; keeping the running "
		         "config", d->cfg.role, fresh.role);
		return true;
	}
	net_stop(d);
	swap_state(d, &fresh);
	d->cfg = fresh;
	if (rebind_and_start(d, &err)) {
		log_info("configuration reloaded");
		return true;
	}
	log_warn("reload: %s; going back to the previous config", err.message);
	rdms_error_clear(&err);
	/* The audit database and PAM service stay what swap_state made them. */
	str_copy(old.audit_db, sizeof old.audit_db, d->cfg.audit_db);
	str_copy(old.pam_service, sizeof old.pam_service, d->cfg.pam_service);
	d->cfg = old;
	if (!rebind_and_start(d, &err)) {
		log_warn("reload: %s", err.message);
		return false;
	}
	return true;
}

/* ---- process ------------------------------------------------------------ */

/* Copies stderr lines to syslog once the daemon has left the terminal. */
static void *syslog_pump(void *arg)
{
	FILE *in = fdopen((int)(intptr_t)arg, "r");
	char line[2048];

	rdms_thread_name("syslog");
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
 * before net was started, which sends its later stderr there too).
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

		int ready = poll(pf, 2, BACKEND_WATCH_MS);

		if (ready < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll: %s", strerror(errno));
		}
		if (ready == 0) {
			/* say when a server stops or starts: "no sessions" is not "xrdp is down" */
			rdms_provider_report(&d->backends, d->status, &d->nstatus);
			continue;
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
	rdms_tune_malloc();
	log_init("rdmsd", d->opt.debug);
	d->log_pipe[0] = d->log_pipe[1] = -1;
	d->net_pidfd = -1;
	if (!load_config(&d->opt, &d->cfg, &err))
		fatal("%s", err.message);
	if (rdms_config_is_broker(&d->cfg) ? !find_net_program(d, BROKER_PROGRAM_NAME,
	                                                        RDMS_BROKER_PROGRAM)
	                                   : !find_net_program(d, NET_PROGRAM_NAME, RDMS_NET_PROGRAM))
		fatal("cannot find the network process program %s (beside rdmsd or there)",
		      d->net_program);
	if (!program_path(d->pam_program, sizeof d->pam_program, PAM_PROGRAM_NAME,
	                  RDMS_PAM_PROGRAM))
		fatal("cannot find the password check program %s (beside rdmsd or there)",
		      d->pam_program);
	if (!program_path(d->ntlm_program, sizeof d->ntlm_program, NTLM_PROGRAM_NAME,
	                  RDMS_NTLM_PROGRAM)) {
		log_warn("cannot find %s (beside rdmsd or there): Negotiate/NTLM is off",
		         d->ntlm_program);
		d->ntlm_program[0] = '\0';
	}
	listen_set_init(&d->sockets);
	if (listen_set_bind(&d->sockets, &d->cfg, &err) != 0)
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
	/* a broker has no sessions of its own: no change feed, no hooks */
	if (!open_state(d, &err) ||
	    (!rdms_config_is_broker(&d->cfg) &&
	     (d->events = rdmsd_events_open(&d->cfg, &err)) == NULL) ||
	    !net_start(d, &err))
		fatal("%s", err.message);
	if (rdms_config_is_broker(&d->cfg))
		log_info("role: fleet broker, session directory %s", strcmp(d->cfg.store, "postgresql")
		         == 0 ? "in PostgreSQL (store_dsn)" : d->cfg.store_path);
	if (d->opt.pid_file != NULL)
		write_pid_file(d->opt.pid_file);
	log_info("rdmsd %s ready", RDMS_VERSION);
	report_ready(d, ready_fd);

	status = supervise(d, &set);

	net_stop(d);
	listen_set_close(&d->sockets);
	if (d->audit != NULL) {
		rdms_audit_counts n;

		rdms_audit_stats(d->audit, &n);
		log_info("audit: %llu events recorded in %llu commits", n.events, n.groups);
	}
	rdmsd_events_close(d->events);
	rdms_audit_close(d->audit);
	pam_relay_free(d->pam);
	if (d->opt.pid_file != NULL)
		unlink(d->opt.pid_file);
	log_info("stopped");
	return status;
}

/*
 * rdmsd_net.c -- rdmsd's network process (rdmsd-net): HTTP, HTTPS and the
 * Unix socket, WS-Management and CIM-XML, the operation layer.
 *
 * Started only by rdmsd (the privileged process, rdmsd.c), which execs it
 * as root with a handoff (handoff.h) on the descriptor named by its one
 * argument.  As root it still loads (or, on first start, creates) the TLS
 * certificate and key; then it drops to the `rdms` user for good
 * (privsep.h) and serves until SIGTERM.  Sessions, PAM and the audit trail
 * are requests to priv over the privsep channels.  It tells priv it is
 * serving by writing "R" to the ready descriptor; if it exits before, priv
 * reports that it could not start (this process's stderr says why).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "../auth/authz.h"
#include "../auth/pam_auth.h"
#include "../cimxml/cimxml.h"
#include "../common/log.h"
#include "../ops/ops.h"
#include "../ops/session_cache.h"
#include "../privsep/events_pump.h"
#include "../privsep/privsep.h"
#include "../transport/http.h"
#include "../wsman/wsman.h"
#include "handoff.h"
#include "malloc_tune.h"
#include "net_broker.h"

#define PAM_CACHE_TTL_S   60
#define PAM_FAIL_DELAY_MS 1500
#define AUTHZ_TTL_S       10
#define SOAP_TYPE         "application/soap+xml;charset=UTF-8"
#define CIMXML_TYPE       "application/xml; charset=\"utf-8\""

struct net {
	net_handoff     h;
	transport      *transport;
	const rdms_backend *backends[HANDOFF_BACKENDS];   /* priv's, by name */
	priv_client    *client;
	rdms_provider   provider;    /* the proxy back-end and audit hook */
	wsman_service  *wsman;
	pam_auth       *cache;       /* verified credentials; misses go to priv */
	authz          *authz;
	priv_events_pump *pump;      /* the mirror of priv's change feed (NULL: events off) */
	bool            is_broker;   /* role = broker: the classes come from the directory */
	net_broker     *broker;      /* then its directory, ingest and forwarding */
};

static struct net net_state;

/* ---- the protocol endpoints --------------------------------------------- */

/* A WS-Man reply as the transport's. */
static void http_of(http_reply *out, wsman_reply *wr)
{
	out->status = wr->http_status;
	out->body = wr->body;
	out->len = wr->len;
	out->stream = wr->stream;
	out->content_type = SOAP_TYPE;
}

/* wsman_holder's: a Pull on a subscription waits as a held request (http.h). */
static void *hold_request(void *ctx)
{
	return http_hold(ctx);
}

static bool complete_held(void *held, wsman_reply *reply)
{
	http_reply out = { 0 };

	http_of(&out, reply);
	return http_held_complete(held, &out);
}

static void serve_wsman(void *ctx, const rdms_caller *who, const http_request *req,
                        http_reply *out)
{
	struct net *d = ctx;
	wsman_reply wr = { 0 };
	wsman_holder h = { .hold = hold_request, .complete = complete_held,
	                   .ctx = (void *)req };
	bool held;

	wsman_handle_held(d->wsman, who, req->body, req->len, &h, &wr, &held);
	if (!held)
		http_of(out, &wr);
}

static void serve_cimxml(void *ctx, const rdms_caller *who, const http_request *req,
                         http_reply *out)
{
	struct net *d = ctx;
	cimxml_request cr = {
		.cim_operation = http_header(req, "CIMOperation"),
		.cim_method = http_header(req, "CIMMethod"),
		.cim_object = http_header(req, "CIMObject"),
		.content_type = http_header(req, "Content-Type"),
		.message_timeout = http_header(req, "RDMS-" RDMS_MESSAGE_OPT_TIMEOUT),
		.message_wait = http_header(req, "RDMS-" RDMS_MESSAGE_OPT_WAIT),
		.body = req->body,
		.len = req->len,
	};
	cimxml_reply rep = { 0 };

	cimxml_handle_streamed(&d->provider, &d->h.cfg, who, &cr, &rep);
	out->status = rep.http_status;
	out->body = rep.body;
	out->len = rep.len;
	out->stream = rep.stream;
	out->content_type = rep.body != NULL ? CIMXML_TYPE : NULL;
	/* DSP0200: every answer says it is a MethodResponse. */
	out->extra[0].name = "CIMOperation";
	out->extra[0].value = "MethodResponse";
	out->extra[1].name = rep.cim_error != NULL ? "CIMError" : NULL;
	out->extra[1].value = rep.cim_error;
	out->extra[2].name = CIMXML_RETURN_VALUE_TEXT;
	out->extra[2].value = out->owned = rep.return_value_text;
}

/*
 * A read by key answered from a ready session snapshot does not wait, so
 * it is served on the I/O thread (http.h); everything else -- methods (a
 * round trip to priv and the audit's fsync), enumerations (long to build),
 * a read that must fetch the sessions from priv first (no snapshot, or one
 * a method invalidated) -- on a worker.  At a broker the quick read is a
 * session's Get: its directory's readers never wait for the ingest
 * (store_sqlite.c), while a host's Win32_RDSHServer row counts sessions and
 * an audit record comes from priv.  Only the action (and at a broker the
 * class) is looked at, cheaply: a wrong guess moves a request to the other
 * kind of thread, nothing more.
 */
static bool snapshot_ready(const struct net *d)
{
	return d->provider.cache != NULL && rdms_session_cache_ready(d->provider.cache);
}

static bool wsman_quick(void *ctx, const http_request *req)
{
	static const char get[] = "/ws/2004/09/transfer/Get<";
	static const char session[] = "/Win32_VirtualDesktopSession<";
	const struct net *d = ctx;

	if (memmem(req->body, req->len, get, sizeof get - 1) == NULL)
		return false;
	return d->is_broker ? memmem(req->body, req->len, session, sizeof session - 1) != NULL
	                    : snapshot_ready(d);
}

static bool cimxml_quick(void *ctx, const http_request *req)
{
	static const char session[] = "\"Win32_VirtualDesktopSession\"";
	const char *method = http_header(req, "CIMMethod");
	const struct net *d = ctx;

	if (method == NULL || strcasecmp(method, "GetInstance") != 0)
		return false;
	return d->is_broker ? memmem(req->body, req->len, session, sizeof session - 1) != NULL
	                    : snapshot_ready(d);
}

static const http_endpoint endpoints[] = {
	{ .path = "/wsman", .protocol = "wsman", .media_types = wsman_media_types,
	  .anonymous = wsman_is_identify,
	  .quick = wsman_quick, .handle = serve_wsman, .ctx = &net_state },
	{ .path = "/cimom", .protocol = "cimxml", .media_types = cimxml_media_types,
	  .anonymous = NULL,
	  .quick = cimxml_quick, .handle = serve_cimxml, .ctx = &net_state },
};

/*
 * A connection costs a descriptor and no thread (http.h): the soft limit on
 * open files goes up to the hard one, so max_connections, not a default of
 * 1,024 descriptors, is what bounds them.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the open-file limit: %s", strerror(errno));
	}
}

/* ---- start-up ----------------------------------------------------------- */

/* The handoff's descriptor: the program's one argument. */
static int handoff_fd(int argc, char **argv)
{
	char *end;
	long fd;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("rdmsd-net %s\n", RDMS_VERSION);
		exit(0);
	}
	if (argc != 2 || argv[1][0] == '\0')
		goto usage;
	errno = 0;
	fd = strtol(argv[1], &end, 10);
	if (errno == 0 && *end == '\0' && fd > STDERR_FILENO && fd < INT_MAX)
		return (int)fd;
usage:
	fprintf(stderr, "rdmsd-net: the network process of rdmsd(8), started by rdmsd only\n");
	exit(2);
}

/* priv's back-ends, by the names the handoff lists. */
static bool find_backends(struct net *d, rdms_error *err)
{
	for (uint32_t i = 0; i < d->h.nbackends; i++) {
		d->backends[i] = rdms_backend_find(d->h.backends[i]);
		if (d->backends[i] == NULL)
			return rdms_fail(err, WBEM_E_FAILED, "unknown back-end '%s' in the handoff",
			                 d->h.backends[i]) == 0;
	}
	return true;
}

static rdms_feed_pos pump_head(void *ctx)
{
	return priv_events_pump_head(ctx);
}

/*
 * A user a fleet broker speaks for (wsman_user_resolver): a local account,
 * an admin by this host's admin group -- the owner rule is this host's own.
 */
static bool broker_user(void *ctx, const char *user, rdms_caller *out)
{
	const struct net *d = ctx;
	uid_t uid;
	bool admin;

	if (!authz_user(d->authz, d->h.cfg.admin_group, user, &uid, &admin) ||
	    !str_copy(out->user, sizeof out->user, user))
		return false;
	out->uid = uid;
	out->is_admin = admin;
	return true;
}

/* Builds the services on the proxies to priv and starts serving. */
static bool services_up(struct net *d, rdms_error *err)
{
	const rdms_config *cfg = &d->h.cfg;
	transport_env env;

	d->client = priv_client_new(d->h.channels, d->backends, d->h.nbackends);
	d->cache = pam_auth_new(PAM_CACHE_TTL_S, PAM_FAIL_DELAY_MS);
	d->authz = authz_new(AUTHZ_TTL_S);
	if (d->client == NULL || d->cache == NULL || d->authz == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory") == 0;
	pam_auth_set_verifier(d->cache, priv_proxy_verify, d->client);
	priv_proxy_provider(&d->provider, cfg, d->client);
	if (d->is_broker && !net_broker_up(d->broker, &d->provider, err))
		return false;
	/* Reads share a snapshot of priv's sessions (session_cache.h). */
	if (cfg->session_cache_ms > 0 && !d->is_broker &&
	    (d->provider.cache = rdms_session_cache_new(cfg, d->provider.backends,
	                                                d->provider.nbackends)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory") == 0;
	d->wsman = wsman_service_new(&d->provider, cfg);
	if (d->wsman == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY,
		                 "cannot create the WS-Management service") == 0;
	wsman_service_users(d->wsman, broker_user, d);
	/* A broker's session events: its own feed, which its ingest writes. */
	if (d->is_broker && !net_broker_events(d->broker, d->wsman, err))
		return false;
	/* A host's: one pump mirrors priv's feed, subscriptions read the mirror. */
	d->pump = d->is_broker ? NULL : priv_events_pump_start(d->client, 30000, err);
	if (d->pump == NULL && err->code != 0)
		return false;
	if (d->pump != NULL) {
		wsman_event_source src = { .feed = priv_events_pump_feed(d->pump),
		                           .head = pump_head, .state = priv_events_pump_state,
		                           .ctx = d->pump };

		if (!wsman_service_events(d->wsman, &src))
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory") == 0;
	}
	env = (transport_env){ .cfg = cfg, .pam = d->cache, .authz = d->authz };
	if (cfg->ntlm_users[0] != '\0') {   /* Negotiate/NTLM: each leg through priv */
		env.negotiate = priv_proxy_negotiate;
		env.negotiate_ctx = d->client;
	}
	return transport_start(d->transport, &env, err) == WBEM_S_NO_ERROR;
}

/* Waits for SIGTERM or SIGINT (blocked in every thread). */
static void wait_for_stop(const sigset_t *set)
{
	int sig = 0;

	while (sigwait(set, &sig) != 0)
		;
}

int main(int argc, char **argv)
{
	struct net *const d = &net_state;
	int fd = handoff_fd(argc, argv);
	int keep[PRIV_CHANNELS + 2 + LISTEN_KINDS];
	rdms_error err = { 0 };
	sigset_t set;
	size_t n;

	rdms_tune_malloc();
	log_init("rdmsd", false);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);   /* priv's: it restarts this process */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!net_handoff_receive(fd, &d->h, &err))
		fatal("network process: %s", err.message);
	close(fd);
	log_init("rdmsd", d->h.debug);
	if (!find_backends(d, &err))
		fatal("network process: %s", err.message);
	raise_fd_limit();
	/* Still root: the TLS key, and a broker's client key, may be readable by root only. */
	d->is_broker = rdms_config_is_broker(&d->h.cfg);
	if (d->is_broker && (d->broker = net_broker_load(&d->h.cfg, &err)) == NULL)
		fatal("%s", err.message);
	d->transport = transport_new(endpoints, sizeof endpoints / sizeof endpoints[0],
	                             &d->h.sockets, &d->h.cfg, &err);
	if (d->transport == NULL)
		fatal("%s", err.message);
	n = net_handoff_fds(&d->h, keep, sizeof keep / sizeof keep[0]);
	if (priv_drop(&d->h.user, keep, n, getppid(), &err) != WBEM_S_NO_ERROR)
		fatal("network process: %s", err.message);
	/* libxml2's global state, before any thread can parse. */
	xmlInitParser();
	if (!services_up(d, &err))
		fatal("%s", err.message);
	log_info("network process %ld serving as uid %u", (long)getpid(), (unsigned)getuid());
	/* From here on, errors go where priv's go (syslog in daemon mode). */
	if (d->h.log_fd >= 0) {
		dup2(d->h.log_fd, STDERR_FILENO);
		close(d->h.log_fd);
	}
	if (write(d->h.ready_fd, "R", 1) != 1)
		fatal("cannot tell the privileged process that serving started");
	close(d->h.ready_fd);

	sigdelset(&set, SIGHUP);
	wait_for_stop(&set);
	transport_stop(d->transport);
	/* the subscriptions read the pump's mirror: they go first */
	wsman_service_free(d->wsman);
	priv_events_pump_stop(d->pump);
	rdms_session_cache_free(d->provider.cache);
	net_broker_free(d->broker);
	transport_free(d->transport);
	xmlCleanupParser();
	/* The sockets are priv's to close (and the Unix socket's file to remove). */
	return 0;
}

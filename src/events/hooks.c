/*
 * hooks.c -- the hook runner (hooks.h).
 *
 * A FIFO of events and hook_max_running threads.  A thread takes the first
 * queued event whose session has no event running (so one session's hooks
 * keep the events' order while other sessions' run beside them), runs its
 * reasons' hooks one after the other through rdms_user_run_env (fork,
 * become the user, execve; killed with its process group at the timeout),
 * and reports what did not exit 0.
 */
#include "hooks.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../backend/userexec.h"
#include "../common/log.h"
#include "../common/strutil.h"
#include "../common/thread_name.h"
#include "../ops/provider.h"
#include "feed_internal.h"

#define QUEUE_MAX   10000
#define MAX_THREADS 64
#define OUTPUT_MAX  256

const char *const rdms_hook_reason_names[RDMS_HOOK_REASONS] = {
	"session-logon", "session-logoff", "remote-connect", "remote-disconnect", "session-change",
};

struct job {
	struct job *next;
	rdms_event  ev;
};

struct rdms_hooks {
	const rdms_config  *cfg;
	rdms_hook_report_fn report;
	void               *ctx;

	pthread_mutex_t     lock;
	pthread_cond_t      work;       /* a job queued, a session freed, or stop */
	pthread_cond_t      idle;       /* a job finished */
	struct job         *head;
	size_t              queued, running;
	struct {
		const char *backend;
		uint32_t    id;
	}                   busy[MAX_THREADS];
	bool                stop;
	pthread_t           threads[MAX_THREADS];
	int                 nthreads;
};

/* ---- reasons ------------------------------------------------------------------------ */

size_t rdms_event_reasons(const rdms_event *ev, const char *out[4])
{
	const rdms_event_session *t = &ev->target, *p = &ev->previous;
	size_t n = 0;

	switch (ev->kind) {
	case RDMS_EVENT_CREATION:
		out[n++] = "session-logon";
		if (t->connect_state == WTS_ACTIVE)
			out[n++] = "remote-connect";
		break;
	case RDMS_EVENT_DELETION:
		out[n++] = "session-logoff";
		break;
	case RDMS_EVENT_MODIFICATION:
		if (p->connect_state == WTS_ACTIVE && t->connect_state == WTS_DISCONNECTED) {
			out[n++] = "remote-disconnect";
		} else if (p->connect_state != WTS_ACTIVE && t->connect_state == WTS_ACTIVE) {
			out[n++] = "remote-connect";
		} else if (t->connect_state == WTS_ACTIVE && p->client != NULL && t->client != NULL &&
		           strcmp(p->client, t->client) != 0) {
			/* another client took the session over (Windows: 40 reason 5, then 25) */
			out[n++] = "remote-disconnect";
			out[n++] = "remote-connect";
		}
		break;
	default:
		return 0;
	}
	out[n++] = "session-change";
	return n;
}

/* ---- running one hook ----------------------------------------------------------------- */

/* True when REASON is in the comma- or blank-separated LIST. */
static bool listed(const char *list, const char *reason)
{
	size_t n = strlen(reason);

	for (const char *p = list; *p != '\0';) {
		size_t len;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, ", \t");
		if (len == n && strncasecmp(p, reason, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* The environment of one hook: "NAME=value" strings in a fixed block. */
typedef struct hook_env {
	char        buf[16][RDMS_USER_EXTRA_ENV_SIZE];
	const char *v[17];
	int         n;
} hook_env;

static void env_add(hook_env *e, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void env_add(hook_env *e, const char *name, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (e->n >= 16)
		return;
	len = snprintf(e->buf[e->n], sizeof e->buf[0], "%s=", name);
	va_start(ap, fmt);
	vsnprintf(e->buf[e->n] + len, sizeof e->buf[0] - (size_t)len, fmt, ap);
	va_end(ap);
	e->v[e->n] = e->buf[e->n];
	e->v[++e->n] = NULL;
}

static const char *kind_name(uint8_t kind)
{
	return kind == RDMS_EVENT_CREATION ? "Creation" :
	       kind == RDMS_EVENT_MODIFICATION ? "Modification" : "Deletion";
}

/* A class property of INST as text ("" when NULL). */
static const char *prop_text(const cim_instance *inst, const char *name)
{
	const cim_value *v = inst != NULL ? cim_instance_get(inst, name) : NULL;

	return v != NULL && !v->is_null && v->u.str != NULL ? v->u.str : "";
}

static void make_hook_env(const rdms_hooks *h, const rdms_event *ev, const char *reason,
                          const rdms_user *u, bool as_user, hook_env *e)
{
	const rdms_event_session *t = &ev->target;
	rdms_session rs;
	cim_instance *inst;
	char when[40];
	time_t secs = (time_t)(ev->time_us / 1000000);
	struct tm tm;

	/* UserName and DomainName exactly as the class shows them */
	rdms_event_session_to(t, &rs);
	inst = rdms_session_instance(h->cfg, &rs);
	gmtime_r(&secs, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	e->n = 0;
	e->v[0] = NULL;
	env_add(e, "RDMS_EVENT", "%s", kind_name(ev->kind));
	env_add(e, "RDMS_REASON", "%s", reason);
	env_add(e, "RDMS_HOST", "%s", h->cfg->vm_host_name);
	env_add(e, "RDMS_SESSION_ID", "%u", t->id);
	env_add(e, "RDMS_USER", "%s", prop_text(inst, "UserName"));
	env_add(e, "RDMS_DOMAIN", "%s", prop_text(inst, "DomainName"));
	env_add(e, "RDMS_CONNECT_STATE", "%u", t->connect_state);
	if (ev->kind == RDMS_EVENT_MODIFICATION) {
		env_add(e, "RDMS_PREVIOUS_CONNECT_STATE", "%u", ev->previous.connect_state);
		env_add(e, "RDMS_PREVIOUS_CLIENT_NAME", "%s", ev->previous.client);
	} else {
		env_add(e, "RDMS_PREVIOUS_CONNECT_STATE", "%s", "");
		env_add(e, "RDMS_PREVIOUS_CLIENT_NAME", "%s", "");
	}
	env_add(e, "RDMS_CLIENT_NAME", "%s", t->client != NULL ? t->client : "");
	if (t->display >= 0)
		env_add(e, "RDMS_DISPLAY", ":%d", t->display);
	else
		env_add(e, "RDMS_DISPLAY", "%s", "");
	env_add(e, "RDMS_TIME", "%s", when);
	if (as_user && t->display >= 0) {
		/* so that an X client (xrandr, notify-send) reaches the session */
		env_add(e, "DISPLAY", ":%d", t->display);
		env_add(e, "XAUTHORITY", "%s/.Xauthority", u->home);
	}
	cim_instance_free(inst);
}

static void report(rdms_hooks *h, const rdms_event *ev, const char *reason, const char *hook,
                   bool ok, const char *detail)
{
	rdms_hook_outcome o = { reason, hook, ev, ok, detail };

	if (ok)
		log_debug("hook %s (%s, session %u): done", hook, reason, ev->target.id);
	else
		log_warn("hook %s (%s, session %u): %s", hook, reason, ev->target.id, detail);
	if (!ok && h->report != NULL)
		h->report(h->ctx, &o);
}

/* Why PATH (with ST) may not run as a hook, or NULL when it may. */
static const char *unsafe(const struct stat *st, bool is_dir)
{
	if (is_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return is_dir ? "not a directory" : "not a regular file";
	if (st->st_uid != 0)
		return "not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by others than root";
	if (!is_dir && !(st->st_mode & S_IXUSR))
		return "not executable";
	return NULL;
}

/* Editor and package leftovers are not hooks. */
static int hook_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && d->d_name[n - 1] != '~' && strstr(d->d_name, ".dpkg-") == NULL;
}

/* Runs DIR/NAME as U with ENV, and reports how it went. */
static void run_one(rdms_hooks *h, const rdms_event *ev, const char *reason, const char *dir,
                    const char *name, const rdms_user *u, const hook_env *env)
{
	char path[1024], out[OUTPUT_MAX], detail[OUTPUT_MAX + 64];
	char *argv[3] = { path, (char *)reason, NULL };
	rdms_error err = { 0 };
	struct stat st;
	const char *why;
	int status = 0;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	why = stat(path, &st) != 0 ? strerror(errno) : unsafe(&st, false);
	if (why != NULL) {
		snprintf(detail, sizeof detail, "skipped: %s", why);
		report(h, ev, reason, path, false, detail);
		return;
	}
	if (rdms_user_run_env(u, argv, env->v, h->cfg->hook_timeout_s * 1000, &status, out,
	                      sizeof out, &err) != 0) {
		report(h, ev, reason, path, false, err.message);
		return;
	}
	if (WIFEXITED(status))
		snprintf(detail, sizeof detail, "exit status %d%s%.*s", WEXITSTATUS(status),
		         out[0] != '\0' ? ": " : "", (int)strcspn(out, "\n"), out);
	else
		snprintf(detail, sizeof detail, "killed by signal %d", WTERMSIG(status));
	report(h, ev, reason, path, WIFEXITED(status) && WEXITSTATUS(status) == 0, detail);
}

static void run_reason(rdms_hooks *h, const rdms_event *ev, const char *reason)
{
	char dir[512], detail[sizeof(rdms_error) + 16];
	bool as_user = listed(h->cfg->hooks_as_session_user, reason);
	struct dirent **names = NULL;
	rdms_user u = { 0 };
	rdms_error err = { 0 };
	struct stat st;
	const char *why;
	hook_env env;
	int n;

	snprintf(dir, sizeof dir, "%s/%s.d", h->cfg->hooks_dir, reason);
	if (stat(dir, &st) != 0)
		return;                          /* no hooks for this reason */
	if ((why = unsafe(&st, true)) != NULL) {
		snprintf(detail, sizeof detail, "skipped: the directory is %s", why);
		report(h, ev, reason, dir, false, detail);
		return;
	}
	if ((n = scandir(dir, &names, hook_name, alphasort)) <= 0) {
		free(names);
		return;
	}
	if (rdms_user_lookup(as_user ? (uid_t)ev->target.uid : 0, &u, &err) != WBEM_S_NO_ERROR) {
		snprintf(detail, sizeof detail, "skipped: %s", err.message);
		report(h, ev, reason, dir, false, detail);
	} else {
		make_hook_env(h, ev, reason, &u, as_user, &env);
		for (int i = 0; i < n; i++)
			run_one(h, ev, reason, dir, names[i]->d_name, &u, &env);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	rdms_user_free(&u);
}

/* ---- the queue and the threads ------------------------------------------------------------ */

static bool session_busy(const rdms_hooks *h, const rdms_event *ev)
{
	for (int i = 0; i < h->nthreads; i++)
		if (h->busy[i].backend != NULL && h->busy[i].id == ev->target.id &&
		    strcmp(h->busy[i].backend, ev->target.backend) == 0)
			return true;
	return false;
}

/* The first queued job whose session is free, unlinked; NULL when none.  Lock held. */
static struct job *take(rdms_hooks *h)
{
	for (struct job **pp = &h->head; *pp != NULL; pp = &(*pp)->next) {
		struct job *j = *pp;

		if (!session_busy(h, &j->ev)) {
			*pp = j->next;
			h->queued--;
			return j;
		}
	}
	return NULL;
}

struct worker_arg {
	rdms_hooks *h;
	int         slot;
};

static void *worker(void *arg)
{
	rdms_hooks *h = ((struct worker_arg *)arg)->h;
	int slot = ((struct worker_arg *)arg)->slot;
	struct job *j;

	rdms_thread_name("hook");
	free(arg);
	pthread_mutex_lock(&h->lock);
	for (;;) {
		const char *reasons[4];
		size_t nr;

		while (!h->stop && (j = take(h)) == NULL)
			pthread_cond_wait(&h->work, &h->lock);
		if (h->stop)
			break;
		h->busy[slot].backend = j->ev.target.backend;
		h->busy[slot].id = j->ev.target.id;
		h->running++;
		pthread_mutex_unlock(&h->lock);
		nr = rdms_event_reasons(&j->ev, reasons);
		for (size_t r = 0; r < nr; r++)
			run_reason(h, &j->ev, reasons[r]);
		rdms_event_clear(&j->ev);
		free(j);
		pthread_mutex_lock(&h->lock);
		h->busy[slot].backend = NULL;
		h->running--;
		pthread_cond_broadcast(&h->work);   /* the session's next event may go */
		pthread_cond_broadcast(&h->idle);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

rdms_hooks *rdms_hooks_start(const rdms_config *cfg, rdms_hook_report_fn report_fn, void *ctx,
                             rdms_error *err)
{
	rdms_hooks *h = calloc(1, sizeof *h);
	int want = cfg->hook_max_running < 1 ? 1 :
	           cfg->hook_max_running > MAX_THREADS ? MAX_THREADS : cfg->hook_max_running;

	if (h == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	h->cfg = cfg;
	h->report = report_fn;
	h->ctx = ctx;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->work, NULL);
	pthread_cond_init(&h->idle, NULL);
	for (int i = 0; i < want; i++) {
		struct worker_arg *a = malloc(sizeof *a);

		if (a == NULL)
			break;
		*a = (struct worker_arg){ h, i };
		if (pthread_create(&h->threads[i], NULL, worker, a) != 0) {
			free(a);
			break;
		}
		h->nthreads++;
	}
	if (h->nthreads == 0) {
		rdms_fail(err, WBEM_E_FAILED, "cannot start the hook threads");
		rdms_hooks_stop(h);
		return NULL;
	}
	return h;
}

/* True when some reason of EV has a hook directory (most hosts have none). */
static bool has_hooks(const rdms_hooks *h, const rdms_event *ev)
{
	const char *reasons[4];
	size_t n = rdms_event_reasons(ev, reasons);
	char dir[512];

	for (size_t i = 0; i < n; i++) {
		snprintf(dir, sizeof dir, "%s/%s.d", h->cfg->hooks_dir, reasons[i]);
		if (access(dir, F_OK) == 0)
			return true;
	}
	return false;
}

bool rdms_hooks_event(rdms_hooks *h, const rdms_event *ev)
{
	struct job *j, **tail;
	bool ok;

	if (!has_hooks(h, ev))
		return true;              /* nothing to run: nothing queued */

	pthread_mutex_lock(&h->lock);
	ok = h->queued < QUEUE_MAX && !h->stop;
	pthread_mutex_unlock(&h->lock);
	if (!ok || (j = calloc(1, sizeof *j)) == NULL)
		return false;
	j->ev.pos = ev->pos;
	j->ev.time_us = ev->time_us;
	j->ev.kind = ev->kind;
	if (!rdms_event_session_copy(&j->ev.target, &ev->target) ||
	    (ev->kind == RDMS_EVENT_MODIFICATION &&
	     !rdms_event_session_copy(&j->ev.previous, &ev->previous))) {
		rdms_event_clear(&j->ev);
		free(j);
		return false;
	}
	pthread_mutex_lock(&h->lock);
	for (tail = &h->head; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = j;
	h->queued++;
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->lock);
	return true;
}

void rdms_hooks_drain(rdms_hooks *h)
{
	pthread_mutex_lock(&h->lock);
	while (h->queued > 0 || h->running > 0)
		pthread_cond_wait(&h->idle, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

void rdms_hooks_stop(rdms_hooks *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_broadcast(&h->work);
	pthread_mutex_unlock(&h->lock);
	for (int i = 0; i < h->nthreads; i++)
		pthread_join(h->threads[i], NULL);
	while (h->head != NULL) {
		struct job *j = h->head;

		h->head = j->next;
		rdms_event_clear(&j->ev);
		free(j);
	}
	pthread_cond_destroy(&h->idle);
	pthread_cond_destroy(&h->work);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/*
 * lease.c -- a broker's lease on its name, its janitor and its health
 * (lease.h).
 */
#include "lease.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/monotime.h"
#include "../common/strutil.h"
#include "../common/thread_name.h"
#include "../common/walltime.h"

struct fleet_lease {
	fleet_store    *st;
	char            name[FLEET_NAME_MAX + 1];
	char            holder[FLEET_HOLDER_MAX + 1];
	pthread_t       thread;
	pthread_mutex_t lock;
	pthread_cond_t  wake;
	bool            stop;
	bool            healthy;
	rdms_error      why;       /* while not healthy */
	int64_t         skew_ms;   /* the store's clock less this machine's, at the last refresh */
	int64_t         keep_calls_ms;   /* 0: calls are never pruned */
	int64_t         prune_at_ms;     /* monotonic: when the thread prunes next */
	/* outcomes the store did not take, recorded by the beat (fleet_lease_defer_outcome) */
	struct deferred *deferred[FLEET_DEFERRED_MAX];
	size_t          n_deferred;
};

/* A call's outcome, with copies of the strings fleet_store_call_finish reads. */
struct deferred {
	fleet_call call;
	char      *caller, *message_id, *broker, *holder, *method, *detail;
};

static void deferred_free(struct deferred *d)
{
	if (d == NULL)
		return;
	free(d->caller);
	free(d->message_id);
	free(d->broker);
	free(d->holder);
	free(d->method);
	free(d->detail);
	free(d);
}

/* A copy of C's outcome; NULL when out of memory. */
static struct deferred *deferred_new(const fleet_call *c)
{
	struct deferred *d;

	if (c->caller == NULL || c->message_id == NULL || c->holder == NULL)
		return NULL;           /* not a claimed call: fleet_store_call_finish refuses it */
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return NULL;
	d->call = *c;
	d->call.caller = d->caller = strdup(c->caller);
	d->call.message_id = d->message_id = strdup(c->message_id);
	d->call.broker = d->broker = strdup(c->broker != NULL ? c->broker : "");
	d->call.holder = d->holder = strdup(c->holder);
	d->call.method = d->method = strdup(c->method != NULL ? c->method : "");
	d->call.detail = d->detail = c->detail != NULL ? strdup(c->detail) : NULL;
	/* only the key and the outcome are written; the rest was claimed before */
	d->call.source = d->call.protocol = d->call.host = NULL;
	if (d->caller == NULL || d->message_id == NULL || d->broker == NULL ||
	    d->holder == NULL || d->method == NULL || (c->detail != NULL && d->detail == NULL)) {
		deferred_free(d);
		return NULL;
	}
	return d;
}

/*
 * Records the outcomes L keeps (the store has just answered a refresh);
 * what fails again stays for the next beat.  Called by L's thread alone.
 */
static void record_deferred(fleet_lease *l)
{
	struct deferred *todo[FLEET_DEFERRED_MAX];
	size_t n, i, recorded = 0;

	pthread_mutex_lock(&l->lock);
	n = l->n_deferred;
	for (i = 0; i < n; i++)
		todo[i] = l->deferred[i];
	l->n_deferred = 0;
	pthread_mutex_unlock(&l->lock);
	for (i = 0; i < n; i++) {
		rdms_error err = { 0 };

		if (fleet_store_call_finish(l->st, &todo[i]->call, &err) == WBEM_S_NO_ERROR) {
			deferred_free(todo[i]);
			recorded++;
			continue;
		}
		pthread_mutex_lock(&l->lock);
		if (l->n_deferred < FLEET_DEFERRED_MAX)
			l->deferred[l->n_deferred++] = todo[i];
		else
			deferred_free(todo[i]);   /* cannot happen: only this thread takes out */
		pthread_mutex_unlock(&l->lock);
	}
	if (recorded > 0)
		log_info("fleet: %zu forwarded call outcome%s recorded now that the session "
		         "directory answers again", recorded, recorded == 1 ? "" : "s");
}

/* The start time of process PID (clock ticks after boot, /proc's field 22); 0: none. */
static unsigned long long start_ticks(long pid)
{
	char path[64], buf[1024];
	unsigned long long ticks = 0;
	FILE *f;
	const char *p;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	if (fgets(buf, sizeof buf, f) != NULL && (p = strrchr(buf, ')')) != NULL) {
		/* after the command's ")": state is field 3, starttime field 22 */
		int field = 2;

		for (p++; *p != '\0' && field < 22; p++)
			if (*p == ' ')
				field++;
		ticks = strtoull(p, NULL, 10);
	}
	fclose(f);
	return ticks;
}

static void host_name(char *out, size_t size)
{
	if (gethostname(out, size) != 0)
		str_copy(out, size, "?");
	out[size - 1] = '\0';
}

void fleet_holder_self(char out[FLEET_HOLDER_MAX + 1])
{
	char host[64];
	long pid = (long)getpid();

	host_name(host, sizeof host);
	snprintf(out, FLEET_HOLDER_MAX + 1, "pid %ld on %s since %llu", pid, host,
	         start_ticks(pid));
}

bool fleet_holder_dead(const char *holder)
{
	char host[64], theirs[64];
	const char *at, *since_at;
	char *end;
	long pid;
	unsigned long long since;

	/* "pid PID on HOST since TICKS", as fleet_holder_self writes it */
	if (strncmp(holder, "pid ", 4) != 0)
		return false;
	pid = strtol(holder + 4, &end, 10);
	if (end == holder + 4 || pid <= 0 || strncmp(end, " on ", 4) != 0)
		return false;
	at = end + 4;
	since_at = strstr(at, " since ");
	if (since_at == NULL || (size_t)(since_at - at) >= sizeof theirs)
		return false;
	memcpy(theirs, at, (size_t)(since_at - at));
	theirs[since_at - at] = '\0';
	since = strtoull(since_at + 7, &end, 10);
	if (end == since_at + 7 || *end != '\0')
		return false;
	host_name(host, sizeof host);
	if (strcmp(theirs, host) != 0)
		return false;          /* another machine's: not ours to judge */
	return start_ticks(pid) != since;
}

static void set_health(fleet_lease *l, bool ok, const rdms_error *why)
{
	pthread_mutex_lock(&l->lock);
	if (ok && !l->healthy)
		log_info("fleet: the session directory (%s) answers again: healthy",
		         fleet_store_describe(l->st));
	else if (!ok && l->healthy)
		log_warn("fleet: unhealthy (Identify answers 503): %s", why->message);
	l->healthy = ok;
	if (!ok)
		l->why = *why;
	pthread_mutex_unlock(&l->lock);
}

/*
 * Refreshes L's lease, and learns from it how far this machine's clock is
 * from the store's (half the round trip is the error: milliseconds).
 */
static uint32_t refresh(fleet_lease *l, rdms_error *err)
{
	int64_t before = wall_ms(), store_now = 0;
	uint32_t rc = fleet_store_broker_beat(l->st, l->name, l->holder, &store_now, err);

	if (rc == WBEM_S_NO_ERROR && store_now > 0) {
		int64_t skew = store_now - (before + wall_ms()) / 2;

		pthread_mutex_lock(&l->lock);
		l->skew_ms = skew;
		pthread_mutex_unlock(&l->lock);
	}
	return rc;
}

/* The calls kept long enough forgotten, when it is time (lease.h); by L's thread only. */
static void prune_calls(fleet_lease *l)
{
	rdms_error err = { 0 };
	size_t pruned = 0;
	int64_t now = mono_ms();

	if (l->keep_calls_ms <= 0 || now < l->prune_at_ms)
		return;
	if (fleet_store_calls_prune(l->st, l->keep_calls_ms, FLEET_PRUNE_MAX, &pruned, &err) !=
	    WBEM_S_NO_ERROR)
		log_warn("fleet: forgetting old forwarded calls: %s", err.message);
	else if (pruned > 0)
		log_debug("fleet: %zu forwarded call%s older than %" PRId64 " s forgotten", pruned,
		          pruned == 1 ? "" : "s", l->keep_calls_ms / 1000);
	/* more to do: again at the next beat */
	l->prune_at_ms = pruned == FLEET_PRUNE_MAX ? now : now + FLEET_PRUNE_EVERY_MS;
}

static void *beat_loop(void *arg)
{
	fleet_lease *l = arg;

	rdms_thread_name("lease");
	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		struct timespec until = mono_deadline(FLEET_BEAT_MS);
		rdms_error err = { 0 };
		size_t swept = 0;
		uint32_t rc;

		while (!l->stop && pthread_cond_timedwait(&l->wake, &l->lock, &until) != ETIMEDOUT)
			;
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->lock);
		rc = refresh(l, &err);
		if (rc == WBEM_E_NOT_FOUND) {
			/* fenced off: another process serves this name now */
			log_warn("fleet: %s; stopping", err.message);
			_exit(1);
		}
		if (rc == WBEM_S_NO_ERROR)
			record_deferred(l);
		if (rc == WBEM_S_NO_ERROR &&
		    fleet_store_calls_sweep(l->st, &swept, &err) == WBEM_S_NO_ERROR && swept > 0)
			log_info("fleet: %zu forwarded call%s of a stopped broker audited unknown", swept,
			         swept == 1 ? "" : "s");
		if (rc == WBEM_S_NO_ERROR)
			prune_calls(l);
		set_health(l, rc == WBEM_S_NO_ERROR, &err);
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

fleet_lease *fleet_lease_start(fleet_store *st, const char *name, int64_t keep_calls_ms,
                               rdms_error *err)
{
	fleet_lease *l = calloc(1, sizeof *l);
	size_t swept = 0;

	if (l == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	l->st = st;
	l->healthy = true;
	l->keep_calls_ms = keep_calls_ms;
	str_copy(l->name, sizeof l->name, name != NULL ? name : "");
	fleet_holder_self(l->holder);
	if (fleet_store_broker_claim(st, l->name, l->holder, fleet_holder_dead, err) !=
	    WBEM_S_NO_ERROR) {
		free(l);
		return NULL;
	}
	log_info("fleet: broker name %s held by %s on %s", l->name, l->holder,
	         fleet_store_describe(st));
	/* a predecessor's calls (this name's, crashed) said at once */
	if (fleet_store_calls_sweep(st, &swept, err) == WBEM_S_NO_ERROR && swept > 0)
		log_info("fleet: %zu forwarded call%s of a stopped broker audited unknown", swept,
		         swept == 1 ? "" : "s");
	pthread_mutex_init(&l->lock, NULL);
	/* the store's clock from the start (else from the first beat on) */
	refresh(l, &(rdms_error){ 0 });
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&l->thread, NULL, beat_loop, l) != 0) {
		fleet_store_broker_release(st, l->name, l->holder, &(rdms_error){ 0 });
		pthread_cond_destroy(&l->wake);
		pthread_mutex_destroy(&l->lock);
		free(l);
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "cannot start the lease's thread");
		return NULL;
	}
	return l;
}

bool fleet_lease_healthy(fleet_lease *l, rdms_error *why)
{
	bool ok;

	pthread_mutex_lock(&l->lock);
	ok = l->healthy;
	if (!ok && why != NULL)
		*why = l->why;
	pthread_mutex_unlock(&l->lock);
	return ok;
}

int64_t fleet_lease_now_ms(fleet_lease *l)
{
	int64_t skew;

	pthread_mutex_lock(&l->lock);
	skew = l->skew_ms;
	pthread_mutex_unlock(&l->lock);
	return wall_ms() + skew;
}

bool fleet_lease_defer_outcome(fleet_lease *l, const fleet_call *c)
{
	struct deferred *d = deferred_new(c);
	bool kept = false;

	if (d == NULL)
		return false;
	pthread_mutex_lock(&l->lock);
	if (l->n_deferred < FLEET_DEFERRED_MAX) {
		l->deferred[l->n_deferred++] = d;
		kept = true;
	}
	pthread_mutex_unlock(&l->lock);
	if (!kept)
		deferred_free(d);
	return kept;
}

const char *fleet_lease_holder(const fleet_lease *l)
{
	return l->holder;
}

void fleet_lease_stop(fleet_lease *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	/* a last try; what is left the next broker's janitor says unknown */
	record_deferred(l);
	for (size_t i = 0; i < l->n_deferred; i++)
		deferred_free(l->deferred[i]);
	fleet_store_broker_release(l->st, l->name, l->holder, &(rdms_error){ 0 });
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

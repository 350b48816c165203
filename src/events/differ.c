/*
 * differ.c -- a fresh listing of a back-end against the last one: the
 * events between them (feed.h, rdms_feed_observe).
 *
 * Both listings are sorted by SessionId and merged.  A session present in
 * both is the same session only when its identity token matches too: the
 * X server's pid and start time (xrdp: SessionId is the sesman child's pid,
 * which the kernel reuses) or the X2Go agent's pid and the session's
 * creation time (displays are reused from :50).  When the token differs
 * the old session ended and a new one began under the same key.
 *
 * A session that did not change keeps its strings: they move from the old
 * listing to the new one, so a rescan of 10,000 quiet sessions copies no
 * text.  Everything is built before the journal is touched; out of memory,
 * nothing changes.
 */
#include "feed_internal.h"

#include <stdlib.h>
#include <string.h>

/* The batch of events one observation makes. */
typedef struct batch {
	rdms_event *ev;
	size_t      n, cap;
	int64_t     now_us;
} batch;

static rdms_event *batch_add(batch *b, uint8_t kind)
{
	if (b->n == b->cap) {
		size_t cap = b->cap != 0 ? b->cap * 2 : 16;
		rdms_event *ev = realloc(b->ev, cap * sizeof *ev);

		if (ev == NULL)
			return NULL;
		b->ev = ev;
		b->cap = cap;
	}
	memset(&b->ev[b->n], 0, sizeof b->ev[b->n]);
	b->ev[b->n].kind = kind;
	b->ev[b->n].time_us = b->now_us;
	return &b->ev[b->n++];
}

static void batch_free(batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		rdms_event_clear(&b->ev[i]);
	free(b->ev);
}

static int by_id(const void *a, const void *b)
{
	const rdms_session *x = *(const rdms_session *const *)a;
	const rdms_session *y = *(const rdms_session *const *)b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* the listing's order among equal ids: the first one wins */
	return (x > y) - (x < y);
}

/*
 * True when the N sessions of S are listed by SessionId already (as the
 * back-ends list them): then by_id would leave them as they are, and a
 * sort of 10,000 pointers to 600-byte records costs more than the rest of
 * the comparison.
 */
static bool in_id_order(const rdms_session *s, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (s[i - 1].id > s[i].id)
			return false;
	return true;
}

static bool same_identity(const rdms_event_session *old, const rdms_session *s)
{
	return old->logon_time == s->logon_time && old->server_pid == (int32_t)s->server_pid &&
	       old->uid == (uint32_t)s->uid;
}

/* True when a class property of the session differs (the rest are the host's). */
static bool class_changed(const rdms_event_session *old, const rdms_session *s)
{
	return old->connect_state != s->connect_state || strcmp(old->user, s->user) != 0 ||
	       strcmp(old->client, s->client) != 0;
}

static rdms_feed_backend *find_backend(rdms_feed *f, const char *name)
{
	rdms_feed_backend *b;

	for (size_t i = 0; i < f->nbackends; i++)
		if (strcmp(f->backends[i].name, name) == 0)
			return &f->backends[i];
	b = realloc(f->backends, (f->nbackends + 1) * sizeof *b);
	if (b == NULL)
		return NULL;
	f->backends = b;
	b = &f->backends[f->nbackends++];
	memset(b, 0, sizeof *b);
	b->name = name;
	return b;
}

/* One step of the merge: what happens to an old and/or a new session. */
typedef struct step {
	uint8_t  what;       /* KEEP, CREATE, MODIFY, DELETE */
	uint32_t old;        /* index into the old listing (KEEP, MODIFY, DELETE) */
	uint32_t new_;       /* index into the sorted new one (KEEP, CREATE, MODIFY) */
} step;

enum { KEEP, CREATE, MODIFY, DELETE };

/*
 * Room for the events of PLAN at once: 10,000 sessions appearing are one
 * block of 10,000 events, not a doubling one with copies on the way.
 */
static bool batch_size(batch *b, const step *plan, size_t nplan)
{
	size_t n = 0;

	for (size_t p = 0; p < nplan; p++)
		n += plan[p].what != KEEP;
	if (n == 0)
		return true;
	b->ev = malloc(n * sizeof *b->ev);
	b->cap = b->ev != NULL ? n : 0;
	return b->ev != NULL;
}

/*
 * Pass 1, no allocation: the steps from OLD (sorted, NOLD) to the sorted
 * listing SORTED (NNEW) into PLAN (room for NOLD + NNEW + NNEW).
 */
static size_t plan_steps(const rdms_event_session *old, size_t nold,
                         const rdms_session *const *sorted, size_t nnew, step *plan)
{
	size_t i = 0, j = 0, n = 0;

	while (i < nold || j < nnew) {
		const rdms_session *s = j < nnew ? sorted[j] : NULL;

		if (s != NULL && j > 0 && sorted[j - 1]->id == s->id) {
			j++;                               /* a duplicate id: the first counts */
			continue;
		}
		if (s == NULL || (i < nold && old[i].id < s->id)) {
			plan[n++] = (step){ DELETE, (uint32_t)i++, 0 };
			continue;
		}
		if (i < nold && old[i].id == s->id && same_identity(&old[i], s)) {
			plan[n++] = (step){ class_changed(&old[i], s) ? MODIFY : KEEP, (uint32_t)i,
			                    (uint32_t)j };
			i++;
			j++;
			continue;
		}
		/* the key may name another session now: it ended, a new one began */
		if (i < nold && old[i].id == s->id)
			plan[n++] = (step){ DELETE, (uint32_t)i++, 0 };
		plan[n++] = (step){ CREATE, 0, (uint32_t)j++ };
	}
	return n;
}

/*
 * Pass 2: the new strings, in NEXT and in the events; nothing of the old
 * listing is touched, so on failure the caller frees what was made.
 */
static bool make_strings(const step *plan, size_t nplan, const rdms_event_session *old,
                         const rdms_session *const *sorted, const char *backend,
                         rdms_event_session *next, batch *ev, char **addr)
{
	size_t k = 0;

	for (size_t p = 0; p < nplan; p++) {
		const rdms_session *s = sorted[plan[p].new_];
		rdms_event *e;

		addr[p] = NULL;
		if (plan[p].what == DELETE) {
			if (batch_add(ev, RDMS_EVENT_DELETION) == NULL)
				return false;
			continue;
		}
		if (plan[p].what == KEEP) {
			const rdms_event_session *o = &old[plan[p].old];
			rdms_event_session fresh;

			if (strcmp(o->client_addr, s->client_addr) != 0) {
				if (!rdms_event_session_set_texts(&fresh, o->user, o->client,
				                                  s->client_addr))
					return false;
				addr[p] = fresh.user;
			}
			k++;
			continue;
		}
		e = batch_add(ev, plan[p].what == CREATE ? RDMS_EVENT_CREATION :
		              RDMS_EVENT_MODIFICATION);
		if (e == NULL || !rdms_event_session_from(&e->target, s))
			return false;
		e->target.backend = backend;      /* the name the feed knows it by */
		if (!rdms_event_session_copy(&next[k++], &e->target))
			return false;
	}
	return true;
}

/* ES's texts become those of BLOCK (one of rdms_event_session_set_texts); the old ones are freed. */
static void replace_texts(rdms_event_session *es, char *block)
{
	free(es->user);
	es->user = block;
	es->client = block + strlen(block) + 1;
	es->client_addr = es->client + strlen(es->client) + 1;
}

/* Pass 3, cannot fail: the old listing's strings move to NEXT and the events. */
static size_t move_old(const step *plan, size_t nplan, rdms_event_session *old,
                       const rdms_session *const *sorted, rdms_event_session *next,
                       rdms_event *ev, char **addr)
{
	size_t k = 0, e = 0;

	for (size_t p = 0; p < nplan; p++) {
		rdms_event_session *o = &old[plan[p].old];

		switch (plan[p].what) {
		case DELETE:
			ev[e++].target = *o;
			break;
		case MODIFY:
			ev[e++].previous = *o;
			k++;
			break;
		case CREATE:
			e++;
			k++;
			break;
		default:
			next[k] = *o;
			next[k].display = sorted[plan[p].new_]->display;
			if (addr[p] != NULL)
				replace_texts(&next[k], addr[p]);   /* its address changed */
			k++;
			memset(o, 0, sizeof *o);
			continue;
		}
		if (plan[p].what != CREATE)
			memset(o, 0, sizeof *o);
	}
	return k;
}

void rdms_event_sessions_free(rdms_event_session *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rdms_event_session_clear(&s[i]);
	free(s);
}

long rdms_feed_observe(rdms_feed *f, const char *backend, const rdms_session *s, size_t n,
                       int64_t now_us)
{
	const rdms_session **sorted = calloc(n != 0 ? n : 1, sizeof(const rdms_session *));
	rdms_event_session *next = calloc(n != 0 ? n : 1, sizeof *next);
	batch ev = { .now_us = now_us };
	step *plan = NULL;
	char **addr = NULL;
	rdms_feed_backend *b;
	size_t nplan = 0, nnext = 0;
	long made = -1;

	if (sorted == NULL || next == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		sorted[i] = &s[i];
	if (!in_id_order(s, n))
		qsort(sorted, n, sizeof(const rdms_session *), by_id);
	pthread_mutex_lock(&f->lock);
	if ((b = find_backend(f, backend)) == NULL ||
	    (plan = malloc((b->n + 2 * n + 1) * sizeof *plan)) == NULL)
		goto unlock;
	nplan = plan_steps(b->s, b->n, sorted, n, plan);
	if (!batch_size(&ev, plan, nplan) || (addr = calloc(nplan + 1, sizeof *addr)) == NULL ||
	    !make_strings(plan, nplan, b->s, sorted, b->name, next, &ev, addr)) {
		for (size_t p = 0; addr != NULL && p < nplan; p++)
			free(addr[p]);
		goto unlock;
	}
	/* positions first: the batch still owns its strings if this fails */
	if (!rdms_feed_reserve(f, ev.ev, ev.n))
		goto unlock_free_addr;
	nnext = move_old(plan, nplan, b->s, sorted, next, ev.ev, addr);
	rdms_feed_append(f, ev.ev, ev.n, now_us);
	made = (long)ev.n;
	free(ev.ev);
	ev = (batch){ 0 };            /* the journal owns the events now */
	rdms_event_sessions_free(b->s, b->n);    /* only what moved nowhere: nothing, or zeroes */
	b->s = next;
	b->n = nnext;
	next = NULL;
	goto unlock;
unlock_free_addr:
	for (size_t p = 0; p < nplan; p++)
		free(addr[p]);
unlock:
	pthread_mutex_unlock(&f->lock);
out:
	if (next != NULL)
		rdms_event_sessions_free(next, n);
	batch_free(&ev);
	free(addr);
	free(plan);
	free(sorted);
	return made;
}

bool rdms_feed_restore_session(rdms_feed *f, const char *backend, rdms_event_session *es)
{
	rdms_feed_backend *b = find_backend(f, backend);
	rdms_event_session *s;
	size_t at;

	if (b == NULL || (s = realloc(b->s, (b->n + 1) * sizeof *s)) == NULL)
		return false;
	b->s = s;
	/* sorted by id, first come first kept (the store reads them in order) */
	for (at = b->n; at > 0 && s[at - 1].id > es->id; at--)
		;
	if (at > 0 && s[at - 1].id == es->id) {
		rdms_event_session_clear(es);
		return true;
	}
	memmove(&s[at + 1], &s[at], (b->n - at) * sizeof *s);
	s[at] = *es;
	b->n++;
	memset(es, 0, sizeof *es);
	return true;
}

void rdms_differ_free(rdms_feed *f)
{
	for (size_t i = 0; i < f->nbackends; i++)
		rdms_event_sessions_free(f->backends[i].s, f->backends[i].n);
	free(f->backends);
	f->backends = NULL;
	f->nbackends = 0;
}

bool rdms_feed_state(rdms_feed *f, rdms_event_session **out, size_t *n, rdms_feed_pos *at)
{
	rdms_event_session *s = NULL;
	size_t total = 0, k = 0;
	bool ok = true;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nbackends; i++)
		total += f->backends[i].n;
	if (total > 0 && (s = calloc(total, sizeof *s)) == NULL)
		ok = false;
	for (size_t i = 0; ok && s != NULL && i < f->nbackends; i++)
		for (size_t j = 0; ok && j < f->backends[i].n && k < total; j++)
			if ((ok = rdms_event_session_copy(&s[k], &f->backends[i].s[j])))
				s[k++].backend = f->backends[i].name;
	*at = f->last;
	pthread_mutex_unlock(&f->lock);
	if (!ok) {
		rdms_event_sessions_free(s, k);
		s = NULL;
		k = 0;
	}
	*out = s;
	*n = k;
	return ok;
}

/*
 * wsman_enum.c -- enumeration contexts: the rest of a result between an
 * Enumerate and its Pulls.
 *
 * A context holds a cursor over the instances of the Enumerate (the session
 * snapshot it ran on, as WinRM gives one; a query's result as a list) and
 * how items are to be written.  It belongs to the caller who opened it: another
 * user's Pull of the same id gets InvalidEnumerationContext, exactly as an
 * unknown id, so ids reveal nothing.  Contexts expire enumeration_timeout_s
 * after their last use and each caller may hold only per_user of them
 * (max_enumerations_per_user), so clients that never finish cannot pin memory.
 *
 * A Pull takes its context out of the table while it writes the reply and
 * puts it back if items remain; a concurrent Pull of the same context then
 * sees it as unknown rather than racing on the position.
 */
#include "wsman_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../common/monotime.h"

void wsman_enum_init(wsman_enum_table *t, int timeout_s)
{
	pthread_mutex_init(&t->lock, NULL);
	t->head = NULL;
	t->count = 0;
	t->timeout_s = timeout_s > 0 ? timeout_s : 60;
	t->per_user = WSMAN_CTX_PER_USER;
}

void wsman_enum_destroy(wsman_enum_table *t)
{
	while (t->head != NULL) {
		wsman_enum_ctx *n = t->head->next;
		wsman_enum_ctx_free(t->head);
		t->head = n;
	}
	t->count = 0;
	pthread_mutex_destroy(&t->lock);
}

wsman_enum_ctx *wsman_enum_new(const char *owner)
{
	wsman_enum_ctx *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->owner = strdup(owner);
	if (c->owner == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void wsman_enum_ctx_free(wsman_enum_ctx *c)
{
	if (c == NULL)
		return;
	rdms_cursor_free(c->cur);
	cim_instance_list_free(&c->items);
	if (c->query != NULL)
		wql_free(c->query);
	free(c->classes);
	free(c->uri);
	free(c->ns_selector);
	free(c->ns);
	free(c->class_name);
	free(c->wql);
	free(c->owner);
	free(c);
}

/* Drops expired contexts; the lock is held. */
static void purge(wsman_enum_table *t, time_t now)
{
	wsman_enum_ctx **pp = &t->head;

	while (*pp != NULL) {
		wsman_enum_ctx *c = *pp;

		if (c->expires <= now) {
			*pp = c->next;
			wsman_enum_ctx_free(c);
			t->count--;
		} else {
			pp = &c->next;
		}
	}
}

bool wsman_enum_put(wsman_enum_table *t, wsman_enum_ctx *c, wsman_fault *f)
{
	time_t now = mono_s();
	size_t mine = 0;

	pthread_mutex_lock(&t->lock);
	purge(t, now);
	for (wsman_enum_ctx *o = t->head; o != NULL; o = o->next)
		if (strcmp(o->owner, c->owner) == 0)
			mine++;
	if (mine >= t->per_user || t->count >= WSMAN_CTX_TOTAL) {
		pthread_mutex_unlock(&t->lock);
		return wsman_fail(f, WBEM_E_QUOTA_VIOLATION, "wsman:QuotaLimit", NULL,
		                  "too many open enumerations (%zu for this user); finish or "
		                  "Release them, or wait %d s for them to expire", mine,
		                  t->timeout_s);
	}
	wsman_uuid(c->id, sizeof c->id);
	c->expires = now + t->timeout_s;
	c->next = t->head;
	t->head = c;
	t->count++;
	pthread_mutex_unlock(&t->lock);
	return true;
}

wsman_enum_ctx *wsman_enum_take(wsman_enum_table *t, const char *id, const char *owner)
{
	wsman_enum_ctx **pp, *found = NULL;

	pthread_mutex_lock(&t->lock);
	purge(t, mono_s());
	for (pp = &t->head; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, id) == 0 && strcmp((*pp)->owner, owner) == 0) {
			found = *pp;
			*pp = found->next;
			found->next = NULL;
			t->count--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

void wsman_enum_return(wsman_enum_table *t, wsman_enum_ctx *c)
{
	pthread_mutex_lock(&t->lock);
	c->expires = mono_s() + t->timeout_s;
	c->next = t->head;
	t->head = c;
	t->count++;
	pthread_mutex_unlock(&t->lock);
}

size_t wsman_enum_count(wsman_enum_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	purge(t, mono_s());
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

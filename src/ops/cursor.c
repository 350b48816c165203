/*
 * cursor.c -- an enumeration taken one instance at a time, for a reply
 * written while it is sent (ops.h: rdms_op_cursor).
 *
 * Sessions come from the snapshot the cursor holds a reference to, each
 * made into its instance only when asked for: nothing is listed, and
 * nothing later needs the back-ends or the privileged process, so the
 * transport's thread can take instances without blocking.  Every other
 * class (or a provider without a session cache) is enumerated when the
 * cursor opens, into a list the cursor hands out.  The rules are
 * rdms_op_enumerate's: same order, same authorisation (a caller who is not
 * an admin sees sessions of their uid only), and whatever can fail fails
 * when the cursor opens, except running out of memory.
 */
#include <stdlib.h>
#include <string.h>

#include "../wql/wql.h"
#include "ops.h"
#include "provider.h"

struct rdms_cursor {
	const rdms_config *cfg;
	const wql_query   *match;     /* instances that do not match are skipped; may be NULL */
	size_t             left;      /* visible instances not yet handed out (before matching) */
	size_t             text_max;  /* the most text one instance carries */
	/* sessions from a snapshot */
	rdms_snapshot     *snap;
	uid_t              uid;
	bool               all;       /* an admin: every session */
	size_t             i, n;
	/* or any class, listed when the cursor opened */
	cim_instance_list  list;
	/* instances given back (rdms_cursor_unget), the next one last */
	cim_instance_list  back;
};

static bool sessions_from_snapshot(const rdms_provider *p, const rdms_class_provider *cp)
{
	return p->cache != NULL && cp == &rdms_session_provider;
}

/* C reads the sessions of SNAP (its reference taken over) that WHO may see. */
static void cursor_on(rdms_cursor *c, const rdms_provider *p, const rdms_caller *who,
                      rdms_snapshot *snap)
{
	c->snap = snap;
	c->uid = who->uid;
	c->all = who->is_admin;
	c->n = rdms_snapshot_count(c->snap);
	c->left = c->n;
	if (!c->all) {
		c->left = 0;
		for (size_t i = 0; i < c->n; i++)
			c->left += rdms_snapshot_uid(c->snap, i) == c->uid;
	}
	c->text_max = rdms_session_text_max(p->cfg);
}

uint32_t rdms_op_cursor(rdms_provider *p, const rdms_caller *who, const char *ns,
                        const char *class_name, const wql_query *match, rdms_cursor **out,
                        rdms_error *err)
{
	const rdms_class_provider *cp = rdms_op_class_provider(p, ns, class_name, err);
	rdms_cursor *c;
	uint32_t rc;

	*out = NULL;
	if (cp == NULL)
		return err->code;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	c->cfg = p->cfg;
	c->match = match;
	if (sessions_from_snapshot(p, cp)) {
		rdms_snapshot *snap;

		rc = rdms_session_cache_get(p->cache, &snap, err);
		if (rc != WBEM_S_NO_ERROR) {
			free(c);
			return rc;
		}
		cursor_on(c, p, who, snap);
	} else {
		cim_instance_list l = { 0 };

		free(c);
		rc = rdms_op_enumerate(p, who, ns, class_name, &l, err);
		if (rc != WBEM_S_NO_ERROR)
			return rc;
		if ((c = rdms_cursor_of_list(&l)) == NULL) {
			cim_instance_list_free(&l);
			return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		}
		c->match = match;
	}
	*out = c;
	return WBEM_S_NO_ERROR;
}

uint32_t rdms_op_cursor_snapshot(rdms_provider *p, const rdms_caller *who, const char *ns,
                                 const char *class_name, rdms_snapshot *snap,
                                 rdms_cursor **out, rdms_error *err)
{
	const rdms_class_provider *cp = rdms_op_class_provider(p, ns, class_name, err);
	rdms_cursor *c;

	*out = NULL;
	if (cp == NULL) {
		rdms_snapshot_release(snap);
		return err->code;
	}
	if (cp != &rdms_session_provider) {
		rdms_snapshot_release(snap);
		return rdms_fail(err, WBEM_E_INVALID_CLASS, "%s is not the session class", class_name);
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		rdms_snapshot_release(snap);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	c->cfg = p->cfg;
	cursor_on(c, p, who, snap);
	*out = c;
	return WBEM_S_NO_ERROR;
}

/* The next visible instance, matching or not; NULL at the end or (ERR set) failing. */
static cim_instance *next_visible(rdms_cursor *c, rdms_error *err)
{
	cim_instance *inst;

	if (c->snap == NULL) {
		if (c->i >= c->list.count)
			return NULL;
		inst = c->list.items[c->i];
		c->list.items[c->i++] = NULL;
		c->left--;
		return inst;
	}
	while (c->i < c->n && !c->all && rdms_snapshot_uid(c->snap, c->i) != c->uid)
		c->i++;
	if (c->i >= c->n)
		return NULL;
	{
		rdms_session s;

		rdms_snapshot_at(c->snap, c->i++, &s);
		c->left--;
		inst = rdms_session_instance(c->cfg, &s);
	}
	if (inst == NULL)
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	return inst;
}

rdms_cursor *rdms_cursor_of_list(cim_instance_list *l)
{
	rdms_cursor *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	c->list = *l;
	c->left = l->count;
	*l = (cim_instance_list){ 0 };
	for (size_t i = 0; i < c->list.count; i++) {
		size_t t = cim_instance_text_bytes(c->list.items[i]);

		if (t > c->text_max)
			c->text_max = t;
	}
	return c;
}

bool rdms_cursor_unget(rdms_cursor *c, cim_instance *inst)
{
	if (!cim_instance_list_push(&c->back, inst))
		return false;
	c->left++;
	return true;
}

cim_instance *rdms_cursor_next(rdms_cursor *c, rdms_error *err)
{
	cim_instance *inst;

	err->code = WBEM_S_NO_ERROR;
	if (c->back.count > 0) {
		c->left--;
		return c->back.items[--c->back.count];
	}
	while ((inst = next_visible(c, err)) != NULL) {
		if (c->match == NULL || wql_match(c->match, inst))
			return inst;
		cim_instance_free(inst);
	}
	return NULL;
}

size_t rdms_cursor_left(const rdms_cursor *c)
{
	return c->left;
}

size_t rdms_cursor_text_max(const rdms_cursor *c)
{
	return c->text_max;
}

void rdms_cursor_free(rdms_cursor *c)
{
	if (c == NULL)
		return;
	if (c->snap != NULL)
		rdms_snapshot_release(c->snap);
	cim_instance_list_free(&c->list);
	cim_instance_list_free(&c->back);
	free(c);
}

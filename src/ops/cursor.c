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
 *
 * A class whose provider pages (a fleet broker's directory) is read one
 * keyset page at a time instead: the cursor holds the page it hands out
 * and reads the next when that is done, so its memory is one page's
 * whatever the directory holds.  A failure of a later page (the store
 * went away) ends it like running out of memory does: with ERR set.
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
	/* or any class, listed when the cursor opened (a paging class: one page of it) */
	cim_instance_list  list;
	/* a class that pages: where the next page starts, and whether there is one */
	const struct rdms_class_provider *pager;
	rdms_provider     *p;
	rdms_caller        who;       /* a copy: a cursor outlives its request's caller */
	rdms_key           key;       /* of the last instance read */
	bool               started;   /* KEY is set */
	bool               more;      /* the last page was full: another may follow */
	size_t             page_rows; /* of the next page (0: the first, FIRST_ROWS) */
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

/*
 * Instances of a page per read: 128, then 512, then 1,000 (~300 KB held at
 * most).  The first pages are small, as a reply that is full leaves the
 * rest of its page unsent, read for nothing (the next request reads on
 * from the key of its last item): a WS-Man reply of PowerShell's 512,000
 * bytes takes ~530 sessions, and with pages of 1,000 each Pull read ~470
 * it threw away (now ~110).  Later ones are big, as each page is a read
 * transaction of its own, which in WAL mode starts with a cold cache
 * whenever the ingest wrote meanwhile (a query of 2,000 sessions: 4 pages,
 * not 16).
 */
#define FIRST_ROWS 128
#define PAGE_ROWS  1000

/* rdms_instance_fn: an instance of the page being read onto C's list. */
static uint32_t page_row(void *ctx, cim_instance *inst, size_t left, rdms_error *err)
{
	rdms_cursor *c = ctx;
	size_t t = cim_instance_text_bytes(inst);

	(void)left;
	if (!cim_instance_list_push(&c->list, inst)) {
		cim_instance_free(inst);
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	}
	if (t > c->text_max)
		c->text_max = t;
	return WBEM_S_NO_ERROR;
}

/* C's next page in place of the one it has handed out. */
static uint32_t read_page(rdms_cursor *c, rdms_error *err)
{
	size_t rows = 0, limit;
	uint32_t rc;

	cim_instance_list_free(&c->list);
	c->i = 0;
	c->text_max = 0;
	limit = c->page_rows != 0 ? c->page_rows : FIRST_ROWS;
	c->page_rows = limit * 4 < PAGE_ROWS ? limit * 4 : PAGE_ROWS;
	rc = c->pager->page(c->p, &c->who, c->match, c->started ? &c->key : NULL, limit,
	                    page_row, c, &rows, err);
	if (rc != WBEM_S_NO_ERROR) {
		cim_instance_list_free(&c->list);
		c->more = false;
		return rc;
	}
	c->more = rows == limit && c->list.count > 0;
	if (c->list.count > 0) {
		c->pager->key_of(c->list.items[c->list.count - 1], &c->key);
		c->started = true;
	}
	c->left = c->list.count;
	return WBEM_S_NO_ERROR;
}

static const rdms_class_provider *pager_of(const rdms_class_provider *cp)
{
	return cp != NULL && cp->page != NULL && cp->key_of != NULL ? cp : NULL;
}

bool rdms_op_pages(const rdms_provider *p, const char *ns, const char *class_name)
{
	rdms_error ignored = { 0 };

	return class_name != NULL &&
	       pager_of(rdms_op_class_provider(p, ns, class_name, &ignored)) != NULL;
}

uint32_t rdms_op_cursor_after(rdms_provider *p, const rdms_caller *who, const char *ns,
                              const char *class_name, const wql_query *match,
                              const rdms_key *after, rdms_cursor **out, rdms_error *err)
{
	const rdms_class_provider *cp = rdms_op_class_provider(p, ns, class_name, err);
	rdms_cursor *c;
	uint32_t rc;

	*out = NULL;
	if (cp == NULL)
		return err->code;
	if (pager_of(cp) == NULL)
		return rdms_fail(err, WBEM_E_INVALID_OPERATION, "%s is not read page by page",
		                 cp->cls->name);
	if ((c = calloc(1, sizeof *c)) == NULL)
		return rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
	c->cfg = p->cfg;
	c->match = match;
	c->pager = cp;
	c->p = p;
	c->who = *who;
	/* what points into the request is not kept: a page needs the user and the rule */
	c->who.protocol = c->who.source = c->who.broker = c->who.message_id = NULL;
	if (after != NULL) {
		c->key = *after;
		c->started = true;
	}
	if ((rc = read_page(c, err)) != WBEM_S_NO_ERROR) {
		rdms_cursor_free(c);
		return rc;
	}
	*out = c;
	return WBEM_S_NO_ERROR;
}

bool rdms_cursor_key_of(const rdms_cursor *c, const cim_instance *inst, rdms_key *out)
{
	if (c->pager == NULL)
		return false;
	c->pager->key_of(inst, out);
	return true;
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
	if (pager_of(cp) != NULL)
		return rdms_op_cursor_after(p, who, ns, class_name, match, NULL, out, err);
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
		/* the next page at once: a cursor whose page is done has no more */
		if (c->i >= c->list.count && c->more && read_page(c, err) != WBEM_S_NO_ERROR) {
			cim_instance_free(inst);
			return NULL;
		}
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
	/* pages yet to read: unknown, so many that no reply expects them all */
	return c->more ? c->left + SIZE_MAX / 4 : c->left;
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

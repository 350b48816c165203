/*
 * cli_output.c -- how `rdms` prints instances: an aligned table for people,
 * JSON keyed by the exact property names for scripts, and a MOF-like block
 * for a single instance (as omicli and wbemcli users are used to).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../backend/backend.h"
#include "../common/log.h"
#include "../schema/schema.h"

static void print_error(const rdms_error *err, const char *hint)
{
	const wbem_code *c = wbem_lookup(err->code);

	fprintf(stderr, "%s: %s (0x%08X): %s%s\n", log_progname(),
	        c ? c->name : "WBEM_E_FAILED", (unsigned)err->code,
	        err->message[0] ? err->message : (c ? c->text : "failed"), hint);
}

int cli_report(const rdms_error *err)
{
	print_error(err, "");
	return CLI_FAILED;
}

int cli_report_usage(const rdms_error *err)
{
	print_error(err, " (try 'rdms --help')");
	return CLI_USAGE;
}

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void json_value(FILE *f, const cim_value *v)
{
	char buf[32];

	if (v->is_null) {
		fputs("null", f);
		return;
	}
	switch (v->type) {
	case CIM_TYPE_STRING:
	case CIM_TYPE_DATETIME:
		cli_json_string(f, v->u.str);
		break;
	case CIM_TYPE_BOOLEAN:
		fputs(v->u.boolean ? "true" : "false", f);
		break;
	default:
		fputs(cim_value_text(v, buf, sizeof buf), f);
	}
}

static bool selected(const wql_query *q, size_t i)
{
	return q == NULL || wql_selects(q, i);
}

/* INST's properties that Q selects (all: NULL), keys too when KEYS, as JSON members. */
static void json_members(FILE *f, const cim_instance *inst, const wql_query *q, bool keys)
{
	bool first = true;

	for (size_t i = 0; i < inst->cls->nprops; i++) {
		if (!selected(q, i) || (!keys && inst->cls->props[i].is_key))
			continue;
		fputs(first ? "" : ", ", f);
		first = false;
		cli_json_string(f, inst->cls->props[i].name);
		fputs(": ", f);
		json_value(f, &inst->values[i]);
	}
}

void cli_print_json_instance(FILE *f, const cim_instance *inst, const wql_query *q)
{
	fputc('{', f);
	json_members(f, inst, q, true);
	fputc('}', f);
}

void cli_print_json_list(FILE *f, const cim_instance_list *l, const wql_query *q)
{
	fputs("[", f);
	for (size_t i = 0; i < l->count; i++) {
		fputs(i ? ",\n " : "", f);
		cli_print_json_instance(f, l->items[i], q);
	}
	fputs("]\n", f);
}

/* The Windows class's ConnectState, printed with its word ("0 (Active)"). */
static bool is_connect_state(const cim_instance *inst, size_t i)
{
	return inst->cls == &rdms_class_Win32_VirtualDesktopSession &&
	       i == RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE;
}

const char *cli_value_text(const cim_instance *inst, size_t i, char *buf, size_t size)
{
	const cim_value *v = &inst->values[i];

	if (is_connect_state(inst, i) && !v->is_null)
		snprintf(buf, size, "%u (%s)", (unsigned)v->u.u32, wts_state_name(v->u.u32));
	else
		cim_value_text(v, buf, size);
	return buf;
}

/* Properties a table states once above it when every row has the same value. */
static bool context_property(const cim_class *cls, size_t i)
{
	return cls == &rdms_class_Win32_VirtualDesktopSession &&
	       (i == RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME ||
	        i == RDMS_WIN32_VIRTUALDESKTOPSESSION_VMNAME ||
	        i == RDMS_WIN32_VIRTUALDESKTOPSESSION_DOMAINNAME ||
	        i == RDMS_WIN32_VIRTUALDESKTOPSESSION_COLLECTIONID);
}

/*
 * A table of ROWS x COLS cells (row-major; CELLS[c] the titles), printed
 * aligned.  With two rows or more, a column marked SAME_OK whose cells are
 * all equal is said once on a line above the table ("VMHOST h1  VM vm1")
 * instead of on every row.
 */
static void print_cells(FILE *f, char **cells, size_t rows, size_t cols, const bool *same_ok)
{
	bool shown[64] = { false }, any = false;
	size_t width[64] = { 0 };

	if (cols > 64)
		cols = 64;
	for (size_t c = 0; c < cols; c++) {
		bool same = rows >= 2 && same_ok != NULL && same_ok[c];

		for (size_t r = 2; same && r <= rows; r++)
			same = strcmp(cells[r * cols + c], cells[cols + c]) == 0;
		shown[c] = !same;
		if (same) {
			fprintf(f, "%s%s %s", any ? "  " : "", cells[c], cells[cols + c]);
			any = true;
		}
		width[c] = 0;
		for (size_t r = 0; r <= rows; r++)
			if (strlen(cells[r * cols + c]) > width[c])
				width[c] = strlen(cells[r * cols + c]);
	}
	if (any)
		fputc('\n', f);
	for (size_t r = 0; r <= rows; r++) {
		size_t last = cols;

		while (last > 0 && !shown[last - 1])
			last--;
		for (size_t c = 0; c < last; c++)
			if (shown[c])
				fprintf(f, "%-*s%s", c + 1 < last ? (int)width[c] : 0, cells[r * cols + c],
				        c + 1 < last ? "  " : "");
		fputc('\n', f);
	}
}

static void free_cells(char **cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cells[i]);
	free(cells);
}

void cli_print_table(FILE *f, const cim_instance_list *l, const wql_query *q)
{
	const cim_class *cls = q != NULL ? wql_class(q) : &rdms_class_Win32_VirtualDesktopSession;
	size_t idx[64], cols = 0;
	bool same_ok[64];
	char **cells, buf[512];

	for (size_t i = 0; i < cls->nprops && cols < 64; i++)
		if (selected(q, i)) {
			same_ok[cols] = context_property(cls, i);
			idx[cols++] = i;
		}
	cells = calloc((l->count + 1) * cols + 1, sizeof *cells);
	if (cells == NULL)
		return;
	for (size_t c = 0; c < cols; c++)
		cells[c] = strdup(cls->props[idx[c]].name);
	for (size_t r = 0; r < l->count; r++)
		for (size_t c = 0; c < cols; c++)
			cells[(r + 1) * cols + c] = strdup(cli_value_text(l->items[r], idx[c], buf,
			                                                  sizeof buf));
	for (size_t i = 0; i < (l->count + 1) * cols; i++)
		if (cells[i] == NULL) {
			free_cells(cells, (l->count + 1) * cols);
			return;
		}
	print_cells(f, cells, l->count, cols, same_ok);
	free_cells(cells, (l->count + 1) * cols);
}

void cli_print_instance(FILE *f, const cim_instance *inst)
{
	char buf[512];

	fprintf(f, "instance of %s\n{\n", inst->cls->name);
	for (size_t i = 0; i < inst->cls->nprops; i++)
		fprintf(f, "    %s%s = %s\n", inst->cls->props[i].is_key ? "[Key] " : "",
		        inst->cls->props[i].name,
		        inst->values[i].is_null ? "NULL" : cli_value_text(inst, i, buf, sizeof buf));
	fputs("}\n", f);
}

/* ---- the session listing ---------------------------------------------------- */

void cli_idle_text(const cim_value *v, char *buf, size_t size)
{
	uint64_t s, min;

	if (v->is_null || v->type != CIM_TYPE_DATETIME || !cim_interval_to_seconds(v->u.str, &s)) {
		snprintf(buf, size, "-");
		return;
	}
	min = s / 60;
	if (min == 0)
		snprintf(buf, size, ".");
	else if (min < 60)
		snprintf(buf, size, "%u", (unsigned)min);
	else if (min < 24 * 60)
		snprintf(buf, size, "%u:%02u", (unsigned)(min / 60), (unsigned)(min % 60));
	else
		snprintf(buf, size, "%llu+%02u:%02u", (unsigned long long)(min / 1440),
		         (unsigned)(min / 60 % 24), (unsigned)(min % 60));
}

void cli_logon_text(const cim_value *v, char *buf, size_t size)
{
	int64_t t;
	time_t tt;
	struct tm tm;

	if (v->is_null || v->type != CIM_TYPE_DATETIME || !cim_datetime_to_unix(v->u.str, &t) ||
	    (tt = (time_t)t, localtime_r(&tt, &tm) == NULL) ||
	    strftime(buf, size, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, size, "-");
}

/* The RDMS_SessionDetail of the session INST, or NULL. */
static const cim_instance *detail_of(const cim_instance_list *details, const cim_instance *inst)
{
	const cim_value *id = &inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID];
	const cim_value *host = &inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME];

	for (size_t i = 0; details != NULL && i < details->count; i++) {
		const cim_value *v = details->items[i]->values;

		if (cim_value_equal(&v[RDMS_RDMS_SESSIONDETAIL_SESSIONID], id) &&
		    !host->is_null && !v[RDMS_RDMS_SESSIONDETAIL_VMHOSTNAME].is_null &&
		    strcasecmp(v[RDMS_RDMS_SESSIONDETAIL_VMHOSTNAME].u.str, host->u.str) == 0)
			return details->items[i];
	}
	return NULL;
}

enum col_from { FROM_SESSION, FROM_DETAIL, IDLE, LOGON, STATE };

static const struct list_col {
	const char   *title;
	enum col_from from;
	int           prop;
	bool          same_ok;     /* context: said once when every row has it */
} list_cols[] = {
	{ "SESSIONID", FROM_SESSION, RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID, false },
	{ "USER", FROM_SESSION, RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME, false },
	{ "DOMAIN", FROM_SESSION, RDMS_WIN32_VIRTUALDESKTOPSESSION_DOMAINNAME, true },
	{ "STATE", STATE, RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE, false },
	{ "IDLE TIME", IDLE, RDMS_RDMS_SESSIONDETAIL_IDLETIME, false },
	{ "LOGON TIME", LOGON, RDMS_RDMS_SESSIONDETAIL_LOGONTIME, false },
	{ "CLIENT", FROM_SESSION, RDMS_WIN32_VIRTUALDESKTOPSESSION_CLIENTMACHINENAME, false },
	{ "ADDRESS", FROM_DETAIL, RDMS_RDMS_SESSIONDETAIL_CLIENTADDRESS, false },
	{ "VM", FROM_SESSION, RDMS_WIN32_VIRTUALDESKTOPSESSION_VMNAME, true },
	{ "VMHOST", FROM_SESSION, RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME, true },
	{ "COLLECTION", FROM_SESSION, RDMS_WIN32_VIRTUALDESKTOPSESSION_COLLECTIONID, true },
	{ "SERVER", FROM_DETAIL, RDMS_RDMS_SESSIONDETAIL_SERVER, true },
};
#define LIST_COLS (sizeof list_cols / sizeof list_cols[0])

static void list_cell(const struct list_col *c, const cim_instance *inst,
                      const cim_instance *detail, char *buf, size_t size)
{
	static const cim_value none = { CIM_TYPE_NONE, true, { NULL } };
	const cim_value *dv = detail != NULL ? &detail->values[c->prop] : &none;

	switch (c->from) {
	case STATE:
		snprintf(buf, size, "%s", wts_state_name(inst->values[c->prop].u.u32));
		break;
	case IDLE:
		cli_idle_text(dv, buf, size);
		break;
	case LOGON:
		cli_logon_text(dv, buf, size);
		break;
	case FROM_DETAIL:
		cim_value_text(dv, buf, size);
		break;
	case FROM_SESSION:
		cim_value_text(&inst->values[c->prop], buf, size);
		break;
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "-");
}

/*
 * The quser/qwinsta-like listing.  DETAILS (RDMS_SessionDetail instances,
 * may be NULL or empty: a server that does not serve the class) give the
 * idle and logon times, the client's address and the server.
 */
void cli_print_sessions(FILE *f, const cim_instance_list *l, const cim_instance_list *details)
{
	size_t n = (l->count + 1) * LIST_COLS;
	char **cells = calloc(n + 1, sizeof *cells), buf[512];
	bool same_ok[LIST_COLS];

	if (cells == NULL)
		return;
	for (size_t c = 0; c < LIST_COLS; c++) {
		cells[c] = strdup(list_cols[c].title);
		same_ok[c] = list_cols[c].same_ok;
	}
	for (size_t r = 0; r < l->count; r++) {
		const cim_instance *d = detail_of(details, l->items[r]);

		for (size_t c = 0; c < LIST_COLS; c++) {
			list_cell(&list_cols[c], l->items[r], d, buf, sizeof buf);
			cells[(r + 1) * LIST_COLS + c] = strdup(buf);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (cells[i] == NULL) {
			free_cells(cells, n);
			return;
		}
	print_cells(f, cells, l->count, LIST_COLS, same_ok);
	free_cells(cells, n);
}

/*
 * `rdms list --json`: each session's object with the class's properties
 * and, under the key "RDMS_SessionDetail" (a class name, never one of its
 * properties), the detail's properties other than the keys.
 */
void cli_print_json_sessions(FILE *f, const cim_instance_list *l,
                             const cim_instance_list *details)
{
	fputs("[", f);
	for (size_t r = 0; r < l->count; r++) {
		const cim_instance *d = detail_of(details, l->items[r]);

		fputs(r ? ",\n {" : "{", f);
		json_members(f, l->items[r], NULL, true);
		if (d != NULL) {
			fputs(", ", f);
			cli_json_string(f, d->cls->name);
			fputs(": {", f);
			json_members(f, d, NULL, false);
			fputc('}', f);
		}
		fputc('}', f);
	}
	fputs("]\n", f);
}

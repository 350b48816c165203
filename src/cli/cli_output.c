/*
 * cli_output.c -- how `rdms` prints instances: an aligned table for people,
 * JSON keyed by the exact property names for scripts, and a MOF-like block
 * for a single instance (as omicli and wbemcli users are used to).
 */
#include "cli.h"

#include <string.h>

#include "../backend/backend.h"
#include "../common/log.h"
#include "../schema/schema.h"

int cli_report(const rdms_error *err)
{
	const wbem_code *c = wbem_lookup(err->code);

	fprintf(stderr, "%s: %s (0x%08X): %s\n", log_progname(),
	        c ? c->name : "WBEM_E_FAILED", (unsigned)err->code,
	        err->message[0] ? err->message : (c ? c->text : "failed"));
	return CLI_FAILED;
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

void cli_print_json_instance(FILE *f, const cim_instance *inst, const wql_query *q)
{
	bool first = true;

	fputc('{', f);
	for (size_t i = 0; i < inst->cls->nprops; i++) {
		if (!selected(q, i))
			continue;
		fputs(first ? "" : ", ", f);
		first = false;
		cli_json_string(f, inst->cls->props[i].name);
		fputs(": ", f);
		json_value(f, &inst->values[i]);
	}
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

void cli_print_table(FILE *f, const cim_instance_list *l, const wql_query *q)
{
	const cim_class *cls = &rdms_class_Win32_VirtualDesktopSession;
	size_t width[64] = { 0 };
	char buf[512];

	for (size_t i = 0; i < cls->nprops && i < 64; i++)
		width[i] = strlen(cls->props[i].name);
	for (size_t r = 0; r < l->count; r++)
		for (size_t i = 0; i < cls->nprops && i < 64; i++) {
			size_t n = strlen(cim_value_text(&l->items[r]->values[i], buf, sizeof buf));
			if (n > width[i])
				width[i] = n;
		}
	for (size_t i = 0; i < cls->nprops && i < 64; i++)
		if (selected(q, i))
			fprintf(f, "%-*s  ", (int)width[i], cls->props[i].name);
	fputc('\n', f);
	for (size_t r = 0; r < l->count; r++) {
		for (size_t i = 0; i < cls->nprops && i < 64; i++)
			if (selected(q, i))
				fprintf(f, "%-*s  ", (int)width[i],
				        cim_value_text(&l->items[r]->values[i], buf, sizeof buf));
		fputc('\n', f);
	}
}

void cli_print_instance(FILE *f, const cim_instance *inst)
{
	char buf[512];

	fprintf(f, "instance of %s\n{\n", inst->cls->name);
	for (size_t i = 0; i < inst->cls->nprops; i++)
		fprintf(f, "    %s%s = %s\n", inst->cls->props[i].is_key ? "[Key] " : "",
		        inst->cls->props[i].name,
		        inst->values[i].is_null ? "NULL"
		                                : cim_value_text(&inst->values[i], buf, sizeof buf));
	fputs("}\n", f);
}

/*
 * The qwinsta-like listing.  SL, when given (direct mode), adds which
 * remote-desktop server holds each session; over the network that detail
 * is not part of the class, so the column shows "-".
 */
void cli_print_sessions(FILE *f, const cim_instance_list *l, const rdms_session_list *sl)
{
	static const struct { const char *title; int prop; } cols[] = {
		{ "SESSIONID", RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID },
		{ "USER", RDMS_WIN32_VIRTUALDESKTOPSESSION_USERNAME },
		{ "DOMAIN", RDMS_WIN32_VIRTUALDESKTOPSESSION_DOMAINNAME },
		{ "STATE", RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE },
		{ "CLIENT", RDMS_WIN32_VIRTUALDESKTOPSESSION_CLIENTMACHINENAME },
		{ "VM", RDMS_WIN32_VIRTUALDESKTOPSESSION_VMNAME },
		{ "VMHOST", RDMS_WIN32_VIRTUALDESKTOPSESSION_VMHOSTNAME },
		{ "COLLECTION", RDMS_WIN32_VIRTUALDESKTOPSESSION_COLLECTIONID },
	};
	enum { NCOLS = sizeof cols / sizeof cols[0] };
	size_t width[NCOLS + 1];
	char buf[512];

	for (size_t c = 0; c < NCOLS; c++)
		width[c] = strlen(cols[c].title);
	width[NCOLS] = strlen("SERVER");
	for (size_t r = 0; r < l->count; r++) {
		for (size_t c = 0; c < NCOLS; c++) {
			const cim_value *v = &l->items[r]->values[cols[c].prop];
			size_t n = cols[c].prop == RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE
			           ? strlen(wts_state_name(v->u.u32))
			           : strlen(cim_value_text(v, buf, sizeof buf));
			if (n > width[c])
				width[c] = n;
		}
	}
	for (size_t c = 0; c < NCOLS; c++)
		fprintf(f, "%-*s  ", (int)width[c], cols[c].title);
	fprintf(f, "SERVER\n");
	for (size_t r = 0; r < l->count; r++) {
		const cim_instance *inst = l->items[r];
		const char *server = "-";

		for (size_t c = 0; c < NCOLS; c++) {
			const cim_value *v = &inst->values[cols[c].prop];
			const char *text = cols[c].prop == RDMS_WIN32_VIRTUALDESKTOPSESSION_CONNECTSTATE
			                   ? wts_state_name(v->u.u32)
			                   : cim_value_text(v, buf, sizeof buf);
			fprintf(f, "%-*s  ", (int)width[c], *text ? text : "-");
		}
		for (size_t i = 0; sl != NULL && i < sl->count; i++)
			if (sl->items[i].id == inst->values[RDMS_WIN32_VIRTUALDESKTOPSESSION_SESSIONID].u.u32)
				server = sl->items[i].backend->name;
		fprintf(f, "%s\n", server);
	}
}

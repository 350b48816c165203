/*
 * fuzz_backend.c -- what the session back-ends read that others write:
 * /proc/PID/stat and status (a process's name is its owner's choice, with
 * spaces, parentheses and line breaks), a command line, /proc/net/unix (a
 * socket's path is its creator's) and /proc/net/tcp, xrdp's log (the client
 * computer name is the RDP client's), X2Go's session list and state file.
 *
 * The first byte picks the reader; the rest is its text, given exactly
 * (length-taking readers) or as a C string.  Contract: a result that holds
 * together (every string terminated within its field, numbers in range),
 * or a failure that says why.
 */
#include "fuzz.h"

#include "backend/proc.h"
#include "backend/x2go/x2go_internal.h"
#include "backend/xrdp/xrdp_internal.h"
#include "common/utf8.h"

static int terminated(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

static void proc_stat(const char *text)
{
	xrdp_proc p;
	rdms_error err = { 0 };
	unsigned long long ticks;
	uint32_t rc = xrdp_parse_stat(text, &p, &err);

	if (rc == WBEM_S_NO_ERROR)
		FUZZ_CHECK(terminated(p.comm, sizeof p.comm) && p.pid > 0);
	else
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
	(void)rdms_proc_parse_starttime(text, &ticks);
}

static void proc_status(const char *text)
{
	char state = 0;
	uid_t uid = 0;
	rdms_error err = { 0 };
	long long btime;
	uint32_t rc = rdms_proc_parse_status(text, &state, &uid, &err);

	if (rc != WBEM_S_NO_ERROR)
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
	(void)rdms_proc_parse_btime(text, &btime);
}

static int first_arg(const char *arg, const char *next)
{
	(void)next;
	return arg[0] == '-' ? 1 : -1;
}

static void cmdline(const char *data, size_t size)
{
	x2go_agent a;
	rdms_error err = { 0 };
	const char *opt = rdms_cmdline_option(data, size, "-name");
	int display = rdms_cmdline_display(data, size);
	uint32_t rc;

	if (opt != NULL)
		FUZZ_CHECK(opt >= data && opt < data + size && memchr(opt, '\0', (size_t)(data + size - opt)));
	FUZZ_CHECK(display >= -1);
	FUZZ_CHECK(xrdp_cmdline_rfbport(data, size) >= -1);
	(void)rdms_cmdline_find(data, size, first_arg);
	rc = x2go_agent_parse_cmdline(data, size, &a, &err);
	if (rc == WBEM_S_NO_ERROR)
		FUZZ_CHECK(terminated(a.session, sizeof a.session) &&
		           terminated(a.xauth, sizeof a.xauth) && a.display >= -1);
	else
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
}

static void net_unix(const char *line)
{
	xrdp_unix_ent e;
	rdms_error err = { 0 };
	uint32_t rc = xrdp_parse_unix_line(line, &e, &err);

	if (rc == WBEM_S_NO_ERROR)
		FUZZ_CHECK(terminated(e.path, sizeof e.path));
	else
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
}

static void net_tcp(const char *line, bool v6)
{
	xrdp_tcp_ent e;
	rdms_error err = { 0 };
	uint32_t rc = xrdp_parse_tcp_line(line, v6, &e, &err);

	if (rc == WBEM_S_NO_ERROR)
		FUZZ_CHECK(terminated(e.laddr, sizeof e.laddr) && terminated(e.raddr, sizeof e.raddr) &&
		           e.lport <= 65535 && e.rport <= 65535);
	else
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
}

static void xrdp_log(const char *data, const char *terminated_copy, size_t size)
{
	xrdp_log_info li = { 0 };
	rdms_error err = { 0 };
	uint32_t rc = xrdp_log_scan(data, size, &li, &err);

	if (rc == WBEM_S_NO_ERROR) {
		bool utf8 = utf8_valid(terminated_copy, size);

		for (size_t i = 0; i < li.nnames; i++) {
			const xrdp_log_name *n = &li.names[i];

			FUZZ_CHECK(terminated(n->addr, sizeof n->addr) && terminated(n->name, sizeof n->name));
			FUZZ_CHECK(n->port <= 65535);
			for (const char *c = n->name; *c; c++)     /* it becomes ClientMachineName */
				FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
			/* a name cut to fit is cut between characters */
			if (utf8)
				FUZZ_CHECK(utf8_valid(n->name, strlen(n->name)));
			FUZZ_CHECK(xrdp_log_name_for(&li, n->addr, n->port) != NULL);
		}
		for (size_t i = 0; i < li.npeers; i++)
			FUZZ_CHECK(terminated(li.peers[i].addr, sizeof li.peers[i].addr));
	} else {
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
	}
	xrdp_log_free(&li);
}

static void x2go_list(const char *text)
{
	x2go_rows rows = { 0 };
	rdms_error err = { 0 };
	size_t bad = 0;
	uint32_t rc = x2go_list_parse(text, &rows, &bad, &err);

	if (rc == WBEM_S_NO_ERROR) {
		for (size_t i = 0; i < rows.n; i++) {
			const x2go_row *r = &rows.v[i];

			FUZZ_CHECK(terminated(r->session, sizeof r->session) && r->session[0] != '\0');
			FUZZ_CHECK(strchr(r->session, '/') == NULL);      /* it becomes a path */
			FUZZ_CHECK(terminated(r->user, sizeof r->user) && strchr(r->user, '/') == NULL);
			FUZZ_CHECK(terminated(r->client, sizeof r->client));
			FUZZ_CHECK(strchr("RSFT", r->status) != NULL && r->status != '\0');
		}
		if (bad > 0)
			FUZZ_CHECK(err.message[0] != '\0');
	} else {
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
	}
	x2go_rows_free(&rows);
}

static void x2go_state(const char *data, size_t size)
{
	enum x2go_state st;
	rdms_error err = { 0 };
	uint32_t rc = x2go_state_parse(data, size, &st, &err), wts;

	if (rc == WBEM_S_NO_ERROR) {
		FUZZ_CHECK(st >= X2GO_STARTING && st <= X2GO_TERMINATED);
		FUZZ_CHECK(x2go_state_name(st) != NULL);
		(void)x2go_state_wts(st, &wts);
	} else {
		FUZZ_CHECK(fuzz_error_set(rc, err.code, err.message));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *exact, *text;

	if (size == 0)
		return 0;
	exact = fuzz_exact(data + 1, size - 1);
	text = fuzz_cstr(data + 1, size - 1);
	if (exact != NULL && text != NULL) {
		switch (data[0] % 8) {
		case 0: proc_stat(text); break;
		case 1: proc_status(text); break;
		case 2: cmdline(exact, size - 1); break;
		case 3: net_unix(text); break;
		case 4: net_tcp(text, (data[0] & 8) != 0); break;
		case 5: xrdp_log(exact, text, size - 1); break;
		case 6: x2go_list(text); break;
		default: x2go_state(exact, size - 1); break;
		}
	}
	free(exact);
	free(text);
	return 0;
}

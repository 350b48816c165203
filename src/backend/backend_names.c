/*
 * backend_names.c -- the back-ends compiled in, by name only (backend.h),
 * for the processes that name back-ends but never run one: rdmsd-net and
 * rdmsd-broker (their sessions' actions are requests to the privileged
 * process, src/privsep/proxy.c), rdmsd-pam and rdmsd-ntlm (they speak
 * priv's wire, which names back-ends).  Linked instead of backend_table.c,
 * it keeps the back-ends' code out of those processes, and SQLite, which
 * X2Go's session database brings, with it.
 *
 * Nothing there calls a hook through this table; should anything ever do,
 * each hook refuses with a reason instead of running, and an available()
 * of false keeps it from being served.
 */
#include "backend.h"

#include "../common/strutil.h"

static const char refused[] = "back-ends run in rdmsd's privileged process, not in this one";

static bool no_available(const rdms_config *cfg)
{
	(void)cfg;
	return false;
}

static uint32_t refuse(rdms_error *err)
{
	return rdms_fail(err, WBEM_E_FAILED, "%s", refused);
}

static uint32_t no_enumerate(const rdms_config *cfg, rdms_session_list *out, rdms_error *err)
{
	(void)cfg;
	(void)out;
	return refuse(err);
}

static uint32_t no_action(const rdms_config *cfg, const rdms_session *s, rdms_error *err)
{
	(void)cfg;
	(void)s;
	return refuse(err);
}

static uint32_t no_send_message(const rdms_config *cfg, const rdms_session *s,
                                const char *title, const char *message,
                                const rdms_message_options *opt, rdms_error *err)
{
	(void)title;
	(void)message;
	(void)opt;
	return no_action(cfg, s, err);
}

static uint32_t no_find(const rdms_config *cfg, uint32_t id, rdms_session *out,
                        rdms_error *err)
{
	(void)cfg;
	(void)id;
	(void)out;
	return refuse(err);
}

static uint32_t no_each(const rdms_config *cfg, rdms_session_fn fn, void *ctx, rdms_error *err)
{
	(void)cfg;
	(void)fn;
	(void)ctx;
	return refuse(err);
}

static bool no_running(const rdms_config *cfg, char *why, size_t size)
{
	(void)cfg;
	str_copy(why, size, refused);   /* (cut to SIZE; nothing written when 0) */
	return false;
}

static void no_idle(const rdms_config *cfg, const rdms_session *s, size_t n, uint32_t *idle)
{
	(void)cfg;
	(void)s;
	for (size_t i = 0; i < n; i++)
		idle[i] = RDMS_IDLE_UNKNOWN;
}

#define NAMED(id)                                                                        \
	static const rdms_backend named_##id = {                                         \
		.name = #id, .available = no_available, .enumerate = no_enumerate,       \
		.disconnect = no_action, .logoff = no_action,                            \
		.send_message = no_send_message, .find = no_find, .each = no_each,       \
		.running = no_running, .idle = no_idle,                                  \
	};
RDMS_BACKEND_LIST(NAMED)
#undef NAMED

#define ENTRY(id) &named_##id,
const rdms_backend *const rdms_backends[] = { RDMS_BACKEND_LIST(ENTRY) NULL };
#undef ENTRY

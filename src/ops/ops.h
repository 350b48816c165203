/*
 * ops.h -- the one operation layer behind every front end (CLI, WS-Man,
 * CIM-XML): enumerate, get, query and invoke on the classes of the schema.
 *
 * It resolves the class and namespace, applies the authorisation rule
 * (interface.md: root and the admin group see and act on every session,
 * anyone else on their own only), asks the back-ends for fresh sessions,
 * turns them into Win32_VirtualDesktopSession instances and runs methods.
 * Every method call, and every refused one, is handed to the audit hook
 * before the result goes back to the front end.
 */
#ifndef RDMS_OPS_H
#define RDMS_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../backend/backend.h"
#include "../cim/instance.h"
#include "../cim/path.h"
#include "../config/config.h"
#include "../wql/wql.h"
#include "session_cache.h"

typedef struct rdms_caller {
	uid_t       uid;
	char        user[256];
	bool        is_admin;      /* root or member of admin_group: set by the transport */
	const char *protocol;      /* "direct", "local", "wsman", "cimxml" */
	const char *source;        /* peer address or "uid N" */
} rdms_caller;

/* One audited event; the hook must make it durable before returning 0. */
typedef struct rdms_audit_event {
	const rdms_caller *caller;
	const char        *target;   /* object path text as given */
	const char        *method;   /* "Disconnect", "Logoff", "SendMessage" */
	uint32_t           result;   /* HRESULT-level failure, else the ReturnValue */
	const char        *detail;   /* error message or "" */
} rdms_audit_event;

typedef int (*rdms_audit_fn)(void *ctx, const rdms_audit_event *ev);

typedef struct rdms_provider {
	const rdms_config  *cfg;
	const rdms_backend *backends[8];   /* enabled and available, NULL-terminated */
	size_t              nbackends;
	rdms_audit_fn       audit;
	void               *audit_ctx;
	/* rdmsd: reads may come from this snapshot (session_cache.h); NULL: always fresh */
	rdms_session_cache *cache;
} rdms_provider;

/* A named method argument. */
typedef struct rdms_param {
	const char *name;
	cim_value   value;
} rdms_param;

/* Picks the back-ends CFG enables that are available here. */
void rdms_provider_init(rdms_provider *p, const rdms_config *cfg);

/*
 * Sessions the caller may see, as instances of CLASS_NAME in namespace NS
 * (NULL means the default).  WBEM_E_INVALID_NAMESPACE / WBEM_E_INVALID_CLASS.
 */
uint32_t rdms_op_enumerate(rdms_provider *p, const rdms_caller *who,
                           const char *ns, const char *class_name,
                           cim_instance_list *out, rdms_error *err);

/*
 * Called by rdms_op_enumerate_each for each instance, in the order
 * rdms_op_enumerate lists them; it owns INST.  LEFT counts the instances
 * still to come, this one included (for sizing a reply).  A nonzero return
 * (a WBEM_E_* code, ERR filled) stops the enumeration with that code.
 */
typedef uint32_t (*rdms_instance_fn)(void *ctx, cim_instance *inst, size_t left,
                                     rdms_error *err);

/*
 * rdms_op_enumerate without the list: each instance goes to FN as soon as
 * it exists, so a front end can write 10,000 of them without holding them
 * all.  Nothing reaches FN when the namespace, class or back-ends fail.
 */
uint32_t rdms_op_enumerate_each(rdms_provider *p, const rdms_caller *who,
                                const char *ns, const char *class_name,
                                rdms_instance_fn fn, void *ctx, rdms_error *err);

/* The instance PATH names; WBEM_E_NOT_FOUND when absent or not visible. */
uint32_t rdms_op_get(rdms_provider *p, const rdms_caller *who,
                     const cim_path *path, cim_instance **out, rdms_error *err);

/* Instances matching WQL; *QUERY receives the parsed query for projection. */
uint32_t rdms_op_query(rdms_provider *p, const rdms_caller *who,
                       const char *ns, const char *wql, wql_query **query,
                       cim_instance_list *out, rdms_error *err);

/*
 * Runs METHOD on the instance PATH names.  The return value is the
 * HRESULT-level result (bad path, unknown method or parameters, not found,
 * access denied); when that is 0 the method ran and *RETURN_VALUE holds its
 * ReturnValue (0 or a WBEM_E_* code).  PATH_TEXT is what the audit records.
 */
uint32_t rdms_op_invoke(rdms_provider *p, const rdms_caller *who,
                        const cim_path *path, const char *path_text,
                        const char *method, const rdms_param *in, size_t nin,
                        uint32_t *return_value, rdms_error *err);

/* The Win32_VirtualDesktopSession instance describing S on this host. */
cim_instance *rdms_op_instance(const rdms_provider *p, const rdms_session *s);

/* Fresh sessions of all back-ends that WHO may see (for `rdms list` details). */
uint32_t rdms_op_sessions(rdms_provider *p, const rdms_caller *who,
                          rdms_session_list *out, rdms_error *err);

#endif

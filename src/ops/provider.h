/*
 * provider.h -- internal to the operation layer: the classes this host
 * serves, each by a class provider, and what the providers share.
 *
 * Every class of the schema that rdms serves has one entry in one table
 * (provider.c); ops.c finds the class there for every operation, whatever
 * the front end, so enumerate, get and query work the same on each:
 *   Win32_VirtualDesktopSession  provider.c: the sessions themselves
 *   RDMS_SessionDetail           detail.c:   quser's columns per session
 *   RDMS_Backend                 status.c:   which servers are served and run
 *   RDMS_AuditRecord             audit_records.c: the audit trail (admins)
 * The session classes see what the caller may see (rdms_each_visible,
 * rdms_resolve), so their authorisation is the sessions' own.
 */
#ifndef RDMS_OPS_PROVIDER_H
#define RDMS_OPS_PROVIDER_H

#include "ops.h"

typedef struct rdms_class_provider {
	const cim_class *cls;
	/* Every instance WHO may see, to FN (which owns each), in enumeration order. */
	uint32_t (*each)(rdms_provider *p, const rdms_caller *who, rdms_instance_fn fn, void *ctx,
	                 rdms_error *err);
	/*
	 * The instance PATH (of this class) names, WBEM_E_NOT_FOUND when absent
	 * or not visible.  NULL: found among what each lists.
	 */
	uint32_t (*get)(rdms_provider *p, const rdms_caller *who, const cim_path *path,
	                cim_instance **out, rdms_error *err);
	/*
	 * Optional: method M of the class on the instance PATH names, with its
	 * checked arguments ARGS (in M's order) and options MOPT; TARGET is the
	 * path as the audit records it.  It finds, authorises, audits and runs
	 * (a fleet broker forwards it to the host).  As rdms_op_invoke_opts:
	 * the HRESULT-level result, the ReturnValue in *RV.  NULL: the session
	 * back-ends of this process act.
	 */
	uint32_t (*invoke)(rdms_provider *p, const rdms_caller *who, const cim_path *path,
	                   const char *target, const cim_method *m, const char *const *args,
	                   const rdms_message_options *mopt, uint32_t *rv, rdms_error *err);
	/*
	 * Optional: keyset paging, for a class read from a store page by page
	 * (a fleet broker's directory, spec/fleet.md 3.6).  Up to LIMIT
	 * instances WHO may see after key AFTER (NULL: from the first), in key
	 * order, to FN; *ROWS how many (fewer than LIMIT: there are no more).
	 * MATCH (may be NULL) may narrow what is read, never widen it: the
	 * caller still evaluates it on every instance.  With it a cursor holds
	 * one page, and an enumeration context only a key (KEY_OF gives an
	 * instance's), so nothing here grows with the class or with the
	 * enumerations open.  EACH must list what the pages list.
	 */
	uint32_t (*page)(rdms_provider *p, const rdms_caller *who, const wql_query *match,
	                 const rdms_key *after, size_t limit, rdms_instance_fn fn, void *ctx,
	                 size_t *rows, rdms_error *err);
	void     (*key_of)(const cim_instance *inst, rdms_key *out);
} rdms_class_provider;

/*
 * The provider of class NAME (case-insensitive) in P's table (a host's
 * classes unless P->classes says otherwise), or NULL when it is not served.
 */
const rdms_class_provider *rdms_class_provider_find(const rdms_provider *p, const char *name);

/* What a host serves: the sessions of its back-ends, their details, ... */
extern const rdms_class_provider *const rdms_host_classes[];

extern const rdms_class_provider rdms_session_provider;   /* provider.c */
extern const rdms_class_provider rdms_detail_provider;    /* detail.c */
extern const rdms_class_provider rdms_backend_provider;   /* status.c */
extern const rdms_class_provider rdms_audit_provider;     /* audit_records.c */
extern const rdms_class_provider rdms_rdsh_server_provider; /* rdsh_server.c */

/* Win32_VirtualDesktopSession, from the generated table. */
const cim_class *rdms_session_class(void);

/* The instance describing S on this host; NULL on allocation failure. */
cim_instance *rdms_session_instance(const rdms_config *cfg, const rdms_session *s);

/* The most text bytes an instance from rdms_session_instance(CFG, ...) can carry. */
size_t rdms_session_text_max(const rdms_config *cfg);

/* ---- shared by the providers (ops.c) ------------------------------------- */

/*
 * The provider of CLASS_NAME in namespace NS (NULL: the default); NULL with
 * ERR set (WBEM_E_INVALID_NAMESPACE / WBEM_E_INVALID_CLASS) when not served.
 */
const rdms_class_provider *rdms_op_class_provider(const rdms_provider *p, const char *ns,
                                                  const char *class_name, rdms_error *err);

/* Called with each session a walk finds visible; LEFT counts those still to come. */
typedef uint32_t (*rdms_visible_fn)(void *ctx, const rdms_session *s, size_t left,
                                    rdms_error *err);

/* Every session WHO may see to FN: from the provider's cache, or fresh. */
uint32_t rdms_each_visible(rdms_provider *p, const rdms_caller *who, rdms_visible_fn fn,
                           void *ctx, rdms_error *err);

/*
 * The session PATH names, PATH being of session class CLS (its keys
 * VMHostName and SessionId; SessionId alone names that session on this
 * host): fresh from the back-ends when FRESH (every action), else possibly
 * from the cache.  The authorisation rule of ops.c: a caller who is not an
 * admin gets one answer for every session not theirs -- someone else's, one
 * that does not exist, one on another host -- WBEM_E_ACCESS_DENIED with the
 * same text, so that no reply tells them about other users' sessions.  That
 * refusal is audited here, as VERB ("Get", a method) on TEXT (NULL: PATH's
 * text), with what was true in its detail; no other failure here is
 * WBEM_E_ACCESS_DENIED.
 */
uint32_t rdms_resolve(rdms_provider *p, const rdms_caller *who, const cim_path *path,
                      const cim_class *cls, bool fresh, const char *verb, const char *text,
                      rdms_session *found, rdms_error *err);

/* Hands the audit hook one event (a method call, or a refused read). */
void rdms_ops_audit(rdms_provider *p, const rdms_caller *who, const char *target,
                    const char *method, uint32_t result, const rdms_error *err);

#endif

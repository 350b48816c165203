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
	const char *broker;        /* a fleet broker, by its certificate (the transport); else NULL */
	const char *message_id;    /* the request's MessageID, when it has one (a broker forwards it) */
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

/* One stored audit event (RDMS_AuditRecord), valid during the call it is handed to. */
typedef struct rdms_audit_entry {
	long long   id;
	const char *time;      /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
	const char *user;
	long long   uid;
	const char *source;
	const char *protocol;
	const char *target;
	const char *method;
	uint32_t    result;
	const char *detail;
} rdms_audit_entry;

/* Called per entry, oldest first; a non-zero return stops the reading. */
typedef int (*rdms_audit_row_fn)(void *ctx, const rdms_audit_entry *e);

/*
 * Reads the audit trail: every event at or after SINCE (NULL: all) to FN.
 * In-process that is the database (audit.h); in rdmsd's network process a
 * request to priv, which owns it.
 */
typedef uint32_t (*rdms_audit_read_fn)(void *ctx, const char *since, rdms_audit_row_fn fn,
                                       void *fn_ctx, rdms_error *err);

/* Back-ends a provider can serve (and RDMS_Backend list). */
#define RDMS_MAX_BACKENDS 8

/* One back-end the configuration enables, as RDMS_Backend shows it. */
typedef struct rdms_backend_status {
	char name[32];
	bool served;         /* available here: rdmsd reads its sessions */
	bool running;        /* its server runs now */
	char reason[256];    /* why not, when not served or not running */
} rdms_backend_status;

/* The state of every back-end the config enables into OUT (MAX), their number in *N. */
typedef uint32_t (*rdms_status_fn)(void *ctx, rdms_backend_status *out, size_t max, size_t *n,
                                   rdms_error *err);

/*
 * A method call handed whole to where the sessions are acted on (rdmsd's
 * privileged process), for rdms_act_fn.
 */
typedef struct rdms_act_call {
	unsigned                    method;      /* RDMS_WIN32_VIRTUALDESKTOPSESSION_METHOD_* */
	uint32_t                    id;          /* SessionId on this host */
	bool                        any_owner;   /* the caller is an admin */
	uid_t                       owner;       /* else: acted on only when the session is this uid's */
	const char                 *title;       /* SendMessage's [in] strings, else NULL */
	const char                 *text;
	const rdms_message_options *mopt;        /* NULL or one that does not wait */
	const rdms_audit_event     *ev;          /* caller, target, method; the outcome adds the rest */
} rdms_act_call;

/* What an act hook knows of its session after the method (rdms_act_fn). */
typedef enum rdms_act_after {
	RDMS_ACT_UNREAD = 0,   /* not read again: ACTED holds its id and back-end only */
	RDMS_ACT_READ,         /* read again after the method: ACTED is the session as it is now */
	RDMS_ACT_GONE          /* read again: its back-end has it no more (logged off) */
} rdms_act_after;

/*
 * Runs CALL in one step: session CALL->id read fresh, acted on only when
 * it is CALL->owner's (unless any_owner), its audit row committed before
 * returning.  WBEM_S_NO_ERROR when it ran: *RESULT is the method's result
 * (ERR its reason), ACTED's id and backend name the session, *AFTER says
 * whether the session was read again after a Disconnect or Logoff (so the
 * session snapshot is patched without another round trip), *AUDITED
 * whether the row was recorded.  Anything else -- no such session of that
 * owner, above all -- means nothing was done and nothing recorded.
 */
typedef uint32_t (*rdms_act_fn)(void *ctx, const rdms_act_call *call, uint32_t *result,
                                rdms_session *acted, rdms_act_after *after, bool *audited,
                                rdms_error *err);

typedef struct rdms_provider {
	const rdms_config  *cfg;
	const rdms_backend *backends[RDMS_MAX_BACKENDS];   /* enabled and available, NULL-terminated */
	size_t              nbackends;
	rdms_audit_fn       audit;
	void               *audit_ctx;
	/* RDMS_Backend: rdms_provider_status (in-process) unless set otherwise */
	rdms_status_fn      status;
	void               *status_ctx;
	/* RDMS_AuditRecord: NULL where the audit trail cannot be read */
	rdms_audit_read_fn  audit_read;
	void               *audit_read_ctx;
	/*
	 * rdmsd's network process: a method call in one request to the
	 * privileged process instead of three (find, act, audit).  NULL: the
	 * session is found, acted on and audited one step after the other.
	 */
	rdms_act_fn         act;
	void               *act_ctx;
	/* rdmsd: reads may come from this snapshot (session_cache.h); NULL: always fresh */
	rdms_session_cache *cache;
	/*
	 * The classes served (provider.h), NULL-terminated; NULL: a host's.  A
	 * fleet broker serves its directory's instead, with FLEET its state.
	 */
	const struct rdms_class_provider *const *classes;
	void               *fleet;
	/*
	 * A fleet broker: the MAC (32 bytes; HMAC-SHA256 under a secret every
	 * broker on the directory shares) that signs the enumeration contexts
	 * of classes that page, which then keep no state here.  NULL: contexts
	 * are kept in memory (a host).
	 */
	void              (*ctx_mac)(void *ctx, const void *data, size_t len, uint8_t out[32]);
	/*
	 * The clock (Unix ms) those contexts expire by: the directory's, which
	 * every broker shares, so a Pull on another broker is judged as on the
	 * one that sealed it whatever their clocks say.  Called with ctx_mac_ctx.
	 */
	int64_t           (*ctx_clock)(void *ctx);
	void               *ctx_mac_ctx;
	/*
	 * A fleet broker: false (WHY set) while it cannot serve (its directory
	 * does not answer): WS-Man's Identify then answers 503 with the fault,
	 * so that a load balancer's health check drains it.  NULL: always.
	 */
	bool              (*healthy)(void *ctx, rdms_error *why);
	void               *healthy_ctx;
} rdms_provider;

/* A named method argument. */
typedef struct rdms_param {
	const char *name;
	cim_value   value;
} rdms_param;

/* Picks the back-ends CFG enables that are available here. */
void rdms_provider_init(rdms_provider *p, const rdms_config *cfg);

/*
 * An rdms_status_fn (CTX: the provider): each back-end P's config enables,
 * served (in P's list) or not, and whether its server runs, asked now.
 */
uint32_t rdms_provider_status(void *ctx, rdms_backend_status *out, size_t max, size_t *n,
                              rdms_error *err);

/*
 * Logs what changed in P's back-ends since LAST (N of them; *N 0 at the
 * first call, which logs every one): which are served, which skipped and
 * why, which run.  LAST then holds the state now.  rdmsd calls it at start
 * and every few seconds.
 */
void rdms_provider_report(rdms_provider *p, rdms_backend_status last[RDMS_MAX_BACKENDS],
                          size_t *n);

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

/*
 * Where a keyset page starts: after the compound key (text, number) of an
 * instance, in the order of a class that pages (provider.h: a fleet
 * broker's sessions, by VMHostName and SessionId).
 */
typedef struct rdms_key {
	char     text[256];
	uint32_t num;
} rdms_key;

/* The key of session INST (of Win32_VirtualDesktopSession) into OUT (keyset.c). */
void rdms_session_key(const cim_instance *inst, rdms_key *out);
/* Key order: VMHostName's bytes, then SessionId; <0, 0, >0 as strcmp. */
int rdms_key_compare(const rdms_key *a, const rdms_key *b);
/*
 * Sorts the sessions of L into key order and drops (frees) those at or
 * before AFTER (NULL: none): what a keyset page after AFTER holds, for
 * sessions that were listed rather than read in pages.  False (L as it
 * was) when out of memory.
 */
bool rdms_keyset_trim(cim_instance_list *l, const rdms_key *after);

/*
 * An enumeration taken one instance at a time (cursor.c), for a reply
 * written while it is sent: the instances of CLASS_NAME WHO may see, in
 * rdms_op_enumerate's order, skipping those MATCH (when not NULL; kept by
 * reference) does not select.  The sessions come from the snapshot of the
 * provider's cache, which the cursor holds, so taking an instance never
 * waits on a back-end or the privileged process; other classes are listed
 * when it opens.  Everything that can fail (namespace, class, back-ends)
 * fails here; afterwards only memory can run out.
 */
typedef struct rdms_cursor rdms_cursor;

uint32_t rdms_op_cursor(rdms_provider *p, const rdms_caller *who, const char *ns,
                        const char *class_name, const wql_query *match, rdms_cursor **out,
                        rdms_error *err);
/*
 * True when class CLASS_NAME of namespace NS is read page by page here
 * (its provider pages: provider.h): a cursor over it holds one page, and
 * it can go on after any instance's key (rdms_op_cursor_after), so an
 * enumeration needs no state kept between requests.
 */
bool rdms_op_pages(const rdms_provider *p, const char *ns, const char *class_name);
/*
 * rdms_op_cursor of a class that pages, from the instance after AFTER
 * (NULL: the first): how an enumeration whose context carries only a key
 * goes on.  WBEM_E_INVALID_OPERATION for a class that does not page.
 */
uint32_t rdms_op_cursor_after(rdms_provider *p, const rdms_caller *who, const char *ns,
                              const char *class_name, const wql_query *match,
                              const rdms_key *after, rdms_cursor **out, rdms_error *err);
/* The key of INST, an instance C handed out, into OUT; false when C's class does not page. */
bool rdms_cursor_key_of(const rdms_cursor *c, const cim_instance *inst, rdms_key *out);
/* rdms_op_query as a cursor: *QUERY gets the parsed query (the caller frees it after C). */
uint32_t rdms_op_query_cursor(rdms_provider *p, const rdms_caller *who, const char *ns,
                              const char *wql, wql_query **query, rdms_cursor **out,
                              rdms_error *err);
/*
 * rdms_op_cursor over the sessions of SNAP (its reference taken over, and
 * released on failure too) instead of the cache's: CLASS_NAME must be the
 * session class.  For a snapshot whose position is known (spec/fleet.md
 * 3.3: an Enumerate that asks for rdms:Position).
 */
uint32_t rdms_op_cursor_snapshot(rdms_provider *p, const rdms_caller *who, const char *ns,
                                 const char *class_name, rdms_snapshot *snap,
                                 rdms_cursor **out, rdms_error *err);
/* A cursor over the instances of L, which it takes (L is left empty); NULL: no memory, L kept. */
rdms_cursor *rdms_cursor_of_list(cim_instance_list *l);
/* The next instance (the caller's), or NULL: at the end, or with ERR set (out of memory). */
cim_instance *rdms_cursor_next(rdms_cursor *c, rdms_error *err);
/* INST (taken from C) is C's next instance again; false (INST still the caller's): no memory. */
bool rdms_cursor_unget(rdms_cursor *c, cim_instance *inst);
/* Instances not yet taken, before a query's match: at most what is still to come. */
size_t rdms_cursor_left(const rdms_cursor *c);
/* The most text bytes (cim_instance_text_bytes) any of C's instances carries. */
size_t rdms_cursor_text_max(const rdms_cursor *c);
void rdms_cursor_free(rdms_cursor *c);

/*
 * The instance PATH names; WBEM_E_NOT_FOUND when absent.  For the session
 * classes a path giving SessionId alone names that session on this host,
 * and a caller who is not an admin gets WBEM_E_ACCESS_DENIED for every
 * session not theirs, existing or not, and is audited (rdms_resolve).
 */
uint32_t rdms_op_get(rdms_provider *p, const rdms_caller *who,
                     const cim_path *path, cim_instance **out, rdms_error *err);

/* Instances matching WQL; *QUERY receives the parsed query for projection. */
uint32_t rdms_op_query(rdms_provider *p, const rdms_caller *who,
                       const char *ns, const char *wql, wql_query **query,
                       cim_instance_list *out, rdms_error *err);

/*
 * Runs METHOD on the instance PATH names.  The return value is the
 * HRESULT-level result (bad path, unknown method or parameters, not found,
 * access denied -- resolved as rdms_op_get does); when that is 0 the method
 * ran and *RETURN_VALUE holds its ReturnValue (0 or a WBEM_E_* code) and,
 * when not 0, ERR its reason.  PATH_TEXT is what the audit records (for a
 * bare id, the whole path with this host's VMHostName).
 */
uint32_t rdms_op_invoke(rdms_provider *p, const rdms_caller *who,
                        const cim_path *path, const char *path_text,
                        const char *method, const rdms_param *in, size_t nin,
                        uint32_t *return_value, rdms_error *err);

/*
 * rdms_op_invoke with SendMessage's out-of-band options (message.h: how
 * long the dialog stays, whether to wait for the user); MOPT NULL: the
 * defaults.  Options given for another method are WBEM_E_INVALID_PARAMETER.
 */
uint32_t rdms_op_invoke_opts(rdms_provider *p, const rdms_caller *who,
                             const cim_path *path, const char *path_text,
                             const char *method, const rdms_param *in, size_t nin,
                             const rdms_message_options *mopt, uint32_t *return_value,
                             rdms_error *err);

/*
 * The reason of RV, a ReturnValue other than 0 that METHOD returned, as
 * every front end passes it on beside the ReturnValue (WS-Man's response
 * header rdms:ReturnValueText, CIM-XML's RDMS-ReturnValueText, the CLI's
 * message): ERR keeps the method's own reason when it gave one for RV,
 * else gets "METHOD returned NAME".  Returns RV.
 */
uint32_t rdms_op_method_failure(const char *method, uint32_t rv, rdms_error *err);

/* The Win32_VirtualDesktopSession instance describing S on this host. */
cim_instance *rdms_op_instance(const rdms_provider *p, const rdms_session *s);

/* Fresh sessions of all back-ends that WHO may see (for `rdms list` details). */
uint32_t rdms_op_sessions(rdms_provider *p, const rdms_caller *who,
                          rdms_session_list *out, rdms_error *err);

#endif

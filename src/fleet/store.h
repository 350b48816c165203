/*
 * store.h -- a fleet broker's session directory (spec/fleet.md 3.5, 5.7):
 * the hosts it serves and the last known sessions of each, behind one
 * narrow interface that SQLite implements (store_sqlite.c, the default: a
 * single broker needs no database server) and PostgreSQL (store_pg.c:
 * several brokers on one database).
 *
 * Hosts are authoritative; the directory is what the broker last learned
 * from them, each host at a *version*: its change feed's position (epoch,
 * seq) as one integer, epoch << 40 | seq, which compares with one `<`
 * across host restarts (the epoch rises at each start).  The store keeps
 * a host's version and its sessions consistent: every write is one
 * transaction touching one host, guarded by that host's version, so
 * delivery at least once (a batch pulled twice, a second broker applying
 * the same batch) takes effect exactly once, and nothing is applied
 * across a gap.
 *
 *   apply a change batch   the events a Pull brought, in position order:
 *                          those at or below the host's version are
 *                          dropped; the first of the rest must be exactly
 *                          version + 1 in the same epoch, or nothing is
 *                          applied and the caller must resync (a gap, a
 *                          new epoch, a host never synced).
 *   apply a snapshot       every session of the host at position P (an
 *                          Enumerate with rdms:Position): upserted, the
 *                          host's other sessions swept, version = P.
 *
 * Every session names its VMHostName; a batch or snapshot for host H that
 * carries a session of another VMHostName is refused whole (a host may
 * speak only for itself), as is one for a host that is not registered or
 * is marked invalid (ServerState 8).  Two hosts may both have SessionId 7:
 * the key is (VMHostName, SessionId) everywhere.
 *
 * Reads: keyset pages over (VMHostName, SessionId), optionally those of
 * one account (lower(UserName), and lower(DomainName) when given: the
 * authorisation of a caller who is not an admin, or a query's UserName),
 * of one VMHostName, SessionId or ConnectState (a query's), one session
 * by its key, the hosts with their session counts.  Every read needs an
 * index that gives its rows in key order (spec/fleet.md 3.5: lower(user_name);
 * here also lower(vmhostname), session_id and connect_state, each followed
 * by the key).
 *
 * Secrets: 32 random bytes by name, made once per directory and shared by
 * every broker on it (the HMAC key of stateless enumeration contexts).
 *
 * Thread-safe: a store may be used from any number of threads.  Errors are
 * WBEM codes with an rdms_error: WBEM_E_NOT_AVAILABLE when the database
 * fails (spec/fleet.md 3.10), WBEM_E_NOT_FOUND, WBEM_E_ALREADY_EXISTS,
 * WBEM_E_INVALID_PARAMETER for what no store would accept.
 */
#ifndef RDMS_FLEET_STORE_H
#define RDMS_FLEET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cim/wbem.h"

/* ---- versions ------------------------------------------------------------ */

#define FLEET_SEQ_BITS   40
#define FLEET_SEQ_MAX    ((UINT64_C(1) << FLEET_SEQ_BITS) - 1)
/* so that a version fits a signed 64-bit column (PostgreSQL's bigint) */
#define FLEET_EPOCH_MAX  ((UINT64_C(1) << (63 - FLEET_SEQ_BITS)) - 1)

/* EPOCH and SEQ as one version; 0 when either is out of range (0 is "never synced"). */
uint64_t fleet_version(uint64_t epoch, uint64_t seq);
uint64_t fleet_version_epoch(uint64_t v);
uint64_t fleet_version_seq(uint64_t v);

/* ---- what the directory holds ---------------------------------------------- */

/* Win32_RDSHServer.ServerState (spec/fleet.md 3.8). */
enum fleet_server_state {
	FLEET_UNKNOWN = 1,     /* not reached lately */
	FLEET_RUNNING = 3,     /* its Pulls succeed */
	FLEET_INVALID = 8,     /* an identity conflict, or quarantined: nothing of it is applied */
};

#define FLEET_NAME_MAX  255       /* VMHostName, bytes */
#define FLEET_URL_MAX   1023
#define FLEET_TEXT_MAX  1024      /* any text property of a session, bytes */

typedef struct fleet_host {
	char     name[FLEET_NAME_MAX + 1];   /* VMHostName, bound to one identity */
	char     url[FLEET_URL_MAX + 1];     /* https://198.18.1.7:5986/wsman */
	uint8_t  cert_sha256[32];            /* pinned at registration */
	uint64_t version;                    /* the position last applied; 0: never synced */
	int      state;                      /* enum fleet_server_state */
	int64_t  registered_ms;              /* Unix time, milliseconds (UTC) */
	int64_t  contact_ms;                 /* last successful contact; 0: never */
	uint64_t sessions;                   /* how many it has (fleet_store_hosts only) */
} fleet_host;

/* One Win32_VirtualDesktopSession as the directory keeps it. */
typedef struct fleet_session {
	const char *host;                    /* VMHostName */
	uint32_t    id;                      /* SessionId */
	uint32_t    connect_state;           /* (beside id: no padding) */
	const char *vm_name;                 /* the strings may be NULL (a NULL property) */
	const char *user_name;
	const char *domain_name;
	const char *collection_id;
	const char *client_machine_name;
	uint64_t    version;                 /* reads: the position of its last change */
} fleet_session;

/* Called per row during a read, valid for the call only; non-zero stops the read. */
typedef int (*fleet_session_fn)(void *ctx, const fleet_session *s);
typedef int (*fleet_host_fn)(void *ctx, const fleet_host *h);

/* One event of a batch: the session as it now is, or (DELETE) gone. */
enum fleet_change_kind { FLEET_UPSERT = 1, FLEET_DELETE = 2 };

typedef struct fleet_change {
	uint64_t      version;               /* the event's position */
	uint8_t       kind;                  /* enum fleet_change_kind */
	fleet_session s;                     /* DELETE: host and id only */
} fleet_change;

typedef enum fleet_apply_rc {
	FLEET_APPLIED = 0,    /* done: the host is at the batch's last position now */
	FLEET_STALE,          /* nothing newer than the host's version: nothing to do */
	FLEET_GAP,            /* the first new event does not follow the host's version (or the
	                       * host was never synced): nothing applied, resync */
	FLEET_NEW_EPOCH,      /* the host restarted since its version: nothing applied, resync */
	FLEET_REFUSED,        /* ERR says why; nothing applied (the host's fault, not the store's) */
	FLEET_FAILED,         /* the store failed (ERR); nothing applied */
} fleet_apply_rc;

/* "applied", "stale", ... for logs. */
const char *fleet_apply_name(fleet_apply_rc rc);

/* A page of a keyset enumeration: the rows after (after_host, after_id), in key order. */
typedef struct fleet_page {
	const char *after_host;              /* NULL: from the start */
	uint32_t    after_id;
	size_t      limit;                   /* 1 .. FLEET_PAGE_MAX */
	const char *user;                    /* not NULL: only sessions of this account */
	const char *domain;                  /* with USER, not NULL: and of this domain */
	/*
	 * Equalities a WQL query requires of every row it selects (broker.c's
	 * pushdown, spec/fleet.md 3.6), compared as WQL compares: strings after
	 * ASCII lowercasing (lower() in a C-locale database), bytewise.  They
	 * only narrow the read; the broker still evaluates the query on each row.
	 */
	const char *host;                    /* not NULL: only sessions of this VMHostName */
	bool        by_id;                   /* only SessionId ID */
	uint32_t    id;
	bool        by_state;                /* only sessions in ConnectState STATE */
	uint32_t    state;
} fleet_page;

#define FLEET_PAGE_MAX 100000

/* ---- the store ------------------------------------------------------------- */

typedef struct fleet_store fleet_store;

/* Who opens a directory, and what becomes of its schema. */
typedef enum fleet_open_mode {
	FLEET_OPEN_BROKER,     /* a broker: the schema must be this rdmsd's (SQLite: created
	                        * when missing, and the file locked for one broker) */
	FLEET_OPEN_ADMIN,      /* `rdms fleet host ...` beside a running broker: no lock */
	FLEET_OPEN_INIT,       /* `rdms fleet db init`: the schema created where there is none */
	FLEET_OPEN_UPGRADE,    /* `rdms fleet db upgrade`: an older schema brought to this one */
} fleet_open_mode;

/*
 * The directory of kind STORE ("sqlite" or "postgresql", the config's
 * `store`) at WHERE (`store_path`, or `store_dsn`: a libpq connection
 * string), opened as MODE.  NULL with ERR on failure: WBEM_E_NOT_AVAILABLE
 * (the database fails, has no schema or another version, or is not in the
 * C locale), WBEM_E_INVALID_PARAMETER (an unknown kind, a bad DSN).
 */
fleet_store *fleet_store_open(const char *store, const char *where, fleet_open_mode mode,
                              rdms_error *err);

/*
 * The PostgreSQL directory at DSN (spec/fleet.md 3.5, 5): any number of
 * brokers may share it.  The database must use the C locale (createdb
 * --locale=C --template=template0).  Connections have timeouts (connect
 * 5 s, TCP 5 s, statements 5 s) unless DSN says otherwise.
 */
fleet_store *fleet_store_open_postgresql(const char *dsn, fleet_open_mode mode,
                                         rdms_error *err);

/*
 * The SQLite directory at PATH (created when missing, with its schema).
 * SQLite serves one broker: the file is locked for this process's life,
 * and a second opening fails with WBEM_E_ALREADY_EXISTS (spec/fleet.md 5.7).
 * NULL with ERR on failure.
 */
fleet_store *fleet_store_open_sqlite(const char *path, rdms_error *err);
/*
 * The same for an administrator's command (`rdms fleet`) beside a running
 * broker: without the broker's lock (SQLite itself keeps the two apart).
 */
fleet_store *fleet_store_open_sqlite_admin(const char *path, rdms_error *err);
void fleet_store_close(fleet_store *st);
/* What messages call the directory: its file, or its database and server (never a password). */
const char *fleet_store_describe(fleet_store *st);

/* Registers H (name, url, cert_sha256; the rest is the store's): state unknown, version 0. */
uint32_t fleet_store_host_add(fleet_store *st, const fleet_host *h, rdms_error *err);
/* Forgets host NAME and its sessions. */
uint32_t fleet_store_host_remove(fleet_store *st, const char *name, rdms_error *err);
/*
 * Host NAME, without its session count (OUT->sessions 0): counting reads
 * every row of the host, and a forwarded call and each batch the ingest
 * applies look their host up (1,000 rows read each time, measured: a third
 * of the broker's page reads per forwarded call).
 */
uint32_t fleet_store_host_get(fleet_store *st, const char *name, fleet_host *out,
                              rdms_error *err);
/* Every host, by name, with its session count. */
uint32_t fleet_store_hosts(fleet_store *st, fleet_host_fn fn, void *ctx, rdms_error *err);
/*
 * Sets host NAME's ServerState to STATE; RUNNING also makes now its last
 * contact (a heartbeat).  An invalid host stays invalid unless FORCE (an
 * admin's decision, not an ingest's).  A heartbeat of a host running with
 * a contact less than FLEET_CONTACT_MS old writes nothing: every broker
 * hears every host every 20 s (ingest.h), and rewriting the row each time
 * was most of an idle directory's writes -- on PostgreSQL most of its WAL
 * (bench/fleet_bench.py's wal stage); the last contact is kept to the
 * minute instead.
 */
#define FLEET_CONTACT_MS 60000
uint32_t fleet_store_host_state(fleet_store *st, const char *name, int state, bool force,
                                rdms_error *err);

/*
 * Host NAME's positions started over (its journal was lost: the events
 * database reset, the machine reinstalled): its version and its sessions'
 * versions become 0, so that the next snapshot, at whatever position,
 * replaces them all.  Its sessions stay listed until then.
 */
uint32_t fleet_store_host_reset(fleet_store *st, const char *name, rdms_error *err);

/*
 * The N changes of CH, pulled from host HOST in position order, in one
 * transaction (the rules above).  *VERSION (may be NULL) gets the host's
 * version afterwards (before, when nothing was applied).  An applied batch
 * makes the host running, with now as its last contact.
 */
fleet_apply_rc fleet_store_apply_batch(fleet_store *st, const char *host,
                                       const fleet_change *ch, size_t n, uint64_t *version,
                                       rdms_error *err);
/*
 * Host HOST's N sessions S, all of them, at position AT: FLEET_STALE (and
 * nothing done) when the host's version is already past AT; otherwise, in
 * one transaction, each upserted where older than AT, every other session
 * of the host at or below AT deleted, the version raised to AT, the host
 * running.  Refused whole for a session of another host, a SessionId given
 * twice, or AT not a valid version.
 */
fleet_apply_rc fleet_store_apply_snapshot(fleet_store *st, const char *host, uint64_t at,
                                          const fleet_session *s, size_t n, rdms_error *err);

/*
 * True when something else (`rdms fleet host add`, another broker) wrote
 * to the directory since the last call: the hosts may have changed.
 */
bool fleet_store_changed_elsewhere(fleet_store *st);

/* The rows of page P to FN; *ROWS (may be NULL) how many. */
uint32_t fleet_store_enumerate(fleet_store *st, const fleet_page *p, fleet_session_fn fn,
                               void *ctx, size_t *rows, rdms_error *err);
/*
 * The directory's secret NAME (1 to 63 bytes) into OUT: made at random by
 * the first call ever, on any broker, and the same for every broker on
 * this directory after (a table of name primary key and value of 32
 * bytes: `meta` in SQLite, `secrets` in PostgreSQL; an implementation
 * inserts the candidate unless NAME exists, then reads NAME), so that an
 * enumeration context one broker signs every other one validates, before
 * and after restarts.
 */
#define FLEET_SECRET_BYTES 32
uint32_t fleet_store_secret(fleet_store *st, const char *name, uint8_t out[FLEET_SECRET_BYTES],
                            rdms_error *err);

/* Session (HOST, ID) to FN; WBEM_E_NOT_FOUND when the directory has none. */
uint32_t fleet_store_get(fleet_store *st, const char *host, uint32_t id, fleet_session_fn fn,
                         void *ctx, rdms_error *err);

/* ---- brokers: one process per broker name ------------------------------------ */

/*
 * Every broker on a directory holds a lease on its name (spec/fleet.md 3.8,
 * the `brokers` table): a row naming its process (the *holder*, lease.h),
 * refreshed every FLEET_BEAT_MS.  A row not refreshed for FLEET_LEASE_MS
 * (the store's clock: the database's now() on PostgreSQL) belongs to a
 * dead broker.  Two processes never hold one name: a broker started under
 * a name whose lease is live elsewhere is refused (fleet_store_broker_claim).
 */
#define FLEET_HOLDER_MAX 127
#define FLEET_LEASE_MS   10000
#define FLEET_BEAT_MS    2000

/*
 * Takes the lease on broker NAME for HOLDER: when there is none, when it is
 * HOLDER's already, when it was not refreshed for FLEET_LEASE_MS, or when
 * DEAD (may be NULL) says its holder is a process that is gone.  Otherwise
 * WBEM_E_ALREADY_EXISTS, ERR naming the holder and when it was last seen.
 * Two processes claiming at once: one wins (the row is compared and set).
 */
uint32_t fleet_store_broker_claim(fleet_store *st, const char *name, const char *holder,
                                  bool (*dead)(const char *holder), rdms_error *err);
/*
 * Refreshes HOLDER's lease on NAME: WBEM_E_NOT_FOUND when it is no longer
 * HOLDER's (another process took it after it expired: this one must stop).
 * *STORE_NOW_MS (may be NULL): the store's clock at the refresh, Unix ms --
 * the database's now() on PostgreSQL, the clock every broker shares.
 */
uint32_t fleet_store_broker_beat(fleet_store *st, const char *name, const char *holder,
                                 int64_t *store_now_ms, rdms_error *err);
/* Gives HOLDER's lease on NAME up (a clean stop): a successor starts at once. */
uint32_t fleet_store_broker_release(fleet_store *st, const char *name, const char *holder,
                                    rdms_error *err);

/* ---- forwarded calls: each MessageID runs once, on any broker ------------------ */

/*
 * A forwarded method call, keyed by its caller and MessageID (spec/fleet.md
 * 3.7), is claimed in the directory before anything is sent: the claim is
 * the call's audit row, state pending, made by one broker only; a retry of
 * the same MessageID, on this broker or another, finds it and never runs
 * the call again.  Its outcome is recorded when known: done (the host
 * answered: its fault or ReturnValue), refused (nothing was sent: the host
 * could not be reached; a retry may claim it again), unknown (sent, no
 * answer; or the broker died before it knew: fleet_store_calls_sweep).
 */
enum fleet_call_state {
	FLEET_CALL_PENDING = 1,
	FLEET_CALL_DONE,
	FLEET_CALL_REFUSED,
	FLEET_CALL_UNKNOWN,
};

#define FLEET_MID_MAX     256       /* a MessageID, bytes (WS-Man's limit) */
#define FLEET_DETAIL_MAX  511       /* an outcome's text, bytes (cut at a character) */
#define FLEET_METHOD_MAX  63

typedef struct fleet_call {
	const char *caller;          /* the user (with MESSAGE_ID, the key) */
	const char *message_id;
	const char *broker;          /* the broker's name, and its process (HOLDER) */
	const char *holder;
	const char *source;          /* where the request came from; may be NULL */
	const char *protocol;        /* WS-Man, CIM-XML; may be NULL */
	const char *host;            /* the session: VMHostName, SessionId */
	uint32_t    session_id;
	const char *method;
	/* the outcome (fleet_store_call_finish) */
	int         state;           /* enum fleet_call_state */
	uint32_t    hresult;         /* the call's WBEM code: 0 when the method ran */
	uint32_t    rv;              /* its ReturnValue */
	const char *detail;          /* the reason; may be NULL */
} fleet_call;

/* A call as the directory has it. */
typedef struct fleet_call_seen {
	char     broker[FLEET_NAME_MAX + 1];
	char     host[FLEET_NAME_MAX + 1];
	uint32_t session_id;
	char     method[FLEET_METHOD_MAX + 1];
	int      state;
	uint32_t hresult;
	uint32_t rv;
	char     detail[FLEET_DETAIL_MAX + 1];
} fleet_call_seen;

/* "pending", "done", ... as the directory and the logs say it. */
const char *fleet_call_state_name(int state);

/*
 * Claims call C (caller, message_id, broker, holder, source, protocol,
 * host, session_id, method) as pending: *CLAIMED true, forward it.  Else
 * *CLAIMED false and *FIRST is the call made with that MessageID before
 * (its outcome as known now); a refused one (nothing was sent) is claimed
 * again instead.  WBEM_E_INVALID_PARAMETER when the MessageID was used by
 * this caller for another call (another method or session).
 */
uint32_t fleet_store_call_claim(fleet_store *st, const fleet_call *c, bool *claimed,
                                fleet_call_seen *first, rdms_error *err);
/* Records the outcome of C (claimed by C->holder): state, hresult, rv, detail. */
uint32_t fleet_store_call_finish(fleet_store *st, const fleet_call *c, rdms_error *err);
/* The call CALLER made with MESSAGE_ID into *OUT; WBEM_E_NOT_FOUND when none. */
uint32_t fleet_store_call_get(fleet_store *st, const char *caller, const char *message_id,
                              fleet_call_seen *out, rdms_error *err);
/*
 * The janitor, which any live broker runs (spec/fleet.md 3.7): the pending
 * calls of every process whose lease is gone (not refreshed for
 * FLEET_LEASE_MS, or released) become unknown; *SWEPT (may be NULL) how many.
 */
uint32_t fleet_store_calls_sweep(fleet_store *st, size_t *swept, rdms_error *err);
/*
 * Retention: forgets at most MAX of the calls claimed more than KEEP_MS ago
 * whose outcome is known (done, refused, unknown), the oldest first;
 * *PRUNED (may be NULL) how many.  A pending call is kept until the janitor
 * has said unknown for it.  A retry of a forgotten call's MessageID runs it
 * again: KEEP_MS is how long a retry is recognised (forward_keep_s).
 */
uint32_t fleet_store_calls_prune(fleet_store *st, int64_t keep_ms, size_t max, size_t *pruned,
                                 rdms_error *err);

#endif

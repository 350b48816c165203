/*
 * store_pg.c -- the session directory in PostgreSQL 15 (store.h), for
 * several brokers on one database (spec/fleet.md 3.5, 5).
 *
 * The schema is spec/fleet.md 3.5's, versioned in a `meta` row (beside
 * the host list's generation; the secrets have a table of their own, bytea),
 * created by `rdms fleet db init` and brought forward by `rdms fleet db
 * upgrade`; a broker refuses a database without it or at another version
 * rather than guess.  Its indexes are SQLite's: one per WQL equality the
 * broker pushes down (fleet_page), each in key order.  The database must use the C locale: then lower() folds ASCII only
 * and text compares bytewise, exactly as rdms's WQL compares strings (the
 * key columns are COLLATE "C" besides, so that key order never depends on
 * the locale).  Times are the database's now(): the one clock every broker
 * shares.
 *
 * Writes are SQLite's rules with PostgreSQL's means: each is one
 * transaction that first locks its host's row (SELECT ... FOR UPDATE), so
 * two brokers applying the same batch serialise and the second finds it
 * stale; then the whole batch is one array upsert and one array delete
 * (the batch collapsed to each session's last event: what applying the
 * events in order leaves), sent pipelined with the host's new version and
 * the COMMIT -- two round trips for any batch.
 *
 * Thread-safe by a small pool: each call takes a connection of its own
 * (opened on demand, at most POOL_MAX), so readers never wait behind an
 * ingest transaction.  Nothing hangs: every call has a client-side
 * deadline, CALL_DEADLINE_MS from its start, for all it does -- waiting for
 * a connection of the pool, connecting (PQconnectStartParams and
 * PQconnectPoll), sending and reading results.  A server that keeps its
 * socket open and answers nothing (stopped, or its machine hung) would
 * otherwise hold libpq's blocking calls for ever: statement_timeout is the
 * server's own, and tcp_user_timeout only counts data the peer's kernel has
 * not acknowledged, which a stopped server's kernel does.  So connections
 * are non-blocking and every wait is one poll() on PQsocket bounded by the
 * deadline (wait_socket: the one place that waits); a call past it drops
 * its connection -- PQfinish, never a synchronous PQcancel, which would
 * block as well -- and fails.  Beneath the deadline keepalives and
 * tcp_user_timeout still bound the network, statement_timeout, lock_timeout
 * and idle_in_transaction_session_timeout the server (each unless the DSN
 * or the role already sets it).  A failure is WBEM_E_NOT_AVAILABLE naming
 * the database (never its password), and the broken connection is replaced
 * at the next call.  Two limits of libpq's asynchronous connect: it
 * resolves a host *name* blocking (use an address, or a name /etc/hosts
 * has), and it tries a DSN's next host only when the first refuses, not
 * when it hangs (connect_timeout is its blocking connect's alone).
 */
#include "store_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "../common/strutil.h"
#include "../common/monotime.h"

#define POOL_MAX        8
/*
 * Every call on the database ends within this, answered or failed.
 * spec/fleet.md 3.9: a broker that lost its database faults requests
 * within 5 s -- the whole request, so a call's deadline is shorter: a
 * method may forward first and record its outcome after, and HTTP and a
 * busy machine add their part.  A statement slower than this (none should
 * be) is dropped here before the server's statement_timeout (5 s) ends it;
 * its transaction then rolls back with the connection.
 */
#define CALL_DEADLINE_MS 4000

/* ---- the schema --------------------------------------------------------------- */

/*
 * migrations[i] takes the schema from version i to i + 1 (0: an empty
 * database); the runner records the new version in meta.  Never edit a
 * released step: add one.
 */
static const char *const migrations[] = {
	"CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);"
	"CREATE TABLE hosts ("
	"  vmhostname  text COLLATE \"C\" PRIMARY KEY,"
	"  url         text NOT NULL,"
	"  cert_sha256 bytea NOT NULL CHECK (length(cert_sha256) = 32),"
	"  version     bigint NOT NULL DEFAULT 0,"
	"  state       smallint NOT NULL DEFAULT 1,"
	"  registered  timestamptz NOT NULL DEFAULT now(),"
	"  contact     timestamptz"
	") WITH (fillfactor = 70);"
	"CREATE TABLE sessions ("
	"  vmhostname    text COLLATE \"C\" NOT NULL REFERENCES hosts ON DELETE CASCADE,"
	"  session_id    bigint NOT NULL CHECK (session_id BETWEEN 0 AND 4294967295),"
	"  vm_name text, connect_state bigint NOT NULL, user_name text, domain_name text,"
	"  collection_id text, client_machine_name text,"
	"  version       bigint NOT NULL,"
	"  PRIMARY KEY (vmhostname, session_id)"
	") WITH (fillfactor = 80);"
	/*
	 * the WQL pushdown's (fleet_page), each giving its rows in key order; a
	 * ConnectState change is no HOT update (sessions_state), the price of
	 * ConnectState = n without a scan of the whole directory
	 */
	"CREATE INDEX sessions_user ON sessions (lower(user_name), vmhostname, session_id);"
	"CREATE INDEX sessions_host ON sessions (lower(vmhostname), vmhostname, session_id);"
	"CREATE INDEX sessions_id ON sessions (session_id, vmhostname);"
	"CREATE INDEX sessions_state ON sessions (connect_state, vmhostname, session_id);"
	/* fleet_store_secret's: the keys every broker on this database shares */
	"CREATE TABLE secrets ("
	"  name  text COLLATE \"C\" PRIMARY KEY,"
	"  value bytea NOT NULL CHECK (length(value) = 32)"
	");"
	/* what changed_elsewhere() watches: the host list, not every batch */
	"INSERT INTO meta VALUES ('hosts_generation', '0');"
	"CREATE FUNCTION rdms_hosts_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
	"  UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'hosts_generation';"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER hosts_changed AFTER INSERT OR DELETE OR UPDATE OF url, cert_sha256 "
	"  ON hosts FOR EACH STATEMENT EXECUTE FUNCTION rdms_hosts_changed();",
	/*
	 * 2: two or more brokers.  Each name's lease (fleet_store_broker_claim),
	 * refreshed every couple of seconds: a narrow row, no index on its time,
	 * room for HOT updates (spec/fleet.md 2.3).  The forwarded calls, keyed
	 * by caller and MessageID (fleet_store_call_claim): the fleet's audit of
	 * them and what makes a retry on another broker run nothing twice.
	 */
	"CREATE TABLE brokers ("
	"  name    text COLLATE \"C\" PRIMARY KEY,"
	"  holder  text NOT NULL,"
	"  started timestamptz NOT NULL DEFAULT now(),"
	"  seen    timestamptz NOT NULL DEFAULT now()"
	") WITH (fillfactor = 50);"
	"CREATE TABLE calls ("
	"  caller       text COLLATE \"C\" NOT NULL,"
	"  message_id   text COLLATE \"C\" NOT NULL,"
	"  broker       text NOT NULL,"
	"  holder       text NOT NULL,"
	"  source text, protocol text,"
	"  vmhostname   text NOT NULL,"
	"  session_id   bigint NOT NULL,"
	"  method       text NOT NULL,"
	"  state        text NOT NULL CHECK (state IN ('pending', 'done', 'refused', 'unknown')),"
	"  hresult      bigint, return_value bigint, detail text,"
	"  at           timestamptz NOT NULL DEFAULT now(),"
	"  done_at      timestamptz,"
	"  PRIMARY KEY (caller, message_id)"
	");"
	"CREATE INDEX calls_pending ON calls (broker) WHERE state = 'pending';",
	/* 3: the forwarded calls by age, for their retention (fleet_store_calls_prune) */
	"CREATE INDEX calls_at ON calls (at);",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* ---- statements, prepared on every connection ---------------------------------- */

#define SESSION_COLS "vmhostname, session_id, vm_name, connect_state, user_name, " \
	"domain_name, collection_id, client_machine_name, version"
#define HOST_ROW "vmhostname, url, cert_sha256, version, state, " \
	"(extract(epoch FROM registered) * 1000)::bigint, " \
	"coalesce((extract(epoch FROM contact) * 1000)::bigint, 0), "
/* a listing's: with the session count (a host by name has none: store.h) */
#define HOST_COLS HOST_ROW "(SELECT count(*) FROM sessions s WHERE s.vmhostname = h.vmhostname)"

enum stmt {
	P_BEGIN, P_COMMIT,
	P_HOST_ADD, P_HOST_REMOVE, P_HOST_GET, P_HOSTS, P_HOST_STATE, P_HOST_RESET,
	P_HOST_LOCK, P_HOST_APPLIED, P_UPSERT, P_DELETE, P_SWEEP,
	P_GET, P_HOSTS_GEN, P_SECRET_ADD, P_SECRET,
	P_BROKER_GET, P_BROKER_TAKE, P_BROKER_BEAT, P_BROKER_DROP,
	P_CALL_CLAIM, P_CALL_GET, P_CALL_FINISH, P_CALLS_SWEEP, P_CALLS_PRUNE,
	P_END
};

static const char *const sql[P_END] = {
	[P_BEGIN] = "BEGIN",
	[P_COMMIT] = "COMMIT",
	[P_HOST_ADD] = "INSERT INTO hosts (vmhostname, url, cert_sha256) VALUES ($1, $2, $3)",
	/* the count says whether the host existed (as P_HOST_RESET's) */
	[P_HOST_REMOVE] = "WITH d AS (DELETE FROM hosts WHERE vmhostname = $1 RETURNING 1) "
	                  "SELECT count(*) FROM d",
	[P_HOST_GET] = "SELECT " HOST_ROW "0 FROM hosts h WHERE vmhostname = $1",
	[P_HOSTS] = "SELECT " HOST_COLS " FROM hosts h ORDER BY vmhostname",
	/*
	 * an invalid host stays invalid: that is an admin's decision ($3, FORCE);
	 * a heartbeat within $4 ms of the last contact writes nothing (store.h)
	 */
	[P_HOST_STATE] = "UPDATE hosts SET state = $2::smallint, contact = CASE WHEN $2 = 3 "
	                 "THEN now() ELSE contact END WHERE vmhostname = $1 "
	                 "AND ($3::boolean OR (state <> 8 AND NOT ($2 = 3 AND state = 3 AND "
	                 "contact > now() - make_interval(secs => $4::double precision / 1000))))",
	/* one statement, so both or neither; the count says whether the host exists */
	[P_HOST_RESET] = "WITH h AS (UPDATE hosts SET version = 0 WHERE vmhostname = $1 "
	                 "RETURNING 1), s AS (UPDATE sessions SET version = 0 WHERE "
	                 "vmhostname = $1) SELECT count(*) FROM h",
	[P_HOST_LOCK] = "SELECT version, state FROM hosts WHERE vmhostname = $1 FOR UPDATE",
	[P_HOST_APPLIED] = "UPDATE hosts SET version = greatest(version, $2::bigint), state = 3, "
	                   "contact = now() WHERE vmhostname = $1",
	[P_UPSERT] = "INSERT INTO sessions (" SESSION_COLS ") SELECT $1::text, * FROM "
	             "unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], "
	             "$7::text[], $8::text[], $9::bigint[]) "
	             "ON CONFLICT (vmhostname, session_id) DO UPDATE SET "
	             "vm_name = EXCLUDED.vm_name, connect_state = EXCLUDED.connect_state, "
	             "user_name = EXCLUDED.user_name, domain_name = EXCLUDED.domain_name, "
	             "collection_id = EXCLUDED.collection_id, "
	             "client_machine_name = EXCLUDED.client_machine_name, "
	             "version = EXCLUDED.version WHERE sessions.version < EXCLUDED.version",
	[P_DELETE] = "DELETE FROM sessions s USING unnest($2::bigint[], $3::bigint[]) AS d(id, v) "
	             "WHERE s.vmhostname = $1 AND s.session_id = d.id AND s.version < d.v",
	[P_SWEEP] = "DELETE FROM sessions WHERE vmhostname = $1 AND version <= $2::bigint "
	            "AND session_id <> ALL($3::bigint[])",
	[P_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE vmhostname = $1 "
	          "AND session_id = $2::bigint",
	[P_HOSTS_GEN] = "SELECT value FROM meta WHERE key = 'hosts_generation'",
	/* two statements, not one: the SELECT must see a row another broker just committed */
	[P_SECRET_ADD] = "INSERT INTO secrets (name, value) VALUES ($1, $2::bytea) "
	                 "ON CONFLICT (name) DO NOTHING",
	[P_SECRET] = "SELECT value FROM secrets WHERE name = $1",
	/* leases age by the database's clock, the one every broker shares */
	[P_BROKER_GET] = "SELECT holder, (extract(epoch FROM now() - seen) * 1000)::bigint "
	                 "FROM brokers WHERE name = $1",
	/* compare-and-set: a row another process changed since it was read is left alone */
	[P_BROKER_TAKE] = "INSERT INTO brokers (name, holder) VALUES ($1, $2) ON CONFLICT (name) "
	                  "DO UPDATE SET holder = EXCLUDED.holder, started = now(), seen = now() "
	                  "WHERE brokers.holder = $3",
	/* now() back: the clock a broker's enumeration contexts expire by (lease.h) */
	[P_BROKER_BEAT] = "UPDATE brokers SET seen = now() WHERE name = $1 AND holder = $2 "
	                  "RETURNING (extract(epoch FROM now()) * 1000)::bigint",
	[P_BROKER_DROP] = "DELETE FROM brokers WHERE name = $1 AND holder = $2",
	/* a refused call (nothing was sent) is the one a retry may claim again */
	[P_CALL_CLAIM] = "INSERT INTO calls (caller, message_id, broker, holder, source, protocol, "
	                 "vmhostname, session_id, method, state) VALUES ($1, $2, $3, $4, $5, $6, $7, "
	                 "$8::bigint, $9, 'pending') ON CONFLICT (caller, message_id) DO UPDATE SET "
	                 "broker = EXCLUDED.broker, holder = EXCLUDED.holder, source = "
	                 "EXCLUDED.source, protocol = EXCLUDED.protocol, state = 'pending', "
	                 "hresult = NULL, return_value = NULL, detail = NULL, at = now(), "
	                 "done_at = NULL WHERE calls.state = 'refused' AND calls.vmhostname = "
	                 "EXCLUDED.vmhostname AND calls.session_id = EXCLUDED.session_id AND "
	                 "calls.method = EXCLUDED.method",
	[P_CALL_GET] = "SELECT broker, vmhostname, session_id, method, state, "
	               "coalesce(hresult, 0), coalesce(return_value, 0), coalesce(detail, '') "
	               "FROM calls WHERE caller = $1 AND message_id = $2",
	[P_CALL_FINISH] = "UPDATE calls SET state = $4, hresult = $5::bigint, return_value = "
	                  "$6::bigint, detail = $7, done_at = now() WHERE caller = $1 AND "
	                  "message_id = $2 AND holder = $3 AND state IN ('pending', 'unknown')",
	[P_CALLS_SWEEP] = "UPDATE calls c SET state = 'unknown', done_at = now(), detail = "
	                  "'broker ' || c.broker || ' stopped before the outcome was known' "
	                  "WHERE state = 'pending' AND NOT EXISTS (SELECT 1 FROM brokers b WHERE "
	                  "b.name = c.broker AND b.holder = c.holder AND b.seen > now() - "
	                  "make_interval(secs => $1::double precision / 1000))",
	/* brokers pruning at once take rows the others have not locked: no waits, no deadlock */
	[P_CALLS_PRUNE] = "DELETE FROM calls WHERE (caller, message_id) IN (SELECT caller, "
	                  "message_id FROM calls WHERE at < now() - make_interval(secs => "
	                  "$1::double precision / 1000) AND state <> 'pending' ORDER BY at "
	                  "LIMIT $2::bigint FOR UPDATE SKIP LOCKED)",
};

/*
 * A keyset page's statement has one condition per filter of fleet_page it
 * uses (as store_sqlite.c's): one statement per combination, "page0" ..
 * "page15", prepared on every connection.  Parameters: $1 $2 the key after
 * which, $3 the limit, then the filters' in PAGE_* order, numbered on.
 */
enum { PAGE_USER = 1, PAGE_HOST = 2, PAGE_ID = 4, PAGE_STATE = 8, PAGE_KINDS = 16 };

static const char page_head[] = "SELECT " SESSION_COLS " FROM sessions WHERE "
                                "(vmhostname, session_id) > ($1::text, $2::bigint)";
static const char page_tail[] = " ORDER BY vmhostname, session_id LIMIT $3";

/* Page statement KIND's text into OUT (SIZE bytes); its name into NAME. */
static void page_sql(unsigned kind, char *out, size_t size, char name[16])
{
	int n = 3;
	size_t len;

	snprintf(name, 16, "page%u", kind);
	snprintf(out, size, "%s", page_head);
	len = strlen(out);
	if (kind & PAGE_USER) {
		len += (size_t)snprintf(out + len, size - len, " AND lower(user_name) = lower($%d::text)"
		                        " AND ($%d::text IS NULL OR lower(domain_name) = "
		                        "lower($%d::text))", n + 1, n + 2, n + 2);
		n += 2;
	}
	if (kind & PAGE_HOST)
		len += (size_t)snprintf(out + len, size - len, " AND lower(vmhostname) = "
		                        "lower($%d::text)", ++n);
	if (kind & PAGE_ID)
		len += (size_t)snprintf(out + len, size - len, " AND session_id = $%d::bigint", ++n);
	if (kind & PAGE_STATE)
		len += (size_t)snprintf(out + len, size - len, " AND connect_state = $%d::bigint", ++n);
	snprintf(out + len, size - len, "%s", page_tail);
}

/* The statement's name on the server. */
static const char *sname(enum stmt i)
{
	static const char *const names[P_END] = {
		"begin", "commit", "host_add", "host_remove", "host_get", "hosts", "host_state",
		"host_reset", "host_lock", "host_applied", "upsert", "delete", "sweep", "get",
		"hosts_gen", "secret_add", "secret",
		"broker_get", "broker_take", "broker_beat", "broker_drop",
		"call_claim", "call_get", "call_finish", "calls_sweep", "calls_prune",
	};
	return names[i];
}

/* ---- the pool ------------------------------------------------------------------- */

typedef struct pg_conn {
	PGconn *c;
	bool    busy;
	bool    broken;        /* no answer by the deadline, or its socket failed: dropped */
	int64_t deadline;      /* this call's, CLOCK_MONOTONIC ms (deadline_from_now) */
} pg_conn;

typedef struct pg_store {
	fleet_store     base;          /* first: the handle is this */
	char           *dsn;
	char            where[200];    /* `PostgreSQL database "rdms" on HOST`: for messages */
	pthread_mutex_t lock;
	pthread_cond_t  freed;
	pg_conn         pool[POOL_MAX];
	long long       hosts_gen;     /* meta hosts_generation last seen (changed_elsewhere) */
} pg_store;

static pg_store *of(fleet_store *st)
{
	return (pg_store *)st;
}

/* libpq's message without its trailing newline. */
static void trimmed(char *dst, size_t size, const char *msg)
{
	size_t n;

	str_copy(dst, size, msg != NULL && msg[0] != '\0' ? msg : "no answer");
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
		dst[--n] = '\0';
}

/* The database's failure as ERR: WBEM_E_NOT_AVAILABLE (spec/fleet.md 3.10). */
static uint32_t conn_fail(pg_store *s, PGconn *c, const char *what, rdms_error *err)
{
	char msg[300];

	trimmed(msg, sizeof msg, c != NULL ? PQerrorMessage(c) : "out of memory");
	return rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s): %s: %s", s->where,
	                 what, msg);
}

static uint32_t result_fail(pg_store *s, const PGresult *r, const char *what, rdms_error *err)
{
	char msg[300];

	trimmed(msg, sizeof msg, r != NULL ? PQresultErrorMessage(r) : "the connection was lost");
	return rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s): %s: %s", s->where,
	                 what, msg);
}

static bool sqlstate_is(const PGresult *r, const char *state)
{
	const char *got = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return got != NULL && strcmp(got, state) == 0;
}

/*
 * The session's server-side limits, each unless the DSN's options, the
 * role or the database set it already (then the operator's value stands).
 */
static const char session_limits[] =
	"SELECT set_config(name, value, false) FROM (VALUES "
	"('statement_timeout', '5000'), ('lock_timeout', '2000'), "
	"('idle_in_transaction_session_timeout', '10000')) AS d(name, value) "
	"WHERE current_setting(name) IN ('0', '0ms')";

/* ---- waiting, always by the call's deadline ---------------------------------------- */

/* PC's deadline: CALL_DEADLINE_MS from now (the start of a call). */
static void deadline_from_now(pg_conn *pc)
{
	pc->deadline = mono_ms() + CALL_DEADLINE_MS;
}

/*
 * PC's call failed on its connection, which cannot be trusted any more
 * (release() drops it): ERR says so, naming the deadline when it passed.
 */
static uint32_t conn_broken(pg_store *s, pg_conn *pc, const char *what, rdms_error *err)
{
	pc->broken = true;
	if (pc->deadline <= mono_ms())
		return rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s): %s: no answer "
		                 "within %d ms; the connection is dropped", s->where, what,
		                 CALL_DEADLINE_MS);
	return conn_fail(s, pc->c, what, err);
}

/*
 * Waits until PC's socket is ready for EVENTS or its deadline passes (then
 * false): the one place a call on the database waits for the server.
 */
static bool wait_socket(pg_conn *pc, short events)
{
	struct pollfd p = { .fd = PQsocket(pc->c), .events = events };

	if (p.fd < 0)
		return false;
	for (;;) {
		int64_t left = pc->deadline - mono_ms();
		int n = poll(&p, 1, left > 0 ? (int)left : 0);

		if (n > 0)
			return true;
		if (n == 0 || errno != EINTR)
			return false;
	}
}

/* Sends what libpq holds for PC (its socket is non-blocking); false with ERR. */
static bool flush_by_deadline(pg_store *s, pg_conn *pc, const char *what, rdms_error *err)
{
	int rc;

	/* libpq: while the output waits, read what comes, lest both sides wait */
	while ((rc = PQflush(pc->c)) == 1)
		if (!wait_socket(pc, POLLOUT | POLLIN) || PQconsumeInput(pc->c) == 0) {
			conn_broken(s, pc, what, err);
			return false;
		}
	if (rc < 0)
		conn_broken(s, pc, what, err);
	return rc == 0;
}

/*
 * The next result on PC, waiting no longer than its deadline: NULL at the
 * end of a statement's results, and when the wait failed (then PC->broken,
 * ERR set).  Every result is read through here.
 */
static PGresult *next_result(pg_store *s, pg_conn *pc, const char *what, rdms_error *err)
{
	if (pc->broken)
		return NULL;
	while (PQisBusy(pc->c))
		if (!wait_socket(pc, POLLIN) || PQconsumeInput(pc->c) == 0) {
			conn_broken(s, pc, what, err);
			return NULL;
		}
	return PQgetResult(pc->c);
}

/* A result, or why there is none: the connection's failure (ERR) when none came. */
static bool result_ok(pg_store *s, pg_conn *pc, const PGresult *r, const char *what,
                      rdms_error *err)
{
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return true;
	if (r != NULL)
		result_fail(s, r, what, err);
	else if (!pc->broken)
		conn_broken(s, pc, what, err);
	return false;
}

/*
 * Sends TEXT (no parameters; several statements allowed) and reads all its
 * results: the last, or NULL with ERR when any failed.
 */
static PGresult *exec_text(pg_store *s, pg_conn *pc, const char *text, const char *what,
                           rdms_error *err)
{
	PGresult *r, *last = NULL;
	bool ok = true;

	if (PQsendQuery(pc->c, text) != 1) {
		conn_broken(s, pc, what, err);
		return NULL;
	}
	if (!flush_by_deadline(s, pc, what, err))
		return NULL;
	while ((r = next_result(s, pc, what, err)) != NULL) {
		if (ok && !result_ok(s, pc, r, what, err))
			ok = false;
		PQclear(last);
		last = r;
	}
	if (pc->broken || !ok || last == NULL) {
		if (ok && !pc->broken)
			conn_broken(s, pc, what, err);
		PQclear(last);
		return NULL;
	}
	return last;
}

/* TEXT, its results ignored; false with ERR. */
static bool exec_plain(pg_store *s, pg_conn *pc, const char *text, const char *what,
                       rdms_error *err)
{
	PGresult *r = exec_text(s, pc, text, what, err);

	PQclear(r);
	return r != NULL;
}

/*
 * Connects PC with the timeouts of spec/fleet.md 5.1 under whatever the DSN
 * says, asynchronously, by PC's deadline; non-blocking from then on.
 */
static bool pg_connect(pg_store *s, pg_conn *pc, rdms_error *err)
{
	/* later keywords override earlier ones: the DSN (dbname, expanded) comes last */
	static const char *const keys[] = {
		"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
		"keepalives_count", "tcp_user_timeout", "application_name", "client_encoding",
		"dbname", NULL,
	};
	const char *values[] = { "5", "1", "5", "2", "3", "5000", "rdmsd", "UTF8", s->dsn, NULL };
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;   /* as libpq says to begin */

	pc->broken = false;
	pc->c = PQconnectStartParams(keys, values, 1);
	if (pc->c == NULL || PQstatus(pc->c) == CONNECTION_BAD) {
		conn_fail(s, pc->c, "cannot connect", err);
		return false;
	}
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED) {
			conn_fail(s, pc->c, "cannot connect", err);
			return false;
		}
		if (!wait_socket(pc, st == PGRES_POLLING_READING ? POLLIN : POLLOUT)) {
			conn_broken(s, pc, "cannot connect", err);
			return false;
		}
		st = PQconnectPoll(pc->c);
	}
	if (PQsetnonblocking(pc->c, 1) != 0) {
		conn_fail(s, pc->c, "cannot connect", err);
		return false;
	}
	return true;
}

/* Statement I of prepare_all's: sql[] then the page statements; its name into NAME. */
static const char *statement(int i, char *text, size_t size, char name[16])
{
	if (i < P_END) {
		name[0] = '\0';
		return sql[i];
	}
	page_sql((unsigned)(i - P_END), text, size, name);
	return text;
}

/* A command's results after the first: to its end (NULL); false when that failed. */
static bool drain(pg_store *s, pg_conn *pc, const char *what, rdms_error *err)
{
	PGresult *r;

	while ((r = next_result(s, pc, what, err)) != NULL)
		PQclear(r);
	return !pc->broken;
}

/*
 * Ends a pipeline whose N results were read: its sync, then out of
 * pipeline mode; false with ERR (unless FAILED said it already).
 */
static bool end_pipeline(pg_store *s, pg_conn *pc, bool failed, rdms_error *err)
{
	PGresult *sync = next_result(s, pc, "ending a pipeline", err);
	bool ok = PQresultStatus(sync) == PGRES_PIPELINE_SYNC && PQexitPipelineMode(pc->c) == 1;

	if (!ok && !failed && !pc->broken)
		result_fail(s, sync, "ending a pipeline", err);
	PQclear(sync);
	return ok && !failed;
}

/* Prepares every statement on PC, in one round trip (pipelined). */
static bool prepare_all(pg_store *s, pg_conn *pc, rdms_error *err)
{
	bool ok = PQenterPipelineMode(pc->c) == 1, failed = false;
	char text[sizeof page_head + sizeof page_tail + 256], name[16];

	for (int i = 0; ok && i < P_END + PAGE_KINDS; i++) {
		const char *q = statement(i, text, sizeof text, name);

		ok = PQsendPrepare(pc->c, i < P_END ? sname((enum stmt)i) : name, q, 0, NULL) == 1;
	}
	if (!ok || PQpipelineSync(pc->c) != 1) {
		conn_broken(s, pc, "preparing statements", err);
		return false;
	}
	if (!flush_by_deadline(s, pc, "preparing statements", err))
		return false;
	for (int i = 0; i < P_END + PAGE_KINDS; i++) {
		const char *what = statement(i, text, sizeof text, name);
		PGresult *r = next_result(s, pc, what, err);

		if (!failed && !result_ok(s, pc, r, what, err))
			failed = true;
		PQclear(r);
		if (r == NULL || !drain(s, pc, what, err))
			return false;
	}
	return end_pipeline(s, pc, failed, err);
}

/* A new connection for slot PC: connected, limited, prepared; false with ERR. */
static bool conn_open(pg_store *s, pg_conn *pc, rdms_error *err)
{
	if (!pg_connect(s, pc, err) ||
	    !exec_plain(s, pc, session_limits, "setting timeouts", err) ||
	    !prepare_all(s, pc, err)) {
		PQfinish(pc->c);
		pc->c = NULL;
		return false;
	}
	return true;
}

/*
 * A connection of its own for a call, with the call's deadline: an idle
 * one, a new one while the pool has room, or the next one freed by then.
 */
static pg_conn *acquire(pg_store *s, rdms_error *err)
{
	int64_t deadline = mono_ms() + CALL_DEADLINE_MS;
	struct timespec until = { .tv_sec = deadline / 1000,
	                          .tv_nsec = (long)(deadline % 1000) * 1000000 };
	pg_conn *pc = NULL;

	pthread_mutex_lock(&s->lock);
	while (pc == NULL) {
		pg_conn *empty = NULL;

		for (int i = 0; i < POOL_MAX && pc == NULL; i++) {
			if (s->pool[i].busy)
				continue;
			if (s->pool[i].c != NULL)
				pc = &s->pool[i];
			else if (empty == NULL)
				empty = &s->pool[i];
		}
		if (pc == NULL && empty != NULL)
			pc = empty;
		if (pc == NULL && pthread_cond_timedwait(&s->freed, &s->lock, &until) == ETIMEDOUT)
			break;
	}
	if (pc != NULL)
		pc->busy = true;
	pthread_mutex_unlock(&s->lock);
	if (pc == NULL) {
		rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s): all %d connections "
		          "busy for %d ms", s->where, POOL_MAX, CALL_DEADLINE_MS);
		return NULL;
	}
	pc->deadline = deadline;
	pc->broken = false;
	/* a connection the server dropped while idle: a new one */
	if (pc->c != NULL && PQstatus(pc->c) != CONNECTION_OK) {
		PQfinish(pc->c);
		pc->c = NULL;
	}
	if (pc->c == NULL && !conn_open(s, pc, err)) {
		pthread_mutex_lock(&s->lock);
		pc->busy = false;
		pthread_cond_signal(&s->freed);
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	return pc;
}

/*
 * Gives PC back: out of any transaction (by the call's deadline still), or
 * closed when it cannot be trusted -- PQfinish on a non-blocking
 * connection never waits for the server.
 */
static void release(pg_store *s, pg_conn *pc)
{
	if (pc->broken || PQpipelineStatus(pc->c) != PQ_PIPELINE_OFF ||
	    PQstatus(pc->c) != CONNECTION_OK ||
	    (PQtransactionStatus(pc->c) != PQTRANS_IDLE &&
	     !exec_plain(s, pc, "ROLLBACK", "rolling back", &(rdms_error){ 0 }))) {
		PQfinish(pc->c);
		pc->c = NULL;
	}
	pthread_mutex_lock(&s->lock);
	pc->busy = false;
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
}

/* ---- running statements ------------------------------------------------------------ */

/*
 * Prepared statement NAME with N text parameters V (NULL: SQL NULL): its
 * result whatever its status, or NULL when the connection failed (ERR).
 */
static PGresult *send_named(pg_store *s, pg_conn *pc, const char *name, const char *what,
                            int n, const char *const *v, rdms_error *err)
{
	PGresult *r;

	if (PQsendQueryPrepared(pc->c, name, n, v, NULL, NULL, 0) != 1) {
		conn_broken(s, pc, what, err);
		return NULL;
	}
	if (!flush_by_deadline(s, pc, what, err))
		return NULL;
	r = next_result(s, pc, what, err);
	if (r == NULL) {
		if (!pc->broken)
			conn_broken(s, pc, what, err);
		return NULL;
	}
	if (!drain(s, pc, what, err)) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/* NAME (N parameters V) on PC; the result, checked, or NULL with ERR. */
static PGresult *run_named(pg_store *s, pg_conn *pc, const char *name, const char *what, int n,
                           const char *const *v, rdms_error *err)
{
	PGresult *r = send_named(s, pc, name, what, n, v, err);

	if (r == NULL || result_ok(s, pc, r, what, err))
		return r;
	PQclear(r);
	return NULL;
}

/* NAME (N parameters V) on a connection of the pool: its result, or NULL (ERR). */
static PGresult *query_named(pg_store *s, const char *name, const char *what, int n,
                             const char *const *v, rdms_error *err)
{
	pg_conn *pc = acquire(s, err);
	PGresult *r;

	if (pc == NULL)
		return NULL;
	r = run_named(s, pc, name, what, n, v, err);
	release(s, pc);
	return r;
}

static PGresult *query(pg_store *s, enum stmt i, int n, const char *const *v, rdms_error *err)
{
	return query_named(s, sname(i), sql[i], n, v, err);
}

/* A number of R's (ROW, COL): PostgreSQL wrote it, so it is one. */
static long long col_int(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Rows a statement changed. */
static long long changed(const PGresult *r)
{
	return strtoll(PQcmdTuples((PGresult *)r), NULL, 10);
}

/* One statement of a pipeline. */
typedef struct pipe_step {
	enum stmt   i;
	int         n;
	const char *v[9];
} pipe_step;

/*
 * The N steps in one round trip, then their results into R (each freed by
 * the caller, NULL for those not reached); false with ERR naming the first
 * that failed.  An error aborts the rest (PGRES_PIPELINE_ABORTED).
 */
static bool pipeline(pg_store *s, pg_conn *pc, const pipe_step *steps, int n, PGresult **r,
                     rdms_error *err)
{
	bool ok = PQenterPipelineMode(pc->c) == 1, failed = false;

	for (int k = 0; k < n; k++)
		r[k] = NULL;
	for (int k = 0; ok && k < n; k++)
		ok = PQsendQueryPrepared(pc->c, sname(steps[k].i), steps[k].n, steps[k].v, NULL,
		                         NULL, 0) == 1;
	if (!ok || PQpipelineSync(pc->c) != 1) {
		conn_broken(s, pc, "sending", err);
		return false;               /* release() closes the connection */
	}
	if (!flush_by_deadline(s, pc, "sending", err))
		return false;
	for (int k = 0; k < n; k++) {
		const char *what = sql[steps[k].i];

		r[k] = next_result(s, pc, what, err);
		if (!failed && !result_ok(s, pc, r[k], what, err))
			failed = true;
		if (r[k] == NULL || !drain(s, pc, what, err))
			return false;
	}
	return end_pipeline(s, pc, failed, err);
}

static void clear_all(PGresult **r, int n)
{
	for (int k = 0; k < n; k++)
		PQclear(r[k]);
}

/* ---- text for parameters ------------------------------------------------------------ */

/* A number as a parameter. */
typedef struct num { char s[24]; } num;

static num num_u(uint64_t v)
{
	num n;

	snprintf(n.s, sizeof n.s, "%" PRIu64, v);
	return n;
}

/* One element of a text[] literal: quoted, with " and \ escaped; NULL as NULL. */
static void array_text(strbuf *b, const char *s)
{
	if (b->len > 1)
		strbuf_append(b, ",", 1);
	if (s == NULL) {
		strbuf_puts(b, "NULL");
		return;
	}
	strbuf_append(b, "\"", 1);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_append(b, "\\", 1);
		strbuf_append(b, p, 1);
	}
	strbuf_append(b, "\"", 1);
}

static void array_num(strbuf *b, uint64_t v)
{
	strbuf_printf(b, b->len > 1 ? ",%" PRIu64 : "%" PRIu64, v);
}

/* The columns of an array upsert or delete, as array literals. */
enum col { C_ID, C_VM, C_STATE, C_USER, C_DOMAIN, C_COLL, C_CLIENT, C_VERSION, C_END };

typedef struct arrays {
	strbuf c[C_END];
	size_t n;
} arrays;

static void arrays_open(arrays *a)
{
	memset(a, 0, sizeof *a);
	for (int i = 0; i < C_END; i++)
		strbuf_append(&a->c[i], "{", 1);
}

static void arrays_add(arrays *a, const fleet_session *x, uint64_t version)
{
	array_num(&a->c[C_ID], x->id);
	array_text(&a->c[C_VM], x->vm_name);
	array_num(&a->c[C_STATE], x->connect_state);
	array_text(&a->c[C_USER], x->user_name);
	array_text(&a->c[C_DOMAIN], x->domain_name);
	array_text(&a->c[C_COLL], x->collection_id);
	array_text(&a->c[C_CLIENT], x->client_machine_name);
	array_num(&a->c[C_VERSION], version);
	a->n++;
}

/* Closes the literals; false when memory ran out. */
static bool arrays_close(arrays *a)
{
	bool ok = true;

	for (int i = 0; i < C_END; i++) {
		strbuf_append(&a->c[i], "}", 1);
		ok = ok && !a->c[i].failed;
	}
	return ok;
}

static void arrays_free(arrays *a)
{
	for (int i = 0; i < C_END; i++)
		strbuf_free(&a->c[i]);
}

/* The upsert of A's rows for HOST, as a pipeline step. */
static pipe_step upsert_step(const char *host, const arrays *a)
{
	pipe_step p = { .i = P_UPSERT, .n = 9, .v = { host } };

	for (int i = 0; i < C_END; i++)
		p.v[1 + i] = a->c[i].data;
	return p;
}

/* ---- opening -------------------------------------------------------------------- */

static const fleet_store_vtbl pg_vtbl;

static void pg_close(fleet_store *st)
{
	pg_store *s = of(st);

	for (int i = 0; i < POOL_MAX; i++)
		PQfinish(s->pool[i].c);
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free(s->dsn);
	free(s);
}

/* What messages call the database: its name and server, never its password. */
static bool describe(pg_store *s, rdms_error *err)
{
	char *msg = NULL;
	PQconninfoOption *o = PQconninfoParse(s->dsn, &msg);
	const char *db = NULL, *host = NULL, *port = NULL;

	if (o == NULL) {
		char m[300];

		trimmed(m, sizeof m, msg != NULL ? msg : "out of memory");
		PQfreemem(msg);
		rdms_fail(err, WBEM_E_INVALID_PARAMETER, "store_dsn is not a libpq connection "
		          "string: %s", m);
		return false;
	}
	for (PQconninfoOption *p = o; p->keyword != NULL; p++) {
		if (strcmp(p->keyword, "dbname") == 0)
			db = p->val;
		else if (strcmp(p->keyword, "host") == 0)
			host = p->val;
		else if (strcmp(p->keyword, "port") == 0)
			port = p->val;
	}
	snprintf(s->where, sizeof s->where, "PostgreSQL database \"%.60s\" on %.80s%s%.8s",
	         db != NULL ? db : "(default)", host != NULL ? host : "(default host)",
	         port != NULL ? " port " : "", port != NULL ? port : "");
	PQconninfoFree(o);
	return true;
}

/*
 * The C locale, or refused: another locale's lower() folds more than
 * ASCII and its comparisons are not bytewise, so WQL and SQL would disagree.
 */
static bool check_locale(pg_store *s, pg_conn *pc, rdms_error *err)
{
	PGresult *r = exec_text(s, pc, "SELECT datcollate, datctype FROM pg_database "
	                               "WHERE datname = current_database()",
	                        "reading the database's locale", err);
	bool ok = r != NULL && PQntuples(r) == 1;

	if (r != NULL && !ok) {
		rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s): its database is not "
		          "in pg_database", s->where);
	} else if (ok) {
		const char *coll = PQgetvalue(r, 0, 0), *ctype = PQgetvalue(r, 0, 1);

		ok = (strcmp(coll, "C") == 0 || strcmp(coll, "POSIX") == 0) &&
		     (strcmp(ctype, "C") == 0 || strcmp(ctype, "POSIX") == 0);
		if (!ok)
			rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s): the database "
			          "has LC_COLLATE '%.40s' and LC_CTYPE '%.40s'; rdms needs the C locale, so "
			          "that SQL compares strings as WQL does (createdb --locale=C "
			          "--template=template0)", s->where, coll, ctype);
	}
	PQclear(r);
	return ok;
}

/* The schema's version: 0 for an empty database, -1 on failure (ERR). */
static int schema_version(pg_store *s, pg_conn *pc, rdms_error *err)
{
	/* asked first, so that a transaction is not aborted by an undefined table */
	PGresult *r = exec_text(s, pc, "SELECT to_regclass('meta') IS NOT NULL",
	                        "looking for the schema", err);
	int v = -1;

	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "f") == 0)
		v = 0;
	PQclear(r);
	if (v == 0)
		return v;
	r = exec_text(s, pc, "SELECT value FROM meta WHERE key = 'schema_version'",
	              "reading the schema version", err);
	if (r != NULL && PQntuples(r) == 1)
		v = (int)col_int(r, 0, 0);
	else if (r != NULL)
		rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s): its meta table has no "
		          "schema_version", s->where);
	PQclear(r);
	return v;
}

/*
 * Brings the schema from version FROM to this rdmsd's, one step each, in
 * one transaction (under an advisory lock, so two `db init` at once do it
 * once); false with ERR.  Each step has a deadline of its own.
 */
static bool migrate(pg_store *s, pg_conn *pc, rdms_error *err)
{
	int from;
	bool ok = exec_plain(s, pc, "BEGIN; SELECT pg_advisory_xact_lock(hashtext('rdms schema'))",
	                     "locking the schema", err);

	from = ok ? schema_version(s, pc, err) : -1;
	ok = from >= 0;
	for (int v = from; ok && v < SCHEMA_VERSION; v++) {
		char note[160];

		deadline_from_now(pc);
		ok = exec_plain(s, pc, migrations[v], "creating the schema", err);
		snprintf(note, sizeof note, "INSERT INTO meta VALUES ('schema_version', '%d') ON "
		         "CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", v + 1);
		ok = ok && exec_plain(s, pc, note, "recording the schema version", err);
	}
	deadline_from_now(pc);
	ok = ok && exec_plain(s, pc, "COMMIT", "committing the schema", err);
	if (!ok && !pc->broken)
		exec_plain(s, pc, "ROLLBACK", "rolling back", &(rdms_error){ 0 });
	return ok;
}

/* The schema as MODE wants it on PC's database; false with ERR. */
static bool schema(pg_store *s, pg_conn *pc, fleet_open_mode mode, rdms_error *err)
{
	int v = schema_version(s, pc, err);

	if (v < 0)
		return false;
	if (v == SCHEMA_VERSION)
		return true;
	if (v > SCHEMA_VERSION) {
		rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s) has schema version %d, "
		          "newer than this rdmsd's %d: upgrade rdms", s->where, v, SCHEMA_VERSION);
		return false;
	}
	if (v == 0 && mode == FLEET_OPEN_INIT)
		return migrate(s, pc, err);
	if (v > 0 && mode == FLEET_OPEN_UPGRADE)
		return migrate(s, pc, err);
	if (v == 0)
		rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s) has no rdms schema: "
		          "run 'rdms fleet db init'", s->where);
	else
		rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s) has schema version %d; "
		          "this rdmsd knows %d: run 'rdms fleet db upgrade'", s->where, v,
		          SCHEMA_VERSION);
	return false;
}

/*
 * The schema (checked, or made by init and upgrade) on a connection of its
 * own, before any statement is prepared; the host list's generation.
 */
static bool open_schema(pg_store *s, fleet_open_mode mode, rdms_error *err)
{
	pg_conn pc = { 0 };
	PGresult *r = NULL;
	bool ok;

	deadline_from_now(&pc);
	ok = pg_connect(s, &pc, err) &&
	     exec_plain(s, &pc, session_limits, "setting timeouts", err) &&
	     check_locale(s, &pc, err) && schema(s, &pc, mode, err);
	if (ok) {
		deadline_from_now(&pc);
		r = exec_text(s, &pc, sql[P_HOSTS_GEN], "reading the host list's generation", err);
		ok = r != NULL;
	}
	if (r != NULL && PQntuples(r) == 1)
		s->hosts_gen = col_int(r, 0, 0);
	PQclear(r);
	PQfinish(pc.c);
	return ok;
}

fleet_store *fleet_store_open_postgresql(const char *dsn, fleet_open_mode mode, rdms_error *err)
{
	pg_store *s = calloc(1, sizeof *s);
	pthread_condattr_t monotonic;

	if (s == NULL || (s->dsn = strdup(dsn != NULL ? dsn : "")) == NULL) {
		free(s);
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory");
		return NULL;
	}
	s->base.vt = &pg_vtbl;
	pthread_mutex_init(&s->lock, NULL);
	/* acquire()'s wait is on the deadlines' clock */
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&s->freed, &monotonic);
	pthread_condattr_destroy(&monotonic);
	if (!describe(s, err) || !open_schema(s, mode, err))
		goto fail;
	/* the pool's first connection: a broker that cannot prepare should not start */
	{
		pg_conn *pc = acquire(s, err);

		if (pc == NULL)
			goto fail;
		release(s, pc);
	}
	return &s->base;
fail:
	pg_close(&s->base);
	return NULL;
}

/* ---- hosts ------------------------------------------------------------------------ */

/* Hex digits of TEXT (bytea's "\x..." output) into OUT (N bytes); false when not so. */
static bool unhex(const char *text, uint8_t *out, size_t n)
{
	if (strncmp(text, "\\x", 2) != 0 || strlen(text + 2) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char pair[3] = { text[2 + 2 * i], text[3 + 2 * i], '\0' }, *end;
		unsigned long v = strtoul(pair, &end, 16);

		if (*end != '\0' || pair[0] == '+' || pair[0] == '-')
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

static uint32_t pg_host_add(fleet_store *st, const fleet_host *h, int64_t now_ms,
                            rdms_error *err)
{
	pg_store *s = of(st);
	char cert[2 + 64 + 1] = "\\x";
	const char *v[3] = { h->name, h->url, cert };
	pg_conn *pc;
	PGresult *r;
	uint32_t rc = WBEM_S_NO_ERROR;

	(void)now_ms;                  /* registered is the database's now() */
	for (size_t i = 0; i < sizeof h->cert_sha256; i++)
		snprintf(cert + 2 + 2 * i, 3, "%02x", h->cert_sha256[i]);
	if ((pc = acquire(s, err)) == NULL)
		return err->code;
	r = send_named(s, pc, sname(P_HOST_ADD), "adding a host", 3, v, err);
	if (r == NULL)
		rc = err->code;
	else if (sqlstate_is(r, "23505"))     /* unique_violation */
		rc = rdms_fail(err, WBEM_E_ALREADY_EXISTS, "host %s is registered already", h->name);
	else if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = result_fail(s, r, "adding a host", err);
	PQclear(r);
	release(s, pc);
	return rc;
}

/* Statement I on host NAME, which counts the hosts it changed: WBEM_E_NOT_FOUND for none. */
static uint32_t on_host(fleet_store *st, enum stmt i, const char *name, rdms_error *err)
{
	PGresult *r = query(of(st), i, 1, &name, err);
	uint32_t rc = WBEM_S_NO_ERROR;

	if (r == NULL)
		rc = err->code;
	else if (col_int(r, 0, 0) == 0)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no host %s", name);
	PQclear(r);
	return rc;
}

static uint32_t pg_host_remove(fleet_store *st, const char *name, rdms_error *err)
{
	return on_host(st, P_HOST_REMOVE, name, err);
}

/* Hands the host rows of R (HOST_COLS) to FN; *ROWS counts them. */
static void host_rows(const PGresult *r, fleet_host_fn fn, void *ctx, size_t *rows)
{
	int n = PQntuples(r);
	fleet_host h;

	*rows = (size_t)n;
	for (int i = 0; i < n; i++) {
		memset(&h, 0, sizeof h);
		str_copy(h.name, sizeof h.name, PQgetvalue(r, i, 0));
		str_copy(h.url, sizeof h.url, PQgetvalue(r, i, 1));
		unhex(PQgetvalue(r, i, 2), h.cert_sha256, sizeof h.cert_sha256);
		h.version = strtoull(PQgetvalue(r, i, 3), NULL, 10);
		h.state = (int)col_int(r, i, 4);
		h.registered_ms = strtoll(PQgetvalue(r, i, 5), NULL, 10);
		h.contact_ms = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		h.sessions = strtoull(PQgetvalue(r, i, 7), NULL, 10);
		if (fn(ctx, &h) != 0)
			break;
	}
}

/* The host rows of statement I to FN; *ROWS how many there were. */
static uint32_t read_hosts(pg_store *s, enum stmt i, int n, const char *const *v,
                           fleet_host_fn fn, void *ctx, size_t *rows, rdms_error *err)
{
	PGresult *r = query(s, i, n, v, err);

	if (r == NULL)
		return err->code;
	host_rows(r, fn, ctx, rows);
	PQclear(r);
	return WBEM_S_NO_ERROR;
}

static int copy_host(void *ctx, const fleet_host *h)
{
	*(fleet_host *)ctx = *h;
	return 1;
}

static uint32_t pg_host_get(fleet_store *st, const char *name, fleet_host *out,
                            rdms_error *err)
{
	size_t rows = 0;
	uint32_t rc = read_hosts(of(st), P_HOST_GET, 1, &name, copy_host, out, &rows, err);

	if (rc == WBEM_S_NO_ERROR && rows == 0)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no host %s", name);
	return rc;
}

static uint32_t pg_hosts(fleet_store *st, fleet_host_fn fn, void *ctx, rdms_error *err)
{
	size_t rows;

	return read_hosts(of(st), P_HOSTS, 0, NULL, fn, ctx, &rows, err);
}

static uint32_t pg_host_state(fleet_store *st, const char *name, int state, bool force,
                              int64_t now_ms, rdms_error *err)
{
	pg_store *s = of(st);
	num n = num_u((uint64_t)state), every = num_u(FLEET_CONTACT_MS);
	const char *v[4] = { name, n.s, force ? "true" : "false", every.s };
	PGresult *r;
	long long rows;

	(void)now_ms;                  /* the contact is the database's now() */
	r = query(s, P_HOST_STATE, 4, v, err);
	if (r == NULL)
		return err->code;
	rows = changed(r);
	PQclear(r);
	return rows == 0 ? fleet_host_unchanged(st, name, force, err) : WBEM_S_NO_ERROR;
}

static uint32_t pg_host_reset(fleet_store *st, const char *name, rdms_error *err)
{
	return on_host(st, P_HOST_RESET, name, err);
}

/* ---- writes ------------------------------------------------------------------------ */

/*
 * Begins the transaction of a write for HOST and locks its row (one round
 * trip), reading its version and state; FLEET_APPLIED to go on, else why
 * not (ERR set; release() rolls back).
 */
static fleet_apply_rc begin_host(pg_store *s, pg_conn *pc, const char *host, uint64_t *version,
                                 int *state, rdms_error *err)
{
	pipe_step steps[2] = { { .i = P_BEGIN }, { .i = P_HOST_LOCK, .n = 1, .v = { host } } };
	PGresult *r[2];
	fleet_apply_rc rc = FLEET_FAILED;

	if (pipeline(s, pc, steps, 2, r, err)) {
		if (PQntuples(r[1]) == 1) {
			*version = strtoull(PQgetvalue(r[1], 0, 0), NULL, 10);
			*state = (int)col_int(r[1], 0, 1);
			rc = FLEET_APPLIED;
		} else {
			rdms_fail(err, WBEM_E_NOT_FOUND, "no host %s is registered", host);
			rc = FLEET_REFUSED;
		}
	}
	clear_all(r, 2);
	return rc;
}

/* The N steps that end a write, the COMMIT last, in one round trip. */
static fleet_apply_rc finish_host(pg_store *s, pg_conn *pc, pipe_step *steps, int n,
                                  rdms_error *err)
{
	PGresult *r[5];
	bool ok;

	steps[n++] = (pipe_step){ .i = P_COMMIT };
	ok = pipeline(s, pc, steps, n, r, err);
	clear_all(r, n);
	return ok ? FLEET_APPLIED : FLEET_FAILED;
}

/* A change of a batch by its session, then its place (positions rise with it). */
typedef struct change_key {
	uint32_t id;
	size_t   at;
} change_key;

static int by_id_then_place(const void *a, const void *b)
{
	const change_key *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->at > y->at) - (x->at < y->at);
}

/*
 * The changes CH[FIRST..N) as what applying them in order leaves: each
 * session's last event, as an upsert into UP or a deletion into GONE (ids
 * in C_ID, positions in C_VERSION).  One statement may not touch a row
 * twice, so this is also what makes the batch one upsert and one delete.
 */
static bool collapse(const fleet_change *ch, size_t first, size_t n, arrays *up, arrays *gone)
{
	size_t k = n - first;
	change_key *key = malloc(k * sizeof *key);

	if (key == NULL)
		return false;
	for (size_t i = 0; i < k; i++)
		key[i] = (change_key){ ch[first + i].s.id, first + i };
	qsort(key, k, sizeof *key, by_id_then_place);
	for (size_t i = 0; i < k; i++) {
		const fleet_change *c = &ch[key[i].at];

		if (i + 1 < k && key[i + 1].id == key[i].id)
			continue;                        /* a later event of the same session wins */
		if (c->kind == FLEET_UPSERT) {
			arrays_add(up, &c->s, c->version);
		} else {
			array_num(&gone->c[C_ID], c->s.id);
			array_num(&gone->c[C_VERSION], c->version);
			gone->n++;
		}
	}
	free(key);
	return arrays_close(up) && arrays_close(gone);
}

static fleet_apply_rc pg_apply_batch(fleet_store *st, const char *host, const fleet_change *ch,
                                     size_t n, int64_t now_ms, uint64_t *version,
                                     rdms_error *err)
{
	pg_store *s = of(st);
	pg_conn *pc;
	fleet_apply_rc rc;
	size_t first = 0;
	int state = 0;
	arrays up, gone;

	(void)now_ms;                  /* the contact is the database's now() */
	*version = 0;
	if ((pc = acquire(s, err)) == NULL)
		return FLEET_FAILED;
	rc = begin_host(s, pc, host, version, &state, err);
	if (rc == FLEET_APPLIED)
		rc = fleet_plan_batch(*version, state, ch, n, &first, err);
	if (rc != FLEET_APPLIED) {
		release(s, pc);            /* rolls back */
		return rc;
	}
	arrays_open(&up);
	arrays_open(&gone);
	if (!collapse(ch, first, n, &up, &gone)) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory for a batch of %zu", n);
		rc = FLEET_FAILED;
	} else {
		num last = num_u(ch[n - 1].version);
		pipe_step steps[4];
		int k = 0;

		if (up.n > 0)
			steps[k++] = upsert_step(host, &up);
		if (gone.n > 0)
			steps[k++] = (pipe_step){ .i = P_DELETE, .n = 3,
			                          .v = { host, gone.c[C_ID].data, gone.c[C_VERSION].data } };
		steps[k++] = (pipe_step){ .i = P_HOST_APPLIED, .n = 2, .v = { host, last.s } };
		rc = finish_host(s, pc, steps, k, err);
		if (rc == FLEET_APPLIED)
			*version = ch[n - 1].version;
	}
	arrays_free(&up);
	arrays_free(&gone);
	release(s, pc);
	return rc;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The snapshot's SessionIds, none twice; FLEET_REFUSED (ERR) when one is. */
static fleet_apply_rc distinct_ids(const char *host, const fleet_session *x, size_t n,
                                   rdms_error *err)
{
	uint32_t *ids = malloc((n + 1) * sizeof *ids);
	fleet_apply_rc rc = FLEET_APPLIED;

	if (ids == NULL) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory for a snapshot of %zu", n);
		return FLEET_FAILED;
	}
	for (size_t i = 0; i < n; i++)
		ids[i] = x[i].id;
	qsort(ids, n, sizeof *ids, cmp_u32);
	for (size_t i = 1; i < n && rc == FLEET_APPLIED; i++)
		if (ids[i] == ids[i - 1]) {
			rdms_fail(err, WBEM_E_INVALID_PARAMETER, "snapshot of %s: SessionId %" PRIu32
			          " given twice", host, ids[i]);
			rc = FLEET_REFUSED;
		}
	free(ids);
	return rc;
}

/*
 * Upsert where older than AT, then sweep every other session of the host
 * at or below AT: rows above AT cannot exist (the version is at or below
 * AT, or nothing is done), so the sweep removes exactly what ended before.
 */
static fleet_apply_rc pg_apply_snapshot(fleet_store *st, const char *host, uint64_t at,
                                        const fleet_session *x, size_t n, int64_t now_ms,
                                        rdms_error *err)
{
	pg_store *s = of(st);
	pg_conn *pc;
	fleet_apply_rc rc;
	uint64_t version = 0;
	int state = 0;
	arrays up;

	(void)now_ms;
	if ((pc = acquire(s, err)) == NULL)
		return FLEET_FAILED;
	rc = begin_host(s, pc, host, &version, &state, err);
	if (rc == FLEET_APPLIED && state == FLEET_INVALID) {
		rdms_fail(err, WBEM_E_ACCESS_DENIED, "host %s is marked invalid", host);
		rc = FLEET_REFUSED;
	} else if (rc == FLEET_APPLIED && version > at) {
		rc = FLEET_STALE;
	}
	if (rc == FLEET_APPLIED)
		rc = distinct_ids(host, x, n, err);
	if (rc != FLEET_APPLIED) {
		release(s, pc);
		return rc;
	}
	arrays_open(&up);
	for (size_t i = 0; i < n; i++)
		arrays_add(&up, &x[i], at);
	if (!arrays_close(&up)) {
		rdms_fail(err, WBEM_E_OUT_OF_MEMORY, "out of memory for a snapshot of %zu", n);
		rc = FLEET_FAILED;
	} else {
		num v = num_u(at);
		pipe_step steps[4];
		int k = 0;

		if (n > 0)
			steps[k++] = upsert_step(host, &up);
		steps[k++] = (pipe_step){ .i = P_SWEEP, .n = 3, .v = { host, v.s, up.c[C_ID].data } };
		steps[k++] = (pipe_step){ .i = P_HOST_APPLIED, .n = 2, .v = { host, v.s } };
		rc = finish_host(s, pc, steps, k, err);
	}
	arrays_free(&up);
	release(s, pc);
	return rc;
}

/* ---- reads ------------------------------------------------------------------------- */

static const char *value(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Hands the rows of R (SESSION_COLS) to FN; *ROWS counts them. */
static void session_rows(const PGresult *r, fleet_session_fn fn, void *ctx, size_t *rows)
{
	int n = PQntuples(r);

	*rows = 0;
	for (int i = 0; i < n; i++) {
		fleet_session x = {
			.host = value(r, i, 0), .id = (uint32_t)strtoul(PQgetvalue(r, i, 1), NULL, 10),
			.vm_name = value(r, i, 2),
			.connect_state = (uint32_t)strtoul(PQgetvalue(r, i, 3), NULL, 10),
			.user_name = value(r, i, 4), .domain_name = value(r, i, 5),
			.collection_id = value(r, i, 6), .client_machine_name = value(r, i, 7),
			.version = strtoull(PQgetvalue(r, i, 8), NULL, 10),
		};

		(*rows)++;
		if (fn(ctx, &x) != 0)
			break;
	}
}

/* The session rows of prepared statement NAME (WHAT for messages) to FN. */
static uint32_t read_sessions(pg_store *s, const char *name, const char *what, int n,
                              const char *const *v, fleet_session_fn fn, void *ctx, size_t *rows,
                              rdms_error *err)
{
	PGresult *r = query_named(s, name, what, n, v, err);

	if (r == NULL)
		return err->code;
	session_rows(r, fn, ctx, rows);
	PQclear(r);
	return WBEM_S_NO_ERROR;
}

static uint32_t pg_enumerate(fleet_store *st, const fleet_page *p, fleet_session_fn fn,
                             void *ctx, size_t *rows, rdms_error *err)
{
	/* from the start: after ("", -1), before every key */
	char after[24] = "-1", name[16];
	num limit = num_u(p->limit), id = num_u(p->id), state = num_u(p->state);
	const char *v[8] = { p->after_host != NULL ? p->after_host : "", after, limit.s };
	unsigned kind = (p->user != NULL ? PAGE_USER : 0) | (p->host != NULL ? PAGE_HOST : 0) |
	                (p->by_id ? PAGE_ID : 0) | (p->by_state ? PAGE_STATE : 0);
	int n = 3;

	if (p->after_host != NULL)
		snprintf(after, sizeof after, "%" PRIu32, p->after_id);
	if (p->user != NULL) {
		v[n++] = p->user;
		v[n++] = p->domain;
	}
	if (p->host != NULL)
		v[n++] = p->host;
	if (p->by_id)
		v[n++] = id.s;
	if (p->by_state)
		v[n++] = state.s;
	snprintf(name, sizeof name, "page%u", kind);
	return read_sessions(of(st), name, "reading a page", n, v, fn, ctx, rows, err);
}

static uint32_t pg_get(fleet_store *st, const char *host, uint32_t id, fleet_session_fn fn,
                       void *ctx, rdms_error *err)
{
	num n = num_u(id);
	const char *v[2] = { host, n.s };
	size_t rows = 0;
	uint32_t rc = read_sessions(of(st), sname(P_GET), sql[P_GET], 2, v, fn, ctx,
	                             &rows, err);

	if (rc == WBEM_S_NO_ERROR && rows == 0)
		rc = rdms_fail(err, WBEM_E_NOT_FOUND, "no session %" PRIu32 " on host %s", id, host);
	return rc;
}

/*
 * A trigger counts the changes of the host list (any broker's, any
 * `rdms fleet host add`): a change since the last call is one elsewhere,
 * or this store's own, which only costs the caller a reload.
 */
static bool pg_changed_elsewhere(fleet_store *st)
{
	pg_store *s = of(st);
	rdms_error err = { 0 };
	PGresult *r = query(s, P_HOSTS_GEN, 0, NULL, &err);
	long long gen;
	bool changed_now = false;

	if (r != NULL && PQntuples(r) == 1) {
		gen = col_int(r, 0, 0);
		pthread_mutex_lock(&s->lock);
		changed_now = gen != s->hosts_gen;
		s->hosts_gen = gen;
		pthread_mutex_unlock(&s->lock);
	}
	PQclear(r);
	return changed_now;
}

/*
 * Two brokers starting at once on one database: the second's INSERT waits
 * on the first's row and does nothing, and its SELECT (a new snapshot:
 * READ COMMITTED) reads the first's secret.
 */
static uint32_t pg_secret(fleet_store *st, const char *name,
                          const uint8_t fresh[FLEET_SECRET_BYTES],
                          uint8_t out[FLEET_SECRET_BYTES], rdms_error *err)
{
	pg_store *s = of(st);
	char hex[3 + 2 * FLEET_SECRET_BYTES] = "\\x";
	pipe_step steps[2] = { { P_SECRET_ADD, 2, { name, hex } }, { P_SECRET, 1, { name } } };
	PGresult *r[2];
	pg_conn *pc;
	uint32_t rc = WBEM_S_NO_ERROR;

	for (int i = 0; i < FLEET_SECRET_BYTES; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02x", fresh[i]);
	pc = acquire(s, err);
	if (pc == NULL)
		return err->code;
	if (!pipeline(s, pc, steps, 2, r, err))
		rc = err->code;
	else if (PQntuples(r[1]) != 1 || !unhex(PQgetvalue(r[1], 0, 0), out, FLEET_SECRET_BYTES))
		rc = rdms_fail(err, WBEM_E_NOT_AVAILABLE, "session directory (%s): secret %s is not "
		               "%d bytes", s->where, name, FLEET_SECRET_BYTES);
	clear_all(r, 2);
	release(s, pc);
	return rc;
}

static const char *pg_describe(fleet_store *st)
{
	return of(st)->where;
}

/* ---- brokers and calls ------------------------------------------------------------- */

static uint32_t pg_broker_get(fleet_store *st, const char *name, bool *found,
                              char holder[FLEET_HOLDER_MAX + 1], int64_t *age_ms, int64_t now_ms,
                              rdms_error *err)
{
	PGresult *r = query(of(st), P_BROKER_GET, 1, &name, err);

	(void)now_ms;                  /* the database's clock */
	if (r == NULL)
		return err->code;
	*found = PQntuples(r) == 1;
	if (*found) {
		str_copy(holder, FLEET_HOLDER_MAX + 1, PQgetvalue(r, 0, 0));
		*age_ms = col_int(r, 0, 1);
	}
	PQclear(r);
	return WBEM_S_NO_ERROR;
}

/* Statement I (N parameters V), which changes a row or none: *CHANGED whether it did. */
static uint32_t change_one(fleet_store *st, enum stmt i, int n, const char *const *v,
                           bool *changed_one, rdms_error *err)
{
	PGresult *r = query(of(st), i, n, v, err);

	if (r == NULL)
		return err->code;
	*changed_one = changed(r) > 0;
	PQclear(r);
	return WBEM_S_NO_ERROR;
}

static uint32_t pg_broker_take(fleet_store *st, const char *name, const char *holder,
                               const char *expect, bool *taken, int64_t now_ms, rdms_error *err)
{
	const char *v[3] = { name, holder, expect };

	(void)now_ms;
	return change_one(st, P_BROKER_TAKE, 3, v, taken, err);
}

static uint32_t pg_broker_beat(fleet_store *st, const char *name, const char *holder, bool drop,
                               bool *held, int64_t *store_now, int64_t now_ms, rdms_error *err)
{
	const char *v[2] = { name, holder };
	PGresult *r = query(of(st), drop ? P_BROKER_DROP : P_BROKER_BEAT, 2, v, err);

	(void)now_ms;
	if (r == NULL)
		return err->code;
	*held = changed(r) > 0;
	if (!drop && PQntuples(r) == 1)
		*store_now = col_int(r, 0, 0);
	PQclear(r);
	return WBEM_S_NO_ERROR;
}

static uint32_t pg_call_claim(fleet_store *st, const fleet_call *c, bool *claimed, int64_t now_ms,
                              rdms_error *err)
{
	num id = num_u(c->session_id);
	const char *v[9] = { c->caller, c->message_id, c->broker, c->holder, c->source,
	                     c->protocol, c->host, id.s, c->method };

	(void)now_ms;
	return change_one(st, P_CALL_CLAIM, 9, v, claimed, err);
}

static int state_of(const char *name)
{
	for (int s = FLEET_CALL_PENDING; s <= FLEET_CALL_UNKNOWN; s++)
		if (strcmp(fleet_call_state_name(s), name) == 0)
			return s;
	return 0;
}

static uint32_t pg_call_get(fleet_store *st, const char *caller, const char *message_id,
                            bool *found, fleet_call_seen *out, rdms_error *err)
{
	const char *v[2] = { caller, message_id };
	PGresult *r = query(of(st), P_CALL_GET, 2, v, err);

	if (r == NULL)
		return err->code;
	*found = PQntuples(r) == 1;
	if (*found) {
		str_copy(out->broker, sizeof out->broker, PQgetvalue(r, 0, 0));
		str_copy(out->host, sizeof out->host, PQgetvalue(r, 0, 1));
		out->session_id = (uint32_t)col_int(r, 0, 2);
		str_copy(out->method, sizeof out->method, PQgetvalue(r, 0, 3));
		out->state = state_of(PQgetvalue(r, 0, 4));
		out->hresult = (uint32_t)col_int(r, 0, 5);
		out->rv = (uint32_t)col_int(r, 0, 6);
		str_copy(out->detail, sizeof out->detail, PQgetvalue(r, 0, 7));
	}
	PQclear(r);
	return WBEM_S_NO_ERROR;
}

static uint32_t pg_call_finish(fleet_store *st, const fleet_call *c, int64_t now_ms,
                               rdms_error *err)
{
	num hr = num_u(c->hresult), rv = num_u(c->rv);
	const char *v[7] = { c->caller, c->message_id, c->holder, fleet_call_state_name(c->state),
	                     hr.s, rv.s, c->detail };
	bool done;

	(void)now_ms;
	return change_one(st, P_CALL_FINISH, 7, v, &done, err);
}

static uint32_t pg_calls_sweep(fleet_store *st, int64_t lease_ms, size_t *swept, int64_t now_ms,
                               rdms_error *err)
{
	num lease = num_u((uint64_t)lease_ms);
	const char *v[1] = { lease.s };
	PGresult *r = query(of(st), P_CALLS_SWEEP, 1, v, err);

	(void)now_ms;
	if (r == NULL)
		return err->code;
	*swept = (size_t)changed(r);
	PQclear(r);
	return WBEM_S_NO_ERROR;
}

static uint32_t pg_calls_prune(fleet_store *st, int64_t keep_ms, size_t max, size_t *pruned,
                               int64_t now_ms, rdms_error *err)
{
	num keep = num_u((uint64_t)keep_ms), most = num_u((uint64_t)max);
	const char *v[2] = { keep.s, most.s };
	PGresult *r = query(of(st), P_CALLS_PRUNE, 2, v, err);

	(void)now_ms;   /* the database's clock, as the calls' at */
	if (r == NULL)
		return err->code;
	*pruned = (size_t)changed(r);
	PQclear(r);
	return WBEM_S_NO_ERROR;
}

static const fleet_store_vtbl pg_vtbl = {
	.close = pg_close,
	.host_add = pg_host_add,
	.host_remove = pg_host_remove,
	.host_get = pg_host_get,
	.hosts = pg_hosts,
	.host_state = pg_host_state,
	.host_reset = pg_host_reset,
	.apply_batch = pg_apply_batch,
	.apply_snapshot = pg_apply_snapshot,
	.enumerate = pg_enumerate,
	.get = pg_get,
	.changed_elsewhere = pg_changed_elsewhere,
	.secret = pg_secret,
	.describe = pg_describe,
	.broker_get = pg_broker_get,
	.broker_take = pg_broker_take,
	.broker_beat = pg_broker_beat,
	.call_claim = pg_call_claim,
	.call_get = pg_call_get,
	.call_finish = pg_call_finish,
	.calls_sweep = pg_calls_sweep,
	.calls_prune = pg_calls_prune,
};

/*
 * audit.h -- the audit trail of method calls: an SQLite database.
 *
 * rdmsd opens the database once and passes rdms_audit_record() as the
 * operation layer's audit hook (rdms_provider.audit); each event is
 * inserted and committed with synchronous=FULL before the hook returns, so
 * an acknowledged Logoff is on disk even if the machine dies right after.
 * Events recorded at the same time share one commit (group commit).
 * rdms_audit_record_then() is the same without waiting: a function is
 * called once the event is committed.
 * `rdms audit [--since T] [--json]` reads it back through rdms_audit_query().
 *
 * Table `audit`: id, time (ISO 8601 UTC, "2024-05-01T12:00:00.123Z"),
 * user, uid, source, protocol, target, method, result (integer: the
 * HRESULT-level failure or the ReturnValue), detail.
 *
 * Every name carries the rdms_ prefix: libpam loads libaudit, whose
 * audit_open() and audit_close() an unprefixed function of ours would
 * replace inside PAM's own calls.
 */
#ifndef RDMS_AUDIT_H
#define RDMS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cim/wbem.h"
#include "../ops/ops.h"

typedef struct rdms_audit_db rdms_audit_db;

/*
 * Opens (creating file, table and parent directory as needed) the database
 * at PATH for writing.  The file is made mode 0600.  NULL with ERR set on
 * failure.
 */
rdms_audit_db *rdms_audit_open(const char *path, rdms_error *err);
void rdms_audit_close(rdms_audit_db *db);

/*
 * An rdms_audit_fn: CTX is the rdms_audit_db.  Returns 0 once the event is
 * committed, -1 (after logging why) when it could not be stored.
 * Thread-safe.
 */
int rdms_audit_record(void *ctx, const rdms_audit_event *ev);

/*
 * The same without waiting: THEN(THEN_CTX, STORED) is called once the
 * event is committed (STORED true) or could not be (false, logged) --
 * before this returns when no other commit is under way, else later from
 * the thread that commits it.  EV must stay valid until then.  -1 (THEN
 * never called) when out of memory.
 */
typedef void (*rdms_audit_done_fn)(void *ctx, bool stored);
int rdms_audit_record_then(rdms_audit_db *db, const rdms_audit_event *ev,
                           rdms_audit_done_fn then, void *then_ctx);

/*
 * Returns once every event queued so far is committed and its caller told
 * (each THEN called): before the descriptors those functions write to close.
 */
void rdms_audit_flush(rdms_audit_db *db);

/* Group commit at work (audit.c): concurrent callers share a group. */
typedef struct rdms_audit_counts {
	unsigned long long groups;   /* transactions committed, so fsyncs */
	unsigned long long events;   /* the events they held */
	size_t             queued;   /* events waiting for the next group now */
	bool               writing;  /* a group is being written now */
} rdms_audit_counts;

void rdms_audit_stats(rdms_audit_db *db, rdms_audit_counts *out);

/* rdms_audit_entry and rdms_audit_row_fn are the operation layer's (ops.h). */

/*
 * Reads the database at DB_PATH (read-only) and calls FN for every event at
 * or after SINCE (see rdms_audit_normalize_time; NULL: all events).
 * WBEM_E_INVALID_PARAMETER for a bad SINCE, WBEM_E_NOT_FOUND when there is
 * no database, WBEM_E_FAILED for other database errors.
 */
uint32_t rdms_audit_query(const char *db_path, const char *since, rdms_audit_row_fn fn,
                     void *ctx, rdms_error *err);

/* An rdms_audit_read_fn (CTX: the rdms_config whose audit_db is read). */
uint32_t rdms_audit_read(void *ctx, const char *since, rdms_audit_row_fn fn, void *fn_ctx,
                         rdms_error *err);

/*
 * Turns TEXT -- "YYYY-MM-DD", optionally followed by 'T' or ' ' and
 * "HH:MM[:SS[.fff]]", optionally followed by 'Z' or an offset "+HH:MM" /
 * "-HH:MM" (no zone means UTC) -- into the UTC form the database compares,
 * "YYYY-MM-DDTHH:MM:SS", in OUT (at least 20 bytes).
 */
uint32_t rdms_audit_normalize_time(const char *text, char *out, size_t size,
                              rdms_error *err);

#endif

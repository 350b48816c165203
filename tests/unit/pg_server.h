/*
 * pg_server.h -- a throwaway PostgreSQL 15 for tests (spec/fleet.md 4.3):
 * Debian's postgresql-15 binaries, a cluster made by initdb in a temporary
 * directory, the server in the foreground on a Unix socket only (no TCP
 * port to collide on), as an unprivileged account when the test runs as
 * root (postgres refuses root), stopped by its PID at the end.
 */
#ifndef RDMS_TEST_PG_SERVER_H
#define RDMS_TEST_PG_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PG_SERVER_BIN "/usr/lib/postgresql/15/bin"

typedef struct pg_server {
	char  dir[64];      /* the temporary directory: data/, sock/, logs */
	pid_t pid;          /* the postmaster */
	char  why[256];     /* why it could not start */
} pg_server;

/* Makes the cluster and starts the server; false with S->why (not installed, failed). */
bool pg_server_start(pg_server *s);
/* A connection string for database DB on S. */
void pg_server_dsn(const pg_server *s, const char *db, char *out, size_t size);
/* Creates database NAME in LOCALE ("C", "C.UTF-8", ...); false on failure (printed). */
bool pg_server_createdb(const pg_server *s, const char *name, const char *locale);
/*
 * Hangs the server: SIGSTOP to the postmaster and every process of it, so
 * its sockets stay open and nothing answers (a hung database machine).
 */
void pg_server_pause(const pg_server *s);
/* SIGCONT to them all: the server goes on where it stood. */
void pg_server_resume(const pg_server *s);
/* Stops the server (fast shutdown: SIGINT) and waits for it; the directory stays. */
void pg_server_halt(pg_server *s);
/* Stops it if running and removes the directory. */
void pg_server_stop(pg_server *s);

#endif

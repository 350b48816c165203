/*
 * pg_server.c -- a throwaway PostgreSQL 15 for tests (pg_server.h).
 */
#include "pg_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

/* The account the server runs as: ours, or (as root) postgres, else nobody. */
static bool server_account(uid_t *uid, gid_t *gid)
{
	const struct passwd *pw;

	if (geteuid() != 0) {
		*uid = geteuid();
		*gid = getegid();
		return true;
	}
	pw = getpwnam("postgres");
	if (pw == NULL)
		pw = getpwnam("nobody");
	if (pw == NULL)
		return false;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return true;
}

/* Runs ARGV as the server's account, output to LOG; its pid, or -1. */
static pid_t spawn(char *const argv[], const char *log)
{
	uid_t uid;
	gid_t gid;
	pid_t pid;

	if (!server_account(&uid, &gid))
		return -1;
	pid = fork();
	if (pid != 0)
		return pid;
	{
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(gid) != 0 ||
		                       setuid(uid) != 0))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
}

static int wait_exit(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void pg_server_dsn(const pg_server *s, const char *db, char *out, size_t size)
{
	snprintf(out, size, "host=%s/sock user=rdms dbname=%s", s->dir, db);
}

bool pg_server_start(pg_server *s)
{
	char data[96], sock[96], log[96], sockopt[128], dsn[256];
	uid_t uid;
	gid_t gid;
	struct timespec start, now;

	memset(s, 0, sizeof *s);
	if (access(PG_SERVER_BIN "/postgres", X_OK) != 0) {
		snprintf(s->why, sizeof s->why, "PostgreSQL 15 is not installed (%s/postgres; "
		         "Debian's postgresql-15)", PG_SERVER_BIN);
		return false;
	}
	snprintf(s->dir, sizeof s->dir, "/tmp/rdms-pg.XXXXXX");
	if (mkdtemp(s->dir) == NULL || !server_account(&uid, &gid) ||
	    chown(s->dir, uid, gid) != 0) {
		snprintf(s->why, sizeof s->why, "temporary directory: %s", strerror(errno));
		return false;
	}
	snprintf(data, sizeof data, "%s/data", s->dir);
	snprintf(sock, sizeof sock, "%s/sock", s->dir);
	snprintf(log, sizeof log, "%s/server.log", s->dir);
	if (mkdir(sock, 0755) != 0 || chown(sock, uid, gid) != 0) {
		snprintf(s->why, sizeof s->why, "%s: %s", sock, strerror(errno));
		return false;
	}
	{
		char *initdb[] = { PG_SERVER_BIN "/initdb", "-D", data, "-U", "rdms", "-A", "trust",
		                   "-E", "UTF8", "--locale=C", "--no-sync", NULL };
		pid_t pid = spawn(initdb, log);

		if (pid < 0 || wait_exit(pid) != 0) {
			snprintf(s->why, sizeof s->why, "initdb failed: see %s", log);
			return false;
		}
	}
	snprintf(sockopt, sizeof sockopt, "unix_socket_directories=%s", sock);
	{
		char *postgres[] = { PG_SERVER_BIN "/postgres", "-D", data, "-c", sockopt,
		                     "-c", "listen_addresses=", "-c", "fsync=off",
		                     "-c", "max_connections=50", "-c", "shared_buffers=32MB", NULL };

		s->pid = spawn(postgres, log);
	}
	if (s->pid < 0) {
		snprintf(s->why, sizeof s->why, "cannot start postgres");
		return false;
	}
	pg_server_dsn(s, "postgres", dsn, sizeof dsn);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (PQping(dsn) == PQPING_OK)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 30 || waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			snprintf(s->why, sizeof s->why, "postgres did not come up: see %s", log);
			return false;
		}
		usleep(50000);
	}
}

bool pg_server_createdb(const pg_server *s, const char *name, const char *locale)
{
	char dsn[256], sql[256];
	PGconn *c;
	PGresult *r;
	bool ok;

	pg_server_dsn(s, "postgres", dsn, sizeof dsn);
	c = PQconnectdb(dsn);
	snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\" TEMPLATE template0 ENCODING 'UTF8' "
	         "LOCALE '%s'", name, locale);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "pg_server: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok;
}

/* SIG to the postmaster's children (its backends and workers: each its own process group). */
static void signal_children(const pg_server *s, int sig)
{
	DIR *d = opendir("/proc");
	const struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[64], stat[512];
		const char *close_paren;
		FILE *f;
		int ppid = 0;
		long pid = strtol(e->d_name, NULL, 10);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		/* "pid (comm) state ppid ...": comm may hold anything, so after its last ')' */
		if (fgets(stat, sizeof stat, f) != NULL && (close_paren = strrchr(stat, ')')) != NULL)
			ppid = (int)strtol(close_paren + 4, NULL, 10);
		fclose(f);
		if (ppid == s->pid)
			kill((pid_t)pid, sig);
	}
	if (d != NULL)
		closedir(d);
}

void pg_server_pause(const pg_server *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGSTOP);            /* first: it forks no new backend meanwhile */
	signal_children(s, SIGSTOP);
}

void pg_server_resume(const pg_server *s)
{
	if (s->pid <= 0)
		return;
	signal_children(s, SIGCONT);
	kill(s->pid, SIGCONT);
}

void pg_server_halt(pg_server *s)
{
	if (s->pid <= 0)
		return;
	pg_server_resume(s);              /* a paused server would never stop */
	kill(s->pid, SIGINT);             /* fast shutdown: clients are disconnected */
	wait_exit(s->pid);
	s->pid = 0;
}

void pg_server_stop(pg_server *s)
{
	char cmd[128];

	pg_server_halt(s);
	if (s->dir[0] == '\0')
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "pg_server: could not remove %s\n", s->dir);
}

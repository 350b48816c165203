/*
 * xrdp_logfile.c -- where the running xrdp writes its log (issue 14, item 7).
 *
 * The client's computer name is only in xrdp's log ("Connected client
 * computer name: ..."), so the back-end must read the log xrdp really
 * writes, which a host may have moved.  Unless the config names it
 * (xrdp_log, an override), it is found as xrdp itself finds it:
 *   1. the log file the main xrdp process holds open (readlink of its fds:
 *      a regular file whose name ends in ".log") -- the truth, whatever
 *      the config says;
 *   2. otherwise LogFile in the [Logging] section of the ini xrdp was
 *      started with (--config FILE, -c FILE, --config=FILE; default
 *      /etc/xrdp/xrdp.ini), under /var/log unless absolute (xrdp's rule);
 *   3. otherwise /var/log/xrdp.log, xrdp's default.
 * The back-end asks on every listing (each snapshot refresh), and reading
 * every fd link of xrdp is most of what the answer costs, so the file
 * found in step 1 is kept for that xrdp process (its pid and start time: a
 * pid is reused) as long as it is there: a restarted xrdp, or a log rotated
 * away, is looked for again.
 */
#include "xrdp_logfile.h"
#include "xrdp_internal.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/strutil.h"

#define DEFAULT_INI "/etc/xrdp/xrdp.ini"
#define LOG_DIR     "/var/log"

/* The log file found among the fds of one xrdp process (step 1). */
static struct {
	pthread_mutex_t    lock;
	char               root[PATH_MAX];   /* the /proc it was found under */
	pid_t              pid;
	unsigned long long start;            /* the process's start time, in clock ticks */
	char               path[PATH_MAX];   /* "": none kept */
} found_log = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* PID's start time under ROOT; false when it cannot be read. */
static bool start_time(const char *root, pid_t pid, unsigned long long *ticks)
{
	char buf[1024];

	return rdms_proc_read(root, pid, "stat", buf, sizeof buf) > 0 &&
	       rdms_proc_parse_starttime(buf, ticks);
}

/* The log kept for process PID (started at START) into OUT, if it is still there. */
static bool kept_log(const char *root, pid_t pid, unsigned long long start, char *out,
                     size_t size)
{
	struct stat st;
	bool ok;

	pthread_mutex_lock(&found_log.lock);
	ok = found_log.path[0] != '\0' && found_log.pid == pid && found_log.start == start &&
	     strcmp(found_log.root, root) == 0;
	if (ok && (stat(found_log.path, &st) != 0 || !S_ISREG(st.st_mode)))
		found_log.path[0] = '\0';    /* rotated away: look again */
	ok = ok && found_log.path[0] != '\0' && str_copy(out, size, found_log.path);
	pthread_mutex_unlock(&found_log.lock);
	return ok;
}

static void keep_log(const char *root, pid_t pid, unsigned long long start, const char *path)
{
	pthread_mutex_lock(&found_log.lock);
	found_log.pid = pid;
	found_log.start = start;
	if (!str_copy(found_log.root, sizeof found_log.root, root) ||
	    !str_copy(found_log.path, sizeof found_log.path, path))
		found_log.path[0] = '\0';
	pthread_mutex_unlock(&found_log.lock);
}

/* A log file PID holds open, into OUT; false when none. */
static bool open_log(const char *root, pid_t pid, char *out, size_t size)
{
	char dir[PATH_MAX], link[PATH_MAX + 260], target[PATH_MAX];
	struct dirent *d;
	bool found = false;
	DIR *dp;

	snprintf(dir, sizeof dir, "%s/%d/fd", root, (int)pid);
	if ((dp = opendir(dir)) == NULL)
		return false;
	while (!found && (d = readdir(dp)) != NULL) {
		struct stat st;
		ssize_t n;

		snprintf(link, sizeof link, "%s/%s", dir, d->d_name);
		if ((n = readlink(link, target, sizeof target - 1)) <= 0)
			continue;
		target[n] = '\0';
		/* a deleted (rotated away) file reads "... (deleted)": not that one */
		found = target[0] == '/' && n > 4 && strcmp(target + n - 4, ".log") == 0 &&
		        stat(target, &st) == 0 && S_ISREG(st.st_mode) &&
		        str_copy(out, size, target);
	}
	closedir(dp);
	return found;
}

/* The ini PID was started with (its --config), into OUT. */
static void started_ini(const char *root, pid_t pid, char *out, size_t size)
{
	char path[PATH_MAX], cmd[4096];
	const char *prev = "";
	size_t len = 0;
	FILE *f;

	str_copy(out, size, DEFAULT_INI);
	snprintf(path, sizeof path, "%s/%d/cmdline", root, (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	len = fread(cmd, 1, sizeof cmd - 1, f);
	fclose(f);
	cmd[len] = '\0';
	for (const char *a = cmd; a < cmd + len; a += strlen(a) + 1) {
		if (strcmp(prev, "--config") == 0 || strcmp(prev, "-c") == 0)
			str_copy(out, size, a);
		else if (strncmp(a, "--config=", 9) == 0)
			str_copy(out, size, a + 9);
		prev = a;
	}
}

uint32_t xrdp_ini_logfile(const char *ini, char *out, size_t size)
{
	char line[1024];
	bool logging = false, found = false;
	FILE *f = fopen(ini, "r");

	if (f != NULL) {
		while (!found && fgets(line, sizeof line, f) != NULL) {
			char *p = line, *end;

			while (*p == ' ' || *p == '\t')
				p++;
			end = p + strcspn(p, "\r\n");
			while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			*end = '\0';
			if (*p == '[') {
				logging = strcasecmp(p, "[Logging]") == 0;
			} else if (logging) {
				const char *v = str_after_key(p, "LogFile");

				if (v == NULL || *v == '\0')
					continue;
				found = *v == '/' ? str_copy(out, size, v)
				                  : snprintf(out, size, LOG_DIR "/%s", v) < (int)size;
			}
		}
		fclose(f);
	}
	if (!found)
		str_copy(out, size, LOG_DIR "/xrdp.log");
	return found ? WBEM_S_NO_ERROR : WBEM_E_NOT_FOUND;
}

void xrdp_log_path(const rdms_config *cfg, const xrdp_proctab *t, char *out, size_t size)
{
	char ini[PATH_MAX];

	if (cfg->xrdp_log[0] != '\0') {
		str_copy(out, size, cfg->xrdp_log);
		return;
	}
	for (size_t i = 0; t != NULL && i < t->n; i++) {
		pid_t pid = t->v[i].pid;
		unsigned long long start;
		bool known;

		if (!xrdp_proc_is_main(t, &t->v[i], "xrdp"))
			continue;
		known = start_time(cfg->proc_root, pid, &start);
		if (known && kept_log(cfg->proc_root, pid, start, out, size))
			return;
		if (open_log(cfg->proc_root, pid, out, size)) {
			if (known)
				keep_log(cfg->proc_root, pid, start, out);
			return;
		}
		started_ini(cfg->proc_root, t->v[i].pid, ini, sizeof ini);
		xrdp_ini_logfile(ini, out, size);
		return;
	}
	xrdp_ini_logfile(DEFAULT_INI, out, size);
}

bool rdms_xrdp_log_path(const rdms_config *cfg, char *out, size_t size)
{
	xrdp_proctab t = { 0 };
	rdms_error err = { 0 };
	bool ok = cfg->xrdp_log[0] != '\0' ||
	          xrdp_proctab_read(cfg->proc_root, &t, &err) == WBEM_S_NO_ERROR;

	xrdp_log_path(cfg, ok ? &t : NULL, out, size);
	xrdp_proctab_free(&t);
	return out[0] != '\0';
}

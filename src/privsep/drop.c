/*
 * drop.c -- how the network process stops being root (privsep.h).
 *
 * It is started by the privileged process, and whatever that process had
 * open without close-on-exec would reach it.  Before anything else it
 * gives back what it must not keep:
 *   - descriptors: only stdio, the listening sockets (which it serves) and
 *     the ones its caller names survive -- not the audit database, not a
 *     back-end's files;
 *   - shared mappings: SQLite's WAL index of the audit database is
 *     mmap'ed MAP_SHARED, and closing its descriptor does not unmap it;
 * then becomes the `rdms` user with no supplementary groups (setresgid,
 * setresuid: real, effective and saved ids alike, so nothing is left to
 * switch back to; with every uid non-zero the kernel clears all
 * capabilities), sets no_new_privs, and checks the result rather than
 * trusting it: setuid(0) must fail and no capability may remain.
 *
 * The `rdms` account is created on first start when missing (useradd
 * --system, no home, no shell), so a plain `make install` works; packages
 * and the systemd unit create it with sysusers.d before rdmsd runs.
 */
#include "privsep.h"
#include "caps.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"

#define USERADD "/usr/sbin/useradd"

extern char **environ;

static bool find_user(priv_user *u)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(PRIV_USER, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
		return false;
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	return true;
}

/* useradd --system for PRIV_USER; its wait status, or -1 when it did not run. */
static int create_user(void)
{
	char *const argv[] = {
		"useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
		"--shell", "/usr/sbin/nologin", "--comment", "rdmsd network process",
		PRIV_USER, NULL,
	};
	int status;
	pid_t pid;

	if (posix_spawn(&pid, USERADD, NULL, NULL, argv, environ) != 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

uint32_t priv_user_get(priv_user *u, rdms_error *err)
{
	int status;

	memset(u, 0, sizeof *u);
	if (geteuid() != 0) {
		u->uid = geteuid();
		u->gid = getegid();
		return WBEM_S_NO_ERROR;
	}
	if (!find_user(u)) {
		log_info("creating the system user %s for the network process", PRIV_USER);
		status = create_user();
		if (!find_user(u))
			return rdms_fail(err, WBEM_E_FAILED,
			                 "user %s does not exist and %s failed (%s %d); create it: "
			                 "useradd --system --no-create-home --shell /usr/sbin/nologin %s",
			                 PRIV_USER, USERADD,
			                 status == -1 ? "not run" : WIFEXITED(status) ? "exit" : "signal",
			                 status == -1 ? 0 : WIFEXITED(status) ? WEXITSTATUS(status)
			                                                     : WTERMSIG(status),
			                 PRIV_USER);
	}
	if (u->uid == 0 || u->gid == 0)
		return rdms_fail(err, WBEM_E_FAILED, "user %s has uid or gid 0: it must not",
		                 PRIV_USER);
	u->drop = true;
	return WBEM_S_NO_ERROR;
}

/* ---- what the child must not inherit ------------------------------------- */

static bool listening(int fd)
{
	int on = 0;
	socklen_t len = sizeof on;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

static uint32_t close_inherited(const int *keep, size_t n, rdms_error *err)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (d == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "/proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		bool kept = fd <= STDERR_FILENO || fd == dirfd(d) || *end != '\0';

		for (size_t i = 0; i < n && !kept; i++)
			kept = keep[i] == fd;
		if (!kept && !listening((int)fd))
			close((int)fd);
	}
	closedir(d);
	return WBEM_S_NO_ERROR;
}

static uint32_t unmap_shared(rdms_error *err)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long lo[64], hi[64];
	size_t n = 0, cap = 0;
	char *line = NULL;

	if (f == NULL)
		return rdms_fail(err, WBEM_E_FAILED, "/proc/self/maps: %s", strerror(errno));
	/* Collected first: unmapping while reading would change the file. */
	while (getline(&line, &cap, f) > 0) {
		/* "LO-HI PERMS ...", LO and HI in hex, PERMS like "rw-s" */
		char *end;
		const char *perms;

		if (!isxdigit((unsigned char)line[0]))
			continue;
		errno = 0;
		lo[n] = strtoul(line, &end, 16);
		if (*end != '-' || !isxdigit((unsigned char)end[1]))
			continue;
		hi[n] = strtoul(end + 1, &end, 16);
		if (errno != 0 || *end != ' ')
			continue;
		perms = end + 1;
		if (strnlen(perms, 4) < 4 || perms[3] != 's')
			continue;
		if (++n == sizeof lo / sizeof lo[0])
			break;
	}
	free(line);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (munmap((void *)lo[i], hi[i] - lo[i]) != 0)
			return rdms_fail(err, WBEM_E_FAILED, "munmap: %s", strerror(errno));
	if (n == sizeof lo / sizeof lo[0])
		return unmap_shared(err);   /* there were more */
	return WBEM_S_NO_ERROR;
}

/* ---- becoming the user, and checking it ---------------------------------- */

static uint32_t become(const priv_user *u, rdms_error *err)
{
	uid_t r, e, s;

	/*
	 * The bounding set too, where allowed (CAP_SETPCAP; the systemd unit
	 * does not grant it): with no_new_privs nothing could use it anyway.
	 */
	for (int cap = 0; prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 || errno == EPERM; cap++)
		;
	if (setgroups(0, NULL) != 0)
		return rdms_fail(err, WBEM_E_FAILED, "setgroups: %s", strerror(errno));
	if (setresgid(u->gid, u->gid, u->gid) != 0)
		return rdms_fail(err, WBEM_E_FAILED, "setresgid %u: %s", (unsigned)u->gid,
		                 strerror(errno));
	if (setresuid(u->uid, u->uid, u->uid) != 0)
		return rdms_fail(err, WBEM_E_FAILED, "setresuid %u: %s", (unsigned)u->uid,
		                 strerror(errno));
	/* Trust, but verify: none of these may succeed or remain. */
	if (getresuid(&r, &e, &s) != 0 || r != u->uid || e != u->uid || s != u->uid)
		return rdms_fail(err, WBEM_E_FAILED, "uids are not all %u", (unsigned)u->uid);
	if (setuid(0) == 0 || seteuid(0) == 0)
		return rdms_fail(err, WBEM_E_FAILED, "root can be regained after dropping it");
	if (!caps_none_left())
		return rdms_fail(err, WBEM_E_FAILED, "capabilities remain after dropping root");
	return WBEM_S_NO_ERROR;
}

uint32_t priv_drop(const priv_user *u, const int *keep, size_t n, pid_t priv_pid,
                   rdms_error *err)
{
	uint32_t rc;

	if ((rc = close_inherited(keep, n, err)) != WBEM_S_NO_ERROR ||
	    (rc = unmap_shared(err)) != WBEM_S_NO_ERROR)
		return rc;
	if (u->drop && (rc = become(u, err)) != WBEM_S_NO_ERROR)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return rdms_fail(err, WBEM_E_FAILED, "no_new_privs: %s", strerror(errno));
	if (chdir("/") != 0)
		return rdms_fail(err, WBEM_E_FAILED, "chdir /: %s", strerror(errno));
	/* Set after the uid change, which clears it; then check for a lost race. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != priv_pid)
		return rdms_fail(err, WBEM_E_FAILED, "the privileged process is gone");
	return WBEM_S_NO_ERROR;
}

/*
 * helper_spawn.c -- priv's helpers, on a channel at their fd 3
 * (helper_spawn.h).
 */
#include "helper_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/child_signals.h"

pid_t helper_spawn(char *const argv[], char *const envp[], int *sock, rdms_error *err)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		rdms_fail(err, WBEM_E_FAILED, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		rdms_fail(err, WBEM_E_FAILED, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {   /* priv has threads: async-signal-safe calls only */
		/* dup2 onto itself would keep close-on-exec: clear it then */
		if (sv[1] == HELPER_CHANNEL_FD ? fcntl(HELPER_CHANNEL_FD, F_SETFD, 0) == 0
		                               : dup2(sv[1], HELPER_CHANNEL_FD) == HELPER_CHANNEL_FD) {
			syscall(SYS_close_range, HELPER_CHANNEL_FD + 1U, ~0U, 0U);
			child_default_signals();
			execve(argv[0], argv, envp);
		}
		_exit(127);
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

/*
 * helper_spawn.h -- how priv starts a helper of its own (rdmsd-ntlm per
 * Negotiate handshake, rdmsd-pam per password check): a new SOCK_SEQPACKET
 * channel, priv's wire, at the helper's fd 3; nothing else of priv's open
 * in it (every other descriptor closed), and its signals at their
 * defaults (child_signals.h).
 */
#ifndef RDMS_PRIVSEP_HELPER_SPAWN_H
#define RDMS_PRIVSEP_HELPER_SPAWN_H

#include <sys/types.h>

#include "../cim/wbem.h"

#define HELPER_CHANNEL_FD 3

/*
 * Starts ARGV[0] (an absolute path) with ARGV and ENVP: its pid, with
 * priv's end of the channel in *SOCK (close-on-exec); -1 with ERR.  A
 * helper that cannot be executed exits 127.
 */
pid_t helper_spawn(char *const argv[], char *const envp[], int *sock, rdms_error *err);

#endif

/*
 * child_signals.c -- a child's signals as a fresh program expects them
 * (child_signals.h).
 */
#include "child_signals.h"

#include <signal.h>

void child_default_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	sigemptyset(&dfl.sa_mask);
	/* SIGKILL, SIGSTOP and the C library's own real-time signals refuse: no matter */
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

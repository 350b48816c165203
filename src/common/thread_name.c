/*
 * thread_name.c -- a daemon thread named by its job (thread_name.h).
 */
#include "thread_name.h"

#include <pthread.h>
#include <stdio.h>

void rdms_thread_name(const char *role)
{
	char name[16];     /* the kernel's limit: 15 characters and the NUL */

	snprintf(name, sizeof name, "rdmsd-%s", role);
	(void)pthread_setname_np(pthread_self(), name);
}

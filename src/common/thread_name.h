/*
 * thread_name.h -- names a daemon thread by its job, so that `top -H`,
 * `ps -L` and a profile tell the audit committer from a worker.
 */
#ifndef RDMS_COMMON_THREAD_NAME_H
#define RDMS_COMMON_THREAD_NAME_H

/*
 * Names the calling thread "rdmsd-ROLE" (cut to the kernel's 15
 * characters).  Best effort: a failure changes nothing else.
 */
void rdms_thread_name(const char *role);

#endif

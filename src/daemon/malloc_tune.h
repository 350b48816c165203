/*
 * malloc_tune.h -- glibc malloc settings for both rdmsd processes.
 */
#ifndef RDMS_DAEMON_MALLOC_TUNE_H
#define RDMS_DAEMON_MALLOC_TUNE_H

/*
 * For a daemon that answers mostly small requests and now and then an
 * enumeration of thousands of sessions (megabytes, freed right after).
 * Call first thing in main.
 */
void rdms_tune_malloc(void);

#endif

/*
 * child_signals.h -- what a child of rdmsd starts its program with.
 *
 * rdmsd's threads block SIGHUP, SIGTERM and SIGINT (a signalfd takes them)
 * and ignore SIGPIPE, and a forked child keeps both across exec: a blocked
 * mask and ignored dispositions are inherited.  A hook script would then
 * not die of SIGPIPE in a pipeline, nor stop on the SIGTERM that
 * `timeout` or `kill` sends it, and PAM modules and helpers would run
 * with signals they never asked to have blocked.  So every child calls
 * this between fork and exec.
 */
#ifndef RDMS_COMMON_CHILD_SIGNALS_H
#define RDMS_COMMON_CHILD_SIGNALS_H

/*
 * Every signal's disposition back to its default and none blocked.  Only
 * async-signal-safe calls: for a child forked from a threaded process.
 */
void child_default_signals(void);

#endif

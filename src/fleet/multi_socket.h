/*
 * multi_socket.h -- a libcurl multi handle driven by its sockets' events
 * (epoll and libcurl's socket API), for the broker's ingest (ingest.c).
 *
 * curl_multi_perform visits every transfer each time it is called, and
 * for each one waiting on its host asks the kernel whether its socket is
 * readable (a poll() of it): with one held Pull per host, every event
 * from any host cost a poll() per host (measured: 14 per forwarded call
 * with 20 hosts).  Here a wake runs only the transfers whose sockets are
 * ready, or whose timers of libcurl's are due.
 */
#ifndef RDMS_FLEET_MULTI_SOCKET_H
#define RDMS_FLEET_MULTI_SOCKET_H

#include <curl/curl.h>

typedef struct fleet_multi fleet_multi;

/* A multi handle with its epoll set; NULL when out of memory or descriptors. */
fleet_multi *fleet_multi_new(void);
/* Its libcurl multi handle: transfers are added to and removed from it as usual. */
CURLM *fleet_multi_curl(fleet_multi *m);
/*
 * Waits up to WAIT_MS (0: not at all) for a ready socket, a timer of
 * libcurl's or fleet_multi_wakeup, and lets libcurl act on what is ready;
 * finished transfers are then read with curl_multi_info_read.
 */
void fleet_multi_run(fleet_multi *m, int wait_ms);
/* Ends a fleet_multi_run that is waiting, now (any thread). */
void fleet_multi_wakeup(fleet_multi *m);
/* Frees M (its transfers removed first by the caller). */
void fleet_multi_free(fleet_multi *m);

#endif

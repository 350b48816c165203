/*
 * follow.c -- a thread that follows the change feed (follow.h).
 */
#include "follow.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "../common/thread_name.h"

#define DEFAULT_BATCH 256

struct rdms_feed_follower {
	rdms_feed_follow_params p;
	rdms_feed_pos           start;
	pthread_t               thread;
	atomic_bool             stop;
};

static void *follow(void *arg)
{
	rdms_feed_follower *fl = arg;
	rdms_feed_pos at = fl->start;

	rdms_thread_name("follow");
	for (;;) {
		/* the count first: a stop from now on ends the wait below */
		unsigned long gen = rdms_feed_wakes(fl->p.feed);
		rdms_feed_pos next;

		if (atomic_load(&fl->stop))
			break;
		if (!rdms_feed_wait_since(fl->p.feed, at, -1, gen))
			continue;     /* woken without an event: look at the flag */
		if (rdms_feed_read(fl->p.feed, at, fl->p.batch, fl->p.fn, fl->p.ctx, &next) ==
		    RDMS_FEED_GONE) {
			if (fl->p.lost != NULL)
				fl->p.lost(fl->p.ctx);
			next = rdms_feed_earliest(fl->p.feed);
		}
		at = next;
	}
	return NULL;
}

rdms_feed_follower *rdms_feed_follow(const rdms_feed_follow_params *p)
{
	rdms_feed_follower *fl = calloc(1, sizeof *fl);

	if (fl == NULL)
		return NULL;
	fl->p = *p;
	if (fl->p.batch == 0)
		fl->p.batch = DEFAULT_BATCH;
	fl->start = rdms_feed_head(p->feed);
	atomic_init(&fl->stop, false);
	if (pthread_create(&fl->thread, NULL, follow, fl) != 0) {
		free(fl);
		return NULL;
	}
	return fl;
}

void rdms_feed_follower_stop(rdms_feed_follower *fl)
{
	if (fl == NULL)
		return;
	atomic_store(&fl->stop, true);
	rdms_feed_wake(fl->p.feed);
	pthread_join(fl->thread, NULL);
	free(fl);
}

/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_queue_t  hm_posted_accept_events;
hm_queue_t  hm_posted_events;
hm_queue_t  hm_posted_next_events;


void
hm_event_process_posted(hm_cycle_t *cycle, hm_queue_t *posted)
{
    hm_queue_t  *q;
    hm_event_t  *ev;

    while (!hm_queue_empty(posted)) {

        q = hm_queue_head(posted);
        ev = hm_queue_data(q, hm_event_t, queue);

        hm_delete_posted_event(ev);

        ev->handler(ev);
    }
}


void
hm_event_move_posted_next(hm_cycle_t *cycle)
{
    hm_queue_t  *q;
    hm_event_t  *ev;

    for (q = hm_queue_head(&hm_posted_next_events);
         q != hm_queue_sentinel(&hm_posted_next_events);
         q = hm_queue_next(q))
    {
        ev = hm_queue_data(q, hm_event_t, queue);
        ev->ready = 1;
    }

    hm_queue_add(&hm_posted_events, &hm_posted_next_events);
    hm_queue_init(&hm_posted_next_events);
}

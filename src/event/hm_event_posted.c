/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_queue_t  hm_posted_accept_events;
hm_queue_t  hm_posted_events;


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

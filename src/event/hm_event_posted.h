/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_EVENT_POSTED_H_INCLUDED_
#define _HM_EVENT_POSTED_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define hm_post_event(ev, q)                                                  \
                                                                              \
    if (!(ev)->posted) {                                                      \
        (ev)->posted = 1;                                                     \
        hm_queue_insert_tail(q, &(ev)->queue);                                \
    }


#define hm_delete_posted_event(ev)                                            \
                                                                              \
    (ev)->posted = 0;                                                         \
    hm_queue_remove(&(ev)->queue);


void hm_event_process_posted(hm_cycle_t *cycle, hm_queue_t *posted);

/*
 * Events posted to hm_posted_next_events run after the next poll for
 * I/O (which then does not wait): a connection that always has data
 * ready cannot keep the loop from polling, and others from their turn.
 */
void hm_event_move_posted_next(hm_cycle_t *cycle);


extern hm_queue_t  hm_posted_accept_events;
extern hm_queue_t  hm_posted_events;
extern hm_queue_t  hm_posted_next_events;


#endif /* _HM_EVENT_POSTED_H_INCLUDED_ */

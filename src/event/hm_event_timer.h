/*
 * Copyright (C) hermod authors
 *
 * Timers live in a red-black tree keyed by absolute milliseconds.
 */

#ifndef _HM_EVENT_TIMER_H_INCLUDED_
#define _HM_EVENT_TIMER_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_TIMER_INFINITE  (hm_msec_t) -1

#define HM_TIMER_LAZY_DELAY  300


hm_int_t hm_event_timer_init(hm_log_t *log);
hm_msec_t hm_event_find_timer(void);
void hm_event_expire_timers(void);
hm_int_t hm_event_no_timers_left(void);


extern hm_rbtree_t  hm_event_timer_rbtree;


static inline void
hm_event_del_timer(hm_event_t *ev)
{
    hm_rbtree_delete(&hm_event_timer_rbtree, &ev->timer);

    ev->timer.left = NULL;
    ev->timer.right = NULL;
    ev->timer.parent = NULL;

    ev->timer_set = 0;
}


static inline void
hm_event_add_timer(hm_event_t *ev, hm_msec_t timer)
{
    hm_msec_t      key;
    hm_msec_int_t  diff;

    key = hm_current_msec + timer;

    if (ev->timer_set) {

        /*
         * Use a previous timer value if difference between it and a new
         * value is less than HM_TIMER_LAZY_DELAY milliseconds: this allows
         * to minimize the rbtree operations for fast connections.
         */

        diff = (hm_msec_int_t) (key - ev->timer.key);

        if (hm_abs(diff) < HM_TIMER_LAZY_DELAY) {
            return;
        }

        hm_event_del_timer(ev);
    }

    ev->timer.key = key;

    hm_rbtree_insert(&hm_event_timer_rbtree, &ev->timer);

    ev->timer_set = 1;
}


#endif /* _HM_EVENT_TIMER_H_INCLUDED_ */

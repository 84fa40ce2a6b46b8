/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_rbtree_t              hm_event_timer_rbtree;
static hm_rbtree_node_t  hm_event_timer_sentinel;


hm_int_t
hm_event_timer_init(hm_log_t *log)
{
    hm_rbtree_init(&hm_event_timer_rbtree, &hm_event_timer_sentinel,
                   hm_rbtree_insert_timer_value);

    return HM_OK;
}


hm_msec_t
hm_event_find_timer(void)
{
    hm_msec_int_t      timer;
    hm_rbtree_node_t  *node, *root, *sentinel;

    if (hm_event_timer_rbtree.root == &hm_event_timer_sentinel) {
        return HM_TIMER_INFINITE;
    }

    root = hm_event_timer_rbtree.root;
    sentinel = hm_event_timer_rbtree.sentinel;

    node = hm_rbtree_min(root, sentinel);

    timer = (hm_msec_int_t) (node->key - hm_current_msec);

    return (hm_msec_t) (timer > 0 ? timer : 0);
}


void
hm_event_expire_timers(void)
{
    hm_event_t        *ev;
    hm_rbtree_node_t  *node, *root, *sentinel;

    sentinel = hm_event_timer_rbtree.sentinel;

    for ( ;; ) {
        root = hm_event_timer_rbtree.root;

        if (root == sentinel) {
            return;
        }

        node = hm_rbtree_min(root, sentinel);

        /* node->key > hm_current_msec */

        if ((hm_msec_int_t) (node->key - hm_current_msec) > 0) {
            return;
        }

        ev = (hm_event_t *) ((char *) node - offsetof(hm_event_t, timer));

        hm_rbtree_delete(&hm_event_timer_rbtree, &ev->timer);

        ev->timer_set = 0;

        ev->timedout = 1;

        ev->handler(ev);
    }
}


/* true when only cancelable timers are left: a graceful stop may finish */

hm_int_t
hm_event_no_timers_left(void)
{
    hm_event_t        *ev;
    hm_rbtree_node_t  *node, *root, *sentinel;

    sentinel = hm_event_timer_rbtree.sentinel;
    root = hm_event_timer_rbtree.root;

    if (root == sentinel) {
        return HM_OK;
    }

    for (node = hm_rbtree_min(root, sentinel);
         node;
         node = hm_rbtree_next(&hm_event_timer_rbtree, node))
    {
        ev = (hm_event_t *) ((char *) node - offsetof(hm_event_t, timer));

        if (!ev->cancelable) {
            return HM_AGAIN;
        }
    }

    /* only cancelable timers left */

    return HM_OK;
}

/*
 * Copyright (C) hermod authors
 *
 * Events: one read and one write event per connection, timers in a
 * red-black tree, posted events, and the I/O backend behind a vtable.
 */

#ifndef _HM_EVENT_H_INCLUDED_
#define _HM_EVENT_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_INVALID_INDEX  0xd0d0d0d0


struct hm_event_s {
    void                *data;

    unsigned             write:1;
    unsigned             accept:1;

    /* used to detect the stale events in epoll */
    unsigned             instance:1;

    /*
     * the event was passed or would be passed to a kernel;
     * in aio mode - operation was posted.
     */
    unsigned             active:1;

    unsigned             disabled:1;

    /* the ready event; in aio mode 0 means that no operation can be posted */
    unsigned             ready:1;

    unsigned             oneshot:1;

    unsigned             eof:1;
    unsigned             error:1;

    unsigned             timedout:1;
    unsigned             timer_set:1;

    unsigned             delayed:1;

    unsigned             deferred_accept:1;

    /* the pending eof reported by epoll (EPOLLRDHUP) */
    unsigned             pending_eof:1;

    unsigned             posted:1;

    unsigned             closed:1;

    unsigned             cancelable:1;

    unsigned             channel_event:1;

    int                  available;

    hm_event_handler_pt  handler;

    hm_uint_t            index;

    hm_log_t            *log;

    hm_rbtree_node_t     timer;

    /* the posted queue */
    hm_queue_t           queue;

    void                *spare[2];
};


typedef struct {
    hm_int_t  (*add)(hm_event_t *ev, hm_int_t event, hm_uint_t flags);
    hm_int_t  (*del)(hm_event_t *ev, hm_int_t event, hm_uint_t flags);

    hm_int_t  (*enable)(hm_event_t *ev, hm_int_t event, hm_uint_t flags);
    hm_int_t  (*disable)(hm_event_t *ev, hm_int_t event, hm_uint_t flags);

    hm_int_t  (*add_conn)(hm_connection_t *c);
    hm_int_t  (*del_conn)(hm_connection_t *c, hm_uint_t flags);

    hm_int_t  (*notify)(hm_event_handler_pt handler);

    hm_int_t  (*process_events)(hm_cycle_t *cycle, hm_msec_t timer,
                                hm_uint_t flags);

    hm_int_t  (*init)(hm_cycle_t *cycle, hm_msec_t timer);
    void      (*done)(hm_cycle_t *cycle);
} hm_event_actions_t;


extern hm_event_actions_t   hm_event_actions;


/* the event filter is edge-triggered: the "ready" flag must be honoured */
#define HM_USE_CLEAR_EVENT      0x00000004
#define HM_USE_GREEDY_EVENT     0x00000020
#define HM_USE_EPOLL_EVENT      0x00000040

extern hm_uint_t            hm_event_flags;


/* the event should be closed */
#define HM_CLOSE_EVENT    1

/* update timers after process_events() */
#define HM_UPDATE_TIME    1
#define HM_POST_EVENTS    2


#define HM_READ_EVENT     (EPOLLIN|EPOLLRDHUP)
#define HM_WRITE_EVENT    EPOLLOUT
#define HM_LEVEL_EVENT    0
#define HM_CLEAR_EVENT    EPOLLET
#define HM_EXCLUSIVE_EVENT  EPOLLEXCLUSIVE


#define hm_process_events   hm_event_actions.process_events
#define hm_done_events      hm_event_actions.done

#define hm_add_event        hm_event_actions.add
#define hm_del_event        hm_event_actions.del
#define hm_add_conn         hm_event_actions.add_conn
#define hm_del_conn         hm_event_actions.del_conn


#define HM_EVENT_MODULE      0x544E5645  /* "EVNT" */
#define HM_EVENT_CONF        0x02000000


typedef struct {
    hm_uint_t    connections;
    hm_uint_t    use;

    hm_flag_t    multi_accept;

    char        *name;

    void        *spare[4];
} hm_event_conf_t;


typedef struct {
    hm_str_t              *name;

    void                 *(*create_conf)(hm_cycle_t *cycle);
    char                 *(*init_conf)(hm_cycle_t *cycle, void *conf);

    hm_event_actions_t     actions;
} hm_event_module_t;


extern hm_uint_t             hm_event_timer_alarm;
extern hm_uint_t             hm_accept_disabled;

extern hm_module_t           hm_events_module;
extern hm_module_t           hm_event_core_module;


#define hm_event_get_conf(conf_ctx, module)                                  \
             (*(hm_get_conf(conf_ctx, hm_events_module))) [module.ctx_index]


void hm_event_accept(hm_event_t *ev);
void hm_close_accepted_connection(hm_connection_t *c);
void hm_process_events_and_timers(hm_cycle_t *cycle);
hm_int_t hm_handle_read_event(hm_event_t *rev, hm_uint_t flags);
hm_int_t hm_handle_write_event(hm_event_t *wev, size_t lowat);
hm_int_t hm_enable_accept_events(hm_cycle_t *cycle);
hm_int_t hm_disable_accept_events(hm_cycle_t *cycle);


#endif /* _HM_EVENT_H_INCLUDED_ */

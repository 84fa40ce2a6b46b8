/*
 * Copyright (C) hermod authors
 *
 * The epoll backend: the only file that knows about epoll.
 */

#include <hm_config.h>
#include <hm_core.h>


typedef struct {
    hm_uint_t  events;
} hm_epoll_conf_t;


static hm_int_t hm_epoll_init(hm_cycle_t *cycle, hm_msec_t timer);
static void hm_epoll_done(hm_cycle_t *cycle);
static hm_int_t hm_epoll_add_event(hm_event_t *ev, hm_int_t event,
    hm_uint_t flags);
static hm_int_t hm_epoll_del_event(hm_event_t *ev, hm_int_t event,
    hm_uint_t flags);
static hm_int_t hm_epoll_add_connection(hm_connection_t *c);
static hm_int_t hm_epoll_del_connection(hm_connection_t *c,
    hm_uint_t flags);
static hm_int_t hm_epoll_process_events(hm_cycle_t *cycle, hm_msec_t timer,
    hm_uint_t flags);

static void *hm_epoll_create_conf(hm_cycle_t *cycle);
static char *hm_epoll_init_conf(hm_cycle_t *cycle, void *conf);

static int                  ep = -1;
static struct epoll_event  *event_list;
static hm_uint_t            nevents;


static hm_str_t      epoll_name = hm_string("epoll");

static hm_command_t  hm_epoll_commands[] = {

    { hm_string("epoll_events"),
      HM_EVENT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_epoll_conf_t, events),
      NULL,
      "How many events one epoll_wait() call may return." },

      hm_null_command
};


static hm_event_module_t  hm_epoll_module_ctx = {
    &epoll_name,
    hm_epoll_create_conf,               /* create configuration */
    hm_epoll_init_conf,                 /* init configuration */

    {
        hm_epoll_add_event,             /* add an event */
        hm_epoll_del_event,             /* delete an event */
        hm_epoll_add_event,             /* enable an event */
        hm_epoll_del_event,             /* disable an event */
        hm_epoll_add_connection,        /* add an connection */
        hm_epoll_del_connection,        /* delete an connection */
        NULL,                           /* trigger a notify */
        hm_epoll_process_events,        /* process the events */
        hm_epoll_init,                  /* init the events */
        hm_epoll_done,                  /* done the events */
    }
};

hm_module_t  hm_epoll_module = {
    HM_MODULE_V1,
    &hm_epoll_module_ctx,                /* module context */
    hm_epoll_commands,                   /* module directives */
    HM_EVENT_MODULE,                     /* module type */
    NULL,                                /* init master */
    NULL,                                /* init module */
    NULL,                                /* init process */
    NULL,                                /* exit process */
    NULL,                                /* exit master */
    HM_MODULE_V1_PADDING
};


static hm_int_t
hm_epoll_init(hm_cycle_t *cycle, hm_msec_t timer)
{
    hm_epoll_conf_t  *epcf;

    epcf = hm_event_get_conf(cycle->conf_ctx, hm_epoll_module);

    if (ep == -1) {
        ep = epoll_create1(EPOLL_CLOEXEC);

        if (ep == -1) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_errno,
                         "epoll_create1() failed");
            return HM_ERROR;
        }
    }

    if (nevents < epcf->events) {
        if (event_list) {
            hm_free(event_list);
        }

        event_list = hm_alloc(sizeof(struct epoll_event) * epcf->events,
                              cycle->log);
        if (event_list == NULL) {
            return HM_ERROR;
        }
    }

    nevents = epcf->events;

    hm_event_actions = hm_epoll_module_ctx.actions;

    hm_event_flags = HM_USE_CLEAR_EVENT|HM_USE_GREEDY_EVENT
                     |HM_USE_EPOLL_EVENT;

    return HM_OK;
}


static void
hm_epoll_done(hm_cycle_t *cycle)
{
    if (close(ep) == -1) {
        hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                     "epoll close() failed");
    }

    ep = -1;

    hm_free(event_list);

    event_list = NULL;
    nevents = 0;
}


static hm_int_t
hm_epoll_add_event(hm_event_t *ev, hm_int_t event, hm_uint_t flags)
{
    int                  op;
    uint32_t             events, prev;
    hm_event_t          *e;
    hm_connection_t     *c;
    struct epoll_event   ee;

    c = ev->data;

    events = (uint32_t) event;

    if (event == HM_READ_EVENT) {
        e = c->write;
        prev = EPOLLOUT;

    } else {
        e = c->read;
        prev = EPOLLIN|EPOLLRDHUP;
    }

    if (e->active) {
        op = EPOLL_CTL_MOD;
        events |= prev;

    } else {
        op = EPOLL_CTL_ADD;
    }

    ee.events = events | (uint32_t) flags;
    ee.data.ptr = (void *) ((uintptr_t) c | ev->instance);

    if (epoll_ctl(ep, op, c->fd, &ee) == -1) {
        hm_log_error(HM_LOG_ALERT, ev->log, hm_errno,
                     "epoll_ctl(%d, %d) failed", op, c->fd);
        return HM_ERROR;
    }

    ev->active = 1;

    return HM_OK;
}


static hm_int_t
hm_epoll_del_event(hm_event_t *ev, hm_int_t event, hm_uint_t flags)
{
    int                  op;
    uint32_t             prev;
    hm_event_t          *e;
    hm_connection_t     *c;
    struct epoll_event   ee;

    /*
     * when the file descriptor is closed, the epoll automatically deletes
     * it from its queue, so we do not need to delete explicitly the event
     * before the closing the file descriptor
     */

    if (flags & HM_CLOSE_EVENT) {
        ev->active = 0;
        return HM_OK;
    }

    c = ev->data;

    if (event == HM_READ_EVENT) {
        e = c->write;
        prev = EPOLLOUT;

    } else {
        e = c->read;
        prev = EPOLLIN|EPOLLRDHUP;
    }

    if (e->active) {
        op = EPOLL_CTL_MOD;
        ee.events = prev | (uint32_t) flags;
        ee.data.ptr = (void *) ((uintptr_t) c | ev->instance);

    } else {
        op = EPOLL_CTL_DEL;
        ee.events = 0;
        ee.data.ptr = NULL;
    }

    if (epoll_ctl(ep, op, c->fd, &ee) == -1) {
        hm_log_error(HM_LOG_ALERT, ev->log, hm_errno,
                     "epoll_ctl(%d, %d) failed", op, c->fd);
        return HM_ERROR;
    }

    ev->active = 0;

    return HM_OK;
}


static hm_int_t
hm_epoll_add_connection(hm_connection_t *c)
{
    struct epoll_event  ee;

    ee.events = EPOLLIN|EPOLLOUT|EPOLLET|EPOLLRDHUP;
    ee.data.ptr = (void *) ((uintptr_t) c | c->read->instance);

    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ee) == -1) {
        hm_log_error(HM_LOG_ALERT, c->log, hm_errno,
                     "epoll_ctl(EPOLL_CTL_ADD, %d) failed", c->fd);
        return HM_ERROR;
    }

    c->read->active = 1;
    c->write->active = 1;

    return HM_OK;
}


static hm_int_t
hm_epoll_del_connection(hm_connection_t *c, hm_uint_t flags)
{
    int                 op;
    struct epoll_event  ee;

    /*
     * when the file descriptor is closed the epoll automatically deletes
     * it from its queue so we do not need to delete explicitly the event
     * before the closing the file descriptor
     */

    if (flags & HM_CLOSE_EVENT) {
        c->read->active = 0;
        c->write->active = 0;
        return HM_OK;
    }

    op = EPOLL_CTL_DEL;
    ee.events = 0;
    ee.data.ptr = NULL;

    if (epoll_ctl(ep, op, c->fd, &ee) == -1) {
        hm_log_error(HM_LOG_ALERT, c->log, hm_errno,
                     "epoll_ctl(%d, %d) failed", op, c->fd);
        return HM_ERROR;
    }

    c->read->active = 0;
    c->write->active = 0;

    return HM_OK;
}


static hm_int_t
hm_epoll_process_events(hm_cycle_t *cycle, hm_msec_t timer, hm_uint_t flags)
{
    int                events;
    uint32_t           revents;
    hm_int_t           instance, i;
    hm_uint_t          level;
    hm_err_t           err;
    hm_event_t        *rev, *wev;
    hm_queue_t        *queue;
    hm_connection_t   *c;

    events = epoll_wait(ep, event_list, (int) nevents,
                        timer == HM_TIMER_INFINITE ? -1 : (int) timer);

    err = (events == -1) ? hm_errno : 0;

    if (flags & HM_UPDATE_TIME) {
        hm_time_update();
    }

    if (err) {
        if (err == HM_EINTR) {
            level = HM_LOG_INFO;

        } else {
            level = HM_LOG_ALERT;
        }

        hm_log_error(level, cycle->log, err, "epoll_wait() failed");
        return HM_ERROR;
    }

    if (events == 0) {
        if (timer != HM_TIMER_INFINITE) {
            return HM_OK;
        }

        hm_log_error(HM_LOG_ALERT, cycle->log, 0,
                     "epoll_wait() returned no events without timeout");
        return HM_ERROR;
    }

    for (i = 0; i < events; i++) {
        c = event_list[i].data.ptr;

        instance = (uintptr_t) c & 1;
        c = (hm_connection_t *) ((uintptr_t) c & (uintptr_t) ~1);

        rev = c->read;

        if (c->fd == -1 || rev->instance != instance) {

            /*
             * the stale event from a file descriptor
             * that was just closed in this iteration
             */

            continue;
        }

        revents = event_list[i].events;

        if (revents & (EPOLLERR|EPOLLHUP)) {

            /*
             * if the error events were returned, add EPOLLIN and EPOLLOUT
             * to handle the events at least in one active handler
             */

            revents |= EPOLLIN|EPOLLOUT;
        }

        if ((revents & EPOLLIN) && rev->active) {

            if (revents & EPOLLRDHUP) {
                rev->pending_eof = 1;
            }

            rev->ready = 1;
            rev->available = -1;

            if (flags & HM_POST_EVENTS) {
                queue = rev->accept ? &hm_posted_accept_events
                                    : &hm_posted_events;

                hm_post_event(rev, queue);

            } else {
                rev->handler(rev);
            }
        }

        wev = c->write;

        if ((revents & EPOLLOUT) && wev->active) {

            if (c->fd == -1 || wev->instance != instance) {

                /*
                 * the stale event from a file descriptor
                 * that was just closed in this iteration
                 */

                continue;
            }

            wev->ready = 1;

            if (flags & HM_POST_EVENTS) {
                hm_post_event(wev, &hm_posted_events);

            } else {
                wev->handler(wev);
            }
        }
    }

    return HM_OK;
}


static void *
hm_epoll_create_conf(hm_cycle_t *cycle)
{
    hm_epoll_conf_t  *epcf;

    epcf = hm_palloc(cycle->pool, sizeof(hm_epoll_conf_t));
    if (epcf == NULL) {
        return NULL;
    }

    epcf->events = HM_CONF_UNSET;

    return epcf;
}


static char *
hm_epoll_init_conf(hm_cycle_t *cycle, void *conf)
{
    hm_epoll_conf_t *epcf = conf;

    hm_conf_init_uint_value(epcf->events, 512);

    if (epcf->events == 0) {
        hm_log_error(HM_LOG_EMERG, cycle->log, 0,
                     "\"epoll_events\" must be greater than 0");
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}

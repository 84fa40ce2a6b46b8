/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


#define DEFAULT_CONNECTIONS  512


extern hm_module_t hm_epoll_module;


static char *hm_event_init_conf(hm_cycle_t *cycle, void *conf);
static hm_int_t hm_event_module_init(hm_cycle_t *cycle);
static hm_int_t hm_event_process_init(hm_cycle_t *cycle);
static char *hm_events_block(hm_conf_t *cf, hm_command_t *cmd, void *conf);

static char *hm_event_connections(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_event_use(hm_conf_t *cf, hm_command_t *cmd, void *conf);

static void *hm_event_core_create_conf(hm_cycle_t *cycle);
static char *hm_event_core_init_conf(hm_cycle_t *cycle, void *conf);


hm_uint_t             hm_event_flags;
hm_event_actions_t    hm_event_actions;

static hm_uint_t      hm_event_max_module;

hm_uint_t             hm_accept_disabled;


static hm_command_t  hm_events_commands[] = {

    { hm_string("events"),
      HM_MAIN_CONF|HM_CONF_BLOCK|HM_CONF_NOARGS,
      hm_events_block,
      0,
      0,
      NULL,
      "The block of event loop settings." },

      hm_null_command
};


static hm_core_module_t  hm_events_module_ctx = {
    hm_string("events"),
    NULL,
    hm_event_init_conf
};


hm_module_t  hm_events_module = {
    HM_MODULE_V1,
    &hm_events_module_ctx,                 /* module context */
    hm_events_commands,                    /* module directives */
    HM_CORE_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static hm_str_t  event_core_name = hm_string("event_core");


static hm_command_t  hm_event_core_commands[] = {

    { hm_string("worker_connections"),
      HM_EVENT_CONF|HM_CONF_TAKE1,
      hm_event_connections,
      0,
      0,
      NULL,
      "The most connections one worker holds at once, listeners included." },

    { hm_string("use"),
      HM_EVENT_CONF|HM_CONF_TAKE1,
      hm_event_use,
      0,
      0,
      NULL,
      "The event method; only \"epoll\" exists." },

    { hm_string("multi_accept"),
      HM_EVENT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_event_conf_t, multi_accept),
      NULL,
      "Accept every pending connection at once instead of one per event." },

      hm_null_command
};


static hm_event_module_t  hm_event_core_module_ctx = {
    &event_core_name,
    hm_event_core_create_conf,            /* create configuration */
    hm_event_core_init_conf,              /* init configuration */

    { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }
};


hm_module_t  hm_event_core_module = {
    HM_MODULE_V1,
    &hm_event_core_module_ctx,             /* module context */
    hm_event_core_commands,                /* module directives */
    HM_EVENT_MODULE,                       /* module type */
    NULL,                                  /* init master */
    hm_event_module_init,                  /* init module */
    hm_event_process_init,                 /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


void
hm_process_events_and_timers(hm_cycle_t *cycle)
{
    hm_uint_t  flags;
    hm_msec_t  timer, delta;

    timer = hm_event_find_timer();
    flags = HM_UPDATE_TIME|HM_POST_EVENTS;

    if (!hm_queue_empty(&hm_posted_next_events)) {
        hm_event_move_posted_next(cycle);
        timer = 0;
    }

    delta = hm_current_msec;

    (void) hm_process_events(cycle, timer, flags);

    delta = hm_current_msec - delta;

    hm_event_process_posted(cycle, &hm_posted_accept_events);

    if (delta) {
        hm_event_expire_timers();
    }

    hm_event_process_posted(cycle, &hm_posted_events);
}


/*
 * Connections are registered edge-triggered once (add_conn); a read event
 * that was never registered (a listener, a channel) is added level-
 * triggered here.
 */

hm_int_t
hm_handle_read_event(hm_event_t *rev, hm_uint_t flags)
{
    if (!rev->active && !rev->ready) {
        if (hm_add_event(rev, HM_READ_EVENT, HM_CLEAR_EVENT) == HM_ERROR) {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


hm_int_t
hm_handle_write_event(hm_event_t *wev, size_t lowat)
{
    if (!wev->active && !wev->ready) {
        if (hm_add_event(wev, HM_WRITE_EVENT, HM_CLEAR_EVENT) == HM_ERROR) {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


static char *
hm_event_init_conf(hm_cycle_t *cycle, void *conf)
{
    if (hm_get_conf(cycle->conf_ctx, hm_events_module) == NULL) {
        hm_log_error(HM_LOG_EMERG, cycle->log, 0,
                     "no \"events\" section in configuration");
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static hm_int_t
hm_event_module_init(hm_cycle_t *cycle)
{
    void              ***cf;
    hm_core_conf_t      *ccf;
    hm_event_conf_t     *ecf;
    struct rlimit        rlmt;

    cf = hm_get_conf(cycle->conf_ctx, hm_events_module);
    ecf = (*cf)[hm_event_core_module.ctx_index];

    if (!hm_test_config && hm_process <= HM_PROCESS_MASTER) {
        hm_log_error(HM_LOG_NOTICE, cycle->log, 0,
                     "using the \"%s\" event method", ecf->name);
    }

    ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx, hm_core_module);

    if (getrlimit(RLIMIT_NOFILE, &rlmt) == 0
        && ccf->rlimit_nofile == HM_CONF_UNSET
        && rlmt.rlim_cur != RLIM_INFINITY
        && ecf->connections > (hm_uint_t) rlmt.rlim_cur)
    {
        hm_log_error(HM_LOG_WARN, cycle->log, 0,
                     "%ui worker_connections exceed "
                     "open file resource limit: %i",
                     ecf->connections, (hm_int_t) rlmt.rlim_cur);
    }

    return HM_OK;
}


static hm_int_t
hm_event_process_init(hm_cycle_t *cycle)
{
    hm_uint_t           m, i;
    hm_event_t         *rev, *wev;
    hm_listening_t     *ls;
    hm_connection_t    *c, *next;
    hm_event_conf_t    *ecf;
    hm_event_module_t  *module;

    ecf = hm_event_get_conf(cycle->conf_ctx, hm_event_core_module);

    hm_queue_init(&hm_posted_accept_events);
    hm_queue_init(&hm_posted_events);
    hm_queue_init(&hm_posted_next_events);

    if (hm_event_timer_init(cycle->log) == HM_ERROR) {
        return HM_ERROR;
    }

    for (m = 0; cycle->modules[m]; m++) {
        if (cycle->modules[m]->type != HM_EVENT_MODULE) {
            continue;
        }

        if (cycle->modules[m]->ctx_index != ecf->use) {
            continue;
        }

        module = cycle->modules[m]->ctx;

        if (module->actions.init(cycle, 0) != HM_OK) {
            /* fatal */
            exit(2);
        }

        break;
    }

    cycle->connections =
        hm_alloc(sizeof(hm_connection_t) * cycle->connection_n, cycle->log);
    if (cycle->connections == NULL) {
        return HM_ERROR;
    }

    c = cycle->connections;

    cycle->read_events = hm_alloc(sizeof(hm_event_t) * cycle->connection_n,
                                  cycle->log);
    if (cycle->read_events == NULL) {
        return HM_ERROR;
    }

    rev = cycle->read_events;
    for (i = 0; i < cycle->connection_n; i++) {
        rev[i].closed = 1;
        rev[i].instance = 1;
    }

    cycle->write_events = hm_alloc(sizeof(hm_event_t) * cycle->connection_n,
                                   cycle->log);
    if (cycle->write_events == NULL) {
        return HM_ERROR;
    }

    wev = cycle->write_events;
    for (i = 0; i < cycle->connection_n; i++) {
        wev[i].closed = 1;
    }

    i = cycle->connection_n;
    next = NULL;

    do {
        i--;

        c[i].data = next;
        c[i].read = &cycle->read_events[i];
        c[i].write = &cycle->write_events[i];
        c[i].fd = (hm_socket_t) -1;

        next = &c[i];
    } while (i);

    cycle->free_connections = next;
    cycle->free_connection_n = cycle->connection_n;

    /* for each listening socket */

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {

        if (ls[i].reuseport && ls[i].worker != hm_worker) {
            continue;
        }

        c = hm_get_connection(ls[i].fd, cycle->log);

        if (c == NULL) {
            return HM_ERROR;
        }

        c->type = ls[i].type;
        c->log = &ls[i].log;

        c->listening = &ls[i];
        ls[i].connection = c;

        rev = c->read;

        rev->log = c->log;
        rev->accept = 1;

        rev->handler = hm_event_accept;

        if (hm_add_event(rev, HM_READ_EVENT, 0) == HM_ERROR) {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


hm_int_t
hm_enable_accept_events(hm_cycle_t *cycle)
{
    hm_uint_t         i;
    hm_listening_t   *ls;
    hm_connection_t  *c;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {

        c = ls[i].connection;

        if (c == NULL || c->read->active) {
            continue;
        }

        if (hm_add_event(c->read, HM_READ_EVENT, 0) == HM_ERROR) {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


hm_int_t
hm_disable_accept_events(hm_cycle_t *cycle)
{
    hm_uint_t         i;
    hm_listening_t   *ls;
    hm_connection_t  *c;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {

        c = ls[i].connection;

        if (c == NULL || !c->read->active) {
            continue;
        }

        if (hm_del_event(c->read, HM_READ_EVENT, 0) == HM_ERROR) {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


static char *
hm_events_block(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char                 *rv;
    void               ***ctx;
    hm_uint_t             i;
    hm_conf_t             pcf;
    hm_event_module_t    *m;

    if (*(void **) conf) {
        return "is duplicate";
    }

    /* count the number of the event modules and set up their indices */

    hm_event_max_module = hm_count_modules(cf->cycle, HM_EVENT_MODULE);

    ctx = hm_pcalloc(cf->pool, sizeof(void *));
    if (ctx == NULL) {
        return HM_CONF_ERROR;
    }

    *ctx = hm_pcalloc(cf->pool, hm_event_max_module * sizeof(void *));
    if (*ctx == NULL) {
        return HM_CONF_ERROR;
    }

    *(void **) conf = ctx;

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (cf->cycle->modules[i]->type != HM_EVENT_MODULE) {
            continue;
        }

        m = cf->cycle->modules[i]->ctx;

        if (m->create_conf) {
            (*ctx)[cf->cycle->modules[i]->ctx_index] =
                                                     m->create_conf(cf->cycle);
            if ((*ctx)[cf->cycle->modules[i]->ctx_index] == NULL) {
                return HM_CONF_ERROR;
            }
        }
    }

    pcf = *cf;
    cf->ctx = ctx;
    cf->module_type = HM_EVENT_MODULE;
    cf->cmd_type = HM_EVENT_CONF;

    rv = hm_conf_parse(cf, NULL);

    *cf = pcf;

    if (rv != HM_CONF_OK) {
        return rv;
    }

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (cf->cycle->modules[i]->type != HM_EVENT_MODULE) {
            continue;
        }

        m = cf->cycle->modules[i]->ctx;

        if (m->init_conf) {
            rv = m->init_conf(cf->cycle,
                              (*ctx)[cf->cycle->modules[i]->ctx_index]);
            if (rv != HM_CONF_OK) {
                return rv;
            }
        }
    }

    return HM_CONF_OK;
}


static char *
hm_event_connections(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_event_conf_t  *ecf = conf;

    hm_int_t   n;
    hm_str_t  *value;

    if (ecf->connections != HM_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = hm_atoi(value[1].data, value[1].len);

    if (n == HM_ERROR || n < 1) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid value \"%V\" in \"%V\" directive",
                          &value[1], &cmd->name);
        return HM_CONF_ERROR;
    }

    ecf->connections = (hm_uint_t) n;
    cf->cycle->connection_n = ecf->connections;

    return HM_CONF_OK;
}


static char *
hm_event_use(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_event_conf_t  *ecf = conf;

    hm_str_t  *value;

    if (ecf->use != HM_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (!hm_str_eq(&value[1], "epoll")) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid event type \"%V\"", &value[1]);
        return HM_CONF_ERROR;
    }

    ecf->use = hm_epoll_module.ctx_index;
    ecf->name = "epoll";

    return HM_CONF_OK;
}


static void *
hm_event_core_create_conf(hm_cycle_t *cycle)
{
    hm_event_conf_t  *ecf;

    ecf = hm_palloc(cycle->pool, sizeof(hm_event_conf_t));
    if (ecf == NULL) {
        return NULL;
    }

    ecf->connections = HM_CONF_UNSET_UINT;
    ecf->use = HM_CONF_UNSET_UINT;
    ecf->multi_accept = HM_CONF_UNSET;
    ecf->name = (void *) HM_CONF_UNSET;

    return ecf;
}


static char *
hm_event_core_init_conf(hm_cycle_t *cycle, void *conf)
{
    hm_event_conf_t  *ecf = conf;

    hm_conf_init_uint_value(ecf->connections, DEFAULT_CONNECTIONS);
    cycle->connection_n = ecf->connections;

    hm_conf_init_uint_value(ecf->use, hm_epoll_module.ctx_index);
    hm_conf_init_value(ecf->multi_accept, 0);

    if (ecf->name == (void *) HM_CONF_UNSET) {
        ecf->name = "epoll";
    }

    return HM_CONF_OK;
}

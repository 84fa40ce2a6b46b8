/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_uint_t  hm_connection_counter = 1;

static hm_queue_t  hm_reusable_queue;
static hm_uint_t   hm_reusable_queue_inited;

static void hm_drain_connections(hm_log_t *log);


hm_listening_t *
hm_create_listening(hm_conf_t *cf, struct sockaddr *sockaddr,
    socklen_t socklen)
{
    size_t            len;
    hm_listening_t   *ls;
    struct sockaddr  *sa;
    u_char            text[HM_SOCKADDR_STRLEN];

    ls = hm_array_push(&cf->cycle->listening);
    if (ls == NULL) {
        return NULL;
    }

    hm_memzero(ls, sizeof(hm_listening_t));

    sa = hm_palloc(cf->pool, socklen);
    if (sa == NULL) {
        return NULL;
    }

    hm_memcpy(sa, sockaddr, socklen);

    ls->sockaddr = sa;
    ls->socklen = socklen;

    len = hm_sock_ntop(sa, socklen, text, HM_SOCKADDR_STRLEN, 1);
    ls->addr_text.len = len;

    ls->addr_text.data = hm_pnalloc(cf->pool, len);
    if (ls->addr_text.data == NULL) {
        return NULL;
    }

    hm_memcpy(ls->addr_text.data, text, len);

    ls->fd = (hm_socket_t) -1;
    ls->type = SOCK_STREAM;

    ls->backlog = HM_LISTEN_BACKLOG;
    ls->rcvbuf = -1;
    ls->sndbuf = -1;

    hm_conf_location(cf, &ls->where);

    return ls;
}


hm_int_t
hm_open_listening_sockets(hm_cycle_t *cycle)
{
    int               reuseaddr;
    hm_uint_t         i, tries, failed;
    hm_err_t          err;
    hm_log_t         *log;
    hm_socket_t       s;
    hm_listening_t   *ls;

    reuseaddr = 1;
    log = cycle->log;

    /* TODO: configurable try number */

    for (tries = 5; tries; tries--) {
        failed = 0;

        /* for each listening socket */

        ls = cycle->listening.elts;
        for (i = 0; i < cycle->listening.nelts; i++) {

            if (ls[i].ignore) {
                continue;
            }

            if (ls[i].add_reuseport) {

                /*
                 * to allow transition from a socket without SO_REUSEPORT
                 * to multiple sockets with SO_REUSEPORT, we have to set
                 * SO_REUSEPORT on the old socket before opening new ones
                 */

                int  reuseport = 1;

                if (setsockopt(ls[i].fd, SOL_SOCKET, SO_REUSEPORT,
                               (const void *) &reuseport, sizeof(int))
                    == -1)
                {
                    hm_log_error(HM_LOG_ALERT, cycle->log, hm_socket_errno,
                                 "setsockopt(SO_REUSEPORT) %V failed, "
                                 "ignored", &ls[i].addr_text);
                }

                ls[i].add_reuseport = 0;
            }

            if (ls[i].fd != (hm_socket_t) -1) {
                continue;
            }

            if (ls[i].inherited) {

                /* TODO: close on exit */
                /* TODO: nonblocking */
                /* TODO: deferred accept */

                continue;
            }

            s = hm_socket(ls[i].sockaddr->sa_family, ls[i].type, 0);

            if (s == (hm_socket_t) -1) {
                hm_log_error(HM_LOG_EMERG, log, hm_socket_errno,
                             hm_socket_n " %V failed", &ls[i].addr_text);
                return HM_ERROR;
            }

            if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR,
                           (const void *) &reuseaddr, sizeof(int))
                == -1)
            {
                hm_log_error(HM_LOG_EMERG, log, hm_socket_errno,
                             "setsockopt(SO_REUSEADDR) %V failed",
                             &ls[i].addr_text);

                if (hm_close_socket(s) == -1) {
                    hm_log_error(HM_LOG_EMERG, log, hm_socket_errno,
                                 hm_close_socket_n " %V failed",
                                 &ls[i].addr_text);
                }

                return HM_ERROR;
            }

            if (ls[i].reuseport) {
                int  reuseport = 1;

                if (setsockopt(s, SOL_SOCKET, SO_REUSEPORT,
                               (const void *) &reuseport, sizeof(int))
                    == -1)
                {
                    hm_log_error(HM_LOG_EMERG, log, hm_socket_errno,
                                 "setsockopt(SO_REUSEPORT) %V failed",
                                 &ls[i].addr_text);

                    (void) hm_close_socket(s);

                    return HM_ERROR;
                }
            }

            if (ls[i].sockaddr->sa_family == AF_INET6) {
                int  ipv6only = 1;

                if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY,
                               (const void *) &ipv6only, sizeof(int))
                    == -1)
                {
                    hm_log_error(HM_LOG_EMERG, log, hm_socket_errno,
                                 "setsockopt(IPV6_V6ONLY) %V failed, ignored",
                                 &ls[i].addr_text);
                }
            }

            if (hm_nonblocking(s) == -1) {
                hm_log_error(HM_LOG_EMERG, log, hm_socket_errno,
                             hm_nonblocking_n " %V failed",
                             &ls[i].addr_text);

                (void) hm_close_socket(s);

                return HM_ERROR;
            }

            if (bind(s, ls[i].sockaddr, ls[i].socklen) == -1) {
                err = hm_socket_errno;

                if (err != HM_EADDRINUSE || !hm_test_config) {
                    hm_log_error(HM_LOG_EMERG, log, err,
                                 "bind() to %V failed", &ls[i].addr_text);
                }

                if (hm_close_socket(s) == -1) {
                    hm_log_error(HM_LOG_EMERG, log, hm_socket_errno,
                                 hm_close_socket_n " %V failed",
                                 &ls[i].addr_text);
                }

                if (err != HM_EADDRINUSE) {
                    return HM_ERROR;
                }

                if (!hm_test_config) {
                    failed = 1;
                }

                continue;
            }

            if (ls[i].type != SOCK_STREAM) {
                ls[i].fd = s;
                continue;
            }

            if (listen(s, ls[i].backlog) == -1) {
                err = hm_socket_errno;

                /*
                 * on OpenVZ after suspend/resume EADDRINUSE
                 * may be returned by listen() instead of bind(), see
                 * https://bugs.openvz.org/browse/OVZ-5587
                 */

                if (err != HM_EADDRINUSE || !hm_test_config) {
                    hm_log_error(HM_LOG_EMERG, log, err,
                                 "listen() to %V, backlog %d failed",
                                 &ls[i].addr_text, ls[i].backlog);
                }

                (void) hm_close_socket(s);

                if (err != HM_EADDRINUSE) {
                    return HM_ERROR;
                }

                if (!hm_test_config) {
                    failed = 1;
                }

                continue;
            }

            ls[i].listen = 1;

            ls[i].fd = s;
        }

        if (!failed) {
            break;
        }

        /* TODO: delay configurable */

        hm_log_error(HM_LOG_NOTICE, log, 0,
                     "try again to bind() after 500ms");

        usleep(500000);
    }

    if (failed) {
        hm_log_error(HM_LOG_EMERG, log, 0, "still could not bind()");
        return HM_ERROR;
    }

    return HM_OK;
}


void
hm_close_listening_sockets(hm_cycle_t *cycle)
{
    hm_uint_t         i;
    hm_listening_t   *ls;
    hm_connection_t  *c;

    hm_accept_disabled = 1;

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {

        c = ls[i].connection;

        if (c) {
            if (c->read->active) {
                hm_del_event(c->read, HM_READ_EVENT, 0);
            }

            hm_free_connection(c);

            c->fd = (hm_socket_t) -1;
        }

        if (ls[i].fd == (hm_socket_t) -1) {
            continue;
        }

        if (hm_close_socket(ls[i].fd) == -1) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_socket_errno,
                         hm_close_socket_n " %V failed", &ls[i].addr_text);
        }

        ls[i].fd = (hm_socket_t) -1;
    }

    cycle->listening.nelts = 0;
}


hm_connection_t *
hm_get_connection(hm_socket_t s, hm_log_t *log)
{
    hm_uint_t         instance;
    hm_event_t       *rev, *wev;
    hm_connection_t  *c;

    c = hm_cycle->free_connections;

    if (c == NULL) {
        hm_drain_connections(log);
        c = hm_cycle->free_connections;
    }

    if (c == NULL) {
        hm_log_error(HM_LOG_ALERT, log, 0,
                     "%ui worker_connections are not enough",
                     hm_cycle->connection_n);

        return NULL;
    }

    hm_cycle->free_connections = c->data;
    hm_cycle->free_connection_n--;

    rev = c->read;
    wev = c->write;

    hm_memzero(c, sizeof(hm_connection_t));

    c->read = rev;
    c->write = wev;
    c->fd = s;
    c->log = log;

    instance = rev->instance;

    hm_memzero(rev, sizeof(hm_event_t));
    hm_memzero(wev, sizeof(hm_event_t));

    rev->instance = !instance;
    wev->instance = !instance;

    rev->index = HM_INVALID_INDEX;
    wev->index = HM_INVALID_INDEX;

    rev->data = c;
    wev->data = c;

    wev->write = 1;

    return c;
}


void
hm_free_connection(hm_connection_t *c)
{
    c->data = hm_cycle->free_connections;
    hm_cycle->free_connections = c;
    hm_cycle->free_connection_n++;
}


void
hm_close_connection(hm_connection_t *c)
{
    hm_socket_t  fd;

    if (c->fd == (hm_socket_t) -1) {
        hm_log_error(HM_LOG_ALERT, c->log, 0, "connection already closed");
        return;
    }

    if (c->read->timer_set) {
        hm_event_del_timer(c->read);
    }

    if (c->write->timer_set) {
        hm_event_del_timer(c->write);
    }

    if (!c->shared) {
        hm_del_conn(c, HM_CLOSE_EVENT);
    }

    if (c->read->posted) {
        hm_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        hm_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;

    hm_reusable_connection(c, 0);

    hm_free_connection(c);

    fd = c->fd;
    c->fd = (hm_socket_t) -1;

    if (c->shared) {
        return;
    }

    if (hm_close_socket(fd) == -1) {
        hm_log_error(HM_LOG_ALERT, c->log, hm_socket_errno,
                     hm_close_socket_n " %d failed", fd);
    }
}


/*
 * Idle connections are those a module marked reusable: on graceful stop
 * they are closed at once instead of waiting for the peer.
 */



/*
 * Out of connections: close up to 32 of the least recently used reusable
 * ones (idle keep-alive, clients that have not sent a request yet), as
 * nginx does, so that new clients are served instead of refused.
 */

static void
hm_drain_connections(hm_log_t *log)
{
    hm_uint_t         i, n;
    hm_queue_t       *q;
    hm_connection_t  *c;

    if (!hm_reusable_queue_inited || hm_queue_empty(&hm_reusable_queue)) {
        return;
    }

    n = 0;

    for (i = 0; i < 32; i++) {
        if (hm_queue_empty(&hm_reusable_queue)) {
            break;
        }

        q = hm_queue_last(&hm_reusable_queue);
        c = hm_queue_data(q, hm_connection_t, queue);

        c->close = 1;
        c->read->handler(c->read);

        if (c->reusable) {

            /* the owner kept it: do not loop on it */

            hm_reusable_connection(c, 0);
        }

        n++;
    }

    if (n) {
        hm_log_error(HM_LOG_WARN, log, 0,
                     "%ui worker_connections are not enough, "
                     "reusing connections", hm_cycle->connection_n);
    }
}


void
hm_reusable_connection(hm_connection_t *c, hm_uint_t reusable)
{
    if (!hm_reusable_queue_inited) {
        hm_queue_init(&hm_reusable_queue);
        hm_reusable_queue_inited = 1;
    }

    if (c->reusable) {
        hm_queue_remove(&c->queue);
    }

    c->reusable = reusable;

    if (reusable) {
        hm_queue_insert_head(&hm_reusable_queue, &c->queue);
    }
}


/*
 * On graceful stop only idle connections (keep-alive between requests,
 * cached upstream connections) are closed at once, as in nginx: a
 * connection accepted but not yet read from is served.
 */

void
hm_close_idle_connections(hm_cycle_t *cycle)
{
    hm_uint_t         i;
    hm_connection_t  *c;

    c = cycle->connections;

    if (c == NULL) {
        return;
    }

    for (i = 0; i < cycle->connection_n; i++) {

        if (c[i].fd != (hm_socket_t) -1 && c[i].idle) {
            c[i].close = 1;
            c[i].read->handler(c[i].read);
        }
    }
}


hm_int_t
hm_connection_error(hm_connection_t *c, hm_err_t err, char *text)
{
    hm_uint_t  level;

    if (err == HM_ECONNRESET
        && c->log_error == HM_ERROR_IGNORE_ECONNRESET)
    {
        return 0;
    }

    if (err == 0 || err == HM_ECONNRESET || err == HM_EPIPE
        || err == HM_ENOTCONN || err == HM_ETIMEDOUT
        || err == HM_ECONNREFUSED || err == HM_ENETDOWN
        || err == HM_ENETUNREACH || err == HM_EHOSTDOWN
        || err == HM_EHOSTUNREACH)
    {
        switch (c->log_error) {

        case HM_ERROR_IGNORE_EINVAL:
        case HM_ERROR_IGNORE_ECONNRESET:
        case HM_ERROR_INFO:
            level = HM_LOG_INFO;
            break;

        default:
            level = HM_LOG_ERR;
        }

    } else {
        level = HM_LOG_ALERT;
    }

    hm_log_error(level, c->log, err, text);

    return HM_ERROR;
}

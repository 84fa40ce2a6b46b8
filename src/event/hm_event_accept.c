/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


void
hm_event_accept(hm_event_t *ev)
{
    socklen_t          socklen;
    hm_err_t           err;
    hm_log_t          *log;
    hm_uint_t          level;
    hm_socket_t        s;
    hm_event_t        *rev, *wev;
    hm_sockaddr_t      sa;
    hm_listening_t    *ls;
    hm_connection_t   *c, *lc;
    hm_event_conf_t   *ecf;

    if (ev->timedout) {
        if (hm_enable_accept_events((hm_cycle_t *) hm_cycle) != HM_OK) {
            return;
        }

        ev->timedout = 0;
    }

    ecf = hm_event_get_conf(hm_cycle->conf_ctx, hm_event_core_module);

    ev->available = ecf->multi_accept ? -1 : 1;

    lc = ev->data;
    ls = lc->listening;
    ev->ready = 0;

    do {
        socklen = sizeof(hm_sockaddr_t);

        s = accept4(lc->fd, &sa.sockaddr, &socklen, SOCK_NONBLOCK);

        if (s == (hm_socket_t) -1) {
            err = hm_socket_errno;

            if (err == HM_EAGAIN) {
                return;
            }

            level = HM_LOG_ALERT;

            if (err == HM_ECONNABORTED) {
                level = HM_LOG_ERR;

            } else if (err == HM_EMFILE || err == HM_ENFILE) {
                level = HM_LOG_CRIT;
            }

            hm_log_error(level, ev->log, err, "accept4() failed");

            if (err == HM_ECONNABORTED) {
                if (ev->available) {
                    continue;
                }
            }

            if (err == HM_EMFILE || err == HM_ENFILE) {

                /* stop accepting for a while, resume on a timer */

                if (hm_disable_accept_events((hm_cycle_t *) hm_cycle)
                    != HM_OK)
                {
                    return;
                }

                hm_event_add_timer(ev, 500);
            }

            return;
        }

        c = hm_get_connection(s, ev->log);

        if (c == NULL) {
            if (hm_close_socket(s) == -1) {
                hm_log_error(HM_LOG_ALERT, ev->log, hm_socket_errno,
                             hm_close_socket_n " failed");
            }

            return;
        }

        c->type = SOCK_STREAM;

        c->pool = hm_create_pool(ls->pool_size ? ls->pool_size : 1024,
                                 ev->log);
        if (c->pool == NULL) {
            hm_close_accepted_connection(c);
            return;
        }

        if (socklen > (socklen_t) sizeof(hm_sockaddr_t)) {
            socklen = sizeof(hm_sockaddr_t);
        }

        c->sockaddr = hm_palloc(c->pool, socklen);
        if (c->sockaddr == NULL) {
            hm_close_accepted_connection(c);
            return;
        }

        hm_memcpy(c->sockaddr, &sa, socklen);

        log = hm_palloc(c->pool, sizeof(hm_log_t));
        if (log == NULL) {
            hm_close_accepted_connection(c);
            return;
        }

        *log = ls->log;

        c->recv = hm_unix_recv;
        c->send = hm_unix_send;
        c->send_chain = hm_writev_chain;

        c->log = log;
        c->pool->log = log;

        c->socklen = socklen;
        c->listening = ls;
        c->local_sockaddr = ls->sockaddr;
        c->local_socklen = ls->socklen;

        rev = c->read;
        wev = c->write;

        wev->ready = 1;

        rev->log = log;
        wev->log = log;

        c->number = hm_connection_counter++;
        c->start_time = hm_current_msec;

        /* the text of the address, no longer than its family needs */

        {
            size_t  tlen;

            tlen = (c->sockaddr->sa_family == AF_INET) ? INET_ADDRSTRLEN
                                                       : HM_SOCKADDR_STRLEN;

            c->addr_text.data = hm_pnalloc(c->pool, tlen);
            if (c->addr_text.data == NULL) {
                hm_close_accepted_connection(c);
                return;
            }

            c->addr_text.len = hm_sock_ntop(c->sockaddr, c->socklen,
                                            c->addr_text.data, tlen, 0);
        }

        if (hm_add_conn(c) == HM_ERROR) {
            hm_close_accepted_connection(c);
            return;
        }

        log->data = NULL;
        log->handler = NULL;
        log->connection = c->number;
        log->action = NULL;

        hm_log_debug(log, "accepted connection from %V", &c->addr_text);

        ls->handler(c);

        if (hm_event_flags & HM_USE_CLEAR_EVENT) {
            ev->available--;
        }

    } while (ev->available);
}


void
hm_close_accepted_connection(hm_connection_t *c)
{
    hm_socket_t  fd;

    hm_free_connection(c);

    fd = c->fd;
    c->fd = (hm_socket_t) -1;

    if (hm_close_socket(fd) == -1) {
        hm_log_error(HM_LOG_ALERT, c->log, hm_socket_errno,
                     hm_close_socket_n " failed");
    }

    if (c->pool) {
        hm_destroy_pool(c->pool);
    }
}


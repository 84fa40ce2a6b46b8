/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_int_t
hm_event_connect_peer(hm_peer_connection_t *pc)
{
    int                rc, type;
    hm_err_t           err;
    hm_uint_t          level;
    hm_socket_t        s;
    hm_event_t        *rev, *wev;
    hm_connection_t   *c;

    rc = pc->get(pc, pc->data);
    if (rc != HM_OK) {
        return rc;
    }

    type = (pc->type ? pc->type : SOCK_STREAM);

    s = socket(pc->sockaddr->sa_family, type|SOCK_NONBLOCK|SOCK_CLOEXEC, 0);

    if (s == (hm_socket_t) -1) {
        hm_log_error(HM_LOG_ALERT, pc->log, hm_socket_errno,
                     hm_socket_n " failed");
        return HM_ERROR;
    }

    c = hm_get_connection(s, pc->log);

    if (c == NULL) {
        if (hm_close_socket(s) == -1) {
            hm_log_error(HM_LOG_ALERT, pc->log, hm_socket_errno,
                         hm_close_socket_n " failed");
        }

        return HM_ERROR;
    }

    c->type = type;

    if (pc->rcvbuf) {
        if (setsockopt(s, SOL_SOCKET, SO_RCVBUF,
                       (const void *) &pc->rcvbuf, sizeof(int)) == -1)
        {
            hm_log_error(HM_LOG_ALERT, pc->log, hm_socket_errno,
                         "setsockopt(SO_RCVBUF) failed");
            goto failed;
        }
    }

    if (type == SOCK_STREAM) {
        c->recv = hm_unix_recv;
        c->send = hm_unix_send;
        c->send_chain = hm_writev_chain;

        (void) hm_tcp_nodelay(s);
        c->tcp_nodelay = 1;

    } else {
        c->recv = hm_unix_recv;
        c->send = hm_unix_send;
        c->send_chain = hm_writev_chain;
    }

    c->log_error = HM_ERROR_ERR;

    rev = c->read;
    wev = c->write;

    rev->log = pc->log;
    wev->log = pc->log;

    pc->connection = c;

    c->number = hm_connection_counter++;
    c->start_time = hm_current_msec;

    if (hm_add_conn(c) == HM_ERROR) {
        goto failed;
    }

    rc = connect(s, pc->sockaddr, pc->socklen);

    if (rc == -1) {
        err = hm_socket_errno;

        if (err != HM_EINPROGRESS) {

            if (err == HM_ECONNREFUSED
                /*
                 * Linux returns EAGAIN instead of ECONNREFUSED
                 * for unix sockets if listen queue is full
                 */
                || err == HM_EAGAIN
                || err == HM_ECONNRESET
                || err == HM_ENETDOWN
                || err == HM_ENETUNREACH
                || err == HM_EHOSTDOWN
                || err == HM_EHOSTUNREACH)
            {
                level = HM_LOG_ERR;

            } else {
                level = HM_LOG_CRIT;
            }

            hm_log_error(level, c->log, err, "connect() to %V failed",
                         pc->name);

            hm_close_connection(c);
            pc->connection = NULL;

            return HM_DECLINED;
        }
    }

    if (rc == -1) {

        /* HM_EINPROGRESS */

        return HM_AGAIN;
    }

    wev->ready = 1;

    return HM_OK;

failed:

    hm_close_connection(c);
    pc->connection = NULL;

    return HM_ERROR;
}


hm_int_t
hm_event_test_connect(hm_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    /*
     * BSDs and Linux return 0 and set a pending error in err
     * Solaris returns -1 and sets errno
     */

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = hm_socket_errno;
    }

    if (err) {
        c->log->action = "connecting to upstream";
        (void) hm_connection_error(c, err, "connect() failed");
        return HM_ERROR;
    }

    return HM_OK;
}

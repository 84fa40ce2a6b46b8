/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_int_t
hm_write_channel(hm_socket_t s, hm_channel_t *ch, size_t size,
    hm_log_t *log)
{
    ssize_t  n;
    hm_err_t err;

    n = send(s, ch, size, MSG_NOSIGNAL);

    if (n == -1) {
        err = hm_errno;
        if (err == HM_EAGAIN) {
            return HM_AGAIN;
        }

        hm_log_error(HM_LOG_ALERT, log, err, "sendmsg() failed");
        return HM_ERROR;
    }

    return HM_OK;
}


hm_int_t
hm_read_channel(hm_socket_t s, hm_channel_t *ch, size_t size, hm_log_t *log)
{
    ssize_t  n;
    hm_err_t err;

    n = recv(s, ch, size, 0);

    if (n == -1) {
        err = hm_errno;
        if (err == HM_EAGAIN) {
            return HM_AGAIN;
        }

        hm_log_error(HM_LOG_ALERT, log, err, "recvmsg() failed");
        return HM_ERROR;
    }

    if (n == 0) {
        hm_log_debug(log, "recvmsg() returned zero");
        return HM_ERROR;
    }

    if ((size_t) n < sizeof(hm_channel_t)) {
        hm_log_error(HM_LOG_ALERT, log, 0,
                     "recvmsg() returned not enough data: %z", n);
        return HM_ERROR;
    }

    return n;
}


hm_int_t
hm_add_channel_event(hm_cycle_t *cycle, hm_fd_t fd, hm_int_t event,
    hm_event_handler_pt handler)
{
    hm_event_t       *ev, *rev, *wev;
    hm_connection_t  *c;

    c = hm_get_connection(fd, cycle->log);

    if (c == NULL) {
        return HM_ERROR;
    }

    c->pool = cycle->pool;

    rev = c->read;
    wev = c->write;

    rev->log = cycle->log;
    wev->log = cycle->log;

    rev->channel_event = 1;

    ev = (event == HM_READ_EVENT) ? rev : wev;

    ev->handler = handler;

    if (hm_add_event(ev, event, 0) == HM_ERROR) {
        hm_free_connection(c);
        return HM_ERROR;
    }

    return HM_OK;
}


void
hm_close_channel(hm_fd_t *fd, hm_log_t *log)
{
    if (close(fd[0]) == -1) {
        hm_log_error(HM_LOG_ALERT, log, hm_errno, "close() channel failed");
    }

    if (close(fd[1]) == -1) {
        hm_log_error(HM_LOG_ALERT, log, hm_errno, "close() channel failed");
    }
}

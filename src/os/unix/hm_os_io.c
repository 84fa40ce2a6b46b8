/*
 * Copyright (C) hermod authors
 *
 * Socket I/O, process-wide OS facts and the process title.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hermod.h>
#include <sys/sendfile.h>
#include <sys/random.h>


hm_int_t    hm_ncpu;
hm_int_t    hm_max_sockets;
hm_uint_t   hm_pagesize;
hm_uint_t   hm_inherited_nonblocking;

char      **hm_os_environ;

static char  *hm_os_argv_last;


hm_int_t
hm_os_init(hm_log_t *log)
{
    struct rlimit  rlmt;

    if (hm_init_setproctitle(log) != HM_OK) {
        return HM_ERROR;
    }

    hm_pagesize = (hm_uint_t) getpagesize();

    if (hm_ncpu == 0) {
        hm_ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    }

    if (hm_ncpu < 1) {
        hm_ncpu = 1;
    }

    if (getrlimit(RLIMIT_NOFILE, &rlmt) == -1) {
        hm_log_error(HM_LOG_ALERT, log, hm_errno,
                     "getrlimit(RLIMIT_NOFILE) failed");
        return HM_ERROR;
    }

    hm_max_sockets = (hm_int_t) rlmt.rlim_cur;

    return HM_OK;
}


ssize_t
hm_unix_recv(hm_connection_t *c, u_char *buf, size_t size)
{
    ssize_t      n;
    hm_err_t     err;
    hm_event_t  *rev;

    rev = c->read;

    do {
        n = recv(c->fd, buf, size, 0);

        if (n == 0) {
            rev->ready = 0;
            rev->eof = 1;

            return 0;
        }

        if (n > 0) {

            if ((size_t) n < size && !rev->pending_eof) {
                rev->ready = 0;
            }

            return n;
        }

        err = hm_socket_errno;

        if (err == HM_EAGAIN || err == HM_EINTR) {
            n = HM_AGAIN;

        } else {
            n = hm_connection_error(c, err, "recv() failed");
            break;
        }

    } while (err == HM_EINTR);

    rev->ready = 0;

    if (n == HM_ERROR) {
        rev->error = 1;
    }

    return n;
}


ssize_t
hm_unix_send(hm_connection_t *c, u_char *buf, size_t size)
{
    ssize_t      n;
    hm_err_t     err;
    hm_event_t  *wev;

    wev = c->write;

    for ( ;; ) {
        n = send(c->fd, buf, size, MSG_NOSIGNAL);

        if (n > 0) {
            if (n < (ssize_t) size) {
                wev->ready = 0;
            }

            c->sent += n;

            return n;
        }

        err = hm_socket_errno;

        if (n == 0) {
            hm_log_error(HM_LOG_ALERT, c->log, err, "send() returned zero");
            wev->ready = 0;
            return n;
        }

        if (err == HM_EAGAIN || err == HM_EINTR) {
            wev->ready = 0;

            if (err == HM_EAGAIN) {
                return HM_AGAIN;
            }

        } else {
            wev->error = 1;
            (void) hm_connection_error(c, err, "send() failed");
            return HM_ERROR;
        }
    }
}


/*
 * writev() of the memory buffers of a chain.  File buffers are the
 * business of the caller (sendfile) and stop the gather here.
 */

hm_chain_t *
hm_writev_chain(hm_connection_t *c, hm_chain_t *in, off_t limit)
{
    ssize_t        n;
    off_t          send, size;
    hm_err_t       err;
    hm_uint_t      niov;
    hm_chain_t    *cl;
    hm_event_t    *wev;
    struct iovec   iovs[HM_IOVS_PREALLOCATE];

    wev = c->write;

    if (!wev->ready) {
        return in;
    }

    if (limit == 0 || limit > HM_MAX_OFF_T_VALUE - (off_t) hm_pagesize) {
        limit = HM_MAX_OFF_T_VALUE - hm_pagesize;
    }

    send = 0;

    for ( ;; ) {

        niov = 0;
        size = 0;

        for (cl = in;
             cl && niov < HM_IOVS_PREALLOCATE && send + size < limit;
             cl = cl->next)
        {
            if (hm_buf_special(cl->buf)) {
                continue;
            }

            if (!hm_buf_in_memory(cl->buf)) {
                break;
            }

            if (cl->buf->last == cl->buf->pos) {
                continue;
            }

            iovs[niov].iov_base = cl->buf->pos;
            iovs[niov].iov_len = cl->buf->last - cl->buf->pos;

            if (send + size + (off_t) iovs[niov].iov_len > limit) {
                iovs[niov].iov_len = (size_t) (limit - send - size);
            }

            size += iovs[niov].iov_len;
            niov++;
        }

        if (niov == 0) {

            /* only empty or special buffers, or a file buffer, are left */

            while (in && (hm_buf_special(in->buf)
                          || (hm_buf_in_memory(in->buf)
                              && in->buf->pos == in->buf->last)
                          || (!hm_buf_in_memory(in->buf) && in->buf->in_file
                              && in->buf->file_pos == in->buf->file_last)))
            {
                in = in->next;
            }

            if (in == NULL || hm_buf_in_memory(in->buf)
                || !in->buf->in_file)
            {
                return in;
            }

            /* a file range: sendfile() */

            size = in->buf->file_last - in->buf->file_pos;

            if (send + size > limit) {
                size = limit - send;
            }

            if (size > 0x7ffff000) {
                size = 0x7ffff000;
            }

            {
                off_t  offset = in->buf->file_pos;

                n = sendfile(c->fd, in->buf->file->fd, &offset,
                             (size_t) size);
            }

            if (n == -1) {
                err = hm_errno;

                if (err == HM_EAGAIN) {
                    wev->ready = 0;
                    return in;
                }

                if (err == HM_EINTR) {
                    continue;
                }

                wev->error = 1;
                (void) hm_connection_error(c, err, "sendfile() failed");
                return HM_CHAIN_ERROR;
            }

            if (n == 0) {
                hm_log_error(HM_LOG_ALERT, c->log, 0,
                             "sendfile() reported that \"%V\" was truncated",
                             &in->buf->file->name);
                return HM_CHAIN_ERROR;
            }

            c->sent += n;
            send += n;
            in->buf->file_pos += n;

            if (n < size) {
                wev->ready = 0;
                return in;
            }

            if (send >= limit) {
                return in;
            }

            continue;
        }

        n = writev(c->fd, iovs, (int) niov);

        if (n == -1) {
            err = hm_errno;

            if (err == HM_EAGAIN) {
                wev->ready = 0;
                return in;
            }

            if (err == HM_EINTR) {
                continue;
            }

            wev->error = 1;
            (void) hm_connection_error(c, err, "writev() failed");
            return HM_CHAIN_ERROR;
        }

        c->sent += n;
        send += n;

        in = hm_chain_update_sent(in, n);

        if (n < size) {
            wev->ready = 0;
            return in;
        }

        if (send >= limit || in == NULL) {
            return in;
        }
    }
}


/*
 * The process title: argv is overwritten in place, after the environment
 * has been moved out of the way.
 */

hm_int_t
hm_init_setproctitle(hm_log_t *log)
{
    u_char      *p;
    size_t       size;
    hm_uint_t    i;

    size = 0;

    for (i = 0; environ[i]; i++) {
        size += hm_strlen(environ[i]) + 1;
    }

    p = hm_alloc(size, log);
    if (p == NULL) {
        return HM_ERROR;
    }

    hm_os_argv_last = hm_os_argv[0];

    for (i = 0; hm_os_argv[i]; i++) {
        if (hm_os_argv_last == hm_os_argv[i]) {
            hm_os_argv_last = hm_os_argv[i] + hm_strlen(hm_os_argv[i]) + 1;
        }
    }

    for (i = 0; environ[i]; i++) {
        if (hm_os_argv_last == environ[i]) {

            size = hm_strlen(environ[i]) + 1;
            hm_os_argv_last = environ[i] + size;

            hm_cpystrn(p, (u_char *) environ[i], size);
            environ[i] = (char *) p;
            p += size;
        }
    }

    hm_os_argv_last--;

    return HM_OK;
}


void
hm_setproctitle(char *title)
{
    u_char     *p;

    hm_os_argv[1] = NULL;

    p = hm_cpystrn((u_char *) hm_os_argv[0], (u_char *) "hermod: ",
                   hm_os_argv_last - hm_os_argv[0]);

    p = hm_cpystrn(p, (u_char *) title, hm_os_argv_last - (char *) p);

    if (hm_os_argv_last - (char *) p) {
        hm_memset(p, '\0', hm_os_argv_last - (char *) p);
    }

    (void) prctl(PR_SET_NAME, "hermod", 0, 0, 0);
}


void
hm_os_status(hm_log_t *log)
{
    hm_log_error(HM_LOG_NOTICE, log, 0, HERMOD_VER);
    hm_log_error(HM_LOG_NOTICE, log, 0, "built by " HM_COMPILER);
}


hm_int_t
hm_os_random(u_char *buf, size_t n)
{
    ssize_t  got;

    while (n) {
        got = getrandom(buf, n, 0);

        if (got == -1) {
            if (hm_errno == HM_EINTR) {
                continue;
            }

            return HM_ERROR;
        }

        buf += got;
        n -= got;
    }

    return HM_OK;
}


/* a pipe for waking the loop: both ends non-blocking, close-on-exec */

hm_int_t
hm_os_pipe(hm_fd_t fd[2])
{
    int  p[2];

    if (pipe2(p, O_NONBLOCK|O_CLOEXEC) == -1) {
        return HM_ERROR;
    }

    fd[0] = p[0];
    fd[1] = p[1];

    return HM_OK;
}

/*
 * Copyright (C) hermod authors
 *
 * Reading and discarding request bodies, with Content-Length or chunked.
 *
 * The raw input goes through one buffer of client_body_buffer_size;
 * decoded data is copied into output buffers.  Buffered reading keeps the
 * body in memory up to client_body_buffer_size and moves it to an
 * unlinked temporary file beyond that, so a large upload costs disk, not
 * memory.  Unbuffered reading hands over at most one buffer at a time and
 * stops reading until the consumer took it.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


static void hm_http_read_client_request_body_handler(hm_http_request_t *r);
static hm_int_t hm_http_do_read_client_request_body(hm_http_request_t *r);
static hm_int_t hm_http_request_body_decode(hm_http_request_t *r,
    hm_buf_t *b);
static hm_int_t hm_http_request_body_save(hm_http_request_t *r,
    u_char *data, size_t len);
static hm_int_t hm_http_request_body_to_file(hm_http_request_t *r);
static hm_int_t hm_http_test_expect(hm_http_request_t *r);
static hm_int_t hm_http_read_discarded_request_body(hm_http_request_t *r);
static hm_int_t hm_http_request_body_init(hm_http_request_t *r);


hm_int_t
hm_http_read_client_request_body(hm_http_request_t *r,
    hm_http_client_body_handler_pt post_handler)
{
    hm_int_t                 rc;
    hm_http_request_body_t  *rb;

    r->main->count++;

    if (r->request_body || r->discard_body) {
        r->request_body_no_buffering = 0;
        post_handler(r);
        return HM_OK;
    }

    if (hm_http_test_expect(r) != HM_OK) {
        rc = HM_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    rb = hm_pcalloc(r->pool, sizeof(hm_http_request_body_t));
    if (rb == NULL) {
        rc = HM_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    r->request_body = rb;
    rb->post_handler = post_handler;

    if (hm_http_request_body_init(r) != HM_OK) {
        rc = HM_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (rb->rest == 0) {

        /* no body */

        rb->last_saved = 1;
        r->request_body_no_buffering = 0;
        post_handler(r);
        return HM_OK;
    }

    r->reading_body = 1;
    r->read_event_handler = hm_http_read_client_request_body_handler;
    r->write_event_handler = hm_http_request_empty_handler;

    rc = hm_http_do_read_client_request_body(r);

done:

    if (r->request_body_no_buffering
        && (rc == HM_OK || rc == HM_AGAIN))
    {
        if (rc == HM_OK) {
            r->request_body_no_buffering = 0;

        } else {
            /* rc == HM_AGAIN */
            r->reading_body = 0;
        }

        r->read_event_handler = hm_http_block_reading;
        post_handler(r);
    }

    if (rc >= HM_HTTP_SPECIAL_RESPONSE) {
        r->main->count--;
    }

    return rc;
}


static hm_int_t
hm_http_request_body_init(hm_http_request_t *r)
{
    hm_http_request_body_t  *rb;

    rb = r->request_body;

    if (r->headers_in.chunked) {
        rb->chunked = hm_pcalloc(r->pool, sizeof(hm_http_chunked_t));
        if (rb->chunked == NULL) {
            return HM_ERROR;
        }

        rb->rest = 1;   /* unknown until the last chunk */
        return HM_OK;
    }

    rb->rest = r->headers_in.content_length_n > 0
               ? r->headers_in.content_length_n : 0;

    return HM_OK;
}


hm_int_t
hm_http_read_unbuffered_request_body(hm_http_request_t *r)
{
    hm_int_t  rc;

    if (r->connection->read->timedout) {
        r->connection->timedout = 1;
        return HM_HTTP_REQUEST_TIME_OUT;
    }

    rc = hm_http_do_read_client_request_body(r);

    if (rc == HM_OK) {
        r->reading_body = 0;
    }

    return rc;
}


static void
hm_http_read_client_request_body_handler(hm_http_request_t *r)
{
    hm_int_t  rc;

    if (r->connection->read->timedout) {
        r->connection->timedout = 1;
        hm_http_finalize_request(r, HM_HTTP_REQUEST_TIME_OUT);
        return;
    }

    rc = hm_http_do_read_client_request_body(r);

    if (rc >= HM_HTTP_SPECIAL_RESPONSE) {
        hm_http_finalize_request(r, rc);
    }
}


/*
 * Returns HM_OK when the body is complete (post_handler was called),
 * HM_AGAIN when waiting for the client (or, unbuffered, for the consumer),
 * or an HTTP error code.
 */

static hm_int_t
hm_http_do_read_client_request_body(hm_http_request_t *r)
{
    size_t                     size;
    ssize_t                    n;
    hm_int_t                   rc;
    hm_buf_t                  *b;
    hm_connection_t           *c;
    hm_http_request_body_t    *rb;
    hm_http_core_loc_conf_t   *clcf;

    c = r->connection;
    rb = r->request_body;
    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    /* the part of the body that came with the header */

    if (r->header_in->pos < r->header_in->last && rb->rest) {
        rc = hm_http_request_body_decode(r, r->header_in);

        if (rc != HM_OK) {
            return rc;
        }
    }

    for ( ;; ) {

        if (rb->rest == 0) {
            break;
        }

        if (r->request_body_no_buffering && rb->bufs) {

            /* the consumer has not taken the last piece yet */

            return HM_AGAIN;
        }

        if (rb->buf == NULL) {
            rb->buf = hm_create_temp_buf(r->pool,
                                         clcf->client_body_buffer_size);
            if (rb->buf == NULL) {
                return HM_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        b = rb->buf;

        b->pos = b->start;
        b->last = b->start;

        size = b->end - b->last;

        if (!rb->chunked && (off_t) size > rb->rest) {
            size = (size_t) rb->rest;
        }

        /* never read past the body: a pipelined request may follow */

        if (rb->chunked
            && (off_t) size > hm_max(rb->chunked->length, (off_t) 3))
        {
            size = (size_t) hm_max(rb->chunked->length, (off_t) 3);
        }

        if (!c->read->ready) {
            n = HM_AGAIN;

        } else {
            n = c->recv(c, b->last, size);
        }

        if (n == HM_AGAIN) {

            if (!c->read->timer_set) {
                hm_event_add_timer(c->read, clcf->client_body_timeout);
            }

            if (hm_handle_read_event(c->read, 0) != HM_OK) {
                return HM_HTTP_INTERNAL_SERVER_ERROR;
            }

            if (r->request_body_no_buffering && rb->bufs) {
                return HM_AGAIN;
            }

            return HM_AGAIN;
        }

        if (n == 0) {
            hm_log_error(HM_LOG_INFO, c->log, 0,
                         "client prematurely closed connection");
        }

        if (n == 0 || n == HM_ERROR) {
            c->error = 1;
            return HM_HTTP_BAD_REQUEST;
        }

        b->last += n;
        r->request_length += n;

        rc = hm_http_request_body_decode(r, b);

        if (rc != HM_OK) {
            return rc;
        }
    }

    /* the whole body is read */

    if (c->read->timer_set) {
        hm_event_del_timer(c->read);
    }

    rb->last_saved = 1;
    r->reading_body = 0;

    if (!r->request_body_no_buffering) {
        r->read_event_handler = hm_http_block_reading;
        rb->post_handler(r);
    }

    return HM_OK;
}


/* consumes the raw bytes in b, saving the data they carry */

static hm_int_t
hm_http_request_body_decode(hm_http_request_t *r, hm_buf_t *b)
{
    size_t                     len;
    hm_int_t                   rc;
    hm_http_request_body_t    *rb;
    hm_http_core_loc_conf_t   *clcf;

    rb = r->request_body;

    if (rb->chunked == NULL) {
        len = hm_min((off_t) (b->last - b->pos), rb->rest);

        if (hm_http_request_body_save(r, b->pos, len) != HM_OK) {
            return HM_HTTP_INTERNAL_SERVER_ERROR;
        }

        b->pos += len;
        rb->rest -= len;
        rb->received += len;

        return HM_OK;
    }

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    for ( ;; ) {

        rc = hm_http_parse_chunked(rb->chunked, b);

        if (rc == HM_OK) {

            /* a chunk has been parsed successfully */

            len = hm_min((off_t) (b->last - b->pos), rb->chunked->size);

            if (clcf->client_max_body_size
                && clcf->client_max_body_size
                   - rb->received < (off_t) len)
            {
                hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                             "client intended to send too large chunked "
                             "body: %O+%uz bytes", rb->received, len);

                r->lingering_close = 1;

                return HM_HTTP_REQUEST_ENTITY_TOO_LARGE;
            }

            if (hm_http_request_body_save(r, b->pos, len) != HM_OK) {
                return HM_HTTP_INTERNAL_SERVER_ERROR;
            }

            b->pos += len;
            rb->chunked->size -= len;
            rb->received += len;

            continue;
        }

        if (rc == HM_DONE) {

            /* a whole body has been parsed successfully */

            rb->rest = 0;
            return HM_OK;
        }

        if (rc == HM_AGAIN) {

            /* the whole buffer was consumed; wait for more */

            return HM_OK;
        }

        /* invalid */

        hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                     "client sent invalid chunked body");

        return HM_HTTP_BAD_REQUEST;
    }
}


static hm_int_t
hm_http_request_body_save(hm_http_request_t *r, u_char *data, size_t len)
{
    size_t                     n;
    hm_buf_t                  *b;
    hm_chain_t                *cl, **ll;
    hm_http_request_body_t    *rb;
    hm_http_core_loc_conf_t   *clcf;

    if (len == 0) {
        return HM_OK;
    }

    rb = r->request_body;
    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (rb->temp_file) {
        n = len;

        while (n) {
            ssize_t  w = write(rb->temp_file->fd, data, n);

            if (w == -1) {
                if (hm_errno == HM_EINTR) {
                    continue;
                }

                hm_log_error(HM_LOG_CRIT, r->connection->log, hm_errno,
                             "write() to the request body temporary file "
                             "failed");
                return HM_ERROR;
            }

            data += w;
            n -= w;
            rb->temp_file->offset += w;
        }

        return HM_OK;
    }

    for (ll = &rb->bufs; *ll; ll = &(*ll)->next) { /* void */ }

    while (len) {

        /* fill the last buffer, then add one */

        cl = NULL;

        if (rb->bufs) {
            for (cl = rb->bufs; cl->next; cl = cl->next) { /* void */ }

            if (cl->buf->last == cl->buf->end) {
                cl = NULL;
            }
        }

        if (cl == NULL) {

            if (!r->request_body_no_buffering
                && !r->request_body_in_memory
                && hm_chain_size(rb->bufs) + (off_t) len
                   > (off_t) clcf->client_body_buffer_size)
            {
                /* too large for memory: on to a temporary file */

                if (hm_http_request_body_to_file(r) != HM_OK) {
                    return HM_ERROR;
                }

                return hm_http_request_body_save(r, data, len);
            }

            cl = hm_chain_get_free_buf(r->pool, &rb->free);
            if (cl == NULL) {
                return HM_ERROR;
            }

            b = cl->buf;

            if (b->start == NULL) {
                b->start = hm_palloc(r->pool, clcf->client_body_buffer_size);
                if (b->start == NULL) {
                    return HM_ERROR;
                }

                b->end = b->start + clcf->client_body_buffer_size;
            }

            b->pos = b->start;
            b->last = b->start;
            b->temporary = 1;
            b->tag = (hm_buf_tag_t) &hm_http_read_client_request_body;

            for (ll = &rb->bufs; *ll; ll = &(*ll)->next) { /* void */ }

            *ll = cl;
        }

        b = cl->buf;

        n = hm_min((size_t) (b->end - b->last), len);
        b->last = hm_cpymem(b->last, data, n);

        data += n;
        len -= n;
    }

    return HM_OK;
}


/*
 * Moves what is in memory to an unlinked temporary file in the prefix's
 * client_body_temp directory (created when missing); further data is
 * appended there.  rb->bufs then holds one file buffer for the whole
 * body.
 */

static hm_int_t
hm_http_request_body_to_file(hm_http_request_t *r)
{
    u_char                  *path;
    hm_fd_t                  fd;
    hm_str_t                 dir;
    hm_file_t               *tf;
    hm_chain_t              *cl;
    hm_pool_cleanup_t       *cln;
    hm_http_request_body_t  *rb;
    hm_pool_cleanup_file_t  *clnf;

    rb = r->request_body;

    hm_str_set(&dir, "client_body_temp");

    path = hm_pnalloc(r->pool, hm_cycle->prefix.len + dir.len + 1);
    if (path == NULL) {
        return HM_ERROR;
    }

    (void) hm_cpystrn(hm_cpymem(path, hm_cycle->prefix.data,
                                hm_cycle->prefix.len),
                      dir.data, dir.len + 1);

    fd = open((char *) path, O_TMPFILE|O_RDWR|O_CLOEXEC, 0600);

    if (fd == -1 && hm_errno == HM_ENOENT) {
        if (mkdir((char *) path, 0700) == -1 && hm_errno != HM_EEXIST) {
            hm_log_error(HM_LOG_CRIT, r->connection->log, hm_errno,
                         "mkdir() \"%s\" failed", path);
            return HM_ERROR;
        }

        fd = open((char *) path, O_TMPFILE|O_RDWR|O_CLOEXEC, 0600);
    }

    if (fd == -1) {
        hm_log_error(HM_LOG_CRIT, r->connection->log, hm_errno,
                     "open(O_TMPFILE) in \"%s\" failed", path);
        return HM_ERROR;
    }

    cln = hm_pool_cleanup_add(r->pool, sizeof(hm_pool_cleanup_file_t));
    if (cln == NULL) {
        close(fd);
        return HM_ERROR;
    }

    clnf = cln->data;
    clnf->fd = fd;
    clnf->name = path;
    clnf->log = r->connection->log;
    cln->handler = hm_pool_cleanup_file;

    tf = hm_pcalloc(r->pool, sizeof(hm_file_t));
    if (tf == NULL) {
        return HM_ERROR;
    }

    tf->fd = fd;
    tf->name.data = path;
    tf->name.len = hm_strlen(path);
    tf->log = r->connection->log;

    rb->temp_file = tf;

    /* what was in memory goes first */

    for (cl = rb->bufs; cl; cl = cl->next) {
        if (hm_http_request_body_save(r, cl->buf->pos,
                                      cl->buf->last - cl->buf->pos)
            != HM_OK)
        {
            return HM_ERROR;
        }
    }

    rb->bufs = NULL;

    return HM_OK;
}


/* after buffered reading into a file: one chain link describing it */

hm_chain_t *
hm_http_request_body_chain(hm_http_request_t *r)
{
    hm_buf_t                *b;
    hm_chain_t              *cl;
    hm_http_request_body_t  *rb;

    rb = r->request_body;

    if (rb == NULL) {
        return NULL;
    }

    if (rb->temp_file == NULL) {
        return rb->bufs;
    }

    b = hm_calloc_buf(r->pool);
    if (b == NULL) {
        return NULL;
    }

    b->in_file = 1;
    b->file = rb->temp_file;
    b->file_pos = 0;
    b->file_last = rb->temp_file->offset;

    cl = hm_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    return cl;
}


static hm_int_t
hm_http_test_expect(hm_http_request_t *r)
{
    ssize_t           n;
    hm_str_t         *expect;

    if (r->expect_tested
        || r->headers_in.expect == NULL
        || r->http_version < HM_HTTP_VERSION_11)
    {
        return HM_OK;
    }

    r->expect_tested = 1;

    expect = &r->headers_in.expect->value;

    if (expect->len != sizeof("100-continue") - 1
        || hm_strncasecmp(expect->data, (u_char *) "100-continue",
                          sizeof("100-continue") - 1)
           != 0)
    {
        return HM_OK;
    }

    n = r->connection->send(r->connection,
                            (u_char *) "HTTP/1.1 100 Continue" CRLF CRLF,
                            sizeof("HTTP/1.1 100 Continue" CRLF CRLF) - 1);

    if (n == sizeof("HTTP/1.1 100 Continue" CRLF CRLF) - 1) {
        return HM_OK;
    }

    /* we assume that such small packet should be send successfully */

    r->connection->error = 1;

    return HM_ERROR;
}


hm_int_t
hm_http_discard_request_body(hm_http_request_t *r)
{
    hm_int_t                 rc;
    hm_event_t              *rev;
    hm_http_request_body_t  *rb;

    if (r->discard_body || r->request_body) {
        return HM_OK;
    }

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        return HM_OK;
    }

    /* a client waiting for 100 Continue gets it, as from nginx */

    if (hm_http_test_expect(r) != HM_OK) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    rb = hm_pcalloc(r->pool, sizeof(hm_http_request_body_t));
    if (rb == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->request_body = rb;

    if (hm_http_request_body_init(r) != HM_OK) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    rev = r->connection->read;

    if (rev->timer_set) {
        hm_event_del_timer(rev);
    }

    r->discard_body = 1;

    rc = hm_http_read_discarded_request_body(r);

    if (rc == HM_OK) {
        r->lingering_close = 0;
        r->discard_body = 0;
        return HM_OK;
    }

    if (rc >= HM_HTTP_SPECIAL_RESPONSE) {

        /* a malformed body: the request fails, the connection closes */

        r->discard_body = 0;
        r->keepalive = 0;
        r->lingering_close = 0;
        return rc;
    }

    /* rc == HM_AGAIN */

    r->read_event_handler = hm_http_discarded_request_body_handler;

    if (hm_handle_read_event(rev, 0) != HM_OK) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->count++;

    return HM_OK;
}


void
hm_http_discarded_request_body_handler(hm_http_request_t *r)
{
    hm_int_t                   rc;
    hm_msec_t                  timer;
    hm_event_t                *rev;
    hm_connection_t           *c;
    hm_http_core_loc_conf_t   *clcf;

    c = r->connection;
    rev = c->read;

    if (rev->timedout) {
        c->timedout = 1;
        c->error = 1;
        hm_http_finalize_request(r, HM_ERROR);
        return;
    }

    if (r->lingering_time) {
        timer = (hm_msec_t) r->lingering_time - (hm_msec_t) hm_time();

        if ((hm_msec_int_t) timer <= 0) {
            r->discard_body = 0;
            r->lingering_close = 0;
            hm_http_finalize_request(r, HM_ERROR);
            return;
        }

    } else {
        timer = 0;
    }

    rc = hm_http_read_discarded_request_body(r);

    if (rc == HM_OK) {
        r->discard_body = 0;
        r->lingering_close = 0;
        r->lingering_time = 0;
        hm_http_finalize_request(r, HM_DONE);
        return;
    }

    if (rc >= HM_HTTP_SPECIAL_RESPONSE) {
        c->error = 1;
        hm_http_finalize_request(r, HM_ERROR);
        return;
    }

    /* rc == HM_AGAIN */

    if (hm_handle_read_event(rev, 0) != HM_OK) {
        c->error = 1;
        hm_http_finalize_request(r, HM_ERROR);
        return;
    }

    if (timer) {

        clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

        timer *= 1000;

        if (timer > clcf->lingering_timeout) {
            timer = clcf->lingering_timeout;
        }

        hm_event_add_timer(rev, timer);
    }
}


static hm_int_t
hm_http_read_discarded_request_body(hm_http_request_t *r)
{
    size_t                   size;
    ssize_t                  n;
    hm_int_t                 rc;
    hm_buf_t                 b;
    hm_http_request_body_t  *rb;
    u_char                   buffer[HM_HTTP_DISCARD_BUFFER_SIZE];

    rb = r->request_body;

    hm_memzero(&b, sizeof(hm_buf_t));
    b.temporary = 1;

    /* what came with the header */

    if (r->header_in->pos < r->header_in->last && rb->rest) {
        rc = hm_http_discard_decode(r, r->header_in);

        if (rc != HM_OK) {
            return rc;
        }
    }

    for ( ;; ) {
        if (rb->rest == 0) {
            r->read_event_handler = hm_http_block_reading;
            return HM_OK;
        }

        if (!r->connection->read->ready) {
            return HM_AGAIN;
        }

        size = HM_HTTP_DISCARD_BUFFER_SIZE;

        if (!rb->chunked && (off_t) size > rb->rest) {
            size = (size_t) rb->rest;
        }

        if (rb->chunked
            && (off_t) size > hm_max(rb->chunked->length, (off_t) 3))
        {
            size = (size_t) hm_max(rb->chunked->length, (off_t) 3);
        }

        n = r->connection->recv(r->connection, buffer, size);

        if (n == HM_ERROR) {
            r->connection->error = 1;
            return HM_OK;
        }

        if (n == HM_AGAIN) {
            return HM_AGAIN;
        }

        if (n == 0) {
            return HM_OK;
        }

        b.pos = buffer;
        b.last = buffer + n;
        b.start = buffer;
        b.end = buffer + n;

        rc = hm_http_discard_decode(r, &b);

        if (rc != HM_OK) {
            return rc;
        }
    }
}


/* like decode, but drops the data */

hm_int_t
hm_http_discard_decode(hm_http_request_t *r, hm_buf_t *b)
{
    size_t                   len;
    hm_int_t                 rc;
    hm_http_request_body_t  *rb;

    rb = r->request_body;

    if (rb->chunked == NULL) {
        len = hm_min((off_t) (b->last - b->pos), rb->rest);
        b->pos += len;
        rb->rest -= len;
        return HM_OK;
    }

    for ( ;; ) {
        rc = hm_http_parse_chunked(rb->chunked, b);

        if (rc == HM_OK) {
            len = hm_min((off_t) (b->last - b->pos), rb->chunked->size);
            b->pos += len;
            rb->chunked->size -= len;
            continue;
        }

        if (rc == HM_DONE) {
            rb->rest = 0;
            return HM_OK;
        }

        if (rc == HM_AGAIN) {
            return HM_OK;
        }

        return HM_HTTP_BAD_REQUEST;
    }
}

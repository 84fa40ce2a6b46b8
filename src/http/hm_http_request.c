/*
 * Copyright (C) hermod authors
 *
 * An HTTP/1.x connection and its requests: reading and checking the
 * request line and header, running the phases, finalizing, keep-alive,
 * pipelining and lingering close.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


static hm_http_request_t *hm_http_alloc_request(hm_connection_t *c);
static void hm_http_process_request_line(hm_event_t *rev);
static void hm_http_process_request_headers(hm_event_t *rev);
static ssize_t hm_http_read_request_header(hm_http_request_t *r);
static hm_int_t hm_http_alloc_large_header_buffer(hm_http_request_t *r,
    hm_uint_t request_line);

static hm_int_t hm_http_process_header_line(hm_http_request_t *r,
    hm_table_elt_t *h, hm_uint_t offset);
static hm_int_t hm_http_process_unique_header_line(hm_http_request_t *r,
    hm_table_elt_t *h, hm_uint_t offset);
static hm_int_t hm_http_process_host(hm_http_request_t *r,
    hm_table_elt_t *h, hm_uint_t offset);
static hm_int_t hm_http_process_connection(hm_http_request_t *r,
    hm_table_elt_t *h, hm_uint_t offset);
static hm_int_t hm_http_process_header_list(hm_http_request_t *r,
    hm_table_elt_t *h, hm_uint_t offset);

static hm_int_t hm_http_validate_host(hm_str_t *host, hm_pool_t *pool);
static hm_int_t hm_http_set_virtual_server(hm_http_request_t *r,
    hm_str_t *host);

static void hm_http_terminate_handler(hm_http_request_t *r);
static void hm_http_finalize_connection(hm_http_request_t *r);
static hm_int_t hm_http_set_write_handler(hm_http_request_t *r);
static void hm_http_writer(hm_http_request_t *r);
static void hm_http_request_finalizer(hm_http_request_t *r);

static void hm_http_set_keepalive(hm_http_request_t *r);
static void hm_http_keepalive_handler(hm_event_t *ev);
static void hm_http_set_lingering_close(hm_connection_t *c);
static void hm_http_lingering_close_handler(hm_event_t *ev);
static void hm_http_log_request(hm_http_request_t *r);

static u_char *hm_http_log_error(hm_log_t *log, u_char *buf, size_t len);
static u_char *hm_http_log_error_handler(hm_http_request_t *r,
    u_char *buf, size_t len);


static char *hm_http_client_errors[] = {

    /* HM_HTTP_PARSE_INVALID_METHOD */
    "client sent invalid method",

    /* HM_HTTP_PARSE_INVALID_REQUEST */
    "client sent invalid request",

    /* HM_HTTP_PARSE_INVALID_VERSION */
    "client sent invalid version",

    /* HM_HTTP_PARSE_INVALID_09_METHOD */
    "client sent invalid method in HTTP/0.9 request"
};


hm_http_header_t  hm_http_headers_in[] = {
    { hm_string("Host"), offsetof(hm_http_headers_in_t, host),
                 hm_http_process_host },

    { hm_string("Connection"), offsetof(hm_http_headers_in_t, connection),
                 hm_http_process_connection },

    { hm_string("If-Modified-Since"),
                 offsetof(hm_http_headers_in_t, if_modified_since),
                 hm_http_process_unique_header_line },

    { hm_string("User-Agent"), offsetof(hm_http_headers_in_t, user_agent),
                 hm_http_process_header_line },

    { hm_string("Referer"), offsetof(hm_http_headers_in_t, referer),
                 hm_http_process_header_line },

    { hm_string("Content-Length"),
                 offsetof(hm_http_headers_in_t, content_length),
                 hm_http_process_unique_header_line },

    { hm_string("Content-Type"),
                 offsetof(hm_http_headers_in_t, content_type),
                 hm_http_process_header_line },

    { hm_string("Transfer-Encoding"),
                 offsetof(hm_http_headers_in_t, transfer_encoding),
                 hm_http_process_unique_header_line },

    { hm_string("TE"), offsetof(hm_http_headers_in_t, te),
                 hm_http_process_header_line },

    { hm_string("Expect"), offsetof(hm_http_headers_in_t, expect),
                 hm_http_process_unique_header_line },

    { hm_string("Upgrade"), offsetof(hm_http_headers_in_t, upgrade),
                 hm_http_process_header_line },

    { hm_string("Authorization"),
                 offsetof(hm_http_headers_in_t, authorization),
                 hm_http_process_unique_header_line },

    { hm_string("Keep-Alive"), offsetof(hm_http_headers_in_t, keep_alive),
                 hm_http_process_header_line },

    { hm_string("X-Forwarded-For"),
                 offsetof(hm_http_headers_in_t, x_forwarded_for),
                 hm_http_process_header_list },

    { hm_string("X-Real-IP"), offsetof(hm_http_headers_in_t, x_real_ip),
                 hm_http_process_header_line },

    { hm_string("Cookie"), offsetof(hm_http_headers_in_t, cookie),
                 hm_http_process_header_list },

    { hm_null_string, 0, NULL }
};


void
hm_http_init_connection(hm_connection_t *c)
{
    hm_event_t            *rev;
    hm_http_log_ctx_t     *ctx;
    hm_http_connection_t  *hc;
    hm_http_addr_conf_t   *addr_conf;
    hm_http_core_srv_conf_t *cscf;

    hc = hm_pcalloc(c->pool, sizeof(hm_http_connection_t));
    if (hc == NULL) {
        hm_http_close_connection(c);
        return;
    }

    c->data = hc;

    hm_metric_inc(hm_http_metrics.accepted);
    hm_metric_inc(hm_http_metrics.active);
    c->counted = 1;

    addr_conf = c->listening->servers;
    hc->addr_conf = addr_conf;
    hc->conf_ctx = addr_conf->default_server->ctx;

    ctx = hm_palloc(c->pool, sizeof(hm_http_log_ctx_t));
    if (ctx == NULL) {
        hm_http_close_connection(c);
        return;
    }

    ctx->connection = c;
    ctx->request = NULL;
    ctx->current_request = NULL;

    c->log->connection = c->number;
    c->log->handler = hm_http_log_error;
    c->log->data = ctx;
    c->log->action = "waiting for request";

    c->log_error = HM_ERROR_INFO;

    rev = c->read;
    rev->handler = hm_http_wait_request_handler;
    c->write->handler = hm_http_empty_handler;

    if (addr_conf->ssl) {
        if (hm_http_ssl_init_connection(c) != HM_OK) {
            return;
        }

        return;
    }

    if (rev->ready) {
        hm_post_event(rev, &hm_posted_events);
        return;
    }

    cscf = addr_conf->default_server;

    hm_event_add_timer(rev, cscf->client_header_timeout);
    hm_reusable_connection(c, 1);

    if (hm_handle_read_event(rev, 0) != HM_OK) {
        hm_http_close_connection(c);
        return;
    }
}


void
hm_http_wait_request_handler(hm_event_t *rev)
{
    size_t                     size;
    ssize_t                    n;
    hm_buf_t                  *b;
    hm_connection_t           *c;
    hm_http_connection_t      *hc;
    hm_http_core_srv_conf_t   *cscf;

    c = rev->data;

    if (rev->timedout) {
        hm_log_error(HM_LOG_INFO, c->log, HM_ETIMEDOUT, "client timed out");
        hm_http_close_connection(c);
        return;
    }

    if (c->close) {
        hm_http_close_connection(c);
        return;
    }

    hc = c->data;
    cscf = hm_http_get_module_srv_conf(hc->conf_ctx, hm_http_core_module);

    size = cscf->client_header_buffer_size;

    b = c->buffer;

    if (b == NULL) {
        b = hm_create_temp_buf(c->pool, size);
        if (b == NULL) {
            hm_http_close_connection(c);
            return;
        }

        c->buffer = b;

    } else if (b->start == NULL) {

        b->start = hm_palloc(c->pool, size);
        if (b->start == NULL) {
            hm_http_close_connection(c);
            return;
        }

        b->pos = b->start;
        b->last = b->start;
        b->end = b->last + size;
    }

    size = b->end - b->last;

    n = c->recv(c, b->last, size);

    if (n == HM_AGAIN) {

        if (!rev->timer_set) {
            hm_event_add_timer(rev, cscf->client_header_timeout);
            hm_reusable_connection(c, 1);
        }

        if (hm_handle_read_event(rev, 0) != HM_OK) {
            hm_http_close_connection(c);
            return;
        }

        if (b->pos == b->last) {

            /*
             * We are trying to not hold c->buffer's memory for an
             * idle connection.
             */

            if (hm_pfree(c->pool, b->start) == HM_OK) {
                b->start = NULL;
            }
        }

        return;
    }

    if (n == HM_ERROR) {
        hm_http_close_connection(c);
        return;
    }

    if (n == 0) {
        hm_log_error(HM_LOG_INFO, c->log, 0,
                     "client closed connection");
        hm_http_close_connection(c);
        return;
    }

    b->last += n;

    c->log->action = "reading client request line";

    hm_reusable_connection(c, 0);

    c->data = hm_http_create_request(c);
    if (c->data == NULL) {
        hm_http_close_connection(c);
        return;
    }

    rev->handler = hm_http_process_request_line;
    hm_http_process_request_line(rev);
}


hm_http_request_t *
hm_http_create_request(hm_connection_t *c)
{
    hm_http_request_t         *r;
    hm_http_log_ctx_t         *ctx;

    r = hm_http_alloc_request(c);
    if (r == NULL) {
        return NULL;
    }

    c->requests++;

    hm_metric_inc(hm_http_metrics.requests);
    hm_metric_inc(hm_http_metrics.reading);
    r->stat_reading = 1;

    ctx = c->log->data;
    ctx->request = r;
    ctx->current_request = r;

    return r;
}


static hm_http_request_t *
hm_http_alloc_request(hm_connection_t *c)
{
    hm_pool_t                 *pool;
    hm_time_t                 *tp;
    hm_http_request_t         *r;
    hm_http_connection_t      *hc;
    hm_http_core_srv_conf_t   *cscf;

    hc = c->data;

    cscf = hm_http_get_module_srv_conf(hc->conf_ctx, hm_http_core_module);

    pool = hm_create_pool(cscf->request_pool_size, c->log);
    if (pool == NULL) {
        return NULL;
    }

    r = hm_pcalloc(pool, sizeof(hm_http_request_t));
    if (r == NULL) {
        hm_destroy_pool(pool);
        return NULL;
    }

    r->pool = pool;

    r->http_connection = hc;
    r->signature = 0x50545448;  /* "HTTP" */
    r->connection = c;

    r->main_conf = hc->conf_ctx->main_conf;
    r->srv_conf = hc->conf_ctx->srv_conf;
    r->loc_conf = hc->conf_ctx->loc_conf;

    r->read_event_handler = hm_http_block_reading;

    r->header_in = hc->busy ? hc->busy->buf : c->buffer;

    if (hm_list_init(&r->headers_out.headers, r->pool, 20,
                     sizeof(hm_table_elt_t))
        != HM_OK)
    {
        hm_destroy_pool(r->pool);
        return NULL;
    }

    if (hm_list_init(&r->headers_out.trailers, r->pool, 4,
                     sizeof(hm_table_elt_t))
        != HM_OK)
    {
        hm_destroy_pool(r->pool);
        return NULL;
    }

    r->ctx = hm_pcalloc(r->pool, sizeof(void *) * hm_http_max_module);
    if (r->ctx == NULL) {
        hm_destroy_pool(r->pool);
        return NULL;
    }

    r->main = r;
    r->count = 1;

    tp = hm_timeofday();
    r->start_sec = tp->sec;
    r->start_msec = tp->msec;

    r->method = HM_HTTP_UNKNOWN;
    r->http_version = HM_HTTP_VERSION_10;

    r->headers_in.content_length_n = -1;
    r->headers_in.keep_alive_n = -1;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;

    r->uri_changes = HM_HTTP_MAX_URI_CHANGES + 1;

    r->http_state = HM_HTTP_READING_REQUEST_STATE;

    r->log_handler = hm_http_log_error_handler;

    return r;
}


static void
hm_http_process_request_line(hm_event_t *rev)
{
    ssize_t              n;
    hm_int_t             rc, rv;
    hm_str_t             host;
    hm_connection_t     *c;
    hm_http_request_t   *r;

    c = rev->data;
    r = c->data;

    if (rev->timedout) {
        hm_log_error(HM_LOG_INFO, c->log, HM_ETIMEDOUT, "client timed out");
        c->timedout = 1;
        hm_http_close_request(r, HM_HTTP_REQUEST_TIME_OUT);
        return;
    }

    rc = HM_AGAIN;

    for ( ;; ) {

        if (rc == HM_AGAIN) {
            n = hm_http_read_request_header(r);

            if (n == HM_AGAIN || n == HM_ERROR) {
                break;
            }
        }

        rc = hm_http_parse_request_line(&r->parse, r->header_in);

        if (rc == HM_OK) {

            /* the request line has been parsed successfully */

            r->request_line.len = r->parse.request_end
                                  - r->parse.request_start;
            r->request_line.data = r->parse.request_start;
            r->request_length = r->header_in->pos - r->parse.request_start;

            r->method = r->parse.method;
            r->http_version = r->parse.http_version;

            r->method_name.len = r->parse.method_end
                                 - r->parse.request_start;
            r->method_name.data = r->parse.request_start;

            if (r->parse.http_protocol_start) {
                r->http_protocol.data = r->parse.http_protocol_start;
                r->http_protocol.len = r->parse.request_end
                                       - r->parse.http_protocol_start;
            }

            if (hm_http_process_request_uri(r) != HM_OK) {
                break;
            }

            if (r->parse.schema_end) {
                r->schema.len = r->parse.schema_end - r->parse.schema_start;
                r->schema.data = r->parse.schema_start;
            }

            if (r->parse.host_end) {

                host.len = r->parse.host_end - r->parse.host_start;
                host.data = r->parse.host_start;

                rv = hm_http_validate_host(&host, r->pool);

                if (rv == HM_DECLINED) {
                    hm_log_error(HM_LOG_INFO, c->log, 0,
                                 "client sent invalid host in request line");
                    hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
                    break;
                }

                if (rv == HM_ERROR) {
                    hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
                    break;
                }

                if (hm_http_set_virtual_server(r, &host) == HM_ERROR) {
                    break;
                }

                r->headers_in.server = host;
            }

            if (r->http_version < HM_HTTP_VERSION_10) {
                hm_log_error(HM_LOG_INFO, c->log, 0,
                             "client sent HTTP/0.9 request");
                hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
                break;
            }

            if (hm_list_init(&r->headers_in.headers, r->pool, 20,
                             sizeof(hm_table_elt_t))
                != HM_OK)
            {
                hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
                break;
            }

            c->log->action = "reading client request headers";

            rev->handler = hm_http_process_request_headers;
            hm_http_process_request_headers(rev);

            break;
        }

        if (rc != HM_AGAIN) {

            /* there was error while a request line parsing */

            hm_log_error(HM_LOG_INFO, c->log, 0,
                         hm_http_client_errors[rc - HM_HTTP_CLIENT_ERROR]);

            if (rc == HM_HTTP_PARSE_INVALID_VERSION) {
                hm_http_finalize_request(r, HM_HTTP_VERSION_NOT_SUPPORTED);

            } else {
                hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
            }

            break;
        }

        /* HM_AGAIN: a request line parsing is still incomplete */

        if (r->header_in->pos == r->header_in->end) {

            rv = hm_http_alloc_large_header_buffer(r, 1);

            if (rv == HM_ERROR) {
                hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
                break;
            }

            if (rv == HM_DECLINED) {
                r->request_line.len = r->header_in->end
                                      - r->parse.request_start;
                r->request_line.data = r->parse.request_start;

                hm_log_error(HM_LOG_INFO, c->log, 0,
                             "client sent too long URI");
                hm_http_finalize_request(r, HM_HTTP_REQUEST_URI_TOO_LARGE);
                break;
            }
        }
    }
}


hm_int_t
hm_http_process_request_uri(hm_http_request_t *r)
{
    size_t                    len;
    hm_http_core_srv_conf_t  *cscf;

    if (r->parse.args_start) {
        r->uri.len = r->parse.args_start - 1 - r->parse.uri_start;
    } else {
        r->uri.len = r->parse.uri_end - r->parse.uri_start;
    }

    if (r->parse.complex_uri || r->parse.quoted_uri
        || r->parse.empty_path_in_uri)
    {
        if (r->parse.empty_path_in_uri) {
            r->uri.len++;
        }

        r->uri.data = hm_pnalloc(r->pool, r->uri.len + 1);
        if (r->uri.data == NULL) {
            hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
            return HM_ERROR;
        }

        cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);

        if (r->parse.empty_path_in_uri) {
            r->uri.data[0] = '/';
            r->uri.len = 1;

        } else if (hm_http_parse_complex_uri(&r->parse, r->uri.data, &len,
                                             cscf->merge_slashes)
                   != HM_OK)
        {
            r->uri.len = 0;

            hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                         "client sent invalid request");
            hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
            return HM_ERROR;

        } else {
            r->uri.len = len;
        }

    } else {
        r->uri.data = r->parse.uri_start;
    }

    r->unparsed_uri.len = r->parse.uri_end - r->parse.uri_start;
    r->unparsed_uri.data = r->parse.uri_start;

    if (r->parse.uri_ext) {
        if (r->parse.args_start) {
            r->exten.len = r->parse.args_start - 1 - r->parse.uri_ext;
        } else {
            r->exten.len = r->parse.uri_end - r->parse.uri_ext;
        }

        r->exten.data = r->parse.uri_ext;
    }

    if (r->parse.args_start && r->parse.uri_end > r->parse.args_start) {
        r->args.len = r->parse.uri_end - r->parse.args_start;
        r->args.data = r->parse.args_start;
    }

    if (r->uri.len == 0 || r->uri.data[0] != '/') {

        /* "OPTIONS *" and authority-form targets */

        if (!(r->uri.len == 1 && r->uri.data[0] == '*')
            && r->method != HM_HTTP_CONNECT)
        {
            hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                         "client sent invalid request target");
            hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
            return HM_ERROR;
        }
    }

    return HM_OK;
}


static void
hm_http_process_request_headers(hm_event_t *rev)
{
    u_char                     *p;
    size_t                      len;
    ssize_t                     n;
    hm_int_t                    rc, rv;
    hm_table_elt_t             *h;
    hm_connection_t            *c;
    hm_http_header_t           *hh;
    hm_http_request_t          *r;
    hm_http_core_srv_conf_t    *cscf;
    hm_http_core_main_conf_t   *cmcf;

    c = rev->data;
    r = c->data;

    if (rev->timedout) {
        hm_log_error(HM_LOG_INFO, c->log, HM_ETIMEDOUT, "client timed out");
        c->timedout = 1;
        hm_http_close_request(r, HM_HTTP_REQUEST_TIME_OUT);
        return;
    }

    cmcf = hm_http_get_module_main_conf(r, hm_http_core_module);

    rc = HM_AGAIN;

    for ( ;; ) {

        if (rc == HM_AGAIN) {

            if (r->header_in->pos == r->header_in->end) {

                rv = hm_http_alloc_large_header_buffer(r, 0);

                if (rv == HM_ERROR) {
                    hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
                    break;
                }

                if (rv == HM_DECLINED) {
                    p = r->parse.header_name_start;

                    if (p == NULL) {
                        hm_log_error(HM_LOG_INFO, c->log, 0,
                                     "client sent too large request");
                        hm_http_finalize_request(r,
                                          HM_HTTP_REQUEST_HEADER_TOO_LARGE);
                        break;
                    }

                    len = r->header_in->end - p;

                    if (len > HM_MAX_ERROR_STR - 300) {
                        len = HM_MAX_ERROR_STR - 300;
                    }

                    hm_log_error(HM_LOG_INFO, c->log, 0,
                                "client sent too long header line: \"%*s...\"",
                                len, r->parse.header_name_start);

                    hm_http_finalize_request(r,
                                            HM_HTTP_REQUEST_HEADER_TOO_LARGE);
                    break;
                }
            }

            n = hm_http_read_request_header(r);

            if (n == HM_AGAIN || n == HM_ERROR) {
                break;
            }
        }

        /* the host header could change the server configuration context */
        cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);

        rc = hm_http_parse_header_line(&r->parse, r->header_in,
                                       cscf->underscores_in_headers);

        if (rc == HM_OK) {

            r->request_length += r->header_in->pos
                                 - r->parse.header_name_start;

            if (r->parse.invalid_header && cscf->ignore_invalid_headers) {

                /* there was error while a header line parsing */

                hm_log_error(HM_LOG_INFO, c->log, 0,
                             "client sent invalid header line: \"%*s\"",
                             r->parse.header_end - r->parse.header_name_start,
                             r->parse.header_name_start);
                continue;
            }

            /* a header line has been parsed successfully */

            h = hm_list_push(&r->headers_in.headers);
            if (h == NULL) {
                hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
                break;
            }

            h->hash = r->parse.header_hash;

            h->key.len = r->parse.header_name_end
                         - r->parse.header_name_start;
            h->key.data = r->parse.header_name_start;
            h->key.data[h->key.len] = '\0';

            h->value.len = r->parse.header_end - r->parse.header_start;
            h->value.data = r->parse.header_start;
            h->value.data[h->value.len] = '\0';

            h->lowcase_key = hm_pnalloc(r->pool, h->key.len);
            if (h->lowcase_key == NULL) {
                hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
                break;
            }

            hm_strlow(h->lowcase_key, h->key.data, h->key.len);

            h->next = NULL;

            hh = hm_hash_find(&cmcf->headers_in_hash, h->lowcase_key,
                              h->key.len);

            if (hh && hh->handler(r, h, hh->offset) != HM_OK) {
                break;
            }

            continue;
        }

        if (rc == HM_HTTP_PARSE_HEADER_DONE) {

            /* a whole header has been parsed successfully */

            r->request_length += r->header_in->pos - r->parse.header_name_start;

            r->http_state = HM_HTTP_PROCESS_REQUEST_STATE;

            rc = hm_http_process_request_header(r);

            if (rc != HM_OK) {
                break;
            }

            hm_http_process_request(r);

            break;
        }

        if (rc == HM_AGAIN) {

            /* a header line parsing is still not complete */

            continue;
        }

        /* rc == HM_HTTP_PARSE_INVALID_HEADER */

        hm_log_error(HM_LOG_INFO, c->log, 0,
                     "client sent invalid header line");

        hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
        break;
    }
}


static ssize_t
hm_http_read_request_header(hm_http_request_t *r)
{
    ssize_t                    n;
    hm_event_t                *rev;
    hm_connection_t           *c;
    hm_http_core_srv_conf_t   *cscf;

    c = r->connection;
    rev = c->read;

    n = r->header_in->last - r->header_in->pos;

    if (n > 0) {
        return n;
    }

    if (rev->ready) {
        n = c->recv(c, r->header_in->last,
                    r->header_in->end - r->header_in->last);
    } else {
        n = HM_AGAIN;
    }

    if (n == HM_AGAIN) {
        if (!rev->timer_set) {
            cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);
            hm_event_add_timer(rev, cscf->client_header_timeout);
        }

        if (hm_handle_read_event(rev, 0) != HM_OK) {
            hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
            return HM_ERROR;
        }

        return HM_AGAIN;
    }

    if (n == 0) {
        hm_log_error(HM_LOG_INFO, c->log, 0,
                     "client prematurely closed connection");
    }

    if (n == 0 || n == HM_ERROR) {
        c->error = 1;
        c->log->action = "reading client request headers";

        hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
        return HM_ERROR;
    }

    r->header_in->last += n;

    return n;
}


/* the parser's pointers into the old buffer, moved to the new one */

static void
hm_http_rebase(hm_http_request_t *r, u_char *old, u_char *new)
{
    hm_http_parse_t  *p;

#define hm_http_rebase_ptr(ptr)                                               \
    if (ptr) { ptr = new + (ptr - old); }

    p = &r->parse;

    hm_http_rebase_ptr(p->request_start);
    hm_http_rebase_ptr(p->request_end);
    hm_http_rebase_ptr(p->method_start);
    hm_http_rebase_ptr(p->method_end);
    hm_http_rebase_ptr(p->schema_start);
    hm_http_rebase_ptr(p->schema_end);
    hm_http_rebase_ptr(p->host_start);
    hm_http_rebase_ptr(p->host_end);
    hm_http_rebase_ptr(p->port_start);
    hm_http_rebase_ptr(p->port_end);
    hm_http_rebase_ptr(p->uri_start);
    hm_http_rebase_ptr(p->uri_end);
    hm_http_rebase_ptr(p->uri_ext);
    hm_http_rebase_ptr(p->args_start);
    hm_http_rebase_ptr(p->http_protocol_start);
    hm_http_rebase_ptr(p->header_name_start);
    hm_http_rebase_ptr(p->header_name_end);
    hm_http_rebase_ptr(p->header_start);
    hm_http_rebase_ptr(p->header_end);

#undef hm_http_rebase_ptr
}


static hm_int_t
hm_http_alloc_large_header_buffer(hm_http_request_t *r,
    hm_uint_t request_line)
{
    u_char                    *old;
    size_t                     n;
    hm_buf_t                  *b;
    hm_chain_t                *cl;
    hm_http_connection_t      *hc;
    hm_http_core_srv_conf_t   *cscf;

    if (request_line && r->parse.state == 0) {

        /* the client fills up the buffer with "\r\n" */

        r->header_in->pos = r->header_in->start;
        r->header_in->last = r->header_in->start;

        return HM_OK;
    }

    old = request_line ? r->parse.request_start : r->parse.header_name_start;

    cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);

    if (r->parse.state != 0
        && (size_t) (r->header_in->pos - old)
                                     >= cscf->large_client_header_buffers.size)
    {
        return HM_DECLINED;
    }

    hc = r->http_connection;

    if (hc->free) {
        cl = hc->free;
        hc->free = cl->next;

        b = cl->buf;

    } else if (hc->nbusy < cscf->large_client_header_buffers.num) {

        b = hm_create_temp_buf(r->connection->pool,
                               cscf->large_client_header_buffers.size);
        if (b == NULL) {
            return HM_ERROR;
        }

        cl = hm_alloc_chain_link(r->connection->pool);
        if (cl == NULL) {
            return HM_ERROR;
        }

        cl->buf = b;

    } else {
        return HM_DECLINED;
    }

    cl->next = hc->busy;
    hc->busy = cl;
    hc->nbusy++;

    if (r->parse.state == 0) {
        /*
         * r->parse.state == 0 means that a header line was parsed
         * successfully and we do not need to copy incomplete header line
         * and to relocate the parser header pointers
         */

        r->header_in = b;

        return HM_OK;
    }

    n = r->header_in->pos - old;

    if (n > (size_t) (b->end - b->start)) {
        return HM_DECLINED;
    }

    hm_memcpy(b->start, old, n);

    b->pos = b->start + (r->header_in->pos - old);
    b->last = b->start + n;

    hm_http_rebase(r, old, b->start);

    r->header_in = b;

    return HM_OK;
}


static hm_int_t
hm_http_process_header_line(hm_http_request_t *r, hm_table_elt_t *h,
    hm_uint_t offset)
{
    hm_table_elt_t  **ph;

    ph = (hm_table_elt_t **) ((char *) &r->headers_in + offset);

    while (*ph) { ph = &(*ph)->next; }

    *ph = h;
    h->next = NULL;

    return HM_OK;
}


static hm_int_t
hm_http_process_unique_header_line(hm_http_request_t *r, hm_table_elt_t *h,
    hm_uint_t offset)
{
    hm_table_elt_t  **ph;

    ph = (hm_table_elt_t **) ((char *) &r->headers_in + offset);

    if (*ph == NULL) {
        *ph = h;
        h->next = NULL;
        return HM_OK;
    }

    /* a repeated Content-Length, Transfer-Encoding, ...: request smuggling
     * material; rejected even when the values are the same */

    hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                 "client sent duplicate header line: \"%V: %V\", "
                 "previous value: \"%V: %V\"",
                 &h->key, &h->value, &(*ph)->key, &(*ph)->value);

    hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);

    return HM_ERROR;
}


static hm_int_t
hm_http_process_header_list(hm_http_request_t *r, hm_table_elt_t *h,
    hm_uint_t offset)
{
    return hm_http_process_header_line(r, h, offset);
}


static hm_int_t
hm_http_process_host(hm_http_request_t *r, hm_table_elt_t *h,
    hm_uint_t offset)
{
    hm_int_t  rc;
    hm_str_t  host;

    if (r->headers_in.host) {
        hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                     "client sent duplicate host header: \"%V: %V\", "
                     "previous value: \"%V: %V\"",
                     &h->key, &h->value, &r->headers_in.host->key,
                     &r->headers_in.host->value);
        hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
        return HM_ERROR;
    }

    r->headers_in.host = h;
    h->next = NULL;

    host = h->value;

    rc = hm_http_validate_host(&host, r->pool);

    if (rc == HM_DECLINED) {
        hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                     "client sent invalid host header");
        hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
        return HM_ERROR;
    }

    if (rc == HM_ERROR) {
        hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
        return HM_ERROR;
    }

    if (r->headers_in.server.len) {
        return HM_OK;
    }

    if (hm_http_set_virtual_server(r, &host) == HM_ERROR) {
        return HM_ERROR;
    }

    r->headers_in.server = host;

    return HM_OK;
}


static hm_int_t
hm_http_process_connection(hm_http_request_t *r, hm_table_elt_t *h,
    hm_uint_t offset)
{
    if (hm_http_process_header_line(r, h, offset) != HM_OK) {
        return HM_ERROR;
    }

    if (hm_strcasestrn(h->value.data, "close", 5 - 1)) {
        r->headers_in.connection_type = HM_HTTP_CONNECTION_CLOSE;

    } else if (hm_strcasestrn(h->value.data, "keep-alive", 10 - 1)) {
        r->headers_in.connection_type = HM_HTTP_CONNECTION_KEEP_ALIVE;
    }

    return HM_OK;
}


/*
 * The checks that keep request smuggling out: a message with both a
 * Content-Length and a Transfer-Encoding, a Transfer-Encoding other than
 * "chunked", an unparsable Content-Length, an HTTP/1.1 request without a
 * Host.
 */

hm_int_t
hm_http_process_request_header(hm_http_request_t *r)
{
    if (r->headers_in.server.len == 0
        && hm_http_set_virtual_server(r, &r->headers_in.server)
           == HM_ERROR)
    {
        return HM_ERROR;
    }

    if (r->headers_in.host == NULL && r->http_version > HM_HTTP_VERSION_10) {
        hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                   "client sent HTTP/1.1 request without \"Host\" header");
        hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
        return HM_ERROR;
    }

    if (r->headers_in.content_length) {
        r->headers_in.content_length_n =
                            hm_atoof(r->headers_in.content_length->value.data,
                                     r->headers_in.content_length->value.len);

        if (r->headers_in.content_length_n == HM_ERROR) {
            hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                         "client sent invalid \"Content-Length\" header");
            hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
            return HM_ERROR;
        }
    }

    if (r->headers_in.transfer_encoding) {
        if (r->http_version < HM_HTTP_VERSION_11) {
            hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                         "client sent HTTP/1.0 request with "
                         "\"Transfer-Encoding\" header");
            hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
            return HM_ERROR;
        }

        if (r->headers_in.transfer_encoding->value.len == 7
            && hm_strncasecmp(r->headers_in.transfer_encoding->value.data,
                              (u_char *) "chunked", 7) == 0)
        {
            if (r->headers_in.content_length) {
                hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                             "client sent \"Content-Length\" and "
                             "\"Transfer-Encoding\" headers "
                             "at the same time");
                hm_http_finalize_request(r, HM_HTTP_BAD_REQUEST);
                return HM_ERROR;
            }

            r->headers_in.chunked = 1;

        } else {
            hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                         "client sent unknown \"Transfer-Encoding\": \"%V\"",
                         &r->headers_in.transfer_encoding->value);
            hm_http_finalize_request(r, HM_HTTP_NOT_IMPLEMENTED);
            return HM_ERROR;
        }
    }

    if (r->headers_in.connection_type == HM_HTTP_CONNECTION_KEEP_ALIVE) {
        if (r->headers_in.keep_alive) {
            r->headers_in.keep_alive_n =
                            hm_atotm(r->headers_in.keep_alive->value.data,
                                     r->headers_in.keep_alive->value.len);
        }
    }

    if (r->method == HM_HTTP_CONNECT) {
        hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                     "client sent CONNECT method");
        hm_http_finalize_request(r, HM_HTTP_NOT_ALLOWED);
        return HM_ERROR;
    }

    if (r->method == HM_HTTP_TRACE) {
        hm_log_error(HM_LOG_INFO, r->connection->log, 0,
                     "client sent TRACE method");
        hm_http_finalize_request(r, HM_HTTP_NOT_ALLOWED);
        return HM_ERROR;
    }

    return HM_OK;
}


void
hm_http_process_request(hm_http_request_t *r)
{
    hm_connection_t  *c;

    c = r->connection;

    if (c->read->timer_set) {
        hm_event_del_timer(c->read);
    }

    c->log->action = "processing client request";

    if (r->stat_reading) {
        hm_metric_dec(hm_http_metrics.reading);
        r->stat_reading = 0;
    }

    hm_metric_inc(hm_http_metrics.writing);
    r->stat_writing = 1;

    c->read->handler = hm_http_request_handler;
    c->write->handler = hm_http_request_handler;
    r->read_event_handler = hm_http_block_reading;

    hm_http_handler(r);
}


static hm_int_t
hm_http_validate_host(hm_str_t *host, hm_pool_t *pool)
{
    u_char  *h, ch;
    size_t   i, dot_pos, host_len;

    enum {
        sw_usual = 0,
        sw_literal,
        sw_rest
    } state;

    dot_pos = host->len;
    host_len = host->len;

    h = host->data;

    state = sw_usual;

    for (i = 0; i < host->len; i++) {
        ch = h[i];

        switch (ch) {

        case '.':
            if (dot_pos == i - 1) {
                return HM_DECLINED;
            }
            dot_pos = i;
            break;

        case ':':
            if (state == sw_usual) {
                host_len = i;
                state = sw_rest;
            }
            break;

        case '[':
            if (i == 0) {
                state = sw_literal;
            }
            break;

        case ']':
            if (state == sw_literal) {
                host_len = i + 1;
                state = sw_rest;
            }
            break;

        default:

            if (hm_path_separator(ch)) {
                return HM_DECLINED;
            }

            if (ch <= 0x20 || ch == 0x7f) {
                return HM_DECLINED;
            }

            if (ch >= 'A' && ch <= 'Z') {
                /* lowercased below */
            }

            break;
        }
    }

    if (dot_pos == host_len - 1) {
        host_len--;
    }

    if (host_len == 0) {
        return HM_DECLINED;
    }

    /* a lowercase copy: the header value stays as the client sent it */

    h = hm_pnalloc(pool, host_len);
    if (h == NULL) {
        return HM_ERROR;
    }

    hm_strlow(h, host->data, host_len);
    host->data = h;
    host->len = host_len;

    return HM_OK;
}


static hm_int_t
hm_http_set_virtual_server(hm_http_request_t *r, hm_str_t *host)
{
    hm_int_t                  rc;
    hm_http_connection_t     *hc;
    hm_http_core_srv_conf_t  *cscf;

    hc = r->http_connection;

    rc = hm_http_find_virtual_server(r->connection, hc->addr_conf, host,
                                     &cscf);

    if (rc == HM_ERROR) {
        hm_http_close_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
        return HM_ERROR;
    }

    if (rc == HM_DECLINED) {
        return HM_OK;
    }

    r->srv_conf = cscf->ctx->srv_conf;
    r->loc_conf = cscf->ctx->loc_conf;

    return HM_OK;
}


void
hm_http_request_handler(hm_event_t *ev)
{
    hm_connection_t    *c;
    hm_http_request_t  *r;
    hm_http_log_ctx_t  *ctx;

    c = ev->data;
    r = c->data;

    ctx = c->log->data;
    ctx->current_request = r;

    if (c->close) {
        r->main->count++;
        hm_http_terminate_request(r, 0);
        return;
    }

    if (ev->write) {
        r->write_event_handler(r);

    } else {
        r->read_event_handler(r);
    }
}


void
hm_http_handler(hm_http_request_t *r)
{
    hm_http_core_main_conf_t  *cmcf;

    r->connection->log->action = NULL;

    if (!r->internal) {
        switch (r->headers_in.connection_type) {
        case 0:
            r->keepalive = (r->http_version > HM_HTTP_VERSION_10);
            break;

        case HM_HTTP_CONNECTION_CLOSE:
            r->keepalive = 0;
            break;

        case HM_HTTP_CONNECTION_KEEP_ALIVE:
            r->keepalive = 1;
            break;
        }

        r->lingering_close = (r->headers_in.content_length_n > 0
                              || r->headers_in.chunked);
        r->phase_handler = 0;

    } else {
        cmcf = hm_http_get_module_main_conf(r, hm_http_core_module);
        r->phase_handler = cmcf->phase_engine.server_rewrite_index;
    }

    r->write_event_handler = hm_http_core_run_phases;
    hm_http_core_run_phases(r);
}


hm_int_t
hm_http_internal_redirect(hm_http_request_t *r, hm_str_t *uri,
    hm_str_t *args)
{
    hm_http_core_srv_conf_t  *cscf;

    r->uri_changes--;

    if (r->uri_changes == 0) {
        hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                     "rewrite or internal redirection cycle "
                     "while internally redirecting to \"%V\"", uri);

        r->main->count++;
        hm_http_finalize_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
        return HM_DONE;
    }

    r->uri = *uri;

    if (args) {
        r->args = *args;

    } else {
        hm_str_null(&r->args);
    }

    hm_log_debug(r->connection->log, "internal redirect: \"%V?%V\"",
                 uri, &r->args);

    hm_http_set_exten(r);

    /* clear the modules contexts */
    hm_memzero(r->ctx, sizeof(void *) * hm_http_max_module);

    cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);
    r->loc_conf = cscf->ctx->loc_conf;

    hm_http_update_location_config(r);

    r->internal = 1;
    r->main->count++;

    hm_http_handler(r);

    return HM_DONE;
}


void
hm_http_set_exten(hm_http_request_t *r)
{
    hm_int_t  i;

    hm_str_null(&r->exten);

    for (i = r->uri.len - 1; i > 1; i--) {
        if (r->uri.data[i] == '.' && r->uri.data[i - 1] != '/') {

            r->exten.len = r->uri.len - i - 1;
            r->exten.data = &r->uri.data[i + 1];

            return;

        } else if (r->uri.data[i] == '/') {
            return;
        }
    }
}


void
hm_http_finalize_request(hm_http_request_t *r, hm_int_t rc)
{
    hm_connection_t           *c;

    c = r->connection;

    if (rc == HM_DONE) {
        hm_http_finalize_connection(r);
        return;
    }

    if (rc == HM_DECLINED) {
        r->content_handler = NULL;
        r->write_event_handler = hm_http_core_run_phases;
        hm_http_core_run_phases(r);
        return;
    }

    if (rc == HM_ERROR
        || rc == HM_HTTP_REQUEST_TIME_OUT
        || rc == HM_HTTP_CLIENT_CLOSED_REQUEST
        || c->error)
    {
        hm_http_terminate_request(r, rc);
        return;
    }

    if (rc >= HM_HTTP_SPECIAL_RESPONSE
        || rc == HM_HTTP_CREATED
        || rc == HM_HTTP_NO_CONTENT)
    {
        if (rc == HM_HTTP_CLOSE) {
            c->timedout = 1;
            hm_http_terminate_request(r, rc);
            return;
        }

        if (c->read->timer_set) {
            hm_event_del_timer(c->read);
        }

        if (c->write->timer_set) {
            hm_event_del_timer(c->write);
        }

        c->read->handler = hm_http_request_handler;
        c->write->handler = hm_http_request_handler;

        hm_http_finalize_request(r, hm_http_special_response_handler(r, rc));
        return;
    }

    /* rc == HM_OK || rc == HM_AGAIN */

    if (r->out && c->write->ready && !c->error) {

        /* output held back below the postpone size goes out now */

        if (hm_http_output_filter(r, NULL) == HM_ERROR) {
            hm_http_terminate_request(r, 0);
            return;
        }
    }

    if (r->buffered || r->out) {

        if (hm_http_set_write_handler(r) != HM_OK) {
            hm_http_terminate_request(r, 0);
        }

        return;
    }

    if (rc == HM_AGAIN) {
        /* a handler keeps working on the request (body, upstream) */
        r->main->count--;
        return;
    }

    r->done = 1;

    r->read_event_handler = hm_http_block_reading;
    r->write_event_handler = hm_http_request_empty_handler;

    if (c->read->timer_set) {
        hm_event_del_timer(c->read);
    }

    if (c->write->timer_set) {
        hm_event_del_timer(c->write);
    }

    hm_http_finalize_connection(r);
}


void
hm_http_terminate_request(hm_http_request_t *r, hm_int_t rc)
{
    hm_http_cleanup_t  *cln;
    hm_http_request_t  *mr;

    mr = r->main;

    hm_log_debug(r->connection->log, "http terminate request count:%ui",
                 mr->count);

    if (rc > 0 && (mr->headers_out.status == 0 || mr->connection->sent == 0))
    {
        mr->headers_out.status = rc;
    }

    cln = mr->cleanup;
    mr->cleanup = NULL;

    while (cln) {
        if (cln->handler) {
            cln->handler(cln->data);
        }

        cln = cln->next;
    }

    if (mr->write_event_handler) {

        if (mr->blocked) {
            r->connection->error = 1;
            r->write_event_handler = hm_http_request_finalizer;
            return;
        }

        mr->write_event_handler = hm_http_terminate_handler;
    }

    hm_http_close_request(mr, rc);
}


static void
hm_http_terminate_handler(hm_http_request_t *r)
{
    r->count = 1;

    hm_http_close_request(r, 0);
}


static void
hm_http_finalize_connection(hm_http_request_t *r)
{
    hm_http_core_loc_conf_t  *clcf;

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (r->main->count != 1) {

        if (r->discard_body) {
            r->read_event_handler = hm_http_discarded_request_body_handler;
            hm_event_add_timer(r->connection->read, clcf->lingering_timeout);

            if (r->lingering_time == 0) {
                r->lingering_time = hm_time()
                                      + (time_t) (clcf->lingering_time / 1000);
            }
        }

        hm_http_close_request(r, 0);
        return;
    }

    r = r->main;

    if (r->connection->read->eof) {
        hm_http_close_request(r, 0);
        return;
    }

    if (r->reading_body) {
        r->keepalive = 0;
        r->lingering_close = 1;
    }

    if (!hm_terminate
         && !hm_exiting
         && r->keepalive
         && clcf->keepalive_timeout > 0)
    {
        hm_http_set_keepalive(r);
        return;
    }

    if (clcf->lingering_close == 2 /* always */
        || (clcf->lingering_close == 1 /* on */
            && (r->lingering_close
                || r->header_in->pos < r->header_in->last
                || r->connection->read->ready
                || r->connection->read->pending_eof)))
    {
        hm_http_set_lingering_close(r->connection);
        return;
    }

    hm_http_close_request(r, 0);
}


static hm_int_t
hm_http_set_write_handler(hm_http_request_t *r)
{
    hm_event_t               *wev;
    hm_http_core_loc_conf_t  *clcf;

    r->http_state = HM_HTTP_WRITING_REQUEST_STATE;

    r->read_event_handler = r->discard_body ?
                                hm_http_discarded_request_body_handler:
                                hm_http_test_reading;
    r->write_event_handler = hm_http_writer;

    wev = r->connection->write;

    if (wev->ready && wev->delayed) {
        return HM_OK;
    }

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (!wev->delayed) {
        hm_event_add_timer(wev, clcf->send_timeout);
    }

    if (hm_handle_write_event(wev, 0) != HM_OK) {
        hm_http_close_request(r, 0);
        return HM_ERROR;
    }

    return HM_OK;
}


static void
hm_http_writer(hm_http_request_t *r)
{
    hm_int_t                  rc;
    hm_event_t               *wev;
    hm_connection_t          *c;
    hm_http_core_loc_conf_t  *clcf;

    c = r->connection;
    wev = c->write;

    clcf = hm_http_get_module_loc_conf(r->main, hm_http_core_module);

    if (wev->timedout) {
        hm_log_error(HM_LOG_INFO, c->log, HM_ETIMEDOUT,
                     "client timed out");
        c->timedout = 1;

        hm_http_finalize_request(r, HM_HTTP_REQUEST_TIME_OUT);
        return;
    }

    rc = hm_http_output_filter(r, NULL);

    if (r->buffered || r->out) {

        if (!wev->delayed) {
            hm_event_add_timer(wev, clcf->send_timeout);
        }

        if (hm_handle_write_event(wev, 0) != HM_OK) {
            hm_http_close_request(r, 0);
        }

        return;
    }

    r->write_event_handler = hm_http_request_empty_handler;

    hm_http_finalize_request(r, rc);
}


static void
hm_http_request_finalizer(hm_http_request_t *r)
{
    hm_http_finalize_request(r, 0);
}


void
hm_http_block_reading(hm_http_request_t *r)
{
    /* edge-triggered events need nothing: the kernel remembers */
}


void
hm_http_test_reading(hm_http_request_t *r)
{
    int                n;
    char               buf[1];
    hm_err_t           err;
    hm_event_t        *rev;
    hm_connection_t   *c;

    c = r->connection;
    rev = c->read;

    if (rev->pending_eof) {
        rev->eof = 1;
        err = 0;
        goto closed;
    }

    if (hm_event_flags & HM_USE_EPOLL_EVENT) {

        /* EPOLLRDHUP would have set pending_eof */

        return;
    }

    n = recv(c->fd, buf, 1, MSG_PEEK);

    if (n == 0) {
        rev->eof = 1;
        c->error = 1;
        err = 0;

        goto closed;

    } else if (n == -1) {
        err = hm_socket_errno;

        if (err != HM_EAGAIN) {
            rev->eof = 1;
            c->error = 1;

            goto closed;
        }
    }

    return;

closed:

    if (err) {
        rev->error = 1;
    }

    hm_log_error(HM_LOG_INFO, c->log, err,
                 "client prematurely closed connection");

    hm_http_finalize_request(r, HM_HTTP_CLIENT_CLOSED_REQUEST);
}


static void
hm_http_set_keepalive(hm_http_request_t *r)
{
    hm_buf_t                  *b, *f;
    hm_chain_t                *cl, *ln;
    hm_event_t                *rev, *wev;
    hm_connection_t           *c;
    hm_http_connection_t      *hc;
    hm_http_core_loc_conf_t   *clcf;

    c = r->connection;
    rev = c->read;

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    c->log->action = "closing request";

    hc = r->http_connection;
    b = r->header_in;

    if (b->pos < b->last) {

        /* the pipelined request */

        if (b != c->buffer) {

            /*
             * If the large header buffers were allocated while the previous
             * request processing then we do not use c->buffer for
             * the pipelined request (see hm_http_create_request()).
             *
             * Now we would move the large header buffers to the free list.
             */

            for (cl = hc->busy; cl; /* void */) {
                ln = cl;
                cl = cl->next;

                if (ln->buf == b) {
                    continue;
                }

                f = ln->buf;
                f->pos = f->start;
                f->last = f->start;

                ln->next = hc->free;
                hc->free = ln;
            }

            cl = hm_alloc_chain_link(c->pool);
            if (cl == NULL) {
                hm_http_close_request(r, 0);
                return;
            }

            cl->buf = b;
            cl->next = NULL;

            hc->busy = cl;
            hc->nbusy = 1;
        }
    }

    /* guard against recursive call from hm_http_finalize_connection() */
    r->keepalive = 0;

    hm_http_free_request(r, 0);

    c->data = hc;

    if (hm_handle_read_event(rev, 0) != HM_OK) {
        hm_http_close_connection(c);
        return;
    }

    wev = c->write;
    wev->handler = hm_http_empty_handler;

    if (b->pos < b->last) {

        hm_log_debug(c->log, "pipelined request");

        c->log->action = "reading client pipelined request line";

        r = hm_http_create_request(c);
        if (r == NULL) {
            hm_http_close_connection(c);
            return;
        }

        r->pipeline = 1;

        c->data = r;

        c->sent = 0;
        c->destroyed = 0;

        if (rev->timer_set) {
            hm_event_del_timer(rev);
        }

        rev->handler = hm_http_process_request_line;
        hm_post_event(rev, &hm_posted_events);
        return;
    }

    /*
     * To keep a memory footprint as small as possible for an idle keepalive
     * connection we try to free c->buffer's memory if it was allocated
     * outside the c->pool.  The large header buffers are always allocated
     * outside the c->pool and are freed too.
     */

    b = c->buffer;

    if (hm_pfree(c->pool, b->start) == HM_OK) {

        /*
         * the special note for hm_http_keepalive_handler() that
         * c->buffer's memory was freed
         */

        b->pos = NULL;

    } else {
        b->pos = b->start;
        b->last = b->start;
    }

    if (hc->free) {
        for (cl = hc->free; cl; /* void */) {
            ln = cl;
            cl = cl->next;

            (void) hm_pfree(c->pool, ln->buf->start);
        }

        hc->free = NULL;
    }

    if (hc->busy) {
        for (cl = hc->busy; cl; /* void */) {
            ln = cl;
            cl = cl->next;

            (void) hm_pfree(c->pool, ln->buf->start);
        }

        hc->busy = NULL;
        hc->nbusy = 0;
    }

    rev->handler = hm_http_keepalive_handler;

    if (wev->active && (hm_event_flags & HM_USE_CLEAR_EVENT) == 0) {
        if (hm_del_event(wev, HM_WRITE_EVENT, 0) != HM_OK) {
            hm_http_close_connection(c);
            return;
        }
    }

    c->log->action = "keepalive";

    if (c->tcp_nodelay == 0 && clcf->tcp_nodelay) {
        if (hm_tcp_nodelay(c->fd) == -1) {
            hm_connection_error(c, hm_socket_errno,
                                "setsockopt(TCP_NODELAY) failed");
            hm_http_close_connection(c);
            return;
        }

        c->tcp_nodelay = 1;
    }

    c->idle = 1;
    hm_metric_inc(hm_http_metrics.idle);
    hm_reusable_connection(c, 1);

    hm_event_add_timer(rev, clcf->keepalive_timeout);

    /* the next request may be there: after the others had their turn */

    if (rev->ready) {
        hm_post_event(rev, &hm_posted_next_events);
    }

}


static void
hm_http_keepalive_handler(hm_event_t *rev)
{
    size_t             size;
    ssize_t            n;
    hm_buf_t          *b;
    hm_connection_t   *c;

    c = rev->data;

    if (rev->timedout || c->close) {
        hm_http_close_connection(c);
        return;
    }

    if (rev->pending_eof) {
        c->log->handler = NULL;
        hm_log_error(HM_LOG_INFO, c->log, 0,
                     "client %V closed keepalive connection",
                     &c->addr_text);
        hm_http_close_connection(c);
        return;
    }

    b = c->buffer;
    size = b->end - b->start;

    if (b->pos == NULL) {

        /*
         * The c->buffer's memory was freed by hm_http_set_keepalive().
         * However, the c->buffer->start and c->buffer->end were not changed
         * to keep the buffer size.
         */

        b->pos = hm_palloc(c->pool, size);
        if (b->pos == NULL) {
            hm_http_close_connection(c);
            return;
        }

        b->start = b->pos;
        b->last = b->pos;
        b->end = b->pos + size;
    }

    /*
     * MSIE closes a keepalive connection with RST flag
     * so we ignore ECONNRESET here.
     */

    c->log_error = HM_ERROR_IGNORE_ECONNRESET;
    hm_set_socket_errno(0);

    n = c->recv(c, b->last, size);
    c->log_error = HM_ERROR_INFO;

    if (n == HM_AGAIN) {
        if (hm_handle_read_event(rev, 0) != HM_OK) {
            hm_http_close_connection(c);
            return;
        }

        /*
         * Like hm_http_set_keepalive() we are trying to not hold
         * c->buffer's memory for a keepalive connection.
         */

        if (hm_pfree(c->pool, b->start) == HM_OK) {

            /*
             * the special note that c->buffer's memory was freed
             */

            b->pos = NULL;
        }

        return;
    }

    if (n == HM_ERROR) {
        hm_http_close_connection(c);
        return;
    }

    c->log->handler = NULL;

    if (n == 0) {
        hm_log_error(HM_LOG_INFO, c->log, hm_socket_errno,
                     "client %V closed keepalive connection", &c->addr_text);
        hm_http_close_connection(c);
        return;
    }

    b->last += n;

    c->log->handler = hm_http_log_error;
    c->log->action = "reading client request line";

    c->idle = 0;
    hm_metric_dec(hm_http_metrics.idle);
    hm_reusable_connection(c, 0);

    c->data = hm_http_create_request(c);
    if (c->data == NULL) {
        hm_http_close_connection(c);
        return;
    }

    c->sent = 0;
    c->destroyed = 0;

    hm_event_del_timer(rev);

    rev->handler = hm_http_process_request_line;
    hm_http_process_request_line(rev);
}


static void
hm_http_set_lingering_close(hm_connection_t *c)
{
    hm_event_t                *rev, *wev;
    hm_http_request_t         *r;
    hm_http_core_loc_conf_t   *clcf;

    r = c->data;

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (r->lingering_time == 0) {
        r->lingering_time = hm_time() + (time_t) (clcf->lingering_time / 1000);
    }

    rev = c->read;
    rev->handler = hm_http_lingering_close_handler;

    if (hm_handle_read_event(rev, 0) != HM_OK) {
        hm_http_close_request(r, 0);
        return;
    }

    wev = c->write;
    wev->handler = hm_http_empty_handler;

    if (hm_shutdown_socket(c->fd, SHUT_WR) == -1) {
        hm_connection_error(c, hm_socket_errno,
                            hm_shutdown_socket_n " failed");
        hm_http_close_request(r, 0);
        return;
    }

    c->close = 0;
    hm_reusable_connection(c, 1);

    hm_event_add_timer(rev, clcf->lingering_timeout);

    if (rev->ready) {
        hm_http_lingering_close_handler(rev);
    }
}


static void
hm_http_lingering_close_handler(hm_event_t *rev)
{
    ssize_t                    n;
    hm_msec_t                  timer;
    hm_connection_t           *c;
    hm_http_request_t         *r;
    hm_http_core_loc_conf_t   *clcf;
    u_char                     buffer[HM_HTTP_LINGERING_BUFFER_SIZE];

    c = rev->data;
    r = c->data;

    if (rev->timedout || c->close) {
        hm_http_close_request(r, 0);
        return;
    }

    timer = (hm_msec_t) r->lingering_time - (hm_msec_t) hm_time();
    if ((hm_msec_int_t) timer <= 0) {
        hm_http_close_request(r, 0);
        return;
    }

    do {
        n = c->recv(c, buffer, HM_HTTP_LINGERING_BUFFER_SIZE);

        if (n == HM_ERROR || n == 0) {
            hm_http_close_request(r, 0);
            return;
        }

    } while (rev->ready);

    if (hm_handle_read_event(rev, 0) != HM_OK) {
        hm_http_close_request(r, 0);
        return;
    }

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    timer *= 1000;

    if (timer > clcf->lingering_timeout) {
        timer = clcf->lingering_timeout;
    }

    hm_event_add_timer(rev, timer);
}


void
hm_http_empty_handler(hm_event_t *wev)
{
}


void
hm_http_request_empty_handler(hm_http_request_t *r)
{
}


void
hm_http_close_request(hm_http_request_t *r, hm_int_t rc)
{
    hm_connection_t  *c;

    r = r->main;
    c = r->connection;

    hm_log_debug(c->log, "http request count:%ui", r->count);

    if (r->count == 0) {
        hm_log_error(HM_LOG_ALERT, c->log, 0, "http request count is zero");
    }

    r->count--;

    if (r->count || r->blocked) {
        return;
    }

    hm_http_free_request(r, rc);
    hm_http_close_connection(c);
}


void
hm_http_free_request(hm_http_request_t *r, hm_int_t rc)
{
    hm_pool_t          *pool;
    hm_http_cleanup_t  *cln;
    hm_http_log_ctx_t  *ctx;

    if (r->pool == NULL) {
        hm_log_error(HM_LOG_ALERT, r->connection->log, 0,
                     "http request already closed");
        return;
    }

    cln = r->cleanup;
    r->cleanup = NULL;

    while (cln) {
        if (cln->handler) {
            cln->handler(cln->data);
        }

        cln = cln->next;
    }

    if (rc > 0 && (r->headers_out.status == 0 || r->connection->sent == 0)) {
        r->headers_out.status = rc;
    }

    if (r->stat_reading) {
        hm_metric_dec(hm_http_metrics.reading);
        r->stat_reading = 0;
    }

    if (r->stat_writing) {
        hm_metric_dec(hm_http_metrics.writing);
        r->stat_writing = 0;
    }

    {
        hm_uint_t  status = r->err_status ? r->err_status
                                          : r->headers_out.status;

        if (status >= 100 && status < 600 && r->connection->sent) {
            hm_metric_inc(hm_http_metrics.responses[status / 100 - 1]);
        }
    }

    if (!r->logged) {
        r->connection->log->action = "logging request";

        hm_http_log_request(r);
    }

    r->connection->log->action = "closing request";

    if (r->connection->timedout) {
        /* nothing: the connection is closed by the caller */
    }

    /* the various request strings were allocated from r->pool */
    ctx = r->connection->log->data;
    ctx->request = NULL;

    r->request_line.len = 0;

    r->connection->destroyed = 1;

    /*
     * Setting r->pool to NULL will increase probability to catch double close
     * of request since the request object is allocated from its own pool.
     */

    pool = r->pool;
    r->pool = NULL;

    hm_destroy_pool(pool);
}


static void
hm_http_log_request(hm_http_request_t *r)
{
    hm_uint_t                  i, n;
    hm_http_handler_pt        *log_handler;
    hm_http_core_main_conf_t  *cmcf;

    r->logged = 1;

    cmcf = hm_http_get_module_main_conf(r, hm_http_core_module);

    log_handler = cmcf->phases[HM_HTTP_LOG_PHASE].handlers.elts;
    n = cmcf->phases[HM_HTTP_LOG_PHASE].handlers.nelts;

    for (i = 0; i < n; i++) {
        log_handler[i](r);
    }
}


void
hm_http_close_connection(hm_connection_t *c)
{
    hm_pool_t  *pool;

    hm_log_debug(c->log, "close http connection: %d", c->fd);

    if (c->idle) {
        hm_metric_dec(hm_http_metrics.idle);
        c->idle = 0;
    }

    if (c->ssl) {
        if (hm_ssl_shutdown(c) == HM_AGAIN) {
            c->ssl->handler = hm_http_close_connection;
            return;
        }
    }

    c->destroyed = 1;

    if (c->counted) {
        hm_metric_dec(hm_http_metrics.active);
        c->counted = 0;
    }

    pool = c->pool;

    hm_close_connection(c);

    hm_destroy_pool(pool);
}


static u_char *
hm_http_log_error(hm_log_t *log, u_char *buf, size_t len)
{
    u_char              *p;
    hm_http_request_t   *r;
    hm_http_log_ctx_t   *ctx;

    if (log->action) {
        p = hm_snprintf(buf, len, " while %s", log->action);
        len -= p - buf;
        buf = p;
    }

    ctx = log->data;

    p = hm_snprintf(buf, len, ", client: %V", &ctx->connection->addr_text);
    len -= p - buf;

    r = ctx->request;

    if (r) {
        return r->log_handler(r, p, len);

    } else {
        p = hm_snprintf(p, len, ", server: %V",
                        &ctx->connection->listening->addr_text);
    }

    return p;
}


static u_char *
hm_http_log_error_handler(hm_http_request_t *r, u_char *buf, size_t len)
{
    u_char                    *p;
    hm_http_upstream_t        *u;
    hm_http_core_srv_conf_t   *cscf;

    cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);

    p = hm_snprintf(buf, len, ", server: %V", &cscf->server_name);
    len -= p - buf;
    buf = p;

    if (r->request_line.data == NULL && r->parse.request_start) {
        for (p = r->parse.request_start; p < r->header_in->last; p++) {
            if (*p == CR || *p == LF) {
                break;
            }
        }

        r->request_line.len = p - r->parse.request_start;
        r->request_line.data = r->parse.request_start;
    }

    if (r->request_line.len) {
        p = hm_snprintf(buf, len, ", request: \"%V\"", &r->request_line);
        len -= p - buf;
        buf = p;
    }

    u = r->upstream;

    if (u && u->peer.name) {
        p = hm_snprintf(buf, len, ", upstream: \"%V\"", u->peer.name);
        len -= p - buf;
        buf = p;
    }

    if (r->headers_in.host) {
        p = hm_snprintf(buf, len, ", host: \"%V\"",
                        &r->headers_in.host->value);
        len -= p - buf;
        buf = p;
    }

    return buf;
}

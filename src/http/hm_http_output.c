/*
 * Copyright (C) hermod authors
 *
 * The response path of HTTP/1.x: the header filter (status line and
 * header), the chunked body filter, the write filter that sends with
 * backpressure, error pages, and the small helpers handlers use.
 *
 * Filters chain as "save next, install self" from their modules'
 * postconfiguration hooks; these three are installed first, by the core
 * module, so every other filter runs before them.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>
#include <hermod.h>


static hm_int_t hm_http_header_filter(hm_http_request_t *r);
static hm_int_t hm_http_chunked_body_filter(hm_http_request_t *r,
    hm_chain_t *in);
static hm_int_t hm_http_add_headers(hm_http_request_t *r);
static hm_int_t hm_http_send_error_page(hm_http_request_t *r,
    hm_http_err_page_t *err_page);
static hm_int_t hm_http_send_special_response(hm_http_request_t *r,
    hm_http_core_loc_conf_t *clcf, hm_uint_t err);
static hm_int_t hm_http_file_to_memory(hm_http_request_t *r);


/* the postpone threshold: smaller output waits for more or for the end */
#define HM_HTTP_POSTPONE_OUTPUT  1460


static hm_str_t hm_http_status_lines[] = {

    hm_string("200 OK"),
    hm_string("201 Created"),
    hm_string("202 Accepted"),
    hm_null_string,  /* "203 Non-Authoritative Information" */
    hm_string("204 No Content"),
    hm_null_string,  /* "205 Reset Content" */
    hm_string("206 Partial Content"),

    /* hm_null_string, */  /* "207 Multi-Status" */

#define HM_HTTP_LAST_2XX  207
#define HM_HTTP_OFF_3XX   (HM_HTTP_LAST_2XX - 200)

    /* hm_null_string, */  /* "300 Multiple Choices" */

    hm_string("301 Moved Permanently"),
    hm_string("302 Moved Temporarily"),
    hm_string("303 See Other"),
    hm_string("304 Not Modified"),
    hm_null_string,  /* "305 Use Proxy" */
    hm_null_string,  /* "306 unused" */
    hm_string("307 Temporary Redirect"),
    hm_string("308 Permanent Redirect"),

#define HM_HTTP_LAST_3XX  309
#define HM_HTTP_OFF_4XX   (HM_HTTP_LAST_3XX - 301 + HM_HTTP_OFF_3XX)

    hm_string("400 Bad Request"),
    hm_string("401 Unauthorized"),
    hm_string("402 Payment Required"),
    hm_string("403 Forbidden"),
    hm_string("404 Not Found"),
    hm_string("405 Not Allowed"),
    hm_string("406 Not Acceptable"),
    hm_null_string,  /* "407 Proxy Authentication Required" */
    hm_string("408 Request Time-out"),
    hm_string("409 Conflict"),
    hm_string("410 Gone"),
    hm_string("411 Length Required"),
    hm_string("412 Precondition Failed"),
    hm_string("413 Request Entity Too Large"),
    hm_string("414 Request-URI Too Large"),
    hm_string("415 Unsupported Media Type"),
    hm_string("416 Requested Range Not Satisfiable"),
    hm_null_string,  /* "417 Expectation Failed" */
    hm_null_string,  /* "418 unused" */
    hm_null_string,  /* "419 unused" */
    hm_null_string,  /* "420 unused" */
    hm_string("421 Misdirected Request"),
    hm_null_string,  /* "422 Unprocessable Entity" */
    hm_null_string,  /* "423 Locked" */
    hm_null_string,  /* "424 Failed Dependency" */
    hm_null_string,  /* "425 Too Early" */
    hm_null_string,  /* "426 Upgrade Required" */
    hm_null_string,  /* "427 unused" */
    hm_null_string,  /* "428 Precondition Required" */
    hm_string("429 Too Many Requests"),
    hm_null_string,  /* "430 unused" */
    hm_string("431 Request Header Fields Too Large"),

#define HM_HTTP_LAST_4XX  432
#define HM_HTTP_OFF_5XX   (HM_HTTP_LAST_4XX - 400 + HM_HTTP_OFF_4XX)

    hm_string("500 Internal Server Error"),
    hm_string("501 Not Implemented"),
    hm_string("502 Bad Gateway"),
    hm_string("503 Service Temporarily Unavailable"),
    hm_string("504 Gateway Time-out"),
    hm_string("505 HTTP Version Not Supported"),
    hm_null_string,        /* "506 Variant Also Negotiates" */
    hm_string("507 Insufficient Storage"),

    /* hm_null_string, */  /* "508 unused" */
    /* hm_null_string, */  /* "509 unused" */
    /* hm_null_string, */  /* "510 Not Extended" */

#define HM_HTTP_LAST_5XX  508

};


void
hm_http_output_init(void)
{
    hm_http_top_header_filter = hm_http_header_filter;
    hm_http_top_body_filter = hm_http_chunked_body_filter;
}


hm_int_t
hm_http_send_header(hm_http_request_t *r)
{
    if (r->header_sent) {
        hm_log_error(HM_LOG_ALERT, r->connection->log, 0,
                     "header already sent");
        return HM_ERROR;
    }

    if (r->err_status) {
        r->headers_out.status = r->err_status;
        r->headers_out.status_line.len = 0;
    }

    return hm_http_top_header_filter(r);
}


hm_int_t
hm_http_output_filter(hm_http_request_t *r, hm_chain_t *in)
{
    hm_int_t  rc;

    rc = hm_http_top_body_filter(r, in);

    if (rc == HM_ERROR) {
        /* HM_ERROR may be returned by any filter */
        r->connection->error = 1;
    }

    return rc;
}


static hm_str_t *
hm_http_status_line(hm_uint_t status)
{
    hm_uint_t  index;

    if (status >= HM_HTTP_OK && status < HM_HTTP_LAST_2XX) {
        index = status - HM_HTTP_OK;

    } else if (status >= HM_HTTP_MOVED_PERMANENTLY
               && status < HM_HTTP_LAST_3XX)
    {
        index = status - HM_HTTP_MOVED_PERMANENTLY + HM_HTTP_OFF_3XX;

    } else if (status >= HM_HTTP_BAD_REQUEST && status < HM_HTTP_LAST_4XX) {
        index = status - HM_HTTP_BAD_REQUEST + HM_HTTP_OFF_4XX;

    } else if (status >= HM_HTTP_INTERNAL_SERVER_ERROR
               && status < HM_HTTP_LAST_5XX)
    {
        index = status - HM_HTTP_INTERNAL_SERVER_ERROR + HM_HTTP_OFF_5XX;

    } else {
        return NULL;
    }

    if (hm_http_status_lines[index].len == 0) {
        return NULL;
    }

    return &hm_http_status_lines[index];
}


static hm_int_t
hm_http_header_filter(hm_http_request_t *r)
{
    u_char                    *p;
    size_t                     len;
    hm_str_t                  *status_line, host;
    hm_buf_t                  *b;
    hm_uint_t                  status, i, port;
    hm_chain_t                 out;
    hm_list_part_t            *part;
    hm_table_elt_t            *header;
    hm_connection_t           *c;
    hm_http_core_loc_conf_t   *clcf;
    hm_http_core_srv_conf_t   *cscf;
    u_char                     addr[HM_SOCKADDR_STRLEN];

    if (r->header_sent) {
        return HM_OK;
    }

    r->header_sent = 1;

    if (r->method == HM_HTTP_HEAD) {
        r->header_only = 1;
    }

    if (r->headers_out.last_modified_time != -1) {
        if (r->headers_out.status != HM_HTTP_OK
            && r->headers_out.status != HM_HTTP_PARTIAL_CONTENT
            && r->headers_out.status != HM_HTTP_NOT_MODIFIED)
        {
            r->headers_out.last_modified_time = -1;
            r->headers_out.last_modified = NULL;
        }
    }

    if (hm_http_add_headers(r) != HM_OK) {
        return HM_ERROR;
    }

    c = r->connection;
    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    /* a body of unknown length: chunked for HTTP/1.1, close for 1.0 */

    if (r->headers_out.content_length_n == -1
        && r->headers_out.content_length == NULL
        && !r->header_only
        && r->method != HM_HTTP_HEAD
        && r->headers_out.status != HM_HTTP_NO_CONTENT
        && r->headers_out.status != HM_HTTP_NOT_MODIFIED
        && r->headers_out.status >= HM_HTTP_OK
        && !r->upgrade)
    {
        if (r->http_version >= HM_HTTP_VERSION_11
            && clcf->chunked_transfer_encoding)
        {
            r->chunked = 1;

        } else {
            r->keepalive = 0;
        }
    }

    len = sizeof("HTTP/1.x ") - 1 + sizeof(CRLF) - 1
          /* the end of the header */
          + sizeof(CRLF) - 1;

    /* status line */

    status_line = NULL;

    if (r->headers_out.status_line.len) {
        len += r->headers_out.status_line.len;
        status_line = &r->headers_out.status_line;

    } else {

        status = r->headers_out.status;

        if (status == HM_HTTP_NO_CONTENT) {
            r->header_only = 1;
            hm_str_null(&r->headers_out.content_type);
            r->headers_out.last_modified_time = -1;
            r->headers_out.last_modified = NULL;
            r->headers_out.content_length = NULL;
            r->headers_out.content_length_n = -1;

        } else if (status == HM_HTTP_NOT_MODIFIED) {
            r->header_only = 1;
        }

        status_line = hm_http_status_line(status);

        if (status_line) {
            len += status_line->len;

        } else {
            len += HM_INT_T_LEN + 1 /* SP */;
        }
    }

    if (r->headers_out.server == NULL) {
        if (clcf->server_tokens == HM_HTTP_SERVER_TOKENS_ON) {
            len += sizeof("Server: " HERMOD_VER CRLF) - 1;

        } else {
            len += sizeof("Server: hermod" CRLF) - 1;
        }
    }

    if (r->headers_out.date == NULL) {
        len += sizeof("Date: Mon, 28 Sep 1970 06:00:00 GMT" CRLF) - 1;
    }

    if (r->headers_out.content_type.len) {
        len += sizeof("Content-Type: ") - 1
               + r->headers_out.content_type.len + 2;

        if (r->headers_out.charset.len) {
            len += sizeof("; charset=") - 1 + r->headers_out.charset.len;
        }
    }

    if (r->headers_out.content_length == NULL
        && r->headers_out.content_length_n >= 0)
    {
        len += sizeof("Content-Length: ") - 1 + HM_INT64_LEN + 2;
    }

    if (r->headers_out.last_modified == NULL
        && r->headers_out.last_modified_time != -1)
    {
        len += sizeof("Last-Modified: Mon, 28 Sep 1970 06:00:00 GMT" CRLF)
               - 1;
    }

    /* a relative Location becomes absolute, as nginx does */

    hm_str_null(&host);
    port = 0;

    if (r->headers_out.location
        && r->headers_out.location->value.len
        && r->headers_out.location->value.data[0] == '/'
        && clcf->absolute_redirect)
    {
        r->headers_out.location->hash = 0;

        cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);

        if (r->headers_in.server.len) {
            host = r->headers_in.server;

        } else {
            host = cscf->server_name;

            if (host.len == 0) {
                host.len = hm_sock_ntop(c->local_sockaddr, c->local_socklen,
                                        addr, HM_SOCKADDR_STRLEN, 0);
                host.data = addr;
            }
        }

        port = hm_inet_get_port(c->local_sockaddr);

        len += sizeof("Location: https://") - 1
               + host.len
               + r->headers_out.location->value.len + 2;

        if (port != (c->ssl ? 443 : 80)) {
            len += sizeof(":65535") - 1;
        }

    } else {
        hm_str_null(&host);
        port = 0;
    }

    if (r->chunked) {
        len += sizeof("Transfer-Encoding: chunked" CRLF) - 1;
    }

    if (r->upgrade) {
        len += sizeof("Connection: upgrade" CRLF) - 1;

    } else if (r->keepalive) {
        len += sizeof("Connection: keep-alive" CRLF) - 1;

    } else {
        len += sizeof("Connection: close" CRLF) - 1;
    }

    part = &r->headers_out.headers.part;
    header = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            header = part->elts;
            i = 0;
        }

        if (header[i].hash == 0) {
            continue;
        }

        len += header[i].key.len + sizeof(": ") - 1 + header[i].value.len
               + sizeof(CRLF) - 1;
    }

    b = hm_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return HM_ERROR;
    }

    /* "HTTP/1.x " */
    b->last = hm_cpymem(b->last, "HTTP/1.1 ", sizeof("HTTP/1.x ") - 1);

    if (r->http_version == HM_HTTP_VERSION_10) {
        b->last[-2] = '0';
    }

    /* status line */
    if (status_line) {
        b->last = hm_cpymem(b->last, status_line->data, status_line->len);

    } else {
        b->last = hm_sprintf(b->last, "%03ui ", r->headers_out.status);
    }
    *b->last++ = CR; *b->last++ = LF;

    if (r->headers_out.server == NULL) {
        if (clcf->server_tokens == HM_HTTP_SERVER_TOKENS_ON) {
            b->last = hm_cpymem(b->last, "Server: " HERMOD_VER CRLF,
                                sizeof("Server: " HERMOD_VER CRLF) - 1);

        } else {
            b->last = hm_cpymem(b->last, "Server: hermod" CRLF,
                                sizeof("Server: hermod" CRLF) - 1);
        }
    }

    if (r->headers_out.date == NULL) {
        b->last = hm_cpymem(b->last, "Date: ", sizeof("Date: ") - 1);
        b->last = hm_cpymem(b->last, hm_cached_http_time.data,
                            hm_cached_http_time.len);

        *b->last++ = CR; *b->last++ = LF;
    }

    if (r->headers_out.content_type.len) {
        b->last = hm_cpymem(b->last, "Content-Type: ",
                            sizeof("Content-Type: ") - 1);
        p = b->last;
        b->last = hm_cpymem(b->last, r->headers_out.content_type.data,
                            r->headers_out.content_type.len);

        if (r->headers_out.charset.len) {
            b->last = hm_cpymem(b->last, "; charset=",
                                sizeof("; charset=") - 1);
            b->last = hm_cpymem(b->last, r->headers_out.charset.data,
                                r->headers_out.charset.len);

            /* update r->headers_out.content_type for possible logging */

            r->headers_out.content_type.len = b->last - p;
            r->headers_out.content_type.data = p;
        }

        *b->last++ = CR; *b->last++ = LF;
    }

    if (r->headers_out.content_length == NULL
        && r->headers_out.content_length_n >= 0)
    {
        b->last = hm_sprintf(b->last, "Content-Length: %O" CRLF,
                             r->headers_out.content_length_n);
    }

    if (r->headers_out.last_modified == NULL
        && r->headers_out.last_modified_time != -1)
    {
        b->last = hm_cpymem(b->last, "Last-Modified: ",
                            sizeof("Last-Modified: ") - 1);
        b->last = hm_http_time(b->last, r->headers_out.last_modified_time);

        *b->last++ = CR; *b->last++ = LF;
    }

    if (host.data) {

        p = b->last + sizeof("Location: ") - 1;

        b->last = hm_cpymem(b->last, "Location: http",
                            sizeof("Location: http") - 1);

        if (c->ssl) {
            *b->last++ ='s';
        }

        *b->last++ = ':'; *b->last++ = '/'; *b->last++ = '/';
        b->last = hm_cpymem(b->last, host.data, host.len);

        if (port != (c->ssl ? 443 : 80)) {
            b->last = hm_sprintf(b->last, ":%ui", port);
        }

        b->last = hm_cpymem(b->last, r->headers_out.location->value.data,
                            r->headers_out.location->value.len);

        /* update r->headers_out.location->value for possible logging */

        r->headers_out.location->value.len = b->last - p;
        r->headers_out.location->value.data = p;
        hm_str_set(&r->headers_out.location->key, "Location");

        *b->last++ = CR; *b->last++ = LF;
    }

    if (r->chunked) {
        b->last = hm_cpymem(b->last, "Transfer-Encoding: chunked" CRLF,
                            sizeof("Transfer-Encoding: chunked" CRLF) - 1);
    }

    if (r->upgrade) {
        b->last = hm_cpymem(b->last, "Connection: upgrade" CRLF,
                            sizeof("Connection: upgrade" CRLF) - 1);

    } else if (r->keepalive) {
        b->last = hm_cpymem(b->last, "Connection: keep-alive" CRLF,
                            sizeof("Connection: keep-alive" CRLF) - 1);

    } else {
        b->last = hm_cpymem(b->last, "Connection: close" CRLF,
                            sizeof("Connection: close" CRLF) - 1);
    }

    part = &r->headers_out.headers.part;
    header = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            header = part->elts;
            i = 0;
        }

        if (header[i].hash == 0) {
            continue;
        }

        b->last = hm_cpymem(b->last, header[i].key.data, header[i].key.len);
        *b->last++ = ':'; *b->last++ = ' ';

        b->last = hm_cpymem(b->last, header[i].value.data,
                            header[i].value.len);
        *b->last++ = CR; *b->last++ = LF;
    }

    /* the end of HTTP header */
    *b->last++ = CR; *b->last++ = LF;

    r->header_size = b->last - b->pos;

    if (r->header_only) {
        b->last_buf = 1;
    }

    out.buf = b;
    out.next = NULL;

    return hm_http_write_filter(r, &out);
}


/*
 * "add_header": added to responses of the codes nginx adds them to, or to
 * every response with "always".
 */

static hm_int_t
hm_http_add_headers(hm_http_request_t *r)
{
    hm_str_t                   value;
    hm_uint_t                  i, safe_status;
    hm_http_add_header_t      *h;
    hm_http_core_loc_conf_t   *clcf;

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (clcf->add_headers == NULL) {
        return HM_OK;
    }

    switch (r->headers_out.status) {

    case HM_HTTP_OK:
    case HM_HTTP_CREATED:
    case HM_HTTP_NO_CONTENT:
    case HM_HTTP_PARTIAL_CONTENT:
    case HM_HTTP_MOVED_PERMANENTLY:
    case HM_HTTP_MOVED_TEMPORARILY:
    case HM_HTTP_SEE_OTHER:
    case HM_HTTP_NOT_MODIFIED:
    case HM_HTTP_TEMPORARY_REDIRECT:
    case HM_HTTP_PERMANENT_REDIRECT:
        safe_status = 1;
        break;

    default:
        safe_status = 0;
        break;
    }

    h = clcf->add_headers->elts;

    for (i = 0; i < clcf->add_headers->nelts; i++) {

        if (!safe_status && !h[i].always) {
            continue;
        }

        if (hm_complex_value(r, r->pool, &h[i].value, &value) != HM_OK) {
            return HM_ERROR;
        }

        if (value.len == 0) {
            continue;
        }

        if (hm_http_add_response_header(r, (char *) h[i].name.data,
                                        h[i].name.len, value.data, value.len)
            == NULL)
        {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


/*
 * Chunked transfer encoding for HTTP/1.1 responses of unknown length.
 * Decided when the header goes out (r->chunked); here every non-empty
 * piece is framed and the last buffer gets "0" CRLF CRLF.
 */

static hm_int_t
hm_http_chunked_body_filter(hm_http_request_t *r, hm_chain_t *in)
{
    u_char       *chunk;
    off_t         size;
    hm_buf_t     *b;
    hm_chain_t   *out, *cl, *tl, **ll;

    if (in == NULL || !r->chunked || r->header_only) {
        return hm_http_write_filter(r, in);
    }

    out = NULL;
    ll = &out;

    size = 0;
    cl = in;

    for ( ;; ) {
        size += hm_buf_size(cl->buf);

        if (cl->buf->flush
            || cl->buf->sync
            || hm_buf_in_memory(cl->buf)
            || cl->buf->in_file)
        {
            tl = hm_alloc_chain_link(r->pool);
            if (tl == NULL) {
                return HM_ERROR;
            }

            tl->buf = cl->buf;
            *ll = tl;
            ll = &tl->next;
        }

        if (cl->next == NULL) {
            break;
        }

        cl = cl->next;
    }

    if (size) {
        b = hm_calloc_buf(r->pool);
        if (b == NULL) {
            return HM_ERROR;
        }

        chunk = hm_pnalloc(r->pool, sizeof("0000000000000000" CRLF) - 1);
        if (chunk == NULL) {
            return HM_ERROR;
        }

        b->temporary = 1;
        b->pos = chunk;
        b->last = hm_sprintf(chunk, "%xO" CRLF, size);

        tl = hm_alloc_chain_link(r->pool);
        if (tl == NULL) {
            return HM_ERROR;
        }

        tl->buf = b;
        tl->next = out;
        out = tl;
    }

    if (cl->buf->last_buf) {
        b = hm_calloc_buf(r->pool);
        if (b == NULL) {
            return HM_ERROR;
        }

        b->memory = 1;
        b->last_buf = 1;
        b->pos = (u_char *) (size ? CRLF "0" CRLF CRLF : "0" CRLF CRLF);
        b->last = b->pos + (size ? 7 : 5);

        cl->buf->last_buf = 0;

        tl = hm_alloc_chain_link(r->pool);
        if (tl == NULL) {
            return HM_ERROR;
        }

        tl->buf = b;
        tl->next = NULL;
        *ll = tl;

    } else if (size > 0) {
        b = hm_calloc_buf(r->pool);
        if (b == NULL) {
            return HM_ERROR;
        }

        b->memory = 1;
        b->pos = (u_char *) CRLF;
        b->last = b->pos + 2;

        tl = hm_alloc_chain_link(r->pool);
        if (tl == NULL) {
            return HM_ERROR;
        }

        tl->buf = b;
        tl->next = NULL;
        *ll = tl;

    } else {
        *ll = NULL;
    }

    return hm_http_write_filter(r, out);
}


/*
 * The write filter: appends to r->out, sends when there is enough, a flush
 * or the last buffer.  Returns HM_AGAIN while something is left: the
 * caller stops producing until the write event brings it back, which is
 * how a slow client pushes back on an upstream.
 */

hm_int_t
hm_http_write_filter(hm_http_request_t *r, hm_chain_t *in)
{
    off_t                      size;
    hm_uint_t                  last, flush;
    hm_chain_t                *cl, *ln, **ll, *chain;
    hm_connection_t           *c;

    c = r->connection;

    if (c->error) {
        return HM_ERROR;
    }

    size = 0;
    flush = 0;
    last = 0;
    ll = &r->out;

    /* find the size, the flush point and the last link of the saved chain */

    for (cl = r->out; cl; cl = cl->next) {
        ll = &cl->next;

        size += hm_buf_size(cl->buf);

        if (cl->buf->flush || cl->buf->recycled) {
            flush = 1;
        }

        if (cl->buf->last_buf) {
            last = 1;
        }
    }

    /* add the new chain to the existent one */

    for (ln = in; ln; ln = ln->next) {
        cl = hm_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return HM_ERROR;
        }

        cl->buf = ln->buf;
        *ll = cl;
        ll = &cl->next;

        size += hm_buf_size(cl->buf);

        if (cl->buf->flush || cl->buf->recycled) {
            flush = 1;
        }

        if (cl->buf->last_buf) {
            last = 1;
        }
    }

    *ll = NULL;

    /*
     * avoid the output if there are no last buffer, no flush point,
     * there are the incoming bufs and the size of all bufs
     * is smaller than "postpone_output" directive
     */

    if (!last && !flush && in && size < HM_HTTP_POSTPONE_OUTPUT) {
        return HM_OK;
    }

    if (size == 0) {
        r->out = NULL;
        return HM_OK;
    }

    for ( ;; ) {

        if ((c->ssl || r->main_filter_need_in_memory)
            && hm_http_file_to_memory(r) != HM_OK)
        {
            return HM_ERROR;
        }

        chain = c->send_chain(c, r->out, 0);

        if (chain == HM_CHAIN_ERROR) {
            c->error = 1;
            return HM_ERROR;
        }

        r->out = chain;

        if (chain == NULL) {
            return HM_OK;
        }

        if (!c->write->ready || !(c->ssl || r->main_filter_need_in_memory)) {
            return HM_AGAIN;
        }

        /* TLS or "sendfile off": the next piece of a file is read now */
    }
}


/*
 * TLS cannot sendfile(): the first file range of r->out is read into a
 * buffer of at most 64 KiB put in front of it.  Memory stays bounded
 * whatever the size of the file.
 */

static hm_int_t
hm_http_file_to_memory(hm_http_request_t *r)
{
    off_t        size;
    ssize_t      n;
    hm_buf_t    *b, *fb;
    hm_chain_t  *cl, **ll;

    for (ll = &r->out, cl = r->out; cl; ll = &cl->next, cl = cl->next) {

        fb = cl->buf;

        if (hm_buf_in_memory(fb) && hm_buf_size(fb) == 0 && !fb->in_file) {
            continue;
        }

        if (hm_buf_in_memory(fb) || !fb->in_file) {
            return HM_OK;
        }

        size = fb->file_last - fb->file_pos;

        if (size == 0) {
            continue;
        }

        if (size > 65536) {
            size = 65536;
        }

        b = hm_create_temp_buf(r->pool, (size_t) size);
        if (b == NULL) {
            return HM_ERROR;
        }

        n = hm_read_file(fb->file, b->pos, (size_t) size, fb->file_pos);

        if (n == HM_ERROR) {
            return HM_ERROR;
        }

        if (n == 0) {
            hm_log_error(HM_LOG_ALERT, r->connection->log, 0,
                         "file \"%V\" was truncated", &fb->file->name);
            return HM_ERROR;
        }

        b->last += n;
        fb->file_pos += n;

        if (fb->file_pos == fb->file_last) {
            /* the file buffer is done: the memory one replaces it */
            b->last_buf = fb->last_buf;
            b->flush = fb->flush;
            cl->buf = b;
            return HM_OK;
        }

        cl = hm_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return HM_ERROR;
        }

        cl->buf = b;
        cl->next = *ll;
        *ll = cl;

        return HM_OK;
    }

    return HM_OK;
}


hm_table_elt_t *
hm_http_add_response_header(hm_http_request_t *r, char *name, size_t nlen,
    u_char *value, size_t vlen)
{
    hm_table_elt_t  *h;

    h = hm_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.len = nlen;
    h->key.data = (u_char *) name;
    h->value.len = vlen;
    h->value.data = value;
    h->lowcase_key = NULL;
    h->next = NULL;

    return h;
}


hm_int_t
hm_http_send_response(hm_http_request_t *r, hm_uint_t status,
    hm_str_t *ct, hm_str_t *body)
{
    hm_int_t     rc;
    hm_buf_t    *b;
    hm_chain_t   out;

    rc = hm_http_discard_request_body(r);

    if (rc != HM_OK) {
        return rc;
    }

    r->headers_out.status = status;

    if (ct && ct->len) {
        r->headers_out.content_type = *ct;
    }

    r->headers_out.content_length_n = body ? (off_t) body->len : 0;

    if (r->method == HM_HTTP_HEAD || body == NULL || body->len == 0) {
        r->header_only = (r->method == HM_HTTP_HEAD || body == NULL
                          || body->len == 0);

        rc = hm_http_send_header(r);

        if (rc == HM_ERROR || r->header_only) {
            return rc;
        }
    }

    b = hm_calloc_buf(r->pool);
    if (b == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = 1;

    out.buf = b;
    out.next = NULL;

    rc = hm_http_send_header(r);

    if (rc == HM_ERROR || rc > HM_OK || r->header_only) {
        return rc;
    }

    return hm_http_output_filter(r, &out);
}


/* error pages */

static char hm_http_error_tail[] =
"<hr><center>" HERMOD_VER "</center>" CRLF
"</body>" CRLF
"</html>" CRLF
;

static char hm_http_error_build_tail[] =
"<hr><center>hermod</center>" CRLF
"</body>" CRLF
"</html>" CRLF
;


hm_int_t
hm_http_special_response_handler(hm_http_request_t *r, hm_int_t error)
{
    hm_uint_t                  i;
    hm_http_err_page_t        *err_page;
    hm_http_core_loc_conf_t   *clcf;

    r->err_status = error;

    if (r->keepalive) {
        switch (error) {
            case HM_HTTP_BAD_REQUEST:
            case HM_HTTP_REQUEST_ENTITY_TOO_LARGE:
            case HM_HTTP_REQUEST_URI_TOO_LARGE:
            case HM_HTTP_REQUEST_HEADER_TOO_LARGE:
            case HM_HTTP_NOT_IMPLEMENTED:
            case HM_HTTP_VERSION_NOT_SUPPORTED:
            case HM_HTTP_INTERNAL_SERVER_ERROR:
            case HM_HTTP_REQUEST_TIME_OUT:
                r->keepalive = 0;
        }
    }

    if (r->header_sent) {
        /* too late for a page: close the connection */
        r->keepalive = 0;
        r->connection->error = 1;
        return HM_ERROR;
    }

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (!r->error_page && clcf->error_pages && r->uri_changes != 0) {

        err_page = clcf->error_pages->elts;

        for (i = 0; i < clcf->error_pages->nelts; i++) {
            if (err_page[i].status == error) {
                return hm_http_send_error_page(r, &err_page[i]);
            }
        }
    }

    r->expect_tested = 1;

    if (hm_http_discard_request_body(r) != HM_OK) {
        r->keepalive = 0;
    }

    return hm_http_send_special_response(r, clcf, error);
}


static hm_int_t
hm_http_send_error_page(hm_http_request_t *r, hm_http_err_page_t *err_page)
{
    hm_int_t          overwrite;
    hm_str_t          uri, args;
    hm_table_elt_t   *location;

    overwrite = err_page->overwrite;

    if (overwrite && overwrite != HM_HTTP_OK) {
        r->expect_tested = 1;
    }

    if (overwrite >= 0) {
        r->err_status = overwrite;
    }

    if (hm_complex_value(r, r->pool, &err_page->value, &uri) != HM_OK) {
        return HM_ERROR;
    }

    if (uri.len && uri.data[0] == '/') {

        args = err_page->args;

        if (overwrite || r->method != HM_HTTP_HEAD) {
            r->method = HM_HTTP_GET;
            r->method_name = hm_http_core_get_method;
        }

        r->error_page = 1;

        return hm_http_internal_redirect(r, &uri, &args);
    }

    if (uri.len && uri.data[0] == '@') {
        hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                     "named locations in error_page are not supported: "
                     "\"%V\"", &uri);
        return HM_ERROR;
    }

    r->expect_tested = 1;

    if (hm_http_discard_request_body(r) != HM_OK) {
        r->keepalive = 0;
    }

    location = hm_http_add_response_header(r, "Location",
                                           sizeof("Location") - 1,
                                           uri.data, uri.len);
    if (location == NULL) {
        return HM_ERROR;
    }

    if (overwrite != HM_HTTP_MOVED_PERMANENTLY
        && overwrite != HM_HTTP_MOVED_TEMPORARILY
        && overwrite != HM_HTTP_SEE_OTHER
        && overwrite != HM_HTTP_TEMPORARY_REDIRECT
        && overwrite != HM_HTTP_PERMANENT_REDIRECT)
    {
        r->err_status = HM_HTTP_MOVED_TEMPORARILY;
    }

    hm_http_clear_location(r);

    r->headers_out.location = location;

    return hm_http_send_special_response(r,
                 hm_http_get_module_loc_conf(r, hm_http_core_module),
                 r->err_status);
}


static hm_int_t
hm_http_send_special_response(hm_http_request_t *r,
    hm_http_core_loc_conf_t *clcf, hm_uint_t err)
{
    u_char       *tail;
    size_t        len;
    hm_int_t      rc;
    hm_buf_t     *b;
    hm_str_t     *line;
    hm_chain_t    out;
    u_char        head[128];

    if (clcf->server_tokens == HM_HTTP_SERVER_TOKENS_ON) {
        len = sizeof(hm_http_error_tail) - 1;
        tail = (u_char *) hm_http_error_tail;

    } else {
        len = sizeof(hm_http_error_build_tail) - 1;
        tail = (u_char *) hm_http_error_build_tail;
    }

    r->headers_out.status = r->err_status ? r->err_status : err;
    r->err_status = 0;

    line = hm_http_status_line(r->headers_out.status);

    if (line == NULL
        || (r->headers_out.status < HM_HTTP_BAD_REQUEST
            && r->headers_out.status != HM_HTTP_MOVED_PERMANENTLY
            && r->headers_out.status != HM_HTTP_MOVED_TEMPORARILY
            && r->headers_out.status != HM_HTTP_SEE_OTHER
            && r->headers_out.status != HM_HTTP_TEMPORARY_REDIRECT
            && r->headers_out.status != HM_HTTP_PERMANENT_REDIRECT))
    {
        /* no page for it: a header alone */

        r->header_only = 1;
        hm_str_null(&r->headers_out.content_type);
        r->headers_out.content_length_n = 0;

        hm_http_clear_last_modified(r);
        hm_http_clear_etag(r);

        rc = hm_http_send_header(r);

        if (rc == HM_ERROR || r->header_only) {
            return rc;
        }
    }

    b = hm_create_temp_buf(r->pool, sizeof(head) + 2 * line->len + len);
    if (b == NULL) {
        return HM_ERROR;
    }

    b->last = hm_sprintf(b->last,
                         "<html>" CRLF
                         "<head><title>%V</title></head>" CRLF
                         "<body>" CRLF
                         "<center><h1>%V</h1></center>" CRLF,
                         line, line);
    b->last = hm_cpymem(b->last, tail, len);
    b->last_buf = 1;

    hm_str_set(&r->headers_out.content_type, "text/html");
    r->headers_out.content_length_n = b->last - b->pos;

    hm_http_clear_accept_ranges(r);
    hm_http_clear_last_modified(r);
    hm_http_clear_etag(r);

    rc = hm_http_send_header(r);

    if (rc == HM_ERROR || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return hm_http_output_filter(r, &out);
}

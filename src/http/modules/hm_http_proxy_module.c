/*
 * Copyright (C) hermod authors
 *
 * proxy_pass to HTTP/1.x upstreams, plain or TLS, with nginx's directive
 * names and URI replacement rules.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


typedef struct {
    hm_str_t                   key;
    hm_complex_value_t         value;
} hm_http_proxy_header_t;


typedef struct {
    hm_http_upstream_conf_t    upstream;

    hm_str_t                   url;
    hm_str_t                   host;       /* $proxy_host */
    hm_str_t                   port;       /* $proxy_port */
    hm_str_t                   uri;        /* the URI part of proxy_pass */
    hm_str_t                   location;   /* the location's name */
    unsigned                   has_uri:1;
    unsigned                   https:1;

    hm_array_t                *headers;    /* hm_http_proxy_header_t */
    hm_array_t                *headers_source;

    hm_uint_t                  http_version;

    hm_uint_t                  ssl_protocols;
    hm_str_t                   ssl_trusted_certificate;
    hm_str_t                   ssl_certificate;
    hm_str_t                   ssl_certificate_key;
    hm_int_t                   ssl_verify_depth;

    hm_conf_location_t         where;

    void                      *spare[4];
} hm_http_proxy_loc_conf_t;


static hm_int_t hm_http_proxy_handler(hm_http_request_t *r);
static hm_int_t hm_http_proxy_create_request(hm_http_request_t *r);
static hm_int_t hm_http_proxy_reinit_request(hm_http_request_t *r);
static void *hm_http_proxy_create_loc_conf(hm_conf_t *cf);
static char *hm_http_proxy_merge_loc_conf(hm_conf_t *cf, void *parent,
    void *child);
static char *hm_http_proxy_pass(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_proxy_set_header(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_proxy_http_version(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static hm_int_t hm_http_proxy_add_variables(hm_conf_t *cf);
static hm_int_t hm_http_proxy_init_headers(hm_conf_t *cf,
    hm_http_proxy_loc_conf_t *plcf);


static hm_conf_num_bounds_t  hm_http_proxy_tries_bounds = {
    hm_conf_check_num_bounds, 0, 1000
};


static hm_command_t  hm_http_proxy_commands[] = {

    { hm_string("proxy_pass"),
      HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_http_proxy_pass,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "http://upstream_or_host:port[/uri] or https://...: where to proxy." },

    { hm_string("proxy_set_header"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE2,
      hm_http_proxy_set_header,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "name value: a request header sent upstream; \"\" removes it." },

    { hm_string("proxy_hide_header"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_array_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.hide_headers),
      NULL,
      "A response header of the upstream not passed to the client." },

    { hm_string("proxy_pass_header"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_array_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.pass_headers),
      NULL,
      "A response header passed that is hidden by default (Server, Date)." },

    { hm_string("proxy_http_version"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_http_proxy_http_version,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "1.0 | 1.1: the HTTP version spoken to upstreams." },

    { hm_string("proxy_connect_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.connect_timeout),
      NULL,
      "How long connecting to an upstream server may take." },

    { hm_string("proxy_send_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.send_timeout),
      NULL,
      "How long between two writes of the request to the upstream." },

    { hm_string("proxy_read_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.read_timeout),
      NULL,
      "How long between two reads of the response from the upstream." },

    { hm_string("proxy_next_upstream"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_1MORE,
      hm_conf_set_bitmask_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.next_upstream),
      &hm_http_upstream_next_upstream_masks,
      "When to try the next server: error timeout http_502 ... | off." },

    { hm_string("proxy_next_upstream_tries"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.next_upstream_tries),
      &hm_http_proxy_tries_bounds,
      "The most servers one request is tried on; 0 = no limit." },

    { hm_string("proxy_next_upstream_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.next_upstream_timeout),
      NULL,
      "How long trying the next servers may take; 0 = no limit." },

    { hm_string("proxy_buffering"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.buffering),
      NULL,
      "off: pass each piece of the response at once, without waiting." },

    { hm_string("proxy_buffer_size"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_size_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.buffer_size),
      NULL,
      "The buffer for the response header and for its body." },

    { hm_string("proxy_buffers"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE2,
      hm_conf_set_bufs_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.bufs),
      NULL,
      "number size: memory for reading a response ahead of a slow client." },

    { hm_string("proxy_request_buffering"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.request_buffering),
      NULL,
      "off: stream the request body to the upstream as it arrives." },

    { hm_string("proxy_ignore_client_abort"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.ignore_client_abort),
      NULL,
      "Finish the upstream request when the client goes away." },

    { hm_string("proxy_ssl_server_name"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.ssl_server_name),
      NULL,
      "Send the upstream's name with SNI." },

    { hm_string("proxy_ssl_name"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_complex_value_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.ssl_name),
      (void *) HM_VAR_HTTP,
      "The name for SNI and for verifying the upstream's certificate." },

    { hm_string("proxy_ssl_verify"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, upstream.ssl_verify),
      NULL,
      "Verify the upstream's certificate and name." },

    { hm_string("proxy_ssl_verify_depth"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, ssl_verify_depth),
      NULL,
      "How deep the upstream's certificate chain may be." },

    { hm_string("proxy_ssl_trusted_certificate"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, ssl_trusted_certificate),
      NULL,
      "CA certificates the upstream's certificate is verified against." },

    { hm_string("proxy_ssl_certificate"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, ssl_certificate),
      NULL,
      "A client certificate presented to the upstream." },

    { hm_string("proxy_ssl_certificate_key"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, ssl_certificate_key),
      NULL,
      "The key of proxy_ssl_certificate." },

    { hm_string("proxy_ssl_protocols"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_1MORE,
      hm_conf_set_bitmask_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_proxy_loc_conf_t, ssl_protocols),
      &hm_ssl_protocol_names,
      "TLS versions offered to upstreams." },

      hm_null_command
};


static hm_http_module_t  hm_http_proxy_module_ctx = {
    hm_http_proxy_add_variables,           /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    hm_http_proxy_create_loc_conf,         /* create location configuration */
    hm_http_proxy_merge_loc_conf,          /* merge location configuration */

    { NULL, NULL, NULL, NULL }
};


hm_module_t  hm_http_proxy_module = {
    HM_MODULE_V1,
    &hm_http_proxy_module_ctx,             /* module context */
    hm_http_proxy_commands,                /* module directives */
    HM_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


/* request headers that never go upstream as the client sent them */

static hm_str_t  hm_http_proxy_skip_headers[] = {
    hm_string("Connection"),
    hm_string("Keep-Alive"),
    hm_string("Proxy-Connection"),
    hm_string("TE"),
    hm_string("Trailer"),
    hm_string("Transfer-Encoding"),
    hm_string("Upgrade"),
    hm_string("Content-Length"),
    hm_string("Expect"),
    hm_null_string
};


static hm_int_t
hm_http_proxy_handler(hm_http_request_t *r)
{
    hm_int_t                   rc;
    hm_http_upstream_t        *u;
    hm_http_proxy_loc_conf_t  *plcf;

    if (hm_http_upstream_create(r) != HM_OK) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    plcf = hm_http_get_module_loc_conf(r, hm_http_proxy_module);

    u = r->upstream;

    u->conf = &plcf->upstream;
    u->ssl = plcf->https;
    u->create_request = hm_http_proxy_create_request;
    u->reinit_request = hm_http_proxy_reinit_request;

    if (plcf->https) {
        hm_str_set(&u->schema, "https://");

    } else {
        hm_str_set(&u->schema, "http://");
    }

    r->request_body_no_buffering = !plcf->upstream.request_buffering;

    /* a chunked body streams only to an HTTP/1.1 upstream */

    if (r->headers_in.chunked && plcf->http_version == HM_HTTP_VERSION_10) {
        r->request_body_no_buffering = 0;
    }

    rc = hm_http_read_client_request_body(r, hm_http_upstream_init);

    if (rc >= HM_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return HM_DONE;
}


/* the URI as it goes upstream */

static hm_int_t
hm_http_proxy_uri(hm_http_request_t *r, hm_http_proxy_loc_conf_t *plcf,
    hm_str_t *uri)
{
    u_char  *p;
    size_t   loc_len, len, i;

    if (!plcf->has_uri || r->internal) {

        /* the request line's URI, as the client sent it */

        if (r->internal) {
            goto rebuild;
        }

        *uri = r->unparsed_uri;
        return HM_OK;
    }

rebuild:

    loc_len = (plcf->has_uri && r->uri.len >= plcf->location.len)
              ? plcf->location.len : 0;

    /* escaping for what the normalised path may hold */

    len = plcf->uri.len + 3 * (r->uri.len - loc_len) + 1 + r->args.len;

    uri->data = hm_pnalloc(r->pool, len);
    if (uri->data == NULL) {
        return HM_ERROR;
    }

    p = hm_cpymem(uri->data, plcf->uri.data, plcf->uri.len);

    for (i = loc_len; i < r->uri.len; i++) {
        u_char  ch = r->uri.data[i];

        if (ch <= 0x20 || ch >= 0x7f || ch == '%' || ch == '?' || ch == '#'
            || ch == '"')
        {
            p = hm_sprintf(p, "%%%02Xd", (int) ch);
            continue;
        }

        *p++ = ch;
    }

    if (r->args.len) {
        *p++ = '?';
        p = hm_cpymem(p, r->args.data, r->args.len);
    }

    uri->len = p - uri->data;

    return HM_OK;
}


static hm_uint_t
hm_http_proxy_is_set(hm_http_proxy_loc_conf_t *plcf, hm_str_t *name)
{
    hm_uint_t                i;
    hm_http_proxy_header_t  *h;

    h = plcf->headers->elts;

    for (i = 0; i < plcf->headers->nelts; i++) {
        if (h[i].key.len == name->len
            && hm_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static hm_int_t
hm_http_proxy_create_request(hm_http_request_t *r)
{
    u_char                    *p;
    size_t                     len;
    hm_str_t                   uri, *skip, *method;
    hm_buf_t                  *b;
    hm_uint_t                  i, n, chunked, upgrade, has_body;
    hm_chain_t                *cl, *body;
    hm_str_t                  *values;
    hm_list_part_t            *part;
    hm_table_elt_t            *h;
    hm_http_upstream_t        *u;
    hm_http_proxy_header_t    *ph;
    hm_http_proxy_loc_conf_t  *plcf;

    u = r->upstream;
    plcf = hm_http_get_module_loc_conf(r, hm_http_proxy_module);

    if (hm_http_proxy_uri(r, plcf, &uri) != HM_OK) {
        return HM_ERROR;
    }

    method = &r->method_name;

    upgrade = (r->headers_in.upgrade != NULL
               && r->http_version >= HM_HTTP_VERSION_11
               && plcf->http_version == HM_HTTP_VERSION_11);

    {
        hm_str_t  up = hm_string("Upgrade");

        if (upgrade && hm_http_proxy_is_set(plcf, &up)) {

            /* nginx-style "proxy_set_header Upgrade/Connection": theirs */

            upgrade = 0;
        }
    }

    chunked = (r->request_body_no_buffering && r->headers_in.chunked);
    u->request_body_chunked = chunked;

    /* the header values first: a value evaluated to "" drops the header */

    ph = plcf->headers->elts;

    values = hm_pcalloc(r->pool, plcf->headers->nelts * sizeof(hm_str_t));
    if (values == NULL) {
        return HM_ERROR;
    }

    len = method->len + 1 + uri.len + sizeof(" HTTP/1.x" CRLF) - 1
          + sizeof(CRLF) - 1;

    for (i = 0; i < plcf->headers->nelts; i++) {

        if (upgrade && ph[i].key.len == sizeof("Connection") - 1
            && hm_strncasecmp(ph[i].key.data, (u_char *) "Connection", 10)
               == 0)
        {
            continue;
        }

        if (hm_complex_value(r, r->pool, &ph[i].value, &values[i]) != HM_OK)
        {
            return HM_ERROR;
        }

        if (values[i].len) {
            len += ph[i].key.len + 2 + values[i].len + 2;
        }
    }

    if (upgrade) {
        len += sizeof("Connection: upgrade" CRLF) - 1
               + sizeof("Upgrade: ") - 1
               + r->headers_in.upgrade->value.len + 2;
    }

    has_body = (r->headers_in.content_length_n >= 0
                || r->headers_in.chunked);

    if (r->request_body && !r->request_body_no_buffering && has_body) {
        len += sizeof("Content-Length: " CRLF) - 1 + HM_INT64_LEN;

    } else if (r->request_body_no_buffering
               && r->headers_in.content_length_n >= 0)
    {
        len += sizeof("Content-Length: " CRLF) - 1 + HM_INT64_LEN;

    } else if (chunked) {
        len += sizeof("Transfer-Encoding: chunked" CRLF) - 1;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        len += h[i].key.len + 2 + h[i].value.len + 2;
    }

    b = hm_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return HM_ERROR;
    }

    p = hm_cpymem(b->last, method->data, method->len);
    *p++ = ' ';
    p = hm_cpymem(p, uri.data, uri.len);

    p = (plcf->http_version == HM_HTTP_VERSION_11)
        ? hm_cpymem(p, " HTTP/1.1" CRLF, sizeof(" HTTP/1.1" CRLF) - 1)
        : hm_cpymem(p, " HTTP/1.0" CRLF, sizeof(" HTTP/1.0" CRLF) - 1);

    for (i = 0; i < plcf->headers->nelts; i++) {
        if (values[i].len == 0) {
            continue;
        }

        p = hm_cpymem(p, ph[i].key.data, ph[i].key.len);
        *p++ = ':'; *p++ = ' ';
        p = hm_cpymem(p, values[i].data, values[i].len);
        *p++ = CR; *p++ = LF;
    }

    if (upgrade) {
        p = hm_cpymem(p, "Connection: upgrade" CRLF,
                      sizeof("Connection: upgrade" CRLF) - 1);
        p = hm_cpymem(p, "Upgrade: ", sizeof("Upgrade: ") - 1);
        p = hm_cpymem(p, r->headers_in.upgrade->value.data,
                      r->headers_in.upgrade->value.len);
        *p++ = CR; *p++ = LF;
    }

    body = NULL;

    if (r->request_body && !r->request_body_no_buffering && has_body) {
        body = hm_http_request_body_chain(r);
        p = hm_sprintf(p, "Content-Length: %O" CRLF, hm_chain_size(body));

    } else if (r->request_body_no_buffering
               && r->headers_in.content_length_n >= 0)
    {
        p = hm_sprintf(p, "Content-Length: %O" CRLF,
                       r->headers_in.content_length_n);

    } else if (chunked) {
        p = hm_cpymem(p, "Transfer-Encoding: chunked" CRLF,
                      sizeof("Transfer-Encoding: chunked" CRLF) - 1);
    }

    /* the client's headers, but those replaced or hop-by-hop */

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        for (skip = hm_http_proxy_skip_headers; skip->len; skip++) {
            if (skip->len == h[i].key.len
                && hm_strncasecmp(skip->data, h[i].key.data, skip->len) == 0)
            {
                break;
            }
        }

        if (skip->len) {
            continue;
        }

        if (hm_http_proxy_is_set(plcf, &h[i].key)) {
            continue;
        }

        p = hm_cpymem(p, h[i].key.data, h[i].key.len);
        *p++ = ':'; *p++ = ' ';
        p = hm_cpymem(p, h[i].value.data, h[i].value.len);
        *p++ = CR; *p++ = LF;
    }

    *p++ = CR; *p++ = LF;

    b->last = p;

    cl = hm_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return HM_ERROR;
    }

    cl->buf = b;
    cl->next = body;

    /* the body may be sent more than once (next upstream): shadow copies */

    for (cl = cl->next, n = 0; cl; cl = cl->next, n++) {
        cl->buf->start = cl->buf->pos;
    }

    u->request_bufs = hm_alloc_chain_link(r->pool);
    if (u->request_bufs == NULL) {
        return HM_ERROR;
    }

    u->request_bufs->buf = b;
    u->request_bufs->next = body;

    b->start = b->pos;

    return HM_OK;
}


static hm_int_t
hm_http_proxy_reinit_request(hm_http_request_t *r)
{
    return HM_OK;
}


/* $proxy_host, $proxy_port, $proxy_add_x_forwarded_for */

static hm_int_t
hm_http_proxy_host_variable(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    hm_str_t                  *s;
    hm_http_proxy_loc_conf_t  *plcf;

    plcf = hm_http_get_module_loc_conf(r, hm_http_proxy_module);

    s = data ? &plcf->port : &plcf->host;

    if (s->len == 0) {
        v->not_found = 1;
        return HM_OK;
    }

    v->data = s->data;
    v->len = s->len;
    v->valid = 1;

    return HM_OK;
}


static hm_int_t
hm_http_proxy_add_x_forwarded_for_variable(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    u_char          *p;
    size_t           len;
    hm_table_elt_t  *h, *xfwd;

    v->valid = 1;

    xfwd = r->headers_in.x_forwarded_for;

    len = 0;

    for (h = xfwd; h; h = h->next) {
        len += h->value.len + sizeof(", ") - 1;
    }

    if (len == 0) {
        v->len = r->connection->addr_text.len;
        v->data = r->connection->addr_text.data;
        return HM_OK;
    }

    len += r->connection->addr_text.len;

    p = hm_pnalloc(pool, len);
    if (p == NULL) {
        return HM_ERROR;
    }

    v->len = len;
    v->data = p;

    for (h = xfwd; h; h = h->next) {
        p = hm_cpymem(p, h->value.data, h->value.len);
        *p++ = ','; *p++ = ' ';
    }

    hm_memcpy(p, r->connection->addr_text.data, r->connection->addr_text.len);

    return HM_OK;
}


static hm_variable_t  hm_http_proxy_vars[] = {

    { hm_string("proxy_host"), hm_http_proxy_host_variable, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("proxy_port"), hm_http_proxy_host_variable, 1,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("proxy_add_x_forwarded_for"),
      hm_http_proxy_add_x_forwarded_for_variable, 0, HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
};


static hm_int_t
hm_http_proxy_add_variables(hm_conf_t *cf)
{
    return hm_add_variables(cf->cycle, hm_http_proxy_vars);
}


static void *
hm_http_proxy_create_loc_conf(hm_conf_t *cf)
{
    hm_http_proxy_loc_conf_t  *conf;

    conf = hm_pcalloc(cf->pool, sizeof(hm_http_proxy_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->upstream.connect_timeout = HM_CONF_UNSET_MSEC;
    conf->upstream.send_timeout = HM_CONF_UNSET_MSEC;
    conf->upstream.read_timeout = HM_CONF_UNSET_MSEC;
    conf->upstream.next_upstream_timeout = HM_CONF_UNSET_MSEC;
    conf->upstream.next_upstream_tries = HM_CONF_UNSET_UINT;
    conf->upstream.buffer_size = HM_CONF_UNSET_SIZE;
    conf->upstream.buffering = HM_CONF_UNSET;
    conf->upstream.request_buffering = HM_CONF_UNSET;
    conf->upstream.ignore_client_abort = HM_CONF_UNSET;
    conf->upstream.hide_headers = HM_CONF_UNSET_PTR;
    conf->upstream.pass_headers = HM_CONF_UNSET_PTR;
    conf->upstream.ssl_server_name = HM_CONF_UNSET;
    conf->upstream.ssl_verify = HM_CONF_UNSET;
    conf->upstream.ssl_name = HM_CONF_UNSET_PTR;
    conf->headers_source = HM_CONF_UNSET_PTR;
    conf->http_version = HM_CONF_UNSET_UINT;
    conf->ssl_verify_depth = HM_CONF_UNSET;

    hm_conf_location(cf, &conf->where);

    return conf;
}


static char *
hm_http_proxy_merge_loc_conf(hm_conf_t *cf, void *parent, void *child)
{
    hm_http_proxy_loc_conf_t *prev = parent;
    hm_http_proxy_loc_conf_t *conf = child;

    hm_str_t                  *s;
    hm_uint_t                  i;
    hm_http_core_loc_conf_t   *clcf;

    hm_conf_merge_msec_value(conf->upstream.connect_timeout,
                             prev->upstream.connect_timeout, 60000);
    hm_conf_merge_msec_value(conf->upstream.send_timeout,
                             prev->upstream.send_timeout, 60000);
    hm_conf_merge_msec_value(conf->upstream.read_timeout,
                             prev->upstream.read_timeout, 60000);
    hm_conf_merge_msec_value(conf->upstream.next_upstream_timeout,
                             prev->upstream.next_upstream_timeout, 0);
    hm_conf_merge_uint_value(conf->upstream.next_upstream_tries,
                             prev->upstream.next_upstream_tries, 0);
    hm_conf_merge_size_value(conf->upstream.buffer_size,
                             prev->upstream.buffer_size,
                             (size_t) 2 * hm_pagesize);
    hm_conf_merge_value(conf->upstream.buffering,
                        prev->upstream.buffering, 1);

    if (conf->upstream.bufs.num == 0) {
        if (prev->upstream.bufs.num) {
            conf->upstream.bufs = prev->upstream.bufs;

        } else {
            conf->upstream.bufs.num = 8;
            conf->upstream.bufs.size = hm_pagesize;
        }
    }
    hm_conf_merge_value(conf->upstream.request_buffering,
                        prev->upstream.request_buffering, 1);
    hm_conf_merge_value(conf->upstream.ignore_client_abort,
                        prev->upstream.ignore_client_abort, 0);
    hm_conf_merge_value(conf->upstream.ssl_server_name,
                        prev->upstream.ssl_server_name, 0);
    hm_conf_merge_value(conf->upstream.ssl_verify,
                        prev->upstream.ssl_verify, 0);
    hm_conf_merge_ptr_value(conf->upstream.ssl_name,
                            prev->upstream.ssl_name, NULL);
    hm_conf_merge_uint_value(conf->http_version, prev->http_version,
                             HM_HTTP_VERSION_10);
    hm_conf_merge_value(conf->ssl_verify_depth, prev->ssl_verify_depth, 1);
    hm_conf_merge_str_value(conf->ssl_trusted_certificate,
                            prev->ssl_trusted_certificate, "");
    hm_conf_merge_str_value(conf->ssl_certificate,
                            prev->ssl_certificate, "");
    hm_conf_merge_str_value(conf->ssl_certificate_key,
                            prev->ssl_certificate_key, "");
    if (conf->ssl_protocols == 0) {
        conf->ssl_protocols = prev->ssl_protocols ? prev->ssl_protocols
                                                  : HM_SSL_DEFAULT_PROTOCOLS;
    }

    if (conf->upstream.next_upstream == 0) {
        conf->upstream.next_upstream = prev->upstream.next_upstream
                                       ? prev->upstream.next_upstream
                                       : (HM_HTTP_UPSTREAM_FT_ERROR
                                          |HM_HTTP_UPSTREAM_FT_TIMEOUT);
    }

    if (conf->upstream.next_upstream & HM_HTTP_UPSTREAM_FT_OFF) {
        conf->upstream.next_upstream = HM_HTTP_UPSTREAM_FT_OFF;
    }

    hm_conf_merge_ptr_value(conf->upstream.hide_headers,
                            prev->upstream.hide_headers, NULL);
    hm_conf_merge_ptr_value(conf->upstream.pass_headers,
                            prev->upstream.pass_headers, NULL);

    if (hm_hash_init(&conf->upstream.hide_headers_hash, cf->pool, 8, 1)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    if (conf->upstream.hide_headers) {
        s = conf->upstream.hide_headers->elts;

        for (i = 0; i < conf->upstream.hide_headers->nelts; i++) {
            if (hm_hash_add(&conf->upstream.hide_headers_hash, &s[i], &s[i])
                == HM_ERROR)
            {
                return HM_CONF_ERROR;
            }
        }
    }

    if (conf->upstream.upstream == NULL) {
        conf->upstream.upstream = prev->upstream.upstream;
        conf->url = prev->url;
        conf->host = prev->host;
        conf->port = prev->port;
        conf->uri = prev->uri;
        conf->has_uri = prev->has_uri;
        conf->https = prev->https;
        conf->location = prev->location;
    }

    if (conf->headers_source == HM_CONF_UNSET_PTR) {
        conf->headers_source = prev->headers_source;
    }

    if (hm_http_proxy_init_headers(cf, conf) != HM_OK) {
        return HM_CONF_ERROR;
    }

    if (conf->https && conf->upstream.ssl == NULL) {

        if (prev->upstream.ssl && prev->upstream.upstream
            == conf->upstream.upstream)
        {
            conf->upstream.ssl = prev->upstream.ssl;

        } else {
            hm_pool_cleanup_t  *cln;

            conf->upstream.ssl = hm_pcalloc(cf->pool, sizeof(hm_ssl_t));
            if (conf->upstream.ssl == NULL) {
                return HM_CONF_ERROR;
            }

            conf->upstream.ssl->log = cf->log;

            if (hm_ssl_create(conf->upstream.ssl, conf->ssl_protocols, NULL)
                != HM_OK)
            {
                return HM_CONF_ERROR;
            }

            cln = hm_pool_cleanup_add(cf->pool, 0);
            if (cln == NULL) {
                return HM_CONF_ERROR;
            }

            cln->handler = hm_ssl_cleanup_ctx;
            cln->data = conf->upstream.ssl;

            if (conf->ssl_certificate.len) {
                if (conf->ssl_certificate_key.len == 0) {
                    hm_log_error_at(HM_LOG_EMERG, cf->log, &conf->where,
                                    "no \"proxy_ssl_certificate_key\" for "
                                    "\"proxy_ssl_certificate\"");
                    return HM_CONF_ERROR;
                }

                if (hm_ssl_certificate(cf, conf->upstream.ssl,
                                       &conf->ssl_certificate,
                                       &conf->ssl_certificate_key, NULL)
                    != HM_OK)
                {
                    return HM_CONF_ERROR;
                }
            }

            if (conf->upstream.ssl_verify) {
                if (conf->ssl_trusted_certificate.len == 0) {
                    hm_log_error_at(HM_LOG_EMERG, cf->log, &conf->where,
                                    "no proxy_ssl_trusted_certificate for "
                                    "proxy_ssl_verify");
                    return HM_CONF_ERROR;
                }

                if (hm_ssl_trusted_certificate(cf, conf->upstream.ssl,
                                               &conf->ssl_trusted_certificate,
                                               conf->ssl_verify_depth)
                    != HM_OK)
                {
                    return HM_CONF_ERROR;
                }
            }
        }
    }

    clcf = hm_http_conf_get_module_loc_conf(cf, hm_http_core_module);

    if (clcf->handler == NULL && conf->upstream.upstream
        && clcf->name.len && !clcf->regex)
    {
        /* a nested location inherits the proxy_pass of its parent */
    }

    return HM_CONF_OK;
}


static hm_int_t
hm_http_proxy_init_headers(hm_conf_t *cf, hm_http_proxy_loc_conf_t *conf)
{
    hm_uint_t                i, j;
    hm_keyval_t             *src;
    hm_http_proxy_header_t  *h;

    static hm_keyval_t  defaults[] = {
        { hm_string("Host"), hm_string("$proxy_host") },
        { hm_string("Connection"), hm_string("close") },
        { hm_null_string, hm_null_string }
    };

    conf->headers = hm_array_create(cf->pool, 4,
                                    sizeof(hm_http_proxy_header_t));
    if (conf->headers == NULL) {
        return HM_ERROR;
    }

    /* the defaults, unless the configuration sets the same names */

    for (i = 0; defaults[i].key.len; i++) {

        if (conf->headers_source && conf->headers_source != HM_CONF_UNSET_PTR)
        {
            src = conf->headers_source->elts;

            for (j = 0; j < conf->headers_source->nelts; j++) {
                if (src[j].key.len == defaults[i].key.len
                    && hm_strncasecmp(src[j].key.data, defaults[i].key.data,
                                      src[j].key.len) == 0)
                {
                    break;
                }
            }

            if (j < conf->headers_source->nelts) {
                continue;
            }
        }

        h = hm_array_push(conf->headers);
        if (h == NULL) {
            return HM_ERROR;
        }

        h->key = defaults[i].key;

        if (hm_complex_value_compile(cf, &defaults[i].value, HM_VAR_HTTP,
                                     &h->value)
            != HM_OK)
        {
            return HM_ERROR;
        }
    }

    if (conf->headers_source == NULL
        || conf->headers_source == HM_CONF_UNSET_PTR)
    {
        return HM_OK;
    }

    src = conf->headers_source->elts;

    for (i = 0; i < conf->headers_source->nelts; i++) {

        h = hm_array_push(conf->headers);
        if (h == NULL) {
            return HM_ERROR;
        }

        h->key = src[i].key;

        if (hm_complex_value_compile(cf, &src[i].value, HM_VAR_HTTP,
                                     &h->value)
            != HM_OK)
        {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


static char *
hm_http_proxy_pass(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_proxy_loc_conf_t *plcf = conf;

    size_t                     add;
    u_char                    *p, *host_end;
    hm_url_t                   u;
    hm_str_t                  *value, *url;
    hm_http_core_loc_conf_t   *clcf;

    if (plcf->upstream.upstream) {
        return "is duplicate";
    }

    clcf = hm_http_conf_get_module_loc_conf(cf, hm_http_core_module);

    clcf->handler = hm_http_proxy_handler;

    value = cf->args->elts;
    url = &value[1];

    if (hm_strchr(url->data, '$')) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "variables in \"proxy_pass\" are not supported");
        return HM_CONF_ERROR;
    }

    if (hm_strncasecmp(url->data, (u_char *) "http://", 7) == 0) {
        add = 7;

    } else if (hm_strncasecmp(url->data, (u_char *) "https://", 8) == 0) {
        add = 8;
        plcf->https = 1;

    } else {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "invalid URL prefix");
        return HM_CONF_ERROR;
    }

    hm_memzero(&u, sizeof(hm_url_t));

    /* host[:port][/uri] */

    host_end = url->data + add;

    while (host_end < url->data + url->len && *host_end != '/') {
        host_end++;
    }

    u.url.data = url->data + add;
    u.url.len = host_end - (url->data + add);
    u.default_port = plcf->https ? 443 : 80;

    /* an upstream name is not resolved: "upstream" blocks may name it */

    p = hm_strlchr(u.url.data, u.url.data + u.url.len, ':');

    u.host.data = u.url.data;
    u.host.len = p ? (size_t) (p - u.url.data) : u.url.len;

    if (p == NULL) {
        u.no_port = 1;
    }

    {
        hm_url_t  ru = u;

        ru.no_resolve = 0;

        if (hm_parse_url(cf->pool, &ru) == HM_OK) {
            u = ru;

        } else {
            /* not resolvable now: an "upstream" block must define it */
            u.no_resolve = 1;
            u.naddrs = 0;
            u.err = NULL;

            if (p) {
                hm_int_t  port = hm_atoi(p + 1, u.url.data + u.url.len
                                                - p - 1);

                if (port < 1 || port > 65535) {
                    hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                      "invalid port in \"%V\"", url);
                    return HM_CONF_ERROR;
                }

                u.port = (in_port_t) port;
            }
        }
    }

    plcf->upstream.upstream = hm_http_upstream_add(cf, &u, 1);
    if (plcf->upstream.upstream == NULL) {
        return HM_CONF_ERROR;
    }

    plcf->url = *url;
    plcf->host = u.url;

    if (p) {
        plcf->port.data = p + 1;
        plcf->port.len = u.url.data + u.url.len - p - 1;

    } else if (plcf->https) {
        hm_str_set(&plcf->port, "443");

    } else {
        hm_str_set(&plcf->port, "80");
    }

    if (host_end < url->data + url->len) {

        if (clcf->regex) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "\"proxy_pass\" cannot have URI part in "
                              "location given by regular expression");
            return HM_CONF_ERROR;
        }

        plcf->uri.data = host_end;
        plcf->uri.len = url->data + url->len - host_end;
        plcf->has_uri = 1;
    }

    plcf->location = clcf->name;

    return HM_CONF_OK;
}


static char *
hm_http_proxy_set_header(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_proxy_loc_conf_t *plcf = conf;

    hm_str_t     *value;
    hm_keyval_t  *kv;

    if (plcf->headers_source == HM_CONF_UNSET_PTR) {
        plcf->headers_source = hm_array_create(cf->pool, 4,
                                               sizeof(hm_keyval_t));
        if (plcf->headers_source == NULL) {
            return HM_CONF_ERROR;
        }
    }

    kv = hm_array_push(plcf->headers_source);
    if (kv == NULL) {
        return HM_CONF_ERROR;
    }

    value = cf->args->elts;

    kv->key = value[1];
    kv->value = value[2];

    return HM_CONF_OK;
}


static char *
hm_http_proxy_http_version(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_proxy_loc_conf_t *plcf = conf;

    hm_str_t  *value;

    if (plcf->http_version != HM_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (hm_str_eq(&value[1], "1.0")) {
        plcf->http_version = HM_HTTP_VERSION_10;

    } else if (hm_str_eq(&value[1], "1.1")) {
        plcf->http_version = HM_HTTP_VERSION_11;

    } else {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid value \"%V\" in \"%V\" directive",
                          &value[1], &cmd->name);
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}



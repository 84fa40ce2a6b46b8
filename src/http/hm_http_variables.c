/*
 * Copyright (C) hermod authors
 *
 * The variables of an HTTP request, as nginx names them.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


static hm_int_t hm_http_variable_str(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_header(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_unknown_header_in(void *ctx,
    hm_pool_t *pool, hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_unknown_header_out(void *ctx,
    hm_pool_t *pool, hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_argument(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_cookie(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_host(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_remote_addr(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_remote_port(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_server_addr(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_server_port(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_scheme(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_request(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_server_name(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_content_length(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_status(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_body_bytes_sent(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_bytes_sent(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_request_time(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_request_id(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_request_length(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_connection(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_connection_requests(void *ctx,
    hm_pool_t *pool, hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_sent_content_type(void *ctx,
    hm_pool_t *pool, hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_sent_location(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);
static hm_int_t hm_http_variable_ssl(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data);


#define HM_HTTP_VAR_PROTOCOL  1
#define HM_HTTP_VAR_CIPHER    2
#define HM_HTTP_VAR_CLIENT_S  3
#define HM_HTTP_VAR_SNI       4


static hm_variable_t  hm_http_core_variables[] = {

    { hm_string("http_host"), hm_http_variable_header,
      offsetof(hm_http_request_t, headers_in.host), HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("http_user_agent"), hm_http_variable_header,
      offsetof(hm_http_request_t, headers_in.user_agent), HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("http_referer"), hm_http_variable_header,
      offsetof(hm_http_request_t, headers_in.referer), HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("content_type"), hm_http_variable_header,
      offsetof(hm_http_request_t, headers_in.content_type), HM_VAR_HTTP, 0,
      0, { NULL, NULL } },

    { hm_string("content_length"), hm_http_variable_content_length, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("host"), hm_http_variable_host, 0, HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("remote_addr"), hm_http_variable_remote_addr, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("remote_port"), hm_http_variable_remote_port, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("server_addr"), hm_http_variable_server_addr, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("server_port"), hm_http_variable_server_port, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("server_protocol"), hm_http_variable_str,
      offsetof(hm_http_request_t, http_protocol), HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("scheme"), hm_http_variable_scheme, 0, HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("request_uri"), hm_http_variable_str,
      offsetof(hm_http_request_t, unparsed_uri), HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("uri"), hm_http_variable_str,
      offsetof(hm_http_request_t, uri), HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("document_uri"), hm_http_variable_str,
      offsetof(hm_http_request_t, uri), HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("request"), hm_http_variable_request, 0, HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("request_method"), hm_http_variable_str,
      offsetof(hm_http_request_t, method_name), HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("args"), hm_http_variable_str,
      offsetof(hm_http_request_t, args), HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("query_string"), hm_http_variable_str,
      offsetof(hm_http_request_t, args), HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("server_name"), hm_http_variable_server_name, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("status"), hm_http_variable_status, 0, HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("body_bytes_sent"), hm_http_variable_body_bytes_sent, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("bytes_sent"), hm_http_variable_bytes_sent, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("request_time"), hm_http_variable_request_time, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("request_id"), hm_http_variable_request_id, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("request_length"), hm_http_variable_request_length, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("connection"), hm_http_variable_connection, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("connection_requests"),
      hm_http_variable_connection_requests, 0, HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("sent_http_content_type"),
      hm_http_variable_sent_content_type, 0, HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("sent_http_location"), hm_http_variable_sent_location, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("ssl_protocol"), hm_http_variable_ssl,
      HM_HTTP_VAR_PROTOCOL, HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("ssl_cipher"), hm_http_variable_ssl, HM_HTTP_VAR_CIPHER,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("ssl_client_s_dn"), hm_http_variable_ssl,
      HM_HTTP_VAR_CLIENT_S, HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("ssl_server_name"), hm_http_variable_ssl, HM_HTTP_VAR_SNI,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("http_"), hm_http_variable_unknown_header_in, 0,
      HM_VAR_HTTP, HM_VAR_PREFIX, 0, { NULL, NULL } },

    { hm_string("sent_http_"), hm_http_variable_unknown_header_out, 0,
      HM_VAR_HTTP, HM_VAR_PREFIX, 0, { NULL, NULL } },

    { hm_string("arg_"), hm_http_variable_argument, 0,
      HM_VAR_HTTP, HM_VAR_PREFIX, 0, { NULL, NULL } },

    { hm_string("cookie_"), hm_http_variable_cookie, 0,
      HM_VAR_HTTP, HM_VAR_PREFIX, 0, { NULL, NULL } },

    { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
};


hm_int_t
hm_http_variables_add_core_vars(hm_conf_t *cf)
{
    return hm_add_variables(cf->cycle, hm_http_core_variables);
}


static void
hm_http_var_set(hm_variable_value_t *v, u_char *data, size_t len)
{
    v->len = len;
    v->data = data;
    v->valid = 1;
    v->not_found = 0;
}


static hm_int_t
hm_http_variable_str(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_str_t  *s;

    s = (hm_str_t *) ((char *) ctx + data);

    if (s->data) {
        hm_http_var_set(v, s->data, s->len);

    } else {
        v->not_found = 1;
    }

    return HM_OK;
}


/* a known header; repeated headers are joined with ", " ("; " for Cookie) */

static hm_int_t
hm_http_variable_headers_joined(hm_pool_t *pool, hm_variable_value_t *v,
    hm_table_elt_t *h, char *sep)
{
    u_char          *p;
    size_t           len, slen;
    hm_table_elt_t  *th;

    if (h == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    if (h->next == NULL) {
        hm_http_var_set(v, h->value.data, h->value.len);
        return HM_OK;
    }

    slen = hm_strlen(sep);
    len = 0;

    for (th = h; th; th = th->next) {
        len += th->value.len + slen;
    }

    len -= slen;

    p = hm_pnalloc(pool, len);
    if (p == NULL) {
        return HM_ERROR;
    }

    hm_http_var_set(v, p, len);

    for (th = h; th; th = th->next) {
        p = hm_cpymem(p, th->value.data, th->value.len);

        if (th->next) {
            p = hm_cpymem(p, sep, slen);
        }
    }

    return HM_OK;
}


static hm_int_t
hm_http_variable_header(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_table_elt_t  *h;

    h = *(hm_table_elt_t **) ((char *) ctx + data);

    return hm_http_variable_headers_joined(pool, v, h, ", ");
}


/* "$http_x_forwarded_for": dashes in header names are underscores */

static hm_uint_t
hm_http_header_name_is(hm_table_elt_t *h, hm_str_t *var)
{
    u_char  ch;
    size_t  i;

    if (h->hash == 0 || h->key.len != var->len) {
        return 0;
    }

    for (i = 0; i < var->len; i++) {
        ch = h->key.data[i];

        if (ch >= 'A' && ch <= 'Z') {
            ch |= 0x20;

        } else if (ch == '-') {
            ch = '_';
        }

        if (hm_tolower(var->data[i]) != ch) {
            return 0;
        }
    }

    return 1;
}


static hm_int_t
hm_http_variable_unknown_header(hm_pool_t *pool, hm_variable_value_t *v,
    hm_str_t *var, hm_list_t *headers)
{
    u_char           *p;
    size_t            len;
    hm_uint_t         i, pass, found;
    hm_list_part_t   *part;
    hm_table_elt_t   *h;

    len = 0;
    found = 0;
    p = NULL;

    /* the first pass measures, the second copies "a, b" */

    for (pass = 0; pass < 2; pass++) {

        if (pass == 1) {
            if (found == 0) {
                v->not_found = 1;
                return HM_OK;
            }

            len -= 2;

            p = hm_pnalloc(pool, len);
            if (p == NULL) {
                return HM_ERROR;
            }

            hm_http_var_set(v, p, len);
            found = 0;
        }

        part = &headers->part;
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

            if (!hm_http_header_name_is(&h[i], var)) {
                continue;
            }

            if (pass == 0) {
                len += h[i].value.len + 2;
                found++;
                continue;
            }

            if (found++) {
                *p++ = ','; *p++ = ' ';
            }

            p = hm_cpymem(p, h[i].value.data, h[i].value.len);
        }
    }

    return HM_OK;
}


static hm_int_t
hm_http_variable_unknown_header_in(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    v->len = 0;

    return hm_http_variable_unknown_header(pool, v, (hm_str_t *) data,
                                           &r->headers_in.headers);
}


static hm_int_t
hm_http_variable_unknown_header_out(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    v->len = 0;

    return hm_http_variable_unknown_header(pool, v, (hm_str_t *) data,
                                           &r->headers_out.headers);
}


static hm_int_t
hm_http_variable_argument(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_http_request_t *r = ctx;
    hm_str_t          *name = (hm_str_t *) data;

    hm_str_t  value;

    if (hm_http_arg(&r->args, name->data, name->len, &value) != HM_OK) {
        v->not_found = 1;
        return HM_OK;
    }

    hm_http_var_set(v, value.data, value.len);

    return HM_OK;
}


static hm_int_t
hm_http_variable_cookie(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_http_request_t *r = ctx;
    hm_str_t          *name = (hm_str_t *) data;

    u_char          *p, *start, *end, *last;
    hm_table_elt_t  *h;

    for (h = r->headers_in.cookie; h; h = h->next) {

        p = h->value.data;
        last = p + h->value.len;

        while (p < last) {

            while (p < last && (*p == ' ' || *p == ';')) {
                p++;
            }

            start = p;

            while (p < last && *p != '=' && *p != ';') {
                p++;
            }

            end = p;

            if (p < last && *p == '=') {
                p++;
            }

            if ((size_t) (end - start) == name->len
                && hm_strncasecmp(start, name->data, name->len) == 0)
            {
                start = p;

                while (p < last && *p != ';') {
                    p++;
                }

                hm_http_var_set(v, start, p - start);
                return HM_OK;
            }

            while (p < last && *p != ';') {
                p++;
            }
        }
    }

    v->not_found = 1;

    return HM_OK;
}


static hm_int_t
hm_http_variable_host(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_http_request_t *r = ctx;

    hm_http_core_srv_conf_t  *cscf;

    if (r->headers_in.server.len) {
        hm_http_var_set(v, r->headers_in.server.data,
                        r->headers_in.server.len);

    } else {
        cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);
        hm_http_var_set(v, cscf->server_name.data, cscf->server_name.len);
    }

    return HM_OK;
}


static hm_int_t
hm_http_variable_remote_addr(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    hm_http_var_set(v, r->connection->addr_text.data,
                    r->connection->addr_text.len);

    return HM_OK;
}


static hm_int_t
hm_http_variable_port(hm_pool_t *pool, hm_variable_value_t *v,
    struct sockaddr *sa)
{
    u_char     *p;
    hm_uint_t   port;

    p = hm_pnalloc(pool, sizeof("65535") - 1);
    if (p == NULL) {
        return HM_ERROR;
    }

    port = hm_inet_get_port(sa);

    if (port == 0) {
        v->not_found = 1;
        return HM_OK;
    }

    hm_http_var_set(v, p, hm_sprintf(p, "%ui", port) - p);

    return HM_OK;
}


static hm_int_t
hm_http_variable_remote_port(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    return hm_http_variable_port(pool, v, r->connection->sockaddr);
}


static hm_int_t
hm_http_variable_server_addr(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    u_char  *p;

    p = hm_pnalloc(pool, HM_SOCKADDR_STRLEN);
    if (p == NULL) {
        return HM_ERROR;
    }

    hm_http_var_set(v, p, hm_sock_ntop(r->connection->local_sockaddr,
                                       r->connection->local_socklen, p,
                                       HM_SOCKADDR_STRLEN, 0));

    return HM_OK;
}


static hm_int_t
hm_http_variable_server_port(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    return hm_http_variable_port(pool, v, r->connection->local_sockaddr);
}


static hm_int_t
hm_http_variable_scheme(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_http_request_t *r = ctx;

    if (r->connection->ssl) {
        hm_http_var_set(v, (u_char *) "https", 5);

    } else {
        hm_http_var_set(v, (u_char *) "http", 4);
    }

    return HM_OK;
}


static hm_int_t
hm_http_variable_request(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_http_request_t *r = ctx;

    if (r->request_line.data == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    hm_http_var_set(v, r->request_line.data, r->request_line.len);

    return HM_OK;
}


static hm_int_t
hm_http_variable_server_name(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    hm_http_core_srv_conf_t  *cscf;

    cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);

    hm_http_var_set(v, cscf->server_name.data, cscf->server_name.len);

    return HM_OK;
}


static hm_int_t
hm_http_variable_number(hm_pool_t *pool, hm_variable_value_t *v, off_t n)
{
    u_char  *p;

    p = hm_pnalloc(pool, HM_INT64_LEN);
    if (p == NULL) {
        return HM_ERROR;
    }

    hm_http_var_set(v, p, hm_sprintf(p, "%O", n) - p);

    return HM_OK;
}


static hm_int_t
hm_http_variable_content_length(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    if (r->headers_in.content_length) {
        hm_http_var_set(v, r->headers_in.content_length->value.data,
                        r->headers_in.content_length->value.len);
        return HM_OK;
    }

    v->not_found = 1;

    return HM_OK;
}


static hm_int_t
hm_http_variable_status(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_http_request_t *r = ctx;

    hm_uint_t  status;
    u_char    *p;

    status = r->err_status ? r->err_status : r->headers_out.status;

    p = hm_pnalloc(pool, HM_INT_T_LEN);
    if (p == NULL) {
        return HM_ERROR;
    }

    hm_http_var_set(v, p, hm_sprintf(p, "%03ui", status) - p);

    return HM_OK;
}


static hm_int_t
hm_http_variable_body_bytes_sent(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    off_t  sent;

    sent = r->connection->sent - r->header_size;

    if (sent < 0) {
        sent = 0;
    }

    return hm_http_variable_number(pool, v, sent);
}


static hm_int_t
hm_http_variable_bytes_sent(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    return hm_http_variable_number(pool, v, r->connection->sent);
}


static hm_int_t
hm_http_variable_request_length(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    return hm_http_variable_number(pool, v, r->request_length);
}


static hm_int_t
hm_http_variable_request_time(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    u_char          *p;
    hm_time_t       *tp;
    hm_msec_int_t    ms;

    p = hm_pnalloc(pool, HM_INT64_LEN + 4);
    if (p == NULL) {
        return HM_ERROR;
    }

    tp = hm_timeofday();

    ms = (hm_msec_int_t)
             ((tp->sec - r->start_sec) * 1000 + (tp->msec - r->start_msec));
    ms = hm_max(ms, 0);

    hm_http_var_set(v, p, hm_sprintf(p, "%T.%03M", (time_t) ms / 1000,
                                     (hm_msec_t) (ms % 1000)) - p);

    return HM_OK;
}


hm_int_t
hm_http_request_id(hm_http_request_t *r, hm_str_t *id)
{
    static u_char     random[4096];
    static hm_uint_t  used = sizeof(random);

    if (!r->id_set) {

        /*
         * 128 random bits from the kernel, hex: unique across workers;
         * fetched 256 ids at a time, used once each
         */

        if (used == sizeof(random)) {
            if (hm_os_random(random, sizeof(random)) != HM_OK) {
                hm_log_error(HM_LOG_ERR, r->connection->log, hm_errno,
                             "getrandom() failed");
                return HM_ERROR;
            }

            used = 0;
        }

        (void) hm_hex_dump(r->id, random + used, 16);
        hm_memzero(random + used, 16);
        used += 16;

        r->id_set = 1;
    }

    id->data = r->id;
    id->len = 32;

    return HM_OK;
}


static hm_int_t
hm_http_variable_request_id(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_str_t  id;

    if (hm_http_request_id(ctx, &id) != HM_OK) {
        return HM_ERROR;
    }

    hm_http_var_set(v, id.data, id.len);

    return HM_OK;
}


static hm_int_t
hm_http_variable_connection(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    return hm_http_variable_number(pool, v, (off_t) r->connection->number);
}


static hm_int_t
hm_http_variable_connection_requests(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    return hm_http_variable_number(pool, v, (off_t) r->connection->requests);
}


static hm_int_t
hm_http_variable_sent_content_type(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    if (r->headers_out.content_type.len) {
        hm_http_var_set(v, r->headers_out.content_type.data,
                        r->headers_out.content_type.len);

    } else {
        v->not_found = 1;
    }

    return HM_OK;
}


static hm_int_t
hm_http_variable_sent_location(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    if (r->headers_out.location) {
        hm_http_var_set(v, r->headers_out.location->value.data,
                        r->headers_out.location->value.len);

    } else {
        v->not_found = 1;
    }

    return HM_OK;
}


static hm_int_t
hm_http_variable_ssl(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_http_request_t *r = ctx;

    hm_int_t          rc;
    hm_str_t          s;
    hm_connection_t  *c;

    c = r->connection;

    if (c->ssl == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    switch (data) {

    case HM_HTTP_VAR_PROTOCOL:
        rc = hm_ssl_get_protocol(c, pool, &s);
        break;

    case HM_HTTP_VAR_CIPHER:
        rc = hm_ssl_get_cipher_name(c, pool, &s);
        break;

    case HM_HTTP_VAR_CLIENT_S:
        rc = hm_ssl_get_subject_dn(c, pool, &s);
        break;

    default: /* HM_HTTP_VAR_SNI */
        rc = hm_ssl_get_server_name(c, pool, &s);
        break;
    }

    if (rc != HM_OK) {
        return rc;
    }

    if (s.len == 0) {
        v->not_found = 1;
        return HM_OK;
    }

    hm_http_var_set(v, s.data, s.len);

    return HM_OK;
}


hm_table_elt_t *
hm_http_find_header(hm_list_t *headers, u_char *lowcase, size_t len)
{
    hm_uint_t         i;
    hm_list_part_t   *part;
    hm_table_elt_t   *h;

    part = &headers->part;
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

        if (h[i].hash == 0 || h[i].key.len != len) {
            continue;
        }

        if (hm_strncasecmp(h[i].key.data, lowcase, len) == 0) {
            return &h[i];
        }
    }

    return NULL;
}

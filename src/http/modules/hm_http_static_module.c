/*
 * Copyright (C) hermod authors
 *
 * Static files: root/alias + URI, index files, sendfile() on plain
 * connections, bounded reads under TLS.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


static hm_int_t hm_http_static_handler(hm_http_request_t *r);
static hm_int_t hm_http_static_init(hm_conf_t *cf);
static hm_int_t hm_http_static_index(hm_http_request_t *r,
    hm_http_core_loc_conf_t *clcf);
static void hm_http_static_set_type(hm_http_request_t *r,
    hm_http_core_loc_conf_t *clcf);


static hm_http_module_t  hm_http_static_module_ctx = {
    NULL,                                  /* preconfiguration */
    hm_http_static_init,                   /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL,                                  /* merge location configuration */

    { NULL, NULL, NULL, NULL }
};


hm_module_t  hm_http_static_module = {
    HM_MODULE_V1,
    &hm_http_static_module_ctx,            /* module context */
    NULL,                                  /* module directives */
    HM_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static struct {
    hm_str_t  exten;
    hm_str_t  type;
} hm_http_static_types[] = {
    { hm_string("html"), hm_string("text/html") },
    { hm_string("htm"), hm_string("text/html") },
    { hm_string("css"), hm_string("text/css") },
    { hm_string("js"), hm_string("application/javascript") },
    { hm_string("json"), hm_string("application/json") },
    { hm_string("txt"), hm_string("text/plain") },
    { hm_string("xml"), hm_string("text/xml") },
    { hm_string("svg"), hm_string("image/svg+xml") },
    { hm_string("png"), hm_string("image/png") },
    { hm_string("jpg"), hm_string("image/jpeg") },
    { hm_string("jpeg"), hm_string("image/jpeg") },
    { hm_string("gif"), hm_string("image/gif") },
    { hm_string("ico"), hm_string("image/x-icon") },
    { hm_string("webp"), hm_string("image/webp") },
    { hm_string("pdf"), hm_string("application/pdf") },
    { hm_string("wasm"), hm_string("application/wasm") },
    { hm_string("woff2"), hm_string("font/woff2") },
    { hm_null_string, hm_null_string }
};


static hm_int_t
hm_http_static_handler(hm_http_request_t *r)
{
    u_char                    *last;
    size_t                     root;
    hm_fd_t                    fd;
    hm_err_t                   err;
    hm_int_t                   rc;
    hm_str_t                   path;
    hm_buf_t                  *b;
    hm_uint_t                  level;
    hm_chain_t                 out;
    hm_file_t                 *file;
    hm_file_info_t             fi;
    hm_pool_cleanup_t         *cln;
    hm_pool_cleanup_file_t    *clnf;
    hm_http_core_loc_conf_t   *clcf;

    if (!(r->method & (HM_HTTP_GET|HM_HTTP_HEAD|HM_HTTP_POST))) {
        return HM_HTTP_NOT_ALLOWED;
    }

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (r->uri.data[r->uri.len - 1] == '/') {
        return hm_http_static_index(r, clcf);
    }

    if (r->method & HM_HTTP_POST) {
        return HM_HTTP_NOT_ALLOWED;
    }

    last = hm_http_map_uri_to_path(r, &path, &root, 0);
    if (last == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    path.len = last - path.data;

    fd = hm_open_file(path.data, HM_FILE_RDONLY|HM_FILE_NONBLOCK,
                      HM_FILE_OPEN, 0);

    if (fd == HM_INVALID_FILE) {
        err = hm_errno;

        switch (err) {

        case HM_ENOENT:
        case HM_ENOTDIR:
        case HM_ENAMETOOLONG:
            level = HM_LOG_ERR;
            rc = HM_HTTP_NOT_FOUND;
            break;

        case HM_EACCES:
            level = HM_LOG_ERR;
            rc = HM_HTTP_FORBIDDEN;
            break;

        default:
            level = HM_LOG_CRIT;
            rc = HM_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        if (rc != HM_HTTP_NOT_FOUND || clcf->log_not_found) {
            hm_log_error(level, r->connection->log, err,
                         "open() \"%s\" failed", path.data);
        }

        return rc;
    }

    cln = hm_pool_cleanup_add(r->pool, sizeof(hm_pool_cleanup_file_t));
    if (cln == NULL) {
        (void) hm_close_file(fd);
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    clnf = cln->data;
    clnf->fd = fd;
    clnf->name = path.data;
    clnf->log = r->pool->log;
    cln->handler = hm_pool_cleanup_file;

    if (hm_fd_info(fd, &fi) == HM_FILE_ERROR) {
        hm_log_error(HM_LOG_CRIT, r->connection->log, hm_errno,
                     hm_fd_info_n " \"%s\" failed", path.data);
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (hm_is_dir(&fi)) {

        /* a directory without "/": redirect to the slashed URI */

        u_char          *location;
        hm_table_elt_t  *h;

        location = hm_pnalloc(r->pool, r->uri.len + 2 + r->args.len);
        if (location == NULL) {
            return HM_HTTP_INTERNAL_SERVER_ERROR;
        }

        last = hm_cpymem(location, r->uri.data, r->uri.len);
        *last++ = '/';

        if (r->args.len) {
            *last++ = '?';
            last = hm_cpymem(last, r->args.data, r->args.len);
        }

        hm_http_clear_location(r);

        h = hm_http_add_response_header(r, "Location", sizeof("Location") - 1,
                                        location, last - location);
        if (h == NULL) {
            return HM_HTTP_INTERNAL_SERVER_ERROR;
        }

        r->headers_out.location = h;

        return HM_HTTP_MOVED_PERMANENTLY;
    }

    if (!hm_is_file(&fi)) {
        hm_log_error(HM_LOG_CRIT, r->connection->log, 0,
                     "\"%s\" is not a regular file", path.data);
        return HM_HTTP_NOT_FOUND;
    }

    rc = hm_http_discard_request_body(r);

    if (rc != HM_OK) {
        return rc;
    }

    r->headers_out.status = HM_HTTP_OK;
    r->headers_out.content_length_n = hm_file_size(&fi);
    r->headers_out.last_modified_time = fi.st_mtime;

    hm_http_static_set_type(r, clcf);

    if (r->method == HM_HTTP_HEAD || hm_file_size(&fi) == 0) {
        r->header_only = 1;
    }

    rc = hm_http_send_header(r);

    if (rc == HM_ERROR || rc > HM_OK || r->header_only) {
        return rc;
    }

    file = hm_pcalloc(r->pool, sizeof(hm_file_t));
    if (file == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    file->fd = fd;
    file->name = path;
    file->log = r->connection->log;

    b = hm_calloc_buf(r->pool);
    if (b == NULL) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* "sendfile off": the file goes out through 64 KiB reads */

    r->main_filter_need_in_memory = !clcf->sendfile;

    b->file_pos = 0;
    b->file_last = hm_file_size(&fi);
    b->in_file = 1;
    b->last_buf = 1;
    b->file = file;

    out.buf = b;
    out.next = NULL;

    return hm_http_output_filter(r, &out);
}


static hm_int_t
hm_http_static_index(hm_http_request_t *r, hm_http_core_loc_conf_t *clcf)
{
    u_char          *last;
    size_t           root;
    hm_str_t         path, uri, *index, dflt;
    hm_uint_t        i, n;
    hm_file_info_t   fi;

    if (clcf->index) {
        index = clcf->index->elts;
        n = clcf->index->nelts;

    } else {
        hm_str_set(&dflt, "index.html");
        index = &dflt;
        n = 1;
    }

    for (i = 0; i < n; i++) {

        last = hm_http_map_uri_to_path(r, &path, &root, index[i].len + 1);
        if (last == NULL) {
            return HM_HTTP_INTERNAL_SERVER_ERROR;
        }

        last = hm_cpymem(last, index[i].data, index[i].len);
        *last = '\0';

        if (hm_file_info(path.data, &fi) == -1 || !hm_is_file(&fi)) {
            continue;
        }

        uri.len = r->uri.len + index[i].len;

        uri.data = hm_pnalloc(r->pool, uri.len);
        if (uri.data == NULL) {
            return HM_HTTP_INTERNAL_SERVER_ERROR;
        }

        last = hm_cpymem(uri.data, r->uri.data, r->uri.len);
        hm_memcpy(last, index[i].data, index[i].len);

        return hm_http_internal_redirect(r, &uri, &r->args);
    }

    return HM_DECLINED;
}


static void
hm_http_static_set_type(hm_http_request_t *r, hm_http_core_loc_conf_t *clcf)
{
    hm_uint_t  i;

    if (r->headers_out.content_type.len) {
        return;
    }

    if (r->exten.len == 0) {
        hm_http_set_exten(r);
    }

    for (i = 0; hm_http_static_types[i].exten.len; i++) {
        if (r->exten.len == hm_http_static_types[i].exten.len
            && hm_strncasecmp(r->exten.data,
                              hm_http_static_types[i].exten.data,
                              r->exten.len) == 0)
        {
            r->headers_out.content_type = hm_http_static_types[i].type;
            return;
        }
    }

    r->headers_out.content_type = clcf->default_type;
}


static hm_int_t
hm_http_static_init(hm_conf_t *cf)
{
    hm_http_handler_pt        *h;
    hm_http_core_main_conf_t  *cmcf;

    cmcf = hm_http_conf_get_module_main_conf(cf, hm_http_core_module);

    h = hm_array_push(&cmcf->phases[HM_HTTP_CONTENT_PHASE].handlers);
    if (h == NULL) {
        return HM_ERROR;
    }

    *h = hm_http_static_handler;

    return HM_OK;
}

/*
 * Copyright (C) hermod authors
 *
 * The HTTP core: server, listen, server_name, location and the limits and
 * timeouts with nginx's names; the phase checkers, location lookup and
 * virtual server lookup.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


static hm_int_t hm_http_core_preconfiguration(hm_conf_t *cf);
static hm_int_t hm_http_core_postconfiguration(hm_conf_t *cf);
static void *hm_http_core_create_main_conf(hm_conf_t *cf);
static char *hm_http_core_init_main_conf(hm_conf_t *cf, void *conf);
static void *hm_http_core_create_srv_conf(hm_conf_t *cf);
static char *hm_http_core_merge_srv_conf(hm_conf_t *cf, void *parent,
    void *child);
static void *hm_http_core_create_loc_conf(hm_conf_t *cf);
static char *hm_http_core_merge_loc_conf(hm_conf_t *cf, void *parent,
    void *child);

static char *hm_http_core_server(hm_conf_t *cf, hm_command_t *cmd,
    void *dummy);
static char *hm_http_core_location(hm_conf_t *cf, hm_command_t *cmd,
    void *dummy);
static char *hm_http_core_listen(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_core_server_name(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_core_root(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_core_keepalive(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_core_error_page(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_core_add_header(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_core_return(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_core_index(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);

static hm_int_t hm_http_core_find_location(hm_http_request_t *r,
    hm_queue_t *locations);
static hm_int_t hm_http_return_handler(hm_http_request_t *r);


static hm_conf_enum_t  hm_http_core_server_tokens[] = {
    { hm_string("off"), HM_HTTP_SERVER_TOKENS_OFF },
    { hm_string("on"), HM_HTTP_SERVER_TOKENS_ON },
    { hm_null_string, 0 }
};

#define HM_HTTP_LINGERING_OFF     0
#define HM_HTTP_LINGERING_ON      1
#define HM_HTTP_LINGERING_ALWAYS  2

static hm_conf_enum_t  hm_http_core_lingering_close[] = {
    { hm_string("off"), HM_HTTP_LINGERING_OFF },
    { hm_string("on"), HM_HTTP_LINGERING_ON },
    { hm_string("always"), HM_HTTP_LINGERING_ALWAYS },
    { hm_null_string, 0 }
};


static hm_command_t  hm_http_core_commands[] = {

    { hm_string("server"),
      HM_HTTP_MAIN_CONF|HM_CONF_BLOCK|HM_CONF_NOARGS,
      hm_http_core_server,
      0,
      0,
      NULL,
      "A virtual server: listen addresses, names and locations." },

    { hm_string("listen"),
      HM_HTTP_SRV_CONF|HM_CONF_1MORE,
      hm_http_core_listen,
      HM_HTTP_SRV_CONF_OFFSET,
      0,
      NULL,
      "ADDR:PORT [default_server] [ssl] [reuseport] [backlog=N]." },

    { hm_string("server_name"),
      HM_HTTP_SRV_CONF|HM_CONF_1MORE,
      hm_http_core_server_name,
      HM_HTTP_SRV_CONF_OFFSET,
      0,
      NULL,
      "Names of the server: exact, *.wildcard, wildcard.* or ~regex." },

    { hm_string("location"),
      HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_BLOCK|HM_CONF_TAKE12,
      hm_http_core_location,
      HM_HTTP_SRV_CONF_OFFSET,
      0,
      NULL,
      "Configuration for URIs: [=|~|~*|^~] uri { ... }." },

    { hm_string("client_header_buffer_size"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE1,
      hm_conf_set_size_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_core_srv_conf_t, client_header_buffer_size),
      NULL,
      "The buffer for a request header; larger ones use the large ones." },

    { hm_string("large_client_header_buffers"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE2,
      hm_conf_set_bufs_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_core_srv_conf_t, large_client_header_buffers),
      NULL,
      "Number and size of buffers for long request lines and headers." },

    { hm_string("client_header_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_core_srv_conf_t, client_header_timeout),
      NULL,
      "How long reading a request header may take (408)." },

    { hm_string("ignore_invalid_headers"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_core_srv_conf_t, ignore_invalid_headers),
      NULL,
      "Ignore headers with invalid names instead of rejecting them." },

    { hm_string("underscores_in_headers"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_core_srv_conf_t, underscores_in_headers),
      NULL,
      "Accept underscores in header names." },

    { hm_string("merge_slashes"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_core_srv_conf_t, merge_slashes),
      NULL,
      "Merge adjacent slashes of a URI into one." },

    { hm_string("root"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_http_core_root,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "The directory static files are served from." },

    { hm_string("alias"),
      HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_http_core_root,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "A replacement for the location's prefix when mapping to files." },

    { hm_string("default_type"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, default_type),
      NULL,
      "The Content-Type of a file whose extension is not known." },

    { hm_string("client_max_body_size"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_off_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, client_max_body_size),
      NULL,
      "The largest request body accepted (413 beyond); 0 = no limit." },

    { hm_string("client_body_buffer_size"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_size_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, client_body_buffer_size),
      NULL,
      "The buffer for reading a request body." },

    { hm_string("client_body_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, client_body_timeout),
      NULL,
      "How long between two reads of a request body (408)." },

    { hm_string("send_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, send_timeout),
      NULL,
      "How long between two writes of a response." },

    { hm_string("keepalive_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE12,
      hm_http_core_keepalive,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "How long an idle keep-alive connection stays open; 0 disables." },

    { hm_string("keepalive_requests"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, keepalive_requests),
      NULL,
      "How many requests one keep-alive connection serves." },

    { hm_string("lingering_close"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, lingering_close),
      &hm_http_core_lingering_close,
      "Read and discard what a client still sends before closing." },

    { hm_string("lingering_time"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, lingering_time),
      NULL,
      "The longest lingering close." },

    { hm_string("lingering_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, lingering_timeout),
      NULL,
      "How long to wait for more client data during a lingering close." },

    { hm_string("sendfile"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, sendfile),
      NULL,
      "Send static files with sendfile()." },

    { hm_string("tcp_nodelay"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, tcp_nodelay),
      NULL,
      "Set TCP_NODELAY on keep-alive connections." },

    { hm_string("server_tokens"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, server_tokens),
      &hm_http_core_server_tokens,
      "Show the version in the Server header and error pages." },

    { hm_string("chunked_transfer_encoding"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, chunked_transfer_encoding),
      NULL,
      "Use chunked responses for HTTP/1.1 when the length is unknown." },

    { hm_string("absolute_redirect"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, absolute_redirect),
      NULL,
      "Make redirects absolute (scheme, host, port)." },

    { hm_string("log_not_found"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, log_not_found),
      NULL,
      "Log files that are not found in the error log." },

    { hm_string("internal"),
      HM_HTTP_LOC_CONF|HM_CONF_NOARGS,
      hm_conf_set_flag_noargs_slot,
      HM_HTTP_LOC_CONF_OFFSET,
      offsetof(hm_http_core_loc_conf_t, internal),
      NULL,
      "The location serves internal redirects (error_page) only." },

    { hm_string("index"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_1MORE,
      hm_http_core_index,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "Files tried, in order, for a URI ending with a slash." },

    { hm_string("error_page"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_2MORE,
      hm_http_core_error_page,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "code ... [=[response]] uri: the page shown for these errors." },

    { hm_string("add_header"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE23,
      hm_http_core_add_header,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "name value [always]: a header added to responses." },

    { hm_string("return"),
      HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_TAKE12,
      hm_http_core_return,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "code [text] | code URL | URL: answer at once." },

      hm_null_command
};


static hm_http_module_t  hm_http_core_module_ctx = {
    hm_http_core_preconfiguration,         /* preconfiguration */
    hm_http_core_postconfiguration,        /* postconfiguration */

    hm_http_core_create_main_conf,         /* create main configuration */
    hm_http_core_init_main_conf,           /* init main configuration */

    hm_http_core_create_srv_conf,          /* create server configuration */
    hm_http_core_merge_srv_conf,           /* merge server configuration */

    hm_http_core_create_loc_conf,          /* create location configuration */
    hm_http_core_merge_loc_conf,           /* merge location configuration */

    { NULL, NULL, NULL, NULL }
};


hm_module_t  hm_http_core_module = {
    HM_MODULE_V1,
    &hm_http_core_module_ctx,              /* module context */
    hm_http_core_commands,                 /* module directives */
    HM_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


hm_str_t  hm_http_core_get_method = { 3, (u_char *) "GET" };


/* the phase engine */

void
hm_http_core_run_phases(hm_http_request_t *r)
{
    hm_int_t                   rc;
    hm_http_phase_handler_t   *ph;
    hm_http_core_main_conf_t  *cmcf;

    cmcf = hm_http_get_module_main_conf(r, hm_http_core_module);

    ph = cmcf->phase_engine.handlers;

    while (ph[r->phase_handler].checker) {

        rc = ph[r->phase_handler].checker(r, &ph[r->phase_handler]);

        if (rc == HM_OK) {
            return;
        }
    }
}


hm_int_t
hm_http_core_generic_phase(hm_http_request_t *r, hm_http_phase_handler_t *ph)
{
    hm_int_t  rc;

    /*
     * generic phase checker,
     * used by the post read and pre-access phases
     */

    rc = ph->handler(r);

    if (rc == HM_OK) {
        r->phase_handler = ph->next;
        return HM_AGAIN;
    }

    if (rc == HM_DECLINED) {
        r->phase_handler++;
        return HM_AGAIN;
    }

    if (rc == HM_AGAIN || rc == HM_DONE) {
        return HM_OK;
    }

    /* rc == HM_ERROR || rc == HM_HTTP_...  */

    hm_http_finalize_request(r, rc);

    return HM_OK;
}


hm_int_t
hm_http_core_find_config_phase(hm_http_request_t *r,
    hm_http_phase_handler_t *ph)
{
    hm_int_t                  rc;
    hm_http_core_loc_conf_t  *clcf;
    hm_http_core_srv_conf_t  *cscf;

    r->content_handler = NULL;
    r->uri_changes--;

    if (r->uri_changes == 0) {
        hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                      "rewrite or internal redirection cycle "
                      "while processing \"%V\"", &r->uri);

        hm_http_finalize_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
        return HM_OK;
    }

    cscf = hm_http_get_module_srv_conf(r, hm_http_core_module);
    r->loc_conf = cscf->ctx->loc_conf;

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    rc = hm_http_core_find_location(r, clcf->locations);

    if (rc == HM_ERROR) {
        hm_http_finalize_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
        return HM_OK;
    }

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (!r->internal && clcf->internal) {
        hm_http_finalize_request(r, HM_HTTP_NOT_FOUND);
        return HM_OK;
    }

    hm_log_debug(r->connection->log, "using configuration \"%s%V\"",
                 (clcf->exact_match ? "=" : ""), &clcf->name);

    hm_http_update_location_config(r);

    if (r->headers_in.content_length_n != -1
        && !r->discard_body
        && clcf->client_max_body_size
        && clcf->client_max_body_size < r->headers_in.content_length_n)
    {
        hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                      "client intended to send too large body: %O bytes",
                      r->headers_in.content_length_n);

        r->expect_tested = 1;
        (void) hm_http_discard_request_body(r);
        hm_http_finalize_request(r, HM_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return HM_OK;
    }

    r->phase_handler++;
    return HM_AGAIN;
}


hm_int_t
hm_http_core_content_phase(hm_http_request_t *r,
    hm_http_phase_handler_t *ph)
{
    hm_int_t  rc;

    if (r->content_handler) {
        r->write_event_handler = hm_http_request_empty_handler;
        hm_http_finalize_request(r, r->content_handler(r));
        return HM_OK;
    }

    rc = ph->handler(r);

    if (rc != HM_DECLINED) {
        hm_http_finalize_request(r, rc);
        return HM_OK;
    }

    /* rc == HM_DECLINED */

    ph++;

    if (ph->checker) {
        r->phase_handler++;
        return HM_AGAIN;
    }

    /* no content handler was found */

    if (r->uri.data[r->uri.len - 1] == '/') {
        hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                     "directory index of \"%V\" is forbidden", &r->uri);

        hm_http_finalize_request(r, HM_HTTP_FORBIDDEN);
        return HM_OK;
    }

    hm_http_finalize_request(r, HM_HTTP_NOT_FOUND);
    return HM_OK;
}


void
hm_http_update_location_config(hm_http_request_t *r)
{
    hm_http_core_loc_conf_t  *clcf;

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (r->method & HM_HTTP_HEAD) {
        r->header_only = 1;
    }

    if (clcf->keepalive_timeout == 0) {
        r->keepalive = 0;

    } else if (r->connection->requests >= clcf->keepalive_requests) {
        r->keepalive = 0;

    } else if (r->headers_in.connection_type
               == HM_HTTP_CONNECTION_KEEP_ALIVE
               || (r->http_version > HM_HTTP_VERSION_10
                   && r->headers_in.connection_type
                      != HM_HTTP_CONNECTION_CLOSE))
    {
        r->keepalive = 1;
    }

    if (clcf->handler) {
        r->content_handler = clcf->handler;
    }
}


/*
 * Location lookup: exact ("=") first; then the longest matching prefix;
 * a "^~" prefix stops the search, otherwise regexes are tried in order
 * and the first match wins; nested locations are searched inside the
 * chosen prefix location.
 */

static hm_int_t
hm_http_core_find_location(hm_http_request_t *r, hm_queue_t *locations)
{
    hm_int_t                   n;
    size_t                     len, best_len;
    hm_queue_t                *q;
    hm_http_core_loc_conf_t   *clcf, *best;
    hm_http_location_queue_t  *lq;

    if (locations == NULL) {
        return HM_DECLINED;
    }

    best = NULL;
    best_len = 0;

    for (q = hm_queue_head(locations);
         q != hm_queue_sentinel(locations);
         q = hm_queue_next(q))
    {
        lq = (hm_http_location_queue_t *) q;
        clcf = lq->exact ? lq->exact : lq->inclusive;

        if (clcf->regex || clcf->named) {
            continue;
        }

        len = clcf->name.len;

        if (clcf->exact_match) {
            if (len == r->uri.len
                && hm_memcmp(clcf->name.data, r->uri.data, len) == 0)
            {
                r->loc_conf = clcf->loc_conf;
                return HM_OK;
            }

            continue;
        }

        if (len <= r->uri.len && len >= best_len
            && hm_memcmp(clcf->name.data, r->uri.data, len) == 0)
        {
            best = clcf;
            best_len = len;
        }
    }

    if (best) {
        r->loc_conf = best->loc_conf;

        /* nested locations of the prefix location */

        n = hm_http_core_find_location(r, best->locations);

        if (n == HM_ERROR) {
            return n;
        }

        if (n == HM_OK && r->loc_conf != best->loc_conf) {

            /* a nested exact or regex match is final */

            hm_http_core_loc_conf_t  *nested;

            nested = r->loc_conf[hm_http_core_module.ctx_index];

            if (nested->exact_match || nested->regex || nested->noregex) {
                return HM_OK;
            }
        }

        if (best->noregex) {
            return HM_OK;
        }
    }

    for (q = hm_queue_head(locations);
         q != hm_queue_sentinel(locations);
         q = hm_queue_next(q))
    {
        lq = (hm_http_location_queue_t *) q;
        clcf = lq->exact;

        if (clcf == NULL || clcf->regex == NULL) {
            continue;
        }

        n = hm_regex_exec(clcf->regex, &r->uri, NULL, 0);

        if (n == HM_REGEX_NO_MATCHED) {
            continue;
        }

        if (n < 0) {
            hm_log_error(HM_LOG_ALERT, r->connection->log, 0,
                         hm_regex_exec_n " failed: %i on \"%V\"",
                         n, &r->uri);
            return HM_ERROR;
        }

        r->loc_conf = clcf->loc_conf;

        n = hm_http_core_find_location(r, clcf->locations);

        return (n == HM_ERROR) ? HM_ERROR : HM_OK;
    }

    return best ? HM_OK : HM_DECLINED;
}


hm_int_t
hm_http_find_virtual_server(hm_connection_t *c,
    hm_http_addr_conf_t *addr_conf, hm_str_t *host,
    hm_http_core_srv_conf_t **cscfp)
{
    size_t                    len, best_len;
    hm_int_t                  n;
    hm_uint_t                 i;
    hm_http_server_name_t    *sn;
    hm_http_core_srv_conf_t  *cscf, *best;

    if (host->len == 0) {
        return HM_DECLINED;
    }

    cscf = hm_hash_find(&addr_conf->names, host->data, host->len);

    if (cscf) {
        *cscfp = cscf;
        return HM_OK;
    }

    /*
     * nginx's order: the longest "*.name", then the longest "name.*",
     * then the regexes in the order of the configuration
     */

    sn = addr_conf->wildcards->elts;
    best = NULL;
    best_len = 0;

    for (i = 0; i < addr_conf->wildcards->nelts; i++) {
        len = sn[i].name.len;

        if (sn[i].wildcard_head && host->len > len && len > best_len
            && hm_strncasecmp(host->data + host->len - len,
                              sn[i].name.data, len) == 0)
        {
            best = sn[i].server;
            best_len = len;
        }
    }

    if (best) {
        *cscfp = best;
        return HM_OK;
    }

    for (i = 0; i < addr_conf->wildcards->nelts; i++) {
        len = sn[i].name.len;

        if (sn[i].wildcard_tail && host->len > len && len > best_len
            && hm_strncasecmp(host->data, sn[i].name.data, len) == 0)
        {
            best = sn[i].server;
            best_len = len;
        }
    }

    if (best) {
        *cscfp = best;
        return HM_OK;
    }

    for (i = 0; i < addr_conf->wildcards->nelts; i++) {

        if (sn[i].regex == NULL) {
            continue;
        }

        n = hm_regex_exec(sn[i].regex, host, NULL, 0);

        if (n == HM_REGEX_NO_MATCHED) {
            continue;
        }

        if (n < 0) {
            hm_log_error(HM_LOG_ALERT, c->log, 0,
                         hm_regex_exec_n " failed: %i on \"%V\"", n, host);
            return HM_ERROR;
        }

        *cscfp = sn[i].server;
        return HM_OK;
    }

    return HM_DECLINED;
}


static hm_int_t
hm_http_core_preconfiguration(hm_conf_t *cf)
{
    return hm_http_variables_add_core_vars(cf);
}


static hm_int_t
hm_http_core_postconfiguration(hm_conf_t *cf)
{
    /* the header, chunked and write filters are at the bottom */

    hm_http_output_init();

    return HM_OK;
}


static void *
hm_http_core_create_main_conf(hm_conf_t *cf)
{
    hm_http_core_main_conf_t  *cmcf;

    cmcf = hm_pcalloc(cf->pool, sizeof(hm_http_core_main_conf_t));
    if (cmcf == NULL) {
        return NULL;
    }

    if (hm_array_init(&cmcf->servers, cf->pool, 4,
                      sizeof(hm_http_core_srv_conf_t *))
        != HM_OK)
    {
        return NULL;
    }

    cmcf->phase_engine.server_rewrite_index = (hm_uint_t) -1;
    cmcf->phase_engine.location_rewrite_index = (hm_uint_t) -1;

    return cmcf;
}


static char *
hm_http_core_init_main_conf(hm_conf_t *cf, void *conf)
{
    return HM_CONF_OK;
}


static void *
hm_http_core_create_srv_conf(hm_conf_t *cf)
{
    hm_http_core_srv_conf_t  *cscf;

    cscf = hm_pcalloc(cf->pool, sizeof(hm_http_core_srv_conf_t));
    if (cscf == NULL) {
        return NULL;
    }

    if (hm_array_init(&cscf->server_names, cf->pool, 4,
                      sizeof(hm_http_server_name_t))
        != HM_OK)
    {
        return NULL;
    }

    cscf->connection_pool_size = HM_CONF_UNSET_SIZE;
    cscf->request_pool_size = HM_CONF_UNSET_SIZE;
    cscf->client_header_timeout = HM_CONF_UNSET_MSEC;
    cscf->client_header_buffer_size = HM_CONF_UNSET_SIZE;
    cscf->ignore_invalid_headers = HM_CONF_UNSET;
    cscf->merge_slashes = HM_CONF_UNSET;
    cscf->underscores_in_headers = HM_CONF_UNSET;

    hm_conf_location(cf, &cscf->where);

    return cscf;
}


static char *
hm_http_core_merge_srv_conf(hm_conf_t *cf, void *parent, void *child)
{
    hm_http_core_srv_conf_t *prev = parent;
    hm_http_core_srv_conf_t *conf = child;

    hm_http_server_name_t  *sn;

    hm_conf_merge_size_value(conf->connection_pool_size,
                              prev->connection_pool_size, 64 * sizeof(void *));
    hm_conf_merge_size_value(conf->request_pool_size,
                              prev->request_pool_size, 8192);
    hm_conf_merge_msec_value(conf->client_header_timeout,
                              prev->client_header_timeout, 60000);
    hm_conf_merge_size_value(conf->client_header_buffer_size,
                              prev->client_header_buffer_size, 1024);

    if (conf->large_client_header_buffers.num == 0) {
        if (prev->large_client_header_buffers.num) {
            conf->large_client_header_buffers =
                                            prev->large_client_header_buffers;
        } else {
            conf->large_client_header_buffers.num = 4;
            conf->large_client_header_buffers.size = 8192;
        }
    }

    if (conf->large_client_header_buffers.size < conf->connection_pool_size)
    {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &conf->where,
                        "the \"large_client_header_buffers\" size must be "
                        "equal to or greater than \"connection_pool_size\"");
        return HM_CONF_ERROR;
    }

    hm_conf_merge_value(conf->ignore_invalid_headers,
                              prev->ignore_invalid_headers, 1);

    hm_conf_merge_value(conf->merge_slashes, prev->merge_slashes, 1);

    hm_conf_merge_value(conf->underscores_in_headers,
                              prev->underscores_in_headers, 0);

    if (conf->server_names.nelts == 0) {
        /* the default server name is "" */

        sn = hm_array_push(&conf->server_names);
        if (sn == NULL) {
            return HM_CONF_ERROR;
        }

        hm_memzero(sn, sizeof(hm_http_server_name_t));
        sn->server = conf;
        hm_str_set(&sn->name, "");
    }

    sn = conf->server_names.elts;
    conf->server_name = sn[0].name;

    return HM_CONF_OK;
}


static void *
hm_http_core_create_loc_conf(hm_conf_t *cf)
{
    hm_http_core_loc_conf_t  *clcf;

    clcf = hm_pcalloc(cf->pool, sizeof(hm_http_core_loc_conf_t));
    if (clcf == NULL) {
        return NULL;
    }

    clcf->client_max_body_size = HM_CONF_UNSET;
    clcf->client_body_buffer_size = HM_CONF_UNSET_SIZE;
    clcf->client_body_timeout = HM_CONF_UNSET_MSEC;
    clcf->send_timeout = HM_CONF_UNSET_MSEC;
    clcf->keepalive_timeout = HM_CONF_UNSET_MSEC;
    clcf->lingering_time = HM_CONF_UNSET_MSEC;
    clcf->lingering_timeout = HM_CONF_UNSET_MSEC;
    clcf->keepalive_requests = HM_CONF_UNSET_UINT;
    clcf->lingering_close = HM_CONF_UNSET_UINT;
    clcf->server_tokens = HM_CONF_UNSET_UINT;
    clcf->internal = HM_CONF_UNSET;
    clcf->sendfile = HM_CONF_UNSET;
    clcf->tcp_nodelay = HM_CONF_UNSET;
    clcf->log_not_found = HM_CONF_UNSET;
    clcf->chunked_transfer_encoding = HM_CONF_UNSET;
    clcf->absolute_redirect = HM_CONF_UNSET;
    clcf->error_pages = HM_CONF_UNSET_PTR;
    clcf->add_headers = HM_CONF_UNSET_PTR;
    clcf->index = HM_CONF_UNSET_PTR;

    hm_conf_location(cf, &clcf->where);

    return clcf;
}


static char *
hm_http_core_merge_loc_conf(hm_conf_t *cf, void *parent, void *child)
{
    hm_http_core_loc_conf_t *prev = parent;
    hm_http_core_loc_conf_t *conf = child;

    if (conf->root.data == NULL && conf->alias.data == NULL) {

        conf->root = prev->root;
        conf->alias = prev->alias;

        if (prev->root.data == NULL && prev->alias.data == NULL) {
            hm_str_set(&conf->root, "html");

            if (hm_conf_full_name(cf->cycle, &conf->root, 0) != HM_OK) {
                return HM_CONF_ERROR;
            }
        }
    }

    hm_conf_merge_str_value(conf->default_type,
                              prev->default_type, "text/plain");

    hm_conf_merge_value(conf->client_max_body_size,
                              prev->client_max_body_size, 1 * 1024 * 1024);
    hm_conf_merge_size_value(conf->client_body_buffer_size,
                              prev->client_body_buffer_size,
                              (size_t) 2 * hm_pagesize);
    hm_conf_merge_msec_value(conf->client_body_timeout,
                              prev->client_body_timeout, 60000);
    hm_conf_merge_msec_value(conf->send_timeout, prev->send_timeout, 60000);
    hm_conf_merge_msec_value(conf->keepalive_timeout,
                              prev->keepalive_timeout, 75000);
    hm_conf_merge_uint_value(conf->keepalive_requests,
                              prev->keepalive_requests, 1000);
    hm_conf_merge_uint_value(conf->lingering_close,
                              prev->lingering_close, HM_HTTP_LINGERING_ON);
    hm_conf_merge_msec_value(conf->lingering_time,
                              prev->lingering_time, 30000);
    hm_conf_merge_msec_value(conf->lingering_timeout,
                              prev->lingering_timeout, 5000);
    hm_conf_merge_uint_value(conf->server_tokens, prev->server_tokens,
                              HM_HTTP_SERVER_TOKENS_ON);

    hm_conf_merge_value(conf->internal, prev->internal, 0);
    hm_conf_merge_value(conf->sendfile, prev->sendfile, 0);
    hm_conf_merge_value(conf->tcp_nodelay, prev->tcp_nodelay, 1);
    hm_conf_merge_value(conf->log_not_found, prev->log_not_found, 1);
    hm_conf_merge_value(conf->chunked_transfer_encoding,
                              prev->chunked_transfer_encoding, 1);
    hm_conf_merge_value(conf->absolute_redirect,
                              prev->absolute_redirect, 1);

    /* "return" at the server level answers before any location */

    if (conf->return_code == 0 && prev->return_code
        && (prev->name.len == 0 || prev->return_from_server))
    {
        /* a location's own "return" is not inherited, as in nginx */

        conf->return_code = prev->return_code;
        conf->return_text = prev->return_text;
        conf->handler = hm_http_return_handler;
        conf->return_from_server = 1;
    }

    hm_conf_merge_ptr_value(conf->error_pages, prev->error_pages, NULL);
    hm_conf_merge_ptr_value(conf->add_headers, prev->add_headers, NULL);
    hm_conf_merge_ptr_value(conf->index, prev->index, NULL);

    return HM_CONF_OK;
}


static char *
hm_http_core_server(hm_conf_t *cf, hm_command_t *cmd, void *dummy)
{
    char                        *rv;
    void                        *mconf;
    hm_uint_t                    i;
    hm_conf_t                    pcf;
    hm_module_t                **modules;
    hm_http_module_t            *module;
    hm_http_conf_ctx_t          *ctx, *http_ctx;
    hm_http_core_srv_conf_t     *cscf, **cscfp;
    hm_http_core_main_conf_t    *cmcf;

    ctx = hm_pcalloc(cf->pool, sizeof(hm_http_conf_ctx_t));
    if (ctx == NULL) {
        return HM_CONF_ERROR;
    }

    http_ctx = cf->ctx;
    ctx->main_conf = http_ctx->main_conf;

    /* the server{}'s srv_conf */

    ctx->srv_conf = hm_pcalloc(cf->pool, sizeof(void *) * hm_http_max_module);
    if (ctx->srv_conf == NULL) {
        return HM_CONF_ERROR;
    }

    /* the server{}'s loc_conf */

    ctx->loc_conf = hm_pcalloc(cf->pool, sizeof(void *) * hm_http_max_module);
    if (ctx->loc_conf == NULL) {
        return HM_CONF_ERROR;
    }

    modules = cf->cycle->modules;

    for (i = 0; modules[i]; i++) {
        if (modules[i]->type != HM_HTTP_MODULE) {
            continue;
        }

        module = modules[i]->ctx;

        if (module->create_srv_conf) {
            mconf = module->create_srv_conf(cf);
            if (mconf == NULL) {
                return HM_CONF_ERROR;
            }

            ctx->srv_conf[modules[i]->ctx_index] = mconf;
        }

        if (module->create_loc_conf) {
            mconf = module->create_loc_conf(cf);
            if (mconf == NULL) {
                return HM_CONF_ERROR;
            }

            ctx->loc_conf[modules[i]->ctx_index] = mconf;
        }
    }


    /* the server configuration context */

    cscf = ctx->srv_conf[hm_http_core_module.ctx_index];
    cscf->ctx = ctx;

    ((hm_http_core_loc_conf_t *)
        ctx->loc_conf[hm_http_core_module.ctx_index])->loc_conf
                                                              = ctx->loc_conf;

    cmcf = ctx->main_conf[hm_http_core_module.ctx_index];

    cscfp = hm_array_push(&cmcf->servers);
    if (cscfp == NULL) {
        return HM_CONF_ERROR;
    }

    *cscfp = cscf;


    /* parse inside server{} */

    pcf = *cf;
    cf->ctx = ctx;
    cf->cmd_type = HM_HTTP_SRV_CONF;

    rv = hm_conf_parse(cf, NULL);

    *cf = pcf;

    if (rv == HM_CONF_OK && !cscf->listen) {
        hm_http_listen_opt_t  lsopt;
        hm_sockaddr_t        *sa;

        /* "listen *:80" as nginx does, for a server without "listen" */

        hm_memzero(&lsopt, sizeof(hm_http_listen_opt_t));

        sa = hm_pcalloc(cf->pool, sizeof(hm_sockaddr_t));
        if (sa == NULL) {
            return HM_CONF_ERROR;
        }

        sa->sockaddr_in.sin_family = AF_INET;
        sa->sockaddr_in.sin_port = htons((geteuid() == 0) ? 80 : 8000);
        sa->sockaddr_in.sin_addr.s_addr = INADDR_ANY;

        lsopt.sockaddr = &sa->sockaddr;
        lsopt.socklen = sizeof(struct sockaddr_in);
        lsopt.backlog = HM_LISTEN_BACKLOG;
        lsopt.rcvbuf = -1;
        lsopt.sndbuf = -1;
        lsopt.wildcard = 1;
        lsopt.where = cscf->where;

        hm_str_set(&lsopt.addr_text, "*:80");

        if (geteuid() != 0) {
            hm_str_set(&lsopt.addr_text, "*:8000");
        }

        if (hm_http_add_listen(cf, cscf, &lsopt) != HM_OK) {
            return HM_CONF_ERROR;
        }
    }

    return rv;
}


static char *
hm_http_core_location(hm_conf_t *cf, hm_command_t *cmd, void *dummy)
{
    char                      *rv;
    u_char                    *mod;
    size_t                     len;
    hm_str_t                  *value, *name;
    hm_uint_t                  i;
    hm_conf_t                  save;
    hm_http_module_t          *module;
    hm_http_conf_ctx_t        *ctx, *pctx;
    hm_regex_compile_t         rc;
    hm_http_core_loc_conf_t   *clcf, *pclcf;

    ctx = hm_pcalloc(cf->pool, sizeof(hm_http_conf_ctx_t));
    if (ctx == NULL) {
        return HM_CONF_ERROR;
    }

    pctx = cf->ctx;
    ctx->main_conf = pctx->main_conf;
    ctx->srv_conf = pctx->srv_conf;

    ctx->loc_conf = hm_pcalloc(cf->pool, sizeof(void *) * hm_http_max_module);
    if (ctx->loc_conf == NULL) {
        return HM_CONF_ERROR;
    }

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (cf->cycle->modules[i]->type != HM_HTTP_MODULE) {
            continue;
        }

        module = cf->cycle->modules[i]->ctx;

        if (module->create_loc_conf) {
            ctx->loc_conf[cf->cycle->modules[i]->ctx_index] =
                                                   module->create_loc_conf(cf);
            if (ctx->loc_conf[cf->cycle->modules[i]->ctx_index] == NULL) {
                return HM_CONF_ERROR;
            }
        }
    }

    clcf = ctx->loc_conf[hm_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;

    value = cf->args->elts;

    if (cf->args->nelts == 3) {

        len = value[1].len;
        mod = value[1].data;
        name = &value[2];

        if (len == 1 && mod[0] == '=') {

            clcf->name = *name;
            clcf->exact_match = 1;

        } else if (len == 2 && mod[0] == '^' && mod[1] == '~') {

            clcf->name = *name;
            clcf->noregex = 1;

        } else if (len == 1 && mod[0] == '~') {

            clcf->caseless = 0;
            goto regex;

        } else if (len == 2 && mod[0] == '~' && mod[1] == '*') {

            clcf->caseless = 1;
            goto regex;

        } else {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid location modifier \"%V\"", &value[1]);
            return HM_CONF_ERROR;
        }

    } else {

        name = &value[1];

        if (name->data[0] == '=') {

            clcf->name.len = name->len - 1;
            clcf->name.data = name->data + 1;
            clcf->exact_match = 1;

        } else if (name->data[0] == '^' && name->data[1] == '~') {

            clcf->name.len = name->len - 2;
            clcf->name.data = name->data + 2;
            clcf->noregex = 1;

        } else if (name->data[0] == '~') {

            name->len--;
            name->data++;

            if (name->data[0] == '*') {

                name->len--;
                name->data++;

                clcf->caseless = 1;

            } else {
                clcf->caseless = 0;
            }

            goto regex;

        } else if (name->data[0] == '@') {

            clcf->name = *name;
            clcf->named = 1;

        } else {

            clcf->name = *name;
        }
    }

    goto parent;

regex:

    hm_memzero(&rc, sizeof(hm_regex_compile_t));

    rc.pattern = *name;
    rc.pool = cf->pool;
    rc.options = clcf->caseless ? HM_REGEX_CASELESS : 0;

    if (hm_regex_compile(&rc) != HM_OK) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%V", &rc.err);
        return HM_CONF_ERROR;
    }

    clcf->regex = rc.regex;
    clcf->name = *name;

parent:

    pclcf = pctx->loc_conf[hm_http_core_module.ctx_index];

    if (cf->cmd_type == HM_HTTP_LOC_CONF) {

        /* nested location */

        if (pclcf->exact_match) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "location \"%V\" cannot be inside "
                              "the exact location \"%V\"",
                              &clcf->name, &pclcf->name);
            return HM_CONF_ERROR;
        }

        if (pclcf->named) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "location \"%V\" cannot be inside "
                              "the named location \"%V\"",
                              &clcf->name, &pclcf->name);
            return HM_CONF_ERROR;
        }

        if (clcf->named) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "named location \"%V\" can be "
                              "on the server level only",
                              &clcf->name);
            return HM_CONF_ERROR;
        }

        len = pclcf->name.len;

        if (clcf->regex == NULL && pclcf->regex == NULL
            && hm_strncmp(clcf->name.data, pclcf->name.data, len) != 0)
        {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "location \"%V\" is outside location \"%V\"",
                              &clcf->name, &pclcf->name);
            return HM_CONF_ERROR;
        }
    }

    clcf->parent = pclcf;

    if (hm_http_add_location(cf, &pclcf->locations, clcf) != HM_OK) {
        return HM_CONF_ERROR;
    }

    save = *cf;
    cf->ctx = ctx;
    cf->cmd_type = HM_HTTP_LOC_CONF;

    rv = hm_conf_parse(cf, NULL);

    *cf = save;

    return rv;
}


static char *
hm_http_core_listen(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_core_srv_conf_t *cscf = conf;

    hm_str_t              *value, size;
    hm_url_t               u;
    hm_uint_t              n, i;
    hm_http_listen_opt_t   lsopt;

    cscf->listen = 1;

    value = cf->args->elts;

    hm_memzero(&u, sizeof(hm_url_t));

    u.url = value[1];
    u.listen = 1;
    u.default_port = 80;

    if (hm_parse_url(cf->pool, &u) != HM_OK) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%s in \"%V\" of the "
                          "\"listen\" directive", u.err, &u.url);
        return HM_CONF_ERROR;
    }

    hm_memzero(&lsopt, sizeof(hm_http_listen_opt_t));

    lsopt.backlog = HM_LISTEN_BACKLOG;
    lsopt.rcvbuf = -1;
    lsopt.sndbuf = -1;
    lsopt.wildcard = u.wildcard;

    hm_conf_location(cf, &lsopt.where);

    for (n = 2; n < cf->args->nelts; n++) {

        if (hm_str_eq(&value[n], "default_server")
            || hm_str_eq(&value[n], "default"))
        {
            lsopt.default_server = 1;
            continue;
        }

        if (hm_str_eq(&value[n], "ssl")) {
            lsopt.ssl = 1;
            continue;
        }

        if (hm_str_eq(&value[n], "http2")) {
            lsopt.http2 = 1;
            continue;
        }

        if (hm_str_eq(&value[n], "reuseport")) {
            lsopt.reuseport = 1;
            lsopt.set = 1;
            lsopt.bind = 1;
            continue;
        }

        if (hm_str_eq(&value[n], "bind")) {
            lsopt.set = 1;
            lsopt.bind = 1;
            continue;
        }

        if (hm_str_eq(&value[n], "proxy_protocol")) {
            lsopt.proxy_protocol = 1;
            continue;
        }

        if (hm_strncmp(value[n].data, "backlog=", 8) == 0) {
            lsopt.backlog = (int) hm_atoi(value[n].data + 8,
                                          value[n].len - 8);
            lsopt.set = 1;
            lsopt.bind = 1;

            if (lsopt.backlog == HM_ERROR || lsopt.backlog == 0) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "invalid backlog \"%V\"", &value[n]);
                return HM_CONF_ERROR;
            }

            continue;
        }

        if (hm_strncmp(value[n].data, "rcvbuf=", 7) == 0
            || hm_strncmp(value[n].data, "sndbuf=", 7) == 0)
        {
            size.len = value[n].len - 7;
            size.data = value[n].data + 7;

            i = (hm_uint_t) hm_parse_size(&size);

            if ((ssize_t) i == -1) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "invalid buffer size \"%V\"", &value[n]);
                return HM_CONF_ERROR;
            }

            if (value[n].data[0] == 'r') {
                lsopt.rcvbuf = (int) i;
            } else {
                lsopt.sndbuf = (int) i;
            }

            lsopt.set = 1;
            lsopt.bind = 1;
            continue;
        }

        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid parameter \"%V\"", &value[n]);
        return HM_CONF_ERROR;
    }

    for (n = 0; n < u.naddrs; n++) {

        lsopt.sockaddr = &u.addrs[n].sockaddr.sockaddr;
        lsopt.socklen = u.addrs[n].socklen;
        lsopt.addr_text = u.addrs[n].name;

        if (hm_http_add_listen(cf, cscf, &lsopt) != HM_OK) {
            return HM_CONF_ERROR;
        }
    }

    return HM_CONF_OK;
}


static char *
hm_http_core_server_name(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_core_srv_conf_t *cscf = conf;

    u_char                 *ch;
    hm_str_t               *value;
    hm_uint_t               i;
    hm_regex_compile_t      rc;
    hm_http_server_name_t  *sn;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        ch = value[i].data;

        if (ch[0] == '*' && (value[i].len == 1 || ch[1] != '.')) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "server name \"%V\" is invalid", &value[i]);
            return HM_CONF_ERROR;
        }

        if (ch[0] == '.' && value[i].len == 1) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "server name \"%V\" is invalid", &value[i]);
            return HM_CONF_ERROR;
        }

        sn = hm_array_push(&cscf->server_names);
        if (sn == NULL) {
            return HM_CONF_ERROR;
        }

        hm_memzero(sn, sizeof(hm_http_server_name_t));
        sn->server = cscf;

        if (ch[0] == '~') {
            hm_memzero(&rc, sizeof(hm_regex_compile_t));

            rc.pattern.len = value[i].len - 1;
            rc.pattern.data = value[i].data + 1;
            rc.pool = cf->pool;
            rc.options = HM_REGEX_CASELESS;

            if (hm_regex_compile(&rc) != HM_OK) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%V", &rc.err);
                return HM_CONF_ERROR;
            }

            sn->regex = rc.regex;
            sn->name = value[i];
            continue;
        }

        /* ".example.com" is "example.com" and "*.example.com" */

        if (ch[0] == '.') {
            sn->name.len = value[i].len - 1;
            sn->name.data = value[i].data + 1;
            hm_strlow(sn->name.data, sn->name.data, sn->name.len);

            sn = hm_array_push(&cscf->server_names);
            if (sn == NULL) {
                return HM_CONF_ERROR;
            }

            hm_memzero(sn, sizeof(hm_http_server_name_t));
            sn->server = cscf;
            sn->name = value[i];
            sn->wildcard_head = 1;
            continue;
        }

        if (ch[0] == '*') {
            sn->name.len = value[i].len - 1;
            sn->name.data = value[i].data + 1;
            sn->wildcard_head = 1;
            hm_strlow(sn->name.data, sn->name.data, sn->name.len);
            continue;
        }

        if (value[i].len > 1 && ch[value[i].len - 1] == '*') {
            if (ch[value[i].len - 2] != '.') {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "server name \"%V\" is invalid", &value[i]);
                return HM_CONF_ERROR;
            }

            sn->name.len = value[i].len - 1;
            sn->name.data = value[i].data;
            sn->wildcard_tail = 1;
            hm_strlow(sn->name.data, sn->name.data, sn->name.len);
            continue;
        }

        sn->name = value[i];
        hm_strlow(sn->name.data, sn->name.data, sn->name.len);
    }

    return HM_CONF_OK;
}


static char *
hm_http_core_root(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_core_loc_conf_t *clcf = conf;

    hm_str_t  *value;
    hm_uint_t  alias;

    alias = (cmd->name.len == sizeof("alias") - 1) ? 1 : 0;

    if (clcf->root.data || clcf->alias.data) {
        if ((clcf->alias.data != NULL) == alias) {
            return "is duplicate";
        }

        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "\"%V\" directive is duplicate, "
                          "\"%s\" directive was specified earlier",
                          &cmd->name, alias ? "root" : "alias");
        return HM_CONF_ERROR;
    }

    if (clcf->named && alias) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "the \"alias\" directive cannot be used "
                          "inside the named location");
        return HM_CONF_ERROR;
    }

    if (alias && clcf->regex) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "the \"alias\" directive cannot be used "
                          "inside a regex location");
        return HM_CONF_ERROR;
    }

    value = cf->args->elts;

    if (hm_strstr(value[1].data, "$") != NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "variables are not supported in \"%V\"",
                          &cmd->name);
        return HM_CONF_ERROR;
    }

    if (alias) {
        clcf->alias = value[1];

        if (hm_conf_full_name(cf->cycle, &clcf->alias, 0) != HM_OK) {
            return HM_CONF_ERROR;
        }

        return HM_CONF_OK;
    }

    clcf->root = value[1];

    if (clcf->root.len > 0
        && clcf->root.data[clcf->root.len - 1] == '/')
    {
        clcf->root.len--;
    }

    if (hm_conf_full_name(cf->cycle, &clcf->root, 0) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_http_core_keepalive(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_core_loc_conf_t *clcf = conf;

    hm_int_t   n;
    hm_str_t  *value;

    if (clcf->keepalive_timeout != HM_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = hm_parse_time(&value[1], 0);
    if (n == HM_ERROR) {
        return "invalid value";
    }

    clcf->keepalive_timeout = (hm_msec_t) n;

    /* the optional header timeout is accepted as nginx does; unused */

    if (cf->args->nelts == 3 && hm_parse_time(&value[2], 1) == HM_ERROR) {
        return "invalid value";
    }

    return HM_CONF_OK;
}


static char *
hm_http_core_error_page(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_core_loc_conf_t *clcf = conf;

    u_char               *p;
    hm_int_t              overwrite;
    hm_str_t             *value, uri, args;
    hm_uint_t             i, n;
    hm_http_err_page_t   *err;

    if (clcf->error_pages == NULL || clcf->error_pages == HM_CONF_UNSET_PTR) {
        clcf->error_pages = hm_array_create(cf->pool, 4,
                                            sizeof(hm_http_err_page_t));
        if (clcf->error_pages == NULL) {
            return HM_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    i = cf->args->nelts - 2;

    if (value[i].data[0] == '=') {
        if (i == 1) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid value \"%V\"", &value[i]);
            return HM_CONF_ERROR;
        }

        if (value[i].len > 1) {
            overwrite = hm_atoi(&value[i].data[1], value[i].len - 1);

            if (overwrite == HM_ERROR) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "invalid value \"%V\"", &value[i]);
                return HM_CONF_ERROR;
            }

        } else {
            overwrite = 0;
        }

        n = 2;

    } else {
        overwrite = -1;
        n = 1;
    }

    uri = value[cf->args->nelts - 1];
    hm_str_null(&args);

    if (uri.data[0] == '/') {
        p = (u_char *) hm_strchr(uri.data, '?');

        if (p) {
            args.len = uri.len - (p + 1 - uri.data);
            args.data = p + 1;
            uri.len = p - uri.data;
        }
    }

    for (i = 1; i < cf->args->nelts - n; i++) {
        err = hm_array_push(clcf->error_pages);
        if (err == NULL) {
            return HM_CONF_ERROR;
        }

        err->status = hm_atoi(value[i].data, value[i].len);

        if (err->status == HM_ERROR || err->status == 499) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid value \"%V\"", &value[i]);
            return HM_CONF_ERROR;
        }

        if (err->status < 300 || err->status > 599) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "value \"%V\" must be between 300 and 599",
                              &value[i]);
            return HM_CONF_ERROR;
        }

        err->overwrite = overwrite;

        if (hm_complex_value_compile(cf, &uri, HM_VAR_HTTP, &err->value)
            != HM_OK)
        {
            return HM_CONF_ERROR;
        }

        err->args = args;
    }

    return HM_CONF_OK;
}


static char *
hm_http_core_add_header(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_core_loc_conf_t *clcf = conf;

    hm_str_t              *value;
    hm_http_add_header_t  *hdr;

    value = cf->args->elts;

    if (clcf->add_headers == NULL || clcf->add_headers == HM_CONF_UNSET_PTR) {
        clcf->add_headers = hm_array_create(cf->pool, 4,
                                            sizeof(hm_http_add_header_t));
        if (clcf->add_headers == NULL) {
            return HM_CONF_ERROR;
        }
    }

    hdr = hm_array_push(clcf->add_headers);
    if (hdr == NULL) {
        return HM_CONF_ERROR;
    }

    hdr->name = value[1];
    hdr->always = 0;

    if (hm_complex_value_compile(cf, &value[2], HM_VAR_HTTP, &hdr->value)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    if (cf->args->nelts == 4) {
        if (!hm_str_eq(&value[3], "always")) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid parameter \"%V\"", &value[3]);
            return HM_CONF_ERROR;
        }

        hdr->always = 1;
    }

    return HM_CONF_OK;
}


static char *
hm_http_core_return(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_core_loc_conf_t *clcf = conf;

    hm_str_t              *value;
    hm_int_t               code;
    hm_complex_value_t    *cv;

    if (clcf->return_code) {
        return "is duplicate";
    }

    value = cf->args->elts;

    code = hm_atoi(value[1].data, value[1].len);

    if (code == HM_ERROR) {

        if (cf->args->nelts == 2
            && (hm_strncmp(value[1].data, "http://", 7) == 0
                || hm_strncmp(value[1].data, "https://", 8) == 0
                || hm_strncmp(value[1].data, "$scheme", 7) == 0))
        {
            code = HM_HTTP_MOVED_TEMPORARILY;
            value[2] = value[1];

        } else {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid return code \"%V\"", &value[1]);
            return HM_CONF_ERROR;
        }

    } else if (code > 999) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid return code \"%V\"", &value[1]);
        return HM_CONF_ERROR;

    } else if (cf->args->nelts == 2) {
        clcf->return_code = code;
        clcf->handler = hm_http_return_handler;
        return HM_CONF_OK;
    }

    cv = hm_palloc(cf->pool, sizeof(hm_complex_value_t));
    if (cv == NULL) {
        return HM_CONF_ERROR;
    }

    if (hm_complex_value_compile(cf, &value[2], HM_VAR_HTTP, cv) != HM_OK) {
        return HM_CONF_ERROR;
    }

    clcf->return_code = code;
    clcf->return_text = cv;
    clcf->handler = hm_http_return_handler;

    return HM_CONF_OK;
}


static hm_int_t
hm_http_return_handler(hm_http_request_t *r)
{
    hm_str_t                  text, ct;
    hm_http_core_loc_conf_t  *clcf;

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (clcf->return_code == HM_HTTP_CLOSE) {
        return HM_HTTP_CLOSE;
    }

    if (clcf->return_text == NULL) {

        if (clcf->return_code >= HM_HTTP_SPECIAL_RESPONSE) {
            /* "return 404;": the standard page, through error_page */
            return clcf->return_code;
        }

        /* "return 200;": an empty response */

        return hm_http_send_response(r, clcf->return_code, NULL, NULL);
    }

    if (hm_complex_value(r, r->pool, clcf->return_text, &text) != HM_OK) {
        return HM_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (clcf->return_code >= HM_HTTP_MOVED_PERMANENTLY
        && clcf->return_code <= HM_HTTP_PERMANENT_REDIRECT
        && clcf->return_code != HM_HTTP_NOT_MODIFIED)
    {
        hm_http_clear_location(r);

        r->headers_out.location = hm_http_add_response_header(r,
                                       "Location", sizeof("Location") - 1,
                                       text.data, text.len);
        if (r->headers_out.location == NULL) {
            return HM_HTTP_INTERNAL_SERVER_ERROR;
        }

        return clcf->return_code;
    }

    hm_str_set(&ct, "text/plain");

    return hm_http_send_response(r, clcf->return_code, &ct, &text);
}


hm_http_cleanup_t *
hm_http_cleanup_add(hm_http_request_t *r, size_t size)
{
    hm_http_cleanup_t  *cln;

    r = r->main;

    cln = hm_palloc(r->pool, sizeof(hm_http_cleanup_t));
    if (cln == NULL) {
        return NULL;
    }

    if (size) {
        cln->data = hm_palloc(r->pool, size);
        if (cln->data == NULL) {
            return NULL;
        }

    } else {
        cln->data = NULL;
    }

    cln->handler = NULL;
    cln->next = r->cleanup;

    r->cleanup = cln;

    return cln;
}


static char *
hm_http_core_index(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_core_loc_conf_t *clcf = conf;

    hm_str_t   *value, *index;
    hm_uint_t   i;

    if (clcf->index != HM_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    clcf->index = hm_array_create(cf->pool, 2, sizeof(hm_str_t));
    if (clcf->index == NULL) {
        return HM_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (value[i].len == 0 || value[i].data[0] == '/'
            || hm_strchr(value[i].data, '$'))
        {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "index \"%V\" must be a plain file name",
                              &value[i]);
            return HM_CONF_ERROR;
        }

        index = hm_array_push(clcf->index);
        if (index == NULL) {
            return HM_CONF_ERROR;
        }

        *index = value[i];
    }

    return HM_CONF_OK;
}


/*
 * root + URI, or alias + the URI after the location prefix; reserved
 * bytes are left after the path, which is NUL-terminated.
 */

u_char *
hm_http_map_uri_to_path(hm_http_request_t *r, hm_str_t *path,
    size_t *root_length, size_t reserved)
{
    u_char                    *last;
    size_t                     alias, len;
    hm_str_t                  *base;
    hm_http_core_loc_conf_t   *clcf;

    clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);

    if (clcf->alias.data) {
        base = &clcf->alias;
        alias = clcf->name.len;

        if (alias > r->uri.len) {
            alias = r->uri.len;
        }

    } else {
        base = &clcf->root;
        alias = 0;
    }

    len = r->uri.len - alias;

    *root_length = base->len;

    path->len = base->len + len + 1 + reserved;

    path->data = hm_pnalloc(r->pool, path->len);
    if (path->data == NULL) {
        return NULL;
    }

    last = hm_cpymem(path->data, base->data, base->len);
    last = hm_cpymem(last, r->uri.data + alias, len);

    *last = '\0';

    return last;
}

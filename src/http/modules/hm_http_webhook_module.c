/*
 * Copyright (C) hermod authors
 *
 * The "http" outbound: "outbound NAME http { url ...; }" delivers each
 * message as one HTTP/1.1 request and reports the outcome by the status
 * of the response.  A small non-blocking client over the upstream
 * balancers: a named upstream{} of the http block, or a private group of
 * the URL's addresses, with passive health and keepalive connections.
 *
 * One request: connect (or take a cached connection), TLS for https,
 * write the header and the body, read the status line and the header,
 * then the body (Content-Length, chunked or until close), keep the reply
 * for a request/reply inbound, cache the connection when it allows.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>
#include <hm_pipeline.h>


/* the response header must fit in it; the body streams through it */
#define HM_HTTP_WEBHOOK_BUFFER_SIZE   16384

/* the reply body grows by pieces of this size */
#define HM_HTTP_WEBHOOK_REPLY_CHUNK   8192


/* a header name, case-insensitively */
#define hm_http_webhook_name_is(s, text)                                      \
    ((s)->len == sizeof(text) - 1                                             \
     && hm_strncasecmp((s)->data, (u_char *) text, sizeof(text) - 1) == 0)


/* why an attempt failed */
#define HM_HTTP_WEBHOOK_FT_CONNECT          1
#define HM_HTTP_WEBHOOK_FT_CONNECT_TIMEOUT  2
#define HM_HTTP_WEBHOOK_FT_NOLIVE           3
#define HM_HTTP_WEBHOOK_FT_TIMEOUT          4
#define HM_HTTP_WEBHOOK_FT_ERROR            5
#define HM_HTTP_WEBHOOK_FT_INVALID          6
#define HM_HTTP_WEBHOOK_FT_INTERNAL         7


typedef struct {
    hm_str_t                          name;
    hm_complex_value_t                value;
} hm_http_webhook_header_t;


typedef struct {
    hm_str_t                          url;
    hm_str_t                          host;       /* the Host header */
    hm_str_t                          ssl_name;   /* SNI, verification */
    hm_complex_value_t                uri;
    hm_str_t                          method;
    hm_array_t                       *headers;    /* webhook_header_t */

    hm_flag_t                         pass_headers;
    hm_msec_t                         connect_timeout;
    hm_msec_t                         timeout;
    hm_int_t                          keepalive;
    hm_int_t                          max_requests;
    size_t                            response_buffer_size;

    hm_flag_t                         ssl_server_name;
    hm_flag_t                         ssl_verify;
    hm_int_t                          ssl_verify_depth;
    hm_str_t                          ssl_trusted_certificate;
    hm_ssl_t                         *ssl;

    hm_http_upstream_srv_conf_t      *upstream;

    unsigned                          https:1;
    unsigned                          named:1;    /* an upstream{} */
    unsigned                          id_set:1;   /* "header X-Request-Id" */
} hm_http_webhook_conf_t;


typedef struct hm_http_webhook_request_s  hm_http_webhook_request_t;

typedef void (*hm_http_webhook_handler_pt)(hm_http_webhook_request_t *wr);


/* per worker and outbound */
typedef struct {
    hm_pipeline_outbound_t           *ob;
    hm_http_webhook_conf_t           *conf;
    hm_pool_t                        *pool;

    hm_uint_t                         active;
    hm_queue_t                        busy;       /* requests in flight */
    hm_http_webhook_request_t        *free;       /* idle request slots */

    unsigned                          exiting:1;
} hm_http_webhook_ctx_t;


/* a request slot: reused, its read buffer with it */
struct hm_http_webhook_request_s {
    hm_http_webhook_ctx_t            *ctx;
    hm_msg_t                         *msg;
    hm_queue_t                        queue;
    hm_http_webhook_request_t        *next;

    hm_log_t                          log;
    hm_peer_connection_t              peer;
    hm_http_upstream_rr_peer_data_t   rrp;

    hm_http_webhook_handler_pt        read_handler;
    hm_http_webhook_handler_pt        write_handler;

    hm_chain_t                       *request;    /* all of it */
    hm_chain_t                       *out;        /* what is left to send */

    hm_buf_t                          buffer;     /* the response input */
    hm_http_parse_t                   parse;
    hm_http_status_t                  status;
    hm_http_chunked_t                 chunked;

    hm_uint_t                         status_n;
    hm_uint_t                         http_version;
    off_t                             content_length;
    off_t                             length;     /* body left, -1: EOF */

    hm_array_t                       *reply_headers;
    hm_chain_t                       *reply_body;
    hm_chain_t                      **reply_last;
    hm_buf_t                         *reply_buf;
    size_t                            reply_size;

    hm_msec_t                         start;
    hm_int_t                          rc;

    unsigned                          sync:1;     /* inside send() */
    unsigned                          connected:1;
    unsigned                          request_sent:1;
    unsigned                          received:1;
    unsigned                          header_done:1;
    unsigned                          body_done:1;
    unsigned                          eof_body:1;
    unsigned                          chunked_body:1;
    unsigned                          has_length:1;
    unsigned                          has_te:1;
    unsigned                          connection_close:1;
    unsigned                          extra:1;    /* data after the body */
    unsigned                          head:1;
};


static void *hm_http_webhook_create_conf(hm_conf_t *cf);
static char *hm_http_webhook_init_conf(hm_conf_t *cf,
    hm_pipeline_outbound_t *ob);
static hm_int_t hm_http_webhook_init_keepalive(hm_conf_t *cf,
    hm_http_upstream_srv_conf_t *uscf);
static hm_int_t hm_http_webhook_init_ssl(hm_conf_t *cf,
    hm_http_webhook_conf_t *conf, hm_pipeline_outbound_t *ob);
static char *hm_http_webhook_url(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static hm_int_t hm_http_webhook_url_path(hm_conf_t *cf,
    hm_http_webhook_conf_t *whcf, u_char *start, u_char *last);
static hm_http_upstream_srv_conf_t *hm_http_webhook_find_upstream(
    hm_conf_t *cf, hm_str_t *host);
static hm_http_upstream_srv_conf_t *hm_http_webhook_private_upstream(
    hm_conf_t *cf, hm_url_t *u);
static char *hm_http_webhook_method(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_webhook_header(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);

static hm_int_t hm_http_webhook_init_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
static void hm_http_webhook_exit_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
static hm_int_t hm_http_webhook_send(hm_pipeline_outbound_t *ob,
    hm_msg_t *m);
static void hm_http_webhook_cancel(hm_pipeline_outbound_t *ob, hm_msg_t *m);

static hm_http_webhook_request_t *hm_http_webhook_get_request(
    hm_http_webhook_ctx_t *ctx);
static void hm_http_webhook_reset(hm_http_webhook_request_t *wr);
static void hm_http_webhook_release(hm_http_webhook_request_t *wr);
static hm_int_t hm_http_webhook_create_request(hm_http_webhook_request_t *wr);
static hm_int_t hm_http_webhook_uri(hm_http_webhook_request_t *wr,
    hm_str_t *uri);
static hm_int_t hm_http_webhook_headers(hm_http_webhook_request_t *wr,
    hm_str_t **valuesp, size_t *lenp, hm_uint_t *host, hm_uint_t *id);
static u_char *hm_http_webhook_write_headers(hm_http_webhook_request_t *wr,
    u_char *p, hm_str_t *values, hm_uint_t host, hm_uint_t id);
static hm_uint_t hm_http_webhook_skip_header(hm_http_webhook_conf_t *conf,
    hm_msg_header_t *h);
static hm_uint_t hm_http_webhook_valid_header(hm_str_t *name,
    hm_str_t *value);
static hm_uint_t hm_http_webhook_valid_value(hm_str_t *value);
static hm_int_t hm_http_webhook_body(hm_http_webhook_request_t *wr,
    hm_chain_t **chain);

static void hm_http_webhook_connect(hm_http_webhook_request_t *wr);
static void hm_http_webhook_handler(hm_event_t *ev);
static void hm_http_webhook_connecting(hm_http_webhook_request_t *wr);
static void hm_http_webhook_established(hm_http_webhook_request_t *wr);
static void hm_http_webhook_ssl_init(hm_http_webhook_request_t *wr,
    hm_connection_t *c);
static void hm_http_webhook_ssl_handshake(hm_connection_t *c);
static void hm_http_webhook_start(hm_http_webhook_request_t *wr);
static void hm_http_webhook_send_request(hm_http_webhook_request_t *wr);
static void hm_http_webhook_read_response(hm_http_webhook_request_t *wr);
static hm_int_t hm_http_webhook_process(hm_http_webhook_request_t *wr);
static hm_int_t hm_http_webhook_parse_header(hm_http_webhook_request_t *wr);
static hm_int_t hm_http_webhook_header_line(hm_http_webhook_request_t *wr);
static hm_int_t hm_http_webhook_reply_header(hm_http_webhook_request_t *wr,
    hm_str_t *name, hm_str_t *value);
static void hm_http_webhook_header_done(hm_http_webhook_request_t *wr);
static hm_int_t hm_http_webhook_read_body(hm_http_webhook_request_t *wr);
static hm_int_t hm_http_webhook_reply_body(hm_http_webhook_request_t *wr,
    u_char *p, size_t len);
static void hm_http_webhook_dummy(hm_http_webhook_request_t *wr);

static void hm_http_webhook_done(hm_http_webhook_request_t *wr);
static hm_int_t hm_http_webhook_status(hm_http_webhook_request_t *wr,
    hm_uint_t *state);
static hm_uint_t hm_http_webhook_reusable(hm_http_webhook_request_t *wr);
static void hm_http_webhook_fail(hm_http_webhook_request_t *wr,
    hm_uint_t ft);
static hm_int_t hm_http_webhook_fail_rc(hm_http_webhook_request_t *wr,
    hm_uint_t ft);
static void hm_http_webhook_free_peer(hm_http_webhook_request_t *wr,
    hm_uint_t state);
static void hm_http_webhook_close(hm_http_webhook_request_t *wr,
    hm_uint_t reusable);
static void hm_http_webhook_finalize(hm_http_webhook_request_t *wr,
    hm_int_t rc);
static u_char *hm_http_webhook_log_error(hm_log_t *log, u_char *buf,
    size_t len);


static hm_conf_num_bounds_t  hm_http_webhook_keepalive_bounds = {
    hm_conf_check_num_bounds, 0, 65536
};

static hm_conf_num_bounds_t  hm_http_webhook_max_requests_bounds = {
    hm_conf_check_num_bounds, 1, 1048576
};


static hm_command_t  hm_http_webhook_commands[] = {

    { hm_string("url"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_http_webhook_url,
      0,
      0,
      NULL,
      "http[s]://host_or_upstream[:port][/path]: where to deliver." },

    { hm_string("method"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_http_webhook_method,
      0,
      0,
      NULL,
      "The request method; POST by default." },

    { hm_string("header"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE2,
      hm_http_webhook_header,
      0,
      0,
      NULL,
      "name value: a request header; \"\" drops it; value is a template." },

    { hm_string("pass_headers"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_http_webhook_conf_t, pass_headers),
      NULL,
      "Send the message's headers as request headers." },

    { hm_string("connect_timeout"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_http_webhook_conf_t, connect_timeout),
      NULL,
      "How long connecting (and the TLS handshake) may take." },

    { hm_string("timeout"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_http_webhook_conf_t, timeout),
      NULL,
      "How long sending the request and reading the response may take." },

    { hm_string("keepalive"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_http_webhook_conf_t, keepalive),
      &hm_http_webhook_keepalive_bounds,
      "Idle connections each worker keeps to the URL's host; 0 = none." },

    { hm_string("max_requests"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_http_webhook_conf_t, max_requests),
      &hm_http_webhook_max_requests_bounds,
      "Requests in flight per worker; more messages wait." },

    { hm_string("response_buffer_size"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_size_slot,
      0,
      offsetof(hm_http_webhook_conf_t, response_buffer_size),
      NULL,
      "How much of the response body is kept for a request/reply inbound." },

    { hm_string("ssl_server_name"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_http_webhook_conf_t, ssl_server_name),
      NULL,
      "Send the URL's host name with SNI (https)." },

    { hm_string("ssl_verify"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_http_webhook_conf_t, ssl_verify),
      NULL,
      "Verify the server's certificate and name (https)." },

    { hm_string("ssl_verify_depth"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_http_webhook_conf_t, ssl_verify_depth),
      NULL,
      "How deep the server's certificate chain may be." },

    { hm_string("ssl_trusted_certificate"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      0,
      offsetof(hm_http_webhook_conf_t, ssl_trusted_certificate),
      NULL,
      "CA certificates the server's certificate is verified against." },

      hm_null_command
};


static hm_pipeline_outbound_type_t  hm_http_webhook_type = {
    hm_string("http"),
    hm_http_webhook_create_conf,
    hm_http_webhook_init_conf,
    hm_http_webhook_init_process,
    hm_http_webhook_exit_process,
    hm_http_webhook_send,
    hm_http_webhook_cancel,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_module_t  hm_http_webhook_module_ctx = {
    &hm_http_webhook_type,                 /* outbound */
    NULL,                                  /* inbound */
    { NULL, NULL, NULL }
};


hm_module_t  hm_http_webhook_module = {
    HM_MODULE_V1,
    &hm_http_webhook_module_ctx,           /* module context */
    hm_http_webhook_commands,              /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


/* message headers never sent as they are: hop-by-hop and framing */

static hm_str_t  hm_http_webhook_skip_headers[] = {
    hm_string("Host"),
    hm_string("Content-Length"),
    hm_string("Transfer-Encoding"),
    hm_string("Connection"),
    hm_string("Keep-Alive"),
    hm_string("Proxy-Connection"),
    hm_string("Proxy-Authenticate"),
    hm_string("Proxy-Authorization"),
    hm_string("TE"),
    hm_string("Trailer"),
    hm_string("Upgrade"),
    hm_string("Expect"),
    hm_null_string
};


/* -- configuration --------------------------------------------------- */

static void *
hm_http_webhook_create_conf(hm_conf_t *cf)
{
    hm_http_webhook_conf_t  *conf;

    conf = hm_pcalloc(cf->pool, sizeof(hm_http_webhook_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->pass_headers = HM_CONF_UNSET;
    conf->connect_timeout = HM_CONF_UNSET_MSEC;
    conf->timeout = HM_CONF_UNSET_MSEC;
    conf->keepalive = HM_CONF_UNSET;
    conf->max_requests = HM_CONF_UNSET;
    conf->response_buffer_size = HM_CONF_UNSET_SIZE;
    conf->ssl_server_name = HM_CONF_UNSET;
    conf->ssl_verify = HM_CONF_UNSET;
    conf->ssl_verify_depth = HM_CONF_UNSET;

    return conf;
}


static char *
hm_http_webhook_init_conf(hm_conf_t *cf, hm_pipeline_outbound_t *ob)
{
    hm_http_webhook_conf_t  *conf = ob->conf;

    if (conf->url.data == NULL) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ob->where,
                        "no \"url\" in outbound \"%V\"", &ob->name);
        return HM_CONF_ERROR;
    }

    if (conf->method.data == NULL) {
        hm_str_set(&conf->method, "POST");
    }

    hm_conf_init_value(conf->pass_headers, 1);
    hm_conf_init_msec_value(conf->connect_timeout, 5000);
    hm_conf_init_msec_value(conf->timeout, 30000);
    hm_conf_init_value(conf->max_requests, 256);
    hm_conf_init_value(conf->ssl_server_name, 1);
    hm_conf_init_value(conf->ssl_verify, 0);
    hm_conf_init_value(conf->ssl_verify_depth, 1);

    if (conf->response_buffer_size == HM_CONF_UNSET_SIZE) {
        conf->response_buffer_size = 64 * 1024;
    }

    if (conf->named) {
        if (conf->keepalive != HM_CONF_UNSET) {
            hm_log_error_at(HM_LOG_WARN, cf->log, &ob->where,
                            "\"keepalive\" is ignored in outbound \"%V\": "
                            "upstream \"%V\" has its own", &ob->name,
                            &conf->upstream->host);
        }

    } else {
        hm_conf_init_value(conf->keepalive, 16);

        conf->upstream->keepalive = conf->keepalive;

        if (hm_http_webhook_init_keepalive(cf, conf->upstream) != HM_OK) {
            return HM_CONF_ERROR;
        }
    }

    if (conf->https && hm_http_webhook_init_ssl(cf, conf, ob) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/* the idle connection cache of a private upstream, as upstream{} has */

static hm_int_t
hm_http_webhook_init_keepalive(hm_conf_t *cf,
    hm_http_upstream_srv_conf_t *uscf)
{
    hm_uint_t                            n;
    hm_http_upstream_keepalive_cache_t  *cached;

    hm_queue_init(&uscf->cache);
    hm_queue_init(&uscf->free);

    if (uscf->keepalive == 0) {
        return HM_OK;
    }

    cached = hm_pcalloc(cf->pool, sizeof(hm_http_upstream_keepalive_cache_t)
                                  * uscf->keepalive);
    if (cached == NULL) {
        return HM_ERROR;
    }

    for (n = 0; n < uscf->keepalive; n++) {
        hm_queue_insert_head(&uscf->free, &cached[n].queue);
    }

    return HM_OK;
}


static hm_int_t
hm_http_webhook_init_ssl(hm_conf_t *cf, hm_http_webhook_conf_t *conf,
    hm_pipeline_outbound_t *ob)
{
    hm_pool_cleanup_t  *cln;

    conf->ssl = hm_pcalloc(cf->pool, sizeof(hm_ssl_t));
    if (conf->ssl == NULL) {
        return HM_ERROR;
    }

    conf->ssl->log = cf->log;

    if (hm_ssl_create(conf->ssl, HM_SSL_DEFAULT_PROTOCOLS, NULL) != HM_OK) {
        return HM_ERROR;
    }

    cln = hm_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return HM_ERROR;
    }

    cln->handler = hm_ssl_cleanup_ctx;
    cln->data = conf->ssl;

    if (conf->ssl_verify && conf->ssl_trusted_certificate.len == 0) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ob->where,
                        "no \"ssl_trusted_certificate\" for \"ssl_verify\" "
                        "in outbound \"%V\"", &ob->name);
        return HM_ERROR;
    }

    if (conf->ssl_trusted_certificate.len
        && hm_ssl_trusted_certificate(cf, conf->ssl,
                                      &conf->ssl_trusted_certificate,
                                      conf->ssl_verify_depth)
           != HM_OK)
    {
        return HM_ERROR;
    }

    return HM_OK;
}


/*
 * "url http[s]://host[:port][/path]": an upstream{} named host (declared
 * in an http block before the outbound), else host:port resolved now.
 */

static char *
hm_http_webhook_url(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_webhook_conf_t *whcf = conf;

    size_t                         add;
    u_char                        *host_end, *last;
    hm_url_t                       u;
    hm_str_t                      *value, *url;
    hm_http_upstream_srv_conf_t   *uscf;

    if (whcf->url.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    url = &value[1];
    last = url->data + url->len;

    if (url->len > 7
        && hm_strncasecmp(url->data, (u_char *) "http://", 7) == 0)
    {
        add = 7;

    } else if (url->len > 8
               && hm_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
    {
        add = 8;
        whcf->https = 1;

    } else {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid URL prefix in \"%V\"", url);
        return HM_CONF_ERROR;
    }

    for (host_end = url->data + add;
         host_end < last && *host_end != '/' && *host_end != '?';
         host_end++)
    {
        /* void */
    }

    hm_memzero(&u, sizeof(hm_url_t));

    u.url.data = url->data + add;
    u.url.len = host_end - u.url.data;
    u.default_port = whcf->https ? 443 : 80;
    u.no_resolve = 1;

    if (hm_strlchr(u.url.data, host_end, '$')
        || hm_strlchr(u.url.data, host_end, '@'))
    {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "variables and user names are not supported in "
                          "the host of \"%V\"", url);
        return HM_CONF_ERROR;
    }

    if (hm_parse_url(cf->pool, &u) != HM_OK) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%s in \"%V\"",
                          u.err ? u.err : "invalid URL", url);
        return HM_CONF_ERROR;
    }

    if (hm_http_webhook_url_path(cf, whcf, host_end, last) != HM_OK) {
        return HM_CONF_ERROR;
    }

    whcf->url = *url;
    whcf->host = u.url;
    whcf->ssl_name = u.host;

    uscf = hm_http_webhook_find_upstream(cf, &u.host);

    if (uscf) {
        if (!u.no_port) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "upstream \"%V\" may not have a port in \"%V\"",
                              &u.host, url);
            return HM_CONF_ERROR;
        }

        whcf->upstream = uscf;
        whcf->named = 1;

        return HM_CONF_OK;
    }

    u.no_resolve = 0;

    if (hm_parse_url(cf->pool, &u) != HM_OK) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "%s in \"%V\" (an upstream must be declared in an "
                          "http block before the outbound that uses it)",
                          u.err ? u.err : "host not found", url);
        return HM_CONF_ERROR;
    }

    whcf->upstream = hm_http_webhook_private_upstream(cf, &u);
    if (whcf->upstream == NULL) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/* the path part, a template: "" is "/", "?a=b" is "/?a=b" */

static hm_int_t
hm_http_webhook_url_path(hm_conf_t *cf, hm_http_webhook_conf_t *whcf,
    u_char *start, u_char *last)
{
    hm_str_t  path;

    path.len = last - start;
    path.data = start;

    if (path.len == 0 || *start == '?') {
        path.data = hm_pnalloc(cf->pool, path.len + 1);
        if (path.data == NULL) {
            return HM_ERROR;
        }

        path.data[0] = '/';
        hm_memcpy(path.data + 1, start, path.len);
        path.len++;
    }

    return hm_complex_value_compile(cf, &path, HM_VAR_MESSAGE, &whcf->uri);
}


static hm_http_upstream_srv_conf_t *
hm_http_webhook_find_upstream(hm_conf_t *cf, hm_str_t *host)
{
    hm_uint_t                       i;
    hm_http_upstream_srv_conf_t   **uscfp;
    hm_http_upstream_main_conf_t   *umcf;

    umcf = hm_http_cycle_get_module_main_conf(cf->cycle,
                                              hm_http_upstream_module);
    if (umcf == NULL) {
        return NULL;
    }

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {

        /* the implicit ones are proxy_pass's host:port, not names */

        if (uscfp[i]->implicit || uscfp[i]->peers == NULL
            || uscfp[i]->host.len != host->len
            || hm_strncasecmp(uscfp[i]->host.data, host->data, host->len)
               != 0)
        {
            continue;
        }

        return uscfp[i];
    }

    return NULL;
}


/* one server with every address of the host, as proxy_pass makes one */

static hm_http_upstream_srv_conf_t *
hm_http_webhook_private_upstream(hm_conf_t *cf, hm_url_t *u)
{
    hm_http_upstream_srv_conf_t  *uscf;

    uscf = hm_http_upstream_create_srv_conf(cf, u, 1);
    if (uscf == NULL) {
        return NULL;
    }

    uscf->balancer = HM_HTTP_UPSTREAM_RR;
    uscf->keepalive_timeout = 60000;
    uscf->keepalive_requests = 1000;

    if (hm_http_upstream_init_peers(cf, uscf) != HM_OK) {
        return NULL;
    }

    return uscf;
}


static char *
hm_http_webhook_method(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_webhook_conf_t *whcf = conf;

    hm_str_t   *value;
    hm_uint_t   i;

    if (whcf->method.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] < 'A' || value[1].data[i] > 'Z') {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid method \"%V\"", &value[1]);
            return HM_CONF_ERROR;
        }
    }

    whcf->method = value[1];

    return HM_CONF_OK;
}


static char *
hm_http_webhook_header(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_webhook_conf_t *whcf = conf;

    hm_str_t                   *value, empty;
    hm_http_webhook_header_t   *h;

    value = cf->args->elts;

    hm_str_set(&empty, "");

    if (!hm_http_webhook_valid_header(&value[1], &empty)) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid header name \"%V\"", &value[1]);
        return HM_CONF_ERROR;
    }

    if (hm_http_webhook_name_is(&value[1], "Content-Length")
        || hm_http_webhook_name_is(&value[1], "Transfer-Encoding")
        || hm_http_webhook_name_is(&value[1], "Connection"))
    {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "the \"%V\" header cannot be set", &value[1]);
        return HM_CONF_ERROR;
    }

    if (whcf->headers == NULL) {
        whcf->headers = hm_array_create(cf->pool, 4,
                                        sizeof(hm_http_webhook_header_t));
        if (whcf->headers == NULL) {
            return HM_CONF_ERROR;
        }
    }

    h = hm_array_push(whcf->headers);
    if (h == NULL) {
        return HM_CONF_ERROR;
    }

    h->name = value[1];

    if (hm_complex_value_compile(cf, &value[2], HM_VAR_MESSAGE, &h->value)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    if (hm_http_webhook_name_is(&value[1], "X-Request-Id")) {
        whcf->id_set = 1;
    }

    return HM_CONF_OK;
}


/* -- per worker ------------------------------------------------------ */

static hm_int_t
hm_http_webhook_init_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_http_webhook_ctx_t  *ctx;

    ctx = hm_pcalloc(cycle->pool, sizeof(hm_http_webhook_ctx_t));
    if (ctx == NULL) {
        return HM_ERROR;
    }

    ctx->ob = ob;
    ctx->conf = ob->conf;
    ctx->pool = cycle->pool;

    hm_queue_init(&ctx->busy);

    ob->data = ctx;

    return HM_OK;
}


static void
hm_http_webhook_exit_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_queue_t                 *q;
    hm_http_webhook_ctx_t      *ctx;
    hm_http_webhook_request_t  *wr;

    ctx = ob->data;

    if (ctx == NULL) {
        return;
    }

    ctx->exiting = 1;

    while (!hm_queue_empty(&ctx->busy)) {
        q = hm_queue_head(&ctx->busy);
        wr = hm_queue_data(q, hm_http_webhook_request_t, queue);

        hm_http_webhook_close(wr, 0);
        hm_http_webhook_free_peer(wr, 0);
        hm_http_webhook_release(wr);
    }
}


static hm_int_t
hm_http_webhook_send(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_http_webhook_ctx_t      *ctx;
    hm_http_webhook_conf_t     *conf;
    hm_http_webhook_request_t  *wr;

    ctx = ob->data;
    conf = ctx->conf;

    if (ctx->active >= (hm_uint_t) conf->max_requests) {
        return HM_BUSY;
    }

    wr = hm_http_webhook_get_request(ctx);
    if (wr == NULL) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_ERROR;
    }

    wr->msg = m;
    m->send_data = wr;

    wr->log = *(m->log ? m->log : hm_cycle->log);
    wr->log.handler = hm_http_webhook_log_error;
    wr->log.data = wr;
    wr->log.action = NULL;

    hm_memzero(&m->reply, sizeof(hm_msg_reply_t));

    if (hm_http_webhook_create_request(wr) != HM_OK
        || hm_http_upstream_init_rr_peer(m->pool, conf->upstream, &wr->rrp,
                                         &m->key, &wr->peer)
           != HM_OK)
    {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL,
                         "cannot create the request of outbound \"%V\"",
                         &ob->name);
        m->send_data = NULL;
        hm_http_webhook_release(wr);
        return HM_ERROR;
    }

    hm_http_webhook_reset(wr);

    wr->sync = 1;
    wr->rc = HM_AGAIN;

    hm_http_webhook_connect(wr);

    wr->sync = 0;

    return wr->rc;
}


static void
hm_http_webhook_cancel(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_http_webhook_request_t  *wr;

    wr = m->send_data;

    if (wr == NULL || wr->msg != m) {
        return;
    }

    hm_log_error(HM_LOG_INFO, &wr->log, 0, "webhook request cancelled");

    m->send_data = NULL;

    hm_http_webhook_close(wr, 0);
    hm_http_webhook_free_peer(wr, (hm_exiting || hm_terminate)
                                  ? 0 : HM_PEER_FAILED);
    hm_http_webhook_release(wr);
}


/* -- request slots ---------------------------------------------------- */

static hm_http_webhook_request_t *
hm_http_webhook_get_request(hm_http_webhook_ctx_t *ctx)
{
    u_char                     *p;
    hm_http_webhook_request_t  *wr;

    wr = ctx->free;

    if (wr) {
        ctx->free = wr->next;

    } else {
        wr = hm_pcalloc(ctx->pool, sizeof(hm_http_webhook_request_t));
        if (wr == NULL) {
            return NULL;
        }

        p = hm_palloc(ctx->pool, HM_HTTP_WEBHOOK_BUFFER_SIZE);
        if (p == NULL) {
            return NULL;
        }

        wr->ctx = ctx;
        wr->buffer.start = p;
        wr->buffer.end = p + HM_HTTP_WEBHOOK_BUFFER_SIZE;
        wr->buffer.temporary = 1;
    }

    wr->next = NULL;
    wr->request = NULL;
    wr->out = NULL;
    wr->sync = 0;
    wr->head = 0;

    hm_memzero(&wr->peer, sizeof(hm_peer_connection_t));
    hm_memzero(&wr->rrp, sizeof(hm_http_upstream_rr_peer_data_t));

    wr->peer.log = &wr->log;

    hm_queue_insert_tail(&ctx->busy, &wr->queue);
    ctx->active++;

    return wr;
}


/* before each connection: the request from its start, no response yet */

static void
hm_http_webhook_reset(hm_http_webhook_request_t *wr)
{
    hm_chain_t  *cl;

    for (cl = wr->request; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->start;
    }

    wr->out = wr->request;

    hm_memzero(&wr->parse, sizeof(hm_http_parse_t));
    hm_memzero(&wr->status, sizeof(hm_http_status_t));
    hm_memzero(&wr->chunked, sizeof(hm_http_chunked_t));

    wr->buffer.pos = wr->buffer.start;
    wr->buffer.last = wr->buffer.start;

    wr->status_n = 0;
    wr->http_version = 0;
    wr->content_length = -1;
    wr->length = -1;

    wr->reply_headers = NULL;
    wr->reply_body = NULL;
    wr->reply_last = &wr->reply_body;
    wr->reply_buf = NULL;
    wr->reply_size = 0;

    wr->connected = 0;
    wr->request_sent = 0;
    wr->received = 0;
    wr->header_done = 0;
    wr->body_done = 0;
    wr->eof_body = 0;
    wr->chunked_body = 0;
    wr->has_length = 0;
    wr->has_te = 0;
    wr->connection_close = 0;
    wr->extra = 0;
}


static void
hm_http_webhook_release(hm_http_webhook_request_t *wr)
{
    hm_http_webhook_ctx_t  *ctx;

    ctx = wr->ctx;

    hm_queue_remove(&wr->queue);

    wr->msg = NULL;
    wr->next = ctx->free;
    ctx->free = wr;

    ctx->active--;

    if (!ctx->exiting) {
        hm_pipeline_outbound_ready(ctx->ob);
    }
}


/* -- the request ------------------------------------------------------ */

static hm_int_t
hm_http_webhook_create_request(hm_http_webhook_request_t *wr)
{
    u_char                  *p;
    size_t                   len;
    hm_str_t                 uri, *values;
    hm_buf_t                *b;
    hm_msg_t                *m;
    hm_uint_t                host, id;
    hm_chain_t              *cl, *body;
    hm_http_webhook_conf_t  *conf;

    m = wr->msg;
    conf = wr->ctx->conf;

    if (hm_msg_body_sync(m) != HM_OK
        || hm_http_webhook_uri(wr, &uri) != HM_OK
        || hm_http_webhook_body(wr, &body) != HM_OK
        || hm_http_webhook_headers(wr, &values, &len, &host, &id) != HM_OK)
    {
        return HM_ERROR;
    }

    wr->head = (conf->method.len == 4
                && hm_strncmp(conf->method.data, "HEAD", 4) == 0);

    len += conf->method.len + 1 + uri.len + sizeof(" HTTP/1.1" CRLF) - 1
           + sizeof("Content-Length: " CRLF) - 1 + HM_INT64_LEN
           + sizeof("Connection: keep-alive" CRLF) - 1 + sizeof(CRLF) - 1;

    b = hm_create_temp_buf(m->pool, len);
    cl = hm_alloc_chain_link(m->pool);

    if (b == NULL || cl == NULL) {
        return HM_ERROR;
    }

    p = hm_cpymem(b->last, conf->method.data, conf->method.len);
    *p++ = ' ';
    p = hm_cpymem(p, uri.data, uri.len);
    p = hm_cpymem(p, " HTTP/1.1" CRLF, sizeof(" HTTP/1.1" CRLF) - 1);

    p = hm_http_webhook_write_headers(wr, p, values, host, id);

    p = hm_sprintf(p, "Content-Length: %O" CRLF, hm_chain_size(body));

    p = conf->upstream->keepalive
        ? hm_cpymem(p, "Connection: keep-alive" CRLF CRLF,
                    sizeof("Connection: keep-alive" CRLF CRLF) - 1)
        : hm_cpymem(p, "Connection: close" CRLF CRLF,
                    sizeof("Connection: close" CRLF CRLF) - 1);

    b->last = p;

    cl->buf = b;
    cl->next = body;

    wr->request = cl;

    return HM_OK;
}


/*
 * The headers' values and their length: the configured ones ("" or an
 * invalid value drops one), the message's, Host and X-Request-Id unless
 * set by those.
 */

static hm_int_t
hm_http_webhook_headers(hm_http_webhook_request_t *wr, hm_str_t **valuesp,
    size_t *lenp, hm_uint_t *host, hm_uint_t *id)
{
    size_t                     len;
    hm_str_t                  *values;
    hm_msg_t                  *m;
    hm_uint_t                  i, n;
    hm_msg_header_t           *mh;
    hm_http_webhook_conf_t    *conf;
    hm_http_webhook_header_t  *ch;

    m = wr->msg;
    conf = wr->ctx->conf;

    n = conf->headers ? conf->headers->nelts : 0;
    ch = n ? conf->headers->elts : NULL;

    values = hm_palloc(m->pool, (n + 1) * sizeof(hm_str_t));
    if (values == NULL) {
        return HM_ERROR;
    }

    len = 0;
    *host = 0;
    *id = conf->id_set || !hm_http_webhook_valid_value(&m->id)
          || m->id.len == 0;

    for (i = 0; i < n; i++) {

        if (hm_complex_value(m, m->pool, &ch[i].value, &values[i]) != HM_OK)
        {
            return HM_ERROR;
        }

        if (values[i].len == 0) {
            continue;
        }

        if (!hm_http_webhook_valid_header(&ch[i].name, &values[i])) {
            hm_log_error(HM_LOG_WARN, &wr->log, 0,
                         "invalid value of header \"%V\" not sent",
                         &ch[i].name);
            values[i].len = 0;
            continue;
        }

        *host |= hm_http_webhook_name_is(&ch[i].name, "Host");
        *id |= hm_http_webhook_name_is(&ch[i].name, "X-Request-Id");

        len += ch[i].name.len + 2 + values[i].len + 2;
    }

    mh = m->headers.elts;

    for (i = 0; conf->pass_headers && i < m->headers.nelts; i++) {
        if (!hm_http_webhook_skip_header(conf, &mh[i])) {
            *id |= hm_http_webhook_name_is(&mh[i].name, "X-Request-Id");
            len += mh[i].name.len + 2 + mh[i].value.len + 2;
        }
    }

    if (!*host) {
        len += sizeof("Host: " CRLF) - 1 + conf->host.len;
    }

    if (!*id) {
        len += sizeof("X-Request-Id: " CRLF) - 1 + m->id.len;
    }

    *valuesp = values;
    *lenp = len;

    return HM_OK;
}


static u_char *
hm_http_webhook_write_headers(hm_http_webhook_request_t *wr, u_char *p,
    hm_str_t *values, hm_uint_t host, hm_uint_t id)
{
    hm_msg_t                  *m;
    hm_uint_t                  i;
    hm_msg_header_t           *mh;
    hm_http_webhook_conf_t    *conf;
    hm_http_webhook_header_t  *ch;

    m = wr->msg;
    conf = wr->ctx->conf;

    if (!host) {
        p = hm_sprintf(p, "Host: %V" CRLF, &conf->host);
    }

    ch = conf->headers ? conf->headers->elts : NULL;

    for (i = 0; conf->headers && i < conf->headers->nelts; i++) {
        if (values[i].len) {
            p = hm_sprintf(p, "%V: %V" CRLF, &ch[i].name, &values[i]);
        }
    }

    mh = m->headers.elts;

    for (i = 0; conf->pass_headers && i < m->headers.nelts; i++) {
        if (!hm_http_webhook_skip_header(conf, &mh[i])) {
            p = hm_sprintf(p, "%V: %V" CRLF, &mh[i].name, &mh[i].value);
        }
    }

    if (!id) {
        p = hm_sprintf(p, "X-Request-Id: %V" CRLF, &m->id);
    }

    return p;
}


/* the evaluated path, with what may not go in a request line escaped */

static hm_int_t
hm_http_webhook_uri(hm_http_webhook_request_t *wr, hm_str_t *uri)
{
    u_char     *p, ch;
    size_t      i, n;
    hm_msg_t   *m;
    hm_str_t    raw;

    m = wr->msg;

    if (hm_complex_value(m, m->pool, &wr->ctx->conf->uri, &raw) != HM_OK) {
        return HM_ERROR;
    }

    n = 0;

    for (i = 0; i < raw.len; i++) {
        ch = raw.data[i];
        n += (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '#');
    }

    if (n == 0 && raw.len && raw.data[0] == '/') {
        *uri = raw;
        return HM_OK;
    }

    p = hm_pnalloc(m->pool, 1 + raw.len + 2 * n);
    if (p == NULL) {
        return HM_ERROR;
    }

    uri->data = p;

    if (raw.len == 0 || raw.data[0] != '/') {
        *p++ = '/';
    }

    for (i = 0; i < raw.len; i++) {
        ch = raw.data[i];

        if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '#') {
            p = hm_sprintf(p, "%%%02Xd", (int) ch);
            continue;
        }

        *p++ = ch;
    }

    uri->len = p - uri->data;

    return HM_OK;
}


/* a message header that is not sent: framing, hop-by-hop, configured */

static hm_uint_t
hm_http_webhook_skip_header(hm_http_webhook_conf_t *conf, hm_msg_header_t *h)
{
    hm_str_t                  *s;
    hm_uint_t                  i;
    hm_http_webhook_header_t  *ch;

    for (s = hm_http_webhook_skip_headers; s->len; s++) {
        if (s->len == h->name.len
            && hm_strncasecmp(s->data, h->name.data, s->len) == 0)
        {
            return 1;
        }
    }

    if (conf->headers) {
        ch = conf->headers->elts;

        for (i = 0; i < conf->headers->nelts; i++) {
            if (ch[i].name.len == h->name.len
                && hm_strncasecmp(ch[i].name.data, h->name.data,
                                  h->name.len) == 0)
            {
                return 1;
            }
        }
    }

    return !hm_http_webhook_valid_header(&h->name, &h->value);
}


/* a token for the name, no CR, LF, NUL or other controls in the value */

static hm_uint_t
hm_http_webhook_valid_header(hm_str_t *name, hm_str_t *value)
{
    u_char     ch;
    hm_uint_t  i;

    static u_char  tchar[] = "!#$%&'*+-.^_`|~";

    if (name->len == 0) {
        return 0;
    }

    for (i = 0; i < name->len; i++) {
        ch = name->data[i];

        if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')
            || (ch >= 'A' && ch <= 'Z')
            || (ch && hm_strchr(tchar, ch)))
        {
            continue;
        }

        return 0;
    }

    return hm_http_webhook_valid_value(value);
}


static hm_uint_t
hm_http_webhook_valid_value(hm_str_t *value)
{
    u_char     ch;
    hm_uint_t  i;

    for (i = 0; i < value->len; i++) {
        ch = value->data[i];

        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* the body: our own buffers over the message's, which stay untouched */

static hm_int_t
hm_http_webhook_body(hm_http_webhook_request_t *wr, hm_chain_t **chain)
{
    hm_buf_t     *b;
    hm_msg_t     *m;
    hm_chain_t   *in, *cl, **ll;

    m = wr->msg;

    *chain = NULL;
    ll = chain;

    for (in = m->body; in; in = in->next) {

        if (hm_buf_special(in->buf)) {
            continue;
        }

        if (!hm_buf_in_memory(in->buf) || in->buf->in_file) {
            hm_log_error(HM_LOG_ALERT, &wr->log, 0,
                         "a message body in a file cannot be sent");
            return HM_ERROR;
        }

        if (in->buf->pos == in->buf->last) {
            continue;
        }

        b = hm_calloc_buf(m->pool);
        if (b == NULL) {
            return HM_ERROR;
        }

        b->pos = in->buf->pos;
        b->last = in->buf->last;
        b->start = b->pos;
        b->end = b->last;
        b->memory = 1;

        cl = hm_alloc_chain_link(m->pool);
        if (cl == NULL) {
            return HM_ERROR;
        }

        cl->buf = b;
        cl->next = NULL;

        *ll = cl;
        ll = &cl->next;
    }

    return HM_OK;
}


/* -- connecting ------------------------------------------------------- */

static void
hm_http_webhook_connect(hm_http_webhook_request_t *wr)
{
    hm_int_t                 rc;
    hm_connection_t         *c;
    hm_http_webhook_conf_t  *conf;

    conf = wr->ctx->conf;

    wr->log.action = "connecting to webhook";
    wr->start = hm_current_msec;

    rc = hm_event_connect_peer(&wr->peer);

    if (rc == HM_ERROR) {
        hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_INTERNAL);
        return;
    }

    if (rc == HM_BUSY) {
        hm_log_error(HM_LOG_ERR, &wr->log, 0, "no live upstreams");
        hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_NOLIVE);
        return;
    }

    if (rc == HM_DECLINED) {
        hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_CONNECT);
        return;
    }

    /* HM_OK, HM_AGAIN, HM_DONE (a cached connection) */

    c = wr->peer.connection;

    c->data = wr;
    c->requests++;
    c->read->handler = hm_http_webhook_handler;
    c->write->handler = hm_http_webhook_handler;

    if (c->pool == NULL) {

        /* its own pool: the TLS state lives as long as the connection */

        c->pool = hm_create_pool(128, &wr->log);
        if (c->pool == NULL) {
            hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_INTERNAL);
            return;
        }
    }

    c->log = &wr->log;
    c->pool->log = &wr->log;
    c->read->log = &wr->log;
    c->write->log = &wr->log;

    wr->log.connection = c->number;

    if (rc == HM_AGAIN) {
        wr->read_handler = hm_http_webhook_connecting;
        wr->write_handler = hm_http_webhook_connecting;

        hm_event_add_timer(c->write, conf->connect_timeout);
        return;
    }

    hm_http_webhook_established(wr);
}


static void
hm_http_webhook_handler(hm_event_t *ev)
{
    hm_connection_t            *c;
    hm_http_webhook_request_t  *wr;

    c = ev->data;
    wr = c->data;

    if (c->close && c->error) {
        /* worker_shutdown_timeout: no answer will be waited for */
        hm_log_error(HM_LOG_INFO, &wr->log, 0,
                     "webhook request abandoned: the worker stops");

        wr->peer.tries = 0;
        wr->peer.cached = 0;

        hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_ERROR);
        return;
    }

    if (ev->timedout) {
        hm_http_webhook_fail(wr, wr->connected
                                 ? HM_HTTP_WEBHOOK_FT_TIMEOUT
                                 : HM_HTTP_WEBHOOK_FT_CONNECT_TIMEOUT);
        return;
    }

    if (ev->write) {
        wr->write_handler(wr);

    } else {
        wr->read_handler(wr);
    }
}


static void
hm_http_webhook_connecting(hm_http_webhook_request_t *wr)
{
    if (hm_event_test_connect(wr->peer.connection) != HM_OK) {
        hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_CONNECT);
        return;
    }

    hm_http_webhook_established(wr);
}


static void
hm_http_webhook_established(hm_http_webhook_request_t *wr)
{
    hm_connection_t  *c;

    c = wr->peer.connection;

    if (wr->ctx->conf->ssl && c->ssl == NULL) {
        hm_http_webhook_ssl_init(wr, c);
        return;
    }

    hm_http_webhook_start(wr);
}


static void
hm_http_webhook_ssl_init(hm_http_webhook_request_t *wr, hm_connection_t *c)
{
    hm_int_t                 rc;
    hm_http_webhook_conf_t  *conf;

    conf = wr->ctx->conf;

    if (hm_ssl_create_connection(conf->ssl, c, HM_SSL_BUFFER|HM_SSL_CLIENT)
        != HM_OK)
    {
        hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_INTERNAL);
        return;
    }

    if (conf->ssl_server_name
        && hm_ssl_set_server_name(c, &conf->ssl_name) != HM_OK)
    {
        hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_INTERNAL);
        return;
    }

    wr->log.action = "SSL handshaking to webhook";

    rc = hm_ssl_handshake(c);

    if (rc == HM_AGAIN) {

        if (!c->write->timer_set) {
            hm_event_add_timer(c->write, conf->connect_timeout);
        }

        c->ssl->handler = hm_http_webhook_ssl_handshake;
        return;
    }

    hm_http_webhook_ssl_handshake(c);
}


static void
hm_http_webhook_ssl_handshake(hm_connection_t *c)
{
    long                        rc;
    hm_http_webhook_conf_t     *conf;
    hm_http_webhook_request_t  *wr;

    wr = c->data;
    conf = wr->ctx->conf;

    c->read->handler = hm_http_webhook_handler;
    c->write->handler = hm_http_webhook_handler;

    if (c->ssl == NULL || !c->ssl->handshaked) {
        hm_http_webhook_fail(wr, (c->write->timedout || c->read->timedout)
                                 ? HM_HTTP_WEBHOOK_FT_CONNECT_TIMEOUT
                                 : HM_HTTP_WEBHOOK_FT_CONNECT);
        return;
    }

    if (conf->ssl_verify) {
        if (hm_ssl_verify_result(c, &rc) != HM_OK) {
            hm_log_error(HM_LOG_ERR, c->log, 0,
                         "webhook SSL certificate verify error: (%l:%s)",
                         rc, X509_verify_cert_error_string(rc));
            hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_CONNECT);
            return;
        }

        if (hm_ssl_check_host(c, &conf->ssl_name) != HM_OK) {
            hm_log_error(HM_LOG_ERR, c->log, 0,
                         "webhook SSL certificate does not match \"%V\"",
                         &conf->ssl_name);
            hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_CONNECT);
            return;
        }
    }

    hm_http_webhook_start(wr);
}


/* connected (and TLS done): from now on "timeout" bounds the exchange */

static void
hm_http_webhook_start(hm_http_webhook_request_t *wr)
{
    hm_connection_t  *c;

    c = wr->peer.connection;

    if (c->write->timer_set) {
        hm_event_del_timer(c->write);
    }

    hm_event_add_timer(c->read, wr->ctx->conf->timeout);

    wr->connected = 1;
    wr->read_handler = hm_http_webhook_read_response;
    wr->write_handler = hm_http_webhook_send_request;

    hm_http_webhook_send_request(wr);
}


static void
hm_http_webhook_send_request(hm_http_webhook_request_t *wr)
{
    hm_chain_t       *chain;
    hm_connection_t  *c;

    c = wr->peer.connection;

    wr->log.action = "sending request to webhook";

    chain = c->send_chain(c, wr->out, 0);

    if (chain == HM_CHAIN_ERROR) {
        hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_ERROR);
        return;
    }

    wr->out = chain;

    if (chain) {
        if (hm_handle_write_event(c->write, 0) != HM_OK) {
            hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_INTERNAL);
        }

        return;
    }

    wr->request_sent = 1;
    wr->write_handler = hm_http_webhook_dummy;
    wr->log.action = "reading response from webhook";

    if (c->read->ready) {
        hm_http_webhook_read_response(wr);
    }
}


static void
hm_http_webhook_dummy(hm_http_webhook_request_t *wr)
{
}


/* -- the response ----------------------------------------------------- */

static void
hm_http_webhook_read_response(hm_http_webhook_request_t *wr)
{
    ssize_t           n;
    hm_int_t          rc;
    hm_buf_t         *b;
    hm_connection_t  *c;

    c = wr->peer.connection;
    b = &wr->buffer;

    for ( ;; ) {

        if (b->last == b->end) {
            hm_log_error(HM_LOG_ERR, &wr->log, 0,
                         "webhook sent too big header");
            hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_INVALID);
            return;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == HM_AGAIN) {
            if (hm_handle_read_event(c->read, 0) != HM_OK) {
                hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_INTERNAL);
            }

            return;
        }

        if (n == 0 && wr->header_done && wr->eof_body) {
            wr->body_done = 1;
            hm_http_webhook_done(wr);
            return;
        }

        if (n == 0 || n == HM_ERROR) {

            /* a cached connection closed by the server: no news */

            if (n == 0 && !(wr->peer.cached && !wr->received)) {
                hm_log_error(HM_LOG_ERR, &wr->log, 0,
                             "webhook prematurely closed connection");
            }

            hm_http_webhook_fail(wr, HM_HTTP_WEBHOOK_FT_ERROR);
            return;
        }

        wr->received = 1;
        b->last += n;

        rc = hm_http_webhook_process(wr);

        if (rc == HM_AGAIN) {
            continue;
        }

        if (rc == HM_OK) {
            hm_http_webhook_done(wr);
            return;
        }

        hm_http_webhook_fail(wr, rc == HM_ABORT
                                 ? HM_HTTP_WEBHOOK_FT_INTERNAL
                                 : HM_HTTP_WEBHOOK_FT_INVALID);
        return;
    }
}


/* HM_OK: the whole response; HM_AGAIN; HM_ERROR: invalid; HM_ABORT */

static hm_int_t
hm_http_webhook_process(hm_http_webhook_request_t *wr)
{
    hm_int_t  rc;

    if (!wr->header_done) {
        rc = hm_http_webhook_parse_header(wr);

        if (rc != HM_OK) {
            return rc;
        }

        hm_http_webhook_header_done(wr);
    }

    return hm_http_webhook_read_body(wr);
}


static hm_int_t
hm_http_webhook_parse_header(hm_http_webhook_request_t *wr)
{
    hm_int_t   rc;
    hm_buf_t  *b;

    b = &wr->buffer;

    for ( ;; ) {

        if (wr->status_n == 0) {
            rc = hm_http_parse_status_line(&wr->parse, b, &wr->status);

            if (rc == HM_AGAIN) {
                return HM_AGAIN;
            }

            if (rc != HM_OK || wr->status.code < 100
                || wr->status.code > 599)
            {
                hm_log_error(HM_LOG_ERR, &wr->log, 0,
                             "webhook sent no valid HTTP/1.x header");
                return HM_ERROR;
            }

            wr->status_n = wr->status.code;
            wr->http_version = wr->status.http_version;
        }

        rc = hm_http_parse_header_line(&wr->parse, b, 1);

        if (rc == HM_OK) {
            rc = hm_http_webhook_header_line(wr);

            if (rc != HM_OK) {
                return rc;
            }

            continue;
        }

        if (rc == HM_AGAIN) {
            return HM_AGAIN;
        }

        if (rc != HM_HTTP_PARSE_HEADER_DONE) {
            hm_log_error(HM_LOG_ERR, &wr->log, 0,
                         "webhook sent invalid header");
            return HM_ERROR;
        }

        if (wr->chunked_body && wr->has_length) {
            hm_log_error(HM_LOG_ERR, &wr->log, 0,
                         "webhook sent \"Content-Length\" and "
                         "\"Transfer-Encoding\" headers at the same time");
            return HM_ERROR;
        }

        if (wr->status_n >= 200 || wr->status_n == 101) {
            return HM_OK;
        }

        /* 100 Continue and the like: the real status line follows */

        wr->status_n = 0;
        wr->has_length = 0;
        wr->has_te = 0;
        wr->chunked_body = 0;
        wr->connection_close = 0;
        wr->content_length = -1;

        if (wr->reply_headers) {
            wr->reply_headers->nelts = 0;
        }

        hm_memzero(&wr->parse, sizeof(hm_http_parse_t));
        hm_memzero(&wr->status, sizeof(hm_http_status_t));
    }
}


static hm_int_t
hm_http_webhook_header_line(hm_http_webhook_request_t *wr)
{
    off_t      n;
    hm_str_t   name, value;

    name.data = wr->parse.header_name_start;
    name.len = wr->parse.header_name_end - name.data;
    value.data = wr->parse.header_start;
    value.len = wr->parse.header_end - value.data;

    if (hm_http_webhook_name_is(&name, "Connection")) {
        if (hm_strnstr_case(value.data, "close", value.len)) {
            wr->connection_close = 1;
        }

    } else if (hm_http_webhook_name_is(&name, "Transfer-Encoding")) {

        if (wr->has_te || !hm_http_webhook_name_is(&value, "chunked")) {
            hm_log_error(HM_LOG_ERR, &wr->log, 0,
                         "webhook sent unsupported \"Transfer-Encoding: "
                         "%V\"", &value);
            return HM_ERROR;
        }

        wr->has_te = 1;
        wr->chunked_body = 1;

    } else if (hm_http_webhook_name_is(&name, "Content-Length")) {

        n = hm_atoof(value.data, value.len);

        if (n == HM_ERROR || (wr->has_length && n != wr->content_length)) {
            hm_log_error(HM_LOG_ERR, &wr->log, 0,
                         "webhook sent invalid \"Content-Length: %V\"",
                         &value);
            return HM_ERROR;
        }

        wr->has_length = 1;
        wr->content_length = n;
    }

    return hm_http_webhook_reply_header(wr, &name, &value);
}


/*
 * A response header for the reply, unless it is about this connection;
 * Date and Server are the inbound's own, as proxy_pass hides them.
 */

static hm_int_t
hm_http_webhook_reply_header(hm_http_webhook_request_t *wr, hm_str_t *name,
    hm_str_t *value)
{
    hm_msg_t         *m;
    hm_str_t         *s;
    hm_msg_header_t  *h;

    m = wr->msg;

    if (!m->reply_wanted) {
        return HM_OK;
    }

    for (s = hm_http_webhook_skip_headers; s->len; s++) {
        if (s->len == name->len
            && hm_strncasecmp(s->data, name->data, s->len) == 0)
        {
            return HM_OK;
        }
    }

    if (hm_http_webhook_name_is(name, "Date")
        || hm_http_webhook_name_is(name, "Server"))
    {
        return HM_OK;
    }

    if (wr->reply_headers == NULL) {
        wr->reply_headers = hm_array_create(m->pool, 8,
                                            sizeof(hm_msg_header_t));
        if (wr->reply_headers == NULL) {
            return HM_ABORT;
        }
    }

    h = hm_array_push(wr->reply_headers);
    if (h == NULL) {
        return HM_ABORT;
    }

    h->name.len = name->len;
    h->name.data = hm_pstrdup(m->pool, name);
    h->value.len = value->len;
    h->value.data = hm_pnalloc(m->pool, value->len + 1);

    if (h->name.data == NULL || h->value.data == NULL) {
        return HM_ABORT;
    }

    hm_memcpy(h->value.data, value->data, value->len);

    return HM_OK;
}


static void
hm_http_webhook_header_done(hm_http_webhook_request_t *wr)
{
    wr->header_done = 1;
    wr->length = wr->has_length ? wr->content_length : -1;

    if (wr->head || wr->status_n == 204 || wr->status_n == 304
        || wr->status_n < 200)
    {
        wr->length = 0;
        wr->chunked_body = 0;
    }

    if (!wr->chunked_body && wr->length == -1) {
        wr->eof_body = 1;
    }

    if (!wr->chunked_body && wr->length == 0) {
        wr->body_done = 1;
    }
}


/* the body from the input buffer: into the reply, or dropped */

static hm_int_t
hm_http_webhook_read_body(hm_http_webhook_request_t *wr)
{
    size_t     len;
    hm_int_t   rc;
    hm_buf_t  *b;

    b = &wr->buffer;

    while (b->pos < b->last && !wr->body_done) {

        if (wr->chunked_body) {
            rc = hm_http_parse_chunked(&wr->chunked, b);

            if (rc == HM_DONE) {
                wr->body_done = 1;
                break;
            }

            if (rc == HM_AGAIN) {
                break;
            }

            if (rc != HM_OK) {
                hm_log_error(HM_LOG_ERR, &wr->log, 0,
                             "webhook sent invalid chunked body");
                return HM_ERROR;
            }

            len = hm_min((off_t) (b->last - b->pos), wr->chunked.size);
            wr->chunked.size -= len;

        } else if (wr->length >= 0) {
            len = hm_min((off_t) (b->last - b->pos), wr->length);
            wr->length -= len;
            wr->body_done = (wr->length == 0);

        } else {
            len = b->last - b->pos;
        }

        if (hm_http_webhook_reply_body(wr, b->pos, len) != HM_OK) {
            return HM_ABORT;
        }

        b->pos += len;
    }

    if (!wr->body_done) {
        b->pos = b->start;
        b->last = b->start;
        return HM_AGAIN;
    }

    if (b->pos < b->last) {
        hm_log_error(HM_LOG_WARN, &wr->log, 0,
                     "webhook sent more data than the response holds");
        wr->extra = 1;
    }

    return HM_OK;
}


static hm_int_t
hm_http_webhook_reply_body(hm_http_webhook_request_t *wr, u_char *p,
    size_t len)
{
    size_t       n, size, max;
    hm_buf_t    *b;
    hm_msg_t    *m;
    hm_chain_t  *cl;

    m = wr->msg;
    max = wr->ctx->conf->response_buffer_size;

    if (!m->reply_wanted || wr->reply_size >= max) {
        return HM_OK;
    }

    len = hm_min(len, max - wr->reply_size);

    while (len) {
        b = wr->reply_buf;

        if (b == NULL || b->last == b->end) {
            size = (wr->content_length > 0) ? (size_t) wr->content_length
                                            : HM_HTTP_WEBHOOK_REPLY_CHUNK;

            if (size < len) {
                size = len;
            }

            if (size > max - wr->reply_size) {
                size = max - wr->reply_size;
            }

            b = hm_create_temp_buf(m->pool, size);
            cl = hm_alloc_chain_link(m->pool);

            if (b == NULL || cl == NULL) {
                return HM_ERROR;
            }

            cl->buf = b;
            cl->next = NULL;
            *wr->reply_last = cl;
            wr->reply_last = &cl->next;
            wr->reply_buf = b;
        }

        n = hm_min(len, (size_t) (b->end - b->last));
        b->last = hm_cpymem(b->last, p, n);

        p += n;
        len -= n;
        wr->reply_size += n;
    }

    return HM_OK;
}


/* -- the outcome ------------------------------------------------------ */

static void
hm_http_webhook_done(hm_http_webhook_request_t *wr)
{
    hm_int_t    rc;
    hm_msg_t   *m;
    hm_uint_t   state;

    m = wr->msg;

    rc = hm_http_webhook_status(wr, &state);

    m->reply.status = wr->status_n;

    if (m->reply_wanted) {
        if (wr->reply_headers == NULL) {
            wr->reply_headers = hm_array_create(m->pool, 1,
                                                sizeof(hm_msg_header_t));
        }

        m->reply.headers = wr->reply_headers;
        m->reply.body = wr->reply_body;
    }

    hm_http_webhook_close(wr, hm_http_webhook_reusable(wr));
    hm_http_webhook_free_peer(wr, state);
    hm_http_webhook_finalize(wr, rc);
}


static hm_int_t
hm_http_webhook_status(hm_http_webhook_request_t *wr, hm_uint_t *state)
{
    hm_msg_t   *m;
    hm_uint_t   s;

    m = wr->msg;
    s = wr->status_n;

    *state = 0;

    if (s >= 200 && s < 300) {
        return HM_OK;
    }

    if (s >= 500) {
        *state = HM_PEER_FAILED;
        hm_msg_set_error(m, HM_MSG_ERR_5XX, "%V answered %ui",
                         wr->peer.name, s);
        return HM_RETRY;
    }

    if (s == 429) {
        hm_msg_set_error(m, HM_MSG_ERR_429, "%V answered %ui",
                         wr->peer.name, s);
        return HM_RETRY;
    }

    hm_msg_set_error(m, s >= 400 ? HM_MSG_ERR_4XX : HM_MSG_ERR_ERROR,
                     "%V answered %ui", wr->peer.name, s);

    return HM_ERROR;
}


static hm_uint_t
hm_http_webhook_reusable(hm_http_webhook_request_t *wr)
{
    hm_connection_t              *c;
    hm_http_upstream_srv_conf_t  *uscf;

    c = wr->peer.connection;
    uscf = wr->ctx->conf->upstream;

    return c && uscf->keepalive
           && wr->body_done && !wr->eof_body && !wr->extra
           && wr->request_sent && wr->status_n >= 200
           && wr->http_version >= HM_HTTP_VERSION_11
           && !wr->connection_close
           && !c->read->eof && !c->error && !c->close
           && c->requests < uscf->keepalive_requests
           && !hm_exiting && !hm_terminate;
}


/*
 * A failed attempt: a cached connection the server had closed meanwhile
 * is no failure of the server, a refused connection moves on to the next
 * server; anything else ends the attempt.  A failure after the response
 * header counts by the status, as the server has answered.
 */

static void
hm_http_webhook_fail(hm_http_webhook_request_t *wr, hm_uint_t ft)
{
    hm_uint_t  stale, next;

    if (ft == HM_HTTP_WEBHOOK_FT_TIMEOUT
        || ft == HM_HTTP_WEBHOOK_FT_CONNECT_TIMEOUT)
    {
        hm_log_error(HM_LOG_ERR, &wr->log, HM_ETIMEDOUT, "webhook timed out");
    }

    if (wr->header_done) {
        wr->body_done = 0;
        hm_http_webhook_done(wr);
        return;
    }

    stale = (ft == HM_HTTP_WEBHOOK_FT_ERROR && wr->peer.cached
             && !wr->received);

    hm_http_webhook_close(wr, 0);
    hm_http_webhook_free_peer(wr, stale ? HM_PEER_NEXT
                                  : (ft == HM_HTTP_WEBHOOK_FT_INTERNAL
                                     || ft == HM_HTTP_WEBHOOK_FT_NOLIVE)
                                    ? 0 : HM_PEER_FAILED);

    next = (ft == HM_HTTP_WEBHOOK_FT_CONNECT
            || ft == HM_HTTP_WEBHOOK_FT_CONNECT_TIMEOUT)
           && wr->peer.tries;

    if (stale) {
        hm_log_error(HM_LOG_INFO, &wr->log, 0,
                     "webhook closed a kept-alive connection, trying again");

        /* a fresh choice: the stale connection is gone from the cache */

        if (hm_http_upstream_init_rr_peer(wr->msg->pool,
                                          wr->ctx->conf->upstream, &wr->rrp,
                                          &wr->msg->key, &wr->peer)
            != HM_OK)
        {
            hm_http_webhook_finalize(wr,
                hm_http_webhook_fail_rc(wr, HM_HTTP_WEBHOOK_FT_INTERNAL));
            return;
        }

        next = 1;
    }

    if (next) {
        hm_http_webhook_reset(wr);
        hm_http_webhook_connect(wr);
        return;
    }

    hm_http_webhook_finalize(wr, hm_http_webhook_fail_rc(wr, ft));
}


static hm_int_t
hm_http_webhook_fail_rc(hm_http_webhook_request_t *wr, hm_uint_t ft)
{
    hm_msg_t  *m;
    hm_str_t  *name, none = hm_string("webhook");

    m = wr->msg;
    name = wr->peer.name ? wr->peer.name : &none;

    switch (ft) {

    case HM_HTTP_WEBHOOK_FT_CONNECT:
        hm_msg_set_error(m, HM_MSG_ERR_CONNECT, "cannot connect to %V",
                         name);
        return HM_RETRY;

    case HM_HTTP_WEBHOOK_FT_NOLIVE:
        hm_msg_set_error(m, HM_MSG_ERR_CONNECT, "no live upstreams for %V",
                         &wr->ctx->conf->url);
        return HM_RETRY;

    case HM_HTTP_WEBHOOK_FT_CONNECT_TIMEOUT:
        hm_msg_set_error(m, HM_MSG_ERR_TIMEOUT, "connecting to %V timed out",
                         name);
        return HM_RETRY;

    case HM_HTTP_WEBHOOK_FT_TIMEOUT:
        hm_msg_set_error(m, HM_MSG_ERR_TIMEOUT, "%V did not answer in %Mms",
                         name, wr->ctx->conf->timeout);
        return HM_RETRY;

    case HM_HTTP_WEBHOOK_FT_ERROR:
        hm_msg_set_error(m, HM_MSG_ERR_ERROR,
                         "%V closed the connection before answering", name);
        return HM_RETRY;

    case HM_HTTP_WEBHOOK_FT_INVALID:
        hm_msg_set_error(m, HM_MSG_ERR_ERROR, "%V sent an invalid response",
                         name);
        return HM_ERROR;

    default:
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL,
                         "internal error in outbound \"%V\"",
                         &wr->ctx->ob->name);
        return HM_ERROR;
    }
}


static void
hm_http_webhook_free_peer(hm_http_webhook_request_t *wr, hm_uint_t state)
{
    hm_msec_t                    ms;
    hm_http_upstream_rr_peer_t  *peer;

    if (wr->peer.sockaddr == NULL || wr->peer.free == NULL) {
        return;
    }

    peer = wr->rrp.current;

    if (peer && !(state & HM_PEER_NEXT)) {
        ms = hm_current_msec - wr->start;
        peer->response_time_ms += ms;
        hm_metric_add_value(peer->m_time, (int64_t) ms);
    }

    wr->peer.free(&wr->peer, wr->peer.data, state);
    wr->peer.sockaddr = NULL;
}


static void
hm_http_webhook_close(hm_http_webhook_request_t *wr, hm_uint_t reusable)
{
    hm_connection_t  *c;

    c = wr->peer.connection;

    if (c == NULL) {
        return;
    }

    wr->peer.connection = NULL;

    if (c->read->timer_set) {
        hm_event_del_timer(c->read);
    }

    if (c->write->timer_set) {
        hm_event_del_timer(c->write);
    }

    if (reusable) {
        hm_http_upstream_keepalive_save(wr->ctx->conf->upstream, c,
                                        wr->peer.sockaddr, wr->peer.socklen);
        return;
    }

    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = !wr->body_done;
        (void) hm_ssl_shutdown(c);
    }

    if (c->pool) {
        hm_destroy_pool(c->pool);
        c->pool = NULL;
    }

    hm_close_connection(c);
}


static void
hm_http_webhook_finalize(hm_http_webhook_request_t *wr, hm_int_t rc)
{
    hm_msg_t  *m;

    m = wr->msg;
    m->send_data = NULL;

    hm_http_webhook_release(wr);

    if (wr->sync) {
        wr->rc = rc;
        return;
    }

    hm_pipeline_send_done(m, rc);
}


static u_char *
hm_http_webhook_log_error(hm_log_t *log, u_char *buf, size_t len)
{
    u_char                     *p, *last;
    hm_http_webhook_request_t  *wr;

    wr = log->data;
    p = buf;
    last = buf + len;

    if (log->action) {
        p = hm_slprintf(p, last, " while %s", log->action);
    }

    p = hm_slprintf(p, last, ", outbound: %V", &wr->ctx->ob->name);

    if (wr->peer.name) {
        p = hm_slprintf(p, last, ", upstream: %V", wr->peer.name);
    }

    if (wr->msg && wr->msg->id.len) {
        p = hm_slprintf(p, last, ", message: %V", &wr->msg->id);
    }

    return p;
}

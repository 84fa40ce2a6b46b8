/*
 * Copyright (C) hermod authors
 *
 * TLS for HTTP servers: certificates (RSA and ECDSA side by side), SNI
 * across server blocks, protocols, ciphers, session cache and tickets,
 * client certificates.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


typedef struct {
    hm_flag_t                  enable;

    hm_ssl_t                  *ssl;

    hm_array_t                *certificates;
    hm_array_t                *certificate_keys;

    hm_uint_t                  protocols;
    hm_str_t                   ciphers;
    hm_flag_t                  prefer_server_ciphers;

    ssize_t                    builtin_session_cache;
    hm_ssl_session_zone_t     *shm_zone;
    time_t                     session_timeout;
    hm_flag_t                  session_tickets;

    hm_str_t                   client_certificate;
    hm_uint_t                  verify;
    hm_int_t                   verify_depth;

    hm_conf_location_t         where;

    void                      *spare[4];
} hm_http_ssl_srv_conf_t;


#define HM_HTTP_SSL_VERIFY_OFF       0
#define HM_HTTP_SSL_VERIFY_ON        1
#define HM_HTTP_SSL_VERIFY_OPTIONAL  2


static void *hm_http_ssl_create_srv_conf(hm_conf_t *cf);
static char *hm_http_ssl_merge_srv_conf(hm_conf_t *cf, void *parent,
    void *child);
static hm_int_t hm_http_ssl_init(hm_conf_t *cf);
static hm_int_t hm_http_ssl_preconfiguration(hm_conf_t *cf);
static hm_int_t hm_http_ssl_postconfiguration(hm_conf_t *cf);
static char *hm_http_ssl_session_cache(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static void hm_http_ssl_handshake(hm_event_t *rev);
static hm_int_t hm_http_ssl_plain_http(hm_connection_t *c);
static void hm_http_ssl_handshake_handler(hm_connection_t *c);
static int hm_http_ssl_servername(SSL *ssl_conn, int *ad, void *arg);


static hm_str_t  hm_http_ssl_sess_id_ctx = hm_string("HTTP");


static hm_conf_enum_t  hm_http_ssl_verify[] = {
    { hm_string("off"), HM_HTTP_SSL_VERIFY_OFF },
    { hm_string("on"), HM_HTTP_SSL_VERIFY_ON },
    { hm_string("optional"), HM_HTTP_SSL_VERIFY_OPTIONAL },
    { hm_null_string, 0 }
};


static hm_command_t  hm_http_ssl_commands[] = {

    { hm_string("ssl_certificate"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_array_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, certificates),
      NULL,
      "A PEM certificate chain; may repeat (RSA and ECDSA)." },

    { hm_string("ssl_certificate_key"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_array_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, certificate_keys),
      NULL,
      "The key of the certificate given in the same position." },

    { hm_string("ssl_protocols"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_1MORE,
      hm_conf_set_bitmask_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, protocols),
      &hm_ssl_protocol_names,
      "TLS versions accepted: TLSv1 TLSv1.1 TLSv1.2 TLSv1.3." },

    { hm_string("ssl_ciphers"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, ciphers),
      NULL,
      "The TLS 1.2 cipher list, in OpenSSL's syntax." },

    { hm_string("ssl_prefer_server_ciphers"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, prefer_server_ciphers),
      NULL,
      "Prefer the server's cipher order over the client's." },

    { hm_string("ssl_session_cache"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE12,
      hm_http_ssl_session_cache,
      HM_HTTP_SRV_CONF_OFFSET,
      0,
      NULL,
      "off | none | [builtin[:N]] [shared:NAME:SIZE]: TLS session cache." },

    { hm_string("ssl_session_timeout"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE1,
      hm_conf_set_sec_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, session_timeout),
      NULL,
      "How long a TLS session may be resumed." },

    { hm_string("ssl_session_tickets"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, session_tickets),
      NULL,
      "Resume sessions with TLS session tickets." },

    { hm_string("ssl_client_certificate"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, client_certificate),
      NULL,
      "CA certificates that client certificates are verified against." },

    { hm_string("ssl_verify_client"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, verify),
      &hm_http_ssl_verify,
      "on | optional | off: verify client certificates (mTLS)." },

    { hm_string("ssl_verify_depth"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_ssl_srv_conf_t, verify_depth),
      NULL,
      "How deep a client certificate chain may be." },

      hm_null_command
};


static hm_http_module_t  hm_http_ssl_module_ctx = {
    hm_http_ssl_preconfiguration,          /* preconfiguration */
    hm_http_ssl_postconfiguration,         /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    hm_http_ssl_create_srv_conf,           /* create server configuration */
    hm_http_ssl_merge_srv_conf,            /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL,                                  /* merge location configuration */

    { NULL, NULL, NULL, NULL }
};


hm_module_t  hm_http_ssl_module = {
    HM_MODULE_V1,
    &hm_http_ssl_module_ctx,               /* module context */
    hm_http_ssl_commands,                  /* module directives */
    HM_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static void *
hm_http_ssl_create_srv_conf(hm_conf_t *cf)
{
    hm_http_ssl_srv_conf_t  *sscf;

    sscf = hm_pcalloc(cf->pool, sizeof(hm_http_ssl_srv_conf_t));
    if (sscf == NULL) {
        return NULL;
    }

    sscf->enable = HM_CONF_UNSET;
    sscf->certificates = HM_CONF_UNSET_PTR;
    sscf->certificate_keys = HM_CONF_UNSET_PTR;
    sscf->prefer_server_ciphers = HM_CONF_UNSET;
    sscf->builtin_session_cache = HM_CONF_UNSET;
    sscf->session_timeout = HM_CONF_UNSET;
    sscf->session_tickets = HM_CONF_UNSET;
    sscf->verify = HM_CONF_UNSET_UINT;
    sscf->verify_depth = HM_CONF_UNSET;

    hm_conf_location(cf, &sscf->where);

    return sscf;
}


static char *
hm_http_ssl_merge_srv_conf(hm_conf_t *cf, void *parent, void *child)
{
    hm_http_ssl_srv_conf_t *prev = parent;
    hm_http_ssl_srv_conf_t *conf = child;

    hm_str_t   *cert, *key;
    hm_uint_t   i;

    hm_conf_merge_ptr_value(conf->certificates, prev->certificates, NULL);
    hm_conf_merge_ptr_value(conf->certificate_keys, prev->certificate_keys,
                            NULL);
    if (conf->protocols == 0) {
        conf->protocols = prev->protocols ? prev->protocols
                                          : HM_SSL_DEFAULT_PROTOCOLS;
    }
    hm_conf_merge_str_value(conf->ciphers, prev->ciphers, "HIGH:!aNULL:!MD5");
    hm_conf_merge_value(conf->prefer_server_ciphers,
                        prev->prefer_server_ciphers, 0);
    hm_conf_merge_value(conf->builtin_session_cache,
                        prev->builtin_session_cache, HM_SSL_NONE_SCACHE);
    hm_conf_merge_value(conf->session_timeout, prev->session_timeout, 300);
    hm_conf_merge_value(conf->session_tickets, prev->session_tickets, 1);
    hm_conf_merge_str_value(conf->client_certificate,
                            prev->client_certificate, "");
    hm_conf_merge_uint_value(conf->verify, prev->verify,
                             HM_HTTP_SSL_VERIFY_OFF);
    hm_conf_merge_value(conf->verify_depth, prev->verify_depth, 1);

    if (conf->certificates == NULL) {
        return HM_CONF_OK;
    }

    if (conf->certificate_keys == NULL
        || conf->certificate_keys->nelts < conf->certificates->nelts)
    {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &conf->where,
                        "no \"ssl_certificate_key\" is defined "
                        "for certificate \"%V\"",
                        &((hm_str_t *) conf->certificates->elts)
                             [conf->certificates->nelts - 1]);
        return HM_CONF_ERROR;
    }

    conf->ssl = hm_pcalloc(cf->pool, sizeof(hm_ssl_t));
    if (conf->ssl == NULL) {
        return HM_CONF_ERROR;
    }

    conf->ssl->log = cf->log;

    if (hm_ssl_create(conf->ssl, conf->protocols, conf) != HM_OK) {
        return HM_CONF_ERROR;
    }

    {
        hm_pool_cleanup_t  *cln;

        cln = hm_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return HM_CONF_ERROR;
        }

        cln->handler = hm_ssl_cleanup_ctx;
        cln->data = conf->ssl;
    }

    SSL_CTX_set_tlsext_servername_callback(conf->ssl->ctx,
                                           hm_http_ssl_servername);

    cert = conf->certificates->elts;
    key = conf->certificate_keys->elts;

    for (i = 0; i < conf->certificates->nelts; i++) {
        if (hm_ssl_certificate(cf, conf->ssl, &cert[i], &key[i], NULL)
            != HM_OK)
        {
            return HM_CONF_ERROR;
        }
    }

    if (hm_ssl_ciphers(cf, conf->ssl, &conf->ciphers,
                       conf->prefer_server_ciphers)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    if (conf->verify != HM_HTTP_SSL_VERIFY_OFF) {

        if (conf->client_certificate.len == 0) {
            hm_log_error_at(HM_LOG_EMERG, cf->log, &conf->where,
                            "no ssl_client_certificate for "
                            "ssl_verify_client");
            return HM_CONF_ERROR;
        }

        if (hm_ssl_client_certificate(cf, conf->ssl,
                                      &conf->client_certificate,
                                      conf->verify_depth)
            != HM_OK)
        {
            return HM_CONF_ERROR;
        }

        if (conf->verify == HM_HTTP_SSL_VERIFY_OPTIONAL
            && hm_ssl_verify(conf->ssl, HM_SSL_VERIFY_OPTIONAL) != HM_OK)
        {
            return HM_CONF_ERROR;
        }
    }

    if (conf->shm_zone == NULL) {
        conf->shm_zone = prev->shm_zone;
    }

    if (hm_ssl_session_cache(conf->ssl, &hm_http_ssl_sess_id_ctx,
                             (conf->shm_zone
                              && conf->builtin_session_cache
                                 == HM_SSL_NONE_SCACHE)
                             ? HM_SSL_NO_BUILTIN_SCACHE
                             : conf->builtin_session_cache,
                             conf->session_timeout)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    if (conf->shm_zone
        && hm_ssl_shared_session_cache(conf->ssl, conf->shm_zone) != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    if (hm_ssl_session_tickets(cf, conf->ssl, conf->session_tickets)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}




static char *
hm_http_ssl_session_cache(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_ssl_srv_conf_t *sscf = conf;

    u_char     *p;
    ssize_t     n, size;
    hm_str_t   *value, v, name, s;
    hm_uint_t   i;

    if (sscf->builtin_session_cache != HM_CONF_UNSET || sscf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    sscf->builtin_session_cache = HM_SSL_NONE_SCACHE;

    for (i = 1; i < cf->args->nelts; i++) {

        v = value[i];

        if (hm_str_eq(&v, "off") && cf->args->nelts == 2) {
            sscf->builtin_session_cache = HM_SSL_NO_SCACHE;
            continue;
        }

        if (hm_str_eq(&v, "none") && cf->args->nelts == 2) {
            sscf->builtin_session_cache = HM_SSL_NONE_SCACHE;
            continue;
        }

        if (hm_str_eq(&v, "builtin")) {
            sscf->builtin_session_cache = HM_SSL_DFLT_BUILTIN_SCACHE;
            continue;
        }

        if (v.len > sizeof("builtin:") - 1
            && hm_strncmp(v.data, "builtin:", sizeof("builtin:") - 1) == 0)
        {
            n = hm_atoi(v.data + sizeof("builtin:") - 1,
                        v.len - (sizeof("builtin:") - 1));

            if (n == HM_ERROR || n == 0) {
                goto invalid;
            }

            sscf->builtin_session_cache = n;
            continue;
        }

        if (v.len > sizeof("shared:") - 1
            && hm_strncmp(v.data, "shared:", sizeof("shared:") - 1) == 0)
        {
            name.data = v.data + sizeof("shared:") - 1;
            p = hm_strlchr(name.data, v.data + v.len, ':');

            if (p == NULL || p == name.data) {
                goto invalid;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = v.data + v.len - s.data;

            size = hm_parse_size(&s);

            if (size == HM_ERROR || size == 0) {
                goto invalid;
            }

            sscf->shm_zone = hm_ssl_session_zone(cf, &name, (size_t) size);

            if (sscf->shm_zone == NULL) {
                return HM_CONF_ERROR;
            }

            continue;
        }

        goto invalid;
    }

    return HM_CONF_OK;

invalid:

    hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                      "invalid session cache \"%V\"", &value[i]);

    return HM_CONF_ERROR;
}


/* SNI: pick the server block by the requested name, switch SSL_CTX */

static int
hm_http_ssl_servername(SSL *ssl_conn, int *ad, void *arg)
{
    const char               *servername;
    hm_str_t                  host;
    hm_connection_t          *c;
    hm_http_connection_t     *hc;
    hm_http_ssl_srv_conf_t   *sscf;
    hm_http_core_srv_conf_t  *cscf;

    c = SSL_get_ex_data(ssl_conn, hm_ssl_connection_index);

    if (c == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }

    servername = SSL_get_servername(ssl_conn, TLSEXT_NAMETYPE_host_name);

    if (servername == NULL) {
        return SSL_TLSEXT_ERR_OK;
    }

    host.len = hm_strlen(servername);

    if (host.len == 0) {
        return SSL_TLSEXT_ERR_OK;
    }

    host.data = hm_pnalloc(c->pool, host.len);
    if (host.data == NULL) {
        *ad = SSL_AD_INTERNAL_ERROR;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }

    hm_strlow(host.data, (u_char *) servername, host.len);

    hc = c->data;

    if (hm_http_find_virtual_server(c, hc->addr_conf, &host, &cscf)
        != HM_OK)
    {
        return SSL_TLSEXT_ERR_OK;
    }

    hc->conf_ctx = cscf->ctx;

    sscf = hm_http_get_module_srv_conf(cscf->ctx, hm_http_ssl_module);

    if (sscf->ssl && sscf->ssl->ctx) {
        SSL_set_SSL_CTX(ssl_conn, sscf->ssl->ctx);
        SSL_set_verify(ssl_conn, SSL_CTX_get_verify_mode(sscf->ssl->ctx),
                       SSL_CTX_get_verify_callback(sscf->ssl->ctx));
        SSL_set_verify_depth(ssl_conn,
                             SSL_CTX_get_verify_depth(sscf->ssl->ctx));
        SSL_set_options(ssl_conn, SSL_CTX_get_options(sscf->ssl->ctx));
    }

    return SSL_TLSEXT_ERR_OK;
}


hm_int_t
hm_http_ssl_init_connection(hm_connection_t *c)
{
    hm_http_connection_t     *hc;
    hm_http_ssl_srv_conf_t   *sscf;
    hm_http_core_srv_conf_t  *cscf;

    hc = c->data;
    cscf = hc->addr_conf->default_server;

    sscf = hm_http_get_module_srv_conf(cscf->ctx, hm_http_ssl_module);

    if (sscf->ssl == NULL) {
        hm_log_error(HM_LOG_ERR, c->log, 0,
                     "no \"ssl_certificate\" is defined for the "
                     "\"listen ... ssl\" directive");
        hm_http_close_connection(c);
        return HM_ERROR;
    }

    hc->ssl = 1;

    if (hm_ssl_create_connection(sscf->ssl, c, HM_SSL_BUFFER) != HM_OK) {
        hm_http_close_connection(c);
        return HM_ERROR;
    }

    c->log->action = "SSL handshaking";

    c->read->handler = hm_http_ssl_handshake;

    hm_event_add_timer(c->read, cscf->client_header_timeout);
    hm_reusable_connection(c, 1);

    if (c->read->ready) {
        hm_post_event(c->read, &hm_posted_events);
        return HM_OK;
    }

    if (hm_handle_read_event(c->read, 0) != HM_OK) {
        hm_http_close_connection(c);
        return HM_ERROR;
    }

    return HM_OK;
}


/*
 * A TLS record starts with 0x16; an HTTP request line with a letter.  As
 * nginx, hermod answers such a client with 400 instead of a TLS alert.
 */

static hm_int_t
hm_http_ssl_plain_http(hm_connection_t *c)
{
    u_char   buf[1];
    ssize_t  n;

    static char  response[] =
        "HTTP/1.1 400 Bad Request" CRLF
        "Server: hermod" CRLF
        "Content-Type: text/html" CRLF
        "Content-Length: 185" CRLF
        "Connection: close" CRLF
        CRLF
        "<html>" CRLF
        "<head><title>400 The plain HTTP request was sent to HTTPS port"
        "</title></head>" CRLF
        "<body>" CRLF
        "<center><h1>400 Bad Request</h1></center>" CRLF
        "<hr><center>hermod</center>" CRLF
        "</body>" CRLF
        "</html>" CRLF;

    n = recv(c->fd, buf, 1, MSG_PEEK);

    if (n != 1 || buf[0] == 0x16 || buf[0] < 'A' || buf[0] > 'Z') {
        return HM_OK;
    }

    hm_log_error(HM_LOG_INFO, c->log, 0,
                 "client sent plain HTTP request to HTTPS port");

    /* small and sent once: what does not fit is not waited for */

    (void) send(c->fd, response, sizeof(response) - 1, MSG_NOSIGNAL);

    c->ssl->no_send_shutdown = 1;
    c->ssl->no_wait_shutdown = 1;

    hm_http_close_connection(c);

    return HM_DONE;
}


static void
hm_http_ssl_handshake(hm_event_t *rev)
{
    hm_int_t          rc;
    hm_connection_t  *c;

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

    hm_reusable_connection(c, 0);

    if (!c->ssl->handshaked && hm_http_ssl_plain_http(c) != HM_OK) {
        return;
    }

    rc = hm_ssl_handshake(c);

    if (rc == HM_AGAIN) {
        c->ssl->handler = hm_http_ssl_handshake_handler;
        return;
    }

    hm_http_ssl_handshake_handler(c);
}


static void
hm_http_ssl_handshake_handler(hm_connection_t *c)
{
    if (c->ssl->handshaked) {

        c->log->action = "waiting for request";

        c->read->handler = hm_http_wait_request_handler;
        c->write->handler = hm_http_empty_handler;

        hm_reusable_connection(c, 1);

        hm_http_wait_request_handler(c->read);

        return;
    }

    if (c->read->timedout) {
        hm_log_error(HM_LOG_INFO, c->log, HM_ETIMEDOUT, "client timed out");
    }

    hm_http_close_connection(c);
}


static hm_int_t
hm_http_ssl_init(hm_conf_t *cf)
{
    return hm_ssl_init(cf->log);
}


/*
 * "ssl_verify_client optional": a certificate that was presented and does
 * not verify fails the request with 400, as in nginx; no certificate is
 * fine.  $ssl_client_verify tells which.
 */

static hm_int_t
hm_http_ssl_verify_handler(hm_http_request_t *r)
{
    long                     rc;
    hm_connection_t         *c;
    hm_http_ssl_srv_conf_t  *sscf;

    c = r->connection;

    if (c->ssl == NULL || r->internal) {
        return HM_DECLINED;
    }

    sscf = hm_http_get_module_srv_conf(r, hm_http_ssl_module);

    if (sscf->verify != HM_HTTP_SSL_VERIFY_OPTIONAL) {
        return HM_DECLINED;
    }

    if (hm_ssl_verify_result(c, &rc) == HM_ERROR) {
        hm_log_error(HM_LOG_INFO, c->log, 0,
                     "client SSL certificate verify error: (%l:%s)",
                     rc, X509_verify_cert_error_string(rc));

        r->keepalive = 0;

        return HM_HTTP_BAD_REQUEST;
    }

    return HM_DECLINED;
}


static hm_int_t
hm_http_ssl_client_verify_variable(void *ctx, hm_pool_t *pool,
    hm_variable_value_t *v, uintptr_t data)
{
    hm_http_request_t *r = ctx;

    long         rc;
    const char  *str;
    size_t       len;

    if (r->connection->ssl == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    switch (hm_ssl_verify_result(r->connection, &rc)) {

    case HM_OK:
        v->data = (u_char *) "SUCCESS";
        v->len = sizeof("SUCCESS") - 1;
        break;

    case HM_DECLINED:
        v->data = (u_char *) "NONE";
        v->len = sizeof("NONE") - 1;
        break;

    default:
        str = X509_verify_cert_error_string(rc);
        len = sizeof("FAILED:") - 1 + hm_strlen(str);

        v->data = hm_pnalloc(pool, len);
        if (v->data == NULL) {
            return HM_ERROR;
        }

        v->len = hm_sprintf(v->data, "FAILED:%s", str) - v->data;
        break;
    }

    v->valid = 1;

    return HM_OK;
}


static hm_variable_t  hm_http_ssl_vars[] = {

    { hm_string("ssl_client_verify"), hm_http_ssl_client_verify_variable, 0,
      HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
};


static hm_int_t
hm_http_ssl_preconfiguration(hm_conf_t *cf)
{
    if (hm_http_ssl_init(cf) != HM_OK) {
        return HM_ERROR;
    }

    return hm_add_variables(cf->cycle, hm_http_ssl_vars);
}


static hm_int_t
hm_http_ssl_postconfiguration(hm_conf_t *cf)
{
    hm_uint_t                  i, j;
    hm_http_handler_pt        *h;
    hm_http_conf_addr_t       *addr;
    hm_http_ssl_srv_conf_t    *sscf;
    hm_http_core_srv_conf_t  **cscfp;
    hm_http_core_main_conf_t  *cmcf;

    cmcf = hm_http_conf_get_module_main_conf(cf, hm_http_core_module);

    /* every server on an "ssl" address needs a certificate: said now, with
     * the listen line, rather than when the first client comes */

    if (cmcf->ports) {
        addr = cmcf->ports->elts;

        for (i = 0; i < cmcf->ports->nelts; i++) {

            if (!addr[i].opt.ssl) {
                continue;
            }

            cscfp = addr[i].servers.elts;

            for (j = 0; j < addr[i].servers.nelts; j++) {
                sscf = cscfp[j]->ctx->srv_conf[hm_http_ssl_module.ctx_index];

                if (sscf->ssl == NULL) {
                    hm_log_error_at(HM_LOG_EMERG, cf->log, &addr[i].opt.where,
                                    "no \"ssl_certificate\" is defined for "
                                    "the \"listen ... ssl\" directive");
                    return HM_ERROR;
                }
            }
        }
    }

    h = hm_array_push(&cmcf->phases[HM_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return HM_ERROR;
    }

    *h = hm_http_ssl_verify_handler;

    return HM_OK;
}

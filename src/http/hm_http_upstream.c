/*
 * Copyright (C) hermod authors
 *
 * The upstream request: connect (with keepalive reuse), send the request
 * and the body (buffered or streamed), read and check the response
 * header, stream the body back with bounded buffers and backpressure in
 * both directions, retry on the next server, tunnel upgraded connections.
 * Also the "upstream" block and its directives, and $upstream_*.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


static void hm_http_upstream_connect(hm_http_request_t *r,
    hm_http_upstream_t *u);
static void hm_http_upstream_handler(hm_event_t *ev);
static void hm_http_upstream_ssl_init_connection(hm_http_request_t *r,
    hm_http_upstream_t *u, hm_connection_t *c);
static void hm_http_upstream_ssl_handshake_handler(hm_connection_t *c);
static void hm_http_upstream_send_request_handler(hm_http_request_t *r,
    hm_http_upstream_t *u);
static void hm_http_upstream_send_request(hm_http_request_t *r,
    hm_http_upstream_t *u, hm_uint_t do_write);
static void hm_http_upstream_read_request_body(hm_http_request_t *r);
static void hm_http_upstream_process_header(hm_http_request_t *r,
    hm_http_upstream_t *u);
static hm_int_t hm_http_upstream_parse_header(hm_http_request_t *r,
    hm_http_upstream_t *u);
static hm_int_t hm_http_upstream_process_headers(hm_http_request_t *r,
    hm_http_upstream_t *u);
static void hm_http_upstream_send_response(hm_http_request_t *r,
    hm_http_upstream_t *u);
static void hm_http_upstream_process_body(hm_http_request_t *r,
    hm_http_upstream_t *u);
static void hm_http_upstream_process_downstream(hm_http_request_t *r);
static hm_int_t hm_http_upstream_absorb(hm_http_request_t *r,
    hm_http_upstream_t *u);
static hm_int_t hm_http_upstream_body_input(hm_http_request_t *r,
    hm_http_upstream_t *u, hm_buf_t *b);
static void hm_http_upstream_upgrade(hm_http_request_t *r,
    hm_http_upstream_t *u);
static void hm_http_upstream_upgraded_read_downstream(hm_http_request_t *r);
static void hm_http_upstream_upgraded_write_downstream(hm_http_request_t *r);
static void hm_http_upstream_upgraded_read_upstream(hm_http_request_t *r,
    hm_http_upstream_t *u);
static void hm_http_upstream_process_upgraded(hm_http_request_t *r,
    hm_uint_t from_upstream, hm_uint_t do_write);
static void hm_http_upstream_dummy_handler(hm_http_request_t *r,
    hm_http_upstream_t *u);
static void hm_http_upstream_next(hm_http_request_t *r,
    hm_http_upstream_t *u, hm_uint_t ft_type);
static void hm_http_upstream_cleanup(void *data);
static void hm_http_upstream_finalize_request(hm_http_request_t *r,
    hm_http_upstream_t *u, hm_int_t rc);
static hm_int_t hm_http_upstream_reinit(hm_http_request_t *r,
    hm_http_upstream_t *u);
static void hm_http_upstream_check_broken_connection(hm_http_request_t *r);
static void hm_http_upstream_keepalive_close_handler(hm_event_t *ev);
static void hm_http_upstream_keepalive_dummy_handler(hm_event_t *ev);

static char *hm_http_upstream(hm_conf_t *cf, hm_command_t *cmd, void *dummy);
static char *hm_http_upstream_server(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_upstream_keepalive(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_upstream_balancer(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static void *hm_http_upstream_create_main_conf(hm_conf_t *cf);
static char *hm_http_upstream_init_main_conf(hm_conf_t *cf, void *conf);
static hm_int_t hm_http_upstream_add_variables(hm_conf_t *cf);


hm_conf_bitmask_t  hm_http_upstream_next_upstream_masks[] = {
    { hm_string("error"), HM_HTTP_UPSTREAM_FT_ERROR },
    { hm_string("timeout"), HM_HTTP_UPSTREAM_FT_TIMEOUT },
    { hm_string("invalid_header"), HM_HTTP_UPSTREAM_FT_INVALID_HEADER },
    { hm_string("non_idempotent"), HM_HTTP_UPSTREAM_FT_NOLIVE },
    { hm_string("http_500"), HM_HTTP_UPSTREAM_FT_HTTP_500 },
    { hm_string("http_502"), HM_HTTP_UPSTREAM_FT_HTTP_502 },
    { hm_string("http_503"), HM_HTTP_UPSTREAM_FT_HTTP_503 },
    { hm_string("http_504"), HM_HTTP_UPSTREAM_FT_HTTP_504 },
    { hm_string("http_403"), HM_HTTP_UPSTREAM_FT_HTTP_403 },
    { hm_string("http_404"), HM_HTTP_UPSTREAM_FT_HTTP_404 },
    { hm_string("http_429"), HM_HTTP_UPSTREAM_FT_HTTP_429 },
    { hm_string("off"), HM_HTTP_UPSTREAM_FT_OFF },
    { hm_null_string, 0 }
};


#define HM_HTTP_UPSTREAM_CONF  (HM_HTTP_UPS_CONF)


static hm_command_t  hm_http_upstream_commands[] = {

    { hm_string("upstream"),
      HM_HTTP_MAIN_CONF|HM_CONF_BLOCK|HM_CONF_TAKE1,
      hm_http_upstream,
      0,
      0,
      NULL,
      "A group of servers that proxy_pass can name." },

    { hm_string("server"),
      HM_HTTP_UPS_CONF|HM_CONF_1MORE,
      hm_http_upstream_server,
      HM_HTTP_SRV_CONF_OFFSET,
      0,
      NULL,
      "host:port [weight=N] [max_fails=N] [fail_timeout=T] [backup] [down]." },

    { hm_string("keepalive"),
      HM_HTTP_UPS_CONF|HM_CONF_TAKE1,
      hm_http_upstream_keepalive,
      HM_HTTP_SRV_CONF_OFFSET,
      0,
      NULL,
      "How many idle connections each worker keeps to the group." },

    { hm_string("keepalive_timeout"),
      HM_HTTP_UPS_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_upstream_srv_conf_t, keepalive_timeout),
      NULL,
      "How long an idle upstream connection is kept." },

    { hm_string("keepalive_requests"),
      HM_HTTP_UPS_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      HM_HTTP_SRV_CONF_OFFSET,
      offsetof(hm_http_upstream_srv_conf_t, keepalive_requests),
      NULL,
      "How many requests one upstream connection carries." },

    { hm_string("least_conn"),
      HM_HTTP_UPS_CONF|HM_CONF_NOARGS,
      hm_http_upstream_balancer,
      HM_HTTP_SRV_CONF_OFFSET,
      0,
      NULL,
      "Send each request to the server with the fewest connections." },

    { hm_string("hash"),
      HM_HTTP_UPS_CONF|HM_CONF_TAKE12,
      hm_http_upstream_balancer,
      HM_HTTP_SRV_CONF_OFFSET,
      0,
      NULL,
      "key [consistent]: choose the server by a hash of the key." },

    { hm_string("random"),
      HM_HTTP_UPS_CONF|HM_CONF_NOARGS|HM_CONF_TAKE1,
      hm_http_upstream_balancer,
      HM_HTTP_SRV_CONF_OFFSET,
      0,
      NULL,
      "[two]: a random server, or the less loaded of two random ones." },

      hm_null_command
};


static hm_http_module_t  hm_http_upstream_module_ctx = {
    hm_http_upstream_add_variables,        /* preconfiguration */
    NULL,                                  /* postconfiguration */

    hm_http_upstream_create_main_conf,     /* create main configuration */
    hm_http_upstream_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL,                                  /* merge location configuration */

    { NULL, NULL, NULL, NULL }
};


hm_module_t  hm_http_upstream_module = {
    HM_MODULE_V1,
    &hm_http_upstream_module_ctx,          /* module context */
    hm_http_upstream_commands,             /* module directives */
    HM_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


/* hop-by-hop and framing headers never pass through */

static hm_str_t  hm_http_upstream_hop_headers[] = {
    hm_string("Connection"),
    hm_string("Keep-Alive"),
    hm_string("Proxy-Authenticate"),
    hm_string("Proxy-Authorization"),
    hm_string("TE"),
    hm_string("Trailer"),
    hm_string("Transfer-Encoding"),
    hm_string("Upgrade"),
    hm_string("Content-Length"),
    hm_string("Date"),
    hm_string("Server"),
    hm_null_string
};


hm_int_t
hm_http_upstream_create(hm_http_request_t *r)
{
    hm_http_upstream_t  *u;

    u = r->upstream;

    if (u && u->cleanup_set) {
        hm_http_upstream_cleanup(r);
    }

    u = hm_pcalloc(r->pool, sizeof(hm_http_upstream_t));
    if (u == NULL) {
        return HM_ERROR;
    }

    r->upstream = u;

    u->peer.log = r->connection->log;
    u->headers_in.content_length_n = -1;
    u->length = -1;

    return HM_OK;
}


void
hm_http_upstream_init(hm_http_request_t *r)
{
    hm_connection_t     *c;
    hm_http_cleanup_t   *cln;
    hm_http_upstream_t  *u;

    c = r->connection;
    u = r->upstream;

    if (c->read->timer_set) {
        hm_event_del_timer(c->read);
    }

    if (u->create_request(r) != HM_OK) {
        hm_http_finalize_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    u->state = hm_array_create(r->pool, 1, sizeof(hm_http_upstream_state_t));
    if (u->state == NULL) {
        hm_http_finalize_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln = hm_http_cleanup_add(r, 0);
    if (cln == NULL) {
        hm_http_finalize_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = hm_http_upstream_cleanup;
    cln->data = r;
    u->cleanup_set = 1;

    u->upstream = u->conf->upstream;

    if (hm_http_upstream_init_peer(r, u->upstream) != HM_OK) {
        hm_http_finalize_request(r, HM_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    u->peer.start_time = hm_current_msec;
    u->start_time = hm_current_msec;

    if (u->conf->next_upstream_tries
        && u->peer.tries > u->conf->next_upstream_tries)
    {
        u->peer.tries = u->conf->next_upstream_tries;
    }

    /* the client going away is noticed while we wait for the upstream */

    if (!r->request_body_no_buffering || !r->reading_body) {
        r->read_event_handler = hm_http_upstream_check_broken_connection;
    }

    r->write_event_handler = hm_http_upstream_check_broken_connection;

    hm_http_upstream_connect(r, u);
}


static void
hm_http_upstream_connect(hm_http_request_t *r, hm_http_upstream_t *u)
{
    hm_int_t          rc;
    hm_connection_t  *c;

    r->connection->log->action = "connecting to upstream";

    u->cur = hm_array_push(u->state);
    if (u->cur == NULL) {
        hm_http_upstream_finalize_request(r, u,
                                          HM_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    hm_memzero(u->cur, sizeof(hm_http_upstream_state_t));

    u->start_time = hm_current_msec;

    u->cur->response_time = (hm_msec_t) -1;
    u->cur->connect_time = (hm_msec_t) -1;
    u->cur->header_time = (hm_msec_t) -1;

    rc = hm_event_connect_peer(&u->peer);

    if (rc == HM_ERROR) {
        hm_http_upstream_finalize_request(r, u,
                                          HM_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    u->cur->peer = u->peer.name;

    if (rc == HM_BUSY) {
        hm_log_error(HM_LOG_ERR, r->connection->log, 0, "no live upstreams");
        hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_NOLIVE);
        return;
    }

    if (rc == HM_DECLINED) {
        hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_ERROR);
        return;
    }

    /* rc == HM_OK || rc == HM_AGAIN || rc == HM_DONE */

    c = u->peer.connection;

    c->requests++;

    c->data = r;

    c->write->handler = hm_http_upstream_handler;
    c->read->handler = hm_http_upstream_handler;

    u->write_event_handler = hm_http_upstream_send_request_handler;
    u->read_event_handler = hm_http_upstream_process_header;

    c->sendfile &= r->connection->sendfile;

    if (c->pool == NULL) {

        /* we need separate pool here to be able to cache SSL connections */

        c->pool = hm_create_pool(128, r->connection->log);
        if (c->pool == NULL) {
            hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    c->log = r->connection->log;
    c->pool->log = c->log;
    c->read->log = c->log;
    c->write->log = c->log;

    /* init or reinit the hm_output_chain() and hm_chain_writer() contexts */

    u->request_sent = 0;
    u->request_body_sent = 0;
    u->request_sent_chain = NULL;

    if (rc == HM_AGAIN) {
        hm_event_add_timer(c->write, u->conf->connect_timeout);
        return;
    }

    if (u->ssl && c->ssl == NULL) {
        hm_http_upstream_ssl_init_connection(r, u, c);
        return;
    }

    hm_http_upstream_send_request(r, u, 1);
}


static void
hm_http_upstream_ssl_init_connection(hm_http_request_t *r,
    hm_http_upstream_t *u, hm_connection_t *c)
{
    hm_int_t   rc;
    hm_str_t   name;

    if (hm_ssl_create_connection(u->conf->ssl, c,
                                 HM_SSL_BUFFER|HM_SSL_CLIENT)
        != HM_OK)
    {
        hm_http_upstream_finalize_request(r, u,
                                          HM_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (u->conf->ssl_server_name || u->conf->ssl_verify) {

        if (u->conf->ssl_name) {
            if (hm_complex_value(r, r->pool, u->conf->ssl_name, &name)
                != HM_OK)
            {
                hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

        } else {
            name = u->upstream->host;
        }

        u->ssl_name = name;

        if (u->conf->ssl_server_name
            && hm_ssl_set_server_name(c, &name) != HM_OK)
        {
            hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    r->connection->log->action = "SSL handshaking to upstream";

    rc = hm_ssl_handshake(c);

    if (rc == HM_AGAIN) {

        if (!c->write->timer_set) {
            hm_event_add_timer(c->write, u->conf->connect_timeout);
        }

        c->ssl->handler = hm_http_upstream_ssl_handshake_handler;
        return;
    }

    hm_http_upstream_ssl_handshake_handler(c);
}


static void
hm_http_upstream_ssl_handshake_handler(hm_connection_t *c)
{
    long                 rc;
    hm_http_request_t   *r;
    hm_http_upstream_t  *u;

    r = c->data;
    u = r->upstream;

    c->write->handler = hm_http_upstream_handler;
    c->read->handler = hm_http_upstream_handler;

    if (c->ssl && c->ssl->handshaked) {

        if (u->conf->ssl_verify) {
            if (hm_ssl_verify_result(c, &rc) != HM_OK) {
                hm_log_error(HM_LOG_ERR, c->log, 0,
                             "upstream SSL certificate verify error: "
                             "(%l:%s)", rc,
                             X509_verify_cert_error_string(rc));
                goto failed;
            }

            if (hm_ssl_check_host(c, &u->ssl_name) != HM_OK) {
                hm_log_error(HM_LOG_ERR, c->log, 0,
                             "upstream SSL certificate does not match \"%V\"",
                             &u->ssl_name);
                goto failed;
            }
        }

        if (c->write->timer_set) {
            hm_event_del_timer(c->write);
        }

        hm_http_upstream_send_request(r, u, 1);
        return;
    }

    if (c->write->timedout) {
        hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_TIMEOUT);
        return;
    }

failed:

    hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_ERROR);
}


static void
hm_http_upstream_handler(hm_event_t *ev)
{
    hm_connection_t     *c;
    hm_http_request_t   *r;
    hm_http_upstream_t  *u;

    c = ev->data;
    r = c->data;

    u = r->upstream;
    c = r->connection;

    if (ev->write) {
        u->write_event_handler(r, u);

    } else {
        u->read_event_handler(r, u);
    }

    (void) c;
}


static void
hm_http_upstream_send_request_handler(hm_http_request_t *r,
    hm_http_upstream_t *u)
{
    hm_connection_t  *c;

    c = u->peer.connection;

    if (c->write->timedout) {
        hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_TIMEOUT);
        return;
    }

    if (u->ssl && c->ssl == NULL) {
        if (hm_event_test_connect(c) != HM_OK) {
            hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_ERROR);
            return;
        }

        if (c->write->timer_set) {
            hm_event_del_timer(c->write);
        }

        hm_http_upstream_ssl_init_connection(r, u, c);
        return;
    }

    if (u->header_sent && !u->upgrade) {
        u->write_event_handler = hm_http_upstream_dummy_handler;
        return;
    }

    hm_http_upstream_send_request(r, u, 1);
}


/*
 * The request goes out as the proxy module built it, then the body: the
 * buffered body from memory or its temporary file, or, unbuffered, each
 * piece the client sends as it arrives.
 */

static void
hm_http_upstream_send_request(hm_http_request_t *r, hm_http_upstream_t *u,
    hm_uint_t do_write)
{
    hm_chain_t               *chain;
    hm_connection_t          *c;
    hm_http_request_body_t   *rb;

    c = u->peer.connection;

    r->connection->log->action = "sending request to upstream";

    if (u->state->nelts && u->cur->connect_time == (hm_msec_t) -1) {

        if (!u->request_sent && !u->peer.cached
            && hm_event_test_connect(c) != HM_OK)
        {
            hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_ERROR);
            return;
        }

        u->cur->connect_time = hm_current_msec - u->start_time;
    }

    c->log->action = "sending request to upstream";

    if (!u->request_sent) {
        u->request_sent = 1;
        u->request_sent_chain = u->request_bufs;
    }

    rb = r->request_body;

    for ( ;; ) {

        if (u->request_sent_chain) {

            chain = c->send_chain(c, u->request_sent_chain, 0);

            if (chain == HM_CHAIN_ERROR) {
                hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_ERROR);
                return;
            }

            u->request_sent_chain = chain;

            if (chain) {

                /* the upstream reads slowly: wait for the write event */

                if (!c->write->timer_set) {
                    hm_event_add_timer(c->write, u->conf->send_timeout);
                }

                if (hm_handle_write_event(c->write, 0) != HM_OK) {
                    hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
                }

                return;
            }
        }

        if (!r->request_body_no_buffering || rb == NULL
            || u->request_body_sent)
        {
            break;
        }

        /* unbuffered body: pass what was read, then read more */

        if (rb->bufs) {
            chain = NULL;

            if (hm_chain_add_copy(r->pool, &chain, rb->bufs) != HM_OK) {
                hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            /* the body buffers go back to the reader once they are sent */

            u->request_body_busy = rb->bufs;
            u->request_body_started = 1;
            rb->bufs = NULL;

            u->request_sent_chain = chain;

            if (u->request_body_chunked) {
                if (hm_http_upstream_chunk_wrap(r, &u->request_sent_chain,
                                             0) != HM_OK)
                {
                    hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
                    return;
                }
            }

            continue;
        }

        if (u->request_body_busy) {
            hm_chain_t  *cl;

            for (cl = u->request_body_busy; cl->next; cl = cl->next) {
                /* void */
            }

            cl->next = rb->free;
            rb->free = u->request_body_busy;
            u->request_body_busy = NULL;
        }

        if (rb->last_saved) {

            u->request_body_sent = 1;

            if (u->request_body_chunked) {
                u->request_sent_chain = NULL;

                if (hm_http_upstream_chunk_wrap(r, &u->request_sent_chain, 1)
                    != HM_OK)
                {
                    hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
                    return;
                }

                continue;
            }

            break;
        }

        /* more from the client */

        {
            hm_int_t  rc;

            rc = hm_http_read_unbuffered_request_body(r);

            if (rc >= HM_HTTP_SPECIAL_RESPONSE) {
                hm_http_upstream_finalize_request(r, u, rc);
                return;
            }

            if (rb->bufs == NULL && !rb->last_saved) {

                /* nothing yet: the client's read event brings us back */

                r->read_event_handler = hm_http_upstream_read_request_body;

                if (c->write->timer_set) {
                    hm_event_del_timer(c->write);
                }

                break;
            }
        }
    }

    if (c->write->timer_set) {
        hm_event_del_timer(c->write);
    }

    if (!r->request_body_no_buffering || u->request_body_sent) {
        u->request_body_sent = 1;

        if (!c->read->timer_set && !u->header_sent) {
            hm_event_add_timer(c->read, u->conf->read_timeout);
        }
    }

    if (c->read->ready && !u->header_sent) {
        u->read_event_handler(r, u);
    }

}


static void
hm_http_upstream_read_request_body(hm_http_request_t *r)
{
    hm_http_upstream_t  *u;

    u = r->upstream;

    if (r->connection->read->timedout) {
        r->connection->timedout = 1;
        hm_http_upstream_finalize_request(r, u, HM_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (u->peer.connection == NULL) {
        return;
    }

    hm_http_upstream_send_request(r, u, 0);
}


static void
hm_http_upstream_process_header(hm_http_request_t *r, hm_http_upstream_t *u)
{
    ssize_t            n;
    hm_int_t           rc;
    hm_connection_t   *c;

    c = u->peer.connection;

    c->log->action = u->request_sent ? "reading response header from upstream"
                                     : "connecting to upstream";

    if (c->read->timedout) {
        hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_TIMEOUT);
        return;
    }

    if (!u->request_sent && hm_event_test_connect(c) != HM_OK) {
        hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_ERROR);
        return;
    }

    if (u->buffer.start == NULL) {
        u->buffer.start = hm_palloc(r->pool, u->conf->buffer_size);
        if (u->buffer.start == NULL) {
            hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        u->buffer.pos = u->buffer.start;
        u->buffer.last = u->buffer.start;
        u->buffer.end = u->buffer.start + u->conf->buffer_size;
        u->buffer.temporary = 1;

        if (hm_list_init(&u->headers_in.headers, r->pool, 8,
                         sizeof(hm_table_elt_t))
            != HM_OK)
        {
            hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    for ( ;; ) {

        n = c->recv(c, u->buffer.last, u->buffer.end - u->buffer.last);

        if (n == HM_AGAIN) {

            if (hm_handle_read_event(c->read, 0) != HM_OK) {
                hm_http_upstream_finalize_request(r, u,
                                              HM_HTTP_INTERNAL_SERVER_ERROR);
                return;
            }

            return;
        }

        if (n == 0) {
            hm_log_error(HM_LOG_ERR, c->log, 0,
                         "upstream prematurely closed connection");
        }

        if (n == HM_ERROR || n == 0) {
            hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_ERROR);
            return;
        }

        u->cur->bytes_received += n;
        u->buffer.last += n;

        rc = hm_http_upstream_parse_header(r, u);

        if (rc == HM_AGAIN) {

            if (u->buffer.last == u->buffer.end) {
                hm_log_error(HM_LOG_ERR, c->log, 0,
                             "upstream sent too big header");

                hm_http_upstream_next(r, u,
                                      HM_HTTP_UPSTREAM_FT_INVALID_HEADER);
                return;
            }

            continue;
        }

        break;
    }

    if (rc == HM_HTTP_UPSTREAM_INVALID_HEADER) {
        hm_http_upstream_next(r, u, HM_HTTP_UPSTREAM_FT_INVALID_HEADER);
        return;
    }

    if (rc == HM_ERROR) {
        hm_http_upstream_finalize_request(r, u,
                                          HM_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* rc == HM_OK */

    u->cur->header_time = hm_current_msec - u->start_time;

    if (u->headers_in.status_n >= HM_HTTP_SPECIAL_RESPONSE) {

        hm_uint_t  ft;

        switch (u->headers_in.status_n) {
        case HM_HTTP_INTERNAL_SERVER_ERROR:
            ft = HM_HTTP_UPSTREAM_FT_HTTP_500;
            break;
        case HM_HTTP_BAD_GATEWAY:
            ft = HM_HTTP_UPSTREAM_FT_HTTP_502;
            break;
        case HM_HTTP_SERVICE_UNAVAILABLE:
            ft = HM_HTTP_UPSTREAM_FT_HTTP_503;
            break;
        case HM_HTTP_GATEWAY_TIME_OUT:
            ft = HM_HTTP_UPSTREAM_FT_HTTP_504;
            break;
        case HM_HTTP_FORBIDDEN:
            ft = HM_HTTP_UPSTREAM_FT_HTTP_403;
            break;
        case HM_HTTP_NOT_FOUND:
            ft = HM_HTTP_UPSTREAM_FT_HTTP_404;
            break;
        case HM_HTTP_TOO_MANY_REQUESTS:
            ft = HM_HTTP_UPSTREAM_FT_HTTP_429;
            break;
        default:
            ft = 0;
        }

        if (ft && (u->conf->next_upstream & ft) && u->peer.tries > 1
            && (!(r->method & (HM_HTTP_POST|HM_HTTP_LOCK|HM_HTTP_PATCH))
                || (u->conf->next_upstream & HM_HTTP_UPSTREAM_FT_NOLIVE))
            && (u->conf->next_upstream_timeout == 0
                || hm_current_msec - u->peer.start_time
                   < u->conf->next_upstream_timeout))
        {
            u->cur->status = u->headers_in.status_n;
            hm_http_upstream_next(r, u, ft);
            return;
        }
    }

    if (hm_http_upstream_process_headers(r, u) != HM_OK) {
        return;
    }

    hm_http_upstream_send_response(r, u);
}


/* the status line and the header, into u->headers_in */

static hm_int_t
hm_http_upstream_parse_header(hm_http_request_t *r, hm_http_upstream_t *u)
{
    hm_int_t         rc;
    hm_table_elt_t  *h;

    if (u->headers_in.status_n == 0) {

        rc = hm_http_parse_status_line(&u->parse, &u->buffer, &u->status);

        if (rc == HM_AGAIN) {
            return rc;
        }

        if (rc != HM_OK) {
            hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                         "upstream sent no valid HTTP/1.0 header");
            return HM_HTTP_UPSTREAM_INVALID_HEADER;
        }

        if (u->status.code < 100) {
            hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                         "upstream sent invalid status");
            return HM_HTTP_UPSTREAM_INVALID_HEADER;
        }

        u->headers_in.status_n = u->status.code;
        u->cur->status = u->status.code;

        u->headers_in.status_line.len = u->status.end - u->status.start;
        u->headers_in.status_line.data = u->status.start;

        u->http_version = u->status.http_version;
    }

    for ( ;; ) {

        rc = hm_http_parse_header_line(&u->parse, &u->buffer, 1);

        if (rc == HM_OK) {

            h = hm_list_push(&u->headers_in.headers);
            if (h == NULL) {
                return HM_ERROR;
            }

            h->hash = u->parse.header_hash;

            h->key.len = u->parse.header_name_end - u->parse.header_name_start;
            h->key.data = u->parse.header_name_start;
            h->value.len = u->parse.header_end - u->parse.header_start;
            h->value.data = u->parse.header_start;
            h->lowcase_key = NULL;
            h->next = NULL;

            if (h->key.len == sizeof("Connection") - 1
                && hm_strncasecmp(h->key.data, (u_char *) "Connection",
                                  h->key.len) == 0)
            {
                u->headers_in.connection = h;

                if (hm_strnstr_case(h->value.data, "close", h->value.len))
                {
                    u->headers_in.connection_close = 1;
                }

            } else if (h->key.len == sizeof("Transfer-Encoding") - 1
                       && hm_strncasecmp(h->key.data,
                                         (u_char *) "Transfer-Encoding",
                                         h->key.len) == 0)
            {
                if (u->headers_in.transfer_encoding) {
                    hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                                 "upstream sent duplicate header line: "
                                 "\"%V: %V\"", &h->key, &h->value);
                    return HM_HTTP_UPSTREAM_INVALID_HEADER;
                }

                u->headers_in.transfer_encoding = h;

                if (h->value.len == 7
                    && hm_strncasecmp(h->value.data, (u_char *) "chunked", 7)
                       == 0)
                {
                    u->headers_in.chunked = 1;

                } else {
                    hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                                 "upstream sent unknown "
                                 "\"Transfer-Encoding\": \"%V\"", &h->value);
                    return HM_HTTP_UPSTREAM_INVALID_HEADER;
                }

            } else if (h->key.len == sizeof("Content-Length") - 1
                       && hm_strncasecmp(h->key.data,
                                         (u_char *) "Content-Length",
                                         h->key.len) == 0)
            {
                off_t  n;

                n = hm_atoof(h->value.data, h->value.len);

                if (n == HM_ERROR
                    || (u->headers_in.content_length
                        && n != u->headers_in.content_length_n))
                {
                    hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                                 "upstream sent invalid \"Content-Length\" "
                                 "header: \"%V: %V\"", &h->key, &h->value);
                    return HM_HTTP_UPSTREAM_INVALID_HEADER;
                }

                u->headers_in.content_length = h;
                u->headers_in.content_length_n = n;
            }

            continue;
        }

        if (rc == HM_HTTP_PARSE_HEADER_DONE) {

            if (u->headers_in.chunked && u->headers_in.content_length) {
                hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                             "upstream sent \"Content-Length\" and "
                             "\"Transfer-Encoding\" headers at the same "
                             "time");
                return HM_HTTP_UPSTREAM_INVALID_HEADER;
            }

            /* 1xx other than 101: skip and read the next status line */

            if (u->headers_in.status_n >= 100
                && u->headers_in.status_n < 200
                && u->headers_in.status_n != HM_HTTP_SWITCHING_PROTOCOLS)
            {
                u->headers_in.status_n = 0;
                u->headers_in.headers.part.nelts = 0;
                u->headers_in.headers.last = &u->headers_in.headers.part;
                u->headers_in.connection = NULL;
                u->headers_in.content_length = NULL;
                u->headers_in.content_length_n = -1;
                u->headers_in.transfer_encoding = NULL;
                u->headers_in.chunked = 0;
                u->headers_in.connection_close = 0;
                hm_memzero(&u->parse, sizeof(hm_http_parse_t));

                return hm_http_upstream_parse_header(r, u);
            }

            return HM_OK;
        }

        if (rc == HM_AGAIN) {
            return HM_AGAIN;
        }

        /* rc == HM_HTTP_PARSE_INVALID_HEADER */

        hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                     "upstream sent invalid header");

        return HM_HTTP_UPSTREAM_INVALID_HEADER;
    }
}


static hm_uint_t
hm_http_upstream_hidden(hm_http_upstream_t *u, hm_table_elt_t *h)
{
    hm_str_t   *s;
    hm_uint_t   i;

    for (s = hm_http_upstream_hop_headers; s->len; s++) {
        if (s->len == h->key.len
            && hm_strncasecmp(s->data, h->key.data, s->len) == 0)
        {
            /* Server and Date may be passed on request */

            if ((s->len == 6 && hm_strncasecmp(s->data, (u_char *) "Server",
                                               6) == 0)
                || (s->len == 4 && hm_strncasecmp(s->data, (u_char *) "Date",
                                                  4) == 0))
            {
                break;
            }

            return 1;
        }
    }

    if (s->len) {

        /* Server or Date: hidden unless proxy_pass_header names it */

        if (u->conf->pass_headers) {
            s = u->conf->pass_headers->elts;

            for (i = 0; i < u->conf->pass_headers->nelts; i++) {
                if (s[i].len == h->key.len
                    && hm_strncasecmp(s[i].data, h->key.data, s[i].len) == 0)
                {
                    return 0;
                }
            }
        }

        return 1;
    }

    if (u->conf->pass_headers) {
        s = u->conf->pass_headers->elts;

        for (i = 0; i < u->conf->pass_headers->nelts; i++) {
            if (s[i].len == h->key.len
                && hm_strncasecmp(s[i].data, h->key.data, s[i].len) == 0)
            {
                return 0;
            }
        }
    }

    return hm_hash_find(&u->conf->hide_headers_hash, h->key.data,
                        h->key.len)
           != NULL;
}


static hm_int_t
hm_http_upstream_process_headers(hm_http_request_t *r, hm_http_upstream_t *u)
{
    hm_uint_t         i;
    hm_list_part_t   *part;
    hm_table_elt_t   *h, *ho;

    part = &u->headers_in.headers.part;
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

        if (hm_http_upstream_hidden(u, &h[i])) {
            continue;
        }

        if (h[i].key.len == sizeof("Content-Type") - 1
            && hm_strncasecmp(h[i].key.data, (u_char *) "Content-Type", 12)
               == 0)
        {
            r->headers_out.content_type = h[i].value;
            continue;
        }

        ho = hm_list_push(&r->headers_out.headers);
        if (ho == NULL) {
            goto failed;
        }

        *ho = h[i];
        ho->hash = 1;
        ho->next = NULL;

        /* passed with proxy_pass_header: replaces ours */

        if (h[i].key.len == sizeof("Server") - 1
            && hm_strncasecmp(h[i].key.data, (u_char *) "Server", 6) == 0)
        {
            r->headers_out.server = ho;
        }

        if (h[i].key.len == sizeof("Date") - 1
            && hm_strncasecmp(h[i].key.data, (u_char *) "Date", 4) == 0)
        {
            r->headers_out.date = ho;
        }

        if (h[i].key.len == sizeof("Location") - 1
            && hm_strncasecmp(h[i].key.data, (u_char *) "Location", 8) == 0)
        {
            /* passed as sent: not made absolute by the header filter */
            r->headers_out.location = NULL;
        }
    }

    r->headers_out.status = u->headers_in.status_n;
    r->headers_out.status_line = u->headers_in.status_line;

    if (u->headers_in.status_line.len > 4) {
        /* "200 OK": the reason phrase the upstream used */
        r->headers_out.status_line.data = u->headers_in.status_line.data
                                          + sizeof("HTTP/1.x ") - 1;
        r->headers_out.status_line.len = u->headers_in.status_line.len
                                         - (sizeof("HTTP/1.x ") - 1);
    }

    r->headers_out.content_length_n = u->headers_in.content_length_n;

    u->length = u->headers_in.content_length_n;

    if (u->headers_in.chunked) {
        u->length = 1;   /* until the last chunk */
        r->headers_out.content_length_n = -1;
    }

    if (r->method == HM_HTTP_HEAD
        || u->headers_in.status_n == HM_HTTP_NO_CONTENT
        || u->headers_in.status_n == HM_HTTP_NOT_MODIFIED
        || (u->headers_in.status_n >= 100 && u->headers_in.status_n < 200))
    {
        u->length = 0;
    }

    if (u->headers_in.status_n == HM_HTTP_SWITCHING_PROTOCOLS) {
        u->upgrade = 1;
        r->upgrade = 1;
        r->keepalive = 0;

        /* the Upgrade header goes to the client */

        part = &u->headers_in.headers.part;
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len == 7
                && hm_strncasecmp(h[i].key.data, (u_char *) "Upgrade", 7)
                   == 0)
            {
                ho = hm_list_push(&r->headers_out.headers);
                if (ho == NULL) {
                    goto failed;
                }

                *ho = h[i];
                ho->hash = 1;
            }
        }
    }

    return HM_OK;

failed:

    hm_http_upstream_finalize_request(r, u, HM_HTTP_INTERNAL_SERVER_ERROR);

    return HM_ERROR;
}


static void
hm_http_upstream_send_response(hm_http_request_t *r, hm_http_upstream_t *u)
{
    hm_int_t          rc;
    hm_connection_t  *c;

    c = u->peer.connection;

    rc = hm_http_send_header(r);

    if (rc == HM_ERROR || rc > HM_OK) {
        hm_http_upstream_finalize_request(r, u, rc);
        return;
    }

    u->header_sent = 1;

    if (u->upgrade) {
        hm_http_upstream_upgrade(r, u);
        return;
    }

    if (c->read->timer_set) {
        hm_event_del_timer(c->read);
    }

    /* the request body, if any, is no longer being sent */

    if (r->request_body && r->request_body->temp_file == NULL
        && r->request_body_no_buffering && !u->request_body_sent)
    {
        /* the upstream answered before taking the whole body */
        u->keepalive = 0;
    }

    /* the body part read together with the header */

    r->write_event_handler = hm_http_upstream_process_downstream;
    r->read_event_handler = hm_http_upstream_check_broken_connection;

    u->read_event_handler = hm_http_upstream_process_body;
    u->write_event_handler = hm_http_upstream_dummy_handler;

    if (u->length == 0 || r->header_only) {
        u->body_done = (u->length == 0);
        hm_http_upstream_finalize_request(r, u, 0);
        return;
    }

    if (u->buffer.pos < u->buffer.last) {
        if (hm_http_upstream_body_input(r, u, &u->buffer) != HM_OK) {
            hm_http_upstream_finalize_request(r, u, HM_ERROR);
            return;
        }
    }

    hm_http_upstream_process_body(r, u);
}


/*
 * The raw bytes in b carry body data: framed by Content-Length, chunked,
 * or delimited by the close of the connection.  The data is linked into
 * u->out_bufs (pointing into b) for the output filters.
 */

static hm_int_t
hm_http_upstream_body_input(hm_http_request_t *r, hm_http_upstream_t *u,
    hm_buf_t *b)
{
    size_t       len;
    hm_int_t     rc;
    hm_buf_t    *ob;
    hm_chain_t  *cl, **ll;

    for (ll = &u->out_bufs; *ll; ll = &(*ll)->next) { /* void */ }

    while (b->pos < b->last && !u->body_done) {

        if (u->headers_in.chunked) {

            rc = hm_http_parse_chunked(&u->chunked, b);

            if (rc == HM_DONE) {
                u->body_done = 1;
                u->length = 0;
                break;
            }

            if (rc == HM_AGAIN) {
                break;
            }

            if (rc != HM_OK) {
                hm_log_error(HM_LOG_ERR, r->connection->log, 0,
                             "upstream sent invalid chunked response");
                return HM_ERROR;
            }

            len = hm_min((off_t) (b->last - b->pos), u->chunked.size);
            u->chunked.size -= len;

        } else if (u->length >= 0) {

            len = hm_min((off_t) (b->last - b->pos), u->length);
            u->length -= len;

            if (u->length == 0) {
                u->body_done = 1;
            }

        } else {

            /* until the upstream closes */

            len = b->last - b->pos;
        }

        if (len == 0) {
            continue;
        }

        cl = hm_chain_get_free_buf(r->pool, &u->free_bufs);
        if (cl == NULL) {
            return HM_ERROR;
        }

        ob = cl->buf;
        hm_memzero(ob, sizeof(hm_buf_t));

        ob->pos = b->pos;
        ob->last = b->pos + len;
        ob->start = ob->pos;
        ob->end = ob->last;
        ob->memory = 1;
        ob->shadow = b;
        ob->tag = (hm_buf_tag_t) &hm_http_upstream_module;
        ob->flush = 1;   /* the input buffer is reused only once sent */

        b->pos += len;

        *ll = cl;
        ll = &cl->next;
    }

    if (u->body_done && b->pos < b->last) {
        hm_log_error(HM_LOG_WARN, r->connection->log, 0,
                     "upstream sent more data than specified in "
                     "\"Content-Length\" header");
        u->keepalive = 0;
        b->pos = b->last;
    }

    return HM_OK;
}


/*
 * The body loop.  The input buffer is reused only when everything it
 * holds has gone to the client: a slow client stops the reading from the
 * upstream (the kernel's window pushes back on it), a slow upstream just
 * leaves the client waiting.  Memory per request: one buffer of
 * proxy_buffer_size.
 */

static void
hm_http_upstream_process_body(hm_http_request_t *r, hm_http_upstream_t *u)
{
    ssize_t            n;
    hm_int_t           rc;
    hm_buf_t          *b;
    hm_chain_t        *out;
    hm_connection_t   *c, *downstream;

    c = u->peer.connection;
    downstream = r->connection;
    b = &u->buffer;

    c->log->action = "reading upstream";

    if (c->read->timedout) {
        c->timedout = 1;
        hm_log_error(HM_LOG_ERR, c->log, HM_ETIMEDOUT, "upstream timed out");
        hm_http_upstream_finalize_request(r, u, HM_HTTP_GATEWAY_TIME_OUT);
        return;
    }

    for ( ;; ) {

        /* pass what is ready to the client */

        if (u->out_bufs || u->body_done) {

            out = u->out_bufs;
            u->out_bufs = NULL;

            if (u->body_done && !u->last_sent) {
                hm_chain_t  *cl, **ll;
                hm_buf_t    *lb;

                lb = hm_calloc_buf(r->pool);
                if (lb == NULL) {
                    hm_http_upstream_finalize_request(r, u, HM_ERROR);
                    return;
                }

                lb->last_buf = 1;

                cl = hm_alloc_chain_link(r->pool);
                if (cl == NULL) {
                    hm_http_upstream_finalize_request(r, u, HM_ERROR);
                    return;
                }

                cl->buf = lb;
                cl->next = NULL;

                for (ll = &out; *ll; ll = &(*ll)->next) { /* void */ }
                *ll = cl;

                u->last_sent = 1;
            }

            if (out || r->out) {
                rc = hm_http_output_filter(r, out);

                if (rc == HM_ERROR) {
                    downstream->error = 1;
                    hm_http_upstream_finalize_request(r, u, HM_ERROR);
                    return;
                }
            }

            hm_chain_update_chains(r->pool, &u->free_bufs, &u->busy_bufs,
                                   &out, (hm_buf_tag_t) &hm_http_upstream_module);
        }

        if (u->body_done && r->out == NULL) {
            hm_http_upstream_finalize_request(r, u, 0);
            return;
        }

        if (r->out && u->conf->buffering && !u->body_done
            && hm_http_upstream_absorb(r, u) == HM_OK)
        {
            /*
             * proxy_buffering: what the client has not taken was moved to
             * proxy_buffers; the input buffer reads on while they last
             */

            goto read;
        }

        if (r->out) {

            /* the client is slow: wait for its write event */

            if (!downstream->write->timer_set) {
                hm_http_core_loc_conf_t *clcf;

                clcf = hm_http_get_module_loc_conf(r, hm_http_core_module);
                hm_event_add_timer(downstream->write, clcf->send_timeout);
            }

            if (c->read->timer_set) {
                hm_event_del_timer(c->read);
            }

            return;
        }

        if (u->body_done) {
            continue;
        }

    read:

        /* everything went out or was copied: the input buffer is free */

        b->pos = b->start;
        b->last = b->start;

        if (!c->read->ready && !c->read->eof) {
            break;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == HM_AGAIN) {
            break;
        }

        if (n == HM_ERROR || n == 0) {

            if (u->length == -1 && !u->headers_in.chunked && n == 0) {

                /* a body delimited by the close */

                u->body_done = 1;
                u->keepalive = 0;
                u->eof_body = 1;
                continue;
            }

            hm_log_error(HM_LOG_ERR, c->log, 0,
                         "upstream prematurely closed connection while "
                         "reading upstream");

            /* the client got a truncated response: close it too */

            downstream->error = 1;
            hm_http_upstream_finalize_request(r, u, HM_HTTP_BAD_GATEWAY);
            return;
        }

        u->cur->bytes_received += n;
        b->last += n;

        if (hm_http_upstream_body_input(r, u, b) != HM_OK) {
            downstream->error = 1;
            hm_http_upstream_finalize_request(r, u, HM_HTTP_BAD_GATEWAY);
            return;
        }
    }

    if (hm_handle_read_event(c->read, 0) != HM_OK) {
        hm_http_upstream_finalize_request(r, u, HM_ERROR);
        return;
    }

    if (!c->read->timer_set) {
        hm_event_add_timer(c->read, u->conf->read_timeout);
    }
}


/*
 * Moves the data of r->out that still points into the input buffer into
 * copy blocks (at most proxy_buffers of them per request), so that the
 * input buffer can read on.  HM_DECLINED when the blocks are all in use.
 */

static hm_int_t
hm_http_upstream_absorb(hm_http_request_t *r, hm_http_upstream_t *u)
{
    size_t                    need, size;
    hm_buf_t                 *b;
    hm_chain_t               *cl;
    hm_http_upstream_copy_t  *cp;

    /* blocks whose data was sent are free again */

    for (cp = u->copies; cp; cp = cp->next) {
        if (cp->buf && (cp->buf->start != cp->block
                        || cp->buf->pos == cp->buf->last))
        {
            cp->buf = NULL;
        }
    }

    size = hm_max(u->conf->bufs.size, u->conf->buffer_size);

    for (cl = r->out; cl; cl = cl->next) {

        b = cl->buf;

        if (b->shadow != &u->buffer || b->pos == b->last) {
            continue;
        }

        need = b->last - b->pos;

        for (cp = u->copies; cp; cp = cp->next) {
            if (cp->buf == NULL) {
                break;
            }
        }

        if (cp == NULL) {

            if (u->ncopies >= (hm_uint_t) u->conf->bufs.num) {
                return HM_DECLINED;
            }

            cp = hm_palloc(r->pool, sizeof(hm_http_upstream_copy_t));
            if (cp == NULL) {
                return HM_DECLINED;
            }

            cp->block = hm_palloc(r->pool, size);
            if (cp->block == NULL) {
                return HM_DECLINED;
            }

            cp->size = size;
            cp->buf = NULL;
            cp->next = u->copies;
            u->copies = cp;
            u->ncopies++;
        }

        if (need > cp->size) {
            return HM_DECLINED;
        }

        hm_memcpy(cp->block, b->pos, need);

        b->start = cp->block;
        b->pos = cp->block;
        b->last = cp->block + need;
        b->end = cp->block + cp->size;
        b->shadow = NULL;
        b->memory = 0;
        b->temporary = 1;

        cp->buf = b;
    }

    return HM_OK;
}


/* the client can take more: continue the body loop */

static void
hm_http_upstream_process_downstream(hm_http_request_t *r)
{
    hm_connection_t     *c;
    hm_http_upstream_t  *u;

    c = r->connection;
    u = r->upstream;

    if (c->write->timedout) {
        c->timedout = 1;
        hm_log_error(HM_LOG_INFO, c->log, HM_ETIMEDOUT, "client timed out");
        hm_http_upstream_finalize_request(r, u, HM_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (r->out) {
        if (hm_http_output_filter(r, NULL) == HM_ERROR) {
            hm_http_upstream_finalize_request(r, u, HM_ERROR);
            return;
        }

        if (r->out) {
            return;
        }
    }

    if (c->write->timer_set) {
        hm_event_del_timer(c->write);
    }

    if (u->peer.connection == NULL) {
        return;
    }

    hm_http_upstream_process_body(r, u);
}


/*
 * 101 Switching Protocols: from now on bytes flow both ways unchanged
 * (WebSocket and friends), each direction through one buffer.
 */

static void
hm_http_upstream_upgrade(hm_http_request_t *r, hm_http_upstream_t *u)
{
    hm_connection_t  *c;

    c = r->connection;

    r->keepalive = 0;
    c->log->action = "proxying upgraded connection";

    u->read_event_handler = hm_http_upstream_upgraded_read_upstream;
    u->write_event_handler = hm_http_upstream_upgraded_read_upstream;
    r->read_event_handler = hm_http_upstream_upgraded_read_downstream;
    r->write_event_handler = hm_http_upstream_upgraded_write_downstream;

    u->from_client = hm_create_temp_buf(c->pool, u->conf->buffer_size);
    if (u->from_client == NULL) {
        hm_http_upstream_finalize_request(r, u, HM_ERROR);
        return;
    }

    /* what the client sent after its request, and what the upstream
     * sent after its header */

    if (r->header_in->pos < r->header_in->last) {
        size_t  n = hm_min((size_t) (r->header_in->last - r->header_in->pos),
                           (size_t) (u->from_client->end
                                     - u->from_client->last));

        u->from_client->last = hm_cpymem(u->from_client->last,
                                         r->header_in->pos, n);
        r->header_in->pos += n;
    }

    if (u->peer.connection->read->timer_set) {
        hm_event_del_timer(u->peer.connection->read);
    }

    hm_http_upstream_process_upgraded(r, 1, 1);
    hm_http_upstream_process_upgraded(r, 0, 1);
}


static void
hm_http_upstream_upgraded_read_downstream(hm_http_request_t *r)
{
    hm_http_upstream_process_upgraded(r, 0, 0);
}


static void
hm_http_upstream_upgraded_write_downstream(hm_http_request_t *r)
{
    hm_http_upstream_process_upgraded(r, 1, 1);
}


static void
hm_http_upstream_upgraded_read_upstream(hm_http_request_t *r,
    hm_http_upstream_t *u)
{
    hm_http_upstream_process_upgraded(r, 1, 0);
    hm_http_upstream_process_upgraded(r, 0, 1);
}


static void
hm_http_upstream_process_upgraded(hm_http_request_t *r,
    hm_uint_t from_upstream, hm_uint_t do_write)
{
    size_t                     size;
    ssize_t                    n;
    hm_buf_t                  *b;
    hm_connection_t           *c, *downstream, *upstream, *dst, *src;
    hm_http_upstream_t        *u;

    c = r->connection;
    u = r->upstream;

    downstream = c;
    upstream = u->peer.connection;

    if (upstream == NULL) {
        return;
    }

    if (downstream->write->timedout || upstream->read->timedout
        || downstream->read->timedout || upstream->write->timedout)
    {
        c->timedout = 1;
        hm_log_error(HM_LOG_INFO, c->log, HM_ETIMEDOUT,
                     "upgraded connection timed out");
        hm_http_upstream_finalize_request(r, u, HM_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (from_upstream) {
        src = upstream;
        dst = downstream;
        b = &u->buffer;

        /* the 101 header first */

        if (r->out) {
            if (hm_http_output_filter(r, NULL) == HM_ERROR) {
                hm_http_upstream_finalize_request(r, u, HM_ERROR);
                return;
            }

            if (r->out) {
                if (hm_handle_write_event(dst->write, 0) != HM_OK) {
                    hm_http_upstream_finalize_request(r, u, HM_ERROR);
                }

                return;
            }
        }

    } else {
        src = downstream;
        dst = upstream;
        b = u->from_client;
    }

    for ( ;; ) {

        if (do_write) {

            size = b->last - b->pos;

            if (size && dst->write->ready) {

                n = dst->send(dst, b->pos, size);

                if (n == HM_ERROR) {
                    hm_http_upstream_finalize_request(r, u, HM_ERROR);
                    return;
                }

                if (n > 0) {
                    b->pos += n;

                    if (b->pos == b->last) {
                        b->pos = b->start;
                        b->last = b->start;
                    }
                }
            }
        }

        size = b->end - b->last;

        if (size && src->read->ready && !src->read->eof) {

            n = src->recv(src, b->last, size);

            if (n == HM_AGAIN || n == 0) {
                break;
            }

            if (n > 0) {
                do_write = 1;
                b->last += n;

                continue;
            }

            if (n == HM_ERROR) {
                src->read->eof = 1;
            }
        }

        break;
    }

    if ((upstream->read->eof && u->buffer.pos == u->buffer.last)
        || (downstream->read->eof && u->from_client->pos
                                     == u->from_client->last)
        || (downstream->read->eof && upstream->read->eof))
    {
        hm_http_upstream_finalize_request(r, u, 0);
        return;
    }

    if (hm_handle_write_event(dst->write, 0) != HM_OK
        || hm_handle_read_event(src->read, 0) != HM_OK)
    {
        hm_http_upstream_finalize_request(r, u, HM_ERROR);
        return;
    }

    /* idle upgraded connections end after proxy_read_timeout */

    hm_event_add_timer(upstream->read, u->conf->read_timeout);
}


static void
hm_http_upstream_dummy_handler(hm_http_request_t *r, hm_http_upstream_t *u)
{
}


static void
hm_http_upstream_check_broken_connection(hm_http_request_t *r)
{
    int                  n;
    char                 buf[1];
    hm_err_t             err;
    hm_event_t          *ev;
    hm_connection_t     *c;
    hm_http_upstream_t  *u;

    c = r->connection;
    u = r->upstream;

    if (c->error) {
        goto broken;
    }

    ev = c->read;

    if (r->request_body_no_buffering && r->reading_body) {
        hm_http_upstream_read_request_body(r);
        return;
    }

    if (ev->pending_eof || ev->eof) {
        err = 0;
        goto closed;
    }

    /*
     * epoll reports a closed peer with EPOLLRDHUP (pending_eof): without
     * it there is nothing to look at, and no recv() to pay per request
     */

    if (hm_event_flags & HM_USE_EPOLL_EVENT) {
        return;
    }

    n = recv(c->fd, buf, 1, MSG_PEEK);

    if (n > 0) {
        /* a pipelined request; it waits for this one */
        return;
    }

    if (n == -1) {
        err = hm_socket_errno;

        if (err == HM_EAGAIN) {
            return;
        }

        ev->error = 1;

    } else { /* n == 0 */
        err = 0;
    }

closed:

    ev->eof = 1;
    c->error = 1;

    hm_log_error(HM_LOG_INFO, c->log, err,
                 "client prematurely closed connection");

broken:

    if (u->peer.connection == NULL || !u->conf->ignore_client_abort) {
        hm_http_upstream_finalize_request(r, u,
                                          HM_HTTP_CLIENT_CLOSED_REQUEST);
    }
}


static void
hm_http_upstream_next(hm_http_request_t *r, hm_http_upstream_t *u,
    hm_uint_t ft_type)
{
    hm_uint_t  status, state;

    if (u->peer.sockaddr) {

        if (ft_type == HM_HTTP_UPSTREAM_FT_HTTP_403
            || ft_type == HM_HTTP_UPSTREAM_FT_HTTP_404)
        {
            state = HM_PEER_NEXT;

        } else {
            state = HM_PEER_FAILED;
        }

        u->peer.free(&u->peer, u->peer.data, state);
        u->peer.sockaddr = NULL;
    }

    if (ft_type == HM_HTTP_UPSTREAM_FT_TIMEOUT) {
        hm_log_error(HM_LOG_ERR, r->connection->log, HM_ETIMEDOUT,
                     "upstream timed out");
    }

    if (u->peer.cached && ft_type == HM_HTTP_UPSTREAM_FT_ERROR) {

        /* a cached connection the upstream closed meanwhile: one more try */

        if (u->peer.tries == 0) {
            u->peer.tries = 1;
        }
    }

    switch (ft_type) {

    case HM_HTTP_UPSTREAM_FT_TIMEOUT:
        status = HM_HTTP_GATEWAY_TIME_OUT;
        break;

    case HM_HTTP_UPSTREAM_FT_HTTP_500:
        status = HM_HTTP_INTERNAL_SERVER_ERROR;
        break;

    case HM_HTTP_UPSTREAM_FT_HTTP_503:
        status = HM_HTTP_SERVICE_UNAVAILABLE;
        break;

    case HM_HTTP_UPSTREAM_FT_HTTP_403:
        status = HM_HTTP_FORBIDDEN;
        break;

    case HM_HTTP_UPSTREAM_FT_HTTP_404:
        status = HM_HTTP_NOT_FOUND;
        break;

    case HM_HTTP_UPSTREAM_FT_HTTP_429:
        status = HM_HTTP_TOO_MANY_REQUESTS;
        break;

    case HM_HTTP_UPSTREAM_FT_HTTP_504:
        status = HM_HTTP_GATEWAY_TIME_OUT;
        break;

    /*
     * HM_HTTP_UPSTREAM_FT_BUSY_LOCK and HM_HTTP_UPSTREAM_FT_MAX_WAITING
     * never reach here
     */

    default:
        status = HM_HTTP_BAD_GATEWAY;
    }

    if (r->connection->error) {
        hm_http_upstream_finalize_request(r, u,
                                          HM_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

    u->cur->status = status;
    u->cur->response_time = hm_current_msec - u->start_time;

    if (u->peer.connection) {
        u->cur->bytes_received += 0;
    }

    if (u->peer.tries == 0
        || ((u->conf->next_upstream & ft_type) != ft_type
            && !(u->peer.cached && ft_type == HM_HTTP_UPSTREAM_FT_ERROR))
        || (u->request_sent && !u->peer.cached
            && (r->method & (HM_HTTP_POST|HM_HTTP_LOCK|HM_HTTP_PATCH))
            && !(u->conf->next_upstream & HM_HTTP_UPSTREAM_FT_NOLIVE))
        || (r->request_body_no_buffering && u->request_body_started)
        || (u->conf->next_upstream_timeout
            && hm_current_msec - u->peer.start_time
               >= u->conf->next_upstream_timeout)
        || ft_type == HM_HTTP_UPSTREAM_FT_NOLIVE)
    {
        hm_http_upstream_finalize_request(r, u, status);
        return;
    }

    if (u->peer.connection) {
        if (u->peer.connection->ssl) {
            u->peer.connection->ssl->no_wait_shutdown = 1;
            u->peer.connection->ssl->no_send_shutdown = 1;
            (void) hm_ssl_shutdown(u->peer.connection);
        }

        if (u->peer.connection->pool) {
            hm_destroy_pool(u->peer.connection->pool);
        }

        hm_close_connection(u->peer.connection);
        u->peer.connection = NULL;
    }

    if (hm_http_upstream_reinit(r, u) != HM_OK) {
        hm_http_upstream_finalize_request(r, u,
                                          HM_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    hm_http_upstream_connect(r, u);
}


static hm_int_t
hm_http_upstream_reinit(hm_http_request_t *r, hm_http_upstream_t *u)
{
    hm_chain_t  *cl;

    if (u->reinit_request && u->reinit_request(r) != HM_OK) {
        return HM_ERROR;
    }

    hm_memzero(&u->headers_in, sizeof(hm_http_upstream_headers_in_t));
    u->headers_in.content_length_n = -1;

    hm_memzero(&u->parse, sizeof(hm_http_parse_t));
    hm_memzero(&u->chunked, sizeof(hm_http_chunked_t));
    hm_memzero(&u->status, sizeof(hm_http_status_t));

    u->length = -1;
    u->keepalive = 0;
    u->body_done = 0;

    /* the request buffers are sent again from their start */

    for (cl = u->request_bufs; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->start;

        if (cl->buf->in_file) {
            cl->buf->file_pos = 0;
        }
    }

    u->buffer.pos = u->buffer.start;
    u->buffer.last = u->buffer.start;

    return HM_OK;
}


static void
hm_http_upstream_cleanup(void *data)
{
    hm_http_request_t *r = data;

    hm_http_upstream_finalize_request(r, r->upstream, HM_DONE);
}


static void
hm_http_upstream_finalize_request(hm_http_request_t *r,
    hm_http_upstream_t *u, hm_int_t rc)
{
    socklen_t          salen;
    hm_uint_t          reusable;
    hm_connection_t   *c;
    struct sockaddr   *sa;

    if (u->finalized) {
        if (rc != HM_DONE) {
            hm_http_finalize_request(r, rc);
        }

        return;
    }

    u->finalized = 1;

    if (u->state && u->state->nelts && u->cur
        && u->cur->response_time == (hm_msec_t) -1)
    {
        u->cur->response_time = hm_current_msec - u->start_time;
    }

    c = u->peer.connection;

    reusable = (c && u->body_done && !u->eof_body && !u->upgrade
                && u->upstream && u->upstream->keepalive
                && u->http_version >= HM_HTTP_VERSION_11
                && !u->headers_in.connection_close
                && u->request_body_sent
                && u->buffer.pos == u->buffer.last
                && !c->read->eof && !c->error
                && c->requests < u->upstream->keepalive_requests
                && !hm_exiting && !hm_terminate
                && (rc == 0 || rc == HM_DONE));

    sa = u->peer.sockaddr;
    salen = u->peer.socklen;

    if (sa == NULL) {
        reusable = 0;
    }

    if (u->peer.free && u->peer.sockaddr) {
        if (u->rrp.current && u->cur->response_time != (hm_msec_t) -1) {
            u->rrp.current->response_time_ms += u->cur->response_time;
            hm_metric_add_value(u->rrp.current->m_time,
                                (int64_t) u->cur->response_time);
        }

        u->peer.free(&u->peer, u->peer.data, 0);
        u->peer.sockaddr = NULL;
    }

    if (c) {

        if (c->read->timer_set) {
            hm_event_del_timer(c->read);
        }

        if (c->write->timer_set) {
            hm_event_del_timer(c->write);
        }

        if (reusable) {
            hm_http_upstream_keepalive_save(u->upstream, c, sa, salen);

        } else {
            if (c->ssl) {
                c->ssl->no_wait_shutdown = 1;
                (void) hm_ssl_shutdown(c);
            }

            if (c->pool) {
                hm_destroy_pool(c->pool);
                c->pool = NULL;
            }

            hm_close_connection(c);
        }

        u->peer.connection = NULL;
    }

    r->connection->log->action = "sending to client";

    if (rc == HM_DONE) {
        return;
    }

    if (!u->header_sent
        || rc == HM_HTTP_REQUEST_TIME_OUT
        || rc == HM_HTTP_CLIENT_CLOSED_REQUEST)
    {
        hm_http_finalize_request(r, rc);
        return;
    }

    if (rc >= HM_HTTP_SPECIAL_RESPONSE || rc == HM_ERROR) {

        /* the header is out: the client must see the response is broken */

        r->connection->error = 1;
        hm_http_finalize_request(r, HM_ERROR);
        return;
    }

    hm_http_finalize_request(r, rc);
}


/* keepalive connection pools, per upstream group and worker */

hm_connection_t *
hm_http_upstream_keepalive_get(hm_http_upstream_srv_conf_t *uscf,
    struct sockaddr *sa, socklen_t len)
{
    hm_queue_t                          *q;
    hm_connection_t                     *c;
    hm_http_upstream_keepalive_cache_t  *item;

    for (q = hm_queue_head(&uscf->cache);
         q != hm_queue_sentinel(&uscf->cache);
         q = hm_queue_next(q))
    {
        item = hm_queue_data(q, hm_http_upstream_keepalive_cache_t, queue);

        if (hm_cmp_sockaddr(item->sockaddr, item->socklen, sa, len, 1)
            != HM_OK)
        {
            continue;
        }

        hm_queue_remove(q);
        hm_queue_insert_head(&uscf->free, q);

        c = item->connection;

        if (c->read->timer_set) {
            hm_event_del_timer(c->read);
        }

        c->idle = 0;
        hm_reusable_connection(c, 0);
        c->log = hm_cycle->log;
        c->read->log = hm_cycle->log;
        c->write->log = hm_cycle->log;
        c->pool->log = hm_cycle->log;

        return c;
    }

    return NULL;
}


void
hm_http_upstream_keepalive_save(hm_http_upstream_srv_conf_t *uscf,
    hm_connection_t *c, struct sockaddr *sa, socklen_t len)
{
    hm_queue_t                          *q;
    hm_http_upstream_keepalive_cache_t  *item;

    if (hm_queue_empty(&uscf->free)) {

        /* the oldest idle connection goes */

        q = hm_queue_last(&uscf->cache);
        hm_queue_remove(q);

        item = hm_queue_data(q, hm_http_upstream_keepalive_cache_t, queue);

        if (item->connection->pool) {
            hm_destroy_pool(item->connection->pool);
        }

        hm_close_connection(item->connection);

    } else {
        q = hm_queue_head(&uscf->free);
        hm_queue_remove(q);

        item = hm_queue_data(q, hm_http_upstream_keepalive_cache_t, queue);
    }

    hm_queue_insert_head(&uscf->cache, q);

    item->connection = c;
    item->uscf = uscf;

    hm_memcpy(&item->sockaddr_data, sa, len);
    item->sockaddr = &item->sockaddr_data.sockaddr;
    item->socklen = len;

    c->read->delayed = 0;
    c->write->handler = hm_http_upstream_keepalive_dummy_handler;
    c->read->handler = hm_http_upstream_keepalive_close_handler;

    c->data = item;
    c->idle = 1;

    /* a graceful stop closes it at once */

    hm_reusable_connection(c, 1);
    c->log = hm_cycle->log;
    c->read->log = hm_cycle->log;
    c->write->log = hm_cycle->log;
    c->pool->log = hm_cycle->log;

    hm_event_add_timer(c->read, uscf->keepalive_timeout);

    if (c->read->ready) {
        hm_http_upstream_keepalive_close_handler(c->read);
    }
}


static void
hm_http_upstream_keepalive_dummy_handler(hm_event_t *ev)
{
}


/* an idle upstream connection that times out, closes or talks: closed */

static void
hm_http_upstream_keepalive_close_handler(hm_event_t *ev)
{
    int                                  n;
    char                                 buf[1];
    hm_connection_t                     *c;
    hm_http_upstream_keepalive_cache_t  *item;

    c = ev->data;
    item = c->data;

    if (!c->close && !ev->timedout) {

        n = recv(c->fd, buf, 1, MSG_PEEK);

        if (n == -1 && hm_socket_errno == HM_EAGAIN) {
            ev->ready = 0;
            return;
        }
    }

    hm_queue_remove(&item->queue);
    hm_queue_insert_head(&item->uscf->free, &item->queue);

    if (c->pool) {
        hm_destroy_pool(c->pool);
    }

    hm_close_connection(c);
}


/* "upstream NAME { ... }" */

static char *
hm_http_upstream(hm_conf_t *cf, hm_command_t *cmd, void *dummy)
{
    char                          *rv;
    void                          *mconf;
    hm_str_t                      *value;
    hm_url_t                       u;
    hm_uint_t                      m;
    hm_conf_t                      pcf;
    hm_http_module_t              *module;
    hm_http_conf_ctx_t            *ctx, *http_ctx;
    hm_http_upstream_srv_conf_t   *uscf;

    hm_memzero(&u, sizeof(hm_url_t));

    value = cf->args->elts;
    u.host = value[1];
    u.no_resolve = 1;
    u.no_port = 1;

    uscf = hm_http_upstream_add(cf, &u, 0);
    if (uscf == NULL) {
        return HM_CONF_ERROR;
    }

    ctx = hm_pcalloc(cf->pool, sizeof(hm_http_conf_ctx_t));
    if (ctx == NULL) {
        return HM_CONF_ERROR;
    }

    http_ctx = cf->ctx;
    ctx->main_conf = http_ctx->main_conf;

    /* the upstream{}'s srv_conf */

    ctx->srv_conf = hm_pcalloc(cf->pool, sizeof(void *) * hm_http_max_module);
    if (ctx->srv_conf == NULL) {
        return HM_CONF_ERROR;
    }

    ctx->srv_conf[hm_http_upstream_module.ctx_index] = uscf;

    /* the upstream{}'s loc_conf */

    ctx->loc_conf = hm_pcalloc(cf->pool, sizeof(void *) * hm_http_max_module);
    if (ctx->loc_conf == NULL) {
        return HM_CONF_ERROR;
    }

    for (m = 0; cf->cycle->modules[m]; m++) {
        if (cf->cycle->modules[m]->type != HM_HTTP_MODULE) {
            continue;
        }

        module = cf->cycle->modules[m]->ctx;

        if (module->create_loc_conf) {
            mconf = module->create_loc_conf(cf);
            if (mconf == NULL) {
                return HM_CONF_ERROR;
            }

            ctx->loc_conf[cf->cycle->modules[m]->ctx_index] = mconf;
        }
    }

    uscf->servers = hm_array_create(cf->pool, 4,
                                    sizeof(hm_http_upstream_server_t));
    if (uscf->servers == NULL) {
        return HM_CONF_ERROR;
    }

    /* parse inside upstream{} */

    pcf = *cf;
    cf->ctx = ctx;
    cf->cmd_type = HM_HTTP_UPS_CONF;

    rv = hm_conf_parse(cf, NULL);

    *cf = pcf;

    if (rv != HM_CONF_OK) {
        return rv;
    }

    if (uscf->servers->nelts == 0) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "no servers are inside upstream");
        return HM_CONF_ERROR;
    }

    return rv;
}


static char *
hm_http_upstream_server(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_upstream_srv_conf_t  *uscf = conf;

    time_t                       fail_timeout;
    hm_str_t                    *value, s;
    hm_url_t                     u;
    hm_int_t                     weight, max_fails;
    hm_uint_t                    i;
    hm_http_upstream_server_t   *us;

    us = hm_array_push(uscf->servers);
    if (us == NULL) {
        return HM_CONF_ERROR;
    }

    hm_memzero(us, sizeof(hm_http_upstream_server_t));

    value = cf->args->elts;

    weight = 1;
    max_fails = 1;
    fail_timeout = 10;

    for (i = 2; i < cf->args->nelts; i++) {

        if (hm_strncmp(value[i].data, "weight=", 7) == 0) {

            weight = hm_atoi(&value[i].data[7], value[i].len - 7);

            if (weight == HM_ERROR || weight == 0) {
                goto invalid;
            }

            continue;
        }

        if (hm_strncmp(value[i].data, "max_fails=", 10) == 0) {

            max_fails = hm_atoi(&value[i].data[10], value[i].len - 10);

            if (max_fails == HM_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (hm_strncmp(value[i].data, "fail_timeout=", 13) == 0) {

            s.len = value[i].len - 13;
            s.data = &value[i].data[13];

            fail_timeout = hm_parse_time(&s, 1);

            if (fail_timeout == (time_t) HM_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (hm_str_eq(&value[i], "backup")) {
            us->backup = 1;
            continue;
        }

        if (hm_str_eq(&value[i], "down")) {
            us->down = 1;
            continue;
        }

        goto invalid;
    }

    hm_memzero(&u, sizeof(hm_url_t));

    u.url = value[1];
    u.default_port = 80;

    if (hm_parse_url(cf->pool, &u) != HM_OK) {
        if (u.err) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "%s in upstream \"%V\"", u.err, &u.url);
        }

        return HM_CONF_ERROR;
    }

    us->name = u.url;
    us->addrs = u.addrs;
    us->naddrs = u.naddrs;
    us->weight = weight;
    us->max_fails = max_fails;
    us->fail_timeout = fail_timeout;

    return HM_CONF_OK;

invalid:

    hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                      "invalid parameter \"%V\"", &value[i]);

    return HM_CONF_ERROR;
}


static char *
hm_http_upstream_keepalive(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_upstream_srv_conf_t  *uscf = conf;

    hm_int_t   n;
    hm_str_t  *value;

    if (uscf->keepalive) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = hm_atoi(value[1].data, value[1].len);

    if (n == HM_ERROR || n == 0) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid value \"%V\" in \"%V\" directive",
                          &value[1], &cmd->name);
        return HM_CONF_ERROR;
    }

    uscf->keepalive = n;

    return HM_CONF_OK;
}


static char *
hm_http_upstream_balancer(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_upstream_srv_conf_t  *uscf = conf;

    hm_str_t  *value;

    if (uscf->balancer != HM_HTTP_UPSTREAM_RR) {
        return "is duplicate: a load balancing method is already set";
    }

    value = cf->args->elts;

    if (hm_str_eq(&cmd->name, "least_conn")) {
        uscf->balancer = HM_HTTP_UPSTREAM_LEAST_CONN;
        return HM_CONF_OK;
    }

    if (hm_str_eq(&cmd->name, "random")) {
        uscf->balancer = HM_HTTP_UPSTREAM_RANDOM;

        if (cf->args->nelts == 2) {
            if (!hm_str_eq(&value[1], "two")) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "invalid parameter \"%V\"", &value[1]);
                return HM_CONF_ERROR;
            }

            uscf->random_two = 1;
        }

        return HM_CONF_OK;
    }

    /* hash */

    uscf->balancer = HM_HTTP_UPSTREAM_HASH;

    uscf->hash_key = hm_palloc(cf->pool, sizeof(hm_complex_value_t));
    if (uscf->hash_key == NULL) {
        return HM_CONF_ERROR;
    }

    if (hm_complex_value_compile(cf, &value[1], HM_VAR_HTTP, uscf->hash_key)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        if (!hm_str_eq(&value[2], "consistent")) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid parameter \"%V\"", &value[2]);
            return HM_CONF_ERROR;
        }

        uscf->hash_consistent = 1;
    }

    return HM_CONF_OK;
}


/*
 * An upstream by name: "upstream NAME" blocks, and the implicit ones of
 * "proxy_pass http://host:port".  A block declared after the proxy_pass
 * that names it still takes it over.
 */

/*
 * A server group for u, not registered anywhere; an implicit one (from a
 * URL, as proxy_pass makes them) has one server with every address of
 * the host.
 */

hm_http_upstream_srv_conf_t *
hm_http_upstream_create_srv_conf(hm_conf_t *cf, hm_url_t *u,
    hm_uint_t implicit)
{
    hm_http_upstream_server_t    *us;
    hm_http_upstream_srv_conf_t  *uscf;

    uscf = hm_pcalloc(cf->pool, sizeof(hm_http_upstream_srv_conf_t));
    if (uscf == NULL) {
        return NULL;
    }

    uscf->host = u->host;
    uscf->label = (implicit && u->url.len) ? u->url : u->host;
    uscf->port = u->port;
    uscf->implicit = implicit;
    uscf->keepalive_timeout = HM_CONF_UNSET_MSEC;
    uscf->keepalive_requests = HM_CONF_UNSET_UINT;

    hm_conf_location(cf, &uscf->where);

    if (!implicit || u->naddrs == 0) {
        return uscf;
    }

    uscf->servers = hm_array_create(cf->pool, 1,
                                    sizeof(hm_http_upstream_server_t));
    if (uscf->servers == NULL) {
        return NULL;
    }

    us = hm_array_push(uscf->servers);
    if (us == NULL) {
        return NULL;
    }

    hm_memzero(us, sizeof(hm_http_upstream_server_t));

    us->name = u->url;
    us->addrs = u->addrs;
    us->naddrs = u->naddrs;
    us->weight = 1;
    us->max_fails = 1;
    us->fail_timeout = 10;

    return uscf;
}


hm_http_upstream_srv_conf_t *
hm_http_upstream_add(hm_conf_t *cf, hm_url_t *u, hm_uint_t implicit)
{
    hm_uint_t                       i;
    hm_http_upstream_srv_conf_t    *uscf, **uscfp;
    hm_http_upstream_main_conf_t   *umcf;

    umcf = hm_http_conf_get_module_main_conf(cf, hm_http_upstream_module);

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {

        if (uscfp[i]->host.len != u->host.len
            || hm_strncasecmp(uscfp[i]->host.data, u->host.data, u->host.len)
               != 0)
        {
            continue;
        }

        if (!implicit && !uscfp[i]->implicit) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "duplicate upstream \"%V\"", &u->host);
            return NULL;
        }

        if (implicit && (uscfp[i]->implicit && uscfp[i]->port != u->port)) {
            continue;
        }

        if (!implicit) {

            /* the block replaces a name proxy_pass used before it */

            uscfp[i]->implicit = 0;
            uscfp[i]->label = u->host;
            hm_conf_location(cf, &uscfp[i]->where);
        }

        return uscfp[i];
    }

    uscf = hm_http_upstream_create_srv_conf(cf, u, implicit);
    if (uscf == NULL) {
        return NULL;
    }

    uscfp = hm_array_push(&umcf->upstreams);
    if (uscfp == NULL) {
        return NULL;
    }

    *uscfp = uscf;

    return uscf;
}


static void *
hm_http_upstream_create_main_conf(hm_conf_t *cf)
{
    hm_http_upstream_main_conf_t  *umcf;

    umcf = hm_pcalloc(cf->pool, sizeof(hm_http_upstream_main_conf_t));
    if (umcf == NULL) {
        return NULL;
    }

    if (hm_array_init(&umcf->upstreams, cf->pool, 4,
                      sizeof(hm_http_upstream_srv_conf_t *))
        != HM_OK)
    {
        return NULL;
    }

    return umcf;
}


static char *
hm_http_upstream_init_main_conf(hm_conf_t *cf, void *conf)
{
    hm_http_upstream_main_conf_t  *umcf = conf;

    hm_uint_t                            i, n;
    hm_http_upstream_srv_conf_t        **uscfp;
    hm_http_upstream_keepalive_cache_t  *cached;

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {

        if (uscfp[i]->servers == NULL) {
            hm_log_error_at(HM_LOG_EMERG, cf->log, &uscfp[i]->where,
                            "no upstream \"%V\" is defined (host not found)",
                            &uscfp[i]->host);
            return HM_CONF_ERROR;
        }

        if (hm_http_upstream_init_peers(cf, uscfp[i]) != HM_OK) {
            return HM_CONF_ERROR;
        }

        if (hm_http_upstream_add_metrics(cf, uscfp[i]) != HM_OK) {
            return HM_CONF_ERROR;
        }

        hm_conf_init_msec_value(uscfp[i]->keepalive_timeout, 60000);
        hm_conf_init_uint_value(uscfp[i]->keepalive_requests, 1000);

        hm_queue_init(&uscfp[i]->cache);
        hm_queue_init(&uscfp[i]->free);

        if (uscfp[i]->keepalive == 0) {
            continue;
        }

        cached = hm_pcalloc(cf->pool,
                    sizeof(hm_http_upstream_keepalive_cache_t)
                    * uscfp[i]->keepalive);
        if (cached == NULL) {
            return HM_CONF_ERROR;
        }

        for (n = 0; n < uscfp[i]->keepalive; n++) {
            hm_queue_insert_head(&uscfp[i]->free, &cached[n].queue);
        }
    }

    return HM_CONF_OK;
}


/* $upstream_addr, $upstream_status, ...: one value per try, ", " */

#define HM_HTTP_UPSTREAM_VAR_ADDR           0
#define HM_HTTP_UPSTREAM_VAR_STATUS         1
#define HM_HTTP_UPSTREAM_VAR_RESPONSE_TIME  2
#define HM_HTTP_UPSTREAM_VAR_CONNECT_TIME   3
#define HM_HTTP_UPSTREAM_VAR_HEADER_TIME    4
#define HM_HTTP_UPSTREAM_VAR_BYTES          5


static hm_int_t
hm_http_upstream_variable(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    hm_http_request_t *r = ctx;

    u_char                    *p;
    size_t                     len;
    hm_msec_t                  ms;
    hm_uint_t                  i;
    hm_http_upstream_state_t  *state;

    if (r->upstream == NULL || r->upstream->state == NULL
        || r->upstream->state->nelts == 0)
    {
        v->not_found = 1;
        return HM_OK;
    }

    state = r->upstream->state->elts;

    len = 0;

    for (i = 0; i < r->upstream->state->nelts; i++) {
        len += (state[i].peer ? state[i].peer->len : 1)
               + HM_INT64_LEN + 8;
    }

    p = hm_pnalloc(pool, len);
    if (p == NULL) {
        return HM_ERROR;
    }

    v->data = p;

    for (i = 0; i < r->upstream->state->nelts; i++) {

        if (i) {
            *p++ = ','; *p++ = ' ';
        }

        switch (data) {

        case HM_HTTP_UPSTREAM_VAR_ADDR:
            if (state[i].peer) {
                p = hm_cpymem(p, state[i].peer->data, state[i].peer->len);
            } else {
                *p++ = '-';
            }
            break;

        case HM_HTTP_UPSTREAM_VAR_STATUS:
            if (state[i].status) {
                p = hm_sprintf(p, "%ui", state[i].status);
            } else {
                *p++ = '-';
            }
            break;

        case HM_HTTP_UPSTREAM_VAR_BYTES:
            p = hm_sprintf(p, "%O", state[i].bytes_received);
            break;

        default:
            ms = (data == HM_HTTP_UPSTREAM_VAR_RESPONSE_TIME)
                 ? state[i].response_time
                 : (data == HM_HTTP_UPSTREAM_VAR_CONNECT_TIME)
                   ? state[i].connect_time : state[i].header_time;

            if (ms == (hm_msec_t) -1) {
                *p++ = '-';

            } else {
                p = hm_sprintf(p, "%T.%03M", (time_t) (ms / 1000),
                               (hm_msec_t) (ms % 1000));
            }

            break;
        }
    }

    v->len = p - v->data;
    v->valid = 1;

    return HM_OK;
}


static hm_variable_t  hm_http_upstream_vars[] = {

    { hm_string("upstream_addr"), hm_http_upstream_variable,
      HM_HTTP_UPSTREAM_VAR_ADDR, HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("upstream_status"), hm_http_upstream_variable,
      HM_HTTP_UPSTREAM_VAR_STATUS, HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("upstream_response_time"), hm_http_upstream_variable,
      HM_HTTP_UPSTREAM_VAR_RESPONSE_TIME, HM_VAR_HTTP, 0, 0,
      { NULL, NULL } },

    { hm_string("upstream_connect_time"), hm_http_upstream_variable,
      HM_HTTP_UPSTREAM_VAR_CONNECT_TIME, HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("upstream_header_time"), hm_http_upstream_variable,
      HM_HTTP_UPSTREAM_VAR_HEADER_TIME, HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_string("upstream_bytes_received"), hm_http_upstream_variable,
      HM_HTTP_UPSTREAM_VAR_BYTES, HM_VAR_HTTP, 0, 0, { NULL, NULL } },

    { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
};


static hm_int_t
hm_http_upstream_add_variables(hm_conf_t *cf)
{
    return hm_add_variables(cf->cycle, hm_http_upstream_vars);
}


hm_int_t
hm_http_upstream_chunk_wrap(hm_http_request_t *r, hm_chain_t **chain,
    hm_uint_t last)
{
    off_t        size;
    hm_buf_t    *b;
    hm_chain_t  *cl, *head, **ll;

    size = hm_chain_size(*chain);

    head = NULL;
    ll = &head;

    if (size) {
        b = hm_create_temp_buf(r->pool, sizeof("0000000000000000" CRLF) - 1);
        if (b == NULL) {
            return HM_ERROR;
        }

        b->last = hm_sprintf(b->last, "%xO" CRLF, size);

        cl = hm_alloc_chain_link(r->pool);
        if (cl == NULL) {
            return HM_ERROR;
        }

        cl->buf = b;
        *ll = cl;
        ll = &cl->next;

        *ll = *chain;

        while (*ll) {
            ll = &(*ll)->next;
        }
    }

    b = hm_calloc_buf(r->pool);
    if (b == NULL) {
        return HM_ERROR;
    }

    b->memory = 1;

    if (last) {
        b->pos = (u_char *) (size ? CRLF "0" CRLF CRLF : "0" CRLF CRLF);
        b->last = b->pos + (size ? 7 : 5);

    } else if (size) {
        b->pos = (u_char *) CRLF;
        b->last = b->pos + 2;

    } else {
        *chain = head;
        return HM_OK;
    }

    cl = hm_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return HM_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;
    *ll = cl;

    *chain = head;

    return HM_OK;
}

/*
 * Copyright (C) hermod authors
 *
 * The example module: a TCP echo service.
 *
 *     load_module modules/hm_example_module.so;
 *
 *     example {
 *         listen    127.0.0.1:7007;
 *         greeting  "hello";
 *         timeout   60s;
 *     }
 *
 * A client that connects gets the greeting and a CRLF, then every byte it
 * sends is echoed back.  It shows every part of the module contract: a
 * directive table with generic setters, a configuration block, a listening
 * socket owned by the module, non-blocking I/O on the worker's event loop
 * with a bounded buffer (reading stops while the client does not read, so
 * memory stays flat), timers, and graceful stop.
 */

#include <hm_config.h>
#include <hm_core.h>


#define HM_EXAMPLE_CONF  0x04000000


typedef struct {
    hm_str_t           greeting;
    hm_msec_t          timeout;
    size_t             buffer_size;
    hm_array_t        *listen;          /* of hm_listening_t * */
    hm_conf_location_t where;
} hm_example_conf_t;


typedef struct {
    hm_buf_t          *buf;
    hm_example_conf_t *conf;
} hm_example_ctx_t;


static char *hm_example_block(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static char *hm_example_listen(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static void *hm_example_create_conf(hm_cycle_t *cycle);
static char *hm_example_init_conf(hm_cycle_t *cycle, void *conf);
static hm_int_t hm_example_init_process(hm_cycle_t *cycle);
static void hm_example_init_connection(hm_connection_t *c);
static void hm_example_handler(hm_event_t *ev);
static void hm_example_close(hm_connection_t *c);


static hm_command_t  hm_example_commands[] = {

    { hm_string("example"),
      HM_MAIN_CONF|HM_CONF_BLOCK|HM_CONF_NOARGS,
      hm_example_block,
      0,
      0,
      NULL,
      "The block of the example echo service." },

    { hm_string("listen"),
      HM_EXAMPLE_CONF|HM_CONF_TAKE12,
      hm_example_listen,
      0,
      0,
      NULL,
      "An address the echo service listens on: ADDR:PORT [reuseport]." },

    { hm_string("greeting"),
      HM_EXAMPLE_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      0,
      offsetof(hm_example_conf_t, greeting),
      NULL,
      "The line sent to each client when it connects." },

    { hm_string("timeout"),
      HM_EXAMPLE_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_example_conf_t, timeout),
      NULL,
      "How long a client may stay silent before it is closed." },

    { hm_string("buffer_size"),
      HM_EXAMPLE_CONF|HM_CONF_TAKE1,
      hm_conf_set_size_slot,
      0,
      offsetof(hm_example_conf_t, buffer_size),
      NULL,
      "The per-connection echo buffer." },

      hm_null_command
};


static hm_core_module_t  hm_example_module_ctx = {
    hm_string("example"),
    hm_example_create_conf,
    hm_example_init_conf
};


hm_module_t  hm_example_module = {
    HM_MODULE_V1,
    &hm_example_module_ctx,                /* module context */
    hm_example_commands,                   /* module directives */
    HM_CORE_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    hm_example_init_process,               /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static void *
hm_example_create_conf(hm_cycle_t *cycle)
{
    hm_example_conf_t  *ecf;

    ecf = hm_pcalloc(cycle->pool, sizeof(hm_example_conf_t));
    if (ecf == NULL) {
        return NULL;
    }

    ecf->timeout = HM_CONF_UNSET_MSEC;
    ecf->buffer_size = HM_CONF_UNSET_SIZE;

    return ecf;
}


static char *
hm_example_init_conf(hm_cycle_t *cycle, void *conf)
{
    hm_example_conf_t  *ecf = conf;

    hm_conf_init_msec_value(ecf->timeout, 60000);

    if (ecf->buffer_size == HM_CONF_UNSET_SIZE) {
        ecf->buffer_size = 16384;
    }

    if (ecf->greeting.data == NULL) {
        hm_str_set(&ecf->greeting, "hermod example echo");
    }

    if (ecf->listen == NULL && ecf->where.line) {
        hm_log_error_at(HM_LOG_EMERG, cycle->log, &ecf->where,
                        "no \"listen\" in the \"example\" block");
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_example_block(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_example_conf_t  *ecf = *(void **) conf;

    if (ecf->where.line) {
        return "is duplicate";
    }

    hm_conf_location(cf, &ecf->where);

    return hm_conf_parse_module_block(cf, &hm_example_module, ecf,
                                      HM_EXAMPLE_CONF);
}


static char *
hm_example_listen(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_example_conf_t  *ecf = conf;

    hm_str_t          *value;
    hm_uint_t          i;
    hm_url_t           u;
    hm_listening_t    *ls, **lsp;

    value = cf->args->elts;

    hm_memzero(&u, sizeof(hm_url_t));
    u.url = value[1];
    u.listen = 1;

    if (hm_parse_url(cf->pool, &u) != HM_OK) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%s in \"%V\"",
                          u.err, &u.url);
        return HM_CONF_ERROR;
    }

    if (ecf->listen == NULL) {
        ecf->listen = hm_array_create(cf->pool, 2, sizeof(hm_listening_t *));
        if (ecf->listen == NULL) {
            return HM_CONF_ERROR;
        }
    }

    for (i = 0; i < u.naddrs; i++) {
        ls = hm_create_listening(cf, &u.addrs[i].sockaddr.sockaddr,
                                 u.addrs[i].socklen);
        if (ls == NULL) {
            return HM_CONF_ERROR;
        }

        ls->handler = hm_example_init_connection;
        ls->servers = ecf;
        ls->pool_size = 512;

        if (cf->args->nelts == 3) {
            if (!hm_str_eq(&value[2], "reuseport")) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "invalid parameter \"%V\"", &value[2]);
                return HM_CONF_ERROR;
            }

            ls->reuseport = 1;
        }

        lsp = hm_array_push(ecf->listen);
        if (lsp == NULL) {
            return HM_CONF_ERROR;
        }

        *lsp = ls;
    }

    return HM_CONF_OK;
}


static hm_int_t
hm_example_init_process(hm_cycle_t *cycle)
{
    hm_example_conf_t  *ecf;

    ecf = (hm_example_conf_t *) hm_get_conf(cycle->conf_ctx,
                                              hm_example_module);

    if (ecf->listen) {
        hm_log_error(HM_LOG_INFO, cycle->log, 0,
                     "example: echo service ready, greeting \"%V\"",
                     &ecf->greeting);
    }

    return HM_OK;
}


static void
hm_example_init_connection(hm_connection_t *c)
{
    hm_buf_t           *b;
    hm_example_ctx_t   *ctx;
    hm_example_conf_t  *ecf;

    ecf = c->listening->servers;

    ctx = hm_palloc(c->pool, sizeof(hm_example_ctx_t));
    if (ctx == NULL) {
        hm_example_close(c);
        return;
    }

    b = hm_create_temp_buf(c->pool, hm_max(ecf->buffer_size,
                                           ecf->greeting.len + 2));
    if (b == NULL) {
        hm_example_close(c);
        return;
    }

    b->last = hm_cpymem(b->last, ecf->greeting.data, ecf->greeting.len);
    *b->last++ = CR;
    *b->last++ = LF;

    ctx->buf = b;
    ctx->conf = ecf;
    c->data = ctx;

    c->read->handler = hm_example_handler;
    c->write->handler = hm_example_handler;

    hm_log_debug(c->log, "example: client %V connected", &c->addr_text);

    hm_example_handler(c->write);
}


/*
 * One handler for both directions: write what the buffer holds, read more
 * while there is room.  When the buffer is full we stop reading; the
 * kernel's window then pushes back on the client.
 */

static void
hm_example_handler(hm_event_t *ev)
{
    ssize_t             n;
    hm_buf_t           *b;
    hm_connection_t    *c;
    hm_example_ctx_t   *ctx;

    c = ev->data;
    ctx = c->data;
    b = ctx->buf;

    if (ev->timedout) {
        hm_log_error(HM_LOG_INFO, c->log, 0, "example: client timed out");
        hm_example_close(c);
        return;
    }

    if (c->close) {
        hm_log_error(HM_LOG_INFO, c->log, 0,
                     "example: closing client on shutdown");
        hm_example_close(c);
        return;
    }

    for ( ;; ) {

        if (b->pos < b->last && c->write->ready) {
            n = c->send(c, b->pos, b->last - b->pos);

            if (n == HM_ERROR) {
                hm_example_close(c);
                return;
            }

            if (n > 0) {
                b->pos += n;

                if (b->pos == b->last) {
                    b->pos = b->start;
                    b->last = b->start;
                }

                continue;
            }
        }

        if (b->last < b->end && c->read->ready && !c->read->eof) {
            n = c->recv(c, b->last, b->end - b->last);

            if (n == HM_ERROR) {
                hm_example_close(c);
                return;
            }

            if (n > 0) {
                b->last += n;
                continue;
            }
        }

        break;
    }

    if (c->read->eof && b->pos == b->last) {
        hm_log_debug(c->log, "example: client closed the connection");
        hm_example_close(c);
        return;
    }

    if (c->read->eof) {
        /* the client half-closed: flush what it sent, then close */
        return;
    }

    /*
     * An echo session is never "idle" in the keepalive sense: on graceful
     * stop it is served until the client leaves or worker_shutdown_timeout
     * closes it, so it is not marked reusable.
     */

    hm_event_add_timer(c->read, ctx->conf->timeout);
}


static void
hm_example_close(hm_connection_t *c)
{
    hm_pool_t  *pool;

    pool = c->pool;

    hm_close_connection(c);

    hm_destroy_pool(pool);
}

/*
 * Copyright (C) hermod authors
 *
 * Framed messages over TCP: "inbound NAME tcp { }".  A listener whose byte
 * stream is cut into messages by a framing, each message submitted to a
 * pipeline:
 *
 *     inbound sensors tcp {
 *         listen    127.0.0.1:5140;
 *         framing   line;                     # or: delimiter "\x00",
 *                                             # length_prefix 4 big, fixed 64
 *         max_frame 64k;
 *         reply     on;                       # an outcome frame per message
 *         pipeline  to_kafka;
 *     }
 *
 * A frame over max_frame is an error that closes its connection (logged
 * with the size), never an unbounded buffer.  While the pipeline is full
 * the connection is not read: TCP's window pushes back on the client.
 * With "reply on" each message is answered, in the order of the frames,
 * once it settled: {"id":"...","outcome":"delivered"} (or "failed" with
 * "error"), in the same framing, so that a client can resend what failed.
 * A connection the client closes keeps its messages going; they settle
 * and are forgotten.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_event.h>
#include <hm_pipeline.h>
#include <hm_stream.h>


typedef struct {
    hm_pipeline_inbound_t       *ib;
    hm_stream_framing_t          framing;
    size_t                       max_frame;
    size_t                       buffer_size;
    hm_flag_t                    reply;
    hm_msec_t                    timeout;
    hm_pipeline_t               *pipeline;
    hm_array_t                  *listen;      /* of hm_listening_t * */
    hm_conf_location_t           where;
} hm_stream_tcp_conf_t;


typedef struct {
    hm_connection_t             *c;
    hm_stream_tcp_conf_t        *conf;
    hm_pool_t                   *pool;
    hm_log_t                     log;

    u_char                      *buf;
    u_char                      *pos;
    u_char                      *last;
    u_char                      *end;

    hm_queue_t                   msgs;        /* in frame order */
    hm_uint_t                    outstanding;

    hm_chain_t                  *out;         /* replies not yet written */
    hm_chain_t                 **out_last;

    hm_pipeline_waiter_t         waiter;
    hm_stream_peer_t             peer;        /* for $remote_addr */

    unsigned                     closed:1;    /* the socket is gone */
    unsigned                     eof:1;
    unsigned                     stopping:1;
} hm_stream_tcp_ctx_t;


typedef struct {
    hm_queue_t                   queue;
    hm_msg_t                    *m;
    hm_stream_tcp_ctx_t         *ctx;
    unsigned                     settled:1;
} hm_stream_tcp_msg_t;


static void *hm_stream_tcp_create_conf(hm_conf_t *cf);
static char *hm_stream_tcp_init_conf(hm_conf_t *cf,
    hm_pipeline_inbound_t *ib);
static char *hm_stream_tcp_listen(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_stream_tcp_framing(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static void hm_stream_tcp_init_connection(hm_connection_t *c);
static void hm_stream_tcp_read_handler(hm_event_t *ev);
static void hm_stream_tcp_write_handler(hm_event_t *ev);
static void hm_stream_tcp_read(hm_stream_tcp_ctx_t *ctx);
static hm_int_t hm_stream_tcp_frames(hm_stream_tcp_ctx_t *ctx);
static hm_int_t hm_stream_tcp_submit(hm_stream_tcp_ctx_t *ctx, u_char *p,
    size_t len);
static void hm_stream_tcp_wake(hm_pipeline_waiter_t *w);
static void hm_stream_tcp_ack(hm_msg_t *m);
static void hm_stream_tcp_replies(hm_stream_tcp_ctx_t *ctx);
static hm_int_t hm_stream_tcp_frame_out(hm_stream_tcp_ctx_t *ctx,
    hm_str_t *payload);
static void hm_stream_tcp_write(hm_stream_tcp_ctx_t *ctx);
static void hm_stream_tcp_close(hm_stream_tcp_ctx_t *ctx);
static void hm_stream_tcp_free(hm_stream_tcp_ctx_t *ctx);


static hm_command_t  hm_stream_tcp_commands[] = {

    { hm_string("listen"),
      HM_PIPELINE_IN_CONF|HM_CONF_1MORE,
      hm_stream_tcp_listen,
      0,
      0,
      NULL,
      "An address the TCP inbound listens on: ADDR:PORT [reuseport] "
      "[backlog=N]." },

    { hm_string("framing"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE123,
      hm_stream_tcp_framing,
      0,
      0,
      NULL,
      "How the byte stream is cut into messages: line, delimiter BYTES, "
      "length_prefix 1|2|4|8 [big|little], fixed N." },

    { hm_string("max_frame"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_size_slot,
      0,
      offsetof(hm_stream_tcp_conf_t, max_frame),
      NULL,
      "The largest frame; a larger one closes its connection." },

    { hm_string("reply"),
      HM_PIPELINE_IN_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_stream_tcp_conf_t, reply),
      NULL,
      "Answer each message with its outcome, in the same framing." },

    { hm_string("timeout"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_stream_tcp_conf_t, timeout),
      NULL,
      "How long a connection may stay silent with nothing in flight." },

    { hm_string("pipeline"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_pipeline_set_slot,
      0,
      offsetof(hm_stream_tcp_conf_t, pipeline),
      NULL,
      "The pipeline the messages are submitted to." },

      hm_null_command
};


static hm_pipeline_inbound_type_t  hm_stream_tcp_inbound_type = {
    hm_string("tcp"),
    hm_stream_tcp_create_conf,
    hm_stream_tcp_init_conf,
    NULL,
    NULL,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_module_t  hm_stream_tcp_module_ctx = {
    NULL,
    &hm_stream_tcp_inbound_type,
    { NULL, NULL, NULL }
};


hm_module_t  hm_stream_tcp_module = {
    HM_MODULE_V1,
    &hm_stream_tcp_module_ctx,             /* module context */
    hm_stream_tcp_commands,                /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


/* -- configuration --------------------------------------------------- */

static void *
hm_stream_tcp_create_conf(hm_conf_t *cf)
{
    hm_stream_tcp_conf_t  *tcf;

    tcf = hm_pcalloc(cf->pool, sizeof(hm_stream_tcp_conf_t));
    if (tcf == NULL) {
        return NULL;
    }

    tcf->max_frame = HM_CONF_UNSET_SIZE;
    tcf->reply = HM_CONF_UNSET;
    tcf->timeout = HM_CONF_UNSET_MSEC;

    hm_conf_location(cf, &tcf->where);

    return tcf;
}


static char *
hm_stream_tcp_init_conf(hm_conf_t *cf, hm_pipeline_inbound_t *ib)
{
    hm_stream_tcp_conf_t  *tcf = ib->conf;

    char  *missing;

    tcf->ib = ib;

    missing = (tcf->listen == NULL) ? "listen"
              : (tcf->pipeline == NULL) ? "pipeline" : NULL;

    if (missing) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &tcf->where,
                        "inbound \"%V\" has no \"%s\"", &ib->name, missing);
        return HM_CONF_ERROR;
    }

    hm_stream_framing_default(&tcf->framing);

    if (tcf->max_frame == HM_CONF_UNSET_SIZE) {
        tcf->max_frame = 1024 * 1024;
    }

    hm_conf_init_value(tcf->reply, 0);
    hm_conf_init_msec_value(tcf->timeout, 60000);

    if (tcf->max_frame == 0) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &tcf->where,
                        "inbound \"%V\": \"max_frame\" may not be 0",
                        &ib->name);
        return HM_CONF_ERROR;
    }

    if (tcf->framing.type == HM_STREAM_FRAME_FIXED) {
        if (tcf->framing.fixed > tcf->max_frame) {
            hm_log_error_at(HM_LOG_EMERG, cf->log, &tcf->where,
                            "inbound \"%V\": the fixed frame is over "
                            "\"max_frame\"", &ib->name);
            return HM_CONF_ERROR;
        }

        if (tcf->reply) {
            hm_log_error_at(HM_LOG_EMERG, cf->log, &tcf->where,
                            "inbound \"%V\": \"reply on\" needs a framing "
                            "other than \"fixed\"", &ib->name);
            return HM_CONF_ERROR;
        }
    }

    /* room for the largest frame and its prefix or delimiter */

    tcf->buffer_size = hm_min(tcf->max_frame, 16384) + 16
                       + tcf->framing.delimiter.len;

    return HM_CONF_OK;
}


static char *
hm_stream_tcp_listen(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_stream_tcp_conf_t  *tcf = conf;

    hm_str_t         *value;
    hm_int_t          backlog;
    hm_uint_t         i, j, reuseport;
    hm_url_t          u;
    hm_listening_t   *ls, **lsp;

    value = cf->args->elts;

    hm_memzero(&u, sizeof(hm_url_t));
    u.url = value[1];
    u.listen = 1;

    if (hm_parse_url(cf->pool, &u) != HM_OK) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%s in \"%V\"",
                          u.err ? u.err : "invalid address", &u.url);
        return HM_CONF_ERROR;
    }

    reuseport = 0;
    backlog = -1;

    for (j = 2; j < cf->args->nelts; j++) {
        if (hm_str_eq(&value[j], "reuseport")) {
            reuseport = 1;
            continue;
        }

        if (value[j].len > 8
            && hm_strncmp(value[j].data, "backlog=", 8) == 0)
        {
            backlog = hm_atoi(value[j].data + 8, value[j].len - 8);

            if (backlog == HM_ERROR || backlog == 0) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "invalid backlog \"%V\"", &value[j]);
                return HM_CONF_ERROR;
            }

            continue;
        }

        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                          &value[j]);
        return HM_CONF_ERROR;
    }

    if (tcf->listen == NULL) {
        tcf->listen = hm_array_create(cf->pool, 2, sizeof(hm_listening_t *));
        if (tcf->listen == NULL) {
            return HM_CONF_ERROR;
        }
    }

    for (i = 0; i < u.naddrs; i++) {
        ls = hm_create_listening(cf, &u.addrs[i].sockaddr.sockaddr,
                                 u.addrs[i].socklen);
        if (ls == NULL) {
            return HM_CONF_ERROR;
        }

        ls->handler = hm_stream_tcp_init_connection;
        ls->servers = tcf;
        ls->pool_size = 1024;
        ls->reuseport = reuseport;

        if (backlog > 0) {
            ls->backlog = (int) backlog;
        }

        lsp = hm_array_push(tcf->listen);
        if (lsp == NULL) {
            return HM_CONF_ERROR;
        }

        *lsp = ls;
    }

    return HM_CONF_OK;
}


static char *
hm_stream_tcp_framing(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_stream_tcp_conf_t  *tcf = conf;

    return hm_stream_framing_parse(cf, &tcf->framing);
}


/* -- connections ----------------------------------------------------- */

static void
hm_stream_tcp_init_connection(hm_connection_t *c)
{
    hm_stream_tcp_conf_t  *tcf = c->listening->servers;
    hm_stream_tcp_ctx_t   *ctx;

    ctx = hm_pcalloc(c->pool, sizeof(hm_stream_tcp_ctx_t));
    if (ctx == NULL) {
        goto failed;
    }

    ctx->buf = hm_pnalloc(c->pool, tcf->buffer_size);
    if (ctx->buf == NULL) {
        goto failed;
    }

    ctx->c = c;
    ctx->conf = tcf;
    ctx->pool = c->pool;
    ctx->pos = ctx->buf;
    ctx->last = ctx->buf;
    ctx->end = ctx->buf + tcf->buffer_size;
    ctx->out_last = &ctx->out;
    hm_queue_init(&ctx->msgs);

    ctx->waiter.handler = hm_stream_tcp_wake;
    ctx->waiter.data = ctx;

    ctx->peer.sockaddr = c->sockaddr;
    ctx->peer.socklen = c->socklen;
    ctx->peer.addr_text = c->addr_text;

    /* the log names the inbound and the client */

    ctx->log = *c->log;
    ctx->log.action = NULL;
    c->log = &ctx->log;
    c->read->log = &ctx->log;
    c->write->log = &ctx->log;

    c->data = ctx;
    c->read->handler = hm_stream_tcp_read_handler;
    c->write->handler = hm_stream_tcp_write_handler;

    hm_log_debug(c->log, "inbound \"%V\": client %V connected",
                 &tcf->ib->name, &c->addr_text);

    hm_stream_tcp_read(ctx);
    return;

failed:

    hm_close_connection(c);
    hm_destroy_pool(c->pool);
}


static void
hm_stream_tcp_read_handler(hm_event_t *ev)
{
    hm_connection_t      *c = ev->data;
    hm_stream_tcp_ctx_t  *ctx = c->data;

    if (ev->timedout) {
        hm_log_error(HM_LOG_INFO, c->log, 0, "inbound \"%V\": client %V "
                     "timed out", &ctx->conf->ib->name, &c->addr_text);
        hm_stream_tcp_close(ctx);
        return;
    }

    if (c->close) {
        /* a graceful stop: take no more, answer what is in flight */
        c->close = 0;
        ctx->stopping = 1;

        if (ctx->outstanding == 0) {
            hm_stream_tcp_close(ctx);
        }

        return;
    }

    hm_stream_tcp_read(ctx);
}


static void
hm_stream_tcp_write_handler(hm_event_t *ev)
{
    hm_connection_t      *c = ev->data;
    hm_stream_tcp_ctx_t  *ctx = c->data;

    hm_stream_tcp_write(ctx);
}


/*
 * Reads while there is buffer and the pipeline has room, cutting frames;
 * a frame larger than what is left of the buffer moves to its start (and
 * the buffer grows, up to max_frame, for a length-prefixed frame).
 */

static void
hm_stream_tcp_read(hm_stream_tcp_ctx_t *ctx)
{
    u_char           *nb;
    size_t            need, size;
    ssize_t           n;
    hm_int_t          rc;
    hm_connection_t  *c = ctx->c;

    for ( ;; ) {

        rc = hm_stream_tcp_frames(ctx);

        if (rc == HM_ERROR) {
            hm_stream_tcp_close(ctx);
            return;
        }

        if (rc == HM_BUSY || ctx->closed || ctx->stopping) {
            /* full: read nothing until the pipeline wakes us */
            return;
        }

        if (ctx->eof) {
            if (ctx->last > ctx->pos) {
                hm_log_error(HM_LOG_INFO, c->log, 0,
                             "inbound \"%V\": client %V closed the "
                             "connection in the middle of a frame "
                             "(%uz bytes dropped)", &ctx->conf->ib->name,
                             &c->addr_text, (size_t) (ctx->last - ctx->pos));
            }

            hm_stream_tcp_close(ctx);
            return;
        }

        /* room: move what is left to the start, grow for a large frame */

        if (ctx->pos > ctx->buf) {
            size = ctx->last - ctx->pos;
            hm_memmove(ctx->buf, ctx->pos, size);
            ctx->pos = ctx->buf;
            ctx->last = ctx->buf + size;
        }

        if (ctx->last == ctx->end) {
            need = (size_t) (ctx->end - ctx->buf) * 2;
            size = ctx->conf->max_frame + 16
                   + ctx->conf->framing.delimiter.len;

            if (need > size) {
                need = size;
            }

            if (need <= (size_t) (ctx->end - ctx->buf)) {
                /* hm_stream_tcp_frames() says the frame is too large */
                hm_stream_tcp_close(ctx);
                return;
            }

            nb = hm_pnalloc(ctx->pool, need);
            if (nb == NULL) {
                hm_stream_tcp_close(ctx);
                return;
            }

            size = ctx->last - ctx->buf;
            hm_memcpy(nb, ctx->buf, size);

            if ((size_t) (ctx->end - ctx->buf) > 4096) {
                (void) hm_pfree(ctx->pool, ctx->buf);
            }

            ctx->buf = nb;
            ctx->pos = nb;
            ctx->last = nb + size;
            ctx->end = nb + need;
        }

        n = c->recv(c, ctx->last, ctx->end - ctx->last);

        if (n == HM_AGAIN) {
            if (hm_handle_read_event(c->read, 0) != HM_OK) {
                hm_stream_tcp_close(ctx);
                return;
            }

            /* silent with nothing in flight: idle, and timed */

            if (ctx->outstanding == 0 && ctx->last == ctx->pos) {
                if (hm_exiting) {
                    hm_stream_tcp_close(ctx);
                    return;
                }

                c->idle = 1;
                hm_reusable_connection(c, 1);
            }

            hm_event_add_timer(c->read, ctx->conf->timeout);
            return;
        }

        if (n == HM_ERROR) {
            hm_stream_tcp_close(ctx);
            return;
        }

        if (c->idle) {
            c->idle = 0;
            hm_reusable_connection(c, 0);
        }

        if (c->read->timer_set) {
            hm_event_del_timer(c->read);
        }

        if (n == 0) {
            ctx->eof = 1;
            continue;
        }

        ctx->last += n;
    }
}


/* the frames in the buffer: HM_OK (no whole frame left), HM_BUSY, HM_ERROR */

static hm_int_t
hm_stream_tcp_frames(hm_stream_tcp_ctx_t *ctx)
{
    u_char                *next;
    uint64_t               size;
    hm_int_t               rc;
    hm_str_t               frame;
    hm_stream_tcp_conf_t  *tcf = ctx->conf;

    while (ctx->pos < ctx->last && !ctx->closed && !ctx->stopping) {

        rc = hm_stream_frame_next(&tcf->framing, tcf->max_frame, ctx->pos,
                                  ctx->last, &frame, &next, &size);

        if (rc == HM_AGAIN) {
            return HM_OK;
        }

        if (rc == HM_DECLINED) {
            hm_log_error(HM_LOG_ERR, ctx->c->log, 0,
                         "inbound \"%V\": client %V sent a frame of %uL%s "
                         "bytes, over max_frame %uz: closing the connection",
                         &tcf->ib->name, &ctx->c->addr_text, size,
                         tcf->framing.type == HM_STREAM_FRAME_LENGTH
                         ? "" : " or more",
                         tcf->max_frame);
            return HM_ERROR;
        }

        if (hm_stream_tcp_submit(ctx, frame.data, frame.len) != HM_OK) {
            return ctx->closed ? HM_ERROR : HM_BUSY;
        }

        ctx->pos = next;
    }

    if (ctx->pos == ctx->last) {
        ctx->pos = ctx->buf;
        ctx->last = ctx->buf;
    }

    return HM_OK;
}


/* one frame to a message: HM_OK, HM_BUSY (no room: wait), HM_ERROR */

static hm_int_t
hm_stream_tcp_submit(hm_stream_tcp_ctx_t *ctx, u_char *p, size_t len)
{
    hm_buf_t             *b;
    hm_msg_t             *m;
    hm_chain_t           *cl;
    hm_pipeline_t        *pl = ctx->conf->pipeline;
    hm_stream_tcp_msg_t  *tm;

    if (hm_pipeline_room(pl, len) != HM_OK) {
        hm_pipeline_wait(pl, &ctx->waiter);
        return HM_BUSY;
    }

    m = hm_msg_create(pl, ctx->c->log, len);
    if (m == NULL) {
        goto failed;
    }

    tm = hm_pcalloc(m->pool, sizeof(hm_stream_tcp_msg_t));
    if (tm == NULL) {
        hm_msg_destroy(m);
        goto failed;
    }

    if (len) {
        b = hm_create_temp_buf(m->pool, len);
        cl = hm_alloc_chain_link(m->pool);
        if (b == NULL || cl == NULL) {
            hm_msg_destroy(m);
            goto failed;
        }

        b->last = hm_cpymem(b->last, p, len);
        b->last_buf = 1;

        cl->buf = b;
        cl->next = NULL;

        m->body = cl;
        m->body_len = len;
    }

    tm->m = m;
    tm->ctx = ctx;

    m->vs.ctx = &ctx->peer;
    m->vs.kind = HM_VAR_STREAM;
    hm_str_set(&m->source.name, "tcp");
    m->source.var_kind = HM_VAR_STREAM;
    m->source.ctx = &ctx->peer;
    m->ack = hm_stream_tcp_ack;
    m->ack_data = tm;

    hm_queue_insert_tail(&ctx->msgs, &tm->queue);
    ctx->outstanding++;

    hm_pipeline_submit(m);

    return HM_OK;

failed:

    hm_log_error(HM_LOG_ERR, ctx->c->log, 0, "inbound \"%V\": out of memory",
                 &ctx->conf->ib->name);
    ctx->closed = 1;
    return HM_ERROR;
}


static void
hm_stream_tcp_wake(hm_pipeline_waiter_t *w)
{
    hm_stream_tcp_ctx_t  *ctx = w->data;

    if (!ctx->closed) {
        hm_stream_tcp_read(ctx);
    }
}


/* -- settling and replies -------------------------------------------- */

static void
hm_stream_tcp_ack(hm_msg_t *m)
{
    hm_stream_tcp_msg_t  *tm = m->ack_data;
    hm_stream_tcp_ctx_t  *ctx = tm->ctx;

    tm->settled = 1;
    ctx->outstanding--;

    if (hm_exiting) {
        /* the worker stops: answer, then close */
        ctx->stopping = 1;
    }

    /* the replies go in the order of the frames */

    hm_stream_tcp_replies(ctx);

    if (ctx->closed) {
        if (ctx->outstanding == 0) {
            hm_stream_tcp_free(ctx);
        }

        return;
    }

    if (ctx->stopping && ctx->outstanding == 0 && ctx->out == NULL) {
        hm_stream_tcp_close(ctx);
    }
}


static void
hm_stream_tcp_replies(hm_stream_tcp_ctx_t *ctx)
{
    hm_str_t              json;
    hm_queue_t           *q;
    hm_stream_tcp_msg_t  *tm;

    while (!hm_queue_empty(&ctx->msgs)) {
        q = hm_queue_head(&ctx->msgs);
        tm = hm_queue_data(q, hm_stream_tcp_msg_t, queue);

        if (!tm->settled) {
            break;
        }

        hm_queue_remove(q);

        if (ctx->conf->reply && !ctx->closed) {
            if (hm_msg_outcome_json(ctx->pool, tm->m, &json) != HM_OK
                || hm_stream_tcp_frame_out(ctx, &json) != HM_OK)
            {
                ctx->closed = 1;
            }
        }

        hm_msg_destroy(tm->m);
    }

    if (ctx->out && !ctx->closed) {
        hm_stream_tcp_write(ctx);
    }
}


/* the reply in the inbound's framing (without the JSON's newline) */

static hm_int_t
hm_stream_tcp_frame_out(hm_stream_tcp_ctx_t *ctx, hm_str_t *payload)
{
    size_t                 plen;
    hm_buf_t              *b;
    hm_chain_t            *cl;
    hm_stream_tcp_conf_t  *tcf = ctx->conf;

    plen = payload->len;

    if (plen && payload->data[plen - 1] == LF) {
        plen--;
    }

    b = hm_create_temp_buf(ctx->pool,
                           hm_stream_frame_size(&tcf->framing, plen));
    cl = hm_alloc_chain_link(ctx->pool);
    if (b == NULL || cl == NULL) {
        return HM_ERROR;
    }

    b->last = hm_stream_frame_write(&tcf->framing, b->last, payload->data,
                                    plen);

    cl->buf = b;
    cl->next = NULL;

    *ctx->out_last = cl;
    ctx->out_last = &cl->next;

    return HM_OK;
}


static void
hm_stream_tcp_write(hm_stream_tcp_ctx_t *ctx)
{
    hm_chain_t       *cl;
    hm_connection_t  *c = ctx->c;

    if (ctx->closed || ctx->out == NULL) {
        return;
    }

    cl = c->send_chain(c, ctx->out, 0);

    if (cl == HM_CHAIN_ERROR) {
        hm_stream_tcp_close(ctx);
        return;
    }

    ctx->out = cl;

    if (cl == NULL) {
        ctx->out_last = &ctx->out;

        if (ctx->stopping && ctx->outstanding == 0) {
            hm_stream_tcp_close(ctx);
        }

        return;
    }

    if (hm_handle_write_event(c->write, 0) != HM_OK) {
        hm_stream_tcp_close(ctx);
    }
}


/*
 * The socket goes now; the context (in the connection's pool) stays until
 * the last of its messages settled.
 */

static void
hm_stream_tcp_close(hm_stream_tcp_ctx_t *ctx)
{
    hm_connection_t  *c = ctx->c;

    if (c == NULL) {
        return;
    }

    hm_pipeline_wait_cancel(&ctx->waiter);

    ctx->closed = 1;
    ctx->c = NULL;

    c->pool = NULL;
    hm_close_connection(c);

    if (ctx->outstanding == 0) {
        hm_stream_tcp_free(ctx);
    }
}


static void
hm_stream_tcp_free(hm_stream_tcp_ctx_t *ctx)
{
    hm_queue_t           *q;
    hm_stream_tcp_msg_t  *tm;

    /* settled and not yet destroyed behind an unsettled one: none left */

    while (!hm_queue_empty(&ctx->msgs)) {
        q = hm_queue_head(&ctx->msgs);
        tm = hm_queue_data(q, hm_stream_tcp_msg_t, queue);
        hm_queue_remove(q);
        hm_msg_destroy(tm->m);
    }

    hm_destroy_pool(ctx->pool);
}

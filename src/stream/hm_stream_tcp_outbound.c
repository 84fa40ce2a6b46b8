/*
 * Copyright (C) hermod authors
 *
 * Framed messages to a TCP peer: "outbound NAME tcp { }".
 *
 *     outbound legacy tcp {
 *         server    10.0.0.7:7000;
 *         framing   length_prefix 4;
 *         ack       on;              # the peer answers each frame
 *     }
 *
 * One persistent connection per worker, made when the first message
 * comes and again after a failure.  Each message is one frame in the
 * outbound's framing; it is delivered once written to the socket, or,
 * with "ack on", once the peer answered it with a frame of its own (the
 * answers come in the order of the frames; any frame acknowledges).  A
 * connection that fails, closes, or leaves an answer missing for
 * ack_timeout fails what it had with RETRY (class "connect" or
 * "timeout"), so retry and dead_letter apply; messages written but not
 * acknowledged may then reach the peer twice.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_event.h>
#include <hm_event_connect.h>
#include <hm_pipeline.h>
#include <hm_stream.h>


typedef struct {
    hm_stream_framing_t          framing;
    hm_addr_t                    server;
    hm_flag_t                    ack;
    size_t                       max_frame;
    hm_msec_t                    connect_timeout;
    hm_msec_t                    ack_timeout;
    hm_uint_t                    max_in_flight;
    hm_conf_location_t           where;
} hm_stream_tcp_out_conf_t;


typedef struct {
    hm_queue_t                   queue;
    hm_msg_t                    *m;           /* NULL: cancelled */
    hm_buf_t                    *buf;         /* its frame */
    unsigned                     written:1;
} hm_stream_tcp_pend_t;


typedef struct {
    hm_stream_tcp_out_conf_t    *conf;
    hm_pipeline_outbound_t      *ob;
    hm_pool_t                   *pool;        /* the worker's */
    hm_log_t                     log;

    hm_peer_connection_t         peer;
    hm_connection_t             *c;
    hm_uint_t                    connected;

    hm_queue_t                   pending;     /* by frame order */
    hm_queue_t                   free;
    hm_uint_t                    in_flight;
    hm_chain_t                  *out;
    hm_chain_t                 **out_last;

    u_char                      *in;          /* acknowledgements */
    u_char                      *in_last;

    unsigned                     refused:1;
} hm_stream_tcp_out_t;


static void *hm_stream_tcp_out_create_conf(hm_conf_t *cf);
static char *hm_stream_tcp_out_init_conf(hm_conf_t *cf,
    hm_pipeline_outbound_t *ob);
static hm_int_t hm_stream_tcp_out_init_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
static void hm_stream_tcp_out_exit_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
static hm_int_t hm_stream_tcp_out_send(hm_pipeline_outbound_t *ob,
    hm_msg_t *m);
static void hm_stream_tcp_out_cancel(hm_pipeline_outbound_t *ob,
    hm_msg_t *m);
static char *hm_stream_tcp_out_server(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_stream_tcp_out_framing(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static hm_int_t hm_stream_tcp_out_get_peer(hm_peer_connection_t *pc,
    void *data);
static hm_int_t hm_stream_tcp_out_connect(hm_stream_tcp_out_t *o);
static void hm_stream_tcp_out_handler(hm_event_t *ev);
static void hm_stream_tcp_out_write(hm_stream_tcp_out_t *o);
static void hm_stream_tcp_out_read(hm_stream_tcp_out_t *o);
static void hm_stream_tcp_out_done(hm_stream_tcp_out_t *o,
    hm_stream_tcp_pend_t *p, hm_int_t rc);
static void hm_stream_tcp_out_fail(hm_stream_tcp_out_t *o,
    hm_uint_t err_class, const char *why);
static void hm_stream_tcp_out_idle(hm_stream_tcp_out_t *o);


static hm_command_t  hm_stream_tcp_out_commands[] = {

    { hm_string("server"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_stream_tcp_out_server,
      0,
      0,
      NULL,
      "The TCP peer messages are written to: HOST:PORT." },

    { hm_string("framing"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE123,
      hm_stream_tcp_out_framing,
      0,
      0,
      NULL,
      "How each message is framed on the wire: line, delimiter BYTES, "
      "length_prefix 1|2|4|8 [big|little], fixed N." },

    { hm_string("ack"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_stream_tcp_out_conf_t, ack),
      NULL,
      "A message is delivered when the peer answers its frame." },

    { hm_string("max_frame"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_size_slot,
      0,
      offsetof(hm_stream_tcp_out_conf_t, max_frame),
      NULL,
      "The largest answer frame taken from the peer." },

    { hm_string("connect_timeout"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_stream_tcp_out_conf_t, connect_timeout),
      NULL,
      "How long connecting to the peer may take." },

    { hm_string("ack_timeout"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_stream_tcp_out_conf_t, ack_timeout),
      NULL,
      "How long the peer may leave a frame unanswered (ack on)." },

    { hm_string("max_in_flight"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_stream_tcp_out_conf_t, max_in_flight),
      NULL,
      "Messages written or waiting per worker; beyond: wait." },

      hm_null_command
};


static hm_pipeline_outbound_type_t  hm_stream_tcp_outbound_type = {
    hm_string("tcp"),
    hm_stream_tcp_out_create_conf,
    hm_stream_tcp_out_init_conf,
    hm_stream_tcp_out_init_process,
    hm_stream_tcp_out_exit_process,
    hm_stream_tcp_out_send,
    hm_stream_tcp_out_cancel,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_module_t  hm_stream_tcp_out_module_ctx = {
    &hm_stream_tcp_outbound_type,
    NULL,
    { NULL, NULL, NULL }
};


hm_module_t  hm_stream_tcp_out_module = {
    HM_MODULE_V1,
    &hm_stream_tcp_out_module_ctx,         /* module context */
    hm_stream_tcp_out_commands,            /* module directives */
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
hm_stream_tcp_out_create_conf(hm_conf_t *cf)
{
    hm_stream_tcp_out_conf_t  *ocf;

    ocf = hm_pcalloc(cf->pool, sizeof(hm_stream_tcp_out_conf_t));
    if (ocf == NULL) {
        return NULL;
    }

    ocf->ack = HM_CONF_UNSET;
    ocf->max_frame = HM_CONF_UNSET_SIZE;
    ocf->connect_timeout = HM_CONF_UNSET_MSEC;
    ocf->ack_timeout = HM_CONF_UNSET_MSEC;
    ocf->max_in_flight = HM_CONF_UNSET_UINT;
    hm_conf_location(cf, &ocf->where);

    return ocf;
}


static char *
hm_stream_tcp_out_init_conf(hm_conf_t *cf, hm_pipeline_outbound_t *ob)
{
    hm_stream_tcp_out_conf_t  *ocf = ob->conf;

    if (ocf->server.socklen == 0) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ocf->where,
                        "outbound \"%V\" has no \"server\"", &ob->name);
        return HM_CONF_ERROR;
    }

    hm_stream_framing_default(&ocf->framing);

    hm_conf_init_value(ocf->ack, 0);
    hm_conf_init_msec_value(ocf->connect_timeout, 5000);
    hm_conf_init_msec_value(ocf->ack_timeout, 30000);
    hm_conf_init_uint_value(ocf->max_in_flight, 1000);

    if (ocf->max_frame == HM_CONF_UNSET_SIZE) {
        ocf->max_frame = 65536;
    }

    if (ocf->max_in_flight == 0) {
        ocf->max_in_flight = 1;
    }

    if (ocf->ack && ocf->framing.type == HM_STREAM_FRAME_FIXED
        && ocf->framing.fixed > ocf->max_frame)
    {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &ocf->where,
                        "outbound \"%V\": the fixed frame is over "
                        "\"max_frame\"", &ob->name);
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_stream_tcp_out_server(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_stream_tcp_out_conf_t  *ocf = conf;

    hm_str_t  *value;
    hm_url_t   u;

    if (ocf->server.socklen) {
        return "is duplicate";
    }

    value = cf->args->elts;

    hm_memzero(&u, sizeof(hm_url_t));
    u.url = value[1];

    if (hm_parse_url(cf->pool, &u) != HM_OK || u.naddrs == 0 || u.no_port) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%s in \"%V\"",
                          u.err ? u.err : "no port", &value[1]);
        return HM_CONF_ERROR;
    }

    ocf->server = u.addrs[0];

    return HM_CONF_OK;
}


static char *
hm_stream_tcp_out_framing(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_stream_tcp_out_conf_t  *ocf = conf;

    return hm_stream_framing_parse(cf, &ocf->framing);
}


/* -- the worker ------------------------------------------------------ */

static hm_int_t
hm_stream_tcp_out_init_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_stream_tcp_out_conf_t  *ocf = ob->conf;

    hm_stream_tcp_out_t  *o;

    o = hm_pcalloc(cycle->pool, sizeof(hm_stream_tcp_out_t));
    if (o == NULL) {
        return HM_ERROR;
    }

    o->in = hm_pnalloc(cycle->pool, ocf->max_frame + 16
                                    + ocf->framing.delimiter.len);
    if (o->in == NULL) {
        return HM_ERROR;
    }

    o->conf = ocf;
    o->ob = ob;
    o->pool = cycle->pool;
    o->log = *cycle->log;
    o->in_last = o->in;
    o->out_last = &o->out;
    hm_queue_init(&o->pending);
    hm_queue_init(&o->free);

    o->peer.get = hm_stream_tcp_out_get_peer;
    o->peer.data = o;
    o->peer.log = &o->log;

    ob->data = o;

    return HM_OK;
}


static void
hm_stream_tcp_out_exit_process(hm_cycle_t *cycle, hm_pipeline_outbound_t *ob)
{
    hm_stream_tcp_out_t  *o = ob->data;

    if (o && o->c) {
        hm_close_connection(o->c);
        o->c = NULL;
    }

    ob->data = NULL;
}


static hm_int_t
hm_stream_tcp_out_get_peer(hm_peer_connection_t *pc, void *data)
{
    hm_stream_tcp_out_t  *o = data;

    pc->sockaddr = &o->conf->server.sockaddr.sockaddr;
    pc->socklen = o->conf->server.socklen;
    pc->name = &o->conf->server.name;

    return HM_OK;
}


static hm_int_t
hm_stream_tcp_out_send(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_stream_tcp_out_t  *o = ob->data;

    size_t                 size;
    hm_str_t               body;
    hm_buf_t              *b;
    hm_chain_t            *cl;
    hm_queue_t            *q;
    hm_stream_tcp_pend_t  *p;

    if (o->in_flight >= o->conf->max_in_flight) {
        o->refused = 1;
        return HM_BUSY;
    }

    if (o->conf->framing.type == HM_STREAM_FRAME_FIXED
        && m->body_len != o->conf->framing.fixed)
    {
        hm_msg_set_error(m, HM_MSG_ERR_FILTER, "tcp: a message of %uz "
                         "bytes in frames of %uz", m->body_len,
                         o->conf->framing.fixed);
        return HM_ERROR;
    }

    if (o->c == NULL && hm_stream_tcp_out_connect(o) != HM_OK) {
        hm_msg_set_error(m, HM_MSG_ERR_CONNECT, "tcp: cannot connect to %V",
                         &o->conf->server.name);
        return HM_RETRY;
    }

    if (hm_msg_body_flat(m, &body) != HM_OK) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_ERROR;
    }

    /* the frame, from the message's pool: it lives as long as the send */

    size = hm_stream_frame_size(&o->conf->framing, body.len);

    b = hm_create_temp_buf(m->pool, size);
    cl = hm_alloc_chain_link(o->pool);
    if (b == NULL || cl == NULL) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_ERROR;
    }

    b->last = hm_stream_frame_write(&o->conf->framing, b->last, body.data,
                                    body.len);

    if (!hm_queue_empty(&o->free)) {
        q = hm_queue_head(&o->free);
        hm_queue_remove(q);
        p = hm_queue_data(q, hm_stream_tcp_pend_t, queue);

    } else {
        p = hm_palloc(o->pool, sizeof(hm_stream_tcp_pend_t));
        if (p == NULL) {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            return HM_ERROR;
        }
    }

    p->m = m;
    p->buf = b;
    p->written = 0;

    hm_queue_insert_tail(&o->pending, &p->queue);
    o->in_flight++;
    m->send_data = p;

    cl->buf = b;
    cl->next = NULL;
    *o->out_last = cl;
    o->out_last = &cl->next;

    if (o->connected) {
        hm_stream_tcp_out_write(o);
    }

    return HM_AGAIN;
}


/* a message written cannot be taken back: its end is ignored */

static void
hm_stream_tcp_out_cancel(hm_pipeline_outbound_t *ob, hm_msg_t *m)
{
    hm_stream_tcp_pend_t  *p = m->send_data;

    if (p) {
        p->m = NULL;
        m->send_data = NULL;
    }
}


/* -- the connection -------------------------------------------------- */

static hm_int_t
hm_stream_tcp_out_connect(hm_stream_tcp_out_t *o)
{
    hm_int_t          rc;
    hm_connection_t  *c;

    o->connected = 0;
    o->in_last = o->in;

    rc = hm_event_connect_peer(&o->peer);

    if (rc != HM_OK && rc != HM_AGAIN) {
        return HM_ERROR;
    }

    c = o->peer.connection;
    o->c = c;

    c->data = o;
    c->log = &o->log;
    c->read->handler = hm_stream_tcp_out_handler;
    c->write->handler = hm_stream_tcp_out_handler;

    if (rc == HM_AGAIN) {
        hm_event_add_timer(c->write, o->conf->connect_timeout);
        return HM_OK;
    }

    o->connected = 1;

    return HM_OK;
}


static void
hm_stream_tcp_out_handler(hm_event_t *ev)
{
    hm_connection_t      *c = ev->data;
    hm_stream_tcp_out_t  *o = c->data;

    if (c->close) {
        /* a graceful stop, idle: nothing is pending */
        hm_close_connection(c);
        o->c = NULL;
        o->connected = 0;
        return;
    }

    if (ev->timedout) {
        hm_stream_tcp_out_fail(o, o->connected ? HM_MSG_ERR_TIMEOUT
                                               : HM_MSG_ERR_CONNECT,
                               o->connected ? "no answer in time"
                                            : "connect timed out");
        return;
    }

    if (!o->connected) {
        if (ev->write && c->write->timer_set) {
            hm_event_del_timer(c->write);
        }

        if (hm_event_test_connect(c) != HM_OK) {
            hm_stream_tcp_out_fail(o, HM_MSG_ERR_CONNECT,
                                   "cannot connect");
            return;
        }

        o->connected = 1;
    }

    if (ev->write) {
        hm_stream_tcp_out_write(o);
        return;
    }

    hm_stream_tcp_out_read(o);
}


static void
hm_stream_tcp_out_write(hm_stream_tcp_out_t *o)
{
    hm_queue_t            *q, *next;
    hm_chain_t            *cl;
    hm_connection_t       *c = o->c;
    hm_stream_tcp_pend_t  *p;

    if (o->out) {
        c->idle = 0;

        cl = c->send_chain(c, o->out, 0);

        if (cl == HM_CHAIN_ERROR) {
            hm_stream_tcp_out_fail(o, HM_MSG_ERR_CONNECT, "write failed");
            return;
        }

        o->out = cl;

        if (cl == NULL) {
            o->out_last = &o->out;

        } else if (hm_handle_write_event(c->write, 0) != HM_OK) {
            hm_stream_tcp_out_fail(o, HM_MSG_ERR_CONNECT, "write failed");
            return;
        }
    }

    /* the frames fully written: delivered, or awaiting their answer */

    for (q = hm_queue_head(&o->pending);
         q != hm_queue_sentinel(&o->pending);
         q = next)
    {
        next = hm_queue_next(q);
        p = hm_queue_data(q, hm_stream_tcp_pend_t, queue);

        if (p->written) {
            continue;
        }

        if (p->buf->pos < p->buf->last) {
            break;
        }

        p->written = 1;

        if (!o->conf->ack) {
            hm_stream_tcp_out_done(o, p, HM_OK);
        }
    }

    if (o->conf->ack && !hm_queue_empty(&o->pending)) {
        if (!c->read->timer_set) {
            hm_event_add_timer(c->read, o->conf->ack_timeout);
        }

        if (c->read->ready) {
            hm_stream_tcp_out_read(o);
        }

        return;
    }

    hm_stream_tcp_out_idle(o);
}


/* answers: each frame acknowledges the oldest unanswered message */

static void
hm_stream_tcp_out_read(hm_stream_tcp_out_t *o)
{
    u_char                *next;
    ssize_t                n;
    uint64_t               size;
    hm_int_t               rc;
    hm_str_t               frame;
    hm_queue_t            *q;
    hm_connection_t       *c = o->c;
    hm_stream_tcp_pend_t  *p;
    size_t                 room;

    for ( ;; ) {
        room = o->conf->max_frame + 16 + o->conf->framing.delimiter.len
               - (o->in_last - o->in);

        n = c->recv(c, o->in_last, room);

        if (n == HM_AGAIN) {
            if (hm_handle_read_event(c->read, 0) != HM_OK) {
                hm_stream_tcp_out_fail(o, HM_MSG_ERR_CONNECT, "read failed");
            }

            return;
        }

        if (n == 0 || n == HM_ERROR) {
            hm_stream_tcp_out_fail(o, HM_MSG_ERR_CONNECT,
                                   n == 0 ? "the peer closed the connection"
                                          : "read failed");
            return;
        }

        if (!o->conf->ack) {
            /* nothing is expected: what the peer says is dropped */
            continue;
        }

        o->in_last += n;

        for ( ;; ) {
            rc = hm_stream_frame_next(&o->conf->framing, o->conf->max_frame,
                                      o->in, o->in_last, &frame, &next,
                                      &size);

            if (rc == HM_AGAIN) {
                break;
            }

            if (rc == HM_DECLINED) {
                hm_stream_tcp_out_fail(o, HM_MSG_ERR_ERROR,
                                       "an answer over max_frame");
                return;
            }

            hm_memmove(o->in, next, o->in_last - next);
            o->in_last -= next - o->in;

            q = hm_queue_head(&o->pending);
            p = hm_queue_data(q, hm_stream_tcp_pend_t, queue);

            if (hm_queue_empty(&o->pending) || !p->written) {
                hm_stream_tcp_out_fail(o, HM_MSG_ERR_ERROR,
                                       "an answer to no frame");
                return;
            }

            if (c->read->timer_set) {
                hm_event_del_timer(c->read);
            }

            hm_stream_tcp_out_done(o, p, HM_OK);

            if (o->c == NULL) {
                return;
            }
        }

        if (!hm_queue_empty(&o->pending) && !c->read->timer_set) {
            hm_event_add_timer(c->read, o->conf->ack_timeout);
        }

        if (hm_queue_empty(&o->pending)) {
            hm_stream_tcp_out_idle(o);
        }
    }
}


static void
hm_stream_tcp_out_done(hm_stream_tcp_out_t *o, hm_stream_tcp_pend_t *p,
    hm_int_t rc)
{
    hm_msg_t  *m;

    hm_queue_remove(&p->queue);
    hm_queue_insert_tail(&o->free, &p->queue);
    o->in_flight--;

    m = p->m;
    p->m = NULL;

    if (o->refused) {
        o->refused = 0;
        hm_pipeline_outbound_ready(o->ob);
    }

    if (m) {
        m->send_data = NULL;
        hm_pipeline_send_done(m, rc);
    }
}


/* the connection failed: what it had is retried, it closes */

static void
hm_stream_tcp_out_fail(hm_stream_tcp_out_t *o, hm_uint_t err_class,
    const char *why)
{
    hm_queue_t            *q;
    hm_stream_tcp_pend_t  *p;

    hm_log_error(HM_LOG_ERR, &o->log, 0, "outbound \"%V\": tcp %V: %s; "
                 "%ui messages retried", &o->ob->name, &o->conf->server.name,
                 why, o->in_flight);

    if (o->c) {
        hm_close_connection(o->c);
        o->c = NULL;
    }

    o->connected = 0;
    o->out = NULL;
    o->out_last = &o->out;

    while (!hm_queue_empty(&o->pending)) {
        q = hm_queue_head(&o->pending);
        p = hm_queue_data(q, hm_stream_tcp_pend_t, queue);

        if (p->m) {
            hm_msg_set_error(p->m, err_class, "tcp %V: %s",
                             &o->conf->server.name, why);
        }

        hm_stream_tcp_out_done(o, p, HM_RETRY);
    }
}


/* nothing pending: idle, so that a graceful stop may close it */

static void
hm_stream_tcp_out_idle(hm_stream_tcp_out_t *o)
{
    hm_connection_t  *c = o->c;

    if (c == NULL || o->out || !hm_queue_empty(&o->pending)) {
        return;
    }

    if (c->read->timer_set) {
        hm_event_del_timer(c->read);
    }

    if (hm_exiting) {
        hm_close_connection(c);
        o->c = NULL;
        o->connected = 0;
        return;
    }

    c->idle = 1;
}

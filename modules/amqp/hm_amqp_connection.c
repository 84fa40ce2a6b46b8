/*
 * Copyright (C) hermod authors
 *
 * An AMQP 0-9-1 connection driven by the worker's event loop: one
 * non-blocking socket (TLS through the core's OpenSSL code for amqps),
 * one channel (1), frames cut and assembled here, methods and properties
 * encoded and decoded by rabbitmq-c's codec functions, which never touch
 * a socket.
 *
 * The life of a connection:
 *
 *     DOWN --timer--> CONNECTING: TCP, TLS, protocol header,
 *         connection.start/start-ok (PLAIN), tune/tune-ok, open/open-ok,
 *         channel.open/open-ok, then the setup steps one by one (the
 *         topology declarations, then the role's: confirm.select, or
 *         basic.qos and basic.consume), each waiting for its reply
 *     --> READY: the role's ready(); heartbeats both ways
 *     --any error--> DOWN: the role's down() (it fails or forgets what
 *         was in flight), reconnection after a capped, jittered backoff
 *     hm_amqp_close() --> CLOSING (connection.close sent) --> CLOSED
 *
 * A method the broker refuses closes the channel (channel.close): the
 * reason, the method, and for a setup step the declaration and its place
 * in the configuration are logged, and the connection starts again.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hermod.h>
#include <hm_amqp.h>


#define HM_AMQP_PH_TCP        0
#define HM_AMQP_PH_START      1
#define HM_AMQP_PH_TUNE       2
#define HM_AMQP_PH_OPEN       3
#define HM_AMQP_PH_CHANNEL    4
#define HM_AMQP_PH_STEPS      5
#define HM_AMQP_PH_READY      6

#define HM_AMQP_FRAME_MAX     131072
#define HM_AMQP_METHOD_MAX    65536
#define HM_AMQP_IN_SIZE       65536
#define HM_AMQP_CLOSE_WAIT    1000


static hm_int_t hm_amqp_get_peer(hm_peer_connection_t *pc, void *data);
static void hm_amqp_timer_handler(hm_event_t *ev);
static void hm_amqp_flush_handler(hm_event_t *ev);
static void hm_amqp_read_handler(hm_event_t *ev);
static void hm_amqp_write_handler(hm_event_t *ev);
static void hm_amqp_connected(hm_amqp_conn_t *ac);
static void hm_amqp_ssl_handshake(hm_connection_t *c);
static void hm_amqp_start(hm_amqp_conn_t *ac);
static void hm_amqp_read(hm_amqp_conn_t *ac);
static void hm_amqp_write(hm_amqp_conn_t *ac);
static hm_int_t hm_amqp_frames(hm_amqp_conn_t *ac);
static hm_int_t hm_amqp_frame(hm_amqp_conn_t *ac, hm_uint_t type,
    hm_uint_t channel, u_char *p, size_t size);
static hm_int_t hm_amqp_method(hm_amqp_conn_t *ac, hm_uint_t channel,
    amqp_method_number_t id, void *args);
static hm_int_t hm_amqp_connection_start(hm_amqp_conn_t *ac,
    amqp_connection_start_t *start);
static hm_uint_t hm_amqp_has_plain(amqp_bytes_t *mechs);
static hm_int_t hm_amqp_connection_tune(hm_amqp_conn_t *ac,
    amqp_connection_tune_t *tune);
static hm_int_t hm_amqp_next_step(hm_amqp_conn_t *ac);
static void hm_amqp_ready(hm_amqp_conn_t *ac);
static void hm_amqp_closed_by_broker(hm_amqp_conn_t *ac, hm_uint_t channel,
    uint16_t code, amqp_bytes_t *text, uint16_t class_id,
    uint16_t method_id);
static void hm_amqp_down(hm_amqp_conn_t *ac);
static void hm_amqp_close_socket(hm_amqp_conn_t *ac);
static u_char *hm_amqp_reserve(hm_amqp_conn_t *ac, size_t n);
static hm_int_t hm_amqp_frame_method(hm_amqp_conn_t *ac, hm_uint_t channel,
    amqp_method_number_t id, void *args);
static void hm_amqp_write_now(hm_amqp_conn_t *ac);


static u_char  hm_amqp_protocol_header[] = { 'A', 'M', 'Q', 'P', 0, 0, 9, 1 };


#define hm_amqp_get16(p)  ((uint16_t) (((p)[0] << 8) | (p)[1]))
#define hm_amqp_get32(p)                                                      \
    (((uint32_t) (p)[0] << 24) | ((uint32_t) (p)[1] << 16)                    \
     | ((uint32_t) (p)[2] << 8) | (uint32_t) (p)[3])

static inline void
hm_amqp_put16(u_char *p, uint16_t v)
{
    p[0] = (u_char) (v >> 8);
    p[1] = (u_char) v;
}

static inline void
hm_amqp_put32(u_char *p, uint32_t v)
{
    p[0] = (u_char) (v >> 24);
    p[1] = (u_char) (v >> 16);
    p[2] = (u_char) (v >> 8);
    p[3] = (u_char) v;
}

static inline uint64_t
hm_amqp_get64(u_char *p)
{
    return ((uint64_t) hm_amqp_get32(p) << 32) | hm_amqp_get32(p + 4);
}

static inline void
hm_amqp_put64(u_char *p, uint64_t v)
{
    hm_amqp_put32(p, (uint32_t) (v >> 32));
    hm_amqp_put32(p + 4, (uint32_t) v);
}


hm_int_t
hm_amqp_conn_init(hm_amqp_conn_t *ac, hm_cycle_t *cycle,
    hm_amqp_common_conf_t *conf, const char *kind, hm_str_t *name,
    hm_amqp_handlers_t *handlers, void *data)
{
    ac->log = *cycle->log;
    ac->log.connection = 0;
    ac->log.handler = NULL;
    ac->log.data = NULL;
    ac->log.action = NULL;

    ac->conf = conf;
    ac->kind = kind;
    ac->name = name;
    ac->handlers = handlers;
    ac->data = data;
    ac->state = HM_AMQP_DOWN;
    ac->backoff = conf->reconnect_min;
    ac->stop = 0;
    ac->forced = 0;
    ac->blocked = 0;
    ac->in_len = 0;
    ac->out_pos = 0;
    ac->out_last = 0;

    ac->in = hm_alloc(HM_AMQP_IN_SIZE, cycle->log);
    if (ac->in == NULL) {
        return HM_ERROR;
    }

    ac->in_size = HM_AMQP_IN_SIZE;

    init_amqp_pool(&ac->pool, 4096);

    ac->timer.handler = hm_amqp_timer_handler;
    ac->timer.data = ac;
    ac->timer.log = &ac->log;
    ac->timer.cancelable = 1;

    ac->flush.handler = hm_amqp_flush_handler;
    ac->flush.data = ac;
    ac->flush.log = &ac->log;

    ac->peer.get = hm_amqp_get_peer;
    ac->peer.data = ac;
    ac->peer.log = &ac->log;

    return HM_OK;
}


void
hm_amqp_conn_free(hm_amqp_conn_t *ac)
{
    ac->stop = 1;

    if (ac->timer.timer_set) {
        hm_event_del_timer(&ac->timer);
    }

    if (ac->flush.posted) {
        hm_delete_posted_event(&ac->flush);
    }

    hm_amqp_close_socket(ac);

    if (ac->in) {
        hm_free(ac->in);
        ac->in = NULL;
        ac->in_size = 0;
    }

    if (ac->out) {
        hm_free(ac->out);
        ac->out = NULL;
        ac->out_size = 0;
    }

    empty_amqp_pool(&ac->pool);

    ac->state = HM_AMQP_CLOSED;
}


hm_str_t *
hm_amqp_error(hm_amqp_conn_t *ac)
{
    static hm_str_t  err;

    err.data = ac->error;
    err.len = ac->error_len;

    return &err;
}


/*
 * "basic.publish", "queue.declare-ok", as the specification names them,
 * from rabbitmq-c's "AMQP_BASIC_PUBLISH_METHOD"
 */

const char *
hm_amqp_method_name(amqp_method_number_t id)
{
    static u_char  buf[64];

    u_char      *d, *last;
    hm_uint_t    dot;
    const char  *s;

    s = amqp_method_name(id);

    if (s == NULL || hm_strncmp(s, "AMQP_", 5) != 0) {
        return s ? s : "an unknown method";
    }

    s += 5;
    d = buf;
    last = buf + sizeof(buf) - 1;
    dot = 0;

    while (*s && d < last && hm_strcmp(s, "_METHOD") != 0) {
        if (*s == '_') {
            *d++ = dot++ ? '-' : '.';

        } else {
            *d++ = hm_tolower(*s);
        }

        s++;
    }

    *d = '\0';

    return (const char *) buf;
}


static hm_int_t
hm_amqp_get_peer(hm_peer_connection_t *pc, void *data)
{
    hm_amqp_conn_t  *ac = data;

    hm_addr_t  *a;

    a = &ac->conf->addrs[ac->addr++ % ac->conf->naddrs];

    pc->sockaddr = &a->sockaddr.sockaddr;
    pc->socklen = a->socklen;
    pc->name = &a->name;

    return HM_OK;
}


/* -- connecting ------------------------------------------------------ */

void
hm_amqp_connect(hm_amqp_conn_t *ac)
{
    hm_int_t          rc;
    hm_connection_t  *c;

    if (ac->state != HM_AMQP_DOWN || ac->stop) {
        return;
    }

    if (ac->timer.timer_set) {
        hm_event_del_timer(&ac->timer);
    }

    ac->state = HM_AMQP_CONNECTING;
    ac->phase = HM_AMQP_PH_TCP;
    ac->generation++;
    ac->in_len = 0;
    ac->out_pos = 0;
    ac->out_last = 0;
    ac->frame_max = HM_AMQP_FRAME_MAX;
    ac->blocked = 0;
    ac->in_content = 0;
    ac->log.action = "connecting to the AMQP broker";

    rc = hm_event_connect_peer(&ac->peer);

    if (rc == HM_ERROR || rc == HM_BUSY || rc == HM_DECLINED) {
        hm_amqp_fail(ac, "could not connect to %V",
                     ac->peer.name ? ac->peer.name : &ac->conf->url);
        return;
    }

    c = ac->peer.connection;
    ac->c = c;

    c->data = ac;
    c->idle = 1;
    c->log = &ac->log;
    c->read->log = &ac->log;
    c->write->log = &ac->log;
    c->read->handler = hm_amqp_read_handler;
    c->write->handler = hm_amqp_write_handler;

    if (c->pool == NULL) {
        c->pool = hm_create_pool(128, &ac->log);
        if (c->pool == NULL) {
            hm_amqp_fail(ac, "out of memory");
            return;
        }
    }

    ac->log.connection = c->number;

    hm_event_add_timer(&ac->timer, ac->conf->connect_timeout);

    if (rc == HM_AGAIN) {
        return;
    }

    hm_amqp_connected(ac);
}


static void
hm_amqp_connected(hm_amqp_conn_t *ac)
{
    hm_int_t          rc;
    hm_connection_t  *c = ac->c;

    if (ac->conf->amqps && c->ssl == NULL) {
        if (hm_ssl_create_connection(ac->conf->ssl, c,
                                     HM_SSL_BUFFER|HM_SSL_CLIENT)
            != HM_OK)
        {
            hm_amqp_fail(ac, "TLS setup failed");
            return;
        }

        if (ac->conf->host.len
            && hm_ssl_set_server_name(c, &ac->conf->ssl_name) != HM_OK)
        {
            hm_amqp_fail(ac, "TLS server name failed");
            return;
        }

        ac->log.action = "TLS handshaking with the AMQP broker";

        rc = hm_ssl_handshake(c);

        if (rc == HM_AGAIN) {
            c->ssl->handler = hm_amqp_ssl_handshake;
            return;
        }

        hm_amqp_ssl_handshake(c);
        return;
    }

    hm_amqp_start(ac);
}


static void
hm_amqp_ssl_handshake(hm_connection_t *c)
{
    long             rc;
    hm_amqp_conn_t  *ac = c->data;

    c->read->handler = hm_amqp_read_handler;
    c->write->handler = hm_amqp_write_handler;

    if (c->ssl == NULL || !c->ssl->handshaked) {
        hm_amqp_fail(ac, "TLS handshake failed");
        return;
    }

    if (ac->conf->ssl_verify) {
        if (hm_ssl_verify_result(c, &rc) != HM_OK) {
            hm_amqp_fail(ac, "TLS certificate verify error: (%l:%s)", rc,
                         X509_verify_cert_error_string(rc));
            return;
        }

        if (hm_ssl_check_host(c, &ac->conf->ssl_name) != HM_OK) {
            hm_amqp_fail(ac, "TLS certificate does not match \"%V\"",
                         &ac->conf->ssl_name);
            return;
        }
    }

    hm_amqp_start(ac);
}


/* connected: the protocol header, then the broker speaks first */

static void
hm_amqp_start(hm_amqp_conn_t *ac)
{
    u_char  *p;

    ac->phase = HM_AMQP_PH_START;
    ac->log.action = "logging in to the AMQP broker";
    ac->last_read = hm_current_msec;
    ac->last_write = hm_current_msec;

    p = hm_amqp_reserve(ac, sizeof(hm_amqp_protocol_header));
    if (p == NULL) {
        hm_amqp_fail(ac, "out of memory");
        return;
    }

    hm_memcpy(p, hm_amqp_protocol_header, sizeof(hm_amqp_protocol_header));
    ac->out_last += sizeof(hm_amqp_protocol_header);

    hm_amqp_write(ac);

    if (ac->c && ac->c->read->ready) {
        hm_amqp_read(ac);
    }
}


/* -- events ---------------------------------------------------------- */

static void
hm_amqp_timer_handler(hm_event_t *ev)
{
    hm_amqp_conn_t  *ac = ev->data;

    hm_msec_t  hb;
    u_char    *p;

    switch (ac->state) {

    case HM_AMQP_DOWN:
        hm_amqp_connect(ac);
        return;

    case HM_AMQP_CONNECTING:
        hm_amqp_fail(ac, "timed out %s",
                     ac->phase == HM_AMQP_PH_TCP ? "connecting"
                     : ac->phase == HM_AMQP_PH_STEPS ? "setting up"
                     : "logging in");
        return;

    case HM_AMQP_CLOSING:
        hm_amqp_close_socket(ac);
        ac->state = HM_AMQP_CLOSED;
        return;

    case HM_AMQP_READY:
        break;

    default:
        return;
    }

    /* heartbeats: one every half interval when idle; two missed: dead */

    hb = (hm_msec_t) ac->heartbeat * 1000;

    if (hb == 0) {
        return;
    }

    if (hm_current_msec - ac->last_read > 2 * hb) {
        hm_amqp_fail(ac, "no heartbeat from the broker for %ui seconds",
                     2 * ac->heartbeat);
        return;
    }

    if (hm_current_msec - ac->last_write >= hb / 2) {
        p = hm_amqp_reserve(ac, 8);
        if (p == NULL) {
            hm_amqp_fail(ac, "out of memory");
            return;
        }

        p[0] = AMQP_FRAME_HEARTBEAT;
        p[1] = 0; p[2] = 0;
        p[3] = 0; p[4] = 0; p[5] = 0; p[6] = 0;
        p[7] = AMQP_FRAME_END;
        ac->out_last += 8;

        hm_amqp_write(ac);

        if (ac->state != HM_AMQP_READY) {
            return;
        }
    }

    hm_event_add_timer(&ac->timer, hb / 2);
}


static void
hm_amqp_read_handler(hm_event_t *ev)
{
    hm_connection_t  *c = ev->data;
    hm_amqp_conn_t   *ac = c->data;

    if (c->close && c->error) {
        /* worker_shutdown_timeout: now; the broker requeues the rest */
        ac->stop = 1;
        ac->forced = 1;

        if (ac->timer.timer_set) {
            hm_event_del_timer(&ac->timer);
        }

        hm_amqp_close_socket(ac);
        ac->state = HM_AMQP_CLOSED;
        return;
    }

    if (c->close) {
        /* a graceful stop: the role decides when to close */
        c->close = 0;
        c->idle = 0;

        if (ac->handlers->stop) {
            ac->handlers->stop(ac);
        }

        if (ac->c != c) {
            return;
        }
    }

    if (ac->phase == HM_AMQP_PH_TCP) {
        hm_amqp_write_handler(c->write);
        return;
    }

    hm_amqp_read(ac);
}


static void
hm_amqp_write_handler(hm_event_t *ev)
{
    hm_connection_t  *c = ev->data;
    hm_amqp_conn_t   *ac = c->data;

    if (ac->phase == HM_AMQP_PH_TCP) {
        if (hm_event_test_connect(c) != HM_OK) {
            hm_amqp_fail(ac, "could not connect to %V", ac->peer.name);
            return;
        }

        hm_amqp_connected(ac);
        return;
    }

    hm_amqp_write(ac);
}


static void
hm_amqp_flush_handler(hm_event_t *ev)
{
    hm_amqp_write(ev->data);
}


/* the output goes out once the events of this turn were handled */

void
hm_amqp_flush(hm_amqp_conn_t *ac)
{
    if (ac->c && ac->phase != HM_AMQP_PH_TCP && !ac->flush.posted) {
        hm_post_event(&ac->flush, &hm_posted_events);
    }
}


/* -- reading --------------------------------------------------------- */

static void
hm_amqp_read(hm_amqp_conn_t *ac)
{
    ssize_t           n;
    hm_uint_t         generation;
    hm_connection_t  *c;

    generation = ac->generation;

    for ( ;; ) {
        c = ac->c;

        if (c == NULL || ac->generation != generation) {
            return;
        }

        if (ac->in_len == ac->in_size) {
            /* hm_amqp_frames() grows the buffer for a large frame */
            hm_amqp_fail(ac, "input buffer full");
            return;
        }

        n = c->recv(c, ac->in + ac->in_len, ac->in_size - ac->in_len);

        if (n == HM_AGAIN) {
            if (hm_handle_read_event(c->read, 0) != HM_OK) {
                hm_amqp_fail(ac, "event failed");
            }

            return;
        }

        if (n == 0 || n == HM_ERROR) {
            if (ac->state == HM_AMQP_CLOSING) {
                hm_amqp_close_socket(ac);
                ac->state = HM_AMQP_CLOSED;
                return;
            }

            hm_amqp_fail(ac, n == 0 ? "the broker closed the connection"
                                    : "read failed");
            return;
        }

        ac->in_len += n;
        ac->last_read = hm_current_msec;

        if (hm_amqp_frames(ac) != HM_OK) {
            return;
        }
    }
}


/* whole frames in the input buffer: handled; the rest moves to the start */

static hm_int_t
hm_amqp_frames(hm_amqp_conn_t *ac)
{
    u_char     *p, *last, *in;
    size_t      size, need;
    hm_int_t    rc;
    hm_uint_t   generation;

    generation = ac->generation;
    in = ac->in;
    p = in;
    last = in + ac->in_len;
    rc = HM_OK;

    if (ac->phase == HM_AMQP_PH_START && ac->in_len >= 8
        && hm_strncmp(in, "AMQP", 4) == 0)
    {
        hm_amqp_fail(ac, "the broker does not speak AMQP 0-9-1 (it answered "
                     "with protocol %d-%d-%d)", in[5], in[6], in[7]);
        return HM_ERROR;
    }

    while (last - p >= 7) {
        size = hm_amqp_get32(p + 3);

        if (size > ac->frame_max + HM_AMQP_METHOD_MAX) {
            hm_amqp_fail(ac, "a frame of %uz bytes, over frame_max %uD",
                         size, ac->frame_max);
            return HM_ERROR;
        }

        need = 7 + size + 1;

        if ((size_t) (last - p) < need) {
            break;
        }

        if (p[7 + size] != AMQP_FRAME_END) {
            hm_amqp_fail(ac, "a frame without its end marker");
            return HM_ERROR;
        }

        rc = hm_amqp_frame(ac, p[0], hm_amqp_get16(p + 1), p + 7, size);

        if (rc != HM_OK || ac->generation != generation || ac->c == NULL) {
            recycle_amqp_pool(&ac->pool);
            return HM_ERROR;
        }

        p += need;
    }

    recycle_amqp_pool(&ac->pool);

    /* what is left: the start of a frame */

    ac->in_len = last - p;

    if (ac->in_len && p != in) {
        hm_memmove(in, p, ac->in_len);
    }

    if (ac->in_len >= 7) {
        need = 7 + hm_amqp_get32(in + 3) + 1;

        if (need > ac->in_size) {
            in = hm_alloc(need, &ac->log);
            if (in == NULL) {
                hm_amqp_fail(ac, "out of memory");
                return HM_ERROR;
            }

            hm_memcpy(in, ac->in, ac->in_len);
            hm_free(ac->in);
            ac->in = in;
            ac->in_size = need;
        }
    }

    return HM_OK;
}


static hm_int_t
hm_amqp_frame(hm_amqp_conn_t *ac, hm_uint_t type, hm_uint_t channel,
    u_char *p, size_t size)
{
    int                       rc;
    void                     *args;
    uint16_t                  class_id;
    amqp_bytes_t              encoded;
    amqp_method_number_t      id;
    amqp_basic_properties_t  *props;

    switch (type) {

    case AMQP_FRAME_METHOD:
        if (size < 4) {
            hm_amqp_fail(ac, "a method frame of %uz bytes", size);
            return HM_ERROR;
        }

        id = hm_amqp_get32(p);
        encoded.bytes = p + 4;
        encoded.len = size - 4;

        rc = amqp_decode_method(id, &ac->pool, encoded, &args);

        if (rc < 0) {
            hm_amqp_fail(ac, "a %s method that cannot be decoded: %s",
                         hm_amqp_method_name(id), amqp_error_string2(rc));
            return HM_ERROR;
        }

        return hm_amqp_method(ac, channel, id, args);

    case AMQP_FRAME_HEADER:
        if (size < 14 || channel != 1 || ac->phase != HM_AMQP_PH_READY
            || !ac->in_content)
        {
            hm_amqp_fail(ac, "an unexpected content header");
            return HM_ERROR;
        }

        class_id = hm_amqp_get16(p);
        encoded.bytes = p + 12;
        encoded.len = size - 12;

        rc = amqp_decode_properties(class_id, &ac->pool, encoded,
                                    (void **) &props);
        if (rc < 0) {
            hm_amqp_fail(ac, "content properties that cannot be decoded: %s",
                         amqp_error_string2(rc));
            return HM_ERROR;
        }

        return ac->handlers->header(ac, hm_amqp_get64(p + 4), props);

    case AMQP_FRAME_BODY:
        if (channel != 1 || ac->phase != HM_AMQP_PH_READY
            || !ac->in_content)
        {
            hm_amqp_fail(ac, "an unexpected content body");
            return HM_ERROR;
        }

        return ac->handlers->body(ac, p, size);

    case AMQP_FRAME_HEARTBEAT:
        return HM_OK;

    default:
        hm_amqp_fail(ac, "a frame of unknown type %ui", type);
        return HM_ERROR;
    }
}


static hm_int_t
hm_amqp_method(hm_amqp_conn_t *ac, hm_uint_t channel,
    amqp_method_number_t id, void *args)
{
    hm_uint_t                level;
    amqp_channel_open_t      open;
    amqp_connection_close_t  *cc;
    amqp_channel_close_t     *chc;

    hm_log_debug(&ac->log, "amqp: %s on channel %ui", hm_amqp_method_name(id),
                 channel);

    /* what may come at any time */

    switch (id) {

    case AMQP_CONNECTION_CLOSE_METHOD:
        cc = args;
        hm_amqp_closed_by_broker(ac, 0, cc->reply_code, &cc->reply_text,
                                 cc->class_id, cc->method_id);
        return HM_ERROR;

    case AMQP_CHANNEL_CLOSE_METHOD:
        chc = args;
        hm_amqp_closed_by_broker(ac, channel, chc->reply_code,
                                 &chc->reply_text, chc->class_id,
                                 chc->method_id);
        return HM_ERROR;

    case AMQP_CONNECTION_CLOSE_OK_METHOD:
        hm_amqp_close_socket(ac);
        ac->state = HM_AMQP_CLOSED;
        return HM_ERROR;

    case AMQP_CONNECTION_BLOCKED_METHOD:
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        ac->blocked = (id == AMQP_CONNECTION_BLOCKED_METHOD);

        level = ac->blocked ? HM_LOG_WARN : HM_LOG_NOTICE;

        hm_log_error(level, &ac->log, 0,
                     "%s \"%V\": the AMQP broker %s publishing%s%V",
                     ac->kind, ac->name,
                     ac->blocked ? "blocks" : "unblocked",
                     ac->blocked ? ": " : "",
                     ac->blocked
                     ? &(hm_str_t) {
                           ((amqp_connection_blocked_t *) args)->reason.len,
                           ((amqp_connection_blocked_t *) args)->reason.bytes }
                     : &(hm_str_t) hm_null_string);

        if (ac->handlers->blocked) {
            ac->handlers->blocked(ac, ac->blocked);
        }

        return HM_OK;
    }

    switch (ac->phase) {

    case HM_AMQP_PH_START:
        if (id != AMQP_CONNECTION_START_METHOD) {
            break;
        }

        return hm_amqp_connection_start(ac, args);

    case HM_AMQP_PH_TUNE:
        if (id != AMQP_CONNECTION_TUNE_METHOD) {
            break;
        }

        return hm_amqp_connection_tune(ac, args);

    case HM_AMQP_PH_OPEN:
        if (id != AMQP_CONNECTION_OPEN_OK_METHOD) {
            break;
        }

        ac->phase = HM_AMQP_PH_CHANNEL;
        hm_memzero(&open, sizeof(amqp_channel_open_t));

        if (hm_amqp_send_method(ac, AMQP_CHANNEL_OPEN_METHOD, &open)
            != HM_OK)
        {
            return HM_ERROR;
        }

        hm_amqp_write(ac);
        return HM_OK;

    case HM_AMQP_PH_CHANNEL:
        if (id != AMQP_CHANNEL_OPEN_OK_METHOD) {
            break;
        }

        ac->phase = HM_AMQP_PH_STEPS;
        ac->step = 0;
        ac->log.action = "setting up the AMQP channel";

        return hm_amqp_next_step(ac);

    case HM_AMQP_PH_STEPS:
        if (id != ac->steps[ac->step].reply) {
            break;
        }

        ac->step++;

        return hm_amqp_next_step(ac);

    default: /* HM_AMQP_PH_READY */

        if (channel != 1) {
            break;
        }

        if (ac->handlers->method(ac, id, args) != HM_OK) {
            if (ac->state == HM_AMQP_READY && ac->c) {
                hm_amqp_fail(ac, "protocol error after %s",
                             hm_amqp_method_name(id));
            }

            return HM_ERROR;
        }

        return HM_OK;
    }

    hm_amqp_fail(ac, "an unexpected %s on channel %ui",
                 hm_amqp_method_name(id), channel);

    return HM_ERROR;
}


/* -- the handshake --------------------------------------------------- */

/* "AMQPLAIN PLAIN": a space-separated list */

static hm_uint_t
hm_amqp_has_plain(amqp_bytes_t *mechs)
{
    u_char  *p, *last, *start;

    p = mechs->bytes;
    last = p + mechs->len;

    while (p < last) {
        start = p;

        while (p < last && *p != ' ') {
            p++;
        }

        if (p - start == 5 && hm_strncmp(start, "PLAIN", 5) == 0) {
            return 1;
        }

        p++;
    }

    return 0;
}


static hm_int_t
hm_amqp_connection_start(hm_amqp_conn_t *ac, amqp_connection_start_t *start)
{
    u_char                      *p, *resp, *name;
    size_t                       len;
    amqp_table_t                 caps, client;
    amqp_table_entry_t           ce[5], ke[5];
    amqp_connection_start_ok_t   ok;

    if (start->version_major != 0 || start->version_minor != 9) {
        hm_amqp_fail(ac, "the broker speaks AMQP %d-%d",
                     start->version_major, start->version_minor);
        return HM_ERROR;
    }

    if (!hm_amqp_has_plain(&start->mechanisms)) {
        hm_amqp_fail(ac, "the broker does not offer the PLAIN mechanism "
                     "(it offers \"%*s\")", start->mechanisms.len,
                     start->mechanisms.bytes);
        return HM_ERROR;
    }

    /* what we can do: confirms, nacks, cancel notices, blocked notices */

    ce[0].key = amqp_cstring_bytes("publisher_confirms");
    ce[1].key = amqp_cstring_bytes("basic.nack");
    ce[2].key = amqp_cstring_bytes("consumer_cancel_notify");
    ce[3].key = amqp_cstring_bytes("connection.blocked");
    ce[4].key = amqp_cstring_bytes("authentication_failure_close");

    for (len = 0; len < 5; len++) {
        ce[len].value.kind = AMQP_FIELD_KIND_BOOLEAN;
        ce[len].value.value.boolean = 1;
    }

    caps.num_entries = 5;
    caps.entries = ce;

    name = hm_pnalloc(ac->c->pool, sizeof("hermod  \"\" worker ")
                      + hm_strlen(ac->kind) + ac->name->len + HM_INT_T_LEN);
    if (name == NULL) {
        hm_amqp_fail(ac, "out of memory");
        return HM_ERROR;
    }

    p = hm_sprintf(name, "hermod %s \"%V\" worker %P", ac->kind, ac->name,
                   hm_pid);

    ke[0].key = amqp_cstring_bytes("product");
    ke[0].value.kind = AMQP_FIELD_KIND_UTF8;
    ke[0].value.value.bytes = amqp_cstring_bytes("hermod");
    ke[1].key = amqp_cstring_bytes("version");
    ke[1].value.kind = AMQP_FIELD_KIND_UTF8;
    ke[1].value.value.bytes = amqp_cstring_bytes(HERMOD_VERSION);
    ke[2].key = amqp_cstring_bytes("platform");
    ke[2].value.kind = AMQP_FIELD_KIND_UTF8;
    ke[2].value.value.bytes = amqp_cstring_bytes("C");
    ke[3].key = amqp_cstring_bytes("capabilities");
    ke[3].value.kind = AMQP_FIELD_KIND_TABLE;
    ke[3].value.value.table = caps;
    ke[4].key = amqp_cstring_bytes("connection_name");
    ke[4].value.kind = AMQP_FIELD_KIND_UTF8;
    ke[4].value.value.bytes.bytes = name;
    ke[4].value.value.bytes.len = p - name;

    client.num_entries = 5;
    client.entries = ke;

    /* PLAIN: "\0user\0password" */

    len = 2 + ac->conf->user.len + ac->conf->password.len;

    resp = hm_pnalloc(ac->c->pool, len);
    if (resp == NULL) {
        hm_amqp_fail(ac, "out of memory");
        return HM_ERROR;
    }

    p = resp;
    *p++ = '\0';
    p = hm_cpymem(p, ac->conf->user.data, ac->conf->user.len);
    *p++ = '\0';
    p = hm_cpymem(p, ac->conf->password.data, ac->conf->password.len);

    ok.client_properties = client;
    ok.mechanism = amqp_cstring_bytes("PLAIN");
    ok.response.bytes = resp;
    ok.response.len = len;
    ok.locale = amqp_cstring_bytes("en_US");

    ac->phase = HM_AMQP_PH_TUNE;

    if (hm_amqp_send_method(ac, AMQP_CONNECTION_START_OK_METHOD, &ok)
        != HM_OK)
    {
        return HM_ERROR;
    }

    hm_amqp_write(ac);

    return HM_OK;
}


static hm_int_t
hm_amqp_connection_tune(hm_amqp_conn_t *ac, amqp_connection_tune_t *tune)
{
    hm_uint_t                 hb;
    amqp_connection_open_t    open;
    amqp_connection_tune_ok_t ok;

    /* the smaller frame size and heartbeat; 0 from one side: the other's */

    ac->frame_max = HM_AMQP_FRAME_MAX;

    if (tune->frame_max && tune->frame_max < ac->frame_max) {
        ac->frame_max = tune->frame_max;
    }

    if (ac->frame_max < AMQP_FRAME_MIN_SIZE) {
        hm_amqp_fail(ac, "the broker's frame_max %uD is too small",
                     tune->frame_max);
        return HM_ERROR;
    }

    hb = (hm_uint_t) ((ac->conf->heartbeat + 999) / 1000);

    if (hb && tune->heartbeat && tune->heartbeat < hb) {
        hb = tune->heartbeat;
    }

    ac->heartbeat = hb;
    ac->channel_max = tune->channel_max ? tune->channel_max : 2047;

    ok.channel_max = ac->channel_max;
    ok.frame_max = ac->frame_max;
    ok.heartbeat = (uint16_t) hb;

    hm_memzero(&open, sizeof(amqp_connection_open_t));
    open.virtual_host = hm_amqp_bytes(&ac->conf->vhost);

    ac->phase = HM_AMQP_PH_OPEN;

    if (hm_amqp_send_method(ac, AMQP_CONNECTION_TUNE_OK_METHOD, &ok)
        != HM_OK
        || hm_amqp_send_method(ac, AMQP_CONNECTION_OPEN_METHOD, &open)
           != HM_OK)
    {
        return HM_ERROR;
    }

    hm_amqp_write(ac);

    return HM_OK;
}


static hm_int_t
hm_amqp_next_step(hm_amqp_conn_t *ac)
{
    hm_amqp_step_t  *st;

    if (ac->step == ac->nsteps) {
        hm_amqp_ready(ac);
        return HM_OK;
    }

    st = &ac->steps[ac->step];

    if (hm_amqp_send_method(ac, st->id, st->args) != HM_OK) {
        return HM_ERROR;
    }

    hm_amqp_write(ac);

    return HM_OK;
}


static void
hm_amqp_ready(hm_amqp_conn_t *ac)
{
    hm_uint_t  level;

    ac->phase = HM_AMQP_PH_READY;
    ac->state = HM_AMQP_READY;
    ac->backoff = ac->conf->reconnect_min;
    ac->log.action = NULL;

    if (ac->timer.timer_set) {
        hm_event_del_timer(&ac->timer);
    }

    if (ac->heartbeat) {
        hm_event_add_timer(&ac->timer, (hm_msec_t) ac->heartbeat * 500);
    }

    level = ac->logged_down ? HM_LOG_NOTICE : HM_LOG_INFO;

    hm_log_error(level, &ac->log, 0,
                 "%s \"%V\": connected to the AMQP broker %V%s",
                 ac->kind, ac->name, ac->peer.name,
                 ac->logged_down ? " again" : "");

    ac->logged_down = 0;

    ac->handlers->ready(ac);

    /* a connection made while the worker stops: the role may end it */

    if (hm_exiting && ac->state == HM_AMQP_READY && ac->handlers->stop) {
        ac->handlers->stop(ac);
    }
}


/* -- failures -------------------------------------------------------- */

static void
hm_amqp_closed_by_broker(hm_amqp_conn_t *ac, hm_uint_t channel,
    uint16_t code, amqp_bytes_t *text, uint16_t class_id, uint16_t method_id)
{
    u_char           *p, *last;
    hm_amqp_step_t   *st;
    amqp_method_number_t  mid;
    amqp_connection_close_ok_t  cok;
    amqp_channel_close_ok_t     chok;

    p = ac->error;
    last = ac->error + sizeof(ac->error);

    if (ac->phase == HM_AMQP_PH_STEPS && channel == 1) {
        st = &ac->steps[ac->step];

        p = hm_slprintf(p, last, "%s", st->what);

        if (st->where) {
            p = hm_slprintf(p, last, " in %V:%ui", &st->where->file,
                            st->where->line);
        }

        p = hm_slprintf(p, last, " failed: ");

    } else {
        p = hm_slprintf(p, last, "%s closed by the broker: ",
                        channel ? "channel" : "connection");
    }

    p = hm_slprintf(p, last, "%d %*s", code, text->len, text->bytes);

    mid = ((amqp_method_number_t) class_id << 16) | method_id;

    if (class_id && ac->phase != HM_AMQP_PH_STEPS) {
        p = hm_slprintf(p, last, " (after %s)", hm_amqp_method_name(mid));
    }

    ac->error_len = p - ac->error;

    /* polite: the close is acknowledged before the socket goes */

    if (channel) {
        hm_memzero(&chok, sizeof(chok));
        (void) hm_amqp_frame_method(ac, channel, AMQP_CHANNEL_CLOSE_OK_METHOD,
                                    &chok);
    } else {
        hm_memzero(&cok, sizeof(cok));
        (void) hm_amqp_frame_method(ac, 0, AMQP_CONNECTION_CLOSE_OK_METHOD,
                                    &cok);
    }

    hm_amqp_write_now(ac);

    hm_amqp_down(ac);
}


void
hm_amqp_fail(hm_amqp_conn_t *ac, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    if (ac->state == HM_AMQP_DOWN || ac->state == HM_AMQP_CLOSED) {
        return;
    }

    va_start(args, fmt);
    p = hm_vslprintf(ac->error, ac->error + sizeof(ac->error), fmt, args);
    va_end(args);

    ac->error_len = p - ac->error;

    hm_amqp_down(ac);
}


/* the connection is gone: tell the role, come back after a while */

static void
hm_amqp_down(hm_amqp_conn_t *ac)
{
    hm_msec_t   delay;
    uint32_t    r;
    hm_uint_t   was;

    was = ac->state;

    hm_amqp_close_socket(ac);

    if (ac->timer.timer_set) {
        hm_event_del_timer(&ac->timer);
    }

    ac->state = ac->stop ? HM_AMQP_CLOSED : HM_AMQP_DOWN;
    ac->phase = HM_AMQP_PH_TCP;
    ac->in_content = 0;
    ac->log.action = NULL;
    ac->log.connection = 0;

    delay = ac->backoff;

    if (hm_os_random((u_char *) &r, sizeof(r)) == HM_OK) {
        /* between half and all of the backoff */
        delay = delay / 2 + (hm_msec_t) (r % (delay / 2 + 1));
    }

    if (!ac->stop) {
        hm_log_error(HM_LOG_ERR, &ac->log, 0,
                     "%s \"%V\": amqp %V: %V%s; reconnecting in %Mms",
                     ac->kind, ac->name,
                     ac->peer.name ? ac->peer.name : &ac->conf->url,
                     hm_amqp_error(ac),
                     was == HM_AMQP_READY ? " (was connected)" : "", delay);

        ac->logged_down = 1;

        hm_event_add_timer(&ac->timer, delay);

        ac->backoff *= 2;

        if (ac->backoff > ac->conf->reconnect_max) {
            ac->backoff = ac->conf->reconnect_max;
        }
    }

    if (ac->handlers->down) {
        ac->handlers->down(ac);
    }
}


static void
hm_amqp_close_socket(hm_amqp_conn_t *ac)
{
    hm_connection_t  *c = ac->c;

    if (c == NULL) {
        return;
    }

    ac->c = NULL;
    ac->peer.connection = NULL;

    if (ac->flush.posted) {
        hm_delete_posted_event(&ac->flush);
    }

    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void) hm_ssl_shutdown(c);
    }

    if (c->pool) {
        hm_destroy_pool(c->pool);
        c->pool = NULL;
    }

    hm_close_connection(c);

    ac->in_len = 0;
    ac->out_pos = 0;
    ac->out_last = 0;
}


/* a graceful end: connection.close, the socket goes with close-ok */

void
hm_amqp_close(hm_amqp_conn_t *ac)
{
    amqp_connection_close_t  cc;

    ac->stop = 1;

    if (ac->timer.timer_set) {
        hm_event_del_timer(&ac->timer);
    }

    if (ac->state != HM_AMQP_READY) {
        hm_amqp_close_socket(ac);
        ac->state = HM_AMQP_CLOSED;
        return;
    }

    hm_memzero(&cc, sizeof(cc));
    cc.reply_code = AMQP_REPLY_SUCCESS;
    cc.reply_text = amqp_cstring_bytes("hermod worker stops");

    if (hm_amqp_frame_method(ac, 0, AMQP_CONNECTION_CLOSE_METHOD, &cc)
        != HM_OK)
    {
        hm_amqp_close_socket(ac);
        ac->state = HM_AMQP_CLOSED;
        return;
    }

    ac->state = HM_AMQP_CLOSING;

    hm_event_add_timer(&ac->timer, HM_AMQP_CLOSE_WAIT);

    hm_amqp_write(ac);
}


/* -- writing --------------------------------------------------------- */

static u_char *
hm_amqp_reserve(hm_amqp_conn_t *ac, size_t n)
{
    u_char  *out;
    size_t   size, used;

    if (ac->out_last + n <= ac->out_size) {
        return ac->out + ac->out_last;
    }

    used = ac->out_last - ac->out_pos;

    if (used + n <= ac->out_size && ac->out_pos) {
        hm_memmove(ac->out, ac->out + ac->out_pos, used);
        ac->out_pos = 0;
        ac->out_last = used;

        return ac->out + ac->out_last;
    }

    size = ac->out_size ? ac->out_size : 16384;

    while (size < used + n) {
        size *= 2;
    }

    out = hm_alloc(size, &ac->log);
    if (out == NULL) {
        return NULL;
    }

    if (used) {
        hm_memcpy(out, ac->out + ac->out_pos, used);
    }

    if (ac->out) {
        hm_free(ac->out);
    }

    ac->out = out;
    ac->out_size = size;
    ac->out_pos = 0;
    ac->out_last = used;

    return out + used;
}


static hm_int_t
hm_amqp_frame_method(hm_amqp_conn_t *ac, hm_uint_t channel,
    amqp_method_number_t id, void *args)
{
    int            n;
    u_char        *p;
    amqp_bytes_t   encoded;

    p = hm_amqp_reserve(ac, 12 + HM_AMQP_METHOD_MAX);
    if (p == NULL) {
        hm_amqp_fail(ac, "out of memory");
        return HM_ERROR;
    }

    encoded.bytes = p + 11;
    encoded.len = HM_AMQP_METHOD_MAX;

    n = amqp_encode_method(id, args, encoded);

    if (n < 0) {
        hm_amqp_fail(ac, "%s cannot be encoded: %s", hm_amqp_method_name(id),
                     amqp_error_string2(n));
        return HM_ERROR;
    }

    p[0] = AMQP_FRAME_METHOD;
    hm_amqp_put16(p + 1, (uint16_t) channel);
    hm_amqp_put32(p + 3, (uint32_t) (4 + n));
    hm_amqp_put32(p + 7, id);
    p[11 + n] = AMQP_FRAME_END;

    ac->out_last += 12 + n;

    return HM_OK;
}


/* connection methods go to channel 0, the others to our channel 1 */

hm_int_t
hm_amqp_send_method(hm_amqp_conn_t *ac, amqp_method_number_t id, void *args)
{
    if (ac->c == NULL) {
        return HM_ERROR;
    }

    return hm_amqp_frame_method(ac, ((id >> 16) == AMQP_CONNECTION_CLASS)
                                    ? 0 : 1, id, args);
}


/* a content header and the body frames: the body is copied */

hm_int_t
hm_amqp_send_content(hm_amqp_conn_t *ac, amqp_basic_properties_t *props,
    hm_chain_t *body, size_t size)
{
    int            n;
    u_char        *p, *src;
    size_t         chunk, room, len, frames;
    hm_chain_t    *cl;
    amqp_bytes_t   encoded;

    if (ac->c == NULL) {
        return HM_ERROR;
    }

    chunk = ac->frame_max - 8;
    frames = size / chunk + 1;

    p = hm_amqp_reserve(ac, 8 + 12 + HM_AMQP_METHOD_MAX + size + 8 * frames);
    if (p == NULL) {
        hm_amqp_fail(ac, "out of memory");
        return HM_ERROR;
    }

    encoded.bytes = p + 19;
    encoded.len = HM_AMQP_METHOD_MAX;

    n = amqp_encode_properties(AMQP_BASIC_CLASS, props, encoded);

    if (n < 0) {
        hm_amqp_fail(ac, "message properties cannot be encoded: %s",
                     amqp_error_string2(n));
        return HM_ERROR;
    }

    p[0] = AMQP_FRAME_HEADER;
    hm_amqp_put16(p + 1, 1);
    hm_amqp_put32(p + 3, (uint32_t) (12 + n));
    hm_amqp_put16(p + 7, AMQP_BASIC_CLASS);
    hm_amqp_put16(p + 9, 0);
    hm_amqp_put64(p + 11, size);
    p[19 + n] = AMQP_FRAME_END;

    p += 20 + n;

    /* body frames of at most frame_max, from the chain's buffers */

    cl = body;
    src = (cl && cl->buf) ? cl->buf->pos : NULL;

    while (size) {
        room = hm_min(size, chunk);

        p[0] = AMQP_FRAME_BODY;
        hm_amqp_put16(p + 1, 1);
        hm_amqp_put32(p + 3, (uint32_t) room);
        p += 7;

        size -= room;

        while (room) {
            while (src == cl->buf->last) {
                cl = cl->next;
                src = cl->buf->pos;
            }

            len = hm_min(room, (size_t) (cl->buf->last - src));
            p = hm_cpymem(p, src, len);
            src += len;
            room -= len;
        }

        *p++ = AMQP_FRAME_END;
    }

    ac->out_last = p - ac->out;

    return HM_OK;
}


static void
hm_amqp_write(hm_amqp_conn_t *ac)
{
    ssize_t           n;
    hm_connection_t  *c;

    c = ac->c;

    if (c == NULL || ac->phase == HM_AMQP_PH_TCP) {
        return;
    }

    if (ac->flush.posted) {
        hm_delete_posted_event(&ac->flush);
    }

    /* what the role gathered (acknowledgements) goes with it */

    if (ac->handlers->flush && ac->state == HM_AMQP_READY) {
        ac->handlers->flush(ac);

        if (ac->c != c) {
            return;
        }
    }

    while (ac->out_last > ac->out_pos) {
        n = c->send(c, ac->out + ac->out_pos, ac->out_last - ac->out_pos);

        if (n == HM_AGAIN) {
            if (hm_handle_write_event(c->write, 0) != HM_OK) {
                hm_amqp_fail(ac, "event failed");
            }

            return;
        }

        if (n == HM_ERROR) {
            hm_amqp_fail(ac, "write failed");
            return;
        }

        ac->out_pos += n;
        ac->last_write = hm_current_msec;
    }

    ac->out_pos = 0;
    ac->out_last = 0;
}


/* before the socket goes: what can be written now, errors ignored */

static void
hm_amqp_write_now(hm_amqp_conn_t *ac)
{
    ssize_t           n;
    hm_connection_t  *c = ac->c;

    if (c == NULL || ac->phase == HM_AMQP_PH_TCP) {
        return;
    }

    while (ac->out_last > ac->out_pos) {
        n = c->send(c, ac->out + ac->out_pos, ac->out_last - ac->out_pos);

        if (n <= 0) {
            return;
        }

        ac->out_pos += n;
    }
}

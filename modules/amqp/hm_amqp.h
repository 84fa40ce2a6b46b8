/*
 * Copyright (C) hermod authors
 *
 * The AMQP 0-9-1 module's own header: shared between the module
 * (configuration, variables), the connection (framing, handshake,
 * topology, heartbeats, recovery), the publisher and the consumer.  Not
 * part of the SDK.
 *
 * rabbitmq-c is used as the protocol codec only (amqp_encode_method,
 * amqp_decode_method, amqp_encode_properties, amqp_decode_properties):
 * the socket, TLS, timers and every read and write belong to the worker's
 * event loop, so no rabbitmq-c call can block a worker.
 */

#ifndef _HM_AMQP_H_INCLUDED_
#define _HM_AMQP_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>
#include <hm_event.h>
#include <hm_event_connect.h>
#include <hm_pipeline.h>

#include <amqp.h>
#include <amqp_framing.h>


#define HM_AMQP_DECLARE_EXCHANGE  1
#define HM_AMQP_DECLARE_QUEUE     2
#define HM_AMQP_DECLARE_BIND      3

/* a topology declaration, sent on every (re)connection */
typedef struct {
    hm_uint_t                    kind;
    hm_str_t                     name;       /* exchange or queue */
    hm_str_t                     type;       /* exchange type */
    hm_str_t                     exchange;   /* bind */
    hm_str_t                     routing_key;
    amqp_table_t                 arguments;
    unsigned                     durable:1;
    unsigned                     auto_delete:1;
    unsigned                     exclusive:1;
    unsigned                     internal:1;
    unsigned                     passive:1;
    hm_conf_location_t           where;
} hm_amqp_declare_t;


/* what both blocks share; first in both configurations */
typedef struct {
    hm_str_t                     url;
    hm_str_t                     host;       /* for TLS: SNI, checks */
    hm_addr_t                   *addrs;
    hm_uint_t                    naddrs;
    hm_str_t                     user;
    hm_str_t                     password;
    hm_str_t                     vhost;

    hm_msec_t                    heartbeat;
    hm_msec_t                    connect_timeout;
    hm_msec_t                    reconnect_min;
    hm_msec_t                    reconnect_max;

    hm_array_t                  *declares;   /* of hm_amqp_declare_t */

    unsigned                     amqps:1;
    hm_flag_t                    ssl_verify;
    hm_uint_t                    ssl_verify_depth;
    hm_str_t                     ssl_trusted_certificate;
    hm_str_t                     ssl_name;
    hm_ssl_t                    *ssl;

    hm_conf_location_t           where;      /* of the block */
} hm_amqp_common_conf_t;


/* message properties set from templates: "property NAME VALUE" */
#define HM_AMQP_PROP_CONTENT_TYPE       0
#define HM_AMQP_PROP_CONTENT_ENCODING   1
#define HM_AMQP_PROP_PRIORITY           2
#define HM_AMQP_PROP_CORRELATION_ID     3
#define HM_AMQP_PROP_REPLY_TO           4
#define HM_AMQP_PROP_EXPIRATION         5
#define HM_AMQP_PROP_MESSAGE_ID         6
#define HM_AMQP_PROP_TYPE               7
#define HM_AMQP_PROP_USER_ID            8
#define HM_AMQP_PROP_APP_ID             9
#define HM_AMQP_PROP_N                  10


typedef struct {
    hm_amqp_common_conf_t        common;

    hm_complex_value_t          *exchange;
    hm_complex_value_t          *routing_key;
    hm_complex_value_t          *props[HM_AMQP_PROP_N];
    hm_flag_t                    persistent;
    hm_flag_t                    mandatory;
    hm_flag_t                    headers;
    hm_uint_t                    max_in_flight;
} hm_amqp_publisher_conf_t;


#define HM_AMQP_FAIL_REQUEUE  0
#define HM_AMQP_FAIL_REJECT   1

typedef struct {
    hm_amqp_common_conf_t        common;

    hm_array_t                  *queues;     /* of hm_str_t */
    hm_uint_t                    prefetch;
    hm_uint_t                    on_failure;
    hm_msec_t                    requeue_delay;
    hm_pipeline_t               *pipeline;
} hm_amqp_consumer_conf_t;


/* -- the connection -------------------------------------------------- */

typedef struct hm_amqp_conn_s  hm_amqp_conn_t;

/* a synchronous method of the setup, after channel.open */
typedef struct {
    amqp_method_number_t         id;
    void                        *args;       /* decoded, e.g. queue.declare */
    amqp_method_number_t         reply;
    hm_conf_location_t          *where;      /* NULL: none */
    const char                  *what;       /* "queue_declare \"q\"" */
} hm_amqp_step_t;


typedef struct {
    /* the channel is open and set up: go */
    void                       (*ready)(hm_amqp_conn_t *ac);
    /* a method on the channel after ready; HM_ERROR: protocol error */
    hm_int_t                   (*method)(hm_amqp_conn_t *ac,
                                         amqp_method_number_t id,
                                         void *args);
    /* a content header and body of the last method */
    hm_int_t                   (*header)(hm_amqp_conn_t *ac,
                                         uint64_t size,
                                         amqp_basic_properties_t *props);
    hm_int_t                   (*body)(hm_amqp_conn_t *ac, u_char *data,
                                       size_t len);
    /* the connection is gone (ac->error says why); it reconnects */
    void                       (*down)(hm_amqp_conn_t *ac);
    /* connection.blocked / unblocked */
    void                       (*blocked)(hm_amqp_conn_t *ac, int on);
    /* the worker stops gracefully */
    void                       (*stop)(hm_amqp_conn_t *ac);
    /* the output is about to be written */
    void                       (*flush)(hm_amqp_conn_t *ac);
} hm_amqp_handlers_t;


#define HM_AMQP_DOWN         0   /* waiting to reconnect */
#define HM_AMQP_CONNECTING   1   /* TCP, TLS, handshake, setup */
#define HM_AMQP_READY        2
#define HM_AMQP_CLOSING      3   /* connection.close sent */
#define HM_AMQP_CLOSED       4   /* stopped for good */


struct hm_amqp_conn_s {
    hm_log_t                     log;
    hm_amqp_common_conf_t       *conf;
    const char                  *kind;       /* "outbound", "inbound" */
    hm_str_t                    *name;
    hm_amqp_handlers_t          *handlers;
    void                        *data;       /* the role's */

    hm_peer_connection_t         peer;
    hm_uint_t                    addr;       /* next of conf->addrs */
    hm_connection_t             *c;
    hm_uint_t                    state;
    hm_uint_t                    phase;      /* of the handshake */
    hm_uint_t                    generation; /* +1 per connection */

    /* input: whole frames are handled, the rest is kept */
    u_char                      *in;
    size_t                       in_size;
    size_t                       in_len;

    /* output: frames waiting for the socket */
    u_char                      *out;
    size_t                       out_size;
    size_t                       out_pos;
    size_t                       out_last;

    amqp_pool_t                  pool;       /* decoding, per read */

    hm_amqp_step_t              *steps;
    hm_uint_t                    nsteps;
    hm_uint_t                    step;       /* the one awaited */

    uint32_t                     frame_max;
    uint16_t                     channel_max;
    hm_uint_t                    heartbeat;  /* seconds, 0: none */
    hm_msec_t                    last_read;
    hm_msec_t                    last_write;

    hm_event_t                   timer;      /* connect, heartbeat, backoff */
    hm_event_t                   flush;      /* posted: write the output */
    hm_msec_t                    backoff;

    u_char                       error[256];
    size_t                       error_len;

    unsigned                     stop:1;     /* no reconnection */
    unsigned                     forced:1;   /* closed by the shutdown */
    unsigned                     blocked:1;
    unsigned                     in_content:1;
    unsigned                     logged_down:1;
};


hm_int_t hm_amqp_conn_init(hm_amqp_conn_t *ac, hm_cycle_t *cycle,
    hm_amqp_common_conf_t *conf, const char *kind, hm_str_t *name,
    hm_amqp_handlers_t *handlers, void *data);
void hm_amqp_connect(hm_amqp_conn_t *ac);
hm_int_t hm_amqp_send_method(hm_amqp_conn_t *ac, amqp_method_number_t id,
    void *args);
hm_int_t hm_amqp_send_content(hm_amqp_conn_t *ac,
    amqp_basic_properties_t *props, hm_chain_t *body, size_t size);
void hm_amqp_flush(hm_amqp_conn_t *ac);
void hm_amqp_fail(hm_amqp_conn_t *ac, const char *fmt, ...);
void hm_amqp_close(hm_amqp_conn_t *ac);
void hm_amqp_conn_free(hm_amqp_conn_t *ac);
hm_str_t *hm_amqp_error(hm_amqp_conn_t *ac);
const char *hm_amqp_method_name(amqp_method_number_t id);

#define hm_amqp_bytes(s)  ((amqp_bytes_t) { (s)->len, (s)->data })


/* -- the module ------------------------------------------------------ */

hm_int_t hm_amqp_common_init(hm_conf_t *cf, hm_amqp_common_conf_t *acf);
char *hm_amqp_common_merge(hm_conf_t *cf, hm_amqp_common_conf_t *acf,
    const char *kind, hm_str_t *name);
hm_amqp_step_t *hm_amqp_topology_steps(hm_pool_t *pool,
    hm_amqp_common_conf_t *acf, hm_uint_t extra, hm_uint_t *n);
u_char *hm_amqp_field_text(hm_pool_t *pool, amqp_field_value_t *v,
    size_t *len);

/* the publisher */
void *hm_amqp_publisher_create_conf(hm_conf_t *cf);
char *hm_amqp_publisher_init_conf(hm_conf_t *cf, hm_pipeline_outbound_t *ob);
hm_int_t hm_amqp_publisher_init_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
void hm_amqp_publisher_exit_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
hm_int_t hm_amqp_publisher_send(hm_pipeline_outbound_t *ob, hm_msg_t *m);
void hm_amqp_publisher_cancel(hm_pipeline_outbound_t *ob, hm_msg_t *m);
char *hm_amqp_property(hm_conf_t *cf, hm_command_t *cmd, void *conf);

/* the consumer */
void *hm_amqp_consumer_create_conf(hm_conf_t *cf);
char *hm_amqp_consumer_init_conf(hm_conf_t *cf, hm_pipeline_inbound_t *ib);
hm_int_t hm_amqp_consumer_init_process(hm_cycle_t *cycle,
    hm_pipeline_inbound_t *ib);
void hm_amqp_consumer_exit_process(hm_cycle_t *cycle,
    hm_pipeline_inbound_t *ib);
char *hm_amqp_queue(hm_conf_t *cf, hm_command_t *cmd, void *conf);
hm_int_t hm_amqp_variables_add(hm_cycle_t *cycle);


#endif /* _HM_AMQP_H_INCLUDED_ */

/*
 * Copyright (C) hermod authors
 *
 * The Kafka module's own header: shared between the module (configuration,
 * clients, the event loop), the producer and the consumer.  Not part of
 * the SDK.
 */

#ifndef _HM_KAFKA_H_INCLUDED_
#define _HM_KAFKA_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>
#include <hm_event.h>
#include <hm_pipeline.h>
#include <librdkafka/rdkafka.h>


/* what both blocks share; first in both configurations */
typedef struct {
    hm_str_t                     brokers;
    rd_kafka_conf_t             *rkconf;    /* validated properties */
    hm_conf_location_t           where;     /* of the block */
} hm_kafka_common_conf_t;


typedef struct {
    hm_str_t                     name;
    hm_int_t                     partitions;
} hm_kafka_topic_spec_t;


typedef struct {
    hm_kafka_common_conf_t       common;

    hm_complex_value_t          *topic;
    u_char                      *topic_plain;  /* NUL-terminated */
    hm_complex_value_t          *key;
    hm_flag_t                    headers;
    hm_str_t                     partitioner;
    hm_uint_t                    acks;
    hm_flag_t                    idempotence;
    hm_uint_t                    compression;
    hm_msec_t                    linger;
    size_t                       batch_size;
    hm_uint_t                    max_in_flight;
    hm_array_t                  *ensure;    /* of hm_kafka_topic_spec_t */
} hm_kafka_producer_conf_t;


typedef struct {
    hm_kafka_common_conf_t       common;

    hm_array_t                  *topics;    /* of hm_str_t, NUL-terminated */
    hm_str_t                     group_id;
    hm_uint_t                    offset_reset;
    hm_msec_t                    session_timeout;
    hm_msec_t                    commit_interval;
    hm_pipeline_t               *pipeline;
    hm_uint_t                    batch;
} hm_kafka_consumer_conf_t;


/* a librdkafka queue joined to the worker's event loop through a pipe */
typedef struct {
    hm_connection_t             *c;
    hm_fd_t                      wfd;
} hm_kafka_io_t;


/* the module */
hm_int_t hm_kafka_common_init(hm_conf_t *cf, hm_kafka_common_conf_t *kcf);
hm_int_t hm_kafka_conf_set(hm_conf_t *cf, rd_kafka_conf_t *rkconf,
    char *name, char *value);
rd_kafka_t *hm_kafka_client(hm_cycle_t *cycle, hm_kafka_common_conf_t *kcf,
    rd_kafka_type_t type, rd_kafka_conf_t *rkconf, void *opaque);
hm_int_t hm_kafka_io_open(hm_kafka_io_t *io, rd_kafka_queue_t *q,
    hm_log_t *log, hm_event_handler_pt handler, void *data);
hm_int_t hm_kafka_io_add(hm_kafka_io_t *io, rd_kafka_queue_t *q);
void hm_kafka_io_drain(hm_kafka_io_t *io);
void hm_kafka_io_close(hm_kafka_io_t *io, rd_kafka_queue_t *q);
void hm_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf);
void hm_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
    void *opaque);
hm_log_t *hm_kafka_log(const rd_kafka_t *rk);

/* the producer */
void *hm_kafka_producer_create_conf(hm_conf_t *cf);
char *hm_kafka_producer_init_conf(hm_conf_t *cf, hm_pipeline_outbound_t *ob);
hm_int_t hm_kafka_producer_init_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
void hm_kafka_producer_exit_process(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
hm_int_t hm_kafka_producer_send(hm_pipeline_outbound_t *ob, hm_msg_t *m);
void hm_kafka_producer_cancel(hm_pipeline_outbound_t *ob, hm_msg_t *m);
char *hm_kafka_ensure_topic(hm_conf_t *cf, hm_command_t *cmd, void *conf);

/* the consumer */
void *hm_kafka_consumer_create_conf(hm_conf_t *cf);
char *hm_kafka_consumer_init_conf(hm_conf_t *cf, hm_pipeline_inbound_t *ib);
hm_int_t hm_kafka_consumer_init_process(hm_cycle_t *cycle,
    hm_pipeline_inbound_t *ib);
void hm_kafka_consumer_exit_process(hm_cycle_t *cycle,
    hm_pipeline_inbound_t *ib);
char *hm_kafka_topics(hm_conf_t *cf, hm_command_t *cmd, void *conf);
hm_int_t hm_kafka_variables_add(hm_cycle_t *cycle);


/* compression codecs, acks, auto_offset_reset */
#define HM_KAFKA_ACKS_ALL     0
#define HM_KAFKA_ACKS_NONE    1
#define HM_KAFKA_ACKS_LEADER  2

#define HM_KAFKA_RESET_LATEST    0
#define HM_KAFKA_RESET_EARLIEST  1


#endif /* _HM_KAFKA_H_INCLUDED_ */

/*
 * Copyright (C) hermod authors
 *
 * The Kafka module: a producer ("outbound NAME kafka { }") and a consumer
 * group member ("inbound NAME kafka { }") per worker, on librdkafka.
 *
 *     load_module modules/hm_kafka_module.so;
 *
 *     outbound orders_out kafka {
 *         brokers 127.0.0.1:19092;
 *         topic   orders;
 *     }
 *
 *     inbound orders_in kafka {
 *         brokers  127.0.0.1:19092;
 *         topics   orders;
 *         group_id hermod;
 *         pipeline to_http;
 *     }
 *
 * This file holds what both share: the directive table, the properties
 * (validated on an rd_kafka_conf_t while the configuration is read), the
 * clients (created in the workers only), librdkafka's queues joined to
 * the worker's event loop through a pipe (rd_kafka_queue_io_event_enable),
 * and librdkafka's log, served in the worker's thread.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_kafka.h>


static void *hm_kafka_core_create_conf(hm_cycle_t *cycle);
static char *hm_kafka_brokers(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static char *hm_kafka_property(hm_conf_t *cf, hm_command_t *cmd, void *conf);


static hm_conf_enum_t  hm_kafka_acks[] = {
    { hm_string("all"), HM_KAFKA_ACKS_ALL },
    { hm_string("-1"), HM_KAFKA_ACKS_ALL },
    { hm_string("0"), HM_KAFKA_ACKS_NONE },
    { hm_string("1"), HM_KAFKA_ACKS_LEADER },
    { hm_null_string, 0 }
};


static hm_conf_enum_t  hm_kafka_compression[] = {
    { hm_string("none"), 0 },
    { hm_string("gzip"), 1 },
    { hm_string("snappy"), 2 },
    { hm_string("lz4"), 3 },
    { hm_string("zstd"), 4 },
    { hm_null_string, 0 }
};


static hm_conf_enum_t  hm_kafka_offset_reset[] = {
    { hm_string("latest"), HM_KAFKA_RESET_LATEST },
    { hm_string("earliest"), HM_KAFKA_RESET_EARLIEST },
    { hm_null_string, 0 }
};


#define HM_KAFKA_BOTH  (HM_PIPELINE_OUT_CONF|HM_PIPELINE_IN_CONF)


static hm_command_t  hm_kafka_commands[] = {

    { hm_string("brokers"),
      HM_KAFKA_BOTH|HM_CONF_TAKE1,
      hm_kafka_brokers,
      0,
      0,
      NULL,
      "The bootstrap brokers, HOST:PORT[,HOST:PORT...]." },

    { hm_string("kafka_property"),
      HM_KAFKA_BOTH|HM_CONF_TAKE2,
      hm_kafka_property,
      0,
      0,
      NULL,
      "Any librdkafka configuration property, checked by librdkafka." },

    { hm_string("topic"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_complex_value_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, topic),
      (void *) HM_VAR_MESSAGE,
      "The topic a message is produced to; may contain variables." },

    { hm_string("key"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_complex_value_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, key),
      (void *) HM_VAR_MESSAGE,
      "The record key; may contain variables (default: the message key)." },

    { hm_string("headers"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, headers),
      NULL,
      "Send the message headers as Kafka record headers." },

    { hm_string("partitioner"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, partitioner),
      NULL,
      "The librdkafka partitioner (murmur2_random, consistent, ...)." },

    { hm_string("acks"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, acks),
      &hm_kafka_acks,
      "Acknowledgements a delivery needs: all (-1), 1 or 0." },

    { hm_string("idempotence"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, idempotence),
      NULL,
      "The idempotent producer: no duplicates or reordering on retries." },

    { hm_string("compression"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, compression),
      &hm_kafka_compression,
      "The batch compression: none, gzip, snappy, lz4 or zstd." },

    { hm_string("linger"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, linger),
      NULL,
      "How long a batch waits for more messages (linger.ms)." },

    { hm_string("batch_size"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_size_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, batch_size),
      NULL,
      "The largest batch of a partition, in bytes (batch.size)." },

    { hm_string("max_in_flight"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_kafka_producer_conf_t, max_in_flight),
      NULL,
      "Messages awaiting a delivery report per worker; beyond: wait." },

    { hm_string("ensure_topic"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE12,
      hm_kafka_ensure_topic,
      0,
      0,
      NULL,
      "Create a topic at start if it does not exist: NAME partitions=N." },

    { hm_string("topics"),
      HM_PIPELINE_IN_CONF|HM_CONF_1MORE,
      hm_kafka_topics,
      0,
      0,
      NULL,
      "The topics consumed; a name starting with ^ is a regex." },

    { hm_string("group_id"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      0,
      offsetof(hm_kafka_consumer_conf_t, group_id),
      NULL,
      "The consumer group the workers join (group.id)." },

    { hm_string("auto_offset_reset"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      0,
      offsetof(hm_kafka_consumer_conf_t, offset_reset),
      &hm_kafka_offset_reset,
      "Where a partition without a committed offset starts." },

    { hm_string("session_timeout"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_kafka_consumer_conf_t, session_timeout),
      NULL,
      "The group session timeout (session.timeout.ms)." },

    { hm_string("commit_interval"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_kafka_consumer_conf_t, commit_interval),
      NULL,
      "How often the offsets of settled messages are committed." },

    { hm_string("pipeline"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_pipeline_set_slot,
      0,
      offsetof(hm_kafka_consumer_conf_t, pipeline),
      NULL,
      "The pipeline consumed records are submitted to." },

      hm_null_command
};


static hm_pipeline_outbound_type_t  hm_kafka_outbound_type = {
    hm_string("kafka"),
    hm_kafka_producer_create_conf,
    hm_kafka_producer_init_conf,
    hm_kafka_producer_init_process,
    hm_kafka_producer_exit_process,
    hm_kafka_producer_send,
    hm_kafka_producer_cancel,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_inbound_type_t  hm_kafka_inbound_type = {
    hm_string("kafka"),
    hm_kafka_consumer_create_conf,
    hm_kafka_consumer_init_conf,
    hm_kafka_consumer_init_process,
    hm_kafka_consumer_exit_process,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_module_t  hm_kafka_module_ctx = {
    &hm_kafka_outbound_type,
    &hm_kafka_inbound_type,
    { NULL, NULL, NULL }
};


hm_module_t  hm_kafka_module = {
    HM_MODULE_V1,
    &hm_kafka_module_ctx,                  /* module context */
    hm_kafka_commands,                     /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


/*
 * A core module without directives: its create_conf runs when the module
 * is loaded (load_module), before any directive, and registers the
 * $kafka_* variables, so that a pipeline anywhere in the configuration
 * may use them.
 */

static hm_core_module_t  hm_kafka_core_module_ctx = {
    hm_string("kafka"),
    hm_kafka_core_create_conf,
    NULL
};


hm_module_t  hm_kafka_core_module = {
    HM_MODULE_V1,
    &hm_kafka_core_module_ctx,             /* module context */
    NULL,                                  /* module directives */
    HM_CORE_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static void *
hm_kafka_core_create_conf(hm_cycle_t *cycle)
{
    if (hm_kafka_variables_add(cycle) != HM_OK) {
        return NULL;
    }

    /* nothing to configure: any non-NULL pointer */

    return hm_pcalloc(cycle->pool, sizeof(hm_uint_t));
}


/* -- configuration --------------------------------------------------- */

static void
hm_kafka_conf_cleanup(void *data)
{
    rd_kafka_conf_destroy(data);
}


/* called by both create_conf hooks: the common part */

hm_int_t
hm_kafka_common_init(hm_conf_t *cf, hm_kafka_common_conf_t *kcf)
{
    hm_pool_cleanup_t  *cln;

    cln = hm_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return HM_ERROR;
    }

    kcf->rkconf = rd_kafka_conf_new();
    if (kcf->rkconf == NULL) {
        return HM_ERROR;
    }

    cln->handler = hm_kafka_conf_cleanup;
    cln->data = kcf->rkconf;

    hm_conf_location(cf, &kcf->where);

    return HM_OK;
}


hm_int_t
hm_kafka_conf_set(hm_conf_t *cf, rd_kafka_conf_t *rkconf, char *name,
    char *value)
{
    char  err[512];

    if (rd_kafka_conf_set(rkconf, name, value, err, sizeof(err))
        != RD_KAFKA_CONF_OK)
    {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "kafka property \"%s\" \"%s\": %s",
                          name, value, err);
        return HM_ERROR;
    }

    return HM_OK;
}


static char *
hm_kafka_brokers(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_kafka_common_conf_t  *kcf = conf;

    hm_str_t  *value;

    if (kcf->brokers.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "is empty";
    }

    kcf->brokers = value[1];

    /* the arguments are NUL-terminated */

    if (hm_kafka_conf_set(cf, kcf->rkconf, "bootstrap.servers",
                          (char *) value[1].data)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_kafka_property(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_kafka_common_conf_t  *kcf = conf;

    char       err[512];
    hm_str_t  *value;

    value = cf->args->elts;

    if (rd_kafka_conf_set(kcf->rkconf, (char *) value[1].data,
                          (char *) value[2].data, err, sizeof(err))
        != RD_KAFKA_CONF_OK)
    {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "kafka_property \"%V\": %s",
                          &value[1], err);
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/* -- clients, in the workers ----------------------------------------- */

/*
 * Creates a client from a copy of the block's properties (rkconf, set
 * by the caller, is consumed).  The log goes through the main queue
 * (log.queue) so that it is written by the worker's thread when the
 * queue is served, never by librdkafka's own threads.
 */

rd_kafka_t *
hm_kafka_client(hm_cycle_t *cycle, hm_kafka_common_conf_t *kcf,
    rd_kafka_type_t type, rd_kafka_conf_t *rkconf, void *opaque)
{
    char         err[512];
    rd_kafka_t  *rk;

    rd_kafka_conf_set_opaque(rkconf, opaque);
    rd_kafka_conf_set_log_cb(rkconf, hm_kafka_log_cb);
    rd_kafka_conf_set_error_cb(rkconf, hm_kafka_error_cb);

    if (rd_kafka_conf_set(rkconf, "log.queue", "true", err, sizeof(err))
        != RD_KAFKA_CONF_OK)
    {
        hm_log_error(HM_LOG_EMERG, cycle->log, 0,
                     "rd_kafka_conf_set(\"log.queue\") failed: %s", err);
        rd_kafka_conf_destroy(rkconf);
        return NULL;
    }

    rk = rd_kafka_new(type, rkconf, err, sizeof(err));

    if (rk == NULL) {
        /* rkconf is still ours when rd_kafka_new() fails */
        rd_kafka_conf_destroy(rkconf);

        hm_log_error(HM_LOG_EMERG, cycle->log, 0,
                     "rd_kafka_new() for the block in %V:%ui failed: %s",
                     &kcf->where.file, kcf->where.line, err);
        return NULL;
    }

    if (rd_kafka_set_log_queue(rk, NULL) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        hm_log_error(HM_LOG_ALERT, cycle->log, 0,
                     "rd_kafka_set_log_queue() failed");
    }

    return rk;
}


/* the opaque of every client starts with its log */

hm_log_t *
hm_kafka_log(const rd_kafka_t *rk)
{
    hm_log_t  **logp;

    logp = rd_kafka_opaque(rk);

    return logp ? *logp : hm_cycle->log;
}


void
hm_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
    hm_uint_t  lvl;

    /* syslog levels, as hermod's */

    lvl = (level <= 2) ? HM_LOG_CRIT
          : (level == 3) ? HM_LOG_ERR
          : (level == 4) ? HM_LOG_WARN
          : (level == 5) ? HM_LOG_NOTICE
          : (level == 6) ? HM_LOG_INFO : HM_LOG_DEBUG;

    if (lvl == HM_LOG_DEBUG) {
        hm_log_debug(hm_kafka_log(rk), "kafka %s %s: %s",
                     rd_kafka_name(rk), fac, buf);
        return;
    }

    hm_log_error(lvl, hm_kafka_log(rk), 0, "kafka %s %s: %s",
                 rd_kafka_name(rk), fac, buf);
}


void
hm_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    hm_uint_t  lvl;

    lvl = (err == RD_KAFKA_RESP_ERR__FATAL) ? HM_LOG_ERR : HM_LOG_WARN;

    hm_log_error(lvl, hm_kafka_log(rk), 0, "kafka %s: %s: %s",
                 rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}


/* -- queues on the event loop ---------------------------------------- */

/*
 * librdkafka writes one byte to the pipe when a queue becomes non-empty
 * (again after each time it was served); the worker's loop sees the read
 * end readable and calls the handler, which drains the pipe and serves
 * the queue.  The connection is idle: a graceful stop calls the handler
 * with c->close set.
 */

hm_int_t
hm_kafka_io_open(hm_kafka_io_t *io, rd_kafka_queue_t *q, hm_log_t *log,
    hm_event_handler_pt handler, void *data)
{
    hm_fd_t           fd[2];
    hm_connection_t  *c;

    if (hm_os_pipe(fd) != HM_OK) {
        hm_log_error(HM_LOG_ALERT, log, hm_errno, hm_os_pipe_n " failed");
        return HM_ERROR;
    }

    c = hm_get_connection(fd[0], log);
    if (c == NULL) {
        (void) hm_close_file(fd[0]);
        (void) hm_close_file(fd[1]);
        return HM_ERROR;
    }

    c->data = data;
    c->idle = 1;
    c->read->handler = handler;
    c->read->log = log;
    c->write->log = log;

    if (hm_add_event(c->read, HM_READ_EVENT, HM_LEVEL_EVENT) != HM_OK) {
        hm_free_connection(c);
        (void) hm_close_file(fd[0]);
        (void) hm_close_file(fd[1]);
        return HM_ERROR;
    }

    io->c = c;
    io->wfd = fd[1];

    return hm_kafka_io_add(io, q);
}


hm_int_t
hm_kafka_io_add(hm_kafka_io_t *io, rd_kafka_queue_t *q)
{
    rd_kafka_queue_io_event_enable(q, io->wfd, "1", 1);

    return HM_OK;
}


void
hm_kafka_io_drain(hm_kafka_io_t *io)
{
    u_char   buf[64];
    ssize_t  n;

    do {
        n = hm_read_fd(io->c->fd, buf, sizeof(buf));
    } while (n == sizeof(buf));
}


void
hm_kafka_io_close(hm_kafka_io_t *io, rd_kafka_queue_t *q)
{
    if (io->c == NULL) {
        return;
    }

    /* librdkafka must not write to a closed (and reused) descriptor */

    rd_kafka_queue_io_event_enable(q, -1, NULL, 0);

    hm_close_connection(io->c);
    io->c = NULL;

    (void) hm_close_file(io->wfd);
    io->wfd = -1;
}

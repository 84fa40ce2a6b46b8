/*
 * Copyright (C) hermod authors
 *
 * The AMQP 0-9-1 module (RabbitMQ): a publisher with confirms
 * ("outbound NAME amqp { }") and a consumer ("inbound NAME amqp { }"),
 * one connection per block and worker.
 *
 *     load_module modules/hm_amqp_module.so;
 *
 *     outbound orders_out amqp {
 *         url              amqp://guest:guest@127.0.0.1:5672/%2F;
 *         exchange_declare orders topic durable;
 *         exchange         orders;
 *         routing_key      $http_x_route;
 *     }
 *
 *     inbound orders_in amqp {
 *         url            amqp://guest:guest@127.0.0.1:5672;
 *         queue_declare  work durable x-dead-letter-exchange=dlx;
 *         queue          work;
 *         pipeline       to_http;
 *     }
 *
 * This file holds what both share: the directive table, the URL, the
 * topology declarations and their setup steps.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_amqp.h>


static void *hm_amqp_core_create_conf(hm_cycle_t *cycle);
static char *hm_amqp_url(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static char *hm_amqp_declare(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static char *hm_amqp_backoff(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static hm_int_t hm_amqp_unescape(hm_pool_t *pool, u_char *p, u_char *last,
    hm_str_t *out);
static hm_int_t hm_amqp_arguments(hm_conf_t *cf, hm_str_t *args,
    hm_uint_t n, amqp_table_t *table);


static hm_conf_enum_t  hm_amqp_on_failure[] = {
    { hm_string("requeue"), HM_AMQP_FAIL_REQUEUE },
    { hm_string("reject"), HM_AMQP_FAIL_REJECT },
    { hm_null_string, 0 }
};


#define HM_AMQP_BOTH  (HM_PIPELINE_OUT_CONF|HM_PIPELINE_IN_CONF)


static hm_command_t  hm_amqp_commands[] = {

    { hm_string("url"),
      HM_AMQP_BOTH|HM_CONF_TAKE1,
      hm_amqp_url,
      0,
      0,
      NULL,
      "The broker: amqp[s]://[USER:PASSWORD@]HOST[:PORT][/VHOST]." },

    { hm_string("heartbeat"),
      HM_AMQP_BOTH|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_amqp_common_conf_t, heartbeat),
      NULL,
      "The heartbeat interval asked for (the broker may lower it); 0: off." },

    { hm_string("connect_timeout"),
      HM_AMQP_BOTH|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_amqp_common_conf_t, connect_timeout),
      NULL,
      "How long connecting, logging in and the setup may take." },

    { hm_string("reconnect_backoff"),
      HM_AMQP_BOTH|HM_CONF_TAKE12,
      hm_amqp_backoff,
      0,
      0,
      NULL,
      "The first and the largest delay before connecting again." },

    { hm_string("exchange_declare"),
      HM_AMQP_BOTH|HM_CONF_2MORE,
      hm_amqp_declare,
      0,
      HM_AMQP_DECLARE_EXCHANGE,
      NULL,
      "Declare an exchange on each connection: NAME TYPE [durable] "
      "[auto_delete] [internal] [passive] [ARG=VALUE...]." },

    { hm_string("queue_declare"),
      HM_AMQP_BOTH|HM_CONF_1MORE,
      hm_amqp_declare,
      0,
      HM_AMQP_DECLARE_QUEUE,
      NULL,
      "Declare a queue on each connection: NAME [durable] [exclusive] "
      "[auto_delete] [passive] [ARG=VALUE...]." },

    { hm_string("queue_bind"),
      HM_AMQP_BOTH|HM_CONF_2MORE,
      hm_amqp_declare,
      0,
      HM_AMQP_DECLARE_BIND,
      NULL,
      "Bind a queue on each connection: QUEUE EXCHANGE [ROUTING_KEY] "
      "[ARG=VALUE...]." },

    { hm_string("ssl_verify"),
      HM_AMQP_BOTH|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_amqp_common_conf_t, ssl_verify),
      NULL,
      "Verify the broker's certificate (amqps)." },

    { hm_string("ssl_trusted_certificate"),
      HM_AMQP_BOTH|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      0,
      offsetof(hm_amqp_common_conf_t, ssl_trusted_certificate),
      NULL,
      "The CA certificates the broker's certificate is verified with." },

    { hm_string("ssl_verify_depth"),
      HM_AMQP_BOTH|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_amqp_common_conf_t, ssl_verify_depth),
      NULL,
      "The depth of the broker's certificate chain." },

    { hm_string("ssl_name"),
      HM_AMQP_BOTH|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      0,
      offsetof(hm_amqp_common_conf_t, ssl_name),
      NULL,
      "The name sent (SNI) and checked in the broker's certificate." },

    { hm_string("exchange"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_complex_value_slot,
      0,
      offsetof(hm_amqp_publisher_conf_t, exchange),
      (void *) HM_VAR_MESSAGE,
      "The exchange a message is published to; may contain variables." },

    { hm_string("routing_key"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_complex_value_slot,
      0,
      offsetof(hm_amqp_publisher_conf_t, routing_key),
      (void *) HM_VAR_MESSAGE,
      "The routing key; may contain variables (default: the message key)." },

    { hm_string("property"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE2,
      hm_amqp_property,
      0,
      0,
      NULL,
      "A message property (content_type, message_id, ...) from a template." },

    { hm_string("persistent"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_amqp_publisher_conf_t, persistent),
      NULL,
      "Publish with delivery mode 2 (persistent)." },

    { hm_string("mandatory"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_amqp_publisher_conf_t, mandatory),
      NULL,
      "A message no queue takes is returned: a failure." },

    { hm_string("headers"),
      HM_PIPELINE_OUT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_amqp_publisher_conf_t, headers),
      NULL,
      "Send the message headers as AMQP headers." },

    { hm_string("max_in_flight"),
      HM_PIPELINE_OUT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_amqp_publisher_conf_t, max_in_flight),
      NULL,
      "Unconfirmed messages per worker; beyond: wait." },

    { hm_string("queue"),
      HM_PIPELINE_IN_CONF|HM_CONF_1MORE,
      hm_amqp_queue,
      0,
      0,
      NULL,
      "The queues consumed." },

    { hm_string("prefetch"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_amqp_consumer_conf_t, prefetch),
      NULL,
      "Unacknowledged deliveries per worker (basic.qos)." },

    { hm_string("on_failure"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      0,
      offsetof(hm_amqp_consumer_conf_t, on_failure),
      &hm_amqp_on_failure,
      "A failed message: requeue (nack) or reject (to the dead-letter "
      "exchange)." },

    { hm_string("requeue_delay"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_amqp_consumer_conf_t, requeue_delay),
      NULL,
      "How long a failed message is held before it is requeued." },

    { hm_string("pipeline"),
      HM_PIPELINE_IN_CONF|HM_CONF_TAKE1,
      hm_pipeline_set_slot,
      0,
      offsetof(hm_amqp_consumer_conf_t, pipeline),
      NULL,
      "The pipeline deliveries are submitted to." },

      hm_null_command
};


static hm_pipeline_outbound_type_t  hm_amqp_outbound_type = {
    hm_string("amqp"),
    hm_amqp_publisher_create_conf,
    hm_amqp_publisher_init_conf,
    hm_amqp_publisher_init_process,
    hm_amqp_publisher_exit_process,
    hm_amqp_publisher_send,
    hm_amqp_publisher_cancel,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_inbound_type_t  hm_amqp_inbound_type = {
    hm_string("amqp"),
    hm_amqp_consumer_create_conf,
    hm_amqp_consumer_init_conf,
    hm_amqp_consumer_init_process,
    hm_amqp_consumer_exit_process,
    { NULL, NULL, NULL, NULL }
};


static hm_pipeline_module_t  hm_amqp_module_ctx = {
    &hm_amqp_outbound_type,
    &hm_amqp_inbound_type,
    { NULL, NULL, NULL }
};


hm_module_t  hm_amqp_module = {
    HM_MODULE_V1,
    &hm_amqp_module_ctx,                   /* module context */
    hm_amqp_commands,                      /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


/* registers the $amqp_* variables when the module is loaded */

static hm_core_module_t  hm_amqp_core_module_ctx = {
    hm_string("amqp"),
    hm_amqp_core_create_conf,
    NULL
};


hm_module_t  hm_amqp_core_module = {
    HM_MODULE_V1,
    &hm_amqp_core_module_ctx,              /* module context */
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
hm_amqp_core_create_conf(hm_cycle_t *cycle)
{
    if (hm_amqp_variables_add(cycle) != HM_OK) {
        return NULL;
    }

    return hm_pcalloc(cycle->pool, sizeof(hm_uint_t));
}


/* -- configuration --------------------------------------------------- */

hm_int_t
hm_amqp_common_init(hm_conf_t *cf, hm_amqp_common_conf_t *acf)
{
    acf->heartbeat = HM_CONF_UNSET_MSEC;
    acf->connect_timeout = HM_CONF_UNSET_MSEC;
    acf->reconnect_min = HM_CONF_UNSET_MSEC;
    acf->reconnect_max = HM_CONF_UNSET_MSEC;
    acf->ssl_verify = HM_CONF_UNSET;
    acf->ssl_verify_depth = HM_CONF_UNSET_UINT;

    hm_conf_location(cf, &acf->where);

    return HM_OK;
}


char *
hm_amqp_common_merge(hm_conf_t *cf, hm_amqp_common_conf_t *acf,
    const char *kind, hm_str_t *name)
{
    hm_pool_cleanup_t  *cln;

    if (acf->url.data == NULL) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &acf->where,
                        "%s \"%V\" has no \"url\"", kind, name);
        return HM_CONF_ERROR;
    }

    hm_conf_init_msec_value(acf->heartbeat, 60000);
    hm_conf_init_msec_value(acf->connect_timeout, 10000);
    hm_conf_init_msec_value(acf->reconnect_min, 100);
    hm_conf_init_msec_value(acf->reconnect_max, 10000);
    hm_conf_init_value(acf->ssl_verify, 0);
    hm_conf_init_uint_value(acf->ssl_verify_depth, 1);

    if (acf->heartbeat > 65535000) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &acf->where,
                        "%s \"%V\": \"heartbeat\" is over 65535s", kind, name);
        return HM_CONF_ERROR;
    }

    if (acf->reconnect_min == 0) {
        acf->reconnect_min = 1;
    }

    if (acf->reconnect_max < acf->reconnect_min) {
        acf->reconnect_max = acf->reconnect_min;
    }

    if (!acf->amqps) {
        if (acf->ssl_verify || acf->ssl_trusted_certificate.len) {
            hm_log_error_at(HM_LOG_EMERG, cf->log, &acf->where,
                            "%s \"%V\": ssl_* directives need an amqps:// "
                            "url", kind, name);
            return HM_CONF_ERROR;
        }

        return HM_CONF_OK;
    }

    if (acf->ssl_name.len == 0) {
        acf->ssl_name = acf->host;
    }

    acf->ssl = hm_pcalloc(cf->pool, sizeof(hm_ssl_t));
    if (acf->ssl == NULL) {
        return HM_CONF_ERROR;
    }

    acf->ssl->log = cf->log;

    if (hm_ssl_create(acf->ssl, HM_SSL_DEFAULT_PROTOCOLS, NULL) != HM_OK) {
        return HM_CONF_ERROR;
    }

    cln = hm_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return HM_CONF_ERROR;
    }

    cln->handler = hm_ssl_cleanup_ctx;
    cln->data = acf->ssl;

    if (acf->ssl_verify && acf->ssl_trusted_certificate.len == 0) {
        hm_log_error_at(HM_LOG_EMERG, cf->log, &acf->where,
                        "no \"ssl_trusted_certificate\" for \"ssl_verify\" "
                        "in %s \"%V\"", kind, name);
        return HM_CONF_ERROR;
    }

    if (acf->ssl_trusted_certificate.len
        && hm_ssl_trusted_certificate(cf, acf->ssl,
                                      &acf->ssl_trusted_certificate,
                                      acf->ssl_verify_depth)
           != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/*
 * "url amqp[s]://[USER[:PASSWORD]@]HOST[:PORT][/VHOST]": user, password
 * and vhost are percent-decoded; no user is guest:guest, no vhost (or
 * "/" alone) is "/", the default vhost; "%2F" is "/" too.  The host is
 * resolved now, as nginx resolves upstream servers.
 */

static char *
hm_amqp_url(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_amqp_common_conf_t  *acf = conf;

    u_char     *p, *last, *host, *at, *colon, *slash;
    size_t      add;
    hm_url_t    u;
    hm_str_t   *value, *url;

    if (acf->url.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    url = &value[1];
    last = url->data + url->len;

    if (url->len > 7 && hm_strncasecmp(url->data, (u_char *) "amqp://", 7)
                        == 0)
    {
        add = 7;

    } else if (url->len > 8
               && hm_strncasecmp(url->data, (u_char *) "amqps://", 8) == 0)
    {
        add = 8;
        acf->amqps = 1;

    } else {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid URL prefix in \"%V\" (amqp:// or "
                          "amqps://)", url);
        return HM_CONF_ERROR;
    }

    host = url->data + add;

    slash = hm_strlchr(host, last, '/');
    if (slash == NULL) {
        slash = last;
    }

    /* the last "@" before the path: a password may contain an "@" */

    at = NULL;

    for (p = host; p < slash; p++) {
        if (*p == '@') {
            at = p;
        }
    }

    if (at) {
        colon = hm_strlchr(host, at, ':');

        if (hm_amqp_unescape(cf->pool, host, colon ? colon : at, &acf->user)
            != HM_OK
            || hm_amqp_unescape(cf->pool, colon ? colon + 1 : at, at,
                                &acf->password)
               != HM_OK)
        {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid escape in the user of \"%V\"", url);
            return HM_CONF_ERROR;
        }

        host = at + 1;

    } else {
        hm_str_set(&acf->user, "guest");
        hm_str_set(&acf->password, "guest");
    }

    if (slash + 1 >= last) {
        hm_str_set(&acf->vhost, "/");

    } else if (hm_amqp_unescape(cf->pool, slash + 1, last, &acf->vhost)
               != HM_OK)
    {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid escape in the vhost of \"%V\"", url);
        return HM_CONF_ERROR;
    }

    if (acf->vhost.len > 255 || acf->user.len > 255) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "too long a vhost or user in \"%V\"", url);
        return HM_CONF_ERROR;
    }

    hm_memzero(&u, sizeof(hm_url_t));

    u.url.data = host;
    u.url.len = slash - host;
    u.default_port = acf->amqps ? 5671 : 5672;

    if (u.url.len == 0) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "no host in \"%V\"", url);
        return HM_CONF_ERROR;
    }

    if (hm_parse_url(cf->pool, &u) != HM_OK) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%s in \"%V\"",
                          u.err ? u.err : "invalid host", url);
        return HM_CONF_ERROR;
    }

    acf->url = *url;
    acf->host = u.host;
    acf->addrs = u.addrs;
    acf->naddrs = u.naddrs;

    return HM_CONF_OK;
}


static hm_int_t
hm_amqp_unescape(hm_pool_t *pool, u_char *p, u_char *last, hm_str_t *out)
{
    u_char    *d;
    hm_int_t   n;

    d = hm_pnalloc(pool, last - p + 1);
    if (d == NULL) {
        return HM_ERROR;
    }

    out->data = d;

    while (p < last) {
        if (*p != '%') {
            *d++ = *p++;
            continue;
        }

        if (last - p < 3) {
            return HM_ERROR;
        }

        n = hm_hextoi(p + 1, 2);
        if (n == HM_ERROR) {
            return HM_ERROR;
        }

        *d++ = (u_char) n;
        p += 3;
    }

    out->len = d - out->data;
    *d = '\0';

    return HM_OK;
}


static char *
hm_amqp_backoff(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_amqp_common_conf_t  *acf = conf;

    hm_str_t   *value;
    hm_msec_t   min, max;

    if (acf->reconnect_min != HM_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    min = (hm_msec_t) hm_parse_time(&value[1], 0);
    max = (cf->args->nelts == 3) ? (hm_msec_t) hm_parse_time(&value[2], 0)
                                 : min;

    if (min == (hm_msec_t) HM_ERROR || max == (hm_msec_t) HM_ERROR) {
        return "has an invalid time";
    }

    if (max < min) {
        return "has a largest delay below the first";
    }

    acf->reconnect_min = min;
    acf->reconnect_max = max;

    return HM_CONF_OK;
}


/* exchange_declare, queue_declare, queue_bind */

static char *
hm_amqp_declare(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_amqp_common_conf_t  *acf = conf;

    hm_str_t           *value;
    hm_uint_t           i, n;
    hm_amqp_declare_t  *d;

    value = cf->args->elts;
    n = cf->args->nelts;

    if (acf->declares == NULL) {
        acf->declares = hm_array_create(cf->pool, 4,
                                        sizeof(hm_amqp_declare_t));
        if (acf->declares == NULL) {
            return HM_CONF_ERROR;
        }
    }

    d = hm_array_push(acf->declares);
    if (d == NULL) {
        return HM_CONF_ERROR;
    }

    hm_memzero(d, sizeof(hm_amqp_declare_t));

    d->kind = cmd->offset;
    hm_conf_location(cf, &d->where);

    d->name = value[1];
    i = 2;

    if (d->name.len > 255) {
        return "has a name longer than 255 bytes";
    }

    switch (d->kind) {

    case HM_AMQP_DECLARE_EXCHANGE:
        d->type = value[2];
        i = 3;

        if (d->name.len == 0) {
            return "may not declare the default exchange \"\"";
        }

        break;

    case HM_AMQP_DECLARE_BIND:
        d->exchange = value[2];
        i = 3;

        if (i < n && hm_strlchr(value[i].data, value[i].data + value[i].len,
                                '=') == NULL)
        {
            d->routing_key = value[i++];
        }

        if (d->exchange.len > 255 || d->routing_key.len > 255) {
            return "has a name longer than 255 bytes";
        }

        break;

    default: /* HM_AMQP_DECLARE_QUEUE */

        if (d->name.len == 0) {
            return "needs a queue name";
        }

        break;
    }

    /* flags, then ARG=VALUE arguments */

    for ( /* void */ ; i < n; i++) {

        if (hm_strlchr(value[i].data, value[i].data + value[i].len, '=')) {
            break;
        }

        if (d->kind == HM_AMQP_DECLARE_BIND) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid queue_bind parameter \"%V\"",
                              &value[i]);
            return HM_CONF_ERROR;
        }

        if (hm_strcmp(value[i].data, "durable") == 0) {
            d->durable = 1;

        } else if (hm_strcmp(value[i].data, "auto_delete") == 0) {
            d->auto_delete = 1;

        } else if (hm_strcmp(value[i].data, "passive") == 0) {
            d->passive = 1;

        } else if (d->kind == HM_AMQP_DECLARE_QUEUE
                   && hm_strcmp(value[i].data, "exclusive") == 0)
        {
            d->exclusive = 1;

        } else if (d->kind == HM_AMQP_DECLARE_EXCHANGE
                   && hm_strcmp(value[i].data, "internal") == 0)
        {
            d->internal = 1;

        } else {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid %V parameter \"%V\"", &value[0],
                              &value[i]);
            return HM_CONF_ERROR;
        }
    }

    if (hm_amqp_arguments(cf, &value[i], n - i, &d->arguments) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/*
 * ARG=VALUE: a number is a signed 64-bit integer (x-message-ttl,
 * x-max-length, ...), true and false are booleans, anything else a
 * string (x-dead-letter-exchange, x-queue-type, ...).
 */

static hm_int_t
hm_amqp_arguments(hm_conf_t *cf, hm_str_t *args, hm_uint_t n,
    amqp_table_t *table)
{
    u_char              *eq, *p, *last;
    hm_uint_t            i;
    hm_int_t             v;
    amqp_table_entry_t  *te;

    table->num_entries = 0;
    table->entries = NULL;

    if (n == 0) {
        return HM_OK;
    }

    te = hm_pcalloc(cf->pool, n * sizeof(amqp_table_entry_t));
    if (te == NULL) {
        return HM_ERROR;
    }

    for (i = 0; i < n; i++) {
        last = args[i].data + args[i].len;
        eq = hm_strlchr(args[i].data, last, '=');

        if (eq == NULL || eq == args[i].data || eq - args[i].data > 255) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid argument \"%V\" (NAME=VALUE)",
                              &args[i]);
            return HM_ERROR;
        }

        te[i].key.bytes = args[i].data;
        te[i].key.len = eq - args[i].data;

        p = eq + 1;

        if (last - p == 4 && hm_strncmp(p, "true", 4) == 0) {
            te[i].value.kind = AMQP_FIELD_KIND_BOOLEAN;
            te[i].value.value.boolean = 1;
            continue;
        }

        if (last - p == 5 && hm_strncmp(p, "false", 5) == 0) {
            te[i].value.kind = AMQP_FIELD_KIND_BOOLEAN;
            te[i].value.value.boolean = 0;
            continue;
        }

        if (p < last && (*p == '-' ? last - p > 1 : 1)) {
            v = hm_atoi(*p == '-' ? p + 1 : p, last - p - (*p == '-'));

            if (v != HM_ERROR) {
                te[i].value.kind = AMQP_FIELD_KIND_I64;
                te[i].value.value.i64 = (*p == '-') ? -v : v;
                continue;
            }
        }

        te[i].value.kind = AMQP_FIELD_KIND_UTF8;
        te[i].value.value.bytes.bytes = p;
        te[i].value.value.bytes.len = last - p;
    }

    table->num_entries = (int) n;
    table->entries = te;

    return HM_OK;
}


/* the declarations as setup steps, with room for extra ones */

hm_amqp_step_t *
hm_amqp_topology_steps(hm_pool_t *pool, hm_amqp_common_conf_t *acf,
    hm_uint_t extra, hm_uint_t *n)
{
    u_char                  *what;
    hm_uint_t                i, nd;
    hm_amqp_step_t          *steps, *st;
    hm_amqp_declare_t       *d;
    amqp_exchange_declare_t *ed;
    amqp_queue_declare_t    *qd;
    amqp_queue_bind_t       *qb;

    nd = acf->declares ? acf->declares->nelts : 0;

    steps = hm_pcalloc(pool, (nd + extra) * sizeof(hm_amqp_step_t) + 1);
    if (steps == NULL) {
        return NULL;
    }

    d = nd ? acf->declares->elts : NULL;

    for (i = 0; i < nd; i++) {
        st = &steps[i];
        st->where = &d[i].where;

        what = hm_pnalloc(pool, sizeof("exchange_declare \"\" \"\"")
                                + 3 * 255 + 1);
        if (what == NULL) {
            return NULL;
        }

        st->what = (const char *) what;

        switch (d[i].kind) {

        case HM_AMQP_DECLARE_EXCHANGE:
            ed = hm_pcalloc(pool, sizeof(amqp_exchange_declare_t));
            if (ed == NULL) {
                return NULL;
            }

            ed->exchange = hm_amqp_bytes(&d[i].name);
            ed->type = hm_amqp_bytes(&d[i].type);
            ed->passive = d[i].passive;
            ed->durable = d[i].durable;
            ed->auto_delete = d[i].auto_delete;
            ed->internal = d[i].internal;
            ed->arguments = d[i].arguments;

            st->id = AMQP_EXCHANGE_DECLARE_METHOD;
            st->args = ed;
            st->reply = AMQP_EXCHANGE_DECLARE_OK_METHOD;

            *hm_sprintf(what, "exchange_declare \"%V\"", &d[i].name) = '\0';
            break;

        case HM_AMQP_DECLARE_QUEUE:
            qd = hm_pcalloc(pool, sizeof(amqp_queue_declare_t));
            if (qd == NULL) {
                return NULL;
            }

            qd->queue = hm_amqp_bytes(&d[i].name);
            qd->passive = d[i].passive;
            qd->durable = d[i].durable;
            qd->exclusive = d[i].exclusive;
            qd->auto_delete = d[i].auto_delete;
            qd->arguments = d[i].arguments;

            st->id = AMQP_QUEUE_DECLARE_METHOD;
            st->args = qd;
            st->reply = AMQP_QUEUE_DECLARE_OK_METHOD;

            *hm_sprintf(what, "queue_declare \"%V\"", &d[i].name) = '\0';
            break;

        default: /* HM_AMQP_DECLARE_BIND */
            qb = hm_pcalloc(pool, sizeof(amqp_queue_bind_t));
            if (qb == NULL) {
                return NULL;
            }

            qb->queue = hm_amqp_bytes(&d[i].name);
            qb->exchange = hm_amqp_bytes(&d[i].exchange);
            qb->routing_key = hm_amqp_bytes(&d[i].routing_key);
            qb->arguments = d[i].arguments;

            st->id = AMQP_QUEUE_BIND_METHOD;
            st->args = qb;
            st->reply = AMQP_QUEUE_BIND_OK_METHOD;

            *hm_sprintf(what, "queue_bind \"%V\" \"%V\" \"%V\"", &d[i].name,
                        &d[i].exchange, &d[i].routing_key) = '\0';
            break;
        }
    }

    *n = nd;

    return steps;
}


/* a header value as text: strings as they are, numbers in decimal */

u_char *
hm_amqp_field_text(hm_pool_t *pool, amqp_field_value_t *v, size_t *len)
{
    u_char   *p, *last;
    int64_t   n;

    switch (v->kind) {

    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
        *len = v->value.bytes.len;
        p = hm_pnalloc(pool, *len + 1);
        if (p == NULL) {
            return NULL;
        }

        hm_memcpy(p, v->value.bytes.bytes, *len);
        return p;

    case AMQP_FIELD_KIND_BOOLEAN:
        if (v->value.boolean) {
            *len = 4;
            return (u_char *) "true";
        }

        *len = 5;
        return (u_char *) "false";

    case AMQP_FIELD_KIND_I8:
        n = v->value.i8;
        break;

    case AMQP_FIELD_KIND_U8:
        n = v->value.u8;
        break;

    case AMQP_FIELD_KIND_I16:
        n = v->value.i16;
        break;

    case AMQP_FIELD_KIND_U16:
        n = v->value.u16;
        break;

    case AMQP_FIELD_KIND_I32:
        n = v->value.i32;
        break;

    case AMQP_FIELD_KIND_U32:
        n = v->value.u32;
        break;

    case AMQP_FIELD_KIND_I64:
        n = v->value.i64;
        break;

    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
        n = (int64_t) v->value.u64;
        break;

    case AMQP_FIELD_KIND_F32:
    case AMQP_FIELD_KIND_F64:
        p = hm_pnalloc(pool, 64);
        if (p == NULL) {
            return NULL;
        }

        last = hm_slprintf(p, p + 64, "%.6f",
                           v->kind == AMQP_FIELD_KIND_F32
                           ? (double) v->value.f32 : v->value.f64);
        *len = last - p;
        return p;

    default:
        /* tables, arrays, decimals, void: not text */
        return NULL;
    }

    p = hm_pnalloc(pool, HM_INT64_LEN);
    if (p == NULL) {
        return NULL;
    }

    *len = hm_sprintf(p, "%L", n) - p;

    return p;
}

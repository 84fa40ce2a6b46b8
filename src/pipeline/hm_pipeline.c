/*
 * Copyright (C) hermod authors
 *
 * The pipeline framework: "pipeline NAME { ... }" and "outbound NAME TYPE
 * { ... }" blocks, the filter chain runner, delivery to outbounds with
 * their wait queues, failure handling (filters' outcome hooks, the
 * dead-letter outbound), settlement towards the inbound, the in-flight
 * limits and the metrics.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_pipeline.h>


#define HM_PIPELINE_DEFAULT_MESSAGES  1024
#define HM_PIPELINE_DEFAULT_BYTES     (64 * 1024 * 1024)


static void *hm_pipeline_create_conf(hm_cycle_t *cycle);
static char *hm_pipeline_init_conf(hm_cycle_t *cycle, void *conf);
static char *hm_pipeline_block(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static char *hm_pipeline_outbound_block(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_pipeline_inbound_block(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static hm_module_t *hm_pipeline_type_module(hm_conf_t *cf, hm_str_t *name,
    hm_uint_t inbound);
static hm_pipeline_t *hm_pipeline_lookup(hm_conf_t *cf, hm_str_t *name);
static hm_pipeline_outbound_t *hm_pipeline_outbound_lookup(hm_conf_t *cf,
    hm_str_t *name);
static hm_int_t hm_pipeline_add_metrics(hm_cycle_t *cycle, hm_pipeline_t *p);
static hm_int_t hm_pipeline_outbound_add_metrics(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob);
static hm_int_t hm_pipeline_init_process(hm_cycle_t *cycle);
static void hm_pipeline_exit_process(hm_cycle_t *cycle);

static void hm_pipeline_run(hm_msg_t *m);
static void hm_pipeline_next(hm_msg_t *m, hm_int_t rc);
static void hm_pipeline_deliver_target(hm_msg_t *m);
static hm_uint_t hm_pipeline_children_outcome(hm_msg_t *m);
static void hm_pipeline_deliver(hm_msg_t *m, hm_pipeline_outbound_t *ob);
static void hm_pipeline_send(hm_msg_t *m);
static void hm_pipeline_failed(hm_msg_t *m, hm_int_t rc);
static void hm_pipeline_to_dead_letter(hm_msg_t *m);
static void hm_pipeline_settle(hm_msg_t *m, hm_uint_t outcome);
static void hm_pipeline_child_settled(hm_msg_t *child);
static void hm_pipeline_try_timeout(hm_event_t *ev);
static void hm_pipeline_ready_handler(hm_event_t *ev);
static void hm_pipeline_wake_handler(hm_event_t *ev);
static void hm_pipeline_log(hm_msg_t *m);

static char *hm_pipeline_output(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_pipeline_log_directive(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_pipeline_limit(hm_conf_t *cf, hm_command_t *cmd, void *conf);


static hm_command_t  hm_pipeline_commands[] = {

    { hm_string("pipeline"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_BLOCK|HM_CONF_TAKE1,
      hm_pipeline_block,
      0,
      0,
      NULL,
      "Declare a pipeline: its filters in order, outputs and limits." },

    { hm_string("outbound"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_BLOCK|HM_CONF_TAKE2,
      hm_pipeline_outbound_block,
      0,
      0,
      NULL,
      "Declare a named outbound endpoint of a type (http, file, ...)." },

    { hm_string("inbound"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_BLOCK|HM_CONF_TAKE2,
      hm_pipeline_inbound_block,
      0,
      0,
      NULL,
      "Declare a named inbound endpoint of a type (kafka, ...)." },

      hm_null_command
};


static hm_core_module_t  hm_pipeline_module_ctx = {
    hm_string("pipeline"),
    hm_pipeline_create_conf,
    hm_pipeline_init_conf
};


hm_module_t  hm_pipeline_module = {
    HM_MODULE_V1,
    &hm_pipeline_module_ctx,               /* module context */
    hm_pipeline_commands,                  /* module directives */
    HM_CORE_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    hm_pipeline_init_process,              /* init process */
    hm_pipeline_exit_process,              /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static hm_command_t  hm_pipeline_core_commands[] = {

    { hm_string("output"),
      HM_PIPELINE_CONF|HM_CONF_TAKE1,
      hm_pipeline_output,
      0,
      offsetof(hm_pipeline_t, output),
      NULL,
      "The outbound a message goes to when no route chose one." },

    { hm_string("dead_letter"),
      HM_PIPELINE_CONF|HM_CONF_TAKE1,
      hm_pipeline_output,
      0,
      offsetof(hm_pipeline_t, dead_letter),
      NULL,
      "The outbound a message goes to when its delivery finally failed." },

    { hm_string("max_in_flight"),
      HM_PIPELINE_CONF|HM_CONF_TAKE1,
      hm_pipeline_limit,
      0,
      offsetof(hm_pipeline_t, max_messages),
      NULL,
      "Messages in flight per worker before inbounds stop taking more." },

    { hm_string("max_bytes_in_flight"),
      HM_PIPELINE_CONF|HM_CONF_TAKE1,
      hm_pipeline_limit,
      0,
      offsetof(hm_pipeline_t, max_bytes),
      NULL,
      "Body bytes in flight per worker before inbounds stop taking more." },

    { hm_string("log"),
      HM_PIPELINE_CONF|HM_CONF_TAKE12,
      hm_pipeline_log_directive,
      0,
      0,
      NULL,
      "Log one line per settled message: FILE [FORMAT], or off." },

      hm_null_command
};


static hm_pipeline_module_t  hm_pipeline_core_module_ctx = {
    NULL,
    NULL,
    { NULL, NULL, NULL }
};


hm_module_t  hm_pipeline_core_module = {
    HM_MODULE_V1,
    &hm_pipeline_core_module_ctx,          /* module context */
    hm_pipeline_core_commands,             /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static hm_str_t  hm_pipeline_default_log_format = hm_string(
    "$time_iso8601 $message_pipeline $message_id $message_outcome "
    "$message_outbound $message_attempts $message_latency "
    "\"$message_error\"");


static hm_cycle_t  *hm_pipeline_cycle;   /* this worker's */


/* -- configuration --------------------------------------------------- */

static void *
hm_pipeline_create_conf(hm_cycle_t *cycle)
{
    hm_pipeline_main_conf_t  *pmcf;

    pmcf = hm_pcalloc(cycle->pool, sizeof(hm_pipeline_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    if (hm_pipeline_variables_add(cycle) != HM_OK) {
        return NULL;
    }

    if (hm_array_init(&pmcf->pipelines, cycle->pool, 4,
                      sizeof(hm_pipeline_t *))
        != HM_OK
        || hm_array_init(&pmcf->outbounds, cycle->pool, 4,
                         sizeof(hm_pipeline_outbound_t *))
           != HM_OK
        || hm_array_init(&pmcf->inbounds, cycle->pool, 4,
                         sizeof(hm_pipeline_inbound_t *))
           != HM_OK)
    {
        return NULL;
    }

    return pmcf;
}


static char *
hm_pipeline_block(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char            *rv;
    void           **confs, ***ctx;
    hm_str_t        *value;
    hm_uint_t        i, n;
    hm_conf_t        pcf;
    hm_pipeline_t   *p;

    value = cf->args->elts;

    p = hm_pipeline_lookup(cf, &value[1]);
    if (p == NULL) {
        return HM_CONF_ERROR;
    }

    if (p->declared) {
        return "is duplicate";
    }

    p->declared = 1;
    hm_conf_location(cf, &p->where);

    /* every pipeline module's directives get the pipeline as their conf */

    n = hm_count_modules(cf->cycle, HM_PIPELINE_MODULE);

    confs = hm_palloc(cf->pool, (n + 1) * sizeof(void *));
    ctx = hm_palloc(cf->pool, sizeof(void **));
    if (confs == NULL || ctx == NULL) {
        return HM_CONF_ERROR;
    }

    for (i = 0; i <= n; i++) {
        confs[i] = p;
    }

    *ctx = confs;

    pcf = *cf;
    cf->ctx = ctx;
    cf->module_type = HM_PIPELINE_MODULE;
    cf->cmd_type = HM_PIPELINE_CONF;
    cf->module = NULL;

    rv = hm_conf_parse(cf, NULL);

    *cf = pcf;

    if (rv != HM_CONF_OK) {
        return rv;
    }

    hm_conf_init_uint_value(p->max_messages, HM_PIPELINE_DEFAULT_MESSAGES);

    if (p->max_bytes == HM_CONF_UNSET_SIZE) {
        p->max_bytes = HM_PIPELINE_DEFAULT_BYTES;
    }

    if (p->log_file && p->log_format == NULL) {
        p->log_format = hm_pcalloc(cf->pool, sizeof(hm_complex_value_t));
        if (p->log_format == NULL) {
            return HM_CONF_ERROR;
        }

        if (hm_complex_value_compile(cf, &hm_pipeline_default_log_format,
                                     HM_VAR_MESSAGE, p->log_format)
            != HM_OK)
        {
            return HM_CONF_ERROR;
        }
    }

    return HM_CONF_OK;
}


static hm_pipeline_t *
hm_pipeline_lookup(hm_conf_t *cf, hm_str_t *name)
{
    hm_uint_t                 i;
    hm_pipeline_t            *p, **pp;
    hm_pipeline_main_conf_t  *pmcf;

    pmcf = hm_pipeline_conf_get_main_conf(cf->cycle);

    pp = pmcf->pipelines.elts;

    for (i = 0; i < pmcf->pipelines.nelts; i++) {
        if (pp[i]->name.len == name->len
            && hm_strncmp(pp[i]->name.data, name->data, name->len) == 0)
        {
            return pp[i];
        }
    }

    p = hm_pcalloc(cf->pool, sizeof(hm_pipeline_t));
    if (p == NULL) {
        return NULL;
    }

    p->name = *name;
    p->max_messages = HM_CONF_UNSET_UINT;
    p->max_bytes = HM_CONF_UNSET_SIZE;

    if (hm_array_init(&p->filters, cf->pool, 4, sizeof(hm_pipeline_filter_t))
        != HM_OK)
    {
        return NULL;
    }

    pp = hm_array_push(&pmcf->pipelines);
    if (pp == NULL) {
        return NULL;
    }

    *pp = p;

    return p;
}


static char *
hm_pipeline_outbound_block(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char                          *rv;
    hm_str_t                      *value;
    hm_pipeline_module_t          *pm;
    hm_pipeline_outbound_t        *ob;
    hm_pipeline_outbound_type_t   *type;

    value = cf->args->elts;

    ob = hm_pipeline_outbound_lookup(cf, &value[1]);
    if (ob == NULL) {
        return HM_CONF_ERROR;
    }

    if (ob->declared) {
        return "is duplicate";
    }

    ob->declared = 1;
    hm_conf_location(cf, &ob->where);

    ob->module = hm_pipeline_type_module(cf, &value[2], 0);
    if (ob->module == NULL) {
        return HM_CONF_ERROR;
    }

    pm = ob->module->ctx;
    type = pm->outbound;

    ob->type = type;

    ob->conf = type->create_conf ? type->create_conf(cf) : NULL;
    if (type->create_conf && ob->conf == NULL) {
        return HM_CONF_ERROR;
    }

    /* the block's configuration is found by the module's ctx_index */

    (void) hm_count_modules(cf->cycle, HM_PIPELINE_MODULE);

    rv = hm_conf_parse_module_block(cf, ob->module, ob->conf,
                                    HM_PIPELINE_OUT_CONF);
    if (rv != HM_CONF_OK) {
        return rv;
    }

    if (type->init_conf) {
        return type->init_conf(cf, ob);
    }

    return HM_CONF_OK;
}


/* the module providing an outbound (or inbound) type of this name */

static hm_module_t *
hm_pipeline_type_module(hm_conf_t *cf, hm_str_t *name, hm_uint_t inbound)
{
    hm_str_t               *tn;
    hm_uint_t               i;
    hm_module_t           **modules;
    hm_pipeline_module_t   *pm;

    modules = cf->cycle->modules;

    for (i = 0; modules[i]; i++) {
        if (modules[i]->type != HM_PIPELINE_MODULE) {
            continue;
        }

        pm = modules[i]->ctx;

        if (inbound) {
            tn = pm->inbound ? &pm->inbound->name : NULL;

        } else {
            tn = pm->outbound ? &pm->outbound->name : NULL;
        }

        if (tn && tn->len == name->len
            && hm_strncmp(tn->data, name->data, name->len) == 0)
        {
            return modules[i];
        }
    }

    hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                      "unknown %s type \"%V\" (is its module loaded?)",
                      inbound ? "inbound" : "outbound", name);

    return NULL;
}


static char *
hm_pipeline_inbound_block(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_pipeline_main_conf_t *pmcf = conf;

    char                         *rv;
    hm_str_t                     *value;
    hm_uint_t                     i;
    hm_pipeline_module_t         *pm;
    hm_pipeline_inbound_t        *ib, **ibp;
    hm_pipeline_inbound_type_t   *type;

    value = cf->args->elts;

    ibp = pmcf->inbounds.elts;

    for (i = 0; i < pmcf->inbounds.nelts; i++) {
        if (ibp[i]->name.len == value[1].len
            && hm_strncmp(ibp[i]->name.data, value[1].data, value[1].len)
               == 0)
        {
            return "is duplicate";
        }
    }

    ib = hm_pcalloc(cf->pool, sizeof(hm_pipeline_inbound_t));
    if (ib == NULL) {
        return HM_CONF_ERROR;
    }

    ib->name = value[1];
    hm_conf_location(cf, &ib->where);

    ib->module = hm_pipeline_type_module(cf, &value[2], 1);
    if (ib->module == NULL) {
        return HM_CONF_ERROR;
    }

    pm = ib->module->ctx;
    type = pm->inbound;
    ib->type = type;

    ib->conf = type->create_conf ? type->create_conf(cf) : NULL;
    if (type->create_conf && ib->conf == NULL) {
        return HM_CONF_ERROR;
    }

    (void) hm_count_modules(cf->cycle, HM_PIPELINE_MODULE);

    rv = hm_conf_parse_module_block(cf, ib->module, ib->conf,
                                    HM_PIPELINE_IN_CONF);
    if (rv != HM_CONF_OK) {
        return rv;
    }

    if (type->init_conf) {
        rv = type->init_conf(cf, ib);
        if (rv != HM_CONF_OK) {
            return rv;
        }
    }

    ibp = hm_array_push(&pmcf->inbounds);
    if (ibp == NULL) {
        return HM_CONF_ERROR;
    }

    *ibp = ib;

    return HM_CONF_OK;
}


static hm_pipeline_outbound_t *
hm_pipeline_outbound_lookup(hm_conf_t *cf, hm_str_t *name)
{
    hm_uint_t                  i;
    hm_pipeline_main_conf_t   *pmcf;
    hm_pipeline_outbound_t    *ob, **obp;

    pmcf = hm_pipeline_conf_get_main_conf(cf->cycle);

    obp = pmcf->outbounds.elts;

    for (i = 0; i < pmcf->outbounds.nelts; i++) {
        if (obp[i]->name.len == name->len
            && hm_strncmp(obp[i]->name.data, name->data, name->len) == 0)
        {
            return obp[i];
        }
    }

    ob = hm_pcalloc(cf->pool, sizeof(hm_pipeline_outbound_t));
    if (ob == NULL) {
        return NULL;
    }

    ob->name = *name;
    hm_queue_init(&ob->waiting);

    obp = hm_array_push(&pmcf->outbounds);
    if (obp == NULL) {
        return NULL;
    }

    *obp = ob;

    return ob;
}


hm_int_t
hm_pipeline_ref(hm_conf_t *cf, hm_str_t *name, hm_pipeline_t **pp)
{
    hm_pipeline_t  *p;

    p = hm_pipeline_lookup(cf, name);
    if (p == NULL) {
        return HM_ERROR;
    }

    if (p->ref_where.line == 0) {
        hm_conf_location(cf, &p->ref_where);
    }

    *pp = p;

    return HM_OK;
}


char *
hm_pipeline_set_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_str_t        *value;
    hm_pipeline_t  **pp;

    pp = (hm_pipeline_t **) (p + cmd->offset);

    if (*pp) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (hm_pipeline_ref(cf, &value[1], pp) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


hm_int_t
hm_pipeline_outbound_ref(hm_conf_t *cf, hm_str_t *name,
    hm_pipeline_outbound_t **obp)
{
    hm_pipeline_outbound_t  *ob;

    ob = hm_pipeline_outbound_lookup(cf, name);
    if (ob == NULL) {
        return HM_ERROR;
    }

    if (ob->ref_where.line == 0) {
        hm_conf_location(cf, &ob->ref_where);
    }

    *obp = ob;

    return HM_OK;
}


hm_int_t
hm_pipeline_add_filter(hm_conf_t *cf, hm_pipeline_t *p, hm_str_t *name,
    hm_pipeline_filter_pt handler, hm_pipeline_outcome_pt outcome,
    void *conf)
{
    hm_pipeline_filter_t  *f;

    f = hm_array_push(&p->filters);
    if (f == NULL) {
        return HM_ERROR;
    }

    hm_memzero(f, sizeof(hm_pipeline_filter_t));

    f->name = *name;
    f->handler = handler;
    f->outcome = outcome;
    f->conf = conf;
    f->index = p->filters.nelts - 1;
    hm_conf_location(cf, &f->where);

    return HM_OK;
}


/* every name refers to a declared block; metrics */

static char *
hm_pipeline_init_conf(hm_cycle_t *cycle, void *conf)
{
    hm_pipeline_main_conf_t *pmcf = conf;

    hm_uint_t                 i;
    hm_pipeline_t           **pp;
    hm_pipeline_outbound_t  **obp;

    obp = pmcf->outbounds.elts;

    for (i = 0; i < pmcf->outbounds.nelts; i++) {
        if (!obp[i]->declared) {
            hm_log_error_at(HM_LOG_EMERG, cycle->log, &obp[i]->ref_where,
                            "unknown outbound \"%V\"", &obp[i]->name);
            return HM_CONF_ERROR;
        }

        if (hm_pipeline_outbound_add_metrics(cycle, obp[i]) != HM_OK) {
            return HM_CONF_ERROR;
        }
    }

    pp = pmcf->pipelines.elts;

    for (i = 0; i < pmcf->pipelines.nelts; i++) {
        if (!pp[i]->declared) {
            hm_log_error_at(HM_LOG_EMERG, cycle->log, &pp[i]->ref_where,
                            "unknown pipeline \"%V\"", &pp[i]->name);
            return HM_CONF_ERROR;
        }

        if (hm_pipeline_add_metrics(cycle, pp[i]) != HM_OK) {
            return HM_CONF_ERROR;
        }
    }

    return HM_CONF_OK;
}


static hm_int_t
hm_pipeline_add_metrics(hm_cycle_t *cycle, hm_pipeline_t *p)
{
    hm_str_t                *labels;
    hm_pipeline_metrics_t   *pm;

    labels = hm_palloc(cycle->pool, sizeof(hm_str_t));
    if (labels == NULL) {
        return HM_ERROR;
    }

    labels->data = hm_pnalloc(cycle->pool,
                              sizeof("pipeline=\"\"") - 1 + p->name.len);
    if (labels->data == NULL) {
        return HM_ERROR;
    }

    labels->len = hm_sprintf(labels->data, "pipeline=\"%V\"", &p->name)
                  - labels->data;

    pm = &p->metrics;

    pm->received = hm_metric_add(cycle, "hermod_pipeline_received_total",
                       "Messages the pipeline took in.", labels,
                       HM_METRIC_COUNTER);
    pm->delivered = hm_metric_add(cycle, "hermod_pipeline_delivered_total",
                       "Messages delivered.", labels, HM_METRIC_COUNTER);
    pm->dead_lettered = hm_metric_add(cycle,
                       "hermod_pipeline_dead_lettered_total",
                       "Messages sent to the dead-letter outbound.", labels,
                       HM_METRIC_COUNTER);
    pm->dropped = hm_metric_add(cycle, "hermod_pipeline_dropped_total",
                       "Messages dropped by a rule.", labels,
                       HM_METRIC_COUNTER);
    pm->failed = hm_metric_add(cycle, "hermod_pipeline_failed_total",
                       "Messages that failed (the inbound was told).",
                       labels, HM_METRIC_COUNTER);
    pm->retried = hm_metric_add(cycle, "hermod_pipeline_retried_total",
                       "Delivery attempts after the first.", labels,
                       HM_METRIC_COUNTER);
    pm->in_flight = hm_metric_add(cycle, "hermod_pipeline_in_flight",
                       "Messages taken in and not yet settled.", labels,
                       HM_METRIC_GAUGE);
    pm->bytes_in_flight = hm_metric_add(cycle,
                       "hermod_pipeline_bytes_in_flight",
                       "Body bytes of the messages in flight.", labels,
                       HM_METRIC_GAUGE);
    pm->latency = hm_metric_add(cycle,
                       "hermod_pipeline_latency_seconds",
                       "From intake to settlement.", labels,
                       HM_METRIC_HISTOGRAM);

    if (pm->received == NULL || pm->delivered == NULL
        || pm->dead_lettered == NULL || pm->dropped == NULL
        || pm->failed == NULL || pm->retried == NULL
        || pm->in_flight == NULL || pm->bytes_in_flight == NULL
        || pm->latency == NULL)
    {
        return HM_ERROR;
    }

    return HM_OK;
}


static hm_int_t
hm_pipeline_outbound_add_metrics(hm_cycle_t *cycle,
    hm_pipeline_outbound_t *ob)
{
    hm_str_t                         *labels;
    hm_pipeline_outbound_metrics_t   *om;

    labels = hm_palloc(cycle->pool, sizeof(hm_str_t));
    if (labels == NULL) {
        return HM_ERROR;
    }

    labels->data = hm_pnalloc(cycle->pool,
                              sizeof("outbound=\"\",type=\"\"") - 1
                              + ob->name.len + ob->type->name.len);
    if (labels->data == NULL) {
        return HM_ERROR;
    }

    labels->len = hm_sprintf(labels->data, "outbound=\"%V\",type=\"%V\"",
                             &ob->name, &ob->type->name)
                  - labels->data;

    om = &ob->metrics;

    om->sent = hm_metric_add(cycle, "hermod_outbound_sent_total",
                   "Delivery attempts.", labels, HM_METRIC_COUNTER);
    om->delivered = hm_metric_add(cycle, "hermod_outbound_delivered_total",
                   "Attempts the endpoint confirmed.", labels,
                   HM_METRIC_COUNTER);
    om->failed = hm_metric_add(cycle, "hermod_outbound_failed_total",
                   "Attempts that failed.", labels, HM_METRIC_COUNTER);
    om->in_flight = hm_metric_add(cycle, "hermod_outbound_in_flight",
                   "Attempts in progress or waiting for room.", labels,
                   HM_METRIC_GAUGE);
    om->latency = hm_metric_add(cycle, "hermod_outbound_latency_seconds",
                   "From the send to the endpoint's answer.", labels,
                   HM_METRIC_HISTOGRAM);

    if (om->sent == NULL || om->delivered == NULL || om->failed == NULL
        || om->in_flight == NULL || om->latency == NULL)
    {
        return HM_ERROR;
    }

    return HM_OK;
}


static char *
hm_pipeline_output(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_str_t                 *value;
    hm_pipeline_outbound_t  **field;

    field = (hm_pipeline_outbound_t **) (p + cmd->offset);

    if (*field != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (hm_pipeline_outbound_ref(cf, &value[1], field) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_pipeline_limit(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_pipeline_t  *p = conf;

    hm_str_t  *value;
    ssize_t    n;

    value = cf->args->elts;

    if (cmd->offset == offsetof(hm_pipeline_t, max_messages)) {
        if (p->max_messages != HM_CONF_UNSET_UINT) {
            return "is duplicate";
        }

        n = hm_atoi(value[1].data, value[1].len);
        if (n <= 0) {
            return "invalid value";
        }

        p->max_messages = n;
        return HM_CONF_OK;
    }

    if (p->max_bytes != HM_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    n = hm_parse_size(&value[1]);
    if (n <= 0) {
        return "invalid value";
    }

    p->max_bytes = n;

    return HM_CONF_OK;
}


static char *
hm_pipeline_log_directive(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_pipeline_t  *p = conf;

    hm_str_t  *value;

    if (p->log_file || p->log_format) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && hm_strcmp(value[1].data, "off") == 0) {
        return HM_CONF_OK;
    }

    p->log_file = hm_conf_open_file(cf->cycle, &value[1]);
    if (p->log_file == NULL) {
        return HM_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        p->log_format = hm_pcalloc(cf->pool, sizeof(hm_complex_value_t));
        if (p->log_format == NULL) {
            return HM_CONF_ERROR;
        }

        if (hm_complex_value_compile(cf, &value[2], HM_VAR_MESSAGE,
                                     p->log_format)
            != HM_OK)
        {
            return HM_CONF_ERROR;
        }
    }

    return HM_CONF_OK;
}


/* -- the worker ------------------------------------------------------ */

static hm_int_t
hm_pipeline_init_process(hm_cycle_t *cycle)
{
    hm_uint_t                  i;
    hm_pipeline_t            **pp;
    hm_pipeline_main_conf_t   *pmcf;
    hm_pipeline_inbound_t    **ibp;
    hm_pipeline_outbound_t   **obp, *ob;

    hm_pipeline_cycle = cycle;

    pmcf = hm_pipeline_conf_get_main_conf(cycle);
    if (pmcf == NULL) {
        return HM_OK;
    }

    pp = pmcf->pipelines.elts;

    for (i = 0; i < pmcf->pipelines.nelts; i++) {
        hm_queue_init(&pp[i]->waiters);
        pp[i]->wake.handler = hm_pipeline_wake_handler;
        pp[i]->wake.data = pp[i];
        pp[i]->wake.log = cycle->log;
    }

    obp = pmcf->outbounds.elts;

    for (i = 0; i < pmcf->outbounds.nelts; i++) {
        ob = obp[i];

        hm_queue_init(&ob->waiting);
        ob->ready.handler = hm_pipeline_ready_handler;
        ob->ready.data = ob;
        ob->ready.log = cycle->log;

        if (ob->type->init_process
            && ob->type->init_process(cycle, ob) != HM_OK)
        {
            return HM_ERROR;
        }
    }

    /* inbounds last: their outbounds are ready to take messages */

    ibp = pmcf->inbounds.elts;

    for (i = 0; i < pmcf->inbounds.nelts; i++) {
        if (ibp[i]->type->init_process
            && ibp[i]->type->init_process(cycle, ibp[i]) != HM_OK)
        {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


static void
hm_pipeline_exit_process(hm_cycle_t *cycle)
{
    hm_uint_t                  i;
    hm_pipeline_main_conf_t   *pmcf;
    hm_pipeline_inbound_t    **ibp;
    hm_pipeline_outbound_t   **obp;

    pmcf = hm_pipeline_conf_get_main_conf(cycle);
    if (pmcf == NULL) {
        return;
    }

    ibp = pmcf->inbounds.elts;

    for (i = 0; i < pmcf->inbounds.nelts; i++) {
        if (ibp[i]->type->exit_process) {
            ibp[i]->type->exit_process(cycle, ibp[i]);
        }
    }

    obp = pmcf->outbounds.elts;

    for (i = 0; i < pmcf->outbounds.nelts; i++) {
        if (obp[i]->ready.posted) {
            hm_delete_posted_event(&obp[i]->ready);
        }

        if (obp[i]->type->exit_process) {
            obp[i]->type->exit_process(cycle, obp[i]);
        }
    }
}


/* -- admission ------------------------------------------------------- */

hm_int_t
hm_pipeline_room(hm_pipeline_t *p, size_t size)
{
    if (p->in_flight >= p->max_messages) {
        return HM_BUSY;
    }

    if (p->in_flight && p->bytes + size > p->max_bytes) {
        return HM_BUSY;
    }

    return HM_OK;
}


void
hm_pipeline_wait(hm_pipeline_t *p, hm_pipeline_waiter_t *w)
{
    if (w->waiting) {
        return;
    }

    w->waiting = 1;
    hm_queue_insert_tail(&p->waiters, &w->queue);
}


void
hm_pipeline_wait_cancel(hm_pipeline_waiter_t *w)
{
    if (w->waiting) {
        w->waiting = 0;
        hm_queue_remove(&w->queue);
    }
}


/* room again: waiters in turn, as long as they take it */

static void
hm_pipeline_wake_handler(hm_event_t *ev)
{
    hm_pipeline_t  *p = ev->data;

    hm_queue_t            *q;
    hm_pipeline_waiter_t  *w;

    /* a waiter that went away without taking a message lets the next in */

    while (!hm_queue_empty(&p->waiters)
           && hm_pipeline_room(p, 0) == HM_OK)
    {
        q = hm_queue_head(&p->waiters);
        w = hm_queue_data(q, hm_pipeline_waiter_t, queue);

        hm_queue_remove(q);
        w->waiting = 0;

        w->handler(w);
    }
}


void
hm_pipeline_unaccount(hm_pipeline_t *p, hm_msg_t *m)
{
    p->in_flight--;
    p->bytes -= m->accounted;

    hm_metric_dec(p->metrics.in_flight);
    hm_metric_add_value(p->metrics.bytes_in_flight,
                        - (int64_t) m->accounted);

    if (!hm_queue_empty(&p->waiters) && !p->wake.posted) {
        hm_post_event(&p->wake, &hm_posted_events);
    }
}


/* -- the chain ------------------------------------------------------- */

void
hm_pipeline_submit(hm_msg_t *m)
{
    hm_pipeline_t  *p = m->pipeline;

    m->accounted = m->body_len;
    p->bytes += m->body_len;
    hm_metric_add_value(p->metrics.bytes_in_flight, (int64_t) m->body_len);
    hm_metric_inc(p->metrics.received);

    if (m->id.len == 0 && hm_msg_make_id(m) != HM_OK) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        hm_pipeline_settle(m, HM_MSG_FAILED);
        return;
    }

    m->step = 0;
    m->first_step = 0;

    hm_pipeline_run(m);
}


void
hm_pipeline_continue(hm_msg_t *m, hm_int_t rc)
{
    hm_pipeline_next(m, rc);
}


void
hm_pipeline_resume(hm_msg_t *m, hm_uint_t step)
{
    m->step = step;
    hm_pipeline_run(m);
}


/* runs the chain from m->step */

static void
hm_pipeline_run(hm_msg_t *m)
{
    hm_pipeline_t         *p = m->pipeline;
    hm_pipeline_filter_t  *f;

    if (m->step >= p->filters.nelts) {
        hm_pipeline_deliver_target(m);
        return;
    }

    f = p->filters.elts;

    hm_pipeline_next(m, f[m->step].handler(m, f[m->step].conf));
}


/* rc is the result of the filter at m->step */

static void
hm_pipeline_next(hm_msg_t *m, hm_int_t rc)
{
    hm_pipeline_t         *p;
    hm_pipeline_filter_t  *f;

    /* the message may be gone: settled by a filter that took it over */

    if (rc == HM_DONE || rc == HM_AGAIN) {
        return;
    }

    p = m->pipeline;
    f = p->filters.elts;

    for ( ;; ) {

        switch (rc) {

        case HM_OK:
            break;

        case HM_AGAIN:
        case HM_DONE:
            return;

        case HM_DECLINED:
            hm_pipeline_settle(m, HM_MSG_DROPPED);
            return;

        case HM_ABORT:
            hm_pipeline_to_dead_letter(m);
            return;

        default:
            if (m->err_class == HM_MSG_ERR_NONE) {
                hm_msg_set_error(m, HM_MSG_ERR_FILTER,
                                 "rejected by the \"%V\" filter",
                                 &f[m->step].name);
            }

            hm_pipeline_settle(m, HM_MSG_FAILED);
            return;
        }

        if (++m->step >= p->filters.nelts) {
            break;
        }

        rc = f[m->step].handler(m, f[m->step].conf);
    }

    hm_pipeline_deliver_target(m);
}


static void
hm_pipeline_deliver_target(hm_msg_t *m)
{
    if (m->target == NULL) {
        m->target = m->pipeline->output;
    }

    if (m->target == NULL) {
        hm_msg_set_error(m, HM_MSG_ERR_FILTER,
                         "no route for the message and no output");
        hm_pipeline_settle(m, HM_MSG_FAILED);
        return;
    }

    hm_pipeline_deliver(m, m->target);
}


/* -- delivery -------------------------------------------------------- */

static void
hm_pipeline_deliver(hm_msg_t *m, hm_pipeline_outbound_t *ob)
{
    if (hm_msg_body_sync(m) != HM_OK) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        hm_pipeline_settle(m, HM_MSG_FAILED);
        return;
    }

    m->outbound = ob;

    if (!m->dead_letter) {
        m->attempts++;
    }

    m->err_class = HM_MSG_ERR_NONE;

    hm_metric_inc(ob->metrics.sent);
    hm_metric_inc(ob->metrics.in_flight);

    if (m->try_timeout && !m->dead_letter) {
        m->timer.handler = hm_pipeline_try_timeout;
        m->timer.data = m;
        m->timer.log = m->log;
        m->timer.cancelable = 1;
        hm_event_add_timer(&m->timer, m->try_timeout);
    }

    if (ob->nwaiting) {
        /* first come, first served */
        m->queued = 1;
        ob->nwaiting++;
        hm_queue_insert_tail(&ob->waiting, &m->queue);
        return;
    }

    hm_pipeline_send(m);
}


static void
hm_pipeline_send(hm_msg_t *m)
{
    hm_int_t                 rc;
    hm_pipeline_outbound_t  *ob = m->outbound;

    m->sending = 1;
    m->send_data = NULL;
    ob->in_flight++;

    rc = ob->type->send(ob, m);

    if (rc == HM_AGAIN) {
        return;
    }

    if (rc == HM_BUSY) {
        m->sending = 0;
        ob->in_flight--;

        m->queued = 1;
        ob->nwaiting++;
        hm_queue_insert_head(&ob->waiting, &m->queue);
        return;
    }

    hm_pipeline_send_done(m, rc);
}


void
hm_pipeline_send_done(hm_msg_t *m, hm_int_t rc)
{
    hm_pipeline_outbound_t  *ob = m->outbound;

    if (!m->sending) {
        hm_log_error(HM_LOG_ALERT, m->log, 0,
                     "outbound \"%V\" reported a message twice", &ob->name);
        return;
    }

    m->sending = 0;
    ob->in_flight--;

    if (m->timer.timer_set) {
        hm_event_del_timer(&m->timer);
    }

    hm_metric_dec(ob->metrics.in_flight);
    hm_metric_observe(ob->metrics.latency, hm_current_msec - m->start);

    if (rc == HM_OK) {
        hm_metric_inc(ob->metrics.delivered);

        hm_pipeline_settle(m, m->dead_letter ? HM_MSG_DEAD_LETTERED
                                             : HM_MSG_DELIVERED);
        return;
    }

    hm_metric_inc(ob->metrics.failed);

    if (m->err_class == HM_MSG_ERR_NONE) {
        hm_msg_set_error(m, HM_MSG_ERR_ERROR, "outbound \"%V\" failed",
                         &ob->name);
    }

    hm_log_error(HM_LOG_INFO, m->log, 0,
                 "message %V: outbound \"%V\" attempt %ui failed: %V",
                 &m->id, &ob->name, m->attempts, &m->error);

    if (m->dead_letter) {
        hm_pipeline_settle(m, HM_MSG_FAILED);
        return;
    }

    hm_pipeline_failed(m, rc == HM_RETRY ? HM_RETRY : HM_ERROR);
}


static void
hm_pipeline_try_timeout(hm_event_t *ev)
{
    hm_msg_t                *m = ev->data;
    hm_pipeline_outbound_t  *ob = m->outbound;

    if (m->queued) {
        m->queued = 0;
        ob->nwaiting--;
        hm_queue_remove(&m->queue);

        hm_metric_dec(ob->metrics.in_flight);
        hm_metric_inc(ob->metrics.failed);

        hm_msg_set_error(m, HM_MSG_ERR_TIMEOUT,
                         "outbound \"%V\" had no room in %Mms", &ob->name,
                         m->try_timeout);
        hm_pipeline_failed(m, HM_RETRY);
        return;
    }

    if (!m->sending) {
        return;
    }

    if (ob->type->cancel) {
        ob->type->cancel(ob, m);
    }

    hm_msg_set_error(m, HM_MSG_ERR_TIMEOUT,
                     "outbound \"%V\" did not answer in %Mms", &ob->name,
                     m->try_timeout);

    hm_pipeline_send_done(m, HM_RETRY);
}


void
hm_pipeline_outbound_ready(hm_pipeline_outbound_t *ob)
{
    if (ob->nwaiting && !ob->ready.posted) {
        hm_post_event(&ob->ready, &hm_posted_events);
    }
}


static void
hm_pipeline_ready_handler(hm_event_t *ev)
{
    hm_pipeline_outbound_t  *ob = ev->data;

    hm_msg_t    *m;
    hm_uint_t    n;
    hm_queue_t  *q;

    while (ob->nwaiting) {
        q = hm_queue_head(&ob->waiting);
        m = hm_queue_data(q, hm_msg_t, queue);

        hm_queue_remove(q);
        ob->nwaiting--;
        m->queued = 0;

        n = ob->nwaiting;

        hm_pipeline_send(m);

        /* m may be settled and gone by now */

        if (ob->nwaiting > n) {
            /* refused again: wait for the next hm_pipeline_outbound_ready() */
            break;
        }
    }
}


/* -- failures -------------------------------------------------------- */

static void
hm_pipeline_failed(hm_msg_t *m, hm_int_t rc)
{
    hm_int_t               r;
    hm_uint_t              i;
    hm_pipeline_t         *p = m->pipeline;
    hm_pipeline_filter_t  *f;

    f = p->filters.elts;

    for (i = p->filters.nelts; i > m->first_step; i--) {
        if (f[i - 1].outcome == NULL) {
            continue;
        }

        r = f[i - 1].outcome(m, f[i - 1].conf, rc);

        if (r == HM_AGAIN) {
            hm_metric_inc(p->metrics.retried);
            return;
        }
    }

    hm_pipeline_to_dead_letter(m);
}


static void
hm_pipeline_to_dead_letter(hm_msg_t *m)
{
    u_char                  *s;
    hm_str_t                 name, value;
    hm_pipeline_t           *p = m->pipeline;
    hm_pipeline_outbound_t  *failed;

    if (p->dead_letter == NULL || m->dead_letter) {
        hm_pipeline_settle(m, HM_MSG_FAILED);
        return;
    }

    failed = m->outbound;

    m->dead_letter = 1;

    hm_str_set(&name, "x-hermod-error");
    if (hm_msg_header_set(m, &name, &m->error) != HM_OK) {
        goto failed;
    }

    s = hm_pnalloc(m->pool, HM_INT_T_LEN);
    if (s == NULL) {
        goto failed;
    }

    value.data = s;
    value.len = hm_sprintf(s, "%ui", m->attempts) - s;

    hm_str_set(&name, "x-hermod-attempts");
    if (hm_msg_header_set(m, &name, &value) != HM_OK) {
        goto failed;
    }

    hm_str_set(&name, "x-hermod-pipeline");
    if (hm_msg_header_set(m, &name, &p->name) != HM_OK) {
        goto failed;
    }

    hm_str_set(&name, "x-hermod-source");
    if (hm_msg_header_set(m, &name, &m->source.name) != HM_OK) {
        goto failed;
    }

    if (failed) {
        hm_str_set(&name, "x-hermod-outbound");
        if (hm_msg_header_set(m, &name, &failed->name) != HM_OK) {
            goto failed;
        }
    }

    hm_pipeline_deliver(m, p->dead_letter);
    return;

failed:

    hm_pipeline_settle(m, HM_MSG_FAILED);
}


/* -- settlement ------------------------------------------------------ */

static void
hm_pipeline_settle(hm_msg_t *m, hm_uint_t outcome)
{
    hm_pipeline_t          *p = m->pipeline;
    hm_pipeline_metrics_t  *pm;

    if (m->settled) {
        hm_log_error(HM_LOG_ALERT, m->log, 0,
                     "message %V settled twice", &m->id);
        return;
    }

    m->settled = 1;
    m->outcome = outcome;

    if (m->timer.timer_set) {
        hm_event_del_timer(&m->timer);
    }

    if (m->parent) {
        hm_pipeline_child_settled(m);
        return;
    }

    pm = &p->metrics;

    switch (outcome) {

    case HM_MSG_DELIVERED:
        hm_metric_inc(pm->delivered);
        break;

    case HM_MSG_DEAD_LETTERED:
        hm_metric_inc(pm->dead_lettered);
        break;

    case HM_MSG_DROPPED:
        hm_metric_inc(pm->dropped);
        break;

    default:
        hm_metric_inc(pm->failed);
        break;
    }

    hm_metric_observe(pm->latency, hm_current_msec - m->start);

    if (p->log_file) {
        hm_pipeline_log(m);
    }

    m->ack(m);
}


hm_int_t
hm_pipeline_fanout(hm_msg_t *m, hm_pipeline_outbound_t **targets,
    hm_uint_t n)
{
    hm_uint_t   i;
    hm_msg_t   *child;

    if (hm_msg_body_sync(m) != HM_OK) {
        return HM_ERROR;
    }

    /* one reference of our own, so that no early child settles us */

    m->children = 1;

    for (i = 0; i < n; i++) {
        child = hm_msg_clone(m);

        if (child == NULL) {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            m->children_outcomes |= 1 << HM_MSG_FAILED;
            break;
        }

        m->children++;

        child->target = targets[i];
        child->step = m->step + 1;
        child->first_step = m->step + 1;

        hm_pipeline_run(child);
    }

    if (--m->children == 0) {
        /* every child settled at once */
        hm_pipeline_settle(m, hm_pipeline_children_outcome(m));
    }

    return HM_DONE;
}


static void
hm_pipeline_child_settled(hm_msg_t *child)
{
    hm_msg_t  *m = child->parent;

    m->children_outcomes |= 1 << child->outcome;

    if (child->outcome == HM_MSG_FAILED && m->err_class == HM_MSG_ERR_NONE) {
        m->err_class = child->err_class;
        m->error = child->error;
    }

    if (m->attempts < child->attempts) {
        m->attempts = child->attempts;
    }

    if (--m->children) {
        return;
    }

    hm_pipeline_settle(m, hm_pipeline_children_outcome(m));
}


static hm_uint_t
hm_pipeline_children_outcome(hm_msg_t *m)
{
    if (m->children_outcomes & (1 << HM_MSG_FAILED)) {
        return HM_MSG_FAILED;
    }

    if (m->children_outcomes & (1 << HM_MSG_DEAD_LETTERED)) {
        return HM_MSG_DEAD_LETTERED;
    }

    if (m->children_outcomes & (1 << HM_MSG_DELIVERED)) {
        return HM_MSG_DELIVERED;
    }

    return HM_MSG_DROPPED;
}


static void
hm_pipeline_log(hm_msg_t *m)
{
    u_char         *buf;
    hm_str_t        line;
    hm_pipeline_t  *p = m->pipeline;

    if (hm_complex_value(m, m->pool, p->log_format, &line) != HM_OK) {
        return;
    }

    /* one write() per line: lines of several workers never mix */

    buf = hm_pnalloc(m->pool, line.len + 1);
    if (buf == NULL) {
        return;
    }

    *hm_cpymem(buf, line.data, line.len) = LF;

    (void) hm_write_fd(p->log_file->fd, buf, line.len + 1);
}

/*
 * Copyright (C) hermod authors
 *
 * The metrics registry: counters and gauges shared by all workers of a
 * configuration generation (one shared memory block, atomic updates),
 * served in the Prometheus text format by the status handler.  Modules
 * register metrics while the configuration is read; the values exist
 * once the cycle is complete (hm_metrics_init_cycle), before workers are
 * forked.  A reload starts a new generation with fresh values.
 */

#ifndef _HM_METRICS_H_INCLUDED_
#define _HM_METRICS_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_METRIC_COUNTER  0
#define HM_METRIC_GAUGE    1
#define HM_METRIC_HISTOGRAM  2     /* of milliseconds, shown in seconds */

/* the upper bounds of the histogram buckets, in ms; +Inf is implicit */
#define HM_METRIC_BUCKETS  { 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500,   \
                             5000, 10000, 30000 }
#define HM_METRIC_NBUCKETS  13


typedef struct {
    hm_str_t             name;       /* "hermod_http_requests_total" */
    hm_str_t             help;
    hm_str_t             labels;     /* "upstream=\"b\",server=\"a:1\"" */
    hm_uint_t            type;
    hm_uint_t            index;      /* slot in the shared block; for a
                                        histogram the first of its buckets
                                        (+Inf included), then sum, count */
    hm_uint_t            scale;      /* printed value / scale (ms -> s) */
    volatile int64_t    *value;      /* NULL until the cycle is complete */
} hm_metric_t;


hm_metric_t *hm_metric_add(hm_cycle_t *cycle, char *name, char *help,
    hm_str_t *labels, hm_uint_t type);
hm_int_t hm_metrics_init_cycle(hm_cycle_t *cycle);
size_t hm_metrics_render_size(hm_cycle_t *cycle);
u_char *hm_metrics_render(hm_cycle_t *cycle, u_char *p, u_char *last);


static inline void
hm_metric_add_value(hm_metric_t *m, int64_t n)
{
    if (m && m->value) {
        (void) __atomic_fetch_add(m->value, n, __ATOMIC_RELAXED);
    }
}

/* a histogram sample, in milliseconds */
void hm_metric_observe(hm_metric_t *m, hm_msec_t ms);

#define hm_metric_inc(m)  hm_metric_add_value(m, 1)
#define hm_metric_dec(m)  hm_metric_add_value(m, -1)


#endif /* _HM_METRICS_H_INCLUDED_ */

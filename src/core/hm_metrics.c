/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


typedef struct {
    hm_array_t           metrics;    /* hm_metric_t * */
    int64_t             *shm;
    size_t               size;
    hm_uint_t            nslots;
} hm_metrics_t;


static hm_msec_t  hm_metric_buckets[HM_METRIC_NBUCKETS] = HM_METRIC_BUCKETS;


static u_char *hm_metrics_render_histogram(hm_metric_t *m, u_char *p,
    u_char *last);


static void hm_metrics_cleanup(void *data);


static hm_metrics_t *
hm_metrics_registry(hm_cycle_t *cycle)
{
    hm_metrics_t  *reg;

    if (cycle->metrics) {
        return cycle->metrics;
    }

    reg = hm_pcalloc(cycle->pool, sizeof(hm_metrics_t));
    if (reg == NULL) {
        return NULL;
    }

    if (hm_array_init(&reg->metrics, cycle->pool, 32, sizeof(hm_metric_t *))
        != HM_OK)
    {
        return NULL;
    }

    cycle->metrics = reg;

    return reg;
}


hm_metric_t *
hm_metric_add(hm_cycle_t *cycle, char *name, char *help, hm_str_t *labels,
    hm_uint_t type)
{
    hm_metric_t   *m, **mp;
    hm_metrics_t  *reg;

    reg = hm_metrics_registry(cycle);
    if (reg == NULL) {
        return NULL;
    }

    m = hm_pcalloc(cycle->pool, sizeof(hm_metric_t));
    if (m == NULL) {
        return NULL;
    }

    m->name.data = (u_char *) name;
    m->name.len = hm_strlen(name);
    m->help.data = (u_char *) help;
    m->help.len = hm_strlen(help);
    m->type = type;
    m->scale = 1;
    m->index = reg->nslots;

    reg->nslots += (type == HM_METRIC_HISTOGRAM) ? HM_METRIC_NBUCKETS + 3 : 1;

    if (labels) {
        m->labels = *labels;
    }

    mp = hm_array_push(&reg->metrics);
    if (mp == NULL) {
        return NULL;
    }

    *mp = m;

    return m;
}


/* one shared anonymous mapping: inherited by the workers at fork */

hm_int_t
hm_metrics_init_cycle(hm_cycle_t *cycle)
{
    void                *p;
    hm_uint_t            i;
    hm_metric_t        **m;
    hm_metrics_t        *reg;
    hm_pool_cleanup_t   *cln;

    reg = cycle->metrics;

    if (reg == NULL || reg->metrics.nelts == 0) {
        return HM_OK;
    }

    reg->size = hm_align(reg->nslots * sizeof(int64_t), hm_pagesize);

    p = mmap(NULL, reg->size, PROT_READ|PROT_WRITE, MAP_ANON|MAP_SHARED,
             -1, 0);

    if (p == MAP_FAILED) {
        hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                     "mmap(MAP_ANON|MAP_SHARED, %uz) failed", reg->size);
        return HM_ERROR;
    }

    cln = hm_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        munmap(p, reg->size);
        return HM_ERROR;
    }

    cln->handler = hm_metrics_cleanup;
    cln->data = reg;

    reg->shm = p;

    m = reg->metrics.elts;

    for (i = 0; i < reg->metrics.nelts; i++) {
        m[i]->value = &reg->shm[m[i]->index];
    }

    return HM_OK;
}


static void
hm_metrics_cleanup(void *data)
{
    hm_metrics_t  *reg = data;

    if (reg->shm) {
        (void) munmap(reg->shm, reg->size);
        reg->shm = NULL;
    }
}


size_t
hm_metrics_render_size(hm_cycle_t *cycle)
{
    size_t         len;
    hm_uint_t      i;
    hm_metric_t  **m;
    hm_metrics_t  *reg;

    reg = cycle->metrics;

    if (reg == NULL) {
        return 0;
    }

    len = 0;
    m = reg->metrics.elts;

    for (i = 0; i < reg->metrics.nelts; i++) {
        len += sizeof("# HELP  \n# TYPE  histogram\n") - 1
               + 2 * m[i]->name.len + m[i]->help.len
               + m[i]->name.len + m[i]->labels.len + sizeof("{} \n") - 1
               + HM_INT64_LEN + 8;

        if (m[i]->type == HM_METRIC_HISTOGRAM) {
            len += (HM_METRIC_NBUCKETS + 3)
                   * (m[i]->name.len + m[i]->labels.len
                      + sizeof("_bucket{,le=\"+Inf\"} \n") + 16
                      + HM_INT64_LEN);
        }
    }

    return len;
}


/*
 * The Prometheus text format; HELP and TYPE once per name (metrics of one
 * name are registered next to each other).
 */

u_char *
hm_metrics_render(hm_cycle_t *cycle, u_char *p, u_char *last)
{
    int64_t        v;
    hm_uint_t      i, j, k, seen;
    hm_metric_t  **m;
    hm_metrics_t  *reg;

    reg = cycle->metrics;

    if (reg == NULL) {
        return p;
    }

    m = reg->metrics.elts;

    /* one family (HELP, TYPE, samples) per name, in first-seen order */

    for (i = 0; i < reg->metrics.nelts; i++) {

        seen = 0;

        for (k = 0; k < i; k++) {
            if (m[k]->name.len == m[i]->name.len
                && hm_memcmp(m[k]->name.data, m[i]->name.data,
                             m[i]->name.len) == 0)
            {
                seen = 1;
                break;
            }
        }

        if (seen) {
            continue;
        }

        p = hm_slprintf(p, last, "# HELP %V %V\n# TYPE %V %s\n",
                        &m[i]->name, &m[i]->help, &m[i]->name,
                        m[i]->type == HM_METRIC_GAUGE ? "gauge"
                        : m[i]->type == HM_METRIC_HISTOGRAM ? "histogram"
                        : "counter");

        for (j = i; j < reg->metrics.nelts; j++) {

            if (m[j]->name.len != m[i]->name.len
                || hm_memcmp(m[j]->name.data, m[i]->name.data,
                             m[i]->name.len) != 0)
            {
                continue;
            }

            if (m[j]->type == HM_METRIC_HISTOGRAM) {
                p = hm_metrics_render_histogram(m[j], p, last);
                continue;
            }

            v = m[j]->value ? __atomic_load_n(m[j]->value, __ATOMIC_RELAXED)
                            : 0;

            p = hm_slprintf(p, last, "%V", &m[j]->name);

            if (m[j]->labels.len) {
                p = hm_slprintf(p, last, "{%V}", &m[j]->labels);
            }

            if (m[j]->scale > 1) {
                p = hm_slprintf(p, last, " %L.%03L\n",
                                v / (int64_t) m[j]->scale,
                                (v % (int64_t) m[j]->scale) * 1000
                                / (int64_t) m[j]->scale);

            } else {
                p = hm_slprintf(p, last, " %L\n", v);
            }
        }
    }

    return p;
}


void
hm_metric_observe(hm_metric_t *m, hm_msec_t ms)
{
    hm_uint_t  i;

    if (m == NULL || m->value == NULL) {
        return;
    }

    for (i = 0; i < HM_METRIC_NBUCKETS; i++) {
        if (ms <= hm_metric_buckets[i]) {
            break;
        }
    }

    /* buckets are kept apart and summed when shown */

    (void) __atomic_fetch_add(&m->value[i], 1, __ATOMIC_RELAXED);
    (void) __atomic_fetch_add(&m->value[HM_METRIC_NBUCKETS + 1],
                              (int64_t) ms, __ATOMIC_RELAXED);
    (void) __atomic_fetch_add(&m->value[HM_METRIC_NBUCKETS + 2], 1,
                              __ATOMIC_RELAXED);
}


static u_char *
hm_metrics_render_histogram(hm_metric_t *m, u_char *p, u_char *last)
{
    int64_t     v, sum;
    hm_uint_t   i;
    hm_str_t    sep;

    sep.len = m->labels.len ? 1 : 0;
    sep.data = (u_char *) ",";

    sum = 0;

    for (i = 0; i <= HM_METRIC_NBUCKETS; i++) {
        v = m->value ? __atomic_load_n(&m->value[i], __ATOMIC_RELAXED) : 0;
        sum += v;

        if (i < HM_METRIC_NBUCKETS) {
            p = hm_slprintf(p, last, "%V_bucket{%V%Vle=\"%M.%03M\"} %L\n",
                            &m->name, &m->labels, &sep,
                            hm_metric_buckets[i] / 1000,
                            hm_metric_buckets[i] % 1000, sum);
        } else {
            p = hm_slprintf(p, last, "%V_bucket{%V%Vle=\"+Inf\"} %L\n",
                            &m->name, &m->labels, &sep, sum);
        }
    }

    v = m->value ? __atomic_load_n(&m->value[HM_METRIC_NBUCKETS + 1],
                                   __ATOMIC_RELAXED)
                 : 0;

    p = hm_slprintf(p, last, "%V_sum%s%V%s %L.%03L\n", &m->name,
                    m->labels.len ? "{" : "", &m->labels,
                    m->labels.len ? "}" : "", v / 1000, v % 1000);

    v = m->value ? __atomic_load_n(&m->value[HM_METRIC_NBUCKETS + 2],
                                   __ATOMIC_RELAXED)
                 : 0;

    return hm_slprintf(p, last, "%V_count%s%V%s %L\n", &m->name,
                       m->labels.len ? "{" : "", &m->labels,
                       m->labels.len ? "}" : "", v);
}

/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static void *hm_palloc_small(hm_pool_t *pool, size_t size, hm_uint_t align);
static void *hm_palloc_block(hm_pool_t *pool, size_t size);
static void *hm_palloc_large(hm_pool_t *pool, size_t size);


void *
hm_alloc(size_t size, hm_log_t *log)
{
    void  *p;

    p = malloc(size);
    if (p == NULL) {
        hm_log_error(HM_LOG_EMERG, log, hm_errno,
                     "malloc(%uz) failed", size);
    }

    return p;
}


void *
hm_calloc(size_t size, hm_log_t *log)
{
    void  *p;

    p = hm_alloc(size, log);

    if (p) {
        hm_memzero(p, size);
    }

    return p;
}


hm_pool_t *
hm_create_pool(size_t size, hm_log_t *log)
{
    hm_pool_t  *p;

    if (posix_memalign((void **) &p, HM_POOL_ALIGNMENT, size) != 0) {
        hm_log_error(HM_LOG_EMERG, log, hm_errno,
                     "posix_memalign(%uz) failed", size);
        return NULL;
    }

    p->d.last = (u_char *) p + sizeof(hm_pool_t);
    p->d.end = (u_char *) p + size;
    p->d.next = NULL;
    p->d.failed = 0;

    size = size - sizeof(hm_pool_t);
    p->max = (size < HM_MAX_ALLOC_FROM_POOL) ? size : HM_MAX_ALLOC_FROM_POOL;

    p->current = p;
    p->large = NULL;
    p->cleanup = NULL;
    p->log = log;

    return p;
}


void
hm_destroy_pool(hm_pool_t *pool)
{
    hm_pool_t          *p, *n;
    hm_pool_large_t    *l;
    hm_pool_cleanup_t  *c;

    for (c = pool->cleanup; c; c = c->next) {
        if (c->handler) {
            c->handler(c->data);
        }
    }

    for (l = pool->large; l; l = l->next) {
        if (l->alloc) {
            hm_free(l->alloc);
        }
    }

    for (p = pool, n = pool->d.next; /* void */; p = n, n = n->d.next) {
        hm_free(p);

        if (n == NULL) {
            break;
        }
    }
}


void
hm_reset_pool(hm_pool_t *pool)
{
    hm_pool_t        *p;
    hm_pool_large_t  *l;

    for (l = pool->large; l; l = l->next) {
        if (l->alloc) {
            hm_free(l->alloc);
        }
    }

    for (p = pool; p; p = p->d.next) {
        p->d.last = (u_char *) p + sizeof(hm_pool_t);
        p->d.failed = 0;
    }

    pool->current = pool;
    pool->large = NULL;
}


void *
hm_palloc(hm_pool_t *pool, size_t size)
{
    if (size <= pool->max) {
        return hm_palloc_small(pool, size, 1);
    }

    return hm_palloc_large(pool, size);
}


void *
hm_pnalloc(hm_pool_t *pool, size_t size)
{
    if (size <= pool->max) {
        return hm_palloc_small(pool, size, 0);
    }

    return hm_palloc_large(pool, size);
}


void *
hm_pcalloc(hm_pool_t *pool, size_t size)
{
    void  *p;

    p = hm_palloc(pool, size);
    if (p) {
        hm_memzero(p, size);
    }

    return p;
}


static void *
hm_palloc_small(hm_pool_t *pool, size_t size, hm_uint_t align)
{
    u_char     *m;
    hm_pool_t  *p;

    p = pool->current;

    do {
        m = p->d.last;

        if (align) {
            m = hm_align_ptr(m, HM_ALIGNMENT);
        }

        if ((size_t) (p->d.end - m) >= size) {
            p->d.last = m + size;

            return m;
        }

        p = p->d.next;

    } while (p);

    return hm_palloc_block(pool, size);
}


static void *
hm_palloc_block(hm_pool_t *pool, size_t size)
{
    u_char     *m;
    size_t      psize;
    hm_pool_t  *p, *new;

    psize = (size_t) (pool->d.end - (u_char *) pool);

    if (posix_memalign((void **) &m, HM_POOL_ALIGNMENT, psize) != 0) {
        hm_log_error(HM_LOG_EMERG, pool->log, hm_errno,
                     "posix_memalign(%uz) failed", psize);
        return NULL;
    }

    new = (hm_pool_t *) m;

    new->d.end = m + psize;
    new->d.next = NULL;
    new->d.failed = 0;

    m += sizeof(hm_pool_data_t);
    m = hm_align_ptr(m, HM_ALIGNMENT);
    new->d.last = m + size;

    for (p = pool->current; p->d.next; p = p->d.next) {
        if (p->d.failed++ > 4) {
            pool->current = p->d.next;
        }
    }

    p->d.next = new;

    return m;
}


static void *
hm_palloc_large(hm_pool_t *pool, size_t size)
{
    void             *p;
    hm_uint_t         n;
    hm_pool_large_t  *large;

    p = hm_alloc(size, pool->log);
    if (p == NULL) {
        return NULL;
    }

    n = 0;

    for (large = pool->large; large; large = large->next) {
        if (large->alloc == NULL) {
            large->alloc = p;
            return p;
        }

        if (n++ > 3) {
            break;
        }
    }

    large = hm_palloc_small(pool, sizeof(hm_pool_large_t), 1);
    if (large == NULL) {
        hm_free(p);
        return NULL;
    }

    large->alloc = p;
    large->next = pool->large;
    pool->large = large;

    return p;
}


hm_int_t
hm_pfree(hm_pool_t *pool, void *p)
{
    hm_pool_large_t  *l;

    for (l = pool->large; l; l = l->next) {
        if (p == l->alloc) {
            hm_free(l->alloc);
            l->alloc = NULL;

            return HM_OK;
        }
    }

    return HM_DECLINED;
}


hm_pool_cleanup_t *
hm_pool_cleanup_add(hm_pool_t *p, size_t size)
{
    hm_pool_cleanup_t  *c;

    c = hm_palloc(p, sizeof(hm_pool_cleanup_t));
    if (c == NULL) {
        return NULL;
    }

    if (size) {
        c->data = hm_palloc(p, size);
        if (c->data == NULL) {
            return NULL;
        }

    } else {
        c->data = NULL;
    }

    c->handler = NULL;
    c->next = p->cleanup;

    p->cleanup = c;

    return c;
}


void
hm_pool_cleanup_file(void *data)
{
    hm_pool_cleanup_file_t  *c = data;

    if (close(c->fd) == -1) {
        hm_log_error(HM_LOG_ALERT, c->log, hm_errno,
                     "close() \"%s\" failed", c->name);
    }
}

/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_array_t *
hm_array_create(hm_pool_t *p, hm_uint_t n, size_t size)
{
    hm_array_t  *a;

    a = hm_palloc(p, sizeof(hm_array_t));
    if (a == NULL) {
        return NULL;
    }

    if (hm_array_init(a, p, n, size) != HM_OK) {
        return NULL;
    }

    return a;
}


static hm_int_t
hm_array_grow(hm_array_t *a, hm_uint_t n)
{
    void       *new;
    size_t      size;
    hm_uint_t   nalloc;

    nalloc = 2 * ((n >= a->nalloc) ? n : a->nalloc);
    size = a->size * nalloc;

    new = hm_palloc(a->pool, size);
    if (new == NULL) {
        return HM_ERROR;
    }

    hm_memcpy(new, a->elts, a->nelts * a->size);
    a->elts = new;
    a->nalloc = nalloc;

    return HM_OK;
}


void *
hm_array_push(hm_array_t *a)
{
    return hm_array_push_n(a, 1);
}


void *
hm_array_push_n(hm_array_t *a, hm_uint_t n)
{
    void  *elt;

    if (a->nelts + n > a->nalloc) {
        if (hm_array_grow(a, a->nelts + n) != HM_OK) {
            return NULL;
        }
    }

    elt = (u_char *) a->elts + a->size * a->nelts;
    a->nelts += n;

    return elt;
}

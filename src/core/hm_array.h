/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_ARRAY_H_INCLUDED_
#define _HM_ARRAY_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef struct {
    void        *elts;
    hm_uint_t    nelts;
    size_t       size;
    hm_uint_t    nalloc;
    hm_pool_t   *pool;
} hm_array_t;


hm_array_t *hm_array_create(hm_pool_t *p, hm_uint_t n, size_t size);
void *hm_array_push(hm_array_t *a);
void *hm_array_push_n(hm_array_t *a, hm_uint_t n);


static inline hm_int_t
hm_array_init(hm_array_t *array, hm_pool_t *pool, hm_uint_t n, size_t size)
{
    array->nelts = 0;
    array->size = size;
    array->nalloc = n;
    array->pool = pool;

    array->elts = hm_palloc(pool, n * size);
    if (array->elts == NULL) {
        return HM_ERROR;
    }

    return HM_OK;
}


#endif /* _HM_ARRAY_H_INCLUDED_ */

/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_list_t *
hm_list_create(hm_pool_t *pool, hm_uint_t n, size_t size)
{
    hm_list_t  *list;

    list = hm_palloc(pool, sizeof(hm_list_t));
    if (list == NULL) {
        return NULL;
    }

    if (hm_list_init(list, pool, n, size) != HM_OK) {
        return NULL;
    }

    return list;
}


hm_int_t
hm_list_init(hm_list_t *list, hm_pool_t *pool, hm_uint_t n, size_t size)
{
    list->part.elts = hm_palloc(pool, n * size);
    if (list->part.elts == NULL) {
        return HM_ERROR;
    }

    list->part.nelts = 0;
    list->part.next = NULL;
    list->last = &list->part;
    list->size = size;
    list->nalloc = n;
    list->pool = pool;

    return HM_OK;
}


void *
hm_list_push(hm_list_t *l)
{
    void            *elt;
    hm_list_part_t  *last;

    last = l->last;

    if (last->nelts == l->nalloc) {

        last = hm_palloc(l->pool, sizeof(hm_list_part_t));
        if (last == NULL) {
            return NULL;
        }

        last->elts = hm_palloc(l->pool, l->nalloc * l->size);
        if (last->elts == NULL) {
            return NULL;
        }

        last->nelts = 0;
        last->next = NULL;

        l->last->next = last;
        l->last = last;
    }

    elt = (char *) last->elts + l->size * last->nelts;
    last->nelts++;

    return elt;
}

/*
 * Copyright (C) hermod authors
 *
 * A list of fixed-size parts: pointers to elements stay valid while the
 * list grows.
 */

#ifndef _HM_LIST_H_INCLUDED_
#define _HM_LIST_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef struct hm_list_part_s  hm_list_part_t;

struct hm_list_part_s {
    void            *elts;
    hm_uint_t        nelts;
    hm_list_part_t  *next;
};


typedef struct {
    hm_list_part_t  *last;
    hm_list_part_t   part;
    size_t           size;
    hm_uint_t        nalloc;
    hm_pool_t       *pool;
} hm_list_t;


hm_list_t *hm_list_create(hm_pool_t *pool, hm_uint_t n, size_t size);
hm_int_t hm_list_init(hm_list_t *list, hm_pool_t *pool, hm_uint_t n,
    size_t size);
void *hm_list_push(hm_list_t *list);


#endif /* _HM_LIST_H_INCLUDED_ */

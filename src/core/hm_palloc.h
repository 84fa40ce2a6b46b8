/*
 * Copyright (C) hermod authors
 *
 * Memory pools: one per configuration generation, connection and message.
 * Small allocations are carved from blocks, large ones are tracked and
 * freed with the pool; cleanup handlers run when the pool is destroyed.
 */

#ifndef _HM_PALLOC_H_INCLUDED_
#define _HM_PALLOC_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_MAX_ALLOC_FROM_POOL  4095
#define HM_DEFAULT_POOL_SIZE    (16 * 1024)
#define HM_POOL_ALIGNMENT       16


typedef void (*hm_pool_cleanup_pt)(void *data);

typedef struct hm_pool_cleanup_s  hm_pool_cleanup_t;

struct hm_pool_cleanup_s {
    hm_pool_cleanup_pt   handler;
    void                *data;
    hm_pool_cleanup_t   *next;
};


typedef struct hm_pool_large_s  hm_pool_large_t;

struct hm_pool_large_s {
    hm_pool_large_t     *next;
    void                *alloc;
};


typedef struct {
    u_char              *last;
    u_char              *end;
    hm_pool_t           *next;
    hm_uint_t            failed;
} hm_pool_data_t;


struct hm_pool_s {
    hm_pool_data_t       d;
    size_t               max;
    hm_pool_t           *current;
    hm_pool_large_t     *large;
    hm_pool_cleanup_t   *cleanup;
    hm_log_t            *log;
};


typedef struct {
    int                  fd;
    u_char              *name;
    hm_log_t            *log;
} hm_pool_cleanup_file_t;


void *hm_alloc(size_t size, hm_log_t *log);
void *hm_calloc(size_t size, hm_log_t *log);
#define hm_free          free

hm_pool_t *hm_create_pool(size_t size, hm_log_t *log);
void hm_destroy_pool(hm_pool_t *pool);
void hm_reset_pool(hm_pool_t *pool);

void *hm_palloc(hm_pool_t *pool, size_t size);
void *hm_pnalloc(hm_pool_t *pool, size_t size);
void *hm_pcalloc(hm_pool_t *pool, size_t size);
hm_int_t hm_pfree(hm_pool_t *pool, void *p);

hm_pool_cleanup_t *hm_pool_cleanup_add(hm_pool_t *p, size_t size);
void hm_pool_cleanup_file(void *data);


#endif /* _HM_PALLOC_H_INCLUDED_ */

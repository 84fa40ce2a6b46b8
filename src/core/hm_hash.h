/*
 * Copyright (C) hermod authors
 *
 * A string-keyed hash with chained buckets, allocated from a pool.  Keys
 * may be folded to lower case (header names, variable names).
 */

#ifndef _HM_HASH_H_INCLUDED_
#define _HM_HASH_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef struct hm_hash_elt_s  hm_hash_elt_t;

struct hm_hash_elt_s {
    hm_hash_elt_t  *next;
    hm_uint_t       key_hash;
    hm_str_t        key;
    void           *value;
};


typedef struct {
    hm_hash_elt_t **buckets;
    hm_uint_t       nbuckets;     /* a power of two */
    hm_uint_t       nelts;
    hm_pool_t      *pool;
    unsigned        lowcase:1;
} hm_hash_t;


/* an element of a header list: name, value, lowercased name, hash */

typedef struct hm_table_elt_s  hm_table_elt_t;

struct hm_table_elt_s {
    hm_uint_t       hash;      /* 0: deleted */
    hm_str_t        key;
    hm_str_t        value;
    u_char         *lowcase_key;
    hm_table_elt_t *next;      /* the next header of the same name */
};


#define hm_hash(key, c)  ((hm_uint_t) key * 31 + c)

hm_uint_t hm_hash_key(u_char *data, size_t len);
hm_uint_t hm_hash_key_lc(u_char *data, size_t len);

hm_int_t hm_hash_init(hm_hash_t *hash, hm_pool_t *pool, hm_uint_t n,
    hm_uint_t lowcase);
hm_int_t hm_hash_add(hm_hash_t *hash, hm_str_t *key, void *value);
void *hm_hash_find(hm_hash_t *hash, u_char *name, size_t len);


#endif /* _HM_HASH_H_INCLUDED_ */

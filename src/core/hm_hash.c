/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static hm_int_t hm_hash_grow(hm_hash_t *hash);


hm_uint_t
hm_hash_key(u_char *data, size_t len)
{
    hm_uint_t  i, key;

    key = 0;

    for (i = 0; i < len; i++) {
        key = hm_hash(key, data[i]);
    }

    return key;
}


hm_uint_t
hm_hash_key_lc(u_char *data, size_t len)
{
    hm_uint_t  i, key;

    key = 0;

    for (i = 0; i < len; i++) {
        key = hm_hash(key, hm_tolower(data[i]));
    }

    return key;
}


hm_int_t
hm_hash_init(hm_hash_t *hash, hm_pool_t *pool, hm_uint_t n,
    hm_uint_t lowcase)
{
    hm_uint_t  size;

    for (size = 8; size < n; size <<= 1) { /* void */ }

    hash->buckets = hm_pcalloc(pool, size * sizeof(hm_hash_elt_t *));
    if (hash->buckets == NULL) {
        return HM_ERROR;
    }

    hash->nbuckets = size;
    hash->nelts = 0;
    hash->pool = pool;
    hash->lowcase = lowcase ? 1 : 0;

    return HM_OK;
}


static hm_uint_t
hm_hash_key_of(hm_hash_t *hash, u_char *data, size_t len)
{
    return hash->lowcase ? hm_hash_key_lc(data, len)
                         : hm_hash_key(data, len);
}


static hm_int_t
hm_hash_key_eq(hm_hash_t *hash, hm_hash_elt_t *elt, u_char *name,
    size_t len)
{
    if (elt->key.len != len) {
        return 0;
    }

    if (hash->lowcase) {
        return hm_strncasecmp(elt->key.data, name, len) == 0;
    }

    return hm_memcmp(elt->key.data, name, len) == 0;
}


hm_int_t
hm_hash_add(hm_hash_t *hash, hm_str_t *key, void *value)
{
    hm_uint_t       k;
    hm_hash_elt_t  *elt;

    k = hm_hash_key_of(hash, key->data, key->len);

    for (elt = hash->buckets[k & (hash->nbuckets - 1)]; elt; elt = elt->next)
    {
        if (elt->key_hash == k && hm_hash_key_eq(hash, elt, key->data,
                                                 key->len))
        {
            return HM_BUSY;
        }
    }

    if (hash->nelts >= hash->nbuckets && hm_hash_grow(hash) != HM_OK) {
        return HM_ERROR;
    }

    elt = hm_palloc(hash->pool, sizeof(hm_hash_elt_t));
    if (elt == NULL) {
        return HM_ERROR;
    }

    elt->key_hash = k;
    elt->key = *key;
    elt->value = value;
    elt->next = hash->buckets[k & (hash->nbuckets - 1)];
    hash->buckets[k & (hash->nbuckets - 1)] = elt;
    hash->nelts++;

    return HM_OK;
}


void *
hm_hash_find(hm_hash_t *hash, u_char *name, size_t len)
{
    hm_uint_t       k;
    hm_hash_elt_t  *elt;

    k = hm_hash_key_of(hash, name, len);

    for (elt = hash->buckets[k & (hash->nbuckets - 1)]; elt; elt = elt->next)
    {
        if (elt->key_hash == k && hm_hash_key_eq(hash, elt, name, len)) {
            return elt->value;
        }
    }

    return NULL;
}


static hm_int_t
hm_hash_grow(hm_hash_t *hash)
{
    hm_uint_t        i, size;
    hm_hash_elt_t  **buckets, *elt, *next;

    size = hash->nbuckets * 2;

    buckets = hm_pcalloc(hash->pool, size * sizeof(hm_hash_elt_t *));
    if (buckets == NULL) {
        return HM_ERROR;
    }

    for (i = 0; i < hash->nbuckets; i++) {
        for (elt = hash->buckets[i]; elt; elt = next) {
            next = elt->next;
            elt->next = buckets[elt->key_hash & (size - 1)];
            buckets[elt->key_hash & (size - 1)] = elt;
        }
    }

    hash->buckets = buckets;
    hash->nbuckets = size;

    return HM_OK;
}

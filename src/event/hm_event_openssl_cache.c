/*
 * Copyright (C) hermod authors
 *
 * A TLS session cache shared by all workers ("ssl_session_cache
 * shared:NAME:SIZE"): a fixed table of slots in one shared anonymous
 * mapping made before the workers are forked, indexed by a hash of the
 * session id, each slot holding the DER form of one session and its
 * expiry.  A colliding new session replaces the old one, as a cache may.
 * A spin lock guards the table; the critical sections copy a few
 * kilobytes at most.
 */

#include <hm_config.h>
#include <hm_core.h>


#define HM_SSL_CACHE_SLOT_SIZE  2048       /* a TLS 1.2 session is ~200 B */


typedef struct {
    uint32_t                   used;
    uint32_t                   id_len;
    uint32_t                   der_len;
    uint32_t                   pad;
    int64_t                    expires;
    u_char                     id[SSL_MAX_SSL_SESSION_ID_LENGTH];
    u_char                     der[HM_SSL_CACHE_SLOT_SIZE - 56];
} hm_ssl_cache_slot_t;


struct hm_ssl_session_zone_s {
    hm_str_t                   name;
    size_t                     size;
    hm_uint_t                  nslots;
    volatile uint32_t         *lock;
    hm_ssl_cache_slot_t       *slots;
    void                      *addr;
};


static int hm_ssl_cache_new_session(SSL *ssl_conn, SSL_SESSION *sess);
static SSL_SESSION *hm_ssl_cache_get_session(SSL *ssl_conn,
    const unsigned char *id, int len, int *copy);
static void hm_ssl_cache_remove_session(SSL_CTX *ctx, SSL_SESSION *sess);
static void hm_ssl_session_zone_cleanup(void *data);


static int  hm_ssl_cache_index = -1;

/* the zones of the configuration being read: one per name */
static hm_array_t   *hm_ssl_zones;
static hm_cycle_t   *hm_ssl_zones_cycle;


static void
hm_ssl_cache_lock(hm_ssl_session_zone_t *zone)
{
    hm_uint_t  spins;

    for (spins = 0; __atomic_exchange_n(zone->lock, 1, __ATOMIC_ACQUIRE);
         spins++)
    {
        if (spins > 64) {
            (void) sched_yield();
        }
    }
}


static void
hm_ssl_cache_unlock(hm_ssl_session_zone_t *zone)
{
    __atomic_store_n(zone->lock, 0, __ATOMIC_RELEASE);
}


hm_ssl_session_zone_t *
hm_ssl_session_zone(hm_conf_t *cf, hm_str_t *name, size_t size)
{
    void                    *p;
    hm_uint_t                i;
    hm_pool_cleanup_t       *cln;
    hm_ssl_session_zone_t  **zp, *zone;

    if (hm_ssl_zones_cycle != cf->cycle) {
        hm_ssl_zones = hm_array_create(cf->cycle->pool, 2,
                                       sizeof(hm_ssl_session_zone_t *));
        if (hm_ssl_zones == NULL) {
            return NULL;
        }

        hm_ssl_zones_cycle = cf->cycle;
    }

    zp = hm_ssl_zones->elts;

    for (i = 0; i < hm_ssl_zones->nelts; i++) {
        if (zp[i]->name.len == name->len
            && hm_strncmp(zp[i]->name.data, name->data, name->len) == 0)
        {
            if (size && zp[i]->size != size) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "the shared session cache \"%V\" is "
                                  "already declared with another size",
                                  name);
                return NULL;
            }

            return zp[i];
        }
    }

    if (size < 8 * sizeof(hm_ssl_cache_slot_t)) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "the shared session cache \"%V\" is too small: "
                          "at least %uz bytes", name,
                          8 * sizeof(hm_ssl_cache_slot_t));
        return NULL;
    }

    zone = hm_pcalloc(cf->cycle->pool, sizeof(hm_ssl_session_zone_t));
    if (zone == NULL) {
        return NULL;
    }

    p = mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_ANON|MAP_SHARED, -1, 0);

    if (p == MAP_FAILED) {
        hm_conf_log_error(HM_LOG_EMERG, cf, hm_errno,
                          "mmap(MAP_ANON|MAP_SHARED, %uz) failed", size);
        return NULL;
    }

    cln = hm_pool_cleanup_add(cf->cycle->pool, 0);
    if (cln == NULL) {
        (void) munmap(p, size);
        return NULL;
    }

    cln->handler = hm_ssl_session_zone_cleanup;
    cln->data = zone;

    zone->name.data = hm_pstrdup(cf->cycle->pool, name);
    zone->name.len = name->len;
    zone->size = size;
    zone->addr = p;
    zone->lock = p;
    zone->slots = (hm_ssl_cache_slot_t *) ((u_char *) p
                                           + sizeof(hm_ssl_cache_slot_t));
    zone->nslots = size / sizeof(hm_ssl_cache_slot_t) - 1;

    zp = hm_array_push(hm_ssl_zones);
    if (zp == NULL) {
        return NULL;
    }

    *zp = zone;

    return zone;
}


static void
hm_ssl_session_zone_cleanup(void *data)
{
    hm_ssl_session_zone_t  *zone = data;

    (void) munmap(zone->addr, zone->size);

    /*
     * the registry lives in the pool being destroyed; it is only needed
     * while a configuration is read, and the next one starts anew
     */

    hm_ssl_zones = NULL;
    hm_ssl_zones_cycle = NULL;
}


hm_int_t
hm_ssl_shared_session_cache(hm_ssl_t *ssl, hm_ssl_session_zone_t *zone)
{
    if (hm_ssl_cache_index == -1) {
        hm_ssl_cache_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
                                                      NULL);
        if (hm_ssl_cache_index == -1) {
            hm_ssl_error(HM_LOG_EMERG, ssl->log, 0,
                         "SSL_CTX_get_ex_new_index() failed");
            return HM_ERROR;
        }
    }

    if (SSL_CTX_set_ex_data(ssl->ctx, hm_ssl_cache_index, zone) == 0) {
        hm_ssl_error(HM_LOG_EMERG, ssl->log, 0,
                     "SSL_CTX_set_ex_data() failed");
        return HM_ERROR;
    }

    SSL_CTX_set_session_cache_mode(ssl->ctx,
                   SSL_CTX_get_session_cache_mode(ssl->ctx)
                   |SSL_SESS_CACHE_SERVER);

    SSL_CTX_sess_set_new_cb(ssl->ctx, hm_ssl_cache_new_session);
    SSL_CTX_sess_set_get_cb(ssl->ctx, hm_ssl_cache_get_session);
    SSL_CTX_sess_set_remove_cb(ssl->ctx, hm_ssl_cache_remove_session);

    return HM_OK;
}


static hm_ssl_cache_slot_t *
hm_ssl_cache_slot(hm_ssl_session_zone_t *zone, const u_char *id,
    unsigned int len)
{
    return &zone->slots[hm_hash_key((u_char *) id, len) % zone->nslots];
}


static int
hm_ssl_cache_new_session(SSL *ssl_conn, SSL_SESSION *sess)
{
    int                      len;
    u_char                  *p;
    unsigned int             id_len;
    const u_char            *id;
    SSL_CTX                 *ctx;
    hm_ssl_cache_slot_t     *slot;
    hm_ssl_session_zone_t   *zone;
    u_char                   der[sizeof(((hm_ssl_cache_slot_t *) 0)->der)];

    ctx = SSL_get_SSL_CTX(ssl_conn);
    zone = SSL_CTX_get_ex_data(ctx, hm_ssl_cache_index);

    if (zone == NULL) {
        return 0;
    }

    len = i2d_SSL_SESSION(sess, NULL);

    if (len <= 0 || (size_t) len > sizeof(der)) {

        /* too big for a slot (a long certificate chain): not cached */

        return 0;
    }

    p = der;
    (void) i2d_SSL_SESSION(sess, &p);

    id = SSL_SESSION_get_id(sess, &id_len);

    if (id_len == 0 || id_len > SSL_MAX_SSL_SESSION_ID_LENGTH) {
        return 0;
    }

    slot = hm_ssl_cache_slot(zone, id, id_len);

    hm_ssl_cache_lock(zone);

    slot->used = 1;
    slot->id_len = id_len;
    slot->der_len = (uint32_t) len;
    slot->expires = (int64_t) time(NULL) + SSL_SESSION_get_timeout(sess);
    hm_memcpy(slot->id, id, id_len);
    hm_memcpy(slot->der, der, len);

    hm_ssl_cache_unlock(zone);

    /* 0: OpenSSL keeps no extra reference for us */

    return 0;
}


static SSL_SESSION *
hm_ssl_cache_get_session(SSL *ssl_conn, const unsigned char *id, int len,
    int *copy)
{
    uint32_t                 der_len;
    const u_char            *p;
    SSL_CTX                 *ctx;
    SSL_SESSION             *sess;
    hm_ssl_cache_slot_t     *slot;
    hm_ssl_session_zone_t   *zone;
    u_char                   der[sizeof(((hm_ssl_cache_slot_t *) 0)->der)];

    *copy = 0;

    ctx = SSL_get_SSL_CTX(ssl_conn);
    zone = SSL_CTX_get_ex_data(ctx, hm_ssl_cache_index);

    if (zone == NULL || len <= 0 || len > SSL_MAX_SSL_SESSION_ID_LENGTH) {
        return NULL;
    }

    slot = hm_ssl_cache_slot(zone, id, (unsigned int) len);

    der_len = 0;

    hm_ssl_cache_lock(zone);

    if (slot->used && slot->id_len == (uint32_t) len
        && hm_memcmp(slot->id, id, len) == 0
        && slot->expires > (int64_t) time(NULL))
    {
        der_len = slot->der_len;
        hm_memcpy(der, slot->der, der_len);
    }

    hm_ssl_cache_unlock(zone);

    if (der_len == 0) {
        return NULL;
    }

    p = der;
    sess = d2i_SSL_SESSION(NULL, &p, der_len);

    return sess;
}


static void
hm_ssl_cache_remove_session(SSL_CTX *ctx, SSL_SESSION *sess)
{
    unsigned int             id_len;
    const u_char            *id;
    hm_ssl_cache_slot_t     *slot;
    hm_ssl_session_zone_t   *zone;

    zone = SSL_CTX_get_ex_data(ctx, hm_ssl_cache_index);

    if (zone == NULL) {
        return;
    }

    id = SSL_SESSION_get_id(sess, &id_len);

    if (id_len == 0 || id_len > SSL_MAX_SSL_SESSION_ID_LENGTH) {
        return;
    }

    slot = hm_ssl_cache_slot(zone, id, id_len);

    hm_ssl_cache_lock(zone);

    if (slot->used && slot->id_len == id_len
        && hm_memcmp(slot->id, id, id_len) == 0)
    {
        slot->used = 0;
    }

    hm_ssl_cache_unlock(zone);
}

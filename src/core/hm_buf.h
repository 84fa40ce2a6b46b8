/*
 * Copyright (C) hermod authors
 *
 * Buffers and chains: payloads travel as chains of memory or file ranges.
 */

#ifndef _HM_BUF_H_INCLUDED_
#define _HM_BUF_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef void *  hm_buf_tag_t;

typedef struct hm_buf_s  hm_buf_t;

struct hm_buf_s {
    u_char          *pos;
    u_char          *last;
    off_t            file_pos;
    off_t            file_last;

    u_char          *start;         /* start of buffer */
    u_char          *end;           /* end of buffer */
    hm_buf_tag_t     tag;
    hm_file_t       *file;
    hm_buf_t        *shadow;

    unsigned         temporary:1;   /* memory that may be changed */
    unsigned         memory:1;      /* read-only memory */
    unsigned         in_file:1;
    unsigned         flush:1;
    unsigned         sync:1;
    unsigned         last_buf:1;
    unsigned         last_in_chain:1;
    unsigned         recycled:1;

    void            *spare[2];
};


struct hm_chain_s {
    hm_buf_t        *buf;
    hm_chain_t      *next;
};


typedef struct {
    hm_int_t         num;
    size_t           size;
} hm_bufs_t;


#define hm_buf_in_memory(b)       ((b)->temporary || (b)->memory)
#define hm_buf_in_memory_only(b)  (hm_buf_in_memory(b) && !(b)->in_file)
#define hm_buf_special(b)                                                     \
    (((b)->flush || (b)->last_buf || (b)->sync)                               \
     && !hm_buf_in_memory(b) && !(b)->in_file)

#define hm_buf_size(b)                                                        \
    (hm_buf_in_memory(b) ? (off_t) ((b)->last - (b)->pos):                    \
                           ((b)->file_last - (b)->file_pos))

#define hm_calloc_buf(pool) hm_pcalloc(pool, sizeof(hm_buf_t))

hm_buf_t *hm_create_temp_buf(hm_pool_t *pool, size_t size);
hm_chain_t *hm_alloc_chain_link(hm_pool_t *pool);
hm_chain_t *hm_chain_get_free_buf(hm_pool_t *p, hm_chain_t **free);
hm_int_t hm_chain_add_copy(hm_pool_t *pool, hm_chain_t **chain,
    hm_chain_t *in);
void hm_chain_update_chains(hm_pool_t *p, hm_chain_t **free,
    hm_chain_t **busy, hm_chain_t **out, hm_buf_tag_t tag);
off_t hm_chain_size(hm_chain_t *in);
hm_chain_t *hm_chain_update_sent(hm_chain_t *in, off_t sent);


#endif /* _HM_BUF_H_INCLUDED_ */

/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_buf_t *
hm_create_temp_buf(hm_pool_t *pool, size_t size)
{
    hm_buf_t  *b;

    b = hm_calloc_buf(pool);
    if (b == NULL) {
        return NULL;
    }

    b->start = hm_palloc(pool, size);
    if (b->start == NULL) {
        return NULL;
    }

    b->pos = b->start;
    b->last = b->start;
    b->end = b->last + size;
    b->temporary = 1;

    return b;
}


hm_chain_t *
hm_alloc_chain_link(hm_pool_t *pool)
{
    return hm_palloc(pool, sizeof(hm_chain_t));
}


hm_chain_t *
hm_chain_get_free_buf(hm_pool_t *p, hm_chain_t **free)
{
    hm_chain_t  *cl;

    if (*free) {
        cl = *free;
        *free = cl->next;
        cl->next = NULL;
        return cl;
    }

    cl = hm_alloc_chain_link(p);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = hm_calloc_buf(p);
    if (cl->buf == NULL) {
        return NULL;
    }

    cl->next = NULL;

    return cl;
}


hm_int_t
hm_chain_add_copy(hm_pool_t *pool, hm_chain_t **chain, hm_chain_t *in)
{
    hm_chain_t  *cl, **ll;

    ll = chain;

    for (cl = *chain; cl; cl = cl->next) {
        ll = &cl->next;
    }

    while (in) {
        cl = hm_alloc_chain_link(pool);
        if (cl == NULL) {
            *ll = NULL;
            return HM_ERROR;
        }

        cl->buf = in->buf;
        *ll = cl;
        ll = &cl->next;
        in = in->next;
    }

    *ll = NULL;

    return HM_OK;
}


/*
 * Move what "out" holds to "busy", then move fully sent buffers of our own
 * tag from the head of "busy" to "free" so that they can be reused.
 */

void
hm_chain_update_chains(hm_pool_t *p, hm_chain_t **free, hm_chain_t **busy,
    hm_chain_t **out, hm_buf_tag_t tag)
{
    hm_chain_t  *cl;

    if (*out) {
        if (*busy == NULL) {
            *busy = *out;

        } else {
            for (cl = *busy; cl->next; cl = cl->next) { /* void */ }

            cl->next = *out;
        }

        *out = NULL;
    }

    while (*busy) {
        cl = *busy;

        if (hm_buf_size(cl->buf) != 0) {
            break;
        }

        if (cl->buf->tag != tag) {
            *busy = cl->next;
            continue;
        }

        cl->buf->pos = cl->buf->start;
        cl->buf->last = cl->buf->start;

        *busy = cl->next;
        cl->next = *free;
        *free = cl;
    }
}


off_t
hm_chain_size(hm_chain_t *in)
{
    off_t  size;

    for (size = 0; in; in = in->next) {
        if (!hm_buf_special(in->buf)) {
            size += hm_buf_size(in->buf);
        }
    }

    return size;
}


hm_chain_t *
hm_chain_update_sent(hm_chain_t *in, off_t sent)
{
    off_t  size;

    for ( /* void */ ; in; in = in->next) {

        if (hm_buf_special(in->buf)) {
            continue;
        }

        if (sent == 0) {
            break;
        }

        size = hm_buf_size(in->buf);

        if (sent >= size) {
            sent -= size;

            if (hm_buf_in_memory(in->buf)) {
                in->buf->pos = in->buf->last;
            }

            if (in->buf->in_file) {
                in->buf->file_pos = in->buf->file_last;
            }

            continue;
        }

        if (hm_buf_in_memory(in->buf)) {
            in->buf->pos += (size_t) sent;
        }

        if (in->buf->in_file) {
            in->buf->file_pos += sent;
        }

        break;
    }

    return in;
}

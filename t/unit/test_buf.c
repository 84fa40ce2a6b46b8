/*
 * Copyright (C) hermod authors
 *
 * Pools, arrays, lists, hashes, buffers and chains.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_unit.h>


static hm_log_t  *test_log;


static uint64_t  rnd_state = 0x2545f4914f6cdd1dULL;

static uint64_t
rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ULL;
}


/* pools */

static hm_uint_t  cleanup_order[8];
static hm_uint_t  ncleanups;

static void
cleanup_record(void *data)
{
    hm_uint_t  *id = data;

    if (ncleanups < 8) {
        cleanup_order[ncleanups] = *id;
    }

    ncleanups++;
}


static hm_uint_t
pool_owns(hm_pool_t *pool, u_char *p, size_t size)
{
    hm_pool_t  *b;

    for (b = pool; b; b = b->d.next) {
        if (p >= (u_char *) b + sizeof(hm_pool_data_t)
            && p + size <= b->d.end
            && p + size <= b->d.last)
        {
            return 1;
        }
    }

    return 0;
}


static hm_uint_t
large_count(hm_pool_t *pool, hm_uint_t *used)
{
    hm_uint_t         n;
    hm_pool_large_t  *l;

    n = 0;
    *used = 0;

    for (l = pool->large; l; l = l->next) {
        n++;
        if (l->alloc) {
            (*used)++;
        }
    }

    return n;
}


#define NSMALL  10000

static void
test_pool(void)
{
    u_char             *p, **ptrs, *large[8], *big;
    size_t             *sizes;
    hm_uint_t           i, j, bad_align, bad_owner, bad_data, n, used;
    hm_uint_t          *ids;
    hm_pool_t          *pool;
    hm_pool_cleanup_t  *cln;

    pool = hm_create_pool(HM_DEFAULT_POOL_SIZE, test_log);
    HM_CHECK(pool != NULL);
    if (pool == NULL) {
        return;
    }

    HM_CHECK_UINT(pool->max, HM_MAX_ALLOC_FROM_POOL);
    HM_CHECK(((uintptr_t) pool % HM_POOL_ALIGNMENT) == 0);

    ptrs = malloc(NSMALL * sizeof(u_char *));
    sizes = malloc(NSMALL * sizeof(size_t));

    /* many small allocations: aligned, inside a block, never overlapping */

    bad_align = 0;

    for (i = 0; i < NSMALL; i++) {
        sizes[i] = 1 + rnd() % 300;

        if (i % 3 == 0) {
            ptrs[i] = hm_pnalloc(pool, sizes[i]);

        } else {
            ptrs[i] = hm_palloc(pool, sizes[i]);

            if ((uintptr_t) ptrs[i] % HM_ALIGNMENT) {
                bad_align++;
            }
        }

        if (ptrs[i] == NULL) {
            HM_CHECK(0, "allocation %lu failed", (unsigned long) i);
            return;
        }

        memset(ptrs[i], (int) (i & 0xff), sizes[i]);
    }

    HM_CHECK(bad_align == 0, "%lu unaligned hm_palloc() results",
             (unsigned long) bad_align);

    bad_owner = 0;
    bad_data = 0;

    for (i = 0; i < NSMALL; i++) {
        if (!pool_owns(pool, ptrs[i], sizes[i])) {
            bad_owner++;
        }

        for (j = 0; j < sizes[i]; j++) {
            if (ptrs[i][j] != (u_char) (i & 0xff)) {
                bad_data++;
                break;
            }
        }
    }

    HM_CHECK(bad_owner == 0, "%lu allocations outside the pool blocks",
             (unsigned long) bad_owner);
    HM_CHECK(bad_data == 0, "%lu allocations overwritten by others",
             (unsigned long) bad_data);

    n = 0;
    for (hm_pool_t *b = pool; b; b = b->d.next) {
        n++;
        if (b->d.last > b->d.end) {
            HM_CHECK(0, "a block is filled past its end");
        }
    }

    HM_CHECK(n > 10, "only %lu blocks for ~1.5 MB", (unsigned long) n);
    HM_CHECK(pool->large == NULL, "small allocations went large");

    /* hm_pcalloc() zeroes */

    p = hm_palloc(pool, 64);
    memset(p, 0xff, 64);
    p = hm_pcalloc(pool, 200);
    for (i = 0; i < 200 && p[i] == 0; i++) { /* void */ }
    HM_CHECK_UINT(i, 200);

    /* large allocations, hm_pfree() and reuse of the freed slot */

    for (i = 0; i < 8; i++) {
        large[i] = hm_palloc(pool, HM_MAX_ALLOC_FROM_POOL + 1 + i * 1000);
        HM_CHECK(large[i] != NULL && !pool_owns(pool, large[i], 1),
                 "a large allocation from a block");
        memset(large[i], 'L', HM_MAX_ALLOC_FROM_POOL + 1);
    }

    HM_CHECK_UINT(large_count(pool, &used), 8);
    HM_CHECK_UINT(used, 8);

    HM_CHECK_INT(hm_pfree(pool, large[7]), HM_OK);
    HM_CHECK_INT(hm_pfree(pool, large[7]), HM_DECLINED);
    HM_CHECK_INT(hm_pfree(pool, ptrs[5]), HM_DECLINED);
    HM_CHECK_UINT(large_count(pool, &used), 8);
    HM_CHECK_UINT(used, 7);

    big = hm_pnalloc(pool, 100000);
    HM_CHECK(big != NULL);
    HM_CHECK_UINT(large_count(pool, &used), 8);     /* the slot reused */
    HM_CHECK_UINT(used, 8);
    memset(big, 'B', 100000);

    HM_CHECK_INT(hm_pfree(pool, big), HM_OK);
    HM_CHECK_INT(hm_pfree(pool, large[0]), HM_OK);  /* the oldest */
    HM_CHECK_UINT(large_count(pool, &used), 8);
    HM_CHECK_UINT(used, 6);

    /* cleanups run in reverse order of registration */

    ncleanups = 0;

    for (i = 1; i <= 3; i++) {
        cln = hm_pool_cleanup_add(pool, sizeof(hm_uint_t));
        HM_CHECK(cln != NULL && cln->data != NULL && cln->handler == NULL);
        if (cln == NULL) {
            return;
        }

        ids = cln->data;
        *ids = i;
        cln->handler = cleanup_record;
    }

    /* one without a handler and one without data */
    cln = hm_pool_cleanup_add(pool, 0);
    HM_CHECK(cln != NULL && cln->data == NULL);

    HM_CHECK_UINT(ncleanups, 0);

    hm_destroy_pool(pool);

    HM_CHECK_UINT(ncleanups, 3);
    HM_CHECK(cleanup_order[0] == 3 && cleanup_order[1] == 2
             && cleanup_order[2] == 1,
             "cleanup order %lu %lu %lu", (unsigned long) cleanup_order[0],
             (unsigned long) cleanup_order[1],
             (unsigned long) cleanup_order[2]);

    free(ptrs);
    free(sizes);

    /* a small pool: max is what fits, a bigger request goes large */

    pool = hm_create_pool(1024, test_log);
    HM_CHECK(pool != NULL);
    if (pool == NULL) {
        return;
    }

    HM_CHECK_UINT(pool->max, 1024 - sizeof(hm_pool_t));

    p = hm_palloc(pool, pool->max);
    HM_CHECK(p != NULL && pool->large == NULL, "max fits in a block");
    memset(p, 1, pool->max);

    p = hm_palloc(pool, pool->max + 1);
    HM_CHECK(p != NULL && pool->large != NULL && pool->large->alloc == p,
             "max + 1 is large");

    /* hm_reset_pool(): large freed, blocks reusable */

    hm_reset_pool(pool);
    HM_CHECK(pool->large == NULL && pool->current == pool);
    HM_CHECK(pool->d.last == (u_char *) pool + sizeof(hm_pool_t));

    for (i = 0; i < 100; i++) {
        p = hm_palloc(pool, 100);
        HM_CHECK(p != NULL);
        memset(p, 2, 100);
    }

    hm_destroy_pool(pool);
}


static void
test_array(hm_pool_t *pool)
{
    hm_uint_t    i, bad, *v, *first;
    hm_array_t  *a, arr;
    hm_str_t    *s;

    a = hm_array_create(pool, 2, sizeof(hm_uint_t));
    HM_CHECK(a != NULL && a->nelts == 0 && a->nalloc == 2
             && a->size == sizeof(hm_uint_t));
    if (a == NULL) {
        return;
    }

    first = NULL;

    for (i = 0; i < 1000; i++) {
        v = hm_array_push(a);
        if (v == NULL) {
            HM_CHECK(0, "push %lu", (unsigned long) i);
            return;
        }

        if (i == 0) {
            first = v;
        }

        *v = i * 3;
    }

    HM_CHECK_UINT(a->nelts, 1000);
    HM_CHECK(a->nalloc >= 1000 && a->nalloc < 4000, "nalloc %lu",
             (unsigned long) a->nalloc);
    HM_CHECK(a->elts != first, "the array moved when it grew");

    bad = 0;
    v = a->elts;
    for (i = 0; i < 1000; i++) {
        if (v[i] != i * 3) {
            bad++;
        }
    }

    HM_CHECK(bad == 0, "%lu elements lost on growth", (unsigned long) bad);

    /* push_n: a contiguous run after the existing elements */

    v = hm_array_push_n(a, 5000);
    HM_CHECK(v != NULL && v == (hm_uint_t *) a->elts + 1000);
    HM_CHECK_UINT(a->nelts, 6000);
    HM_CHECK(a->nalloc >= 6000);
    if (v) {
        for (i = 0; i < 5000; i++) {
            v[i] = 7;
        }
    }

    v = a->elts;
    HM_CHECK(v[999] == 2997 && v[1000] == 7 && v[5999] == 7);

    /* hm_array_init() on a struct, with a bigger element */

    HM_CHECK_INT(hm_array_init(&arr, pool, 1, sizeof(hm_str_t)), HM_OK);

    for (i = 0; i < 50; i++) {
        s = hm_array_push(&arr);
        s->len = i;
        s->data = (u_char *) "x";
    }

    s = arr.elts;
    bad = 0;
    for (i = 0; i < 50; i++) {
        if (s[i].len != i) {
            bad++;
        }
    }

    HM_CHECK(arr.nelts == 50 && bad == 0);
}


static void
test_list(hm_pool_t *pool)
{
    hm_uint_t        i, k, bad, parts, *v, *first;
    hm_list_t       *list;
    hm_list_part_t  *part;

    list = hm_list_create(pool, 4, sizeof(hm_uint_t));
    HM_CHECK(list != NULL && list->last == &list->part
             && list->part.nelts == 0);
    if (list == NULL) {
        return;
    }

    first = NULL;

    for (i = 0; i < 103; i++) {
        v = hm_list_push(list);
        if (v == NULL) {
            HM_CHECK(0, "push");
            return;
        }

        if (i == 0) {
            first = v;
        }

        *v = 1000 + i;
    }

    /* elements never move */
    HM_CHECK(first == list->part.elts && *first == 1000);

    parts = 0;
    bad = 0;
    k = 0;

    for (part = &list->part; part; part = part->next) {
        parts++;

        if (part->next && part->nelts != 4) {
            bad++;
        }

        v = part->elts;
        for (i = 0; i < part->nelts; i++) {
            if (v[i] != 1000 + k) {
                bad++;
            }
            k++;
        }

        if (part->next == NULL && part != list->last) {
            bad++;
        }
    }

    HM_CHECK_UINT(parts, 26);
    HM_CHECK_UINT(k, 103);
    HM_CHECK_UINT(list->last->nelts, 3);
    HM_CHECK(bad == 0, "%lu bad parts or elements", (unsigned long) bad);
}


static void
test_hash(hm_pool_t *pool)
{
    hm_uint_t   i, bad;
    hm_str_t    key, *keys;
    hm_hash_t   h, lc;
    u_char     *p;
    int         v1, v2, v3;

    HM_CHECK_INT(hm_hash_init(&h, pool, 0, 0), HM_OK);
    HM_CHECK_UINT(h.nbuckets, 8);
    HM_CHECK_INT(hm_hash_init(&h, pool, 9, 0), HM_OK);
    HM_CHECK_UINT(h.nbuckets, 16);
    HM_CHECK_INT(hm_hash_init(&h, pool, 16, 0), HM_OK);
    HM_CHECK_UINT(h.nbuckets, 16);

    /* case-sensitive */

    hm_str_set(&key, "Host");
    HM_CHECK_INT(hm_hash_add(&h, &key, &v1), HM_OK);
    HM_CHECK(hm_hash_find(&h, (u_char *) "Host", 4) == &v1);
    HM_CHECK(hm_hash_find(&h, (u_char *) "host", 4) == NULL);
    HM_CHECK(hm_hash_find(&h, (u_char *) "Hos", 3) == NULL);
    HM_CHECK(hm_hash_find(&h, (u_char *) "Hostx", 4) == &v1,
             "the length is honoured");
    HM_CHECK_INT(hm_hash_add(&h, &key, &v2), HM_BUSY);
    HM_CHECK(hm_hash_find(&h, (u_char *) "Host", 4) == &v1,
             "a duplicate add replaced the value");

    hm_str_set(&key, "host");
    HM_CHECK_INT(hm_hash_add(&h, &key, &v2), HM_OK);
    HM_CHECK(hm_hash_find(&h, (u_char *) "host", 4) == &v2);
    HM_CHECK_UINT(h.nelts, 2);

    /* the same hash, different keys: "Aa" and "BB" */

    HM_CHECK_UINT(hm_hash_key((u_char *) "Aa", 2),
                  hm_hash_key((u_char *) "BB", 2));
    hm_str_set(&key, "Aa");
    HM_CHECK_INT(hm_hash_add(&h, &key, &v1), HM_OK);
    hm_str_set(&key, "BB");
    HM_CHECK_INT(hm_hash_add(&h, &key, &v3), HM_OK);
    HM_CHECK(hm_hash_find(&h, (u_char *) "Aa", 2) == &v1);
    HM_CHECK(hm_hash_find(&h, (u_char *) "BB", 2) == &v3);

    /* lowcase */

    HM_CHECK_INT(hm_hash_init(&lc, pool, 4, 1), HM_OK);
    hm_str_set(&key, "Content-Type");
    HM_CHECK_INT(hm_hash_add(&lc, &key, &v1), HM_OK);
    HM_CHECK(hm_hash_find(&lc, (u_char *) "content-type", 12) == &v1);
    HM_CHECK(hm_hash_find(&lc, (u_char *) "CONTENT-TYPE", 12) == &v1);
    HM_CHECK(hm_hash_find(&lc, (u_char *) "Content-Type", 12) == &v1);
    HM_CHECK(hm_hash_find(&lc, (u_char *) "content-typ", 11) == NULL);
    HM_CHECK(hm_hash_find(&lc, (u_char *) "content-types", 13) == NULL);

    hm_str_set(&key, "content-type");
    HM_CHECK_INT(hm_hash_add(&lc, &key, &v2), HM_BUSY);
    hm_str_set(&key, "CONTENT-TYPE");
    HM_CHECK_INT(hm_hash_add(&lc, &key, &v2), HM_BUSY);
    HM_CHECK_UINT(lc.nelts, 1);
    HM_CHECK(hm_hash_find(&lc, (u_char *) "content-type", 12) == &v1);

    HM_CHECK_UINT(hm_hash_key_lc((u_char *) "Content-Type", 12),
                  hm_hash_key((u_char *) "content-type", 12));

    /* a lower-case collision: "a_" and "b@" */

    HM_CHECK_UINT(hm_hash_key_lc((u_char *) "a_", 2),
                  hm_hash_key_lc((u_char *) "b@", 2));
    hm_str_set(&key, "a_");
    HM_CHECK_INT(hm_hash_add(&lc, &key, &v2), HM_OK);
    hm_str_set(&key, "b@");
    HM_CHECK_INT(hm_hash_add(&lc, &key, &v3), HM_OK);
    HM_CHECK(hm_hash_find(&lc, (u_char *) "A_", 2) == &v2);
    HM_CHECK(hm_hash_find(&lc, (u_char *) "B@", 2) == &v3);

    /* growth to 10000 keys */

    HM_CHECK_INT(hm_hash_init(&h, pool, 0, 1), HM_OK);

    keys = hm_palloc(pool, 10000 * sizeof(hm_str_t));
    bad = 0;

    for (i = 0; i < 10000; i++) {
        p = hm_pnalloc(pool, 16);
        keys[i].data = p;
        keys[i].len = hm_sprintf(p, "Key-%ui", i) - p;

        if (hm_hash_add(&h, &keys[i], (void *) (uintptr_t) (i + 1)) != HM_OK) {
            bad++;
        }
    }

    HM_CHECK(bad == 0, "%lu adds failed", (unsigned long) bad);
    HM_CHECK_UINT(h.nelts, 10000);
    HM_CHECK((h.nbuckets & (h.nbuckets - 1)) == 0 && h.nbuckets >= 8192,
             "nbuckets %lu", (unsigned long) h.nbuckets);

    bad = 0;

    for (i = 0; i < 10000; i++) {
        u_char  lower[16];

        hm_strlow(lower, keys[i].data, keys[i].len);

        if (hm_hash_find(&h, lower, keys[i].len) != (void *) (uintptr_t) (i + 1))
        {
            bad++;
        }

        if (hm_hash_add(&h, &keys[i], NULL) != HM_BUSY) {
            bad++;
        }
    }

    HM_CHECK(bad == 0, "%lu keys lost or duplicated after growth",
             (unsigned long) bad);
    HM_CHECK(hm_hash_find(&h, (u_char *) "key-10000", 9) == NULL);
    HM_CHECK(hm_hash_find(&h, (u_char *) "key-", 4) == NULL);
    HM_CHECK_UINT(h.nelts, 10000);
}


/* buffers and chains */

static hm_buf_t *
mem_buf(hm_pool_t *pool, const char *text)
{
    size_t     len;
    hm_buf_t  *b;

    len = strlen(text);
    b = hm_create_temp_buf(pool, len + 16);
    b->last = hm_cpymem(b->pos, text, len);

    return b;
}


static hm_chain_t *
mklink(hm_pool_t *pool, hm_buf_t *b, hm_chain_t *next)
{
    hm_chain_t  *cl;

    cl = hm_alloc_chain_link(pool);
    cl->buf = b;
    cl->next = next;

    return cl;
}


static hm_uint_t
chain_len(hm_chain_t *cl)
{
    hm_uint_t  n;

    for (n = 0; cl; cl = cl->next) {
        n++;
    }

    return n;
}


static void
test_buf(hm_pool_t *pool)
{
    int          tag, other;
    hm_buf_t    *b, *b1, *b2, *b3, *fl, *both;
    hm_chain_t  *chain, *cl, *c1, *c2, *c3, *c4, *fr, *busy, *out, *copy;

    b = hm_create_temp_buf(pool, 100);
    HM_CHECK(b != NULL && b->start != NULL);
    HM_CHECK(b->pos == b->start && b->last == b->start
             && b->end == b->start + 100);
    HM_CHECK(b->temporary && !b->memory && !b->in_file && b->tag == NULL);
    HM_CHECK_INT(hm_buf_size(b), 0);
    b->last = hm_cpymem(b->last, "hello", 5);
    HM_CHECK_INT(hm_buf_size(b), 5);

    /* a memory buf, a file buf, a flush buf, a memory buf */

    b1 = mem_buf(pool, "0123456789");              /* 10 */

    b2 = hm_calloc_buf(pool);
    b2->in_file = 1;
    b2->file_pos = 100;
    b2->file_last = 150;                           /* 50 */

    fl = hm_calloc_buf(pool);
    fl->flush = 1;
    HM_CHECK(hm_buf_special(fl), "a flush buf is special");
    HM_CHECK(!hm_buf_special(b1) && !hm_buf_special(b2));

    b3 = mem_buf(pool, "abcdefghijklmnopqrst");    /* 20 */

    c4 = mklink(pool, b3, NULL);
    c3 = mklink(pool, fl, c4);
    c2 = mklink(pool, b2, c3);
    c1 = mklink(pool, b1, c2);
    chain = c1;

    HM_CHECK_INT(hm_chain_size(chain), 80);
    HM_CHECK_INT(hm_chain_size(NULL), 0);

    HM_CHECK(hm_chain_update_sent(chain, 0) == c1, "nothing sent");
    HM_CHECK_INT(hm_chain_size(chain), 80);

    /* 15: all of b1, 5 of b2 */
    cl = hm_chain_update_sent(chain, 15);
    HM_CHECK(cl == c2, "15 sent: at the file buf");
    HM_CHECK(b1->pos == b1->last, "b1 fully sent");
    HM_CHECK_INT(b2->file_pos, 105);
    HM_CHECK_INT(hm_buf_size(b2), 45);
    HM_CHECK_INT(hm_chain_size(chain), 65);

    /* 45 more: the rest of b2; the flush buf is passed over */
    cl = hm_chain_update_sent(cl, 45);
    HM_CHECK(cl == c4, "60 sent: at b3, past the flush buf");
    HM_CHECK_INT(b2->file_pos, 150);
    HM_CHECK_INT(hm_chain_size(chain), 20);

    /* 7 of b3 */
    cl = hm_chain_update_sent(cl, 7);
    HM_CHECK(cl == c4);
    HM_CHECK(b3->pos == b3->start + 7 && *b3->pos == 'h');
    HM_CHECK_INT(hm_chain_size(chain), 13);

    /* everything */
    cl = hm_chain_update_sent(chain, 13);
    HM_CHECK(cl == NULL, "all sent");
    HM_CHECK_INT(hm_chain_size(chain), 0);

    /* a buf both in memory and in a file moves both positions */

    both = mem_buf(pool, "0123456789");
    both->in_file = 1;
    both->file_pos = 0;
    both->file_last = 10;
    cl = hm_chain_update_sent(mklink(pool, both, NULL), 4);
    HM_CHECK(cl != NULL && both->pos == both->start + 4
             && both->file_pos == 4);

    /* hm_chain_update_chains(): out goes to busy, sent bufs of ours free */

    fr = NULL;
    busy = NULL;

    b1 = mem_buf(pool, "");                        /* sent */
    b1->tag = &tag;
    b1->pos = b1->start + 3;                       /* garbage positions */
    b1->last = b1->pos;
    b2 = mem_buf(pool, "");
    b2->tag = &tag;
    b3 = mem_buf(pool, "pending");
    b3->tag = &tag;
    b = mem_buf(pool, "");
    b->tag = &tag;

    c4 = mklink(pool, b, NULL);
    c3 = mklink(pool, b3, c4);
    c2 = mklink(pool, b2, c3);
    c1 = mklink(pool, b1, c2);
    out = c1;

    hm_chain_update_chains(pool, &fr, &busy, &out, (hm_buf_tag_t) &tag);

    HM_CHECK(out == NULL, "out is emptied");
    HM_CHECK(busy == c3, "busy starts at the first unsent buf");
    HM_CHECK_UINT(chain_len(busy), 2);
    HM_CHECK(fr == c2 && fr->next == c1 && c1->next == NULL,
             "the two sent bufs are free, the last freed first");
    HM_CHECK(b1->pos == b1->start && b1->last == b1->start,
             "a freed buf is reset");

    /* more output is appended after what is busy */

    b = mem_buf(pool, "more");
    b->tag = &tag;
    out = mklink(pool, b, NULL);
    cl = out;

    hm_chain_update_chains(pool, &fr, &busy, &out, (hm_buf_tag_t) &tag);
    HM_CHECK(out == NULL && busy == c3 && chain_len(busy) == 3
             && c4->next == cl, "out appended to busy");
    HM_CHECK_UINT(chain_len(fr), 2);

    /* b3 sent: it and the empty buf after it become free, "more" stays */

    b3->pos = b3->last;
    hm_chain_update_chains(pool, &fr, &busy, &out, (hm_buf_tag_t) &tag);
    HM_CHECK(busy == cl && cl->next == NULL, "busy %p", (void *) busy);
    HM_CHECK_UINT(chain_len(fr), 4);
    HM_CHECK(fr == c4 && c4->next == c3, "freed in order");

    /* a sent buf of another tag leaves busy but is not ours to free */

    b->pos = b->last;
    b1 = mem_buf(pool, "");
    b1->tag = &other;
    busy = mklink(pool, b1, cl);
    cl->next = NULL;

    hm_chain_update_chains(pool, &fr, &busy, &out, (hm_buf_tag_t) &tag);
    HM_CHECK(busy == NULL, "busy drained");
    HM_CHECK_UINT(chain_len(fr), 5);
    for (c1 = fr; c1; c1 = c1->next) {
        HM_CHECK(c1->buf->tag == &tag, "a foreign buf was freed");
    }

    /* hm_chain_get_free_buf(): from free first, then new */

    c1 = fr;
    cl = hm_chain_get_free_buf(pool, &fr);
    HM_CHECK(cl == c1 && cl->next == NULL && chain_len(fr) == 4);

    fr = NULL;
    cl = hm_chain_get_free_buf(pool, &fr);
    HM_CHECK(cl != NULL && cl->buf != NULL && cl->next == NULL);
    HM_CHECK(cl->buf->pos == NULL && cl->buf->tag == NULL
             && !cl->buf->temporary, "a new buf is zeroed");

    /* hm_chain_add_copy(): new links, shared bufs, appended */

    b1 = mem_buf(pool, "one");
    b2 = mem_buf(pool, "two");
    b3 = mem_buf(pool, "three");
    chain = mklink(pool, b1, NULL);
    copy = mklink(pool, b2, mklink(pool, b3, NULL));

    HM_CHECK_INT(hm_chain_add_copy(pool, &chain, copy), HM_OK);
    HM_CHECK_UINT(chain_len(chain), 3);
    HM_CHECK(chain->next != copy && chain->next->buf == b2
             && chain->next->next->buf == b3, "links copied, bufs shared");
    HM_CHECK_UINT(chain_len(copy), 2);
    HM_CHECK_INT(hm_chain_size(chain), 11);

    cl = NULL;
    HM_CHECK_INT(hm_chain_add_copy(pool, &cl, copy), HM_OK);
    HM_CHECK(cl != NULL && cl != copy && chain_len(cl) == 2);
}


int
main(void)
{
    hm_pool_t  *pool;

    hm_unit_init("test_buf");

    test_log = hm_log_init(NULL, NULL);

    test_pool();

    pool = hm_create_pool(HM_DEFAULT_POOL_SIZE, test_log);
    if (pool == NULL) {
        HM_CHECK(0, "hm_create_pool");
        return hm_unit_done();
    }

    test_array(pool);
    test_list(pool);
    test_hash(pool);
    test_buf(pool);

    hm_destroy_pool(pool);

    return hm_unit_done();
}

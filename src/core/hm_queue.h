/*
 * Copyright (C) hermod authors
 *
 * Intrusive doubly linked queue with a sentinel.
 */

#ifndef _HM_QUEUE_H_INCLUDED_
#define _HM_QUEUE_H_INCLUDED_


typedef struct hm_queue_s  hm_queue_t;

struct hm_queue_s {
    hm_queue_t  *prev;
    hm_queue_t  *next;
};


#define hm_queue_init(q)                                                      \
    (q)->prev = q;                                                            \
    (q)->next = q

#define hm_queue_empty(h)    (h == (h)->prev)

#define hm_queue_insert_head(h, x)                                            \
    (x)->next = (h)->next;                                                    \
    (x)->next->prev = x;                                                      \
    (x)->prev = h;                                                            \
    (h)->next = x

#define hm_queue_insert_tail(h, x)                                            \
    (x)->prev = (h)->prev;                                                    \
    (x)->prev->next = x;                                                      \
    (x)->next = h;                                                            \
    (h)->prev = x

#define hm_queue_head(h)     (h)->next
#define hm_queue_last(h)     (h)->prev
#define hm_queue_sentinel(h) (h)


/* appends the elements of queue n (not n itself) to queue h */
#define hm_queue_add(h, n)                                                    \
    (h)->prev->next = (n)->next;                                              \
    (n)->next->prev = (h)->prev;                                              \
    (h)->prev = (n)->prev;                                                    \
    (h)->prev->next = h;
#define hm_queue_next(q)     (q)->next
#define hm_queue_prev(q)     (q)->prev

#define hm_queue_remove(x)                                                    \
    (x)->next->prev = (x)->prev;                                              \
    (x)->prev->next = (x)->next;                                              \
    (x)->prev = NULL;                                                         \
    (x)->next = NULL

#define hm_queue_data(q, type, link)                                          \
    (type *) ((u_char *) q - offsetof(type, link))


#endif /* _HM_QUEUE_H_INCLUDED_ */

/*
 * Copyright (C) hermod authors
 *
 * Red-black tree with a sentinel; the insert function is pluggable so that
 * timers can keep equal keys in insertion order.
 */

#ifndef _HM_RBTREE_H_INCLUDED_
#define _HM_RBTREE_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef hm_uint_t  hm_rbtree_key_t;
typedef hm_int_t   hm_rbtree_key_int_t;


typedef struct hm_rbtree_node_s  hm_rbtree_node_t;

struct hm_rbtree_node_s {
    hm_rbtree_key_t     key;
    hm_rbtree_node_t   *left;
    hm_rbtree_node_t   *right;
    hm_rbtree_node_t   *parent;
    u_char              color;
    u_char              data;
};


typedef struct hm_rbtree_s  hm_rbtree_t;

typedef void (*hm_rbtree_insert_pt) (hm_rbtree_node_t *root,
    hm_rbtree_node_t *node, hm_rbtree_node_t *sentinel);

struct hm_rbtree_s {
    hm_rbtree_node_t     *root;
    hm_rbtree_node_t     *sentinel;
    hm_rbtree_insert_pt   insert;
};


#define hm_rbtree_init(tree, s, i)                                            \
    hm_rbtree_sentinel_init(s);                                               \
    (tree)->root = s;                                                         \
    (tree)->sentinel = s;                                                     \
    (tree)->insert = i


void hm_rbtree_insert(hm_rbtree_t *tree, hm_rbtree_node_t *node);
void hm_rbtree_delete(hm_rbtree_t *tree, hm_rbtree_node_t *node);
void hm_rbtree_insert_value(hm_rbtree_node_t *root, hm_rbtree_node_t *node,
    hm_rbtree_node_t *sentinel);
void hm_rbtree_insert_timer_value(hm_rbtree_node_t *root,
    hm_rbtree_node_t *node, hm_rbtree_node_t *sentinel);
hm_rbtree_node_t *hm_rbtree_next(hm_rbtree_t *tree, hm_rbtree_node_t *node);


#define hm_rbt_red(node)               ((node)->color = 1)
#define hm_rbt_black(node)             ((node)->color = 0)
#define hm_rbt_is_red(node)            ((node)->color)
#define hm_rbt_is_black(node)          (!hm_rbt_is_red(node))
#define hm_rbt_copy_color(n1, n2)      (n1->color = n2->color)

/* a sentinel must be black */

#define hm_rbtree_sentinel_init(node)  hm_rbt_black(node)


static inline hm_rbtree_node_t *
hm_rbtree_min(hm_rbtree_node_t *node, hm_rbtree_node_t *sentinel)
{
    while (node->left != sentinel) {
        node = node->left;
    }

    return node;
}


#endif /* _HM_RBTREE_H_INCLUDED_ */

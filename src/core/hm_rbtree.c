/*
 * Copyright (C) hermod authors
 *
 * The red-black tree algorithm follows "Introduction to Algorithms"
 * by Cormen, Leiserson and Rivest.
 */

#include <hm_config.h>
#include <hm_core.h>


static inline void hm_rbtree_left_rotate(hm_rbtree_node_t **root,
    hm_rbtree_node_t *sentinel, hm_rbtree_node_t *node);
static inline void hm_rbtree_right_rotate(hm_rbtree_node_t **root,
    hm_rbtree_node_t *sentinel, hm_rbtree_node_t *node);


void
hm_rbtree_insert(hm_rbtree_t *tree, hm_rbtree_node_t *node)
{
    hm_rbtree_node_t  **root, *temp, *sentinel;

    root = &tree->root;
    sentinel = tree->sentinel;

    if (*root == sentinel) {
        node->parent = NULL;
        node->left = sentinel;
        node->right = sentinel;
        hm_rbt_black(node);
        *root = node;

        return;
    }

    tree->insert(*root, node, sentinel);

    /* re-balance tree */

    while (node != *root && hm_rbt_is_red(node->parent)) {

        if (node->parent == node->parent->parent->left) {
            temp = node->parent->parent->right;

            if (hm_rbt_is_red(temp)) {
                hm_rbt_black(node->parent);
                hm_rbt_black(temp);
                hm_rbt_red(node->parent->parent);
                node = node->parent->parent;

            } else {
                if (node == node->parent->right) {
                    node = node->parent;
                    hm_rbtree_left_rotate(root, sentinel, node);
                }

                hm_rbt_black(node->parent);
                hm_rbt_red(node->parent->parent);
                hm_rbtree_right_rotate(root, sentinel, node->parent->parent);
            }

        } else {
            temp = node->parent->parent->left;

            if (hm_rbt_is_red(temp)) {
                hm_rbt_black(node->parent);
                hm_rbt_black(temp);
                hm_rbt_red(node->parent->parent);
                node = node->parent->parent;

            } else {
                if (node == node->parent->left) {
                    node = node->parent;
                    hm_rbtree_right_rotate(root, sentinel, node);
                }

                hm_rbt_black(node->parent);
                hm_rbt_red(node->parent->parent);
                hm_rbtree_left_rotate(root, sentinel, node->parent->parent);
            }
        }
    }

    hm_rbt_black(*root);
}


void
hm_rbtree_insert_value(hm_rbtree_node_t *temp, hm_rbtree_node_t *node,
    hm_rbtree_node_t *sentinel)
{
    hm_rbtree_node_t  **p;

    for ( ;; ) {

        p = (node->key < temp->key) ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    hm_rbt_red(node);
}


void
hm_rbtree_insert_timer_value(hm_rbtree_node_t *temp, hm_rbtree_node_t *node,
    hm_rbtree_node_t *sentinel)
{
    hm_rbtree_node_t  **p;

    for ( ;; ) {

        /*
         * Timer values are absolute milliseconds; compare through a signed
         * difference so that equal keys keep their insertion order.
         */

        p = ((hm_rbtree_key_int_t) (node->key - temp->key) < 0)
            ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    hm_rbt_red(node);
}


void
hm_rbtree_delete(hm_rbtree_t *tree, hm_rbtree_node_t *node)
{
    hm_uint_t           red;
    hm_rbtree_node_t  **root, *sentinel, *subst, *temp, *w;

    root = &tree->root;
    sentinel = tree->sentinel;

    if (node->left == sentinel) {
        temp = node->right;
        subst = node;

    } else if (node->right == sentinel) {
        temp = node->left;
        subst = node;

    } else {
        subst = hm_rbtree_min(node->right, sentinel);
        temp = subst->right;
    }

    if (subst == *root) {
        *root = temp;
        hm_rbt_black(temp);

        node->left = NULL;
        node->right = NULL;
        node->parent = NULL;
        node->key = 0;

        return;
    }

    red = hm_rbt_is_red(subst);

    if (subst == subst->parent->left) {
        subst->parent->left = temp;

    } else {
        subst->parent->right = temp;
    }

    if (subst == node) {

        temp->parent = subst->parent;

    } else {

        if (subst->parent == node) {
            temp->parent = subst;

        } else {
            temp->parent = subst->parent;
        }

        subst->left = node->left;
        subst->right = node->right;
        subst->parent = node->parent;
        hm_rbt_copy_color(subst, node);

        if (node == *root) {
            *root = subst;

        } else {
            if (node == node->parent->left) {
                node->parent->left = subst;
            } else {
                node->parent->right = subst;
            }
        }

        if (subst->left != sentinel) {
            subst->left->parent = subst;
        }

        if (subst->right != sentinel) {
            subst->right->parent = subst;
        }
    }

    node->left = NULL;
    node->right = NULL;
    node->parent = NULL;
    node->key = 0;

    if (red) {
        return;
    }

    /* a delete fixup */

    while (temp != *root && hm_rbt_is_black(temp)) {

        if (temp == temp->parent->left) {
            w = temp->parent->right;

            if (hm_rbt_is_red(w)) {
                hm_rbt_black(w);
                hm_rbt_red(temp->parent);
                hm_rbtree_left_rotate(root, sentinel, temp->parent);
                w = temp->parent->right;
            }

            if (hm_rbt_is_black(w->left) && hm_rbt_is_black(w->right)) {
                hm_rbt_red(w);
                temp = temp->parent;

            } else {
                if (hm_rbt_is_black(w->right)) {
                    hm_rbt_black(w->left);
                    hm_rbt_red(w);
                    hm_rbtree_right_rotate(root, sentinel, w);
                    w = temp->parent->right;
                }

                hm_rbt_copy_color(w, temp->parent);
                hm_rbt_black(temp->parent);
                hm_rbt_black(w->right);
                hm_rbtree_left_rotate(root, sentinel, temp->parent);
                temp = *root;
            }

        } else {
            w = temp->parent->left;

            if (hm_rbt_is_red(w)) {
                hm_rbt_black(w);
                hm_rbt_red(temp->parent);
                hm_rbtree_right_rotate(root, sentinel, temp->parent);
                w = temp->parent->left;
            }

            if (hm_rbt_is_black(w->left) && hm_rbt_is_black(w->right)) {
                hm_rbt_red(w);
                temp = temp->parent;

            } else {
                if (hm_rbt_is_black(w->left)) {
                    hm_rbt_black(w->right);
                    hm_rbt_red(w);
                    hm_rbtree_left_rotate(root, sentinel, w);
                    w = temp->parent->left;
                }

                hm_rbt_copy_color(w, temp->parent);
                hm_rbt_black(temp->parent);
                hm_rbt_black(w->left);
                hm_rbtree_right_rotate(root, sentinel, temp->parent);
                temp = *root;
            }
        }
    }

    hm_rbt_black(temp);
}


static inline void
hm_rbtree_left_rotate(hm_rbtree_node_t **root, hm_rbtree_node_t *sentinel,
    hm_rbtree_node_t *node)
{
    hm_rbtree_node_t  *temp;

    temp = node->right;
    node->right = temp->left;

    if (temp->left != sentinel) {
        temp->left->parent = node;
    }

    temp->parent = node->parent;

    if (node == *root) {
        *root = temp;

    } else if (node == node->parent->left) {
        node->parent->left = temp;

    } else {
        node->parent->right = temp;
    }

    temp->left = node;
    node->parent = temp;
}


static inline void
hm_rbtree_right_rotate(hm_rbtree_node_t **root, hm_rbtree_node_t *sentinel,
    hm_rbtree_node_t *node)
{
    hm_rbtree_node_t  *temp;

    temp = node->left;
    node->left = temp->right;

    if (temp->right != sentinel) {
        temp->right->parent = node;
    }

    temp->parent = node->parent;

    if (node == *root) {
        *root = temp;

    } else if (node == node->parent->right) {
        node->parent->right = temp;

    } else {
        node->parent->left = temp;
    }

    temp->right = node;
    node->parent = temp;
}


hm_rbtree_node_t *
hm_rbtree_next(hm_rbtree_t *tree, hm_rbtree_node_t *node)
{
    hm_rbtree_node_t  *root, *sentinel, *parent;

    sentinel = tree->sentinel;

    if (node->right != sentinel) {
        return hm_rbtree_min(node->right, sentinel);
    }

    root = tree->root;

    for ( ;; ) {
        parent = node->parent;

        if (node == root) {
            return NULL;
        }

        if (node == parent->left) {
            return parent;
        }

        node = parent;
    }
}

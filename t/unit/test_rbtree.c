/*
 * Copyright (C) hermod authors
 *
 * hm_rbtree_t: ordering, completeness and the red-black invariants after
 * random inserts and deletes; the timer insert keeps equal keys in
 * insertion order and compares across a wraparound.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_unit.h>


#define N  10000


typedef struct {
    hm_rbtree_node_t  node;       /* first: a node is its item */
    hm_uint_t         seq;        /* insertion order */
    hm_uint_t         in_tree;
} item_t;


static uint64_t  rnd_state = 0x9e3779b97f4a7c15ULL;


static uint64_t
rnd(void)
{
    /* xorshift64*: deterministic, so that a failure reproduces */
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ULL;
}


static void
shuffle(hm_uint_t *a, hm_uint_t n)
{
    hm_uint_t  i, j, t;

    for (i = n - 1; i > 0; i--) {
        j = rnd() % (i + 1);
        t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}


static int
cmp_key(const void *a, const void *b)
{
    hm_rbtree_key_t  x = *(const hm_rbtree_key_t *) a;
    hm_rbtree_key_t  y = *(const hm_rbtree_key_t *) b;

    return (x > y) - (x < y);
}


/*
 * Returns the black height of the subtree, or -1 after reporting a broken
 * invariant (one report per tree check is enough).
 */

static hm_uint_t  rb_errors;

static int
rb_check_node(hm_rbtree_t *tree, hm_rbtree_node_t *node,
    hm_rbtree_node_t *parent, hm_uint_t *count)
{
    int                lh, rh;
    hm_rbtree_node_t  *sentinel;

    sentinel = tree->sentinel;

    if (node == sentinel) {
        if (hm_rbt_is_red(node)) {
            rb_errors++;
            return -1;
        }

        return 1;
    }

    (*count)++;

    if (node->parent != parent) {
        rb_errors++;
        return -1;
    }

    if (hm_rbt_is_red(node)
        && (hm_rbt_is_red(node->left) || hm_rbt_is_red(node->right)))
    {
        rb_errors++;
        return -1;       /* red-red */
    }

    lh = rb_check_node(tree, node->left, node, count);
    rh = rb_check_node(tree, node->right, node, count);

    if (lh < 0 || rh < 0) {
        return -1;
    }

    if (lh != rh) {
        rb_errors++;
        return -1;       /* unequal black heights */
    }

    return lh + (hm_rbt_is_black(node) ? 1 : 0);
}


/* the red-black invariants, and the node count */

static int
rb_valid(hm_rbtree_t *tree, hm_uint_t want_count)
{
    hm_uint_t  count;

    rb_errors = 0;
    count = 0;

    if (tree->root == tree->sentinel) {
        return want_count == 0 && hm_rbt_is_black(tree->sentinel);
    }

    if (hm_rbt_is_red(tree->root) || tree->root->parent != NULL) {
        return 0;
    }

    if (rb_check_node(tree, tree->root, NULL, &count) < 0) {
        return 0;
    }

    return rb_errors == 0 && count == want_count;
}


/*
 * In-order keys through hm_rbtree_min() and hm_rbtree_next() equal the
 * sorted keys of the items in the tree.
 */

static int
rb_inorder_matches(hm_rbtree_t *tree, item_t *items, hm_uint_t n)
{
    hm_uint_t          i, k;
    hm_rbtree_key_t   *want;
    hm_rbtree_node_t  *node;
    int                ok;

    want = malloc(n * sizeof(hm_rbtree_key_t));
    if (want == NULL) {
        return 0;
    }

    k = 0;
    for (i = 0; i < n; i++) {
        if (items[i].in_tree) {
            want[k++] = items[i].node.key;
        }
    }

    qsort(want, k, sizeof(hm_rbtree_key_t), cmp_key);

    ok = 1;
    i = 0;

    if (tree->root != tree->sentinel) {
        for (node = hm_rbtree_min(tree->root, tree->sentinel);
             node;
             node = hm_rbtree_next(tree, node))
        {
            if (i >= k || node->key != want[i]) {
                ok = 0;
                break;
            }

            i++;
        }
    }

    if (i != k) {
        ok = 0;
    }

    free(want);

    return ok;
}


static void
test_random(hm_uint_t key_range)
{
    hm_uint_t          i, j, *order, live, deleted_ok;
    item_t            *items;
    hm_rbtree_t        tree;
    hm_rbtree_node_t   sentinel, *node, *max;

    items = calloc(N, sizeof(item_t));
    order = calloc(N, sizeof(hm_uint_t));

    if (items == NULL || order == NULL) {
        HM_CHECK(0, "calloc");
        return;
    }

    hm_rbtree_init(&tree, &sentinel, hm_rbtree_insert_value);

    HM_CHECK(rb_valid(&tree, 0), "empty tree");

    for (i = 0; i < N; i++) {
        items[i].node.key = key_range ? rnd() % key_range
                                      : (hm_rbtree_key_t) rnd();
        items[i].seq = i;
        hm_rbtree_insert(&tree, &items[i].node);
        items[i].in_tree = 1;

        if (i == 0 || i == 1 || i == 2 || i == 99 || i == 1000) {
            HM_CHECK(rb_valid(&tree, i + 1), "invariants after %lu inserts",
                     (unsigned long) i + 1);
        }
    }

    HM_CHECK(rb_valid(&tree, N), "invariants after %d inserts (range %lu)",
             N, (unsigned long) key_range);
    HM_CHECK(rb_inorder_matches(&tree, items, N),
             "in-order traversal is sorted and complete (range %lu)",
             (unsigned long) key_range);

    /* the last node has no successor */

    for (max = tree.root; max->right != tree.sentinel; max = max->right) {
        /* void */
    }

    HM_CHECK(hm_rbtree_next(&tree, max) == NULL, "next of the maximum");

    node = hm_rbtree_min(tree.root, tree.sentinel);
    for (i = 0; i < N; i++) {
        if (node->key > items[i].node.key) {
            break;
        }
    }

    HM_CHECK(i == N, "hm_rbtree_min() is not minimal");

    /* delete half in random order */

    for (i = 0; i < N; i++) {
        order[i] = i;
    }

    shuffle(order, N);

    live = N;
    deleted_ok = 1;

    for (j = 0; j < N / 2; j++) {
        item_t  *it = &items[order[j]];

        hm_rbtree_delete(&tree, &it->node);
        it->in_tree = 0;
        live--;

        if (it->node.left != NULL || it->node.right != NULL
            || it->node.parent != NULL)
        {
            deleted_ok = 0;
        }

        if (j % 250 == 0) {
            HM_CHECK(rb_valid(&tree, live), "invariants after %lu deletes",
                     (unsigned long) j + 1);
        }
    }

    HM_CHECK(deleted_ok, "a deleted node keeps its links");
    HM_CHECK(rb_valid(&tree, live), "invariants after deleting half");
    HM_CHECK(rb_inorder_matches(&tree, items, N),
             "in-order traversal after deleting half");

    /* insert the deleted half again, then delete everything */

    for (j = 0; j < N / 2; j++) {
        item_t  *it = &items[order[j]];

        it->node.key = key_range ? rnd() % key_range
                                 : (hm_rbtree_key_t) rnd();
        hm_rbtree_insert(&tree, &it->node);
        it->in_tree = 1;
        live++;
    }

    HM_CHECK(rb_valid(&tree, N), "invariants after re-inserting");
    HM_CHECK(rb_inorder_matches(&tree, items, N),
             "in-order traversal after re-inserting");

    shuffle(order, N);

    for (j = 0; j < N; j++) {
        hm_rbtree_delete(&tree, &items[order[j]].node);
        items[order[j]].in_tree = 0;
        live--;

        if (j % 1000 == 999) {
            HM_CHECK(rb_valid(&tree, live), "invariants with %lu left",
                     (unsigned long) live);
        }
    }

    HM_CHECK(tree.root == tree.sentinel, "the tree is empty");
    HM_CHECK(hm_rbt_is_black(tree.sentinel), "the sentinel stays black");

    free(items);
    free(order);
}


/* ascending and descending inserts: the worst cases for balance */

static void
test_sequential(void)
{
    hm_uint_t          i, depth, max_depth;
    item_t            *items;
    hm_rbtree_t        tree;
    hm_rbtree_node_t   sentinel, *node;

    items = calloc(N, sizeof(item_t));
    if (items == NULL) {
        HM_CHECK(0, "calloc");
        return;
    }

    hm_rbtree_init(&tree, &sentinel, hm_rbtree_insert_value);

    for (i = 0; i < N; i++) {
        items[i].node.key = (i % 2) ? i : (hm_rbtree_key_t) (2 * N - i);
        items[i].in_tree = 1;
        hm_rbtree_insert(&tree, &items[i].node);
    }

    HM_CHECK(rb_valid(&tree, N), "invariants, zigzag inserts");
    HM_CHECK(rb_inorder_matches(&tree, items, N), "zigzag in-order");

    /* the height of a red-black tree is at most 2 log2(n + 1) */

    max_depth = 0;
    for (i = 0; i < N; i++) {
        depth = 0;
        for (node = &items[i].node; node; node = node->parent) {
            depth++;
        }
        if (depth > max_depth) {
            max_depth = depth;
        }
    }

    HM_CHECK(max_depth <= 28, "depth %lu for %d nodes",
             (unsigned long) max_depth, N);

    /* the checkers themselves catch a broken tree */

    hm_rbt_red(tree.root);
    HM_CHECK(!rb_valid(&tree, N), "a red root went unnoticed");
    hm_rbt_black(tree.root);

    node = tree.root->left;
    if (hm_rbt_is_black(node)) {
        hm_rbt_red(node);
        HM_CHECK(!rb_valid(&tree, N), "unequal black heights unnoticed");
        hm_rbt_black(node);
    }

    HM_CHECK(!rb_valid(&tree, N - 1), "a wrong count went unnoticed");
    HM_CHECK(rb_valid(&tree, N), "the tree is restored");

    node->key += 2 * N;
    HM_CHECK(!rb_inorder_matches(&tree, items, N), "a key out of order");
    node->key -= 2 * N;
    items[0].in_tree = 0;
    HM_CHECK(!rb_inorder_matches(&tree, items, N), "a missing item unnoticed");
    items[0].in_tree = 1;
    HM_CHECK(rb_inorder_matches(&tree, items, N));

    free(items);
}


static void
test_timer_value(void)
{
    hm_uint_t          i, n, ordered, prev_seq;
    item_t             items[600];
    hm_rbtree_t        tree;
    hm_rbtree_node_t   sentinel, *node;
    hm_rbtree_key_t    prev_key, base;

    /* equal keys keep their insertion order */

    hm_rbtree_init(&tree, &sentinel, hm_rbtree_insert_timer_value);

    n = sizeof(items) / sizeof(items[0]);

    for (i = 0; i < n; i++) {
        items[i].node.key = 1000 + (rnd() % 7) * 100;
        items[i].seq = i;
        items[i].in_tree = 1;
        hm_rbtree_insert(&tree, &items[i].node);
    }

    HM_CHECK(rb_valid(&tree, n), "timer tree invariants");
    HM_CHECK(rb_inorder_matches(&tree, items, n), "timer tree order");

    ordered = 1;
    prev_key = 0;
    prev_seq = 0;

    for (node = hm_rbtree_min(tree.root, tree.sentinel);
         node;
         node = hm_rbtree_next(&tree, node))
    {
        item_t  *it = (item_t *) node;

        if (node->key == prev_key && it->seq < prev_seq) {
            ordered = 0;
        }

        prev_key = node->key;
        prev_seq = it->seq;
    }

    HM_CHECK(ordered, "equal timer keys are not in insertion order");

    /* deleting some keeps the rest in insertion order */

    for (i = 0; i < n; i += 3) {
        hm_rbtree_delete(&tree, &items[i].node);
        items[i].in_tree = 0;
    }

    ordered = 1;
    prev_key = 0;
    prev_seq = 0;

    for (node = hm_rbtree_min(tree.root, tree.sentinel);
         node;
         node = hm_rbtree_next(&tree, node))
    {
        item_t  *it = (item_t *) node;

        if (node->key == prev_key && it->seq < prev_seq) {
            ordered = 0;
        }

        prev_key = node->key;
        prev_seq = it->seq;
    }

    HM_CHECK(ordered, "equal timer keys out of order after deletes");
    HM_CHECK(rb_valid(&tree, n - (n + 2) / 3), "timer tree after deletes");

    /*
     * keys around the wraparound of the key type: base + d for d in
     * [0, 400), some of which wrap to small values, come out in d order
     */

    hm_rbtree_init(&tree, &sentinel, hm_rbtree_insert_timer_value);

    base = (hm_rbtree_key_t) -200;
    n = 400;

    for (i = 0; i < n; i++) {
        items[i].seq = (i * 7919) % n;                /* a permutation */
        items[i].node.key = base + items[i].seq;
        items[i].in_tree = 1;
        hm_rbtree_insert(&tree, &items[i].node);
    }

    HM_CHECK(rb_valid(&tree, n), "wraparound tree invariants");

    ordered = 1;
    i = 0;

    for (node = hm_rbtree_min(tree.root, tree.sentinel);
         node;
         node = hm_rbtree_next(&tree, node))
    {
        if (((item_t *) node)->seq != i) {
            ordered = 0;
        }
        i++;
    }

    HM_CHECK(ordered && i == n, "wraparound keys in signed-difference order");
    HM_CHECK(hm_rbtree_min(tree.root, tree.sentinel)->key == base,
             "the minimum is the earliest, before the wrap");
}


int
main(int argc, char **argv)
{
    hm_unit_init("test_rbtree");

    if (argc > 1) {
        rnd_state = strtoull(argv[1], NULL, 0) | 1;
    }

    test_random(0);          /* distinct keys (with high probability) */
    test_random(N / 4);      /* many duplicates */
    test_random(2);
    test_sequential();
    test_timer_value();

    return hm_unit_done();
}

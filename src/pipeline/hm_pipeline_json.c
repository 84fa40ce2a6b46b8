/*
 * Copyright (C) hermod authors
 *
 * JSON paths over jansson trees: "$.order.items[0].sku", "order.total",
 * "$['key with.dot']" is not supported: keys are [^.[\]]+.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_pipeline.h>


char *
hm_json_path_compile(hm_pool_t *pool, hm_str_t *text, hm_json_path_t *path)
{
    u_char              *p, *last, *start;
    hm_int_t             n;
    hm_json_path_elt_t  *e;

    path->text = *text;

    path->elts = hm_array_create(pool, 4, sizeof(hm_json_path_elt_t));
    if (path->elts == NULL) {
        return "out of memory";
    }

    p = text->data;
    last = p + text->len;

    if (p < last && *p == '$') {
        p++;

        if (p < last && *p == '.') {
            p++;

        } else if (p < last && *p != '[') {
            return "expected \".\" or \"[\" after \"$\"";
        }
    }

    while (p < last) {

        e = hm_array_push(path->elts);
        if (e == NULL) {
            return "out of memory";
        }

        if (*p == '[') {
            start = ++p;

            while (p < last && *p >= '0' && *p <= '9') {
                p++;
            }

            if (p == start || p == last || *p != ']') {
                return "an array index must be \"[N]\"";
            }

            n = hm_atoi(start, p - start);
            if (n == HM_ERROR) {
                return "invalid array index";
            }

            e->index = n;
            hm_str_null(&e->key);
            p++;

        } else {
            start = p;

            while (p < last && *p != '.' && *p != '[' && *p != ']') {
                p++;
            }

            if (p == start) {
                return "empty member name";
            }

            e->index = -1;
            e->key.data = hm_pnalloc(pool, p - start + 1);
            if (e->key.data == NULL) {
                return "out of memory";
            }

            /* jansson wants NUL-terminated keys */

            e->key.len = p - start;
            hm_memcpy(e->key.data, start, e->key.len);
            e->key.data[e->key.len] = '\0';
        }

        if (p < last && *p == '.') {
            p++;

            if (p == last) {
                return "the path ends with \".\"";
            }

        } else if (p < last && *p != '[') {
            return "unexpected character";
        }
    }

    if (path->elts->nelts == 0) {
        return "the path is empty";
    }

    return NULL;
}


static json_t *
hm_json_path_step(json_t *node, hm_json_path_elt_t *e)
{
    if (e->index >= 0) {
        return json_is_array(node) ? json_array_get(node, e->index) : NULL;
    }

    return json_is_object(node) ? json_object_get(node, (char *) e->key.data)
                                : NULL;
}


json_t *
hm_json_path_get(json_t *root, hm_json_path_t *path)
{
    hm_uint_t            i;
    hm_json_path_elt_t  *e;

    e = path->elts->elts;

    for (i = 0; root && i < path->elts->nelts; i++) {
        root = hm_json_path_step(root, &e[i]);
    }

    return root;
}


/* the parent of the last element, creating objects on the way */

static json_t *
hm_json_path_parent(json_t *root, hm_json_path_t *path, hm_uint_t create)
{
    json_t              *next;
    hm_uint_t            i;
    hm_json_path_elt_t  *e;

    e = path->elts->elts;

    for (i = 0; i + 1 < path->elts->nelts; i++) {
        next = hm_json_path_step(root, &e[i]);

        if (next == NULL) {
            if (!create || e[i].index >= 0 || !json_is_object(root)) {
                return NULL;
            }

            next = json_object();
            if (next == NULL) {
                return NULL;
            }

            if (json_object_set_new(root, (char *) e[i].key.data, next) != 0)
            {
                return NULL;
            }
        }

        root = next;
    }

    return root;
}


hm_int_t
hm_json_path_set(json_t *root, hm_json_path_t *path, json_t *v)
{
    json_t              *parent;
    size_t               size;
    hm_json_path_elt_t  *last;

    parent = hm_json_path_parent(root, path, 1);
    if (parent == NULL) {
        json_decref(v);
        return HM_DECLINED;
    }

    last = (hm_json_path_elt_t *) path->elts->elts + path->elts->nelts - 1;

    if (last->index < 0) {
        if (!json_is_object(parent)) {
            json_decref(v);
            return HM_DECLINED;
        }

        return json_object_set_new(parent, (char *) last->key.data, v) == 0
               ? HM_OK : HM_ERROR;
    }

    if (!json_is_array(parent)) {
        json_decref(v);
        return HM_DECLINED;
    }

    size = json_array_size(parent);

    if ((size_t) last->index < size) {
        return json_array_set_new(parent, last->index, v) == 0
               ? HM_OK : HM_ERROR;
    }

    if ((size_t) last->index == size) {
        return json_array_append_new(parent, v) == 0 ? HM_OK : HM_ERROR;
    }

    json_decref(v);

    return HM_DECLINED;
}


hm_int_t
hm_json_path_remove(json_t *root, hm_json_path_t *path)
{
    json_t              *parent;
    hm_json_path_elt_t  *last;

    parent = hm_json_path_parent(root, path, 0);
    if (parent == NULL) {
        return HM_DECLINED;
    }

    last = (hm_json_path_elt_t *) path->elts->elts + path->elts->nelts - 1;

    if (last->index < 0) {
        if (!json_is_object(parent)) {
            return HM_DECLINED;
        }

        return json_object_del(parent, (char *) last->key.data) == 0
               ? HM_OK : HM_DECLINED;
    }

    if (!json_is_array(parent)) {
        return HM_DECLINED;
    }

    return json_array_remove(parent, last->index) == 0 ? HM_OK : HM_DECLINED;
}


hm_int_t
hm_json_to_str(hm_pool_t *pool, json_t *v, hm_str_t *out)
{
    char    *s;
    size_t   len;

    switch (json_typeof(v)) {

    case JSON_STRING:
        out->data = (u_char *) json_string_value(v);
        out->len = json_string_length(v);
        return HM_OK;

    case JSON_TRUE:
        hm_str_set(out, "true");
        return HM_OK;

    case JSON_FALSE:
        hm_str_set(out, "false");
        return HM_OK;

    case JSON_NULL:
        hm_str_set(out, "null");
        return HM_OK;

    case JSON_INTEGER:
        out->data = hm_pnalloc(pool, HM_INT64_LEN);
        if (out->data == NULL) {
            return HM_ERROR;
        }

        out->len = hm_sprintf(out->data, "%L",
                              (int64_t) json_integer_value(v))
                   - out->data;
        return HM_OK;

    default:
        break;
    }

    /* reals, objects and arrays: jansson's own text */

    len = json_dumpb(v, NULL, 0, JSON_COMPACT|JSON_ENCODE_ANY);
    if (len == 0) {
        return HM_ERROR;
    }

    s = hm_pnalloc(pool, len);
    if (s == NULL) {
        return HM_ERROR;
    }

    out->len = json_dumpb(v, s, len, JSON_COMPACT|JSON_ENCODE_ANY);
    out->data = (u_char *) s;

    return HM_OK;
}

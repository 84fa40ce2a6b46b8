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

    return hm_json_dump(pool, v, 32, out);
}


/*
 * v as compact JSON text in pool memory: one pass into a buffer of the
 * expected size, a second only when the text turned out longer.
 */

hm_int_t
hm_json_dump(hm_pool_t *pool, json_t *v, size_t expect, hm_str_t *out)
{
    size_t   size, n;
    u_char  *p;

    size = expect ? expect : 64;

    for ( ;; ) {
        p = hm_pnalloc(pool, size);
        if (p == NULL) {
            return HM_ERROR;
        }

        n = json_dumpb(v, (char *) p, size, JSON_COMPACT|JSON_ENCODE_ANY);
        if (n == 0) {
            return HM_ERROR;
        }

        if (n <= size) {
            out->data = p;
            out->len = n;
            return HM_OK;
        }

        size = n;
    }
}


/*
 * A JSON text checked (RFC 8259, UTF-8) and copied without the
 * whitespace between tokens: dst gets at most len bytes.  Returns the
 * length written, or -1 when src is not JSON.  No allocation, one pass:
 * what the file outbound uses to embed a body that no filter parsed.
 */

#define HM_JSON_MAX_DEPTH  512


/* a byte of w that is '"', '\\', below 0x20 or 0x80 and above */

#define HM_JSON_ONES    0x0101010101010101ULL
#define HM_JSON_HIGHS   0x8080808080808080ULL

#define hm_json_zero_byte(v)   (((v) - HM_JSON_ONES) & ~(v) & HM_JSON_HIGHS)

#define hm_json_special(w)                                                    \
    ((((w) - HM_JSON_ONES * 0x20) | (w)                                       \
      | hm_json_zero_byte((w) ^ (HM_JSON_ONES * '"'))                         \
      | hm_json_zero_byte((w) ^ (HM_JSON_ONES * '\\')))                       \
     & HM_JSON_HIGHS)


static ssize_t hm_json_utf8(u_char *p, u_char *last);

ssize_t
hm_json_compact(u_char *dst, u_char *src, size_t len)
{
    u_char     *p, *last, *d, c;
    u_char      stack[HM_JSON_MAX_DEPTH];   /* '{' or '[' */
    hm_uint_t   depth;
    ssize_t     n;

    enum {
        sw_value = 0,      /* a value is expected */
        sw_after_value,    /* ',' or a closing bracket, or the end */
        sw_key,            /* a key (or '}' right after '{') */
        sw_colon,
        sw_first_value,    /* a value or ']' right after '[' */
    } state;

    p = src;
    last = src + len;
    d = dst;
    depth = 0;
    state = sw_value;

    for ( ;; ) {

        while (p < last
               && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        {
            p++;
        }

        if (p == last) {
            return (state == sw_after_value && depth == 0) ? d - dst : -1;
        }

        c = *p;

        switch (state) {

        case sw_first_value:
            if (c == ']') {
                goto close;
            }

            /* fall through */

        case sw_value:
            if (c == '{' || c == '[') {
                if (depth == HM_JSON_MAX_DEPTH) {
                    return -1;
                }

                stack[depth++] = c;
                *d++ = *p++;
                state = (c == '{') ? sw_key : sw_first_value;
                break;
            }

            n = hm_json_scalar(d, p, last);
            if (n < 0) {
                return -1;
            }

            d += n;
            p += n;
            state = sw_after_value;
            break;

        case sw_key:
            if (c == '}' && d > dst && d[-1] == '{') {
                goto close;
            }

            if (c != '"') {
                return -1;
            }

            n = hm_json_string(d, p, last);
            if (n < 0) {
                return -1;
            }

            d += n;
            p += n;
            state = sw_colon;
            break;

        case sw_colon:
            if (c != ':') {
                return -1;
            }

            *d++ = *p++;
            state = sw_value;
            break;

        case sw_after_value:
            if (depth == 0) {
                return -1;
            }

            if (c == ',') {
                *d++ = *p++;
                state = (stack[depth - 1] == '{') ? sw_key : sw_value;
                break;
            }

            goto close;
        }

        continue;

    close:

        if (depth == 0
            || (c == '}' && stack[depth - 1] != '{')
            || (c == ']' && stack[depth - 1] != '['))
        {
            return -1;
        }

        depth--;
        *d++ = *p++;
        state = sw_after_value;
    }
}


/* a string, quotes included: escapes and UTF-8 checked; its length */

ssize_t
hm_json_string(u_char *dst, u_char *p, u_char *last)
{
    u_char     *start, c;
    ssize_t     n;
    hm_uint_t   i;

    start = p++;

    while (p < last) {

        /* eight plain bytes at a time: no '"', '\\', control or 8-bit */

        while (last - p >= 8) {
            uint64_t  w;

            hm_memcpy(&w, p, 8);

            if (hm_json_special(w)) {
                break;
            }

            p += 8;
        }

        if (p == last) {
            break;
        }

        c = *p++;

        if (c == '"') {
            if (dst) {
                hm_memcpy(dst, start, p - start);
            }

            return p - start;
        }

        if (c < 0x20) {
            return -1;
        }

        if (c == '\\') {
            if (p == last) {
                return -1;
            }

            c = *p++;

            if (c == 'u') {
                if (last - p < 4) {
                    return -1;
                }

                for (i = 0; i < 4; i++) {
                    if (!isxdigit(p[i])) {
                        return -1;
                    }
                }

                p += 4;

            } else if (hm_strchr("\"\\/bfnrt", c) == NULL || c == '\0') {
                return -1;
            }

            continue;
        }

        if (c < 0x80) {
            continue;
        }

        n = hm_json_utf8(p - 1, last);
        if (n < 0) {
            return -1;
        }

        p += n - 1;
    }

    return -1;
}


/* one UTF-8 sequence at p (*p >= 0x80): its length, or -1 */

static ssize_t
hm_json_utf8(u_char *p, u_char *last)
{
    u_char     c;
    uint32_t   u;
    hm_uint_t  i, n;

    c = *p++;

    /* no overlong forms, no surrogates, up to U+10FFFF */

    if (c >= 0xc2 && c <= 0xdf) {
        n = 1; u = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2; u = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3; u = c & 0x07;
    } else {
        return -1;
    }

    if ((size_t) (last - p) < n) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return -1;
        }

        u = (u << 6) | (p[i] & 0x3f);
    }

    if ((n == 2 && (u < 0x800 || (u >= 0xd800 && u <= 0xdfff)))
        || (n == 3 && (u < 0x10000 || u > 0x10ffff)))
    {
        return -1;
    }

    return n + 1;
}


/* a number, a string, true, false or null */

ssize_t
hm_json_scalar(u_char *dst, u_char *p, u_char *last)
{
    u_char  *start;

    start = p;

    if (*p == '"') {
        return hm_json_string(dst, p, last);
    }

    if (*p == 't' || *p == 'f' || *p == 'n') {
        if (last - p >= 4 && hm_strncmp(p, "true", 4) == 0) {
            p += 4;
        } else if (last - p >= 5 && hm_strncmp(p, "false", 5) == 0) {
            p += 5;
        } else if (last - p >= 4 && hm_strncmp(p, "null", 4) == 0) {
            p += 4;
        } else {
            return -1;
        }

        if (dst) {
            hm_memcpy(dst, start, p - start);
        }

        return p - start;
    }

    /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */

    if (p < last && *p == '-') {
        p++;
    }

    if (p == last || !(*p >= '0' && *p <= '9')) {
        return -1;
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < last && *p >= '0' && *p <= '9') { p++; }
    }

    if (p < last && *p == '.') {
        p++;

        if (p == last || !(*p >= '0' && *p <= '9')) {
            return -1;
        }

        while (p < last && *p >= '0' && *p <= '9') { p++; }
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == last || !(*p >= '0' && *p <= '9')) {
            return -1;
        }

        while (p < last && *p >= '0' && *p <= '9') { p++; }
    }

    if (dst) {
        hm_memcpy(dst, start, p - start);
    }

    return p - start;
}


/*
 * A byte string as the inside of a JSON string: the length it needs, or
 * -1 when it is not UTF-8 (then it cannot be a JSON string).
 */

ssize_t
hm_json_escape_len(u_char *src, size_t len)
{
    u_char   *p, *last;
    size_t    n;
    ssize_t   k;

    n = 0;
    last = src + len;

    for (p = src; p < last; p++) {
        if (*p < 0x20) {
            n += (*p == '\n' || *p == '\r' || *p == '\t') ? 2 : 6;

        } else if (*p == '"' || *p == '\\') {
            n += 2;

        } else if (*p < 0x80) {
            n++;

        } else {
            k = hm_json_utf8(p, last);
            if (k < 0) {
                return -1;
            }

            n += k;
            p += k - 1;
        }
    }

    return n;
}


u_char *
hm_json_escape(u_char *dst, u_char *src, size_t len)
{
    u_char         *p, *last;
    static u_char   hex[] = "0123456789abcdef";

    last = src + len;

    for (p = src; p < last; p++) {
        switch (*p) {
        case '"':
        case '\\':
            *dst++ = '\\';
            *dst++ = *p;
            break;
        case '\n':
            *dst++ = '\\';
            *dst++ = 'n';
            break;
        case '\r':
            *dst++ = '\\';
            *dst++ = 'r';
            break;
        case '\t':
            *dst++ = '\\';
            *dst++ = 't';
            break;
        default:
            if (*p < 0x20) {
                dst = hm_cpymem(dst, "\\u00", 4);
                *dst++ = hex[*p >> 4];
                *dst++ = hex[*p & 0xf];

            } else {
                *dst++ = *p;
            }
        }
    }

    return dst;
}


/*
 * Edits and lookups on the JSON text itself, without a tree: what the
 * transform and route filters use on a body no filter parsed yet.  They
 * check the whole text first.  HM_AGAIN means "not without a tree" (an
 * array index, a key with escapes): the caller parses the body instead.
 */

static u_char *
hm_json_ws(u_char *p, u_char *last)
{
    while (p < last && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    {
        p++;
    }

    return p;
}


/* the end of the value at p (no leading whitespace), or NULL */

static u_char *
hm_json_skip(u_char *p, u_char *last, hm_uint_t depth)
{
    u_char   close;
    ssize_t  n;

    if (p == last) {
        return NULL;
    }

    if (*p != '{' && *p != '[') {
        n = hm_json_scalar(NULL, p, last);
        return n < 0 ? NULL : p + n;
    }

    if (depth == HM_JSON_MAX_DEPTH) {
        return NULL;
    }

    close = (*p == '{') ? '}' : ']';

    p = hm_json_ws(p + 1, last);

    if (p < last && *p == close) {
        return p + 1;
    }

    for ( ;; ) {
        if (close == '}') {
            if (p == last || *p != '"') {
                return NULL;
            }

            n = hm_json_string(NULL, p, last);
            if (n < 0) {
                return NULL;
            }

            p = hm_json_ws(p + n, last);

            if (p == last || *p != ':') {
                return NULL;
            }

            p = hm_json_ws(p + 1, last);
        }

        p = hm_json_skip(p, last, depth + 1);
        if (p == NULL) {
            return NULL;
        }

        p = hm_json_ws(p, last);

        if (p == last) {
            return NULL;
        }

        if (*p == close) {
            return p + 1;
        }

        if (*p != ',') {
            return NULL;
        }

        p = hm_json_ws(p + 1, last);
    }
}


/* the root value: HM_OK, or HM_ERROR when the text is not JSON */

static hm_int_t
hm_json_root(hm_str_t *text, u_char **start, u_char **end)
{
    u_char  *p, *last;

    last = text->data + text->len;
    p = hm_json_ws(text->data, last);

    *start = p;
    *end = hm_json_skip(p, last, 0);

    if (*end == NULL || hm_json_ws(*end, last) != last) {
        return HM_ERROR;
    }

    return HM_OK;
}


/*
 * The last member named key of the object at p: its value's span, and
 * the end of the object (before '}').  HM_DECLINED: no such member;
 * HM_AGAIN: a key with escapes.
 */

static hm_int_t
hm_json_member(u_char *p, u_char *last, hm_str_t *key, u_char **vstart,
    u_char **vend, u_char **obj_close)
{
    u_char    *k, *v;
    ssize_t    n;
    hm_int_t   rc;

    rc = HM_DECLINED;

    p = hm_json_ws(p + 1, last);

    while (*p != '}') {
        n = hm_json_string(NULL, p, last);
        k = p + 1;

        if (hm_strlchr(k, p + n - 1, '\\')) {
            return HM_AGAIN;
        }

        p = hm_json_ws(p + n, last);
        v = hm_json_ws(p + 1, last);
        p = hm_json_skip(v, last, 0);

        if ((size_t) n - 2 == key->len
            && hm_memcmp(k, key->data, key->len) == 0)
        {
            *vstart = v;
            *vend = p;
            rc = HM_OK;
        }

        p = hm_json_ws(p, last);

        if (*p == ',') {
            p = hm_json_ws(p + 1, last);
        }
    }

    *obj_close = p;

    return rc;
}


hm_int_t
hm_json_raw_get(hm_str_t *text, hm_json_path_t *path, hm_str_t *value)
{
    u_char              *p, *end, *vs, *ve, *close, *last;
    hm_int_t             rc;
    hm_uint_t            i;
    hm_json_path_elt_t  *e;

    if (hm_json_root(text, &p, &end) != HM_OK) {
        return HM_ERROR;
    }

    last = text->data + text->len;
    e = path->elts->elts;

    for (i = 0; i < path->elts->nelts; i++) {
        if (e[i].index >= 0) {
            return HM_AGAIN;
        }

        if (*p != '{') {
            return HM_DECLINED;
        }

        rc = hm_json_member(p, last, &e[i].key, &vs, &ve, &close);
        if (rc != HM_OK) {
            return rc;
        }

        p = vs;
        end = ve;
    }

    value->data = p;
    value->len = end - p;

    return HM_OK;
}


/*
 * Sets the value at path to the JSON text v: a new text in out (from
 * pool).  Missing objects on the way are created, a new member goes last
 * in its object, as with a tree.  HM_ERROR: not JSON; HM_AGAIN: not
 * without a tree (array indexes, escaped keys, a path through a value
 * that is not an object).
 */

hm_int_t
hm_json_raw_set(hm_pool_t *pool, hm_str_t *text, hm_json_path_t *path,
    hm_str_t *v, hm_str_t *out)
{
    u_char              *p, *end, *vs, *ve, *close, *last, *o, *from, *to;
    size_t               len;
    hm_int_t             rc;
    hm_uint_t            i, j, empty = 0;
    hm_json_path_elt_t  *e;

    if (hm_json_root(text, &p, &end) != HM_OK) {
        return HM_ERROR;
    }

    last = text->data + text->len;
    e = path->elts->elts;

    for (i = 0; i < path->elts->nelts; i++) {
        if (e[i].index >= 0 || *p != '{'
            || hm_json_escape_len(e[i].key.data, e[i].key.len)
               != (ssize_t) e[i].key.len)
        {
            return HM_AGAIN;
        }

        rc = hm_json_member(p, last, &e[i].key, &vs, &ve, &close);

        if (rc == HM_AGAIN) {
            return HM_AGAIN;
        }

        if (rc == HM_DECLINED) {
            break;
        }

        p = vs;
        end = ve;
    }

    if (i == path->elts->nelts) {
        /* replace the value */
        from = p;
        to = end;
        len = v->len;

    } else {
        /* insert "key":{"key2":...v...} before the object's end */

        empty = (hm_json_ws(p + 1, last) == close);
        from = close;
        to = close;

        len = v->len + (empty ? 0 : 1);

        for (j = i; j < path->elts->nelts; j++) {
            if (e[j].index >= 0
                || hm_json_escape_len(e[j].key.data, e[j].key.len)
                   != (ssize_t) e[j].key.len)
            {
                return HM_AGAIN;
            }

            len += e[j].key.len + sizeof("\"\":{}") - 1;
        }
    }

    out->data = hm_pnalloc(pool, text->len - (to - from) + len);
    if (out->data == NULL) {
        return HM_ERROR;
    }

    o = hm_cpymem(out->data, text->data, from - text->data);

    if (i == path->elts->nelts) {
        o = hm_cpymem(o, v->data, v->len);

    } else {
        if (!empty) {
            *o++ = ',';
        }

        for (j = i; j < path->elts->nelts; j++) {
            if (j > i) {
                *o++ = '{';
            }

            *o++ = '"';
            o = hm_cpymem(o, e[j].key.data, e[j].key.len);
            *o++ = '"';
            *o++ = ':';
        }

        o = hm_cpymem(o, v->data, v->len);

        for (j = i + 1; j < path->elts->nelts; j++) {
            *o++ = '}';
        }
    }

    o = hm_cpymem(o, to, last - to);

    out->len = o - out->data;

    return HM_OK;
}

/*
 * Copyright (C) hermod authors
 *
 * The tree-less JSON checker and compactor, the escaper, and JSON paths
 * over jansson trees.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_pipeline.h>
#include <hm_unit.h>


static u_char  out[4096];


static ssize_t
compact(const char *s)
{
    return hm_json_compact(out, (u_char *) s, strlen(s));
}


#define OK(s, want)                                                           \
    do {                                                                      \
        ssize_t  n_ = compact(s);                                             \
        HM_CHECK(n_ == (ssize_t) strlen(want)                                 \
                 && memcmp(out, want, n_) == 0,                               \
                 "compact(%s) = %.*s", s, (int) (n_ < 0 ? 2 : n_),            \
                 n_ < 0 ? "-1" : (char *) out);                               \
    } while (0)

#define BAD(s)  HM_CHECK_INT(compact(s), -1)


static void
test_compact(void)
{
    OK("{}", "{}");
    OK(" { } ", "{}");
    OK("[]", "[]");
    OK("0", "0");
    OK("-1.5e+10", "-1.5e+10");
    OK("\"x\"", "\"x\"");
    OK("true", "true");
    OK("null", "null");
    OK("{ \"a\" : 1 ,\n \"b\" : [ 1 , 2 , { } ] }", "{\"a\":1,\"b\":[1,2,{}]}");
    OK("{\"s\":\"a b\\n\\u00e9\\\"\"}", "{\"s\":\"a b\\n\\u00e9\\\"\"}");
    OK("{\"u\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
       "{\"u\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
    OK("[[[[[[1]]]]]]", "[[[[[[1]]]]]]");

    /* long strings: eight bytes at a time, then a special byte anywhere */
    OK("\"abcdefghijklmnopqrstuvwxyz0123456789\"",
       "\"abcdefghijklmnopqrstuvwxyz0123456789\"");
    OK("\"abcdefghijklm\\\"nopqrstuvwxyz\"",
       "\"abcdefghijklm\\\"nopqrstuvwxyz\"");
    OK("\"abcdefgh\xc3\xa9ijklmnopqrstuvw\"",
       "\"abcdefgh\xc3\xa9ijklmnopqrstuvw\"");
    OK("[\"1234567\",\"12345678\",\"123456789abcdef\"]",
       "[\"1234567\",\"12345678\",\"123456789abcdef\"]");
    OK("\" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~\"",
       "\" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~\"");

    BAD("");
    BAD("   ");
    BAD("{");
    BAD("}");
    BAD("{]");
    BAD("[}");
    BAD("{\"a\"}");
    BAD("{\"a\":}");
    BAD("{\"a\":1,}");
    BAD("[1,]");
    BAD("[,1]");
    BAD("{a:1}");
    BAD("{\"a\":1}{}");
    BAD("1 2");
    BAD("01");
    BAD("-");
    BAD("1.");
    BAD("1e");
    BAD(".5");
    BAD("tru");
    BAD("nul");
    BAD("True");
    BAD("\"unterminated");
    BAD("\"tab\there\"");
    BAD("\"bad escape \\x\"");
    BAD("\"short \\u12\"");
    BAD("\"\xc3\"");                  /* truncated */
    BAD("\"\xc0\xaf\"");              /* overlong */
    BAD("\"\xed\xa0\x80\"");          /* a surrogate */
    BAD("\"\xf5\x80\x80\x80\"");      /* past U+10FFFF */
    BAD("\"\xff\"");
    BAD("{\"a\":1 \"b\":2}");
    BAD("\"abcdefghijklmnopq\x01rstuvwxyz\"");
    BAD("\"abcdefghijklmnopqrstu\xffvwxyz\"");
    BAD("\"abcdefghijklmnopqrstuvwxyz");
}


static void
test_depth(void)
{
    char  deep[1200];

    memset(deep, '[', 600);
    memset(deep + 600, ']', 600);

    /* 600 levels: over the limit, refused rather than overflowing */
    HM_CHECK_INT(hm_json_compact(out, (u_char *) deep, 1200), -1);

    /* 500 levels: within it */
    HM_CHECK_INT(hm_json_compact(out, (u_char *) deep + 100, 1000), 1000);
}


static void
test_escape(void)
{
    u_char  *p;
    ssize_t  n;

    n = hm_json_escape_len((u_char *) "a\"b\\c\n\x01", 7);
    HM_CHECK_INT(n, 15);

    p = hm_json_escape(out, (u_char *) "a\"b\\c\n\x01", 7);
    HM_CHECK(p - out == 15 && memcmp(out, "a\\\"b\\\\c\\n\\u0001", 15) == 0,
             "escape: %.*s", (int) (p - out), out);

    HM_CHECK_INT(hm_json_escape_len((u_char *) "\xff", 1), -1);
    HM_CHECK_INT(hm_json_escape_len((u_char *) "\xc3\xa9", 2), 2);
}


static void
test_paths(void)
{
    char            *err;
    json_t          *root, *v;
    hm_str_t         text;
    hm_pool_t       *pool;
    json_error_t     jerr;
    hm_json_path_t   path;

    pool = hm_create_pool(4096, hm_log_init(NULL, NULL));
    HM_CHECK(pool != NULL, "pool");

    root = json_loads("{\"a\":{\"b\":[10,{\"c\":\"x\"}]}}", 0, &jerr);
    HM_CHECK(root != NULL, "json_loads");

    hm_str_set(&text, "$.a.b[1].c");
    err = hm_json_path_compile(pool, &text, &path);
    HM_CHECK(err == NULL, "compile $.a.b[1].c: %s", err ? err : "");

    v = hm_json_path_get(root, &path);
    HM_CHECK(v && json_is_string(v)
             && strcmp(json_string_value(v), "x") == 0, "get $.a.b[1].c");

    hm_str_set(&text, "a.b[0]");
    (void) hm_json_path_compile(pool, &text, &path);
    v = hm_json_path_get(root, &path);
    HM_CHECK(v && json_integer_value(v) == 10, "get a.b[0]");

    hm_str_set(&text, "$.n.m");
    (void) hm_json_path_compile(pool, &text, &path);
    HM_CHECK_INT(hm_json_path_set(root, &path, json_integer(1)), HM_OK);
    HM_CHECK(json_integer_value(hm_json_path_get(root, &path)) == 1,
             "set creates objects");

    hm_str_set(&text, "$.a.b.c");
    (void) hm_json_path_compile(pool, &text, &path);
    HM_CHECK_INT(hm_json_path_set(root, &path, json_integer(1)),
                 HM_DECLINED);
    HM_CHECK_INT(hm_json_path_remove(root, &path), HM_DECLINED);

    hm_str_set(&text, "$.a.b[0]");
    (void) hm_json_path_compile(pool, &text, &path);
    HM_CHECK_INT(hm_json_path_remove(root, &path), HM_OK);

    hm_str_set(&text, "$.a..b");
    HM_CHECK(hm_json_path_compile(pool, &text, &path) != NULL, "a..b");
    hm_str_set(&text, "$.a[x]");
    HM_CHECK(hm_json_path_compile(pool, &text, &path) != NULL, "a[x]");
    hm_str_set(&text, "$");
    HM_CHECK(hm_json_path_compile(pool, &text, &path) != NULL, "$");
    hm_str_set(&text, "a.");
    HM_CHECK(hm_json_path_compile(pool, &text, &path) != NULL, "a.");

    json_decref(root);
    hm_destroy_pool(pool);
}


int
main(void)
{
    hm_unit_init("test_json");

    test_compact();
    test_depth();
    test_escape();
    test_paths();

    return hm_unit_done();
}

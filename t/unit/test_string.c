/*
 * Copyright (C) hermod authors
 *
 * hm_sprintf() and friends, the bounds of hm_slprintf(), and the small
 * string helpers: hm_atoi, hm_hextoi, hm_strncasecmp, hm_strnstr,
 * hm_cpystrn, hm_strlow, hm_hex_dump, hm_http_time.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_unit.h>


#define FILL  0xA5


/* hm_sprintf() into a fresh buffer and compare with want */

#define SPRINTF_IS(want, ...)                                                 \
    do {                                                                      \
        u_char  b_[256], *e_;                                                 \
        memset(b_, FILL, sizeof(b_));                                         \
        e_ = hm_sprintf(b_, __VA_ARGS__);                                     \
        HM_CHECK_STR(b_, e_ - b_, want);                                      \
        HM_CHECK(b_[e_ - b_] == FILL, "wrote past the returned end");         \
    } while (0)


static void
test_sprintf(void)
{
    hm_str_t   v = hm_string("value");
    hm_str_t   empty = hm_null_string;
    u_char     b[64], *e;
    char       s[] = "abcdef";

    SPRINTF_IS("plain text", "plain text");
    SPRINTF_IS("", "");

    /* %V, %s, %*s */
    SPRINTF_IS("[value]", "[%V]", &v);

    SPRINTF_IS("[]", "[%V]", &empty);
    SPRINTF_IS("<abcdef>", "<%s>", s);
    SPRINTF_IS("<(null)>", "<%s>", (char *) NULL);
    SPRINTF_IS("<abc>", "<%*s>", (size_t) 3, s);
    SPRINTF_IS("<>", "<%*s>", (size_t) 0, s);

    /* %d and widths */
    SPRINTF_IS("42", "%d", 42);
    SPRINTF_IS("0", "%d", 0);
    SPRINTF_IS("-42", "%d", -42);
    SPRINTF_IS("2147483647", "%d", 2147483647);
    SPRINTF_IS("-2147483648", "%d", (int) (-2147483647 - 1));
    SPRINTF_IS("4294967295", "%ud", 4294967295U);
    SPRINTF_IS("00000042", "%08d", 42);
    SPRINTF_IS("      42", "%8d", 42);
    SPRINTF_IS("12345", "%3d", 12345);
    SPRINTF_IS("-00000042", "%08d", -42);    /* the sign is outside */
    SPRINTF_IS("1 2 3", "%d %d %d", 1, 2, 3);

    /* %i, %ui */
    SPRINTF_IS("-5", "%i", (hm_int_t) -5);
    SPRINTF_IS("9223372036854775807", "%i", (hm_int_t) HM_MAX_INT_T_VALUE);
    SPRINTF_IS("-9223372036854775807", "%i",
               (hm_int_t) -HM_MAX_INT_T_VALUE);
    SPRINTF_IS("18446744073709551615", "%ui", (hm_uint_t) -1);
    SPRINTF_IS("7", "%ui", (hm_uint_t) 7);

    /* %z, %uz */
    SPRINTF_IS("-7", "%z", (ssize_t) -7);
    SPRINTF_IS("7", "%uz", (size_t) 7);
    SPRINTF_IS("18446744073709551615", "%uz", (size_t) -1);

    /* hexadecimal */
    SPRINTF_IS("ff", "%xd", 255);
    SPRINTF_IS("FF", "%Xd", 255);
    SPRINTF_IS("0", "%xd", 0);
    SPRINTF_IS("000000ff", "%08xd", 255);
    SPRINTF_IS("deadbeef", "%xD", (uint32_t) 0xdeadbeef);
    SPRINTF_IS("DEADBEEFCAFE", "%XL", (uint64_t) 0xdeadbeefcafeULL);
    SPRINTF_IS("ffffffffffffffff", "%xi", (hm_uint_t) -1);

    /* the other integer types */
    SPRINTF_IS("-123456789012", "%L", (int64_t) -123456789012LL);
    SPRINTF_IS("123456789012", "%uL", (uint64_t) 123456789012ULL);
    SPRINTF_IS("-9223372036854775808", "%L", (int64_t) INT64_MIN);
    SPRINTF_IS("-9223372036854775808", "%O", (off_t) INT64_MIN);
    SPRINTF_IS("-2147483648", "%D", (int32_t) (-2147483647 - 1));
    SPRINTF_IS("-99", "%l", (long) -99);
    SPRINTF_IS("1099511627776", "%O", (off_t) 1099511627776LL);
    SPRINTF_IS("-1", "%O", (off_t) -1);
    SPRINTF_IS("1700000000", "%T", (time_t) 1700000000);
    SPRINTF_IS("12345", "%P", (pid_t) 12345);
    SPRINTF_IS("1500", "%M", (hm_msec_t) 1500);
    SPRINTF_IS("-1", "%M", (hm_msec_t) -1);

    /* %p: zero-padded upper-case hex, two digits per byte */
    if (sizeof(void *) == 8) {
        SPRINTF_IS("0000000000001234", "%p", (void *) 0x1234);
        SPRINTF_IS("00007FFFDEADBEEF", "%p", (void *) 0x7fffdeadbeefULL);
    }

    /* %c, %%, %N, %Z */
    SPRINTF_IS("x", "%c", 'x');
    SPRINTF_IS("<A>", "<%c>", 'A');
    SPRINTF_IS("100%", "%d%%", 100);
    SPRINTF_IS("%", "%%");
    SPRINTF_IS("a\nb", "a%Nb");

    e = hm_sprintf(b, "a%Zb%*s", (size_t) 2, "\0c");
    HM_CHECK(e - b == 5 && memcmp(b, "a\0b\0c", 5) == 0,
             "%%Z and %%*s with a NUL");

    /* %f */
    SPRINTF_IS("3.142", "%.3f", 3.14159);
    SPRINTF_IS("2.000", "%.3f", 2.0);
    SPRINTF_IS("-1.500", "%.3f", -1.5);
    SPRINTF_IS("1.000", "%.3f", 0.9999);    /* the fraction carries */
    SPRINTF_IS("0.050", "%.3f", 0.05);
    SPRINTF_IS("00003.14", "%05.2f", 3.14159);
    SPRINTF_IS("12", "%f", 12.75);          /* no precision: truncated */

    /* a mix */
    SPRINTF_IS("GET /index.html 200 1.5s",
               "%V %s %d %ui.%uis", &(hm_str_t) hm_string("GET"),
               "/index.html", 200, (hm_uint_t) 1, (hm_uint_t) 5);

    /* hm_snprintf(): max bytes, no NUL added */
    memset(b, FILL, sizeof(b));
    e = hm_snprintf(b, 5, "%s", "abcdefgh");
    HM_CHECK(e == b + 5, "snprintf end %d", (int) (e - b));
    HM_CHECK_STR(b, 5, "abcde");
    HM_CHECK(b[5] == FILL, "snprintf wrote past max");

    memset(b, FILL, sizeof(b));
    e = hm_snprintf(b, 0, "%d", 12345);
    HM_CHECK(e == b && b[0] == FILL, "snprintf with max 0 wrote");

    memset(b, FILL, sizeof(b));
    e = hm_snprintf(b, sizeof(b), "%d-%s", 7, "x");
    HM_CHECK_STR(b, e - b, "7-x");
    HM_CHECK(b[3] == FILL, "snprintf NUL-terminated its output");
}


/*
 * Every format through hm_slprintf() with every possible room: the output
 * is the prefix of the full output, the returned end is right and nothing
 * is written at or past "last".
 */

typedef struct {
    const char  *name;
    u_char    *(*print)(u_char *buf, u_char *last);
} trunc_case_t;


static hm_str_t  trunc_str = hm_string("a string");

static u_char *tr_v(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "<%V>", &trunc_str); }
static u_char *tr_s(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "<%s>", "a C string"); }
static u_char *tr_null(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "<%s>", (char *) NULL); }
static u_char *tr_star(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "<%*s>", (size_t) 6, "counted string"); }
static u_char *tr_d(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "n=%d", -1234567); }
static u_char *tr_pad(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "[%012d]", 987); }
static u_char *tr_spad(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "[%10ui]", (hm_uint_t) 5); }
static u_char *tr_hex(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "%Xd/%xL", 0xabcdef, (uint64_t) -1); }
static u_char *tr_neg(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "%i%z", (hm_int_t) -42, (ssize_t) -9); }
static u_char *tr_p(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "%p", (void *) 0x1234abcd); }
static u_char *tr_f(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "%.3f|%08.2f", -12.3456, 3.5); }
static u_char *tr_chars(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "%c%c%%%N%c", 'x', 'y', 'z'); }
static u_char *tr_mix(u_char *b, u_char *l)
    { return hm_slprintf(b, l, "%s:%ui %V (%d: %s)", "file", (hm_uint_t) 12,
                         &trunc_str, 2, "No such file or directory"); }


static void
test_truncation(void)
{
    size_t         i, n, full_len, want_len;
    u_char         full[256], buf[256], *e;
    hm_uint_t      k;
    hm_uint_t      bad_prefix, bad_end, bad_over;
    trunc_case_t   cases[] = {
        { "%V", tr_v }, { "%s", tr_s }, { "%s NULL", tr_null },
        { "%*s", tr_star }, { "%d", tr_d }, { "%012d", tr_pad },
        { "%10ui", tr_spad }, { "hex", tr_hex }, { "negative", tr_neg },
        { "%p", tr_p }, { "%f", tr_f }, { "chars", tr_chars },
        { "mix", tr_mix }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {

        e = cases[i].print(full, full + sizeof(full));
        full_len = e - full;

        HM_CHECK(full_len > 0 && full_len < sizeof(full) - 8,
                 "%s: full length %zu", cases[i].name, full_len);

        bad_prefix = 0;
        bad_end = 0;
        bad_over = 0;

        for (n = 0; n <= full_len + 2; n++) {
            memset(buf, FILL, sizeof(buf));

            e = cases[i].print(buf, buf + n);

            want_len = (n < full_len) ? n : full_len;

            if (e != buf + want_len) {
                bad_end++;
            }

            if (memcmp(buf, full, want_len) != 0) {
                bad_prefix++;
            }

            for (k = n < full_len ? n : full_len; k < sizeof(buf); k++) {
                if (buf[k] != FILL) {
                    bad_over++;
                    break;
                }
            }
        }

        HM_CHECK(bad_end == 0, "%s: wrong end for %lu room sizes",
                 cases[i].name, (unsigned long) bad_end);
        HM_CHECK(bad_prefix == 0, "%s: not a prefix for %lu room sizes",
                 cases[i].name, (unsigned long) bad_prefix);
        HM_CHECK(bad_over == 0, "%s: wrote past last for %lu room sizes",
                 cases[i].name, (unsigned long) bad_over);
    }

    /* the exact example: a 3-byte room */
    memset(buf, FILL, sizeof(buf));
    e = hm_slprintf(buf, buf + 3, "%d", 123456);
    HM_CHECK_STR(buf, e - buf, "123");
    HM_CHECK(buf[3] == FILL, "wrote past last");

    memset(buf, FILL, sizeof(buf));
    e = hm_slprintf(buf, buf + 4, "%08d", 5);
    HM_CHECK_STR(buf, e - buf, "0000");
    HM_CHECK(buf[4] == FILL, "padding wrote past last");
}


static void
test_atoi(void)
{
    HM_CHECK_INT(hm_atoi((u_char *) "0", 1), 0);
    HM_CHECK_INT(hm_atoi((u_char *) "123", 3), 123);
    HM_CHECK_INT(hm_atoi((u_char *) "007", 3), 7);
    HM_CHECK_INT(hm_atoi((u_char *) "12345", 2), 12);     /* n is honoured */
    HM_CHECK_INT(hm_atoi((u_char *) "9223372036854775807", 19),
                 HM_MAX_INT_T_VALUE);

    HM_CHECK_INT(hm_atoi((u_char *) "", 0), HM_ERROR);
    HM_CHECK_INT(hm_atoi((u_char *) "5", 0), HM_ERROR);
    HM_CHECK_INT(hm_atoi((u_char *) "12a", 3), HM_ERROR);
    HM_CHECK_INT(hm_atoi((u_char *) "-1", 2), HM_ERROR);
    HM_CHECK_INT(hm_atoi((u_char *) "+1", 2), HM_ERROR);
    HM_CHECK_INT(hm_atoi((u_char *) " 1", 2), HM_ERROR);
    HM_CHECK_INT(hm_atoi((u_char *) "9223372036854775808", 19), HM_ERROR);
    HM_CHECK_INT(hm_atoi((u_char *) "9223372036854775810", 19), HM_ERROR);
    HM_CHECK_INT(hm_atoi((u_char *) "10000000000000000000", 20), HM_ERROR);
    HM_CHECK_INT(hm_atoi((u_char *) "99999999999999999999", 20), HM_ERROR);

    HM_CHECK_INT(hm_atosz((u_char *) "4096", 4), 4096);
    HM_CHECK_INT(hm_atosz((u_char *) "x", 1), -1);
}


static void
test_hextoi(void)
{
    HM_CHECK_INT(hm_hextoi((u_char *) "0", 1), 0);
    HM_CHECK_INT(hm_hextoi((u_char *) "ff", 2), 255);
    HM_CHECK_INT(hm_hextoi((u_char *) "FF", 2), 255);
    HM_CHECK_INT(hm_hextoi((u_char *) "aBcD", 4), 0xabcd);
    HM_CHECK_INT(hm_hextoi((u_char *) "10", 2), 16);
    HM_CHECK_INT(hm_hextoi((u_char *) "1fz", 2), 31);     /* n is honoured */
    HM_CHECK_INT(hm_hextoi((u_char *) "7fffffffffffffff", 16),
                 HM_MAX_INT_T_VALUE);

    HM_CHECK_INT(hm_hextoi((u_char *) "", 0), HM_ERROR);
    HM_CHECK_INT(hm_hextoi((u_char *) "g", 1), HM_ERROR);
    HM_CHECK_INT(hm_hextoi((u_char *) "0x10", 4), HM_ERROR);
    HM_CHECK_INT(hm_hextoi((u_char *) "-1", 2), HM_ERROR);
    HM_CHECK_INT(hm_hextoi((u_char *) "1 ", 2), HM_ERROR);
    HM_CHECK_INT(hm_hextoi((u_char *) "8000000000000000", 16), HM_ERROR);
    HM_CHECK_INT(hm_hextoi((u_char *) "ffffffffffffffff", 16), HM_ERROR);
    HM_CHECK_INT(hm_hextoi((u_char *) "10000000000000000", 17), HM_ERROR);
}


static void
test_compare(void)
{
    u_char  a[] = "abc\0x";
    u_char  b[] = "abc\0y";

    HM_CHECK(hm_strncasecmp((u_char *) "Content-Type",
                            (u_char *) "content-type", 12) == 0);
    HM_CHECK(hm_strncasecmp((u_char *) "HOST", (u_char *) "host", 4) == 0);
    HM_CHECK(hm_strncasecmp((u_char *) "abc", (u_char *) "abd", 2) == 0);
    HM_CHECK(hm_strncasecmp((u_char *) "abc", (u_char *) "abd", 3) < 0);
    HM_CHECK(hm_strncasecmp((u_char *) "abd", (u_char *) "ABC", 3) > 0);
    HM_CHECK(hm_strncasecmp((u_char *) "b", (u_char *) "A", 1) > 0);
    HM_CHECK(hm_strncasecmp((u_char *) "x", (u_char *) "y", 0) == 0);
    HM_CHECK(hm_strncasecmp((u_char *) "ab", (u_char *) "abc", 3) < 0);
    HM_CHECK(hm_strncasecmp((u_char *) "abc", (u_char *) "ab", 3) > 0);
    HM_CHECK(hm_strncasecmp(a, b, 5) == 0, "stops at NUL");
    /* '[' (0x5b) is not a letter: it must not fold to '{' (0x7b) */
    HM_CHECK(hm_strncasecmp((u_char *) "[", (u_char *) "{", 1) != 0);
    HM_CHECK(hm_strncasecmp((u_char *) "@", (u_char *) "`", 1) != 0);

    HM_CHECK(hm_strcasecmp((u_char *) "Keep-Alive",
                           (u_char *) "keep-alive") == 0);
    HM_CHECK(hm_strcasecmp((u_char *) "keep", (u_char *) "keep-alive") < 0);
    HM_CHECK(hm_strcasecmp((u_char *) "b", (u_char *) "a") > 0);
    HM_CHECK(hm_strcasecmp((u_char *) "", (u_char *) "") == 0);
}


static void
test_strnstr(void)
{
    u_char  hay[] = "hello world";
    u_char  rep[] = "aaab";
    u_char  bin[] = "ab\0cd\0ef";

    HM_CHECK(hm_strnstr(hay, "world", 11) == hay + 6);
    HM_CHECK(hm_strnstr(hay, "hello", 11) == hay);
    HM_CHECK(hm_strnstr(hay, "o", 11) == hay + 4);
    HM_CHECK(hm_strnstr(hay, "world", 10) == NULL, "needle past len");
    HM_CHECK(hm_strnstr(hay, "hello", 4) == NULL, "len shorter than needle");
    HM_CHECK(hm_strnstr(hay, "xyz", 11) == NULL);
    HM_CHECK(hm_strnstr(hay, "", 11) == hay, "empty needle");
    HM_CHECK(hm_strnstr(rep, "ab", 4) == rep + 2);
    HM_CHECK(hm_strnstr(rep, "aab", 4) == rep + 1);
    HM_CHECK(hm_strnstr(rep, "aab", 3) == NULL);
    HM_CHECK(hm_strnstr(rep, "ab", 0) == NULL);
    HM_CHECK(hm_strnstr(bin, "ef", 8) == bin + 6, "within len, over NULs");
}


static void
test_cpystrn(void)
{
    u_char   dst[16], *e;

    memset(dst, FILL, sizeof(dst));
    e = hm_cpystrn(dst, (u_char *) "hello", 3);
    HM_CHECK(e == dst + 2, "end at the NUL");
    HM_CHECK(memcmp(dst, "he\0", 3) == 0);
    HM_CHECK(dst[3] == FILL, "wrote past n");

    memset(dst, FILL, sizeof(dst));
    e = hm_cpystrn(dst, (u_char *) "hello", sizeof(dst));
    HM_CHECK(e == dst + 5);
    HM_CHECK(memcmp(dst, "hello\0", 6) == 0);
    HM_CHECK(dst[6] == FILL, "copied past the NUL");

    memset(dst, FILL, sizeof(dst));
    e = hm_cpystrn(dst, (u_char *) "hello", 6);
    HM_CHECK(e == dst + 5 && memcmp(dst, "hello\0", 6) == 0);
    HM_CHECK(dst[6] == FILL);

    memset(dst, FILL, sizeof(dst));
    e = hm_cpystrn(dst, (u_char *) "hello", 5);
    HM_CHECK(e == dst + 4 && memcmp(dst, "hell\0", 5) == 0);
    HM_CHECK(dst[5] == FILL);

    memset(dst, FILL, sizeof(dst));
    e = hm_cpystrn(dst, (u_char *) "hello", 1);
    HM_CHECK(e == dst && dst[0] == '\0' && dst[1] == FILL);

    memset(dst, FILL, sizeof(dst));
    e = hm_cpystrn(dst, (u_char *) "hello", 0);
    HM_CHECK(e == dst && dst[0] == FILL, "n == 0 writes nothing");
}


static void
test_misc(void)
{
    u_char      buf[64], *e, *d;
    hm_str_t    s;
    hm_pool_t  *pool;
    hm_log_t   *log;

    hm_strlow(buf, (u_char *) "Content-TYPE: X[Z]@", 19);
    HM_CHECK_STR(buf, 19, "content-type: x[z]@");

    e = hm_hex_dump(buf, (u_char *) "\x00\x7f\xff\xab", 4);
    HM_CHECK_STR(buf, e - buf, "007fffab");

    HM_CHECK(hm_strlchr((u_char *) "abc", (u_char *) "abc" + 3, 'c') != NULL);
    HM_CHECK(hm_strlchr((u_char *) "abc", (u_char *) "abc" + 2, 'c') == NULL);

    e = hm_http_time(buf, 0);
    HM_CHECK_STR(buf, e - buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    e = hm_http_time(buf, 784111777);
    HM_CHECK_STR(buf, e - buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    e = hm_http_time(buf, 951782400);
    HM_CHECK_STR(buf, e - buf, "Tue, 29 Feb 2000 00:00:00 GMT");

    HM_CHECK_UINT(hm_cached_http_time.len,
                  sizeof("Mon, 28 Sep 1970 06:00:00 GMT") - 1);
    HM_CHECK(memcmp(hm_cached_http_time.data + 25, " GMT", 4) == 0,
             "cached http time \"%.*s\"", (int) hm_cached_http_time.len,
             hm_cached_http_time.data);
    HM_CHECK(hm_cached_err_log_time.data[4] == '/'
             && hm_cached_err_log_time.data[7] == '/',
             "cached error log time \"%.*s\"",
             (int) hm_cached_err_log_time.len, hm_cached_err_log_time.data);

    log = hm_log_init(NULL, NULL);
    pool = hm_create_pool(1024, log);
    HM_CHECK(pool != NULL);

    if (pool) {
        s.data = (u_char *) "dup me";
        s.len = 3;
        d = hm_pstrdup(pool, &s);
        HM_CHECK(d != NULL && d != s.data && strcmp((char *) d, "dup") == 0);
        hm_destroy_pool(pool);
    }
}


int
main(void)
{
    hm_unit_init("test_string");

    test_sprintf();
    test_truncation();
    test_atoi();
    test_hextoi();
    test_compare();
    test_strnstr();
    test_cpystrn();
    test_misc();

    return hm_unit_done();
}

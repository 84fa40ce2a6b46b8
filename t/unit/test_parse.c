/*
 * Copyright (C) hermod authors
 *
 * hm_parse_size(), hm_parse_offset(), hm_parse_time(): the sizes and times
 * of configuration files.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_unit.h>


static ssize_t
size_of(const char *s)
{
    hm_str_t  str;

    str.len = strlen(s);
    str.data = (u_char *) s;

    return hm_parse_size(&str);
}


static off_t
offset_of(const char *s)
{
    hm_str_t  str;

    str.len = strlen(s);
    str.data = (u_char *) s;

    return hm_parse_offset(&str);
}


static hm_int_t
time_of(const char *s, hm_uint_t is_sec)
{
    hm_str_t  str;

    str.len = strlen(s);
    str.data = (u_char *) s;

    return hm_parse_time(&str, is_sec);
}


#define SIZE_OK(s, want)      HM_CHECK_INT(size_of(s), want)
#define SIZE_BAD(s)           HM_CHECK_INT(size_of(s), -1)
#define OFF_OK(s, want)       HM_CHECK_INT(offset_of(s), want)
#define OFF_BAD(s)            HM_CHECK_INT(offset_of(s), -1)
#define MS_OK(s, want)        HM_CHECK_INT(time_of(s, 0), want)
#define MS_BAD(s)             HM_CHECK_INT(time_of(s, 0), HM_ERROR)
#define SEC_OK(s, want)       HM_CHECK_INT(time_of(s, 1), want)
#define SEC_BAD(s)            HM_CHECK_INT(time_of(s, 1), HM_ERROR)


static void
test_size(void)
{
    hm_str_t  str;
    u_char    buf[8];

    SIZE_OK("512", 512);
    SIZE_OK("0", 0);
    SIZE_OK("16k", 16 * 1024);
    SIZE_OK("16K", 16 * 1024);
    SIZE_OK("1K", 1024);
    SIZE_OK("8m", 8 * 1024 * 1024);
    SIZE_OK("8M", 8 * 1024 * 1024);
    SIZE_OK("1g", 1024LL * 1024 * 1024);
    SIZE_OK("3G", 3LL * 1024 * 1024 * 1024);
    SIZE_OK("0k", 0);

    /* the largest multiples that still fit in ssize_t */
    SIZE_OK("9223372036854775807", 9223372036854775807LL);
    SIZE_OK("8589934591g", 8589934591LL * 1024 * 1024 * 1024);
    SIZE_OK("9007199254740991k", 9007199254740991LL * 1024);

    SIZE_BAD("");
    SIZE_BAD("k");
    SIZE_BAD("K");
    SIZE_BAD("g");
    SIZE_BAD("12x");
    SIZE_BAD("12kb");
    SIZE_BAD("1kk");
    SIZE_BAD("-1");
    SIZE_BAD("+1");
    SIZE_BAD(" 1");
    SIZE_BAD("1 ");
    SIZE_BAD("1.5k");
    SIZE_BAD("99999999999999999999g");
    SIZE_BAD("99999999999999999999");
    SIZE_BAD("9223372036854775808");
    SIZE_BAD("8589934592g");          /* 2^63: one past */
    SIZE_BAD("9007199254740992k");
    SIZE_BAD("8796093022208m");

    /* the length is honoured: "16k" inside a longer buffer */
    memcpy(buf, "16kXYZ", 7);
    str.data = buf;
    str.len = 3;
    HM_CHECK_INT(hm_parse_size(&str), 16384);
    str.len = 2;
    HM_CHECK_INT(hm_parse_size(&str), 16);
}


static void
test_offset(void)
{
    OFF_OK("0", 0);
    OFF_OK("100", 100);
    OFF_OK("10k", 10240);
    OFF_OK("5m", 5 * 1024 * 1024);
    OFF_OK("4g", 4LL * 1024 * 1024 * 1024);
    OFF_OK("8589934591G", 8589934591LL * 1024 * 1024 * 1024);

    OFF_BAD("");
    OFF_BAD("m");
    OFF_BAD("x");
    OFF_BAD("1t");
    OFF_BAD("-5");
    OFF_BAD("8589934592g");
    OFF_BAD("99999999999999999999g");
}


static void
test_time_msec(void)
{
    MS_OK("500ms", 500);
    MS_OK("0ms", 0);
    MS_OK("0", 0);
    MS_OK("30s", 30000);
    MS_OK("5m", 300000);
    MS_OK("1h", 3600000);
    MS_OK("7d", 7LL * 86400 * 1000);
    MS_OK("2w", 14LL * 86400 * 1000);
    MS_OK("1m30s", 90000);
    MS_OK("1h30m", 5400000);
    MS_OK("1s500ms", 1500);
    MS_OK("1h5ms", 3600005);
    MS_OK("1d1h1m1s1ms", 90061001);
    MS_OK("10", 10000);               /* no unit: seconds */
    MS_OK("1m30", 90000);             /* a trailing number is seconds */

    /* the exact limits */
    MS_OK("9223372036854775807ms", 9223372036854775807LL);
    MS_OK("9223372036854775s", 9223372036854775000LL);
    MS_OK("9223372036854775", 9223372036854775000LL);

    MS_BAD("");
    MS_BAD("ms");
    MS_BAD("s");
    MS_BAD("10x");
    MS_BAD("10 s");
    MS_BAD(" 10s");
    MS_BAD("10s ");
    MS_BAD("-1s");
    MS_BAD("1.5s");
    MS_BAD("1s1m");                   /* units out of order */
    MS_BAD("1ms1s");
    MS_BAD("1h1d");
    MS_BAD("1s1s");                   /* a unit twice */
    MS_BAD("1m1m");
    MS_BAD("1mm");
    MS_BAD("1ms1ms");
    MS_BAD("1y");                     /* years and months: seconds only */
    MS_BAD("1M");

    /* overflow */
    MS_BAD("9223372036854775808ms");
    MS_BAD("99999999999999999999");
    MS_BAD("9223372036854776s");
    MS_BAD("9223372036854776");
    MS_BAD("106751991167301d");
    MS_BAD("9223372036854775s999ms"); /* the sum overflows */
    MS_BAD("9223372036854775s1");
}


static void
test_time_sec(void)
{
    SEC_OK("30s", 30);
    SEC_OK("10", 10);
    SEC_OK("0", 0);
    SEC_OK("5m", 300);
    SEC_OK("1h", 3600);
    SEC_OK("7d", 604800);
    SEC_OK("1w", 604800);
    SEC_OK("1M", 2592000);
    SEC_OK("1y", 31536000);
    SEC_OK("1m30s", 90);
    SEC_OK("1y1M1w1d1h1m1s", 31536000 + 2592000 + 604800 + 86400 + 3600
                             + 60 + 1);
    SEC_OK("9223372036854775807", 9223372036854775807LL);
    SEC_OK("106751991167300d", 106751991167300LL * 86400);

    SEC_BAD("");
    SEC_BAD("5ms");                   /* milliseconds: not in seconds mode */
    SEC_BAD("1s500ms");
    SEC_BAD("10x");
    SEC_BAD("1s1m");
    SEC_BAD("1d1y");
    SEC_BAD("1M1y");
    SEC_BAD("1y1y");
    SEC_BAD("9223372036854775808");
    SEC_BAD("106751991167301d");
    SEC_BAD("292471208678y");
    SEC_BAD("9223372036854775807s1");
}


int
main(void)
{
    hm_unit_init("test_parse");

    test_size();
    test_offset();
    test_time_msec();
    test_time_sec();

    return hm_unit_done();
}

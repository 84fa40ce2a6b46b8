/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static hm_time_t   cached_time;
volatile hm_time_t *hm_cached_time = &cached_time;
volatile hm_msec_t  hm_current_msec;

static u_char  err_log_time[sizeof("1970/09/28 12:00:00")];
static u_char  http_time[sizeof("Mon, 28 Sep 1970 06:00:00 GMT")];
static u_char  iso8601_time[sizeof("1970-09-28T12:00:00+06:00")];
static u_char  http_log_time[sizeof("28/Sep/1970:12:00:00 +0600")];

hm_str_t  hm_cached_err_log_time = { sizeof(err_log_time) - 1, err_log_time };
hm_str_t  hm_cached_http_time = { sizeof(http_time) - 1, http_time };
hm_str_t  hm_cached_iso8601_time = { sizeof(iso8601_time) - 1, iso8601_time };
hm_str_t  hm_cached_http_log_time = { sizeof(http_log_time) - 1,
                                      http_log_time };

static char  *week[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static char  *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };


void
hm_time_init(void)
{
    hm_time_update();
}


void
hm_time_update(void)
{
    time_t           sec;
    hm_int_t         off;
    hm_uint_t        msec;
    struct tm        tm, gmt;
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    hm_current_msec = (hm_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    clock_gettime(CLOCK_REALTIME, &ts);
    sec = ts.tv_sec;
    msec = ts.tv_nsec / 1000000;

    if (cached_time.sec == sec) {
        cached_time.msec = msec;
        return;
    }

    localtime_r(&sec, &tm);
    gmtime_r(&sec, &gmt);

    off = (hm_int_t) (tm.tm_gmtoff / 60);

    cached_time.sec = sec;
    cached_time.msec = msec;
    cached_time.gmtoff = off;

    (void) hm_sprintf(err_log_time, "%4d/%02d/%02d %02d:%02d:%02d",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec);

    (void) hm_sprintf(http_time, "%s, %02d %s %4d %02d:%02d:%02d GMT",
                      week[gmt.tm_wday], gmt.tm_mday, months[gmt.tm_mon],
                      gmt.tm_year + 1900, gmt.tm_hour, gmt.tm_min,
                      gmt.tm_sec);

    (void) hm_sprintf(iso8601_time, "%4d-%02d-%02dT%02d:%02d:%02d%c%02i:%02i",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec,
                      off < 0 ? '-' : '+', hm_abs(off) / 60,
                      hm_abs(off) % 60);

    (void) hm_sprintf(http_log_time, "%02d/%s/%d:%02d:%02d:%02d %c%02i%02i",
                      tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                      tm.tm_hour, tm.tm_min, tm.tm_sec,
                      off < 0 ? '-' : '+', hm_abs(off) / 60,
                      hm_abs(off) % 60);
}


u_char *
hm_http_time(u_char *buf, time_t t)
{
    struct tm  gmt;

    gmtime_r(&t, &gmt);

    return hm_sprintf(buf, "%s, %02d %s %4d %02d:%02d:%02d GMT",
                      week[gmt.tm_wday], gmt.tm_mday, months[gmt.tm_mon],
                      gmt.tm_year + 1900, gmt.tm_hour, gmt.tm_min,
                      gmt.tm_sec);
}


void
hm_gmtime(time_t t, struct tm *tm)
{
    (void) gmtime_r(&t, tm);
}

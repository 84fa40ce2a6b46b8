/*
 * Copyright (C) hermod authors
 *
 * Time is read once per event loop iteration and cached here.
 */

#ifndef _HM_TIMES_H_INCLUDED_
#define _HM_TIMES_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef struct {
    time_t      sec;
    hm_uint_t   msec;
    hm_int_t    gmtoff;
} hm_time_t;


void hm_time_init(void);
void hm_time_update(void);
u_char *hm_http_time(u_char *buf, time_t t);
void hm_gmtime(time_t t, struct tm *tm);


extern volatile hm_time_t   *hm_cached_time;

#define hm_time()           hm_cached_time->sec
#define hm_timeofday()      (hm_time_t *) hm_cached_time

extern hm_str_t    hm_cached_err_log_time;
extern hm_str_t    hm_cached_http_time;
extern hm_str_t    hm_cached_iso8601_time;
extern hm_str_t    hm_cached_http_log_time;

/* monotonic milliseconds, for timers */
extern volatile hm_msec_t  hm_current_msec;


#endif /* _HM_TIMES_H_INCLUDED_ */

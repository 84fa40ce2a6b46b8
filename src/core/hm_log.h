/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_LOG_H_INCLUDED_
#define _HM_LOG_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_LOG_STDERR            0
#define HM_LOG_EMERG             1
#define HM_LOG_ALERT             2
#define HM_LOG_CRIT              3
#define HM_LOG_ERR               4
#define HM_LOG_WARN              5
#define HM_LOG_NOTICE            6
#define HM_LOG_INFO              7
#define HM_LOG_DEBUG             8

#define HM_MAX_ERROR_STR         2048


typedef u_char *(*hm_log_handler_pt) (hm_log_t *log, u_char *buf,
    size_t len);


struct hm_open_file_s {
    hm_fd_t               fd;
    hm_str_t              name;       /* NUL-terminated */
    void                 *spare;
};


struct hm_log_s {
    hm_uint_t             log_level;
    hm_open_file_t       *file;

    hm_uint_t             connection;

    /*
     * A handler appends context ("while reading ..., client: ...") to a
     * message; it may not log by itself.
     */
    hm_log_handler_pt     handler;
    void                 *data;
    const char           *action;

    hm_log_t             *next;
};


void hm_log_error_core(hm_uint_t level, hm_log_t *log, hm_err_t err,
    const char *fmt, ...);

#define hm_log_error(level, log, ...)                                         \
    if ((log)->log_level >= level)                                            \
        hm_log_error_core(level, log, __VA_ARGS__)

#if (HM_DEBUG)

#define hm_log_debug(log, ...)                                                \
    if ((log)->log_level >= HM_LOG_DEBUG)                                     \
        hm_log_error_core(HM_LOG_DEBUG, log, 0, __VA_ARGS__)

#else

#define hm_log_debug(log, ...)

#endif


hm_log_t *hm_log_init(u_char *prefix, u_char *error_log);
void hm_log_stderr(hm_err_t err, const char *fmt, ...);
u_char *hm_log_errno(u_char *buf, u_char *last, hm_err_t err);
char *hm_log_set_log(hm_conf_t *cf, hm_log_t **head);
hm_int_t hm_log_redirect_stderr(hm_cycle_t *cycle);
hm_log_t *hm_log_get_file_log(hm_log_t *head);


extern hm_module_t  hm_errlog_module;
extern hm_uint_t    hm_use_stderr;


#endif /* _HM_LOG_H_INCLUDED_ */

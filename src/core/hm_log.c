/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static char *hm_error_log(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static char *hm_log_set_levels(hm_conf_t *cf, hm_log_t *log);
static void hm_log_insert(hm_log_t *log, hm_log_t *new_log);


static hm_command_t  hm_errlog_commands[] = {

    { hm_string("error_log"),
      HM_MAIN_CONF|HM_CONF_1MORE,
      hm_error_log,
      0,
      0,
      NULL,
      "Where the error log goes and from which level: FILE|stderr [LEVEL]." },

      hm_null_command
};


static hm_core_module_t  hm_errlog_module_ctx = {
    hm_string("errlog"),
    NULL,
    NULL
};


hm_module_t  hm_errlog_module = {
    HM_MODULE_V1,
    &hm_errlog_module_ctx,
    hm_errlog_commands,
    HM_CORE_MODULE,
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static hm_open_file_t  hm_log_file;
static hm_log_t        hm_log;
hm_uint_t              hm_use_stderr = 1;


static hm_str_t err_levels[] = {
    hm_null_string,
    hm_string("emerg"),
    hm_string("alert"),
    hm_string("crit"),
    hm_string("error"),
    hm_string("warn"),
    hm_string("notice"),
    hm_string("info"),
    hm_string("debug")
};


void
hm_log_error_core(hm_uint_t level, hm_log_t *log, hm_err_t err,
    const char *fmt, ...)
{
    va_list   args;
    u_char   *p, *last, *msg;
    ssize_t   n;
    hm_uint_t wrote_stderr;
    hm_log_t *log_head;
    u_char    errstr[HM_MAX_ERROR_STR];

    last = errstr + HM_MAX_ERROR_STR;
    log_head = log;

    p = hm_cpymem(errstr, hm_cached_err_log_time.data,
                  hm_cached_err_log_time.len);

    p = hm_slprintf(p, last, " [%V] ", &err_levels[level]);

    p = hm_slprintf(p, last, "%P#0: ", hm_log_pid);

    if (log->connection) {
        p = hm_slprintf(p, last, "*%ui ", log->connection);
    }

    msg = p;

    va_start(args, fmt);
    p = hm_vslprintf(p, last, fmt, args);
    va_end(args);

    if (err) {
        p = hm_log_errno(p, last, err);
    }

    if (level != HM_LOG_DEBUG && log->handler) {
        p = log->handler(log, p, last - p);
    }

    if (p > last - HM_LINEFEED_SIZE) {
        p = last - HM_LINEFEED_SIZE;
    }

    hm_linefeed(p);

    wrote_stderr = 0;

    while (log) {

        if (log->log_level < level) {
            break;
        }

        if (log->file == &hm_log_file) {
            /* the early log: the short form below */
            log = log->next;
            continue;
        }

        if (log->file != NULL && log->file->fd != HM_INVALID_FILE) {
            n = hm_write_fd(log->file->fd, errstr, p - errstr);

            if (n == -1 && hm_errno == HM_ENOSPC) {
                /* nothing to do: the disk is full */
            }

            if (log->file->fd == hm_stderr) {
                wrote_stderr = 1;
            }
        }

        log = log->next;
    }

    if (level > HM_LOG_WARN || wrote_stderr
        || (!hm_use_stderr && log_head->file != &hm_log_file))
    {
        return;
    }

    /* before the configuration is read, important errors go to stderr too */

    msg -= (11 + err_levels[level].len);

    (void) hm_sprintf(msg, "hermod: [%V] ", &err_levels[level]);

    (void) hm_write_console(hm_stderr, msg, p - msg);
}


void
hm_log_stderr(hm_err_t err, const char *fmt, ...)
{
    u_char   *p, *last;
    va_list   args;
    u_char    errstr[HM_MAX_ERROR_STR];

    last = errstr + HM_MAX_ERROR_STR;

    p = hm_cpymem(errstr, "hermod: ", 8);

    va_start(args, fmt);
    p = hm_vslprintf(p, last, fmt, args);
    va_end(args);

    if (err) {
        p = hm_log_errno(p, last, err);
    }

    if (p > last - HM_LINEFEED_SIZE) {
        p = last - HM_LINEFEED_SIZE;
    }

    hm_linefeed(p);

    (void) hm_write_console(hm_stderr, errstr, p - errstr);
}


u_char *
hm_log_errno(u_char *buf, u_char *last, hm_err_t err)
{
    if (buf > last - 50) {

        /* leave a space for an error code */

        buf = last - 50;
        *buf++ = '.';
        *buf++ = '.';
        *buf++ = '.';
    }

    buf = hm_slprintf(buf, last, " (%d: ", err);

    buf = hm_strerror(err, buf, last - buf);

    if (buf < last) {
        *buf++ = ')';
    }

    return buf;
}


/*
 * The log used before the configuration is read: stderr, at notice level,
 * plus the error log file given at build time when it can be opened.
 */

hm_log_t *
hm_log_init(u_char *prefix, u_char *error_log)
{
    (void) prefix;
    (void) error_log;

    hm_log.file = &hm_log_file;
    hm_log.log_level = HM_LOG_NOTICE;

    hm_log_file.fd = hm_stderr;
    hm_str_set(&hm_log_file.name, "stderr");

    return &hm_log;
}


hm_log_t *
hm_log_get_file_log(hm_log_t *head)
{
    hm_log_t  *log;

    for (log = head; log; log = log->next) {
        if (log->file != NULL) {
            return log;
        }
    }

    return NULL;
}


hm_int_t
hm_log_redirect_stderr(hm_cycle_t *cycle)
{
    hm_fd_t  fd;

    if (cycle->log_use_stderr) {
        return HM_OK;
    }

    /* file log always exists when we are called */
    fd = hm_log_get_file_log(cycle->log)->file->fd;

    if (fd != hm_stderr) {
        if (dup2(fd, hm_stderr) == -1) {
            hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                         "dup2(STDERR) failed");
            return HM_ERROR;
        }
    }

    return HM_OK;
}


static char *
hm_log_set_levels(hm_conf_t *cf, hm_log_t *log)
{
    hm_uint_t   n;
    hm_str_t   *value;

    if (cf->args->nelts == 2) {
        log->log_level = HM_LOG_ERR;
        return HM_CONF_OK;
    }

    if (cf->args->nelts > 3) {
        return "has too many arguments";
    }

    value = cf->args->elts;

    for (n = 1; n <= HM_LOG_DEBUG; n++) {
        if (value[2].len == err_levels[n].len
            && hm_strncmp(value[2].data, err_levels[n].data,
                          value[2].len) == 0)
        {
            log->log_level = n;
            return HM_CONF_OK;
        }
    }

    hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                      "invalid log level \"%V\"", &value[2]);

    return HM_CONF_ERROR;
}


static char *
hm_error_log(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_log_t  *dummy;

    dummy = &cf->cycle->new_log;

    return hm_log_set_log(cf, &dummy);
}


char *
hm_log_set_log(hm_conf_t *cf, hm_log_t **head)
{
    hm_log_t  *new_log;
    hm_str_t  *value, name;
    char      *rv;

    if (*head != NULL && (*head)->log_level == 0) {
        new_log = *head;

    } else {

        new_log = hm_pcalloc(cf->pool, sizeof(hm_log_t));
        if (new_log == NULL) {
            return HM_CONF_ERROR;
        }

        if (*head == NULL) {
            *head = new_log;
        }
    }

    value = cf->args->elts;

    if (hm_strcmp(value[1].data, "stderr") == 0) {
        hm_str_null(&name);
        cf->cycle->log_use_stderr = 1;

        new_log->file = hm_conf_open_file(cf->cycle, &name);
        if (new_log->file == NULL) {
            return HM_CONF_ERROR;
        }

    } else {
        name = value[1];

        new_log->file = hm_conf_open_file(cf->cycle, &name);
        if (new_log->file == NULL) {
            return HM_CONF_ERROR;
        }
    }

    rv = hm_log_set_levels(cf, new_log);
    if (rv != HM_CONF_OK) {
        return rv;
    }

    if (*head != new_log) {
        hm_log_insert(*head, new_log);
    }

    return HM_CONF_OK;
}


/* keep the chain sorted by level, most verbose first */

static void
hm_log_insert(hm_log_t *log, hm_log_t *new_log)
{
    hm_log_t  tmp;

    if (new_log->log_level > log->log_level) {

        /* the head stays in place: swap contents */

        tmp = *log;
        *log = *new_log;
        *new_log = tmp;

        log->next = new_log;
        return;
    }

    while (log->next) {
        if (new_log->log_level > log->next->log_level) {
            new_log->next = log->next;
            log->next = new_log;
            return;
        }

        log = log->next;
    }

    log->next = new_log;
}

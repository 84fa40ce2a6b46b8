/*
 * Copyright (C) hermod authors
 *
 * access_log and log_format, as in nginx: formats of literal text and
 * variables, escaping (default, json, none), buffered writes with a flush
 * timer, reopened on USR1 with the other log files.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


#define HM_HTTP_LOG_ESCAPE_DEFAULT  0
#define HM_HTTP_LOG_ESCAPE_JSON     1
#define HM_HTTP_LOG_ESCAPE_NONE     2


typedef struct {
    hm_str_t                  text;      /* literal, when !variable */
    hm_variable_ref_t         ref;
    unsigned                  variable:1;
} hm_http_log_op_t;


typedef struct {
    hm_str_t                  name;
    hm_array_t               *ops;       /* hm_http_log_op_t */
    hm_uint_t                 escape;
} hm_http_log_fmt_t;


typedef struct {
    u_char                   *start;
    u_char                   *pos;
    u_char                   *last;

    hm_event_t               *event;
    hm_msec_t                 flush;
    hm_open_file_t           *file;
} hm_http_log_buf_t;


typedef struct {
    hm_open_file_t           *file;
    hm_http_log_fmt_t        *format;
    hm_http_log_buf_t        *buf;
} hm_http_log_t;


typedef struct {
    hm_array_t                formats;   /* hm_http_log_fmt_t */
    hm_array_t                buffers;   /* hm_http_log_buf_t * */
    hm_uint_t                 combined_used;
} hm_http_log_main_conf_t;


typedef struct {
    hm_array_t               *logs;      /* hm_http_log_t */
    hm_uint_t                 off;
} hm_http_log_loc_conf_t;


static void *hm_http_log_create_main_conf(hm_conf_t *cf);
static void *hm_http_log_create_loc_conf(hm_conf_t *cf);
static char *hm_http_log_merge_loc_conf(hm_conf_t *cf, void *parent,
    void *child);
static char *hm_http_log_set_log(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_log_set_format(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_http_log_compile_format(hm_conf_t *cf,
    hm_http_log_fmt_t *fmt, hm_str_t *args, hm_uint_t n);
static hm_int_t hm_http_log_init(hm_conf_t *cf);
static hm_int_t hm_http_log_handler(hm_http_request_t *r);
static void hm_http_log_write(hm_http_request_t *r, hm_http_log_t *log,
    u_char *buf, size_t len);
static void hm_http_log_flush(hm_http_log_buf_t *buffer, hm_log_t *log);
static void hm_http_log_flush_handler(hm_event_t *ev);
static void hm_http_log_exit_process(hm_cycle_t *cycle);
static size_t hm_http_log_escape(u_char *dst, u_char *src, size_t size,
    hm_uint_t type);


static hm_command_t  hm_http_log_commands[] = {

    { hm_string("log_format"),
      HM_HTTP_MAIN_CONF|HM_CONF_2MORE,
      hm_http_log_set_format,
      HM_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL,
      "name [escape=default|json|none] string ...: an access log format." },

    { hm_string("access_log"),
      HM_HTTP_MAIN_CONF|HM_HTTP_SRV_CONF|HM_HTTP_LOC_CONF|HM_CONF_1MORE,
      hm_http_log_set_log,
      HM_HTTP_LOC_CONF_OFFSET,
      0,
      NULL,
      "path [format [buffer=size] [flush=time]] | off: the access log." },

      hm_null_command
};


static hm_http_module_t  hm_http_log_module_ctx = {
    NULL,                                  /* preconfiguration */
    hm_http_log_init,                      /* postconfiguration */

    hm_http_log_create_main_conf,          /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    hm_http_log_create_loc_conf,           /* create location configuration */
    hm_http_log_merge_loc_conf,            /* merge location configuration */

    { NULL, NULL, NULL, NULL }
};


hm_module_t  hm_http_log_module = {
    HM_MODULE_V1,
    &hm_http_log_module_ctx,               /* module context */
    hm_http_log_commands,                  /* module directives */
    HM_HTTP_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    hm_http_log_exit_process,              /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static hm_str_t  hm_http_combined_fmt[] = {
    hm_null_string,
    hm_string("$remote_addr - - [$time_local] \"$request\" $status "
              "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"")
};

static hm_str_t  hm_http_access_log = hm_string("logs/access.log");

/* the buffers of this worker, flushed at exit */
static hm_array_t  *hm_http_log_buffers;


static hm_int_t
hm_http_log_handler(hm_http_request_t *r)
{
    u_char                   *line, *p;
    size_t                    len;
    hm_uint_t                 l, i;
    hm_http_log_t            *log;
    hm_http_log_op_t         *op;
    hm_variable_value_t      *values;
    hm_http_log_loc_conf_t   *lcf;

    lcf = hm_http_get_module_loc_conf(r, hm_http_log_module);

    if (lcf->off || lcf->logs == NULL) {
        return HM_OK;
    }

    log = lcf->logs->elts;

    for (l = 0; l < lcf->logs->nelts; l++) {

        op = log[l].format->ops->elts;

        values = hm_pcalloc(r->pool, log[l].format->ops->nelts
                                     * sizeof(hm_variable_value_t));
        if (values == NULL) {
            return HM_ERROR;
        }

        len = 1;   /* LF */

        for (i = 0; i < log[l].format->ops->nelts; i++) {
            if (!op[i].variable) {
                len += op[i].text.len;
                continue;
            }

            if (hm_variable_get(r, r->pool, &op[i].ref, &values[i]) != HM_OK)
            {
                return HM_ERROR;
            }

            if (values[i].not_found) {
                len += (log[l].format->escape == HM_HTTP_LOG_ESCAPE_DEFAULT)
                       ? 1 : 0;
                continue;
            }

            len += hm_http_log_escape(NULL, values[i].data, values[i].len,
                                      log[l].format->escape);
        }

        line = hm_pnalloc(r->pool, len);
        if (line == NULL) {
            return HM_ERROR;
        }

        p = line;

        for (i = 0; i < log[l].format->ops->nelts; i++) {
            if (!op[i].variable) {
                p = hm_cpymem(p, op[i].text.data, op[i].text.len);
                continue;
            }

            if (values[i].not_found) {
                if (log[l].format->escape == HM_HTTP_LOG_ESCAPE_DEFAULT) {
                    *p++ = '-';
                }

                continue;
            }

            p += hm_http_log_escape(p, values[i].data, values[i].len,
                                    log[l].format->escape);
        }

        *p++ = LF;

        hm_http_log_write(r, &log[l], line, p - line);
    }

    return HM_OK;
}


static void
hm_http_log_write(hm_http_request_t *r, hm_http_log_t *log, u_char *buf,
    size_t len)
{
    ssize_t             n;
    hm_http_log_buf_t  *buffer;

    buffer = log->buf;

    if (buffer) {

        if (len > (size_t) (buffer->last - buffer->pos)) {
            hm_http_log_flush(buffer, r->connection->log);
        }

        if (len <= (size_t) (buffer->last - buffer->pos)) {

            buffer->pos = hm_cpymem(buffer->pos, buf, len);

            if (buffer->flush && buffer->pos > buffer->start
                && !buffer->event->timer_set)
            {
                hm_event_add_timer(buffer->event, buffer->flush);
            }

            return;
        }
    }

    n = hm_write_fd(log->file->fd, buf, len);

    if (n == -1) {
        hm_log_error(HM_LOG_ALERT, r->connection->log, hm_errno,
                     hm_write_fd_n " to \"%s\" failed",
                     log->file->name.data);

    } else if ((size_t) n != len) {
        hm_log_error(HM_LOG_ALERT, r->connection->log, 0,
                     hm_write_fd_n " to \"%s\" was incomplete: %z of %uz",
                     log->file->name.data, n, len);
    }
}


static void
hm_http_log_flush(hm_http_log_buf_t *buffer, hm_log_t *log)
{
    size_t   len;
    ssize_t  n;

    len = buffer->pos - buffer->start;

    if (len == 0) {
        return;
    }

    n = hm_write_fd(buffer->file->fd, buffer->start, len);

    if (n == -1) {
        hm_log_error(HM_LOG_ALERT, log, hm_errno,
                     hm_write_fd_n " to \"%s\" failed",
                     buffer->file->name.data);

    } else if ((size_t) n != len) {
        hm_log_error(HM_LOG_ALERT, log, 0,
                     hm_write_fd_n " to \"%s\" was incomplete: %z of %uz",
                     buffer->file->name.data, n, len);
    }

    buffer->pos = buffer->start;

    if (buffer->event && buffer->event->timer_set) {
        hm_event_del_timer(buffer->event);
    }
}


static void
hm_http_log_flush_handler(hm_event_t *ev)
{
    hm_http_log_flush(ev->data, ev->log);
}


static void
hm_http_log_exit_process(hm_cycle_t *cycle)
{
    hm_uint_t            i;
    hm_http_log_buf_t  **buffers;

    if (hm_http_log_buffers == NULL) {
        return;
    }

    buffers = hm_http_log_buffers->elts;

    for (i = 0; i < hm_http_log_buffers->nelts; i++) {
        hm_http_log_flush(buffers[i], cycle->log);
    }
}


/*
 * default: '"', '\' and bytes outside 0x20..0x7e become \xXX;
 * json: as a JSON string body; none: as is.
 */

static size_t
hm_http_log_escape(u_char *dst, u_char *src, size_t size, hm_uint_t type)
{
    u_char          ch, *d;
    size_t          len, i;
    static u_char   hex[] = "0123456789ABCDEF";

    if (type == HM_HTTP_LOG_ESCAPE_NONE) {
        if (dst) {
            hm_memcpy(dst, src, size);
        }

        return size;
    }

    len = 0;
    d = dst;

    for (i = 0; i < size; i++) {
        ch = src[i];

        if (type == HM_HTTP_LOG_ESCAPE_JSON) {

            if (ch == '"' || ch == '\\') {
                if (d) { *d++ = '\\'; *d++ = ch; }
                len += 2;
                continue;
            }

            if (ch < 0x20) {
                if (d) {
                    d = hm_sprintf(d, "\\u00%c%c", hex[ch >> 4],
                                   hex[ch & 0xf]);
                }

                len += 6;
                continue;
            }

            if (d) { *d++ = ch; }
            len++;
            continue;
        }

        if (ch == '"' || ch == '\\' || ch < 0x20 || ch > 0x7e) {
            if (d) {
                *d++ = '\\'; *d++ = 'x';
                *d++ = hex[ch >> 4]; *d++ = hex[ch & 0xf];
            }

            len += 4;
            continue;
        }

        if (d) { *d++ = ch; }
        len++;
    }

    return len;
}


static void *
hm_http_log_create_main_conf(hm_conf_t *cf)
{
    hm_str_t                  name;
    hm_http_log_fmt_t        *fmt;
    hm_http_log_main_conf_t  *conf;

    conf = hm_pcalloc(cf->pool, sizeof(hm_http_log_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    if (hm_array_init(&conf->formats, cf->pool, 4, sizeof(hm_http_log_fmt_t))
        != HM_OK
        || hm_array_init(&conf->buffers, cf->pool, 4,
                         sizeof(hm_http_log_buf_t *))
           != HM_OK)
    {
        return NULL;
    }

    fmt = hm_array_push(&conf->formats);
    if (fmt == NULL) {
        return NULL;
    }

    hm_str_set(&name, "combined");
    fmt->name = name;
    fmt->escape = HM_HTTP_LOG_ESCAPE_DEFAULT;
    fmt->ops = NULL;   /* compiled at the first use, when variables exist */

    return conf;
}


static void *
hm_http_log_create_loc_conf(hm_conf_t *cf)
{
    hm_http_log_loc_conf_t  *conf;

    conf = hm_pcalloc(cf->pool, sizeof(hm_http_log_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->logs = HM_CONF_UNSET_PTR;

    return conf;
}


static hm_http_log_fmt_t *
hm_http_log_find_format(hm_conf_t *cf, hm_str_t *name)
{
    hm_uint_t                 i;
    hm_http_log_fmt_t        *fmt;
    hm_http_log_main_conf_t  *lmcf;

    lmcf = hm_http_conf_get_module_main_conf(cf, hm_http_log_module);

    fmt = lmcf->formats.elts;

    for (i = 0; i < lmcf->formats.nelts; i++) {
        if (fmt[i].name.len == name->len
            && hm_strcasecmp(fmt[i].name.data, name->data) == 0)
        {
            if (fmt[i].ops == NULL) {

                /* "combined" */

                if (hm_http_log_compile_format(cf, &fmt[i],
                                               hm_http_combined_fmt, 2)
                    != HM_CONF_OK)
                {
                    return NULL;
                }
            }

            return &fmt[i];
        }
    }

    return NULL;
}


static char *
hm_http_log_merge_loc_conf(hm_conf_t *cf, void *parent, void *child)
{
    hm_http_log_loc_conf_t *prev = parent;
    hm_http_log_loc_conf_t *conf = child;

    hm_str_t         name;
    hm_http_log_t   *log;

    if (conf->logs != HM_CONF_UNSET_PTR || conf->off) {
        return HM_CONF_OK;
    }

    conf->logs = prev->logs;
    conf->off = prev->off;

    if (conf->logs != HM_CONF_UNSET_PTR || conf->off) {
        return HM_CONF_OK;
    }

    /* nothing anywhere: logs/access.log in the combined format */

    conf->logs = hm_array_create(cf->pool, 2, sizeof(hm_http_log_t));
    if (conf->logs == NULL) {
        return HM_CONF_ERROR;
    }

    log = hm_array_push(conf->logs);
    if (log == NULL) {
        return HM_CONF_ERROR;
    }

    hm_memzero(log, sizeof(hm_http_log_t));

    log->file = hm_conf_open_file(cf->cycle, &hm_http_access_log);
    if (log->file == NULL) {
        return HM_CONF_ERROR;
    }

    hm_str_set(&name, "combined");

    log->format = hm_http_log_find_format(cf, &name);
    if (log->format == NULL) {
        return HM_CONF_ERROR;
    }

    /* the parent shares it, so that there is one per server */

    prev->logs = conf->logs;

    return HM_CONF_OK;
}


static char *
hm_http_log_set_log(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_log_loc_conf_t *llcf = conf;

    ssize_t                   size;
    hm_int_t                  flush;
    hm_str_t                 *value, name, s;
    hm_uint_t                 i;
    hm_http_log_t            *log;
    hm_http_log_buf_t        *buffer, **bp;
    hm_http_log_main_conf_t  *lmcf;

    value = cf->args->elts;

    if (hm_str_eq(&value[1], "off")) {
        if (cf->args->nelts != 2) {
            return "has invalid parameters with \"off\"";
        }

        llcf->off = 1;
        return HM_CONF_OK;
    }

    if (llcf->logs == HM_CONF_UNSET_PTR) {
        llcf->logs = hm_array_create(cf->pool, 2, sizeof(hm_http_log_t));
        if (llcf->logs == NULL) {
            return HM_CONF_ERROR;
        }
    }

    log = hm_array_push(llcf->logs);
    if (log == NULL) {
        return HM_CONF_ERROR;
    }

    hm_memzero(log, sizeof(hm_http_log_t));

    if (hm_strchr(value[1].data, '$')) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "variables in access_log paths are not supported");
        return HM_CONF_ERROR;
    }

    log->file = hm_conf_open_file(cf->cycle, &value[1]);
    if (log->file == NULL) {
        return HM_CONF_ERROR;
    }

    if (cf->args->nelts >= 3 && hm_strchr(value[2].data, '=') == NULL) {
        name = value[2];
        i = 3;

    } else {
        hm_str_set(&name, "combined");
        i = 2;
    }

    log->format = hm_http_log_find_format(cf, &name);

    if (log->format == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "unknown log format \"%V\"", &name);
        return HM_CONF_ERROR;
    }

    size = 0;
    flush = 0;

    for ( /* void */ ; i < cf->args->nelts; i++) {

        if (hm_strncmp(value[i].data, "buffer=", 7) == 0) {
            s.len = value[i].len - 7;
            s.data = value[i].data + 7;

            size = hm_parse_size(&s);

            if (size <= 0) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "invalid buffer size \"%V\"", &s);
                return HM_CONF_ERROR;
            }

            continue;
        }

        if (hm_strncmp(value[i].data, "flush=", 6) == 0) {
            s.len = value[i].len - 6;
            s.data = value[i].data + 6;

            flush = hm_parse_time(&s, 0);

            if (flush == HM_ERROR || flush == 0) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "invalid flush time \"%V\"", &s);
                return HM_CONF_ERROR;
            }

            continue;
        }

        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid parameter \"%V\"", &value[i]);
        return HM_CONF_ERROR;
    }

    if (flush && size == 0) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "no buffer is defined for access_log \"%V\"",
                          &value[1]);
        return HM_CONF_ERROR;
    }

    if (size) {
        lmcf = hm_http_conf_get_module_main_conf(cf, hm_http_log_module);

        buffer = hm_pcalloc(cf->pool, sizeof(hm_http_log_buf_t));
        if (buffer == NULL) {
            return HM_CONF_ERROR;
        }

        buffer->start = hm_pnalloc(cf->pool, size);
        if (buffer->start == NULL) {
            return HM_CONF_ERROR;
        }

        buffer->pos = buffer->start;
        buffer->last = buffer->start + size;
        buffer->flush = flush;
        buffer->file = log->file;

        buffer->event = hm_pcalloc(cf->pool, sizeof(hm_event_t));
        if (buffer->event == NULL) {
            return HM_CONF_ERROR;
        }

        buffer->event->data = buffer;
        buffer->event->handler = hm_http_log_flush_handler;
        buffer->event->log = &cf->cycle->new_log;
        buffer->event->cancelable = 1;

        bp = hm_array_push(&lmcf->buffers);
        if (bp == NULL) {
            return HM_CONF_ERROR;
        }

        *bp = buffer;

        log->buf = buffer;
    }

    return HM_CONF_OK;
}


static char *
hm_http_log_set_format(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_http_log_main_conf_t *lmcf = conf;

    hm_str_t           *value;
    hm_uint_t           i;
    hm_http_log_fmt_t  *fmt;

    value = cf->args->elts;

    fmt = lmcf->formats.elts;

    for (i = 0; i < lmcf->formats.nelts; i++) {
        if (fmt[i].name.len == value[1].len
            && hm_strcmp(fmt[i].name.data, value[1].data) == 0)
        {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "duplicate \"log_format\" name \"%V\"",
                              &value[1]);
            return HM_CONF_ERROR;
        }
    }

    fmt = hm_array_push(&lmcf->formats);
    if (fmt == NULL) {
        return HM_CONF_ERROR;
    }

    fmt->name = value[1];
    fmt->escape = HM_HTTP_LOG_ESCAPE_DEFAULT;

    i = 2;

    if (hm_strncmp(value[2].data, "escape=", 7) == 0) {

        if (hm_str_eq(&value[2], "escape=default")) {
            fmt->escape = HM_HTTP_LOG_ESCAPE_DEFAULT;

        } else if (hm_str_eq(&value[2], "escape=json")) {
            fmt->escape = HM_HTTP_LOG_ESCAPE_JSON;

        } else if (hm_str_eq(&value[2], "escape=none")) {
            fmt->escape = HM_HTTP_LOG_ESCAPE_NONE;

        } else {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "unknown log format escaping \"%V\"",
                              &value[2]);
            return HM_CONF_ERROR;
        }

        i = 3;

        if (cf->args->nelts == 3) {
            return "has no format string";
        }
    }

    return hm_http_log_compile_format(cf, fmt, value + i - 1,
                                      cf->args->nelts - i + 1);
}


/* args[1 .. n-1] are the format strings, joined without separators */

static char *
hm_http_log_compile_format(hm_conf_t *cf, hm_http_log_fmt_t *fmt,
    hm_str_t *args, hm_uint_t n)
{
    u_char            *p, *last, *start;
    hm_str_t           name;
    hm_uint_t          i, bracket;
    hm_http_log_op_t  *op;

    fmt->ops = hm_array_create(cf->pool, 16, sizeof(hm_http_log_op_t));
    if (fmt->ops == NULL) {
        return HM_CONF_ERROR;
    }

    for (i = 1; i < n; i++) {

        p = args[i].data;
        last = p + args[i].len;

        while (p < last) {

            op = hm_array_push(fmt->ops);
            if (op == NULL) {
                return HM_CONF_ERROR;
            }

            hm_memzero(op, sizeof(hm_http_log_op_t));

            if (*p == '$') {
                p++;

                bracket = 0;

                if (p < last && *p == '{') {
                    bracket = 1;
                    p++;
                }

                start = p;

                while (p < last
                       && ((*p >= 'a' && *p <= 'z')
                           || (*p >= 'A' && *p <= 'Z')
                           || (*p >= '0' && *p <= '9')
                           || *p == '_'))
                {
                    p++;
                }

                name.data = start;
                name.len = p - start;

                if (bracket) {
                    if (p == last || *p != '}') {
                        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                          "the closing bracket in \"%V\" "
                                          "variable is missing", &name);
                        return HM_CONF_ERROR;
                    }

                    p++;
                }

                if (name.len == 0) {
                    hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                      "invalid parameter \"%V\"", &args[i]);
                    return HM_CONF_ERROR;
                }

                op->variable = 1;

                if (hm_variable_ref(cf, &name, HM_VAR_HTTP, &op->ref)
                    != HM_OK)
                {
                    return HM_CONF_ERROR;
                }

                continue;
            }

            start = p;

            while (p < last && *p != '$') {
                p++;
            }

            op->text.data = start;
            op->text.len = p - start;
        }
    }

    return HM_CONF_OK;
}


static hm_int_t
hm_http_log_init(hm_conf_t *cf)
{
    hm_http_handler_pt        *h;
    hm_http_log_main_conf_t   *lmcf;
    hm_http_core_main_conf_t  *cmcf;

    cmcf = hm_http_conf_get_module_main_conf(cf, hm_http_core_module);
    lmcf = hm_http_conf_get_module_main_conf(cf, hm_http_log_module);

    hm_http_log_buffers = &lmcf->buffers;

    h = hm_array_push(&cmcf->phases[HM_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return HM_ERROR;
    }

    *h = hm_http_log_handler;

    return HM_OK;
}

/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


#define HM_CONF_BUFFER  4096

static hm_int_t hm_conf_add_dump(hm_conf_t *cf, hm_str_t *filename);
static hm_int_t hm_conf_handler(hm_conf_t *cf, hm_int_t last);
static hm_int_t hm_conf_read_token(hm_conf_t *cf);
static hm_int_t hm_conf_read_word(hm_conf_t *cf, hm_str_t *word);
static hm_int_t hm_conf_load_file(hm_conf_t *cf, hm_conf_file_t *f,
    hm_str_t *filename);


static hm_uint_t  argument_number[] = {
    HM_CONF_NOARGS,
    HM_CONF_TAKE1,
    HM_CONF_TAKE2,
    HM_CONF_TAKE3,
    HM_CONF_TAKE4,
    HM_CONF_TAKE5,
    HM_CONF_TAKE6,
    HM_CONF_TAKE7
};


static hm_command_t  hm_conf_commands[] = {

    { hm_string("include"),
      HM_ANY_CONF|HM_CONF_TAKE1,
      hm_conf_include,
      0,
      0,
      NULL,
      "Includes another file, or every file a glob matches, in place." },

      hm_null_command
};


hm_module_t  hm_conf_module = {
    HM_MODULE_V1,
    NULL,
    hm_conf_commands,
    HM_CONF_MODULE,
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


char *
hm_conf_param(hm_conf_t *cf)
{
    char            *rv;
    hm_str_t        *param;
    hm_conf_file_t   conf_file;

    param = &cf->cycle->conf_param;

    if (param->len == 0) {
        return HM_CONF_OK;
    }

    hm_memzero(&conf_file, sizeof(hm_conf_file_t));

    conf_file.start = param->data;
    conf_file.pos = param->data;
    conf_file.end = param->data + param->len;
    conf_file.file.fd = HM_INVALID_FILE;
    conf_file.file.name.data = NULL;
    conf_file.line = 0;

    cf->conf_file = &conf_file;

    rv = hm_conf_parse(cf, NULL);

    cf->conf_file = NULL;

    return rv;
}


static hm_int_t
hm_conf_load_file(hm_conf_t *cf, hm_conf_file_t *f, hm_str_t *filename)
{
    ssize_t         n;
    size_t          size;
    hm_fd_t         fd;

    fd = hm_open_file(filename->data, HM_FILE_RDONLY, HM_FILE_OPEN, 0);

    if (fd == HM_INVALID_FILE) {
        hm_conf_log_error(HM_LOG_EMERG, cf, hm_errno,
                          hm_open_file_n " \"%s\" failed", filename->data);
        return HM_ERROR;
    }

    f->file.fd = fd;
    f->file.name.len = filename->len;
    f->file.name.data = filename->data;
    f->file.offset = 0;
    f->file.log = cf->log;
    f->line = 1;

    if (hm_fd_info(fd, &f->file.info) == HM_FILE_ERROR) {
        hm_log_error(HM_LOG_EMERG, cf->log, hm_errno,
                     hm_fd_info_n " \"%s\" failed", filename->data);
        goto failed;
    }

    if (hm_is_dir(&f->file.info)) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "\"%s\" is a directory", filename->data);
        goto failed;
    }

    size = (size_t) hm_file_size(&f->file.info);

    f->start = hm_pnalloc(cf->pool, size + 1);
    if (f->start == NULL) {
        goto failed;
    }

    n = 0;

    if (size) {
        n = hm_read_file(&f->file, f->start, size, 0);
        if (n == HM_ERROR) {
            goto failed;
        }
    }

    f->pos = f->start;
    f->end = f->start + n;
    *f->end = '\0';

    if (hm_close_file(fd) == HM_FILE_ERROR) {
        hm_log_error(HM_LOG_ALERT, cf->log, hm_errno,
                     hm_close_file_n " %s failed", filename->data);
    }

    f->file.fd = HM_INVALID_FILE;

    return HM_OK;

failed:

    (void) hm_close_file(fd);
    f->file.fd = HM_INVALID_FILE;

    return HM_ERROR;
}


char *
hm_conf_parse(hm_conf_t *cf, hm_str_t *filename)
{
    char             *rv;
    hm_int_t          rc;
    hm_conf_file_t   *prev, conf_file;
    enum {
        parse_file = 0,
        parse_block,
        parse_param
    } type;

    prev = NULL;

    if (filename) {

        hm_memzero(&conf_file, sizeof(hm_conf_file_t));

        /* the including file, so that an open() error names its line */

        prev = cf->conf_file;

        if (hm_conf_load_file(cf, &conf_file, filename) != HM_OK) {
            return HM_CONF_ERROR;
        }

        cf->conf_file = &conf_file;

        if (hm_conf_add_dump(cf, filename) != HM_OK) {
            goto failed;
        }

        type = parse_file;

    } else if (cf->conf_file->file.fd != HM_INVALID_FILE
               || cf->conf_file->file.name.data != NULL)
    {
        type = parse_block;

    } else {
        type = parse_param;
    }


    for ( ;; ) {
        rc = hm_conf_read_token(cf);

        /*
         * hm_conf_read_token() may return
         *
         *    HM_ERROR             there is error
         *    HM_OK                the token terminated by ";" was found
         *    HM_CONF_BLOCK_START  the token terminated by "{" was found
         *    HM_CONF_BLOCK_DONE   the "}" was found
         *    HM_CONF_FILE_DONE    the configuration file is done
         */

        if (rc == HM_ERROR) {
            goto failed;
        }

        if (rc == HM_CONF_BLOCK_DONE) {

            if (type != parse_block) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0, "unexpected \"}\"");
                goto failed;
            }

            goto done;
        }

        if (rc == HM_CONF_FILE_DONE) {

            if (type == parse_block) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "unexpected end of file, expecting \"}\"");
                goto failed;
            }

            goto done;
        }

        if (rc == HM_CONF_BLOCK_START) {

            if (type == parse_param) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "block directives are not supported "
                                  "in -g option");
                goto failed;
            }
        }

        /* rc == HM_OK || rc == HM_CONF_BLOCK_START */

        if (cf->handler) {

            rv = (*cf->handler)(cf, NULL, cf->handler_conf);
            if (rv == HM_CONF_OK) {
                continue;
            }

            if (rv == HM_CONF_ERROR) {
                goto failed;
            }

            hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%s", rv);

            goto failed;
        }


        rc = hm_conf_handler(cf, rc);

        if (rc == HM_ERROR) {
            goto failed;
        }
    }

failed:

    rc = HM_ERROR;

done:

    if (filename) {
        cf->conf_file = prev;
    }

    if (rc == HM_ERROR) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/*
 * Parses a block whose directives belong to one module: a directive inside
 * the block receives "conf" as its configuration.
 */

char *
hm_conf_parse_module_block(hm_conf_t *cf, hm_module_t *module, void *conf,
    hm_uint_t cmd_type)
{
    char       *rv;
    void      **ctx, **confs;
    hm_conf_t   pcf;

    confs = hm_pcalloc(cf->pool, (module->ctx_index + 1) * sizeof(void *));
    if (confs == NULL) {
        return HM_CONF_ERROR;
    }

    ctx = hm_palloc(cf->pool, sizeof(void *));
    if (ctx == NULL) {
        return HM_CONF_ERROR;
    }

    confs[module->ctx_index] = conf;
    *ctx = confs;

    pcf = *cf;
    cf->ctx = ctx;
    cf->module_type = module->type;
    cf->cmd_type = cmd_type;
    cf->module = module;

    rv = hm_conf_parse(cf, NULL);

    *cf = pcf;

    return rv;
}


static hm_int_t
hm_conf_add_dump(hm_conf_t *cf, hm_str_t *filename)
{
    hm_conf_dump_t  *cd;

    cd = hm_array_push(&cf->cycle->config_dump);
    if (cd == NULL) {
        return HM_ERROR;
    }

    cd->name.len = filename->len;
    cd->name.data = hm_pstrdup(cf->cycle->pool, filename);
    if (cd->name.data == NULL) {
        return HM_ERROR;
    }

    cd->data = cf->conf_file->start;
    cd->len = cf->conf_file->end - cf->conf_file->start;

    return HM_OK;
}


static hm_int_t
hm_conf_handler(hm_conf_t *cf, hm_int_t last)
{
    char           *rv;
    void           *conf, **confp;
    hm_uint_t       i, found;
    hm_str_t       *name;
    hm_command_t   *cmd;
    hm_module_t   **modules;

    name = cf->args->elts;

    found = 0;
    modules = cf->cycle->modules;

    for (i = 0; modules[i]; i++) {

        cmd = modules[i]->commands;
        if (cmd == NULL) {
            continue;
        }

        for ( /* void */ ; cmd->name.len; cmd++) {

            if (name->len != cmd->name.len) {
                continue;
            }

            if (hm_strcmp(name->data, cmd->name.data) != 0) {
                continue;
            }

            found = 1;

            if (modules[i]->type != HM_CONF_MODULE
                && (modules[i]->type != cf->module_type
                    || (cf->module && modules[i] != cf->module)))
            {
                continue;
            }

            /* is the directive's location right ? */

            if (!(cmd->type & cf->cmd_type)) {
                continue;
            }

            if (!(cmd->type & HM_CONF_BLOCK) && last != HM_OK) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "directive \"%s\" is not terminated by \";\"",
                                  name->data);
                return HM_ERROR;
            }

            if ((cmd->type & HM_CONF_BLOCK) && last != HM_CONF_BLOCK_START) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "directive \"%s\" has no opening \"{\"",
                                  name->data);
                return HM_ERROR;
            }

            /* is the directive's argument count right ? */

            if (!(cmd->type & HM_CONF_ANY)) {

                if (cmd->type & HM_CONF_FLAG) {

                    if (cf->args->nelts != 2) {
                        goto invalid;
                    }

                } else if (cmd->type & HM_CONF_1MORE) {

                    if (cf->args->nelts < 2) {
                        goto invalid;
                    }

                } else if (cmd->type & HM_CONF_2MORE) {

                    if (cf->args->nelts < 3) {
                        goto invalid;
                    }

                } else if (cf->args->nelts > HM_CONF_MAX_ARGS) {

                    goto invalid;

                } else if (!(cmd->type & argument_number[cf->args->nelts - 1]))
                {
                    goto invalid;
                }
            }

            /* set up the directive's configuration context */

            conf = NULL;

            if (cmd->type & HM_DIRECT_CONF) {
                conf = ((void **) cf->ctx)[modules[i]->index];

            } else if (cmd->type & HM_MAIN_CONF) {
                conf = &(((void **) cf->ctx)[modules[i]->index]);

            } else if (cf->ctx) {
                confp = *(void **) ((char *) cf->ctx + cmd->conf);

                if (confp) {
                    conf = confp[modules[i]->ctx_index];
                }
            }

            rv = cmd->set(cf, cmd, conf);

            if (rv == HM_CONF_OK) {
                return HM_OK;
            }

            if (rv == HM_CONF_ERROR) {
                return HM_ERROR;
            }

            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "\"%s\" directive %s", name->data, rv);

            return HM_ERROR;
        }
    }

    if (found) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "\"%s\" directive is not allowed here", name->data);

        return HM_ERROR;
    }

    hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                      "unknown directive \"%s\"", name->data);

    return HM_ERROR;

invalid:

    hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                      "invalid number of arguments in \"%s\" directive",
                      name->data);

    return HM_ERROR;
}


static hm_int_t
hm_conf_read_token(hm_conf_t *cf)
{
    u_char           ch;
    hm_str_t        *word;
    hm_conf_file_t  *f;

    f = cf->conf_file;
    cf->args->nelts = 0;

    for ( ;; ) {

        if (f->pos >= f->end) {

            if (cf->args->nelts > 0) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "unexpected end of file, "
                                  "expecting \";\" or \"}\"");
                return HM_ERROR;
            }

            return HM_CONF_FILE_DONE;
        }

        ch = *f->pos;

        if (ch == LF) {
            f->line++;
            f->pos++;
            continue;
        }

        if (ch == ' ' || ch == '\t' || ch == CR) {
            f->pos++;
            continue;
        }

        if (ch == '#' ) {
            while (f->pos < f->end && *f->pos != LF) {
                f->pos++;
            }

            continue;
        }

        if (ch == ';') {
            f->pos++;

            if (cf->args->nelts == 0) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0, "unexpected \";\"");
                return HM_ERROR;
            }

            return HM_OK;
        }

        if (ch == '{') {
            f->pos++;

            if (cf->args->nelts == 0) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0, "unexpected \"{\"");
                return HM_ERROR;
            }

            return HM_CONF_BLOCK_START;
        }

        if (ch == '}') {
            f->pos++;

            if (cf->args->nelts != 0) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0, "unexpected \"}\"");
                return HM_ERROR;
            }

            return HM_CONF_BLOCK_DONE;
        }

        word = hm_array_push(cf->args);
        if (word == NULL) {
            return HM_ERROR;
        }

        if (hm_conf_read_word(cf, word) != HM_OK) {
            return HM_ERROR;
        }
    }
}


/*
 * One word: quoted ("..." or '...') or bare.  \" \' \\ \n \r \t are
 * escapes; other backslashes are kept.  "${name}"
 * keeps its braces inside a bare word.  The word is NUL-terminated.
 */

static hm_int_t
hm_conf_read_word(hm_conf_t *cf, hm_str_t *word)
{
    u_char           ch, quote, *dst;
    hm_uint_t        start_line, variable;
    hm_conf_file_t  *f;

    f = cf->conf_file;
    start_line = f->line;

    quote = 0;
    ch = *f->pos;

    if (ch == '"' || ch == '\'') {
        quote = ch;
        f->pos++;
    }

    /* the word is never longer than the rest of the input */

    dst = hm_pnalloc(cf->pool, f->end - f->pos + 1);
    if (dst == NULL) {
        return HM_ERROR;
    }

    word->data = dst;
    variable = 0;

    for ( ;; ) {

        if (f->pos >= f->end) {
            if (quote) {
                f->line = start_line;
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "unexpected end of file, "
                                  "unterminated quoted string");
                return HM_ERROR;
            }

            break;
        }

        ch = *f->pos;

        if (ch == '\\' && f->pos + 1 < f->end) {

            /*
             * As in nginx: \" \' \\ \t \r \n are escapes, in quotes or
             * not; any other backslash stays, so that "\d" reaches a
             * regular expression and "\$" a template unchanged.
             */

            f->pos++;
            ch = *f->pos++;

            if (ch == LF) {
                f->line++;
            }

            switch (ch) {
            case '"':
            case '\'':
            case '\\':
                break;
            case 'n':
                ch = LF;
                break;
            case 'r':
                ch = CR;
                break;
            case 't':
                ch = '\t';
                break;
            default:
                *dst++ = '\\';
                break;
            }

            *dst++ = ch;
            continue;
        }

        if (quote) {
            f->pos++;

            if (ch == quote) {
                break;
            }

            if (ch == LF) {
                f->line++;
            }

            *dst++ = ch;
            continue;
        }

        if (variable) {
            if (ch == '}') {
                variable = 0;

            } else if (ch == LF) {
                f->line++;
            }

            *dst++ = ch;
            f->pos++;
            continue;
        }

        if (ch == '$' && f->pos + 1 < f->end && f->pos[1] == '{') {
            variable = 1;
            *dst++ = *f->pos++;
            *dst++ = *f->pos++;
            continue;
        }

        if (ch == ' ' || ch == '\t' || ch == CR || ch == LF
            || ch == ';' || ch == '{' || ch == '}')
        {
            break;
        }

        if (ch == '"' || ch == '\'') {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "unexpected \"%c\"", ch);
            return HM_ERROR;
        }

        *dst++ = ch;
        f->pos++;
    }

    if (quote && f->pos < f->end) {
        ch = *f->pos;

        if (!(ch == ' ' || ch == '\t' || ch == CR || ch == LF
              || ch == ';' || ch == '{' || ch == '}'))
        {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "unexpected \"%c\"", ch);
            return HM_ERROR;
        }
    }

    *dst = '\0';
    word->len = dst - word->data;

    return HM_OK;
}


char *
hm_conf_include(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char        *rv;
    hm_int_t     n;
    hm_str_t    *value, file, name;
    hm_glob_t    gl;

    value = cf->args->elts;
    file = value[1];

    if (hm_conf_full_name(cf->cycle, &file, 1) != HM_OK) {
        return HM_CONF_ERROR;
    }

    if (strpbrk((char *) file.data, "*?[") == NULL) {
        return hm_conf_parse(cf, &file);
    }

    hm_memzero(&gl, sizeof(hm_glob_t));

    gl.pattern = file.data;
    gl.log = cf->log;
    gl.test = 1;

    if (hm_open_glob(&gl) != HM_OK) {
        hm_conf_log_error(HM_LOG_EMERG, cf, hm_errno,
                          "glob() \"%s\" failed", file.data);
        return HM_CONF_ERROR;
    }

    rv = HM_CONF_OK;

    for ( ;; ) {
        n = hm_read_glob(&gl, &name);

        if (n != HM_OK) {
            break;
        }

        file.len = name.len++;
        file.data = hm_pstrdup(cf->pool, &name);
        if (file.data == NULL) {
            rv = HM_CONF_ERROR;
            break;
        }

        rv = hm_conf_parse(cf, &file);

        if (rv != HM_CONF_OK) {
            break;
        }
    }

    hm_close_glob(&gl);

    return rv;
}


hm_int_t
hm_conf_full_name(hm_cycle_t *cycle, hm_str_t *name, hm_uint_t conf_prefix)
{
    hm_str_t  *prefix;

    prefix = conf_prefix ? &cycle->conf_prefix : &cycle->prefix;

    return hm_get_full_name(cycle->pool, prefix, name);
}


hm_open_file_t *
hm_conf_open_file(hm_cycle_t *cycle, hm_str_t *name)
{
    hm_str_t          full;
    hm_uint_t         i;
    hm_list_part_t   *part;
    hm_open_file_t   *file;

    if (name->len) {
        full = *name;

        if (hm_conf_full_name(cycle, &full, 0) != HM_OK) {
            return NULL;
        }

        part = &cycle->open_files.part;
        file = part->elts;

        for (i = 0; /* void */ ; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }
                part = part->next;
                file = part->elts;
                i = 0;
            }

            if (full.len != file[i].name.len) {
                continue;
            }

            if (hm_strcmp(full.data, file[i].name.data) == 0) {
                return &file[i];
            }
        }
    }

    file = hm_list_push(&cycle->open_files);
    if (file == NULL) {
        return NULL;
    }

    if (name->len) {
        file->fd = HM_INVALID_FILE;
        file->name = full;

    } else {
        file->fd = hm_stderr;
        hm_str_null(&file->name);
    }

    file->spare = NULL;

    return file;
}


void
hm_conf_location(hm_conf_t *cf, hm_conf_location_t *loc)
{
    if (cf->conf_file == NULL || cf->conf_file->file.name.data == NULL) {
        hm_str_set(&loc->file, "command line");
        loc->line = 0;
        return;
    }

    loc->file = cf->conf_file->file.name;
    loc->line = cf->conf_file->line;
}


static u_char *
hm_conf_where(u_char *p, u_char *last, hm_conf_location_t *loc)
{
    if (loc->line == 0) {
        return hm_slprintf(p, last, " in %V", &loc->file);
    }

    return hm_slprintf(p, last, " in %V:%ui", &loc->file, loc->line);
}


void
hm_conf_log_error(hm_uint_t level, hm_conf_t *cf, hm_err_t err,
    const char *fmt, ...)
{
    u_char              errstr[HM_MAX_CONF_ERRSTR], *p, *last;
    va_list             args;
    hm_conf_location_t  loc;

    last = errstr + HM_MAX_CONF_ERRSTR;

    va_start(args, fmt);
    p = hm_vslprintf(errstr, last, fmt, args);
    va_end(args);

    if (err) {
        p = hm_log_errno(p, last, err);
    }

    if (cf->conf_file != NULL) {
        hm_conf_location(cf, &loc);
        p = hm_conf_where(p, last, &loc);
    }

    hm_log_error(level, cf->log, 0, "%*s", p - errstr, errstr);
}


void
hm_log_error_at(hm_uint_t level, hm_log_t *log, hm_conf_location_t *loc,
    const char *fmt, ...)
{
    u_char    errstr[HM_MAX_CONF_ERRSTR], *p, *last;
    va_list   args;

    last = errstr + HM_MAX_CONF_ERRSTR;

    va_start(args, fmt);
    p = hm_vslprintf(errstr, last, fmt, args);
    va_end(args);

    p = hm_conf_where(p, last, loc);

    hm_log_error(level, log, 0, "%*s", p - errstr, errstr);
}


/* generic setters */

static char *
hm_conf_post(hm_conf_t *cf, hm_command_t *cmd, void *field)
{
    hm_conf_post_t  *post;

    if (cmd->post) {
        post = cmd->post;
        return post->post_handler(cf, post, field);
    }

    return HM_CONF_OK;
}


char *
hm_conf_set_flag_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_str_t   *value;
    hm_flag_t  *fp;

    fp = (hm_flag_t *) (p + cmd->offset);

    if (*fp != HM_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (hm_strcasecmp(value[1].data, (u_char *) "on") == 0) {
        *fp = 1;

    } else if (hm_strcasecmp(value[1].data, (u_char *) "off") == 0) {
        *fp = 0;

    } else {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid value \"%s\" in \"%s\" directive, "
                          "it must be \"on\" or \"off\"",
                          value[1].data, cmd->name.data);
        return HM_CONF_ERROR;
    }

    return hm_conf_post(cf, cmd, fp);
}


char *
hm_conf_set_str_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_str_t  *field, *value;

    field = (hm_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *field = value[1];

    return hm_conf_post(cf, cmd, field);
}


char *
hm_conf_set_str_array_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_str_t     *value, *s;
    hm_array_t  **a;

    a = (hm_array_t **) (p + cmd->offset);

    if (*a == HM_CONF_UNSET_PTR || *a == NULL) {
        *a = hm_array_create(cf->pool, 4, sizeof(hm_str_t));
        if (*a == NULL) {
            return HM_CONF_ERROR;
        }
    }

    s = hm_array_push(*a);
    if (s == NULL) {
        return HM_CONF_ERROR;
    }

    value = cf->args->elts;

    *s = value[1];

    return hm_conf_post(cf, cmd, s);
}


char *
hm_conf_set_keyval_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_str_t      *value;
    hm_array_t   **a;
    hm_keyval_t   *kv;

    a = (hm_array_t **) (p + cmd->offset);

    if (*a == HM_CONF_UNSET_PTR || *a == NULL) {
        *a = hm_array_create(cf->pool, 4, sizeof(hm_keyval_t));
        if (*a == NULL) {
            return HM_CONF_ERROR;
        }
    }

    kv = hm_array_push(*a);
    if (kv == NULL) {
        return HM_CONF_ERROR;
    }

    value = cf->args->elts;

    kv->key = value[1];
    kv->value = value[2];

    return hm_conf_post(cf, cmd, kv);
}


char *
hm_conf_set_num_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_int_t   *np;
    hm_str_t   *value;

    np = (hm_int_t *) (p + cmd->offset);

    if (*np != HM_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;
    *np = hm_atoi(value[1].data, value[1].len);

    if (*np == HM_ERROR) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid value \"%V\" in \"%V\" directive",
                          &value[1], &cmd->name);
        return HM_CONF_ERROR;
    }

    return hm_conf_post(cf, cmd, np);
}


char *
hm_conf_set_size_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    size_t     *sp;
    ssize_t     size;
    hm_str_t   *value;

    sp = (size_t *) (p + cmd->offset);

    if (*sp != HM_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = hm_parse_size(&value[1]);
    if (size == -1) {
        return "invalid value";
    }

    *sp = (size_t) size;

    return hm_conf_post(cf, cmd, sp);
}


char *
hm_conf_set_off_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    off_t      *op;
    hm_str_t   *value;

    op = (off_t *) (p + cmd->offset);

    if (*op != HM_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *op = hm_parse_offset(&value[1]);
    if (*op == (off_t) HM_ERROR) {
        return "invalid value";
    }

    return hm_conf_post(cf, cmd, op);
}


char *
hm_conf_set_msec_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_int_t    n;
    hm_msec_t  *msp;
    hm_str_t   *value;

    msp = (hm_msec_t *) (p + cmd->offset);

    if (*msp != HM_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = hm_parse_time(&value[1], 0);
    if (n == HM_ERROR) {
        return "invalid value";
    }

    *msp = (hm_msec_t) n;

    return hm_conf_post(cf, cmd, msp);
}


char *
hm_conf_set_sec_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    time_t     *sp;
    hm_str_t   *value;

    sp = (time_t *) (p + cmd->offset);

    if (*sp != HM_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *sp = (time_t) hm_parse_time(&value[1], 1);
    if (*sp == (time_t) HM_ERROR) {
        return "invalid value";
    }

    return hm_conf_post(cf, cmd, sp);
}


char *
hm_conf_set_enum_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_uint_t       *np, i;
    hm_str_t        *value;
    hm_conf_enum_t  *e;

    np = (hm_uint_t *) (p + cmd->offset);

    if (*np != HM_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    e = cmd->post;

    for (i = 0; e[i].name.len != 0; i++) {
        if (e[i].name.len != value[1].len
            || hm_strcasecmp(e[i].name.data, value[1].data) != 0)
        {
            continue;
        }

        *np = e[i].value;

        return HM_CONF_OK;
    }

    hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                      "invalid value \"%s\" in \"%s\" directive",
                      value[1].data, cmd->name.data);

    return HM_CONF_ERROR;
}


/* "number size": hm_bufs_t */

char *
hm_conf_set_bufs_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char *p = conf;

    hm_str_t   *value;
    hm_bufs_t  *bufs;

    bufs = (hm_bufs_t *) (p + cmd->offset);

    if (bufs->num) {
        return "is duplicate";
    }

    value = cf->args->elts;

    bufs->num = hm_atoi(value[1].data, value[1].len);
    if (bufs->num == HM_ERROR || bufs->num == 0) {
        return "invalid value";
    }

    bufs->size = hm_parse_size(&value[2]);
    if (bufs->size == (size_t) HM_ERROR || bufs->size == 0) {
        return "invalid value";
    }

    return hm_conf_post(cf, cmd, bufs);
}


/* several words, each a bit of cmd->post's table */

char *
hm_conf_set_bitmask_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_uint_t           *np, i, m;
    hm_str_t            *value;
    hm_conf_bitmask_t   *mask;

    np = (hm_uint_t *) (p + cmd->offset);
    value = cf->args->elts;
    mask = cmd->post;

    if (*np != 0) {
        return "is duplicate";
    }

    for (i = 1; i < cf->args->nelts; i++) {
        for (m = 0; mask[m].name.len != 0; m++) {

            if (mask[m].name.len != value[i].len
                || hm_strcasecmp(mask[m].name.data, value[i].data) != 0)
            {
                continue;
            }

            if (*np & mask[m].mask) {
                hm_conf_log_error(HM_LOG_WARN, cf, 0,
                                  "duplicate value \"%s\"", value[i].data);

            } else {
                *np |= mask[m].mask;
            }

            break;
        }

        if (mask[m].name.len == 0) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid value \"%s\"", value[i].data);

            return HM_CONF_ERROR;
        }
    }

    return HM_CONF_OK;
}


/* a directive without arguments that turns a flag on */

char *
hm_conf_set_flag_noargs_slot(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char  *p = conf;

    hm_flag_t  *fp;

    fp = (hm_flag_t *) (p + cmd->offset);

    if (*fp != HM_CONF_UNSET) {
        return "is duplicate";
    }

    *fp = 1;

    return hm_conf_post(cf, cmd, fp);
}


char *
hm_conf_check_num_bounds(hm_conf_t *cf, void *post, void *data)
{
    hm_conf_num_bounds_t  *bounds = post;
    hm_int_t  *np = data;

    if (bounds->high == -1) {
        if (*np >= bounds->low) {
            return HM_CONF_OK;
        }

        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "value must be equal to or greater than %i",
                          bounds->low);

        return HM_CONF_ERROR;
    }

    if (*np >= bounds->low && *np <= bounds->high) {
        return HM_CONF_OK;
    }

    hm_conf_log_error(HM_LOG_EMERG, cf, 0, "value must be between %i and %i",
                      bounds->low, bounds->high);

    return HM_CONF_ERROR;
}

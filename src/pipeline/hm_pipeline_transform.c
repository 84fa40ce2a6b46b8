/*
 * Copyright (C) hermod authors
 *
 * The transform filter: "transform { ... }" edits a message with a list
 * of operations run in configuration order: headers (header_set,
 * header_add, header_remove, header_rename, header_replace), the JSON
 * body (json_set, json_remove, json_rename) and the raw body (body_set,
 * body_replace).  Values are templates compiled once; regular
 * expressions are compiled once, each with its own match data.
 *
 * An operation that meets bad input (a body that is not JSON, a path
 * that crosses a non-object, a value that does not convert, a PCRE2
 * run-time error) returns HM_DECLINED with the reason; "on_error" says
 * what happens then: fail (reject), pass (skip the operation) or
 * dead_letter.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_pipeline.h>


#define HM_PIPELINE_TRANSFORM_FAIL          0
#define HM_PIPELINE_TRANSFORM_PASS          1
#define HM_PIPELINE_TRANSFORM_DEAD_LETTER   2

#define HM_PIPELINE_TRANSFORM_STRING        0
#define HM_PIPELINE_TRANSFORM_NUMBER        1
#define HM_PIPELINE_TRANSFORM_BOOLEAN       2
#define HM_PIPELINE_TRANSFORM_NULL          3
#define HM_PIPELINE_TRANSFORM_JSON          4

/* how much of a bad value an error text quotes */
#define HM_PIPELINE_TRANSFORM_QUOTE         64


typedef struct hm_pipeline_transform_op_s  hm_pipeline_transform_op_t;

typedef hm_int_t (*hm_pipeline_transform_pt)(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);


typedef struct {
    hm_array_t                     ops;  /* of hm_pipeline_transform_op_t */
    hm_uint_t                      on_error;
} hm_pipeline_transform_conf_t;


typedef struct {
    hm_regex_t                    *regex;
    pcre2_match_data              *match_data;
    hm_str_t                       replacement;
    uint32_t                       options;
} hm_pipeline_transform_regex_t;


struct hm_pipeline_transform_op_s {
    hm_pipeline_transform_pt       handler;
    hm_pipeline_transform_conf_t  *conf;

    hm_str_t                       directive;  /* for error texts */
    hm_str_t                       name;       /* header name, path text */
    hm_str_t                       new_name;   /* header_rename */

    hm_complex_value_t             value;
    hm_json_path_t                 path;
    hm_json_path_t                 new_path;   /* json_rename */
    hm_uint_t                      type;       /* json_set */
    json_t                        *constant;   /* json_set of a plain value */

    hm_pipeline_transform_regex_t  re;
};


static char *hm_pipeline_transform(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_pipeline_transform_header(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_pipeline_transform_header_remove(hm_conf_t *cf,
    hm_command_t *cmd, void *conf);
static char *hm_pipeline_transform_header_rename(hm_conf_t *cf,
    hm_command_t *cmd, void *conf);
static char *hm_pipeline_transform_header_replace(hm_conf_t *cf,
    hm_command_t *cmd, void *conf);
static char *hm_pipeline_transform_json_set(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_pipeline_transform_json_remove(hm_conf_t *cf,
    hm_command_t *cmd, void *conf);
static char *hm_pipeline_transform_json_rename(hm_conf_t *cf,
    hm_command_t *cmd, void *conf);
static char *hm_pipeline_transform_body_set(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_pipeline_transform_body_replace(hm_conf_t *cf,
    hm_command_t *cmd, void *conf);

static hm_pipeline_transform_op_t *hm_pipeline_transform_add(hm_conf_t *cf,
    void *conf, hm_pipeline_transform_pt handler);
static hm_int_t hm_pipeline_transform_path(hm_conf_t *cf, hm_str_t *text,
    hm_json_path_t *path);
static hm_int_t hm_pipeline_transform_constant(hm_conf_t *cf,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_regex(hm_conf_t *cf,
    hm_pipeline_transform_regex_t *re, hm_str_t *args, hm_uint_t n);
static char *hm_pipeline_transform_check_replacement(
    hm_pipeline_transform_regex_t *re);
static char *hm_pipeline_transform_check_ref(
    hm_pipeline_transform_regex_t *re, u_char **pos, u_char *last);
static void hm_pipeline_transform_json_cleanup(void *data);
static void hm_pipeline_transform_match_data_cleanup(void *data);

static hm_int_t hm_pipeline_transform_handler(hm_msg_t *m, void *conf);
static hm_int_t hm_pipeline_transform_bad(hm_msg_t *m,
    hm_pipeline_transform_op_t *op, const char *fmt, ...);

static hm_int_t hm_pipeline_transform_run_header_set(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_run_header_add(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_run_header_remove(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_run_header_rename(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_run_header_replace(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_run_json_set(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_run_json_remove(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_run_json_rename(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_run_body_set(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);
static hm_int_t hm_pipeline_transform_run_body_replace(hm_msg_t *m,
    hm_pipeline_transform_op_t *op);

static hm_uint_t hm_pipeline_transform_header_is(hm_msg_header_t *h,
    hm_str_t *name);
static json_t *hm_pipeline_transform_json(hm_msg_t *m);
static hm_int_t hm_pipeline_transform_json_value(hm_msg_t *m,
    hm_pipeline_transform_op_t *op, json_t **vp);
static json_t *hm_pipeline_transform_convert(hm_pool_t *pool, hm_str_t *text,
    hm_uint_t type, char **reason);
static json_t *hm_pipeline_transform_number(hm_pool_t *pool, hm_str_t *text,
    char **reason);
static hm_int_t hm_pipeline_transform_is_number(hm_str_t *text);
static u_char *hm_pipeline_transform_digits(u_char *p, u_char *last);
static char *hm_pipeline_transform_unsettable(json_t *node,
    hm_json_path_t *path);
static hm_int_t hm_pipeline_transform_restore(json_t *root,
    hm_json_path_t *path, json_t *v);
static hm_int_t hm_pipeline_transform_subst(hm_msg_t *m,
    hm_pipeline_transform_op_t *op, hm_str_t *in, hm_str_t *out);
static hm_int_t hm_pipeline_transform_pcre_error(hm_msg_t *m,
    hm_pipeline_transform_op_t *op, const char *func, int rc);
static hm_uint_t hm_pipeline_transform_printable(u_char *p, size_t len);


static hm_conf_enum_t  hm_pipeline_transform_on_error[] = {
    { hm_string("fail"), HM_PIPELINE_TRANSFORM_FAIL },
    { hm_string("pass"), HM_PIPELINE_TRANSFORM_PASS },
    { hm_string("dead_letter"), HM_PIPELINE_TRANSFORM_DEAD_LETTER },
    { hm_null_string, 0 }
};


static hm_conf_enum_t  hm_pipeline_transform_types[] = {
    { hm_string("string"), HM_PIPELINE_TRANSFORM_STRING },
    { hm_string("number"), HM_PIPELINE_TRANSFORM_NUMBER },
    { hm_string("boolean"), HM_PIPELINE_TRANSFORM_BOOLEAN },
    { hm_string("null"), HM_PIPELINE_TRANSFORM_NULL },
    { hm_string("json"), HM_PIPELINE_TRANSFORM_JSON },
    { hm_null_string, 0 }
};


static hm_command_t  hm_pipeline_transform_commands[] = {

    { hm_string("transform"),
      HM_PIPELINE_CONF|HM_CONF_BLOCK|HM_CONF_NOARGS,
      hm_pipeline_transform,
      0,
      0,
      NULL,
      "Edit headers and body of each message with operations in order." },

    { hm_string("header_set"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE2,
      hm_pipeline_transform_header,
      0,
      0,
      NULL,
      "Replace every header NAME with one whose value is a template." },

    { hm_string("header_add"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE2,
      hm_pipeline_transform_header,
      0,
      0,
      NULL,
      "Append a header NAME whose value is a template." },

    { hm_string("header_remove"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE1,
      hm_pipeline_transform_header_remove,
      0,
      0,
      NULL,
      "Remove every header NAME." },

    { hm_string("header_rename"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE2,
      hm_pipeline_transform_header_rename,
      0,
      0,
      NULL,
      "Rename every header OLD to NEW, keeping its position." },

    { hm_string("header_replace"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE3|HM_CONF_TAKE4,
      hm_pipeline_transform_header_replace,
      0,
      0,
      NULL,
      "Substitute a regular expression in every value of header NAME." },

    { hm_string("json_set"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE23,
      hm_pipeline_transform_json_set,
      0,
      0,
      NULL,
      "Set a JSON path of the body to a template converted to a type." },

    { hm_string("json_remove"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE1,
      hm_pipeline_transform_json_remove,
      0,
      0,
      NULL,
      "Remove a JSON path from the body; a missing path is no error." },

    { hm_string("json_rename"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE2,
      hm_pipeline_transform_json_rename,
      0,
      0,
      NULL,
      "Move the value at a JSON path of the body to another path." },

    { hm_string("body_set"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE1,
      hm_pipeline_transform_body_set,
      0,
      0,
      NULL,
      "Replace the body with a template." },

    { hm_string("body_replace"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE23,
      hm_pipeline_transform_body_replace,
      0,
      0,
      NULL,
      "Substitute a regular expression in the body, all matches with g." },

    { hm_string("on_error"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE1,
      hm_conf_set_enum_slot,
      0,
      offsetof(hm_pipeline_transform_conf_t, on_error),
      &hm_pipeline_transform_on_error,
      "On bad input: fail (reject), pass (skip the operation), dead_letter." },

      hm_null_command
};


static hm_pipeline_module_t  hm_pipeline_transform_module_ctx = {
    NULL,                                  /* outbound type */
    NULL,                                  /* inbound type */
    { NULL, NULL, NULL }
};


hm_module_t  hm_pipeline_transform_module = {
    HM_MODULE_V1,
    &hm_pipeline_transform_module_ctx,     /* module context */
    hm_pipeline_transform_commands,        /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


/* -- configuration ---------------------------------------------------- */

static char *
hm_pipeline_transform(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_pipeline_t *p = conf;

    char                          *rv;
    hm_str_t                       name;
    hm_pipeline_transform_conf_t  *tf;

    tf = hm_pcalloc(cf->pool, sizeof(hm_pipeline_transform_conf_t));
    if (tf == NULL) {
        return HM_CONF_ERROR;
    }

    if (hm_array_init(&tf->ops, cf->pool, 4,
                      sizeof(hm_pipeline_transform_op_t))
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    tf->on_error = HM_CONF_UNSET_UINT;

    rv = hm_conf_parse_module_block(cf, &hm_pipeline_transform_module, tf,
                                    HM_PIPELINE_BLOCK_CONF);
    if (rv != HM_CONF_OK) {
        return rv;
    }

    hm_conf_init_uint_value(tf->on_error, HM_PIPELINE_TRANSFORM_FAIL);

    hm_str_set(&name, "transform");

    if (hm_pipeline_add_filter(cf, p, &name, hm_pipeline_transform_handler,
                               NULL, tf)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/* header_set NAME VALUE; header_add NAME VALUE; */

static char *
hm_pipeline_transform_header(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_str_t                    *value;
    hm_pipeline_transform_pt     handler;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    handler = hm_str_eq(&value[0], "header_set")
              ? hm_pipeline_transform_run_header_set
              : hm_pipeline_transform_run_header_add;

    if (value[1].len == 0) {
        return "has an empty header name";
    }

    op = hm_pipeline_transform_add(cf, conf, handler);
    if (op == NULL) {
        return HM_CONF_ERROR;
    }

    op->name = value[1];

    if (hm_complex_value_compile(cf, &value[2], HM_VAR_MESSAGE, &op->value)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_pipeline_transform_header_remove(hm_conf_t *cf, hm_command_t *cmd,
    void *conf)
{
    hm_str_t                    *value;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "has an empty header name";
    }

    op = hm_pipeline_transform_add(cf, conf,
                                   hm_pipeline_transform_run_header_remove);
    if (op == NULL) {
        return HM_CONF_ERROR;
    }

    op->name = value[1];

    return HM_CONF_OK;
}


static char *
hm_pipeline_transform_header_rename(hm_conf_t *cf, hm_command_t *cmd,
    void *conf)
{
    hm_str_t                    *value;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    if (value[1].len == 0 || value[2].len == 0) {
        return "has an empty header name";
    }

    op = hm_pipeline_transform_add(cf, conf,
                                   hm_pipeline_transform_run_header_rename);
    if (op == NULL) {
        return HM_CONF_ERROR;
    }

    op->name = value[1];
    op->new_name = value[2];

    return HM_CONF_OK;
}


/* header_replace NAME REGEX REPLACEMENT [g]; */

static char *
hm_pipeline_transform_header_replace(hm_conf_t *cf, hm_command_t *cmd,
    void *conf)
{
    hm_str_t                    *value;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "has an empty header name";
    }

    op = hm_pipeline_transform_add(cf, conf,
                                   hm_pipeline_transform_run_header_replace);
    if (op == NULL) {
        return HM_CONF_ERROR;
    }

    op->name = value[1];

    if (hm_pipeline_transform_regex(cf, &op->re, &value[2],
                                    cf->args->nelts - 2)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/* json_set PATH VALUE [string|number|boolean|null|json]; */

static char *
hm_pipeline_transform_json_set(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_str_t                    *value;
    hm_uint_t                    i;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    op = hm_pipeline_transform_add(cf, conf,
                                   hm_pipeline_transform_run_json_set);
    if (op == NULL) {
        return HM_CONF_ERROR;
    }

    op->name = value[1];
    op->type = HM_PIPELINE_TRANSFORM_STRING;

    if (hm_pipeline_transform_path(cf, &value[1], &op->path) != HM_OK) {
        return HM_CONF_ERROR;
    }

    if (cf->args->nelts == 4) {

        for (i = 0; hm_pipeline_transform_types[i].name.len; i++) {
            if (value[3].len == hm_pipeline_transform_types[i].name.len
                && hm_strncasecmp(value[3].data,
                                  hm_pipeline_transform_types[i].name.data,
                                  value[3].len)
                   == 0)
            {
                break;
            }
        }

        if (hm_pipeline_transform_types[i].name.len == 0) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid type \"%V\" in \"json_set\" directive, "
                              "it must be \"string\", \"number\", "
                              "\"boolean\", \"null\" or \"json\"",
                              &value[3]);
            return HM_CONF_ERROR;
        }

        op->type = hm_pipeline_transform_types[i].value;
    }

    if (hm_complex_value_compile(cf, &value[2], HM_VAR_MESSAGE, &op->value)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    if (hm_pipeline_transform_constant(cf, op) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_pipeline_transform_json_remove(hm_conf_t *cf, hm_command_t *cmd,
    void *conf)
{
    hm_str_t                    *value;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    op = hm_pipeline_transform_add(cf, conf,
                                   hm_pipeline_transform_run_json_remove);
    if (op == NULL) {
        return HM_CONF_ERROR;
    }

    op->name = value[1];

    if (hm_pipeline_transform_path(cf, &value[1], &op->path) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_pipeline_transform_json_rename(hm_conf_t *cf, hm_command_t *cmd,
    void *conf)
{
    hm_str_t                    *value;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    op = hm_pipeline_transform_add(cf, conf,
                                   hm_pipeline_transform_run_json_rename);
    if (op == NULL) {
        return HM_CONF_ERROR;
    }

    op->name = value[1];
    op->new_name = value[2];

    if (hm_pipeline_transform_path(cf, &value[1], &op->path) != HM_OK
        || hm_pipeline_transform_path(cf, &value[2], &op->new_path) != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_pipeline_transform_body_set(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_str_t                    *value;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    op = hm_pipeline_transform_add(cf, conf,
                                   hm_pipeline_transform_run_body_set);
    if (op == NULL) {
        return HM_CONF_ERROR;
    }

    if (hm_complex_value_compile(cf, &value[1], HM_VAR_MESSAGE, &op->value)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


/* body_replace REGEX REPLACEMENT [g]; */

static char *
hm_pipeline_transform_body_replace(hm_conf_t *cf, hm_command_t *cmd,
    void *conf)
{
    hm_str_t                    *value;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    op = hm_pipeline_transform_add(cf, conf,
                                   hm_pipeline_transform_run_body_replace);
    if (op == NULL) {
        return HM_CONF_ERROR;
    }

    if (hm_pipeline_transform_regex(cf, &op->re, &value[1],
                                    cf->args->nelts - 1)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static hm_pipeline_transform_op_t *
hm_pipeline_transform_add(hm_conf_t *cf, void *conf,
    hm_pipeline_transform_pt handler)
{
    hm_pipeline_transform_conf_t *tf = conf;

    hm_str_t                    *value;
    hm_pipeline_transform_op_t  *op;

    value = cf->args->elts;

    op = hm_array_push(&tf->ops);
    if (op == NULL) {
        return NULL;
    }

    hm_memzero(op, sizeof(hm_pipeline_transform_op_t));

    op->handler = handler;
    op->conf = tf;
    op->directive = value[0];

    return op;
}


static hm_int_t
hm_pipeline_transform_path(hm_conf_t *cf, hm_str_t *text,
    hm_json_path_t *path)
{
    char  *err;

    err = hm_json_path_compile(cf->pool, text, path);

    if (err != NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid JSON path \"%V\": %s", text, err);
        return HM_ERROR;
    }

    return HM_OK;
}


/*
 * A json_set value without variables is converted once, here: a bad
 * constant is a configuration error, and each message gets a copy.
 */

static hm_int_t
hm_pipeline_transform_constant(hm_conf_t *cf, hm_pipeline_transform_op_t *op)
{
    char               *reason;
    json_t             *v;
    hm_pool_cleanup_t  *cln;

    if (op->value.parts != NULL && op->type != HM_PIPELINE_TRANSFORM_NULL) {
        return HM_OK;
    }

    cln = hm_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return HM_ERROR;
    }

    v = hm_pipeline_transform_convert(cf->pool, &op->value.value, op->type,
                                      &reason);
    if (v == NULL) {
        if (reason != NULL) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "\"%V\" %s in \"%V\" directive",
                              &op->value.value, reason, &op->directive);
        }

        return HM_ERROR;
    }

    cln->handler = hm_pipeline_transform_json_cleanup;
    cln->data = v;

    op->constant = v;

    return HM_OK;
}


static hm_int_t
hm_pipeline_transform_regex(hm_conf_t *cf, hm_pipeline_transform_regex_t *re,
    hm_str_t *args, hm_uint_t n)
{
    char                 *err;
    hm_pool_cleanup_t    *cln;
    hm_regex_compile_t    rc;

    re->options = PCRE2_SUBSTITUTE_OVERFLOW_LENGTH
                  |PCRE2_SUBSTITUTE_UNSET_EMPTY;

    if (n == 3) {
        if (args[2].len != 1 || args[2].data[0] != 'g') {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid flag \"%V\", it must be \"g\"",
                              &args[2]);
            return HM_ERROR;
        }

        re->options |= PCRE2_SUBSTITUTE_GLOBAL;
    }

    hm_memzero(&rc, sizeof(hm_regex_compile_t));

    rc.pattern = args[0];
    rc.pool = cf->pool;

    if (hm_regex_compile(&rc) != HM_OK) {
        if (rc.err.len) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%V", &rc.err);
        }

        return HM_ERROR;
    }

    re->regex = rc.regex;
    re->replacement = args[1];

    err = hm_pipeline_transform_check_replacement(re);
    if (err != NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid replacement \"%V\": %s", &args[1], err);
        return HM_ERROR;
    }

    cln = hm_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return HM_ERROR;
    }

    re->match_data = pcre2_match_data_create_from_pattern(re->regex->code,
                                                          NULL);
    if (re->match_data == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "pcre2_match_data_create_from_pattern() failed");
        return HM_ERROR;
    }

    cln->handler = hm_pipeline_transform_match_data_cleanup;
    cln->data = re->match_data;

    return HM_OK;
}


/*
 * The references of a replacement, as pcre2_substitute() reads them
 * (without PCRE2_SUBSTITUTE_EXTENDED): "$$", "$N", "${N}", "$NAME",
 * "${NAME}", "$*MARK", "${*MARK}".  Checked here so that a typo is a
 * configuration error, not a failure of every message.
 */

static char *
hm_pipeline_transform_check_replacement(hm_pipeline_transform_regex_t *re)
{
    char    *err;
    u_char  *p, *last;

    p = re->replacement.data;
    last = p + re->replacement.len;

    while (p < last) {

        if (*p++ != '$') {
            continue;
        }

        if (p < last && *p == '$') {
            p++;
            continue;
        }

        err = hm_pipeline_transform_check_ref(re, &p, last);
        if (err != NULL) {
            return err;
        }
    }

    return NULL;
}


static char *
hm_pipeline_transform_check_ref(hm_pipeline_transform_regex_t *re,
    u_char **pos, u_char *last)
{
    u_char     *p, *start, name[33];
    size_t      len;
    hm_uint_t   brace, star, n;

    p = *pos;

    brace = (p < last && *p == '{');
    p += brace;

    star = (p < last && *p == '*');
    p += star;

    start = p;

    if (!star && p < last && *p >= '0' && *p <= '9') {
        for (n = 0; p < last && *p >= '0' && *p <= '9'; p++) {
            n = n * 10 + (*p - '0');

            if (n > re->regex->captures) {
                return "reference to a group that does not exist";
            }
        }

    } else {
        while (p < last && (isalnum(*p) || *p == '_')) {
            p++;
        }

        len = p - start;

        if (len == 0 || len >= sizeof(name)) {
            return "\"$\" not followed by a group reference (\"$$\" "
                   "is a literal \"$\")";
        }

        hm_memcpy(name, start, len);
        name[len] = '\0';

        if (star) {
            if (hm_strcmp(name, "MARK") != 0) {
                return "only \"*MARK\" may follow \"$*\"";
            }

        } else if (pcre2_substring_number_from_name(re->regex->code, name)
                   == PCRE2_ERROR_NOSUBSTRING)
        {
            /* a duplicate name, with (?J), is fine */
            return "reference to a group that does not exist";
        }
    }

    if (brace) {
        if (p == last || *p != '}') {
            return "missing \"}\"";
        }

        p++;
    }

    *pos = p;

    return NULL;
}


static void
hm_pipeline_transform_json_cleanup(void *data)
{
    json_t  *v = data;

    json_decref(v);
}


static void
hm_pipeline_transform_match_data_cleanup(void *data)
{
    pcre2_match_data  *md = data;

    pcre2_match_data_free(md);
}


/* -- the filter ------------------------------------------------------- */

static hm_int_t
hm_pipeline_transform_handler(hm_msg_t *m, void *conf)
{
    hm_pipeline_transform_conf_t *tf = conf;

    hm_int_t                     rc;
    hm_uint_t                    i;
    hm_pipeline_transform_op_t  *op;

    op = tf->ops.elts;

    for (i = 0; i < tf->ops.nelts; i++) {

        rc = op[i].handler(m, &op[i]);

        if (rc == HM_OK) {
            continue;
        }

        if (rc != HM_DECLINED) {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "%V failed",
                             &op[i].directive);
            return HM_ERROR;
        }

        /* bad input: m->error is set unless the policy is "pass" */

        switch (tf->on_error) {

        case HM_PIPELINE_TRANSFORM_PASS:
            continue;

        case HM_PIPELINE_TRANSFORM_DEAD_LETTER:
            return HM_ABORT;

        default: /* HM_PIPELINE_TRANSFORM_FAIL */
            return HM_ERROR;
        }
    }

    return HM_OK;
}


/*
 * Bad input: sets the message's error as 'json_set "$.a": the body is not
 * JSON' unless the operation will just be skipped; returns HM_DECLINED.
 */

static hm_int_t
hm_pipeline_transform_bad(hm_msg_t *m, hm_pipeline_transform_op_t *op,
    const char *fmt, ...)
{
    u_char   *p, errstr[256];
    va_list   args;

    if (op->conf->on_error == HM_PIPELINE_TRANSFORM_PASS) {
        hm_log_debug(m->log, "%V \"%V\" skipped: %s", &op->directive,
                     &op->name, fmt);
        return HM_DECLINED;
    }

    if (op->name.len) {
        p = hm_slprintf(errstr, errstr + sizeof(errstr), "%V \"%V\": ",
                        &op->directive, &op->name);

    } else {
        p = hm_slprintf(errstr, errstr + sizeof(errstr), "%V: ",
                        &op->directive);
    }

    va_start(args, fmt);
    p = hm_vslprintf(p, errstr + sizeof(errstr), fmt, args);
    va_end(args);

    hm_msg_set_error(m, HM_MSG_ERR_FILTER, "%*s", (size_t) (p - errstr),
                     errstr);

    return HM_DECLINED;
}


/* -- headers ---------------------------------------------------------- */

static hm_int_t
hm_pipeline_transform_run_header_set(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    hm_str_t  value;

    if (hm_complex_value(m, m->pool, &op->value, &value) != HM_OK) {
        return HM_ERROR;
    }

    return hm_msg_header_set(m, &op->name, &value);
}


static hm_int_t
hm_pipeline_transform_run_header_add(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    hm_str_t  value;

    if (hm_complex_value(m, m->pool, &op->value, &value) != HM_OK) {
        return HM_ERROR;
    }

    return hm_msg_header_add(m, &op->name, &value);
}


static hm_int_t
hm_pipeline_transform_run_header_remove(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    (void) hm_msg_header_remove(m, op->name.data, op->name.len);

    return HM_OK;
}


static hm_int_t
hm_pipeline_transform_run_header_rename(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    hm_uint_t         i;
    hm_msg_header_t  *h;

    h = m->headers.elts;

    for (i = 0; i < m->headers.nelts; i++) {
        if (hm_pipeline_transform_header_is(&h[i], &op->name)) {
            h[i].name = op->new_name;
        }
    }

    return HM_OK;
}


static hm_int_t
hm_pipeline_transform_run_header_replace(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    hm_int_t          rc;
    hm_str_t          value;
    hm_uint_t         i;
    hm_msg_header_t  *h;

    h = m->headers.elts;

    for (i = 0; i < m->headers.nelts; i++) {

        if (!hm_pipeline_transform_header_is(&h[i], &op->name)) {
            continue;
        }

        rc = hm_pipeline_transform_subst(m, op, &h[i].value, &value);

        if (rc == HM_DONE) {
            continue;
        }

        if (rc != HM_OK) {
            return rc;
        }

        h[i].value = value;
    }

    return HM_OK;
}


static hm_uint_t
hm_pipeline_transform_header_is(hm_msg_header_t *h, hm_str_t *name)
{
    return h->name.len == name->len
           && hm_strncasecmp(h->name.data, name->data, name->len) == 0;
}


/* -- the JSON body ---------------------------------------------------- */

/*
 * A body no filter parsed yet is edited as text: no tree is built, the
 * body is not serialized again.  HM_AGAIN: this needs the tree.
 */

static hm_int_t
hm_pipeline_transform_json_set_text(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    char      *s;
    hm_int_t   rc;
    ssize_t    n;
    json_t    *v;
    hm_str_t   body, value, text, out;

    if (hm_msg_body_flat(m, &body) != HM_OK) {
        return HM_AGAIN;
    }

    if (op->constant == NULL && op->type == HM_PIPELINE_TRANSFORM_STRING) {

        /* a string: quoted and escaped here, no jansson value */

        if (hm_complex_value(m, m->pool, &op->value, &value) != HM_OK) {
            return HM_ERROR;
        }

        n = hm_json_escape_len(value.data, value.len);
        if (n < 0) {
            return HM_AGAIN;
        }

        text.data = hm_pnalloc(m->pool, n + 2);
        if (text.data == NULL) {
            return HM_ERROR;
        }

        s = (char *) text.data;
        *s++ = '"';
        s = (char *) hm_json_escape((u_char *) s, value.data, value.len);
        *s++ = '"';
        text.len = (u_char *) s - text.data;

    } else {

        /* a bad value is reported by the tree path, in its order */

        if (hm_pipeline_transform_json_value(m, op, &v) != HM_OK) {
            return HM_AGAIN;
        }

        rc = hm_json_dump(m->pool, v, 64, &text);

        json_decref(v);

        if (rc != HM_OK) {
            return HM_AGAIN;
        }
    }

    /* not JSON, or a path that needs the tree: the tree path decides */

    if (hm_json_raw_set(m->pool, &body, &op->path, &text, &out) != HM_OK) {
        return HM_AGAIN;
    }

    if (hm_msg_set_body(m, out.data, out.len) != HM_OK) {
        return HM_ERROR;
    }

    return HM_OK;
}


static hm_int_t
hm_pipeline_transform_run_json_set(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    char      *err;
    json_t    *root, *v;
    hm_int_t   rc;

    if (m->json == NULL && !m->json_invalid && hm_msg_is_json_type(m)) {
        rc = hm_pipeline_transform_json_set_text(m, op);

        if (rc != HM_AGAIN) {
            return rc;
        }
    }

    root = hm_pipeline_transform_json(m);
    if (root == NULL) {
        return hm_pipeline_transform_bad(m, op, "the body is not JSON");
    }

    err = hm_pipeline_transform_unsettable(root, &op->path);
    if (err != NULL) {
        return hm_pipeline_transform_bad(m, op, "the path %s", err);
    }

    rc = hm_pipeline_transform_json_value(m, op, &v);
    if (rc != HM_OK) {
        return rc;
    }

    /* the tree takes the reference, or drops it on failure */

    if (hm_json_path_set(root, &op->path, v) != HM_OK) {
        return HM_ERROR;
    }

    hm_msg_json_changed(m);

    return HM_OK;
}


static hm_int_t
hm_pipeline_transform_run_json_remove(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    json_t    *root;
    hm_int_t   rc;

    root = hm_pipeline_transform_json(m);
    if (root == NULL) {
        return hm_pipeline_transform_bad(m, op, "the body is not JSON");
    }

    rc = hm_json_path_remove(root, &op->path);

    if (rc == HM_DECLINED) {
        return HM_OK;
    }

    if (rc != HM_OK) {
        return HM_ERROR;
    }

    hm_msg_json_changed(m);

    return HM_OK;
}


/*
 * The value is detached first, so that a new path under the old one
 * ("a" to "a.b") works; a new path that cannot be set puts it back.
 */

static hm_int_t
hm_pipeline_transform_run_json_rename(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    char      *err;
    json_t    *root, *v;

    root = hm_pipeline_transform_json(m);
    if (root == NULL) {
        return hm_pipeline_transform_bad(m, op, "the body is not JSON");
    }

    v = hm_json_path_get(root, &op->path);
    if (v == NULL) {
        return HM_OK;
    }

    /* our reference keeps the value alive while it is detached */

    json_incref(v);

    if (hm_json_path_remove(root, &op->path) != HM_OK) {
        json_decref(v);
        return HM_ERROR;
    }

    err = hm_pipeline_transform_unsettable(root, &op->new_path);

    if (err != NULL) {
        if (hm_pipeline_transform_restore(root, &op->path, v) != HM_OK) {
            json_decref(v);
            return HM_ERROR;
        }

        json_decref(v);

        return hm_pipeline_transform_bad(m, op, "the path \"%V\" %s",
                                         &op->new_name, err);
    }

    /* hm_json_path_set() takes our reference */

    if (hm_json_path_set(root, &op->new_path, v) != HM_OK) {
        return HM_ERROR;
    }

    hm_msg_json_changed(m);

    return HM_OK;
}


/*
 * Why hm_json_path_set() would fail, or NULL.  It creates the missing
 * objects on its way before it meets a mismatch, and a skipped operation
 * must leave the tree as it was: so a mismatch is looked for first.  The
 * setter creates objects only, and extends an array by one element only.
 */

static char *
hm_pipeline_transform_unsettable(json_t *node, hm_json_path_t *path)
{
    hm_uint_t            i, n;
    hm_json_path_elt_t  *e;

    e = path->elts->elts;
    n = path->elts->nelts;

    for (i = 0; i < n; i++) {

        if (e[i].index >= 0) {
            if (!json_is_array(node)) {
                return "crosses a non-array";
            }

            if (i + 1 == n) {
                return ((size_t) e[i].index <= json_array_size(node))
                       ? NULL : "has an array index out of range";
            }

            node = json_array_get(node, e[i].index);

            if (node == NULL) {
                return "has an array index out of range";
            }

            continue;
        }

        if (!json_is_object(node)) {
            return "crosses a non-object";
        }

        node = json_object_get(node, (char *) e[i].key.data);

        if (node == NULL) {
            /* created from here on: as objects, with members only */

            for (i++; i < n; i++) {
                if (e[i].index >= 0) {
                    return "crosses a non-array";
                }
            }

            return NULL;
        }
    }

    return NULL;
}


/* puts a removed value back where it was, in its object or array */

static hm_int_t
hm_pipeline_transform_restore(json_t *root, hm_json_path_t *path, json_t *v)
{
    json_t              *parent;
    hm_array_t           elts;
    hm_json_path_t       up;
    hm_json_path_elt_t  *last;

    elts = *path->elts;
    elts.nelts--;

    up.text = path->text;
    up.elts = &elts;

    last = (hm_json_path_elt_t *) path->elts->elts + elts.nelts;

    parent = elts.nelts ? hm_json_path_get(root, &up) : root;
    if (parent == NULL) {
        return HM_ERROR;
    }

    if (last->index >= 0) {
        return json_array_insert(parent, last->index, v) == 0
               ? HM_OK : HM_ERROR;
    }

    /* compiled keys are NUL-terminated */

    return json_object_set(parent, (char *) last->key.data, v) == 0
           ? HM_OK : HM_ERROR;
}


/*
 * The parsed body, or NULL when the message does not carry JSON.  The
 * parser's own error text is not kept: the operation sets its own, or
 * none when it is skipped.
 */

static json_t *
hm_pipeline_transform_json(hm_msg_t *m)
{
    json_t    *root;
    hm_str_t   error;

    if (!hm_msg_is_json_type(m)) {
        return NULL;
    }

    error = m->error;

    root = hm_msg_json(m);

    if (root == NULL) {
        m->error = error;
    }

    return root;
}


/* HM_OK with a new reference in *vp, HM_DECLINED: bad value, HM_ERROR */

static hm_int_t
hm_pipeline_transform_json_value(hm_msg_t *m, hm_pipeline_transform_op_t *op,
    json_t **vp)
{
    char      *reason;
    size_t     len;
    hm_str_t   text;

    if (op->constant != NULL) {
        *vp = json_deep_copy(op->constant);
        return (*vp == NULL) ? HM_ERROR : HM_OK;
    }

    if (hm_complex_value(m, m->pool, &op->value, &text) != HM_OK) {
        return HM_ERROR;
    }

    *vp = hm_pipeline_transform_convert(m->pool, &text, op->type, &reason);

    if (*vp != NULL) {
        return HM_OK;
    }

    if (reason == NULL) {
        return HM_ERROR;
    }

    /* the value is quoted when short and printable: errors go to logs */

    len = hm_min(text.len, HM_PIPELINE_TRANSFORM_QUOTE);

    if (!hm_pipeline_transform_printable(text.data, len)) {
        return hm_pipeline_transform_bad(m, op, "the value %s", reason);
    }

    return hm_pipeline_transform_bad(m, op, "\"%*s%s\" %s", len, text.data,
                                     len < text.len ? "..." : "", reason);
}


static hm_uint_t
hm_pipeline_transform_printable(u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* a new reference, or NULL: *reason says why, or NULL for no memory */

static json_t *
hm_pipeline_transform_convert(hm_pool_t *pool, hm_str_t *text,
    hm_uint_t type, char **reason)
{
    json_t        *v;
    json_error_t   err;

    *reason = NULL;

    switch (type) {

    case HM_PIPELINE_TRANSFORM_NUMBER:
        return hm_pipeline_transform_number(pool, text, reason);

    case HM_PIPELINE_TRANSFORM_BOOLEAN:
        if (hm_str_eq(text, "true")) {
            return json_true();
        }

        if (hm_str_eq(text, "false")) {
            return json_false();
        }

        *reason = "is not a boolean (\"true\" or \"false\")";
        return NULL;

    case HM_PIPELINE_TRANSFORM_NULL:
        return json_null();

    case HM_PIPELINE_TRANSFORM_JSON:
        v = json_loadb((char *) text->data, text->len,
                       JSON_DECODE_ANY|JSON_ALLOW_NUL, &err);
        if (v == NULL) {
            *reason = "is not valid JSON";
        }

        return v;

    default: /* HM_PIPELINE_TRANSFORM_STRING */
        v = text->len ? json_stringn((char *) text->data, text->len)
                      : json_string("");
        if (v == NULL) {
            *reason = "is not valid UTF-8";
        }

        return v;
    }
}


/*
 * A JSON number: an integer that fits json_int_t stays one, anything
 * else becomes a real.  strtoll() and strtod() need a terminated copy.
 */

static json_t *
hm_pipeline_transform_number(hm_pool_t *pool, hm_str_t *text, char **reason)
{
    char        *s, buf[64];
    double       d;
    hm_int_t     integer;
    json_int_t   i;

    integer = hm_pipeline_transform_is_number(text);

    if (integer == HM_ERROR) {
        *reason = "is not a number";
        return NULL;
    }

    if (text->len < sizeof(buf)) {
        s = buf;

    } else {
        s = hm_pnalloc(pool, text->len + 1);
        if (s == NULL) {
            return NULL;
        }
    }

    hm_memcpy(s, text->data, text->len);
    s[text->len] = '\0';

    if (integer) {
        hm_set_errno(0);
        i = strtoll(s, NULL, 10);

        if (hm_errno == 0) {
            return json_integer(i);
        }
    }

    hm_set_errno(0);
    d = strtod(s, NULL);

    /* overflow gives HUGE_VAL; underflow, a tiny value, is fine */

    if (hm_errno == ERANGE && (d > 1.0 || d < -1.0)) {
        *reason = "is out of range";
        return NULL;
    }

    return json_real(d);
}


/* the JSON number grammar: 1 for an integer, 0 for a real, or HM_ERROR */

static hm_int_t
hm_pipeline_transform_is_number(hm_str_t *text)
{
    u_char    *p, *q, *last;
    hm_int_t   integer;

    p = text->data;
    last = p + text->len;
    integer = 1;

    if (p < last && *p == '-') {
        p++;
    }

    if (p == last || *p < '0' || *p > '9') {
        return HM_ERROR;
    }

    p = (*p == '0') ? p + 1 : hm_pipeline_transform_digits(p, last);

    if (p < last && *p == '.') {
        integer = 0;
        q = hm_pipeline_transform_digits(++p, last);

        if (q == p) {
            return HM_ERROR;
        }

        p = q;
    }

    if (p < last && (*p == 'e' || *p == 'E')) {
        integer = 0;
        p++;

        if (p < last && (*p == '+' || *p == '-')) {
            p++;
        }

        q = hm_pipeline_transform_digits(p, last);

        if (q == p) {
            return HM_ERROR;
        }

        p = q;
    }

    return (p == last) ? integer : HM_ERROR;
}


static u_char *
hm_pipeline_transform_digits(u_char *p, u_char *last)
{
    while (p < last && *p >= '0' && *p <= '9') {
        p++;
    }

    return p;
}


/* -- the raw body ----------------------------------------------------- */

static hm_int_t
hm_pipeline_transform_run_body_set(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    hm_str_t  body;

    if (hm_complex_value(m, m->pool, &op->value, &body) != HM_OK) {
        return HM_ERROR;
    }

    return hm_msg_set_body(m, body.data, body.len);
}


static hm_int_t
hm_pipeline_transform_run_body_replace(hm_msg_t *m,
    hm_pipeline_transform_op_t *op)
{
    hm_int_t  rc;
    hm_str_t  body, out;

    /* a JSON tree changed by an earlier operation is serialized first */

    if (hm_msg_body_flat(m, &body) != HM_OK) {
        return HM_ERROR;
    }

    rc = hm_pipeline_transform_subst(m, op, &body, &out);

    if (rc == HM_DONE) {
        return HM_OK;
    }

    if (rc != HM_OK) {
        return rc;
    }

    return hm_msg_set_body(m, out.data, out.len);
}


/*
 * pcre2_substitute() into a buffer from the message's pool: HM_OK with
 * the result in *out, HM_DONE when nothing matched (nothing is copied
 * then), HM_DECLINED on a PCRE2 run-time error, HM_ERROR.  The first
 * match is found with pcre2_match() and reused (SUBSTITUTE_MATCHED); the
 * buffer is a guess, and a second try gets the size PCRE2 asked for.
 */

static hm_int_t
hm_pipeline_transform_subst(hm_msg_t *m, hm_pipeline_transform_op_t *op,
    hm_str_t *in, hm_str_t *out)
{
    int                             rc;
    u_char                         *buf, *subject;
    size_t                          size, len;
    uint32_t                        options;
    hm_pipeline_transform_regex_t  *re;

    re = &op->re;
    subject = in->data ? in->data : (u_char *) "";

    rc = pcre2_match(re->regex->code, subject, in->len, 0, 0, re->match_data,
                     NULL);

    if (rc == PCRE2_ERROR_NOMATCH) {
        return HM_DONE;
    }

    if (rc < 0) {
        return hm_pipeline_transform_pcre_error(m, op, "pcre2_match()", rc);
    }

    options = re->options|PCRE2_SUBSTITUTE_MATCHED;
    size = in->len + in->len / 4 + re->replacement.len + 256;

    buf = hm_pnalloc(m->pool, size);
    if (buf == NULL) {
        return HM_ERROR;
    }

    len = size;
    rc = pcre2_substitute(re->regex->code, subject, in->len, 0, options,
                          re->match_data, NULL, re->replacement.data,
                          re->replacement.len, buf, &len);

    if (rc == PCRE2_ERROR_NOMEMORY) {
        (void) hm_pfree(m->pool, buf);

        /* a global substitution has moved the match data on: match again */

        options &= ~PCRE2_SUBSTITUTE_MATCHED;

        buf = hm_pnalloc(m->pool, len);
        if (buf == NULL) {
            return HM_ERROR;
        }

        rc = pcre2_substitute(re->regex->code, subject, in->len, 0, options,
                              re->match_data, NULL, re->replacement.data,
                              re->replacement.len, buf, &len);
    }

    if (rc < 0) {
        return hm_pipeline_transform_pcre_error(m, op, "pcre2_substitute()",
                                                rc);
    }

    out->data = buf;
    out->len = len;

    return HM_OK;
}


static hm_int_t
hm_pipeline_transform_pcre_error(hm_msg_t *m, hm_pipeline_transform_op_t *op,
    const char *func, int rc)
{
    u_char  errstr[128];

    if (pcre2_get_error_message(rc, errstr, sizeof(errstr)) < 0) {
        errstr[0] = '\0';
    }

    return hm_pipeline_transform_bad(m, op, "%s failed (%d: %s)", func, rc,
                                     errstr);
}

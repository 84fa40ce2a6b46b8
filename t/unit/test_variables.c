/*
 * Copyright (C) hermod authors
 *
 * Variables and complex values: registration, exact and longest-prefix
 * resolution, context kinds, the error texts, compile/evaluate, the
 * complex value directive setter and the core variables.  Errors go to a
 * temporary log file that is read back.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_unit.h>


typedef struct {
    char        *x;
    char        *y;
} test_ctx_t;


static hm_cycle_t      *cycle;
static hm_conf_t        cf;
static hm_log_t         tlog;
static hm_open_file_t   tlog_file;
static char             logbuf[4096];


static void
log_reset(void)
{
    if (ftruncate(tlog_file.fd, 0) == -1
        || lseek(tlog_file.fd, 0, SEEK_SET) == -1)
    {
        perror("log_reset");
        exit(2);
    }
}


/* the log so far, NUL-terminated, in logbuf */

static char *
log_text(void)
{
    ssize_t  n;

    n = pread(tlog_file.fd, logbuf, sizeof(logbuf) - 1, 0);
    logbuf[n > 0 ? n : 0] = '\0';

    return logbuf;
}


/* data is the offset of a char * in test_ctx_t; NULL is not found */

static hm_int_t
get_field(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    char  *s;

    s = *(char **) ((char *) ctx + data);

    if (s == NULL) {
        v->not_found = 1;
        return HM_OK;
    }

    v->len = strlen(s);
    v->data = (u_char *) s;

    return HM_OK;
}


static hm_int_t
get_const(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    v->data = (u_char *) data;
    v->len = strlen((char *) data);

    return HM_OK;
}


/* a prefix variable: the suffix, uppercased */

static hm_int_t
get_upper(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    size_t     i;
    hm_str_t  *suffix = (hm_str_t *) data;

    v->data = hm_pnalloc(pool, suffix->len);
    if (v->data == NULL) {
        return HM_ERROR;
    }

    for (i = 0; i < suffix->len; i++) {
        v->data[i] = hm_toupper(suffix->data[i]);
    }

    v->len = suffix->len;

    return HM_OK;
}


/*
 * Prefix handlers receive the suffix, not the variable's data: "a_" and
 * "a_b_" render "short:SUFFIX" and "long:SUFFIX".
 */

static hm_int_t
get_tagged(hm_pool_t *pool, hm_variable_value_t *v, char *tag,
    hm_str_t *suffix)
{
    u_char  *p;

    p = hm_pnalloc(pool, strlen(tag) + 1 + suffix->len);
    if (p == NULL) {
        return HM_ERROR;
    }

    v->data = p;
    v->len = hm_sprintf(p, "%s:%V", tag, suffix) - p;

    return HM_OK;
}


static hm_int_t
get_short(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    return get_tagged(pool, v, "short", (hm_str_t *) data);
}


static hm_int_t
get_long(void *ctx, hm_pool_t *pool, hm_variable_value_t *v,
    uintptr_t data)
{
    return get_tagged(pool, v, "long", (hm_str_t *) data);
}


static void
setup(void)
{
    char        path[] = "/tmp/hm_test_variables_XXXXXX";
    int         fd;
    hm_pool_t  *pool;

    fd = mkstemp(path);
    if (fd == -1) {
        perror("mkstemp");
        exit(2);
    }

    (void) unlink(path);

    tlog_file.fd = fd;
    hm_str_set(&tlog_file.name, "test log");
    tlog.file = &tlog_file;
    tlog.log_level = HM_LOG_NOTICE;

    /* the expected errors go to the temporary log only, not to stderr */
    hm_use_stderr = 0;

    pool = hm_create_pool(HM_DEFAULT_POOL_SIZE, &tlog);
    if (pool == NULL) {
        exit(2);
    }

    cycle = hm_pcalloc(pool, sizeof(hm_cycle_t));
    if (cycle == NULL) {
        exit(2);
    }

    cycle->pool = pool;
    cycle->log = &tlog;
    hm_str_set(&cycle->hostname, "unit.example");

    /* conf_file == NULL: errors come without " in FILE:LINE" */

    hm_memzero(&cf, sizeof(hm_conf_t));
    cf.args = hm_array_create(pool, 4, sizeof(hm_str_t));
    cf.cycle = cycle;
    cf.pool = pool;
    cf.log = &tlog;
}


static void
test_register(void)
{
    hm_str_t        s;
    hm_variable_t  *v, *v2;

    static hm_variable_t  table[] = {
        { hm_string("x"), get_field, offsetof(test_ctx_t, x),
          HM_VAR_ANY, 0, 0, { NULL, NULL } },
        { hm_string("y"), get_field, offsetof(test_ctx_t, y),
          HM_VAR_HTTP, 0, 0, { NULL, NULL } },
        { hm_string("hdr_"), get_upper, 0,
          HM_VAR_ANY, HM_VAR_PREFIX, 0, { NULL, NULL } },
        { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
    };

    HM_CHECK(cycle->variables == NULL);
    HM_CHECK_INT(hm_variables_init_core(cycle), HM_OK);
    HM_CHECK(cycle->variables != NULL);

    HM_CHECK_INT(hm_add_variables(cycle, table), HM_OK);

    /* a table is copied: the static one stays as it was */
    HM_CHECK_UINT(table[1].index, 0);

    hm_str_set(&s, "a_");
    v = hm_add_variable(cycle, &s, HM_VAR_ANY, HM_VAR_PREFIX, get_short, 0);
    HM_CHECK(v != NULL);

    hm_str_set(&s, "a_b_");
    v = hm_add_variable(cycle, &s, HM_VAR_ANY, HM_VAR_PREFIX, get_long, 0);
    HM_CHECK(v != NULL);
    HM_CHECK(v != NULL && v->name.data != s.data);

    /* the same handler again is the same variable */
    v2 = hm_add_variable(cycle, &s, HM_VAR_ANY, HM_VAR_PREFIX, get_long, 0);
    HM_CHECK(v2 == v);

    /* another handler is a duplicate */
    log_reset();
    v2 = hm_add_variable(cycle, &s, HM_VAR_ANY, HM_VAR_PREFIX, get_upper, 0);
    HM_CHECK(v2 == NULL);
    HM_CHECK(strstr(log_text(), "the duplicate \"a_b_\" variable") != NULL,
             "log: %s", logbuf);
    HM_CHECK_INT(hm_add_variables(cycle, table + 1), HM_OK);

    /* an exact "a_b" does not clash with the prefix "a_b_" */
    hm_str_set(&s, "a_b");
    v = hm_add_variable(cycle, &s, HM_VAR_ANY, 0, get_const,
                        (uintptr_t) "exact");
    HM_CHECK(v != NULL && !(v->flags & HM_VAR_PREFIX));
}


static void
test_dup_table(void)
{
    static hm_variable_t  dup[] = {
        { hm_string("X"), get_upper, 0, HM_VAR_ANY, 0, 0, { NULL, NULL } },
        { hm_null_string, NULL, 0, 0, 0, 0, { NULL, NULL } }
    };

    /* names fold case: "X" is "x", registered with another handler */
    log_reset();
    HM_CHECK_INT(hm_add_variables(cycle, dup), HM_BUSY);
    HM_CHECK(strstr(log_text(), "the duplicate \"X\" variable") != NULL,
             "log: %s", logbuf);
}


static hm_int_t
ref(char *name, hm_uint_t kind, hm_variable_ref_t *r)
{
    hm_str_t  s;

    s.len = strlen(name);
    s.data = (u_char *) name;

    return hm_variable_ref(&cf, &s, kind, r);
}


static void
check_value(char *name, hm_uint_t kind, void *ctx, char *want)
{
    hm_variable_ref_t    r;
    hm_variable_value_t  v;

    hm_memzero(&r, sizeof(r));

    HM_CHECK_INT(ref(name, kind, &r), HM_OK);
    if (r.variable == NULL) {
        return;
    }

    HM_CHECK_INT(hm_variable_get(ctx, cycle->pool, &r, &v), HM_OK);
    HM_CHECK(v.valid && !v.not_found);
    HM_CHECK_STR(v.data, v.len, want);
}


static void
test_resolve(void)
{
    hm_str_t            *suffix;
    test_ctx_t           ctx = { "ex", "why" };
    hm_variable_ref_t    r;
    hm_variable_value_t  v;

    check_value("x", HM_VAR_HTTP, &ctx, "ex");
    check_value("x", HM_VAR_STREAM, &ctx, "ex");
    check_value("X", HM_VAR_STREAM, &ctx, "ex");
    check_value("y", HM_VAR_HTTP, &ctx, "why");
    check_value("y", HM_VAR_HTTP|HM_VAR_STREAM, &ctx, "why");

    /* prefix: the suffix reaches the handler as an hm_str_t */
    hm_memzero(&r, sizeof(r));
    HM_CHECK_INT(ref("hdr_foo_bar", HM_VAR_HTTP, &r), HM_OK);
    HM_CHECK(r.variable != NULL && (r.variable->flags & HM_VAR_PREFIX));
    suffix = (hm_str_t *) r.data;
    HM_CHECK(suffix != NULL);
    if (suffix) {
        HM_CHECK_HMSTR(suffix, "foo_bar");
    }
    check_value("hdr_foo_bar", HM_VAR_HTTP, NULL, "FOO_BAR");

    /* the longest prefix wins, an exact name beats any prefix */
    check_value("a_x", HM_VAR_ANY, NULL, "short:x");
    check_value("a_b_c", HM_VAR_ANY, NULL, "long:c");
    check_value("a_bc", HM_VAR_ANY, NULL, "short:bc");
    check_value("a_b_", HM_VAR_ANY, NULL, "short:b_");
    check_value("a_b", HM_VAR_ANY, NULL, "exact");

    /* not_found renders empty */
    ctx.x = NULL;
    HM_CHECK_INT(ref("x", HM_VAR_ANY, &r), HM_OK);
    HM_CHECK_INT(hm_variable_get(&ctx, cycle->pool, &r, &v), HM_OK);
    HM_CHECK(v.not_found && !v.valid && v.len == 0);
}


static void
test_errors(void)
{
    hm_variable_ref_t  r;

    log_reset();
    HM_CHECK_INT(ref("y", HM_VAR_STREAM, &r), HM_ERROR);
    HM_CHECK(strstr(log_text(), "[emerg] ") != NULL, "log: %s", logbuf);
    HM_CHECK(strstr(logbuf, ": variable \"$y\" is not available here\n")
             != NULL, "log: %s", logbuf);

    /* an HTTP variable does not fit a context-free value */
    log_reset();
    HM_CHECK_INT(ref("y", HM_VAR_ANY, &r), HM_ERROR);
    HM_CHECK(strstr(log_text(), "variable \"$y\" is not available here")
             != NULL, "log: %s", logbuf);

    log_reset();
    HM_CHECK_INT(ref("nope", HM_VAR_HTTP, &r), HM_ERROR);
    HM_CHECK(strstr(log_text(), "[emerg] ") != NULL, "log: %s", logbuf);
    HM_CHECK(strstr(logbuf, ": unknown \"nope\" variable\n") != NULL,
             "log: %s", logbuf);

    /* a bare prefix is not a variable: the suffix must not be empty */
    log_reset();
    HM_CHECK_INT(ref("hdr_", HM_VAR_HTTP, &r), HM_ERROR);
    HM_CHECK(strstr(log_text(), "unknown \"hdr_\" variable") != NULL,
             "log: %s", logbuf);
}


static hm_int_t
compile(char *text, hm_uint_t kind, hm_complex_value_t *cv)
{
    hm_str_t  s;

    s.len = strlen(text);
    s.data = (u_char *) text;

    return hm_complex_value_compile(&cf, &s, kind, cv);
}


static void
check_complex(char *text, void *ctx, char *want, size_t static_len)
{
    hm_str_t            out;
    hm_complex_value_t  cv;

    hm_memzero(&out, sizeof(hm_str_t));

    HM_CHECK_INT(compile(text, HM_VAR_HTTP, &cv), HM_OK);
    HM_CHECK(cv.parts != NULL, "%s", text);
    HM_CHECK_UINT(cv.static_len, static_len);
    HM_CHECK_INT(hm_complex_value(ctx, cycle->pool, &cv, &out), HM_OK);
    HM_CHECK_STR(out.data, out.len, want);
}


static void
check_compile_error(char *text, char *message)
{
    hm_complex_value_t  cv;

    log_reset();
    HM_CHECK_INT(compile(text, HM_VAR_HTTP, &cv), HM_ERROR);
    HM_CHECK(strstr(log_text(), message) != NULL,
             "%s: log: %s", text, logbuf);
}


static void
test_complex(void)
{
    char                text[] = "plain text";
    hm_str_t            out;
    test_ctx_t          ctx = { "1", "2" };
    hm_complex_value_t  cv;

    check_complex("x=$x y=${y}z \\$lit $hdr_foo", &ctx,
                  "x=1 y=2z $lit FOO", sizeof("x= y=z $lit ") - 1);
    check_complex("$x$y", &ctx, "12", 0);
    check_complex("${x}-${y}", &ctx, "1-2", 1);
    check_complex("$x-$y.", &ctx, "1-2.", 2);
    check_complex("\\$x", &ctx, "$x", 2);
    check_complex("a\\b\\$", &ctx, "a\\b$", 4);
    check_complex("$hdr_a_b!", &ctx, "A_B!", 1);

    /* not_found renders empty */
    ctx.x = NULL;
    check_complex("[$x]", &ctx, "[]", 2);
    check_complex("$x", &ctx, "", 0);

    /* plain: no parts, evaluated without copying */
    HM_CHECK_INT(compile(text, HM_VAR_HTTP, &cv), HM_OK);
    HM_CHECK(cv.parts == NULL);
    HM_CHECK_UINT(cv.static_len, sizeof(text) - 1);
    HM_CHECK_INT(hm_complex_value(&ctx, cycle->pool, &cv, &out), HM_OK);
    HM_CHECK(out.data == (u_char *) text);
    HM_CHECK_UINT(out.len, sizeof(text) - 1);

    /* literal, $x, ${y}, literal */
    HM_CHECK_INT(compile("a$x${y}b", HM_VAR_HTTP, &cv), HM_OK);
    HM_CHECK(cv.parts != NULL && cv.parts->nelts == 4);

    check_compile_error("a$", "invalid variable name in \"a$\"");
    check_compile_error("$$", "invalid variable name in \"$$\"");
    check_compile_error("$-x", "invalid variable name in \"$-x\"");
    check_compile_error("${}", "invalid variable name in \"${}\"");
    check_compile_error("${x", "the closing bracket in \"x\" variable "
                        "is missing");
    check_compile_error("${x-y}", "the closing bracket in \"x\" variable "
                        "is missing");
    check_compile_error("$nope", "unknown \"nope\" variable");

    log_reset();
    HM_CHECK_INT(compile("$y", HM_VAR_STREAM, &cv), HM_ERROR);
    HM_CHECK(strstr(log_text(), "variable \"$y\" is not available here")
             != NULL, "log: %s", logbuf);
}


static void
test_many_parts(void)
{
    char                text[64], want[64];
    hm_str_t            out;
    hm_uint_t           i;
    test_ctx_t          ctx = { "1", "2" };
    hm_complex_value_t  cv;

    /* more parts than the evaluator keeps on its stack */

    text[0] = '\0';
    want[0] = '\0';

    for (i = 0; i < 20; i++) {
        strcat(text, "$x");
        strcat(want, "1");
    }

    HM_CHECK_INT(compile(text, HM_VAR_ANY, &cv), HM_OK);
    HM_CHECK_INT(hm_complex_value(&ctx, cycle->pool, &cv, &out), HM_OK);
    HM_CHECK_STR(out.data, out.len, want);
}


static void
test_slot(void)
{
    char                *rv;
    hm_str_t            *arg;
    hm_str_t             out;
    test_ctx_t           ctx = { "X", "Y" };
    hm_command_t         cmd;
    hm_complex_value_t  *cvs[2];

    hm_memzero(&cmd, sizeof(hm_command_t));
    hm_str_set(&cmd.name, "test");
    cmd.offset = sizeof(hm_complex_value_t *);
    cmd.post = (void *) HM_VAR_HTTP;

    cf.args->nelts = 0;
    arg = hm_array_push_n(cf.args, 2);
    hm_str_set(&arg[0], "test");
    hm_str_set(&arg[1], "<$y>");

    cvs[0] = NULL;
    cvs[1] = HM_CONF_UNSET_PTR;

    HM_CHECK(hm_conf_set_complex_value_slot(&cf, &cmd, cvs) == HM_CONF_OK);
    HM_CHECK(cvs[1] != NULL && cvs[1] != HM_CONF_UNSET_PTR);
    HM_CHECK(cvs[0] == NULL);

    if (cvs[1] != NULL && cvs[1] != HM_CONF_UNSET_PTR) {
        HM_CHECK_UINT(cvs[1]->kind, HM_VAR_HTTP);
        HM_CHECK_INT(hm_complex_value(&ctx, cycle->pool, cvs[1], &out),
                     HM_OK);
        HM_CHECK_HMSTR(&out, "<Y>");
    }

    rv = hm_conf_set_complex_value_slot(&cf, &cmd, cvs);
    HM_CHECK(rv != HM_CONF_OK && rv != HM_CONF_ERROR
             && strcmp(rv, "is duplicate") == 0);

    /* post == NULL: HM_VAR_ANY, where $y is not available */
    cmd.post = NULL;
    cmd.offset = 0;
    log_reset();
    HM_CHECK(hm_conf_set_complex_value_slot(&cf, &cmd, cvs)
             == HM_CONF_ERROR);
    HM_CHECK(strstr(log_text(), "variable \"$y\" is not available here")
             != NULL, "log: %s", logbuf);
}


/* "d" a digit, "A" a letter, "+" a sign, anything else itself */

static int
shape(hm_variable_value_t *v, const char *pattern)
{
    size_t  i;
    u_char  c;

    if (v->len != strlen(pattern)) {
        return 0;
    }

    for (i = 0; i < v->len; i++) {
        c = v->data[i];

        switch (pattern[i]) {
        case 'd':
            if (c < '0' || c > '9') {
                return 0;
            }
            break;
        case 'A':
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                return 0;
            }
            break;
        case '+':
            if (c != '+' && c != '-') {
                return 0;
            }
            break;
        default:
            if (c != (u_char) pattern[i]) {
                return 0;
            }
        }
    }

    return 1;
}


static void
get_core(char *name, hm_variable_value_t *v)
{
    hm_variable_ref_t  r;

    hm_memzero(v, sizeof(hm_variable_value_t));
    hm_memzero(&r, sizeof(r));

    /* the core variables fit any context */
    HM_CHECK_INT(ref(name, HM_VAR_MESSAGE, &r), HM_OK);
    if (r.variable != NULL) {
        HM_CHECK_INT(hm_variable_get(NULL, cycle->pool, &r, v), HM_OK);
    }
}


static void
test_core(void)
{
    char                 buf[64];
    hm_str_t             out;
    hm_complex_value_t   cv;
    hm_variable_value_t  v;

    hm_pid = getpid();
    snprintf(buf, sizeof(buf), "%ld", (long) getpid());
    get_core("pid", &v);
    HM_CHECK_STR(v.data, v.len, buf);

    hm_time_update();

    get_core("msec", &v);
    HM_CHECK(shape(&v, "dddddddddd.ddd"), "msec \"%.*s\"",
             (int) v.len, v.data);
    snprintf(buf, sizeof(buf), "%ld.%03lu", (long) hm_cached_time->sec,
             (unsigned long) hm_cached_time->msec);
    HM_CHECK_STR(v.data, v.len, buf);

    get_core("time_iso8601", &v);
    HM_CHECK(shape(&v, "dddd-dd-ddTdd:dd:dd+dd:dd"), "iso8601 \"%.*s\"",
             (int) v.len, v.data);
    HM_CHECK(v.data != hm_cached_iso8601_time.data);
    HM_CHECK(v.len == hm_cached_iso8601_time.len
             && memcmp(v.data, hm_cached_iso8601_time.data, v.len) == 0);

    get_core("time_local", &v);
    HM_CHECK(shape(&v, "dd/AAA/dddd:dd:dd:dd +dddd"), "local \"%.*s\"",
             (int) v.len, v.data);

    get_core("hostname", &v);
    HM_CHECK_STR(v.data, v.len, "unit.example");

    HM_CHECK_INT(compile("$hostname:$pid", HM_VAR_ANY, &cv), HM_OK);
    HM_CHECK_INT(hm_complex_value(NULL, cycle->pool, &cv, &out), HM_OK);
    snprintf(buf, sizeof(buf), "unit.example:%ld", (long) getpid());
    HM_CHECK_HMSTR(&out, buf);
}


int
main(void)
{
    hm_unit_init("test_variables");

    setup();

    test_register();
    test_dup_table();
    test_resolve();
    test_errors();
    test_complex();
    test_many_parts();
    test_slot();
    test_core();

    return hm_unit_done();
}

/*
 * Copyright (C) hermod authors
 *
 * The route filter:
 *
 *     route [first|all] {
 *         when $json.amount > 1000 -> big_orders;
 *         when $http_x_region ~ "^eu-" and $json.vip exists -> eu vip;
 *         when $message_header_type = ping -> drop;
 *         default -> all_orders;
 *     }
 *
 * "first" (the default) takes the targets of the first rule that matches;
 * "all" takes those of every matching rule (fan-out).  The default applies
 * when no rule matched; without one, the pipeline's output does.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_pipeline.h>
#include <math.h>


#define HM_ROUTE_EQ        0
#define HM_ROUTE_NE        1
#define HM_ROUTE_PREFIX    2
#define HM_ROUTE_REGEX     3
#define HM_ROUTE_NREGEX    4
#define HM_ROUTE_GT        5
#define HM_ROUTE_GE        6
#define HM_ROUTE_LT        7
#define HM_ROUTE_LE        8
#define HM_ROUTE_EXISTS    9
#define HM_ROUTE_NEXISTS   10


typedef struct {
    hm_variable_ref_t           var;       /* unless json */
    hm_json_path_t             *json;      /* $json.a.b */
    hm_uint_t                   op;
    hm_str_t                    value;
    double                      number;
    hm_regex_t                 *regex;
    unsigned                    numeric:1;
} hm_route_cond_t;


typedef struct {
    hm_array_t                  conds;     /* of hm_route_cond_t, "and" */
    hm_array_t                  targets;   /* of hm_pipeline_outbound_t * */
    hm_uint_t                   drop;
} hm_route_rule_t;


typedef struct {
    hm_array_t                  rules;     /* of hm_route_rule_t */
    hm_route_rule_t            *deflt;
    hm_uint_t                   all;
} hm_route_conf_t;


static char *hm_pipeline_route(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static char *hm_pipeline_route_when(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_pipeline_route_default(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_route_compile_cond(hm_conf_t *cf, hm_str_t *args,
    hm_uint_t n, hm_route_cond_t *c);
static char *hm_route_compile_targets(hm_conf_t *cf, hm_str_t *args,
    hm_uint_t n, hm_route_rule_t *rule);
static hm_int_t hm_pipeline_route_handler(hm_msg_t *m, void *conf);
static hm_uint_t hm_route_match(hm_msg_t *m, hm_route_rule_t *rule);
static hm_int_t hm_route_json_text(hm_msg_t *m, hm_route_cond_t *c,
    hm_str_t *s, hm_uint_t *found, double *d);
static hm_int_t hm_route_apply(hm_msg_t *m, hm_route_conf_t *rcf,
    hm_route_rule_t **matched, hm_uint_t n);


static hm_command_t  hm_pipeline_route_commands[] = {

    { hm_string("route"),
      HM_PIPELINE_CONF|HM_CONF_BLOCK|HM_CONF_NOARGS|HM_CONF_TAKE1,
      hm_pipeline_route,
      0,
      0,
      NULL,
      "Choose the outbound(s) of a message: first match, or all." },

    { hm_string("when"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_2MORE,
      hm_pipeline_route_when,
      0,
      0,
      NULL,
      "A rule: conditions joined by \"and\", \"->\", targets." },

    { hm_string("default"),
      HM_PIPELINE_BLOCK_CONF|HM_CONF_TAKE12,
      hm_pipeline_route_default,
      0,
      0,
      NULL,
      "The targets when no rule matched." },

      hm_null_command
};


static hm_pipeline_module_t  hm_pipeline_route_module_ctx = {
    NULL,
    NULL,
    { NULL, NULL, NULL }
};


hm_module_t  hm_pipeline_route_module = {
    HM_MODULE_V1,
    &hm_pipeline_route_module_ctx,         /* module context */
    hm_pipeline_route_commands,            /* module directives */
    HM_PIPELINE_MODULE,                    /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static char *
hm_pipeline_route(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_pipeline_t  *p = conf;

    char             *rv;
    hm_str_t         *value, name;
    hm_route_conf_t  *rcf;

    rcf = hm_pcalloc(cf->pool, sizeof(hm_route_conf_t));
    if (rcf == NULL) {
        return HM_CONF_ERROR;
    }

    if (hm_array_init(&rcf->rules, cf->pool, 4, sizeof(hm_route_rule_t))
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (hm_strcmp(value[1].data, "all") == 0) {
            rcf->all = 1;

        } else if (hm_strcmp(value[1].data, "first") != 0) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid route mode \"%V\", expected \"first\" "
                              "or \"all\"", &value[1]);
            return HM_CONF_ERROR;
        }
    }

    rv = hm_conf_parse_module_block(cf, &hm_pipeline_route_module, rcf,
                                    HM_PIPELINE_BLOCK_CONF);
    if (rv != HM_CONF_OK) {
        return rv;
    }

    if (rcf->rules.nelts == 0 && rcf->deflt == NULL) {
        return "has no rules";
    }

    hm_str_set(&name, "route");

    if (hm_pipeline_add_filter(cf, p, &name, hm_pipeline_route_handler,
                               NULL, rcf)
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_pipeline_route_when(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_route_conf_t  *rcf = conf;

    char             *err;
    hm_str_t         *value;
    hm_uint_t         i, start, arrow;
    hm_route_cond_t  *c;
    hm_route_rule_t  *rule;

    value = cf->args->elts;

    for (arrow = 1; arrow < cf->args->nelts; arrow++) {
        if (value[arrow].len == 2
            && value[arrow].data[0] == '-' && value[arrow].data[1] == '>')
        {
            break;
        }
    }

    if (arrow == cf->args->nelts) {
        return "has no \"->\" before its targets";
    }

    rule = hm_array_push(&rcf->rules);
    if (rule == NULL) {
        return HM_CONF_ERROR;
    }

    hm_memzero(rule, sizeof(hm_route_rule_t));

    if (hm_array_init(&rule->conds, cf->pool, 2, sizeof(hm_route_cond_t))
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    /* COND [and COND]... */

    for (start = 1, i = 1; i <= arrow; i++) {

        if (i < arrow && !(value[i].len == 3
                           && hm_strncmp(value[i].data, "and", 3) == 0))
        {
            continue;
        }

        if (i == start) {
            return "has an empty condition";
        }

        c = hm_array_push(&rule->conds);
        if (c == NULL) {
            return HM_CONF_ERROR;
        }

        err = hm_route_compile_cond(cf, &value[start], i - start, c);
        if (err != HM_CONF_OK) {
            return err;
        }

        start = i + 1;
    }

    return hm_route_compile_targets(cf, &value[arrow + 1],
                                    cf->args->nelts - arrow - 1, rule);
}


static char *
hm_pipeline_route_default(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_route_conf_t  *rcf = conf;

    hm_str_t   *value;
    hm_uint_t   n;

    if (rcf->deflt) {
        return "is duplicate";
    }

    value = cf->args->elts;
    n = cf->args->nelts - 1;
    value++;

    if (value[0].len == 2 && hm_strncmp(value[0].data, "->", 2) == 0) {
        value++;
        n--;
    }

    rcf->deflt = hm_pcalloc(cf->pool, sizeof(hm_route_rule_t));
    if (rcf->deflt == NULL) {
        return HM_CONF_ERROR;
    }

    return hm_route_compile_targets(cf, value, n, rcf->deflt);
}


static char *
hm_route_compile_targets(hm_conf_t *cf, hm_str_t *args, hm_uint_t n,
    hm_route_rule_t *rule)
{
    hm_uint_t                 i;
    hm_pipeline_outbound_t  **ob;

    if (n == 0) {
        return "has no targets";
    }

    if (hm_array_init(&rule->targets, cf->pool, n,
                      sizeof(hm_pipeline_outbound_t *))
        != HM_OK)
    {
        return HM_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {

        if (args[i].len == 4 && hm_strncmp(args[i].data, "drop", 4) == 0) {
            if (n != 1) {
                return "mixes \"drop\" with other targets";
            }

            rule->drop = 1;
            return HM_CONF_OK;
        }

        ob = hm_array_push(&rule->targets);
        if (ob == NULL) {
            return HM_CONF_ERROR;
        }

        if (hm_pipeline_outbound_ref(cf, &args[i], ob) != HM_OK) {
            return HM_CONF_ERROR;
        }
    }

    return HM_CONF_OK;
}


static char *
hm_route_compile_cond(hm_conf_t *cf, hm_str_t *args, hm_uint_t n,
    hm_route_cond_t *c)
{
    char                *err, *end;
    u_char               errstr[HM_MAX_CONF_ERRSTR];
    hm_str_t             name, path;
    hm_regex_compile_t   rc;

    static hm_str_t      ops[] = {
        hm_string("="), hm_string("!="), hm_string("^="), hm_string("~"),
        hm_string("!~"), hm_string(">"), hm_string(">="), hm_string("<"),
        hm_string("<="), hm_string("exists"), hm_string("!exists"),
        hm_null_string
    };

    hm_memzero(c, sizeof(hm_route_cond_t));

    if (args[0].len < 2 || args[0].data[0] != '$') {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "a condition starts with a variable, not \"%V\"",
                          &args[0]);
        return HM_CONF_ERROR;
    }

    if (args[0].len >= 5 && hm_strncmp(args[0].data, "$json", 5) == 0
        && (args[0].len == 5 || args[0].data[5] == '.'
            || args[0].data[5] == '['))
    {
        c->json = hm_palloc(cf->pool, sizeof(hm_json_path_t));
        if (c->json == NULL) {
            return HM_CONF_ERROR;
        }

        path.data = args[0].data + 5;
        path.len = args[0].len - 5;

        if (path.len && path.data[0] == '.') {
            path.data++;
            path.len--;
        }

        if (path.len == 0) {
            return "needs a path after \"$json\", as in \"$json.a.b\"";
        }

        err = hm_json_path_compile(cf->pool, &path, c->json);
        if (err) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "invalid JSON path \"%V\": %s", &args[0], err);
            return HM_CONF_ERROR;
        }

    } else {
        name.data = args[0].data + 1;
        name.len = args[0].len - 1;

        if (hm_variable_ref(cf, &name, HM_VAR_MESSAGE, &c->var) != HM_OK) {
            return HM_CONF_ERROR;
        }
    }

    if (n < 2) {
        return "has a condition without an operator";
    }

    for (c->op = 0; ops[c->op].len; c->op++) {
        if (ops[c->op].len == args[1].len
            && hm_strncmp(ops[c->op].data, args[1].data, args[1].len) == 0)
        {
            break;
        }
    }

    /* "==" and "~*" / "!~*" spellings */

    if (args[1].len == 2 && hm_strncmp(args[1].data, "==", 2) == 0) {
        c->op = HM_ROUTE_EQ;
    }

    hm_memzero(&rc, sizeof(hm_regex_compile_t));

    if ((args[1].len == 2 && hm_strncmp(args[1].data, "~*", 2) == 0)
        || (args[1].len == 3 && hm_strncmp(args[1].data, "!~*", 3) == 0))
    {
        c->op = args[1].data[0] == '!' ? HM_ROUTE_NREGEX : HM_ROUTE_REGEX;
        rc.options = HM_REGEX_CASELESS;
    }

    if (ops[c->op].len == 0) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "unknown operator \"%V\"", &args[1]);
        return HM_CONF_ERROR;
    }

    if (c->op == HM_ROUTE_EXISTS || c->op == HM_ROUTE_NEXISTS) {
        return n == 2 ? HM_CONF_OK : "has a value after \"exists\"";
    }

    if (n != 3) {
        return "has a condition that is not \"VARIABLE OP VALUE\"";
    }

    c->value = args[2];

    if (c->op == HM_ROUTE_REGEX || c->op == HM_ROUTE_NREGEX) {
        rc.pattern = args[2];
        rc.pool = cf->pool;
        rc.err.len = HM_MAX_CONF_ERRSTR;
        rc.err.data = errstr;

        if (hm_regex_compile(&rc) != HM_OK) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0, "%V", &rc.err);
            return HM_CONF_ERROR;
        }

        c->regex = rc.regex;
        return HM_CONF_OK;
    }

    if (c->op >= HM_ROUTE_GT && c->op <= HM_ROUTE_LE) {
        u_char  num[64];

        if (args[2].len == 0 || args[2].len >= sizeof(num)) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "\"%V\" is not a number", &args[2]);
            return HM_CONF_ERROR;
        }

        hm_cpystrn(num, args[2].data, args[2].len + 1);

        c->number = strtod((char *) num, &end);

        if (*end != '\0') {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "\"%V\" is not a number", &args[2]);
            return HM_CONF_ERROR;
        }

        c->numeric = 1;
    }

    return HM_CONF_OK;
}


/* -- run time -------------------------------------------------------- */

static hm_int_t
hm_pipeline_route_handler(hm_msg_t *m, void *conf)
{
    hm_route_conf_t  *rcf = conf;

    hm_uint_t         i, n;
    hm_route_rule_t  *rules, *matched[16], **mp;

    rules = rcf->rules.elts;
    mp = matched;
    n = 0;

    if (rcf->all && rcf->rules.nelts > 16) {
        mp = hm_palloc(m->pool, rcf->rules.nelts * sizeof(hm_route_rule_t *));
        if (mp == NULL) {
            hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
            return HM_ERROR;
        }
    }

    for (i = 0; i < rcf->rules.nelts; i++) {
        if (!hm_route_match(m, &rules[i])) {
            continue;
        }

        mp[n++] = &rules[i];

        if (!rcf->all) {
            break;
        }
    }

    if (n == 0) {
        if (rcf->deflt == NULL) {
            return HM_OK;      /* the pipeline's output */
        }

        mp[n++] = rcf->deflt;
    }

    return hm_route_apply(m, rcf, mp, n);
}


static hm_int_t
hm_route_apply(hm_msg_t *m, hm_route_conf_t *rcf, hm_route_rule_t **matched,
    hm_uint_t n)
{
    hm_uint_t                 i, j, k, total;
    hm_pipeline_outbound_t  **t, **targets;

    total = 0;

    for (i = 0; i < n; i++) {
        total += matched[i]->targets.nelts;
    }

    if (total == 0) {
        /* only "drop" rules matched */
        hm_msg_set_error(m, HM_MSG_ERR_NONE, "dropped by a route rule");
        m->err_class = HM_MSG_ERR_NONE;
        return HM_DECLINED;
    }

    if (total == 1) {
        for (i = 0; matched[i]->targets.nelts == 0; i++) { /* void */ }

        t = matched[i]->targets.elts;
        m->target = t[0];

        return HM_OK;
    }

    targets = hm_palloc(m->pool, total * sizeof(hm_pipeline_outbound_t *));
    if (targets == NULL) {
        hm_msg_set_error(m, HM_MSG_ERR_INTERNAL, "out of memory");
        return HM_ERROR;
    }

    /* each outbound once, in rule order */

    for (k = 0, i = 0; i < n; i++) {
        t = matched[i]->targets.elts;

        for (j = 0; j < matched[i]->targets.nelts; j++) {
            hm_uint_t  seen, l;

            for (seen = 0, l = 0; l < k; l++) {
                if (targets[l] == t[j]) {
                    seen = 1;
                    break;
                }
            }

            if (!seen) {
                targets[k++] = t[j];
            }
        }
    }

    if (k == 1) {
        m->target = targets[0];
        return HM_OK;
    }

    return hm_pipeline_fanout(m, targets, k);
}


static hm_uint_t
hm_route_cond(hm_msg_t *m, hm_route_cond_t *c)
{
    json_t               *root, *j;
    double                d;
    char                 *end, num[64];
    hm_str_t              s;
    hm_uint_t             found;
    hm_variable_value_t   v;

    found = 0;
    j = NULL;
    d = NAN;
    hm_str_null(&s);

    if (c->json && m->json == NULL && !m->json_invalid
        && hm_route_json_text(m, c, &s, &found, &d) == HM_OK)
    {
        if (d == d && c->numeric) {
            /* a number, read from the text */
            goto numeric;
        }

    } else if (c->json) {
        root = hm_msg_json(m);
        j = root ? hm_json_path_get(root, c->json) : NULL;
        found = (j != NULL);

        if (found && !(c->numeric && json_is_number(j))
            && c->op != HM_ROUTE_EXISTS && c->op != HM_ROUTE_NEXISTS
            && hm_json_to_str(m->pool, j, &s) != HM_OK)
        {
            return 0;
        }

    } else {
        if (hm_variable_get(m, m->pool, &c->var, &v) != HM_OK) {
            return 0;
        }

        found = v.valid;
        s.len = v.len;
        s.data = v.data;
    }

    switch (c->op) {

    case HM_ROUTE_EXISTS:
        return found;

    case HM_ROUTE_NEXISTS:
        return !found;

    case HM_ROUTE_EQ:
        return s.len == c->value.len
               && hm_strncmp(s.data, c->value.data, s.len) == 0;

    case HM_ROUTE_NE:
        return !(s.len == c->value.len
                 && hm_strncmp(s.data, c->value.data, s.len) == 0);

    case HM_ROUTE_PREFIX:
        return s.len >= c->value.len
               && hm_strncmp(s.data, c->value.data, c->value.len) == 0;

    case HM_ROUTE_REGEX:
    case HM_ROUTE_NREGEX:
        if (!found) {
            return c->op == HM_ROUTE_NREGEX;
        }

        return (hm_regex_exec(c->regex, &s, NULL, 0) >= 0)
               == (c->op == HM_ROUTE_REGEX);

    default:
        break;
    }

    /* numeric: a value that is not a number matches nothing */

    if (!found) {
        return 0;
    }

    if (j == NULL && d == d && c->json) {
        /* read from the text already */

    } else if (j && json_is_number(j)) {
        d = json_number_value(j);

    } else {
        if (s.len == 0 || s.len >= sizeof(num)) {
            return 0;
        }

        hm_memcpy(num, s.data, s.len);
        num[s.len] = '\0';

        d = strtod(num, &end);

        if (*end != '\0') {
            return 0;
        }
    }

numeric:

    if (!found) {
        return 0;
    }

    switch (c->op) {
    case HM_ROUTE_GT:
        return d > c->number;
    case HM_ROUTE_GE:
        return d >= c->number;
    case HM_ROUTE_LT:
        return d < c->number;
    default:
        return d <= c->number;
    }
}


/*
 * A JSON operand read from the body text when no filter parsed it: a
 * string without escapes, a number (in *d, else NaN), true, false, null.
 * HM_AGAIN: this needs the tree (escapes, objects, array paths).
 */

static hm_int_t
hm_route_json_text(hm_msg_t *m, hm_route_cond_t *c, hm_str_t *s,
    hm_uint_t *found, double *d)
{
    char      *end, num[64];
    hm_int_t   rc;
    hm_str_t   body, raw;

    if (hm_msg_body_flat(m, &body) != HM_OK) {
        return HM_AGAIN;
    }

    rc = hm_json_raw_get(&body, c->json, &raw);

    if (rc == HM_AGAIN) {
        return HM_AGAIN;
    }

    if (rc == HM_ERROR) {
        /* not JSON: nothing matches but "!exists"; the tree agrees */
        m->json_invalid = 1;
        *found = 0;
        return HM_OK;
    }

    if (rc == HM_DECLINED) {
        *found = 0;
        return HM_OK;
    }

    *found = 1;

    switch (raw.data[0]) {

    case '"':
        if (hm_strlchr(raw.data, raw.data + raw.len, '\\')) {
            return HM_AGAIN;
        }

        s->data = raw.data + 1;
        s->len = raw.len - 2;
        return HM_OK;

    case 't':
    case 'f':
    case 'n':
        *s = raw;
        return HM_OK;

    case '{':
    case '[':
        return (c->op == HM_ROUTE_EXISTS || c->op == HM_ROUTE_NEXISTS)
               ? HM_OK : HM_AGAIN;

    default:
        break;
    }

    /* a number: as text for "=", as a double for ">" */

    if (raw.len >= sizeof(num)) {
        return HM_AGAIN;
    }

    hm_memcpy(num, raw.data, raw.len);
    num[raw.len] = '\0';

    *d = strtod(num, &end);
    *s = raw;

    /* integers print as jansson prints them; reals need the tree */

    if (!c->numeric && hm_strlchr(raw.data, raw.data + raw.len, '.')) {
        return HM_AGAIN;
    }

    return HM_OK;
}


static hm_uint_t
hm_route_match(hm_msg_t *m, hm_route_rule_t *rule)
{
    hm_uint_t         i;
    hm_route_cond_t  *c;

    c = rule->conds.elts;

    for (i = 0; i < rule->conds.nelts; i++) {
        if (!hm_route_cond(m, &c[i])) {
            return 0;
        }
    }

    return 1;
}

/*
 * Copyright (C) hermod authors
 *
 * The "http" block: module configurations at the main, server and location
 * levels, their merge, the phase engine, location lists and listening
 * sockets.
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hm_http.h>


static char *hm_http_block(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static hm_int_t hm_http_init_phases(hm_conf_t *cf,
    hm_http_core_main_conf_t *cmcf);
static hm_int_t hm_http_init_headers_in_hash(hm_conf_t *cf,
    hm_http_core_main_conf_t *cmcf);
static hm_int_t hm_http_init_phase_handlers(hm_conf_t *cf,
    hm_http_core_main_conf_t *cmcf);
static char *hm_http_merge_servers(hm_conf_t *cf,
    hm_http_core_main_conf_t *cmcf, hm_http_module_t *module,
    hm_uint_t ctx_index);
static char *hm_http_merge_locations(hm_conf_t *cf, hm_queue_t *locations,
    void **loc_conf, hm_http_module_t *module, hm_uint_t ctx_index);
static hm_int_t hm_http_optimize_servers(hm_conf_t *cf,
    hm_http_core_main_conf_t *cmcf, hm_array_t *ports);
static hm_int_t hm_http_add_server(hm_conf_t *cf,
    hm_http_core_srv_conf_t *cscf, hm_http_conf_addr_t *addr);


hm_uint_t   hm_http_max_module;


hm_http_output_header_filter_pt  hm_http_top_header_filter;
hm_http_output_body_filter_pt    hm_http_top_body_filter;


static hm_command_t  hm_http_commands[] = {

    { hm_string("http"),
      HM_MAIN_CONF|HM_CONF_BLOCK|HM_CONF_NOARGS,
      hm_http_block,
      0,
      0,
      NULL,
      "The block of HTTP servers." },

      hm_null_command
};


static hm_core_module_t  hm_http_module_ctx = {
    hm_string("http"),
    NULL,
    NULL
};


hm_module_t  hm_http_module = {
    HM_MODULE_V1,
    &hm_http_module_ctx,                   /* module context */
    hm_http_commands,                      /* module directives */
    HM_CORE_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static char *
hm_http_block(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    char                        *rv;
    hm_uint_t                    mi, m;
    hm_conf_t                    pcf;
    hm_http_module_t            *module;
    hm_http_conf_ctx_t          *ctx;
    hm_http_core_main_conf_t    *cmcf;

    if (*(hm_http_conf_ctx_t **) conf) {
        return "is duplicate";
    }

    /* the main http context */

    ctx = hm_pcalloc(cf->pool, sizeof(hm_http_conf_ctx_t));
    if (ctx == NULL) {
        return HM_CONF_ERROR;
    }

    *(hm_http_conf_ctx_t **) conf = ctx;


    /* count the number of the http modules and set up their indices */

    hm_http_max_module = hm_count_modules(cf->cycle, HM_HTTP_MODULE);


    /* the http main_conf context, it is the same in the all http contexts */

    ctx->main_conf = hm_pcalloc(cf->pool,
                                sizeof(void *) * hm_http_max_module);
    if (ctx->main_conf == NULL) {
        return HM_CONF_ERROR;
    }


    /*
     * the http null srv_conf context, it is used to merge
     * the server{}s' srv_conf's
     */

    ctx->srv_conf = hm_pcalloc(cf->pool, sizeof(void *) * hm_http_max_module);
    if (ctx->srv_conf == NULL) {
        return HM_CONF_ERROR;
    }


    /*
     * the http null loc_conf context, it is used to merge
     * the server{}s' loc_conf's
     */

    ctx->loc_conf = hm_pcalloc(cf->pool, sizeof(void *) * hm_http_max_module);
    if (ctx->loc_conf == NULL) {
        return HM_CONF_ERROR;
    }


    /*
     * create the main_conf's, the null srv_conf's, and the null loc_conf's
     * of the all http modules
     */

    for (m = 0; cf->cycle->modules[m]; m++) {
        if (cf->cycle->modules[m]->type != HM_HTTP_MODULE) {
            continue;
        }

        module = cf->cycle->modules[m]->ctx;
        mi = cf->cycle->modules[m]->ctx_index;

        if (module->create_main_conf) {
            ctx->main_conf[mi] = module->create_main_conf(cf);
            if (ctx->main_conf[mi] == NULL) {
                return HM_CONF_ERROR;
            }
        }

        if (module->create_srv_conf) {
            ctx->srv_conf[mi] = module->create_srv_conf(cf);
            if (ctx->srv_conf[mi] == NULL) {
                return HM_CONF_ERROR;
            }
        }

        if (module->create_loc_conf) {
            ctx->loc_conf[mi] = module->create_loc_conf(cf);
            if (ctx->loc_conf[mi] == NULL) {
                return HM_CONF_ERROR;
            }
        }
    }

    pcf = *cf;
    cf->ctx = ctx;

    for (m = 0; cf->cycle->modules[m]; m++) {
        if (cf->cycle->modules[m]->type != HM_HTTP_MODULE) {
            continue;
        }

        module = cf->cycle->modules[m]->ctx;

        if (module->preconfiguration) {
            if (module->preconfiguration(cf) != HM_OK) {
                return HM_CONF_ERROR;
            }
        }
    }

    /* parse inside the http{} block */

    cf->module_type = HM_HTTP_MODULE;
    cf->cmd_type = HM_HTTP_MAIN_CONF;
    rv = hm_conf_parse(cf, NULL);

    if (rv != HM_CONF_OK) {
        goto failed;
    }

    /*
     * init http{} main_conf's, merge the server{}s' srv_conf's
     * and its location{}s' loc_conf's
     */

    cmcf = ctx->main_conf[hm_http_core_module.ctx_index];

    for (m = 0; cf->cycle->modules[m]; m++) {
        if (cf->cycle->modules[m]->type != HM_HTTP_MODULE) {
            continue;
        }

        module = cf->cycle->modules[m]->ctx;
        mi = cf->cycle->modules[m]->ctx_index;

        /* init http{} main_conf's */

        if (module->init_main_conf) {
            rv = module->init_main_conf(cf, ctx->main_conf[mi]);
            if (rv != HM_CONF_OK) {
                goto failed;
            }
        }

        rv = hm_http_merge_servers(cf, cmcf, module, mi);
        if (rv != HM_CONF_OK) {
            goto failed;
        }
    }


    if (hm_http_init_phases(cf, cmcf) != HM_OK) {
        return HM_CONF_ERROR;
    }

    if (hm_http_init_headers_in_hash(cf, cmcf) != HM_OK) {
        return HM_CONF_ERROR;
    }


    for (m = 0; cf->cycle->modules[m]; m++) {
        if (cf->cycle->modules[m]->type != HM_HTTP_MODULE) {
            continue;
        }

        module = cf->cycle->modules[m]->ctx;

        if (module->postconfiguration) {
            if (module->postconfiguration(cf) != HM_OK) {
                return HM_CONF_ERROR;
            }
        }
    }

    *cf = pcf;


    if (hm_http_init_phase_handlers(cf, cmcf) != HM_OK) {
        return HM_CONF_ERROR;
    }


    /* optimize the lists of ports, addresses and server names */

    if (hm_http_optimize_servers(cf, cmcf, cmcf->ports) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;

failed:

    *cf = pcf;

    return rv;
}


static hm_int_t
hm_http_init_phases(hm_conf_t *cf, hm_http_core_main_conf_t *cmcf)
{
    hm_uint_t  i;

    for (i = 0; i <= HM_HTTP_LOG_PHASE; i++) {
        if (hm_array_init(&cmcf->phases[i].handlers, cf->pool, 2,
                          sizeof(hm_http_handler_pt))
            != HM_OK)
        {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


static hm_int_t
hm_http_init_headers_in_hash(hm_conf_t *cf, hm_http_core_main_conf_t *cmcf)
{
    hm_http_header_t  *header;

    if (hm_hash_init(&cmcf->headers_in_hash, cf->pool, 64, 1) != HM_OK) {
        return HM_ERROR;
    }

    for (header = hm_http_headers_in; header->name.len; header++) {
        if (hm_hash_add(&cmcf->headers_in_hash, &header->name, header)
            == HM_ERROR)
        {
            return HM_ERROR;
        }
    }

    return HM_OK;
}


/*
 * The phase handlers flattened into one array, once, at configuration
 * time: the request walks it with an index (r->phase_handler).
 */

static hm_int_t
hm_http_init_phase_handlers(hm_conf_t *cf, hm_http_core_main_conf_t *cmcf)
{
    hm_int_t                   j;
    hm_uint_t                  i, n;
    hm_http_handler_pt        *h;
    hm_http_phase_handler_t   *ph;
    hm_http_phase_handler_pt   checker;

    n = 1 /* find config phase */;

    for (i = 0; i < HM_HTTP_LOG_PHASE; i++) {
        n += cmcf->phases[i].handlers.nelts;
    }

    ph = hm_pcalloc(cf->pool,
                    n * sizeof(hm_http_phase_handler_t) + sizeof(void *));
    if (ph == NULL) {
        return HM_ERROR;
    }

    cmcf->phase_engine.handlers = ph;
    n = 0;

    for (i = 0; i < HM_HTTP_LOG_PHASE; i++) {
        h = cmcf->phases[i].handlers.elts;

        switch (i) {

        case HM_HTTP_SERVER_REWRITE_PHASE:
            if (cmcf->phase_engine.server_rewrite_index == (hm_uint_t) -1) {
                cmcf->phase_engine.server_rewrite_index = n;
            }
            checker = hm_http_core_generic_phase;

            break;

        case HM_HTTP_FIND_CONFIG_PHASE:

            ph->checker = hm_http_core_find_config_phase;
            n++;
            ph++;

            continue;

        case HM_HTTP_REWRITE_PHASE:
            if (cmcf->phase_engine.location_rewrite_index == (hm_uint_t) -1) {
                cmcf->phase_engine.location_rewrite_index = n;
            }
            checker = hm_http_core_generic_phase;

            break;

        case HM_HTTP_CONTENT_PHASE:
            checker = hm_http_core_content_phase;
            break;

        default:
            checker = hm_http_core_generic_phase;
        }

        n += cmcf->phases[i].handlers.nelts;

        /* handlers run in the order modules registered them, reversed, as
         * in nginx: the last registered runs first */

        for (j = cmcf->phases[i].handlers.nelts - 1; j >= 0; j--) {
            ph->checker = checker;
            ph->handler = h[j];
            ph->next = n;
            ph++;
        }
    }

    return HM_OK;
}


static char *
hm_http_merge_servers(hm_conf_t *cf, hm_http_core_main_conf_t *cmcf,
    hm_http_module_t *module, hm_uint_t ctx_index)
{
    char                        *rv;
    hm_uint_t                    s;
    hm_http_conf_ctx_t          *ctx, saved;
    hm_http_core_loc_conf_t     *clcf;
    hm_http_core_srv_conf_t    **cscfp;

    cscfp = cmcf->servers.elts;
    ctx = (hm_http_conf_ctx_t *) cf->ctx;
    saved = *ctx;
    rv = HM_CONF_OK;

    for (s = 0; s < cmcf->servers.nelts; s++) {

        /* merge the server{}s' srv_conf's */

        ctx->srv_conf = cscfp[s]->ctx->srv_conf;

        if (module->merge_srv_conf) {
            rv = module->merge_srv_conf(cf, saved.srv_conf[ctx_index],
                                        cscfp[s]->ctx->srv_conf[ctx_index]);
            if (rv != HM_CONF_OK) {
                goto failed;
            }
        }

        if (module->merge_loc_conf) {

            /* merge the server{}'s loc_conf */

            ctx->loc_conf = cscfp[s]->ctx->loc_conf;

            rv = module->merge_loc_conf(cf, saved.loc_conf[ctx_index],
                                        cscfp[s]->ctx->loc_conf[ctx_index]);
            if (rv != HM_CONF_OK) {
                goto failed;
            }

            /* merge the locations{}' loc_conf's */

            clcf = cscfp[s]->ctx->loc_conf[hm_http_core_module.ctx_index];

            rv = hm_http_merge_locations(cf, clcf->locations,
                                         cscfp[s]->ctx->loc_conf,
                                         module, ctx_index);
            if (rv != HM_CONF_OK) {
                goto failed;
            }
        }
    }

failed:

    *ctx = saved;

    return rv;
}


static char *
hm_http_merge_locations(hm_conf_t *cf, hm_queue_t *locations,
    void **loc_conf, hm_http_module_t *module, hm_uint_t ctx_index)
{
    char                       *rv;
    hm_queue_t                 *q;
    hm_http_conf_ctx_t         *ctx, saved;
    hm_http_core_loc_conf_t    *clcf;
    hm_http_location_queue_t   *lq;

    if (locations == NULL) {
        return HM_CONF_OK;
    }

    ctx = (hm_http_conf_ctx_t *) cf->ctx;
    saved = *ctx;

    for (q = hm_queue_head(locations);
         q != hm_queue_sentinel(locations);
         q = hm_queue_next(q))
    {
        lq = (hm_http_location_queue_t *) q;

        clcf = lq->exact ? lq->exact : lq->inclusive;
        ctx->loc_conf = clcf->loc_conf;

        rv = module->merge_loc_conf(cf, loc_conf[ctx_index],
                                    clcf->loc_conf[ctx_index]);
        if (rv != HM_CONF_OK) {
            return rv;
        }

        rv = hm_http_merge_locations(cf, clcf->locations, clcf->loc_conf,
                                     module, ctx_index);
        if (rv != HM_CONF_OK) {
            return rv;
        }
    }

    *ctx = saved;

    return HM_CONF_OK;
}


hm_int_t
hm_http_add_location(hm_conf_t *cf, hm_queue_t **locations,
    hm_http_core_loc_conf_t *clcf)
{
    hm_http_location_queue_t  *lq;

    if (*locations == NULL) {
        *locations = hm_palloc(cf->pool,
                               sizeof(hm_http_location_queue_t));
        if (*locations == NULL) {
            return HM_ERROR;
        }

        hm_queue_init(*locations);
    }

    /* the same location twice is a mistake: nginx says so, so do we */

    {
        hm_queue_t               *q;
        hm_http_core_loc_conf_t  *o;

        for (q = hm_queue_head(*locations);
             q != hm_queue_sentinel(*locations);
             q = hm_queue_next(q))
        {
            lq = (hm_http_location_queue_t *) q;
            o = lq->exact ? lq->exact : lq->inclusive;

            if (o->name.len == clcf->name.len
                && o->exact_match == clcf->exact_match
                && o->named == clcf->named
                && (o->regex != NULL) == (clcf->regex != NULL)
                && (!o->regex || o->caseless == clcf->caseless)
                && hm_strncmp(o->name.data, clcf->name.data,
                              clcf->name.len) == 0)
            {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "duplicate location \"%V\"", &clcf->name);
                return HM_ERROR;
            }
        }
    }

    lq = hm_palloc(cf->pool, sizeof(hm_http_location_queue_t));
    if (lq == NULL) {
        return HM_ERROR;
    }

    if (clcf->exact_match || clcf->regex || clcf->named) {
        lq->exact = clcf;
        lq->inclusive = NULL;

    } else {
        lq->exact = NULL;
        lq->inclusive = clcf;
    }

    lq->name = &clcf->name;
    lq->file_name = cf->conf_file->file.name.data;
    lq->line = cf->conf_file->line;

    hm_queue_init(&lq->list);

    hm_queue_insert_tail(*locations, &lq->queue);

    return HM_OK;
}


/*
 * Listen addresses: each distinct address:port gets one listening socket
 * and a list of the servers on it; the first (or the default_server) is
 * the default.
 */

hm_int_t
hm_http_add_listen(hm_conf_t *cf, hm_http_core_srv_conf_t *cscf,
    hm_http_listen_opt_t *lsopt)
{
    hm_uint_t                  i;
    hm_http_conf_addr_t       *addr;
    hm_http_core_main_conf_t  *cmcf;

    cmcf = hm_http_conf_get_module_main_conf(cf, hm_http_core_module);

    if (cmcf->ports == NULL) {
        cmcf->ports = hm_array_create(cf->pool, 2,
                                      sizeof(hm_http_conf_addr_t));
        if (cmcf->ports == NULL) {
            return HM_ERROR;
        }
    }

    addr = cmcf->ports->elts;

    for (i = 0; i < cmcf->ports->nelts; i++) {

        if (hm_cmp_sockaddr(lsopt->sockaddr, lsopt->socklen,
                            addr[i].opt.sockaddr, addr[i].opt.socklen, 1)
            != HM_OK)
        {
            continue;
        }

        /* the same address:port */

        addr[i].opt.ssl |= lsopt->ssl;

        if (lsopt->set) {

            if (addr[i].opt.set) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "duplicate listen options for %V",
                                  &addr[i].opt.addr_text);
                return HM_ERROR;
            }

            addr[i].opt = *lsopt;
        }

        if (lsopt->default_server) {

            if (addr[i].opt.default_server) {
                hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                                  "a duplicate default server for %V",
                                  &addr[i].opt.addr_text);
                return HM_ERROR;
            }

            addr[i].opt.default_server = 1;

            /* the default server goes first */

            if (hm_http_add_server(cf, cscf, &addr[i]) != HM_OK) {
                return HM_ERROR;
            }

            {
                hm_http_core_srv_conf_t **s = addr[i].servers.elts, *t;
                hm_uint_t                 k;

                t = s[addr[i].servers.nelts - 1];

                for (k = addr[i].servers.nelts - 1; k > 0; k--) {
                    s[k] = s[k - 1];
                }

                s[0] = t;
            }

            return HM_OK;
        }

        return hm_http_add_server(cf, cscf, &addr[i]);
    }

    addr = hm_array_push(cmcf->ports);
    if (addr == NULL) {
        return HM_ERROR;
    }

    addr->opt = *lsopt;

    if (hm_array_init(&addr->servers, cf->pool, 2,
                      sizeof(hm_http_core_srv_conf_t *))
        != HM_OK)
    {
        return HM_ERROR;
    }

    return hm_http_add_server(cf, cscf, addr);
}


static hm_int_t
hm_http_add_server(hm_conf_t *cf, hm_http_core_srv_conf_t *cscf,
    hm_http_conf_addr_t *addr)
{
    hm_uint_t                  i;
    hm_http_core_srv_conf_t  **server;

    server = addr->servers.elts;

    for (i = 0; i < addr->servers.nelts; i++) {
        if (server[i] == cscf) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "a duplicate listen %V",
                              &addr->opt.addr_text);
            return HM_ERROR;
        }
    }

    server = hm_array_push(&addr->servers);
    if (server == NULL) {
        return HM_ERROR;
    }

    *server = cscf;

    return HM_OK;
}


static hm_int_t
hm_http_server_names(hm_conf_t *cf, hm_http_conf_addr_t *addr,
    hm_http_addr_conf_t *ac)
{
    hm_int_t                   rc;
    hm_uint_t                  s, n;
    hm_http_server_name_t     *name, *w;
    hm_http_core_srv_conf_t  **cscfp;

    if (hm_hash_init(&ac->names, cf->pool, 16, 1) != HM_OK) {
        return HM_ERROR;
    }

    ac->wildcards = hm_array_create(cf->pool, 2,
                                    sizeof(hm_http_server_name_t));
    if (ac->wildcards == NULL) {
        return HM_ERROR;
    }

    cscfp = addr->servers.elts;

    for (s = 0; s < addr->servers.nelts; s++) {

        name = cscfp[s]->server_names.elts;

        for (n = 0; n < cscfp[s]->server_names.nelts; n++) {

            if (name[n].regex || name[n].wildcard_head
                || name[n].wildcard_tail)
            {
                w = hm_array_push(ac->wildcards);
                if (w == NULL) {
                    return HM_ERROR;
                }

                *w = name[n];
                continue;
            }

            if (name[n].name.len == 0) {
                continue;
            }

            rc = hm_hash_add(&ac->names, &name[n].name, name[n].server);

            if (rc == HM_ERROR) {
                return HM_ERROR;
            }

            if (rc == HM_BUSY) {
                hm_log_error_at(HM_LOG_WARN, cf->log, &cscfp[s]->where,
                                "conflicting server name \"%V\" on %V, "
                                "ignored", &name[n].name,
                                &addr->opt.addr_text);
            }
        }
    }

    return HM_OK;
}


static hm_int_t
hm_http_optimize_servers(hm_conf_t *cf, hm_http_core_main_conf_t *cmcf,
    hm_array_t *ports)
{
    hm_uint_t                  p;
    hm_listening_t            *ls;
    hm_http_conf_addr_t       *addr;
    hm_http_addr_conf_t       *ac;
    hm_http_core_srv_conf_t  **cscfp;

    if (ports == NULL) {
        return HM_OK;
    }

    addr = ports->elts;

    for (p = 0; p < ports->nelts; p++) {

        cscfp = addr[p].servers.elts;

        ac = hm_pcalloc(cf->pool, sizeof(hm_http_addr_conf_t));
        if (ac == NULL) {
            return HM_ERROR;
        }

        ac->default_server = cscfp[0];
        ac->ssl = addr[p].opt.ssl;
        ac->http2 = addr[p].opt.http2;
        ac->proxy_protocol = addr[p].opt.proxy_protocol;

        if (hm_http_server_names(cf, &addr[p], ac) != HM_OK) {
            return HM_ERROR;
        }

        ls = hm_create_listening(cf, addr[p].opt.sockaddr,
                                 addr[p].opt.socklen);
        if (ls == NULL) {
            return HM_ERROR;
        }

        ls->handler = hm_http_init_connection;
        ls->pool_size = cscfp[0]->connection_pool_size;
        ls->servers = ac;
        ls->where = addr[p].opt.where;

        ls->backlog = addr[p].opt.backlog;
        ls->rcvbuf = addr[p].opt.rcvbuf;
        ls->sndbuf = addr[p].opt.sndbuf;
        ls->reuseport = addr[p].opt.reuseport;
    }

    return HM_OK;
}

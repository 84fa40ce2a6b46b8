/*
 * Copyright (C) hermod authors
 *
 * How HTTP modules declare their configuration: main, server and location
 * levels, with create/merge hooks, as in nginx.
 */

#ifndef _HM_HTTP_CONFIG_H_INCLUDED_
#define _HM_HTTP_CONFIG_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef struct {
    void        **main_conf;
    void        **srv_conf;
    void        **loc_conf;
} hm_http_conf_ctx_t;


typedef struct {
    hm_int_t   (*preconfiguration)(hm_conf_t *cf);
    hm_int_t   (*postconfiguration)(hm_conf_t *cf);

    void       *(*create_main_conf)(hm_conf_t *cf);
    char       *(*init_main_conf)(hm_conf_t *cf, void *conf);

    void       *(*create_srv_conf)(hm_conf_t *cf);
    char       *(*merge_srv_conf)(hm_conf_t *cf, void *prev, void *conf);

    void       *(*create_loc_conf)(hm_conf_t *cf);
    char       *(*merge_loc_conf)(hm_conf_t *cf, void *prev, void *conf);

    void       *spare[4];
} hm_http_module_t;


#define HM_HTTP_MODULE           0x50545448   /* "HTTP" */

#define HM_HTTP_MAIN_CONF        0x02000000
#define HM_HTTP_SRV_CONF         0x04000000
#define HM_HTTP_LOC_CONF         0x08000000
#define HM_HTTP_UPS_CONF         0x10000000
#define HM_HTTP_SIF_CONF         0x20000000
#define HM_HTTP_LIF_CONF         0x40000000
#define HM_HTTP_LMT_CONF         0x80000000


#define HM_HTTP_MAIN_CONF_OFFSET  offsetof(hm_http_conf_ctx_t, main_conf)
#define HM_HTTP_SRV_CONF_OFFSET   offsetof(hm_http_conf_ctx_t, srv_conf)
#define HM_HTTP_LOC_CONF_OFFSET   offsetof(hm_http_conf_ctx_t, loc_conf)


#define hm_http_get_module_main_conf(r, module)                             \
    (r)->main_conf[module.ctx_index]
#define hm_http_get_module_srv_conf(r, module)  (r)->srv_conf[module.ctx_index]
#define hm_http_get_module_loc_conf(r, module)  (r)->loc_conf[module.ctx_index]


#define hm_http_conf_get_module_main_conf(cf, module)                        \
    ((hm_http_conf_ctx_t *) cf->ctx)->main_conf[module.ctx_index]
#define hm_http_conf_get_module_srv_conf(cf, module)                         \
    ((hm_http_conf_ctx_t *) cf->ctx)->srv_conf[module.ctx_index]
#define hm_http_conf_get_module_loc_conf(cf, module)                         \
    ((hm_http_conf_ctx_t *) cf->ctx)->loc_conf[module.ctx_index]

#define hm_http_cycle_get_module_main_conf(cycle, module)                    \
    (cycle->conf_ctx[hm_http_module.index] ?                                 \
        ((hm_http_conf_ctx_t *) cycle->conf_ctx[hm_http_module.index])       \
            ->main_conf[module.ctx_index]:                                   \
        NULL)


#endif /* _HM_HTTP_CONFIG_H_INCLUDED_ */

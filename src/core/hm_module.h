/*
 * Copyright (C) hermod authors
 *
 * The module descriptor and the ABI contract.
 *
 * HM_MODULE_ABI_VERSION is versioned apart from the release: it changes
 * only when a public struct changes incompatibly.  Public structs only ever
 * gain fields at their end or in their spare slots.  The first three fields
 * of hm_module_t never move, so that a module built against any ABI can be
 * checked before anything else in it is read.
 */

#ifndef _HM_MODULE_H_INCLUDED_
#define _HM_MODULE_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_MODULE_ABI_VERSION   1

#define HM_MODULE_UNSET_INDEX   (hm_uint_t) -1

#define HM_MAX_DYNAMIC_MODULES  128

#define HM_MODULE_V1                                                          \
    HM_MODULE_ABI_VERSION, HM_MODULE_SIGNATURE, sizeof(hm_module_t),          \
    NULL, HM_MODULE_UNSET_INDEX, HM_MODULE_UNSET_INDEX, 0, 0

#define HM_MODULE_V1_PADDING  0, 0, 0, 0, 0, 0, 0, 0


struct hm_module_s {
    /* never moved: checked at load time before anything else */
    hm_uint_t             abi_version;
    const char           *signature;
    size_t                size;

    char                 *name;        /* set by the core */
    hm_uint_t             ctx_index;
    hm_uint_t             index;

    hm_uint_t             spare0;
    hm_uint_t             spare1;

    void                 *ctx;
    hm_command_t         *commands;
    hm_uint_t             type;

    hm_int_t            (*init_master)(hm_log_t *log);
    hm_int_t            (*init_module)(hm_cycle_t *cycle);
    hm_int_t            (*init_process)(hm_cycle_t *cycle);
    void                (*exit_process)(hm_cycle_t *cycle);
    void                (*exit_master)(hm_cycle_t *cycle);

    /* reserved for additions without an ABI change */
    uintptr_t             spare_hook0;
    uintptr_t             spare_hook1;
    uintptr_t             spare_hook2;
    uintptr_t             spare_hook3;
    uintptr_t             spare_hook4;
    uintptr_t             spare_hook5;
    uintptr_t             spare_hook6;
    uintptr_t             spare_hook7;
};


typedef struct {
    hm_str_t              name;
    void               *(*create_conf)(hm_cycle_t *cycle);
    char               *(*init_conf)(hm_cycle_t *cycle, void *conf);
} hm_core_module_t;


hm_int_t hm_preinit_modules(void);
hm_int_t hm_cycle_modules(hm_cycle_t *cycle);
hm_int_t hm_init_modules(hm_cycle_t *cycle);
hm_int_t hm_count_modules(hm_cycle_t *cycle, hm_uint_t type);
hm_int_t hm_add_module(hm_conf_t *cf, hm_str_t *file, hm_module_t *module,
    char **order);

char *hm_load_module(hm_conf_t *cf, hm_command_t *cmd, void *conf);


extern hm_module_t  *hm_modules[];
extern char         *hm_module_names[];
extern hm_uint_t     hm_max_module;


#endif /* _HM_MODULE_H_INCLUDED_ */

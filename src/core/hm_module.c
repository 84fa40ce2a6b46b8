/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static hm_uint_t hm_module_index(hm_cycle_t *cycle, hm_module_t *module);
static hm_uint_t hm_module_ctx_index(hm_cycle_t *cycle, hm_module_t *self,
    hm_uint_t type, hm_uint_t index);
static void hm_unload_module(void *data);


hm_uint_t         hm_max_module;
static hm_uint_t  hm_modules_n;


hm_int_t
hm_preinit_modules(void)
{
    hm_uint_t  i;

    for (i = 0; hm_modules[i]; i++) {
        hm_modules[i]->index = i;
        hm_modules[i]->name = hm_module_names[i];
    }

    hm_modules_n = i;
    hm_max_module = hm_modules_n + HM_MAX_DYNAMIC_MODULES;

    return HM_OK;
}


hm_int_t
hm_cycle_modules(hm_cycle_t *cycle)
{
    /* a copy: modules loaded by this configuration are added to it */

    cycle->modules = hm_pcalloc(cycle->pool, (hm_max_module + 1)
                                              * sizeof(hm_module_t *));
    if (cycle->modules == NULL) {
        return HM_ERROR;
    }

    hm_memcpy(cycle->modules, hm_modules,
              hm_modules_n * sizeof(hm_module_t *));

    cycle->modules_n = hm_modules_n;

    return HM_OK;
}


hm_int_t
hm_init_modules(hm_cycle_t *cycle)
{
    hm_uint_t  i;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->init_module) {
            if (cycle->modules[i]->init_module(cycle) != HM_OK) {
                return HM_ERROR;
            }
        }
    }

    return HM_OK;
}


hm_int_t
hm_count_modules(hm_cycle_t *cycle, hm_uint_t type)
{
    hm_uint_t     i, next, max;
    hm_module_t  *module;

    next = 0;
    max = 0;

    /* count appropriate modules, set up their indices */

    for (i = 0; cycle->modules[i]; i++) {
        module = cycle->modules[i];

        if (module->type != type) {
            continue;
        }

        if (module->ctx_index != HM_MODULE_UNSET_INDEX) {

            /* if ctx_index was assigned, preserve it */

            if (module->ctx_index > max) {
                max = module->ctx_index;
            }

            if (module->ctx_index == next) {
                next++;
            }

            continue;
        }

        /* search for some free index */

        module->ctx_index = hm_module_ctx_index(cycle, NULL, type, next);

        if (module->ctx_index > max) {
            max = module->ctx_index;
        }

        next = module->ctx_index + 1;
    }

    /*
     * make sure the number returned is big enough for previous
     * cycle as well, else there will be problems if the number
     * will be stored in a global variable (as it's used to be)
     * and we'll have to roll back to the previous cycle
     */

    if (cycle->old_cycle && cycle->old_cycle->modules) {

        for (i = 0; cycle->old_cycle->modules[i]; i++) {
            module = cycle->old_cycle->modules[i];

            if (module->type != type) {
                continue;
            }

            if (module->ctx_index > max) {
                max = module->ctx_index;
            }
        }
    }

    /* prevent loading of additional modules */

    cycle->modules_used = 1;

    return max + 1;
}


char *
hm_load_module(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    void                **handlep, *handle;
    char                **names;
    hm_str_t             *value, file;
    hm_uint_t             i;
    hm_module_t         **modules;
    hm_pool_cleanup_t    *cln;

    if (cf->cycle->modules_used) {
        return "is specified too late";
    }

    value = cf->args->elts;

    file = value[1];

    if (hm_conf_full_name(cf->cycle, &file, 0) != HM_OK) {
        return HM_CONF_ERROR;
    }

    cln = hm_pool_cleanup_add(cf->cycle->pool, sizeof(void *));
    if (cln == NULL) {
        return HM_CONF_ERROR;
    }

    handle = dlopen((char *) file.data, RTLD_NOW|RTLD_LOCAL);
    if (handle == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "dlopen() \"%s\" failed (%s)",
                          file.data, dlerror());
        return HM_CONF_ERROR;
    }

    handlep = cln->data;
    *handlep = handle;
    cln->handler = hm_unload_module;

    modules = dlsym(handle, "hm_modules");
    names = dlsym(handle, "hm_module_names");

    if (modules == NULL || names == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "module \"%s\" is not a hermod module "
                          "(no \"hm_modules\" symbol)", file.data);
        return HM_CONF_ERROR;
    }

    for (i = 0; modules[i]; i++) {

        if (names[i] == NULL) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "module \"%s\" has fewer names than modules",
                              file.data);
            return HM_CONF_ERROR;
        }

        if (hm_add_module(cf, &file, modules[i], &names[i]) != HM_OK) {
            return HM_CONF_ERROR;
        }

        hm_log_debug(cf->log, "module: %s i:%ui", names[i],
                     modules[i]->index);
    }

    if (i == 0) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "module \"%s\" declares no modules", file.data);
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static void
hm_unload_module(void *data)
{
    void  *handle = *(void **) data;

    if (dlclose(handle) != 0) {
        hm_log_error(HM_LOG_ALERT, hm_cycle->log, 0,
                     "dlclose() failed (%s)", dlerror());
    }
}


hm_int_t
hm_add_module(hm_conf_t *cf, hm_str_t *file, hm_module_t *module,
    char **order)
{
    void               *rv;
    char               *name;
    hm_uint_t           i;
    hm_core_module_t   *core_module;

    name = order[0];

    if (module->abi_version != HM_MODULE_ABI_VERSION) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "module \"%s\" was built for ABI version %ui, "
                          "hermod provides %ui",
                          name, module->abi_version,
                          (hm_uint_t) HM_MODULE_ABI_VERSION);
        return HM_ERROR;
    }

    if (module->signature == NULL
        || hm_strcmp(module->signature, HM_MODULE_SIGNATURE) != 0)
    {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "module \"%s\" is not binary compatible: "
                          "signature \"%s\", expected \"%s\"",
                          name, module->signature ? module->signature : "",
                          HM_MODULE_SIGNATURE);
        return HM_ERROR;
    }

    if (module->size < sizeof(hm_module_t)) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "module \"%s\" has a descriptor of %uz bytes, "
                          "expected %uz", name, module->size,
                          sizeof(hm_module_t));
        return HM_ERROR;
    }

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (hm_strcmp(cf->cycle->modules[i]->name, name) == 0) {
            hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                              "module \"%s\" is already loaded", name);
            return HM_ERROR;
        }
    }

    if (cf->cycle->modules_n >= hm_max_module) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0, "too many modules loaded");
        return HM_ERROR;
    }

    module->name = name;
    module->index = hm_module_index(cf->cycle, module);
    module->ctx_index = hm_module_ctx_index(cf->cycle, module, module->type,
                                            module->ctx_index);

    /* keep the order: dynamic modules come after the static ones */

    cf->cycle->modules[cf->cycle->modules_n++] = module;

    /* a core module gets its configuration now, like the static ones */

    if (module->type == HM_CORE_MODULE) {
        core_module = module->ctx;

        if (core_module && core_module->create_conf) {
            rv = core_module->create_conf(cf->cycle);
            if (rv == NULL) {
                return HM_ERROR;
            }

            cf->cycle->conf_ctx[module->index] = rv;
        }
    }

    return HM_OK;
}


/* keep a module's index from the previous cycle when it is still free */

static hm_uint_t
hm_module_index(hm_cycle_t *cycle, hm_module_t *module)
{
    hm_uint_t     i, index;
    hm_module_t  *m;

    index = (module->index != HM_MODULE_UNSET_INDEX
             && module->index >= hm_modules_n)
            ? module->index : hm_modules_n;

again:

    for (i = 0; cycle->modules[i]; i++) {
        m = cycle->modules[i];

        if (m->index == index) {
            index = (index == module->index) ? hm_modules_n : index + 1;
            module->index = HM_MODULE_UNSET_INDEX;
            goto again;
        }
    }

    if (index >= hm_max_module) {
        index = hm_modules_n;
        goto again;
    }

    return index;
}


static hm_uint_t
hm_module_ctx_index(hm_cycle_t *cycle, hm_module_t *self, hm_uint_t type,
    hm_uint_t index)
{
    hm_uint_t     i;
    hm_module_t  *module;

    if (index == HM_MODULE_UNSET_INDEX) {
        index = 0;
    }

again:

    /* find an unused ctx_index */

    for (i = 0; cycle->modules[i]; i++) {
        module = cycle->modules[i];

        if (module->type != type) {
            continue;
        }

        if (module->ctx_index == index) {
            index++;
            goto again;
        }
    }

    /* check previous cycle */

    if (cycle->old_cycle && cycle->old_cycle->modules) {

        for (i = 0; cycle->old_cycle->modules[i]; i++) {
            module = cycle->old_cycle->modules[i];

            /* the same module loaded again keeps its slot */

            if (module->type != type || module == self) {
                continue;
            }

            if (module->ctx_index == index) {
                index++;
                goto again;
            }
        }
    }

    return index;
}

/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


static void *hm_core_module_create_conf(hm_cycle_t *cycle);
static char *hm_core_module_init_conf(hm_cycle_t *cycle, void *conf);
static char *hm_set_worker_processes(hm_conf_t *cf, hm_command_t *cmd,
    void *conf);
static char *hm_set_user(hm_conf_t *cf, hm_command_t *cmd, void *conf);
static hm_int_t hm_init_listening(hm_cycle_t *cycle, hm_cycle_t *old_cycle);
static hm_int_t hm_clone_listening(hm_cycle_t *cycle);
static hm_int_t hm_open_files(hm_cycle_t *cycle, hm_cycle_t *old_cycle);
static void hm_close_new_resources(hm_cycle_t *cycle, hm_cycle_t *old_cycle);
static void hm_close_old_resources(hm_cycle_t *cycle, hm_cycle_t *old_cycle);
static hm_int_t hm_init_core_confs(hm_cycle_t *cycle);


volatile hm_cycle_t  *hm_cycle;

hm_uint_t             hm_test_config;
hm_uint_t             hm_dump_config;
hm_uint_t             hm_quiet_mode;


static hm_str_t  error_log = hm_string(HM_ERROR_LOG_PATH);


static hm_command_t  hm_core_commands[] = {

    { hm_string("daemon"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_core_conf_t, daemon),
      NULL,
      "Detach from the terminal and run in the background." },

    { hm_string("master_process"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_FLAG,
      hm_conf_set_flag_slot,
      0,
      offsetof(hm_core_conf_t, master),
      NULL,
      "Run a master and workers; off runs one process, for debugging." },

    { hm_string("worker_processes"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_TAKE1,
      hm_set_worker_processes,
      0,
      0,
      NULL,
      "How many workers: a number, or auto for one per core." },

    { hm_string("pid"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_TAKE1,
      hm_conf_set_str_slot,
      0,
      offsetof(hm_core_conf_t, pid),
      NULL,
      "The file that holds the master's process id." },

    { hm_string("user"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_TAKE12,
      hm_set_user,
      0,
      0,
      NULL,
      "The user and group workers run as when started as root." },

    { hm_string("worker_rlimit_nofile"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_TAKE1,
      hm_conf_set_num_slot,
      0,
      offsetof(hm_core_conf_t, rlimit_nofile),
      NULL,
      "The open file limit (RLIMIT_NOFILE) of each worker." },

    { hm_string("worker_shutdown_timeout"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_TAKE1,
      hm_conf_set_msec_slot,
      0,
      offsetof(hm_core_conf_t, shutdown_timeout),
      NULL,
      "How long a gracefully stopping worker waits for its connections." },

    { hm_string("load_module"),
      HM_MAIN_CONF|HM_DIRECT_CONF|HM_CONF_TAKE1,
      hm_load_module,
      0,
      0,
      NULL,
      "Loads a dynamic module (a shared object) before its directives." },

      hm_null_command
};


static hm_core_module_t  hm_core_module_ctx = {
    hm_string("core"),
    hm_core_module_create_conf,
    hm_core_module_init_conf
};


hm_module_t  hm_core_module = {
    HM_MODULE_V1,
    &hm_core_module_ctx,                   /* module context */
    hm_core_commands,                      /* module directives */
    HM_CORE_MODULE,                        /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    HM_MODULE_V1_PADDING
};


static hm_int_t
hm_cycle_strdup(hm_pool_t *pool, hm_str_t *dst, hm_str_t *src)
{
    dst->len = src->len;

    if (src->len == 0) {
        dst->data = (u_char *) "";
        return HM_OK;
    }

    dst->data = hm_pstrdup(pool, src);

    return dst->data ? HM_OK : HM_ERROR;
}


hm_cycle_t *
hm_init_cycle(hm_cycle_t *old_cycle)
{
    void                *rv;
    hm_uint_t            i;
    hm_log_t            *log;
    hm_conf_t            conf;
    hm_pool_t           *pool;
    hm_cycle_t          *cycle;
    hm_core_conf_t      *ccf, *old_ccf;
    hm_core_module_t    *module;
    char                 hostname[HOST_NAME_MAX + 1];

    hm_time_update();

    log = old_cycle->log;

    pool = hm_create_pool(HM_CYCLE_POOL_SIZE, log);
    if (pool == NULL) {
        return NULL;
    }

    pool->log = log;

    cycle = hm_pcalloc(pool, sizeof(hm_cycle_t));
    if (cycle == NULL) {
        hm_destroy_pool(pool);
        return NULL;
    }

    cycle->pool = pool;
    cycle->log = log;
    cycle->old_cycle = old_cycle;
    cycle->generation = old_cycle->generation + 1;

    if (hm_cycle_strdup(pool, &cycle->conf_prefix, &old_cycle->conf_prefix)
        != HM_OK
        || hm_cycle_strdup(pool, &cycle->prefix, &old_cycle->prefix) != HM_OK
        || hm_cycle_strdup(pool, &cycle->conf_file, &old_cycle->conf_file)
           != HM_OK
        || hm_cycle_strdup(pool, &cycle->conf_param, &old_cycle->conf_param)
           != HM_OK)
    {
        hm_destroy_pool(pool);
        return NULL;
    }

    cycle->error_log = error_log;

    if (hm_list_init(&cycle->open_files, pool, 8, sizeof(hm_open_file_t))
        != HM_OK
        || hm_array_init(&cycle->listening, pool, 10, sizeof(hm_listening_t))
           != HM_OK
        || hm_array_init(&cycle->config_dump, pool, 1, sizeof(hm_conf_dump_t))
           != HM_OK)
    {
        hm_destroy_pool(pool);
        return NULL;
    }

    cycle->conf_ctx = hm_pcalloc(pool, hm_max_module * sizeof(void *));
    if (cycle->conf_ctx == NULL) {
        hm_destroy_pool(pool);
        return NULL;
    }

    if (gethostname(hostname, HOST_NAME_MAX) == -1) {
        hm_log_error(HM_LOG_EMERG, log, hm_errno, "gethostname() failed");
        hm_destroy_pool(pool);
        return NULL;
    }

    hostname[HOST_NAME_MAX] = '\0';
    cycle->hostname.len = hm_strlen(hostname);

    cycle->hostname.data = hm_pnalloc(pool, cycle->hostname.len);
    if (cycle->hostname.data == NULL) {
        hm_destroy_pool(pool);
        return NULL;
    }

    hm_strlow(cycle->hostname.data, (u_char *) hostname, cycle->hostname.len);

    if (hm_cycle_modules(cycle) != HM_OK) {
        hm_destroy_pool(pool);
        return NULL;
    }

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->type != HM_CORE_MODULE) {
            continue;
        }

        module = cycle->modules[i]->ctx;

        if (module->create_conf) {
            rv = module->create_conf(cycle);
            if (rv == NULL) {
                hm_destroy_pool(pool);
                return NULL;
            }
            cycle->conf_ctx[cycle->modules[i]->index] = rv;
        }
    }

    if (hm_variables_init_core(cycle) != HM_OK) {
        hm_destroy_pool(pool);
        return NULL;
    }

    hm_memzero(&conf, sizeof(hm_conf_t));

    conf.args = hm_array_create(pool, 10, sizeof(hm_str_t));
    if (conf.args == NULL) {
        hm_destroy_pool(pool);
        return NULL;
    }

    conf.temp_pool = hm_create_pool(HM_CYCLE_POOL_SIZE, log);
    if (conf.temp_pool == NULL) {
        hm_destroy_pool(pool);
        return NULL;
    }

    conf.ctx = cycle->conf_ctx;
    conf.cycle = cycle;
    conf.pool = pool;
    conf.log = log;
    conf.module_type = HM_CORE_MODULE;
    conf.cmd_type = HM_MAIN_CONF;

    if (hm_conf_param(&conf) != HM_CONF_OK) {
        goto failed;
    }

    if (hm_conf_parse(&conf, &cycle->conf_file) != HM_CONF_OK) {
        goto failed;
    }

    if (hm_variables_resolve(cycle) != HM_OK) {
        goto failed;
    }

    if (hm_init_core_confs(cycle) != HM_OK) {
        goto failed;
    }

    if (hm_test_config && !hm_quiet_mode) {
        hm_log_stderr(0, "the configuration file %s syntax is ok",
                      cycle->conf_file.data);
    }

    if (hm_process == HM_PROCESS_SIGNALLER) {
        hm_destroy_pool(conf.temp_pool);
        return cycle;
    }

    ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx, hm_core_module);

    if (!hm_test_config && !hm_is_init_cycle(old_cycle)) {

        /* a reload that moved the pid file */

        old_ccf = (hm_core_conf_t *) hm_get_conf(old_cycle->conf_ctx,
                                                   hm_core_module);
        if (ccf->pid.len != old_ccf->pid.len
            || hm_strcmp(ccf->pid.data, old_ccf->pid.data) != 0)
        {
            if (hm_create_pidfile(&ccf->pid, log) != HM_OK) {
                goto failed;
            }

            hm_delete_pidfile(old_cycle);
        }
    }

    if (cycle->new_log.file == NULL) {
        cycle->new_log.file = hm_conf_open_file(cycle, &cycle->error_log);
        if (cycle->new_log.file == NULL) {
            goto failed;
        }

        cycle->new_log.log_level = HM_LOG_ERR;
    }

    if (hm_open_files(cycle, old_cycle) != HM_OK) {
        goto failed;
    }

    cycle->log = &cycle->new_log;
    pool->log = &cycle->new_log;

    if (hm_clone_listening(cycle) != HM_OK) {
        goto failed;
    }

    if (hm_init_listening(cycle, old_cycle) != HM_OK) {
        goto failed;
    }

    if (!hm_test_config) {
        if (hm_open_listening_sockets(cycle) != HM_OK) {
            goto failed;
        }
    }

    if (!hm_use_stderr) {
        (void) hm_log_redirect_stderr(cycle);
    }

    pool->log = cycle->log;

    if (hm_metrics_init_cycle(cycle) != HM_OK) {
        goto failed;
    }

    if (hm_init_modules(cycle) != HM_OK) {

        if (hm_is_init_cycle(old_cycle)) {
            /* fatal at start */
            exit(1);
        }

        /* a reload: the old configuration keeps serving */

        goto failed;
    }

    hm_close_old_resources(cycle, old_cycle);

    hm_destroy_pool(conf.temp_pool);

    if (hm_process == HM_PROCESS_MASTER || hm_is_init_cycle(old_cycle)) {

        if (!hm_is_init_cycle(old_cycle)) {
            hm_destroy_pool(old_cycle->pool);
        }

        cycle->old_cycle = NULL;

        return cycle;
    }

    /* a single process keeps no old cycle either: connections are gone */

    hm_destroy_pool(old_cycle->pool);
    cycle->old_cycle = NULL;

    return cycle;


failed:

    hm_close_new_resources(cycle, old_cycle);

    hm_destroy_pool(conf.temp_pool);
    hm_destroy_pool(pool);

    return NULL;
}


static hm_int_t
hm_init_core_confs(hm_cycle_t *cycle)
{
    hm_uint_t          i;
    hm_core_module_t  *module;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->type != HM_CORE_MODULE) {
            continue;
        }

        module = cycle->modules[i]->ctx;

        if (module->init_conf) {
            if (module->init_conf(cycle,
                                  cycle->conf_ctx[cycle->modules[i]->index])
                == HM_CONF_ERROR)
            {
                return HM_ERROR;
            }
        }
    }

    return HM_OK;
}


static hm_int_t
hm_open_files(hm_cycle_t *cycle, hm_cycle_t *old_cycle)
{
    hm_uint_t         i;
    hm_list_part_t   *part;
    hm_open_file_t   *file;

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

        if (file[i].name.len == 0) {
            continue;
        }

        file[i].fd = hm_open_file(file[i].name.data, HM_FILE_APPEND,
                                  HM_FILE_CREATE_OR_OPEN,
                                  HM_FILE_DEFAULT_ACCESS);

        if (file[i].fd == HM_INVALID_FILE) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_errno,
                         hm_open_file_n " \"%s\" failed",
                         file[i].name.data);
            return HM_ERROR;
        }
    }

    return HM_OK;
}


static hm_int_t
hm_clone_listening(hm_cycle_t *cycle)
{
    hm_int_t         n;
    hm_uint_t        i, nelts;
    hm_core_conf_t  *ccf;
    hm_listening_t  *ls, ols;

    ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx, hm_core_module);

    nelts = cycle->listening.nelts;

    for (i = 0; i < nelts; i++) {
        ls = cycle->listening.elts;

        if (!ls[i].reuseport || ls[i].worker != 0) {
            continue;
        }

        ols = ls[i];

        for (n = 1; n < ccf->worker_processes; n++) {

            /* create a socket for each worker process */

            ls = hm_array_push(&cycle->listening);
            if (ls == NULL) {
                return HM_ERROR;
            }

            *ls = ols;
            ls->worker = n;
        }
    }

    return HM_OK;
}


static hm_int_t
hm_init_listening(hm_cycle_t *cycle, hm_cycle_t *old_cycle)
{
    hm_uint_t        i, n;
    hm_listening_t  *ls, *nls;

    nls = cycle->listening.elts;

    for (n = 0; n < cycle->listening.nelts; n++) {
        nls[n].fd = (hm_socket_t) -1;
        nls[n].log = *cycle->log;
        nls[n].logp = cycle->log;
        nls[n].open = 0;
        nls[n].remain = 0;
    }

    if (hm_is_init_cycle(old_cycle)) {
        return HM_OK;
    }

    /* keep the sockets that are still wanted, so no connection is lost */

    ls = old_cycle->listening.elts;
    for (i = 0; i < old_cycle->listening.nelts; i++) {
        ls[i].remain = 0;
    }

    for (n = 0; n < cycle->listening.nelts; n++) {

        for (i = 0; i < old_cycle->listening.nelts; i++) {
            if (ls[i].ignore || ls[i].remain || ls[i].type != nls[n].type) {
                continue;
            }

            if (ls[i].fd == (hm_socket_t) -1) {
                continue;
            }

            if (hm_cmp_sockaddr(nls[n].sockaddr, nls[n].socklen,
                                ls[i].sockaddr, ls[i].socklen, 1)
                != HM_OK)
            {
                continue;
            }

            if (nls[n].reuseport != ls[i].reuseport
                || nls[n].worker != ls[i].worker)
            {
                if (nls[n].reuseport && !ls[i].reuseport
                    && nls[n].worker == 0)
                {
                    nls[n].add_reuseport = 1;

                } else {
                    continue;
                }
            }

            nls[n].fd = ls[i].fd;
            nls[n].inherited = ls[i].inherited;
            nls[n].previous = &ls[i];
            nls[n].listen = 1;
            ls[i].remain = 1;

            break;
        }
    }

    return HM_OK;
}


static void
hm_close_new_resources(hm_cycle_t *cycle, hm_cycle_t *old_cycle)
{
    hm_uint_t         i;
    hm_list_part_t   *part;
    hm_open_file_t   *file;
    hm_listening_t   *ls;

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

        if (file[i].fd == HM_INVALID_FILE || file[i].fd == hm_stderr) {
            continue;
        }

        (void) hm_close_file(file[i].fd);
    }

    /* sockets this cycle opened itself; inherited ones stay with the old */

    ls = cycle->listening.elts;
    for (i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].fd == (hm_socket_t) -1 || ls[i].previous) {
            continue;
        }

        (void) hm_close_socket(ls[i].fd);
    }
}


static void
hm_close_old_resources(hm_cycle_t *cycle, hm_cycle_t *old_cycle)
{
    hm_uint_t         i;
    hm_list_part_t   *part;
    hm_open_file_t   *file;
    hm_listening_t   *ls;

    if (hm_is_init_cycle(old_cycle)) {
        return;
    }

    ls = old_cycle->listening.elts;
    for (i = 0; i < old_cycle->listening.nelts; i++) {
        if (ls[i].remain || ls[i].fd == (hm_socket_t) -1) {
            continue;
        }

        if (hm_close_socket(ls[i].fd) == -1) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_socket_errno,
                         hm_close_socket_n " listening socket on %V failed",
                         &ls[i].addr_text);
        }
    }

    part = &old_cycle->open_files.part;
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

        if (file[i].fd == HM_INVALID_FILE || file[i].fd == hm_stderr) {
            continue;
        }

        if (hm_close_file(file[i].fd) == HM_FILE_ERROR) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_errno,
                         hm_close_file_n " \"%s\" failed",
                         file[i].name.data);
        }
    }
}


hm_int_t
hm_create_pidfile(hm_str_t *name, hm_log_t *log)
{
    size_t    len;
    hm_fd_t   fd;
    u_char    pid[HM_INT64_LEN + 2];

    if (hm_process > HM_PROCESS_MASTER) {
        return HM_OK;
    }

    fd = hm_open_file(name->data, HM_FILE_RDWR, HM_FILE_TRUNCATE,
                      HM_FILE_DEFAULT_ACCESS);

    if (fd == HM_INVALID_FILE) {
        hm_log_error(HM_LOG_EMERG, log, hm_errno,
                     hm_open_file_n " \"%s\" failed", name->data);
        return HM_ERROR;
    }

    len = hm_snprintf(pid, HM_INT64_LEN + 2, "%P%N", hm_pid) - pid;

    if (hm_write_fd(fd, pid, len) != (ssize_t) len) {
        hm_log_error(HM_LOG_EMERG, log, hm_errno,
                     hm_write_fd_n " \"%s\" failed", name->data);
        (void) hm_close_file(fd);
        return HM_ERROR;
    }

    if (hm_close_file(fd) == HM_FILE_ERROR) {
        hm_log_error(HM_LOG_ALERT, log, hm_errno,
                     hm_close_file_n " \"%s\" failed", name->data);
    }

    return HM_OK;
}


void
hm_delete_pidfile(hm_cycle_t *cycle)
{
    hm_core_conf_t  *ccf;

    ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx, hm_core_module);

    if (hm_delete_file(ccf->pid.data) == -1) {
        hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                     hm_delete_file_n " \"%s\" failed", ccf->pid.data);
    }
}


hm_int_t
hm_signal_process(hm_cycle_t *cycle, char *sig)
{
    ssize_t           n;
    hm_pid_t          pid;
    hm_file_t         file;
    hm_core_conf_t   *ccf;
    u_char            buf[HM_INT64_LEN + 2];

    ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx, hm_core_module);

    hm_memzero(&file, sizeof(hm_file_t));

    file.name = ccf->pid;
    file.log = cycle->log;

    file.fd = hm_open_file(file.name.data, HM_FILE_RDONLY,
                           HM_FILE_OPEN, HM_FILE_DEFAULT_ACCESS);

    if (file.fd == HM_INVALID_FILE) {
        hm_log_error(HM_LOG_ERR, cycle->log, hm_errno,
                     hm_open_file_n " \"%s\" failed", file.name.data);
        return 1;
    }

    n = hm_read_file(&file, buf, HM_INT64_LEN + 2, 0);

    if (hm_close_file(file.fd) == HM_FILE_ERROR) {
        hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                     hm_close_file_n " \"%s\" failed", file.name.data);
    }

    if (n == HM_ERROR) {
        return 1;
    }

    while (n-- && (buf[n] == CR || buf[n] == LF)) { /* void */ }

    pid = hm_atoi(buf, ++n);

    if (pid == (hm_pid_t) HM_ERROR) {
        hm_log_error(HM_LOG_ERR, cycle->log, 0,
                     "invalid PID number \"%*s\" in \"%s\"",
                     n, buf, file.name.data);
        return 1;
    }

    return hm_os_signal_process(cycle, sig, pid);
}


void
hm_reopen_files(hm_cycle_t *cycle, hm_uid_t user)
{
    hm_fd_t           fd;
    hm_uint_t         i;
    hm_list_part_t   *part;
    hm_open_file_t   *file;

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

        if (file[i].name.len == 0) {
            continue;
        }

        fd = hm_open_file(file[i].name.data, HM_FILE_APPEND,
                          HM_FILE_CREATE_OR_OPEN, HM_FILE_DEFAULT_ACCESS);

        if (fd == HM_INVALID_FILE) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_errno,
                         hm_open_file_n " \"%s\" failed", file[i].name.data);
            continue;
        }

        if (user != (hm_uid_t) -1 && geteuid() == 0) {
            if (fchown(fd, user, -1) == -1) {
                hm_log_error(HM_LOG_EMERG, cycle->log, hm_errno,
                             "fchown(\"%s\", %d) failed",
                             file[i].name.data, user);
            }
        }

        if (close(file[i].fd) == -1) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_errno,
                         hm_close_file_n " \"%s\" failed",
                         file[i].name.data);
        }

        file[i].fd = fd;
    }

    if (!cycle->log_use_stderr && !hm_use_stderr) {
        (void) hm_log_redirect_stderr(cycle);
    }
}


static void *
hm_core_module_create_conf(hm_cycle_t *cycle)
{
    hm_core_conf_t  *ccf;

    ccf = hm_pcalloc(cycle->pool, sizeof(hm_core_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    ccf->daemon = HM_CONF_UNSET;
    ccf->master = HM_CONF_UNSET;
    ccf->shutdown_timeout = HM_CONF_UNSET_MSEC;
    ccf->worker_processes = HM_CONF_UNSET;
    ccf->rlimit_nofile = HM_CONF_UNSET;
    ccf->user = (hm_uid_t) HM_CONF_UNSET_UINT;
    ccf->group = (hm_gid_t) HM_CONF_UNSET_UINT;

    return ccf;
}


static char *
hm_core_module_init_conf(hm_cycle_t *cycle, void *conf)
{
    hm_core_conf_t  *ccf = conf;

    hm_str_t  pid = hm_string(HM_PID_PATH);

    hm_conf_init_value(ccf->daemon, 1);
    hm_conf_init_value(ccf->master, 1);
    hm_conf_init_msec_value(ccf->shutdown_timeout, 0);
    hm_conf_init_value(ccf->worker_processes, 1);

    if (ccf->pid.len == 0) {
        ccf->pid = pid;
    }

    if (hm_conf_full_name(cycle, &ccf->pid, 0) != HM_OK) {
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}


static char *
hm_set_user(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_core_conf_t  *ccf = conf;

    char             *group;
    struct passwd    *pwd;
    struct group     *grp;
    hm_str_t         *value;

    if (ccf->user != (uid_t) HM_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    if (geteuid() != 0) {
        hm_conf_log_error(HM_LOG_WARN, cf, 0,
                          "the \"user\" directive makes sense only "
                          "if the master process runs "
                          "with super-user privileges, ignored");
        return HM_CONF_OK;
    }

    value = cf->args->elts;

    ccf->username = (char *) value[1].data;

    hm_set_errno(0);
    pwd = getpwnam((const char *) value[1].data);
    if (pwd == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, hm_errno,
                          "getpwnam(\"%s\") failed", value[1].data);
        return HM_CONF_ERROR;
    }

    ccf->user = pwd->pw_uid;

    group = (char *) ((cf->args->nelts == 2) ? value[1].data : value[2].data);

    hm_set_errno(0);
    grp = getgrnam(group);
    if (grp == NULL) {
        hm_conf_log_error(HM_LOG_EMERG, cf, hm_errno,
                          "getgrnam(\"%s\") failed", group);
        return HM_CONF_ERROR;
    }

    ccf->group = grp->gr_gid;

    return HM_CONF_OK;
}


static char *
hm_set_worker_processes(hm_conf_t *cf, hm_command_t *cmd, void *conf)
{
    hm_str_t        *value;
    hm_core_conf_t  *ccf;

    ccf = (hm_core_conf_t *) conf;

    if (ccf->worker_processes != HM_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (hm_strcmp(value[1].data, "auto") == 0) {
        ccf->worker_processes = hm_ncpu;
        return HM_CONF_OK;
    }

    ccf->worker_processes = hm_atoi(value[1].data, value[1].len);

    if (ccf->worker_processes == HM_ERROR || ccf->worker_processes < 1) {
        hm_conf_log_error(HM_LOG_EMERG, cf, 0,
                          "invalid value \"%V\" in \"%V\" directive",
                          &value[1], &cmd->name);
        return HM_CONF_ERROR;
    }

    return HM_CONF_OK;
}

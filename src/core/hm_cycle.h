/*
 * Copyright (C) hermod authors
 *
 * A cycle is one configuration generation: its pool, modules, module
 * configurations, listening sockets, open files and logs.  Reload builds a
 * new cycle beside the old one; any error keeps the old one.
 */

#ifndef _HM_CYCLE_H_INCLUDED_
#define _HM_CYCLE_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_CYCLE_POOL_SIZE     HM_DEFAULT_POOL_SIZE


struct hm_cycle_s {
    void                  ****conf_ctx;
    hm_pool_t               *pool;

    hm_log_t                *log;
    hm_log_t                 new_log;

    hm_uint_t                log_use_stderr;  /* unsigned  log_use_stderr:1; */

    hm_connection_t         *free_connections;
    hm_uint_t                free_connection_n;

    hm_module_t            **modules;
    hm_uint_t                modules_n;
    hm_uint_t                modules_used;    /* unsigned  modules_used:1; */

    hm_array_t               listening;       /* of hm_listening_t */
    hm_array_t               config_dump;     /* of hm_conf_dump_t */
    hm_list_t                open_files;      /* of hm_open_file_t */

    hm_uint_t                connection_n;
    hm_uint_t                files_n;

    hm_connection_t         *connections;
    hm_event_t              *read_events;
    hm_event_t              *write_events;

    hm_cycle_t              *old_cycle;

    hm_str_t                 conf_file;
    hm_str_t                 conf_param;
    hm_str_t                 conf_prefix;
    hm_str_t                 prefix;
    hm_str_t                 error_log;
    hm_str_t                 hostname;

    hm_uint_t                generation;

    void                    *variables;      /* hm_variables.c registry */
    void                    *metrics;        /* hm_metrics.c registry */
    void                    *spare[8];
};


typedef struct {
    hm_flag_t                daemon;
    hm_flag_t                master;

    hm_msec_t                shutdown_timeout;

    hm_int_t                 worker_processes;

    hm_int_t                 rlimit_nofile;

    uid_t                    user;
    gid_t                    group;
    char                    *username;

    hm_str_t                 pid;
    hm_str_t                 oldpid;

    hm_conf_location_t       pid_where;

    void                    *spare[4];
} hm_core_conf_t;


#define hm_get_conf(conf_ctx, module)  conf_ctx[module.index]
#define hm_is_init_cycle(cycle)  (cycle->conf_ctx == NULL)


hm_cycle_t *hm_init_cycle(hm_cycle_t *old_cycle);
hm_int_t hm_create_pidfile(hm_str_t *name, hm_log_t *log);
void hm_delete_pidfile(hm_cycle_t *cycle);
hm_int_t hm_signal_process(hm_cycle_t *cycle, char *sig);
void hm_reopen_files(hm_cycle_t *cycle, hm_uid_t user);
hm_int_t hm_cpuinfo(void);


extern volatile hm_cycle_t  *hm_cycle;
extern hm_uint_t             hm_test_config;
extern hm_uint_t             hm_dump_config;
extern hm_uint_t             hm_quiet_mode;
extern hm_module_t           hm_core_module;


#endif /* _HM_CYCLE_H_INCLUDED_ */

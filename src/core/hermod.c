/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>
#include <hermod.h>


static void hm_show_version_info(void);
static hm_int_t hm_get_options(int argc, char *const *argv);
static hm_int_t hm_process_options(hm_cycle_t *cycle);
static hm_int_t hm_save_argv(hm_cycle_t *cycle, int argc, char *const *argv);
static void hm_dump_configuration(hm_cycle_t *cycle);


static hm_uint_t   hm_show_help;
static hm_uint_t   hm_show_version;
static hm_uint_t   hm_show_configure;
static u_char     *hm_prefix;
static u_char     *hm_conf_file;
static u_char     *hm_conf_params;
static char       *hm_signal;


int
main(int argc, char *const *argv)
{
    int               rc;
    hm_uint_t         i;
    hm_log_t         *log;
    hm_cycle_t       *cycle, init_cycle;
    hm_core_conf_t   *ccf;

    if (hm_get_options(argc, argv) != HM_OK) {
        return 1;
    }

    if (hm_show_version) {
        hm_show_version_info();

        if (!hm_test_config) {
            return 0;
        }
    }

    hm_time_init();

    hm_pid = hm_getpid();
    hm_parent = hm_getppid();

    log = hm_log_init(hm_prefix, NULL);
    if (log == NULL) {
        return 1;
    }

    hm_memzero(&init_cycle, sizeof(hm_cycle_t));
    init_cycle.log = log;
    hm_cycle = &init_cycle;

    init_cycle.pool = hm_create_pool(1024, log);
    if (init_cycle.pool == NULL) {
        return 1;
    }

    if (hm_save_argv(&init_cycle, argc, argv) != HM_OK) {
        return 1;
    }

    if (hm_process_options(&init_cycle) != HM_OK) {
        return 1;
    }

    if (hm_os_init(log) != HM_OK) {
        return 1;
    }

    if (hm_preinit_modules() != HM_OK) {
        return 1;
    }

    cycle = hm_init_cycle(&init_cycle);
    if (cycle == NULL) {
        if (hm_test_config) {
            hm_log_stderr(0, "configuration file %s test failed",
                          init_cycle.conf_file.data);
        }

        hm_destroy_pool(init_cycle.pool);

        return 1;
    }

    if (hm_test_config || hm_signal) {
        rc = 0;

        if (hm_test_config) {
            if (!hm_quiet_mode) {
                hm_log_stderr(0, "configuration file %s test is successful",
                              cycle->conf_file.data);
            }

            if (hm_dump_config) {
                hm_dump_configuration(cycle);
            }

        } else {
            rc = hm_signal_process(cycle, hm_signal);
        }

        /* what a short-lived run allocated goes back before exit */

        hm_close_listening_sockets(cycle);
        hm_destroy_pool(cycle->pool);
        hm_destroy_pool(init_cycle.pool);

        return rc;
    }

    hm_os_status(cycle->log);

    hm_cycle = cycle;

    ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx, hm_core_module);

    if (ccf->master && hm_process == HM_PROCESS_SINGLE) {
        hm_process = HM_PROCESS_MASTER;
    }

    if (hm_init_signals(cycle->log) != HM_OK) {
        return 1;
    }

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->init_master
            && cycle->modules[i]->init_master(cycle->log) != HM_OK)
        {
            return 1;
        }
    }

    if (!hm_inherited && ccf->daemon) {
        if (hm_daemon(cycle->log) != HM_OK) {
            return 1;
        }

        hm_daemonized = 1;
    }

    if (hm_create_pidfile(&ccf->pid, cycle->log) != HM_OK) {
        return 1;
    }

    if (hm_log_redirect_stderr(cycle) != HM_OK) {
        return 1;
    }

    if (log->file->fd != hm_stderr) {
        if (hm_close_file(log->file->fd) == HM_FILE_ERROR) {
            hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                         hm_close_file_n " built-in log failed");
        }
    }

    if (hm_process == HM_PROCESS_SINGLE) {
        hm_single_process_cycle(cycle);

    } else {
        hm_master_process_cycle(cycle);
    }

    return 0;
}


static void
hm_show_version_info(void)
{
    hm_uint_t  i;

    hm_write_stderr("hermod version: " HERMOD_VER HM_LINEFEED);

    if (hm_show_help) {
        hm_write_stderr(
            "Usage: hermod [-?hvVtTq] [-s signal] [-p prefix]" HM_LINEFEED
            "             [-c filename] [-g directives]" HM_LINEFEED
                          HM_LINEFEED
            "Options:" HM_LINEFEED
            "  -?,-h         : this help" HM_LINEFEED
            "  -v            : show version and exit" HM_LINEFEED
            "  -V            : show version, build options and modules, "
                               "then exit" HM_LINEFEED
            "  -t            : test configuration and exit" HM_LINEFEED
            "  -T            : test configuration, dump it and exit"
                               HM_LINEFEED
            "  -q            : suppress non-error messages "
                               "during configuration testing" HM_LINEFEED
            "  -s signal     : send signal to a master process: "
                               "stop, quit, reopen, reload" HM_LINEFEED
            "  -p prefix     : set prefix path (default: " HM_PREFIX ")"
                               HM_LINEFEED
            "  -c filename   : set configuration file (default: "
                               HM_CONF_PATH ")" HM_LINEFEED
            "  -g directives : set global directives out of configuration "
                               "file" HM_LINEFEED HM_LINEFEED
        );
    }

    if (hm_show_configure) {

        hm_write_stderr("built by " HM_COMPILER HM_LINEFEED);
        hm_write_stderr("module ABI version: ");
        hm_write_stderr_uint(HM_MODULE_ABI_VERSION);
        hm_write_stderr(", signature: " HM_MODULE_SIGNATURE HM_LINEFEED);
        hm_write_stderr("configure arguments:" HM_CONFIGURE HM_LINEFEED);
        hm_write_stderr("compiled-in modules:");

        for (i = 0; hm_module_names[i]; i++) {
            hm_write_stderr(" ");
            hm_write_stderr(hm_module_names[i]);
        }

        hm_write_stderr(HM_LINEFEED);
    }
}


static hm_int_t
hm_get_options(int argc, char *const *argv)
{
    u_char     *p;
    hm_int_t    i;

    for (i = 1; i < argc; i++) {

        p = (u_char *) argv[i];

        if (*p++ != '-') {
            hm_log_stderr(0, "invalid option: \"%s\"", argv[i]);
            return HM_ERROR;
        }

        while (*p) {

            switch (*p++) {

            case '?':
            case 'h':
                hm_show_version = 1;
                hm_show_help = 1;
                break;

            case 'v':
                hm_show_version = 1;
                break;

            case 'V':
                hm_show_version = 1;
                hm_show_configure = 1;
                break;

            case 't':
                hm_test_config = 1;
                break;

            case 'T':
                hm_test_config = 1;
                hm_dump_config = 1;
                break;

            case 'q':
                hm_quiet_mode = 1;
                break;

            case 'p':
                if (*p) {
                    hm_prefix = p;
                    goto next;
                }

                if (argv[++i]) {
                    hm_prefix = (u_char *) argv[i];
                    goto next;
                }

                hm_log_stderr(0, "option \"-p\" requires directory name");
                return HM_ERROR;

            case 'c':
                if (*p) {
                    hm_conf_file = p;
                    goto next;
                }

                if (argv[++i]) {
                    hm_conf_file = (u_char *) argv[i];
                    goto next;
                }

                hm_log_stderr(0, "option \"-c\" requires file name");
                return HM_ERROR;

            case 'g':
                if (*p) {
                    hm_conf_params = p;
                    goto next;
                }

                if (argv[++i]) {
                    hm_conf_params = (u_char *) argv[i];
                    goto next;
                }

                hm_log_stderr(0, "option \"-g\" requires parameter");
                return HM_ERROR;

            case 's':
                if (*p) {
                    hm_signal = (char *) p;

                } else if (argv[++i]) {
                    hm_signal = argv[i];

                } else {
                    hm_log_stderr(0, "option \"-s\" requires parameter");
                    return HM_ERROR;
                }

                if (hm_strcmp(hm_signal, "stop") == 0
                    || hm_strcmp(hm_signal, "quit") == 0
                    || hm_strcmp(hm_signal, "reopen") == 0
                    || hm_strcmp(hm_signal, "reload") == 0)
                {
                    hm_process = HM_PROCESS_SIGNALLER;
                    goto next;
                }

                hm_log_stderr(0, "invalid option: \"-s %s\"", hm_signal);
                return HM_ERROR;

            default:
                hm_log_stderr(0, "invalid option: \"-%c\"", *(p - 1));
                return HM_ERROR;
            }
        }

    next:

        continue;
    }

    return HM_OK;
}


static hm_int_t
hm_save_argv(hm_cycle_t *cycle, int argc, char *const *argv)
{
    hm_os_argv = (char **) argv;
    hm_argc = argc;
    hm_argv = (char **) argv;

    return HM_OK;
}


static hm_int_t
hm_process_options(hm_cycle_t *cycle)
{
    u_char   *p;
    size_t    len;
    char      cwd[PATH_MAX];

    if (hm_prefix) {
        len = hm_strlen(hm_prefix);
        p = hm_prefix;

        if (len && !hm_path_separator(p[len - 1])) {
            p = hm_pnalloc(cycle->pool, len + 1);
            if (p == NULL) {
                return HM_ERROR;
            }

            hm_memcpy(p, hm_prefix, len);
            p[len++] = '/';
        }

        if (p[0] != '/') {

            /* a relative prefix is taken from the current directory */

            if (getcwd(cwd, PATH_MAX) == NULL) {
                hm_log_stderr(hm_errno, "getcwd() failed");
                return HM_ERROR;
            }

            u_char *q = hm_pnalloc(cycle->pool, hm_strlen(cwd) + 1 + len);
            if (q == NULL) {
                return HM_ERROR;
            }

            cycle->prefix.data = q;
            q = hm_cpymem(q, cwd, hm_strlen(cwd));
            *q++ = '/';
            q = hm_cpymem(q, p, len);
            cycle->prefix.len = q - cycle->prefix.data;

        } else {
            cycle->prefix.len = len;
            cycle->prefix.data = p;
        }

    } else {
        hm_str_set(&cycle->prefix, HM_PREFIX "/");
    }

    cycle->conf_prefix = cycle->prefix;

    if (hm_conf_file) {
        cycle->conf_file.len = hm_strlen(hm_conf_file);
        cycle->conf_file.data = hm_conf_file;

    } else {
        hm_str_set(&cycle->conf_file, HM_CONF_PATH);
    }

    if (cycle->conf_file.data[0] != '/' && hm_conf_file == NULL) {

        /* the default configuration file is relative to the prefix */

        if (hm_get_full_name(cycle->pool, &cycle->prefix, &cycle->conf_file)
            != HM_OK)
        {
            return HM_ERROR;
        }

    } else if (cycle->conf_file.data[0] != '/') {

        /* "-c" is relative to the current directory */

        if (getcwd(cwd, PATH_MAX) == NULL) {
            hm_log_stderr(hm_errno, "getcwd() failed");
            return HM_ERROR;
        }

        len = hm_strlen(cwd);
        p = hm_pnalloc(cycle->pool, len + 1 + cycle->conf_file.len + 1);
        if (p == NULL) {
            return HM_ERROR;
        }

        hm_memcpy(p, cwd, len);
        p[len] = '/';
        hm_memcpy(p + len + 1, cycle->conf_file.data, cycle->conf_file.len);
        cycle->conf_file.len += len + 1;
        p[cycle->conf_file.len] = '\0';
        cycle->conf_file.data = p;
    }

    /* the conf prefix is the directory of the main configuration file */

    for (p = cycle->conf_file.data + cycle->conf_file.len - 1;
         p > cycle->conf_file.data;
         p--)
    {
        if (hm_path_separator(*p)) {
            cycle->conf_prefix.len = p - cycle->conf_file.data + 1;
            cycle->conf_prefix.data = cycle->conf_file.data;
            break;
        }
    }

    if (hm_conf_params) {
        cycle->conf_param.len = hm_strlen(hm_conf_params);
        cycle->conf_param.data = hm_conf_params;
    }

    if (hm_test_config) {
        cycle->log->log_level = HM_LOG_INFO;
    }

    return HM_OK;
}


static void
hm_dump_configuration(hm_cycle_t *cycle)
{
    hm_uint_t        i;
    hm_conf_dump_t  *cd;

    cd = cycle->config_dump.elts;

    for (i = 0; i < cycle->config_dump.nelts; i++) {

        hm_write_stdout("# configuration file ");
        (void) hm_write_fd(hm_stdout, cd[i].name.data, cd[i].name.len);
        hm_write_stdout(":" HM_LINEFEED);

        if (cd[i].len) {
            (void) hm_write_fd(hm_stdout, cd[i].data, cd[i].len);

            if (cd[i].data[cd[i].len - 1] != LF) {
                hm_write_stdout(HM_LINEFEED);
            }
        }

        hm_write_stdout(HM_LINEFEED);
    }
}

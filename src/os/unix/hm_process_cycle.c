/*
 * Copyright (C) hermod authors
 *
 * The master loop (signals, workers, reload) and the worker loop.
 */

#include <hm_config.h>
#include <hm_core.h>


static void hm_start_worker_processes(hm_cycle_t *cycle, hm_int_t n,
    hm_int_t type);
static void hm_signal_worker_processes(hm_cycle_t *cycle, int signo);
static void hm_process_get_status(hm_cycle_t *cycle);
static hm_uint_t hm_reap_children(hm_cycle_t *cycle);
static void hm_master_process_exit(hm_cycle_t *cycle);
static void hm_worker_process_cycle(hm_cycle_t *cycle, void *data);
static void hm_worker_process_init(hm_cycle_t *cycle, hm_int_t worker);
static void hm_worker_process_exit(hm_cycle_t *cycle);
static void hm_channel_handler(hm_event_t *ev);
static void hm_shutdown_timer_handler(hm_event_t *ev);
static hm_uint_t hm_worker_busy(hm_cycle_t *cycle);
static hm_int_t hm_init_process_modules(hm_cycle_t *cycle);


hm_uint_t    hm_process;
hm_uint_t    hm_worker;
hm_pid_t     hm_pid;
hm_pid_t     hm_parent;

sig_atomic_t  hm_reap;
sig_atomic_t  hm_sigio;
sig_atomic_t  hm_sigalrm;
sig_atomic_t  hm_terminate;
sig_atomic_t  hm_quit;
sig_atomic_t  hm_debug_quit;
hm_uint_t     hm_exiting;
sig_atomic_t  hm_reconfigure;
sig_atomic_t  hm_reopen;

sig_atomic_t  hm_change_binary;
hm_pid_t      hm_new_binary;
hm_uint_t     hm_inherited;
hm_uint_t     hm_daemonized;

sig_atomic_t  hm_noaccept;

static hm_event_t  hm_shutdown_event;
static hm_connection_t  hm_shutdown_dummy;


void
hm_master_process_cycle(hm_cycle_t *cycle)
{
    int                    sigio;
    sigset_t               set;
    hm_uint_t              live, delay;
    hm_cycle_t            *new_cycle;
    hm_core_conf_t        *ccf;
    struct itimerval       itv;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGQUIT);

    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
        hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                     "sigprocmask() failed");
    }

    sigemptyset(&set);

    hm_setproctitle("master process");

    ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx, hm_core_module);

    /* the startup is over: errors go to the error log only */

    hm_use_stderr = 0;

    hm_start_worker_processes(cycle, ccf->worker_processes,
                              HM_PROCESS_RESPAWN);

    delay = 0;
    sigio = 0;
    live = 1;

    for ( ;; ) {
        if (delay) {
            if (hm_sigalrm) {
                sigio = 0;
                delay *= 2;
                hm_sigalrm = 0;
            }

            itv.it_interval.tv_sec = 0;
            itv.it_interval.tv_usec = 0;
            itv.it_value.tv_sec = delay / 1000;
            itv.it_value.tv_usec = (delay % 1000 ) * 1000;

            if (setitimer(ITIMER_REAL, &itv, NULL) == -1) {
                hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                             "setitimer() failed");
            }
        }

        sigsuspend(&set);

        hm_time_update();

        if (hm_reap) {
            hm_reap = 0;
            hm_process_get_status(cycle);

            live = hm_reap_children(cycle);
        }

        if (!live && (hm_terminate || hm_quit)) {
            hm_master_process_exit(cycle);
        }

        if (hm_terminate) {
            if (delay == 0) {
                delay = 50;
            }

            if (sigio) {
                sigio--;
                continue;
            }

            sigio = ccf->worker_processes + 2 /* cache processes */;

            if (delay > 1000) {
                hm_signal_worker_processes(cycle, SIGKILL);
            } else {
                hm_signal_worker_processes(cycle, SIGTERM);
            }

            continue;
        }

        if (hm_quit) {
            hm_signal_worker_processes(cycle, SIGQUIT);
            hm_close_listening_sockets(cycle);

            continue;
        }

        if (hm_reconfigure) {
            hm_reconfigure = 0;

            hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "reconfiguring");

            new_cycle = hm_init_cycle(cycle);
            if (new_cycle == NULL) {
                hm_log_error(HM_LOG_ERR, cycle->log, 0,
                             "reload failed: the new configuration is "
                             "not applied, the old one keeps serving");
                cycle = (hm_cycle_t *) hm_cycle;
                continue;
            }

            cycle = new_cycle;
            hm_cycle = cycle;
            ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx,
                                                   hm_core_module);
            hm_start_worker_processes(cycle, ccf->worker_processes,
                                      HM_PROCESS_JUST_RESPAWN);

            live = 1;
            hm_signal_worker_processes(cycle, SIGQUIT);
        }

        if (hm_reopen) {
            hm_reopen = 0;
            hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "reopening logs");
            hm_reopen_files(cycle, ccf->user);
            hm_signal_worker_processes(cycle, SIGUSR1);
        }
    }
}


void
hm_single_process_cycle(hm_cycle_t *cycle)
{
    hm_cycle_t  *new_cycle;

    if (hm_init_process_modules(cycle) != HM_OK) {
        /* fatal */
        exit(2);
    }

    hm_use_stderr = 0;

    for ( ;; ) {

        hm_process_events_and_timers(cycle);

        if (hm_terminate || hm_quit) {
            hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "exiting");
            hm_worker_process_exit(cycle);
        }

        if (hm_reconfigure) {
            hm_reconfigure = 0;
            hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "reconfiguring");

            new_cycle = hm_init_cycle(cycle);
            if (new_cycle == NULL) {
                cycle = (hm_cycle_t *) hm_cycle;
                continue;
            }

            cycle = new_cycle;
            hm_cycle = cycle;

            if (hm_init_process_modules(cycle) != HM_OK) {
                exit(2);
            }
        }

        if (hm_reopen) {
            hm_reopen = 0;
            hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "reopening logs");
            hm_reopen_files(cycle, (hm_uid_t) -1);
        }
    }
}


static hm_int_t
hm_init_process_modules(hm_cycle_t *cycle)
{
    hm_uint_t  i;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->init_process) {
            if (cycle->modules[i]->init_process(cycle) == HM_ERROR) {
                return HM_ERROR;
            }
        }
    }

    return HM_OK;
}


static void
hm_start_worker_processes(hm_cycle_t *cycle, hm_int_t n, hm_int_t type)
{
    hm_int_t  i;

    for (i = 0; i < n; i++) {

        hm_spawn_process(cycle, hm_worker_process_cycle,
                         (void *) (intptr_t) i, "worker process", type);
    }
}


static void
hm_signal_worker_processes(hm_cycle_t *cycle, int signo)
{
    hm_int_t      i;
    hm_err_t      err;
    hm_channel_t  ch;

    hm_memzero(&ch, sizeof(hm_channel_t));

    switch (signo) {

    case SIGQUIT:
        ch.command = HM_CMD_QUIT;
        break;

    case SIGTERM:
        ch.command = HM_CMD_TERMINATE;
        break;

    case SIGUSR1:
        ch.command = HM_CMD_REOPEN;
        break;

    default:
        ch.command = 0;
    }

    ch.fd = -1;


    for (i = 0; i < hm_last_process; i++) {

        if (hm_processes[i].detached || hm_processes[i].pid == -1) {
            continue;
        }

        if (hm_processes[i].just_spawn) {
            hm_processes[i].just_spawn = 0;
            continue;
        }

        if (hm_processes[i].exiting
            && signo == SIGQUIT)
        {
            continue;
        }

        if (ch.command) {
            if (hm_write_channel(hm_processes[i].channel[0],
                                 &ch, sizeof(hm_channel_t), cycle->log)
                == HM_OK)
            {
                if (signo != SIGUSR1) {
                    hm_processes[i].exiting = 1;
                }

                continue;
            }
        }

        if (kill(hm_processes[i].pid, signo) == -1) {
            err = hm_errno;
            hm_log_error(HM_LOG_ALERT, cycle->log, err,
                         "kill(%P, %d) failed", hm_processes[i].pid, signo);

            if (err == HM_ESRCH) {
                hm_processes[i].exited = 1;
                hm_processes[i].exiting = 0;
                hm_reap = 1;
            }

            continue;
        }

        if (signo != SIGUSR1) {
            hm_processes[i].exiting = 1;
        }
    }
}


static void
hm_process_get_status(hm_cycle_t *cycle)
{
    int              status;
    char            *process;
    hm_pid_t         pid;
    hm_err_t         err;
    hm_int_t         i;
    hm_uint_t        one;

    one = 0;

    for ( ;; ) {
        pid = waitpid(-1, &status, WNOHANG);

        if (pid == 0) {
            return;
        }

        if (pid == -1) {
            err = hm_errno;

            if (err == HM_EINTR) {
                continue;
            }

            if (err == HM_ECHILD && one) {
                return;
            }

            if (err == HM_ECHILD) {
                hm_log_error(HM_LOG_INFO, cycle->log, err,
                             "waitpid() failed");
                return;
            }

            hm_log_error(HM_LOG_ALERT, cycle->log, err, "waitpid() failed");
            return;
        }

        one = 1;
        process = "unknown process";

        for (i = 0; i < hm_last_process; i++) {
            if (hm_processes[i].pid == pid) {
                hm_processes[i].status = status;
                hm_processes[i].exited = 1;
                process = hm_processes[i].name;
                break;
            }
        }

        if (WTERMSIG(status)) {
            hm_log_error(HM_LOG_ALERT, cycle->log, 0,
                         "%s %P exited on signal %d%s",
                         process, pid, WTERMSIG(status),
                         WCOREDUMP(status) ? " (core dumped)" : "");

        } else {
            hm_log_error(HM_LOG_NOTICE, cycle->log, 0,
                         "%s %P exited with code %d",
                         process, pid, WEXITSTATUS(status));
        }

        if (WEXITSTATUS(status) == 2 && i < hm_last_process
            && hm_processes[i].respawn)
        {
            hm_log_error(HM_LOG_ALERT, cycle->log, 0,
                         "%s %P exited with fatal code %d "
                         "and cannot be respawned",
                         process, pid, WEXITSTATUS(status));
            hm_processes[i].respawn = 0;
        }
    }
}


static hm_uint_t
hm_reap_children(hm_cycle_t *cycle)
{
    hm_int_t   i;
    hm_uint_t  live;

    live = 0;

    for (i = 0; i < hm_last_process; i++) {

        if (hm_processes[i].pid == -1) {
            continue;
        }

        if (hm_processes[i].exited) {

            if (!hm_processes[i].detached) {
                hm_close_channel(hm_processes[i].channel, cycle->log);

                hm_processes[i].channel[0] = -1;
                hm_processes[i].channel[1] = -1;
            }

            if (hm_processes[i].respawn
                && !hm_processes[i].exiting
                && !hm_terminate
                && !hm_quit)
            {
                if (hm_spawn_process(cycle, hm_processes[i].proc,
                                     hm_processes[i].data,
                                     hm_processes[i].name, i)
                    == HM_INVALID_PID)
                {
                    hm_log_error(HM_LOG_ALERT, cycle->log, 0,
                                 "could not respawn %s",
                                 hm_processes[i].name);
                    continue;
                }

                live = 1;

                continue;
            }

            if (i == hm_last_process - 1) {
                hm_last_process--;

            } else {
                hm_processes[i].pid = -1;
            }

        } else if (hm_processes[i].exiting || !hm_processes[i].detached) {
            live = 1;
        }
    }

    return live;
}


static void
hm_master_process_exit(hm_cycle_t *cycle)
{
    hm_uint_t  i;

    hm_delete_pidfile(cycle);

    hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "exit");

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->exit_master) {
            cycle->modules[i]->exit_master(cycle);
        }
    }

    hm_close_listening_sockets(cycle);

    hm_destroy_pool(cycle->pool);

    exit(0);
}


static void
hm_worker_process_cycle(hm_cycle_t *cycle, void *data)
{
    hm_int_t  worker = (intptr_t) data;

    hm_process = HM_PROCESS_WORKER;
    hm_worker = worker;

    hm_worker_process_init(cycle, worker);

    hm_setproctitle("worker process");

    for ( ;; ) {

        if (hm_exiting) {
            if (!hm_worker_busy(cycle)) {
                hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "exiting");
                hm_worker_process_exit(cycle);
            }
        }

        hm_process_events_and_timers(cycle);

        if (hm_terminate) {
            hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "exiting");
            hm_worker_process_exit(cycle);
        }

        if (hm_quit) {
            hm_quit = 0;

            if (!hm_exiting) {
                hm_core_conf_t  *ccf;

                hm_log_error(HM_LOG_NOTICE, cycle->log, 0,
                             "gracefully shutting down");
                hm_setproctitle("worker process is shutting down");

                hm_exiting = 1;

                ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx,
                                                       hm_core_module);

                if (ccf->shutdown_timeout) {
                    hm_shutdown_dummy.fd = -1;
                    hm_shutdown_event.data = &hm_shutdown_dummy;
                    hm_shutdown_event.handler = hm_shutdown_timer_handler;
                    hm_shutdown_event.log = cycle->log;
                    hm_shutdown_event.cancelable = 1;

                    hm_event_add_timer(&hm_shutdown_event,
                                       ccf->shutdown_timeout);
                }

                hm_close_listening_sockets(cycle);
                hm_close_idle_connections(cycle);
            }
        }

        if (hm_reopen) {
            hm_reopen = 0;
            hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "reopening logs");
            hm_reopen_files(cycle, (hm_uid_t) -1);
        }
    }
}


/* anything left besides the channel to the master: connections, timers */

static hm_uint_t
hm_worker_busy(hm_cycle_t *cycle)
{
    hm_uint_t  used;

    used = cycle->connection_n - cycle->free_connection_n;

    if (hm_channel != -1 && used) {
        used--;
    }

    return used > 0 || hm_event_no_timers_left() != HM_OK;
}


static void
hm_worker_process_init(hm_cycle_t *cycle, hm_int_t worker)
{
    sigset_t          set;
    hm_int_t          n;
    hm_uint_t         i;
    hm_core_conf_t   *ccf;
    struct rlimit     rlmt;

    ccf = (hm_core_conf_t *) hm_get_conf(cycle->conf_ctx, hm_core_module);

    if (ccf->rlimit_nofile != HM_CONF_UNSET) {
        rlmt.rlim_cur = (rlim_t) ccf->rlimit_nofile;
        rlmt.rlim_max = (rlim_t) ccf->rlimit_nofile;

        if (setrlimit(RLIMIT_NOFILE, &rlmt) == -1) {
            hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                         "setrlimit(RLIMIT_NOFILE, %i) failed",
                         ccf->rlimit_nofile);
        }
    }

    if (geteuid() == 0 && ccf->username) {
        if (setgid(ccf->group) == -1) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_errno,
                         "setgid(%d) failed", ccf->group);
            /* fatal */
            exit(2);
        }

        if (initgroups(ccf->username, ccf->group) == -1) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_errno,
                         "initgroups(%s, %d) failed",
                         ccf->username, ccf->group);
        }

        if (setuid(ccf->user) == -1) {
            hm_log_error(HM_LOG_EMERG, cycle->log, hm_errno,
                         "setuid(%d) failed", ccf->user);
            /* fatal */
            exit(2);
        }

        /* allow coredumps after setuid() */

        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1) {
            hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                         "prctl(PR_SET_DUMPABLE) failed");
        }
    }

    sigemptyset(&set);

    if (sigprocmask(SIG_SETMASK, &set, NULL) == -1) {
        hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                     "sigprocmask() failed");
    }

    /* the worker reports to nobody else: close other workers' channels */

    for (n = 0; n < hm_last_process; n++) {

        if (hm_processes[n].pid == -1) {
            continue;
        }

        if (n == hm_process_slot) {
            continue;
        }

        if (hm_processes[n].channel[1] == -1) {
            continue;
        }

        if (close(hm_processes[n].channel[1]) == -1) {
            hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                         "close() channel failed");
        }
    }

    if (close(hm_processes[hm_process_slot].channel[0]) == -1) {
        hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                     "close() channel failed");
    }

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->init_process) {
            if (cycle->modules[i]->init_process(cycle) == HM_ERROR) {
                /* fatal */
                exit(2);
            }
        }
    }

    if (hm_add_channel_event(cycle, hm_channel, HM_READ_EVENT,
                             hm_channel_handler)
        == HM_ERROR)
    {
        /* fatal */
        exit(2);
    }
}


static void
hm_worker_process_exit(hm_cycle_t *cycle)
{
    hm_uint_t  i;

    for (i = 0; cycle->modules[i]; i++) {
        if (cycle->modules[i]->exit_process) {
            cycle->modules[i]->exit_process(cycle);
        }
    }

    hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "exit");

    exit(0);
}


/*
 * worker_shutdown_timeout expired: close what is still open, the owners'
 * handlers see c->close and finish their work.
 */

static void
hm_shutdown_timer_handler(hm_event_t *ev)
{
    hm_uint_t         i;
    hm_cycle_t       *cycle;
    hm_connection_t  *c;

    cycle = (hm_cycle_t *) hm_cycle;

    hm_log_error(HM_LOG_WARN, cycle->log, 0,
                 "worker_shutdown_timeout expired: closing connections");

    c = cycle->connections;

    for (i = 0; i < cycle->connection_n; i++) {

        if (c[i].fd == (hm_socket_t) -1
            || c[i].read == NULL
            || c[i].read->accept
            || c[i].read->channel_event)
        {
            continue;
        }

        c[i].close = 1;
        c[i].error = 1;

        c[i].read->handler(c[i].read);
    }
}


static void
hm_channel_handler(hm_event_t *ev)
{
    hm_int_t          n;
    hm_channel_t      ch;
    hm_connection_t  *c;

    if (ev->timedout) {
        ev->timedout = 0;
        return;
    }

    c = ev->data;

    for ( ;; ) {

        n = hm_read_channel(c->fd, &ch, sizeof(hm_channel_t), ev->log);

        if (n == HM_ERROR) {

            /* the master is gone: do not outlive it */

            hm_del_conn(c, 0);
            hm_close_connection(c);
            hm_channel = -1;
            hm_quit = 1;

            return;
        }

        if (n == HM_AGAIN) {
            return;
        }

        switch (ch.command) {

        case HM_CMD_QUIT:
            hm_quit = 1;
            break;

        case HM_CMD_TERMINATE:
            hm_terminate = 1;
            break;

        case HM_CMD_REOPEN:
            hm_reopen = 1;
            break;
        }
    }
}

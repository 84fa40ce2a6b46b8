/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


typedef struct {
    int     signo;
    char   *signame;
    char   *name;
    void  (*handler)(int signo, siginfo_t *siginfo, void *ucontext);
} hm_signal_t;


static void hm_signal_handler(int signo, siginfo_t *siginfo, void *ucontext);


int              hm_argc;
char           **hm_argv;
char           **hm_os_argv;

hm_int_t         hm_process_slot;
hm_socket_t      hm_channel;
hm_int_t         hm_last_process;
hm_process_t     hm_processes[HM_MAX_PROCESSES];


static hm_signal_t  signals[] = {
    { SIGHUP, "SIGHUP", "reload", hm_signal_handler },
    { SIGUSR1, "SIGUSR1", "reopen", hm_signal_handler },
    { SIGTERM, "SIGTERM", "stop", hm_signal_handler },
    { SIGQUIT, "SIGQUIT", "quit", hm_signal_handler },
    { SIGALRM, "SIGALRM", "", hm_signal_handler },
    { SIGINT, "SIGINT", "", hm_signal_handler },
    { SIGIO, "SIGIO", "", hm_signal_handler },
    { SIGCHLD, "SIGCHLD", "", hm_signal_handler },
    { SIGSYS, "SIGSYS, SIG_IGN", "", NULL },
    { SIGPIPE, "SIGPIPE, SIG_IGN", "", NULL },
    { 0, NULL, "", NULL }
};


hm_pid_t
hm_spawn_process(hm_cycle_t *cycle, hm_spawn_proc_pt proc, void *data,
    char *name, hm_int_t respawn)
{
    hm_pid_t  pid;
    hm_int_t  s;

    if (respawn >= 0) {
        s = respawn;

    } else {
        for (s = 0; s < hm_last_process; s++) {
            if (hm_processes[s].pid == -1) {
                break;
            }
        }

        if (s == HM_MAX_PROCESSES) {
            hm_log_error(HM_LOG_ALERT, cycle->log, 0,
                         "no more than %d processes can be spawned",
                         HM_MAX_PROCESSES);
            return HM_INVALID_PID;
        }
    }

    if (respawn != HM_PROCESS_DETACHED) {

        /* Solaris 9 still has no AF_LOCAL */

        if (socketpair(AF_UNIX, SOCK_STREAM, 0, hm_processes[s].channel) == -1)
        {
            hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                         "socketpair() failed while spawning \"%s\"", name);
            return HM_INVALID_PID;
        }

        if (hm_nonblocking(hm_processes[s].channel[0]) == -1
            || hm_nonblocking(hm_processes[s].channel[1]) == -1)
        {
            hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                         hm_nonblocking_n " failed while spawning \"%s\"",
                         name);
            hm_close_channel(hm_processes[s].channel, cycle->log);
            return HM_INVALID_PID;
        }

        if (fcntl(hm_processes[s].channel[0], F_SETFD, FD_CLOEXEC) == -1
            || fcntl(hm_processes[s].channel[1], F_SETFD, FD_CLOEXEC) == -1)
        {
            hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                         "fcntl(FD_CLOEXEC) failed while spawning \"%s\"",
                         name);
            hm_close_channel(hm_processes[s].channel, cycle->log);
            return HM_INVALID_PID;
        }

        hm_channel = hm_processes[s].channel[1];

    } else {
        hm_processes[s].channel[0] = -1;
        hm_processes[s].channel[1] = -1;
    }

    hm_process_slot = s;


    pid = fork();

    switch (pid) {

    case -1:
        hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                     "fork() failed while spawning \"%s\"", name);
        hm_close_channel(hm_processes[s].channel, cycle->log);
        return HM_INVALID_PID;

    case 0:
        hm_parent = hm_pid;
        hm_pid = hm_getpid();
        proc(cycle, data);
        break;

    default:
        break;
    }

    hm_log_error(HM_LOG_NOTICE, cycle->log, 0, "start %s %P", name, pid);

    hm_processes[s].pid = pid;
    hm_processes[s].exited = 0;

    if (respawn >= 0) {
        return pid;
    }

    hm_processes[s].proc = proc;
    hm_processes[s].data = data;
    hm_processes[s].name = name;
    hm_processes[s].exiting = 0;
    hm_processes[s].generation = cycle->generation;

    switch (respawn) {

    case HM_PROCESS_NORESPAWN:
        hm_processes[s].respawn = 0;
        hm_processes[s].just_spawn = 0;
        hm_processes[s].detached = 0;
        break;

    case HM_PROCESS_JUST_SPAWN:
        hm_processes[s].respawn = 0;
        hm_processes[s].just_spawn = 1;
        hm_processes[s].detached = 0;
        break;

    case HM_PROCESS_RESPAWN:
        hm_processes[s].respawn = 1;
        hm_processes[s].just_spawn = 0;
        hm_processes[s].detached = 0;
        break;

    case HM_PROCESS_JUST_RESPAWN:
        hm_processes[s].respawn = 1;
        hm_processes[s].just_spawn = 1;
        hm_processes[s].detached = 0;
        break;

    case HM_PROCESS_DETACHED:
        hm_processes[s].respawn = 0;
        hm_processes[s].just_spawn = 0;
        hm_processes[s].detached = 1;
        break;
    }

    if (s == hm_last_process) {
        hm_last_process++;
    }

    return pid;
}


hm_int_t
hm_init_signals(hm_log_t *log)
{
    hm_signal_t       *sig;
    struct sigaction   sa;

    for (sig = signals; sig->signo != 0; sig++) {
        hm_memzero(&sa, sizeof(struct sigaction));

        if (sig->handler) {
            sa.sa_sigaction = sig->handler;
            sa.sa_flags = SA_SIGINFO;

        } else {
            sa.sa_handler = SIG_IGN;
        }

        sigemptyset(&sa.sa_mask);
        if (sigaction(sig->signo, &sa, NULL) == -1) {
            hm_log_error(HM_LOG_EMERG, log, hm_errno,
                         "sigaction(%s) failed", sig->signame);
            return HM_ERROR;
        }
    }

    return HM_OK;
}


/* signal handlers only set flags; the loops act on them */

static void
hm_signal_handler(int signo, siginfo_t *siginfo, void *ucontext)
{
    hm_err_t  err;

    err = hm_errno;

    switch (signo) {

    case SIGQUIT:
        hm_quit = 1;
        break;

    case SIGTERM:
    case SIGINT:
        hm_terminate = 1;
        break;

    case SIGHUP:
        hm_reconfigure = 1;
        break;

    case SIGUSR1:
        hm_reopen = 1;
        break;

    case SIGALRM:
        hm_sigalrm = 1;
        break;

    case SIGIO:
        hm_sigio = 1;
        break;

    case SIGCHLD:
        hm_reap = 1;
        break;
    }

    hm_set_errno(err);
}


hm_int_t
hm_os_signal_process(hm_cycle_t *cycle, char *name, hm_pid_t pid)
{
    hm_signal_t  *sig;

    for (sig = signals; sig->signo != 0; sig++) {
        if (sig->name[0] != '\0' && hm_strcmp(name, sig->name) == 0) {
            if (kill(pid, sig->signo) != -1) {
                return 0;
            }

            hm_log_error(HM_LOG_ALERT, cycle->log, hm_errno,
                         "kill(%P, %d) failed", pid, sig->signo);
        }
    }

    return 1;
}


void
hm_debug_point(void)
{
    raise(SIGSTOP);
}

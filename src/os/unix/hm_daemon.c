/*
 * Copyright (C) hermod authors
 */

#include <hm_config.h>
#include <hm_core.h>


hm_int_t
hm_daemon(hm_log_t *log)
{
    int  fd;

    switch (fork()) {
    case -1:
        hm_log_error(HM_LOG_EMERG, log, hm_errno, "fork() failed");
        return HM_ERROR;

    case 0:
        break;

    default:
        exit(0);
    }

    hm_parent = hm_pid;
    hm_pid = hm_getpid();

    if (setsid() == -1) {
        hm_log_error(HM_LOG_EMERG, log, hm_errno, "setsid() failed");
        return HM_ERROR;
    }

    umask(0);

    fd = open("/dev/null", O_RDWR);
    if (fd == -1) {
        hm_log_error(HM_LOG_EMERG, log, hm_errno,
                     "open(\"/dev/null\") failed");
        return HM_ERROR;
    }

    if (dup2(fd, STDIN_FILENO) == -1) {
        hm_log_error(HM_LOG_EMERG, log, hm_errno, "dup2(STDIN) failed");
        return HM_ERROR;
    }

    if (dup2(fd, STDOUT_FILENO) == -1) {
        hm_log_error(HM_LOG_EMERG, log, hm_errno, "dup2(STDOUT) failed");
        return HM_ERROR;
    }

    if (fd > STDERR_FILENO) {
        if (close(fd) == -1) {
            hm_log_error(HM_LOG_EMERG, log, hm_errno, "close() failed");
            return HM_ERROR;
        }
    }

    return HM_OK;
}

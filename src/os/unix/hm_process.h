/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_PROCESS_H_INCLUDED_
#define _HM_PROCESS_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


typedef pid_t       hm_pid_t;

#define HM_INVALID_PID  -1

typedef void (*hm_spawn_proc_pt) (hm_cycle_t *cycle, void *data);

typedef struct {
    hm_pid_t            pid;
    int                 status;
    hm_socket_t         channel[2];

    hm_spawn_proc_pt    proc;
    void               *data;
    char               *name;

    hm_uint_t           generation;

    unsigned            respawn:1;
    unsigned            just_spawn:1;
    unsigned            detached:1;
    unsigned            exiting:1;
    unsigned            exited:1;
} hm_process_t;


#define HM_MAX_PROCESSES         1024

#define HM_PROCESS_NORESPAWN     -1
#define HM_PROCESS_JUST_SPAWN    -2
#define HM_PROCESS_RESPAWN       -3
#define HM_PROCESS_JUST_RESPAWN  -4
#define HM_PROCESS_DETACHED      -5


#define hm_getpid   getpid
#define hm_getppid  getppid
#define hm_log_pid  hm_pid


hm_pid_t hm_spawn_process(hm_cycle_t *cycle,
    hm_spawn_proc_pt proc, void *data, char *name, hm_int_t respawn);
hm_int_t hm_init_signals(hm_log_t *log);
void hm_debug_point(void);


#define hm_sched_yield()  sched_yield()


extern int            hm_argc;
extern char         **hm_argv;
extern char         **hm_os_argv;

extern hm_pid_t       hm_pid;
extern hm_pid_t       hm_parent;
extern hm_socket_t    hm_channel;
extern hm_int_t       hm_process_slot;
extern hm_int_t       hm_last_process;
extern hm_process_t   hm_processes[HM_MAX_PROCESSES];


#endif /* _HM_PROCESS_H_INCLUDED_ */

/*
 * Copyright (C) hermod authors
 */

#ifndef _HM_PROCESS_CYCLE_H_INCLUDED_
#define _HM_PROCESS_CYCLE_H_INCLUDED_


#include <hm_config.h>
#include <hm_core.h>


#define HM_PROCESS_SINGLE     0
#define HM_PROCESS_MASTER     1
#define HM_PROCESS_SIGNALLER  2
#define HM_PROCESS_WORKER     3


void hm_master_process_cycle(hm_cycle_t *cycle);
void hm_single_process_cycle(hm_cycle_t *cycle);


extern hm_uint_t      hm_process;
extern hm_uint_t      hm_worker;
extern hm_pid_t       hm_new_binary;
extern hm_uint_t      hm_inherited;
extern hm_uint_t      hm_daemonized;
extern hm_uint_t      hm_exiting;

extern sig_atomic_t   hm_reap;
extern sig_atomic_t   hm_sigio;
extern sig_atomic_t   hm_sigalrm;
extern sig_atomic_t   hm_quit;
extern sig_atomic_t   hm_debug_quit;
extern sig_atomic_t   hm_terminate;
extern sig_atomic_t   hm_noaccept;
extern sig_atomic_t   hm_reconfigure;
extern sig_atomic_t   hm_reopen;
extern sig_atomic_t   hm_change_binary;


#endif /* _HM_PROCESS_CYCLE_H_INCLUDED_ */

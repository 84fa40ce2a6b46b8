/*
 * Copyright (C) hermod authors
 *
 * System headers for Linux.  Only this file and the rest of src/os/unix
 * know which platform they run on.
 */

#ifndef _HM_LINUX_CONFIG_H_INCLUDED_
#define _HM_LINUX_CONFIG_H_INCLUDED_


#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <signal.h>
#include <pwd.h>
#include <grp.h>
#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <fcntl.h>
#include <time.h>
#include <dlfcn.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/epoll.h>


#ifndef HM_HAVE_EPOLL
#define HM_HAVE_EPOLL  1
#endif

#define HM_LISTEN_BACKLOG  511


#endif /* _HM_LINUX_CONFIG_H_INCLUDED_ */

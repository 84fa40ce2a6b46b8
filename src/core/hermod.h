/*
 * Copyright (C) hermod authors
 */

#ifndef _HERMOD_H_INCLUDED_
#define _HERMOD_H_INCLUDED_


#define HERMOD_VERSION_NUMBER  1000
#define HERMOD_VERSION         "0.1.0"
#define HERMOD_VER             "hermod/" HERMOD_VERSION

#define HERMOD_VAR             "HERMOD"


#endif /* _HERMOD_H_INCLUDED_ */

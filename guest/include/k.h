/* k.h: the core kernel services most guest files use, in one include: each comes from its module's own header. */
#ifndef K_H
#define K_H

#include "clock.h"
#include "hypercall.h"
#include "kmalloc.h"
#include "kprintf.h"
#include "krandom.h"
#include "pages.h"
#include "panic.h"
#include "sig.h"
#include "user.h"

#endif

/*
 * error.c - text for error codes.
 *
 * DESIGN: a static table; no allocation, no locale, usable from any thread
 * (not from the signal handler: strerror_r may take locale locks).
 */
#include "core/base/error.h"

#include <string.h>

const char *cg_strerror(int err)
{
    switch (err) {
    case CG_OK: return "success";
    case CG_ENOMEM: return "out of memory";
    case CG_EINVAL: return "invalid value";
    case CG_ERANGE: return "value out of range";
    case CG_EPARSE: return "malformed document";
    case CG_EIO: return "input/output error";
    case CG_ENOTFOUND: return "not found";
    case CG_EFULL: return "buffer full";
    case CG_ENET: return "network error";
    case CG_EHTTP: return "HTTP error status";
    case CG_EAUTH: return "authentication failed";
    case CG_ETHROTTLED: return "throttled";
    case CG_EEXPIRED: return "expired";
    case CG_ESTATE: return "invalid state";
    case CG_ETOOBIG: return "too large";
    default:
        break;
    }
    if (err < 0 && err > -4096) {
        const char *text = strerrordesc_np(-err);
        if (text)
            return text;
    }
    return "unknown error";
}

/*
 * cfi_image.h - every unwind row of a loaded object, compiled from its
 * .eh_frame into a compact table the SIGPROF handler searches, so it can
 * step a frame whose rule the frame-rule table (frame_rules.h) has not
 * learned yet.
 *
 * Without it, such a sample goes to libunwind's walk: 20-35 us on the
 * build machine (a global lock and two sigprocmask calls per new frame,
 * dl_iterate_phdr), against 1-2 us for the rule walk.  An interpreter
 * runs at thousands of distinct PCs, so for the first seconds of a Python
 * program one sample in ten took that path (docs/python.md, "Cost").
 * Running an FDE's CFA program in the handler instead still cost 7-10 us
 * (CPython's functions have long programs: every early return remembers
 * and restores a state), so the agent thread runs every program once and
 * keeps the rows: the handler's lookup is a page index and a binary
 * search within one code page's rows, a few cache lines.
 *
 * Why compiled copies and not the loaded tables: the handler cannot take
 * the loader's lock, and an object unloaded by another thread in the
 * middle of a search would be unmapped under it.  The image is the
 * agent's own and lives until cg_cfi_images_cleanup; a forgotten object's
 * image is only hidden (a handler may be reading it), and its bytes stay
 * counted against the cap.
 *
 * Owns: the images (mmap'd, read-only once built).
 * Thread safety: one writer (add, forget), the agent thread; any number
 * of readers.  A slot is filled, then published by release stores of its
 * `live` flag and of `used`.
 * Signal safety: cg_cfi_images_row_sigsafe() is async-signal-safe and
 * lock-free; the others are not.
 */
#ifndef CG_CFI_IMAGE_H
#define CG_CFI_IMAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cg_cfi_row;

/* A row from its start (offset from code_lo) on: the packed rule (see
 * cfi_image.c), or 0 where no rule of the walk's shape holds. */
struct cg_cfi_packed {
    uint32_t off;
    uint32_t rule;
};

/* One object's rows. */
struct cg_cfi_image {
    uint64_t code_lo, code_hi;     /* the object's executable segments' hull */
    uint64_t hdr;                  /* its .eh_frame_hdr, to recognise it */
    const uint32_t *page_first;    /* per 4 KiB of code: its first row's index */
    const struct cg_cfi_packed *rows;
    size_t nrows;
    void *map;                     /* page_first and rows */
    size_t map_bytes;
};

#define CG_CFI_IMAGES 16

struct cg_cfi_images {
    struct cg_cfi_image slot[CG_CFI_IMAGES];
    _Atomic bool live[CG_CFI_IMAGES];
    _Atomic size_t used; /* slots ever filled */
    /* The writer's: */
    size_t bytes, cap;   /* mapped so far, and the most allowed */
    uint64_t refused_lo[CG_CFI_IMAGES], refused_hi[CG_CFI_IMAGES];
    size_t refused;      /* code ranges not to try again */
};

/* A raw copy of loaded tables, for cfi_row.c's reader while an image is
 * built: [lo, hi) of the object's memory at bytes. */
struct cg_cfi_raw {
    uint64_t lo, hi;
    const unsigned char *bytes;
};

static inline bool cg_cfi_raw_read(const struct cg_cfi_raw *raw, uint64_t at, void *buf,
                                   size_t n)
{
    if (at < raw->lo || at >= raw->hi || n > raw->hi - at)
        return false;
    __builtin_memcpy(buf, raw->bytes + (at - raw->lo), n);
    return true;
}

/* A set that maps at most cap bytes in all. */
void cg_cfi_images_init(struct cg_cfi_images *s, size_t cap);
/* Unmaps every image: only once no handler can be reading (teardown). */
void cg_cfi_images_cleanup(struct cg_cfi_images *s);

/* Builds the image of the loaded object whose code holds addr, unless
 * done (or refused) before.  Returns true when an image covers addr. */
bool cg_cfi_images_add(struct cg_cfi_images *s, uint64_t addr);

/* Objects were unloaded: an image whose object is gone (its code range
 * and header no longer loaded as built) is hidden from the walk, and
 * refused ranges are tried again. */
void cg_cfi_images_forget(struct cg_cfi_images *s);

/* The row holding addr (start and end not set) from its object's image.
 * False when no image covers addr or no rule of the walk's shape holds. */
bool cg_cfi_images_row_sigsafe(const struct cg_cfi_images *s, uint64_t addr,
                               struct cg_cfi_row *row);

/* For tests and docs: rows and bytes of the image covering addr. */
bool cg_cfi_images_stats(const struct cg_cfi_images *s, uint64_t addr, size_t *rows,
                         size_t *bytes);

#endif

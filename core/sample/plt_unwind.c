/*
 * plt_unwind.c - recognises x86-64 PLT sections for the unwinder.
 *
 * DESIGN: decode the first ordinary entry with a tiny table of the
 * instructions linkers put in PLTs (GNU ld and lld, lazy and -z now, with
 * and without IBT), note which bytes are operands, then require every
 * other entry to match it byte for byte outside the operands.  Where the
 * stack pointer moves (the lazy-binding push) the described body ends:
 * the handler keeps only the interrupted PC after it
 * (cg_jit_unwind_leaf_unsafe_sigsafe).  PLT0 is not described; its own
 * CFI stays in force.  What it won't do: guess at code it does not know,
 * or describe another architecture's PLT.
 */
#include "core/sample/plt_unwind.h"

#include "core/sample/jit_unwind.h"

#include <string.h>

enum { MAX_ENTRY = 16 };

/* Decodes one entry; fills operand[] (1 = operand byte) and *body_end.
 * False when an instruction is not a PLT one. */
static bool decode_entry(const uint8_t *e, size_t entsize, bool operand[MAX_ENTRY],
                         size_t *body_end)
{
    static const uint8_t endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    size_t o = 0;
    bool jumped = false; /* seen an indirect jump through the GOT */
    bool pushed = false;
    memset(operand, 0, MAX_ENTRY);
    *body_end = entsize;
    while (o < entsize) {
        size_t left = entsize - o;
        size_t op = 0, len = 0; /* opcode bytes, then a 4-byte operand */
        bool stop = false, got_jump = false;
        if (left >= 4 && memcmp(e + o, endbr64, 4) == 0 && o == 0) {
            o += 4;
            continue;
        }
        if (left >= 6 && e[o] == 0xff && e[o + 1] == 0x25) {
            op = 2; /* jmp *rel32(%rip) */
            got_jump = true;
        } else if (left >= 7 && e[o] == 0xf2 && e[o + 1] == 0xff && e[o + 2] == 0x25) {
            op = 3; /* bnd jmp *rel32(%rip) */
            got_jump = true;
        } else if (left >= 5 && e[o] == 0x68 && !pushed) {
            op = 1; /* push $imm32: the stack moves after it */
            pushed = true;
        } else if (left >= 5 && e[o] == 0xe9 && pushed) {
            op = 1; /* jmp PLT0 */
            stop = true;
        } else if (left >= 6 && e[o] == 0xf2 && e[o + 1] == 0xe9 && pushed) {
            op = 2; /* bnd jmp PLT0 */
            stop = true;
        } else {
            return false;
        }
        len = op + 4;
        for (size_t i = op; i < len; i++)
            operand[o + i] = true;
        o += len;
        if (e[o - len] == 0x68)
            *body_end = o;
        jumped = jumped || got_jump;
        /* After the GOT jump only the lazy-binding push runs (reached
         * through the GOT's initial value); anything else is padding. */
        if (stop || (got_jump && !(o < entsize && e[o] == 0x68)))
            break;
    }
    return jumped || pushed;
}

bool cg_plt_layout_recognise(const uint8_t *sec, size_t size, size_t entsize, size_t *first,
                             struct cg_tramp_layout *out)
{
    if ((entsize != 8 && entsize != 16) || size < entsize || size % entsize)
        return false;
    size_t start = 0;
    /* PLT0: push GOT+8(%rip), optionally after endbr64. */
    if ((sec[0] == 0xff && sec[1] == 0x35) ||
        (entsize == 16 && sec[0] == 0xf3 && sec[4] == 0xff && sec[5] == 0x35))
        start = entsize;
    if (start >= size)
        return false;
    bool operand[MAX_ENTRY];
    size_t body_end;
    if (!decode_entry(sec + start, entsize, operand, &body_end))
        return false;
    for (size_t at = start + entsize; at < size; at += entsize)
        for (size_t i = 0; i < entsize; i++)
            if (!operand[i] && sec[at + i] != sec[start + i])
                return false;
    *first = start;
    memset(out, 0, sizeof(*out));
    out->copy_bytes = entsize;
    out->body_start = 0;
    out->body_end = body_end;
    out->cfa_offset = 8;
    return true;
}

/*
 * uuid.h - random (version 4) UUIDs: the agent's AgentId and fleet id,
 * and each profile's profileToken.
 *
 * Owns: nothing; the caller's buffer.
 * Thread safety: any thread (getrandom, no state).
 * Signal safety: not async-signal-safe (snprintf).
 */
#ifndef CG_UUID_H
#define CG_UUID_H

#define CG_UUID_BUF 37 /* 36 characters and the NUL */

/* Writes a lower-case RFC 4122 version 4 UUID into out.  Never fails: if
 * the kernel has no entropy to give yet, a mix of the clock and the pid
 * stands in (unique enough for a token; not a secret). */
void cg_uuid_v4(char out[CG_UUID_BUF]);

#endif

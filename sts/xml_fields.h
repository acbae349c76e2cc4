/*
 * xml_fields.h - pulls named text fields out of a small XML document with
 * expat, by local element name, wherever they are (AWS query-protocol
 * answers: STS results and error documents; the reference says not to
 * rely on element order or on one error shape).
 *
 * Hardened for answers we do not trust: a DOCTYPE stops the parse (STS
 * never sends one, and entity declarations are how XML bombs start),
 * depth and field sizes are capped.
 *
 * Owns: values are malloc'd into the caller's array and wiped by
 * cg_xml_fields_cleanup (they may be secrets); every buffer the parse
 * itself used, expat's included, is wiped before it is freed.
 * Thread safety: reentrant.
 * Signal safety: none (expat, allocation).
 */
#ifndef CG_STS_XML_FIELDS_H
#define CG_STS_XML_FIELDS_H

#include <stddef.h>

struct cg_xml_field {
    const char *name;   /* local name to find, e.g. "AccessKeyId" */
    char *value;        /* out: text of its first occurrence, or NULL */
};

/* Fills fields[i].value for each name found.  Returns 0 when the document
 * is well-formed XML (found or not), CG_EPARSE otherwise (values cleaned),
 * CG_ENOMEM. */
int cg_xml_fields(const char *doc, size_t len, struct cg_xml_field *fields, size_t count);

void cg_xml_fields_cleanup(struct cg_xml_field *fields, size_t count);

#endif

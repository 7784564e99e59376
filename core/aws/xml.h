/* AWS XML responses → jansson, with expat.
 *
 * Rules (the same for every service, so plugins can predict the shape):
 *  - the root element is dropped: its children become the top-level object;
 *    a root without child elements gives {"RootName": "text"} (S3
 *    GetBucketLocation's <LocationConstraint>).
 *  - an element with child elements → object; a leaf → string (text as
 *    sent, white space included); attributes (xmlns too) are ignored.
 *  - an element whose children are all <item> or all <member> → array
 *    of the children's values (EC2 …Set and Query lists).
 *  - with XML_EC2_SETS, an empty element whose name ends in "Set" → [].
 *  - repeated sibling names → array under that name (S3's
 *    <Buckets><Bucket/><Bucket/></Buckets> gives {"Buckets":{"Bucket":[…]}},
 *    but a single <Bucket> stays an object).
 *
 * Hostile input: any DOCTYPE (and so every entity declaration) is refused,
 * external entities are never loaded, nesting is bounded to XML_MAX_DEPTH,
 * the document to XML_MAX_BYTES and the element count to XML_MAX_NODES. */
#ifndef SLASHD_AWS_XML_H
#define SLASHD_AWS_XML_H

#include <stddef.h>

#include <jansson.h>

#define XML_MAX_DEPTH 64
#define XML_MAX_BYTES (8u << 20)
#define XML_MAX_NODES 1000000u

#define XML_EC2_SETS 1u /* empty <…Set/> elements become [] */

/* A new reference (object, or array for a root of <item>s) or NULL with
 * *err set to a new string. */
json_t *xml_to_json(const char *xml, size_t len, unsigned flags, char **err);

#endif

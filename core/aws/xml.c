#include "xml.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "common/util.h"

typedef struct child {
  char *name;
  json_t *v;
} child;

typedef struct frame {
  char *name;
  child *kids;
  size_t n, cap;
  sbuf text;
} frame;

typedef struct ctx {
  XML_Parser p;
  frame stack[XML_MAX_DEPTH];
  int depth;
  size_t nodes;
  unsigned flags;
  json_t *result;
  char *err;
} ctx;

static void fail(ctx *c, char *msg) {
  if (!c->err)
    c->err = msg;
  else
    free(msg);
  XML_StopParser(c->p, XML_FALSE);
}

static void frame_free(frame *f) {
  for (size_t i = 0; i < f->n; i++) {
    free(f->kids[i].name);
    json_decref(f->kids[i].v);
  }
  free(f->kids);
  free(f->name);
  sbuf_free(&f->text);
  memset(f, 0, sizeof *f);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
  (void)attrs;
  ctx *c = ud;
  if (c->err)
    return;
  if (c->depth >= XML_MAX_DEPTH) {
    fail(c, xasprintf("XML nested deeper than %d elements", XML_MAX_DEPTH));
    return;
  }
  if (++c->nodes > XML_MAX_NODES) {
    fail(c, xasprintf("XML has more than %u elements", XML_MAX_NODES));
    return;
  }
  frame *f = &c->stack[c->depth++];
  memset(f, 0, sizeof *f);
  f->name = xstrdup(name);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
  ctx *c = ud;
  if (c->err || c->depth == 0 || len <= 0)
    return;
  sbuf_add(&c->stack[c->depth - 1].text, s, (size_t)len);
}

static bool blank(const sbuf *b) {
  for (size_t i = 0; i < b->len; i++)
    if (b->p[i] != ' ' && b->p[i] != '\t' && b->p[i] != '\r' && b->p[i] != '\n')
      return false;
  return true;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_list(const frame *f) {
  const char *first = f->kids[0].name;
  if (strcmp(first, "item") != 0 && strcmp(first, "member") != 0)
    return false;
  for (size_t i = 1; i < f->n; i++)
    if (strcmp(f->kids[i].name, first) != 0)
      return false;
  return true;
}

/* Builds the value of a closed element; steals the children's values. */
static json_t *frame_value(ctx *c, frame *f) {
  if (f->n == 0) {
    if ((c->flags & XML_EC2_SETS) && ends_with(f->name, "Set") && blank(&f->text))
      return json_array();
    return json_stringn(f->text.p ? f->text.p : "", f->text.len);
  }
  if (is_list(f)) {
    json_t *a = json_array();
    for (size_t i = 0; i < f->n; i++) {
      json_array_append_new(a, f->kids[i].v);
      f->kids[i].v = NULL;
    }
    return a;
  }
  /* Object; names seen more than once collect into an array. */
  json_t *count = json_object(), *o = json_object();
  for (size_t i = 0; i < f->n; i++) {
    json_t *k = json_object_get(count, f->kids[i].name);
    json_object_set_new(count, f->kids[i].name, json_integer(k ? json_integer_value(k) + 1 : 1));
  }
  for (size_t i = 0; i < f->n; i++) {
    const char *name = f->kids[i].name;
    json_t *v = f->kids[i].v;
    f->kids[i].v = NULL;
    if (json_integer_value(json_object_get(count, name)) > 1) {
      json_t *a = json_object_get(o, name);
      if (!a) {
        a = json_array();
        json_object_set_new(o, name, a);
      }
      json_array_append_new(a, v);
    } else {
      json_object_set_new(o, name, v);
    }
  }
  json_decref(count);
  return o;
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
  (void)name;
  ctx *c = ud;
  if (c->err || c->depth == 0)
    return;
  frame *f = &c->stack[c->depth - 1];
  json_t *v = frame_value(c, f);
  if (!v) {
    fail(c, xasprintf("XML element <%s> holds text that is not valid UTF-8", f->name));
    return;
  }
  if (c->depth == 1) {
    if (f->n == 0) { /* a root without children keeps its name */
      json_t *o = json_object();
      json_object_set_new(o, f->name, v);
      v = o;
    }
    json_decref(c->result);
    c->result = v;
  } else {
    frame *parent = &c->stack[c->depth - 2];
    if (parent->n == parent->cap) {
      parent->cap = parent->cap ? parent->cap * 2 : 8;
      parent->kids = xrealloc(parent->kids, parent->cap * sizeof *parent->kids);
    }
    parent->kids[parent->n].name = f->name;
    parent->kids[parent->n].v = v;
    parent->n++;
    f->name = NULL;
  }
  frame_free(f);
  c->depth--;
}

/* A DOCTYPE is where entities (billion laughs, external files) come from;
 * AWS never sends one. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
  fail(ud, xstrdup("XML with a DOCTYPE is refused"));
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation) {
  (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid, (void)pubid,
      (void)notation;
  fail(ud, xstrdup("XML entity declarations are refused"));
}

static int XMLCALL on_external(XML_Parser p, const XML_Char *context, const XML_Char *base,
                               const XML_Char *sysid, const XML_Char *pubid) {
  (void)p, (void)context, (void)base, (void)sysid, (void)pubid;
  return XML_STATUS_ERROR;
}

json_t *xml_to_json(const char *xml, size_t len, unsigned flags, char **err) {
  *err = NULL;
  if (len > XML_MAX_BYTES) {
    *err = xasprintf("XML document of %zu bytes is over the %u byte limit", len, XML_MAX_BYTES);
    return NULL;
  }
  ctx *c = xcalloc(1, sizeof *c);
  c->flags = flags;
  c->p = XML_ParserCreate(NULL);
  if (!c->p) {
    free(c);
    *err = xstrdup("cannot create an XML parser");
    return NULL;
  }
  XML_SetUserData(c->p, c);
  XML_SetElementHandler(c->p, on_start, on_end);
  XML_SetCharacterDataHandler(c->p, on_text);
  XML_SetStartDoctypeDeclHandler(c->p, on_doctype);
  XML_SetEntityDeclHandler(c->p, on_entity);
  XML_SetExternalEntityRefHandler(c->p, on_external);
  XML_SetParamEntityParsing(c->p, XML_PARAM_ENTITY_PARSING_NEVER);

  enum XML_Status st = XML_Parse(c->p, xml ? xml : "", (int)len, XML_TRUE);
  if (st != XML_STATUS_OK && !c->err)
    c->err =
        xasprintf("XML parse error at line %lu: %s", (unsigned long)XML_GetCurrentLineNumber(c->p),
                  XML_ErrorString(XML_GetErrorCode(c->p)));
  if (!c->err && !c->result)
    c->err = xstrdup("XML document has no root element");
  json_t *out = NULL;
  if (c->err) {
    *err = c->err;
    json_decref(c->result);
  } else {
    out = c->result;
  }
  while (c->depth > 0)
    frame_free(&c->stack[--c->depth]);
  XML_ParserFree(c->p);
  free(c);
  return out;
}

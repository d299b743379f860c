/* markup_int.h — what markup.c (parsing) and markup_place.c (putting tags back) share: the
 * parsed record as plain text and tag events. */
#ifndef ATTN_MARKUP_INT_H
#define ATTN_MARKUP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "markup.h"

#define MAX_ENTITIES 64
#define CODE_MARK '\x01'      /* stands for a found `code` while tags are placed */

typedef enum ev_type { EV_OPEN, EV_CLOSE, EV_VOID, EV_ATOM } ev_type;

/* A tag, comment or untranslated element at a byte offset of the plain text. */
typedef struct event {
    ev_type type;
    size_t off;                 /* plain-text offset it stands at */
    size_t raw, raw_len;        /* its text in m->raw */
    int partner;                /* EV_OPEN: index of its EV_CLOSE */
    int glued;                  /* between two words with no space: a space was put into the
                                   plain text there, and none is written back */
    int code;                   /* EV_ATOM whose text reaches the model as `code` */
    size_t code_off, code_len;  /* that `code` in the plain text */
} event;

/* A growing byte buffer. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

struct markup {
    markup_kind kind;
    buf plain, raw;
    event *ev;                  /* (n_ev) in document order */
    int n_ev, cap_ev;
    uint32_t ent_cp[MAX_ENTITIES];      /* characters the record wrote as references */
    char ent_ref[MAX_ENTITIES][16];     /* and the reference it used */
    int n_ent;
    int pending_sep;            /* a block or void element ended: separate the next words */
    int sep_from;               /* first event that the separator would glue */
    int nomem;
};

/* Appends n bytes of s to b (NUL-terminated); sets m->nomem when memory runs out. */
void markup_add(markup *m, buf *b, const char *s, size_t n);

#endif

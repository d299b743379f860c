/* markup.c — HTML and XML records: libxml2's tree into plain text and tag events, and the tags
 * put back into a translation in document order. */
#include "markup.h"

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "markup_int.h"
#include "status.h"

static const char *const void_html[] = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr", "basefont", "bgsound", "frame", "keygen", "param", NULL,
};
static const char *const raw_content[] = {"script", "style", "code", "pre", NULL};
/* HTML elements that separate words even when no space is written around them. */
static const char *const block_html[] = {
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hgroup", "li", "main", "menu", "nav", "ol", "option", "p",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", NULL,
};

/* Returns 1 when name is in the NULL-terminated list. */
static int in_list(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

void markup_add(markup *m, buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            m->nomem = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* Appends the string s to b. */
static void adds(markup *m, buf *b, const char *s)
{
    markup_add(m, b, s, strlen(s));
}

/* Appends s to b with &, < and " escaped (an attribute value). */
static void add_escaped(markup *m, buf *b, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': adds(m, b, "&amp;"); break;
        case '<': adds(m, b, "&lt;"); break;
        case '"': adds(m, b, "&quot;"); break;
        default: markup_add(m, b, s, 1);
        }
}

/* Adds an event of type at the current plain offset whose text is raw[from..]; returns its
 * index or -1. */
static int add_event(markup *m, ev_type type, size_t from)
{
    if (m->n_ev == m->cap_ev) {
        int cap = m->cap_ev ? 2 * m->cap_ev : 16;
        event *p = realloc(m->ev, (size_t)cap * sizeof *p);
        if (!p) {
            m->nomem = 1;
            return -1;
        }
        m->ev = p;
        m->cap_ev = cap;
    }
    m->ev[m->n_ev] = (event){type, m->plain.len, from, m->raw.len - from, -1, 0, 0, 0, 0};
    return m->n_ev++;
}

/* Appends the qualified name of a node or attribute (prefix:name). */
static void add_name(markup *m, xmlNs *ns, const xmlChar *name)
{
    if (ns && ns->prefix) {
        adds(m, &m->raw, (const char *)ns->prefix);
        adds(m, &m->raw, ":");
    }
    adds(m, &m->raw, (const char *)name);
}

/* Appends an element's start tag (self-closed when empty) to m->raw. */
static void add_start_tag(markup *m, xmlNode *n, int empty)
{
    adds(m, &m->raw, "<");
    add_name(m, n->ns, n->name);
    for (xmlNs *ns = n->nsDef; ns; ns = ns->next) {
        adds(m, &m->raw, ns->prefix ? " xmlns:" : " xmlns");
        if (ns->prefix)
            adds(m, &m->raw, (const char *)ns->prefix);
        adds(m, &m->raw, "=\"");
        add_escaped(m, &m->raw, ns->href ? (const char *)ns->href : "");
        adds(m, &m->raw, "\"");
    }
    for (xmlAttr *a = n->properties; a; a = a->next) {
        adds(m, &m->raw, " ");
        add_name(m, a->ns, a->name);
        xmlChar *v = a->children ? xmlNodeGetContent((xmlNode *)a) : NULL;
        if (v || m->kind == MARKUP_XML) {
            adds(m, &m->raw, "=\"");
            add_escaped(m, &m->raw, v ? (const char *)v : "");
            adds(m, &m->raw, "\"");
        }
        xmlFree(v);
    }
    adds(m, &m->raw, empty ? "/>" : ">");
}

/* Appends an untranslated element as libxml2 writes it; code and pre also put their text in
 * the plain text as `code` when it has no backtick or newline. */
static void add_raw_element(markup *m, xmlNode *n)
{
    size_t from = m->raw.len;
    xmlOutputBuffer *ob = xmlAllocOutputBuffer(NULL);
    if (!ob) {
        m->nomem = 1;
        return;
    }
    if (m->kind == MARKUP_HTML)
        htmlNodeDumpFormatOutput(ob, n->doc, n, NULL, 0);
    else
        xmlNodeDumpOutput(ob, n->doc, n, 0, 0, NULL);
    xmlOutputBufferFlush(ob);
    markup_add(m, &m->raw, (const char *)xmlOutputBufferGetContent(ob),
               xmlOutputBufferGetSize(ob));
    xmlOutputBufferClose(ob);
    int e = add_event(m, EV_ATOM, from);
    xmlChar *text = xmlNodeGetContent(n);
    const char *t = text ? (const char *)text : "";
    if (e >= 0 && *t && !strpbrk(t, "`\n") && (!strcmp((const char *)n->name, "code") ||
                                               !strcmp((const char *)n->name, "pre"))) {
        m->ev[e].code = 1;
        m->ev[e].code_off = m->plain.len;
        adds(m, &m->plain, "`");
        adds(m, &m->plain, t);
        adds(m, &m->plain, "`");
        m->ev[e].code_len = m->plain.len - m->ev[e].code_off;
    }
    xmlFree(text);
}

/* Appends a comment, processing instruction or CDATA section as an untranslated event. */
static void add_atom(markup *m, const char *open, const xmlChar *name, const xmlChar *content,
                     const char *close)
{
    size_t from = m->raw.len;
    adds(m, &m->raw, open);
    if (name) {
        adds(m, &m->raw, (const char *)name);
        if (content && *content)
            adds(m, &m->raw, " ");
    }
    if (content)
        adds(m, &m->raw, (const char *)content);
    adds(m, &m->raw, close);
    add_event(m, EV_ATOM, from);
}

/* Notes that event e (a block or void element's) separates the words around it. */
static void separate(markup *m, int e)
{
    if (e < 0)
        return;
    if (!m->pending_sep)
        m->sep_from = e;
    m->pending_sep = 1;
}

/* Appends a text node's text to the plain text, with a space first where a block or void
 * element stands between two words (the events there are marked glued). */
static void add_text(markup *m, const char *t)
{
    if (!*t)
        return;
    if (m->pending_sep && m->plain.len > 0 && !strchr(" \t\r\n", m->plain.p[m->plain.len - 1]) &&
        !strchr(" \t\r\n", t[0])) {
        for (int e = m->sep_from; e < m->n_ev; e++)
            m->ev[e].glued = 1;
        adds(m, &m->plain, " ");
    }
    m->pending_sep = 0;
    adds(m, &m->plain, t);
}

/* Turns the nodes from n on (and their children) into plain text and events. */
static void walk(markup *m, xmlNode *n)
{
    for (; n && !m->nomem; n = n->next) {
        const char *name = (const char *)n->name;
        size_t from = m->raw.len;
        switch (n->type) {
        case XML_TEXT_NODE:
            add_text(m, (const char *)n->content);
            break;
        case XML_CDATA_SECTION_NODE: add_atom(m, "<![CDATA[", NULL, n->content, "]]>"); break;
        case XML_COMMENT_NODE: add_atom(m, "<!--", NULL, n->content, "-->"); break;
        case XML_PI_NODE: add_atom(m, "<?", n->name, n->content, "?>"); break;
        case XML_ELEMENT_NODE:
            if (in_list(raw_content, name)) {
                add_raw_element(m, n);
            } else if (m->kind == MARKUP_HTML ? in_list(void_html, name) : !n->children) {
                add_start_tag(m, n, 1);
                separate(m, add_event(m, EV_VOID, from));
            } else {
                int block = m->kind == MARKUP_HTML && in_list(block_html, name);
                add_start_tag(m, n, 0);
                int open = add_event(m, EV_OPEN, from);
                if (block)
                    separate(m, open);
                walk(m, n->children);
                from = m->raw.len;
                adds(m, &m->raw, "</");
                add_name(m, n->ns, n->name);
                adds(m, &m->raw, ">");
                int close = add_event(m, EV_CLOSE, from);
                if (block)
                    separate(m, close);
                if (open >= 0)
                    m->ev[open].partner = close;
            }
            break;
        default:
            break;
        }
    }
}

/* Records the character of each entity or character reference of the record with its text,
 * so that the output writes it the same way. */
static void note_entities(markup *m, const char *text, size_t len)
{
    for (size_t i = 0; i < len && m->n_ent < MAX_ENTITIES; i++) {
        if (text[i] != '&')
            continue;
        size_t j = i + 1;
        while (j < len && j - i < 15 && text[j] != ';' && text[j] != '&' && text[j] != ' ')
            j++;
        if (j >= len || text[j] != ';' || j == i + 1 || j - i >= 15)
            continue;
        char name[16];
        memcpy(name, text + i + 1, j - i - 1);
        name[j - i - 1] = 0;
        uint32_t cp = 0;
        if (name[0] == '#')
            cp = (uint32_t)strtoul(name + 1 + (name[1] == 'x' || name[1] == 'X'), NULL,
                                   name[1] == 'x' || name[1] == 'X' ? 16 : 10);
        else if (m->kind == MARKUP_HTML && htmlEntityLookup((const xmlChar *)name))
            cp = htmlEntityLookup((const xmlChar *)name)->value;
        if (cp == 0 || cp == '&' || cp == '<' || cp == '>')
            continue;
        int known = 0;
        for (int k = 0; k < m->n_ent; k++)
            known |= m->ent_cp[k] == cp;
        if (!known) {
            m->ent_cp[m->n_ent] = cp;
            memcpy(m->ent_ref[m->n_ent], text + i, j - i + 1);
            m->ent_ref[m->n_ent][j - i + 1] = 0;
            m->n_ent++;
        }
    }
}

/* The first parser error of a record, counted by on_error. */
typedef struct parse_errors {
    int n;
    char first[160];
} parse_errors;

/* libxml2 structured error handler: counts the errors of a parse (HTML's unknown-tag error
 * aside: any element name is taken). */
static void on_error(void *user, xmlError *err)
{
    parse_errors *pe = user;
    if (err->level < XML_ERR_ERROR || err->code == XML_HTML_UNKNOWN_TAG)
        return;
    if (pe->n++ == 0) {
        snprintf(pe->first, sizeof pe->first, "%s", err->message ? err->message : "error");
        pe->first[strcspn(pe->first, "\n")] = 0;
    }
}

int markup_parse(markup **out, markup_kind kind, const char *text, size_t len, char *why,
                 size_t why_len)
{
    static const char *const wrap[2][2] = {{"<html><body>", "</body></html>"},
                                           {"<attn-record>", "</attn-record>"}};
    *out = NULL;
    const char *pre = wrap[kind == MARKUP_XML][0], *post = wrap[kind == MARKUP_XML][1];
    size_t n = strlen(pre) + len + strlen(post);
    char *doc_text = malloc(n + 1);
    markup *m = calloc(1, sizeof *m);
    xmlParserCtxt *ctxt = kind == MARKUP_HTML ? htmlNewParserCtxt() : xmlNewParserCtxt();
    if (!doc_text || !m || !ctxt) {
        free(doc_text);
        free(m);
        if (ctxt)
            kind == MARKUP_HTML ? htmlFreeParserCtxt(ctxt) : xmlFreeParserCtxt(ctxt);
        return ATTN_ERR_NOMEM;
    }
    snprintf(doc_text, n + 1, "%s%.*s%s", pre, (int)len, text, post);
    m->kind = kind;
    parse_errors pe = {0, ""};
    xmlSetStructuredErrorFunc(&pe, on_error);
    xmlDoc *doc = kind == MARKUP_HTML
        ? htmlCtxtReadMemory(ctxt, doc_text, (int)n, NULL, "UTF-8",
                             HTML_PARSE_NONET | HTML_PARSE_NOIMPLIED)
        : xmlCtxtReadMemory(ctxt, doc_text, (int)n, NULL, "UTF-8", XML_PARSE_NONET);
    xmlSetStructuredErrorFunc(NULL, NULL);
    int rc = ATTN_OK;
    if (!doc || pe.n > 0 || memchr(text, 0, len)) {
        snprintf(why, why_len, "%s", pe.n ? pe.first : "not parsed");
        rc = ATTN_ERR_FORMAT;
    } else {
        xmlNode *root = xmlDocGetRootElement(doc);
        if (kind == MARKUP_HTML && root && root->children)
            root = root->children;      /* html -> body */
        walk(m, root ? root->children : NULL);
        note_entities(m, text, len);
        adds(m, &m->plain, "");
        adds(m, &m->raw, "");
        if (m->nomem)
            rc = ATTN_ERR_NOMEM;
    }
    xmlFreeDoc(doc);
    kind == MARKUP_HTML ? htmlFreeParserCtxt(ctxt) : xmlFreeParserCtxt(ctxt);
    free(doc_text);
    if (rc < 0) {
        markup_free(m);
        return rc;
    }
    *out = m;
    return ATTN_OK;
}

const char *markup_text(const markup *m, size_t *len)
{
    *len = m->plain.len;
    return m->plain.p;
}

void markup_free(markup *m)
{
    if (!m)
        return;
    free(m->plain.p);
    free(m->raw.p);
    free(m->ev);
    free(m);
}

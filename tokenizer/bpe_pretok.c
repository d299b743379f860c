/* bpe_pretok.c — the pre-tokenizer: PCRE2 patterns (UTF + UCP, JIT when available) that split text
 * into pieces, with tiktoken's built-in patterns.
 *
 * The built-in patterns are tiktoken's (npm tiktoken 1.0.22, the Rust core) with one change: Rust
 * regex's \s is Unicode White_Space, which PCRE2's \s is not (PCRE2 also matches U+180E), so \s
 * is spelt out as the class [\t-\r\x{85}\p{Z}], which is White_Space exactly.  User patterns are
 * compiled as given.  `$` means the end of the text (PCRE2_DOLLAR_ENDONLY), as in Rust.
 *
 * The built-in patterns have a fast path: a piece made of ASCII bytes whose end is decided by
 * ASCII bytes is matched by gpt2_ascii, cl100k_ascii or o200k_ascii, written to give exactly what
 * the regex gives; wherever a byte >= 0x80 could change the outcome, the match there is left to
 * PCRE2. */
#include "bpe_impl.h"

#include <stdlib.h>

#define WS "\\t-\\r\\x{85}\\p{Z}"

static const struct {
    const char *name;
    const char *regex;
} builtin[] = {
    {"gpt2", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+"
             "|[" WS "]+(?![^" WS "])|[" WS "]+"},
    {"cl100k", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
               "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])"
               "|[" WS "]+"},
    {"o200k", "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"
              "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
              "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
              "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
              "|\\p{N}{1,3}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*|[" WS "]*[\\r\\n]+"
              "|[" WS "]+(?![^" WS "])|[" WS "]+"},
};

int pretok_compile(pretok *pt, const char *pattern, char *why, size_t why_len)
{
    memset(pt, 0, sizeof *pt);
    if (!pattern)
        pattern = "gpt2";
    const char *regex = pattern;
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(pattern, builtin[i].name) == 0) {
            regex = builtin[i].regex;
            pt->builtin = 1;
            pt->fast = (int)i + 1;
        }
    int err;
    PCRE2_SIZE at;
    pt->re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                           PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY,
                           &err, &at, NULL);
    if (!pt->re) {
        char msg[256];
        pcre2_get_error_message(err, (PCRE2_UCHAR *)msg, sizeof msg);
        tok_why(why, why_len, "pattern does not compile at offset %zu: %s", (size_t)at, msg);
        return TOK_ERR_PATTERN;
    }
    pt->jit = pcre2_jit_compile(pt->re, PCRE2_JIT_COMPLETE) == 0; /* else the interpreter runs */
    pt->source = strdup(pattern);
    if (!pt->source) {
        pretok_free(pt);
        tok_why(why, why_len, "out of memory");
        return TOK_ERR_NOMEM;
    }
    return TOK_OK;
}

void pretok_free(pretok *pt)
{
    pcre2_code_free(pt->re);
    free(pt->source);
    memset(pt, 0, sizeof *pt);
}

int pretok_iter_open(pretok_iter *it, const pretok *pt)
{
    memset(it, 0, sizeof *it);
    it->pt = pt;
    it->md = pcre2_match_data_create_from_pattern(pt->re, NULL);
    it->mc = pcre2_match_context_create(NULL);
    it->js = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    if (!it->md || !it->mc || !it->js) {
        pretok_iter_free(it);
        return TOK_ERR_NOMEM;
    }
    pcre2_jit_stack_assign(it->mc, NULL, it->js);
    return TOK_OK;
}

void pretok_iter_free(pretok_iter *it)
{
    pcre2_match_data_free(it->md);
    pcre2_match_context_free(it->mc);
    pcre2_jit_stack_free(it->js);
    memset(it, 0, sizeof *it);
}

void pretok_iter_reset(pretok_iter *it)
{
    it->pos = 0;
    it->pending = 0;
}

/* Returns the length of the UTF-8 character (or invalid byte) at s[0..len-1]: 1 to 4. */
static size_t char_len(const unsigned char *s, size_t len)
{
    size_t n = s[0] < 0xC0 ? 1 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    if (n > len)
        return 1;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

#define NON_ASCII16 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4

/* Byte classes: 1 letter, 2 digit, 3 White_Space, 0 anything else below 0x80, 4 a byte >= 0x80
 * (so that a run of one ASCII class stops there without a test of its own). */
static const unsigned char ascii_class[256] = {
    ['\t'] = 3, ['\n'] = 3, ['\v'] = 3, ['\f'] = 3, ['\r'] = 3, [' '] = 3,
    ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2, ['6'] = 2, ['7'] = 2,
    ['8'] = 2, ['9'] = 2,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
    [0x80] = NON_ASCII16, NON_ASCII16, NON_ASCII16, NON_ASCII16, NON_ASCII16, NON_ASCII16,
    NON_ASCII16, NON_ASCII16,
};

/* Matches the gpt2 pattern at s[p] (p < len) on ASCII: returns the end of the match, or 0 when a
 * byte >= 0x80 may decide it (the caller asks PCRE2).  The alternatives, in the regex's order:
 * 's|'t|'re|'ve|'m|'ll|'d, ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`, `\s+(?!\S)`, `\s+`. */
static size_t gpt2_ascii(const unsigned char *s, size_t len, size_t p)
{
    unsigned char c = s[p];
    if (c >= 0x80)
        return 0;
    if (c == '\'' && p + 1 < len) {
        unsigned char c1 = s[p + 1];
        if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
            return p + 2;
        if (p + 2 < len) {
            unsigned char c2 = s[p + 2];
            if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
                return p + 3;
        }
    }
    size_t q = p;
    if (c == ' ' && p + 1 < len) {
        if (s[p + 1] >= 0x80)
            return 0;
        if (ascii_class[s[p + 1]] != 3)
            q = p + 1;
    }
    int k = ascii_class[s[q]];
    size_t i = q + 1;
    if (k != 3) { /* a run of letters, digits or others after the optional space */
        while (i < len && ascii_class[s[i]] == k)
            i++;
        return i < len && s[i] >= 0x80 ? 0 : i;
    }
    while (i < len && ascii_class[s[i]] == 3)
        i++;
    if (i == len)
        return i;
    if (s[i] >= 0x80)
        return 0;
    return i - p >= 2 ? i - 1 : i; /* \s+(?!\S) leaves the last space to the next piece */
}

/* Returns the end of the run of ASCII bytes of class k from s[i], or 0 when a byte >= 0x80 ends
 * it (it might belong to the run). */
static size_t ascii_run(const unsigned char *s, size_t len, size_t i, int k)
{
    while (i < len && ascii_class[s[i]] == k)
        i++;
    return i < len && s[i] >= 0x80 ? 0 : i;
}

/* Matches the alternatives that the cl100k and o200k patterns end with, `\p{N}{1,3}`,
 * ` ?[^\s\p{L}\p{N}]+[\r\n]*` (o200k, slash = 1: `[\r\n/]*`), `\s*[\r\n]+`, `\s+(?!\S)` and
 * `\s+`, at the ASCII byte s[p] where no letter alternative matched: returns the end of the match,
 * or 0 when a byte >= 0x80 may decide it. */
static size_t shared_ascii(const unsigned char *s, size_t len, size_t p, int slash)
{
    unsigned char c = s[p];
    if (ascii_class[c] == 2) {
        size_t i = p + 1;
        while (i < len && i - p < 3 && ascii_class[s[i]] == 2)
            i++;
        return i - p < 3 && i < len && s[i] >= 0x80 ? 0 : i;
    }
    size_t q = p;
    if (c == ' ' && p + 1 < len && ascii_class[s[p + 1]] == 0 && s[p + 1] < 0x80)
        q = p + 1;
    if (ascii_class[s[q]] == 0) {
        size_t i = ascii_run(s, len, q + 1, 0);
        if (i == 0)
            return 0;
        while (i < len && (s[i] == '\r' || s[i] == '\n' || (slash && s[i] == '/')))
            i++;
        return i;
    }
    size_t r = ascii_run(s, len, p + 1, 3); /* s[p] is White_Space */
    if (r == 0)
        return 0;
    for (size_t j = r; j > p; j--)
        if (s[j - 1] == '\r' || s[j - 1] == '\n')
            return j;
    if (r == len)
        return r;
    return r - p >= 2 ? r - 1 : r;
}

/* Returns the end of the contraction (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[p], p itself when there
 * is none, or SIZE_MAX when a byte >= 0x80 may decide it ((?i)s also matches U+017F). */
static size_t contraction(const unsigned char *s, size_t len, size_t p)
{
    if (p + 1 >= len || s[p] != '\'')
        return p;
    if (s[p + 1] >= 0x80)
        return SIZE_MAX;
    unsigned char c1 = s[p + 1] | 0x20;
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
        return p + 2;
    if (p + 2 < len) {
        unsigned char c2 = s[p + 2] | 0x20;
        if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
            return p + 3;
    }
    return p;
}

/* Matches the cl100k pattern at s[p] (p < len) on ASCII: returns the end of the match, or 0 when
 * a byte >= 0x80 may decide it.  The alternatives, in the regex's order:
 * (?i:'s|'t|'re|'ve|'m|'ll|'d), `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`,
 * ` ?[^\s\p{L}\p{N}]+[\r\n]*`, `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`. */
static size_t cl100k_ascii(const unsigned char *s, size_t len, size_t p)
{
    unsigned char c = s[p];
    if (c >= 0x80)
        return 0;
    size_t e = contraction(s, len, p);
    if (e != p)
        return e == SIZE_MAX ? 0 : e;
    int k = ascii_class[c];
    if (k == 1)
        return ascii_run(s, len, p + 1, 1);
    if ((k == 0 || k == 3) && c != '\r' && c != '\n' && p + 1 < len) {
        if (s[p + 1] >= 0x80)
            return 0;
        if (ascii_class[s[p + 1]] == 1)
            return ascii_run(s, len, p + 2, 1);
    }
    return shared_ascii(s, len, p, 0);
}

/* Returns the end of the run of ASCII upper-case (upper = 1) or lower-case letters from s[i], or
 * 0 when a byte >= 0x80 ends it (a letter or a mark might continue it). */
static size_t case_run(const unsigned char *s, size_t len, size_t i, int upper)
{
    while (i < len && (upper ? s[i] >= 'A' && s[i] <= 'Z' : s[i] >= 'a' && s[i] <= 'z'))
        i++;
    return i < len && s[i] >= 0x80 ? 0 : i;
}

/* Matches the o200k pattern at s[p] (p < len) on ASCII: returns the end of the match, or 0 when a
 * byte >= 0x80 may decide it.  The alternatives, in the regex's order:
 * `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?`,
 * the same with `[upper]+[lower]*`, `\p{N}{1,3}`, ` ?[^\s\p{L}\p{N}]+[\r\n/]*`,
 * `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`; on ASCII, upper = A-Z and lower = a-z. */
static size_t o200k_ascii(const unsigned char *s, size_t len, size_t p)
{
    unsigned char c = s[p];
    if (c >= 0x80)
        return 0;
    int k = ascii_class[c];
    size_t q = p; /* where the letters start */
    if ((k == 0 || k == 3) && c != '\r' && c != '\n' && p + 1 < len) {
        if (s[p + 1] >= 0x80)
            return 0;
        if (ascii_class[s[p + 1]] == 1)
            q = p + 1;
    }
    if (ascii_class[s[q]] == 1) {
        size_t a = case_run(s, len, q, 1); /* [upper]* */
        if (a == 0)
            return 0;
        size_t e = a;
        if (a < len && s[a] >= 'a' && s[a] <= 'z' && (e = case_run(s, len, a, 0)) == 0)
            return 0; /* [lower]+ (first alternative) or nothing after [upper]+ (second) */
        size_t end = contraction(s, len, e);
        return end == SIZE_MAX ? 0 : end;
    }
    return shared_ascii(s, len, p, 1);
}

/* Finds the next piece with PCRE2 from it->pos on (pretok_next without the ASCII fast path);
 * returns 1, 0 at the end, or TOK_ERR_MATCH.  Kept out of line so that the fast path's calls
 * stay cheap. */
static __attribute__((noinline)) int match_next(pretok_iter *it, const char *text, size_t len,
                                                size_t *start, size_t *end)
{
    size_t gap = it->pos; /* start of bytes no match has covered yet */
    size_t from = it->pos;
    while (from < len) {
        int rc = it->pt->jit
                     ? pcre2_jit_match(it->pt->re, (PCRE2_SPTR)text, len, from, 0, it->md, it->mc)
                     : pcre2_match(it->pt->re, (PCRE2_SPTR)text, len, from, 0, it->md, it->mc);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0)
            return TOK_ERR_MATCH;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(it->md);
        size_t s = ov[0], e = ov[1];
        if (e == s) { /* an empty match (user patterns): the character joins the gap */
            from = s + char_len((const unsigned char *)text + s, len - s);
            continue;
        }
        if (s > gap) {
            it->pending = 1;
            it->pend_start = s;
            it->pend_end = e;
            *start = gap;
            *end = s;
            it->pos = s;
            return 1;
        }
        *start = s;
        *end = e;
        it->pos = e;
        return 1;
    }
    if (gap < len) {
        *start = gap;
        *end = len;
        it->pos = len;
        return 1;
    }
    return 0;
}

int pretok_split(pretok_iter *it, const char *text, size_t len, size_t *ends, size_t max)
{
    const unsigned char *u = (const unsigned char *)text;
    int fast = it->pt->fast;
    size_t k = 0, pos = it->pos;
    while (k < max) {
        if (it->pending) {
            it->pending = 0;
            pos = ends[k++] = it->pend_end;
            continue;
        }
        if (pos >= len)
            break;
        if (fast) {
            size_t e = fast == 1   ? gpt2_ascii(u, len, pos)
                       : fast == 2 ? cl100k_ascii(u, len, pos)
                                   : o200k_ascii(u, len, pos);
            if (e > pos) {
                pos = ends[k++] = e;
                continue;
            }
        }
        size_t a, b;
        it->pos = pos;
        int rc = match_next(it, text, len, &a, &b);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        pos = ends[k++] = b;
    }
    it->pos = pos;
    return (int)k;
}

int pretok_next(pretok_iter *it, const char *text, size_t len, size_t *start, size_t *end)
{
    *start = it->pending ? it->pend_start : it->pos;
    int rc = pretok_split(it, text, len, end, 1);
    return rc < 0 ? rc : rc > 0;
}

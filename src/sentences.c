/* sentences.c — the sentence splitter: hand-written rules and per-language word lists.
 *
 * Why not ICU: on the 252 hand-written cases of tests/data/sentences/cases.tsv, ICU 72's sentence
 * break iterator gets 185 right with the plain locale and 197 with its abbreviation suppressions
 * (locale@ss=standard: en 90/106, fr 54/73, de 53/73; scripts/bench/icu_sentence_breaks.py).  It
 * splits after German ordinals (am 3. | Oktober), list markers (1. | Install), initials, most
 * French and German abbreviations (p. ex., z. B., ca.) and before French closing guillemets
 * (« Arrêtez. | » Puis), and its suppressions keep "Done. 3 files" and "21,5 °C. Le ciel"
 * together.  These rules get 248/252 (en 103/106, fr 73/73, de 72/73), but they were written
 * against that table; on the 60 cases of heldout.tsv, written afterwards and not used to change
 * them, they get 57/60 (en 19/20, fr 20/20, de 18/20) and ICU 44/60 (13, 17, 14).  Speed: about
 * 70-100 MB/s of English package descriptions on one core (scripts/bench/sentences.sh),
 * thousands of times what the translation of that text takes.
 *
 * The rules are in sentences.h.  A record is scanned once, left to right; the abbreviation lists
 * are consulted only at a full stop followed by white space and a capital or a digit.
 */
#include "sentences.h"

#include <stdint.h>
#include <string.h>

/* ---- language rules -------------------------------------------------------------------------
 * always:    abbreviations after which a sentence never ends (Mr., z. B., c.-à-d.)
 * numeric:   abbreviations that do not end a sentence before a number (No. 5, S. 12, janv. 2025)
 * ambiguous: abbreviations that often end one (etc., Inc.): they end it only before an opener
 * openers:   capitalised words that usually open a sentence (pronouns, articles, conjunctions,
 *            prepositions, frequent adverbs), used to decide after an ambiguous full stop
 * An entry may hold spaces (z. B); a leading '-' lets it end a longer word (Hauptstr.). */

typedef struct lang_rules {
    const char *code;
    const char *const *always, *const *numeric, *const *ambiguous, *const *openers;
    int ordinals;       /* a number of up to 3 digits and a full stop is an ordinal (German) */
    int spaced_closers; /* » after a space closes the quote (French: « Non. ») */
} lang_rules;

static const char *const en_always[] = {
    "Mr", "Mrs", "Ms", "Messrs", "Mx", "Dr", "Prof", "Rev", "Hon", "Gen", "Gov", "Sen", "Rep",
    "Capt", "Col", "Lt", "Sgt", "Cmdr", "Adm", "Maj", "Supt", "e.g", "i.e", "e. g", "i. e", "cf",
    "vs", "viz", "approx", "ca", "incl", "esp", "resp", "w.r.t", "Univ", "Dept", "Assn", NULL};
static const char *const en_numeric[] = {
    "No", "Nos", "no", "nos", "Vol", "Vols", "vol", "p", "pp", "Fig", "Figs", "fig", "Ch", "ch",
    "Chap", "chap", "Sec", "sec", "Art", "art", "Eq", "eq", "Ref", "ref", "Tab", "tab", "Ex", "Pt",
    "pt", "ver", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov",
    "Dec", NULL};
static const char *const en_ambiguous[] = {
    "etc", "al", "Inc", "Ltd", "Co", "Corp", "Bros", "Jr", "Sr", "St", "Mt", "Ave", "Rd", "Blvd",
    "a.m", "p.m", "Mon", "Tue", "Tues", "Wed", "Thu", "Thurs", "Fri", "Sat", "Sun", NULL};
static const char *const en_openers[] = {
    "A", "An", "The", "This", "That", "These", "Those", "It", "Its", "I", "We", "You", "He", "She",
    "They", "There", "Here", "In", "On", "At", "For", "From", "With", "By", "As", "If", "When",
    "While", "Since", "Because", "Although", "Though", "But", "And", "Or", "So", "Then", "Also",
    "However", "Otherwise", "Therefore", "Thus", "Some", "Many", "Most", "All", "Each", "Every",
    "Any", "No", "None", "Other", "Another", "Such", "Our", "Your", "Their", "His", "Her", "My",
    "To", "After", "Before", "Until", "Unless", "Everyone", "Everything", "Everybody", "Nobody",
    "Nothing", "Someone", "Something", "Anyone", "Anything", "Please", "Note", "See", "What",
    "Which", "Who", "Why", "How", "Where", "Yes", "Both", "Either", "Neither", "Only", "Instead",
    "Meanwhile", "Finally", "Today", "Now", NULL};

static const char *const fr_always[] = {
    "M", "MM", "Mme", "Mmes", "Mlle", "Mlles", "Mgr", "Me", "Dr", "Pr", "Prof", "prof", "St",
    "Ste", "Sté", "Vve", "cf", "c.-à-d", "c-à-d", "p. ex", "p.ex", "ex", "env", "av", "apr", "vs",
    "resp", "cit", "bd", "boul", NULL};
static const char *const fr_numeric[] = {
    "n", "no", "N", "No", "nos", "p", "pp", "t", "vol", "chap", "art", "fig", "éd", "réf", "tél",
    "sect", "min", "max", "janv", "févr", "avr", "juil", "juill", "sept", "oct", "nov", "déc",
    NULL};
static const char *const fr_ambiguous[] = {
    "etc", "J.-C", "Cie", "cie", "hab", "lun", "mar", "mer", "jeu", "ven", "sam", "dim", NULL};
static const char *const fr_openers[] = {
    "Le", "La", "Les", "L", "Un", "Une", "Des", "De", "Du", "D", "Au", "Aux", "Ce", "Cet", "Cette",
    "Ces", "C", "Ceci", "Cela", "Ça", "Il", "Elle", "Ils", "Elles", "On", "Nous", "Vous", "Je",
    "J", "Tu", "En", "Dans", "Pour", "Par", "Sur", "Sous", "Avec", "Sans", "Si", "S", "Mais",
    "Et", "Ou", "Donc", "Puis", "Ensuite", "Alors", "Aussi", "Cependant", "Toutefois", "Pourtant",
    "Enfin", "Quand", "Lorsque", "Comme", "Chaque", "Tous", "Toutes", "Tout", "Toute", "Aucun",
    "Aucune", "Plusieurs", "Certains", "Certaines", "Son", "Sa", "Ses", "Leur", "Leurs", "Notre",
    "Nos", "Votre", "Vos", "Mon", "Ma", "Mes", "Qui", "Que", "Qu", "Où", "Pourquoi", "Comment",
    "Oui", "Non", "Voir", "Voici", "Voilà", "Depuis", "Après", "Avant", "Selon", "Merci",
    "Veuillez", "N", "Y", NULL};

static const char *const de_always[] = {
    "z.B", "z. B", "z", "d.h", "d. h", "d", "u.a", "u. a", "u", "u.U", "u. U", "o.Ä", "o. Ä", "o",
    "v.a", "v. a", "z.T", "z. T", "i.d.R", "i. d. R", "i.A", "bzw", "ca", "evtl", "ggf", "inkl",
    "exkl", "bspw", "vgl", "Vgl", "sog", "s", "Hr", "Hrn", "Fr", "Dr", "Prof", "Dipl", "Ing",
    "Mio", "Mrd", "geb", "gest", "Tel", "Abt", "St", "gem", "lt", "zzgl", NULL};
static const char *const de_numeric[] = {
    "Nr", "S", "Abs", "Abb", "Kap", "Bd", "Tab", "Ziff", "Art", "Jan", "Feb", "Mrz", "Apr", "Jun",
    "Jul", "Aug", "Sep", "Sept", "Okt", "Nov", "Dez", "Str", "-str", "min", "max", NULL};
static const char *const de_ambiguous[] = {
    "usw", "etc", "u.v.m", "u. v. m", "o.ä", "o. ä", "Co", "Jh", "ff", NULL};
static const char *const de_openers[] = {
    "Der", "Die", "Das", "Den", "Dem", "Des", "Ein", "Eine", "Einen", "Einem", "Einer", "Eines",
    "Es", "Er", "Sie", "Wir", "Ich", "Du", "Ihr", "Man", "Dies", "Diese", "Dieser", "Dieses",
    "Diesen", "Jede", "Jeder", "Jedes", "Alle", "Andere", "Anderen", "Weitere", "Viele", "Einige",
    "Manche", "Kein", "Keine", "In", "Im", "Auf", "Mit", "Für", "Bei", "Nach", "Vor", "Von",
    "Vom", "Zum", "Zur", "Am", "Um", "Aus", "Über", "Unter", "Wenn", "Als", "Da", "Dann",
    "Danach", "Daher", "Deshalb", "Dort", "Hier", "Auch", "Aber", "Und", "Oder", "Doch", "Jedoch",
    "Denn", "So", "Sonst", "Trotzdem", "Außerdem", "Zudem", "Damit", "Dabei", "Dazu", "Bitte",
    "Siehe", "Was", "Wer", "Wie", "Wo", "Warum", "Welche", "Welcher", "Ja", "Nein", "Sein",
    "Seine", "Ihre", "Unser", "Unsere", "Mein", "Meine", NULL};

static const char *const none[] = {NULL};

static const lang_rules languages[] = {
    {"en", en_always, en_numeric, en_ambiguous, en_openers, 0, 0},
    {"fr", fr_always, fr_numeric, fr_ambiguous, fr_openers, 0, 1},
    {"de", de_always, de_numeric, de_ambiguous, de_openers, 1, 0},
};
static const lang_rules generic = {"", none, none, none, none, 0, 0};

/* ---- characters ---------------------------------------------------------------------------- */

/* Decodes the code point at t[i] (i < len) and stores where the next one starts in *next;
 * an invalid, truncated or overlong sequence or a surrogate is U+FFFD, one byte long. */
static uint32_t decode(const unsigned char *t, size_t len, size_t i, size_t *next)
{
    uint32_t c = t[i];
    size_t n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3
             : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    if (n == 1 || n == 0 || i + n > len) {
        *next = i + 1;
        return n == 1 ? c : 0xfffd;
    }
    c &= 0x7f >> n;
    for (size_t k = 1; k < n; k++) {
        if ((t[i + k] & 0xc0) != 0x80) {
            *next = i + 1;
            return 0xfffd;
        }
        c = c << 6 | (t[i + k] & 0x3f);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (n == 4 && c < 0x10000) ||
        c > 0x10ffff) {
        *next = i + 1; /* an overlong form, a surrogate or past U+10FFFF */
        return 0xfffd;
    }
    *next = i + n;
    return c;
}

/* Returns the code point that ends just before t[i] (i > lo; 0 at lo) and stores where it
 * starts in *at; bytes that do not end a character there are U+FFFD, one byte long. */
static uint32_t decode_back(const unsigned char *t, size_t lo, size_t i, size_t *at)
{
    *at = i;
    if (i <= lo)
        return 0;
    size_t j = i - 1, next;
    while (j > lo && i - j < 4 && (t[j] & 0xc0) == 0x80)
        j--;
    uint32_t c = decode(t, i, j, &next);
    *at = next == i ? j : i - 1;
    return next == i ? c : 0xfffd;
}

/* Returns the code point that ends just before t[i] (decode_back), or 0 at lo. */
static uint32_t decode_before(const unsigned char *t, size_t lo, size_t i)
{
    size_t at;
    return decode_back(t, lo, i, &at);
}

/* Returns 1 for the characters that always end a sentence and are never part of one: the
 * control characters (C0 with tab and newline, DEL, C1) and the line and paragraph separators. */
static int is_hard(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029;
}

/* Returns 1 for separators: the hard stops, the space and Unicode's other spaces. */
static int is_space(uint32_t c)
{
    return is_hard(c) || c == ' ' || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Returns 1 for the upper-case letters of the Latin, Greek and Cyrillic alphabets. */
static int is_upper(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z';
    if (c >= 0xc0 && c <= 0xde)
        return c != 0xd7;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177) || (c >= 0x1e00 && c <= 0x1eff))
        return c % 2 == 0;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
        return c % 2 == 1;
    return c == 0x178 || (c >= 0x391 && c <= 0x3a9) || (c >= 0x400 && c <= 0x42f);
}

/* Returns 1 for letters and digits: ASCII ones, and every non-ASCII character outside the
 * Latin-1 symbols, the punctuation and symbol blocks, and the CJK and full-width punctuation. */
static int is_alnum(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    if (c < 0xc0)
        return c == 0xaa || c == 0xb5 || c == 0xba;
    return c != 0xd7 && c != 0xf7 && c != 0xfffd && !(c >= 0x2000 && c <= 0x2bff) &&
           !(c >= 0x3000 && c <= 0x303f) && !(c >= 0xff00 && c <= 0xff0f) &&
           !(c >= 0xff1a && c <= 0xff20) && !(c >= 0xff3b && c <= 0xff40) &&
           !(c >= 0xff5b && c <= 0xff65);
}

/* Returns 1 for the punctuation that can end a sentence. */
static int is_terminal(uint32_t c)
{
    return c == '.' || c == '!' || c == '?' || c == 0x2026 || c == 0x203c || c == 0x203d ||
           (c >= 0x2047 && c <= 0x2049) || c == 0xff0e || c == 0x3002 || c == 0xff61 ||
           c == 0xff01 || c == 0xff1f;
}

/* Returns 1 for the full stops of Chinese and Japanese, which end a sentence without a space. */
static int is_cjk_stop(uint32_t c)
{
    return c == 0x3002 || c == 0xff61 || c == 0xff01 || c == 0xff1f;
}

/* Returns 1 for quotes (any kind: after a terminal mark they close, after a space they open). */
static int is_quote(uint32_t c)
{
    return c == '"' || c == '\'' || c == 0xab || c == 0xbb || (c >= 0x2018 && c <= 0x201f) ||
           c == 0x2039 || c == 0x203a || (c >= 0x300c && c <= 0x300f);
}

/* Returns 1 for the closing brackets. */
static int is_closing_bracket(uint32_t c)
{
    return c == ')' || c == ']' || c == '}' || c == 0xff09 || c == 0xff3d || c == 0xff5d ||
           c == 0x3009 || c == 0x300b || c == 0x3011;
}

/* Returns 1 for what may open a sentence before its first letter: quotes, brackets, ¿ and ¡
 * (not '[', which opens an editorial insertion or a prompt's choices: "Continue? [Y/n]"). */
static int is_opener(uint32_t c)
{
    return is_quote(c) || c == '(' || c == '{' || c == 0xbf || c == 0xa1;
}

/* Returns 1 when a list bullet (* - • ‣ ◦ –) and a space start at t[i]. */
static int bullet_at(const unsigned char *t, size_t len, size_t i)
{
    size_t next;
    if (i >= len)
        return 0;
    uint32_t c = decode(t, len, i, &next);
    if (!(c == '*' || c == '-' || c == 0x2022 || c == 0x2023 || c == 0x25e6 || c == 0x2013))
        return 0;
    return next < len && t[next] == ' ';
}

/* ---- words --------------------------------------------------------------------------------- */

/* Returns 1 when entry e ends exactly at t[end] (before the full stop) and starts a word there:
 * at lo (the sentence's start) or after a character that is not a letter, a digit, '.' or '-'.
 * At lo a capital also matches a lower-case entry (Cf. for cf.); "-x" matches any word's end. */
static int entry_matches(const char *e, const unsigned char *t, size_t lo, size_t end)
{
    int suffix = e[0] == '-';
    e += suffix;
    size_t n = strlen(e);
    if (end - lo < n)
        return 0;
    size_t at = end - n;
    unsigned char c0 = (unsigned char)e[0];
    if (t[at] != c0 && !(at == lo && c0 >= 'a' && c0 <= 'z' && t[at] == c0 - 32))
        return 0;
    if (memcmp(t + at + 1, e + 1, n - 1) != 0)
        return 0;
    if (suffix)
        return at > lo && is_alnum(decode_before(t, lo, at));
    uint32_t before = decode_before(t, lo, at);
    return at == lo || !(is_alnum(before) || before == '.' || before == '-');
}

/* Returns 1 when one entry of the NULL-terminated list matches before t[end] (entry_matches). */
static int list_matches(const char *const *list, const unsigned char *t, size_t lo, size_t end)
{
    for (; *list; list++)
        if (entry_matches(*list, t, lo, end))
            return 1;
    return 0;
}

/* Returns 1 when the word at t[i] is one of the language's sentence openers and is not itself
 * followed by a full stop (an initial: "J. I. Smith"). */
static int starts_with_opener(const lang_rules *r, const unsigned char *t, size_t len, size_t i)
{
    size_t end = i, next;
    while (end < len && is_alnum(decode(t, len, end, &next)) && !(t[end] >= '0' && t[end] <= '9'))
        end = next;
    if (end == i || (end < len && t[end] == '.'))
        return 0;
    for (const char *const *w = r->openers; *w; w++)
        if (strlen(*w) == end - i && memcmp(*w, t + i, end - i) == 0)
            return 1;
    return 0;
}

/* Counts the characters of t[lo..hi-1] that satisfy pred; sets *all when every one does. */
static size_t count_chars(const unsigned char *t, size_t lo, size_t hi, int (*pred)(uint32_t),
                          int *all)
{
    size_t n = 0, next;
    *all = 1;
    for (size_t i = lo; i < hi; i = next, n++)
        if (!pred(decode(t, hi, i, &next)))
            *all = 0;
    return n;
}

/* Returns 1 for ASCII digits. */
static int is_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

/* Returns 1 when t[lo..hi-1] is a Roman numeral from 1 to 39 in one case (iv, XII). */
static int is_roman(const unsigned char *t, size_t lo, size_t hi)
{
    static const char *const units[] = {"", "i", "ii", "iii", "iv", "v", "vi", "vii", "viii",
                                        "ix"};
    char low[8];
    size_t n = hi - lo, k;
    if (n == 0 || n >= sizeof low)
        return 0;
    int upper = t[lo] >= 'A' && t[lo] <= 'Z';
    for (k = 0; k < n; k++) {
        if ((t[k + lo] >= 'A' && t[k + lo] <= 'Z') != upper)
            return 0;
        low[k] = (char)(t[k + lo] | 0x20);
    }
    low[n] = 0;
    for (k = 0; k < 3 && low[k] == 'x'; k++)
        ;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        if (strcmp(low + k, units[u]) == 0)
            return 1;
    return 0;
}

/* Returns 1 when t[lo..hi-1] is an acronym written with full stops between letters (U.S, Ph.D,
 * a.m, É.-U): pieces of one or two letters joined by '.' or ".-", at least two pieces. */
static int is_dotted_acronym(const unsigned char *t, size_t lo, size_t hi)
{
    size_t i = lo, next, pieces = 0;
    while (i < hi) {
        size_t letters = 0;
        while (i < hi && is_alnum(decode(t, hi, i, &next)) && !is_digit(t[i]))
            letters++, i = next;
        if (letters < 1 || letters > 2)
            return 0;
        pieces++;
        if (i == hi)
            break;
        if (t[i] != '.')
            return 0;
        i += 1 + (i + 1 < hi && t[i + 1] == '-');
        if (i == hi)
            return 0;
    }
    return pieces >= 2;
}

/* ---- the decision at a full stop ---------------------------------------------------------- */

/* Decides whether the single full stop at t[dot] ends a sentence that started at t[start], given
 * that the next word (after white space and opening quotes) starts at t[next] with a capital or
 * a digit; the word before the stop starts at t[word] (after its opening quotes). */
static int full_stop_ends(const lang_rules *r, const unsigned char *t, size_t len, size_t start,
                          size_t word, size_t dot, size_t next)
{
    int digit_next = is_digit(t[next]);
    if (word == dot)
        return 1;
    if (list_matches(r->always, t, start, dot))
        return 0;
    if (list_matches(r->numeric, t, start, dot))
        return !digit_next;
    int ambiguous = list_matches(r->ambiguous, t, start, dot);
    int letters, digits;
    size_t n = count_chars(t, word, dot, is_alnum, &letters);
    count_chars(t, word, dot, is_digit, &digits);
    letters = letters && !digits && n == 1;
    if (word == start && ((digits && n <= 3) || letters || is_roman(t, word, dot)))
        return 0; /* a list marker: "1. Install", "b. Edit", "iv. Run" */
    if (letters || is_dotted_acronym(t, word, dot) || (r->ordinals && digits && n <= 3))
        ambiguous = 1;
    return ambiguous ? starts_with_opener(r, t, len, next) : 1;
}

/* Returns where the sentence ends if the terminal marks t[mark..run-1] end it, else 0: the
 * closing quotes and brackets after them belong to the sentence; white space, then a capital, a
 * digit, an opening quote or a list bullet must follow, unless a CJK full stop is among them. */
static size_t sentence_end_at(const lang_rules *r, const unsigned char *t, size_t len,
                              size_t start, size_t word, size_t mark, size_t run)
{
    size_t end = run, i, next;
    int cjk = 0, dots = 0, ellipsis = 0, other = 0;
    for (i = mark; i < run; i = next) {
        uint32_t c = decode(t, len, i, &next);
        cjk |= is_cjk_stop(c);
        dots += c == '.' || c == 0xff0e;
        ellipsis |= c == 0x2026;
        other |= c != '.' && c != 0xff0e && c != 0x2026;
    }
    while (end < len) { /* closing quotes and brackets: "Stop." ) or, in French, « Non. » */
        uint32_t c = decode(t, len, end, &next);
        if (is_quote(c) || is_closing_bracket(c)) {
            end = next;
            continue;
        }
        size_t j = end; /* c is the character at j, next the end of it */
        while (r->spaced_closers && (c == ' ' || c == 0xa0 || c == 0x202f) && next < len)
            c = decode(t, len, j = next, &next);
        if (j > end && (c == 0xbb || c == 0x203a)) {
            end = next;
            continue;
        }
        break;
    }
    if (cjk)
        return end < len ? end : 0;
    if (end >= len || !is_space(decode(t, len, end, &next)))
        return 0;
    for (i = end; i < len; i = next) { /* the white space, then the opening quotes */
        uint32_t c = decode(t, len, i, &next);
        if (is_hard(c))
            return 0; /* a hard stop ends the sentence anyway */
        if (!is_space(c) && !is_opener(c))
            break;
    }
    if (i < len && bullet_at(t, len, i))
        return end; /* an item of a list written on one line: "Fast. * Small." */
    if (i >= len || !(is_upper(decode(t, len, i, &next)) || is_digit(t[i])))
        return 0;
    if (dots == 1 && !ellipsis && !other)
        return full_stop_ends(r, t, len, start, word, mark, i) ? end : 0;
    uint32_t before = decode_before(t, start, mark);
    if (!other && (before == '(' || before == '['))
        return 0; /* an elision mark: "[...] continues" */
    return end;
}

/* Returns the end of the sentence that starts at t[start] (a character that is not a space):
 * just after its last mark when a rule ends it, before the white space ahead of the next bullet
 * when it opens with a list bullet and the same bullet comes again, else after its last
 * character before a hard stop or the end of the text. */
static size_t sentence_end(const lang_rules *r, const unsigned char *t, size_t len, size_t start)
{
    size_t i = start, last = start, word = start, next;
    int seen_alnum = 0, in_word = 0; /* word: where the current word starts after its quotes */
    uint32_t bullet = bullet_at(t, len, start) ? decode(t, len, start, &next) : 0;
    while (i < len) {
        uint32_t c = decode(t, len, i, &next);
        if (is_hard(c))
            break;
        size_t after;
        if (bullet && seen_alnum && is_space(c) && bullet_at(t, len, next) &&
            decode(t, len, next, &after) == bullet)
            return last; /* the next item of a list flattened on one line: "* Sans * Serif" */
        if (!in_word && !is_space(c) && !is_opener(c)) {
            word = i;
            in_word = 1;
        }
        if (is_terminal(c)) {
            size_t run = next, end;
            while (run < len && is_terminal(decode(t, len, run, &next)))
                run = next;
            if (seen_alnum && (end = sentence_end_at(r, t, len, start, word, i, run)) != 0)
                return end;
            i = last = run;
            continue;
        }
        if ((c == ':' || c == ';') && seen_alnum) { /* a list on one line: "Uses: * Fast." */
            size_t j = next;
            while (j < len && t[j] == ' ')
                j++;
            if (j > next && bullet_at(t, len, j))
                return next;
        }
        if (is_space(c)) {
            in_word = 0;
        } else {
            last = next;
            seen_alnum |= is_alnum(c);
        }
        i = next;
    }
    return last;
}

/* ---- public functions ---------------------------------------------------------------------- */

/* Returns the rules for a language code (two letters, then the end, '-', '_', '.' or '@'),
 * &generic for NULL, or NULL when there are none. */
static const lang_rules *find_rules(const char *lang)
{
    if (!lang)
        return &generic;
    if (!lang[0] || !lang[1] || (lang[2] && !strchr("-_.@", lang[2])))
        return NULL;
    for (size_t k = 0; k < sizeof languages / sizeof languages[0]; k++)
        if ((lang[0] | 0x20) == languages[k].code[0] && (lang[1] | 0x20) == languages[k].code[1])
            return &languages[k];
    return NULL;
}

int sentences_whole(sentence_span *span, size_t *n, const char *text, size_t len)
{
    if (!span || !n || (!text && len))
        return ATTN_ERR_ARG;
    const unsigned char *t = (const unsigned char *)text;
    size_t lo = 0, hi = len, next, at;
    while (lo < len && is_space(decode(t, len, lo, &next)))
        lo = next;
    while (hi > lo && is_space(decode_back(t, lo, hi, &at)))
        hi = at;
    *n = hi > lo;
    *span = (sentence_span){lo, hi - lo};
    return ATTN_OK;
}

int sentences_lang_known(const char *lang)
{
    return lang && find_rules(lang) != NULL;
}

int sentences_split(sentence_span *spans, size_t cap, size_t *n, const char *text, size_t len,
                    const char *lang)
{
    if (!n || (!text && len))
        return ATTN_ERR_ARG;
    *n = 0;
    const lang_rules *r = find_rules(lang);
    if (!r)
        return ATTN_ERR_LANG;
    const unsigned char *t = (const unsigned char *)text;
    size_t count = 0, i = 0, next;
    while (i < len) {
        if (is_space(decode(t, len, i, &next))) {
            i = next;
            continue;
        }
        size_t end = sentence_end(r, t, len, i);
        if (count < cap)
            spans[count] = (sentence_span){i, end - i};
        count++;
        i = end;
    }
    *n = count;
    return count > cap ? ATTN_ERR_SPACE : ATTN_OK;
}

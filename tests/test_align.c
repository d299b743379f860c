/* test_align.c — word alignments put to work (src/align.h): boundaries projected through links,
 * links carried through edits of an output, and the two repairs that use them: tags put back
 * by markup_restore (src/markup.h) and protected spans by spans_restore (src/spans.h), each on
 * a given translation with given links, the right answer worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "markup.h"
#include "spans.h"
#include "status.h"

/* Parses Pharaoh text ("0-0 1-2") into links (room for cap); returns how many. */
static int pharaoh(al_link *links, int cap, const char *s)
{
    int n = 0, used;
    while (n < cap && sscanf(s, "%d-%d%n", &links[n].src, &links[n].tgt, &used) == 2) {
        n++;
        s += used;
    }
    return n;
}

/* Writes links (n) as Pharaoh text into out (cap bytes). */
static void to_pharaoh(char *out, size_t cap, const al_link *links, int n)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, i ? " %d-%d" : "%d-%d", links[i].src,
                              links[i].tgt);
}

/* ---- align.h --------------------------------------------------------------------------- */

static void test_words(void **state)
{
    (void)state;
    assert_int_equal(al_count_words("", 0), 0);
    assert_int_equal(al_count_words("  a b\tc\r\nd\f e\v ", 15), 5);
    assert_int_equal(al_count_words("caf\xc3\xa9\xc2\xa0noir", 11), 1);    /* NBSP: no space */
    assert_true(al_is_space(' ') && al_is_space('\v') && !al_is_space(0xa0));
}

static void test_project(void **state)
{
    (void)state;
    al_link l[8] = {{0, 0}};
    /* no links: the relative position (3 of 6 source words -> 2 of 4 output words) */
    assert_int_equal(al_project(l, 0, 3, 6, 4), 2);
    assert_int_equal(al_project(l, 0, 0, 6, 4), 0);
    assert_int_equal(al_project(l, 0, 6, 6, 4), 4);
    /* monotone links 0-0 1-1 2-3 3-4: the boundary before source word 2 goes before output
     * word 2 or 3 (output word 2 is unlinked; both cross nothing), equally near 2 * 5/4: the
     * first */
    int n = pharaoh(l, 8, "0-0 1-1 2-3 3-4");
    assert_int_equal(al_project(l, n, 2, 4, 5), 2);
    assert_int_equal(al_project(l, n, 1, 4, 5), 1);
    assert_int_equal(al_project(l, n, 4, 4, 5), 5);
    /* swapped words (free software -> logiciel libre): 0-0 1-2 2-1 3-3; before source word 1
     * crosses nothing only at output boundary 1 */
    n = pharaoh(l, 8, "0-0 1-2 2-1 3-3");
    assert_int_equal(al_project(l, n, 1, 4, 4), 1);
    assert_int_equal(al_project(l, n, 3, 4, 4), 3);
}

static void test_word_map(void **state)
{
    (void)state;
    /* "Utilisez le port pour" with "8080 " put in before "pour" (offset 17) */
    const char *old = "Utilisez le port pour", *new = "Utilisez le port 8080 pour";
    al_edit ed[2] = {{17, 0, 5}};
    int map[4];
    al_word_map(map, old, strlen(old), ed, 1, new, strlen(new));
    assert_int_equal(map[0], 0);
    assert_int_equal(map[1], 1);
    assert_int_equal(map[2], 2);
    assert_int_equal(map[3], 4);
    /* "a bad-word c": "bad-word" (2..9) replaced by "X", then " c" deleted */
    old = "a bad-word c";
    new = "a X";
    ed[0] = (al_edit){2, 8, 1};
    ed[1] = (al_edit){10, 2, 0};
    al_word_map(map, old, strlen(old), ed, 2, new, strlen(new));
    assert_int_equal(map[0], 0);
    assert_int_equal(map[1], 1);
    assert_int_equal(map[2], -1);
    /* a word losing its first bytes only: "(3.1" -> "3.1" keeps its word */
    old = "x (3.1";
    new = "x 3.1";
    ed[0] = (al_edit){2, 1, 0};
    al_word_map(map, old, strlen(old), ed, 1, new, strlen(new));
    assert_int_equal(map[1], 1);
    /* two words glued by the deletion of the space between them */
    old = "ab cd ef";
    new = "abcd ef";
    ed[0] = (al_edit){2, 1, 0};
    al_word_map(map, old, strlen(old), ed, 1, new, strlen(new));
    assert_int_equal(map[0], 0);
    assert_int_equal(map[1], 0);
    assert_int_equal(map[2], 1);
}

static void test_relink(void **state)
{
    (void)state;
    al_link l[8];
    int n = pharaoh(l, 8, "0-0 1-1 1-2 2-3");
    int map[4] = {0, 2, -1, 1};
    char s[64];
    n = al_relink(l, n, map);
    to_pharaoh(s, sizeof s, l, n);
    assert_string_equal(s, "0-0 1-2 2-1");
    n = al_add_link(l, n, (al_link){1, 0});
    n = al_add_link(l, n, (al_link){1, 0});
    to_pharaoh(s, sizeof s, l, n);
    assert_string_equal(s, "0-0 1-0 1-2 2-1");
}

/* ---- markup_restore with links ------------------------------------------------------------ */

/* Puts the tags of record rec (kind) back into hyp with links; checks the result is want. */
static void placed(markup_kind kind, const char *rec, const char *hyp, const char *links,
                   const char *want)
{
    markup *m;
    char why[160];
    al_link l[64];
    int n = pharaoh(l, 64, links);
    assert_int_equal(markup_parse(&m, kind, rec, strlen(rec), why, sizeof why), ATTN_OK);
    char *out;
    size_t len;
    assert_int_equal(markup_restore(m, hyp, strlen(hyp), l, n, &out, &len), ATTN_OK);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "record %s\n  links %s\n  got  %s\n  want %s\n", rec, links, out, want);
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);
    markup_free(m);
}

static void test_markup_links(void **state)
{
    (void)state;
    /* the element goes around the word linked to its word, wherever the model put it, and
     * closes before the final punctuation that the source did not enclose */
    placed(MARKUP_HTML, "<p>This program is a <em>free</em> software.</p>",
           "Ce programme est un logiciel libre.", "0-0 1-1 2-2 3-3 4-5 5-4",
           "<p>Ce programme est un logiciel <em>libre</em>.</p>");
    /* without links: the same relative position (on logiciel: wrong, and why links matter) */
    placed(MARKUP_HTML, "<p>This program is a <em>free</em> software.</p>",
           "Ce programme est un logiciel libre.", "",
           "<p>Ce programme est un <em>logiciel</em> libre.</p>");
    /* a run: the words linked inside, not the word between linked to outside ("et") */
    placed(MARKUP_HTML, "<p>A game for <b>young children</b> and <b>adults</b>.</p>",
           "Un jeu pour les jeunes enfants et les adultes.",
           "0-0 1-1 2-2 3-4 4-5 5-6 6-8",
           "<p>Un jeu pour les <b>jeunes enfants</b> et les <b>adultes</b>.</p>");
    /* an unlinked word next to the run joins it when the links put the edge past it: "le" is
     * unlinked, and the boundary before "the" projects before it */
    placed(MARKUP_HTML, "Read <i>the manual</i> first.", "Lisez le manuel d'abord.",
           "0-0 2-2 3-3", "Lisez <i>le manuel</i> d'abord.");
    /* nested elements stay nested, each widened over the unlinked "en" before its words (the
     * links put both edges there): "en gras", "en italique" are French for bold, italic */
    placed(MARKUP_HTML, "<div><p>Nested <b>bold and <i>italic</i></b> words.</p></div>",
           "Des mots en gras et en italique.", "0-0 1-3 2-4 3-6 4-1",
           "<div><p>Des mots <b>en gras et <i>en italique</i></b>.</p></div>");
    /* crossing siblings keep document order (the output stays well-formed): the first goes
     * on its word, and the second, whose word came first, finds no word left */
    placed(MARKUP_XML, "<item>Fast</item> and <item>small</item>.", "petit et rapide.",
           "0-2 1-1 2-0", "petit et <item>rapide</item>.<item></item>");
    /* a void element where the fewest links cross */
    placed(MARKUP_HTML, "An image <img src=\"a.png\"/> of the project.",
           "Une image du projet.", "0-0 1-1 2-2 4-3",
           "Une image <img src=\"a.png\"/> du projet.");
    /* an element whose words have no link: its edges where the links put them */
    placed(MARKUP_HTML, "Say <b>hi</b> to all.", "Dites bonjour à tous.", "0-0 2-2 3-3",
           "Dites <b>bonjour</b> à tous.");
    /* code reaches the model as `code` and comes back as the element; the links of the words
     * after it still find them (its two words become one while tags are placed) */
    placed(MARKUP_HTML, "Run <code>make install</code> as <b>root</b>.",
           "Exécutez `make install` en tant que root.", "0-0 1-1 2-2 3-3 3-5 4-6",
           "Exécutez <code>make install</code> en tant que <b>root</b>.");
    /* links out of range are ignored */
    placed(MARKUP_HTML, "This <b>package</b> provides a library.",
           "Ce paquet fournit une bibliothèque.", "0-0 1-1 2-2 3-3 4-4 9-9 1-77",
           "Ce <b>paquet</b> fournit une bibliothèque.");
}

/* ---- spans_restore with links ------------------------------------------------------------- */

/* Repairs hyp's spans of src with links; checks the output and the carried links. */
static void repaired(const char *src, const char *hyp, const char *links, const char *want,
                     const char *want_links)
{
    spans *sp;
    assert_int_equal(spans_open(&sp), ATTN_OK);
    al_link in[64], out[64];
    spans_links sl = {in, pharaoh(in, 64, links), out, 64, 0};
    char *fixed, s[256];
    size_t len;
    assert_int_equal(spans_restore(sp, src, strlen(src), hyp, strlen(hyp), &sl, &fixed, &len,
                                   NULL), ATTN_OK);
    to_pharaoh(s, sizeof s, out, sl.n_out);
    if (strcmp(fixed, want) != 0 || strcmp(s, want_links) != 0)
        fprintf(stderr, "src %s\n  got  %s ||| %s\n  want %s ||| %s\n", src, fixed, s, want,
                want_links);
    assert_string_equal(fixed, want);
    assert_string_equal(s, want_links);
    free(fixed);
    spans_free(sp);
}

static void test_spans_links(void **state)
{
    (void)state;
    /* a missing number put in where the links say (the relative position would put it before
     * "le"), linked to its source word; the words after it move one on */
    repaired("Use port 8080 for the web server of this machine.",
             "Utilisez le port pour le serveur web de cette machine.",
             "0-0 1-2 3-3 4-4 5-6 6-5 7-7 8-8 9-9",
             "Utilisez le port 8080 pour le serveur web de cette machine.",
             "0-0 1-2 2-3 3-4 4-5 5-7 6-6 7-8 8-9 9-10");
    /* a garbled identifier replaced: its word keeps its links, and gets the exact one */
    repaired("Fixes CVE-2023-12345 in the parser.", "Corrige CVE-2035-123 dans l'analyseur.",
             "0-0 2-1 2-2 4-3", "Corrige CVE-2023-12345 dans l'analyseur.",
             "0-0 1-1 2-1 2-2 4-3");
    /* a surplus copy removed: its links go, the next word's move back */
    repaired("Version 3.12 only.", "Version 3.12 3.12 seulement.", "0-0 1-1 1-2 2-3",
             "Version 3.12 seulement.", "0-0 1-1 2-2");
    /* no links given: the relative position, and only the link of the span put in */
    repaired("Listen on port 8080 now.", "Écoutez sur le port maintenant.", "",
             "Écoutez sur le port 8080 maintenant.", "3-4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),        cmocka_unit_test(test_project),
        cmocka_unit_test(test_word_map),     cmocka_unit_test(test_relink),
        cmocka_unit_test(test_markup_links), cmocka_unit_test(test_spans_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

# attn — build, test, benchmark and install.
#
#   make                      build ./attn
#   make check                build and run every test (installs missing dependencies first)
#   make check SANITIZE=address,undefined   the same under ASan + UBSan (objects in build-san/)
#   make bench                benchmarks, attn side by side with its peers
#   make fuzz [FUZZ_SECONDS=N] run the libFuzzer targets for a bounded time (clang)
#   make install [PREFIX=/usr/local] [DESTDIR=]   /   make uninstall
#   make model                retrain the default model from scratch (hours; see README), or
#                             one more stretch: make model INIT=models/en-fr.attn; every run is
#                             logged in models/en-fr.runs.md

CC       ?= cc
CFLAGS   ?= -O2 -g
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR    = $(PREFIX)/bin
MANDIR    = $(PREFIX)/share/man
DATADIR   = $(PREFIX)/share/attn
PKG_CONFIG ?= pkg-config
FUZZ_SECONDS ?= 60

# Missing dependencies are installed by scripts/setup/install-deps.sh before anything is built.
NODEP_GOALS := clean uninstall help
ifeq ($(filter-out $(NODEP_GOALS),$(or $(MAKECMDGOALS),all)),)
else
DEPS_MISSING := $(shell { $(PKG_CONFIG) --exists libpcre2-8 zlib cmocka libxml-2.0 && \
                  command -v mandoc && command -v xmllint && /usr/bin/python3 -c 'import numpy'; } \
                  >/dev/null 2>&1 || echo yes)
ifeq ($(DEPS_MISSING),yes)
$(info attn: some dependencies are missing; running scripts/setup/install-deps.sh)
DEPS_STATUS := $(shell sh scripts/setup/install-deps.sh >&2 && echo ok)
ifneq ($(DEPS_STATUS),ok)
$(error scripts/setup/install-deps.sh failed: install PCRE2, zlib and cmocka development files)
endif
endif
endif

PCRE_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpcre2-8 2>/dev/null)
PCRE_LIBS   := $(shell $(PKG_CONFIG) --libs libpcre2-8 2>/dev/null)
ZLIB_CFLAGS := $(shell $(PKG_CONFIG) --cflags zlib 2>/dev/null)
ZLIB_LIBS   := $(shell $(PKG_CONFIG) --libs zlib 2>/dev/null)
XML_CFLAGS  := $(shell $(PKG_CONFIG) --cflags libxml-2.0 2>/dev/null)
XML_LIBS    := $(shell $(PKG_CONFIG) --libs libxml-2.0 2>/dev/null)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

ifneq ($(SANITIZE),)
BUILD    ?= build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD    ?= build
SANFLAGS :=
endif

ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -DATTN_DATADIR='"$(DATADIR)"' -Wall -Wextra -pthread -Isrc -Itokenizer \
              $(PCRE_CFLAGS) $(ZLIB_CFLAGS) $(SANFLAGS) $(CFLAGS) $(XFLAGS)
ALL_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS)
LIBS        = $(ZLIB_LIBS) $(PCRE_LIBS) -lm

# libxml2 (--markup) is compiled into the markup files only.
$(BUILD)/src/markup.o $(BUILD)/src/markup_place.o: XFLAGS = $(XML_CFLAGS)

# Per-file instruction sets: kernels choose among them at run time.
$(BUILD)/%_avx2.o:   XFLAGS = -mavx2 -mfma -mf16c
$(BUILD)/%_avx512.o: XFLAGS = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16 \
                              -mavx512vnni -mavx2 -mfma -mf16c

TOK_SRC  := $(wildcard tokenizer/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
LIB_SRC  := $(wildcard src/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

TOK_OBJ  := $(TOK_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/%)
LIBTOK   := $(BUILD)/libtok.a
LIBATTN  := $(BUILD)/libattn.a
ATTN_BIN := $(BUILD)/attn

# FORCE: a prerequisite that is always out of date.
.PHONY: FORCE all check check-unit check-cli check-man check-reference bench fuzz install uninstall \
        clean model help
.DEFAULT_GOAL := all

all: attn

ifeq ($(SANITIZE),)
attn: $(ATTN_BIN)
	cp $< $@.tmp && mv -f $@.tmp $@
else
attn: $(ATTN_BIN)
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The installed model's directory is compiled into cli/common.o: rebuild it when PREFIX changes.
$(BUILD)/datadir.txt: FORCE
	@mkdir -p $(BUILD)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' > $@
$(BUILD)/src/cli/common.o: $(BUILD)/datadir.txt
FORCE:

$(LIBTOK): $(TOK_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBATTN): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(ATTN_BIN): $(CLI_OBJ) $(LIBATTN) $(LIBTOK)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIBATTN) $(LIBTOK) $(LIBS) $(XML_LIBS)

$(BUILD)/test_%: tests/test_%.c $(LIBATTN) $(LIBTOK)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -MMD -MP $(ALL_LDFLAGS) -o $@ $< \
	    $(LIBATTN) $(LIBTOK) $(CMOCKA_LIBS) $(LIBS) $(XML_LIBS)

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d $(BUILD)/*/*/*.d)

# ---- tests -------------------------------------------------------------------------------

check: check-unit check-cli check-man
	@echo "attn: all checks passed"

# The tokenizer benchmark's in-process part (scripts/bench/tokenizer.sh runs it); check builds it
# too, so that it keeps compiling.
BENCH_TOK := $(BUILD)/bench-tokenizer
$(BENCH_TOK): scripts/bench/tokenizer.c $(LIBTOK)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(ALL_LDFLAGS) -o $@ $< $(LIBTOK) $(PCRE_LIBS)

# The sentence splitter's benchmark (scripts/bench/sentences.sh runs it); built by check too.
BENCH_SENT := $(BUILD)/bench-sentences
$(BENCH_SENT): scripts/bench/sentences.c $(LIBATTN)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(ALL_LDFLAGS) -o $@ $< $(LIBATTN)

check-unit: $(TESTS) $(BENCH_TOK) $(BENCH_SENT)
	@fail=0; for t in $(TESTS); do \
	    echo "== $$t"; $$t || fail=1; \
	done; test $$fail -eq 0

check-cli: attn
	@fail=0; for t in tests/cli/*.sh; do \
	    echo "== $$t"; ATTN=$(CURDIR)/$(ATTN_BIN) sh $$t || fail=1; \
	done; test $$fail -eq 0

check-man: attn
	@sh tests/check-man.sh $(CURDIR)/$(ATTN_BIN)

check-reference: attn $(BUILD)/test_transformer
	/usr/bin/python3 -m scripts.goldens.reference --check --attn $(CURDIR)/$(ATTN_BIN)

# ---- benchmarks, fuzzing, model ----------------------------------------------------------

bench: attn $(BENCH_TOK)
	sh scripts/bench/all.sh $(CURDIR)/$(ATTN_BIN)

FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
# A target may name the only sources it needs in FUZZ_LIB_<name> (default: all but ISA-specific).
FUZZ_LIB_modelfile := $(wildcard src/modelfile*.c) src/threadpool.c src/dtype.c src/status.c
FUZZ_LIB_bpe := $(TOK_SRC)
FUZZ_LIB_sentences := src/sentences.c src/status.c
FUZZ_LIB_spm := $(TOK_SRC)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) $(TOK_SRC) $(wildcard tokenizer/*.h)
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -pthread -Isrc -Itokenizer $(PCRE_CFLAGS) $(ZLIB_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< \
	    $(or $(FUZZ_LIB_$*),$(filter-out %_avx2.c %_avx512.c,$(LIB_SRC)) $(TOK_SRC)) $(LIBS)

fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
	    name=$${f#build-fuzz/fuzz_}; mkdir -p build-fuzz/corpus-$$name; \
	    echo "== $$f ($(FUZZ_SECONDS) s)"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	        build-fuzz/corpus-$$name tests/data/fuzz-$$name || exit 1; \
	done

model:
	INIT='$(INIT)' sh scripts/model/make-model.sh

# ---- install -----------------------------------------------------------------------------

install: $(ATTN_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)
	install -m 755 $(ATTN_BIN) $(DESTDIR)$(BINDIR)/attn
	install -m 644 man/attn.1 $(DESTDIR)$(MANDIR)/man1/attn.1
	for f in man/*.5; do [ -f "$$f" ] && install -m 644 $$f $(DESTDIR)$(MANDIR)/man5/; done; true
	for f in models/*.attn; do [ -f "$$f" ] && install -m 644 $$f $(DESTDIR)$(DATADIR)/; done; true

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/attn $(DESTDIR)$(MANDIR)/man1/attn.1 $(DESTDIR)$(MANDIR)/man5/attn-format.5
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build build-san build-fuzz attn

help:
	@sed -n '2,10p' Makefile

# compllm — build, test, install.  See README.md.
# Everything is found by wildcard: lib/*.c -> build/libcl.a, src/cl-*.c -> bin/cl-*,
# tests/unit/test_*.c -> tests/bin/test_*, tests/fuzz/fuzz_*.c -> fuzz targets.

PREFIX  ?= /usr/local
CC      ?= cc
PKGS    := openblas icu-uc icu-i18n libpcre2-8 jansson libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -std=c11 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wmissing-prototypes -Wstrict-prototypes
# Warnings are errors for developers and CI (`make DEVELOPER=1`, .ci/run), not for users' compilers.
ifeq ($(DEVELOPER),1)
WARN    += -Werror
endif
DEFS    := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
# -MMD -MP: each object also writes its header dependencies (X.d next to it, included below).
ALL_CFLAGS = $(CFLAGS) $(WARN) $(DEFS) -MMD -MP -pthread -Ilib $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = $(PKG_LIBS) -lm -pthread $(EXTRA_LDLIBS)

B       ?= build
BIN     ?= bin
TBIN    ?= tests/bin

# `make CUDA=1` builds the optional GPU offload (lib/cuda/*.cu) with nvcc.
ifeq ($(CUDA),1)
NVCC    ?= nvcc
CUDA_LIB ?= /usr/local/cuda/lib64
CU_SRC  := $(wildcard lib/cuda/*.cu)
CU_OBJ  := $(CU_SRC:lib/cuda/%.cu=$(B)/cuda_%.o)
DEFS    += -DCL_CUDA=1
LDLIBS  += -L$(CUDA_LIB) -Wl,-rpath,$(CUDA_LIB) -lcublas -lcudart -lstdc++
endif

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:lib/%.c=$(B)/%.o)
LIB_HDR := $(wildcard lib/*.h lib/cuda/*.h)
LIBCL   := $(B)/libcl.a
TOOLS   := $(patsubst src/%.c,$(BIN)/%,$(wildcard src/cl-*.c))
UNIT    := $(patsubst tests/unit/%.c,$(TBIN)/%,$(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_BIN := $(patsubst tests/bench/%.c,$(TBIN)/%,$(wildcard tests/bench/bench_*.c))
MAN     := $(wildcard man/*.1 man/*.5)

.PHONY: all tools unit test check-asan fuzz bench bench-bin eval-report install uninstall deps clean

all: tools unit

tools: $(TOOLS)
unit: $(UNIT)

# A stamp of the build's flavour (CPU or CUDA=1): switching flavours rebuilds the objects.
FLAVOUR := $(B)/flavour-$(if $(filter 1,$(CUDA)),cuda,cpu)
$(FLAVOUR): | $(B)
	rm -f $(B)/flavour-* && touch $@

$(B)/%.o: lib/%.c $(FLAVOUR) | $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# ops.c's exp/softmax/SwiGLU loops and attention.c's vectorise only with these (see lib/ops.c).
$(B)/ops.o $(B)/attention.o: ALL_CFLAGS += -fno-trapping-math -ftree-loop-vectorize -fvect-cost-model=dynamic
# mat_q8.c's portable integer dot products (the kernels of CPUs without AVX2) likewise.
$(B)/mat_q8.o: ALL_CFLAGS += -ftree-loop-vectorize -fvect-cost-model=dynamic

$(B)/cuda_%.o: lib/cuda/%.cu $(LIB_HDR) $(FLAVOUR) | $(B)
	$(NVCC) -O2 -Ilib -DCL_CUDA=1 -Xcompiler -Wall,-Wextra,-Werror -c -o $@ $<

$(B):
	mkdir -p $(B)

$(LIBCL): $(LIB_OBJ) $(CU_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BIN)/%: src/%.c $(LIBCL)
	@mkdir -p $(BIN)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBCL) $(LDLIBS)

$(TBIN)/%: tests/unit/%.c $(LIBCL)
	@mkdir -p $(TBIN)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIBCL) $(LDLIBS)

$(TBIN)/bench_%: tests/bench/bench_%.c $(LIBCL)
	@mkdir -p $(TBIN)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBCL) $(LDLIBS)

# bench_gguf prints every kernel family the library reports: each `const char *cl_NAME_isa(void)`
# defined in libcl.a, listed here by nm (tests/bench/bench_gguf.c).
$(B)/kernel_isa.h: $(LIBCL)
	nm -g --defined-only $(LIBCL) | awk '$$2 == "T" && $$3 ~ /^cl_[a-z0-9_]+_isa$$/ { print "ISA(" $$3 ")" }' | sort -u > $@
$(TBIN)/bench_gguf: $(B)/kernel_isa.h
$(TBIN)/bench_gguf: ALL_CFLAGS += -I$(B)

-include $(wildcard $(B)/*.d $(BIN)/*.d $(TBIN)/*.d)

# The test command of the README: unit tests (TAP) and bats CLI tests, one summary line.
test: all
	@tests/run

# Same tests under AddressSanitizer + UndefinedBehaviorSanitizer, in a separate build tree
# (float-cast-overflow named: GCC's -fsanitize=undefined leaves it out).
ASAN_FLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=all
check-asan:
	$(MAKE) B=build-asan/obj BIN=build-asan/bin TBIN=build-asan/tests OPT=-O1 \
	  EXTRA_CFLAGS="$(ASAN_FLAGS)" EXTRA_LDLIBS="$(ASAN_FLAGS)" all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  CL_ASAN=1 CL_BIN=build-asan/bin CL_TBIN=build-asan/tests tests/run

# libFuzzer targets (clang): `make fuzz` builds them and runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 20
fuzz:
	tests/fuzz/run $(FUZZ_SECONDS)

bench: tools $(BENCH_BIN)
	tests/bench/run

# The benchmark programs alone (CI builds them with -Werror; it never runs them).
bench-bin: $(BENCH_BIN)

# Quality of every compressor in models/ against the baselines -> docs/eval (tests/eval/report.sh;
# EVAL_LIMIT, EVAL_TRIALS, EVAL_LENGTHS, EVAL_DEPTHS make it longer or shorter).
eval-report: tools
	tests/eval/report.sh

# `make install PREFIX=P`: tools in P/bin, man pages in P/share/man, the shipped compressors and
# their README in P/share/compllm (where the tools look first, lib/datadir.h).  `make uninstall
# PREFIX=P` removes exactly those files.
DATA    := $(wildcard models/*.gguf) models/README.md
install: tools
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/compllm
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	for m in $(MAN); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	install -m 644 $(DATA) $(DESTDIR)$(PREFIX)/share/compllm/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(TOOLS)))
	for m in $(MAN); do s=$${m##*.}; rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$${m##*/}; done
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/compllm/,$(notdir $(DATA)))
	-rmdir $(DESTDIR)$(PREFIX)/share/compllm 2>/dev/null

deps:
	.ci/deps

clean:
	rm -rf build build-asan build-fuzz tests/bin tests/tmp bin/cl-*

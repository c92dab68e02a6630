# Thin wrapper around meson: `make demo` and `make check` are the quick start.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CCCHEF = $(BUILD)/src/ccchef
# Seconds per fuzz target for `make fuzz` (docs/fuzzing.md); `make check`
# runs each for CHECK_FUZZ_RUNS executions from a fixed random seed
# (repeatable, whatever the machine's speed; 15 to 30 s in all).
FUZZ_SECONDS ?= 300
CHECK_FUZZ_RUNS ?= 3000
FUZZ_TARGETS = recipe template json bundle http

.PHONY: all build asan fuzz-build fuzz demo check bench clean deps

all: build

deps:
	@tools/install-deps build

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) >/dev/null
	@ninja -C $(BUILD) >/dev/null

# The sanitizer build runs the unit tests under ASan + UBSan.
asan: deps
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C $(ASAN_BUILD) >/dev/null

# The fuzz targets linked with libFuzzer: clang, ASan + UBSan.
fuzz-build: deps
	@tools/install-deps fuzz
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C $(FUZZ_BUILD) $(FUZZ_TARGETS:%=tests/fuzz/fuzz_%) >/dev/null

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_FINDINGS=$(CURDIR)/$(FUZZ_BUILD)/fuzz-findings \
		meson test -C $(FUZZ_BUILD) --suite fuzz --no-rebuild --print-errorlogs --verbose

demo: build
	@tools/demo $(CCCHEF)

check: build asan fuzz-build
	@tools/install-deps test
	@FUZZ_RUNS=$(CHECK_FUZZ_RUNS) tests/run $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# Numbers, not a test: see docs/performance.md.
bench: build
	@tools/install-deps bench
	@tools/bench $(CCCHEF)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

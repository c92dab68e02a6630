# Thin wrapper around meson: `make demo` and `make check` are the quick start.
BUILD ?= build
ASAN_BUILD ?= build-asan
CCCHEF = $(BUILD)/src/ccchef

.PHONY: all build asan demo check bench clean deps

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

demo: build
	@tools/demo $(CCCHEF)

check: build asan
	@tools/install-deps test
	@tests/run $(BUILD) $(ASAN_BUILD)

# Numbers, not a test: see docs/performance.md.
bench: build
	@tools/install-deps bench
	@tools/bench $(CCCHEF)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# The project's entry points. Each first installs what it needs
# (scripts/install-deps.sh, idempotent).
#
#   make demo    build the CLI and run the demo on embedded defaults
#   make test    build everything and run every test, then the library's
#                unit tests again under AddressSanitizer + UBSan
#   make bench   build in Release and run the benchmarks
#   make fuzz    build the libFuzzer targets with clang and run each briefly
#   make format  clang-format every C++ file

JOBS ?= $(shell nproc)
CMAKE_GEN := -G Ninja
BUILD := build
ASAN_BUILD := build-asan
BENCH_BUILD := build-bench
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 30

.PHONY: all deps build test test-asan demo bench fuzz format clean

all: build

deps:
	@bash scripts/install-deps.sh

# The tree `make demo` and `make test` share is compiled -O1 without debug
# information: on 2 cores it builds in about 12 minutes instead of 21 at
# RelWithDebInfo (-O2 -g), and the tests run as fast (OpenSSL, SQLite and
# the servers do the heavy work). For a debugger, configure a tree of your
# own: cmake -S . -B dbg -G Ninja -DCMAKE_BUILD_TYPE=Debug.
$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DAZTP_WERROR=ON \
	  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG"

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure
	$(MAKE) --no-print-directory test-asan

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DAZTP_WERROR=ON \
	  -DAZTP_SANITIZE=address,undefined -DAZTP_LIB_TESTS_ONLY=ON \
	  -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 ctest -j $(JOBS) -L unit --output-on-failure

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: deps
	@AZTP_DEPS_BENCH=1 bash scripts/install-deps.sh
	cmake -S . -B $(BENCH_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release \
	  -DAZTP_BUILD_BENCH=ON -DAZTP_BUILD_TESTS=OFF
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	@bash scripts/bench.sh $(BENCH_BUILD)

fuzz: deps
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DAZTP_FUZZ=ON \
	  -DAZTP_SANITIZE=address,undefined -DAZTP_LIB_TESTS_ONLY=ON \
	  -DAZTP_BUILD_TESTS=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD) $(FUZZ_BUILD)

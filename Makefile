# Seek — the two commands of the README, plus bench and fuzz.
#   make run    install missing Debian packages (as root), build, chat with models/default.gguf (or MODEL=…)
#   make test   build and run the whole test suite, then again under ASan+UBSan
#   make bench  kernel and model benchmarks
#   make fuzz   the GGUF and safetensors fuzzers, for longer than `make test` runs them
JOBS  ?= $(shell nproc)
BUILD ?= build
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 300
MODEL ?= models/default.gguf

.PHONY: all build run test test-fast test-asan test-aarch64 test-aarch64-quick bench fuzz deps clean install

all: build

deps:
	@sh scripts/deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DSEEK_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@if [ ! -e "$(MODEL)" ]; then \
	  echo "seek: no model at $(MODEL); try: make run MODEL=path/to/model.gguf (or a Hugging Face folder)"; \
	  exit 1; fi
	./$(BUILD)/seek chat -m $(MODEL)

test:
	@sh scripts/deps.sh test
	@$(MAKE) --no-print-directory test-fast
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30
	@$(MAKE) --no-print-directory test-aarch64-quick

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE fuzz

test-asan:
	@cmake -S . -B $(BUILD)-asan -G Ninja -DSEEK_WERROR=ON -DSEEK_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  SEEK_SANITIZED=1 ctest --output-on-failure -j $(JOBS) -LE 'slow|fuzz'

# aarch64 cross build and the whole test suite under qemu-aarch64 (SKIP where the cross tools
# cannot be installed); about 15 minutes on 2 cores, so `make test` runs the subset below.
test-aarch64:
	@sh scripts/test-aarch64.sh

# part of `make test`: the aarch64 cross build and one or more tests of every layer under qemu
# (util, formats, tensor types, kernels at the scalar and NEON levels, sgemm, tokenizer, model
# logits against the golden files, decode, the C API): about a minute of tests after the build
AARCH64_QUICK = test_util|test_gguf|test_safetensors|test_tensor|test_kernel|test_sgemm|test_matvec|test_model_golden|test_model_decode|test_tokenizer$$|test_api$$
test-aarch64-quick:
	@SEEK_AARCH64_TESTS='$(AARCH64_QUICK)' sh scripts/test-aarch64.sh

bench: build
	./$(BUILD)/seek bench kernels

fuzz:
	@sh scripts/deps.sh fuzz
	@cmake -S . -B $(BUILD)-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DSEEK_FUZZ=ON >/dev/null
	@cmake --build $(BUILD)-fuzz -j $(JOBS) --target fuzz_gguf fuzz_safetensors
	cd $(BUILD)-fuzz && SEEK_FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --output-on-failure -L fuzz

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz

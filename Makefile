SHELL := /bin/bash
# The two commands of the README: `make demo` and `make test`. Each installs the
# Debian packages it needs, builds, and runs.
SWIFT ?= swift
DEBIAN_PACKAGES = libdnnl-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev libwebp-dev libtiff-dev libheif-dev cmake dataset-fashion-mnist
C_BUILD = .build-c

.PHONY: demo test test-c test-c-sanitize test-swift test-widths test-arm64 test-sanitize docs deps release clean

# The bundled Fashion-MNIST model classifies the sample images (named by their true
# class) with early exit: confident images leave at the cheap exits.
demo: release
	.build/release/ranet predict Samples/images --top 2

test: test-c test-c-sanitize test-swift test-widths

deps:
	@scripts/install-deps.sh $(DEBIAN_PACKAGES)

release: deps
	$(SWIFT) build -c release --product ranet

# The C bridge on its own, built by CMake and tested with ctest.
test-c: deps
	cmake -S . -B $(C_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(C_BUILD) -j 2
	cd $(C_BUILD) && ctest --output-on-failure

# The same C tests under AddressSanitizer (with leak checks) and UndefinedBehaviorSanitizer.
test-c-sanitize: deps
	cmake -S . -B $(C_BUILD)-sanitize -DCMAKE_BUILD_TYPE=Debug -DCRANET_SANITIZE=ON >/dev/null
	cmake --build $(C_BUILD)-sanitize -j 2
	cd $(C_BUILD)-sanitize && ctest --output-on-failure

# What only the tests need: Chromium renders `predict --report`'s page; ONNX Runtime and
# OpenVINO (from PyPI) run the ONNX files `ranet convert` writes; tritonclient drives `ranet serve`.
TEST_PACKAGES = chromium
TEST_PYTHON_PACKAGES = onnxruntime openvino "tritonclient[http]"

# Plans measured by the tests stay in the build folder, not in the user's cache.
test-swift test-widths test-sanitize: export XDG_CACHE_HOME = $(CURDIR)/.build/test-cache

test-swift: deps
	@scripts/install-deps.sh $(TEST_PACKAGES)
	@python3 -c "import onnxruntime, openvino, tritonclient.http" 2>/dev/null || python3 -m pip install -q $(TEST_PYTHON_PACKAGES)
	$(SWIFT) test --disable-swift-testing

# The tests that run the network again, with the default lane width capped
# (RANET_MAX_LANES) and oneDNN held to the matching instruction set: what an
# AVX2-only CPU (8), one without AVX2 (4), and every image alone (1) run. The tests
# themselves also loop over every width within the cap. ParityTests also matches
# TrainingParityTests: training on oneDNN's AVX2 and SSE4.1 kernels, as those CPUs run it.
WIDTH_TESTS = RANetModelTests|PrecisionTests|StagedInputsTests|ParityTests|SingleImagePlanTests|EarlyExitTests|ImageClassificationTests|PredictCommandTests|AdaptiveCommandTests|ReadmeExampleTests|GradientCheckTests
test-widths: deps
	RANET_MAX_LANES=8 DNNL_MAX_CPU_ISA=AVX2 $(SWIFT) test --disable-swift-testing --filter '$(WIDTH_TESTS)'
	RANET_MAX_LANES=4 DNNL_MAX_CPU_ISA=SSE41 $(SWIFT) test --disable-swift-testing --filter '$(WIDTH_TESTS)'
	RANET_MAX_LANES=1 $(SWIFT) test --disable-swift-testing --filter '$(WIDTH_TESTS)'

# The C tests cross-compiled for arm64 and run under qemu-user (scripts/test-arm64.sh
# installs what it needs).
test-arm64: deps
	scripts/test-arm64.sh

# The Swift tests under AddressSanitizer (all of them; leak reports off, since oneDNN and
# the Swift runtime keep process-lifetime caches) and ThreadSanitizer (the paths where
# threads share a model). CI runs this after `make test`.
test-sanitize: deps
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan --disable-swift-testing
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --disable-swift-testing \
		--filter 'RANetModelTests|EarlyExitTests|ImageClassificationTests|PredictCommandTests|ClassificationServiceTests'

# The DocC documentation of the RANet library, into .build/docs: fails on any DocC warning
# and on any public symbol without a summary.
docs: deps
	$(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target RANet \
		--output-path .build/docs --warnings-as-errors \
		--experimental-documentation-coverage --coverage-summary-level detailed
	python3 scripts/check_doc_coverage.py .build/docs/documentation-coverage.json

clean:
	rm -rf .build .build-asan .build-tsan .build-arm64 $(C_BUILD) $(C_BUILD)-sanitize

# libFuzzer over every reader of untrusted files (Fuzz/), FUZZ_SECONDS per target,
# starting from the seeds in Tests/Fuzz/corpus; a finding stops with its input saved
# in .build-fuzz/findings/ (keep it as a regression fixture).
FUZZ_SECONDS ?= 30
FUZZ_TARGETS = zip pickle checkpoint safetensors npy args json image
# libFuzzer without its main (SwiftPM executables define main), from the Swift toolchain's clang.
FUZZER_LIB = $(shell $(dir $(shell command -v $(SWIFT)))clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a
FUZZ_FLAGS = -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table -Xswiftc -enable-testing \
	-Xlinker $(FUZZER_LIB) -Xlinker -lstdc++

.PHONY: fuzz
fuzz: deps
	$(SWIFT) build -c release --package-path Fuzz --scratch-path .build-fuzz/build $(FUZZ_FLAGS)
	@mkdir -p .build-fuzz/findings
	@for target in $(FUZZ_TARGETS); do \
		rm -rf .build-fuzz/corpus/$$target && mkdir -p .build-fuzz/corpus/$$target && \
		cp Tests/Fuzz/corpus/$$target/* .build-fuzz/corpus/$$target/ && \
		echo "== fuzzing $$target for $(FUZZ_SECONDS) s" && \
		RANET_FUZZ_TARGET=$$target ASAN_OPTIONS=detect_leaks=0 .build-fuzz/build/release/ranet-fuzz \
			-max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
			-artifact_prefix=.build-fuzz/findings/$$target- .build-fuzz/corpus/$$target 2>&1 \
			| grep -E "^(stat::number_of_executed_units|==|SUMMARY|Done)|ERROR" ; \
		test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

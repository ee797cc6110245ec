# The two commands of the README: `make demo` and `make test`. Each installs the
# Debian packages it needs, builds, and runs.
SWIFT ?= swift
DEBIAN_PACKAGES = libdnnl-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev cmake dataset-fashion-mnist
C_BUILD = .build-c

.PHONY: demo test test-c test-c-sanitize test-swift test-sanitize deps release clean

# The bundled Fashion-MNIST model classifies the sample images (named by their true
# class) with early exit: confident images leave at the cheap exits.
demo: release
	.build/release/ranet predict Samples/images --top 2

test: test-c test-c-sanitize test-swift

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

test-swift: deps
	$(SWIFT) test --disable-swift-testing

# The Swift tests under AddressSanitizer (all of them; leak reports off, since oneDNN and
# the Swift runtime keep process-lifetime caches) and ThreadSanitizer (the paths where
# threads share a model). CI runs this after `make test`.
test-sanitize: deps
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan --disable-swift-testing
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --disable-swift-testing \
		--filter 'RANetModelTests|EarlyExitTests|ImageClassificationTests|PredictCommandTests'

clean:
	rm -rf .build .build-asan .build-tsan $(C_BUILD) $(C_BUILD)-sanitize

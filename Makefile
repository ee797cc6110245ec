# The two commands of the README: `make demo` and `make test`. Each installs the
# Debian packages it needs, builds, and runs.
SWIFT ?= swift
DEBIAN_PACKAGES = libdnnl-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev cmake dataset-fashion-mnist
C_BUILD = .build-c

.PHONY: demo test test-c test-swift deps release clean

demo: release
	@echo "== ranet info (the bundled Fashion-MNIST model)"
	@.build/release/ranet info
	@echo
	@echo "== ranet logits on 16 Fashion-MNIST test images (Samples/); true labels: 9 2 1 1 6 1 4 6 5 7 4 5 7 3 4 1"
	@.build/release/ranet logits --input Samples/fashion-mnist-test.npy

test: test-c test-swift

deps:
	@scripts/install-deps.sh $(DEBIAN_PACKAGES)

release: deps
	$(SWIFT) build -c release --product ranet

# The C bridge on its own, built by CMake and tested with ctest.
test-c: deps
	cmake -S . -B $(C_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(C_BUILD) -j 2
	cd $(C_BUILD) && ctest --output-on-failure

test-swift: deps
	$(SWIFT) test --disable-swift-testing

clean:
	rm -rf .build $(C_BUILD)

# Cross-compiles the C bridge and its tests for arm64 with Debian's aarch64 cross
# compiler (gcc-aarch64-linux-gnu); ctest runs the tests under qemu-user. oneDNN
# for arm64 is found under CRANET_ARM64_SYSROOT (an environment variable, so that
# CMake's compiler checks see it too): where scripts/test-arm64.sh unpacks Debian's
# arm64 packages.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH "$ENV{CRANET_ARM64_SYSROOT}" /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L /usr/aarch64-linux-gnu)

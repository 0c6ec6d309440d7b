# Cross toolchain for aarch64 Linux on a Debian x86-64 host (scripts/test-aarch64.sh uses it).
# Needs gcc-aarch64-linux-gnu, qemu-user and the libraries as Debian multiarch packages
# (libpcre2-dev:arm64 …), which land in /usr/lib/aarch64-linux-gnu. CTest runs every test
# through qemu-aarch64 user-mode emulation (CMAKE_CROSSCOMPILING_EMULATOR).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(SEEK_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${SEEK_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${SEEK_CROSS_TRIPLE}-g++)

# Libraries and headers come from the target's multiarch folders (and the cross libc in
# /usr/aarch64-linux-gnu); programs (pkg-config, python3) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${SEEK_CROSS_TRIPLE})
set(CMAKE_LIBRARY_ARCHITECTURE ${SEEK_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config must see only the target's .pc files, never the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${SEEK_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# The loader and libc the tests run with must be one build. The library packages pull in
# the multiarch libc6:arm64 (/lib/ld-linux-aarch64.so.1), which then also serves everything
# in /usr/lib/aarch64-linux-gnu. Mixing the cross toolchain's loader (-L
# /usr/aarch64-linux-gnu) with that libc hangs in pthread_create, so -L is used only where
# the multiarch libc is absent.
if(EXISTS /lib/ld-linux-aarch64.so.1)
  set(CMAKE_CROSSCOMPILING_EMULATOR "qemu-aarch64")
else()
  set(CMAKE_CROSSCOMPILING_EMULATOR "qemu-aarch64;-L;/usr/${SEEK_CROSS_TRIPLE}")
endif()

# Cross-compiles for arm64 guests with Debian's cross compiler and the
# :arm64 libraries multiarch installs beside the host's (tools/setup-deps).
# Programs run at build time (protoc, grpc_cpp_plugin) are the host's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# Libraries gRPC finds through pkg-config (re2, OpenSSL) must be arm64's.
set(PKG_CONFIG_EXECUTABLE aarch64-linux-gnu-pkg-config)

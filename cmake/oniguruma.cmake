# Oniguruma 6.9.8 compiled from its source (fetched by
# .ci/setup.d/15-oniguruma-source.sh) into a static library, the same way for
# the native and the wasm builds: the regex engine of Python `tokenizers`,
# used by src/tokenizer/regex.cpp. Only the UTF-8 encoding and the Unicode
# tables are compiled; the other encodings and the POSIX API are left out.
set(WS_ONIGURUMA_SOURCE_DIR "${CMAKE_SOURCE_DIR}/build/third_party/oniguruma-6.9.8" CACHE PATH
    "Oniguruma 6.9.8 source tree (.ci/setup.d/15-oniguruma-source.sh)")
if(NOT EXISTS "${WS_ONIGURUMA_SOURCE_DIR}/src/regexec.c")
  message(FATAL_ERROR "Oniguruma source not found in ${WS_ONIGURUMA_SOURCE_DIR}: "
                      "run .ci/setup.d/15-oniguruma-source.sh (or set WS_ONIGURUMA_SOURCE_DIR)")
endif()

set(_onig "${WS_ONIGURUMA_SOURCE_DIR}/src")
add_library(ws_onig STATIC
  ${_onig}/regerror.c ${_onig}/regparse.c ${_onig}/regext.c ${_onig}/regcomp.c ${_onig}/regexec.c
  ${_onig}/regenc.c ${_onig}/regsyntax.c ${_onig}/regtrav.c ${_onig}/regversion.c ${_onig}/st.c
  ${_onig}/onig_init.c ${_onig}/unicode.c ${_onig}/ascii.c ${_onig}/utf8.c
  ${_onig}/unicode_unfold_key.c ${_onig}/unicode_fold1_key.c ${_onig}/unicode_fold2_key.c
  ${_onig}/unicode_fold3_key.c)
# config.h: the answers of Oniguruma's configure for every target we build
# (64- and 32-bit little-endian with C99 headers; wasm32 has 4-byte longs).
include(CheckTypeSize)
check_type_size(long WS_ONIG_SIZEOF_LONG)
check_type_size("void*" WS_ONIG_SIZEOF_VOIDP)
file(CONFIGURE OUTPUT "${CMAKE_BINARY_DIR}/oniguruma/config.h" CONTENT
"#define HAVE_STDINT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_UNISTD_H 1
#define SIZEOF_INT 4
#define SIZEOF_LONG ${WS_ONIG_SIZEOF_LONG}
#define SIZEOF_LONG_LONG 8
#define SIZEOF_VOIDP ${WS_ONIG_SIZEOF_VOIDP}
#define PACKAGE \"onig\"
#define PACKAGE_VERSION \"6.9.8\"
#define VERSION \"6.9.8\"
")
target_include_directories(ws_onig SYSTEM PUBLIC "$<BUILD_INTERFACE:${_onig}>" PRIVATE "${CMAKE_BINARY_DIR}/oniguruma")
target_compile_definitions(ws_onig PUBLIC ONIG_STATIC)
set_target_properties(ws_onig PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 99)
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(ws_onig PRIVATE -w)  # third-party code: its warnings are not ours to fix
endif()
# Sanitized builds: AddressSanitizer stays on (our calls must stay in bounds),
# UBSan is off for this third-party C (its findings there would be upstream's
# to fix, and -fno-sanitize-recover would stop every test that runs a regex).
if(WS_SANITIZE)
  target_compile_options(ws_onig PRIVATE -fno-sanitize=undefined)
endif()

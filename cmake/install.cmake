# `cmake --install <build> --prefix <dir>`: the CLI (bin/weightstream) and the
# C++ library as a CMake package, so that a program does
#   find_package(weightstream REQUIRED)
#   target_link_libraries(app PRIVATE weightstream::weightstream)
# and #include <weightstream/weightstream.h> (demos/cpp is such a program).
#
# The library is static: every layer is installed and exported, and
# weightstream::weightstream (ws_api) pulls in the rest with their own
# dependencies (nlohmann_json, CURL, Threads: found again by the config file).
# Only the public header and core/result.h, which it includes, are installed:
# the layer headers are internal and still changing.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS weightstream RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# WS_TORCH builds add the LibTorch backend (ws_torch, and ws_cuda with
# WS_CUDA): the config file then finds Torch again (the consumer points
# CMAKE_PREFIX_PATH at the same LibTorch) and the CUDA runtime is linked by the
# path this build used.
set(ws_exported ws_api ws_native ws_open_settings ws_open_load ws_open ws_generate ws_template ws_model ws_tokenizer ws_onig ws_backend ws_load ws_buffer ws_format ws_util ws_core)
if(WS_TORCH)
  list(APPEND ws_exported ws_torch)
endif()
if(WS_CUDA)
  list(APPEND ws_exported ws_cuda)
endif()
set_target_properties(ws_api PROPERTIES EXPORT_NAME weightstream)
install(TARGETS ${ws_exported}
        EXPORT weightstreamTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/weightstream/weightstream.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/weightstream)
install(FILES src/core/result.h src/core/choices.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/weightstream/core)

set(ws_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/weightstream)
install(EXPORT weightstreamTargets NAMESPACE weightstream:: DESTINATION ${ws_cmake_dir})
configure_package_config_file(cmake/weightstreamConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/weightstreamConfig.cmake INSTALL_DESTINATION ${ws_cmake_dir})
# 0.x: a minor version may break the API, so only the same 0.MINOR matches.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/weightstreamConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/weightstreamConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/weightstreamConfigVersion.cmake
        DESTINATION ${ws_cmake_dir})

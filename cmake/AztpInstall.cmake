# Install rules: the `aztp` library (the SDK: the layers core to client of
# cmake/AztpLayers.cmake) with its public headers, a CMake package
# (find_package(aztp) gives the imported target aztp::aztp) and a pkg-config
# file, so that another project can build against an installed tree
# (docs/sdk.md, "Using the SDK from another project"); and the three
# programs. `cmake --install build --prefix /usr/local` installs them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(aztp PROPERTIES EXPORT_NAME aztp)
# The public headers are C++20: consumers get the standard with the target.
target_compile_features(aztp PUBLIC cxx_std_20)
target_include_directories(aztp PUBLIC
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

install(TARGETS aztp EXPORT aztpTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Only the SDK's headers (the modules of its layers, cmake/AztpLayers.cmake):
# the server's and the runtime's are not installed, as their libraries are
# not.
foreach(module ${AZTP_SDK_MODULES})
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/include/aztp/${module})
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/aztp/${module}
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/aztp
            FILES_MATCHING PATTERN "*.h")
  endif()
endforeach()
if(NOT AZTP_LIB_TESTS_ONLY)
  install(TARGETS aztp_cli aztpd aztp-proxy
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

set(AZTP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/aztp)
install(EXPORT aztpTargets NAMESPACE aztp:: DESTINATION ${AZTP_CMAKE_DIR})
configure_package_config_file(
    ${PROJECT_SOURCE_DIR}/cmake/aztpConfig.cmake.in
    ${PROJECT_BINARY_DIR}/aztpConfig.cmake
    INSTALL_DESTINATION ${AZTP_CMAKE_DIR})
write_basic_package_version_file(
    ${PROJECT_BINARY_DIR}/aztpConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/aztpConfig.cmake
              ${PROJECT_BINARY_DIR}/aztpConfigVersion.cmake
        DESTINATION ${AZTP_CMAKE_DIR})

# pkg-config: the library is static, so its dependencies' flags are listed
# for linking too (Requires.private and Libs.private are used by
# `pkg-config --static`, and plain `--libs` includes them below because a
# static archive cannot name its own dependencies).
file(RELATIVE_PATH AZTP_PC_TO_PREFIX
     /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/aztp.pc.in
               ${PROJECT_BINARY_DIR}/aztp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/aztp.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Helpers that turn the source layout into targets.

# aztp_add_unit_tests: one GoogleTest binary per concept folder under src/
# that holds *_test.cc files, named aztp_<folder>_test.
function(aztp_add_unit_tests)
  include(GoogleTest)
  # Tests that need library sources the fuzz build leaves out (AZTP_FUZZ in
  # the top-level CMakeLists.txt: clang 14 cannot compile the proxy's
  # coroutines with the sanitizers, so src/proxy/runtime_*.cc is not built
  # there): they start a Proxy, and would not link in that build.
  set(not_in_fuzz_build ${PROJECT_SOURCE_DIR}/src/proxy/proxy_test.cc
                        ${PROJECT_SOURCE_DIR}/src/proxy/smuggling_test.cc
                        ${PROJECT_SOURCE_DIR}/src/proxy/hardening_test.cc)
  file(GLOB dirs LIST_DIRECTORIES true ${PROJECT_SOURCE_DIR}/src/*)
  foreach(dir ${dirs})
    if(NOT IS_DIRECTORY ${dir})
      continue()
    endif()
    file(GLOB tests CONFIGURE_DEPENDS ${dir}/*_test.cc)
    if(AZTP_FUZZ)
      list(REMOVE_ITEM tests ${not_in_fuzz_build})
    endif()
    if(NOT tests)
      continue()
    endif()
    get_filename_component(name ${dir} NAME)
    add_executable(aztp_${name}_test ${tests})
    target_link_libraries(aztp_${name}_test PRIVATE aztp aztp_testing
                          GTest::gtest GTest::gtest_main GTest::gmock)
    target_include_directories(aztp_${name}_test PRIVATE ${PROJECT_SOURCE_DIR}/src)
    gtest_discover_tests(aztp_${name}_test DISCOVERY_MODE PRE_TEST
                         PROPERTIES LABELS "unit")
  endforeach()
endfunction()

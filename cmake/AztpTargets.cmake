# Helpers that turn the source layout into targets.

# aztp_add_unit_tests: one GoogleTest binary per concept folder under src/
# that holds *_test.cc files, named aztp_<folder>_test.
function(aztp_add_unit_tests)
  include(GoogleTest)
  file(GLOB dirs LIST_DIRECTORIES true ${PROJECT_SOURCE_DIR}/src/*)
  foreach(dir ${dirs})
    if(NOT IS_DIRECTORY ${dir})
      continue()
    endif()
    file(GLOB tests CONFIGURE_DEPENDS ${dir}/*_test.cc)
    # Tests that need the sources a fuzz build leaves out would not link
    # there (AZTP_FUZZ_EXCLUDED_TESTS, cmake/AztpLayers.cmake).
    aztp_fuzz_exclude(tests AZTP_FUZZ_EXCLUDED_TESTS)
    if(NOT tests)
      continue()
    endif()
    get_filename_component(name ${dir} NAME)
    add_executable(aztp_${name}_test ${tests})
    # A test may use every layer, whichever layer its folder is in.
    target_link_libraries(aztp_${name}_test PRIVATE aztp_runtime aztp_testing
                          GTest::gtest GTest::gtest_main GTest::gmock)
    target_include_directories(aztp_${name}_test PRIVATE ${PROJECT_SOURCE_DIR}/src)
    gtest_discover_tests(aztp_${name}_test DISCOVERY_MODE PRE_TEST
                         PROPERTIES LABELS "unit")
  endforeach()
endfunction()

# Helpers that turn the source layout into targets.

# aztp_add_unit_tests: one GoogleTest binary per concept folder under src/
# that holds *_test.cc files, named aztp_<folder>_test.
function(aztp_add_unit_tests)
  include(GoogleTest)
  # One PostgreSQL server (tests/pg/pgctl.sh) for every test that needs
  # one, started before them and stopped after. Its folder is under /tmp,
  # not the build tree: under root the server runs as nobody, which must be
  # able to reach it. The name follows from the build tree, so two builds
  # never share a server.
  string(MD5 build_hash "${CMAKE_BINARY_DIR}")
  string(SUBSTRING "${build_hash}" 0 12 build_hash)
  set(AZTP_TEST_PG_DIR "/tmp/aztp_pgtest_${build_hash}")
  add_test(NAME store.pg_start
           COMMAND ${PROJECT_SOURCE_DIR}/tests/pg/pgctl.sh start ${AZTP_TEST_PG_DIR})
  add_test(NAME store.pg_stop
           COMMAND ${PROJECT_SOURCE_DIR}/tests/pg/pgctl.sh stop ${AZTP_TEST_PG_DIR})
  set_tests_properties(store.pg_start PROPERTIES FIXTURES_SETUP pg LABELS "unit")
  set_tests_properties(store.pg_stop PROPERTIES FIXTURES_CLEANUP pg LABELS "unit")
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
    set(properties LABELS "unit")
    if(name STREQUAL "store")
      # The PostgreSQL store's tests share one real server (the fixture
      # below), which each test finds through AZTP_TEST_PG_DIR.
      list(APPEND properties FIXTURES_REQUIRED pg
           ENVIRONMENT "AZTP_TEST_PG_DIR=${AZTP_TEST_PG_DIR}")
    endif()
    gtest_discover_tests(aztp_${name}_test DISCOVERY_MODE PRE_TEST
                         PROPERTIES ${properties})
  endforeach()
endfunction()

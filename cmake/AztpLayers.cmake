# The library's layers, and the build rule that keeps them layered.
#
# Every module (a folder src/<module>/, with its public headers in
# include/aztp/<module>/) belongs to exactly one layer; a layer may use the
# modules of its own layer and of the layers below it, never those above.
# Bottom first:
#
#   core      base encoding crypto internal spiffeid x509 jose
#   spiffe    bundle svid ca
#   protocol  chain policy audit revocation replay
#   net       http tls metrics ratelimit federation oidc
#   client    client
#   server    store services controlplane compat
#   runtime   config proxy
#
# Targets (target aztp_<layer> compiles the sources of <layer>):
#
#   aztp          STATIC  the SDK: core..client. Applications link it; it is
#                         the one library installed (libaztp.a, the CMake
#                         package aztp::aztp, aztp.pc; cmake/AztpInstall.cmake)
#   aztp_core, aztp_spiffe, aztp_protocol, aztp_net, aztp_client
#                 OBJECT  the SDK's layers. Object libraries rather than static
#                         ones so that libaztp.a stays one archive (what
#                         consumers and pkg-config's -laztp expect); each is
#                         still compiled on its own, with its own include view
#   aztp_server   STATIC  server, links aztp          (aztpd's control plane)
#   aztp_runtime  STATIC  runtime, links aztp_server  (configuration, the proxy)
#
# The daemons' runtimes are not in the SDK. The programs link what they use:
# cli/ aztp_server (`aztp audit` reads a store), aztpd/ and proxy/
# aztp_runtime. Unit tests, aztp_testing, fuzzers, benchmarks and tools may
# use everything: they link aztp_runtime and see src/ as it is.
#
# How the rule is enforced: include views. Headers are not moved (include/
# and src/ keep one folder per module); instead, for each layer, configure
# writes a view into the build tree holding only the modules of that layer
# and of the layers below:
#
#   <build>/layers/<layer>/include/aztp/<module> -> include/aztp/<module>
#   <build>/layers/<layer>/src/<module>          -> src/<module>
#
# (symbolic links to the folders, so a header added to a module is in the
# view at once). A layer's sources are compiled with its two view roots as
# their only project include directories, never include/ or src/ themselves,
# so including a higher layer's header (public or private) fails with "No
# such file". The include/ half of a view is also the PUBLIC (build
# interface) include directory of the library targets (aztp: the client
# view, aztp_server: the server view, aztp_runtime: the runtime view): what
# links a library sees the headers of that library and of the layers below
# it, nothing above. A layer's sources still find the real folders through
# an include written relative to the including file ("../x/y.h"), which the
# library does not do.
#
# Adding a module: put its folder in AZTP_LAYER_MODULES_<layer> below. A
# folder under src/ or include/aztp/ that is in no layer (and not in
# AZTP_NOT_MODULES) stops configure. A layer entry without folders is fine
# (a module that is about to arrive).
#
# The check: the ctest layers.upward_include (cmake/AztpLayerCheck.cmake)
# compiles small probes with the flags of a layer, as written at generate
# time to <build>/layers/check_flags.cmake, and expects upward includes to
# fail and downward ones to compile.

set(AZTP_LAYERS core spiffe protocol net client server runtime)
set(AZTP_LAYER_MODULES_core base encoding crypto internal spiffeid x509 jose)
set(AZTP_LAYER_MODULES_spiffe bundle svid ca)
set(AZTP_LAYER_MODULES_protocol chain policy audit revocation replay)
set(AZTP_LAYER_MODULES_net http tls metrics ratelimit federation oidc)
set(AZTP_LAYER_MODULES_client client)
set(AZTP_LAYER_MODULES_server store services controlplane compat)
set(AZTP_LAYER_MODULES_runtime config proxy)
# The layers that make up the SDK library `aztp`, bottom first.
set(AZTP_SDK_LAYERS core spiffe protocol net client)
# Folders under src/ that are not library modules: test fixtures
# (aztp_testing, top-level CMakeLists.txt).
set(AZTP_NOT_MODULES testing)

# Files the fuzz build leaves out, as globs relative to the source tree: this
# list and the next are the only place that says so. The proxy's runtime
# (src/proxy/runtime_*.cc, see src/proxy/runtime.h: the relay, listeners,
# pools) is written with C++20 coroutines, which clang 14, the fuzz builds'
# compiler, cannot compile together with the sanitizers. No fuzz target needs
# it; the proxy's parsers and checks live in other files, which are built. A
# proxy file that includes runtime.h must be named runtime_*.cc.
set(AZTP_FUZZ_EXCLUDED_SOURCES src/proxy/runtime_*.cc)
# Unit tests that start a Proxy, so need the files above: they would not link
# in the fuzz build.
set(AZTP_FUZZ_EXCLUDED_TESTS src/proxy/proxy_test.cc
                             src/proxy/smuggling_test.cc
                             src/proxy/hardening_test.cc
                             src/proxy/person_egress_test.cc)

# aztp_fuzz_exclude(<list var> <patterns var>): in a fuzz build, removes the
# files matching the globs in <patterns var> from the list in <list var>.
function(aztp_fuzz_exclude list_var patterns_var)
  if(NOT AZTP_FUZZ)
    return()
  endif()
  set(files ${${list_var}})
  foreach(pattern ${${patterns_var}})
    file(GLOB matched ${PROJECT_SOURCE_DIR}/${pattern})
    if(matched)
      list(REMOVE_ITEM files ${matched})
    endif()
  endforeach()
  set(${list_var} ${files} PARENT_SCOPE)
endfunction()

# Every folder must be in exactly one layer. CONFIGURE_DEPENDS so that a new
# folder re-runs this check at the next build.
set(_aztp_mapped)
foreach(layer ${AZTP_LAYERS})
  foreach(module ${AZTP_LAYER_MODULES_${layer}})
    if(module IN_LIST _aztp_mapped)
      message(FATAL_ERROR "cmake/AztpLayers.cmake: module ${module} is in "
                          "more than one layer")
    endif()
    list(APPEND _aztp_mapped ${module})
  endforeach()
endforeach()
file(GLOB _aztp_entries LIST_DIRECTORIES true CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/src/* ${PROJECT_SOURCE_DIR}/include/aztp/*)
set(_aztp_unmapped)
foreach(entry ${_aztp_entries})
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${entry})
  get_filename_component(name ${entry} NAME)
  if(NOT IS_DIRECTORY ${entry})
    # Only a module folder is in a view: a header directly in include/aztp/
    # would be found by no layer.
    if(rel MATCHES "^include/")
      list(APPEND _aztp_unmapped "${rel} (not in a module folder)")
    endif()
  elseif(NOT name IN_LIST _aztp_mapped AND NOT name IN_LIST AZTP_NOT_MODULES)
    list(APPEND _aztp_unmapped ${rel})
  endif()
endforeach()
if(_aztp_unmapped)
  list(JOIN _aztp_unmapped ", " _aztp_unmapped)
  message(FATAL_ERROR "In no layer: ${_aztp_unmapped}. Every module must "
                      "choose its layer: add it to AZTP_LAYER_MODULES_<layer> "
                      "in cmake/AztpLayers.cmake (the layers are described "
                      "at the top of that file).")
endif()

# The third-party libraries and definitions every layer compiles with. They
# are applied to each target rather than through an INTERFACE target of our
# own, which the installed aztp would then have to export too.
macro(_aztp_layer_dependencies target scope)
  target_link_libraries(${target} ${scope} OpenSSL::Crypto OpenSSL::SSL
                        nlohmann_json::nlohmann_json SQLite::SQLite3
                        Threads::Threads Boost::system)
  target_compile_definitions(${target} ${scope} BOOST_ASIO_NO_DEPRECATED
                                                BOOST_BEAST_USE_STD_STRING_VIEW)
endmacro()

set(_aztp_visible)
foreach(layer ${AZTP_LAYERS})
  list(APPEND _aztp_visible ${AZTP_LAYER_MODULES_${layer}})
  # The view is rebuilt on every configure, so that a module that moved to
  # another layer leaves no link behind.
  set(view ${CMAKE_BINARY_DIR}/layers/${layer})
  file(REMOVE_RECURSE ${view}/include ${view}/src)
  file(MAKE_DIRECTORY ${view}/include/aztp ${view}/src)
  foreach(module ${_aztp_visible})
    foreach(pair "include/aztp/${module}" "src/${module}")
      if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/${pair})
        file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${pair} ${view}/${pair} SYMBOLIC)
      endif()
    endforeach()
  endforeach()
  set(AZTP_LAYER_VIEW_${layer} ${view})

  set(sources)
  foreach(module ${AZTP_LAYER_MODULES_${layer}})
    file(GLOB module_sources CONFIGURE_DEPENDS
         ${PROJECT_SOURCE_DIR}/src/${module}/*.cc)
    list(FILTER module_sources EXCLUDE REGEX "_test\\.cc$")
    list(APPEND sources ${module_sources})
  endforeach()
  aztp_fuzz_exclude(sources AZTP_FUZZ_EXCLUDED_SOURCES)
  if(layer IN_LIST AZTP_SDK_LAYERS)
    add_library(aztp_${layer} OBJECT ${sources})
  else()
    add_library(aztp_${layer} STATIC ${sources})
  endif()
  target_include_directories(aztp_${layer} PRIVATE ${view}/include ${view}/src)
  _aztp_layer_dependencies(aztp_${layer} PRIVATE)
endforeach()

# The SDK: one archive of the SDK layers' objects.
set(_aztp_sdk_objects)
set(AZTP_SDK_MODULES)
foreach(layer ${AZTP_SDK_LAYERS})
  list(APPEND _aztp_sdk_objects $<TARGET_OBJECTS:aztp_${layer}>)
  list(APPEND AZTP_SDK_MODULES ${AZTP_LAYER_MODULES_${layer}})
endforeach()
add_library(aztp STATIC ${_aztp_sdk_objects})
target_include_directories(aztp PUBLIC
    $<BUILD_INTERFACE:${AZTP_LAYER_VIEW_client}/include>)
_aztp_layer_dependencies(aztp PUBLIC)

target_include_directories(aztp_server PUBLIC
    $<BUILD_INTERFACE:${AZTP_LAYER_VIEW_server}/include>)
target_link_libraries(aztp_server PUBLIC aztp)
# The PostgreSQL store's client library: only the server layer uses it.
target_link_libraries(aztp_server PUBLIC PkgConfig::LIBPQ)

target_include_directories(aztp_runtime PUBLIC
    $<BUILD_INTERFACE:${AZTP_LAYER_VIEW_runtime}/include>)
target_link_libraries(aztp_runtime PUBLIC aztp_server)
# yaml-cpp parses the configuration files of aztpd and aztp-proxy
# (src/config); private, so that its headers are not part of any API.
target_link_libraries(aztp_runtime PRIVATE yaml-cpp)
# hiredis: the proxy's Redis replay store; its headers stay in that file.
target_link_libraries(aztp_runtime PRIVATE PkgConfig::HIREDIS)

# The flags each layer's sources are compiled with, for the check. Written
# at generate time, when generator expressions are evaluated: the include
# directories, definitions and options are the targets' own, including what
# their dependencies add.
string(TOUPPER "${CMAKE_BUILD_TYPE}" _aztp_config)
set(_aztp_flags "# Generated by cmake/AztpLayers.cmake.\n")
string(APPEND _aztp_flags
       "set(AZTP_LAYERS [==[${AZTP_LAYERS}]==])\n"
       "set(AZTP_CXX [==[${CMAKE_CXX_COMPILER}]==])\n"
       "set(AZTP_CXX_FLAGS [==[${CMAKE_CXX_FLAGS} "
       "${CMAKE_CXX_FLAGS_${_aztp_config}}]==])\n"
       "set(AZTP_CXX_STANDARD [==[${CMAKE_CXX20_STANDARD_COMPILE_OPTION}]==])\n"
       "set(AZTP_CXX_IMPLICIT_INCLUDES [==["
       "${CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES}]==])\n")
foreach(layer ${AZTP_LAYERS})
  foreach(prop INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS)
    string(APPEND _aztp_flags "set(AZTP_LAYER_${layer}_${prop} [==["
           "$<TARGET_PROPERTY:aztp_${layer},${prop}>]==])\n")
  endforeach()
endforeach()
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/layers/check_flags.cmake
     CONTENT "${_aztp_flags}")

# aztp_add_layer_check(): registers the ctest layers.upward_include.
function(aztp_add_layer_check)
  add_test(NAME layers.upward_include
           COMMAND ${CMAKE_COMMAND}
                   -DAZTP_CHECK_FLAGS=${CMAKE_BINARY_DIR}/layers/check_flags.cmake
                   -DAZTP_SOURCE=${PROJECT_SOURCE_DIR}
                   -DAZTP_WORK=${CMAKE_BINARY_DIR}/layers/check
                   -P ${PROJECT_SOURCE_DIR}/cmake/AztpLayerCheck.cmake)
  set_tests_properties(layers.upward_include PROPERTIES LABELS "unit")
endfunction()

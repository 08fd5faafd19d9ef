# The ctest layers.upward_include (registered by cmake/AztpLayers.cmake):
# checks that the layering of cmake/AztpLayers.cmake holds. Each probe is a
# translation unit of one line, `#include "<header>"`, compiled with the
# include directories, definitions and options of one layer's sources (as
# the build wrote them to AZTP_CHECK_FLAGS). An upward include must fail
# because the header is not found; a downward one must compile, so that a
# check which could never fail (flags that find nothing) does not pass.
#
#   cmake -DAZTP_CHECK_FLAGS=<build>/layers/check_flags.cmake
#         -DAZTP_SOURCE=<source tree> -DAZTP_WORK=<scratch folder>
#         -P cmake/AztpLayerCheck.cmake

cmake_minimum_required(VERSION 3.25)  # script mode: the policies of the build

foreach(var AZTP_CHECK_FLAGS AZTP_SOURCE AZTP_WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "AztpLayerCheck.cmake: -D${var}=... is required")
  endif()
endforeach()
include(${AZTP_CHECK_FLAGS})

# <layer> <header> <expected>: `missing` (an upward include: the compiler must
# report the header as not found) or `found` (must compile).
set(probes
    # A core file reaching up to the control plane, publicly and privately.
    core     aztp/controlplane/control_plane.h missing
    core     controlplane/api.h                missing
    core     internal/ossl.h                   found
    # The protocol layer (chain, policy, ...) must not use the network,
    # nor the server's store: the replay store shares the SQLite wrapper
    # of internal/ (it once included the store's copy).
    protocol aztp/http/http.h                  missing
    protocol store/sql_session.h               missing
    protocol internal/sqlite_db.h              found
    # Networking is below the server's store.
    net      aztp/store/store.h                missing
    # The SDK (and so aztp::aztp) knows nothing of the daemons.
    client   aztp/controlplane/control_plane.h missing
    client   aztp/services/principal.h         missing
    client   aztp/chain/verifier.h             found
    # The control plane does not depend on the daemons' configuration.
    server   aztp/config/aztpd_config.h        missing
    # Downward across the libraries: aztp_runtime -> aztp_server.
    runtime  aztp/controlplane/control_plane.h found)

file(REMOVE_RECURSE ${AZTP_WORK})
file(MAKE_DIRECTORY ${AZTP_WORK})
separate_arguments(cxx_flags UNIX_COMMAND "${AZTP_CXX_FLAGS}")
set(failures 0)
set(n 0)
list(LENGTH probes len)
while(n LESS len)
  list(SUBLIST probes ${n} 3 probe)
  math(EXPR n "${n} + 3")
  list(GET probe 0 layer)
  list(GET probe 1 header)
  list(GET probe 2 expected)
  set(what "${layer}: #include \"${header}\"")

  if(NOT EXISTS ${AZTP_SOURCE}/include/${header}
     AND NOT EXISTS ${AZTP_SOURCE}/src/${header})
    # Not found anywhere would make "not found" prove nothing.
    message(STATUS "FAIL  ${what}: ${header} is in neither include/ nor src/;"
                   " update the probes in cmake/AztpLayerCheck.cmake")
    math(EXPR failures "${failures} + 1")
    continue()
  endif()

  if(NOT DEFINED AZTP_LAYER_${layer}_INCLUDE_DIRECTORIES)
    message(FATAL_ERROR "no layer ${layer} in ${AZTP_CHECK_FLAGS}")
  endif()
  set(args ${cxx_flags} ${AZTP_CXX_STANDARD})
  foreach(def ${AZTP_LAYER_${layer}_COMPILE_DEFINITIONS})
    list(APPEND args -D${def})
  endforeach()
  foreach(dir ${AZTP_LAYER_${layer}_INCLUDE_DIRECTORIES})
    # As in the build's own command lines: the compiler's own directories
    # are not repeated (an -I/usr/include would reorder them).
    if(NOT dir IN_LIST AZTP_CXX_IMPLICIT_INCLUDES)
      list(APPEND args -I${dir})
    endif()
  endforeach()
  list(APPEND args ${AZTP_LAYER_${layer}_COMPILE_OPTIONS})

  string(MAKE_C_IDENTIFIER "${layer}_${header}" stem)
  set(tu ${AZTP_WORK}/${stem}.cc)
  file(WRITE ${tu} "#include \"${header}\"\n")
  # -fsyntax-only: whether the header is found, and compiles, is the
  # question; no object is needed.
  execute_process(COMMAND ${AZTP_CXX} ${args} -fsyntax-only ${tu}
                  WORKING_DIRECTORY ${AZTP_WORK}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(FIND "${out}" "${header}" names_header)
  # GCC: "<header>: No such file or directory"; clang: "'<header>' file not
  # found".
  if(rc EQUAL 0)
    set(outcome found)
  elseif(out MATCHES "No such file or directory|file not found"
         AND names_header GREATER -1)
    set(outcome missing)
  else()
    set(outcome error)
  endif()
  string(REGEX REPLACE "\\?$" "" expected "${expected}")
  if(outcome STREQUAL expected)
    message(STATUS "ok    ${what}: ${outcome}, as expected")
  else()
    list(JOIN args " " shown)
    message(STATUS "FAIL  ${what}: ${outcome}, expected ${expected}\n"
                   "${AZTP_CXX} ${shown} -fsyntax-only ${tu}\n${out}")
    math(EXPR failures "${failures} + 1")
  endif()
endwhile()

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} layering probe(s) failed")
endif()

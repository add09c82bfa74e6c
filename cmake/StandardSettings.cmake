# Standard settings and warnings as INTERFACE targets every target links.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
# Release by default, at -O2 (CMake's -O3 compiles slower for nothing these daemons need). Debug
# information roughly doubles the code generation time: -DCMAKE_BUILD_TYPE=RelWithDebInfo for it.
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()
if(CMAKE_CXX_FLAGS_RELEASE STREQUAL "-O3 -DNDEBUG")
  set(CMAKE_CXX_FLAGS_RELEASE "-O2 -DNDEBUG" CACHE STRING "Flags for Release builds" FORCE)
endif()

# Unity builds: each target's sources are compiled as one translation unit (batches of up to 32), so
# the heavy headers (Asio and Beast, nlohmann/json, GoogleTest, CLI11) are parsed and their templates
# instantiated once per target instead of once per file: a clean build takes a third of the time
# (docs/benchmarks.md; precompiled headers gain nothing on top). File-local names (anonymous
# namespaces, static functions) must therefore be unique within a target. -DCMAKE_UNITY_BUILD=OFF
# builds file by file (quicker rebuilds while editing; scripts/ci-extended.sh --file-by-file).
set(CMAKE_UNITY_BUILD ON CACHE BOOL "Compile each target's sources in batches")
set(CMAKE_UNITY_BUILD_BATCH_SIZE 32 CACHE STRING "Sources per unity batch")

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

option(WARNINGS_AS_ERRORS "Treat warnings as errors" OFF)
option(ENABLE_ASAN "AddressSanitizer" OFF)
option(ENABLE_UBSAN "UndefinedBehaviorSanitizer" OFF)
option(ENABLE_TSAN "ThreadSanitizer" OFF)

add_library(standard_settings INTERFACE)
target_compile_features(standard_settings INTERFACE cxx_std_20)
target_compile_definitions(standard_settings INTERFACE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED BUILD_SWARM_VERSION="${PROJECT_VERSION}")
set(_san "")
if(ENABLE_ASAN)
  list(APPEND _san address)
endif()
if(ENABLE_UBSAN)
  list(APPEND _san undefined)
endif()
if(ENABLE_TSAN)
  list(APPEND _san thread)
endif()
if(_san)
  list(JOIN _san "," _san_list)
  target_compile_options(standard_settings INTERFACE -fsanitize=${_san_list} -fno-omit-frame-pointer)
  target_link_options(standard_settings INTERFACE -fsanitize=${_san_list})
endif()

add_library(standard_warnings INTERFACE)
target_compile_options(standard_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual)
if(WARNINGS_AS_ERRORS)
  target_compile_options(standard_warnings INTERFACE -Werror)
endif()
if(_san AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # The sanitizers' instrumentation makes GCC's -Wmaybe-uninitialized report false positives (in
  # Boost.Beast's parser, for one); GCC's manual warns of exactly this.
  target_compile_options(standard_warnings INTERFACE -Wno-maybe-uninitialized)
endif()

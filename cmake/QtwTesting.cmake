# qtw_add_test(<name> SOURCES a.cpp b.cpp [LIBS x y] [LABELS l])
# One gtest executable linked against libqtw, its cases registered with ctest.
function(qtw_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE qtw GTest::gtest GTest::gtest_main GTest::gmock ${T_LIBS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE QTW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                             QTW_BINARY_DIR="${PROJECT_BINARY_DIR}")
  qtw_set_warnings(${name})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  # NO_PRETTY_VALUES: a parameterized test's ctest name is its gtest name
  # (".../sqlite"), not the name plus "  # GetParam() = <the value printed>",
  # which CMake keeps whole whenever the suite has its own name generator.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 NO_PRETTY_VALUES PROPERTIES LABELS "${T_LABELS}")
endfunction()

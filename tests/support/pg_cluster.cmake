# PostgreSQL test cluster fixture (pg_cluster.{h,cpp}): its own small library
# so the store tests do not depend on the other fixtures. Link with
# qtw_pg_test_support.
if(QTW_WITH_POSTGRES)
  add_library(qtw_pg_test_support STATIC ${CMAKE_CURRENT_LIST_DIR}/pg_cluster.cpp)
  target_link_libraries(qtw_pg_test_support PUBLIC qtw PRIVATE PkgConfig::PQXX)
  target_include_directories(qtw_pg_test_support PUBLIC ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(qtw_pg_test_support PRIVATE QTW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  qtw_set_warnings(qtw_pg_test_support)
endif()

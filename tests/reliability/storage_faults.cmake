# Storage faults and power loss (issue 6).
# strata_fault_env: a fault-injecting rocksdb::FileSystem/Env (lossy unsynced
# bytes, no space after N bytes, WAL sync errors) for tests.
add_library(strata_fault_env STATIC ${CMAKE_CURRENT_LIST_DIR}/fault_env.cc)
target_include_directories(strata_fault_env PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(strata_fault_env PUBLIC RocksDB::rocksdb-shared)

# power_loss_test: kill -9 of a writer whose unsynced bytes live only in its
# memory (simulated power cut), 200 cycles with sync on plus a 20-cycle
# negative control with sync off that must be caught (integration).
add_executable(strata_power_loss_child ${CMAKE_CURRENT_LIST_DIR}/power_loss_child.cc)
target_include_directories(strata_power_loss_child PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(strata_power_loss_child PRIVATE
                      strata::engine strata::test_hooks strata_fault_env strata_crash_child_util)

strata_add_test(power_loss_test ${CMAKE_CURRENT_LIST_DIR}/power_loss_test.cc integration
                strata_crash_child_util RocksDB::rocksdb-shared absl::strings)
add_dependencies(power_loss_test strata_power_loss_child)
target_compile_definitions(power_loss_test PRIVATE
                           STRATA_POWER_LOSS_CHILD_PATH="$<TARGET_FILE:strata_power_loss_child>")

# storage_faults_test: disk full (injected and a real tmpfs), WAL sync errors,
# damaged WAL and SST files, a missing SST (integration).
strata_add_test(storage_faults_test ${CMAKE_CURRENT_LIST_DIR}/storage_faults_test.cc integration
                strata::engine strata_fault_env RocksDB::rocksdb-shared absl::strings)

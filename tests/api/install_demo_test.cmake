# cmake -P: the library used the way a user does. Installs the build into a
# fresh prefix, builds demos/cpp against it with find_package(weightstream),
# runs the demo and the CLI's generate command on the same model, prompt and
# greedy settings, and requires the same streamed text (byte for byte) and the
# same generated ids (the demo prints them on stderr as "ids: 1,2,3").
# On the GPT-2 fixture the ids must also be transformers' (reference.json).
#
# Inputs (-D): BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER LINK_FLAGS
#              CLI FIXTURE SMOLLM2 (the real default model; checked when present)
#              BACKEND (portable, or torch: the demo via $WEIGHTSTREAM_BACKEND,
#              the CLI via --backend) PREFIX_PATH (the build's own, '|'-separated:
#              where the consumer finds LibTorch)
cmake_minimum_required(VERSION 3.25)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

# ---- install, then build the demo against the installed package only ----
set(prefix ${WORK_DIR}/prefix)
set(demo_build ${WORK_DIR}/demo-build)
file(REMOVE_RECURSE ${WORK_DIR})
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(installed include/weightstream/weightstream.h include/weightstream/core/result.h)
  if(NOT EXISTS ${prefix}/${installed})
    message(FATAL_ERROR "cmake --install did not install ${installed}")
  endif()
endforeach()
string(REPLACE "|" ";" consumer_prefix "${prefix}|${PREFIX_PATH}")
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/demos/cpp -B ${demo_build} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_PREFIX_PATH=${consumer_prefix}" -DCMAKE_EXE_LINKER_FLAGS=${LINK_FLAGS})
# The package must come from the prefix just installed, not from elsewhere.
file(STRINGS ${demo_build}/CMakeCache.txt found_dir REGEX "^weightstream_DIR:")
string(FIND "${found_dir}" "${prefix}/" at)
if(NOT at GREATER -1)
  message(FATAL_ERROR "find_package(weightstream) used ${found_dir}, not ${prefix}")
endif()
run(${CMAKE_COMMAND} --build ${demo_build})
set(demo ${demo_build}/weightstream_demo)

# ---- the demo and the CLI on one model ----
# compare(<model> <prompt> <max_new_tokens> <extra CLI flags> <out_ids_var>)
function(compare model prompt max_new cli_flags out_ids)
  get_filename_component(tag ${model} NAME)
  set(demo_out ${WORK_DIR}/${tag}.demo.txt)
  set(cli_out ${WORK_DIR}/${tag}.cli.txt)
  if(BACKEND STREQUAL "torch")
    list(APPEND cli_flags --backend torch)
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E env WEIGHTSTREAM_BACKEND=${BACKEND} ${demo} ${model} ${prompt} ${max_new}
                  RESULT_VARIABLE status OUTPUT_FILE ${demo_out} ERROR_VARIABLE demo_err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "the demo failed (${status}) on ${model}:\n${demo_err}")
  endif()
  execute_process(COMMAND ${CLI} generate ${model} --prompt ${prompt} --max-new-tokens ${max_new} ${cli_flags}
                  RESULT_VARIABLE status OUTPUT_FILE ${cli_out} ERROR_VARIABLE cli_err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "the CLI failed (${status}) on ${model}:\n${cli_err}")
  endif()
  file(SIZE ${cli_out} cli_bytes)
  if(cli_bytes LESS 2)
    message(FATAL_ERROR "the CLI generated no text on ${model}: nothing to compare")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${demo_out} ${cli_out} RESULT_VARIABLE differ)
  if(NOT differ EQUAL 0)
    file(READ ${demo_out} a)
    file(READ ${cli_out} b)
    message(FATAL_ERROR "streamed text differs on ${model}\n  demo: [${a}]\n  CLI:  [${b}]")
  endif()

  execute_process(COMMAND ${CLI} generate ${model} --prompt ${prompt} --max-new-tokens ${max_new} ${cli_flags} --json
                  RESULT_VARIABLE status OUTPUT_VARIABLE json ERROR_VARIABLE cli_err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "the CLI --json failed (${status}) on ${model}:\n${cli_err}")
  endif()
  string(JSON count LENGTH "${json}" ids)
  set(cli_ids "")
  if(count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      string(JSON id GET "${json}" ids ${i})
      list(APPEND cli_ids ${id})
    endforeach()
  endif()
  string(REPLACE ";" "," cli_ids "${cli_ids}")
  string(REGEX MATCH "ids: ([0-9,]*)" _ "${demo_err}")
  if(NOT "${CMAKE_MATCH_1}" STREQUAL "${cli_ids}" OR cli_ids STREQUAL "")
    message(FATAL_ERROR "generated ids differ on ${model}\n  demo: ${CMAKE_MATCH_1}\n  CLI:  ${cli_ids}")
  endif()
  message(STATUS "${tag} (${BACKEND} backend): demo == CLI, ${count} ids: ${cli_ids}")
  set(${out_ids} "${cli_ids}" PARENT_SCOPE)
endfunction()

file(READ ${FIXTURE}/reference.json reference)
string(JSON prompt GET "${reference}" text_prompt)
compare(${FIXTURE} "${prompt}" 32 "" ids)
string(JSON count LENGTH "${reference}" text_greedy)
math(EXPR last "${count} - 1")
set(expected "")
foreach(i RANGE ${last})
  string(JSON id GET "${reference}" text_greedy ${i})
  list(APPEND expected ${id})
endforeach()
string(REPLACE ";" "," expected "${expected}")
if(NOT ids STREQUAL expected)
  message(FATAL_ERROR "the demo's ids are not transformers' greedy ids\n  ours:         ${ids}\n  transformers: ${expected}")
endif()

# The real default model: the demo answers inside its chat template, as --chat does.
if(EXISTS "${SMOLLM2}")
  compare(${SMOLLM2} "What is the capital of France? Answer in one sentence." 24 "--chat" ids)
elseif("$ENV{WS_REQUIRE_ALL}" STREQUAL "1")  # CI provides the model: its absence is a failure
  message(FATAL_ERROR "WS_REQUIRE_ALL=1: ${SMOLLM2} absent (.ci/setup.d/30-smollm2.sh)")
else()
  message(STATUS "${SMOLLM2} absent (.ci/setup.d/30-smollm2.sh): chat check skipped")
endif()

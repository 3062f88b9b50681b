#!/usr/bin/env bash
# bench/gpu.sh — one time-boxed pass on a GPU machine (CUDA toolkit + PyTorch 2.x wheel):
#
#   env      nvidia-smi, nvcc, torch / transformers versions, build prerequisites -> $OUT/env.txt
#   build    cmake --preset native-cuda -B build/gpu (LibTorch from the torch wheel, sm_90),
#            then the targets weightstream, then torch_tests cuda_tests    -> $OUT/build.log
#   tests    ctest -V -R 'Torch|Cuda' --timeout 120 in build/gpu           -> $OUT/tests.log
#   bench    bench/gpu_bench.py: pinned/pageable H2D bandwidth, random Llama bf16 checkpoints
#            (GPU_BENCH_SIZES_GIB, default 1,8), weightstream load --device cuda and
#            transformers from_pretrained(device_map="cuda") side by side, greedy decode
#            ours vs transformers on the first size   -> $OUT/bench.log, gpu_results.{json,md}
#
# Every step is time-boxed (`timeout`) within one overall budget and may fail without
# stopping the others; each prints "== [elapsed s] step" and the end prints a step
# summary and the markdown table. The whole output is also in $OUT/gpu.log.
#
# What it cannot say wrongly:
#   - its exit status is the first failure among build, tests and bench (a skipped or
#     timed-out step is a failure), never that of the last command;
#   - the tests run with WS_REQUIRE_CUDA=1, so a CUDA test fails where it would skip;
#   - where torch cannot see a GPU (and GPU_BENCH_DEVICE is cuda) no figures are
#     reported: the bench step is refused and the script fails;
#   - $OUT/run.json and gpu_results.json record the commit measured (`git rev-parse
#     HEAD`, or GPU_COMMIT where the tree is a copy without .git), whether the tree
#     differed from it, the driver and the torch versions.
#
# usage (repository root or anywhere):  bash bench/gpu.sh
# environment:
#   OUT                   where results go (default build/gpu-bench/out)
#   PYTHON                python with torch + transformers (default python3)
#   GPU_BUDGET_S          overall seconds for the whole script (default 450)
#   GPU_BENCH_RESERVE_S   seconds kept for the benchmark while building/testing (default 180)
#   GPU_STEPS             steps to run (default "env build tests bench")
#   GPU_SKIP_BUILD=1      skip configure + build when build/gpu/weightstream exists
#   GPU_PRESET            configure preset (default native-cuda); GPU_BUILD_DIR (default build/gpu)
#   GPU_CUDA_ARCH         CMAKE_CUDA_ARCHITECTURES (default 90: H100 / H200)
#   GPU_CTEST_JOBS        ctest -j (default 1)
#   GPU_BENCH_SIZES_GIB   checkpoint sizes (default 1,8); GPU_BENCH_REPEAT (default 5; the median run is reported)
#   GPU_BENCH_CKPT_DIR    where checkpoints are written (default build/gpu-bench; reused when present)
#   GPU_BENCH_DEVICE      cuda (default); cpu runs the benchmark's logic without a GPU (dry run:
#                         portable backend, transformers on the CPU; use small GPU_BENCH_SIZES_GIB)
#   GPU_COMMIT            the commit this tree is (default: git rev-parse HEAD; "unknown" without .git)
# Run it with a command timeout of at least GPU_BUDGET_S + 30 s.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
OUT=${OUT:-$ROOT/build/gpu-bench/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PYTHON=${PYTHON:-python3}
BUDGET=${GPU_BUDGET_S:-450}
BENCH_RESERVE=${GPU_BENCH_RESERVE_S:-180}
STEPS=${GPU_STEPS:-env build tests bench}
BUILD_DIR=${GPU_BUILD_DIR:-build/gpu}
BENCH_DEVICE=${GPU_BENCH_DEVICE:-cuda}
PRESET=${GPU_PRESET:-native-cuda}
CUDA_ARCH=${GPU_CUDA_ARCH:-90}
CTEST_JOBS=${GPU_CTEST_JOBS:-8}
# Build prerequisites and test fixtures made on another machine (bench/make_devdeps.sh), for a GPU box
# that has neither the Debian -dev packages nor the reference Python stack:
#   .devdeps/usr       nlohmann-json and GoogleTest (headers, static libs, CMake configs)
#   .devdeps/fixtures  build/native/fixtures/{models,gguf} (then ctest skips fixture setup)
DEVDEPS=${GPU_DEVDEPS:-$ROOT/.devdeps}
SIZES=${GPU_BENCH_SIZES_GIB:-1,8}
NPROC=$(nproc 2> /dev/null || echo 4)
START=$SECONDS
SUMMARY=()
TORCH_PREFIX=""
# What every results file records (filled by step_env / probe).
COMMIT=${GPU_COMMIT:-$(git -C "$ROOT" rev-parse HEAD 2> /dev/null || echo unknown)}
if [ -n "${GPU_COMMIT:-}" ]; then
  DIRTY=unknown
elif git -C "$ROOT" rev-parse HEAD > /dev/null 2>&1; then
  [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2> /dev/null)" ] && DIRTY=false || DIRTY=true
else
  DIRTY=unknown
fi
export GPU_COMMIT=$COMMIT GPU_TREE_DIFFERS=$DIRTY  # gpu_bench.py records them
DRIVER=unknown
TORCH_VERSION=unknown
TORCH_CUDA=unknown
CUDA_VISIBLE=false
CUDA_WHY="not probed"
NVCC=$(command -v nvcc || true)
if [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ]; then
  NVCC=/usr/local/cuda/bin/nvcc
  export PATH=/usr/local/cuda/bin:$PATH
fi

el() { echo $((SECONDS - START)); }
abs_cmd() { local p; p=$(command -v "$1") || { echo "$1"; return; }; case $p in /*) echo "$p" ;; *) echo "$ROOT/$p" ;; esac; }
banner() { echo; echo "== [$(el) s] $*"; }
want() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
note() { SUMMARY+=("$(printf '%-16s %4s s  %s' "$1" "$2" "$3")"); }

# Seconds a step may take: its cap, less what later steps are promised.
box() {
  local cap=$1 reserve=$2 left
  left=$((BUDGET - (SECONDS - START) - reserve))
  if ((left < cap)); then echo "$left"; else echo "$cap"; fi
}

# run_step NAME CAP RESERVE LOG MODE CMD...   MODE: live (tee to stdout) or quiet (log only)
# Returns the command's status; 124/137 = time box hit; 200 = not started.
run_step() {
  local name=$1 cap=$2 reserve=$3 log=$4 mode=$5 t s rc
  shift 5
  t=$(box "$cap" "$reserve")
  if ((t < 15)); then
    banner "$name: skipped, only ${t} s of the budget left for it"
    note "$name" 0 "skipped: out of time"
    return 200
  fi
  banner "$name (time box ${t} s): $(printf '%q ' "$@")"
  echo "== [$(el) s] $name: $(printf '%q ' "$@")" >> "$log"
  s=$SECONDS
  if [ "$mode" = live ]; then
    timeout -k 10 "$t" "$@" 2>&1 | tee -a "$log"
  else
    timeout -k 10 "$t" "$@" >> "$log" 2>&1
  fi
  rc=$?
  case $rc in
    0) note "$name" $((SECONDS - s)) "ok" ;;
    124 | 137) note "$name" $((SECONDS - s)) "TIMED OUT after ${t} s (rc $rc)" ;;
    *) note "$name" $((SECONDS - s)) "FAILED (rc $rc)" ;;
  esac
  echo "== [$(el) s] $name: rc $rc after $((SECONDS - s)) s"
  return $rc
}

# The driver and torch versions, and whether torch sees a GPU (CUDA_WHY says why not).
probe() {
  local line
  DRIVER=$(timeout 30 nvidia-smi --query-gpu=driver_version --format=csv,noheader 2> /dev/null | head -n 1)
  DRIVER=${DRIVER:-unknown (no nvidia-smi answer)}
  line=$(timeout 120 "$PYTHON" -c "
import torch
n = torch.cuda.device_count() if torch.cuda.is_available() else 0
print(torch.__version__, torch.version.cuda, n)" 2> /dev/null | tail -n 1)
  if [ -z "$line" ]; then
    CUDA_WHY="torch is not importable by $PYTHON"
    return
  fi
  read -r TORCH_VERSION TORCH_CUDA line <<< "$line"
  if [ "${line:-0}" -gt 0 ]; then
    CUDA_VISIBLE=true
    CUDA_WHY=""
  else
    CUDA_WHY="torch $TORCH_VERSION (CUDA $TORCH_CUDA) sees no GPU: torch.cuda.is_available() is False"
  fi
}

# $OUT/run.json: what was measured (commit, driver, torch) and how each step ended.
write_run_json() {
  local steps="" s
  for s in "${STEP_STATUS[@]}"; do steps+="${steps:+, }$s"; done
  cat > "$OUT/run.json" << JSON
{"commit": "$COMMIT", "tree_differs_from_commit": "$DIRTY", "date": "$(date -u '+%Y-%m-%d %H:%M:%S UTC')",
 "driver": "$DRIVER", "torch": "$TORCH_VERSION", "torch_cuda": "$TORCH_CUDA", "cuda_visible": $CUDA_VISIBLE,
 "bench_device": "$BENCH_DEVICE", "steps": {$steps}, "exit_status": $1,
 "tests": "$(grep -E 'tests passed' "$OUT/tests.log" 2> /dev/null | tail -n 1)"}
JSON
}

# ---------------------------------------------------------------- env
step_env() {
  banner "env -> $OUT/env.txt"
  local s=$SECONDS f=$OUT/env.txt
  TORCH_PREFIX=$(timeout 60 "$PYTHON" -c "import torch; print(torch.utils.cmake_prefix_path)" 2> /dev/null | tail -n 1)
  {
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "uname: $(uname -a)"
    echo "nproc: $NPROC"
    free -g 2> /dev/null | sed 's/^/free: /'
    df -h "$ROOT" 2> /dev/null | sed 's/^/df: /'
    echo
    echo "--- nvidia-smi"
    if command -v nvidia-smi > /dev/null; then
      timeout 30 nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap,pcie.link.gen.max,pcie.link.width.max --format=csv 2>&1
      timeout 30 nvidia-smi 2>&1
    else
      echo "MISSING: nvidia-smi not on PATH"
    fi
    echo
    echo "--- nvcc (${NVCC:-MISSING: no nvcc on PATH nor in /usr/local/cuda/bin})"
    [ -n "$NVCC" ] && timeout 30 "$NVCC" --version 2>&1
    echo
    echo "--- python ($(command -v "$PYTHON" || echo "MISSING: $PYTHON"))"
    timeout 60 "$PYTHON" - << 'PY' 2>&1
import importlib
for mod in ["torch", "transformers", "safetensors", "accelerate", "psutil", "numpy"]:
    try:
        m = importlib.import_module(mod)
        print(f"{mod} {m.__version__}")
    except Exception as e:
        print(f"MISSING: {mod} ({e})")
try:
    import torch
    print("torch.version.cuda", torch.version.cuda)
    print("torch.cuda.is_available()", torch.cuda.is_available())
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        print("device 0:", p.name, f"{p.total_memory / 2**30:.1f} GiB", f"sm_{p.major}{p.minor}")
    print("torch.utils.cmake_prefix_path", torch.utils.cmake_prefix_path)
    print("torch._C._GLIBCXX_USE_CXX11_ABI", torch._C._GLIBCXX_USE_CXX11_ABI)
except Exception as e:
    print("torch probe failed:", e)
PY
    echo
    echo "--- build tools"
    for tool in cmake ninja g++ c++ /usr/bin/time; do
      if command -v "$tool" > /dev/null; then echo "$tool: $(command -v "$tool") $("$tool" --version 2>&1 | head -n 1)"; else echo "MISSING: $tool"; fi
    done
    echo
    echo "--- build prerequisites (Debian paths; CMake may still find them elsewhere)"
    [ -n "$TORCH_PREFIX" ] && [ -f "$TORCH_PREFIX/Torch/TorchConfig.cmake" ] &&
      echo "ok: LibTorch $TORCH_PREFIX/Torch/TorchConfig.cmake" || echo "MISSING: TorchConfig.cmake under '$TORCH_PREFIX'"
    [ -f /usr/include/nlohmann/json.hpp ] && echo "ok: nlohmann/json.hpp" || echo "MISSING: /usr/include/nlohmann/json.hpp (nlohmann-json3-dev)"
    [ -f /usr/include/curl/curl.h ] || ls /usr/include/*/curl/curl.h > /dev/null 2>&1 &&
      echo "ok: curl/curl.h" || echo "MISSING: curl/curl.h (libcurl4-openssl-dev)"
    { [ -d /usr/include/gtest ] || ls /usr/lib/*/cmake/GTest /usr/lib/cmake/GTest > /dev/null 2>&1; } &&
      echo "ok: GoogleTest" || echo "MISSING: GoogleTest headers/CMake config (libgtest-dev)"
    if timeout 20 cmake --list-presets 2> /dev/null | grep -q "\"$PRESET\""; then echo "ok: preset $PRESET"; else echo "MISSING: CMake preset $PRESET in CMakePresets.json"; fi
    echo
    echo "--- measured: commit $COMMIT (tree differs from it: $DIRTY)"
  } > "$f" 2>&1
  probe
  echo "driver $DRIVER, torch $TORCH_VERSION (CUDA $TORCH_CUDA), GPU visible to torch: $CUDA_VISIBLE $CUDA_WHY" >> "$f"
  cat "$f"
  grep -q '^MISSING' "$f" && { echo; echo "== env: missing pieces:"; grep '^MISSING' "$f"; }
  note env $((SECONDS - s)) "ok (torch prefix ${TORCH_PREFIX:-NONE}, nvcc ${NVCC:-NONE}, GPU visible: $CUDA_VISIBLE)"
}

# ---------------------------------------------------------------- build
step_build() {
  local log=$OUT/build.log rc
  : > "$log"
  if [ "${GPU_SKIP_BUILD:-0}" = 1 ] && [ -x "$BUILD_DIR/weightstream" ]; then
    banner "build: skipped (GPU_SKIP_BUILD=1, $BUILD_DIR/weightstream exists)"
    note build 0 "skipped (GPU_SKIP_BUILD=1)"
    return 0
  fi
  [ -n "$TORCH_PREFIX" ] || TORCH_PREFIX=$(timeout 60 "$PYTHON" -c "import torch; print(torch.utils.cmake_prefix_path)" 2> /dev/null | tail -n 1)
  local args=(--preset "$PRESET" -B "$BUILD_DIR" "-DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCH"
    "-DWS_TORCH_COMPILE_JOBS=$NPROC" "-DWS_PYTHON=$(abs_cmd "$PYTHON")")
  local prefix=$TORCH_PREFIX
  [ -d "$DEVDEPS/usr" ] && prefix="$prefix;$DEVDEPS/usr"
  [ -n "$TORCH_PREFIX" ] || echo "warning: no torch cmake prefix (is torch importable by $PYTHON?)"
  args+=("-DCMAKE_PREFIX_PATH=$prefix")
  if [ -n "$NVCC" ]; then
    local cuda_root
    cuda_root=$(dirname "$(dirname "$(readlink -f "$NVCC")")")
    args+=("-DCMAKE_CUDA_COMPILER=$NVCC" "-DCUDAToolkit_ROOT=$cuda_root" "-DCUDA_TOOLKIT_ROOT_DIR=$cuda_root")
  else
    echo "warning: no nvcc found: CMake will not find a CUDA compiler"
  fi
  # libcurl's headers are rarely on a GPU image: build without HTTP sources then.
  if ! [ -f /usr/include/curl/curl.h ] && ! ls /usr/include/*/curl/curl.h > /dev/null 2>&1; then
    args+=("-DWS_HTTP=OFF")
  fi
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}  # LibTorch's CMake config: no autodetection pass
  run_step configure 150 $((BENCH_RESERVE + 60)) "$log" quiet cmake "${args[@]}"
  rc=$?
  if ((rc == 0)) && [ -d "$DEVDEPS/fixtures" ]; then
    mkdir -p "$BUILD_DIR/fixtures" && cp -r "$DEVDEPS/fixtures/." "$BUILD_DIR/fixtures/"
  fi
  if ((rc == 200)); then
    note build 0 "skipped: no time to configure"
    return $rc
  elif ((rc != 0)); then
    echo "-- configure failed ($log):"
    grep -q 'CMake Error' "$log" && grep -A12 'CMake Error' "$log" | head -n 60 || tail -n 25 "$log"
    note build 0 "skipped: configure failed"
    return $rc
  fi
  # weightstream first (the benchmark needs it), then the test binaries.
  run_step build-cli 420 $((BENCH_RESERVE + 30)) "$log" quiet cmake --build "$BUILD_DIR" -j "$NPROC" --target weightstream
  rc=$?
  if ((rc != 0 && rc != 200)); then
    echo "-- build of weightstream failed ($log):"
    grep -qE 'error:|FAILED:' "$log" && grep -m 20 -B2 -A6 -E 'error:|FAILED:' "$log" | head -n 80 || tail -n 20 "$log"
  fi
  run_step build-tests 420 $((BENCH_RESERVE + 60)) "$log" quiet cmake --build "$BUILD_DIR" -j "$NPROC" --target torch_tests cuda_tests
  local rc2=$?
  if ((rc2 != 0 && rc2 != 200)); then
    echo "-- build of the tests failed ($log):"
    sed -n '/build-tests: cmake/,$p' "$log" | grep -m 20 -B2 -A6 -E 'error|FAILED:' | head -n 80
  fi
  # keep the log under the 16 MiB a result file may have
  if [ "$(stat -c %s "$log")" -gt $((8 << 20)) ]; then
    tail -c $((4 << 20)) "$log" > "$log.tail" && mv "$log.tail" "$log"
  fi
  ((rc != 0)) && return $rc
  return $rc2
}

# ---------------------------------------------------------------- tests
step_tests() {
  local log=$OUT/tests.log rc
  : > "$log"
  # Carried fixtures: do not regenerate them (that needs transformers' own versions).
  local fixture_args=()
  [ -d "$DEVDEPS/fixtures" ] && fixture_args=(-FS '.*')
  if [ ! -f "$BUILD_DIR/CTestTestfile.cmake" ]; then
    banner "tests: not run, $BUILD_DIR is not configured"
    note tests 0 "FAILED: not configured, not run"
    return 1
  fi
  # A CUDA test fails here where it would skip (tests/require.h): this run is meant to have a GPU.
  run_step tests 240 "$BENCH_RESERVE" "$log" quiet \
    env WS_REQUIRE_CUDA=1 ctest --test-dir "$BUILD_DIR" -V --output-on-failure --no-tests=error -R 'Torch|Cuda' --timeout 120 -j "$CTEST_JOBS" \
    "${fixture_args[@]}"
  rc=$?
  echo "-- tests (all but the passed lines; the full output is in $log):"
  grep -E '^ *[0-9]+/[0-9]+ Test ' "$log" | grep -v ' Passed ' | head -n 60
  grep -B2 -E '\[  SKIPPED \] [A-Za-z]' "$log" | head -n 45
  grep -E 'No tests were found|Total Test time' "$log"
  grep -A40 'The following tests' "$log"
  grep -E 'tests passed' "$log" | tail -n 1 | sed "s/^/== tests: /"
  return $rc
}

# ---------------------------------------------------------------- bench
step_bench() {
  local log=$OUT/bench.log t
  : > "$log"
  rm -f "$OUT/gpu_results.json" "$OUT/gpu_results.md"  # never report an earlier run's figures
  if [ "$BENCH_DEVICE" = cuda ] && [ "$CUDA_VISIBLE" != true ]; then
    banner "bench: REFUSED, no figures: ${CUDA_WHY}"
    note bench 0 "REFUSED: CUDA not visible ($CUDA_WHY)"
    return 3
  fi
  t=$(box 100000 0)
  local d=$((t - 25))
  ((d >= t / 2)) || d=$((t / 2))
  # the Python script stops starting measurements 25 s before the box closes and
  # rewrites its results after each one, so what it measured survives a timeout
  run_step bench 100000 0 "$log" live "$PYTHON" bench/gpu_bench.py \
    --device "$BENCH_DEVICE" --out "$OUT" --weightstream "$BUILD_DIR/weightstream" --sizes-gib "$SIZES" \
    --deadline-s "$d" --no-print
}

STEP_STATUS=()
main() {
  local status=0 rc name
  banner "bench/gpu.sh: budget ${BUDGET} s, steps: $STEPS, results in $OUT, commit $COMMIT"
  want env || probe  # the GPU check and the versions are needed whatever the steps
  for name in env build tests bench; do
    want "$name" || continue
    "step_$name"
    rc=$?
    STEP_STATUS+=("\"$name\": $rc")
    # env only reports; the first failing step gives the script's status.
    if [ "$name" != env ] && ((rc != 0 && status == 0)); then status=$rc; fi
  done
  write_run_json "$status"
  banner "summary (total $(el) s of a ${BUDGET} s budget), commit $COMMIT, exit status $status"
  printf '%s\n' "${SUMMARY[@]}"
  if [ -f "$OUT/gpu_results.md" ]; then
    echo
    cat "$OUT/gpu_results.md"
  fi
  echo "== files in $OUT:"
  ls -la "$OUT"
  return "$status"
}

# pipefail: the pipeline's status is main's.
main 2>&1 | tee "$OUT/gpu.log"

#!/usr/bin/env bash
# Packs Qat.MLNet.Runtime, Qat.MLNet, Qat.MLNet.Cpu, Qat.MLNet.Onnx, Qat.MLNet.OnnxRuntime and Qat.MLNet.Testing into a local folder feed and uses them from outside the
# repository, every way a user consumes the library:
#   train        PackageReference to Qat.MLNet.Cpu; build, run (trains, saves a model and its scores)
#   publish-fd   the same app, `dotnet publish` framework-dependent, run from the publish folder
#   publish-sc   the same app, `dotnet publish -r linux-x64 --self-contained`, run from the publish folder
#   serve        PackageReference to Qat.MLNet.Runtime alone; publish; no TorchSharp/libtorch file, under 60 MB;
#                scores the trainer's model exactly as the trainer did
#   onnx         Qat.MLNet.Runtime + Qat.MLNet.Onnx + Qat.MLNet.OnnxRuntime + ML.NET's ONNX packages: ConvertToOnnx and the
#                standalone export of the trained model through ApplyOnnxModel, and Transform with ONNX Runtime scoring
#                its blocks, all predicting as the int8 engine does
#   user-tests   examples/Qat.MLNet.UserTests: a user's MSTest project on the Qat.MLNet.Cpu and Qat.MLNet.Testing
#                packages (trains a tiny model, asserts with the helpers), `dotnet test`
#   projectref   ProjectReference to the repository's Qat.MLNet.Cpu.csproj (unpatched output: the run-time loader
#                makes a private patched copy); two processes start at once on an empty native cache
# Prints one line per check and, last, "consumer totals: passed N, failed N". Exits non-zero when a check failed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/qat-consumers.XXXXXX")
# QAT_CONSUMERS_KEEP=1 keeps the folder (feed, sources, outputs, log) for a look afterwards.
if [ "${QAT_CONSUMERS_KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; else echo "consumers' folder: $work"; fi
version="0.2.0-ci.$(date -u +%Y%m%d%H%M%S)"
feed="$work/feed"
log="$work/log.txt"
passed=0
failed=0

# Each TorchSharp consumer's output holds ~1-2.5 GB of natives (every runtime libtorch ships): a check deletes what it
# built once it has run, so the run never holds more than one of them on a machine whose disk is shared with CI.
release() { rm -rf "$@"; }

check() { # check NAME COMMAND...: runs the command, its output to the log, and counts the result
  local name=$1
  shift
  local start=$SECONDS
  if "$@" >>"$log" 2>&1; then
    passed=$((passed + 1))
    echo "consumer $name: passed ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    echo "consumer $name: FAILED ($((SECONDS - start)) s); last lines of the log:"
    tail -n 25 "$log" | sed 's/^/    /'
  fi
}

pack() {
  for project in Qat.MLNet.Runtime Qat.MLNet Qat.MLNet.Cpu Qat.MLNet.Onnx Qat.MLNet.OnnxRuntime Qat.MLNet.Testing; do
    dotnet pack "$repo/$project/$project.csproj" -c Release -o "$feed" -p:Version="$version" || return 1
  done
}

cp -r "$repo/build/consumers" "$work/src"
cp -r "$repo/examples/Qat.MLNet.UserTests" "$work/src/UserTests"
cat >"$work/src/NuGet.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<!-- The local feed of this run; the machine's own configuration supplies the registry. -->
<configuration>
  <packageSources>
    <add key="qat-local" value="$feed" />
  </packageSources>
</configuration>
CONFIG
props=(-c Release -p:QatVersion="$version" -p:QatRepo="$repo")

check pack pack

train() {
  cd "$work/src/Train" && dotnet build "${props[@]}" &&
    dotnet bin/Release/net10.0/Train.dll "$work/model.zip" "$work/scores.txt"
}
check train train

publish_fd() {
  cd "$work/src/Train" && dotnet publish "${props[@]}" -o "$work/pub-fd" &&
    dotnet "$work/pub-fd/Train.dll" "$work/model-fd.zip" "$work/scores-fd.txt"
}
check publish-fd publish_fd
release "$work/pub-fd"

publish_sc() {
  cd "$work/src/Train" && dotnet publish "${props[@]}" -r linux-x64 --self-contained -o "$work/pub-sc" &&
    "$work/pub-sc/Train" "$work/model-sc.zip" "$work/scores-sc.txt"
}
check publish-sc publish_sc
release "$work/pub-sc" "$work/src/Train/bin" "$work/src/Train/obj"

serve() {
  cd "$work/src/Serve" && dotnet publish "${props[@]}" -o "$work/pub-serve" || return 1
  local torch
  torch=$(find "$work/pub-serve" -iname '*torch*' -o -iname 'libc10*' | head -5)
  if [ -n "$torch" ]; then
    echo "the serving app's publish output holds TorchSharp/libtorch files: $torch"
    return 1
  fi
  local mb
  mb=$(du -sm "$work/pub-serve" | cut -f1)
  echo "serving app publish output: $mb MB"
  if [ "$mb" -ge 60 ]; then
    echo "the serving app's publish output is $mb MB (limit 60 MB)"
    return 1
  fi
  dotnet "$work/pub-serve/Serve.dll" "$work/model.zip" "$work/scores.txt"
}
check serve serve

onnx() {
  cd "$work/src/Onnx" && dotnet build "${props[@]}" &&
    dotnet bin/Release/net10.0/Onnx.dll "$work/model.zip" "$work"
}
check onnx onnx

user_tests() {
  cd "$work/src/UserTests" && dotnet test "${props[@]}"
}
check user-tests user_tests
release "$work/src/UserTests/bin" "$work/src/UserTests/obj"

projectref() {
  cd "$work/src/ProjectRef" && dotnet build "${props[@]}" || return 1
  local lib
  lib=$(find bin/Release/net10.0 -name libLibTorchSharp.so | head -1)
  echo "ProjectReference output carries $lib (not patched by the build)"
  export QAT_MLNET_NATIVE_CACHE="$work/native-cache"
  dotnet bin/Release/net10.0/ProjectRef.dll "$work/model-p1.zip" "$work/scores-p1.txt" >"$work/p1.txt" 2>&1 &
  local first=$!
  dotnet bin/Release/net10.0/ProjectRef.dll "$work/model-p2.zip" "$work/scores-p2.txt" >"$work/p2.txt" 2>&1
  local second=$?
  wait "$first"
  local one=$?
  cat "$work/p1.txt" "$work/p2.txt"
  [ "$one" -eq 0 ] && [ "$second" -eq 0 ] && grep -q "patched private copy" "$work/p1.txt" "$work/p2.txt" &&
    [ -z "$(find "$QAT_MLNET_NATIVE_CACHE" -name '*.tmp')" ]
}
check projectref projectref
release "$work/src/ProjectRef/bin" "$work/src/ProjectRef/obj"

echo "what the consumers printed:"
grep -E '^(trained|served|serving app|exported|ProjectReference output)' "$log" | sed 's/^/    /'
echo "consumer totals: passed $passed, failed $failed"
[ "$failed" -eq 0 ]

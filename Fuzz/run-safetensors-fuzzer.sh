#!/usr/bin/env bash
# Builds the libFuzzer + AddressSanitizer harness for the safetensors reader and runs it.
#
#   Fuzz/run-safetensors-fuzzer.sh [RUNS] [extra libFuzzer flags...]     (default RUNS: 1000000)
#
# The harness (Fuzz/SafetensorsFuzzer/main.swift) is compiled in one module with every source of
# Sources/PruneTensor, so it calls the reader's real `SafetensorsFile.parse` (the code `open` runs on a
# mapped file) and reads every accepted tensor; OpenBLAS is linked through pkg-config because the
# module's ops use CBLAS. The committed seeds (Fuzz/corpus/safetensors, made by make_safetensors_seeds.py)
# are copied into a working corpus under .build-fuzz/ so new inputs never land in the repository.
# Crashes, leaks and hangs are written as .build-fuzz/artifacts/crash-* / leak-* / timeout-*; the script
# exits non-zero when libFuzzer finds one. Replay one with: .build-fuzz/safetensors-fuzzer FILE
set -euo pipefail

cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
build=.build-fuzz
binary="$build/safetensors-fuzzer"
mkdir -p "$build/corpus" "$build/artifacts"

sources=$(find Sources/PruneTensor -name '*.swift' | sort)
if [[ ! -x "$binary" ]] || [[ -n "$(find Sources/PruneTensor Fuzz/SafetensorsFuzzer -name '*.swift' -newer "$binary")" ]]; then
    echo "building $binary"
    # shellcheck disable=SC2046,SC2086
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
        -module-name SafetensorsFuzzer -enable-upcoming-feature ExistentialAny \
        -I Sources/CBLAS $(pkg-config --cflags-only-I openblas | sed 's/-I/-Xcc -I/g') \
        $(pkg-config --libs openblas) \
        $sources Fuzz/SafetensorsFuzzer/main.swift -o "$binary"
fi

# The Swift runtime's own crash reporter would attach to the dying process and hold its output open; libFuzzer
# and ASan print the stack themselves.
export SWIFT_BACKTRACE=enable=no

cp -n Fuzz/corpus/safetensors/* "$build/corpus/" 2>/dev/null || true

# -max_len 4096: headers, shapes and data sections big enough for every case the reader distinguishes.
# -timeout 10: a single input taking longer is a hang. -rss_limit_mb 2048: a huge allocation is a finding.
exec "$binary" "$build/corpus" \
    -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -dict=Fuzz/safetensors.dict -artifact_prefix="$build/artifacts/" -print_final_stats=1 "$@"

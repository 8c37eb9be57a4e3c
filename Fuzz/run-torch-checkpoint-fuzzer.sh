#!/usr/bin/env bash
# Builds the libFuzzer + AddressSanitizer harness for the restricted torch.save reader and runs it.
#
#   Fuzz/run-torch-checkpoint-fuzzer.sh [RUNS] [extra libFuzzer flags...]     (default RUNS: 1000000)
#
# The harness (Fuzz/TorchCheckpointFuzzer/main.swift) is compiled in one module with every source of
# Sources/PruneTorchCheckpoint, so it calls the reader's real `TorchCheckpoint.load(data:name:)`. The committed
# seeds (Fuzz/corpus/torch-checkpoint: copies of small files from Tests/Fixtures/ecodiff — zip, legacy,
# protocol 4, zip64, deflated, a dict of views, malicious pickles) are copied into a working corpus under
# .build-fuzz/ so new inputs never land in the repository. Crashes, leaks, hangs and out-of-memory inputs are
# written as .build-fuzz/torch-artifacts/*; the script exits non-zero when libFuzzer finds one. Replay one with:
# .build-fuzz/torch-checkpoint-fuzzer FILE
set -euo pipefail

cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
build=.build-fuzz
binary="$build/torch-checkpoint-fuzzer"
mkdir -p "$build/torch-corpus" "$build/torch-artifacts"

sources=$(find Sources/PruneTorchCheckpoint -name '*.swift' | sort)
if [[ ! -x "$binary" ]] || [[ -n "$(find Sources/PruneTorchCheckpoint Fuzz/TorchCheckpointFuzzer -name '*.swift' -newer "$binary")" ]]; then
    echo "building $binary"
    # shellcheck disable=SC2086
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
        -module-name TorchCheckpointFuzzer -enable-upcoming-feature ExistentialAny \
        $sources Fuzz/TorchCheckpointFuzzer/main.swift -o "$binary"
fi

export SWIFT_BACKTRACE=enable=no

cp -n Fuzz/corpus/torch-checkpoint/* "$build/torch-corpus/" 2>/dev/null || true

# -max_len 16384: the seeds are 0.1–9 KB. -timeout 10: a single input taking longer is a hang.
# -rss_limit_mb 2048: a huge allocation is a finding.
exec "$binary" "$build/torch-corpus" \
    -runs="$runs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/torch-artifacts/" -print_final_stats=1 "$@"

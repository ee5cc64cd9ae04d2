#!/usr/bin/env bash
# Runs one fuzz target for a fixed time on one core, growing its working corpus in
# fuzz/work/<target> (seeded from the committed fuzz/corpus/<target>), and keeps libFuzzer's
# log in fuzz/runs/<target>.log. Usage: fuzz/run.sh TARGET [SECONDS] [SANITIZER]
# (defaults: 1800 seconds, address). Crashes land in fuzz/artifacts/<target>/.
# Needs cargo-fuzz; on a stable toolchain RUSTC_BOOTSTRAP=1 unlocks the nightly flags it uses.
set -euo pipefail
target=$1
seconds=${2:-1800}
sanitizer=${3:-address}
cd "$(dirname "$0")"
case $target in
stomp_decoder) dict=dicts/stomp.dict ;;
*) dict=dicts/json.dict ;;
esac
mkdir -p "work/$target" "corpus/$target" runs
export RUSTC_BOOTSTRAP=1
# -jobs=1 runs the fuzzer in one child process whose output goes to fuzz-0.log.
nice -n 19 cargo fuzz run -O -s "$sanitizer" "$target" "work/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -jobs=1 -workers=1 -dict="$dict" \
    -print_final_stats=1 && rc=0 || rc=$?
mv -f fuzz-0.log "runs/$target.log" 2>/dev/null || true
echo "run of $target ended with exit code $rc" >>"runs/$target.log"
exit "$rc"

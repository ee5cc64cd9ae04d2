#!/usr/bin/env bash
# Minimises a target's working corpus (fuzz/work/<target>) together with its committed one
# into a new fuzz/corpus/<target>, the smallest set of inputs with the same coverage, which is
# what gets committed. Coverage here is edges only, without hit counts (-use_counters=0), and
# the set is a greedy set cover (-set_cover_merge=1), which keeps the corpus a few hundred files.
set -euo pipefail
target=$1
sanitizer=${2:-address}
cd "$(dirname "$0")"
merged=$(mktemp -d)
for dir in "work/$target" "corpus/$target"; do
  # A fuzzer still running may delete inputs it has replaced by smaller ones: skip those.
  if [ -d "$dir" ]; then find "$dir" -maxdepth 1 -type f -exec cp -t "$merged" {} + 2>/dev/null || true; fi
done
RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz cmin -O -s "$sanitizer" "$target" "$merged" -- -use_counters=0 -set_cover_merge=1
rm -rf "corpus/$target"
mkdir -p corpus
mv "$merged" "corpus/$target"
chmod 755 "corpus/$target"
echo "corpus/$target: $(find "corpus/$target" -type f | wc -l) files, $(du -sb "corpus/$target" | cut -f1) bytes"

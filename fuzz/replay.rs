//! Replays a fuzz target's committed inputs as an ordinary test: every file of
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` goes through the same harness
//! function the target calls, so a crash the fuzzer found and that was fixed stays fixed.
//! Included with `#[path]` by the replay tests of the crates under fuzzing.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The `fuzz/` directory, seen from the crate whose test includes this file.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted; `None` when `dir` does not exist.
fn files(dir: &Path) -> Option<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).ok()?;
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Some(files)
}

/// Runs `harness` on every committed input of `target`, then fails naming each input that
/// panicked. The corpus must exist and hold at least one file, so a lost corpus fails the test
/// instead of passing it silently; the regressions directory exists only for targets on which
/// the fuzzer found something.
pub fn replay(target: &str, harness: fn(&[u8])) {
    let corpus = fuzz_dir().join("corpus").join(target);
    let mut inputs = match files(&corpus) {
        Some(f) if !f.is_empty() => f,
        Some(_) => panic!(
            "the fuzz corpus {} is empty: see docs/FUZZING.md to rebuild it",
            corpus.display()
        ),
        None => panic!(
            "the fuzz corpus {} is missing: see docs/FUZZING.md to rebuild it",
            corpus.display()
        ),
    };
    let regressions = fuzz_dir().join("regressions").join(target);
    inputs.extend(files(&regressions).unwrap_or_default());
    let mut failed = Vec::new();
    for input in &inputs {
        let data =
            fs::read(input).unwrap_or_else(|e| panic!("cannot read {}: {e}", input.display()));
        if panic::catch_unwind(AssertUnwindSafe(|| harness(&data))).is_err() {
            failed.push(input.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} inputs of fuzz target {target} fail (panic messages above):\n{}",
        failed.len(),
        inputs.len(),
        failed.join("\n")
    );
    eprintln!("fuzz target {target}: {} inputs replayed", inputs.len());
}

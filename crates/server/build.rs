//! Embeds the web client's built bundle (`web/dist`, committed) into the binary at compile time.

use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a build script compiled in another
    // checkout of the same sources (a shared target directory) must still read this one's bundle.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into());
    let dist = Path::new(&manifest).join("../../web/dist");
    // The bundle is committed so that a clone builds without Node; a missing one is a broken
    // checkout, better named here than as an empty page at run time.
    assert!(
        dist.join("index.html").is_file(),
        "web/dist/index.html is missing: rebuild the web client with `cd web && npm ci && npm run build`"
    );
    // memory-serve otherwise prints a cargo warning for every file it embeds.
    std::env::set_var("MEMORY_SERVE_QUIET", "1");
    // Embedded in debug builds too, so the tests serve exactly what a release serves
    // (compressed, with its ETag), not files read from disk at request time.
    memory_serve::load_directory_with_embed(dist, true);
}

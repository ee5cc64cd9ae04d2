//! The scam detector against the labelled corpus (`safety/corpus.jsonl`: realistic buyer and
//! seller messages, written apart from the rules): reports precision and recall per kind and
//! fails under the targets of issue 15 (recall ≥ 95%, honest messages flagged ≤ 1%).

use std::collections::BTreeMap;

use chat_core::safety::{Detector, Warning, Warnings};

const CORPUS: &str = include_str!("../safety/corpus.jsonl");

#[derive(serde::Deserialize)]
struct Line {
    text: String,
    labels: Vec<String>,
}

#[derive(Default)]
struct Counts {
    hit: u32,
    missed: u32,
    extra: u32,
}

#[test]
fn the_detector_meets_its_targets_on_the_corpus() {
    let detector = Detector::shipped();
    let mut per_kind: BTreeMap<&str, Counts> = BTreeMap::new();
    let (mut honest, mut honest_flagged) = (0u32, 0u32);
    let mut mistakes = Vec::new();
    for (n, raw) in CORPUS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line: Line =
            serde_json::from_str(raw).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let expected: Warnings = line
            .labels
            .iter()
            .map(|l| Warning::parse(l).unwrap_or_else(|| panic!("line {}: label {l}", n + 1)))
            .collect();
        let found = detector.check(&line.text).warnings;
        if expected.is_empty() {
            honest += 1;
            if !found.is_empty() {
                honest_flagged += 1;
            }
        }
        for kind in Warning::ALL {
            let c = per_kind.entry(kind.as_str()).or_default();
            match (expected.contains(kind), found.contains(kind)) {
                (true, true) => c.hit += 1,
                (true, false) => c.missed += 1,
                (false, true) => c.extra += 1,
                (false, false) => {}
            }
        }
        if expected != found {
            mistakes.push(format!(
                "line {:>4}: expected {:?} found {:?}: {}",
                n + 1,
                expected.iter().map(Warning::as_str).collect::<Vec<_>>(),
                found.iter().map(Warning::as_str).collect::<Vec<_>>(),
                line.text.replace('\n', "⏎")
            ));
        }
    }
    let (mut hit, mut missed, mut extra) = (0, 0, 0);
    println!("kind           recall  precision  (hit/missed/extra)");
    for (kind, c) in &per_kind {
        hit += c.hit;
        missed += c.missed;
        extra += c.extra;
        println!(
            "{kind:<14} {:>6.1}% {:>9.1}%  ({}/{}/{})",
            100.0 * f64::from(c.hit) / f64::from((c.hit + c.missed).max(1)),
            100.0 * f64::from(c.hit) / f64::from((c.hit + c.extra).max(1)),
            c.hit,
            c.missed,
            c.extra
        );
    }
    let recall = f64::from(hit) / f64::from((hit + missed).max(1));
    let precision = f64::from(hit) / f64::from((hit + extra).max(1));
    let false_positive_rate = f64::from(honest_flagged) / f64::from(honest.max(1));
    println!(
        "all            {:>6.1}% {:>9.1}%  honest messages flagged: {honest_flagged} of {honest} ({:.2}%)",
        100.0 * recall,
        100.0 * precision,
        100.0 * false_positive_rate
    );
    for m in &mistakes {
        println!("{m}");
    }
    assert!(
        honest >= 300 && hit + missed >= 250,
        "the corpus is too small"
    );
    assert!(recall >= 0.95, "recall {:.1}% is under 95%", 100.0 * recall);
    assert!(
        false_positive_rate <= 0.01,
        "{:.2}% of honest messages flagged, over 1%",
        100.0 * false_positive_rate
    );
}

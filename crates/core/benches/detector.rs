//! The scam detector's cost per message (API-v2 "Safety"): it reads every member's message on
//! the send path. Typical honest and risky chat lines, the whole labelled corpus (the mix of
//! real traffic is mostly honest), and the longest message allowed.
//!
//! `cargo bench -p reuse-chat-core --bench detector`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use chat_core::safety::Detector;

const CORPUS: &str = include_str!("../safety/corpus.jsonl");

fn corpus() -> Vec<String> {
    CORPUS
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .collect()
}

fn detector(c: &mut Criterion) {
    let d = Detector::shipped();
    let mut g = c.benchmark_group("detector");
    for (name, text) in [
        (
            "honest",
            "안녕하세요 아직 판매중인가요? 15만원에 가능할까요",
        ),
        ("phone", "010-1234-5678로 문자 주세요"),
        ("hangul-phone", "공일공 일이삼사 오육칠팔 로 연락주세요"),
        (
            "account-prepay",
            "카뱅 3333-01-1234567 먼저 입금해주시면 바로 보내드려요",
        ),
        // What the persistence and marketplace benches send (scripts/bench.sh).
        (
            "bench-message",
            "ts=1765075200123456 안녕하세요, 아직 판매중인가요? bench filler text for a realistic size",
        ),
    ] {
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |b| b.iter(|| d.check(black_box(text))));
    }
    let all = corpus();
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("corpus", |b| {
        b.iter(|| {
            for t in &all {
                black_box(d.check(black_box(t)));
            }
        })
    });
    let longest: String = "중고 자전거 상태 좋아요 가격은 15만원이고 직거래 원해요. "
        .chars()
        .cycle()
        .take(4000)
        .collect();
    g.throughput(Throughput::Elements(1));
    g.bench_function("4000-chars", |b| b.iter(|| d.check(black_box(&longest))));
    g.finish();
}

criterion_group!(benches, detector);
criterion_main!(benches);

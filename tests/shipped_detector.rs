//! The detector ships in `weights/`: the committed checkpoint, the figures recorded in
//! its metadata and its model card agree, the program carries exactly those bytes, and
//! the recipe that made it (`ti2net demo build`) runs end to end on a tiny
//! configuration.

mod common;
use common::*;
use ti2net::demo::{self, DemoConfig};

fn sha256(bytes: &[u8]) -> String {
    ti2net::fsutil::sha256_bytes(bytes)
}

#[test]
fn the_committed_checkpoint_its_metadata_and_its_card_agree() {
    let ck = root().join("weights/ti2net-demo.safetensors");
    let bytes = std::fs::read(&ck).unwrap();
    let sha = sha256(&bytes);
    // The program carries these very bytes, whatever its models folder holds.
    assert!(ti2net::models::SHIPPED_DETECTOR == bytes.as_slice());
    assert_eq!(ti2net::models::shipped_detector_sha256(), sha);
    // The card is what the recipe's card writer makes of the checkpoint's metadata.
    let card = demo::recorded_card(&ck).unwrap();
    let people = demo::read_corpus(&root().join("assets/corpus.tsv")).unwrap();
    let expected = demo::model_card(&card, &people, &DemoConfig::default(), &sha);
    let committed = std::fs::read_to_string(root().join("weights/ti2net-demo.md")).unwrap();
    assert!(
        committed == expected,
        "weights/ti2net-demo.md is not the card of weights/ti2net-demo.safetensors: run `ti2net demo build` in the clone"
    );
    assert_eq!(ti2net::models::SHIPPED_CARD, committed);
    assert!(committed.contains(&sha));
    // The README of weights/ pins the same hash.
    let readme = std::fs::read_to_string(root().join("weights/README.md")).unwrap();
    assert!(
        readme.contains(&sha),
        "weights/README.md does not give {sha}"
    );
    // Verdicts use the threshold the card states; the test people never trained it.
    let det = ti2net::classifier::Detector::load(&ck, &candle_core::Device::Cpu).unwrap();
    assert_eq!(det.threshold(), card.threshold);
    assert!(committed.contains(&format!("{:.3}", card.threshold)));
    assert!(!card.test_people.is_empty());
    assert!(card
        .train_people
        .iter()
        .all(|p| !card.test_people.contains(p)));
    assert_eq!(
        det.checkpoint.provenance.encoder.as_deref(),
        Some("mobilefacenet")
    );
}

/// The recipe on four people (two for training, two held out), one clip each and one
/// epoch: it makes the clips, trains, calibrates, measures on the held-out people and
/// writes a checkpoint whose card the program can read back; a second run is up to
/// date and trains nothing.
#[test]
fn the_recipe_runs_end_to_end_on_a_tiny_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.tsv");
    let all = std::fs::read_to_string(root().join("assets/corpus.tsv")).unwrap();
    let keep = ["franck", "jwp", "cap12", "woman2"];
    let lines: Vec<&str> = all
        .lines()
        .filter(|l| keep.iter().any(|k| l.starts_with(&format!("{k}\t"))))
        .collect();
    assert_eq!(lines.len(), 4);
    std::fs::write(&corpus, lines.join("\n") + "\n").unwrap();
    let (out, card) = (dir.path().join("d.safetensors"), dir.path().join("d.md"));
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "demo",
            "build",
            "--corpus",
            &s(&corpus),
            "--media",
            &s(&root().join("assets/media")),
            "--work",
            &s(&dir.path().join("work")),
            "--out",
            &s(&out),
            "--card",
            &s(&card),
            "--test-people",
            "cap12,woman2",
            "--max-segments",
            "1",
            "--epochs",
            "1",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        v.extend(extra.iter().map(|a| a.to_string()));
        v
    };
    let o = run_s(&args(&[]));
    assert!(o.status.success(), "{}", stderr(&o));
    let c = demo::recorded_card(&out).unwrap();
    assert_eq!(c.test_people, vec!["cap12".to_string(), "woman2".into()]);
    assert_eq!(c.train_people, vec!["franck".to_string(), "jwp".into()]);
    assert!(c.train_real >= 2 && c.train_fake >= 2, "{c:?}");
    assert!(c.test_real >= 1 && c.test_fake >= 1, "{c:?}");
    assert!(c.threshold > 0.0 && c.threshold < 1.0);
    let text = std::fs::read_to_string(&card).unwrap();
    assert!(text.contains(&sha256(&std::fs::read(&out).unwrap())));

    // Up to date: nothing is made or trained again, and a card that was lost is
    // written back from the checkpoint's metadata.
    std::fs::remove_file(&card).unwrap();
    let before = std::fs::read(&out).unwrap();
    let o = run_s(&args(&[]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("up to date"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(std::fs::read_to_string(&card).unwrap(), text);
}

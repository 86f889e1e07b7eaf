//! The table of bad examples on disk: several annotators' tables merged and
//! exported (CSV and JSON), broken tables refused with one sentence, a table changed
//! by someone else never overwritten, and a scripted annotation killed mid-way
//! (SIGKILL) that leaves a valid table missing at most the last action.

mod common;
use common::*;
use std::io::{BufRead, Write};
use ti2net::review::{Frames, Reason, Status, Table};

#[test]
fn tables_merge_export_and_a_broken_table_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("alice.json");
    let b = dir.path().join("bob.csv");
    let mut ta = Table::default();
    ta.entries.push(entry(
        "x/1.mp4",
        None,
        Reason::NoFace,
        "alice",
        "2026-01-01T00:00:00Z",
    ));
    ta.entries.push(entry(
        "x/2.mp4",
        Some(Frames::new(10, 40)),
        Reason::BadCrops,
        "alice",
        "2026-01-01T00:00:01Z",
    ));
    let mut tb = Table::default();
    // The same flag by another annotator is kept beside alice's ...
    tb.entries.push(entry(
        "x/1.mp4",
        None,
        Reason::NoFace,
        "bob",
        "2026-01-02T00:00:00Z",
    ));
    // ... and alice's own later copy (in bob's file) replaces her earlier one.
    let mut newer = entry(
        "x/2.mp4",
        Some(Frames::new(10, 40)),
        Reason::BadCrops,
        "alice",
        "2026-01-03T00:00:00Z",
    );
    newer.status = Status::Dismissed;
    newer.note = "a note, with \"quotes\"".into();
    tb.entries.push(newer.clone());
    std::fs::write(&a, ta.to_json()).unwrap();
    std::fs::write(&b, tb.to_csv()).unwrap();
    // The CSV form reads back to the same table.
    assert_eq!(Table::read(&b).unwrap().entries, tb.entries);

    let merged = dir.path().join("merged.json");
    let o = run_s(&[
        "review".into(),
        "--merge".into(),
        s(&a),
        s(&b),
        "--export".into(),
        s(&merged),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = Table::read(&merged).unwrap();
    assert_eq!(m.entries.len(), 3, "{:?}", m.entries);
    assert!(m
        .entries
        .iter()
        .any(|e| e.annotator == "bob" && e.video == "x/1.mp4"));
    assert!(m
        .entries
        .iter()
        .any(|e| e.annotator == "alice" && e.video == "x/1.mp4"));
    assert!(m.entries.contains(&newer));
    // Exported as CSV: a header and one line per entry.
    let csv = dir.path().join("merged.csv");
    let o = run_s(&[
        "review".into(),
        "--table".into(),
        s(&merged),
        "--export".into(),
        s(&csv),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("dataset,video,label,frames,reason,status,note,annotator,time\n"));
    assert!(text.contains("set,x/2.mp4,real,10-40,bad_crops,dismissed,\"a note, with \"\"quotes\"\"\",alice,2026-01-03T00:00:00Z"), "{text}");
    // Never over an existing file without --force.
    let o = run_s(&[
        "review".into(),
        "--table".into(),
        s(&merged),
        "--export".into(),
        s(&csv),
    ]);
    assert_clean_error(&o, &csv, &["already exists"]);

    // A cut-off JSON table, a CSV with wrong columns, another schema: one sentence each.
    let broken = dir.path().join("broken.json");
    let full = std::fs::read(&merged).unwrap();
    std::fs::write(&broken, &full[..full.len() / 2]).unwrap();
    let o = run_s(&[
        "review".into(),
        "--table".into(),
        s(&broken),
        "--export".into(),
        s(&dir.path().join("o.csv")),
    ]);
    assert_clean_error(&o, &broken, &["not a valid review table"]);
    let wrong = dir.path().join("wrong.csv");
    std::fs::write(&wrong, "video,frames\nx.mp4,1-2\n").unwrap();
    let o = run_s(&[
        "review".into(),
        "--merge".into(),
        s(&wrong),
        "--export".into(),
        s(&dir.path().join("o2.csv")),
    ]);
    assert_clean_error(&o, &wrong, &["columns"]);
    let other = dir.path().join("other.json");
    std::fs::write(&other, r#"{"schema":"ti2net.review-table/9","entries":[]}"#).unwrap();
    let e = Table::read(&other).unwrap_err().to_string();
    assert!(
        e.contains("other.json") && e.contains("ti2net.review-table/9"),
        "{e}"
    );
}

#[test]
fn a_killed_annotation_leaves_a_valid_table_missing_at_most_the_last_action() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    std::fs::create_dir_all(&set).unwrap();
    for n in ["a.mp4", "b.mp4"] {
        std::fs::write(set.join(n), "the videos are not read by the scripted mode").unwrap();
    }
    let table = dir.path().join("t.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ti2net"))
        .args([
            "review",
            &s(&set),
            "--table",
            &s(&table),
            "--annotator",
            "carol",
            "--script",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let n = 400;
    let action = |i: usize| {
        let v = if i.is_multiple_of(2) {
            "a.mp4"
        } else {
            "b.mp4"
        };
        (v, Frames::new(i as u64, i as u64 + 5), format!("note {i}"))
    };
    {
        let mut stdin = child.stdin.take().unwrap();
        let mut script = String::new();
        for i in 0..n {
            let (v, f, note) = action(i);
            script.push_str(&format!("flag {v} bad_crops {} {note}\n", f.text()));
        }
        stdin.write_all(script.as_bytes()).unwrap();
        // Keep stdin open: the process waits for more, and is killed mid-way.
        std::mem::forget(stdin);
    }
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut acked = 0;
    let mut line = String::new();
    while acked < 60 {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the process ended early"
        );
        acked = line.trim().strip_prefix("ok ").unwrap().parse().unwrap();
    }
    // SIGKILL: no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    let t = Table::read(&table).expect("the table is valid after the kill");
    let k = t.entries.len();
    eprintln!("killed after {acked} acknowledged actions: {k} of {n} in the table");
    assert!(
        k >= acked,
        "every acknowledged action is on disk ({k} < {acked})"
    );
    assert!(k <= n);
    for (i, e) in t.entries.iter().enumerate() {
        let (v, f, note) = action(i);
        assert_eq!(
            (e.video.as_str(), e.frames, &e.note, e.reason, e.status),
            (v, Some(f), &note, Reason::BadCrops, Status::Flagged)
        );
        assert_eq!(e.annotator, "carol");
    }
    // The same table opens again and takes more actions.
    let o = run_s(&[
        "review".into(),
        s(&set),
        "--table".into(),
        s(&table),
        "--annotator".into(),
        "dave".into(),
        "--script".into(),
        s(&{
            let p = dir.path().join("more.txt");
            std::fs::write(
                &p,
                "flag a.mp4 no_face all nobody there\nflag nope.mp4 no_face\naccept 1\n",
            )
            .unwrap();
            p
        }),
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "one line was rejected: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("nope.mp4 is not a video of"),
        "{}",
        stderr(&o)
    );
    let t = Table::read(&table).unwrap();
    assert_eq!(t.entries.len(), k + 1);
    let last = t.entries.last().unwrap();
    assert_eq!(
        (last.frames, last.reason, last.annotator.as_str()),
        (None, Reason::NoFace, "dave")
    );
}

#[test]
fn a_table_changed_by_someone_else_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.json");
    let mut f = ti2net::review::TableFile::open(&p).unwrap();
    f.update(|t| {
        t.entries.push(entry(
            "a.mp4",
            None,
            Reason::NoFace,
            "alice",
            "2026-01-01T00:00:00Z",
        ))
    })
    .unwrap();
    // Another program writes the file meanwhile.
    let mut other = Table::read(&p).unwrap();
    other.entries.push(entry(
        "b.mp4",
        None,
        Reason::Corrupt,
        "bob",
        "2026-01-01T00:00:00Z",
    ));
    std::fs::write(&p, other.to_json()).unwrap();
    let e = f
        .update(|t| {
            t.entries.push(entry(
                "c.mp4",
                None,
                Reason::NoFace,
                "alice",
                "2026-01-01T00:00:01Z",
            ))
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.json") && e.contains("changed on disk"), "{e}");
    assert_eq!(Table::read(&p).unwrap(), other, "bob's table is untouched");
    assert_eq!(
        f.table.entries.len(),
        1,
        "the refused change is undone in memory"
    );
    assert_eq!(ti2net::review::table::utc_text(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        ti2net::review::table::utc_text(1_795_772_096),
        "2026-11-27T09:34:56Z"
    );
}

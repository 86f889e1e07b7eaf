//! The forensic report: the HTML page renders in a real browser (Debian's chromium,
//! headless) with its pictures, the hash it states is the file's, the JSON holds the
//! same content, and a second run gives the same numbers.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn sha256(path: &Path) -> String {
    ti2net::fsutil::sha256_file(path).unwrap()
}

fn report(video: &Path, out: &Path) -> serde_json::Value {
    let o = run(&[&"report", &video, &"--out", &out, &"--every", &"2"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let stem = video.file_stem().unwrap().to_string_lossy().to_string();
    assert!(out.join(format!("{stem}.report.html")).exists(), "{err}");
    read_json(&out.join(format!("{stem}.report.json")))
}

/// The text between `<code id="sha256">` and `</code>`.
fn stated_hash(html: &str) -> String {
    let start = html
        .find("<code id=\"sha256\">")
        .expect("no hash in the page")
        + 18;
    let end = html[start..].find("</code>").unwrap() + start;
    html[start..end].to_string()
}

#[test]
fn the_report_renders_in_chromium_and_states_the_files_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let video = tmp.path().join("clip.mp4");
    std::fs::copy(media("cut.mp4"), &video).unwrap();
    let out = tmp.path().join("report");
    let j = report(&video, &out);
    let html_path = out.join("clip.report.html");
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert_eq!(stated_hash(&html), sha256(&video));
    assert_eq!(j["input"]["sha256"], sha256(&video));
    assert_eq!(
        j["input"]["size_bytes"],
        std::fs::metadata(&video).unwrap().len()
    );
    // Self-contained: no external resource.
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    assert!(!html.contains("src=\"file:"));
    // The content an analyst hands over.
    let streams = j["input"]["container"]["streams"].as_array().unwrap();
    assert!(streams
        .iter()
        .any(|s| s["kind"] == "video" && s["codec"] == "h264"));
    let roles: Vec<&str> = j["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"identity encoder") && roles.contains(&"face landmarks"));
    assert!(j["models"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["sha256"].as_str().unwrap().len() == 64));
    assert_eq!(j["parameters"]["every"], 2);
    assert!(j["created_utc"].as_str().unwrap().ends_with('Z'));
    // cut.mp4 changes person at 5 s: crops on both sides of the change are shown.
    let sheet = j["contact_sheet"].as_array().unwrap();
    assert!(sheet.iter().any(|e| e["why"]
        .as_str()
        .unwrap()
        .starts_with("before identity change")));
    assert!(sheet.iter().any(|e| e["why"]
        .as_str()
        .unwrap()
        .starts_with("after identity change")));
    assert!(!j["limits"].as_array().unwrap().is_empty());
    assert!(html.contains("Limits of the method"));

    // Headless chromium renders the page; the screenshot holds the embedded pictures
    // (the curves, the matrix, the crops give thousands of colours; a page whose
    // images failed would be mostly flat text colours).
    let shot = tmp.path().join("shot.png");
    let st = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,3000",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html_path.display()))
        .env("HOME", tmp.path())
        .output()
        .expect("chromium is installed by scripts/setup.sh");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let img = image::open(&shot).unwrap().to_rgb8();
    assert_eq!(img.width(), 1200);
    let mut colours = std::collections::HashSet::new();
    for p in img.pixels() {
        colours.insert(p.0);
    }
    assert!(
        colours.len() > 2000,
        "only {} colours in the screenshot",
        colours.len()
    );
    // The matrix's yellow and dark blue and the verdict box are on the page.
    let has = |c: [u8; 3], tol: i32| {
        img.pixels()
            .any(|p| (0..3).all(|k| (p.0[k] as i32 - c[k] as i32).abs() <= tol))
    };
    assert!(has([250, 235, 40], 12), "no yellow cell of the matrix");
    assert!(has([20, 20, 80], 12), "no dark-blue cell of the matrix");
}

#[test]
fn two_reports_of_the_same_input_give_the_same_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let video = media("carphone_pristine.mp4");
    let mut a = report(&video, &tmp.path().join("a"));
    let mut b = report(&video, &tmp.path().join("b"));
    for j in [&mut a, &mut b] {
        j.as_object_mut().unwrap().remove("created_utc");
    }
    assert!(a["analysis"]["frames"].as_array().unwrap().len() > 40);
    assert_eq!(a, b, "the two reports differ beyond their dates");
}

#[test]
fn a_report_is_not_written_over_an_existing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    std::fs::create_dir_all(&out).unwrap();
    let html = out.join("carphone_pristine.report.html");
    std::fs::write(&html, "earlier work").unwrap();
    let o = run(&[&"report", &media("carphone_pristine.mp4"), &"--out", &out]);
    assert_clean_error(&o, &html, &["exists"]);
    assert_eq!(std::fs::read_to_string(&html).unwrap(), "earlier work");
}

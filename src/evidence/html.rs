//! The forensic report as one self-contained HTML page (no external resources).

use super::{ForensicReport, Span};
use std::fmt::Write;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn opt(v: Option<f32>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:.9em;vertical-align:top}
code{font-size:.9em;word-break:break-all}.verdict{font-size:1.3em;padding:10px 14px;border-radius:6px;display:inline-block}
.fake{background:#fde2e0;border:2px solid #d33}.real{background:#e2f5e6;border:2px solid #2a7}.undetermined{background:#eee;border:2px solid #999}
.sheet{display:flex;flex-wrap:wrap;gap:10px}.sheet figure{margin:0;width:150px;font-size:.75em}.sheet img{width:128px;height:128px;image-rendering:pixelated;display:block}
pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:.8em}li{margin:4px 0}";

fn spans_table(o: &mut String, title: &str, spans: &[Span]) {
    let total: usize = spans.iter().map(|s| s.frames).sum();
    let _ = write!(
        o,
        "<h3>{}: {} analysed frame(s) in {} run(s)</h3>",
        esc(title),
        total,
        spans.len()
    );
    if spans.is_empty() {
        return;
    }
    o.push_str("<table><tr><th>from frame</th><th>to frame</th><th>from (s)</th><th>to (s)</th><th>frames</th></tr>");
    for s in spans.iter().take(200) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td></tr>",
            s.start_frame, s.end_frame, s.start_s, s.end_s, s.frames
        );
    }
    o.push_str("</table>");
    if spans.len() > 200 {
        let _ = write!(
            o,
            "<p>... and {} more runs (all are in the JSON report).</p>",
            spans.len() - 200
        );
    }
}

/// Renders the page.
pub fn render(r: &ForensicReport) -> String {
    let a = &r.analysis;
    let mut o = String::with_capacity(64 * 1024 + r.curves_png.len() * 2);
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ti2net report: {}</title><style>{STYLE}</style></head><body>",
        esc(&r.input.file_name)
    );
    let _ = write!(
        o,
        "<h1>Forensic report: {}</h1><p>Made by {} {} on <span id=\"created\">{}</span> (UTC). Report schema {}.</p>",
        esc(&r.input.file_name),
        esc(&r.tool.name),
        esc(&r.tool.version),
        esc(&r.created_utc),
        esc(&r.schema)
    );
    // Verdict.
    o.push_str("<h2>Verdict</h2>");
    match &a.verdict {
        Some(v) => {
            let class = match v.label.as_str() {
                "fake" => "fake",
                "real" => "real",
                _ => "undetermined",
            };
            let _ = write!(
                o,
                "<div class=\"verdict {class}\" id=\"verdict\">{}: mean fake probability {} over {} window(s), threshold {:.2}</div>",
                esc(&v.label.to_uppercase()),
                opt(v.p_fake),
                v.windows.len(),
                v.threshold
            );
            let _ = write!(
                o,
                "<p>{}{}</p>",
                esc(&v.method),
                v.note
                    .as_ref()
                    .map(|n| format!(" {}", esc(n)))
                    .unwrap_or_default()
            );
            if !v.windows.is_empty() {
                o.push_str("<details><summary>Per-window evidence</summary><table><tr><th>from (s)</th><th>to (s)</th><th>frames</th><th>p(fake)</th></tr>");
                for w in &v.windows {
                    let _ = write!(
                        o,
                        "<tr><td>{:.2}</td><td>{:.2}</td><td>{}-{}</td><td>{:.3}</td></tr>",
                        w.start_s, w.end_s, w.start_frame, w.end_frame, w.p_fake
                    );
                }
                o.push_str("</table></details>");
            }
        }
        None => o.push_str("<p id=\"verdict\">No detector was used.</p>"),
    }
    if let Some(c) = &a.claimed {
        let _ = write!(
            o,
            "<h2>The claimed person</h2><p id=\"claimed\"><b>{}</b></p><p>Median similarity {}, mean {}, 10th percentile {}, share of face frames at or above {:.2}: {}; {} face frames compared.</p><table><tr><th>source</th><th>kind</th><th>faces</th><th>agreement with the others</th><th>sha256</th></tr>",
            esc(&c.statement),
            opt(c.median),
            opt(c.mean),
            opt(c.p10),
            c.same_person_min,
            c.share_same.map(|s| format!("{:.0} %", s * 100.0)).unwrap_or_else(|| "-".into()),
            c.face_frames
        );
        for s in &c.sources {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&s.path.display().to_string()),
                esc(&s.kind),
                s.faces,
                opt(s.agreement),
                esc(&s.sha256)
            );
        }
        o.push_str("</table>");
    }
    // Input.
    let i = &r.input;
    let _ = write!(
        o,
        "<h2>Input</h2><table><tr><th>file</th><td>{}</td></tr><tr><th>SHA-256</th><td><code id=\"sha256\">{}</code></td></tr><tr><th>size</th><td>{} bytes</td></tr><tr><th>container</th><td>{} ({})</td></tr><tr><th>duration</th><td>{}</td></tr><tr><th>bit rate</th><td>{}</td></tr>",
        esc(&i.path.display().to_string()),
        esc(&i.sha256),
        i.size_bytes,
        esc(&i.container.format),
        esc(&i.container.format_long),
        i.container.duration_s.map(|d| format!("{d:.3} s")).unwrap_or_else(|| "-".into()),
        i.container.bit_rate.map(|b| format!("{b} bit/s")).unwrap_or_else(|| "-".into()),
    );
    for (k, v) in &i.container.tags {
        let _ = write!(o, "<tr><th>tag {}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    o.push_str("</table><table><tr><th>stream</th><th>kind</th><th>codec</th><th>details</th><th>tags</th></tr>");
    for s in &i.container.streams {
        let mut d = Vec::new();
        if let (Some(w), Some(h)) = (s.width, s.height) {
            d.push(format!("{w}x{h}"));
        }
        if let Some(fr) = &s.frame_rate {
            d.push(format!("{fr} fps"));
        }
        if let Some(sr) = s.sample_rate {
            d.push(format!("{sr} Hz"));
        }
        if let Some(c) = s.channels {
            d.push(format!("{c} channel(s)"));
        }
        if let Some(b) = s.bit_rate {
            d.push(format!("{b} bit/s"));
        }
        if let Some(f) = s.frames {
            d.push(format!("{f} frames"));
        }
        let tags: Vec<String> = s.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.index,
            esc(&s.kind),
            esc(&s.codec),
            esc(&d.join(", ")),
            esc(&tags.join("; "))
        );
    }
    o.push_str("</table>");
    // Curves and matrix.
    let s = &a.summary;
    let _ = write!(
        o,
        "<h2>Identity over time</h2><p>{} frames analysed, {} with the subject's face, {} with several faces, {} where the subject was lost; mean similarity to the reference identity {}, lowest {}; {} identity change(s).</p><img alt=\"identity curves\" style=\"max-width:100%\" src=\"data:image/png;base64,{}\">",
        s.frames_analysed,
        s.frames_with_face,
        s.frames_multiple_faces,
        s.frames_subject_lost,
        opt(s.mean_sim_reference),
        opt(s.min_sim_reference),
        s.identity_changes,
        r.curves_png
    );
    if let Some(st) = &a.reference {
        let _ = write!(
            o,
            "<p>Reference identity: {} ({} face frames, {:.2} s to {:.2} s).</p>",
            esc(&st.method),
            st.face_frames,
            st.start_s,
            st.end_s
        );
    }
    if !a.identity_changes.is_empty() {
        o.push_str(
            "<table><tr><th>identity change</th><th>frame</th><th>time (s)</th><th>score</th></tr>",
        );
        for (k, c) in a.identity_changes.iter().enumerate() {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.3}</td></tr>",
                k + 1,
                c.frame,
                c.time_s,
                c.score
            );
        }
        o.push_str("</table>");
    }
    if let Some(m) = &r.matrix_png {
        let _ = write!(
            o,
            "<h2>Frame-by-frame similarity</h2><p>{} x {} cells{}; blue: different identity, yellow: the same.</p><img alt=\"similarity matrix\" width=\"512\" height=\"512\" src=\"data:image/png;base64,{m}\">",
            r.matrix_cells,
            r.matrix_cells,
            if r.matrix_block > 1 {
                format!(", each the mean over blocks of {} face frames", r.matrix_block)
            } else {
                ", one per face frame".into()
            }
        );
    }
    // Contact sheet.
    let _ = write!(
        o,
        "<h2>Contact sheet</h2><p>The subject's aligned crops around each identity change and at the lowest similarities ({} crops).</p><div class=\"sheet\">",
        r.contact_sheet.len()
    );
    for e in &r.contact_sheet {
        let _ = write!(
            o,
            "<figure><img alt=\"frame {}\" src=\"data:image/png;base64,{}\"><figcaption>frame {} ({:.2} s){}<br>{}<br>ref {} prev {}{}</figcaption></figure>",
            e.frame,
            e.png,
            e.frame,
            e.time_s,
            if e.crop_frame != e.frame {
                format!(", crop of frame {}", e.crop_frame)
            } else {
                String::new()
            },
            esc(&e.why),
            opt(e.sim_reference),
            opt(e.sim_previous),
            e.sim_claimed
                .map(|c| format!(" claimed {c:.3}"))
                .unwrap_or_default()
        );
    }
    o.push_str("</div><h2>Frames without the subject's face</h2>");
    spans_table(&mut o, "No face", &r.no_face);
    spans_table(&mut o, "Several faces", &r.several_faces);
    spans_table(&mut o, "Subject lost", &r.subject_lost);
    if !a.warnings.is_empty() {
        o.push_str("<h2>Warnings</h2><ul>");
        for w in &a.warnings {
            let _ = write!(o, "<li>{}</li>", esc(w));
        }
        o.push_str("</ul>");
    }
    o.push_str("<h2>Models and tool</h2><table><tr><th>role</th><th>model</th><th>file</th><th>sha256</th></tr>");
    for m in &r.models {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&m.role),
            esc(&m.name),
            esc(&m.path.display().to_string()),
            esc(&m.sha256)
        );
    }
    let _ = write!(
        o,
        "</table><h2>Parameters</h2><pre>{}</pre><h2>Limits of the method</h2><ul>",
        esc(&serde_json::to_string_pretty(&r.parameters).unwrap_or_default())
    );
    for l in &r.limits {
        let _ = write!(o, "<li>{}</li>", esc(l));
    }
    o.push_str("</ul><p>The same content, with every frame's numbers, is in the JSON report beside this page.</p></body></html>\n");
    o
}

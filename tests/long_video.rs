//! An hour of video in bounded memory: a generated 60-minute clip (a face moving over
//! small frames, 2 frames a second) analysed with `--every 10` through the `ti2net`
//! binary, with every output that grows with the video (report, CSV, vectors,
//! similarity matrix, plots), stays under 1 GB of peak resident memory.

mod common;
use common::*;
use std::process::{Command, Stdio};

/// Runs `ti2net` with `args`; returns (exit code, peak resident memory in bytes).
// The child is reaped by `wait4`, which also returns its peak memory.
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&std::ffi::OsStr], log: &std::path::Path) -> (i32, u64) {
    let child = Command::new(env!("CARGO_BIN_EXE_ti2net"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("run ti2net");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain POSIX call on our own child; `ru` is a valid out-pointer.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // ru_maxrss is in kilobytes on Linux.
    (code, ru.ru_maxrss as u64 * 1024)
}

#[test]
fn an_hour_of_video_is_analysed_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    // A face of about 80 pixels moving for an hour.
    let clip = moving_face_clip(dir.path(), 3600);
    eprintln!("generated in {:.1} s", t.elapsed().as_secs_f64());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let p = |n: &str| out.join(n).into_os_string();
    let (json, csv, ids, sim, plots) = (
        p("r.json"),
        p("r.csv"),
        p("ids.npy"),
        p("sim.npy"),
        p("plots"),
    );
    let args: Vec<&std::ffi::OsStr> = [
        "analyze".as_ref(),
        clip.as_os_str(),
        "--every".as_ref(),
        "10".as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
        "--csv".as_ref(),
        csv.as_os_str(),
        "--vectors".as_ref(),
        ids.as_os_str(),
        "--matrix".as_ref(),
        sim.as_os_str(),
        "--plots".as_ref(),
        plots.as_os_str(),
    ]
    .to_vec();
    let log = dir.path().join("stderr.txt");
    let t = std::time::Instant::now();
    let (code, peak) = run_measured(&args, &log);
    let err = std::fs::read_to_string(&log).unwrap();
    eprintln!(
        "analysed in {:.1} s, peak resident memory {:.0} MB\n{err}",
        t.elapsed().as_secs_f64(),
        peak as f64 / 1e6
    );
    assert_eq!(code, 0, "{err}");
    let r = read_json(std::path::Path::new(&json));
    assert!((r["video"]["duration_s"].as_f64().unwrap() - 3600.0).abs() < 1.0);
    let s = &r["summary"];
    assert_eq!(s["frames_analysed"].as_u64(), Some(720));
    let faces = s["frames_with_face"].as_u64().unwrap();
    assert!(faces >= 700, "{s}");
    assert!(r["identity_changes"].as_array().unwrap().is_empty());
    let (shape, _) = ti2net::npy::read_f32(std::path::Path::new(&sim)).unwrap();
    assert_eq!(shape, vec![faces as usize, faces as usize]);
    assert!(peak < 1_000_000_000, "peak resident memory {peak} bytes");
}

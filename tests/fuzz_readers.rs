//! The readers of untrusted files never panic: real valid files (identity `.npy`s and
//! lengths, a `.pth` zip and a legacy `.pth`, a safetensors checkpoint, MobileFaceNet's
//! ONNX) mutated by proptest (bit flips, truncation, length fields set to extreme
//! values, bytes inserted and deleted), and random bytes, each read by the library as
//! a user's file would be. A fixed number of cases (seeded, so CI is repeatable), well
//! under a minute in the release profile; the counts are printed. Any panic fails the
//! test (proptest shrinks it to a small mutation first).

mod common;
use candle_core::Device;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::Path;

/// One change to a file's bytes. Positions are fractions of the length, near the
/// start (headers), near the end (zip directories) or anywhere.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: Pos,
        bit: u8,
    },
    Truncate {
        at: Pos,
    },
    /// Overwrites `width` bytes (a length field) with an extreme or random value.
    SetField {
        at: Pos,
        width: u8,
        value: u64,
    },
    Insert {
        at: Pos,
        bytes: Vec<u8>,
    },
    Delete {
        at: Pos,
        len: u16,
    },
}

#[derive(Debug, Clone, Copy)]
enum Pos {
    Head(u16),
    Tail(u16),
    Anywhere(f64),
}

impl Pos {
    fn index(self, len: usize) -> usize {
        if len == 0 {
            return 0;
        }
        match self {
            Pos::Head(i) => (i as usize).min(len - 1),
            Pos::Tail(i) => len - 1 - (i as usize).min(len - 1),
            Pos::Anywhere(f) => ((f * len as f64) as usize).min(len - 1),
        }
    }
}

fn pos() -> impl Strategy<Value = Pos> {
    prop_oneof![
        (0u16..600).prop_map(Pos::Head),
        (0u16..600).prop_map(Pos::Tail),
        (0.0f64..1.0).prop_map(Pos::Anywhere),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let extreme = prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(u32::MAX as u64),
        Just(i64::MAX as u64),
        Just(1u64 << 40),
        any::<u64>(),
    ];
    prop_oneof![
        4 => (pos(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        1 => pos().prop_map(|at| Mutation::Truncate { at }),
        3 => (pos(), prop_oneof![Just(1u8), Just(2), Just(4), Just(8)], extreme)
            .prop_map(|(at, width, value)| Mutation::SetField { at, width, value }),
        1 => (pos(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (pos(), 1u16..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    match *m {
        Mutation::FlipBit { at, bit } if n > 0 => bytes[at.index(n)] ^= 1 << bit,
        Mutation::Truncate { at } => bytes.truncate(at.index(n)),
        Mutation::SetField { at, width, value } if n > 0 => {
            let i = at.index(n);
            for (k, b) in value.to_le_bytes()[..width as usize].iter().enumerate() {
                if let Some(x) = bytes.get_mut(i + k) {
                    *x = *b;
                }
            }
        }
        Mutation::Insert { at, bytes: ref ins } => {
            let i = at.index(n);
            bytes.splice(i..i, ins.iter().copied());
        }
        Mutation::Delete { at, len } if n > 0 => {
            let i = at.index(n);
            bytes.drain(i..(i + len as usize).min(n));
        }
        _ => {}
    }
}

/// Runs `read` on `cases` mutants of the seeds and `random` files of random bytes
/// written to `name`; returns how many inputs it read.
fn fuzz(
    what: &str,
    seeds: &[Vec<u8>],
    name: &str,
    cases: u32,
    random: u32,
    read: impl Fn(&Path),
) -> u32 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let seed_hash = what
        .bytes()
        .fold(7u8, |h, b| h.wrapping_mul(31).wrapping_add(b));
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed_hash; 32]);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let count = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new_with_rng(config.clone(), rng.clone());
    let strategy = (0..seeds.len(), prop::collection::vec(mutation(), 1..5));
    let result = runner.run(&strategy, |(s, muts)| {
        let mut bytes = seeds[s].clone();
        for m in &muts {
            apply(&mut bytes, m);
        }
        std::fs::write(&path, &bytes).unwrap();
        read(&path);
        count.set(count.get() + 1);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{what}: a mutated file crashed the reader: {e}");
    }
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: random,
            ..config
        },
        rng,
    );
    let result = runner.run(&prop::collection::vec(any::<u8>(), 0..2048), |bytes| {
        std::fs::write(&path, &bytes).unwrap();
        read(&path);
        count.set(count.get() + 1);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{what}: random bytes crashed the reader: {e}");
    }
    eprintln!("{what}: {} inputs read, none crashed", count.get());
    count.get()
}

#[test]
fn npy_and_lengths_files() {
    let f32_seeds = vec![
        std::fs::read(fixture("mobilefacenet_obama.npy")).unwrap(),
        ti2net::npy::f32_matrix_bytes(2, 1024, &vec![0.25; 2048]).unwrap(),
    ];
    let lens_seeds = vec![
        std::fs::read(fixture("ti2net_lens.npy")).unwrap(),
        ti2net::npy::i64_vector_bytes(&[140, 170]).unwrap(),
    ];
    let mut n = fuzz("npy f32", &f32_seeds, "v.npy", 1500, 300, |p| {
        let _ = ti2net::npy::read_f32(p);
    });
    n += fuzz("npy ints", &lens_seeds, "l.npy", 1500, 300, |p| {
        let _ = ti2net::npy::read_i64(p);
    });
    // A lengths file beside a valid identity file: the lengths must never slice
    // outside it.
    let ids = fixture("ti2net_ids.npy");
    n += fuzz("identity lengths", &lens_seeds, "l.npy", 400, 100, |p| {
        if let Ok(set) = ti2net::classifier::dataset::load(&ids, Some(p)) {
            assert_eq!(set.videos.iter().map(|v| v.len).sum::<usize>(), 310);
        }
    });
    eprintln!("npy readers: {n} inputs");
}

#[test]
fn checkpoints_pth_zip_and_safetensors() {
    let dev = Device::Cpu;
    let pth = vec![std::fs::read(fixture("ti2net_h64.pth")).unwrap()];
    let mut n = fuzz("TI2Net .pth (zip)", &pth, "c.pth", 250, 100, |p| {
        let _ = ti2net::classifier::checkpoint::load(p, &dev);
    });
    let legacy = vec![
        std::fs::read(fixture("r18_legacy.pth")).unwrap(),
        std::fs::read(fixture("r18_module.pth")).unwrap(),
    ];
    n += fuzz("resnet_face18 .pth", &legacy, "r.pth", 250, 100, |p| {
        let _ = ti2net::encoder::resnet_face::ResNetFace::load(p, &dev);
    });
    // A small checkpoint written by the library itself, with its metadata.
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("small.safetensors");
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
    let vars = ti2net::classifier::model::Ti2Net::init_vars(4, &mut rng, &dev).unwrap();
    let named: Vec<_> = vars
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let prov = ti2net::classifier::checkpoint::Provenance {
        encoder: Some("mobilefacenet".into()),
        hidden: 4,
        ..Default::default()
    };
    ti2net::classifier::checkpoint::save(&ck, &named, &prov, false).unwrap();
    ti2net::classifier::checkpoint::load(&ck, &dev).expect("the seed is valid");
    let st = vec![std::fs::read(&ck).unwrap()];
    n += fuzz("TI2Net safetensors", &st, "c.safetensors", 600, 200, |p| {
        let _ = ti2net::classifier::checkpoint::load(p, &dev);
    });
    n += fuzz(
        "MobileFaceNet safetensors",
        &st,
        "m.safetensors",
        200,
        50,
        |p| {
            let _ = ti2net::encoder::mobilefacenet::MobileFaceNet::load(p, &dev);
        },
    );
    eprintln!("checkpoint readers: {n} inputs");
}

#[test]
fn the_onnx_subset() {
    let onnx = ti2net::models::mobilefacenet_onnx();
    assert!(
        onnx.exists(),
        "{} is missing: run scripts/setup.sh",
        onnx.display()
    );
    let seeds = vec![std::fs::read(&onnx).unwrap()];
    let n = fuzz("MobileFaceNet ONNX", &seeds, "m.onnx", 120, 200, |p| {
        let _ = ti2net::encoder::mobilefacenet::import_onnx(p);
    });
    eprintln!("ONNX reader: {n} inputs");
}

/// `.npy` bytes with any shape and no data.
fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b
}

/// The crashes the fuzzing is there to keep away, as fixed cases: lengths whose sum
/// wraps around to the number of rows, and shapes whose product overflows.
#[test]
fn crafted_lengths_and_shapes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ids = fixture("ti2net_ids.npy");
    let lens = dir.path().join("wrap_lens.npy");
    // i64::MAX + i64::MAX + 312 wraps to 310, the rows of the identity file.
    std::fs::write(
        &lens,
        ti2net::npy::i64_vector_bytes(&[i64::MAX, i64::MAX, 312]).unwrap(),
    )
    .unwrap();
    let e = ti2net::classifier::dataset::load(&ids, Some(&lens)).unwrap_err();
    assert!(e.to_string().contains("wrap_lens.npy"), "{e}");
    let o = run(&[
        &"classify",
        &ids,
        &"--lens",
        &lens,
        &"--checkpoint",
        &fixture("ti2net_h64.pth"),
        &"--json",
        &dir.path().join("o.json"),
    ]);
    assert_clean_error(&o, &lens, &["overflow"]);

    let huge = dir.path().join("huge.npy");
    std::fs::write(&huge, npy_header("<f4", "(4611686018427387904, 1024)")).unwrap();
    let e = ti2net::npy::read_f32(&huge).unwrap_err().to_string();
    assert!(e.contains("huge.npy") && e.contains("too large"), "{e}");
    let o = run(&[
        &"classify",
        &huge,
        &"--checkpoint",
        &fixture("ti2net_h64.pth"),
        &"--json",
        &dir.path().join("o.json"),
    ]);
    assert_clean_error(&o, &huge, &["too large"]);
    // A shape that promises more values than the file holds.
    let short = dir.path().join("short.npy");
    let mut b = npy_header("<f4", "(3, 1024)");
    b.extend_from_slice(&[0u8; 4 * 1024]);
    std::fs::write(&short, b).unwrap();
    assert!(ti2net::npy::read_f32(&short).is_err());
}

//! Parity of the candle networks with their references, on committed fixtures made
//! by `scripts/make_fixtures.py` (onnxruntime for MobileFaceNet, PyTorch for
//! resnet_face18).

mod common;
use candle_core::Device;
use common::*;
use ti2net::encoder::{mobilefacenet, resnet_face, Encoder, EncoderKind};

fn rel_l2(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let num: f32 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt();
    let den: f32 = b.iter().map(|y| y * y).sum::<f32>().sqrt();
    num / den
}

fn npy(name: &str) -> (Vec<usize>, Vec<f32>) {
    ti2net::npy::read_f32(&fixture(name)).unwrap()
}

#[test]
fn mobilefacenet_matches_onnxruntime_on_a_real_face() {
    let enc = Encoder::load(
        EncoderKind::Mobilefacenet,
        &mobilefacenet_weights(),
        &Device::Cpu,
    )
    .unwrap();
    let crop = image::open(fixture("obama_aligned.png")).unwrap().to_rgb8();
    let mut x = mobilefacenet::input_values(&crop, false);
    x.extend(mobilefacenet::input_values(&crop, true));
    let out = enc.forward_values(x, 2).unwrap();
    let (shape, want) = npy("mobilefacenet_obama.npy");
    assert_eq!(shape, vec![2, 512]);
    for k in 0..2 {
        let e = rel_l2(&out[k], &want[k * 512..(k + 1) * 512]);
        assert!(e < 1e-4, "row {k}: relative L2 error {e}");
    }
}

fn r18_parity(pth: &str, outputs: &str, se: bool) {
    let path = fixture(pth);
    let net = resnet_face::ResNetFace::load(&path, &Device::Cpu).unwrap();
    assert_eq!(net.use_se, se);
    let enc = Encoder::load(EncoderKind::ArcfaceR18, &path, &Device::Cpu).unwrap();
    let sq = image::open(fixture("obama_square.png")).unwrap().to_luma8();
    let mut x = resnet_face::input_values(&sq, false);
    x.extend(resnet_face::input_values(&sq, true));
    x.extend((0..128 * 128).map(|i| ((i as f64 * 0.05).sin() * 200.0 / 127.5) as f32));
    let out = enc.forward_values(x, 3).unwrap();
    let (shape, want) = npy(outputs);
    assert_eq!(shape, vec![3, 512]);
    for k in 0..3 {
        let e = rel_l2(&out[k], &want[k * 512..(k + 1) * 512]);
        assert!(e < 1e-4, "{pth} row {k}: relative L2 error {e}");
    }
}

#[test]
fn resnet_face18_matches_pytorch() {
    r18_parity("r18_module.pth", "r18_outputs.npy", false);
}

#[test]
fn resnet_face18_with_se_matches_pytorch() {
    r18_parity("r18se_module.pth", "r18se_outputs.npy", true);
}

#[test]
fn legacy_pth_gets_a_conversion_hint() {
    let p = fixture("r18_legacy.pth");
    let e = Encoder::load(EncoderKind::ArcfaceR18, &p, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("r18_legacy.pth") && e.contains("legacy") && e.contains("torch.save"),
        "{e}"
    );
}

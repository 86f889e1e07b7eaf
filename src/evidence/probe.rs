//! What the container says about a file: format, duration, bit rate, tags and every
//! stream, as an analyst's report lists them (like `ffprobe -show_format -show_streams`).

use crate::error::{Error, Result};
use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Container {
    /// Demuxer names (e.g. `mov,mp4,m4a,3gp,3g2,mj2`).
    pub format: String,
    pub format_long: String,
    pub size_bytes: u64,
    pub duration_s: Option<f64>,
    pub bit_rate: Option<i64>,
    pub tags: BTreeMap<String, String>,
    pub streams: Vec<Stream>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stream {
    pub index: usize,
    /// `video`, `audio`, `subtitle`, `data` or `attachment`.
    pub kind: String,
    pub codec: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub frame_rate: Option<String>,
    pub sample_rate: Option<u32>,
    pub channels: Option<u16>,
    pub bit_rate: Option<i64>,
    pub duration_s: Option<f64>,
    pub frames: Option<i64>,
    pub tags: BTreeMap<String, String>,
}

fn tags(d: ffmpeg::DictionaryRef) -> BTreeMap<String, String> {
    crate::video::tags(&d)
}

/// Reads the container's description of `path`.
pub fn probe(path: &Path) -> Result<Container> {
    let size_bytes = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let ictx = crate::video::open_input(path).map_err(|reason| Error::NotVideo {
        path: path.to_path_buf(),
        reason,
    })?;
    let fmt = ictx.format();
    let mut streams = Vec::new();
    for s in ictx.streams() {
        let params = s.parameters();
        let kind = match params.medium() {
            ffmpeg::media::Type::Video => "video",
            ffmpeg::media::Type::Audio => "audio",
            ffmpeg::media::Type::Subtitle => "subtitle",
            ffmpeg::media::Type::Attachment => "attachment",
            _ => "data",
        };
        let mut st = Stream {
            index: s.index(),
            kind: kind.into(),
            codec: params.id().name().to_string(),
            width: None,
            height: None,
            frame_rate: None,
            sample_rate: None,
            channels: None,
            bit_rate: None,
            duration_s: None,
            frames: (s.frames() > 0).then(|| s.frames()),
            tags: tags(s.metadata()),
        };
        let tb = s.time_base();
        if s.duration() > 0 && tb.denominator() != 0 {
            st.duration_s =
                Some(s.duration() as f64 * tb.numerator() as f64 / tb.denominator() as f64);
        }
        if let Ok(ctx) = ffmpeg::codec::context::Context::from_parameters(params) {
            match kind {
                "video" => {
                    if let Ok(v) = ctx.decoder().video() {
                        st.width = Some(v.width());
                        st.height = Some(v.height());
                        st.bit_rate = (v.bit_rate() > 0).then(|| v.bit_rate() as i64);
                    }
                    let r = s.avg_frame_rate();
                    if r.denominator() != 0 && r.numerator() > 0 {
                        st.frame_rate = Some(format!("{}/{}", r.numerator(), r.denominator()));
                    }
                }
                "audio" => {
                    if let Ok(a) = ctx.decoder().audio() {
                        st.sample_rate = Some(a.rate());
                        st.channels = Some(a.channels());
                        st.bit_rate = (a.bit_rate() > 0).then(|| a.bit_rate() as i64);
                    }
                }
                _ => {}
            }
        }
        streams.push(st);
    }
    Ok(Container {
        format: fmt.name().to_string(),
        format_long: fmt.description().to_string(),
        size_bytes,
        duration_s: (ictx.duration() > 0)
            .then(|| ictx.duration() as f64 / ffmpeg::ffi::AV_TIME_BASE as f64),
        bit_rate: (ictx.bit_rate() > 0).then(|| ictx.bit_rate()),
        tags: tags(ictx.metadata()),
        streams,
    })
}

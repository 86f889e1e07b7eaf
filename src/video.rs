//! Stage 1: video decoding with ffmpeg, streamed frame by frame.
//!
//! Memory does not grow with the length of the video: one decoded frame is alive at a
//! time. Frames come out in presentation order as RGB images, turned upright when the
//! container carries a display rotation.

use crate::error::{Error, Result};
use ffmpeg_next as ffmpeg;
use image::RgbImage;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the container says about the video stream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VideoInfo {
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub path: PathBuf,
    pub fps: f64,
    /// Frames announced by the container (or estimated from duration x fps).
    pub frame_count: u64,
    pub duration_s: f64,
    /// Size of the frames as analysed (after rotation).
    pub width: u32,
    pub height: u32,
    /// Display rotation in degrees (0, 90, 180, 270) applied to every frame.
    pub rotation: i32,
    pub codec: String,
}

/// Which frames to analyse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameSelection {
    /// Analyse every N-th frame (1 = all): never 0, by its type, so no user of it
    /// clamps it.
    pub every: std::num::NonZeroU32,
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
}

impl Default for FrameSelection {
    fn default() -> Self {
        Self {
            every: std::num::NonZeroU32::MIN,
            start_s: None,
            end_s: None,
        }
    }
}

/// One decoded frame.
pub struct Frame {
    /// Index of the frame in the decoded stream (0-based, counting every frame).
    pub index: u64,
    pub time_s: f64,
    pub image: RgbImage,
}

/// The file extensions taken for videos when folders are searched (lower case).
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "avi", "mov", "mkv", "webm", "m4v", "mpg", "mpeg", "flv", "wmv",
];

/// True when `path`'s extension is one of [`VIDEO_EXTENSIONS`] (any case).
pub fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The largest frame decoded: 8K UHD (7680 x 4320). A crafted header can announce far
/// larger frames, each of which would be gigabytes once decoded to RGB.
pub const MAX_FRAME_PIXELS: u64 = 7680 * 4320;

static INIT: std::sync::Once = std::sync::Once::new();

fn init() {
    INIT.call_once(|| {
        // A failure here surfaces later as an open error naming the file.
        let _ = ffmpeg::init();
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
    });
}

/// Opens `path` for demuxing (FFmpeg initialised). ffmpeg-next passes paths to FFmpeg as
/// UTF-8 and panics on any other name, so a name that is not UTF-8 is opened through
/// `/proc/self/fd` (Linux), where the bytes of the name do not matter.
pub fn open_input(path: &Path) -> std::result::Result<ffmpeg::format::context::Input, String> {
    init();
    if path.to_str().is_some() {
        return ffmpeg::format::input(path).map_err(|e| e.to_string());
    }
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // FFmpeg opens the alias itself: the file stays open after ours is closed.
        let alias = format!("/proc/self/fd/{}", file.as_raw_fd());
        let input = ffmpeg::format::input(&alias).map_err(|e| e.to_string());
        drop(file);
        input
    }
    #[cfg(not(target_os = "linux"))]
    {
        drop(file);
        Err("its name is not valid UTF-8: rename it".into())
    }
}

/// The tags of an FFmpeg dictionary, read lossily: container tags are bytes, and
/// neither Latin-1 titles nor values cut inside a character may break what reads them
/// (ffmpeg-next reads them as UTF-8 unchecked).
pub fn tags(d: &ffmpeg::DictionaryRef) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    // SAFETY: `d` borrows a dictionary that outlives this call; av_dict_get walks it
    // without changing it, and each entry's key and value are NUL-terminated C strings.
    unsafe {
        let dict = d.as_ptr();
        let mut e: *mut ffmpeg::ffi::AVDictionaryEntry = std::ptr::null_mut();
        loop {
            e = ffmpeg::ffi::av_dict_get(dict, c"".as_ptr(), e, ffmpeg::ffi::AV_DICT_IGNORE_SUFFIX);
            if e.is_null() {
                break;
            }
            let text = |p: *const std::os::raw::c_char| {
                if p.is_null() {
                    String::new()
                } else {
                    std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
                }
            };
            out.insert(text((*e).key), text((*e).value));
        }
    }
    out
}

/// Initialises FFmpeg once (quiet logging); for other users of ffmpeg in the library.
pub(crate) fn init_ffmpeg() {
    init();
}

/// Streaming reader over the frames of one video.
pub struct VideoReader {
    info: VideoInfo,
    ictx: ffmpeg::format::context::Input,
    decoder: ffmpeg::decoder::Video,
    scaler: Option<(
        ffmpeg::software::scaling::Context,
        (ffmpeg::format::Pixel, u32, u32),
    )>,
    stream_index: usize,
    time_base: f64,
    start_pts: i64,
    selection: FrameSelection,
    decoded: u64,
    first_selected: Option<u64>,
    eof_sent: bool,
    done: bool,
    /// Packets the decoder refused (damaged data); reported as a warning.
    pub damaged_packets: u64,
}

// SAFETY: the reader's ffmpeg objects (demuxer, decoder, pixel converter) hold no
// thread-affine state; the reader is used by one thread at a time (moved to the
// pipeline's decoding thread, then back).
unsafe impl Send for VideoReader {}

fn rotation_of(stream: &ffmpeg::format::stream::Stream) -> i32 {
    for sd in stream.side_data() {
        if sd.kind() == ffmpeg::codec::packet::side_data::Type::DisplayMatrix {
            let d = sd.data();
            if d.len() >= 36 {
                let m = |i: usize| {
                    i32::from_le_bytes([d[4 * i], d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]]) as f64
                        / 65536.0
                };
                // av_display_rotation_get: counter-clockwise angle of the matrix.
                let angle = -m(1).atan2(m(0)).to_degrees();
                // The frame must be turned clockwise by -angle to be upright.
                let cw = (-angle).rem_euclid(360.0);
                return ((cw / 90.0).round() as i32 * 90).rem_euclid(360);
            }
        }
    }
    if let Some(r) = tags(&stream.metadata()).get("rotate") {
        if let Ok(v) = r.trim().parse::<i32>() {
            return v.rem_euclid(360);
        }
    }
    0
}

impl VideoReader {
    /// Opens `path` and reads the stream's properties.
    pub fn open(path: &Path, selection: FrameSelection) -> Result<Self> {
        init();
        if !path.exists() {
            return Err(Error::Missing(path.to_path_buf()));
        }
        if path.is_dir() {
            return Err(Error::NotVideo {
                path: path.to_path_buf(),
                reason: "it is a folder".into(),
            });
        }
        let not_video = |reason: String| Error::NotVideo {
            path: path.to_path_buf(),
            reason,
        };
        let ictx = open_input(path).map_err(not_video)?;
        let stream = ictx
            .streams()
            .best(ffmpeg::media::Type::Video)
            .ok_or_else(|| Error::NoVideoStream(path.to_path_buf()))?;
        let stream_index = stream.index();
        let rotation = rotation_of(&stream);
        let tb = stream.time_base();
        let time_base = if tb.denominator() != 0 {
            tb.numerator() as f64 / tb.denominator() as f64
        } else {
            0.0
        };
        let rate = {
            let r = stream.avg_frame_rate();
            if r.denominator() != 0 && r.numerator() > 0 {
                r.numerator() as f64 / r.denominator() as f64
            } else {
                let r = stream.rate();
                if r.denominator() != 0 && r.numerator() > 0 {
                    r.numerator() as f64 / r.denominator() as f64
                } else {
                    25.0
                }
            }
        };
        let duration_s = if stream.duration() > 0 && time_base > 0.0 {
            stream.duration() as f64 * time_base
        } else if ictx.duration() > 0 {
            ictx.duration() as f64 / ffmpeg::ffi::AV_TIME_BASE as f64
        } else {
            0.0
        };
        let frame_count = if stream.frames() > 0 {
            stream.frames() as u64
        } else {
            (duration_s * rate).round() as u64
        };
        let start_pts = if stream.start_time() != ffmpeg::ffi::AV_NOPTS_VALUE {
            stream.start_time()
        } else {
            0
        };
        let ctx = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| not_video(format!("cannot set up the decoder: {e}")))?;
        let decoder = ctx
            .decoder()
            .video()
            .map_err(|e| not_video(format!("no decoder for this video codec: {e}")))?;
        let codec = decoder
            .codec()
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        let (w, h) = (decoder.width(), decoder.height());
        if w == 0 || h == 0 {
            return Err(not_video("the video stream has no frame size".into()));
        }
        if u64::from(w) * u64::from(h) > MAX_FRAME_PIXELS {
            return Err(not_video(format!(
                "its frames are {w}x{h}, larger than 8K (7680x4320), the largest this program decodes; scale it down first (ffmpeg -i IN -vf scale=-2:2160 OUT)"
            )));
        }
        let (width, height) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
        Ok(Self {
            info: VideoInfo {
                path: path.to_path_buf(),
                fps: rate,
                frame_count,
                duration_s,
                width,
                height,
                rotation,
                codec,
            },
            ictx,
            decoder,
            scaler: None,
            stream_index,
            time_base,
            start_pts,
            selection,
            decoded: 0,
            first_selected: None,
            eof_sent: false,
            done: false,
            damaged_packets: 0,
        })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Frames decoded so far (selected or not).
    pub fn frames_decoded(&self) -> u64 {
        self.decoded
    }

    fn convert(&mut self, frame: &ffmpeg::frame::Video) -> Result<RgbImage> {
        let key = (frame.format(), frame.width(), frame.height());
        let path = self.info.path.clone();
        let decode_err = |reason: String, at: u64| Error::Decode {
            path: path.clone(),
            frame: at,
            reason,
        };
        if self.scaler.as_ref().map(|s| s.1) != Some(key) {
            let ctx = ffmpeg::software::scaling::Context::get(
                key.0,
                key.1,
                key.2,
                ffmpeg::format::Pixel::RGB24,
                key.1,
                key.2,
                ffmpeg::software::scaling::Flags::BILINEAR,
            )
            .map_err(|e| decode_err(format!("cannot convert pixels: {e}"), self.decoded))?;
            self.scaler = Some((ctx, key));
        }
        let mut rgb = ffmpeg::frame::Video::empty();
        let at = self.decoded;
        let Some((scaler, _)) = self.scaler.as_mut() else {
            return Err(decode_err("no pixel converter".into(), at));
        };
        scaler
            .run(frame, &mut rgb)
            .map_err(|e| decode_err(format!("cannot convert pixels: {e}"), at))?;
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        let stride = rgb.stride(0);
        let data = rgb.data(0);
        let mut buf = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            buf.extend_from_slice(&data[y * stride..y * stride + w * 3]);
        }
        let img = RgbImage::from_raw(w as u32, h as u32, buf)
            .ok_or_else(|| decode_err("frame buffer has the wrong size".into(), at))?;
        Ok(match self.info.rotation {
            90 => image::imageops::rotate90(&img),
            180 => image::imageops::rotate180(&img),
            270 => image::imageops::rotate270(&img),
            _ => img,
        })
    }

    /// Next decoded frame from the decoder, reading packets as needed.
    fn next_raw(&mut self) -> Result<Option<ffmpeg::frame::Video>> {
        loop {
            let mut frame = ffmpeg::frame::Video::empty();
            match self.decoder.receive_frame(&mut frame) {
                Ok(()) => return Ok(Some(frame)),
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {}
                Err(ffmpeg::Error::InvalidData) => {
                    self.damaged_packets += 1;
                    continue;
                }
                Err(e) => {
                    return Err(Error::Decode {
                        path: self.info.path.clone(),
                        frame: self.decoded,
                        reason: e.to_string(),
                    })
                }
            }
            if self.eof_sent {
                return Ok(None);
            }
            let mut packet = ffmpeg::Packet::empty();
            match packet.read(&mut self.ictx) {
                Ok(()) => {
                    if packet.stream() == self.stream_index
                        && self.decoder.send_packet(&packet).is_err()
                    {
                        self.damaged_packets += 1;
                    }
                }
                Err(ffmpeg::Error::Eof) => {
                    let _ = self.decoder.send_eof();
                    self.eof_sent = true;
                }
                Err(ffmpeg::Error::InvalidData) => self.damaged_packets += 1,
                Err(_) => {
                    // A read error in the middle of the file (truncated data): finish
                    // what the decoder holds and stop; the caller sees the shortfall.
                    self.damaged_packets += 1;
                    let _ = self.decoder.send_eof();
                    self.eof_sent = true;
                }
            }
        }
    }

    /// The next selected frame, `None` at the end of the selection.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        while !self.done {
            let Some(raw) = self.next_raw()? else {
                self.done = true;
                break;
            };
            let index = self.decoded;
            self.decoded += 1;
            let time_s = match raw.timestamp().or(raw.pts()) {
                Some(ts) if self.time_base > 0.0 => (ts - self.start_pts) as f64 * self.time_base,
                _ => index as f64 / self.info.fps,
            };
            if let Some(s) = self.selection.start_s {
                if time_s + 1e-9 < s {
                    continue;
                }
            }
            if let Some(e) = self.selection.end_s {
                if time_s > e + 1e-9 {
                    self.done = true;
                    break;
                }
            }
            let first = *self.first_selected.get_or_insert(index);
            if !(index - first).is_multiple_of(u64::from(self.selection.every.get())) {
                continue;
            }
            let image = self.convert(&raw)?;
            return Ok(Some(Frame {
                index,
                time_s,
                image,
            }));
        }
        Ok(None)
    }
}

impl Iterator for VideoReader {
    type Item = Result<Frame>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

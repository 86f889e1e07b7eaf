//! Writing a video with ffmpeg: H.264 at a given size and frame rate, the audio of
//! another file copied in (a time range of it), and container tags.
//!
//! The file is written under a temporary name beside the destination and renamed
//! when it is complete, so a failure or a cancel leaves nothing behind.

use crate::error::{Error, Result};
use ffmpeg_next as ffmpeg;
use image::RgbImage;
use std::path::{Path, PathBuf};

/// What the output is made of.
pub struct WriterConfig<'a> {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// x264's constant rate factor (lower is better quality).
    pub crf: u32,
    /// Copy the audio of this file, from `audio_start_s` on (the output's t = 0).
    pub audio_from: Option<&'a Path>,
    pub audio_start_s: f64,
    pub audio_end_s: Option<f64>,
    /// Container tags (e.g. `comment`).
    pub tags: Vec<(String, String)>,
}

/// Copies the audio packets of one file, in time order, as the video advances.
struct AudioCopy {
    ictx: ffmpeg::format::context::Input,
    stream: usize,
    in_tb: ffmpeg::Rational,
    out_stream: usize,
    /// Input pts of the output's t = 0, in the input stream's time base.
    offset: i64,
    end: Option<i64>,
    pending: Option<ffmpeg::Packet>,
    done: bool,
}

/// An H.264 video being written.
pub struct VideoWriter {
    octx: ffmpeg::format::context::Output,
    encoder: ffmpeg::encoder::Video,
    scaler: ffmpeg::software::scaling::Context,
    enc_tb: ffmpeg::Rational,
    ost_tb: ffmpeg::Rational,
    audio: Option<AudioCopy>,
    audio_tb: ffmpeg::Rational,
    width: u32,
    height: u32,
    last_pts: i64,
    frames: u64,
    tmp: PathBuf,
    dest: PathBuf,
    finished: bool,
}

fn out_err(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Other(format!(
        "{}: cannot write the video ({what})",
        path.display()
    ))
}

/// The temporary name a file is written under before its rename (same folder and
/// extension, so that the container format follows the destination's).
fn temp_name(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    let ext = dest
        .extension()
        .map(|e| e.to_string_lossy().to_string())
        .unwrap_or_else(|| "mp4".into());
    dest.with_file_name(format!(".{name}.{}.part.{ext}", std::process::id()))
}

impl VideoWriter {
    /// Starts writing `dest` (which must not exist unless `overwrite`).
    pub fn create(dest: &Path, cfg: &WriterConfig, overwrite: bool) -> Result<Self> {
        crate::video::init_ffmpeg();
        if dest.exists() && !overwrite {
            return Err(Error::Exists(dest.to_path_buf()));
        }
        if cfg.width == 0 || cfg.height == 0 || cfg.fps.is_nan() || cfg.fps <= 0.0 {
            return Err(out_err(dest, "no frame size or frame rate"));
        }
        let tmp = temp_name(dest);
        if tmp.to_str().is_none() {
            // ffmpeg-next takes output names as UTF-8 only (it panics on others).
            return Err(out_err(
                dest,
                "its name is not valid UTF-8: give an output name in UTF-8",
            ));
        }
        let mut octx = ffmpeg::format::output(&tmp).map_err(|e| out_err(dest, e))?;
        let global_header = octx
            .format()
            .flags()
            .contains(ffmpeg::format::Flags::GLOBAL_HEADER);
        let codec = ffmpeg::encoder::find(ffmpeg::codec::Id::H264)
            .ok_or_else(|| out_err(dest, "this FFmpeg has no H.264 encoder"))?;
        let mut ost = octx.add_stream(codec).map_err(|e| out_err(dest, e))?;
        let mut enc = ffmpeg::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| out_err(dest, e))?;
        // 4:2:0 needs even sizes; an odd-sized video keeps its size in 4:4:4.
        let pix = if cfg.width.is_multiple_of(2) && cfg.height.is_multiple_of(2) {
            ffmpeg::format::Pixel::YUV420P
        } else {
            ffmpeg::format::Pixel::YUV444P
        };
        let rate = ffmpeg::Rational::from(cfg.fps);
        let enc_tb = rate.invert();
        enc.set_width(cfg.width);
        enc.set_height(cfg.height);
        enc.set_format(pix);
        enc.set_frame_rate(Some(rate));
        enc.set_time_base(enc_tb);
        if global_header {
            enc.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER);
        }
        let mut opts = ffmpeg::Dictionary::new();
        opts.set("preset", "veryfast");
        opts.set("crf", &cfg.crf.to_string());
        let encoder = enc.open_with(opts).map_err(|e| out_err(dest, e))?;
        ost.set_parameters(&encoder);
        ost.set_time_base(enc_tb);
        ost.set_avg_frame_rate(rate);

        let mut audio = None;
        if let Some(src) = cfg.audio_from {
            let ictx = crate::video::open_input(src).map_err(|reason| Error::NotVideo {
                path: src.to_path_buf(),
                reason,
            })?;
            if let Some(ist) = ictx.streams().best(ffmpeg::media::Type::Audio) {
                let in_tb = ist.time_base();
                let stream = ist.index();
                let params = ist.parameters();
                let to_ts = |s: f64| {
                    let start = if ist.start_time() != ffmpeg::ffi::AV_NOPTS_VALUE {
                        ist.start_time()
                    } else {
                        0
                    };
                    start
                        + (s * in_tb.denominator() as f64 / in_tb.numerator().max(1) as f64) as i64
                };
                let offset = to_ts(cfg.audio_start_s);
                let end = cfg.audio_end_s.map(to_ts);
                let mut aost = octx
                    .add_stream(ffmpeg::encoder::find(ffmpeg::codec::Id::None))
                    .map_err(|e| out_err(dest, e))?;
                aost.set_parameters(params);
                // SAFETY: the stream's codec parameters are owned by `octx` and valid;
                // a zero tag lets the muxer choose the container's own tag.
                unsafe {
                    (*aost.parameters().as_mut_ptr()).codec_tag = 0;
                }
                audio = Some(AudioCopy {
                    out_stream: aost.index(),
                    ictx,
                    stream,
                    in_tb,
                    offset,
                    end,
                    pending: None,
                    done: false,
                });
            }
        }
        let mut meta = ffmpeg::Dictionary::new();
        for (k, v) in &cfg.tags {
            meta.set(k, v);
        }
        octx.set_metadata(meta);
        if let Err(e) = octx.write_header() {
            let _ = std::fs::remove_file(&tmp);
            return Err(out_err(dest, e));
        }
        let ost_tb = octx.stream(0).map(|s| s.time_base()).unwrap_or(enc_tb);
        let audio_tb = audio
            .as_ref()
            .and_then(|a| octx.stream(a.out_stream).map(|s| s.time_base()))
            .unwrap_or(enc_tb);
        let scaler = ffmpeg::software::scaling::Context::get(
            ffmpeg::format::Pixel::RGB24,
            cfg.width,
            cfg.height,
            pix,
            cfg.width,
            cfg.height,
            ffmpeg::software::scaling::Flags::BILINEAR,
        )
        .map_err(|e| out_err(dest, e))?;
        Ok(Self {
            octx,
            encoder,
            scaler,
            enc_tb,
            ost_tb,
            audio,
            audio_tb,
            width: cfg.width,
            height: cfg.height,
            last_pts: -1,
            frames: 0,
            tmp,
            dest: dest.to_path_buf(),
            finished: false,
        })
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Appends a frame shown at `time_s` (seconds from the output's start).
    pub fn push(&mut self, img: &RgbImage, time_s: f64) -> Result<()> {
        if img.width() != self.width || img.height() != self.height {
            return Err(out_err(
                &self.dest,
                format!(
                    "frame of {}x{} in a {}x{} video",
                    img.width(),
                    img.height(),
                    self.width,
                    self.height
                ),
            ));
        }
        let mut rgb =
            ffmpeg::frame::Video::new(ffmpeg::format::Pixel::RGB24, self.width, self.height);
        let stride = rgb.stride(0);
        let row = self.width as usize * 3;
        let data = rgb.data_mut(0);
        for (y, src) in img.as_raw().chunks_exact(row).enumerate() {
            data[y * stride..y * stride + row].copy_from_slice(src);
        }
        let mut yuv = ffmpeg::frame::Video::empty();
        self.scaler
            .run(&rgb, &mut yuv)
            .map_err(|e| out_err(&self.dest, e))?;
        let tb = self.enc_tb;
        let pts = (time_s * tb.denominator() as f64 / tb.numerator().max(1) as f64).round() as i64;
        let pts = pts.max(self.last_pts + 1);
        self.last_pts = pts;
        yuv.set_pts(Some(pts));
        self.encoder
            .send_frame(&yuv)
            .map_err(|e| out_err(&self.dest, e))?;
        self.drain()?;
        let t = pts as f64 * tb.numerator() as f64 / tb.denominator().max(1) as f64;
        self.copy_audio(Some(t + 0.5))?;
        self.frames += 1;
        Ok(())
    }

    fn drain(&mut self) -> Result<()> {
        let mut pkt = ffmpeg::Packet::empty();
        while self.encoder.receive_packet(&mut pkt).is_ok() {
            pkt.set_stream(0);
            pkt.rescale_ts(self.enc_tb, self.ost_tb);
            pkt.write_interleaved(&mut self.octx)
                .map_err(|e| out_err(&self.dest, e))?;
        }
        Ok(())
    }

    /// Copies the audio packets up to output time `until` (all of them for `None`).
    fn copy_audio(&mut self, until: Option<f64>) -> Result<()> {
        let Some(a) = self.audio.as_mut() else {
            return Ok(());
        };
        let secs =
            |ts: i64| ts as f64 * a.in_tb.numerator() as f64 / a.in_tb.denominator().max(1) as f64;
        while !a.done {
            let mut pkt = match a.pending.take() {
                Some(p) => p,
                None => {
                    let mut p = ffmpeg::Packet::empty();
                    match p.read(&mut a.ictx) {
                        Ok(()) => {}
                        Err(ffmpeg::Error::Eof) => {
                            a.done = true;
                            break;
                        }
                        Err(_) => continue,
                    }
                    if p.stream() != a.stream {
                        continue;
                    }
                    p
                }
            };
            let pts = pkt.pts().or(pkt.dts()).unwrap_or(0);
            if pts < a.offset {
                continue;
            }
            if a.end.is_some_and(|e| pts >= e) {
                a.done = true;
                break;
            }
            if let Some(u) = until {
                if secs(pts - a.offset) > u {
                    a.pending = Some(pkt);
                    break;
                }
            }
            pkt.set_pts(pkt.pts().map(|p| p - a.offset));
            pkt.set_dts(pkt.dts().map(|p| p - a.offset));
            pkt.rescale_ts(a.in_tb, self.audio_tb);
            pkt.set_position(-1);
            pkt.set_stream(a.out_stream);
            pkt.write_interleaved(&mut self.octx)
                .map_err(|e| out_err(&self.dest, e))?;
        }
        Ok(())
    }

    /// Flushes the encoder, writes the trailer and renames the file into place.
    pub fn finish(mut self, overwrite: bool) -> Result<PathBuf> {
        self.encoder
            .send_eof()
            .map_err(|e| out_err(&self.dest, e))?;
        self.drain()?;
        self.copy_audio(None)?;
        self.octx
            .write_trailer()
            .map_err(|e| out_err(&self.dest, e))?;
        if self.dest.exists() && !overwrite {
            return Err(Error::Exists(self.dest.clone()));
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.finished = true;
        Ok(self.dest.clone())
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Re-encodes the part `[start_s, end_s]` of `input` (audio included) with the writer
/// used for swaps, so that real clips differ from swaps in nothing but the face.
/// Returns the frames written.
pub fn reencode(
    input: &Path,
    out: &Path,
    start_s: Option<f64>,
    end_s: Option<f64>,
    crf: u32,
    overwrite: bool,
) -> Result<u64> {
    let mut reader = crate::video::VideoReader::open(
        input,
        crate::video::FrameSelection {
            every: std::num::NonZeroU32::MIN,
            start_s,
            end_s,
        },
    )?;
    let info = reader.info().clone();
    let t0 = start_s.unwrap_or(0.0).max(0.0);
    let cfg = WriterConfig {
        width: info.width,
        height: info.height,
        fps: info.fps,
        crf,
        audio_from: Some(input),
        audio_start_s: t0,
        audio_end_s: end_s,
        tags: Vec::new(),
    };
    let mut w = VideoWriter::create(out, &cfg, overwrite)?;
    while let Some(f) = reader.next_frame()? {
        w.push(&f.image, f.time_s - t0)?;
    }
    if w.frames() == 0 {
        return Err(Error::data(
            input,
            "no frame could be decoded in the chosen range",
        ));
    }
    let n = w.frames();
    w.finish(overwrite)?;
    Ok(n)
}

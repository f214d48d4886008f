//! ffmpeg publishers (lavfi sources) and players (decoding to framemd5, counting frames).

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// The real ffmpeg 9 (x264, x265, SVT-AV1, Opus, E-RTMP): `$RTMP_RS_FFMPEG`, else the binary of
/// the `imageio-ffmpeg` PyPI package. Panics with install instructions if neither works.
pub fn ffmpeg9() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = match std::env::var_os("RTMP_RS_FFMPEG") {
            Some(path) => PathBuf::from(path),
            None => {
                let out = std::process::Command::new("python3")
                    .args(["-c", "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())"])
                    .output();
                match out {
                    Ok(out) if out.status.success() => {
                        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_owned())
                    }
                    _ => panic!(
                        "ffmpeg 9 not found: install it with `python3 -m pip install imageio-ffmpeg` \
                         (it bundles a static ffmpeg 9 with x264, x265, SVT-AV1 and Opus), or set \
                         RTMP_RS_FFMPEG to an ffmpeg >= 7 binary"
                    ),
                }
            }
        };
        check_runs(&path, "set RTMP_RS_FFMPEG or `python3 -m pip install imageio-ffmpeg`");
        path
    })
    .clone()
}

/// Debian's ffmpeg 5.1 (`/usr/bin/ffmpeg`). Panics with install instructions if missing.
pub fn ffmpeg5() -> PathBuf {
    let path = PathBuf::from("/usr/bin/ffmpeg");
    assert!(
        path.exists(),
        "Debian's ffmpeg not found at /usr/bin/ffmpeg: install it with \
         `apt-get update && apt-get install -y ffmpeg`"
    );
    check_runs(&path, "`apt-get install -y ffmpeg`");
    path
}

fn check_runs(path: &Path, how: &str) {
    let out = std::process::Command::new(path).arg("-version").output();
    match out {
        Ok(out) if out.status.success() && out.stdout.starts_with(b"ffmpeg version") => {}
        other => panic!("{} does not run as ffmpeg ({other:?}); install it: {how}", path.display()),
    }
}

/// A video encoder for publishers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Video {
    H264,
    Hevc,
    Av1,
}

/// An audio encoder for publishers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audio {
    Aac,
    Opus,
}

/// An ffmpeg publisher of lavfi test sources (`testsrc` + `sine`), paced with `-re`.
#[derive(Debug, Clone)]
pub struct Publish {
    pub bin: PathBuf,
    pub video: Video,
    pub audio: Audio,
    /// Length of the published stream.
    pub seconds: f64,
    /// Keyframe interval in frames (25 fps).
    pub gop: u32,
    /// Picture size.
    pub size: &'static str,
    /// More output options (before `-f flv`).
    pub extra: Vec<String>,
}

impl Publish {
    /// 320x240 at 25 fps, 2 s GOP, 48 kHz audio, for `seconds`.
    pub fn new(bin: PathBuf, video: Video, audio: Audio, seconds: f64) -> Self {
        Self { bin, video, audio, seconds, gop: 50, size: "320x240", extra: Vec::new() }
    }

    /// The keyframe interval in frames.
    pub fn gop(mut self, frames: u32) -> Self {
        self.gop = frames;
        self
    }

    /// Extra output options.
    pub fn extra(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// The picture size.
    pub fn size(mut self, size: &'static str) -> Self {
        self.size = size;
        self
    }

    /// Starts publishing to `url`.
    pub fn spawn(&self, url: &str) -> Child {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-re"]);
        cmd.args(["-f", "lavfi", "-i", &format!("testsrc=size={}:rate=25", self.size)]);
        cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]);
        cmd.args(["-t", &self.seconds.to_string(), "-g", &self.gop.to_string()]);
        match self.video {
            Video::H264 => cmd.args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
            Video::Hevc => {
                cmd.args(["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"])
            }
            Video::Av1 => cmd.args(["-c:v", "libsvtav1", "-preset", "12"]),
        };
        match self.audio {
            Audio::Aac => cmd.args(["-c:a", "aac", "-b:a", "64k"]),
            Audio::Opus => cmd.args(["-c:a", "libopus", "-b:a", "64k"]),
        };
        cmd.args(&self.extra);
        cmd.args(["-f", "flv", url]);
        cmd.env("SVT_LOG", "1");
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()))
    }
}

/// How an ffmpeg run ended.
#[derive(Debug)]
pub struct Finished {
    /// None when it had to be killed at the time limit.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    #[allow(dead_code, reason = "read in failure messages")]
    pub stderr: String,
    /// From the start of the wait.
    pub took: Duration,
}

impl Finished {
    /// Exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Exited by itself with a failure status.
    pub fn failed(&self) -> bool {
        self.status.is_some_and(|s| !s.success())
    }
}

/// Waits for `child` up to `limit`, killing it past that.
pub async fn finish(child: Child, limit: Duration) -> Finished {
    let started = Instant::now();
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(out)) => Finished {
            status: Some(out.status),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took: started.elapsed(),
        },
        Ok(Err(e)) => panic!("waiting for ffmpeg: {e}"),
        // Dropping the future drops the child, which kills it (kill_on_drop).
        Err(_) => Finished { status: None, stdout: String::new(), stderr: String::new(), took: limit },
    }
}

/// What an ffmpeg player decoded.
#[derive(Debug)]
pub struct Played {
    pub video_frames: usize,
    pub audio_frames: usize,
    /// `WxH` of the decoded video.
    pub dimensions: Option<String>,
    pub run: Finished,
}

/// Starts an ffmpeg player of `url` that decodes `seconds` of media to framemd5 on stdout.
pub fn spawn_player(bin: &Path, url: &str, seconds: f64) -> Child {
    let mut cmd = Command::new(bin);
    cmd.args(["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-i", url]);
    cmd.args(["-t", &seconds.to_string(), "-f", "framemd5", "-"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()))
}

/// Waits for a player from [`spawn_player`] and counts its decoded frames.
pub async fn played(child: Child, limit: Duration) -> Played {
    let run = finish(child, limit).await;
    let mut kinds = std::collections::HashMap::new();
    let (mut video_frames, mut audio_frames, mut dimensions) = (0, 0, None);
    for line in run.stdout.lines() {
        if let Some(rest) = line.strip_prefix("#media_type ") {
            if let Some((index, kind)) = rest.split_once(": ") {
                kinds.insert(index.trim().to_owned(), kind.trim().to_owned());
            }
        } else if let Some(rest) = line.strip_prefix("#dimensions ") {
            dimensions = rest.split_once(": ").map(|(_, d)| d.trim().to_owned());
        } else if !line.starts_with('#')
            && let Some((index, _)) = line.split_once(',')
        {
            match kinds.get(index.trim()).map(String::as_str) {
                Some("video") => video_frames += 1,
                Some("audio") => audio_frames += 1,
                _ => {}
            }
        }
    }
    Played { video_frames, audio_frames, dimensions, run }
}

/// Plays `seconds` of `url` with `bin` and counts decoded frames; killed after `limit`.
pub async fn play(bin: &Path, url: &str, seconds: f64, limit: Duration) -> Played {
    played(spawn_player(bin, url, seconds), limit).await
}

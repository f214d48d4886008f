//! GStreamer's RTMP player (`rtmp2src ! flvdemux`), printing each buffer's timestamps.

use std::path::Path;
use std::process::Stdio;

use tokio::process::{Child, Command};

const GST_LAUNCH: &str = "/usr/bin/gst-launch-1.0";

/// Starts `rtmp2src location=url ! flvdemux` into two silent=false fakesinks named `video` and
/// `audio` (`-v` prints a line per buffer); panics with install instructions if it is missing.
pub fn spawn_player(url: &str) -> Child {
    let has = |element: &str| {
        std::process::Command::new("gst-inspect-1.0")
            .arg(element)
            .output()
            .is_ok_and(|out| out.status.success())
    };
    assert!(
        Path::new(GST_LAUNCH).exists() && has("rtmp2src") && has("flvdemux"),
        "GStreamer is missing: apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good \
         gstreamer1.0-plugins-bad (scripts/test.sh does this as root)"
    );
    let pipeline = format!(
        "rtmp2src location={url} ! flvdemux name=demux \
         demux.video ! queue ! fakesink name=video silent=false sync=false \
         demux.audio ! queue ! fakesink name=audio silent=false sync=false"
    );
    let mut cmd = Command::new(GST_LAUNCH);
    cmd.arg("-v").arg("-e").args(pipeline.split_whitespace());
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd.spawn().unwrap_or_else(|e| panic!("cannot start {GST_LAUNCH}: {e}"))
}

/// The buffers a [`spawn_player`] printed: (sink name, dts or else pts in ms), in order.
pub fn buffers(stdout: &str) -> Vec<(String, u64)> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line.split_once("last-message = chain")?.1;
            let sink = rest.split_once('(')?.1.split_once(':')?.0.to_owned();
            let time = |name: &str| {
                let value = rest.split_once(&format!("{name}: "))?.1.split_once(',')?.0;
                clock_ms(value)
            };
            Some((sink, time("dts").or_else(|| time("pts"))?))
        })
        .collect()
}

/// `0:00:01.040000000` in ms; `none` is None.
fn clock_ms(value: &str) -> Option<u64> {
    let mut parts = value.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    let secs: f64 = s.parse().ok()?;
    Some(
        h.parse::<u64>().ok()? * 3_600_000 + m.parse::<u64>().ok()? * 60_000 + (secs * 1000.0).round() as u64,
    )
}

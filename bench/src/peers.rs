//! The servers under test, each pinned to core 0: ours (the example server, release build) and
//! nginx-rtmp (Debian's nginx + libnginx-mod-rtmp, one process, its own config).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Another build of the example server (`--baseline`), measured beside this one.
pub static BASELINE: OnceLock<PathBuf> = OnceLock::new();

/// Which server, and how it is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// rtmp-rs in one of its CPU/latency trade-offs.
    Ours(Mode),
    /// The `--baseline` build of rtmp-rs, default configuration: a change against its parent.
    Baseline,
    /// nginx-rtmp with its defaults.
    Nginx,
    /// The kernel's floor (`src/floor.rs`): one write per message, or per video frame.
    Floor { per_frame: bool },
}

/// How rtmp-rs trades latency for CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nothing waits: each message is read when it arrives and written when it is read.
    Default,
    /// `--write-coalescing`: players' output is written once per window.
    WriteCoalescing(u64),
    /// `--read-coalescing`: publishers are read once per window.
    ReadCoalescing(u64),
}

impl Peer {
    pub fn label(self) -> String {
        match self {
            Self::Ours(Mode::Default) => "rtmp-rs".into(),
            Self::Ours(Mode::WriteCoalescing(ms)) => format!("rtmp-rs coalesce {ms}ms"),
            Self::Ours(Mode::ReadCoalescing(ms)) => format!("rtmp-rs merged reads {ms}ms"),
            Self::Baseline => "rtmp-rs baseline".into(),
            Self::Nginx => "nginx-rtmp".into(),
            Self::Floor { per_frame: false } => "floor: write per message".into(),
            Self::Floor { per_frame: true } => "floor: write per video frame".into(),
        }
    }
}

/// A running server process.
pub struct Running {
    child: Child,
    pub addr: SocketAddr,
    dir: Option<PathBuf>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A release binary built by `bench/run.sh`: the example server, or the floor sender.
fn release_binary(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("target/x86_64-unknown-linux-gnu/release").join(name);
    assert!(path.exists(), "{} is missing: run bench/run.sh", path.display());
    path
}

/// Starts `peer` on a free loopback port, pinned to core 0; the floor sender sends `fixture`.
pub fn start(peer: Peer, fixture: &Path) -> Running {
    start_on_core(peer, fixture, 0)
}

/// [`start`] pinned to `core` (1: a peer that is not measured, beside the harness).
pub fn start_on_core(peer: Peer, fixture: &Path, core: u32) -> Running {
    let core = core.to_string();
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (mut cmd, dir) = match peer {
        Peer::Ours(_) | Peer::Baseline => {
            let binary = match peer {
                Peer::Baseline => BASELINE.get().expect("--baseline").clone(),
                _ => release_binary("examples/server"),
            };
            let mut cmd = Command::new("taskset");
            cmd.args(["-c", &core]).arg(binary).args(["--bind", &addr.to_string()]);
            match peer {
                Peer::Ours(Mode::WriteCoalescing(ms)) => cmd.args(["--write-coalescing", &format!("{ms}ms")]),
                Peer::Ours(Mode::ReadCoalescing(ms)) => cmd.args(["--read-coalescing", &format!("{ms}ms")]),
                _ => &mut cmd,
            };
            cmd.env("RUST_LOG", "warn");
            (cmd, None)
        }
        Peer::Nginx => {
            let dir = std::env::temp_dir().join(format!("rtmp-bench-nginx-{port}"));
            std::fs::create_dir_all(dir.join("logs")).unwrap();
            let conf = format!(
                "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\nuser root;\nworker_processes 1;\n\
                 daemon off;\nmaster_process off;\nerror_log {d}/logs/error.log warn;\npid {d}/nginx.pid;\n\
                 events {{ worker_connections 4096; }}\n\
                 rtmp {{ server {{ listen {addr}; chunk_size 4096;\n\
                 application live {{ live on; record off; }} }} }}\n",
                d = dir.display()
            );
            std::fs::write(dir.join("nginx.conf"), conf).unwrap();
            let mut cmd = Command::new("taskset");
            cmd.args(["-c", &core, "/usr/sbin/nginx", "-p"]).arg(&dir).arg("-c").arg(dir.join("nginx.conf"));
            (cmd, Some(dir))
        }
        Peer::Floor { per_frame } => {
            let mut cmd = Command::new("taskset");
            cmd.args(["-c", &core]).arg(release_binary("floor")).arg(addr.to_string()).arg(fixture);
            cmd.arg(if per_frame { "per-frame" } else { "per-message" });
            (cmd, None)
        }
    };
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start server");
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "{} did not start", peer.label());
        std::thread::sleep(Duration::from_millis(20));
    }
    Running { child, addr, dir }
}

//! nginx-rtmp (Debian: nginx + libnginx-mod-rtmp) as a server no one here wrote, started with its
//! own config on a free loopback port and stopped on drop.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NGINX: &str = "/usr/sbin/nginx";
const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// A running nginx-rtmp with one `live` application.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx on a free port; panics with install instructions if it is missing.
    pub fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port())
    }

    /// Starts nginx on `port` (again, after a kill: a destination that comes back).
    pub fn start_on(port: u16) -> Self {
        assert!(
            Path::new(NGINX).exists() && Path::new(MODULE).exists(),
            "nginx-rtmp is missing: apt-get install nginx-light libnginx-mod-rtmp (scripts/test.sh does this as root)"
        );
        let dir = std::env::temp_dir().join(format!("rtmp-rs-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let user = if is_root() { "user root;" } else { "" };
        let conf = format!(
            "load_module {MODULE};\n{user}\nworker_processes 1;\ndaemon off;\nmaster_process off;\n\
             error_log {dir}/logs/error.log info;\npid {dir}/nginx.pid;\n\
             events {{ worker_connections 256; }}\n\
             rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096;\n\
             application live {{ live on; record off; }} }} }}\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let started = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not start: see {}/logs",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, addr, dir }
    }

    /// `rtmp://127.0.0.1:PORT/live/NAME`.
    pub fn url(&self, name: &str) -> String {
        format!("rtmp://{}/live/{name}", self.addr)
    }
}

impl Nginx {
    /// Kills it at once (no goodbye to its clients), as a crashed destination.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || std::fs::read_to_string("/proc/self/status")
            .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
            .unwrap_or(false)
}

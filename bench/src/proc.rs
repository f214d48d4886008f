//! What /proc (and `ss`) tell about a server process: CPU time, memory and bytes read.

/// Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU seconds the process has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the state field here.
    (ticks(11) + ticks(12)) / TICKS_PER_SECOND
}

/// A `Vm…:` line of /proc/<pid>/status in KiB (VmRSS now, VmHWM peak).
pub fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Bytes read by the process listening on `port` from its established connections: what TCP
/// received minus what still waits in the receive queues (`ss -ti`; /proc's `rchar` does not
/// count recv(2)).
pub fn bytes_read_on(port: u16) -> u64 {
    let filter = format!("( sport = :{port} )");
    let output = std::process::Command::new("ss")
        .args(["-tinH", "state", "established", &filter])
        .output()
        .expect("run ss (iproute2)");
    let text = String::from_utf8_lossy(&output.stdout);
    let (mut received, mut queued) = (0u64, 0u64);
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        if line.starts_with(char::is_whitespace) {
            // The socket's details: bytes_received:N among them.
            received += fields
                .find_map(|f| f.strip_prefix("bytes_received:"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        } else {
            // Recv-Q Send-Q Local Peer.
            queued += fields.next().and_then(|q| q.parse().ok()).unwrap_or(0);
        }
    }
    received.saturating_sub(queued)
}

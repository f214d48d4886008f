//! Protocol control message details.

/// The limit type of Set Peer Bandwidth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BandwidthLimit {
    /// Limit output to the window size.
    Hard = 0,
    /// Limit to the window or the current limit, whichever is smaller.
    Soft = 1,
    /// Hard if the previous limit was hard, else ignore. What servers send in practice.
    Dynamic = 2,
}

impl BandwidthLimit {
    /// Values above 2 are treated as dynamic, the most lenient reading.
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Hard,
            1 => Self::Soft,
            _ => Self::Dynamic,
        }
    }
}

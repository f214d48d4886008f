//! AMF3 values, decode and encode. (Being written.)

/// One AMF3 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf3Value {
    /// 0x00
    Undefined,
    /// 0x01
    Null,
    /// 0x02 / 0x03
    Boolean(bool),
    /// 0x04: a 29-bit signed integer.
    Integer(i32),
    /// 0x05
    Double(f64),
    /// 0x06
    String(String),
}

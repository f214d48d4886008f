//! The option schema: each option of a config struct is described once (name, kind with its
//! unit and valid range, one-line doc) in a table beside the struct, and every way of setting it
//! goes through that description: the Rust setters are checked by `validate()`, and the C, Python
//! and Node skins, the example server's flags and its TOML file set options by name with
//! [`OptionTable::set`]. A bad value is refused the same way everywhere, with an [`OptionError`]
//! that names the option and its range.
//!
//! Defaults are not repeated here: a table reads them from the struct's `Default`.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// A value as a skin or a file hands it over, before the schema checks it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value: `None` in Python, `null`/`undefined` in Node. Turns an option off (or makes it
    /// wait forever) where its kind allows.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number with a fraction (or infinite): durations, and integers from JavaScript.
    Float(f64),
    /// Text: addresses, names, paths; also any value given as text ([`Value::from_text`]).
    Text(String),
    /// A list of names.
    List(Vec<String>),
}

impl Value {
    /// Reads a value written as text (a command-line flag, a C string): `true`/`false`, a
    /// number, `none`/`off`, `inf`, a duration with its unit (`500ms`, `10s`, `2m`), a
    /// comma-separated list, or else the text itself. The schema decides what fits.
    pub fn from_text(text: &str) -> Self {
        let trimmed = text.trim();
        match trimmed {
            "true" => return Self::Bool(true),
            "false" => return Self::Bool(false),
            "none" | "off" => return Self::Null,
            "inf" | "forever" => return Self::Float(f64::INFINITY),
            _ => {}
        }
        if let Ok(n) = trimmed.parse::<i64>() {
            return Self::Int(n);
        }
        if let Ok(n) = trimmed.parse::<f64>() {
            return Self::Float(n);
        }
        Self::Text(text.to_owned())
    }
}

impl Kind {
    /// Reads `text` as a value of this kind: as it is for text, addresses, lists and choices,
    /// with [`Value::from_text`] otherwise (so `"64"` is a number for a count, a name for text).
    pub fn parse_text(&self, text: &str) -> Value {
        match self {
            Self::Text | Self::Addr | Self::List | Self::Choice(_) => Value::Text(text.to_owned()),
            _ => Value::from_text(text),
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                i64::try_from(v).map_or(Self::Float(v as f64), Self::Int)
            }
        }
    )*};
}
int_values!(u32, u64, usize, i32, i64);

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<Vec<String>> for Value {
    fn from(v: Vec<String>) -> Self {
        Self::List(v)
    }
}

/// How a bare number given for a duration is read: seconds (Python, TOML, flags) or
/// milliseconds (C, Node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds, fractions allowed.
    Seconds,
    /// Milliseconds.
    Millis,
}

/// What a duration option's null means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unset {
    /// Null is not allowed.
    Refused,
    /// Null or zero turns the feature off.
    Off,
    /// Null or infinity waits forever.
    Forever,
}

/// An option's type, unit and valid range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// An integer in `min..=max`; `nullable` lets null mean "not set" (the system's choice).
    Int {
        /// Smallest valid value.
        min: u64,
        /// Largest valid value.
        max: u64,
        /// Whether null is allowed.
        nullable: bool,
    },
    /// A duration, up to 10⁹ s.
    Duration(Unset),
    /// Any text.
    Text,
    /// `host:port`, an IP address or a name that resolves.
    Addr,
    /// A list of names (comma-separated when given as text).
    List,
    /// One of these names (`-` and `_` alike).
    Choice(&'static [&'static str]),
}

/// The longest duration an option takes.
const MAX_DURATION: Duration = Duration::from_secs(1_000_000_000);

/// A value the schema accepted, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    /// For [`Kind::Bool`].
    Bool(bool),
    /// For [`Kind::Int`]; `None` when nullable and null.
    Int(Option<u64>),
    /// For [`Kind::Duration`]; `None` when off or forever.
    Duration(Option<Duration>),
    /// For [`Kind::Text`].
    Text(String),
    /// For [`Kind::Addr`].
    Addr(SocketAddr),
    /// For [`Kind::List`].
    List(Vec<String>),
    /// For [`Kind::Choice`]: the index of the choice.
    Choice(usize),
}

impl Kind {
    /// Checks a value against this kind; the error says what was expected, without the name.
    pub fn check(&self, value: &Value, unit: TimeUnit) -> Result<Setting, String> {
        match (self, value) {
            (Self::Bool, Value::Bool(b)) => Ok(Setting::Bool(*b)),
            (Self::Int { nullable: true, .. }, Value::Null) => Ok(Setting::Int(None)),
            (Self::Int { min, max, .. }, value) => {
                let n = match value {
                    Value::Int(n) => u64::try_from(*n).ok(),
                    Value::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64 => {
                        Some(*f as u64)
                    }
                    _ => None,
                };
                match n {
                    Some(n) if (*min..=*max).contains(&n) => Ok(Setting::Int(Some(n))),
                    _ => Err(format!("must be an integer from {min} to {max}, not {}", show(value))),
                }
            }
            (Self::Duration(unset), value) => check_duration(*unset, value, unit).map(Setting::Duration),
            (Self::Text, Value::Text(t)) => Ok(Setting::Text(t.clone())),
            (Self::Addr, Value::Text(t)) => resolve(t).map(Setting::Addr),
            (Self::List, Value::List(items)) => Ok(Setting::List(items.clone())),
            (Self::List, Value::Text(t)) => Ok(Setting::List(
                t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            )),
            (Self::Choice(names), Value::Text(t)) => names
                .iter()
                .position(|name| name.replace('_', "-") == t.replace('_', "-"))
                .map(Setting::Choice)
                .ok_or_else(|| format!("must be one of {}, not {}", names.join(", "), show(value))),
            _ => Err(format!("must be {}, not {}", self.describe(), show(value))),
        }
    }

    /// Whether `value` is of a type this kind takes (whatever its range).
    pub fn fits_type(&self, value: &Value) -> bool {
        match (self, value) {
            (Self::Bool, Value::Bool(_)) => true,
            (Self::Int { nullable, .. }, Value::Null) => *nullable,
            (Self::Int { .. }, Value::Int(_)) => true,
            (Self::Int { .. }, Value::Float(f)) => f.fract() == 0.0,
            (Self::Duration(unset), Value::Null) => *unset != Unset::Refused,
            (Self::Duration(_), Value::Int(_) | Value::Float(_) | Value::Text(_)) => true,
            (Self::List, Value::List(_)) => true,
            (Self::Text | Self::Addr | Self::List | Self::Choice(_), Value::Text(_)) => true,
            _ => false,
        }
    }

    /// What values fit, in words (for errors and the option reference).
    pub fn describe(&self) -> String {
        match self {
            Self::Bool => "true or false".into(),
            Self::Int { min, max, nullable } => {
                format!("an integer from {min} to {max}{}", if *nullable { ", or none" } else { "" })
            }
            Self::Duration(Unset::Refused) => "a duration".into(),
            Self::Duration(Unset::Off) => "a duration, or none/0 for off".into(),
            Self::Duration(Unset::Forever) => "a duration, or none/inf for forever".into(),
            Self::Text => "text".into(),
            Self::Addr => "host:port".into(),
            Self::List => "a list of names".into(),
            Self::Choice(names) => format!("one of {}", names.join(", ")),
        }
    }
}

fn check_duration(unset: Unset, value: &Value, unit: TimeUnit) -> Result<Option<Duration>, String> {
    let expected = || format!("must be {}, not {}", Kind::Duration(unset).describe(), show(value));
    let seconds = match value {
        Value::Null => return if unset == Unset::Refused { Err(expected()) } else { Ok(None) },
        Value::Int(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Text(t) => {
            return parse_duration(t).ok_or_else(expected).and_then(|d| finish_duration(unset, d, value));
        }
        _ => return Err(expected()),
    };
    if seconds == f64::INFINITY && unset == Unset::Forever {
        return Ok(None);
    }
    let seconds = match unit {
        TimeUnit::Seconds => seconds,
        TimeUnit::Millis => seconds / 1000.0,
    };
    if !(0.0..=MAX_DURATION.as_secs_f64()).contains(&seconds) {
        return Err(expected());
    }
    finish_duration(unset, Duration::from_secs_f64(seconds), value)
}

fn finish_duration(unset: Unset, d: Duration, value: &Value) -> Result<Option<Duration>, String> {
    if d > MAX_DURATION {
        return Err(format!("must be at most {} s, not {}", MAX_DURATION.as_secs(), show(value)));
    }
    Ok(if d.is_zero() && unset == Unset::Off { None } else { Some(d) })
}

/// `500ms`, `1.5s`, `2m`.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    let seconds = number.trim().parse::<f64>().ok()? * scale;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::try_from_secs_f64(seconds).ok()).flatten()
}

fn resolve(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    text.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("must be host:port (an IP address or a name that resolves), not {text:?}"))
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(t) => format!("{t:?}"),
        Value::List(items) => format!("{items:?}"),
    }
}

impl Setting {
    /// The setting as text that [`Value::from_text`] reads back (durations in seconds).
    pub fn to_text(&self, kind: &Kind) -> String {
        match (self, kind) {
            (Self::Bool(b), _) => b.to_string(),
            (Self::Int(Some(n)), _) => n.to_string(),
            (Self::Int(None), _) => "none".into(),
            (Self::Duration(Some(d)), _) => format!("{}s", d.as_secs_f64()),
            (Self::Duration(None), Kind::Duration(Unset::Forever)) => "inf".into(),
            (Self::Duration(None), _) => "none".into(),
            (Self::Text(t), _) => t.clone(),
            (Self::Addr(a), _) => a.to_string(),
            (Self::List(items), _) => items.join(","),
            (Self::Choice(i), Kind::Choice(names)) => names.get(*i).copied().unwrap_or("?").to_owned(),
            (Self::Choice(i), _) => i.to_string(),
        }
    }
}

/// Converts a checked [`Setting`] into a field's type and back; the tables use it.
pub trait Field: Sized {
    /// The field's value from a setting of its option's kind.
    fn from_setting(setting: Setting) -> Option<Self>;
    /// The setting that describes the field's value.
    fn to_setting(&self) -> Setting;
}

impl Field for bool {
    fn from_setting(setting: Setting) -> Option<Self> {
        match setting {
            Setting::Bool(b) => Some(b),
            _ => None,
        }
    }
    fn to_setting(&self) -> Setting {
        Setting::Bool(*self)
    }
}

macro_rules! int_fields {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn from_setting(setting: Setting) -> Option<Self> {
                match setting {
                    Setting::Int(Some(n)) => <$t>::try_from(n).ok(),
                    _ => None,
                }
            }
            fn to_setting(&self) -> Setting {
                Setting::Int(Some(*self as u64))
            }
        }
        impl Field for Option<$t> {
            fn from_setting(setting: Setting) -> Option<Self> {
                match setting {
                    Setting::Int(None) => Some(None),
                    Setting::Int(Some(n)) => <$t>::try_from(n).ok().map(Some),
                    _ => None,
                }
            }
            fn to_setting(&self) -> Setting {
                Setting::Int(self.map(|n| n as u64))
            }
        }
    )*};
}
int_fields!(u32, usize);

impl Field for Duration {
    fn from_setting(setting: Setting) -> Option<Self> {
        match setting {
            Setting::Duration(d) => d,
            _ => None,
        }
    }
    fn to_setting(&self) -> Setting {
        Setting::Duration(Some(*self))
    }
}

impl Field for Option<Duration> {
    fn from_setting(setting: Setting) -> Option<Self> {
        match setting {
            Setting::Duration(d) => Some(d),
            _ => None,
        }
    }
    fn to_setting(&self) -> Setting {
        Setting::Duration(*self)
    }
}

impl Field for String {
    fn from_setting(setting: Setting) -> Option<Self> {
        match setting {
            Setting::Text(t) => Some(t),
            _ => None,
        }
    }
    fn to_setting(&self) -> Setting {
        Setting::Text(self.clone())
    }
}

impl Field for SocketAddr {
    fn from_setting(setting: Setting) -> Option<Self> {
        match setting {
            Setting::Addr(a) => Some(a),
            _ => None,
        }
    }
    fn to_setting(&self) -> Setting {
        Setting::Addr(*self)
    }
}

impl Field for Vec<String> {
    fn from_setting(setting: Setting) -> Option<Self> {
        match setting {
            Setting::List(items) => Some(items),
            _ => None,
        }
    }
    fn to_setting(&self) -> Setting {
        Setting::List(self.clone())
    }
}

/// One option: its description and how it reaches its field in `T`.
pub struct OptionSpec<T> {
    /// The option's name (snake_case; each skin derives its own spelling).
    pub name: &'static str,
    /// Type, unit and range.
    pub kind: Kind,
    /// One line saying what it does (the doc comment of its table entry).
    pub doc: &'static str,
    /// Sets the field from a setting of `kind`; false if the setting does not fit the field.
    pub apply: fn(&mut T, Setting) -> bool,
    /// The field's current value.
    pub get: fn(&T) -> Setting,
}

impl<T> fmt::Debug for OptionSpec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OptionSpec").field("name", &self.name).field("kind", &self.kind).finish()
    }
}

/// A refused option: which one, and what is wrong with the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    /// The option's schema name (snake_case).
    pub name: String,
    /// What is wrong, without the name: "must be an integer from 128 to 16777215, not 64", or
    /// "is not an option".
    pub problem: String,
    /// Whether the value is of the wrong type (text for a number), not out of range: Python
    /// raises `TypeError` for these, `ValueError` for the others.
    pub wrong_type: bool,
}

impl OptionError {
    /// An unknown option name.
    pub fn unknown(name: &str) -> Self {
        Self { name: name.to_owned(), problem: "is not an option".into(), wrong_type: false }
    }

    /// A value its option's kind takes but its meaning refuses (a URL template that makes no
    /// URL): `problem` says why, without the name.
    pub fn invalid(name: &str, problem: impl Into<String>) -> Self {
        Self { name: name.to_owned(), problem: problem.into(), wrong_type: false }
    }

    /// Whether the name is not an option at all.
    pub fn is_unknown(&self) -> bool {
        self.problem == Self::unknown("").problem
    }

    /// The message with the option named as the caller spells it (`chunkSize`, `--chunk-size`).
    pub fn message_for(&self, spelled: &str) -> String {
        format!("{spelled} {}", self.problem)
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.problem)
    }
}

impl std::error::Error for OptionError {}

/// The options of one config struct.
pub struct OptionTable<T: 'static> {
    /// Every option, in documentation order.
    pub options: &'static [OptionSpec<T>],
}

impl<T: Default> OptionTable<T> {
    /// The option named `name`.
    pub fn find(&self, name: &str) -> Option<&'static OptionSpec<T>> {
        self.options.iter().find(|spec| spec.name == name)
    }

    /// Checks `value` against the option named `name` and sets it. Null sets the default of an
    /// option for which it means nothing else (null is `None` in Python and `null` in Node, which
    /// those skins treat as "not given").
    pub fn set(&self, target: &mut T, name: &str, value: &Value, unit: TimeUnit) -> Result<(), OptionError> {
        let spec = self.find(name).ok_or_else(|| OptionError::unknown(name))?;
        if *value == Value::Null && !spec.kind.fits_type(value) {
            (spec.apply)(target, (spec.get)(&T::default()));
            return Ok(());
        }
        let refused =
            |problem| OptionError { name: name.into(), problem, wrong_type: !spec.kind.fits_type(value) };
        let setting = spec.kind.check(value, unit).map_err(refused)?;
        if (spec.apply)(target, setting) {
            Ok(())
        } else {
            Err(refused(format!("must be {}", spec.kind.describe())))
        }
    }

    /// Checks every field of `target` against its option's range (for values set in Rust).
    pub fn validate(&self, target: &T) -> Result<(), OptionError> {
        for spec in self.options {
            let value = setting_value((spec.get)(target), &spec.kind);
            spec.kind.check(&value, TimeUnit::Seconds).map_err(|problem| OptionError {
                name: spec.name.into(),
                problem,
                wrong_type: false,
            })?;
        }
        Ok(())
    }
}

/// A setting as a value its kind accepts again (for [`OptionTable::validate`]).
fn setting_value(setting: Setting, kind: &Kind) -> Value {
    match setting {
        Setting::Bool(b) => Value::Bool(b),
        Setting::Int(Some(n)) => i64::try_from(n).map_or(Value::Float(n as f64), Value::Int),
        Setting::Int(None) | Setting::Duration(None) => Value::Null,
        // Seconds, exactly: a Duration's nanoseconds may not survive a float round trip.
        Setting::Duration(Some(d)) => Value::Text(format!("{}ms", d.as_secs_f64() * 1000.0)),
        Setting::Text(t) => Value::Text(t),
        Setting::Addr(a) => Value::Text(a.to_string()),
        Setting::List(items) => Value::List(items),
        Setting::Choice(i) => match kind {
            Kind::Choice(names) => Value::Text(names.get(i).copied().unwrap_or_default().to_owned()),
            _ => Value::Null,
        },
    }
}

/// Builds an `OptionTable<$T>` whose options are fields of `$T` of the same name:
/// `option_table!(ServerConfig { /// doc \n chunk_size: Kind::Int { .. }, ... })`.
#[macro_export]
macro_rules! option_table {
    ($T:ty { $( #[doc = $doc:literal] $field:ident : $kind:expr ),* $(,)? }) => {
        $crate::options::OptionTable::<$T> {
            options: &[$(
                $crate::options::OptionSpec {
                    name: stringify!($field),
                    kind: $kind,
                    doc: $doc.trim_ascii(),
                    apply: |target, setting| match $crate::options::Field::from_setting(setting) {
                        Some(value) => { target.$field = value; true }
                        None => false,
                    },
                    get: |target| $crate::options::Field::to_setting(&target.$field),
                },
            )*],
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_checked_against_their_range() {
        let kind = Kind::Int { min: 128, max: 0xFF_FFFF, nullable: false };
        assert_eq!(kind.check(&Value::Int(4096), TimeUnit::Seconds), Ok(Setting::Int(Some(4096))));
        assert_eq!(kind.check(&Value::Float(4096.0), TimeUnit::Seconds), Ok(Setting::Int(Some(4096))));
        for bad in [
            Value::Int(64),
            Value::Int(0),
            Value::Int(-1),
            Value::Float(200.5),
            Value::Null,
            Value::Bool(true),
        ] {
            let error = kind.check(&bad, TimeUnit::Seconds).unwrap_err();
            assert!(error.contains("from 128 to 16777215"), "{error}");
        }
    }

    #[test]
    fn durations_read_their_unit_and_their_off_value() {
        let plain = Kind::Duration(Unset::Refused);
        let ms = |n| Ok(Setting::Duration(Some(Duration::from_millis(n))));
        assert_eq!(plain.check(&Value::Float(1.5), TimeUnit::Seconds), ms(1500));
        assert_eq!(plain.check(&Value::Int(1500), TimeUnit::Millis), ms(1500));
        assert_eq!(plain.check(&Value::from_text("250ms"), TimeUnit::Seconds), ms(250));
        assert_eq!(plain.check(&Value::from_text("2m"), TimeUnit::Millis), ms(120_000));
        assert!(plain.check(&Value::Null, TimeUnit::Seconds).is_err(), "checked alone, null is no duration");
        assert!(plain.check(&Value::Float(-1.0), TimeUnit::Seconds).is_err());
        assert!(plain.check(&Value::Float(f64::NAN), TimeUnit::Seconds).is_err());
        assert!(plain.check(&Value::Float(f64::INFINITY), TimeUnit::Seconds).is_err());
        let off = Kind::Duration(Unset::Off);
        assert_eq!(off.check(&Value::Int(0), TimeUnit::Millis), Ok(Setting::Duration(None)));
        assert_eq!(off.check(&Value::Null, TimeUnit::Millis), Ok(Setting::Duration(None)));
        let forever = Kind::Duration(Unset::Forever);
        assert_eq!(
            forever.check(&Value::Float(f64::INFINITY), TimeUnit::Millis),
            Ok(Setting::Duration(None))
        );
        assert_eq!(
            forever.check(&Value::Int(0), TimeUnit::Millis),
            Ok(Setting::Duration(Some(Duration::ZERO)))
        );
    }

    #[test]
    fn text_reads_as_the_kind_expects() {
        assert_eq!(Value::from_text("true"), Value::Bool(true));
        assert_eq!(Value::from_text("64"), Value::Int(64));
        assert_eq!(Value::from_text("none"), Value::Null);
        let list = Kind::List.check(&Value::from_text("avc1, hvc1"), TimeUnit::Seconds);
        assert_eq!(list, Ok(Setting::List(vec!["avc1".into(), "hvc1".into()])));
        let choice = Kind::Choice(&["reject_new", "take_over"]);
        assert_eq!(choice.check(&Value::from_text("take-over"), TimeUnit::Seconds), Ok(Setting::Choice(1)));
        assert!(choice.check(&Value::from_text("maybe"), TimeUnit::Seconds).unwrap_err().contains("one of"));
        let addr = Kind::Addr.check(&Value::from_text("localhost:1935"), TimeUnit::Seconds);
        assert!(matches!(addr, Ok(Setting::Addr(a)) if a.port() == 1935 && a.ip().is_loopback()));
        assert!(Kind::Addr.check(&Value::from_text("no port"), TimeUnit::Seconds).is_err());
    }

    #[derive(Default)]
    struct Sample {
        size: u32,
        wait: Option<Duration>,
    }

    #[test]
    fn a_table_sets_checks_and_validates_fields_by_name() {
        static TABLE: OptionTable<Sample> = option_table!(Sample {
            /// A size.
            size: Kind::Int { min: 1, max: 10, nullable: false },
            /// A wait.
            wait: Kind::Duration(Unset::Forever),
        });
        let table = &TABLE;
        let mut sample = Sample::default();
        table.set(&mut sample, "size", &Value::Int(7), TimeUnit::Seconds).unwrap();
        table.set(&mut sample, "wait", &Value::Int(20), TimeUnit::Millis).unwrap();
        assert_eq!((sample.size, sample.wait), (7, Some(Duration::from_millis(20))));
        let error = table.set(&mut sample, "size", &Value::Int(11), TimeUnit::Seconds).unwrap_err();
        assert_eq!(error.to_string(), "size must be an integer from 1 to 10, not 11");
        assert_eq!(error.message_for("--size"), "--size must be an integer from 1 to 10, not 11");
        assert_eq!(sample.size, 7, "a refused value changes nothing");
        table.set(&mut sample, "size", &Value::Null, TimeUnit::Seconds).unwrap();
        assert_eq!(sample.size, 0, "null sets the default of an option it means nothing for");
        table.set(&mut sample, "size", &Value::Int(7), TimeUnit::Seconds).unwrap();
        let unknown = table.set(&mut sample, "colour", &Value::Int(1), TimeUnit::Seconds).unwrap_err();
        assert_eq!(unknown.to_string(), "colour is not an option");
        assert_eq!(table.validate(&sample), Ok(()));
        sample.size = 0;
        assert_eq!(table.validate(&sample).unwrap_err().name, "size");
        assert_eq!(table.find("wait").unwrap().doc, "A wait.");
    }
}

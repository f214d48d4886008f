//! What is generated from the option schema, checked: the Node package's `ServerOptions` and
//! `ClientOptions` (`bindings/node/src/{server,client}_options.rs`) and the option reference in
//! README.md. A new option
//! is one entry in a table; `RTMP_RS_BLESS=1 cargo test -p rtmp-embed --test generated` then
//! rewrites these files, and this test fails until they are rewritten.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use rtmp_core::client::CLIENT_OPTIONS;
use rtmp_core::options::{Kind, Setting, Unset};
use rtmp_embed::{OptionInfo, client_options, node_name, server_options};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compares `path` with `expected`, or rewrites it when blessing.
fn check(path: &Path, expected: &str) {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current == expected {
        return;
    }
    if std::env::var_os("RTMP_RS_BLESS").is_some() {
        std::fs::write(path, expected).expect("write the generated file");
        return;
    }
    panic!(
        "{} is not what the option schema generates; run `RTMP_RS_BLESS=1 cargo test -p rtmp-embed --test generated`",
        path.display()
    );
}

fn default_text(option: &OptionInfo) -> String {
    match (&option.default, &option.kind) {
        (Setting::Duration(None), Kind::Duration(Unset::Off)) => "off".into(),
        (Setting::Duration(None), Kind::Duration(Unset::Forever)) => "forever".into(),
        (Setting::Int(None), _) => "the system's".into(),
        (Setting::List(items), _) if items.is_empty() => "none".into(),
        (Setting::List(items), _) if items.len() > 4 => "every codec the library parses".into(),
        (setting, kind) => setting.to_text(kind),
    }
}

fn camel(name: &str) -> String {
    name.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

fn node_type(option: &OptionInfo) -> String {
    match option.kind {
        Kind::Bool => "bool".into(),
        Kind::Int { .. } | Kind::Duration(_) => "f64".into(),
        Kind::Text | Kind::Addr => "String".into(),
        Kind::List => "Vec<String>".into(),
        Kind::Choice(_) => "String".into(),
    }
}

fn node_unit_note(kind: &Kind) -> &'static str {
    match kind {
        Kind::Duration(Unset::Off) => " Milliseconds; 0 turns it off.",
        Kind::Duration(Unset::Forever) => " Milliseconds; `Infinity` waits forever.",
        Kind::Duration(Unset::Refused) => " Milliseconds.",
        _ => "",
    }
}

/// A napi option object generated from a list of options.
struct NodeObject {
    /// The tables it comes from, for the header comment.
    source: &'static str,
    /// `use` lines for the extra fields.
    uses: &'static str,
    name: &'static str,
    doc: &'static str,
    options: Vec<OptionInfo>,
    /// Fields that are not plain values (TLS, reconnection), written as they are.
    extras: &'static str,
}

fn node_object(object: &NodeObject) -> String {
    let NodeObject { source, uses, name, doc, options, extras } = object;
    let mut out = format!(
        "// Generated from the option schema ({source})\n\
         // by `RTMP_RS_BLESS=1 cargo test -p rtmp-embed --test generated`; do not edit.\n\n\
         use napi_derive::napi;\n\
         use rtmp_core::options::Value;\n\n{uses}\n"
    );
    for option in options {
        if let Kind::Choice(names) = option.kind {
            let name = camel(option.name);
            let _ = write!(out, "\n/// {}\n#[napi(string_enum = \"kebab-case\")]\n", option.doc);
            out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq)]\n");
            let _ = writeln!(out, "pub enum {name} {{");
            for choice in names {
                let _ = writeln!(out, "    /// `'{}'`", choice.replace('_', "-"));
                let _ = writeln!(out, "    {},", camel(choice));
            }
            out.push_str("}\n");
        }
    }
    let _ =
        write!(out, "\n/// {doc}\n#[napi(object)]\n#[derive(Debug, Clone, Default)]\npub struct {name} {{\n");
    for option in options {
        let field = node_name(option.name, &option.kind);
        let _ = writeln!(
            out,
            "    /// {}{} Default {}.",
            option.doc,
            node_unit_note(&option.kind),
            default_text(option).replace('_', "-")
        );
        if let Kind::Choice(_) = option.kind {
            // Typed as the kebab-case union, taken as text: the schema checks it (and takes
            // `take_over` too, as Python and C do).
            let _ = writeln!(out, "    #[napi(ts_type = \"{}\")]", camel(option.name));
        }
        let _ = writeln!(out, "    pub {}: Option<{}>,", snake(&field), node_type(option));
    }
    let _ = writeln!(out, "{extras}}}");
    let _ = write!(
        out,
        "\nimpl {name} {{\n    /// The options given, by schema name.\n    \
         pub(crate) fn given(&self) -> Vec<(&'static str, Value)> {{\n        let mut given = Vec::new();\n"
    );
    for option in options {
        let field = snake(&node_name(option.name, &option.kind));
        let value: &str = match option.kind {
            Kind::Text | Kind::Addr | Kind::List | Kind::Choice(_) => "Value::from(v.clone())",
            _ => "Value::from(*v)",
        };
        let _ = writeln!(
            out,
            "        if let Some(v) = &self.{field} {{\n            given.push((\"{}\", {value}));\n        }}",
            option.name
        );
    }
    out.push_str("        given\n    }\n}\n");
    out
}

fn node_server_options() -> String {
    node_object(&NodeObject {
        source: "rtmp-core's SERVER_OPTIONS and rtmp-embed's LAYER_OPTIONS",
        uses: "use crate::options::ServerTlsOptions;\n",
        name: "ServerOptions",
        doc: "Server settings. Every field is optional; the defaults are the library's.",
        options: server_options().collect(),
        extras: "    /// An RTMPS listener on its own address. Default none.\n    pub tls: Option<ServerTlsOptions>,\n",
    })
}

fn node_client_options() -> String {
    node_object(&NodeObject {
        source: "rtmp-core's CLIENT_OPTIONS",
        uses: "use crate::options::{ClientTlsOptions, ReconnectOptions};\n",
        name: "ClientOptions",
        doc: "Player and publisher settings. Every field is optional; the defaults are the library's.",
        // The core's: Node clients run on the package's shared runtime (no threads).
        options: OptionInfo::of(&CLIENT_OPTIONS).collect(),
        extras: "    /// RTMPS certificate checking (for `rtmps://` URLs).\n    pub tls: Option<ClientTlsOptions>,\n    \
                 /// Reconnect after a drop. Default: off.\n    pub reconnect: Option<ReconnectOptions>,\n",
    })
}

/// The Rust field name napi turns into `camel` (napi camelCases snake_case fields).
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn readme_reference(options: impl Iterator<Item = OptionInfo>, header: &str) -> String {
    let mut out = format!("| {header} | Node | takes | default | what it does |\n|---|---|---|---|---|\n");
    for option in options {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} | {} |",
            option.name,
            node_name(option.name, &option.kind),
            option.kind.describe(),
            default_text(&option),
            option.doc
        );
    }
    out
}

/// Replaces the text between `begin` and `end` markers of `text`.
fn splice(text: &str, begin: &str, end: &str, body: &str) -> String {
    let start = text.find(begin).expect("begin marker") + begin.len();
    let stop = text.find(end).expect("end marker");
    format!("{}\n{}{}", &text[..start], body, &text[stop..])
}

/// `code` as `cargo fmt` leaves it (CI checks the format of every file).
fn rustfmt(code: &str) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--config-path"])
        .arg(root().join("rustfmt.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rustfmt (rustup component add rustfmt)");
    child.stdin.take().unwrap().write_all(code.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "rustfmt failed on the generated code:\n{code}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_node_options_are_generated_from_the_schema() {
    check(&root().join("bindings/node/src/server_options.rs"), &rustfmt(&node_server_options()));
    check(&root().join("bindings/node/src/client_options.rs"), &rustfmt(&node_client_options()));
}

#[test]
fn the_readme_option_reference_is_generated_from_the_schema() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let server = readme_reference(server_options(), "option (Python, C, TOML, flag)");
    let readme = splice(&readme, "<!-- server options: begin -->", "<!-- server options: end -->", &server);
    let client = readme_reference(client_options(), "option (Python, C)");
    let readme = splice(&readme, "<!-- client options: begin -->", "<!-- client options: end -->", &client);
    check(&path, &readme);
}

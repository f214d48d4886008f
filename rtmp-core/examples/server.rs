//! The rtmp-rs server: `cargo run --release --example server -- --bind 0.0.0.0:1935`.
//!
//! Publish with OBS to `rtmp://HOST/live` and a stream key, or with
//! `ffmpeg -re -i in.mp4 -c copy -f flv rtmp://HOST/live/cam`; play with
//! `ffplay rtmp://HOST/live/cam`. Logs follow `RUST_LOG` (default `info`).
//!
//! Every option of the server's schema (`SERVER_OPTIONS`) is a flag (`--chunk-size 8192`,
//! durations in seconds or with a unit: `--idle-timeout 20`, `--write-coalescing 100ms`) and a
//! key of the optional TOML file given with `--config FILE` (`chunk_size = 8192`); flags override
//! the file.
//!
//! `--auth USER:PASSWORD` (repeatable) makes publishing take a user name and password (Adobe's
//! challenge, `authmod=adobe`): OBS's "Use authentication", or
//! `ffmpeg … -f flv rtmp://USER:PASSWORD@HOST/live/cam`. Players need none.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};
use rtmp_core::client::server_config_from_pem;
use rtmp_core::options::{Kind, OptionError, TimeUnit, Value};
use rtmp_core::server::{
    Decision, PublishAuth, PublishParams, RtmpHandler, RtmpServer, SERVER_OPTIONS, ServerConfig,
    SessionContext, TlsListener,
};
use toml::Spanned;

/// Accepts every publisher and player; with `--auth`, publishers authenticate as one of `users`.
struct Handler {
    /// User name → password.
    users: HashMap<String, String>,
}

impl RtmpHandler for Handler {
    async fn on_credentials(&self, _ctx: &SessionContext, _app: &str, user: &str) -> Option<String> {
        self.users.get(user).cloned()
    }

    async fn on_publish(&self, ctx: &SessionContext, params: &PublishParams) -> Decision {
        if let Some(user) = &ctx.user {
            tracing::info!(user, key = %params.key, "publish by an authenticated user");
        }
        Decision::Accept
    }
}

/// The `--auth USER:PASSWORD` flags as a user table.
fn users_from(args: &ArgMatches) -> Result<HashMap<String, String>, String> {
    let mut users = HashMap::new();
    for pair in args.get_many::<String>("auth").into_iter().flatten() {
        match pair.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                users.insert(user.to_owned(), password.to_owned());
            }
            _ => return Err(format!("--auth must be USER:PASSWORD, not {pair:?}")),
        }
    }
    Ok(users)
}

/// An option's flag: `chunk_size` → `chunk-size`.
fn flag(name: &str) -> String {
    name.replace('_', "-")
}

fn command() -> Command {
    let defaults = ServerConfig::default();
    let mut command = Command::new("server")
        .version(env!("CARGO_PKG_VERSION"))
        .about("An RTMP server that accepts every publisher and player (with --auth, publishers log in).")
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("TOML file of options, keys named as the flags with '_' (flags override it)"),
        );
    for spec in SERVER_OPTIONS.options {
        let default = (spec.get)(&defaults).to_text(&spec.kind);
        let mut arg = Arg::new(spec.name).long(flag(spec.name)).value_name("VALUE").help(format!(
            "{} [{}; default {default}]",
            spec.doc,
            spec.kind.describe()
        ));
        // A list flag may be repeated (`--forward A --forward B`) as well as comma-separated.
        if spec.kind == Kind::List {
            arg = arg.action(ArgAction::Append);
        }
        command = command.arg(arg);
    }
    command
        .arg(
            Arg::new("takeover")
                .long("takeover")
                .action(ArgAction::SetTrue)
                .help("Let a new publisher take over a live stream key (--publisher-policy take_over)"),
        )
        .arg(
            Arg::new("tls_bind")
                .long("tls-bind")
                .value_name("ADDR")
                .requires_all(["tls_cert", "tls_key"])
                .help("Also listen for RTMPS on this address (needs --tls-cert and --tls-key)"),
        )
        .arg(Arg::new("tls_cert").long("tls-cert").value_name("PEM").help("PEM certificate chain for RTMPS"))
        .arg(Arg::new("tls_key").long("tls-key").value_name("PEM").help("PEM private key for RTMPS"))
        .arg(Arg::new("auth").long("auth").value_name("USER:PASSWORD").action(ArgAction::Append).help(
            "Require this user name and password to publish (Adobe's authmod=adobe, as OBS and \
             ffmpeg's rtmp://USER:PASSWORD@HOST/APP/KEY send it); repeat for more users \
             (--publish-auth adobe)",
        ))
}

/// A TOML value as the schema takes it.
fn toml_value(name: &str, value: toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(text) => {
            SERVER_OPTIONS.find(name).map_or(Value::Text(text.clone()), |s| s.kind.parse_text(&text))
        }
        toml::Value::Integer(n) => Value::Int(n),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Array(items) => Value::List(
            items
                .into_iter()
                .map(|item| match item {
                    toml::Value::String(s) => Ok(s),
                    other => Err(format!("{name}: a list of names, not {other}")),
                })
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("{name} cannot be {}", other.type_str())),
    })
}

/// Applies the options of a TOML file; an error names the key and its line.
fn apply_file(config: &mut ServerConfig, path: &PathBuf) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let table: BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for (key, value) in table {
        let at = format!("{}:{}", path.display(), line(key.span().start));
        let name = key.into_inner();
        let value = toml_value(&name, value.into_inner()).map_err(|e| format!("{at}: {e}"))?;
        config.set_option(&name, &value, TimeUnit::Seconds).map_err(|e: OptionError| format!("{at}: {e}"))?;
    }
    Ok(())
}

/// The config: defaults, then the file, then the flags.
fn config_from(args: &ArgMatches) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::default();
    if let Some(path) = args.get_one::<PathBuf>("config") {
        apply_file(&mut config, path)?;
    }
    for spec in SERVER_OPTIONS.options {
        let Some(texts) = args.get_many::<String>(spec.name) else { continue };
        let texts: Vec<&String> = texts.collect();
        let value = if spec.kind == Kind::List {
            let items = texts.iter().flat_map(|t| t.split(',')).map(str::trim).filter(|t| !t.is_empty());
            Value::List(items.map(str::to_owned).collect())
        } else {
            spec.kind.parse_text(texts[texts.len() - 1])
        };
        config
            .set_option(spec.name, &value, TimeUnit::Seconds)
            .map_err(|e| e.message_for(&format!("--{}", flag(spec.name))))?;
    }
    if args.get_flag("takeover") {
        config
            .set_option("publisher_policy", &Value::from("take_over"), TimeUnit::Seconds)
            .map_err(|e| e.to_string())?;
    }
    if let (Some(bind), Some(cert), Some(key)) = (
        args.get_one::<String>("tls_bind"),
        args.get_one::<String>("tls_cert"),
        args.get_one::<String>("tls_key"),
    ) {
        let bind = bind.parse().map_err(|_| format!("--tls-bind must be IP:PORT, not {bind:?}"))?;
        let tls = server_config_from_pem(cert, key).map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
        config.tls = Some(TlsListener { bind, config: tls });
    }
    // What the schema's kinds cannot check alone (a forward rule that makes no URL).
    config.validate().map_err(|e| e.message_for(&format!("--{}", flag(&e.name))))?;
    Ok(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = command().get_matches();
    let (config, users) = match config_from(&args).and_then(|config| Ok((config, users_from(&args)?))) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    let mut config = config;
    if !users.is_empty() {
        config.publish_auth = PublishAuth::Adobe;
    }
    let server = RtmpServer::new(config, Handler { users })?;
    println!("listening on rtmp://{}", server.local_addr()?);
    if let Some(addr) = server.tls_local_addr() {
        println!("listening on rtmps://{}", addr?);
    }
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

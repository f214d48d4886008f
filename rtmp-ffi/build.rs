//! Generates `include/rtmp_rs.h` with cbindgen. The header is committed; `scripts/test-c.sh`
//! rebuilds and fails when `git diff` shows it stale.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    // A hand-edited header is regenerated too (the write is skipped when nothing differs).
    println!("cargo:rerun-if-changed=../include/rtmp_rs.h");
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("..").join("include").join("rtmp_rs.h");
    let mut config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("rtmp-ffi/cbindgen.toml");
    let version = |part: &str| env::var(format!("CARGO_PKG_VERSION_{part}")).expect("package version");
    config.after_includes = Some(format!(
        "\n/** The version of this header; compare with rtmp_version() at run time. */\n\
         #define RTMP_RS_VERSION_MAJOR {}\n#define RTMP_RS_VERSION_MINOR {}\n#define RTMP_RS_VERSION_PATCH {}\n\
         #define RTMP_RS_VERSION \"{}\"\n",
        version("MAJOR"),
        version("MINOR"),
        version("PATCH"),
        env::var("CARGO_PKG_VERSION").expect("package version"),
    ));
    // The shared library's SONAME carries the major version: a program linked against
    // librtmp_rs.so.0 never loads an incompatible 1.x. (The exported symbols are already only the
    // `#[no_mangle]` C API: rustc links a cdylib with a version script of its own; scripts/test-c.sh
    // checks the list against rtmp-ffi/abi/symbols.txt.)
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,librtmp_rs.so.{}", version("MAJOR"));
    }
    match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        // Writes only when the text changed, so an up-to-date header keeps its mtime.
        Ok(bindings) => {
            bindings.write_to_file(&header);
        }
        Err(error) => panic!("cbindgen could not generate {}: {error}", header.display()),
    }
}

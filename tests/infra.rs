//! Checks of the container image's build that `terraform test` (infra/tests) cannot make: the
//! Dockerfile's build stage against the crate's own sources.
//!
//! The Terraform module's wiring, IAM, retries, storage, alarms and variable validation, and the
//! agreement between the image and the job definitions (work volume, user, entry point, CA
//! bundle), are asserted by `terraform test` with the AWS provider in scripts/check-infra.sh.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use regex::Regex;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Files under `dir` (recursively) with the extension `ext`.
fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_with_extension(&path, ext));
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out
}

/// The stage of the Dockerfile named `name` (from its `FROM` line to the next).
fn stage<'a>(dockerfile: &'a str, name: &str) -> &'a str {
    dockerfile
        .split("\nFROM ")
        .find(|stage| {
            stage
                .lines()
                .next()
                .is_some_and(|l| l.ends_with(&format!(" AS {name}")))
        })
        .unwrap_or_else(|| panic!("the Dockerfile has no stage {name}"))
}

/// Whether `path` is `pattern` or lies under it (a .dockerignore or COPY path, folders with or
/// without their trailing slash).
fn covered(patterns: &[&str], path: &str) -> bool {
    patterns.iter().any(|p| {
        let p = p.trim_end_matches('/');
        path == p || path.starts_with(&format!("{p}/"))
    })
}

/// The Dockerfile's build stage compiles the crate from a context limited by .dockerignore: every
/// file the sources `include_str!` must be both in the context and copied into the stage.
#[test]
fn image_build_stage_has_every_file_the_crate_includes() {
    let root = repo();
    let include = Regex::new(r#"include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)"#).unwrap();
    let mut included = BTreeSet::new();
    for file in files_with_extension(&root.join("src"), "rs") {
        let text = fs::read_to_string(&file).unwrap();
        for caps in include.captures_iter(&text) {
            let path = file.parent().unwrap().join(&caps[1]);
            let path = path
                .canonicalize()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            included.insert(
                path.strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    included.extend([
        "Cargo.toml".to_owned(),
        "Cargo.lock".to_owned(),
        "src/main.rs".to_owned(),
    ]);

    let dockerfile = fs::read_to_string(root.join("Dockerfile")).unwrap();
    let copied: Vec<&str> = stage(&dockerfile, "build")
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    let context: Vec<String> = fs::read_to_string(root.join(".dockerignore"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix('!'))
        .map(str::to_owned)
        .collect();
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    for path in &included {
        assert!(
            covered(&copied, path),
            "the build stage does not COPY {path}"
        );
        assert!(
            covered(&context, path),
            ".dockerignore leaves {path} out of the context"
        );
    }
}

/// The build stage (on its toolchain stage) has what compiling libnetcdf and HDF5 from source
/// runs: make (cmake's generator), a C++ compiler (netCDF-C's CMake project declares C++) and
/// perl (HDF5's CMake looks for it). The slim Rust image has gcc but neither make nor g++, which
/// is why `docker build` of the default target failed.
#[test]
fn image_build_stage_installs_what_the_static_libraries_need() {
    let dockerfile = fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let toolchain = stage(&dockerfile, "toolchain");
    let build = stage(&dockerfile, "build");
    assert!(
        build.starts_with("toolchain AS build"),
        "the build stage is not built on the toolchain stage"
    );
    let installs = Regex::new(r"apt-get install[^&]*").unwrap();
    let packages: BTreeSet<&str> = installs
        .find_iter(toolchain)
        .flat_map(|m| m.as_str().split_whitespace())
        .collect();
    for needed in ["g++", "make", "perl", "pkg-config"] {
        assert!(
            packages.contains(needed),
            "the build stage does not install {needed}: {packages:?}"
        );
    }
    assert!(
        build.contains("--features static-netcdf"),
        "the build stage no longer builds the static binary the runtime image needs"
    );
}

/// The default target of `docker build` is the last stage: it must be `runtime`, the one that
/// compiles in the build stage, and both runtime stages share runtime-base.
#[test]
fn the_default_target_is_runtime() {
    let dockerfile = fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let last = dockerfile
        .lines()
        .rfind(|l| l.starts_with("FROM "))
        .expect("a FROM line");
    assert_eq!(last, "FROM runtime-base AS runtime");
    assert!(
        dockerfile.contains("FROM runtime-base AS runtime-prebuilt"),
        "runtime and runtime-prebuilt share runtime-base"
    );
}

/// Base images are pinned by digest: a rebuild of one commit starts from the same bytes.
#[test]
fn base_images_are_pinned_by_digest() {
    let dockerfile = fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let pinned = Regex::new(r"(?m)^ARG (RUST_IMAGE|RUNTIME_IMAGE)=([^\s]+)$").unwrap();
    let images: Vec<(String, String)> = pinned
        .captures_iter(&dockerfile)
        .map(|c| (c[1].to_owned(), c[2].to_owned()))
        .collect();
    assert_eq!(images.len(), 2, "RUST_IMAGE and RUNTIME_IMAGE: {images:?}");
    let digest = Regex::new(r"^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$").unwrap();
    for (arg, image) in &images {
        assert!(
            digest.is_match(image),
            "{arg}={image} is not pinned by digest"
        );
    }
    for line in dockerfile.lines().filter(|l| l.starts_with("FROM ")) {
        let from = line.split_whitespace().nth(1).unwrap();
        assert!(
            from.starts_with("${") || ["toolchain", "build", "runtime-base"].contains(&from),
            "{line}: a base image outside the pinned build arguments"
        );
    }
}

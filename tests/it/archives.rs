//! Hostile archives built byte by byte: headers that lie about sizes, members that stay under the
//! per-member floor but add up to a bomb, ZIP64 end records with forged counts hiding repeated
//! names, bombs larger than the work disk. Each is refused as a rejection naming the member —
//! by the unpacker itself and end to end through the binary (exit 1, upload in the error store,
//! nothing published).

use std::io::Write;

use ocean_ingest::pipeline::UnpackLimits;
use ocean_ingest::resolve::unpack::{UnpackError, WorkRoom};
use ocean_ingest::resolve::{gzip, zip};

use crate::common::*;

const PIPELINES: &str = r#"
[[pipeline]]
name = "archives"
keys = '^ARCH/'

[[pipeline.files]]
include = '.*'
check = "no_action"
dest = "ARCH/{{ name }}"

[[pipeline]]
name = "lenient"
keys = '^LENIENT/'
max_compression_ratio = 1000000

[[pipeline.files]]
include = '.*'
check = "no_action"
dest = "LENIENT/{{ name }}"
"#;

fn env() -> Env {
    let mut env = Env::new();
    env.pipelines(PIPELINES);
    env
}

/// Bytes that do not compress (a xorshift stream), so their ratio is about 1:1.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// Where the end-of-central-directory record of an archive without a comment starts.
fn end_record(zip: &[u8]) -> usize {
    let at = zip.len() - 22;
    assert_eq!(
        &zip[at..at + 4],
        b"PK\x05\x06",
        "an archive without a comment"
    );
    at
}

/// The offsets of the central directory's entries, in order.
fn directory_entries(zip: &[u8]) -> Vec<usize> {
    let end = end_record(zip);
    let (count, mut at) = (u16_at(zip, end + 10), u32_at(zip, end + 16));
    let mut out = Vec::new();
    for _ in 0..count {
        assert_eq!(&zip[at..at + 4], b"PK\x01\x02");
        out.push(at);
        at += 46 + u16_at(zip, at + 28) + u16_at(zip, at + 30) + u16_at(zip, at + 32);
    }
    out
}

/// Rewrites the compressed size that an entry's central and local headers declare.
fn forge_compressed_size(zip: &mut [u8], entry: usize, size: u32) {
    let central = directory_entries(zip)[entry];
    let local = u32_at(zip, central + 42);
    zip[central + 20..central + 24].copy_from_slice(&size.to_le_bytes());
    zip[local + 18..local + 22].copy_from_slice(&size.to_le_bytes());
}

/// Turns the end of an archive into the ZIP64 form — a ZIP64 end record and its locator, and an
/// end record whose fields say "see ZIP64" — with `count` as the ZIP64 record's entry count.
fn as_zip64_with_count(mut zip: Vec<u8>, count: u64) -> Vec<u8> {
    let end = end_record(&zip);
    let (size, offset) = (u32_at(&zip, end + 12) as u64, u32_at(&zip, end + 16) as u64);
    zip.truncate(end);
    let record_at = zip.len() as u64;
    zip.extend_from_slice(b"PK\x06\x06");
    zip.extend_from_slice(&44u64.to_le_bytes()); // the size of the rest of the record
    zip.extend_from_slice(&45u16.to_le_bytes()); // version made by
    zip.extend_from_slice(&45u16.to_le_bytes()); // version needed
    zip.extend_from_slice(&0u32.to_le_bytes()); // this disk
    zip.extend_from_slice(&0u32.to_le_bytes()); // the directory's disk
    zip.extend_from_slice(&count.to_le_bytes()); // entries on this disk
    zip.extend_from_slice(&count.to_le_bytes()); // entries in all
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&offset.to_le_bytes());
    zip.extend_from_slice(b"PK\x06\x07");
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&record_at.to_le_bytes());
    zip.extend_from_slice(&1u32.to_le_bytes());
    zip.extend_from_slice(b"PK\x05\x06");
    zip.extend_from_slice(&[0; 4]);
    zip.extend_from_slice(&[0xff; 4]); // entries: see ZIP64
    zip.extend_from_slice(&[0xff; 8]); // size and offset: see ZIP64
    zip.extend_from_slice(&[0; 2]);
    zip
}

/// Renames every occurrence of one entry name (both headers) to another of the same length.
fn rename(zip: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut i = 0;
    while i + from.len() <= zip.len() {
        if &zip[i..i + from.len()] == from {
            zip[i..i + from.len()].copy_from_slice(to);
        }
        i += 1;
    }
}

/// `n` entries of 1 MiB of zeros each (exactly the per-member ratio floor), the deflated member
/// written once and copied raw, so building a gigabyte-sized bomb takes no time.
fn members_at_the_floor(n: usize) -> Vec<u8> {
    let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    w.start_file("m0000.nc", opts).unwrap();
    w.write_all(&vec![0u8; 1 << 20]).unwrap();
    for i in 1..n {
        w.deep_copy_file("m0000.nc", &format!("m{i:04}.nc"))
            .unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Unpacks with the unpacker itself: the members, or the reason it refused.
fn unpack(bytes: &[u8], limits: UnpackLimits, room: Option<WorkRoom>) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.zip");
    std::fs::write(&path, bytes).unwrap();
    match zip::unpack(&path, &dir.path().join("out"), limits, room) {
        Ok((members, _)) => Ok(members.len()),
        Err(UnpackError::Refused(r)) => Err(r),
        Err(UnpackError::Local(e)) => panic!("a local failure, not a refusal: {e}"),
    }
}

#[test]
fn a_header_claiming_a_large_compressed_size_does_not_hide_a_1000_to_1_member() {
    let mut bytes = zip_of(&[
        ("bomb.nc", &vec![0u8; 4 << 20]),
        ("noise.bin", &noise(200_000, 7)),
    ]);
    // 4 MiB over 200 000 claimed bytes is 21:1, well under the cap; it really inflates ~1000:1.
    forge_compressed_size(&mut bytes, 0, 200_000);
    let err = unpack(&bytes, UnpackLimits::default(), None).unwrap_err();
    assert!(
        err.contains("entry \"bomb.nc\" expands more than 100:1"),
        "{err}"
    );
    let env = env();
    rejected(
        &env,
        "ARCH/forged.zip",
        &bytes,
        &["forged.zip: entry \"bomb.nc\" expands more than 100:1"],
    );
}

#[test]
fn a_thousand_members_at_866_to_1_overall_are_refused_though_each_is_under_the_floor() {
    let bytes = members_at_the_floor(1000);
    let overall = (1000u64 << 20) / bytes.len() as u64;
    assert!(overall > 800, "the archive inflates {overall}:1 overall");
    let err = unpack(&bytes, UnpackLimits::default(), None).unwrap_err();
    assert!(
        err.contains("the upload expands more than 100:1 overall") && err.contains("entry \"m0"),
        "{err}"
    );
    let env = env();
    rejected(
        &env,
        "ARCH/thousand.zip",
        &bytes,
        &["thousand.zip: the upload expands more than 100:1 overall"],
    );
}

#[test]
fn a_zip64_end_record_with_a_forged_count_cannot_hide_a_repeated_name() {
    let mut bytes = zip_of(&[("a.nc", b"first"), ("b.nc", b"second, hidden")]);
    rename(&mut bytes, b"b.nc", b"a.nc");
    let forged = as_zip64_with_count(bytes, 1);
    let err = unpack(&forged, UnpackLimits::default(), None).unwrap_err();
    assert!(
        err.contains("entry \"a.nc\" appears 2 times in the central directory"),
        "{err}"
    );
    let env = env();
    rejected(
        &env,
        "ARCH/zip64.zip",
        &forged,
        &["zip64.zip: entry \"a.nc\" appears 2 times"],
    );
}

#[test]
fn a_zip64_count_below_the_directory_cannot_hide_a_member() {
    let bytes = zip_of(&[("a.nc", b"first"), ("b.nc", b"second")]);
    let honest = as_zip64_with_count(bytes.clone(), 2);
    assert_eq!(
        unpack(&honest, UnpackLimits::default(), None),
        Ok(2),
        "a true ZIP64 end record is read"
    );
    let err = unpack(
        &as_zip64_with_count(bytes, 1),
        UnpackLimits::default(),
        None,
    )
    .unwrap_err();
    assert!(
        err.contains("central directory holds 2 entries") || err.contains("not a readable ZIP"),
        "{err}"
    );
    // The entry cap counts what the directory holds, not what the end record declares.
    let many = zip_of(&[("a", b"1"), ("b", b"2"), ("c", b"3")]);
    let few = UnpackLimits {
        max_entries: 2,
        ..UnpackLimits::default()
    };
    let err = unpack(&as_zip64_with_count(many, 1), few, None).unwrap_err();
    assert!(err.contains("max_archive_entries"), "{err}");
}

#[test]
fn a_bomb_larger_than_the_work_disk_is_a_rejection_not_a_transient_failure() {
    // Under every ratio cap of its pipeline, but more than the work disk can take.
    let bytes = zip_of(&[("small.nc", b"fits"), ("big.nc", &vec![0u8; 8 << 20])]);
    let room = WorkRoom {
        bytes: 4 << 20,
        why: "a 4 MiB disk".into(),
    };
    let lenient = UnpackLimits {
        max_ratio: 1_000_000,
        ..UnpackLimits::default()
    };
    let err = unpack(&bytes, lenient, Some(room)).unwrap_err();
    assert!(
        err.contains("more than the 4194304 bytes the work disk has for it (a 4 MiB disk) at entry \"big.nc\""),
        "{err}"
    );
    let mut env = env();
    env.set("INGEST_WORK_MAX_BYTES", "4MiB");
    rejected(
        &env,
        "LENIENT/disk.zip",
        &bytes,
        &[
            "disk.zip: unpacks to more than the",
            "INGEST_WORK_MAX_BYTES is 4194304",
            "at entry \"big.nc\"",
        ],
    );
    // The same bomb gzipped.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&vec![0u8; 8 << 20]).unwrap();
    let gz = gz.finish().unwrap();
    rejected(
        &env,
        "LENIENT/big.nc.gz",
        &gz,
        &["big.nc.gz: unpacks to more than the", "at big.nc"],
    );
    // A manifest naming more than the disk holds.
    put(&env, "LENIENT/named/big.bin", &noise(5 << 20, 3));
    rejected(
        &env,
        "LENIENT/named/files.manifest",
        b"big.bin\n",
        &[
            "names files that add up to more than the",
            "LENIENT/named/big.bin",
        ],
    );
}

/// An upload that by its own size cannot fit the work disk is refused for good (exit 1) without
/// being fetched: its identity read through a hash, its error-store copy made store to store, it
/// leaves incoming and nothing is published. (Fetched, it filled the disk, and the job ended 75 to
/// be retried by Batch, over and over; or, under `INGEST_WORK_MAX_BYTES`, it published.)
#[test]
fn an_upload_larger_than_the_work_disk_is_refused_without_being_fetched() {
    let mut env = env();
    env.set("INGEST_WORK_MAX_BYTES", "1MiB");
    let bytes = noise(2 << 20, 11);
    let report = rejected(
        &env,
        "ARCH/huge.bin",
        &bytes,
        &[
            "huge.bin is 2097152 bytes, more than the 1048576 bytes the work disk has for a job (INGEST_WORK_MAX_BYTES is 1048576)",
            "split it into smaller uploads",
        ],
    );
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    assert_eq!(report["input"]["sha256"], sha.as_str(), "{report:#}");
    assert!(
        !env.home().join("incoming/ARCH/huge.bin").exists(),
        "the rejection is final: the upload left incoming"
    );
    // Half the limit fits and publishes.
    let fits = noise(512 << 10, 12);
    let run = upload(&env, "ARCH/fits.bin", &fits);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn gzip_ratios_divide_by_the_bytes_read_not_by_the_trailer() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![0u8; 8 << 20]).unwrap();
    let mut bytes = gz.finish().unwrap();
    // The trailer's ISIZE claims 1 byte; the decoder reports the mismatch only at the end.
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&1u32.to_le_bytes());
    let src = dir.path().join("x.nc.gz");
    std::fs::write(&src, &bytes).unwrap();
    match gzip::gunzip(
        &src,
        &dir.path().join("x.nc"),
        UnpackLimits::default(),
        None,
    ) {
        Err(UnpackError::Refused(r)) => assert!(r.contains("expands more than 100:1"), "{r}"),
        other => panic!("{other:?}"),
    }
}

//! The S3 store against a real S3 API server (moto): the conformance suite on versioned and
//! unversioned buckets and under a prefix, then what only S3 has — versions, stashes, multipart
//! uploads, metadata, corrupt objects and listings longer than one page.

use futures::StreamExt;
use ocean_ingest::aws::RetryPolicy;
use ocean_ingest::store::Transfer;
use ocean_ingest::store::s3::S3Store;
use ocean_ingest::store::{ErrorKind, Key, ObjectStore, PutOptions, Restore};
use sha2::{Digest, Sha256};

use crate::conformance::store::check_store;
use crate::servers::{aws_at, moto};

fn key(s: &str) -> Key {
    Key::new(s).unwrap()
}

#[tokio::test]
async fn s3_store_conforms_on_a_versioned_bucket() {
    let Some(moto) = moto().await else { return };
    let bucket = moto.bucket("conform-v", true).await;
    check_store(&S3Store::new(&moto.aws, &bucket, "", Transfer::default())).await;
}

#[tokio::test]
async fn s3_store_conforms_on_an_unversioned_bucket() {
    let Some(moto) = moto().await else { return };
    let bucket = moto.bucket("conform-u", false).await;
    let store = S3Store::new(&moto.aws, &bucket, "", Transfer::default());
    check_store(&store).await;
    // Every rollback copy was restored or settled: nothing is left in the reserved folder.
    let stashes: Vec<String> = moto
        .keys(&bucket)
        .await
        .into_iter()
        .filter(|k| k.starts_with(".ingest/"))
        .collect();
    assert_eq!(stashes, Vec::<String>::new());
}

#[tokio::test]
async fn s3_store_conforms_under_a_prefix() {
    let Some(moto) = moto().await else { return };
    let bucket = moto.bucket("conform-p", false).await;
    // A neighbour outside the prefix must stay invisible and untouched.
    moto.put(&bucket, "elsewhere/a/c.nc", b"other".to_vec())
        .await;
    check_store(&S3Store::new(
        &moto.aws,
        &bucket,
        "reports/",
        Transfer::default(),
    ))
    .await;
    assert_eq!(
        moto.get(&bucket, "elsewhere/a/c.nc").await.unwrap(),
        b"other"
    );
    assert!(
        moto.keys(&bucket)
            .await
            .iter()
            .all(|k| k.starts_with("reports/") || k == "elsewhere/a/c.nc")
    );
}

#[tokio::test]
async fn versioned_writes_are_undone_by_deleting_the_version_they_made() {
    let Some(moto) = moto().await else { return };
    let bucket = moto.bucket("versions", true).await;
    let store = S3Store::new(&moto.aws, &bucket, "", Transfer::default());
    let opts = PutOptions::default();
    let first = store
        .put_bytes(&key("a.nc"), b"one".to_vec(), &opts)
        .await
        .unwrap();
    let v1 = first
        .version
        .clone()
        .expect("a versioned put returns its version id");
    let second_prior = store.prepare(&key("a.nc"), "job.1").await.unwrap();
    assert_eq!(
        second_prior,
        Restore::Version {
            version: v1.clone()
        },
        "no stash copy in a versioned bucket"
    );
    let second = store
        .put_bytes(&key("a.nc"), b"two".to_vec(), &opts)
        .await
        .unwrap();
    let v2 = second.version.clone().unwrap();
    assert_ne!(v1, v2);
    let deleted = store.prepare(&key("a.nc"), "job.2").await.unwrap();
    assert_eq!(
        deleted,
        Restore::Version {
            version: v2.clone()
        }
    );
    store.delete(&key("a.nc")).await.unwrap();

    store.undo(&key("a.nc"), &deleted).await.unwrap();
    assert_eq!(moto.get(&bucket, "a.nc").await.unwrap(), b"two");
    store.undo(&key("a.nc"), &second_prior).await.unwrap();
    assert_eq!(moto.get(&bucket, "a.nc").await.unwrap(), b"one");
    let versions = moto
        .aws
        .s3
        .list_object_versions()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = versions
        .versions
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.version_id)
        .collect();
    assert_eq!(
        ids,
        vec![v1],
        "exactly the versions this job wrote are gone"
    );
    assert!(versions.delete_markers.unwrap_or_default().is_empty());
    assert!(
        !moto
            .keys(&bucket)
            .await
            .iter()
            .any(|k| k.starts_with(".ingest"))
    );
}

#[tokio::test]
async fn unversioned_overwrites_keep_a_stash_until_settled() {
    let Some(moto) = moto().await else { return };
    let bucket = moto.bucket("stash", false).await;
    let store = S3Store::new(&moto.aws, &bucket, "pub", Transfer::default());
    let opts = PutOptions::default();
    store
        .put_bytes(&key("a.nc"), b"one".to_vec(), &opts)
        .await
        .unwrap();
    let w = store.prepare(&key("a.nc"), "job.7").await.unwrap();
    store
        .put_bytes(&key("a.nc"), b"two".to_vec(), &opts)
        .await
        .unwrap();
    let Restore::Stash { stash } = &w else {
        panic!("expected a stash, got {w:?}")
    };
    let stash_key = format!("pub/.ingest/stash/{stash}");
    assert_eq!(moto.get(&bucket, &stash_key).await.unwrap(), b"one");
    assert_eq!(store.stashes().await.unwrap(), vec![stash.clone()]);
    assert_eq!(
        store.list("").await.unwrap().len(),
        1,
        "listings never show the stash"
    );
    store.settle(&w).await.unwrap();
    assert_eq!(moto.get(&bucket, &stash_key).await, None);
    assert_eq!(moto.get(&bucket, "pub/a.nc").await.unwrap(), b"two");
    // A final removal keeps no copy at all.
    store.delete(&key("a.nc")).await.unwrap();
    assert_eq!(moto.keys(&bucket).await, Vec::<String>::new());
}

#[tokio::test]
async fn large_files_go_up_in_parts_with_their_metadata() {
    let Some(moto) = moto().await else { return };
    const MIB: u64 = 1024 * 1024;
    let transfer = Transfer {
        multipart_threshold: 5 * MIB,
        part_size: 5 * MIB,
        concurrency: 2,
    };
    let aws = aws_at(&moto.endpoint, RetryPolicy::default()).await;
    let bucket = moto.bucket("multipart", false).await;
    let store = S3Store::new(&aws, &bucket, "", transfer);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.nc");
    let content: Vec<u8> = (0..(11 * MIB + 12_345)).map(|i| (i % 253) as u8).collect();
    std::fs::write(&src, &content).unwrap();
    let sha = hex::encode(Sha256::digest(&content));
    let opts = PutOptions {
        content_type: Some("application/x-netcdf".into()),
        sha256: Some(sha.clone()),
    };
    store
        .put_file(&key("IMOS/big.nc"), &src, &opts)
        .await
        .unwrap();
    let head = moto
        .aws
        .s3
        .head_object()
        .bucket(&bucket)
        .key("IMOS/big.nc")
        .send()
        .await
        .unwrap();
    assert!(
        head.e_tag.as_deref().unwrap_or_default().contains("-3"),
        "three parts: {:?}",
        head.e_tag
    );
    assert_eq!(head.content_type.as_deref(), Some("application/x-netcdf"));
    assert_eq!(head.metadata.unwrap().get("sha256"), Some(&sha));
    let out = dir.path().join("back.nc");
    let info = store.get_to_file(&key("IMOS/big.nc"), &out).await.unwrap();
    assert_eq!(info.sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(std::fs::read(&out).unwrap(), content);

    // Overwriting it stashes a copy in parts, and undo copies it back whole.
    std::fs::write(&src, b"small").unwrap();
    let w = store.prepare(&key("IMOS/big.nc"), "job.0").await.unwrap();
    store
        .put_file(&key("IMOS/big.nc"), &src, &PutOptions::default())
        .await
        .unwrap();
    store.undo(&key("IMOS/big.nc"), &w).await.unwrap();
    store.get_to_file(&key("IMOS/big.nc"), &out).await.unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), content);
    let head = moto
        .aws
        .s3
        .head_object()
        .bucket(&bucket)
        .key("IMOS/big.nc")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.content_type.as_deref(),
        Some("application/x-netcdf"),
        "metadata survives the copies"
    );
    assert_eq!(head.metadata.unwrap().get("sha256"), Some(&sha));
    // No part is left behind.
    let uploads = moto
        .aws
        .s3
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn small_writes_record_their_sha256_without_being_told() {
    let Some(moto) = moto().await else { return };
    let bucket = moto.bucket("sha", false).await;
    let store = S3Store::new(&moto.aws, &bucket, "", Transfer::default());
    store
        .put_bytes(&key("r.json"), b"{}".to_vec(), &PutOptions::default())
        .await
        .unwrap();
    let info = store.head(&key("r.json")).await.unwrap().unwrap();
    assert_eq!(info.sha256.unwrap(), hex::encode(Sha256::digest(b"{}")));
}

#[tokio::test]
async fn an_object_that_does_not_match_its_recorded_sha256_is_refused_as_corrupt() {
    let Some(moto) = moto().await else { return };
    let bucket = moto.bucket("corrupt", false).await;
    moto.aws
        .s3
        .put_object()
        .bucket(&bucket)
        .key("bad.nc")
        .metadata("sha256", "0".repeat(64))
        .body(b"payload".to_vec().into())
        .send()
        .await
        .unwrap();
    let store = S3Store::new(&moto.aws, &bucket, "", Transfer::default());
    let dir = tempfile::tempdir().unwrap();
    let err = store
        .get_to_file(&key("bad.nc"), &dir.path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    assert!(
        err.to_string().contains(&format!("s3://{bucket}/bad.nc")),
        "{err}"
    );
}

#[tokio::test]
async fn listings_follow_every_page() {
    let Some(moto) = moto().await else { return };
    let bucket = moto.bucket("pages", false).await;
    // More than one page of ListObjectsV2 (1000 keys), where the reference stopped.
    let keys: Vec<String> = (0..1105).map(|i| format!("ANMN/{i:05}.nc")).collect();
    futures::stream::iter(keys.clone())
        .map(|k| {
            let moto = &moto;
            let bucket = &bucket;
            async move { moto.put(bucket, &k, b"x".to_vec()).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let store = S3Store::new(&moto.aws, &bucket, "", Transfer::default());
    let listed: Vec<String> = store
        .list("ANMN/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key.to_string())
        .collect();
    assert_eq!(listed, keys);
}

#[tokio::test]
async fn a_missing_bucket_is_a_permanent_error_that_names_it() {
    let Some(moto) = moto().await else { return };
    let store = S3Store::new(&moto.aws, "no-such-bucket-here", "", Transfer::default());
    let err = store.list("").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
    let err = store
        .put_bytes(&key("a"), b"x".to_vec(), &PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
}

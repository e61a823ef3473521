//! The ObjectStore conformance suite: the guarantees documented on the trait, checked against
//! each backend. `check_store` takes an empty store.

use ocean_ingest::store::{Key, ObjectStore, PutOptions, StoreErrorKind, local::LocalStore};

fn key(s: &str) -> Key {
    Key::new(s).unwrap()
}

/// Runs every guarantee against an empty store.
pub async fn check_store(store: &dyn ObjectStore) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &content).unwrap();
    let opts = PutOptions {
        content_type: Some("application/x-netcdf".into()),
        sha256: None,
    };

    // Missing objects.
    assert_eq!(store.head(&key("a/missing.nc")).await.unwrap(), None);
    let err = store
        .get_to_file(&key("a/missing.nc"), &dir.path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::NotFound, "{err}");
    assert!(
        err.to_string().contains("a/missing.nc"),
        "errors name the object: {err}"
    );

    // Put, head, get round-trip, streamed from and to files.
    let w1 = store
        .put_file(&key("a/b/file one.nc"), &src, &opts)
        .await
        .unwrap();
    let info = store
        .head(&key("a/b/file one.nc"))
        .await
        .unwrap()
        .expect("present after put");
    assert_eq!(info.size, content.len() as u64);
    let out = dir.path().join("out.bin");
    let got = store
        .get_to_file(&key("a/b/file one.nc"), &out)
        .await
        .unwrap();
    assert_eq!(got.size, content.len() as u64);
    assert_eq!(std::fs::read(&out).unwrap(), content);
    // The SHA-256 of what was written comes with the download: nobody reads the file again.
    assert_eq!(
        got.sha256.as_deref(),
        Some(ocean_ingest::digest::sha256_file(&src).unwrap().1.as_str())
    );
    store.settle(&w1).await.unwrap();

    // Listing: sorted, complete, by prefix, without bookkeeping.
    store
        .put_bytes(&key("a/b/two.nc"), b"2".to_vec(), &opts)
        .await
        .unwrap();
    store
        .put_bytes(&key("a/c.nc"), b"3".to_vec(), &opts)
        .await
        .unwrap();
    store
        .put_bytes(&key("ab.nc"), b"4".to_vec(), &opts)
        .await
        .unwrap();
    let keys = |v: Vec<ocean_ingest::store::ObjectInfo>| {
        v.into_iter().map(|o| o.key.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        keys(store.list("a/").await.unwrap()),
        ["a/b/file one.nc", "a/b/two.nc", "a/c.nc"]
    );
    assert_eq!(
        keys(store.list("a").await.unwrap()),
        ["a/b/file one.nc", "a/b/two.nc", "a/c.nc", "ab.nc"]
    );
    assert_eq!(keys(store.list("a/b/t").await.unwrap()), ["a/b/two.nc"]);
    assert_eq!(keys(store.list("").await.unwrap()).len(), 4);
    assert!(store.list("nothing/").await.unwrap().is_empty());

    // Undo of an overwrite restores the previous content exactly.
    let w = store
        .put_bytes(&key("a/c.nc"), b"new".to_vec(), &opts)
        .await
        .unwrap();
    store.get_to_file(&key("a/c.nc"), &out).await.unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"new");
    store.undo(&w).await.unwrap();
    store.get_to_file(&key("a/c.nc"), &out).await.unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"3");

    // Undo of a new object removes it.
    let w = store
        .put_bytes(&key("fresh/x.nc"), b"x".to_vec(), &opts)
        .await
        .unwrap();
    store.undo(&w).await.unwrap();
    assert_eq!(store.head(&key("fresh/x.nc")).await.unwrap(), None);
    assert!(store.list("fresh/").await.unwrap().is_empty());

    // Delete is idempotent; undo of a delete brings the object back.
    let w = store.delete(&key("a/b/two.nc")).await.unwrap();
    assert_eq!(store.head(&key("a/b/two.nc")).await.unwrap(), None);
    store
        .delete(&key("a/b/two.nc"))
        .await
        .expect("deleting a missing object succeeds");
    store.undo(&w).await.unwrap();
    store.get_to_file(&key("a/b/two.nc"), &out).await.unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"2");

    // Settled writes stay; a settled delete stays deleted.
    let w = store.delete(&key("ab.nc")).await.unwrap();
    store.settle(&w).await.unwrap();
    assert_eq!(store.head(&key("ab.nc")).await.unwrap(), None);

    // Reversing several writes in reverse order returns to the start, byte for byte.
    let before: Vec<_> = snapshot(store, dir.path()).await;
    let mut receipts = Vec::new();
    receipts.push(
        store
            .put_bytes(&key("a/c.nc"), b"v2".to_vec(), &opts)
            .await
            .unwrap(),
    );
    receipts.push(store.delete(&key("a/b/two.nc")).await.unwrap());
    receipts.push(
        store
            .put_bytes(&key("z/new.nc"), b"n".to_vec(), &opts)
            .await
            .unwrap(),
    );
    for w in receipts.iter().rev() {
        store.undo(w).await.unwrap();
    }
    assert_eq!(snapshot(store, dir.path()).await, before);
}

/// Every key with its content.
pub async fn snapshot(store: &dyn ObjectStore, tmp: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for o in store.list("").await.unwrap() {
        let p = tmp.join("snapshot.bin");
        store.get_to_file(&o.key, &p).await.unwrap();
        out.push((o.key.to_string(), std::fs::read(&p).unwrap()));
    }
    out
}

#[tokio::test]
async fn local_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(&dir.path().join("store")).unwrap();
    check_store(&store).await;
}

#[tokio::test]
async fn local_store_keeps_its_bookkeeping_out_of_sight() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let opts = PutOptions::default();
    let w = store
        .put_bytes(&key("x.nc"), b"1".to_vec(), &opts)
        .await
        .unwrap();
    let w2 = store
        .put_bytes(&key("x.nc"), b"2".to_vec(), &opts)
        .await
        .unwrap();
    store.settle(&w).await.unwrap();
    store.settle(&w2).await.unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path().join(".ingest/stash"))
            .unwrap()
            .count(),
        0,
        "settle drops the stash"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join(".ingest/tmp"))
            .unwrap()
            .count(),
        0,
        "no temporary file is left"
    );
    assert!(
        Key::new(".ingest/stash/x").is_err(),
        "the bookkeeping folder cannot be addressed"
    );
}

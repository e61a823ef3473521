//! The ObjectStore conformance suite: each guarantee documented on the trait, a named function
//! checked against each backend. Every guarantee works under its own key prefix, so the list runs
//! on one store, empty at the start.

use ocean_ingest::store::{ErrorKind, Key, ObjectStore, PutOptions, Restore, local::LocalStore};

use super::{Guarantee, check_all, guarantees};

/// Every guarantee of [`ObjectStore`], by name.
pub const GUARANTEES: &[(&str, Guarantee<dyn ObjectStore>)] = guarantees![
    missing_objects_are_not_found,
    a_key_below_a_stored_file_names_nothing,
    files_round_trip_streamed_with_their_sha256,
    listings_are_sorted_complete_and_by_prefix,
    undoing_an_overwrite_restores_the_previous_content,
    undoing_a_new_object_removes_it,
    deletes_are_idempotent_and_undone,
    settled_writes_stay,
    removed_objects_are_gone_for_good,
    undoing_writes_in_reverse_returns_to_the_start,
    objects_say_when_they_were_written,
    undo_holds_whether_or_not_the_change_was_made_and_twice,
    stashes_are_named_until_settled,
];

/// Runs every guarantee against an empty store.
pub async fn check_store(store: &(dyn ObjectStore + 'static)) {
    check_all(store, GUARANTEES).await;
}

fn key(s: &str) -> Key {
    Key::new(s).unwrap()
}

fn opts() -> PutOptions {
    PutOptions {
        content_type: Some("application/x-netcdf".into()),
        sha256: None,
    }
}

/// The content of one object, read back through the store.
async fn read(store: &dyn ObjectStore, k: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    store.get_to_file(&key(k), &out).await.unwrap();
    std::fs::read(&out).unwrap()
}

async fn put(store: &dyn ObjectStore, k: &str, bytes: &[u8]) -> ocean_ingest::store::Written {
    store
        .put_bytes(&key(k), bytes.to_vec(), &opts())
        .await
        .unwrap()
}

/// A change made reversible: prepared (with a stash name of its own), then put.
async fn put_prepared(store: &dyn ObjectStore, k: &str, bytes: &[u8]) -> Restore {
    let r = prepare(store, k).await;
    put(store, k, bytes).await;
    r
}

async fn prepare(store: &dyn ObjectStore, k: &str) -> Restore {
    let stash = ocean_ingest::layout::stash_name(
        "conformance",
        STASHES.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
    );
    store.prepare(&key(k), &stash).await.unwrap()
}

static STASHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn keys(v: Vec<ocean_ingest::store::ObjectInfo>) -> Vec<String> {
    v.into_iter().map(|o| o.key.to_string()).collect()
}

/// `head` answers `None` and `get_to_file` a not-found error naming the object.
pub async fn missing_objects_are_not_found(store: &dyn ObjectStore) {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(store.head(&key("missing/a/x.nc")).await.unwrap(), None);
    let err = store
        .get_to_file(&key("missing/a/x.nc"), &dir.path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert!(
        err.to_string().contains("missing/a/x.nc"),
        "errors name the object: {err}"
    );
}

/// Below a stored file (`a.nc/b`) there is no object and nothing to list, on every backend (a
/// file tree cannot hold a folder there): looking is never an error.
pub async fn a_key_below_a_stored_file_names_nothing(store: &dyn ObjectStore) {
    put(store, "below/a.nc", b"a file").await;
    assert_eq!(store.head(&key("below/a.nc/b.nc")).await.unwrap(), None);
    assert_eq!(store.head(&key("below/a.nc/c/d.nc")).await.unwrap(), None);
    assert!(store.list("below/a.nc/").await.unwrap().is_empty());
    assert_eq!(keys(store.list("below/").await.unwrap()), ["below/a.nc"]);
}

/// A file put from disk comes back byte for byte, with its size, and the download gives the
/// SHA-256 of what it wrote, so nobody reads the file again to hash it.
pub async fn files_round_trip_streamed_with_their_sha256(store: &dyn ObjectStore) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &content).unwrap();
    let k = key("roundtrip/b/file one.nc");
    store.put_file(&k, &src, &opts()).await.unwrap();
    let info = store.head(&k).await.unwrap().expect("present after put");
    assert_eq!(info.size, content.len() as u64);
    let out = dir.path().join("out.bin");
    let got = store.get_to_file(&k, &out).await.unwrap();
    assert_eq!(got.size, content.len() as u64);
    assert_eq!(std::fs::read(&out).unwrap(), content);
    assert_eq!(
        got.sha256.as_deref(),
        Some(ocean_ingest::digest::sha256_file(&src).unwrap().1.as_str())
    );
    assert_eq!(
        store.sha256(&k).await.unwrap(),
        got.sha256,
        "the store tells the SHA-256 of what it holds"
    );
}

/// A listing holds every key under the prefix, sorted, with no bookkeeping.
pub async fn listings_are_sorted_complete_and_by_prefix(store: &dyn ObjectStore) {
    for k in [
        "list/a/b/one.nc",
        "list/a/b/two.nc",
        "list/a/c.nc",
        "list/ab.nc",
    ] {
        put(store, k, b"x").await;
    }
    assert_eq!(
        keys(store.list("list/a/").await.unwrap()),
        ["list/a/b/one.nc", "list/a/b/two.nc", "list/a/c.nc"]
    );
    assert_eq!(
        keys(store.list("list/a").await.unwrap()),
        [
            "list/a/b/one.nc",
            "list/a/b/two.nc",
            "list/a/c.nc",
            "list/ab.nc"
        ]
    );
    assert_eq!(
        keys(store.list("list/a/b/t").await.unwrap()),
        ["list/a/b/two.nc"]
    );
    assert!(store.list("list/nothing/").await.unwrap().is_empty());
    let all = keys(store.list("").await.unwrap());
    for k in ["list/a/b/one.nc", "list/ab.nc"] {
        assert!(all.contains(&k.to_string()), "{k} in the whole listing");
    }
    assert!(
        all.iter().all(|k| !k.starts_with(".ingest")),
        "bookkeeping never listed: {all:?}"
    );
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
}

/// Undoing an overwrite puts the previous content back exactly.
pub async fn undoing_an_overwrite_restores_the_previous_content(store: &dyn ObjectStore) {
    put(store, "overwrite/c.nc", b"3").await;
    let r = put_prepared(store, "overwrite/c.nc", b"new").await;
    assert_eq!(read(store, "overwrite/c.nc").await, b"new");
    store.undo(&key("overwrite/c.nc"), &r).await.unwrap();
    assert_eq!(read(store, "overwrite/c.nc").await, b"3");
}

/// Undoing the write of a new object removes it.
pub async fn undoing_a_new_object_removes_it(store: &dyn ObjectStore) {
    let r = put_prepared(store, "fresh/x.nc", b"x").await;
    assert_eq!(r, Restore::Absent);
    store.undo(&key("fresh/x.nc"), &r).await.unwrap();
    assert_eq!(store.head(&key("fresh/x.nc")).await.unwrap(), None);
    assert!(store.list("fresh/").await.unwrap().is_empty());
}

/// Deleting a missing object succeeds; undoing a delete brings the object back.
pub async fn deletes_are_idempotent_and_undone(store: &dyn ObjectStore) {
    put(store, "delete/two.nc", b"2").await;
    let r = prepare(store, "delete/two.nc").await;
    store.delete(&key("delete/two.nc")).await.unwrap();
    assert_eq!(store.head(&key("delete/two.nc")).await.unwrap(), None);
    store
        .delete(&key("delete/two.nc"))
        .await
        .expect("deleting a missing object succeeds");
    store.undo(&key("delete/two.nc"), &r).await.unwrap();
    assert_eq!(read(store, "delete/two.nc").await, b"2");
}

/// A settled write stays; a settled delete stays deleted.
pub async fn settled_writes_stay(store: &dyn ObjectStore) {
    put(store, "settle/kept.nc", b"old").await;
    let r = put_prepared(store, "settle/kept.nc", b"k").await;
    store.settle(&r).await.unwrap();
    assert_eq!(read(store, "settle/kept.nc").await, b"k");
    put(store, "settle/gone.nc", b"g").await;
    let r = prepare(store, "settle/gone.nc").await;
    store.delete(&key("settle/gone.nc")).await.unwrap();
    store.settle(&r).await.unwrap();
    assert_eq!(store.head(&key("settle/gone.nc")).await.unwrap(), None);
}

/// An unprepared `delete` is for good, and deleting a missing object succeeds.
pub async fn removed_objects_are_gone_for_good(store: &dyn ObjectStore) {
    put(store, "remove/x.nc", b"x").await;
    store.delete(&key("remove/x.nc")).await.unwrap();
    assert_eq!(store.head(&key("remove/x.nc")).await.unwrap(), None);
    assert!(store.list("remove/").await.unwrap().is_empty());
    store
        .delete(&key("remove/x.nc"))
        .await
        .expect("removing a missing object succeeds");
}

/// Undo is what recovery after a crash relies on: right whether the prepared change was made or
/// not, made twice, or undone already.
pub async fn undo_holds_whether_or_not_the_change_was_made_and_twice(store: &dyn ObjectStore) {
    put(store, "idem/a.nc", b"old").await;
    let never_made = prepare(store, "idem/a.nc").await;
    store.undo(&key("idem/a.nc"), &never_made).await.unwrap();
    assert_eq!(read(store, "idem/a.nc").await, b"old");
    let r = prepare(store, "idem/a.nc").await;
    put(store, "idem/a.nc", b"new").await;
    put(store, "idem/a.nc", b"newer").await;
    store.undo(&key("idem/a.nc"), &r).await.unwrap();
    store.undo(&key("idem/a.nc"), &r).await.unwrap();
    assert_eq!(read(store, "idem/a.nc").await, b"old");
    let fresh = prepare(store, "idem/b.nc").await;
    store.undo(&key("idem/b.nc"), &fresh).await.unwrap();
    assert_eq!(store.head(&key("idem/b.nc")).await.unwrap(), None);
    put(store, "idem/b.nc", b"1").await;
    put(store, "idem/b.nc", b"2").await;
    store.undo(&key("idem/b.nc"), &fresh).await.unwrap();
    assert_eq!(store.head(&key("idem/b.nc")).await.unwrap(), None);
}

/// A stash is listed by the name it was given until it is settled or put back.
pub async fn stashes_are_named_until_settled(store: &dyn ObjectStore) {
    put(store, "stash/a.nc", b"a").await;
    let stash = ocean_ingest::layout::stash_name("stash-owner", 1);
    let r = store.prepare(&key("stash/a.nc"), &stash).await.unwrap();
    if let Restore::Stash { stash: name } = &r {
        assert_eq!(name, &stash);
        assert!(store.stashes().await.unwrap().contains(&stash), "listed");
        store.settle(&r).await.unwrap();
        assert!(!store.stashes().await.unwrap().contains(&stash), "settled");
        assert_eq!(
            read(store, "stash/a.nc").await,
            b"a",
            "settling changes nothing visible"
        );
    }
    assert!(
        store
            .list("")
            .await
            .unwrap()
            .iter()
            .all(|o| !o.key.as_str().contains(&stash)),
        "a stash is never listed as an object"
    );
}

/// Reversing several writes in reverse order returns to the start, byte for byte.
pub async fn undoing_writes_in_reverse_returns_to_the_start(store: &dyn ObjectStore) {
    let tmp = tempfile::tempdir().unwrap();
    put(store, "reverse/a/c.nc", b"3").await;
    put(store, "reverse/a/b/two.nc", b"2").await;
    let before = snapshot_of(store, "reverse/", tmp.path()).await;
    let deleted = prepare(store, "reverse/a/b/two.nc").await;
    store.delete(&key("reverse/a/b/two.nc")).await.unwrap();
    let receipts = [
        (
            "reverse/a/c.nc",
            put_prepared(store, "reverse/a/c.nc", b"v2").await,
        ),
        ("reverse/a/b/two.nc", deleted),
        (
            "reverse/z/new.nc",
            put_prepared(store, "reverse/z/new.nc", b"n").await,
        ),
    ];
    for (k, r) in receipts.iter().rev() {
        store.undo(&key(k), r).await.unwrap();
    }
    assert_eq!(snapshot_of(store, "reverse/", tmp.path()).await, before);
}

/// Every key under a prefix with its content.
async fn snapshot_of(
    store: &dyn ObjectStore,
    prefix: &str,
    tmp: &std::path::Path,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for o in store.list(prefix).await.unwrap() {
        let p = tmp.join("snapshot.bin");
        store.get_to_file(&o.key, &p).await.unwrap();
        out.push((o.key.to_string(), std::fs::read(&p).unwrap()));
    }
    out
}

/// Every key with its content.
pub async fn snapshot(store: &dyn ObjectStore, tmp: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    snapshot_of(store, "", tmp).await
}

#[tokio::test]
async fn local_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(&dir.path().join("store")).unwrap();
    check_store(&store).await;
}

/// A new local store makes its stash folder when a change first needs one, and lists no
/// stashes before it.
#[tokio::test]
async fn a_local_store_makes_its_stash_folder_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(&dir.path().join("public")).unwrap();
    let stash_dir = store.bookkeeping().join("stash");
    assert!(store.bookkeeping().join("tmp").is_dir());
    assert!(!stash_dir.exists(), "made before any change needs it");
    assert!(store.stashes().await.unwrap().is_empty());
    put(&store, "a.nc", b"1").await;
    assert!(!stash_dir.exists(), "a new object needs no stash");
    let r = store.prepare(&key("a.nc"), "job.0").await.unwrap();
    assert!(matches!(&r, Restore::Stash { stash } if stash == "job.0"));
    assert_eq!(store.stashes().await.unwrap(), ["job.0"]);
    put(&store, "a.nc", b"2").await;
    store.undo(&key("a.nc"), &r).await.unwrap();
    assert_eq!(read(&store, "a.nc").await, b"1");
}

#[tokio::test]
async fn local_store_keeps_its_bookkeeping_out_of_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("public");
    let store = LocalStore::open(&root).unwrap();
    let opts = PutOptions::default();
    store
        .put_bytes(&key("x.nc"), b"1".to_vec(), &opts)
        .await
        .unwrap();
    let r = store.prepare(&key("x.nc"), "job.0").await.unwrap();
    store
        .put_bytes(&key("x.nc"), b"2".to_vec(), &opts)
        .await
        .unwrap();
    // Mid-change, the store's folder holds the objects and nothing else: a copy or sync of it
    // publishes no stash and no temporary file.
    let mut names: Vec<_> = walk(&root);
    names.sort();
    assert_eq!(names, ["x.nc"]);
    assert!(
        !store.bookkeeping().starts_with(&root),
        "{}",
        store.bookkeeping().display()
    );
    store.settle(&r).await.unwrap();
    assert_eq!(
        std::fs::read_dir(store.bookkeeping().join("stash"))
            .unwrap()
            .count(),
        0,
        "settle drops the stash"
    );
    assert_eq!(temporaries(&store), 0, "no temporary file is left");
    assert!(
        Key::new(".ingest/stash/x").is_err(),
        "the bookkeeping folder cannot be addressed"
    );
}

/// The temporary files in a local store's bookkeeping (copies written ahead among them).
fn temporaries(store: &LocalStore) -> usize {
    std::fs::read_dir(store.bookkeeping().join("tmp"))
        .unwrap()
        .count()
}

/// A copy written ahead is placed by the put (the object is that file, not a second copy) only
/// while the file it copies is unchanged; a changed file, another store's copy or a hash that
/// is not the file's makes the put copy the file as it is, and the unused copy goes.
#[tokio::test]
async fn local_store_places_a_copy_written_ahead_only_of_the_unchanged_file() {
    use std::os::unix::fs::MetadataExt;
    use std::sync::atomic::AtomicBool;

    use ocean_ingest::store::staged::stage;

    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(&dir.path().join("public")).unwrap();
    let other = LocalStore::open(&dir.path().join("archive")).unwrap();
    let src = dir.path().join("f.nc");
    std::fs::write(&src, b"checked content").unwrap();
    let (_, sha256) = ocean_ingest::digest::sha256_file(&src).unwrap();
    let opts = PutOptions {
        content_type: None,
        sha256: Some(sha256.clone()),
    };
    let ahead = |store: &LocalStore| {
        let into = [(store.location(), store.staging_folder().unwrap())];
        stage(&src, &into, &AtomicBool::new(false))
            .unwrap()
            .pop()
            .unwrap()
    };
    let tmp = store.bookkeeping().join("tmp");
    let inode_ahead = || {
        std::fs::read_dir(&tmp)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .metadata()
            .unwrap()
            .ino()
    };

    // Unchanged: placed, not copied.
    let staged = ahead(&store);
    let ino = inode_ahead();
    store
        .put_staged(&key("a.nc"), &src, &opts, staged)
        .await
        .unwrap();
    let placed = store.path_of(&key("a.nc"));
    assert_eq!(std::fs::metadata(&placed).unwrap().ino(), ino);
    assert_eq!(std::fs::read(&placed).unwrap(), b"checked content");

    // Another store's copy, or a hash that is not the file's: copied as without one.
    let staged = ahead(&other);
    store
        .put_staged(&key("b.nc"), &src, &opts, staged)
        .await
        .unwrap();
    assert_eq!(read(&store, "b.nc").await, b"checked content");
    let staged = ahead(&store);
    let wrong = PutOptions {
        content_type: None,
        sha256: Some("0".repeat(64)),
    };
    store
        .put_staged(&key("c.nc"), &src, &wrong, staged)
        .await
        .unwrap();
    assert_eq!(read(&store, "c.nc").await, b"checked content");

    // Changed after the copy (a handler rewrote it): the file as it is now is stored.
    let staged = ahead(&store);
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&src, b"handler's content").unwrap();
    let (_, now) = ocean_ingest::digest::sha256_file(&src).unwrap();
    let changed = PutOptions {
        content_type: None,
        sha256: Some(now),
    };
    store
        .put_staged(&key("d.nc"), &src, &changed, staged)
        .await
        .unwrap();
    assert_eq!(read(&store, "d.nc").await, b"handler's content");

    // Taken by the sweep of a long job's temporary files: copied as without it.
    let mut staged = vec![ahead(&store)];
    std::fs::write(&src, b"checked content").unwrap();
    let (_, again) = ocean_ingest::digest::sha256_file(&src).unwrap();
    drop(staged.pop());
    let staged = ahead(&store);
    store.sweep(std::time::Duration::ZERO).await.unwrap();
    let opts = PutOptions {
        content_type: None,
        sha256: Some(again),
    };
    store
        .put_staged(&key("e.nc"), &src, &opts, staged)
        .await
        .unwrap();
    assert_eq!(read(&store, "e.nc").await, b"checked content");

    for store in [&store, &other] {
        assert_eq!(
            temporaries(store),
            0,
            "a copy written ahead was left in {}",
            store.location()
        );
    }
}

/// Bytes written ahead into a local store's staging folder (`stage_bytes`) are placed by the put
/// of the same bytes: the stored file is the staged one, renamed. Other bytes, another store's
/// copy or a copy the sweep took make the put write the bytes as without one, and no copy stays.
#[tokio::test]
async fn local_store_places_bytes_written_ahead_only_for_the_same_bytes() {
    use std::os::unix::fs::MetadataExt;

    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(&dir.path().join("reports")).unwrap();
    let other = LocalStore::open(&dir.path().join("public")).unwrap();
    let tmp = store.bookkeeping().join("tmp");
    let png = b"a quick look".to_vec();

    // The same bytes: placed, not written again. A second link keeps the staged file's inode
    // taken, so a file written anew cannot be given its number.
    let staged = store.stage_bytes(&png);
    assert!(staged.is_some(), "a local store stages bytes");
    let copy = std::fs::read_dir(&tmp).unwrap().next().unwrap().unwrap();
    let probe = dir.path().join("probe");
    std::fs::hard_link(copy.path(), &probe).unwrap();
    let ino = std::fs::metadata(&probe).unwrap().ino();
    store
        .put_bytes_staged(&key("p/j/a.png"), png.clone(), &opts(), staged)
        .await
        .unwrap();
    let placed = store.path_of(&key("p/j/a.png"));
    assert_eq!(std::fs::metadata(&placed).unwrap().ino(), ino);
    assert_eq!(read(&store, "p/j/a.png").await, png);

    // Other bytes than the copy's, or another store's copy: the bytes given are stored.
    let staged = store.stage_bytes(b"an older look");
    store
        .put_bytes_staged(&key("p/j/b.png"), png.clone(), &opts(), staged)
        .await
        .unwrap();
    assert_eq!(read(&store, "p/j/b.png").await, png);
    let staged = other.stage_bytes(&png);
    store
        .put_bytes_staged(&key("p/j/c.png"), png.clone(), &opts(), staged)
        .await
        .unwrap();
    assert_eq!(read(&store, "p/j/c.png").await, png);

    // Taken by the sweep of a long job's temporary files: written as without it.
    let staged = store.stage_bytes(&png);
    store.sweep(std::time::Duration::ZERO).await.unwrap();
    store
        .put_bytes_staged(&key("p/j/d.png"), png.clone(), &opts(), staged)
        .await
        .unwrap();
    assert_eq!(read(&store, "p/j/d.png").await, png);

    for store in [&store, &other] {
        assert_eq!(
            temporaries(store),
            0,
            "bytes written ahead were left in {}",
            store.location()
        );
    }
}

/// Every file under a folder, relative.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            for inner in walk(&path) {
                out.push(format!("{}/{inner}", entry.file_name().to_string_lossy()));
            }
        } else {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

#[tokio::test]
async fn a_broken_guarantee_is_named() {
    // A store that forgets what it is given breaks most guarantees: the suite must say which.
    #[derive(Debug)]
    struct Forgetful(LocalStore);
    #[async_trait::async_trait]
    impl ObjectStore for Forgetful {
        fn location(&self) -> String {
            self.0.location()
        }
        async fn head(
            &self,
            k: &Key,
        ) -> Result<Option<ocean_ingest::store::ObjectInfo>, ocean_ingest::store::StoreError>
        {
            self.0.head(k).await
        }
        async fn get_to_file(
            &self,
            k: &Key,
            dest: &std::path::Path,
        ) -> Result<ocean_ingest::store::ObjectInfo, ocean_ingest::store::StoreError> {
            self.0.get_to_file(k, dest).await
        }
        async fn put_file(
            &self,
            k: &Key,
            src: &std::path::Path,
            o: &PutOptions,
        ) -> Result<ocean_ingest::store::Written, ocean_ingest::store::StoreError> {
            self.0.put_file(k, src, o).await
        }
        async fn put_bytes(
            &self,
            k: &Key,
            bytes: Vec<u8>,
            o: &PutOptions,
        ) -> Result<ocean_ingest::store::Written, ocean_ingest::store::StoreError> {
            self.0.put_bytes(k, bytes, o).await
        }
        async fn delete(&self, k: &Key) -> Result<(), ocean_ingest::store::StoreError> {
            self.0.delete(k).await
        }
        async fn list(
            &self,
            prefix: &str,
        ) -> Result<Vec<ocean_ingest::store::ObjectInfo>, ocean_ingest::store::StoreError> {
            self.0.list(prefix).await
        }
        async fn prepare(
            &self,
            k: &Key,
            stash: &str,
        ) -> Result<Restore, ocean_ingest::store::StoreError> {
            self.0.prepare(k, stash).await
        }
        // Undo does nothing: every rollback guarantee is broken.
        async fn undo(&self, _: &Key, _: &Restore) -> Result<(), ocean_ingest::store::StoreError> {
            Ok(())
        }
        async fn settle(&self, r: &Restore) -> Result<(), ocean_ingest::store::StoreError> {
            self.0.settle(r).await
        }
        async fn stashes(&self) -> Result<Vec<String>, ocean_ingest::store::StoreError> {
            self.0.stashes().await
        }
        fn origin_of(&self, k: &Key) -> ocean_ingest::store::Origin {
            self.0.origin_of(k)
        }
        async fn put_copy(
            &self,
            k: &Key,
            from: &ocean_ingest::store::Origin,
            size: u64,
            o: &PutOptions,
        ) -> Result<ocean_ingest::store::Written, ocean_ingest::store::StoreError> {
            self.0.put_copy(k, from, size, o).await
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Forgetful(LocalStore::open(dir.path()).unwrap());
    let failure =
        futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(check_store(&store)))
            .await
            .expect_err("a store whose undo does nothing fails the suite");
    let message = failure.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("`undoing_an_overwrite_restores_the_previous_content`"),
        "{message}"
    );
    assert!(
        !message.contains("`missing_objects_are_not_found`"),
        "guarantees it keeps are not blamed: {message}"
    );
}

/// `head`, `get_to_file` and `list` all give the time the object was written: the upload time the
/// status page measures latency from. (S3 keeps it to the second, so the window starts at the
/// second before the write.)
pub async fn objects_say_when_they_were_written(store: &dyn ObjectStore) {
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    put(store, "written/a.nc", b"when").await;
    let after = chrono::Utc::now() + chrono::Duration::seconds(1);
    let within = |label: &str, t: Option<chrono::DateTime<chrono::Utc>>| {
        let t = t.unwrap_or_else(|| panic!("{label} gives no modification time"));
        assert!(
            before <= t && t <= after,
            "{label}: written at {t}, not between {before} and {after}"
        );
    };
    within(
        "head",
        store
            .head(&key("written/a.nc"))
            .await
            .unwrap()
            .unwrap()
            .modified,
    );
    let dir = tempfile::tempdir().unwrap();
    let got = store
        .get_to_file(&key("written/a.nc"), &dir.path().join("a"))
        .await
        .unwrap();
    within("get_to_file", got.modified);
    let listed = store.list("written/").await.unwrap();
    assert_eq!(listed.len(), 1);
    within("list", listed[0].modified);
}

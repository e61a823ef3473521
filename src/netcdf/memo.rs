//! One streaming read per variable per file: every reader of a variable's values (a compliance
//! rule, the metadata extraction, the quick look) registers a [`Fold`] that summarises them, and
//! the first request for a variable reads it once, feeding every fold from the same chunks; later
//! requests, from any step of the job, take the kept summaries.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, PoisonError};

use std::path::Path;

use super::{DEFAULT_CHUNK, NcError, NcFile, NcSummary, Variable};

/// What a fold leaves: its summary, or why there is none (e.g. the values could not be read).
pub type Summary = Result<Arc<dyn Any + Send + Sync>, String>;

/// A running summary of one variable's values, fed every chunk of its one read in file order.
pub trait Fold: Send {
    fn feed(&mut self, values: &[f64]);
    /// The summary, kept for whoever asks for it by the fold's key.
    fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// A running summary of two 1-D variables of one length read side by side (a quick look's
/// points), fed equal runs of both.
pub trait PairFold: Send {
    fn feed(&mut self, xs: &[f64], ys: &[f64]);
    fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// A reader's fold for a variable: `None` when it never needs that variable, `Some(Err)` when it
/// knows from the header alone that it cannot summarise it (kept as the summary).
pub type FoldFor = Box<dyn Fn(&Variable) -> Option<Result<Box<dyn Fold>, String>> + Send + Sync>;

/// A variable's folds, each under its reader's key.
type Folds = Vec<(&'static str, Box<dyn Fold>)>;

/// Two variables a reader wants side by side.
struct Pair {
    key: &'static str,
    x: Variable,
    y: Variable,
    fold: Box<dyn Fn() -> Box<dyn PairFold> + Send + Sync>,
}

impl Pair {
    /// Whether the two can be read side by side: 1-D, of one length.
    fn side_by_side(&self) -> bool {
        self.x.shape.len() == 1 && self.x.shape == self.y.shape
    }

    /// Where the pair's summary is kept (no variable name holds a NUL).
    fn id(&self) -> (String, &'static str) {
        (format!("{}\u{0}{}", self.x.name, self.y.name), self.key)
    }
}

/// An open file, its header, the folds of its readers and the summaries made so far.
pub struct ValueMemo {
    file: NcFile,
    header: NcSummary,
    folds: Vec<(&'static str, FoldFor)>,
    pair: Option<Pair>,
    /// (variable, key) → summary; a variable is in `read` once its read has been made.
    kept: Mutex<Kept>,
    /// Held by the caller that reads a variable, from the moment it looks whether the read is
    /// still to be made until the summaries are kept: callers on other threads (the suites of a
    /// check run side by side) wait for the read rather than find it begun and its summaries
    /// not yet there. Reads go through the libraries' lock one at a time anyway.
    reading: Mutex<()>,
    /// Variables of at least this many values have their folds fed on a thread beside the read
    /// (`usize::MAX`: never, as on one core).
    beside_from: usize,
    /// Values per read of a variable ([`DEFAULT_CHUNK`]; tests make pieces smaller).
    piece: usize,
    /// The feeding thread's stack size (`None`: the standard library's; tests ask for one no
    /// system gives, to see the job go on without the thread).
    feeder_stack: Option<usize>,
}

/// Variables of at least this many values (four reads' worth: 4 MiB of `f64`) have their folds
/// fed beside the read. Below it a thread costs more than the overlap gains.
const BESIDE_FROM: usize = 4 * DEFAULT_CHUNK;

#[derive(Default)]
struct Kept {
    summaries: HashMap<(String, &'static str), Summary>,
    read: HashSet<String>,
}

impl std::fmt::Debug for ValueMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueMemo")
            .field("file", &self.file)
            .field(
                "folds",
                &self.folds.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ValueMemo {
    /// Opens a file and reads its header, with no readers yet. Anything libnetcdf cannot open
    /// is [`NcError::Invalid`].
    pub fn open(path: &Path) -> Result<ValueMemo, NcError> {
        let file = NcFile::open(path)?;
        let header = file.summary()?;
        Ok(ValueMemo::new(file, header))
    }

    /// A memo over an open file and its header, with no readers yet.
    pub fn new(file: NcFile, header: NcSummary) -> ValueMemo {
        ValueMemo {
            file,
            header,
            folds: Vec::new(),
            pair: None,
            kept: Mutex::default(),
            reading: Mutex::default(),
            beside_from: if crate::task::several_cores() {
                BESIDE_FROM
            } else {
                usize::MAX
            },
            piece: DEFAULT_CHUNK,
            feeder_stack: None,
        }
    }

    /// The file, for reads no fold stands for (text, hyperslabs).
    pub fn file(&self) -> &NcFile {
        &self.file
    }

    /// The file's header.
    pub fn header(&self) -> &NcSummary {
        &self.header
    }

    /// Registers a reader's folds under `key`. Register every reader before the first request:
    /// a variable already read is not read again for a later one.
    pub fn fold(&mut self, key: &'static str, fold_for: FoldFor) {
        self.folds.push((key, fold_for));
    }

    /// Registers the one pair read side by side (`x` and `y` of one length); reading either reads
    /// both, feeding their own folds too.
    pub fn pair(
        &mut self,
        key: &'static str,
        x: &Variable,
        y: &Variable,
        fold: Box<dyn Fn() -> Box<dyn PairFold> + Send + Sync>,
    ) {
        self.pair = Some(Pair {
            key,
            x: x.clone(),
            y: y.clone(),
            fold,
        });
    }

    /// The summary of the fold registered as `key` for `var`, reading the variable (once) if
    /// need be; `None` when that reader registered no fold for it.
    pub fn summary(&self, var: &Variable, key: &'static str) -> Option<Summary> {
        let id = (var.name.clone(), key);
        if let Some(s) = self.lock().summaries.get(&id) {
            return Some(s.clone());
        }
        let _reading = self.reading.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.lock().read.contains(&var.name) {
            self.read(var);
        }
        self.lock().summaries.get(&id).cloned()
    }

    /// The summary of the pair's fold, reading the pair (once) if need be; `None` without one.
    pub fn pair_summary(&self, key: &'static str) -> Option<Summary> {
        let pair = self
            .pair
            .as_ref()
            .filter(|p| p.key == key && p.side_by_side())?;
        let id = pair.id();
        if let Some(s) = self.lock().summaries.get(&id) {
            return Some(s.clone());
        }
        let _reading = self.reading.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.lock().summaries.contains_key(&id) && !self.lock().read.contains(&pair.x.name) {
            self.read_pair(pair);
        }
        self.lock().summaries.get(&id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This variable's folds; summaries already known (from the header) are kept at once.
    fn folds_for(&self, var: &Variable) -> Folds {
        let mut out = Vec::new();
        let mut kept = self.lock();
        for (key, fold_for) in &self.folds {
            match fold_for(var) {
                None => {}
                Some(Ok(fold)) => out.push((*key, fold)),
                Some(Err(e)) => {
                    kept.summaries.insert((var.name.clone(), key), Err(e));
                }
            }
        }
        kept.read.insert(var.name.clone());
        out
    }

    /// Reads a variable once (with its partner, when it is one of the pair) and keeps every
    /// fold's summary, or the read's error in place of each.
    fn read(&self, var: &Variable) {
        let side_by_side = self.pair.as_ref().filter(|p| {
            (p.x.name == var.name || p.y.name == var.name)
                && p.side_by_side()
                && !self.lock().read.contains(&p.x.name)
                && !self.lock().read.contains(&p.y.name)
        });
        match side_by_side {
            Some(pair) => self.read_pair(pair),
            None => self.read_alone(var),
        }
    }

    fn read_alone(&self, var: &Variable) {
        let mut folds = self.folds_for(var);
        let result = if folds.is_empty() {
            Ok(())
        } else {
            let feed = |folds: &mut Folds, xs: &[f64], _: &[f64]| {
                folds.iter_mut().for_each(|(_, f)| f.feed(xs));
            };
            self.fed(var.len(), &mut folds, feed, |piece| {
                let mut none = Vec::new();
                self.file.for_each_piece(&var.name, self.piece, |values| {
                    piece(values, &mut none);
                    ControlFlow::Continue(())
                })
            })
            .map_err(|e| e.to_string())
        };
        self.keep(&var.name, folds, &result);
    }

    /// Runs `read`, which hands each piece it reads (one or two variables' values, in buffers
    /// the function it is given may take, swapping in others whose contents the next read
    /// replaces) to that function, and feeds every piece to `state` with `feed`, in order. For a
    /// variable of `len` values from [`BESIDE_FROM`] on, the feeding runs on a thread of its
    /// own, one piece behind the read: the next piece is inflated (in libnetcdf, under its lock)
    /// while the last is summarised, on two cores. A long series' folds are a fifth of a job.
    fn fed<S: Send>(
        &self,
        len: usize,
        state: &mut S,
        feed: impl Fn(&mut S, &[f64], &[f64]) + Sync,
        read: impl FnOnce(&mut dyn FnMut(&mut Vec<f64>, &mut Vec<f64>)) -> Result<(), NcError>,
    ) -> Result<(), NcError> {
        let read = if len < self.beside_from {
            read
        } else {
            match self.fed_beside(state, &feed, read) {
                Ok(result) => return result,
                // No thread to be had (a process limit): fed inline, as on one core.
                Err(read) => read,
            }
        };
        read(&mut |xs, ys| feed(state, xs, ys))
    }

    /// [`ValueMemo::fed`] on a thread beside the read; `Err(read)`, not run, when no thread can
    /// be started.
    fn fed_beside<S: Send, R>(
        &self,
        state: &mut S,
        feed: &(impl Fn(&mut S, &[f64], &[f64]) + Sync),
        read: R,
    ) -> Result<Result<(), NcError>, R>
    where
        R: FnOnce(&mut dyn FnMut(&mut Vec<f64>, &mut Vec<f64>)) -> Result<(), NcError>,
    {
        // Handed over only when the feeder is ready for it (a channel of no capacity): one
        // piece being fed while the next is read, a spare between them; memory stays three
        // reads' worth (3 MiB) whatever the variable's length.
        let (to_feeder, pieces) = std::sync::mpsc::sync_channel::<(Vec<f64>, Vec<f64>)>(0);
        let (give_back, spare) = std::sync::mpsc::channel::<(Vec<f64>, Vec<f64>)>();
        std::thread::scope(|scope| {
            let mut builder = std::thread::Builder::new().name("ingest-folds".into());
            if let Some(bytes) = self.feeder_stack {
                builder = builder.stack_size(bytes);
            }
            let spawned = builder.spawn_scoped(scope, move || {
                for (xs, ys) in pieces {
                    feed(state, &xs, &ys);
                    // The reader may be gone (it stopped on an error): the buffers drop.
                    let _ = give_back.send((xs, ys));
                }
            });
            let Ok(feeder) = spawned else {
                return Err(read);
            };
            let result = read(&mut |xs, ys| {
                // The piece goes as it was read; the reader reads on into a spare.
                let (mut x, mut y) = spare.try_recv().unwrap_or_default();
                std::mem::swap(xs, &mut x);
                std::mem::swap(ys, &mut y);
                // Fails only when the feeder has panicked, which the join below rethrows.
                let _ = to_feeder.send((x, y));
            });
            drop(to_feeder);
            if let Err(panic) = feeder.join() {
                std::panic::resume_unwind(panic);
            }
            Ok(result)
        })
    }

    /// Reads the pair side by side. When that fails, each is read alone, so that one unreadable
    /// variable does not take its partner's summaries with it.
    fn read_pair(&self, pair: &Pair) {
        let mut folds = (
            self.folds_for(&pair.x),
            self.folds_for(&pair.y),
            (pair.fold)(),
        );
        let total = pair.x.shape[0];
        let feed =
            |(xf, yf, both): &mut (Folds, Folds, Box<dyn PairFold>), xs: &[f64], ys: &[f64]| {
                xf.iter_mut().for_each(|(_, f)| f.feed(xs));
                yf.iter_mut().for_each(|(_, f)| f.feed(ys));
                both.feed(xs, ys);
            };
        let read = |piece: &mut dyn FnMut(&mut Vec<f64>, &mut Vec<f64>)| -> Result<(), NcError> {
            let mut xc = self.file.row_cursor(&pair.x.name)?;
            let mut yc = self.file.row_cursor(&pair.y.name)?;
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            let mut start = 0;
            // Half a read's values from each, so the two buffers together hold what one read
            // of a variable alone does (READ_BYTES).
            let step = (self.piece / 2).max(1);
            while start < total {
                let n = step.min(total - start);
                xc.read_rows_into(&self.file, start, n, &mut xs)?;
                yc.read_rows_into(&self.file, start, n, &mut ys)?;
                piece(&mut xs, &mut ys);
                start += n;
            }
            Ok(())
        };
        let result = self.fed(2 * total, &mut folds, feed, read);
        let (xf, yf, both) = folds;
        let summary = match result {
            Ok(()) => {
                self.keep(&pair.x.name, xf, &Ok(()));
                self.keep(&pair.y.name, yf, &Ok(()));
                Ok(both.finish())
            }
            Err(e) => {
                self.read_alone(&pair.x);
                self.read_alone(&pair.y);
                Err(e.to_string())
            }
        };
        self.lock().summaries.insert(pair.id(), summary);
    }

    fn keep(&self, var: &str, folds: Folds, read: &Result<(), String>) {
        let mut kept = self.lock();
        for (key, fold) in folds {
            let summary = match read {
                Ok(()) => Ok(fold.finish()),
                Err(e) => Err(e.clone()),
            };
            kept.summaries.insert((var.to_string(), key), summary);
        }
    }
}

/// The summary as the type its fold made (`None` for another type: a reader's mistake).
pub fn downcast<T: Any + Send + Sync>(summary: Summary) -> Result<Option<Arc<T>>, String> {
    summary.map(|s| s.downcast::<T>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the values it sees and keeps their sum.
    struct Sum(usize, f64);
    impl Fold for Sum {
        fn feed(&mut self, values: &[f64]) {
            self.0 += values.len();
            self.1 += values.iter().sum::<f64>();
        }
        fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
            Arc::new((self.0, self.1))
        }
    }

    struct Count(usize);
    impl PairFold for Count {
        fn feed(&mut self, xs: &[f64], ys: &[f64]) {
            assert_eq!(xs.len(), ys.len());
            self.0 += xs.len();
        }
        fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
            Arc::new(self.0)
        }
    }

    fn fixture() -> NcFile {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/data/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc",
        );
        NcFile::open(&path).unwrap()
    }

    #[test]
    fn every_fold_of_a_variable_and_the_pair_come_from_one_read() {
        let file = fixture();
        let summary = file.summary().unwrap();
        let whole = file.read_f64("TEMP", &[0], &[1001]).unwrap();
        let (time, temp, lat) = (
            summary.variable("TIME").unwrap().clone(),
            summary.variable("TEMP").unwrap().clone(),
            summary.variable("LATITUDE").unwrap().clone(),
        );
        let reads = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut memo = ValueMemo::new(file, summary);
        for key in ["a", "b"] {
            let reads = reads.clone();
            memo.fold(
                key,
                Box::new(move |v| {
                    reads.lock().unwrap().push(v.name.clone());
                    (v.name != "LATITUDE").then(|| Ok(Box::new(Sum(0, 0.0)) as Box<dyn Fold>))
                }),
            );
        }
        memo.fold(
            "refused",
            Box::new(|v| (v.name == "TEMP").then(|| Err("no".to_string()))),
        );
        memo.pair("pair", &time, &temp, Box::new(|| Box::new(Count(0))));

        // Asking for TEMP reads TIME beside it: every fold of both is then known.
        let got = downcast::<(usize, f64)>(memo.summary(&temp, "a").unwrap()).unwrap();
        assert_eq!(*got.unwrap(), (1001, whole.iter().sum::<f64>()));
        let n = downcast::<usize>(memo.pair_summary("pair").unwrap()).unwrap();
        assert_eq!(*n.unwrap(), 1001);
        assert!(memo.summary(&time, "b").unwrap().is_ok());
        assert_eq!(memo.summary(&temp, "refused").unwrap().unwrap_err(), "no");
        assert_eq!(
            *reads.lock().unwrap(),
            ["TIME", "TIME", "TEMP", "TEMP"],
            "each variable's folds are made once, for its one read"
        );
        // A variable no fold wants has no summary, and is not read for it.
        assert!(memo.summary(&lat, "a").is_none());
        assert!(memo.pair_summary("other").is_none());
    }

    /// Feeds like [`Sum`], but its first piece waits until `go` opens, holding the read open.
    struct Held(Sum, Arc<std::sync::Barrier>, bool);
    impl Fold for Held {
        fn feed(&mut self, values: &[f64]) {
            if !self.2 {
                self.2 = true;
                // The read has begun: let the other caller ask now, and give it time to.
                self.1.wait();
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            self.0.feed(values);
        }
        fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
            Box::new(self.0).finish()
        }
    }

    #[test]
    fn a_caller_that_asks_while_another_reads_the_variable_waits_for_its_summary() {
        let file = fixture();
        let summary = file.summary().unwrap();
        let temp = summary.variable("TEMP").unwrap().clone();
        let begun = Arc::new(std::sync::Barrier::new(2));
        let mut memo = ValueMemo::new(file, summary);
        let held = begun.clone();
        memo.fold(
            "sum",
            Box::new(move |_| {
                Some(Ok(
                    Box::new(Held(Sum(0, 0.0), held.clone(), false)) as Box<dyn Fold>
                ))
            }),
        );
        let memo = &memo;
        let (first, second) = std::thread::scope(|scope| {
            let first = scope.spawn(|| memo.summary(&temp, "sum"));
            begun.wait();
            // The first caller's read is under way (its fold holds it open).
            let second = memo.summary(&temp, "sum");
            (first.join().unwrap(), second)
        });
        let first = downcast::<(usize, f64)>(first.expect("the reader's summary")).unwrap();
        let second =
            downcast::<(usize, f64)>(second.expect("the waiting caller's summary")).unwrap();
        assert_eq!(first.unwrap().0, 1001);
        assert_eq!(second.unwrap().0, 1001);
    }

    /// Every value a fold is fed, in order.
    struct Seen(Vec<f64>);
    impl Fold for Seen {
        fn feed(&mut self, values: &[f64]) {
            self.0.extend_from_slice(values);
        }
        fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
            Arc::new(self.0)
        }
    }
    struct SeenPairs(Vec<(f64, f64)>);
    impl PairFold for SeenPairs {
        fn feed(&mut self, xs: &[f64], ys: &[f64]) {
            self.0.extend(xs.iter().copied().zip(ys.iter().copied()));
        }
        fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
            Arc::new(self.0)
        }
    }

    /// TEMP's and DEPTH's values, and TIME's beside TEMP's, as folds see them when fed from
    /// `beside_from` values on, the feeding thread asking for a stack of `stack` bytes.
    fn seen(beside_from: usize, stack: Option<usize>) -> (Vec<f64>, Vec<f64>, Vec<(f64, f64)>) {
        let file = fixture();
        let summary = file.summary().unwrap();
        let var = |n: &str| summary.variable(n).unwrap().clone();
        let (time, temp, depth) = (var("TIME"), var("TEMP"), var("DEPTH"));
        let mut memo = ValueMemo::new(file, summary);
        memo.beside_from = beside_from;
        memo.feeder_stack = stack;
        // Eleven pieces of DEPTH, twenty-one of the pair, handed over in order.
        memo.piece = 100;
        memo.fold(
            "seen",
            Box::new(|_| Some(Ok(Box::new(Seen(vec![])) as Box<dyn Fold>))),
        );
        memo.pair(
            "pair",
            &time,
            &temp,
            Box::new(|| Box::new(SeenPairs(vec![]))),
        );
        let values = |v: &Variable| {
            let s = memo.summary(v, "seen").unwrap();
            (*downcast::<Vec<f64>>(s).unwrap().unwrap()).clone()
        };
        let (temp_values, depth_values) = (values(&temp), values(&depth));
        let pairs = downcast::<Vec<(f64, f64)>>(memo.pair_summary("pair").unwrap());
        (
            temp_values,
            depth_values,
            (*pairs.unwrap().unwrap()).clone(),
        )
    }

    #[test]
    fn folds_fed_beside_the_read_see_every_value_in_order() {
        let inline = seen(usize::MAX, None);
        assert_eq!(inline.0.len(), 1001);
        assert_eq!(inline.1.len(), 1001);
        assert_eq!(inline.2.len(), 1001);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let pair_bits = |v: &[(f64, f64)]| {
            v.iter()
                .map(|(a, b)| (a.to_bits(), b.to_bits()))
                .collect::<Vec<_>>()
        };
        // Beside the read; and inline again when no thread can be had (a stack of 2^62 bytes
        // is refused).
        for stack in [None, Some(1usize << 62)] {
            let beside = seen(1, stack);
            assert_eq!(bits(&beside.0), bits(&inline.0), "{stack:?}");
            assert_eq!(bits(&beside.1), bits(&inline.1), "{stack:?}");
            assert_eq!(pair_bits(&beside.2), pair_bits(&inline.2), "{stack:?}");
        }
    }

    #[test]
    fn a_fold_that_panics_beside_the_read_panics_its_caller() {
        struct Boom;
        impl Fold for Boom {
            fn feed(&mut self, _: &[f64]) {
                panic!("boom");
            }
            fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
                Arc::new(())
            }
        }
        let file = fixture();
        let summary = file.summary().unwrap();
        let temp = summary.variable("TEMP").unwrap().clone();
        let mut memo = ValueMemo::new(file, summary);
        memo.beside_from = 1;
        memo.fold(
            "boom",
            Box::new(|_| Some(Ok(Box::new(Boom) as Box<dyn Fold>))),
        );
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| memo.summary(&temp, "boom")));
        let panic = caught.expect_err("the fold's panic reaches the caller");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"boom"));
    }
}

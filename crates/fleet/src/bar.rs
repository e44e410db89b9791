//! The progress bar on stderr, drawn only on a terminal (indicatif draws nothing otherwise, and
//! nothing with --json): secrets looked at, and for an estate, accounts and Regions done.

use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use iam_key_fleet::scan::Progress;

pub(crate) struct Bar {
    pub(crate) bar: ProgressBar,
    what: &'static str,
    targets: AtomicUsize,
    targets_done: AtomicUsize,
}

impl Bar {
    pub(crate) fn new(what: &'static str, quiet: bool) -> Self {
        let bar = match quiet {
            true => ProgressBar::hidden(),
            false => ProgressBar::new(0),
        };
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} secrets ({elapsed})")
                .expect("a fixed, valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what);
        Bar {
            bar,
            what,
            targets: AtomicUsize::new(0),
            targets_done: AtomicUsize::new(0),
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: usize) {
        self.bar.inc_length(total as u64);
    }
    fn advance(&self) {
        self.bar.inc(1);
    }
    fn targets(&self, total: usize) {
        self.targets.store(total, Ordering::Relaxed);
    }
    fn target_done(&self) {
        let done = self.targets_done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.targets.load(Ordering::Relaxed);
        let what = self.what;
        self.bar
            .set_message(format!("{what}: {done}/{total} accounts and Regions done"));
    }
}

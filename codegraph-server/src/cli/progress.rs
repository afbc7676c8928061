//! Progress on standard error while a pipeline runs, when it is a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use codegraph_parse::PipelineStats;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs `work` while a background thread draws a bar from `stats`. Draws nothing when
/// standard error is not a terminal, so logs and pipes stay clean.
pub fn with_progress<T>(stats: &PipelineStats, quiet: bool, work: impl FnOnce() -> T) -> T {
    if quiet || !std::io::stderr().is_terminal() {
        return work();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut has_length = false;
            while !done.load(Ordering::Relaxed) {
                let expected = PipelineStats::get(&stats.expected);
                if expected > 0 && !has_length {
                    bar.set_length(expected);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files {msg}",
                        )
                        .expect("valid template"),
                    );
                    has_length = true;
                } else if !has_length {
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {pos} files {msg}",
                        )
                        .expect("valid template"),
                    );
                }
                bar.set_position(PipelineStats::get(&stats.processed));
                bar.set_message(format!("{} lines", PipelineStats::get(&stats.lines)));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        result
    })
}

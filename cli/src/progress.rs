//! Progress bars on stderr, only when stderr is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting bytes towards `total`, or a spinner counting bytes when
/// the total is unknown. Hidden unless stderr is a terminal.
pub fn bytes(message: &str, total: Option<u64>) -> ProgressBar {
    let template = match total {
        Some(_) => "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)",
        None => "{spinner} {msg} {binary_bytes} ({binary_bytes_per_sec})",
    };
    make(message, total, template)
}

/// A bar counting items towards `total`. Hidden unless stderr is a terminal.
pub fn items(message: &str, total: u64) -> ProgressBar {
    make(
        message,
        Some(total),
        "{msg} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta} left)",
    )
}

/// A spinner for work that cannot report progress. Hidden unless stderr is a
/// terminal.
pub fn spinner(message: &str) -> ProgressBar {
    let bar = make(message, None, "{spinner} {msg} ({elapsed})");
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn make(message: &str, total: Option<u64>, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::new_spinner(),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}

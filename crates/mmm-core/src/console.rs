//! Printing without panicking: `println!` panics when stdout is a closed pipe
//! (`mmm schema | head -1`), `eprintln!` when stderr is closed. [`outln!`](crate::outln) and
//! [`errln!`](crate::errln) write a line and, on a broken pipe, stop writing to that stream
//! for the rest of the process; the command goes on and ends as it would have (exit 0 when
//! it succeeds), as `cat` or `grep` do when their reader goes away.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

fn write_line(w: &mut dyn Write, closed: &AtomicBool, args: fmt::Arguments<'_>) {
    if closed.load(Ordering::Relaxed) {
        return;
    }
    let r = w.write_fmt(args).and_then(|_| w.write_all(b"\n"));
    if r.is_err() {
        // a broken pipe or any other failure: nobody reads this stream any more
        closed.store(true, Ordering::Relaxed);
    }
}

/// Writes `args` and a newline to stdout; see the module doc.
pub fn out_line(args: fmt::Arguments<'_>) {
    write_line(&mut std::io::stdout().lock(), &STDOUT_CLOSED, args);
}

/// Writes text as is (no newline added) to stdout; see the module doc.
pub fn out_str(s: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut o = std::io::stdout().lock();
    if o.write_all(s.as_bytes()).and_then(|_| o.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Writes `args` and a newline to stderr; see the module doc.
pub fn err_line(args: fmt::Arguments<'_>) {
    write_line(&mut std::io::stderr().lock(), &STDERR_CLOSED, args);
}

/// `println!` that never panics (see [`crate::console`]).
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::console::out_line(format_args!($($t)*)) };
}

/// `eprintln!` that never panics (see [`crate::console`]).
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => { $crate::console::err_line(format_args!($($t)*)) };
}

//! Reading input files safely: every file the CLI reads (a spec, a data file, a holiday
//! calendar, a truth file, a study's base spec) must be a **regular file** (a FIFO would block
//! forever, `/dev/zero` would never end, a directory cannot be read), is read with **bounded
//! sizes** ([`MAX_JSON_BYTES`], [`MAX_DATA_BYTES`], [`MAX_LINE_BYTES`]) and, when the process
//! has a data root ([`set_data_root`], `--data-root DIR`), must lie inside it after symlinks are
//! resolved. Messages about a file never quote its contents unless they look like CSV column
//! names ([`describe_header`]).

use crate::error::{MmmError, Result, SpecIssue};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Largest JSON file (spec, study, simulation spec, truth, results) read: 64 MiB.
pub const MAX_JSON_BYTES: u64 = 64 << 20;
/// Largest data file (CSV, holiday calendar) read: 1 GiB.
pub const MAX_DATA_BYTES: u64 = 1 << 30;
/// Longest line of a data file, the header included: 1 MiB.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// At most this many column names are quoted when a column is missing.
pub const MAX_LISTED_COLUMNS: usize = 50;
/// A quoted column name is cut after this many characters.
pub const MAX_NAME_CHARS: usize = 64;

static DATA_ROOT: RwLock<Option<PathBuf>> = RwLock::new(None);

/// Sets (or clears) the folder that every file named inside a spec must lie in
/// (`--data-root DIR`). The folder is canonicalized here; an error names it.
pub fn set_data_root(dir: Option<&Path>) -> Result<()> {
    let root = match dir {
        None => None,
        Some(d) => Some(
            std::fs::canonicalize(d)
                .map_err(|e| MmmError::Usage(format!("--data-root {}: {e}", d.display())))?,
        ),
    };
    match DATA_ROOT.write() {
        Ok(mut g) => *g = root,
        Err(p) => *p.into_inner() = root,
    }
    Ok(())
}

/// The data root of this process, if any.
pub fn data_root() -> Option<PathBuf> {
    match DATA_ROOT.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

/// What kind of file system object `m` describes, for messages.
fn kind_of(m: &std::fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Why `path` cannot be read as an input file, or `None` when it can be tried (a regular file,
/// or a missing one: the reader then says it is missing).
pub fn not_regular(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => None,
        Ok(m) => Some(format!(
            "'{}' is {}; expected a regular file",
            path.display(),
            kind_of(&m)
        )),
        Err(_) => None,
    }
}

/// Whether `path` lies inside the data root (always true without one). A path that cannot
/// be canonicalized (missing) is judged by its absolute lexical form.
fn inside_root(path: &Path, root: &Path) -> bool {
    match std::fs::canonicalize(path) {
        Ok(c) => c.starts_with(root),
        Err(_) => {
            let abs = if path.is_absolute() {
                path.to_path_buf()
            } else {
                match std::env::current_dir() {
                    Ok(d) => d.join(path),
                    Err(_) => return false,
                }
            };
            // a missing file: no symlink to follow, but `..` must not climb out
            !abs.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
                && abs.starts_with(root)
        }
    }
}

/// Checks a file named inside a spec (`pointer` in `spec_file`) before it is read: it must be
/// a regular file (or missing: the reader reports that), and inside the data root when there
/// is one. The error is a spec issue at `pointer`, exit code 2.
pub fn check_spec_file(path: &Path, spec_file: &str, pointer: &str) -> Result<()> {
    let issue = |message: String| MmmError::Spec {
        file: spec_file.to_string(),
        issues: vec![SpecIssue {
            pointer: pointer.to_string(),
            message,
        }],
    };
    if let Some(root) = data_root() {
        if !inside_root(path, &root) {
            return Err(issue(format!(
                "'{}' is outside the data root {} (--data-root); every file a spec names must be inside it",
                path.display(),
                root.display()
            )));
        }
    }
    match not_regular(path) {
        Some(m) => Err(issue(m)),
        None => Ok(()),
    }
}

/// Opens `path` for reading only when it is a regular file. On unix the file is opened
/// without blocking (a FIFO would otherwise wait for a writer) and its type is checked on the
/// open handle, so that a file swapped after a check is still refused.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let f = opts.open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}; expected a regular file", kind_of(&m)),
        ));
    }
    #[cfg(unix)]
    {
        // back to blocking reads (O_NONBLOCK means nothing for regular files, but be plain)
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a file descriptor this function owns; no memory is passed.
        unsafe {
            let fd = f.as_raw_fd();
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    Ok(f)
}

/// Reads a whole regular file of at most `limit` bytes (an error past it).
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let f = open_regular(path)?;
    let mut bytes = Vec::new();
    f.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "larger than {} MiB, the limit for this kind of file",
            limit >> 20
        ),
    )
}

/// Reads a JSON (UTF-8) file: a regular file of at most [`MAX_JSON_BYTES`].
pub fn read_json_text(path: &Path) -> io::Result<String> {
    read_text(path, MAX_JSON_BYTES)
}

/// Reads a UTF-8 text file: a regular file of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> io::Result<String> {
    let bytes = read_bounded(path, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// A reader that fails once more than `max_total` bytes were read or a line grows past
/// `max_line` bytes; it counts lines so that the error can name one ([`Self::long_line`]).
pub struct Bounded<R> {
    inner: R,
    max_total: u64,
    max_line: usize,
    total: u64,
    line: usize,
    line_len: usize,
    failed: std::rc::Rc<std::cell::Cell<Option<BoundFailure>>>,
}

/// Which bound a [`Bounded`] reader hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundFailure {
    /// The file is larger than the limit (bytes).
    File(u64),
    /// This 1-based line is longer than the limit (bytes).
    Line(usize, usize),
}

impl BoundFailure {
    /// The 1-based line, for a line bound.
    pub fn line(&self) -> Option<usize> {
        match self {
            BoundFailure::File(_) => None,
            BoundFailure::Line(l, _) => Some(*l),
        }
    }
    /// What was exceeded, for a message.
    pub fn message(&self) -> String {
        match self {
            BoundFailure::File(limit) => format!(
                "the file is larger than {} MiB, the limit for a data file",
                limit >> 20
            ),
            BoundFailure::Line(l, limit) => format!(
                "line {l} is longer than {} KiB, the limit for one line of a data file (is it a CSV file?)",
                limit >> 10
            ),
        }
    }
}

impl<R: Read> Bounded<R> {
    /// Wraps `inner` with the data-file bounds.
    pub fn data(inner: R) -> Self {
        Self::new(inner, MAX_DATA_BYTES, MAX_LINE_BYTES)
    }

    /// Wraps `inner`: at most `max_total` bytes, lines of at most `max_line` bytes.
    pub fn new(inner: R, max_total: u64, max_line: usize) -> Self {
        Bounded {
            inner,
            max_total,
            max_line,
            total: 0,
            line: 1,
            line_len: 0,
            failed: Default::default(),
        }
    }

    /// A handle that tells, after a read failed, which bound was hit.
    pub fn failure(&self) -> std::rc::Rc<std::cell::Cell<Option<BoundFailure>>> {
        self.failed.clone()
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        if self.total > self.max_total {
            let f = BoundFailure::File(self.max_total);
            self.failed.set(Some(f));
            return Err(io::Error::new(io::ErrorKind::InvalidData, f.message()));
        }
        for &b in &buf[..n] {
            if b == b'\n' {
                self.line += 1;
                self.line_len = 0;
            } else {
                self.line_len += 1;
                if self.line_len > self.max_line {
                    let f = BoundFailure::Line(self.line, self.max_line);
                    self.failed.set(Some(f));
                    return Err(io::Error::new(io::ErrorKind::InvalidData, f.message()));
                }
            }
        }
        Ok(n)
    }
}

/// Largest pivot of long data that needs no justification: 10 million cells. A pivot may
/// also be up to 8 times the cells read (missing date × campaign combinations are filled).
pub const MIN_PIVOT_CELLS: usize = 10_000_000;

/// Refuses a long file whose pivot (`periods × campaigns × metrics` cells) would be far larger
/// than the file: a few rows with dates centuries apart or thousands of one-row campaigns would
/// otherwise fill memory. The bound is `max(8 × rows × metrics, MIN_PIVOT_CELLS)`.
pub fn check_pivot_size(
    path: &Path,
    periods: usize,
    campaigns: usize,
    metrics: usize,
    rows: usize,
) -> Result<()> {
    let cells = periods.saturating_mul(campaigns).saturating_mul(metrics);
    let bound = rows
        .saturating_mul(metrics)
        .saturating_mul(8)
        .max(MIN_PIVOT_CELLS);
    if cells > bound {
        return Err(MmmError::data(
            path,
            None,
            None,
            format!(
                "pivoting {rows} rows gives {periods} periods × {campaigns} campaigns × {metrics} metrics = {cells} cells, more than {bound} (8 × the cells read, at least {MIN_PIVOT_CELLS}); are the dates or campaign names right?"
            ),
        ));
    }
    Ok(())
}

/// A value from a file, safe to show in a message: control characters replaced by `�`, cut
/// after [`MAX_NAME_CHARS`] characters (`…` marks the cut).
pub fn shown(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(MAX_NAME_CHARS)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if s.chars().nth(MAX_NAME_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Whether a header reads as a list of CSV column names: at least two fields (a data file has
/// a date and a target), none with a control character. Anything else (a password file's
/// line, a binary file, `/proc/self/environ`) is not quoted back.
pub fn looks_like_names(headers: &[String]) -> bool {
    headers.len() >= 2
        && headers
            .iter()
            .all(|h| !h.chars().any(char::is_control) && !h.contains('\u{fffd}'))
}

/// The part of a "no such column" message that describes the header: its first
/// [`MAX_LISTED_COLUMNS`] names, each cut at [`MAX_NAME_CHARS`] characters, when the header
/// reads as column names ([`looks_like_names`]); otherwise only how many fields it has.
pub fn describe_header(headers: &[String]) -> String {
    if !looks_like_names(headers) {
        return format!(
            "the first line is not a CSV header of column names ({} field{}); is this a CSV file?",
            headers.len(),
            if headers.len() == 1 { "" } else { "s" }
        );
    }
    let mut list: Vec<String> = headers
        .iter()
        .take(MAX_LISTED_COLUMNS)
        .map(|h| shown(h))
        .collect();
    if headers.len() > MAX_LISTED_COLUMNS {
        list.push(format!("… ({} columns in all)", headers.len()));
    }
    format!("the columns are: {}", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_that_are_not_names_are_not_quoted() {
        let shadow = vec!["root:$6$abc$def:19000:0:99999:7:::".to_string()];
        let m = describe_header(&shadow);
        assert!(!m.contains("root"), "{m}");
        let environ = vec!["A=1\0SECRET=2".to_string(), "x".to_string()];
        assert!(!describe_header(&environ).contains("SECRET"));
        let names: Vec<String> = (0..60).map(|i| format!("c{i}")).collect();
        let m = describe_header(&names);
        assert!(
            m.contains("c49") && !m.contains("c50,") && m.contains("60 columns"),
            "{m}"
        );
        let long = vec!["a".repeat(100), "b".into()];
        let m = describe_header(&long);
        assert!(m.contains(&format!("{}…", "a".repeat(64))) && !m.contains(&"a".repeat(65)));
    }

    #[test]
    fn bounded_reader_names_the_long_line() {
        let text = b"a,b\n1,2\n333333333\n".to_vec();
        let mut r = Bounded::new(&text[..], 1000, 5);
        let fail = r.failure();
        let mut s = Vec::new();
        assert!(r.read_to_end(&mut s).is_err());
        assert_eq!(fail.get(), Some(BoundFailure::Line(3, 5)));
        let mut r = Bounded::new(&text[..], 6, 100);
        assert!(r.read_to_end(&mut Vec::new()).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        assert!(open_regular(dir.path()).is_err());
        assert!(open_regular(Path::new("/dev/zero")).is_err());
        assert!(not_regular(Path::new("/dev/zero"))
            .unwrap()
            .contains("character device"));
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = open_regular(&fifo).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }
}

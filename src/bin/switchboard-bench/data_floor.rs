//! The data floor of S2's page (issue 16): the least a page of 100 threads can
//! cost, measured in this process on the same SQLite file. The same query
//! through the same index (with the cursor's lookup for the deep page), and the
//! page's JSON written straight into a buffer by the server's own writer, the
//! text read in place without a copy: no HTTP, no authentication, no
//! rate limit, no async hops. Timed in the CPU time of its one thread, so
//! that it can also run beside the server's load (see [`page_us`]) and count
//! only its own work, slowed as the server's is by the caches and cores it
//! shares, and not the time other threads held those cores.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params_from_iter};
use switchboard::domain::json;
use switchboard::domain::paging::Count;
use switchboard::domain::paging::Position;
use switchboard::domain::time::Timestamp;
use switchboard::store::content::PageBounds;
use uuid::Uuid;

use crate::dataset;

/// Pages measured for each figure.
const PAGES: usize = 2000;

/// Microseconds of CPU per page of integration 0's portfolio token, at depth 0
/// and after `deep` (the S2 pages). Blocks for about a second of CPU: run it
/// on a thread of its own while the server is under load to measure the floor
/// in the server's conditions.
pub fn page_us(database: &Path, deep: Uuid) -> anyhow::Result<(f64, f64)> {
    let (conn, window) = open(database)?;
    let shallow = time(|| page(&conn, window, None))?;
    let deep = time(|| page(&conn, window, Some(deep)))?;
    Ok((shallow, deep))
}

/// S2's page on its own read-only connection, for the page floor's server
/// ([`crate::floor`]), which answers every request with one.
pub struct Pages {
    conn: Connection,
    window: (i64, i64),
    after: Option<Uuid>,
}

impl Pages {
    /// Pages of `database`: at depth 0, or after `after`.
    pub fn open(database: &Path, after: Option<Uuid>) -> anyhow::Result<Self> {
        let (conn, window) = open(database)?;
        Ok(Self {
            conn,
            window,
            after,
        })
    }

    pub fn page(&self) -> anyhow::Result<Vec<u8>> {
        page(&self.conn, self.window, self.after)
    }
}

/// The database, read-only, and S2's window of creation times (89 days up to now).
fn open(database: &Path) -> anyhow::Result<(Connection, (i64, i64))> {
    let conn = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let now = chrono::Utc::now().timestamp();
    Ok((conn, (now - 89 * 86_400, now)))
}

/// Runs `pages` pages at depth 0 after a warm-up, for
/// `--instructions`: callgrind counts only inside [`counted_pages`].
pub fn count(database: &Path, pages: usize) -> anyhow::Result<()> {
    let (conn, window) = open(database)?;
    for _ in 0..30 {
        page(&conn, window, None)?;
    }
    let bytes = counted_pages(&conn, window, pages)?;
    anyhow::ensure!(bytes > 0, "empty pages");
    Ok(())
}

/// The pages that callgrind counts; kept out of line so that it can find it.
#[inline(never)]
fn counted_pages(conn: &Connection, window: (i64, i64), pages: usize) -> anyhow::Result<usize> {
    let mut bytes = 0;
    for _ in 0..pages {
        bytes += page(conn, window, None)?.len();
    }
    Ok(bytes)
}

fn time(mut page: impl FnMut() -> anyhow::Result<Vec<u8>>) -> anyhow::Result<f64> {
    // Warm the page cache first, as the server's is.
    let mut bytes = 0;
    for _ in 0..100 {
        bytes += page()?.len();
    }
    let started = thread_cpu_us()?;
    for _ in 0..PAGES {
        bytes += page()?.len();
    }
    anyhow::ensure!(bytes > 0, "empty pages");
    Ok((thread_cpu_us()? - started) / PAGES as f64)
}

/// The CPU time the calling thread has used, in microseconds.
fn thread_cpu_us() -> anyhow::Result<f64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to write.
    let failed = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0;
    anyhow::ensure!(!failed, "{}", std::io::Error::last_os_error());
    Ok(now.tv_sec as f64 * 1e6 + now.tv_nsec as f64 / 1e3)
}

/// One page, as the server's SQLite backend queries it, written as its JSON.
fn page(
    conn: &Connection,
    (first, last): (i64, i64),
    after: Option<Uuid>,
) -> anyhow::Result<Vec<u8>> {
    let enterprises: Vec<Uuid> = (0..dataset::ENTERPRISES).map(dataset::enterprise).collect();
    let marks = (0..enterprises.len())
        .map(|i| format!("?{}", i + 6))
        .collect::<Vec<_>>()
        .join(", ");
    let position: Option<(i64, i64)> = match after {
        None => None,
        Some(id) => conn
            .prepare_cached("SELECT created_utc, seq FROM threads WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
    };
    // The server's conditions, in its order.
    let after_clause = if position.is_some() {
        " AND (created_utc < +?4 OR seq < +?5)"
    } else {
        ""
    };
    let (after_created, after_seq) = position.unwrap_or_default();
    // The server's one upper bound: the window's end or the cursor, whichever
    // comes first, so that a deep page starts its index range at the cursor.
    let bounds = PageBounds::new(
        Some((first, last)),
        position.map(|(created, seq)| Position { created, seq }),
        Count::new(100),
    );
    let last = bounds.last.unwrap_or(last);
    let sql = format!(
        "SELECT id, original_sender, subject, created_utc, updated_utc, is_resolved \
         FROM threads WHERE integration_id = +?1 AND enterprise_id IN ({marks}) \
         AND created_utc >= +?2 AND created_utc <= +?3{after_clause} \
         ORDER BY created_utc DESC, seq DESC LIMIT 100"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut args: Vec<rusqlite::types::Value> = vec![
        rusqlite::types::Value::Blob(dataset::integration(0).as_bytes().to_vec()),
        first.into(),
        last.into(),
        after_created.into(),
        after_seq.into(),
    ];
    args.extend(
        enterprises
            .iter()
            .map(|e| rusqlite::types::Value::Blob(e.as_bytes().to_vec())),
    );
    let mut rows = statement.query(params_from_iter(args))?;

    // The server's own writer for ids, dates and text; the text read in
    // place, without a copy.
    let mut out = Vec::with_capacity(24 * 1024);
    out.extend_from_slice(b"{\"MessageThreads\":[");
    let mut last_id: Option<Uuid> = None;
    while let Some(row) = rows.next()? {
        let id: Uuid = row.get(0)?;
        if last_id.is_some() {
            out.push(b',');
        }
        json::Object::begin(&mut out)
            .id("Id", id)
            .text("OriginalSender", row.get_ref(1)?.as_str()?)
            .text("Subject", row.get_ref(2)?.as_str()?)
            .time("CreatedUtc", Timestamp::from_unix(row.get(3)?))
            .time("UpdatedUtc", Timestamp::from_unix(row.get(4)?))
            .bool("IsResolved", row.get(5)?)
            .end();
        last_id = Some(id);
    }
    out.extend_from_slice(b"],\"Cursor\":");
    match last_id {
        Some(id) => json::write_id(&mut out, id),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    Ok(out)
}

//! The inbox scenario (`--inbox`, SPEC §15.3): a year of a hotel group's
//! conversations (N threads, three messages each), and the pages a staff
//! member opens in it, each timed alone, one after another, on a server with
//! nothing else to do: every tab, each filter, search by name and by message
//! text (a common word and a rare one), a thread page and the next page.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use switchboard::clock;
use switchboard::domain::message::{Message, Sender};
use switchboard::domain::thread::Thread;
use switchboard::domain::time::Timestamp;
use switchboard::store;
use tokio::process::Command;
use uuid::Uuid;

use crate::dataset::{self, ENTERPRISES, INTEGRATIONS};
use crate::{Args, kept_database, load, serve_args, sibling, start};

/// Threads are spread over a year before the generation.
const SPAN_DAYS: i64 = 365;
/// Threads younger than this are open (older ones are resolved, as a hotel
/// resolves its conversations).
const OPEN_DAYS: i64 = 14;
/// Requests timed per page, after a few that warm the caches.
const TIMED: usize = 100;

const FIRST: &[&str] = &[
    "Anna",
    "Björn",
    "Chloé",
    "Dana",
    "Émile",
    "Fatima",
    "Giulia",
    "Hiroshi",
    "Inès",
    "Jörg",
    "Katarzyna",
    "Lars",
    "María",
    "Nikolaj",
    "Olga",
    "Pedro",
    "Quentin",
    "Renée",
    "Søren",
    "Tomás",
    "Ulla",
    "Václav",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Ελένη",
    "Γιώργος",
    "Иван",
    "Мария",
];
const LAST: &[&str] = &[
    "Ångström",
    "Novák",
    "Müller",
    "García",
    "Rossi",
    "Dubois",
    "Nowak",
    "Jensen",
    "Smith",
    "Tanaka",
    "Kowalski",
    "Horváth",
    "Łukasiewicz",
    "Çelik",
    "Okafor",
    "Silva",
    "Berg",
    "Costa",
    "Dvořák",
    "Schäfer",
    "Παπαδόπουλος",
    "Ivanova",
    "O'Brien",
    "Nguyen",
    "Larsen",
];
const SUBJECTS: &[&str] = &[
    "Late check-out",
    "Room service",
    "Airport transfer",
    "Parking",
    "Breakfast times",
    "Extra towels",
    "Spa booking",
    "Wi-Fi password",
    "Early check-in",
    "Lost and found",
    "Restaurant table",
    "Invoice",
    "Noise complaint",
    "Baby cot",
    "Pet policy",
];
const GUEST: &[&str] = &[
    "Hello, could we check out at one instead of eleven?",
    "Is breakfast served until ten on Sunday?",
    "Our flight lands at 22:40, can someone pick us up?",
    "The air conditioning in our room makes a loud noise.",
    "Could you send two more towels to the room, please?",
    "Is there a charger for the car in the garage?",
    "We would like a table for four at eight tonight.",
    "I think I left my scarf in the lobby yesterday.",
    "Can I get the invoice made out to my company?",
    "Do you have a cot for a one-year-old?",
    "Thank you, that is perfect!",
    "Great, see you then.",
];
const STAFF: &[&str] = &[
    "Of course, we have noted it for you.",
    "Breakfast is served from seven until half past ten.",
    "Our driver will wait for you at arrivals with a sign.",
    "We are sorry, a technician is on the way to your room.",
    "Housekeeping will bring them within ten minutes.",
    "Yes, there are two chargers on level minus one.",
    "Your table is booked, we look forward to seeing you.",
    "We found it, it is waiting for you at the reception.",
    "Please send us the company's name and address.",
];
/// The rare name and phrase: in one thread each.
const RARE_NAME: &str = "Quillfeather";
const RARE_PHRASE: &str = "the periwinkle umbrella";

/// What the pages need to know about the generated data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboxDataset {
    pub threads: usize,
    pub messages: usize,
    /// The newest thread, for a thread page.
    pub newest: Uuid,
    pub generate_seconds: f64,
}

/// A tiny deterministic generator (xorshift), so that each run's data is the same.
struct Dice(u64);

impl Dice {
    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        of[(self.0 % of.len() as u64) as usize]
    }
}

async fn generate(url: &str, threads: usize) -> anyhow::Result<InboxDataset> {
    let started = Instant::now();
    dataset::tenants(url).await?;
    let backend = store::Backend::open(url).await?;
    let now = Timestamp::truncate(clock::system().now()).unix();
    let first = now - SPAN_DAYS * 86_400;
    let step = (SPAN_DAYS * 86_400) as f64 / threads.max(1) as f64;
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let (mut chunk, mut messages, mut total) = (Vec::new(), Vec::new(), 0);
    let mut newest = None;
    for k in 0..threads {
        let created = first + (k as f64 * step) as i64;
        let id = Uuid::new_v4();
        let last = if k == threads / 2 {
            RARE_NAME
        } else {
            dice.pick(LAST)
        };
        let mut at = created;
        let guest_last = k % 3 == 0;
        for (n, sender) in [
            Sender::Application,
            Sender::Enterprise,
            if guest_last {
                Sender::Application
            } else {
                Sender::Enterprise
            },
        ]
        .into_iter()
        .enumerate()
        {
            let text = match (sender, k == threads / 3 && n == 0) {
                (_, true) => format!("Has anyone seen {RARE_PHRASE} I left by the pool?"),
                (Sender::Application, _) => dice.pick(GUEST).to_owned(),
                (Sender::Enterprise, _) => dice.pick(STAFF).to_owned(),
            };
            at += 60 + (k as i64 * 37 + n as i64 * 11) % 600;
            messages.push(Message {
                id: Uuid::new_v4(),
                thread_id: id,
                text,
                sender,
                created: Timestamp::from_unix(at),
            });
        }
        chunk.push(Thread {
            id,
            integration_id: dataset::integration(k as u128 % INTEGRATIONS),
            enterprise_id: dataset::enterprise((k as u128 * 7) % ENTERPRISES),
            original_sender: format!("{} {last}", dice.pick(FIRST)),
            subject: dice.pick(SUBJECTS).to_owned(),
            created: Timestamp::from_unix(created),
            updated: Timestamp::from_unix(at),
            is_resolved: now - created > OPEN_DAYS * 86_400,
        });
        newest = Some(id);
        if chunk.len() == 20_000 {
            total += messages.len();
            import(
                &backend,
                std::mem::take(&mut chunk),
                std::mem::take(&mut messages),
            )
            .await?;
        }
    }
    total += messages.len();
    import(&backend, chunk, messages).await?;
    match &backend {
        store::Backend::Sqlite(store) => store.derive_last_senders().await?,
        store::Backend::Postgres(store) => store.derive_last_senders().await?,
    }
    drop(backend);
    // Let the writer thread finish before the server opens the file.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(InboxDataset {
        threads,
        messages: total,
        newest: newest.ok_or_else(|| anyhow::anyhow!("no threads"))?,
        generate_seconds: started.elapsed().as_secs_f64(),
    })
}

async fn import(
    backend: &store::Backend,
    threads: Vec<Thread>,
    messages: Vec<Message>,
) -> anyhow::Result<()> {
    match backend {
        store::Backend::Sqlite(store) => {
            store.import_threads(threads).await?;
            store.import_messages(messages).await?;
        }
        store::Backend::Postgres(store) => {
            store.import_threads(threads).await?;
            store.import_messages(messages).await?;
        }
    }
    Ok(())
}

/// The inbox database of the run (generated the first time) and its data.
async fn prepare(args: &Args) -> anyhow::Result<(String, InboxDataset)> {
    let generate = |url: String, threads| async move { generate(&url, threads).await };
    kept_database(args, "bench-inbox", " with their messages", generate).await
}

/// One connection to the server, kept open, with the session's cookie.
struct Browser {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    cookie: String,
}

impl Browser {
    async fn connect(address: SocketAddr) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self {
            sender,
            cookie: String::new(),
        })
    }

    async fn send(
        &mut self,
        request: hyper::Request<Full<Bytes>>,
    ) -> anyhow::Result<(hyper::StatusCode, hyper::HeaderMap, Bytes)> {
        self.sender.ready().await?;
        let answer = self.sender.send_request(request).await?;
        let (parts, body) = answer.into_parts();
        Ok((
            parts.status,
            parts.headers,
            body.collect().await?.to_bytes(),
        ))
    }

    /// Logs in with the operator token, as the built-in admin.
    async fn log_in(&mut self, token: &str) -> anyhow::Result<()> {
        let request = hyper::Request::post("/inbox/login")
            .header("host", "bench")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(format!("token={token}"))))?;
        let (status, headers, _) = self.send(request).await?;
        let cookie = headers
            .get(hyper::header::SET_COOKIE)
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .ok_or_else(|| anyhow::anyhow!("the login answered {status} without a cookie"))?;
        self.cookie = cookie.to_owned();
        Ok(())
    }

    async fn get(&mut self, path: &str) -> anyhow::Result<(Duration, String)> {
        let request = hyper::Request::get(path)
            .header("host", "bench")
            .header("cookie", &self.cookie)
            .body(Full::new(Bytes::new()))?;
        let started = Instant::now();
        let (status, _, body) = self.send(request).await?;
        let took = started.elapsed();
        anyhow::ensure!(status == hyper::StatusCode::OK, "{path} answered {status}");
        Ok((took, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The `after` of a list page's link to the next page.
fn next_cursor(page: &str) -> Option<String> {
    let (_, rest) = page.split_once("after=")?;
    Some(rest.chars().take(36).collect())
}

/// How many rows a list page shows.
fn rows(page: &str) -> usize {
    page.matches("<li class=\"thread").count()
}

pub async fn run(args: &Args) -> anyhow::Result<String> {
    let (url, data) = prepare(args).await?;
    println!("inbox dataset: {data:?}");
    let mut command = Command::new(sibling("switchboard")?);
    command
        .args(serve_args(args, &url))
        .env("SWITCHBOARD_LOG", "warn")
        .stderr(Stdio::null());
    let server = start(command).await?;
    let mut browser = Browser::connect(server.address).await?;
    browser.log_in("bench").await?;
    let (_, first) = browser.get("/inbox?state=all").await?;
    let after = next_cursor(&first).ok_or_else(|| anyhow::anyhow!("no next page"))?;
    let enterprise = dataset::enterprise(3);
    let pages: Vec<(&str, String)> = vec![
        ("Open (the first page)", "/inbox".into()),
        ("Awaiting a reply", "/inbox?awaiting=1".into()),
        ("Resolved", "/inbox?state=resolved".into()),
        ("All", "/inbox?state=all".into()),
        ("All, next page", format!("/inbox?state=all&after={after}")),
        (
            "One enterprise, open",
            format!("/inbox?enterprise={enterprise}"),
        ),
        (
            "One enterprise, resolved",
            format!("/inbox?state=resolved&enterprise={enterprise}"),
        ),
        (
            "One integration, all",
            format!("/inbox?state=all&integration={}", dataset::integration(2)),
        ),
        ("Search: a common name", "/inbox?q=angstrom".into()),
        ("Search: a rare name", "/inbox?q=quillfeather".into()),
        ("Search: a word in many messages", "/inbox?q=towels".into()),
        (
            "Search: a rare phrase",
            "/inbox?q=periwinkle+umbrella".into(),
        ),
        ("Search: Greek, no accents", "/inbox?q=ελενη".into()),
        ("A thread", format!("/inbox/threads/{}", data.newest)),
    ];
    let mut report = format!(
        "Inbox ({} threads, {} messages; {TIMED} requests a page, one at a time)\n\
         {:<34} {:>9} {:>9} {:>9} {:>5}\n",
        data.threads, data.messages, "page", "p50 ms", "p99 ms", "max ms", "rows"
    );
    for (name, path) in &pages {
        // Microseconds, as the load scenarios keep them.
        let mut took_us = Vec::with_capacity(TIMED);
        let mut shown = 0;
        for i in 0..TIMED + 3 {
            let (time, body) = browser.get(path).await?;
            if i >= 3 {
                took_us.push(u32::try_from(time.as_micros()).unwrap_or(u32::MAX));
            }
            shown = rows(&body);
        }
        let ms = |us: f64| us / 1000.0;
        report.push_str(&format!(
            "{name:<34} {:>9.1} {:>9.1} {:>9.1} {shown:>5}\n",
            ms(load::percentile(&took_us, 50.0)),
            ms(load::percentile(&took_us, 99.0)),
            ms(f64::from(took_us.iter().copied().max().unwrap_or(0))),
        ));
    }
    drop(server);
    Ok(report)
}

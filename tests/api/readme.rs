//! The README's commands work exactly as printed: the first screen's run and test
//! commands, every `cargo run` line, every `switchboard` command line, and the
//! curl examples (run by `process::the_readme_examples_work_as_printed`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;
use switchboard::cli::Cli;
use tokio::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn readme() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README.md")
}

/// Every `sh` block of `text`, with backslash-newline continuations joined.
fn sh_blocks(text: &str) -> Vec<String> {
    text.split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or("").replace("\\\n", " "))
        .collect()
}

/// The `sh` blocks of the README section headed `heading`.
pub fn readme_section_blocks(heading: &str) -> Vec<String> {
    let readme = readme();
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has {heading}"));
    let section = &readme[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    sh_blocks(section)
}

/// The command of a README line, without its trailing `# comment`.
fn command_of(line: &str) -> &str {
    line.split(" #").next().unwrap_or(line).trim()
}

/// The two commands of the README's first screen: (run, test).
fn first_screen() -> (String, String) {
    let readme = readme();
    let first = &readme[..readme.find("\n## ").expect("README has sections")];
    let block = sh_blocks(first)
        .into_iter()
        .next()
        .expect("the first screen has a sh block");
    let commands: Vec<&str> = block
        .lines()
        .map(command_of)
        .filter(|line| !line.is_empty())
        .collect();
    assert_eq!(
        commands.len(),
        2,
        "the first screen gives two commands, run and test: {block}"
    );
    (commands[0].to_owned(), commands[1].to_owned())
}

/// Splits a command line into words the way bash does.
async fn shell_words(line: &str) -> Vec<String> {
    let output = Command::new("bash")
        .args(["-c", &format!("printf '%s\\0' {line}")])
        .output()
        .await
        .expect("bash");
    assert!(output.status.success(), "bash splits {line}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .split_terminator('\0')
        .map(str::to_owned)
        .collect()
}

/// The files of the checkout, as a fresh clone would have them once they are
/// committed: tracked ones and new ones git does not ignore.
fn tracked_files() -> Vec<PathBuf> {
    let output = std::process::Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(ROOT)
        .output()
        .expect("git ls-files");
    assert!(output.status.success(), "git ls-files");
    String::from_utf8(output.stdout)
        .expect("utf-8 paths")
        .split_terminator('\0')
        .map(PathBuf::from)
        .filter(|path| Path::new(ROOT).join(path).is_file())
        .collect()
}

fn copy_keeping_time(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("a file has a folder")).unwrap();
    std::fs::copy(from, to).unwrap();
    let modified = std::fs::metadata(from).unwrap().modified().unwrap();
    std::fs::File::options()
        .write(true)
        .open(to)
        .and_then(|file| file.set_modified(modified))
        .unwrap();
}

#[tokio::test]
async fn the_readme_first_command_serves_on_a_fresh_clone() {
    if crate::helpers::on_postgres() {
        eprintln!("skipped: the README's first command serves SQLite; the SQLite run checks it");
        return;
    }
    let (run, _) = first_screen();
    assert!(
        run.starts_with("cargo run"),
        "the first command runs the server: {run}"
    );
    let port_free = std::net::TcpListener::bind("127.0.0.1:8080").is_ok();
    assert!(
        port_free,
        "port 8080, where the README's first command listens, is taken on this machine"
    );

    // A copy of the tracked files stands for a fresh clone: no database, no build
    // output in it. It lives at a fixed place, with the files' times kept, so
    // that its build (in a target folder of its own) is reused by later runs.
    let fresh = Path::new(ROOT).join("target/fresh-clone");
    let checkout = fresh.join("checkout");
    if checkout.exists() {
        std::fs::remove_dir_all(&checkout).expect("remove the previous copy");
    }
    for file in tracked_files() {
        copy_keeping_time(&Path::new(ROOT).join(&file), &checkout.join(&file));
    }
    let log = fresh.join("first-command.log");
    // `nice`: the release build then takes only the CPU the other tests leave.
    let mut child = Command::new("nice")
        .args(["-n", "19", "bash", "-c", &format!("exec {run}")])
        .current_dir(&checkout)
        .env("CARGO_TARGET_DIR", fresh.join("target"))
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .env_remove("SWITCHBOARD_LISTEN")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("start the README's first command");

    // The first build of a fresh clone compiles everything: allow it time.
    let client = crate::helpers::http_client();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30 * 60);
    let health = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!(
                "`{run}` exited ({status}) before serving:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if let Ok(reply) = client.get("http://127.0.0.1:8080/healthz").send().await {
            break reply;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{run}` did not serve within 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(health.status(), 200);
    assert!(
        checkout.join("switchboard.db").exists(),
        "the first start creates switchboard.db where it was run"
    );
    // SIGTERM (through bash's exec, the server itself) stops it cleanly.
    let pid = child.id().expect("running") as i32;
    let stopped = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("stops within 20 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "exits cleanly on SIGTERM: {status}");
}

#[test]
fn ci_runs_the_readme_test_command() {
    let (_, test) = first_screen();
    let ci = std::fs::read_to_string(Path::new(ROOT).join(".ci/run")).expect(".ci/run");
    assert!(
        ci.lines().any(|line| line.trim() == test),
        ".ci/run runs `{test}` on a line of its own"
    );
}

/// Every `cargo run ... -- ARGS` line in the README parses as a switchboard
/// command line, flags and values included.
#[tokio::test]
async fn every_cargo_run_line_of_the_readme_parses() {
    let mut checked = 0;
    for block in sh_blocks(&readme()) {
        for line in block.lines().map(command_of) {
            let Some(rest) = line.strip_prefix("cargo run") else {
                continue;
            };
            let (cargo_flags, args) = rest.split_once(" -- ").unwrap_or((rest, ""));
            assert!(
                cargo_flags.trim().is_empty() || cargo_flags.trim() == "--release",
                "`{line}` passes only --release to cargo"
            );
            let mut words = vec!["switchboard".to_owned()];
            words.extend(shell_words(args).await);
            if let Err(e) = Cli::try_parse_from(&words) {
                panic!("`{line}` does not parse: {e}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "the README has its cargo run lines");
}

/// Every line of a README `sh` block that starts with `switchboard` names a real
/// subcommand (its placeholders aside: `--help` of that subcommand works).
#[tokio::test]
async fn every_switchboard_command_of_the_readme_exists() {
    let mut checked = 0;
    for block in sh_blocks(&readme()) {
        for line in block.lines().map(command_of) {
            if !line.starts_with("switchboard ") {
                continue;
            }
            // The leading lower-case words: `switchboard integration set-webhook`.
            let subcommand: Vec<String> = line
                .split_whitespace()
                .take_while(|word| word.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
                .take_while(|word| !word.starts_with('-'))
                .map(str::to_owned)
                .collect();
            let mut words = subcommand.clone();
            words.push("--help".to_owned());
            match Cli::try_parse_from(&words) {
                Err(e) if e.kind() == ErrorKind::DisplayHelp => {}
                other => panic!(
                    "`{line}`: `{}` is not a subcommand: {other:?}",
                    words.join(" ")
                ),
            }
            // With its values filled in as printed, a line without placeholders parses.
            if !line.contains(['[', '|', '(']) && !line.split(' ').any(is_placeholder) {
                let words = shell_words(line).await;
                if let Err(e) = Cli::try_parse_from(&words) {
                    panic!("`{line}` does not parse: {e}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "the README has its switchboard lines");
}

/// `ID`, `URL`, `TOKEN_OR_ID`: words a reader replaces.
fn is_placeholder(word: &str) -> bool {
    word.len() > 1 && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// docs/testing.md shows the example suites that CI runs (`.ci/examples/run`):
/// each of its code blocks is in one of those files, word for word.
#[test]
fn the_testing_page_shows_the_example_suites_as_they_are() {
    let root = Path::new(ROOT);
    let page = std::fs::read_to_string(root.join("docs/testing.md")).expect("docs/testing.md");
    let files: Vec<String> = [
        "examples/testing/python/conftest.py",
        "examples/testing/python/test_guest_app.py",
        "examples/testing/node/switchboard.mjs",
        "examples/testing/node/guest-app.test.mjs",
    ]
    .iter()
    .map(|file| std::fs::read_to_string(root.join(file)).expect(file))
    .collect();
    let mut shown = 0;
    for fence in ["```python\n", "```js\n"] {
        for block in page.split(fence).skip(1) {
            let code = block.split("```").next().unwrap();
            assert!(
                files.iter().any(|file| file.contains(code)),
                "docs/testing.md shows code that no example has:\n{code}"
            );
            shown += 1;
        }
    }
    assert_eq!(shown, 4, "a fixture and tests, in Python and in JavaScript");
    // The whole fixtures, not parts of them.
    assert!(page.contains(&files[0]) && page.contains(&files[2]));
}

/// docs/webhooks.md shows the receiver that CI runs, whole and as it is.
#[test]
fn the_webhooks_page_shows_the_receiver_as_it_is() {
    let root = Path::new(ROOT);
    let page = std::fs::read_to_string(root.join("docs/webhooks.md")).expect("docs/webhooks.md");
    let receiver = std::fs::read_to_string(root.join("examples/webhooks/receiver.py")).unwrap();
    let blocks: Vec<&str> = page
        .split("```python\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks, [receiver.as_str()]);
}

//! `export` and `import`: a whole database to a file and back.

use anyhow::Context;

use super::DatabaseArg;
use crate::store;

pub async fn export(
    output: Option<std::path::PathBuf>,
    database: &DatabaseArg,
) -> anyhow::Result<()> {
    let backend = store::Backend::open_as(&database.url, store::Create::No).await?;
    let output = output.filter(|path| path.as_os_str() != "-");
    let out: Box<dyn std::io::Write + Send> = match &output {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            // It holds every message and the token digests, like the database.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            Box::new(
                options
                    .open(path)
                    .with_context(|| format!("cannot write {}", path.display()))?,
            )
        }
        None => Box::new(std::io::stdout()),
    };
    let (_, count) = store::export::export(&backend, out).await?;
    let place = output.map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    eprintln!("Exported {count} records to {place}.");
    Ok(())
}

pub async fn import(
    input: Option<std::path::PathBuf>,
    database: &DatabaseArg,
) -> anyhow::Result<()> {
    let input = input.filter(|path| path.as_os_str() != "-");
    let reader: Box<dyn std::io::BufRead + Send> = match &input {
        Some(path) => Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::with_capacity(1 << 16, std::io::stdin())),
    };
    let backend = store::Backend::open(&database.url).await?;
    let count = store::export::import(&backend, reader)
        .await
        .context("nothing was imported")?;
    println!("Imported {count} records.");
    Ok(())
}

//! `matcoach web` (the companion page alone, for a journal) and `matcoach
//! pair` (a pairing code, or the end of every paired session); issue 17,
//! src/web/.

use super::{content_dir, journal::journal_path, Args};
use anyhow::{Context, Result};
use matcoach::config::Config;
use matcoach::web::{self, Live, Pairing, Shared};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// The config as read (`base`) and with the settings layer beside the
/// journal at `journal` on top.
pub(super) fn layered(base: &Config, journal: &Path) -> Result<Config> {
    let mut config = base.clone();
    for w in config.apply_layer(&matcoach::config::layer_path(journal))? {
        log::warn!("{w}");
    }
    Ok(config)
}

/// `matcoach web [--db FILE] [--listen ADDR]`.
pub(super) fn web(args: &Args, db: Option<&Path>, listen: Option<SocketAddr>) -> Result<ExitCode> {
    let base = super::load_base_config(args)?;
    let path = journal_path(&base, db)?;
    let config = layered(&base, &path)?;
    let content = matcoach::content::load_dir(&content_dir(args, &config))?;
    let addr = match listen {
        Some(a) => a,
        None => config
            .web
            .addr()
            .context("[web] listen is not an address (see `matcoach check`)")?,
    };
    let (_live_tx, live) = tokio::sync::watch::channel(Live::offline());
    let shared = Arc::new(Shared::new(
        path.clone(),
        base,
        config,
        Arc::new(content),
        live,
        None,
    ));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let db = path.display().to_string();
        web::serve(
            shared,
            addr,
            move |bound| {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "serving the companion page for {db} on http://{bound}/\npair a phone with: matcoach pair --db {db}"
                );
                let _ = out.flush();
            },
            matcoach::systemd::shutdown_signal(),
        )
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `matcoach pair [--db FILE] [--revoke]`.
pub(super) fn pair(args: &Args, db: Option<&Path>, revoke: bool) -> Result<ExitCode> {
    let config = super::load_base_config(args)?;
    let path = journal_path(&config, db)?;
    let pairing = Pairing::beside(&path);
    if revoke {
        let n = pairing.revoke()?;
        outln!("ended {n} paired session(s): every phone must pair again");
        return Ok(ExitCode::SUCCESS);
    }
    let code = pairing.new_code(std::time::SystemTime::now())?;
    outln!("{code}");
    eprintln!(
        "matcoach: enter this code on the companion page within 5 minutes ({})",
        pairing.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

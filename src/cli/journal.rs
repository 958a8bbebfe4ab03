//! The journal: `sim --db/--date`, `history`, `phase`, `calibrate`
//! (src/journal/, src/adapt.rs).

use super::{events_or_press, load, load_config, print_records, Args, PhaseAction, SIM_LIMIT};
use anyhow::{bail, Result};
use matcoach::adapt;
use matcoach::appliance::Settings;
use matcoach::config::Config;
use matcoach::content::{self, Lang};
use matcoach::devices::Journal as _;
use matcoach::journal::{self, report, Date, JournalStore, JournalWriter, OpenOptions, Source};
use matcoach::session::Action;
use matcoach::sim::{self, UserAction};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The journal file: --db, else the config's journal.path, else the
/// default place.
pub(super) fn journal_path(config: &Config, db: Option<&Path>) -> Result<PathBuf> {
    match db {
        Some(p) => Ok(p.to_path_buf()),
        None => Ok(journal::resolve_path(config.journal.path.as_deref())?),
    }
}

/// The journal at `path`, made if it is not there yet; a damaged file
/// moved aside is said on stderr.
pub(super) fn open_store(path: &Path) -> Result<JournalStore> {
    let opened = JournalStore::open(path, &OpenOptions::default())?;
    if let Some(r) = &opened.recovered {
        log::warn!("{r}");
    }
    Ok(opened.store)
}

/// The history in the journal at `path`; an empty one when there is no
/// journal yet.
fn history_if_any(path: &Path) -> Result<journal::History> {
    match JournalStore::open_existing(path) {
        Ok(o) => Ok(o.store.history(None)?),
        Err(journal::JournalError::Missing { .. }) => Ok(journal::History::default()),
        Err(e) => Err(e.into()),
    }
}

pub(super) struct SimJournal<'a> {
    pub(super) db: Option<&'a Path>,
    pub(super) date: Option<Date>,
    pub(super) pace: Option<f64>,
}

/// `matcoach sim` with a journal: today's program adapted from it, the
/// session written to it event by event. A journal that cannot be written
/// does not stop the session: the output is complete, the problem is on
/// stderr, and the exit code is 3.
pub(super) fn sim_journaled(
    args: &Args,
    program: &str,
    lang: Option<Lang>,
    events: Option<&str>,
    opts: &SimJournal,
) -> Result<ExitCode> {
    let l = load(args)?;
    if opts.db.is_none() && (opts.date.is_some() || opts.pace.is_some()) {
        bail!("--date and --pace need --db: they place the session in a journal\n  fix: add --db PATH (a scratch file is fine), or leave them out");
    }
    if let Some(p) = opts.pace {
        if !(p.is_finite() && (0.0..=10.0).contains(&p)) {
            bail!("--pace {p} is outside 0 to 10\n  fix: give real seconds per virtual second, e.g. 0.001");
        }
    }
    let scripted = events_or_press(events)?;
    let rules = adapt::Rules::for_config(&l.config);
    let date = opts.date.unwrap_or_else(journal::today);
    let mut store = None;
    let mut trouble = false;
    let mut open_error = None;
    if let Some(path) = opts.db {
        match JournalStore::open(path, &OpenOptions::default()) {
            Ok(opened) => {
                if let Some(r) = &opened.recovered {
                    log::warn!("{r}");
                }
                store = Some(opened.store);
            }
            Err(e) => {
                log::warn!("{e}");
                log::warn!("the session goes on without the journal's history");
                trouble = true;
                open_error = Some(e);
            }
        }
    }
    let history = match store.as_ref().map(|s| s.history(None)) {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            log::warn!("{e}");
            trouble = true;
            journal::History::default()
        }
        None => journal::History::default(),
    };
    // The appliance's own way from a history to a session.
    let settings = Settings {
        lang: lang.unwrap_or(l.config.language),
        program: program.to_string(),
        session: l.config.session(),
        rules,
    };
    let (today, mut s) = settings.today(&l.content, &history, date)?;
    if opts.db.is_none() {
        // Without a journal there is no phase to move on from.
        s.set_phase_offer(None);
    }
    let scripted = today.events(&scripted);
    let records = sim::run(&mut s, &scripted, SIM_LIMIT);
    outln!("{}", today.to_json());
    let Some(path) = opts.db else {
        print_records(&records, true)?;
        return Ok(ExitCode::SUCCESS);
    };
    // Sessions of a simulated day start at 09:00, or a minute after the
    // day's last one.
    let nine = date.at_midnight().plus(Duration::from_secs(9 * 3600));
    let base = match store.as_ref().map(|s| s.last_on(date)) {
        Some(Ok(Some(last))) => nine.max(last.plus(Duration::from_secs(60))),
        _ => nine,
    };
    let mut writer = match store {
        Some(store) => JournalWriter::new(store),
        None => JournalWriter::start(path, &OpenOptions::default()).writer,
    };
    writer.begin(base, Some(today.note(Source::Sim)));
    let presses: Vec<Duration> = scripted
        .iter()
        .filter(|e| matches!(e.what, UserAction::Press | UserAction::LongPress))
        .map(|e| e.at)
        .collect();
    let mut next_press = presses.iter().peekable();
    let t0 = std::time::Instant::now();
    // A closed stdout (`| head`) must not cut the journal short: the
    // session is written to its end either way.
    let mut out_error: Option<std::io::Error> = None;
    for r in &records {
        while let Some(at) = next_press.next_if(|at| **at <= r.t) {
            writer.button_pressed(*at);
        }
        if let Some(pace) = opts.pace {
            let due = t0 + r.t.mul_f64(pace);
            let now = std::time::Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        if let Action::Journal(e) = &r.action {
            writer.record(r.t, e);
        }
        if out_error.is_none() {
            out_error = writeln!(std::io::stdout().lock(), "{}", r.to_json()).err();
        }
    }
    let report = writer.finish();
    if let Some(e) = out_error {
        return Err(e.into());
    }
    for e in report
        .faults_seen
        .iter()
        .filter(|e| Some(*e) != open_error.as_ref())
    {
        log::error!("journal: {e}");
    }
    if report.complete() && !trouble && report.faults_seen.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !report.complete() {
        log::error!(
            "the session ran to its end, but the journal is incomplete: {} written, {} not written, {} lost ({})",
            report.written,
            report.waiting,
            report.lost,
            path.display()
        );
    }
    Ok(ExitCode::from(3))
}

pub(super) struct HistoryOptions<'a> {
    pub(super) json: bool,
    pub(super) since: Option<Date>,
    pub(super) csv: bool,
    pub(super) db: Option<&'a Path>,
    pub(super) today: Option<Date>,
}

pub(super) fn history(args: &Args, o: &HistoryOptions) -> Result<ExitCode> {
    let config = load_config(args)?;
    let path = journal_path(&config, o.db)?;
    let opened = JournalStore::open_existing(&path)?;
    if let Some(r) = &opened.recovered {
        log::warn!("{r}");
    }
    let h = opened.store.history(None)?;
    let sessions: Vec<journal::SessionInfo> = h
        .sessions
        .iter()
        .filter(|s| o.since.is_none_or(|d| s.day >= d))
        .cloned()
        .collect();
    let today = o.today.unwrap_or_else(journal::today);
    let adherence = report::adherence(&h, today, config.journal.weekly_goal_days, 8);
    let startgetal: std::collections::BTreeMap<String, u32> = h
        .maxima
        .values()
        .map(|m| (m.exercise.clone(), adapt::startgetal(m.max_reps)))
        .collect();
    if o.csv {
        write!(std::io::stdout().lock(), "{}", report::csv(&sessions)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    // issue 16, item 1
    let checks = opened.store.voice_checks(None)?;
    if o.json {
        let mut v = report::json(&h, &sessions, &adherence, &startgetal);
        if let Some(m) = v.as_object_mut() {
            m.insert("voice_checks".into(), serde_json::to_value(&checks)?);
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    if sessions.is_empty() {
        match o.since {
            Some(d) => outln!("no sessions since {d} ({})", path.display()),
            None => outln!("no sessions yet ({})", path.display()),
        }
    } else {
        write!(std::io::stdout().lock(), "{}", report::table(&sessions))?;
    }
    let from = o
        .since
        .unwrap_or(today.add_days(-27))
        .max(today.add_days(-90))
        .min(today);
    let spark = report::sparkline(&report::daily_minutes(&h, from, today));
    outln!();
    write!(
        std::io::stdout().lock(),
        "{}",
        report::adherence_lines(&adherence, &spark, from, today)
    )?;
    if let Some(p) = &h.phase {
        if let Some(phase) = p.phase {
            outln!(
                "McKenzie phase: {} (since {})",
                phase.name(),
                p.since.date()
            );
        }
    }
    if !startgetal.is_empty() {
        let list: Vec<String> = h
            .maxima
            .values()
            .map(|m| {
                format!(
                    "{} {} (max {})",
                    m.exercise,
                    adapt::startgetal(m.max_reps),
                    m.max_reps
                )
            })
            .collect();
        outln!("startgetal: {}", list.join(", "));
    }
    // issue 16, item 1: a line per voice check.
    if !checks.is_empty() {
        outln!();
        outln!("voice checks:");
        for c in &checks {
            outln!("  {}", c.summary());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn phase(
    args: &Args,
    action: Option<PhaseAction>,
    db: Option<&Path>,
) -> Result<ExitCode> {
    let l = load(args)?;
    let path = journal_path(&l.config, db)?;
    let describe = |phase: content::Phase| {
        let name = phase.name();
        match adapt::phase_program(&l.content, phase) {
            Some(p) => format!("{name}: program {} ({})", p.id(), p.name.en.as_str()),
            None => name.to_string(),
        }
    };
    let Some(action) = action else {
        let h = history_if_any(&path)?;
        match h.current_phase() {
            Some(p) => {
                let since = h.phase.as_ref().map(|x| x.since.date());
                outln!(
                    "McKenzie phase {}{}",
                    describe(p),
                    since.map(|d| format!(", since {d}")).unwrap_or_default()
                );
                match adapt::may_advance(&h) {
                    Ok(next) => {
                        outln!(
                            "next: {} (`matcoach phase next` once you feel clearly better)",
                            next.name()
                        );
                        let rules = adapt::Rules::for_config(&l.config);
                        if let (Some(from), Some(since)) = (
                            since.and_then(|d| adapt::earliest_offer(&rules, p, d)),
                            since,
                        ) {
                            outln!(
                                "the coach asks at the end of a session without pain, once a day, from {from} on ({} days after {since}; 003, see journal.acute_days and the settings after it)",
                                from.since(since)
                            );
                        }
                    }
                    Err(adapt::PhaseError::AtLast) => {
                        outln!("this is the last phase: keep it up as a daily habit")
                    }
                    Err(e) => outln!("{e}"),
                }
            }
            None => outln!(
                "not following the McKenzie program; `matcoach phase start` begins with the acute phase"
            ),
        }
        return Ok(ExitCode::SUCCESS);
    };
    let mut store = open_store(&path)?;
    let h = store.history(None)?;
    let (to, reason) = match action {
        PhaseAction::Next => match adapt::may_advance(&h) {
            Ok(p) => (Some(p), "matcoach phase next"),
            Err(e) => {
                eprintln!("matcoach: {e}");
                return Ok(ExitCode::from(1));
            }
        },
        PhaseAction::Back => match adapt::may_go_back(&h) {
            Ok(p) => (Some(p), "matcoach phase back"),
            Err(e) => {
                eprintln!("matcoach: {e}");
                return Ok(ExitCode::from(1));
            }
        },
        PhaseAction::Start => (Some(content::Phase::Acute), "matcoach phase start"),
        PhaseAction::Stop => (None, "matcoach phase stop"),
    };
    store.set_phase(to, reason, journal::local_now())?;
    match to {
        Some(p) => outln!("McKenzie phase {}", describe(p)),
        None => outln!("no longer following the McKenzie program"),
    }
    if l.config.program != adapt::AUTO {
        outln!(
            "note: the config's program is `{}`; set program = \"auto\" for the coach to follow the phase",
            l.config.program
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn calibrate(
    args: &Args,
    set: &[String],
    next: bool,
    json: bool,
    db: Option<&Path>,
) -> Result<ExitCode> {
    let l = load(args)?;
    let path = journal_path(&l.config, db)?;
    let testable: Vec<&content::Exercise> = l
        .content
        .exercises
        .iter()
        .map(|d| &d.value)
        .filter(|e| e.dose.startgetal == Some(true))
        .collect();
    let mut entries = Vec::new();
    for item in set {
        let (ex, n) = item.split_once('=').ok_or_else(|| {
            anyhow::anyhow!(
                "--set `{item}`: no `=`\n  fix: write EXERCISE=MAX, e.g. sr_abdominals=30"
            )
        })?;
        let ex = ex.trim();
        if !testable.iter().any(|e| e.id() == ex) {
            bail!(
                "--set `{item}`: `{ex}` is not a startgetal exercise\n  fix: use one of {}",
                testable
                    .iter()
                    .map(|e| e.id())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let n: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| {
                anyhow::anyhow!("--set `{item}`: the maximum must be a whole number from 1 to 500\n  fix: give the repetitions you managed, e.g. {ex}=30")
            })?;
        entries.push((ex.to_string(), n));
    }
    let h = if entries.is_empty() && !next {
        history_if_any(&path)?
    } else {
        let mut store = open_store(&path)?;
        let now = journal::local_now();
        for (ex, n) in &entries {
            store.set_max(ex, *n, now)?;
        }
        if next {
            store.request_max_test(now)?;
        }
        store.history(None)?
    };
    if json {
        let v: Vec<_> = testable
            .iter()
            .map(|e| {
                let m = h.maxima.get(e.id());
                serde_json::json!({
                    "exercise": e.id(),
                    "max": m.map(|m| m.max_reps),
                    "source": m.map(|m| m.source.clone()),
                    "at": m.map(|m| m.at),
                    "startgetal": m.map(|m| adapt::startgetal(m.max_reps)),
                    "reps_until_tested": e.dose.reps,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "exercises": v,
                "max_test_requested": h.max_test_requested,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for e in &testable {
        match h.maxima.get(e.id()) {
            Some(m) => outln!(
                "{:<20} max {:>3} ({}, {})  startgetal {:>2}: {} sets of {}",
                e.id(),
                m.max_reps,
                m.source.replace('_', " "),
                m.at.date(),
                adapt::startgetal(m.max_reps),
                e.dose.sets_or_one(),
                adapt::startgetal(m.max_reps)
            ),
            None => outln!(
                "{:<20} not tested: {} repetitions, the cautious start",
                e.id(),
                e.dose.reps.map_or(1, |r| r.get())
            ),
        }
    }
    if h.max_test_requested.is_some() {
        outln!("a max test is planned for the next strength day (program = \"auto\")");
    }
    outln!(
        "a max test: `{}` as the program (004: as many as you can; say stop after the last one)",
        adapt::MAX_TEST
    );
    Ok(ExitCode::SUCCESS)
}

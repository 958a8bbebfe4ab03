//! The pages, as maud templates compiled into the binary: pairing, Today,
//! Progress (and its print view), Settings, Record your voice. English and
//! Dutch, in the coach's language.

use super::charts;
use super::Live;
use super::{Shared, St, VoiceQuery};
use crate::adapt;
use crate::config::Config;
use crate::content::{Content, Lang, Phase, Text};
use crate::journal::{report, Date, History, MaxInfo, Stamp};
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

/// What the progress pages read from the journal.
pub struct Journal {
    pub history: History,
    pub phases: Vec<(Stamp, Option<Phase>)>,
    pub maxima: Vec<MaxInfo>,
}

/// The page's words: src/web/words.toml, compiled in.
const WORDS_FILE: &str = "src/web/words.toml";
const WORDS_TOML: &str = include_str!("words.toml");

/// The words by key, parsed on first use. A file that does not parse is
/// logged and leaves no words, so every page shows "?" rather than the
/// coach stopping.
static WORDS: LazyLock<BTreeMap<String, Text>> = LazyLock::new(|| {
    parse_words(WORDS_TOML).unwrap_or_else(|e| {
        log::error!("{WORDS_FILE} does not parse: {e}");
        BTreeMap::new()
    })
});

fn parse_words(text: &str) -> Result<BTreeMap<String, Text>, toml::de::Error> {
    toml::from_str(text)
}

/// The page's words: the one for `key` in `lang`, "?" for a key that is
/// not in src/web/words.toml.
pub fn t(lang: Lang, key: &str) -> &'static str {
    let words: &'static BTreeMap<String, Text> = &WORDS;
    words.get(key).map_or("?", |w| w.get(lang))
}

/// The live state in the coach's language: the state's name and, while
/// coaching or paused, the exercise's (from the content). Today renders
/// it and every live event carries it, so the script keeps no names.
pub fn live_label(lang: Lang, content: &Content, live: &Live) -> String {
    let state = t(lang, &format!("state_{}", live.state));
    let state = if state == "?" { live.state } else { state };
    if matches!(live.state, "coaching" | "paused") && !live.exercise.is_empty() {
        let name = content
            .exercise(&live.exercise)
            .map_or(live.exercise.as_str(), |e| e.name.get(lang));
        format!("{state}: {name}")
    } else {
        state.to_string()
    }
}

/// Today's program by its name in the coach's language (its id when the
/// content does not know it).
pub fn program_label(lang: Lang, content: &Content, live: &Live) -> String {
    content
        .program(&live.program)
        .map_or(live.program.clone(), |p| p.name.get(lang).to_string())
}

fn layout(lang: Lang, title: &str, nav: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "matcoach · " (title) }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/app.js" defer {}
            }
            body {
                @if nav {
                    nav {
                        a href="/" { (t(lang, "today")) }
                        a href="/history" { (t(lang, "progress")) }
                        a href="/settings" { (t(lang, "settings")) }
                        a href="/voice" { (t(lang, "voice")) }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

pub fn pair_markup(lang: Lang, message: Option<&str>, coach: bool) -> Markup {
    layout(
        lang,
        t(lang, "pair_title"),
        false,
        html! {
            p { (t(lang, "pair_intro")) }
            @if let Some(m) = message { p.message role="status" { (m) } }
            form method="post" action="/pair" {
                label for="code" { (t(lang, "code")) }
                input #code name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required;
                button type="submit" { (t(lang, "pair")) }
            }
            @if coach {
                form method="post" action="/pair/speak" {
                    button type="submit" { (t(lang, "speak")) }
                }
            }
        },
    )
}

pub async fn pair_page(State(shared): St) -> Markup {
    pair_markup(shared.config().language, None, shared.coach.is_some())
}

use axum::extract::State;

fn load(shared: &std::sync::Arc<Shared>) -> Result<Journal, String> {
    Ok(super::history(shared)?.unwrap_or(Journal {
        history: History::default(),
        phases: Vec::new(),
        maxima: Vec::new(),
    }))
}

async fn journal(shared: &std::sync::Arc<Shared>) -> Result<Journal, Response> {
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || load(&s)).await {
        Ok(Ok(j)) => Ok(j),
        Ok(Err(e)) => Err((axum::http::StatusCode::INTERNAL_SERVER_ERROR, e).into_response()),
        Err(e) => {
            Err((axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
        }
    }
}

/// Today's buttons: each is the button's name (`Button::parse`), its form's
/// path and its word's key.
const BUTTONS: [&str; 4] = ["start", "pause", "resume", "end"];

/// `GET /`: the next program and why, the live state, the buttons.
pub async fn today(State(shared): St) -> Response {
    let config = shared.config();
    let lang = config.language;
    let j = match journal(&shared).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let rules = adapt::Rules::for_config(&config);
    let date = crate::journal::today();
    let plan = adapt::plan(&shared.content, &rules, &j.history, date, &config.program);
    let live = shared.live.borrow().clone();
    let body = html! {
        section #next {
            h2 { (t(lang, "next")) }
            @match &plan {
                Ok(today) => {
                    @let minutes = crate::session::compile(&shared.content, &today.program, lang, &config.session(), &today.facts)
                        .map(|s| s.estimated.as_secs().div_ceil(60)).unwrap_or(0);
                    @let mut equipment: Vec<String> = today.program.items.iter()
                        .filter_map(|i| shared.content.exercise(i.exercise.get_ref()))
                        .flat_map(|e| e.equipment.iter().map(|q| format!("{q:?}").to_lowercase()))
                        .collect();
                    @let equipment = { equipment.sort(); equipment.dedup(); equipment };
                    p.program data-program=(today.program.id()) { strong { (today.program.name.get(lang)) } " (" (today.program.id()) ")" }
                    dl {
                        dt { (t(lang, "why")) } dd #why { (today.why) }
                        dt { (t(lang, "length")) } dd #length data-minutes=(minutes) { "~" (minutes) " min" }
                        dt { (t(lang, "equipment")) } dd #equipment {
                            @if equipment.is_empty() { (t(lang, "none")) } @else { (equipment.join(", ")) }
                        }
                    }
                    @if !today.left_out.is_empty() {
                        ul.left-out { @for l in &today.left_out { li { (format!("{l:?}")) } } }
                    }
                }
                Err(e) => { p #why.refusal { (e.to_string()) } }
            }
        }
        section #live data-state=(live.state) {
            h2 { (t(lang, "live")) }
            p { strong #live-state { (live_label(lang, &shared.content, &live)) } " " span #live-program { (program_label(lang, &shared.content, &live)) } }
            p #live-saying { (live.saying) }
            @if shared.coach.is_none() { p.note { (t(lang, "offline")) } }
            div.buttons {
                @for b in BUTTONS {
                    form method="post" action=(format!("/button/{b}")) {
                        button #(format!("btn-{b}")) type="submit" data-button=(b) disabled[shared.coach.is_none() || !live.allows(super::Button::parse(b).unwrap_or(super::Button::Start))] { (t(lang, b)) }
                    }
                }
            }
        }
    };
    layout(lang, t(lang, "today"), true, body).into_response()
}

/// The progress charts, for the page and the print view.
fn progress(shared: &Shared, config: &Config, j: &Journal, print: bool) -> Markup {
    let lang = config.language;
    let today = crate::journal::today();
    let weeks = 12;
    let a = report::adherence(&j.history, today, config.journal.weekly_goal_days, weeks);
    let labels: Vec<String> = a.weeks.iter().map(|w| w.label.clone()).collect();
    let sessions: Vec<u64> = a.weeks.iter().map(|w| u64::from(w.sessions)).collect();
    let minutes: Vec<u64> = a.weeks.iter().map(|w| w.minutes).collect();
    let met: Vec<bool> = a.weeks.iter().map(|w| w.goal_met).collect();
    let first_week = a.weeks.first().map_or(today, |w| w.start);
    let week_index = |d: Date| usize::try_from(d.week_start().since(first_week) / 7).ok();
    // Pain per exercise and per program, per week.
    let mut by_exercise: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut by_program: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for s in &j.history.sessions {
        let Some(w) = week_index(s.day).filter(|w| *w < labels.len()) else {
            continue;
        };
        for p in &s.pains {
            let ex = p.exercise.clone().unwrap_or_else(|| "-".into());
            by_exercise
                .entry(ex)
                .or_insert_with(|| vec![0; labels.len()])[w] += 1;
            by_program
                .entry(s.program.clone())
                .or_insert_with(|| vec![0; labels.len()])[w] += 1;
        }
    }
    // The McKenzie phases, from their first change on.
    let start = j
        .phases
        .first()
        .map(|p| p.0.date())
        .into_iter()
        .chain(j.history.sessions.first().map(|s| s.day))
        .min()
        .unwrap_or(today);
    let span = today.since(start).max(1);
    let phases: Vec<(i64, String, String)> = j
        .phases
        .iter()
        .map(|(at, p)| {
            (
                at.date().since(start),
                at.date().to_string(),
                p.map_or("none", |p| p.name()).to_string(),
            )
        })
        .collect();
    let mut maxima: BTreeMap<String, Vec<charts::Point>> = BTreeMap::new();
    let mut starts: BTreeMap<String, Vec<charts::Point>> = BTreeMap::new();
    for m in &j.maxima {
        let d = m.at.date();
        maxima.entry(m.exercise.clone()).or_default().push((
            d.since(start),
            d.to_string(),
            m.max_reps,
        ));
        starts
            .entry(format!("{} (startgetal)", m.exercise))
            .or_default()
            .push((d.since(start), d.to_string(), adapt::startgetal(m.max_reps)));
    }
    let series: Vec<charts::Series> = maxima.into_iter().chain(starts).collect();
    let _ = shared;
    html! {
        @if !print {
            p.links { a href="/history/print" { (t(lang, "print")) } " · " a href="/history.csv" download { (t(lang, "csv")) } }
        }
        section #streak data-weeks=(a.streak_weeks) data-goal=(a.goal_days) {
            h2 { (t(lang, "streak")) }
            p { strong { (a.streak_weeks) } " " (t(lang, "weeks_goal")) " " (a.goal_days) " " (t(lang, "days_week")) }
        }
        (charts::bars("chart-sessions", t(lang, "sessions_week"), &labels, &sessions, &met))
        (charts::bars("chart-minutes", t(lang, "minutes_week"), &labels, &minutes, &met))
        section #pain-exercise {
            h2 { (t(lang, "pain_exercise")) }
            @if by_exercise.is_empty() { p { (t(lang, "no_pain")) } }
            @for (ex, counts) in &by_exercise {
                (charts::bars(&format!("pain-ex-{ex}"), ex, &labels, counts, &[]))
            }
        }
        section #pain-program {
            h2 { (t(lang, "pain_program")) }
            @if by_program.is_empty() { p { (t(lang, "no_pain")) } }
            @for (p, counts) in &by_program {
                (charts::bars(&format!("pain-prog-{p}"), p, &labels, counts, &[]))
            }
        }
        (charts::timeline("chart-phases", t(lang, "phases"), span, &phases))
        (charts::lines("chart-maxima", t(lang, "maxima"), span, &series))
    }
}

fn sessions_table(lang: Lang, history: &History, notes: bool) -> Markup {
    html! {
        section #sessions {
            h2 { (t(lang, "sessions")) }
            @if history.sessions.is_empty() { p { (t(lang, "empty")) } }
            table {
                @for s in history.sessions.iter().rev().take(60) {
                    tr data-session=(s.id) {
                        td { (s.day.to_string()) " " (s.started.hm()) }
                        td { (s.program) }
                        td { (s.duration_ms() / 60_000) " min" }
                        td { (s.outcome.as_str()) }
                        td { @if !s.pains.is_empty() { "pain ×" (s.pains.len()) } }
                        td.note {
                            @if notes {
                                form method="post" action=(format!("/notes/{}", s.id)) {
                                    input name="text" value=(s.user_note) maxlength="500" aria-label=(t(lang, "note"));
                                    button type="submit" { (t(lang, "save_note")) }
                                }
                            } @else {
                                (s.user_note)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /history`: the progress page.
pub async fn history(State(shared): St) -> Response {
    progress_page(&shared, false).await
}

/// `GET /history/print`: the same for paper (no navigation, no forms).
pub async fn print(State(shared): St) -> Response {
    progress_page(&shared, true).await
}

/// The progress page on screen, or for paper (`print`: headed by today's
/// date, without navigation and with the notes as text).
async fn progress_page(shared: &std::sync::Arc<Shared>, print: bool) -> Response {
    let config = shared.config();
    let lang = config.language;
    let j = match journal(shared).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let charts = progress(shared, &config, &j, print);
    let sessions = sessions_table(lang, &j.history, !print);
    let body = if print {
        html! {
            div.print {
                p { (crate::journal::today().to_string()) }
                (charts)
                (sessions)
            }
        }
    } else {
        html! {
            (charts)
            (sessions)
        }
    };
    layout(lang, t(lang, "progress"), !print, body).into_response()
}

pub fn settings_markup(
    shared: &Shared,
    config: &Config,
    message: Option<(bool, String)>,
) -> Markup {
    let lang = config.language;
    let model = crate::hearing::installer::model_dir(&config.voice, lang);
    let model_ok = model.join("am").exists() || model.join("final.mdl").exists() || model.is_dir();
    let body = html! {
        @if let Some((ok, m)) = &message {
            pre.message.ok[*ok].error[!*ok] #settings-message role="status" { (m) }
        }
        form method="post" action="/settings" #settings {
            label { (t(lang, "language"))
                select name="language" {
                    @for l in Lang::ALL { option value=(l.code()) selected[l == config.language] { (l.code()) } }
                }
            }
            label { (t(lang, "program"))
                select name="program" {
                    option value="auto" selected[config.program == "auto"] { (t(lang, "auto")) }
                    @for p in &shared.content.programs {
                        option value=(p.id()) selected[config.program == p.id()] { (p.name.get(lang)) " (" (p.id()) ")" }
                    }
                }
            }
            label { (t(lang, "engine"))
                select name="engine" {
                    @for (v, sel) in [("espeak", config.speech.engine == crate::config::SpeechEngine::Espeak), ("piper", config.speech.engine == crate::config::SpeechEngine::Piper)] {
                        option value=(v) selected[sel] { (v) }
                    }
                }
            }
            label { (t(lang, "recorded_voice")) input name="recorded_voice" value=(config.speech.recorded_voice); }
            label { (t(lang, "volume")) input name="volume" inputmode="decimal" value=(config.audio.volume); }
            input type="hidden" name="include_advanced" value="off";
            label.check { input type="checkbox" name="include_advanced" value="on" checked[config.coach.include_advanced]; (t(lang, "include_advanced")) }
            label { (t(lang, "surgery_date")) input name="surgery_date" type="date" value=(config.coach.surgery_date); }
            p #model { (t(lang, "model")) ": " @if model_ok { (t(lang, "model_ok")) } @else { (t(lang, "model_missing")) } }
            button type="submit" { (t(lang, "save")) }
        }
    };
    layout(lang, t(lang, "settings"), true, body)
}

pub async fn settings_page(State(shared): St) -> Markup {
    let config = shared.config();
    settings_markup(&shared, &config, None)
}

/// `GET /voice`: every phrase with its text, recorded or not, and how many
/// of each program's phrases have a recording.
pub async fn voice_page(State(shared): St, Query(q): Query<VoiceQuery>) -> Response {
    let config = shared.config();
    let ui = config.language;
    let name = q
        .name
        .filter(|n| super::voice::valid_name(n))
        .unwrap_or_else(|| {
            if config.speech.recorded_voice.trim().is_empty() {
                "mine".to_string()
            } else {
                config.speech.recorded_voice.trim().to_string()
            }
        });
    let lang = q.lang.as_deref().and_then(Lang::parse).unwrap_or(ui);
    let dir = super::voices_dir(&config).join(&name).join(lang.code());
    let session = config.session();
    let lines = crate::session::all_lines(&shared.content, lang, &session);
    let has = |id: &str| Path::new(&dir).join(format!("{id}.wav")).exists();
    let per_program: Vec<(String, usize, usize)> = shared
        .content
        .programs
        .iter()
        .filter_map(|p| {
            let script = crate::session::compile(&shared.content, p, lang, &session, &()).ok()?;
            let mut ids: Vec<String> = crate::session::script_lines(&script)
                .into_iter()
                .map(|l| l.id.0)
                .collect();
            ids.sort();
            ids.dedup();
            let done = ids.iter().filter(|i| has(i)).count();
            Some((p.id().to_string(), done, ids.len()))
        })
        .collect();
    let body = html! {
        p { (t(ui, "voice_intro")) }
        form method="get" action="/voice" {
            label { (t(ui, "voice_name")) input name="name" value=(name) pattern="[A-Za-z0-9_-]{1,32}"; }
            select name="lang" { @for l in Lang::ALL { option value=(l.code()) selected[l == lang] { (l.code()) } } }
            button type="submit" { (t(ui, "show")) }
        }
        section #per-program {
            h2 { (t(ui, "per_program")) }
            ul { @for (p, done, all) in &per_program { li data-program=(p) data-recorded=(done) data-phrases=(all) { (p) ": " (done) " / " (all) } } }
        }
        table #phrases data-voice=(name) data-lang=(lang.code()) {
            @for l in &lines {
                tr data-phrase=(l.id.0) data-recorded=(has(&l.id.0)) {
                    td.id { code { (l.id.0) } }
                    td.text { (l.text) }
                    td.rec {
                        button.record type="button" { (t(ui, "record")) }
                        button.keep type="button" hidden { (t(ui, "keep")) }
                        audio controls preload="none" src=[has(&l.id.0).then(|| format!("/voice/{name}/{}/{}", lang.code(), l.id.0))] {}
                        span.status { @if has(&l.id.0) { (t(ui, "recorded")) } }
                    }
                }
            }
        }
    };
    layout(ui, t(ui, "voice"), true, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::Action;
    use crate::session::Led;

    /// The keys the web code asks `t` for by a string literal, its language
    /// being `lang` or `ui` (also through `pages::t`), in every src/web/*.rs.
    fn literal_keys() -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in ["t(lang, \"", "t(ui, \""] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    let key = &rest[..rest.find('"').unwrap()];
                    keys.push(key.to_string());
                }
            }
        }
        keys
    }

    #[test]
    fn every_word_the_pages_ask_for_is_here() {
        let words = parse_words(WORDS_TOML).unwrap();
        for (key, w) in &words {
            for lang in Lang::ALL {
                assert!(!w.get(lang).trim().is_empty(), "{key} {lang}");
            }
        }
        let literal = literal_keys();
        assert!(literal.len() > 40, "the scan found the calls: {literal:?}");
        // Every state `Live` can be in: as it starts, without a coach, after
        // each LED and after the coach stops.
        let mut states = vec![Live::starting().state, Live::offline().state];
        for led in [Led::Idle, Led::Running, Led::Paused, Led::Error] {
            let mut l = Live::starting();
            l.apply(&Action::SetLed(led));
            states.push(l.state);
        }
        let mut stopped = Live::starting();
        stopped.apply(&Action::Exit);
        states.push(stopped.state);
        let asked = literal
            .into_iter()
            .chain(BUTTONS.iter().map(|b| b.to_string()))
            .chain(states.iter().map(|s| format!("state_{s}")));
        for key in asked {
            assert!(words.contains_key(&key), "{key} is not in {WORDS_FILE}");
            assert_ne!(t(Lang::En, &key), "?", "{key}");
        }
        assert_eq!(t(Lang::Nl, "no_such_key"), "?");
    }

    #[test]
    fn live_states_in_the_coachs_language() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        let content = crate::content::load_dir(&dir).unwrap();
        let live = |state: &'static str, exercise: &str| Live {
            state,
            exercise: exercise.into(),
            ..Live::starting()
        };
        let rows = [
            (
                live("idle", ""),
                Lang::En,
                "idle: press Start or the button",
            ),
            (
                live("idle", ""),
                Lang::Nl,
                "klaar: druk op Start of op de knop",
            ),
            (live("coaching", ""), Lang::En, "coaching"),
            (
                live("coaching", "hf_cat_back"),
                Lang::En,
                "coaching: The cat back",
            ),
            (
                live("coaching", "hf_cat_back"),
                Lang::Nl,
                "bezig: De kattenrug",
            ),
            (
                live("paused", "hf_cat_back"),
                Lang::Nl,
                "gepauzeerd: De kattenrug",
            ),
            (live("paused", ""), Lang::En, "paused"),
            (live("fault", ""), Lang::En, "fault: see the status"),
            (live("fault", ""), Lang::Nl, "storing: zie de status"),
            (live("offline", ""), Lang::Nl, "draait hier niet"),
            (live("stopped", ""), Lang::Nl, "gestopt"),
            (live("starting", ""), Lang::Nl, "start op"),
        ];
        for (l, lang, want) in rows {
            assert_eq!(live_label(lang, &content, &l), want, "{l:?} {lang}");
        }
    }
}

//! The companion page (issue 17): progress as charts, settings, your own
//! recorded voice and notes per session, on the home network, locked until
//! a phone is paired. docs/web.md describes it.
//!
//! `matcoach run` serves it on the daemon's runtime, wired to the appliance
//! ([`Coach`]: the page's buttons go in as the push button's inputs, the
//! live state comes from the appliance's actions); `matcoach web` serves
//! it alone for a journal (no coaching, no devices).
//!
//! Every request passes [`guard`]: clients outside the home network are
//! refused (unless `[web] allow_public`), a changing request whose Origin
//! is another site is refused (CSRF), and everything but the pairing page
//! and its static files needs a paired session's cookie.

mod charts;
mod live;
mod pages;
pub mod pairing;
pub mod settings;
pub mod voice;

pub use live::{Button, Live};
pub use pairing::{Attempt, Pairing};

use crate::appliance;
use crate::config::Config;
use crate::content::Content;
use crate::session::Input;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Form, Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, watch};

/// What went wrong serving the page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr}: {detail}\n  fix: {fix}")]
    Listen {
        addr: String,
        detail: String,
        fix: String,
    },
    #[error("{}: the pairing state cannot be used ({detail})\n  fix: make the journal's directory writable by the coach, or delete the file (every phone then pairs again)", path.display())]
    PairingFile { path: PathBuf, detail: String },
    #[error("no random numbers for the pairing code: {0}")]
    Random(String),
    #[error("the pairing state's lock was poisoned")]
    Poisoned,
    #[error("the page stopped: {0}")]
    Serve(String),
}

/// Write `bytes` to `path` atomically: a temporary file beside it, synced,
/// then renamed over it (a power cut leaves the old file or the new one).
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    crate::durable::write_atomically(path, bytes, mode)
}

/// The daemon's side of the page: where the page's presses and requests
/// go, and the live state.
#[derive(Clone)]
pub struct Coach {
    /// The push button's inputs.
    pub inputs: mpsc::Sender<Input>,
    /// Appliance events (the spoken pairing code, new settings).
    pub events: mpsc::Sender<appliance::Event>,
    /// How long the button is held for "end" (longer than the long press).
    pub long_press: Duration,
}

/// Everything a request may need.
pub struct Shared {
    pub journal: PathBuf,
    pub layer: PathBuf,
    pub content: Arc<Content>,
    /// The config without the settings layer (the layer is validated on it).
    pub base: Config,
    /// The config in effect (with the layer).
    pub config: RwLock<Config>,
    pub pairing: Pairing,
    pub live: watch::Receiver<Live>,
    pub coach: Option<Coach>,
}

type St = State<Arc<Shared>>;

impl Shared {
    /// The page for the journal at `journal`, with `config` (already read
    /// with its layer) and `base` (without it).
    pub fn new(
        journal: PathBuf,
        base: Config,
        config: Config,
        content: Arc<Content>,
        live: watch::Receiver<Live>,
        coach: Option<Coach>,
    ) -> Shared {
        Shared {
            layer: crate::config::layer_path(&journal),
            pairing: Pairing::beside(&journal),
            journal,
            content,
            base,
            config: RwLock::new(config),
            live,
            coach,
        }
    }

    pub fn config(&self) -> Config {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// The page's routes, guarded.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/pair", get(pages::pair_page).post(pair))
        .route("/pair/speak", post(pair_speak))
        .route("/static/style.css", get(style))
        .route("/static/app.js", get(script))
        .route("/", get(pages::today))
        .route("/events", get(events))
        .route("/button/{which}", post(button))
        .route("/history", get(pages::history))
        .route("/history/print", get(pages::print))
        .route("/history.csv", get(csv))
        .route("/notes/{session}", post(note))
        .route("/settings", get(pages::settings_page).post(settings_post))
        .route("/voice", get(pages::voice_page))
        .route(
            "/voice/{name}/{lang}/{phrase}",
            get(voice_clip).post(voice_upload),
        )
        .layer(DefaultBodyLimit::max(voice::MAX_UPLOAD + 64 * 1024))
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

/// Serve the page on `addr` until `stop` resolves. Reports the address it
/// listens on through `bound` (port 0 picks a free port).
pub async fn serve(
    shared: Arc<Shared>,
    addr: SocketAddr,
    bound: impl FnOnce(SocketAddr),
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| WebError::Listen {
            addr: addr.to_string(),
            detail: e.to_string(),
            fix: if e.kind() == std::io::ErrorKind::AddrInUse {
                "another program uses this port: set another in [web] listen (or --listen), or stop the other program".into()
            } else {
                "set [web] listen (or --listen) to an address of this machine, e.g. 0.0.0.0:8080".into()
            },
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| WebError::Serve(e.to_string()))?;
    bound(local);
    axum::serve(
        listener,
        router(shared).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
    .map_err(|e| WebError::Serve(e.to_string()))
}

/// Whether `ip` is on a home network: private, link-local, loopback or
/// unique-local (IPv6). Anything else is the internet.
pub fn is_home(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_home(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Routes an unpaired client may use.
fn public(method: &Method, path: &str) -> bool {
    matches!(
        (method.as_str(), path),
        ("GET" | "HEAD", "/pair")
            | ("POST", "/pair")
            | ("POST", "/pair/speak")
            | ("GET" | "HEAD", "/static/style.css")
            | ("GET" | "HEAD", "/static/app.js")
    )
}

/// The session token from the request's cookie.
fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == pairing::COOKIE)
        .map(|(_, v)| v.to_string())
}

/// A changing request from another site: its Origin (or, without one, its
/// Sec-Fetch-Site) says so.
fn cross_site(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        return authority.is_empty() || !authority.eq_ignore_ascii_case(host);
    }
    headers
        .get("sec-fetch-site")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|s| s == "cross-site")
}

/// The guard every request passes (see the module documentation); it also
/// adds the security headers to every answer.
async fn guard(
    State(shared): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let allow_public = shared.config().web.allow_public;
    let mut response = if !allow_public && !is_home(peer.ip()) {
        (
            StatusCode::FORBIDDEN,
            "matcoach answers the home network only\n",
        )
            .into_response()
    } else if !matches!(*request.method(), Method::GET | Method::HEAD)
        && cross_site(request.headers())
    {
        (
            StatusCode::FORBIDDEN,
            "refused: a request from another site\n",
        )
            .into_response()
    } else if public(request.method(), request.uri().path())
        || token(request.headers()).is_some_and(|t| shared.pairing.is_paired(&t))
    {
        next.run(request).await
    } else if *request.method() == Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
    {
        Redirect::to("/pair").into_response()
    } else {
        (StatusCode::UNAUTHORIZED, "pair this device first: /pair\n").into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/style.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("static/app.js"),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct CodeForm {
    code: String,
}

/// `POST /pair`: a right code sets the session cookie; the fifth wrong
/// one in a row locks pairing for a minute (429).
async fn pair(State(shared): St, Form(form): Form<CodeForm>) -> Response {
    let lang = shared.config().language;
    match shared.pairing.attempt(&form.code, SystemTime::now()) {
        Ok(Attempt::Paired(token)) => {
            // Long-lived: ten years; `matcoach pair --revoke` ends it.
            let cookie = format!(
                "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=315360000",
                pairing::COOKIE
            );
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, cookie),
                    (header::LOCATION, "/".to_string()),
                ],
            )
                .into_response()
        }
        Ok(Attempt::Wrong) => (
            StatusCode::UNAUTHORIZED,
            pages::pair_markup(
                lang,
                Some(pages::t(lang, "wrong_code")),
                shared.coach.is_some(),
            ),
        )
            .into_response(),
        Ok(Attempt::Throttled(wait)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
            pages::pair_markup(
                lang,
                Some(pages::t(lang, "throttled")),
                shared.coach.is_some(),
            ),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `POST /pair/speak`: a new code, spoken by the coach (only someone in
/// the room hears it).
async fn pair_speak(State(shared): St) -> Response {
    let lang = shared.config().language;
    let Some(coach) = &shared.coach else {
        return (
            StatusCode::CONFLICT,
            pages::pair_markup(lang, Some(pages::t(lang, "no_coach")), false),
        )
            .into_response();
    };
    let code = match shared.pairing.new_code(SystemTime::now()) {
        Ok(c) => c,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let _ = coach
        .events
        .send(appliance::Event::SayPairingCode(code))
        .await;
    pages::pair_markup(lang, Some(pages::t(lang, "code_spoken")), true).into_response()
}

/// One live event: the state, and its words in the coach's language.
#[derive(serde::Serialize)]
struct LiveEvent<'a> {
    #[serde(flatten)]
    live: &'a Live,
    /// The state (and exercise) as Today shows it.
    label: String,
    /// Today's program by its name.
    program_label: String,
}

/// `GET /events`: the live state, as server-sent events.
async fn events(State(shared): St) -> Response {
    let rx = shared.live.clone();
    let state = (rx, true, shared);
    let stream = futures_util::stream::unfold(state, |(mut rx, first, shared)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let live = rx.borrow_and_update().clone();
        let lang = shared.config().language;
        let event = SseEvent::default()
            .json_data(LiveEvent {
                label: pages::live_label(lang, &shared.content, &live),
                program_label: pages::program_label(lang, &shared.content, &live),
                live: &live,
            })
            .unwrap_or_else(|_| SseEvent::default());
        Some((
            Ok::<_, std::convert::Infallible>(event),
            (rx, false, shared),
        ))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// `POST /button/{start|pause|resume|end}`: the push button, pressed and
/// released (held past the long press for "end").
async fn button(State(shared): St, UrlPath(which): UrlPath<String>) -> Response {
    let Some(b) = Button::parse(&which) else {
        return (StatusCode::NOT_FOUND, "no such button\n").into_response();
    };
    let Some(coach) = &shared.coach else {
        return (
            StatusCode::CONFLICT,
            "the coach is not running here (matcoach web serves the journal only)\n",
        )
            .into_response();
    };
    let live = shared.live.borrow().clone();
    if !live.allows(b) {
        return (
            StatusCode::CONFLICT,
            format!("not now: the coach is {}\n", live.state),
        )
            .into_response();
    }
    let held = if b.long() {
        coach.long_press + Duration::from_millis(200)
    } else {
        Duration::from_millis(100)
    };
    if coach.inputs.send(Input::ButtonPressed).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the coach has stopped\n").into_response();
    }
    tokio::time::sleep(held).await;
    let _ = coach.inputs.send(Input::ButtonReleased).await;
    Redirect::to("/").into_response()
}

/// The journal, opened read-only for a page (None: no journal yet).
fn history(shared: &Shared) -> Result<Option<pages::Journal>, String> {
    match crate::journal::JournalStore::open_existing(&shared.journal) {
        Ok(o) => {
            let store = o.store;
            let h = store.history(None).map_err(|e| e.to_string())?;
            let phases = store.phase_changes().map_err(|e| e.to_string())?;
            let maxima = store.maxima_over_time().map_err(|e| e.to_string())?;
            Ok(Some(pages::Journal {
                history: h,
                phases,
                maxima,
            }))
        }
        Err(crate::journal::JournalError::Missing { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

async fn csv(State(shared): St) -> Response {
    let s = shared.clone();
    let found = tokio::task::spawn_blocking(move || history(&s)).await;
    match found {
        Ok(Ok(j)) => {
            let sessions = j.map(|j| j.history.sessions).unwrap_or_default();
            match crate::journal::report::csv(&sessions) {
                Ok(text) => (
                    [
                        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                        (
                            header::CONTENT_DISPOSITION,
                            "attachment; filename=\"matcoach-history.csv\"",
                        ),
                    ],
                    text,
                )
                    .into_response(),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            }
        }
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct NoteForm {
    text: String,
}

/// The longest note kept.
const NOTE_MAX: usize = 500;

/// `POST /notes/{session}`: the user's note on a session.
async fn note(
    State(shared): St,
    UrlPath(session): UrlPath<i64>,
    Form(form): Form<NoteForm>,
) -> Response {
    let text = form.text.trim().to_string();
    if text.chars().count() > NOTE_MAX {
        return (
            StatusCode::BAD_REQUEST,
            format!("the note is longer than {NOTE_MAX} characters: shorten it\n"),
        )
            .into_response();
    }
    let path = shared.journal.clone();
    let r = tokio::task::spawn_blocking(move || {
        let mut store = crate::journal::JournalStore::open_existing(&path)?.store;
        store.add_note(session, &text, crate::journal::local_now())
    })
    .await;
    match r {
        Ok(Ok(())) => Redirect::to("/history#sessions").into_response(),
        Ok(Err(e)) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `POST /settings`: validated as the config is, written to the layer,
/// applied to the coach (the next session uses it) or a restart asked for.
async fn settings_post(State(shared): St, Form(form): Form<settings::Form>) -> Response {
    let current = shared.config();
    let lang = current.language;
    match settings::apply(&shared.base, &current, &shared.layer, &form) {
        Ok(applied) => {
            if let Ok(mut c) = shared.config.write() {
                *c = applied.config.clone();
            }
            let mut message = pages::t(lang, "saved").to_string();
            if let Some(coach) = &shared.coach {
                let s = appliance::Settings::from_config(&applied.config);
                let _ = coach
                    .events
                    .send(appliance::Event::Settings(Box::new(s)))
                    .await;
                if !applied.restart_for.is_empty() {
                    message = format!(
                        "{} {}",
                        pages::t(lang, "restart_needed"),
                        applied.restart_for.join(", ")
                    );
                }
            }
            pages::settings_markup(&shared, &applied.config, Some((true, message))).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            pages::settings_markup(&shared, &current, Some((false, e.to_string()))),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct VoiceAt {
    name: String,
    lang: String,
    phrase: String,
}

/// The clip's file, when name, language and phrase are all known: the
/// phrase must be one of the coach's, so no path can be built from the URL.
fn clip_path(shared: &Shared, at: &VoiceAt) -> Result<PathBuf, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    if !voice::valid_name(&at.name) {
        return Err(bad(format!(
            "\"{}\" cannot name a voice: use letters, digits, - and _ (at most 32)\n",
            at.name
        )));
    }
    let Some(lang) = crate::content::Lang::parse(&at.lang) else {
        return Err(bad(format!(
            "unknown language \"{}\": use en or nl\n",
            at.lang
        )));
    };
    let phrase = at.phrase.strip_suffix(".wav").unwrap_or(&at.phrase);
    let config = shared.config();
    let known = crate::session::all_lines(&shared.content, lang, &config.session())
        .into_iter()
        .any(|l| l.id.0 == phrase);
    if !known {
        return Err(bad(format!(
            "\"{phrase}\" is not a phrase of the coach (see `matcoach phrases`)\n"
        )));
    }
    Ok(voices_dir(&config)
        .join(&at.name)
        .join(lang.code())
        .join(format!("{phrase}.wav")))
}

/// Where recorded voices live (relative paths from the working directory,
/// as the speech does).
pub fn voices_dir(config: &Config) -> PathBuf {
    config.speech.voices_dir.clone()
}

async fn voice_clip(State(shared): St, UrlPath(at): UrlPath<VoiceAt>) -> Response {
    let path = match clip_path(&shared, &at) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
        Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response(),
        _ => (StatusCode::NOT_FOUND, "not recorded yet\n").into_response(),
    }
}

/// `POST /voice/{name}/{lang}/{phrase}`: a recorded clip (WAV), checked
/// and kept.
async fn voice_upload(State(shared): St, UrlPath(at): UrlPath<VoiceAt>, body: Bytes) -> Response {
    let path = match clip_path(&shared, &at) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let phrase = at.phrase.clone();
    let r = tokio::task::spawn_blocking(move || {
        let info =
            voice::check(&body, &phrase).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
        write_atomically(&path, &body, 0o640).map_err(|e| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{}: {e}\n", path.display()),
            )
        })?;
        Ok::<_, (StatusCode, String)>(info)
    })
    .await;
    match r {
        Ok(Ok(info)) => (
            StatusCode::OK,
            format!(
                "kept: {:.2} s, loudest {:.0} dBFS\n",
                info.secs, info.peak_dbfs
            ),
        )
            .into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct VoiceQuery {
    pub name: Option<String>,
    pub lang: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_addresses_only() {
        let rows = [
            ("192.168.1.20", true),
            ("10.0.0.5", true),
            ("172.16.3.4", true),
            ("127.0.0.1", true),
            ("169.254.1.1", true),
            ("8.8.8.8", false),
            ("::1", true),
            ("fe80::1", true),
            ("fd00::1", true),
            ("2001:4860::8888", false),
            ("::ffff:192.168.1.2", true),
            ("::ffff:8.8.8.8", false),
        ];
        for (ip, want) in rows {
            assert_eq!(is_home(ip.parse().unwrap()), want, "{ip}");
        }
    }

    #[test]
    fn origin_of_another_site_is_cross_site() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        assert!(!cross_site(&h(&[
            ("host", "pi:8080"),
            ("origin", "http://pi:8080")
        ])));
        assert!(cross_site(&h(&[
            ("host", "pi:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(cross_site(&h(&[("host", "pi:8080"), ("origin", "null")])));
        assert!(cross_site(&h(&[
            ("host", "pi:8080"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!cross_site(&h(&[("host", "pi:8080")])));
    }
}

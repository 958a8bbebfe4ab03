//! The companion page (issue 17): a real `matcoach web` over a journal
//! filled by `sim --db` over simulated weeks, driven by a real headless
//! browser (Debian's chromium, through the DevTools protocol), and the
//! security rules checked over plain HTTP. Screenshots of each page at
//! phone and desktop width go to target/web-screenshots/ (not committed).

mod common;
use common::bin_support::*;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use matcoach::journal::{report, JournalStore};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// A `matcoach web` for a journal of its own, with a config whose voices
/// go to the temporary directory too.
struct Served {
    dir: tempfile::TempDir,
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn db(&self) -> PathBuf {
        self.dir.path().join("journal.sqlite")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn cmd<const N: usize>(&self, args: [&str; N]) -> std::process::Output {
        let mut c = command(["--config", self.config().to_str().unwrap()]);
        c.args(args);
        c.output().unwrap()
    }

    fn pair_code(&self) -> String {
        let out = self.cmd(["pair", "--db", self.db().to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

/// The journal: three weeks of `sim auto --db`, some sessions with pain,
/// the McKenzie phase begun and a maximum entered.
fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let root = common::root();
    let text = std::fs::read_to_string(root.join("config/matcoach.toml")).unwrap();
    let text = text
        .replace(
            "content_dir = \"content\"",
            &format!("content_dir = {:?}", root.join("content")),
        )
        .replace(
            "voices_dir = \"audio/voices\"",
            &format!("voices_dir = {:?}", dir.path().join("voices")),
        );
    assert!(
        text.contains("voices_dir = \"/"),
        "the voices go to the temp dir"
    );
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    let db = dir.path().join("journal.sqlite");
    let config = dir.path().join("config.toml");
    let today = matcoach::journal::today();
    for (k, back) in [20, 19, 17, 15, 13, 12, 10, 8, 6, 5, 3, 1]
        .into_iter()
        .enumerate()
    {
        let date = today.add_days(-back).to_string();
        let events = if k % 4 == 1 {
            "0s:press,95s:heard=pain"
        } else {
            "0s:press"
        };
        let out = command(["--config", config.to_str().unwrap()])
            .args(["sim", "auto", "--db", db.to_str().unwrap(), "--date", &date])
            .args(["--events", events])
            .output()
            .unwrap();
        assert!(out.status.success(), "sim on {date}: {out:?}");
    }
    let calibrate = command(["--config", config.to_str().unwrap()])
        .args(["calibrate", "--set", "sr_abdominals=20", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(calibrate.status.success(), "{calibrate:?}");
    let mut child = command(["--config", config.to_str().unwrap()])
        .args([
            "web",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Served { dir, child, url }
}

/// Plain HTTP: no redirects followed, every status an answer.
fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into()
}

struct Answer {
    status: u16,
    body: String,
    cookie: Option<String>,
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.unwrap();
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(String::from);
    Answer {
        status: r.status().as_u16(),
        body: r.body_mut().read_to_string().unwrap_or_default(),
        cookie,
    }
}

fn get(url: &str, cookie: Option<&str>) -> Answer {
    let mut req = http().get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    answer(req.call())
}

fn post(url: &str, origin: &str, cookie: Option<&str>, ctype: &str, body: &[u8]) -> Answer {
    answer(send_post(url, origin, cookie, ctype, body))
}

fn send_post(
    url: &str,
    origin: &str,
    cookie: Option<&str>,
    ctype: &str,
    body: &[u8],
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let mut req = http()
        .post(url)
        .header("Origin", origin)
        .header("Content-Type", ctype);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send(body)
}

fn paired_cookie(s: &Served) -> String {
    let code = s.pair_code();
    let a = post(
        &format!("{}/pair", s.url),
        &s.url,
        None,
        "application/x-www-form-urlencoded",
        format!("code={code}").as_bytes(),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    a.cookie.expect("a session cookie")
}

/// A WAV of a tone: `secs` long at `amp` of full scale.
fn tone(secs: f64, amp: f32) -> Vec<u8> {
    let samples = (0..(secs * 16_000.0) as usize)
        .map(|i| {
            let v = amp * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 16_000.0).sin();
            (v * 32767.0) as i16
        })
        .collect();
    matcoach::audio::wav::encode(&matcoach::audio::Clip::new(16_000, samples)).unwrap()
}

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/history"),
    ("GET", "/history/print"),
    ("GET", "/history.csv"),
    ("GET", "/events"),
    ("GET", "/settings"),
    ("POST", "/settings"),
    ("GET", "/voice"),
    ("GET", "/voice/mine/en/sys.ready"),
    ("POST", "/voice/mine/en/sys.ready"),
    ("POST", "/notes/1"),
    ("POST", "/button/start"),
];

#[test]
fn unpaired_every_route_is_refused_and_nothing_leaks() {
    let s = serve();
    let programs: Vec<String> = JournalStore::open_existing(&s.db())
        .unwrap()
        .store
        .history(None)
        .unwrap()
        .sessions
        .iter()
        .map(|x| x.program.clone())
        .collect();
    assert!(!programs.is_empty());
    for (method, route) in ROUTES {
        let url = format!("{}{route}", s.url);
        let a = match *method {
            "GET" => get(&url, None),
            _ => post(
                &url,
                &s.url,
                None,
                "application/x-www-form-urlencoded",
                b"volume=0.1&text=x",
            ),
        };
        assert!(
            [401, 403, 303].contains(&a.status),
            "{method} {route}: {}",
            a.status
        );
        for p in &programs {
            assert!(!a.body.contains(p.as_str()), "{method} {route} leaks {p}");
        }
        // A forged cookie is no better.
        let a = get(&url, Some("matcoach_session=".to_string().as_str()));
        assert!(
            [401, 403, 303].contains(&a.status),
            "{route} with an empty cookie"
        );
    }
    // The pairing page and its static files are open.
    for route in ["/pair", "/static/style.css", "/static/app.js"] {
        assert_eq!(
            get(&format!("{}{route}", s.url), None).status,
            200,
            "{route}"
        );
    }
    // Nothing was changed by the refused requests.
    assert!(!s.dir.path().join("settings.toml").exists());
    assert!(!s.dir.path().join("voices").exists());
}

#[test]
fn five_wrong_codes_throttle_and_revoke_ends_sessions() {
    let s = serve();
    let code = s.pair_code();
    let wrong = if code == "123456" { "654321" } else { "123456" };
    let form = "application/x-www-form-urlencoded";
    let url = format!("{}/pair", s.url);
    for i in 0..5 {
        let a = post(&url, &s.url, None, form, format!("code={wrong}").as_bytes());
        assert_eq!(a.status, 401, "wrong code {i}");
    }
    // The right code, now throttled.
    let a = post(&url, &s.url, None, form, format!("code={code}").as_bytes());
    assert_eq!(a.status, 429, "{}", a.body);
    // Revoked: a paired session's cookie stops working at once.
    let s2 = serve();
    let cookie = paired_cookie(&s2);
    assert_eq!(
        get(&format!("{}/history", s2.url), Some(&cookie)).status,
        200
    );
    let out = s2.cmd(["pair", "--revoke", "--db", s2.db().to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(
        get(&format!("{}/history", s2.url), Some(&cookie)).status,
        401
    );
}

#[test]
fn cross_site_posts_traversal_and_bad_uploads_are_refused() {
    let s = serve();
    let cookie = paired_cookie(&s);
    let form = "application/x-www-form-urlencoded";
    // A forged cross-site POST, even with the cookie a browser would send.
    for route in ["/settings", "/notes/1", "/button/start", "/pair"] {
        let a = post(
            &format!("{}{route}", s.url),
            "http://evil.example",
            Some(&cookie),
            form,
            b"volume=0.1&text=x&code=000000",
        );
        assert_eq!(a.status, 403, "{route}");
    }
    assert!(!s.dir.path().join("settings.toml").exists());
    // Path traversal in the voice name, the language and the phrase id.
    let wav = tone(0.5, 0.5);
    for route in [
        "/voice/..%2F..%2Fetc/en/sys.ready",
        "/voice/mine/..%2F..%2Fx/sys.ready",
        "/voice/mine/en/..%2F..%2F..%2Fconfig",
        "/voice/mine/en/sys.ready%2F..%2F..%2Fx",
        "/voice/.../en/sys.ready",
    ] {
        let a = post(
            &format!("{}{route}", s.url),
            &s.url,
            Some(&cookie),
            "audio/wav",
            &wav,
        );
        assert!(
            [400, 404].contains(&a.status),
            "{route}: {} {}",
            a.status,
            a.body
        );
    }
    // Not a WAV, too big, too long for a count: a clear error, nothing kept.
    let ogg = b"OggS\0\x02 this is not a wav".to_vec();
    let big = vec![0u8; 5 * 1024 * 1024];
    for (route, body, want) in [
        ("/voice/mine/en/sys.ready", ogg, "not a WAV"),
        (
            "/voice/mine/en/sys.count.3",
            tone(1.5, 0.5),
            "must fit its second",
        ),
        ("/voice/mine/en/sys.ready", tone(1.0, 0.005), "too quiet"),
    ] {
        let a = post(
            &format!("{}{route}", s.url),
            &s.url,
            Some(&cookie),
            "audio/wav",
            &body,
        );
        assert!([400, 413].contains(&a.status), "{route}: {}", a.status);
        assert!(a.body.contains(want), "{route}: {}", a.body);
    }
    // Too big: refused from its Content-Length with 413, before the body is
    // read, so the server may close the connection while the client is
    // still sending; then the client sees the connection broken instead.
    match send_post(
        &format!("{}/voice/mine/en/sys.ready", s.url),
        &s.url,
        Some(&cookie),
        "audio/wav",
        &big,
    ) {
        Ok(r) => assert_eq!(answer(Ok(r)).status, 413),
        Err(ureq::Error::Io(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        ),
        Err(e) => panic!("the oversized upload: {e}"),
    }
    assert!(!s.dir.path().join("voices").exists(), "nothing kept");
    // A good one is kept where the speech looks for it.
    let a = post(
        &format!("{}/voice/mine/en/sys.ready", s.url),
        &s.url,
        Some(&cookie),
        "audio/wav",
        &tone(0.8, 0.5),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(s.dir.path().join("voices/mine/en/sys.ready.wav").exists());
    // A bad setting names its field and changes nothing.
    let a = post(
        &format!("{}/settings", s.url),
        &s.url,
        Some(&cookie),
        form,
        b"volume=3",
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains("audio.volume"), "{}", a.body);
    assert!(!s.dir.path().join("settings.toml").exists());
}

fn browser(width: u32, height: u32) -> Browser {
    browser_with(width, height, &[])
}

/// A headless chromium with extra command-line `args`.
fn browser_with(width: u32, height: u32, args: &[&std::ffi::OsStr]) -> Browser {
    Browser::new(
        LaunchOptions::default_builder()
            .path(Some(PathBuf::from("/usr/bin/chromium")))
            .sandbox(false)
            .window_size(Some((width, height)))
            .idle_browser_timeout(Duration::from_secs(120))
            .args(args.to_vec())
            .build()
            .unwrap(),
    )
    .expect("chromium (Debian's `chromium` package; scripts/test installs it)")
}

/// Wait (up to `secs` seconds) until the page's `expr` is true; panics with
/// `what` and the page's text when it never is.
fn wait_js(tab: &Tab, expr: &str, secs: u64, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if js(tab, expr) == serde_json::Value::Bool(true) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{what}: never true within {secs} s: {expr}\n{}",
        js(tab, "document.body.innerText")
    );
}

fn screenshot(tab: &Tab, name: &str) {
    let dir = common::root().join("target/web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

fn js(tab: &Tab, expr: &str) -> serde_json::Value {
    tab.evaluate(expr, true)
        .unwrap()
        .value
        .unwrap_or(serde_json::Value::Null)
}

/// Run `script`, which submits a form, and wait for the next page.
fn submit(tab: &Tab, script: &str) {
    tab.evaluate(script, false).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    tab.wait_until_navigated().unwrap();
}

/// Pair in the browser with a code from `matcoach pair`.
fn pair_in(tab: &Arc<Tab>, s: &Served) {
    pair_at(tab, &s.url, &s.pair_code());
}

/// Pair the browser with the page at `url` using `code`.
fn pair_at(tab: &Arc<Tab>, url: &str, code: &str) {
    tab.navigate_to(&format!("{url}/"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    assert!(
        tab.get_url().ends_with("/pair"),
        "unpaired goes to /pair: {}",
        tab.get_url()
    );
    tab.wait_for_element("#code").unwrap();
    submit(
        tab,
        &format!(
            "document.getElementById('code').value = '{code}'; document.querySelector('form[action=\"/pair\"]').submit()"
        ),
    );
    if tab.wait_for_element("#next").is_err() {
        panic!(
            "not paired: {} {}",
            tab.get_url(),
            tab.get_content().unwrap_or_default()
        );
    }
}

#[test]
fn in_a_browser_pair_read_the_charts_change_a_setting_record_a_phrase() {
    let s = serve();
    let b = browser(390, 844);
    let tab = b.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(20));
    pair_in(&tab, &s);
    screenshot(&tab, "phone-today");
    // The program the coach would run next, and why.
    let next = js(
        &tab,
        "document.querySelector('#next .program').dataset.program",
    );
    assert!(next.as_str().is_some_and(|p| !p.is_empty()), "{next:?}");
    let why = js(&tab, "document.getElementById('why').textContent");
    assert!(why.as_str().is_some_and(|w| !w.is_empty()));
    // The live state arrives by server-sent events: `offline` here.
    let state = js(
        &tab,
        "new Promise(r => setTimeout(() => r(document.getElementById('live').dataset.state), 500))",
    );
    assert_eq!(state, "offline");

    // Progress: each chart, with the journal's numbers.
    tab.navigate_to(&format!("{}/history", s.url))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("#chart-sessions").unwrap();
    screenshot(&tab, "phone-history");
    let history = JournalStore::open_existing(&s.db())
        .unwrap()
        .store
        .history(None)
        .unwrap();
    let a = report::adherence(&history, matcoach::journal::today(), 3, 12);
    let read = |chart: &str| -> Vec<u64> {
        let v = js(
            &tab,
            &format!("JSON.stringify([...document.querySelectorAll('#{chart} rect.bar')].map(r => +r.dataset.value))"),
        );
        serde_json::from_str(v.as_str().unwrap()).unwrap()
    };
    let want_sessions: Vec<u64> = a.weeks.iter().map(|w| u64::from(w.sessions)).collect();
    let want_minutes: Vec<u64> = a.weeks.iter().map(|w| w.minutes).collect();
    assert_eq!(read("chart-sessions"), want_sessions);
    assert_eq!(read("chart-minutes"), want_minutes);
    assert!(want_sessions.iter().sum::<u64>() >= 10, "{want_sessions:?}");
    let streak = js(&tab, "+document.getElementById('streak').dataset.weeks");
    assert_eq!(streak.as_u64(), Some(u64::from(a.streak_weeks)));
    let pains: usize = history.sessions.iter().map(|x| x.pains.len()).sum();
    assert!(pains > 0);
    let shown = js(
        &tab,
        "[...document.querySelectorAll('#pain-exercise rect.bar')].reduce((s, r) => s + +r.dataset.value, 0)",
    );
    assert_eq!(
        shown.as_u64(),
        Some(pains as u64),
        "pain reports per exercise"
    );
    let shown = js(
        &tab,
        "[...document.querySelectorAll('#pain-program rect.bar')].reduce((s, r) => s + +r.dataset.value, 0)",
    );
    assert_eq!(
        shown.as_u64(),
        Some(pains as u64),
        "pain reports per program"
    );
    let maxima = js(
        &tab,
        "[...document.querySelectorAll('#chart-maxima circle')].map(c => c.dataset.series + '=' + c.dataset.value).join(' ')",
    );
    // Every max test of the simulated weeks and the maximum entered by
    // hand, then the startgetal of each (as adapt::startgetal computes
    // it), per exercise in time order.
    let all = JournalStore::open_existing(&s.db())
        .unwrap()
        .store
        .maxima_over_time()
        .unwrap();
    assert!(all.iter().any(|m| m.source == "max_test") && all.iter().any(|m| m.source == "manual"));
    let mut per: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
    for m in &all {
        per.entry(m.exercise.clone()).or_default().push(m.max_reps);
    }
    let mut want: Vec<String> = Vec::new();
    for (ex, v) in &per {
        want.extend(v.iter().map(|m| format!("{ex}={m}")));
    }
    for (ex, v) in &per {
        want.extend(
            v.iter()
                .map(|m| format!("{ex} (startgetal)={}", matcoach::adapt::startgetal(*m))),
        );
    }
    assert_eq!(maxima, want.join(" "), "max and startgetal");

    // A note on the latest session, shown in the history.
    let id = history.sessions.last().unwrap().id;
    tab.wait_for_element(&format!("tr[data-session='{id}'] input[name=text]"))
        .unwrap();
    submit(
        &tab,
        &format!(
            "const f = document.querySelector(\"tr[data-session='{id}'] form\"); f.text.value = 'felt stiff after driving'; f.submit()"
        ),
    );
    tab.wait_for_element("#sessions").unwrap();
    let note = JournalStore::open_existing(&s.db())
        .unwrap()
        .store
        .history(None)
        .unwrap()
        .sessions
        .last()
        .unwrap()
        .user_note
        .clone();
    assert_eq!(note, "felt stiff after driving");
    let out = s.cmd(["history", "--db", s.db().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("note: felt stiff after driving"));

    // A setting changed and read back.
    tab.navigate_to(&format!("{}/settings", s.url))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    screenshot(&tab, "phone-settings");
    submit(
        &tab,
        "document.querySelector('input[name=volume]').value = '0.45'; document.getElementById('settings').submit()",
    );
    tab.wait_for_element("#settings-message").unwrap();
    tab.navigate_to(&format!("{}/settings", s.url))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    let volume = js(&tab, "document.querySelector('input[name=volume]').value");
    assert_eq!(volume, "0.45");
    let layer = std::fs::read_to_string(s.dir.path().join("settings.toml")).unwrap();
    assert!(layer.contains("volume = 0.45"), "{layer}");

    // A phrase recorded (a generated WAV sent the way the recorder sends
    // its take), then played in a rendered session.
    tab.navigate_to(&format!("{}/voice", s.url))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    screenshot(&tab, "phone-voice");
    let status = js(
        &tab,
        r#"(async () => {
            const rate = 16000, n = rate * 2, buf = new DataView(new ArrayBuffer(44 + n * 2));
            const s = (o, t) => { for (let i = 0; i < t.length; i++) buf.setUint8(o + i, t.charCodeAt(i)); };
            s(0, "RIFF"); buf.setUint32(4, 36 + n * 2, true); s(8, "WAVE"); s(12, "fmt ");
            buf.setUint32(16, 16, true); buf.setUint16(20, 1, true); buf.setUint16(22, 1, true);
            buf.setUint32(24, rate, true); buf.setUint32(28, rate * 2, true); buf.setUint16(32, 2, true);
            buf.setUint16(34, 16, true); s(36, "data"); buf.setUint32(40, n * 2, true);
            for (let i = 0; i < n; i++) buf.setInt16(44 + i * 2, Math.round(16000 * Math.sin(2 * Math.PI * 1000 * i / rate)), true);
            const row = document.querySelector('tr[data-phrase="sys.ready"]');
            return await window.matcoachUpload(row, new Blob([buf], { type: "audio/wav" }));
        })()"#,
    );
    assert_eq!(status.as_u64(), Some(200));
    let clip = s.dir.path().join("voices/mine/en/sys.ready.wav");
    assert!(clip.exists());
    let recorded = js(
        &tab,
        "document.querySelector('tr[data-phrase=\"sys.ready\"]').dataset.recorded",
    );
    assert_eq!(recorded, "true");

    // Print view and CSV.
    tab.navigate_to(&format!("{}/history/print", s.url))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("#chart-sessions").unwrap();
    let csv = get(&format!("{}/history.csv", s.url), None);
    assert_eq!(csv.status, 401, "the CSV is locked too");

    // The desktop width.
    let d = browser(1280, 900);
    let tab = d.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(20));
    pair_in(&tab, &s);
    screenshot(&tab, "desktop-today");
    for page in ["history", "settings", "voice"] {
        tab.navigate_to(&format!("{}/{page}", s.url))
            .unwrap()
            .wait_until_navigated()
            .unwrap();
        screenshot(&tab, &format!("desktop-{page}"));
    }
}

/// The recorded phrase is what a rendered session plays: `render-session`
/// with the voice chosen holds the 1 kHz tone where the line is said.
#[test]
fn a_recorded_phrase_is_played_in_a_rendered_session() {
    let s = serve();
    let cookie = paired_cookie(&s);
    let clip = tone(1.0, 0.6);
    let a = post(
        &format!("{}/voice/mine/en/sys.exercise_of.1.3", s.url),
        &s.url,
        Some(&cookie),
        "audio/wav",
        &clip,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let a = post(
        &format!("{}/settings", s.url),
        &s.url,
        Some(&cookie),
        "application/x-www-form-urlencoded",
        b"recorded_voice=mine",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let out_wav = s.dir.path().join("session.wav");
    // The settings layer beside the journal: render-session reads it when
    // the config's journal is that one.
    let config = std::fs::read_to_string(s.config())
        .unwrap()
        .replace("path = \"\"", &format!("path = {:?}", s.db()));
    std::fs::write(s.config(), config).unwrap();
    let out = s.cmd([
        "render-session",
        "quick",
        "--out",
        out_wav.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["phrase"] == "sys.exercise_of.1.3")
        .unwrap_or_else(|| panic!("sys.exercise_of.1.3 said: {stdout}"));
    let at_ms = said["t_ms"].as_u64().unwrap();
    let (spec, samples) = common::wav::read_any(&out_wav);
    let rate = f64::from(spec.sample_rate);
    let start = (at_ms as f64 / 1000.0 * rate) as usize;
    let window = &samples[start..start + (0.5 * rate) as usize];
    // The tone's energy at 440 Hz (Goertzel) against the rest.
    let k = 2.0 * (2.0 * std::f64::consts::PI * 440.0 / rate).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in window {
        let s0 = f64::from(*x) + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - k * s1 * s2) / window.len() as f64;
    let total: f64 = window.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>();
    assert!(
        power > 0.3 * total / 2.0,
        "the recorded tone is played: {power} of {total}"
    );
}

/// A real `matcoach run`: its sound card a sink that keeps nothing, no
/// GPIO, voice commands off, the journal in a private HOME, the page on a
/// free port of the loopback. Its log is collected as it comes.
#[cfg(feature = "speaker-rodio")]
struct Coach {
    home: tempfile::TempDir,
    child: Child,
    url: String,
    log: Arc<std::sync::Mutex<Vec<String>>>,
}

#[cfg(feature = "speaker-rodio")]
impl Coach {
    fn start(lang: &str) -> Coach {
        let home = tempfile::tempdir().unwrap();
        null_sound_card(home.path());
        let root = common::root();
        let text = std::fs::read_to_string(root.join("config/matcoach.toml")).unwrap();
        let mut text = text
            .replace(
                "content_dir = \"content\"",
                &format!("content_dir = {:?}", root.join("content")),
            )
            .replace("language = \"en\"", &format!("language = \"{lang}\""))
            .replace("listen = \"0.0.0.0:8080\"", "listen = \"127.0.0.1:0\"")
            // Short waits: the session reaches its first exercise soon, and
            // "end" (a long press) is held briefly.
            .replace("get_ready_secs = 15", "get_ready_secs = 2")
            .replace("long_press_ms = 2000", "long_press_ms = 600");
        // Voice commands off: the button (here: the page) alone.
        let at = text.find("[voice]").unwrap();
        let rel = text[at..].find("enabled = true").unwrap();
        text.replace_range(at + rel..at + rel + 14, "enabled = false");
        let config = home.path().join("config.toml");
        std::fs::write(&config, text).unwrap();
        let mut child = in_home(
            &mut command(["--config".as_ref(), config.as_os_str(), "run".as_ref()]),
            home.path(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("companion page on http://") {
                    let url = line[at..].split_whitespace().nth(3).unwrap_or("");
                    let _ = tx.send(url.trim_end_matches('/').to_string());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no page address in {:?}", log.lock().unwrap()));
        Coach {
            home,
            child,
            url,
            log,
        }
    }

    fn db(&self) -> PathBuf {
        self.home.path().join("data/matcoach/journal.sqlite")
    }

    fn pair_code(&self) -> String {
        let config = self.home.path().join("config.toml");
        let out = in_home(
            &mut command(["--config".as_ref(), config.as_os_str(), "pair".as_ref()]),
            self.home.path(),
        )
        .arg("--db")
        .arg(self.db())
        .output()
        .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// SIGTERM; it stops cleanly.
    fn stop(mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let log = self.log.lock().unwrap().join("\n");
        assert!(exit.success(), "exit {exit:?}\n{log}");
        assert!(!log.contains("panicked"), "{log}");
    }
}

#[cfg(feature = "speaker-rodio")]
impl Drop for Coach {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The page's buttons on a real daemon, in both languages: Start pressed
/// on the page starts a session, the live state follows (by server-sent
/// events, in the coach's language, naming the exercise), Pause, Resume
/// and End act as the push button, and the journal holds the session,
/// ended by the user, as the page's history shows it.
#[cfg(feature = "speaker-rodio")]
#[test]
fn the_pages_buttons_drive_a_real_daemon_and_the_journal_holds_the_session() {
    use matcoach::content::Lang;
    use matcoach::journal::Outcome;
    // (language, idle, coaching, paused) as the page must say them.
    let rows = [
        (
            Lang::En,
            "idle: press Start or the button",
            "coaching",
            "paused",
        ),
        (
            Lang::Nl,
            "klaar: druk op Start of op de knop",
            "bezig",
            "gepauzeerd",
        ),
    ];
    // Both daemons start (and render their phrases) side by side.
    let coaches: Vec<Coach> = rows.iter().map(|r| Coach::start(r.0.code())).collect();
    let b = browser(390, 844);
    for ((lang, idle, coaching, paused), coach) in rows.into_iter().zip(coaches) {
        let tab = b.new_tab().unwrap();
        tab.set_default_timeout(Duration::from_secs(20));
        pair_at(&tab, &coach.url, &coach.pair_code());
        let state = |want: &str| {
            wait_js(
                &tab,
                &format!("document.getElementById('live').dataset.state === '{want}'"),
                120,
                &format!("{lang}: the live state {want}"),
            )
        };
        let label = || {
            js(&tab, "document.getElementById('live-state').textContent")
                .as_str()
                .unwrap_or("")
                .to_string()
        };
        state("idle");
        assert_eq!(label(), idle, "{lang}");
        let press = |button: &str| {
            submit(
                &tab,
                &format!("document.getElementById('btn-{button}').click()"),
            )
        };
        press("start");
        state("coaching");
        // The first exercise, named in the coach's language.
        wait_js(
            &tab,
            &format!(
                "document.getElementById('live-state').textContent.startsWith('{coaching}: ')"
            ),
            60,
            &format!("{lang}: an exercise coached"),
        );
        let shown = label();
        let exercise = shown.strip_prefix(&format!("{coaching}: ")).unwrap();
        assert!(
            common::content()
                .exercises
                .iter()
                .any(|e| e.value.name.get(lang) == exercise),
            "{lang}: {exercise:?} is an exercise's name"
        );
        screenshot(&tab, &format!("phone-today-coaching-{lang}"));
        press("pause");
        state("paused");
        assert_eq!(label(), format!("{paused}: {exercise}"), "{lang}");
        press("resume");
        state("coaching");
        press("end");
        state("idle");
        assert_eq!(label(), idle, "{lang}");

        // The journal holds the session, ended by the user, paused once.
        let history = JournalStore::open_existing(&coach.db())
            .unwrap()
            .store
            .history(None)
            .unwrap();
        assert_eq!(history.sessions.len(), 1, "{lang}");
        let session = &history.sessions[0];
        assert_eq!(session.outcome, Outcome::EndedByUser, "{lang}");
        assert_eq!(session.outcome.as_str(), "ended_by_user");
        assert_eq!(session.pauses, 1, "{lang}");
        assert_eq!(session.lang, lang.code());
        // And the page's history shows it.
        tab.navigate_to(&format!("{}/history", coach.url))
            .unwrap()
            .wait_until_navigated()
            .unwrap();
        tab.wait_for_element("#sessions").unwrap();
        let row = js(
            &tab,
            &format!(
                "document.querySelector(\"tr[data-session='{}']\").innerText",
                session.id
            ),
        );
        assert!(
            row.as_str().is_some_and(|r| r.contains("ended_by_user")),
            "{lang}: {row:?}"
        );
        coach.stop();
    }
}

/// A phrase recorded through the page's own record button: chromium's
/// fake microphone plays a WAV that espeak-ng said, MediaRecorder records
/// it (webm/opus), the page decodes the take and sends 16-bit PCM WAV, and
/// the kept `voices/<name>/<lang>/<phrase>.wav` is that recording: as long
/// as the button was held, at the level of what was said.
#[test]
fn a_phrase_recorded_with_the_pages_record_button_is_kept_as_wav() {
    let s = serve();
    let said = s.dir.path().join("said.wav");
    let out = std::process::Command::new("espeak-ng")
        .args(["-v", "en-gb", "-w"])
        .arg(&said)
        .arg("Ready when you are. Lie on your back.")
        .output()
        .expect("espeak-ng (Debian's espeak-ng package)");
    assert!(out.status.success(), "{out:?}");
    let (_, source) = common::wav::read_any(&said);
    let peak = |x: &[f32]| x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let dbfs = |v: f32| 20.0 * f64::from(v).log10();
    let capture = format!("--use-file-for-fake-audio-capture={}", said.display());
    let b = browser_with(
        390,
        844,
        &[
            "--use-fake-ui-for-media-stream".as_ref(),
            "--use-fake-device-for-media-stream".as_ref(),
            capture.as_ref(),
            "--autoplay-policy=no-user-gesture-required".as_ref(),
        ],
    );
    let tab = b.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(20));
    pair_in(&tab, &s);
    tab.navigate_to(&format!("{}/voice?name=mine&lang=en", s.url))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    let row = "document.querySelector('tr[data-phrase=\"sys.ready\"]')";
    tab.wait_for_element("tr[data-phrase=\"sys.ready\"] button.record")
        .unwrap();
    js(
        &tab,
        &format!("{row}.querySelector('button.record').click()"),
    );
    // Recording: the button shows the stop sign.
    wait_js(
        &tab,
        &format!("{row}.querySelector('button.record').textContent === '■'"),
        10,
        "recording",
    );
    let held = Duration::from_millis(2500);
    std::thread::sleep(held);
    js(
        &tab,
        &format!("{row}.querySelector('button.record').click()"),
    );
    wait_js(
        &tab,
        &format!("!{row}.querySelector('button.keep').hidden"),
        20,
        "the take decoded, to keep",
    );
    js(&tab, &format!("{row}.querySelector('button.keep').click()"));
    wait_js(
        &tab,
        &format!("{row}.dataset.recorded === 'true'"),
        20,
        "the take kept",
    );
    let status = js(&tab, &format!("{row}.querySelector('.status').textContent"));
    assert!(
        status.as_str().is_some_and(|t| t.starts_with("kept")),
        "{status:?}"
    );
    let clip = s.dir.path().join("voices/mine/en/sys.ready.wav");
    let reader = hound::WavReader::open(&clip).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.bits_per_sample, spec.sample_format),
        (1, 16, hound::SampleFormat::Int),
        "16-bit PCM mono"
    );
    let secs = reader.duration() as f64 / f64::from(spec.sample_rate);
    assert!(
        (secs - held.as_secs_f64()).abs() < 0.8,
        "{secs:.2} s kept for {:.2} s held",
        held.as_secs_f64()
    );
    let (_, kept) = common::wav::read_any(&clip);
    let (got, want) = (dbfs(peak(&kept)), dbfs(peak(&source)));
    assert!(
        got > -30.0 && (got - want).abs() < 12.0,
        "loudest {got:.1} dBFS kept, {want:.1} dBFS said"
    );
    // Speech, not a click in silence: most 20 ms frames carry sound.
    let frame = (spec.sample_rate / 50) as usize;
    let frames: Vec<f64> = kept
        .chunks(frame)
        .map(|c| (c.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / c.len() as f64).sqrt())
        .collect();
    let voiced = frames.iter().filter(|r| **r > 0.01).count();
    assert!(
        voiced * 2 > frames.len(),
        "{voiced} of {} frames voiced",
        frames.len()
    );
}

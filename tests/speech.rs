//! Speech with the real espeak-ng: every phrase of the shipped content in
//! both languages, the cache, recorded clips, and the errors a user meets.
//! The only stand-in is a fake `piper` script that honours piper's command
//! line (and speaks with espeak-ng).

mod common;

use common::content;
use matcoach::audio::Clip;
use matcoach::content::Lang;
use matcoach::session::{self, Line, PhraseId, SessionConfig};
use matcoach::speech::{
    default_jobs, Espeak, PhraseCache, Piper, RenderStats, Speech, SpeechError, Voice,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

fn espeak() -> Espeak {
    let d = matcoach::config::Speech::default();
    Espeak::new(
        PathBuf::from("espeak-ng"),
        d.espeak_voice_en,
        d.espeak_voice_nl,
        d.rate_wpm,
    )
}

fn line(id: &str, text: &str) -> Line {
    Line {
        id: PhraseId(id.into()),
        text: text.into(),
    }
}

/// What the tests need to know of one rendered line.
struct Summary {
    line: Line,
    len: usize,
    peak: f32,
    duration: Duration,
    /// Where the sound starts (above 1% of full scale).
    onset: Duration,
    /// A hash of the samples, to tell clips apart.
    hash: u64,
}

fn summary(line: &Line, clip: &Clip) -> Summary {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    clip.samples.hash(&mut h);
    let onset = clip
        .samples
        .iter()
        .position(|s| i32::from(*s).abs() > 327)
        .unwrap_or(clip.len());
    Summary {
        line: line.clone(),
        len: clip.len(),
        peak: clip.peak(),
        duration: clip.duration(),
        onset: Duration::from_secs_f64(onset as f64 / f64::from(clip.rate)),
        hash: h.finish(),
    }
}

/// Every line of the content, rendered once per test run into a temporary
/// cache in both languages, then read back through `Speech::clip`.
struct Rendered {
    _dir: tempfile::TempDir,
    speech: Speech,
    lines: HashMap<Lang, Vec<Line>>,
    first: HashMap<Lang, RenderStats>,
    clips: HashMap<Lang, Vec<Summary>>,
}

fn rendered() -> &'static Rendered {
    static R: OnceLock<Rendered> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let speech = Speech::new(
            Box::new(espeak()),
            None,
            PhraseCache::new(dir.path().join("cache")),
        );
        let jobs = default_jobs();
        let mut lines = HashMap::new();
        let mut first = HashMap::new();
        let mut clips = HashMap::new();
        for lang in Lang::ALL {
            let all = session::all_lines(content(), lang, &SessionConfig::default());
            let stats = match speech.render_all(&all, lang, jobs) {
                Ok(s) => s,
                Err(e) => panic!("rendering the content in {lang}:\n{e}"),
            };
            let unique = all
                .iter()
                .map(|l| l.text.as_str())
                .collect::<std::collections::HashSet<_>>()
                .len();
            eprintln!(
                "{lang}: {} lines, {unique} unique texts, {} rendered in {:?} wall on {jobs} threads ({:.1} ms of voice time per phrase)",
                all.len(),
                stats.rendered,
                stats.elapsed,
                stats.render_time.as_secs_f64() * 1000.0 / stats.rendered.max(1) as f64,
            );
            let chunk = all.len().div_ceil(jobs).max(1);
            let summaries: Vec<Summary> = std::thread::scope(|s| {
                let handles: Vec<_> = all
                    .chunks(chunk)
                    .map(|part| {
                        let speech = &speech;
                        s.spawn(move || {
                            part.iter()
                                .map(|l| match speech.clip(l, lang) {
                                    Ok(c) => summary(l, &c),
                                    Err(e) => panic!("{lang} {}: {e}", l.id),
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect()
            });
            lines.insert(lang, all);
            first.insert(lang, stats);
            clips.insert(lang, summaries);
        }
        Rendered {
            _dir: dir,
            speech,
            lines,
            first,
            clips,
        }
    })
}

#[test]
fn every_phrase_of_the_content_renders_in_both_languages() {
    let r = rendered();
    for lang in Lang::ALL {
        let lines = &r.lines[&lang];
        assert!(lines.len() > 100, "{lang}: only {} lines", lines.len());
        assert_eq!(r.clips[&lang].len(), lines.len());
        let first = r.first[&lang];
        assert!(first.rendered > 100, "{lang}: {first:?}");
        assert_eq!((first.cached, first.recorded), (0, 0), "{lang}");
        for c in &r.clips[&lang] {
            let (id, text) = (&c.line.id, &c.line.text);
            assert!(c.len > 0, "{lang} {id}: empty");
            assert!(c.peak > 0.05, "{lang} {id} {text:?}: peak {}", c.peak);
            assert!(
                c.duration < Duration::from_secs(60),
                "{lang} {id}: {:?}",
                c.duration
            );
            // Trimmed: the sound starts at once, so counts are on time.
            assert!(
                c.onset <= Duration::from_millis(40),
                "{lang} {id}: sound starts after {:?}",
                c.onset
            );
        }
    }
}

#[test]
fn rendering_again_uses_the_cache() {
    let r = rendered();
    for lang in Lang::ALL {
        let first = r.first[&lang];
        let again = r.speech.render_all(&r.lines[&lang], lang, 2).unwrap();
        assert_eq!(again.rendered, 0, "{lang}: {again:?}");
        assert_eq!(again.cached, first.rendered, "{lang}: {again:?}");
        assert_eq!(again.render_time, Duration::ZERO);
    }
}

#[test]
fn dutch_and_english_clips_differ() {
    let r = rendered();
    let en: HashMap<&PhraseId, &Summary> =
        r.clips[&Lang::En].iter().map(|c| (&c.line.id, c)).collect();
    let mut compared = 0;
    for nl in &r.clips[&Lang::Nl] {
        let Some(en) = en.get(&nl.line.id) else {
            continue;
        };
        assert_ne!(
            en.hash, nl.hash,
            "{}: {:?} / {:?}",
            nl.line.id, en.line.text, nl.line.text
        );
        compared += 1;
    }
    assert!(compared > 100, "only {compared} phrases in both languages");
    // Even where the text is the same ("7"), the voice is not.
    let seven = line("sys.count.7", "7");
    assert_ne!(
        r.speech.clip(&seven, Lang::En).unwrap().samples,
        r.speech.clip(&seven, Lang::Nl).unwrap().samples
    );
}

#[test]
fn counts_fit_between_one_second_ticks() {
    let r = rendered();
    for lang in Lang::ALL {
        let mut found = 0;
        for c in &r.clips[&lang] {
            let Some(n) = c.line.id.0.strip_prefix("sys.count.") else {
                continue;
            };
            let n: u32 = n.parse().unwrap();
            if n > 20 {
                continue;
            }
            found += 1;
            assert!(
                c.duration < Duration::from_millis(900),
                "{lang} {} ({:?}) lasts {:?}",
                c.line.id,
                c.line.text,
                c.duration
            );
        }
        assert!(found >= 10, "{lang}: only {found} counts");
    }
}

#[test]
fn check_passes_for_the_default_voices() {
    let e = espeak();
    for lang in Lang::ALL {
        e.check(lang).unwrap();
    }
    assert!(e.key(Lang::En).starts_with("espeak-ng/"));
    assert!(e.key(Lang::En).ends_with("/en-gb/150"));
    assert_ne!(e.version(), "unknown");
}

#[test]
fn text_starting_with_a_dash_is_spoken_not_taken_for_an_option() {
    let clip = espeak().render("-v xx --version", Lang::En).unwrap();
    assert!(clip.peak() > 0.05 && clip.duration() > Duration::from_millis(300));
}

#[test]
fn an_unknown_espeak_voice_is_voice_missing() {
    let e = Espeak::new(
        PathBuf::from("espeak-ng"),
        "xx-nope".into(),
        "nl".into(),
        150,
    );
    for result in [e.render("hello", Lang::En).map(|_| ()), e.check(Lang::En)] {
        match result {
            Err(err @ SpeechError::VoiceMissing { .. }) => {
                let msg = err.to_string();
                assert!(msg.contains("xx-nope"), "{msg}");
                assert!(msg.contains("espeak-ng --voices=en"), "{msg}");
                assert!(msg.contains("speech.espeak_voice_en"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }
    // The other language is fine.
    e.check(Lang::Nl).unwrap();
}

#[test]
fn a_missing_espeak_program_is_program_missing() {
    let e = Espeak::new(
        PathBuf::from("/nonexistent/bin/espeak-ng"),
        "en-gb".into(),
        "nl".into(),
        150,
    );
    match e.check(Lang::En) {
        Err(err @ SpeechError::ProgramMissing { .. }) => {
            let msg = err.to_string();
            assert!(msg.contains("/nonexistent/bin/espeak-ng"), "{msg}");
            assert!(msg.contains("sudo apt install espeak-ng"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        e.render("hello", Lang::Nl),
        Err(SpeechError::ProgramMissing { .. })
    ));
}

#[test]
fn a_corrupt_cache_file_is_rendered_again() {
    let dir = tempfile::tempdir().unwrap();
    let speech = Speech::new(
        Box::new(espeak()),
        None,
        PhraseCache::new(dir.path().join("cache")),
    );
    let l = line("sys.test", "Breathe in slowly.");
    let good = speech.clip(&l, Lang::En).unwrap();
    let path = speech.cache.path(&speech.key(Lang::En), Lang::En, &l.text);
    let bytes = std::fs::read(&path).unwrap();
    // Half a file, as a crash while writing in place would leave.
    std::fs::write(&path, &bytes[..bytes.len() / 2 - 1]).unwrap();
    let stats = speech
        .render_all(std::slice::from_ref(&l), Lang::En, 1)
        .unwrap();
    assert_eq!((stats.rendered, stats.cached), (1, 0));
    assert_eq!(Clip::read_wav(&path).unwrap(), good);
    // Garbage, read through clip().
    std::fs::write(&path, b"not a wav").unwrap();
    assert_eq!(speech.clip(&l, Lang::En).unwrap(), good);
    assert_eq!(Clip::read_wav(&path).unwrap(), good);
}

#[test]
fn recorded_clips_override_and_a_corrupt_one_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let voice_dir = dir.path().join("audio/voices/anna/nl");
    std::fs::create_dir_all(&voice_dir).unwrap();
    let tone = Clip::new(
        16000,
        (0..8000)
            .map(|i| if i % 32 < 16 { 9000 } else { -9000 })
            .collect(),
    );
    tone.write_wav(&voice_dir.join("sys.count.3.wav")).unwrap();
    std::fs::write(voice_dir.join("sys.count.4.wav"), b"RIFF....WAVEnonsense").unwrap();
    let cfg = matcoach::config::Speech {
        recorded_voice: "anna".into(),
        cache_dir: Some(PathBuf::from("cache")),
        ..Default::default()
    };
    let speech = Speech::from_config(&cfg, dir.path()).unwrap();
    let rec = speech.recorded.as_ref().unwrap();
    assert_eq!(rec.list(Lang::Nl), ["sys.count.3", "sys.count.4"]);
    assert!(rec.list(Lang::En).is_empty());

    // Trimmed like synthesised clips: a recording has silence around it.
    let tone = tone.trimmed(
        matcoach::speech::espeak::TRIM_THRESHOLD,
        matcoach::speech::espeak::TRIM_MARGIN,
    );
    let got = speech.clip(&line("sys.count.3", "3"), Lang::Nl).unwrap();
    assert!(got == tone, "the recording was not used");
    // English has no recording: synthesised.
    let synth = speech.clip(&line("sys.count.3", "3"), Lang::En).unwrap();
    assert!(synth != tone && synth.rate == 22050);

    let bad = line("sys.count.4", "4");
    let want = voice_dir.join("sys.count.4.wav");
    for err in [
        speech.clip(&bad, Lang::Nl).unwrap_err(),
        speech
            .render_all(&[line("sys.count.3", "3"), bad.clone()], Lang::Nl, 2)
            .unwrap_err(),
    ] {
        match &err {
            SpeechError::BadRecording { path, .. } => assert_eq!(path, &want),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("sys.count.4.wav"), "{err}");
    }

    let stats = speech
        .render_all(
            &[line("sys.count.3", "3"), line("sys.count.5", "5")],
            Lang::Nl,
            2,
        )
        .unwrap();
    assert_eq!((stats.recorded, stats.rendered), (1, 1));

    let missing = matcoach::config::Speech {
        recorded_voice: "bob".into(),
        ..Default::default()
    };
    match Speech::from_config(&missing, dir.path()) {
        Err(SpeechError::RecordedVoiceMissing { path }) => {
            assert_eq!(path, dir.path().join("audio/voices/bob"))
        }
        other => panic!("{other:?}"),
    }
}

// ---- piper, through a fake program with piper's command line ----

const FAKE_PIPER: &str = r#"#!/bin/sh
# A stand-in for piper: `piper --model MODEL --output_file FILE`, text on
# stdin. The "model" file holds the espeak-ng voice to speak with.
model=""; out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --output_file) out="$2"; shift 2 ;;
    *) echo "piper: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -s "$model" ] || { echo "piper: cannot load model '$model'" >&2; exit 1; }
[ -n "$out" ] || { echo "piper: no --output_file" >&2; exit 2; }
exec espeak-ng -v "$(cat "$model")" -s 150 -w "$out"
"#;

const FAILING_PIPER: &str =
    "#!/bin/sh\ncat >/dev/null\necho 'onnxruntime: model is corrupt' >&2\nexit 3\n";
const SILENT_PIPER: &str = "#!/bin/sh\ncat >/dev/null\nexit 0\n";

/// Write an executable script, and wait until it can be run: another test
/// thread that forks while the file is open for writing keeps it "busy".
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    for _ in 0..100 {
        match std::process::Command::new(&path)
            .arg("--probe")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
        {
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(20)),
            _ => break,
        }
    }
    path
}

fn model(dir: &Path, name: &str, espeak_voice: &str) -> PathBuf {
    let m = dir.join(name);
    std::fs::write(&m, espeak_voice).unwrap();
    std::fs::write(dir.join(format!("{name}.json")), "{}").unwrap();
    m
}

#[test]
fn piper_renders_through_its_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(dir.path(), "piper", FAKE_PIPER);
    let en = model(dir.path(), "en.onnx", "en-gb");
    let nl = model(dir.path(), "nl.onnx", "nl");
    let p = Piper::new(bin.clone(), Some(en.clone()), Some(nl));
    for lang in Lang::ALL {
        p.check(lang).unwrap();
    }
    let clip = p.render("-Lift your hips slowly.", Lang::En).unwrap();
    assert!(clip.peak() > 0.05 && clip.duration() > Duration::from_millis(500));
    // Trimmed like espeak-ng's own clips.
    let direct = espeak()
        .render("-Lift your hips slowly.", Lang::En)
        .unwrap();
    let diff = clip.len().abs_diff(direct.len());
    assert!(diff < clip.len() / 10, "{} vs {}", clip.len(), direct.len());

    // The key follows the model file.
    let k1 = p.key(Lang::En);
    assert!(k1.contains(&en.display().to_string()), "{k1}");
    std::fs::write(&en, "en-us").unwrap();
    assert_ne!(p.key(Lang::En), k1);

    // Through the config, with the cache.
    let cfg = matcoach::config::Speech {
        engine: matcoach::config::SpeechEngine::Piper,
        piper_binary: bin,
        piper_model_en: Some(PathBuf::from("en.onnx")),
        piper_model_nl: Some(PathBuf::from("nl.onnx")),
        cache_dir: Some(PathBuf::from("cache")),
        ..Default::default()
    };
    let speech = Speech::from_config(&cfg, dir.path()).unwrap();
    let lines = [
        line("a", "Rest now."),
        line("b", "Well done."),
        line("c", "Rest now."),
    ];
    let s1 = speech.render_all(&lines, Lang::Nl, 2).unwrap();
    let s2 = speech.render_all(&lines, Lang::Nl, 2).unwrap();
    assert_eq!(
        (s1.rendered, s1.cached, s2.rendered, s2.cached),
        (2, 0, 0, 2)
    );
}

#[test]
fn piper_failures_say_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let good_model = model(dir.path(), "en.onnx", "en-gb");
    let empty_model = dir.path().join("empty.onnx");
    std::fs::write(&empty_model, "").unwrap();

    // No program.
    let p = Piper::new(
        dir.path().join("no-such-piper"),
        Some(good_model.clone()),
        None,
    );
    match p.render("hello", Lang::En) {
        Err(err @ SpeechError::ProgramMissing { .. }) => {
            assert!(err.to_string().contains("pip install piper-tts"), "{err}");
            assert!(err.to_string().contains("speech.piper_binary"), "{err}");
        }
        other => panic!("{other:?}"),
    }

    // No model, an empty one, one that is not there.
    let bin = script(dir.path(), "piper", FAKE_PIPER);
    let p = Piper::new(bin.clone(), Some(empty_model), None);
    for (lang, want) in [(Lang::En, "is empty"), (Lang::Nl, "is empty)")] {
        match p.render("hello", lang) {
            Err(err @ SpeechError::VoiceMissing { .. }) => {
                let msg = err.to_string();
                assert!(msg.contains(want), "{msg}");
                assert!(msg.contains(&format!("speech.piper_model_{lang}")), "{msg}");
                assert!(msg.contains("does not download"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }
    let p = Piper::new(bin, Some(dir.path().join("gone.onnx")), None);
    assert!(matches!(
        p.check(Lang::En),
        Err(SpeechError::VoiceMissing { .. })
    ));

    // piper fails: its own words are in the message.
    let failing = script(dir.path(), "piper-fails", FAILING_PIPER);
    let p = Piper::new(failing, Some(good_model.clone()), None);
    match p.render("hello", Lang::En) {
        Err(err @ SpeechError::RenderFailed { .. }) => {
            assert!(err.to_string().contains("model is corrupt"), "{err}")
        }
        other => panic!("{other:?}"),
    }

    // piper succeeds but writes nothing.
    let silent = script(dir.path(), "piper-silent", SILENT_PIPER);
    let p = Piper::new(silent, Some(good_model), None);
    match p.render("hello", Lang::En) {
        Err(err @ SpeechError::RenderFailed { .. }) => {
            assert!(err.to_string().contains("no output file"), "{err}")
        }
        other => panic!("{other:?}"),
    }
}

// ---- a synthesiser that hangs (issue 15, item 5) ----

const HUNG: &str = "#!/bin/sh\n[ \"$1\" = --probe ] && exit 0\ncat >/dev/null\nsleep 60\n";

#[test]
fn a_hung_synthesiser_is_stopped_at_its_deadline_naming_phrase_and_voice() {
    let dir = tempfile::tempdir().unwrap();
    let bin = script(dir.path(), "hung", HUNG);
    let m = model(dir.path(), "nl.onnx", "nl");
    let deadline = Duration::from_millis(300);
    let voices: Vec<(Box<dyn Voice>, &str)> = vec![
        (
            Box::new(
                Espeak::new(bin.clone(), "en-gb".into(), "nl".into(), 150).with_deadline(deadline),
            ),
            "the voice nl,",
        ),
        (
            Box::new(Piper::new(bin.clone(), None, Some(m.clone())).with_deadline(deadline)),
            "nl.onnx",
        ),
    ];
    for (voice, named) in voices {
        let t = std::time::Instant::now();
        let e = voice.render("Adem rustig in", Lang::Nl).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        let m = e.to_string();
        for w in ["\"Adem rustig in\"", named, "did not finish within 0.3 s"] {
            assert!(m.contains(w), "`{w}` missing: {m}");
        }
    }
}

//! Personal calibration (issue 16, item 2) on the real Vosk path: the
//! Korean model (the only Vosk model to be had here, see
//! `voice_data::korean`) with its words reported as the English commands
//! they stand for, espeak-ng's Korean voice, three takes per command word
//! and sentences. Calibration must work with either engine; and on a voice
//! in a room that the default settings hear poorly, calibrating on three
//! takes per word must hear more of the voice's other takes without taking
//! more sound-alikes and sentences for commands (docs/voice.md,
//! "Calibration").
#![cfg(feature = "voice-vosk")]

mod common;
use common::voice_data;

use matcoach::command::Command;
use matcoach::content::Lang;
use matcoach::hearing::calibrate::{fit_with, run_takes, Asked, Calibration, Score, Take};
use matcoach::hearing::pipeline::Pipeline;
use matcoach::hearing::{Engine, Recognizer};
use voice_data::altered::{self, Noise, Voice};
use voice_data::korean::{self, AsEnglish};

fn take(text: &'static str) -> Vec<i16> {
    korean::Stream::default()
        .gap(400)
        .say(text)
        .gap(600)
        .pcm(korean::FAINT)
}

#[test]
fn vosk_calibrates_on_korean_takes_and_the_pipeline_applies_it() {
    let Some(model) = korean::korean() else {
        return;
    };
    let _one_at_a_time = decoding();
    let mut takes = Vec::new();
    for (word, english) in korean::COMMANDS {
        let cmd = matcoach::hearing::grammar::parse(english, Lang::En).unwrap();
        for _ in 0..3 {
            takes.push(Take {
                asked: Asked::Command(cmd),
                pcm: take(word),
            });
        }
    }
    for s in &korean::SENTENCES[..3] {
        takes.push(Take {
            asked: Asked::Other((*s).into()),
            pcm: take(s),
        });
    }
    let voice = matcoach::config::Voice::default();
    let open = || -> Box<dyn Recognizer> { Box::new(AsEnglish(korean::recognizer(&model, true))) };
    let cal = fit_with(&takes, Lang::En, Engine::Vosk, &voice, &mut |_, _| {
        Ok(open())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    println!("{cal:?}");
    assert!(cal.fits(Lang::En, Engine::Vosk));
    let floor = cal.noise_floor_dbfs.expect("the room's noise floor");
    assert!((-90.0..-40.0).contains(&floor), "noise floor {floor} dBFS");
    assert!(
        cal.command_prior.is_empty() && cal.heard_as.is_empty(),
        "Vosk has neither"
    );
    assert_eq!(cal.before.commands, 12);
    assert!(cal.after.heard >= cal.before.heard, "{:?}", cal);
    assert!(
        cal.after.false_accepts <= cal.before.false_accepts,
        "{:?}",
        cal
    );
    for (cmd, t) in &cal.min_confidence {
        let lim = matcoach::hearing::calibrate::limits(*cmd);
        assert!(
            (lim.floor..=lim.ceiling).contains(t),
            "{cmd:?}: {t} outside the limits"
        );
    }
    // The pipeline with the calibration gives what the fit measured.
    let cfg = matcoach::hearing::decider_config(Engine::Vosk, &voice);
    let with = |c: Option<&Calibration>| {
        let p = Pipeline::calibrated(knowing(open(), c), None, Lang::En, cfg.clone(), c);
        Score::of(&takes, &run_takes(&takes, p).unwrap())
    };
    assert_eq!(with(Some(&cal)), cal.after);
    assert_eq!(with(None), cal.before);
    assert!(cal.after.heard > 0, "{cal:?}");
    // A voice the defaults already hear fully, with no false accept: a
    // calibration that gains nothing changes nothing.
    if cal.before.heard == cal.before.commands && cal.before.false_accepts == 0 {
        assert!(cal.is_empty(), "{cal:?}");
    }
}

/// Decoys on the real Vosk path: with only the command words (and the
/// usual fillers) in its grammar, Vosk names some sound-alikes as the
/// command one sound away; knowing them as decoys
/// (`Recognizer::also_know`, as a calibration's `decoys`), it names at
/// most one of them as a command.
#[test]
fn decoys_keep_sound_alikes_from_being_heard_as_commands() {
    let Some(model) = korean::korean() else {
        return;
    };
    let _one_at_a_time = decoding();
    let named = |rec: &mut dyn Recognizer, text: &'static str| -> Vec<String> {
        let mut out = Vec::new();
        let pcm = take(text);
        for f in pcm.chunks(320) {
            if let Some(matcoach::hearing::Hypothesis::Final(w)) = rec.accept(f).unwrap() {
                out.extend(w.into_iter().map(|w| w.text));
            }
        }
        if let Some(matcoach::hearing::Hypothesis::Final(w)) = rec.flush().unwrap() {
            out.extend(w.into_iter().map(|w| w.text));
        }
        out.retain(|w| w != matcoach::hearing::grammar::UNKNOWN);
        out
    };
    let decoys: Vec<String> = korean::SOUND_ALIKES
        .iter()
        .map(|w| (*w).to_string())
        .collect();
    let (mut plain, mut knowing) = (Vec::new(), Vec::new());
    for word in korean::SOUND_ALIKES {
        reseed();
        plain.extend(named(
            &mut AsEnglish(korean::recognizer(&model, true)),
            word,
        ));
        reseed();
        let mut rec = AsEnglish(korean::recognizer(&model, true));
        rec.also_know(&decoys).unwrap_or_else(|e| panic!("{e}"));
        knowing.extend(
            named(&mut rec, word)
                .into_iter()
                .map(|c| format!("{word}: {c}")),
        );
    }
    println!("the sound-alikes named as {plain:?} without decoys, {knowing:?} with");
    assert!(
        !plain.is_empty(),
        "Vosk named none of the sound-alikes as a command even without decoys: the test shows nothing"
    );
    // A decoy is a nearer choice for the recogniser, not a ban: one may
    // still come out as the command.
    assert!(
        knowing.len() <= 1 && plain.len() >= 4 * knowing.len().max(1),
        "with decoys: {knowing:?}; without: {plain:?}"
    );
    // What a decoy costs is not shown here: one can swallow the command
    // it resembles (in quiet takes, 정리 swallowed 정지, and with all
    // fourteen, 멈칫 swallowed 멈춰), which is why `fit` scores the setting
    // with decoys on the user's own takes before it keeps it.
}

/// Diagnosis aid (ignored): for some altered Korean voices (`EXPLORE`, as
/// for [`calibration_table`]), how many takes each decider setting hears,
/// each take through its own pipeline: the defaults; any confidence; any
/// voiced fraction; both; the VAD expecting the takes' speech level.
/// `VERBOSE` prints Vosk's partial and final results for each take.
#[test]
#[ignore]
fn explore_voices() {
    use matcoach::hearing::calibrate::levels;
    let Some(model) = korean::korean() else {
        return;
    };
    let _one_at_a_time = decoding();
    let spec = std::env::var("EXPLORE")
        .unwrap_or_else(|_| "ko+klatt4|pitch -200|-6|6|400|6|rumble".into());
    let cands = parse_voices(&spec);
    let words: Vec<&str> = korean::COMMANDS.iter().map(|(k, _)| *k).collect();
    let verbose = std::env::var("VERBOSE").is_ok();
    for v in &cands {
        let mut all = altered::takes(v, &words, &[120, 150, 180, 210], 1, &command_of);
        all.extend(altered::takes(
            v,
            &korean::SOUND_ALIKES,
            &[160],
            500,
            &command_of,
        ));
        let level = {
            let mut l: Vec<f32> = all
                .iter()
                .filter(|t| matches!(t.asked, Asked::Command(_)))
                .filter_map(|t| levels(&t.pcm).map(|l| l.0))
                .collect();
            l.sort_by(f32::total_cmp);
            l[l.len() / 2]
        };
        let voice = matcoach::config::Voice::default();
        let base = matcoach::hearing::decider_config(Engine::Vosk, &voice);
        let cal = Calibration {
            speech_level_dbfs: Some(level),
            ..Calibration::none(Lang::En, Engine::Vosk)
        };
        let configs = [
            ("default", base.clone(), None),
            (
                "conf0",
                matcoach::hearing::pipeline::DeciderConfig {
                    min_confidence: 0.0,
                    ..base.clone()
                },
                None,
            ),
            (
                "voiced0",
                matcoach::hearing::pipeline::DeciderConfig {
                    min_voiced: 0.0,
                    ..base.clone()
                },
                None,
            ),
            (
                "both0",
                matcoach::hearing::pipeline::DeciderConfig {
                    min_voiced: 0.0,
                    min_confidence: 0.0,
                    ..base.clone()
                },
                None,
            ),
            ("vad-cal", base.clone(), Some(&cal)),
            (
                "vad-cal+conf0",
                matcoach::hearing::pipeline::DeciderConfig {
                    min_confidence: 0.0,
                    ..base.clone()
                },
                Some(&cal),
            ),
        ];
        let mut out = format!("== {} (level {level:.1} dBFS)\n", v.name);
        let mut detail = String::new();
        for (name, cfg, c) in &configs {
            let mut s = Score::default();
            for t in &all {
                reseed();
                let p = Pipeline::calibrated(
                    Box::new(AsEnglish(korean::recognizer(&model, true))),
                    None,
                    Lang::En,
                    cfg.clone(),
                    *c,
                );
                let d = run_takes(std::slice::from_ref(t), p).unwrap();
                let one = Score::of(std::slice::from_ref(t), &d);
                s.commands += one.commands;
                s.heard += one.heard;
                s.others += one.others;
                s.false_accepts += one.false_accepts;
                if verbose && *name == "default" {
                    let mut rec = AsEnglish(korean::recognizer(&model, true));
                    let mut finals = Vec::new();
                    let mut partials = Vec::new();
                    let fmt = |w: &[matcoach::hearing::Word]| {
                        w.iter()
                            .map(|w| format!("{}:{:.2}", w.text, w.conf))
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    for f in t.pcm.chunks(320) {
                        match rec.accept(f).unwrap() {
                            Some(matcoach::hearing::Hypothesis::Final(w)) => finals.push(fmt(&w)),
                            Some(matcoach::hearing::Hypothesis::Partial(p)) => {
                                let p = p.join(" ");
                                if partials.last() != Some(&p) {
                                    partials.push(p);
                                }
                            }
                            None => {}
                        }
                    }
                    if let Some(matcoach::hearing::Hypothesis::Final(w)) = rec.flush().unwrap() {
                        finals.push(fmt(&w));
                    }
                    detail.push_str(&format!(
                        "  {:?}: det {:?} finals {:?} partials {:?}\n",
                        t.asked,
                        d[0].iter()
                            .map(|d| format!("{:?}:{:.2}", d.command, d.confidence))
                            .collect::<Vec<_>>(),
                        finals,
                        partials
                    ));
                }
            }
            out.push_str(&format!(
                "  {name:14} heard {}/{} false {}/{}\n",
                s.heard, s.commands, s.false_accepts, s.others
            ));
        }
        println!("{out}{detail}");
    }
}

/// Vosk's results depend on the C library's random generator (Kaldi seeds
/// the dither it adds to each window of audio before its features from
/// `rand()`): the same takes gave 4 → 10 and 4 → 9 of 12 measured one
/// after the other in one process, and the same settings one false accept
/// apart. So a measurement
/// starts from a seeded generator and holds this lock, lest a test beside
/// it draw from the same generator.
fn decoding() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    reseed();
    guard
}

/// The C library's random generator back to one seed, so that runs over
/// the same takes draw Kaldi's dither alike and differ only by their
/// settings.
fn reseed() {
    // SAFETY: srand only sets the C library's generator's seed.
    unsafe { libc::srand(1) };
}

/// `rec` knowing the calibration's decoys, as the daemon opens it
/// (`Choice::into_pipeline_calibrated`).
fn knowing(mut rec: Box<dyn Recognizer>, cal: Option<&Calibration>) -> Box<dyn Recognizer> {
    if let Some(c) = cal {
        c.teach_decoys(rec.as_mut())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    rec
}

/// The Korean stand-ins' command (`멈춰` → stop…), None for other text.
fn command_of(text: &str) -> Option<Command> {
    korean::COMMANDS
        .iter()
        .find(|(k, _)| *k == text)
        .and_then(|(_, e)| matcoach::hearing::grammar::parse(e, Lang::En))
}

/// The sound-alikes the check asks (one per command word); the others are
/// kept for the evaluation.
const ALIKES_FIT: [&str; 4] = ["머리", "계단", "다리", "정리"];

/// What a voice's evaluation found, before and after calibration.
struct Measured {
    cal: Calibration,
    before: Score,
    after: Score,
    secs: f64,
    /// Per evaluation take: what was asked, what fired before and after.
    detail: Vec<String>,
}

/// Calibrate on each command word three times (three speeds), the check's
/// sound-alikes and two sentences; score on the same words at three other
/// speeds (other rooms and noise), the other sound-alikes and the other
/// sentences, through one pipeline each, as the daemon listens.
fn measure(model: &std::sync::Arc<matcoach::hearing::vosk::VoskModel>, v: &Voice) -> Measured {
    use voice_data::altered::takes;
    let t0 = std::time::Instant::now();
    let _one_at_a_time = decoding();
    let words: Vec<&str> = korean::COMMANDS.iter().map(|(k, _)| *k).collect();
    let mut fit_takes = takes(v, &words, &[140, 180, 220], 1, &command_of);
    let fit_others: Vec<&str> = ALIKES_FIT
        .iter()
        .chain(&korean::SENTENCES[..2])
        .copied()
        .collect();
    fit_takes.extend(takes(v, &fit_others, &[160], 100, &command_of));
    let mut eval = takes(v, &words, &[120, 160, 200], 1000, &command_of);
    let others: Vec<&str> = korean::SOUND_ALIKES
        .iter()
        .filter(|w| !ALIKES_FIT.contains(w))
        .chain(&korean::SENTENCES[2..])
        .copied()
        .collect();
    eval.extend(takes(v, &others, &[170], 2000, &command_of));
    let voice = matcoach::config::Voice::default();
    let open = || -> Box<dyn Recognizer> { Box::new(AsEnglish(korean::recognizer(model, true))) };
    let cal = fit_with(&fit_takes, Lang::En, Engine::Vosk, &voice, &mut |_, _| {
        Ok(open())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let cfg = matcoach::hearing::decider_config(Engine::Vosk, &voice);
    let run = |c: Option<&Calibration>| {
        reseed();
        let p = Pipeline::calibrated(knowing(open(), c), None, Lang::En, cfg.clone(), c);
        run_takes(&eval, p).unwrap_or_else(|e| panic!("{e}"))
    };
    let (db, da) = (run(None), run(Some(&cal)));
    let fmt = |d: &[matcoach::hearing::Detection]| {
        d.iter()
            .map(|d| format!("{:?}:{:.2}", d.command, d.confidence))
            .collect::<Vec<_>>()
            .join(",")
    };
    let detail = eval
        .iter()
        .zip(db.iter().zip(&da))
        .map(|(t, (b, a))| format!("{:?}: [{}] -> [{}]", t.asked, fmt(b), fmt(a)))
        .collect();
    Measured {
        cal,
        before: Score::of(&eval, &db),
        after: Score::of(&eval, &da),
        secs: t0.elapsed().as_secs_f64(),
        detail,
    }
}

fn parse_voices(spec: &str) -> Vec<Voice> {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    spec.split(';')
        .map(|v| {
            let f: Vec<&str> = v.split('|').collect();
            let effects: Vec<&'static str> = f[1].split_whitespace().map(leak).collect();
            Voice {
                name: leak(v),
                base: leak(f[0]),
                lang: Lang::En,
                sox: Box::leak(effects.into_boxed_slice()),
                peak_dbfs: f[2].parse().unwrap(),
                drr_db: f[3].parse().unwrap(),
                rt60_ms: f[4].parse().unwrap(),
                snr_db: f[5].parse().unwrap(),
                noise: match f.get(6).copied() {
                    Some("rumble") => Noise::Rumble,
                    Some("hum") => Noise::Hum,
                    _ => Noise::Room,
                },
            }
        })
        .collect()
}

/// The voice the CI test calibrates: espeak-ng's Korean voice a metre
/// away in a reverberant room (RT60 400 ms) with a low rumble (a washing
/// machine, traffic) 9 dB below the speech. Vosk still names the words
/// through the rumble, but the default VAD, which measures all of the
/// sound's energy, backs too little of them as speech, and the decider
/// refuses the words it does not back.
fn rumbling() -> Voice {
    Voice {
        name: "espeak-ng ko, RT60 400 ms, rumble 9 dB SNR",
        base: "ko",
        lang: Lang::En,
        sox: &[],
        peak_dbfs: -6.0,
        drr_db: 6.0,
        rt60_ms: 400,
        snr_db: 9.0,
        noise: Noise::Rumble,
    }
}

/// The demand, on the Vosk path: calibrated on three takes per
/// word (and the check's sound-alikes and sentences), the voice's other
/// takes are heard more often, and the other sound-alikes and sentences
/// are not taken for commands more often. The first voice alone, and the
/// three voices of the table in the same room with a louder rumble
/// summed (where a calibrated VAD without decoys took more sound-alikes
/// for commands in two of the three).
#[test]
fn calibration_hears_more_of_other_takes_without_more_false_commands() {
    let Some(model) = korean::korean() else {
        return;
    };
    let v = rumbling();
    let m = measure(&model, &v);
    altered::show_and_assert(v.name, &m.before, &m.after, (12, 14), &m.cal, m.secs);
    let (mut before, mut after) = (m.before, m.after);
    for (snr_db, name) in LOUDER {
        let m = measure(
            &model,
            &Voice {
                name,
                snr_db,
                ..v.clone()
            },
        );
        println!("{}", altered::table_row(name, &m.before, &m.after));
        for (sum, s) in [(&mut before, m.before), (&mut after, m.after)] {
            sum.commands += s.commands;
            sum.heard += s.heard;
            sum.others += s.others;
            sum.false_accepts += s.false_accepts;
        }
    }
    println!(
        "{}",
        altered::table_row("the three summed", &before, &after)
    );
    altered::assert_calibration_helps(&before, &after, (36, 42), &m.cal);
}

/// The same room as [`rumbling`] with the rumble louder.
const LOUDER: [(f32, &str); 2] = [
    (7.0, "espeak-ng ko, RT60 400 ms, rumble 7 dB SNR"),
    (6.0, "espeak-ng ko, RT60 400 ms, rumble 6 dB SNR"),
];

/// The table for docs/voice.md (ignored: several voices take minutes):
/// `cargo test --features voice-vosk --test voice_calibration_vosk --
/// --ignored --nocapture calibration_table`; `EXPLORE` (voices as
/// `base|sox effects|peak dBFS|DRR dB|RT60 ms|SNR dB|room, rumble or hum`,
/// `;` between) measures others; `VERBOSE` prints each take.
#[test]
#[ignore]
fn calibration_table() {
    let Some(model) = korean::korean() else {
        return;
    };
    let voices = match std::env::var("EXPLORE") {
        Ok(spec) => parse_voices(&spec),
        Err(_) => {
            let low = |snr_db: f32, name: &'static str| Voice {
                name,
                base: "ko+klatt4",
                sox: &["pitch", "-200"],
                snr_db,
                ..rumbling()
            };
            vec![
                rumbling(),
                Voice {
                    name: LOUDER[0].1,
                    snr_db: LOUDER[0].0,
                    ..rumbling()
                },
                Voice {
                    name: LOUDER[1].1,
                    snr_db: LOUDER[1].0,
                    ..rumbling()
                },
                low(
                    8.0,
                    "espeak-ng ko+klatt4, sox pitch -200, RT60 400 ms, rumble 8 dB SNR",
                ),
                low(
                    6.0,
                    "espeak-ng ko+klatt4, sox pitch -200, RT60 400 ms, rumble 6 dB SNR",
                ),
                Voice {
                    name: "espeak-ng ko+m3, sox tempo 1.2, RT60 600 ms, rumble 7 dB SNR",
                    base: "ko+m3",
                    sox: &["tempo", "1.2"],
                    drr_db: 4.0,
                    rt60_ms: 600,
                    snr_db: 7.0,
                    ..rumbling()
                },
                Voice {
                    name: "espeak-ng ko, RT60 400 ms, mains hum 6 dB SNR",
                    noise: Noise::Hum,
                    snr_db: 6.0,
                    ..rumbling()
                },
                Voice {
                    name: "espeak-ng ko, RT60 400 ms, room noise 12 dB SNR",
                    noise: Noise::Room,
                    snr_db: 12.0,
                    ..rumbling()
                },
            ]
        }
    };
    println!("{}", altered::TABLE_HEADER);
    for v in voices {
        let m = measure(&model, &v);
        println!("{}", altered::table_row(v.name, &m.before, &m.after));
        eprintln!("  {:?} ({:.0} s)", m.cal, m.secs);
        if std::env::var("VERBOSE").is_ok() {
            for d in &m.detail {
                eprintln!("    {d}");
            }
        }
    }
}

/// The measurements compare runs over the same takes: an altered voice
/// (sox's pitch shift dithers its output) must give the same audio every
/// time it is made.
#[test]
fn an_altered_voice_gives_the_same_takes_every_time() {
    let v = Voice {
        base: "ko+klatt4",
        sox: &["pitch", "-200"],
        ..rumbling()
    };
    let words: Vec<&str> = korean::COMMANDS.iter().map(|(k, _)| *k).collect();
    let a = voice_data::altered::takes(&v, &words, &[140], 1, &command_of);
    let b = voice_data::altered::takes(&v, &words, &[140], 1, &command_of);
    assert_eq!(a.len(), 4);
    for (x, y) in a.iter().zip(&b) {
        let differ = x.pcm.iter().zip(&y.pcm).filter(|(p, q)| p != q).count();
        assert!(
            x.pcm.len() == y.pcm.len() && differ == 0,
            "{:?}: {} vs {} samples, {differ} differ",
            x.asked,
            x.pcm.len(),
            y.pcm.len()
        );
    }
    assert_eq!(a, b);
}

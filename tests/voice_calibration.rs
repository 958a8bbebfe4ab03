//! Personal calibration (issue 16, item 2), measured: voices that the
//! default settings hear poorly (synthetic voices altered with sox, in a
//! reverberant, noisy room), calibrated on three takes per command word,
//! then scored on that voice's other takes and on sound-alikes and prose.
//! PocketSphinx, English, through `voice::calibrate::fit` and the daemon's
//! pipeline (`voice::open_pipeline_calibrated`).
#![cfg(all(feature = "voice-pocketsphinx", feature = "voice-aec"))]

mod common;
use common::voice_data;

use matcoach::command::Command;
use matcoach::content::Lang;
use matcoach::hearing::calibrate::{fit, run_takes, Score, Take};
use matcoach::hearing::grammar;
use matcoach::hearing::Engine;
use voice_data::altered::{self, Noise, Voice};

const PROSE: [&str; 4] = [
    "I think we should go for a walk later today",
    "the kettle is boiling, can you get it",
    "my back feels a little better this morning",
    "put the paper on the table please",
];

/// The takes of `voice`: each text at each speed.
fn takes(voice: &Voice, texts: &[&str], speeds: &[u32], seed: u64) -> Vec<Take> {
    altered::takes(voice, texts, speeds, seed, &|t| grammar::parse(t, Lang::En))
}

fn command_words() -> Vec<&'static str> {
    Command::ALL.iter().map(|c| c.words(Lang::En)[0]).collect()
}

/// What a voice's evaluation found, before and after calibration.
struct Measured {
    cal: matcoach::hearing::calibrate::Calibration,
    before: Score,
    after: Score,
    secs: f64,
}

/// The calibration takes: every command word three times (three speeds),
/// a few sound-alikes and two sentences. The evaluation: the same words at
/// three other speeds (other noise), the other sound-alikes, two other
/// sentences.
fn check_and_other_takes(v: &Voice) -> (Vec<Take>, Vec<Take>) {
    let words = command_words();
    let alikes_fit = ["top", "paint", "nest", "stock", "pose", "report"];
    let mut fit_takes = takes(v, &words, &[140, 180, 220], 1);
    fit_takes.extend(takes(
        v,
        &alikes_fit
            .iter()
            .copied()
            .chain(PROSE[..2].iter().copied())
            .collect::<Vec<_>>(),
        &[160],
        100,
    ));
    let mut eval = takes(v, &words, &[120, 160, 200], 1000);
    let others: Vec<&str> = voice_data::NON_COMMANDS
        .iter()
        .copied()
        .filter(|w| !alikes_fit.contains(w))
        .chain(PROSE[2..].iter().copied())
        .collect();
    eval.extend(takes(v, &others, &[170], 2000));
    (fit_takes, eval)
}

/// Calibrate on [`check_and_other_takes`]'s first set, score on its second.
fn measure(v: &Voice) -> Measured {
    let t0 = std::time::Instant::now();
    let (fit_takes, eval) = check_and_other_takes(v);
    let voice = matcoach::config::Voice {
        engine: Engine::Pocketsphinx,
        ..matcoach::config::Voice::default()
    };
    let cal =
        fit(&fit_takes, Lang::En, Engine::Pocketsphinx, &voice).unwrap_or_else(|e| panic!("{e}"));
    let run = |c: Option<&matcoach::hearing::calibrate::Calibration>| {
        let p = matcoach::hearing::open_pipeline_calibrated(
            Engine::Pocketsphinx,
            Lang::En,
            &voice,
            false,
            c,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Score::of(
            &eval,
            &run_takes(&eval, p).unwrap_or_else(|e| panic!("{e}")),
        )
    };
    let (before, after) = std::thread::scope(|s| {
        let b = s.spawn(|| run(None));
        let a = run(Some(&cal));
        (
            b.join()
                .unwrap_or_else(|_| panic!("the run before calibration failed")),
            a,
        )
    });
    Measured {
        cal,
        before,
        after,
        secs: t0.elapsed().as_secs_f64(),
    }
}

/// The dry speech's peak: half of full scale.
const PEAK_DBFS: f32 = -6.02;

/// The English voice `base` altered by the effects `sox`, a metre away
/// in a reverberant room (RT60 400 ms) with pink noise 15 dB below the
/// speech.
fn in_room(name: &'static str, base: &'static str, sox: &'static [&'static str]) -> Voice {
    Voice {
        name,
        base,
        lang: Lang::En,
        sox,
        peak_dbfs: PEAK_DBFS,
        drr_db: 6.0,
        rt60_ms: 400,
        snr_db: 15.0,
        noise: Noise::Room,
    }
}

/// A synthetic voice PocketSphinx hears poorly by default: espeak-ng's
/// Klatt voice 4, two semitones lower (pitch and formants, sox `pitch`),
/// a metre away in a reverberant room (RT60 400 ms) with pink noise 18 dB
/// below the speech.
fn low_klatt() -> Voice {
    Voice {
        snr_db: 18.0,
        ..in_room(
            "espeak-ng en-us+klatt4, sox pitch -200, RT60 400 ms, pink noise 18 dB SNR",
            "en-us+klatt4",
            &["pitch", "-200"],
        )
    }
}

/// The first voice in a rumbling room (a washing machine, traffic): a low
/// rumble 6 dB below the speech instead of broadband noise. PocketSphinx
/// still decodes the words, but the default VAD, which measures all of the
/// sound's energy, backs too little of them; the speech level calibration
/// finds lets it hear them.
fn rumbling_klatt() -> Voice {
    Voice {
        name: "espeak-ng en-us+klatt4, sox pitch -200, RT60 400 ms, rumble 6 dB SNR",
        noise: Noise::Rumble,
        snr_db: 6.0,
        ..low_klatt()
    }
}

/// The issue asks that calibrating on three takes per word raise recall
/// on the voice's other takes without raising false accepts. Measured here
/// (docs/voice.md, "Calibration"), PocketSphinx's recogniser-side levers
/// did not do both on any of four generated voices in broadband noise; the
/// speech level the VAD expects does in a rumbling room, which this
/// asserts.
#[test]
fn calibration_hears_more_of_other_takes_without_more_false_commands() {
    let v = rumbling_klatt();
    let m = measure(&v);
    altered::show_and_assert(v.name, &m.before, &m.after, (18, 30), &m.cal, m.secs);
    assert!(m.cal.speech_level_dbfs.is_some(), "{:?}", m.cal);
}

/// The table for docs/voice.md (ignored: several voices take minutes):
/// `cargo test --release --features voice-pocketsphinx,voice-aec --test
/// voice_calibration -- --ignored --nocapture`.
#[test]
#[ignore]
fn calibration_table() {
    let only = std::env::var("CALIBRATION_ONLY").unwrap_or_default();
    println!("{}", altered::TABLE_HEADER);
    for v in table_voices()
        .iter()
        .filter(|v| v.name.contains(only.as_str()))
    {
        let m = measure(v);
        println!("{}", altered::table_row(v.name, &m.before, &m.after));
        eprintln!("  {:?} ({:.0} s)", m.cal, m.secs);
    }
}

/// The voices of the tables in docs/voice.md.
fn table_voices() -> [Voice; 5] {
    [
        low_klatt(),
        in_room(
            "flite kal (8 kHz), RT60 400 ms, pink noise 15 dB SNR",
            "flite/kal",
            &[],
        ),
        in_room(
            "espeak-ng en-gb-scotland+klatt, sox tempo 1.1, RT60 400 ms, pink noise 15 dB SNR",
            "en-gb-scotland+klatt",
            &["tempo", "1.1"],
        ),
        rumbling_klatt(),
        Voice {
            drr_db: 3.0,
            rt60_ms: 600,
            ..in_room(
                "flite slt, sox pitch -400 tempo 0.9, RT60 600 ms, pink noise 15 dB SNR",
                "flite/slt",
                &["pitch", "-400", "tempo", "0.9"],
            )
        },
    ]
}

/// Diagnosis aid (ignored): what PocketSphinx alone hears in each take of
/// some voices, sound-alikes of the command words as themselves.
#[test]
#[ignore]
fn explore_voices() {
    let voices = [low_klatt(), in_room("kal", "flite/kal", &[])];
    for v in &voices {
        let all = takes(v, &command_words(), &[140, 180, 220], 1);
        let opts = matcoach::hearing::sphinx::SphinxOptions {
            garbage_words: true,
            ..Default::default()
        };
        let mut rec = matcoach::hearing::sphinx::SphinxRecognizer::with_options(
            Lang::En,
            &grammar::words(Lang::En),
            &opts,
        )
        .unwrap();
        let heard = matcoach::hearing::calibrate::heard_words(&all, &mut rec).unwrap();
        for (t, h) in all.iter().zip(&heard) {
            println!("{} {:?}: {:?}", v.name, t.asked, h);
        }
    }
}

/// Speaker adaptation, evaluated (issue 16, item 2: "evaluate real speaker
/// adaptation from the takes … and keep it only if it measurably helps";
/// docs/voice.md, "Speaker adaptation (MLLR)"). Ignored: it needs Debian's
/// `sphinxtrain`, `sphinxbase-utils` and `pocketsphinx` packages, which the
/// coach does not. For each voice of [`calibration_table`]: an MLLR
/// transform from the check's takes (all of them, with what was asked as
/// the transcript: `sphinx_fe`, `bw`, `mllr_solve`), then the voice's other
/// takes scored four ways: the defaults, the defaults with the transform,
/// the fitted calibration, and the calibration with the transform.
/// `cargo test --features voice-pocketsphinx,voice-aec --test
/// voice_calibration -- --ignored --nocapture mllr_table`.
#[test]
#[ignore]
fn mllr_table() {
    use matcoach::hearing::calibrate::{Asked, Calibration};
    use matcoach::hearing::pipeline::Pipeline;
    use matcoach::hearing::sphinx::{SphinxOptions, SphinxRecognizer};
    let model = tempfile::tempdir().unwrap();
    adaptable_model(model.path());
    let only = std::env::var("CALIBRATION_ONLY").unwrap_or_default();
    println!("| voice | defaults | defaults + MLLR | calibrated | calibrated + MLLR |\n|---|---|---|---|---|");
    for v in table_voices()
        .iter()
        .filter(|v| v.name.contains(only.as_str()))
    {
        let (fit_takes, eval) = check_and_other_takes(v);
        let work = tempfile::tempdir().unwrap();
        let transcript = |a: &Asked| match a {
            Asked::Command(c) => c.words(Lang::En)[0].to_string(),
            Asked::Other(t) => t.to_string(),
        };
        let mllr = adapt(model.path(), work.path(), &fit_takes, &transcript);
        let voice = matcoach::config::Voice {
            engine: Engine::Pocketsphinx,
            ..matcoach::config::Voice::default()
        };
        let cal = fit(&fit_takes, Lang::En, Engine::Pocketsphinx, &voice).unwrap();
        let cfg = matcoach::hearing::decider_config(Engine::Pocketsphinx, &voice);
        let score = |c: Option<&Calibration>, with_mllr: bool| {
            let c = c.filter(|c| !c.is_empty());
            let none = Calibration::none(Lang::En, Engine::Pocketsphinx);
            let opts = SphinxOptions {
                extra: if with_mllr {
                    vec![("-mllr".into(), mllr.display().to_string())]
                } else {
                    Vec::new()
                },
                ..matcoach::hearing::sphinx_options(Lang::En, c.unwrap_or(&none))
            };
            let rec =
                SphinxRecognizer::with_options(Lang::En, &grammar::words(Lang::En), &opts).unwrap();
            let p = Pipeline::calibrated(
                matcoach::hearing::gated(Box::new(rec)),
                matcoach::hearing::open_front_end(Engine::Pocketsphinx, false).unwrap(),
                Lang::En,
                cfg.clone(),
                c,
            );
            let s = Score::of(&eval, &run_takes(&eval, p).unwrap());
            format!(
                "{}/{}, {}/{} taken",
                s.heard, s.commands, s.false_accepts, s.others
            )
        };
        println!(
            "| {} | {} | {} | {} | {} |",
            v.name,
            score(None, false),
            score(None, true),
            score(Some(&cal), false),
            score(Some(&cal), true)
        );
    }
}

/// Debian's en-us model with what SphinxTrain's `bw` needs and the package
/// lacks: the mixture weights as `mixture_weights` (the package ships them
/// only quantised, as PocketSphinx's `sendump`) and a text `mdef`.
fn adaptable_model(dir: &std::path::Path) {
    let src = std::path::Path::new("/usr/share/pocketsphinx/model/en-us/en-us");
    for f in std::fs::read_dir(src).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
    }
    sendump_to_mixw(&src.join("sendump"), &dir.join("mixture_weights"));
    run(std::process::Command::new("pocketsphinx_mdef_convert")
        .arg("-text")
        .arg(dir.join("mdef"))
        .arg(dir.join("mdef.txt")));
}

/// PocketSphinx's quantised mixture weights (`sendump`) as a SphinxTrain
/// `mixture_weights` file, after SphinxTrain's `python/cmusphinx/sendump.py`
/// and `s3file.py` (Python 2 there; no crate reads either format). Each
/// weight is a byte `q`: 1.0001^-(q << mixw_shift).
fn sendump_to_mixw(src: &std::path::Path, dst: &std::path::Path) {
    let b = std::fs::read(src).unwrap();
    let mut at = 0usize;
    let u32_at = |at: &mut usize| {
        let v = u32::from_le_bytes(b[*at..*at + 4].try_into().unwrap());
        *at += 4;
        v as usize
    };
    let mut header = Vec::new();
    loop {
        let n = u32_at(&mut at);
        if n == 0 {
            break;
        }
        header.push(String::from_utf8_lossy(&b[at..at + n - 1]).to_string());
        at += n;
    }
    let field = |name: &str| {
        header
            .iter()
            .filter_map(|h| h.strip_prefix(name))
            .find_map(|v| v.trim().parse::<usize>().ok())
    };
    let shift = field("mixw_shift").unwrap_or(10);
    let feats = field("feature_count").unwrap();
    assert_eq!(
        field("cluster_count").unwrap_or(0),
        0,
        "a clustered sendump"
    );
    let codewords = u32_at(&mut at);
    let senones = u32_at(&mut at);
    // sendump: [feature][codeword][senone]; mixture_weights: [senone][feature][codeword].
    let mut w = vec![0f32; senones * feats * codewords];
    for f in 0..feats {
        for c in 0..codewords {
            for s in 0..senones {
                let q = u32::from(b[at]) << shift;
                at += 1;
                w[(s * feats + f) * codewords + c] = 1.0001f64.powf(-f64::from(q)) as f32;
            }
        }
    }
    let mut out = b"s3\nversion 1.0\n".to_vec();
    let pad = (4 - (out.len() + "endhdr\n".len()) % 4) % 4;
    out.extend(std::iter::repeat_n(b' ', pad));
    out.extend(b"endhdr\n");
    out.extend(0x1122_3344u32.to_le_bytes());
    for d in [senones, feats, codewords, senones * feats * codewords] {
        out.extend((d as u32).to_le_bytes());
    }
    for x in w {
        out.extend(x.to_le_bytes());
    }
    std::fs::write(dst, out).unwrap();
}

/// An MLLR transform for the speaker of `takes`, made in `work`: the
/// takes as WAV files, their features (`sphinx_fe`), the statistics
/// (`bw`), the transform (`mllr_solve`).
fn adapt(
    model: &std::path::Path,
    work: &std::path::Path,
    takes: &[Take],
    transcript: &dyn Fn(&matcoach::hearing::calibrate::Asked) -> String,
) -> std::path::PathBuf {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let (mut ids, mut trans) = (String::new(), String::new());
    for (i, t) in takes.iter().enumerate() {
        let id = format!("take{i:03}");
        let mut w = hound::WavWriter::create(work.join(format!("{id}.wav")), spec).unwrap();
        for s in &t.pcm {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
        let words: String = transcript(&t.asked)
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '\'')
            .collect();
        ids.push_str(&format!("{id}\n"));
        trans.push_str(&format!("<s> {} </s> ({id})\n", words.trim()));
    }
    std::fs::write(work.join("fileids"), ids).unwrap();
    std::fs::write(work.join("transcription"), trans).unwrap();
    let m = |f: &str| model.join(f).display().to_string();
    run(std::process::Command::new("sphinx_fe")
        .current_dir(work)
        .args([
            "-argfile",
            &m("feat.params"),
            "-samprate",
            "16000",
            "-c",
            "fileids",
        ])
        .args([
            "-di", ".", "-do", ".", "-ei", "wav", "-eo", "mfc", "-mswav", "yes",
        ]));
    let sphinxtrain = std::path::Path::new("/usr/lib/sphinxtrain");
    run(std::process::Command::new(sphinxtrain.join("bw"))
        .current_dir(work)
        .args([
            "-hmmdir",
            &m(""),
            "-moddeffn",
            &m("mdef.txt"),
            "-ts2cbfn",
            ".ptm.",
        ])
        .args([
            "-feat",
            "1s_c_d_dd",
            "-svspec",
            "0-12/13-25/26-38",
            "-cmn",
            "batch",
            "-agc",
            "none",
        ])
        .args([
            "-dictfn",
            "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
        ])
        .args([
            "-ctlfn",
            "fileids",
            "-lsnfn",
            "transcription",
            "-accumdir",
            ".",
        ]));
    run(std::process::Command::new(sphinxtrain.join("mllr_solve"))
        .current_dir(work)
        .args(["-meanfn", &m("means"), "-varfn", &m("variances")])
        .args(["-outmllrfn", "mllr_matrix", "-accumdir", "."]));
    work.join("mllr_matrix")
}

/// Runs a tool of the adaptation; its output only if it fails.
fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{cmd:?}: {e} (apt install sphinxtrain sphinxbase-utils pocketsphinx)")
    });
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

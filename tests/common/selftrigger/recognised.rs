//! The listening half of the harness: the recogniser ("ear") as the
//! daemon builds it, fed microphone and reference as the live path does;
//! self-trigger runs and barge-in scores.

use super::*;
#[cfg(feature = "voice-vosk")]
use crate::common::voice_data;
use matcoach::command::Command;
use matcoach::hearing::grammar;
use matcoach::hearing::pipeline::Pipeline;
use matcoach::hearing::{Detection, Engine};

/// The recogniser listening: PocketSphinx in English (what these
/// machines have), or Vosk with a loaded model.
pub enum Ear {
    #[cfg(feature = "voice-pocketsphinx")]
    Sphinx,
    #[cfg(feature = "voice-vosk")]
    Vosk(std::sync::Arc<matcoach::hearing::vosk::VoskModel>, Lang),
    /// Vosk with the Korean model (`voice_data::korean`), its command
    /// words reported as the English ones they stand for: the daemon's
    /// Vosk pipeline with the one real model these machines have.
    #[cfg(feature = "voice-vosk")]
    Korean(std::sync::Arc<matcoach::hearing::vosk::VoskModel>),
}

impl Ear {
    pub fn engine(&self) -> Engine {
        match self {
            #[cfg(feature = "voice-pocketsphinx")]
            Ear::Sphinx => Engine::Pocketsphinx,
            #[cfg(feature = "voice-vosk")]
            Ear::Vosk(..) | Ear::Korean(_) => Engine::Vosk,
        }
    }

    pub fn lang(&self) -> Lang {
        match self {
            #[cfg(feature = "voice-pocketsphinx")]
            Ear::Sphinx => Lang::En,
            #[cfg(feature = "voice-vosk")]
            Ear::Vosk(_, lang) => *lang,
            #[cfg(feature = "voice-vosk")]
            Ear::Korean(_) => Lang::En,
        }
    }

    pub fn label(&self) -> String {
        match self {
            #[cfg(feature = "voice-vosk")]
            Ear::Korean(_) => "the vosk pipeline with the Korean model".into(),
            _ => format!("the {} {} pipeline", self.lang(), self.engine().name()),
        }
    }

    /// The echo canceller as the daemon builds it for this engine.
    pub fn aec(&self) -> Option<AecOptions> {
        matcoach::hearing::front_end_options(self.engine(), true)
    }

    /// The pipeline as the daemon builds it, with or without an echo
    /// canceller.
    pub fn pipeline(&self, aec: Option<AecOptions>) -> Pipeline {
        let lang = self.lang();
        let rec: Box<dyn matcoach::hearing::Recognizer> = match self {
            #[cfg(feature = "voice-pocketsphinx")]
            Ear::Sphinx => Box::new(
                matcoach::hearing::sphinx::SphinxRecognizer::new(lang, &grammar::words(lang))
                    .unwrap(),
            ),
            #[cfg(feature = "voice-vosk")]
            Ear::Vosk(model, _) => Box::new(
                matcoach::hearing::vosk::VoskRecognizer::with_model(
                    model.clone(),
                    &grammar::words(lang),
                    grammar::fillers(lang),
                )
                .unwrap(),
            ),
            #[cfg(feature = "voice-vosk")]
            Ear::Korean(model) => Box::new(voice_data::korean::AsEnglish(
                voice_data::korean::recognizer(model, true),
            )),
        };
        let aec = aec.map(|o| {
            Box::new(SpeexAec::with_options(FRAME, TAIL_MS, o).unwrap()) as Box<dyn EchoCanceller>
        });
        let decider =
            matcoach::hearing::decider_config(self.engine(), &matcoach::config::Voice::default());
        Pipeline::new(rec, aec, lang, decider)
    }
}

/// PocketSphinx, as the tests on these machines use it.
#[cfg(feature = "voice-pocketsphinx")]
pub const SPHINX: Ear = Ear::Sphinx;

/// The echo canceller the daemon puts in front of PocketSphinx.
#[cfg(feature = "voice-pocketsphinx")]
pub fn aec() -> Option<AecOptions> {
    SPHINX.aec()
}

/// Feed microphone and reference as the live path does, in 20 ms
/// chunks, the reference being what was sent to the speaker at the
/// moment the microphone recorded its chunk.
pub fn listen(
    ear: &Ear,
    aec: Option<AecOptions>,
    mic: &[i16],
    reference: &[i16],
) -> Vec<Detection> {
    let mut p = ear.pipeline(aec);
    let mut out = Vec::new();
    for (m, r) in mic.chunks(FRAME).zip(reference.chunks(FRAME)) {
        out.extend(p.push(m, r).unwrap());
    }
    out.extend(p.finish().unwrap());
    out
}

/// The phrase playing (or last played) at `ms`.
pub fn phrase_at(s: &Stream, all: &[Phrase], ms: u64) -> String {
    let at = (ms * 16) as usize;
    s.spans
        .iter()
        .rev()
        .find(|(start, _, _)| *start <= at)
        .map_or("(before the first phrase)".into(), |(_, _, i)| {
            format!("{}: {:?}", all[*i].line.id, all[*i].line.text)
        })
}

pub fn describe(s: &Stream, all: &[Phrase], found: &[Detection]) -> Vec<String> {
    found
        .iter()
        .map(|d| {
            format!(
                "{:?} at {} ms, in {}",
                d.word,
                d.start_ms,
                phrase_at(s, all, d.start_ms)
            )
        })
        .collect()
}

/// The phrases to play: every one that says a command word of either
/// language (where self-triggering is likeliest) plus `others` of the
/// rest at random, shuffled; `None` plays them all.
pub fn selection(all: &[Phrase], lang: Lang, others: Option<usize>, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let says_command = |p: &Phrase| {
        Command::ALL
            .iter()
            .any(|c| c.spoken_in(&p.line.text, lang) || c.spoken_in(&p.line.text, Lang::En))
    };
    let mut chosen: Vec<usize> = match others {
        None => (0..all.len()).collect(),
        Some(others) => {
            let mut chosen: Vec<usize> =
                (0..all.len()).filter(|&i| says_command(&all[i])).collect();
            let mut rest: Vec<usize> = (0..all.len()).filter(|&i| !says_command(&all[i])).collect();
            for _ in 0..others.min(rest.len()) {
                let k = rng.next_u64() as usize % rest.len();
                chosen.push(rest.swap_remove(k));
            }
            chosen
        }
    };
    for k in (1..chosen.len()).rev() {
        chosen.swap(k, rng.next_u64() as usize % (k + 1));
    }
    chosen
}

pub struct SelfTrigger {
    /// Which pipeline listened.
    pub ear: String,
    pub phrases: usize,
    pub audio_s: f32,
    pub without_aec: Vec<String>,
    pub with_aec: Vec<String>,
    /// With AEC, the room changing with every phrase.
    pub jumpy: Option<Vec<String>>,
}

impl SelfTrigger {
    pub fn report(&self, lang: Lang) -> String {
        let list = |v: &[String]| v.iter().map(|d| format!("\n    {d}")).collect::<String>();
        let mut text = format!(
            "self-trigger, {lang} content ({} phrases, {:.0} s of audio) into {}:\n  \
             without AEC: {} detections{}\n  with AEC: {} detections{}",
            self.phrases,
            self.audio_s,
            self.ear,
            self.without_aec.len(),
            list(&self.without_aec),
            self.with_aec.len(),
            list(&self.with_aec),
        );
        if let Some(j) = &self.jumpy {
            text += &format!(
                "\n  with AEC, the room changing with every phrase: {} detections{}",
                j.len(),
                list(j)
            );
        }
        text
    }
}

/// Play the chosen phrases of `lang` back to back through the room into
/// the English pipeline, without and with echo cancellation. The room
/// is drawn anew every ten phrases (a session's room does not change,
/// but so several rooms are tried, each starting unconverged); with
/// `jumpy`, also through a room that changes with every phrase (the
/// worst case for the canceller, which must converge again each time).
pub fn self_trigger(
    ear: &Ear,
    lang: Lang,
    others: Option<usize>,
    jumpy: bool,
    seed: u64,
) -> SelfTrigger {
    let all = phrases(lang);
    let chosen = selection(all, lang, others, seed);
    prepare(all, &chosen);
    let steady = stream(all, &chosen, ROOMS, 10, seed);
    let changing = jumpy.then(|| stream(all, &chosen, ROOMS, 1, seed + 1));
    let (without, with, per_phrase) = std::thread::scope(|sc| {
        let a = sc.spawn(|| listen(ear, None, &steady.mic, &steady.playback));
        let c = changing
            .as_ref()
            .map(|j| sc.spawn(|| listen(ear, ear.aec(), &j.mic, &j.playback)));
        let b = listen(ear, ear.aec(), &steady.mic, &steady.playback);
        (a.join().unwrap(), b, c.map(|c| c.join().unwrap()))
    });
    SelfTrigger {
        ear: ear.label(),
        phrases: chosen.len(),
        audio_s: steady.mic.len() as f32 / 16_000.0,
        without_aec: describe(&steady, all, &without),
        with_aec: describe(&steady, all, &with),
        jumpy: changing
            .as_ref()
            .zip(per_phrase)
            .map(|(j, d)| describe(j, all, &d)),
    }
}

/// How one condition did over all trials.
#[derive(Default)]
pub struct Score {
    pub trials: usize,
    pub hits: usize,
    pub latencies: Vec<i64>,
    pub missed: Vec<String>,
    pub stray: Vec<String>,
}

impl Score {
    pub fn add(&mut self, trials: &[Trial], found: &[Detection]) {
        // A hit: "stop" emitted after the word began and within 1.5 s
        // of its end.
        let hit = |t: &Trial, d: &Detection| {
            d.command == Command::Stop
                && d.detected_ms >= t.start_ms
                && d.detected_ms <= t.end_ms + 1500
        };
        self.trials += trials.len();
        for t in trials {
            match found.iter().find(|d| hit(t, d)) {
                Some(d) => {
                    self.hits += 1;
                    self.latencies.push(d.detected_ms as i64 - t.end_ms as i64);
                }
                None => self
                    .missed
                    .push(format!("{} ms, in {}", t.start_ms, t.phrase)),
            }
        }
        for d in found.iter().filter(|d| !trials.iter().any(|t| hit(t, d))) {
            self.stray
                .push(format!("{:?} at {} ms", d.word, d.start_ms));
        }
        self.latencies.sort_unstable();
    }

    pub fn rate(&self) -> f32 {
        self.hits as f32 / self.trials.max(1) as f32
    }

    pub fn line(&self, name: &str) -> String {
        format!(
        "{name}: {}/{} heard ({:.0} %), emitted after the word's end: median {} ms, max {} ms; {} other detections",
        self.hits,
        self.trials,
        self.rate() * 100.0,
        self.latencies.get(self.latencies.len() / 2).copied().unwrap_or(-1),
        self.latencies.last().copied().unwrap_or(-1),
        self.stray.len(),
    )
    }
}

/// Barge-in over `sets` of phrases (one room each), the user's `word`
/// `ratio_db` above the echo, heard through each of `conditions` (an
/// echo canceller or none; `alone` is the user without the coach, the
/// recogniser's own baseline). Conditions past `all_sets` run on the
/// first set only.
pub fn barge_in(
    ear: &Ear,
    word: &[i16],
    sets: &[Vec<usize>],
    ratio_db: f32,
    conditions: &[(bool, Option<AecOptions>)],
    all_sets: usize,
) -> Vec<Score> {
    let all = phrases(Lang::En);
    prepare(all, &sets.concat());
    let streams: Vec<BargeIn> = sets
        .iter()
        .enumerate()
        .map(|(k, chosen)| barge_in_stream(all, chosen, word, ratio_db, 5 + k as u64))
        .collect();
    let jobs: Vec<(usize, usize)> = (0..streams.len())
        .flat_map(|s| (0..conditions.len()).map(move |c| (s, c)))
        .filter(|(s, c)| *s == 0 || *c < all_sets)
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let found: Vec<(usize, usize, Vec<Detection>)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..default_jobs())
            .map(|_| {
                sc.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&(s, c)) = jobs.get(k) else { break };
                        let b = &streams[s];
                        let (alone, aec) = conditions[c];
                        let d = if alone {
                            listen(ear, aec, &b.user_only, &vec![0; b.user_only.len()])
                        } else {
                            listen(ear, aec, &b.stream.mic, &b.stream.playback)
                        };
                        out.push((s, c, d));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut scores: Vec<Score> = conditions.iter().map(|_| Score::default()).collect();
    for (s, c, d) in &found {
        scores[*c].add(&streams[*s].trials, d);
    }
    scores
}

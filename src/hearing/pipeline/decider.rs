//! The decider: turns recogniser output into detections, rejecting what is
//! not a clearly spoken, isolated command word (confidence, length, voiced
//! frames, unknown words around it, and while the coach's echo may be in
//! the room, whether the sound is the user's).

use super::*;

/// How strict the decider is.
#[derive(Debug, Clone, PartialEq)]
pub struct DeciderConfig {
    /// Lowest word confidence accepted.
    pub min_confidence: f32,
    /// A command word must last at least this long…
    pub min_word_ms: u64,
    /// …and at most this long.
    pub max_word_ms: u64,
    /// A command inside a longer utterance (more `[unk]` tokens than this)
    /// is not a command: it was part of a sentence.
    pub max_unknown_words: usize,
    /// Fraction of the word's frames in which the VAD must hear speech.
    pub min_voiced: f32,
    /// Fire "stop" and "pain" from partial results, before the utterance
    /// ends, once the partial has named the same word this many times.
    pub urgent_partials: u32,
    /// Fire the other commands from partial results too, once the VAD has
    /// heard no speech for this long after the word (beyond its own
    /// hangover) and the partial has named the word alone `urgent_partials`
    /// times, instead of waiting for the recogniser to end the utterance
    /// (Vosk takes 0.5–1 s of silence for that). 0: wait for the final.
    pub settle_ms: u64,
    /// While the coach is playing (or its echo may still be in the room),
    /// a frame counts as the user's speech only if the echo canceller left
    /// at least this share (dB) of the microphone's energy: what it
    /// removes almost entirely is the coach's own voice, what it leaves is
    /// someone else's. Applies only with an echo canceller.
    pub min_user_share_db: f32,
    /// While the coach's echo may be heard, a frame counts as the user's
    /// speech only if what the echo canceller left does not rise and fall
    /// with the playback: its envelope's correlation with the playback's
    /// ([`EchoTracker`]) stays below this. It catches what the share test
    /// cannot: a canceller that has not (or no longer) learned the room
    /// passes the coach's voice almost whole. Applies only with an echo
    /// canceller; 1 or more turns it off.
    pub max_echo_correlation: f32,
    /// …unless the frame rises at least `min_user_excess_db` above the echo
    /// the tracker predicts from the playback ([`EchoTracker::excess_db`])
    /// and its correlation stays below `max_loud_echo_correlation`: someone
    /// talking over the coach while the canceller is still learning the
    /// room (after start, "ready" is all it has heard). A canceller thrown
    /// off by a changed room also leaves more than predicted, but in the
    /// playback's rhythm: hence the second, looser correlation limit.
    /// Infinity turns it off.
    pub min_user_excess_db: f32,
    pub max_loud_echo_correlation: f32,
    // issue 16, item 2: personal calibration.
    /// The lowest confidence accepted per command word, where a
    /// calibration set one (instead of `min_confidence`). A word whose
    /// threshold is above `min_confidence` is not fired from partial
    /// results (they carry no confidence): it waits for its final.
    pub word_min_confidence: std::collections::BTreeMap<Command, f32>,
}

impl Default for DeciderConfig {
    fn default() -> Self {
        DeciderConfig {
            min_confidence: 0.6,
            min_word_ms: 120,
            max_word_ms: 1500,
            max_unknown_words: 1,
            min_voiced: 0.5,
            urgent_partials: 2,
            settle_ms: 100,
            min_user_share_db: -12.0,
            max_echo_correlation: 0.55,
            min_user_excess_db: 9.0,
            max_loud_echo_correlation: 0.7,
            word_min_confidence: std::collections::BTreeMap::new(),
        }
    }
}

impl DeciderConfig {
    /// The lowest confidence accepted for `cmd`.
    pub fn min_confidence_for(&self, cmd: Command) -> f32 {
        self.word_min_confidence
            .get(&cmd)
            .copied()
            .unwrap_or(self.min_confidence)
    }

    /// These settings with `cal`'s per-word thresholds (None: unchanged).
    pub fn calibrated(mut self, cal: Option<&Calibration>) -> DeciderConfig {
        if let Some(cal) = cal {
            self.word_min_confidence
                .extend(cal.min_confidence.iter().map(|(c, v)| (*c, *v)));
        }
        self
    }

    /// Is what the canceller left someone else than the coach, given its
    /// envelope's `correlation` with the playback and (asked only when it
    /// matters) its `excess` over the predicted echo? See
    /// [`DeciderConfig::max_echo_correlation`].
    pub fn not_the_echo(&self, correlation: f32, excess: impl FnOnce() -> Option<f32>) -> bool {
        correlation < self.max_echo_correlation
            || (correlation < self.max_loud_echo_correlation
                && excess().is_some_and(|x| x >= self.min_user_excess_db))
    }
}

/// Turns recogniser output into detections, rejecting what is not a clearly
/// spoken, isolated command word.
#[derive(Debug, Clone)]
pub struct Decider {
    pub cfg: DeciderConfig,
    lang: Lang,
    /// The command already fired from partials in this utterance.
    fired: Option<Command>,
    partial_word: Option<String>,
    partial_count: u32,
    /// Per frame since the stream start: was it voiced?
    voiced: Vec<bool>,
}

impl Decider {
    pub fn new(lang: Lang, cfg: DeciderConfig) -> Decider {
        Decider {
            cfg,
            lang,
            fired: None,
            partial_word: None,
            partial_count: 0,
            voiced: Vec::new(),
        }
    }

    pub fn note_frame(&mut self, voiced: bool) {
        self.voiced.push(voiced);
    }

    fn voiced_fraction(&self, start_ms: u64, end_ms: u64) -> f32 {
        let a = (start_ms / 20) as usize;
        let b = ((end_ms / 20) as usize + 1).min(self.voiced.len());
        if b <= a {
            return 0.0;
        }
        self.voiced[a..b].iter().filter(|v| **v).count() as f32 / (b - a) as f32
    }

    /// Decide on one hypothesis, heard at audio position `now_ms`.
    pub fn decide(&mut self, h: Hypothesis, now_ms: u64) -> Vec<Detection> {
        match h {
            Hypothesis::Partial(words) => self.partial(&words, now_ms),
            Hypothesis::Final(words) => self.final_(&words, now_ms),
        }
    }

    fn partial(&mut self, words: &[String], now_ms: u64) -> Vec<Detection> {
        let commands: Vec<&String> = words
            .iter()
            .filter(|w| grammar::parse(w, self.lang).is_some())
            .collect();
        let unknown = words.iter().filter(|w| *w == grammar::UNKNOWN).count();
        // Only a lone urgent word fires early.
        let candidate = match commands.as_slice() {
            [w] if unknown <= self.cfg.max_unknown_words => Some((*w).clone()),
            _ => None,
        };
        if candidate.is_some() && candidate == self.partial_word {
            self.partial_count += 1;
        } else {
            self.partial_word = candidate.clone();
            self.partial_count = u32::from(candidate.is_some());
        }
        let Some(word) = candidate else {
            return Vec::new();
        };
        let Some(cmd) = grammar::parse(&word, self.lang) else {
            return Vec::new();
        };
        if self.fired.is_some()
            || self.partial_count < self.cfg.urgent_partials
            || self.cfg.min_confidence_for(cmd) > self.cfg.min_confidence
        {
            return Vec::new();
        }
        let (start_ms, end_ms) = if matches!(cmd, Command::Stop | Command::Pain) {
            // The word has no timing yet: it ended about now.
            let recent_voiced = self.voiced.iter().rev().take(15).filter(|v| **v).count();
            if recent_voiced < 4 {
                return Vec::new();
            }
            (now_ms.saturating_sub(400), now_ms)
        } else {
            match self.settled() {
                Some(span) => span,
                None => return Vec::new(),
            }
        };
        self.fired = Some(cmd);
        vec![Detection {
            command: cmd,
            word,
            start_ms,
            end_ms,
            detected_ms: now_ms,
            confidence: 0.0,
        }]
    }

    /// When the speech has been over for `settle_ms` (after the VAD's
    /// hangover) and the stretch of speech before that is as long as a
    /// word may be: that stretch (ms, hangover included).
    fn settled(&self) -> Option<(u64, u64)> {
        if self.cfg.settle_ms == 0 {
            return None;
        }
        let quiet = self.voiced.iter().rev().take_while(|v| !**v).count();
        if (quiet as u64) * 20 < self.cfg.settle_ms {
            return None;
        }
        let speech = self
            .voiced
            .iter()
            .rev()
            .skip(quiet)
            .take_while(|v| **v)
            .count();
        let hangover = u64::from(Vad::HANGOVER_FRAMES) * 20;
        let dur = (speech as u64 * 20).saturating_sub(hangover);
        if !(self.cfg.min_word_ms..=self.cfg.max_word_ms).contains(&dur) {
            return None;
        }
        let end = (self.voiced.len() - quiet) as u64 * 20;
        Some((end - speech as u64 * 20, end - hangover))
    }

    fn final_(&mut self, words: &[Word], now_ms: u64) -> Vec<Detection> {
        let fired = self.fired.take();
        self.partial_word = None;
        self.partial_count = 0;
        let unknown = words.iter().filter(|w| w.text == grammar::UNKNOWN).count();
        let commands: Vec<(&Word, Command)> = words
            .iter()
            .filter_map(|w| grammar::parse(&w.text, self.lang).map(|c| (w, c)))
            .collect();
        let [(w, cmd)] = commands.as_slice() else {
            return Vec::new();
        };
        if fired == Some(*cmd) {
            // Already acted on from the partial result.
            return Vec::new();
        }
        let dur = w.end_ms.saturating_sub(w.start_ms);
        let ok = unknown <= self.cfg.max_unknown_words
            && w.conf >= self.cfg.min_confidence_for(*cmd)
            && (self.cfg.min_word_ms..=self.cfg.max_word_ms).contains(&dur)
            && self.voiced_fraction(w.start_ms, w.end_ms) >= self.cfg.min_voiced;
        if !ok {
            return Vec::new();
        }
        vec![Detection {
            command: *cmd,
            word: w.text.clone(),
            start_ms: w.start_ms,
            end_ms: w.end_ms,
            detected_ms: now_ms,
            confidence: w.conf,
        }]
    }
}

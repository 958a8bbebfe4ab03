//! The PocketSphinx recogniser (feature `voice-pocketsphinx`): English only,
//! light enough for a Pi Zero 2. It links Debian's libpocketsphinx and
//! libsphinxbase (0.8+5prealpha: the API with `cmd_ln_t`; packages
//! `libpocketsphinx-dev` and `pocketsphinx-en-us`) through a small FFI
//! (`ffi.rs`), with the US-English model in `/usr/share/pocketsphinx/model/en-us`.
//!
//! Search (`vocabulary.rs`): a small unigram language model in which the command words
//! compete with a *garbage vocabulary*: the most frequent English words (from
//! the model's own language model) and every dictionary word whose
//! pronunciation is one phone away from a command word ("stock", "top",
//! "paint", "pained", "nest", "cane"…; exact homophones such as "pane" are
//! left out, they would only steal the command). What is not a command word
//! is decoded as some other word and reported as `[unk]`, so sound-alikes
//! are rejected and a command inside a longer utterance ("next door") is
//! visibly not alone. This measured far better than a JSGF grammar with a
//! garbage phone loop, or keyword spotting, on the test set of
//! `tests/voice_accuracy.rs` (see the report there).
//!
//! Utterances follow PocketSphinx's own voice-activity detector
//! (`ps_get_in_speech`): while it hears speech, every chunk gives a partial
//! result; when it hears silence again the utterance ends and the final
//! result carries each word's place in the stream (segment frames of 10 ms,
//! which libpocketsphinx counts from the stream start) and its posterior
//! probability in the word lattice as the confidence.

use super::{grammar, Hypothesis, Recognizer, VoiceError, Word, RATE};
use crate::content::Lang;
use std::collections::{HashMap, HashSet};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const ENGINE: &str = "pocketsphinx";

/// Where Debian's `pocketsphinx-en-us` puts the US-English model.
pub const MODEL_DIR: &str = "/usr/share/pocketsphinx/model/en-us";

/// The apt command that installs what this backend needs.
pub const APT_FIX: &str = "sudo apt install pocketsphinx-en-us libpocketsphinx-dev";

/// The files of the acoustic model (in `<model>/en-us`) the decoder reads.
const MODEL_FILES: [&str; 7] = [
    "mdef",
    "means",
    "variances",
    "sendump",
    "transition_matrices",
    "feat.params",
    "noisedict",
];

/// The pronouncing dictionary (in `<model>`).
const DICT_FILE: &str = "cmudict-en-us.dict";

/// Milliseconds per decoder frame (`-frate 100`).
const FRAME_MS: u64 = 10;

/// The model's language model, where the word frequencies come from.
const LM_FILE: &str = "en-us.lm.bin";

#[allow(non_camel_case_types)]
mod ffi;
mod vocabulary;

pub use vocabulary::Vocabulary;

/// How the recogniser is tuned. The defaults are what the English accuracy
/// test (`tests/voice_accuracy.rs`) measured best.
#[derive(Debug, Clone, PartialEq)]
pub struct SphinxOptions {
    /// The model directory: `<dir>/en-us/` (acoustic model),
    /// `<dir>/cmudict-en-us.dict` and `<dir>/en-us.lm.bin`.
    pub model_dir: PathBuf,
    /// How many of the most frequent English words are in the garbage
    /// vocabulary.
    pub frequent_words: usize,
    /// Dictionary words at most this many phones (edits) away from a
    /// command word's pronunciation are in the garbage vocabulary.
    pub neighbour_edits: usize,
    /// How likely each of those sound-alikes is, as a share of one command
    /// word's probability (None: as likely as the median frequent word).
    pub neighbour_prior: Option<f64>,
    /// The probability of all command words together in the language model
    /// (the rest goes to the garbage vocabulary). Higher hears more commands
    /// and more false ones.
    pub command_mass: f64,
    /// Silence (in 10 ms frames) that ends an utterance (`-vad_postspeech`).
    /// It sets the delay of every command that waits for the end of the
    /// utterance; 20 costs no recall against 30 and answers sooner
    /// (docs/voice.md, "Tuning").
    pub vad_postspeech: u32,
    /// Speech frames that start an utterance (`-vad_startspeech`).
    pub vad_startspeech: u32,
    /// Frames kept before the start of speech (`-vad_prespeech`).
    pub vad_prespeech: u32,
    /// Speech/noise log-ratio (`-vad_threshold`).
    pub vad_threshold: f32,
    /// Extra decoder options, as `("-name", "value")` pairs.
    pub extra: Vec<(String, String)>,
    // issue 16, item 2: personal calibration.
    /// Command words made likelier than their share of `command_mass`, by
    /// a factor (a calibration's `command_prior`): PocketSphinx's side of
    /// a per-word acceptance threshold.
    pub word_prior: Vec<(String, f64)>,
    /// Garbage words that stand for a command word for this user, as
    /// `(heard, command word)` (a calibration's `heard_as`): the user's
    /// "stop" that the model always takes for "stomp".
    pub aliases: Vec<(String, String)>,
    /// Report garbage words other than the 200 most frequent English words
    /// as themselves instead of `[unk]` (for calibration, which looks for
    /// `aliases` among them; never for listening).
    pub garbage_words: bool,
}

impl Default for SphinxOptions {
    fn default() -> Self {
        SphinxOptions {
            model_dir: PathBuf::from(MODEL_DIR),
            frequent_words: 2000,
            neighbour_edits: 1,
            neighbour_prior: None,
            command_mass: 0.1,
            vad_postspeech: 20,
            vad_startspeech: 10,
            vad_prespeech: 20,
            vad_threshold: 2.0,
            extra: Vec::new(),
            word_prior: Vec::new(),
            aliases: Vec::new(),
            garbage_words: false,
        }
    }
}

/// Serialises decoder set-up: sphinxbase's logging switch is a global.
static INIT: Mutex<()> = Mutex::new(());

/// PocketSphinx restricted to the command words (and garbage).
pub struct SphinxRecognizer {
    ps: *mut ffi::ps_decoder_t,
    config: *mut ffi::cmd_ln_t,
    /// The argument strings: sphinxbase keeps pointers into them for as
    /// long as the config lives.
    _args: Vec<CString>,
    commands: Vec<String>,
    /// Garbage words heard as a command: (word, index in `commands`).
    aliases: Vec<(String, usize)>,
    /// For calibration: garbage words reported as themselves; empty when
    /// listening.
    sound_alikes: HashSet<String>,
    /// An utterance has been started (ps_start_utt) and not ended.
    in_utt: bool,
    /// The decoder's voice-activity state after the previous chunk.
    in_speech: bool,
    /// Whether the current utterance has had any speech.
    had_speech: bool,
    /// Samples decoded since the heap's free pages were last given back.
    since_trim: usize,
}

/// Every utterance's search and lattice come and go on the heap, whose
/// freed pages glibc keeps and lets pile up on continuous speech
/// (docs/voice.md, "Where PocketSphinx's memory went"). At an utterance's end, after this much audio (10 s) since the
/// last time, they are given back.
const TRIM_EVERY: usize = 10 * RATE as usize;

// SAFETY: the decoder and config pointers are owned by this value alone
// (nothing else holds or shares them; libpocketsphinx keeps no thread-local
// state for a decoder) and are only touched through `&mut self` or in Drop,
// so moving the recogniser to another thread is sound: it is used from one
// thread at a time.
unsafe impl Send for SphinxRecognizer {}

impl std::fmt::Debug for SphinxRecognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SphinxRecognizer")
            .field("commands", &self.commands)
            .field("in_utt", &self.in_utt)
            .field("in_speech", &self.in_speech)
            .finish()
    }
}

fn engine_error(reason: impl Into<String>) -> VoiceError {
    VoiceError::Engine {
        engine: ENGINE,
        reason: reason.into(),
    }
}

fn cstring(s: &str) -> Result<CString, VoiceError> {
    CString::new(s).map_err(|_| engine_error(format!("{s:?} contains a NUL byte")))
}

/// A temporary file that is removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn write(tag: &str, contents: &str) -> Result<TempFile, VoiceError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "matcoach-sphinx-{}-{}.{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, contents).map_err(|e| {
            engine_error(format!(
                "cannot write the temporary file {}: {e}",
                path.display()
            ))
        })?;
        Ok(TempFile(path))
    }

    fn path_str(&self) -> Result<&str, VoiceError> {
        self.0
            .to_str()
            .ok_or_else(|| engine_error(format!("{} is not valid UTF-8", self.0.display())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl SphinxRecognizer {
    /// A recogniser for `lang` listening for `words` (the command words),
    /// with the default tuning.
    pub fn new(lang: Lang, words: &[&str]) -> Result<SphinxRecognizer, VoiceError> {
        SphinxRecognizer::with_options(lang, words, &SphinxOptions::default())
    }

    /// A recogniser with explicit tuning.
    pub fn with_options(
        lang: Lang,
        words: &[&str],
        opts: &SphinxOptions,
    ) -> Result<SphinxRecognizer, VoiceError> {
        if lang != Lang::En {
            return Err(VoiceError::Unsupported {
                engine: ENGINE,
                lang,
                fix: "set voice.engine = \"vosk\" for Dutch (PocketSphinx has only an English model here)".into(),
            });
        }
        let hmm = opts.model_dir.join("en-us");
        let dict_path = opts.model_dir.join(DICT_FILE);
        let lm_path = opts.model_dir.join(LM_FILE);
        let missing = MODEL_FILES
            .iter()
            .map(|f| hmm.join(f))
            .chain([dict_path.clone(), lm_path.clone()])
            .find(|p| !p.is_file());
        if let Some(path) = missing {
            return Err(VoiceError::NoModel {
                lang,
                path,
                fix: APT_FIX.into(),
            });
        }
        let vocabulary = Vocabulary::build(words, opts)?;
        let rec = SphinxRecognizer::with_vocabulary(&vocabulary, opts)?;
        drop(vocabulary);
        // Building the vocabulary read the whole pronouncing dictionary and
        // language model (tens of MB), all freed now; give the pages back
        // so that they do not stay resident for the life of the daemon.
        crate::memory::release_free_memory();
        Ok(rec)
    }

    /// A recogniser listening for the vocabulary's command words (see
    /// [`Vocabulary::build`]), with `opts`' model and decoder settings.
    pub fn with_vocabulary(
        vocabulary: &Vocabulary,
        opts: &SphinxOptions,
    ) -> Result<SphinxRecognizer, VoiceError> {
        let hmm = opts.model_dir.join("en-us");
        let commands = vocabulary.commands.clone();
        let aliases: Vec<(String, usize)> = opts
            .aliases
            .iter()
            .filter_map(|(heard, cmd)| {
                let i = commands.iter().position(|c| c == cmd)?;
                Some((heard.trim().to_lowercase(), i))
            })
            .collect();
        let guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: as in `with_options`: logging off while the decoder loads.
        unsafe { ffi::err_set_logfp(std::ptr::null_mut::<c_void>()) };
        let sound_alikes = vocabulary.sound_alikes.clone();
        let dict_file = TempFile::write("dict", &vocabulary.dict)?;
        let lm_file = TempFile::write("lm", &vocabulary.lm)?;
        let hmm_str = hmm
            .to_str()
            .ok_or_else(|| engine_error(format!("{} is not valid UTF-8", hmm.display())))?;
        let mut pairs: Vec<(String, String)> = vec![
            ("-hmm".into(), hmm_str.into()),
            ("-dict".into(), dict_file.path_str()?.into()),
            ("-lm".into(), lm_file.path_str()?.into()),
            ("-logfn".into(), "/dev/null".into()),
            ("-samprate".into(), RATE.to_string()),
            ("-cmn".into(), "live".into()),
            ("-bestpath".into(), "yes".into()),
            ("-vad_postspeech".into(), opts.vad_postspeech.to_string()),
            ("-vad_startspeech".into(), opts.vad_startspeech.to_string()),
            ("-vad_prespeech".into(), opts.vad_prespeech.to_string()),
            ("-vad_threshold".into(), opts.vad_threshold.to_string()),
        ];
        for (k, v) in &opts.extra {
            match pairs.iter_mut().find(|(name, _)| name == k) {
                Some(p) => p.1 = v.clone(),
                None => pairs.push((k.clone(), v.clone())),
            }
        }
        let mut args: Vec<CString> = vec![cstring("matcoach")?];
        for (k, v) in &pairs {
            args.push(cstring(k)?);
            args.push(cstring(v)?);
        }
        let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr() as *mut c_char).collect();
        let argc = i32::try_from(argv.len()).map_err(|_| engine_error("too many options"))?;

        // SAFETY: argv holds argc pointers to NUL-terminated strings that
        // live in `args`, which the recogniser keeps as long as the config.
        let config = unsafe {
            ffi::cmd_ln_parse_r(
                std::ptr::null_mut(),
                ffi::ps_args(),
                argc,
                argv.as_mut_ptr(),
                1,
            )
        };
        if config.is_null() {
            return Err(engine_error(format!(
                "the decoder options were refused: {}",
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        // SAFETY: config is a valid cmd_ln_t; ps_init takes its own reference.
        let ps = unsafe { ffi::ps_init(config) };
        if ps.is_null() {
            // SAFETY: we own this reference to config.
            unsafe { ffi::cmd_ln_free_r(config) };
            return Err(VoiceError::BadModel {
                engine: ENGINE,
                lang: Lang::En,
                path: opts.model_dir.clone(),
                reason: format!("PocketSphinx could not load it; fix: {APT_FIX}"),
            });
        }
        // From here on, Drop frees the decoder and the config.
        let rec = SphinxRecognizer {
            ps,
            config,
            _args: args,
            aliases,
            sound_alikes,
            commands,
            in_utt: false,
            in_speech: false,
            had_speech: false,
            since_trim: 0,
        };
        // The decoder has read both files.
        drop(dict_file);
        drop(lm_file);
        drop(guard);
        // SAFETY: a live decoder.
        if unsafe { ffi::ps_start_stream(rec.ps) } < 0 {
            return Err(engine_error("cannot start the audio stream"));
        }
        Ok(rec)
    }

    fn start_utt(&mut self) -> Result<(), VoiceError> {
        if !self.in_utt {
            // SAFETY: a live decoder, no utterance running.
            if unsafe { ffi::ps_start_utt(self.ps) } < 0 {
                return Err(engine_error("cannot start an utterance"));
            }
            self.in_utt = true;
            self.had_speech = false;
        }
        Ok(())
    }

    /// End the utterance and read its words.
    fn end_utt(&mut self) -> Result<Vec<Word>, VoiceError> {
        if !self.in_utt {
            return Ok(Vec::new());
        }
        self.in_utt = false;
        // SAFETY: a live decoder with an utterance running.
        if unsafe { ffi::ps_end_utt(self.ps) } < 0 {
            return Err(engine_error("cannot end the utterance"));
        }
        let words = self.segments();
        if self.since_trim >= TRIM_EVERY {
            self.since_trim = 0;
            crate::memory::release_free_memory();
        }
        Ok(words)
    }

    /// Kind of word the decoder output.
    fn classify(&self, raw: &str) -> Token {
        let raw = raw.trim();
        let w = raw.split('(').next().unwrap_or(raw);
        if let Some(i) = self.commands.iter().position(|c| c == w) {
            Token::Command(i)
        } else if let Some((_, i)) = self.aliases.iter().find(|(a, _)| a == w) {
            Token::Command(*i)
        } else if w.starts_with('<') || w.starts_with('[') || w.starts_with('+') || w.is_empty() {
            // <s>, </s>, <sil>, [NOISE], [SPEECH]…
            Token::Filler
        } else {
            Token::Garbage
        }
    }

    /// How a garbage word is reported: `[unk]`, or (for calibration) as
    /// itself.
    fn garbage(&self, raw: &str) -> String {
        let w = raw.trim().split('(').next().unwrap_or(raw);
        match self.sound_alikes.contains(w) {
            true => w.to_string(),
            false => grammar::UNKNOWN.to_string(),
        }
    }

    /// The final words of the utterance just ended, with their place in the
    /// stream and their posterior probability; garbage words as `[unk]`.
    fn segments(&mut self) -> Vec<Word> {
        // SAFETY: a live decoder after ps_end_utt; this runs the lattice
        // posterior computation the segment probabilities come from.
        unsafe { ffi::ps_get_prob(self.ps) };
        // SAFETY: the logmath belongs to the decoder.
        let lmath = unsafe { ffi::ps_get_logmath(self.ps) };
        let mut words = Vec::new();
        // SAFETY: the iterator is walked to its end; ps_seg_next frees it
        // and returns NULL there.
        let mut seg = unsafe { ffi::ps_seg_iter(self.ps) };
        while !seg.is_null() {
            // SAFETY: seg is a live iterator; the word string belongs to it
            // and is copied at once.
            let raw = unsafe { CStr::from_ptr(ffi::ps_seg_word(seg)) }
                .to_string_lossy()
                .into_owned();
            let (mut sf, mut ef): (c_int, c_int) = (0, 0);
            // SAFETY: seg is live; the out-pointers are valid.
            unsafe { ffi::ps_seg_frames(seg, &mut sf, &mut ef) };
            let (mut a, mut l, mut b) = (0i32, 0i32, 0i32);
            // SAFETY: seg is live; the out-pointers are valid.
            let logp = unsafe { ffi::ps_seg_prob(seg, &mut a, &mut l, &mut b) };
            // SAFETY: lmath is the decoder's.
            let posterior = unsafe { ffi::logmath_exp(lmath, logp) } as f32;
            let start_ms = u64::try_from(sf).unwrap_or(0) * FRAME_MS;
            let end_ms = (u64::try_from(ef).unwrap_or(0) + 1) * FRAME_MS;
            let text = match self.classify(&raw) {
                Token::Command(i) => Some(self.commands[i].clone()),
                Token::Garbage => Some(self.garbage(&raw)),
                Token::Filler => None,
            };
            if let Some(text) = text {
                words.push(Word {
                    text,
                    start_ms,
                    end_ms,
                    conf: posterior.clamp(0.0, 1.0),
                });
            }
            // SAFETY: advancing a live iterator (frees it at the end).
            seg = unsafe { ffi::ps_seg_next(seg) };
        }
        words
    }

    /// The current best hypothesis, garbage words as `[unk]`.
    fn partial(&self) -> Vec<String> {
        let mut score = 0i32;
        // SAFETY: a live decoder; the string belongs to it and is copied.
        let hyp = unsafe { ffi::ps_get_hyp(self.ps, &mut score) };
        if hyp.is_null() {
            return Vec::new();
        }
        // SAFETY: non-NULL, NUL-terminated, owned by the decoder.
        let text = unsafe { CStr::from_ptr(hyp) }
            .to_string_lossy()
            .into_owned();
        text.split_whitespace()
            .filter_map(|raw| match self.classify(raw) {
                Token::Command(i) => Some(self.commands[i].clone()),
                Token::Garbage => Some(self.garbage(raw)),
                Token::Filler => None,
            })
            .collect()
    }
}

enum Token {
    Command(usize),
    Garbage,
    Filler,
}

impl Recognizer for SphinxRecognizer {
    fn name(&self) -> &'static str {
        ENGINE
    }

    fn accept(&mut self, pcm: &[i16]) -> Result<Option<Hypothesis>, VoiceError> {
        if pcm.is_empty() {
            return Ok(None);
        }
        self.start_utt()?;
        self.since_trim += pcm.len();
        // SAFETY: a live decoder in an utterance; pcm is a valid slice.
        let rv = unsafe { ffi::ps_process_raw(self.ps, pcm.as_ptr(), pcm.len(), 0, 0) };
        if rv < 0 {
            return Err(engine_error("decoding the audio failed"));
        }
        // SAFETY: a live decoder.
        let in_speech = unsafe { ffi::ps_get_in_speech(self.ps) } != 0;
        let was = std::mem::replace(&mut self.in_speech, in_speech);
        if in_speech {
            self.had_speech = true;
            let words = self.partial();
            return Ok((!words.is_empty()).then_some(Hypothesis::Partial(words)));
        }
        if was {
            // Speech → silence: the utterance is over.
            let words = self.end_utt()?;
            self.start_utt()?;
            return Ok(Some(Hypothesis::Final(words)));
        }
        Ok(None)
    }

    fn flush(&mut self) -> Result<Option<Hypothesis>, VoiceError> {
        let had_speech = self.had_speech;
        let words = self.end_utt()?;
        self.in_speech = false;
        Ok((had_speech || !words.is_empty()).then_some(Hypothesis::Final(words)))
    }
}

impl Drop for SphinxRecognizer {
    fn drop(&mut self) {
        // SAFETY: both pointers were returned by ps_init/cmd_ln_parse_r,
        // are non-NULL and are freed exactly once, here (ps_free drops the
        // decoder's own reference to the config; this drops ours).
        unsafe {
            if self.in_utt {
                ffi::ps_end_utt(self.ps);
            }
            ffi::ps_free(self.ps);
            ffi::cmd_ln_free_r(self.config);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::vocabulary::{edit_distance, vocabulary, Dictionary};
    use super::*;

    #[test]
    fn dutch_is_unsupported_and_says_to_use_vosk() {
        let err = SphinxRecognizer::new(Lang::Nl, &["pijn"]).unwrap_err();
        assert!(matches!(err, VoiceError::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("engine = \"vosk\""), "{err}");
    }

    #[test]
    fn a_missing_model_names_the_file_and_the_package() {
        let opts = SphinxOptions {
            model_dir: PathBuf::from("/nonexistent/model"),
            ..SphinxOptions::default()
        };
        let err = SphinxRecognizer::with_options(Lang::En, &["stop"], &opts).unwrap_err();
        assert!(matches!(err, VoiceError::NoModel { .. }), "{err}");
        assert!(err.to_string().contains("pocketsphinx-en-us"), "{err}");
    }

    fn phones(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn edit_distance_counts_phones() {
        assert_eq!(edit_distance(&phones("S T AA P"), &phones("S T AA P")), 0);
        assert_eq!(edit_distance(&phones("S T AA P"), &phones("S T AA K")), 1);
        assert_eq!(edit_distance(&phones("S T AA P"), &phones("T AA P")), 1);
        assert_eq!(edit_distance(&phones("S T AA P"), &phones("S T AA M P")), 1);
        assert_eq!(edit_distance(&phones("S T AA P"), &phones("SH AA P")), 2);
    }

    #[test]
    fn the_vocabulary_has_sound_alikes_but_no_homophones() {
        let path = Path::new(MODEL_DIR).join(DICT_FILE);
        if !path.is_file() {
            eprintln!("skipped: no {} ({APT_FIX})", path.display());
            return;
        }
        let dict = Dictionary::read(&path).unwrap();
        let cmds = vec!["stop".to_string(), "pain".to_string()];
        let uni = vec![("the".to_string(), -1.0), ("pane".to_string(), -5.0)];
        let (d, lm) = vocabulary(&dict, &cmds, &uni, &SphinxOptions::default()).unwrap();
        for w in ["stock", "top", "stomp", "paint", "cane", "the"] {
            assert!(
                d.lines().any(|l| l.starts_with(&format!("{w} "))),
                "{w} missing"
            );
            assert!(lm.contains(&format!(" {w}\n")), "{w} missing from the LM");
        }
        assert!(
            !d.lines().any(|l| l.starts_with("pane ")),
            "a homophone of pain"
        );
        assert!(d.contains("stop S T AA P"));
        assert!(lm.starts_with("\\data\\\nngram 1="), "{lm}");
        let err = vocabulary(
            &dict,
            &["qxzzy".to_string()],
            &uni,
            &SphinxOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("qxzzy"), "{err}");
    }
}

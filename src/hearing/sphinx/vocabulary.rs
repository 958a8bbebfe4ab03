//! The search vocabulary: the command words and the garbage words that
//! compete with them (frequent English words and sound-alikes), as a
//! pronouncing dictionary and a unigram language model.

use super::*;

/// What the decoder listens for: the command words, and the pronouncing
/// dictionary and unigram language model (ARPA text) of the command words
/// and their garbage vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    pub commands: Vec<String>,
    pub dict: String,
    pub lm: String,
    /// For calibration (`SphinxOptions::garbage_words`): the garbage words
    /// reported as themselves, all but the most frequent English words
    /// (function words, which any sentence has). Empty when listening.
    pub sound_alikes: HashSet<String>,
}

/// For calibration: how many of the most frequent English words are never
/// reported as themselves (see `SphinxOptions::garbage_words`).
const COMMON_WORDS: usize = 200;

impl Vocabulary {
    /// The vocabulary for `words` (the command words) from the model's
    /// dictionary and language model, tuned by `opts`. This reads both
    /// whole files: far more memory for a moment than the decoder needs.
    pub fn build(words: &[&str], opts: &SphinxOptions) -> Result<Vocabulary, VoiceError> {
        let commands: Vec<String> = words.iter().map(|w| w.trim().to_lowercase()).collect();
        if commands.is_empty() {
            return Err(engine_error("no command words to listen for"));
        }
        let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: a NULL stream switches sphinxbase's (global) log off, so
        // reading the language model prints nothing.
        unsafe { ffi::err_set_logfp(std::ptr::null_mut::<c_void>()) };
        let dict = Dictionary::read(&opts.model_dir.join(DICT_FILE))?;
        let uni = unigrams(&opts.model_dir.join(LM_FILE))?;
        let (dict, lm) = vocabulary(&dict, &commands, &uni, opts)?;
        let sound_alikes: HashSet<String> = if opts.garbage_words {
            let mut by_freq: Vec<&(String, f64)> = uni.iter().collect();
            by_freq.sort_by(|a, b| b.1.total_cmp(&a.1));
            let common: HashSet<&str> = by_freq
                .iter()
                .take(COMMON_WORDS)
                .map(|(w, _)| w.as_str())
                .collect();
            dict.lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(|w| w.split('(').next().unwrap_or(w))
                .filter(|w| !common.contains(w))
                .map(str::to_string)
                .collect()
        } else {
            HashSet::new()
        };
        Ok(Vocabulary {
            commands,
            dict,
            lm,
            sound_alikes,
        })
    }
}

/// The pronouncing dictionary.
pub(super) struct Dictionary {
    /// (base word, whole line, phones), in file order.
    entries: Vec<(String, String, Vec<String>)>,
    /// Base word → indices into `entries`.
    index: HashMap<String, Vec<usize>>,
}

impl Dictionary {
    pub(super) fn read(path: &Path) -> Result<Dictionary, VoiceError> {
        let text = std::fs::read_to_string(path).map_err(|e| VoiceError::NoModel {
            lang: Lang::En,
            path: path.to_path_buf(),
            fix: format!("{APT_FIX} (reading it failed: {e})"),
        })?;
        let entries: Vec<(String, String, Vec<String>)> = text
            .lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let head = parts.next()?;
                let base = head.split('(').next().unwrap_or(head).to_string();
                let phones: Vec<String> = parts.map(str::to_string).collect();
                (!phones.is_empty()).then(|| (base, line.to_string(), phones))
            })
            .collect();
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (w, _, _)) in entries.iter().enumerate() {
            index.entry(w.clone()).or_default().push(i);
        }
        Ok(Dictionary { entries, index })
    }

    pub(super) fn pronunciations(&self, word: &str) -> Vec<&[String]> {
        self.index.get(word).map_or_else(Vec::new, |ix| {
            ix.iter().map(|i| self.entries[*i].2.as_slice()).collect()
        })
    }
}

/// Phone edit distance (insertions, deletions, substitutions).
pub(super) fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, y) in b.iter().enumerate() {
            let v = (prev[j + 1] + 1)
                .min(cur[j] + 1)
                .min(prev[j] + usize::from(x != y));
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The unigram probabilities (log10) of the language model's words.
pub(super) fn unigrams(lm: &Path) -> Result<Vec<(String, f64)>, VoiceError> {
    let path = cstring(
        lm.to_str()
            .ok_or_else(|| engine_error(format!("{} is not valid UTF-8", lm.display())))?,
    )?;
    // SAFETY: plain constructor; freed below.
    let lmath = unsafe { ffi::logmath_init(1.0001, 0, 0) };
    if lmath.is_null() {
        return Err(engine_error("cannot set up log arithmetic"));
    }
    // SAFETY: a valid path string and logmath; a NULL config is allowed.
    let model = unsafe {
        ffi::ngram_model_read(std::ptr::null_mut(), path.as_ptr(), ffi::NGRAM_AUTO, lmath)
    };
    if model.is_null() {
        // SAFETY: created above, freed once.
        unsafe { ffi::logmath_free(lmath) };
        return Err(VoiceError::NoModel {
            lang: Lang::En,
            path: lm.to_path_buf(),
            fix: format!("{APT_FIX} (the language model could not be read)"),
        });
    }
    // SAFETY: a live model; counts[0] is the number of unigrams.
    let n = unsafe { *ffi::ngram_model_get_counts(model) };
    let mut out = Vec::with_capacity(n as usize);
    for wid in 0..i32::try_from(n).unwrap_or(0) {
        let mut used = 0i32;
        // SAFETY: wid < n; the word string belongs to the model and is
        // copied at once.
        let (word, score) = unsafe {
            let w = ffi::ngram_word(model, wid);
            if w.is_null() {
                continue;
            }
            (
                CStr::from_ptr(w).to_string_lossy().into_owned(),
                ffi::ngram_ng_score(model, wid, std::ptr::null_mut(), 0, &mut used),
            )
        };
        // SAFETY: lmath is the decoder's.
        let ln = unsafe { ffi::logmath_log_to_ln(lmath, score) };
        out.push((word, ln / std::f64::consts::LN_10));
    }
    // SAFETY: the model and logmath were made above and are freed once.
    unsafe {
        ffi::ngram_model_free(model);
        ffi::logmath_free(lmath);
    }
    Ok(out)
}

/// The command words and the garbage vocabulary, as a dictionary and an
/// ARPA unigram language model.
pub(super) fn vocabulary(
    dict: &Dictionary,
    commands: &[String],
    unigrams: &[(String, f64)],
    opts: &SphinxOptions,
) -> Result<(String, String), VoiceError> {
    let mut command_prons: Vec<&[String]> = Vec::new();
    for c in commands {
        let p = dict.pronunciations(c);
        if p.is_empty() {
            return Err(engine_error(format!(
                "the dictionary has no pronunciation for the command word {c:?}"
            )));
        }
        command_prons.extend(p);
    }
    let is_command = |w: &str| commands.iter().any(|c| c == w);
    // Homophones of a command (same phones) would only steal it.
    let homophone = |w: &str| {
        dict.pronunciations(w)
            .iter()
            .any(|p| command_prons.contains(p))
    };
    let usable = |w: &str| {
        !w.is_empty()
            && w.chars().all(|c| c.is_ascii_lowercase())
            && !is_command(w)
            && !homophone(w)
    };
    let mut frequent: Vec<(String, f64)> = unigrams
        .iter()
        .filter(|(w, _)| usable(w) && !dict.pronunciations(w).is_empty())
        .cloned()
        .collect();
    frequent.sort_by(|a, b| b.1.total_cmp(&a.1));
    frequent.truncate(opts.frequent_words);
    let frequent_set: HashSet<&str> = frequent.iter().map(|(w, _)| w.as_str()).collect();
    let mut neighbours: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for (w, _, p) in &dict.entries {
        if seen.contains(w.as_str()) || frequent_set.contains(w.as_str()) {
            continue;
        }
        let near = command_prons.iter().any(|c| {
            p.len().abs_diff(c.len()) <= opts.neighbour_edits
                && edit_distance(p, c) <= opts.neighbour_edits
        });
        if near && usable(w) {
            seen.insert(w);
            neighbours.push(w.clone());
        }
    }
    // Probabilities: the frequent words keep their relative frequency; each
    // neighbour is as likely as the median frequent word.
    let mut probs: Vec<(String, f64)> = frequent
        .iter()
        .map(|(w, lp)| (w.clone(), 10f64.powf(*lp)))
        .collect();
    let median = {
        let mut v: Vec<f64> = probs.iter().map(|(_, p)| *p).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(1e-4)
    };
    let mass = opts.command_mass.clamp(1e-9, 0.999);
    let per_command = mass / commands.len().max(1) as f64;
    // Sound-alikes with a prior of their own sit outside the garbage
    // mass; everything is scaled back to a total of 1.
    let (own, scale) = match opts.neighbour_prior {
        Some(r) => {
            let own: Vec<(String, f64)> =
                neighbours.drain(..).map(|w| (w, r * per_command)).collect();
            let extra: f64 = own.iter().map(|(_, p)| p).sum();
            (own, 1.0 / (1.0 + extra))
        }
        None => (Vec::new(), 1.0),
    };
    probs.extend(neighbours.into_iter().map(|w| (w, median)));
    let total: f64 = probs.iter().map(|(_, p)| p).sum::<f64>().max(1e-30);
    let mut lm = String::new();
    lm.push_str(&format!(
        "\\data\\\nngram 1={}\n\n\\1-grams:\n-99 <s>\n-1 </s>\n",
        commands.len() + probs.len() + own.len() + 2
    ));
    let mut words: HashSet<&str> = HashSet::new();
    for c in commands {
        // A calibrated word is likelier by its factor (issue 16, item 2);
        // the model is then not exactly normalised, which the decoder
        // does not need.
        let prior = opts
            .word_prior
            .iter()
            .find(|(w, _)| w == c)
            .map_or(1.0, |(_, f)| f.clamp(1e-3, 1e3));
        lm.push_str(&format!(
            "{:.4} {c}\n",
            (per_command * prior * scale).log10()
        ));
        words.insert(c);
    }
    for (w, p) in &probs {
        lm.push_str(&format!(
            "{:.4} {w}\n",
            ((1.0 - mass) * p / total * scale).log10()
        ));
        words.insert(w);
    }
    for (w, p) in &own {
        lm.push_str(&format!("{:.4} {w}\n", (p * scale).log10()));
        words.insert(w);
    }
    lm.push_str("\n\\end\\\n");
    let mut dict_text = String::new();
    for (w, line, _) in &dict.entries {
        if words.contains(&w.as_str()) {
            dict_text.push_str(line);
            dict_text.push('\n');
        }
    }
    Ok((dict_text, lm))
}

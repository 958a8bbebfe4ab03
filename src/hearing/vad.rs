//! Voice-activity detection by energy against an adaptive noise floor:
//! cheap enough for a Pi Zero, and enough to tell the decider whether a
//! recognised word was backed by sound (Vosk can return grammar words for
//! noise).

/// Frame-by-frame speech/no-speech, adapting to the room's noise.
#[derive(Debug, Clone)]
pub struct Vad {
    floor: f32,
    /// A frame is speech when its level is this many dB over the floor.
    margin_db: f32,
    hangover: u32,
    left: u32,
    // issue 16, item 2: the user's calibrated speech level.
    /// The level (dBFS) of the loud part of this user's command words, as
    /// calibration measured it: the margin then shrinks where the room is
    /// so noisy that the user's speech stands out less than the default
    /// margin plus [`Vad::WORD_RANGE_DB`] (see [`Vad::margin_db`]).
    expected_dbfs: Option<f32>,
}

impl Vad {
    /// Frames a speech decision is held after the sound drops.
    pub const HANGOVER_FRAMES: u32 = 8;

    /// How far (dB) below the loud part of a word its quieter sounds may
    /// fall and still count as speech, with a calibrated speech level.
    pub const WORD_RANGE_DB: f32 = 12.0;

    /// The least margin over the noise floor a calibration may bring:
    /// 20 ms frames of steady noise vary by about ±1 dB, so 4 dB still
    /// keeps a steady room quiet. Below it the VAD would follow the noise.
    pub const MIN_MARGIN_DB: f32 = 4.0;

    /// The margin without a calibrated speech level.
    pub const DEFAULT_MARGIN_DB: f32 = 9.0;

    /// A VAD that expects the user's speech at `speech_dbfs` (None: the
    /// default VAD). The margin is never raised above the default's.
    pub fn expecting(speech_dbfs: Option<f32>) -> Vad {
        Vad {
            expected_dbfs: speech_dbfs.filter(|l| l.is_finite()),
            ..Vad::default()
        }
    }

    /// The margin (dB over the noise floor) a frame must reach now: the
    /// default, or, with an expected speech level, that level less
    /// [`Vad::WORD_RANGE_DB`] over the floor, within
    /// [`Vad::MIN_MARGIN_DB`]..default.
    pub fn margin_db(&self) -> f32 {
        match self.expected_dbfs {
            None => self.margin_db,
            Some(level) => Vad::margin_for(level, 10.0 * self.floor.max(1e-10).log10()),
        }
    }

    /// The margin (dB) a VAD expecting speech at `level_dbfs` uses over a
    /// noise floor of `floor_dbfs`; below [`Vad::DEFAULT_MARGIN_DB`] only in
    /// a room so noisy that the speech stands out less than that plus
    /// [`Vad::WORD_RANGE_DB`].
    pub fn margin_for(level_dbfs: f32, floor_dbfs: f32) -> f32 {
        (level_dbfs - Vad::WORD_RANGE_DB - floor_dbfs)
            .clamp(Vad::MIN_MARGIN_DB, Vad::DEFAULT_MARGIN_DB)
    }
}

impl Default for Vad {
    fn default() -> Self {
        Vad {
            floor: 1e-4,
            margin_db: Vad::DEFAULT_MARGIN_DB,
            hangover: Vad::HANGOVER_FRAMES,
            left: 0,
            expected_dbfs: None,
        }
    }
}

impl Vad {
    /// Whether `frame` (16-bit mono) is speech.
    pub fn frame(&mut self, frame: &[i16]) -> bool {
        if frame.is_empty() {
            return false;
        }
        let energy = super::mean_square(frame).max(1e-10);
        let loud = 10.0 * (energy / self.floor).log10() > self.margin_db();
        // The floor follows quiet frames quickly and loud ones very slowly.
        let rate = if loud { 0.0005 } else { 0.05 };
        self.floor = (self.floor * (1.0 - rate) + energy * rate).max(1e-9);
        if loud {
            self.left = self.hangover;
            true
        } else if self.left > 0 {
            self.left -= 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_over_noise_is_detected_and_noise_alone_is_not() {
        let mut v = Vad::default();
        let mut seed = 1u32;
        let mut noise = |amp: f32| -> Vec<i16> {
            (0..320)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (((seed >> 16) as f32 / 65536.0 - 0.5) * amp * 32768.0) as i16
                })
                .collect()
        };
        // Settle on room noise.
        for _ in 0..100 {
            v.frame(&noise(0.01));
        }
        let quiet: usize = (0..50).filter(|_| v.frame(&noise(0.01))).count();
        assert!(quiet <= 2, "noise alone: {quiet} of 50 frames");
        let loud: usize = (0..20).filter(|_| v.frame(&noise(0.3))).count();
        assert_eq!(loud, 20);
    }

    #[test]
    fn a_calibrated_level_lowers_the_margin_in_a_noisy_room_only() {
        let settle = |v: &mut Vad, amp: i16| {
            for _ in 0..400 {
                v.frame(&[amp, -amp].repeat(160));
            }
        };
        // (case, noise amplitude, expected speech dBFS, margin)
        let cases = [
            ("default", 100, None, 9.0),
            ("quiet room: the default", 30, Some(-20.0), 9.0),
            // floor ≈ −50 dBFS: −30 − 12 + 50 = 8 dB.
            ("noisy room", 104, Some(-30.0), 8.0),
            (
                "very noisy room: the least margin",
                1000,
                Some(-25.0),
                Vad::MIN_MARGIN_DB,
            ),
        ];
        for (name, amp, level, want) in cases {
            let mut v = Vad::expecting(level);
            settle(&mut v, amp);
            assert!(
                (v.margin_db() - want).abs() < 0.5,
                "{name}: {}",
                v.margin_db()
            );
        }
    }
}

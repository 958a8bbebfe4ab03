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
}

impl Vad {
    /// Frames a speech decision is held after the sound drops.
    pub const HANGOVER_FRAMES: u32 = 8;
}

impl Default for Vad {
    fn default() -> Self {
        Vad {
            floor: 1e-4,
            margin_db: 9.0,
            hangover: Vad::HANGOVER_FRAMES,
            left: 0,
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
        let loud = 10.0 * (energy / self.floor).log10() > self.margin_db;
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
}

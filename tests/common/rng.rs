//! The one seeded random generator of the tests (xorshift64), so that a
//! seed names a room, a noise or a run, and the noise made from it.

/// A small deterministic random generator (xorshift64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Roughly Gaussian (sum of four uniforms), unit variance.
    pub fn gauss(&mut self) -> f32 {
        (0..4).map(|_| self.unit()).sum::<f32>().mul_add(1.0, -2.0) * 1.732
    }
}

/// The colour of a noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    White,
    /// Paul Kellet's pink filter.
    Pink,
    /// Slightly low-passed (one pole): a room's floor.
    Soft,
}

/// `n` samples of noise of `colour` from `rng`, at the level the filter
/// leaves (unit-variance white before it).
pub fn noise(n: usize, colour: Colour, rng: &mut Rng) -> Vec<f32> {
    let mut b = [0.0f32; 7];
    let mut prev = 0.0f32;
    (0..n)
        .map(|_| {
            let w = rng.gauss();
            match colour {
                Colour::White => w,
                Colour::Soft => {
                    prev = 0.6 * prev + 0.4 * w;
                    prev
                }
                Colour::Pink => {
                    b[0] = 0.99886 * b[0] + w * 0.0555179;
                    b[1] = 0.99332 * b[1] + w * 0.0750759;
                    b[2] = 0.96900 * b[2] + w * 0.153_852;
                    b[3] = 0.86650 * b[3] + w * 0.3104856;
                    b[4] = 0.55000 * b[4] + w * 0.5329522;
                    b[5] = -0.7616 * b[5] - w * 0.0168980;
                    let p = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
                    b[6] = w * 0.115926;
                    p
                }
            }
        })
        .collect()
}

/// `n` samples of noise of `colour` scaled to exactly `rms`,
/// deterministic for `seed`.
pub fn noise_at_rms(n: usize, rms: f32, colour: Colour, seed: u64) -> Vec<f32> {
    let raw = noise(n, colour, &mut Rng::new(seed));
    let have = (raw.iter().map(|s| s * s).sum::<f32>() / n.max(1) as f32).sqrt();
    let g = rms / have.max(1e-9);
    raw.into_iter().map(|s| s * g).collect()
}

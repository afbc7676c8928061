//! Element-wise kernels of the encoder, written so the compiler vectorises them.
//!
//! Floating-point sums are not reassociated by the compiler, so a plain `sum()` runs
//! one add at a time; the reductions here keep 16 independent partial sums (one
//! vector register), combined at the end. `exp` is a branch-free polynomial so loops
//! over it vectorise too (the C library's `expf` is a call per element). Everything is
//! `#[inline(always)]`: the encoder's AVX-512 entry point compiles these for its
//! target features, the portable one for the baseline.

const LANES: usize = 16;

/// 1.5 x 2^23: adding it to an `f32` of magnitude at most 2^22 leaves no fraction
/// bits, so the sum is the value rounded to the nearest integer (ties to even), held
/// in the low mantissa bits. Rounding and converting this way are plain vector adds
/// on any x86: the baseline has no rounding instruction (`round_ties_even` became a
/// call to `rintf`, once a quarter of the encoder's time), and `as i32` is a
/// saturating conversion the compiler does element by element.
const MAGIC: f32 = 12_582_912.0;

/// `v` rounded to the nearest integer, ties to even; `|v| <= 2^22`.
#[inline(always)]
pub(crate) fn round_small(v: f32) -> f32 {
    (v + MAGIC) - MAGIC
}

/// `v` rounded to the nearest integer (ties to even) as an `i32`; `|v| <= 2^22`.
#[inline(always)]
pub(crate) fn round_to_int(v: f32) -> i32 {
    (v + MAGIC).to_bits().wrapping_sub(MAGIC.to_bits()) as i32
}

/// `(min x_i, max x_i)` (infinities when empty).
#[inline(always)]
pub(crate) fn min_max(x: &[f32]) -> (f32, f32) {
    let mut lo = [f32::INFINITY; LANES];
    let mut hi = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for ((l, h), v) in lo.iter_mut().zip(hi.iter_mut()).zip(c) {
            *l = l.min(*v);
            *h = h.max(*v);
        }
    }
    let mut min = tail.iter().fold(f32::INFINITY, |m, v| m.min(*v));
    let mut max = tail.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    for (l, h) in lo.iter().zip(&hi) {
        min = min.min(*l);
        max = max.max(*h);
    }
    (min, max)
}

/// `max x_i` (negative infinity when empty).
#[inline(always)]
pub(crate) fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a = a.max(*v);
        }
    }
    let mut m = tail.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    for a in acc {
        m = m.max(a);
    }
    m
}

/// `sum x_i`.
#[inline(always)]
pub(crate) fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + tail.iter().sum::<f32>()
}

/// `sum (x_i - mean)^2`.
#[inline(always)]
fn squared_deviation(x: &[f32], mean: f32) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            let d = v - mean;
            *a += d * d;
        }
    }
    acc.iter().sum::<f32>() + tail.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>()
}

/// `e^x`, relative error below 2e-7 over the range where `f32` is normal; inputs
/// below -87 give (nearly) 0, above 88 a large finite value.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts (Cody and Waite): n * LN2_HI is exact for |n| < 2^9, so r
    // keeps its precision even where n ln 2 is large.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    // x = n ln2 + r with |r| <= ln2 / 2; e^r by its Taylor series to r^7.
    let n = round_small(x * LOG2E);
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let n = round_to_int(x * LOG2E);
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2^n by building the exponent bits; n is in [-126, 127] after the clamp.
    p * f32::from_bits(((n + 127) as u32) << 23)
}

/// The error function (Abramowitz and Stegun 7.1.26, absolute error below 1.5e-7).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// How the feed-forward layer's activation is computed (`hidden_act` in config.json).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activation {
    /// `x Φ(x)` with the exact normal CDF (BERT's "gelu").
    Gelu,
    /// The tanh approximation of GELU ("gelu_new", "gelu_pytorch_tanh").
    GeluTanh,
    Relu,
}

impl Activation {
    pub(crate) fn parse(name: &str) -> Option<Activation> {
        match name {
            "gelu" => Some(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Some(Activation::GeluTanh),
            "relu" => Some(Activation::Relu),
            _ => None,
        }
    }

    #[inline(always)]
    pub(crate) fn apply(self, x: &mut [f32]) {
        match self {
            Activation::Gelu => {
                for v in x {
                    *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
                }
            }
            Activation::GeluTanh => {
                const C: f32 = 0.797_884_6; // sqrt(2 / pi)
                for v in x {
                    let u = C * (*v + 0.044_715 * *v * *v * *v);
                    // tanh(u) = 1 - 2 / (e^{2u} + 1), which saturates cleanly.
                    let tanh = 1.0 - 2.0 / (exp(2.0 * u) + 1.0);
                    *v = 0.5 * *v * (1.0 + tanh);
                }
            }
            Activation::Relu => {
                for v in x {
                    *v = v.max(0.0);
                }
            }
        }
    }
}

/// `x = (x - mean) / sqrt(var + eps) * gamma + beta`, in place.
#[inline(always)]
pub(crate) fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let inv = 1.0 / (squared_deviation(x, mean) / n + eps).sqrt();
    for ((v, g), b) in x.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// Softmax of `x`, in place.
#[inline(always)]
pub(crate) fn softmax(x: &mut [f32]) {
    let m = max(x);
    for v in x.iter_mut() {
        *v = exp(*v - m);
    }
    let inv = 1.0 / sum(x);
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// `x += y`.
#[inline(always)]
pub(crate) fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_the_library() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (ours, std) = (exp(x), x.exp());
            assert!(((ours - std) / std).abs() < 3e-7, "{x}: {ours} vs {std}");
            x += 0.0137;
        }
        assert!(exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn erf_matches_known_values() {
        // erf to 9 places from tables.
        for (x, want) in [
            (0.0f32, 0.0f64),
            (0.1, 0.112_462_916),
            (0.5, 0.520_499_878),
            (1.0, 0.842_700_793),
            (2.0, 0.995_322_265),
            (3.5, 0.999_999_257),
        ] {
            assert!((erf(x) as f64 - want).abs() < 3e-7, "{x}");
            assert!((erf(-x) as f64 + want).abs() < 3e-7, "-{x}");
        }
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        for (v, want) in [
            (0.5f32, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (-127.4, -127),
            (126.6, 127),
        ] {
            assert_eq!(round_to_int(v), want, "{v}");
            assert_eq!(round_small(v), want as f32, "{v}");
        }
    }

    #[test]
    fn reductions_cover_the_tail() {
        let x: Vec<f32> = (0..37).map(|i| i as f32 - 20.0).collect();
        assert_eq!(sum(&x), x.iter().sum::<f32>());
        assert_eq!(max(&x), 16.0);
        assert_eq!(min_max(&x), (-20.0, 16.0));
        assert_eq!(max(&[]), f32::NEG_INFINITY);
        let mut s = vec![1.0, 2.0, 3.0];
        softmax(&mut s);
        let e: Vec<f32> = [1.0f32, 2.0, 3.0].iter().map(|v| v.exp()).collect();
        let t: f32 = e.iter().sum();
        for (a, b) in s.iter().zip(&e) {
            assert!((a - b / t).abs() < 1e-6);
        }
    }

    #[test]
    fn layer_norm_centres_and_scales() {
        let mut x: Vec<f32> = (0..40).map(|i| (i * i) as f32).collect();
        layer_norm(&mut x, &[2.0; 40], &[1.0; 40], 1e-12);
        let mean = x.iter().sum::<f32>() / 40.0;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 40.0;
        assert!(
            (mean - 1.0).abs() < 1e-5 && (var - 4.0).abs() < 1e-4,
            "{mean} {var}"
        );
    }
}

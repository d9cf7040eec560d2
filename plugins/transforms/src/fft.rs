//! Causal convolution by FFT for long lag windows (crate-private).
//!
//! `y = w ∗ x` (first `n` outputs of the linear convolution) by overlap–add: `x` is cut into
//! blocks of `B` values, and each block's linear convolution with `w` (`B + L − 1` values)
//! comes from real FFTs of a length `N = 2M ≥ B + L − 1`, each computed as a complex FFT of
//! length `M` of the even/odd-packed series (`c_j = v_{2j} + i·v_{2j+1}`) plus an O(M) split:
//!
//! ```text
//! C = DFT_M(c),  E_k = (C_k + C̄_{M−k})/2,  O_k = (C_k − C̄_{M−k})/(2i),
//! V_k = E_k + t_k·O_k  (k = 0 … M),  t_k = e^{−2πik/N}          (forward, for x and for w)
//! Y_k = X_k·W_k
//! E_k = (Y_k + Ȳ_{M−k})/2,  O_k = (Y_k − Ȳ_{M−k})·t̄_k/2,  D_k = E_k + i·O_k   (k < M)
//! y_{2j} + i·y_{2j+1} = IDFT_M(D)_j / M                          (inverse)
//! ```
//!
//! The layout (`M` and `B`, [`Layout::choose`]) is the one of least estimated cost, a pure
//! function of `(n, L)`. Per call, the weights are transformed once, and each block costs
//! one fused O(M) pass ([`multiply_split`]: splits `W`, multiplies by `X`, packs `D`) and one
//! inverse FFT. What the pass needs of `X` is kept per thread for the last [`SPECTRA`] input
//! series, keyed by their exact bits, because fitting applies the same transform to the
//! same spend series thousands of times with different parameters (and `d_params` convolves
//! the same input with the weights' derivatives); a hit gives the same bits as recomputing.
//!
//! The FFTs are `rustfft`'s AVX planner when the CPU has AVX2 and FMA (2.5–3× faster than its
//! scalar planner), and the scalar planner otherwise. Results are therefore bit-identical on
//! every machine of either kind and for any number of threads; between the two kinds they
//! differ in the last bits (far below the error bound below). Lengths are `f·2^a` with `f`
//! one of [`FACTORS`].
//!
//! Accuracy: the error of an FFT convolution is relative to the norms of the whole series,
//! not to each output: `|Δy_t| ≲ c·log₂N·u·‖w‖₂·‖x‖₂`, tested to be below 1e-12·max|y| (and
//! far below the 1e-9 of the reference fixtures). Outputs before the first nonzero input are
//! exactly 0 (the leading zeros are not transformed).
//!
//! Plans, twiddles, kept spectra and buffers live per thread and grow to the longest length
//! seen, so the steady state allocates nothing.

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlannerAvx, FftPlannerScalar};
use std::cell::RefCell;
use std::sync::Arc;

type C64 = Complex<f64>;

/// Input spectra kept per thread at most (a model's channels on one thread each have their
/// own).
const SPECTRA: usize = 32;

/// Bytes of kept spectra per thread at most (series and coefficients): 32 series of 1,000
/// periods take about 1 MB; long series keep fewer (at least one).
const SPECTRA_BYTES: usize = 8 << 20;

/// Forward and inverse plans of one complex length `M` and the split twiddles
/// `t_k = e^{−2πik/(2M)}`, `k = 0 … M`.
struct Plan {
    fwd: Arc<dyn Fft<f64>>,
    inv: Arc<dyn Fft<f64>>,
    tw: Vec<C64>,
}

/// rustfft's AVX planner where the CPU has AVX2 and FMA, its scalar planner elsewhere.
enum Planner {
    Avx(FftPlannerAvx<f64>),
    Scalar(FftPlannerScalar<f64>),
}

impl Planner {
    fn detect() -> Self {
        FftPlannerAvx::new().map_or_else(|_| Planner::Scalar(FftPlannerScalar::new()), Planner::Avx)
    }

    fn plan(&mut self, m: usize) -> Plan {
        let (fwd, inv) = match self {
            Planner::Avx(p) => (p.plan_fft_forward(m), p.plan_fft_inverse(m)),
            Planner::Scalar(p) => (p.plan_fft_forward(m), p.plan_fft_inverse(m)),
        };
        let tw = (0..=m)
            .map(|k| {
                let a = -std::f64::consts::PI * k as f64 / m as f64;
                C64::new(a.cos(), a.sin())
            })
            .collect();
        Plan { fwd, inv, tw }
    }
}

/// What [`multiply_split`] needs of one input series `x` at one [`Layout`]: the coefficients
/// of each block.
struct Spectrum {
    layout: Layout,
    x: Vec<f64>,
    blocks: Vec<Coefficients>,
    last_used: u64,
}

/// The per-`k` coefficients `P_k`, `Q_k`, `R_k` of [`multiply_split`] (`k = 0 … ⌊M/2⌋`), one
/// array each, so that two consecutive `k` load as one AVX vector.
#[derive(Default)]
struct Coefficients {
    p: Vec<C64>,
    q: Vec<C64>,
    r: Vec<C64>,
}

impl Coefficients {
    /// From the input's real spectrum `X_k` (`k = 0 … M`, see [`forward`]) and the twiddles
    /// `t_k = cos θ_k − i·sin θ_k`, `θ_k = πk/M`: with `A = X_k/M`, `B = X̄_{M−k}/M`,
    /// `σ = (A + B)/2`, `Δ = (A − B)/2`,
    ///
    /// ```text
    /// P_k = σ − Δ·sin θ_k,   Q_k = σ + Δ·sin θ_k,   R_k = i·Δ·cos θ_k
    /// ```
    ///
    /// (the `1/M` of the inverse FFT is folded in).
    fn of(&mut self, xs: &[C64], tw: &[C64]) {
        let m = tw.len() - 1;
        let scale = 1.0 / m as f64;
        for v in [&mut self.p, &mut self.q, &mut self.r] {
            v.clear();
        }
        for k in 0..=m / 2 {
            let (a, b) = (xs[k] * scale, xs[m - k].conj() * scale);
            let (sigma, delta) = ((a + b) * 0.5, (a - b) * 0.5);
            let (cos, sin) = (tw[k].re, -tw[k].im);
            self.p.push(sigma - delta * sin);
            self.q.push(sigma + delta * sin);
            self.r.push(C64::new(-delta.im * cos, delta.re * cos));
        }
    }
}

/// Per-thread planner, plans (by `M`), input spectra and buffers.
struct Cache {
    planner: Planner,
    /// `(M, plan)`, searched linearly (a handful of lengths; cheaper than hashing).
    plans: Vec<(usize, Plan)>,
    spectra: Vec<Spectrum>,
    clock: u64,
    /// The last `(n, L)` and its layout ([`Layout::choose`] scans a dozen candidates).
    last_layout: Option<(usize, usize, Layout)>,
    buf: Vec<C64>,
    wbuf: Vec<C64>,
    scratch: Vec<C64>,
}

impl Cache {
    fn new(planner: Planner) -> Self {
        Cache {
            planner,
            plans: Vec::new(),
            spectra: Vec::new(),
            clock: 0,
            last_layout: None,
            buf: Vec::new(),
            wbuf: Vec::new(),
            scratch: Vec::new(),
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::new(Planner::detect()));
}

/// Makes this thread's FFTs use the scalar planner (`true`) or the detected one (`false`), for
/// tests that compare the two.
#[cfg(test)]
pub(crate) fn use_scalar_planner(scalar: bool) {
    let planner = if scalar {
        Planner::Scalar(FftPlannerScalar::new())
    } else {
        Planner::detect()
    };
    CACHE.set(Cache::new(planner));
}

/// Forgets this thread's input spectra (to time [`convolve_fft`] on inputs not seen before).
#[cfg(test)]
pub(crate) fn forget_spectra() {
    CACHE.with_borrow_mut(|c| c.spectra.iter_mut().for_each(|s| s.x.clear()));
}

/// The odd factors `f` of the FFT lengths `M = f·2^a` used, with `log₂ f`: lengths whose
/// radix-2/3/5 decompositions rustfft's AVX planner runs at about the speed of a power of two
/// (0.15–0.25 ns·M·log₂M for `M` from 64 to 2048, measured on the project's Zen 3).
const FACTORS: [(usize, f64); 5] = [(1, 0.0), (3, 1.585), (5, 2.322), (9, 3.170), (27, 4.755)];

/// The number of input series whose spectra this thread keeps, and their bytes.
#[cfg(test)]
pub(crate) fn kept_spectra() -> (usize, usize) {
    CACHE.with_borrow(|c| {
        let bytes = c
            .spectra
            .iter()
            .map(|s| {
                let coef: usize = s.blocks.iter().map(|b| 3 * b.p.len()).sum();
                8 * s.x.len() + coef * std::mem::size_of::<C64>()
            })
            .sum();
        (c.spectra.len(), bytes)
    })
}

/// Bytes of kept spectra per thread at most, for tests.
#[cfg(test)]
pub(crate) const KEPT_BYTES: usize = SPECTRA_BYTES;

/// The smallest FFT length `N = 2M ≥ len` with `M = f·2^a`, `f` one of [`FACTORS`].
pub(crate) fn fft_len(len: usize) -> usize {
    let m_min = len.div_ceil(2).max(1);
    let mut best = usize::MAX;
    for (f, _) in FACTORS {
        let mut m = f;
        while m < m_min {
            m *= 2;
        }
        best = best.min(m);
    }
    2 * best
}

/// Estimated time in ns of [`convolve_fft`] for `n` outputs and `l` lags (on an input whose
/// spectrum is kept, the case of fitting), for the choice of path in `util::uses_fft`.
pub(crate) fn fft_cost_ns(n: usize, l: usize) -> f64 {
    Layout::choose(n, l).cost_ns(n)
}

/// Packs the real series `v` (zero-padded to `2M`) as `c_j = v_{2j} + i·v_{2j+1}` into
/// `buf[..M]`: a copy into the interleaved parts ([`as_reals_mut`]) and a fill with zeros.
fn pack(v: &[f64], buf: &mut [C64]) {
    let reals = as_reals_mut(buf);
    reals[..v.len()].copy_from_slice(v);
    reals[v.len()..].fill(0.0);
}

/// Forward real FFT of `v` (zero-padded to `2M`) into `buf[0 ..= M]` (see the module docs).
fn forward(v: &[f64], plan: &Plan, buf: &mut [C64], scratch: &mut [C64]) {
    let m = plan.tw.len() - 1;
    pack(v, &mut buf[..m]);
    plan.fwd.process_with_scratch(&mut buf[..m], scratch);
    // split in place, k and M − k together (buf[M] receives k = M)
    let c0 = buf[0];
    buf[0] = C64::new(c0.re + c0.im, 0.0);
    buf[m] = C64::new(c0.re - c0.im, 0.0);
    let tw = &plan.tw;
    for k in 1..m.div_ceil(2) {
        let (a, b) = (buf[k], buf[m - k]);
        buf[k] = split(a, b, tw[k]);
        buf[m - k] = split(b, a, tw[m - k]);
    }
    if m.is_multiple_of(2) && m >= 2 {
        let a = buf[m / 2];
        buf[m / 2] = split(a, a, tw[m / 2]);
    }
}

/// `V_k = E_k + t·O_k`, `E_k = (a + b̄)/2`, `O_k = (a − b̄)/(2i)` for `a = C_k`, `b = C_{M−k}`.
#[inline(always)]
fn split(a: C64, b: C64, t: C64) -> C64 {
    let (er, ei) = (0.5 * (a.re + b.re), 0.5 * (a.im - b.im));
    // (a − b̄)/(2i) = ((a.im + b.im) − i·(a.re − b.re))/2
    let (or, oi) = (0.5 * (a.im + b.im), -0.5 * (a.re - b.re));
    C64::new(er + (t.re * or - t.im * oi), ei + (t.re * oi + t.im * or))
}

/// Turns the DFT `C` of the packed weights in `buf[..M]` into the packed spectrum `D` of the
/// output, in place, two mirrored `k` at a time: with `a = C_k`, `b = C_{M−k}`,
///
/// ```text
/// D_k = P_k·a + R_k·b̄,    D_{M−k} = conj(Q_k·b̄ − R_k·a)
/// ```
///
/// which is the split of `W` (`W_k = E + t_k·O`, `W_{M−k} = conj(E − t_k·O)`), the product
/// `Y = X·W` and the packing of `D` of the module docs in one pass, with `X` carried by the
/// coefficients ([`Coefficients::of`]). With AVX, two `k` per vector; the same operations in
/// the same order either way (no fused multiply–adds), so the bits do not depend on the path.
/// (A fused AVX2 + FMA form, 2 multiplications and 6 fused steps per two `k` instead of 14
/// operations, and a form with the coefficients' parts stored duplicated, 4 shuffles per two
/// `k` instead of 9, both measured no faster: 0.33 µs per call at `M` = 432 in all three.)
fn multiply_split(src: &[C64], c: &Coefficients, dst: &mut [C64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU was just found to have AVX.
            unsafe { multiply_split_avx(src, c, dst) };
            return;
        }
    }
    multiply_split_from(src, c, dst, 0);
}

/// `D_k` (and `D_{M−k}`) for one `k` (see [`multiply_split`]).
#[inline(always)]
fn pair(src: &[C64], c: &Coefficients, dst: &mut [C64], k: usize) {
    let m = src.len();
    let (a, b) = (src[k], src[(m - k) % m].conj());
    dst[k] = cmul(c.p[k], a) + cmul(c.r[k], b);
    if k != 0 && 2 * k != m {
        dst[m - k] = (cmul(c.q[k], b) - cmul(c.r[k], a)).conj();
    }
}

/// `z·w` as `(z.re·w.re − z.im·w.im, z.im·w.re + z.re·w.im)`, the operations of the AVX path.
#[inline(always)]
fn cmul(z: C64, w: C64) -> C64 {
    C64::new(z.re * w.re - z.im * w.im, z.im * w.re + z.re * w.im)
}

/// [`multiply_split`] for `k = from … ⌊M/2⌋`, one `k` at a time.
fn multiply_split_from(src: &[C64], c: &Coefficients, dst: &mut [C64], from: usize) {
    for k in from..=src.len() / 2 {
        pair(src, c, dst, k);
    }
}

/// [`multiply_split`] with AVX: `k = 0`, then pairs `k, k+1` (and `M−k, M−k−1`) per vector
/// while they do not meet, then the rest one at a time.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn multiply_split_avx(src: &[C64], c: &Coefficients, dst: &mut [C64]) {
    use std::arch::x86_64::*;
    let m = src.len();
    assert_eq!(dst.len(), m);
    pair(src, c, dst, 0);
    let mut k = 1;
    // two k per step while k + 1 < M − (k + 1): the four slots are distinct
    let (sp, dp) = (src.as_ptr() as *const f64, dst.as_mut_ptr() as *mut f64);
    let conj_mask = _mm256_set_pd(-0.0, 0.0, -0.0, 0.0);
    #[inline]
    #[target_feature(enable = "avx")]
    fn cmul_v(z: __m256d, w: __m256d) -> __m256d {
        // (z.re·w.re − z.im·w.im, z.im·w.re + z.re·w.im) per complex
        let wr = _mm256_movedup_pd(w);
        let wi = _mm256_permute_pd(w, 0b1111);
        let zs = _mm256_permute_pd(z, 0b0101);
        _mm256_addsub_pd(_mm256_mul_pd(z, wr), _mm256_mul_pd(zs, wi))
    }
    while 2 * (k + 1) < m {
        // SAFETY: k + 1 < M − k − 1 ≤ M − 1, so both loads and stores are in bounds of `src`
        // and `dst` (both of length M), and the coefficient arrays have ⌊M/2⌋ + 1 > k + 1
        // entries.
        unsafe {
            let a = _mm256_loadu_pd(sp.add(2 * k));
            // C_{M−k−1}, C_{M−k} → swapped to C_{M−k}, C_{M−k−1}, then conjugated
            let hi = _mm256_loadu_pd(sp.add(2 * (m - k - 1)));
            let b = _mm256_xor_pd(_mm256_permute2f128_pd(hi, hi, 1), conj_mask);
            let coef = |v: &Vec<C64>| _mm256_loadu_pd(v.as_ptr().add(k) as *const f64);
            let r = coef(&c.r);
            let d_lo = _mm256_add_pd(cmul_v(coef(&c.p), a), cmul_v(r, b));
            let d_hi = _mm256_sub_pd(cmul_v(coef(&c.q), b), cmul_v(r, a));
            let d_hi = _mm256_xor_pd(d_hi, conj_mask);
            _mm256_storeu_pd(dp.add(2 * k), d_lo);
            _mm256_storeu_pd(
                dp.add(2 * (m - k - 1)),
                _mm256_permute2f128_pd(d_hi, d_hi, 1),
            );
        }
        k += 2;
    }
    multiply_split_from(src, c, dst, k);
}

/// The interleaved real and imaginary parts of `v` (`y_{2j} = v_j.re`, `y_{2j+1} = v_j.im`).
fn as_reals(v: &[C64]) -> &[f64] {
    // SAFETY: `Complex<f64>` is `#[repr(C)]` with fields `re`, `im` (num-complex documents
    // this layout), so `v` is `2·v.len()` consecutive, initialized, aligned `f64`s, borrowed
    // for the same lifetime.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<f64>(), 2 * v.len()) }
}

/// [`as_reals`], mutable.
fn as_reals_mut(v: &mut [C64]) -> &mut [f64] {
    // SAFETY: as in `as_reals`; the view borrows `v` mutably for the same lifetime, and any
    // f64 written is a valid part of a `Complex<f64>`.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<f64>(), 2 * v.len()) }
}

/// The consecutive pairs of `v` (of even length) as complex values, `(v_{2j}, v_{2j+1})`.
fn as_complex_mut(v: &mut [f64]) -> &mut [C64] {
    debug_assert!(v.len().is_multiple_of(2));
    // SAFETY: `Complex<f64>` is `#[repr(C)]` with two `f64` fields and the alignment of `f64`
    // (num-complex documents this layout), so `v.len()/2` pairs of consecutive, initialized
    // `f64`s are as many valid complex values; the view borrows `v` mutably for the same
    // lifetime.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<C64>(), v.len() / 2) }
}

/// Whether two series have the same bits (so their spectra are the same).
fn same_bits(a: &[f64], b: &[f64]) -> bool {
    // SAFETY: any initialized f64 is 8 initialized bytes; the byte views borrow `a` and `b`
    // for the same lifetime and length. Comparing bytes is comparing bits (memcmp).
    let bytes =
        |v: &[f64]| unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), 8 * v.len()) };
    bytes(a) == bytes(b)
}

/// How [`convolve_fft`] cuts a series of `n` values for `L` lags (overlap–add): blocks of
/// `block` inputs, each convolved through real FFTs of length `2M ≥ block + L − 1`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Layout {
    /// Complex FFT length `M`.
    pub(crate) m: usize,
    /// Inputs per block, `min(n, 2M − L + 1)`.
    pub(crate) block: usize,
    /// Number of blocks, `⌈n/block⌉`.
    pub(crate) blocks: usize,
}

/// Estimated time in ns of one complex FFT of length `M = f·2^a` ([`FACTORS`]) with
/// rustfft's AVX planner: `c·M·log₂M + 20` with `c` = 0.15 up to `M` = 256, 0.19 up to 640
/// and 0.23 above (larger transforms leave the first-level cache), fitted to lengths 64–2048
/// on the project's Zen 3; without a logarithm call, as [`Layout::choose`] runs often.
fn fft_ns(m: usize) -> f64 {
    let a = m.trailing_zeros();
    let log2_f = FACTORS
        .iter()
        .find(|(f, _)| *f == m >> a)
        .map_or(0.0, |(_, l)| *l);
    let c = match m {
        0..=256 => 0.15,
        257..=640 => 0.19,
        _ => 0.23,
    };
    c * m as f64 * (a as f64 + log2_f).max(1.0) + 20.0
}

impl Layout {
    /// The layout of least estimated cost ([`Layout::cost_ns`]) for `n` outputs and `l` lags
    /// (`1 ≤ l ≤ n`), over the FFT lengths `2M ≥ l + 1` that [`fft_len`] allows: a pure
    /// function of `(n, l)`, so the same on every machine and thread.
    pub(crate) fn choose(n: usize, l: usize) -> Layout {
        let mut best = Layout::with_m(n, l, fft_len(n + l - 1) / 2);
        for cand in Layout::candidates(n, l) {
            if cand.cost_ns(n) < best.cost_ns(n) {
                best = cand;
            }
        }
        best
    }

    /// Every layout for `n` outputs and `l` lags: `2M` from the shortest allowed length
    /// `≥ l + 1` to the one that holds the whole series.
    pub(crate) fn candidates(n: usize, l: usize) -> impl Iterator<Item = Layout> {
        let whole = fft_len(n + l - 1) / 2;
        std::iter::successors(Some(fft_len(l + 1) / 2), move |&m| {
            (m < whole).then(|| fft_len(2 * m + 1) / 2)
        })
        .map(move |m| Layout::with_m(n, l, m))
    }

    fn with_m(n: usize, l: usize, m: usize) -> Layout {
        let block = (2 * m + 1 - l).min(n);
        Layout {
            m,
            block,
            blocks: n.div_ceil(block),
        }
    }

    /// Estimated time in ns of [`convolve_fft`] with this layout on `n` inputs whose spectrum
    /// is kept: the forward FFT of the weights, one inverse FFT per block, per block the O(M)
    /// product and overlap–add (≈ 0.8 ns per `k`), and the passes over the series (lookup of
    /// the kept spectrum, copies: ≈ 0.3 ns per value), fitted to the ignored tests
    /// `util::tests::layouts` and `util::tests::crossover`.
    pub(crate) fn cost_ns(&self, n: usize) -> f64 {
        (self.blocks + 1) as f64 * fft_ns(self.m)
            + self.blocks as f64 * 0.8 * self.m as f64
            + 0.3 * n as f64
    }
}

/// The index in `spectra` of the coefficients of `x` in `layout`, computed (into the least
/// recently used slot when all [`SPECTRA`] are taken) unless kept.
fn spectrum_of(
    spectra: &mut Vec<Spectrum>,
    clock: u64,
    x: &[f64],
    layout: Layout,
    plan: &Plan,
    buf: &mut [C64],
    scratch: &mut [C64],
) -> usize {
    let m = layout.m;
    if let Some(i) = spectra
        .iter()
        .position(|s| s.layout == layout && same_bits(&s.x, x))
    {
        spectra[i].last_used = clock;
        return i;
    }
    // as many series as fit in SPECTRA_BYTES at this size (at least one, at most SPECTRA)
    let bytes = 8 * x.len() + layout.blocks * 3 * (m / 2 + 1) * std::mem::size_of::<C64>();
    let slots = (SPECTRA_BYTES / bytes.max(1)).clamp(1, SPECTRA);
    while spectra.len() > slots {
        let lru = (0..spectra.len())
            .min_by_key(|&i| spectra[i].last_used)
            .unwrap_or(0);
        spectra.swap_remove(lru);
    }
    let i = if spectra.len() < slots {
        spectra.push(Spectrum {
            layout,
            x: Vec::new(),
            blocks: Vec::new(),
            last_used: clock,
        });
        spectra.len() - 1
    } else {
        (0..spectra.len())
            .min_by_key(|&i| spectra[i].last_used)
            .unwrap_or(0)
    };
    let s = &mut spectra[i];
    s.layout = layout;
    s.last_used = clock;
    s.x.clear();
    s.x.extend_from_slice(x);
    s.blocks.resize_with(layout.blocks, Coefficients::default);
    debug_assert_eq!(x.len().div_ceil(layout.block), layout.blocks);
    for (coef, xb) in s.blocks.iter_mut().zip(x.chunks(layout.block)) {
        forward(xb, plan, &mut buf[..m + 1], scratch);
        coef.of(&buf[..m + 1], &plan.tw);
    }
    i
}

/// `out_t = Σ_{l < min(L, t+1)} w_l·x_{t−l}` for `t < n = min(x.len(), out.len())` by FFT
/// (see the module docs). Needs `1 ≤ L ≤ n`.
///
/// Overlap–add: the input is cut into blocks of [`Layout::block`] values; each block's
/// convolution with `w` (its `block + L − 1` values) comes from one inverse FFT of length
/// `2M` and is added into the output at the block's offset. The weights are transformed
/// once for all blocks.
pub(crate) fn convolve_fft(x: &[f64], w: &[f64], out: &mut [f64]) {
    convolve_fft_in(x, w, out, None);
}

/// [`convolve_fft`] with the FFT length `M` forced (the layout's blocks then follow from the
/// series left after its leading zeros) instead of [`Layout::choose`]'s (for timings).
pub(crate) fn convolve_fft_in(x: &[f64], w: &[f64], out: &mut [f64], forced_m: Option<usize>) {
    let n = x.len().min(out.len());
    // outputs before the first nonzero input are exactly 0, and need no transform
    let Some(first) = x[..n].iter().position(|v| *v != 0.0) else {
        out[..n].fill(0.0);
        return;
    };
    out[..first].fill(0.0);
    let (x, out) = (&x[first..n], &mut out[first..n]);
    let n = x.len();
    let w = &w[..w.len().min(n)];
    let l = w.len();
    CACHE.with_borrow_mut(|cache| {
        let Cache {
            planner,
            plans,
            spectra,
            clock,
            last_layout,
            buf,
            wbuf,
            scratch,
        } = cache;
        let layout = match (forced_m, *last_layout) {
            (Some(m), _) => Layout::with_m(n, l, m),
            (None, Some((ln, ll, layout))) if (ln, ll) == (n, l) => layout,
            (None, _) => {
                let layout = Layout::choose(n, l);
                *last_layout = Some((n, l, layout));
                layout
            }
        };
        let m = layout.m;
        let at = plans
            .iter()
            .position(|(pm, _)| *pm == m)
            .unwrap_or_else(|| {
                plans.push((m, planner.plan(m)));
                plans.len() - 1
            });
        let plan = &plans[at].1;
        let need = plan
            .fwd
            .get_inplace_scratch_len()
            .max(plan.inv.get_inplace_scratch_len());
        if scratch.len() < need {
            scratch.resize(need, C64::new(0.0, 0.0));
        }
        if buf.len() < m + 1 {
            buf.resize(m + 1, C64::new(0.0, 0.0));
            wbuf.resize(m + 1, C64::new(0.0, 0.0));
        }
        let scratch = &mut scratch[..need];
        *clock += 1;
        let kept = spectrum_of(spectra, *clock, x, layout, plan, buf, scratch);
        let (buf, wbuf) = (&mut buf[..m], &mut wbuf[..m]);
        pack(w, wbuf);
        plan.fwd.process_with_scratch(wbuf, scratch);
        for (b, coef) in spectra[kept].blocks.iter().enumerate() {
            // the block's outputs y_0 … y_{2M−1} go to out[b·block + j]: assigned where no
            // earlier block wrote (from its start + the earlier blocks' reach), added before
            let start = b * layout.block;
            let reach = if b == 0 {
                0
            } else {
                (start - layout.block + 2 * m).min(out.len())
            };
            let dst = &mut out[start..];
            let len = dst.len().min(2 * m);
            let added = reach.saturating_sub(start).min(len);
            // when all 2M outputs are assigned, they are transformed in place there (no copy)
            let in_place = added == 0 && len == 2 * m;
            let target = if in_place {
                as_complex_mut(&mut dst[..len])
            } else {
                &mut *buf
            };
            multiply_split(wbuf, coef, target);
            plan.inv.process_with_scratch(target, scratch);
            if in_place {
                continue;
            }
            let ys = as_reals(buf);
            for (o, y) in dst[..added].iter_mut().zip(ys) {
                *o += y;
            }
            dst[added..len].copy_from_slice(&ys[added..len]);
        }
    });
}

#[cfg(test)]
mod timing {
    use super::*;

    /// Best-of timing of the parts of [`convolve_fft`] for 1,000 values and 352 lags (the
    /// Weibull pdf bench case), run with
    /// `cargo test --release -p mmm-transforms fft_parts_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn fft_parts_timing() {
        let best = |f: &mut dyn FnMut()| crate::util::tests::best_of_us(400, f);
        let x = crate::weibull_adstock::tests::spend(1000);
        let w: Vec<f64> = (1..=352)
            .map(|j| (-(j as f64 / 51.0).powi(2)).exp())
            .collect();
        let mut out = vec![0.0; 1000];
        let full = best(&mut || convolve_fft(std::hint::black_box(&x), &w, &mut out));
        let layout = Layout::choose(1000, 352);
        let m = layout.m;
        let plan = Planner::detect().plan(m);
        let zero = C64::new(0.0, 0.0);
        let mut scratch = vec![
            zero;
            plan.fwd
                .get_inplace_scratch_len()
                .max(plan.inv.get_inplace_scratch_len())
        ];
        let (mut buf, mut wbuf) = (vec![zero; m + 1], vec![zero; m]);
        let mut spectra = Vec::new();
        let kept = spectrum_of(&mut spectra, 1, &x, layout, &plan, &mut buf, &mut scratch);
        let lookup = best(&mut || {
            std::hint::black_box(spectrum_of(
                &mut spectra,
                1,
                std::hint::black_box(&x),
                layout,
                &plan,
                &mut buf,
                &mut scratch,
            ));
        });
        let pack_only = best(&mut || pack(std::hint::black_box(&w), &mut wbuf));
        let fwd = best(&mut || {
            plan.fwd
                .process_with_scratch(std::hint::black_box(&mut wbuf), &mut scratch)
        });
        // the timed in-place FFTs above overflowed `wbuf`: the weights' spectrum afresh
        pack(&w, &mut wbuf);
        plan.fwd.process_with_scratch(&mut wbuf, &mut scratch);
        let coef = &spectra[kept].blocks[0];
        let ms = best(&mut || multiply_split(std::hint::black_box(&wbuf), coef, &mut buf[..m]));
        println!(
            "M = {m}, {} blocks: convolve_fft {full:.3} µs; spectrum lookup {lookup:.3}, pack {pack_only:.3}, \
             one FFT {fwd:.3}, one multiply_split {ms:.3} µs",
            layout.blocks
        );
    }
}

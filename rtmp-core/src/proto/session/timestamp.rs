//! Per-publisher timestamp normalisation: players see timestamps that start near 0 and never
//! jump, whatever the encoder did (restarts, regressions, 32-bit wrap).

/// Rewrites a publisher's timestamps into a continuous timeline.
///
/// Timestamps are compared with serial-number arithmetic (RTMP spec §4), so the 2^32 ms wrap is
/// an ordinary small step. A step backwards by more than `max_regression_ms`, or forwards by more
/// than `max_jump_ms`, is treated as a discontinuity: the timeline continues from where it was,
/// one `fallback_step_ms` later. Small backward steps (audio and video interleaving) pass through.
#[derive(Debug, Clone)]
pub struct TimestampNormalizer {
    /// The last input timestamp, and the output it mapped to.
    last: Option<(u32, u32)>,
    /// Largest backward step passed through unchanged.
    pub max_regression_ms: u32,
    /// Largest forward step passed through unchanged.
    pub max_jump_ms: u32,
    /// The step used across a discontinuity.
    pub fallback_step_ms: u32,
}

impl Default for TimestampNormalizer {
    /// 1 s of regression, 10 s of jump, 10 ms across a discontinuity.
    fn default() -> Self {
        Self { last: None, max_regression_ms: 1_000, max_jump_ms: 10_000, fallback_step_ms: 10 }
    }
}

impl TimestampNormalizer {
    /// Maps one input timestamp to its output. The first timestamp maps to 0.
    pub fn normalize(&mut self, input: u32) -> u32 {
        let output = match self.last {
            None => 0,
            Some((last_in, last_out)) => {
                let step = input.wrapping_sub(last_in) as i32;
                let within = if step >= 0 {
                    step as u32 <= self.max_jump_ms
                } else {
                    step.unsigned_abs() <= self.max_regression_ms
                };
                if within {
                    last_out.wrapping_add_signed(step)
                } else {
                    last_out.wrapping_add(self.fallback_step_ms)
                }
            }
        };
        // Small regressions keep the highest point seen as the reference, so A/V interleaving
        // does not drag the timeline back.
        match self.last {
            Some((_, last_out)) if (output.wrapping_sub(last_out) as i32) < 0 => {}
            _ => self.last = Some((input, output)),
        }
        output
    }

    /// Forgets the timeline, e.g. when the publisher starts again.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(inputs: &[u32]) -> Vec<u32> {
        let mut n = TimestampNormalizer::default();
        inputs.iter().map(|&t| n.normalize(t)).collect()
    }

    #[test]
    fn starts_at_zero_and_keeps_steps() {
        assert_eq!(run(&[5000, 5033, 5066, 5100]), [0, 33, 66, 100]);
    }

    #[test]
    fn wrap_at_2_pow_32_is_a_small_step() {
        assert_eq!(run(&[u32::MAX - 20, u32::MAX - 10, 5, 25]), [0, 10, 26, 46]);
    }

    #[test]
    fn encoder_restart_continues_the_timeline() {
        assert_eq!(run(&[0, 1000, 2000, 0, 33]), [0, 1000, 2000, 2010, 2043]);
    }

    #[test]
    fn large_forward_jump_continues_the_timeline() {
        assert_eq!(run(&[0, 40, 3_600_000, 3_600_040]), [0, 40, 50, 90]);
    }

    #[test]
    fn small_interleaving_regressions_pass_through() {
        // Audio slightly behind video.
        assert_eq!(run(&[0, 40, 23, 80, 46]), [0, 40, 23, 80, 46]);
    }

    #[test]
    fn reset_starts_again_at_zero() {
        let mut n = TimestampNormalizer::default();
        n.normalize(100);
        n.normalize(200);
        n.reset();
        assert_eq!(n.normalize(9999), 0);
    }
}

//! Activity scripts such as `idle:5s,wave:10s`: what the virtual wearer does, and when.

use std::str::FromStr;

use crate::activity::{Activity, Performance, UnknownActivity};

/// One step of a script; a step without a length lasts forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub activity: Activity,
    pub length_us: Option<u64>,
}

/// Steps performed in order, then again from the top (unless a step lasts forever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityScript {
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("the activity script is empty")]
    Empty,
    #[error("step {step} (`{text}`): {error}")]
    Activity { step: usize, text: String, error: UnknownActivity },
    #[error("step {step} (`{text}`): `{length}` is not a length such as 500ms, 5s or 2m")]
    Length { step: usize, text: String, length: String },
    #[error("step {step} (`{text}`): only the last step may last forever")]
    ForeverNotLast { step: usize, text: String },
}

impl FromStr for ActivityScript {
    type Err = ScriptError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            return Err(ScriptError::Empty);
        }
        let mut steps = Vec::with_capacity(parts.len());
        for (idx, part) in parts.iter().enumerate() {
            let step = idx + 1;
            let (name, length) = match part.split_once(':') {
                Some((name, length)) => (name, Some(length.trim())),
                None => (*part, None),
            };
            let activity = name.parse().map_err(|error| ScriptError::Activity {
                step,
                text: part.to_string(),
                error,
            })?;
            let length_us = match length {
                None => None,
                Some(length) => Some(parse_length_us(length).ok_or_else(|| ScriptError::Length {
                    step,
                    text: part.to_string(),
                    length: length.to_string(),
                })?),
            };
            if length_us.is_none() && step != parts.len() {
                return Err(ScriptError::ForeverNotLast { step, text: part.to_string() });
            }
            steps.push(Step { activity, length_us });
        }
        Ok(Self { steps })
    }
}

/// `500ms`, `5s`, `1.5s`, `2m` → microseconds (> 0).
pub fn parse_length_us(text: &str) -> Option<u64> {
    let (number, unit_us) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e6)
    } else {
        return None;
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value > 0.0).then(|| (value * unit_us).round() as u64).filter(|us| *us > 0)
}

/// What the wearer does over time: a script, until the app switches the activity by hand.
#[derive(Debug, Clone)]
pub struct Timeline {
    script: ActivityScript,
    start_us: u64,
    seed: u64,
    /// Performances by step number (counted from the start, across repeats); a few kept.
    recent: Vec<(u64, Performance)>,
    /// Set by hand at a board time; overrides the script from then on.
    manual: Option<Performance>,
}

impl Timeline {
    pub fn new(script: ActivityScript, start_us: u64, seed: u64) -> Self {
        Self { script, start_us, seed, recent: Vec::new(), manual: None }
    }

    /// From `t_us` on, the wearer performs `activity`.
    pub fn switch(&mut self, activity: Activity, t_us: u64) {
        let seed = self.seed ^ t_us.rotate_left(17);
        self.manual = Some(Performance::new(activity, t_us, seed));
    }

    /// The activity performed at `t_us`.
    pub fn activity_at(&mut self, t_us: u64) -> Activity {
        self.performance_at(t_us).activity
    }

    pub fn performance_at(&mut self, t_us: u64) -> &mut Performance {
        if self.manual.as_ref().is_some_and(|manual| t_us >= manual.start_us) {
            return self.manual.as_mut().expect("checked just above");
        }
        let (step_number, step, step_start_us) = self.step_at(t_us);
        if let Some(idx) = self.recent.iter().position(|(number, _)| *number == step_number) {
            return &mut self.recent[idx].1;
        }
        if self.recent.len() >= 4 {
            self.recent.remove(0);
        }
        let seed = self.seed.wrapping_add(step_number.wrapping_mul(0x2545_f491_4f6c_dd1d));
        self.recent.push((step_number, Performance::new(step.activity, step_start_us, seed)));
        &mut self.recent.last_mut().expect("just pushed").1
    }

    /// The step performed at `t_us`: its number since the start, the step, its start time.
    fn step_at(&self, t_us: u64) -> (u64, Step, u64) {
        let steps = &self.script.steps;
        let elapsed = t_us.saturating_sub(self.start_us);
        let cycle_us: Option<u64> = steps.iter().map(|step| step.length_us).sum();
        let (cycle, mut offset) = match cycle_us {
            Some(cycle_us) => (elapsed / cycle_us, elapsed % cycle_us),
            None => (0, elapsed),
        };
        let mut step_start = self.start_us + cycle * cycle_us.unwrap_or(0);
        for (idx, step) in steps.iter().enumerate() {
            match step.length_us {
                Some(length) if offset >= length => {
                    offset -= length;
                    step_start += length;
                }
                _ => return (cycle * steps.len() as u64 + idx as u64, *step, step_start),
            }
        }
        let last = steps.len() - 1;
        (cycle * steps.len() as u64 + last as u64, steps[last], step_start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_steps_and_lengths() {
        let script: ActivityScript = "idle:5s, wave:1.5s,shake:250ms,circle".parse().unwrap();
        let lengths: Vec<Option<u64>> = script.steps.iter().map(|s| s.length_us).collect();
        assert_eq!(lengths, [Some(5_000_000), Some(1_500_000), Some(250_000), None]);
    }

    #[test]
    fn bad_scripts_name_the_step() {
        let cases = [
            ("", "empty"),
            ("idle:5s,jump:2s", "step 2 (`jump:2s`): unknown activity `jump`"),
            ("wave:5", "step 1 (`wave:5`): `5` is not a length"),
            ("wave:-1s", "is not a length"),
            ("wave,idle:2s", "only the last step may last forever"),
        ];
        for (text, expected) in cases {
            let error = text.parse::<ActivityScript>().unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?} → {error}");
        }
    }

    #[test]
    fn the_timeline_repeats_the_script_and_takes_manual_switches() {
        let script = "idle:1s,wave:2s".parse().unwrap();
        let mut timeline = Timeline::new(script, 10, 0);
        let at = |timeline: &mut Timeline, s: f64| timeline.activity_at(10 + (s * 1e6) as u64);
        assert_eq!(at(&mut timeline, 0.5), Activity::Idle);
        assert_eq!(at(&mut timeline, 1.5), Activity::Wave);
        assert_eq!(at(&mut timeline, 3.2), Activity::Idle);
        assert_eq!(at(&mut timeline, 5.9), Activity::Wave);
        timeline.switch(Activity::Shake, 10 + 7_000_000);
        assert_eq!(at(&mut timeline, 6.5), Activity::Idle, "the past is not rewritten");
        assert_eq!(at(&mut timeline, 7.5), Activity::Shake);
        assert_eq!(at(&mut timeline, 100.0), Activity::Shake);
    }
}

//! The alert state machine: ok → pending → firing → resolved, with hysteresis in value (a
//! separate resolve threshold) and in time (a breach must last the pending period before it
//! fires, and a recovery must last as long before it resolves), so a value wobbling around a
//! threshold produces one notification per real episode, not one per evaluation.
//!
//! Pure: [`step`] takes the rule's thresholds, the alert's status and one observation and
//! answers the next status and the transition, if any. The worker stores both and notifies on
//! the transitions that say so.

use chrono::{DateTime, Duration, Utc};

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Within bounds.
    Ok,
    /// Breaching, for less than the pending period.
    Pending,
    /// Breaching for at least the pending period: notified.
    Firing,
    /// Recovered after firing (calm, like `Ok`).
    Resolved,
}

impl State {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Pending => "pending",
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "ok" => Self::Ok,
            "pending" => Self::Pending,
            "firing" => Self::Firing,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }

    fn is_calm(self) -> bool {
        matches!(self, Self::Ok | Self::Resolved)
    }
}

/// How bad a breach is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Past the warning threshold.
    Warning,
    /// Past the critical threshold.
    Critical,
}

impl Level {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "warning" => Some(Self::Warning),
            "critical" => Some(Self::Critical),
            _ => None,
        }
    }
}

/// A rule's thresholds, on the value the alert watches (the metric, or its percent change).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A breach is above the thresholds (`true`) or below them.
    pub above: bool,
    /// Warning threshold.
    pub warning: Option<f64>,
    /// Critical threshold.
    pub critical: Option<f64>,
    /// The value must be back on this side (at or below it when `above`) to resolve.
    pub resolve: f64,
    /// How long a breach, or a recovery, must last before the state changes.
    pub pending: Duration,
}

impl Thresholds {
    fn past(&self, value: f64, threshold: Option<f64>) -> bool {
        threshold.is_some_and(|t| if self.above { value > t } else { value < t })
    }

    /// The level `value` breaches, if any.
    pub fn breach(&self, value: f64) -> Option<Level> {
        if self.past(value, self.critical) {
            Some(Level::Critical)
        } else if self.past(value, self.warning) {
            Some(Level::Warning)
        } else {
            None
        }
    }

    /// Whether `value` is back on the calm side of the resolve threshold.
    pub fn recovered(&self, value: f64) -> bool {
        if self.above {
            value <= self.resolve
        } else {
            value >= self.resolve
        }
    }

    /// The threshold of `level`.
    pub fn threshold(&self, level: Level) -> Option<f64> {
        match level {
            Level::Warning => self.warning.or(self.critical),
            Level::Critical => self.critical,
        }
    }
}

/// An alert's stored status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Status {
    /// State.
    pub state: State,
    /// Level while pending or firing.
    pub level: Option<Level>,
    /// While pending: when the breach began. While firing: when the recovery began, if it has.
    pub since: Option<DateTime<Utc>>,
}

impl Status {
    /// A new alert's status.
    pub const OK: Self = Self {
        state: State::Ok,
        level: None,
        since: None,
    };
}

/// A change of state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// Before.
    pub from: State,
    /// After.
    pub to: State,
    /// The level after (pending, firing) or the level that resolved.
    pub level: Option<Level>,
    /// Whether this change is notified (firing, escalating to critical, resolving); a pending
    /// breach that ends before the pending period is only recorded.
    pub notify: bool,
}

/// The status after observing `value` at `at`, and the transition, if the state or the firing
/// level changed.
pub fn step(
    rule: &Thresholds,
    status: &Status,
    value: f64,
    at: DateTime<Utc>,
) -> (Status, Option<Transition>) {
    let breach = rule.breach(value);
    let change = |to: State, level: Option<Level>, since, notify| {
        (
            Status {
                state: to,
                level,
                since,
            },
            Some(Transition {
                from: status.state,
                to,
                level,
                notify,
            }),
        )
    };
    let quiet = |level: Option<Level>, since| {
        (
            Status {
                state: status.state,
                level,
                since,
            },
            None,
        )
    };
    match status.state {
        calm if calm.is_calm() => match breach {
            Some(level) if rule.pending <= Duration::zero() => {
                change(State::Firing, Some(level), None, true)
            }
            Some(level) => change(State::Pending, Some(level), Some(at), false),
            None => quiet(None, None),
        },
        State::Pending => match breach {
            Some(level) => {
                let level = status.level.map_or(level, |before| before.max(level));
                let since = status.since.unwrap_or(at);
                if at - since >= rule.pending {
                    change(State::Firing, Some(level), None, true)
                } else {
                    quiet(Some(level), Some(since))
                }
            }
            None => change(State::Ok, None, None, false),
        },
        _ => {
            if rule.recovered(value) {
                let since = status.since.unwrap_or(at);
                if at - since >= rule.pending {
                    change(State::Resolved, status.level, None, true)
                } else {
                    quiet(status.level, Some(since))
                }
            } else if breach == Some(Level::Critical) && status.level == Some(Level::Warning) {
                change(State::Firing, Some(Level::Critical), None, true)
            } else {
                quiet(status.level, None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pending_minutes: i64) -> Thresholds {
        Thresholds {
            above: false,
            warning: Some(100.0),
            critical: Some(50.0),
            resolve: 120.0,
            pending: Duration::minutes(pending_minutes),
        }
    }

    /// Runs a series evaluated every 5 minutes; answers the transitions that notified.
    fn run(rule: &Thresholds, values: &[f64]) -> Vec<(usize, State, Option<Level>)> {
        let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut status = Status::OK;
        let mut notified = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let at = start + Duration::minutes(5 * i as i64);
            let (next, transition) = step(rule, &status, *value, at);
            if let Some(t) = transition.filter(|t| t.notify) {
                notified.push((i, t.to, t.level));
            }
            status = next;
        }
        notified
    }

    #[test]
    fn a_step_drop_fires_after_the_pending_period_and_resolves_with_hysteresis() {
        // Traffic at 200, drops to 80 (warning) at i = 2, recovers to 110 (between the warning
        // and the resolve threshold: still firing), then 150.
        let values = [
            200.0, 200.0, 80.0, 80.0, 80.0, 80.0, 110.0, 110.0, 150.0, 150.0, 150.0,
        ];
        let notified = run(&rule(10), &values);
        assert_eq!(
            notified,
            vec![
                (4, State::Firing, Some(Level::Warning)),
                (10, State::Resolved, Some(Level::Warning)),
            ]
        );
        // Without a pending period it fires and resolves at once.
        let notified = run(&rule(0), &values);
        assert_eq!(
            notified,
            vec![
                (2, State::Firing, Some(Level::Warning)),
                (8, State::Resolved, Some(Level::Warning)),
            ]
        );
    }

    #[test]
    fn a_breach_shorter_than_the_pending_period_is_not_notified() {
        let notified = run(&rule(10), &[200.0, 80.0, 80.0, 200.0, 200.0]);
        assert!(notified.is_empty(), "{notified:?}");
        // Control: one more breaching evaluation and it fires.
        let notified = run(&rule(10), &[200.0, 80.0, 80.0, 80.0, 200.0]);
        assert_eq!(notified, vec![(3, State::Firing, Some(Level::Warning))]);
    }

    #[test]
    fn escalation_to_critical_is_one_more_notification() {
        let notified = run(&rule(0), &[80.0, 40.0, 40.0, 80.0, 130.0]);
        assert_eq!(
            notified,
            vec![
                (0, State::Firing, Some(Level::Warning)),
                (1, State::Firing, Some(Level::Critical)),
                (4, State::Resolved, Some(Level::Critical)),
            ]
        );
    }

    #[test]
    fn a_flapping_series_sends_no_storm() {
        // Alternates every evaluation between a breach and a full recovery, for ten hours.
        let values: Vec<f64> = (0..120)
            .map(|i| if i % 2 == 0 { 90.0 } else { 130.0 })
            .collect();
        let notified = run(&rule(10), &values);
        assert!(notified.is_empty(), "{notified:?}");
        // Flapping while firing does not resolve and fire again either.
        let mut series = vec![80.0; 6];
        series.extend(&values);
        let notified = run(&rule(10), &series);
        assert_eq!(notified, vec![(2, State::Firing, Some(Level::Warning))]);
    }

    #[test]
    fn above_thresholds_compare_upwards() {
        let up = Thresholds {
            above: true,
            warning: Some(10.0),
            critical: None,
            resolve: 5.0,
            pending: Duration::zero(),
        };
        assert_eq!(up.breach(10.0), None);
        assert_eq!(up.breach(10.5), Some(Level::Warning));
        assert!(!up.recovered(6.0));
        assert!(up.recovered(5.0));
        assert_eq!(up.threshold(Level::Warning), Some(10.0));
    }
}

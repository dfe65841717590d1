//! Evaluating an alert at its schedule's slot, in one tenant-scoped transaction: claim the
//! slot, measure, step the state machine, store the status and history, and queue one
//! delivery per channel when the change is notified. Everything commits together or not at
//! all, so a slot is evaluated once and its notifications are queued once, across any number
//! of workers.

use chrono::{DateTime, Duration, DurationRound, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use super::anomaly::{self, Expected, NoForecast, Sensitivity};
use super::measure::hourly;
use super::measure::{Window, measure};
use super::rule::{AlertInput, AlertSpec, Condition, percent_change};
use super::state::{Level, State, Thresholds, Transition, step};
use crate::OrgId;
use crate::tables::alerts::{self, Alert, AlertEvent, Evaluation};
use crate::tables::notification_deliveries as deliveries;
use crate::tables::projects::{self, Project};
use crate::tables::schedules;

/// What one schedule run did.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The alert.
    pub alert_id: Uuid,
    /// The slot evaluated.
    pub slot: DateTime<Utc>,
    /// The status change, if any.
    pub transition: Option<Transition>,
    /// Deliveries queued.
    pub queued: usize,
}

/// The stored rule, validated again (a rule stored by an older version that no longer
/// validates measures nothing and says why).
pub fn spec_of(alert: &Alert) -> Result<AlertSpec, crate::problem::Invalid> {
    // An anomaly rule stores its deviation thresholds (the band's edge); they are not input.
    let thresholds = alert.condition != Condition::Anomaly.as_str();
    AlertSpec::validate(&AlertInput {
        metric: &alert.metric,
        filters: &alert.filters,
        window_minutes: alert.window_minutes,
        condition: &alert.condition,
        baseline: alert.baseline.as_deref(),
        sensitivity: alert.sensitivity.as_deref(),
        warning: alert.warning.filter(|_| thresholds),
        critical: alert.critical.filter(|_| thresholds),
        resolve: Some(alert.resolve).filter(|_| thresholds),
        pending_minutes: alert.pending_minutes,
        every_minutes: alert.every_minutes,
    })
}

/// What an evaluation saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// What the state machine compares: the metric, its percent change, or an anomaly's
    /// deviation from the expected value (in half-widths of the band).
    pub compared: f64,
    /// The metric's own value (shown and stored).
    pub actual: f64,
    /// The baseline window's value (percent changes) or the model's point forecast
    /// (anomalies).
    pub baseline: Option<f64>,
    /// The band an anomaly rule expected.
    pub expected: Option<Expected>,
    /// An anomaly's critical deviation (the 99.9 % band's edge, on the side of the value).
    pub critical: Option<f64>,
}

impl Observation {
    /// The thresholds the state machine compares this observation with: the rule's, with an
    /// anomaly's critical edge from this forecast.
    pub fn thresholds(&self, spec: &AlertSpec) -> Thresholds {
        Thresholds {
            critical: self.critical.or(spec.critical),
            ..spec.thresholds()
        }
    }

    /// The edge or threshold the change is about, in the metric's unit.
    fn threshold(&self, thresholds: &Thresholds, transition: &Transition) -> Option<f64> {
        if let Some(band) = self.expected {
            let above = self.actual >= band.point;
            return Some(match (transition.level, above) {
                (Some(Level::Critical), true) => band.critical_upper,
                (Some(Level::Critical), false) => band.critical_lower,
                (_, true) => band.upper,
                (_, false) => band.lower,
            });
        }
        match transition.to {
            State::Resolved => Some(thresholds.resolve),
            _ => transition
                .level
                .and_then(|level| thresholds.threshold(level)),
        }
    }
}

/// What a rule sees at `at`; `Err` with the reason when there is nothing to compare.
pub async fn observe(
    conn: &mut AsyncPgConnection,
    project: &Project,
    spec: &AlertSpec,
    at: DateTime<Utc>,
) -> diesel::QueryResult<Result<Observation, String>> {
    if let Some(sensitivity) = spec.sensitivity {
        return observe_anomaly(conn, project, spec, sensitivity, at).await;
    }
    let window = Window::ending(at, Duration::minutes(i64::from(spec.window_minutes)));
    let Some(current) = measure(conn, project, spec.metric, &spec.filter, window).await? else {
        return Ok(Err("no samples in the window".to_owned()));
    };
    let plain = Observation {
        compared: current,
        actual: current,
        baseline: None,
        expected: None,
        critical: None,
    };
    let Some(baseline) = spec.baseline else {
        return Ok(Ok(plain));
    };
    let earlier = window.earlier(baseline.offset(window.end - window.start));
    let Some(before) = measure(conn, project, spec.metric, &spec.filter, earlier).await? else {
        return Ok(Err("no samples in the baseline window".to_owned()));
    };
    Ok(match percent_change(spec.condition, current, before) {
        Some(change) => Ok(Observation {
            compared: (change * 10.0).round() / 10.0,
            baseline: Some(before),
            ..plain
        }),
        None => Err("the baseline is zero, so there is no percent change".to_owned()),
    })
}

/// What a rule sees at `count` instants a window apart, the last at `now` (oldest first): the
/// preview beside a rule being written. An anomaly rule's hours come from one read of the
/// series; the others measure each window.
pub async fn observe_recent(
    conn: &mut AsyncPgConnection,
    project: &Project,
    spec: &AlertSpec,
    now: DateTime<Utc>,
    count: usize,
) -> diesel::QueryResult<Vec<(DateTime<Utc>, Result<Observation, String>)>> {
    let step = Duration::minutes(i64::from(spec.window_minutes));
    let instants: Vec<DateTime<Utc>> = (0..count)
        .rev()
        .map(|back| now - step * back as i32)
        .collect();
    let mut seen = Vec::with_capacity(count);
    if let Some(sensitivity) = spec.sensitivity {
        let end = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
        let hours = anomaly::HISTORY_HOURS + count;
        let series = hourly(conn, project, spec.metric, &spec.filter, end, hours).await?;
        for (back, at) in (0..count).rev().zip(instants) {
            let upto = series.len() - back;
            let window = &series[upto.saturating_sub(anomaly::HISTORY_HOURS + 1)..upto];
            seen.push((
                at,
                judge_hour(window, sensitivity, spec.metric.is_count()).await,
            ));
        }
        return Ok(seen);
    }
    for at in instants {
        seen.push((at, observe(conn, project, spec, at).await?));
    }
    Ok(seen)
}

/// The last complete UTC hour before `at` against the band the model of the hours before it
/// expects.
async fn observe_anomaly(
    conn: &mut AsyncPgConnection,
    project: &Project,
    spec: &AlertSpec,
    sensitivity: Sensitivity,
    at: DateTime<Utc>,
) -> diesel::QueryResult<Result<Observation, String>> {
    let end = at.duration_trunc(Duration::hours(1)).unwrap_or(at);
    let hours = anomaly::HISTORY_HOURS + 1;
    let series = hourly(conn, project, spec.metric, &spec.filter, end, hours).await?;
    Ok(judge_hour(&series, sensitivity, spec.metric.is_count()).await)
}

/// The last hour of `series` (hourly, oldest first) against the band the model of the hours
/// before it expects. History starts at the first hour with data (a site that started
/// sending, or whose data was imported, a week ago has a week of history, whenever its
/// project was created).
async fn judge_hour(
    series: &[Option<f64>],
    sensitivity: Sensitivity,
    counts: bool,
) -> Result<Observation, String> {
    let first = series
        .iter()
        .position(|v| v.is_some_and(|v| v != 0.0))
        .unwrap_or(series.len());
    let series = &series[first..];
    if series.len() <= anomaly::MIN_HISTORY_HOURS {
        let history = series.len().saturating_sub(1);
        return Err(NoForecast::TooLittleHistory(history).to_string());
    }
    let Some((last, history)) = series.split_last() else {
        return Err("no samples".to_owned());
    };
    let Some(actual) = *last else {
        return Err("no samples in the last hour".to_owned());
    };
    let mut known: Vec<f64> = history.iter().flatten().copied().collect();
    known.sort_by(f64::total_cmp);
    let Some(median) = known.get(known.len() / 2).copied() else {
        return Err("no samples in the history".to_owned());
    };
    let filled: Vec<f64> = history.iter().map(|v| v.unwrap_or(median)).collect();
    // Fitting takes tens of milliseconds of CPU: off the async threads, so the server's
    // requests (the workers run in-process) and other evaluations keep going meanwhile.
    let fitted = tokio::task::spawn_blocking(move || anomaly::expect(&filled, sensitivity)).await;
    let Ok(fitted) = fitted else {
        return Err("the model's fit was interrupted".to_owned());
    };
    match fitted {
        Ok(fitted) => {
            let expected = if counts {
                fitted.with_count_noise(sensitivity)
            } else {
                fitted
            };
            Ok(Observation {
                compared: (expected.deviation(actual) * 100.0).round() / 100.0,
                actual,
                baseline: Some(expected.point),
                expected: Some(expected),
                critical: Some(expected.critical_deviation(actual)),
            })
        }
        Err(why) => Err(why.to_string()),
    }
}

/// Runs the schedule `schedule` of `org` if it is due at `now` and not held by another worker.
/// `public_url` is where notification links point. `None`: nothing was due.
pub async fn run_schedule(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    schedule: Uuid,
    now: DateTime<Utc>,
    public_url: &str,
) -> diesel::QueryResult<Option<Ran>> {
    let Some(claimed) = schedules::claim(conn, org, schedule, now).await? else {
        return Ok(None);
    };
    let Some(alert_id) = claimed.alert_id else {
        return Ok(None);
    };
    let Some(alert) = alerts::find_any(conn, org, alert_id).await? else {
        return Ok(None);
    };
    let ran = |transition, queued| Ran {
        alert_id: alert.alert_id,
        slot: claimed.slot,
        transition,
        queued,
    };
    if !alert.enabled {
        return Ok(Some(ran(None, 0)));
    }
    let project_id = crate::ProjectId::from_uuid(alert.project_id);
    let Some(found) = projects::find(conn, org, project_id).await? else {
        return Ok(Some(ran(None, 0)));
    };
    let project = &found.project;
    let at = claimed.slot;
    let status = alert.status();
    let observed = match spec_of(&alert) {
        Ok(spec) => observe(conn, project, &spec, at)
            .await?
            .map(|observed| (spec, observed)),
        Err(invalid) => Err(invalid.detail),
    };
    let (spec, observation) = match observed {
        Ok(found) => found,
        Err(why) => {
            let evaluation = Evaluation {
                at,
                status,
                changed: false,
                value: None,
                error: Some(why),
            };
            alerts::record_evaluation(conn, org, alert.alert_id, &evaluation).await?;
            return Ok(Some(ran(None, 0)));
        }
    };
    let thresholds = observation.thresholds(&spec);
    let (next, transition) = step(&thresholds, &status, observation.compared, at);
    let evaluation = Evaluation {
        at,
        status: next,
        changed: transition.is_some(),
        value: Some(observation.actual),
        error: None,
    };
    alerts::record_evaluation(conn, org, alert.alert_id, &evaluation).await?;
    let Some(transition) = transition else {
        return Ok(Some(ran(None, 0)));
    };
    let threshold = observation.threshold(&thresholds, &transition);
    let notify = transition.notify && !alert.muted_at(now);
    alerts::insert_event(
        conn,
        &AlertEvent {
            org_id: org.uuid(),
            alert_id: alert.alert_id,
            event_id: Uuid::now_v7(),
            at,
            from_state: transition.from.as_str().to_owned(),
            to_state: transition.to.as_str().to_owned(),
            level: transition.level.map(|l| l.as_str().to_owned()),
            value: Some(observation.actual),
            baseline_value: observation.baseline,
            threshold,
            notified: notify,
        },
    )
    .await?;
    let mut queued = 0;
    if notify {
        let facts = Facts {
            alert: &alert,
            project,
            spec: &spec,
            transition: &transition,
            observation: &observation,
            threshold,
            at,
        };
        let payload = notification(&facts, public_url);
        let subject = deliveries::Subject {
            alert: Some(alert.alert_id),
            issue: None,
        };
        queued = deliveries::enqueue_to_enabled(
            conn,
            org,
            &alert.channel_ids,
            subject,
            "alert",
            &payload,
        )
        .await?;
    }
    Ok(Some(ran(Some(transition), queued)))
}

/// What a notification says.
pub struct Facts<'a> {
    /// The alert.
    pub alert: &'a Alert,
    /// Its project.
    pub project: &'a Project,
    /// Its rule.
    pub spec: &'a AlertSpec,
    /// The change.
    pub transition: &'a Transition,
    /// What was seen.
    pub observation: &'a Observation,
    /// The threshold crossed.
    pub threshold: Option<f64>,
    /// The evaluation's instant.
    pub at: DateTime<Utc>,
}

/// A number as people read it: no trailing `.0`, at most two decimals.
pub fn number(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

fn window_words(minutes: i32) -> String {
    match minutes {
        m if m % 1_440 == 0 && m > 1_440 => format!("last {} days", m / 1_440),
        1_440 => "last 24 hours".to_owned(),
        m if m % 60 == 0 && m > 60 => format!("last {} hours", m / 60),
        60 => "last hour".to_owned(),
        m => format!("last {m} minutes"),
    }
}

/// The sentence every channel shows, e.g. "Visitors (last hour) is 80, below the warning
/// threshold of 100."
pub fn summary(facts: &Facts<'_>) -> String {
    let spec = facts.spec;
    let unit = spec.metric.unit();
    let what = format!(
        "{} ({})",
        spec.metric_name.replace('_', " "),
        window_words(spec.window_minutes)
    );
    let seen = facts.observation;
    if let Some(band) = seen.expected {
        let range = format!(
            "the expected range {}–{}{unit} (predicted {})",
            number(band.lower.max(0.0)),
            number(band.upper),
            number(band.point)
        );
        let actual = format!("{}{unit}", number(seen.actual));
        return match facts.transition.to {
            State::Resolved => {
                format!("Resolved: {what} is {actual}, back within {range}.")
            }
            _ => {
                let level = facts.transition.level.unwrap_or(Level::Warning).as_str();
                format!("{what} is {actual}, outside {range}: an anomaly ({level}).")
            }
        };
    }
    let value = match spec.condition {
        Condition::IncreasePct => format!("up {} %", number(seen.compared)),
        Condition::DecreasePct => format!("down {} %", number(seen.compared)),
        _ => format!("{}{unit}", number(seen.actual)),
    };
    let against = match (spec.baseline, seen.baseline) {
        (Some(baseline), Some(before)) => format!(
            " against {} ({}{unit})",
            baseline.as_str().replace('_', " "),
            number(before)
        ),
        _ => String::new(),
    };
    let threshold = facts.threshold.map(number).unwrap_or_default();
    let direction = if spec.condition == Condition::Below {
        "below"
    } else {
        "above"
    };
    match facts.transition.to {
        State::Resolved => format!(
            "Resolved: {what} is {value}{against}, back past the resolve threshold of {threshold}."
        ),
        _ => {
            let level = facts.transition.level.unwrap_or(Level::Warning).as_str();
            format!("{what} is {value}{against}, {direction} the {level} threshold of {threshold}.")
        }
    }
}

/// The notification every channel formats: what fired, the value against the threshold or
/// baseline, and a link to the alert in the dashboard.
pub fn notification(facts: &Facts<'_>, public_url: &str) -> Value {
    let alert = facts.alert;
    let metric = facts.spec.metric;
    json!({
        "type": format!("alert.{}", facts.transition.to.as_str()),
        "summary": summary(facts),
        "alert": {
            "id": alert.alert_id,
            "name": alert.name,
            "metric": alert.metric,
            "condition": alert.condition,
            "window_minutes": alert.window_minutes,
        },
        "project": {"id": facts.project.project_id, "name": facts.project.name},
        "state": facts.transition.to.as_str(),
        "previous_state": facts.transition.from.as_str(),
        "level": facts.transition.level.map(Level::as_str),
        "value": facts.observation.actual,
        "compared": facts.observation.compared,
        "baseline_value": facts.observation.baseline,
        "expected": facts.observation.expected.map(|band| json!({
            "point": band.point, "lower": band.lower, "upper": band.upper,
        })),
        "threshold": facts.threshold,
        "unit": if facts.spec.condition.is_change() { "%" } else { metric.unit() },
        "at": facts.at,
        "url": format!(
            "{public_url}/orgs/{}/projects/{}/alerts/{}",
            alert.org_id, alert.project_id, alert.alert_id
        ),
    })
}

//! What a report says: the headline metrics against the previous period, visitors per day (the
//! chart), top pages, sources, countries, goal conversions, new and regressed error issues, and
//! Web Vitals p75 with their rating, for one project and period.
//!
//! Every analytics figure is a Stats API answer ([`crate::stats::answer`]) for the period's days
//! as a custom `date_range`, so the e-mail and `POST /api/v2/query` agree to the unit. Values
//! are kept as numbers and as the text shown, so templates print one and tests compare both.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde_json::{Value, json};

use super::period::{Period, periods};
use crate::ingest::vitals::Vital;
use crate::stats::{StatsError, request};
use crate::tables::error_issues;
use crate::tables::projects::Project;
use crate::tables::reports::Cadence;
use crate::tables::web_vitals::{self, VitalsGroup};
use crate::{OrgId, ProjectId};

/// Rows in each top list.
pub const TOP: i64 = 10;

/// A headline metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricLine {
    /// Stats API name (`visitors`).
    pub key: &'static str,
    /// Label (`Unique visitors`).
    pub label: &'static str,
    /// This period.
    pub value: f64,
    /// As shown (`1,234`, `42%`, `1m 05s`).
    pub shown: String,
    /// The period before, as shown.
    pub previous_shown: String,
    /// `+12%`, `−3 pts`, `new` or `—` (no change to speak of).
    pub change: String,
    /// `up`, `down` or `flat`.
    pub direction: &'static str,
    /// `good`, `bad` or `neutral`: up is good except for the bounce rate.
    pub tone: &'static str,
}

/// A row of a top list.
#[derive(Debug, Clone, Serialize)]
pub struct TopRow {
    /// The page, source or country.
    pub name: String,
    /// Unique visitors.
    pub visitors: i64,
    /// As shown.
    pub shown: String,
}

/// A goal's conversions.
#[derive(Debug, Clone, Serialize)]
pub struct GoalRow {
    /// Goal.
    pub name: String,
    /// Visitors who converted.
    pub visitors: i64,
    /// Conversion rate, as shown (`3.4%`).
    pub rate: String,
}

/// An error issue that is new or regressed in the period.
#[derive(Debug, Clone, Serialize)]
pub struct IssueLine {
    /// Id (the link).
    pub issue_id: uuid::Uuid,
    /// Scrubbed title.
    pub title: String,
    /// Level.
    pub level: String,
    /// Events in the period.
    pub events: i64,
}

/// A Web Vital's 75th percentile in the period.
#[derive(Debug, Clone, Serialize)]
pub struct VitalLine {
    /// `LCP`.
    pub name: &'static str,
    /// As shown (`2.1 s`, `0.08`).
    pub p75: String,
    /// `good`, `needs-improvement` or `poor`.
    pub rating: &'static str,
    /// Samples.
    pub samples: i64,
}

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportContent {
    /// Project name.
    pub project: String,
    /// `weekly` or `monthly` (a report), or `custom` (any other period).
    pub cadence: &'static str,
    /// The days covered.
    pub period: Period,
    /// As shown (`2026-11-16 – 2026-11-22`, `November 2026`).
    pub period_label: String,
    /// The days compared with.
    pub previous: Period,
    /// Headline metrics.
    pub metrics: Vec<MetricLine>,
    /// Unique visitors per day, every day of the period (the chart).
    pub daily: Vec<(NaiveDate, i64)>,
    /// Top pages.
    pub pages: Vec<TopRow>,
    /// Top sources.
    pub sources: Vec<TopRow>,
    /// Top countries (ISO codes).
    pub countries: Vec<TopRow>,
    /// Goal conversions.
    pub goals: Vec<GoalRow>,
    /// Error events in the period.
    pub error_events: i64,
    /// Issues first seen in the period.
    pub new_issues: Vec<IssueLine>,
    /// Issues that reopened in the period.
    pub regressed_issues: Vec<IssueLine>,
    /// Web Vitals with samples in the period.
    pub vitals: Vec<VitalLine>,
    /// The other breakdowns ([`Detail::Dashboard`] only).
    pub more: Vec<Breakdown>,
}

/// A breakdown's top rows.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    /// `Entry pages`.
    pub title: &'static str,
    /// Its Stats API dimension.
    pub dimension: &'static str,
    /// Top rows by visitors.
    pub rows: Vec<TopRow>,
}

/// The breakdowns only the dashboard PDF shows.
const MORE_BREAKDOWNS: [(&str, &str); 5] = [
    ("Entry pages", "visit:entry_page"),
    ("Exit pages", "visit:exit_page"),
    ("Devices", "visit:device"),
    ("Browsers", "visit:browser"),
    ("Operating systems", "visit:os"),
];

impl ReportContent {
    /// No visitors and no error events: what "skip when there was no traffic" skips.
    pub fn is_empty(&self) -> bool {
        self.metrics
            .iter()
            .find(|line| line.key == "visitors")
            .is_none_or(|line| line.value == 0.0)
            && self.error_events == 0
    }
}

const HEADLINE: [(&str, &str); 6] = [
    ("visitors", "Unique visitors"),
    ("visits", "Visits"),
    ("pageviews", "Pageviews"),
    ("views_per_visit", "Views per visit"),
    ("bounce_rate", "Bounce rate"),
    ("visit_duration", "Visit duration"),
];

/// Composes the report of `cadence` made on local day `day` (see [`periods`]) on `conn`, in the
/// project's organization scope.
pub async fn compose(
    conn: &mut AsyncPgConnection,
    project: &Project,
    cadence: Cadence,
    day: NaiveDate,
) -> Result<ReportContent, StatsError> {
    let (period, previous) = periods(cadence, day);
    compose_period(conn, project, (period, previous), Detail::Email).await
}

/// How much a composition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// What the e-mail shows.
    Email,
    /// Also the dashboard's other breakdowns (entry and exit pages, devices, browsers,
    /// operating systems), for the PDF.
    Dashboard,
}

/// Told how many queries of a composition are done ([`steps`] in all).
pub type Progress = tokio::sync::watch::Sender<u32>;

/// The queries a composition of `detail` runs: two of totals, visitors by day, pages, sources,
/// countries and goals, new and regressed issues, error events, the five Web Vitals, and the
/// five other breakdowns for the dashboard.
pub const fn steps(detail: Detail) -> u32 {
    match detail {
        Detail::Email => 14,
        Detail::Dashboard => 19,
    }
}

/// Composes the numbers of `period` compared with `previous` (local days) on `conn`, in the
/// project's organization scope; the cadence shown is `weekly`, `monthly` or `custom`.
pub async fn compose_period(
    conn: &mut AsyncPgConnection,
    project: &Project,
    periods: (Period, Period),
    detail: Detail,
) -> Result<ReportContent, StatsError> {
    compose_period_reporting(conn, project, periods, detail, None).await
}

/// [`compose_period`], telling `progress` how many of its [`steps`] are done after each.
pub async fn compose_period_reporting(
    conn: &mut AsyncPgConnection,
    project: &Project,
    (period, previous): (Period, Period),
    detail: Detail,
    progress: Option<&Progress>,
) -> Result<ReportContent, StatsError> {
    let ask = Asker {
        project,
        progress,
        done: std::sync::atomic::AtomicU32::new(0),
    };
    let names: Vec<&str> = HEADLINE.iter().map(|(key, _)| *key).collect();
    let now_values = ask.totals(conn, &period, &names).await?;
    let before_values = ask.totals(conn, &previous, &names).await?;
    let metrics = HEADLINE
        .iter()
        .zip(now_values.iter().zip(&before_values))
        .map(|((key, label), (now, before))| metric_line(key, label, *now, *before))
        .collect();
    let daily_rows = ask
        .rows(conn, &period, &["visitors"], "time:day", 400)
        .await?;
    let daily = (0..=(period.to - period.from).num_days())
        .filter_map(|offset| {
            period
                .from
                .checked_add_days(chrono::Days::new(offset as u64))
        })
        .map(|day| {
            let key = day.to_string();
            let visitors = daily_rows
                .iter()
                .find(|(name, _)| name.get(..10) == Some(key.as_str()))
                .map_or(0, |(_, values)| as_i64(values.first()));
            (day, visitors)
        })
        .collect();
    let Tops {
        pages,
        sources,
        countries,
        error_events,
    } = ask.tops(conn, &period).await?;
    let goals = ask
        .rows(
            conn,
            &period,
            &["visitors", "conversion_rate"],
            "event:goal",
            TOP,
        )
        .await?
        .into_iter()
        .map(|(name, values)| GoalRow {
            name,
            visitors: as_i64(values.first()),
            rate: format!("{}%", one_decimal(as_f64(values.get(1)))),
        })
        .collect();
    let org = OrgId::from_uuid(project.org_id);
    let project_id = ProjectId::from_uuid(project.project_id);
    let tz = project.timezone.as_str();
    let changed =
        error_issues::changed_between(conn, (org, project_id), tz, (period.from, period.to), TOP)
            .await?;
    ask.tick();
    let (regressed, new): (Vec<_>, Vec<_>) = changed.into_iter().partition(|i| i.regressed);
    let line = |issue: error_issues::ChangedIssue| IssueLine {
        issue_id: issue.issue_id,
        title: issue.title,
        level: issue.level,
        events: issue.events,
    };
    let mut more = Vec::new();
    if detail == Detail::Dashboard {
        for (title, dimension) in MORE_BREAKDOWNS {
            let rows = top_rows(
                ask.rows(conn, &period, &["visitors"], dimension, TOP)
                    .await?,
            );
            more.push(Breakdown {
                title,
                dimension,
                rows,
            });
        }
    }
    let mut vitals = Vec::new();
    for vital in [Vital::Lcp, Vital::Inp, Vital::Cls, Vital::Fcp, Vital::Ttfb] {
        let rows = web_vitals::summary(
            conn,
            project_id,
            tz,
            vital.name(),
            period.from,
            period.to,
            VitalsGroup::All,
            1,
        )
        .await?;
        ask.tick();
        if let Some(row) = rows.into_iter().find(|row| row.samples > 0) {
            vitals.push(VitalLine {
                name: vital.name(),
                p75: vital_shown(vital, row.p75),
                rating: vital.rate(row.p75),
                samples: row.samples,
            });
        }
    }
    Ok(ReportContent {
        project: project.name.clone(),
        more,
        cadence: cadence_of(&period),
        period_label: period.label(),
        period,
        previous,
        metrics,
        daily,
        pages,
        sources,
        countries,
        goals,
        error_events,
        new_issues: new.into_iter().map(line).collect(),
        regressed_issues: regressed.into_iter().map(line).collect(),
        vitals,
    })
}

/// Asks the stats service for one project.
/// A period's top pages, sources and countries, and its error events: what a period's
/// highlights compare with in the period before.
#[derive(Debug, Clone, Default)]
pub struct Tops {
    /// Top pages.
    pub pages: Vec<TopRow>,
    /// Top sources.
    pub sources: Vec<TopRow>,
    /// Top countries.
    pub countries: Vec<TopRow>,
    /// Error events.
    pub error_events: i64,
}

/// The [`Tops`] of `period` (local days), on `conn` in the project's organization scope: four
/// queries, where a whole composition runs fourteen.
pub async fn tops(
    conn: &mut AsyncPgConnection,
    project: &Project,
    period: &Period,
) -> Result<Tops, StatsError> {
    let ask = Asker {
        project,
        progress: None,
        done: std::sync::atomic::AtomicU32::new(0),
    };
    ask.tops(conn, period).await
}

/// Stats API rows (name, then visitors first) as top rows.
fn top_rows(rows: Vec<(String, Vec<Value>)>) -> Vec<TopRow> {
    rows.into_iter()
        .map(|(name, values)| {
            let visitors = as_i64(values.first());
            TopRow {
                name,
                visitors,
                shown: thousands(visitors),
            }
        })
        .collect()
}

struct Asker<'a> {
    project: &'a Project,
    progress: Option<&'a Progress>,
    done: std::sync::atomic::AtomicU32,
}

impl Asker<'_> {
    /// One more query done.
    fn tick(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(progress) = self.progress {
            progress.send_replace(done);
        }
    }

    async fn tops(
        &self,
        conn: &mut AsyncPgConnection,
        period: &Period,
    ) -> Result<Tops, StatsError> {
        let mut lists = Vec::new();
        for dimension in ["event:page", "visit:source", "visit:country"] {
            lists.push(top_rows(
                self.rows(conn, period, &["visitors"], dimension, TOP)
                    .await?,
            ));
        }
        let project = (
            OrgId::from_uuid(self.project.org_id),
            ProjectId::from_uuid(self.project.project_id),
        );
        let days = (period.from, period.to);
        let error_events =
            error_issues::events_between(conn, project, &self.project.timezone, days).await?;
        self.tick();
        let countries = lists.pop().unwrap_or_default();
        let sources = lists.pop().unwrap_or_default();
        let pages = lists.pop().unwrap_or_default();
        Ok(Tops {
            pages,
            sources,
            countries,
            error_events,
        })
    }

    async fn answer(&self, conn: &mut AsyncPgConnection, body: Value) -> Result<Value, StatsError> {
        let request = request::parse(&body)?;
        // Custom ranges do not depend on "now".
        let answer =
            crate::stats::answer(conn, self.project, &request, json!([]), chrono::Utc::now())
                .await?;
        self.tick();
        Ok(answer)
    }

    async fn totals(
        &self,
        conn: &mut AsyncPgConnection,
        period: &Period,
        metrics: &[&str],
    ) -> Result<Vec<f64>, StatsError> {
        let answer = self
            .answer(
                conn,
                json!({"site_id": "report", "metrics": metrics, "date_range": period.date_range()}),
            )
            .await?;
        let values = answer["results"][0]["metrics"].as_array().cloned();
        Ok((0..metrics.len())
            .map(|i| as_f64(values.as_ref().and_then(|v| v.get(i))))
            .collect())
    }

    async fn rows(
        &self,
        conn: &mut AsyncPgConnection,
        period: &Period,
        metrics: &[&str],
        dimension: &str,
        limit: i64,
    ) -> Result<Vec<(String, Vec<Value>)>, StatsError> {
        let answer = self
            .answer(
                conn,
                json!({
                    "site_id": "report", "metrics": metrics, "date_range": period.date_range(),
                    "dimensions": [dimension], "pagination": {"limit": limit},
                }),
            )
            .await?;
        Ok(answer["results"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        let name = match &row["dimensions"][0] {
                            Value::String(text) => text.clone(),
                            Value::Null => "(none)".to_owned(),
                            other => other.to_string(),
                        };
                        let values = row["metrics"].as_array().cloned().unwrap_or_default();
                        (name, values)
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// `weekly` for a Monday-to-Sunday week, `monthly` for a calendar month, else `custom`.
fn cadence_of(period: &Period) -> &'static str {
    use chrono::Datelike;
    let days = (period.to - period.from).num_days() + 1;
    if days == 7 && period.from.weekday() == chrono::Weekday::Mon {
        Cadence::Weekly.as_str()
    } else if period.is_whole_month() {
        Cadence::Monthly.as_str()
    } else {
        "custom"
    }
}

fn as_f64(value: Option<&Value>) -> f64 {
    value.and_then(Value::as_f64).unwrap_or(0.0)
}

fn as_i64(value: Option<&Value>) -> i64 {
    as_f64(value).round() as i64
}

fn one_decimal(value: f64) -> String {
    format!("{:.1}", (value * 10.0).round() / 10.0)
}

/// `1234567` → `1,234,567`.
pub fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0 { format!("-{out}") } else { out }
}

/// A metric's value as shown.
fn shown(key: &str, value: f64) -> String {
    match key {
        "bounce_rate" => format!("{}%", value.round() as i64),
        "views_per_visit" => format!("{value:.2}"),
        "visit_duration" => {
            let seconds = value.round() as i64;
            if seconds >= 60 {
                format!("{}m {:02}s", seconds / 60, seconds % 60)
            } else {
                format!("{seconds}s")
            }
        }
        _ => thousands(value.round() as i64),
    }
}

fn metric_line(key: &'static str, label: &'static str, now: f64, before: f64) -> MetricLine {
    let (change, direction) = if key == "bounce_rate" {
        let points = (now - before).round() as i64;
        match points {
            0 => ("—".to_owned(), "flat"),
            p if p > 0 => (format!("+{p} pts"), "up"),
            p => (format!("−{} pts", -p), "down"),
        }
    } else if before == 0.0 {
        if now == 0.0 {
            ("—".to_owned(), "flat")
        } else {
            ("new".to_owned(), "up")
        }
    } else {
        let percent = ((now - before) / before * 100.0).round() as i64;
        match percent {
            0 => ("—".to_owned(), "flat"),
            p if p > 0 => (format!("+{p}%"), "up"),
            p => (format!("−{}%", -p), "down"),
        }
    };
    let tone = match (direction, key == "bounce_rate") {
        ("flat", _) => "neutral",
        ("up", false) | ("down", true) => "good",
        _ => "bad",
    };
    MetricLine {
        tone,
        key,
        label,
        value: now,
        shown: shown(key, now),
        previous_shown: shown(key, before),
        change,
        direction,
    }
}

/// A Web Vital's value as shown (`2.1 s`, `350 ms`, `0.08`).
pub fn vital_shown(vital: Vital, p75: f64) -> String {
    match vital {
        Vital::Cls => format!("{p75:.2}"),
        _ if p75 >= 1000.0 => format!("{:.1} s", p75 / 1000.0),
        _ => format!("{} ms", p75.round() as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(shown("visit_duration", 65.4), "1m 05s");
        assert_eq!(shown("bounce_rate", 41.6), "42%");
        assert_eq!(metric_line("visitors", "", 120.0, 100.0).change, "+20%");
        assert_eq!(metric_line("visitors", "", 80.0, 100.0).change, "−20%");
        assert_eq!(metric_line("visitors", "", 5.0, 0.0).change, "new");
        assert_eq!(metric_line("bounce_rate", "", 40.0, 43.0).change, "−3 pts");
        assert_eq!(vital_shown(Vital::Lcp, 2130.0), "2.1 s");
        assert_eq!(vital_shown(Vital::Inp, 180.2), "180 ms");
    }
}

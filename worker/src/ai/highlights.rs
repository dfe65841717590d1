//! Weekly highlights: the facts of a period (the report's figures, each top row with its value
//! in the period before, new and regressed issues, Web Vitals and the slowest page of each) and
//! the statistical summary Beacon writes itself when no AI endpoint answers.
//!
//! Every figure comes from [`tenant::reports::compose_period`], the Stats API's answers for the
//! period, so the highlights quote the dashboard's numbers.

use diesel_async::AsyncPgConnection;
use tenant::ProjectId;
use tenant::ingest::vitals::Vital;
use tenant::reports::{
    Detail, Period, ReportContent, TopRow, Tops, compose_period, thousands, tops, vital_shown,
};
use tenant::stats::StatsError;
use tenant::tables::projects::Project;
use tenant::tables::web_vitals::{self, VitalsGroup};

use super::facts::{Fact, Facts};

/// Pages with fewer samples are not called the slowest.
const MIN_PAGE_SAMPLES: i64 = 5;

/// The slowest page of a Web Vital that is not good overall.
#[derive(Debug, Clone)]
pub struct SlowPage {
    /// `LCP`.
    pub vital: &'static str,
    /// The page.
    pub page: String,
    /// Its p75, as shown.
    pub p75: String,
    /// `needs-improvement` or `poor`.
    pub rating: &'static str,
    /// Samples.
    pub samples: i64,
}

/// What the highlights of a period are made of.
#[derive(Debug, Clone)]
pub struct PeriodData {
    /// The period.
    pub content: ReportContent,
    /// The period before's top rows and error events.
    pub earlier: Tops,
    /// The slowest pages.
    pub slow_pages: Vec<SlowPage>,
}

/// Loads the period `(period, previous)` of `project`.
pub async fn load(
    conn: &mut AsyncPgConnection,
    project: &Project,
    (period, previous): (Period, Period),
) -> Result<PeriodData, StatsError> {
    let content = compose_period(conn, project, (period, previous), Detail::Email).await?;
    let earlier = tops(conn, project, &previous).await?;
    let mut slow_pages = Vec::new();
    for line in content.vitals.iter().filter(|line| line.rating != "good") {
        let Some(vital) = Vital::parse(line.name) else {
            continue;
        };
        let rows = web_vitals::summary(
            conn,
            ProjectId::from_uuid(project.project_id),
            &project.timezone,
            vital.name(),
            period.from,
            period.to,
            VitalsGroup::Page,
            100,
        )
        .await?;
        if let Some(row) = rows
            .into_iter()
            .filter(|row| row.samples >= MIN_PAGE_SAMPLES && row.key.is_some())
            .max_by(|a, b| a.p75.total_cmp(&b.p75))
        {
            slow_pages.push(SlowPage {
                vital: vital.name(),
                page: row.key.unwrap_or_default(),
                p75: vital_shown(vital, row.p75),
                rating: vital.rate(row.p75),
                samples: row.samples,
            });
        }
    }
    Ok(PeriodData {
        content,
        earlier,
        slow_pages,
    })
}

/// The facts' ids by what they are about, for the statistical summary to cite.
#[derive(Debug, Default)]
struct Ids {
    metrics: Vec<String>,
    pages: Vec<(String, i64, i64)>,
    sources: Vec<(String, i64, i64)>,
    new_issues: Vec<String>,
    regressed: Vec<String>,
    slow: Vec<String>,
}

/// The facts of `data`, linked under `project_path` (`/orgs/<org>/projects/<project>`).
pub fn facts(data: &PeriodData, project_path: &str) -> Vec<Fact> {
    build(data, project_path).0
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn build(data: &PeriodData, project_path: &str) -> (Vec<Fact>, Ids) {
    let content = &data.content;
    let period = format!("period={},{}", content.period.from, content.period.to);
    let dashboard = format!("{project_path}?{period}");
    let mut facts = Facts::default();
    let mut ids = Ids::default();
    for line in &content.metrics {
        let id = facts.add(
            format!(
                "{}: {} (previous period {}, {})",
                line.label, line.shown, line.previous_shown, line.change
            ),
            Some(format!("{dashboard}&metric={}", line.key)),
        );
        ids.metrics.push(id);
    }
    let rows = |facts: &mut Facts,
                kind: &str,
                dimension: &str,
                now: &[TopRow],
                before: &[TopRow]|
     -> Vec<(String, i64, i64)> {
        let mut out = Vec::new();
        for row in now {
            let earlier = before
                .iter()
                .find(|b| b.name == row.name)
                .map_or(0, |b| b.visitors);
            let id = facts.add(
                format!(
                    "{kind} {}: {} visitors (previous period {})",
                    row.name,
                    row.shown,
                    thousands(earlier)
                ),
                Some(format!("{dashboard}&f.{dimension}={}", encode(&row.name))),
            );
            out.push((id, row.visitors, earlier));
        }
        out
    };
    ids.pages = rows(
        &mut facts,
        "Page",
        "event:page",
        &content.pages,
        &data.earlier.pages,
    );
    ids.sources = rows(
        &mut facts,
        "Source",
        "visit:source",
        &content.sources,
        &data.earlier.sources,
    );
    rows(
        &mut facts,
        "Country",
        "visit:country",
        &content.countries,
        &data.earlier.countries,
    );
    for goal in &content.goals {
        facts.add(
            format!(
                "Goal {}: {} converted visitors, conversion rate {}",
                goal.name,
                thousands(goal.visitors),
                goal.rate
            ),
            Some(format!("{dashboard}&f.event:goal={}", encode(&goal.name))),
        );
    }
    facts.add(
        format!(
            "Error events: {} (previous period {})",
            thousands(content.error_events),
            thousands(data.earlier.error_events)
        ),
        Some(format!("{project_path}/errors")),
    );
    for (list, kind, out) in [
        (&content.new_issues, "New error issue", &mut ids.new_issues),
        (
            &content.regressed_issues,
            "Regressed error issue",
            &mut ids.regressed,
        ),
    ] {
        for issue in list {
            let id = facts.add(
                format!(
                    "{kind} \"{}\" ({}): {} events in the period",
                    issue.title,
                    issue.level,
                    thousands(issue.events)
                ),
                Some(format!("{project_path}/errors/{}", issue.issue_id)),
            );
            out.push(id);
        }
    }
    for vital in &content.vitals {
        facts.add(
            format!(
                "{} p75: {}, rated {} ({} samples)",
                vital.name,
                vital.p75,
                vital.rating,
                thousands(vital.samples)
            ),
            Some(format!("{project_path}/vitals?metric={}", vital.name)),
        );
    }
    for slow in &data.slow_pages {
        let id = facts.add(
            format!(
                "Slowest page for {}: {} with p75 {}, rated {} ({} samples)",
                slow.vital,
                slow.page,
                slow.p75,
                slow.rating,
                thousands(slow.samples)
            ),
            Some(format!("{project_path}/vitals?metric={}", slow.vital)),
        );
        ids.slow.push(id);
    }
    (facts.into_vec(), ids)
}

/// The mover with the largest change of visitors, when one changed.
fn largest_move(rows: &[(String, i64, i64)]) -> Option<usize> {
    rows.iter()
        .enumerate()
        .filter(|(_, (_, now, before))| now != before)
        .max_by_key(|(_, (_, now, before))| (now - before).abs())
        .map(|(index, _)| index)
}

/// Beacon's own summary of `data` (no AI): the largest metric changes, the top page and source
/// that moved most, new and regressed issues, and the slowest pages; with citations of
/// `facts(data, project_path)`.
pub fn statistical(data: &PeriodData, project_path: &str) -> String {
    let (_, ids) = build(data, project_path);
    let content = &data.content;
    let mut sentences = Vec::new();
    let mut moved: Vec<(usize, f64)> = content
        .metrics
        .iter()
        .enumerate()
        .filter(|(_, line)| line.direction != "flat")
        .map(|(index, line)| {
            let size = line
                .change
                .trim_start_matches(['+', '−', '-'])
                .split(|c: char| !c.is_ascii_digit() && c != '.')
                .next()
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(f64::MAX);
            (index, size)
        })
        .collect();
    moved.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (index, _) in moved.into_iter().take(2) {
        let line = &content.metrics[index];
        let verb = if line.direction == "up" {
            "rose"
        } else {
            "fell"
        };
        sentences.push(format!(
            "{} {verb} to {} from {} ({}) [{}].",
            line.label, line.shown, line.previous_shown, line.change, ids.metrics[index]
        ));
    }
    for (kind, rows, names) in [
        ("page", &ids.pages, &content.pages),
        ("source", &ids.sources, &content.sources),
    ] {
        if let Some(index) = largest_move(rows) {
            let (id, now, before) = &rows[index];
            let verb = if now > before {
                "gained most"
            } else {
                "lost most"
            };
            sentences.push(format!(
                "Of the top {kind}s, {} {verb}: {} visitors against {} [{id}].",
                names[index].name,
                thousands(*now),
                thousands(*before)
            ));
        }
    }
    for (kind, list, cited) in [
        ("new", &content.new_issues, &ids.new_issues),
        ("regressed", &content.regressed_issues, &ids.regressed),
    ] {
        if let (Some(first), Some(id)) = (list.first(), cited.first()) {
            let count = if list.len() == 1 {
                format!("1 {kind} error issue")
            } else {
                format!("{} {kind} error issues", list.len())
            };
            sentences.push(format!(
                "{count}; the most frequent is \"{}\" with {} events [{id}].",
                first.title,
                thousands(first.events)
            ));
        }
    }
    for (slow, id) in data.slow_pages.iter().zip(&ids.slow) {
        sentences.push(format!(
            "The slowest page for {} is {} (p75 {}, {}) [{id}].",
            slow.vital, slow.page, slow.p75, slow.rating
        ));
    }
    if sentences.is_empty() {
        return "Nothing changed noticeably against the previous period.".to_owned();
    }
    sentences.join(" ")
}

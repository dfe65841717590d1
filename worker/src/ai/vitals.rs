//! The facts behind Web Vitals bottleneck hints: for LCP, INP and CLS, the 75th percentile and
//! its rating, the pages with the worst p75, and for each of those what web-vitals'
//! attribution says about its slow samples (the element, resource or interaction most often
//! involved, and the median of each phase).

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use tenant::ingest::vitals::Vital;
use tenant::reports::{thousands, vital_shown};
use tenant::tables::web_vitals::{self, AttributionRow, VitalsGroup, VitalsRow};
use tenant::{DbError, ProjectId};

use super::facts::{Fact, Facts};

/// The metrics hints are about (the three Core Web Vitals).
const METRICS: [Vital; 3] = [Vital::Lcp, Vital::Inp, Vital::Cls];
/// Worst pages looked into per metric.
const PAGES: usize = 3;
/// Pages with fewer samples are left out.
const MIN_SAMPLES: i64 = 5;

/// A page with a p75 that is not good, and its attribution.
#[derive(Debug, Clone)]
pub struct SlowPage {
    /// The page's figures.
    pub row: VitalsRow,
    /// What the attribution says about its slow samples.
    pub attribution: Vec<AttributionRow>,
}

/// One metric's figures.
#[derive(Debug, Clone)]
pub struct MetricData {
    /// The metric.
    pub vital: Vital,
    /// The whole site.
    pub total: VitalsRow,
    /// The worst pages.
    pub pages: Vec<SlowPage>,
}

/// Loads the figures of `project` from `from` to `to` (days in `timezone`).
pub async fn load(
    conn: &mut AsyncPgConnection,
    (project, timezone): (ProjectId, &str),
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<MetricData>, DbError> {
    let mut out = Vec::new();
    for vital in METRICS {
        let name = vital.name();
        let total =
            web_vitals::summary(conn, project, timezone, name, from, to, VitalsGroup::All, 1)
                .await?
                .pop();
        let Some(total) = total else {
            continue;
        };
        if total.samples == 0 {
            continue;
        }
        let mut rows = web_vitals::summary(
            conn,
            project,
            timezone,
            name,
            from,
            to,
            VitalsGroup::Page,
            200,
        )
        .await?;
        rows.retain(|row| row.samples >= MIN_SAMPLES && vital.rate(row.p75) != "good");
        rows.sort_by(|a, b| b.p75.total_cmp(&a.p75));
        let mut pages = Vec::new();
        for row in rows.into_iter().take(PAGES) {
            let page = row.key.clone().unwrap_or_default();
            let attribution =
                web_vitals::slow_attribution(conn, project, timezone, name, &page, from, to)
                    .await?;
            pages.push(SlowPage { row, attribution });
        }
        out.push(MetricData {
            vital,
            total,
            pages,
        });
    }
    Ok(out)
}

fn share(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    format!("{}%", (part * 100 + whole / 2) / whole)
}

/// The facts, linked to the project's Web Vitals page under `project_path`.
pub fn facts(data: &[MetricData], project_path: &str) -> Vec<Fact> {
    let mut facts = Facts::default();
    for metric in data {
        let name = metric.vital.name();
        let link = Some(format!("{project_path}/vitals?metric={name}"));
        let total = &metric.total;
        facts.add(
            format!(
                "{name} site-wide: p75 {}, rated {}; {} samples, {} poor",
                vital_shown(metric.vital, total.p75),
                metric.vital.rate(total.p75),
                thousands(total.samples),
                share(total.poor, total.samples)
            ),
            link.clone(),
        );
        for page in &metric.pages {
            let row = &page.row;
            let path = row.key.as_deref().unwrap_or("?");
            facts.add(
                format!(
                    "{name} on {path}: p75 {}, rated {}; {} samples, {} poor",
                    vital_shown(metric.vital, row.p75),
                    metric.vital.rate(row.p75),
                    thousands(row.samples),
                    share(row.poor, row.samples)
                ),
                link.clone(),
            );
            let slow = row.samples - row.good;
            let texts: Vec<String> = page
                .attribution
                .iter()
                .filter_map(|a| {
                    a.value.as_ref().map(|value| {
                        format!(
                            "{} = {value} in {} of {} slow samples",
                            a.field,
                            thousands(a.samples),
                            thousands(slow)
                        )
                    })
                })
                .collect();
            if !texts.is_empty() {
                facts.add(
                    format!("{name} on {path}, attribution: {}", texts.join("; ")),
                    link.clone(),
                );
            }
            let phases: Vec<String> = page
                .attribution
                .iter()
                .filter_map(|a| {
                    a.median.map(|median| {
                        if metric.vital == Vital::Cls {
                            format!("{} {median:.3}", a.field)
                        } else {
                            format!("{} {} ms", a.field, thousands(median.round() as i64))
                        }
                    })
                })
                .collect();
            if !phases.is_empty() {
                facts.add(
                    format!(
                        "{name} on {path}, median of the slow samples: {}",
                        phases.join(", ")
                    ),
                    link.clone(),
                );
            }
        }
    }
    facts.into_vec()
}

//! The dashboard as a PDF for a period: headline metrics against the period before, visitors
//! per day, every breakdown's top rows, goal conversions, new and regressed errors and Web
//! Vitals, laid out for A4 or Letter without cutting a table row or a chart across pages.
//!
//! Rendered here, in Rust, with `pdf-writer` (a lean low-level writer, four small
//! dependencies) and Helvetica, a PDF standard font, so nothing is embedded or downloaded and no
//! browser runs; the layout and its page-break rules are [`layout`]. Why not `typst`: its tree
//! would more than double the cold build CI pays for a document whose shape Beacon fixes
//! anyway (docs/exports.md). The numbers are [`tenant::reports::compose_period`]'s, so they
//! are the dashboard's and the Stats API's.

pub mod helvetica;
pub mod layout;

use tenant::reports::ReportContent;
use tenant::reports::content::TopRow;

use layout::{Align, Block, Column, Paper};

fn column(header: &str, share: f32, align: Align) -> Column {
    Column {
        header: header.to_owned(),
        share,
        align,
    }
}

fn top_table(title: &str, name: &str, rows: &[TopRow]) -> Block {
    Block::Table {
        title: title.to_owned(),
        columns: vec![
            column(name, 4.0, Align::Left),
            column("Visitors", 1.0, Align::Right),
        ],
        rows: rows
            .iter()
            .map(|row| vec![row.name.clone(), row.shown.clone()])
            .collect(),
        empty: "No data for this period.".to_owned(),
    }
}

/// The blocks of the dashboard PDF, in order.
pub fn dashboard_blocks(content: &ReportContent, timezone: &str) -> Vec<Block> {
    let mut blocks = vec![
        Block::Title {
            text: format!("{}: dashboard", content.project),
            subtitle: format!(
                "{}, compared with {} – {} (days in {timezone})",
                content.period_label, content.previous.from, content.previous.to
            ),
        },
        Block::Table {
            title: "Headline metrics".to_owned(),
            columns: vec![
                column("Metric", 3.0, Align::Left),
                column("This period", 1.5, Align::Right),
                column("Before", 1.5, Align::Right),
                column("Change", 1.2, Align::Right),
            ],
            rows: content
                .metrics
                .iter()
                .map(|m| {
                    vec![
                        m.label.to_owned(),
                        m.shown.clone(),
                        m.previous_shown.clone(),
                        m.change.clone(),
                    ]
                })
                .collect(),
            empty: String::new(),
        },
        Block::Bars {
            title: "Unique visitors per day".to_owned(),
            values: content.daily.iter().map(|(_, v)| *v).collect(),
            ends: (
                content.period.from.to_string(),
                content.period.to.to_string(),
            ),
        },
        top_table("Top pages", "Page", &content.pages),
        top_table("Top sources", "Source", &content.sources),
        top_table("Top countries", "Country", &content.countries),
    ];
    for more in &content.more {
        let name = match more.dimension {
            "visit:entry_page" | "visit:exit_page" => "Page",
            "visit:device" => "Device",
            "visit:browser" => "Browser",
            _ => "Operating system",
        };
        blocks.push(top_table(more.title, name, &more.rows));
    }
    blocks.push(Block::Table {
        title: "Goal conversions".to_owned(),
        columns: vec![
            column("Goal", 4.0, Align::Left),
            column("Visitors", 1.0, Align::Right),
            column("Conversion rate", 1.4, Align::Right),
        ],
        rows: content
            .goals
            .iter()
            .map(|g| vec![g.name.clone(), g.visitors.to_string(), g.rate.clone()])
            .collect(),
        empty: "No goal was completed in this period (or none is set up).".to_owned(),
    });
    let issues = content
        .new_issues
        .iter()
        .map(|i| (i, "new"))
        .chain(content.regressed_issues.iter().map(|i| (i, "regressed")));
    blocks.push(Block::Table {
        title: format!(
            "Errors: {} events",
            tenant::reports::content::thousands(content.error_events)
        ),
        columns: vec![
            column("New or regressed issue", 4.0, Align::Left),
            column("", 1.0, Align::Left),
            column("Level", 0.8, Align::Left),
            column("Events", 0.8, Align::Right),
        ],
        rows: issues
            .map(|(issue, kind)| {
                vec![
                    issue.title.clone(),
                    kind.to_owned(),
                    issue.level.clone(),
                    issue.events.to_string(),
                ]
            })
            .collect(),
        empty: "No new or regressed issues.".to_owned(),
    });
    blocks.push(Block::Table {
        title: "Web Vitals (75th percentile)".to_owned(),
        columns: vec![
            column("Metric", 2.0, Align::Left),
            column("p75", 1.0, Align::Right),
            column("Rating", 1.6, Align::Right),
            column("Samples", 1.0, Align::Right),
        ],
        rows: content
            .vitals
            .iter()
            .map(|v| {
                vec![
                    v.name.to_owned(),
                    v.p75.clone(),
                    v.rating.to_owned(),
                    v.samples.to_string(),
                ]
            })
            .collect(),
        empty: "No Web Vitals samples in this period.".to_owned(),
    });
    blocks
}

/// The dashboard PDF of `content` on `paper`.
pub fn dashboard(content: &ReportContent, timezone: &str, paper: Paper) -> Vec<u8> {
    let blocks = dashboard_blocks(content, timezone);
    let pages = layout::layout(paper, &blocks);
    let title = format!("{}: dashboard, {}", content.project, content.period_label);
    let footer = format!("Beacon · {} · {}", content.project, content.period_label);
    layout::write(paper, &pages, &title, &footer)
}

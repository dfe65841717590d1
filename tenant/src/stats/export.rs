//! Stats API answers as files: every row of a query (not one page), as CSV or JSON, for
//! spreadsheets and scripts.
//!
//! The rows come from the same planner as [`super::answer`] (rollups plus the raw tail, exact
//! where the API is exact) and are **streamed**: [`send_rows`] reads them from PostgreSQL as a
//! cursor-less row stream (tokio-postgres hands them over as they arrive) into a bounded
//! channel, and [`Encoder`] turns each batch into text. Memory stays constant whatever the
//! number of rows: a channel's worth of rows and one batch of text. Time dimensions are the
//! project's local days and hours, as in the API; the JSON file says which time zone.

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::answer::metric_values;
use super::query::{StatsQuery, StatsRow};
use super::{StatsError, rollups, sql};

/// Most rows one export writes (a query with more stops there, and says so in the last line).
pub const MAX_ROWS: i64 = 5_000_000;

/// How long a row may wait for the reader before the export gives up.
pub const STALLED_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A header row of dimension and metric names, then one row per result.
    Csv,
    /// `{"site_id", "timezone", "date_range", "dimensions", "metrics", "results": [...]}` with
    /// each result as the Stats API answers it.
    Json,
}

/// Sends every row of `query` (its `limit` raised to [`MAX_ROWS`], no offset) to `rows`, in
/// the query's order, on `conn` (in the project's organization scope); stops early when the
/// receiver is gone. Answers how many rows were sent.
pub async fn send_rows(
    conn: &mut AsyncPgConnection,
    query: &StatsQuery,
    rows: &mpsc::Sender<StatsRow>,
) -> Result<u64, StatsError> {
    let query = StatsQuery {
        limit: MAX_ROWS,
        offset: 0,
        ..query.clone()
    };
    let rolled_until = rollups::usable_until(conn, &query).await?;
    let mut stream = sql::plan(&query, rolled_until)
        .into_query()
        .load_stream::<StatsRow>(conn)
        .await?;
    let mut sent = 0;
    while let Some(row) = stream.try_next().await? {
        // A receiver gone, or one that takes nothing for a minute (an abandoned download),
        // ends the export and its transaction.
        match tokio::time::timeout(STALLED_AFTER, rows.send(row)).await {
            Ok(Ok(())) => sent += 1,
            Ok(Err(_)) | Err(_) => break,
        }
    }
    Ok(sent)
}

/// Turns rows into the text of a file, batch by batch.
#[derive(Debug, Clone)]
pub struct Encoder {
    format: Format,
    query: StatsQuery,
    dimension_names: Vec<String>,
    metric_names: Vec<String>,
    rows: u64,
}

impl Encoder {
    /// An encoder for the rows of `query`, whose columns are named as the request named them.
    pub fn new(
        format: Format,
        query: StatsQuery,
        dimension_names: Vec<String>,
        metric_names: Vec<String>,
    ) -> Self {
        Self {
            format,
            query,
            dimension_names,
            metric_names,
            rows: 0,
        }
    }

    /// What comes before the first row: the CSV header, or the JSON object's opening with the
    /// query it answers (`site_id`: the project's domain).
    pub fn start(&self, site_id: &str) -> String {
        match self.format {
            Format::Csv => {
                let names: Vec<String> = self
                    .dimension_names
                    .iter()
                    .chain(&self.metric_names)
                    .map(|name| crate::csv::field(name))
                    .collect();
                format!("{}\n", names.join(","))
            }
            Format::Json => {
                let head = json!({
                    "site_id": site_id,
                    "timezone": self.query.timezone,
                    "date_range": [self.query.from.to_string(), self.query.to.to_string()],
                    "dimensions": self.dimension_names,
                    "metrics": self.metric_names,
                });
                let text = head.to_string();
                // `{…}` without its closing brace, then the results array.
                format!("{},\"results\":[", &text[..text.len() - 1])
            }
        }
    }

    /// The text of `rows`, appended to `out`.
    pub fn rows(&mut self, rows: &[StatsRow], out: &mut String) {
        for row in rows {
            let values = metric_values(row, &self.query.metrics);
            match self.format {
                Format::Csv => {
                    let mut fields: Vec<String> = row
                        .dimensions
                        .iter()
                        .map(|value| crate::csv::field(value.as_deref().unwrap_or("")))
                        .collect();
                    fields.extend(values.iter().map(Value::to_string));
                    out.push_str(&fields.join(","));
                    out.push('\n');
                }
                Format::Json => {
                    if self.rows > 0 {
                        out.push(',');
                    }
                    let result = json!({"dimensions": row.dimensions, "metrics": values});
                    out.push_str(&result.to_string());
                }
            }
            self.rows += 1;
        }
    }

    /// What comes after the last row (`complete`: every row was written, not cut short by an
    /// error or [`MAX_ROWS`]; a JSON file then ends with `"complete": false`).
    pub fn finish(&self, complete: bool) -> String {
        match self.format {
            Format::Csv if complete => String::new(),
            Format::Csv => "# incomplete: the export stopped before its last row\n".to_owned(),
            Format::Json => format!("],\"rows\":{},\"complete\":{complete}}}", self.rows),
        }
    }

    /// Rows encoded so far.
    pub fn count(&self) -> u64 {
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::query::{Dimension, Filter, Metric};

    fn query() -> StatsQuery {
        StatsQuery {
            project_id: uuid::Uuid::nil(),
            timezone: "Europe/Berlin".into(),
            from: "2026-11-01".parse().unwrap(),
            to: "2026-11-30".parse().unwrap(),
            instants: None,
            dimensions: vec![Dimension::Page],
            filter: Filter::And(vec![]),
            metrics: vec![Metric::Visitors, Metric::BounceRate],
            order_by: vec![],
            limit: 10,
            offset: 0,
        }
    }

    fn row(page: Option<&str>, visitors: i64) -> StatsRow {
        StatsRow {
            dimensions: vec![page.map(str::to_owned)],
            visitors,
            visits: 0,
            pageviews: 0,
            events: 0,
            bounce_rate: 12.5,
            visit_duration: 0.0,
            views_per_visit: 0.0,
            conversion_rate: 0.0,
            total_revenue: 0.0,
            average_revenue: 0.0,
            total_rows: 0,
        }
    }

    fn names() -> (Vec<String>, Vec<String>) {
        (
            vec!["event:page".into()],
            vec!["visitors".into(), "bounce_rate".into()],
        )
    }

    #[test]
    fn csv_has_a_header_quoted_fields_and_the_apis_numbers() {
        let (dims, metrics) = names();
        let mut encoder = Encoder::new(Format::Csv, query(), dims, metrics);
        let mut text = encoder.start("shop.example");
        encoder.rows(&[row(Some("/a,b"), 3), row(None, 1)], &mut text);
        text.push_str(&encoder.finish(true));
        assert_eq!(
            text,
            "event:page,visitors,bounce_rate\n\"/a,b\",3,12.5\n,1,12.5\n"
        );
        assert!(encoder.finish(false).contains("incomplete"));
    }

    #[test]
    fn json_is_one_valid_document_across_batches() {
        let (dims, metrics) = names();
        let mut encoder = Encoder::new(Format::Json, query(), dims, metrics);
        let mut text = encoder.start("shop.example");
        encoder.rows(&[row(Some("/"), 3)], &mut text);
        encoder.rows(&[row(Some("/b"), 2)], &mut text);
        text.push_str(&encoder.finish(true));
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["timezone"], "Europe/Berlin");
        assert_eq!(parsed["date_range"], json!(["2026-11-01", "2026-11-30"]));
        assert_eq!(
            parsed["results"][1],
            json!({"dimensions": ["/b"], "metrics": [2, 12.5]})
        );
        assert_eq!(
            (parsed["rows"].clone(), parsed["complete"].clone()),
            (json!(2), json!(true))
        );
        let mut empty = Encoder::new(Format::Json, query(), vec![], vec!["visitors".into()]);
        let text = format!("{}{}", empty.start("x"), empty.finish(true));
        empty.rows(&[], &mut String::new());
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["results"],
            json!([])
        );
    }
}

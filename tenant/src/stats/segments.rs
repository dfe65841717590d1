//! Saved segments in Stats API queries: `["is", "segment", ["<id>"]]` stands for the saved
//! segment's filters, as in Plausible.
//!
//! A segment is expanded in the request's JSON before it is parsed, so the parser, its bounds
//! (comparisons, values, depth) and the planner see plain filters and nothing downstream knows
//! segments exist. At the top level a segment's filters are spliced into the list (so an
//! `event:goal` filter in a segment keeps working); nested in `and`/`or`/`not`, or several
//! segments in one comparison (any of them), it becomes an `and` of its filters.

use serde_json::{Value, json};
use uuid::Uuid;

use super::StatsError;
use super::request::{self, StatsRequest};
use crate::problem::{Invalid, ProblemKind};
use crate::tables::segments;
use crate::{OrgId, ProjectId, UserId};

/// The pseudo-dimension naming segments in filters.
pub const SEGMENT: &str = "segment";

/// Most filter expressions one segment holds.
pub const MAX_SEGMENT_FILTERS: usize = 20;

fn invalid(detail: impl Into<String>) -> Invalid {
    Invalid::new(ProblemKind::InvalidFilter, detail)
}

/// The refusal of a segment the request may not use.
fn unknown(id: Uuid) -> Invalid {
    invalid(format!(
        "segment {id} cannot be used here: it was deleted, is another project's, or is personal \
         (someone else's; dashboards use shared segments only)"
    ))
}

/// Reads a segment's filters by its id (`None`: not one the caller may use).
pub type Lookup<'a> = &'a dyn Fn(Uuid) -> Option<Value>;

/// The ids of a `segment` comparison, `None` when `filter` is not one.
fn segment_ids(filter: &Value) -> Option<Result<Vec<Uuid>, Invalid>> {
    let items = filter.as_array()?;
    if items.get(1).and_then(Value::as_str) != Some(SEGMENT) {
        return None;
    }
    Some((|| {
        if items.first().and_then(Value::as_str) != Some("is") {
            return Err(invalid("segments are filtered with `is` only"));
        }
        let ids = items
            .get(2)
            .and_then(Value::as_array)
            .filter(|ids| (1..=10).contains(&ids.len()))
            .ok_or_else(|| invalid("a segment filter takes 1 to 10 segment ids"))?;
        ids.iter()
            .map(|id| {
                id.as_str()
                    .and_then(|id| Uuid::parse_str(id).ok())
                    .ok_or_else(|| invalid("segment ids are UUIDs"))
            })
            .collect()
    })())
}

/// Calls `visit` on every segment comparison in `filters`, however nested.
fn each_segment(
    filters: &Value,
    visit: &mut dyn FnMut(Vec<Uuid>) -> Result<(), Invalid>,
) -> Result<(), Invalid> {
    if let Some(ids) = segment_ids(filters) {
        return visit(ids?);
    }
    match filters {
        Value::Array(items) => items
            .iter()
            .filter(|item| item.is_array())
            .try_for_each(|item| each_segment(item, visit)),
        _ => Ok(()),
    }
}

/// The segment ids a request body's `filters` name (each comparison's shape checked).
pub fn referenced(body: &Value) -> Result<Vec<Uuid>, Invalid> {
    let mut found = Vec::new();
    if let Some(filters) = body.get("filters") {
        each_segment(filters, &mut |ids| {
            found.extend(ids);
            Ok(())
        })?;
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// `filter` with its segments replaced by `lookup`'s filters.
fn substitute(filter: &Value, lookup: Lookup<'_>) -> Result<Value, Invalid> {
    if let Some(ids) = segment_ids(filter) {
        let mut any = ids?
            .into_iter()
            .map(|id| {
                lookup(id)
                    .map(|filters| json!(["and", filters]))
                    .ok_or_else(|| unknown(id))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            json!(["or", any])
        });
    }
    Ok(match filter {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| {
                    if item.is_array() {
                        substitute(item, lookup)
                    } else {
                        Ok(item.clone())
                    }
                })
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// The body with every segment replaced by `lookup`'s filters (a top-level segment spliced
/// into the list), or a clear refusal naming a segment `lookup` does not know.
pub fn expand(body: &Value, lookup: Lookup<'_>) -> Result<Value, Invalid> {
    let Some(Value::Array(filters)) = body.get("filters") else {
        return Ok(body.clone());
    };
    let mut spliced = Vec::with_capacity(filters.len());
    for filter in filters {
        match segment_ids(filter) {
            Some(Ok(ids)) if ids.len() == 1 => {
                let own = lookup(ids[0]).ok_or_else(|| unknown(ids[0]))?;
                spliced.extend(own.as_array().cloned().unwrap_or_default());
            }
            _ => spliced.push(substitute(filter, lookup)?),
        }
    }
    let mut body = body.clone();
    body["filters"] = Value::Array(spliced);
    Ok(body)
}

/// The site a Stats API body names, after checking all of the body that can be checked before
/// its segments are read: a body naming no segment is parsed whole (its refusals come first,
/// as they did before segments); one naming segments has their comparisons checked.
pub fn site_of(body: &Value) -> Result<String, Invalid> {
    if referenced(body)?.is_empty() {
        return Ok(request::parse(body)?.site_id);
    }
    request::site_id(body)
}

/// Parses a Stats API body with its segments' filters from `lookup` (which answers `None` for
/// a segment the caller may not use).
pub fn parse_with(body: &Value, lookup: Lookup<'_>) -> Result<StatsRequest, Invalid> {
    request::parse(&expand(body, lookup)?)
}

/// Checks a segment's own filters: 1 to [`MAX_SEGMENT_FILTERS`] Stats API filter
/// expressions, valid as a query's filters, naming no segment.
pub fn validate(filters: &Value) -> Result<(), Invalid> {
    let list = filters
        .as_array()
        .filter(|list| (1..=MAX_SEGMENT_FILTERS).contains(&list.len()))
        .ok_or_else(|| {
            invalid(format!(
                "a segment's filters are a list of 1 to {MAX_SEGMENT_FILTERS} filter expressions"
            ))
        })?;
    if !referenced(&json!({ "filters": list }))?.is_empty() {
        return Err(invalid("a segment cannot use another segment"));
    }
    request::parse(&json!({
        "site_id": "segment.check",
        "metrics": ["visitors"],
        "date_range": "30d",
        "filters": list,
    }))
    .map(|_| ())
}

/// A lookup answering the filters of `found`'s segments.
pub fn lookup_in(found: &[segments::Segment]) -> impl Fn(Uuid) -> Option<Value> + '_ {
    |id| {
        found
            .iter()
            .find(|segment| segment.segment_id == id)
            .map(|segment| segment.filters.clone())
    }
}

/// Parses a Stats API body whose filters may name segments: those of `project` that `viewer`
/// may see (`None`: an API key, which sees shared ones) are expanded; any other is refused.
pub async fn parse(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    viewer: Option<UserId>,
    body: &Value,
) -> Result<StatsRequest, StatsError> {
    let ids = referenced(body)?;
    if ids.is_empty() {
        return Ok(request::parse(body)?);
    }
    let found = segments::find_visible(conn, org, project, viewer, &ids).await?;
    Ok(parse_with(body, &lookup_in(&found))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190f2c4-0000-7000-8000-000000000001";
    const OTHER: &str = "0190f2c4-0000-7000-8000-000000000002";

    fn lookup(id: Uuid) -> Option<Value> {
        (id.to_string() == ID).then(|| {
            json!([
                ["is", "visit:device", ["Mobile"]],
                ["is", "event:goal", ["Signup"]]
            ])
        })
    }

    #[test]
    fn a_top_level_segment_is_spliced_so_goal_filters_stay_at_the_top() {
        let body = json!({"filters": [["is", "visit:country", ["DE"]], ["is", "segment", [ID]]]});
        let expanded = expand(&body, &lookup).unwrap();
        assert_eq!(
            expanded["filters"],
            json!([
                ["is", "visit:country", ["DE"]],
                ["is", "visit:device", ["Mobile"]],
                ["is", "event:goal", ["Signup"]]
            ])
        );
    }

    #[test]
    fn nested_segments_become_an_and_and_several_ids_any_of_them() {
        let body = json!({"filters": [["not", ["is", "segment", [ID]]]]});
        let expanded = expand(&body, &lookup).unwrap();
        assert_eq!(expanded["filters"][0][1][0], "and");
        let both = json!({"filters": [["is", "segment", [ID, ID]]]});
        assert_eq!(expand(&both, &lookup).unwrap()["filters"][0][0], "or");
    }

    #[test]
    fn unknown_segments_and_wrong_shapes_are_refused_clearly() {
        let unknown = json!({"filters": [["is", "segment", [OTHER]]]});
        let error = expand(&unknown, &lookup).unwrap_err();
        assert!(error.detail.contains(OTHER), "{}", error.detail);
        for bad in [
            json!({"filters": [["is_not", "segment", [ID]]]}),
            json!({"filters": [["is", "segment", ["not-a-uuid"]]]}),
            json!({"filters": [["is", "segment", []]]}),
        ] {
            assert!(referenced(&bad).is_err(), "{bad}");
        }
        assert_eq!(
            referenced(&json!({"filters": [["and", [["is", "segment", [ID]]]]]})).unwrap(),
            vec![Uuid::parse_str(ID).unwrap()]
        );
    }

    #[test]
    fn a_segment_holds_valid_filters_and_no_segment() {
        assert!(validate(&json!([["is", "visit:country", ["DE"]]])).is_ok());
        assert!(validate(&json!([])).is_err());
        assert!(validate(&json!([["is", "visit:planet", ["Mars"]]])).is_err());
        assert!(validate(&json!([["is", "segment", [ID]]])).is_err());
    }

    #[test]
    fn the_site_comes_first_and_a_body_without_segments_is_checked_whole() {
        let body = json!({
            "site_id": "Example.com",
            "metrics": ["visitors", "conversion_rate"],
            "date_range": "7d",
            "filters": [["is", "segment", [ID]]]
        });
        assert_eq!(site_of(&body).unwrap(), "example.com");
        // The goal the conversion rate needs is in the segment: known only once it is read.
        assert!(parse_with(&body, &lookup).is_ok());
        let mut plain = body.clone();
        plain["filters"] = json!([]);
        assert_eq!(
            site_of(&plain).unwrap_err().kind,
            ProblemKind::InvalidMetric
        );
    }
}

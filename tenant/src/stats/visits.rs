//! What a visit is, in SQL: the one definition the raw queries and the rollup job share, so
//! rollups and raw events can never disagree about where a visit starts and ends.

use super::params::Placeholder;

/// Gap that ends a visit.
pub const VISIT_GAP_MINUTES: i32 = 30;

/// How long after a range's end a visit that started in it is followed (visits end at
/// midnight UTC at the latest, so a day is always enough).
pub const VISIT_LOOKAHEAD_HOURS: i32 = 24;

/// The CTEs `base`, `numbered`, `visits_all` and `visits_ev` over the events of the project
/// bound at `project`:
/// `visits_ev` has one row per event of every visit that started in `[lo, hi)`, each with its
/// visit's attributes (`v_start`, entry and exit page, source and UTM of the first event,
/// duration, interactive events). `lo` and `hi` are SQL timestamptz expressions.
///
/// The 30 minutes before `lo` only decide which events start a visit; visits are then
/// numbered from `lo` on, and events before the first start from `lo` (the rest of a visit
/// that began earlier) get number 0 and are dropped before the costly per-visit windows.
///
/// A visit is a visitor's run of events without a pause over 30 minutes, ending at midnight
/// UTC at the latest (as Google Analytics ends sessions at midnight), so no visit is longer
/// than a day and every visit that may still grow started today. The scan starts 30 minutes
/// before `lo`, which is exactly enough to tell whether an event continues an earlier visit
/// (unless [`VisitScan::last_seen`] tells that), and follows visits 24 hours past `hi`, which
/// is enough to see them end. The Stats API's raw queries and the rollup job both use this, so
/// rollups and raw events agree.
///
/// `options` narrow what is read without changing the answer ([`VisitScan`]).
pub(crate) fn visits_cte(project: Placeholder, lo: &str, hi: &str, options: &VisitScan) -> String {
    let VisitScan {
        exit_page,
        scan_bounds,
        visitors_since,
        last_seen,
    } = options;
    let hint = |alias: &str| {
        scan_bounds
            .map(|(from, to)| format!("AND {alias}.ts >= {from} AND {alias}.ts < {to} "))
            .unwrap_or_default()
    };
    let scan_end = format!("{hi} + make_interval(hours => {VISIT_LOOKAHEAD_HOURS})");
    let visitors = visitors_since
        .map(|since| {
            format!(
                "AND e.visitor_id IN (SELECT a.visitor_id FROM events a WHERE a.project_id = {project} \
                   AND a.ts >= {since} AND a.ts < {scan_end} {}) ",
                hint("a")
            )
        })
        .unwrap_or_default();
    // The event before each one: within the scan, or (for a visitor's first event from `lo` on)
    // the last one the lookback relation knows of.
    let (scan_start, previous, joined) = match last_seen {
        None => (
            format!("{lo} - make_interval(mins => {VISIT_GAP_MINUTES})"),
            "lag(ts) OVER w".to_owned(),
            String::new(),
        ),
        Some(relation) => (
            lo.to_owned(),
            "coalesce(lag(ts) OVER w, seen.last_ts)".to_owned(),
            format!("LEFT JOIN ({relation}) seen ON seen.seen_visitor = e.visitor_id "),
        ),
    };
    let exit_page = if *exit_page {
        "first_value(pathname) OVER (PARTITION BY visitor_id, visit_no ORDER BY ts DESC, event_id DESC)"
    } else {
        "NULL::text"
    };
    format!(
        "base AS (\
            SELECT e.*, CASE WHEN {previous} IS NULL \
                OR ts - {previous} > make_interval(mins => {VISIT_GAP_MINUTES}) \
                OR ({previous} AT TIME ZONE 'UTC')::date <> (ts AT TIME ZONE 'UTC')::date \
                THEN 1 ELSE 0 END AS starts_visit \
            FROM events e {joined}\
            WHERE e.project_id = {project} \
              AND e.ts >= {scan_start} \
              AND e.ts < {scan_end} {hint}{visitors}\
            WINDOW w AS (PARTITION BY visitor_id ORDER BY ts, event_id)), \
         numbered AS (SELECT * FROM (\
            SELECT *, sum(starts_visit) OVER (PARTITION BY visitor_id ORDER BY ts, event_id ROWS UNBOUNDED PRECEDING) AS visit_no \
            FROM base WHERE ts >= {lo}) counted \
            WHERE visit_no > 0), \
         visits_all AS (SELECT *, min(ts) OVER v_all AS v_start, \
            first_value(pathname) OVER v AS v_entry_page, {exit_page} AS v_exit_page, \
            first_value(source) OVER v AS v_source, \
            first_value(referrer_host) OVER v AS v_referrer, first_value(utm_source) OVER v AS v_utm_source, \
            first_value(utm_medium) OVER v AS v_utm_medium, first_value(utm_campaign) OVER v AS v_utm_campaign, \
            first_value(utm_content) OVER v AS v_utm_content, first_value(utm_term) OVER v AS v_utm_term, \
            extract(epoch FROM max(ts) OVER v_all - min(ts) OVER v_all) AS v_duration, \
            count(*) FILTER (WHERE interactive) OVER v_all AS v_interactions \
            FROM numbered \
            WINDOW v AS (PARTITION BY visitor_id, visit_no ORDER BY ts, event_id), \
                   v_all AS (PARTITION BY visitor_id, visit_no)), \
         visits_ev AS (SELECT * FROM visits_all WHERE v_start >= {lo} AND v_start < {hi})",
        hint = hint("e"),
    )
}

/// What [`visits_cte`] reads, beyond the events it must: each option leaves the answer as it
/// is and changes only the work.
#[derive(Default)]
pub(crate) struct VisitScan<'a> {
    /// Whether `v_exit_page` is computed (a descending sort per visit); `NULL` otherwise.
    pub exit_page: bool,
    /// Two `timestamptz` parameters that every event the CTE reads lies between (`[from, to)`:
    /// `from` no later than where the scan starts (30 minutes before `lo`, or `lo` itself with
    /// `last_seen`), `to` no earlier than 24 hours after `hi`; `lo` and `hi` may only be known
    /// at run time). As plain parameters they are constants when PostgreSQL plans the
    /// statement, so it plans only the day partitions between them (an expression with a time
    /// zone is only evaluated at run time, which left it planning every partition: 10–20 ms of a
    /// 30-day query) and can choose an index range scan.
    pub scan_bounds: Option<(Placeholder, Placeholder)>,
    /// A `timestamptz` expression no later than `lo`: only the visitors with an event at or
    /// after it are read. Every visit that starts in `[lo, hi)` has its first event there, so
    /// the answer is the same; what changes is the work when few visitors are active since
    /// then: the rollup job's search for open visits reads the watermark's whole UTC day, and
    /// then sorts and numbers only the events of the visitors seen since the watermark (2.7
    /// times faster at 10M events a month; issue 19's fifth part in `docs/benchmarks.md`). The
    /// Stats API's raw tail does not use it: one test's plan for a long tail took over 30 s.
    pub visitors_since: Option<&'a str>,
    /// A relation with the columns `seen_visitor` and `last_ts`: each visitor's last event in
    /// the 30 minutes before `lo` (none for a visitor without one). Events before `lo` are then
    /// not read: the relation says all they would, whether a visitor's first event from `lo`
    /// on continues a visit. The rolled-up Stats API queries read it from `rollup_last_seen`,
    /// which the step that moves the watermark writes for it ([`super::rollups::advance`]): the
    /// tail then sorts a quarter of the events (issue 19's sixth part in `docs/benchmarks.md`).
    pub last_seen: Option<&'a str>,
}

//! E-mail reports: which days a weekly or monthly report covers ([`period`]) and what it says
//! ([`content`]), computed by the same stats service the dashboard and the Stats API use, so a
//! number in a report is the number the dashboard shows for the same days. The worker renders
//! and sends it (`worker/src/reports.rs`, `worker/src/jobs/send_report.rs`).

pub mod content;
pub mod period;
pub mod unsubscribe;

pub use content::{
    Detail, Progress, ReportContent, TopRow, Tops, compose, compose_period,
    compose_period_reporting, steps, thousands, tops, vital_shown,
};
pub use period::{Period, periods};

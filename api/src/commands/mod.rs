//! The `beacon` subcommands.

pub mod audit;
pub mod demo_traffic;
pub mod openapi;
pub mod seed;
pub mod serve;
pub mod sourcemaps;
pub mod worker;

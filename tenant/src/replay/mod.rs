//! Session replay: what a valid chunk of an rrweb recording is and what it says ([`chunk`]),
//! where chunk bodies are kept ([`store`]), and heatmap reports ([`heatmap`]). The rows live in
//! [`crate::tables::replays`]; the API's `routes/replay.rs` reads requests around these.

pub mod chunk;
pub mod heatmap;
pub mod store;

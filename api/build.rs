//! Rebuilds the `beacon` binary when the dashboard's build output changes: the files under
//! `web/dashboard/dist` are embedded (see `src/dashboard.rs`), and their names change with
//! every build, which Cargo would not notice on its own.

fn main() {
    println!("cargo:rerun-if-changed=../web/dashboard/dist");
}

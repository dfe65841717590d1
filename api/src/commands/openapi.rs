//! `beacon openapi`: writes the OpenAPI document generated from the code.

use std::path::Path;

use anyhow::Context;

/// Writes the spec to `path`.
pub fn write(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, crate::app::openapi_json())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

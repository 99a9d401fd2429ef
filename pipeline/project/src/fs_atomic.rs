//! Files appear whole or not at all: write to a temporary name in the same folder, sync, rename.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary name used while writing `path` (same folder, so the rename is atomic).
pub(crate) fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Replaces `path` with `bytes` atomically (readers see the old or the new file, never a mix).
pub(crate) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temp = temp_name(path);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)?;
        sync_parent(path);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Makes a rename in `path`'s folder durable (best effort: not every platform can sync a folder).
pub(crate) fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent()
        && let Ok(folder) =
            std::fs::File::open(if parent.as_os_str().is_empty() { Path::new(".") } else { parent })
    {
        let _ = folder.sync_all();
    }
}

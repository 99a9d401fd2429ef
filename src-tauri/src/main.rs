//! Mote Studio's entry point.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    software_rendering_without_gpu();
    mote_studio::run();
}

/// Without a GPU, WebKitGTK composites every canvas update through software OpenGL (llvmpipe),
/// which costs ~50 ms a frame and halves the live chart's frame rate; drawing without
/// compositing is several times faster there. On Linux, no DRM render node means no GPU. A value
/// the user set (either way) is left alone.
fn software_rendering_without_gpu() {
    #[cfg(target_os = "linux")]
    {
        const VARIABLE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
        let has_gpu = std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
            entries.flatten().any(|entry| entry.file_name().to_string_lossy().starts_with("renderD"))
        });
        if !has_gpu && std::env::var_os(VARIABLE).is_none() {
            // SAFETY: first thing in `main`, before any other thread exists.
            unsafe { std::env::set_var(VARIABLE, "1") };
        }
    }
}

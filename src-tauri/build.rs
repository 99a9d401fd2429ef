//! Tauri's build step. The UI is built by npm (`ui/`); tauri embeds `ui/dist` at compile time.
fn main() {
    let dist = std::path::Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        // A fresh checkout before `npm run build`: the app must still compile (the scripts build
        // the UI first), and says plainly what is missing if run like this.
        std::fs::create_dir_all(dist).expect("create ui/dist");
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><meta charset=utf-8><title>Mote Studio</title>\
             <p>The interface has not been built. Run <code>scripts/run.sh</code>.</p>",
        )
        .expect("write placeholder");
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}

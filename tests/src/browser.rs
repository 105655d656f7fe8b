//! A real browser for the pages spa writes: Debian's Chromium, headless, with the flags that
//! keep it off the network (this machine's network is closed) and out of the home directory.

use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(page: &Path, extra: &[String]) -> std::process::Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "Chromium is not installed: `apt-get install chromium` (.ci/run does); the page tests need a real browser"
    );
    let profile = tempfile::tempdir().expect("a profile directory");
    let mut command = Command::new("timeout");
    command
        .arg("120")
        .arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .env("HOME", profile.path());
    command.output().expect("chromium runs")
}

/// Draws `page` into `png` and returns the document as the browser rendered it.
pub fn screenshot(page: &Path, png: &Path) -> String {
    let shot = chromium(page, &[format!("--screenshot={}", png.display())]);
    assert!(
        shot.status.success() && png.exists(),
        "chromium drew no screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let dom = chromium(page, &["--dump-dom".to_string()]);
    assert!(
        dom.status.success(),
        "chromium dumped no document: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

//! Helpers for black-box tests of the `spa` binary: build it once, run it, and make real Git
//! repositories in temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub mod browser;
pub mod http;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The `spa` binary, built on first use (cargo does not build another package's binaries
/// for this crate's tests). `SPA_BIN` overrides it, e.g. to test a release build.
pub fn spa_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("SPA_BIN") {
            return PathBuf::from(bin);
        }
        // The same targets as `cargo test --workspace` (tests and bins together), so that
        // features unify the same way: a no-op after the test build, where building the
        // binary alone would compile the AWS SDK a second time with other features.
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--workspace", "--tests", "--bins"])
            .current_dir(workspace())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building spa failed");
        // Tests run from target/<profile>/deps/; the binary sits one level up.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap();
        profile_dir.join("spa")
    })
    .clone()
}

/// Snapshot settings for outputs of `spa`: what changes from run to run is replaced by a
/// placeholder — temporary paths, commit ids, fingerprints, ports. Bind it for a test with
/// `let _snapshots = spa_tests::snapshots().bind_to_scope();`.
pub fn snapshots() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let temp = std::env::temp_dir();
    let temp = regex_escape(temp.to_string_lossy().trim_end_matches('/'));
    for (pattern, replacement) in [
        (format!(r"{temp}/[^\s`'\x22]*"), "[TMP]"),
        (r"\b[0-9a-f]{40}\b".to_string(), "[COMMIT]"),
        (r" @ [0-9a-f]{12}\b".to_string(), " @ [COMMIT]"),
        (r"(ettings `?)[0-9a-f]{12}\b".to_string(), "${1}[COMMIT]"),
        (
            r"\(desired [0-9a-f]{12}\)".to_string(),
            "(desired [FINGERPRINT])",
        ),
        (
            r"observed [0-9a-f]{12}\b".to_string(),
            "observed [FINGERPRINT]",
        ),
        (
            r"observation [0-9a-f]{12}\b".to_string(),
            "observation [FINGERPRINT]",
        ),
        (r"127\.0\.0\.1:\d+".to_string(), "127.0.0.1:[PORT]"),
    ] {
        settings.add_filter(&pattern, replacement);
    }
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// The result of one run of `spa`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `spa` with `args` in `dir`, without color and with a private cache directory.
pub fn spa(dir: &Path, args: &[&str]) -> Run {
    spa_env(dir, args, &[])
}

/// As [`spa`], with `env` added to the environment.
pub fn spa_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    Command::new(spa_bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("SPA_CACHE_DIR", dir.join(".spa-cache"))
        .env_remove("RUST_LOG")
        .env_remove("SPA_CONTROLLER_URL")
        .env_remove("SPA_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("spa runs")
        .into()
}

/// A Git repository in a temporary directory, driven through the `git` command.
pub struct GitRepo {
    pub dir: tempfile::TempDir,
}

impl GitRepo {
    pub fn new() -> GitRepo {
        let repo = GitRepo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.git(&["config", "user.name", "Test"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo.git(&["config", "core.autocrlf", "false"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    /// Copies a directory tree into the repository.
    pub fn copy_dir(&self, from: &Path, to: &str) {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let target = if to.is_empty() {
                name.clone()
            } else {
                format!("{to}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                self.copy_dir(&entry.path(), &target);
            } else {
                self.write(&target, std::fs::read(entry.path()).unwrap());
            }
        }
    }

    /// A repository holding a copy of `example-config-repo/`, committed.
    pub fn example() -> GitRepo {
        let repo = GitRepo::new();
        repo.copy_dir(&workspace().join("example-config-repo"), "");
        repo.commit("example");
        repo
    }

    /// Commits everything; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

impl Default for GitRepo {
    fn default() -> Self {
        GitRepo::new()
    }
}

/// The local AWS emulator (moto), started on a free port for one test and stopped when
/// dropped. It comes from the project's virtual environment (`scripts/emulator install`,
/// which `scripts/test` and CI run first); a test never skips silently when it is missing.
pub struct Emulator {
    child: std::process::Child,
    pub port: u16,
    pub endpoint: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Emulator {
    pub fn start() -> Emulator {
        let python = workspace().join(".venv/bin/python");
        assert!(
            workspace().join(".venv/bin/moto_server").exists(),
            "the AWS emulator is not installed: run `scripts/emulator install` (scripts/test and CI do)"
        );
        for _ in 0..3 {
            let port = free_port();
            // Through the project's launcher: moto with the AWS managed policies spa
            // attaches (scripts/moto-server.py).
            let child = Command::new(&python)
                .arg(workspace().join("scripts/moto-server.py"))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("moto_server starts");
            let mut emulator = Emulator {
                child,
                port,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            for _ in 0..200 {
                let control = format!("{}/moto-api/", emulator.endpoint);
                if http::request("GET", &control, None, None).is_ok_and(|(code, _)| code == 200) {
                    emulator.reset();
                    return emulator;
                }
                if emulator.child.try_wait().ok().flatten().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        panic!("the AWS emulator did not start");
    }

    /// Wipes every resource.
    pub fn reset(&self) {
        let url = format!("{}/moto-api/reset", self.endpoint);
        let (code, body) = http::request("POST", &url, None, None).expect("emulator reset");
        assert_eq!(code, 200, "emulator reset: {body}");
    }

    /// Gives Cost Explorer, as `account` calls it, the answers to its next distinct
    /// GetCostAndUsage requests, in order (the same request gets the same answer again).
    pub fn give_costs(&self, account: &str, answers: &[serde_json::Value]) {
        let url = format!(
            "{}/moto-api/static/ce/cost-and-usage-results",
            self.endpoint
        );
        let body = serde_json::json!({"account_id": account, "results": answers}).to_string();
        let (code, body) = http::request("POST", &url, None, Some(&body)).expect("costs given");
        assert_eq!(code, 201, "costs given: {body}");
    }

    /// The environment that points spa (and any AWS SDK) at this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "eu-west-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Runs `spa` against this emulator.
    pub fn spa(&self, dir: &Path, args: &[&str]) -> Run {
        let mut command = Command::new(spa_bin());
        command
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("SPA_CACHE_DIR", dir.join(".spa-cache"))
            .env_remove("RUST_LOG")
            .env_remove("AWS_PROFILE");
        for (key, value) in self.env() {
            command.env(key, value);
        }
        command.output().expect("spa runs").into()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `spa controller run` process for one test, killed when dropped. Its JSON logs go to
/// `log` for the failure messages.
pub struct ControllerProcess {
    child: std::process::Child,
    pub port: u16,
    pub log: PathBuf,
}

pub const ADMIN_TOKEN: &str = "test-admin-token";

impl Emulator {
    /// Starts `spa controller run` against this emulator with `args` added.
    pub fn controller(&self, dir: &Path, args: &[&str]) -> ControllerProcess {
        let port = free_port();
        let log = dir.join(format!("controller-{port}.log"));
        let mut command = Command::new(spa_bin());
        command
            .args([
                "controller",
                "run",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .args(args)
            .current_dir(dir)
            .env("SPA_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SPA_CACHE_DIR", dir.join(format!(".spa-cache-{port}")))
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (key, value) in self.env() {
            command.env(key, value);
        }
        let child = command.spawn().expect("spa controller starts");
        let process = ControllerProcess { child, port, log };
        process.wait_for("the admin endpoint", 30, |_| true);
        process
    }
}

impl ControllerProcess {
    /// The admin endpoint's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A request to the admin endpoint: the status and the body, `(0, "")` when nothing
    /// answers (the process is not listening yet, or any more).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let url = format!("{}{path}", self.url());
        http::request(method, &url, token, body).unwrap_or((0, String::new()))
    }

    pub fn status(&self) -> Option<serde_json::Value> {
        let (code, body) = self.request("GET", "/status", None, None);
        (code == 200)
            .then(|| serde_json::from_str(&body).ok())
            .flatten()
    }

    pub fn metrics(&self) -> String {
        self.request("GET", "/metrics", None, None).1
    }

    /// The value of one metric line (`name{labels}`), 0 when absent.
    pub fn metric(&self, line: &str) -> f64 {
        self.metrics()
            .lines()
            .find(|l| l.starts_with(line) && l[line.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// Polls /status until `done` holds, for at most `seconds`; panics with the log if not.
    pub fn wait_for(
        &self,
        what: &str,
        seconds: u64,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            if let Some(status) = self.status()
                && done(&status)
            {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                panic!(
                    "timed out after {seconds} s waiting for {what}; status: {:#?}\nlog (last lines, newest first):\n{}",
                    self.status(),
                    tail.join("\n")
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process with SIGTERM and waits for it to exit.
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

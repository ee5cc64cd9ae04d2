//! The `reuse-chat` binary itself: settings errors, `migrate`, and a clean stop on SIGTERM.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_reuse-chat");

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_setting_is_one_line_naming_it_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // (arguments, environment, the setting the error must name)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["serve", "--listen", "nope", "--data-dir", d],
            vec![],
            "--listen",
        ),
        (
            vec!["serve", "--data-dir", d],
            vec![("REUSE_CHAT_AUTH", "basic")],
            "--auth",
        ),
        (
            vec!["serve", "--data-dir", d, "--auth", "jwt"],
            vec![],
            "--auth",
        ),
        (
            vec!["serve", "--data-dir", d, "--database", "redis://x"],
            vec![],
            "--database",
        ),
        (
            vec!["serve", "--config", "/nonexistent.toml"],
            vec![],
            "--config",
        ),
        (
            vec![
                "serve",
                "--data-dir",
                d,
                "--auth",
                "jwt",
                "--jwt-public-key",
                "/nonexistent.pem",
            ],
            vec![],
            "--jwt-public-key",
        ),
        (
            vec!["serve", "--data-dir", d, "--smtp", "smtp://127.0.0.1:2525"],
            vec![],
            "--smtp",
        ),
        (
            vec!["serve", "--data-dir", d],
            vec![
                ("REUSE_CHAT_SMTP", "smtp://127.0.0.1:2525"),
                ("REUSE_CHAT_INQUIRY_TO", "not an address"),
            ],
            "--inquiry-to",
        ),
    ];
    for (args, env, name) in cases {
        let (code, stderr) = run(&args, &env);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(name), "{args:?} names {name}: {stderr}");
    }
}

#[test]
fn migrate_runs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(
        &["migrate", "--data-dir", dir.path().to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("reuse-chat.db").exists());
}

/// `reuse-chat serve` on a free loopback port with its data in `data_dir`, `env` set and its
/// standard output to `stdout` (standard error discarded), once it accepts connections.
fn serve(data_dir: &str, env: &[(&str, &str)], stdout: Stdio) -> Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--data-dir", data_dir])
        .envs(env.iter().copied())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Sends SIGTERM to `child`, as a service manager stops it.
fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = serve(dir.path().to_str().unwrap(), &[], Stdio::null());
    sigterm(&child);
    let stopped = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(20),
            "server did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn log_format_json_writes_one_json_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (code, stderr) = run(&["serve", "--data-dir", d, "--log-format", "xml"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--log-format"), "{stderr}");

    let child = serve(d, &[("REUSE_CHAT_LOG_FORMAT", "json")], Stdio::piped());
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit status {}", out.status);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let serving = lines
        .iter()
        .find(|l| l["fields"]["message"] == "serving")
        .unwrap_or_else(|| panic!("no 'serving' line in {text}"));
    assert_eq!(serving["level"], "INFO");
    assert!(serving["timestamp"].as_str().is_some());
    assert!(lines.iter().any(|l| l["fields"]["message"] == "stopped"));
}

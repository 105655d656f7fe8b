//! `spa notify test` against local webhook servers standing in for Teams and Slack.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use spa_tests::{GitRepo, spa};

/// A webhook on 127.0.0.1 that answers every request with `status`; returns its URL and
/// the bodies it received.
fn webhook(status: u16) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook?sig=SECRET", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap_or_default());
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, bodies)
}

#[test]
fn notify_test_reports_each_channel_and_never_shows_a_webhook_secret() {
    let (teams, teams_bodies) = webhook(202);
    let (slack, slack_bodies) = webhook(500);
    let repo = GitRepo::example();
    let settings = std::fs::read_to_string(repo.path().join("settings.yaml")).unwrap();
    let settings = settings
        .lines()
        .map(|line| {
            if line.starts_with("  with_microsoft_webhook_on_alerts:") {
                format!("  with_microsoft_webhook_on_alerts: {teams}\n  with_slack_webhook_on_alerts: {slack}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    repo.write("settings.yaml", settings);
    repo.commit("webhooks");

    let run = spa(repo.path(), &["notify", "test"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("teams  sent"), "{}", run.stdout);
    assert!(run.stdout.contains("slack  failed:"), "{}", run.stdout);
    assert!(run.stdout.contains("HTTP 500"), "{}", run.stdout);
    assert!(!run.stdout.contains("SECRET") && !run.stderr.contains("SECRET"));

    // Teams got one Adaptive Card, marked as a test.
    let teams_seen = teams_bodies.lock().unwrap().clone();
    assert_eq!(teams_seen.len(), 1);
    let card = &teams_seen[0]["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert!(
        card["content"]["body"][0]["text"]
            .as_str()
            .unwrap()
            .contains("TEST"),
        "{card}"
    );
    // Slack was tried three times (retries with back-off), each with the same message.
    let slack_seen = slack_bodies.lock().unwrap().clone();
    assert_eq!(slack_seen.len(), 3);
    assert!(slack_seen[0]["text"].as_str().unwrap().contains("TEST"));

    // Only one channel, on request; none configured is a usage error.
    let run = spa(repo.path(), &["notify", "test", "--channel", "teams"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(teams_bodies.lock().unwrap().len(), 2);
    assert_eq!(slack_bodies.lock().unwrap().len(), 3);
    let run = spa(repo.path(), &["notify", "test", "--channel", "sns"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--exceptions-topic-arn"),
        "{}",
        run.stderr
    );
}

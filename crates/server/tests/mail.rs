//! Inquiry mail against a real SMTP server (aiosmtpd, started by the tests; see
//! `smtp_sink.py`): inquiries are stored and answered `202` while no SMTP server listens, go out
//! once it does, and every inquiry arrives exactly once — through an outage in the middle and a
//! restart of the chat server on the same database.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use chat_mail::{parse_mailbox, MailConfig, SenderTuning, SmtpUrl};
use common::*;
use reuse_chat::config::Settings;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SINK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
const TO: &str = "ops@reuse.example";
const FROM: &str = "reuse-chat@chat.example";
/// Longest wait for mail to arrive: several retry caps of the tuning below.
const MAIL_WAIT: Duration = Duration::from_secs(20);
/// How long the tests watch for a duplicate after everything arrived: many poll intervals and
/// retry caps, so a row that was not recorded as sent would be mailed again within it.
const LINGER: Duration = Duration::from_millis(1500);

/// Fails (never skips) when aiosmtpd is missing, naming it and how to get it.
fn require_aiosmtpd() {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the mail tests need the aiosmtpd SMTP server (PyPI): python3 -m pip install aiosmtpd \
         (scripts/test.sh installs it)"
    );
}

/// A real SMTP server on a fixed port that can be stopped and started again; every message it
/// accepted stays in one directory across its runs.
struct SmtpSink {
    port: u16,
    credentials: Option<String>,
    out: tempfile::TempDir,
    child: Option<Child>,
}

impl SmtpSink {
    /// Not started yet: connections to its port are refused.
    fn new() -> SmtpSink {
        require_aiosmtpd();
        SmtpSink {
            port: free_port(),
            credentials: None,
            out: tempfile::tempdir().expect("tempdir"),
            child: None,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    async fn start(&mut self) {
        let mut cmd = Command::new("python3");
        cmd.arg(SINK)
            .arg(self.port.to_string())
            .arg(self.out.path());
        if let Some(c) = &self.credentials {
            cmd.arg(c);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        tokio::time::timeout(WAIT, reader.read_line(&mut line))
            .await
            .expect("the SMTP sink starts in time")
            .expect("the SMTP sink's stdout");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        self.child = Some(child);
    }

    /// Stops like a mail server going down: no new connections, sessions in progress finish.
    async fn stop(&mut self) {
        let mut child = self.child.take().expect("the sink runs");
        let pid = child.id().expect("pid").to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        if tokio::time::timeout(WAIT, child.wait()).await.is_err() {
            let _ = child.kill().await;
            panic!("the SMTP sink did not stop on SIGTERM");
        }
    }

    /// Every message accepted so far.
    fn messages(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.out.path())
            .expect("sink directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                serde_json::from_slice(&std::fs::read(p).expect("message file")).expect("JSON")
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived; then watches a while longer for extras.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + MAIL_WAIT;
        while self.messages().len() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{n} messages expected, {} arrived within {MAIL_WAIT:?}: {:#?}",
                self.messages().len(),
                self.messages()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(LINGER).await;
        self.messages()
    }
}

/// Mail to the sink at `url`, paced for tests: an outage's retries take tenths of a second.
fn mail_to(settings: &mut Settings, url: &str) {
    settings.mail = Some(MailConfig {
        smtp: SmtpUrl::parse(url).expect("SMTP URL"),
        to: parse_mailbox(&format!("Ops <{TO}>")).unwrap(),
        from: parse_mailbox(FROM).unwrap(),
        tuning: SenderTuning {
            poll_interval: Duration::from_millis(100),
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_millis(400),
            lease: Duration::from_secs(30),
            batch: 3,
            send_timeout: Duration::from_secs(5),
            probe_interval: Duration::from_millis(300),
        },
    });
}

/// What an inquiry was posted with, by its id.
type Posted = BTreeMap<i64, (String, String, String)>;

/// Posts inquiry number `i` (Korean text, as inquiries usually are); expects `202`.
async fn post_inquiry(server: &TestServer, i: usize, posted: &mut Posted) {
    let email = format!("buyer{i}@example.com");
    let title = format!("환불 문의 {i}");
    let content = format!("자전거 환불 가능한가요? (#{i})\n감사합니다 😀");
    let body = json!({"email": email, "title": title, "content": content});
    let (status, v) = server
        .anonymous()
        .call("POST", "/inquiry", Some(body.to_string().into_bytes()))
        .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["status"], "queued");
    let id = v["id"].as_i64().expect("id");
    posted.insert(id, (email, title, content));
}

/// `/ready`'s mail status once it equals `want` (the node stays ready meanwhile).
async fn wait_mail_status(server: &TestServer, want: &str) {
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    loop {
        let (status, v) = server.anonymous().get("/ready").await;
        assert_eq!(status, 200, "mail never makes the node unready: {v}");
        if v["backends"]["mail"] == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/ready never said mail {want}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every posted inquiry arrived exactly once, as the mail it should be.
fn assert_each_once(messages: &[Value], posted: &Posted) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for m in messages {
        let id = m["message_id"].as_str().expect("Message-ID").to_owned();
        *seen.entry(id).or_default() += 1;
    }
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "mailed more than once: {dups:?}");
    assert_eq!(messages.len(), posted.len(), "{messages:#?}");
    for (id, (email, title, content)) in posted {
        let message_id = format!("<inquiry-{id}@chat.example>");
        let m = messages
            .iter()
            .find(|m| m["message_id"] == message_id.as_str())
            .unwrap_or_else(|| panic!("inquiry {id} never arrived: {messages:#?}"));
        assert_eq!(m["rcpt_tos"], json!([TO]), "{m}");
        assert_eq!(m["mail_from"], FROM, "{m}");
        assert_eq!(m["to"], format!("Ops <{TO}>"), "{m}");
        assert_eq!(m["reply_to"], email.as_str(), "{m}");
        assert_eq!(m["subject"], format!("[inquiry #{id}] {title}"), "{m}");
        // Mail has CRLF line ends; the inquiry's text had LF.
        let body = m["body"].as_str().expect("text body").replace("\r\n", "\n");
        assert!(body.starts_with(content.as_str()), "{body}");
        assert!(body.contains(&format!("From: {email}")), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inquiries_posted_while_smtp_is_down_arrive_once_when_it_starts() {
    let mut sink = SmtpSink::new();
    let url = sink.url();
    let mut s = TestServer::start_with(|st| mail_to(st, &url)).await;
    let mut posted = Posted::new();
    for i in 0..7 {
        post_inquiry(&s, i, &mut posted).await;
    }
    // The sender tried, found nobody listening, and says so; everything is still queued.
    wait_mail_status(&s, "unavailable").await;
    assert!(sink.messages().is_empty());

    sink.start().await;
    let messages = sink.wait_for(posted.len()).await;
    assert_each_once(&messages, &posted);
    wait_mail_status(&s, "ok").await;
    s.stop().await;
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_outage_and_a_restart_neither_lose_nor_repeat_an_inquiry() {
    let mut sink = SmtpSink::new();
    let url = sink.url();
    sink.start().await;
    let mut s = TestServer::start_with(|st| mail_to(st, &url)).await;
    let mut posted = Posted::new();
    for i in 0..4 {
        post_inquiry(&s, i, &mut posted).await;
    }
    assert_each_once(&sink.wait_for(posted.len()).await, &posted);

    // SMTP goes down in the middle; inquiries keep being accepted.
    sink.stop().await;
    for i in 4..9 {
        post_inquiry(&s, i, &mut posted).await;
    }
    wait_mail_status(&s, "unavailable").await;

    // The chat server restarts on the same database while SMTP is still down.
    s.stop().await;
    let mut s = s.restart(|st| mail_to(st, &url)).await;
    for i in 9..12 {
        post_inquiry(&s, i, &mut posted).await;
    }
    wait_mail_status(&s, "unavailable").await;
    assert_eq!(
        sink.messages().len(),
        4,
        "nothing can arrive while SMTP is down"
    );

    // SMTP comes back: everything queued goes out, and nothing twice.
    sink.start().await;
    assert_each_once(&sink.wait_for(posted.len()).await, &posted);
    s.stop().await;
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_url_authenticate() {
    let mut sink = SmtpSink::new();
    sink.credentials = Some("mailer:pa ss@1".into());
    sink.start().await;
    // A wrong password: the server refuses, the inquiry stays queued.
    let wrong = format!("smtp://mailer:nope@127.0.0.1:{}", sink.port);
    let mut s = TestServer::start_with(|st| mail_to(st, &wrong)).await;
    let mut posted = Posted::new();
    post_inquiry(&s, 0, &mut posted).await;
    wait_mail_status(&s, "unavailable").await;
    s.stop().await;
    assert!(sink.messages().is_empty());

    // The right one, percent-encoded: the queued inquiry and a new one both go out.
    let right = format!("smtp://mailer:pa%20ss%401@127.0.0.1:{}", sink.port);
    let mut s = s.restart(|st| mail_to(st, &right)).await;
    post_inquiry(&s, 1, &mut posted).await;
    let messages = sink.wait_for(posted.len()).await;
    assert_each_once(&messages, &posted);
    assert!(
        messages.iter().all(|m| m["login"] == "mailer"),
        "{messages:#?}"
    );
    s.stop().await;
    sink.stop().await;
}

#[tokio::test]
async fn without_smtp_inquiries_are_stored_and_ready_says_mail_is_disabled() {
    let mut s = TestServer::start().await;
    let mut posted = Posted::new();
    post_inquiry(&s, 0, &mut posted).await;
    let (status, v) = s.anonymous().get("/ready").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["backends"]["mail"], "disabled", "{v}");
    s.stop().await;
}

/// A member's report reaches the operators by mail through the same outbox, with its evidence:
/// the reason, the detail and the room's messages, the reported one marked.
#[tokio::test]
async fn a_report_is_mailed_to_the_operators_with_its_evidence() {
    let mut sink = SmtpSink::new();
    sink.start().await;
    let url = sink.url();
    let server = TestServer::start_with(|s| mail_to(s, &url)).await;
    let (room, mut alice, mut bob) = pair(&server, "alice", "bob", "아이폰").await;
    bob.say(&room, "bob", "선입금 해주시면 바로 보내드려요", "r1")
        .await;
    let reported = alice.message().await["id"].as_i64().unwrap();
    drop(bob);
    let body =
        json!({"roomUUID": room, "messageId": reported, "reason": "SCAM", "detail": "선입금 요구"});
    let (status, v) = server
        .api("alice")
        .call("POST", "/report", Some(body.to_string().into_bytes()))
        .await;
    assert_eq!(status, 202, "{v}");
    let id = v["id"].as_i64().unwrap();
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let m = &mails[0];
    assert_eq!(m["rcpt_tos"], json!([TO]), "{m}");
    let subject = m["subject"].as_str().unwrap();
    assert!(subject.contains(&format!("신고 #{id} SCAM")), "{subject}");
    assert!(m["reply_to"].is_null(), "{m}");
    let text = m["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(text.contains("Reason: SCAM"), "{text}");
    assert!(text.contains("선입금 요구"), "{text}");
    assert!(
        text.contains(&format!(">> #{reported} ")) && text.contains("⚠ PREPAYMENT"),
        "the reported message is marked, with its warning: {text}"
    );
}

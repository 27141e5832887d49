//! The post-deploy check: what an authenticated `GET` on the batch
//! endpoint's path answers, the configuration in force. It is built from the
//! parsed configuration and what the runtime found bound, and names no
//! secret: the key, the admin token and the private key are never read here
//! (the types that hold them do not hand them out).

use crate::config::environment::Bindings;
use crate::config::{Config, Origin, Upstream};
use crate::json_text::Object;

/// The crate's version, built into the module.
pub const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version metadata binding's conventional name.
pub const VERSION_METADATA: &str = "CF_VERSION_METADATA";

/// The configuration in force, as JSON: the status check's answer.
pub fn status(config: &Config, bindings: &Bindings) -> String {
    let problems: Vec<String> = config.problems.iter().map(ToString::to_string).collect();
    let mode = if bindings.annotations_queue {
        "queue"
    } else {
        "direct"
    };
    let mut report = Object::new();
    report
        .raw("version", &version(bindings))
        .raw("annotation", &annotation(config))
        .str("mode", mode)
        .raw("queues", &queues(config, bindings))
        .raw("forwarding", &forwarding(config))
        .opt_str(
            "batch_endpoint",
            config.admin.as_ref().map(|a| a.path.as_str()),
        )
        .str("log_level", config.log_level.name())
        .bool("metrics", bindings.metrics)
        // The `config_invalid` messages: each bad variable and why.
        .strs("problems", problems.iter().map(String::as_str));
    report.finish()
}

/// The crate's version, and the Worker version's when it is bound (else `null`).
fn version(bindings: &Bindings) -> String {
    let mut version = Object::new();
    version.str("crate", CRATE_VERSION);
    match &bindings.version {
        Some(v) => {
            let mut worker = Object::new();
            worker
                .str("id", &v.id)
                .str("tag", &v.tag)
                .str("timestamp", &v.timestamp);
            version.raw("worker", &worker.finish())
        }
        None => version.raw("worker", "null"),
    };
    version.finish()
}

/// Whether annotation is on, where calls go and with which credential:
/// its kind and, for a service account, whose it is; never its value.
fn annotation(config: &Config) -> String {
    let api = config.api.as_ref().ok();
    let mut annotation = Object::new();
    annotation
        .bool("enabled", api.is_some())
        .opt_str("project", api.map(|api| api.project()))
        .opt_str("api_base", api.map(|api| api.base()));
    match api {
        Some(api) => {
            let mut credential = Object::new();
            credential.str("kind", api.credential_kind());
            if let Some(sa) = api.service_account() {
                credential
                    .str("client_email", &sa.account.client_email)
                    .str("auth_mode", sa.mode.name())
                    .str("token_uri", &sa.token_uri);
            }
            annotation.raw("credential", &credential.finish())
        }
        None => annotation.raw("credential", "null"),
    };
    annotation.finish()
}

fn queues(config: &Config, bindings: &Bindings) -> String {
    let mut queues = Object::new();
    queues
        .bool("annotations", bindings.annotations_queue)
        .bool("dead_letter", bindings.dead_letter_queue)
        // The queue whose batches are replays (`DEAD_LETTER_QUEUE`).
        .str("dead_letter_queue", &config.dead_letter_queue)
        .num("max_attempts", config.queue.max_attempts.into())
        .num("retry_base_seconds", config.queue.base_seconds.into())
        .num("retry_max_seconds", config.queue.max_delay_seconds.into());
    queues.finish()
}

/// `via`: `origin` (the runtime's fetch), `UPSTREAM` (the service binding)
/// or `invalid` (every request gets a 502); `origin`: `ORIGIN_URL`,
/// `request` (the request's own URL) or `invalid`.
fn forwarding(config: &Config) -> String {
    let via = match config.upstream {
        Upstream::Fetch => "origin",
        Upstream::Service => "UPSTREAM",
        Upstream::NotAService => "invalid",
    };
    let origin = match &config.origin {
        Origin::SameAsRequest => "request",
        Origin::Fixed(url) => url,
        Origin::Invalid => "invalid",
    };
    let mut forwarding = Object::new();
    forwarding.str("via", via).str("origin", origin);
    forwarding.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::environment::{Environment, UpstreamBinding, VarValue, WorkerVersion};
    use crate::config::{
        ADMIN_TOKEN, API_KEY, LOG_LEVEL, ORIGIN_URL, PROJECT_ID, SERVICE_ACCOUNT_KEY,
    };
    use crate::testing::test;
    use std::collections::HashMap;

    const KEY: &str = "AIzaSyStatusCheckSecretKey_0123456789ab";
    const ADMIN: &str = "status-admin-token-0123456789abcdef";
    const PRIVATE_KEY_BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC";

    fn config(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        Config::parse(|name| map.get(name).map(|v| (*v).to_owned()))
    }

    fn key_file() -> String {
        let der: String = std::iter::once(PRIVATE_KEY_BODY)
            .chain(std::iter::repeat_n("AAAA", 30))
            .collect();
        serde_json::json!({
            "type": "service_account",
            "private_key_id": "f00dfeedcafe0123",
            "private_key": format!("-----BEGIN PRIVATE KEY-----\n{der}\n-----END PRIVATE KEY-----\n"),
            "client_email": "annotator@p.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        })
        .to_string()
    }

    #[test]
    fn the_status_names_the_configuration_and_never_a_secret() {
        let file = key_file();
        let bindings = Bindings {
            annotations_queue: true,
            dead_letter_queue: true,
            metrics: true,
            version: Some(WorkerVersion {
                id: "a1b2c3d4-0000-4000-8000-000000000001".into(),
                tag: "v7".into(),
                timestamp: "2026-05-01T10:00:00.000Z".into(),
            }),
        };
        for vars in [
            vec![
                (PROJECT_ID, "my-project"),
                (API_KEY, KEY),
                (ADMIN_TOKEN, ADMIN),
            ],
            vec![
                (PROJECT_ID, "my-project"),
                (API_KEY, KEY),
                (SERVICE_ACCOUNT_KEY, file.as_str()),
                (ADMIN_TOKEN, ADMIN),
            ],
        ] {
            let c = config(&vars);
            let json = status(&c, &bindings);
            for secret in [
                KEY,
                ADMIN,
                PRIVATE_KEY_BODY,
                "f00dfeedcafe0123",
                "PRIVATE KEY",
            ] {
                assert!(!json.contains(secret), "{secret} in {json}");
            }
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v["annotation"]["project"], "my-project");
            assert_eq!(v["mode"], "queue");
            assert_eq!(v["version"]["crate"], CRATE_VERSION);
            assert_eq!(v["version"]["worker"]["tag"], "v7");
            assert_eq!(v["batch_endpoint"], "/.well-known/recaptcha-annotations");
            assert_eq!(v["metrics"], true);
        }
        let c = config(&[
            (PROJECT_ID, "my-project"),
            (SERVICE_ACCOUNT_KEY, &file),
            (ADMIN_TOKEN, ADMIN),
        ]);
        let v: serde_json::Value = serde_json::from_str(&status(&c, &Bindings::default())).unwrap();
        assert_eq!(
            v["annotation"]["credential"],
            serde_json::json!({
                "kind": "service_account",
                "client_email": "annotator@p.iam.gserviceaccount.com",
                "auth_mode": "exchange",
                "token_uri": "https://oauth2.googleapis.com/token",
            })
        );
        assert_eq!(v["mode"], "direct");
        assert_eq!(v["version"]["worker"], serde_json::Value::Null);
    }

    #[test]
    fn the_status_lists_every_problem_and_what_falls_back() {
        let vars = |name: &str| match name {
            API_KEY => Some(VarValue::Text("has spaces in it".into())),
            ORIGIN_URL => Some(VarValue::Text("https://user:hunter2@origin.example".into())),
            LOG_LEVEL => Some(VarValue::Text("verbose".into())),
            _ => None,
        };
        let c = Config::load(Environment {
            upstream: UpstreamBinding::Other,
            ..Environment::vars(vars)
        });
        let json = status(&c, &Bindings::default());
        assert!(
            !json.contains("hunter2") && !json.contains("has spaces"),
            "{json}"
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["annotation"]["enabled"], false);
        assert_eq!(v["annotation"]["credential"], serde_json::Value::Null);
        assert_eq!(
            v["forwarding"],
            serde_json::json!({"via": "invalid", "origin": "invalid"})
        );
        assert_eq!(v["log_level"], "info");
        let problems: Vec<&str> = v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().split(':').next().unwrap())
            .collect();
        assert_eq!(
            problems,
            ["ORIGIN_URL", "LOG_LEVEL", PROJECT_ID, API_KEY, "UPSTREAM"]
        );
    }
}

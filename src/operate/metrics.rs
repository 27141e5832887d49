//! What the optional Workers Analytics Engine binding `ANNOTATION_METRICS`
//! records: one data point per annotation that ended and one per outcome
//! that could not be sent, decided here from the event the worker logs. The
//! runtime only writes it, and a write that fails changes nothing else.
//!
//! Columns are positional: [`BLOBS`] and [`DOUBLES`] name them in order, as
//! the README's layout table does.

use std::borrow::Cow;

use crate::config::Config;
use crate::json_text::Object;
use crate::log::Event;
use crate::outcome::annotation::Reason;

/// The dataset binding's name; unbound, nothing is recorded.
pub const BINDING: &str = "ANNOTATION_METRICS";

/// `blob1`, `blob2`, … in order.
pub const BLOBS: [&str; 11] = [
    "outcome",
    "label",
    "reasons",
    "mode",
    "credential",
    "status_class",
    "error",
    "reason",
    "dead_lettered",
    "version",
    "rule",
];

/// `double1`, `double2`, … in order.
pub const DOUBLES: [&str; 3] = ["attempts", "lag_ms", "status"];

/// Analytics Engine's limits on one data point, as workerd checks them. The
/// blobs' total is documented as 16 KB; workerd's own check is 5,120 bytes,
/// and the lower one is kept.
pub const MAX_BLOBS: usize = 20;
pub const MAX_DOUBLES: usize = 20;
pub const MAX_BLOB_BYTES: usize = 5120;
pub const MAX_INDEX_BYTES: usize = 96;

/// The reasons column is cut to this many bytes (an outcome may repeat a
/// reason up to its own 8 KiB limit).
const MAX_REASONS_BYTES: usize = 256;
/// A version ID is a UUID, and Google's error status an enum name; anything
/// longer is cut.
const MAX_VERSION_BYTES: usize = 64;
const MAX_ERROR_BYTES: usize = 64;
/// A rule's name is at most 64 bytes already (`OUTCOME_RULES`).
const MAX_RULE_BYTES: usize = 64;

/// What every data point of an isolate says beyond its event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// `api_key` or `service_account`; empty while annotation is off.
    credential: &'static str,
    /// The Worker version's ID, when the version metadata binding is there.
    version: String,
}

impl Context {
    pub fn new(config: &Config, version_id: Option<&str>) -> Self {
        Context {
            credential: config.api.as_ref().map_or("", |api| api.credential_kind()),
            version: version_id
                .map(|v| cut(v, MAX_VERSION_BYTES).to_owned())
                .unwrap_or_default(),
        }
    }
}

/// One `writeDataPoint` argument, as JSON for the runtime to parse into an
/// object: `{"indexes":[…],"blobs":[…],"doubles":[…]}`.
#[derive(Debug, PartialEq)]
pub struct DataPoint(String);

impl DataPoint {
    fn new(index: &str, blobs: [&str; BLOBS.len()], doubles: [u64; DOUBLES.len()]) -> Self {
        let mut point = Object::new();
        point
            .strs("indexes", [index])
            .strs("blobs", blobs)
            .nums("doubles", &doubles);
        DataPoint(point.finish())
    }

    pub fn json(&self) -> &str {
        &self.0
    }
}

/// The data point `event` is recorded as, if any. The index is the outcome
/// (`delivered`, `rejected`, `gave_up`, `outcome_rejected`,
/// `outcome_dropped`, `rule_fired`, `rule_not_applied`): Analytics Engine
/// samples each index value on its own, so rare failures keep their
/// resolution beside many deliveries.
pub fn data_point(event: &Event, ctx: &Context) -> Option<DataPoint> {
    let not_sent = |outcome, reason, rule| {
        let blobs = [
            outcome,
            "",
            "",
            "",
            ctx.credential,
            "",
            "",
            reason,
            "false",
            &ctx.version,
            cut(rule, MAX_RULE_BYTES),
        ];
        DataPoint::new(outcome, blobs, [0; DOUBLES.len()])
    };
    match event {
        Event::Annotation {
            label,
            reasons,
            result,
            status,
            attempts,
            ms,
            error,
            network_error,
            auth_error,
            mode,
            dead_lettered,
            ..
        } => {
            let error = match (error, network_error, auth_error) {
                (Some(e), _, _) => cut(&e.status, MAX_ERROR_BYTES),
                (None, Some(_), _) => "network_error",
                (None, None, Some(_)) => "auth_error",
                (None, None, None) => "",
            };
            let outcome = result.name();
            let reasons = reasons_column(reasons);
            let blobs = [
                outcome,
                label.map_or("", |l| l.as_str()),
                &reasons,
                mode.name(),
                ctx.credential,
                status_class(*status),
                error,
                "",
                if *dead_lettered { "true" } else { "false" },
                &ctx.version,
                "",
            ];
            let doubles = [u64::from(*attempts), *ms, status.map_or(0, u64::from)];
            Some(DataPoint::new(outcome, blobs, doubles))
        }
        Event::OutcomeRejected { kind, .. } => Some(not_sent("outcome_rejected", kind, "")),
        Event::OutcomeDropped { reason, .. } => {
            Some(not_sent("outcome_dropped", reason.code(), ""))
        }
        // A rule's outcome then goes on as a header's, with its own points.
        Event::OutcomeFromRule {
            rule,
            account_missing,
            ..
        } => {
            let reason = if account_missing.is_some() {
                "account_missing"
            } else {
                ""
            };
            Some(not_sent("rule_fired", reason, rule))
        }
        Event::RuleNotApplied { rule, kind, .. } => Some(not_sent("rule_not_applied", kind, rule)),
        Event::OutcomeFromCache { .. } => Some(not_sent("outcome_dropped", "from_cache", "")),
        _ => None,
    }
}

fn status_class(status: Option<u16>) -> &'static str {
    match status.map(|s| s / 100) {
        None => "none",
        Some(1) => "1xx",
        Some(2) => "2xx",
        Some(3) => "3xx",
        Some(4) => "4xx",
        Some(5) => "5xx",
        Some(_) => "other",
    }
}

/// The reasons, comma-separated, at most [`MAX_REASONS_BYTES`] (then `,…`).
fn reasons_column(reasons: &[Reason]) -> Cow<'static, str> {
    match reasons {
        [] => "".into(),
        [one] => one.as_str().into(),
        _ => {
            let mut column = String::new();
            for reason in reasons {
                // Room is kept for the `,…` (4 bytes) that marks a cut.
                if column.len() + 1 + reason.as_str().len() > MAX_REASONS_BYTES - 4 {
                    column.push_str(",…");
                    break;
                }
                if !column.is_empty() {
                    column.push(',');
                }
                column.push_str(reason.as_str());
            }
            column.into()
        }
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{API_KEY, PROJECT_ID};
    use crate::delivery::result::{DeliveryResult, Mode};
    use crate::google::annotate_call::GoogleError;
    use crate::log::DropReason;
    use crate::outcome::annotation::Label;
    use crate::request::assessment_id::AssessmentId;
    use crate::testing::test;

    /// A data point read back: its index and its columns by name.
    struct Point(serde_json::Value);

    impl Point {
        fn of(event: &Event, ctx: &Context) -> Option<Point> {
            data_point(event, ctx).map(|p| Point(serde_json::from_str(p.json()).unwrap()))
        }
        fn index(&self) -> &str {
            self.0["indexes"][0].as_str().unwrap()
        }
        fn blob(&self, name: &str) -> &str {
            let i = BLOBS.iter().position(|b| *b == name).unwrap();
            self.0["blobs"][i].as_str().unwrap()
        }
        fn double(&self, name: &str) -> u64 {
            let i = DOUBLES.iter().position(|d| *d == name).unwrap();
            self.0["doubles"][i].as_u64().unwrap()
        }
    }

    fn context() -> Context {
        let config = Config::parse(|name| match name {
            PROJECT_ID => Some("p".into()),
            API_KEY => Some("k".into()),
            _ => None,
        });
        Context::new(&config, Some("a1b2c3d4-0000-4000-8000-000000000001"))
    }

    fn annotation(result: DeliveryResult) -> Event {
        Event::Annotation {
            assessment: AssessmentId::parse("bc304e08a0000000").unwrap(),
            label: Some(Label::Fraudulent),
            reasons: vec![Reason::IncorrectPassword],
            result,
            status: Some(200),
            attempts: 1,
            ms: 41,
            error: None,
            network_error: None,
            auth_error: None,
            mode: Mode::Direct,
            dead_lettered: false,
        }
    }

    #[test]
    fn a_delivered_annotation_is_one_point_indexed_by_its_result() {
        let ctx = context();
        let event = annotation(DeliveryResult::Delivered);
        assert_eq!(
            data_point(&event, &ctx).unwrap().json(),
            r#"{"indexes":["delivered"],"blobs":["delivered","FRAUDULENT","INCORRECT_PASSWORD","direct","api_key","2xx","","","false","a1b2c3d4-0000-4000-8000-000000000001",""],"doubles":[1,41,200]}"#
        );
    }

    #[test]
    fn a_failed_annotation_names_its_error_status_class_and_attempts() {
        let ctx = context();
        let mut rejected = annotation(DeliveryResult::Rejected);
        if let Event::Annotation {
            status,
            error,
            mode,
            dead_lettered,
            ..
        } = &mut rejected
        {
            *status = Some(403);
            *error = Some(GoogleError {
                code: 403,
                status: "PERMISSION_DENIED".into(),
                message: "denied".into(),
            });
            *mode = Mode::Queue;
            *dead_lettered = true;
        }
        let point = Point::of(&rejected, &ctx).unwrap();
        assert_eq!(point.index(), "rejected");
        assert_eq!(point.blob("status_class"), "4xx");
        assert_eq!(point.blob("error"), "PERMISSION_DENIED");
        assert_eq!(point.blob("mode"), "queue");
        assert_eq!(point.blob("dead_lettered"), "true");
        assert_eq!(point.double("status"), 403);

        let mut gave_up = annotation(DeliveryResult::GaveUp);
        if let Event::Annotation {
            status,
            attempts,
            ms,
            network_error,
            reasons,
            label,
            ..
        } = &mut gave_up
        {
            *status = None;
            *attempts = 8;
            *ms = 19_500;
            *network_error = Some("Network connection lost.".into());
            *reasons = vec![];
            *label = None;
        }
        let point = Point::of(&gave_up, &ctx).unwrap();
        assert_eq!(point.index(), "gave_up");
        assert_eq!(point.blob("status_class"), "none");
        assert_eq!(point.blob("error"), "network_error");
        assert_eq!((point.blob("label"), point.blob("reasons")), ("", ""));
        assert_eq!(point.double("attempts"), 8);
        assert_eq!(point.double("lag_ms"), 19_500);
        assert_eq!(point.double("status"), 0);
        assert!(!point.0.to_string().contains("Network connection lost"));
    }

    #[test]
    fn a_rejected_or_dropped_outcome_is_one_point_naming_why() {
        let ctx = context();
        let e = crate::outcome::parse_header("MAYBE").unwrap_err();
        let rejected = Event::outcome_rejected("X-Recaptcha-Outcome", &e);
        let point = Point::of(&rejected, &ctx).unwrap();
        assert_eq!(
            (point.index(), point.blob("reason")),
            ("outcome_rejected", "unknown_label")
        );
        // The origin's text never reaches a column.
        assert!(!point.0.to_string().contains("MAYBE"));
        let dropped = Event::OutcomeDropped {
            reason: DropReason::NoAssessmentId(crate::request::token_sources::Missing::NoToken),
            tokens_rejected: vec![],
            tokens_unlisted: 0,
            config_errors: vec![],
        };
        let point = Point::of(&dropped, &ctx).unwrap();
        assert_eq!(
            (point.index(), point.blob("reason")),
            ("outcome_dropped", "no_assessment_id")
        );
        assert_eq!(point.blob("credential"), "api_key");
    }

    #[test]
    fn a_fired_or_skipped_rule_is_one_point_naming_the_rule() {
        let fired = Event::OutcomeFromRule {
            rule: "form-password-wrong".into(),
            assessment: None,
            status: 200,
            account: None,
            account_missing: Some("the request has no such field".into()),
        };
        let point = Point::of(&fired, &context()).unwrap();
        assert_eq!(point.index(), "rule_fired");
        assert_eq!(
            (point.blob("rule"), point.blob("reason")),
            ("form-password-wrong", "account_missing")
        );
        assert!(!point.0.to_string().contains("no such field"));
        let skipped = Event::RuleNotApplied {
            rule: "api-password-right".into(),
            kind: "from_cache",
            reason: "the response was served from a cache".into(),
        };
        let point = Point::of(&skipped, &context()).unwrap();
        assert_eq!(point.index(), "rule_not_applied");
        assert_eq!(
            (point.blob("rule"), point.blob("reason")),
            ("api-password-right", "from_cache")
        );
    }

    #[test]
    fn an_outcome_from_a_cache_is_a_dropped_point_naming_the_cache() {
        let event = crate::outcome::cache::served_from_cache(Some("HIT"), None)
            .unwrap()
            .event();
        let point = Point::of(&event, &context()).unwrap();
        assert_eq!(
            (point.index(), point.blob("reason")),
            ("outcome_dropped", "from_cache")
        );
    }

    #[test]
    fn other_events_record_nothing() {
        let ctx = context();
        for event in [
            Event::AnnotationEnqueued {
                assessment: AssessmentId::parse("bc304e08a0000000").unwrap(),
                idempotency_key: "k".into(),
            },
            Event::WorkerError { error: "x".into() },
            Event::BatchReceived {
                accepted: 1,
                rejected: 0,
                mode: Mode::Direct,
            },
        ] {
            assert!(data_point(&event, &ctx).is_none(), "{event:?}");
        }
    }

    #[test]
    fn the_largest_point_fits_analytics_engine_limits() {
        let long = "x".repeat(500);
        let config = Config::parse(|name| match name {
            PROJECT_ID => Some("p".into()),
            API_KEY => Some("k".into()),
            _ => None,
        });
        let ctx = Context::new(&config, Some(&long));
        let mut event = annotation(DeliveryResult::GaveUp);
        if let Event::Annotation {
            reasons,
            status,
            error,
            ..
        } = &mut event
        {
            *reasons = Reason::ALL.iter().copied().cycle().take(400).collect();
            *status = Some(599);
            *error = Some(GoogleError {
                code: 599,
                status: long.clone(),
                message: long.clone(),
            });
        }
        let point = Point::of(&event, &ctx).unwrap();
        let json = &point.0;
        let blobs = json["blobs"].as_array().unwrap();
        let doubles = json["doubles"].as_array().unwrap();
        let indexes = json["indexes"].as_array().unwrap();
        let blob_bytes: usize = blobs.iter().map(|b| b.as_str().unwrap().len()).sum();
        assert!(blobs.len() <= MAX_BLOBS && doubles.len() <= MAX_DOUBLES);
        assert!(blob_bytes <= MAX_BLOB_BYTES, "{blob_bytes}");
        assert_eq!(indexes.len(), 1);
        assert!(indexes[0].as_str().unwrap().len() <= MAX_INDEX_BYTES);
        let reasons = point.blob("reasons");
        assert!(reasons.len() <= MAX_REASONS_BYTES && reasons.ends_with(",…"));
        assert_eq!(point.blob("version").len(), MAX_VERSION_BYTES);
        assert_eq!(point.blob("error").len(), MAX_ERROR_BYTES);
    }

    #[test]
    fn the_readme_layout_table_lists_the_columns_in_order() {
        let readme = include_str!("../../README.md");
        let mut rows = Vec::new();
        for (i, name) in BLOBS.iter().enumerate() {
            rows.push(format!("| `blob{}` | `{name}` |", i + 1));
        }
        for (i, name) in DOUBLES.iter().enumerate() {
            rows.push(format!("| `double{}` | `{name}` |", i + 1));
        }
        for row in rows {
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }
}

//! The annotation itself: Google's `AnnotateAssessmentRequest` body, typed.
//!
//! Every enum here holds only the values Google accepts *and* that carry
//! meaning (the `*_UNSPECIFIED` values and deprecated labels are left out), so
//! a body built from these types is accepted by Google's strict parser.

use serde::Serialize;

/// An enum whose variants map one-to-one onto Google's JSON enum names.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $api:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Google's JSON name for the value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $api),+ }
            }

            /// Exact match on Google's name, as Google's parser does.
            pub fn from_api_name(s: &str) -> Option<Self> {
                match s { $($api => Some($name::$variant),)+ _ => None }
            }

            /// Case-insensitive match, for the hand-written short header form.
            pub fn from_name_ignore_case(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

api_enum! {
    /// `annotation`: the verdict on the assessment.
    Label { Legitimate => "LEGITIMATE", Fraudulent => "FRAUDULENT" }
}

/// Labels Google still parses but has deprecated in favour of reasons.
pub const DEPRECATED_LABELS: &[&str] = &["PASSWORD_CORRECT", "PASSWORD_INCORRECT"];

api_enum! {
    /// `reasons[]`: what the site learned.
    Reason {
        Chargeback => "CHARGEBACK",
        ChargebackFraud => "CHARGEBACK_FRAUD",
        ChargebackDispute => "CHARGEBACK_DISPUTE",
        Refund => "REFUND",
        RefundFraud => "REFUND_FRAUD",
        TransactionAccepted => "TRANSACTION_ACCEPTED",
        TransactionDeclined => "TRANSACTION_DECLINED",
        PaymentHeuristics => "PAYMENT_HEURISTICS",
        InitiatedTwoFactor => "INITIATED_TWO_FACTOR",
        PassedTwoFactor => "PASSED_TWO_FACTOR",
        FailedTwoFactor => "FAILED_TWO_FACTOR",
        CorrectPassword => "CORRECT_PASSWORD",
        IncorrectPassword => "INCORRECT_PASSWORD",
        SocialSpam => "SOCIAL_SPAM",
    }
}

/// Pairs of reasons one annotation never carries together.
pub const CONTRADICTIONS: &[(Reason, Reason)] = &[
    (Reason::CorrectPassword, Reason::IncorrectPassword),
    (Reason::PassedTwoFactor, Reason::FailedTwoFactor),
    (Reason::TransactionAccepted, Reason::TransactionDeclined),
];

api_enum! {
    /// `transactionEvent.eventType`.
    TransactionEventType {
        MerchantApprove => "MERCHANT_APPROVE",
        MerchantDeny => "MERCHANT_DENY",
        ManualReview => "MANUAL_REVIEW",
        Authorization => "AUTHORIZATION",
        AuthorizationDecline => "AUTHORIZATION_DECLINE",
        PaymentCapture => "PAYMENT_CAPTURE",
        PaymentCaptureDecline => "PAYMENT_CAPTURE_DECLINE",
        Cancel => "CANCEL",
        ChargebackInquiry => "CHARGEBACK_INQUIRY",
        ChargebackAlert => "CHARGEBACK_ALERT",
        FraudNotification => "FRAUD_NOTIFICATION",
        Chargeback => "CHARGEBACK",
        ChargebackRepresentment => "CHARGEBACK_REPRESENTMENT",
        ChargebackReverse => "CHARGEBACK_REVERSE",
        RefundRequest => "REFUND_REQUEST",
        RefundDecline => "REFUND_DECLINE",
        Refund => "REFUND",
        RefundReverse => "REFUND_REVERSE",
    }
}

/// `transactionEvent.value`: a JSON number exactly as the origin wrote it.
/// Kept as text so Google parses the origin's digits itself: a round trip
/// through `f64` can change a number (serde_json's fast parser is 1 ULP off
/// for some inputs, found by fuzzing), and the text costs no float code.
#[derive(Clone, Debug, PartialEq)]
pub struct Amount(String);

impl Amount {
    /// A JSON number (`-12.5`, `1e3`) of magnitude below 1e308, so that it
    /// is finite as Google's double; anything else is `None`. Checked by
    /// hand: parsing it as `f64` would link 20 KB of float code for a check.
    pub fn parse(text: &str) -> Option<Self> {
        let magnitude = json_number_magnitude(text)?;
        (magnitude < 308).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Valid JSON by construction (checked in `parse`): written verbatim.
        serde_json::value::RawValue::from_string(self.0.clone())
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// The decimal exponent of a JSON number's leading digit (`0` for zero and
/// for `1.5`, `2` for `123`, `-3` for `0.001`), or `None` if `text` is not
/// exactly one JSON number (RFC 8259 section 6).
fn json_number_magnitude(text: &str) -> Option<i64> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = text.strip_prefix('-').unwrap_or(text);
    let int_len = digits(rest);
    let (int, rest) = rest.split_at(int_len);
    if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    let (frac, rest) = match rest.strip_prefix('.') {
        Some(r) => {
            let n = digits(r);
            (n > 0).then_some(())?;
            r.split_at(n)
        }
        None => ("", rest),
    };
    let exp: i64 = match rest.strip_prefix(['e', 'E']) {
        Some(r) => {
            let (negative, r) = match r.strip_prefix(['+', '-']) {
                Some(d) => (r.starts_with('-'), d),
                None => (false, r),
            };
            if r.is_empty() || digits(r) != r.len() {
                return None;
            }
            // Saturates: an exponent beyond i32 is out of range either way.
            let e = r
                .bytes()
                .fold(0i64, |e, b| (e * 10 + i64::from(b - b'0')).min(1 << 32));
            if negative {
                -e
            } else {
                e
            }
        }
        None if rest.is_empty() => 0,
        None => return None,
    };
    let leading = if int != "0" {
        int.len() as i64 - 1
    } else {
        match frac.bytes().position(|b| b != b'0') {
            Some(k) => -(k as i64) - 1,
            None => return Some(0), // zero, whatever the exponent
        }
    };
    Some(leading + exp)
}

/// `transactionEvent`: a payment lifecycle event.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransactionEvent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<TransactionEventType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Amount>,
    /// RFC 3339, validated by [`is_rfc3339`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
}

/// `phoneAuthenticationEvent`: an SMS/phone verification.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneAuthenticationEvent {
    /// E.164, validated by [`is_e164`].
    pub phone_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
}

/// The body of `projects.assessments.annotate`, exactly as it is sent.
/// Absent fields are omitted; the assessment itself travels in the path only.
#[derive(Clone, Debug, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    #[serde(rename = "annotation", skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Canonical (padded, standard alphabet) base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashed_account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_event: Option<TransactionEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_authentication_event: Option<PhoneAuthenticationEvent>,
}

impl Annotation {
    /// True when the call would tell Google nothing.
    pub fn is_empty(&self) -> bool {
        self.label.is_none()
            && self.reasons.is_empty()
            && self.account_id.is_none()
            && self.hashed_account_id.is_none()
            && self.transaction_event.is_none()
            && self.phone_authentication_event.is_none()
    }

    /// Adds a reason unless it is already present (order kept).
    pub fn push_reason(&mut self, reason: Reason) {
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    /// Two reasons that cannot both be true of one assessment, if the
    /// annotation has them: no origin means them together, and together
    /// they are what two outcome headers look like once joined with `, `.
    pub fn contradiction(&self) -> Option<(Reason, Reason)> {
        CONTRADICTIONS
            .iter()
            .copied()
            .find(|(a, b)| self.reasons.contains(a) && self.reasons.contains(b))
    }

    /// The JSON body sent to Google.
    pub fn to_json(&self) -> String {
        // Serializing plain structs, strings, enums and finite floats cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// RFC 3339 date-time as protobuf's JSON `Timestamp` accepts it:
/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let (Some(hour), Some(min), Some(sec)) = (digits(11..13), digits(14..16), digits(17..19))
    else {
        return false;
    };
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if year == 0 || day == 0 || day > days_in_month || hour > 23 || min > 59 || sec > 59 {
        return false;
    }
    let mut i = 19;
    if sep(i, b".") {
        let frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&frac) {
            return false;
        }
        i += 1 + frac;
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && sep(i + 3, b":")
                && digits(i + 1..i + 3).is_some_and(|h| h <= 23)
                && digits(i + 4..i + 6).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

/// E.164: `+`, a non-zero digit, then 1 to 14 more digits.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn body_uses_googles_field_names_and_omits_absent_fields() {
        let mut a = Annotation {
            label: Some(Label::Fraudulent),
            account_id: Some("u-42".into()),
            ..Default::default()
        };
        a.push_reason(Reason::IncorrectPassword);
        a.push_reason(Reason::IncorrectPassword);
        assert_eq!(
            a.to_json(),
            r#"{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"],"accountId":"u-42"}"#
        );
    }

    #[test]
    fn nested_events_serialize_in_camel_case() {
        let a = Annotation {
            transaction_event: Some(TransactionEvent {
                event_type: Some(TransactionEventType::Chargeback),
                reason: Some("6005".into()),
                value: Amount::parse("12.5"),
                event_time: Some("2026-11-01T10:00:00Z".into()),
            }),
            phone_authentication_event: Some(PhoneAuthenticationEvent {
                phone_number: "+15551234567".into(),
                event_time: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            a.to_json(),
            r#"{"transactionEvent":{"eventType":"CHARGEBACK","reason":"6005","value":12.5,"eventTime":"2026-11-01T10:00:00Z"},"phoneAuthenticationEvent":{"phoneNumber":"+15551234567"}}"#
        );
    }

    #[test]
    fn amounts_are_finite_json_numbers_kept_as_written() {
        for ok in [
            "0",
            "-0",
            "12.5",
            "19.99",
            "1e3",
            "-1.5E-7",
            "3.3333333333333334e+31",
        ] {
            assert_eq!(Amount::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "", "-", "1.", ".5", "01", "+1", "1e", "0x10", "NaN", "inf", "1e400", "1_000", "\"1\"",
        ] {
            assert_eq!(Amount::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_reason_round_trips_through_its_api_name() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_api_name(r.as_str()), Some(*r));
            assert_eq!(
                Reason::from_name_ignore_case(&r.as_str().to_lowercase()),
                Some(*r)
            );
        }
        assert_eq!(Reason::ALL.len(), 14);
        assert_eq!(TransactionEventType::ALL.len(), 18);
        assert_eq!(Reason::from_api_name("REASON_UNSPECIFIED"), None);
    }

    #[test]
    fn rfc3339_accepts_protobuf_timestamps_only() {
        for ok in [
            "2026-11-01T10:00:00Z",
            "2024-02-29T23:59:59.123456789+05:30",
            "2026-01-31t00:00:00.5-08:00",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2026-11-01",
            "2026-11-01 10:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-01T24:00:00Z",
            "2026-11-01T10:00:00",
            "2026-11-01T10:00:00.Z",
            "2026-11-01T10:00:00.1234567890Z",
            "2026-11-01T10:00:00+0530",
            "2026-11-01T10:00:00Z ",
            "２026-11-01T10:00:00Z",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn e164_numbers_only() {
        assert!(is_e164("+15551234567"));
        assert!(!is_e164("15551234567"));
        assert!(!is_e164("+05551234567"));
        assert!(!is_e164("+1555123456789012"));
        assert!(!is_e164("+1 555 123"));
    }
}

use super::*;
use crate::testing::test;

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn set(text: &str) -> RuleSet {
    RuleSet::parse(text, Some(KEY)).unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(text: &str) -> Vec<String> {
    RuleSet::parse(text, None)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Headers as a lookup, lower-case names.
fn response<'a>(
    status: u16,
    headers: &'a [(&'a str, &'a str)],
    from_cache: bool,
) -> (u16, impl Fn(&str) -> Option<String> + 'a, bool) {
    let lookup = move |name: &str| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    (status, lookup, from_cache)
}

fn decide<'a>(
    rules: &'a RuleSet,
    method: &str,
    path: &str,
    status: u16,
    headers: &[(&str, &str)],
) -> Option<&'a str> {
    let (status, header, from_cache) = response(status, headers, false);
    let facts = ResponseFacts {
        status,
        header: &header,
        from_cache,
    };
    match rules.decide(rules.candidates(method, path), &facts) {
        Decision::Fire(rule) => Some(rule.name.as_str()),
        _ => None,
    }
}

const LOGIN: &str = r#"[
  {"name":"login-failed","method":"POST","path":"/api/login","status":401,
   "outcome":"FRAUDULENT; reasons=INCORRECT_PASSWORD","account":{"json":"email","lowercase":true}},
  {"name":"login-ok","method":"POST","path":"/api/login","status":[200,"204"],
   "outcome":{"annotation":"LEGITIMATE","reasons":["CORRECT_PASSWORD"]}},
  {"name":"form-failed","method":"post","path":"/login","status":"2xx","headers":{"X-Login-Failed":true},
   "outcome":"reasons=INCORRECT_PASSWORD","account":{"form":"username","hash":true}},
  {"name":"form-ok","method":["POST"],"path":"/login","status":"301-303","location":"/account/**",
   "outcome":"LEGITIMATE; reasons=CORRECT_PASSWORD","account":{"header":"X-User"}}
]"#;

#[test]
fn the_first_rule_whose_request_and_response_match_fires() {
    let rules = set(LOGIN);
    assert_eq!(
        decide(&rules, "POST", "/api/login", 401, &[]),
        Some("login-failed")
    );
    assert_eq!(
        decide(&rules, "POST", "/api/login", 204, &[]),
        Some("login-ok")
    );
    assert_eq!(decide(&rules, "POST", "/api/login", 500, &[]), None);
    assert_eq!(decide(&rules, "GET", "/api/login", 401, &[]), None);
    assert_eq!(
        decide(&rules, "post", "/api/login", 401, &[]),
        Some("login-failed")
    );
    assert_eq!(decide(&rules, "POST", "/api/login/", 401, &[]), None);
}

#[test]
fn a_marker_header_decides_between_two_rules_on_one_status() {
    let rules = set(LOGIN);
    let marked = [("x-login-failed", "1")];
    assert_eq!(
        decide(&rules, "POST", "/login", 200, &marked),
        Some("form-failed")
    );
    assert_eq!(decide(&rules, "POST", "/login", 200, &[]), None);
    let equals = set(
        r#"[{"name":"n","method":"POST","path":"/p","status":200,"headers":{"X-Result":"failed","X-Other":false},"outcome":"FRAUDULENT"}]"#,
    );
    assert_eq!(
        decide(&equals, "POST", "/p", 200, &[("x-result", " failed ")]),
        Some("n")
    );
    assert_eq!(
        decide(&equals, "POST", "/p", 200, &[("x-result", "ok")]),
        None
    );
    assert_eq!(
        decide(
            &equals,
            "POST",
            "/p",
            200,
            &[("x-result", "failed"), ("x-other", "")]
        ),
        None
    );
}

#[test]
fn a_redirect_rule_compares_the_location_path() {
    let rules = set(LOGIN);
    let to = |l| [("location", l)];
    assert_eq!(
        decide(&rules, "POST", "/login", 303, &to("/account/home")),
        Some("form-ok")
    );
    assert_eq!(
        decide(
            &rules,
            "POST",
            "/login",
            302,
            &to("https://shop.example/account/?x=1")
        ),
        Some("form-ok")
    );
    assert_eq!(
        decide(&rules, "POST", "/login", 302, &to("/challenge")),
        None
    );
    assert_eq!(decide(&rules, "POST", "/login", 302, &[]), None);
}

#[test]
fn a_response_from_a_cache_fires_no_rule() {
    let rules = set(LOGIN);
    let (status, header, _) = response(401, &[], true);
    let facts = ResponseFacts {
        status,
        header: &header,
        from_cache: true,
    };
    let c = rules.candidates("POST", "/api/login");
    assert!(matches!(rules.decide(c, &facts), Decision::FromCache(r) if r.name == "login-failed"));
}

#[test]
fn only_rules_with_a_body_account_read_the_body() {
    let rules = set(LOGIN);
    assert!(rules.needs_body(rules.candidates("POST", "/api/login")));
    assert!(rules.needs_body(rules.candidates("POST", "/login")));
    assert!(!rules.needs_body(rules.candidates("POST", "/other")));
    assert!(rules.candidates("GET", "/login").is_empty());
    assert!(rules.has_method("post") && !rules.has_method("GET"));
    let c = rules.candidates("POST", "/login");
    assert_eq!(rules.account_headers(c).collect::<Vec<_>>(), ["X-User"]);
}

#[test]
fn a_fired_rule_sends_its_outcome_with_the_account() {
    let rules = set(LOGIN);
    let [failed, _, form_failed, form_ok] = rules.rules() else {
        panic!()
    };
    let fired = rules.outcome(failed, Some(Ok(" Ann@Shop.example ".into())));
    assert_eq!(fired.account, Some(AccountKind::Json));
    assert_eq!(
        fired.outcome.unwrap().annotation.to_json(),
        r#"{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"],"accountId":"ann@shop.example"}"#
    );
    let hashed = rules
        .outcome(form_failed, Some(Ok("ann".into())))
        .outcome
        .unwrap();
    let expected = hmac_sha256_base64(KEY.as_bytes(), "ann");
    assert_eq!(
        hashed.annotation.hashed_account_id.as_deref(),
        Some(expected.as_str())
    );
    assert_eq!(hashed.annotation.account_id, None);
    let plain = rules
        .outcome(form_ok, Some(Ok("u-42".into())))
        .outcome
        .unwrap();
    assert_eq!(plain.annotation.account_id.as_deref(), Some("u-42"));
}

#[test]
fn a_missing_account_sends_the_outcome_without_one_and_says_why() {
    let rules = set(LOGIN);
    let fired = rules.outcome(&rules.rules()[0], Some(Err(Missing::NotFound)));
    assert_eq!(
        (fired.account, fired.account_missing),
        (None, Some(Missing::NotFound))
    );
    assert_eq!(
        fired.outcome.unwrap().annotation.to_json(),
        r#"{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}"#
    );
}

#[test]
fn an_account_with_a_semicolon_stays_one_value() {
    // Text inside the account can never become another parameter.
    let rules = set(LOGIN);
    let sneaky = "x; assessment=bc304e08a0000000";
    let o = rules
        .outcome(&rules.rules()[3], Some(Ok(sneaky.into())))
        .outcome
        .unwrap();
    assert_eq!(o.assessment, None);
    assert_eq!(o.annotation.account_id.as_deref(), Some(sneaky));
}

#[test]
fn an_invalid_rule_is_named_with_its_index_and_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":401}]"#,
            r#"rule 0 ("a"): outcome: is required"#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"x","status":401,"outcome":"FRAUDULENT"}]"#,
            r#"rule 0 ("a"): path: must start with '/'"#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":700,"outcome":"FRAUDULENT"}]"#,
            r#"rule 0 ("a"): status: "700" is not a status"#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":401,"outcome":"MAYBE"}]"#,
            r#"rule 0 ("a"): outcome: unknown label"#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":401,"outcome":"LEGITIMATE; assessment=bc304e08a0000000"}]"#,
            r#"rule 0 ("a"): outcome: must not name an assessment"#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":401,"outcome":"LEGITIMATE; account-id=u"}]"#,
            r#"rule 0 ("a"): outcome: must not hold an account"#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":401,"outcome":"LEGITIMATE","stauts":1}]"#,
            r#"rule 0 ("a"): unknown field "stauts""#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":401,"outcome":"LEGITIMATE","account":{"form":"u","hash":true}}]"#,
            r#"rule 0 ("a"): account: hash: needs the OUTCOME_RULES_HASH_KEY secret"#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":401,"outcome":"LEGITIMATE","account":{"form":"u","header":"X-U"}}]"#,
            r#"rule 0 ("a"): account: must name one source"#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":[],"outcome":"LEGITIMATE"}]"#,
            r#"rule 0 ("a"): status: must not be empty"#,
        ),
        (
            r#"[{"name":"a","method":"PO ST","path":"/x","status":200,"outcome":"LEGITIMATE"}]"#,
            r#"rule 0 ("a"): method: "PO ST" is not a method"#,
        ),
        (
            r#"[{"name":"a","method":"POST","path":"/x","status":200,"headers":{"X Y":true},"outcome":"LEGITIMATE"}]"#,
            r#"rule 0 ("a"): headers: "X Y" is not a header name"#,
        ),
        (r#"[{"method":"POST"}]"#, r#"rule 0: name: is required"#),
        (r#"[7]"#, r#"rule 0: must be an object, not a number"#),
        (
            r#"{"name":"a"}"#,
            r#"must be a JSON array of rules, not an object"#,
        ),
        (
            r#"[{"name":"a","name":"b"}]"#,
            r#"rule 0: member "name" given twice"#,
        ),
        ("[", "is not JSON"),
    ];
    for (text, want) in cases {
        let got = errors(text);
        assert!(got.iter().any(|e| e.starts_with(want)), "{text}: {got:?}");
    }
}

#[test]
fn every_invalid_rule_is_named_and_names_are_unique() {
    let text = r#"[
      {"name":"a","method":"POST","path":"/x","status":401,"outcome":"FRAUDULENT"},
      {"name":"a","method":"POST","path":"/y","status":401,"outcome":"FRAUDULENT"},
      {"name":"c","method":"POST","path":"/z","status":401,"outcome":"NOPE"}
    ]"#;
    let got = errors(text);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with(r#"rule 1 ("a"): name: is the name of an earlier rule"#));
    assert!(got[1].starts_with(r#"rule 2 ("c"): outcome:"#));
}

#[test]
fn a_rule_cannot_say_what_the_header_cannot() {
    // The header's own checks apply: an empty outcome, a deprecated label.
    let e = errors(
        r#"[{"name":"a","method":"POST","path":"/x","status":200,"outcome":"PASSWORD_CORRECT"}]"#,
    );
    assert!(e[0].contains("deprecated"), "{e:?}");
    let e = errors(r#"[{"name":"a","method":"POST","path":"/x","status":200,"outcome":{}}]"#);
    assert!(e[0].contains("nothing to send"), "{e:?}");
}

#[test]
fn a_short_hash_key_is_refused_without_being_quoted() {
    let rules = r#"[{"name":"a","method":"POST","path":"/x","status":200,"outcome":"LEGITIMATE","account":{"form":"u","hash":true}}]"#;
    let e = RuleSet::parse(rules, Some("short-secret")).unwrap_err();
    let text = e[0].to_string();
    assert!(
        text.contains("OUTCOME_RULES_HASH_KEY must be at least"),
        "{text}"
    );
    assert!(!text.contains("short-secret"));
    assert!(!format!("{:?}", set(rules)).contains(KEY));
}

#[test]
fn too_many_or_too_long_rules_are_refused() {
    let one = r#"{"name":"r","method":"POST","path":"/x","status":200,"outcome":"LEGITIMATE"}"#;
    let many = format!("[{}]", vec![one; MAX_RULES + 1].join(","));
    assert!(errors(&many)[0].contains("more than 64"));
    let long = format!("[{}]", " ".repeat(MAX_RULES_LEN));
    assert!(errors(&long)[0].contains("longer than"));
}

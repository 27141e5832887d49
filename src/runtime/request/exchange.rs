//! One request's context, carried through the proxy's phases as pingora's
//! per-request `CTX` is: the request phase finds the assessment ID and
//! forwards, the response phase takes the outcome out, and the annotation
//! phase sends it after the response.

use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys, Context, Env, Queue, Result};

use crate::config::{Config, Origin, Upstream};
use crate::delivery::dedup::AnnotationKey;
use crate::delivery::envelope::Envelope;
use crate::delivery::plan::{
    self, AnnotationPlan, Annotator, Dispatch, OriginResponse, ResponseHeader, ResponsePlan, Via,
};
use crate::delivery::retry::RetryPolicy;
use crate::delivery::Delivery;
use crate::outcome::Outcome;
use crate::request::assessment_id::AssessmentId;
use crate::request::hop::Hop;
use crate::request::loop_guard::{Loop, Refusal};
use crate::request::token_sources::{self, Extraction, TokenRequest};
use crate::runtime::bindings::{self, forward, header_get, Names, PendingResponse, Service};
use crate::runtime::clock::now_ms;
use crate::runtime::delivery::dedup;
use crate::runtime::delivery::direct;
use crate::runtime::delivery::queue;
use crate::runtime::log;
use crate::runtime::outcome::rules::{self, RuleRequest};
use crate::runtime::request::responses::{plain_text, without_header};
use crate::url::origin_request_url;

pub struct Exchange {
    config: &'static Config,
    names: &'static Names,
    /// The request's assessment ID, and the token sources passed over.
    extraction: Extraction,
    /// The `UPSTREAM` service binding, when requests go through it.
    upstream: Option<Service>,
    /// Whether the request is one the worker sent itself, come back.
    looped: Option<Loop>,
    env: Env,
    ctx: Context,
    /// What outcome rules that may apply took from the request.
    rules: Option<RuleRequest>,
}

impl Exchange {
    /// Request phase: reads the request's tokens.
    pub fn begin(req: &web_sys::Request, config: &'static Config, env: Env, ctx: Context) -> Self {
        let names = bindings::names(config);
        let incoming = req.headers();
        // Only what the WAF's rules need is read at all.
        let rules = &config.token_rules;
        let read = |needed: bool, name| {
            needed
                .then(|| header_get(&incoming, name).ok().flatten())
                .flatten()
        };
        let looped = names.loop_guard.detect(
            header_get(&incoming, &names.loop_header)
                .ok()
                .flatten()
                .as_deref(),
        );
        let header = read(rules.reads_header(), &names.token);
        let cookie = read(rules.reads_cookies(), &names.cookie);
        let method = rules.reads_method().then(|| req.method());
        let extraction = token_sources::select(
            rules,
            &TokenRequest {
                method: method.as_deref().unwrap_or_default(),
                header: header.as_deref(),
                cookie: cookie.as_deref(),
            },
        );
        let upstream = crate::runtime::config::upstream_service();
        Exchange {
            config,
            names,
            extraction,
            upstream,
            looped,
            env,
            ctx,
            rules: rules::begin(req, config),
        }
    }

    pub fn config(&self) -> &'static Config {
        self.config
    }

    /// The assessment the request's token names, if any.
    pub fn assessment_id(&self) -> Option<AssessmentId> {
        self.extraction.id()
    }

    /// The annotation phase's own handle, for work that outlives the
    /// response phase (an account read from the request body).
    pub fn detached(&self) -> Exchange {
        Exchange {
            config: self.config,
            names: self.names,
            extraction: self.extraction.clone(),
            upstream: None,
            looped: None,
            env: self.env.clone(),
            ctx: Context::new(JsValue::from(self.ctx.as_ref()).unchecked_into()),
            rules: None,
        }
    }

    /// Keeps the request alive until `work` ends, after the response.
    pub fn wait_until(&self, work: impl std::future::Future<Output = ()> + 'static) {
        self.ctx.wait_until(work);
    }

    /// The response is made: the isolate's first line may be written.
    pub fn response_made(&self) {
        crate::runtime::config::log_first_line_soon(self.ctx.as_ref());
    }

    /// Where the request is passed on.
    pub fn hop(&self) -> Hop {
        match self.upstream {
            Some(_) => Hop::Upstream,
            None => Hop::Origin,
        }
    }

    /// The answer to a request that went round, instead of passing it on.
    pub fn refuse_loop(&self) -> Option<Refusal> {
        let config = self.config;
        self.looped.map(|found| {
            self.names
                .loop_guard
                .refuse(found, &config.origin, config.upstream, config.api.is_ok())
        })
    }

    /// The URL the request is passed on with, or why it cannot be (the
    /// client gets a 502 with this text).
    pub fn target_url(&self, req: &web_sys::Request) -> std::result::Result<String, &'static str> {
        if self.config.upstream == Upstream::NotAService {
            return Err("Bad gateway: UPSTREAM is not a service binding\n");
        }
        match &self.config.origin {
            Origin::SameAsRequest => Ok(req.url()),
            Origin::Fixed(origin) => Ok(origin_request_url(origin, &req.url())),
            Origin::Invalid => Err("Bad gateway: origin misconfigured\n"),
        }
    }

    /// Request phase: the client's request, unchanged but for the control
    /// headers and the loop mark, with its body streamed, its `cf` carried
    /// and redirects handed back rather than followed, to the origin or
    /// through the `UPSTREAM` service binding.
    ///
    /// Usually `fetch(url, { method, headers, body, cf, redirect })`, as the
    /// simplest pass-through Worker does, built in one call to JS rather
    /// than a call per header and field. `new Request(url, request)` would
    /// copy the same things but cost about as much CPU again as the fetch
    /// itself (profiled), so it is kept for what an init cannot carry: a GET
    /// or HEAD with a body (legal HTTP; an init with one throws "cannot have
    /// a body").
    pub fn forward(
        &self,
        req: &web_sys::Request,
        url: &str,
    ) -> std::result::Result<PendingResponse, JsValue> {
        // A body an outcome rule reads is teed: one branch is the origin's
        // (undefined: the request's own).
        let body = self.rules.as_ref().and_then(|r| r.forward_body.clone());
        let body = body.map_or(JsValue::UNDEFINED, JsValue::from);
        let id = self.extraction.id();
        let id = id.as_ref().map(AssessmentId::as_str);
        let service = self.upstream.as_ref();
        forward(service, req, url, body, &self.names.edits, id)
    }

    /// Response phase: performs the plan for the origin's response.
    pub fn respond(&self, from_origin: web_sys::Response) -> Result<web_sys::Response> {
        let headers = from_origin.headers();
        let get = |name: &js_sys::JsString| header_get(&headers, name).ok().flatten();
        let header = |name| match name {
            ResponseHeader::Outcome => get(&self.names.outcome),
            ResponseHeader::CacheStatus => get(&"cf-cache-status".into()),
            ResponseHeader::Age => get(&"age".into()),
        };
        let response = OriginResponse {
            status: from_origin.status(),
            header: &header,
        };
        match plan::respond(self.config, &response) {
            ResponsePlan::Refuse {
                status,
                body,
                event,
            } => {
                log::emit(&event);
                plain_text(status, body)
            }
            ResponsePlan::Relay => {
                // Rules that may apply to the request decide on the response.
                if let Some(request) = &self.rules {
                    rules::respond(self, request, &from_origin);
                }
                Ok(from_origin)
            }
            ResponsePlan::Strip(outcome) => {
                match outcome {
                    Ok(outcome) => self.send(outcome),
                    Err(event) => log::emit(&event),
                }
                without_header(&from_origin, &self.names.outcome)
            }
        }
    }

    /// Annotation phase: performs the plan for a valid outcome (the origin's
    /// or a rule's): the line, or the annotation handed to the queue or to
    /// direct delivery under `waitUntil`.
    pub fn send(&self, outcome: Outcome) {
        let plan = dedup::with(|recent| {
            let annotator = Annotator {
                config: self.config,
                extraction: &self.extraction,
                recent,
                now_ms: now_ms(),
            };
            annotator.plan(outcome, || queue::producer(&self.env))
        });
        let Dispatch { delivery, key, via } = match plan {
            AnnotationPlan::Nothing(event) => return log::emit(&event),
            AnnotationPlan::Send(dispatch) => dispatch,
        };
        let policy = &self.config.direct;
        match via {
            Via::Queue(queue, envelope) => {
                let queued = send_queued(queue, envelope, delivery, key, policy);
                self.ctx.wait_until(queued);
            }
            Via::Direct => {
                // Only throws outside a request, which this is not.
                let _ = (self.ctx.as_ref()).wait_until(&deliver(delivery, key, policy));
            }
        }
    }
}

/// Direct delivery; should it give up, an identical outcome may try again
/// rather than be suppressed.
fn deliver(
    delivery: Delivery<'static>,
    key: AnnotationKey,
    policy: &'static RetryPolicy,
) -> js_sys::Promise {
    direct::deliver_as_promise(delivery, policy, move || dedup::forget(key))
}

/// Queue mode, after the response: enqueues, then performs what follows.
async fn send_queued(
    queue: Queue,
    envelope: Envelope,
    delivery: Delivery<'static>,
    key: AnnotationKey,
    policy: &'static RetryPolicy,
) {
    let refused = queue::enqueue(&queue, &envelope, 0).await.err();
    let after = plan::enqueued(&envelope, refused.map(|e| e.to_string()));
    log::emit(&after.event);
    if after.deliver_directly {
        // Settles when the delivery ends; it never rejects.
        let _ = JsFuture::from(deliver(delivery, key, policy)).await;
    }
}

impl rules::Host for Exchange {
    fn config(&self) -> &'static Config {
        Exchange::config(self)
    }

    fn assessment_id(&self) -> Option<AssessmentId> {
        Exchange::assessment_id(self)
    }

    fn detached(&self) -> Self {
        Exchange::detached(self)
    }

    fn wait_until(&self, work: impl std::future::Future<Output = ()> + 'static) {
        Exchange::wait_until(self, work)
    }

    fn send(&self, outcome: Outcome) {
        Exchange::send(self, outcome)
    }
}

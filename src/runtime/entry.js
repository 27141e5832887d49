// The Worker's entry module: the Rust exports are the handlers.
//
// workerd calls fetch(request, env, ctx) and queue(batch, env, ctx) on this
// object. worker-build's generated entry instead constructed a
// WorkerEntrypoint per request behind two Proxies and an extra async wrapper,
// which cost about 15 µs of CPU per request (BENCHMARKS.md). Recovery after
// a panic does not depend on it: wasm-bindgen's glue (built with
// --experimental-reset-state-function and --force-enable-abort-handler)
// re-instantiates the module on the next call after an abort.
import { fetch, queue } from './index.js';

// As worker-build's entry had it: logged stack traces keep their depth.
Error.stackTraceLimit = 100;

export default { fetch, queue };

// Where the wasm's bytes go: reads a module built with its name section
// (`KEEP_NAMES=1 scripts/build.sh` writes target/build-names/), parses the
// sections, the code section's function bodies and the data segments, names
// each function from the name section, demangles Rust symbols enough to tell
// their crate, and totals per crate. Every byte of the file is counted once:
// the section table adds up to the file's size.
//
//   node bench/size.mjs [file]        (default target/build-names/index_bg.wasm)
//
// bench/run.mjs puts the same tables in BENCHMARKS.md under "Size".

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const NAMES_BUILD = path.join(ROOT, 'target', 'build-names', 'index_bg.wasm');

const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'data count', 'tag'];

/** A reader over the module's bytes. */
function reader(bytes, at = 0) {
  const r = {
    at,
    u8: () => bytes[r.at++],
    uleb() {
      let n = 0;
      for (let shift = 0; ; shift += 7) {
        const b = bytes[r.at++];
        n += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return n;
      }
    },
    sleb() {
      for (;;) if (bytes[r.at++] < 0x80) return;
    },
    name() {
      const len = r.uleb();
      const s = Buffer.from(bytes.subarray(r.at, r.at + len)).toString('utf8');
      r.at += len;
      return s;
    },
    /** Skips a constant expression up to its `end`. */
    expr() {
      for (;;) {
        const op = r.u8();
        if (op === 0x0b) return;
        if (op === 0x41 || op === 0x42) r.sleb(); // i32/i64.const
        else if (op === 0x23 || op === 0xd2) r.uleb(); // global.get, ref.func
        else if (op === 0x44) r.at += 8; // f64.const
        else if (op === 0x43) r.at += 4; // f32.const
        else if (op === 0xd0) r.u8(); // ref.null type
        else throw new Error(`unexpected opcode 0x${op.toString(16)} in a constant expression at ${r.at - 1}`);
      }
    },
  };
  return r;
}

/** Imported functions come first in the function index space. */
function importedFunctions(bytes, s) {
  const r = reader(bytes, s.payload);
  let funcs = 0;
  for (let n = r.uleb(); n > 0; n--) {
    r.name();
    r.name();
    const kind = r.u8();
    if (kind === 0) { r.uleb(); funcs++; } // function: type index
    else if (kind === 1) { r.u8(); limits(r); } // table: reftype, limits
    else if (kind === 2) limits(r); // memory
    else if (kind === 3) { r.u8(); r.u8(); } // global: type, mutability
    else if (kind === 4) { r.u8(); r.uleb(); } // tag: attribute, type
  }
  return funcs;
}

function limits(r) {
  const flags = r.u8();
  r.uleb();
  if (flags & 1) r.uleb();
}

/** Name-section maps: function index → name (subsection 1), data index → name (9). */
function nameMaps(bytes, s) {
  const r = reader(bytes, s.payload);
  r.name(); // "name"
  const maps = { 1: new Map(), 9: new Map() };
  while (r.at < s.end) {
    const id = r.u8();
    const size = r.uleb();
    const end = r.at + size;
    if (maps[id]) {
      for (let n = r.uleb(); n > 0; n--) maps[id].set(r.uleb(), r.name());
    }
    r.at = end;
  }
  return { functions: maps[1], data: maps[9] };
}

/**
 * The module's sections (each with its whole size: id, size field and
 * payload), function bodies and data segments (payload bytes, and the bytes
 * around them: counts, size fields, segment headers).
 */
export function parseModule(bytes) {
  if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm module');
  const sections = [];
  const r = reader(bytes, 8);
  while (r.at < bytes.length) {
    const start = r.at;
    const id = r.u8();
    const size = r.uleb();
    const payload = r.at;
    const s = { id, name: SECTION_NAMES[id] ?? `section ${id}`, start, payload, end: payload + size, bytes: payload + size - start };
    if (id === 0) s.name = `custom "${reader(bytes, payload).name()}"`;
    sections.push(s);
    r.at = s.end;
  }
  const byId = (id) => sections.find((s) => s.id === id);
  const names = sections.find((s) => s.name === 'custom "name"');
  const { functions: fnNames, data: dataNames } = names ? nameMaps(bytes, names) : { functions: new Map(), data: new Map() };
  const imports = byId(2) ? importedFunctions(bytes, byId(2)) : 0;
  const exported = new Set();
  if (byId(7)) {
    const e = reader(bytes, byId(7).payload);
    for (let n = e.uleb(); n > 0; n--) {
      e.name();
      const kind = e.u8();
      const index = e.uleb();
      if (kind === 0) exported.add(index);
    }
  }
  const functions = [];
  const code = byId(10);
  if (code) {
    const c = reader(bytes, code.payload);
    for (let i = 0, n = c.uleb(); i < n; i++) {
      const size = c.uleb();
      functions.push({ index: imports + i, name: fnNames.get(imports + i) ?? null, bytes: size, exported: exported.has(imports + i) });
      c.at += size;
    }
  }
  const data = [];
  const dataSection = byId(11);
  if (dataSection) {
    const d = reader(bytes, dataSection.payload);
    for (let i = 0, n = d.uleb(); i < n; i++) {
      const flags = d.uleb();
      if (flags === 2) d.uleb(); // memory index
      if (flags !== 1) d.expr(); // active: the offset
      const size = d.uleb();
      data.push({ index: i, name: dataNames.get(i) ?? null, bytes: size });
      d.at += size;
    }
  }
  return { size: bytes.length, sections, functions, data, importedFunctions: imports };
}

// ---------------------------------------------------------------------------
// Names

const LEGACY_ESCAPES = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' };

/**
 * A Rust symbol as a path: legacy mangling (`_ZN…E`) decoded, or the
 * demangled text the linker writes into the name section; the trailing
 * hash (`::h0123456789abcdef`) dropped either way.
 */
export function demangle(symbol) {
  let s = symbol;
  const m = /^_?_ZN(.*)E$/.exec(s);
  if (m) {
    const parts = [];
    let rest = m[1];
    while (rest.length) {
      const len = /^\d+/.exec(rest);
      if (!len) break;
      const n = Number(len[0]);
      parts.push(rest.slice(len[0].length, len[0].length + n));
      rest = rest.slice(len[0].length + n);
    }
    s = parts
      .map((p) => p.replace(/^_\$/, '$')
        .replace(/\$([A-Z]+)\$/g, (x, k) => LEGACY_ESCAPES[k] ?? x)
        .replace(/\$u([0-9a-f]+)\$/g, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
        .replace(/\.\./g, '::'))
      .join('::');
  }
  // v0 symbols demangle with each crate's disambiguator: `core[c5930c85a12de822]::fmt`.
  return s.replace(/::h[0-9a-f]{16}$/, '').replace(/\[[0-9a-f]{1,16}\]/g, '');
}

const STD = new Set(['core', 'alloc', 'std']);
const PRIMITIVE = /^(?:&(?:mut )?|\*(?:const|mut) )*(?:\[.*\]|str|char|bool|[iu](?:8|16|32|64|128|size)|f32|f64)$/;

/** The crate a path's first segment names, skipping references, pointers and slices; null for a bare type parameter. */
function pathCrate(type) {
  const t = type.replace(/^(?:&(?:mut )?|\*(?:const|mut) |\[|\(|dyn |impl )+/, '').trim();
  const m = /^([A-Za-z_][A-Za-z0-9_]*)::/.exec(t);
  return m ? m[1] : null;
}

/** `<Self as Trait>` (or `<Self>`) at the start of a path: the two types, split at the top level. */
function qualifiedSelf(name) {
  let depth = 0;
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '<') depth++;
    else if (name[i] === '>' && --depth === 0) {
      const inner = name.slice(1, i);
      let d = 0;
      for (let j = 0; j < inner.length; j++) {
        if (inner[j] === '<') d++;
        else if (inner[j] === '>') d--;
        else if (d === 0 && inner.startsWith(' as ', j)) return { self: inner.slice(0, j), trait: inner.slice(j + 4) };
      }
      return { self: inner, trait: null };
    }
  }
  return { self: name, trait: null };
}

/**
 * The crate whose code a function is. `<Self as Trait>::f` is code of the
 * crate that could write the impl: Self's unless Self is a standard or
 * generic type and Trait is not standard. Drop glue is its type's. Linker
 * and runtime symbols go to wasm-bindgen, std or compiler_builtins.
 */
export function crateOf(symbol) {
  if (symbol === null) return '(no name)';
  const name = demangle(symbol);
  // wasm-bindgen's wrappers of the exports and imports (externref,
  // multivalue); wasm-opt inlines the wrapped function into them.
  if (/ shim$/.test(name)) return '(wasm-bindgen shims)';
  const drop = /^core::ptr::drop_in_place<(.+)>$/.exec(name);
  if (drop) return pathCrate(drop[1]) ?? 'core';
  if (name.startsWith('<')) {
    const { self, trait } = qualifiedSelf(name);
    const selfCrate = pathCrate(self);
    const traitCrate = trait && pathCrate(trait);
    if (traitCrate && !STD.has(traitCrate) && (!selfCrate || STD.has(selfCrate))) return traitCrate;
    // An inherent impl on a primitive (`<str>::split_at`) is core's.
    return selfCrate ?? traitCrate ?? (PRIMITIVE.test(self) ? 'core' : '(other)');
  }
  const crate = /^([A-Za-z_][A-Za-z0-9_]*)::/.exec(name)?.[1];
  if (crate === '__rustc') return 'std'; // the allocator shim: `__rustc::__rust_alloc`
  if (crate) return crate;
  if (/^(__wbindgen|__wbg_|__externref|__wbg)/.test(name)) return 'wasm_bindgen';
  if (/^(__rust_|__rdl_|__rg_|rust_begin_unwind|rust_panic)/.test(name)) return 'std';
  if (/^(mem(cpy|move|set|cmp)|__(mul|div|mod|udiv|umod|ashl|lshr|ashr)[a-z]*\d)/.test(name)) return 'compiler_builtins';
  return '(other)';
}

// ---------------------------------------------------------------------------
// The profile

/**
 * The size profile of a module: sections (adding up to the file), code and
 * data split into payload and overhead, the largest functions, per-crate
 * totals of function bodies.
 */
export function sizeProfile(bytes, { top = 20 } = {}) {
  const m = parseModule(bytes);
  const code = m.sections.find((s) => s.id === 10);
  const data = m.sections.find((s) => s.id === 11);
  const bodies = m.functions.reduce((a, f) => a + f.bytes, 0);
  const segments = m.data.reduce((a, d) => a + d.bytes, 0);
  const rows = [{ what: 'header (magic, version)', bytes: 8 }];
  for (const s of m.sections) {
    if (s === code) {
      rows.push({ what: `code: ${n(m.functions.length)} function bodies`, bytes: bodies });
      rows.push({ what: 'code: section header, count, a size field per body', bytes: code.bytes - bodies });
    } else if (s === data) {
      rows.push({ what: `data: ${n(m.data.length)} segments`, bytes: segments });
      rows.push({ what: 'data: section header, count, segment headers', bytes: data.bytes - segments });
    } else {
      rows.push({ what: s.name, bytes: s.bytes });
    }
  }
  const crates = new Map();
  // An export wasm-bindgen names after its class and method has no crate in its name.
  const crate = (f) => (f.exported && crateOf(f.name) === '(other)' ? '(exports)' : crateOf(f.name));
  for (const f of m.functions) {
    const c = crate(f);
    const t = crates.get(c) ?? { crate: c, functions: 0, bytes: 0 };
    t.functions++;
    t.bytes += f.bytes;
    crates.set(c, t);
  }
  return {
    file: m.size,
    sum: rows.reduce((a, r) => a + r.bytes, 0),
    sections: rows,
    code: code?.bytes ?? 0,
    data: data?.bytes ?? 0,
    bodies,
    functions: m.functions.length,
    named: m.functions.filter((f) => f.name !== null).length,
    top: [...m.functions].sort((a, b) => b.bytes - a.bytes).slice(0, top)
      .map((f) => ({ name: f.name === null ? `(function ${f.index})` : demangle(f.name), crate: crate(f), bytes: f.bytes })),
    crates: [...crates.values()].sort((a, b) => b.bytes - a.bytes),
  };
}

/** The code and data sections of a build: their sizes, and a hash of their bytes to compare builds with. */
export function codeAndData(bytes) {
  const m = parseModule(bytes);
  const hash = crypto.createHash('sha256');
  const size = (id) => {
    const s = m.sections.find((x) => x.id === id);
    if (s) hash.update(bytes.subarray(s.start, s.end));
    return s?.bytes ?? 0;
  };
  return { code: size(10), data: size(11), sha256: hash.digest('hex') };
}

const n = (x) => x.toLocaleString('en-US');
const share = (x, of) => `${((100 * x) / of).toFixed(1)}%`;
const cell = (s) => s.replace(/\|/g, '\\|').replace(/`/g, "'");
const short = (s, max = 110) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** The profile as markdown tables: sections, top functions, crates. */
export function sizeTables(p) {
  const L = [];
  L.push(`| section | bytes | share of the file |`, '|---|---:|---:|');
  for (const s of p.sections) L.push(`| ${cell(s.what)} | ${n(s.bytes)} | ${share(s.bytes, p.file)} |`);
  L.push(`| **total** | **${n(p.sum)}** | ${p.sum === p.file ? 'the file, to the byte' : `**the file is ${n(p.file)}**`} |`, '');
  L.push(`The ${p.top.length} largest function bodies, of ${n(p.functions)} (${n(p.named)} named):`, '');
  L.push('| function | crate | bytes | share of the bodies |', '|---|---|---:|---:|');
  for (const f of p.top) L.push(`| \`${cell(short(f.name))}\` | ${cell(f.crate)} | ${n(f.bytes)} | ${share(f.bytes, p.bodies)} |`);
  L.push('', 'Function bodies per crate:', '');
  L.push('| crate | functions | bytes | share of the bodies |', '|---|---:|---:|---:|');
  for (const c of p.crates) L.push(`| ${cell(c.crate)} | ${n(c.functions)} | ${n(c.bytes)} | ${share(c.bytes, p.bodies)} |`);
  L.push(`| **all** | **${n(p.functions)}** | **${n(p.bodies)}** | 100% |`);
  return L;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? NAMES_BUILD;
  if (!fs.existsSync(file)) {
    console.error(`${file} is missing: KEEP_NAMES=1 scripts/build.sh writes it`);
    process.exit(2);
  }
  const p = sizeProfile(fs.readFileSync(file));
  console.log(`${path.relative(process.cwd(), file) || file}: ${n(p.file)} bytes\n`);
  if (!p.named) console.log('It has no name section, so no function has a name: build it with KEEP_NAMES=1 scripts/build.sh.\n');
  console.log(sizeTables(p).join('\n'));
}

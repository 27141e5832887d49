// Reads JSONC, the format of wrangler.jsonc: JSON with // and /* */ comments
// and trailing commas. The deploy tests check that it reads wrangler.jsonc as
// wrangler does; wrangler itself is too slow to import into every test.

/** Parses JSONC text; throws SyntaxError as JSON.parse does. */
export function parseJsonc(text) {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new SyntaxError('JSONC: unterminated /* comment');
      i = end + 2;
    } else {
      // A comma before a closing bracket is a trailing comma: dropped.
      if (c === '}' || c === ']') out = out.replace(/,(\s*)$/, '$1');
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}

//! JSON text for the worker's own small documents (a metrics data point, the
//! status report), written field by field. One call per field costs the
//! module a fraction of what a `#[derive(Serialize)]` per struct does, and
//! every byte of the module is paid at each cold start.

/// A JSON object being written: `{"key":value,…}`.
pub struct Object {
    out: String,
}

impl Default for Object {
    fn default() -> Self {
        Self::new()
    }
}

impl Object {
    pub fn new() -> Self {
        Object {
            out: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        push_str(&mut self.out, key);
        self.out.push(':');
        &mut self.out
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        push_str(self.key(key), value);
        self
    }

    /// A string, or `null`.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    pub fn num(&mut self, key: &str, value: u64) -> &mut Self {
        push_num(self.key(key), value);
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// An array of strings.
    pub fn strs<'a>(&mut self, key: &str, values: impl IntoIterator<Item = &'a str>) -> &mut Self {
        let out = self.key(key);
        out.push('[');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(out, v);
        }
        out.push(']');
        self
    }

    /// An array of numbers.
    pub fn nums(&mut self, key: &str, values: &[u64]) -> &mut Self {
        let out = self.key(key);
        out.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_num(out, *v);
        }
        out.push(']');
        self
    }

    /// A value that is already JSON text (a nested object, `null`).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// `n` in decimal (without `to_string`'s formatting machinery).
fn push_num(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c < ' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = c as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn every_string_is_valid_json_and_reads_back_as_written() {
        let tricky = "a\"b\\c\nd\u{1}e\u{7f}é😀</script>";
        let mut o = Object::new();
        o.str("s", tricky)
            .opt_str("none", None)
            .num("n", u64::MAX)
            .bool("b", true)
            .strs("list", ["x", tricky])
            .nums("nums", &[0, 7, 1234567890])
            .raw("nested", "{}");
        let json = o.finish();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["s"], tricky);
        assert_eq!(v["none"], serde_json::Value::Null);
        assert_eq!(v["n"], u64::MAX);
        assert_eq!(v["b"], true);
        assert_eq!(v["list"][1], tricky);
        assert_eq!(v["nums"], serde_json::json!([0, 7, 1234567890]));
        assert_eq!(v["nested"], serde_json::json!({}));
        assert_eq!(Object::new().finish(), "{}");
    }
}

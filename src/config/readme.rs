//! The README's configuration table is the table in `vars.rs`, rendered:
//! the test fails on any difference and prints the table to paste.

use super::vars::{IfUnset, Kind, Row, TABLE};
use crate::testing::test;

/// The README's table: a line per entry, but entries alike in all but
/// their names (the site keys) share one when they are neighbours.
fn render() -> String {
    let rows: Vec<&Row> = TABLE.iter().map(|entry| entry.row()).collect();
    let alike = |a: &&Row, b: &&Row| {
        Row {
            name: a.name,
            ..**b
        } == **a
    };
    let mut table = String::from("| name | kind | default | meaning |\n|---|---|---|---|\n");
    for group in rows.chunk_by(alike) {
        table.push_str(&line(group));
    }
    table
}

fn line(rows: &[&Row]) -> String {
    let names: Vec<String> = rows.iter().map(|row| format!("`{}`", row.name)).collect();
    let row = rows[0];
    let kind = match row.kind {
        Kind::Var => "var",
        Kind::Secret => "secret",
        Kind::Binding => "service binding",
    };
    let (kind, default) = match row.if_unset {
        IfUnset::Required { when: "", .. } => (format!("{kind}, required"), String::new()),
        IfUnset::Required { when, .. } => (format!("{kind}, required {when}"), String::new()),
        IfUnset::Absent => (kind.to_owned(), "unset ".to_owned()),
        IfUnset::Value(value) => (kind.to_owned(), format!("`{value}` ")),
        IfUnset::Described(text) => (kind.to_owned(), format!("{text} ")),
    };
    let names = names.join(", ");
    format!("| {names} | {kind} | {default}| {} |\n", row.doc)
}

/// The README's configuration table, as written.
fn readme_table() -> String {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("\n## Configuration\n").unwrap_or(0)..];
    let start = section.find("\n| name |").map_or(section.len(), |i| i + 1);
    section[start..]
        .lines()
        .take_while(|line| line.starts_with('|'))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn the_readme_configuration_table_is_the_config_table() {
    let want = render();
    assert!(
        readme_table() == want,
        "README.md's configuration table differs from src/config/vars.rs; it should read:\n\n{want}"
    );
}

#[test]
fn every_default_value_is_one_its_parser_accepts() {
    for entry in TABLE {
        if let IfUnset::Value(text) = entry.row().if_unset {
            assert!(entry.accepts(text), "{}: {text:?}", entry.row().name);
        }
    }
}

#[test]
fn the_table_names_each_variable_once() {
    let mut names: Vec<&str> = TABLE.iter().map(|e| e.row().name).collect();
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count);
}

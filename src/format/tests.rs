//! The formatter on small specs: the layout, comments, and what it leaves as written.

use std::path::Path;

use super::*;

fn fmt(text: &str) -> String {
    match format_source(Path::new("t.stream"), text) {
        Ok(out) => out,
        Err(error) => panic!("{error:?}"),
    }
}

#[test]
fn an_empty_file_stays_empty() {
    assert_eq!(fmt(""), "");
}

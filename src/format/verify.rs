//! The formatter's safety net: formatted text must parse to the same syntax tree as the source
//! (spans aside) and keep every comment. A file that fails this is left as it is.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::ast::Spec;
use crate::source::SourceFile;

/// Checks that `formatted` means what `original` does; the error says how it does not.
pub fn same_meaning(original: &Spec, path: &Path, formatted: &str) -> Result<(), String> {
    let source = SourceFile::new(path, formatted);
    let reparsed = crate::syntax::parse(&source).map_err(|diagnostics| {
        let first = diagnostics
            .first()
            .map_or_else(String::new, |d| format!(": {}", d.message));
        format!("the formatted text does not parse{first}")
    })?;
    if fingerprint(original) != fingerprint(&reparsed) {
        return Err("the formatted text would mean something else".to_string());
    }
    // Every `#` of the source is in a comment, a string, a regex, a URL or a header value, all
    // of which are kept; one fewer means a comment was lost.
    if formatted.matches('#').count() < original.file.text.matches('#').count() {
        return Err("a comment would be lost".to_string());
    }
    Ok(())
}

/// The syntax tree as text, without the spans (which change with the layout). `Debug` walks the
/// whole tree, so a step or a branch lost at any depth (inside a `repeat`, a `parallel`) or a
/// changed name (`as`, `from`, `in`) shows.
pub fn fingerprint(spec: &Spec) -> String {
    static POSITIONS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"Span \{ start: \d+, end: \d+ \}|text_offset: \d+")
            .unwrap_or_else(|_| unreachable!("a fixed valid regex"))
    });
    let tree = format!("{:?}\n{:?}", spec.lets, spec.tests);
    POSITIONS.replace_all(&tree, "").into_owned()
}

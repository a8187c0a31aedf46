//! The page around a report: one self-contained HTML document (its CSS inline, no script, no
//! link to anything), light or dark as the reader's system is (`prefers-color-scheme`), and the
//! pieces both reports share (the summary's figures, a table).

use super::escape::escape;

/// The whole document: `title` in the tab and as the heading, then `body` (HTML already).
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// A row of figures at the top of a report: `(label, value, class)`, the class colouring the
/// value (`pass`, `fail`, `error`, or empty).
pub fn figures(figures: &[(&str, String, &str)]) -> String {
    let mut out = String::from("<div class=\"figures\">");
    for (label, value, class) in figures {
        out.push_str(&format!(
            "<div class=\"figure {class}\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
            escape(value),
            escape(label)
        ));
    }
    out.push_str("</div>\n");
    out
}

/// A table: `head` and `rows` are texts, escaped here; a row's class (`pass`, `fail`) tints it.
pub fn table(class: &str, head: &[&str], rows: &[(Vec<String>, &str)]) -> String {
    let mut out = format!("<table class=\"{class}\"><thead><tr>");
    for cell in head {
        out.push_str(&format!("<th>{}</th>", escape(cell)));
    }
    out.push_str("</tr></thead><tbody>");
    for (cells, row_class) in rows {
        out.push_str(&format!("<tr class=\"{row_class}\">"));
        for cell in cells {
            out.push_str(&format!("<td>{}</td>", escape(cell)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
    out
}

/// A status word as a coloured badge: `PASS`, `FAIL`, `ERROR`.
pub fn badge(word: &str, class: &str) -> String {
    format!("<span class=\"badge {class}\">{}</span>", escape(word))
}

const STYLE: &str = r#"
:root {
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --panel: #f6f8fa;
  --pass: #1a7f37; --fail: #cf222e; --error: #bc4c00; --warn: #9a6700; --accent: #0969da;
  --series1: #0969da; --series2: #8250df; --series3: #bf3989; --series4: #1a7f37;
  --users: #d1d9e0; --bound: rgba(154, 103, 0, 0.16); --slow: rgba(207, 34, 46, 0.18);
  --bar: #54aeff; --term-bg: #f6f8fa;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --border: #3d444d; --panel: #151b23;
    --pass: #3fb950; --fail: #f85149; --error: #db6d28; --warn: #d29922; --accent: #4493f8;
    --series1: #4493f8; --series2: #ab7df8; --series3: #db61a2; --series4: #3fb950;
    --users: #2a313c; --bound: rgba(210, 153, 34, 0.22); --slow: rgba(248, 81, 73, 0.28);
    --bar: #388bfd; --term-bg: #010409;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 -apple-system, "Segoe UI", system-ui, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-top: 8px; border-top: 1px solid var(--border); }
h3 { font-size: 15px; margin: 18px 0 6px; }
a { color: var(--accent); }
.muted, .note { color: var(--muted); }
.note { font-size: 13px; margin: 4px 0; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 16px; }
.figure { border: 1px solid var(--border); border-radius: 8px; padding: 8px 14px; min-width: 110px; background: var(--panel); }
.figure .value { font-size: 22px; font-weight: 600; }
.figure .label { color: var(--muted); font-size: 12px; }
.figure.pass .value, .pass > .verdict { color: var(--pass); }
.figure.fail .value, .fail > .verdict { color: var(--fail); }
.figure.error .value { color: var(--error); }
.badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 1px 7px; border-radius: 10px;
  color: #fff; vertical-align: 2px; margin-right: 6px; }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); } .badge.error { background: var(--error); }
table { border-collapse: collapse; margin: 8px 0 12px; width: 100%; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
tr.fail td { background: var(--slow); }
td { overflow-wrap: break-word; }
pre.terminal { background: var(--term-bg); border: 1px solid var(--border); border-radius: 6px; padding: 10px 12px;
  overflow-x: auto; white-space: pre; }
.t-bold { font-weight: 700; } .t-red { color: var(--fail); } .t-green { color: var(--pass); }
.t-yellow { color: var(--warn); } .t-blue { color: var(--accent); }
.stream { border: 1px solid var(--border); border-radius: 8px; padding: 4px 12px 10px; margin: 10px 0; }
svg.chart { display: block; width: 100%; height: auto; max-width: 1050px; margin: 4px 0; }
svg.chart text { fill: var(--muted); font: 11px -apple-system, "Segoe UI", system-ui, sans-serif; }
svg.chart text.strong { fill: var(--fg); font-weight: 600; }
svg.chart text.slow { fill: var(--fail); font-weight: 600; }
svg.chart text.users { fill: var(--muted); }
svg.chart .axis { stroke: var(--muted); stroke-width: 1; }
svg.chart .grid { stroke: var(--border); stroke-width: 0.5; }
svg.chart .item { stroke: var(--accent); stroke-width: 1.2; }
svg.chart .density { fill: var(--bar); opacity: 0.55; }
svg.chart .bar { fill: var(--bar); }
svg.chart .bound { fill: var(--warn); opacity: 0.35; }
svg.chart .bound-end { stroke: var(--warn); stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.chart .slow-gap { fill: var(--slow); }
svg.chart .mark { stroke: var(--error); stroke-width: 2; }
svg.chart .item.after-failure { stroke: var(--muted); stroke-dasharray: 2 2; }
svg.chart .failed-item { stroke: var(--fail); stroke-width: 3; }
svg.chart text.failed { fill: var(--fail); font-weight: 700; }
svg.chart .stall { fill: var(--slow); stroke: var(--fail); stroke-width: 1; stroke-dasharray: 4 2; }
p.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0 0 6px; font-size: 12px; color: var(--muted); }
p.legend .key { display: inline-flex; align-items: center; gap: 5px; }
p.legend .swatch { display: inline-block; width: 14px; height: 10px; }
.swatch.item { border-left: 2px solid var(--accent); width: 2px; }
.swatch.after-failure { border-left: 2px dashed var(--muted); width: 2px; }
.swatch.failed-item { background: var(--fail); width: 4px; }
.swatch.stall { background: var(--slow); border: 1px dashed var(--fail); }
.swatch.slow-gap { background: var(--slow); }
.swatch.mark { background: var(--error); width: 2px; }
svg.chart .reconnect-wait { fill: var(--muted); opacity: 0.25; }
.swatch.reconnect-wait { background: var(--muted); opacity: 0.25; }
.swatch.bound { background: var(--warn); opacity: 0.35; height: 5px; }
svg.chart .pct { stroke: var(--fg); stroke-width: 1; stroke-dasharray: 3 3; }
svg.chart .users-area { fill: var(--users); }
svg.chart polyline { fill: none; stroke-width: 1.6; }
svg.chart .s1 { stroke: var(--series1); fill: var(--series1); }
svg.chart .s2 { stroke: var(--series2); fill: var(--series2); }
svg.chart .s3 { stroke: var(--series3); fill: var(--series3); }
svg.chart .s4 { stroke: var(--series4); fill: var(--series4); }
svg.chart .sfail { stroke: var(--fail); fill: var(--fail); }
svg.chart polyline.s1, svg.chart polyline.s2, svg.chart polyline.s3, svg.chart polyline.s4, svg.chart polyline.sfail { fill: none; }
svg.chart polyline.dashed { stroke-dasharray: 5 3; }
svg.chart .exit { stroke: var(--error); stroke-width: 1.5; stroke-dasharray: 6 3; }
svg.chart text.exit { fill: var(--error); stroke: none; font-weight: 600; }
p.note.exited, p.note.warning { color: var(--error); font-weight: 600; }
svg.chart rect.legend.users-area { stroke: var(--muted); stroke-width: 0.6; }
svg.chart text.threshold { fill: var(--warn); font-weight: 600; }
details { margin: 6px 0; }
summary { cursor: pointer; color: var(--accent); }
ol.items { margin: 6px 0; padding-left: 0; list-style: none; max-height: 420px; overflow: auto;
  border: 1px solid var(--border); border-radius: 6px; }
ol.items li { display: flex; gap: 12px; padding: 1px 8px; border-bottom: 1px solid var(--border); }
ol.items li.slow, ol.items li.stall { background: var(--slow); }
ol.items li.failed { background: var(--slow); font-weight: 600; }
ol.items li.failed .n { color: var(--fail); }
ol.items li.after-failure { color: var(--muted); }
ol.items li.stall .text { color: var(--fail); font-style: italic; }
ol.items .n { color: var(--muted); min-width: 4em; text-align: right; }
ol.items .at { color: var(--muted); min-width: 6em; text-align: right; }
ol.items .text { white-space: pre-wrap; overflow-wrap: anywhere; }
nav.tests ul { padding-left: 18px; margin: 4px 0; }
nav.tests details ul { columns: 2; }
"#;

#[cfg(test)]
mod tests {
    use super::STYLE;

    /// `overflow-wrap: anywhere` let a table squeeze its columns by breaking values mid-token
    /// (`21.2m` over `/s`, `./bad.stream:2:` over `3`): a cell wraps at spaces, and breaks a
    /// word only when the word alone is wider than the table.
    #[test]
    fn table_cells_do_not_break_inside_a_token() {
        let rules: Vec<&str> = STYLE
            .lines()
            .filter(|line| line.starts_with("td {") || line.starts_with("th, td {"))
            .collect();
        assert!(
            rules.iter().all(|rule| !rule.contains("anywhere")),
            "{rules:?}"
        );
        assert!(
            rules.contains(&"td { overflow-wrap: break-word; }"),
            "{rules:?}"
        );
    }
}

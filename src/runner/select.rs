//! Choosing the tests of a run: `--filter`, `--tag`, `--skip-tag`, then `--shard`, in the
//! project's order (groups, then files, then tests as written).

use std::collections::BTreeSet;

use crate::cli::Shard;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::project::Project;
use crate::report::plural;

/// Which tests to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// A test is kept when one of these is part of its name or of `file: name`; all when empty.
    pub filters: Vec<String>,
    /// A test is kept when it has one of these tags; all when empty. A leading `@` is ignored.
    pub tags: Vec<String>,
    /// A test with one of these tags is left out, whatever else selects it.
    pub skip_tags: Vec<String>,
    pub shard: Option<Shard>,
}

/// One selected test: where it is in the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestRef {
    pub spec: usize,
    pub test: usize,
}

/// The selected tests of one group, in order.
#[derive(Debug, Clone)]
pub struct PlannedGroup {
    pub group: usize,
    pub tests: Vec<TestRef>,
}

/// What a run will do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Only groups with selected tests: a group with none does not start its services.
    pub groups: Vec<PlannedGroup>,
    /// Tests chosen by the filters and tags, before sharding.
    pub matched: usize,
    /// Files holding a selected test.
    pub files: usize,
}

impl Plan {
    /// Selected tests (after sharding).
    pub fn tests(&self) -> usize {
        self.groups.iter().map(|g| g.tests.len()).sum()
    }
}

fn tag_name(tag: &str) -> &str {
    tag.strip_prefix('@').unwrap_or(tag)
}

impl Selection {
    pub fn is_everything(&self) -> bool {
        self.filters.is_empty()
            && self.tags.is_empty()
            && self.skip_tags.is_empty()
            && self.shard.is_none()
    }

    fn keeps(&self, file: &str, name: &str, tags: &[&str]) -> bool {
        let filtered = self.filters.is_empty()
            || self.filters.iter().any(|filter| {
                name.contains(filter.as_str())
                    || format!("{file}: {name}").contains(filter.as_str())
            });
        let tagged = self.tags.is_empty() || self.tags.iter().any(|t| tags.contains(&tag_name(t)));
        let skipped = self.skip_tags.iter().any(|t| tags.contains(&tag_name(t)));
        filtered && tagged && !skipped
    }

    /// The tests this selection runs. Sharding counts the tests the filters and tags kept, in
    /// order, and gives the i-th (from 0) to shard `i mod N + 1` (nextest's `count:` partition):
    /// neighbours, often alike in what they cost, go to different machines.
    pub fn plan(&self, project: &Project) -> Plan {
        let mut groups = Vec::new();
        let mut matched = 0;
        for (group_index, group) in project.groups.iter().enumerate() {
            let mut tests = Vec::new();
            for (spec_index, spec) in group.specs.iter().enumerate() {
                let file = spec.file.path.display().to_string();
                for (test_index, test) in spec.tests.iter().enumerate() {
                    let tags: Vec<&str> = test.tags.iter().map(|t| t.value.as_str()).collect();
                    if !self.keeps(&file, &test.name.value, &tags) {
                        continue;
                    }
                    let position = matched;
                    matched += 1;
                    if let Some(shard) = self.shard
                        && position % shard.count != shard.index - 1
                    {
                        continue;
                    }
                    tests.push(TestRef {
                        spec: spec_index,
                        test: test_index,
                    });
                }
            }
            if !tests.is_empty() {
                groups.push(PlannedGroup {
                    group: group_index,
                    tests,
                });
            }
        }
        let mut files: Vec<(usize, usize)> = groups
            .iter()
            .flat_map(|g| g.tests.iter().map(move |t| (g.group, t.spec)))
            .collect();
        files.dedup();
        Plan {
            groups,
            matched,
            files: files.len(),
        }
    }

    /// Why nothing was selected, for the "no tests" error: the flags that chose nothing, with a
    /// "did you mean" for a tag no test has.
    pub fn explain_empty(&self, project: &Project) -> Diagnostic {
        let mut parts = Vec::new();
        for filter in &self.filters {
            parts.push(format!("--filter `{filter}`"));
        }
        for tag in &self.tags {
            parts.push(format!("--tag `{tag}`"));
        }
        for tag in &self.skip_tags {
            parts.push(format!("--skip-tag `{tag}`"));
        }
        let mut diagnostic = Diagnostic::error(format!(
            "no test matches {} (of {} found)",
            parts.join(", "),
            plural(project.test_count(), "test")
        ));
        let known: BTreeSet<&str> = project
            .groups
            .iter()
            .flat_map(|g| &g.specs)
            .flat_map(|s| &s.tests)
            .flat_map(|t| t.tags.iter().map(|tag| tag.value.as_str()))
            .collect();
        for tag in self.tags.iter().map(|t| tag_name(t)) {
            if !known.contains(tag)
                && let Some(suggestion) = did_you_mean(tag, known.iter().copied())
            {
                diagnostic = diagnostic.help(format!(
                    "no test has the tag `{tag}`; did you mean `{suggestion}`?"
                ));
            }
        }
        diagnostic
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Group;
    use crate::source::SourceFile;

    fn project(files: &[(&str, &str)]) -> Project {
        let specs = files
            .iter()
            .map(|(path, text)| {
                let file = SourceFile::new(*path, text.to_string());
                crate::syntax::parse(&file).unwrap_or_else(|_| panic!("{path} parses"))
            })
            .collect();
        Project {
            groups: vec![Group {
                config: None,
                specs,
            }],
            file_count: files.len(),
            warnings: Vec::new(),
        }
    }

    fn names(project: &Project, plan: &Plan) -> Vec<String> {
        plan.groups
            .iter()
            .flat_map(|g| {
                g.tests.iter().map(move |t| {
                    project.groups[g.group].specs[t.spec].tests[t.test]
                        .name
                        .value
                        .clone()
                })
            })
            .collect()
    }

    fn sample() -> Project {
        let test = |name: &str, tags: &str| {
            format!(
                "test \"{name}\" {tags} {{\n  GET http://127.0.0.1:1/\n  expect status 200\n}}\n"
            )
        };
        project(&[
            (
                "a.stream",
                &format!(
                    "{}{}{}",
                    test("one", "@sse @smoke"),
                    test("two", "@slow"),
                    test("three", "")
                ),
            ),
            (
                "b.stream",
                &format!("{}{}", test("four", "@smoke"), test("five", "@sse")),
            ),
        ])
    }

    #[test]
    fn everything_by_default() {
        let project = sample();
        let plan = Selection::default().plan(&project);
        assert_eq!(
            names(&project, &plan),
            ["one", "two", "three", "four", "five"]
        );
        assert_eq!((plan.matched, plan.files), (5, 2));
    }

    #[test]
    fn filters_match_names_and_file_names() {
        let project = sample();
        let select = |filters: &[&str]| {
            let selection = Selection {
                filters: filters.iter().map(|f| f.to_string()).collect(),
                ..Selection::default()
            };
            names(&project, &selection.plan(&project))
        };
        assert_eq!(select(&["o"]), ["one", "two", "four"]);
        assert_eq!(select(&["one", "five"]), ["one", "five"]);
        assert_eq!(select(&["b.stream"]), ["four", "five"]);
        assert_eq!(select(&["a.stream: three"]), ["three"]);
        assert!(select(&["nothing"]).is_empty());
    }

    #[test]
    fn tags_select_and_skip_tags_leave_out() {
        let project = sample();
        let select = |tags: &[&str], skip: &[&str]| {
            let selection = Selection {
                tags: tags.iter().map(|f| f.to_string()).collect(),
                skip_tags: skip.iter().map(|f| f.to_string()).collect(),
                ..Selection::default()
            };
            names(&project, &selection.plan(&project))
        };
        assert_eq!(select(&["smoke"], &[]), ["one", "four"]);
        assert_eq!(select(&["@smoke", "slow"], &[]), ["one", "two", "four"]);
        assert_eq!(select(&[], &["sse"]), ["two", "three", "four"]);
        assert_eq!(select(&["smoke"], &["@sse"]), ["four"]);
    }

    #[test]
    fn shards_split_the_selected_tests_with_no_overlap() {
        let project = sample();
        for count in 1..=7 {
            let mut seen = Vec::new();
            for index in 1..=count {
                let selection = Selection {
                    shard: Some(Shard { index, count }),
                    ..Selection::default()
                };
                seen.extend(names(&project, &selection.plan(&project)));
            }
            seen.sort();
            assert_eq!(
                seen,
                ["five", "four", "one", "three", "two"],
                "{count} shards"
            );
        }
        let selection = Selection {
            tags: vec!["smoke".into(), "sse".into()],
            shard: Some(Shard { index: 2, count: 2 }),
            ..Selection::default()
        };
        // Smoke or sse: one, four, five; the second of two shards has the second of them.
        assert_eq!(names(&project, &selection.plan(&project)), ["four"]);
    }

    #[test]
    fn an_unknown_tag_gets_a_suggestion() {
        let project = sample();
        let selection = Selection {
            tags: vec!["smok".into()],
            ..Selection::default()
        };
        assert_eq!(
            selection
                .explain_empty(&project)
                .render(&crate::style::Palette::plain()),
            "error: no test matches --tag `smok` (of 5 tests found)\n\
             \x20 = help: no test has the tag `smok`; did you mean `smoke`?\n"
        );
    }
}

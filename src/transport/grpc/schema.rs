//! Where a server's schema comes from, what a call gets of it, and a per-run cache of schemas.
//!
//! A [`Schema`] is the files that describe a server: from its reflection service, from `.proto`
//! files compiled at run time (protox: no `protoc` needed), or from a descriptor set file (a
//! `FileDescriptorSet` as `protoc --include_imports --descriptor_set_out` writes). They are kept
//! as their bytes came; a call gets a [`DescriptorPool`] of only what its method reaches (see
//! `prune`), built when a method first needs it and shared by the methods that reach the same.
//!
//! The [`SchemaCache`] fetches each schema once per run however many tests use it, also when
//! they start together: a reflection schema is keyed by the target (URL, authority) and the
//! service (reflection resolves only the service a call needs), files by their paths alone
//! (they say the same whichever server is called). A failed load is not kept: the next test
//! tries again (the server may have come up meanwhile).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use prost_reflect::{DescriptorPool, MethodDescriptor};
use tokio::sync::OnceCell;

use super::channel::{GrpcChannel, GrpcTarget};
use super::error::GrpcError;
use super::method::{ServiceNames, locate};
use super::prune::{Index, Reach, SchemaFile, Undecodable};

pub(crate) use super::reflection::fetch_schema;
pub use super::reflection::list_services;

/// Where a schema comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchemaSource {
    /// The server's reflection service (v1, else v1alpha).
    Reflection,
    /// `.proto` files compiled at run time. Imports are looked up in `import_paths`, or, when
    /// none are given, in each file's own folder.
    Files {
        protos: Vec<PathBuf>,
        import_paths: Vec<PathBuf>,
    },
    /// A `FileDescriptorSet` file, with its imports included.
    DescriptorSet(PathBuf),
}

/// Where a schema's files came from, as its errors say.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    Reflection {
        url: String,
    },
    DescriptorSet(PathBuf),
    /// The `.proto` files, named as a list in backticks.
    Protos(String),
}

impl Origin {
    /// The files are not a usable schema: `reason` says which and why.
    fn unusable(&self, reason: &str) -> GrpcError {
        match self {
            Origin::Reflection { url } => GrpcError::Reflection {
                url: url.clone(),
                reason: reason.to_string(),
            },
            Origin::DescriptorSet(path) => GrpcError::Schema {
                reason: format!(
                    "`{}` is not a usable descriptor set ({reason}); write one with `protoc --include_imports --descriptor_set_out=…`",
                    path.display()
                ),
            },
            Origin::Protos(names) => GrpcError::Schema {
                reason: format!("could not compile {names}: {reason}"),
            },
        }
    }

    /// The file `name` of the schema is not usable: `what` says why.
    fn unusable_file(&self, name: &str, what: &str) -> GrpcError {
        let whose = match self {
            Origin::Reflection { .. } => " it gave",
            Origin::DescriptorSet(_) => " in it",
            Origin::Protos(_) => "",
        };
        self.unusable(&format!("the file `{name}`{whose} {what}"))
    }

    fn undecodable(&self, (name, error): Undecodable) -> GrpcError {
        self.unusable_file(&name, &format!("cannot be decoded: {error}"))
    }
}

/// A server's schema: its files, and a pool for each set of types the methods called reach.
pub struct Schema {
    index: Index,
    origin: Origin,
    pools: Mutex<HashMap<Reach, Arc<OnceCell<DescriptorPool>>>>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("origin", &self.origin)
            .field("services", &self.services())
            .finish_non_exhaustive()
    }
}

impl Schema {
    /// The schema of `files` (an import missing from them is an error when a pool needs it).
    pub(crate) fn new(files: Vec<SchemaFile>, origin: Origin) -> Result<Schema, GrpcError> {
        let index =
            Index::new(in_dependency_order(files)).map_err(|error| origin.undecodable(error))?;
        Ok(Schema {
            index,
            origin,
            pools: Mutex::default(),
        })
    }

    /// The services the schema's files declare, by full name.
    pub fn services(&self) -> Vec<String> {
        self.index
            .services()
            .iter()
            .map(|service| service.full_name.clone())
            .collect()
    }

    /// The method `name` names (see [`super::resolve_method`] for its forms), from a pool of
    /// what it reaches; an unknown service or method is an error with what is close.
    pub async fn method(self: &Arc<Self>, name: &str) -> Result<MethodDescriptor, GrpcError> {
        let services: Vec<ServiceNames> = self
            .index
            .services()
            .iter()
            .map(|service| ServiceNames {
                full_name: service.full_name.clone(),
                methods: service.methods.iter().map(|m| m.name.clone()).collect(),
            })
            .collect();
        let (service, method) = locate(&services, name)?;
        let reach = self.index.reach(service, method);
        let cell = self
            .pools
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(reach.clone())
            .or_default()
            .clone();
        let schema = self.clone();
        let pool = cell
            .get_or_try_init(|| async move {
                // Building a pool is CPU work: keep it off the threads that drive the streams.
                tokio::task::spawn_blocking(move || schema.pool(&reach))
                    .await
                    .unwrap_or_else(|error| {
                        Err(GrpcError::Schema {
                            reason: format!("building the schema failed: {error}"),
                        })
                    })
            })
            .await?;
        let (service, method) = (
            &services[service].full_name,
            &services[service].methods[method],
        );
        pool.get_service_by_name(service)
            .and_then(|found| found.methods().find(|m| m.name() == method))
            .ok_or_else(|| {
                self.origin.unusable(&format!(
                    "`{service}/{method}` is missing from what it gives"
                ))
            })
    }

    /// A pool of the files cut down to `reach`.
    pub(crate) fn pool(&self, reach: &Reach) -> Result<DescriptorPool, GrpcError> {
        let files = self
            .index
            .cut(reach)
            .map_err(|error| self.origin.undecodable(error))?;
        let mut pool = DescriptorPool::new();
        for (name, bytes) in files {
            pool.decode_file_descriptor_proto(bytes).map_err(|error| {
                self.origin
                    .unusable_file(&name, &format!("is not valid: {error}"))
            })?;
        }
        Ok(pool)
    }
}

/// The files, each after everything it imports; of two files of the same name, the first.
fn in_dependency_order(files: Vec<SchemaFile>) -> Vec<SchemaFile> {
    let mut by_name: HashMap<String, SchemaFile> = HashMap::with_capacity(files.len());
    let mut names = Vec::with_capacity(files.len());
    for file in files {
        if !by_name.contains_key(&file.name) {
            names.push(file.name.clone());
            by_name.insert(file.name.clone(), file);
        }
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(names.len());
    // Depth first, with an explicit stack: an import chain can be long.
    for name in names {
        let mut stack = vec![(name, false)];
        while let Some((name, imports_done)) = stack.pop() {
            if imports_done {
                if let Some(file) = by_name.remove(&name) {
                    out.push(file);
                }
                continue;
            }
            if !seen.insert(name.clone()) {
                continue;
            }
            stack.push((name.clone(), true));
            if let Some(file) = by_name.get(&name) {
                for dependency in file.dependencies.iter().rev() {
                    if !seen.contains(dependency) {
                        stack.push((dependency.clone(), false));
                    }
                }
            }
        }
    }
    out
}

/// Loads the schema `source` names; `channel` is the server's, `service` the one a call needs,
/// and `max_answer_size` the largest reflection answer to take (all for reflection only).
pub async fn load_schema(
    source: &SchemaSource,
    channel: &GrpcChannel,
    deadline: Instant,
    service: &str,
    max_answer_size: usize,
) -> Result<Schema, GrpcError> {
    match source {
        SchemaSource::Reflection => {
            let files = fetch_schema(channel, deadline, service, max_answer_size).await?;
            let origin = Origin::Reflection {
                url: channel.url().to_string(),
            };
            Schema::new(files, origin)
        }
        SchemaSource::Files {
            protos,
            import_paths,
        } => {
            let (protos, import_paths) = (protos.clone(), import_paths.clone());
            // Compiling is CPU work: keep it off the threads that drive the streams.
            tokio::task::spawn_blocking(move || proto_schema(&protos, &import_paths))
                .await
                .unwrap_or_else(|error| {
                    Err(GrpcError::Schema {
                        reason: format!("compiling the .proto files failed: {error}"),
                    })
                })
        }
        SchemaSource::DescriptorSet(path) => read_descriptor_set(path),
    }
}

/// The schema of `.proto` files: compiled (see [`compile_protos`]), then kept as the files'
/// bytes, so that the compiler's pool of every type is dropped.
pub(crate) fn proto_schema(
    protos: &[PathBuf],
    import_paths: &[PathBuf],
) -> Result<Schema, GrpcError> {
    let pool = compile_protos(protos, import_paths)?;
    let files = pool
        .files()
        .map(|file| SchemaFile {
            name: file.name().to_string(),
            dependencies: file.dependencies().map(|d| d.name().to_string()).collect(),
            bytes: Bytes::from(file.encode_to_vec()),
        })
        .collect();
    drop(pool);
    Schema::new(files, Origin::Protos(proto_names(protos)))
}

fn proto_names(protos: &[PathBuf]) -> String {
    protos
        .iter()
        .map(|path| format!("`{}`", path.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compiles `.proto` files, with their imports, into a pool. An error is protox's, with the
/// file, line and column: `could not compile `a.proto`: a.proto:4:3: …`.
pub fn compile_protos(
    protos: &[PathBuf],
    import_paths: &[PathBuf],
) -> Result<DescriptorPool, GrpcError> {
    let names = proto_names(protos);
    let fail = |error: protox::Error| GrpcError::Schema {
        // protox's Debug form is the one with the location: `a.proto:4:3: message`.
        reason: format!("could not compile {names}: {error:?}"),
    };
    if protos.is_empty() {
        return Err(GrpcError::Schema {
            reason: "no .proto files were given".to_string(),
        });
    }
    // protox would say a missing file "is not in any include path", which misleads.
    if let Some(missing) = protos.iter().find(|path| !path.is_file()) {
        return Err(GrpcError::Schema {
            reason: format!("cannot read `{}`: no such file", missing.display()),
        });
    }
    let includes: Vec<PathBuf> = if import_paths.is_empty() {
        let mut folders: Vec<PathBuf> = Vec::new();
        for proto in protos {
            let folder = match proto.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if !folders.contains(&folder) {
                folders.push(folder);
            }
        }
        folders
    } else {
        import_paths.to_vec()
    };
    let mut compiler = protox::Compiler::new(includes).map_err(fail)?;
    compiler.include_imports(true);
    compiler.open_files(protos).map_err(fail)?;
    Ok(compiler.descriptor_pool())
}

/// Reads a descriptor set file: its files, each a slice of the file's bytes.
pub fn read_descriptor_set(path: &Path) -> Result<Schema, GrpcError> {
    let bytes = std::fs::read(path).map_err(|error| GrpcError::Schema {
        reason: format!(
            "could not read the descriptor set `{}`: {error}",
            path.display()
        ),
    })?;
    let origin = Origin::DescriptorSet(path.to_path_buf());
    let files = SchemaFile::from_set(&Bytes::from(bytes))
        .map_err(|error| origin.unusable(&error.to_string()))?;
    Schema::new(files, origin)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    /// The server, and the service resolved.
    Reflection(GrpcTarget, String),
    Local(SchemaSource),
}

/// A schema, once loaded.
type SchemaCell = OnceCell<Arc<Schema>>;

/// Schemas for one run, shared by its tests (clone it: the clones share the schemas).
#[derive(Clone)]
pub struct SchemaCache {
    entries: Arc<Mutex<HashMap<CacheKey, Arc<SchemaCell>>>>,
    /// The largest reflection answer taken (the run's `--max-item-size`).
    max_answer_size: usize,
}

impl SchemaCache {
    /// A cache whose reflection answers may be up to `max_answer_size` bytes each.
    pub fn new(max_answer_size: usize) -> SchemaCache {
        SchemaCache {
            entries: Arc::default(),
            max_answer_size,
        }
    }

    /// The schema `source` names for the server behind `channel`, with `service` (a full name)
    /// at least: loaded by the first test that asks, while tests that ask meanwhile wait for it
    /// (each within its own deadline).
    pub async fn get(
        &self,
        source: &SchemaSource,
        channel: &GrpcChannel,
        deadline: Instant,
        service: &str,
    ) -> Result<Arc<Schema>, GrpcError> {
        let key = match source {
            SchemaSource::Reflection => {
                CacheKey::Reflection(channel.peer.target.clone(), service.to_string())
            }
            other => CacheKey::Local(other.clone()),
        };
        let cell = {
            let mut entries = self
                .entries
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            entries.entry(key).or_default().clone()
        };
        let started = Instant::now();
        let load = cell.get_or_try_init(|| async {
            load_schema(source, channel, deadline, service, self.max_answer_size)
                .await
                .map(Arc::new)
        });
        match tokio::time::timeout_at(deadline.into(), load).await {
            Ok(result) => result.cloned(),
            Err(_) => Err(GrpcError::Deadline {
                after: started.elapsed(),
                waiting_for: format!("the schema of {}", channel.url()),
            }),
        }
    }
}

//! Where a server's schema comes from, and a per-run cache of schemas.
//!
//! A schema is a [`DescriptorPool`]: from the server's reflection service, from `.proto` files
//! compiled at run time (protox: no `protoc` needed), or from a descriptor set file (a
//! `FileDescriptorSet` as `protoc --include_imports --descriptor_set_out` writes).
//!
//! The [`SchemaCache`] fetches each schema once per run however many tests use it, also when
//! they start together: a reflection schema is keyed by the target (URL, authority) and the
//! service (reflection resolves only the service a call needs), files by their paths alone
//! (they say the same whichever server is called). A failed load is not kept: the next test
//! tries again (the server may have come up meanwhile).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prost_reflect::DescriptorPool;
use tokio::sync::OnceCell;

use super::channel::{GrpcChannel, GrpcTarget};
use super::error::GrpcError;

pub use super::reflection::{fetch_schema, list_services};

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

/// Loads the schema `source` names; `channel` is the server's, `service` the one a call needs,
/// and `max_answer_size` the largest reflection answer to take (all for reflection only).
pub async fn load_schema(
    source: &SchemaSource,
    channel: &GrpcChannel,
    deadline: Instant,
    service: &str,
    max_answer_size: usize,
) -> Result<DescriptorPool, GrpcError> {
    match source {
        SchemaSource::Reflection => fetch_schema(channel, deadline, service, max_answer_size).await,
        SchemaSource::Files {
            protos,
            import_paths,
        } => {
            let (protos, import_paths) = (protos.clone(), import_paths.clone());
            // Compiling is CPU work: keep it off the threads that drive the streams.
            tokio::task::spawn_blocking(move || compile_protos(&protos, &import_paths))
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

/// Compiles `.proto` files, with their imports, into a pool. An error is protox's, with the
/// file, line and column: `could not compile `a.proto`: a.proto:4:3: …`.
pub fn compile_protos(
    protos: &[PathBuf],
    import_paths: &[PathBuf],
) -> Result<DescriptorPool, GrpcError> {
    let names = protos
        .iter()
        .map(|path| format!("`{}`", path.display()))
        .collect::<Vec<_>>()
        .join(", ");
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

/// Reads a descriptor set file.
pub fn read_descriptor_set(path: &Path) -> Result<DescriptorPool, GrpcError> {
    let bytes = std::fs::read(path).map_err(|error| GrpcError::Schema {
        reason: format!(
            "could not read the descriptor set `{}`: {error}",
            path.display()
        ),
    })?;
    DescriptorPool::decode(bytes.as_slice()).map_err(|error| GrpcError::Schema {
        reason: format!(
            "`{}` is not a usable descriptor set ({error}); write one with `protoc --include_imports --descriptor_set_out=…`",
            path.display()
        ),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    /// The server, and the service resolved.
    Reflection(GrpcTarget, String),
    Local(SchemaSource),
}

/// Schemas for one run, shared by its tests (clone it: the clones share the schemas).
#[derive(Clone)]
pub struct SchemaCache {
    entries: Arc<Mutex<HashMap<CacheKey, Arc<OnceCell<DescriptorPool>>>>>,
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
    ) -> Result<DescriptorPool, GrpcError> {
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
        let load = cell.get_or_try_init(|| {
            load_schema(source, channel, deadline, service, self.max_answer_size)
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

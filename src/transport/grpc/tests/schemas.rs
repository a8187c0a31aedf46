//! Schemas: reflection v1 and v1alpha, the cache, `.proto` files and descriptor sets.

use super::*;

#[tokio::test]
async fn reflection_v1_gives_the_whole_schema() {
    let server = serve(Reflection::V1).await;
    let channel = server.channel().await;
    assert_eq!(
        list_services(&channel, soon()).await.expect("lists"),
        ["stock.StockService"]
    );
    let pool = schema::fetch_schema(&channel, soon())
        .await
        .expect("fetches");
    let method = resolve_method(&pool, "stock.StockService/TradeChat").expect("found");
    assert_eq!(MethodKind::of(&method), MethodKind::Bidi);
    assert_eq!(method.input().full_name(), "stock.ChatMessage");
}

#[tokio::test]
async fn reflection_falls_back_to_v1alpha() {
    let server = serve(Reflection::V1Alpha).await;
    let channel = server.channel().await;
    let pool = schema::fetch_schema(&channel, soon())
        .await
        .expect("fetches");
    assert!(pool.get_service_by_name("stock.StockService").is_some());
}

#[tokio::test]
async fn a_server_without_reflection_is_told_plainly() {
    let server = serve(Reflection::None).await;
    let channel = server.channel().await;
    let error = schema::fetch_schema(&channel, soon())
        .await
        .expect_err("fails");
    assert!(matches!(error, GrpcError::NoReflection { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the server at http://{} does not offer reflection (neither `grpc.reflection.v1` nor `v1alpha`): give its schema as `.proto` files or as a descriptor set (`protoc --include_imports --descriptor_set_out=…`)",
            server.address
        )
    );
}

#[tokio::test]
async fn the_cache_fetches_a_schema_once_for_concurrent_tests() {
    let server = serve(Reflection::V1).await;
    let channel = server.channel().await;
    let cache = SchemaCache::new();
    let gets: Vec<_> = (0..8)
        .map(|_| {
            let (cache, channel) = (cache.clone(), channel.clone());
            tokio::spawn(async move {
                cache
                    .get(&SchemaSource::Reflection, &channel, soon())
                    .await
                    .map(|pool| pool.services().len())
            })
        })
        .collect();
    for get in gets {
        assert_eq!(get.await.expect("task").expect("schema"), 1);
    }
    assert_eq!(
        server.calls.load(Ordering::SeqCst),
        1,
        "one reflection stream"
    );
    // Files are keyed by their paths, whichever server asks.
    let files = SchemaSource::Files {
        protos: vec![stock_proto()],
        import_paths: vec![],
    };
    let pool = cache.get(&files, &channel, soon()).await.expect("compiles");
    assert!(pool.get_message_by_name("stock.Order").is_some());
    assert_eq!(server.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn proto_files_compile_with_or_without_import_paths() {
    let proto_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
    let pool = schema::compile_protos(&[stock_proto()], &[proto_dir]).expect("compiles");
    assert!(pool.get_service_by_name("stock.StockService").is_some());
    assert!(
        compiled_pool()
            .get_service_by_name("stock.StockService")
            .is_some()
    );
}

#[test]
fn a_proto_that_does_not_compile_says_where() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.proto");
    std::fs::write(
        &path,
        "syntax = \"proto3\";\npackage p;\nmessage M {\n  Missing field = 1;\n}\n",
    )
    .expect("writes");
    let error = schema::compile_protos(std::slice::from_ref(&path), &[]).expect_err("fails");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("could not compile `{}`: ", path.display())),
        "{text}"
    );
    assert!(text.contains("broken.proto:4:3: "), "{text}");
    assert!(text.contains("Missing"), "{text}");

    let error = schema::compile_protos(&[dir.path().join("absent.proto")], &[]).expect_err("fails");
    assert!(error.to_string().contains("absent.proto"), "{error}");
}

#[test]
fn descriptor_set_files_are_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stock.pb");
    std::fs::write(&path, DESCRIPTORS).expect("writes");
    let pool = schema::read_descriptor_set(&path).expect("reads");
    assert!(resolve_method(&pool, "stock.StockService/Flood").is_ok());

    std::fs::write(&path, b"not a descriptor set").expect("writes");
    let error = schema::read_descriptor_set(&path).expect_err("fails");
    assert!(
        error.to_string().starts_with(&format!(
            "`{}` is not a usable descriptor set",
            path.display()
        )),
        "{error}"
    );
    let error = schema::read_descriptor_set(&dir.path().join("absent.pb")).expect_err("fails");
    assert!(
        error
            .to_string()
            .starts_with("could not read the descriptor set"),
        "{error}"
    );
}

#[tokio::test]
async fn reflection_fetches_imports_and_falls_back_to_builtin_well_known_types() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rich = write_rich_protos(dir.path());
    let mut compiler = protox::Compiler::new([dir.path()]).expect("compiler");
    compiler.include_imports(true);
    compiler.open_files([&rich]).expect("compiles");
    let mut set = compiler.file_descriptor_set();
    // The server cannot give timestamp.proto: the client takes prost-reflect's own.
    set.file
        .retain(|file| file.name() != "google/protobuf/timestamp.proto");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let reflection = tonic_reflection::server::Builder::configure()
        .register_file_descriptor_set(set)
        .build_v1()
        .expect("reflection");
    tokio::spawn(
        Server::builder()
            .add_service(reflection)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let target = GrpcTarget {
        url: format!("http://{address}"),
        insecure: false,
        authority: None,
    };
    let channel = connect(&target, soon()).await.expect("connects");
    let pool = schema::fetch_schema(&channel, soon())
        .await
        .expect("fetches");
    let method = resolve_method(&pool, "rich.Rich/Echo").expect("found");
    assert_eq!(method.input().full_name(), "rich.Everything");
    assert!(pool.get_message_by_name("parts.Part").is_some());
    assert!(
        pool.get_message_by_name("google.protobuf.Timestamp")
            .is_some()
    );
    let error = request_from_json(&method.input(), &json!({"at": "yesterday"}))
        .expect_err("not a timestamp");
    assert!(error.to_string().starts_with("field `at`: "), "{error}");
}

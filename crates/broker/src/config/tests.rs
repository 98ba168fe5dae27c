use super::*;

fn layers(file: Option<&str>, env: &[(&str, &str)], flags: Overrides) -> Result<Config, ConfigError> {
    let file = file.map(|text| ("strom.yaml".to_string(), serde_yaml::from_str::<Overrides>(text).unwrap()));
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let env = Overrides::from_env(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))?;
    Config::resolve(Layers { file, env, flags })
}

#[test]
fn defaults_serve_localhost_9092_with_data_in_dot_data() {
    let config = layers(None, &[], Overrides::default()).unwrap();
    assert_eq!(config.node_id, 1);
    assert_eq!(config.data_dir, PathBuf::from("./data"));
    assert_eq!(config.listeners, vec![Listener { name: "PLAINTEXT".into(), host: "0.0.0.0".into(), port: 9092 }]);
    assert_eq!(config.advertised, vec![Listener { name: "PLAINTEXT".into(), host: "localhost".into(), port: 9092 }]);
    assert!(config.auto_create_topics);
    assert_eq!((config.num_partitions, config.default_replication_factor), (1, 1));
    assert_eq!(config.max_frame_bytes, 100 * 1024 * 1024);
}

#[test]
fn env_overrides_the_file_and_flags_override_env() {
    let file = "node_id: 3\nnum_partitions: 4\ndata_dir: /from/file\n";
    let config = layers(Some(file), &[("STROM_NUM_PARTITIONS", "6"), ("STROM_DATA_DIR", "/from/env")], Overrides::default()).unwrap();
    assert_eq!((config.node_id, config.num_partitions), (3, 6));
    assert_eq!(config.data_dir, PathBuf::from("/from/env"));
    let flags = Overrides { data_dir: Some("/from/flag".into()), ..Overrides::default() };
    let config = layers(Some(file), &[("STROM_DATA_DIR", "/from/env")], flags).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/from/flag"));
}

#[test]
fn several_listeners_advertise_their_own_addresses() {
    let env = [
        ("STROM_LISTENERS", "PLAINTEXT_HOST://0.0.0.0:9092,PLAINTEXT://0.0.0.0:29092"),
        ("STROM_ADVERTISED_LISTENERS", "PLAINTEXT://kafka:29092,PLAINTEXT_HOST://localhost:9092"),
    ];
    let config = layers(None, &env, Overrides::default()).unwrap();
    let advertised: Vec<(String, String, u16)> = config.advertised.iter().map(|l| (l.name.clone(), l.host.clone(), l.port)).collect();
    assert_eq!(advertised, vec![("PLAINTEXT_HOST".into(), "localhost".into(), 9092), ("PLAINTEXT".into(), "kafka".into(), 29092)]);
}

#[test]
fn problems_name_their_source_and_key() {
    let err = layers(Some("num_partitions: 0\n"), &[], Overrides::default()).unwrap_err();
    assert_eq!(err.to_string(), "strom.yaml: num_partitions: must be at least 1, got 0");
    let err = layers(None, &[("STROM_NUM_PARTITIONS", "many")], Overrides::default()).unwrap_err();
    assert!(err.to_string().starts_with("environment: STROM_NUM_PARTITIONS: invalid digit"), "{err}");
    let err = layers(None, &[("STROM_ADVERTISED_LISTENERS", "OTHER://h:1")], Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("OTHER is not a listener name"), "{err}");
    let err = layers(None, &[("STROM_ADVERTISED_LISTENERS", "PLAINTEXT://0.0.0.0:9092")], Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("cannot be advertised"), "{err}");
    let flags = Overrides { listeners: Some("PLAINTEXT://host".into()), ..Overrides::default() };
    assert_eq!(layers(None, &[], flags).unwrap_err().source_name, "command line");
    for bad in ["", "x", "A://h:99999", "A://h:1,A://h:2", "b d://h:1"] {
        assert!(parse_listeners(bad).is_err(), "{bad}");
    }
    for (key, text) in [("default_replication_factor", "default_replication_factor: 0"), ("max_frame_bytes", "max_frame_bytes: 10"), ("node_id", "node_id: -1")] {
        assert_eq!(layers(Some(text), &[], Overrides::default()).unwrap_err().key, key);
    }
}

#[test]
fn unknown_keys_in_the_file_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strom.yaml");
    std::fs::write(&path, "node_id: 1\nnum_partition: 3\n").unwrap();
    let err = Overrides::from_file(&path).unwrap_err();
    assert!(err.to_string().contains("unknown field `num_partition`"), "{err}");
    std::fs::write(&path, "").unwrap();
    assert!(Overrides::from_file(&path).is_ok());
    assert!(Overrides::from_file(&dir.path().join("missing.yaml")).unwrap_err().problem.contains("cannot read"));
}

#[test]
fn environment_problems_name_the_variable() {
    let err = layers(None, &[("STROM_NUM_PARTITIONS", "0")], Overrides::default()).unwrap_err();
    assert_eq!(err.to_string(), "environment: STROM_NUM_PARTITIONS: must be at least 1, got 0");
}

#[test]
fn the_documented_example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/strom.yaml");
    let file = Overrides::from_file(&path).unwrap();
    let config = Config::resolve(Layers { file: Some(("strom.yaml".into(), file)), env: Overrides::default(), flags: Overrides::default() }).unwrap();
    assert_eq!(config, layers(None, &[], Overrides::default()).unwrap(), "the example shows the defaults");
}

#[test]
fn the_listen_backlog_defaults_to_4096_and_is_checked() {
    assert_eq!(layers(None, &[], Overrides::default()).unwrap().socket_listen_backlog_size, 4096);
    let config = layers(None, &[("STROM_SOCKET_LISTEN_BACKLOG_SIZE", "50")], Overrides::default()).unwrap();
    assert_eq!(config.socket_listen_backlog_size, 50);
    let err = layers(None, &[("STROM_SOCKET_LISTEN_BACKLOG_SIZE", "0")], Overrides::default()).unwrap_err();
    assert_eq!(err.to_string(), "environment: STROM_SOCKET_LISTEN_BACKLOG_SIZE: must be at least 1");
}

#[test]
fn socket_buffers_default_to_192_kib_sent_and_autotuned_received_and_take_minus_one() {
    let config = layers(None, &[], Overrides::default()).unwrap();
    assert_eq!((config.socket_send_buffer_bytes, config.socket_receive_buffer_bytes), (Some(196_608), None));
    let env = [("STROM_SOCKET_SEND_BUFFER_BYTES", "-1"), ("STROM_SOCKET_RECEIVE_BUFFER_BYTES", "102400")];
    let config = layers(None, &env, Overrides::default()).unwrap();
    assert_eq!((config.socket_send_buffer_bytes, config.socket_receive_buffer_bytes), (None, Some(102_400)));
    for bad in ["0", "-2"] {
        let err = layers(None, &[("STROM_SOCKET_SEND_BUFFER_BYTES", bad)], Overrides::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment: STROM_SOCKET_SEND_BUFFER_BYTES: must be at least 1, or -1 for the operating system's default"
        );
    }
    let err = layers(None, &[("STROM_SOCKET_RECEIVE_BUFFER_BYTES", "0")], Overrides::default()).unwrap_err();
    assert!(err.to_string().starts_with("environment: STROM_SOCKET_RECEIVE_BUFFER_BYTES: must be at least 1"), "{err}");
}

#[test]
fn the_cleaner_interval_and_buffer_come_from_the_environment_and_are_checked() {
    let config = layers(None, &[("STROM_LOG_CLEANER_BACKOFF_MS", "250"), ("STROM_LOG_CLEANER_DEDUPE_BUFFER_SIZE", "2097152")], Overrides::default()).unwrap();
    assert_eq!((config.log_cleaner_backoff_ms, config.log_cleaner_dedupe_buffer_size), (250, 2 << 20));
    let defaults = layers(None, &[], Overrides::default()).unwrap();
    assert_eq!((defaults.log_cleaner_backoff_ms, defaults.log_cleaner_dedupe_buffer_size), (15_000, 128 << 20));
    let err = layers(None, &[("STROM_LOG_CLEANER_BACKOFF_MS", "0")], Overrides::default()).unwrap_err();
    assert_eq!(err.to_string(), "environment: STROM_LOG_CLEANER_BACKOFF_MS: must be at least 1");
}

#[test]
fn transaction_settings_have_kafkas_defaults_and_are_checked() {
    let defaults = layers(None, &[], Overrides::default()).unwrap();
    assert_eq!(
        (defaults.transaction_state_log_num_partitions, defaults.transaction_max_timeout_ms, defaults.transactional_id_expiration_ms),
        (50, 900_000, 604_800_000)
    );
    assert!(defaults.transaction_partition_verification_enable);
    assert_eq!(defaults.test_txn_marker_delay_ms, 0);
    let env = [("STROM_TRANSACTION_MAX_TIMEOUT_MS", "5000"), ("STROM_TRANSACTION_PARTITION_VERIFICATION_ENABLE", "false")];
    let config = layers(None, &env, Overrides::default()).unwrap();
    assert_eq!(config.transaction_max_timeout_ms, 5000);
    assert!(!config.transaction_partition_verification_enable);
    for (key, text) in [
        ("transaction_state_log_num_partitions", "transaction_state_log_num_partitions: 0"),
        ("transaction_max_timeout_ms", "transaction_max_timeout_ms: 0"),
        ("transactional_id_expiration_ms", "transactional_id_expiration_ms: 0"),
    ] {
        assert_eq!(layers(Some(text), &[], Overrides::default()).unwrap_err().key, key);
    }
}

#[test]
fn security_defaults_are_plaintext_with_no_authorizer() {
    let config = layers(None, &[], Overrides::default()).unwrap();
    assert_eq!(config.security.protocol_of("PLAINTEXT"), SecurityProtocol::Plaintext);
    assert!(!config.security.authorizer && config.security.tls.is_none() && config.security.sasl_users.is_empty());
    assert_eq!(config.security.failed_authentication_delay_ms, 100);
}

#[test]
fn listeners_get_protocols_from_their_names_or_the_map() {
    let env = [
        ("STROM_LISTENERS", "INTERNAL://0.0.0.0:29092,SASL_PLAINTEXT://0.0.0.0:9093"),
        ("STROM_LISTENER_SECURITY_PROTOCOL_MAP", "INTERNAL:PLAINTEXT"),
        ("STROM_SASL_USERS", "alice:a:b,bob:pw"),
        ("STROM_AUTHORIZER", "standard"),
        ("STROM_SUPER_USERS", "User:admin; User:ops"),
    ];
    let config = layers(None, &env, Overrides::default()).unwrap();
    assert_eq!(config.security.protocol_of("INTERNAL"), SecurityProtocol::Plaintext);
    assert_eq!(config.security.protocol_of("SASL_PLAINTEXT"), SecurityProtocol::SaslPlaintext);
    let users: Vec<(&str, &str)> = config.security.sasl_users.iter().map(|u| (u.name.as_str(), u.password.as_str())).collect();
    assert_eq!(users, [("alice", "a:b"), ("bob", "pw")]);
    assert_eq!(config.security.super_users, ["User:admin", "User:ops"]);
    assert!(config.security.authorizer);
    assert!(!format!("{config:?}").contains("a:b"), "passwords stay out of debug output");
}

#[test]
fn security_mistakes_name_their_key() {
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("STROM_LISTENERS", "EXTERNAL://:1"), ("STROM_LISTENER_SECURITY_PROTOCOL_MAP", "OTHER:SSL")], "listener EXTERNAL has no security protocol"),
        (&[("STROM_LISTENERS", "SSL://:1")], "ssl_certificate_chain_file"),
        (&[("STROM_SASL_ENABLED_MECHANISMS", "GSSAPI")], "\"GSSAPI\" is not supported"),
        (&[("STROM_SASL_USERS", "nopassword")], "name:password"),
        (&[("STROM_SCRAM_ITERATIONS", "100")], "between 4096 and 16384"),
        (&[("STROM_AUTHORIZER", "acl")], "none or standard"),
        (&[("STROM_SSL_PRINCIPAL_MAPPING_RULES", "RULE:^CN=(.*)$")], "STROM_SSL_PRINCIPAL_MAPPING_RULES: rule \"RULE:^CN=(.*)$\" has no '/'"),
    ];
    for (env, expected) in cases {
        let error = layers(None, env, Overrides::default()).unwrap_err().to_string();
        assert!(error.contains(expected), "{env:?}: {error}");
    }
}

#[test]
fn sasl_users_read_as_a_yaml_list() {
    let file = "sasl_users:\n  - {name: alice, password: secret}\n";
    let config = layers(Some(file), &[], Overrides::default()).unwrap();
    assert_eq!(config.security.sasl_users[0].name, "alice");
}

#[test]
fn request_and_decompression_limits_are_settings_and_are_checked() {
    let defaults = layers(None, &[], Overrides::default()).unwrap();
    assert_eq!((defaults.max_decompressed_batch_bytes, defaults.max_request_bytes_per_api.len()), (64 << 20, 0));
    let file = "max_request_bytes_per_api: SyncGroup=16777216,JoinGroup=1048576\n";
    let config = layers(Some(file), &[("STROM_MAX_DECOMPRESSED_BATCH_BYTES", "2097152")], Overrides::default()).unwrap();
    assert_eq!(config.max_request_bytes_per_api, vec![(14, 16 << 20), (11, 1 << 20)]);
    assert_eq!(config.max_decompressed_batch_bytes, 2 << 20);
    let err = layers(None, &[("STROM_MAX_DECOMPRESSED_BATCH_BYTES", "1000")], Overrides::default()).unwrap_err();
    assert_eq!(err.to_string(), "environment: STROM_MAX_DECOMPRESSED_BATCH_BYTES: must be at least 1048576 (1 MiB)");
    let err = layers(Some("max_frame_bytes: 2048\nmax_request_bytes_per_api: Fetch=4096\n"), &[], Overrides::default()).unwrap_err();
    assert_eq!(err.key, "max_request_bytes_per_api");
    assert!(err.problem.contains("max_frame_bytes (2048)"), "{err}");
}

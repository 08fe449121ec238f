//! parse → print keepalived.conf → parse, and parse → TOML → parse, give
//! equal models, for every fixture the daemon would run.

mod common;

use keepalived_config::*;

#[test]
fn print_and_toml_round_trips_over_the_corpus() {
    let checked = round_trip(common::all_confs());
    assert!(checked >= 40, "only {checked} fixtures round-tripped");
}

/// The same over the 1,004 parity cases (every one the daemon would run).
#[test]
fn print_and_toml_round_trips_over_the_parity_corpus() {
    let checked = round_trip(common::confs("config/parity"));
    assert!(checked >= 300, "only {checked} parity cases round-tripped");
}

/// Round-trip every file of `files` the daemon would run; how many.
fn round_trip(files: Vec<std::path::PathBuf>) -> usize {
    let mut checked = 0;
    for p in files {
        let Ok(l) = load_file(&p, &common::opts()) else {
            continue;
        };
        let conf = to_keepalived_conf(&l.config);
        match load_str(&conf, &p, &common::opts()) {
            Ok(again) => assert_eq!(
                again.config,
                l.config,
                "{}: printed form differs:\n{conf}",
                p.display()
            ),
            Err(e) => panic!("{}: printed form refused:\n{e}\n{conf}", p.display()),
        }
        let toml = to_toml(&l.config);
        match from_toml(&toml) {
            Ok(c) => assert_eq!(c, l.config, "{}: TOML form differs:\n{toml}", p.display()),
            Err(e) => panic!("{}: TOML refused: {e}\n{toml}", p.display()),
        }
        checked += 1;
    }
    checked
}

#[test]
fn toml_file_is_read_as_toml() {
    let p = common::fixtures().join("config/07_sync_group.conf");
    let l = load_file(&p, &common::opts()).unwrap();
    let dir = std::env::temp_dir().join(format!("kars-config-toml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = dir.join("converted.toml");
    std::fs::write(&t, to_toml(&l.config)).unwrap();
    let back = load_file(&t, &common::opts()).unwrap();
    assert_eq!(back.config, l.config);
    // A TOML error carries its line.
    std::fs::write(&t, "[global_defs]\nrouter_id = 5\n").unwrap();
    let e = load_file(&t, &common::opts()).unwrap_err();
    assert_eq!(
        e.diagnostics[0].location.as_ref().map(|l| l.line),
        Some(2),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn toml_fields_default_like_keepalived() {
    let c = from_toml(
        "[[vrrp_instances]]\nname = \"VI_1\"\nvirtual_router_id = 7\n\n[[virtual_servers]]\nip = \"10.0.0.1\"\nport = 80\n\n[[virtual_servers.real_servers]]\nip = \"10.0.0.2\"\n",
    )
    .unwrap();
    let v = &c.vrrp_instances[0];
    assert_eq!((v.priority, v.advert_int, v.version), (100, 1.0, 2));
    assert_eq!(c.virtual_servers[0].delay_loop, 60.0);
    assert_eq!(c.virtual_servers[0].real_servers[0].weight, 1);
}

#[test]
fn toml_is_validated_like_keepalived_conf() {
    let dir = std::env::temp_dir().join(format!("kars-config-tomlval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = dir.join("bad.toml");
    std::fs::write(&t, "[[vrrp_instances]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvirtual_router_id = 7\npriority = 0\n").unwrap();
    let e = load_file(&t, &common::opts()).unwrap_err();
    assert!(e.to_string().contains("'priority' value 0"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

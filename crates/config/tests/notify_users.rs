//! `notify_master SCRIPT [USER [GROUP]]`: keepalived reads the words after
//! the script as its user, not as arguments (a script with arguments is
//! quoted); the printed form keeps them.

use keepalived_config::{load_str, to_keepalived_conf, LoadOptions};
use std::path::Path;

fn load(text: &str) -> keepalived_config::Config {
    keepalived_config::set_interface_check(false);
    load_str(
        text,
        Path::new("/nonexistent/k.conf"),
        &LoadOptions::default(),
    )
    .expect("loads")
    .config
}

#[test]
fn words_after_a_notify_script_name_its_user() {
    let c = load(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n }\n \
         notify_master /usr/local/bin/m.sh root\n notify_backup \"/usr/local/bin/b.sh backup\"\n \
         notify /usr/local/bin/n.sh nobody nogroup\n}\n",
    );
    let i = &c.vrrp_instances[0];
    assert_eq!(i.notify_master.as_deref(), Some("/usr/local/bin/m.sh"));
    assert_eq!(
        i.notify_backup.as_deref(),
        Some("/usr/local/bin/b.sh backup")
    );
    assert_eq!(i.notify.as_deref(), Some("/usr/local/bin/n.sh"));
    assert_eq!(
        c.script_users
            .get("/usr/local/bin/m.sh")
            .map(String::as_str),
        Some("root")
    );
    assert_eq!(
        c.script_users
            .get("/usr/local/bin/n.sh")
            .map(String::as_str),
        Some("nobody nogroup")
    );
    assert!(!c.script_users.contains_key("/usr/local/bin/b.sh backup"));
    let printed = to_keepalived_conf(&c);
    assert!(
        printed.contains("notify_master /usr/local/bin/m.sh root"),
        "{printed}"
    );
    assert_eq!(load(&printed), c, "print round trip");
}

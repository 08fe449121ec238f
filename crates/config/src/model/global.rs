//! `global_defs`.

use super::Stmt;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};

/// `global_defs { }`, with keepalived 2.2.7's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    /// Host name or address of the SMTP relay.
    pub smtp_server: Option<String>,
    /// Port of the SMTP relay (25).
    pub smtp_port: u16,
    pub smtp_helo_name: Option<String>,
    /// Seconds (30).
    pub smtp_connect_timeout: f64,
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub script_user: Option<String>,
    /// `umask`: the file creation mask of the whole suite and its scripts
    /// (None: keepalived's default, 0177, unless `-u` says otherwise).
    pub umask: Option<u32>,
    pub script_group: Option<String>,
    pub enable_script_security: bool,
    pub default_interface: Option<String>,
    pub vrrp_mcast_group4: Ipv4Addr,
    pub vrrp_mcast_group6: Ipv6Addr,
    /// Default VRRP version of instances (2).
    pub vrrp_version: u8,
    pub vrrp_strict: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_check_unicast_src: bool,
    /// Seconds (5).
    pub vrrp_garp_master_delay: f64,
    /// (5)
    pub vrrp_garp_master_repeat: u32,
    /// Seconds, 0 = no refresh.
    pub vrrp_garp_master_refresh: f64,
    /// (1)
    pub vrrp_garp_master_refresh_repeat: u32,
    /// Seconds; unset: `vrrp_garp_master_delay` (keepalived 2.2.7,
    /// vrrp.c), see [`GlobalDefs::garp_lower_prio_delay`].
    pub vrrp_garp_lower_prio_delay: Option<f64>,
    /// Unset: `vrrp_garp_master_repeat`.
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// Seconds between gratuitous ARPs (0).
    pub vrrp_garp_interval: f64,
    /// Seconds between unsolicited NAs (0).
    pub vrrp_gna_interval: f64,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_min_garp: bool,
    /// `vmac_prefix P`: default VMAC names are `P.VRID` (else `vrrp.VRID`).
    pub vmac_prefix: Option<String>,
    /// `vmac_addr_prefix P`: names of the VMACs made for addresses
    /// (`use_vmac_addr`, an address's `use_vmac`) start with P (else the
    /// `vmac_prefix`, else `vrrp`).
    pub vmac_addr_prefix: Option<String>,
    /// `data_use_instance`: the data dump is `keepalived.NS_INSTANCE.data`
    /// (with a namespace or an instance name).
    pub data_use_instance: bool,
    /// Every checker logs each failure, not only state changes.
    pub checker_log_all_failures: bool,
    /// Priority changes go to the notify FIFOs (`MASTER_PRIORITY`,
    /// `BACKUP_PRIORITY`).
    pub vrrp_notify_priority_changes: bool,
    /// Adverts a backup misses before it takes over; unset: 3 (an
    /// instance's `down_timer_adverts` beats it).
    pub vrrp_down_timer_adverts: Option<u32>,
    /// Seconds after start before a backup may take over (0: none).
    pub vrrp_startup_delay: Option<f64>,
    /// `lvs_sync_daemon IF [VI] [id N] [maxlen N] [port N] [ttl N] [group G]`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub lvs_flush: bool,
    /// `disable_local_igmp`: net.ipv4.igmp_link_local_mcast_reports is set
    /// to 0 while the suite runs (no IGMP reports for 224.0.0.18).
    pub disable_local_igmp: bool,
    /// `rs_init_notifies`: a real server's first state (up) is notified
    /// (script, FIFO) as a change would be.
    pub rs_init_notifies: bool,
    /// `fifo_write_vrrp_states_on_reload`: after a reload, the notify FIFOs
    /// get the state of every instance and group that did not change.
    pub fifo_write_vrrp_states_on_reload: bool,
    /// `startup_script SCRIPT [USER [GROUP]]`: run (and waited for, at most
    /// `startup_script_timeout` seconds, 10 by default) before the children
    /// start; `shutdown_script` likewise after they stopped.
    pub startup_script: Option<String>,
    pub startup_script_timeout: Option<u32>,
    pub shutdown_script: Option<String>,
    pub shutdown_script_timeout: Option<u32>,
    /// `lvs_flush_on_stop` without `VS`: the whole IPVS table is flushed at
    /// stop (else only what keepalived made is removed).
    pub lvs_flush_on_stop: bool,
    /// `lvs_timeouts tcp N tcpfin N udp N` (seconds; unset keeps the
    /// kernel's).
    pub lvs_timeout_tcp: Option<u32>,
    pub lvs_timeout_tcpfin: Option<u32>,
    pub lvs_timeout_udp: Option<u32>,
    pub dynamic_interfaces: bool,
    /// `dynamic_interfaces allow_if_changes`.
    pub dynamic_interfaces_allow_if_changes: bool,
    /// Accepted but not implemented by keepalived-rs (reported when read).
    pub vrrp_iptables: Option<Vec<String>>,
    /// Accepted but not implemented by keepalived-rs (reported when read).
    pub nftables: Option<Vec<String>>,
    /// `nftables_priority N`: the base chains' priority (default -1).
    pub nftables_priority: Option<i32>,
    /// `nftables_counters`: a counter in every rule.
    pub nftables_counters: bool,
    /// `nftables_ifindex`: link-local VIPs always matched by index.
    pub nftables_ifindex: bool,
    /// `nftables_ipvs [TABLE]`: virtual-server groups' traffic marked in
    /// this nftables table (default `keepalived_ipvs`), each group served
    /// by fwmark services (keepalived's check_nftables.c).
    #[serde(default)]
    pub nftables_ipvs: Option<String>,
    /// `nftables_ipvs_priority N`: its chain's priority (default -1; an
    /// `nftables_ipvs` after it puts the default back, as keepalived).
    #[serde(default)]
    pub nftables_ipvs_priority: Option<i32>,
    /// `nftables_ipvs_start_fwmark N`: the first mark given (default 1000).
    #[serde(default)]
    pub nftables_ipvs_start_fwmark: Option<u32>,
    /// `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo` (the first of
    /// each counts: keepalived ignores the others, and says so).
    pub notify_fifo: Option<NotifyFifo>,
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    pub lvs_notify_fifo: Option<NotifyFifo>,
    /// The scripts reading them (`*_notify_fifo_script LINE`).
    pub notify_fifo_script: Option<String>,
    pub vrrp_notify_fifo_script: Option<String>,
    pub lvs_notify_fifo_script: Option<String>,
    /// `no_email_faults`: no SMTP alert for FAULT transitions.
    pub no_email_faults: bool,
    /// `process_name NAME` (or `process_names`: "keepalived"): the
    /// parent's process name (comm).
    pub process_name: Option<String>,
    /// `vrrp_priority`, `vrrp_rt_priority`, `vrrp_rlimit_rttime`,
    /// `vrrp_no_swap`, `vrrp_cpu_affinity`, `vrrp_process_name`: how vrrpd
    /// runs.
    pub vrrp_process: ProcessTuning,
    /// The same `checker_*` keywords: keepalived's checker process is
    /// checkerd and ipvsd here, so both run this way.
    pub checker_process: ProcessTuning,
    /// `max_auto_priority [N]`: a child whose timers fire late by
    /// `min_auto_priority_delay` is moved to realtime scheduling, one
    /// priority step per late wake-up up to N (0: never; -1: never, and no
    /// notice at start).
    pub max_auto_priority: i32,
    /// Microseconds (1,000,000).
    pub min_auto_priority_delay: u32,
    /// `vrrp_garp_extra_if [all] SECS` (or the deprecated
    /// `vrrp_vmac_garp_intvl`): the default of instances' `garp_extra_if`.
    pub vrrp_garp_extra_if: Option<u32>,
    pub vrrp_garp_extra_if_all: bool,
    /// `vrrp_rx_bufs_policy MTU|ADVERT|SIZE`: the VRRP receive sockets'
    /// buffer, per instance on the socket (unset: the kernel's).
    pub vrrp_rx_bufs_policy: Option<RxBufsPolicy>,
    /// `vrrp_rx_bufs_multiplier N` (3): MTUs or adverts per instance.
    pub vrrp_rx_bufs_multiplier: u32,
    /// `vrrp_netlink_cmd_rcv_bufs N` / `vrrp_netlink_monitor_rcv_bufs N`:
    /// vrrpd's rtnetlink request and monitor sockets' receive buffers
    /// (unset or 0: the kernel's), past net.core.rmem_max with `_force`.
    pub vrrp_netlink_cmd_rcv_bufs: Option<u32>,
    pub vrrp_netlink_cmd_rcv_bufs_force: bool,
    pub vrrp_netlink_monitor_rcv_bufs: Option<u32>,
    pub vrrp_netlink_monitor_rcv_bufs_force: bool,
    /// Other known global keywords, kept raw.
    pub extra: Vec<Stmt>,
}

/// `vrrp_rx_bufs_policy`: how much receive buffer each instance adds to
/// its socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RxBufsPolicy {
    /// `vrrp_rx_bufs_multiplier` times the interface MTU.
    Mtu,
    /// `vrrp_rx_bufs_multiplier` times the advert's length.
    Advert,
    /// These many bytes.
    Size(u32),
}

/// How a child process runs: keepalived 2.2.7's `*_priority`,
/// `*_rt_priority`, `*_rlimit_rttime`, `*_no_swap`, `*_cpu_affinity` and
/// `*_process_name` for one process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessTuning {
    /// Nice value, -20..19 (unset or 0: left alone). Not applied when a
    /// realtime priority is set, as keepalived.
    pub nice: Option<i8>,
    /// SCHED_RR priority, 1..99.
    pub rt_priority: Option<u8>,
    /// RLIMIT_RTTIME in microseconds while realtime (10,000; 0: none).
    pub rlimit_rttime: u32,
    /// Locked in memory (mlockall).
    pub no_swap: bool,
    /// CPUs it may run on (empty: all).
    pub cpu_affinity: Vec<u16>,
    /// Process name (comm, at most 15 bytes).
    pub name: Option<String>,
}

impl Default for ProcessTuning {
    fn default() -> Self {
        ProcessTuning {
            nice: None,
            rt_priority: None,
            rlimit_rttime: 10_000,
            no_swap: false,
            cpu_affinity: Vec::new(),
            name: None,
        }
    }
}

/// `notify_fifo PATH [USER [GROUP]]`: the FIFO and who owns it when the
/// suite creates it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyFifo {
    pub path: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
}

/// A `*_notify_fifo_script` and the FIFO it reads, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FifoScript {
    /// `notify_fifo_script`, `vrrp_notify_fifo_script` or `lvs_notify_fifo_script`.
    pub keyword: &'static str,
    pub script: Option<String>,
    pub fifo: Option<String>,
}

impl GlobalDefs {
    /// The delay before an instance re-announces its addresses after a
    /// lower-priority advert, unless it sets its own.
    pub fn garp_lower_prio_delay(&self) -> f64 {
        self.vrrp_garp_lower_prio_delay
            .unwrap_or(self.vrrp_garp_master_delay)
    }

    /// How many gratuitous ARPs it then sends, unless it sets its own.
    pub fn garp_lower_prio_repeat(&self) -> u32 {
        self.vrrp_garp_lower_prio_repeat
            .unwrap_or(self.vrrp_garp_master_repeat)
    }

    /// The three notify FIFO scripts with their FIFOs.
    pub fn fifo_scripts(&self) -> Vec<FifoScript> {
        [
            (
                "notify_fifo_script",
                &self.notify_fifo_script,
                &self.notify_fifo,
            ),
            (
                "vrrp_notify_fifo_script",
                &self.vrrp_notify_fifo_script,
                &self.vrrp_notify_fifo,
            ),
            (
                "lvs_notify_fifo_script",
                &self.lvs_notify_fifo_script,
                &self.lvs_notify_fifo,
            ),
        ]
        .into_iter()
        .map(|(keyword, script, fifo)| FifoScript {
            keyword,
            script: script.clone(),
            fifo: fifo.as_ref().map(|f| f.path.clone()),
        })
        .collect()
    }
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_port: 25,
            smtp_helo_name: None,
            smtp_connect_timeout: 30.0,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            script_user: None,
            umask: None,
            script_group: None,
            enable_script_security: false,
            default_interface: None,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_version: 2,
            vrrp_strict: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_check_unicast_src: false,
            vrrp_garp_master_delay: 5.0,
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: 0.0,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: 0.0,
            vrrp_gna_interval: 0.0,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_min_garp: false,
            vmac_prefix: None,
            vmac_addr_prefix: None,
            data_use_instance: false,
            checker_log_all_failures: false,
            vrrp_notify_priority_changes: false,
            vrrp_down_timer_adverts: None,
            vrrp_startup_delay: None,
            lvs_sync_daemon: None,
            lvs_flush: false,
            disable_local_igmp: false,
            rs_init_notifies: false,
            fifo_write_vrrp_states_on_reload: false,
            startup_script: None,
            startup_script_timeout: None,
            shutdown_script: None,
            shutdown_script_timeout: None,
            lvs_flush_on_stop: false,
            lvs_timeout_tcp: None,
            lvs_timeout_tcpfin: None,
            lvs_timeout_udp: None,
            dynamic_interfaces: false,
            dynamic_interfaces_allow_if_changes: false,
            vrrp_iptables: None,
            nftables: None,
            nftables_priority: None,
            nftables_counters: false,
            nftables_ifindex: false,
            nftables_ipvs: None,
            nftables_ipvs_priority: None,
            nftables_ipvs_start_fwmark: None,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            notify_fifo_script: None,
            vrrp_notify_fifo_script: None,
            lvs_notify_fifo_script: None,
            no_email_faults: false,
            process_name: None,
            vrrp_process: ProcessTuning::default(),
            checker_process: ProcessTuning::default(),
            max_auto_priority: 0,
            min_auto_priority_delay: 1_000_000,
            vrrp_garp_extra_if: None,
            vrrp_garp_extra_if_all: false,
            vrrp_rx_bufs_policy: None,
            vrrp_rx_bufs_multiplier: 3,
            vrrp_netlink_cmd_rcv_bufs: None,
            vrrp_netlink_cmd_rcv_bufs_force: false,
            vrrp_netlink_monitor_rcv_bufs: None,
            vrrp_netlink_monitor_rcv_bufs_force: false,
            extra: Vec::new(),
        }
    }
}

/// `lvs_sync_daemon`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LvsSyncDaemon {
    pub interface: String,
    /// The VRRP instance whose state drives master/backup sync.
    pub vrrp_instance: Option<String>,
    /// Further options as written (`id 10`, `maxlen 1400`, ...).
    pub options: Vec<String>,
}
